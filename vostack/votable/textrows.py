"""Rows of the text formats (TABLEDATA, CSV, TSV, JSON) made in bulk from PostgreSQL's text COPY.

PostgreSQL has already written every value (:mod:`vostack.votable.pgtext`);
:class:`TextRows` finds, with numpy, the few values whose text differs from
what the row writers print, and assembles the rows from the rest as they are:

* integers: as PostgreSQL writes them;
* ``double`` from ``float8``: below 1e15 and above the subnormal values,
  PostgreSQL's shortest decimal has the digits and layout of Python's
  :func:`repr` (checked on a million random values; from 1e16 on its digits
  sometimes differ) but for the ``.0`` added to an integral value; ``Infinity``
  becomes ``+Inf`` (VOTable 1.4 §6; ``null`` in JSON); values from 1e15 on
  and subnormal ones are rewritten;
* ``float`` from ``float4``: the same with
  :func:`~vostack.votable.base.float32_text`'s layout, below 1e6 (from 1e6 on
  and for subnormal values the layout or the digits differ);
* ``boolean``: ``t``/``f`` become ``T``/``F``, ``True``/``False`` or ``true``/``false``;
* ``char`` from text: as it is, but for values with characters the format
  must escape or replace (``&<>`` in XML, quotes in CSV and JSON, control and
  non-ASCII characters in TABLEDATA, any backslash sequence of the COPY format).

Every value not covered is converted to its Python value and written by the
format's own cell function, so the bytes are those of the row writers.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from vostack.errors import InternalError
from vostack.schema import Field
from vostack.votable.base import Shape, cell_error
from vostack.votable.bulk import Segments, interleave
from vostack.votable.pgcopy import BOOL, BPCHAR, FLOAT4, FLOAT8, INT2, INT4, INT8, NAME, TEXT, VARCHAR
from vostack.votable.pgtext import TextColumn, TextColumns

__all__ = ["CSV", "JSON", "TABLEDATA", "TSV", "Style", "TextRows", "const", "masked"]

Mask = np.ndarray[Any, Any]  # one boolean per row

_INTEGERS = {"short": {INT2}, "int": {INT2, INT4}, "long": {INT2, INT4, INT8}}
_TEXT = frozenset({TEXT, VARCHAR, BPCHAR, NAME})


@dataclass(frozen=True, slots=True)
class Style:
    """What a text format puts around and between the cells of a row, and how it writes special values."""

    start: bytes
    separator: bytes
    end: bytes
    null: bytes
    true: bytes
    false: bytes
    infinity: tuple[bytes, bytes] | None  # +Inf, -Inf; None: like NaN
    nan: bytes
    special: int  # character classes that make a text value go through the cell function
    quote: bytes = b""  # put around text values
    empty: bytes | None = None  # an empty text value, when it is not written as nothing
    single_json: bool = False  # float4 as the double of its shortest decimal (JSON)
    limit: bool = False  # text is cut to the column's arraysize (TABLEDATA)


# Character classes, one bit each, of the bytes of the text COPY (what a value contains decides its fate).
DOT, EXPONENT, PLUS, BACKSLASH, CONTROL, QUOTE, COMMA, MARKUP = 1, 2, 4, 8, 16, 32, 64, 128
_CLASSES = np.zeros(256, dtype=np.uint8)
for _byte, _class in ((b".", DOT), (b"e", EXPONENT), (b"+", PLUS), (b"\\", BACKSLASH), (b'"', QUOTE), (b",", COMMA)):
    _CLASSES[_byte[0]] = _class
_CLASSES[:0x20] = CONTROL
_CLASSES[[ord("&"), ord("<"), ord(">")]] = MARKUP
_CLASSES[0x80:] = MARKUP  # non-ASCII: TABLEDATA's char replaces each character


class _Buffer:
    """Per-value questions about one batch's buffer: which character classes each value contains."""

    def __init__(self, batch: TextColumns) -> None:
        self.buf = batch.columns[0].buf
        starts = np.stack([c.starts for c in batch.columns], axis=1).ravel()
        ends = np.stack([c.ends for c in batch.columns], axis=1).ravel()
        bounds = np.empty(2 * len(starts), dtype=np.int64)
        bounds[0::2], bounds[1::2] = starts, ends
        # every value's classes ORed at once, values in buffer order; an empty value contains nothing
        found = np.bitwise_or.reduceat(_CLASSES[self.buf], bounds)[0::2] if len(bounds) else bounds[:0]
        found[starts == ends] = 0
        self._classes = found.reshape(len(batch), len(batch.columns))

    def has(self, k: int, classes: int) -> np.ndarray[Any, Any]:
        """True for the values of column ``k`` that contain a character of ``classes``."""
        found: np.ndarray[Any, Any] = (self._classes[:, k] & classes) != 0
        return found

    def first(self, column: TextColumn, offset: int = 0, *, from_end: bool = False) -> np.ndarray[Any, Any]:
        """The byte at ``offset`` of each value, counted from its end if ``from_end`` (0 outside the value)."""
        positions = (column.ends if from_end else column.starts) + offset
        inside = (positions < column.ends) & (positions >= column.starts)
        values: np.ndarray[Any, Any] = np.where(inside, self.buf[np.minimum(positions, len(self.buf) - 1)], 0)
        return values


TABLEDATA = Style(b"<TR><TD>", b"</TD><TD>", b"</TD></TR>\n", b"", b"T", b"F", (b"+Inf", b"-Inf"), b"NaN",
                  BACKSLASH | CONTROL | MARKUP, limit=True)  # fmt: skip
CSV = Style(b"", b",", b"\r\n", b"", b"True", b"False", (b"+Inf", b"-Inf"), b"NaN", BACKSLASH | QUOTE | COMMA,
            empty=b'""')  # fmt: skip
TSV = Style(b"", b"\t", b"\n", b"", b"True", b"False", (b"+Inf", b"-Inf"), b"NaN", BACKSLASH)
JSON = Style(b"[", b",", b"]", b"null", b"true", b"false", None, b"null", BACKSLASH | CONTROL | QUOTE, quote=b'"',
             single_json=True)  # fmt: skip


def const(n: int, text: bytes, where: np.ndarray[Any, Any] | None = None) -> Segments:
    """``text`` in the rows of ``where`` (all ``n`` rows when ``None``), as segments."""
    if not text or (where is not None and not where.any()):
        return []
    lengths = np.full(n, len(text), dtype=np.int64)
    if where is not None:
        lengths[~where] = 0
    return [(np.frombuffer(text, dtype=np.uint8), np.zeros(n, dtype=np.int64), lengths)]


def masked(segments: Segments, where: np.ndarray[Any, Any]) -> Segments:
    """``segments`` in the rows of ``where`` only."""
    return [(source, starts, np.where(where, lengths, 0)) for source, starts, lengths in segments]


class _Cells:
    """The pieces of one column's cells: segments of buffers, some rows' texts replaced."""

    def __init__(self, n: int) -> None:
        self.n = n
        self.segments: Segments = []

    def add(self, source: np.ndarray[Any, Any], starts: np.ndarray[Any, Any], lengths: np.ndarray[Any, Any]) -> None:
        self.segments.append((source, starts, lengths.astype(np.int64, copy=True)))

    def const(self, text: bytes, where: np.ndarray[Any, Any] | None = None) -> None:
        """``text`` in the rows of ``where`` (all rows when ``None``)."""
        self.segments.extend(const(self.n, text, where))

    def replace(self, rows: np.ndarray[Any, Any], texts: Sequence[bytes]) -> None:
        """Give ``rows`` the ``texts`` instead of what the segments hold."""
        if not len(rows):
            return
        for _, _, lengths in self.segments:
            lengths[rows] = 0
        sizes = np.zeros(self.n, dtype=np.int64)
        sizes[rows] = [len(t) for t in texts]
        starts = np.zeros(self.n, dtype=np.int64)
        starts[rows] = np.cumsum(sizes[rows]) - sizes[rows]
        self.segments.append((np.frombuffer(b"".join(texts), dtype=np.uint8), starts, sizes))


class TextRows:
    """Writes :class:`~vostack.votable.pgtext.TextColumns` batches as rows of one text format.

    ``cell(k, value)`` is the format's text of a value of column ``k`` (what
    its row writer puts between the separators); it writes every value the
    bulk rules of the module docstring do not cover.
    """

    def __init__(
        self,
        fields: Sequence[Field],
        shapes: Sequence[Shape],
        style: Style,
        cell: Callable[[int, object], str],
    ) -> None:
        self._fields = tuple(fields)
        self._shapes = tuple(shapes)
        self._style = style
        self._cell = cell

    def encode(self, batch: TextColumns) -> bytes:
        """The rows of ``batch`` (JSON rows separated by commas)."""
        n = len(batch)
        if n == 0:
            return b""
        style = self._style
        pieces: list[Segments] = []
        if style is JSON:  # the rows of a JSON batch are separated by commas
            pieces.append(const(n, b",", np.arange(n) > 0))
        for k, cells in enumerate(self.cells(batch)):
            pieces.append(const(n, style.start if k == 0 else style.separator))
            pieces.append(cells)
        pieces.append(const(n, style.end))
        return interleave(n, pieces)

    def cells(self, batch: TextColumns) -> list[Segments]:
        """Each column's cells, as the segments that make them (without the format's separators)."""
        if len(batch.columns) != len(self._fields):
            raise InternalError(f"a batch has {len(batch.columns)} columns for {len(self._fields)}")
        buffer = _Buffer(batch)
        columns = []
        for k, column in enumerate(batch.columns):
            cells = _Cells(len(batch))
            self._column(k, column, buffer, cells)
            columns.append(cells.segments)
        return columns

    # -- one column ----------------------------------------------------------

    def _column(self, k: int, column: TextColumn, buffer: _Buffer, cells: _Cells) -> None:
        field, shape, style = self._fields[k], self._shapes[k], self._style
        oid, datatype = column.oid, field.datatype
        nulls = column.nulls
        tokens = ~nulls
        odd = np.zeros(len(column), dtype=bool)
        if shape.array:
            if datatype not in ("char", "unicodeChar") or oid not in _TEXT:
                odd = tokens
            else:
                odd = self._text(k, column, buffer, cells)
        elif oid in _INTEGERS.get(datatype, ()):
            cells.add(column.buf, column.starts, np.where(tokens, column.lengths, 0))
        elif (oid, datatype) in ((FLOAT8, "double"), (FLOAT4, "float")):
            odd = self._float(k, column, buffer, cells, single=oid == FLOAT4)
        elif oid == BOOL and datatype == "boolean":
            is_true = buffer.first(column) == ord("t")
            cells.const(style.true, tokens & is_true)
            cells.const(style.false, tokens & ~is_true)
        elif datatype in ("char", "unicodeChar") and oid in _TEXT:
            odd = self._text(k, column, buffer, cells)
        else:
            odd = tokens
        cells.const(style.null, nulls)
        rows = np.flatnonzero(odd)
        if len(rows):
            cells.replace(rows, [self._text_of(k, value) for value in column.pylist(rows.tolist())])

    def _text_of(self, k: int, value: object) -> bytes:
        try:
            return self._cell(k, value).encode("utf-8", "replace")
        except (ValueError, TypeError, OverflowError) as exc:
            raise cell_error(self._fields[k], value, exc) from exc

    def _float(self, k: int, column: TextColumn, buffer: _Buffer, cells: _Cells, *, single: bool) -> Mask:
        """Numbers as PostgreSQL wrote them, ``.0`` added, infinities renamed; the rows to write from the value."""
        style = self._style
        tokens = ~column.nulls
        odd = np.zeros(len(column), dtype=bool)
        first = buffer.first(column)
        second = buffer.first(column, 1)
        nan = tokens & (first == ord("N"))
        infinite = tokens & ((first == ord("I")) | ((first == ord("-")) & (second == ord("I"))))
        exponent = tokens & buffer.has(k, EXPONENT)
        plain = tokens & ~nan & ~infinite & ~exponent
        if style.infinity is None:
            cells.add(column.buf, column.starts, np.where(plain | exponent, column.lengths, 0))
            cells.const(style.nan, nan | infinite)
        else:
            cells.add(column.buf, column.starts, np.where(plain | exponent | nan, column.lengths, 0))
            cells.const(style.infinity[0], infinite & (first == ord("I")))
            cells.const(style.infinity[1], infinite & (first == ord("-")))
        cells.const(b".0", plain & ~buffer.has(k, DOT))
        # PostgreSQL's digits differ from Python's for some values of 1e16 and more and for subnormal ones, and
        # its layout from 1e15 (1e6 for float4) on: those are written from their values.
        odd |= exponent & buffer.has(k, PLUS)
        tiny = 38 if single else 308  # the smallest normal value is 1.2e-38 (float4), 2.2e-308 (float8)
        digits = 2 if single else 3
        last = [buffer.first(column, -digits + i, from_end=True).astype(np.int64) - ord("0") for i in range(digits)]
        power = last[0] * 10 + last[1] if single else last[0] * 100 + last[1] * 10 + last[2]
        long_power = buffer.first(column, -digits - 1, from_end=True) == ord("-")
        odd |= exponent & long_power & (power >= tiny)
        return odd

    def _text(self, k: int, column: TextColumn, buffer: _Buffer, cells: _Cells) -> Mask:
        """Text as PostgreSQL wrote it, cut and quoted; the rows with characters to write from the value."""
        style, shape = self._style, self._shapes[k]
        tokens = ~column.nulls
        odd: Mask = tokens & buffer.has(k, style.special)
        lengths = np.where(tokens, column.lengths, 0)
        if style.limit:
            limit = 1 if not shape.array else shape.count
            if limit is not None:
                lengths = np.minimum(lengths, limit)
        if style.empty is not None:
            empty = tokens & (lengths == 0)
            cells.const(style.empty, empty)
        cells.const(style.quote, tokens)
        cells.add(column.buf, column.starts, lengths)
        cells.const(style.quote, tokens)
        return odd
