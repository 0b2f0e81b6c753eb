"""MOC 2.0 coverage of published tables: what to compute, how, and where it is kept.

A spatial MOC (MOC 2.0 §2.1) is the set of HEALPix cells, at the chosen order, that hold at least
one row's main position: pgSphere gives each row's cell (``healpix_nest(order, spoint)``) and
PostgreSQL the distinct ones, so only cells cross the wire; mocpy makes the MOC from them.  A time
MOC (MOC 2.0 §2.2) is the union of the rows' ``[t_min, t_max]`` intervals, built by mocpy.

MOCs are kept in the database (schema ``vostack_moc``), so every process of a site serves the same
ones, and a recomputation in one (``vostack coverage``, :meth:`CoverageService.recompute`) reaches
the others.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from datetime import datetime
from typing import Literal

import numpy as np
from astropy.time import Time
from mocpy import MOC, TimeMOC

from vostack import db

__all__ = [
    "SPACE",
    "STORE_SCHEMA",
    "TIME",
    "CoverageSpec",
    "StoredMOC",
    "compute_space",
    "compute_time",
    "create_store",
    "latest_change",
    "load_store",
    "save_store",
]

SPACE, TIME = "space", "time"
STORE_SCHEMA = "vostack_moc"
"""Where the MOCs are kept (created by vostack, like ``vostack_uws``)."""

#: A time MOC order (MOC 2.0 §2.2: a cell lasts 2**(61 - order) microseconds): 29 is about 72 minutes.
DEFAULT_TIME_ORDER = 29

#: Seconds a recomputation may scan a table for (a full scan of a large table, not a client's query).
SCAN_TIMEOUT = 3600.0


@dataclasses.dataclass(frozen=True, slots=True)
class CoverageSpec:
    """The coverage to compute for one published table.

    Parameters
    ----------
    table
        The qualified table name as published.
    ra, dec
        The (database) columns of its main ICRS position, in degrees; ``None``: no spatial MOC (a table with
        times only).
    order
        The HEALPix order of the spatial MOC (0-29; 10 is about 3.4 arcmin).
    time_min, time_max
        Columns of the start and end of each row's time interval, for a time MOC; ``None``: no time MOC.
    time_format
        How those columns count days: ``"mjd"`` or ``"jd"``.
    time_order
        The order of the time MOC (0-61).
    time_scale
        The time scale of those days (astropy's names: ``"utc"``, ``"tdb"``, ``"tt"``...).
    """

    table: str
    ra: str | None
    dec: str | None
    order: int = 8
    time_min: str | None = None
    time_max: str | None = None
    time_format: Literal["mjd", "jd"] = "mjd"
    time_order: int = DEFAULT_TIME_ORDER
    time_scale: str = "utc"

    def __post_init__(self) -> None:
        if not 0 <= self.order <= 29:
            raise ValueError(f"{self.table}: a spatial MOC order is 0 to 29, not {self.order}")
        if not 0 <= self.time_order <= 61:
            raise ValueError(f"{self.table}: a time MOC order is 0 to 61, not {self.time_order}")
        if (self.time_min is None) != (self.time_max is None):
            raise ValueError(f"{self.table}: a time MOC needs both time_min and time_max")
        if self.time_format not in ("mjd", "jd"):
            raise ValueError(f"{self.table}: time_format is 'mjd' or 'jd', not {self.time_format!r}")
        if self.time_scale not in Time.SCALES:
            raise ValueError(f"{self.table}: time_scale is one of {', '.join(Time.SCALES)}, not {self.time_scale!r}")
        if (self.ra is None) != (self.dec is None) or (self.ra is None and self.time_min is None):
            raise ValueError(f"{self.table}: a coverage needs a position (ra and dec), times, or both")

    @property
    def spatial(self) -> bool:
        """Whether the table has a spatial MOC (it has a main position)."""
        return self.ra is not None and self.dec is not None

    def _table_sql(self) -> str:
        return ".".join(db.quote_ident(part) for part in self.table.split(".", 1))


@dataclasses.dataclass(frozen=True, slots=True)
class StoredMOC:
    """A MOC as kept: its ASCII serialisation (MOC 2.0 §4.3.2), order, the rows it covers, when it was made."""

    table: str
    kind: str
    order: int
    ascii: str
    rows: int
    computed_at: datetime


def _int(value: object) -> int:
    if not isinstance(value, int):
        raise TypeError(f"expected an integer from the database, got {value!r}")
    return value


def _datetime(value: object) -> datetime:
    if not isinstance(value, datetime):
        raise TypeError(f"expected a timestamp from the database, got {value!r}")
    return value


async def compute_space(pool: db.Pool, spec: CoverageSpec) -> tuple[MOC, int] | None:
    """The spatial MOC of the rows with a position, and how many rows that is (MOC 2.0 §2.1); ``None`` without
    a position."""
    if spec.ra is None or spec.dec is None:
        return None
    point = f"spoint(radians({db.quote_ident(spec.ra)}), radians({db.quote_ident(spec.dec)}))"
    sql = (
        f"SELECT healpix_nest($1::integer, {point}) AS cell, count(*) FROM {spec._table_sql()} "
        f"WHERE {db.quote_ident(spec.ra)} IS NOT NULL AND {db.quote_ident(spec.dec)} IS NOT NULL GROUP BY 1"
    )
    cells: list[int] = []
    rows = 0
    async with db.open_cursor(pool, sql, statement_timeout=SCAN_TIMEOUT, args=(spec.order,)) as cursor:
        while batch := await cursor.fetch(50_000):
            cells.extend(_int(r[0]) for r in batch)
            rows += sum(_int(r[1]) for r in batch)
    ipix = np.asarray(cells, dtype=np.uint64)
    moc = MOC.from_healpix_cells(ipix, np.full(len(ipix), spec.order, dtype=np.uint8), max_depth=spec.order)
    return moc, rows


async def compute_time(pool: db.Pool, spec: CoverageSpec) -> tuple[TimeMOC, int] | None:
    """The time MOC of the rows' ``[time_min, time_max]`` intervals (MOC 2.0 §2.2); ``None`` without time columns."""
    if spec.time_min is None or spec.time_max is None:
        return None
    lo, hi = db.quote_ident(spec.time_min), db.quote_ident(spec.time_max)
    sql = f"SELECT {lo}, {hi} FROM {spec._table_sql()} WHERE {lo} IS NOT NULL AND {hi} IS NOT NULL"
    parts: list[TimeMOC] = []
    rows = 0
    async with db.open_cursor(pool, sql, statement_timeout=SCAN_TIMEOUT) as cursor:
        while batch := await cursor.fetch(100_000):
            values = np.asarray(batch, dtype=np.float64)
            starts, ends = np.minimum(values[:, 0], values[:, 1]), np.maximum(values[:, 0], values[:, 1])
            parts.append(
                TimeMOC.from_time_ranges(
                    Time(starts, format=spec.time_format, scale=spec.time_scale),
                    Time(ends, format=spec.time_format, scale=spec.time_scale),
                    order=spec.time_order,
                )
            )
            rows += len(batch)
    if not parts:
        return TimeMOC.new_empty(spec.time_order), 0
    moc = parts[0]
    for part in parts[1:]:
        moc = moc.union(part)
    return moc, rows


_STORE_DDL = f"""\
CREATE SCHEMA IF NOT EXISTS {STORE_SCHEMA};
CREATE TABLE IF NOT EXISTS {STORE_SCHEMA}.coverage (
    table_name text NOT NULL,
    kind text NOT NULL CHECK (kind IN ('{SPACE}', '{TIME}')),
    moc_order smallint NOT NULL,
    moc text NOT NULL,
    rows bigint NOT NULL,
    computed_at timestamptz NOT NULL DEFAULT clock_timestamp()
);
CREATE INDEX IF NOT EXISTS coverage_latest ON {STORE_SCHEMA}.coverage (table_name, kind, computed_at DESC);
"""

# every MOC but the newest of its table and kind: written without values, so that it needs no parameters
_PRUNE = f"""\
DELETE FROM {STORE_SCHEMA}.coverage AS c WHERE EXISTS (
    SELECT 1 FROM {STORE_SCHEMA}.coverage AS d
    WHERE d.table_name = c.table_name AND d.kind = c.kind AND d.computed_at > c.computed_at)
"""

_LATEST = f"""\
SELECT DISTINCT ON (table_name, kind) table_name, kind, moc_order, moc, rows, computed_at
FROM {STORE_SCHEMA}.coverage ORDER BY table_name, kind, computed_at DESC
"""


async def create_store(pool: db.Pool) -> None:
    """Create the schema and table the MOCs are kept in, unless they exist (servers starting together: in turn)."""
    await db.execute(pool, _STORE_DDL, lock=f"vostack.relation:{STORE_SCHEMA}.coverage")


async def save_store(pool: db.Pool, mocs: Sequence[tuple[str, str, int, str, int]]) -> None:
    """Keep new MOCs ``(table, kind, order, ascii, rows)``; older ones of the same table and kind go."""
    await db.copy_rows(pool, f"{STORE_SCHEMA}.coverage", ("table_name", "kind", "moc_order", "moc", "rows"), mocs)
    await db.execute(pool, _PRUNE)


async def load_store(pool: db.Pool) -> dict[tuple[str, str], StoredMOC]:
    """The newest MOC of each table and kind, by ``(table, kind)``."""
    found: dict[tuple[str, str], StoredMOC] = {}
    async with db.open_cursor(pool, _LATEST, statement_timeout=60) as cursor:
        while batch := await cursor.fetch(1000):
            for table, kind, order, text, rows, at in batch:
                stored = StoredMOC(str(table), str(kind), _int(order), str(text), _int(rows), _datetime(at))
                found[(stored.table, stored.kind)] = stored
    return found


async def latest_change(pool: db.Pool) -> datetime | None:
    """When a MOC was last stored (one cheap query: whether another process recomputed one)."""
    async with db.open_cursor(pool, f"SELECT max(computed_at) FROM {STORE_SCHEMA}.coverage", statement_timeout=10) as c:
        (row,) = await c.fetch(1)
    value = row[0]
    return value if isinstance(value, datetime) else None
