"""``ivoa.obscore`` (ObsCore 1.1, ObsTAP) as a PostgreSQL view over a spectra table, from the SSA mapping.

The same :class:`vostack.ssa.SSAMapping` that drives SSA gives the view's columns, so SSA
and ObsCore always describe the same products.  :func:`obscore_view_sql` writes the DDL
(constants become SQL literals, quoted here; nothing comes from a request), and
:func:`obscore_table_meta` the TAP_SCHEMA metadata with the ObsCore utypes, UCDs and units
for :class:`vostack.config.PublishConfig`.
"""

from __future__ import annotations

from vostack.config import ColumnMeta, TableMeta
from vostack.db import quote_ident, quote_literal, url_escaped
from vostack.obscore import DATALINK_FORMAT, FOOTPRINT, OBSCORE_COLUMNS, OBSCORE_TABLE, view_comment, view_sql
from vostack.ssa.mapping import SSAMapping

__all__ = [
    "DATALINK_FORMAT",
    "OBSCORE_DATA_MODEL",
    "OBSCORE_TABLE",
    "obscore_select",
    "obscore_table_meta",
    "obscore_view_comment",
    "obscore_view_sql",
]

OBSCORE_DATA_MODEL = ("ivo://ivoa.net/std/ObsCore#core-1.1", "ObsCore-1.1")
"""The TAPRegExt ``dataModel`` a TAP service publishing :data:`OBSCORE_TABLE` declares (ObsCore 1.1 §4.2)."""


def _expr(mapping: SSAMapping, key: str, cast: str) -> str:
    if key in mapping.columns:
        return f"{quote_ident(mapping.columns[key])}::{cast}"
    if key in mapping.constants:
        return f"{quote_literal(mapping.constants[key])}::{cast}"
    return f"NULL::{cast}"


def obscore_view_sql(mapping: SSAMapping, *, datalink_url: str) -> str:
    """``CREATE VIEW ivoa.obscore`` over the mapping's table alone (ObsCore 1.1 §3, §4), replacing one there.

    ``access_url`` points to the DataLink document of each product at ``datalink_url?ID=...``.
    The view's comment is :func:`obscore_view_comment`.  :class:`vostack.obscore.ObsCoreView` makes the view of
    several sources.
    """
    return view_sql([obscore_select(mapping, datalink_url=datalink_url)], security_invoker=mapping.embargoed)


def obscore_view_comment(mapping: SSAMapping, *, datalink_url: str) -> str:
    """The comment :func:`obscore_view_sql` gives the view: it names a digest of the definition, so that a
    server finding the view as it would make it leaves it alone."""
    return view_comment([obscore_select(mapping, datalink_url=datalink_url)], security_invoker=mapping.embargoed)


def obscore_select(mapping: SSAMapping, *, datalink_url: str) -> str:
    """The ``SELECT`` of the ObsCore columns of the spectra (one branch of ``ivoa.obscore``; no footprint)."""
    mapping.check()
    c = {key: quote_ident(name) for key, name in mapping.columns.items()}
    aperture = _expr(mapping, "aperture", "float8")
    pubdid = c["publisher_did"]
    escaped = url_escaped(pubdid)
    size = f"(({c['access_size']} + 1023) / 1024)::bigint" if "access_size" in c else "NULL::bigint"
    resolution = (
        f"({_expr(mapping, 'spatial_resolution', 'float8')} * 3600)"
        if mapping.source("spatial_resolution")
        else "NULL::float8"
    )
    values = {
        "dataproduct_type": "'spectrum'::text",
        "calib_level": _expr(mapping, "calib_level", "integer"),
        "obs_collection": f"{quote_literal(mapping.collection)}::text",
        "obs_id": _expr(mapping, "obs_id", "text"),
        "obs_publisher_did": f"{pubdid}::text",
        "access_url": f"{quote_literal(datalink_url.rstrip('/') + '?ID=')} || {escaped}",
        "access_format": f"{quote_literal(DATALINK_FORMAT)}::text",
        "access_estsize": size,
        "target_name": _expr(mapping, "target_name", "text"),
        "s_ra": f"{c['ra']}::float8",
        "s_dec": f"{c['dec']}::float8",
        "s_fov": aperture,
        "s_region": f"'CIRCLE ICRS ' || {c['ra']}::float8 || ' ' || {c['dec']}::float8 || ' ' || ({aperture} / 2)",
        "s_resolution": resolution,
        "s_xel1": "1::bigint",
        "s_xel2": "1::bigint",
        "t_min": f"{c['t_min']}::float8",
        "t_max": f"{c['t_max']}::float8",
        "t_exptime": _expr(mapping, "time_extent", "float8"),
        "t_resolution": "NULL::float8",
        "t_xel": "1::bigint",
        "em_min": f"{c['em_min']}::float8",
        "em_max": f"{c['em_max']}::float8",
        "em_res_power": _expr(mapping, "res_power", "float8"),
        "em_xel": _expr(mapping, "length", "bigint"),
        "o_ucd": _expr(mapping, "flux_ucd", "text"),
        "pol_states": "NULL::text",
        "pol_xel": "NULL::bigint",
        "facility_name": _expr(mapping, "facility", "text"),
        "instrument_name": _expr(mapping, "instrument", "text"),
    }
    values[FOOTPRINT.name] = "NULL::spoly"  # a point and an aperture: SIA finds them by s_ra, s_dec
    select = ",\n  ".join(f"{values[col.name]} AS {quote_ident(col.name)}" for col in (*OBSCORE_COLUMNS, FOOTPRINT))
    table = ".".join(quote_ident(p) for p in mapping.table.split(".", 1))
    return f"SELECT\n  {select}\nFROM {table}"


def obscore_table_meta() -> TableMeta:
    """The TAP_SCHEMA metadata of ``ivoa.obscore``: ObsCore 1.1 descriptions, units, UCDs, utypes (§4.1)."""
    return TableMeta(
        description="ObsCore 1.1 observation metadata of the products served by this site (ObsTAP).",
        utype="ivo://ivoa.net/std/obscore#table-1.1",
        columns={
            col.name: ColumnMeta(
                description=col.description,
                unit=col.unit,
                ucd=col.ucd,
                utype=col.utype,
                principal=True,
                std=True,
            )
            for col in OBSCORE_COLUMNS
        }
        | {
            FOOTPRINT.name: ColumnMeta(
                description=FOOTPRINT.description, unit=FOOTPRINT.unit, ucd=FOOTPRINT.ucd, principal=False, std=False
            )
        },
    )
