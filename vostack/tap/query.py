"""The one query path of TAP: ADQL in, a streamed result document out (TAP 1.1 §2.7, §2.9).

Both the synchronous endpoint and asynchronous jobs run a :class:`QueryRun`:
:meth:`QueryRun.start` translates the query, opens a server-side cursor and
reads the first batch, so that every error the client caused is known before
the first byte is sent; :meth:`QueryRun.iter_bytes` then streams the document
batch by batch, holding one batch in memory at a time.
"""

from __future__ import annotations

import time
from collections.abc import AsyncGenerator, Sequence
from contextlib import AsyncExitStack
from typing import Self

from vostack import adql
from vostack.db import Pool, ResultCursor, open_cursor
from vostack.errors import QueryTimeoutError
from vostack.schema import TableSet
from vostack.tap.page import Preview
from vostack.tap.params import TAPRequest
from vostack.tap.upload import Upload, temp_tables, with_uploads
from vostack.votable import ResultWriter, StreamAborted, iter_result, writer_for

__all__ = ["BATCH_ROWS", "QueryRun", "StreamAborted", "fetch_preview"]

#: Rows fetched from the cursor and encoded per step.
BATCH_ROWS = 5_000


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
        tableset: TableSet,
        request: TAPRequest,
        *,
        time_limit: float,
        udfs: Sequence[adql.UDF] = (),
        uploads: Sequence[Upload] = (),
    ) -> Self:
        """Translate and start the query; raises :class:`VOError` for anything that fails before streaming.

        ``uploads`` (loaded by :func:`vostack.tap.upload.load_uploads`) become ``TAP_UPLOAD`` tables
        of this query only (TAP 1.1 §4.5).
        """
        # repeated query texts come from the shared translator's cache; uploaded tables are this query's own
        translation = (
            adql.translate(request.query, with_uploads(tableset, uploads), row_limit=request.maxrec + 1, udfs=udfs)
            if uploads
            else adql.translator(tableset, udfs).translate(request.query, row_limit=request.maxrec + 1)
        )
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

    def iter_bytes(self) -> AsyncGenerator[bytes, None]:
        """The result document, batch by batch; MAXREC overflow is marked after the table (DALI 1.1 §3.2.2).

        A failure after the first byte (a timeout, a lost connection) ends the
        table and is reported as ``INFO name="QUERY_STATUS" value="ERROR"``
        after it (TAP 1.1 §2.9), since the HTTP status is already sent; see
        :func:`~vostack.votable.iter_result`.
        """
        return iter_result(self._writer, self._batches(), limit=self.request.maxrec, errors_in_band=self.errors_in_band)

    async def _batches(self) -> AsyncGenerator[Sequence[Sequence[object]], None]:
        """The rows, batch by batch, never more than MAXREC + 1; the cursor is released at the end."""
        maxrec = self.request.maxrec
        try:
            batch, sent = self._first, 0
            while batch:
                yield batch
                sent += len(batch)
                if time.monotonic() > self._deadline:
                    raise QueryTimeoutError(
                        "the query was stopped at its execution time limit while its rows were being sent; "
                        "use the asynchronous endpoint (/async) for long queries"
                    )
                batch = await self._cursor.fetch(min(BATCH_ROWS, maxrec + 1 - sent))
        finally:
            await self.aclose()


async def fetch_preview(
    pool: Pool, tableset: TableSet, query: str, *, rows: int, time_limit: float, udfs: Sequence[adql.UDF] = ()
) -> Preview:
    """The first ``rows`` rows of an ADQL query, read-only and time-bounded like every query (for the HTML page)."""
    translation = adql.translator(tableset, udfs).translate(query, row_limit=rows + 1)
    async with open_cursor(pool, translation.sql, statement_timeout=time_limit) as cursor:
        fetched = await cursor.fetch(rows + 1)
    return Preview(translation.fields, fetched[:rows], overflow=len(fetched) > rows)
