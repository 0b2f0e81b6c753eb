"""PostgreSQL's binary ``COPY`` format read in bulk, a batch of rows at a time, into columns.

``COPY (query) TO STDOUT (FORMAT binary)`` (PostgreSQL 15 manual, COPY, "Binary
Format") sends a header (the signature ``PGCOPY\\n\\377\\r\\n\\0``, a flags
word, an extension area), then one tuple per row: a 16-bit field count and,
for each field, a 32-bit length (-1 for NULL) followed by the value in its
type's binary send format, all big-endian like VOTable BINARY2; then a 16-bit
-1.  :class:`CopyParser` takes that stream in chunks of any size and returns
:class:`Columns`: for each column, where its values lie in the chunk (or, for
fixed-width types, a numpy array of them), so that writers can transcode a
whole batch with numpy instead of making a Python object per value.

Locating the rows is the only sequential step.  When every column has a fixed
width and a chunk holds no NULL, every row has the same size and the chunk is
viewed as a structured array at once.  Otherwise every position where a row
could start (its field count) is a candidate; the end of the row each
candidate would begin is computed for all candidates together, field by
field, and the real rows are the chain of ends that starts at the first row.

:meth:`Column.pylist` gives the values as Python objects equal to those
asyncpg's binary codecs return (so the existing row writers stay the
reference).  The types read (by OID, fixed for built-in types) are in
:data:`SUPPORTED_TYPES`; a result with any other type (``interval``, ``time``,
network and geometric types, ranges, composites, enums, domains, extension
types such as pgSphere's) is not read here: the caller falls back to a cursor.
"""

from __future__ import annotations

import datetime as dt
import decimal
import struct
import uuid
from collections.abc import Callable, Sequence
from typing import Any, Generic, Protocol, Self, TypeVar

import numpy as np

from vostack.errors import InternalError

__all__ = ["SUPPORTED_TYPES", "Column", "ColumnBatch", "Columns", "CopyParser", "supported"]

_SIGNATURE = b"PGCOPY\n\xff\r\n\x00"
_HEADER = struct.Struct(">11sii")
_EPOCH_DATE = dt.date(2000, 1, 1).toordinal()
_EPOCH = dt.datetime(2000, 1, 1)
_EPOCH_UTC = dt.datetime(2000, 1, 1, tzinfo=dt.UTC)
_TS_INFINITY, _TS_MINUS_INFINITY = 0x7FFFFFFFFFFFFFFF, -0x8000000000000000
_DATE_INFINITY, _DATE_MINUS_INFINITY = 0x7FFFFFFF, -0x80000000
_NUMERIC_NAN, _NUMERIC_PINF, _NUMERIC_NINF, _NUMERIC_NEG = 0xC000, 0xD000, 0xF000, 0x4000

BOOL, BYTEA, NAME, INT8, INT2, INT4, TEXT, OID, JSON = 16, 17, 19, 20, 21, 23, 25, 26, 114
FLOAT4, FLOAT8, BPCHAR, VARCHAR, DATE, TIMESTAMP, TIMESTAMPTZ = 700, 701, 1042, 1043, 1082, 1114, 1184
NUMERIC, UUID, JSONB = 1700, 2950, 3802

#: Text-like types: the value is UTF-8 text (``jsonb``: after a version byte).
TEXT_TYPES = frozenset({TEXT, VARCHAR, BPCHAR, NAME, JSON, JSONB})

#: Fixed-width types: numpy dtype of the value as sent.
FIXED_TYPES: dict[int, str] = {
    BOOL: "u1", INT2: ">i2", INT4: ">i4", INT8: ">i8", OID: ">u4", FLOAT4: ">f4", FLOAT8: ">f8",
    DATE: ">i4", TIMESTAMP: ">i8", TIMESTAMPTZ: ">i8",
}  # fmt: skip


def _text(data: bytes) -> str:
    return data.decode("utf-8")


def _date(data: bytes) -> dt.date:
    return _date_of(int.from_bytes(data, "big", signed=True))


def _date_of(days: int) -> dt.date:
    if days == _DATE_INFINITY:
        return dt.date.max
    if days == _DATE_MINUS_INFINITY:
        return dt.date.min
    return dt.date.fromordinal(days + _EPOCH_DATE)


def _timestamp(data: bytes, epoch: dt.datetime = _EPOCH) -> dt.datetime:
    return _timestamp_of(int.from_bytes(data, "big", signed=True), epoch)


def _timestamp_of(micros: int, epoch: dt.datetime = _EPOCH) -> dt.datetime:
    if micros == _TS_INFINITY:  # naive even for timestamptz, as asyncpg returns them
        return dt.datetime.max
    if micros == _TS_MINUS_INFINITY:
        return dt.datetime.min
    return epoch + dt.timedelta(microseconds=micros)


def _numeric(data: bytes) -> decimal.Decimal:
    """A ``numeric`` as the :class:`~decimal.Decimal` asyncpg makes of it: the base-10000 digits PostgreSQL sent
    (trailing zero groups of an integer stay an exponent: 1E+20), exactly ``dscale`` of them after the point."""
    count, weight, sign, scale = struct.unpack_from(">hhHh", data)
    if sign == _NUMERIC_NAN:
        return decimal.Decimal("NaN")
    if sign in (_NUMERIC_PINF, _NUMERIC_NINF):
        return decimal.Decimal("Infinity" if sign == _NUMERIC_PINF else "-Infinity")
    if count == 0:
        return decimal.Decimal(f"0e-{scale}")
    groups = struct.unpack_from(f">{count}H", data, 8)  # the first of weight `weight`: 10000 ** weight
    digits = "".join(f"{g:04d}" for g in groups)
    padding = 4 - len(str(groups[0])) if weight >= 0 else 0  # the leading zeros of an integer part
    digits = digits[padding:]
    exponent = (weight + 1) * 4 - padding  # of the point before the first digit kept
    if scale:  # exactly `scale` digits after the point: drop the zeros sent beyond it, add missing ones
        missing = scale - (count - weight - 1) * 4
        digits = digits + "0" * missing if missing > 0 else digits[: len(digits) + missing]
    text = f"{'-' if sign == _NUMERIC_NEG else ''}0.{digits}" + (f"E{exponent:+d}" if exponent else "")
    return decimal.Decimal(text)


_SCALARS: dict[int, Callable[[bytes], object]] = {
    BOOL: lambda b: b != b"\x00",
    INT2: lambda b: int.from_bytes(b, "big", signed=True),
    INT4: lambda b: int.from_bytes(b, "big", signed=True),
    INT8: lambda b: int.from_bytes(b, "big", signed=True),
    OID: lambda b: int.from_bytes(b, "big"),
    FLOAT4: lambda b: struct.unpack(">f", b)[0],
    FLOAT8: lambda b: struct.unpack(">d", b)[0],
    TEXT: _text, VARCHAR: _text, BPCHAR: _text, NAME: _text, JSON: _text,
    JSONB: lambda b: b[1:].decode("utf-8"),
    BYTEA: bytes,
    DATE: _date,
    TIMESTAMP: _timestamp,
    TIMESTAMPTZ: lambda b: _timestamp(b, _EPOCH_UTC),
    NUMERIC: _numeric,
    UUID: lambda b: uuid.UUID(bytes=b),
}  # fmt: skip

#: Array types (OID) and their element types.
ARRAY_TYPES: dict[int, int] = {
    1000: BOOL, 1001: BYTEA, 1003: NAME, 1005: INT2, 1007: INT4, 1009: TEXT, 1014: BPCHAR, 1015: VARCHAR,
    1016: INT8, 1021: FLOAT4, 1022: FLOAT8, 1028: OID, 199: JSON, 3807: JSONB, 1182: DATE, 1115: TIMESTAMP,
    1185: TIMESTAMPTZ, 1231: NUMERIC, 2951: UUID,
}  # fmt: skip

#: Every type OID this module reads.
SUPPORTED_TYPES = frozenset(_SCALARS) | frozenset(ARRAY_TYPES)


def supported(type_oids: Sequence[int]) -> bool:
    """Whether a result with columns of these types can be read from a binary COPY here."""
    return all(oid in SUPPORTED_TYPES for oid in type_oids)


def _array(data: bytes, element: Callable[[bytes], object]) -> list[Any]:
    """A PostgreSQL array (``array_send``) as nested lists, ``None`` for NULL elements, as asyncpg returns it."""
    ndim = int.from_bytes(data[0:4], "big")
    if ndim == 0:
        return []
    dims = [int.from_bytes(data[12 + 8 * i : 16 + 8 * i], "big") for i in range(ndim)]
    position = 12 + 8 * ndim
    items: list[Any] = []
    for _ in range(int(np.prod(dims))):
        length = int.from_bytes(data[position : position + 4], "big", signed=True)
        position += 4
        if length < 0:
            items.append(None)
            continue
        items.append(element(data[position : position + length]))
        position += length
    for size in reversed(dims[1:]):  # the last subscript varies fastest
        items = [items[i : i + size] for i in range(0, len(items), size)]
    return items


def _decoder(oid: int) -> Callable[[bytes], object]:
    if oid in ARRAY_TYPES:
        element = _SCALARS[ARRAY_TYPES[oid]]
        return lambda data: _array(data, element)
    return _SCALARS[oid]


def _windows(buf: np.ndarray[Any, Any], width: int) -> np.ndarray[Any, Any]:
    """Every ``width``-byte window of ``buf``, as rows of a 2-D view (for gathering values at any offset)."""
    if len(buf) < width:
        return np.empty((0, width), dtype=np.uint8)
    return np.lib.stride_tricks.sliding_window_view(buf, width)


def _int32_at(buf: np.ndarray[Any, Any], positions: np.ndarray[Any, Any]) -> np.ndarray[Any, Any]:
    """The big-endian 32-bit integers at ``positions`` (each at most ``len(buf) - 4``)."""
    values: np.ndarray[Any, Any] = _windows(buf, 4)[positions].view(">i4")[:, 0]
    return values


class Column:
    """One column of a batch: the type OID, where each value lies in the buffer, and its nulls.

    ``starts`` are the offsets of the values in ``buf`` and ``lengths`` their
    byte counts (-1 for NULL).  A fixed-width column read in the fast path has
    its values as a numpy array already (``fixed``, in the type's big-endian
    dtype; entries of null rows are meaningless).
    """

    __slots__ = ("_fixed", "buf", "lengths", "oid", "starts")

    def __init__(
        self,
        oid: int,
        buf: np.ndarray[Any, Any],
        starts: np.ndarray[Any, Any] | None,
        lengths: np.ndarray[Any, Any] | None,
        fixed: np.ndarray[Any, Any] | None = None,
    ) -> None:
        self.oid = oid
        self.buf = buf
        self.starts = starts
        self.lengths = lengths
        self._fixed = fixed

    def __len__(self) -> int:
        return len(self._fixed) if self.lengths is None else len(self.lengths)  # type: ignore[arg-type]

    def head(self, n: int) -> Column:
        """The first ``n`` values."""
        if self.lengths is None:
            return Column(self.oid, self.buf, None, None, self._fixed[:n])  # type: ignore[index]
        assert self.starts is not None
        fixed = None if self._fixed is None else self._fixed[:n]
        return Column(self.oid, self.buf, self.starts[:n], self.lengths[:n], fixed)

    @property
    def nulls(self) -> np.ndarray[Any, Any] | None:
        """A boolean array, true for NULL; ``None`` when no value is NULL."""
        if self.lengths is None:
            return None
        mask = self.lengths < 0
        return mask if mask.any() else None

    @property
    def values(self) -> np.ndarray[Any, Any]:
        """The values of a fixed-width column as a numpy array (big-endian dtype; null rows hold anything)."""
        if self._fixed is None:
            dtype = np.dtype(FIXED_TYPES[self.oid])
            assert self.starts is not None
            positions = np.minimum(self.starts, len(self.buf) - dtype.itemsize)  # null rows may end the buffer
            self._fixed = _windows(self.buf, dtype.itemsize)[positions].view(dtype)[:, 0]
        return self._fixed

    def pylist(self) -> list[object]:
        """The values as Python objects (``None`` for NULL), equal to what asyncpg decodes."""
        nulls = self.nulls
        oid = self.oid
        if oid in (INT2, INT4, INT8, OID, FLOAT4, FLOAT8, BOOL):
            values = self.values
            items: list[object] = (values != 0).tolist() if oid == BOOL else values.tolist()
        elif oid in TEXT_TYPES:
            items = self._texts()
        elif oid == DATE:
            items = list(map(_date_of, self.values.tolist()))
        elif oid in (TIMESTAMP, TIMESTAMPTZ):
            epoch = _EPOCH if oid == TIMESTAMP else _EPOCH_UTC
            items = [_timestamp_of(micros, epoch) for micros in self.values.tolist()]
        else:
            decode = _decoder(oid)
            data = self.buf.tobytes()
            assert self.starts is not None and self.lengths is not None
            items = [
                None if length < 0 else decode(data[start : start + length])
                for start, length in zip(self.starts.tolist(), self.lengths.tolist(), strict=True)
            ]
            return items
        if nulls is not None:
            for index in np.flatnonzero(nulls).tolist():
                items[index] = None
        return items

    def _texts(self) -> list[object]:
        """UTF-8 values decoded in one call: joined with NUL bytes, which PostgreSQL text never holds."""
        assert self.starts is not None and self.lengths is not None
        skip = 1 if self.oid == JSONB else 0  # the jsonb format version byte
        lengths = np.maximum(self.lengths - skip, 0)
        if len(lengths) == 0:
            return []
        parts = self.buf.tobytes()
        pieces = [parts[s : s + n] for s, n in zip((self.starts + skip).tolist(), lengths.tolist(), strict=True)]
        return list(b"\x00".join(pieces).decode("utf-8").split("\x00"))


class _Column(Protocol):
    def __len__(self) -> int: ...

    def head(self, n: int) -> Self: ...

    def pylist(self) -> list[object]: ...


ColumnT = TypeVar("ColumnT", bound=_Column)


class ColumnBatch(Generic[ColumnT]):
    """A batch of rows as columns; ``len()`` is the row count, ``batch[:n]`` the first rows."""

    __slots__ = ("columns", "length")

    def __init__(self, length: int, columns: tuple[ColumnT, ...]) -> None:
        self.length = length
        self.columns = columns

    def __len__(self) -> int:
        return self.length

    def __getitem__(self, rows: slice) -> Self:
        """The first rows, ``batch[:n]`` (the only slice the streaming loop takes)."""
        if rows.start not in (None, 0) or rows.step not in (None, 1):
            raise InternalError("a batch of columns takes only a leading slice")
        n = min(self.length, self.length if rows.stop is None else max(rows.stop, 0))
        return type(self)(n, tuple(c.head(n) for c in self.columns))

    def rows(self) -> list[tuple[object, ...]]:
        """The rows as tuples of Python values, as asyncpg decodes them."""
        return list(zip(*[c.pylist() for c in self.columns], strict=True))


class Columns(ColumnBatch[Column]):
    """A batch read from the binary COPY (see :class:`Column`)."""

    __slots__ = ()


class CopyParser:
    """Turns a binary COPY stream, fed in chunks of any size, into :class:`Columns` batches.

    Parameters
    ----------
    type_oids : sequence of int
        The result's column types, in order (all in :data:`SUPPORTED_TYPES`).
    """

    def __init__(self, type_oids: Sequence[int]) -> None:
        if not supported(type_oids) or not type_oids:
            raise InternalError(f"cannot read types {list(type_oids)} from a binary COPY")
        self.type_oids = tuple(type_oids)
        self._count = len(self.type_oids)
        widths = [np.dtype(FIXED_TYPES[o]).itemsize if o in FIXED_TYPES else None for o in self.type_oids]
        self._widths = widths
        self._row_dtype: np.dtype[Any] | None = None
        if all(w is not None for w in widths):
            fields: list[tuple[str, str]] = [("n", ">i2")]
            for k, oid in enumerate(self.type_oids):
                fields += [(f"l{k}", ">i4"), (f"v{k}", FIXED_TYPES[oid])]
            self._row_dtype = np.dtype(fields)
        self._carry = b""
        self._header_done = False
        self.finished = False

    def feed(self, data: bytes) -> Columns:
        """The complete rows in what was fed so far (possibly none); a partial row waits for the next chunk."""
        if self.finished:
            if data:
                raise InternalError("data after the end of a binary COPY")
            return self._empty()
        buffer = self._carry + data if self._carry else data
        start = 0
        if not self._header_done:
            if len(buffer) < _HEADER.size:
                self._carry = buffer
                return self._empty()
            signature, _flags, extension = _HEADER.unpack_from(buffer)
            if signature != _SIGNATURE:
                raise InternalError("not a PostgreSQL binary COPY stream")
            if len(buffer) < _HEADER.size + extension:
                self._carry = buffer
                return self._empty()
            start = _HEADER.size + extension
            self._header_done = True
        buf = np.frombuffer(buffer, dtype=np.uint8)
        columns, end = self._fixed_rows(buf, start)
        # what follows the rows of the fixed layout may be whole rows it cannot read (with NULLs): then the
        # whole chunk is read the general way, so that no whole row waits for a chunk that never comes
        if (
            columns is not None
            and end < len(buffer)
            and buffer[end : end + 2] != b"\xff\xff"
            and len(self._general_rows(buf, end)[0])
        ):
            columns = None
        if columns is None:
            columns, end = self._general_rows(buf, start)
        if buffer[end : end + 2] == b"\xff\xff":
            self.finished = True
            end += 2
            if end != len(buffer):
                raise InternalError("data after the end of a binary COPY")
        self._carry = buffer[end:]
        return columns

    def close(self) -> None:
        """Check that the stream ended where PostgreSQL ends it (its trailer seen, nothing left)."""
        if not self.finished or self._carry:
            raise InternalError("the binary COPY stream ended before its trailer")

    def _empty(self) -> Columns:
        return Columns(0, tuple(Column(o, np.empty(0, np.uint8), _EMPTY, _EMPTY) for o in self.type_oids))

    def _fixed_rows(self, buf: np.ndarray[Any, Any], start: int) -> tuple[Columns | None, int]:
        """All rows at once when every field has a fixed width and no value is NULL; else ``None``."""
        dtype = self._row_dtype
        if dtype is None:
            return None, start
        count = (len(buf) - start) // dtype.itemsize
        if count == 0:  # a part of a row, or rows shorter than the layout (NULLs): for the general path
            return None, start
        rows = np.frombuffer(buf, dtype=dtype, count=count, offset=start)
        if not (rows["n"] == self._count).all():
            return None, start
        for k, width in enumerate(self._widths):
            if not (rows[f"l{k}"] == width).all():
                return None, start
        columns = tuple(Column(o, buf, None, None, rows[f"v{k}"]) for k, o in enumerate(self.type_oids))
        return Columns(count, columns), start + count * dtype.itemsize

    def _ends(self, buf: np.ndarray[Any, Any], rows: np.ndarray[Any, Any], record: bool = False) -> tuple[
        np.ndarray[Any, Any], np.ndarray[Any, Any], list[tuple[np.ndarray[Any, Any], np.ndarray[Any, Any]]]
    ]:  # fmt: skip
        """For rows starting at ``rows``: where each ends, whether it is a whole valid row, and (``record``)
        each field's value offsets and lengths."""
        size = len(buf)
        position = rows + 2
        valid = np.ones(len(rows), dtype=bool)
        fields = []
        for width in self._widths:
            inside = position + 4 <= size
            valid &= inside
            length = _int32_at(buf, np.where(inside, position, 0)).astype(np.int64)
            valid &= (length == -1) | (length == width) if width is not None else length >= -1
            if record:
                fields.append((position + 4, length))
            position = position + 4 + np.maximum(length, 0)
        valid &= position <= size
        return position, valid, fields

    def _general_rows(self, buf: np.ndarray[Any, Any], start: int) -> tuple[Columns, int]:
        """The rows of a chunk with NULLs or variable-length values, located as the module docstring says."""
        count = self._count
        if len(buf) - start < 6:  # not even a field count and one length
            return self._empty(), start
        pairs = _windows(buf[start:], 2)
        candidates = np.flatnonzero((pairs[:, 0] == count >> 8) & (pairs[:, 1] == count & 0xFF)) + start
        if len(candidates) == 0 or candidates[0] != start:
            return self._empty(), start
        ends, valid, fields = self._ends(buf, candidates, record=True)
        following = np.searchsorted(candidates, ends)
        inside = following < len(candidates)
        following = np.where(inside, following, 0)
        chained = inside & (candidates[following] == ends)
        successor = np.where(chained, following, -1).tolist()
        whole = valid.tolist()
        chain: list[int] = []
        index = 0
        while index >= 0 and whole[index]:
            chain.append(index)
            index = successor[index]
        if not chain:
            return self._empty(), start
        rows = np.array(chain, dtype=np.int64)
        columns = tuple(
            Column(oid, buf, starts[rows], lengths[rows])
            for oid, (starts, lengths) in zip(self.type_oids, fields, strict=True)
        )
        return Columns(len(rows), columns), int(ends[chain[-1]])


_EMPTY = np.empty(0, dtype=np.int64)
