"""The publishing configuration: which tables a site serves and their metadata.

A small TOML file (or the same structure built in Python) names the schemas
and tables to publish and adds what PostgreSQL's catalog does not know:
descriptions, units, UCDs, utypes.  Everything else (column types, indexes,
foreign keys) is read from the database when TAP_SCHEMA is generated.

.. code-block:: toml

    [service]
    title = "Example archive"
    maxrec = 10000            # default MAXREC (TAP 1.1 §2.7.1)
    hardlimit = 1000000       # largest MAXREC honoured
    sync_timeout = 60         # seconds a synchronous query may run
    cors_origins = ["*"]      # browser pages allowed to query (CORS); [] for none
    upload_limit = 16000000   # TAP uploads: bytes of VOTable per query, all tables together
    upload_rows = 100000      # TAP uploads: rows per uploaded table
    upload_timeout = 30       # TAP uploads: seconds to fetch an http(s) upload
    upload_http = true        # TAP uploads by http(s) URL, fetched by the server; false: inline only
    upload_networks = []      # non-public networks (CIDR) http(s) uploads may come from, e.g. ["10.1.0.0/16"]
    request_limit = 1048576   # bytes of parameters per request: query string or form body (413/414 above)
    request_parameters = 1000 # parameters per request (413 above)
    role_prefix = "vostack"   # PostgreSQL roles of the visibility rules: <prefix>_anon, <prefix>_g_<group>
    tap_schema = "tap_schema" # where TAP_SCHEMA lives in the database
    tap_schema_source = "generate"   # or "existing": serve it as it is

    [schemas.hipparcos]
    description = "Hipparcos, the New Reduction"

    [tables."hipparcos.main"]
    description = "The catalogue"

    [tables."hipparcos.main".columns.hpmag]
    unit = "mag"
    ucd = "phot.mag;em.opt"
    description = "Hipparcos magnitude"
    principal = true

Schemas, tables and columns are public unless restricted to groups: ``groups = ["consortium"]`` in
``[schemas.<name>]``, ``[tables."<schema.table>"]`` or a column's table makes it visible to members of
those groups only (TAP_SCHEMA, ``/tables``, ADQL, the HTML page, examples, MOCs and registry records;
PostgreSQL enforces the same through a role per group, see :mod:`vostack.db.access`).
"""

from __future__ import annotations

import ipaddress
import re
import tomllib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from vostack.errors import VOError
from vostack.schema import Access

__all__ = [
    "EMBARGO_TYPES",
    "ColumnMeta",
    "ConfigError",
    "Example",
    "PublishConfig",
    "ServiceConfig",
    "TableMeta",
    "check_keys",
    "embargo_values",
    "load_config",
    "read_toml",
    "table_values",
]


class ConfigError(VOError):
    """The publishing configuration is invalid; the message says where."""


EMBARGO_TYPES: dict[str, tuple[type, ...]] = {"owner_group": (str,), "release_date": (str,), "metadata_public": (bool,)}
"""The embargo keys of ``[ssa]``, ``[epntap.<schema>]`` and ``[sia.collections.<name>]`` and their types."""


def embargo_values(where: str, data: Mapping[str, Any]) -> dict[str, Any]:
    """The embargo keys of the config table ``data`` at ``where`` (:data:`EMBARGO_TYPES`): ``owner_group`` and
    ``release_date`` together, non-empty strings, and ``metadata_public`` only with them (issue "Private
    projects": products before their release date are seen by their group only)."""
    values = {key: data[key] for key in EMBARGO_TYPES if key in data}
    for key, value in values.items():
        if key == "metadata_public" and not isinstance(value, bool):
            raise ConfigError(f"{where}: metadata_public must be true or false")
        if key != "metadata_public" and not (isinstance(value, str) and value.strip()):
            raise ConfigError(f"{where}: {key} must be a non-empty string")
    if ("owner_group" in values) != ("release_date" in values):
        raise ConfigError(f"{where}: an embargo needs both owner_group and release_date")
    if "metadata_public" in values and "owner_group" not in values:
        raise ConfigError(f"{where}: metadata_public is for an embargo (owner_group and release_date)")
    return values


@dataclass(frozen=True, slots=True)
class ColumnMeta:
    """Metadata a portal adds to a database column (TAP 1.1 §4.3)."""

    description: str | None = None
    unit: str | None = None
    ucd: str | None = None
    utype: str | None = None
    xtype: str | None = None
    arraysize: str | None = None
    principal: bool = False
    std: bool = False
    datatype: str | None = None
    """``"unicodeChar"`` publishes a text column whose values are not all ASCII (VOTable ``char`` is ASCII)."""
    groups: tuple[str, ...] = ()
    """The groups that see this column; empty: everyone who sees its table."""


@dataclass(frozen=True, slots=True)
class TableMeta:
    """Metadata a portal adds to a published table (TAP 1.1 §4.2)."""

    description: str | None = None
    utype: str | None = None
    columns: Mapping[str, ColumnMeta] = field(default_factory=dict)
    groups: tuple[str, ...] = ()
    """The groups that see this table; empty: public (within its schema's rule)."""


@dataclass(frozen=True, slots=True)
class ServiceConfig:
    """Service-wide settings: title, limits, and where TAP_SCHEMA comes from."""

    title: str = "vostack TAP service"
    description: str | None = None
    maxrec: int = 10_000
    hardlimit: int = 1_000_000
    sync_timeout: float = 60.0
    tap_schema: str = "tap_schema"
    tap_schema_source: str = "generate"
    cors_origins: tuple[str, ...] = ("*",)
    upload_limit: int = 16_000_000
    upload_rows: int = 100_000
    upload_timeout: float = 30.0
    upload_http: bool = True
    upload_networks: tuple[str, ...] = ()
    request_limit: int = 1_048_576
    request_parameters: int = 1000
    role_prefix: str = "vostack"


@dataclass(frozen=True, slots=True)
class Example:
    """A query shown to users at ``/examples`` (DALI 1.1 §2.3; TAP 1.1 §2.4)."""

    name: str
    query: str
    description: str | None = None


@dataclass(frozen=True, slots=True)
class PublishConfig:
    """What to publish: schemas and tables with their metadata, plus service settings and examples."""

    service: ServiceConfig = field(default_factory=ServiceConfig)
    schemas: Mapping[str, str | None] = field(default_factory=dict)
    tables: Mapping[str, TableMeta] = field(default_factory=dict)
    examples: tuple[Example, ...] = ()
    schema_groups: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    """The groups that see each restricted schema (absent: public)."""

    @property
    def access(self) -> Access:
        """Who sees which schemas, tables and columns (:class:`vostack.schema.Access`)."""
        return Access(
            schemas={name: frozenset(groups) for name, groups in self.schema_groups.items()},
            tables={name: frozenset(meta.groups) for name, meta in self.tables.items()},
            columns={
                (name, column): frozenset(cmeta.groups)
                for name, meta in self.tables.items()
                for column, cmeta in meta.columns.items()
            },
        )


_SERVICE_KEYS = {f for f in ServiceConfig.__dataclass_fields__}
_COLUMN_KEYS = {f for f in ColumnMeta.__dataclass_fields__}


def _str(where: str, key: str, value: Any) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str):
        raise ConfigError(f"{where}: {key} must be a string, not {value!r}")
    return value or None


def check_keys(where: str, data: Mapping[str, Any], allowed: Iterable[str]) -> None:
    """Refuse the keys of the config table ``data`` at ``where`` that are not ``allowed``, naming them all."""
    unknown = sorted(set(data) - set(allowed))
    if unknown:
        raise ConfigError(f"{where}: unknown key(s) {', '.join(unknown)}; allowed: {', '.join(sorted(allowed))}")


def table_values(where: str, data: Any, types: Mapping[str, tuple[type, ...]]) -> dict[str, Any]:
    """The keys of the config table ``data`` at ``where``, each of one of its ``types`` (unknown keys refused;
    ``true``/``false`` only where ``bool`` is one of them)."""
    if not isinstance(data, dict):
        raise ConfigError(f"{where} must be a table")
    check_keys(where, data, types)
    values: dict[str, Any] = {}
    for key, value in data.items():
        allowed = types[key]
        if (isinstance(value, bool) and bool not in allowed) or not isinstance(value, allowed):
            raise ConfigError(f"{where}: {key} must be a {' or '.join(t.__name__ for t in allowed)}, not {value!r}")
        values[key] = value
    return values


_SERVICE_TYPES: dict[str, tuple[type, ...]] = {
    "title": (str,),
    "description": (str,),
    "maxrec": (int,),
    "hardlimit": (int,),
    "sync_timeout": (int, float),
    "tap_schema": (str,),
    "tap_schema_source": (str,),
    "cors_origins": (list,),
    "upload_limit": (int,),
    "upload_rows": (int,),
    "upload_timeout": (int, float),
    "upload_http": (bool,),
    "upload_networks": (list,),
    "request_limit": (int,),
    "request_parameters": (int,),
    "role_prefix": (str,),
}


def _service(data: Mapping[str, Any]) -> ServiceConfig:
    check_keys("[service]", data, _SERVICE_KEYS)
    values: dict[str, Any] = {}
    for key, value in data.items():
        types = _SERVICE_TYPES[key]
        if (isinstance(value, bool) and bool not in types) or not isinstance(value, types):
            expected = " or ".join(t.__name__ for t in types)
            raise ConfigError(f"[service]: {key} must be a {expected}, not {value!r}")
        values[key] = tuple(value) if isinstance(value, list) else value
    config = ServiceConfig(**values)
    if config.maxrec < 0 or config.hardlimit < 1 or config.maxrec > config.hardlimit:
        raise ConfigError("[service]: need 0 <= maxrec <= hardlimit and hardlimit >= 1")
    if config.tap_schema_source not in ("generate", "existing"):
        raise ConfigError('[service]: tap_schema_source must be "generate" or "existing"')
    if not all(isinstance(origin, str) for origin in config.cors_origins):
        raise ConfigError('[service]: cors_origins must be a list of origins, e.g. ["*"] or [] for none')
    if config.sync_timeout <= 0:
        raise ConfigError("[service]: sync_timeout must be positive")
    if config.upload_limit < 0 or config.upload_rows < 0 or config.upload_timeout <= 0:
        raise ConfigError("[service]: upload_limit and upload_rows must not be negative (0: no uploads), "
                          "upload_timeout must be positive")  # fmt: skip
    for network in config.upload_networks:
        try:
            ipaddress.ip_network(network, strict=False)
        except (TypeError, ValueError):
            raise ConfigError(f"[service]: upload_networks: {network!r} is not a network such as 10.1.0.0/16") from None
    if not re.fullmatch(r"[a-z][a-z0-9_]{0,20}", config.role_prefix):
        raise ConfigError("[service]: role_prefix must be a lower-case word of at most 21 characters")
    if config.request_limit < 1 or config.request_parameters < 1:
        raise ConfigError("[service]: request_limit and request_parameters must be positive")
    return config


def _datatype(where: str, value: Any) -> str | None:
    if value is not None and value not in ("char", "unicodeChar"):
        raise ConfigError(f'{where}: datatype may only be "unicodeChar" (or "char") for a text column, not {value!r}')
    return _str(where, "datatype", value)


def _groups(where: str, data: Mapping[str, Any]) -> tuple[str, ...]:
    groups = data.get("groups", [])
    if not isinstance(groups, list) or not all(isinstance(g, str) and g.strip() for g in groups):
        raise ConfigError(f'{where}: groups must be a list of group names, e.g. ["consortium"]')
    return tuple(groups)


def _column(where: str, data: Mapping[str, Any]) -> ColumnMeta:
    check_keys(where, data, _COLUMN_KEYS)
    for flag in ("principal", "std"):
        if flag in data and not isinstance(data[flag], bool):
            raise ConfigError(f"{where}: {flag} must be true or false")
    return ColumnMeta(
        description=_str(where, "description", data.get("description")),
        unit=_str(where, "unit", data.get("unit")),
        ucd=_str(where, "ucd", data.get("ucd")),
        utype=_str(where, "utype", data.get("utype")),
        xtype=_str(where, "xtype", data.get("xtype")),
        arraysize=_str(where, "arraysize", data.get("arraysize")),
        datatype=_datatype(where, data.get("datatype")),
        principal=bool(data.get("principal", False)),
        std=bool(data.get("std", False)),
        groups=_groups(where, data),
    )


def _table(name: str, data: Mapping[str, Any]) -> TableMeta:
    where = f'[tables."{name}"]'
    check_keys(where, data, {"description", "utype", "columns", "groups"})
    if "." not in name:
        raise ConfigError(f'{where}: table names are qualified with their schema, e.g. "myschema.{name}"')
    columns = data.get("columns", {})
    if not isinstance(columns, dict):
        raise ConfigError(f"{where}: columns must be a table of column tables")
    return TableMeta(
        description=_str(where, "description", data.get("description")),
        utype=_str(where, "utype", data.get("utype")),
        columns={col: _column(f'[tables."{name}".columns.{col}]', meta) for col, meta in columns.items()},
        groups=_groups(where, data),
    )


def _examples(data: Any) -> tuple[Example, ...]:
    if not isinstance(data, list):
        raise ConfigError("examples must be an array of tables: [[examples]] name = ..., query = ...")
    examples = []
    for number, item in enumerate(data, 1):
        where = f"[[examples]] number {number}"
        if not isinstance(item, dict):
            raise ConfigError(f"{where}: must be a table with name, query and description")
        check_keys(where, item, {"name", "query", "description"})
        name, query = _str(where, "name", item.get("name")), _str(where, "query", item.get("query"))
        if not name or not query:
            raise ConfigError(f"{where}: needs a name and a query")
        examples.append(
            Example(name=name, query=query.strip(), description=_str(where, "description", item.get("description")))
        )
    return tuple(examples)


def parse_config(data: Mapping[str, Any]) -> PublishConfig:
    """Build a :class:`PublishConfig` from parsed TOML, checking every key."""
    # [registry] belongs to vostack.registry (records and OAI-PMH), [scs], [coverage] and [epntap] to
    # vostack.scs, vostack.moc and vostack.epntap, [auth] to vostack.auth, [products], [ssa] and [sia] to
    # vostack.holdings (vostack.publish reads them all from the same file, and the top-level public_url),
    # [results] and [database] to vostack.node (a node of a site on several machines), [facets] to
    # vostack.facets (faceted searches and their pages)
    sections = {"service", "schemas", "tables", "examples", "registry", "scs", "coverage", "epntap", "auth", "products",
                "ssa", "sia", "facets"}  # fmt: skip
    check_keys("config", data, sections | {"results", "database", "public_url"})
    schemas: dict[str, str | None] = {}
    schema_groups: dict[str, tuple[str, ...]] = {}
    for name, meta in data.get("schemas", {}).items():
        check_keys(f"[schemas.{name}]", meta, {"description", "groups"})
        schemas[name] = _str(f"[schemas.{name}]", "description", meta.get("description"))
        if groups := _groups(f"[schemas.{name}]", meta):
            schema_groups[name] = groups
    tables = {name: _table(name, meta) for name, meta in data.get("tables", {}).items()}
    for name in tables:
        schemas.setdefault(name.split(".", 1)[0], None)
    return PublishConfig(
        service=_service(data.get("service", {})),
        schemas=schemas,
        tables=tables,
        examples=_examples(data.get("examples", [])),
        schema_groups=schema_groups,
    )


def read_toml(path: Path) -> dict[str, Any]:
    """The parsed TOML file ``path``; :class:`ConfigError` when it cannot be read or is not TOML."""
    try:
        with path.open("rb") as fh:
            return tomllib.load(fh)
    except OSError as exc:
        raise ConfigError(f"cannot read {path}: {exc.strerror}") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path} is not valid TOML: {exc}") from None


def load_config(path: Path) -> PublishConfig:
    """Read a publishing configuration from a TOML file."""
    return parse_config(read_toml(path))
