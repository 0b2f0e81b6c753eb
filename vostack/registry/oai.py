"""An OAI-PMH 2.0 publishing registry (IVOA RegistryInterface 1.1 §3) as an ASGI app.

:class:`RegistryService` answers the six OAI-PMH verbs (OAI-PMH 2.0 §4) at whatever
path the portal mounts it (``Mount("/oai", registry)`` or ``Route("/oai", registry)``),
by GET and by POST (``application/x-www-form-urlencoded``, §3.1.1).  It offers the
metadata formats ``ivo_vor`` (the VOResource record as ``ri:Resource``) and
``oai_dc`` (Dublin Core), one set ``ivo_managed`` (RegistryInterface 1.1 §3.1.2),
``from``/``until`` selection at seconds granularity (§3.3), resumption tokens for
lists longer than ``page_size`` (§3.5) and deleted records, kept as deleted headers
(§2.5.1, ``deletedRecord`` is ``persistent``).  Bad requests get the OAI-PMH error
codes of §3.6 in a normal HTTP 200 response.

Resumption tokens carry their whole state (no server-side storage), plus a
fingerprint of the record list: a token issued before the records changed is
refused with ``badResumptionToken`` rather than silently skipping records.

OAI-PMH parameter names and values are case-sensitive (§3.1.1), so they are not
read through :class:`vostack.dali.Params`.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from functools import partial

from lxml import etree
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.types import Receive, Scope, Send

from vostack.dali import non_xml_character
from vostack.errors import RequestTooLargeError, VOError
from vostack.registry.records import (
    RI_NS,
    Resource,
    ServiceDescription,
    SiteDescription,
    authority_record,
    format_utc,
    organisation_record,
    registry_record,
    resource_element,
    service_record,
    site_records,
)
from vostack.web import XML, ErrorDocuments, RequestLimits, request_pairs

__all__ = [
    "DC_NS",
    "IVO_MANAGED",
    "METADATA_FORMATS",
    "OAI_DC",
    "OAI_DC_NS",
    "OAI_NS",
    "DeletedRecord",
    "ErrorCode",
    "MetadataFormat",
    "RegistryService",
    "Verb",
]

OAI_NS = "http://www.openarchives.org/OAI/2.0/"
OAI_SCHEMA = "http://www.openarchives.org/OAI/2.0/OAI-PMH.xsd"
OAI_DC_NS = "http://www.openarchives.org/OAI/2.0/oai_dc/"
DC_NS = "http://purl.org/dc/elements/1.1/"
XSI_NS = "http://www.w3.org/2001/XMLSchema-instance"
IVO_MANAGED = "ivo_managed"
"""The set of records an authority's publishing registry manages (RegistryInterface 1.1 §3.1.2)."""
GRANULARITY = "YYYY-MM-DDThh:mm:ssZ"


class Verb(StrEnum):
    """The OAI-PMH 2.0 requests (§4)."""

    GetRecord = "GetRecord"
    """§4.1: one record."""
    Identify = "Identify"
    """§4.2: about the repository."""
    ListIdentifiers = "ListIdentifiers"
    """§4.3: record headers."""
    ListMetadataFormats = "ListMetadataFormats"
    """§4.4: the metadata formats."""
    ListRecords = "ListRecords"
    """§4.5: whole records."""
    ListSets = "ListSets"
    """§4.6: the set structure."""


class ErrorCode(StrEnum):
    """The OAI-PMH 2.0 error codes (§3.6)."""

    badArgument = "badArgument"
    """Illegal, missing or repeated arguments, or a bad datestamp."""
    badResumptionToken = "badResumptionToken"
    """The resumption token is invalid or expired."""
    badVerb = "badVerb"
    """The verb is missing, repeated or not an OAI-PMH verb."""
    cannotDisseminateFormat = "cannotDisseminateFormat"
    """The metadata format is not supported (for this item)."""
    idDoesNotExist = "idDoesNotExist"
    """The identifier is unknown in this repository."""
    noRecordsMatch = "noRecordsMatch"
    """The from/until/set selection is empty."""
    noMetadataFormats = "noMetadataFormats"
    """The item has no metadata formats (never raised: every record has both)."""
    noSetHierarchy = "noSetHierarchy"
    """The repository has no sets (never raised: ``ivo_managed`` always exists)."""


@dataclass(frozen=True, slots=True)
class MetadataFormat:
    """A metadata format the registry disseminates (OAI-PMH 2.0 §4.4)."""

    prefix: str
    schema: str
    namespace: str


IVO_VOR = MetadataFormat("ivo_vor", "http://www.ivoa.net/xml/RegistryInterface/RegistryInterface-v1.0.xsd", RI_NS)
OAI_DC = MetadataFormat("oai_dc", "http://www.openarchives.org/OAI/2.0/oai_dc.xsd", OAI_DC_NS)
METADATA_FORMATS = (IVO_VOR, OAI_DC)
"""``ivo_vor`` (RegistryInterface 1.1 §3.1.1) and the mandatory ``oai_dc`` (OAI-PMH 2.0 §3.4)."""


@dataclass(frozen=True, slots=True)
class DeletedRecord:
    """A resource the site no longer publishes, harvested as a deleted header (OAI-PMH 2.0 §2.5.1).

    ``datestamp`` is when it was deleted (timezone-aware); keep the entry in the
    configuration for good, as the registry promises ``deletedRecord=persistent``.
    """

    ivoid: str
    datestamp: datetime

    def __post_init__(self) -> None:
        if self.datestamp.tzinfo is None or self.datestamp.utcoffset() is None:
            raise ValueError(f"the datestamp of {self.ivoid} must be timezone-aware")
        if not self.ivoid.startswith("ivo://"):
            raise ValueError(f"not an IVOA identifier: {self.ivoid!r}")


@dataclass(frozen=True, slots=True)
class _Item:
    """A record known by identifier and datestamp; its metadata are built only when served."""

    ivoid: str
    datestamp: datetime
    build: Callable[[], Resource] | None  # None: deleted

    @property
    def deleted(self) -> bool:
        return self.build is None


class _OAIError(Exception):
    def __init__(self, code: ErrorCode, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


_ALLOWED: dict[Verb, tuple[frozenset[str], frozenset[str]]] = {
    # verb: (required, optional) arguments, OAI-PMH 2.0 §4; resumptionToken is handled apart.
    Verb.Identify: (frozenset(), frozenset()),
    Verb.ListMetadataFormats: (frozenset(), frozenset({"identifier"})),
    Verb.ListSets: (frozenset(), frozenset()),
    Verb.GetRecord: (frozenset({"identifier", "metadataPrefix"}), frozenset()),
    Verb.ListIdentifiers: (frozenset({"metadataPrefix"}), frozenset({"from", "until", "set"})),
    Verb.ListRecords: (frozenset({"metadataPrefix"}), frozenset({"from", "until", "set"})),
}
_RESUMABLE = frozenset({Verb.ListIdentifiers, Verb.ListRecords, Verb.ListSets})
_DAY = re.compile(r"\d{4}-\d{2}-\d{2}")
_SECOND = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z")


def _parse_datestamp(raw: str, name: str, *, end: bool) -> tuple[datetime, bool]:
    """A from/until value as an aware datetime, and whether it had day granularity (§3.3.1)."""
    try:
        if _DAY.fullmatch(raw):
            day = datetime.strptime(raw, "%Y-%m-%d").replace(tzinfo=UTC)
            return (day + timedelta(days=1, microseconds=-1) if end else day), True
        if _SECOND.fullmatch(raw):
            return datetime.strptime(raw, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC), False
    except ValueError:
        pass
    raise _OAIError(ErrorCode.badArgument, f"{name} must be YYYY-MM-DD or YYYY-MM-DDThh:mm:ssZ, not {raw!r}")


def _encode_token(state: dict[str, object]) -> str:
    raw = json.dumps(state, separators=(",", ":"), sort_keys=True).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _decode_token(token: str) -> dict[str, object]:
    try:
        raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))
        state = json.loads(raw)
    except (binascii.Error, ValueError, UnicodeDecodeError):
        raise _OAIError(ErrorCode.badResumptionToken, "the resumption token is not one this registry issued") from None
    if not isinstance(state, dict):
        raise _OAIError(ErrorCode.badResumptionToken, "the resumption token is not one this registry issued")
    return state


def _fingerprint(items: Sequence[_Item]) -> str:
    digest = hashlib.sha256()
    for item in items:
        digest.update(f"{item.ivoid}\t{format_utc(item.datestamp)}\t{item.deleted}\n".encode())
    return digest.hexdigest()[:16]


def _oai(tag: str) -> str:
    return f"{{{OAI_NS}}}{tag}"


def _sub(parent: etree._Element, tag: str, text: str | None = None, **attrib: str) -> etree._Element:
    el = etree.SubElement(parent, tag, attrib)
    if text is not None:
        el.text = text
    return el


def _envelope(oai_url: str) -> tuple[etree._Element, etree._Element]:
    """The ``OAI-PMH`` root with its ``responseDate`` and ``request`` (OAI-PMH 2.0 §3.2), and the latter."""
    # A prefix, not the default namespace: the records' elements are unqualified
    # (VOResource's elementFormDefault), and lxml would not undeclare a default
    # namespace (xmlns="") around them.
    root = etree.Element(_oai("OAI-PMH"), nsmap={"oai": OAI_NS, "xsi": XSI_NS})
    root.set(f"{{{XSI_NS}}}schemaLocation", f"{OAI_NS} {OAI_SCHEMA}")
    _sub(root, _oai("responseDate"), format_utc(datetime.now(UTC)))
    return root, _sub(root, _oai("request"), oai_url)


def _serialize(root: etree._Element) -> bytes:
    return bytes(etree.tostring(root, xml_declaration=True, encoding="UTF-8", pretty_print=True))


def _oai_url(request: Request) -> str:
    """The registry's base URL: the request's, without its query (OAI-PMH 2.0 §3.1)."""
    return str(request.url.replace(query=""))


def _dublin_core(resource: Resource) -> etree._Element:
    """The ``oai_dc`` rendering of a record (OAI-PMH 2.0 §6.2; VOResource 1.1 Appendix B's DC terms)."""
    root = etree.Element(f"{{{OAI_DC_NS}}}dc", nsmap={"oai_dc": OAI_DC_NS, "dc": DC_NS, "xsi": XSI_NS})
    root.set(f"{{{XSI_NS}}}schemaLocation", f"{OAI_DC_NS} {OAI_DC.schema}")

    def dc(name: str, value: str | None) -> None:
        if value:
            _sub(root, f"{{{DC_NS}}}{name}", value)

    curation, content = resource.curation, resource.content
    dc("title", resource.title)
    for creator in curation.creators:
        dc("creator", creator.name)
    for subject in content.subjects:
        dc("subject", subject)
    dc("description", content.description)
    dc("publisher", curation.publisher.name)
    for contributor in curation.contributors:
        dc("contributor", contributor.name)
    dc("date", format_utc(resource.updated))
    for kind in content.types:
        dc("type", kind)
    dc("identifier", resource.ivoid)
    for uri in resource.alt_identifiers:
        dc("identifier", uri)
    dc("identifier", content.reference_url)
    for rights in resource.rights:
        dc("rights", rights.uri or rights.text)
    return root


class RegistryService:
    """The OAI-PMH 2.0 interface of a site's publishing registry (RegistryInterface 1.1 §3).

    Parameters
    ----------
    site
        The site's description: authority, organisation, contact, dates.
    services
        The services to publish; their records are built on every request, so a
        service's table set is read only once it has started.
    deleted
        Resources published earlier and removed since: served as deleted headers.
    base_url
        The site's public base URL, which the services' access URLs start with.
        Give it when the site sits behind a proxy; default: the URL the request came in on.
    page_size
        How many headers or records a list response carries before a resumption token (§3.5).
    limits
        How much of a request is read (:class:`vostack.web.RequestLimits`).
    """

    def __init__(
        self,
        *,
        site: SiteDescription,
        services: Sequence[ServiceDescription] = (),
        deleted: Sequence[DeletedRecord] = (),
        base_url: str | None = None,
        page_size: int = 100,
        limits: RequestLimits | None = None,
    ) -> None:
        if page_size < 1:
            raise ValueError(f"page_size must be positive, not {page_size}")
        self.site = site
        self.services = tuple(services)
        self.deleted = tuple(deleted)
        self.base_url = base_url.rstrip("/") if base_url else None
        self.page_size = page_size
        self.limits = limits or RequestLimits()
        # §3.1.2.1: HTTP statuses besides 200 are allowed, e.g. 503 with Retry-After
        self._app = ErrorDocuments(self._serve, service="registry", document=self._error_document, retry_after=10)
        live = {site.authority, site.organisation_ivoid, site.registry_ivoid}
        live |= {f"{site.authority}/{service.key}" for service in self.services}
        live = {ivoid.lower() for ivoid in live}
        if len(live) != 3 + len(self.services):
            raise ValueError("two services, or a service and a site record, share an identifier")
        clash = sorted(d.ivoid for d in self.deleted if d.ivoid.lower() in live)
        if clash:
            raise ValueError(f"deleted records are still published: {', '.join(clash)}")

    # ------------------------------------------------------------------ ASGI

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            raise RuntimeError("RegistryService serves HTTP only")  # lifespan is never sent to mounted apps
        await self._app(scope, receive, send)

    async def _serve(self, scope: Scope, receive: Receive, send: Send) -> None:
        response = await self._respond(Request(scope, receive))
        await response(scope, receive, send)

    async def _respond(self, request: Request) -> Response:
        if request.method not in ("GET", "HEAD", "POST"):
            return PlainTextResponse("OAI-PMH accepts GET and POST", status_code=405, headers={"Allow": "GET, POST"})
        pairs = await request_pairs(request, self.limits)  # §3.1.1: GET, or POST application/x-www-form-urlencoded
        base_url = self.base_url or str(request.base_url).rstrip("/")
        return Response(self.handle(pairs, oai_url=_oai_url(request), base_url=base_url), media_type=XML)

    @staticmethod
    def _error_document(request: Request, exc: VOError) -> tuple[bytes, str]:
        """A request over the limits is an OAI-PMH badArgument (§3.6) with its HTTP status (413, 414);
        the server's own failures (503, 500) have no OAI-PMH document: a line of text."""
        if isinstance(exc, RequestTooLargeError):
            root, _ = _envelope(_oai_url(request))
            _sub(root, _oai("error"), exc.message, code=ErrorCode.badArgument.value)
            return _serialize(root), XML
        return (exc.message + "\n").encode(), "text/plain; charset=utf-8"

    # ------------------------------------------------------------------ protocol

    def records(self, *, base_url: str, oai_url: str) -> list[Resource]:
        """The site's current records, sorted by identifier (authority, organisation, registry, services)."""
        return site_records(self.site, self.services, base_url=base_url, oai_url=oai_url, max_records=self.page_size)

    def handle(self, pairs: Sequence[tuple[str, str]], *, oai_url: str, base_url: str) -> bytes:
        """The OAI-PMH response document to a request with the arguments ``pairs`` (OAI-PMH 2.0 §3).

        ``oai_url`` is the registry's own base URL; ``base_url`` the site's, below which
        the services are mounted.
        """
        root, request_el = _envelope(oai_url)
        try:
            verb, args = self._arguments(pairs)
            for name, value in sorted(args.items()):
                request_el.set(name, value)
            request_el.set("verb", verb.value)
            self._dispatch(root, verb, args, oai_url=oai_url, base_url=base_url)
        except _OAIError as exc:
            if exc.code in (ErrorCode.badVerb, ErrorCode.badArgument):
                request_el.attrib.clear()  # §3.6: the base URL only, no arguments
            _sub(root, _oai("error"), exc.message, code=exc.code.value)
        return _serialize(root)

    @staticmethod
    def _arguments(pairs: Sequence[tuple[str, str]]) -> tuple[Verb, dict[str, str]]:
        """The verb and arguments, checked against §3.1 and §4 (badVerb, badArgument)."""
        verbs = [value for name, value in pairs if name == "verb"]
        if len(verbs) != 1:
            raise _OAIError(ErrorCode.badVerb, "give exactly one verb argument")
        try:
            verb = Verb(verbs[0])
        except ValueError:
            raise _OAIError(ErrorCode.badVerb, f"{verbs[0]!r} is not an OAI-PMH verb") from None
        args: dict[str, str] = {}
        for name, value in pairs:
            bad = non_xml_character(name + value)
            if bad is not None:  # it could not be echoed in the response's request element
                raise _OAIError(ErrorCode.badArgument, f"{bad} is not allowed in an argument")
            if name == "verb":
                continue
            if name in args:
                raise _OAIError(ErrorCode.badArgument, f"the argument {name} is repeated")
            args[name] = value
        required, optional = _ALLOWED[verb]
        if "resumptionToken" in args:
            if verb not in _RESUMABLE:
                raise _OAIError(ErrorCode.badArgument, f"{verb} takes no resumptionToken")
            if len(args) > 1:
                raise _OAIError(ErrorCode.badArgument, "resumptionToken is an exclusive argument")
            return verb, args
        unknown = sorted(set(args) - required - optional)
        if unknown:
            raise _OAIError(ErrorCode.badArgument, f"{verb} does not take {', '.join(unknown)}")
        missing = sorted(required - set(args))
        if missing:
            raise _OAIError(ErrorCode.badArgument, f"{verb} needs {', '.join(missing)}")
        return verb, args

    def _items(self, *, base_url: str, oai_url: str) -> list[_Item]:
        """Every item by identifier; datestamps come from the descriptions (no service is asked)."""
        site = self.site
        items = [
            _Item(site.authority, site.updated, partial(authority_record, site)),
            _Item(site.organisation_ivoid, site.updated, partial(organisation_record, site)),
            _Item(
                site.registry_ivoid,
                site.updated,
                partial(registry_record, site, oai_url=oai_url, max_records=self.page_size),
            ),
        ]
        for service in self.services:
            build = partial(service_record, site, service, base_url=base_url)
            items.append(_Item(f"{site.authority}/{service.key}", service.updated or site.updated, build))
        items += [_Item(d.ivoid, d.datestamp, None) for d in self.deleted]
        return sorted(items, key=lambda item: item.ivoid.lower())

    def _dispatch(self, root: etree._Element, verb: Verb, args: dict[str, str], *, oai_url: str, base_url: str) -> None:
        if verb is Verb.ListSets:
            if "resumptionToken" in args:
                raise _OAIError(ErrorCode.badResumptionToken, "ListSets is never split: no resumption token is valid")
            self._list_sets(root)
            return
        if verb is Verb.ListMetadataFormats and "identifier" not in args:
            self._list_formats(root)
            return
        items = self._items(base_url=base_url, oai_url=oai_url)
        if verb is Verb.Identify:
            self._identify(root, items, oai_url=oai_url, base_url=base_url)
        elif verb is Verb.ListMetadataFormats:
            self._find(items, args["identifier"])
            self._list_formats(root)
        elif verb is Verb.GetRecord:
            metadata_format = self._format(args["metadataPrefix"])
            item = self._find(items, args["identifier"])
            self._record(_sub(root, _oai("GetRecord")), item, metadata_format)
        else:
            self._list(root, verb, args, items)

    @staticmethod
    def _format(prefix: str) -> MetadataFormat:
        for metadata_format in METADATA_FORMATS:
            if metadata_format.prefix == prefix:
                return metadata_format
        raise _OAIError(ErrorCode.cannotDisseminateFormat, f"metadataPrefix must be ivo_vor or oai_dc, not {prefix!r}")

    @staticmethod
    def _find(items: Sequence[_Item], identifier: str) -> _Item:
        for item in items:
            if item.ivoid.lower() == identifier.lower():  # IVOA identifiers compare case-insensitively
                return item
        raise _OAIError(ErrorCode.idDoesNotExist, f"no record {identifier!r} in this registry")

    def _identify(self, root: etree._Element, items: Sequence[_Item], *, oai_url: str, base_url: str) -> None:
        """§4.2, with the registry's own ``vg:Registry`` record as description (RegistryInterface 1.1 §3.1.1)."""
        el = _sub(root, _oai("Identify"))
        _sub(el, _oai("repositoryName"), self.site.title)
        _sub(el, _oai("baseURL"), oai_url)
        _sub(el, _oai("protocolVersion"), "2.0")
        for email in self.site.emails:
            _sub(el, _oai("adminEmail"), email)
        earliest = min((item.datestamp for item in items), default=self.site.created)
        _sub(el, _oai("earliestDatestamp"), format_utc(earliest))
        _sub(el, _oai("deletedRecord"), "persistent")
        _sub(el, _oai("granularity"), GRANULARITY)
        registry = self._find(items, self.site.registry_ivoid).build
        assert registry is not None
        _sub(el, _oai("description")).append(resource_element(registry()))

    @staticmethod
    def _list_formats(root: etree._Element) -> None:
        el = _sub(root, _oai("ListMetadataFormats"))
        for metadata_format in METADATA_FORMATS:
            item = _sub(el, _oai("metadataFormat"))
            _sub(item, _oai("metadataPrefix"), metadata_format.prefix)
            _sub(item, _oai("schema"), metadata_format.schema)
            _sub(item, _oai("metadataNamespace"), metadata_format.namespace)

    @staticmethod
    def _list_sets(root: etree._Element) -> None:
        el = _sub(_sub(root, _oai("ListSets")), _oai("set"))
        _sub(el, _oai("setSpec"), IVO_MANAGED)
        _sub(el, _oai("setName"), "Resources managed by this publishing registry")

    @staticmethod
    def _header(parent: etree._Element, item: _Item) -> None:
        el = _sub(parent, _oai("header"))
        if item.deleted:
            el.set("status", "deleted")
        _sub(el, _oai("identifier"), item.ivoid)
        _sub(el, _oai("datestamp"), format_utc(item.datestamp))
        _sub(el, _oai("setSpec"), IVO_MANAGED)

    def _record(self, parent: etree._Element, item: _Item, metadata_format: MetadataFormat) -> None:
        el = _sub(parent, _oai("record"))
        self._header(el, item)
        if item.build is None:
            return  # §2.5.1: a deleted record has a header only
        resource = item.build()
        metadata = _sub(el, _oai("metadata"))
        if metadata_format is OAI_DC:
            metadata.append(_dublin_core(resource))
        else:
            metadata.append(resource_element(resource))

    def _list(self, root: etree._Element, verb: Verb, args: dict[str, str], items: Sequence[_Item]) -> None:
        """ListIdentifiers (§4.3) and ListRecords (§4.5), a page at a time (§3.5)."""
        fingerprint = _fingerprint(items)
        offset = 0
        if "resumptionToken" in args:
            state = _decode_token(args["resumptionToken"])
            if state.get("verb") != verb.value or state.get("fp") != fingerprint:
                raise _OAIError(
                    ErrorCode.badResumptionToken, "the resumption token is stale or for another request; start again"
                )
            raw_offset = state.get("offset")
            if not isinstance(raw_offset, int) or raw_offset < 0:
                raise _OAIError(ErrorCode.badResumptionToken, "the resumption token is not one this registry issued")
            offset = raw_offset
            selection = {k: str(v) for k, v in state.items() if k in ("metadataPrefix", "from", "until", "set")}
        else:
            selection = {k: v for k, v in args.items() if k != "resumptionToken"}
        try:
            metadata_format = self._format(selection.get("metadataPrefix", ""))
        except _OAIError:
            if "resumptionToken" in args:
                raise _OAIError(
                    ErrorCode.badResumptionToken, "the resumption token is not one this registry issued"
                ) from None
            raise
        start = end = None
        start_day = end_day = False
        if "from" in selection:
            start, start_day = _parse_datestamp(selection["from"], "from", end=False)
        if "until" in selection:
            end, end_day = _parse_datestamp(selection["until"], "until", end=True)
        if start is not None and end is not None:
            if start_day != end_day:
                raise _OAIError(ErrorCode.badArgument, "from and until must have the same granularity")
            if start > end:
                raise _OAIError(ErrorCode.badArgument, "from is later than until")
        if "set" in selection and selection["set"] != IVO_MANAGED:
            raise _OAIError(
                ErrorCode.noRecordsMatch, f"there is no set {selection['set']!r}; the only set is ivo_managed"
            )
        matching = [
            item
            for item in items
            if (start is None or item.datestamp >= start) and (end is None or item.datestamp <= end)
        ]
        if not matching:
            raise _OAIError(ErrorCode.noRecordsMatch, "no records match the from/until selection")
        if offset >= len(matching):
            raise _OAIError(ErrorCode.badResumptionToken, "the resumption token points past the end of the list")
        el = _sub(root, _oai(verb.value))
        page = matching[offset : offset + self.page_size]
        for item in page:
            if verb is Verb.ListIdentifiers:
                self._header(el, item)
            else:
                self._record(el, item, metadata_format)
        if offset == 0 and len(page) == len(matching):
            return  # a complete list: no resumptionToken (§3.5)
        following = offset + len(page)
        token = _sub(el, _oai("resumptionToken"), completeListSize=str(len(matching)), cursor=str(offset))
        if following < len(matching):
            token.text = _encode_token({**selection, "verb": verb.value, "offset": following, "fp": fingerprint})
