"""SSA queryData as SQL: built from validated values with ``$n`` bind parameters (SSA 1.1 §8.4).

Every filter compares the mapping's columns with bind parameters; column names come
from the mapping, quoted as identifiers.  POS and SIZE use the pgSphere expression that a
GiST index on ``spoint(radians(ra), radians(dec))`` serves.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from vostack.db import quote_ident
from vostack.schema import Field
from vostack.ssa.fields import SSA_FIELDS, SSAField
from vostack.ssa.mapping import SSAMapping
from vostack.ssa.params import Range, SSARequest

__all__ = ["Kind", "SQLQuery", "build_query", "kinds_for", "output_fields", "qualified"]

#: The product variants a record can point to: the original file, the Spectrum DM VOTable, the SVG preview.
Kind = str
NATIVE, COMPLIANT, GRAPHIC = "native", "compliant", "graphic"

_SPACES = re.compile(r"\s+")
VOTABLE_MIME = "application/x-votable+xml"


@dataclass(frozen=True, slots=True)
class SQLQuery:
    """A statement and the values of its bind parameters."""

    sql: str
    args: tuple[object, ...]
    columns: tuple[str, ...]


def qualified(table: str) -> str:
    """``schema.table`` as quoted identifiers."""
    return ".".join(quote_ident(part) for part in table.split(".", 1))


def normalise_name(name: str) -> str:
    """A target name compared without case and blanks (SSA 1.1 §8.5.1 TARGETNAME)."""
    return _SPACES.sub("", name).lower()


def output_fields(mapping: SSAMapping) -> list[tuple[SSAField, Field]]:
    """The response fields this mapping provides, each as an SSA field and a VOTable ``FIELD``."""
    computed = {"location", "target_pos", "spectral_location", "spectral_extent", "access_reference", "access_format"}
    result = []
    for spec in SSA_FIELDS:
        if spec.key not in computed and mapping.source(spec.key) is None:
            continue
        result.append(
            (
                spec,
                Field(
                    spec.key,
                    spec.datatype,
                    arraysize=spec.arraysize,
                    unit=spec.unit,
                    ucd=spec.ucd,
                    utype=spec.utype,
                    description=spec.description,
                ),
            )
        )
    return result


def kinds_for(request: SSARequest, native_type: str) -> tuple[Kind, ...]:
    """Which product variants the FORMAT of ``request`` selects (SSA 1.1 §8.4.2), in output order."""
    kinds: list[Kind] = []
    for token in request.formats:
        if token == "all":
            chosen = [NATIVE, COMPLIANT]
        elif token in ("native", "fits") or token == native_type.lower():
            chosen = [NATIVE]
        elif token in ("compliant", "votable", "xml") or token.startswith(VOTABLE_MIME):
            chosen = [COMPLIANT]
        elif token in ("graphic", "image/svg+xml"):
            chosen = [GRAPHIC]
        else:
            chosen = []  # a MIME type this service does not offer matches nothing
        kinds.extend(k for k in chosen if k not in kinds)
    return tuple(kinds)


def _ranges(low_col: str, high_col: str, ranges: Sequence[Range], arg: _Args) -> str:
    parts = []
    for r in ranges:
        conds = []
        if r.low is not None:
            conds.append(f"{high_col} >= {arg(r.low)}")
        if r.high is not None:
            conds.append(f"{low_col} <= {arg(r.high)}")
        parts.append("(" + (" AND ".join(conds) or "TRUE") + ")")
    return "(" + " OR ".join(parts) + ")"


class _Args:
    def __init__(self) -> None:
        self.values: list[object] = []

    def __call__(self, value: object) -> str:
        self.values.append(value)
        return f"${len(self.values)}"


def _constant_fails(mapping: SSAMapping, key: str, ok: bool) -> bool:
    return mapping.source(key) == "constant" and not ok


def build_query(mapping: SSAMapping, request: SSARequest, *, limit: int) -> SQLQuery:
    """The SELECT for ``request`` on the mapping's table, at most ``limit`` rows (SSA 1.1 §8.4)."""
    col = {key: quote_ident(name) for key, name in mapping.columns.items()}
    columns = tuple(mapping.column_names())
    arg = _Args()
    where: list[str] = []
    point = f"spoint(radians({col['ra']}), radians({col['dec']}))"
    order = col["publisher_did"]
    if request.ra is not None and request.dec is not None and request.size is not None:
        centre = f"spoint(radians({arg(request.ra)}::float8), radians({arg(request.dec)}::float8))"
        where.append(f"{point} <@ scircle({centre}, radians({arg(request.size / 2)}::float8))")
        order = f"{point} <-> {centre}, {order}"
    if request.band:
        where.append(_ranges(col["em_min"], col["em_max"], request.band, arg))
    if request.time:
        where.append(_ranges(col["t_min"], col["t_max"], request.time, arg))
    constants = mapping.constants
    for key, minimum in (("res_power", request.min_res_power), ("snr", request.min_snr)):
        if minimum is None:
            continue
        if key in col:
            where.append(f"{col[key]} >= {arg(minimum)}")
        elif _constant_fails(mapping, key, float(constants[key]) >= minimum if key in constants else True):  # type: ignore[arg-type]
            where.append("FALSE")
    if request.max_spatial_resolution is not None and "spatial_resolution" in col:
        where.append(f"{col['spatial_resolution']} <= {arg(request.max_spatial_resolution)}")
    if request.redshift and "redshift" in col:
        where.append(_ranges(col["redshift"], col["redshift"], request.redshift, arg))
    if request.target_name is not None:
        if "target_name" in col:
            name = arg(normalise_name(request.target_name))
            where.append(f"lower(regexp_replace({col['target_name']}, '\\s+', '', 'g')) = {name}")
        elif normalise_name(str(constants.get("target_name", ""))) != normalise_name(request.target_name):
            where.append("FALSE")
    if request.collections and mapping.collection.lower() not in {c.lower() for c in request.collections}:
        where.append("FALSE")
    if request.creator_did is not None:
        if "creator_did" in col:
            where.append(f"{col['creator_did']} = {arg(request.creator_did)}")
        else:
            where.append("FALSE")  # no dataset has a creator's identifier
    if request.publisher_dids:
        where.append(f"{col['publisher_did']} = ANY({arg(list(request.publisher_dids))}::text[])")
    select = ", ".join(quote_ident(c) for c in columns)
    sql = f"SELECT {select} FROM {qualified(mapping.table)}"
    if where:
        sql += " WHERE " + " AND ".join(where)
    sql += f" ORDER BY {order} LIMIT {arg(limit)}"
    return SQLQuery(sql, tuple(arg.values), columns)
