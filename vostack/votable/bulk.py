"""VOTable BINARY and BINARY2 rows made from :class:`~vostack.votable.pgcopy.Columns` with numpy, a batch at once.

PostgreSQL's binary values are big-endian, as VOTable's binary serialisations
are (VOTable 1.4 §5.3), so most columns need no conversion at all: a ``double``
column fed by ``float8`` is the 8 bytes PostgreSQL sent, a ``char`` column
with ``arraysize="*"`` fed by ASCII ``text`` is PostgreSQL's field as it is
(a 32-bit length, then the bytes).  :class:`BinaryColumns` writes each column
as a whole, then interleaves the columns (and the BINARY2 null flags) into
rows: as one structured array when every column has a fixed width, else by
gathering the row pieces from their buffers with one numpy index.

The bytes are those of :class:`~vostack.votable.VOTableWriter` given the same
rows as Python values, which stays the reference: a column that is not one of
the combinations below (a narrowing integer, an array, ``unicodeChar``,
timestamps...) and every non-ASCII ``char`` value is written value by value
with the row writer's own encoder.  Converted in bulk:

* ``unsignedByte``/``short``/``int``/``long``/``float``/``double`` from a
  PostgreSQL integer or float whose every value the datatype holds exactly
  (same type, wider integer, any integer but ``bigint`` into ``float``,
  anything into ``double``);
* ``boolean`` from ``boolean``;
* ``char`` (one, fixed, bounded or unbounded) from text-like types, ASCII values.
"""

from __future__ import annotations

import struct
from collections.abc import Callable, Sequence
from typing import Any, Protocol

import numpy as np

from vostack.errors import InternalError
from vostack.schema import Field
from vostack.votable.base import Shape, cell_error
from vostack.votable.pgcopy import (
    BOOL,
    FLOAT4,
    FLOAT8,
    INT2,
    INT4,
    INT8,
    JSONB,
    TEXT_TYPES,
    Column,
    Columns,
)

__all__ = ["BinaryColumns", "Segments", "interleave"]

_DTYPES = {"unsignedByte": "u1", "short": ">i2", "int": ">i4", "long": ">i8", "float": ">f4", "double": ">f8"}

#: For each datatype, the PostgreSQL types whose every value it holds exactly, as the row writer packs it.
_EXACT: dict[str, frozenset[int]] = {
    "short": frozenset({INT2}),
    "int": frozenset({INT2, INT4}),
    "long": frozenset({INT2, INT4, INT8}),
    "float": frozenset({INT2, INT4, FLOAT4}),  # bigint would round twice (via a double) in the row writer
    "double": frozenset({INT2, INT4, INT8, FLOAT4, FLOAT8}),
}
_T, _F, _NULL_FLAG = 84, 70, 63  # b"T", b"F", b"?"


class Codec(Protocol):
    """The row writer's encoder of one column (see ``vostack.votable.writer``)."""

    @property
    def fast(self) -> Callable[[Any], bytes]: ...

    @property
    def slow(self) -> Callable[[Any], bytes | None]: ...

    @property
    def null(self) -> bytes: ...


# A column written, as the pieces of each row: a 2-D uint8 array (fixed width) or segments of buffers.
Segments = list[tuple[np.ndarray[Any, Any], np.ndarray[Any, Any], np.ndarray[Any, Any]]]


class BinaryColumns:
    """Writes :class:`Columns` batches as BINARY2 (``flags=True``) or BINARY rows (VOTable 1.4 §5.3, §5.4).

    ``codecs`` are the row writer's encoders of the columns, used for the
    values not converted in bulk and for the bytes of a null cell.
    """

    def __init__(
        self, fields: Sequence[Field], shapes: Sequence[Shape], codecs: Sequence[Codec], *, flags: bool
    ) -> None:
        self._fields = tuple(fields)
        self._shapes = tuple(shapes)
        self._codecs = tuple(codecs)
        self._flags = flags

    def encode(self, batch: Columns) -> bytes:
        """The rows of ``batch``, packed."""
        n = len(batch)
        if n == 0:
            return b""
        if len(batch.columns) != len(self._fields):
            raise InternalError(f"a batch has {len(batch.columns)} columns for {len(self._fields)}")
        pieces: list[np.ndarray[Any, Any] | Segments] = []
        nulls = np.zeros((n, len(self._fields)), dtype=bool) if self._flags else None
        for k, column in enumerate(batch.columns):
            piece, null = self._column(k, column)
            pieces.append(piece)
            if nulls is not None and null is not None:
                nulls[:, k] = null
        if nulls is not None:
            pieces.insert(0, np.packbits(nulls, axis=1))  # MSB first, VOTable 1.4 §5.4
        if all(isinstance(p, np.ndarray) for p in pieces):
            return _interleave_fixed(n, pieces)  # type: ignore[arg-type]
        return interleave(n, pieces)

    # -- one column ----------------------------------------------------------

    def _column(self, k: int, column: Column) -> tuple[np.ndarray[Any, Any] | Segments, np.ndarray[Any, Any] | None]:
        field, shape = self._fields[k], self._shapes[k]
        datatype, oid = field.datatype, column.oid
        if not shape.array and oid in _EXACT.get(datatype, ()):
            return self._number(k, column)
        if datatype == "boolean" and not shape.array and oid == BOOL:
            return self._boolean(k, column)
        if datatype == "char" and oid in TEXT_TYPES and oid != JSONB and not (shape.array and shape.dimensions > 1):
            return self._char(k, column)
        return self._values(k, column, list(range(len(column))))

    def _number(self, k: int, column: Column) -> tuple[np.ndarray[Any, Any], np.ndarray[Any, Any] | None]:
        dtype = np.dtype(_DTYPES[self._fields[k].datatype])
        values = np.ascontiguousarray(column.values, dtype=dtype)
        nulls = column.nulls
        if nulls is not None and values is column.values:
            values = values.copy()  # the column's own array stays as it is
        cells = values.view(np.uint8).reshape(len(column), dtype.itemsize)
        if nulls is not None:
            cells[nulls] = np.frombuffer(self._codecs[k].null, dtype=np.uint8)
        return cells, nulls

    def _boolean(self, k: int, column: Column) -> tuple[np.ndarray[Any, Any], np.ndarray[Any, Any] | None]:
        cells = np.where(column.values != 0, _T, _F).astype(np.uint8)
        nulls = column.nulls
        if nulls is not None:
            cells[nulls] = _NULL_FLAG
        return cells.reshape(-1, 1), nulls

    def _char(self, k: int, column: Column) -> tuple[Segments, np.ndarray[Any, Any] | None]:
        """ASCII text as PostgreSQL sent it, cut or padded to the ``arraysize``; other values one by one."""
        shape = self._shapes[k]
        assert column.starts is not None and column.lengths is not None
        n = len(column)
        buf = column.buf
        lengths = np.maximum(column.lengths, 0)
        nulls = column.nulls
        # rows with a byte >= 0x80 (non-ASCII: each character becomes "?") go through the row writer's encoder
        offsets = np.cumsum(lengths) - lengths
        text = buf[np.repeat(column.starts - offsets, lengths) + np.arange(int(lengths.sum()), dtype=np.int64)]
        high = np.flatnonzero(text >= 0x80)
        odd = np.zeros(n, dtype=bool)
        odd[np.searchsorted(offsets, high, side="right") - 1] = True
        limit = 1 if not shape.array else shape.count
        count = lengths if limit is None else np.minimum(lengths, limit)
        segments: Segments = []
        if shape.array and shape.variable:
            if limit is None:  # PostgreSQL's field (length, bytes) is the VOTable cell; a null one is length 0
                starts = np.where(column.lengths < 0, 0, column.starts - 4)
                segments.append((buf, starts, np.where(column.lengths < 0, 0, lengths + 4)))
                zero = np.zeros(4, dtype=np.uint8)
                if nulls is not None:
                    segments.append((zero, np.zeros(n, dtype=np.int64), np.where(nulls, 4, 0)))
            else:
                prefix = count.astype(">u4").view(np.uint8)
                segments.append((prefix, np.arange(n, dtype=np.int64) * 4, np.full(n, 4, dtype=np.int64)))
                segments.append((buf, column.starts, count))
        else:
            assert limit is not None
            segments.append((buf, column.starts, count))
            padding = np.zeros(limit, dtype=np.uint8)
            segments.append((padding, np.zeros(n, dtype=np.int64), limit - count))
        if odd.any():
            rows = np.flatnonzero(odd).tolist()
            replaced, replaced_nulls = self._values(k, column, rows)
            for _, _, sizes in segments:  # those rows take their bytes from the replacement only
                sizes[odd] = 0
            segments.extend(replaced)
            if replaced_nulls is not None:
                nulls = replaced_nulls if nulls is None else nulls | replaced_nulls
        return segments, nulls

    def _values(self, k: int, column: Column, rows: Sequence[int]) -> tuple[Segments, np.ndarray[Any, Any] | None]:
        """The cells of ``rows`` (the others empty) by the row writer's encoder, value by value."""
        codec, field = self._codecs[k], self._fields[k]
        values = column.pylist()
        n = len(values)
        nulls = np.zeros(n, dtype=bool)
        sizes = np.zeros(n, dtype=np.int64)
        parts: list[bytes] = []
        for index in rows:
            value = values[index]
            data: bytes | None = None
            if value is not None:
                try:
                    data = codec.fast(value)
                except Exception:
                    try:
                        data = codec.slow(value)
                    except (ValueError, TypeError, OverflowError, struct.error) as exc:
                        raise cell_error(field, value, exc) from exc
            if data is None:
                nulls[index] = True
                data = codec.null
            parts.append(data)
            sizes[index] = len(data)
        source = np.frombuffer(b"".join(parts), dtype=np.uint8)
        starts = np.zeros(n, dtype=np.int64)
        starts[list(rows)] = np.cumsum(sizes[list(rows)]) - sizes[list(rows)]
        return [(source, starts, sizes)], nulls if nulls.any() else None


def _interleave_fixed(n: int, pieces: Sequence[np.ndarray[Any, Any]]) -> bytes:
    """Rows made of fixed-width pieces (each an ``(n, width)`` uint8 array), side by side."""
    widths = [p.shape[1] for p in pieces]
    out = np.empty((n, sum(widths)), dtype=np.uint8)
    offset = 0
    for piece, width in zip(pieces, widths, strict=True):
        out[:, offset : offset + width] = piece
        offset += width
    return out.tobytes()


def interleave(n: int, pieces: Sequence[np.ndarray[Any, Any] | Segments]) -> bytes:
    """Rows made of pieces of any width: every piece's segment of a row, in order, gathered at once."""
    segments: Segments = []
    for piece in pieces:
        if isinstance(piece, np.ndarray):
            width = piece.shape[1]
            segments.append(
                (np.ascontiguousarray(piece).ravel(), np.arange(n, dtype=np.int64) * width, np.full(n, width))
            )
        else:
            segments.extend(piece)
    sources: list[np.ndarray[Any, Any]] = []
    base: dict[int, int] = {}
    size = 0
    for source, _, _ in segments:
        if id(source) not in base:
            base[id(source)] = size
            sources.append(source)
            size += len(source)
    joined = np.concatenate(sources) if len(sources) > 1 else sources[0]
    starts = np.stack([s + base[id(src)] for src, s, _ in segments], axis=1).ravel()
    sizes = np.stack([z.astype(np.int64, copy=False) for _, _, z in segments], axis=1).ravel()
    total = int(sizes.sum())
    offsets = np.cumsum(sizes) - sizes  # where each segment goes in the output
    index = np.repeat(starts - offsets, sizes) + np.arange(total, dtype=np.int64)
    return joined[index].tobytes()
