"""Everything that is not ADQL, or not published, is an ADQLError with a useful message and position."""

from __future__ import annotations

import logging
from dataclasses import replace

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from vostack.adql import ADQLError, ADQLSemanticError, ADQLSyntaxError, morph, parse, translate
from vostack.errors import InternalError
from vostack.schema import Schema, TableSet

# -- syntax errors: message, line and column ---------------------------------------------------


def test_syntax_error_reports_line_and_column() -> None:
    with pytest.raises(ADQLSyntaxError) as caught:
        parse("SELECT hip\nFROM hipparcos.main\nWHERE hip = = 3")
    assert (caught.value.line, caught.value.col) == (3, 13)
    assert "line 3, column 13" in caught.value.message


def test_syntax_error_says_what_was_found() -> None:
    with pytest.raises(ADQLSyntaxError, match=r"unexpected 'quatsch' at line 1, column 20"):
        parse("select x from t1 x quatsch JOIN t1")


def test_syntax_error_says_what_was_expected() -> None:
    with pytest.raises(ADQLSyntaxError, match=r"expected \) but found the end of the query"):
        parse("select * from a group by d having (d>2")


def test_premature_end_is_reported_at_the_end() -> None:
    with pytest.raises(ADQLSyntaxError, match="the query ends too early") as caught:
        parse("SELECT hip FROM hipparcos.main WHERE")
    assert (caught.value.line, caught.value.col) == (1, 37)


def test_missing_table_name_is_reported() -> None:
    with pytest.raises(ADQLSyntaxError, match="expected table name but found the end of the query"):
        parse("SELECT a FROM")


def test_unterminated_string_is_reported_where_it_starts() -> None:
    with pytest.raises(ADQLSyntaxError, match="unterminated string") as caught:
        parse("SELECT a FROM t WHERE b = 'x")
    assert (caught.value.line, caught.value.col) == (1, 27)


def test_unterminated_delimited_identifier_is_a_syntax_error() -> None:
    with pytest.raises(ADQLSyntaxError, match="unterminated delimited identifier"):
        parse('SELECT "a FROM t')


@pytest.mark.parametrize(
    ("adql", "message"),
    [
        ("", "empty"),
        ("-- only a comment", "empty"),
        ("SELECT hip FROM hipparcos.main LIMIT 10", "LIMIT is not ADQL"),
        ("SELECT hip::text FROM hipparcos.main", "'::' casts are not ADQL"),
        ("SELECT hip FROM t; SELECT ra FROM t", "only one query"),
        ("DROP TABLE hipparcos.main", "'DROP' is not ADQL"),
        ("DELETE FROM hipparcos.main", "'DELETE' is not ADQL"),
        ("INSERT INTO t VALUES (1)", "'INSERT' is not ADQL"),
        ("UPDATE t SET a = 1", "'UPDATE' is not ADQL"),
        ("CREATE TABLE x (a INTEGER)", "'CREATE' is not ADQL"),
        ("SET search_path TO public", "'SET' is not ADQL"),
        ("SHOW search_path", "'SHOW' is not ADQL"),
        ("SELECT hip, row_number() OVER (ORDER BY hip) FROM t", r"window functions \(OVER\)"),
        ("SELECT COUNT(*) OVER () FROM t", r"window functions \(OVER\)"),
        ("SELECT hip INTO newtable FROM t", "'INTO' is a reserved word"),
        ("SELECT hip FROM t FOR UPDATE", "'FOR' is a reserved word"),
        ("WITH RECURSIVE r AS (SELECT 1 FROM t) SELECT * FROM r", "WITH RECURSIVE is not ADQL"),
        ("SELECT * FROM t WHERE name ~ 'HD'", "unexpected '~'"),
        ("SELECT * FROM t WHERE a @> b", "'@' is not ADQL"),
        ("SELECT $$x$$ FROM t", "invalid name"),
        ("SELECT a FROM t WHERE a = ?", "'?' is not ADQL"),
        ("SELECT a FROM t /* comment */", "unexpected '/'"),
        ("SELECT a % 2 FROM t", r"'%' is not an ADQL operator"),
        ("SELECT a FROM t WHERE a == 2", "unexpected '='|incomplete"),
        ("SELECT ARRAY[1, 2] FROM t", "'\\[' is not ADQL"),
        ("SELECT _weird_name FROM stars", "invalid name '_weird_name'"),
        ("SELECT distance FROM stars", "'distance' is a reserved word"),
        ("SELECT FROM stars", "SELECT needs a list of columns|unexpected"),
        ("SELECT *", "FROM clause missing"),
        ("SELECT TOP -10 a FROM t", "TOP must be followed by an unsigned integer"),
        ("SELECT TOP 1.5 a FROM t", "TOP must be followed by an unsigned integer"),
        ("SELECT a FROM t OFFSET 10.5", "OFFSET must be followed by an unsigned integer"),
        ("SELECT * FROM (SELECT * FROM x)", "needs a name"),
        ("SELECT a = b FROM t", "is a condition"),
        ("SELECT x FROM t1 HAVING y", "'y' is not a condition"),
        ("SELECT x FROM t WHERE x IS 3", "IS must be followed by NULL"),
        ("SELECT x FROM y WHERE x IN (23, 3,)", "unexpected ','"),
        ("SELECT x, FROM y", "unexpected ','"),
        ("SELECT x.y.z.a.b FROM a", "too many qualifiers in 'x.y.z.a.b'"),
        ("SELECT ABS() FROM t", "ABS takes 1 argument, not 0"),
        ("SELECT ABS(a, b) FROM t", "ABS takes 1 argument, not 2"),
        ("SELECT ROUND(a, b) FROM t", "integer literal"),
        ("SELECT CAST(a AS FLOAT) FROM t", "'FLOAT' is a reserved word"),
        ("SELECT CAST(a AS TEXT) FROM t", "cannot CAST to TEXT"),
        ("SELECT CAST(a AS NULL) FROM t", "cannot CAST|unexpected|incomplete"),
        ("SELECT DISTINCT ON (a) a FROM t", "DISTINCT ON is not ADQL"),
        ("SELECT a FROM t ORDER BY a NULLS FIRST", "'FIRST' is a reserved word"),
        ("SELECT a FROM t WHERE b LIKE 'x' ESCAPE '!'", "'ESCAPE' is a reserved word"),
        ("SELECT a FROM t OFFSET 5 ROWS", "'ROWS' is a reserved word"),
        ("SELECT TOP (5) a FROM t", "TOP must be followed by an unsigned integer"),
        ("SELECT a FROM t OFFSET banana", "OFFSET must be followed by an unsigned integer"),
        ("SELECT id FROM t WHERE 0xZZ = 1", "invalid hexadecimal literal"),
        ("SELECT id FROM t UNION (WITH w AS (SELECT 1 FROM u) SELECT * FROM w)", "WITH is only allowed"),
    ],
)
def test_not_adql_is_a_syntax_error(adql: str, message: str) -> None:
    with pytest.raises(ADQLSyntaxError, match=message):
        parse(adql)


# -- semantic errors: names as written -----------------------------------------------------------


@pytest.mark.parametrize(
    ("adql", "message"),
    [
        ("SELECT oid FROM pg_catalog.pg_class", "unknown table 'pg_catalog.pg_class'"),
        ("SELECT relname FROM pg_class", "unknown table 'pg_class'"),
        ("SELECT * FROM information_schema.tables", "unknown table 'information_schema.tables'"),
        ("SELECT * FROM hipparcos.secret", "unknown table 'hipparcos.secret'"),
        ("SELECT * FROM private.stuff", "unknown table 'private.stuff'"),
        ('SELECT * FROM Hipparcos."Main"', "unknown table 'Hipparcos.\"Main\"'"),
        ("SELECT * FROM a.b.c", "unknown table 'a.b.c'"),
        ("SELECT * FROM generate_series(1, 10)", "unknown table 'generate_series'"),
        ("SELECT secret FROM hipparcos.main", "unknown column 'secret'"),
        ('SELECT "HIP" FROM hipparcos.main', "unknown column '\"HIP\"'"),
        ("SELECT m.nope FROM hipparcos.main AS m", "unknown column 'm.nope'"),
        ("SELECT q.hip FROM hipparcos.main AS m", "unknown table 'q' in column reference 'q.hip'"),
        ("SELECT main.hip FROM hipparcos.main AS m", "unknown table 'main'"),
        ("SELECT hip FROM hipparcos.main WHERE ghost > 1", "unknown column 'ghost'"),
        ("SELECT hip FROM hipparcos.main ORDER BY ghost", "unknown column 'ghost'"),
        ("SELECT hip FROM hipparcos.main AS m JOIN gaia.dr3lite AS g ON m.hip = g.hip", "'hip' is ambiguous"),
        ("SELECT pg_sleep(10) FROM hipparcos.main", "unknown function 'pg_sleep'"),
        ("SELECT current_setting('x') FROM hipparcos.main", "unknown function 'current_setting'"),
        ("SELECT hip FROM hipparcos.main WHERE pg_sleep(1) IS NULL", "unknown function 'pg_sleep'"),
        ("SELECT hip FROM hipparcos.main JOIN gaia.dr3lite", "JOIN needs ON or USING"),
        ("SELECT hip FROM hipparcos.main JOIN gaia.dr3lite USING (nope)", "USING column 'nope'"),
        ("SELECT * FROM hipparcos.main, hipparcos.main", "used twice in FROM"),
        (
            "SELECT hip FROM hipparcos.main UNION SELECT hip, ra FROM gaia.dr3lite",
            "different numbers of columns",
        ),
        ("SELECT hip FROM hipparcos.main ORDER BY 2", "ORDER BY position 2"),
        ("SELECT REGION('Circle GALACTIC 1 2 3') FROM hipparcos.main", "REGION supports the ICRS frame only"),
        ("SELECT REGION('Union ICRS (Circle ICRS 1 2 3)') FROM hipparcos.main", "STC-S Union regions are not"),
        ("SELECT REGION(name) FROM hipparcos.main", "REGION takes a string literal"),
        ("SELECT DISTANCE(POINT(ra, dec), ra) FROM hipparcos.main", "DISTANCE expects points, not a number"),
        ("SELECT COORD1(CIRCLE(ra, dec, 1)) FROM hipparcos.main", "COORD1 expects a point, not a circle"),
        ("SELECT POINT(name, dec) FROM hipparcos.main", "POINT takes two numbers"),
        ("SELECT CENTROID(ra) FROM hipparcos.main", "CENTROID expects a geometry, not a number"),
        (
            "SELECT hip FROM hipparcos.main WHERE CONTAINS(CIRCLE(1, 2, 3), POINT(ra, dec)) = 1",
            "CONTAINS expects a circle or polygon as its second argument, not a point",
        ),
        ("SELECT IN_UNIT(hip, 'rad') FROM hipparcos.main", "IN_UNIT cannot convert 'hip': its unit is not known"),
        ("SELECT IN_UNIT(hpmag, 'Jy') FROM hipparcos.main", "IN_UNIT cannot convert 'hpmag' from 'mag'"),
        ("SELECT IN_UNIT(ra, 'furlongs') FROM hipparcos.main", "'furlongs' is not a unit"),
        ("SELECT CAST('1 2 3' AS POINT) FROM hipparcos.main", "cannot CAST to POINT: the POINT '1 2 3' needs 2"),
        ("SELECT CAST(ra AS CIRCLE) FROM hipparcos.main", "CAST to CIRCLE takes a string with its DALI serialisation"),
        ("SELECT ivo_nonsense(name, 'x') FROM hipparcos.main", "'ivo_nonsense' is not available"),
        ("SELECT * FROM x AS a JOIN x AS b USING (c)", "unknown table 'x'"),
    ],
)
def test_unpublished_or_unknown_names_are_semantic_errors(tableset: TableSet, adql: str, message: str) -> None:
    with pytest.raises(ADQLSemanticError, match=message):
        translate(adql, tableset)


def test_unknown_column_is_located(tableset: TableSet) -> None:
    with pytest.raises(ADQLSemanticError) as caught:
        translate("SELECT hip,\n       nope\nFROM hipparcos.main", tableset)
    assert (caught.value.line, caught.value.col) == (2, 8)


def test_unknown_table_is_located(tableset: TableSet) -> None:
    with pytest.raises(ADQLSemanticError) as caught:
        translate("SELECT *\nFROM pg_catalog.pg_class", tableset)
    assert (caught.value.line, caught.value.col) == (2, 6)


def test_ambiguous_unqualified_table_lists_the_choices(tableset: TableSet) -> None:
    main = tableset.table("hipparcos.main")
    assert main is not None
    other = Schema(name="other", tables=(replace(main, name="other.main", schema_name="other"),))
    doubled = TableSet(schemas=(*tableset.schemas, other))
    with pytest.raises(ADQLSemanticError, match=r"ambiguous: write one of hipparcos\.main, other\.main"):
        translate("SELECT hip FROM main", doubled)


# -- nothing from sqlglot escapes -----------------------------------------------------------------


def test_deep_nesting_is_an_adql_error(tableset: TableSet) -> None:
    with pytest.raises(ADQLError):
        translate("SELECT " + "(" * 3000 + "1" + ")" * 3000 + " FROM hipparcos.main", tableset)


_PIECES = st.sampled_from(
    [
        "SELECT", "TOP", "5", "*", "hip", "ra", "m.", "FROM", "hipparcos.main", "AS", "m", "WHERE",
        "JOIN", "gaia.dr3lite", "ON", "USING", "(", ")", ",", "=", "<", "AND", "OR", "NOT", "IN",
        "BETWEEN", "LIKE", "'x'", "1.5", "GROUP BY", "ORDER BY", "HAVING", "COUNT(*)", "UNION",
        "OFFSET", "WITH", "DISTINCT", "IS", "NULL", "||", "-", "/", "::", ";", "\"", "'", "LIMIT",
        "CAST", "INTEGER", "POINT", "CONTAINS", "EXISTS", "ROUND", "MOD", "0x1F", "--", "\n",
    ]
)  # fmt: skip


@settings(max_examples=300, deadline=None, database=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(_PIECES, min_size=1, max_size=25))
def test_any_text_gives_a_translation_or_an_adql_error(tableset: TableSet, pieces: list[str]) -> None:
    text = " ".join(pieces)
    try:
        translate(text, tableset)
    except ADQLError as error:
        assert error.message


@pytest.mark.parametrize(
    ("adql", "message"),
    [
        ("SELECT hpmg FROM hipparcos.main", "unknown column 'hpmg' (did you mean 'hpmag'?)"),
        ("SELECT m.decl FROM hipparcos.main AS m", "unknown column 'm.decl' (did you mean 'dec'?)"),
        ("SELECT hip FROM hipparcos.mian", "unknown table 'hipparcos.mian' (did you mean 'hipparcos.main'?)"),
        ("SELECT hip FROM dr3_lite", "unknown table 'dr3_lite' (did you mean 'dr3lite' or 'gaia.dr3lite'?)"),
        ("SELECT SQTR(ra) FROM hipparcos.main", "unknown function 'SQTR' (did you mean SQRT?)"),
        (
            "SELECT mm.hip FROM hipparcos.main AS m",
            "unknown table 'mm' in column reference 'mm.hip' (did you mean 'm'?)",
        ),
    ],
)
def test_misspelled_names_get_did_you_mean_suggestions(tableset: TableSet, adql: str, message: str) -> None:
    with pytest.raises(ADQLSemanticError) as caught:
        translate(adql, tableset)
    assert caught.value.message.startswith(message)


def test_reserved_word_as_column_name_suggests_quoting(tableset: TableSet) -> None:
    with pytest.raises(ADQLSyntaxError, match="'size' is a reserved word in ADQL: write it in double quotes"):
        translate("SELECT size FROM tap_schema.columns", tableset)
    assert translate('SELECT "size" FROM tap_schema.columns', tableset).fields[0].name == "size"


def test_a_bug_in_the_translator_is_an_internal_error_with_its_traceback_logged(
    tableset: TableSet, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    def broken(*args: object, **kwargs: object) -> object:
        raise KeyError("a bug")

    monkeypatch.setattr(morph, "to_postgres", broken)
    with caplog.at_level(logging.ERROR, logger="vostack"), pytest.raises(InternalError) as raised:
        translate("SELECT hip FROM hipparcos.main", tableset)
    assert raised.value.http_status == 500
    assert not isinstance(raised.value, ADQLError)
    assert any(record.exc_info and record.exc_info[0] is KeyError for record in caplog.records)
