"""Light curves read from FITS tables built here (the demo's real files are checked in tests/interop/test_sia.py):
what each layout gives, and a clear error for a file that holds none."""

from __future__ import annotations

import io

import numpy as np
import pytest
from astropy.io import fits
from astropy.time import Time

from vostack.sia import ImageError, describe_series, read_series


def _kepler_like(*, unit: str = "BJD - 2457000, days", header: dict[str, object] | None = None) -> bytes:
    days = np.array([1.0, 1.5, np.nan, 2.0])
    flux = np.arange(4 * 4, dtype=np.float32).reshape(4, 2, 2)
    table = fits.BinTableHDU.from_columns([
        fits.Column("TIME", "D", unit=unit, array=days),
        fits.Column("FLUX", "4E", dim="(2,2)", unit="e-/s", array=flux),
    ])  # fmt: skip
    table.header.update(header or {})
    primary = fits.PrimaryHDU()
    primary.header.update({"TELESCOP": "TESS", "RA_OBJ": 10.0, "DEC_OBJ": -5.0})
    out = io.BytesIO()
    fits.HDUList([primary, table]).writeto(out)
    return out.getvalue()


def test_one_row_a_sample_in_bjd_offsets_sums_the_stamp() -> None:
    series = read_series(_kepler_like())
    assert (series.timescale, series.refposition) == ("TDB", "BARYCENTER")
    np.testing.assert_allclose(series.mjd, 2457000 - 2400000.5 + np.array([1.0, 1.5, 2.0]))
    np.testing.assert_allclose(series.channels[0][2], [0 + 1 + 2 + 3, 4 + 5 + 6 + 7, 12 + 13 + 14 + 15])
    record = describe_series(_kepler_like())
    assert (record.dataproduct_type, record.t_xel, record.s_ra, record.s_dec) == ("timeseries", 3, 10.0, -5.0)
    assert record.t_resolution == pytest.approx(0.5 * 86400)
    assert (record.em_min, record.em_max) == (600e-9, 1000e-9)  # TESS's band


def test_bjdrefi_and_timesys_of_the_header_win() -> None:
    data = _kepler_like(unit="d", header={"BJDREFI": 2454833, "BJDREFF": 0.5, "TIMESYS": "TT", "TIMEREF": "LOCAL"})
    series = read_series(data)
    assert (series.timescale, series.refposition) == ("TT", "TOPOCENTER")
    assert series.mjd[0] == pytest.approx(2454833.5 - 2400000.5 + 1.0)


def test_one_row_of_arrays_after_date_obs_with_channel_edges() -> None:
    seconds = np.array([0.0, 2.0, 4.0])
    flux = np.array([[1e-7, 1e-9], [2e-7, 2e-9], [3e-7, 3e-9]])  # (samples, channels), as GOES files hold them
    fluxes = fits.BinTableHDU.from_columns([
        fits.Column("TIME", "3D", unit="s", array=seconds[None]),
        fits.Column("FLUX", "6E", dim="(2,3)", unit="W/m**2", array=flux[None]),
    ], name="FLUXES")  # fmt: skip
    edges = fits.BinTableHDU.from_columns(
        [fits.Column("EDGES", "4E", dim="(2,2)", unit="angstrom", array=np.array([[[1.0, 8.0], [0.5, 4.0]]]))],
        name="EDGES",
    )
    primary = fits.PrimaryHDU()
    primary.header.update({"DATE-OBS": "07/06/2011", "TIME-OBS": "00:00:00.000", "TELESCOP": "GOES 15",
                           "OBJECT": "Sun"})  # fmt: skip
    out = io.BytesIO()
    fits.HDUList([primary, edges, fluxes]).writeto(out)
    series = read_series(out.getvalue())
    assert series.timescale == "UTC"
    np.testing.assert_allclose(series.mjd, Time("2011-06-07").mjd + seconds / 86400)
    assert [name for name, _, _ in series.channels] == ["flux_1_8A", "flux_0p5_4A"]
    np.testing.assert_allclose(series.channels[1][2], [1e-9, 2e-9, 3e-9], rtol=1e-6)
    record = describe_series(out.getvalue())
    assert record.em_min == pytest.approx(0.5e-10) and record.em_max == pytest.approx(8e-10)
    assert record.frame == "helioprojective" and record.target_name == "Sun"


def test_a_file_without_a_light_curve_is_refused_with_the_reason() -> None:
    out = io.BytesIO()
    fits.HDUList([fits.PrimaryHDU(np.zeros((4, 4)))]).writeto(out)
    with pytest.raises(ImageError, match="no binary table with TIME and FLUX"):
        read_series(out.getvalue())
    with pytest.raises(ImageError, match="origin of the TIME column is unknown"):
        read_series(_kepler_like(unit="d"))
