"""The one streaming loop of every result document (TAP 1.1 §2.9, DALI 1.1 §3.2.2 and §5.4).

:func:`iter_result` drives a :class:`~vostack.votable.base.ResultWriter` over
batches of rows: the header, then the batches up to the row limit, then the
footer with the status known only at the end (``OVERFLOW`` when rows were cut
at the limit, ``ERROR`` when the source failed after the first byte).  TAP
(sync and async) and SSA stream through it; where the rows come from (a
cursor, a binary COPY) is the caller's business.
"""

from __future__ import annotations

from collections.abc import AsyncGenerator

from vostack.errors import VOError
from vostack.votable.base import Batch, ResultWriter

__all__ = ["StreamAborted", "iter_result"]


class StreamAborted(VOError):
    """A result failed after its first byte in a format that cannot say so in the document."""


async def iter_result(
    writer: ResultWriter,
    batches: AsyncGenerator[Batch, None],
    *,
    limit: int,
    errors_in_band: bool = True,
) -> AsyncGenerator[bytes, None]:
    """The document of ``writer`` for the rows of ``batches``, at most ``limit`` of them.

    When more rows come, exactly ``limit`` are written and the footer marks the
    overflow (DALI 1.1 §3.2.2: ``QUERY_STATUS=OVERFLOW`` after the table).  A
    :class:`VOError` raised by ``batches`` after the header ends the table and
    becomes the footer's ``ERROR`` status (TAP 1.1 §2.9), since the HTTP status
    is already sent; when the format cannot carry it, or ``errors_in_band`` is
    false (an async job, which has its own error channel), :class:`StreamAborted`
    is raised instead, so that the transfer ends broken rather than short.
    ``batches`` is closed before the footer is written, so that its database
    connection goes back to the pool at once.
    """
    sent = 0
    overflow = False
    error: str | None = None
    try:
        yield writer.header()
        async for batch in batches:
            if sent + len(batch) > limit:
                batch = batch[: limit - sent]
                overflow = True
            if len(batch):
                yield writer.rows(batch)
                sent += len(batch)
            if overflow:
                break
    except VOError as exc:
        error = exc.message
    finally:
        await batches.aclose()
    if error is not None and not (errors_in_band and writer.status_in_band):
        raise StreamAborted(error)
    for piece in writer.iter_footer(overflow=overflow, error=error):
        yield piece
