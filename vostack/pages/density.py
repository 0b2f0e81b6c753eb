"""The picture of a HEALPix density map: an equirectangular PNG made with numpy, pixel by pixel.

Each pixel's direction is put into its nested HEALPix cell (:func:`ang2pix_nest`, the algorithm of
Górski et al. 2005, ApJ 622, 759, §4 and of HEALPix's ``ang2pix_nest``; checked against pgSphere's
``healpix_nest`` in the tests), which gives its count; counts are shaded on a logarithmic scale.  The image
is exact, with no gaps between cells, and works without JavaScript: the page shows it as an image button
whose click coordinates select the cell under it (:func:`cell_at`).
"""

from __future__ import annotations

import struct
import zlib
from collections.abc import Sequence

import numpy as np

__all__ = ["WIDTH", "ang2pix_nest", "cell_at", "density_png", "pixel_direction"]

WIDTH = 300
"""Pixels of the image across 360 degrees (it is half as high): the width of a facet's box, at which the page
shows it, so that the coordinates of a click on it are its pixels."""


def _spread(bits: np.ndarray) -> np.ndarray:
    """The bits of ``bits`` (< 2^16) moved to the even positions (0, 2, 4, ...)."""
    v = bits.astype(np.int64)
    v = (v | (v << 8)) & 0x00FF00FF
    v = (v | (v << 4)) & 0x0F0F0F0F
    v = (v | (v << 2)) & 0x33333333
    v = (v | (v << 1)) & 0x55555555
    return v


def ang2pix_nest(order: int, lon: np.ndarray, lat: np.ndarray) -> np.ndarray:
    """The nested HEALPix index at ``order`` (0..15) of directions ``lon``, ``lat`` in degrees."""
    nside = 1 << order
    z = np.sin(np.radians(lat))
    za = np.abs(z)
    tt = np.mod(np.radians(lon), 2 * np.pi) * (2 / np.pi)  # in [0, 4)
    tt = np.where(tt >= 4.0, 0.0, tt)
    # equatorial region
    temp1 = nside * (0.5 + tt)
    temp2 = nside * z * 0.75
    jp = (temp1 - temp2).astype(np.int64)
    jm = (temp1 + temp2).astype(np.int64)
    ifp, ifm = jp >> order, jm >> order
    face_eq = np.where(ifp == ifm, ifp | 4, np.where(ifp < ifm, ifp, ifm + 8))
    ix_eq = jm & (nside - 1)
    iy_eq = nside - (jp & (nside - 1)) - 1
    # polar caps
    ntt = np.minimum(tt.astype(np.int64), 3)
    tp = tt - ntt
    tmp = nside * np.sqrt(3 * (1 - za))
    jp_p = np.minimum((tp * tmp).astype(np.int64), nside - 1)
    jm_p = np.minimum(((1 - tp) * tmp).astype(np.int64), nside - 1)
    north = z >= 0
    face_p = np.where(north, ntt, ntt + 8)
    ix_p = np.where(north, nside - jm_p - 1, jp_p)
    iy_p = np.where(north, nside - jp_p - 1, jm_p)
    equatorial = za <= 2 / 3
    face = np.where(equatorial, face_eq, face_p)
    ix = np.where(equatorial, ix_eq, ix_p)
    iy = np.where(equatorial, iy_eq, iy_p)
    return np.asarray(face * nside * nside + (_spread(ix) | (_spread(iy) << 1)), dtype=np.int64)


def pixel_direction(x: np.ndarray, y: np.ndarray, *, sky: bool, width: int = WIDTH) -> tuple[np.ndarray, np.ndarray]:
    """The direction (lon, lat in degrees) at image coordinates ``x``, ``y`` (pixels from the top left).

    The sky has right ascension 180° at the left edge, 0° in the middle, increasing to the left (as seen from
    inside); a body has longitude -180° at the left edge, 0° in the middle, east to the right (as its maps).
    """
    scale = width / 360.0
    across = np.asarray(x, dtype=float) / scale
    lat = 90.0 - np.asarray(y, dtype=float) / scale
    lon = np.mod(180.0 - across, 360.0) if sky else np.mod(across - 180.0, 360.0)
    return lon, np.clip(lat, -90.0, 90.0)


def cell_at(order: int, x: float, y: float, *, sky: bool, width: int = WIDTH) -> int:
    """The cell under the image point (``x``, ``y``)."""
    lon, lat = pixel_direction(np.array([x]), np.array([y]), sky=sky, width=width)
    return int(ang2pix_nest(order, lon, lat)[0])


def _png(rgb: np.ndarray) -> bytes:
    """``rgb`` (height, width, 3; uint8) as a PNG file (ISO/IEC 15948: IHDR, one IDAT, IEND)."""
    height, width, _ = rgb.shape
    raw = np.concatenate([np.zeros((height, 1), np.uint8), rgb.reshape(height, width * 3)], axis=1).tobytes()

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(raw, 6)) + chunk(b"IEND", b"")


#: The shades, from few to many (dark blue to pale yellow).
_RAMP = np.array([[45, 80, 160], [50, 110, 190], [60, 150, 170], [230, 200, 90], [255, 245, 200]], dtype=float)


def density_png(order: int, cells: Sequence[int], counts: Sequence[int], *, sky: bool, width: int = WIDTH) -> bytes:
    """The density map of ``counts`` per nested cell at ``order`` as a PNG (empty cells black)."""
    height = width // 2
    y, x = np.mgrid[0:height, 0:width]
    lon, lat = pixel_direction(x + 0.5, y + 0.5, sky=sky, width=width)
    index = ang2pix_nest(order, lon, lat)
    rgb = np.zeros((height, width, 3), np.uint8)
    if len(cells):
        keys = np.asarray(cells, dtype=np.int64)
        values = np.asarray(counts, dtype=float)
        order_of = np.argsort(keys)
        keys, values = keys[order_of], values[order_of]
        at = np.clip(np.searchsorted(keys, index), 0, len(keys) - 1)
        found = keys[at] == index
        logs = np.log(values)
        low, high = float(logs.min()), float(logs.max())
        level = (logs[at] - low) / (high - low) if high > low else np.ones(index.shape)
        position = level * (len(_RAMP) - 1)
        lower = np.clip(np.floor(position).astype(int), 0, len(_RAMP) - 2)
        frac = (position - lower)[..., None]
        shade = _RAMP[lower] * (1 - frac) + _RAMP[lower + 1] * frac
        rgb[found] = shade[found].astype(np.uint8)
    # a graticule every 30° of latitude and 60° of longitude
    scale = width / 360.0
    for lat_line in range(-60, 61, 30):
        rgb[int((90 - lat_line) * scale), :] = (90, 100, 120)
    for column in range(0, 361, 60):
        rgb[:, min(width - 1, int(column * scale))] = (90, 100, 120)
    return _png(rgb)
