"""VOResource 1.1 records of a site: its authority, its organisation, its services and its registry.

A :class:`Resource` is one registry record, rendered by :func:`resource_element` as
``ri:Resource`` (RegistryInterface 1.1 §2) with an ``xsi:type`` from VOResource 1.1
(``vr:Organisation``, ``vr:Service``), VODataService 1.1 (``vs:DataService``,
``vs:CatalogService``) or VORegistry 1.1 (``vg:Authority``, ``vg:Registry``).

The records of a site come from one description of it: a :class:`SiteDescription`
(authority, publisher, contact, creators, subjects, dates) and one
:class:`ServiceDescription` per service, whose capabilities are the very
:class:`vostack.vosi.Capability` objects the service puts in its VOSI
``/capabilities`` and whose table set is the one behind its ``/tables``.
:func:`site_records` builds them all for a deployed base URL.

Datestamps are never taken from the clock: ``created`` and ``updated`` come from the
descriptions, so a restart does not make harvesters fetch every record again.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Literal

from lxml import etree

from vostack import vosi
from vostack.schema import TableSet
from vostack.vosi import Capability

__all__ = [
    "NAMESPACES",
    "REGISTRY",
    "RESOURCE_TYPES",
    "RI_NS",
    "VOR_VERSION",
    "Contact",
    "Content",
    "Coverage",
    "Creator",
    "Curation",
    "Date",
    "Relationship",
    "Resource",
    "ResourceName",
    "Rights",
    "ServiceDescription",
    "SiteDescription",
    "authority_record",
    "doi",
    "format_utc",
    "organisation_record",
    "registry_record",
    "resource_document",
    "resource_element",
    "service_record",
    "site_records",
]

RI_NS = "http://www.ivoa.net/xml/RegistryInterface/v1.0"
REGISTRY = "ivo://ivoa.net/std/Registry"
"""The standardID of the registry interfaces (RegistryInterface 1.1 §3)."""
VOR_VERSION = "1.1"
"""The VOResource version the records are written against (the ``version`` attribute)."""

NAMESPACES: dict[str, str] = {
    "ri": RI_NS,
    "vg": "http://www.ivoa.net/xml/VORegistry/v1.0",
    **vosi.NAMESPACES,
}
"""The prefixes bound on every record; ``xsi:type`` values use exactly these."""

RESOURCE_TYPES = frozenset(
    {"vg:Authority", "vr:Organisation", "vr:Service", "vs:DataService", "vs:CatalogService", "vg:Registry"}
)
"""The resource types :class:`Resource` can render."""

_SERVICE_TYPES = frozenset({"vr:Service", "vs:DataService", "vs:CatalogService", "vg:Registry"})
_DATA_TYPES = frozenset({"vs:DataService", "vs:CatalogService"})
_XSI_TYPE = f"{{{vosi.XSI_NS}}}type"
# VOResource 1.1 §2.2.1 (IVOA Identifiers 2.0 §2): ivo://authority[/path]
_IVOID = re.compile(r"ivo://[\w][\w\-.~*'()]{2,}(/[^\s?#]*)?", re.ASCII)
_NOT_XML = re.compile("[^\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")


def _text(value: str) -> str:
    return _NOT_XML.sub("\ufffd", value)


def _check_ivoid(value: str, what: str, *, authority: bool = False) -> None:
    if not _IVOID.fullmatch(value) or value.endswith("/"):
        raise ValueError(f"{what} must be an IVOA identifier ivo://authority/path, not {value!r}")
    if authority and "/" in value.removeprefix("ivo://"):
        raise ValueError(f"{what} must be a bare authority identifier ivo://authority, not {value!r}")


def _check_aware(value: datetime, what: str) -> None:
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError(f"{what} must be timezone-aware, got {value!r}")


def format_utc(value: datetime) -> str:
    """``YYYY-MM-DDThh:mm:ssZ``: the VOResource 1.1 ``vr:UTCTimestamp`` and the OAI-PMH 2.0 datestamp (§3.3)."""
    _check_aware(value, "a timestamp")
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def doi(value: str) -> str:
    """A DOI as the ``altIdentifier`` URI VOResource 1.1 §2.2.1 asks for: ``doi:10.xxxx/suffix``.

    Accepts ``10.xxxx/suffix``, ``doi:10.xxxx/suffix`` and ``https://doi.org/10.xxxx/suffix``.
    """
    text = value.strip()
    for prefix in ("https://doi.org/", "http://doi.org/", "https://dx.doi.org/", "http://dx.doi.org/", "doi:"):
        if text.lower().startswith(prefix):
            text = text[len(prefix) :]
            break
    if not re.fullmatch(r"10\.\d{4,9}/\S+", text):
        raise ValueError(f"not a DOI: {value!r}")
    return f"doi:{text}"


@dataclass(frozen=True, slots=True)
class ResourceName:
    """A ``vr:ResourceName``: a name, optionally with the IVOA identifier of its record (VOResource 1.1 §3.1.3)."""

    name: str
    ivoid: str | None = None

    def __post_init__(self) -> None:
        if not self.name.strip():
            raise ValueError("a resource name must not be empty")
        if self.ivoid is not None:
            _check_ivoid(self.ivoid, "ivo-id")


@dataclass(frozen=True, slots=True)
class Contact:
    """A ``vr:Contact`` (VOResource 1.1 §3.1.3): whom to ask about a resource."""

    name: str
    email: str | None = None
    address: str | None = None
    telephone: str | None = None
    ivoid: str | None = None
    alt_identifiers: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        ResourceName(self.name, self.ivoid)


@dataclass(frozen=True, slots=True)
class Creator:
    """A ``vr:Creator`` (VOResource 1.1 §3.1.3): a person or body that made the content.

    ``alt_identifiers`` are URIs such as ORCIDs (``https://orcid.org/0000-...``).
    """

    name: str
    ivoid: str | None = None
    logo: str | None = None
    alt_identifiers: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        ResourceName(self.name, self.ivoid)


@dataclass(frozen=True, slots=True)
class Date:
    """A ``vr:Date`` (VOResource 1.1 §3.1.3) with its role (``Created``, ``Updated``, ``Issued``, ...)."""

    value: date | datetime
    role: str = "Updated"


@dataclass(frozen=True, slots=True)
class Curation:
    """``vr:Curation`` (VOResource 1.1 §3.1.3): publisher, creators, dates, version and contacts."""

    publisher: ResourceName
    contacts: tuple[Contact, ...]
    creators: tuple[Creator, ...] = ()
    contributors: tuple[ResourceName, ...] = ()
    dates: tuple[Date, ...] = ()
    version: str | None = None

    def __post_init__(self) -> None:
        if not self.contacts:
            raise ValueError("curation needs at least one contact (VOResource 1.1 §3.1.3)")


@dataclass(frozen=True, slots=True)
class Relationship:
    """A ``vr:Relationship`` (VOResource 1.1 §3.1.4), e.g. ``IsServedBy`` or ``IsSupplementTo``."""

    relationship_type: str
    related: tuple[ResourceName, ...]

    def __post_init__(self) -> None:
        if not self.related:
            raise ValueError("a relationship needs at least one related resource")


@dataclass(frozen=True, slots=True)
class Content:
    """``vr:Content`` (VOResource 1.1 §3.1.4): subjects, description, reference URL, type and level.

    ``types`` and ``content_levels`` take terms of the IVOA vocabularies
    (``Catalog``, ``Organisation``, ``Registry``; ``Research``, ``University``).
    """

    subjects: tuple[str, ...]
    description: str
    reference_url: str
    source: str | None = None
    source_format: str | None = None
    types: tuple[str, ...] = ()
    content_levels: tuple[str, ...] = ()
    relationships: tuple[Relationship, ...] = ()

    def __post_init__(self) -> None:
        if not self.subjects or not all(s.strip() for s in self.subjects):
            raise ValueError("content needs at least one non-empty subject (VOResource 1.1 §3.1.4)")
        if not self.description.strip():
            raise ValueError("content needs a description")
        if not self.reference_url.strip():
            raise ValueError("content needs a reference URL")


@dataclass(frozen=True, slots=True)
class Coverage:
    """``vs:Coverage`` (VODataService 1.2 §3.3): where on the sky and when a resource has data.

    ``spatial`` is a MOC in its ASCII serialisation (MOC 2.0 §4.3.2), ICRS; ``temporal`` are
    ``(start, end)`` intervals in MJD; ``footprint`` is the URL of a finer MOC
    (``ivo-id="ivo://ivoa.net/std/moc"``); ``wavebands`` are terms of the IVOA messenger vocabulary.
    """

    spatial: str | None = None
    temporal: tuple[tuple[float, float], ...] = ()
    footprint: str | None = None
    wavebands: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        for start, end in self.temporal:
            if not start <= end:
                raise ValueError(f"a temporal interval must not end before it starts: {start} {end}")


MOC_STANDARD = "ivo://ivoa.net/std/moc"
"""The ``ivo-id`` of a ``footprint`` that is a MOC (VODataService 1.2 §3.3)."""


@dataclass(frozen=True, slots=True)
class Rights:
    """A ``vr:Rights`` statement (VOResource 1.1 §3.2.1), with an optional licence URI."""

    text: str
    uri: str | None = None


@dataclass(frozen=True, slots=True)
class Resource:
    """One VOResource 1.1 record (VOResource 1.1 §3), ready to render as ``ri:Resource``.

    Parameters
    ----------
    resource_type
        One of :data:`RESOURCE_TYPES`.
    ivoid, title, curation, content, created, updated
        The ``vr:Resource`` core; the timestamps must be timezone-aware.
    short_name
        At most 16 characters.
    alt_identifiers
        Other URIs of the resource, typically DOIs (:func:`doi`).
    status
        ``"active"`` or ``"inactive"``; deleted resources are not records but
        deleted OAI-PMH headers (:class:`vostack.registry.oai.DeletedRecord`).
    rights, capabilities
        Services only (``vr:Service`` and its subtypes).
    facilities, instruments
        ``vr:Organisation``, ``vs:DataService`` and ``vs:CatalogService`` only.
    tableset
        ``vs:CatalogService`` and ``vg:Registry`` only.
    coverage
        ``vs:DataService`` and ``vs:CatalogService`` only.
    managing_org
        Required for ``vg:Authority``.
    full, managed_authorities
        ``vg:Registry`` only: whether it harvests the whole VO, and the authorities it publishes.
    oai_url, max_records
        ``vg:Registry`` only: the OAI-PMH base URL, written as a ``vg:Harvest`` capability
        with a ``vg:OAIHTTP`` interface, and the largest page a harvester gets.
    """

    resource_type: str
    ivoid: str
    title: str
    curation: Curation
    content: Content
    created: datetime
    updated: datetime
    short_name: str | None = None
    alt_identifiers: tuple[str, ...] = ()
    status: Literal["active", "inactive"] = "active"
    rights: tuple[Rights, ...] = ()
    capabilities: tuple[Capability, ...] = ()
    facilities: tuple[ResourceName, ...] = ()
    instruments: tuple[ResourceName, ...] = ()
    tableset: TableSet | None = None
    coverage: Coverage | None = None
    managing_org: ResourceName | None = None
    full: bool = False
    managed_authorities: tuple[str, ...] = ()
    oai_url: str | None = None
    max_records: int = 100

    def __post_init__(self) -> None:
        kind = self.resource_type
        if kind not in RESOURCE_TYPES:
            raise ValueError(f"resource_type must be one of {sorted(RESOURCE_TYPES)}, not {kind!r}")
        _check_ivoid(self.ivoid, "identifier", authority=kind == "vg:Authority")
        if not self.title.strip():
            raise ValueError("a resource needs a title")
        if self.short_name is not None and not 0 < len(self.short_name) <= 16:
            raise ValueError(f"shortName must have 1 to 16 characters, not {self.short_name!r}")
        _check_aware(self.created, "created")
        _check_aware(self.updated, "updated")
        if self.updated < self.created:
            raise ValueError("updated must not be before created")
        if self.status not in ("active", "inactive"):
            raise ValueError(f"status must be 'active' or 'inactive', not {self.status!r}")
        if (kind == "vg:Authority") != (self.managing_org is not None):
            raise ValueError("managing_org is required for vg:Authority and only allowed there")
        if kind not in _SERVICE_TYPES and (self.rights or self.capabilities):
            raise ValueError(f"{kind} has no rights or capabilities; only services do")
        if kind not in _DATA_TYPES | {"vr:Organisation"} and (self.facilities or self.instruments):
            raise ValueError(f"{kind} has no facility or instrument")
        if kind not in _DATA_TYPES and self.coverage is not None:
            raise ValueError(f"{kind} has no coverage; use vs:DataService or vs:CatalogService")
        if kind not in ("vs:CatalogService", "vg:Registry") and self.tableset is not None:
            raise ValueError(f"{kind} has no tableset; use vs:CatalogService")
        if kind != "vg:Registry" and (self.full or self.managed_authorities or self.oai_url):
            raise ValueError("full, managed_authorities and oai_url belong to vg:Registry")
        if self.max_records < 1:
            raise ValueError("max_records must be positive")
        for authority in self.managed_authorities:
            _check_ivoid(authority, "managedAuthority", authority=True)

    @property
    def datestamp(self) -> datetime:
        """The OAI-PMH datestamp of the record: its ``updated`` time (RegistryInterface 1.1 §3.1)."""
        return self.updated


def _sub(parent: etree._Element, name: str, value: str | None, **attrib: str | None) -> etree._Element | None:
    if value is None or not value.strip():
        return None
    el = etree.SubElement(parent, name, {k: v for k, v in attrib.items() if v is not None})
    el.text = _text(value)
    return el


def _name(parent: etree._Element, tag: str, name: ResourceName) -> None:
    _sub(parent, tag, name.name, **{"ivo-id": name.ivoid})


def _date_text(value: date | datetime) -> str:
    if isinstance(value, datetime):
        return format_utc(value)
    return value.isoformat()


def _curation(curation: Curation) -> etree._Element:
    el = etree.Element("curation")
    _name(el, "publisher", curation.publisher)
    for creator in curation.creators:
        item = etree.SubElement(el, "creator")
        if creator.ivoid:
            item.set("ivo-id", creator.ivoid)
        _sub(item, "name", creator.name)
        _sub(item, "logo", creator.logo)
        for uri in creator.alt_identifiers:
            _sub(item, "altIdentifier", uri)
    for contributor in curation.contributors:
        _name(el, "contributor", contributor)
    for stamp in curation.dates:
        _sub(el, "date", _date_text(stamp.value), role=stamp.role)
    _sub(el, "version", curation.version)
    for contact in curation.contacts:
        item = etree.SubElement(el, "contact")
        if contact.ivoid:
            item.set("ivo-id", contact.ivoid)
        _sub(item, "name", contact.name)
        _sub(item, "address", contact.address)
        _sub(item, "email", contact.email)
        _sub(item, "telephone", contact.telephone)
        for uri in contact.alt_identifiers:
            _sub(item, "altIdentifier", uri)
    return el


def _content(content: Content) -> etree._Element:
    el = etree.Element("content")
    for subject in content.subjects:
        _sub(el, "subject", subject)
    _sub(el, "description", content.description)
    _sub(el, "source", content.source, format=content.source_format)
    _sub(el, "referenceURL", content.reference_url)
    for kind in content.types:
        _sub(el, "type", kind)
    for level in content.content_levels:
        _sub(el, "contentLevel", level)
    for relation in content.relationships:
        item = etree.SubElement(el, "relationship")
        _sub(item, "relationshipType", relation.relationship_type)
        for related in relation.related:
            _name(item, "relatedResource", related)
    return el


def _tableset(tableset: TableSet) -> etree._Element:
    """The ``vs:TableSet`` content of the VOSI tables document, re-rooted as ``tableset``."""
    document = etree.fromstring(vosi.tables_document(tableset, detail="max"))
    el = etree.Element("tableset")
    for child in document:
        el.append(child)
    return el


def _coverage(coverage: Coverage) -> etree._Element:
    """``coverage`` in VODataService 1.2 order: spatial, temporal, footprint, waveband."""
    el = etree.Element("coverage")
    _sub(el, "spatial", coverage.spatial)
    for start, end in coverage.temporal:
        _sub(el, "temporal", f"{start!r} {end!r}")
    _sub(el, "footprint", coverage.footprint, **{"ivo-id": MOC_STANDARD})
    for band in coverage.wavebands:
        _sub(el, "waveband", band)
    return el


def _harvest(oai_url: str, max_records: int) -> etree._Element:
    """The ``vg:Harvest`` capability with its ``vg:OAIHTTP`` interface (RegistryInterface 1.1 §2.2)."""
    el = etree.Element("capability", standardID=REGISTRY)
    el.set(_XSI_TYPE, "vg:Harvest")
    interface = etree.SubElement(el, "interface", role="std", version="1.0")
    interface.set(_XSI_TYPE, "vg:OAIHTTP")
    _sub(interface, "accessURL", oai_url, use="base")
    etree.SubElement(el, "maxRecords").text = str(max_records)
    return el


def resource_element(resource: Resource) -> etree._Element:
    """``resource`` as an ``ri:Resource`` element (RegistryInterface 1.1 §2, VOResource 1.1 §3).

    The element binds the prefixes of :data:`NAMESPACES`, so it can be embedded
    in an OAI-PMH response or serialized alone.
    """
    el = etree.Element(f"{{{RI_NS}}}Resource", nsmap=NAMESPACES)
    el.set(_XSI_TYPE, resource.resource_type)
    el.set("created", format_utc(resource.created))
    el.set("updated", format_utc(resource.updated))
    el.set("status", resource.status)
    el.set("version", VOR_VERSION)
    _sub(el, "title", resource.title)
    _sub(el, "shortName", resource.short_name)
    _sub(el, "identifier", resource.ivoid)
    for uri in resource.alt_identifiers:
        _sub(el, "altIdentifier", uri)
    el.append(_curation(resource.curation))
    el.append(_content(resource.content))
    kind = resource.resource_type
    if kind == "vg:Authority":
        assert resource.managing_org is not None  # checked in __post_init__
        _name(el, "managingOrg", resource.managing_org)
    if kind in _SERVICE_TYPES:
        for rights in resource.rights:
            _sub(el, "rights", rights.text, rightsURI=rights.uri)
        for capability in resource.capabilities:
            el.append(capability._element())
        if resource.oai_url is not None:
            el.append(_harvest(resource.oai_url, resource.max_records))
    if kind in _DATA_TYPES | {"vr:Organisation"}:
        for facility in resource.facilities:
            _name(el, "facility", facility)
        for instrument in resource.instruments:
            _name(el, "instrument", instrument)
        if resource.coverage is not None:
            el.append(_coverage(resource.coverage))
    if kind == "vg:Registry":
        etree.SubElement(el, "full").text = "true" if resource.full else "false"
        for authority in resource.managed_authorities:
            _sub(el, "managedAuthority", authority.removeprefix("ivo://"))
    if resource.tableset is not None:
        el.append(_tableset(resource.tableset))
    return el


def resource_document(resource: Resource) -> bytes:
    """``resource`` as a standalone XML document whose root is ``ri:Resource`` (RegistryInterface 1.1 §2)."""
    return bytes(etree.tostring(resource_element(resource), xml_declaration=True, encoding="UTF-8", pretty_print=True))


# ---------------------------------------------------------------------- site descriptions


@dataclass(frozen=True, slots=True)
class SiteDescription:
    """What a data centre says about itself: the source of its authority, organisation and registry records.

    Parameters
    ----------
    authority
        The authority identifier the site owns, ``ivo://example.org`` (IVOA Identifiers 2.0 §3).
    organisation
        The name of the publishing organisation; its record is ``{authority}/{organisation_key}``.
    title
        The site's name; it titles the authority and registry records.
    description, reference_url, contact
        Content and curation shared by every record unless a service says otherwise.
    created, updated
        Timezone-aware timestamps of the site's own records (authority, organisation, registry).
        They are the OAI-PMH datestamps: keep them in the configuration and change
        ``updated`` when the metadata changes, so that restarts keep datestamps stable.
    creators, subjects, rights, facilities, instruments, content_level
        Curation and content defaults.
    admin_emails
        The OAI-PMH ``adminEmail`` addresses (OAI-PMH 2.0 §4.2); default: the contact's email.
    """

    authority: str
    organisation: str
    title: str
    description: str
    reference_url: str
    contact: Contact
    created: datetime
    updated: datetime
    short_name: str | None = None
    creators: tuple[Creator, ...] = ()
    subjects: tuple[str, ...] = ("Virtual observatories",)
    rights: tuple[Rights, ...] = ()
    facilities: tuple[ResourceName, ...] = ()
    instruments: tuple[ResourceName, ...] = ()
    content_level: tuple[str, ...] = ("Research",)
    admin_emails: tuple[str, ...] = ()
    organisation_key: str = "org"
    registry_key: str = "registry"
    version: str | None = None

    def __post_init__(self) -> None:
        _check_ivoid(self.authority, "authority", authority=True)
        _check_aware(self.created, "created")
        _check_aware(self.updated, "updated")
        if not (self.admin_emails or self.contact.email):
            raise ValueError("OAI-PMH needs an admin email: give admin_emails or a contact email")

    @property
    def organisation_ivoid(self) -> str:
        """The organisation's identifier, ``{authority}/{organisation_key}``."""
        return f"{self.authority}/{self.organisation_key}"

    @property
    def registry_ivoid(self) -> str:
        """The publishing registry's identifier, ``{authority}/{registry_key}``."""
        return f"{self.authority}/{self.registry_key}"

    @property
    def publisher(self) -> ResourceName:
        """The organisation as the publisher of every record."""
        return ResourceName(self.organisation, self.organisation_ivoid)

    @property
    def emails(self) -> tuple[str, ...]:
        """The OAI-PMH ``adminEmail`` values."""
        if self.admin_emails:
            return self.admin_emails
        assert self.contact.email is not None  # checked in __post_init__
        return (self.contact.email,)

    def curation(self, *, creators: tuple[Creator, ...] | None = None, version: str | None = None) -> Curation:
        """A curation with the site's publisher and contact, and ``Created``/``Updated`` dates."""
        return Curation(
            publisher=self.publisher,
            contacts=(self.contact,),
            creators=self.creators if creators is None else creators,
            dates=(Date(self.created.date(), "Created"), Date(self.updated.date(), "Updated")),
            version=version or self.version,
        )


@dataclass(frozen=True, slots=True)
class ServiceDescription:
    """The resource metadata of one service; its capabilities and tables come from the service itself.

    Parameters
    ----------
    key
        The resource key below the site's authority: ``"tap"`` makes ``ivo://authority/tap``.
    title, description
        The record's title and ``content/description``.
    capabilities
        Given the service's public base URL, the capabilities its VOSI ``/capabilities``
        lists (the TAPRegExt ``tr:TableAccess``, SSA, UWS, VOSI ones).
    path
        Where the service is mounted below the site's base URL; default ``"/" + key``.
    resource_type
        ``vs:CatalogService`` (TAP, SSA: services with tables), ``vs:DataService`` or ``vr:Service``.
    tableset
        Called when the record is built: the table set the service publishes, or ``None``.
    created, updated
        The record's timestamps (and OAI-PMH datestamp); default: the site's.
    alt_identifiers
        Other URIs, typically the DOIs of the data served (:func:`doi`).
    coverage
        Given the site's public base URL, the ``vs:Coverage`` of the data served (MOCs), or ``None``.
    """

    key: str
    title: str
    description: str
    capabilities: Callable[[str], Sequence[Capability]]
    path: str | None = None
    resource_type: str = "vs:CatalogService"
    tableset: Callable[[], TableSet | None] | None = None
    short_name: str | None = None
    subjects: tuple[str, ...] = ()
    types: tuple[str, ...] = ("Catalog",)
    content_level: tuple[str, ...] = ()
    reference_url: str | None = None
    source: str | None = None
    source_format: str | None = None
    creators: tuple[Creator, ...] | None = None
    rights: tuple[Rights, ...] | None = None
    alt_identifiers: tuple[str, ...] = ()
    relationships: tuple[Relationship, ...] = ()
    facilities: tuple[ResourceName, ...] = ()
    instruments: tuple[ResourceName, ...] = ()
    created: datetime | None = None
    updated: datetime | None = None
    version: str | None = None
    status: Literal["active", "inactive"] = "active"
    coverage: Callable[[str], Coverage | None] | None = None

    def __post_init__(self) -> None:
        if not re.fullmatch(r"[\w\-.~]+(/[\w\-.~]+)*", self.key, re.ASCII):
            raise ValueError(f"key must be a relative resource key such as 'tap', not {self.key!r}")
        if self.resource_type not in _SERVICE_TYPES - {"vg:Registry"}:
            raise ValueError(f"resource_type must be a service type, not {self.resource_type!r}")
        for stamp in (self.created, self.updated):
            if stamp is not None:
                _check_aware(stamp, "created/updated")

    @property
    def mount_path(self) -> str:
        """The URL path of the service below the site's base URL."""
        return "/" + (self.path if self.path is not None else self.key).strip("/")


def _content_for(site: SiteDescription, description: str, types: tuple[str, ...]) -> Content:
    return Content(
        subjects=site.subjects,
        description=description,
        reference_url=site.reference_url,
        types=types,
        content_levels=site.content_level,
    )


def authority_record(site: SiteDescription) -> Resource:
    """The ``vg:Authority`` record of the site's authority (VORegistry 1.1 §2.2, RegistryInterface 1.1 §2.1)."""
    return Resource(
        resource_type="vg:Authority",
        ivoid=site.authority,
        title=f"{site.title} authority",
        curation=site.curation(),
        content=_content_for(site, f"The authority of the identifiers that {site.organisation} assigns.", ("Other",)),
        created=site.created,
        updated=site.updated,
        managing_org=site.publisher,
    )


def organisation_record(site: SiteDescription) -> Resource:
    """The ``vr:Organisation`` record of the publisher (VOResource 1.1 §3.2)."""
    return Resource(
        resource_type="vr:Organisation",
        ivoid=site.organisation_ivoid,
        title=site.organisation,
        short_name=site.short_name,
        curation=site.curation(),
        content=_content_for(site, site.description, ("Organisation",)),
        created=site.created,
        updated=site.updated,
        facilities=site.facilities,
        instruments=site.instruments,
    )


def registry_record(site: SiteDescription, *, oai_url: str, max_records: int) -> Resource:
    """The site's publishing ``vg:Registry`` record (RegistryInterface 1.1 §2.2, VORegistry 1.1 §2.1).

    It has a ``vg:Harvest`` capability with an ``vg:OAIHTTP`` interface at ``oai_url``
    and manages the site's authority.
    """
    return Resource(
        resource_type="vg:Registry",
        ivoid=site.registry_ivoid,
        title=f"{site.title} publishing registry",
        curation=site.curation(),
        content=_content_for(
            site, f"The publishing registry of {site.organisation}: the records of {site.authority}.", ("Registry",)
        ),
        created=site.created,
        updated=site.updated,
        rights=site.rights,
        oai_url=oai_url,
        max_records=max_records,
        managed_authorities=(site.authority,),
    )


def service_record(site: SiteDescription, service: ServiceDescription, *, base_url: str) -> Resource:
    """The record of one service mounted below the site's public ``base_url`` (VODataService 1.1 §3).

    The capabilities are ``service.capabilities(base_url + service.mount_path)``.
    """
    service_url = base_url.rstrip("/") + service.mount_path
    tableset = service.tableset() if service.tableset is not None else None
    if service.resource_type != "vs:CatalogService":
        tableset = None
    return Resource(
        resource_type=service.resource_type,
        ivoid=f"{site.authority}/{service.key}",
        title=service.title,
        short_name=service.short_name,
        curation=site.curation(creators=service.creators, version=service.version),
        content=Content(
            subjects=service.subjects or site.subjects,
            description=service.description,
            reference_url=service.reference_url or service_url + "/",
            source=service.source,
            source_format=service.source_format,
            types=service.types,
            content_levels=service.content_level or site.content_level,
            relationships=service.relationships,
        ),
        created=service.created or site.created,
        updated=service.updated or site.updated,
        status=service.status,
        alt_identifiers=service.alt_identifiers,
        rights=site.rights if service.rights is None else service.rights,
        capabilities=tuple(service.capabilities(service_url)),
        facilities=service.facilities if service.resource_type in _DATA_TYPES else (),
        instruments=service.instruments if service.resource_type in _DATA_TYPES else (),
        tableset=tableset,
        coverage=service.coverage(base_url) if service.coverage and service.resource_type in _DATA_TYPES else None,
    )


def site_records(
    site: SiteDescription,
    services: Sequence[ServiceDescription],
    *,
    base_url: str,
    oai_url: str,
    max_records: int = 100,
) -> list[Resource]:
    """Every record the site publishes: authority, organisation, registry, then the services, by identifier."""
    records = [
        authority_record(site),
        organisation_record(site),
        registry_record(site, oai_url=oai_url, max_records=max_records),
        *(service_record(site, service, base_url=base_url) for service in services),
    ]
    seen: set[str] = set()
    for record in records:
        if record.ivoid.lower() in seen:  # IVOA Identifiers 2.0: compared case-insensitively
            raise ValueError(f"two records share the identifier {record.ivoid}")
        seen.add(record.ivoid.lower())
    return sorted(records, key=lambda r: r.ivoid.lower())
