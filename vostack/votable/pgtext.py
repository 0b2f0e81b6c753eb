"""PostgreSQL's text ``COPY`` format read in bulk, for the text result formats.

``COPY (query) TO STDOUT`` in the default text format (PostgreSQL 15 manual,
COPY, "Text Format") writes each value with its type's output function, a tab
between values and a newline after each row; ``\\N`` is NULL, and a
backslash, newline, carriage return, tab, backspace, form feed or vertical
tab inside a value is written as a backslash sequence, so that every raw tab
and newline in the stream is a separator.  PostgreSQL thus formats every
number, on its own processor, as the shortest decimal that reads back as the
same value (``extra_float_digits`` 1, the default since PostgreSQL 12):
exactly the digits Python's :func:`repr` prints for a ``float8``, and
:func:`~vostack.votable.base.float32_text` for a ``float4``, in a slightly
different layout that :mod:`vostack.votable.textrows` corrects in bulk.

:class:`TextCopyParser` cuts the stream, fed in chunks of any size, into
:class:`TextColumns`: for each column where each value's text starts and ends.
The types read here are :data:`TEXT_COPY_TYPES` (numbers, booleans, text);
:meth:`TextColumn.pylist` gives the values as asyncpg would decode them.
"""

from __future__ import annotations

import decimal
import re
from collections.abc import Callable, Sequence
from fractions import Fraction
from typing import Any

import numpy as np

from vostack.errors import InternalError
from vostack.votable.pgcopy import (
    BOOL,
    BPCHAR,
    FLOAT4,
    FLOAT8,
    INT2,
    INT4,
    INT8,
    NAME,
    NUMERIC,
    TEXT,
    VARCHAR,
    ColumnBatch,
)

__all__ = ["TEXT_COPY_TYPES", "TextColumn", "TextColumns", "TextCopyParser", "exact_float32", "unescape"]

NULL = b"\\N"
_ESCAPES = {"\\": "\\", "n": "\n", "r": "\r", "t": "\t", "b": "\b", "f": "\f", "v": "\v"}
_ESCAPE = re.compile(r"\\(.)", re.DOTALL)


def unescape(text: str) -> str:
    """A value of the text COPY format without its backslash sequences."""
    return _ESCAPE.sub(lambda m: _ESCAPES.get(m[1], m[1]), text) if "\\" in text else text


def exact_float32(text: str) -> float:
    """The ``float4`` value whose PostgreSQL text is ``text``, as the double asyncpg makes of it.

    Read through a double, a decimal could round twice; the nearest single
    is chosen exactly instead (ties to the even significand, as IEEE 754 and
    PostgreSQL's own ``float4in`` do).
    """
    if text in ("NaN", "Infinity", "-Infinity"):
        return float(text)
    exact = Fraction(text)
    with np.errstate(over="ignore"):  # the neighbours of the largest float4 are infinities
        guess = np.float32(float(text))
        if not np.isfinite(guess):
            return float(guess)
        candidates = [guess, np.nextafter(guess, np.float32(np.inf)), np.nextafter(guess, np.float32(-np.inf))]
    best = min(
        (c for c in candidates if np.isfinite(c)),
        key=lambda c: (abs(Fraction(float(c)) - exact), int(c.view(np.uint32)) & 1),
    )
    return float(best)


def numeric(text: str) -> decimal.Decimal:
    """A ``numeric``'s text as the :class:`~decimal.Decimal` asyncpg makes of its binary form.

    PostgreSQL keeps an integer's trailing zeros in groups of four as a weight,
    which asyncpg's value keeps as an exponent (``1E+20``, ``1.00E+4`` for 10000
    is ``1E+4``); the value and, with a fraction, the digits are the text's.
    """
    if "." in text or not text.lstrip("-").isdigit():
        return decimal.Decimal(text)
    zeros = len(text) - len(text.rstrip("0"))
    groups = zeros // 4 if text.strip("-0") else 0
    return decimal.Decimal(text[: len(text) - 4 * groups] + f"E{4 * groups}" if groups else text)


_DECODE: dict[int, Callable[[str], object]] = {
    INT2: int, INT4: int, INT8: int, FLOAT8: float, FLOAT4: exact_float32,
    BOOL: lambda t: t == "t", NUMERIC: numeric,
    TEXT: unescape, VARCHAR: unescape, BPCHAR: unescape, NAME: unescape,
}  # fmt: skip

#: The types whose text this module reads (by OID).
TEXT_COPY_TYPES = frozenset(_DECODE)


class TextColumn:
    """One column of a batch: its type and, per row, where the value's text is in ``buf``."""

    __slots__ = ("buf", "ends", "oid", "starts")

    def __init__(self, oid: int, buf: np.ndarray[Any, Any], starts: np.ndarray[Any, Any], ends: np.ndarray[Any, Any]):
        self.oid = oid
        self.buf = buf
        self.starts = starts
        self.ends = ends

    def __len__(self) -> int:
        return len(self.starts)

    def head(self, n: int) -> TextColumn:
        """The first ``n`` values."""
        return TextColumn(self.oid, self.buf, self.starts[:n], self.ends[:n])

    @property
    def lengths(self) -> np.ndarray[Any, Any]:
        """The byte length of each value's text."""
        lengths: np.ndarray[Any, Any] = self.ends - self.starts
        return lengths

    @property
    def nulls(self) -> np.ndarray[Any, Any]:
        """True where the value is NULL (``\\N``)."""
        lengths = self.lengths
        first = self.buf[np.minimum(self.starts, len(self.buf) - 1)]
        second = self.buf[np.minimum(self.starts + 1, len(self.buf) - 1)]
        mask: np.ndarray[Any, Any] = (lengths == 2) & (first == NULL[0]) & (second == NULL[1])
        return mask

    def texts(self, rows: Sequence[int] | None = None) -> list[str]:
        """The raw text of the values of ``rows`` (all by default), escapes included."""
        data = self.buf.tobytes()
        starts, ends = self.starts.tolist(), self.ends.tolist()
        indices = range(len(starts)) if rows is None else rows
        return [data[starts[i] : ends[i]].decode("utf-8") for i in indices]

    def pylist(self, rows: Sequence[int] | None = None) -> list[object]:
        """The values of ``rows`` (all by default) as asyncpg decodes them; ``None`` for NULL."""
        decode = _DECODE[self.oid]
        return [None if text == "\\N" else decode(text) for text in self.texts(rows)]


class TextColumns(ColumnBatch[TextColumn]):
    """A batch read from the text COPY (see :class:`TextColumn`)."""

    __slots__ = ()


class TextCopyParser:
    """Cuts a text COPY stream, fed in chunks of any size, into :class:`TextColumns` of whole rows."""

    def __init__(self, type_oids: Sequence[int]) -> None:
        if not type_oids or any(oid not in TEXT_COPY_TYPES for oid in type_oids):
            raise InternalError(f"cannot read types {list(type_oids)} from a text COPY")
        self.type_oids = tuple(type_oids)
        self._carry = b""

    def feed(self, data: bytes) -> TextColumns:
        """The complete rows in what was fed so far; a partial row waits for the next chunk."""
        buffer = self._carry + data if self._carry else data
        end = buffer.rfind(b"\n") + 1
        self._carry = buffer[end:]
        count = len(self.type_oids)
        buf = np.frombuffer(buffer, dtype=np.uint8, count=end)
        separators = np.flatnonzero((buf == 9) | (buf == 10))
        if len(separators) % count:
            raise InternalError("a text COPY row with the wrong number of values")
        ends = separators.reshape(-1, count)
        rows = len(ends)
        starts = np.empty_like(ends)
        starts[:, 1:] = ends[:, :-1] + 1
        starts[1:, 0] = ends[:-1, -1] + 1
        if rows:
            starts[0, 0] = 0
            if not (buf[ends[:, -1]] == 10).all() or (buf[ends[:, :-1]] != 9).any():
                raise InternalError("a text COPY row with the wrong number of values")
        columns = tuple(
            TextColumn(oid, buf, starts[:, k].copy(), ends[:, k].copy()) for k, oid in enumerate(self.type_oids)
        )
        return TextColumns(rows, columns)

    def close(self) -> None:
        """Check that the stream ended with a whole row."""
        if self._carry:
            raise InternalError("the text COPY stream ended inside a row")
