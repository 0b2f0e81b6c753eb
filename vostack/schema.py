"""The published metadata model: what TAP_SCHEMA says, as frozen values.

One :class:`TableSet` (VODataService 1.1 ``vs:tableset``) holds the
:class:`Schema` entries, each with its :class:`Table` entries and their
:class:`Column` entries, plus the :class:`ForeignKey` entries (TAP 1.1 §4).
The ADQL translator resolves names against it, VOSI renders it, and result
columns become :class:`Field` values for VOTable ``FIELD`` elements.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field, replace

__all__ = ["Column", "Field", "ForeignKey", "Schema", "Table", "TableSet"]


@dataclass(frozen=True, slots=True)
class Field:
    """A result column, rendered as a VOTable ``FIELD`` (VOTable 1.4 §3.2)."""

    name: str
    datatype: str
    arraysize: str | None = None
    xtype: str | None = None
    unit: str | None = None
    ucd: str | None = None
    utype: str | None = None
    description: str | None = None


@dataclass(frozen=True, slots=True)
class Column:
    """One row of ``TAP_SCHEMA.columns`` (TAP 1.1 §4.3).

    ``name`` is the name as published, delimited (``'"size"'``) where ADQL
    needs it; :attr:`identifier` is the name in the database.

    ``datatype`` and ``arraysize`` use VOTable terms (``"double"``, ``"char"``
    with ``"*"``); ``db_type`` is the PostgreSQL type the column has in the
    database (``"double precision"``, ``"spoint"``), when known.
    """

    name: str
    datatype: str
    arraysize: str | None = None
    xtype: str | None = None
    unit: str | None = None
    ucd: str | None = None
    utype: str | None = None
    description: str | None = None
    principal: bool = False
    indexed: bool = False
    std: bool = False
    column_index: int | None = None
    db_type: str | None = None

    @property
    def identifier(self) -> str:
        """The column's name in the database: the published name without ADQL delimiters (ADQL 2.1 §2.1.3)."""
        name = self.name
        if len(name) >= 2 and name[0] == name[-1] == '"':
            return name[1:-1].replace('""', '"')
        return name

    def as_field(self) -> Field:
        """The VOTable ``FIELD`` a query returns for this column unchanged."""
        return Field(
            name=self.identifier,
            datatype=self.datatype,
            arraysize=self.arraysize,
            xtype=self.xtype,
            unit=self.unit,
            ucd=self.ucd,
            utype=self.utype,
            description=self.description,
        )


@dataclass(frozen=True, slots=True)
class Table:
    """One row of ``TAP_SCHEMA.tables`` with its columns (TAP 1.1 §4.2).

    ``name`` is the fully qualified name as published (``"hipparcos.main"``);
    ``nrows`` is a row-count estimate, when known.  ``db_name`` is the
    qualified name in the database when it differs from ``name`` (a TAP
    upload ``TAP_UPLOAD.t`` is the temporary table ``pg_temp.t``).
    """

    name: str
    schema_name: str
    columns: tuple[Column, ...]
    table_type: str = "table"
    description: str | None = None
    utype: str | None = None
    table_index: int | None = None
    nrows: int | None = None
    db_name: str | None = None

    @property
    def short_name(self) -> str:
        """The table name without its schema prefix."""
        prefix = self.schema_name + "."
        return self.name[len(prefix) :] if self.name.lower().startswith(prefix.lower()) else self.name

    def column(self, name: str) -> Column | None:
        """The column called ``name`` (exact match first, then case-insensitive)."""
        for col in self.columns:
            if col.name == name:
                return col
        lowered = name.lower()
        for col in self.columns:
            if col.name.lower() == lowered:
                return col
        return None


@dataclass(frozen=True, slots=True)
class ForeignKey:
    """One row of ``TAP_SCHEMA.keys`` with its ``key_columns`` (TAP 1.1 §4.4, §4.5)."""

    key_id: str
    from_table: str
    target_table: str
    columns: tuple[tuple[str, str], ...]
    description: str | None = None
    utype: str | None = None


@dataclass(frozen=True, slots=True)
class Schema:
    """One row of ``TAP_SCHEMA.schemas`` with its tables (TAP 1.1 §4.1)."""

    name: str
    tables: tuple[Table, ...]
    description: str | None = None
    utype: str | None = None
    schema_index: int | None = None


@dataclass(frozen=True, slots=True)
class TableSet:
    """Everything a TAP service publishes (VODataService 1.1 ``vs:tableset``)."""

    schemas: tuple[Schema, ...]
    keys: tuple[ForeignKey, ...] = ()
    _by_name: dict[str, Table] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        index: dict[str, Table] = {}
        for table in self.tables():
            index.setdefault(table.name.lower(), table)
        object.__setattr__(self, "_by_name", index)

    def tables(self) -> Iterator[Table]:
        """All published tables, schema by schema."""
        for schema in self.schemas:
            yield from schema.tables

    def table(self, name: str) -> Table | None:
        """The table with the qualified ``name`` (exact match first, then case-insensitive)."""
        for table in self.tables():
            if table.name == name:
                return table
        return self._by_name.get(name.lower())

    def only(self, *names: str) -> TableSet:
        """The table set of the tables ``names`` alone, in their schemas, with the keys between them
        (a registry record's tableset for one data collection)."""
        wanted = {name.lower() for name in names}
        schemas = tuple(
            replace(schema, tables=tables)
            for schema in self.schemas
            if (tables := tuple(t for t in schema.tables if t.name.lower() in wanted))
        )
        keys = tuple(k for k in self.keys if {k.from_table.lower(), k.target_table.lower()} <= wanted)
        return TableSet(schemas=schemas, keys=keys)

    def keys_from(self, table_name: str) -> tuple[ForeignKey, ...]:
        """The foreign keys whose ``from_table`` is ``table_name``."""
        return tuple(k for k in self.keys if k.from_table.lower() == table_name.lower())
