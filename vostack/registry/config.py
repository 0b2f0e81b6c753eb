"""The ``[registry]`` section of a TOML configuration: the site description, service metadata, deleted records.

.. code-block:: toml

    [registry]
    authority = "ivo://example.org"
    organisation = "Example Data Centre"
    title = "Example archive"
    description = "What the data centre publishes."
    reference_url = "https://example.org/"
    created = 2024-01-15T00:00:00Z     # TOML datetimes; these are the OAI-PMH datestamps:
    updated = 2025-03-01T00:00:00Z     # change `updated` when the metadata change
    subjects = ["Astrometry"]
    admin_emails = ["vo@example.org"]

    [registry.contact]
    name = "Archive staff"
    email = "vo@example.org"

    [[registry.creators]]
    name = "Lovelace, A."
    alt_identifiers = ["https://orcid.org/0000-0002-1825-0097"]

    [[registry.rights]]
    text = "CC BY 4.0"
    uri = "https://creativecommons.org/licenses/by/4.0/"

    [registry.services.tap]            # merged into the service's own description
    title = "Example TAP service"
    description = "..."
    dois = ["10.5072/example.cat"]
    updated = 2025-03-01T00:00:00Z

    [[registry.deleted]]               # kept for good: deletedRecord is "persistent"
    ivoid = "ivo://example.org/old-cone"
    datestamp = 2025-02-01T00:00:00Z

The section is parsed on its own by :func:`parse_registry_config`, so a portal can keep
it in the same file as its publishing configuration.
"""

from __future__ import annotations

import dataclasses
import tomllib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any, overload

from vostack.errors import VOError
from vostack.registry.oai import DeletedRecord
from vostack.registry.records import Contact, Creator, ResourceName, Rights, ServiceDescription, SiteDescription, doi

__all__ = ["RegistryConfig", "RegistryConfigError", "load_registry_config", "parse_registry_config"]


class RegistryConfigError(VOError):
    """The ``[registry]`` configuration is invalid; the message says where."""


_SERVICE_KEYS = {
    "title": str,
    "description": str,
    "short_name": str,
    "reference_url": str,
    "source": str,
    "source_format": str,
    "version": str,
    "subjects": list,
    "types": list,
    "content_level": list,
    "dois": list,
    "alt_identifiers": list,
    "created": datetime,
    "updated": datetime,
}


@dataclass(frozen=True, slots=True)
class RegistryConfig:
    """What the ``[registry]`` section says: the site, per-service metadata and deleted records."""

    site: SiteDescription
    services: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)
    deleted: tuple[DeletedRecord, ...] = ()

    def describe(self, service: ServiceDescription) -> ServiceDescription:
        """``service`` with the metadata its ``[registry.services.<key>]`` table gives (DOIs as ``doi:`` URIs)."""
        changes = dict(self.services.get(service.key, {}))
        if not changes:
            return service
        dois = tuple(doi(value) for value in changes.pop("dois", ()))
        if dois or "alt_identifiers" in changes:
            changes["alt_identifiers"] = (*changes.pop("alt_identifiers", service.alt_identifiers), *dois)
        for key in ("subjects", "types", "content_level"):
            if key in changes:
                changes[key] = tuple(changes[key])
        return dataclasses.replace(service, **changes)


def _where(path: str, key: str) -> str:
    return f"[{path}] {key}"


def _get(data: Mapping[str, Any], path: str, key: str, kind: type, *, required: bool = False) -> Any:
    if key not in data:
        if required:
            raise RegistryConfigError(f"{_where(path, key)} is required")
        return None
    value = data[key]
    if kind is datetime:
        if not isinstance(value, datetime) or value.tzinfo is None:
            raise RegistryConfigError(
                f"{_where(path, key)} must be a TOML datetime with an offset, e.g. 2025-01-01T00:00:00Z"
            )
        return value
    if isinstance(value, bool) or not isinstance(value, kind):
        raise RegistryConfigError(f"{_where(path, key)} must be a {kind.__name__}, not {value!r}")
    if isinstance(value, list) and not all(isinstance(item, str) for item in value):
        raise RegistryConfigError(f"{_where(path, key)} must be a list of strings")
    return value


def _check_keys(path: str, data: Mapping[str, Any], allowed: Sequence[str]) -> None:
    unknown = sorted(set(data) - set(allowed))
    if unknown:
        raise RegistryConfigError(
            f"[{path}]: unknown key(s) {', '.join(unknown)}; allowed: {', '.join(sorted(allowed))}"
        )


def _table(data: Mapping[str, Any], path: str, key: str) -> Mapping[str, Any]:
    value = data.get(key, {})
    if not isinstance(value, dict):
        raise RegistryConfigError(f"[{path}] {key} must be a table")
    return value


def _tables(data: Mapping[str, Any], path: str, key: str) -> list[Mapping[str, Any]]:
    value = data.get(key, [])
    if not isinstance(value, list) or not all(isinstance(item, dict) for item in value):
        raise RegistryConfigError(f"[{path}] {key} must be an array of tables ([[{path}.{key}]])")
    return value


def _contact(data: Mapping[str, Any]) -> Contact:
    path = "registry.contact"
    _check_keys(path, data, ("name", "email", "address", "telephone", "ivoid"))
    return Contact(
        name=_get(data, path, "name", str, required=True),
        email=_get(data, path, "email", str),
        address=_get(data, path, "address", str),
        telephone=_get(data, path, "telephone", str),
        ivoid=_get(data, path, "ivoid", str),
    )


def _creator(data: Mapping[str, Any]) -> Creator:
    path = "registry.creators"
    _check_keys(path, data, ("name", "ivoid", "logo", "alt_identifiers"))
    return Creator(
        name=_get(data, path, "name", str, required=True),
        ivoid=_get(data, path, "ivoid", str),
        logo=_get(data, path, "logo", str),
        alt_identifiers=tuple(_get(data, path, "alt_identifiers", list) or ()),
    )


def _service(key: str, data: Mapping[str, Any]) -> Mapping[str, Any]:
    path = f"registry.services.{key}"
    _check_keys(path, data, tuple(_SERVICE_KEYS))
    values = {name: _get(data, path, name, kind) for name, kind in _SERVICE_KEYS.items() if name in data}
    for value in values.get("dois", ()):
        try:
            doi(value)
        except ValueError as exc:
            raise RegistryConfigError(f"[{path}] dois: {exc}") from None
    return values


_SITE_KEYS = (
    "authority", "organisation", "title", "description", "reference_url", "created", "updated", "short_name",
    "subjects", "admin_emails", "content_level", "organisation_key", "registry_key", "version", "contact",
    "creators", "rights", "facilities", "instruments", "services", "deleted",
)  # fmt: skip


def parse_registry_config(data: Mapping[str, Any]) -> RegistryConfig:
    """Build a :class:`RegistryConfig` from the ``registry`` table of parsed TOML, checking every key."""
    try:
        return _parse(data)
    except ValueError as exc:  # from the record classes' own checks
        raise RegistryConfigError(f"[registry]: {exc}") from None


def _parse(data: Mapping[str, Any]) -> RegistryConfig:
    path = "registry"
    _check_keys(path, data, _SITE_KEYS)
    optional: dict[str, Any] = {}
    for key in ("short_name", "version", "organisation_key", "registry_key"):
        if key in data:
            optional[key] = _get(data, path, key, str)
    for key in ("subjects", "admin_emails", "content_level"):
        if key in data:
            optional[key] = tuple(_get(data, path, key, list))
    for key in ("facilities", "instruments"):
        if key in data:
            optional[key] = tuple(ResourceName(name) for name in _get(data, path, key, list))
    rights = []
    for item in _tables(data, path, "rights"):
        _check_keys("registry.rights", item, ("text", "uri"))
        rights.append(
            Rights(_get(item, "registry.rights", "text", str, required=True), _get(item, "registry.rights", "uri", str))
        )
    deleted = []
    for item in _tables(data, path, "deleted"):
        _check_keys("registry.deleted", item, ("ivoid", "datestamp"))
        deleted.append(
            DeletedRecord(
                _get(item, "registry.deleted", "ivoid", str, required=True),
                _get(item, "registry.deleted", "datestamp", datetime, required=True),
            )
        )
    services = {key: _service(key, table) for key, table in _table(data, path, "services").items()}
    site = SiteDescription(
        authority=_get(data, path, "authority", str, required=True),
        organisation=_get(data, path, "organisation", str, required=True),
        title=_get(data, path, "title", str, required=True),
        description=_get(data, path, "description", str, required=True),
        reference_url=_get(data, path, "reference_url", str, required=True),
        contact=_contact(_table(data, path, "contact")),
        created=_get(data, path, "created", datetime, required=True),
        updated=_get(data, path, "updated", datetime, required=True),
        creators=tuple(_creator(item) for item in _tables(data, path, "creators")),
        rights=tuple(rights),
        **optional,
    )
    return RegistryConfig(site=site, services=services, deleted=tuple(deleted))


@overload
def load_registry_config(path: Path) -> RegistryConfig: ...
@overload
def load_registry_config(path: Path, *, required: bool) -> RegistryConfig | None: ...


def load_registry_config(path: Path, *, required: bool = True) -> RegistryConfig | None:
    """Read the ``[registry]`` section of a TOML file (``None`` when absent and not ``required``)."""
    try:
        with path.open("rb") as fh:
            data = tomllib.load(fh)
    except OSError as exc:
        raise RegistryConfigError(f"cannot read {path}: {exc.strerror}") from None
    except tomllib.TOMLDecodeError as exc:
        raise RegistryConfigError(f"{path} is not valid TOML: {exc}") from None
    section = data.get("registry")
    if section is None and not required:
        return None
    if not isinstance(section, dict):
        raise RegistryConfigError(f"{path} has no [registry] table")
    return parse_registry_config(section)
