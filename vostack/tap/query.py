"""The one query path of TAP: ADQL in, a streamed result document out (TAP 1.1 §2.7, §2.9).

Both the synchronous endpoint and asynchronous jobs run a :class:`QueryRun`:
:meth:`QueryRun.start` translates the query, opens a server-side cursor and
reads the first batch, so that every error the client caused is known before
the first byte is sent; :meth:`QueryRun.iter_bytes` then streams the document
batch by batch, holding one batch in memory at a time.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncGenerator, Sequence
from contextlib import AsyncExitStack
from functools import partial
from typing import Self

from vostack import adql
from vostack.db import Pool, ResultCursor, open_cursor
from vostack.errors import QueryTimeoutError, VOError
from vostack.formats import ResultWriter, writer_for
from vostack.tap.page import Preview
from vostack.tap.params import TAPRequest
from vostack.tap.upload import Upload, temp_tables, with_uploads

__all__ = ["BATCH_ROWS", "QueryRun", "StreamAborted", "fetch_preview"]

#: Rows fetched from the cursor and encoded per step.
BATCH_ROWS = 5_000


class StreamAborted(VOError):
    """A result failed after its first byte in a format that cannot say so in the document."""


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

    def __init__(
        self,
        request: TAPRequest,
        translation: adql.Translation,
        writer: ResultWriter,
        stack: AsyncExitStack,
        cursor: ResultCursor,
        first: Sequence[Sequence[object]],
        deadline: float,
    ) -> None:
        self.request = request
        self.translation = translation
        self._writer = writer
        self._stack = stack
        self._cursor = cursor
        self._first = first
        self._deadline = deadline

    @classmethod
    async def start(
        cls,
        pool: Pool,
        translator: adql.Translator,
        request: TAPRequest,
        *,
        time_limit: float,
        uploads: Sequence[Upload] = (),
    ) -> Self:
        """Translate and start the query; raises :class:`VOError` for anything that fails before streaming.

        ``translator`` is the service's (its TableSet, user-defined functions and cache of query shapes).
        ``uploads`` (loaded by :func:`vostack.tap.upload.load_uploads`) become ``TAP_UPLOAD`` tables
        of this query only (TAP 1.1 §4.5).
        """
        translation = await translate(translator, request.query, request.maxrec + 1, uploads)
        writer = writer_for(
            request.format, translation.fields, infos=(("QUERY_STATUS", "OK", None), ("QUERY", request.query, None))
        )
        deadline = time.monotonic() + time_limit
        stack = AsyncExitStack()
        try:
            cursor = await stack.enter_async_context(
                open_cursor(pool, translation.sql, statement_timeout=time_limit, temp_tables=temp_tables(uploads))
            )
            first = await cursor.fetch(min(BATCH_ROWS, request.maxrec + 1))
        except BaseException:
            await stack.aclose()
            raise
        return cls(request, translation, writer, stack, cursor, first, deadline)

    async def aclose(self) -> None:
        """Release the cursor and its connection (idempotent)."""
        await self._stack.aclose()

    async def iter_bytes(self) -> AsyncGenerator[bytes, None]:
        """The result document, batch by batch; MAXREC overflow is marked after the table (DALI 1.1 §3.2.2).

        A failure after the first byte (a timeout, a lost connection) ends the
        table and is reported as ``INFO name="QUERY_STATUS" value="ERROR"``
        after it (TAP 1.1 §2.9), since the HTTP status is already sent.
        """
        writer = self._writer
        maxrec = self.request.maxrec
        sent = 0
        overflow = False
        error: str | None = None
        try:
            yield writer.header()
            batch = self._first
            while batch:
                if sent + len(batch) > maxrec:
                    batch = batch[: maxrec - sent]
                    overflow = True
                if batch:
                    yield writer.rows(batch)
                    sent += len(batch)
                if overflow:
                    break
                if time.monotonic() > self._deadline:
                    raise QueryTimeoutError(
                        "the query was stopped at its execution time limit while its rows were being sent; "
                        "use the asynchronous endpoint (/async) for long queries"
                    )
                batch = await self._cursor.fetch(min(BATCH_ROWS, maxrec + 1 - sent))
        except VOError as exc:
            error = exc.message
        finally:
            await self.aclose()
        if error is not None and not writer.status_in_band:
            # CSV and TSV have nowhere to say so: end the transfer broken rather than as a short table
            raise StreamAborted(error)
        for piece in writer.iter_footer(overflow=overflow, error=error):
            yield piece


async def fetch_preview(
    pool: Pool, translator: adql.Translator, query: str, *, rows: int, time_limit: float
) -> Preview:
    """The first ``rows`` rows of an ADQL query, read-only and time-bounded like every query (for the HTML page)."""
    translation = await translate(translator, query, rows + 1)
    async with open_cursor(pool, translation.sql, statement_timeout=time_limit) as cursor:
        fetched = await cursor.fetch(rows + 1)
    return Preview(translation.fields, fetched[:rows], overflow=len(fetched) > rows)
