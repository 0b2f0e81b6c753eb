"""Simple Cone Search 1.03 on the live demo with the clients people use: pyvo, STILTS, astroquery."""

from __future__ import annotations

import csv
import subprocess
from pathlib import Path

import pytest
import pyvo
from astropy import units
from astropy.coordinates import SkyCoord

from tests.catalogues import hipparcos_within

pytestmark = [pytest.mark.postgres, pytest.mark.interop]

CONES = [(56.75, 24.12, 1.0), (359.8, -1.5, 1.2), (10.0, -89.6, 1.0)]


def _cone_url(live_url: str) -> str:
    return live_url.removesuffix("/tap") + "/scs/hipparcos.main/?"  # the base URL as registered (SCS 1.03 §2)


@pytest.mark.parametrize(("ra", "dec", "sr"), CONES, ids=["pleiades", "ra-wrap", "south-pole"])
def test_pyvo_cone_search_returns_exactly_the_stars_astropy_finds(
    live_url: str, ra: float, dec: float, sr: float
) -> None:
    service = pyvo.dal.SCSService(_cone_url(live_url))
    results = service.search(pos=SkyCoord(ra * units.deg, dec * units.deg), radius=sr * units.deg)
    assert {str(h) for h in results.to_table()["hip"]} == hipparcos_within(ra, dec, sr)
    assert "_r" in results.fieldnames
    assert [row["hip"] for row in results][:1]  # records iterate, as pyvo users do


def test_pyvo_reads_the_cone_search_columns_and_its_errors(live_url: str) -> None:
    service = pyvo.dal.SCSService(_cone_url(live_url))
    names = [column.name for column in service.columns]  # pyvo asks with SR=0 for the metadata
    assert names[:3] == ["hip", "ra", "dec"]
    with pytest.raises(pyvo.dal.DALQueryError, match="the search radius must lie between 0 and 10"):
        service.search(pos=(10, 5), radius=0.1, sr=-1)  # a keyword overrides what pyvo checked


def test_stilts_cone_gets_the_same_stars(live_url: str, tmp_path: Path) -> None:
    out = tmp_path / "cone.csv"
    ra, dec, sr = CONES[0]
    done = subprocess.run(
        ["stilts", "cone", f"serviceurl={_cone_url(live_url)}", f"lon={ra}", f"lat={dec}", f"radius={sr}",
         "verb=3", "ofmt=csv", f"out={out}"],
        check=False, capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert done.returncode == 0, done.stdout + done.stderr
    with out.open(newline="") as fh:
        rows = list(csv.DictReader(fh))
    assert {r["hip"] for r in rows} == hipparcos_within(ra, dec, sr)
    assert "plx" in rows[0]  # verb=3: every column


def test_astroquery_conesearch_gets_the_same_stars(live_url: str) -> None:
    from astroquery.vo_conesearch import ConeSearch

    ra, dec, sr = CONES[0]
    table = ConeSearch.query_region(
        SkyCoord(ra * units.deg, dec * units.deg), sr * units.deg, service_url=_cone_url(live_url), cache=False
    )
    assert {str(h) for h in table["hip"]} == hipparcos_within(ra, dec, sr)
