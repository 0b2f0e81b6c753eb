"""Uploaded tables as temporary tables of the query's own transaction (TAP 1.1 §4.5).

:func:`load_temp_tables` runs inside the transaction :func:`vostack.db.open_cursor`
opens for a query with uploads: ``CREATE TEMP TABLE ... ON COMMIT DROP``, rows
in by ``COPY`` (binary), ``ANALYZE`` so that the planner knows how small the
table is (and drives a crossmatch from it into the catalogue's index).  The
caller then makes the transaction ``READ ONLY`` before the user's query runs;
the tables disappear when the transaction ends, whatever way it ends.

Types without a binary codec in asyncpg (pgSphere's ``spoint``, ``scircle``,
``spoly``) and ``timestamp`` are copied as text and converted in place with
their input functions.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import asyncpg

from vostack.db.catalog import quote_ident
from vostack.errors import UploadError

__all__ = ["TEMP_SCHEMA", "TempTable", "load_temp_tables"]

TEMP_SCHEMA = "pg_temp"
"""The schema a session's temporary tables are addressed by."""

_BINARY = frozenset({"boolean", "smallint", "integer", "bigint", "real", "double precision", "text"})
_TEXT_INPUT = frozenset({"spoint", "scircle", "spoly", "timestamp"})
_TYPES = _BINARY | _TEXT_INPUT | {t + "[]" for t in _BINARY}


@dataclass(frozen=True, slots=True)
class TempTable:
    """A table to create for one query: ``name`` in :data:`TEMP_SCHEMA`, ``(column, PostgreSQL type)`` pairs, rows.

    ``label`` names the table in error messages (``"upload 'stars'"``).
    """

    name: str
    columns: tuple[tuple[str, str], ...]
    rows: Sequence[Sequence[object]]
    label: str

    def __post_init__(self) -> None:
        unknown = sorted({db_type for _, db_type in self.columns} - _TYPES)
        if unknown:
            raise ValueError(f"temporary tables cannot have columns of type {', '.join(unknown)}")


async def load_temp_tables(conn: asyncpg.Connection, tables: Sequence[TempTable]) -> None:
    """Create, fill and analyse ``tables`` in the connection's open transaction (TAP 1.1 §4.5)."""
    for table in tables:
        target = f"{TEMP_SCHEMA}.{quote_ident(table.name)}"
        columns = ", ".join(
            f"{quote_ident(name)} {'text' if db_type in _TEXT_INPUT else db_type}" for name, db_type in table.columns
        )
        try:
            await conn.execute(f"CREATE TEMP TABLE {quote_ident(table.name)} ({columns}) ON COMMIT DROP")
            await conn.copy_records_to_table(
                table.name, records=table.rows, columns=[n for n, _ in table.columns], schema_name=TEMP_SCHEMA
            )
            for name, db_type in table.columns:
                if db_type in _TEXT_INPUT:
                    column = quote_ident(name)
                    await conn.execute(
                        f"ALTER TABLE {target} ALTER COLUMN {column} TYPE {db_type} USING {column}::{db_type}"
                    )
            await conn.execute(f"ANALYZE {target}")
        except asyncpg.PostgresError as exc:
            # 22xxx: bad data; XX000: pgSphere's input functions report bad geometry as internal errors
            if (exc.sqlstate or "").startswith("22") or exc.sqlstate == "XX000":
                raise UploadError(f"{table.label} has values the database cannot store: {exc}") from None
            raise
        except (ValueError, OverflowError, TypeError) as exc:  # asyncpg's encoders refuse a value
            raise UploadError(f"{table.label} has values the database cannot store: {exc}") from None
