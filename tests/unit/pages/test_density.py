"""The density image: HEALPix cells of pixels, and a PNG a browser shows."""

from __future__ import annotations

import struct
import zlib

import numpy as np

from vostack.pages.density import WIDTH, ang2pix_nest, cell_at, density_png, pixel_direction


def test_base_cells_have_their_indices() -> None:
    # the centres of the twelve base cells (HEALPix, Gorski et al. 2005, figure 4): north, equator, south rows
    lon = np.array([45, 135, 225, 315, 0, 90, 180, 270, 45, 135, 225, 315], dtype=float)
    lat = np.array([41.8] * 4 + [0] * 4 + [-41.8] * 4)
    assert ang2pix_nest(0, lon, lat).tolist() == list(range(12))


def test_children_are_nested() -> None:
    rng = np.random.default_rng(7)
    lon, lat = rng.uniform(0, 360, 2000), np.degrees(np.arcsin(rng.uniform(-1, 1, 2000)))
    assert (ang2pix_nest(5, lon, lat) >> 2 == ang2pix_nest(4, lon, lat)).all()
    assert (ang2pix_nest(4, lon, lat) < 12 * 4**4).all()


def test_pixels_map_to_directions_for_the_sky_and_for_bodies() -> None:
    lon, lat = pixel_direction(np.array([0.0, WIDTH / 2]), np.array([0.0, WIDTH / 4]), sky=True)
    assert lon.tolist() == [180.0, 0.0] and lat.tolist() == [90.0, 0.0]
    lon, _ = pixel_direction(np.array([0.0, WIDTH * 0.75]), np.array([0.0, 0.0]), sky=False)
    assert lon.tolist() == [180.0, 90.0]
    # right ascension grows to the left on the sky
    assert cell_at(0, WIDTH / 2 - 1, WIDTH / 4, sky=True) == int(ang2pix_nest(0, np.array([0.5]), np.array([0.0]))[0])


def _chunks(png: bytes) -> dict[bytes, bytes]:
    assert png[:8] == b"\x89PNG\r\n\x1a\n"
    found, at = {}, 8
    while at < len(png):
        (length,) = struct.unpack(">I", png[at : at + 4])
        kind, data = png[at + 4 : at + 8], png[at + 8 : at + 8 + length]
        assert struct.unpack(">I", png[at + 8 + length : at + 12 + length])[0] == zlib.crc32(kind + data)
        found[kind] = data
        at += 12 + length
    return found


def test_the_image_is_a_png_with_the_counts_shaded() -> None:
    png = density_png(2, [0, 5, 100], [1, 10, 1000], sky=True)
    chunks = _chunks(png)
    width, height, depth, colour = struct.unpack(">IIBB", chunks[b"IHDR"][:10])
    assert (width, height, depth, colour) == (WIDTH, WIDTH // 2, 8, 2)
    rows = np.frombuffer(zlib.decompress(chunks[b"IDAT"]), np.uint8).reshape(height, 1 + width * 3)
    assert (rows[:, 0] == 0).all()  # filter type 0 on every row
    pixels = rows[:, 1:].reshape(height, width, 3)
    lon, lat = pixel_direction(np.arange(width)[None, :] + 0.5, np.arange(height)[:, None] + 0.5, sky=True)
    cells = ang2pix_nest(2, lon, lat)
    brightest = pixels[cells == 100].astype(int).sum(axis=1)
    faintest = pixels[cells == 0].astype(int).sum(axis=1)
    assert brightest.min() > faintest.max()
    assert pixels[cells == 50].max() < 130  # an empty cell: black, or a grid line
