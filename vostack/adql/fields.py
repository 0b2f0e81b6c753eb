"""Result metadata: the VOTable ``FIELD`` of every output column (VOTable 1.4 §3.2, ADQL 2.1 §3).

Rules, in the spirit of DaCHS' ``fieldinfo``:

* A bare column keeps its published TAP_SCHEMA metadata (:meth:`Column.as_field`),
  renamed to its alias when it has one; a column of a subquery or common table
  expression keeps the metadata of what the subquery selected.
* Any other expression gets its datatype from the type sqlglot infers
  (``annotate_types`` with the rules of :class:`~vostack.adql.dialect.ADQL`):
  ``COUNT`` is ``long``, ``AVG`` and the math functions are ``double``, ``SUM``
  of integers is ``long``, strings and ``||`` are ``char`` with arraysize ``*``,
  integer literals are ``int`` (``long`` when they need it), other numeric
  literals are ``double``, ``TRUE``/``FALSE`` are ``boolean``.  ADQL has no
  boolean-valued expressions besides these (comparisons are refused in the
  select list by :mod:`vostack.adql.validate`).  Functions that keep the unit of
  their argument (``ABS``, ``MIN``, ``MAX``, ``AVG``, ``SUM``, ``ROUND``, …) keep
  the argument column's unit.
* An output column without an alias is named after its column, or after its
  function in lower case (``count``, ``avg``, ``log10``), or ``expr``.
* :func:`unique_names` then makes the names unique, ignoring case, by appending
  ``_2``, ``_3``, … to the later duplicates.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable
from typing import Protocol

from sqlglot import exp

from vostack.adql import expressions as geo
from vostack.schema import Column, Field

__all__ = [
    "column_type",
    "expression_field",
    "expression_name",
    "infer",
    "unique_names",
    "unit_of",
    "votable_type",
    "widen",
]

_DT = exp.DType


class _HasField(Protocol):
    @property
    def field(self) -> Field: ...


_PG_TYPES: dict[str, exp.DType] = {
    "smallint": _DT.SMALLINT,
    "int2": _DT.SMALLINT,
    "integer": _DT.INT,
    "int": _DT.INT,
    "int4": _DT.INT,
    "bigint": _DT.BIGINT,
    "int8": _DT.BIGINT,
    "real": _DT.FLOAT,
    "float4": _DT.FLOAT,
    "double precision": _DT.DOUBLE,
    "float8": _DT.DOUBLE,
    "float": _DT.DOUBLE,
    "numeric": _DT.DECIMAL,
    "decimal": _DT.DECIMAL,
    "text": _DT.TEXT,
    "character varying": _DT.VARCHAR,
    "varchar": _DT.VARCHAR,
    "character": _DT.CHAR,
    "char": _DT.CHAR,
    "bpchar": _DT.CHAR,
    "name": _DT.VARCHAR,
    "boolean": _DT.BOOLEAN,
    "bool": _DT.BOOLEAN,
    "timestamp": _DT.TIMESTAMP,
    "timestamp without time zone": _DT.TIMESTAMP,
    "timestamp with time zone": _DT.TIMESTAMPTZ,
    "timestamptz": _DT.TIMESTAMPTZ,
    "date": _DT.DATE,
    "bytea": _DT.VARBINARY,
}

_VOTABLE_TYPES: dict[str, exp.DType] = {
    "boolean": _DT.BOOLEAN,
    "unsignedByte": _DT.SMALLINT,
    "short": _DT.SMALLINT,
    "int": _DT.INT,
    "long": _DT.BIGINT,
    "float": _DT.FLOAT,
    "double": _DT.DOUBLE,
    "char": _DT.VARCHAR,
    "unicodeChar": _DT.VARCHAR,
}

_TO_VOTABLE: dict[exp.DType, str] = {
    _DT.BOOLEAN: "boolean",
    _DT.TINYINT: "short",
    _DT.UTINYINT: "short",
    _DT.SMALLINT: "short",
    _DT.INT: "int",
    _DT.BIGINT: "long",
    _DT.FLOAT: "float",
    _DT.DOUBLE: "double",
    _DT.DECIMAL: "double",
    _DT.BIGDECIMAL: "double",
}
# DALI 1.1 §3.3: geometry values are arrays of doubles in degrees with an xtype
_GEOMETRY_VOTABLE: dict[str, tuple[str, str | None, str | None]] = {
    geo.POINT: ("double", "2", "point"),
    geo.CIRCLE: ("double", "3", "circle"),
    geo.POLYGON: ("double", "*", "polygon"),
}
# the units of geometry results (ADQL 2.1 §4.2: degrees)
_GEOMETRY_UNITS: dict[type[exp.Expr], str] = {
    geo.ADQLDistance: "deg",
    geo.ADQLArea: "deg**2",
    geo.ADQLCoord1: "deg",
    geo.ADQLCoord2: "deg",
}
_TEMPORAL = frozenset({_DT.TIMESTAMP, _DT.TIMESTAMPTZ, _DT.TIMESTAMPLTZ, _DT.TIMESTAMPNTZ, _DT.DATETIME, _DT.DATE})
_NUMERIC_ORDER = (_DT.SMALLINT, _DT.INT, _DT.BIGINT, _DT.DECIMAL, _DT.FLOAT, _DT.DOUBLE)

# ADQL names of functions whose sqlglot node has another name.
_NAMES: dict[type[exp.Expr], str] = {
    exp.Ln: "log",
    exp.Log: "log10",
    exp.Ceil: "ceiling",
    exp.Trunc: "truncate",
    exp.Pow: "power",
    exp.Rand: "rand",
    exp.Mod: "mod",
}
_UNIT_KEEPING = (
    exp.Abs,
    exp.Min,
    exp.Max,
    exp.Avg,
    exp.Sum,
    exp.Ceil,
    exp.Floor,
    exp.Round,
    exp.Trunc,
    exp.Neg,
    exp.Paren,
    exp.Coalesce,
)


def column_type(column: Column) -> exp.DataType:
    """The sqlglot type of a published column, from ``db_type`` or else its VOTable datatype."""
    if column.db_type:
        name = column.db_type.strip().lower()
        if name.endswith("]"):
            return exp.DataType(this=_DT.USERDEFINED, kind=name)
        base = name.split("(", 1)[0].strip()
        dtype = _PG_TYPES.get(base)
        if dtype is not None:
            return exp.DataType(this=dtype)
        return exp.DataType(this=_DT.USERDEFINED, kind=base)
    if column.xtype == "timestamp":
        return exp.DataType(this=_DT.TIMESTAMP)
    dtype = _VOTABLE_TYPES.get(column.datatype)
    if dtype is None or (column.arraysize and column.datatype not in ("char", "unicodeChar")):
        return exp.DataType(this=_DT.USERDEFINED, kind=column.xtype or column.datatype)
    return exp.DataType(this=dtype)


def votable_type(datatype: exp.DataType | None) -> tuple[str, str | None, str | None]:
    """(datatype, arraysize, xtype) of a VOTable FIELD for a sqlglot type (ADQL 2.1 §3)."""
    dtype = datatype.this if datatype is not None else _DT.UNKNOWN
    kind = geo.geometry_kind(datatype)
    if kind is not None:
        return _GEOMETRY_VOTABLE[kind]
    if dtype in _TO_VOTABLE:
        return _TO_VOTABLE[dtype], None, None
    if dtype in _TEMPORAL:
        return "char", "*", "timestamp"
    if dtype in (_DT.CHAR, _DT.VARCHAR) and datatype is not None and datatype.expressions:
        size = datatype.expressions[0].name
        return "char", (size if dtype == _DT.CHAR else f"{size}*"), None
    return "char", "*", None


def expression_name(node: exp.Expr) -> str:
    """The output name of an unaliased expression: its function in lower case, or ``expr``."""
    while isinstance(node, exp.Paren):
        node = node.this
    if isinstance(node, exp.Cast):
        inner = node.this
        return inner.name if isinstance(inner, exp.Column) else expression_name(inner)
    if isinstance(node, exp.Anonymous | geo.ADQLUserFunction):
        return node.name.lower()
    if isinstance(node, geo.ADQLFunction):
        return node.adql_name.lower()
    if type(node) in _NAMES:
        return _NAMES[type(node)]
    if isinstance(node, exp.Func):
        return _NAMES.get(type(node), node.key.lower())
    return "expr"


def unit_of(node: exp.Expr, fields_of: dict[int, Field]) -> str | None:
    """The unit of ``node`` when it is a column, or a function of one that keeps its unit."""
    while isinstance(node, _UNIT_KEEPING):
        node = node.this
    field = fields_of.get(id(node))
    return field.unit if field is not None else None


def expression_field(node: exp.Expr, name: str, fields_of: dict[int, Field]) -> Field:
    """The FIELD of a computed output column called ``name``.

    ``fields_of`` maps ``id()`` of resolved column nodes to their metadata, for
    unit propagation.
    """
    datatype, arraysize, xtype = votable_type(node.type)
    value = None
    if isinstance(node, exp.Literal) and node.is_int:
        value = abs(int(node.this))
    elif isinstance(node, exp.HexString):
        value = int(node.this, 16)
    if value is not None:
        # PostgreSQL types integer literals by their size
        datatype = "int" if value <= 2**31 - 1 else "long" if value <= 2**63 - 1 else "double"
    unit = unit_of(node, fields_of) if isinstance(node, _UNIT_KEEPING) else None
    if xtype in ("point", "circle", "polygon"):
        unit = "deg"
    unit = _GEOMETRY_UNITS.get(type(node), unit)
    if isinstance(node, geo.ADQLInUnit):
        unit = node.args["unit"].this
    return Field(name=name, datatype=datatype, arraysize=arraysize, xtype=xtype, unit=unit)


def widen(left: exp.DataType | None, right: exp.DataType | None) -> exp.DataType | None:
    """The type of a set-operation column whose operands have these types (numeric promotion)."""
    if left is None or right is None or left.this == right.this:
        return left
    if left.this in _NUMERIC_ORDER and right.this in _NUMERIC_ORDER:
        wider = max(_NUMERIC_ORDER.index(left.this), _NUMERIC_ORDER.index(right.this))
        return exp.DataType(this=_NUMERIC_ORDER[wider])
    return left


def unique_names(fields: Iterable[Field]) -> tuple[Field, ...]:
    """Make FIELD names unique ignoring case: later duplicates get ``_2``, ``_3``, … appended."""
    used: set[str] = set()
    result = []
    for field in fields:
        name = field.name
        if name.lower() in used:
            number = 2
            while f"{name}_{number}".lower() in used:
                number += 1
            name = f"{name}_{number}"
            field = dataclasses.replace(field, name=name)
        used.add(name.lower())
        result.append(field)
    return tuple(result)


def infer(outputs: Iterable[_HasField]) -> tuple[Field, ...]:
    """The FIELDs of a query's result columns, with unique names (see :func:`unique_names`)."""
    return unique_names(output.field for output in outputs)
