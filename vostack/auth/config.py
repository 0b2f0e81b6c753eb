"""A site's authentication: its authenticators and rules (:class:`Auth`), from Python or the ``[auth]`` TOML table.

.. code-block:: toml

    [auth]
    realm = "Example archive"
    required = false            # true: anonymous callers get 401 (VOSI capabilities and availability excepted)
    groups = []                 # when given, only members of these groups may use the services (403 for others)
    login_url = "/login"        # where LoginService is mounted: ivoa_bearer / ivoa_cookie challenges point there
    session_secret_file = "/etc/vostack/session.key"   # signs session cookies (or session_secret = "...")

    [auth.jwt]                  # bearer JWTs: exactly one of key, key_file, jwks_file, jwks_url
    jwks_url = "https://login.example.org/.well-known/jwks.json"
    algorithms = ["RS256"]
    audience = "https://data.example.org"
    issuer = "https://login.example.org"
    groups_claim = "groups"

    [auth.tokens.alice]         # fixed opaque tokens: the identity's name, its token and groups
    token = "..."
    groups = ["consortium"]
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from vostack.auth.authenticators import (
    Authenticator,
    BasicAuthenticator,
    BearerAuthenticator,
    SessionCookies,
    challenges,
)
from vostack.auth.identity import ANONYMOUS, Identity
from vostack.auth.tokens import JWTVerifier, StaticTokens, TokenVerifier, verify_token
from vostack.config import ConfigError, check_keys
from vostack.errors import AuthenticationError, PermissionDeniedError

__all__ = ["Auth", "parse_auth"]


@dataclass(frozen=True, slots=True)
class Auth:
    """How a site learns who calls and whom it serves.

    Parameters
    ----------
    authenticators
        Tried in order; the first that finds its kind of credential decides (an invalid one is a 401).
    verifiers
        The token verifiers of the login endpoint (``LoginService``), usually those of the authenticators.
    sessions
        The session cookies the login endpoint sets, when browsers log in.
    required
        Anonymous callers get HTTP 401 with the challenges, except on VOSI capabilities and availability.
    groups
        When not empty, only identities in one of these groups may use the services; others get HTTP 403.
    realm
        The realm of the ``Bearer`` and ``Basic`` challenges.
    login_url
        Where the login endpoint is (absolute, or a path on the request's host).
    """

    authenticators: tuple[Authenticator, ...] = ()
    verifiers: tuple[TokenVerifier, ...] = ()
    sessions: SessionCookies | None = None
    required: bool = False
    groups: frozenset[str] = field(default_factory=frozenset)
    realm: str = "vostack"
    login_url: str | None = None

    @classmethod
    def tokens(
        cls,
        *verifiers: TokenVerifier,
        session_secret: str | bytes | None = None,
        required: bool = False,
        groups: Iterable[str] = (),
        realm: str = "vostack",
        login_url: str | None = None,
    ) -> Auth:
        """Tokens checked by ``verifiers``, accepted as ``Bearer``, as the password of HTTP Basic and, with a
        ``session_secret``, through the session cookie the login endpoint sets."""
        sessions = SessionCookies(session_secret) if session_secret is not None else None
        authenticators: list[Authenticator] = [BearerAuthenticator(*verifiers), BasicAuthenticator(*verifiers)]
        if sessions is not None:
            authenticators.append(sessions)
        return cls(
            authenticators=tuple(authenticators),
            verifiers=tuple(verifiers),
            sessions=sessions,
            required=required,
            groups=frozenset(groups),
            realm=realm,
            login_url=login_url,
        )

    async def identify(self, headers: Mapping[str, str], cookies: Mapping[str, str]) -> Identity:
        """The caller of a request: the first authenticator with a credential decides, else anonymous.

        Raises :class:`AuthenticationError` for an invalid credential; whether the identity may use a
        service is :meth:`check`'s question.
        """
        for authenticator in self.authenticators:
            found = await authenticator.authenticate(headers, cookies)
            if found is not None:
                return found
        return ANONYMOUS

    def check(self, identity: Identity) -> None:
        """Refuse ``identity`` when this site needs another one (401 anonymous, 403 authenticated)."""
        if (self.required or self.groups) and not identity.authenticated:
            raise AuthenticationError("this service needs you to authenticate")
        if self.groups and not identity.groups & self.groups:
            raise PermissionDeniedError(f"{identity.name} is not in a group this service serves")

    async def login(self, token: str) -> Identity:
        """The identity of a token given to the login endpoint (:class:`AuthenticationError` when unknown)."""
        identity = await verify_token(self.verifiers, token)
        self.check(identity)
        return identity

    def challenges(self, origin: str) -> list[str]:
        """The ``WWW-Authenticate`` challenges; ``origin`` (``scheme://host``) completes a relative login URL."""
        login = self.login_url
        if login is not None and login.startswith("/"):
            login = origin.rstrip("/") + login
        return challenges(self.authenticators, self.realm, login)

    @property
    def security_methods(self) -> tuple[str | None, ...]:
        """The ``securityMethod`` standardIDs of every interface; ``None`` (anonymous) first unless required."""
        methods: list[str | None] = [] if self.required or self.groups else [None]
        for authenticator in self.authenticators:
            if authenticator.security_method not in methods:
                methods.append(authenticator.security_method)
        return tuple(methods)


def _strs(where: str, key: str, value: Any) -> list[str]:
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise ConfigError(f"{where}: {key} must be a list of strings")
    return value


def _jwt(data: Mapping[str, Any], base: Path) -> JWTVerifier:
    where = "[auth.jwt]"
    keys = {"key", "key_file", "jwks_file", "jwks_url"}
    check_keys(where, data, keys | {"algorithms", "audience", "issuer", "name_claim", "groups_claim", "leeway"})
    given = [k for k in keys if k in data]
    if len(given) != 1:
        raise ConfigError(f"{where}: give exactly one of key, key_file, jwks_file or jwks_url")
    options: dict[str, Any] = {}
    for name in ("audience", "issuer", "name_claim", "groups_claim"):
        if name in data:
            if not isinstance(data[name], str):
                raise ConfigError(f"{where}: {name} must be a string")
            options[name] = data[name]
    if "algorithms" in data:
        options["algorithms"] = _strs(where, "algorithms", data["algorithms"])
    if "leeway" in data:
        options["leeway"] = float(data["leeway"])
    try:
        if "key" in data:
            return JWTVerifier(key=str(data["key"]), **options)
        if "key_file" in data:
            return JWTVerifier(key=(base / str(data["key_file"])).read_bytes(), **options)
        if "jwks_file" in data:
            return JWTVerifier(jwks=base / str(data["jwks_file"]), **options)
        return JWTVerifier(jwks_url=str(data["jwks_url"]), **options)
    except OSError as exc:
        raise ConfigError(f"{where}: cannot read {exc.filename}: {exc.strerror}") from None
    except ValueError as exc:
        raise ConfigError(f"{where}: {exc}") from None


def _static(data: Mapping[str, Any]) -> StaticTokens:
    tokens: dict[str, Identity] = {}
    for name, entry in data.items():
        where = f"[auth.tokens.{name}]"
        if not isinstance(entry, dict):
            raise ConfigError(f"{where}: must be a table with token and groups")
        check_keys(where, entry, {"token", "groups"})
        token = entry.get("token")
        if not isinstance(token, str) or len(token) < 16:
            raise ConfigError(f"{where}: token must be a string of at least 16 characters")
        if token in tokens:
            raise ConfigError(f"{where}: the token of {tokens[token].name} is used twice")
        tokens[token] = Identity.of(name, _strs(where, "groups", entry.get("groups", [])))
    return StaticTokens(tokens)


def parse_auth(data: Mapping[str, Any] | None, *, base: Path = Path(".")) -> Auth | None:
    """The :class:`Auth` of an ``[auth]`` TOML table (``None``: no authentication); files relative to ``base``."""
    if not data:
        return None
    check_keys(
        "[auth]",
        data,
        {"required", "groups", "realm", "login_url", "session_secret", "session_secret_file", "jwt", "tokens"},
    )
    verifiers: list[TokenVerifier] = []
    if "jwt" in data:
        verifiers.append(_jwt(data["jwt"], base))
    if "tokens" in data:
        verifiers.append(_static(data["tokens"]))
    if not verifiers:
        raise ConfigError("[auth]: give [auth.jwt] or [auth.tokens.<name>]: how tokens are checked")
    secret: str | bytes | None = data.get("session_secret")
    if "session_secret_file" in data:
        try:
            secret = (base / str(data["session_secret_file"])).read_bytes().strip()
        except OSError as exc:
            raise ConfigError(f"[auth]: cannot read session_secret_file: {exc.strerror}") from None
    for flag in ("required",):
        if flag in data and not isinstance(data[flag], bool):
            raise ConfigError(f"[auth]: {flag} must be true or false")
    try:
        return Auth.tokens(
            *verifiers,
            session_secret=secret,
            required=bool(data.get("required", False)),
            groups=_strs("[auth]", "groups", data.get("groups", [])),
            realm=str(data.get("realm", "vostack")),
            login_url=str(data["login_url"]) if "login_url" in data else None,
        )
    except ValueError as exc:
        raise ConfigError(f"[auth]: {exc}") from None
