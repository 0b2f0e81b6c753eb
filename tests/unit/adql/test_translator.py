"""The translation cache: vostack.adql.Translator and its templates by query shape."""

from __future__ import annotations

import dataclasses
import threading

import pytest

from vostack.adql import UDF, ADQLSemanticError, ADQLSyntaxError, Translator, translate
from vostack.adql.query import MAX_CACHED_LENGTH, TEMPLATES_PER_SHAPE
from vostack.schema import TableSet

from .test_translate import PAIRS

CONE = "SELECT hip, ra FROM hipparcos.main WHERE CONTAINS(POINT(ra, dec), CIRCLE(10, 20, 1)) = 1"


def test_translator_gives_what_translate_gives_for_every_fixture_query(tableset: TableSet) -> None:
    # one Translator for all queries: its per-table column cache is shared between them
    shared = Translator(tableset)
    for adql, _ in PAIRS:
        assert shared.translate(adql) == translate(adql, tableset)
    for adql, _ in reversed(PAIRS):
        assert shared.translate(adql, row_limit=7) == translate(adql, tableset, row_limit=7)


def test_repeated_query_is_served_from_the_cache(tableset: TableSet) -> None:
    cache = Translator(tableset)
    first = cache.translate(CONE)
    again = cache.translate(CONE)
    assert again == first
    assert (cache.hits, cache.misses, len(cache)) == (1, 1, 1)


def test_the_same_shape_with_other_values_is_filled_in_from_the_cache(tableset: TableSet) -> None:
    cache = Translator(tableset)
    cone = "SELECT hip, ra FROM hipparcos.main WHERE CONTAINS(POINT(ra, dec), CIRCLE({ra}, {dec}, 1)) = 1"
    cache.translate(cone.format(ra=10, dec=20))
    for ra, dec in ((11, 21), (359, 89), (0, 0)):  # (a minus sign is part of the shape)
        text = cone.format(ra=ra, dec=dec)
        assert cache.translate(text) == translate(text, tableset)
    assert (cache.hits, cache.misses) == (3, 1)
    named = "SELECT hip FROM hipparcos.main WHERE {value} = hip AND 'it''s' <> {text}"
    cache.translate(named.format(value=1, text="'a'"))
    for value, text in ((2, "'b'"), (99, "'it''s'"), (7, "'back\\slash'"), (8, "''")):
        query = named.format(value=value, text=text)
        assert cache.translate(query) == translate(query, tableset)
    assert (cache.hits, cache.misses) == (7, 2)


@pytest.mark.parametrize(
    ("first", "second"),
    [
        ("SELECT TOP 5 hip FROM hipparcos.main", "SELECT TOP 6 hip FROM hipparcos.main"),
        ("SELECT hip, ra FROM hipparcos.main ORDER BY 1", "SELECT hip, ra FROM hipparcos.main ORDER BY 2"),
        (
            "SELECT hip FROM hipparcos.main WHERE CONTAINS(POINT(ra, dec), CIRCLE(1, 2, 3)) = 1",
            "SELECT hip FROM hipparcos.main WHERE CONTAINS(POINT(ra, dec), CIRCLE(1, 2, 3)) = 0",
        ),
        (
            "SELECT hip FROM hipparcos.main WHERE CONTAINS(POINT(ra, dec), CIRCLE(1, 2, 3)) = 1",
            "SELECT hip FROM hipparcos.main WHERE CONTAINS(POINT(ra, dec), CIRCLE(1, 2, 3)) = 2",
        ),
        (
            "SELECT hip FROM hipparcos.main WHERE DISTANCE(POINT(ra, dec), POINT(1, 2)) < 3",
            "SELECT hip FROM hipparcos.main WHERE DISTANCE(POINT(ra, dec), POINT(1, 2)) < 300",
        ),
        (
            "SELECT IN_UNIT(ra, 'arcmin') AS r FROM hipparcos.main",
            "SELECT IN_UNIT(ra, 'arcsec') AS r FROM hipparcos.main",
        ),
        ("SELECT hip FROM hipparcos.main ORDER BY 0.5, hip", "SELECT hip FROM hipparcos.main ORDER BY 0.25, hip"),
        (
            "SELECT hip FROM hipparcos.main WHERE CONTAINS(POINT(ra, dec), REGION('Circle ICRS 1 2 3')) = 1",
            "SELECT hip FROM hipparcos.main WHERE CONTAINS(POINT(ra, dec), REGION('Circle ICRS 4 5 6')) = 1",
        ),
    ],
)
def test_a_literal_whose_value_changes_the_translation_is_part_of_the_key(
    tableset: TableSet, first: str, second: str
) -> None:
    cache = Translator(tableset)
    for text in (first, second, first, second):
        assert cache.translate(text, row_limit=1000) == translate(text, tableset, row_limit=1000)
    assert (cache.misses, cache.hits, len(cache)) == (2, 2, 1)


def test_an_error_for_one_value_is_raised_for_that_value(tableset: TableSet) -> None:
    cache = Translator(tableset)
    text = "SELECT hip FROM hipparcos.main WHERE CONTAINS(POINT(ra, dec), CIRCLE(1, 2, {r})) = 1"
    cache.translate(text.format(r=1))
    with pytest.raises(ADQLSemanticError, match="radius"):
        cache.translate(text.format(r=91))
    with pytest.raises(ADQLSemanticError, match="position 3"):
        cache.translate("SELECT hip, ra FROM hipparcos.main ORDER BY 3")


def test_a_shape_keeps_a_bounded_number_of_templates(tableset: TableSet) -> None:
    # with a row limit, TOP n is pinned: each n is a template of the same shape
    cache = Translator(tableset)
    texts = [f"SELECT TOP {n} hip FROM hipparcos.main" for n in range(1, TEMPLATES_PER_SHAPE + 2)]
    for text in texts:
        cache.translate(text, row_limit=100)
    misses = cache.misses
    assert cache.translate(texts[-1], row_limit=100) == translate(texts[-1], tableset, row_limit=100)
    assert cache.misses == misses
    cache.translate(texts[0], row_limit=100)  # the oldest template of the shape was dropped
    assert cache.misses == misses + 1
    assert len(cache) == 1


def test_without_a_row_limit_top_is_a_value_like_any_other(tableset: TableSet) -> None:
    cache = Translator(tableset)
    for n in (5, 7, 3_000_000_000):
        text = f"SELECT TOP {n} hip FROM hipparcos.main"
        assert cache.translate(text) == translate(text, tableset)
    assert (cache.misses, cache.hits) == (2, 1)  # 3,000,000,000 is an integer of another size: another shape


def test_errors_are_raised_every_time_and_not_cached(tableset: TableSet) -> None:
    cache = Translator(tableset)
    for _ in range(2):
        with pytest.raises(ADQLSemanticError, match="unknown column 'nope'"):
            cache.translate("SELECT nope FROM hipparcos.main")
        with pytest.raises(ADQLSyntaxError):
            cache.translate("SELECT hip FROM hipparcos.main LIMIT 3")
    assert len(cache) == 0


def test_negative_row_limit_is_refused_by_the_translator(tableset: TableSet) -> None:
    with pytest.raises(ValueError, match="row_limit"):
        Translator(tableset).translate(CONE, row_limit=-1)


def test_zero_maxsize_and_very_long_queries_are_not_kept(tableset: TableSet) -> None:
    uncached = Translator(tableset, maxsize=0)
    assert uncached.translate(CONE) == uncached.translate(CONE)
    assert len(uncached) == 0
    cache = Translator(tableset)
    long_text = CONE + " AND hip IN (" + ", ".join(str(n) for n in range(MAX_CACHED_LENGTH // 5)) + ")"
    assert len(long_text) > MAX_CACHED_LENGTH
    cache.translate(long_text)
    assert len(cache) == 0


def test_translator_uses_its_user_defined_functions(tableset: TableSet) -> None:
    twice = UDF(name="twice", params=(("x", "DOUBLE PRECISION"),), returns="DOUBLE PRECISION", template="(2 * {0})")
    text = "SELECT twice(ra) AS r FROM hipparcos.main"
    cache = Translator(tableset, udfs=[twice])
    assert cache.translate(text) == translate(text, tableset, udfs=[twice])
    assert "(2 * " in cache.translate(text).sql
    with pytest.raises(ADQLSemanticError):
        Translator(tableset).translate(text)


def test_translator_is_safe_to_share_between_threads(tableset: TableSet) -> None:
    cache = Translator(tableset, maxsize=4)
    texts = [f"SELECT TOP {n} hip, {c} FROM hipparcos.main ORDER BY hip" for n in range(1, 5) for c in ("ra", "dec")]
    expected = {text: translate(text, tableset) for text in texts}
    failures: list[str] = []

    def work(offset: int) -> None:
        for round_ in range(30):
            text = texts[(offset + round_) % len(texts)]
            if cache.translate(text) != expected[text]:
                failures.append(text)

    threads = [threading.Thread(target=work, args=(n,)) for n in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not failures
    assert len(cache) <= 4
    assert cache.hits + cache.misses == 4 * 30


def test_translation_is_immutable_so_cached_results_cannot_be_changed(tableset: TableSet) -> None:
    translation = Translator(tableset).translate(CONE)
    with pytest.raises(dataclasses.FrozenInstanceError):
        translation.sql = "SELECT 1"  # type: ignore[misc]


def test_a_translation_knows_the_most_rows_it_returns(tableset: TableSet) -> None:
    cache = Translator(tableset)
    cone = "SELECT TOP {} hip FROM hipparcos.main WHERE 1 = CONTAINS(POINT(ra, dec), CIRCLE({}, 24.1, 1))"
    for top, row_limit, limit in ((10, 1001, 10), (5000, 1001, 1001), (10, None, None)):
        for ra in (56.7, 12.5):  # the second text of a shape comes from the cache
            text = cone.format(top, ra)
            assert cache.translate(text, row_limit=row_limit).limit == limit
            assert translate(text, tableset, row_limit=row_limit).limit == limit
    assert translate("SELECT hip FROM hipparcos.main", tableset).limit is None
    assert (
        translate("SELECT hip FROM hipparcos.main UNION SELECT hip FROM hipparcos.main", tableset, row_limit=9).limit
        == 9
    )
    assert translate("SELECT hip FROM hipparcos.main", tableset, row_limit=7).limit == 7
