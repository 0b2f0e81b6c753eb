"""PgSphere.write (DirectGenerator) writes exactly the SQL sqlglot's own generator writes.

Every test is differential: the same tree goes to :meth:`PgSphere.write` and to the reference,
``PgSphereGenerator`` with write()'s options (what write() used before it wrote nodes directly,
and what ``tree.sql(dialect=PgSphere(), identify=True, comments=False, ...)`` gives).  The outcome
compared is the text, or the exception's class and message, and the tree afterwards (sqlglot's
generator rewrites a few nodes in place while it writes).
"""

from __future__ import annotations

import importlib.util
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from pathlib import Path

import pytest
import sqlglot
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlglot import exp
from sqlglot.errors import ErrorLevel

from vostack.adql import parse, translate
from vostack.adql.pgsphere import DirectGenerator, PgSphere, PgSphereGenerator
from vostack.errors import VOError
from vostack.schema import TableSet

from .conftest import make_tableset
from .test_fastparse import BENCHMARK, FIXTURES, TEST_STRINGS, queries
from .test_lyonetia import QUERIES as SUITE_QUERIES
from .test_lyonetia import SUITE

_DIALECT = PgSphere()
_TABLES = make_tableset()
_ROOT = Path(__file__).resolve().parents[3]


def _benchmark_tables() -> TableSet:
    spec = importlib.util.spec_from_file_location("_benchmark_adql_tables", _ROOT / "benchmarks" / "adql.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    tables: TableSet = module.tableset()
    return tables


_BENCHMARK_TABLES = _benchmark_tables()


def _reference(tree: exp.Expr) -> str:
    generator = PgSphereGenerator(dialect=_DIALECT, identify=True, comments=False, unsupported_level=ErrorLevel.RAISE)
    return generator.generate(tree, copy=False)


def _outcome(write: object, tree: exp.Expr) -> tuple[object, exp.Expr]:
    assert callable(write)
    try:
        written: object = write(tree)
    except Exception as error:  # the error, its class and message, is part of the outcome
        written = (type(error), str(error))
    return written, tree


def assert_same_sql(tree: exp.Expr) -> str | None:
    """Write copies of ``tree`` both ways; the text (or error) and the trees afterwards must agree."""
    direct, direct_tree = _outcome(_DIALECT.write, tree.copy())
    reference, reference_tree = _outcome(_reference, tree.copy())
    assert direct == reference
    assert direct_tree == reference_tree
    return direct if isinstance(direct, str) else None


@contextmanager
def _recording() -> Iterator[list[exp.Expr]]:
    """The trees translate() hands to PgSphere.write while the block runs (copies, before writing)."""
    trees: list[exp.Expr] = []
    original = PgSphere.write

    def record(self: PgSphere, tree: exp.Expr) -> str:
        trees.append(tree.copy())
        return original(self, tree)

    PgSphere.write = record  # type: ignore[method-assign]
    try:
        yield trees
    finally:
        PgSphere.write = original  # type: ignore[method-assign]


def translated(texts: list[str], tables: TableSet = _TABLES) -> list[exp.Expr]:
    """The morphed trees of those ``texts`` that translate against ``tables``."""
    with _recording() as trees:
        for text in texts:
            with suppress(VOError):
                translate(text, tables)
    return trees


def parsed(texts: list[str]) -> list[exp.Expr]:
    """The checked ADQL trees (before name resolution) of those ``texts`` that parse."""
    trees: list[exp.Expr] = []
    for text in texts:
        with suppress(VOError):
            trees.append(parse(text).tree)
    return trees


_SUITE_TEXTS = [str(param.values[1]) for param in SUITE_QUERIES]
_CORPUS = [*BENCHMARK.values(), *FIXTURES, *TEST_STRINGS]


def test_the_benchmark_queries_are_written_directly_and_the_same() -> None:
    trees = translated(list(BENCHMARK.values()), _BENCHMARK_TABLES)
    assert len(trees) == len(BENCHMARK)
    for tree in trees:
        assert assert_same_sql(tree)
        assert not _fallbacks(tree), "a benchmark node kind went back to sqlglot's generic methods"


def _fallbacks(tree: exp.Expr) -> set[str]:
    """The node kinds in ``tree`` that have no direct writer or whose writer declined (string literals
    are left to PgSphereGenerator.literal_sql)."""
    generator = DirectGenerator(dialect=_DIALECT, identify=True, comments=False)
    declined = set()
    geometry = tuple(PgSphereGenerator.TRANSFORMS)
    for node in tree.walk():
        if isinstance(node, exp.Literal) and node.is_string:
            continue
        writer = DirectGenerator._DIRECT.get(type(node))
        if (writer is None and not isinstance(node, geometry)) or (
            writer is not None and writer(generator, node) is None
        ):
            declined.add(type(node).__name__)
    return declined


def test_translations_of_fixture_and_unit_test_queries_are_the_same() -> None:
    trees = translated(_CORPUS)
    assert len(trees) > len(_CORPUS) // 5
    assert sum(assert_same_sql(tree) is not None for tree in trees) > len(trees) // 2


def test_parsed_trees_of_fixture_and_unit_test_queries_are_the_same() -> None:
    trees = parsed(_CORPUS)
    assert len(trees) > len(_CORPUS) // 2
    for tree in trees:
        assert_same_sql(tree)


@pytest.mark.skipif(not SUITE_QUERIES, reason=f"no lyonetia ADQL suite at {SUITE}")
def test_lyonetia_queries_are_the_same_parsed_and_translated() -> None:
    trees = parsed(_SUITE_TEXTS)
    assert len(trees) > len(_SUITE_TEXTS) // 2
    for tree in [*trees, *translated(_SUITE_TEXTS)]:
        assert_same_sql(tree)


@pytest.mark.parametrize(
    "sql",
    [
        "SELECT a FROM t AS x LEFT SEMI JOIN u ON x.a = u.a",
        "SELECT a FROM t ANTI JOIN u ON t.a = u.a",
        "SELECT a FROM t JOIN LATERAL (SELECT 1) AS l ON TRUE",
        "SELECT a FROM t WINDOW w AS (PARTITION BY a)",
        "SELECT a, ROW_NUMBER() OVER (ORDER BY a) AS r FROM t QUALIFY r = 1",
        "SELECT a FROM ONLY t",
        "SELECT a FROM t TABLESAMPLE SYSTEM (10)",
        "SELECT a FROM t AS x(p, q)",
        "SELECT a FROM (SELECT 1) AS q(c)",
        "SELECT a FROM (SELECT 1)",
        "SELECT a + b + c, a - (b - c), (a * b) * c, a = b = c, a < b OPERATOR(pg_catalog.+) c FROM t",
        "SELECT a || b || c, a / b, 7 / 2, CAST(a AS DECIMAL) / 2, a % b FROM t",
        "SELECT NOT a, - -a, -(-1), -a, - 1, NULL, TRUE, FALSE, *, t.* FROM t",
        "SELECT MAX(a), MAX(a, b), MIN(a), GREATEST(a, b), COUNT(*), COUNT(DISTINCT a), SUM(a), AVG(a) FROM t",
        "SELECT x.f(a), f(a), F(a, b), f() FROM t",
        "SELECT CAST(a AS INT), CAST(a AS VARCHAR(10)), CAST(a AS DOUBLE PRECISION), a::TEXT FROM t",
        "SELECT 'x', 'it''s', E'a\\\\b', 1.5e3 FROM t",
        "SELECT a FROM t ORDER BY a NULLS FIRST, b DESC NULLS LAST, c ASC, d DESC, e ASC NULLS LAST",
        "SELECT a FROM t GROUP BY ALL",
        "SELECT a FROM t GROUP BY ROLLUP (a, b)",
        "SELECT a FROM t GROUP BY a, b HAVING COUNT(*) > 1 ORDER BY 1 LIMIT 5 OFFSET 2",
        "SELECT a FROM t LIMIT ALL",
        "SELECT a FROM t OFFSET 3",
        "WITH RECURSIVE r AS (SELECT 1) SELECT * FROM r",
        "WITH c AS MATERIALIZED (SELECT 1) SELECT * FROM c",
        "WITH c(x) AS (SELECT 1) SELECT * FROM c",
        "WITH c AS (SELECT 1) SELECT * FROM c UNION SELECT 2",
        "SELECT * FROM (WITH c AS (SELECT 1) SELECT * FROM c) AS q",
        "SELECT DISTINCT a FROM t",
        "SELECT DISTINCT ON (a) a, b FROM t",
        "SELECT a FROM t CROSS JOIN u, v NATURAL JOIN w FULL OUTER JOIN z USING (a)",
        "SELECT a FROM t JOIN u ON TRUE JOIN v USING (a, b) RIGHT JOIN w ON w.a = t.a",
        "SELECT a FROM t FOR UPDATE",
        "SELECT a INTO x FROM t",
        "SELECT (SELECT 1), a IN (SELECT b FROM u), EXISTS (SELECT 1) FROM t",
        "SELECT a FROM t WHERE a AND b OR c AND (d OR e) AND NOT f",
        "SELECT ABS(a), SQRT(a), LOG10(a), LN(a), EXP(a), POWER(a, 2), ROUND(a, 2), FLOOR(a), CEIL(a), PI() FROM t",
        "SELECT SIN(a), ATAN2(a, b), DEGREES(a), RADIANS(a), TRUNC(a, 1), MOD(a, b), RANDOM() FROM t",
        "SELECT LOWER(a), UPPER(a), TRIM(a), SUBSTRING(a, 1, 2), a LIKE 'x%', a ILIKE 'y', COALESCE(a, b) FROM t",
        "SELECT CASE WHEN a THEN 1 ELSE 2 END, a BETWEEN 1 AND 2, a IS NULL, a IS NOT NULL FROM t",
    ],
)
def test_sqlglot_trees_outside_the_translations_are_the_same(sql: str) -> None:
    assert_same_sql(sqlglot.parse_one(sql, read="postgres"))


def test_a_node_with_an_argument_its_writer_does_not_handle_is_written_by_sqlglot() -> None:
    # every benchmark tree, with one more argument on one node at a time: a value, a flag, a list, comments
    seen = 0
    for tree in translated(list(BENCHMARK.values()), _BENCHMARK_TABLES):
        for index, node in enumerate(tree.walk()):
            for key in type(node).arg_types:
                if node.args.get(key):
                    continue
                for value in (True, False, "", exp.var("Q"), [exp.var("Q")]):
                    damaged = tree.copy()
                    target = list(damaged.walk())[index]
                    target.set(key, value)
                    assert_same_sql(damaged)
                    seen += 1
            damaged = tree.copy()
            list(damaged.walk())[index].add_comments(["note"])
            assert_same_sql(damaged)
    assert seen > 1000


def test_write_is_the_generic_generator_when_sqlglot_pretty_prints(monkeypatch: pytest.MonkeyPatch) -> None:
    tree = translated([BENCHMARK["cte"]], _BENCHMARK_TABLES)[0]
    monkeypatch.setattr(sqlglot, "pretty", True)
    assert "\n" in _reference(tree.copy())
    assert_same_sql(tree)


def test_writing_keeps_the_tree_it_was_given() -> None:
    for tree in translated(_CORPUS):
        kept = tree.copy()
        _DIALECT.write(tree)
        assert tree == kept


# -- generated queries -----------------------------------------------------------------------

_COLUMNS = ["hip", "ra", "dec", "hpmag", "bv", "plx", "m.ra", "m.hip", '"dec"', "name"]
_NUMBERS = ["1", "0", "2.5", "1e3", "-4", "0x1F"]


@st.composite
def values(draw: st.DrawFn, depth: int = 3) -> str:
    """Numeric expressions over hipparcos.main (alias m), including pgSphere geometry."""
    if depth <= 0 or draw(st.integers(0, 3)) == 0:
        return draw(st.sampled_from([c for c in _COLUMNS if c != "name"] + _NUMBERS))
    sub = values(depth - 1)
    choice = draw(st.integers(0, 7))
    if choice <= 2:
        return f"{draw(sub)} {draw(st.sampled_from(['+', '-', '*', '/']))} {draw(sub)}"
    if choice == 3:
        return f"({draw(sub)})"
    if choice == 4:
        return f"-{draw(sub)}"
    if choice == 5:
        name = draw(st.sampled_from(["ABS", "SQRT", "FLOOR", "CEILING", "DEGREES", "RADIANS", "SIN", "EXP", "LOG10"]))
        return f"{name}({draw(sub)})"
    if choice == 6:
        name = draw(st.sampled_from(["ROUND", "TRUNCATE", "MOD", "POWER", "ATAN2"]))
        return f"{name}({draw(sub)}, {draw(st.sampled_from(['1', '2', 'hip']))})"
    return f"DISTANCE(POINT({draw(sub)}, {draw(sub)}), POINT(m.ra, m.dec))"


@st.composite
def conditions(draw: st.DrawFn, depth: int = 2) -> str:
    """Conditions: comparisons, BETWEEN, IN, LIKE, NULL tests, CONTAINS, and their combinations."""
    choice = draw(st.integers(0, 6 if depth > 0 else 4))
    if choice == 0:
        return f"{draw(values(2))} {draw(st.sampled_from(['=', '<>', '<', '>', '<=', '>=']))} {draw(values(2))}"
    if choice == 1:
        return f"{draw(values(1))} {draw(st.sampled_from(['', 'NOT ']))}BETWEEN {draw(values(1))} AND {draw(values(1))}"
    if choice == 2:
        items = ", ".join(draw(st.lists(values(0), min_size=1, max_size=3)))
        return f"hip {draw(st.sampled_from(['', 'NOT ']))}IN ({items})"
    if choice == 3:
        pattern = draw(st.sampled_from(["'H%'", "'it''s'"]))
        return f"name {draw(st.sampled_from(['LIKE', 'NOT LIKE', 'ILIKE']))} {pattern}"
    if choice == 4:
        return f"{draw(st.sampled_from(_COLUMNS))} IS {draw(st.sampled_from(['', 'NOT ']))}NULL"
    if choice == 5:
        shape = draw(st.sampled_from(["CIRCLE(m.ra, m.dec, 1)", "BOX(10, 20, 1, 2)", "POLYGON(1, 2, 3, 4, 5, 1)"]))
        predicate = draw(st.sampled_from(["CONTAINS", "INTERSECTS"]))
        return f"{predicate}(POINT(ra, dec), {shape}) = {draw(st.sampled_from(['0', '1']))}"
    first, second = draw(conditions(depth - 1)), draw(conditions(depth - 1))
    return draw(st.sampled_from([f"{first} AND {second}", f"{first} OR {second}", f"NOT ({first})", f"({first})"]))


@st.composite
def translatable(draw: st.DrawFn) -> str:
    """Random queries over hipparcos.main that mostly translate: every clause, joins, CTEs, subqueries."""
    head = draw(st.sampled_from(["", "DISTINCT ", "TOP 5 ", "ALL "]))
    items = draw(
        st.lists(
            st.one_of(
                values(),
                st.sampled_from(["*", "m.*", "COUNT(*)", "MAX(hpmag)", "AVG(plx)", "name", "POINT(ra, dec)"]),
                st.builds(lambda e, a: f"{e} AS {a}", values(2), st.sampled_from(["x", '"Y z"', "sel"])),
            ),
            min_size=1,
            max_size=3,
        )
    )
    source = draw(
        st.sampled_from(
            [
                "hipparcos.main AS m",
                "hipparcos.main m JOIN gaia.dr3lite AS g ON m.hip = g.hip",
                "hipparcos.main AS m LEFT OUTER JOIN gaia.dr3lite AS g USING (hip)",
                "hipparcos.main AS m, gaia.dr3lite AS g",
                "hipparcos.main AS m CROSS JOIN gaia.dr3lite g",
                "(SELECT hip, ra, dec, hpmag, bv, plx, name FROM hipparcos.main) AS m",
                "c AS m",
            ]
        )
    )
    query = f"SELECT {head}{', '.join(items)} FROM {source}"
    if draw(st.booleans()):
        query += f" WHERE {draw(conditions())}"
    if draw(st.integers(0, 3)) == 0:
        query += f" GROUP BY {draw(st.sampled_from(['hip', 'm.hip, ra', 'ROUND(hpmag, 1)']))}"
        if draw(st.booleans()):
            query += " HAVING COUNT(*) > 1"
    if draw(st.booleans()):
        query += f" ORDER BY {draw(st.sampled_from(['hip', '1', 'hpmag DESC', 'ra ASC, dec DESC']))}"
    if draw(st.integers(0, 4)) == 0:
        query += f" OFFSET {draw(st.sampled_from(['3', '0x2']))}"
    if "c AS m" in query:
        query = f"WITH c AS (SELECT * FROM hipparcos.main WHERE {draw(conditions(1))}) {query}"
    return query


_SETTINGS = settings(max_examples=250, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@_SETTINGS
@given(translatable())
def test_generated_translations_are_the_same(text: str) -> None:
    for tree in translated([text]):
        assert_same_sql(tree)


@_SETTINGS
@given(queries())
def test_generated_parse_trees_are_the_same(text: str) -> None:
    for tree in parsed([text]):
        assert_same_sql(tree)


def test_the_generated_query_shapes_translate() -> None:
    samples = [
        "SELECT TOP 5 m.hip, DISTANCE(POINT(ra, dec), POINT(m.ra, m.dec)) AS x FROM hipparcos.main AS m "
        "WHERE CONTAINS(POINT(ra, dec), CIRCLE(m.ra, m.dec, 1)) = 1 ORDER BY hpmag DESC",
        "WITH c AS (SELECT * FROM hipparcos.main WHERE hip IN (1, 2)) SELECT COUNT(*) FROM c AS m GROUP BY hip",
        "SELECT m.* FROM hipparcos.main AS m LEFT OUTER JOIN gaia.dr3lite AS g USING (hip) OFFSET 3",
    ]
    trees = translated(samples)
    assert len(trees) == len(samples)
    for tree in trees:
        assert assert_same_sql(tree)
