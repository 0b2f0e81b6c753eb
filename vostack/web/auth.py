"""Identity at the HTTP edge: the :class:`Authentication` middleware and the :class:`LoginService` (AuthVO, SSO 2.0).

:class:`Authentication` wraps a portal's whole app: it reads each request's credentials once, with the
site's :class:`~vostack.auth.Auth`, and leaves the caller's :class:`~vostack.auth.Identity` (or the reason
its credentials were refused) in the request scope.  Each protocol app's
:class:`~vostack.web.ErrorDocuments` then refuses what the site refuses, as that protocol's error document
with ``WWW-Authenticate`` challenges, and names the identity in ``X-VO-Authenticated``; endpoints read
the identity with :func:`identity`.  Without the middleware every caller is anonymous.

:class:`LoginService` is where the ``ivoa_bearer`` and ``ivoa_cookie`` challenges send a client: HTTP Basic
(the token as password, ``standard_id=BasicAA``) or a form POST of ``username`` and ``password``
(``tls-with-password``) gives back the token in ``X-VO-Bearer`` and a session cookie.
"""

from __future__ import annotations

import base64
import binascii
import html
from collections.abc import Mapping
from http.cookies import SimpleCookie

from starlette.requests import HTTPConnection, Request
from starlette.responses import HTMLResponse, PlainTextResponse, RedirectResponse, Response
from starlette.types import ASGIApp, Receive, Scope, Send

from vostack.auth import ANONYMOUS, Auth, Identity
from vostack.errors import AuthenticationError, VOError

__all__ = ["AUTHENTICATED_HEADER", "BEARER_HEADER", "Authentication", "LoginService", "auth_of", "identity"]

AUTHENTICATED_HEADER = "X-VO-Authenticated"
"""The response header naming the authenticated caller (AuthVO §4.3)."""

BEARER_HEADER = "X-VO-Bearer"
"""The login response header carrying the bearer token (the ``ivoa_bearer`` scheme)."""

_IDENTITY = "vostack.identity"
_AUTH = "vostack.auth"
_REFUSED = "vostack.auth.refused"


def identity(connection: HTTPConnection | Scope) -> Identity:
    """The caller of a request (anonymous when the site has no :class:`Authentication`)."""
    scope = connection.scope if isinstance(connection, HTTPConnection) else connection
    found = scope.get(_IDENTITY, ANONYMOUS)
    return found if isinstance(found, Identity) else ANONYMOUS


def auth_of(scope: Scope) -> tuple[Auth | None, VOError | None]:
    """The site's :class:`Auth` for a request, and the error its credentials got (``None``: none)."""
    auth = scope.get(_AUTH)
    refused = scope.get(_REFUSED)
    return (auth if isinstance(auth, Auth) else None), (refused if isinstance(refused, VOError) else None)


def _cookies(headers: Mapping[str, str]) -> dict[str, str]:
    jar: SimpleCookie = SimpleCookie()
    try:
        jar.load(headers.get("cookie", ""))
    except Exception:  # a malformed Cookie header carries no session
        return {}
    return {name: morsel.value for name, morsel in jar.items()}


class Authentication:
    """ASGI middleware: the caller of every request, by ``auth`` (see the module docstring)."""

    def __init__(self, app: ASGIApp, *, auth: Auth) -> None:
        self.app = app
        self.auth = auth

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] in ("http", "websocket"):
            connection = HTTPConnection(scope)
            scope[_AUTH] = self.auth
            try:
                scope[_IDENTITY] = await self.auth.identify(connection.headers, _cookies(connection.headers))
            except VOError as exc:
                scope[_IDENTITY], scope[_REFUSED] = ANONYMOUS, exc
        await self.app(scope, receive, send)


_FORM = """<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>Log in: {realm}</title></head>
<body><h1>Log in to {realm}</h1>
<p>{message}</p>
<form method="post"><input type="hidden" name="next" value="{next}">
<p><label>Name <input name="username" autocomplete="username"></label></p>
<p><label>Token <input name="password" type="password" autocomplete="current-password" required></label></p>
<p><button type="submit">Log in</button></p></form></body></html>
"""


class LoginService:
    """The login endpoint of the ``ivoa_bearer`` / ``ivoa_cookie`` challenges (mount it at ``auth.login_url``).

    * HTTP Basic with the token as password (``standard_id=ivo://ivoa.net/sso#BasicAA``): 200, the token in
      ``X-VO-Bearer``, the identity in ``X-VO-Authenticated``, and the session cookie;
    * a form POST of ``username`` and ``password`` (``ivo://ivoa.net/sso#tls-with-password``): the same, or
      for a browser form (with ``next``) a redirect to ``next`` with the cookie;
    * ``GET`` without credentials: a login form for browsers (``Accept: text/html``), else 401 with a
      ``Basic`` challenge; ``?logout``: the cookie is removed.
    """

    def __init__(self, *, auth: Auth) -> None:
        if not auth.verifiers:
            raise ValueError("the login endpoint needs the site's token verifiers (Auth.tokens)")
        self.auth = auth

    def _refuse(self, request: Request, message: str) -> Response:
        if "text/html" in request.headers.get("accept", "") and request.method == "GET":
            page = _FORM.format(realm=html.escape(self.auth.realm), message=html.escape(message),
                                next=html.escape(request.query_params.get("next", "")))  # fmt: skip
            return HTMLResponse(page)
        return PlainTextResponse(
            message + "\n", status_code=401, headers={"WWW-Authenticate": f'Basic realm="{self.auth.realm}"'}
        )

    async def _token(self, request: Request) -> tuple[str | None, str]:
        """The token a login request carries, and where to send a browser afterwards."""
        header = request.headers.get("authorization", "")
        scheme, _, value = header.partition(" ")
        if scheme.lower() == "bearer" and value.strip():
            return value.strip(), ""
        if scheme.lower() == "basic":
            try:
                _, _, password = base64.b64decode(value.strip(), validate=True).decode().partition(":")
            except (binascii.Error, UnicodeDecodeError):
                return None, ""
            return password or None, ""
        if request.method == "POST":
            form = await request.form()
            given, after = form.get("password"), form.get("next")
            return (given if isinstance(given, str) and given else None), (after if isinstance(after, str) else "")
        return None, ""

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        request = Request(scope, receive)
        if request.method not in ("GET", "HEAD", "POST"):
            await PlainTextResponse("use GET or POST\n", status_code=405)(scope, receive, send)
            return
        if "logout" in request.query_params:
            response: Response = PlainTextResponse("logged out\n")
            if self.auth.sessions is not None:
                response.delete_cookie(self.auth.sessions.name, path="/")
            await response(scope, receive, send)
            return
        token, target = await self._token(request)
        if token is None:
            await self._refuse(request, "Give your token as the password.")(scope, receive, send)
            return
        try:
            who = await self.auth.login(token)
        except VOError as exc:
            response = self._refuse(request, exc.message)
            response.status_code = 401 if isinstance(exc, AuthenticationError) else exc.http_status
            await response(scope, receive, send)
            return
        if target.startswith("/") and not target.startswith("//"):  # never an open redirect
            response = RedirectResponse(target, status_code=303)
        else:
            response = PlainTextResponse(f"logged in as {who.name}\n")
            response.headers[BEARER_HEADER] = token
        response.headers[AUTHENTICATED_HEADER] = str(who.name)
        if self.auth.sessions is not None:
            response.set_cookie(
                self.auth.sessions.name,
                self.auth.sessions.issue(who),
                max_age=self.auth.sessions.max_age,
                path="/",
                secure=request.url.scheme == "https",
                httponly=True,
                samesite="lax",
            )
        await response(scope, receive, send)
