"""SODA 1.0 cutouts of FITS images and cubes (SODA 1.0 §3.3), made with astropy.

:func:`parse_cut` reads the cutout parameters: ``POS`` (``CIRCLE``, ``RANGE``, ``POLYGON``), ``CIRCLE``,
``POLYGON`` (SODA 1.0 §3.3.1-§3.3.3; ICRS degrees for sky images, helioprojective arcseconds for solar
ones), ``BAND`` (metres), ``TIME`` (MJD) and ``POL`` (Stokes states).  :func:`cutout` cuts the image HDU of a
file: the celestial axes to the pixels the region touches, a spectral axis to the band, a Stokes axis to the
states, and writes a FITS file whose WCS is the original's sliced the same way (``WCS.slice``), so that every
pixel keeps its world coordinates.  A cut that leaves nothing is :class:`NoOverlap`.
"""

from __future__ import annotations

import io
import math
import warnings
from dataclasses import dataclass

import numpy as np
from astropy import units as u
from astropy.coordinates import SkyCoord
from astropy.io import fits
from astropy.utils.exceptions import AstropyWarning
from astropy.wcs.utils import wcs_to_celestial_frame

from vostack.dali import Params
from vostack.errors import ParameterError, UsageError
from vostack.sia.images import image_header, open_image, quiet_wcs
from vostack.sia.params import POL_STATES, Region, parse_interval, parse_region

__all__ = ["SODA_ASYNC", "SODA_SYNC", "Cut", "NoOverlap", "cutout", "parse_cut"]

SODA_SYNC = "ivo://ivoa.net/std/SODA#sync-1.0"
"""The standardID of a synchronous SODA 1.0 service (SODA 1.0 §2)."""
SODA_ASYNC = "ivo://ivoa.net/std/SODA#async-1.0"

_STOKES = {"I": 1, "Q": 2, "U": 3, "V": 4, "RR": -1, "LL": -2, "RL": -3, "LR": -4, "XX": -5, "YY": -6, "XY": -7,
           "YX": -8}  # fmt: skip


class NoOverlap(UsageError):
    """The cut leaves no pixel of the data (SODA 1.0 §5.2: ``NoOverlap``)."""


@dataclass(frozen=True, slots=True)
class Cut:
    """The cutout parameters of one request (SODA 1.0 §3.3), each optional."""

    region: Region | None = None
    band: tuple[float, float] | None = None
    time: tuple[float, float] | None = None
    pol: tuple[str, ...] = ()

    @property
    def empty(self) -> bool:
        """Whether nothing is cut (the whole file is the answer)."""
        return self.region is None and self.band is None and self.time is None and not self.pol


def parse_cut(params: Params) -> Cut:
    """The cutout of ``params``: one spatial parameter of POS, CIRCLE and POLYGON, BAND, TIME, POL."""
    regions = [parse_region(v, sky=False) for v in params.getall("POS")]
    regions += [parse_region("CIRCLE " + v, sky=False) for v in params.getall("CIRCLE")]
    regions += [parse_region("POLYGON " + v, sky=False) for v in params.getall("POLYGON")]
    if len(regions) > 1:
        raise ParameterError("a sync SODA cutout takes one of POS, CIRCLE and POLYGON, once", param="POS")
    bands, times = params.getall("BAND"), params.getall("TIME")
    if len(bands) > 1 or len(times) > 1:
        raise ParameterError("a sync SODA cutout takes BAND and TIME once each", param="BAND")
    pol = tuple(v.strip().upper() for v in params.getall("POL"))
    if any(p not in POL_STATES for p in pol):
        raise ParameterError(f"POL: one of {', '.join(POL_STATES)}", param="POL")
    return Cut(
        region=regions[0] if regions else None,
        band=parse_interval(bands[0], "BAND") if bands else None,
        time=parse_interval(times[0], "TIME") if times else None,
        pol=pol,
    )


def _outline(region: Region) -> tuple[np.ndarray, np.ndarray]:
    """Points on the region's boundary and inside it (degrees): their pixels bound the cut."""
    v = region.values
    if region.shape == "CIRCLE":
        ra, dec, radius = v
        centre = SkyCoord(ra * u.deg, dec * u.deg)
        angles = np.linspace(0, 360, 73) * u.deg
        ring = centre.directional_offset_by(angles, radius * u.deg)
        return np.append(ring.ra.deg, ra), np.append(ring.dec.deg, dec)
    if region.shape == "RANGE":
        ra1, ra2, dec1, dec2 = v
        t = np.linspace(0, 1, 33)
        lon = np.concatenate([ra1 + (ra2 - ra1) * t, np.full_like(t, ra2), ra2 - (ra2 - ra1) * t, np.full_like(t, ra1)])
        lat = np.concatenate([np.full_like(t, dec1), dec1 + (dec2 - dec1) * t, np.full_like(t, dec2),
                              dec2 - (dec2 - dec1) * t])  # fmt: skip
        return lon, lat
    lon, lat = np.array(v[0::2]), np.array(v[1::2])
    t = np.linspace(0, 1, 17)[:-1]
    nxt = np.roll(np.arange(len(lon)), -1)
    dlon = (lon[nxt] - lon + 180) % 360 - 180
    return (np.concatenate([lon + dlon * s for s in t]), np.concatenate([lat + (lat[nxt] - lat) * s for s in t]))


def _bounds(low: float, high: float, size: int) -> tuple[int, int]:
    """The pixels (0-based, end exclusive) whose extent meets ``low..high`` in pixel coordinates."""
    start = max(0, math.floor(low + 0.5))
    stop = min(size, math.floor(high + 0.5) + 1)
    return start, stop


def cutout(data: bytes, cut: Cut, *, frame: str, t_min: float | None = None, t_max: float | None = None) -> bytes:
    """The FITS file of ``cut`` applied to the image HDU of the FITS file ``data`` (SODA 1.0 §3.3).

    ``frame`` is ``"ICRS"`` (regions in ICRS degrees, converted to the image's own celestial frame) or
    ``"helioprojective"`` (regions in arcseconds of helioprojective longitude and latitude).  ``t_min`` and
    ``t_max`` (MJD) are the image's time: a TIME outside it is :class:`NoOverlap`.
    """
    if cut.time is not None and t_min is not None and t_max is not None:
        low, high = cut.time
        if high < t_min or low > t_max:
            raise NoOverlap("NoOverlap: the image was taken outside the TIME interval")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", AstropyWarning)
        with open_image(data) as hdus:
            index, header = image_header(hdus)
            array = np.asarray(hdus[index].data)
        wcs = quiet_wcs(header)
        naxis = array.ndim
        if wcs.naxis > naxis:  # WCS axes beyond the data's (FIRST: FREQ and STOKES of a 2-D image)
            wcs = wcs.sub(naxis)
        shape = array.shape[::-1]  # FITS order
        slices = [slice(0, n) for n in shape]  # FITS order
        if cut.region is not None:
            region = cut.region
            if frame != "helioprojective":  # ICRS degrees: checked as SIA's POS is
                region = parse_region(region.shape + " " + " ".join(map(repr, region.values)))
            else:  # arcseconds: the outline is drawn in degrees
                region = Region(region.shape, tuple(v / 3600.0 for v in region.values))
            lon, lat = _outline(region)
            celestial = wcs.celestial
            if frame == "helioprojective":  # arcseconds of the image's own frame, in its CUNIT
                unit = u.Unit(celestial.wcs.cunit[0] or "deg")
                lon = (lon + 180.0) % 360.0 - 180.0  # helioprojective longitudes are signed
                x, y = celestial.all_world2pix((lon * u.deg).to_value(unit), (lat * u.deg).to_value(unit), 0)
            else:
                native = SkyCoord(lon * u.deg, lat * u.deg).transform_to(wcs_to_celestial_frame(celestial))
                x, y = celestial.world_to_pixel(native)
            x, y = np.asarray(x), np.asarray(y)
            if not (np.all(np.isfinite(x)) and np.all(np.isfinite(y))):
                raise NoOverlap("NoOverlap: the region lies outside the image's projection")
            for axis, pixels in ((wcs.wcs.lng, x), (wcs.wcs.lat, y)):
                start, stop = _bounds(float(pixels.min()), float(pixels.max()), shape[axis])
                if start >= stop:
                    raise NoOverlap("NoOverlap: the region does not meet the image")
                slices[axis] = slice(start, stop)
        if cut.band is not None:
            slices = _cut_spectral(wcs, shape, slices, cut.band)
        if cut.pol:
            slices = _cut_stokes(wcs, shape, slices, cut.pol)
        numpy_view = tuple(slices[::-1])
        cut_wcs = wcs.slice(numpy_view)
        cut_header = header.copy()
        for key in list(cut_header):
            if key[:5] in ("CRPIX", "CRVAL", "CDELT", "CTYPE", "CUNIT") or (key[:2] in ("PC", "CD") and "_" in key):
                del cut_header[key]
        cut_header.update(cut_wcs.to_header())
        cut_header["HISTORY"] = "SODA 1.0 cutout made by vostack: " + ", ".join(
            f"axis {i + 1} pixels {s.start + 1}-{s.stop}" for i, s in enumerate(slices)
        )
        hdu = fits.PrimaryHDU(data=array[numpy_view], header=cut_header)
        out = io.BytesIO()
        hdu.writeto(out, output_verify="silentfix")
    return out.getvalue()


def _axis_of(wcs: object, kinds: tuple[str, ...]) -> int | None:
    for index, ctype in enumerate(wcs.wcs.ctype):  # type: ignore[attr-defined]
        if ctype.strip().upper()[:4] in kinds:
            return index
    return None


def _cut_spectral(wcs: object, shape: tuple[int, ...], slices: list[slice], band: tuple[float, float]) -> list[slice]:
    axis = _axis_of(wcs, ("FREQ", "WAVE", "AWAV", "ENER", "WAVN", "VRAD"))
    w = wcs.wcs  # type: ignore[attr-defined]
    if axis is None:
        raise NoOverlap("NoOverlap: the image has no spectral axis to cut with BAND")
    unit = u.Unit(w.cunit[axis] or {"FREQ": "Hz", "ENER": "J", "WAVN": "1/m"}.get(w.ctype[axis][:4], "m"))
    pixels = np.arange(shape[axis])
    centres = (w.crval[axis] + (pixels + 1 - w.crpix[axis]) * w.cdelt[axis]) * unit
    half = abs(w.cdelt[axis]) / 2 * unit
    edges = u.Quantity([centres - half, centres + half]).to(u.m, equivalencies=u.spectral()).value
    low, high = band
    keep = np.nonzero((edges.max(axis=0) >= low) & (edges.min(axis=0) <= high))[0]
    if keep.size == 0:
        raise NoOverlap("NoOverlap: the image's band lies outside BAND")
    slices[axis] = slice(int(keep.min()), int(keep.max()) + 1)
    return slices


def _cut_stokes(wcs: object, shape: tuple[int, ...], slices: list[slice], pol: tuple[str, ...]) -> list[slice]:
    axis = _axis_of(wcs, ("STOK",))
    if axis is None:
        raise NoOverlap("NoOverlap: the image has no polarization axis to cut with POL")
    w = wcs.wcs  # type: ignore[attr-defined]
    codes = [round(w.crval[axis] + (p + 1 - w.crpix[axis]) * w.cdelt[axis]) for p in range(shape[axis])]
    keep = [i for i, code in enumerate(codes) if code in {_STOKES[p] for p in pol if p in _STOKES}]
    if not keep:
        raise NoOverlap("NoOverlap: the image has none of the POL states")
    if keep != list(range(keep[0], keep[-1] + 1)):
        raise UsageError("UsageError: these POL states are not adjacent in the image; ask for them one by one")
    slices[axis] = slice(keep[0], keep[-1] + 1)
    return slices
