"""The HTTP edge every protocol app shares: request parameters and their limits, error documents,
its base URL, VOSI availability.

TAP, SSA, the UWS job services and the OAI-PMH registry are separate ASGI apps a portal mounts
where it likes; they read requests, answer errors and availability the same way, so that way is
written once here (:mod:`vostack.web.forms`, :mod:`vostack.web.edge`).
"""

from __future__ import annotations

from collections.abc import Sequence

from starlette.requests import Request
from starlette.responses import Response

from vostack import db, vosi
from vostack.errors import TransientError, VOError
from vostack.web.auth import AUTHENTICATED_HEADER, BEARER_HEADER, Authentication, LoginService, auth_of, identity
from vostack.web.edge import GZIP_MINIMUM, Document, ErrorDocuments, compressed, dali_document
from vostack.web.forms import HEAD_ALLOWANCE, RequestLimits, request_form, request_pairs, request_params

__all__ = [
    "AUTHENTICATED_HEADER",
    "BEARER_HEADER",
    "GZIP_MINIMUM",
    "HEAD_ALLOWANCE",
    "XML",
    "Authentication",
    "Document",
    "ErrorDocuments",
    "LoginService",
    "RequestLimits",
    "auth_of",
    "availability_response",
    "capabilities_response",
    "compressed",
    "dali_document",
    "identity",
    "mount_url",
    "request_form",
    "request_pairs",
    "request_params",
]

XML = "text/xml; charset=utf-8"
"""The media type of VOSI and UWS documents."""


def capabilities_response(request: Request, capabilities: Sequence[vosi.Capability]) -> Response:
    r"""VOSI 1.1 §3.1: the capabilities document, each interface with the site's ``securityMethod``\ s
    (IVOA SSO 2.0 §2.2; none when the site has no :class:`Authentication`)."""
    auth, _ = auth_of(request.scope)
    methods = auth.security_methods if auth is not None else ()
    return Response(vosi.capabilities_document(capabilities, security_methods=methods), media_type=XML)


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
