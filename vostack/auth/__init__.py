"""Who calls, and what they may see (IVOA SSO 2.0, AuthVO): identities, authenticators, token verifiers.

A portal builds one :class:`Auth` (in Python, or from the ``[auth]`` table of its TOML file) and puts
:class:`vostack.web.Authentication` in front of its apps; every protocol app then reads the caller's
:class:`Identity` from the request, answers 401/403 with ``WWW-Authenticate`` challenges, names the
identity in ``X-VO-Authenticated`` and advertises the ``securityMethod`` of its interfaces.
"""

from __future__ import annotations

from vostack.auth.authenticators import (
    BASIC_AA,
    COOKIE,
    TLS_WITH_PASSWORD,
    TOKEN,
    Authenticator,
    BasicAuthenticator,
    BearerAuthenticator,
    SessionCookies,
)
from vostack.auth.config import Auth, parse_auth
from vostack.auth.identity import ANONYMOUS, Identity
from vostack.auth.tokens import JWTVerifier, StaticTokens, TokenLookup, TokenVerifier, verify_token

__all__ = [
    "ANONYMOUS",
    "BASIC_AA",
    "COOKIE",
    "TLS_WITH_PASSWORD",
    "TOKEN",
    "Auth",
    "Authenticator",
    "BasicAuthenticator",
    "BearerAuthenticator",
    "Identity",
    "JWTVerifier",
    "SessionCookies",
    "StaticTokens",
    "TokenLookup",
    "TokenVerifier",
    "parse_auth",
    "verify_token",
]
