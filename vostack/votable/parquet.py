"""Parquet results with VOTable metadata: the VOParquet convention (IVOA Note "Parquet in the VO" 1.0, §2).

The data are an ordinary Parquet file written by pyarrow, one row group per
batch, so the response streams: ``header()`` is the leading ``PAR1`` magic,
each ``rows()`` call a row group, ``footer()`` the Parquet footer.  Column
types follow the ``FIELD`` datatypes (``short`` → int16, ``double`` →
float64, ``char`` → UTF-8 string, ``boolean`` → bool, arrays → lists), and
nulls are Parquet nulls.  Repeated column names get a suffix (``x``, ``x_2``);
the VOTable ``FIELD`` elements keep the names of the result.

The footer's file-level ``key_value_metadata`` holds, as VOParquet §2.2
requires, ``IVOA.VOTable-Parquet.version`` = ``1.0`` and
``IVOA.VOTable-Parquet.content``: a VOTable document whose first ``TABLE`` has
the result's ``FIELD`` elements (units, UCDs, descriptions, xtypes) and no
``DATA``.  Since Parquet puts that metadata at the end of the file, it is
written last and carries the status as well: the ``RESOURCE`` holds the
``QUERY_STATUS`` ``INFO`` and, after the ``TABLE``, ``OVERFLOW`` or
``ERROR`` with its message, exactly as a VOTable result (DALI 1.1 §5.4).
A failed query therefore still ends in a valid Parquet file whose rows are
those sent before the failure and whose metadata says ``ERROR``.
"""

from __future__ import annotations

import decimal
import math
from collections.abc import Callable, Iterator, Sequence
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from vostack.errors import InternalError
from vostack.schema import Field
from vostack.votable.base import Rows, Shape, StagedWriter, cell_error, check_width, text_of, unique_names
from vostack.votable.pgcopy import BOOL, FLOAT4, FLOAT8, INT2, INT4, INT8, JSONB, TEXT_TYPES, Columns
from vostack.votable.pgcopy import Column as PgColumn
from vostack.votable.writer import VOTableWriter

__all__ = ["VOPARQUET_CONTENT", "VOPARQUET_VERSION", "ParquetWriter", "votable_metadata"]

VOPARQUET_VERSION = "IVOA.VOTable-Parquet.version"
"""The key of the convention's version, ``"1.0"`` (VOParquet 1.0 §2.2)."""

VOPARQUET_CONTENT = "IVOA.VOTable-Parquet.content"
"""The key of the DATA-less VOTable document (VOParquet 1.0 §2.2)."""

_ARROW_SCALARS: dict[str, pa.DataType] = {
    "boolean": pa.bool_(),
    "unsignedByte": pa.uint8(),
    "short": pa.int16(),
    "int": pa.int32(),
    "long": pa.int64(),
    "float": pa.float32(),
    "double": pa.float64(),
    "char": pa.string(),
    "unicodeChar": pa.string(),
}
_TEXT = ("char", "unicodeChar")


def _arrow_type(field: Field, shape: Shape) -> pa.DataType:
    try:
        scalar = _ARROW_SCALARS[field.datatype]
    except KeyError:
        raise InternalError(f"column {field.name!r}: datatype {field.datatype!r} cannot be written") from None
    if shape.array and field.datatype not in _TEXT:
        return pa.list_(scalar)
    return scalar


def _coerce_scalar(datatype: str) -> Callable[[Any], object]:
    if datatype in _TEXT:
        return text_of
    if datatype in ("float", "double"):
        return float

    if datatype == "boolean":

        def to_bool(value: Any) -> bool:
            if isinstance(value, str):
                return value.strip().lower() in ("t", "true", "1", "y", "yes")
            return bool(value)

        return to_bool

    def to_int(value: Any) -> int | None:
        if isinstance(value, float | decimal.Decimal):
            if isinstance(value, float) and math.isnan(value):
                return None
            if value != int(value):
                raise ValueError(f"{value!r} is not an integer")
        return int(value)

    return to_int


def _coercer(field: Field, shape: Shape) -> Callable[[Any], object]:
    one = _coerce_scalar(field.datatype)
    if not shape.array or field.datatype in _TEXT:
        return one

    def many(value: Any) -> object:
        if isinstance(value, bytes | bytearray | memoryview):
            return list(bytes(value))
        return [None if item is None else one(item) for item in value]

    return many


#: For each Arrow type, the PostgreSQL types whose values pyarrow converts exactly (as from Python values).
_EXACT: dict[pa.DataType, frozenset[int]] = {
    pa.int16(): frozenset({INT2}),
    pa.int32(): frozenset({INT2, INT4}),
    pa.int64(): frozenset({INT2, INT4, INT8}),
    pa.float32(): frozenset({INT2, FLOAT4}),
    pa.float64(): frozenset({INT2, INT4, FLOAT4, FLOAT8}),
    pa.bool_(): frozenset({BOOL}),
}


def _bulk(arrow_type: pa.DataType, shape: Shape, field: Field, column: PgColumn) -> pa.Array | None:
    """The Arrow array of a column read from PostgreSQL in bulk, when it converts exactly; else ``None``."""
    nulls = column.nulls
    if column.oid in _EXACT.get(arrow_type, ()):
        values = column.values
        values = values != 0 if column.oid == BOOL else values.astype(values.dtype.newbyteorder("="))
        return pa.array(values, type=arrow_type, mask=nulls)
    if arrow_type == pa.string() and column.oid in TEXT_TYPES and column.oid != JSONB:
        assert column.starts is not None and column.lengths is not None
        lengths = np.maximum(column.lengths, 0)
        offsets = np.zeros(len(lengths) + 1, dtype=np.int64)
        np.cumsum(lengths, out=offsets[1:])
        if offsets[-1] >= 2**31:
            return None
        data = column.buf[np.repeat(column.starts - offsets[:-1], lengths) + np.arange(int(offsets[-1]))]
        valid = None if nulls is None else pa.py_buffer(np.packbits(~nulls, bitorder="little"))
        return pa.StringArray.from_buffers(
            len(lengths),
            pa.py_buffer(offsets.astype(np.int32)),
            pa.py_buffer(data),
            valid,
            null_count=0 if nulls is None else int(nulls.sum()),
        )
    return None


def votable_metadata(
    fields: Sequence[Field],
    infos: Sequence[tuple[str, str, str | None]] = (),
    *,
    overflow: bool = False,
    error: str | None = None,
) -> str:
    """The DATA-less VOTable result document of VOParquet 1.0 §2.2, status included (DALI 1.1 §5.4)."""
    writer = VOTableWriter(fields, serialization="tabledata", infos=infos, data=False)
    return (writer.header() + writer.footer(overflow=overflow, error=error)).decode("utf-8")


class _Sink:
    """A write-only file that hands its bytes out as they come (pyarrow writes through it)."""

    def __init__(self) -> None:
        self._parts: list[bytes] = []
        self._position = 0
        self.closed = False

    def write(self, data: bytes | memoryview) -> int:
        chunk = bytes(data)
        self._parts.append(chunk)
        self._position += len(chunk)
        return len(chunk)

    def tell(self) -> int:
        return self._position

    def flush(self) -> None:
        pass

    def close(self) -> None:
        self.closed = True

    def drain(self) -> bytes:
        data = b"".join(self._parts)
        self._parts.clear()
        return data


class ParquetWriter(StagedWriter):
    """Write a result as a VOParquet file, one row group per batch (VOParquet 1.0 §2).

    Parameters
    ----------
    fields : sequence of Field
        The result columns, in row order.
    infos : sequence of (name, value, content)
        ``INFO`` elements for the embedded VOTable's results ``RESOURCE``.
    compression : str
        The Parquet codec (``"snappy"``, ``"zstd"``, ``"none"``...).
    """

    def __init__(
        self,
        fields: Sequence[Field],
        *,
        infos: Sequence[tuple[str, str, str | None]] = (),
        compression: str = "snappy",
    ) -> None:
        super().__init__(fields)
        self._infos = tuple(infos)
        shapes = self.shapes
        self._types = tuple(_arrow_type(f, s) for f, s in zip(self.fields, shapes, strict=True))
        self._coercers = tuple(_coercer(f, s) for f, s in zip(self.fields, shapes, strict=True))
        names = unique_names(self.fields)  # pyarrow.parquet.read_table refuses repeated names
        self._schema = pa.schema([pa.field(n, t) for n, t in zip(names, self._types, strict=True)])
        self._compression = compression
        self._sink = _Sink()
        self._writer: pq.ParquetWriter | None = None

    def _header(self) -> bytes:
        """The leading ``PAR1`` magic."""
        try:
            self._writer = pq.ParquetWriter(
                pa.PythonFile(self._sink, mode="w"), self._schema, compression=self._compression
            )
        except (pa.ArrowException, ValueError, TypeError) as exc:
            raise InternalError(f"cannot start the Parquet file: {exc}") from exc
        return self._sink.drain()

    def _column(self, index: int, values: Sequence[object]) -> pa.Array:
        arrow_type = self._types[index]
        try:
            return pa.array(values, type=arrow_type)
        except (pa.ArrowException, TypeError, ValueError, OverflowError):
            pass
        coerce, field = self._coercers[index], self.fields[index]
        converted: list[object] = []
        for value in values:
            try:
                converted.append(None if value is None else coerce(value))
            except (TypeError, ValueError, OverflowError) as exc:
                raise cell_error(field, value, exc) from exc
        try:
            return pa.array(converted, type=arrow_type)
        except (pa.ArrowException, TypeError, ValueError, OverflowError) as exc:
            bad = next((v for v in values if v is not None), None)
            raise cell_error(field, bad, exc) from exc

    def _rows(self, rows: Rows) -> bytes:
        """One row group holding ``rows``; nothing for an empty batch."""
        if not rows:
            return b""
        check_width(rows, len(self.fields))
        columns = list(zip(*rows, strict=True))
        return self._row_group([self._column(i, values) for i, values in enumerate(columns)])

    def _columnar(self, batch: Columns) -> bytes:
        """A batch read from PostgreSQL in bulk: numbers, booleans and text go to Arrow without Python values."""
        if not len(batch):
            return b""
        arrays = []
        for i, column in enumerate(batch.columns):
            array = _bulk(self._types[i], self.shapes[i], self.fields[i], column)
            arrays.append(array if array is not None else self._column(i, column.pylist()))
        return self._row_group(arrays)

    def _row_group(self, arrays: Sequence[pa.Array]) -> bytes:
        batch = pa.RecordBatch.from_arrays(list(arrays), schema=self._schema)
        assert self._writer is not None
        try:
            self._writer.write_batch(batch)
        except (pa.ArrowException, ValueError, TypeError) as exc:
            raise InternalError(f"cannot write a Parquet row group: {exc}") from exc
        return self._sink.drain()

    def _footer(self, overflow: bool, error: str | None) -> Iterator[bytes]:
        """The Parquet footer, with the VOParquet metadata and the query status."""
        content = votable_metadata(self.fields, self._infos, overflow=overflow, error=error)
        assert self._writer is not None
        try:
            self._writer.add_key_value_metadata({VOPARQUET_VERSION: "1.0", VOPARQUET_CONTENT: content})
            self._writer.close()
        except (pa.ArrowException, ValueError, TypeError) as exc:
            raise InternalError(f"cannot finish the Parquet file: {exc}") from exc
        return iter([self._sink.drain()])
