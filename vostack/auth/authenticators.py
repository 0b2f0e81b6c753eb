"""Where credentials arrive: ``Authorization: Bearer``, HTTP Basic, a session cookie (IVOA SSO 2.0, AuthVO).

An :class:`Authenticator` reads one kind of credential from a request: it returns the caller's
:class:`~vostack.auth.Identity`, ``None`` when the request carries no credential of its kind, and raises
:class:`~vostack.errors.AuthenticationError` when it carries one that is not valid.  Each also says how a
client learns to use it: its ``WWW-Authenticate`` challenge (RFC 9110 §11.6.1) and the ``securityMethod``
of the interfaces in the capabilities (VOResource 1.1, SSO 2.0 §3.1).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import time
from collections.abc import Mapping, Sequence
from typing import Protocol

from vostack.auth.identity import Identity
from vostack.auth.tokens import TokenVerifier, verify_token
from vostack.errors import AuthenticationError

__all__ = [
    "BASIC_AA",
    "COOKIE",
    "TLS_WITH_PASSWORD",
    "TOKEN",
    "Authenticator",
    "BasicAuthenticator",
    "BearerAuthenticator",
    "SessionCookies",
]

TOKEN = "ivo://ivoa.net/sso#token"
"""The securityMethod of bearer tokens (the identifier CADC, Rubin and pyvo users give it)."""
BASIC_AA = "ivo://ivoa.net/sso#BasicAA"
"""HTTP Basic authentication (SSO 2.0 §4)."""
COOKIE = "ivo://ivoa.net/sso#cookie"
"""A session cookie (SSO 2.0 §8)."""
TLS_WITH_PASSWORD = "ivo://ivoa.net/sso#tls-with-password"
"""Username and password POSTed as a form (SSO 2.0 §7; AuthVO ``standard_id``)."""


class Authenticator(Protocol):
    """One way credentials arrive in a request."""

    security_method: str
    """The ``securityMethod`` standardID of interfaces that accept this credential."""

    async def authenticate(self, headers: Mapping[str, str], cookies: Mapping[str, str]) -> Identity | None:
        """The caller's identity; ``None`` when the request has no credential of this kind."""

    def challenge(self, realm: str, login_url: str | None) -> str | None:
        """The ``WWW-Authenticate`` challenge inviting this credential (``login_url``: where to log in)."""


def _quoted(value: str) -> str:
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _authorization(headers: Mapping[str, str], scheme: str) -> str | None:
    """The credentials of an ``Authorization`` header of ``scheme`` (case-insensitive, RFC 9110 §11.1)."""
    value = headers.get("authorization")
    if value is None:
        return None
    kind, _, credentials = value.strip().partition(" ")
    return credentials.strip() if kind.lower() == scheme.lower() else None


class BearerAuthenticator:
    """``Authorization: Bearer <token>`` (RFC 6750), the token checked by ``verifiers`` in turn.

    Challenges: ``Bearer realm=...`` and, with a login URL, ``ivoa_bearer standard_id=BasicAA,
    access_url=...``: a client that has only a name and a password (here: the token) gets the token back
    from the login URL in the ``X-VO-Bearer`` header.
    """

    security_method = TOKEN

    def __init__(self, *verifiers: TokenVerifier) -> None:
        if not verifiers:
            raise ValueError("a bearer authenticator needs at least one token verifier")
        self.verifiers = verifiers

    async def authenticate(self, headers: Mapping[str, str], cookies: Mapping[str, str]) -> Identity | None:
        token = _authorization(headers, "Bearer")
        if token is None:
            return None
        if not token:
            raise AuthenticationError("the Authorization header has no bearer token")
        return await verify_token(self.verifiers, token)

    def challenge(self, realm: str, login_url: str | None) -> str | None:
        return f"Bearer realm={_quoted(realm)}"

    def login_challenge(self, login_url: str) -> str:
        """The ``ivoa_bearer`` challenge (AuthVO draft; STILTS and the starjava auth library read it)."""
        return f"ivoa_bearer standard_id={_quoted(BASIC_AA)}, access_url={_quoted(login_url)}"


class BasicAuthenticator:
    """HTTP Basic (RFC 7617) with the token as the password; the user name is not checked.

    TOPCAT, STILTS and pyvo (``AuthSession.credentials.set_password``) send Basic credentials, so a
    user pastes the token from the portal's page as the password.
    """

    security_method = BASIC_AA

    def __init__(self, *verifiers: TokenVerifier) -> None:
        if not verifiers:
            raise ValueError("a Basic authenticator needs at least one token verifier")
        self.verifiers = verifiers

    async def authenticate(self, headers: Mapping[str, str], cookies: Mapping[str, str]) -> Identity | None:
        encoded = _authorization(headers, "Basic")
        if encoded is None:
            return None
        try:
            _, colon, password = base64.b64decode(encoded, validate=True).decode("utf-8").partition(":")
        except (binascii.Error, UnicodeDecodeError):
            raise AuthenticationError("the Basic credentials are not base64 of 'user:password'") from None
        if not colon or not password:
            raise AuthenticationError("the Basic credentials have no password: give your token as the password")
        return await verify_token(self.verifiers, password)

    def challenge(self, realm: str, login_url: str | None) -> str | None:
        return f'Basic realm={_quoted(realm)}, charset="UTF-8"'


class SessionCookies:
    """A signed session cookie for browsers (SSO 2.0 §8): ``name``, groups and expiry, HMAC-SHA256 signed.

    The login endpoint (:class:`vostack.web.LoginService`) sets it after checking a token; the challenge
    is ``ivoa_cookie standard_id=tls-with-password, access_url=<login>`` (AuthVO §3.3.1).

    Parameters
    ----------
    secret
        The signing key (at least 32 bytes); every process of a site needs the same one.
    name
        The cookie's name.
    max_age
        Seconds a session lasts.
    """

    security_method = COOKIE

    def __init__(self, secret: str | bytes, *, name: str = "vostack_session", max_age: int = 12 * 3600) -> None:
        self.secret = secret.encode() if isinstance(secret, str) else secret
        if len(self.secret) < 32:
            raise ValueError("a session cookie secret needs at least 32 bytes")
        if max_age <= 0:
            raise ValueError("max_age must be positive")
        self.name = name
        self.max_age = max_age

    def _sign(self, payload: bytes) -> str:
        return base64.urlsafe_b64encode(hmac.new(self.secret, payload, hashlib.sha256).digest()).decode().rstrip("=")

    def issue(self, identity: Identity, *, now: float | None = None) -> str:
        """The cookie value for ``identity``, valid for :attr:`max_age` seconds."""
        if not identity.authenticated:
            raise ValueError("only an authenticated identity has a session")
        expires = int((time.time() if now is None else now) + self.max_age)
        document = {"n": identity.name, "g": sorted(identity.groups), "e": expires}
        payload = base64.urlsafe_b64encode(json.dumps(document, separators=(",", ":")).encode()).decode().rstrip("=")
        return f"{payload}.{self._sign(payload.encode())}"

    def read(self, value: str, *, now: float | None = None) -> Identity:
        """The identity of a cookie value; :class:`AuthenticationError` when forged, damaged or expired."""
        payload, _, signature = value.partition(".")
        if not hmac.compare_digest(self._sign(payload.encode()), signature):
            raise AuthenticationError("the session cookie is not valid; log in again")
        try:
            document = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
            name, groups, expires = document["n"], document["g"], document["e"]
        except (ValueError, KeyError, TypeError):
            raise AuthenticationError("the session cookie is not valid; log in again") from None
        if expires < (time.time() if now is None else now):
            raise AuthenticationError("the session has expired; log in again")
        return Identity.of(str(name), [str(g) for g in groups])

    async def authenticate(self, headers: Mapping[str, str], cookies: Mapping[str, str]) -> Identity | None:
        value = cookies.get(self.name)
        return None if value is None else self.read(value)

    def challenge(self, realm: str, login_url: str | None) -> str | None:
        if login_url is None:
            return None
        return f"ivoa_cookie standard_id={_quoted(TLS_WITH_PASSWORD)}, access_url={_quoted(login_url)}"


def challenges(authenticators: Sequence[Authenticator], realm: str, login_url: str | None) -> list[str]:
    """Every ``WWW-Authenticate`` challenge of ``authenticators``, the ``ivoa_*`` ones with ``login_url``."""
    found: list[str] = []
    for authenticator in authenticators:
        if login_url is not None and isinstance(authenticator, BearerAuthenticator):
            found.append(authenticator.login_challenge(login_url))
        challenge = authenticator.challenge(realm, login_url)
        if challenge is not None:
            found.append(challenge)
    return found
