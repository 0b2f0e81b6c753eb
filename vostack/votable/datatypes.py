"""PostgreSQL types as VOTable ``datatype``/``arraysize``/``xtype`` triples.

The mapping follows VOTable 1.4 §2.1 (primitives) and DALI 1.1 §3
(``timestamp``, ``point``, ``circle``, ``polygon`` xtypes); three xtypes come
from DALI 1.2 §3 (``range`` for ``sbox``, ``uuid``, ``json``): a client that
does not know them still reads the underlying datatype (DALI 1.2 §3,
"Unsupported Types").

Choices worth knowing:

* ``numeric``/``decimal`` become ``double`` (the writer converts
  :class:`decimal.Decimal` values); precision beyond 53 bits is lost.
* ``text``, ``varchar`` and unknown types become ``char`` with
  ``arraysize="*"``.  VOTable ``char`` is 7-bit ASCII (VOTable 1.4 §6); a
  column that holds non-ASCII text should be declared ``unicodeChar`` in
  TAP_SCHEMA, otherwise the writer replaces each non-ASCII character by ``?``.
* ``character(1)`` and ``"char"`` have no ``arraysize`` (VOTable 1.4 §2.2:
  ``arraysize="1"`` should not be used); ``character(n)`` gets ``"n"``.
* ``sbox`` is ``double[4]`` with xtype ``range`` (DALI 1.2 §3, "Range"): a
  coordinate box ``lon_min lon_max lat_min lat_max``, which is what an ``sbox``
  is.  A DALI ``polygon`` would be wrong: the lines of constant latitude of a
  box are small circles, not the great circles of a polygon's edges.  The
  database layer must decode an ``sbox`` in that order, in degrees.
* Arrays of numbers and booleans become variable-length arrays
  (``arraysize="*"``); arrays of anything else become ``char`` with xtype
  ``json`` (the writer renders a list value as a JSON array).
"""

from __future__ import annotations

import re

__all__ = ["VOTABLE_DATATYPES", "db_type_to_votable"]

VOTABLE_DATATYPES = frozenset(
    {
        "boolean",
        "bit",
        "unsignedByte",
        "short",
        "int",
        "long",
        "char",
        "unicodeChar",
        "float",
        "double",
        "floatComplex",
        "doubleComplex",
    }
)
"""The primitive datatypes of VOTable 1.4 §2.1 (Table 1)."""

_TEXT: tuple[str, str | None, str | None] = ("char", "*", None)

# Scalar types, keyed by the normalised SQL spelling and by pg_type.typname.
_SCALARS: dict[str, tuple[str, str | None, str | None]] = {
    "smallint": ("short", None, None),
    "int2": ("short", None, None),
    "smallserial": ("short", None, None),
    "integer": ("int", None, None),
    "int": ("int", None, None),
    "int4": ("int", None, None),
    "serial": ("int", None, None),
    "bigint": ("long", None, None),
    "int8": ("long", None, None),
    "bigserial": ("long", None, None),
    "oid": ("long", None, None),
    "real": ("float", None, None),
    "float4": ("float", None, None),
    "double precision": ("double", None, None),
    "float8": ("double", None, None),
    "float": ("double", None, None),
    "numeric": ("double", None, None),
    "decimal": ("double", None, None),
    "boolean": ("boolean", None, None),
    "bool": ("boolean", None, None),
    "text": _TEXT,
    "character varying": _TEXT,
    "varchar": _TEXT,
    "name": _TEXT,
    "citext": _TEXT,
    "character": ("char", None, None),
    "char": ("char", None, None),
    "bpchar": ("char", None, None),
    '"char"': ("char", None, None),
    "timestamp": ("char", "*", "timestamp"),
    "timestamp without time zone": ("char", "*", "timestamp"),
    "timestamp with time zone": ("char", "*", "timestamp"),
    "timestamptz": ("char", "*", "timestamp"),
    "date": ("char", "*", "timestamp"),
    "bytea": ("unsignedByte", "*", None),
    "uuid": ("char", "36", "uuid"),
    "json": ("char", "*", "json"),
    "jsonb": ("char", "*", "json"),
    "spoint": ("double", "2", "point"),
    "scircle": ("double", "3", "circle"),
    "spoly": ("double", "*", "polygon"),
    "sbox": ("double", "4", "range"),
}

# Element types whose PostgreSQL arrays map onto VOTable numeric/boolean arrays.
_ARRAY_ELEMENTS = frozenset({"unsignedByte", "short", "int", "long", "float", "double", "boolean"})

_LENGTH = re.compile(r"^(?P<base>[a-z\" ]+?)\s*\(\s*(?P<args>[0-9,\s]*)\)(?P<rest>.*)$")
_SPACES = re.compile(r"\s+")


def _normalise(db_type: str) -> str:
    return _SPACES.sub(" ", db_type.strip().lower())


def _scalar(db_type: str) -> tuple[str, str | None, str | None]:
    """Map one non-array PostgreSQL type name (already normalised)."""
    found = _SCALARS.get(db_type)
    if found is not None:
        return found
    match = _LENGTH.match(db_type)
    if match is None:
        return _TEXT
    base = _normalise(match["base"] + match["rest"])
    args = [a.strip() for a in match["args"].split(",") if a.strip()]
    if base in ("character", "char", "bpchar"):
        length = int(args[0]) if args else 1
        return ("char", None if length == 1 else str(length), None)
    # varchar(n), numeric(p, s), timestamp(3) with time zone, bit(n) ...
    return _SCALARS.get(base, _TEXT)


def db_type_to_votable(db_type: str) -> tuple[str, str | None, str | None]:
    """Map a PostgreSQL type name to a VOTable ``(datatype, arraysize, xtype)``.

    Accepts the spellings of ``format_type()`` (``"double precision"``,
    ``"character varying(20)"``, ``"integer[]"``) and of ``pg_type.typname``
    (``"float8"``, ``"bpchar"``, ``"_int4"``).  Unknown types map to
    ``("char", "*", None)``, i.e. their text form.

    Implements the datatype rules of VOTable 1.4 §2.1 and the xtypes of
    DALI 1.1 §3 (see the module docstring for the choices made).

    Parameters
    ----------
    db_type : str
        The type name as PostgreSQL reports it.

    Returns
    -------
    tuple of (str, str or None, str or None)
        The VOTable ``datatype``, ``arraysize`` and ``xtype``.
    """
    name = _normalise(db_type)
    element: str | None = None
    if name.endswith("[]"):
        element = name[:-2].rstrip()
        while element.endswith("[]"):  # PostgreSQL does not enforce dimensions
            element = element[:-2].rstrip()
    elif name.startswith("_") and len(name) > 1:
        element = name[1:]
    elif name.endswith(" array"):
        element = name.removesuffix(" array").strip()
    if element is None:
        return _scalar(name)
    datatype, arraysize, _ = _scalar(element)
    if datatype in _ARRAY_ELEMENTS and arraysize is None:
        return (datatype, "*", None)
    return ("char", "*", "json")
