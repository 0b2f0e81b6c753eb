"""JSON and GeoJSON results, streamed.

**JSON** (``application/json``, RFC 8259): one object, written in pieces::

    {"columns": [{"name": "ra", "datatype": "double", "arraysize": null, "xtype": null,
                  "unit": "deg", "ucd": "pos.eq.ra;meta.main", "utype": null, "description": "..."}, ...],
     "metadata": [the same list],
     "infos": [{"name": "QUERY", "value": "SELECT ...", "content": null}, ...],
     "data": [
    [1, 10.5, -3.25],
    ...
    ],
     "queryStatus": "OK"}

``columns`` carries the ``FIELD`` attributes of VOTable 1.4 §3.2 (repeated as
``metadata``, the name ESA's TAP+ JSON uses and astroquery's ``TapPlus`` reads), ``infos``
the ``INFO`` elements a VOTable result would hold, ``data`` one array per row
in column order (a batch of rows per line: one encoder call per batch is
three times faster than one per row).  ``queryStatus`` comes last, once the end is known, with the
DALI 1.1 §5.4 values ``OK``, ``OVERFLOW`` (rows were cut at MAXREC) or
``ERROR``, the last with ``"message"``.  A reader that finds no
``queryStatus`` got a broken transfer.

**GeoJSON** (``application/geo+json``, RFC 7946): a ``FeatureCollection``
with one ``Feature`` per row, whose ``properties`` hold every column by name
and whose ``geometry`` is taken from, in this order: the first column with
``xtype="polygon"`` (a ``Polygon``, ring closed), the ``pos.eq.ra;meta.main``
/ ``pos.eq.dec;meta.main`` pair (a ``Point``), the first ``xtype="point"``
column, then any ``pos.eq.ra``/``pos.eq.dec`` or ``pos.bodyrc.lon``/``lat``
pair.  Longitudes are wrapped to [-180, 180) as RFC 7946 §4 positions expect
(the original value stays in ``properties``); a null position gives
``"geometry": null`` (RFC 7946 §3.2).  ``columns``, ``infos``,
``queryStatus`` and ``message`` are foreign members (RFC 7946 §6.1), as in
the JSON format.  ``properties`` is an object, so of columns with the same
name only the last is kept there.

Values in both: numbers as JSON numbers (doubles through :func:`repr`, exact
round trip; single-precision values as the double nearest their shortest
decimal), NaN and infinities as ``null`` (JSON has none), booleans, text,
timestamps as DALI ISO 8601 UTC strings, arrays as JSON arrays (bytes as an
array of byte values).
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Iterator, Sequence
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from vostack.errors import InternalError, ParameterError
from vostack.schema import Field
from vostack.votable.base import (
    Rows,
    StagedWriter,
    check_width,
    column_metadata,
    float32_text,
    json_default,
    shape_of,
)
from vostack.votable.bulk import Segments, interleave
from vostack.votable.pgcopy import FLOAT8
from vostack.votable.pgtext import TextColumn, TextColumns
from vostack.votable.textrows import JSON as JSON_STYLE
from vostack.votable.textrows import TextRows, const, masked

__all__ = ["GeoJSONWriter", "JSONWriter", "geometry_source"]

_ENCODER = json.JSONEncoder(ensure_ascii=False, allow_nan=False, default=json_default, separators=(",", ":"))
_encode = _ENCODER.encode


def _finite(value: object) -> object:
    """``value`` with every non-finite float replaced by ``None``, recursively."""
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, list | tuple):
        return [_finite(item) for item in value]
    if isinstance(value, dict):
        return {key: _finite(item) for key, item in value.items()}
    return value


def _single(value: object) -> object:
    """A single-precision value (or list of them) as the double nearest its shortest decimal."""
    if isinstance(value, float) and math.isfinite(value):
        return float(float32_text(value))
    if isinstance(value, list | tuple):
        return [_single(item) for item in value]
    return value


def _encode_items(items: list[object], what: str) -> str:
    """The JSON of ``items`` without the enclosing brackets, one C call for the whole batch."""
    try:
        text = _encode(items)
    except ValueError:  # a NaN or an infinity somewhere
        text = _encode(_finite(items))
    except TypeError as exc:
        raise InternalError(f"cannot write a row as {what}: {exc}") from exc
    return text[1:-1]


def _status(overflow: bool, error: str | None) -> str:
    if error is not None:
        return f',\n "queryStatus":"ERROR","message":{_encode(error)}}}\n'
    return f',\n "queryStatus":"{"OVERFLOW" if overflow else "OK"}"}}\n'


def _preamble(fields: Sequence[Field], infos: Sequence[tuple[str, str, str | None]], *, metadata: bool = False) -> str:
    columns = ",\n  ".join(_encode(column_metadata(f)) for f in fields)
    info_list = ",\n  ".join(_encode({"name": n, "value": v, "content": c}) for n, v, c in infos)
    alias = f'"metadata":[\n  {columns}],\n ' if metadata else ""
    return f'"columns":[\n  {columns}],\n {alias}"infos":[{info_list}]'


class _JSONArrayWriter(StagedWriter):
    """The part JSON and GeoJSON share: one array of row items, a batch per line, the status last."""

    _what = "JSON"
    text_copy = True

    def __init__(self, fields: Sequence[Field], *, infos: Sequence[tuple[str, str, str | None]] = ()) -> None:
        super().__init__(fields)
        self._infos = tuple(infos)
        self._first = True
        # single-precision columns: the double nearest their shortest decimal, so json prints 9.4055, not 9.40550041
        self._single = [i for i, f in enumerate(self.fields) if f.datatype == "float"]
        self._text_rows = TextRows(self.fields, self.shapes, JSON_STYLE, self.cell)

    def _values(self, row: Sequence[object]) -> list[object]:
        """The row as a list (rows may be asyncpg Records, which json does not take), floats made single."""
        values = list(row)
        for i in self._single:
            values[i] = _single(values[i])
        return values

    def _items(self, rows: Rows) -> list[object]:
        raise NotImplementedError  # pragma: no cover

    def cell(self, index: int, value: object) -> str:
        """The JSON of one value of column ``index``, as it stands in its row."""
        if index in self._single:
            value = _single(value)
        return _encode_items([value], self._what)

    def _rows(self, rows: Rows) -> bytes:
        """One item per row, comma-separated across batches."""
        if not rows:
            return b""
        check_width(rows, len(self.fields))
        text = _encode_items(self._items(rows), self._what)
        if not self._first:
            text = ",\n" + text
        self._first = False
        return text.encode("utf-8", "replace")

    def _footer(self, overflow: bool, error: str | None) -> Iterator[bytes]:
        """The end of the array and the query status."""
        return iter([("\n]" + _status(overflow, error)).encode("utf-8", "replace")])


class JSONWriter(_JSONArrayWriter):
    """Write a result as one streamed JSON document (RFC 8259; layout in the module docstring).

    Parameters
    ----------
    fields : sequence of Field
        The result columns, in row order.
    infos : sequence of (name, value, content)
        What a VOTable result would hold as ``INFO`` elements (DALI 1.1 §5.4).
    """

    def _header(self) -> bytes:
        """The column metadata and the start of ``data``."""
        return ("{" + _preamble(self.fields, self._infos, metadata=True) + ',\n "data":[\n').encode("utf-8")

    def _items(self, rows: Rows) -> list[object]:
        """One JSON array per row."""
        if self._single:
            return list(map(self._values, rows))
        return list(map(tuple, rows))

    def _textual(self, batch: TextColumns) -> bytes:
        """A batch of PostgreSQL's text COPY, its text kept where JSON's is the same (:mod:`.textrows`)."""
        if not len(batch):
            return b""
        text = self._text_rows.encode(batch)
        if not self._first:
            text = b",\n" + text
        self._first = False
        return text


# ---------------------------------------------------------------------------
# GeoJSON


def _wrap(lon: float) -> float:
    return lon - 360.0 if lon >= 180.0 else lon


def _point(lon: object, lat: object) -> dict[str, object] | None:
    try:
        x, y = float(lon), float(lat)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return None
    if not (math.isfinite(x) and math.isfinite(y)):
        return None
    return {"type": "Point", "coordinates": [_wrap(x), y]}


def _xtype_point(value: object) -> dict[str, object] | None:
    if not isinstance(value, Sequence) or len(value) != 2:
        return None
    return _point(value[0], value[1])


def _polygon(value: object) -> dict[str, object] | None:
    if not isinstance(value, Sequence) or len(value) < 6 or len(value) % 2:
        return None
    try:
        ring = [[_wrap(float(value[i])), float(value[i + 1])] for i in range(0, len(value), 2)]
    except (TypeError, ValueError):
        return None
    if not all(math.isfinite(c) for vertex in ring for c in vertex):
        return None
    if ring[0] != ring[-1]:
        ring.append(list(ring[0]))
    return {"type": "Polygon", "coordinates": [ring]}


def _ucd_words(field: Field) -> list[str]:
    return [w.strip().lower() for w in (field.ucd or "").split(";")]


def _pair(fields: Sequence[Field], lon: str, lat: str, *, main: bool) -> tuple[int, int] | None:
    def find(word: str) -> int | None:
        for i, f in enumerate(fields):
            words = _ucd_words(f)
            if words[0] == word and (not main or "meta.main" in words) and not shape_of(f).array:
                return i
        return None

    i, j = find(lon), find(lat)
    return None if i is None or j is None else (i, j)


def _geometry_columns(fields: Sequence[Field]) -> tuple[str, int, int] | None:
    """Where the geometry comes from: ``("polygon", k, k)``, ``("point", k, k)`` or ``("pair", lon, lat)``."""
    xtypes = [(f.xtype or "").lower() for f in fields]
    if "polygon" in xtypes:
        k = xtypes.index("polygon")
        return ("polygon", k, k)
    pair = _pair(fields, "pos.eq.ra", "pos.eq.dec", main=True)
    if pair is None and "point" in xtypes:
        k = xtypes.index("point")
        return ("point", k, k)
    if pair is None:
        pair = _pair(fields, "pos.eq.ra", "pos.eq.dec", main=False)
    if pair is None:
        pair = _pair(fields, "pos.bodyrc.lon", "pos.bodyrc.lat", main=False)
    return None if pair is None else ("pair", *pair)


def geometry_source(fields: Sequence[Field]) -> Callable[[Sequence[object]], dict[str, object] | None] | None:
    """How a row's GeoJSON geometry is made, or ``None`` if ``fields`` hold no position (RFC 7946 §3.1).

    The order of preference is in the module docstring.
    """
    found = _geometry_columns(fields)
    if found is None:
        return None
    kind, i, j = found
    if kind == "polygon":
        return lambda row: _polygon(row[i])
    if kind == "point":
        return lambda row: _xtype_point(row[i])
    return lambda row: _point(row[i], row[j])


def _wrapped(column: TextColumn, rows: np.ndarray[Any, Any]) -> Segments:
    """The JSON numbers ``repr(lon - 360)`` of the values of ``rows`` (a mask), as segments (RFC 7946 §4).

    The values are read and shifted with numpy and printed by pyarrow, whose
    shortest decimals have :func:`repr`'s digits; ``.0`` is added to integral
    ones, and any that pyarrow writes with an exponent, or that are that small,
    are printed by :func:`repr` itself.
    """
    n = len(column)
    indices = np.flatnonzero(rows)
    width = 32  # the longest float8 text, "-1.2345678901234567e-308", has 24 characters
    starts, lengths = column.starts[indices], column.lengths[indices]
    inside = np.arange(width) < np.minimum(lengths, width)[:, None]
    text = np.where(inside, column.buf[np.where(inside, starts[:, None] + np.arange(width), 0)], 0)
    shifted = text.astype(np.uint8).view(f"S{width}").ravel().astype(np.float64) - 360.0
    printed = pc.cast(pa.array(shifted), pa.string())
    offsets = np.frombuffer(printed.buffers()[1], dtype=np.int32, count=len(shifted) + 1).astype(np.int64)
    data = np.frombuffer(printed.buffers()[2] or b"", dtype=np.uint8)
    sizes = np.diff(offsets)
    has_e = np.zeros(len(shifted), dtype=bool)
    has_dot = np.zeros(len(shifted), dtype=bool)
    if len(data):
        marks = np.zeros(len(data) + 1, dtype=np.int64)
        np.cumsum(data == ord("e"), out=marks[1:])
        has_e = marks[offsets[1:]] > marks[offsets[:-1]]
        np.cumsum(data == ord("."), out=marks[1:])
        has_dot = marks[offsets[1:]] > marks[offsets[:-1]]
    odd = has_e | ((np.abs(shifted) < 1e-4) & (shifted != 0))
    segment_starts = np.zeros(n, dtype=np.int64)
    segment_sizes = np.zeros(n, dtype=np.int64)
    segment_starts[indices] = offsets[:-1]
    segment_sizes[indices] = np.where(odd, 0, sizes)
    integral = np.zeros(n, dtype=bool)
    integral[indices] = ~odd & ~has_dot
    fallback = np.zeros(n, dtype=bool)
    fallback[indices[odd]] = True
    texts = [float.__repr__(v).encode() for v in shifted[odd].tolist()]
    return [(data, segment_starts, segment_sizes), *const(n, b".0", integral), *_replaced(n, fallback, texts)]


def _replaced(n: int, rows: np.ndarray[Any, Any], texts: Sequence[bytes]) -> Segments:
    """``texts`` in the rows of ``rows`` (a mask), in order, as segments."""
    sizes = np.zeros(n, dtype=np.int64)
    sizes[rows] = [len(t) for t in texts]
    starts = np.cumsum(sizes) - sizes
    return [(np.frombuffer(b"".join(texts), dtype=np.uint8), starts, sizes)]


def _from_180(column: TextColumn, finite: np.ndarray[Any, Any]) -> np.ndarray[Any, Any]:
    """Which finite values of a ``float8`` column's text are 180 or more, read from their digits.

    A value without an exponent is 180 or more when it is not negative and its
    integer part has four digits or more, or three from ``180`` on; a value
    with an exponent (``1e+300``) is read as a number.
    """
    digit = [(column.buf[np.minimum(column.starts + i, len(column.buf) - 1)] - ord("0")) for i in range(4)]
    length = column.lengths
    is_digit = [(d <= 9) & (length > i) for i, d in enumerate(digit)]
    three = is_digit[0] & is_digit[1] & is_digit[2]
    large = three & (is_digit[3] | (100 * digit[0].astype(np.int64) + 10 * digit[1] + digit[2] >= 180))
    exponent = _exponents(column, finite)
    if len(exponent):
        large[exponent] = [float(text) >= 180.0 for text in column.texts(exponent.tolist())]
    found: np.ndarray[Any, Any] = finite & large
    return found


def _exponents(column: TextColumn, rows: np.ndarray[Any, Any]) -> np.ndarray[Any, Any]:
    """The rows whose value has an exponent (``e`` within its last five characters)."""
    found = np.zeros(len(column), dtype=bool)
    for back in range(2, 6):
        position = np.maximum(column.ends - back, column.starts)
        found |= column.buf[position] == ord("e")
    indices: np.ndarray[Any, Any] = np.flatnonzero(found & rows)
    return indices


def _numbers(column: TextColumn) -> np.ndarray[Any, Any]:
    """Which values of a ``float8`` column's text are numbers: not NULL, NaN or infinite."""
    first = column.buf[np.minimum(column.starts, len(column.buf) - 1)]
    second = column.buf[np.minimum(column.starts + 1, len(column.buf) - 1)]
    special = (first == ord("N")) | (first == ord("I")) | ((first == ord("-")) & (second == ord("I")))
    finite: np.ndarray[Any, Any] = ~column.nulls & ~special
    return finite


class GeoJSONWriter(_JSONArrayWriter):
    """Write a result as a GeoJSON ``FeatureCollection``, one ``Feature`` per row (RFC 7946 §3.3).

    Raises
    ------
    ParameterError
        When no column gives a position (see the module docstring): the
        client asked for GeoJSON of a result that cannot be drawn.
    """

    _what = "GeoJSON"

    def __init__(self, fields: Sequence[Field], *, infos: Sequence[tuple[str, str, str | None]] = ()) -> None:
        super().__init__(fields, infos=infos)
        source = geometry_source(self.fields)
        if source is None:
            raise ParameterError(
                "RESPONSEFORMAT=geojson needs a position in the result: select a column with xtype point or "
                "polygon, or the main RA and Dec (UCDs pos.eq.ra;meta.main and pos.eq.dec;meta.main)",
                param="RESPONSEFORMAT",
            )
        self._geometry = source
        self._names = tuple(f.name for f in self.fields)
        columns = _geometry_columns(self.fields)
        # the bulk path needs a position pair and distinct names (properties keep the last of a name)
        distinct = len(set(self._names)) == len(self._names)
        self._pair = columns[1:] if columns and columns[0] == "pair" and distinct else None
        # a coordinate's JSON is its property's when the column is a double: repr() of the value
        self._doubles = [f.datatype == "double" and not s.array for f, s in zip(self.fields, self.shapes, strict=True)]

    def _header(self) -> bytes:
        """The collection's metadata and the start of ``features``."""
        text = '{"type":"FeatureCollection",' + _preamble(self.fields, self._infos) + ',\n "features":[\n'
        return text.encode("utf-8")

    def _feature(self, row: Sequence[object]) -> dict[str, object]:
        properties = dict(zip(self._names, self._values(row), strict=True))
        return {"type": "Feature", "geometry": self._geometry(row), "properties": properties}

    def _items(self, rows: Rows) -> list[object]:
        """One ``Feature`` per row; the status after ``features`` is a foreign member."""
        return list(map(self._feature, rows))

    def _textual(self, batch: TextColumns) -> bytes:
        """A batch of PostgreSQL's text COPY: the features made with numpy, the properties as in JSON.

        Only for a geometry from a pair of ``float8`` columns; the JSON texts of
        the values are those of :mod:`.textrows`, and a longitude from 180° on
        is written from its value (``lon - 360``, RFC 7946 §4).
        """
        n = len(batch)
        pair = self._pair
        if not n or pair is None or any(batch.columns[k].oid != FLOAT8 or not self._doubles[k] for k in pair):
            return super()._textual(batch)
        i, j = pair
        cells = self._text_rows.cells(batch)
        point = _numbers(batch.columns[i]) & _numbers(batch.columns[j])
        east = _from_180(batch.columns[i], point)
        x = masked(cells[i], point & ~east) + _wrapped(batch.columns[i], east)
        pieces = [const(n, b",", np.arange(n) > 0), const(n, b'{"type":"Feature","geometry":'),
                  const(n, b'{"type":"Point","coordinates":[', point), x, const(n, b",", point),
                  masked(cells[j], point), const(n, b"]}", point), const(n, b"null", ~point),
                  const(n, b',"properties":{')]  # fmt: skip
        for k, name in enumerate(self._names):
            pieces += [const(n, (b"," if k else b"") + _encode(name).encode("utf-8") + b":"), cells[k]]
        pieces.append(const(n, b"}}"))
        text = interleave(n, pieces)
        if not self._first:
            text = b",\n" + text
        self._first = False
        return text
