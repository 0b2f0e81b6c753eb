"""Published tables some ADQL tests share."""

from __future__ import annotations

from vostack.schema import Column, Schema, Table, TableSet


def footprints(schema: str = "obs") -> TableSet:
    """``<schema>.fields``: an id, a published pgSphere polygon column ``fp`` and a text column ``txt``."""
    columns = (
        Column(name="id", datatype="int", db_type="integer", column_index=1),
        Column(
            name="fp", datatype="double", arraysize="*", xtype="polygon", unit="deg", db_type="spoly", column_index=2
        ),
        Column(name="txt", datatype="char", arraysize="*", db_type="text", column_index=3),
    )
    table = Table(name=f"{schema}.fields", schema_name=schema, columns=columns)
    return TableSet(schemas=(Schema(name=schema, tables=(table,)),))
