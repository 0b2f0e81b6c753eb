"""JSON and GeoJSON results, read back with the json module."""

from __future__ import annotations

import json
import math
from typing import Any

import pytest

from tests.unit.votable.format_helpers import FIELDS, INFOS, ROWS, TIMESTAMP_ROWS, timestamp_fields, write
from vostack.errors import ParameterError
from vostack.schema import Field
from vostack.votable import GeoJSONWriter


def expected(value: object) -> object:
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, list):
        return [expected(v) for v in value]
    return value


def test_json_rows_read_back_equal_the_input() -> None:
    doc = json.loads(write("json"))
    assert doc["data"] == [[expected(v) for v in row] for row in ROWS]
    assert doc["queryStatus"] == "OK"
    assert "message" not in doc


def test_json_carries_column_metadata_and_infos() -> None:
    doc = json.loads(write("json"))
    assert [c["name"] for c in doc["columns"]] == [f.name for f in FIELDS]
    ra = doc["columns"][1]
    assert (ra["datatype"], ra["unit"], ra["ucd"], ra["description"]) == (
        "double",
        "deg",
        "pos.eq.ra;meta.main",
        "Right ascension (ICRS)",
    )
    assert doc["columns"][7]["arraysize"] == "*"
    assert [(i["name"], i["value"]) for i in doc["infos"]] == [(n, v) for n, v, _ in INFOS]
    assert doc["metadata"] == doc["columns"]  # the name ESA's TAP+ JSON (and astroquery) use


def test_json_overflow_and_error_come_last() -> None:
    assert json.loads(write("json", overflow=True))["queryStatus"] == "OVERFLOW"
    doc = json.loads(write("json", overflow=True, error='timeout "at" 10 s'))
    assert (doc["queryStatus"], doc["message"]) == ("ERROR", 'timeout "at" 10 s')
    assert list(doc)[-2:] == ["queryStatus", "message"]


def test_json_empty_result_and_empty_batches() -> None:
    doc = json.loads(write("json", [[], [], []]))
    assert doc["data"] == []
    doc = json.loads(write("json", [[], ROWS[:1], [], ROWS[1:]]))
    assert len(doc["data"]) == len(ROWS)


def test_json_floats_round_trip_exactly_and_nan_is_null() -> None:
    fields = (Field("x", "double"),)
    values = [0.1 + 0.2, 1e-310, -0.0, 1.7976931348623157e308, math.nan, math.inf]
    doc = json.loads(write("json", [[(v,) for v in values]], fields=fields))
    assert [r[0] for r in doc["data"]][:4] == values[:4]
    assert [r[0] for r in doc["data"]][4:] == [None, None]


def test_json_timestamps_are_dali_strings() -> None:
    doc = json.loads(write("json", [TIMESTAMP_ROWS], fields=timestamp_fields()))
    assert doc["data"] == [[1, "2024-05-06T07:08:09.500000"], [2, None]]


# ---------------------------------------------------------------------------
# GeoJSON (RFC 7946)


def check_feature_collection(doc: dict[str, Any]) -> None:
    """The structure RFC 7946 §3 requires of what this writer produces."""
    assert doc["type"] == "FeatureCollection"
    assert isinstance(doc["features"], list)
    for feature in doc["features"]:
        assert feature["type"] == "Feature"
        assert isinstance(feature["properties"], dict)
        geometry = feature["geometry"]
        if geometry is None:
            continue
        assert geometry["type"] in ("Point", "Polygon")
        if geometry["type"] == "Point":
            lon, lat = geometry["coordinates"]
            assert -180 <= lon < 180 and -90 <= lat <= 90
        else:
            for ring in geometry["coordinates"]:
                assert len(ring) >= 4 and ring[0] == ring[-1]
                assert all(-180 <= lon < 180 and -90 <= lat <= 90 for lon, lat in ring)


def test_geojson_points_from_main_ra_dec() -> None:
    doc = json.loads(write("geojson"))
    check_feature_collection(doc)
    coordinates = [f["geometry"]["coordinates"] for f in doc["features"]]
    assert coordinates[0] == [10.1, -5.5]
    assert coordinates[1] == [pytest.approx(-0.1), 89.9]  # 359.9 wrapped
    assert coordinates[3] == [-179.0, 0.0]
    assert [f["properties"]["ra"] for f in doc["features"]] == [r[1] for r in ROWS]
    props = doc["features"][0]["properties"]
    assert props == dict(zip([f.name for f in FIELDS], [expected(v) for v in ROWS[0]], strict=True))
    assert doc["queryStatus"] == "OK"
    assert doc["columns"][1]["unit"] == "deg"


def test_geojson_null_position_is_null_geometry() -> None:
    fields = (Field("ra", "double", ucd="pos.eq.ra;meta.main"), Field("dec", "double", ucd="pos.eq.dec;meta.main"))
    doc = json.loads(write("geojson", [[(None, 1.0), (2.0, math.nan)]], fields=fields))
    check_feature_collection(doc)
    assert [f["geometry"] for f in doc["features"]] == [None, None]
    assert doc["features"][1]["properties"] == {"ra": 2.0, "dec": None}


def test_geojson_polygon_column_wins_and_ring_is_closed() -> None:
    fields = (
        Field("s_ra", "double", ucd="pos.eq.ra;meta.main"),
        Field("s_dec", "double", ucd="pos.eq.dec;meta.main"),
        Field("s_region", "double", arraysize="*", xtype="polygon", unit="deg"),
    )
    rows = [(10.0, 20.0, [9.0, 19.0, 11.0, 19.0, 11.0, 21.0]), (1.0, 2.0, None)]
    doc = json.loads(write("geojson", [rows], fields=fields, error="lost connection"))
    check_feature_collection(doc)
    assert doc["features"][0]["geometry"] == {
        "type": "Polygon",
        "coordinates": [[[9.0, 19.0], [11.0, 19.0], [11.0, 21.0], [9.0, 19.0]]],
    }
    assert doc["features"][1]["geometry"] is None
    assert (doc["queryStatus"], doc["message"]) == ("ERROR", "lost connection")


def test_geojson_point_xtype_column() -> None:
    fields = (Field("id", "int"), Field("pos", "double", arraysize="2", xtype="point", unit="deg"))
    doc = json.loads(write("geojson", [[(1, [350.0, -10.0])]], fields=fields, overflow=True))
    check_feature_collection(doc)
    assert doc["features"][0]["geometry"] == {"type": "Point", "coordinates": [-10.0, -10.0]}
    assert doc["queryStatus"] == "OVERFLOW"


def test_geojson_planetary_lon_lat() -> None:
    fields = (Field("lon", "double", ucd="pos.bodyrc.lon"), Field("lat", "double", ucd="pos.bodyrc.lat"))
    doc = json.loads(write("geojson", [[(200.0, 5.0)]], fields=fields))
    assert doc["features"][0]["geometry"]["coordinates"] == [-160.0, 5.0]


def test_geojson_empty_result() -> None:
    doc = json.loads(write("geojson", []))
    check_feature_collection(doc)
    assert doc["features"] == []


def test_geojson_without_positions_is_a_parameter_error() -> None:
    with pytest.raises(ParameterError) as info:
        GeoJSONWriter((Field("id", "int"), Field("mag", "float")))
    assert info.value.param == "RESPONSEFORMAT"
