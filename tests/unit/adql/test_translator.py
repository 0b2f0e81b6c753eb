"""The translation cache: vostack.adql.Translator and the shared translator() per TableSet."""

from __future__ import annotations

import dataclasses
import threading

import pytest

from vostack.adql import UDF, ADQLSemanticError, ADQLSyntaxError, Translator, translate, translator
from vostack.adql.query import MAX_CACHED_LENGTH, SHARED_TRANSLATORS
from vostack.schema import TableSet

from .conftest import make_tableset
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
    assert again is first
    assert (cache.hits, cache.misses, len(cache)) == (1, 1, 1)


def test_row_limit_is_part_of_the_cache_key(tableset: TableSet) -> None:
    cache = Translator(tableset)
    limited = cache.translate(CONE, row_limit=11)
    unlimited = cache.translate(CONE)
    assert "LIMIT 11" in limited.sql
    assert "LIMIT" not in unlimited.sql
    assert cache.translate(CONE, row_limit=11) is limited
    assert len(cache) == 2


def test_least_recently_used_translation_is_evicted_first(tableset: TableSet) -> None:
    cache = Translator(tableset, maxsize=2)
    texts = [f"SELECT TOP {n} hip FROM hipparcos.main" for n in (1, 2, 3)]
    first = cache.translate(texts[0])
    cache.translate(texts[1])
    assert cache.translate(texts[0]) is first  # now the most recently used
    cache.translate(texts[2])  # evicts texts[1]
    assert len(cache) == 2
    assert cache.translate(texts[0]) is first
    misses = cache.misses
    cache.translate(texts[1])
    assert cache.misses == misses + 1


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


def test_shared_translator_is_one_per_tableset_object_and_functions() -> None:
    tables = make_tableset()
    shared = translator(tables)
    assert translator(tables) is shared
    # an equal but new TableSet (changed metadata is always a new object) gets its own cache
    assert translator(make_tableset()) is not shared
    twice = UDF(name="twice", params=(("x", "DOUBLE PRECISION"),), returns="DOUBLE PRECISION", template="(2 * {0})")
    with_udf = translator(tables, [twice])
    assert with_udf is not shared
    assert with_udf.udfs == (twice,)


def test_shared_translators_are_bounded() -> None:
    first = make_tableset()
    kept = translator(first)
    others = [make_tableset() for _ in range(SHARED_TRANSLATORS)]
    for other in others:
        translator(other)
    fresh = translator(first)
    assert fresh is not kept and fresh.schema is first


def test_translator_is_safe_to_share_between_threads(tableset: TableSet) -> None:
    cache = Translator(tableset, maxsize=4)
    texts = [f"SELECT TOP {n} hip, ra FROM hipparcos.main ORDER BY hip" for n in range(1, 9)]
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
