"""Streaming VOTable 1.4 serialisation: TABLEDATA, BINARY and BINARY2.

:class:`VOTableWriter` turns batches of rows (sequences of the Python values
asyncpg decodes) into bytes, a batch at a time, so that a TAP response is
written while the server-side cursor is read and memory does not grow with
the result::

    w = VOTableWriter(fields, serialization="binary2", infos=[("QUERY", adql, None)])
    yield w.header()
    async for batch in cursor:
        yield w.rows(batch)
    yield w.footer(overflow=truncated)

All per-column work is decided once, in the constructor: each column gets a
*fast* encoder for the values a database hands out, tried first, and a
*slow* one that coerces anything else (``Decimal`` for an ``int``, a NaN for
an integer, a ``datetime`` for a ``char``) or reports the value.  In BINARY2
and BINARY, runs of adjacent fixed-size numeric columns are packed by one
:class:`struct.Struct` call per row; a table of only such columns is packed
with the BINARY2 null-flag bytes folded into the same format.

Serialisation rules (VOTable 1.4 §5 and §6; DALI 1.1 §3):

* Nulls: an empty ``TD`` (TABLEDATA); the null flag, with NaN or zero bytes
  and empty variable-length arrays (BINARY2, §5.4); NaN for floating point,
  ``?`` for booleans, empty arrays and strings, and for integers the magic
  value declared in ``<VALUES null="..."/>`` (BINARY, §5.3, §5.5): the
  smallest value of the type, 255 for ``unsignedByte``.  A real value equal
  to the magic value reads back as null in BINARY.
* Arrays of ``short``/``int``/``long`` always declare that magic value, in all
  serialisations, since it is the only way to mark null array elements (§5.5).
* ``char`` is 7-bit ASCII (§6): every non-ASCII character becomes ``?``.
  Declare a column ``unicodeChar`` to keep such text; it is UTF-16BE in the
  binary serialisations (UCS-2 for the basic multilingual plane).
* Characters XML 1.0 forbids (control characters but tab and line breaks)
  cannot appear in TABLEDATA: they become ``?`` in ``char`` and U+FFFD in
  ``unicodeChar`` cells.  The binary serialisations keep them.
* Strings longer than a fixed or bounded ``arraysize`` are truncated; fixed
  arrays are padded with nulls (NaN, the magic value, ``?``, NUL characters).
* Floating point values are written with :func:`repr` (exact round trip);
  NaN and infinities as ``NaN``, ``+Inf``, ``-Inf``.  ``Decimal`` values are
  converted to ``float``.
* ``datetime`` values become DALI timestamps ``YYYY-MM-DDThh:mm:ss[.ffffff]``
  in UTC without a zone designator (aware values are converted to UTC);
  ``date`` values ``YYYY-MM-DD``; lists and dicts in a ``char`` column JSON.
* Multidimensional ``arraysize`` values (``"2x3"``) take flat sequences,
  first dimension fastest.  Variable ones (``"2x*"``) are refused in BINARY
  and BINARY2: VOTable 1.4 §5.3 prefixes "the number of items", which
  astropy reads as slices and STIL as elements.
"""

from __future__ import annotations

import binascii
import decimal
import functools
import math
import operator
import re
import struct
import sys
from array import array
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from itertools import starmap
from typing import Any, SupportsIndex, cast

from vostack.errors import InternalError
from vostack.schema import Field
from vostack.votable.base import (
    Rows,
    Shape,
    StagedWriter,
    cell_error,
    check_width,
    float32_text,
    float_word,
    shape_of,
    text_of,
)
from vostack.votable.bulk import BinaryColumns
from vostack.votable.pgcopy import Columns
from vostack.votable.pgtext import TextColumns
from vostack.votable.status import (
    QUERY_STATUS,
    REPLACEMENT,
    QueryStatus,
    document_start,
    info_element,
    xml_attr,
    xml_text,
)
from vostack.votable.textrows import TABLEDATA, TextRows

__all__ = ["MEDIA_TYPE", "SERIALIZATIONS", "Param", "ServiceDescriptor", "VOTableWriter"]

SERIALIZATIONS = ("tabledata", "binary", "binary2")
"""The VOTable serialisations the writer produces (VOTable 1.4 §5)."""

MEDIA_TYPE = "application/x-votable+xml"
"""The media type of a VOTable document (VOTable 1.4 §8)."""


@dataclass(frozen=True, slots=True)
class Param:
    """A ``PARAM`` element: a constant with ``FIELD`` metadata (VOTable 1.4 §4).

    ``value`` is written as a TABLEDATA cell of ``field`` would be; ``None``
    gives ``value=""``.
    """

    field: Field
    value: object


@dataclass(frozen=True, slots=True)
class InputParam:
    """A ``PARAM`` of a service descriptor's ``inputParams`` ``GROUP`` (DataLink 1.1 §4.1).

    With ``column``, the value of each row comes from that result column (the
    ``PARAM`` refers to its ``FIELD``); otherwise ``value`` is the default.
    """

    name: str
    column: str | None = None
    ucd: str | None = None
    datatype: str = "char"
    arraysize: str | None = "*"
    value: str = ""


@dataclass(frozen=True, slots=True)
class ServiceDescriptor:
    """A service descriptor ``RESOURCE`` after the results (DataLink 1.1 §4): how to call a service for a row.

    Written as ``RESOURCE type="meta" utype="adhoc:service"`` with the
    ``standardID`` and ``accessURL`` ``PARAM`` elements and a ``GROUP
    name="inputParams"`` of :class:`InputParam`.
    """

    access_url: str
    standard_id: str | None = None
    name: str | None = None
    description: str | None = None
    input_params: tuple[InputParam, ...] = ()

    def xml(self, field_ids: Mapping[str, str]) -> str:
        """The ``RESOURCE`` element; ``field_ids`` maps result column names to their ``FIELD`` IDs."""
        name = f' name="{xml_attr(self.name)}"' if self.name else ""
        parts = [f'<RESOURCE type="meta" utype="adhoc:service"{name}>\n']
        if self.description:
            parts.append(f"<DESCRIPTION>{xml_text(self.description)}</DESCRIPTION>\n")
        for name, value in (("standardID", self.standard_id), ("accessURL", self.access_url)):
            if value is not None:
                parts.append(f'<PARAM name="{name}" datatype="char" arraysize="*" value="{xml_attr(value)}"/>\n')
        if self.input_params:
            parts.append('<GROUP name="inputParams">\n')
            for param in self.input_params:
                attrs = [("name", param.name), ("datatype", param.datatype), ("arraysize", param.arraysize),
                         ("value", param.value)]  # fmt: skip
                if param.column is not None:
                    if param.column not in field_ids:
                        raise InternalError(f"service descriptor parameter {param.name!r}: no column {param.column!r}")
                    attrs.append(("ref", field_ids[param.column]))
                attrs.append(("ucd", param.ucd))
                text = "".join(f' {key}="{xml_attr(value)}"' for key, value in attrs if value is not None)
                parts.append(f"<PARAM{text}/>\n")
            parts.append("</GROUP>\n")
        parts.append("</RESOURCE>\n")
        return "".join(parts)


# ---------------------------------------------------------------------------
# Datatype tables (VOTable 1.4 §2.1, §6)

_STRUCT_CODES = {"unsignedByte": "B", "short": "h", "int": "i", "long": "q", "float": "f", "double": "d"}
_INTEGER_RANGES = {
    "unsignedByte": (0, 255),
    "short": (-(2**15), 2**15 - 1),
    "int": (-(2**31), 2**31 - 1),
    "long": (-(2**63), 2**63 - 1),
}
_MAGIC_NULLS = {"unsignedByte": 255, "short": -(2**15), "int": -(2**31), "long": -(2**63)}
_FLOATS = frozenset({"float", "double"})
_UNSUPPORTED = frozenset({"bit", "floatComplex", "doubleComplex"})


def _array_code(itemsize: int, signed: bool) -> str:
    for code in "bhilq" if signed else "BHILQ":
        if array(code).itemsize == itemsize:
            return code
    raise ImportError(f"no array type code of {itemsize} bytes")  # pragma: no cover


_ARRAY_CODES = {
    "unsignedByte": "B",
    "short": _array_code(2, True),
    "int": _array_code(4, True),
    "long": _array_code(8, True),
    "float": "f",
    "double": "d",
}
_SWAP = sys.byteorder == "little"
_U32 = struct.Struct(">I").pack
_NAN = math.nan
_BOOL_NULL = object()  # stands for a null boolean in the null-substitution path
_BOOL_BYTES: dict[object, bytes] = {True: b"T", False: b"F", _BOOL_NULL: b"?"}
_BOOL_WORDS = {True: "T", False: "F"}
_TRUE_WORDS = frozenset({"t", "true", "1", "y", "yes"})
_FALSE_WORDS = frozenset({"f", "false", "0", "n", "no"})

# A char cell needs work (escaping, replacement) unless it is printable ASCII
# without &, < and >, or tab/newline.
_CHAR_SPECIAL = re.compile(r"[^\t\n\x20-\x25\x27-\x3b\x3d\x3f-\x7f]")
_ASCII_FORBIDDEN = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f]")
_UNICODE_SPECIAL = re.compile("[&<>\r\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")
_UNICODE_FORBIDDEN = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")
_TEXT_ESCAPES = str.maketrans({"&": "&amp;", "<": "&lt;", ">": "&gt;", "\r": "&#13;"})
_ID_UNSAFE = re.compile(r"[^A-Za-z0-9_.\-]")


class _CellError(ValueError):
    """A value that the column's datatype cannot hold."""


# ---------------------------------------------------------------------------
# Value coercion (the slow path)


def _as_int(value: object) -> int | None:
    """An integer, or ``None`` for NaN (a null); raises for anything else."""
    if isinstance(value, int):
        return int(value)
    if isinstance(value, float):
        if math.isnan(value):
            return None
        if value.is_integer():
            return int(value)
        raise _CellError(f"{value!r} is not an integer")
    if isinstance(value, decimal.Decimal):
        if value.is_nan():
            return None
        if value == value.to_integral_value():
            return int(value)
        raise _CellError(f"{value!r} is not an integer")
    if isinstance(value, list | tuple) and len(value) == 1:
        return _as_int(value[0])
    try:
        return operator.index(cast(SupportsIndex, value))
    except TypeError:
        raise _CellError(f"{value!r} is not an integer") from None


def _as_float(value: object) -> float:
    if isinstance(value, list | tuple) and len(value) == 1:
        value = value[0]
    try:
        return float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError, OverflowError):
        raise _CellError(f"{value!r} is not a number") from None


def _as_bool(value: object) -> bool:
    if isinstance(value, str):
        word = value.strip().lower()
        if word in _TRUE_WORDS:
            return True
        if word in _FALSE_WORDS:
            return False
        raise _CellError(f"{value!r} is not a boolean")
    if isinstance(value, list | tuple) and len(value) == 1:
        return _as_bool(value[0])
    try:
        return bool(operator.index(cast(SupportsIndex, value)))
    except TypeError:
        raise _CellError(f"{value!r} is not a boolean") from None


def _in_range(value: int, datatype: str) -> int:
    low, high = _INTEGER_RANGES[datatype]
    if not low <= value <= high:
        raise _CellError(f"{value} is out of range for {datatype}")
    return value


def _ascii(text: str) -> str:
    """``text`` as XML-safe 7-bit ASCII, unescaped: other characters become ``?``."""
    return _ASCII_FORBIDDEN.sub("?", text.encode("ascii", "replace").decode("ascii"))


def _fit_utf16(encoded: bytes, units: int) -> bytes:
    """Cut UTF-16BE bytes to at most ``units`` code units, never inside a pair."""
    if len(encoded) <= 2 * units:
        return encoded
    encoded = encoded[: 2 * units]
    if 0xD8 <= encoded[-2] <= 0xDB:  # a high surrogate whose partner was cut
        encoded = encoded[:-2]
    return encoded


# ---------------------------------------------------------------------------
# Column shapes


# ---------------------------------------------------------------------------
# Per-column encoders


@dataclass(frozen=True, slots=True)
class _BinaryCodec:
    """How one column is written in BINARY/BINARY2.

    ``fast`` takes the values a database hands out and may raise on anything
    else (including ``None``); ``slow`` coerces, returns ``None`` for values
    that mean null (a NaN integer) and raises :class:`_CellError` otherwise.
    ``null_value`` is what ``fast`` turns into ``null``, the bytes of a null
    cell, so that a row with nulls can still be packed in one go.
    """

    fast: Callable[[Any], bytes]
    slow: Callable[[Any], bytes | None]
    null_value: object
    null: bytes
    struct_code: str | None = None  # set for fixed-size scalar numbers


def _codec(
    fast: Callable[[Any], bytes],
    slow: Callable[[Any], bytes | None],
    null_value: object,
    struct_code: str | None = None,
) -> _BinaryCodec:
    return _BinaryCodec(fast, slow, null_value, fast(null_value), struct_code)


@dataclass(frozen=True, slots=True)
class _TextCodec:
    """How one column is written as a TABLEDATA cell (same contract as above)."""

    fast: Callable[[Any], str]
    slow: Callable[[Any], str | None]


def _element_null(datatype: str) -> object:
    if datatype in _FLOATS:
        return _NAN
    if datatype == "unsignedByte":
        return 0
    return _MAGIC_NULLS[datatype]


def _numeric_binary(datatype: str, shape: Shape, legacy: bool) -> _BinaryCodec:
    code = _STRUCT_CODES[datatype]
    is_float = datatype in _FLOATS
    if not shape.array or (shape.count == 1 and not shape.variable):
        single = struct.Struct(">" + code)
        pack = single.pack
        if is_float:

            def slow_float(value: object) -> bytes:
                return pack(_as_float(value))

            return _codec(pack, slow_float, _NAN, code)

        def slow_int(value: object) -> bytes | None:
            number = _as_int(value)
            return None if number is None else pack(_in_range(number, datatype))

        # Zero bytes under the null flag (BINARY2, VOTable 1.4 §5.4), else the magic value.
        return _codec(pack, slow_int, _MAGIC_NULLS[datatype] if legacy else 0, code)

    fill = _element_null(datatype)
    convert: Callable[[object], object] = _as_float if is_float else _as_int

    def elements(value: Any) -> list[Any]:
        if isinstance(value, bytes | bytearray | memoryview):
            return list(bytes(value))
        items: list[Any] = []
        for item in value:
            number = None if item is None else convert(item)
            if number is None:
                number = fill
            elif not is_float:
                _in_range(cast(int, number), datatype)
            items.append(number)
        return items

    if not shape.variable:
        count = shape.count
        assert count is not None
        packer = struct.Struct(f">{count}{code}").pack
        # A null cell: NaN or zero bytes under its null flag (BINARY2, VOTable 1.4 §5.4);
        # without flags (BINARY), elements that each read as null.
        null_value = [fill if legacy or is_float else 0] * count

        def fast_fixed(value: Any) -> bytes:
            return packer(*value)

        def slow_fixed(value: Any) -> bytes:
            items = elements(value)[:count]
            items.extend([fill] * (count - len(items)))
            return packer(*items)

        return _codec(fast_fixed, slow_fixed, null_value)

    bound = shape.count
    typecode = _ARRAY_CODES[datatype]

    def fast_variable(value: Any) -> bytes:
        if value.__class__ is bytes and typecode == "B":
            blob: bytes = value if bound is None else value[:bound]
            return _U32(len(blob)) + blob
        numbers = array(typecode, value)
        if bound is not None and len(numbers) > bound:
            del numbers[bound:]
        if _SWAP:
            numbers.byteswap()
        return _U32(len(numbers)) + numbers.tobytes()

    def slow_variable(value: Any) -> bytes:
        items = elements(value)
        if bound is not None:
            del items[bound:]
        numbers = array(typecode, items)
        if _SWAP:
            numbers.byteswap()
        return _U32(len(numbers)) + numbers.tobytes()

    return _codec(fast_variable, slow_variable, [])


def _numeric_text(datatype: str, shape: Shape) -> _TextCodec:
    is_float = datatype in _FLOATS
    if is_float:
        word = float32_text if datatype == "float" else float_word
        fast_one: Callable[[Any], str] = word

        def slow_one(value: object) -> str | None:
            return word(_as_float(value))

    else:
        low, high = _INTEGER_RANGES[datatype]

        def fast_int(value: Any) -> str:
            if low <= value <= high:
                return int.__repr__(value)
            raise _CellError(f"{value} is out of range for {datatype}")

        def slow_int(value: object) -> str | None:
            number = _as_int(value)
            return None if number is None else int.__repr__(_in_range(number, datatype))

        fast_one, slow_one = fast_int, slow_int

    if not shape.array or (shape.count == 1 and not shape.variable):
        return _TextCodec(fast_one, slow_one)

    fill = float_word(_NAN) if is_float else str(_element_null(datatype))
    count, variable = shape.count, shape.variable

    def fast_array(value: Any) -> str:
        if count is not None and (len(value) > count if variable else len(value) != count):
            raise _CellError("wrong length")
        return " ".join(map(fast_one, value))

    def slow_array(value: Any) -> str:
        if isinstance(value, bytes | bytearray | memoryview):
            value = list(bytes(value))
        words: list[str] = []
        for item in value:
            word = None if item is None else slow_one(item)
            words.append(fill if word is None else word)
        if count is not None:
            del words[count:]
            if not variable:
                words.extend([fill] * (count - len(words)))
        return " ".join(words)

    return _TextCodec(fast_array, slow_array)


def _boolean_binary(shape: Shape) -> _BinaryCodec:
    if not shape.array or (shape.count == 1 and not shape.variable):

        def slow_one(value: object) -> bytes:
            return b"T" if _as_bool(value) else b"F"

        return _codec(_BOOL_BYTES.__getitem__, slow_one, _BOOL_NULL)

    def flags(value: Any) -> bytes:
        return b"".join([b"?" if item is None else b"T" if _as_bool(item) else b"F" for item in value])

    if not shape.variable:
        count = shape.count
        assert count is not None

        def fixed(value: Any) -> bytes:
            return flags(value)[:count].ljust(count, b"?")

        return _codec(fixed, fixed, [None] * count)
    bound = shape.count

    def variable(value: Any) -> bytes:
        data = flags(value)
        if bound is not None:
            data = data[:bound]
        return _U32(len(data)) + data

    return _codec(variable, variable, [])


def _boolean_text(shape: Shape) -> _TextCodec:
    if not shape.array or (shape.count == 1 and not shape.variable):

        def slow_one(value: object) -> str:
            return "T" if _as_bool(value) else "F"

        return _TextCodec(_BOOL_WORDS.__getitem__, slow_one)
    count, variable = shape.count, shape.variable

    def words(value: Any) -> str:
        items = ["?" if item is None else "T" if _as_bool(item) else "F" for item in value]
        if count is not None:
            del items[count:]
            if not variable:
                items.extend(["?"] * (count - len(items)))
        return " ".join(items)

    return _TextCodec(words, words)


def _char_binary(shape: Shape, unicode: bool) -> _BinaryCodec:
    count = 1 if not shape.array else shape.count
    encoding, width = ("utf-16-be", 2) if unicode else ("ascii", 1)

    def fit(data: bytes) -> bytes:
        if count is None:
            return data
        return _fit_utf16(data, count) if unicode else data[:count]

    def encode_slow(value: Any) -> bytes:
        return fit(text_of(value).encode(encoding, "replace"))

    if shape.array and shape.variable:
        if count is None:

            def fast(value: Any) -> bytes:
                data = (value if value.__class__ is str else text_of(value)).encode(encoding)
                return _U32(len(data) // width) + data

        else:

            def fast(value: Any) -> bytes:
                data = fit((value if value.__class__ is str else text_of(value)).encode(encoding))
                return _U32(len(data) // width) + data

        def slow_variable(value: Any) -> bytes:
            data = encode_slow(value)
            return _U32(len(data) // width) + data

        return _codec(fast, slow_variable, "")

    assert count is not None
    pad = struct.Struct(f"{count * width}s").pack  # pads with NULs, truncates
    if unicode:

        def fast(value: Any) -> bytes:
            return pad(fit((value if value.__class__ is str else text_of(value)).encode(encoding)))

    else:

        def fast(value: Any) -> bytes:
            return pad((value if value.__class__ is str else text_of(value)).encode(encoding))

    def slow_fixed(value: Any) -> bytes:
        return pad(encode_slow(value))

    return _codec(fast, slow_fixed, "")


def _char_text(shape: Shape, unicode: bool) -> _TextCodec:
    limit = 1 if not shape.array else shape.count
    special = _UNICODE_SPECIAL if unicode else _CHAR_SPECIAL

    def slow(value: Any) -> str:
        text = text_of(value)
        text = _UNICODE_FORBIDDEN.sub(REPLACEMENT, text) if unicode else _ascii(text)
        if limit is not None:
            text = text[:limit]
        return text.translate(_TEXT_ESCAPES)

    if limit is None:

        def fast(value: Any) -> str:
            if value.__class__ is not str:
                value = text_of(value)
            if special.search(value) is None:
                return value  # type: ignore[no-any-return]
            return slow(value)

    else:

        def fast(value: Any) -> str:
            if value.__class__ is not str:
                value = text_of(value)
            if special.search(value) is None:
                return value[:limit]  # type: ignore[no-any-return]
            return slow(value)

    return _TextCodec(fast, slow)


def _check_datatype(field: Field) -> None:
    if field.datatype in _UNSUPPORTED:
        raise InternalError(f"column {field.name!r}: datatype {field.datatype!r} cannot be written")
    if field.datatype not in _STRUCT_CODES and field.datatype not in ("boolean", "char", "unicodeChar"):
        raise InternalError(f"column {field.name!r}: unknown VOTable datatype {field.datatype!r}")


def _binary_codec(field: Field, shape: Shape, legacy: bool) -> _BinaryCodec:
    if field.datatype in _STRUCT_CODES:
        return _numeric_binary(field.datatype, shape, legacy)
    if field.datatype == "boolean":
        return _boolean_binary(shape)
    return _char_binary(shape, unicode=field.datatype == "unicodeChar")


def _text_codec(field: Field, shape: Shape) -> _TextCodec:
    if field.datatype in _STRUCT_CODES:
        return _numeric_text(field.datatype, shape)
    if field.datatype == "boolean":
        return _boolean_text(shape)
    return _char_text(shape, unicode=field.datatype == "unicodeChar")


def _magic_null(field: Field, shape: Shape, serialization: str) -> int | None:
    """The ``VALUES null`` a column declares, if any (VOTable 1.4 §5.3, §5.5)."""
    magic = _MAGIC_NULLS.get(field.datatype)
    if magic is None:
        return None
    is_array = shape.array and not (shape.count == 1 and not shape.variable)
    if is_array:
        return None if field.datatype == "unsignedByte" else magic
    return magic if serialization == "binary" else None


# ---------------------------------------------------------------------------
# Row encoders


def _compile(name: str, source: str, namespace: dict[str, object]) -> object:
    """Define function ``name`` from generated ``source`` (as :mod:`dataclasses` does).

    The source holds only generated identifiers; every value, column metadata
    included, is passed in ``namespace``.  One flat function per table saves
    a layer of calls per cell on the hot path.
    """
    exec(compile(source, f"<vostack.votable.writer {name}>", "exec"), namespace)
    return namespace[name]


class _BinaryRows:
    """Packs rows for BINARY2 (with null flags) or BINARY (magic values).

    Three paths, tried in order for each row: *fast* packs the values as they
    are; *nulls* replaces each ``None`` by its column's ``null_value``, sets
    the flags and packs again; *slow* encodes value by value with coercion
    and reports what cannot be written.
    """

    def __init__(self, fields: Sequence[Field], codecs: Sequence[_BinaryCodec], *, flags: bool) -> None:
        self._fields = tuple(fields)
        self._codecs = tuple(codecs)
        self._width = len(codecs)
        self._flag_bytes = (self._width + 7) // 8 if flags else 0
        self._zero_flags = bytes(self._flag_bytes)
        self._null_values = tuple(c.null_value for c in codecs)
        codes = [c.struct_code for c in codecs]
        self._pack_all: Callable[..., bytes] | None = None
        self._pack_flagged: Callable[..., bytes] | None = None
        self._body: Callable[[Sequence[object], bytes], bytes] | None = None
        if all(codes):
            # One struct for the whole row; the flags are pad bytes (all zero) or, for
            # rows with nulls, leading unsigned bytes.
            formats = "".join(c or "" for c in codes)
            self._pack_all = struct.Struct(f">{self._flag_bytes}x{formats}").pack
            self._pack_flagged = struct.Struct(f">{self._flag_bytes}B{formats}").pack
        else:
            self._body = self._compile_body()

    def _compile_body(self) -> Callable[[Sequence[object], bytes], bytes]:
        """The packer of a row after its flags: runs of numbers share one struct."""
        codecs, width = self._codecs, self._width
        names = [f"c{i}" for i in range(width)]
        namespace: dict[str, object] = {}
        calls = ["flags"]
        start = 0
        while start < width:
            if codecs[start].struct_code is None:
                namespace[f"f{start}"] = codecs[start].fast
                calls.append(f"f{start}(c{start})")
                start += 1
                continue
            stop = start
            while stop < width and codecs[stop].struct_code:
                stop += 1
            formats = "".join(c.struct_code or "" for c in codecs[start:stop])
            namespace[f"p{start}"] = struct.Struct(">" + formats).pack
            calls.append(f"p{start}({', '.join(names[start:stop])})")
            start = stop
        source = f"def body(row, flags):\n    {', '.join(names)}, = row\n    return b''.join(({', '.join(calls)},))\n"
        return cast(Callable[[Sequence[object], bytes], bytes], _compile("body", source, namespace))

    def _with_nulls(self, row: Sequence[object]) -> bytes:
        """Pack a row whose only trouble is ``None`` values."""
        values = list(row)
        if len(values) != self._width:
            raise _CellError("wrong row length")
        flags = bytearray(self._flag_bytes)
        null_values = self._null_values
        for index, value in enumerate(values):
            if value is None:
                values[index] = null_values[index]
                if self._flag_bytes:
                    flags[index >> 3] |= 0x80 >> (index & 7)
        if self._pack_flagged is not None:
            return self._pack_flagged(*flags, *values)
        assert self._body is not None
        return self._body(values, bytes(flags))

    def _slow(self, row: object) -> bytes:
        check_width((row,), self._width)  # type: ignore[arg-type]
        values = cast(Sequence[object], row)
        flags = bytearray(self._flag_bytes)
        parts: list[bytes] = [b""]
        for index, codec in enumerate(self._codecs):
            value = values[index]
            data: bytes | None = None
            if value is not None:
                try:
                    data = codec.slow(value)
                except (ValueError, TypeError, OverflowError, struct.error) as exc:
                    raise cell_error(self._fields[index], value, exc) from exc
            if data is None:
                if self._flag_bytes:
                    flags[index >> 3] |= 0x80 >> (index & 7)
                data = codec.null
            parts.append(data)
        parts[0] = bytes(flags)
        return b"".join(parts)

    def _fallback(self, row: Sequence[object]) -> bytes:
        try:
            return self._with_nulls(row)
        except Exception:
            return self._slow(row)

    def encode(self, rows: Iterable[Sequence[object]], parts: list[bytes]) -> None:
        """Append the packed ``rows`` to ``parts``."""
        append, fallback = parts.append, self._fallback
        pack_all = self._pack_all
        if pack_all is not None:
            batch = rows if isinstance(rows, list | tuple) else list(rows)
            try:  # the whole batch in C; most batches of a numeric table have no null
                append(b"".join(starmap(pack_all, batch)))
                return
            except Exception:
                pass
            for row in batch:
                try:
                    append(pack_all(*row))
                except Exception:
                    append(fallback(row))
            return
        body, zero = self._body, self._zero_flags
        assert body is not None
        for row in rows:
            try:
                append(body(row, zero))
            except Exception:
                append(fallback(row))


class _TableDataRows:
    """Writes rows as TABLEDATA ``TR`` elements (VOTable 1.4 §5.1)."""

    def __init__(self, fields: Sequence[Field], codecs: Sequence[_TextCodec]) -> None:
        self._fields = tuple(fields)
        self._codecs = tuple(codecs)
        self._width = len(codecs)
        namespace: dict[str, object] = {f"f{i}": c.fast for i, c in enumerate(codecs)}
        cells = "</TD><TD>".join(f"{{'' if c{i} is None else f{i}(c{i})}}" for i in range(self._width))
        source = (
            "def tr(row):\n"
            f"    {', '.join(f'c{i}' for i in range(self._width))}, = row\n"
            f'    return f"<TR><TD>{cells}</TD></TR>\\n"\n'
        )
        self._fast = cast(Callable[[Sequence[object]], str], _compile("tr", source, namespace))

    def _slow_cell(self, index: int, value: object) -> str:
        if value is None:
            return ""
        try:
            return self._codecs[index].slow(value) or ""
        except (ValueError, TypeError, OverflowError) as exc:
            raise cell_error(self._fields[index], value, exc) from exc

    def cell(self, index: int, value: object) -> str:
        """The text of one cell (between ``<TD>`` and ``</TD>``), as :meth:`encode` writes it."""
        if value is None:
            return ""
        try:
            return self._codecs[index].fast(value)
        except Exception:
            return self._slow_cell(index, value)

    def _slow(self, row: object) -> str:
        check_width((row,), self._width)  # type: ignore[arg-type]
        values = cast(Sequence[object], row)
        cells = [self._slow_cell(index, values[index]) for index in range(self._width)]
        return "<TR><TD>" + "</TD><TD>".join(cells) + "</TD></TR>\n"

    def encode(self, rows: Iterable[Sequence[object]]) -> str:
        """The ``TR`` elements of ``rows``."""
        fast, out = self._fast, cast(list[str], [])
        append = out.append
        for row in rows:
            try:
                append(fast(row))
            except Exception:
                append(self._slow(row))
        return "".join(out)


# ---------------------------------------------------------------------------
# The writer


def _unique_id(name: str, used: set[str], names: frozenset[str]) -> str:
    """An XML ``ID`` (VOTable 1.4 §3.2) derived from ``name``, not in ``used``.

    The ``ID`` is the name itself when that is a valid, unused ``ID``; a
    derived ``ID`` also avoids the other ``names``, since astropy keys its
    columns by both (an ``ID`` equal to another column's name collides).
    """
    base = _ID_UNSAFE.sub("_", name) or "_"
    if not (base[0].isascii() and (base[0].isalpha() or base[0] == "_")):
        base = "_" + base
    if base == name and name not in used:
        used.add(name)
        return name
    taken = used | names
    candidate, suffix = base, 1
    while candidate in taken:
        suffix += 1
        candidate = f"{base}_{suffix}"
    used.add(candidate)
    return candidate


def _param_value(param: Param, shape: Shape) -> str:
    """The ``value`` attribute of a ``PARAM``, unescaped."""
    value, field = param.value, param.field
    if value is None:
        return ""
    try:
        if field.datatype in ("char", "unicodeChar"):
            text = text_of(value)
            text = _UNICODE_FORBIDDEN.sub(REPLACEMENT, text) if field.datatype == "unicodeChar" else _ascii(text)
            limit = shape.count if shape.array else 1
            return text if limit is None else text[:limit]
        return _text_codec(field, shape).slow(value) or ""
    except (ValueError, TypeError, OverflowError) as exc:
        raise cell_error(field, value, exc) from exc


@functools.lru_cache(maxsize=4096)  # a pure function of its (hashable) arguments; services repeat their columns
def _field_element(tag: str, field: Field, ident: str, magic: int | None, value: str | None = None) -> str:
    attrs = [
        ("name", field.name),
        ("ID", ident),
        ("datatype", field.datatype),
        ("arraysize", field.arraysize),
        ("xtype", field.xtype),
        ("unit", field.unit),
        ("ucd", field.ucd),
        ("utype", field.utype),
    ]
    if value is not None:
        attrs.append(("value", value))
    parts = [f"<{tag}"]
    for key, text in attrs:
        if text is not None and (text != "" or key in ("name", "value")):
            parts.append(f' {key}="{xml_attr(text)}"')
    children: list[str] = []
    if field.description:
        children.append(f"<DESCRIPTION>{xml_text(field.description)}</DESCRIPTION>")
    if magic is not None:
        children.append(f'<VALUES null="{magic}"/>')
    if not children:
        parts.append("/>\n")
    else:
        parts.append(">")
        parts.extend(children)
        parts.append(f"</{tag}>\n")
    return "".join(parts)


class VOTableWriter(StagedWriter):
    """Write one result table as a VOTable 1.4 document, in pieces.

    Call :meth:`header` once, :meth:`rows` once per batch and :meth:`footer`
    (or :meth:`iter_footer`) once; the concatenated bytes are the document.
    Each call returns only what its input produces, so memory stays bounded by
    the batch size.

    Implements VOTable 1.4 §5 (TABLEDATA, BINARY, BINARY2 with base64
    ``STREAM`` encoding) and the result document of DALI 1.1 §5.4 / TAP 1.1
    §2.9 (``RESOURCE type="results"`` with ``QUERY_STATUS``, trailing
    ``OVERFLOW``/``ERROR`` status after the table).

    Parameters
    ----------
    fields : sequence of Field
        The result columns, in row order.
    serialization : {"binary2", "binary", "tabledata"}
        The ``DATA`` serialisation (VOTable 1.4 §5).
    infos : sequence of (name, value, content)
        ``INFO`` elements of the results ``RESOURCE``, before the table.
        ``QUERY_STATUS=OK`` is written first unless a ``QUERY_STATUS`` is given.
    params : sequence of Param
        ``PARAM`` elements of the ``RESOURCE``, after the ``INFO`` elements.
    table_name : str, optional
        The ``TABLE`` ``name`` attribute.
    description : str, optional
        The ``TABLE`` ``DESCRIPTION``.
    resources : sequence of ServiceDescriptor
        ``RESOURCE`` elements after the results resource, such as the DataLink
        service descriptors of DataLink 1.1 §4 whose parameters refer to the
        table's columns.
    data : bool
        ``False`` for a ``TABLE`` without ``DATA``, its metadata only (VOTable
        1.4 §3.3; what VOParquet embeds); :meth:`rows` then takes no rows.

    Raises
    ------
    InternalError
        For an unknown serialisation, a datatype that cannot be written
        (``bit``, complex types) or an invalid ``arraysize``; later, from
        :meth:`rows`, for a value its column cannot hold, and for calls out
        of order.
    """

    def __init__(
        self,
        fields: Sequence[Field],
        *,
        serialization: str = "binary2",
        infos: Sequence[tuple[str, str, str | None]] = (),
        params: Sequence[Param] = (),
        table_name: str | None = None,
        description: str | None = None,
        resources: Sequence[ServiceDescriptor] = (),
        data: bool = True,
    ) -> None:
        if serialization not in SERIALIZATIONS:
            raise InternalError(f"unknown VOTable serialization {serialization!r}")
        super().__init__(fields)
        self.serialization = serialization
        self._infos = tuple(infos)
        self._params = tuple(params)
        self._table_name = table_name
        self._description = description
        self._resources = tuple(resources)
        self._data = data
        self._field_ids: dict[str, str] = {}
        for field, shape in zip(self.fields, self.shapes, strict=True):
            _check_datatype(field)
            if shape.variable and shape.dimensions > 1 and serialization != "tabledata":
                # VOTable 1.4 §5.3 counts "items"; astropy reads slices, STIL elements.
                raise InternalError(
                    f"column {field.name!r}: arraysize {field.arraysize!r} (multidimensional and"
                    " variable) can only be written as TABLEDATA"
                )
        self._magic = tuple(_magic_null(f, s, serialization) for f, s in zip(self.fields, self.shapes, strict=True))
        self._text_rows: _TableDataRows | None = None
        self._text_bulk: TextRows | None = None
        self._binary_rows: _BinaryRows | None = None
        self.text_copy = serialization == "tabledata"
        if serialization == "tabledata":
            self._text_rows = _TableDataRows(
                self.fields, [_text_codec(f, s) for f, s in zip(self.fields, self.shapes, strict=True)]
            )
        else:
            legacy = serialization == "binary"
            codecs = [_binary_codec(f, s, legacy) for f, s in zip(self.fields, self.shapes, strict=True)]
            self._binary_rows = _BinaryRows(self.fields, codecs, flags=not legacy)
            self._bulk = BinaryColumns(self.fields, self.shapes, codecs, flags=not legacy)
        self._carry = b""

    # -- pieces of the document -------------------------------------------

    def _header(self) -> bytes:
        """Everything up to and including the start of the data stream."""
        parts = [document_start(), '<RESOURCE type="results">\n']
        if not any(name.upper() == QUERY_STATUS for name, _, _ in self._infos):
            parts.append(info_element(QUERY_STATUS, QueryStatus.OK.value) + "\n")
        for name, value, content in self._infos:
            parts.append(info_element(name, value, content) + "\n")
        used: set[str] = set()
        names = frozenset(f.name for f in self.fields)
        field_ids = [_unique_id(f.name, used, names) for f in self.fields]
        for param in self._params:
            shape = shape_of(param.field)
            _check_datatype(param.field)
            value = _param_value(param, shape)
            ident = _unique_id(param.field.name, used, names)
            parts.append(_field_element("PARAM", param.field, ident, None, value))
        table = "<TABLE"
        if self._table_name:
            ident = _unique_id(self._table_name, used, names)
            table += f' name="{xml_attr(self._table_name)}" ID="{ident}"'
        parts.append(table + ">\n")
        if self._description:
            parts.append(f"<DESCRIPTION>{xml_text(self._description)}</DESCRIPTION>\n")
        for field, ident, magic in zip(self.fields, field_ids, self._magic, strict=True):
            parts.append(_field_element("FIELD", field, ident, magic))
        if not self._data:
            pass
        elif self.serialization == "tabledata":
            parts.append("<DATA><TABLEDATA>\n")
        else:
            parts.append(f'<DATA><{self.serialization.upper()}><STREAM encoding="base64">\n')
        # the ID a service descriptor's PARAM ref names is the FIELD's (DataLink 1.1 §4.1)
        self._field_ids = dict(zip((f.name for f in self.fields), field_ids, strict=True))
        return "".join(parts).encode("utf-8")

    def _rows(self, rows: Rows) -> bytes:
        """The serialised ``rows`` (one batch); may be empty for BINARY/BINARY2.

        In the binary serialisations the base64 text covers whole 3-byte
        groups; up to two bytes are carried to the next call or the footer.
        """
        if not self._data:
            if rows:
                raise InternalError("VOTableWriter(data=False) takes no rows")
            return b""
        if self._text_rows is not None:
            return self._text_rows.encode(rows).encode("utf-8")
        assert self._binary_rows is not None
        parts = [self._carry]
        self._binary_rows.encode(rows, parts)
        return self._stream(b"".join(parts))

    def _columnar(self, batch: Columns) -> bytes:
        """A batch read from PostgreSQL in bulk: BINARY and BINARY2 rows made with numpy (:mod:`.bulk`)."""
        if self._binary_rows is None or not self._data:
            return super()._columnar(batch)
        return self._stream(self._carry + self._bulk.encode(batch))

    def _textual(self, batch: TextColumns) -> bytes:
        """A batch of PostgreSQL's text COPY: TABLEDATA rows made with numpy (:mod:`.textrows`)."""
        if self._text_rows is None or not self._data:
            return super()._textual(batch)
        if self._text_bulk is None:
            self._text_bulk = TextRows(self.fields, self.shapes, TABLEDATA, self._text_rows.cell)
        return self._text_bulk.encode(batch)

    def _stream(self, data: bytes) -> bytes:
        """The base64 text of ``data`` after the carried bytes, whole 3-byte groups only (VOTable 1.4 §5.4)."""
        usable = len(data) - len(data) % 3
        self._carry = data[usable:]
        if usable == 0:
            return b""
        return binascii.b2a_base64(memoryview(data)[:usable])

    def _footer(self, overflow: bool, error: str | None) -> Iterator[bytes]:
        """The end of the document, with the trailing status if any.

        ``error`` (a failure after the header was sent) wins over
        ``overflow``; either becomes a ``QUERY_STATUS`` ``INFO`` after the
        ``TABLE`` (DALI 1.1 §5.4), which pyvo reads as the status.
        """
        parts: list[str] = []
        if not self._data:
            pass
        elif self.serialization == "tabledata":
            parts.append("</TABLEDATA></DATA>\n")
        else:
            if self._carry:
                parts.append(binascii.b2a_base64(self._carry).decode("ascii"))
                self._carry = b""
            parts.append(f"</STREAM></{self.serialization.upper()}></DATA>\n")
        parts.append("</TABLE>\n")
        if error is not None:
            parts.append(info_element(QUERY_STATUS, QueryStatus.ERROR.value, error) + "\n")
        elif overflow:
            parts.append(info_element(QUERY_STATUS, QueryStatus.OVERFLOW.value) + "\n")
        parts.append("</RESOURCE>\n")
        parts.extend(resource.xml(self._field_ids) for resource in self._resources)
        parts.append("</VOTABLE>\n")
        return iter(["".join(parts).encode("utf-8")])
