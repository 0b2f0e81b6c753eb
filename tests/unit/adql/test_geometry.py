"""Geometry, IN_UNIT, user-defined functions and the declared language features (ADQL 2.1 §4)."""

from __future__ import annotations

import math

import pytest

from vostack.adql import BUILTIN_UDFS, UDF, ADQLSemanticError, ADQLSyntaxError, language_features, parse, translate
from vostack.adql.expressions import ADQLCircle, ADQLContains, ADQLDistance, ADQLPoint, ADQLPolygon
from vostack.schema import TableSet

from .validator import Validator

CONE = "CONTAINS(POINT(ra, dec), CIRCLE(10, 20, 1))"
INSIDE = (
    '(SPOINT(RADIANS("main"."ra"), RADIANS("main"."dec")) <@ SCIRCLE(SPOINT(RADIANS(10), RADIANS(20)), RADIANS(1)))'
)


@pytest.mark.parametrize(
    "adql",
    [
        "SELECT POINT('ICRS', ra, dec) FROM t",
        "SELECT CIRCLE(ra, dec, 1), CIRCLE(POINT(ra, dec), 1) FROM t",
        "SELECT BOX(NULL, ra, dec, 1, 2) FROM t",
        "SELECT POLYGON(1, 2, 3, 4, 5, 6), POLYGON(POINT(1, 2), POINT(3, 4), p) FROM t",
        "SELECT DISTANCE(1, 2, 3, 4), DISTANCE(POINT(1, 2), p) FROM t",
        "SELECT AREA(c), CENTROID(c), COORD1(p), COORD2(p), COORDSYS(p) FROM t",
        "SELECT * FROM t WHERE CONTAINS(POINT(ra, dec), CIRCLE(1, 2, 3)) = 1",
        "SELECT * FROM t WHERE 0 = INTERSECTS(c, POLYGON(1, 2, 3, 4, 5, 6))",
        "SELECT IN_UNIT(ra, 'rad') FROM t",
    ],
)
def test_geometry_round_trips_as_adql(validator: Validator, adql: str) -> None:
    validator.validate_identity(adql)


def test_geometry_calls_become_node_classes() -> None:
    tree = parse("SELECT DISTANCE(1, 2, 3, 4) FROM t WHERE CONTAINS(POINT(a, b), CIRCLE(1, 2, 3)) = 1").tree
    assert isinstance(tree.selects[0], ADQLDistance)
    assert all(isinstance(p, ADQLPoint) for p in (tree.selects[0].this, tree.selects[0].expression))
    contains = tree.find(ADQLContains)
    assert contains is not None and isinstance(contains.expression, ADQLCircle)


def test_polygon_of_coordinates_has_one_point_per_vertex() -> None:
    polygon = parse("SELECT POLYGON('ICRS', 1, 2, 3, 4, 5, 6) FROM t").tree.find(ADQLPolygon)
    assert polygon is not None
    assert [(v.this.name, v.expression.name) for v in polygon.expressions] == [("1", "2"), ("3", "4"), ("5", "6")]


@pytest.mark.parametrize(
    ("predicate", "expected"),
    [
        (f"{CONE} = 1", INSIDE),
        (f"1 = {CONE}", INSIDE),
        (f"{CONE} <> 0", INSIDE),
        (f"{CONE} != 0", INSIDE),
        (f"({CONE}) = 1", INSIDE),
        (f"{CONE} = 0", f"NOT {INSIDE}"),
        (f"0 = {CONE}", f"NOT {INSIDE}"),
        (f"{CONE} <> 1", f"NOT {INSIDE}"),
        (f"{CONE} = 2", f"CASE WHEN {INSIDE} THEN 1 ELSE 0 END = 2"),
    ],
)
def test_contains_comparisons_are_rewritten_structurally(tableset: TableSet, predicate: str, expected: str) -> None:
    sql = translate(f"SELECT hip FROM hipparcos.main WHERE {predicate}", tableset).sql
    assert sql == f'SELECT "main"."hip" FROM "hipparcos"."main" AS "main" WHERE {expected}'


def test_contains_in_a_larger_condition_keeps_precedence(tableset: TableSet) -> None:
    sql = translate(f"SELECT hip FROM hipparcos.main WHERE hpmag < 5 OR NOT {CONE} = 1 AND hip > 3", tableset).sql
    assert sql.endswith(f'WHERE "main"."hpmag" < 5 OR NOT {INSIDE} AND "main"."hip" > 3')


def test_point_on_columns_is_exactly_the_indexed_expression(tableset: TableSet) -> None:
    sql = translate(f"SELECT hip FROM hipparcos.main WHERE {CONE} = 1", tableset).sql
    assert 'SPOINT(RADIANS("main"."ra"), RADIANS("main"."dec")) <@' in sql


def test_intersects_with_a_point_is_contains(tableset: TableSet) -> None:
    one = translate("SELECT hip FROM hipparcos.main WHERE INTERSECTS(CIRCLE(10, 20, 1), POINT(ra, dec)) = 1", tableset)
    assert one.sql.endswith(f"WHERE {INSIDE}")


def test_distance_below_a_literal_radius_adds_the_indexable_predicate(tableset: TableSet) -> None:
    sql = translate("SELECT hip FROM hipparcos.main WHERE DISTANCE(ra, dec, 10, 20) < 1", tableset).sql
    assert INSIDE in sql
    assert sql.endswith(" < 1)")


def test_distance_below_a_column_is_left_alone(tableset: TableSet) -> None:
    sql = translate("SELECT hip FROM hipparcos.main WHERE DISTANCE(ra, dec, 10, 20) < plx", tableset).sql
    assert "<@" not in sql


@pytest.mark.parametrize(
    ("select", "datatype", "arraysize", "xtype", "unit"),
    [
        ("POINT(ra, dec)", "double", "2", "point", "deg"),
        ("CIRCLE(ra, dec, 1)", "double", "3", "circle", "deg"),
        ("POLYGON(1, 2, 3, 4, 5, 6)", "double", "*", "polygon", "deg"),
        ("BOX(1, 2, 3, 4)", "double", "*", "polygon", "deg"),
        ("CENTROID(CIRCLE(ra, dec, 1))", "double", "2", "point", "deg"),
        ("DISTANCE(ra, dec, 1, 2)", "double", None, None, "deg"),
        ("AREA(CIRCLE(ra, dec, 1))", "double", None, None, "deg**2"),
        ("COORD1(POINT(ra, dec))", "double", None, None, "deg"),
        ("CONTAINS(POINT(ra, dec), CIRCLE(1, 2, 3))", "int", None, None, None),
        ("COORDSYS(POINT(ra, dec))", "char", "*", None, None),
        ("IN_UNIT(plx, 'arcsec')", "double", None, None, "arcsec"),
    ],
)
def test_geometry_result_fields(
    tableset: TableSet, select: str, datatype: str, arraysize: str | None, xtype: str | None, unit: str | None
) -> None:
    (field,) = translate(f"SELECT {select} FROM hipparcos.main", tableset).fields
    assert (field.datatype, field.arraysize, field.xtype, field.unit) == (datatype, arraysize, xtype, unit)


def test_geometry_results_are_arrays_of_doubles_in_degrees(tableset: TableSet) -> None:
    sql = translate("SELECT POINT(ra, dec) AS p, CENTROID(CIRCLE(ra, dec, 1)) FROM hipparcos.main", tableset).sql
    assert sql.startswith(
        'SELECT ARRAY[CAST("main"."ra" AS DOUBLE PRECISION), CAST("main"."dec" AS DOUBLE PRECISION)] AS "p", '
        "ARRAY[DEGREES(LONG(CENTER("
    )


def test_geometry_in_a_subquery_stays_a_pgsphere_value(tableset: TableSet) -> None:
    sql = translate(
        "SELECT s.p FROM (SELECT POINT(ra, dec) AS p FROM hipparcos.main) AS s "
        "WHERE CONTAINS(s.p, CIRCLE(1, 2, 3)) = 1",
        tableset,
    ).sql
    assert 'SPOINT(RADIANS("main"."ra"), RADIANS("main"."dec")) AS "p"' in sql
    assert sql.startswith('SELECT ARRAY[DEGREES(LONG("s"."p")), DEGREES(LAT("s"."p"))]')


def test_in_unit_multiplies_by_the_astropy_factor(tableset: TableSet) -> None:
    translation = translate("SELECT IN_UNIT(ra, 'rad') AS r FROM hipparcos.main", tableset)
    assert translation.sql == (
        f'SELECT (CAST("main"."ra" AS DOUBLE PRECISION) * {math.pi / 180!r}) AS "r" FROM "hipparcos"."main" AS "main"'
    )
    assert translation.fields[0].unit == "rad"


def test_builtin_udfs_translate_with_their_templates(tableset: TableSet) -> None:
    sql = translate("SELECT hip FROM hipparcos.main WHERE ivo_nocasematch(name, 'alf%') = 1", tableset).sql
    assert sql.endswith("""WHERE (CASE WHEN "main"."name" ILIKE 'alf%' THEN 1 ELSE 0 END) = 1""")


def test_portal_udf_is_translated_and_typed(tableset: TableSet) -> None:
    twice = UDF(name="twice", params=(("x", "DOUBLE PRECISION"),), returns="DOUBLE PRECISION", template="(2 * {0})")
    translation = translate("SELECT TWICE(ra) FROM hipparcos.main", tableset, udfs=[twice])
    assert translation.sql == 'SELECT (2 * "main"."ra") FROM "hipparcos"."main" AS "main"'
    assert (translation.fields[0].name, translation.fields[0].datatype) == ("twice", "double")


def test_undeclared_udf_is_refused(tableset: TableSet) -> None:
    with pytest.raises(ADQLSemanticError, match="unknown function 'twice'"):
        translate("SELECT twice(ra) FROM hipparcos.main", tableset)


def test_udf_argument_count_is_checked(tableset: TableSet) -> None:
    with pytest.raises(ADQLSyntaxError, match="ivo_hasword takes 2 arguments, not 3"):
        translate("SELECT ivo_hasword(name, 'a', 'b') FROM hipparcos.main", tableset)


def test_udf_with_a_bad_template_or_type_is_a_programming_error() -> None:
    with pytest.raises(ValueError, match="unknown ADQL type"):
        UDF(name="f", params=(), returns="QUATERNION", template="1")
    with pytest.raises(ValueError, match="bad SQL template"):
        UDF(name="f", params=(), returns="INTEGER", template="f({0})")


def test_language_features_declare_what_translates() -> None:
    features = language_features()
    forms = {(kind.rsplit("#", 1)[1], form) for kind, form, _ in features}
    for name in ("POINT", "CIRCLE", "BOX", "POLYGON", "CONTAINS", "INTERSECTS", "DISTANCE", "AREA", "CENTROID"):
        assert ("features-adqlgeo", name) in forms
    assert ("features-adqlgeo", "REGION") in forms  # the simple STC-S shapes in ICRS
    for kind, form in [
        ("features-adql-string", "ILIKE"),
        ("features-adql-sets", "EXCEPT"),
        ("features-adql-common-table", "WITH"),
        ("features-adql-type", "CAST"),
        ("features-adql-unit", "IN_UNIT"),
        ("features-adql-offset", "OFFSET"),
        ("features-adql-conditional", "COALESCE"),
        ("features-adql-bitwise", "&"),
    ]:
        assert (kind, form) in forms
    udfs = [form for kind, form, _ in features if kind.endswith("#features-udf")]
    assert udfs == [udf.form for udf in BUILTIN_UDFS]
    assert "ivo_hasword(haystack TEXT, needle TEXT) -> INTEGER" in udfs
    assert all(description for _, _, description in features)


def test_language_features_include_portal_udfs() -> None:
    extra = UDF(name="twice", params=(("x", "REAL"),), returns="REAL", template="(2 * {0})", description="2x")
    assert language_features([extra])[-1] == (
        "ivo://ivoa.net/std/TAPRegExt#features-udf",
        "twice(x REAL) -> REAL",
        "2x",
    )


def test_hex_literals_are_typed_by_size(tableset: TableSet) -> None:
    fields = translate("SELECT hip | 0x10, 0xFFFFFFFFFF FROM hipparcos.main", tableset).fields
    assert [f.datatype for f in fields] == ["int", "long"]


@pytest.mark.parametrize(
    ("adql", "message"),
    [
        ("SELECT COUNT(*) FROM hipparcos.main GROUP BY HAVING COUNT(*) > 1", "GROUP BY needs at least one column"),
        ("SELECT CAST(hip AS VARCHAR(ra)) FROM hipparcos.main", "cannot CAST to VARCHAR"),
        ("SELECT 'a' - 1 FROM hipparcos.main", "takes numbers, not strings"),
        ("SELECT AVG('x') FROM hipparcos.main", "takes numbers, not strings"),
        ("SELECT SQRT('4') FROM hipparcos.main", "takes numbers, not strings"),
        ("SELECT CIRCLE(1, 2, -1) FROM hipparcos.main", "radius must be between 0 and 90 degrees"),
        ("SELECT CIRCLE(1, 2, 90.5) FROM hipparcos.main", "radius must be between 0 and 90 degrees"),
    ],
)
def test_queries_postgresql_would_reject_are_refused_early(tableset: TableSet, adql: str, message: str) -> None:
    """Found by the EXPLAIN fuzz test (tests/integration/adql/test_fuzz_explain.py)."""
    with pytest.raises((ADQLSyntaxError, ADQLSemanticError), match=message):
        translate(adql, tableset)
