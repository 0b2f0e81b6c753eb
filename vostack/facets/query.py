"""The queries of a faceted search: ADQL for everything a user chose, SQL around it for the aggregates.

Every query starts as ADQL built from the published names and the checked filter values
(:mod:`vostack.facets.model`), translated by the TAP service's translator for the caller's view, so that
a facet can read only what the caller may read through TAP and the values arrive as ADQL literals.  The
translation (``SELECT <expression> AS v FROM <table> WHERE <filters>``) then becomes the subquery of an
aggregate written here, which adds what ADQL lacks: ``width_bucket``-style bins, ``date_trunc``, window
functions for the top values, quantiles.  Nothing of the request reaches this outer SQL but numbers made
here (bin edges, orders, counts); PostgreSQL folds the subquery into one plan and uses the table's
indexes for the filters (the GiST index on ``spoint(radians(ra), radians(dec))`` for positions).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

from vostack.facets.model import (
    Bins,
    Cell,
    Cone,
    Facet,
    FacetKind,
    Range,
    Selection,
    Values,
    adql_literal,
    time_literal,
)
from vostack.schema import Table

__all__ = [
    "categorical_sql",
    "count_adql",
    "healpix_sql",
    "histogram_sql",
    "rows_adql",
    "stats_sql",
    "time_sql",
    "value_adql",
    "where_adql",
]

#: The quantiles a numeric facet's bins are chosen from (see :func:`vostack.facets.model.choose_bins`).
QUANTILES = (0.001, 0.25, 0.75, 0.999)


def _point(facet: Facet) -> str:
    return f"POINT({facet.column}, {facet.lat})"


def _cell_radius(order: int) -> float:
    """A radius in degrees that holds every HEALPix cell of ``order`` around its centre: 1.2 times the cells'
    mean size (58.63° / 2^order); the farthest corners are about 0.92 times it away (healpy's max_pixrad)."""
    return 1.2 * 58.6323 / float(2**order)


def condition_adql(facet: Facet, table: Table, found: Values | Range | Cell | Cone) -> str:
    """The ADQL condition of one filter on ``facet``."""
    if isinstance(found, Values):
        column = table.column(facet.column)
        assert column is not None
        literals = [adql_literal(column, value, facet.name) for value in found.values]
        if len(literals) == 1:
            return f"{facet.column} = {literals[0]}"
        return f"{facet.column} IN ({', '.join(literals)})"
    if isinstance(found, Range):
        parts = []
        for op, end in ((">=", found.low), ("<", found.high)):
            if end is None:
                continue
            if isinstance(end, dt.datetime):
                parts.append(f"{facet.column} {op} {time_literal(facet, end)}")
            else:
                parts.append(f"{facet.column} {op} {end!r}")
        return " AND ".join(parts) if parts else f"{facet.column} IS NOT NULL"
    if isinstance(found, Cell):
        # the cone around the cell's centre uses the spatial index, the index equality makes it exact
        return (
            f"CONTAINS({_point(facet)}, CIRCLE(ivo_healpix_center({found.order}, {found.index}), "
            f"{_cell_radius(found.order)!r})) = 1 AND ivo_healpix_index({found.order}, {facet.column}, "
            f"{facet.lat}) = {found.index}"
        )
    return f"CONTAINS({_point(facet)}, CIRCLE({found.lon!r}, {found.lat!r}, {found.radius!r})) = 1"


def where_adql(selection: Selection, facets: Sequence[Facet], table: Table) -> str:
    """The ADQL ``WHERE`` clause of ``selection`` (empty without filters)."""
    by_name = {f.name: f for f in facets}
    conditions = [
        f"({condition_adql(by_name[name], table, found)})"
        for name, found in selection.filters.items()
        if name in by_name
    ]
    return f" WHERE {' AND '.join(conditions)}" if conditions else ""


def value_adql(facet: Facet, table: Table, where: str, *, order: int | None = None) -> str:
    """``SELECT <the facet's value> AS v FROM <table> <where>``: a HEALPix index at ``order`` for positions."""
    if facet.kind is FacetKind.POSITION:
        assert order is not None
        value = f"ivo_healpix_index({order}, {facet.column}, {facet.lat})"
    else:
        value = facet.column
    return f"SELECT {value} AS v FROM {table.name}{where}"


def count_adql(table: Table, where: str) -> str:
    """The number of rows of the selection."""
    return f"SELECT COUNT(*) AS n FROM {table.name}{where}"


def rows_adql(table: Table, columns: Sequence[str], where: str, order_by: Sequence[tuple[str, bool]]) -> str:
    """The selection's rows: ``columns`` in the order of ``order_by`` (column, descending)."""
    ordering = ", ".join(f"{name}{' DESC' if desc else ''}" for name, desc in order_by)
    return f"SELECT {', '.join(columns)} FROM {table.name}{where}" + (f" ORDER BY {ordering}" if ordering else "")


# ---------------------------------------------------------------------------------------------- SQL around


def _mjd(facet: Facet) -> str:
    """The subquery's ``v`` as MJD days (a float, whatever the column holds: PostgreSQL's timestamps reach
    back to 4713 BC, beyond Python's datetimes, so that statistics are read as numbers)."""
    if facet.time_format == "mjd":
        return "s.v::float8"
    if facet.time_format == "jd":
        return "(s.v::float8 - 2400000.5)"
    return "(extract(epoch FROM s.v)::float8 / 86400.0 + 40587.0)"  # 1970-01-01 is MJD 40587


def stats_sql(facet: Facet, inner: str) -> str:
    """``count``, ``min``, ``max`` (and quantiles for numbers) of ``v`` over the whole table."""
    if facet.kind is FacetKind.NUMERIC:
        quantiles = ", ".join(repr(q) for q in QUANTILES)
        return (
            "SELECT count(s.v), min(s.v)::float8, max(s.v)::float8, percentile_cont(ARRAY["
            f"{quantiles}]) WITHIN GROUP (ORDER BY s.v::float8) FROM ({inner}) AS s"
        )
    if facet.kind is FacetKind.TIME:
        value = _mjd(facet)
        return f"SELECT count(s.v), min({value}), max({value}) FROM ({inner}) AS s"
    return f"SELECT count(s.v), NULL, NULL FROM ({inner}) AS s"


def categorical_sql(inner: str, top: int) -> str:
    """The ``top`` most frequent values with their counts, each row also carrying the number of distinct
    values and of rows (window totals); NULL is a value like the others."""
    return (
        "SELECT g.v, g.n, count(*) OVER (), sum(g.n) OVER () FROM "
        f"(SELECT s.v, count(*) AS n FROM ({inner}) AS s GROUP BY s.v) AS g "
        f"ORDER BY g.n DESC, g.v NULLS LAST LIMIT {int(top)}"
    )


def _thresholds(values: Sequence[float]) -> str:
    return "ARRAY[" + ", ".join(f"{v!r}::float8" for v in values) + "]"


def histogram_sql(inner: str, bins: Bins) -> str:
    """Rows per bin index (-1 below the bins, ``count`` above, NULL for NULL): ``width_bucket`` with the bins'
    thresholds compares each value with the edges as the filters of the bins do, so that a bin's count is
    what selecting it finds (arithmetic, ``floor((v - low) / width)``, rounds some values into a neighbour)."""
    return (
        f"SELECT width_bucket(s.v::float8, {_thresholds(bins.thresholds())}) - 1 AS b, count(*) "
        f"FROM ({inner}) AS s GROUP BY b ORDER BY b NULLS LAST"
    )


def time_sql(facet: Facet, inner: str, starts: Sequence[dt.datetime]) -> str:
    """Rows per calendar bin, by the index of the bin among ``starts`` (-1 before the first,
    ``len(starts) - 1`` from the last on, NULL for NULL): ``width_bucket`` compares each value with the starts
    written as the filters of the bins write them (timestamps, or MJD or JD days), so that a bin's count is
    what selecting it finds."""
    if facet.time_format is not None:
        edges = _thresholds([float(time_literal(facet, start)) for start in starts])
    else:
        edges = "ARRAY[" + ", ".join(f"timestamp {time_literal(facet, start)}" for start in starts) + "]"
    return f"SELECT width_bucket(s.v, {edges}) - 1 AS b, count(*) FROM ({inner}) AS s GROUP BY b ORDER BY b NULLS LAST"


def healpix_sql(inner: str, order: int) -> str:
    """Rows per HEALPix cell at ``order`` (``v`` holds the index), with the cell's centre in degrees."""
    centre = f"center_of_healpix_nest({int(order)}, s.v)"
    return (
        f"SELECT s.v, count(*), round(degrees(long({centre}))::numeric, 4)::float8, "
        f"round(degrees(lat({centre}))::numeric, 4)::float8 FROM ({inner}) AS s "
        "WHERE s.v IS NOT NULL GROUP BY s.v ORDER BY s.v"
    )
