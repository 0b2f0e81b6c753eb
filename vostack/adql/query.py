"""The ADQL pipeline: parse, check, resolve names, infer fields, morph, write PostgreSQL.

:func:`parse` is the syntax stage (tokenize, parse with :class:`~vostack.adql.dialect.ADQL`,
check with :mod:`vostack.adql.validate`).  :func:`translate` adds the
schema-dependent stages: :mod:`vostack.adql.resolve` (tables and columns of the
published :class:`~vostack.schema.TableSet`), :mod:`vostack.adql.fields` (the
VOTable ``FIELD`` of every output column), :mod:`vostack.adql.morph` (pure tree
rewrites for PostgreSQL) and the :class:`~vostack.adql.pgsphere.PgSphere`
generator.  :func:`translate` caches nothing: every call works on a fresh tree.

A :class:`Translator` is bound to one TableSet and set of user-defined functions and
remembers its recent translations by query shape (:mod:`vostack.adql.shapes`), so that a
repeated query, or the same query with other values (a cone search at many positions,
TOPCAT's and portals' generated queries), is parsed once.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from sqlglot import exp

from vostack.adql import fields as fields_
from vostack.adql import morph, resolve
from vostack.adql.dialect import ADQL, parse_statements
from vostack.adql.errormap import sqlglot_errors, syntax_error
from vostack.adql.expressions import build_geometry
from vostack.adql.pgsphere import PgSphere, PgSphereGenerator
from vostack.adql.shapes import Shape, Template, shape_of, template_of
from vostack.adql.udf import UDF, declared
from vostack.adql.validate import MAX_QUERY_LENGTH, Checked, check_query, check_tokens, parse_udf_signatures
from vostack.errors import RequestTooLargeError
from vostack.schema import Field, TableSet

__all__ = ["Query", "Translation", "Translator", "parse", "translate"]

_DIALECT = ADQL()
_OUTPUT = PgSphere()


class Query:
    """A parsed, syntactically valid ADQL query (ADQL 2.1 §2).

    ``tree`` is the sqlglot expression (an ``exp.Query``); :meth:`adql` writes it
    back as normalised ADQL.
    """

    __slots__ = ("geometry", "text", "tree")

    def __init__(self, text: str, tree: exp.Query, *, geometry: bool = True) -> None:
        self.text = text
        self.tree = tree
        self.geometry = geometry  # whether the query calls geometry functions

    def adql(self) -> str:
        """The query written back as ADQL (keywords upper case, ``TOP n``)."""
        with sqlglot_errors(self.text):
            return self.tree.sql(dialect=_DIALECT, comments=False)

    def __repr__(self) -> str:
        return f"Query({self.adql()!r})"


@dataclass(frozen=True, slots=True)
class Translation:
    """An ADQL query translated to PostgreSQL/pgSphere (ADQL 2.1, for TAP 1.1 LANG=ADQL).

    ``sql`` has every literal inlined and every identifier quoted; ``fields``
    describes the output columns in order; ``tables`` lists the published tables
    the query reads, by their qualified TableSet names; ``limit`` is the most rows
    ``sql`` returns when it was translated with a ``row_limit`` (that or ``TOP``,
    the smaller), ``None`` without one.
    """

    sql: str
    fields: tuple[Field, ...]
    tables: tuple[str, ...]
    limit: int | None = None


def parse(text: str, *, udfs: Iterable[str | UDF] = ()) -> Query:
    """Parse ADQL 2.1 text into a :class:`Query` (ADQL 2.1 §2 and Appendix A).

    Parameters
    ----------
    text
        The query.
    udfs
        User-defined functions the service declares (ADQL 2.1, features-udf): :class:`UDF`
        objects, names, or TAPRegExt ``form`` signatures like ``ivo_foo(x REAL) -> REAL``.
        Functions whose name starts with ``ivo_`` are accepted as IVOA-defined ones
        (:func:`translate` then refuses those the service does not offer).

    Raises
    ------
    vostack.errors.ADQLSyntaxError
        When the text is not ADQL; ``line`` and ``col`` locate the problem.
    vostack.errors.ADQLSemanticError
        When the query calls a function that is neither ADQL's nor declared.
    """
    signatures = parse_udf_signatures([udf.form if isinstance(udf, UDF) else udf for udf in udfs])
    return _parse(text, signatures)[0]


def _parse(text: str, signatures: Mapping[str, int | None]) -> tuple[Query, Checked]:
    """:func:`parse` with the declared functions' argument counts; also returns what the check found."""
    if len(text) > MAX_QUERY_LENGTH:
        raise RequestTooLargeError(f"the query is longer than {MAX_QUERY_LENGTH:,} characters")
    with sqlglot_errors(text):
        tokens = _DIALECT.tokenize(text)
        if not tokens:
            raise syntax_error("the query is empty", text)
        check_tokens(tokens, text)
        statements = parse_statements(tokens, text)
        if len(statements) != 1:
            raise syntax_error("only one query is allowed", text)
        tree = statements[0]
        checked = check_query(tree, text, signatures)
        if checked.geometry_calls:
            build_geometry(tree, checked.geometry_calls)
        assert isinstance(tree, exp.Query)
        return Query(text, tree, geometry=bool(checked.geometry_calls)), checked


def translate(text: str, schema: TableSet, *, row_limit: int | None = None, udfs: Iterable[UDF] = ()) -> Translation:
    """Translate ADQL to PostgreSQL with pgSphere against the published ``schema``.

    Parameters
    ----------
    text
        The ADQL query (ADQL 2.1).
    schema
        The published tables (TAP 1.1 §4): the query can read these and nothing else.
    row_limit
        When given, the SQL returns at most this many rows (combined with the
        query's own ``TOP``: the smaller wins).  TAP services pass MAXREC + 1 to
        detect overflow (TAP 1.1 MAXREC).
    udfs
        The portal's user-defined functions, in addition to :data:`BUILTIN_UDFS`.

    Raises
    ------
    vostack.errors.ADQLSyntaxError
        When the text is not ADQL.
    vostack.errors.ADQLSemanticError
        For unknown tables, columns or functions, wrong argument types, and
        what this service does not translate (``REGION`` with STC-S shapes
        other than Position, Circle, Box and Polygon in ICRS).
    """
    if row_limit is not None and row_limit < 0:
        raise ValueError("row_limit must not be negative")
    return _translate(text, schema, row_limit, *_functions(udfs))[0]


def _functions(udfs: Iterable[UDF]) -> tuple[dict[str, UDF], dict[str, int | None]]:
    """The functions offered (built-in and ``udfs``) by upper-case name, and their argument counts."""
    udfs = tuple(udfs)
    if not udfs:
        return _BUILTIN_FUNCTIONS
    offered = declared(udfs)
    return offered, parse_udf_signatures([udf.form for udf in offered.values()])


def _translate(
    text: str,
    schema: TableSet,
    row_limit: int | None,
    offered: Mapping[str, UDF],
    signatures: Mapping[str, int | None],
    columns: resolve.ColumnCache | None = None,
    shape: Shape | None = None,
) -> tuple[Translation, Template | None]:
    """Translate ``text``; with its ``shape``, also the template later texts of that shape are filled in."""
    query, checked = _parse(text, signatures)
    if checked.literal_error is not None:
        raise checked.literal_error
    with sqlglot_errors(text):
        resolved = resolve.resolve(query.tree, schema, text, offered, columns)
        result_fields = fields_.infer(resolved.outputs)
        tree = morph.to_postgres(resolved, row_limit=row_limit, text=text, geometry=query.geometry)
        # before template_of, which puts slots where literals were; only a row_limit pins TOP's value in the template
        limit = morph.limit_of(tree) if row_limit is not None else None
        template = template_of(tree, shape, _OUTPUT.write) if shape is not None else None
        sql = template.fill(shape, _write_string) if template is not None and shape is not None else _OUTPUT.write(tree)
    translation = Translation(sql=sql, fields=result_fields, tables=resolved.tables, limit=limit)
    return translation, template


_STRINGS = PgSphereGenerator(dialect=_OUTPUT)


def _write_string(value: str) -> str:
    """A string literal as the PostgreSQL output writes it (only reads the generator's settings)."""
    return _STRINGS.literal_sql(exp.Literal.string(value))


_BUILTIN_FUNCTIONS = (
    declared(()),
    parse_udf_signatures([udf.form for udf in declared(()).values()]),
)


#: Query texts longer than this are translated every time (the cache holds typical queries).
MAX_CACHED_LENGTH = 20_000

#: How many templates a :class:`Translator` keeps for one query shape (texts of that shape whose pinned
#: literals differ: ``TOP 10`` and ``TOP 100``).
TEMPLATES_PER_SHAPE = 8


@dataclass(frozen=True, slots=True)
class _Cached:
    template: Template
    fields: tuple[Field, ...]
    tables: tuple[str, ...]
    limit: int | None  # the same for every text of the template: TOP's value is pinned


class Translator:
    """ADQL translation for one published TableSet, with a cache of recent query shapes (ADQL 2.1, TAP 1.1 §4).

    :meth:`translate` gives the same result as :func:`translate` with this ``schema`` and ``udfs``.
    Translations are cached by query *shape* (:mod:`vostack.adql.shapes`): a text that differs from one
    translated recently only in the values of its literals is not parsed again; its literals are
    written into the cached SQL.  Literals whose value changes the translation are part of the key.
    Errors are not cached.  A TableSet is frozen, so the cache never goes stale: a service whose
    metadata changes makes a new Translator.  Thread-safe.

    Parameters
    ----------
    schema
        The published tables the queries can read.
    udfs
        The portal's user-defined functions, in addition to :data:`BUILTIN_UDFS`.
    maxsize
        How many query shapes to keep (least recently used ones go first); 0 keeps none.
    """

    def __init__(self, schema: TableSet, *, udfs: Iterable[UDF] = (), maxsize: int = 256) -> None:
        if maxsize < 0:
            raise ValueError("maxsize must not be negative")
        self.schema = schema
        self.udfs = tuple(udfs)
        self.maxsize = maxsize
        self.hits = 0
        self.misses = 0
        self._offered, self._signatures = _functions(self.udfs)
        self._columns: resolve.ColumnCache = {}
        self._cache: OrderedDict[tuple[str, int | None], list[_Cached]] = OrderedDict()
        self._lock = threading.Lock()

    def translate(self, text: str, *, row_limit: int | None = None) -> Translation:
        """Translate ``text`` like :func:`translate`, from the cache when a text of its shape was translated."""
        if row_limit is not None and row_limit < 0:
            raise ValueError("row_limit must not be negative")
        shape = shape_of(text) if self.maxsize and len(text) <= MAX_CACHED_LENGTH else None
        if shape is not None:
            key = (shape.skeleton, row_limit)
            with self._lock:
                found = next((c for c in self._cache.get(key, ()) if c.template.matches(shape)), None)
                if found is not None:
                    self._cache.move_to_end(key)
                    self.hits += 1
            if found is not None:
                sql = found.template.fill(shape, _write_string)
                return Translation(sql=sql, fields=found.fields, tables=found.tables, limit=found.limit)
        with self._lock:
            self.misses += 1
        translation, template = _translate(
            text, self.schema, row_limit, self._offered, self._signatures, self._columns, shape
        )
        if template is not None and shape is not None:
            with self._lock:
                templates = self._cache.setdefault((shape.skeleton, row_limit), [])
                templates.append(_Cached(template, translation.fields, translation.tables, translation.limit))
                del templates[:-TEMPLATES_PER_SHAPE]
                self._cache.move_to_end((shape.skeleton, row_limit))
                while len(self._cache) > self.maxsize:
                    self._cache.popitem(last=False)
        return translation

    def clear(self) -> None:
        """Forget every cached translation."""
        with self._lock:
            self._cache.clear()

    def __len__(self) -> int:
        """How many query shapes are cached."""
        return len(self._cache)

    def __repr__(self) -> str:
        return f"Translator({len(self._cache)} shapes cached, {self.hits} hits, {self.misses} misses)"
