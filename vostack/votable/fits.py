"""FITS binary table results (FITS 4.0 §7.3), spooled so that memory stays bounded.

A ``BINTABLE`` header must state the row count (``NAXIS2``) and every
column's width before the first row, which a stream does not know.  The
writer therefore emits the primary HDU at once (``header()``), spools each
batch to a temporary file as it comes (``rows()`` returns nothing; the
spool stays in memory up to 16 MiB, then moves to disk), and writes the
table HDU from the spool at the end (``iter_footer()``, one batch at a
time).  The client receives the table only when the query has finished.

Columns (FITS 4.0 Table 18): ``boolean`` → ``L``, ``unsignedByte`` → ``B``,
``short`` → ``I``, ``int`` → ``J``, ``long`` → ``K``, ``float`` → ``E``,
``double`` → ``D``, ``char``/``unicodeChar`` → ``rA`` with ``r`` the longest
value in bytes.  Arrays get a repeat count: fixed ``arraysize`` values their
size, variable ones the longest array sent, shorter ones padded with NaN or
the null value.  Nulls: NaN for floats, ``TNULLn`` (the smallest value of the
type, 255 for ``B``; a real value equal to it reads back as null, as in
VOTable BINARY) for integers, 0 for logicals (FITS 4.0 §7.3.3), an empty
string for text (FITS has no null string).  ``char`` text is ASCII with
``?`` for other characters, as FITS requires; ``unicodeChar`` text is UTF-8,
which astropy and TOPCAT read but is outside the FITS standard.

Metadata: ``TTYPEn`` name, ``TUNITn`` unit, and the ``TUCDn``, ``TUTYPn``
and ``TCOMMn`` (description) keywords that STIL/TOPCAT write and read.  Names
repeated in a result (ignoring case) get a suffix (``x``, ``x_2``), as FITS
requires distinct ``TTYPEn``.
Status: since the table header is written last, it carries the status:
``QSTATUS`` = ``'OK'``, ``'OVERFLOW'`` or ``'ERROR'`` (DALI 1.1 §5.4 values),
and with an error ``QERROR`` with the message.  ``INFO`` items go to the
primary header as ``COMMENT`` cards.
"""

from __future__ import annotations

import tempfile
import warnings
from collections.abc import Iterator, Sequence
from typing import Any

import numpy as np
from astropy.io import fits
from astropy.io.fits.verify import VerifyWarning
from astropy.utils.exceptions import AstropyWarning

from vostack.errors import InternalError
from vostack.schema import Field
from vostack.votable.base import Rows, Shape, StagedWriter, cell_error, check_width, text_of, unique_names
from vostack.votable.pgcopy import BOOL, FLOAT4, FLOAT8, INT2, INT4, INT8, Columns
from vostack.votable.pgcopy import Column as PgColumn

__all__ = ["FITSWriter"]

_BLOCK = 2880
_SPOOL_MEMORY = 16 * 2**20
# datatype -> (TFORM code, numpy big-endian dtype, null of a scalar or array element)
_NUMERIC: dict[str, tuple[str, str, object]] = {
    "unsignedByte": ("B", "u1", 255),
    "short": ("I", ">i2", -(2**15)),
    "int": ("J", ">i4", -(2**31)),
    "long": ("K", ">i8", -(2**63)),
    "float": ("E", ">f4", np.nan),
    "double": ("D", ">f8", np.nan),
}


#: For each FITS type, the PostgreSQL types whose values it holds exactly, as numpy converts Python values.
_EXACT: dict[str, frozenset[int]] = {
    "I": frozenset({INT2}),
    "J": frozenset({INT2, INT4}),
    "K": frozenset({INT2, INT4, INT8}),
    "E": frozenset({INT2, INT4, FLOAT4}),
    "D": frozenset({INT2, INT4, INT8, FLOAT4, FLOAT8}),
}


def _values(column: _Column, values: Sequence[object]) -> np.ndarray[Any, Any]:
    """The cells of ``values`` (:meth:`_Column.batch`), a value the column cannot hold named in the error."""
    try:
        return column.batch(values)
    except (TypeError, ValueError, OverflowError) as exc:
        bad = next((v for v in values if v is not None), None)
        raise cell_error(column.field, bad, exc) from exc


def _ascii(text: str) -> str:
    """``text`` as printable ASCII, what a FITS header may hold (FITS 4.0 §4.1.2.3)."""
    return "".join(c if " " <= c <= "~" else "?" for c in text)


class _Column:
    """How one column is turned into FITS cells: batch arrays now, the final width later."""

    def __init__(self, index: int, field: Field, shape: Shape) -> None:
        self.name = f"c{index}"  # numpy field names must be unique; result names need not be
        self.field = field
        self.shape = shape
        self.text = field.datatype in ("char", "unicodeChar")
        self.encoding = "utf-8" if field.datatype == "unicodeChar" else "ascii"
        self.boolean = field.datatype == "boolean"
        if not (self.text or self.boolean or field.datatype in _NUMERIC):
            raise InternalError(f"column {field.name!r}: datatype {field.datatype!r} cannot be written as FITS")
        code, dtype, null = ("L", "S1", b"\0") if self.boolean else _NUMERIC.get(field.datatype, ("A", "S", b""))
        self.code, self.dtype, self.null = code, dtype, null
        self.array = shape.array and not self.text
        self.width = 1
        if self.array and shape.count is not None and not shape.variable:
            self.width = shape.count

    def _bool(self, value: Any) -> bytes:
        if value is None:
            return b"\0"
        if isinstance(value, str):
            value = value.strip().lower() in ("t", "true", "1", "y", "yes")
        return b"T" if value else b"F"

    def _number(self, value: Any) -> object:
        if value is None:
            return self.null
        if self.code in "ED":
            return float(value)
        if isinstance(value, float):
            if value != value:
                return self.null
            if not value.is_integer():
                raise ValueError(f"{value!r} is not an integer")
        return int(value)

    def _encode_text(self, value: Any) -> bytes:
        text = text_of(value)
        return text.encode(self.encoding, "replace")

    def batch(self, values: Sequence[object]) -> np.ndarray[Any, Any]:
        """The cells of one batch, with this batch's own width."""
        if self.text:
            data = [b"" if v is None else self._encode_text(v) for v in values]
            width = max((len(d) for d in data), default=0)
            self.width = max(self.width, width)
            return np.array(data, dtype=f"S{max(width, 1)}")
        if not self.array:
            if self.boolean:
                return np.array([self._bool(v) for v in values], dtype="S1")
            try:
                with np.errstate(over="ignore"):  # a double beyond float32 becomes an infinity, as numpy casts it
                    return np.array(values, dtype=self.dtype)  # NaN for None in float columns
            except (TypeError, ValueError, OverflowError):
                return np.array([self._number(v) for v in values], dtype=self.dtype)
        rows: list[list[Any]] = [
            [] if v is None else list(bytes(v)) if isinstance(v, bytes | bytearray) else list(v)  # type: ignore[call-overload]
            for v in values
        ]
        width = max((len(r) for r in rows), default=0)
        if self.shape.count is not None:
            width = min(width, self.shape.count)
        self.width = max(self.width, width, 1)
        cells = np.full((len(rows), max(width, 1)), self.null, dtype=self.dtype)
        convert = self._bool if self.boolean else self._number
        for i, items in enumerate(rows):
            if items:
                cells[i, : min(len(items), width)] = [convert(x) for x in items[:width]]
        return cells

    def bulk(self, column: PgColumn) -> np.ndarray[Any, Any] | None:
        """The cells of a column read from PostgreSQL in bulk, when its type converts exactly; else ``None``.

        The same cells :meth:`batch` makes of the Python values: numbers of a
        type the column's FITS type holds exactly, with ``TNULL`` or NaN for
        nulls, and booleans as ``T``/``F``/NUL (FITS 4.0 §7.3.3).
        """
        if self.array or self.text:
            return None
        nulls = column.nulls
        if self.boolean:
            if column.oid != BOOL:
                return None
            cells = np.where(column.values != 0, b"T", b"F").astype("S1")
        elif column.oid in _EXACT.get(self.code, ()):
            cells = column.values.astype(self.dtype)
        else:
            return None
        if nulls is not None:
            cells[nulls] = self.null
        return cells

    def final_dtype(self) -> tuple[str, str] | tuple[str, str, tuple[int]]:
        name = self.name
        if self.text:
            return (name, f"S{self.width}")
        if self.array:
            return (name, self.dtype, (self.width,))
        return (name, self.dtype)

    def tform(self) -> str:
        if self.text or self.array:
            return f"{self.width}{self.code}"
        return self.code


class FITSWriter(StagedWriter):
    """Write a result as a FITS file with one binary table extension (FITS 4.0 §7.3).

    See the module docstring for the spooling and the column mapping.

    Parameters
    ----------
    fields : sequence of Field
        The result columns, in row order.
    infos : sequence of (name, value, content)
        Written as ``COMMENT`` cards of the primary header.
    """

    def __init__(self, fields: Sequence[Field], *, infos: Sequence[tuple[str, str, str | None]] = ()) -> None:
        super().__init__(fields)
        self._infos = tuple(infos)
        self._columns = tuple(_Column(i, f, s) for i, (f, s) in enumerate(zip(self.fields, self.shapes, strict=True)))
        self._spool: tempfile.SpooledTemporaryFile[bytes] | None = None
        self._batches = 0
        self._nrows = 0

    def _header(self) -> bytes:
        """The primary HDU: no data, ``EXTEND = T`` and the ``INFO`` items as comments."""
        primary = fits.Header([("SIMPLE", True), ("BITPIX", 8), ("NAXIS", 0), ("EXTEND", True)])
        for name, value, content in self._infos:
            text = f"{name} = {value}" + (f" ({content})" if content else "")
            primary.add_comment(_ascii(text))
        self._spool = tempfile.SpooledTemporaryFile(max_size=_SPOOL_MEMORY)  # noqa: SIM115 - closed in footer
        return self._header_bytes(primary)

    @staticmethod
    def _header_bytes(header: fits.Header) -> bytes:
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("error", AstropyWarning)
                text: str = header.tostring()
                return text.encode("ascii")
        except (ValueError, VerifyWarning, AstropyWarning) as exc:
            raise InternalError(f"cannot write the FITS header: {exc}") from exc

    def _rows(self, rows: Rows) -> bytes:
        """Spool ``rows``; nothing is sent until the footer (``NAXIS2`` must come first)."""
        if not rows:
            return b""
        check_width(rows, len(self.fields))
        return self._spooled([_values(c, v) for c, v in zip(self._columns, zip(*rows, strict=True), strict=True)])

    def _columnar(self, batch: Columns) -> bytes:
        """A batch read from PostgreSQL in bulk: numbers and booleans go to the spool without Python values."""
        if not len(batch):
            return b""
        encoded = []
        for column, values in zip(self._columns, batch.columns, strict=True):
            cells = column.bulk(values)
            encoded.append(_values(column, values.pylist()) if cells is None else cells)
        return self._spooled(encoded)

    def _spooled(self, encoded: Sequence[np.ndarray[Any, Any]]) -> bytes:
        assert self._spool is not None
        for cells in encoded:  # all columns or none, so that a failed batch leaves the spool readable
            np.lib.format.write_array(self._spool, cells, allow_pickle=False)
        self._batches += 1
        self._nrows += len(encoded[0])
        return b""

    def close(self) -> None:
        """Drop the spool (also done at the end of :meth:`iter_footer` and on garbage collection)."""
        spool = getattr(self, "_spool", None)  # absent when __init__ failed
        if spool is not None:
            spool.close()

    def __del__(self) -> None:
        self.close()

    def _table_header(self, overflow: bool, error: str | None) -> fits.Header:
        coldefs = []
        # TTYPE values must differ, ignoring case (FITS 4.0 §7.2.2)
        names = unique_names([Field(_ascii(f.name), f.datatype) for f in self.fields])
        for column, name in zip(self._columns, names, strict=True):
            field = column.field
            null = column.null if column.code in "BIJK" else None
            coldefs.append(
                fits.Column(
                    name=name,
                    format=column.tform(),
                    unit=_ascii(field.unit) if field.unit else None,
                    null=null,
                )
            )
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("error", AstropyWarning)
                header = fits.BinTableHDU.from_columns(fits.ColDefs(coldefs), nrows=0).header
        except (ValueError, TypeError, KeyError, AstropyWarning) as exc:
            raise InternalError(f"cannot write the FITS table header: {exc}") from exc
        header["NAXIS2"] = self._nrows
        for i, field in enumerate(self.fields, start=1):
            for key, text in (("TUCD", field.ucd), ("TUTYP", field.utype), ("TCOMM", field.description)):
                if text:
                    header[f"{key}{i}"] = _ascii(text)
        status = "ERROR" if error is not None else "OVERFLOW" if overflow else "OK"
        header["QSTATUS"] = (status, "query status (DALI QUERY_STATUS)")
        if error is not None:
            header["QERROR"] = _ascii(error)
        return header

    def _footer(self, overflow: bool, error: str | None) -> Iterator[bytes]:
        """The binary table HDU: its header, then the spooled rows batch by batch, padded to 2880 bytes."""
        header = self._table_header(overflow, error)
        head = self._header_bytes(header)
        return self._iter_table(head)

    def _iter_table(self, head: bytes) -> Iterator[bytes]:
        spool = self._spool
        assert spool is not None
        try:
            yield head
            dtype = np.dtype([c.final_dtype() for c in self._columns])
            size = 0
            spool.seek(0)
            for _ in range(self._batches):
                parts = [np.lib.format.read_array(spool, allow_pickle=False) for _ in self._columns]
                table = np.zeros(len(parts[0]), dtype=dtype)
                for column, name, cells in zip(self._columns, dtype.names or (), parts, strict=True):
                    if column.array and cells.shape[1] < column.width:
                        table[name][:] = column.null
                        table[name][:, : cells.shape[1]] = cells
                    else:
                        table[name] = cells
                data = table.tobytes()
                size += len(data)
                yield data
            yield b"\0" * (-size % _BLOCK)
        finally:
            spool.close()
