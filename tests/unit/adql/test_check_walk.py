"""check_query's walk of every node finds what the walk over ``expressions.nodes`` found.

:func:`vostack.adql.validate.check_query` walks the tree once more after its checks of the
grammar (reserved words among the identifiers, geometry calls, strings given to numeric
operators), in place, without listing the nodes first.  The reference here is that walk as it
was, over :func:`vostack.adql.expressions.nodes`: both must raise the same error (class,
message, line, column), or find the same geometry calls in the same order and the same
literal error, on the test corpora and generated queries.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import cast

import pytest
from hypothesis import HealthCheck, given, settings
from sqlglot import exp
from sqlglot.errors import ErrorLevel, ParseError, TokenError

from vostack.adql import query as query_
from vostack.adql import validate
from vostack.adql.dialect import ADQL, GEOMETRY_FUNCTIONS, RESERVED_WORDS
from vostack.adql.errormap import node_offset, syntax_error
from vostack.adql.expressions import node_role, nodes
from vostack.errors import ADQLError

from .corpus import BENCHMARK, EXPRESSIONS, FIXTURES, TEST_STRINGS
from .test_lyonetia import QUERIES as SUITE_QUERIES

_DIALECT = ADQL()


def _reference(tree: exp.Expr, text: str, udfs: Mapping[str, int | None]) -> validate.Checked:
    """check_query with its final walk over expressions.nodes (the code before the in-place walk)."""
    if not isinstance(tree, exp.Query):
        raise syntax_error("an ADQL query starts with SELECT (or WITH)", text, node_offset(tree))
    validate._Checker(text, udfs).query(tree, top=True)  # the grammar checks
    calls: list[exp.Anonymous] = []
    literal_error = None
    roles: dict[type, int] = {}
    for node in nodes(tree):
        role = roles.get(node.__class__)
        if role is None:
            role = node_role(node.__class__, (exp.Identifier, exp.Anonymous, validate._NUMERIC), roles)
        if role == 1:
            if not node.args.get("quoted") and node.name.upper() in RESERVED_WORDS:
                raise syntax_error(validate._reserved_message(node.name), text, node_offset(node))
        elif role == 2:
            if isinstance(node.this, str) and node.this.upper() in GEOMETRY_FUNCTIONS:
                calls.append(cast(exp.Anonymous, node))
        elif role == 3 and literal_error is None:
            literal_error = validate._string_operand(node, text)
    return validate.Checked(calls, literal_error)


def _error(error: ADQLError | None) -> tuple[object, ...] | None:
    return None if error is None else (type(error).__name__, str(error), error.line, error.col)


def _tree(text: str) -> exp.Expr | None:
    try:
        tokens = _DIALECT.tokenize(text)
        trees = [t for t in _DIALECT.parser(error_level=ErrorLevel.IMMEDIATE).parse(tokens, text) if t]
        tree = trees[0] if len(trees) == 1 else None
    except (ParseError, TokenError):
        return None
    return tree


def agrees(text: str) -> bool:
    """Both walks agree on ``text``; True when the tree passed the grammar checks."""
    signatures = query_._BUILTIN_FUNCTIONS[1]
    outcomes: list[tuple[object, ...]] = []
    for check in (validate.check_query, _reference):
        tree = _tree(text)
        if tree is None:
            return False
        try:
            checked = check(tree, text, signatures)
        except ADQLError as error:
            outcomes.append(("error", _error(error)))
        else:
            outcomes.append(("ok", [c.sql() for c in checked.geometry_calls], _error(checked.literal_error)))
    assert outcomes[0] == outcomes[1], text
    return outcomes[0][0] == "ok"


def test_the_walk_agrees_on_the_benchmark_fixture_and_unit_test_queries() -> None:
    texts = [*BENCHMARK.values(), *FIXTURES, *TEST_STRINGS]
    assert sum(agrees(text) for text in texts) > len(texts) // 2


@pytest.mark.skipif(not SUITE_QUERIES, reason="no lyonetia ADQL suite (../shared/adql-suite)")
def test_the_walk_agrees_on_the_lyonetia_queries() -> None:
    texts = [str(param.values[1]) for param in SUITE_QUERIES]
    assert sum(agrees(text) for text in texts) > len(texts) // 2


@pytest.mark.parametrize(
    "text",
    [
        "SELECT select FROM t",  # a reserved word as a name (refused before, by check_tokens, in parse())
        'SELECT "select", t.order FROM t',
        "SELECT 'a' - 1, SQRT('4') FROM t",
        "SELECT POINT(1, 2), CONTAINS(POINT(a, b), CIRCLE(POINT(1, 2), 3)) FROM t WHERE 1 = INTERSECTS(a, b)",
        "SELECT * FROM t WHERE DISTANCE(1, 2, 3, 4) < 'x' || 1",
    ],
)
def test_the_walk_agrees_on_these(text: str) -> None:
    agrees(text)


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(select=EXPRESSIONS, where=EXPRESSIONS)
def test_the_walk_agrees_on_generated_queries(select: str, where: str) -> None:
    agrees(f"SELECT {select} AS e FROM hipparcos.main AS t WHERE {where}")


def test_the_walk_looks_below_an_identifier_holding_nodes() -> None:
    # the parser never puts a node below an identifier; the walk looks there all the same
    text = "SELECT a FROM t"
    signatures = query_._BUILTIN_FUNCTIONS[1]
    found = []
    for check in (validate.check_query, _reference):
        tree = _tree(text)
        assert tree is not None
        identifier = tree.find(exp.Identifier)
        assert identifier is not None
        identifier.set("extra", exp.Anonymous(this="POINT", expressions=[exp.Literal.number(1)] * 2))
        found.append([call.sql() for call in check(tree, text, signatures).geometry_calls])
    assert found[0] == found[1] == ["POINT(1, 1)"]
