"""Query results in a read-only transaction: from a server-side cursor, or as a streamed ``COPY``.

:func:`open_cursor` yields a cursor over the rows; :func:`open_statement`
prepares the query first, so that the caller learns the result's column
types (PostgreSQL's ``RowDescription``) before it chooses how to read them:
row by row through a cursor, or as the raw data of ``COPY (query) TO STDOUT``
read chunk by chunk (:class:`CopyReader`), for which PostgreSQL encodes every
value itself.
"""

from __future__ import annotations

import asyncio
import functools
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager, suppress
from dataclasses import dataclass

import asyncpg

from vostack.db.catalog import quote_ident
from vostack.db.errors import map_errors
from vostack.db.upload import TempTable, load_temp_tables

__all__ = [
    "CopyReader",
    "ResultColumn",
    "ResultCursor",
    "Statement",
    "begin",
    "open_cursor",
    "open_statement",
    "query_settings",
]


class ResultCursor:
    """Batches of rows from a server-side cursor; rows are sequences of Python values."""

    __slots__ = ("_cursor",)

    def __init__(self, cursor: asyncpg.cursor.Cursor) -> None:
        self._cursor = cursor

    async def fetch(self, n: int) -> Sequence[Sequence[object]]:
        """The next ``n`` rows at most; an empty list at the end of the result."""
        with map_errors(user_query=True):
            rows: list[asyncpg.Record] = await self._cursor.fetch(n)
        return rows


@dataclass(frozen=True, slots=True)
class ResultColumn:
    """A result column as PostgreSQL describes it: its name and its type's OID and ``pg_type.typname``."""

    name: str
    type_oid: int
    type_name: str


class CopyReader:
    """The data of ``COPY (query) TO STDOUT`` as PostgreSQL sends it, in pieces of what has arrived.

    The copy runs in a task that queues what PostgreSQL sends; while
    ``read_ahead`` bytes wait unread the task waits too, asyncpg stops reading
    the socket and PostgreSQL stops sending, so memory does not grow with the
    result.  :meth:`read` takes everything queued at once: big pieces when
    PostgreSQL is faster than the reader, small ones (but no waiting) when it
    is slower.  :meth:`close` (also when the reader is cancelled) cancels the
    statement in PostgreSQL at once.
    """

    def __init__(
        self, conn: asyncpg.Connection, sql: str, args: Sequence[object], *, binary: bool, read_ahead: int
    ) -> None:
        self._chunks: list[bytes] = []
        self._queued = 0
        self._limit = max(1, read_ahead)
        self._arrived = asyncio.Event()
        self._drained = asyncio.Event()
        self._end: BaseException | None = None
        self._ended = False
        self._task = asyncio.ensure_future(self._run(conn, sql, args, binary))

    async def _run(self, conn: asyncpg.Connection, sql: str, args: Sequence[object], binary: bool) -> None:
        try:
            await conn.copy_from_query(sql, *args, output=self._queue, format="binary" if binary else "text")
        except Exception as exc:  # handed to the reader, which maps it
            self._end = exc
        finally:
            self._ended = True
            self._arrived.set()

    async def _queue(self, chunk: bytes) -> None:
        while self._queued >= self._limit:
            self._drained.clear()
            await self._drained.wait()
        self._chunks.append(chunk)
        self._queued += len(chunk)
        self._arrived.set()

    async def read(self) -> bytes | None:
        """All data that has arrived (waiting for some), ``None`` at the end; query errors become VOError."""
        while not self._chunks and not self._ended:
            self._arrived.clear()
            await self._arrived.wait()
        if self._chunks:
            data = self._chunks[0] if len(self._chunks) == 1 else b"".join(self._chunks)
            self._chunks.clear()
            self._queued = 0
            self._drained.set()
            return data
        if self._end is not None:
            error, self._end = self._end, None
            with map_errors(user_query=True):
                raise error
        return None

    async def close(self) -> None:
        """Stop the copy (PostgreSQL cancels the statement) and wait until the connection is usable again."""
        if not self._task.done():
            self._task.cancel()
        with suppress(asyncio.CancelledError):
            await self._task


class Statement:
    """A query prepared in its transaction: :attr:`columns` first, then :meth:`fetch`, :meth:`cursor` or
    :meth:`copy`, once."""

    def __init__(self, conn: asyncpg.Connection, prepared: asyncpg.prepared_stmt.PreparedStatement, sql: str,
                 args: Sequence[object]) -> None:  # fmt: skip
        self._conn = conn
        self._prepared = prepared
        self._sql = sql
        self._args = tuple(args)
        self._copy: CopyReader | None = None

    @functools.cached_property
    def columns(self) -> tuple[ResultColumn, ...]:
        """The result's columns, as PostgreSQL described them when the statement was prepared."""
        return tuple(ResultColumn(a.name, a.type.oid, a.type.name) for a in self._prepared.get_attributes())

    async def fetch(self) -> Sequence[Sequence[object]]:
        """Every row of the prepared statement, in one round trip (for results known to be small)."""
        with map_errors(user_query=True):
            rows: list[asyncpg.Record] = await self._prepared.fetch(*self._args)
        return rows

    async def cursor(self) -> ResultCursor:
        """A server-side cursor over the rows of the prepared statement."""
        with map_errors(user_query=True):
            cursor = await self._prepared.cursor(*self._args)
        return ResultCursor(cursor)

    def copy(self, *, binary: bool, read_ahead: int = 4 << 20) -> CopyReader:
        """Start ``COPY (query) TO STDOUT`` in PostgreSQL's ``binary`` or ``text`` format (PostgreSQL 15 COPY).

        At most ``read_ahead`` bytes (and one more piece) are held unread.
        """
        self._copy = CopyReader(self._conn, self._sql, self._args, binary=binary, read_ahead=read_ahead)
        return self._copy

    async def close(self) -> None:
        """Stop a copy that still runs (see :meth:`CopyReader.close`)."""
        if self._copy is not None:
            await self._copy.close()


def query_settings(*, statement_timeout: float, role: str | None = None) -> tuple[str, ...]:
    """The ``SET LOCAL`` statements every query's transaction starts with (see :func:`begin`).

    ``role`` is the database role the query runs as (:mod:`vostack.db.access`);
    ``statement_timeout`` in seconds; ``extra_float_digits`` 1 (PostgreSQL's
    default) makes a text COPY write floats as their shortest decimals; and
    ``force_custom_plan`` keeps a statement run again with new bind values (SSA's
    cone, from asyncpg's statement cache) on its index, whatever the pool's
    reset did to the session's settings.
    """
    return (
        *((f"SET LOCAL ROLE {quote_ident(role)}",) if role is not None else ()),
        f"SET LOCAL statement_timeout = {max(1, int(statement_timeout * 1000))}",
        "SET LOCAL extra_float_digits = 1",
        "SET LOCAL plan_cache_mode = force_custom_plan",
    )


async def begin(conn: asyncpg.Connection, statements: Sequence[str], *, read_only: bool) -> None:
    """Start a transaction on ``conn`` and run ``statements`` in it (``SET LOCAL ...``), in one round trip.

    asyncpg sends a text of several statements as one simple query (PostgreSQL
    15 protocol §55.2.2): ``BEGIN`` makes its implicit transaction an explicit
    one that stays open after it, with the settings made.  This is the one place
    where a query's transaction is set up: anything more it needs at its start
    (a role) goes into ``statements``, at no further round trip.
    """
    await conn.execute("; ".join(("BEGIN READ ONLY" if read_only else "BEGIN", *statements)))


@asynccontextmanager
async def read_only_transaction(
    pool: asyncpg.Pool, *, statement_timeout: float, temp_tables: Sequence[TempTable], role: str | None = None
) -> AsyncIterator[asyncpg.Connection]:
    """A connection in a read-only transaction with a statement timeout, rolled back and released at the end.

    ``temp_tables`` (TAP uploads) are created and filled first in the same
    transaction, which then becomes ``READ ONLY`` (allowed after writes: only
    the way back to read-write is refused); they vanish with it.  With ``role``
    everything runs as that role (``SET LOCAL ROLE``, :mod:`vostack.db.access`).  If the block
    is cancelled (the client went away), the running statement is cancelled in
    PostgreSQL and the transaction is rolled back.
    """
    with map_errors():
        conn: asyncpg.Connection = await pool.acquire(timeout=30)
    try:
        try:
            with map_errors(user_query=True):
                settings = query_settings(statement_timeout=statement_timeout, role=role)
                await begin(conn, settings, read_only=not temp_tables)
                if temp_tables:
                    await load_temp_tables(conn, temp_tables)
                    await conn.execute("SET TRANSACTION READ ONLY")
            yield conn
        finally:
            try:
                if not conn.is_closed():
                    await conn.execute("ROLLBACK")
            except (asyncpg.PostgresError, asyncpg.InterfaceError, OSError):
                # a connection in an unknown state never goes back to the pool; one the pool already took back
                # (it is closing) has nothing left to end
                with suppress(asyncpg.InterfaceError):
                    conn.terminate()
    finally:
        await pool.release(conn)


@asynccontextmanager
async def open_cursor(
    pool: asyncpg.Pool,
    sql: str,
    *,
    statement_timeout: float,
    args: Sequence[object] = (),
    temp_tables: Sequence[TempTable] = (),
    role: str | None = None,
) -> AsyncIterator[ResultCursor]:
    """Run ``sql`` read-only with a statement timeout and yield a cursor over its rows.

    ``args`` are the values of the statement's ``$1``, ``$2``, ... bind
    parameters; ``temp_tables`` are created in the transaction first (see
    :func:`open_statement`); ``role`` is the database role the query runs
    as.  The connection goes back to the pool when the block ends; if the
    block is cancelled (the client went away), asyncpg cancels the running
    statement in PostgreSQL and the transaction is rolled back.
    """
    async with read_only_transaction(
        pool, statement_timeout=statement_timeout, temp_tables=temp_tables, role=role
    ) as conn:
        with map_errors(user_query=True):
            cursor = await conn.cursor(sql, *args)
        yield ResultCursor(cursor)


@asynccontextmanager
async def open_statement(
    pool: asyncpg.Pool,
    sql: str,
    *,
    statement_timeout: float,
    args: Sequence[object] = (),
    temp_tables: Sequence[TempTable] = (),
    role: str | None = None,
) -> AsyncIterator[Statement]:
    """Prepare ``sql`` read-only with a statement timeout and yield it, its result columns known.

    As :func:`open_cursor` (same transaction, uploads, timeout, cancellation);
    the caller then reads the rows with :meth:`Statement.cursor` or
    :meth:`Statement.copy`.  A copy still running when the block ends is
    cancelled in PostgreSQL before the transaction is rolled back.
    """
    async with read_only_transaction(
        pool, statement_timeout=statement_timeout, temp_tables=temp_tables, role=role
    ) as conn:
        with map_errors(user_query=True):
            # PostgreSQL's unnamed statement (protocol §55.2.3): replaced by the next one, never closed, so no
            # round trip is spent closing the previous query's statement
            prepared = await conn.prepare(sql, name="")
        statement = Statement(conn, prepared, sql, args)
        try:
            yield statement
        finally:
            await statement.close()
