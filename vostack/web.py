"""HTTP pieces every protocol app shares: its base URL, the DALI error response, VOSI availability.

TAP, SSA and the UWS job services are separate ASGI apps a portal mounts where it likes; they answer
errors and availability the same way, so that way is written once here.
"""

from __future__ import annotations

import logging

from starlette.requests import Request
from starlette.responses import Response

from vostack import db, vosi
from vostack.errors import InternalError, TransientError, VOError
from vostack.votable import MEDIA_TYPE, error_document

__all__ = ["XML", "availability_response", "dali_error_response", "mount_url"]

log = logging.getLogger("vostack")

XML = "text/xml; charset=utf-8"
"""The media type of VOSI and UWS documents."""


def mount_url(request: Request) -> str:
    """The absolute URL the app serving ``request`` is mounted at (its ``root_path``), without a trailing slash."""
    url = request.url
    return f"{url.scheme}://{url.netloc}{request.scope.get('root_path', '')}".rstrip("/")


def dali_error_response(
    exc: BaseException, *, service: str, infos: tuple[tuple[str, str, str | None], ...] = ()
) -> Response:
    """The DALI error VOTable for ``exc`` with its HTTP status (DALI 1.1 §4.2; TAP 1.1 §2.9, SSA 1.1 §8.8.1).

    Anything but a :class:`VOError` is logged with its traceback and answered as an internal error of
    ``service``; transient errors (database down) get ``Retry-After``.
    """
    if not isinstance(exc, VOError):
        log.exception("internal error in the %s service", service, exc_info=exc)
        exc = InternalError(f"internal error in the {service} service; the operators have the details in their log")
    headers = {"Retry-After": "30"} if isinstance(exc, TransientError) else None
    return Response(
        error_document(exc.message, infos=infos), status_code=exc.http_status, media_type=MEDIA_TYPE, headers=headers
    )


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
