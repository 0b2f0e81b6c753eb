"""The one exception hierarchy of vostack.

Every failure a client can see is a :class:`VOError`.  Third-party exceptions
(sqlglot, asyncpg) are converted into these once, in the package that imports
the library (``vostack.adql``, ``vostack.db``); HTTP rendering happens once, at
each protocol app's edge (:class:`vostack.web.ErrorDocuments`).
"""

from __future__ import annotations

__all__ = [
    "ADQLError",
    "ADQLSemanticError",
    "ADQLSyntaxError",
    "AuthenticationError",
    "InternalError",
    "InvalidPhaseError",
    "NotFoundError",
    "ParameterError",
    "PermissionDeniedError",
    "QueryTimeoutError",
    "RequestTooLargeError",
    "TransientError",
    "URITooLongError",
    "UploadError",
    "UsageError",
    "VOError",
]


class VOError(Exception):
    """Base class for every error vostack reports to a client."""

    http_status: int = 500
    uws_type: str = "fatal"

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.message!r})"


class UsageError(VOError):
    """The client's request cannot be honoured as it stands (HTTP 400)."""

    http_status = 400


class ParameterError(UsageError):
    """A missing or invalid DALI/TAP/SSA parameter."""

    def __init__(self, message: str, *, param: str) -> None:
        super().__init__(message)
        self.param = param


class ADQLError(UsageError):
    """An ADQL query that cannot be run; ``line`` and ``col`` are 1-based when known."""

    def __init__(self, message: str, *, line: int | None = None, col: int | None = None) -> None:
        super().__init__(message)
        self.line = line
        self.col = col


class ADQLSyntaxError(ADQLError):
    """The query text is not ADQL (ADQL 2.1 §2)."""


class ADQLSemanticError(ADQLError):
    """The query is well-formed but names unknown tables, columns or functions."""


class UploadError(UsageError):
    """A TAP upload that cannot be read (TAP 1.1 §3.3.1)."""


class RequestTooLargeError(UsageError):
    """The request carries more than the service reads: its message states the limit (HTTP 413, RFC 9110 §15.5.14)."""

    http_status = 413


class URITooLongError(RequestTooLargeError):
    """The request's query string is longer than the service reads (HTTP 414, RFC 9110 §15.5.15)."""

    http_status = 414


class InvalidPhaseError(UsageError):
    """The requested UWS action is not allowed in the job's phase (UWS 1.1 §2.1.3)."""


class NotFoundError(VOError):
    """Unknown job, result, table or resource (HTTP 404)."""

    http_status = 404


class AuthenticationError(VOError):
    """No identity where one is needed, or credentials that are not valid (HTTP 401, RFC 9110 §15.5.2).

    The response carries the site's ``WWW-Authenticate`` challenges (IVOA SSO 2.0, AuthVO).
    """

    http_status = 401


class PermissionDeniedError(VOError):
    """An authenticated identity that may not do this (HTTP 403, RFC 9110 §15.5.4)."""

    http_status = 403


class QueryTimeoutError(VOError):
    """The query ran longer than its execution time limit: expected behaviour, not a fault (HTTP 400).

    The request asked for more work than the service's stated limit allows; DALI 1.1 §4.2 keeps
    5xx for a server that failed to function, TAP 1.1 §3.3 lets a synchronous error take any 4xx.
    """

    http_status = 400


class TransientError(VOError):
    """A temporary failure: the database is unreachable or overloaded (HTTP 503)."""

    http_status = 503
    uws_type = "transient"


class InternalError(VOError):
    """A bug in vostack; the client gets a generic message, the log the traceback."""
