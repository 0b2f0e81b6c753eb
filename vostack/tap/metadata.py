"""TAP_SCHEMA contents: PostgreSQL's catalog merged with the portal's metadata (TAP 1.1 §4)."""

from __future__ import annotations

from collections.abc import Mapping

from vostack.adql import delimit
from vostack.config import ColumnMeta, ConfigError, PublishConfig, TableMeta
from vostack.db import CatalogColumn, CatalogTable
from vostack.schema import Column, ForeignKey, Schema, Table, TableSet
from vostack.votable import db_type_to_votable

__all__ = ["TAP_SCHEMA_META", "build_tableset", "tap_schema_location"]

_TS = "tap_schema"


def _std(description: str, *, principal: bool = True) -> ColumnMeta:
    return ColumnMeta(description=description, principal=principal, std=True)


#: TAP_SCHEMA describes itself (TAP 1.1 §4: its tables are published and queryable).
TAP_SCHEMA_META: Mapping[str, TableMeta] = {
    f"{_TS}.schemas": TableMeta(
        description="The schemas published by this service.",
        columns={
            "schema_name": _std("Fully qualified schema name"),
            "utype": _std("Schema utype", principal=False),
            "description": _std("Brief description of the schema"),
            "schema_index": _std("Recommended sort order when listing schemas", principal=False),
        },
    ),
    f"{_TS}.tables": TableMeta(
        description="The tables published by this service.",
        columns={
            "schema_name": _std("Fully qualified schema name"),
            "table_name": _std("Fully qualified table name, as used in queries"),
            "table_type": _std("One of: table, view"),
            "utype": _std("Table utype", principal=False),
            "description": _std("Brief description of the table"),
            "table_index": _std("Recommended sort order when listing tables", principal=False),
        },
    ),
    f"{_TS}.columns": TableMeta(
        description="The columns of the tables published by this service.",
        columns={
            "table_name": _std("Fully qualified table name"),
            "column_name": _std("Column name, as used in queries"),
            "utype": _std("Column utype", principal=False),
            "ucd": _std("Column UCD (UCD1+)"),
            "unit": _std("Column unit (VOUnit)"),
            "description": _std("Brief description of the column"),
            "datatype": _std("VOTable datatype of the column"),
            "arraysize": _std("VOTable arraysize of the column (a string)", principal=False),
            "xtype": _std("VOTable/DALI extended type of the column", principal=False),
            "size": _std("Deprecated: the length of fixed-size arrays (use arraysize)", principal=False),
            "principal": _std("1 if the column is a principal one, 0 otherwise"),
            "indexed": _std("1 if the column is indexed, 0 otherwise"),
            "std": _std("1 if the column is defined by a standard, 0 otherwise"),
            "column_index": _std("Recommended sort order when listing columns", principal=False),
        },
    ),
    f"{_TS}.keys": TableMeta(
        description="Foreign keys between the published tables.",
        columns={
            "key_id": _std("Unique key identifier"),
            "from_table": _std("Fully qualified table name of the table holding the key"),
            "target_table": _std("Fully qualified table name of the table the key points to"),
            "utype": _std("Key utype", principal=False),
            "description": _std("Brief description of the key"),
        },
    ),
    f"{_TS}.key_columns": TableMeta(
        description="The columns making up the foreign keys in TAP_SCHEMA.keys.",
        columns={
            "key_id": _std("Key identifier, from TAP_SCHEMA.keys"),
            "from_column": _std("Column in the table holding the key"),
            "target_column": _std("Column in the target table"),
        },
    ),
}


def _column(cat_col: CatalogColumn, meta: ColumnMeta | None, index: int) -> Column:
    datatype, arraysize, xtype = db_type_to_votable(cat_col.db_type)
    meta = meta or ColumnMeta()
    if meta.datatype is not None:
        if datatype not in ("char", "unicodeChar"):
            raise ConfigError(f"{cat_col.name} is {cat_col.db_type}: only a text column can be {meta.datatype}")
        datatype = meta.datatype
    return Column(
        name=delimit(cat_col.name),
        datatype=datatype,
        arraysize=meta.arraysize or arraysize,
        xtype=meta.xtype or xtype,
        unit=meta.unit,
        ucd=meta.ucd,
        utype=meta.utype,
        description=meta.description or cat_col.comment,
        principal=meta.principal,
        indexed=cat_col.indexed,
        std=meta.std,
        column_index=index,
        db_type=cat_col.db_type,
    )


def tap_schema_location(name: str, tap_schema: str) -> str:
    """The database name of the published table ``name``: TAP_SCHEMA's tables (``tap_schema.tables``, in any
    case) are in the database schema ``tap_schema``; any other table is where its name says."""
    schema, _, table = name.partition(".")
    if schema.lower() == _TS and table.lower() in _TAP_SCHEMA_TABLES:
        return f"{tap_schema}.{table.lower()}"
    return name


_TAP_SCHEMA_TABLES = frozenset(name.partition(".")[2] for name in TAP_SCHEMA_META)


def build_tableset(
    catalog: Mapping[str, CatalogTable],
    config: PublishConfig,
    *,
    tap_schema: str = _TS,
) -> TableSet:
    """Merge catalog descriptions with the configured metadata into the published :class:`TableSet`.

    Tables come in configuration order, then TAP_SCHEMA's own tables; foreign
    keys are published when both ends are published (TAP 1.1 §4.4).  ``catalog``
    is keyed by database names; TAP_SCHEMA's tables live in the database schema
    ``tap_schema`` and are published as ``tap_schema.*`` whatever that schema is
    called (TAP 1.1 §4: clients query ``TAP_SCHEMA.tables``).
    """
    metas: dict[str, TableMeta] = {**config.tables, **TAP_SCHEMA_META}
    located = {name: tap_schema_location(name, tap_schema) for name in metas}
    unknown = [
        f"{name}.{col}"
        for name, meta in metas.items()
        if located[name] in catalog
        for col in meta.columns
        if col not in {c.name for c in catalog[located[name]].columns}
    ]
    if unknown:
        raise ConfigError(f"the configuration describes columns the database does not have: {', '.join(unknown)}")
    tables: dict[str, list[Table]] = {}
    for t_index, (name, meta) in enumerate(metas.items()):
        cat = catalog[located[name]]
        columns = tuple(_column(c, meta.columns.get(c.name), i) for i, c in enumerate(cat.columns))
        schema_name = name.partition(".")[0] if name in TAP_SCHEMA_META else cat.schema_name
        tables.setdefault(schema_name, []).append(
            Table(
                name=name,
                schema_name=schema_name,
                columns=columns,
                table_type=cat.kind,
                description=meta.description or cat.comment,
                utype=meta.utype,
                table_index=t_index,
                nrows=cat.nrows,
                db_name=None if located[name] == name else located[name],
            )
        )
    descriptions = dict(config.schemas)
    descriptions.setdefault(_TS, "The TAP_SCHEMA: metadata of the tables this service publishes (TAP 1.1 §4).")
    schemas = tuple(
        Schema(name=name, tables=tuple(tabs), description=descriptions.get(name), schema_index=i)
        for i, (name, tabs) in enumerate(tables.items())
    )
    published = {db_name: name for name, db_name in located.items()}
    keys = tuple(
        ForeignKey(
            key_id=f"{published[name]}.{conname}",
            from_table=published[name],
            target_table=published[target],
            columns=tuple(zip(cols, target_cols, strict=True)),
        )
        for name, cat in catalog.items()
        if name in published
        for conname, cols, target, target_cols in cat.foreign_keys
        if target in published
    )
    return TableSet(schemas=schemas, keys=keys)
