"""The architecture's import rules (STYLE §3), checked on the source: layers point one way.

site, cli, publish, holdings, node → scs, moc → tap, epntap, ssa, sia, demo → uws, registry, products,
obscore → web → auth, vosi → adql | votable | db | objects → schema, config, dali, errors.
Only vostack.adql imports sqlglot; only vostack.db imports asyncpg; only vostack.objects imports obstore; adql,
votable, db and objects never import each other or anything above them.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2] / "vostack"

#: For each package (or module), the vostack packages it may import besides itself.
ALLOWED: dict[str, set[str]] = {
    "errors": set(),
    "schema": set(),
    "dali": {"errors"},
    "config": {"errors", "schema"},
    "auth": {"errors", "config", "schema"},
    "adql": {"errors", "schema", "dali"},
    "votable": {"errors", "schema", "dali"},
    "db": {"errors", "schema", "dali"},
    "objects": {"errors"},
    "vosi": {"errors", "schema", "dali", "votable"},
    "registry": {"auth", "errors", "schema", "dali", "vosi", "web"},
    "web": {"errors", "dali", "config", "votable", "db", "vosi", "auth"},
    "uws": {"auth", "errors", "schema", "dali", "db", "votable", "web", "objects"},
    # product files (directories, zip archives, buckets) and the endpoint serving them
    "products": {"errors", "objects", "web"},
    # what product services share: ObsCore columns and view, DataLink links documents
    "obscore": {"errors", "schema", "dali", "config", "db", "votable"},
    "tap": {"auth", "errors", "schema", "dali", "config", "adql", "votable", "db", "vosi", "uws", "web"},
    "ssa": {
        "auth",
        "errors",
        "schema",
        "dali",
        "config",
        "adql",
        "votable",
        "db",
        "vosi",
        "uws",
        "web",
        "objects",
        "products",
        "obscore",
    },
    # images: SIA 2.0, SODA 1.0 and DataLink over ivoa.obscore
    "sia": {
        "auth",
        "uws",
        "errors",
        "schema",
        "dali",
        "config",
        "votable",
        "db",
        "vosi",
        "web",
        "objects",
        "products",
        "obscore",
    },
    # services built on TAP's query path and metadata
    "scs": {"auth", "errors", "schema", "dali", "config", "adql", "votable", "db", "vosi", "web", "tap"},
    "moc": {"auth", "errors", "schema", "dali", "config", "db", "web", "registry", "tap"},
    # faceted search over TAP's query path, and the pages built on it
    "facets": {"auth", "errors", "schema", "dali", "config", "adql", "db", "web", "tap"},
    "pages": {"auth", "errors", "schema", "dali", "config", "db", "web", "tap", "uws", "facets", "votable"},
    "epntap": {"auth", "errors", "schema", "dali", "config", "db", "vosi", "registry"},
    # a node of a site on several machines: its result store and read replicas
    "node": {"errors", "config", "db", "objects", "uws"},
}
#: Third-party libraries only one package may import.
OWNERS = {"sqlglot": "adql", "asyncpg": "db", "obstore": "objects"}


def _package(path: Path) -> str:
    return path.relative_to(ROOT).parts[0].removesuffix(".py")


def _imports(path: Path) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
            if node.module == "vostack":
                names.update(f"vostack.{alias.name}" for alias in node.names)
    return names


#: The top of the layers, which may import anything.
TOP = ("site", "cli", "demo", "publish", "holdings")
SOURCES = sorted(p for p in ROOT.rglob("*.py") if _package(p) in ALLOWED or _package(p) in TOP)


@pytest.mark.parametrize("path", SOURCES, ids=[str(p.relative_to(ROOT)) for p in SOURCES])
def test_imports_point_down_the_layers(path: Path) -> None:
    package = _package(path)
    for name in _imports(path):
        top = name.split(".")[0]
        if top in OWNERS:
            assert package == OWNERS[top], f"{path.name}: only vostack.{OWNERS[top]} may import {top}"
        if top == "vostack" and "." in name and package in ALLOWED:
            target = name.split(".")[1]
            assert target == package or target in ALLOWED[package], f"{path.name} ({package}) imports {name}"


def test_every_package_is_covered() -> None:
    packages = {_package(p) for p in ROOT.rglob("*.py")} - {"__init__", *TOP}
    assert packages <= set(ALLOWED), f"add the import rules of {packages - set(ALLOWED)}"
