"""check_query's shortcuts give what its plain tests give.

:class:`vostack.adql.validate._Checker` sends a value whose class is exactly one of the late
branches of its ``isinstance`` chain (aggregates, functions, ``exp.Anonymous``) straight to that
branch (``validate._LATE_VALUES``); with the table empty every value goes down the whole chain,
the code as it was.  Both must raise the same error (class, message, line, column) or find the same
geometry calls and literal error.  The walk checks a column's plain names in place; a column holding
anything else is walked like every other node (compared with test_check_walk's reference walk).
"""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from sqlglot import exp

from vostack.adql import query as query_
from vostack.adql import validate
from vostack.errors import ADQLError

from .corpus import BENCHMARK, EXPRESSIONS, FIXTURES, TEST_STRINGS
from .test_check_walk import _error, _reference, _tree
from .test_lyonetia import QUERIES as SUITE_QUERIES


def _outcome(text: str) -> tuple[object, ...] | None:
    tree = _tree(text)
    if tree is None:
        return None
    try:
        checked = validate.check_query(tree, text, query_._BUILTIN_FUNCTIONS[1])
    except ADQLError as error:
        return ("error", _error(error))
    return ("ok", [call.sql() for call in checked.geometry_calls], _error(checked.literal_error))


def agrees(text: str, monkeypatch: pytest.MonkeyPatch) -> bool:
    """check_query gives the same with and without the late-branch table; True when ``text`` passed."""
    fast = _outcome(text)
    with monkeypatch.context() as patch:
        patch.setattr(validate, "_LATE_VALUES", {})
        plain = _outcome(text)
    assert fast == plain, text
    return fast is not None and fast[0] == "ok"


def test_the_late_branch_table_holds_the_aggregates_functions_and_anonymous_calls() -> None:
    assert validate._LATE_VALUES[exp.Anonymous] == validate._CALL
    assert validate._LATE_VALUES[exp.Count] == validate._AGGREGATE
    assert validate._LATE_VALUES[exp.Sqrt] == validate._FUNCTION
    assert all(not issubclass(klass, validate._EARLY_VALUES) for klass in validate._LATE_VALUES)


def test_the_shortcuts_agree_on_the_benchmark_fixture_and_unit_test_queries(monkeypatch: pytest.MonkeyPatch) -> None:
    texts = [*BENCHMARK.values(), *FIXTURES, *TEST_STRINGS]
    assert sum(agrees(text, monkeypatch) for text in texts) > len(texts) // 2


@pytest.mark.skipif(not SUITE_QUERIES, reason="no lyonetia ADQL suite (../shared/adql-suite)")
def test_the_shortcuts_agree_on_the_lyonetia_queries(monkeypatch: pytest.MonkeyPatch) -> None:
    texts = [str(param.values[1]) for param in SUITE_QUERIES]
    assert sum(agrees(text, monkeypatch) for text in texts) > len(texts) // 2


@pytest.mark.parametrize(
    "text",
    [
        "SELECT COUNT(*), AVG(a), MAX(SQRT(b)), MIN(ABS(c)), SUM(DISTINCT d) FROM t",
        "SELECT COUNT(*, a) FROM t",  # refused by the aggregate branch
        "SELECT SQRT('4'), POINT(1, 2), foo(1) FROM t",  # an unknown function
        "SELECT CONTAINS(POINT(a, b), CIRCLE(1, 2)) FROM t",  # wrong arguments for CIRCLE
        "SELECT POINT(1, 2, 3) FROM t",
        "SELECT ivo_hasword(a, 'b'), LOWER(UPPER(c)), COALESCE(a, 1) FROM t",
    ],
)
def test_the_shortcuts_agree_on_these(text: str, monkeypatch: pytest.MonkeyPatch) -> None:
    agrees(text, monkeypatch)


@settings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture]
)
@given(select=EXPRESSIONS, where=EXPRESSIONS)
def test_the_shortcuts_agree_on_generated_queries(select: str, where: str, monkeypatch: pytest.MonkeyPatch) -> None:
    agrees(f"SELECT {select} AS e FROM hipparcos.main AS t WHERE {where}", monkeypatch)


@pytest.mark.parametrize(
    "below",
    [
        exp.Anonymous(this="POINT", expressions=[exp.Literal.number(1), exp.Literal.number(2)]),
        exp.Identifier(this="select", quoted=False, extra=exp.Literal.number(1)),
        exp.Identifier(this="x", quoted=False, extra=exp.Anonymous(this="CIRCLE", expressions=[])),
    ],
)
def test_the_walk_looks_below_a_column_holding_nodes(below: exp.Expr) -> None:
    # the parser only puts plain names in a column; the walk looks below anything else all the same
    text = "SELECT t.a, b FROM t"
    found: list[tuple[object, ...]] = []
    for check in (validate.check_query, _reference):
        tree = _tree(text)
        assert tree is not None
        column = tree.find(exp.Column)
        assert column is not None
        column.set("db", below.copy())
        try:
            checked = check(tree, text, query_._BUILTIN_FUNCTIONS[1])
        except ADQLError as error:
            found.append(("error", _error(error)))
        else:
            found.append(("ok", [call.sql() for call in checked.geometry_calls]))
    assert found[0] == found[1]
