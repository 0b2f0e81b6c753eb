"""The demo's spectra: the SpeX Prism Library (IRTF/SpeX prism, 0.65-2.55 um, R ~ 75-200).

The data are those of the PyPI wheel ``splat==1.14`` (the SPLAT toolkit, Burgasser et al.),
fetched once with ``pip download --no-deps`` into a cache directory and read straight out of
the zip: ``splat/db/spectral_data.csv`` (one row per spectrum; its JULIAN_DATE column holds
the MJD) joined on SOURCE_KEY with ``splat/db/source_data.csv`` (names, ICRS positions in
degrees, spectral types), and the spectra ``splat/resources/Spectra/Public/SPEX-PRISM/*.fits.gz``
(gzipped FITS, primary HDU rows: wavelength in micron, flux, error).

The files are served from the wheel, not extracted: a zip member is read at random in
well under a millisecond, and the 82 MB wheel stays the one copy on disk.  The wavelength
limits, number of points, flux unit and exposure time of each spectrum are read from its
file once, at load (about 3 s for the 3,089 files).
"""

from __future__ import annotations

import asyncio
import csv
import gzip
import io
import math
import threading
import warnings
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from vostack import db
from vostack.config import ColumnMeta, TableMeta
from vostack.demo import downloads
from vostack.errors import NotFoundError
from vostack.ssa import OBSCORE_DATA_MODEL, Spectrum, SSAMapping
from vostack.ssa.readers import spectrum_rows
from vostack.tap import DataModel, TAPService

__all__ = [
    "DDL",
    "INDEX_DDL",
    "MAPPING",
    "TABLE",
    "WHEEL",
    "LoadReport",
    "SpexProducts",
    "ensure_spex",
    "fetch_wheel",
    "iter_rows",
    "read_spectrum",
    "spex_table_meta",
]

WHEEL = "splat==1.14"
"""The PyPI distribution that carries the data (never installed: only downloaded)."""

TABLE = "spex.spectra"
_SPECTRA_DIR = "splat/resources/Spectra/Public/SPEX-PRISM/"
AUTHORITY = "ivo://vostack.demo/spex"
SLIT_WIDTH_DEG = 0.5 / 3600  # the narrowest SpeX prism slit, 0.3-0.8 arcsec; used as the aperture

#: Header YUNITS spellings -> VOUnit (VOUnits 1.0); a file without YUNITS has no known unit.
_FLUX_UNITS = {
    "ergss-1cm-2a-1": "erg.s**-1.cm**-2.Angstrom**-1",
    "ergs s-1 cm-2 a-1": "erg.s**-1.cm**-2.Angstrom**-1",
    "wm-2um-1": "W.m**-2.um**-1",
    "w m-2 um-1": "W.m**-2.um**-1",
}

DDL = """\
CREATE SCHEMA IF NOT EXISTS spex;
CREATE TABLE spex.spectra (
    obs_id text PRIMARY KEY,
    pubdid text NOT NULL UNIQUE,
    data_key integer NOT NULL,
    source_key integer NOT NULL,
    target_name text NOT NULL,
    designation text,
    ra double precision NOT NULL,
    dec double precision NOT NULL,
    mjd double precision NOT NULL,
    t_min double precision NOT NULL,
    t_max double precision NOT NULL,
    exptime double precision,
    em_min double precision NOT NULL,
    em_max double precision NOT NULL,
    n_points integer NOT NULL,
    resolution double precision,
    snr double precision,
    airmass double precision,
    spectral_type text,
    nir_type text,
    opt_type text,
    observer text,
    program_pi text,
    bibcode text,
    quality_flag text,
    flux_unit text,
    file_name text NOT NULL,
    file_size bigint NOT NULL,
    title text NOT NULL
);
"""

INDEX_DDL = """\
CREATE INDEX spectra_spoint_idx ON spex.spectra USING gist (spoint(radians(ra), radians(dec)));
CREATE INDEX spectra_em_idx ON spex.spectra (em_min, em_max);
CREATE INDEX spectra_time_idx ON spex.spectra (t_min, t_max);
ANALYZE spex.spectra;
"""

COLUMNS: tuple[str, ...] = (
    "obs_id", "pubdid", "data_key", "source_key", "target_name", "designation", "ra", "dec", "mjd", "t_min",
    "t_max", "exptime", "em_min", "em_max", "n_points", "resolution", "snr", "airmass", "spectral_type",
    "nir_type", "opt_type", "observer", "program_pi", "bibcode", "quality_flag", "flux_unit", "file_name",
    "file_size", "title",
)  # fmt: skip

MAPPING = SSAMapping(
    table=TABLE,
    collection="SpeX Prism Library",
    columns={
        "publisher_did": "pubdid",
        "obs_id": "obs_id",
        "product": "file_name",
        "title": "title",
        "target_name": "target_name",
        "target_class": "spectral_type",
        "ra": "ra",
        "dec": "dec",
        "time_location": "mjd",
        "time_extent": "exptime",
        "t_min": "t_min",
        "t_max": "t_max",
        "em_min": "em_min",
        "em_max": "em_max",
        "res_power": "resolution",
        "snr": "snr",
        "length": "n_points",
        "flux_unit": "flux_unit",
        "reference": "bibcode",
        "access_size": "file_size",
    },
    constants={
        "data_model": "Spectrum-1.1",
        "dataset_type": "Spectrum",
        "publisher": "vostack demonstration data centre",
        "creator": "SpeX Prism Library (A. Burgasser et al.), via SPLAT",
        "collection": "SpeX Prism Library",
        "instrument": "SpeX",
        "facility": "IRTF",
        "bandpass": "Infrared",
        "data_source": "pointed",
        "creation_type": "archival",
        "frame": "ICRS",
        "aperture": SLIT_WIDTH_DEG,
        "spectral_ucd": "em.wl",
        "spectral_unit": "m",
        "flux_ucd": "phot.flux.density;em.wl",
        "calib_level": 2,
    },
)
"""How ``spex.spectra`` provides the SSA 1.1 and ObsCore 1.1 fields (wavelengths in metres, times in MJD)."""


def fetch_wheel(cache_dir: Path) -> Path:
    """The ``splat`` wheel in ``cache_dir``, downloaded with ``pip download --no-deps`` the first time."""
    return downloads.fetch_wheel(cache_dir, *WHEEL.split("=="))


@dataclass(frozen=True, slots=True)
class SpexFile:
    """What the loader needs of one spectrum file."""

    spectrum: Spectrum
    exptime: float | None
    size: int


def read_spectrum(raw: bytes) -> SpexFile:
    """Decode a SpeX prism FITS file (gzipped or not): wavelength (um), flux, error, flux unit, exposure time.

    The primary HDU holds rows wavelength, flux, error (and sometimes a mask); a few files store
    them transposed (N x 3) or stacked per aperture (2 x 3 x N), and some lack the error row.
    """
    import numpy as np
    from astropy.io import fits

    data = gzip.decompress(raw) if raw[:2] == b"\x1f\x8b" else raw
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # some headers have non-standard cards
        with fits.open(io.BytesIO(data)) as hdus:
            header = hdus[0].header
            array = np.asarray(hdus[0].data, dtype="float64")
            yunits = str(header.get("YUNITS") or "").strip().lower()
            exptime = header.get("ITOT") or header.get("ITIME")
    wave, flux, error = spectrum_rows(array)
    spectrum = Spectrum(
        spectral=[float(v) for v in wave],
        flux=[float(v) for v in flux],
        error=None if error is None else [float(v) for v in error],
        spectral_unit="um",
        flux_unit=_FLUX_UNITS.get(yunits),
    )
    seconds = float(exptime) if isinstance(exptime, (int, float)) and exptime > 0 else None
    return SpexFile(spectrum, seconds, len(data))


def _csv(archive: zipfile.ZipFile, name: str) -> list[dict[str, str]]:
    text = archive.read(name).decode("utf-8-sig")  # the first header cell carries a BOM
    return list(csv.DictReader(io.StringIO(text)))


def _number(text: str) -> float | None:
    try:
        value = float(text)
    except ValueError:
        return None
    return value if math.isfinite(value) else None


@dataclass
class LoadReport:
    """How many source records became rows (spectra, features, planets), and why the others did not."""

    rows: int = 0
    loaded: int = 0
    skipped: dict[str, int] = field(default_factory=dict)

    def skip(self, reason: str) -> None:
        """Count one record left out for ``reason``."""
        self.skipped[reason] = self.skipped.get(reason, 0) + 1


def iter_rows(wheel: Path, report: LoadReport | None = None) -> Iterator[tuple[object, ...]]:
    """One tuple per valid spectrum, ordered as :data:`COLUMNS`; invalid rows are counted in ``report``."""
    report = report if report is not None else LoadReport()
    with zipfile.ZipFile(wheel) as archive:
        spectra = _csv(archive, "splat/db/spectral_data.csv")
        sources = {row["SOURCE_KEY"]: row for row in _csv(archive, "splat/db/source_data.csv")}
        members = set(archive.namelist())
        for row in spectra:
            report.rows += 1
            source = sources.get(row["SOURCE_KEY"])
            if source is None:
                report.skip("no source record")
                continue
            ra, dec, mjd = _number(source["RA"]), _number(source["DEC"]), _number(row["JULIAN_DATE"])
            if ra is None or dec is None:
                report.skip("no position")
                continue
            if mjd is None:
                report.skip("no observation date")
                continue
            member = _SPECTRA_DIR + row["DATA_FILE"] + ".gz"
            if member not in members:
                report.skip("no spectrum file")
                continue
            try:
                decoded = read_spectrum(archive.read(member))
            except (ValueError, OSError, IndexError):
                report.skip("unreadable spectrum file")
                continue
            wave = decoded.spectrum.spectral
            name = source["NAME"].strip() or source["DESIGNATION"].strip()
            exptime = decoded.exptime
            t_max = mjd + exptime / 86400 if exptime else mjd
            key = row["DATA_KEY"]
            spectral_type = row["SPEX_TYPE"].strip() or None
            title = f"SpeX prism spectrum of {name}" + (f" ({spectral_type})" if spectral_type else "")
            report.loaded += 1
            yield (
                f"spex-{key}", f"{AUTHORITY}?{key}", int(key), int(row["SOURCE_KEY"]), name,
                source["DESIGNATION"].strip() or None, ra, dec, mjd, mjd, t_max, exptime,
                min(wave) * 1e-6, max(wave) * 1e-6, len(wave), _number(row["RESOLUTION"]),
                _number(row["MEDIAN_SNR"]), _number(row["AIRMASS"]), spectral_type,
                source["NIR_TYPE"].strip() or None, source["OPT_TYPE"].strip() or None,
                row["OBSERVER"].strip() or None, row["PROGRAM_PI"].strip() or None,
                row["BIBCODE"].strip() or None, row["QUALITY_FLAG"].strip() or None,
                decoded.spectrum.flux_unit, row["DATA_FILE"], decoded.size, title,
            )  # fmt: skip


class SpexProducts:
    """The spectra files, read from the wheel (a :class:`vostack.ssa.ProductStore`)."""

    media_type = "application/fits"

    def __init__(self, wheel: Path) -> None:
        self._archive = zipfile.ZipFile(wheel)
        self._lock = threading.Lock()

    def original(self, key: str) -> bytes:
        """The uncompressed FITS file ``key`` (e.g. ``10001_10443.fits``)."""
        try:
            with self._lock:
                raw = self._archive.read(_SPECTRA_DIR + key + ".gz")
        except KeyError:
            raise NotFoundError(f"no spectrum file {key!r}") from None
        return gzip.decompress(raw) if raw[:2] == b"\x1f\x8b" else raw

    def spectrum(self, key: str) -> Spectrum:
        """The arrays of the file ``key``."""
        return read_spectrum(self.original(key)).spectrum

    def close(self) -> None:
        """Close the wheel."""
        self._archive.close()


async def ensure_spex(pool: db.Pool, wheel: Path) -> LoadReport | None:
    """Load ``spex.spectra`` from ``wheel`` unless it is there; returns the report when it loaded now."""
    async with db.exclusive(pool, f"vostack.demo:{TABLE}"):  # demos started together load it once
        if (await db.row_count(pool, TABLE) or 0) > 0:
            return None
        report = LoadReport()
        rows = await asyncio.to_thread(lambda: list(iter_rows(wheel, report)))  # 3,089 FITS files: off the loop
        await db.execute(pool, f"DROP TABLE IF EXISTS {TABLE} CASCADE;\n{DDL}")
        await db.copy_rows(pool, TABLE, COLUMNS, rows)
        await db.execute(pool, INDEX_DDL)
    return report


_META: dict[str, tuple[str, str | None, str | None]] = {
    "obs_id": ("Observation identifier (spex-<DATA_KEY of SPLAT>).", None, "meta.id;obs"),
    "pubdid": ("Publisher's dataset identifier (IVOA identifier).", None, "meta.ref.ivoid"),
    "data_key": ("SPLAT spectrum key (DATA_KEY).", None, "meta.id"),
    "source_key": ("SPLAT source key (SOURCE_KEY).", None, "meta.id;src"),
    "target_name": ("Name of the target (SPLAT NAME).", None, "meta.id;src"),
    "designation": ("2MASS-style designation of the target.", None, "meta.id;src"),
    "ra": ("Right ascension of the target, ICRS.", "deg", "pos.eq.ra;meta.main"),
    "dec": ("Declination of the target, ICRS.", "deg", "pos.eq.dec;meta.main"),
    "mjd": ("Observation date, MJD (SPLAT JULIAN_DATE).", "d", "time.epoch;obs"),
    "t_min": ("Start of the observation, MJD.", "d", "time.start;obs.exposure"),
    "t_max": ("End of the observation (start plus exposure time), MJD.", "d", "time.end;obs.exposure"),
    "exptime": ("Total integration time (FITS ITOT or ITIME), when known.", "s", "time.duration;obs.exposure"),
    "em_min": ("Shortest wavelength in the file.", "m", "em.wl;stat.min"),
    "em_max": ("Longest wavelength in the file.", "m", "em.wl;stat.max"),
    "n_points": ("Number of points of the spectrum.", None, "meta.number"),
    "resolution": ("Spectral resolving power lambda / delta lambda.", None, "spect.resolution"),
    "snr": ("Median signal-to-noise ratio.", None, "stat.snr"),
    "airmass": ("Airmass of the observation.", None, "obs.airMass"),
    "spectral_type": ("Spectral type from the SpeX spectrum (SPEX_TYPE).", None, "src.spType"),
    "nir_type": ("Near-infrared spectral type from the literature.", None, "src.spType"),
    "opt_type": ("Optical spectral type from the literature.", None, "src.spType"),
    "observer": ("Observer.", None, "meta.id.PI"),
    "program_pi": ("Principal investigator of the programme.", None, "meta.id.PI"),
    "bibcode": ("Bibcode of the publication of the spectrum.", None, "meta.bib.bibcode"),
    "quality_flag": ("SPLAT quality flag (OK, POOR, BG).", None, "meta.code.qual"),
    "flux_unit": ("Unit of the flux in the file (VOUnit); empty when the file does not say.", None, "meta.unit"),
    "file_name": ("Name of the FITS file in the SpeX Prism Library.", None, "meta.id;meta.file"),
    "file_size": ("Size of the uncompressed FITS file.", "byte", "phys.size;meta.file"),
    "title": ("Title of the spectrum.", None, "meta.title;meta.dataset"),
}


def spex_table_meta() -> TableMeta:
    """The TAP_SCHEMA metadata of ``spex.spectra``."""
    principal = {"obs_id", "target_name", "ra", "dec", "mjd", "em_min", "em_max", "spectral_type", "snr"}
    columns: dict[str, Any] = {
        name: ColumnMeta(description=desc, unit=unit, ucd=ucd, principal=name in principal)
        for name, (desc, unit, ucd) in _META.items()
    }
    return TableMeta(
        description=(
            "The SpeX Prism Library: near-infrared (0.65-2.55 um, R ~ 75-200) spectra of ultracool dwarfs "
            "taken with the prism of SpeX on the NASA IRTF, as distributed by SPLAT 1.14; one row per spectrum."
        ),
        columns=columns,
    )


def obscore_tap_service(**options: Any) -> TAPService:
    """A :class:`vostack.tap.TAPService` whose capabilities declare the ObsCore 1.1 data model.

    TAPRegExt 1.0 §2.2: a service publishing ``ivoa.obscore`` names ``ivo://ivoa.net/std/ObsCore#core-1.1``
    in ``dataModel``, which ObsTAP clients and taplint look for.
    """
    return TAPService(data_models=[DataModel(*OBSCORE_DATA_MODEL)], **options)
