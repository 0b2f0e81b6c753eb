from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime

import pytest
from lxml import etree
from starlette.applications import Starlette
from starlette.routing import Mount, Route

from tests.schemata import validator
from tests.unit.registry.helpers import SERVICES, SITE, TABLESET, TAP, Client
from vostack.errors import TransientError
from vostack.registry import DeletedRecord, RegistryService, ServiceDescription
from vostack.schema import TableSet

OAI = "http://www.openarchives.org/OAI/2.0/"
NS = {
    "o": OAI,
    "ri": "http://www.ivoa.net/xml/RegistryInterface/v1.0",
    "dc": "http://purl.org/dc/elements/1.1/",
    "oai_dc": "http://www.openarchives.org/OAI/2.0/oai_dc/",
    "xsi": "http://www.w3.org/2001/XMLSchema-instance",
}
GONE = DeletedRecord("ivo://vostack.test/old-cone", datetime(2026, 2, 1, tzinfo=UTC))
LIVE = [
    "ivo://vostack.test",
    "ivo://vostack.test/compute",
    "ivo://vostack.test/org",
    "ivo://vostack.test/registry",
    "ivo://vostack.test/ssa",
    "ivo://vostack.test/tap",
]
ALL = sorted([*LIVE, GONE.ivoid])
Validate = Callable[[bytes], None]


def _find(el: etree._Element, path: str) -> etree._Element:
    found = el.find(path, NS)
    assert found is not None, path
    return found


@pytest.fixture(scope="module")
def validate() -> Validate:
    return validator("OAI-PMH.xsd")


def _client(registry: RegistryService, *, route: bool = False) -> Client:
    mount = Route("/oai", registry) if route else Mount("/oai", registry)
    return Client(Starlette(routes=[mount]))


@pytest.fixture(scope="module")
def client() -> Client:
    return _client(RegistryService(site=SITE, services=SERVICES, deleted=[GONE], page_size=100))


def _get(client: Client, validate: Validate, **params: str) -> etree._Element:
    response = client.get("/oai/", params=params)
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/xml")
    validate(response.content)
    return etree.fromstring(response.content)


def _error(root: etree._Element) -> str:
    errors = root.findall("o:error", NS)
    assert len(errors) == 1, etree.tostring(root)
    return str(errors[0].get("code"))


def _identifiers(root: etree._Element) -> list[str]:
    return [str(el.text) for el in root.findall(".//o:header/o:identifier", NS)]


def test_identify_describes_the_registry(client: Client, validate: Validate) -> None:
    root = _get(client, validate, verb="Identify")
    identify = _find(root, "o:Identify")
    assert identify.findtext("o:repositoryName", namespaces=NS) == "vostack test site"
    assert identify.findtext("o:baseURL", namespaces=NS) == "http://testserver/oai/"
    assert identify.findtext("o:protocolVersion", namespaces=NS) == "2.0"
    assert identify.findtext("o:adminEmail", namespaces=NS) == "vo@vostack.test"
    assert identify.findtext("o:earliestDatestamp", namespaces=NS) == "2026-02-01T00:00:00Z"
    assert identify.findtext("o:deletedRecord", namespaces=NS) == "persistent"
    assert identify.findtext("o:granularity", namespaces=NS) == "YYYY-MM-DDThh:mm:ssZ"
    registry = _find(identify, "o:description/ri:Resource")
    assert registry.get(f"{{{NS['xsi']}}}type") == "vg:Registry"
    assert registry.findtext("identifier") == "ivo://vostack.test/registry"
    assert registry.findtext("capability/interface/accessURL") == "http://testserver/oai/"
    assert _find(root, "o:request").get("verb") == "Identify"


def test_identify_works_without_trailing_slash_on_a_route(validate: Validate) -> None:
    client = _client(RegistryService(site=SITE, services=SERVICES), route=True)
    response = client.get("/oai", params={"verb": "Identify"})
    validate(response.content)
    root = etree.fromstring(response.content)
    assert root.findtext("o:Identify/o:baseURL", namespaces=NS) == "http://testserver/oai"


def test_list_metadata_formats_offers_ivo_vor_and_oai_dc(client: Client, validate: Validate) -> None:
    root = _get(client, validate, verb="ListMetadataFormats")
    prefixes = [el.text for el in root.findall(".//o:metadataPrefix", NS)]
    assert prefixes == ["ivo_vor", "oai_dc"]
    namespaces = [el.text for el in root.findall(".//o:metadataNamespace", NS)]
    assert namespaces == [NS["ri"], NS["oai_dc"]]


def test_list_metadata_formats_for_an_item(client: Client, validate: Validate) -> None:
    root = _get(client, validate, verb="ListMetadataFormats", identifier="ivo://vostack.test/tap")
    assert len(root.findall(".//o:metadataFormat", NS)) == 2


def test_list_metadata_formats_for_unknown_item_is_id_does_not_exist(client: Client, validate: Validate) -> None:
    root = _get(client, validate, verb="ListMetadataFormats", identifier="ivo://vostack.test/nothing")
    assert _error(root) == "idDoesNotExist"


def test_list_sets_has_ivo_managed(client: Client, validate: Validate) -> None:
    root = _get(client, validate, verb="ListSets")
    assert [el.text for el in root.findall(".//o:setSpec", NS)] == ["ivo_managed"]


def test_list_identifiers_lists_live_and_deleted_records(client: Client, validate: Validate) -> None:
    root = _get(client, validate, verb="ListIdentifiers", metadataPrefix="ivo_vor")
    assert _identifiers(root) == ALL
    deleted = [h.findtext("o:identifier", namespaces=NS) for h in root.iterfind(".//o:header[@status='deleted']", NS)]
    assert deleted == [GONE.ivoid]
    assert all(h.findtext("o:setSpec", namespaces=NS) == "ivo_managed" for h in root.iterfind(".//o:header", NS))
    assert root.find(".//o:resumptionToken", NS) is None


def test_list_records_ivo_vor_embeds_valid_resources(client: Client, validate: Validate) -> None:
    root = _get(client, validate, verb="ListRecords", metadataPrefix="ivo_vor")
    resources = root.findall(".//o:metadata/ri:Resource", NS)
    assert [r.findtext("identifier") for r in resources] == LIVE
    types = {r.findtext("identifier"): r.get(f"{{{NS['xsi']}}}type") for r in resources}
    assert types["ivo://vostack.test"] == "vg:Authority"
    assert types["ivo://vostack.test/org"] == "vr:Organisation"
    assert types["ivo://vostack.test/tap"] == "vs:CatalogService"
    (gone,) = root.xpath(".//o:record[o:header/@status='deleted']", namespaces=NS)
    assert gone.find("o:metadata", NS) is None


def test_tap_access_url_follows_the_request_host(client: Client, validate: Validate) -> None:
    root = _get(client, validate, verb="GetRecord", identifier="ivo://vostack.test/tap", metadataPrefix="ivo_vor")
    urls = [el.text for el in root.iterfind(".//capability/interface/accessURL")]
    assert "http://testserver/tap" in urls
    assert "http://testserver/tap/tables" in urls


def test_configured_base_url_wins_over_request_host(validate: Validate) -> None:
    registry = RegistryService(site=SITE, services=SERVICES, base_url="https://vo.example.org/archive/")
    root = _get(
        _client(registry), validate, verb="GetRecord", identifier="ivo://vostack.test/ssa", metadataPrefix="ivo_vor"
    )
    assert root.findtext(".//capability/interface/accessURL") == "https://vo.example.org/archive/ssa"


def test_list_records_oai_dc(client: Client, validate: Validate) -> None:
    root = _get(client, validate, verb="ListRecords", metadataPrefix="oai_dc")
    (tap,) = root.xpath(
        ".//o:record[o:header/o:identifier='ivo://vostack.test/tap']/o:metadata/oai_dc:dc", namespaces=NS
    )
    assert tap.findtext("dc:title", namespaces=NS) == "vostack test TAP service"
    assert tap.findtext("dc:publisher", namespaces=NS) == "vostack Test Data Centre"
    assert tap.findtext("dc:creator", namespaces=NS) == "Lovelace, A."
    identifiers = [el.text for el in tap.findall("dc:identifier", NS)]
    assert identifiers[:2] == ["ivo://vostack.test/tap", "doi:10.5072/vostack.hipparcos"]
    assert tap.findtext("dc:date", namespaces=NS) == "2026-06-01T08:00:00Z"


def test_get_record_of_deleted_resource_is_a_deleted_header(client: Client, validate: Validate) -> None:
    root = _get(client, validate, verb="GetRecord", identifier=GONE.ivoid, metadataPrefix="ivo_vor")
    record = _find(root, "o:GetRecord/o:record")
    assert _find(record, "o:header").get("status") == "deleted"
    assert record.find("o:metadata", NS) is None


def test_get_record_identifier_is_case_insensitive(client: Client, validate: Validate) -> None:
    root = _get(client, validate, verb="GetRecord", identifier="IVO://VOSTACK.TEST/TAP", metadataPrefix="ivo_vor")
    assert _identifiers(root) == ["ivo://vostack.test/tap"]


@pytest.mark.parametrize(
    ("selection", "expected"),
    [
        ({"from": "2026-04-01"}, ["ivo://vostack.test/tap"]),
        ({"from": "2026-06-01T08:00:00Z"}, ["ivo://vostack.test/tap"]),
        ({"from": "2026-06-01T08:00:01Z"}, []),
        ({"until": "2026-02-01"}, [GONE.ivoid]),
        ({"until": "2026-01-31T23:59:59Z"}, []),
        ({"from": "2026-02-01", "until": "2026-03-01"}, [i for i in ALL if i != "ivo://vostack.test/tap"]),
        ({"until": "2026-03-01T12:29:59Z"}, [GONE.ivoid]),
        ({"set": "ivo_managed"}, ALL),
    ],
)
def test_from_until_select_by_datestamp(
    client: Client, validate: Validate, selection: dict[str, str], expected: list[str]
) -> None:
    root = _get(client, validate, verb="ListIdentifiers", metadataPrefix="ivo_vor", **selection)
    if expected:
        assert _identifiers(root) == expected
    else:
        assert _error(root) == "noRecordsMatch"


def _harvest(client: Client, validate: Validate, verb: str) -> tuple[list[str], list[etree._Element]]:
    identifiers: list[str] = []
    tokens: list[etree._Element] = []
    params = {"verb": verb, "metadataPrefix": "ivo_vor"}
    while True:
        root = _get(client, validate, **params)
        identifiers += _identifiers(root)
        token = root.find(f"o:{verb}/o:resumptionToken", NS)
        if token is None:
            return identifiers, tokens
        tokens.append(token)
        if not token.text:
            return identifiers, tokens
        params = {"verb": verb, "resumptionToken": token.text}


@pytest.mark.parametrize("verb", ["ListIdentifiers", "ListRecords"])
def test_resumption_tokens_page_through_the_whole_list(validate: Validate, verb: str) -> None:
    client = _client(RegistryService(site=SITE, services=SERVICES, deleted=[GONE], page_size=3))
    identifiers, tokens = _harvest(client, validate, verb)
    assert identifiers == ALL
    assert [t.get("cursor") for t in tokens] == ["0", "3", "6"]
    assert {t.get("completeListSize") for t in tokens} == {"7"}
    assert tokens[-1].text is None  # the last page carries an empty token


def test_stale_resumption_token_is_refused(validate: Validate) -> None:
    before = _client(RegistryService(site=SITE, services=SERVICES, page_size=2))
    root = _get(before, validate, verb="ListIdentifiers", metadataPrefix="ivo_vor")
    token = root.findtext(".//o:resumptionToken", namespaces=NS)
    assert token
    after = _client(RegistryService(site=SITE, services=SERVICES, deleted=[GONE], page_size=2))
    assert _error(_get(after, validate, verb="ListIdentifiers", resumptionToken=token)) == "badResumptionToken"
    assert _error(_get(before, validate, verb="ListRecords", resumptionToken=token)) == "badResumptionToken"
    assert _get(before, validate, verb="ListIdentifiers", resumptionToken=token).find(".//o:header", NS) is not None


def test_post_is_answered_like_get(client: Client, validate: Validate) -> None:
    response = client.post(
        "/oai/", data={"verb": "GetRecord", "identifier": "ivo://vostack.test", "metadataPrefix": "oai_dc"}
    )
    validate(response.content)
    assert _identifiers(etree.fromstring(response.content)) == ["ivo://vostack.test"]


@pytest.mark.parametrize(
    ("params", "code"),
    [
        ({}, "badVerb"),
        ({"verb": "Frobnicate"}, "badVerb"),
        ({"verb": "identify"}, "badVerb"),
        ({"VERB": "Identify"}, "badVerb"),
        ({"verb": "Identify", "set": "ivo_managed"}, "badArgument"),
        ({"verb": "GetRecord", "identifier": "ivo://vostack.test"}, "badArgument"),
        ({"verb": "ListRecords"}, "badArgument"),
        ({"verb": "ListRecords", "metadataprefix": "ivo_vor"}, "badArgument"),
        ({"verb": "ListRecords", "metadataPrefix": "ivo_vor", "from": "2026-13-01"}, "badArgument"),
        ({"verb": "ListRecords", "metadataPrefix": "ivo_vor", "from": "2026-01-01T00:00Z"}, "badArgument"),
        (
            {"verb": "ListRecords", "metadataPrefix": "ivo_vor", "from": "2026-01-01", "until": "2026-02-01T00:00:00Z"},
            "badArgument",
        ),
        (
            {"verb": "ListRecords", "metadataPrefix": "ivo_vor", "from": "2026-03-01", "until": "2026-02-01"},
            "badArgument",
        ),
        ({"verb": "ListRecords", "metadataPrefix": "ivo_vor", "resumptionToken": "x"}, "badArgument"),
        ({"verb": "Identify", "resumptionToken": "x"}, "badArgument"),
        ({"verb": "ListRecords", "metadataPrefix": "marc21"}, "cannotDisseminateFormat"),
        (
            {"verb": "GetRecord", "identifier": "ivo://vostack.test", "metadataPrefix": "marc21"},
            "cannotDisseminateFormat",
        ),
        ({"verb": "GetRecord", "identifier": "ivo://elsewhere/tap", "metadataPrefix": "ivo_vor"}, "idDoesNotExist"),
        ({"verb": "ListRecords", "metadataPrefix": "ivo_vor", "set": "other"}, "noRecordsMatch"),
        ({"verb": "ListRecords", "metadataPrefix": "ivo_vor", "from": "2030-01-01"}, "noRecordsMatch"),
        ({"verb": "ListRecords", "resumptionToken": "not-a-token"}, "badResumptionToken"),
        ({"verb": "ListRecords", "resumptionToken": "eyJ2ZXJiIjoiTGlzdFJlY29yZHMifQ"}, "badResumptionToken"),
        ({"verb": "ListSets", "resumptionToken": "x"}, "badResumptionToken"),
        ({"verb": "GetRecord", "identifier": "ivo://vostack.test\x00", "metadataPrefix": "ivo_vor"}, "badArgument"),
        ({"verb": "Identify", "x\x01": "y"}, "badArgument"),
    ],
)
def test_bad_request_gets_its_oai_error_code(
    client: Client, validate: Validate, params: dict[str, str], code: str
) -> None:
    root = _get(client, validate, **params)
    assert _error(root) == code
    request = _find(root, "o:request")
    assert request.text == "http://testserver/oai/"
    if code in ("badVerb", "badArgument"):
        assert dict(request.attrib) == {}  # OAI-PMH 2.0 §3.6: the base URL only


def test_repeated_argument_is_bad_argument(client: Client, validate: Validate) -> None:
    response = client.get("/oai/?verb=ListRecords&metadataPrefix=ivo_vor&metadataPrefix=oai_dc")
    validate(response.content)
    assert _error(etree.fromstring(response.content)) == "badArgument"


def test_repeated_verb_is_bad_verb(client: Client, validate: Validate) -> None:
    response = client.get("/oai/?verb=Identify&verb=Identify")
    validate(response.content)
    assert _error(etree.fromstring(response.content)) == "badVerb"


def test_other_http_methods_are_refused(client: Client) -> None:
    assert client.delete("/oai/").status_code == 405


def test_unstarted_service_makes_the_registry_unavailable(validate: Validate) -> None:
    def not_yet() -> TableSet:
        raise TransientError("the TAP service is starting")

    starting = ServiceDescription(
        key="tap", title="t", description="d", capabilities=TAP.capabilities, tableset=not_yet
    )
    client = _client(RegistryService(site=SITE, services=[starting]))
    response = client.get("/oai/", params={"verb": "ListRecords", "metadataPrefix": "ivo_vor"})
    assert response.status_code == 503
    assert response.headers["retry-after"] == "10"
    for verb in ("Identify", "ListSets"):  # these need no service metadata
        validate(client.get("/oai/", params={"verb": verb}).content)
    headers = client.get("/oai/", params={"verb": "ListIdentifiers", "metadataPrefix": "ivo_vor"})
    validate(headers.content)
    assert "ivo://vostack.test/tap" in _identifiers(etree.fromstring(headers.content))


def test_deleted_record_still_published_is_rejected() -> None:
    with pytest.raises(ValueError, match="still published"):
        RegistryService(site=SITE, services=SERVICES, deleted=[DeletedRecord("ivo://vostack.test/TAP", GONE.datestamp)])


def test_services_sharing_a_key_are_rejected() -> None:
    with pytest.raises(ValueError, match="share an identifier"):
        RegistryService(site=SITE, services=[TAP, TAP])


def test_tableset_is_read_when_records_are_built() -> None:
    calls: list[int] = []

    def tableset() -> TableSet:
        calls.append(1)
        return TABLESET

    tap = ServiceDescription(key="tap", title="t", description="d", capabilities=TAP.capabilities, tableset=tableset)
    registry = RegistryService(site=SITE, services=[tap])
    assert calls == []
    registry.handle([("verb", "GetRecord"), ("identifier", "ivo://vostack.test/tap"), ("metadataPrefix", "ivo_vor")],
                    oai_url="http://x/oai", base_url="http://x")  # fmt: skip
    assert calls == [1]


def test_header_datestamps_are_the_records_updated_times(client: Client, validate: Validate) -> None:
    root = _get(client, validate, verb="ListRecords", metadataPrefix="ivo_vor")
    checked = 0
    for record in root.iterfind(".//o:record", NS):
        resource = record.find("o:metadata/ri:Resource", NS)
        if resource is not None:
            assert record.findtext("o:header/o:datestamp", namespaces=NS) == resource.get("updated")
            checked += 1
    assert checked == 6
