"""The facet API on the real tables: every count compared with the same count computed directly in SQL.

Hipparcos (categorical, numeric and position facets), the SpeX spectra (a date histogram of MJD days),
the gazetteer (an EPN-TAP collection in a body frame) and the demo's private project (a table and a column
only some groups see), published by one TAP service with the demo's ``[facets]`` (``vostack/demo/search.toml``).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import math
from collections import Counter
from collections.abc import AsyncIterator
from typing import Any

import httpx
import numpy as np
import pytest
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.routing import Mount

from vostack import Site, db, web
from vostack.auth import ANONYMOUS, Auth, Identity, StaticTokens
from vostack.dali import Params
from vostack.demo import demo_config
from vostack.demo.planetary import collections
from vostack.demo.project import ensure_project, with_project
from vostack.demo.search import demo_searches
from vostack.demo.spex import spex_table_meta
from vostack.errors import AuthenticationError, PermissionDeniedError
from vostack.facets import Facet, FacetService, SearchConfig, parse_selection
from vostack.pages.density import ang2pix_nest
from vostack.publish import Publication, build_publication, with_collections

pytestmark = pytest.mark.postgres

ALICE = Identity.of("alice", ["consortium", "consortium-pi"])
MEMBER = Identity.of("mia", ["consortium"])  # in the project, not one of its PIs
BOB = Identity.of("bob", ["astronomers"])
TOKENS = {"alice-token-0123456789": ALICE, "bob-token-0123456789ab": BOB}


@pytest.fixture(scope="module")
async def publication(pool: db.Pool, hipparcos: None, planetary: None, spex: None) -> AsyncIterator[Publication]:
    await ensure_project(pool)
    demo = [c for c in collections() if c.products is None]  # no product files here: the maps' need a store
    config = with_project(with_collections(demo_config(), demo))
    config = dataclasses.replace(config, tables={**config.tables, "spex.spectra": spex_table_meta()})
    published = build_publication(config, collections=demo, searches=demo_searches())
    async with Site(services=published.services).serve(pool):
        yield published


@pytest.fixture
async def client(publication: Publication) -> AsyncIterator[httpx.AsyncClient]:
    routes = [Mount(f"/facets/{table}", service) for table, service in publication.facets.items()]
    auth = Auth.tokens(StaticTokens(TOKENS))
    app = Starlette(routes=routes, middleware=[Middleware(web.Authentication, auth=auth)])
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://testserver") as client:
        yield client


async def sql(pool: db.Pool, text: str) -> list[tuple[Any, ...]]:
    return await db.fetch_all(pool, text, statement_timeout=60)


async def counts(publication: Publication, table: str, *pairs: tuple[str, str], who: Identity = ANONYMOUS) -> Any:
    search = publication.facets[table].search
    view = await search.view(who)
    return await search.counts(who, parse_selection(Params(pairs), view.facets, sortable=search.sortable(view)))


def facet(answer: Any, name: str) -> Any:
    return next(f for f in answer["facets"] if f["name"] == name)


async def test_values_are_counted_under_the_other_facets_filters(publication: Publication, pool: db.Pool) -> None:
    answer = await counts(publication, "hipparcos.main", ("sn", "5"), ("hpmag", "5..7"))
    expected = dict(await sql(pool, "SELECT sn, count(*) FROM hipparcos.main WHERE hpmag >= 5 AND hpmag < 7 "
                                    "GROUP BY sn"))  # fmt: skip
    sn = facet(answer, "sn")
    assert {v["value"]: v["count"] for v in sn["values"]} == expected  # its own filter (sn = 5) left out
    assert sn["selected"] == ["5"] and sn["distinct"] == len(expected) and sn["other"] == 0
    va = dict(await sql(pool, "SELECT va, count(*) FROM hipparcos.main WHERE sn = 5 AND hpmag >= 5 AND hpmag < 7 "
                              "GROUP BY va"))  # fmt: skip
    assert {v["value"]: v["count"] for v in facet(answer, "va")["values"]} == va
    (total,) = await sql(pool, "SELECT count(*) FROM hipparcos.main WHERE sn = 5 AND hpmag >= 5 AND hpmag < 7")
    assert answer["total"] == total[0] == sum(va.values())


async def test_histogram_bins_hold_what_sql_counts(publication: Publication, pool: db.Pool) -> None:
    answer = await counts(publication, "hipparcos.main", ("sn", "5"), ("va", "0"))
    for name in ("hpmag", "b_v", "plx"):
        found = facet(answer, name)
        assert 10 <= len(found["bins"]) <= 42
        for item in found["bins"]:
            low = f"{name} >= {item['low']!r}" if item["low"] is not None else "true"
            high = f"{name} < {item['high']!r}" if item["high"] is not None else "true"
            ((count,),) = await sql(pool, f"SELECT count(*) FROM hipparcos.main WHERE sn = 5 AND va = 0 "
                                          f"AND {low} AND {high}")  # fmt: skip
            assert item["count"] == count, (name, item)
        ((null,),) = await sql(pool, f"SELECT count(*) FROM hipparcos.main WHERE sn = 5 AND va = 0 AND {name} IS NULL")
        assert found["null"] == null
        assert sum(b["count"] for b in found["bins"]) + null == answer["total"]


async def test_the_bins_stay_put_while_filtering(publication: Publication) -> None:
    everything = facet(await counts(publication, "hipparcos.main"), "hpmag")
    filtered = facet(await counts(publication, "hipparcos.main", ("sn", "1")), "hpmag")
    assert [b["param"] for b in filtered["bins"] if b["low"] is not None and b["high"] is not None] == [
        b["param"] for b in everything["bins"] if b["low"] is not None and b["high"] is not None
    ]
    selected = facet(await counts(publication, "hipparcos.main", ("hpmag", everything["bins"][5]["param"])), "hpmag")
    assert selected["bins"] == everything["bins"]  # its own filter does not apply to it


async def test_the_density_map_is_pgsphere_s_healpix(publication: Publication, pool: db.Pool) -> None:
    answer = await counts(publication, "hipparcos.main", ("hpmag", "..6"))
    found = facet(answer, "position")
    order = found["order"]
    expected = await sql(
        pool,
        f"SELECT healpix_nest({order}, spoint(radians(ra), radians(dec))) AS c, count(*), "
        f"degrees(long(center_of_healpix_nest({order}, healpix_nest({order}, spoint(radians(ra), radians(dec)))))) "
        "FROM hipparcos.main WHERE hpmag < 6 GROUP BY c ORDER BY c",
    )
    assert found["cells"] == [r[0] for r in expected]
    assert found["counts"] == [r[1] for r in expected]
    assert found["lon"] == pytest.approx([r[2] for r in expected], abs=1e-4)
    assert sum(found["counts"]) == answer["total"]


async def test_a_cell_or_a_cone_selects_its_positions(publication: Publication, pool: db.Pool) -> None:
    cell = facet(await counts(publication, "hipparcos.main"), "position")["cells"][100]
    answer = await counts(publication, "hipparcos.main", ("position", f"cell:4:{cell}"))
    ((expected,),) = await sql(
        pool, f"SELECT count(*) FROM hipparcos.main WHERE healpix_nest(4, spoint(radians(ra), radians(dec))) = {cell}"
    )
    assert answer["total"] == expected > 0
    cone = await counts(publication, "hipparcos.main", ("position", "cone:56.75,24.12,1"))
    ((near,),) = await sql(pool, "SELECT count(*) FROM hipparcos.main WHERE spoint(radians(ra), radians(dec)) <@ "
                                 "scircle(spoint(radians(56.75), radians(24.12)), radians(1))")  # fmt: skip
    assert cone["total"] == near > 20  # the Pleiades


async def test_numpy_healpix_agrees_with_pgsphere(pool: db.Pool) -> None:
    rng = np.random.default_rng(11)
    lon, lat = rng.uniform(0, 360, 3000), np.degrees(np.arcsin(rng.uniform(-1, 1, 3000)))
    for order in (0, 3, 4, 7):
        rows = await sql(
            pool,
            f"SELECT healpix_nest({order}, spoint(radians(a), radians(b))) FROM unnest("
            f"ARRAY{lon.tolist()}::float8[], ARRAY{lat.tolist()}::float8[]) AS t(a, b)",
        )
        assert ang2pix_nest(order, lon, lat).tolist() == [r[0] for r in rows]


async def test_dates_are_counted_by_calendar_unit(publication: Publication, pool: db.Pool) -> None:
    answer = await counts(publication, "spex.spectra", ("snr", "50.."))
    found = facet(answer, "mjd")
    assert found["unit_of_time"] == "year"
    days = [r[0] for r in await sql(pool, "SELECT mjd FROM spex.spectra WHERE snr >= 50")]
    # the oracle: MJD to calendar years in Python
    years = Counter(dt.datetime(1858, 11, 17) + dt.timedelta(days=d) for d in days)
    by_year: Counter[str] = Counter()
    for when, n in years.items():
        by_year[f"{when.year}-01-01T00:00:00"] += n
    assert {b["start"]: b["count"] for b in found["bins"]} == dict(by_year)
    first = found["bins"][0]
    assert first["param"] == f"{first['start'][:10]}..{first['end'][:10]}"
    again = await counts(publication, "spex.spectra", ("mjd", first["param"]), ("snr", "50.."))
    assert again["total"] == first["count"]


async def test_julian_dates_of_the_small_bodies(publication: Publication, pool: db.Pool) -> None:
    answer = await counts(publication, "sbdb.epn_core", ("target_class", "comet"))
    found = facet(answer, "time_min")
    days = [r[0] for r in await sql(pool, "SELECT time_min FROM sbdb.epn_core WHERE target_class = 'comet'")]
    assert found["null"] == sum(d is None for d in days)

    # the oracle: each bin's dates as JD in Python, then the days counted; one comet passed in 147 BC, before
    # Python's datetimes: it is in the open bin before the first
    def jd(iso: str | None, default: float) -> float:
        when = dt.datetime.fromisoformat(iso) if iso is not None else None
        return default if when is None else (when - dt.datetime(1858, 11, 17)) / dt.timedelta(days=1) + 2400000.5

    known = [d for d in days if d is not None]
    for item in found["bins"]:
        start, end = jd(item["start"], -math.inf), jd(item["end"], math.inf)
        assert item["count"] == sum(start <= d < end for d in known), item
    assert found["bins"][0]["start"] is None and found["bins"][0]["param"].startswith("..0001-01-01")
    assert sum(b["count"] for b in found["bins"]) == len(known) > 1000
    busiest = max(found["bins"], key=lambda b: b["count"])
    again = await counts(publication, "sbdb.epn_core", ("time_min", busiest["param"]), ("target_class", "comet"))
    assert again["total"] == busiest["count"]
    classes = dict(await sql(pool, "SELECT dynamical_class, count(*) FROM sbdb.epn_core WHERE target_class = 'comet' "
                                   "GROUP BY 1"))  # fmt: skip
    assert {v["value"]: v["count"] for v in facet(answer, "dynamical_class")["values"]} == classes


async def test_a_body_frame_collection(publication: Publication, pool: db.Pool) -> None:
    answer = await counts(publication, "gazetteer.epn_core", ("target_name", "Mars"), ("target_region", "crater"))
    bodies = dict(await sql(pool, "SELECT target_name, count(*) FROM gazetteer.epn_core WHERE target_region = 'crater' "
                                  "GROUP BY 1 ORDER BY 2 DESC LIMIT 20"))  # fmt: skip
    assert {v["value"]: v["count"] for v in facet(answer, "target_name")["values"]} == bodies
    position = facet(answer, "position")
    assert position["frame"] == "body" and sum(position["counts"]) == answer["total"] == bodies["Mars"]


async def test_rows_page_by_page_in_order(publication: Publication, pool: db.Pool) -> None:
    search = publication.facets["hipparcos.main"].search
    view = await search.view(ANONYMOUS)
    selection = parse_selection(Params([("sn", "5"), ("sort", "hpmag"), ("desc", "1"), ("offset", "50")]),
                                view.facets, sortable=search.sortable(view))  # fmt: skip
    page = await search.rows(ANONYMOUS, selection)
    expected = await sql(pool, "SELECT hip FROM hipparcos.main WHERE sn = 5 ORDER BY hpmag DESC, hip "
                               "LIMIT 50 OFFSET 50")  # fmt: skip
    assert [r[0] for r in page.rows] == [r[0] for r in expected] and page.more and page.offset == 50
    assert [f.name for f in page.fields] == list(view.columns) and page.fields[3].unit == "mag"


async def test_the_adql_reproduces_the_selection(publication: Publication, pool: db.Pool) -> None:
    answer = await counts(publication, "hipparcos.main", ("sn", "5"), ("va", "1"), ("hpmag", "5..9"),
                          ("position", "cone:83.8,-5.4,20"))  # fmt: skip
    translated = publication.tap.translator_for(ANONYMOUS).translate(answer["adql"])
    ((count,),) = await sql(pool, f"SELECT count(*) FROM ({translated.sql}) AS s")
    assert count == answer["total"] > 0


async def test_private_tables_and_columns(publication: Publication, pool: db.Pool) -> None:
    search = publication.facets["consortium.targets"].search
    with pytest.raises(AuthenticationError):
        await search.view(ANONYMOUS)
    with pytest.raises(PermissionDeniedError):
        await search.view(BOB)
    pi = await counts(publication, "consortium.targets", ("plx", "200.."), who=ALICE)
    expected = dict(await sql(pool, "SELECT priority, count(*) FROM consortium.targets WHERE plx >= 200 GROUP BY 1"))
    assert {v["value"]: v["count"] for v in facet(pi, "priority")["values"]} == expected
    member = await counts(publication, "consortium.targets", ("plx", "200.."), ("priority", "1"), who=MEMBER)
    assert "priority" not in [f["name"] for f in member["facets"]]  # a column the member may not see
    assert member["total"] == pi["total"]  # and its filter is no filter for them
    rows = await search.rows(MEMBER, parse_selection(Params([]), (await search.view(MEMBER)).facets))
    assert "priority" not in [f.name for f in rows.fields]  # a result column of the search, hidden from them
    theirs = await search.rows(ALICE, parse_selection(Params([]), (await search.view(ALICE)).facets))
    assert "priority" in [f.name for f in theirs.fields]


async def test_the_json_api(client: httpx.AsyncClient) -> None:
    described = (await client.get("/facets/hipparcos.main/")).json()
    assert [f["name"] for f in described["facets"]] == ["sn", "va", "hpmag", "b_v", "plx", "position"]
    assert "hpmag" in described["sortable"] and described["columns"][3]["unit"] == "mag"
    answer = await client.get("/facets/hipparcos.main/facets", params={"sn": "5", "hpmag": "5..7"})
    assert answer.status_code == 200 and answer.headers["content-type"] == "application/json"
    assert answer.json()["params"] == [["sn", "5"], ["hpmag", "5..7"]]
    rows = (await client.get("/facets/hipparcos.main/rows", params={"sn": "5", "limit": "3"})).json()
    assert len(rows["rows"]) == 3 and rows["more"] and rows["fields"][0]["name"] == "hip"
    bad = await client.get("/facets/hipparcos.main/facets", params={"hpmag": "bright"})
    assert bad.status_code == 400 and "hpmag" in bad.json()["error"]
    assert (await client.get("/facets/hipparcos.main/rows", params={"limit": "0"})).status_code == 400
    assert (await client.get("/facets/consortium.targets/facets")).status_code == 401
    bob = {"Authorization": "Bearer bob-token-0123456789ab"}
    assert (await client.get("/facets/consortium.targets/facets", headers=bob)).status_code == 403
    alice = {"Authorization": "Bearer alice-token-0123456789"}
    mine = await client.get("/facets/consortium.targets/facets", headers=alice)
    assert mine.status_code == 200 and mine.headers["x-vo-authenticated"] == "alice"


async def test_a_search_of_a_missing_column_does_not_start(publication: Publication, pool: db.Pool) -> None:
    config = SearchConfig(table="hipparcos.main", facets=(Facet.numeric("no_such_column"),))
    service = FacetService(search=config.search(publication.tap))
    with pytest.raises(Exception, match="no_such_column"):
        await service.start(pool)


async def test_a_timestamp_column_by_calendar_unit(publication: Publication, pool: db.Pool) -> None:
    config = SearchConfig(table="oec.epn_core", facets=(Facet.time("release_date"),
                                                         Facet.categorical("discovery_method")))  # fmt: skip
    service = FacetService(search=config.search(publication.tap))
    await service.start(pool)
    try:
        search = service.search
        view = await search.view(ANONYMOUS)
        selection = parse_selection(Params([("discovery_method", "transit")]), view.facets)
        found = facet(await search.counts(ANONYMOUS, selection), "release_date")
        unit = found["unit_of_time"]
        expected = await sql(pool, f"SELECT date_trunc('{unit}', release_date), count(*) FROM oec.epn_core "
                                   "WHERE discovery_method = 'transit' GROUP BY 1")  # fmt: skip
        assert {b["start"]: b["count"] for b in found["bins"]} == {k.isoformat(): n for k, n in expected}
        assert len(found["bins"]) > 1
        first = found["bins"][0]
        again = await search.counts(ANONYMOUS, parse_selection(Params([("release_date", first["param"]),
                                                                        ("discovery_method", "transit")]),
                                                                view.facets))  # fmt: skip
        assert again["total"] == first["count"]
    finally:
        await service.stop()
