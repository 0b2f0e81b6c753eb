"""Simple Cone Search 1.03 over Hipparcos on the real database, checked against astropy on the catalogue file."""

from __future__ import annotations

import io
from collections.abc import AsyncIterator
from typing import Any

import httpx
import numpy as np
import pytest
from astropy.io.votable import parse
from lxml import etree
from starlette.applications import Starlette
from starlette.routing import Mount

from tests.catalogues import hipparcos_within
from tests.schemata import validator
from vostack import db
from vostack.dali import Params
from vostack.errors import VOError
from vostack.scs import SCS_FORMATS, SCSService, parse_cone_request
from vostack.tap import TAPService

pytestmark = pytest.mark.postgres


@pytest.fixture(scope="module")
async def scs(tap: TAPService, pool: db.Pool) -> AsyncIterator[SCSService]:
    service = SCSService(tap=tap, table="hipparcos.main", max_sr=10)
    await service.start(pool)
    yield service
    await service.stop()


@pytest.fixture
async def cone(scs: SCSService) -> AsyncIterator[httpx.AsyncClient]:
    app = Starlette(routes=[Mount("/scs", scs)])
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://testserver") as client:
        yield client


def votable(data: bytes) -> Any:
    return parse(io.BytesIO(data), verify="exception")


@pytest.mark.parametrize(
    ("ra", "dec", "sr"),
    [(56.75, 24.12, 1.5), (0.2, -5.0, 2.0), (359.9, 10.0, 1.0), (120.0, 89.5, 2.0), (266.4, -29.0, 0.8)],
    ids=["pleiades", "ra-0-wrap-east", "ra-360-wrap-west", "north-pole", "galactic-centre"],
)
async def test_a_cone_returns_exactly_the_stars_astropy_finds_within_it_nearest_first(
    cone: httpx.AsyncClient, ra: float, dec: float, sr: float
) -> None:
    response = await cone.get("/scs/", params={"RA": ra, "DEC": dec, "SR": sr, "VERB": 1})
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/xml")
    table = votable(response.content).get_first_table()
    rows = table.array
    expected = hipparcos_within(ra, dec, sr)
    assert expected  # every cone here has stars
    assert {str(h) for h in rows["hip"]} == expected
    distances = np.asarray(rows["_r"])
    assert np.all(np.diff(distances) >= 0)  # nearest first
    assert distances.max() <= sr


async def test_the_response_is_one_results_resource_with_the_main_id_as_a_string_and_the_main_position(
    cone: httpx.AsyncClient,
) -> None:
    response = await cone.get("/scs/", params={"RA": "56.75", "DEC": "24.12", "SR": "0.5"})
    document = votable(response.content)
    (resource,) = document.resources
    assert resource.type == "results"
    (table,) = resource.tables
    fields = {f.ucd: f for f in table.fields}
    assert fields["meta.id;meta.main"].datatype == "char"  # SCS 1.03 §2: an array of characters
    assert fields["pos.eq.ra;meta.main"].datatype == "double"
    assert fields["pos.eq.dec;meta.main"].datatype == "double"
    assert [f.ucd for f in table.fields].count("meta.id;meta.main") == 1


async def test_verbosity_chooses_the_main_the_principal_or_all_columns(
    cone: httpx.AsyncClient, tap: TAPService
) -> None:
    table = tap.tableset.table("hipparcos.main")
    assert table is not None
    names = {}
    for verb in (1, 2, 3):
        response = await cone.get("/scs/", params={"RA": 10, "DEC": 10, "SR": 1, "VERB": verb})
        names[verb] = [f.name for f in votable(response.content).get_first_table().fields]
    assert names[1] == ["hip", "ra", "dec", "_r"]
    assert names[2] == [c.identifier for c in table.columns if c.principal] + ["_r"]
    assert names[3] == [c.identifier for c in table.columns] + ["_r"]
    default = await cone.get("/scs/", params={"RA": 10, "DEC": 10, "SR": 1})
    assert [f.name for f in votable(default.content).get_first_table().fields] == names[2]  # no VERB: as VERB=2


async def test_maxrec_cuts_the_nearest_rows_and_says_overflow(cone: httpx.AsyncClient) -> None:
    full = votable((await cone.get("/scs/", params={"RA": 56.75, "DEC": 24.12, "SR": 2})).content)
    cut = votable((await cone.get("/scs/", params={"RA": 56.75, "DEC": 24.12, "SR": 2, "MAXREC": 5})).content)
    assert list(cut.get_first_table().array["hip"]) == list(full.get_first_table().array["hip"][:5])
    assert [i.value for i in cut.resources[0].infos if i.name == "QUERY_STATUS"][-1] == "OVERFLOW"
    empty = votable((await cone.get("/scs/", params={"RA": 56.75, "DEC": 24.12, "SR": 0})).content)
    assert len(empty.get_first_table().array) == 0 and len(empty.get_first_table().fields) > 3  # metadata only


async def test_responseformat_gives_the_other_dali_formats(cone: httpx.AsyncClient) -> None:
    response = await cone.get("/scs/", params={"RA": 56.75, "DEC": 24.12, "SR": 0.3, "RESPONSEFORMAT": "csv"})
    assert response.status_code == 200 and response.headers["content-type"].startswith("text/csv")
    assert response.text.splitlines()[0].split(",")[:3] == ["hip", "ra", "dec"]


@pytest.mark.parametrize(
    ("params", "words"),
    [
        ({"DEC": "10", "SR": "1"}, "RA is missing"),
        ({"RA": "10", "SR": "1"}, "DEC is missing"),
        ({"RA": "10", "DEC": "10"}, "SR is missing"),
        ({"RA": "10", "DEC": "10", "SR": "-0.1"}, "SR=-0.1 is out of range"),
        ({"RA": "10", "DEC": "10", "SR": "11"}, "MaxSR"),
        ({"RA": "361", "DEC": "10", "SR": "1"}, "between 0 and 360"),
        ({"RA": "-1", "DEC": "10", "SR": "1"}, "between 0 and 360"),
        ({"RA": "10", "DEC": "-91", "SR": "1"}, "between -90 and 90"),
        ({"RA": "10", "DEC": "90.5", "SR": "1"}, "between -90 and 90"),
        ({"RA": "as3f", "DEC": "10", "SR": "1"}, "RA must be a number"),
        ({"RA": "nan", "DEC": "10", "SR": "1"}, "out of range"),
        ({"RA": "10", "DEC": "10", "SR": "1", "VERB": "4"}, "VERB must be 1, 2 or 3"),
        ({"RA": "10", "DEC": "10", "SR": "1", "MAXREC": "-1"}, "MAXREC must be at least 0"),
        ({"RA": "10", "DEC": "10", "SR": "1", "RESPONSEFORMAT": "pdf"}, "RESPONSEFORMAT"),
    ],
)
async def test_bad_input_is_the_scs_error_votable(cone: httpx.AsyncClient, params: dict[str, str], words: str) -> None:
    response = await cone.get("/scs/", params=params)
    assert response.status_code == 400
    document = votable(response.content)
    (error,) = [i for i in document.infos if i.name == "Error"]  # SCS 1.03 §2: INFO name="Error" under VOTABLE
    assert words in error.value
    status = [i for i in document.resources[0].infos if i.name == "QUERY_STATUS"]
    assert status[0].value == "ERROR" and words in str(status[0].content)


async def test_the_cone_query_uses_the_spatial_index(pool: db.Pool, scs: SCSService) -> None:
    request = parse_cone_request(
        Params([("RA", "56.75"), ("DEC", "24.12"), ("SR", "0.5")]),
        maxrec=100,
        hardlimit=100,
        max_sr=10,
        formats=SCS_FORMATS,
    )
    from vostack.scs.service import ConeTranslator

    sql = ConeTranslator(scs.tap.tableset, scs.columns).translate(scs.columns.query(request), row_limit=101).sql
    async with pool.acquire() as conn:
        plan = "\n".join(r[0] for r in await conn.fetch(f"EXPLAIN {sql}"))
    assert "main_spoint_idx" in plan and "Seq Scan" not in plan, plan


async def test_capabilities_declare_the_cone_search_and_validate(cone: httpx.AsyncClient) -> None:
    response = await cone.get("/scs/capabilities")
    validator("VOSICapabilities.xsd")(response.content)
    root = etree.fromstring(response.content)
    (capability,) = [c for c in root.iter("capability") if c.get("standardID") == "ivo://ivoa.net/std/ConeSearch"]
    assert capability.findtext("maxSR") == "10"
    assert capability.findtext("interface/accessURL") == "http://testserver/scs/?"  # SCS 1.03 §2: ends in ?
    availability = await cone.get("/scs/availability")
    assert b"<vosi:available>true</vosi:available>" in availability.content


async def test_a_table_without_a_main_position_is_refused_at_start(tap: TAPService, pool: db.Pool) -> None:
    service = SCSService(tap=tap, table="tap_schema.tables")
    with pytest.raises(VOError, match=r"no columns with the UCD meta\.id;meta\.main"):
        await service.start(pool)
