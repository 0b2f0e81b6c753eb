"""The HTTP edge every protocol app shares: request parameters and their limits, error documents,
its base URL, VOSI availability.

TAP, SSA, the UWS job services and the OAI-PMH registry are separate ASGI apps a portal mounts
where it likes; they read requests, answer errors and availability the same way, so that way is
written once here (:mod:`vostack.web.forms`, :mod:`vostack.web.edge`).
"""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response

from vostack import db, vosi
from vostack.errors import TransientError, VOError
from vostack.web.edge import GZIP_MINIMUM, Document, ErrorDocuments, compressed, dali_document
from vostack.web.forms import HEAD_ALLOWANCE, RequestLimits, request_form, request_pairs, request_params

__all__ = [
    "GZIP_MINIMUM",
    "HEAD_ALLOWANCE",
    "XML",
    "Document",
    "ErrorDocuments",
    "RequestLimits",
    "availability_response",
    "compressed",
    "dali_document",
    "mount_url",
    "request_form",
    "request_pairs",
    "request_params",
]

XML = "text/xml; charset=utf-8"
"""The media type of VOSI and UWS documents."""


def mount_url(request: Request) -> str:
    """The absolute URL the app serving ``request`` is mounted at (its ``root_path``), without a trailing slash."""
    url = request.url
    return f"{url.scheme}://{url.netloc}{request.scope.get('root_path', '')}".rstrip("/")


async def availability_response(pool: db.Pool | None, note: str) -> Response:
    """VOSI 1.1 §3.5: available with ``note`` when the database answers, else unavailable saying why.

    ``pool`` is ``None`` while the service has not started.
    """
    available = True
    try:
        if pool is None:
            raise TransientError("the service is starting")
        await db.ping(pool)
    except VOError as exc:
        available, note = False, exc.message
    return Response(vosi.availability_document(available=available, note=note), media_type=XML)
