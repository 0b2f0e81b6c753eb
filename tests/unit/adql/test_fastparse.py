"""vostack.adql.fastparse builds exactly ADQLParser's tree, or declines.

Every test is differential: the same token list goes to ``fastparse.parse`` and to
``ADQLParser(error_level=ErrorLevel.IMMEDIATE).parse``; when the fast parser accepts a
query the two trees must agree in every detail :func:`assert_same_tree` checks (node
classes, argument keys in order and values including ``None``, ``meta``, comments,
parent links, ``arg_key``/``index``), and when the full parser raises the fast one
must have declined.
"""

from __future__ import annotations

import ast
import importlib.util
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlglot import exp
from sqlglot.errors import ErrorLevel, ParseError, TokenError
from sqlglot.tokenizer_core import Token

from vostack.adql import fastparse, translate
from vostack.adql.dialect import ADQL, FUNCTIONS

from .conftest import make_tableset
from .test_lyonetia import QUERIES as SUITE_QUERIES
from .test_lyonetia import SUITE

_DIALECT = ADQL()
_HERE = Path(__file__).resolve().parent
_ROOT = _HERE.parents[2]


def assert_same_tree(fast: object, full: object, path: str = "tree") -> None:
    """Walk both trees: type, args (keys in order, None values), meta, comments, parent links, positions."""
    assert type(fast) is type(full), f"{path}: {type(fast).__name__} != {type(full).__name__}"
    if isinstance(full, list):
        assert isinstance(fast, list)
        assert len(fast) == len(full), f"{path}: {len(fast)} items != {len(full)}"
        for index, (a, b) in enumerate(zip(fast, full, strict=True)):
            assert_same_tree(a, b, f"{path}[{index}]")
        return
    if not isinstance(full, exp.Expr):
        assert fast == full, f"{path}: {fast!r} != {full!r}"
        return
    assert isinstance(fast, exp.Expr)
    assert list(fast.args) == list(full.args), f"{path}: keys {list(fast.args)} != {list(full.args)}"
    assert fast._meta == full._meta, f"{path}: meta {fast._meta} != {full._meta}"
    assert fast.comments == full.comments, f"{path}: comments {fast.comments!r} != {full.comments!r}"
    assert fast.arg_key == full.arg_key, f"{path}: arg_key {fast.arg_key} != {full.arg_key}"
    assert fast.index == full.index, f"{path}: index {fast.index} != {full.index}"
    assert fast._type == full._type, f"{path}: type {fast._type} != {full._type}"
    for key, value in full.args.items():
        other = fast.args[key]
        assert_same_tree(other, value, f"{path}.{key}")
        for child_fast, child_full in zip(_children(other), _children(value), strict=True):
            assert child_full.parent is full, f"{path}.{key}: the full parser's child is not linked"
            assert child_fast.parent is fast, f"{path}.{key}: child's parent is not its node"


def _children(value: object) -> Iterator[exp.Expr]:
    for item in value if isinstance(value, list) else [value]:
        if isinstance(item, exp.Expr):
            yield item


def _full(tokens: list[Token], text: str) -> list[exp.Expr | None]:
    return _DIALECT.parser(error_level=ErrorLevel.IMMEDIATE).parse(tokens, text)


def check(text: str) -> bool:
    """Compare both parsers on ``text``; True when the fast parser took it."""
    try:
        tokens = _DIALECT.tokenize(text)
    except TokenError:
        return False
    return compare_tokens(tokens, text)


def compare_tokens(tokens: list[Token], text: str) -> bool:
    """Compare both parsers on a token list; True when the fast parser took it."""
    try:
        full = _full(tokens, text)
    except ParseError:
        assert fastparse.parse(tokens, text) is None, f"accepted what the full parser refuses: {text!r}"
        return False
    fast = fastparse.parse(tokens, text)
    if fast is None:
        return False
    statements = [tree for tree in full if tree]
    assert len(statements) == 1, f"accepted {len(statements)} statements: {text!r}"
    assert fast.parent is None
    assert_same_tree(fast, statements[0])
    assert fast.sql(dialect=_DIALECT) == statements[0].sql(dialect=_DIALECT)
    return True


def _full_tree(text: str) -> exp.Expr:
    tree = _full(_DIALECT.tokenize(text), text)[0]
    assert tree is not None
    return tree


@pytest.mark.parametrize(
    "damage",
    [
        lambda tree: setattr(tree.find(exp.Paren), "comments", None),
        lambda tree: tree.find(exp.Star).args.pop("ilike"),
        lambda tree: tree.find(exp.Identifier).meta.update(col=99),
        lambda tree: tree.find(exp.Limit).meta.clear(),
        lambda tree: tree.find(exp.Div).set("typed", None),
        lambda tree: tree.find(exp.Literal).set("is_string", 0),
        lambda tree: tree.set("expressions", list(reversed(tree.expressions))),
    ],
)
def test_tree_comparison_sees_what_expression_equality_ignores(damage: Callable[[exp.Expr], object]) -> None:
    text = "SELECT TOP 3 (a), b / 2, * FROM t"
    damaged = _full_tree(text)
    damage(damaged)
    assert_same_tree(_full_tree(text), _full_tree(text))
    with pytest.raises(AssertionError):
        assert_same_tree(damaged, _full_tree(text))


# -- corpora ---------------------------------------------------------------------------------


def _benchmark_queries() -> dict[str, str]:
    spec = importlib.util.spec_from_file_location("_benchmark_adql", _ROOT / "benchmarks" / "adql.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    queries: dict[str, str] = module.QUERIES
    return queries


def _fixture_queries() -> list[str]:
    """The ADQL half of every "ADQL; PostgreSQL;" pair in fixtures/*.sql."""
    found = []
    for path in sorted((_HERE / "fixtures").glob("*.sql")):
        blocks = path.read_text().split("\n\n")
        for block in blocks:
            lines = [line for line in block.splitlines() if line and not line.startswith("#")]
            statements = "\n".join(lines).split(";\n")
            if statements and statements[0].strip():
                found.append(statements[0].strip().rstrip(";"))
    return found


def _test_strings() -> list[str]:
    """String constants of the ADQL unit tests that look like queries."""
    found = []
    for path in sorted(_HERE.glob("test_*.py")):
        if path.name == Path(__file__).name:
            continue
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Constant) and isinstance(node.value, str):
                head = node.value.lstrip()[:6].upper()
                if head.startswith(("SELECT", "WITH")):
                    found.append(node.value)
    return found


BENCHMARK = _benchmark_queries()
FIXTURES = _fixture_queries()
TEST_STRINGS = _test_strings()

# precedence, associativity and the corners sqlglot's parser handles in its own way: all in the fast subset
ACCEPTED = [
    "SELECT a - b - c, a / b * c, a * b / c, a - b + c, -a * b, - -a, +a, -(a + b) FROM t",
    "SELECT a || b || c, a || b + c, a + b || c FROM t",
    "SELECT * FROM t WHERE NOT a = b AND c OR d",
    "SELECT * FROM t WHERE a OR b AND NOT c OR NOT NOT d",
    "SELECT * FROM t WHERE a = b = c AND a < b <> c",
    "SELECT * FROM t WHERE a < b + 1 AND 1 + a * 2 >= b / 3 - 4",
    "SELECT * FROM t WHERE x BETWEEN 1 AND 2 AND y NOT BETWEEN a - 1 AND b + 1",
    "SELECT * FROM t WHERE x IN (1, 2, 3) AND y NOT IN ('a', 'b') OR z IN (a + 1)",
    "SELECT * FROM t WHERE x LIKE 'a%' AND y NOT LIKE 'b' || c AND z ILIKE 'q' AND w NOT ILIKE 'r'",
    "SELECT * FROM t WHERE x IS NULL AND y IS NOT NULL OR NOT z IS NULL",
    "SELECT * FROM t WHERE x IS NULL = 1 AND 1 = y IS NULL AND a NOT IN (1) IN (2)",
    "SELECT * FROM t WHERE a NOT LIKE 'x' LIKE 'y' AND b NOT BETWEEN 1 AND 2 BETWEEN 3 AND 4",
    "SELECT * FROM t WHERE x IS NULL IS NOT NULL AND x IS NULL BETWEEN 1 AND 2",
    "SELECT * FROM t WHERE a < b IN (1) AND a IN (1) < b AND a IN (1) IN (2) IS NULL",
    "SELECT * FROM t WHERE (a = 1) AND ((b)) = (c + d) * e",
    "SELECT COUNT(*), COUNT(DISTINCT x), COUNT(DISTINCT x, y), SUM(a + 1), PI(), RAND(), RAND(1) FROM t",
    "SELECT ROUND(a), ROUND(a, 2), TRUNCATE(a, 1), MOD(a + 1, b), LOG10(x), LOG(x), COALESCE(a, b, c) FROM t",
    "SELECT ABS(a, b), PI(1), ivo_hasword(a, 'x'), my_udf(), POINT('ICRS', ra, dec) FROM t",
    "SELECT CONTAINS(POINT(ra, dec), CIRCLE(1, 2, 3)), DISTANCE(POINT(a, b), POINT(c, d)) FROM t",
    "SELECT (COUNT(*)), -COUNT(*), NOT x FROM t",
    "SELECT 1, 1.5, 1e3, 'it''s', 0x1F, NULL, TRUE, FALSE FROM t",
    'SELECT "Quoted", "sel""ect" AS "A b", t."x", s.t.c, c.s.t.x FROM s."T" AS "al"',
    'SELECT a AS b, c d, e AS "F" FROM t',
    "SELECT t.*, s.t.*, * FROM s.t, u",
    "SELECT ALL a FROM t",
    "SELECT DISTINCT a FROM t",
    "SELECT TOP 5 DISTINCT a FROM t",
    "SELECT DISTINCT TOP 5 a FROM t",
    "SELECT TOP 5 ALL a FROM t",
    "SELECT ALL TOP 5 a FROM t",
    "SELECT TOP 0x10 a FROM t",
    "SELECT a FROM t ORDER BY a, b ASC, c DESC OFFSET 10",
    "SELECT a FROM t ORDER BY a OFFSET 2 + 3 * 4",
    "SELECT a FROM t ORDER BY a OFFSET 5 WHERE b = 1",
    "SELECT a FROM t GROUP BY a, b HAVING COUNT(*) > 1 ORDER BY a",
    "SELECT a FROM t HAVING a > 1 GROUP BY a",
    "SELECT a FROM t AS x JOIN u AS y ON x.a = y.a LEFT JOIN v ON v.a = x.a",
    "SELECT a FROM t INNER JOIN u ON t.a = u.a RIGHT OUTER JOIN v ON 1 = 1 FULL OUTER JOIN w ON TRUE",
    "SELECT a FROM t LEFT OUTER JOIN u ON t.a = u.a CROSS JOIN v, w AS q, x y",
    "WITH a AS (SELECT x FROM t), b AS (SELECT y FROM u WHERE y > 1) SELECT * FROM a JOIN b ON a.x = b.y",
    'SELECT a FROM t JOIN u USING (a, "B") LEFT JOIN s.v AS w USING (c) JOIN c.s.x y USING (d)',
    "SELECT q.a FROM (SELECT a FROM t WHERE a > 1 ORDER BY a) AS q JOIN (SELECT TOP 1 b FROM u) r ON q.a = r.b",
    "SELECT * FROM (SELECT a FROM t), (SELECT b FROM (SELECT b FROM u) AS x) AS y WHERE 1 = 1",
]

# outside the subset, or not ADQL at all: the fast parser must decline or agree
OTHERS = [
    "SELECT .5 FROM t",
    "SELECT a FROM t OFFSET 2 + 3",
    "SELECT a FROM t, u USING (a)",
    "SELECT a FROM t JOIN u USING a",
    "SELECT a FROM t JOIN u USING (t.a)",
    "SELECT a FROM t JOIN values USING (a)",
    "SELECT a FROM t JOIN u AS values USING (a)",
    "SELECT a FROM t JOIN u before USING (a)",
    "SELECT a FROM (SELECT a FROM t) 'q'",
    "SELECT a FROM (SELECT a FROM t) q (x)",
    "SELECT a FROM (SELECT a FROM t) AS q OFFSET 1",
    "SELECT a FROM (SELECT a FROM t UNION SELECT b FROM u) AS q",
    "SELECT a FROM ((SELECT a FROM t)) AS q",
    "SELECT a FROM t NATURAL JOIN u",
    "SELECT a FROM t JOIN u",
    "SELECT a FROM t WHERE x = 1; SELECT b FROM u",
    "SELECT a FROM t -- a comment",
    "SELECT a FROM (SELECT a FROM t) AS q",
    "SELECT a FROM t WHERE a IN (SELECT b FROM u)",
    "SELECT a FROM t UNION SELECT b FROM u",
    "SELECT CAST(a AS INTEGER) FROM t",
    "SELECT CASE WHEN a THEN 1 END FROM t",
    "SELECT a FROM t WHERE EXISTS (SELECT 1 FROM u)",
    "SELECT a at FROM t",
    "SELECT a FROM t WHERE x IS NULL + 1",
    "SELECT a FROM t WHERE a IN (1) || 'x'",
    "SELECT a FROM t WHERE x BETWEEN 1 2",
    "SELECT a, FROM t",
    "SELECT FROM t",
    "SELECT a FROM t WHERE",
    "SELECT a FROM t t2 t3",
    "SELECT a FROM t OFFSET",
    "SELECT a + FROM t",
    "SELECT a FROM t WHERE a = = 1",
    "SELECT f(x AS y) FROM t",
    "SELECT a.b.c.d.e FROM t",
    "SELECT a % 2, a & b, a | b, a ^ b, ~a, a << b FROM t",
    "SELECT TOP 5 % a FROM t",
    "SELECT a FROM t WHERE NOT",
    "SELECT 'a' 'b' FROM t",
]


def test_benchmark_queries_take_the_fast_path() -> None:
    for name, text in BENCHMARK.items():
        assert check(text), name


@pytest.mark.parametrize("text", ACCEPTED)
def test_fast_parser_builds_the_same_tree(text: str) -> None:
    assert check(text)


@pytest.mark.parametrize("text", OTHERS)
def test_fast_parser_builds_the_same_tree_or_declines(text: str) -> None:
    check(text)


@pytest.mark.parametrize(
    "text",
    [
        "SELECT a FROM t; SELECT b FROM u",
        "SELECT a FROM t -- c",
        "SELECT a FROM t JOIN u",
        "SELECT a FROM t WHERE x IS NULL + 1",
        "SELECT a FROM t WHERE a IN (SELECT b FROM u)",
        "SELECT a FROM t UNION SELECT b FROM u",
        "SELECT CAST(a AS INTEGER) FROM t",
        "SELECT a AT FROM t",
        "SELECT a FROM t OFFSET 5",
    ],
)
def test_fast_parser_declines_what_it_does_not_know(text: str) -> None:
    tokens = _DIALECT.tokenize(text)
    assert fastparse.parse(tokens, text) is None


def test_every_prefix_of_a_token_list_agrees() -> None:
    text = "WITH c AS (SELECT x FROM s.t AS u WHERE x IN (1, 2)) SELECT TOP 3 c.x, COUNT(*) FROM c GROUP BY c.x"
    tokens = _DIALECT.tokenize(text)
    taken = 0
    for cut in range(len(tokens) + 1):
        taken += compare_tokens(tokens[:cut], text)
    assert taken >= 3


def test_fixture_queries_agree() -> None:
    taken = sum(check(text) for text in FIXTURES)
    assert FIXTURES and taken > len(FIXTURES) // 2


def test_unit_test_queries_agree() -> None:
    taken = sum(check(text) for text in TEST_STRINGS)
    assert TEST_STRINGS and taken > len(TEST_STRINGS) // 3


@pytest.mark.skipif(not SUITE_QUERIES, reason=f"no lyonetia ADQL suite at {SUITE}")
def test_lyonetia_queries_agree() -> None:
    taken = sum(check(str(param.values[1])) for param in SUITE_QUERIES)
    assert taken > len(SUITE_QUERIES) // 4


def test_translation_is_the_same_without_the_fast_path(monkeypatch: pytest.MonkeyPatch) -> None:
    tables = make_tableset()
    texts = [*FIXTURES, *BENCHMARK.values()]

    def outcome(text: str) -> object:
        try:
            result = translate(text, tables)
        except Exception as error:  # the error, its class, message and position, is part of the outcome
            return (type(error), str(error), getattr(error, "line", None), getattr(error, "col", None))
        return result

    fast = [outcome(text) for text in texts]
    monkeypatch.setattr(fastparse, "parse", lambda tokens, text: None)
    full = [outcome(text) for text in texts]
    assert fast == full


# -- generated queries -------------------------------------------------------------------------

_NAMES = ["a", "b", "ra", "Dec", '"x y"', '"Sel"', "t.a", "s.t.b", 't."q"', "hpmag"]
_OPERATORS = ["+", "-", "*", "/", "||", "=", "<>", "!=", "<", ">", "<=", ">=", "AND", "OR"]
_LITERALS = ["1", "0", "2.5", "1e3", "'s'", "'it''s'", "0x1F", "NULL", "TRUE", "FALSE"]
_FUNCTION_NAMES = [*sorted(FUNCTIONS), "ivo_f", "udf"]


@st.composite
def expressions(draw: st.DrawFn, depth: int = 3) -> str:
    """Random nested ADQL value and condition expressions, every operator and precedence level."""
    if depth <= 0 or draw(st.integers(0, 3)) == 0:
        return draw(st.sampled_from(_NAMES + _LITERALS))
    sub = expressions(depth - 1)
    choice = draw(st.integers(0, 12))
    if choice <= 3:
        return f"{draw(sub)} {draw(st.sampled_from(_OPERATORS))} {draw(sub)}"
    if choice == 4:
        return f"{draw(st.sampled_from(['-', '+', 'NOT ', '- -']))}{draw(sub)}"
    if choice == 5:
        return f"({draw(sub)})"
    if choice == 6:
        name = draw(st.sampled_from(_FUNCTION_NAMES))
        args = draw(st.lists(sub, max_size=3))
        if name == "COUNT" and draw(st.booleans()):
            return draw(st.sampled_from(["COUNT(*)", f"COUNT(DISTINCT {draw(sub)})"]))
        return f"{name}({', '.join(args)})"
    if choice == 7:
        negated = draw(st.sampled_from(["", "NOT "]))
        return f"{draw(sub)} {negated}BETWEEN {draw(sub)} AND {draw(sub)}"
    if choice == 8:
        negated = draw(st.sampled_from(["", "NOT "]))
        items = draw(st.lists(sub, min_size=1, max_size=3))
        return f"{draw(sub)} {negated}IN ({', '.join(items)})"
    if choice == 9:
        negated = draw(st.sampled_from(["", "NOT "]))
        return f"{draw(sub)} {negated}{draw(st.sampled_from(['LIKE', 'ILIKE']))} {draw(sub)}"
    if choice == 10:
        return f"{draw(sub)} IS {draw(st.sampled_from(['', 'NOT ']))}NULL"
    if choice == 11:
        first, second = draw(st.sampled_from(_OPERATORS)), draw(st.sampled_from(_OPERATORS))
        return f"{draw(sub)} {first} {draw(sub)} {second} {draw(sub)}"
    return f"{draw(sub)} {draw(st.sampled_from(['-', '/', '||', 'AND', 'OR', '=']))} {draw(sub)}"


_TABLES = [
    "t",
    "s.t",
    '"T"',
    "t AS x",
    "s.t y",
    't AS "Z"',
    "(SELECT a, b FROM t WHERE a > 1) AS q",
    "(SELECT 1 FROM u) v",
]


@st.composite
def queries(draw: st.DrawFn) -> str:
    """Random SELECT statements with every clause the fast parser knows, in random order sometimes."""
    head = draw(st.sampled_from(["", "ALL ", "DISTINCT ", "TOP 5 ", "DISTINCT TOP 3 ", "TOP 2 DISTINCT "]))
    items = draw(
        st.lists(
            st.one_of(
                expressions(),
                st.sampled_from(["*", "t.*", "s.t.*"]),
                st.builds(lambda e, a: f"{e} AS {a}", expressions(2), st.sampled_from(["x", '"Y"'])),
                st.builds(lambda e, a: f"{e} {a}", expressions(2), st.sampled_from(["x", '"Y"'])),
            ),
            min_size=1,
            max_size=3,
        )
    )
    parts = [f"SELECT {head}{', '.join(items)} FROM {draw(st.sampled_from(_TABLES))}"]
    for _ in range(draw(st.integers(0, 2))):
        join = draw(st.sampled_from(["JOIN", "INNER JOIN", "LEFT JOIN", "LEFT OUTER JOIN", "RIGHT JOIN", "FULL JOIN"]))
        kind = draw(st.integers(0, 3))
        if kind == 0:
            parts.append(f"{join} {draw(st.sampled_from(_TABLES))} ON {draw(expressions(2))}")
        elif kind == 3:
            names = draw(st.lists(st.sampled_from(["a", "b", '"C"']), min_size=1, max_size=2))
            parts.append(f"{join} {draw(st.sampled_from(_TABLES))} USING ({', '.join(names)})")
        elif kind == 1:
            parts.append(f"CROSS JOIN {draw(st.sampled_from(_TABLES))}")
        else:
            parts.append(f", {draw(st.sampled_from(_TABLES))}")
    clauses = [
        f"WHERE {draw(expressions())}",
        f"GROUP BY {', '.join(draw(st.lists(expressions(1), min_size=1, max_size=2)))}",
        f"HAVING {draw(expressions(2))}",
        f"ORDER BY {draw(expressions(1))} {draw(st.sampled_from(['', 'ASC', 'DESC']))}",
        f"OFFSET {draw(st.sampled_from(['3', '1 + 2', '0x2']))}",
    ]
    chosen = draw(st.lists(st.sampled_from(clauses), unique=True, max_size=5))
    if draw(st.integers(0, 9)) > 0:
        chosen.sort(key=clauses.index)
    query = " ".join(parts + chosen)
    if draw(st.integers(0, 5)) == 0:
        query = f"WITH c AS ({query}), d AS (SELECT 1 FROM u) {query}"
    return query.lower() if draw(st.integers(0, 3)) == 0 else query


_SETTINGS = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@_SETTINGS
@given(expressions(4))
def test_generated_expressions_agree(text: str) -> None:
    check(f"SELECT {text} FROM t")
    check(f"SELECT a FROM t WHERE {text}")


@_SETTINGS
@given(queries())
def test_generated_queries_agree(text: str) -> None:
    check(text)


@_SETTINGS
@given(queries(), st.integers(0, 400), st.sampled_from([",", "(", ")", ".", "AS", "NOT", "JOIN", "IN", "-", "x"]))
def test_mutated_queries_agree(text: str, at: int, insert: str) -> None:
    at = min(at, len(text))
    check(f"{text[:at]} {insert} {text[at:]}")
