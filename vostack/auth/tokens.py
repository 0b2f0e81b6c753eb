"""Token verifiers: a token in, an :class:`~vostack.auth.Identity` out (RFC 6750 bearer tokens, RFC 7519 JWTs).

A verifier returns ``None`` for a token it does not recognise (another verifier may), and raises
:class:`~vostack.errors.AuthenticationError` for one it recognises but finds invalid (a bad signature,
an expired or revoked token).  The same verifiers serve every way a token arrives: ``Authorization:
Bearer``, HTTP Basic with the token as password, and the login endpoint that turns it into a session cookie.

JWTs are checked with PyJWT (signature, ``exp``/``nbf``, ``aud``, ``iss``), against a key or a JWKS
document (a file, or an URL fetched and cached by PyJWT's ``PyJWKClient`` in a worker thread).
"""

from __future__ import annotations

import asyncio
import hmac
import inspect
import json
from collections.abc import Awaitable, Callable, Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any, Protocol

import jwt

from vostack.auth.identity import Identity
from vostack.errors import AuthenticationError

__all__ = ["JWTVerifier", "StaticTokens", "TokenLookup", "TokenVerifier", "verify_token"]


class TokenVerifier(Protocol):
    """Checks a token: its identity, ``None`` when the token is not of this verifier's kind."""

    async def __call__(self, token: str) -> Identity | None: ...


async def verify_token(verifiers: Sequence[TokenVerifier], token: str) -> Identity:
    """The identity of ``token`` by the first verifier that recognises it; else :class:`AuthenticationError`."""
    for verifier in verifiers:
        identity = await verifier(token)
        if identity is not None:
            return identity
    raise AuthenticationError("the token is not valid here")


def _groups(value: object) -> frozenset[str]:
    """Group names from a claim: a list of names, of ``{"name": ...}`` objects (Gafaelfawr's ``isMemberOf``),
    or one space-separated string."""
    if isinstance(value, str):
        return frozenset(value.split())
    if isinstance(value, list):
        names = [item.get("name") if isinstance(item, dict) else item for item in value]
        return frozenset(name for name in names if isinstance(name, str) and name)
    return frozenset()


class JWTVerifier:
    """Verifies JWTs (RFC 7519) signed with ``key`` or a key of a JWKS document (RFC 7517).

    Parameters
    ----------
    key
        A public key (PEM) or, for HMAC algorithms, the shared secret.
    jwks
        A JWKS document (a mapping), or the path of a file holding one.
    jwks_url
        Where to fetch the JWKS document; keys are cached and fetched again for an unknown ``kid``.
    algorithms
        The algorithms accepted (never ``none``).
    audience, issuer
        Required ``aud`` and ``iss`` values, when given.
    name_claim, groups_claim
        The claims holding the identity's name and its groups.
    leeway
        Seconds of clock skew allowed on ``exp`` and ``nbf``.
    """

    def __init__(
        self,
        *,
        key: str | bytes | None = None,
        jwks: Mapping[str, Any] | Path | None = None,
        jwks_url: str | None = None,
        algorithms: Sequence[str] = ("RS256", "ES256"),
        audience: str | None = None,
        issuer: str | None = None,
        name_claim: str = "sub",
        groups_claim: str = "groups",
        leeway: float = 30.0,
    ) -> None:
        if sum(x is not None for x in (key, jwks, jwks_url)) != 1:
            raise ValueError("a JWT verifier needs exactly one of key, jwks or jwks_url")
        if not algorithms or any(a.lower() == "none" for a in algorithms):
            raise ValueError("a JWT verifier needs signature algorithms (never 'none')")
        self.algorithms = list(algorithms)
        self.audience = audience
        self.issuer = issuer
        self.name_claim = name_claim
        self.groups_claim = groups_claim
        self.leeway = leeway
        self._key = key
        self._keys: dict[str, Any] = {}
        self._client = jwt.PyJWKClient(jwks_url, cache_keys=True, lifespan=300) if jwks_url else None
        if jwks is not None:
            document = json.loads(jwks.read_text()) if isinstance(jwks, Path) else dict(jwks)
            key_set = jwt.PyJWKSet.from_dict(document)
            self._keys = {k.key_id or "": k.key for k in key_set.keys}

    async def _signing_key(self, token: str, header: Mapping[str, Any]) -> Any:
        if self._key is not None:
            return self._key
        if self._client is not None:
            try:
                return (await asyncio.to_thread(self._client.get_signing_key_from_jwt, token)).key
            except jwt.PyJWKClientConnectionError:
                raise AuthenticationError("the token's signing keys cannot be fetched now") from None
            except jwt.PyJWKClientError:
                raise AuthenticationError("the token is not signed by a known key") from None
        kid = header.get("kid")
        if kid in self._keys:
            return self._keys[kid]
        if kid is None and len(self._keys) == 1:
            return next(iter(self._keys.values()))
        raise AuthenticationError("the token is not signed by a known key")

    async def __call__(self, token: str) -> Identity | None:
        try:
            header = jwt.get_unverified_header(token)
        except jwt.DecodeError:
            return None  # not a JWT: another verifier's token
        key = await self._signing_key(token, header)
        try:
            claims = jwt.decode(
                token,
                key,
                algorithms=self.algorithms,
                audience=self.audience,
                issuer=self.issuer,
                leeway=self.leeway,
                options={"require": ["exp", self.name_claim]},
            )
        except jwt.ExpiredSignatureError:
            raise AuthenticationError("the token has expired") from None
        except jwt.InvalidTokenError as exc:
            raise AuthenticationError(f"the token is not valid: {exc}") from None
        name = claims.get(self.name_claim)
        if not isinstance(name, str) or not name.strip():
            raise AuthenticationError(f"the token's {self.name_claim!r} claim names nobody")
        return Identity.of(name, _groups(claims.get(self.groups_claim)))


Lookup = Callable[[str], "Identity | Awaitable[Identity | None] | None"]


class TokenLookup:
    """Opaque tokens looked up by the portal: ``lookup(token)`` gives the identity, or ``None`` when unknown.

    ``lookup`` may be a plain or an ``async`` function (a database or an introspection endpoint, RFC 7662).
    """

    def __init__(self, lookup: Lookup) -> None:
        self.lookup = lookup

    async def __call__(self, token: str) -> Identity | None:
        found = self.lookup(token)
        if inspect.isawaitable(found):
            found = await found
        if found is not None and not found.authenticated:
            raise ValueError("a token lookup must give an authenticated identity or None")
        return found


class StaticTokens:
    """A fixed table of opaque tokens (a small site's few accounts, the demo's two identities)."""

    def __init__(self, tokens: Mapping[str, Identity] | Iterable[tuple[str, Identity]]) -> None:
        self._tokens = dict(tokens)
        if any(not token or not identity.authenticated for token, identity in self._tokens.items()):
            raise ValueError("every static token needs a value and an authenticated identity")

    async def __call__(self, token: str) -> Identity | None:
        for known, identity in self._tokens.items():  # compare every one in constant time
            if hmac.compare_digest(known.encode(), token.encode()):
                return identity
        return None
