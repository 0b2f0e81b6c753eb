"""Translations cached by query shape are the translations of the texts they are filled in for.

:class:`vostack.adql.Translator` translates a text once and fills its literals into the SQL for
every later text of the same shape (:mod:`vostack.adql.shapes`).  Every test here is
differential: a Translator that has seen a query translates variants of it (its literals replaced
by other values of the same kind) and must give exactly what a fresh :func:`vostack.adql.translate`
of the variant gives (SQL, fields, tables), or the same error.  The queries: the IVOA lyonetia
suite (each against a TableSet made for it), the fixture, unit-test and benchmark queries, and
generated conditions.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from vostack.adql import Translator, translate
from vostack.adql.shapes import Shape, shape_of
from vostack.errors import VOError
from vostack.schema import TableSet

from .conftest import make_tableset
from .corpus import BENCHMARK, EXPRESSIONS, FIXTURES, TEST_STRINGS, tableset_for
from .test_lyonetia import QUERIES as SUITE_QUERIES
from .test_lyonetia import SUITE

_TABLESET = make_tableset()

#: Other values of each kind of literal (the marker in a skeleton).
VALUES = {
    "i": ["0", "1", "2", "7", "42", "90", "2147483647"],
    "l": ["3000000000", "9223372036854775807"],
    "b": ["9223372036854775808", "123456789012345678901234567890"],
    "d": ["0.5", "12.25", "89.999", "0.0", "1.", "361.5"],
    "e": ["1e3", "2.5E-3", "1e-300"],
    "f": [".75", ".5", ".0"],
    "g": [".5e3", ".1E-2"],
    "s": ["'x'", "'it''s'", "'back\\slash'", "''", "'%a_'", "'deg'", "'Circle ICRS 1 2 3'", "'ICRS'", "'é'"],
}

Outcome = tuple[object, ...]


def _outcome(run: object) -> Outcome:
    assert callable(run)
    try:
        translation = run()
    except VOError as error:
        return ("error", type(error).__name__, str(error))
    return ("ok", translation.sql, translation.fields, translation.tables)


def _text(shape: Shape, literals: Sequence[str]) -> str:
    pieces = re.split("\x00[a-z]", shape.skeleton)
    assert len(pieces) == len(literals) + 1
    out = [pieces[0]]
    for literal, piece in zip(literals, pieces[1:], strict=True):
        out += [literal, piece]
    return "".join(out)


def _kinds(shape: Shape) -> list[str]:
    return re.findall("\x00([a-z])", shape.skeleton)


def variants(text: str, rounds: int = 3) -> Iterator[str]:
    """Texts of the shape of ``text``: every literal replaced, then each one alone, by other values of its kind."""
    shape = shape_of(text)
    if shape is None or not shape.literals:
        return
    kinds = _kinds(shape)
    for offset in range(rounds):
        yield _text(shape, [VALUES[k][(i + offset) % len(VALUES[k])] for i, k in enumerate(kinds)])
    for index, kind in enumerate(kinds):
        literals = list(shape.literals)
        literals[index] = VALUES[kind][index % len(VALUES[kind])]
        yield _text(shape, literals)


def assert_variants_agree(text: str, tableset: TableSet, row_limit: int | None) -> int:
    """The cache gives what a fresh translation gives for every variant of ``text``; how many came from it."""
    cache = Translator(tableset)
    assert _outcome(lambda: cache.translate(text, row_limit=row_limit)) == _outcome(
        lambda: translate(text, tableset, row_limit=row_limit)
    ), text
    hits = cache.hits
    for variant in variants(text):
        cached = _outcome(lambda v=variant: cache.translate(v, row_limit=row_limit))
        fresh = _outcome(lambda v=variant: translate(v, tableset, row_limit=row_limit))
        assert cached == fresh, f"{text!r} -> {variant!r}"
    return cache.hits - hits


def _suite_texts() -> list[str]:
    texts = []
    for param in SUITE_QUERIES:
        valid, text, udfs = param.values
        if valid and not udfs and isinstance(text, str):
            texts.append(text)
    return texts


@pytest.mark.skipif(not SUITE_QUERIES, reason=f"no lyonetia ADQL suite at {SUITE}")
def test_cached_shapes_agree_on_the_lyonetia_queries() -> None:
    hits = 0
    for text in _suite_texts():
        tableset = tableset_for(text)
        if tableset is not None:
            hits += assert_variants_agree(text, tableset, None)
            hits += assert_variants_agree(text, tableset, 1001)
    assert hits > 500  # the cache served many of them: the comparison is not vacuous


def test_cached_shapes_agree_on_the_fixture_unit_test_and_benchmark_queries() -> None:
    hits = 0
    for text in [*FIXTURES, *TEST_STRINGS, *BENCHMARK.values()]:
        for tableset in (_TABLESET, tableset_for(text)):
            if tableset is not None:
                hits += assert_variants_agree(text, tableset, 1001)
    assert hits > 300


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(select=EXPRESSIONS, where=EXPRESSIONS, top=st.sampled_from(["", "TOP 3 "]), limit=st.sampled_from([None, 5]))
def test_cached_shapes_agree_on_generated_queries(select: str, where: str, top: str, limit: int | None) -> None:
    text = f"SELECT {top}{select} AS v, hip FROM hipparcos.main AS t WHERE {where} ORDER BY 2"
    assert_variants_agree(text, _TABLESET, limit)


@pytest.mark.parametrize(
    "text",
    [
        "SELECT 'abc",  # unterminated string
        'SELECT "abc FROM t',
        "SELECT a FROM t WHERE b = 'x\x00'",
    ],
)
def test_texts_that_cannot_be_split_have_no_shape(text: str) -> None:
    assert shape_of(text) is None


def test_a_shape_keeps_words_comments_identifiers_and_hex_and_marks_literal_kinds() -> None:
    shape = shape_of("SELECT t1.a, \"x 1\", 0x1F, 1.5, 2e3, 7, 3000000000, 'it''s' -- 9 'q\nFROM t")
    assert shape is not None
    assert shape.skeleton == 'SELECT t1.a, "x 1", 0x1F, \x00d, \x00e, \x00i, \x00l, \x00s -- 9 \'q\nFROM t'
    assert shape.literals == ("1.5", "2e3", "7", "3000000000", "'it''s'")
    assert shape.value(4) == "it's"
