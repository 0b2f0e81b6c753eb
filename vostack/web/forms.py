"""Request parameters as every protocol app reads them: query string and form body, within limits.

DALI 1.1 §3.1: parameters arrive in the query string and, with POST, in an
``application/x-www-form-urlencoded`` or ``multipart/form-data`` body (DALI 1.1 §3.4.5
for file parts), both at once.  Both are read here, once, for TAP, SSA, UWS and the
OAI-PMH registry.  A request over the service's :class:`RequestLimits` is refused
with a message that states the limit: :class:`~vostack.errors.URITooLongError` (HTTP
414) for the query string, :class:`~vostack.errors.RequestTooLargeError` (HTTP 413)
for a body, while it is read.

The query string and a urlencoded body are parsed alike (``urllib.parse.parse_qsl``,
as Starlette parses ``request.query_params``); a multipart body by Starlette's
``request.form``, whose own limits are set above the ones checked here, so that the
only errors it reports are malformed bodies (HTTP 400).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from email.message import Message as HeaderFields
from urllib.parse import parse_qsl

from starlette.exceptions import HTTPException
from starlette.formparsers import MultiPartException
from starlette.requests import Request
from starlette.types import Message, Receive

from vostack.config import ServiceConfig
from vostack.dali import Params
from vostack.errors import RequestTooLargeError, URITooLongError, UsageError

__all__ = ["HEAD_ALLOWANCE", "RequestLimits", "request_form", "request_pairs", "request_params"]

HEAD_ALLOWANCE = 16 * 1024
"""Bytes of request line and headers besides the query string (what uvicorn's h11 buffers by default)."""

_URLENCODED = "application/x-www-form-urlencoded"
_MULTIPART = "multipart/form-data"

Pairs = list[tuple[str, str]]


@dataclass(frozen=True, slots=True)
class RequestLimits:
    """How much of a request a service reads.

    Parameters
    ----------
    parameter_bytes
        The longest query string, and the most bytes of parameters in a form body
        (file parts not counted).
    parameters
        The most parameters in one request: query string and body together, file parts included.
    file_bytes
        The file parts of a multipart body altogether (TAP inline uploads, TAP 1.1 §4.5);
        0: the service takes no files and ignores file parts.
    """

    parameter_bytes: int = 1_048_576
    parameters: int = 1000
    file_bytes: int = 0

    def __post_init__(self) -> None:
        if self.parameter_bytes < 1 or self.parameters < 1 or self.file_bytes < 0:
            raise ValueError("request limits must be positive (file_bytes: 0 for no files)")

    @classmethod
    def of(cls, settings: ServiceConfig, *, files: bool = False) -> RequestLimits:
        """The limits in a service's settings: ``request_limit``, ``request_parameters``, ``upload_limit``."""
        return cls(
            parameter_bytes=settings.request_limit,
            parameters=settings.request_parameters,
            file_bytes=settings.upload_limit if files else 0,
        )

    @property
    def body_bytes(self) -> int:
        """The largest request body read: parameters plus files (and their multipart framing)."""
        return self.parameter_bytes + self.file_bytes

    @property
    def head_bytes(self) -> int:
        """The request head (request line and headers) a server must accept so that every query string
        over the limit reaches the service and gets its 414 document; uvicorn's h11 accepts 16 KiB."""
        return self.parameter_bytes + HEAD_ALLOWANCE


async def request_pairs(request: Request, limits: RequestLimits) -> Pairs:
    """The ``(name, value)`` pairs of the query string and the form body, as sent (OAI-PMH 2.0 §3.1.1)."""
    pairs, _ = await _read(request, limits)
    return pairs


async def request_params(request: Request, limits: RequestLimits) -> Params:
    """GET query and POST form parameters together, names case-insensitive (DALI 1.1 §3.1)."""
    pairs, _ = await _read(request, limits)
    return Params(pairs)


async def request_form(request: Request, limits: RequestLimits) -> tuple[Params, dict[str, bytes]]:
    """:func:`request_params` plus the file parts of a multipart POST by part name (DALI 1.1 §3.4.5).

    File parts are read only when ``limits.file_bytes`` is positive; two parts of one name are refused.
    """
    pairs, files = await _read(request, limits)
    return Params(pairs), files


async def _read(request: Request, limits: RequestLimits) -> tuple[Pairs, dict[str, bytes]]:
    query = request.scope.get("query_string", b"")
    if len(query) > limits.parameter_bytes:
        raise URITooLongError(
            f"the URL's query string is {len(query):,} bytes, longer than this service accepts "
            f"({limits.parameter_bytes:,} bytes)"
        )
    if query.count(b"&") + 1 > limits.parameters:
        raise URITooLongError(f"the URL has more parameters than this service accepts ({limits.parameters:,})")
    pairs = parse_qsl(query.decode("latin-1"), keep_blank_values=True)
    if request.method != "POST":
        return pairs, {}
    content_type = request.headers.get("content-type", "")
    kind = content_type.partition(";")[0].strip().lower()  # RFC 9110 §8.3.1: type/subtype, case-insensitive
    if kind == _URLENCODED:
        return pairs + await _urlencoded(request, limits, room=limits.parameters - len(pairs)), {}
    if kind == _MULTIPART:
        fields = HeaderFields()  # the boundary parameter, quoted or not (RFC 2046 §5.1.1)
        fields["content-type"] = content_type
        body, files = await _multipart(request, limits, fields.get_boundary(), room=limits.parameters - len(pairs))
        return pairs + body, files
    return pairs, {}


async def _urlencoded(request: Request, limits: RequestLimits, *, room: int) -> Pairs:
    """The parameters of an urlencoded body of at most ``parameter_bytes`` and ``room`` parameters."""
    meter = _Meter(request, max_bytes=limits.parameter_bytes, what="parameters")
    body = bytearray()
    async for chunk in Request(request.scope, meter).stream():
        body += chunk
    if body.count(b"&") + 1 > room:
        raise _too_many(limits)
    return parse_qsl(body.decode("latin-1"), keep_blank_values=True)


async def _multipart(
    request: Request, limits: RequestLimits, boundary: str | None, *, room: int
) -> tuple[Pairs, dict[str, bytes]]:
    """The fields and file parts of a multipart body, counted while it is read."""
    # Every part starts with the delimiter "--boundary" (RFC 2046 §5.1.1), the body ends with one more:
    # more than room + 1 of them is more than room parts, refused before Starlette parses the next part.
    delimiter = b"--" + boundary.encode("latin-1") if boundary else b""
    meter = _Meter(
        request,
        max_bytes=limits.body_bytes,
        what="parameters" if not limits.file_bytes else "parameters and files",
        delimiter=delimiter,
        max_delimiters=room + 1,
        too_many=_too_many(limits),
    )
    pairs: Pairs = []
    files: dict[str, bytes] = {}
    try:
        # Starlette's own limits never trip first: at most room parts arrive, none larger than the body.
        form_request = Request(request.scope, meter)
        async with form_request.form(
            max_files=limits.parameters + 1, max_fields=limits.parameters + 1, max_part_size=limits.body_bytes
        ) as form:
            for name, value in form.multi_items():
                if isinstance(value, str):
                    pairs.append((name, value))
                elif not limits.file_bytes:
                    continue  # this service takes no files
                elif name in files:
                    raise UsageError(f"the request has two file parts named {name!r}")
                else:
                    files[name] = await value.read()
    except HTTPException as exc:  # a malformed body, inside a Starlette app
        raise UsageError(f"the multipart/form-data body cannot be read: {exc.detail}") from None
    except MultiPartException as exc:  # the same, outside one
        raise UsageError(f"the multipart/form-data body cannot be read: {exc.message}") from None
    size = _size(pairs)
    if size > limits.parameter_bytes:
        raise RequestTooLargeError(
            f"the request's parameters are {size:,} bytes, more than this service accepts "
            f"({limits.parameter_bytes:,} bytes)"
        )
    return pairs, files


def _size(pairs: Sequence[tuple[str, str]]) -> int:
    return sum(len(name.encode()) + len(value.encode()) for name, value in pairs)


def _too_many(limits: RequestLimits) -> RequestTooLargeError:
    return RequestTooLargeError(f"the request has more parameters than this service accepts ({limits.parameters:,})")


class _Meter:
    """The ``receive`` of a request body that refuses it while it is read: past ``max_bytes`` bytes,
    or past ``max_delimiters`` occurrences of ``delimiter`` (counted across chunk boundaries)."""

    def __init__(
        self,
        request: Request,
        *,
        max_bytes: int,
        what: str,
        delimiter: bytes = b"",
        max_delimiters: int = 0,
        too_many: RequestTooLargeError | None = None,
    ) -> None:
        self._receive: Receive = request.receive
        self._max_bytes = max_bytes
        self._what = what
        self._delimiter = delimiter
        self._max_delimiters = max_delimiters
        self._too_many = too_many
        self._seen = 0
        self._delimiters = 0
        self._tail = b""
        length = request.headers.get("content-length", "")
        if length.isdigit() and int(length) > max_bytes:  # refused before a byte is read
            raise self._too_large(int(length))

    def _too_large(self, size: int | None = None) -> RequestTooLargeError:
        body = "the request body" if size is None else f"the request body of {size:,} bytes"
        return RequestTooLargeError(
            f"{body} is larger than this service accepts ({self._max_bytes:,} bytes of {self._what})"
        )

    async def __call__(self) -> Message:
        message = await self._receive()
        if message["type"] == "http.request":
            chunk = message.get("body", b"")
            self._seen += len(chunk)
            if self._seen > self._max_bytes:
                raise self._too_large()
            if self._delimiter:
                window = self._tail + chunk
                self._delimiters += window.count(self._delimiter)
                if self._delimiters > self._max_delimiters and self._too_many is not None:
                    raise self._too_many
                # keep less than one delimiter: one split across chunks is counted once, whole ones never twice
                self._tail = window[max(0, len(window) - len(self._delimiter) + 1) :]
        return message
