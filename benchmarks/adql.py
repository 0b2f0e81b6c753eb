"""Micro benchmark of ADQL parse + translate, against a bare ``sqlglot.parse_one`` of the same text.

For each typical query (cone search, crossmatch, aggregate, common table expression, …) it times,
in the same run and interleaved:

* ``translate``: a cold :func:`vostack.adql.translate` (tokenize, parse, ADQL checks, name
  resolution, type inference, pgSphere morphing, PostgreSQL generation);
* ``cached``: :meth:`vostack.adql.Translator.translate` of a text it translated before (what a
  TAP service pays for a repeated query);
* ``parse_one``: a bare ``sqlglot.parse_one`` of the text (sqlglot's default dialect, ``tsql`` when
  that cannot read ``TOP``): the floor any sqlglot-based translator pays.

It prints the medians per query, in microseconds, and their ratios to the floor.
Run from the project root::

    PYTHONPATH=. python benchmarks/adql.py [--repeat N]
"""

from __future__ import annotations

import argparse
import statistics
import time
from collections.abc import Callable, Sequence
from functools import partial
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
    args = parser.parse_args()
    tables = tableset()
    cache = Translator(tables)
    print(f"sqlglot {version('sqlglot')}, median of {args.repeat} runs")
    print(f"{'query':<12}{'translate µs':>14}{'cached µs':>11}{'parse_one µs':>14}{'ratio':>8}{'cached ratio':>14}")
    for name, text in QUERIES.items():
        assert cache.translate(text) == translate(text, tables)
        ours, cached, bare = medians_us(
            [partial(translate, text, tables), partial(cache.translate, text), floor(text)], args.repeat
        )
        print(f"{name:<12}{ours:>14.0f}{cached:>11.1f}{bare:>14.0f}{ours / bare:>8.2f}{cached / bare:>14.4f}")


if __name__ == "__main__":
    main()
