"""The ADQL dialect: what parses, and how it is written back as ADQL (round trips)."""

from __future__ import annotations

import pytest

from vostack.adql import ADQLSemanticError, ADQLSyntaxError, Query, parse
from vostack.adql.dialect import ADQL_RESERVED_WORDS, SQL_RESERVED_WORDS

from .validator import Validator

IDENTITIES = [
    "SELECT TOP 10 a, b AS c FROM s.t AS x WHERE a > 1 OFFSET 5",
    "SELECT DISTINCT TOP 3 x FROM t ORDER BY x DESC",
    "SELECT * FROM a NATURAL LEFT OUTER JOIN b",
    "SELECT * FROM a RIGHT OUTER JOIN b USING (x, y)",
    "SELECT * FROM a FULL OUTER JOIN b ON a.x = b.y",
    "SELECT * FROM a CROSS JOIN b",
    "SELECT t.* FROM s.t AS t",
    "SELECT COUNT(*), COUNT(DISTINCT a), AVG(b), MIN(c), MAX(d), SUM(e) FROM t GROUP BY f HAVING SUM(g) > 1",
    "SELECT LOG(x), LOG10(x), MOD(a, 2), TRUNCATE(x, 2), CEILING(x), RAND(), POWER(x, 2), PI() FROM t",
    "SELECT ABS(x), FLOOR(x), DEGREES(x), RADIANS(x), EXP(x), SQRT(x), ROUND(x), ROUND(x, -1) FROM t",
    "SELECT ACOS(x), ASIN(x), ATAN(x), ATAN2(y, x), COS(x), COT(x), SIN(x), TAN(x) FROM t",
    "SELECT CAST(a AS DOUBLE PRECISION), CAST(a AS INTEGER), CAST(a AS REAL), CAST(a AS VARCHAR(3)) FROM t",
    "WITH w AS (SELECT a FROM t) SELECT a FROM w UNION ALL SELECT b FROM u",
    "SELECT a FROM t EXCEPT SELECT a FROM u",
    "SELECT a FROM t INTERSECT SELECT a FROM u",
    "SELECT x FROM t WHERE a IS NOT NULL AND c NOT LIKE 'x' AND d ILIKE 'y' OR e IS NULL",
    "SELECT a FROM t WHERE b IN (SELECT c FROM u) AND NOT d IN (1, 2)",
    "SELECT a FROM t WHERE EXISTS(SELECT 1 FROM v)",
    "SELECT (SELECT MAX(x) FROM u) AS m FROM t",
    "SELECT q.a FROM (SELECT a FROM t) AS q",
    "SELECT 'Star/' || name, LOWER(name), UPPER(name), COALESCE(a, b, 'c') FROM t",
    "SELECT a & b, a | b, a ^ b, ~a, -a, 0x1F, 1.5E3, 'it''s', TRUE, NULL FROM t",
    'SELECT "Weird col", "select" FROM "S"."T"',
    "SELECT POINT('ICRS', ra, dec) FROM t WHERE 1 = CONTAINS(POINT(ra, dec), CIRCLE(1, 2, 3))",
    "SELECT DISTANCE(p, q), AREA(c), COORD1(p), COORD2(p), COORDSYS(p), CENTROID(c) FROM t",
    "SELECT ivo_healpix_index(6, ra, dec) FROM t",
]


@pytest.mark.parametrize("adql", IDENTITIES)
def test_adql_round_trips(validator: Validator, adql: str) -> None:
    validator.validate_identity(adql)


@pytest.mark.parametrize(
    ("adql", "written"),
    [
        ("select top 5 * from t", "SELECT TOP 5 * FROM t"),
        ("SELECT a FROM t, u", "SELECT a FROM t CROSS JOIN u"),
        ("SELECT a FROM t INNER JOIN u ON t.x = u.x", "SELECT a FROM t INNER JOIN u ON t.x = u.x"),
        ("SELECT ALL a FROM t", "SELECT a FROM t"),
        ("SELECT a FROM t WHERE b != 1", "SELECT a FROM t WHERE b <> 1"),
        ("SELECT a FROM t WHERE b NOT BETWEEN 1 AND 2", "SELECT a FROM t WHERE NOT b BETWEEN 1 AND 2"),
        ("SELECT a -- a comment\nFROM t", "SELECT a FROM t"),
        ("SELECT 89x FROM z", "SELECT 89 AS x FROM z"),
        ("select * from bar order by foo asc, 2desc", "SELECT * FROM bar ORDER BY foo ASC, 2 DESC"),
        ("SELECT a FROM t;", "SELECT a FROM t"),
    ],
)
def test_adql_is_written_back_normalised(validator: Validator, adql: str, written: str) -> None:
    validator.validate_identity(adql, write=written)


def test_parse_returns_a_query_that_writes_back_as_adql() -> None:
    query = parse("select hip from hipparcos.main")
    assert isinstance(query, Query)
    assert query.text == "select hip from hipparcos.main"
    assert repr(query) == "Query('SELECT hip FROM hipparcos.main')"


def test_top_is_a_limit_on_the_select() -> None:
    limit = parse("SELECT TOP 7 a FROM t").tree.args["limit"]
    assert limit.expression.this == "7"


def test_log_parses_as_natural_logarithm() -> None:
    assert parse("SELECT LOG(x) FROM t").tree.expressions[0].key == "ln"


def test_declared_udf_is_accepted() -> None:
    form = "gavo_specconv(spectral REAL, unit TEXT) -> REAL"
    assert parse("SELECT gavo_specconv(x, 'nm') FROM t", udfs=[form]).adql() == ("SELECT gavo_specconv(x, 'nm') FROM t")


def test_declared_udf_checks_its_argument_count() -> None:
    form = "gavo_specconv(spectral REAL, unit TEXT) -> REAL"
    with pytest.raises(ADQLSyntaxError, match="takes 2 arguments"):
        parse("SELECT gavo_specconv(x) FROM t", udfs=[form])


def test_udf_declared_by_name_only_takes_any_arguments() -> None:
    parse("SELECT myfunc(1, 2, 3) FROM t", udfs=["myfunc"])


def test_undeclared_function_is_a_semantic_error() -> None:
    with pytest.raises(ADQLSemanticError, match="unknown function 'my_undefined_function'"):
        parse("SELECT my_undefined_function(ra) FROM t")


def test_ivo_functions_are_accepted_by_the_grammar() -> None:
    parse("SELECT ivo_hasword(a, 'b') FROM t")


@pytest.mark.parametrize(
    "word", sorted((SQL_RESERVED_WORDS | ADQL_RESERVED_WORDS) - {"END-EXEC", "NULL", "TRUE", "FALSE"})
)
def test_reserved_word_needs_quotes_as_a_column_name(word: str) -> None:
    with pytest.raises(ADQLSyntaxError):
        parse(f"SELECT {word} FROM t")
    parse(f'SELECT "{word}" FROM t')


@pytest.mark.parametrize(
    "adql",
    [
        "SELECT x FROM y WHERE POINT('fk5', 2, 3) = x",
        "SELECT x FROM y WHERE CIRCLE('fk5', 2, 3, 3) = x",
        "SELECT x FROM y WHERE CIRCLE(p, 3) = x",
        "SELECT x FROM y WHERE BOX('fk5', 2, 3, 3, 0) = x",
        "SELECT x FROM y WHERE POLYGON(2, 3, 3, 0, 23, 0) = x",
        "SELECT x FROM y WHERE POLYGON(p, q, r) = x",
        "SELECT DISTANCE(1, 2, 3, 4) FROM y",
        "SELECT REGION('Circle ICRS 1 2 3') FROM y",
        "SELECT IN_UNIT(x, 'km') FROM y",
    ],
)
def test_geometry_syntax_is_accepted(adql: str) -> None:
    parse(adql)


@pytest.mark.parametrize(
    "adql",
    [
        "SELECT x FROM y WHERE CIRCLE('fk5', 2, 3) = x",
        "SELECT x FROM y WHERE POLYGON('fk5', 2, 3, 3, 0, 23, 0, 45) = x",
        "SELECT x FROM y WHERE POINT('fk5', 2, 3)",
        "SELECT * FROM y WHERE CONTAINS(a, b)",
        "SELECT POINT('icrs', 3, 4) || 'a' FROM y",
        "SELECT DISTANCE(1, 2, 3) FROM y",
        "SELECT IN_UNIT(x, y) FROM t",
    ],
)
def test_malformed_geometry_is_refused(adql: str) -> None:
    with pytest.raises(ADQLSyntaxError):
        parse(adql)


def test_a_compiled_sqlglot_is_refused_with_a_clear_message(monkeypatch: pytest.MonkeyPatch) -> None:
    # sqlglotc refuses Python subclasses of its parser when they are instantiated, with this TypeError
    from vostack.adql import dialect

    def compiled(self: object, *args: object, **kwargs: object) -> None:
        raise TypeError("interpreted classes cannot inherit from compiled")

    dialect.require_interpreted_sqlglot()  # the pure-Python sqlglot of this environment passes
    monkeypatch.setattr(dialect.ADQLParser, "__init__", compiled)
    with pytest.raises(ImportError, match="pip uninstall sqlglotc"):
        dialect.require_interpreted_sqlglot()
