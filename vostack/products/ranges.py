"""Byte ranges of a file (RFC 9110 §14): the one range a ``Range`` header asks for, and where it lies in a file."""

from __future__ import annotations

import re

__all__ = ["byte_range", "span"]

_RANGE = re.compile(r"^\s*bytes\s*=\s*(\d*)\s*-\s*(\d*)\s*$")


def span(wanted: tuple[int | None, int | None], size: int) -> tuple[int, int] | None:
    """The first and last byte of ``wanted`` in a file of ``size`` bytes; ``None`` when it lies beyond the end."""
    first, last = wanted
    if first is None:  # "bytes=-N": the last N bytes
        first, last = max(0, size - (last or 0)), size - 1
    elif last is None or last >= size:
        last = size - 1
    return None if first >= size or first > last else (first, last)


def byte_range(header: str | None) -> tuple[int | None, int | None] | None:
    """One byte range of a ``Range`` header (RFC 9110 §14.1.2): ``(first, last)``, either open; ``None`` for no
    header, several ranges or anything else, which are answered with the whole file, as the RFC allows."""
    match = _RANGE.match(header or "")
    if match is None or match.group(1) == match.group(2) == "":
        return None
    return (int(match.group(1)) if match.group(1) else None, int(match.group(2)) if match.group(2) else None)
