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

    def __init__(self, fields: Sequence[Field], *, infos: Sequence[tuple[str, str, str | None]] = ()) -> None:
        super().__init__(fields)
        self._infos = tuple(infos)
        self._first = True
        # single-precision columns: the double nearest their shortest decimal, so json prints 9.4055, not 9.40550041
        self._single = [i for i, f in enumerate(self.fields) if f.datatype == "float"]

    def _values(self, row: Sequence[object]) -> list[object]:
        """The row as a list (rows may be asyncpg Records, which json does not take), floats made single."""
        values = list(row)
        for i in self._single:
            values[i] = _single(values[i])
        return values

    def _items(self, rows: Rows) -> list[object]:
        raise NotImplementedError  # pragma: no cover

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


def geometry_source(fields: Sequence[Field]) -> Callable[[Sequence[object]], dict[str, object] | None] | None:
    """How a row's GeoJSON geometry is made, or ``None`` if ``fields`` hold no position (RFC 7946 §3.1).

    The order of preference is in the module docstring.
    """
    xtypes = [(f.xtype or "").lower() for f in fields]
    if "polygon" in xtypes:
        k = xtypes.index("polygon")
        return lambda row: _polygon(row[k])
    pair = _pair(fields, "pos.eq.ra", "pos.eq.dec", main=True)
    if pair is None and "point" in xtypes:
        k = xtypes.index("point")
        return lambda row: _xtype_point(row[k])
    if pair is None:
        pair = _pair(fields, "pos.eq.ra", "pos.eq.dec", main=False)
    if pair is None:
        pair = _pair(fields, "pos.bodyrc.lon", "pos.bodyrc.lat", main=False)
    if pair is None:
        return None
    i, j = pair
    return lambda row: _point(row[i], row[j])


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
