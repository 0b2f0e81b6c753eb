"""Spectra read from FITS files (FITS 4.0), for product stores set up without Python (``[ssa.spectrum]``).

Two layouts cover most archives of 1-D spectra:

* ``"table"``: a binary table (FITS 4.0 §7.3), one row per point, with named columns for the spectral
  coordinate, the flux and optionally its error; units from the columns' ``TUNITn`` unless given.
* ``"rows"``: an image whose rows are the spectral coordinate, the flux and optionally the error (the
  layout of the SpeX Prism Library and many IDL pipelines); an N x 3 image is read transposed and a stack
  of such images (per aperture or order) gives its first.  Units must be given.
"""

from __future__ import annotations

import io
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from vostack.ssa.spectrum import Spectrum

__all__ = ["LAYOUTS", "FitsSpectrum", "spectrum_rows"]

LAYOUTS = ("table", "rows")


def spectrum_rows(array: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray | None]:
    """Spectral coordinates, flux and error (or ``None``) of an image of rows, at the points with a valid
    positive spectral coordinate.  Raises ``ValueError`` for any other shape."""
    if array.ndim == 3:
        array = array[0]  # per aperture or order: the first
    if array.ndim != 2:
        raise ValueError(f"a spectrum must be a 2-D array, not {array.shape}")
    if array.shape[0] > array.shape[1]:
        array = array.T
    if array.shape[0] < 2:
        raise ValueError(f"a spectrum needs spectral and flux rows, not {array.shape}")
    spectral = array[0]
    good = np.isfinite(spectral) & (spectral > 0)
    if good.sum() < 2:
        raise ValueError("no valid spectral coordinates")
    return spectral[good], array[1][good], array[2][good] if array.shape[0] >= 3 else None


def _unit(unit: str | None) -> str | None:
    """A column's ``TUNITn`` as written (FITS 4.0 §4.3 units are VOUnits too, but for a few spellings)."""
    return unit.strip() if unit and unit.strip() else None


def _floats(values: Sequence[float] | np.ndarray) -> list[float]:
    return [float(v) for v in np.asarray(values, dtype=np.float64)]


@dataclass(frozen=True, slots=True)
class FitsSpectrum:
    """Reads a :class:`vostack.ssa.Spectrum` from the bytes of a FITS file (a ``read_spectrum`` callable).

    Parameters
    ----------
    layout
        ``"table"`` or ``"rows"`` (see the module).
    spectral, flux, error
        The table's column names (``"table"``); ``error`` is optional.
    spectral_unit, flux_unit
        VOUnits of the spectral coordinate and the flux; for a table they replace its ``TUNITn``.
    spectral_ucd, flux_ucd
        Their UCDs (wavelengths and flux densities per wavelength by default).
    """

    layout: str = "table"
    spectral: str | None = None
    flux: str | None = None
    error: str | None = None
    spectral_unit: str | None = None
    flux_unit: str | None = None
    spectral_ucd: str = "em.wl"
    flux_ucd: str = "phot.flux.density;em.wl"

    def __post_init__(self) -> None:
        if self.layout not in LAYOUTS:
            raise ValueError(f"layout is one of {', '.join(LAYOUTS)}, not {self.layout!r}")
        if self.layout == "table" and not (self.spectral and self.flux):
            raise ValueError('a "table" layout names its spectral and flux columns')
        if self.layout == "rows" and not self.spectral_unit:
            raise ValueError('a "rows" layout needs spectral_unit (an image has no column units)')

    def __call__(self, data: bytes) -> Spectrum:
        """The spectrum in the FITS file ``data``; ``ValueError`` when the file does not hold one so."""
        from astropy.io import fits

        try:
            with fits.open(io.BytesIO(data), memmap=False) as hdus:
                if self.layout == "rows":
                    return self._rows(np.asarray(hdus[0].data, dtype=np.float64))
                return self._table(hdus)
        except OSError as exc:
            raise ValueError(f"not a FITS file astropy reads: {exc}") from None

    def _rows(self, array: np.ndarray) -> Spectrum:
        spectral, flux, error = spectrum_rows(array)
        return Spectrum(
            spectral=_floats(spectral),
            flux=_floats(flux),
            error=None if error is None else _floats(error),
            spectral_unit=str(self.spectral_unit),
            flux_unit=self.flux_unit,
            spectral_ucd=self.spectral_ucd,
            flux_ucd=self.flux_ucd,
        )

    def _table(self, hdus: object) -> Spectrum:
        from astropy.io import fits

        assert isinstance(hdus, fits.HDUList)
        wanted = [n for n in (self.spectral, self.flux, self.error) if n]
        for hdu in hdus:
            if isinstance(hdu, fits.BinTableHDU) and all(name in hdu.columns.names for name in wanted):
                columns = hdu.columns
                rows = hdu.data
                break
        else:
            raise ValueError(f"no binary table with the columns {', '.join(wanted)}")
        assert self.spectral is not None and self.flux is not None
        spectral = np.asarray(rows[self.spectral], dtype=np.float64).ravel()
        good = np.isfinite(spectral)
        unit = self.spectral_unit or _unit(columns[self.spectral].unit)
        if unit is None:
            raise ValueError(f"the column {self.spectral} has no unit (TUNITn): give spectral_unit")
        return Spectrum(
            spectral=_floats(spectral[good]),
            flux=_floats(np.asarray(rows[self.flux], dtype=np.float64).ravel()[good]),
            error=_floats(np.asarray(rows[self.error], dtype=np.float64).ravel()[good]) if self.error else None,
            spectral_unit=unit,
            flux_unit=self.flux_unit or _unit(columns[self.flux].unit),
            spectral_ucd=self.spectral_ucd,
            flux_ucd=self.flux_ucd,
        )
