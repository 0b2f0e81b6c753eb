"""The faceted search of one published table: counts under the other facets' filters, rows, and the ADQL.

:meth:`FacetSearch.counts` computes every facet of a :class:`~vostack.facets.model.Selection` at once, each
under the filters of the *other* facets (a facet's own filter never hides its own values: picking a value
shows how the other facets change, while the picked facet keeps offering its alternatives).  Facets with
the same set of other filters share nothing but their ``WHERE``; each is one aggregate query, run
concurrently on the TAP service's read pool as the caller's role, and PostgreSQL plans each in parallel
where it pays (:func:`vostack.db.fetch_all`).  The row count of the selection comes with the counts of
a facet without a filter of its own.

The counts of a facet depend only on the *other* facets' filters, so a single click leaves the clicked
facet showing the whole table's counts: those are kept ``table_ttl`` seconds per database role, and
computed for anonymous callers when the search starts, so that neither the first page nor a single-filter
click scans the whole table.  A selection's counts are kept ``cache_ttl`` seconds per role and query text
(going back and forth costs nothing).  The bins of numeric and time facets and the order of a position's map
are chosen from the whole table's distribution, computed once per role and kept ``stats_ttl`` seconds, so
that the bins stay put while the user filters.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
import math
import time
from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from vostack import db
from vostack.auth import ANONYMOUS, Identity
from vostack.errors import AuthenticationError, NotFoundError, PermissionDeniedError, TransientError, VOError
from vostack.facets.model import (
    Bins,
    Facet,
    FacetKind,
    Range,
    Selection,
    Stats,
    TimeBins,
    choose_bins,
    choose_order,
    choose_time_bins,
    filter_texts,
    mjd_datetime,
)
from vostack.facets.query import (
    categorical_sql,
    count_adql,
    healpix_sql,
    histogram_sql,
    rows_adql,
    stats_sql,
    time_sql,
    value_adql,
    where_adql,
)
from vostack.schema import Column, Field, Table
from vostack.tap import TAPService
from vostack.tap.query import fetch_preview

__all__ = ["FacetSearch", "Rows", "json_value"]

log = logging.getLogger("vostack.facets")

_MAIN_ID = "meta.id;meta.main"
_INTEGER = frozenset({"short", "int", "long", "unsignedByte"})


@dataclass(frozen=True, slots=True)
class Rows:
    """A page of the selection's rows."""

    fields: tuple[Field, ...]
    rows: Sequence[Sequence[object]]
    offset: int
    more: bool
    adql: str


@dataclass
class _View:
    """What one caller sees of the search: the table, its facets and result columns, its role."""

    table: Table
    facets: tuple[Facet, ...]
    columns: tuple[str, ...]
    role: str | None
    key: object = field(default=None)


def json_value(value: object) -> object:
    """A database value as JSON has it: NaN and infinities as ``null``, times as ISO 8601, arrays as lists."""
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, Decimal):
        return json_value(float(value))
    if isinstance(value, dt.datetime | dt.date):
        return value.isoformat()
    if isinstance(value, list | tuple):
        return [json_value(v) for v in value]
    if isinstance(value, bytes | bytearray | memoryview):
        return bytes(value).hex()
    if value is None or isinstance(value, bool | int | str):
        return value
    return str(value)


class FacetSearch:
    """Faceted search over ``table`` of ``tap`` (see the module docstring).

    Parameters
    ----------
    tap
        The TAP service publishing the table: its metadata, translators, roles and read pool.
    table
        The qualified table name.
    facets
        The facets, in the order shown.
    columns
        The columns of the result rows; default the table's principal columns (all when none is).
    sort
        The default sort column; default the main identifier (UCD ``meta.id;meta.main``) or the first column.
    title, description
        For people; default the table's name and description.
    page_size, max_rows
        Rows per page by default, and the most a request may ask for.
    cache_ttl
        Seconds that the counts of a selection are kept (0: not kept).
    table_ttl
        Seconds that the counts of the whole table (no filter) are kept; they are computed for anonymous
        callers when the search starts, so that the first page and every single-filter click (whose own
        facet shows the whole table's counts) need no full scan.
    stats_ttl
        Seconds that the bins of numeric and time facets (chosen from the whole table) are kept.
    concurrency
        Aggregate queries run at once by this search.
    """

    def __init__(
        self,
        *,
        tap: TAPService,
        table: str,
        facets: Sequence[Facet],
        columns: Sequence[str] = (),
        sort: str | None = None,
        title: str | None = None,
        description: str | None = None,
        page_size: int = 50,
        max_rows: int = 5000,
        cache_ttl: float = 60.0,
        table_ttl: float = 3600.0,
        stats_ttl: float = 3600.0,
        concurrency: int = 3,
    ) -> None:
        if "." not in table:
            raise ValueError(f"the table {table!r} must be qualified with its schema")
        names = [f.name.lower() for f in facets]
        if not facets or len(set(names)) != len(names):
            raise ValueError(f"a faceted search of {table} needs facets with distinct names")
        if not 1 <= page_size <= max_rows:
            raise ValueError("page_size must be in 1..max_rows")
        self.tap = tap
        self.table = table
        self.facets = tuple(facets)
        self.columns = tuple(columns)
        self.sort = sort
        self.title = title or table
        self.description = description
        self.page_size = page_size
        self.max_rows = max_rows
        self.cache_ttl = cache_ttl
        self.table_ttl = table_ttl
        self.stats_ttl = stats_ttl
        self._warming: asyncio.Task[None] | None = None
        self._semaphore = asyncio.Semaphore(concurrency)
        self._results: OrderedDict[tuple[str | None, str], tuple[float, list[tuple[Any, ...]]]] = OrderedDict()
        self._distributions: dict[tuple[str | None, str], tuple[float, Stats]] = {}
        self._started = False

    # ------------------------------------------------------------------------------------------- lifecycle

    async def start(self, pool: db.Pool) -> None:
        """Check the table and the facets' columns against what the TAP service publishes (start TAP first)."""
        table = self.tap.tableset.table(self.table)
        if table is None:
            raise VOError(f"the faceted search of {self.table}: the TAP service does not publish that table")
        missing = [c for f in self.facets for c in f.columns if table.column(c) is None]
        missing += [c for c in (*self.columns, *([self.sort] if self.sort else [])) if table.column(c) is None]
        if missing:
            raise VOError(f"the faceted search of {self.table}: no column(s) {', '.join(missing)} in the table")
        for facet in self.facets:
            column = table.column(facet.column)
            assert column is not None
            if facet.kind in (FacetKind.NUMERIC, FacetKind.POSITION) and column.datatype not in (
                *_INTEGER,
                "float",
                "double",
            ):
                raise VOError(
                    f"the faceted search of {self.table}: {facet.name} needs numbers, "
                    f"{column.name} is {column.datatype}"
                )
            if facet.kind is FacetKind.TIME and facet.time_format is None and (column.xtype or "") != "timestamp":
                raise VOError(
                    f"the faceted search of {self.table}: {facet.name} is a time facet on a column "
                    'without xtype timestamp; give time_format = "mjd" or "jd" for days'
                )
        if self.description is None:
            self.description = table.description
        self._results.clear()
        self._distributions.clear()
        self._started = True
        if self.table_ttl > 0:
            self._warming = asyncio.ensure_future(self._warm())

    async def _warm(self) -> None:
        """The whole table's counts and bins for anonymous callers, computed in the background at start."""
        try:
            await self.counts(ANONYMOUS, Selection())
        except VOError as exc:  # a table anonymous callers may not read, the database away: computed when asked
            log.info("the counts of %s were not computed at start: %s", self.table, exc.message)

    async def stop(self) -> None:
        """Stop answering (503)."""
        self._started = False
        if self._warming is not None:
            self._warming.cancel()
            await asyncio.gather(self._warming, return_exceptions=True)
            self._warming = None

    # ------------------------------------------------------------------------------------------- views

    async def view(self, identity: Identity) -> _View:
        """What ``identity`` sees: the table (401/403 when it may not), the facets and columns it may read."""
        if not self._started:
            raise TransientError("the faceted search is starting; try again in a moment")
        table = self.tap.tableset_for(identity).table(self.table)
        if table is None:
            if self.tap.tableset.table(self.table) is None:
                raise NotFoundError(f"no table {self.table}")
            if identity.authenticated:
                raise PermissionDeniedError(f"{identity.name} may not search {self.table}")
            raise AuthenticationError(f"searching {self.table} needs you to authenticate")
        facets = tuple(f for f in self.facets if all(table.column(c) is not None for c in f.columns))
        columns = (
            tuple(c for c in self.columns if table.column(c) is not None)
            or tuple(c.name for c in table.columns if c.principal)
            or tuple(c.name for c in table.columns)
        )
        return _View(table, facets, columns, await self.tap.role_for(identity))

    def sortable(self, view: _View) -> tuple[str, ...]:
        """The columns the rows may be sorted by: the result columns that are not arrays."""
        return tuple(c for c in view.columns if not (_column(view.table, c).arraysize or ""))

    # ------------------------------------------------------------------------------------------- queries

    async def _fetch(
        self, identity: Identity, adql: str, wrap: Any, role: str | None, *, ttl: float
    ) -> list[tuple[Any, ...]]:
        """Translate ``adql`` for ``identity``, put the SQL into ``wrap`` and run it (or take it from the cache,
        where it is kept ``ttl`` seconds)."""
        inner = self.tap.translator_for(identity).translate(adql).sql
        sql = wrap(inner) if wrap is not None else inner
        key = (role, sql)
        now = time.monotonic()
        hit = self._results.get(key)
        if hit is not None and hit[0] > now:
            self._results.move_to_end(key)
            return hit[1]
        async with self._semaphore:
            rows = await db.fetch_all(
                self.tap.reader(), sql, statement_timeout=self.tap.settings.sync_timeout, role=role
            )
        if ttl > 0:
            self._results[key] = (time.monotonic() + ttl, rows)
            while len(self._results) > _CACHED:
                self._results.popitem(last=False)
        return rows

    async def _distribution(self, identity: Identity, view: _View, facet: Facet) -> Stats:
        """The facet's distribution over the whole table (what its bins are chosen from), kept ``stats_ttl``."""
        key = (view.role, facet.name)
        hit = self._distributions.get(key)
        if hit is not None and hit[0] > time.monotonic():
            return hit[1]
        # a position's statistics are its row count: of the longitude column, not of a HEALPix index
        adql = value_adql(
            facet if facet.kind is not FacetKind.POSITION else Facet.numeric(facet.column), view.table, ""
        )
        (row,) = await self._fetch(identity, adql, lambda inner: stats_sql(facet, inner), view.role, ttl=0)
        stats = Stats(int(row[0]), row[1], row[2], tuple(row[3]) if len(row) > 3 and row[3] else ())
        self._distributions[key] = (time.monotonic() + self.stats_ttl, stats)
        return stats

    async def counts(self, identity: Identity, selection: Selection) -> dict[str, Any]:
        """Every facet's counts under the other facets' filters, the selection's row count and its ADQL.

        The row count comes with the counts of a facet without a filter of its own (whose rows are then the
        selection's), else from one more query.
        """
        view = await self.view(identity)
        facets = await asyncio.gather(*(self._facet(identity, view, f, selection) for f in view.facets))
        total = next((f["rows"] for f in facets if f.get("rows") is not None and not f["selected"]), None)
        if total is None:
            where = where_adql(selection, view.facets, view.table)
            (row,) = await self._fetch(identity, count_adql(view.table, where), None, view.role, ttl=self._ttl(where))
            total = int(row[0])
        return {
            "table": self.table,
            "total": total,
            "facets": list(facets),
            "adql": self.adql(view, selection),
            "params": selection.params(),
        }

    def _ttl(self, where: str) -> float:
        """How long counts are kept: ``table_ttl`` for the whole table's, ``cache_ttl`` for a selection's."""
        return self.cache_ttl if where else self.table_ttl

    async def _facet(self, identity: Identity, view: _View, facet: Facet, selection: Selection) -> dict[str, Any]:
        column = _column(view.table, facet.column)
        where = where_adql(selection.without(facet.name), view.facets, view.table)
        own = selection.filters.get(facet.name)
        out: dict[str, Any] = {
            "name": facet.name,
            "kind": facet.kind.value,
            "label": facet.label or column.name,
            "description": column.description,
            "column": column.name,
            "unit": column.unit,
            "selected": filter_texts(own) if own is not None else [],
        }
        if facet.kind is FacetKind.CATEGORICAL:
            rows = await self._fetch(
                identity,
                value_adql(facet, view.table, where),
                lambda s: categorical_sql(s, facet.top),
                view.role,
                ttl=self._ttl(where),
            )
            shown = [
                {"value": json_value(r[0]), "param": None if r[0] is None else _text(r[0]), "count": r[1]} for r in rows
            ]
            distinct, rows_total = (int(rows[0][2]), int(rows[0][3])) if rows else (0, 0)
            out |= {
                "values": shown,
                "distinct": distinct,
                "other": rows_total - sum(int(r[1]) for r in rows),
                "rows": rows_total,
            }
            return out
        if facet.kind is FacetKind.POSITION:
            order = facet.order
            if order is None:
                order = choose_order((await self._distribution(identity, view, facet)).count)
            rows = await self._fetch(
                identity,
                value_adql(facet, view.table, where, order=order),
                lambda s: healpix_sql(s, order),
                view.role,
                ttl=self._ttl(where),
            )
            out |= {
                "frame": facet.frame,
                "order": order,
                "lat_column": _column(view.table, facet.lat or "").name,
                "cells": [r[0] for r in rows],
                "counts": [r[1] for r in rows],
                "lon": [r[2] for r in rows],
                "lat": [r[3] for r in rows],
            }
            return out
        stats = await self._distribution(identity, view, facet)
        if facet.kind is FacetKind.NUMERIC:
            bins = choose_bins(stats, most=facet.bins, integer=column.datatype in _INTEGER)
            if bins is None:
                return out | {"bins": [], "null": 0, "rows": None}
            rows = await self._fetch(
                identity,
                value_adql(facet, view.table, where),
                lambda s: histogram_sql(s, bins),
                view.role,
                ttl=self._ttl(where),
            )
            return out | _histogram(rows, bins)
        if not _finite(stats.minimum) or not _finite(stats.maximum):
            return out | {"bins": [], "null": 0, "unit_of_time": None, "rows": None}
        low, high = mjd_datetime(float(stats.minimum)), mjd_datetime(float(stats.maximum))  # type: ignore[arg-type]
        time_bins = choose_time_bins(low, high, most=facet.bins)
        starts = time_bins.starts(low, high)
        rows = await self._fetch(
            identity,
            value_adql(facet, view.table, where),
            lambda s: time_sql(facet, s, starts),
            view.role,
            ttl=self._ttl(where),
        )
        return out | _date_histogram(rows, time_bins, starts)

    def adql(self, view: _View, selection: Selection) -> str:
        """The ADQL of the selection's rows, as TAP runs it (``/tap/sync``, the TAP page, TOPCAT)."""
        where = where_adql(selection, view.facets, view.table)
        return rows_adql(view.table, view.columns, where, self._order_by(view, selection))

    def _order_by(self, view: _View, selection: Selection) -> list[tuple[str, bool]]:
        sort = selection.sort or self.sort
        key = next((c.name for c in view.table.columns if (c.ucd or "").lower() == _MAIN_ID), None)
        if key is None or key not in view.columns:
            key = view.columns[0]
        order = [(_column(view.table, sort).name, selection.descending)] if sort else []
        if key.lower() != (sort or "").lower():
            order.append((key, False))
        return order

    async def rows(self, identity: Identity, selection: Selection, *, limit: int | None = None) -> Rows:
        """A page of the selection's rows: ``limit`` (default ``page_size``, at most ``max_rows``) from its offset."""
        view = await self.view(identity)
        count = max(1, min(limit or self.page_size, self.max_rows))
        adql = self.adql(view, selection)
        paged = adql + (f" OFFSET {selection.offset}" if selection.offset else "")
        preview = await fetch_preview(
            self.tap.reader(),
            self.tap.translator_for(identity),
            paged,
            rows=count,
            time_limit=self.tap.settings.sync_timeout,
            role=view.role,
        )
        return Rows(preview.fields, preview.rows, selection.offset, preview.overflow, adql)


_CACHED = 512
"""Aggregate results kept per search."""


def _column(table: Table, name: str) -> Column:
    column = table.column(name)
    if column is None:
        raise NotFoundError(f"{table.name} has no column {name}")
    return column


def _text(value: object) -> str:
    if isinstance(value, float) and value == int(value):
        return str(int(value))
    return str(value)


def _histogram(rows: Sequence[tuple[Any, ...]], bins: Bins) -> dict[str, Any]:
    """Every bin (empty ones too) with its range, count and parameter, and the NULL count."""
    counts = {int(r[0]): int(r[1]) for r in rows if r[0] is not None}
    null = next((int(r[1]) for r in rows if r[0] is None), 0)
    out = []
    for index in range(-1, bins.count + 1):
        if index in (-1, bins.count) and not counts.get(index):
            continue
        low, high = bins.edges(index)
        param = filter_texts(Range(low, high))[0]
        out.append({"low": low, "high": high, "count": counts.get(index, 0), "param": param})
    return {"bins": out, "null": null, "width": bins.width, "rows": sum(int(r[1]) for r in rows)}


def _finite(value: object) -> bool:
    return isinstance(value, float | int) and math.isfinite(value)


def _date_histogram(rows: Sequence[tuple[Any, ...]], bins: TimeBins, starts: Sequence[dt.datetime]) -> dict[str, Any]:
    """Every bin with rows, its start and end (``None`` for the open ends before the first and from the last
    start on: dates beyond the years 1 to 9999), its count and parameter; and the NULL count."""
    out = []
    null = 0
    for index, count in rows:
        if index is None:
            null = int(count)
            continue
        start = starts[index] if 0 <= index < len(starts) else None
        end = starts[index + 1] if index + 1 < len(starts) else None
        out.append(
            {
                "start": start.isoformat() if start is not None else None,
                "end": end.isoformat() if end is not None else None,
                "count": count,
                "param": filter_texts(Range(start, end))[0],
            }
        )
    return {"bins": out, "null": null, "unit_of_time": bins.unit, "rows": sum(int(r[1]) for r in rows)}
