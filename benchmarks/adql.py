"""Micro benchmark of ADQL translation, against a bare ``sqlglot.parse_one`` of the same text.

For each typical query (cone search, crossmatch, aggregate, common table expression, …) it times,
in the same run and interleaved:

* ``cold``: :meth:`vostack.adql.Translator.translate` of a query shape it has not seen (its cache
  cleared first): the shape scan, tokenize, parse, ADQL checks, name resolution, type inference,
  pgSphere morphing, PostgreSQL generation and the template of the shape; the service's per-table
  column metadata is warm, as in a running service;
* ``shape hit``: the same Translator given the query with other values (another position, another
  magnitude limit: :data:`VARY`), a text it has not seen but whose shape it has: what a script
  running a cone search at many positions pays per query;
* ``parse_one``: a bare ``sqlglot.parse_one`` of the text (sqlglot's default dialect, ``tsql`` when
  that cannot read ``TOP``): the floor any sqlglot-based translator pays.

It prints the medians per query, in microseconds, and the ratios of cold and hit to the floor.
Run from the project root::

    PYTHONPATH=. python benchmarks/adql.py [--repeat N]
"""

from __future__ import annotations

import argparse
import itertools
import statistics
import time
from collections.abc import Callable, Iterator, Sequence
from importlib.metadata import version

import sqlglot
from sqlglot.errors import ParseError

from vostack.adql import Translator, translate
from vostack.schema import Column, Schema, Table, TableSet

QUERIES = {
    "simple": "SELECT TOP 10 hip, ra, dec FROM hipparcos.main WHERE hpmag < 5 ORDER BY hpmag",
    "cone": "SELECT TOP 100 hip, ra, dec, hpmag FROM hipparcos.main "
    "WHERE CONTAINS(POINT('ICRS', ra, dec), CIRCLE('ICRS', 83.8, -5.4, 0.5)) = 1",
    "distance": "SELECT hip, DISTANCE(POINT(ra, dec), POINT(83.8, -5.4)) AS d FROM hipparcos.main "
    "WHERE DISTANCE(POINT(ra, dec), POINT(83.8, -5.4)) < 0.5 ORDER BY d",
    "crossmatch": "SELECT a.hip, b.hip, DISTANCE(POINT(a.ra, a.dec), POINT(b.ra, b.dec)) AS sep "
    "FROM hipparcos.main AS a JOIN hipparcos.main AS b "
    "ON CONTAINS(POINT(a.ra, a.dec), CIRCLE(b.ra, b.dec, 0.01)) = 1 WHERE a.hip < b.hip AND b.hpmag < 6",
    "aggregate": "SELECT ROUND(hpmag, 0) AS bin, COUNT(*) AS n, AVG(b_v) AS color, MAX(plx) FROM hipparcos.main "
    "WHERE plx > 10 GROUP BY ROUND(hpmag, 0) HAVING COUNT(*) > 5 ORDER BY bin",
    "cte": "WITH near AS (SELECT hip, ra, dec FROM hipparcos.main WHERE plx > 50), "
    "bright AS (SELECT hip FROM hipparcos.main WHERE hpmag < 3) "
    "SELECT n.hip, n.ra, n.dec FROM near AS n JOIN bright AS b ON n.hip = b.hip ORDER BY n.hip",
}


#: The literals of each query that a script would vary (positions, limits), and the values they take.
VARY = {
    "simple": {"5": ["4", "6", "7"]},
    "cone": {"83.8": ["10.1", "201.3", "359.9"], "-5.4": ["-60.2", "-0.1", "-89.5"]},
    "distance": {"83.8": ["10.1", "201.3", "359.9"], "-5.4": ["-60.2", "-0.1", "-89.5"]},
    "crossmatch": {"hpmag < 6": ["hpmag < 5", "hpmag < 7", "hpmag < 8"]},
    "aggregate": {"plx > 10": ["plx > 11", "plx > 20", "plx > 99"], "> 5": ["> 6", "> 2", "> 50"]},
    "cte": {"plx > 50": ["plx > 40", "plx > 30", "plx > 60"], "hpmag < 3": ["hpmag < 2", "hpmag < 4", "hpmag < 1"]},
}


def variants(name: str) -> list[str]:
    """The query ``name`` with its varied literals at each of their values."""
    texts = []
    for position in range(3):
        text = QUERIES[name]
        for old, new in VARY[name].items():
            text = text.replace(old, new[position])
        texts.append(text)
    return texts


def tableset() -> TableSet:
    """hipparcos.main with the columns the queries use."""
    columns = [
        ("hip", "int", "integer", None),
        ("ra", "double", "double precision", "deg"),
        ("dec", "double", "double precision", "deg"),
        ("plx", "float", "real", "mas"),
        ("hpmag", "float", "real", "mag"),
        ("b_v", "float", "real", "mag"),
    ]
    table = Table(
        name="hipparcos.main",
        schema_name="hipparcos",
        columns=tuple(
            Column(name=n, datatype=d, db_type=t, unit=u, column_index=i) for i, (n, d, t, u) in enumerate(columns)
        ),
    )
    return TableSet(schemas=(Schema(name="hipparcos", tables=(table,)),))


def medians_us(runs: Sequence[Callable[[], object]], repeat: int) -> list[float]:
    """Median times of the callables in microseconds, interleaved so that machine load affects all alike."""
    for _ in range(min(50, repeat)):
        for run in runs:  # warm up
            run()
    times: list[list[float]] = [[] for _ in runs]
    for _ in range(repeat):
        for run, into in zip(runs, times, strict=True):
            start = time.perf_counter()
            run()
            into.append(time.perf_counter() - start)
    return [statistics.median(t) * 1e6 for t in times]


def floor(text: str) -> Callable[[], object]:
    try:
        sqlglot.parse_one(text)
    except ParseError:
        return lambda: sqlglot.parse_one(text, read="tsql")
    return lambda: sqlglot.parse_one(text)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=2000)
    parser.add_argument("--row-limit", type=int, default=1001, help="the row limit TAP adds (MAXREC + 1)")
    args = parser.parse_args()
    tables = tableset()
    limit = args.row_limit
    print(f"sqlglot {version('sqlglot')}, median of {args.repeat} runs, row limit {limit}")
    print(f"{'query':<12}{'cold µs':>9}{'hit µs':>8}{'parse_one µs':>14}{'cold ratio':>12}{'hit ratio':>11}{'hits':>7}")
    for name, text in QUERIES.items():
        cold_cache, hit_cache = Translator(tables), Translator(tables)
        texts = variants(name)
        assert all(hit_cache.translate(t, row_limit=limit) == translate(t, tables, row_limit=limit) for t in texts)
        cycle = itertools.cycle(texts)

        def cold(text: str = text, cache: Translator = cold_cache) -> object:
            cache.clear()
            return cache.translate(text, row_limit=limit)

        def hit(cache: Translator = hit_cache, texts: Iterator[str] = cycle) -> object:
            return cache.translate(next(texts), row_limit=limit)

        misses = hit_cache.misses
        ours, cached, bare = medians_us([cold, hit, floor(text)], args.repeat)
        hit_rate = 1 - (hit_cache.misses - misses) / (args.repeat + min(50, args.repeat))
        print(
            f"{name:<12}{ours:>9.0f}{cached:>8.1f}{bare:>14.0f}{ours / bare:>12.2f}{cached / bare:>11.3f}"
            f"{hit_rate:>7.0%}"
        )


if __name__ == "__main__":
    main()
