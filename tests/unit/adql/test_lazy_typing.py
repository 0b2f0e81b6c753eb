"""Conditions and keys typed only when their translation needs it translate as when everything is typed.

:meth:`vostack.adql.resolve._Resolver.expression` types a WHERE, ON or HAVING condition, or a GROUP
BY or ORDER BY key, only when it holds a node whose translation reads types
(``resolve.TYPED_FOR_TRANSLATION``).  Every test is differential: the same query translated that way
and with every expression typed must give the same SQL, fields and tables, or the same error.
"""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings

from vostack.adql import resolve, translate
from vostack.errors import VOError
from vostack.schema import TableSet

from .conftest import make_tableset
from .corpus import BENCHMARK, EXPRESSIONS, FIXTURES, TEST_STRINGS, tableset_for
from .test_lyonetia import QUERIES as SUITE_QUERIES
from .test_lyonetia import SUITE

_TABLESET = make_tableset()


def _outcome(text: str, tableset: TableSet) -> tuple[object, ...]:
    try:
        translation = translate(text, tableset, row_limit=100)
    except VOError as error:
        return ("error", type(error).__name__, str(error))
    return ("ok", translation.sql, translation.fields, translation.tables)


def agrees(text: str, tableset: TableSet, monkeypatch: pytest.MonkeyPatch) -> bool:
    """Both ways translate ``text`` alike; True when it translated."""
    lazy = _outcome(text, tableset)
    with monkeypatch.context() as patch:
        patch.setattr(resolve._Resolver, "lazy_typing", False)
        full = _outcome(text, tableset)
    assert lazy == full, text
    return lazy[0] == "ok"


def test_lazy_typing_agrees_on_the_fixture_unit_test_and_benchmark_queries(monkeypatch: pytest.MonkeyPatch) -> None:
    translated = 0
    for text in [*FIXTURES, *TEST_STRINGS, *BENCHMARK.values()]:
        for tableset in (_TABLESET, tableset_for(text)):
            if tableset is not None:
                translated += agrees(text, tableset, monkeypatch)
    assert translated > 300


@pytest.mark.skipif(not SUITE_QUERIES, reason=f"no lyonetia ADQL suite at {SUITE}")
def test_lazy_typing_agrees_on_the_lyonetia_queries(monkeypatch: pytest.MonkeyPatch) -> None:
    translated = 0
    for param in SUITE_QUERIES:
        valid, text, udfs = param.values
        if not (valid and not udfs and isinstance(text, str)):
            continue
        tableset = tableset_for(text)
        if tableset is not None:
            translated += agrees(text, tableset, monkeypatch)
    assert translated > 250


@settings(
    max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture]
)
@given(select=EXPRESSIONS, where=EXPRESSIONS)
def test_lazy_typing_agrees_on_generated_queries(select: str, where: str, monkeypatch: pytest.MonkeyPatch) -> None:
    text = (
        f"SELECT {select} AS v, hip FROM hipparcos.main AS t WHERE {where} "
        f"GROUP BY hip, {select} HAVING {where} ORDER BY {select}"
    )
    agrees(text, _TABLESET, monkeypatch)
