"""Name resolution: tie every table and column of a query to the published TableSet.

ADQL 2.1 §2.1: regular identifiers match case-insensitively, delimited
(``"..."``) identifiers match exactly.  TAP 1.1 §4: a query may only read the
tables TAP_SCHEMA publishes.  This module walks the (already syntax-checked)
tree scope by scope, in SQL's order (WITH, FROM, then the select list, WHERE,
GROUP BY, HAVING, ORDER BY) and rewrites it in place so that PostgreSQL can only
see what the TableSet publishes:

* every table becomes its published ``"schema"."table"``, with an alias (the
  user's, or the table name), so it can be addressed unambiguously;
* every column becomes ``"alias"."published_name"`` (a column merged by
  ``USING``/``NATURAL`` stays unqualified, as SQL wants);
* ``*`` and ``t.*`` expand to the published columns (``column_index`` order), so
  unpublished columns never leak;
* user-chosen names (aliases, common table expressions) become delimited
  identifiers, lower-cased when they were regular, so ADQL's case rules survive
  PostgreSQL's;
* every column gets its sqlglot type and every expression the type sqlglot's type
  annotator gives it, for :mod:`vostack.adql.fields` and :mod:`vostack.adql.morph`.

A table may be written without its schema when exactly one published table has
that name (ADQL 2.1 §2.2 leaves default schemas to the service).
Unknown tables (``pg_catalog.pg_class``, unpublished schemas, table functions)
and columns raise :class:`~vostack.errors.ADQLSemanticError` naming them as the
user wrote them.  ``IN_UNIT(x, 'unit')`` gets its conversion factor here, from
the unit of ``x`` (a column, or a function keeping its column's unit).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TypeGuard

from sqlglot import exp
from sqlglot.optimizer.annotate_types import TypeAnnotator
from sqlglot.schema import MappingSchema

from vostack.adql.dialect import (
    ADQL,
    BINARY_COERCIONS,
    FUNCTIONS,
    GEOMETRY_FUNCTIONS,
)
from vostack.adql.errormap import semantic_error
from vostack.adql.expressions import (
    ADQLFunction,
    ADQLInUnit,
    ADQLUserFunction,
    DaliGeometry,
    chain,
    literal_geometry,
)
from vostack.adql.fields import column_type, expression_field, expression_name, unit_of, votable_type, widen
from vostack.adql.regions import GEOMETRY_CASTS, read_dali, read_stcs
from vostack.adql.shapes import pin
from vostack.adql.udf import UDF
from vostack.schema import Field, Table, TableSet

__all__ = ["ColumnCache", "OutputColumn", "Resolved", "published_columns", "resolve"]


@dataclass(slots=True)
class OutputColumn:
    """A column a source (table, subquery, query) exposes.

    ``name`` is its name in the generated SQL, ``field`` the metadata a client
    sees, ``type`` its sqlglot type.
    """

    name: str
    field: Field
    type: exp.DataType


@dataclass(slots=True)
class Resolved:
    """A query rewritten for the published tables, with its output columns and the tables it reads."""

    tree: exp.Query
    outputs: list[OutputColumn]
    tables: tuple[str, ...]


#: The columns of published tables by qualified table name, with their index by lower-case name
#: (see :func:`resolve`): computed once per table and TableSet by a :class:`vostack.adql.Translator`.
ColumnCache = dict[str, tuple[list[OutputColumn], dict[str, list[int]]]]


def _index(columns: Sequence[OutputColumn]) -> dict[str, list[int]]:
    index: dict[str, list[int]] = {}
    for position, column in enumerate(columns):
        index.setdefault(column.name.lower(), []).append(position)
    return index


def published_columns(table: Table) -> tuple[list[OutputColumn], dict[str, list[int]]]:
    """The columns a published table exposes (TAP 1.1 §4.3), in ``column_index`` order, with their index
    by lower-case name."""
    columns = sorted(
        table.columns,
        key=lambda c: (c.column_index is None, c.column_index if c.column_index is not None else 0),
    )
    outputs = [OutputColumn(c.identifier, c.as_field(), column_type(c)) for c in columns]
    return outputs, _index(outputs)


@dataclass(slots=True)
class _Source:
    """A FROM item: a published table, a common table expression or a subquery."""

    name: str  # the (canonical) name that qualifies its columns in the output SQL
    columns: list[OutputColumn]
    table: Table | None = None  # the published table
    aliased: bool = True  # False: addressed by its own name (or schema.name)
    index: dict[str, list[int]] | None = None  # positions of the columns by lower-case name

    def find(self, identifier: exp.Identifier) -> list[int]:
        """Positions of the columns ``identifier`` names (ADQL 2.1 §2.1), exact matches first when several."""
        if self.index is None:
            self.index = _index(self.columns)
        written = str(identifier.this)
        hits = self.index.get(written.lower(), [])
        if len(hits) > 1 or (hits and identifier.quoted):
            exact = [i for i in hits if self.columns[i].name == written]
            return exact if exact or identifier.quoted else hits
        return hits


@dataclass(slots=True)
class _Entry:
    """One column of a FROM clause's ``*``: its source (None when merged by USING) and column."""

    source: _Source | None
    column: OutputColumn


@dataclass(slots=True)
class _Cte:
    name: str
    columns: list[OutputColumn]


@dataclass(slots=True)
class _Scope:
    parent: _Scope | None
    ctes: tuple[_Cte, ...]
    sources: list[_Source] = field(default_factory=list)
    merged: dict[str, OutputColumn] = field(default_factory=dict)
    star: list[_Entry] = field(default_factory=list)

    def chain(self) -> Iterator[_Scope]:
        scope: _Scope | None = self
        while scope is not None:
            yield scope
            scope = scope.parent


_SCHEMA = MappingSchema(dialect=ADQL)  # the annotator only types expressions: columns are typed by this module


def canonical(identifier: exp.Identifier) -> str:
    """The SQL name of a user-chosen identifier: delimited ones as written, regular ones lower-cased."""
    written = str(identifier.this)
    return written if identifier.quoted else written.lower()


def matches(identifier: exp.Identifier, name: str) -> bool:
    """Whether ``identifier`` names ``name`` (ADQL 2.1 §2.1: regular ones ignore case)."""
    written = str(identifier.this)
    return name == written if identifier.quoted else name.lower() == written.lower()


def _quoted(name: str, identifier: exp.Expr | None = None) -> exp.Identifier:
    """A delimited identifier for ``name``; an existing one is reused to keep its source position."""
    if isinstance(identifier, exp.Identifier):
        args = identifier.args
        if args.get("this") != name:
            identifier.set("this", name)
        if args.get("quoted") is not True:
            identifier.set("quoted", True)
        return identifier
    return exp.Identifier(this=name, quoted=True)


def _put(node: exp.Expr, key: str, value: exp.Expr | None) -> None:
    """``node.set(key, value)``, skipped when it would change nothing (it is the same node already)."""
    if node.args.get(key) is not value or (value is None and key in node.args):
        node.set(key, value)


def _pick(identifier: exp.Identifier, names: Sequence[str]) -> list[int]:
    """Indices of ``names`` matching ``identifier``, exact matches first when there are several."""
    hits = [i for i, name in enumerate(names) if matches(identifier, name)]
    if len(hits) > 1:
        exact = [i for i in hits if names[i] == identifier.this]
        return exact or hits
    return hits


def resolve(
    tree: exp.Query,
    tableset: TableSet,
    text: str,
    udfs: Mapping[str, UDF] | None = None,
    columns: ColumnCache | None = None,
) -> Resolved:
    """Resolve ``tree`` (parsed and checked ADQL) against ``tableset``, rewriting it in place.

    ``udfs`` maps upper-case names to the user-defined functions the service offers;
    ``columns`` caches the published columns of ``tableset``'s tables between calls.
    """
    resolver = _Resolver(tableset, text, udfs or {}, {} if columns is None else columns)
    outputs = resolver.query(tree, None, (), derived=False)
    return Resolved(tree=tree, outputs=outputs, tables=tuple(resolver.tables))


class _Resolver:
    def __init__(self, tableset: TableSet, text: str, udfs: Mapping[str, UDF], columns: ColumnCache) -> None:
        self.udfs = udfs
        self.tableset = tableset
        self.text = text
        self.columns = columns
        self.tables: list[str] = []
        self.fields_of: dict[int, Field] = {}
        self.annotator = TypeAnnotator(_SCHEMA, binary_coercions=BINARY_COERCIONS, overwrite_types=False)

    # -- messages -------------------------------------------------------------------------------

    def written(self, node: exp.Expr) -> str:
        """``node`` as the user wrote it, from the query text."""
        if not isinstance(node, exp.Expr):
            return str(node)  # an empty name part, as in "a..b"
        starts, ends = [], []
        for sub in node.walk():
            meta = sub.meta
            if "start" in meta and "end" in meta:
                starts.append(meta["start"])
                ends.append(meta["end"])
        if starts:
            return self.text[min(starts) : max(ends) + 1]
        return node.sql(dialect=ADQL)

    def error(self, message: str, node: exp.Expr) -> Exception:
        return semantic_error(message, self.text, node)

    # -- queries --------------------------------------------------------------------------------

    def query(
        self, node: exp.Expr, parent: _Scope | None, ctes: tuple[_Cte, ...], *, derived: bool
    ) -> list[OutputColumn]:
        with_ = node.args.get("with_")
        if with_ is not None:
            ctes = self.with_(with_, ctes)
        if isinstance(node, exp.Subquery):
            outputs = self.query(node.this, parent, ctes, derived=derived)
            self.set_order(node, outputs)
            return outputs
        if isinstance(node, exp.Select):
            return self.select(node, parent, ctes, derived=derived)
        if isinstance(node, exp.Union | exp.Except | exp.Intersect):
            left = self.query(node.this, parent, ctes, derived=derived)
            right = self.query(node.expression, parent, ctes, derived=False)
            if len(left) != len(right):
                raise self.error(
                    f"the queries of {node.key.upper()} select different numbers of columns "
                    f"({len(left)} and {len(right)})",
                    node.expression,
                )
            outputs = []
            for mine, theirs in zip(left, right, strict=True):
                wider = widen(mine.type, theirs.type)
                if wider is not None and wider is not mine.type:
                    datatype, arraysize, xtype = votable_type(wider)
                    changed = dataclasses.replace(mine.field, datatype=datatype, arraysize=arraysize, xtype=xtype)
                    mine = OutputColumn(mine.name, changed, wider)
                outputs.append(mine)
            self.set_order(node, outputs)
            return outputs
        raise self.error(f"unexpected {node.key}", node)  # pragma: no cover - validate refuses it

    def with_(self, with_: exp.Expr, ctes: tuple[_Cte, ...]) -> tuple[_Cte, ...]:
        for cte in with_.expressions:
            alias = cte.args["alias"]
            outputs = self.query(cte.this, None, ctes, derived=True)
            names = alias.columns
            if names:
                if len(names) != len(outputs):
                    raise self.error(
                        f"{alias.name} names {len(names)} columns but its query selects {len(outputs)}", cte
                    )
                outputs = [
                    OutputColumn(canonical(n), dataclasses.replace(o.field, name=n.this), o.type)
                    for n, o in zip(names, outputs, strict=True)
                ]
                alias.set("columns", [_quoted(o.name, n) for o, n in zip(outputs, names, strict=True)])
            name = canonical(alias.this)
            alias.set("this", _quoted(name, alias.this))
            ctes = (*ctes, _Cte(name, outputs))
        return ctes

    def set_order(self, node: exp.Expr, outputs: list[OutputColumn]) -> None:
        """ORDER BY of a set operation (or parenthesised query) names output columns or positions."""
        order = node.args.get("order")
        if order is None:
            return
        kept = []
        for term in order.expressions:
            key = term.this
            if _is_position(key):
                self.position(key, outputs)
                kept.append(term)
                continue
            if _is_constant(key):
                continue  # sorts nothing (see _is_constant)
            kept.append(term)
            if not isinstance(key, exp.Column) or key.table:
                raise self.error(
                    "ORDER BY after UNION, EXCEPT or INTERSECT takes output column names or positions", key
                )
            hits = _pick(key.this, [o.name for o in outputs])
            if len(hits) != 1:
                raise self.error(f"unknown column {self.written(key)!r} in ORDER BY", key)
            key.replace(exp.Column(this=_quoted(outputs[hits[0]].name, key.this)))
        order.set("expressions", kept)
        if not kept:
            node.set("order", None)

    def position(self, literal: exp.Literal, outputs: Sequence[object]) -> None:
        pin(literal)  # which column it names depends on its value
        if literal.is_int and not 1 <= int(literal.this) <= len(outputs):
            raise self.error(f"ORDER BY position {literal.this} is not in the select list", literal)

    # -- SELECT ---------------------------------------------------------------------------------

    def select(
        self, node: exp.Select, parent: _Scope | None, ctes: tuple[_Cte, ...], *, derived: bool
    ) -> list[OutputColumn]:
        scope = _Scope(parent, ctes)
        from_ = node.args["from_"]
        scope.star = self.from_item(from_.this, scope)
        for join in node.args.get("joins") or ():
            scope.star = self.join(join, scope, scope.star)

        items: list[exp.Expr] = []
        outputs: list[OutputColumn] = []
        aliases: dict[str, exp.Expr] = {}
        for item in node.expressions:
            if isinstance(item, exp.Star):
                for entry in scope.star:
                    items.append(self.reference(entry))
                    outputs.append(entry.column)
                continue
            if isinstance(item, exp.Column) and isinstance(item.this, exp.Star):
                source = self.find_source(item, scope, star=True)
                for published in source.columns:
                    items.append(self.reference(_Entry(source, published)))
                    outputs.append(published)
                continue
            alias = item.args.get("alias") if isinstance(item, exp.Alias) else None
            value = item.this if isinstance(item, exp.Alias) else item
            value, column = self.expression(value, scope)
            if isinstance(item, exp.Alias):
                item.set("this", value)
            else:
                item = value
            outputs.append(self.output(value, column, alias))
            if alias is not None:
                alias_name = canonical(alias)
                aliases.setdefault(alias_name, value)
                item.set("alias", _quoted(alias_name, alias))
            items.append(item)

        if derived:
            items, outputs = self.name_outputs(items, outputs)
        node.set("expressions", items)

        where = node.args.get("where")
        if where is not None:
            where.set("this", self.expression(where.this, scope, value=False)[0])
        group = node.args.get("group")
        if group is not None:
            group.set("expressions", [self.term(term, scope, aliases, outputs) for term in group.expressions])
        having = node.args.get("having")
        if having is not None:
            having.set("this", self.expression(having.this, scope, aliases, value=False)[0])
        order = node.args.get("order")
        if order is not None:
            kept = [term for term in order.expressions if not _is_constant(term.this)]  # they sort nothing
            for term in kept:
                term.set("this", self.term(term.this, scope, aliases, outputs, order=True))
            order.set("expressions", kept)
            if not kept:
                node.set("order", None)
        return outputs

    def output(self, value: exp.Expr, column: OutputColumn | None, alias: exp.Identifier | None) -> OutputColumn:
        if column is not None:
            if alias is None:
                return column
            return OutputColumn(canonical(alias), dataclasses.replace(column.field, name=alias.this), column.type)
        name = alias.this if alias is not None else expression_name(value)
        sql_name = canonical(alias) if alias is not None else name.lower()
        field_ = expression_field(value, name, self.fields_of)
        return OutputColumn(sql_name, field_, value.type or exp.DataType(this=exp.DType.UNKNOWN))

    def name_outputs(
        self, items: list[exp.Expr], outputs: list[OutputColumn]
    ) -> tuple[list[exp.Expr], list[OutputColumn]]:
        """Give every column of a subquery a distinct SQL name, so the outer query can address it."""
        used: set[str] = set()
        named_items, named_outputs = [], []
        for item, output in zip(items, outputs, strict=True):
            name = output.name
            if name.lower() in used:
                number = 2
                while f"{name}_{number}".lower() in used:
                    number += 1
                name = f"{name}_{number}"
            used.add(name.lower())
            value = item.this if isinstance(item, exp.Alias) else item
            current = (
                item.alias
                if isinstance(item, exp.Alias)
                else (value.name if isinstance(value, exp.Column) and value.table else None)
            )
            if current != name:
                item = exp.Alias(this=value, alias=_quoted(name))
            named_items.append(item)
            named_outputs.append(OutputColumn(name, output.field, output.type))
        return named_items, named_outputs

    def term(
        self,
        node: exp.Expr,
        scope: _Scope,
        aliases: dict[str, exp.Expr],
        outputs: list[OutputColumn],
        *,
        order: bool = False,
    ) -> exp.Expr:
        """A GROUP BY or ORDER BY term: a position, an output alias or an expression."""
        if _is_position(node):
            if order:
                self.position(node, outputs)
            return node
        if _is_constant(node):  # GROUP BY a constant: one group; as an expression, as PostgreSQL requires
            value = self.expression(node, scope, aliases, value=False)[0]
            return exp.Cast(this=value, to=exp.DataType.build("text"))
        if isinstance(node, exp.Column) and not node.table:
            names = list(aliases)
            hits = _pick(node.this, names)
            # ORDER BY prefers output names (SQL-92 14.1), GROUP BY input columns (PostgreSQL)
            if hits and (order or self.lookup(node, scope) is None):
                return exp.Column(this=_quoted(names[hits[0]], node.this))
        return self.expression(node, scope, aliases, value=False)[0]

    # -- FROM -----------------------------------------------------------------------------------

    def from_item(self, item: exp.Expr, scope: _Scope) -> list[_Entry]:
        if isinstance(item, exp.Table):
            entries = self.table(item, scope)
        elif isinstance(item, exp.Subquery) and isinstance(item.this, exp.Query):
            alias = item.args["alias"]
            name = canonical(alias.this)
            outputs = self.query(item.this, scope.parent, scope.ctes, derived=True)
            alias.set("this", _quoted(name, alias.this))
            source = _Source(name, outputs)
            self.add_source(source, scope, item)
            entries = [_Entry(source, column) for column in outputs]
        else:  # a parenthesised join
            entries = self.from_item(item.this, scope)
        for join in item.args.get("joins") or ():
            entries = self.join(join, scope, entries)
        return entries

    def add_source(self, source: _Source, scope: _Scope, node: exp.Expr) -> None:
        for other in scope.sources:
            if other.name.lower() == source.name.lower():
                raise self.error(f"the name {source.name!r} is used twice in FROM: give each table its own alias", node)
        scope.sources.append(source)

    def table(self, node: exp.Table, scope: _Scope) -> list[_Entry]:
        alias = node.args.get("alias")
        parts = [p for p in (node.args.get("catalog"), node.args.get("db"), node.this) if p is not None]
        cte = self.find_cte(parts, scope.ctes)
        if cte is not None:
            name = canonical(alias.this) if alias is not None else cte.name
            node.set("this", _quoted(cte.name, node.this))
            if alias is not None:
                alias.set("this", _quoted(name, alias.this))
            source = _Source(name, cte.columns, aliased=alias is not None)
        else:
            table = self.find_table(parts, node)
            if table.name not in self.tables:
                self.tables.append(table.name)
            outputs, index = self.published(table)
            name = canonical(alias.this) if alias is not None else table.short_name
            node.set("catalog", None)
            db_schema, db_table = table.schema_name, table.short_name
            if table.db_name is not None:  # e.g. a TAP upload's temporary table
                db_schema, _, db_table = table.db_name.partition(".")
            node.set("db", _quoted(db_schema, node.args.get("db")))
            node.set("this", _quoted(db_table, node.this))
            if alias is not None:
                alias.set("this", _quoted(name, alias.this))
            else:
                node.set("alias", exp.TableAlias(this=_quoted(name)))
            source = _Source(name, outputs, table=table, aliased=alias is not None, index=index)
        self.add_source(source, scope, node)
        return [_Entry(source, column) for column in source.columns]

    def published(self, table: Table) -> tuple[list[OutputColumn], dict[str, list[int]]]:
        """The columns of a published table in ``column_index`` order, with their index (never modified)."""
        cached = self.columns.get(table.name)
        if cached is None:
            cached = self.columns[table.name] = published_columns(table)
        return cached

    def written_table(self, node: exp.Table) -> str:
        parts = [p for p in (node.args.get("catalog"), node.args.get("db"), node.this) if p is not None]
        return ".".join(self.written(p) for p in parts)

    def find_cte(self, parts: list[exp.Expr], ctes: tuple[_Cte, ...]) -> _Cte | None:
        if len(parts) != 1 or not isinstance(parts[0], exp.Identifier):
            return None
        for cte in reversed(ctes):
            if matches(parts[0], cte.name):
                return cte
        return None

    def find_table(self, parts: list[exp.Expr], node: exp.Table) -> Table:
        """The published table ``parts`` name; ``node`` is the (not yet rewritten) table reference."""
        identifiers = [p for p in parts if isinstance(p, exp.Identifier)]
        if len(identifiers) != len(parts) or len(parts) > 2:
            raise self.error(f"unknown table {self.written_table(node)!r}", node)
        if len(parts) == 2:
            schema, name = identifiers
            candidate = self.tableset.table(f"{schema.this}.{name.this}")
            if candidate is not None and self.is_table(candidate, schema, name):
                return candidate
            found = [t for t in self.tableset.tables() if self.is_table(t, schema, name)]
        else:
            (name,) = identifiers
            found = [t for t in self.tableset.tables() if matches(name, t.short_name)]
        if len(found) > 1:
            exact = [t for t in found if t.short_name == name.this]
            found = exact or found
        if not found:
            written = self.written_table(node)
            names = [t.name for t in self.tableset.tables()] + [t.short_name for t in self.tableset.tables()]
            raise self.error(f"unknown table {written!r}{did_you_mean(written, names)}", node)
        if len(found) > 1:
            choices = ", ".join(t.name for t in found)
            raise self.error(f"table {self.written_table(node)!r} is ambiguous: write one of {choices}", node)
        return found[0]

    @staticmethod
    def is_table(table: Table, schema: exp.Identifier, name: exp.Identifier) -> bool:
        return matches(schema, table.schema_name) and matches(name, table.short_name)

    def join(self, join: exp.Join, scope: _Scope, left: list[_Entry]) -> list[_Entry]:
        right = self.from_item(join.this, scope)
        kind = (join.args.get("kind") or "").upper()
        side = (join.args.get("side") or "").upper()
        natural = (join.args.get("method") or "").upper() == "NATURAL"
        using = join.args.get("using")
        on = join.args.get("on")
        if natural:
            right_names = {e.column.name for e in right}
            common = [e.column.name for e in left if e.column.name in right_names]
        elif using:
            common = []
            identifiers = []
            for column in using:
                identifier = column.this if isinstance(column, exp.Column) else column
                found = [self.using_side(identifier, side_entries, join) for side_entries in (left, right)]
                if found[0].column.name != found[1].column.name:
                    raise self.error(f"USING column {identifier.this!r} is spelled differently in the two tables", join)
                common.append(found[0].column.name)
                identifiers.append(_quoted(found[0].column.name, identifier))
            join.set("using", identifiers)
        else:
            common = []
            if on is None and kind != "CROSS":
                raise self.error("JOIN needs ON or USING (write CROSS JOIN or a comma for a cross product)", join)
        if on is not None:
            join.set("on", self.expression(on, scope, value=False)[0])
        if not common:
            return left + right
        lowered = {name.lower() for name in common}
        donor = right if side == "RIGHT" else left
        merged = []
        for name in common:
            entry = next(e for e in donor if e.column.name == name)
            scope.merged[name] = entry.column
            merged.append(_Entry(None, entry.column))
        rest = [e for e in left + right if e.column.name.lower() not in lowered]
        return merged + rest

    def using_side(self, identifier: exp.Identifier, entries: list[_Entry], join: exp.Join) -> _Entry:
        hits = _pick(identifier, [e.column.name for e in entries])
        if len(hits) != 1:
            problem = "is not a column of" if not hits else "is ambiguous in"
            raise self.error(f"USING column {identifier.this!r} {problem} both sides of the join", join)
        return entries[hits[0]]

    # -- expressions ----------------------------------------------------------------------------

    def reference(self, entry: _Entry) -> exp.Column:
        """A column reference for one ``*`` entry, typed and registered for metadata."""
        column = exp.Column(this=_quoted(entry.column.name))
        if entry.source is not None:
            column.set("table", _quoted(entry.source.name))
        column.type = entry.column.type
        self.fields_of[id(column)] = entry.column.field
        return column

    def expression(
        self, node: exp.Expr, scope: _Scope, aliases: dict[str, exp.Expr] | None = None, *, value: bool = True
    ) -> tuple[exp.Expr, OutputColumn | None]:
        """Resolve the names in ``node``; returns the (possibly replaced) node and, for a bare
        column, what it refers to.

        ``value=False`` says that only the rewrites of the expression need types, not its value
        (a condition, a grouping or sorting key): it is typed only when it holds a node whose
        translation depends on types (:data:`TYPED_FOR_TRANSLATION`).
        """
        column = None
        typed = True
        if isinstance(node, exp.Column):
            node, column = self.column(node, scope, aliases)
        elif self.is_special(node):
            node = self.special(node, scope, aliases)
        else:
            typed = self.walk(node, scope, aliases) or value or not self.lazy_typing
        if column is None and typed:  # a resolved column is typed already
            self.annotator.annotate(node, annotate_scope=False)
        return node, column

    #: Whether conditions and keys are typed only when their translation needs it (see :meth:`expression`).
    lazy_typing = True

    def walk(self, node: exp.Expr, scope: _Scope, aliases: dict[str, exp.Expr] | None) -> bool:
        """Resolve the names below ``node``; whether a node below needs types to be translated."""
        if isinstance(node, exp.Query):
            outputs = self.query(node, scope, scope.ctes, derived=False)
            if outputs and isinstance(node.parent, exp.Subquery):
                node.parent.type = outputs[0].type
            return False
        if isinstance(node, exp.Anonymous):
            self.unsupported(node)
        if isinstance(node, exp.Cast) and node.to.this == exp.DType.USERDEFINED:  # pragma: no cover - validate
            raise self.error(f"CAST to {node.to.sql(dialect=ADQL)} is not supported by this service", node)
        needs = isinstance(node, TYPED_FOR_TRANSLATION)
        # a chain of one operator (a OR b OR ...) is walked in a loop, however long
        children = chain(node) if isinstance(node, exp.Binary) and type(node.this) is type(node) else _children(node)
        for child in children:
            if isinstance(child, exp.Column):
                new, _ = self.column(child, scope, aliases)
                if new is not child:
                    child.replace(new)
            elif self.is_special(child):
                child.replace(self.special(child, scope, aliases))
                needs = True
            else:
                needs = self.walk(child, scope, aliases) or needs
        return needs

    def is_special(self, node: exp.Expr) -> bool:
        """IN_UNIT, REGION, user-defined functions and casts to geometries: their translation needs
        their resolved arguments."""
        if isinstance(node, exp.Anonymous):
            name = str(node.this).upper()
            return name in ("IN_UNIT", "REGION") or name in self.udfs
        return isinstance(node, exp.Cast) and _geometry_cast(node) is not None

    def special(self, node: exp.Expr, scope: _Scope, aliases: dict[str, exp.Expr] | None) -> exp.Expr:
        if isinstance(node, exp.Cast):
            return self.geometry_cast(node, scope, aliases)
        if _is_in_unit(node):
            return self.in_unit(node, scope, aliases)
        if str(node.this).upper() == "REGION":
            return self.region(node, scope, aliases)
        udf = self.udfs[str(node.this).upper()]
        if len(node.expressions) != len(udf.params):
            raise self.error(f"{udf.name} takes {len(udf.params)} arguments, not {len(node.expressions)}", node)
        args = [self.expression(arg, scope, aliases)[0] for arg in node.expressions]
        call = ADQLUserFunction(this=node.this, expressions=args)
        call.meta.update(node.meta)
        call.meta["udf"] = udf
        call.meta["returns"] = udf.type
        return call

    def geometry_cast(self, node: exp.Cast, scope: _Scope, aliases: dict[str, exp.Expr] | None) -> exp.Expr:
        """``CAST(text AS POINT|CIRCLE|POLYGON)`` of a DALI serialisation (ADQL 2.1 §4.7, DALI 1.1 §3.3)."""
        kind = _geometry_cast(node)
        assert kind is not None
        value, _ = self.expression(node.this, scope, aliases)
        if isinstance(value, exp.Literal) and value.is_string:
            try:
                numbers = read_dali(kind, value.this)
            except ValueError as exc:
                raise self.error(f"cannot CAST to {kind}: {exc}", value) from None
            built = literal_geometry(kind, numbers)
        elif isinstance(value, exp.Null) or _is_text(value):
            built = DaliGeometry(this=value, kind=exp.Literal.string(_SPHERE_KINDS[kind]))
        else:
            raise self.error(
                f"CAST to {kind} takes a string with its DALI serialisation ({GEOMETRY_CASTS[kind]} in degrees)",
                value,
            )
        built.meta.update(node.meta)
        return built

    def region(self, node: exp.Expr, scope: _Scope, aliases: dict[str, exp.Expr] | None) -> exp.Expr:
        """``REGION('stc-s')`` for the simple STC-S shapes in ICRS (ADQL 2.1 §4.2, STC-S 1.0 §5)."""
        (arg,) = node.expressions
        if not (isinstance(arg, exp.Literal) and arg.is_string):
            raise self.error("REGION takes a string literal with an STC-S region (Position, Circle, Box, Polygon)", arg)
        try:
            kind, numbers = read_stcs(arg.this)
        except ValueError as exc:
            raise self.error(str(exc), arg) from None
        built = literal_geometry(kind, numbers)
        built.meta.update(node.meta)
        return built

    def in_unit(self, node: exp.Expr, scope: _Scope, aliases: dict[str, exp.Expr] | None) -> exp.Expr:
        """``IN_UNIT(x, 'unit')`` with the factor from x's unit to ``unit`` (ADQL 2.1 §4.9, VOUnits 1.0)."""
        value, target = node.expressions
        value, column = self.expression(value, scope, aliases)
        source = column.field.unit if column is not None else unit_of(value, self.fields_of)
        if not source:
            raise self.error(f"IN_UNIT cannot convert {self.written(value)!r}: its unit is not known", value)
        factor = conversion_factor(source, target.this)
        if isinstance(factor, str):
            raise self.error(f"IN_UNIT cannot convert {self.written(value)!r} from {source!r}: {factor}", target)
        pin(target)  # the factor and the result's unit come from it
        converted = ADQLInUnit(this=value, unit=target, factor=exp.Literal.number(repr(factor)))
        converted.meta.update(node.meta)
        return converted

    def unsupported(self, node: exp.Anonymous) -> None:
        name = node.name.upper()
        if name in GEOMETRY_FUNCTIONS:
            raise self.error(f"the geometry function {name} is not supported by this service", node)
        if name in FUNCTIONS:
            raise self.error(f"{name} is not supported by this service", node)  # pragma: no cover
        raise self.error(f"the function {node.name!r} is not available on this service", node)

    def column(
        self, node: exp.Column, scope: _Scope, aliases: dict[str, exp.Expr] | None
    ) -> tuple[exp.Expr, OutputColumn | None]:
        found = self.lookup(node, scope)
        if found is None:
            if aliases and not node.table:
                hits = _pick(node.this, list(aliases))
                if hits:
                    return list(aliases.values())[hits[0]].copy(), None
            names = [c.name for level in scope.chain() for src in level.sources for c in src.columns]
            names += list(aliases or ())
            written = self.written(node)
            raise self.error(f"unknown column {written!r}{did_you_mean(node.name, names)}", node)
        source, output = found
        args = node.args
        # _put(node, key, None) for the names a column reference loses: set() only when the key is there
        if "catalog" in args:
            node.set("catalog", None)
        if "db" in args:
            node.set("db", None)
        _put(node, "table", _quoted(source.name, args.get("table")) if source is not None else None)
        _put(node, "this", _quoted(output.name, args.get("this")))
        node.type = output.type
        self.fields_of[id(node)] = output.field
        return node, output

    def lookup(self, node: exp.Column, scope: _Scope) -> tuple[_Source | None, OutputColumn] | None:
        """The source and column a column reference means, searching outer scopes too."""
        identifier = node.this
        table = node.args.get("table")
        # node.table, read directly for the usual identifier
        if table.this if type(table) is exp.Identifier else node.table:
            source = self.find_source(node, scope)
            hits = source.find(identifier)
            if not hits:
                suggestion = did_you_mean(identifier.name, [c.name for c in source.columns])
                raise self.error(f"unknown column {self.written(node)!r}{suggestion}", node)
            return source, source.columns[hits[0]]
        level: _Scope | None = scope
        while level is not None:  # scope.chain(), without a generator
            for name, output in level.merged.items():
                if matches(identifier, name):
                    return None, output
            candidates = [(source, source.columns[i]) for source in level.sources for i in source.find(identifier)]
            if len(candidates) > 1:
                exact = [c for c in candidates if c[1].name == identifier.this]
                candidates = exact or candidates
            if len(candidates) > 1:
                tables = ", ".join(source.name for source, _ in candidates)
                raise self.error(f"column {self.written(node)!r} is ambiguous (it is in {tables}): qualify it", node)
            if candidates:
                return candidates[0]
            level = level.parent
        return None

    def find_source(self, node: exp.Column, scope: _Scope, *, star: bool = False) -> _Source:
        args = node.args
        table = args.get("table")
        if type(table) is exp.Identifier and not args.get("catalog") and not args.get("db"):
            # the usual "alias.column": the same search as below (is_source with one name), faster
            written = str(table.this)
            quoted = bool(table.args.get("quoted"))
            lowered = written.lower()
            level: _Scope | None = scope
            while level is not None:  # scope.chain(), without a generator
                found = [s for s in level.sources if (s.name == written if quoted else s.name.lower() == lowered)]
                if len(found) == 1:
                    return found[0]
                if found:
                    break  # ambiguous: raised below
                level = level.parent
        parts = [p for p in (args.get("catalog"), args.get("db"), table) if p]
        for level in scope.chain():
            found = [s for s in level.sources if self.is_source(s, parts)]
            if len(found) > 1:
                raise self.error(f"table reference {self.written_parts(parts)!r} is ambiguous", node)
            if found:
                return found[0]
        written = self.written_parts(parts)
        names = [src.name for level in scope.chain() for src in level.sources]
        suggestion = did_you_mean(parts[-1].name if parts else "", names)
        if star:
            raise self.error(f"unknown table {written!r} in {self.written(node)!r}{suggestion}", node)
        raise self.error(f"unknown table {written!r} in column reference {self.written(node)!r}{suggestion}", node)

    def written_parts(self, parts: list[exp.Expr]) -> str:
        return ".".join(self.written(p) for p in parts)

    @staticmethod
    def is_source(source: _Source, parts: list[exp.Expr]) -> bool:
        if not all(isinstance(p, exp.Identifier) for p in parts):
            return False
        identifiers = [p for p in parts if isinstance(p, exp.Identifier)]
        if len(identifiers) == 1:
            return matches(identifiers[0], source.name)
        if len(identifiers) == 2 and source.table is not None and not source.aliased:
            schema, name = identifiers
            return matches(schema, source.table.schema_name) and matches(name, source.table.short_name)
        return False


_SPHERE_KINDS = {"POINT": "spoint", "CIRCLE": "scircle", "POLYGON": "spoly"}
_TEXT = frozenset({exp.DType.TEXT, exp.DType.VARCHAR, exp.DType.CHAR, exp.DType.NCHAR, exp.DType.NVARCHAR})


#: The nodes whose translation (:mod:`vostack.adql.morph`, :mod:`vostack.adql.pgsphere`) reads the types
#: of the nodes below them: geometry (the kinds of its arguments), MOD (integer or not), ROUND and
#: TRUNCATE with decimals, string concatenation and CASE (its branches must agree).
TYPED_FOR_TRANSLATION = (ADQLFunction, exp.Mod, exp.Round, exp.Trunc, exp.Concat, exp.DPipe, exp.Case)


def _is_position(node: exp.Expr) -> TypeGuard[exp.Literal]:
    """An unsigned integer written as such: a column position in ORDER BY (ADQL 2.1 sort_key) and GROUP BY."""
    return isinstance(node, exp.Literal) and not node.is_string and node.this.isdigit()


def _is_constant(node: exp.Expr) -> bool:
    """Any other constant (a string, decimal, hexadecimal or negative number, NULL, in parentheses or not).

    Sorting by a constant changes nothing, so such ORDER BY keys are dropped; PostgreSQL would
    refuse them ("non-integer constant in ORDER BY") or read an integer as a position.
    """
    if _is_position(node):
        return False
    while isinstance(node, (exp.Paren, exp.Neg)):
        node = node.this
    return isinstance(node, (exp.Literal, exp.Null, exp.HexString, exp.Boolean))


def _geometry_cast(node: exp.Cast) -> str | None:
    """``POINT``, ``CIRCLE`` or ``POLYGON`` when ``node`` casts to that geometry type."""
    to = node.to
    if to.this != exp.DType.USERDEFINED:
        return None
    kind = str(to.args.get("kind") or "").upper()
    return kind if kind in GEOMETRY_CASTS else None


def _children(node: exp.Expr) -> list[exp.Expr]:
    """``list(node.iter_expressions())``, without a generator per node."""
    children: list[exp.Expr] = []
    expr = exp.Expr
    for value in node.args.values():
        if isinstance(value, list):
            for item in value:
                if isinstance(item, expr):
                    children.append(item)
        elif isinstance(value, expr):
            children.append(value)
    return children


def _is_text(node: exp.Expr) -> bool:
    return node.type is not None and node.type.this in _TEXT


def _is_in_unit(node: exp.Expr) -> bool:
    return isinstance(node, exp.Anonymous) and str(node.this).upper() == "IN_UNIT"


def conversion_factor(source: str, target: str) -> float | str:
    """The factor converting values in unit ``source`` to ``target``, or why there is none.

    Units are read as VOUnits (IVOA VOUnits 1.0) by astropy, falling back to
    astropy's generic format for units published in other spellings.
    """
    import astropy.units as u  # imported on first use: astropy is slow to import

    def read(text: str) -> u.UnitBase:
        try:
            return u.Unit(text, format="vounit")
        except ValueError:
            return u.Unit(text)

    try:
        target_unit = read(target)
    except ValueError:
        return f"{target!r} is not a unit"
    try:
        factor = float(read(source).to(target_unit))
    except ValueError as exc:  # UnitConversionError is a ValueError
        return str(exc).split("\n")[0] if isinstance(exc, u.UnitConversionError) else f"unknown unit {source!r}"
    return factor


def did_you_mean(written: str, names: Sequence[str]) -> str:
    """``" (did you mean 'x'?)"`` for the published names closest to ``written``, or ``""``."""
    import difflib

    lowered = {name.lower(): name for name in names}
    close = difflib.get_close_matches(written.lower().strip('"'), list(lowered), n=3, cutoff=0.6)
    if not close:
        return ""
    quoted = " or ".join(repr(lowered[c]) for c in close)
    return f" (did you mean {quoted}?)"
