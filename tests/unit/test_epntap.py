"""EPN-TAP 2.0 mappings without a database: the checks at construction, the view, the TAP metadata, TOML."""

from __future__ import annotations

from typing import Any

import pytest
from astropy.io.votable.ucd import check_ucd

from vostack.config import ConfigError
from vostack.demo.planetary import collections
from vostack.epntap import (
    EPN_UTYPE,
    MANDATORY,
    EPNCollection,
    MappingError,
    ProductLinks,
    collection_from_toml,
    frame_columns,
)

REQUIRED = {
    "granule_uid": "id", "granule_gid": "'g'", "obs_id": "id", "dataproduct_type": "'ci'",
    "target_class": "'asteroid'", "creation_date": "d", "modification_date": "d", "release_date": "d",
}  # fmt: skip


def _collection(**changes: Any) -> EPNCollection:
    fields: dict[str, Any] = {
        "schema": "rocks",
        "source": "my.rocks",
        "title": "Rocks",
        "description": "Some rocks.",
        "columns": dict(REQUIRED),
        "constants": {"spatial_frame_type": "none"},
    }
    fields.update(changes)
    return EPNCollection(**fields)


def test_a_minimal_mapping_gives_every_mandatory_column_in_order() -> None:
    collection = _collection()
    sql = collection.view_sql()
    positions = [sql.index(f'AS "{c.name}"') for c in MANDATORY]
    assert positions == sorted(positions)
    assert "CAST('rocks' AS text) AS \"service_title\"" in sql  # service_title is the schema name
    assert 'CAST(NULL AS double precision) AS "time_min"' in sql and 'NULL::spoint AS "s_region"' in sql
    meta = collection.table_meta()
    assert meta.utype == EPN_UTYPE
    assert meta.columns["time_min"].unit == "d" and meta.columns["time_min"].ucd == "time.start;obs"
    assert meta.columns["c1min"].ucd is None  # frame "none": no unit, no UCD


@pytest.mark.parametrize(
    ("changes", "words"),
    [
        (
            {"columns": {k: v for k, v in REQUIRED.items() if k != "target_class"}},
            "missing required parameter(s): target_class",
        ),
        ({"constants": {"spatial_frame_type": "none", "dataproduct_type": "image"}}, "dataproduct_type 'image' is not"),
        ({"columns": {**REQUIRED, "c1min": "x"}}, "c1min and c1max go together"),
        ({"columns": {**REQUIRED, "colour": "x"}}, "not EPNCore parameters: colour"),
        ({"constants": {"spatial_frame_type": "planetographic"}}, "spatial_frame_type must be a constant"),
        (
            {"columns": {**REQUIRED, "spatial_frame_type": "f"}, "constants": {}},
            "spatial_frame_type must be a constant",
        ),
        ({"constants": {"spatial_frame_type": "none", "service_title": "stones"}}, "service_title must be the schema"),
        ({"constants": {"spatial_frame_type": "none", "processing_level": 4}}, "processing_level 4 is not one of"),
        ({"columns": {**REQUIRED, "s_region": "r"}}, "s_region is for the celestial and body frames"),
        ({"columns": {**REQUIRED, "access_url": "u"}}, "access_url needs access_format and access_estsize"),
        ({"constants": {"spatial_frame_type": "none", "time_min": "soon", "time_max": 2.0}}, "time_min is double"),
        ({"schema": "Rocks"}, "must be a lower-case identifier"),
    ],
)
def test_a_wrong_mapping_is_one_error_naming_the_columns(changes: dict[str, Any], words: str) -> None:
    with pytest.raises(MappingError) as raised:
        _collection(**changes)
    assert words in raised.value.message


def test_several_problems_come_in_one_error() -> None:
    with pytest.raises(MappingError) as raised:
        _collection(columns={"granule_uid": "id"}, constants={"spatial_frame_type": "none", "target_class": "moon"})
    message = raised.value.message
    assert message.startswith("the EPN-TAP mapping of rocks.epn_core: ")
    assert "missing required parameter(s): granule_gid, obs_id, dataproduct_type" in message
    assert "target_class 'moon' is not" in message


def test_frames_give_the_units_and_ucds_of_table_3() -> None:
    body = frame_columns("body")
    assert body["c1min"] == ("deg", "pos.bodyrc.lon;stat.min")
    assert body["c3_resol_max"] == ("km", "pos.resolution;stat.max")
    assert frame_columns("celestial")["c3max"] == ("AU", "pos.distance;stat.max")
    assert frame_columns("cartesian")["c2_resol_min"] == ("km", "pos.resolution;stat.min")
    assert frame_columns("spherical")["c3_resol_min"] == ("deg", "pos.angResolution;stat.min")
    with pytest.raises(ValueError, match="not one of"):
        frame_columns("galactic")


def test_the_demo_collections_are_declared_in_toml() -> None:
    gazetteer, oec, sbdb, maps = collections()
    assert [(c.table, c.frame) for c in (gazetteer, oec, sbdb, maps)] == [
        ("gazetteer.epn_core", "body"), ("oec.epn_core", "celestial"), ("sbdb.epn_core", "none"),
        ("surface_maps.epn_core", "body"),
    ]  # fmt: skip
    assert "exoplanet-astronomy" in oec.subjects and oec.source_reference == "2012arXiv1211.7121R"
    assert maps.constants["dataproduct_type"] == "im" and maps.products == ProductLinks(
        "maps", "file_name", "file_size", thumbnails=True
    )


def test_every_ucd_of_the_demo_collections_is_a_valid_ucd1plus() -> None:
    for collection in collections():
        for name, column in collection.table_meta().columns.items():
            if column.ucd is not None:
                assert check_ucd(column.ucd, check_controlled_vocabulary=True), f"{collection.table}.{name}"


def _served(**changes: Any) -> EPNCollection:
    links = ProductLinks("maps", "file_name", "file_size", thumbnails=True, url="http://h/products/maps/",
                         media_type="image/tiff")  # fmt: skip
    return _collection(products=links, **changes)


def test_product_links_give_access_url_format_size_file_name_and_thumbnail() -> None:
    collection = _served()
    sql = collection.view_sql()
    assert "'http://h/products/maps/' || replace(" in sql and 'AS "access_url"' in sql
    assert "|| '?preview' AS \"thumbnail_url\"" in sql
    assert 'CAST(ceil((file_size) / 1024.0) AS integer) AS "access_estsize"' in sql
    assert "CASE WHEN (file_name) IS NOT NULL THEN CAST('image/tiff' AS text) END AS \"access_format\"" in sql
    assert "regexp_replace((file_name), '^.*/', '') AS \"file_name\"" in sql
    meta = collection.table_meta().columns
    assert meta["access_estsize"].unit == "kbyte" and meta["thumbnail_url"].ucd == "meta.ref.url;meta.preview"
    unserved = _collection(products=ProductLinks("maps", "file_name", "file_size"))
    assert "thumbnail_url" not in unserved.table_meta().columns
    with pytest.raises(MappingError, match="no product service publishes the store 'maps'"):
        unserved.view_sql()
    with pytest.raises(MappingError, match="given by the products and as column or constant: access_url"):
        _served(columns={**REQUIRED, "access_url": "u"})


def test_toml_products_are_checked() -> None:
    base = {"source": "s", "title": "t", "description": "d", "columns": dict(REQUIRED),
            "constants": {"spatial_frame_type": "none"}}  # fmt: skip
    collection = collection_from_toml("rocks", {**base, "products": {"store": "m", "path": "p", "size": "n"}})
    assert collection.products == ProductLinks("m", "p", "n")
    with pytest.raises(ConfigError, match=r"\[epntap.rocks\].products: size required"):
        collection_from_toml("rocks", {**base, "products": {"store": "m", "path": "p"}})
    with pytest.raises(ConfigError, match="thumbnails = 'yes' does not fit"):
        collection_from_toml(
            "rocks", {**base, "products": {"store": "m", "path": "p", "size": "n", "thumbnails": "yes"}}
        )


def test_toml_errors_name_the_collection() -> None:
    with pytest.raises(ConfigError, match=r"\[epntap.rocks\]: source is required"):
        collection_from_toml("rocks", {"title": "t", "description": "d"})
    with pytest.raises(ConfigError, match=r"\[epntap.rocks\].extra.x: type must be one of"):
        collection_from_toml(
            "rocks",
            {
                "source": "s",
                "title": "t",
                "description": "d",
                "extra": {"x": {"expression": "1", "type": "real", "ucd": "u"}},
            },
        )
