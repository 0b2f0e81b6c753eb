"""The ADQL pipeline: parse, check, resolve names, infer fields, morph, write PostgreSQL.

:func:`parse` is the syntax stage (tokenize, parse with :class:`~vostack.adql.dialect.ADQL`,
check with :mod:`vostack.adql.validate`).  :func:`translate` adds the
schema-dependent stages: :mod:`vostack.adql.resolve` (tables and columns of the
published :class:`~vostack.schema.TableSet`), :mod:`vostack.adql.fields` (the
VOTable ``FIELD`` of every output column), :mod:`vostack.adql.morph` (pure tree
rewrites for PostgreSQL) and the :class:`~vostack.adql.pgsphere.PgSphere`
generator.  :func:`translate` caches no translation (only each published table's typed
columns, :func:`vostack.adql.resolve.published_columns`): every call works on a fresh tree.

A :class:`Translator` is bound to one TableSet and set of user-defined functions and
remembers its recent translations, so that a repeated query text (TOPCAT, pyvo and
portals send the same queries again and again) is translated once; :func:`translator`
hands out one shared :class:`Translator` per TableSet object.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from sqlglot import exp
from sqlglot.errors import ErrorLevel

from vostack.adql import fastparse, lexer, morph, resolve
from vostack.adql import fields as fields_
from vostack.adql.dialect import ADQL
from vostack.adql.errormap import sqlglot_errors, syntax_error
from vostack.adql.expressions import build_geometry
from vostack.adql.pgsphere import PgSphere
from vostack.adql.udf import UDF, declared
from vostack.adql.validate import MAX_QUERY_LENGTH, Checked, check_query, check_tokens, parse_udf_signatures
from vostack.schema import Field, TableSet

__all__ = ["Query", "Translation", "Translator", "parse", "translate", "translator"]

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
    the query reads, by their qualified TableSet names.
    """

    sql: str
    fields: tuple[Field, ...]
    tables: tuple[str, ...]


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
        raise syntax_error(f"the query is longer than {MAX_QUERY_LENGTH} characters", text)
    with sqlglot_errors(text):
        # the fast tokenizer; when it is not certain (None) or finds nothing, sqlglot's, with its errors
        tokens = lexer.tokenize(text) or _DIALECT.tokenize(text)
        if not tokens:
            raise syntax_error("the query is empty", text)
        check_tokens(tokens, text)
        # the fast parser takes the common subset; sqlglot's parser the rest, and gives every error
        fast = fastparse.parse(tokens, text)
        if fast is not None:
            statements = [fast]
        else:
            statements = [s for s in _DIALECT.parser(error_level=ErrorLevel.IMMEDIATE).parse(tokens, text) if s]
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
    return _translate(text, schema, row_limit, *_functions(udfs))


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
) -> Translation:
    query, checked = _parse(text, signatures)
    if checked.literal_error is not None:
        raise checked.literal_error
    with sqlglot_errors(text):
        resolved = resolve.resolve(query.tree, schema, text, offered, columns)
        result_fields = fields_.infer(resolved.outputs)
        tree = morph.to_postgres(resolved, row_limit=row_limit, text=text, geometry=query.geometry)
        sql = _OUTPUT.write(tree)
    return Translation(sql=sql, fields=result_fields, tables=resolved.tables)


_BUILTIN_FUNCTIONS = (
    declared(()),
    parse_udf_signatures([udf.form for udf in declared(()).values()]),
)


#: Query texts longer than this are translated every time (the cache holds typical queries).
MAX_CACHED_LENGTH = 20_000


class Translator:
    """ADQL translation for one published TableSet, with a cache of recent translations (ADQL 2.1, TAP 1.1 §4).

    :meth:`translate` gives the same result as :func:`translate` with this
    ``schema`` and ``udfs``; a ``(text, row_limit)`` seen among the last
    ``maxsize`` ones is not parsed again (errors are not cached).  A TableSet
    is frozen, so the cache never goes stale: a service whose metadata changes
    gets a new TableSet and needs a new Translator (:func:`translator` makes
    one).  Thread-safe.

    Parameters
    ----------
    schema
        The published tables the queries can read.
    udfs
        The portal's user-defined functions, in addition to :data:`BUILTIN_UDFS`.
    maxsize
        How many translations to keep (least recently used ones go first); 0 keeps none.
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
        self._cache: OrderedDict[tuple[str, int | None], Translation] = OrderedDict()
        self._lock = threading.Lock()

    def translate(self, text: str, *, row_limit: int | None = None) -> Translation:
        """Translate ``text`` like :func:`translate`, from the cache when it was translated recently."""
        key = (text, row_limit)
        with self._lock:
            cached = self._cache.get(key)
            if cached is not None:
                self._cache.move_to_end(key)
                self.hits += 1
                return cached
            self.misses += 1
        if row_limit is not None and row_limit < 0:
            raise ValueError("row_limit must not be negative")
        translation = _translate(text, self.schema, row_limit, self._offered, self._signatures, self._columns)
        if self.maxsize and len(text) <= MAX_CACHED_LENGTH:
            with self._lock:
                self._cache[key] = translation
                while len(self._cache) > self.maxsize:
                    self._cache.popitem(last=False)
        return translation

    def clear(self) -> None:
        """Forget every cached translation."""
        with self._lock:
            self._cache.clear()

    def __len__(self) -> int:
        return len(self._cache)

    def __repr__(self) -> str:
        return f"Translator({len(self._cache)} cached, {self.hits} hits, {self.misses} misses)"


#: How many TableSets :func:`translator` keeps a Translator for.
SHARED_TRANSLATORS = 8
_shared: OrderedDict[int, Translator] = OrderedDict()
_shared_lock = threading.Lock()


def translator(schema: TableSet, udfs: Iterable[UDF] = ()) -> Translator:
    """The shared :class:`Translator` of this TableSet object and these user-defined functions.

    Keyed by the TableSet's identity (a TableSet is frozen: a changed one is a
    new object, and gets a new Translator).  The Translators of the
    :data:`SHARED_TRANSLATORS` most recently used TableSets are kept; a query
    with its own TableSet (TAP_UPLOAD tables) should call :func:`translate`.
    """
    udfs = tuple(udfs)
    with _shared_lock:
        found = _shared.get(id(schema))
        # the Translator holds its TableSet, so the id cannot belong to another object
        if found is not None and found.schema is schema and found.udfs == udfs:
            _shared.move_to_end(id(schema))
            return found
        made = _shared[id(schema)] = Translator(schema, udfs=udfs)
        _shared.move_to_end(id(schema))
        while len(_shared) > SHARED_TRANSLATORS:
            _shared.popitem(last=False)
        return made
