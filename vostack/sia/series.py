"""Light curves: ObsCore 1.1 records of time series files, their VOTable form and a PNG plot.

:func:`read_series` reads the two layouts of FITS binary tables that light curves come in:

* one row of arrays (GOES XRS from the Solar Data Analysis Center): ``TIME`` in seconds after ``DATE-OBS``
  ``TIME-OBS`` (UTC), ``FLUX`` of one or more channels, the channels' wavelength ``EDGES`` in another table;
* one row a sample (TESS, Kepler, astrocut target pixel files): ``TIME`` in days after ``BJDREFI`` +
  ``BJDREFF`` in the header's ``TIMESYS`` (TDB) at ``TIMEREF`` (the solar system barycentre), ``FLUX`` a value
  or a stamp of pixels (summed: the light of the stamp).

:func:`describe_series` gives the ObsCore record (``dataproduct_type`` ``timeseries``, ``t_xel`` the number of
samples), :func:`series_votable` the VOTable with a ``TIMESYS`` that its time column refers to (VOTable 1.4
§3.3), and :func:`series_png` a plot drawn with Pillow (the DataLink ``#preview``).
"""

from __future__ import annotations

import io
import math
import re
import warnings
from dataclasses import dataclass

import numpy as np
from astropy import units as u
from astropy.io import fits
from astropy.time import Time
from astropy.utils.exceptions import AstropyWarning

from vostack.errors import VOError
from vostack.schema import Field
from vostack.sia.images import ImageError, ImageRecord, open_image
from vostack.votable import TimeSys, VOTableWriter

__all__ = ["TimeSeries", "describe_series", "read_series", "series_png", "series_votable"]

#: FITS TIMEREF (FITS 4.0 §9.2.3) to VOTable TIMESYS refposition (VOTable 1.4 §3.3).
_REFPOSITIONS = {"SOLARSYSTEM": "BARYCENTER", "LOCAL": "TOPOCENTER", "GEOCENTER": "GEOCENTER",
                 "HELIOCENTER": "HELIOCENTER", "TOPOCENTER": "TOPOCENTER", "BARYCENTER": "BARYCENTER"}  # fmt: skip


_BJD_UNIT = re.compile(r"\s*BJD\s*-\s*(\d+(?:\.\d*)?)")


@dataclass(frozen=True)
class TimeSeries:
    """The samples of a light curve: times as MJD in ``timescale`` at ``refposition``, and flux channels."""

    mjd: np.ndarray
    timescale: str
    refposition: str
    channels: tuple[tuple[str, str | None, np.ndarray], ...]
    """(name, unit as the file spells it, values) of each channel, one value a sample."""
    bands: tuple[tuple[float, float], ...] = ()
    """The channels' wavelength ranges in metres, when the file gives them."""
    exposure: float | None = None
    """Seconds between samples (the median cadence)."""


def _header_time(header: fits.Header) -> Time:
    date, clock = str(header["DATE-OBS"]).strip(), str(header.get("TIME-OBS") or "00:00:00").strip()
    if "/" in date:  # DD/MM/YYYY, the SDAC convention
        day, month, year = date.split("/")
        date = f"{year}-{month}-{day}"
    return Time(f"{date}T{clock}" if "T" not in date else date, scale="utc")


def read_series(data: bytes) -> TimeSeries:
    """The light curve of the FITS file ``data``; :class:`ImageError` when it holds none (no ``TIME``/``FLUX``)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", AstropyWarning)
        with open_image(data) as hdus:
            primary = hdus[0].header
            for hdu in hdus[1:]:
                if not isinstance(hdu, fits.BinTableHDU):
                    continue
                names = {n.upper() for n in hdu.columns.names}
                if {"TIME", "FLUX"} <= names:
                    return _vector(hdus, hdu, primary) if len(hdu.data) == 1 else _rows(hdu, primary)
    raise ImageError("no binary table with TIME and FLUX columns: not a light curve")


def _vector(hdus: fits.HDUList, hdu: fits.BinTableHDU, primary: fits.Header) -> TimeSeries:
    """One row of arrays: seconds after DATE-OBS TIME-OBS (UTC), one FLUX column of several channels."""
    seconds = np.asarray(hdu.data["TIME"][0], dtype=np.float64)
    flux = np.asarray(hdu.data["FLUX"][0], dtype=np.float64)
    flux = flux.T if flux.ndim == 2 and flux.shape[0] == seconds.size else flux.reshape(-1, seconds.size)
    start = _header_time(primary)
    unit = hdu.columns["FLUX"].unit
    bands: list[tuple[float, float]] = []
    if "EDGES" in hdus and "EDGES" in hdus["EDGES"].columns.names:
        column = hdus["EDGES"].columns["EDGES"]
        edges = np.asarray(hdus["EDGES"].data["EDGES"][0], dtype=np.float64).reshape(-1, 2)
        scale = u.Unit(column.unit or "Angstrom").to(u.m)
        bands = [(float(lo * scale), float(hi * scale)) for lo, hi in np.sort(edges, axis=1)]
    channels = tuple(
        (f"flux_{_band_name(bands[i]) if i < len(bands) else i + 1}", unit, flux[i]) for i in range(flux.shape[0])
    )
    step = float(np.median(np.diff(seconds))) if seconds.size > 1 else None
    return TimeSeries(start.mjd + seconds / 86400.0, "UTC", "GEOCENTER", channels, tuple(bands), step)


def _vounit(text: str | None) -> tuple[str | None, str]:
    """A FITS unit as VOUnit (VOUnits 1.0), or ``None`` when VOUnit has none (``e-/s``: electrons), and how the
    file spells it."""
    spelled = (text or "").strip()
    try:
        return u.Unit(spelled, format="fits").to_string("vounit") if spelled else None, spelled
    except ValueError:
        return None, spelled


def _band_name(band: tuple[float, float]) -> str:
    return f"{band[0] * 1e10:g}_{band[1] * 1e10:g}A".replace(".", "p")


def _rows(hdu: fits.BinTableHDU, primary: fits.Header) -> TimeSeries:
    """One row a sample: days after BJDREFI + BJDREFF (or the ``BJD - 2457000`` of the TIME column's unit, as
    astrocut writes it) in TIMESYS (TDB for BJD) at TIMEREF (the solar system barycentre for BJD)."""
    header = hdu.header

    def key(name: str) -> object:
        return header.get(name, primary.get(name))

    unit = str(hdu.columns["TIME"].unit or "")
    offset = _BJD_UNIT.match(unit)
    if isinstance(key("BJDREFI"), int | float):
        reference = float(key("BJDREFI")) + float(key("BJDREFF") or 0)  # type: ignore[arg-type]
    elif offset is not None:
        reference = float(offset.group(1))
    else:
        raise ImageError(f"the origin of the TIME column is unknown (no BJDREFI, unit {unit!r})")
    scale = str(key("TIMESYS") or "TDB").strip().lower()
    if scale not in Time.SCALES:
        raise ImageError(f"TIMESYS {scale!r} is no time scale astropy knows")
    days = np.asarray(hdu.data["TIME"], dtype=np.float64)
    flux = np.asarray(hdu.data["FLUX"], dtype=np.float64)
    if flux.ndim > 1:  # a stamp of pixels a sample: its light
        flux = np.nansum(flux.reshape(flux.shape[0], -1), axis=1)
    good = np.isfinite(days)
    where = str(key("TIMEREF") or "SOLARSYSTEM").strip().upper()
    flux_unit = hdu.columns["FLUX"].unit
    cadence = float(np.median(np.diff(days[good]))) * 86400 if good.sum() > 1 else None
    return TimeSeries(
        mjd=reference - 2400000.5 + days[good],
        timescale=scale.upper(),
        refposition=_REFPOSITIONS.get(where, "UNKNOWN"),
        channels=(("flux", flux_unit, flux[good]),),
        exposure=cadence,
    )


#: Bands of light curves whose file names no wavelength (TESS: 600-1000 nm, Ricker et al. 2015 §6.1).
_INSTRUMENT_BANDS = {"TESS": (600e-9, 1000e-9)}


def describe_series(data: bytes, *, calib_level: int | None = None) -> ImageRecord:
    """The ObsCore record of the light curve ``data`` (ObsCore 1.1 §3: ``dataproduct_type`` ``timeseries``).

    Time range and sample count from the samples, band from the channels' edges (or the instrument's band),
    position from ``RA_OBJ``/``DEC_OBJ``, facility and instrument from ``TELESCOP``/``INSTRUME``.
    """
    series = read_series(data)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", AstropyWarning)
        with open_image(data) as hdus:
            header = hdus[0].header
    problems: list[str] = []
    em_min: float | None
    em_max: float | None
    telescope = str(header.get("TELESCOP") or "").strip() or None
    if series.bands:
        em_min, em_max = min(b[0] for b in series.bands), max(b[1] for b in series.bands)
    elif telescope in _INSTRUMENT_BANDS:
        em_min, em_max = _INSTRUMENT_BANDS[telescope]
    else:
        em_min = em_max = None
        problems.append("no channel edges and no known instrument band: the band is unknown")
    ra, dec = header.get("RA_OBJ"), header.get("DEC_OBJ")
    on_sky = isinstance(ra, int | float) and isinstance(dec, int | float)
    target = str(header.get("OBJECT") or "").strip() or None
    if not on_sky and target != "Sun":
        problems.append("no RA_OBJ/DEC_OBJ: the position is unknown")
    t_min, t_max = float(series.mjd.min()), float(series.mjd.max())
    return ImageRecord(
        hdu=1,
        shape=(1, 1),
        frame="ICRS" if on_sky else "helioprojective" if target == "Sun" else "none",
        dataproduct_type="timeseries",
        s_ra=float(ra) if on_sky else None,
        s_dec=float(dec) if on_sky else None,
        s_fov=None,
        s_resolution=None,
        footprint=None,
        t_min=t_min,
        t_max=t_max,
        t_exptime=None,  # the exposure of a sample is not in these files; the cadence is t_resolution
        t_resolution=series.exposure,
        em_min=em_min,
        em_max=em_max,
        em_xel=len(series.bands) or 1,
        pol_states=None,
        pol_xel=None,
        facility_name=telescope,
        instrument_name=str(header.get("INSTRUME") or "").strip() or None,
        target_name=target,
        o_ucd="phot.flux",
        calib_level=calib_level,
        t_xel=int(series.mjd.size),
        problems=tuple(problems),
    )


def series_votable(series: TimeSeries, *, name: str) -> bytes:
    """The light curve as a VOTable: a ``TIMESYS`` (scale, reference position, MJD origin) that the time column
    refers to (VOTable 1.4 §3.3), and a column a channel."""
    fields = [Field("time", "double", unit="d", ucd="time.epoch", description=f"MJD ({series.timescale})")]
    for name, unit, _ in series.channels:
        vounit, spelled = _vounit(unit)
        note = f" (in {spelled}, which VOUnit cannot write)" if vounit is None and spelled else ""
        fields.append(Field(name, "double", unit=vounit, ucd="phot.flux", description=f"Flux: {name}{note}"))
    timesys = TimeSys("time_frame", series.timescale, series.refposition, ("time",), timeorigin="MJD-origin")
    writer = VOTableWriter(fields, serialization="binary2", table_name=name, timesys=(timesys,))
    columns = [series.mjd, *(values for _, _, values in series.channels)]
    rows = [tuple(None if not math.isfinite(v) else float(v) for v in row) for row in zip(*columns, strict=True)]
    return writer.header() + writer.rows(rows) + writer.footer()


def series_png(series: TimeSeries, *, title: str = "", width: int = 640, height: int = 320) -> bytes:
    """A plot of each channel against time, drawn with Pillow (the DataLink ``#preview``); a channel spanning
    more than two decades is drawn on a logarithmic scale, as solar X-ray fluxes are."""
    try:
        from PIL import Image, ImageDraw
    except ImportError:  # pragma: no cover - the package's extra installs it
        raise VOError("previews need Pillow: pip install 'vostack[images]'") from None
    left, right, top, bottom = 60, 12, 24, 30
    image = Image.new("RGB", (width, height), "white")
    draw = ImageDraw.Draw(image)
    draw.rectangle((left, top, width - right, height - bottom), outline="black")
    draw.text((left, 6), title, fill="black")
    x = series.mjd
    x0, x1 = float(x.min()), float(x.max())
    span = max(x1 - x0, 1e-9)
    draw.text((left, height - bottom + 6), f"MJD {x0:.4f}", fill="black")
    end = f"{x1:.4f} ({series.timescale})"
    draw.text((width - right - 7 * len(end), height - bottom + 6), end, fill="black")
    colours = ("#1f4e9c", "#c0392b", "#27864b", "#7d3c98")
    values = [np.asarray(v, dtype=np.float64) for _, _, v in series.channels]
    positive = [v[np.isfinite(v) & (v > 0)] for v in values]
    logarithmic = (
        all(p.size for p in positive) and max(p.max() for p in positive) / min(p.min() for p in positive) > 100
    )
    ys = [np.log10(np.where(v > 0, v, np.nan)) if logarithmic else v for v in values]
    finite = np.concatenate([y[np.isfinite(y)] for y in ys]) if ys else np.array([])
    low, high = np.percentile(finite, [0.1, 99.9]) if finite.size else (0.0, 1.0)
    high = high if high > low else low + 1.0
    for value, row in ((high, top), (low, height - bottom - 12)):
        draw.text((4, row), f"{10**value if logarithmic else value:.3g}", fill="black")
    plot_w, plot_h = width - left - right, height - top - bottom
    step = max(1, x.size // (plot_w * 2))  # about two samples a pixel column
    for index, y in enumerate(ys):
        px = left + (x[::step] - x0) / span * plot_w
        py = top + (1 - (np.clip(y[::step], low, high) - low) / (high - low)) * plot_h
        points = [(float(a), float(b)) for a, b in zip(px, py, strict=True) if math.isfinite(b)]
        if len(points) > 1:
            draw.line(points, fill=colours[index % len(colours)], width=1)
    out = io.BytesIO()
    image.save(out, format="PNG", optimize=True)
    return out.getvalue()
