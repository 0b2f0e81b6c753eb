"""The shortcuts behind a fast cold translation give what the code they shortcut gives.

* :func:`vostack.adql.resolve.published_columns` remembers the columns of recently resolved
  Table objects: it must never hand one table's columns to another (same name, other columns;
  evicted entries; several threads at once).
* sqlglot's type annotator is told which resolved columns are typed already: that must not
  change any type it infers.
* :class:`~vostack.adql.pgsphere.PgSphereGenerator` writes identifiers, columns and plain types
  without sqlglot's general code: differential tests against that code, on the translated
  trees of the test queries and on generated names.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sqlglot import exp
from sqlglot.errors import ErrorLevel
from sqlglot.generators.postgres import PostgresGenerator
from sqlglot.optimizer.annotate_types import TypeAnnotator

from vostack.adql import morph, resolve, translate
from vostack.adql import query as query_
from vostack.adql.dialect import BINARY_COERCIONS
from vostack.adql.expressions import nodes
from vostack.adql.pgsphere import PgSphere, PgSphereGenerator
from vostack.schema import Column, Schema, Table, TableSet

_OUTPUT = PgSphere()

# Queries over make_tableset() (conftest.py) that reach every stage: geometry, casts, set
# operations, subqueries, common table expressions, aggregates, quoted names.
QUERIES = [
    "SELECT TOP 10 hip, ra, dec FROM hipparcos.main WHERE hpmag < 5 ORDER BY hpmag",
    "SELECT hip, DISTANCE(POINT(ra, dec), POINT(83.8, -5.4)) AS d FROM hipparcos.main "
    "WHERE DISTANCE(POINT(ra, dec), POINT(83.8, -5.4)) < 0.5 ORDER BY d",
    "SELECT a.hip, b.hip FROM hipparcos.main AS a JOIN hipparcos.main AS b "
    "ON CONTAINS(POINT(a.ra, a.dec), CIRCLE(b.ra, b.dec, 0.01)) = 1 WHERE a.hip < b.hip",
    "SELECT ROUND(hpmag, 1) AS bin, COUNT(*) AS n, AVG(bv), SUM(hip) FROM hipparcos.main "
    "GROUP BY ROUND(hpmag, 1) HAVING COUNT(*) > 5 ORDER BY bin",
    "WITH near AS (SELECT hip, ra, dec FROM hipparcos.main WHERE plx > 50) "
    'SELECT n.hip AS "Hip", CAST(n.hip AS CHAR(3)), CAST(n.ra AS VARCHAR), CAST(n.dec AS INTEGER) FROM near AS n',
    "SELECT hip, MOD(hpmag, 2), IN_UNIT(ra, 'rad') FROM hipparcos.main UNION SELECT hip, 1.5, 0 FROM gaia.dr3lite",
    "SELECT * FROM (SELECT source_id, POINT(ra, dec) AS p, CIRCLE(ra, dec, 1) AS c FROM gaia.dr3lite) AS q",
    "SELECT COUNT(*) FROM hipparcos.main WHERE 1 = INTERSECTS(CIRCLE(ra, dec, 1), BOX(10, 20, 3, 4))",
]


def _table(columns: dict[str, tuple[str, str]], unit: str | None = None) -> TableSet:
    """A TableSet with the one table ``cat.main`` of these columns (name -> (datatype, db_type))."""
    table = Table(
        name="cat.main",
        schema_name="cat",
        columns=tuple(
            Column(name=name, datatype=datatype, db_type=db_type, unit=unit, column_index=i)
            for i, (name, (datatype, db_type)) in enumerate(columns.items())
        ),
    )
    return TableSet(schemas=(Schema(name="cat", tables=(table,)),))


def test_tables_of_the_same_name_keep_their_own_columns() -> None:
    first = _table({"x": ("int", "integer"), "y": ("double", "double precision")}, unit="m")
    second = _table({"x": ("char", "text"), "z": ("long", "bigint")})
    one = translate("SELECT * FROM cat.main", first)
    two = translate("SELECT * FROM cat.main", second)
    assert [(f.name, f.datatype, f.unit) for f in one.fields] == [("x", "int", "m"), ("y", "double", "m")]
    assert [(f.name, f.datatype, f.unit) for f in two.fields] == [("x", "char", None), ("z", "long", None)]
    assert translate("SELECT * FROM cat.main", first) == one
    with pytest.raises(Exception, match="unknown column 'y'"):
        translate("SELECT y FROM cat.main", second)


def test_evicted_tables_are_read_again() -> None:
    tablesets = [_table({f"c{n}": ("int", "integer")}) for n in range(resolve.PUBLISHED_TABLES + 5)]
    for rounds in range(2):
        for n, tables in enumerate(tablesets):
            result = translate("SELECT * FROM cat.main", tables)
            assert [f.name for f in result.fields] == [f"c{n}"], rounds
    assert len(resolve._published) <= resolve.PUBLISHED_TABLES


def test_published_columns_are_the_same_objects_for_one_table_and_never_changed() -> None:
    tables = _table({"a": ("int", "integer"), "b": ("double", "double precision")})
    (table,) = tables.tables()
    outputs, index = resolve.published_columns(table)
    before = [(o.name, o.field, o.type.sql()) for o in outputs]
    for text in ("SELECT a AS x, b * 2 FROM cat.main", "SELECT t.* FROM cat.main AS t WHERE a > 1 ORDER BY b"):
        translate(text, tables)
    again, again_index = resolve.published_columns(table)
    assert again is outputs and again_index is index
    assert [(o.name, o.field, o.type.sql()) for o in again] == before


def test_threads_translating_against_different_tables_get_their_own_results() -> None:
    tablesets = [_table({f"col{n}": ("int", "integer"), "v": ("double", "double precision")}) for n in range(12)]
    texts = [f"SELECT col{n}, v + 1 AS w FROM cat.main WHERE v < {n}" for n in range(12)]
    expected = [translate(text, tables) for text, tables in zip(texts, tablesets, strict=True)]
    resolve._published.clear()  # the threads fill the cache concurrently
    failures: list[str] = []
    barrier = threading.Barrier(6)

    def work(offset: int) -> None:
        barrier.wait()
        for round_ in range(40):
            n = (offset + round_) % len(texts)
            if translate(texts[n], tablesets[n]) != expected[n]:
                failures.append(texts[n])

    threads = [threading.Thread(target=work, args=(offset,)) for offset in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert failures == []


def test_resolved_columns_are_skipped_by_the_annotator() -> None:
    # resolve relies on the annotator's map of typed nodes (resolve._typed_nodes); a sqlglot
    # release without it would make translation slower, not wrong: this test says so
    annotator = TypeAnnotator(resolve._SCHEMA, binary_coercions=BINARY_COERCIONS, overwrite_types=False)
    typed = resolve._typed_nodes(annotator)
    assert typed is not None
    marked, plain = (exp.column("x", "t") for _ in range(2))
    for column in (marked, plain):
        column.type = exp.DataType(this=exp.DType.FLOAT)
    typed[id(marked)] = marked
    results = []
    for column in (marked, plain):
        expression = exp.Add(this=column, expression=exp.Literal.number("2.5"))
        annotator.annotate(expression, annotate_scope=False)
        results.append((expression.type.sql() if expression.type else None, column.type.sql() if column.type else None))
    assert results[0] == results[1] == ("DOUBLE", "FLOAT")


def _translated_trees(tableset: TableSet) -> Iterator[exp.Expr]:
    offered, signatures = query_._BUILTIN_FUNCTIONS
    for text in QUERIES:
        parsed, _ = query_._parse(text, signatures)
        resolved = resolve.resolve(parsed.tree, tableset, text, offered)
        yield morph.to_postgres(resolved, text=text, geometry=parsed.geometry)


def test_write_gives_the_generic_generation(tableset: TableSet) -> None:
    for tree in _translated_trees(tableset):
        generic = tree.sql(
            dialect=_OUTPUT, identify=True, comments=False, unsupported_level=ErrorLevel.RAISE, copy=True
        )
        assert _OUTPUT.write(tree) == generic


def test_identifiers_columns_and_types_are_written_as_sqlglot_writes_them(tableset: TableSet) -> None:
    # the reference is sqlglot's PostgreSQL generator with the same settings, without the shortcuts
    generator = PgSphereGenerator(dialect=_OUTPUT, identify=True, comments=False)
    reference = PostgresGenerator(dialect=_OUTPUT, identify=True, comments=False)
    seen: set[type] = set()
    for tree in _translated_trees(tableset):
        for node in nodes(tree):
            if isinstance(node, exp.Identifier):
                assert generator.identifier_sql(node) == reference.identifier_sql(node)
            elif isinstance(node, exp.Column):
                assert generator.column_sql(node) == reference.column_sql(node)
            elif isinstance(node, exp.DataType):
                assert generator.datatype_sql(node) == reference.datatype_sql(node)
            seen.add(type(node))
    for node in (exp.DataType.build("varchar"), exp.DataType.build("varchar(3)"), exp.DataType.build("varchar")):
        assert generator.datatype_sql(node) == reference.datatype_sql(node)
    assert {exp.Identifier, exp.Column, exp.DataType} <= seen


_NAMES = st.text(alphabet=st.characters(codec="utf-8"), min_size=1, max_size=12)


@settings(max_examples=300, deadline=None)
@given(name=_NAMES, table=st.one_of(st.none(), _NAMES), quoted=st.booleans(), identify=st.booleans())
def test_generated_names_are_written_as_sqlglot_writes_them(
    name: str, table: str | None, quoted: bool, identify: bool
) -> None:
    column = exp.Column(
        this=exp.Identifier(this=name, quoted=quoted),
        table=exp.Identifier(this=table, quoted=quoted) if table is not None else None,
    )
    for comments in (False, True):
        generator = PgSphereGenerator(dialect=_OUTPUT, identify=identify, comments=comments)
        reference = PostgresGenerator(dialect=_OUTPUT, identify=identify, comments=comments)
        assert generator.column_sql(column) == reference.column_sql(column)
        assert generator.identifier_sql(column.this) == reference.identifier_sql(column.this)


@settings(max_examples=200, deadline=None)
@given(
    dtype=st.sampled_from(list(exp.DType)),
    size=st.one_of(st.none(), st.integers(min_value=1, max_value=99)),
)
def test_generated_types_are_written_as_sqlglot_writes_them(dtype: exp.DType, size: int | None) -> None:
    generator = PgSphereGenerator(dialect=_OUTPUT)
    reference = PostgresGenerator(dialect=_OUTPUT)
    params = [exp.DataTypeParam(this=exp.Literal.number(size))] if size is not None else []
    for node in (exp.DataType(this=dtype), exp.DataType(this=dtype, expressions=params), exp.DataType(this=dtype)):
        assert generator.datatype_sql(node.copy()) == reference.datatype_sql(node.copy())
    assert generator.unsupported_messages == reference.unsupported_messages
