"""The ADQL pipeline: parse, check, resolve names, infer fields, morph, write PostgreSQL.

:func:`parse` is the syntax stage (tokenize, parse with :class:`~vostack.adql.dialect.ADQL`,
check with :mod:`vostack.adql.validate`).  :func:`translate` adds the
schema-dependent stages: :mod:`vostack.adql.resolve` (tables and columns of the
published :class:`~vostack.schema.TableSet`), :mod:`vostack.adql.fields` (the
VOTable ``FIELD`` of every output column), :mod:`vostack.adql.morph` (pure tree
rewrites for PostgreSQL) and the :class:`~vostack.adql.pgsphere.PgSphere`
generator.  Nothing is cached: every call works on a fresh tree.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from sqlglot import exp
from sqlglot.errors import ErrorLevel

from vostack.adql import fields as fields_
from vostack.adql import morph, resolve
from vostack.adql.dialect import ADQL, GEOMETRY_FUNCTIONS
from vostack.adql.errormap import sqlglot_errors, syntax_error
from vostack.adql.expressions import build_geometry
from vostack.adql.pgsphere import PgSphere
from vostack.adql.udf import UDF, declared
from vostack.adql.validate import MAX_QUERY_LENGTH, check_literal_types, check_query, check_tokens, parse_udf_signatures
from vostack.schema import Field, TableSet

__all__ = ["Query", "Translation", "parse", "translate"]

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
    declared = parse_udf_signatures([udf.form if isinstance(udf, UDF) else udf for udf in udfs])
    if len(text) > MAX_QUERY_LENGTH:
        raise syntax_error(f"the query is longer than {MAX_QUERY_LENGTH} characters", text)
    with sqlglot_errors(text):
        tokens = _DIALECT.tokenize(text)
        if not tokens:
            raise syntax_error("the query is empty", text)
        check_tokens(tokens, text)
        statements = [s for s in _DIALECT.parser(error_level=ErrorLevel.IMMEDIATE).parse(tokens, text) if s]
        if len(statements) != 1:
            raise syntax_error("only one query is allowed", text)
        tree = statements[0]
        check_query(tree, text, declared)
        geometry = any(token.text.upper() in GEOMETRY_FUNCTIONS for token in tokens)
        if geometry:
            build_geometry(tree)
        assert isinstance(tree, exp.Query)
        return Query(text, tree, geometry=geometry)


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
        the ADQL features this service does not translate (``REGION``, ``CAST``
        to geometries).
    """
    if row_limit is not None and row_limit < 0:
        raise ValueError("row_limit must not be negative")
    offered = declared(udfs)
    query = parse(text, udfs=offered.values())
    with sqlglot_errors(text):
        check_literal_types(query.tree, text)
        resolved = resolve.resolve(query.tree, schema, text, offered)
        result_fields = fields_.infer(resolved.outputs)
        tree = morph.to_postgres(resolved, row_limit=row_limit, text=text, geometry=query.geometry)
        sql = tree.sql(dialect=_OUTPUT, identify=True, comments=False, unsupported_level=ErrorLevel.RAISE, copy=False)
    return Translation(sql=sql, fields=result_fields, tables=resolved.tables)
