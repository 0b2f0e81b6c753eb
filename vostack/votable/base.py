"""What every result writer shares: the staged protocol, column shapes and value text.

A TAP result is written in three steps, whatever the format: :meth:`StagedWriter.header`
once, :meth:`StagedWriter.rows` once per batch, then :meth:`StagedWriter.footer` (or
:meth:`StagedWriter.iter_footer`) once, with the overflow and error status known only at
the end (TAP 1.1 §2.9, DALI 1.1 §5.4).  Every writer of this package is a
:class:`StagedWriter`; the rules below hold for all of them:

* ``arraysize`` (VOTable 1.4 §2.2) is read by :func:`shape_of` only.  ``"1"``, which
  VOTable 1.4 §2.2 says "should not be used, as it is interpreted differently by
  different clients", is read as no ``arraysize``: one value per cell (what TAP 1.0
  TAP_SCHEMAs that still carry it mean).  A dimension of zero (``"0"``, ``"0*"``,
  ``"3x0"``) describes cells that can hold nothing and is refused as invalid metadata.
* Values that JSON has no type for (inside ``xtype="json"`` cells, JSON and GeoJSON
  results) go through :func:`json_default`: timestamps as DALI strings, decimals as
  numbers, ``bytes`` as arrays of byte values (an ``unsignedByte`` array, what a
  ``bytea`` column is, VOTable 1.4 §2.1).
"""

from __future__ import annotations

import datetime as dt
import decimal
import json
import math
import re
import struct
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import Protocol

from vostack.errors import InternalError
from vostack.schema import Field
from vostack.votable.pgcopy import Columns
from vostack.votable.pgtext import TextColumns

__all__ = [
    "Batch",
    "ResultWriter",
    "Shape",
    "StagedWriter",
    "cell_error",
    "check_width",
    "column_metadata",
    "float32_text",
    "json_default",
    "shape_of",
    "text_of",
    "unique_names",
]

Rows = Sequence[Sequence[object]]
Batch = Rows | Columns | TextColumns
"""A batch of rows: Python values per row, or columns read from PostgreSQL's binary or text COPY."""


class ResultWriter(Protocol):
    """A streaming encoder of one result table (TAP 1.1 §2.9; DALI 1.1 §3.2.3 RESPONSEFORMAT).

    ``header()`` once, ``rows(batch)`` per batch, then either ``footer()`` or
    ``iter_footer()`` once; the concatenated bytes are the document.
    ``iter_footer`` yields the same bytes as ``footer`` in bounded pieces: use
    it, since formats that must know the row count first (FITS) emit their data
    there.  ``status_in_band`` tells whether the format can carry the
    ``overflow``/``error`` status in the document itself; when it is false the
    HTTP layer should end a failed response abnormally (close without the final
    chunk) so that clients see an incomplete transfer, not a silently short table.
    ``text_copy`` tells whether the writer is fastest fed with PostgreSQL's
    text COPY (:class:`TextColumns`) rather than its binary one (:class:`Columns`).
    """

    status_in_band: bool
    text_copy: bool

    def header(self) -> bytes:
        """The start of the document, before any row."""
        ...

    def rows(self, rows: Batch) -> bytes:
        """The encoded ``rows`` (one batch; may be empty)."""
        ...

    def footer(self, *, overflow: bool = False, error: str | None = None) -> bytes:
        """The end of the document, with the status when the format can carry it."""
        ...

    def iter_footer(self, *, overflow: bool = False, error: str | None = None) -> Iterator[bytes]:
        """The end of the document, as :meth:`footer`, in bounded pieces."""
        ...


class StagedWriter:
    """The base of every writer: the call order header → rows* → footer, checked once for all formats.

    Subclasses implement :meth:`_header`, :meth:`_rows` and :meth:`_footer`; the
    public methods check the order and raise :class:`InternalError` for a call out
    of it.  A :meth:`rows` call that raises leaves the writer as it was.  The
    columns' ``arraysize`` values are read (and checked) here, into ``shapes``.
    """

    status_in_band = True
    text_copy = False

    def __init__(self, fields: Sequence[Field]) -> None:
        if not fields:
            raise InternalError(f"{type(self).__name__}: a result needs at least one column")
        self.fields = tuple(fields)
        self.shapes = tuple(shape_of(f) for f in self.fields)
        self._state = "new"

    def header(self) -> bytes:
        """The start of the document, before any row."""
        if self._state != "new":
            raise InternalError(f"{type(self).__name__}.header() called twice")
        self._state = "rows"
        return self._header()

    def rows(self, rows: Iterable[Sequence[object]] | Columns | TextColumns) -> bytes:
        """The encoded ``rows`` (one batch, as rows of Python values or as :class:`Columns`; may be empty)."""
        if self._state != "rows":
            raise InternalError(f"{type(self).__name__}.rows() called before header() or after footer()")
        if isinstance(rows, Columns):
            return self._columnar(rows)
        if isinstance(rows, TextColumns):
            return self._textual(rows)
        return self._rows(rows if isinstance(rows, Sequence) else list(rows))

    def iter_footer(self, *, overflow: bool = False, error: str | None = None) -> Iterator[bytes]:
        """The end of the document in bounded pieces, with the status when the format can carry it."""
        if self._state != "rows":
            raise InternalError(f"{type(self).__name__}.footer() called before header() or twice")
        self._state = "done"
        return self._footer(overflow, error)

    def footer(self, *, overflow: bool = False, error: str | None = None) -> bytes:
        """The end of the document (see :meth:`iter_footer`) as one piece."""
        return b"".join(self.iter_footer(overflow=overflow, error=error))

    def _header(self) -> bytes:
        raise NotImplementedError  # pragma: no cover

    def _rows(self, rows: Rows) -> bytes:
        raise NotImplementedError  # pragma: no cover

    def _columnar(self, batch: Columns) -> bytes:
        """A batch read from PostgreSQL in bulk; formats that can, override this to skip the Python values."""
        return self._rows(batch.rows())

    def _textual(self, batch: TextColumns) -> bytes:
        """A batch of PostgreSQL's text COPY; the text formats override this to keep PostgreSQL's text."""
        return self._rows(batch.rows())

    def _footer(self, overflow: bool, error: str | None) -> Iterator[bytes]:
        raise NotImplementedError  # pragma: no cover


# ---------------------------------------------------------------------------
# Column shapes (VOTable 1.4 §2.2)


@dataclass(frozen=True, slots=True)
class Shape:
    """What a FIELD ``arraysize`` says (VOTable 1.4 §2.2): one value, a fixed or a variable array.

    ``count`` is the number of elements of a fixed array, the bound of a
    variable one (``"10*"``: 10; ``"3x5*"``: 15), ``None`` for an unbounded
    one; multidimensional sizes are flattened, first dimension fastest.
    """

    array: bool
    count: int | None
    variable: bool
    dimensions: int = 1


_ARRAYSIZE = re.compile(r"(?:[0-9]+x)*(?:[0-9]+\*?|\*)")


def shape_of(field: Field) -> Shape:
    """The :class:`Shape` of ``field``'s ``arraysize`` (VOTable 1.4 §2.2; rules in the module docstring).

    Raises
    ------
    InternalError
        For an ``arraysize`` VOTable does not allow (``"2x"``, ``"*x2"``, ``"-1"``)
        or one with a zero dimension.
    """
    size = (field.arraysize or "").strip()
    if not size or size == "1":
        return Shape(array=False, count=None, variable=False)
    if _ARRAYSIZE.fullmatch(size) is None:
        raise InternalError(f"column {field.name!r}: invalid arraysize {field.arraysize!r}")
    dims = size.split("x")
    variable = dims[-1].endswith("*")
    numbers = [int(d.rstrip("*")) for d in dims if d.rstrip("*")]
    if 0 in numbers:
        raise InternalError(f"column {field.name!r}: invalid arraysize {field.arraysize!r} (a zero dimension)")
    if variable and dims[-1] == "*":
        return Shape(array=True, count=None, variable=True, dimensions=len(dims))  # "*", "3x*": unbounded
    return Shape(array=True, count=math.prod(numbers), variable=variable, dimensions=len(dims))


# ---------------------------------------------------------------------------
# Values as text


def text_of(value: object) -> str:
    """The text of a non-null value in a ``char``/``unicodeChar`` column (VOTable 1.4 §2.1).

    ``datetime`` values become DALI timestamps in UTC without a zone (DALI 1.1
    §3.3.3), dates and times ISO 8601, lists and dicts JSON (see
    :func:`json_default`), bytes UTF-8 text.
    """
    if isinstance(value, str):
        return value
    if value is None:
        raise TypeError("null")
    if isinstance(value, dt.datetime):
        if value.tzinfo is not None:
            offset = value.utcoffset()
            if offset is not None:
                value = value - offset
            value = value.replace(tzinfo=None)
        return value.isoformat()
    if isinstance(value, dt.date | dt.time):
        return value.isoformat()
    if isinstance(value, bytes | bytearray | memoryview):
        return bytes(value).decode("utf-8", "replace")
    if isinstance(value, list | tuple | dict):
        return json.dumps(value, default=json_default, ensure_ascii=False)
    if isinstance(value, float):
        return repr(value)
    return str(value)


def json_default(value: object) -> object:
    """The JSON form of what :mod:`json` cannot encode (RFC 8259; DALI 1.1 §3.3 for timestamps).

    Timestamps, dates and times become their :func:`text_of` strings; a
    :class:`~decimal.Decimal` a number (an integer when it is one; ``null``
    when it is not finite, as NaN floats are in JSON results); ``bytes`` the
    array of their byte values; sets sorted lists; anything else its ``str``.
    """
    if isinstance(value, dt.datetime | dt.date | dt.time):
        return text_of(value)
    if isinstance(value, decimal.Decimal):
        if not value.is_finite():
            return None
        if value == value.to_integral_value():
            return int(value)
        return float(value)
    if isinstance(value, bytes | bytearray | memoryview):
        return list(bytes(value))
    if isinstance(value, set | frozenset):
        return sorted(value, key=repr)
    return str(value)


_F32 = struct.Struct(">f")
_FLOAT_WORDS = {"nan": "NaN", "inf": "+Inf", "-inf": "-Inf"}


def float_word(value: float) -> str:
    """A double as TABLEDATA writes it: :func:`repr`, with ``NaN``, ``+Inf``, ``-Inf`` (VOTable 1.4 §6)."""
    text = float.__repr__(value)
    return _FLOAT_WORDS.get(text, text)


def float32_text(value: float) -> str:
    """The shortest decimal that reads back as the same single-precision ``value`` (VOTable ``float``).

    PostgreSQL ``real`` values arrive as doubles; ``repr`` would show their
    binary noise (``9.405500411987305`` for 9.4055).  Non-finite values are
    ``NaN``, ``+Inf`` and ``-Inf`` as in TABLEDATA (VOTable 1.4 §6).
    """
    try:
        packed = _F32.pack(value)
    except OverflowError:  # not a float32 value at all: show it exactly
        return float_word(value)
    if not math.isfinite(value):
        return float_word(value)
    for digits in (6, 7, 8, 9):  # nine significant digits always identify a float32
        text = f"{value:.{digits}g}"
        if digits == 9 or _F32.pack(float(text)) == packed:
            break
    return text if "." in text or "e" in text else text + ".0"  # a float reads as a float, as with repr


# ---------------------------------------------------------------------------
# Metadata and errors


def column_metadata(field: Field) -> dict[str, str | None]:
    """The ``FIELD`` attributes of a column as a JSON object (VOTable 1.4 §3.2)."""
    return {
        "name": field.name,
        "datatype": field.datatype,
        "arraysize": field.arraysize,
        "xtype": field.xtype,
        "unit": field.unit,
        "ucd": field.ucd,
        "utype": field.utype,
        "description": field.description,
    }


def cell_error(field: Field, value: object, exc: Exception) -> InternalError:
    """The error for a value column ``field`` cannot hold (a bug in the query's metadata)."""
    shown = repr(value)
    if len(shown) > 80:
        shown = shown[:77] + "..."
    return InternalError(f"cannot write {shown} in column {field.name!r} (datatype {field.datatype!r}): {exc}")


def unique_names(fields: Sequence[Field]) -> list[str]:
    """Column names made distinct, ignoring case, by a suffix: ``x``, ``x_2`` (for FITS and Parquet readers)."""
    used: set[str] = set()
    names = []
    for field in fields:
        name, suffix = field.name, 1
        while name.lower() in used:
            suffix += 1
            name = f"{field.name}_{suffix}"
        used.add(name.lower())
        names.append(name)
    return names


def check_width(rows: Rows, width: int) -> None:
    """Raise :class:`InternalError` unless every row is a sequence of ``width`` values."""
    for row in rows:
        try:
            size = len(row)
        except TypeError:
            raise InternalError(f"a row must be a sequence of {width} values, not {type(row).__name__}") from None
        if size != width:
            raise InternalError(f"a row has {size} values for {width} columns")
