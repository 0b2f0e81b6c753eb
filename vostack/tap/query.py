"""The one query path of TAP: ADQL in, a streamed result document out (TAP 1.1 §2.7, §2.9).

Both the synchronous endpoint and asynchronous jobs run a :class:`QueryRun`:
:meth:`QueryRun.start` translates the query, prepares it in its read-only
transaction and reads the first rows, so that every error the client caused
is known before the first byte is sent; :meth:`QueryRun.iter_bytes` then
streams the document batch by batch, holding one batch in memory at a time.

A query that returns at most :data:`SMALL_RESULT` rows (its ``TOP``, or MAXREC
+ 1) has them fetched at once as Python values from the statement prepared to
learn its columns, and written by the row writers.  Larger results are read as
a ``COPY`` of the translated query whenever the result's types allow, and the
writers transcode whole batches with numpy instead of making a Python object per
value; every path gives the same bytes:

* the text formats (TABLEDATA, CSV, TSV, JSON) read PostgreSQL's text COPY
  when every column is a number, a boolean or text
  (:data:`~vostack.votable.pgtext.TEXT_COPY_TYPES`): PostgreSQL writes the
  numbers, on its own processor (:mod:`vostack.votable.textrows`);
* otherwise, and for the binary formats, PostgreSQL's binary COPY when every
  column has a type :mod:`vostack.votable.pgcopy` reads (numbers, booleans,
  text, ``numeric``, timestamps, dates, ``uuid``, JSON, ``bytea`` and arrays
  of these, which covers the DALI geometry arrays the translator makes of
  pgSphere values; :mod:`vostack.votable.bulk`);
* results with any other type (``interval``, ``time``, network or geometric
  types, ranges, composites, enums, domains, extension types) are read from a
  server-side cursor, as before.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncGenerator, Sequence
from contextlib import AsyncExitStack
from functools import partial
from typing import Self

from vostack import adql
from vostack.db import CopyReader, Pool, ResultCursor, Statement, open_cursor, open_statement
from vostack.errors import QueryTimeoutError
from vostack.tap.page import Preview
from vostack.tap.params import TAPRequest
from vostack.tap.upload import Upload, temp_tables, with_uploads
from vostack.votable import Batch, ResultWriter, StreamAborted, iter_result, writer_for
from vostack.votable.pgcopy import CopyParser, supported
from vostack.votable.pgtext import TEXT_COPY_TYPES, TextCopyParser

__all__ = ["BATCH_ROWS", "QueryRun", "StreamAborted", "fetch_preview"]

#: Rows read before the first byte is sent, and fetched from a cursor per step.
BATCH_ROWS = 5_000

#: A query that returns at most this many rows (``TOP``, or MAXREC + 1) has its rows fetched at once, as
#: Python values: one statement for PostgreSQL to plan and run (a COPY parses and plans the query again), and
#: no copy task, buffer and bulk transcoding, whose fixed costs outweigh their speed for a few rows.
SMALL_RESULT = 100


#: Query texts longer than this (generated lists of thousands of values) are translated in a worker
#: thread: their translation takes long enough to hold up every other request on the event loop.
THREAD_TRANSLATION_LENGTH = 20_000


async def translate(
    translator: adql.Translator, query: str, row_limit: int, uploads: Sequence[Upload] = ()
) -> adql.Translation:
    """The query translated by the service's ``translator`` (with ``uploads`` as TAP_UPLOAD tables)."""
    if uploads:  # uploaded tables are this query's own: such a query is translated without the cache
        schema = with_uploads(translator.schema, uploads)
        work = partial(adql.translate, query, schema, row_limit=row_limit, udfs=translator.udfs)
    else:
        work = partial(translator.translate, query, row_limit=row_limit)
    if len(query) > THREAD_TRANSLATION_LENGTH:
        return await asyncio.to_thread(work)
    return work()


class QueryRun:
    """One ADQL query being executed; use :meth:`start`, then :meth:`iter_bytes`, then :meth:`aclose`."""

    #: Whether an error after the first byte is written into the document (sync) or raised (async jobs).
    errors_in_band = True

    def __init__(
        self,
        request: TAPRequest,
        translation: adql.Translation,
        writer: ResultWriter,
        stack: AsyncExitStack,
        batches: AsyncGenerator[Batch, None],
        first: Sequence[Batch],
        deadline: float,
        *,
        read: bool = False,
    ) -> None:
        self.request = request
        self.translation = translation
        self._writer = writer
        self._stack = stack
        self._batches = batches
        self._first = first
        self._deadline = deadline
        self._read = read  # every row is in ``first``

    @classmethod
    async def start(
        cls,
        pool: Pool,
        translator: adql.Translator,
        request: TAPRequest,
        *,
        time_limit: float,
        uploads: Sequence[Upload] = (),
        role: str | None = None,
    ) -> Self:
        """Translate and start the query; raises :class:`VOError` for anything that fails before streaming.

        ``translator`` is the service's (its TableSet, user-defined functions and cache of query shapes).
        ``uploads`` (loaded by :func:`vostack.tap.upload.load_uploads`) become ``TAP_UPLOAD`` tables
        of this query only (TAP 1.1 §4.5).  ``role`` is the database role the query runs as (what its
        caller may read, :mod:`vostack.db.access`).
        """
        translation = await translate(translator, request.query, request.maxrec + 1, uploads)
        writer = writer_for(
            request.format, translation.fields, infos=(("QUERY_STATUS", "OK", None), ("QUERY", request.query, None))
        )
        deadline = time.monotonic() + time_limit
        stack = AsyncExitStack()
        try:
            statement = await stack.enter_async_context(
                open_statement(
                    pool, translation.sql, statement_timeout=time_limit, temp_tables=temp_tables(uploads), role=role
                )
            )
            batches = await _batches(statement, writer, request.maxrec, translation.limit)
            first, read = await _prefetch(batches, min(BATCH_ROWS, request.maxrec + 1))
        except BaseException:
            await stack.aclose()
            raise
        return cls(request, translation, writer, stack, batches, first, deadline, read=read)

    async def aclose(self) -> None:
        """Release the statement and its connection (idempotent).

        A result whose rows were all read by :meth:`start` keeps its connection until then (its
        document can be sent first: the client has it a round trip sooner); a longer one gives it
        back as soon as its last rows are read, before the end of its document is sent.
        """
        await self._stack.aclose()

    def iter_bytes(self) -> AsyncGenerator[bytes, None]:
        """The result document, batch by batch; MAXREC overflow is marked after the table (DALI 1.1 §3.2.2).

        A failure after the first byte (a timeout, a lost connection) ends the
        table and is reported as ``INFO name="QUERY_STATUS" value="ERROR"``
        after it (TAP 1.1 §2.9), since the HTTP status is already sent; see
        :func:`~vostack.votable.iter_result`.
        """
        return iter_result(self._writer, self._rows(), limit=self.request.maxrec, errors_in_band=self.errors_in_band)

    async def _rows(self) -> AsyncGenerator[Batch, None]:
        """The rows read before the first byte, then the rest; then the connection is released (see :meth:`aclose`)."""
        try:
            for batch in self._first:
                yield batch
            self._first = ()
            while True:
                if time.monotonic() > self._deadline:
                    raise QueryTimeoutError(
                        "the query was stopped at its execution time limit while its rows were being sent; "
                        "use the asynchronous endpoint (/async) for long queries"
                    )
                try:
                    batch = await anext(self._batches)
                except StopAsyncIteration:
                    break
                yield batch
        finally:
            await self._batches.aclose()
            if not self._read:
                await self.aclose()


async def _prefetch(batches: AsyncGenerator[Batch, None], rows: int) -> tuple[list[Batch], bool]:
    """The first batches, until ``rows`` rows or the end (a query that fails early fails before the first byte),
    and whether that was the end."""
    first: list[Batch] = []
    count = 0
    while count < rows:
        try:
            batch = await anext(batches)
        except StopAsyncIteration:
            return first, True
        first.append(batch)
        count += len(batch)
    return first, False


async def _fetched(cursor: ResultCursor, maxrec: int) -> AsyncGenerator[Batch, None]:
    """Batches of rows from a cursor, never more than MAXREC + 1 rows in all."""
    sent = 0
    while batch := await cursor.fetch(min(BATCH_ROWS, maxrec + 1 - sent)):
        sent += len(batch)
        yield batch


async def _batches(
    statement: Statement, writer: ResultWriter, maxrec: int, limit: int | None
) -> AsyncGenerator[Batch, None]:
    """How the rows are read (see the module docstring): at once when they are few (at most
    :data:`SMALL_RESULT`), else the text or binary COPY the writer prefers, or a cursor."""
    if limit is not None and limit <= SMALL_RESULT:
        return _fetched_at_once(statement)
    types = [column.type_oid for column in statement.columns]
    if writer.text_copy and all(oid in TEXT_COPY_TYPES for oid in types):
        return _copied(statement.copy(binary=False), TextCopyParser(types))
    if supported(types):
        return _copied(statement.copy(binary=True), CopyParser(types))
    return _fetched(await statement.cursor(), maxrec)


async def _fetched_at_once(statement: Statement) -> AsyncGenerator[Batch, None]:
    """All the rows of a small result, as one batch."""
    if rows := await statement.fetch():
        yield rows


async def _copied(reader: CopyReader, parser: CopyParser | TextCopyParser) -> AsyncGenerator[Batch, None]:
    """Batches of columns from a COPY, one per piece of data that has arrived (with at least a row)."""
    while (data := await reader.read()) is not None:
        batch = parser.feed(data)
        if len(batch):
            yield batch
    parser.close()


async def fetch_preview(
    pool: Pool, translator: adql.Translator, query: str, *, rows: int, time_limit: float, role: str | None = None
) -> Preview:
    """The first ``rows`` rows of an ADQL query, read-only and time-bounded like every query (for the HTML page)."""
    translation = await translate(translator, query, rows + 1)
    async with open_cursor(pool, translation.sql, statement_timeout=time_limit, role=role) as cursor:
        fetched = await cursor.fetch(rows + 1)
    return Preview(translation.fields, fetched[:rows], overflow=len(fetched) > rows)
