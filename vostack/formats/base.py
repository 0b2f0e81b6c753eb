"""What every result encoder shares: the streaming protocol, call order, value coercion.

A TAP result is written in three steps, whatever the format: :meth:`ResultWriter.header`
once, :meth:`ResultWriter.rows` once per batch from the cursor, then
:meth:`ResultWriter.footer` (or :meth:`ResultWriter.iter_footer`) once, with the
overflow and error status known only at the end (TAP 1.1 §2.9, DALI 1.1 §5.4).
"""

from __future__ import annotations

import datetime as dt
import decimal
import math
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Protocol

from vostack.errors import InternalError
from vostack.schema import Field
from vostack.votable import text_of

__all__ = [
    "ResultWriter",
    "Shape",
    "StagedWriter",
    "cell_error",
    "check_width",
    "column_metadata",
    "json_default",
    "shape_of",
    "text_of",
    "unique_names",
]


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
    """

    status_in_band: bool

    def header(self) -> bytes:
        """The start of the document, before any row."""
        ...

    def rows(self, rows: Sequence[Sequence[object]]) -> bytes:
        """The encoded ``rows`` (one batch; may be empty)."""
        ...

    def footer(self, *, overflow: bool = False, error: str | None = None) -> bytes:
        """The end of the document, with the status when the format can carry it."""
        ...

    def iter_footer(self, *, overflow: bool = False, error: str | None = None) -> Iterator[bytes]:
        """The end of the document, as :meth:`footer`, in bounded pieces."""
        ...


class StagedWriter:
    """The base of the encoders: keeps ``fields`` (at least one) and checks the call order header → rows* → footer."""

    status_in_band = True

    def __init__(self, fields: Sequence[Field]) -> None:
        if not fields:
            raise InternalError(f"{type(self).__name__}: a result needs at least one column")
        self.fields = tuple(fields)
        self._state = "new"

    def _enter_header(self) -> None:
        if self._state != "new":
            raise InternalError(f"{type(self).__name__}.header() called twice")
        self._state = "rows"

    def _check_rows(self) -> None:
        if self._state != "rows":
            raise InternalError(f"{type(self).__name__}.rows() called before header() or after footer()")

    def _enter_footer(self) -> None:
        if self._state != "rows":
            raise InternalError(f"{type(self).__name__}.footer() called before header() or twice")
        self._state = "done"

    def footer(self, *, overflow: bool = False, error: str | None = None) -> bytes:
        """The end of the document (see :meth:`iter_footer`)."""
        return b"".join(self.iter_footer(overflow=overflow, error=error))

    def iter_footer(self, *, overflow: bool = False, error: str | None = None) -> Iterator[bytes]:
        """The end of the document in pieces; subclasses override one of the two."""
        raise NotImplementedError  # pragma: no cover


@dataclass(frozen=True, slots=True)
class Shape:
    """What a FIELD ``arraysize`` says (VOTable 1.4 §2.2): scalar, fixed or variable array."""

    array: bool
    count: int | None  # the fixed element count (or the bound of a variable array)
    variable: bool


def shape_of(field: Field) -> Shape:
    """The :class:`Shape` of ``field``; multidimensional sizes are flattened (``"2x3"`` is 6)."""
    size = (field.arraysize or "").strip()
    if not size:
        return Shape(False, None, False)
    variable = size.endswith("*")
    dims = size.rstrip("*").split("x")
    try:
        numbers = [int(d) for d in dims if d]
    except ValueError:
        raise InternalError(f"column {field.name!r}: invalid arraysize {field.arraysize!r}") from None
    if variable and (not dims[-1] or size == "*"):
        return Shape(True, None, True)
    count = math.prod(numbers) if numbers else None
    if not variable and count == 1 and field.datatype not in ("char", "unicodeChar"):
        return Shape(False, None, False)
    return Shape(True, count, variable)


def json_default(value: object) -> object:
    """The JSON form of what :mod:`json` cannot encode: timestamps, decimals, bytes."""
    if isinstance(value, dt.datetime | dt.date | dt.time):
        return text_of(value)
    if isinstance(value, decimal.Decimal):
        if value == value.to_integral_value() and value.is_finite():
            return int(value)
        return float(value)
    if isinstance(value, bytes | bytearray | memoryview):
        return list(bytes(value))  # bytea: an unsignedByte array
    if isinstance(value, set | frozenset):
        return sorted(value, key=repr)
    return str(value)


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


def check_width(rows: Sequence[Sequence[object]], width: int) -> None:
    """Raise :class:`InternalError` unless every row has ``width`` values."""
    for row in rows:
        if len(row) != width:
            raise InternalError(f"a row has {len(row)} values for {width} columns")
