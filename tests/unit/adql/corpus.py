"""Query corpora the differential ADQL tests share: the benchmark queries, the fixture pairs, and
the query-like strings of the unit tests."""

from __future__ import annotations

import ast
import importlib.util
from collections.abc import Callable
from pathlib import Path

from hypothesis import strategies as st
from sqlglot import exp

from vostack.adql import parse
from vostack.errors import VOError
from vostack.schema import Column, Schema, Table, TableSet

_HERE = Path(__file__).resolve().parent
_ROOT = _HERE.parents[2]

__all__ = ["BENCHMARK", "EXPRESSIONS", "FIXTURES", "TEST_STRINGS", "tableset_for"]


def _benchmark_queries() -> dict[str, str]:
    spec = importlib.util.spec_from_file_location("_benchmark_adql", _ROOT / "benchmarks" / "adql.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    queries: dict[str, str] = module.QUERIES
    return queries


def _fixture_queries() -> list[str]:
    """The ADQL half of every "ADQL; PostgreSQL;" pair in fixtures/*.sql."""
    found = []
    for path in sorted((_HERE / "fixtures").glob("*.sql")):
        blocks = path.read_text().split("\n\n")
        for block in blocks:
            lines = [line for line in block.splitlines() if line and not line.startswith("#")]
            statements = "\n".join(lines).split(";\n")
            if statements and statements[0].strip():
                found.append(statements[0].strip().rstrip(";"))
    return found


def _test_strings() -> list[str]:
    """String constants of the ADQL unit tests that look like queries."""
    found = []
    for path in sorted(_HERE.glob("test_*.py")):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Constant) and isinstance(node.value, str):
                head = node.value.lstrip()[:6].upper()
                if head.startswith(("SELECT", "WITH")):
                    found.append(node.value)
    return found


BENCHMARK = _benchmark_queries()
FIXTURES = _fixture_queries()
TEST_STRINGS = _test_strings()


# -- generated expressions over make_tableset() (conftest.py) ------------------------------------------

_COLUMNS = st.sampled_from(["hip", "ra", "dec", "hpmag", "bv", "name", "plx", "t.hip", "t.hpmag"])
_LITERALS = st.sampled_from(["1", "0", "2.5", "1e3", "'a'", "NULL", "TRUE", "0x10", "-3"])


def _combine(children: st.SearchStrategy[str]) -> st.SearchStrategy[str]:
    binary = st.sampled_from(["+", "-", "*", "/", "||", "=", "<", ">=", "<>", "AND", "OR"])
    unary = st.sampled_from(["-", "NOT ", "", "+"])
    functions: list[Callable[[list[str]], str]] = [
        lambda a: f"ROUND({a[0]}, 1)",
        lambda a: f"ABS({a[0]})",
        lambda a: f"COALESCE({a[0]}, {a[1]})",
        lambda a: f"MOD({a[0]}, {a[1]})",
        lambda a: f"POINT({a[0]}, {a[1]})",
        lambda a: f"DISTANCE(POINT({a[0]}, {a[1]}), POINT(1, 2))",
        lambda a: f"CONTAINS(POINT({a[0]}, 1), CIRCLE({a[1]}, 2, 3))",
        lambda a: f"CAST({a[0]} AS DOUBLE PRECISION)",
        lambda a: f"CASE WHEN {a[0]} THEN {a[1]} END",
        lambda a: f"{a[0]} IS NULL",
        lambda a: f"{a[0]} BETWEEN {a[1]} AND 2",
        lambda a: f"{a[0]} IN ({a[1]}, 1)",
        lambda a: f"UPPER({a[0]})",
        lambda a: f"SQRT({a[0]})",
    ]
    return st.one_of(
        st.builds(lambda a, op, b: f"{a} {op} {b}", children, binary, children),
        st.builds(lambda op, a: f"{op}({a})", unary, children),
        st.builds(lambda f, a, b: f([a, b]), st.sampled_from(functions), children, children),
    )


#: ADQL expressions over the test table's columns, literals, operators and functions.
EXPRESSIONS = st.recursive(st.one_of(_COLUMNS, _LITERALS), _combine, max_leaves=8)


# -- a TableSet for any query -----------------------------------------------------------------------

_TYPES = [
    ("int", "integer"),
    ("double", "double precision"),
    ("float", "real"),
    ("char", "text"),
    ("long", "bigint"),
    ("short", "smallint"),
    ("boolean", "boolean"),
]


def tableset_for(text: str) -> TableSet | None:
    """A TableSet publishing every table ``text`` names, with the columns it qualifies by that table
    (unqualified ones go to the first table), of varied types; None when ``text`` does not parse."""
    try:
        parsed = parse(text)
    except VOError:
        return None
    tables: dict[tuple[str, str], dict[str, None]] = {}
    aliases: dict[str, tuple[str, str]] = {}
    for table in parsed.tree.find_all(exp.Table):
        if not table.name or table.catalog:
            continue
        key = (table.db or "pub", table.name)
        tables.setdefault(key, {})
        aliases[(table.alias or table.name).lower()] = key
    if not tables:
        return None
    first = next(iter(tables))
    for column in parsed.tree.find_all(exp.Column):
        if isinstance(column.this, exp.Star) or not column.name:
            continue
        owner = aliases.get(column.table.lower(), first) if column.table else first
        tables[owner].setdefault(column.name, None)
    schemas: dict[str, list[Table]] = {}
    for (schema, name), columns in tables.items():
        published = tuple(
            Column(name=c, datatype=_TYPES[i % len(_TYPES)][0], db_type=_TYPES[i % len(_TYPES)][1], column_index=i)
            for i, c in enumerate(columns)
        )
        schemas.setdefault(schema, []).append(Table(name=f"{schema}.{name}", schema_name=schema, columns=published))
    try:
        return TableSet(schemas=tuple(Schema(name=s, tables=tuple(t)) for s, t in schemas.items()))
    except (ValueError, TypeError):
        return None  # names a TableSet cannot hold (the same table twice in other spellings, ...)
