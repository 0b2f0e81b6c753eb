"""The one place a protocol app's errors become HTTP responses (DALI 1.1 §4.2), and where it refuses callers.

Each protocol app (TAP, SSA, a UWS job service, the OAI-PMH registry) wraps its
router in :class:`ErrorDocuments` with the renderer of its own error document:
endpoints raise, they do not catch.  A :class:`~vostack.errors.VOError` is answered
with its HTTP status (400 for the client's mistakes, 413/414 over a limit, 404,
503 with ``Retry-After``); Starlette's own 404 and 405 keep their status; anything
else is a bug: logged with its traceback, answered 500 with a generic message.

Behind :class:`vostack.web.Authentication` it also answers for the site's
:class:`~vostack.auth.Auth` (IVOA SSO 2.0, AuthVO §4): invalid credentials are a 401,
and so is an anonymous caller where the site requires an identity (a 403 for one
outside the site's groups), except on the VOSI capabilities and availability, which
stay open to all (VOSI 1.1 §2); 401 and 403 responses and the capabilities carry the
site's ``WWW-Authenticate`` challenges, and every response to an authenticated caller
names it in ``X-VO-Authenticated``.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence

from starlette.exceptions import HTTPException
from starlette.middleware.gzip import GZipMiddleware
from starlette.requests import ClientDisconnect, Request
from starlette.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from vostack.errors import InternalError, TransientError, UsageError, VOError
from vostack.votable import MEDIA_TYPE, error_document
from vostack.web.auth import AUTHENTICATED_HEADER, auth_of, identity

__all__ = ["GZIP_MINIMUM", "Document", "ErrorDocuments", "compressed", "dali_document"]

log = logging.getLogger("vostack")

#: Responses smaller than this many bytes go out uncompressed: a body of a few KiB fits TCP's initial
#: congestion window (10 segments) either way, so gzip would save no round trip, only a few hundred bytes,
#: for compression on the server and decompression on the client at every request.
GZIP_MINIMUM = 4096


def compressed(app: ASGIApp) -> ASGIApp:
    """``app`` with its responses gzipped when the client accepts it (RFC 9110 §8.4.1.3) and they are at least
    :data:`GZIP_MINIMUM` bytes; streamed ones always (DALI clients ask for gzip)."""
    return GZipMiddleware(app, minimum_size=GZIP_MINIMUM, compresslevel=1)


Document = Callable[[Request, VOError], tuple[bytes, str]]
"""Renders the error document of a protocol for a request: ``(body, media type)``."""


def dali_document(infos: Sequence[tuple[str, str, str | None]] = ()) -> Document:
    """The DALI error VOTable (``INFO name="QUERY_STATUS" value="ERROR"``, DALI 1.1 §4.4.2), with ``infos``."""

    def document(request: Request, exc: VOError) -> tuple[bytes, str]:
        return error_document(exc.message, infos=infos), MEDIA_TYPE

    return document


class ErrorDocuments:
    """ASGI middleware: the errors ``app`` raises before its response starts, as ``document``\\ s.

    Parameters
    ----------
    app
        The protocol app (its router).
    service
        Its name in the log and in the message of an internal error (``"TAP"``).
    document
        Renders the protocol's error document.
    retry_after
        Seconds in the ``Retry-After`` header of a 503 (the database is away).
    """

    def __init__(self, app: ASGIApp, *, service: str, document: Document, retry_after: int = 30) -> None:
        self.app = app
        self.service = service
        self.document = document
        self.retry_after = retry_after

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = False
        auth, refused = auth_of(scope)
        path = scope.get("path", "").rstrip("/")
        open_to_all = path.endswith(("/capabilities", "/availability"))  # VOSI 1.1 §2: anonymous access
        caller = identity(scope)
        extra: list[tuple[bytes, bytes]] = []
        if caller.authenticated:
            extra.append((AUTHENTICATED_HEADER.lower().encode(), str(caller.name).encode()))

        async def watch(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
                headers = [*message.get("headers", ()), *extra]
                if auth is not None and (message["status"] in (401, 403) or path.endswith("/capabilities")):
                    origin = f"{scope.get('scheme', 'http')}://{Request(scope).headers.get('host', '')}"
                    headers += [(b"www-authenticate", c.encode()) for c in auth.challenges(origin)]
                message = {**message, "headers": headers}
            await send(message)

        try:
            if auth is not None and refused is None and not open_to_all:
                auth.check(caller)
            if refused is not None:
                raise refused
            await self.app(scope, receive, watch)
        except ClientDisconnect:
            return  # the client went away while its request was read: nobody to answer
        except Exception as exc:
            if started:
                raise  # the status line is sent: only the server can end the response (it logs why)
            await self.response(Request(scope, receive), exc)(scope, receive, watch)

    def response(self, request: Request, exc: Exception) -> Response:
        """The error response for ``exc`` (logged when it is a bug or a server-side failure)."""
        headers: dict[str, str] = {}
        if isinstance(exc, HTTPException):  # Starlette's routing: no such path (404), method not allowed (405)
            headers.update(exc.headers or {})
            error: VOError = UsageError(exc.detail)
            status = exc.status_code
        elif isinstance(exc, VOError):
            error, status = exc, exc.http_status
            if isinstance(exc, TransientError):  # the database is away: /availability says so, not the log
                headers["Retry-After"] = str(self.retry_after)
            elif status >= 500:
                log.warning("%s service: %s", self.service, exc.message)
        else:
            log.error("internal error in the %s service", self.service, exc_info=exc)
            error = InternalError(
                f"internal error in the {self.service} service; the operators have the details in their log"
            )
            status = error.http_status
        body, media_type = self.document(request, error)
        return Response(body, status_code=status, media_type=media_type, headers=headers)
