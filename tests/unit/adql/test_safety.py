"""The translator is the security boundary: attacks are refused with an ADQL error or run harmlessly.

Each query in :data:`ATTACKS` must raise an :class:`~vostack.errors.ADQLError` from
:func:`~vostack.adql.translate`, except those in :data:`HARMLESS`, which translate to SQL that
reads only the published table (``tests/integration/adql/test_safety.py`` runs them).  A hypothesis
fuzz test feeds random and mutated ADQL to ``parse`` and ``translate``: nothing but ADQL errors may
come out.
"""

from __future__ import annotations

import contextlib
import re
import string

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from vostack.adql import ADQLError, parse, translate
from vostack.adql.validate import MAX_NESTING, MAX_QUERY_LENGTH
from vostack.errors import RequestTooLargeError
from vostack.schema import TableSet

from .conftest import make_tableset

#: At least fifty attacks, by kind.
ATTACKS = [
    # other schemas and system catalogs
    "SELECT * FROM pg_catalog.pg_class",
    "SELECT * FROM pg_class",
    "SELECT * FROM information_schema.tables",
    "SELECT * FROM public.secret",
    "SELECT usename, passwd FROM pg_shadow",
    'SELECT * FROM "pg_catalog"."pg_authid"',
    "SELECT * FROM hipparcos.main AS m, pg_catalog.pg_user AS u",
    "SELECT * FROM hipparcos.main WHERE hip IN (SELECT oid FROM pg_class)",
    'SELECT * FROM "hipparcos.main"',
    'SELECT * FROM hipparcos."main; DROP TABLE x"',
    "SELECT * FROM main.hip.ra.dec",
    "SELECT * FROM db.hipparcos.main",
    "SELECT * FROM hipparcos..main",
    "SELECT m.xmin, m.ctid FROM hipparcos.main AS m",
    "SELECT tableoid FROM hipparcos.main",
    # functions
    "SELECT pg_sleep(10) FROM hipparcos.main",
    "SELECT hip FROM hipparcos.main WHERE pg_sleep(10) IS NULL",
    "SELECT pg_read_file('/etc/passwd') FROM hipparcos.main",
    "SELECT current_setting('data_directory') FROM hipparcos.main",
    "SELECT set_config('statement_timeout', '0', false) FROM hipparcos.main",
    "SELECT version() FROM hipparcos.main",
    "SELECT lo_import('/etc/passwd') FROM hipparcos.main",
    "SELECT dblink('host=evil', 'select 1') FROM hipparcos.main",
    'SELECT "pg_sleep"(1) FROM hipparcos.main',
    "SELECT pg_catalog.pg_sleep(1) FROM hipparcos.main",
    "SELECT hip FROM hipparcos.main WHERE ivo_anything(1) = 1",
    "SELECT * FROM generate_series(1, 100000000)",
    "SELECT hip FROM hipparcos.main ORDER BY pg_sleep(1)",
    "SELECT COUNT(*) OVER () FROM hipparcos.main",
    # statements and syntax that is not ADQL
    "SELECT hip FROM hipparcos.main; DROP TABLE hipparcos.main",
    "SELECT hip FROM hipparcos.main; SELECT pg_sleep(10)",
    "DROP TABLE hipparcos.main",
    "DELETE FROM hipparcos.main",
    "UPDATE hipparcos.main SET ra = 0",
    "INSERT INTO hipparcos.main (hip) VALUES (1)",
    "CREATE TABLE x (a int)",
    "COPY hipparcos.main TO '/tmp/x'",
    "SET statement_timeout = 0",
    "SELECT hip INTO evil FROM hipparcos.main",
    "SELECT hip FROM hipparcos.main FOR UPDATE",
    "SELECT hip::text FROM hipparcos.main",
    "SELECT hip FROM hipparcos.main LIMIT 10",
    "SELECT $$x$$ FROM hipparcos.main",
    "WITH RECURSIVE r(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM r) SELECT * FROM r",
    "SELECT hip FROM hipparcos.main WHERE ra @> 1",
    "SELECT hip FROM hipparcos.main WHERE name ~ 'a'",
    "SELECT E'\\x41' FROM hipparcos.main",
    "SELECT ARRAY[1, 2] FROM hipparcos.main",
    "SELECT ROW(1, 2) FROM hipparcos.main",
    # comments and quoting tricks
    "SELECT hip FROM hipparcos.main /* comment */ WHERE 1 = 1",
    "SELECT hip FROM hipparcos.main -- ; DROP TABLE hipparcos.main\n; DROP TABLE hipparcos.main",
    "SELECT 'x'' ; DROP TABLE hipparcos.main; --' FROM hipparcos.main",
    'SELECT "hip"" FROM pg_class --" FROM hipparcos.main',
    "SELECT 'unterminated FROM hipparcos.main",
    'SELECT "unterminated FROM hipparcos.main',
    "SELECT hip FROM hipparcos.main WHERE name = 'a\\'; DROP TABLE x; --'",
    "SELECT U&'\\0041' FROM hipparcos.main",
    # Unicode look-alikes
    "SELECT hip FROM hipparcos.main WHERE ra \uff1d 1",
    "\uff33\uff25\uff2c\uff25\uff23\uff34 hip FROM hipparcos.main",
    "SELECT hip FROM hipparcos.main WHERE ra \u037e DROP TABLE x",
    "SELECT h\u0456p FROM hipparcos.main",
    "SELECT hip FROM hipparcos.main\u2028; DROP TABLE x",
    "SELECT hip FROM hipparcos.main WHERE name = \u2018a\u2019",
    "SELECT\u00a0hip FROM hipparcos.main",
    "SELECT hip FROM hipparcos.main WHERE ra \u2212 1 > 0",
    # huge literals, deep nesting
    "SELECT " + "9" * 5000 + " FROM hipparcos.main",
    "SELECT '" + "x" * 200_000 + "' FROM hipparcos.main",
    "SELECT TOP 99999999999999999999999 hip FROM hipparcos.main",
    "SELECT " + "(" * 5000 + "1" + ")" * 5000 + " FROM hipparcos.main",
    "SELECT " + "+".join(["1"] * 5000) + " FROM hipparcos.main",
    "SELECT hip FROM hipparcos.main WHERE " + " OR ".join(f"hip = {i}" for i in range(3000)),
    "SELECT " + "ABS(" * 2000 + "1" + ")" * 2000 + " FROM hipparcos.main",
    "SELECT hip FROM hipparcos.main WHERE hip IN "
    + "(SELECT hip FROM hipparcos.main WHERE hip IN " * 300
    + "(1)"
    + ")" * 300,
    "SELECT 0x" + "F" * 100 + " FROM hipparcos.main",
    "SELECT POLYGON(" + ", ".join(["1"] * 20000) + ") FROM hipparcos.main",
]

#: Attacks that are valid ADQL and run harmlessly (a string literal, a no-break space, a literal too big for a
#: double, which PostgreSQL refuses when it runs the query, a long string, long chains of one operator:
#: generated queries are like that, and only real nesting is bounded).
HARMLESS = frozenset(
    {
        "SELECT 'x'' ; DROP TABLE hipparcos.main; --' FROM hipparcos.main",
        "SELECT\u00a0hip FROM hipparcos.main",
        "SELECT " + "9" * 5000 + " FROM hipparcos.main",
        "SELECT '" + "x" * 200_000 + "' FROM hipparcos.main",
        "SELECT " + "+".join(["1"] * 5000) + " FROM hipparcos.main",
        "SELECT hip FROM hipparcos.main WHERE " + " OR ".join(f"hip = {i}" for i in range(3000)),
    }
)


def test_there_are_at_least_fifty_attacks() -> None:
    assert len(ATTACKS) >= 50
    assert len(set(ATTACKS)) == len(ATTACKS)


@pytest.mark.parametrize("query", sorted(set(ATTACKS) - HARMLESS), ids=lambda q: q[:50])
def test_attack_is_refused_with_an_adql_error(tableset: TableSet, query: str) -> None:
    with pytest.raises(ADQLError):
        translate(query, tableset)


@pytest.mark.parametrize("query", sorted(HARMLESS), ids=lambda q: q[:50])
def test_harmless_attack_reads_only_the_published_table(tableset: TableSet, query: str) -> None:
    sql = translate(query, tableset).sql
    without_literals = re.sub(r"'(?:[^']|'')*'", "''", sql)
    assert ";" not in without_literals and "--" not in without_literals
    assert re.findall(r'FROM ("[^"]+"\."[^"]+")', without_literals) == ['"hipparcos"."main"']


SEEDS = [
    "SELECT TOP 10 hip, ra, dec FROM hipparcos.main WHERE hpmag < 5 ORDER BY hpmag",
    "SELECT hip FROM hipparcos.main WHERE CONTAINS(POINT('ICRS', ra, dec), CIRCLE('ICRS', 10, 20, 1)) = 1",
    "SELECT a.hip, b.source_id FROM hipparcos.main AS a JOIN gaia.dr3lite AS b "
    "ON DISTANCE(POINT(a.ra, a.dec), POINT(b.ra, b.dec)) < 0.01",
    "SELECT COUNT(*), AVG(bv), ROUND(MAX(hpmag), 2) FROM hipparcos.main GROUP BY name HAVING COUNT(*) > 1",
    "WITH b AS (SELECT hip FROM hipparcos.main WHERE hpmag < 2) SELECT * FROM b UNION SELECT hip FROM gaia.dr3lite",
    "SELECT IN_UNIT(ra, 'rad'), CAST(hip AS VARCHAR(5)), COALESCE(bv, 0), hip & 0xFF FROM hipparcos.main OFFSET 3",
    "SELECT hip FROM hipparcos.main WHERE name ILIKE 'a%' AND ivo_hasword(name, 'x') = 1",
    "SELECT POLYGON(1, 2, 3, 4, 5, 6), AREA(BOX(1, 2, 3, 4)) FROM hipparcos.main",
]
TOKENS = [
    "SELECT", "FROM", "WHERE", "(", ")", ",", "'", '"', "--", ";", "*", "=", "1", "0x1F", "NULL", "POINT", "CIRCLE(",
    "CONTAINS(", "AS", "JOIN", "ON", "UNION", "WITH", "TOP", "OFFSET", "::", "LIMIT", "hip", "ra", "\n", " ",
    "pg_sleep(", ".", "1e308", "-", "||", "CAST(", "IN_UNIT(", "ivo_hasword(",
]  # fmt: skip
TABLESET = make_tableset()


@st.composite
def mutated(draw: st.DrawFn) -> str:
    text = draw(st.sampled_from(SEEDS))
    for _ in range(draw(st.integers(1, 4))):
        at = draw(st.integers(0, len(text)))
        action = draw(st.sampled_from(["insert", "delete", "replace"]))
        if action == "delete":
            text = text[:at] + text[at + draw(st.integers(1, 12)) :]
        else:
            token = draw(st.sampled_from(TOKENS) | st.text(string.printable, max_size=3))
            end = at + (draw(st.integers(0, 8)) if action == "replace" else 0)
            text = text[:at] + token + text[end:]
    return text


def _only_adql_errors(text: str) -> None:
    for run in (parse, lambda text: translate(text, TABLESET)):
        with contextlib.suppress(ADQLError):  # anything else (InternalError: a bug) fails the test
            run(text)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(mutated())
def test_fuzz_mutated_adql_raises_only_adql_errors(text: str) -> None:
    _only_adql_errors(text)


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=80) | st.lists(st.sampled_from(TOKENS), max_size=20).map(" ".join))
def test_fuzz_random_text_raises_only_adql_errors(text: str) -> None:
    _only_adql_errors(text)


def test_ten_thousand_ors_and_a_ten_thousand_item_in_list_translate(tableset: TableSet) -> None:
    ors = "SELECT hip FROM hipparcos.main WHERE " + " OR ".join(f"hip = {i}" for i in range(10_000))
    assert translate(ors, tableset).sql.count(" OR ") == 9_999
    listed = "SELECT hip FROM hipparcos.main WHERE hip IN (" + ", ".join(str(i) for i in range(10_000)) + ")"
    assert translate(listed, tableset).sql.count(", ") >= 9_999
    mixed = "SELECT hip FROM hipparcos.main WHERE " + " AND ".join(f"(hip <> {i} OR ra > {i})" for i in range(3000))
    assert translate(mixed, tableset).sql.count(" AND ") == 2999


@pytest.mark.parametrize(
    "template",
    [
        "SELECT hip FROM hipparcos.main WHERE {open}hip = 1{close}",
        "SELECT {abs}hip{close} FROM hipparcos.main",
        "SELECT hip FROM hipparcos.main WHERE hip IN {sub}(1){close}",
    ],
)
def test_nesting_is_bounded_with_a_clear_error(tableset: TableSet, template: str) -> None:
    def query(depth: int) -> str:
        return template.format(
            open="(" * depth,
            abs="ABS(" * depth,
            sub="(SELECT hip FROM hipparcos.main WHERE hip IN " * depth,
            close=")" * depth,
        )

    translate(query(MAX_NESTING - 1), tableset)  # (one level for IN's list)
    with pytest.raises(ADQLError, match=f"more than {MAX_NESTING} levels deep"):
        translate(query(MAX_NESTING + 1), tableset)


def test_a_query_over_the_length_limit_is_refused_as_too_large(tableset: TableSet) -> None:
    text = "SELECT hip FROM hipparcos.main WHERE name = '" + "x" * MAX_QUERY_LENGTH + "'"
    with pytest.raises(RequestTooLargeError, match="longer than 1,048,576 characters") as raised:
        translate(text, tableset)
    assert raised.value.http_status == 413
