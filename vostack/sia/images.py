"""ObsCore 1.1 records of image files, derived from their FITS headers with astropy (ObsCore 1.1 §3, FITS 4.0).

:func:`describe_image` reads one FITS file: the first HDU holding an image of two or more axes with a WCS whose
celestial axes astropy knows.  Sky images (equatorial, galactic, ecliptic: anything astropy converts) get their
footprint as an ICRS polygon of the four corners (``s_region``, ``s_footprint``), centre, field of view and
pixel scale; helioprojective images (``HPLN``/``HPLT``: SDO, SOHO, STEREO) get field and scale in arcseconds,
and no ICRS position (their coordinates are on the Sun, not the sky).  Time comes from ``DATE-OBS`` (or
``DATE-BEG``) and ``EXPTIME`` (or ``DATE-END``), the band from a spectral axis or ``WAVELNTH``/``WAVEUNIT``
(or ``PHOTPLAM`` in Angstrom, HST), facility and instrument from ``TELESCOP`` and ``INSTRUME``.

What a header lacks is reported in :attr:`ImageRecord.problems`; a file that cannot be an image record at all
raises :class:`ImageError` with the reason, so that a loader reports it and goes on with the other files.
"""

from __future__ import annotations

import io
import math
import warnings
from dataclasses import dataclass, field
from datetime import datetime

import numpy as np
from astropy import units as u
from astropy.coordinates import SkyCoord
from astropy.io import fits
from astropy.time import Time
from astropy.utils.exceptions import AstropyWarning
from astropy.wcs import WCS, FITSFixedWarning
from astropy.wcs.utils import proj_plane_pixel_scales, wcs_to_celestial_frame

from vostack.errors import VOError
from vostack.products.previews import array_png

__all__ = [
    "ImageError",
    "ImageRecord",
    "describe_image",
    "fits_png",
    "image_hdu",
    "image_header",
    "open_image",
    "quiet_wcs",
]

#: The spectral CTYPEs (FITS 4.0 §8.4.1, table 25) and their default units.
_SPECTRAL_UNITS = {"FREQ": "Hz", "WAVE": "m", "AWAV": "m", "ENER": "J", "WAVN": "1/m", "VRAD": "m/s"}

#: Header values of BUNIT and the UCD of what the pixels measure (ObsCore 1.1 §4.17 o_ucd).
_OBSERVABLES = {"dn": "phot.count", "dn/s": "phot.count", "counts": "phot.count", "jy/beam": "phot.flux.density"}


class ImageError(VOError):
    """A file that cannot be described as an image (no image HDU, no celestial WCS, not FITS)."""


@dataclass(frozen=True, slots=True)
class ImageRecord:
    """What ObsCore says of one image, from its header (units: degrees, MJD, seconds, metres)."""

    hdu: int
    shape: tuple[int, ...]
    """The data's shape in FITS order (NAXIS1, NAXIS2, ...)."""
    frame: str
    """``"ICRS"`` for sky images (their native frame converted), ``"helioprojective"`` for solar images."""
    dataproduct_type: str
    s_ra: float | None
    s_dec: float | None
    s_fov: float | None
    s_resolution: float | None
    """Pixel scale in arcseconds (the mean of both axes)."""
    footprint: tuple[tuple[float, float], ...] | None
    """The corners in ICRS degrees, counter-clockwise as seen from inside the sphere (pgSphere's order)."""
    t_min: float | None
    t_max: float | None
    t_exptime: float | None
    em_min: float | None
    em_max: float | None
    em_xel: int | None
    pol_states: str | None
    pol_xel: int | None
    facility_name: str | None
    instrument_name: str | None
    target_name: str | None
    o_ucd: str | None
    calib_level: int | None
    t_xel: int = 1
    """Samples in time: 1 for an image, the number of samples of a time series."""
    t_resolution: float | None = None
    """Seconds between samples of a time series."""
    observer: dict[str, float] = field(default_factory=dict)
    """Where a solar image was taken from, when the header says: ``HGLN_OBS``, ``HGLT_OBS`` (deg), ``DSUN_OBS`` (m)."""
    problems: tuple[str, ...] = ()

    @property
    def s_region(self) -> str | None:
        """The footprint as STC-S (ObsCore 1.1 §4.11)."""
        if self.footprint is None:
            return None
        return "POLYGON ICRS " + " ".join(f"{lon:.9g} {lat:.9g}" for lon, lat in self.footprint)

    @property
    def spoly(self) -> str | None:
        """The footprint as a pgSphere polygon literal (degrees)."""
        if self.footprint is None:
            return None
        return "{" + ",".join(f"({lon:.12g}d,{lat:.12g}d)" for lon, lat in self.footprint) + "}"


def open_image(data: bytes) -> fits.HDUList:
    """The FITS file ``data`` (lazily loaded HDUs); :class:`ImageError` when it is not FITS."""
    try:
        return fits.open(io.BytesIO(data), memmap=False)
    except (OSError, ValueError) as exc:
        raise ImageError(f"not a FITS file: {exc}") from None


def image_hdu(hdus: fits.HDUList) -> int:
    """The index of the first HDU holding an image of two or more axes."""
    for index, hdu in enumerate(hdus):
        if isinstance(hdu, fits.PrimaryHDU | fits.ImageHDU | fits.CompImageHDU) and hdu.header.get("NAXIS", 0) >= 2:
            return index
    raise ImageError("no HDU holds an image of two or more axes")


def quiet_wcs(header: fits.Header) -> WCS:
    """astropy's WCS of ``header``, without its notes on non-standard keywords (they are fixed in passing)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FITSFixedWarning)
        return WCS(header)


def _time(header: fits.Header, problems: list[str]) -> tuple[float | None, float | None, float | None]:
    text = str(header.get("DATE-OBS") or header.get("DATE-BEG") or "").strip()
    if not text:
        problems.append("no DATE-OBS: the time of the observation is unknown")
        return None, None, None
    start: Time | None = None
    for form in ("isot", "%Y%m%d", "%d/%m/%Y"):  # ISO 8601; 19930417 (FIRST); dd/mm/yyyy (FITS before 2000)
        try:
            start = Time(text, format=form, scale="utc") if form == "isot" else Time(datetime.strptime(text, form))
            break
        except ValueError:
            continue
    if start is None:
        problems.append(f"DATE-OBS {text!r} is no date astropy reads")
        return None, None, None
    exptime = header.get("EXPTIME", header.get("XPOSURE"))
    exposure = float(exptime) if isinstance(exptime, int | float) else None
    end = header.get("DATE-END")
    if isinstance(end, str) and end.strip():
        try:
            stop = Time(end.strip(), format="isot", scale="utc").mjd
        except ValueError:
            stop = start.mjd + (exposure or 0.0) / 86400
    else:
        stop = start.mjd + (exposure or 0.0) / 86400
    if exposure is None:
        problems.append("no EXPTIME: the exposure time is unknown")
    return float(start.mjd), float(stop), exposure


def _band(header: fits.Header, wcs: WCS, problems: list[str]) -> tuple[float | None, float | None, int | None]:
    for index, ctype in enumerate(wcs.wcs.ctype):
        kind = ctype.strip().upper()[:4]
        if kind in _SPECTRAL_UNITS:  # a linear spectral axis (FITS 4.0 §8.4; no axis of the data needed)
            length = int(header.get(f"NAXIS{index + 1}", 1))
            unit = u.Unit(wcs.wcs.cunit[index] or _SPECTRAL_UNITS[kind])
            crval, cdelt, crpix = wcs.wcs.crval[index], wcs.wcs.cdelt[index], wcs.wcs.crpix[index]
            ends = np.array([crval + (p - crpix) * cdelt for p in (0.5, length + 0.5)]) * unit
            wave = ends.to(u.m, equivalencies=u.spectral()).value
            return float(np.min(wave)), float(np.max(wave)), length
    value = header.get("WAVELNTH")
    unit_text = str(header.get("WAVEUNIT") or "").strip()
    if isinstance(value, int | float) and value > 0:
        if not unit_text:
            problems.append("WAVELNTH without WAVEUNIT: taken as Angstrom (the solar archives' convention)")
            unit_text = "Angstrom"
        try:
            wave = (float(value) * u.Unit(unit_text.lower() if unit_text.lower() == "angstrom" else unit_text)).to(
                u.m, equivalencies=u.spectral()
            )
        except ValueError:
            problems.append(f"WAVEUNIT {unit_text!r} is no unit astropy knows: the band is unknown")
            return None, None, None
        return float(wave.value), float(wave.value), 1
    photplam = header.get("PHOTPLAM")
    if isinstance(photplam, int | float) and photplam > 0:  # HST: pivot wavelength in Angstrom
        return float(photplam) * 1e-10, float(photplam) * 1e-10, 1
    problems.append("no spectral axis, WAVELNTH or PHOTPLAM: the band is unknown")
    return None, None, None


def _polarization(header: fits.Header, wcs: WCS) -> tuple[str | None, int | None]:
    """The Stokes states of a STOKES axis (FITS 4.0 §8.5: 1..4 are I, Q, U, V) as ObsCore writes them."""
    names = {1: "I", 2: "Q", 3: "U", 4: "V", -1: "RR", -2: "LL", -3: "RL", -4: "LR", -5: "XX", -6: "YY"}
    for index, ctype in enumerate(wcs.wcs.ctype):
        if ctype.strip().upper() == "STOKES":
            length = int(header.get(f"NAXIS{index + 1}", 1))
            crval, cdelt, crpix = wcs.wcs.crval[index], wcs.wcs.cdelt[index], wcs.wcs.crpix[index]
            states = [names.get(round(crval + (p + 1 - crpix) * cdelt)) for p in range(length)]
            known = [s for s in states if s is not None]
            return ("/" + "/".join(known) + "/" if known else None), length
    return None, None


def _text(header: fits.Header, *keys: str) -> str | None:
    for key in keys:
        value = header.get(key)
        if isinstance(value, str) and value.strip():
            return value.strip()
    return None


def describe_image(data: bytes, *, calib_level: int | None = None) -> ImageRecord:
    """The ObsCore description of the FITS image ``data`` (ObsCore 1.1 §3); :class:`ImageError` if it is none."""
    with warnings.catch_warnings():  # astropy's notes on the header (BLANK of float data, fixed keywords)
        warnings.simplefilter("ignore", AstropyWarning)
        return _describe(data, calib_level)


def image_header(hdus: fits.HDUList) -> tuple[int, fits.Header]:
    """The index and header of the image HDU, an extension's with the primary header's keywords (FITS 4.0
    §4.4.2.1, ``INHERIT``), and the SOHO convention ``Solar-X``/``Solar-Y`` read as ``HPLN-TAN``/``HPLT-TAN``."""
    index = image_hdu(hdus)
    header = hdus[index].header
    if index > 0:
        merged = hdus[0].header.copy()
        merged.update(header)
        header = merged
    if str(header.get("CTYPE1", "")).strip().upper() in ("SOLAR-X", "SOLAR_X", "SOLARX"):
        header = header.copy()
        header["CTYPE1"], header["CTYPE2"] = "HPLN-TAN", "HPLT-TAN"
        header["CUNIT1"], header["CUNIT2"] = "arcsec", "arcsec"
    return index, header


def _describe(data: bytes, calib_level: int | None) -> ImageRecord:
    with open_image(data) as hdus:
        index, header = image_header(hdus)
    problems: list[str] = []
    if header.get("CTYPE1") != hdus[index].header.get("CTYPE1"):
        problems.append("CTYPE Solar-X/Solar-Y (an old SOHO convention): read as HPLN-TAN/HPLT-TAN in arcsec")
    wcs = quiet_wcs(header)
    if not wcs.has_celestial:
        raise ImageError("the header has no celestial WCS (CTYPE1, CTYPE2 with a projection)")
    celestial = wcs.celestial
    shape = tuple(int(header[f"NAXIS{i}"]) for i in range(1, int(header["NAXIS"]) + 1))
    nx, ny = shape[wcs.wcs.lng], shape[wcs.wcs.lat]
    scales = proj_plane_pixel_scales(celestial) * u.Unit(celestial.wcs.cunit[0] or "deg")
    resolution = float(np.mean(scales.to(u.arcsec).value))
    corners_x = np.array([-0.5, nx - 0.5, nx - 0.5, -0.5])
    corners_y = np.array([-0.5, -0.5, ny - 0.5, ny - 0.5])
    ctype = celestial.wcs.ctype[0].upper()
    solar = ctype.startswith("HPLN")
    observer: dict[str, float] = {}
    if solar:
        frame = "helioprojective"
        width, height = nx * scales[0].to(u.deg).value, ny * scales[1].to(u.deg).value
        fov = math.hypot(width, height)
        ra = dec = None
        footprint = None
        for key in ("HGLN_OBS", "HGLT_OBS", "DSUN_OBS"):
            value = header.get(key)
            if isinstance(value, int | float):
                observer[key] = float(value)
        if "DSUN_OBS" not in observer:
            problems.append("no DSUN_OBS: the observer's distance to the Sun is unknown")
    else:
        frame = "ICRS"
        try:
            native = wcs_to_celestial_frame(celestial)
        except ValueError as exc:
            raise ImageError(f"astropy knows no celestial frame for this WCS: {exc}") from None
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            lon, lat = celestial.all_pix2world(corners_x, corners_y, 0)
            corners = SkyCoord(lon * u.deg, lat * u.deg, frame=native).icrs
            cx, cy = celestial.all_pix2world([(nx - 1) / 2], [(ny - 1) / 2], 0)
            centre = SkyCoord(cx * u.deg, cy * u.deg, frame=native).icrs
        if not (np.all(np.isfinite(corners.ra.deg)) and np.all(np.isfinite(corners.dec.deg))):
            raise ImageError("the corners of the image are outside its projection")
        ra, dec = float(centre.ra.deg[0]), float(centre.dec.deg[0])
        fov = float(max(corners[0].separation(corners[2]).deg, corners[1].separation(corners[3]).deg))
        points = [(float(c.ra.deg), float(c.dec.deg)) for c in corners]
        footprint = tuple(points if _counter_clockwise(points, (ra, dec)) else points[::-1])
    t_min, t_max, exptime = _time(header, problems)
    em_min, em_max, em_xel = _band(header, wcs, problems)
    pol_states, pol_xel = _polarization(header, wcs)
    bunit = str(header.get("BUNIT") or "").strip().lower()
    level = header.get("LVL_NUM")
    cubic = any(n > 1 for i, n in enumerate(shape) if i not in (wcs.wcs.lng, wcs.wcs.lat))  # FREQ, STOKES...
    return ImageRecord(
        hdu=index,
        shape=shape,
        frame=frame,
        dataproduct_type="cube" if cubic else "image",
        s_ra=ra,
        s_dec=dec,
        s_fov=fov,
        s_resolution=resolution,
        footprint=footprint,
        t_min=t_min,
        t_max=t_max,
        t_exptime=exptime,
        em_min=em_min,
        em_max=em_max,
        em_xel=em_xel,
        pol_states=pol_states,
        pol_xel=pol_xel,
        facility_name=_text(header, "TELESCOP", "OBSRVTRY"),
        instrument_name=_text(header, "INSTRUME", "DETECTOR"),
        target_name="Sun" if solar else _text(header, "OBJECT"),
        o_ucd=_OBSERVABLES.get(bunit),
        calib_level=int(level) if isinstance(level, int | float) and 0 <= level <= 4 else calib_level,
        observer=observer,
        problems=tuple(problems),
    )


def _counter_clockwise(points: list[tuple[float, float]], centre: tuple[float, float]) -> bool:
    """Whether the corners go round ``centre`` counter-clockwise on the sky as seen from inside (east of north)."""
    ra0, dec0 = (math.radians(v) for v in centre)
    total = 0.0
    previous = None
    for lon, lat in [*points, points[0]]:
        a, d = math.radians(lon), math.radians(lat)
        # gnomonic offsets around the centre: x towards east (increasing RA), y towards north
        cos_c = math.sin(dec0) * math.sin(d) + math.cos(dec0) * math.cos(d) * math.cos(a - ra0)
        x = math.cos(d) * math.sin(a - ra0) / cos_c
        y = (math.cos(dec0) * math.sin(d) - math.sin(dec0) * math.cos(d) * math.cos(a - ra0)) / cos_c
        if previous is not None:
            total += previous[0] * y - x * previous[1]
        previous = (x, y)
    return total > 0


def fits_png(data: bytes, hdu: int) -> bytes:
    """A PNG preview of the image in HDU ``hdu`` of the FITS file ``data`` (its first plane for a cube), north up
    as the pixels lie (the first row at the bottom, FITS 4.0 §3.3.2)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", AstropyWarning)
        with open_image(data) as hdus:
            values = np.asarray(hdus[hdu].data, dtype=np.float64)
    while values.ndim > 2:
        values = values[0]
    return array_png(values, flip=True)
