"""Reading VOTables a client uploads (TAP 1.1 §4.5, DALI 1.1 §3.4.5), safely.

An uploaded document is untrusted.  :func:`read_votable` therefore

1. refuses a document over ``max_bytes`` before looking at it;
2. runs it through expat with handlers that refuse any ``DOCTYPE`` (so no
   entity can be declared: no external entities such as ``file:///etc/passwd``,
   no "billion laughs" expansion), parameter-entity parsing off, and that
   refuse the VOTable features that would make the parser read something
   else: ``STREAM href=...`` (astropy fetches it with ``urllib``), and the
   ``FITS`` and ``PARQUET`` serialisations (both only by reference);
3. only then parses it with astropy (``verify="ignore"``: clients write
   imperfect VOTables), takes the first ``TABLE``, and refuses more than
   ``max_rows`` rows.

Column names become ADQL regular identifiers (:func:`column_identifier`):
every character outside ``[A-Za-z0-9_]`` becomes ``_``, a name that does not
start with a letter gets a ``c_`` prefix, the result is lower-cased and cut to
63 characters (PostgreSQL's limit), and a name already taken gets ``_2``,
``_3``...  Each column gets the PostgreSQL type its VOTable datatype maps to
(:data:`PG_TYPES`); its VOTable datatype, arraysize, xtype, unit and UCD are
kept, so a query selecting it returns the same FIELD.  DALI geometries
(``xtype`` ``point``, ``circle``, ``polygon`` on float/double arrays) become
pgSphere ``spoint``/``scircle``/``spoly`` and ``timestamp`` strings
``timestamp``; their values are given in the types' text input form.
"""

from __future__ import annotations

import io
import math
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any
from xml.parsers import expat

from vostack.errors import UploadError
from vostack.schema import Field

__all__ = ["PG_TYPES", "UploadedColumn", "UploadedTable", "column_identifier", "read_votable"]

#: PostgreSQL column types of scalar VOTable datatypes.
PG_TYPES = {
    "boolean": "boolean",
    "bit": "boolean",
    "unsignedByte": "smallint",
    "short": "smallint",
    "int": "integer",
    "long": "bigint",
    "float": "real",
    "double": "double precision",
    "char": "text",
    "unicodeChar": "text",
}

_GEOMETRIES = {"point": "spoint", "circle": "scircle", "polygon": "spoly"}
_VECTORISED = frozenset({"boolean", "smallint", "integer", "bigint", "real", "double precision", "text"})
_REFUSED_ELEMENTS = {"FITS": "the FITS serialisation", "PARQUET": "the PARQUET serialisation"}
_NOT_IDENTIFIER = re.compile(r"[^A-Za-z0-9_]")
_MAX_IDENTIFIER = 63


@dataclass(frozen=True, slots=True)
class UploadedColumn:
    """A column of an uploaded table: its ADQL name, its VOTable metadata and its PostgreSQL type."""

    name: str
    field: Field
    db_type: str


@dataclass(frozen=True, slots=True)
class UploadedTable:
    """The first table of an uploaded VOTable: columns and rows (values ready for the database)."""

    columns: tuple[UploadedColumn, ...]
    rows: list[tuple[object, ...]]


class _Refused(Exception):
    def __init__(self, what: str) -> None:
        super().__init__(what)
        self.what = what


def column_identifier(name: str, taken: set[str]) -> str:
    """The ADQL regular identifier an uploaded column is published as (see the module docstring)."""
    base = _NOT_IDENTIFIER.sub("_", name.strip()) or "c"
    if not base[0].isalpha():
        base = "c_" + base
    base = base.lower()[:_MAX_IDENTIFIER]
    candidate, number = base, 2
    while candidate in taken:
        suffix = f"_{number}"
        candidate = base[: _MAX_IDENTIFIER - len(suffix)] + suffix
        number += 1
    taken.add(candidate)
    return candidate


def _check_markup(data: bytes) -> None:
    """Refuse DTDs, entities and by-reference data before any VOTable parser sees the document."""

    def doctype(*_: object) -> None:
        raise _Refused("a DOCTYPE declaration (entities and DTDs are not accepted)")

    def entity(*_: object) -> None:
        raise _Refused("an entity declaration")

    def external(*_: object) -> int:
        raise _Refused("an external entity")

    def start(tag: str, attributes: dict[str, str]) -> None:
        local = tag.rsplit(" ", 1)[-1]
        if local in _REFUSED_ELEMENTS:
            raise _Refused(_REFUSED_ELEMENTS[local] + " (send TABLEDATA, BINARY or BINARY2 inline)")
        if local == "STREAM" and any(key.rsplit(" ", 1)[-1] == "href" for key in attributes):
            raise _Refused("a STREAM by reference (href); send the data inline")

    parser = expat.ParserCreate(namespace_separator=" ")
    parser.SetParamEntityParsing(expat.XML_PARAM_ENTITY_PARSING_NEVER)
    parser.StartDoctypeDeclHandler = doctype
    parser.EntityDeclHandler = entity
    parser.ExternalEntityRefHandler = external
    parser.StartElementHandler = start
    parser.Parse(data, True)


def _parse(data: bytes) -> Any:
    from astropy.io.votable import parse  # imported late: astropy is slow to import

    # verify="ignore" silences astropy's VOTable warnings itself: no warnings.catch_warnings() here, which
    # is not thread-safe (this runs in worker threads; two of them could leave a filter installed for good)
    votable = parse(io.BytesIO(data), verify="ignore")
    tables = list(votable.iter_tables())
    if not tables:
        raise _Refused("no TABLE")
    return tables[0]


def _column(field: Any, taken: set[str]) -> UploadedColumn:
    datatype = str(field.datatype)
    arraysize = None if field.arraysize in (None, "1") else str(field.arraysize)  # "1": one value (VOTable 1.4 §2.2)
    xtype = field.xtype or None
    raw_name = str(field.name or field.ID or "c")
    if datatype not in PG_TYPES:
        raise _Refused(f"column {raw_name!r} has the datatype {datatype}, which uploads do not support")
    name = column_identifier(raw_name, taken)
    text = datatype in ("char", "unicodeChar")
    if xtype in _GEOMETRIES and datatype in ("float", "double") and arraysize is not None:
        db_type = _GEOMETRIES[xtype]
    elif xtype == "timestamp" and text:
        db_type, arraysize = "timestamp", "*"  # results are written in the DALI form, whatever the upload's width
    elif text or arraysize is None:
        db_type = PG_TYPES[datatype]
        if text and arraysize is None:
            # one character, stored as text: results say "*" (arraysize="1" is deprecated since VOTable 1.3
            # Erratum 3, and readers such as astropy warn about a char FIELD without arraysize)
            arraysize = "*"
    elif datatype in ("bit", "boolean") or "x" in arraysize:
        raise _Refused(f"column {raw_name!r}: multi-dimensional or bit arrays are not supported in uploads")
    else:
        db_type = PG_TYPES[datatype] + "[]"
    described = Field(
        name=name,
        datatype="boolean" if datatype == "bit" else datatype,  # one bit is a boolean; results have no bit
        arraysize=arraysize,
        xtype=xtype,
        unit=str(field.unit) if field.unit is not None else None,
        ucd=field.ucd or None,
        utype=field.utype or None,
        description=field.description or None,
    )
    return UploadedColumn(name, described, db_type)


def _degrees(value: float) -> str:
    return f"{value!r}d"


def _geometry(kind: str, values: Sequence[float]) -> str | None:
    if any(not math.isfinite(v) for v in values):
        return None
    if kind == "spoint" and len(values) == 2:
        return f"({_degrees(values[0])}, {_degrees(values[1])})"
    if kind == "scircle" and len(values) == 3:
        return f"<({_degrees(values[0])}, {_degrees(values[1])}), {_degrees(values[2])}>"
    if kind == "spoly" and len(values) >= 6 and len(values) % 2 == 0:
        pairs = (f"({_degrees(values[i])}, {_degrees(values[i + 1])})" for i in range(0, len(values), 2))
        return "{" + ", ".join(pairs) + "}"
    raise _Refused(f"a {kind} value with {len(values)} numbers")


def _scalar(value: Any, db_type: str) -> object:
    if db_type in ("text", "timestamp"):
        if isinstance(value, bytes):
            value = value.decode("utf-8", "replace")
        text = str(value)
        return text if text or db_type == "text" else None
    item = value.item() if hasattr(value, "item") else value
    if isinstance(item, float) and math.isnan(item):
        return None
    if db_type == "boolean":
        return bool(item)
    return item


def _cells(data: Any, mask: Any, column: UploadedColumn) -> list[object]:
    """The database values of one column: ``data`` and ``mask`` are its numpy data and element mask."""
    import numpy as np

    db_type = column.db_type
    if db_type in _VECTORISED and data.dtype.kind in "biufU" and data.ndim == 1:  # plain scalars: numpy does it
        if data.dtype.kind == "f":
            mask = mask | np.isnan(data)
        values: list[object] = data.tolist()
        if mask.any():
            values = [None if m else v for v, m in zip(values, mask.tolist(), strict=True)]
        return values
    values = []
    for value, masked in zip(data, mask, strict=True):
        if np.ma.isMaskedArray(value):  # variable-length arrays carry their own element masks
            masked = np.ma.getmaskarray(value)
            value = np.ma.getdata(value)
        if db_type in _GEOMETRIES.values():
            numbers = np.where(masked, np.nan, np.asarray(value, dtype=float)).ravel()
            values.append(_geometry(db_type, [float(v) for v in numbers]))
        elif db_type.endswith("[]"):
            flags = np.broadcast_to(masked, np.shape(value)).ravel()
            element = db_type[:-2]
            values.append([None if m else _scalar(v, element) for v, m in zip(np.ravel(value), flags, strict=True)])
        elif np.all(masked):
            values.append(None)
        else:
            values.append(_scalar(value, db_type))
    return values


def _rows(table: Any, columns: Sequence[UploadedColumn]) -> list[tuple[object, ...]]:
    import numpy as np

    array = table.array
    names = array.dtype.names or ()
    cells = [
        _cells(np.ma.getdata(array[name]), np.ma.getmaskarray(array[name]), column)
        for name, column in zip(names, columns, strict=True)
    ]
    return list(zip(*cells, strict=True))


def read_votable(data: bytes, *, max_bytes: int, max_rows: int, what: str) -> UploadedTable:
    """Parse an uploaded VOTable safely into columns and rows (TAP 1.1 §4.5; see the module docstring).

    Parameters
    ----------
    data
        The document's bytes.
    max_bytes, max_rows
        The limits; a larger document or table is refused.
    what
        How error messages name the upload (``"upload 'stars'"``).

    Raises
    ------
    vostack.errors.UploadError
        For a document that is too big, not XML, not a VOTable, unsafe, or has too many rows.
    """
    if len(data) > max_bytes:
        raise UploadError(f"{what} is {len(data):,} bytes, more than this service accepts ({max_bytes:,} bytes)")
    try:
        _check_markup(data)
        table = _parse(data)
        taken: set[str] = set()
        columns = tuple(_column(field, taken) for field in table.fields)
        if not columns:
            raise _Refused("a table without columns")
        if len(table.array) > max_rows:
            raise UploadError(
                f"{what} has {len(table.array):,} rows, more than this service accepts ({max_rows:,} rows)"
            )
        rows = _rows(table, columns)
    except UploadError:
        raise
    except _Refused as exc:
        raise UploadError(f"{what} is not accepted: it contains {exc.what}") from None
    except expat.ExpatError as exc:
        raise UploadError(f"{what} is not well-formed XML: {expat.errors.messages[exc.code]} "
                          f"at line {exc.lineno}, column {exc.offset}") from None  # fmt: skip
    except Exception as exc:  # astropy's and numpy's errors on a document that is not a usable VOTable
        raise UploadError(f"{what} is not a VOTable this service can read: {exc}") from None
    return UploadedTable(columns, rows)
