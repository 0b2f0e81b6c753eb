"""DALI 1.1 plumbing shared by every protocol: parameters, limits, formats.

Nothing here does I/O or imports a web framework: the web layer (:mod:`vostack.web`)
hands in the request's ``(name, value)`` pairs, services get typed values or a
:class:`~vostack.errors.VOError` back, and the web layer turns those into error documents.
"""

from __future__ import annotations

import datetime as dt
import math
import re
from collections.abc import Iterable, Iterator
from dataclasses import KW_ONLY, dataclass

from vostack.errors import ParameterError

__all__ = [
    "OutputFormat",
    "Params",
    "choose_format",
    "format_timestamp",
    "non_xml_character",
    "parse_float",
    "parse_int",
    "parse_maxrec",
    "parse_timestamp",
]


#: A character XML 1.0 cannot carry (§2.2): parameters are echoed in UWS job documents and VOTable INFOs.
_NOT_XML = re.compile("[^\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")


def non_xml_character(text: str) -> str | None:
    """``"the character U+XXXX"`` for the first character of ``text`` that XML 1.0 cannot carry (§2.2), else None."""
    bad = _NOT_XML.search(text)
    return None if bad is None else f"the character U+{ord(bad.group()):04X}"


class Params:
    """Request parameters with case-insensitive names (DALI 1.1 §3.1).

    Names are folded to upper case; values keep their case.  Parameters may
    repeat (``UPLOAD``, ``BAND``); :meth:`get` returns the first value.  A
    name or value with a character XML cannot carry (NUL and the other C0
    controls but tab, CR and LF) is refused with :class:`ParameterError`: it
    could never be stored, echoed in a UWS job or an error VOTable.
    """

    __slots__ = ("_items",)

    def __init__(self, items: Iterable[tuple[str, str]]) -> None:
        self._items: list[tuple[str, str]] = [(k.upper(), v) for k, v in items]
        for name, value in self._items:
            bad = non_xml_character(name + value)
            if bad is not None:
                shown = _NOT_XML.sub("?", name)
                raise ParameterError(f"parameter {shown}: {bad} is not allowed in a request parameter", param=shown)

    def get(self, name: str, default: str | None = None) -> str | None:
        """The first value of ``name``, or ``default`` when absent."""
        key = name.upper()
        for k, v in self._items:
            if k == key:
                return v
        return default

    def getall(self, name: str) -> list[str]:
        """Every value of ``name``, in request order."""
        key = name.upper()
        return [v for k, v in self._items if k == key]

    def __contains__(self, name: object) -> bool:
        return isinstance(name, str) and any(k == name.upper() for k, _ in self._items)

    def __iter__(self) -> Iterator[tuple[str, str]]:
        return iter(self._items)

    def __repr__(self) -> str:
        return f"Params({self._items!r})"


def parse_int(params: Params, name: str, *, minimum: int | None = None) -> int | None:
    """An integer parameter, or ``None`` when absent or empty (DALI 1.1 §3.2.2)."""
    raw = params.get(name)
    if raw is None or not raw.strip():
        return None
    try:
        value = int(raw.strip())
    except ValueError:
        raise ParameterError(f"{name} must be an integer, not {raw!r}", param=name) from None
    if minimum is not None and value < minimum:
        raise ParameterError(f"{name} must be at least {minimum}, not {value}", param=name)
    return value


def parse_float(text: str, *, param: str) -> float:
    """A finite number (a DALI ``double`` value, DALI 1.1 §3.2.3); :class:`ParameterError` otherwise."""
    try:
        value = float(text)
    except ValueError:
        raise ParameterError(f"{param}: {text!r} is not a number", param=param) from None
    if not math.isfinite(value):
        raise ParameterError(f"{param}: {text!r} is not a finite number", param=param)
    return value


def parse_maxrec(params: Params, *, default: int, hardlimit: int) -> int:
    """The effective row limit: MAXREC, else the default, never above the hard limit (DALI 1.1 §3.2.2)."""
    value = parse_int(params, "MAXREC", minimum=0)
    if value is None:
        value = default
    return min(value, hardlimit)


def format_timestamp(value: dt.datetime) -> str:
    """A DALI timestamp: ISO 8601 in UTC, ``YYYY-MM-DDThh:mm:ss.sssZ`` (DALI 1.1 §3.3.3)."""
    if value.tzinfo is not None:
        value = value.astimezone(dt.UTC)
    return value.strftime("%Y-%m-%dT%H:%M:%S.") + f"{value.microsecond // 1000:03d}Z"


def parse_timestamp(raw: str, *, param: str) -> dt.datetime:
    """Parse a DALI timestamp (DALI 1.1 §3.3.3) into an aware UTC datetime."""
    text = raw.strip()
    if text.endswith("Z"):
        text = text[:-1] + "+00:00"
    try:
        value = dt.datetime.fromisoformat(text)
    except ValueError:
        raise ParameterError(f"{param} must be an ISO 8601 timestamp, not {raw!r}", param=param) from None
    if value.tzinfo is None:
        value = value.replace(tzinfo=dt.UTC)
    return value.astimezone(dt.UTC)


@dataclass(frozen=True, slots=True)
class OutputFormat:
    """A RESPONSEFORMAT a service offers, a ``tr:OutputFormat`` (DALI 1.1 §3.2.3, TAPRegExt 1.0 §2.4).

    ``mime`` is the media type, ``aliases`` the short names also accepted
    (``"votable"``), ``ivo_id`` the TAPRegExt identifier; ``kind`` names the
    encoder (``"votable"``, ``"csv"``, ...) and ``serialization`` the VOTable
    serialisation for VOTable kinds.
    """

    mime: str
    aliases: tuple[str, ...] = ()
    ivo_id: str | None = None
    _: KW_ONLY
    kind: str = "votable"
    serialization: str | None = None
    extension: str = "xml"

    def matches(self, requested: str) -> bool:
        """Whether ``requested`` names this format (case-insensitive, spaces ignored)."""
        norm = requested.replace(" ", "").lower()
        return norm == self.mime.replace(" ", "").lower() or norm in (a.lower() for a in self.aliases)


def choose_format(params: Params, formats: Iterable[OutputFormat], *, default: OutputFormat) -> OutputFormat:
    """The format RESPONSEFORMAT (or the older FORMAT) asks for (DALI 1.1 §3.2.3)."""
    raw = params.get("RESPONSEFORMAT") or params.get("FORMAT")
    if raw is None or not raw.strip():
        return default
    for fmt in formats:
        if fmt.matches(raw.strip()):
            return fmt
    offered = ", ".join(sorted({a for f in formats for a in f.aliases}))
    raise ParameterError(f"RESPONSEFORMAT {raw!r} is not supported; use one of: {offered}", param="RESPONSEFORMAT")
