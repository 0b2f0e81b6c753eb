"""The published metadata model: what TAP_SCHEMA says, as frozen values.

One :class:`TableSet` (VODataService 1.1 ``vs:tableset``) holds the
:class:`Schema` entries, each with its :class:`Table` entries and their
:class:`Column` entries, plus the :class:`ForeignKey` entries (TAP 1.1 §4).
The ADQL translator resolves names against it, VOSI renders it, and result
columns become :class:`Field` values for VOTable ``FIELD`` elements.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field, replace

__all__ = ["Access", "Column", "Field", "ForeignKey", "Schema", "Table", "TableSet"]


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


def _names(value: Iterable[str]) -> frozenset[str]:
    return frozenset(value)


@dataclass(frozen=True, slots=True)
class Access:
    """Who sees which schemas, tables and columns: the groups each is restricted to (empty or absent: public).

    A table is visible to an identity in one of its groups and of its schema's groups; a column, in addition,
    to one in one of its own groups.  Names are compared without case; ``tables`` is keyed by the published
    table name, ``columns`` by ``(table name, column identifier)``.
    """

    schemas: Mapping[str, frozenset[str]] = field(default_factory=dict)
    tables: Mapping[str, frozenset[str]] = field(default_factory=dict)
    columns: Mapping[tuple[str, str], frozenset[str]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        object.__setattr__(self, "schemas", {k.lower(): _names(v) for k, v in self.schemas.items() if v})
        object.__setattr__(self, "tables", {k.lower(): _names(v) for k, v in self.tables.items() if v})
        object.__setattr__(
            self, "columns", {(t.lower(), c.lower()): _names(v) for (t, c), v in self.columns.items() if v}
        )

    @property
    def restricted(self) -> bool:
        """Whether anything is restricted to groups."""
        return bool(self.schemas or self.tables or self.columns)

    @property
    def groups(self) -> frozenset[str]:
        """Every group named by a rule."""
        found: set[str] = set()
        for rules in (self.schemas, self.tables, self.columns):
            for groups in rules.values():
                found |= groups
        return frozenset(found)

    def view(self, groups: Iterable[str]) -> frozenset[str]:
        """The groups of ``groups`` that matter here: identities with the same view see the same tables."""
        return self.groups & frozenset(groups)

    def sees_table(self, table: Table, groups: frozenset[str]) -> bool:
        """Whether members of ``groups`` see ``table`` (its schema's rule and its own)."""
        for rule in (self.schemas.get(table.schema_name.lower()), self.tables.get(table.name.lower())):
            if rule is not None and not rule & groups:
                return False
        return True

    def sees_column(self, table: Table, column: Column, groups: frozenset[str]) -> bool:
        """Whether members of ``groups`` see ``column`` of a visible ``table``."""
        rule = self.columns.get((table.name.lower(), column.identifier.lower()))
        return rule is None or bool(rule & groups)

    def visible(self, tableset: TableSet, groups: Iterable[str]) -> TableSet:
        """What members of ``groups`` see of ``tableset``: schemas with a visible table, visible tables with
        their visible columns, the foreign keys whose tables and columns are all visible."""
        mine = frozenset(groups)
        if not self.restricted:
            return tableset
        schemas = []
        seen: dict[str, Table] = {}
        for schema in tableset.schemas:
            tables = []
            for table in schema.tables:
                if not self.sees_table(table, mine):
                    continue
                columns = tuple(c for c in table.columns if self.sees_column(table, c, mine))
                shown = replace(table, columns=columns) if len(columns) != len(table.columns) else table
                tables.append(shown)
                seen[table.name.lower()] = shown
            if tables:
                schemas.append(replace(schema, tables=tuple(tables)))

        def key_visible(key: ForeignKey) -> bool:
            source, target = seen.get(key.from_table.lower()), seen.get(key.target_table.lower())
            return (
                source is not None
                and target is not None
                and all(source.column(a) is not None and target.column(b) is not None for a, b in key.columns)
            )

        return TableSet(schemas=tuple(schemas), keys=tuple(k for k in tableset.keys if key_visible(k)))
