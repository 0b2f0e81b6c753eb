"""vostack.adql builds on sqlglot's public surface only (what it offers dialect authors).

A private name copied or read from a dependency breaks in its next patch release (sqlglot
30.31.0 broke a copy of its internals) and forces an upper version cap on every portal that
installs vostack.  This test reads the sources of ``vostack/adql`` and fails on:

* an import of an underscore name from sqlglot;
* an attribute access ``x._name`` where sqlglot defines ``_name`` (its private methods, tables
  and attributes), other than on a vostack object's own ``self``;
* inside a class derived from a sqlglot class, a definition or ``self._name`` of such a name
  (overriding or calling sqlglot's private methods);
* ``getattr``/``setattr``/``hasattr`` with such a name, and reading bytecode (``__code__``, ``co_names``).
"""

from __future__ import annotations

import ast
import importlib
import inspect
from functools import cache
from pathlib import Path

import sqlglot

import vostack.adql

_PACKAGE = Path(vostack.adql.__file__).resolve().parent
_BYTECODE = {"__code__", "co_names", "co_consts", "co_code", "__closure__"}


def _private(name: str) -> bool:
    return name.startswith("_") and not name.startswith("__")


@cache
def sqlglot_private_names() -> frozenset[str]:
    """Every underscore name sqlglot's sources define: functions, methods, classes, attributes, variables."""
    names: set[str] = set()
    for path in Path(sqlglot.__file__).resolve().parent.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
                name = node.name
            elif isinstance(node, ast.Attribute) and isinstance(node.ctx, ast.Store):
                name = node.attr
            elif isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store):
                name = node.id
            elif isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name):
                name = node.target.id
            else:
                continue
            if _private(name):
                names.add(name)
    return frozenset(names)


def _from_sqlglot(klass: object) -> bool:
    return inspect.isclass(klass) and any(base.__module__.startswith("sqlglot") for base in klass.__mro__[1:])


def violations(source: str, module: object, where: str) -> list[str]:
    """What in ``source`` (the text of ``module``) reaches past sqlglot's public surface."""
    private = sqlglot_private_names()
    tree = ast.parse(source)
    found: list[str] = []

    def report(node: ast.AST, what: str) -> None:
        found.append(f"{where}:{getattr(node, 'lineno', '?')}: {what}")

    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("sqlglot"):
            for alias in node.names:
                if _private(alias.name):
                    report(node, f"imports {alias.name} from {node.module}")
        elif isinstance(node, ast.Attribute):
            if node.attr in _BYTECODE:
                report(node, f"reads bytecode ({node.attr})")
            elif node.attr in private and not (isinstance(node.value, ast.Name) and node.value.id in ("self", "cls")):
                report(node, f"reads sqlglot's private {node.attr}")
        elif isinstance(node, ast.Call) and isinstance(node.func, ast.Name):
            if node.func.id in ("getattr", "setattr", "hasattr") and len(node.args) >= 2:
                name = node.args[1]
                if isinstance(name, ast.Constant) and isinstance(name.value, str):
                    if name.value in private:
                        report(node, f"{node.func.id} of sqlglot's private {name.value}")
                    elif name.value in _BYTECODE:
                        report(node, f"reads bytecode ({name.value})")
        elif isinstance(node, ast.ClassDef) and _from_sqlglot(getattr(module, node.name, None)):
            for inner in ast.walk(node):
                if isinstance(inner, ast.FunctionDef) and inner.name in private:
                    report(inner, f"{node.name} overrides sqlglot's private {inner.name}")
                elif isinstance(inner, ast.Name) and isinstance(inner.ctx, ast.Store) and inner.id in private:
                    report(inner, f"{node.name} sets sqlglot's private {inner.id}")
                elif isinstance(inner, ast.Attribute) and inner.attr in private:
                    report(inner, f"{node.name} uses sqlglot's private {inner.attr}")
    return found


def test_vostack_adql_uses_only_sqlglots_public_surface() -> None:
    found = []
    for path in sorted(_PACKAGE.glob("*.py")):
        name = "vostack.adql" if path.stem == "__init__" else f"vostack.adql.{path.stem}"
        found += violations(path.read_text(encoding="utf-8"), importlib.import_module(name), path.name)
    assert found == []


def test_the_check_sees_private_names() -> None:
    # the shapes of what the previous translator did, one per rule
    module = importlib.import_module("vostack.adql.dialect")
    source = """
from sqlglot.tokens import _TokenizerBase

def typed(annotator, node):
    annotator._set_type(node, None)
    return node.__code__.co_names, getattr(annotator, "_visited", None)

class ADQLParser:
    def _parse_offset(self):
        return self._curr
"""
    found = violations(source, module, "sample")
    assert len(found) == 7, found  # __code__ and co_names count once each
    assert sqlglot_private_names() >= {"_set_type", "_parse_offset", "_curr", "_visited", "_dispatch", "_meta"}
