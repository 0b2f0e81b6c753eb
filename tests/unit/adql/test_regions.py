"""REGION (STC-S), CAST of DALI strings to geometries, CENTROID of polygons and polygon columns in results."""

from __future__ import annotations

import math

import pytest

from vostack.adql import ADQLSemanticError, translate
from vostack.adql.regions import read_dali, read_stcs
from vostack.schema import TableSet

from .tables import footprints


@pytest.mark.parametrize(
    ("stcs", "kind", "numbers"),
    [
        ("Position ICRS 10 -20", "POINT", [10, -20]),
        ("circle icrs 10.5 20 0.25", "CIRCLE", [10.5, 20, 0.25]),
        ("Circle ICRS BARYCENTER SPHERICAL2 10 20 1", "CIRCLE", [10, 20, 1]),
        ("Box fillfactor 1.0 ICRS GEOCENTER 10 20 2 3", "BOX", [10, 20, 2, 3]),
        ("Polygon ICRS 10 20 12 20 11 22", "POLYGON", [10, 20, 12, 20, 11, 22]),
        ("Polygon ICRS 0.1 0.2 0.3 0.1 0.2 0.3 unit rad", "POLYGON", [math.degrees(v) for v in (0.1, 0.2, 0.3) * 2]),
        ("  Circle\tICRS  1e1 2E1\n1  unit deg ", "CIRCLE", [10, 20, 1]),
    ],
)
def test_stcs_shapes_in_icrs_are_read_in_degrees(stcs: str, kind: str, numbers: list[float]) -> None:
    read_kind, values = read_stcs(stcs)
    assert read_kind == kind
    assert values == pytest.approx(numbers)


@pytest.mark.parametrize(
    ("stcs", "message"),
    [
        ("", "empty string"),
        ("Union ICRS (Circle ICRS 1 2 3 Circle ICRS 4 5 6)", "Union regions are not supported"),
        ("Ellipse ICRS 1 2 3 4 5", "Ellipse regions are not supported"),
        ("Square ICRS 1 2 3", "'Square' is not an STC-S region"),
        ("Circle GALACTIC 1 2 3", "ICRS frame only, not 'GALACTIC'"),
        ("Circle 1 2 3", "ICRS frame only, not '1'"),
        ("Circle ICRS 1 2", "needs 3 numbers, not 2"),
        ("Circle ICRS 1 2 3 unit arcsec", "units deg and rad"),
        ("Circle ICRS 1 2 100", "radius 100 is outside"),
        ("Position ICRS 1 95", "latitude 95 is outside"),
        ("Polygon ICRS 1 2 3 4", "3 or more"),
        ("Polygon ICRS 1 2 3 4 5", "3 or more"),
        ("Box ICRS 1 2 3", "needs 4 numbers"),
        ("Circle fillfactor 0.5 ICRS 1 2 3", "fillfactor 1"),
        ("Circle ICRS 1 2 nan", "'nan' is not a number"),
        ("Circle ICRS 1 2 3);DROP", "is not a number"),
    ],
)
def test_unsupported_or_malformed_stcs_says_why(stcs: str, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        read_stcs(stcs)


def test_dali_serialisations_are_read_and_checked() -> None:
    assert read_dali("POINT", " 12.3\t45.6 ") == [12.3, 45.6]
    assert read_dali("CIRCLE", "12.3 45.6 0.5") == [12.3, 45.6, 0.5]
    assert read_dali("POLYGON", "1 2 3 4 5 6") == [1, 2, 3, 4, 5, 6]
    bad = [("POINT", "1 2 3"), ("CIRCLE", "1 2"), ("POLYGON", "1 2 3 4"), ("POINT", "1 x"), ("POINT", "1 -91")]
    for kind, text in bad:
        with pytest.raises(ValueError):
            read_dali(kind, text)


def test_region_translates_to_the_same_sql_as_the_adql_constructor(tableset: TableSet) -> None:
    pairs = [
        ("REGION('Circle ICRS 10 20 0.5')", "CIRCLE(10.0, 20.0, 0.5)"),
        ("REGION('Box ICRS 10 20 2 3')", "BOX(10.0, 20.0, 2.0, 3.0)"),
        ("REGION('Polygon ICRS 10 20 12 20 11 22')", "POLYGON(10.0, 20.0, 12.0, 20.0, 11.0, 22.0)"),
    ]
    for region, constructor in pairs:
        template = "SELECT hip FROM hipparcos.main WHERE 1 = CONTAINS(POINT(ra, dec), {})"
        assert translate(template.format(region), tableset).sql == translate(template.format(constructor), tableset).sql


def test_region_point_and_cast_literals_become_numbers(tableset: TableSet) -> None:
    region = translate("SELECT DISTANCE(REGION('Position ICRS 10 -20'), POINT(ra, dec)) FROM hipparcos.main", tableset)
    cast = translate("SELECT DISTANCE(CAST('10 -20' AS POINT), POINT(ra, dec)) FROM hipparcos.main", tableset)
    assert region.sql == cast.sql
    assert "SPOINT(RADIANS(10.0), RADIANS(-20.0))" in cast.sql
    fields = translate("SELECT CAST('1 2 3 4 5 6' AS POLYGON) AS g FROM hipparcos.main", tableset).fields
    field = fields[0]
    assert (field.datatype, field.arraysize, field.xtype, field.unit) == ("double", "*", "polygon", "deg")


def test_string_literal_is_never_copied_into_the_sql(tableset: TableSet) -> None:
    with pytest.raises(ADQLSemanticError, match="is not a number"):
        translate("SELECT CAST('1 2''); SELECT 1; --' AS POINT) FROM hipparcos.main", tableset)
    with pytest.raises(ADQLSemanticError, match="is not a number"):
        translate("SELECT REGION('Position ICRS 1 pg_sleep(10)') FROM hipparcos.main", tableset)


def test_published_polygon_column_comes_back_as_a_dali_array() -> None:
    translation = translate("SELECT id, fp FROM obs.fields", footprints())
    assert "ARRAY_AGG(" in translation.sql and 'CAST(CAST("fields"."fp" AS TEXT) AS "spath")' in translation.sql
    field = translation.fields[1]
    assert (field.name, field.datatype, field.arraysize, field.xtype) == ("fp", "double", "*", "polygon")


def test_polygon_column_keeps_its_pgsphere_value_inside_predicates() -> None:
    sql = translate(
        "SELECT id FROM obs.fields WHERE 1 = CONTAINS(POINT(10, 20), fp) AND AREA(fp) > 1", footprints()
    ).sql
    assert '<@ "fields"."fp"' in sql
    assert "ARRAY_AGG" not in sql


def test_centroid_of_a_polygon_is_computed_from_its_edges() -> None:
    sql = translate("SELECT CENTROID(fp) AS c FROM obs.fields", footprints()).sql
    assert "ATAN2" in sql and "XYZ(SPOINT(" in sql
    literal = translate("SELECT CENTROID(POLYGON(1, 2, 3, 4, 5, 6)) FROM obs.fields", footprints()).sql
    assert "SPOLY(" in literal and "ATAN2" in literal


def test_cast_of_a_text_column_reads_dali_at_run_time() -> None:
    translation = translate("SELECT CAST(txt AS CIRCLE) AS c FROM obs.fields", footprints())
    assert "REGEXP_SPLIT_TO_ARRAY" in translation.sql and "SCIRCLE(" in translation.sql
    assert translation.fields[0].xtype == "circle"
    with pytest.raises(ADQLSemanticError, match="takes a string"):
        translate("SELECT CAST(id AS POLYGON) FROM obs.fields", footprints())
    with pytest.raises(ADQLSemanticError, match="takes a string"):
        translate("SELECT CAST(fp AS POLYGON) FROM obs.fields", footprints())
