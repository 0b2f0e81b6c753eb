"""ADQL → PostgreSQL translations: the fixture table, row limits, and the function catalogue."""

from __future__ import annotations

import dataclasses
import re
from pathlib import Path

import pytest
from sqlglot import exp
from sqlglot.generators.postgres import PostgresGenerator

from vostack.adql import ADQLSemanticError, Translation, translate
from vostack.adql.dialect import FUNCTIONS, GEOMETRY_FUNCTIONS
from vostack.adql.expressions import ADQL_FUNCTION_CLASSES, MORPHED_CLASSES, SphereOperator
from vostack.adql.pgsphere import PgSphere, PgSphereGenerator
from vostack.schema import TableSet

from .validator import Validator

FIXTURES = Path(__file__).parent / "fixtures"


def load_pairs(path: Path) -> list[tuple[str, str]]:
    """Read "ADQL; PostgreSQL;" pairs: blocks separated by blank lines, '#' lines are comments."""
    pairs = []
    for block in path.read_text().split("\n\n"):
        lines = [line for line in block.splitlines() if not line.startswith("#")]
        statements, current = [], []
        for line in lines:
            current.append(line)
            if line.endswith(";"):
                statements.append("\n".join(current)[:-1])
                current = []
        if statements:
            assert len(statements) == 2 and not current, f"malformed fixture block:\n{block}"
            pairs.append((statements[0], statements[1]))
    return pairs


PAIRS = load_pairs(FIXTURES / "pgsphere.sql") + load_pairs(FIXTURES / "geometry.sql")


@pytest.mark.parametrize(("adql", "sql"), PAIRS, ids=[adql[:60] for adql, _ in PAIRS])
def test_fixture_translates_to_postgresql(validator: Validator, adql: str, sql: str) -> None:
    validator.validate_all(adql, write={"pgsphere": sql})


def test_fixture_file_is_not_empty() -> None:
    assert len(PAIRS) > 50


def test_top_becomes_limit(validator: Validator) -> None:
    validator.validate_all(
        "SELECT TOP 3 hip FROM hipparcos.main",
        write={"pgsphere": 'SELECT "main"."hip" FROM "hipparcos"."main" AS "main" LIMIT 3'},
    )


def test_log_is_the_natural_logarithm(validator: Validator) -> None:
    validator.validate_all(
        "SELECT LOG(ra) FROM hipparcos.main",
        write={"pgsphere": 'SELECT LN("main"."ra") FROM "hipparcos"."main" AS "main"'},
    )


def test_round_with_decimals_goes_through_numeric(validator: Validator) -> None:
    validator.validate_all(
        "SELECT ROUND(ra, 2) FROM hipparcos.main",
        write={
            "pgsphere": 'SELECT CAST(ROUND(CAST("main"."ra" AS DECIMAL), 2) AS DOUBLE PRECISION) '
            'FROM "hipparcos"."main" AS "main"'
        },
    )


def test_row_limit_alone_becomes_limit(tableset: TableSet) -> None:
    sql = translate("SELECT hip FROM hipparcos.main", tableset, row_limit=101).sql
    assert sql.endswith(" LIMIT 101")


@pytest.mark.parametrize(("top", "row_limit", "expected"), [(10, 101, 10), (500, 101, 101), (0, 5, 0)])
def test_row_limit_and_top_keep_the_smaller(tableset: TableSet, top: int, row_limit: int, expected: int) -> None:
    sql = translate(f"SELECT TOP {top} hip FROM hipparcos.main", tableset, row_limit=row_limit).sql
    assert sql.endswith(f" LIMIT {expected}")


def test_row_limit_applies_after_offset(tableset: TableSet) -> None:
    sql = translate("SELECT hip FROM hipparcos.main OFFSET 20", tableset, row_limit=11).sql
    assert sql.endswith(" LIMIT 11 OFFSET 20")


def test_row_limit_applies_to_a_whole_union(tableset: TableSet) -> None:
    sql = translate(
        "SELECT TOP 5 hip FROM hipparcos.main UNION SELECT hip FROM gaia.dr3lite", tableset, row_limit=3
    ).sql
    assert sql == (
        '(SELECT "main"."hip" FROM "hipparcos"."main" AS "main" LIMIT 5) '
        'UNION SELECT "dr3lite"."hip" FROM "gaia"."dr3lite" AS "dr3lite" LIMIT 3'
    )


def test_negative_row_limit_is_a_programming_error(tableset: TableSet) -> None:
    with pytest.raises(ValueError, match="row_limit"):
        translate("SELECT hip FROM hipparcos.main", tableset, row_limit=-1)


def test_tables_lists_published_tables_read_once_each(tableset: TableSet) -> None:
    translation = translate(
        "SELECT a.hip FROM hipparcos.main AS a JOIN hipparcos.main AS b ON a.hip = b.hip "
        "WHERE a.hip IN (SELECT hip FROM gaia.dr3lite)",
        tableset,
    )
    assert translation.tables == ("hipparcos.main", "gaia.dr3lite")


def test_common_table_expression_is_not_a_published_table(tableset: TableSet) -> None:
    translation = translate("WITH main AS (SELECT hip FROM gaia.dr3lite) SELECT hip FROM main", tableset)
    assert translation.tables == ("gaia.dr3lite",)
    assert 'FROM "main"' in translation.sql


def test_translation_is_frozen(tableset: TableSet) -> None:
    translation = translate("SELECT hip FROM hipparcos.main", tableset)
    assert isinstance(translation, Translation)
    with pytest.raises(dataclasses.FrozenInstanceError):
        translation.sql = "DROP TABLE x"  # type: ignore[misc]


def test_translating_twice_gives_the_same_sql(tableset: TableSet) -> None:
    query = "SELECT * FROM hipparcos.main NATURAL JOIN gaia.dr3lite"
    assert translate(query, tableset) == translate(query, tableset)


_GEOMETRY_CALLS = {
    "AREA": "AREA(CIRCLE(ra, dec, 1))",
    "BOX": "BOX(ra, dec, 1, 2)",
    "CENTROID": "CENTROID(CIRCLE(ra, dec, 1))",
    "CIRCLE": "CIRCLE(ra, dec, 1)",
    "CONTAINS": "CONTAINS(POINT(ra, dec), CIRCLE(1, 2, 3))",
    "COORD1": "COORD1(POINT(ra, dec))",
    "COORD2": "COORD2(POINT(ra, dec))",
    "COORDSYS": "COORDSYS(POINT(ra, dec))",
    "DISTANCE": "DISTANCE(ra, dec, 1, 2)",
    "INTERSECTS": "INTERSECTS(CIRCLE(ra, dec, 1), POLYGON(1, 2, 3, 4, 5, 6))",
    "POINT": "POINT(ra, dec)",
    "POLYGON": "POLYGON(ra, dec, 1, 2, 3, 4)",
    "IN_UNIT": "IN_UNIT(ra, 'rad')",
    "REGION": "REGION('Circle ICRS 1 2 3')",
}
_NOT_SUPPORTED: dict[str, str] = {}


def _call(name: str) -> str:
    low, high = FUNCTIONS[name]
    count = max(low, min(high, 2))
    if name in _GEOMETRY_CALLS:
        return _GEOMETRY_CALLS[name]
    if name in _NOT_SUPPORTED:
        return _NOT_SUPPORTED[name]
    if name in ("ROUND", "TRUNCATE"):
        return f"{name}(ra, 2)"
    if name == "COUNT":
        return "COUNT(*)"
    if name == "RAND":
        return "RAND(7)"
    return f"{name}({', '.join(['ra'] * count)})"


@pytest.mark.parametrize("name", sorted(FUNCTIONS))
def test_every_adql_function_is_translated_or_refused_as_not_supported(tableset: TableSet, name: str) -> None:
    query = f"SELECT {_call(name)} FROM hipparcos.main"
    if name in _NOT_SUPPORTED:
        with pytest.raises(ADQLSemanticError, match="not supported"):
            translate(query, tableset)
        return
    sql = translate(query, tableset).sql
    # ADQL spellings PostgreSQL lacks must have been translated
    # (pgSphere's own area() keeps the ADQL name)
    for adql_only in ("TRUNCATE", "CEILING", "RAND", "LOG", *(GEOMETRY_FUNCTIONS - {"AREA"})):
        assert not re.search(rf"\b{adql_only}\(", sql), sql


def test_every_geometry_class_is_translated_or_morphed() -> None:
    for klass in ADQL_FUNCTION_CLASSES:
        assert klass in PgSphereGenerator.TRANSFORMS or klass in MORPHED_CLASSES, klass.__name__
    assert SphereOperator in PgSphereGenerator.TRANSFORMS


@pytest.mark.parametrize("dtype", list(exp.DType))
def test_types_are_written_as_the_postgres_generator_writes_them(dtype: exp.DType) -> None:
    # PgSphereGenerator remembers the SQL of each parameterless type: the first and later writes agree
    generator = PgSphereGenerator(dialect=PgSphere())
    reference = PostgresGenerator(dialect=PgSphere())
    for _ in range(2):
        assert generator.datatype_sql(exp.DataType(this=dtype)) == reference.datatype_sql(exp.DataType(this=dtype))
        sized = exp.DataType(this=dtype, expressions=[exp.DataTypeParam(this=exp.Literal.number(7))])
        assert generator.datatype_sql(sized.copy()) == reference.datatype_sql(sized.copy())
    assert generator.unsupported_messages == reference.unsupported_messages
