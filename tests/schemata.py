"""The IVOA XML schemas, for validating vostack's documents in tests, offline.

The schemas come from Debian's ``python3-gavo`` (GAVO DaCHS ships them in
``gavo/resources/schemata``).  On first use the package is fetched with
``apt-get download`` and its ``.xsd`` files are kept in a cache directory,
``$VOSTACK_SCHEMA_CACHE`` or ``<repo>/.vostack/schemata`` (git-ignored).
``python -m tests.schemata`` does the same ahead of a test run.

Validation never touches the network: the schemas' own ``schemaLocation``
URLs all name namespaces that the generated wrapper schema has already
imported from local files, and the parsers refuse network access.

Use :func:`validator` directly, or the session fixture :func:`schema_validator`
(register it with ``pytest_plugins = ["tests.schemata"]`` in the root conftest).
"""

from __future__ import annotations

import functools
import os
import shutil
import subprocess
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from lxml import etree

__all__ = ["IMPORTS", "PACKAGE", "schema_validator", "schemata_dir", "validator"]

PACKAGE = "python3-gavo"
_PACKAGE_SUBDIR = Path("usr/lib/python3/dist-packages/gavo/resources/schemata")
_SYSTEM_SCHEMATA = Path("/") / _PACKAGE_SUBDIR
_DEFAULT_CACHE = Path(__file__).resolve().parent.parent / ".vostack" / "schemata"

IMPORTS: tuple[tuple[str, str], ...] = (
    ("http://www.w3.org/XML/1998/namespace", "xml.xsd"),
    ("http://www.w3.org/1999/xlink", "xlink.xsd"),
    ("http://www.ivoa.net/xml/VOResource/v1.0", "VOResource.xsd"),
    ("http://www.ivoa.net/xml/STC/stc-v1.30.xsd", "stc.xsd"),
    ("http://www.ivoa.net/xml/VODataService/v1.1", "VODataService.xsd"),
    ("http://www.ivoa.net/xml/TAPRegExt/v1.0", "TAPRegExt.xsd"),
    ("http://www.ivoa.net/xml/SSA/v1.1", "SSA.xsd"),
    ("http://www.ivoa.net/xml/ConeSearch/v1.0", "ConeSearch.xsd"),
    ("http://www.ivoa.net/xml/VOSICapabilities/v1.0", "VOSICapabilities.xsd"),
    ("http://www.ivoa.net/xml/VOSIAvailability/v1.0", "VOSIAvailability.xsd"),
    ("http://www.ivoa.net/xml/VOSITables/v1.0", "VOSITables.xsd"),
    ("http://www.ivoa.net/xml/UWS/v1.0", "UWS.xsd"),
    ("http://www.ivoa.net/xml/VORegistry/v1.0", "VORegistry.xsd"),
    ("http://www.ivoa.net/xml/RegistryInterface/v1.0", "RegistryInterface.xsd"),
    ("http://purl.org/dc/elements/1.1/", "simpledc20021212.xsd"),
    ("http://www.openarchives.org/OAI/2.0/oai_dc/", "oai_dc.xsd"),
    ("http://www.openarchives.org/OAI/2.0/", "OAI-PMH.xsd"),
)
"""(namespace, file) pairs the wrapper imports, dependencies first.

Order matters: libxml2 skips an ``xs:import`` of a namespace already imported,
so each schema's own imports (``http://...`` locations) are never fetched.
"""

_XS = "http://www.w3.org/2001/XMLSchema"


def _cache_dir() -> Path:
    configured = os.environ.get("VOSTACK_SCHEMA_CACHE")
    return Path(configured) if configured else _DEFAULT_CACHE


def _complete(directory: Path) -> bool:
    return all((directory / name).is_file() for _, name in IMPORTS)


def _fetch_command(cache: Path) -> str:
    return (
        f"apt-get update && mkdir -p {cache} && cd {cache} && apt-get download {PACKAGE}"
        f" && dpkg-deb -x {PACKAGE}_*.deb pkg && cp -r pkg/{_PACKAGE_SUBDIR} xsd && rm -r pkg {PACKAGE}_*.deb"
    )


def _fetch(cache: Path) -> Path:
    """Download ``python3-gavo`` and keep its schemas in ``cache/xsd`` (atomically)."""
    cache.mkdir(parents=True, exist_ok=True)
    target = cache / "xsd"
    with tempfile.TemporaryDirectory(dir=cache) as tmp:
        work = Path(tmp)
        subprocess.run(["apt-get", "download", PACKAGE], cwd=work, check=True, capture_output=True, timeout=600)
        (deb,) = work.glob(f"{PACKAGE}_*.deb")
        subprocess.run(["dpkg-deb", "-x", str(deb), str(work / "pkg")], check=True, capture_output=True, timeout=600)
        staged = work / "xsd"
        shutil.copytree(work / "pkg" / _PACKAGE_SUBDIR, staged)
        if not _complete(staged):
            raise FileNotFoundError(f"{PACKAGE} lacks some of {[name for _, name in IMPORTS]}")
        try:
            staged.rename(target)
        except OSError:
            if not _complete(target):  # not a concurrent fetch that won the race
                raise
    return target


_fetch_failure: list[str] = []  # remembered, so one failed download is not retried by every test


@functools.cache
def schemata_dir() -> Path:
    """The directory holding the IVOA ``.xsd`` files, fetching them on first use.

    Fails the calling test (with the command to run by hand) when they cannot be had.
    """
    cache = _cache_dir()
    for candidate in (cache / "xsd", _SYSTEM_SCHEMATA):
        if _complete(candidate):
            return candidate
    if not _fetch_failure:
        try:
            return _fetch(cache)
        except (OSError, subprocess.SubprocessError, ValueError) as exc:
            stderr = exc.stderr if isinstance(exc, subprocess.CalledProcessError) else b""
            _fetch_failure.append(f"{exc} {stderr.decode(errors='replace')}".strip())
    pytest.fail(
        f"the IVOA XML schemas are missing and fetching {PACKAGE} failed: {_fetch_failure[0]}\n"
        f"fetch them by hand with:\n  {_fetch_command(cache)}",
        pytrace=False,
    )


class _LocalOnly(etree.Resolver):  # type: ignore[misc, unused-ignore]  # untyped without types-lxml
    """Maps any schema URL to the local file of the same name; refuses everything else."""

    def __init__(self, directory: Path) -> None:
        super().__init__()
        self._directory = directory

    def resolve(self, system_url: str | None, public_id: str | None, context: Any) -> Any:
        local = self._directory / (system_url or "").rstrip("/").rsplit("/", 1)[-1]
        if local.is_file():
            return self.resolve_filename(str(local), context)
        raise LookupError(f"refusing to load {system_url!r}: not a local schema")


def _safe_parser(directory: Path | None = None) -> etree.XMLParser:
    parser = etree.XMLParser(no_network=True, resolve_entities=False, load_dtd=False, huge_tree=False)
    if directory is not None:
        parser.resolvers.add(_LocalOnly(directory))
    return parser


@functools.cache
def _composite_schema() -> etree.XMLSchema:
    directory = schemata_dir()
    wrapper = etree.Element(f"{{{_XS}}}schema", nsmap={"xs": _XS})
    for namespace, name in IMPORTS:
        etree.SubElement(wrapper, f"{{{_XS}}}import", namespace=namespace, schemaLocation=(directory / name).as_uri())
    document = etree.fromstring(
        etree.tostring(wrapper), _safe_parser(directory), base_url=(directory / "wrapper.xsd").as_uri()
    )
    return etree.XMLSchema(document)


@functools.cache
def _target_namespace(root_xsd_name: str) -> str:
    directory = schemata_dir()
    path = directory / root_xsd_name
    if not path.is_file():
        raise LookupError(f"no schema {root_xsd_name!r} in {directory}")
    namespace = etree.parse(str(path), _safe_parser()).getroot().get("targetNamespace")
    if namespace not in {ns for ns, _ in IMPORTS}:
        raise LookupError(f"{root_xsd_name} ({namespace}) is not among the imported schemas")
    return str(namespace)


def validator(root_xsd_name: str) -> Callable[[bytes], None]:
    """A function that asserts a document is valid with a root element from ``root_xsd_name``.

    The document is validated against all of :data:`IMPORTS` at once, so ``xsi:type``
    extensions from other schemas (``tr:TableAccess`` in a ``vosi:capabilities``) count.
    """
    namespace = _target_namespace(root_xsd_name)
    schema = _composite_schema()

    def validate(document: bytes) -> None:
        root = etree.fromstring(document, _safe_parser())
        qname = etree.QName(root)
        if qname.namespace != namespace:
            raise AssertionError(f"root element {qname.text} is not from {root_xsd_name} ({namespace})")
        if not schema.validate(root):
            errors = "\n".join(f"  line {e.line}: {e.message}" for e in schema.error_log)
            raise AssertionError(f"document is not valid against {root_xsd_name}:\n{errors}")

    return validate


@pytest.fixture(scope="session")
def schema_validator() -> Callable[[str], Callable[[bytes], None]]:
    """Session fixture: ``schema_validator("VOSITables.xsd")(document)``; see :func:`validator`."""
    schemata_dir()
    return validator


if __name__ == "__main__":
    print(schemata_dir())
