"""User-defined functions (ADQL 2.1 §4.10 and TAPRegExt 1.0 §2.3, ``features-udf``).

A portal declares a function as a :class:`UDF`: its ADQL name and signature
(which go into the TAP capabilities), its return type and the SQL it stands
for.  The SQL ``template`` is trusted (it comes from the portal, not from the
query): ``{0}``, ``{1}``, … are replaced by the already translated, and
therefore safe, arguments.  :data:`BUILTIN_UDFS` are the functions of the IVOA
UDF catalogue that make sense on PostgreSQL with pgSphere; every service
offers them.

Example::

    UDF(
        name="gavo_specconv",
        params=(("wavelength", "DOUBLE PRECISION"), ("unit", "VARCHAR")),
        returns="DOUBLE PRECISION",
        template="myschema.specconv({0}, {1})",
        description="Convert a wavelength to the given spectral unit.",
    )
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from sqlglot import exp

from vostack.adql import expressions as geo

__all__ = ["BUILTIN_UDFS", "UDF", "adql_type", "declared"]

_TYPES: dict[str, exp.DataType] = {
    "SMALLINT": exp.DataType(this=exp.DType.SMALLINT),
    "INTEGER": exp.DataType(this=exp.DType.INT),
    "BIGINT": exp.DataType(this=exp.DType.BIGINT),
    "REAL": exp.DataType(this=exp.DType.FLOAT),
    "DOUBLE PRECISION": exp.DataType(this=exp.DType.DOUBLE),
    "NUMERIC": exp.DataType(this=exp.DType.DOUBLE),
    "CHAR": exp.DataType(this=exp.DType.TEXT),
    "VARCHAR": exp.DataType(this=exp.DType.TEXT),
    "TEXT": exp.DataType(this=exp.DType.TEXT),
    "TIMESTAMP": exp.DataType(this=exp.DType.TIMESTAMP),
    "BOOLEAN": exp.DataType(this=exp.DType.BOOLEAN),
    "POINT": geo.sphere_type(geo.POINT),
    "CIRCLE": geo.sphere_type(geo.CIRCLE),
    "POLYGON": geo.sphere_type(geo.POLYGON),
}


def adql_type(name: str) -> exp.DataType:
    """The sqlglot type of an ADQL type name (ADQL 2.1 §3), as used in UDF signatures."""
    key = " ".join(name.upper().split())
    if key not in _TYPES:
        raise ValueError(f"unknown ADQL type {name!r}; use one of {', '.join(sorted(_TYPES))}")
    return _TYPES[key].copy()


@dataclass(frozen=True, slots=True)
class UDF:
    """A user-defined function a TAP service offers (ADQL 2.1 §4.10, TAPRegExt 1.0 §2.3).

    Parameters
    ----------
    name
        The ADQL name (a regular identifier; ``ivo_`` names are reserved for the IVOA UDF catalogue).
    params
        ``(name, ADQL type)`` of each argument, for the signature.
    returns
        The ADQL type of the result (``INTEGER``, ``DOUBLE PRECISION``, ``VARCHAR``, ``POINT``, …).
    template
        The PostgreSQL expression; ``{0}``, ``{1}``, … stand for the translated arguments.
    description
        What the function does, for the capabilities.
    """

    name: str
    params: tuple[tuple[str, str], ...]
    returns: str
    template: str
    description: str = ""

    def __post_init__(self) -> None:
        adql_type(self.returns)
        for _, kind in self.params:
            adql_type(kind)
        try:
            self.template.format(*(f"${i}" for i in range(len(self.params))))
        except (IndexError, KeyError, ValueError) as exc:
            raise ValueError(f"bad SQL template for {self.name}: {exc}") from None

    @property
    def form(self) -> str:
        """The TAPRegExt signature, ``name(arg TYPE, …) -> TYPE``."""
        args = ", ".join(f"{name} {kind}" for name, kind in self.params)
        return f"{self.name}({args}) -> {self.returns}"

    @property
    def type(self) -> exp.DataType:
        """The sqlglot type of the result."""
        return adql_type(self.returns)


def _bit(condition: str) -> str:
    return f"(CASE WHEN {condition} THEN 1 ELSE 0 END)"


#: The IVOA UDF catalogue functions vostack translates (IVOA "UDF catalogue", ivo_* names).
BUILTIN_UDFS: tuple[UDF, ...] = (
    UDF(
        name="ivo_hasword",
        params=(("haystack", "TEXT"), ("needle", "TEXT")),
        returns="INTEGER",
        template=_bit("to_tsvector('english', {0}) @@ plainto_tsquery('english', {1})"),
        description="1 if the words of needle occur in haystack (English full-text rules), else 0.",
    ),
    UDF(
        name="ivo_nocasematch",
        params=(("value", "TEXT"), ("pattern", "TEXT")),
        returns="INTEGER",
        template=_bit("{0} ILIKE {1}"),
        description="1 if value matches the LIKE pattern ignoring case, else 0.",
    ),
    UDF(
        name="ivo_hashlist_has",
        params=(("hashlist", "TEXT"), ("item", "TEXT")),
        returns="INTEGER",
        template=_bit("LOWER({1}) = ANY(string_to_array(LOWER({0}), '#'))"),
        description="1 if item is one of the #-separated words of hashlist (ignoring case), else 0.",
    ),
    UDF(
        name="ivo_interval_overlaps",
        params=(("l1", "NUMERIC"), ("h1", "NUMERIC"), ("l2", "NUMERIC"), ("h2", "NUMERIC")),
        returns="INTEGER",
        template=_bit("{0} <= {3} AND {2} <= {1}"),
        description="1 if the closed intervals [l1, h1] and [l2, h2] overlap, else 0.",
    ),
    UDF(
        name="ivo_string_agg",
        params=(("expr", "TEXT"), ("deli", "TEXT")),
        returns="TEXT",
        template="string_agg(CAST({0} AS TEXT), {1})",
        description="The values of expr in a group, joined by deli (an aggregate).",
    ),
    UDF(
        name="ivo_healpix_index",
        params=(("hpxOrder", "INTEGER"), ("ra", "DOUBLE PRECISION"), ("dec", "DOUBLE PRECISION")),
        returns="BIGINT",
        template="healpix_nest({0}, spoint(RADIANS({1}), RADIANS({2})))",
        description="The nested HEALPix index at order hpxOrder of the position ra, dec (degrees).",
    ),
    UDF(
        name="ivo_healpix_center",
        params=(("hpxOrder", "INTEGER"), ("hpxIndex", "BIGINT")),
        returns="POINT",
        template="center_of_healpix_nest({0}, {1})",
        description="The centre of the nested HEALPix pixel hpxIndex at order hpxOrder.",
    ),
)


def declared(udfs: Iterable[UDF]) -> dict[str, UDF]:
    """The built-in and the given functions by upper-case name (given ones win)."""
    table = {udf.name.upper(): udf for udf in BUILTIN_UDFS}
    table.update((udf.name.upper(), udf) for udf in udfs)
    return table
