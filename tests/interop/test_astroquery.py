"""astroquery's generic TAP client (``astroquery.utils.tap.TapPlus``, the base of the ESA archive modules) over HTTP.

TapPlus speaks TAP its own way: ``FORMAT`` rather than RESPONSEFORMAT, multipart uploads, its own
UWS polling, error messages cut out of the VOTable error document.  What it reads must be what pyvo
reads.  (Its ``load_tables`` parses ESA's TAP+ extension attributes only, and its FITS reader needs a
gzip-encoded answer it never asks for, so neither is a TAP check.)
"""

from __future__ import annotations

import gc
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
import pyvo
from astropy.table import Table

pytestmark = [
    pytest.mark.postgres,
    pytest.mark.interop,
    # astroquery leaves http.client connections to the garbage collector
    pytest.mark.filterwarnings("ignore::ResourceWarning"),
    pytest.mark.filterwarnings("ignore::pytest.PytestUnraisableExceptionWarning"),
]

BRIGHTEST = "SELECT TOP 5 hip, ra, dec, hpmag FROM hipparcos.main ORDER BY hpmag"


@pytest.fixture
def tap(live_url: str) -> Iterator[object]:
    from astroquery.utils.tap.core import TapPlus

    yield TapPlus(url=live_url, verbose=False)
    gc.collect()  # its sockets, while the warning filters above apply


@pytest.fixture
def expected(live_url: str) -> Table:
    return pyvo.dal.TAPService(live_url).run_sync(BRIGHTEST).to_table()


@pytest.mark.parametrize("output_format", ["votable", "csv", "json"])
def test_launch_job_reads_the_rows_pyvo_reads(tap: object, expected: Table, output_format: str) -> None:
    result = tap.launch_job(BRIGHTEST, output_format=output_format).get_results()  # type: ignore[attr-defined]
    assert result["hip"].tolist() == expected["hip"].tolist()
    assert np.allclose(result["ra"], expected["ra"], rtol=0, atol=1e-12)
    if output_format != "csv":  # CSV has no units
        assert str(result["hpmag"].unit) == "mag"


def test_launch_job_async_runs_the_job_and_finds_it_again(tap: object, expected: Table) -> None:
    job = tap.launch_job_async(BRIGHTEST)  # type: ignore[attr-defined]
    assert job.get_phase() == "COMPLETED"
    assert job.get_results()["hip"].tolist() == expected["hip"].tolist()
    again = tap.load_async_job(jobid=job.jobid)  # type: ignore[attr-defined]
    assert again.get_results()["hip"].tolist() == expected["hip"].tolist()
    assert job.jobid in [j.jobid for j in tap.list_async_jobs()]  # type: ignore[attr-defined]


def test_an_uploaded_table_is_crossmatched(tap: object, expected: Table, tmp_path: Path) -> None:
    mine = Table({"id": np.arange(1, 6), "ra": expected["ra"] + 1 / 3600, "dec": expected["dec"]})
    mine.write(tmp_path / "mine.xml", format="votable")
    query = (
        "SELECT u.id, h.hip FROM TAP_UPLOAD.mine AS u JOIN hipparcos.main AS h "
        "ON 1 = CONTAINS(POINT('ICRS', h.ra, h.dec), CIRCLE('ICRS', u.ra, u.dec, 0.001)) ORDER BY u.id"
    )
    job = tap.launch_job(  # type: ignore[attr-defined]
        query, upload_resource=str(tmp_path / "mine.xml"), upload_table_name="mine"
    )
    result = job.get_results()
    assert list(zip(result["id"].tolist(), result["hip"].tolist(), strict=True)) == list(
        zip(range(1, 6), expected["hip"].tolist(), strict=True)
    )


@pytest.mark.parametrize("launch", ["launch_job", "launch_job_async"])
def test_an_adql_error_reaches_the_user_with_its_message(tap: object, launch: str) -> None:
    # (launch_job sends SELECT TOP 2000 nothing ...: TapPlus caps synchronous queries itself)
    column = 18 if launch == "launch_job" else 8
    with pytest.raises(Exception, match=rf"unknown column 'nothing' at line 1, column {column}\b"):
        getattr(tap, launch)("SELECT nothing FROM hipparcos.main")
