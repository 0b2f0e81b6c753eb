"""Name resolution types expressions as sqlglot's annotator does, without asking it for most nodes.

:meth:`vostack.adql.resolve._Resolver.walk` types the functions, operators and literals it
resolves (``resolve._type_node``), children first, and leaves the rest to sqlglot's
``TypeAnnotator``.  Every test here is differential: the same query is resolved with that
typing and without it (``_type_node`` replaced by a function that types nothing, so that the
annotator types every expression, as before), and the two resolved trees must agree on every
node (class, type, ``meta`` with the annotator's ``nonnull`` marks, which nodes share a type
object), and so must the fields, the PostgreSQL text and the tables, or the error (class,
message, line, column).  The queries: the lyonetia suite (each against a TableSet that
publishes the tables and columns it names), the benchmark, fixture and unit-test queries, and
generated expressions.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlglot import exp

from vostack.adql import fields as fields_
from vostack.adql import morph, resolve
from vostack.adql import query as query_
from vostack.adql.pgsphere import PgSphere
from vostack.errors import VOError
from vostack.schema import Column, Schema, Table, TableSet

from .conftest import make_tableset
from .test_fastparse import FIXTURES, TEST_STRINGS, assert_same_tree
from .test_lyonetia import QUERIES as SUITE_QUERIES
from .test_lyonetia import SUITE

_OUTPUT = PgSphere()
_TABLESET = make_tableset()


def _no_typing(annotator: object, typed: object, node: exp.Expr) -> None:
    """``resolve._type_node`` that types nothing: the annotator types every expression."""


def _nodes(tree: exp.Expr) -> Iterator[exp.Expr]:
    yield from tree.walk(bfs=False)


def _snapshot(tree: exp.Expr) -> list[tuple[object, ...]]:
    """Per node: class, type (compared by value), meta, and which earlier node's type object it shares."""
    first: dict[int, int] = {}
    rows: list[tuple[object, ...]] = []
    for position, node in enumerate(_nodes(tree)):
        own = node._type
        shared = first.setdefault(id(own), position) if own is not None else None
        rows.append((type(node).__name__, own, own.sql() if own is not None else None, node._meta, shared))
    return rows


Outcome = tuple[object, ...]


def _outcome(text: str, tableset: TableSet) -> Outcome:
    """What resolving and translating ``text`` gives: the typed tree and translation, or the error."""
    offered, signatures = query_._BUILTIN_FUNCTIONS
    try:
        parsed, checked = query_._parse(text, signatures)
        if checked.literal_error is not None:
            raise checked.literal_error
        resolved = resolve.resolve(parsed.tree, tableset, text, offered)
        snapshot = _snapshot(resolved.tree)
        outputs = [(o.name, o.type, o.field) for o in resolved.outputs]
        result_fields = fields_.infer(resolved.outputs)
        tree = morph.to_postgres(resolved, text=text, geometry=parsed.geometry)
        return ("ok", snapshot, outputs, result_fields, _OUTPUT.write(tree), resolved.tables)
    except VOError as error:
        return ("error", type(error).__name__, str(error), getattr(error, "line", None), getattr(error, "col", None))


def _both(text: str, tableset: TableSet, monkeypatch: pytest.MonkeyPatch) -> tuple[Outcome, Outcome]:
    fused = _outcome(text, tableset)
    with monkeypatch.context() as patch:
        patch.setattr(resolve, "_type_node", _no_typing)
        plain = _outcome(text, tableset)
    return fused, plain


def assert_same_typing(text: str, tableset: TableSet, monkeypatch: pytest.MonkeyPatch) -> bool:
    """Both ways agree on ``text``; True when it translated."""
    fused, plain = _both(text, tableset, monkeypatch)
    assert fused == plain, text
    return fused[0] == "ok"


# -- a TableSet for any query ---------------------------------------------------------------------

_TYPES = [
    ("int", "integer"),
    ("double", "double precision"),
    ("float", "real"),
    ("char", "text"),
    ("long", "bigint"),
    ("short", "smallint"),
    ("boolean", "boolean"),
]


def tableset_for(text: str) -> TableSet | None:
    """A TableSet publishing every table ``text`` names, with the columns it qualifies by that table
    (unqualified ones go to the first table), of varied types; None when ``text`` does not parse."""
    try:
        parsed = query_.parse(text)
    except VOError:
        return None
    tables: dict[tuple[str, str], dict[str, None]] = {}
    aliases: dict[str, tuple[str, str]] = {}
    for table in parsed.tree.find_all(exp.Table):
        if not table.name or table.catalog:
            continue
        key = (table.db or "pub", table.name)
        tables.setdefault(key, {})
        aliases[(table.alias or table.name).lower()] = key
    if not tables:
        return None
    first = next(iter(tables))
    for column in parsed.tree.find_all(exp.Column):
        if isinstance(column.this, exp.Star) or not column.name:
            continue
        owner = aliases.get(column.table.lower(), first) if column.table else first
        tables[owner].setdefault(column.name, None)
    schemas: dict[str, list[Table]] = {}
    for (schema, name), columns in tables.items():
        published = tuple(
            Column(name=c, datatype=_TYPES[i % len(_TYPES)][0], db_type=_TYPES[i % len(_TYPES)][1], column_index=i)
            for i, c in enumerate(columns)
        )
        schemas.setdefault(schema, []).append(Table(name=f"{schema}.{name}", schema_name=schema, columns=published))
    try:
        return TableSet(schemas=tuple(Schema(name=s, tables=tuple(t)) for s, t in schemas.items()))
    except (ValueError, TypeError):
        return None  # names a TableSet cannot hold (the same table twice in other spellings, …)


# -- corpora ----------------------------------------------------------------------------------------


def test_typing_is_what_the_annotator_gives_on_the_benchmark_queries(monkeypatch: pytest.MonkeyPatch) -> None:
    from .test_fastparse import _benchmark_queries

    for text in _benchmark_queries().values():
        # the benchmark's own tableset has the columns of hipparcos.main the queries use
        assert assert_same_typing(text, _TABLESET, monkeypatch) or "b_v" in text, text


def _translated(text: str, monkeypatch: pytest.MonkeyPatch) -> int:
    """Compare on ``text`` against the test TableSet and one made for it; how many of the two translated."""
    tableset = tableset_for(text)
    own = assert_same_typing(text, tableset, monkeypatch) if tableset is not None else False
    return assert_same_typing(text, _TABLESET, monkeypatch) + own


def test_typing_is_what_the_annotator_gives_on_fixture_and_unit_test_queries(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    texts = [*FIXTURES, *TEST_STRINGS]
    translated = sum(_translated(text, monkeypatch) for text in texts)
    assert translated > 350  # most of them reach the typing


@pytest.mark.skipif(not SUITE_QUERIES, reason=f"no lyonetia ADQL suite at {SUITE}")
def test_typing_is_what_the_annotator_gives_on_the_lyonetia_queries(monkeypatch: pytest.MonkeyPatch) -> None:
    translated = 0
    for param in SUITE_QUERIES:
        _, text, _ = param.values
        assert isinstance(text, str)
        translated += _translated(text, monkeypatch)
    assert translated > 250


# these reach every rule of resolve._type_node and the annotator after it
EXPRESSIONS = [
    "1",
    "1.5",
    "'x'",
    "NULL",
    "TRUE",
    "0x1F",
    "-1",
    "-(1)",
    "(hpmag)",
    "-hpmag",
    "hip + 1",
    "hpmag * 2",
    "hip / 2",
    "hpmag / 2",
    "MOD(hip, 3)",
    "MOD(hpmag, 2)",
    "hip - bv",
    "name || 'x'",
    "ROUND(hpmag, 1)",
    "ABS(hip)",
    "ABS(-hpmag)",
    "COALESCE(hip, 1)",
    "COALESCE(NULL, hpmag)",
    "COALESCE(NULL, NULL)",
    "-COALESCE(NULL, 1)",
    "(NULL)",
    "-(NULL)",
    "CAST(hip + 1 AS DOUBLE PRECISION)",
    "CAST(hpmag AS INTEGER) + 1",
    "UPPER(name)",
    "LOWER(name || 'a')",
    "POINT(ra, dec)",
    "CIRCLE(ra, dec, 1)",
    "BOX(ra, dec, 1, 2)",
    "POLYGON(1, 2, 3, 4, 5, 6)",
    "CENTROID(CIRCLE(ra, dec, 1))",
    "DISTANCE(POINT(ra, dec), POINT(1, 2))",
    "DISTANCE(ra, dec, 1, 2)",
    "CONTAINS(POINT(ra, dec), CIRCLE(1, 2, 3))",
    "COORD1(POINT(ra, dec))",
    "AREA(CIRCLE(1, 2, 3))",
    "IN_UNIT(ra, 'rad')",
    "IN_UNIT(ra, 'rad') * 2",
    "REGION('Circle ICRS 1 2 3')",
    "SIN(RADIANS(dec))",
    "PI() * 2",
    "POWER(hpmag, 2)",
    "SQRT(plx)",
    "TRUNCATE(hpmag, 1)",
    "LOG10(plx)",
    "(SELECT MAX(hip) FROM gaia.dr3lite)",
    "1 + (SELECT MAX(hip) FROM gaia.dr3lite)",
]
# refused somewhere (a condition as a value, CASE, ...): the two ways must refuse them alike
OTHERS = [
    "NOT hip = 1",
    "CASE WHEN hip > 1 THEN 1 ELSE 2.5 END",
    "CASE WHEN hip > 1 THEN NULL END",
    "1 + (SELECT 2)",
    "CAST('(1, 2)' AS POINT)",
    "hip IN (1, 2)",
    "hip BETWEEN 1 AND 2",
    "name LIKE 'a%'",
    "hip IS NULL",
]
CONDITIONS = [
    "hip = 1",
    "hpmag < 5 AND bv > 0",
    "NOT (hip < 2 OR name = 'x')",
    "1 = CONTAINS(POINT(ra, dec), CIRCLE(1, 2, 3))",
    "hip IN (SELECT hip FROM gaia.dr3lite)",
    "EXISTS (SELECT 1 FROM gaia.dr3lite AS g WHERE g.hip = hip)",
    "NULL IS NULL",
    "(hip = 1) = (hip = 2)",
    "hip > -1 AND -hpmag < 2.5 AND (bv) = (1)",
    "hip IN (1, 2)",
    "hip NOT BETWEEN 1 AND -2",
    "name LIKE 'a%' OR name NOT LIKE 'b'",
    "hip IS NOT NULL",
    "NOT NOT hip = 1",
    "hip IS NULL",
    "1 = INTERSECTS(CIRCLE(ra, dec, 1), BOX(10, 20, 3, 4))",
    "COALESCE(hip, NULL) = 1",
]


@pytest.mark.parametrize("expression", EXPRESSIONS)
def test_typing_is_what_the_annotator_gives_on_expressions(expression: str, monkeypatch: pytest.MonkeyPatch) -> None:
    assert assert_same_typing(f"SELECT {expression} AS e, hip FROM hipparcos.main", _TABLESET, monkeypatch)
    assert_same_typing(f"SELECT hip FROM hipparcos.main WHERE {expression} IS NOT NULL", _TABLESET, monkeypatch)
    assert_same_typing(f"SELECT COUNT(*) FROM hipparcos.main GROUP BY {expression}", _TABLESET, monkeypatch)


@pytest.mark.parametrize("expression", OTHERS)
def test_refused_expressions_are_refused_alike(expression: str, monkeypatch: pytest.MonkeyPatch) -> None:
    assert_same_typing(f"SELECT {expression} AS e, hip FROM hipparcos.main", _TABLESET, monkeypatch)
    assert_same_typing(f"SELECT hip FROM hipparcos.main WHERE {expression}", _TABLESET, monkeypatch)


@pytest.mark.parametrize("condition", CONDITIONS)
def test_typing_is_what_the_annotator_gives_on_conditions(condition: str, monkeypatch: pytest.MonkeyPatch) -> None:
    for text in (
        f"SELECT hip FROM hipparcos.main WHERE {condition}",
        f"SELECT hip, COUNT(*) FROM hipparcos.main GROUP BY hip HAVING {condition}",
        f"SELECT a.hip FROM hipparcos.main AS a JOIN gaia.dr3lite AS b ON a.hip = b.hip AND {condition}",
    ):
        assert_same_typing(text, _TABLESET, monkeypatch)


def test_typing_happens_below_a_cast_only_as_the_annotator_does(monkeypatch: pytest.MonkeyPatch) -> None:
    # the annotator skips a CAST (typed by its target) and everything below it
    text = "SELECT CAST(hip + 1 AS DOUBLE PRECISION) AS c FROM hipparcos.main"
    fused, plain = _both(text, _TABLESET, monkeypatch)
    assert fused == plain
    offered, signatures = query_._BUILTIN_FUNCTIONS
    parsed, _ = query_._parse(text, signatures)
    tree = resolve.resolve(parsed.tree, _TABLESET, text, offered).tree
    add = tree.find(exp.Add)
    assert add is not None and add.type is None


def test_the_snapshot_sees_a_different_type_or_mark(monkeypatch: pytest.MonkeyPatch) -> None:
    # the comparison is not blind: a node typed otherwise, or without its mark, differs
    text = "SELECT hip + 1 AS e FROM hipparcos.main WHERE hpmag < 5"
    offered, signatures = query_._BUILTIN_FUNCTIONS
    trees = []
    for _ in range(3):
        parsed, _ = query_._parse(text, signatures)
        trees.append(resolve.resolve(parsed.tree, _TABLESET, text, offered).tree)
    literal = trees[1].find(exp.Literal)
    assert literal is not None
    literal.meta.pop("nonnull")
    less = trees[2].find(exp.LT)
    assert less is not None
    less.type = exp.DataType.build("INT")
    assert _snapshot(trees[0]) != _snapshot(trees[1])
    assert _snapshot(trees[0]) != _snapshot(trees[2])


# -- generated expressions ------------------------------------------------------------------------------

_COLUMNS = st.sampled_from(["hip", "ra", "dec", "hpmag", "bv", "name", "plx", "t.hip", "t.hpmag"])
_LITERALS = st.sampled_from(["1", "0", "2.5", "1e3", "'a'", "NULL", "TRUE", "0x10", "-3"])


def _combine(children: st.SearchStrategy[str]) -> st.SearchStrategy[str]:
    binary = st.sampled_from(["+", "-", "*", "/", "||", "=", "<", ">=", "<>", "AND", "OR"])
    unary = st.sampled_from(["-", "NOT ", "", "+"])
    functions: list[Callable[[list[str]], str]] = [
        lambda a: f"ROUND({a[0]}, 1)",
        lambda a: f"ABS({a[0]})",
        lambda a: f"COALESCE({a[0]}, {a[1]})",
        lambda a: f"MOD({a[0]}, {a[1]})",
        lambda a: f"POINT({a[0]}, {a[1]})",
        lambda a: f"DISTANCE(POINT({a[0]}, {a[1]}), POINT(1, 2))",
        lambda a: f"CONTAINS(POINT({a[0]}, 1), CIRCLE({a[1]}, 2, 3))",
        lambda a: f"CAST({a[0]} AS DOUBLE PRECISION)",
        lambda a: f"CASE WHEN {a[0]} THEN {a[1]} END",
        lambda a: f"{a[0]} IS NULL",
        lambda a: f"{a[0]} BETWEEN {a[1]} AND 2",
        lambda a: f"{a[0]} IN ({a[1]}, 1)",
        lambda a: f"UPPER({a[0]})",
        lambda a: f"SQRT({a[0]})",
    ]
    return st.one_of(
        st.builds(lambda a, op, b: f"{a} {op} {b}", children, binary, children),
        st.builds(lambda op, a: f"{op}({a})", unary, children),
        st.builds(lambda f, a, b: f([a, b]), st.sampled_from(functions), children, children),
    )


_EXPRESSIONS = st.recursive(st.one_of(_COLUMNS, _LITERALS), _combine, max_leaves=8)


@settings(max_examples=250, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(select=_EXPRESSIONS, where=_EXPRESSIONS)
def test_typing_is_what_the_annotator_gives_on_generated_expressions(select: str, where: str) -> None:
    text = f"SELECT {select} AS e FROM hipparcos.main AS t WHERE {where}"
    with pytest.MonkeyPatch.context() as monkeypatch:
        assert_same_typing(text, _TABLESET, monkeypatch)


# -- morph._copy --------------------------------------------------------------------------------------


def _copy_with_set(node: exp.Expr) -> exp.Expr:
    """morph._copy as it was: every argument stored with ``Expr.set``."""
    root = type(node)()
    stack = [(node, root)]
    while stack:
        source, target = stack.pop()
        target._type = source._type
        if source._meta is not None:
            target._meta = dict(source._meta)
        for key, value in source.args.items():
            if isinstance(value, exp.Expr):
                child = type(value)()
                stack.append((value, child))
                target.set(key, child)
            elif type(value) is list:
                items: list[object] = []
                for item in value:
                    if isinstance(item, exp.Expr):
                        child = type(item)()
                        stack.append((item, child))
                        items.append(child)
                    else:
                        items.append(item)
                target.set(key, items)
            else:
                target.args[key] = value
    return root


def test_copies_are_what_copying_with_set_gives() -> None:
    offered, signatures = query_._BUILTIN_FUNCTIONS
    copied = 0
    for text in [*FIXTURES, *TEST_STRINGS]:
        try:
            parsed, _ = query_._parse(text, signatures)
            tree = resolve.resolve(parsed.tree, _TABLESET, text, offered).tree
        except VOError:
            continue
        for node in _nodes(tree):
            mine, reference = morph._copy(node), _copy_with_set(node)
            assert_same_tree(mine, reference)
            assert mine.parent is None
            for a, b, source in zip(_nodes(mine), _nodes(reference), _nodes(node), strict=True):
                assert a._type is b._type is source._type  # types are shared with the original
            copied += 1
    assert copied > 4000
