"""Who is calling: an :class:`Identity` with its groups, or :data:`ANONYMOUS`."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

from vostack.errors import AuthenticationError, PermissionDeniedError, VOError

__all__ = ["ANONYMOUS", "Identity"]


@dataclass(frozen=True, slots=True)
class Identity:
    """An authenticated caller (``name``, the groups it belongs to), or the anonymous one (``name is None``).

    ``name`` is what the ``X-VO-Authenticated`` header says (AuthVO §4.3) and what owns UWS jobs;
    ``groups`` decide what the caller sees (schemas, tables, columns, embargoed products).
    """

    name: str | None = None
    groups: frozenset[str] = field(default_factory=frozenset)

    def __post_init__(self) -> None:
        if self.name is not None and not self.name.strip():
            raise ValueError("an authenticated identity needs a name")
        if self.name is None and self.groups:
            raise ValueError("the anonymous identity belongs to no group")
        object.__setattr__(self, "groups", frozenset(self.groups))

    @classmethod
    def of(cls, name: str, groups: Iterable[str] = ()) -> Identity:
        """An authenticated identity."""
        return cls(name, frozenset(groups))

    @property
    def authenticated(self) -> bool:
        """Whether the caller proved who it is."""
        return self.name is not None

    def refusal(self, message: str) -> VOError:
        """The error refusing this caller something it may not have: 401 for the anonymous one (the response
        then carries the site's challenges, so that a client may authenticate), 403 for an authenticated one
        (RFC 9110 §15.5.2, §15.5.4)."""
        if self.authenticated:
            return PermissionDeniedError(message)
        return AuthenticationError(message)


ANONYMOUS = Identity()
"""The caller without credentials."""
