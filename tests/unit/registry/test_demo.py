from __future__ import annotations

from lxml import etree
from starlette.applications import Starlette
from starlette.routing import Route

from tests.schemata import validator
from tests.unit.registry.helpers import TABLESET, Client, ssa_capabilities, tap_capabilities
from vostack.cli import build_app, build_registry
from vostack.demo import demo_config
from vostack.registry import resource_document
from vostack.registry.demo import demo_registry, uws_capabilities
from vostack.tap import TAPService

OAI = {"o": "http://www.openarchives.org/OAI/2.0/", "ri": "http://www.ivoa.net/xml/RegistryInterface/v1.0"}


def _list_records(client: Client) -> etree._Element:
    response = client.get("/oai", params={"verb": "ListRecords", "metadataPrefix": "ivo_vor"})
    assert response.status_code == 200
    validator("OAI-PMH.xsd")(response.content)
    return etree.fromstring(response.content)


def test_demo_publishes_authority_organisation_registry_and_tap() -> None:
    registry = demo_registry(tap_capabilities=tap_capabilities, tableset=lambda: TABLESET)
    root = _list_records(Client(Starlette(routes=[Route("/oai", registry)])))
    identifiers = [el.text for el in root.iterfind(".//o:header/o:identifier", OAI)]
    assert identifiers == [
        "ivo://vostack.demo",
        "ivo://vostack.demo/org",
        "ivo://vostack.demo/registry",
        "ivo://vostack.demo/tap",
    ]


def test_demo_publishes_compute_and_ssa_when_present() -> None:
    registry = demo_registry(
        tap_capabilities=tap_capabilities,
        tableset=lambda: TABLESET,
        compute_capabilities=uws_capabilities,
        ssa_capabilities=ssa_capabilities,
        base_url="https://vo.example.org",
    )
    validate = validator("RegistryInterface.xsd")
    records = registry.records(base_url="https://vo.example.org", oai_url="https://vo.example.org/oai")
    assert [r.ivoid.rsplit("/", 1)[-1] for r in records] == ["vostack.demo", "compute", "org", "registry", "ssa", "tap"]
    for record in records:
        validate(resource_document(record))
    compute = etree.fromstring(resource_document(records[1]))
    assert compute.findtext("capability/interface/accessURL") == "https://vo.example.org/compute"


def test_demo_datestamps_are_fixed() -> None:
    registry = demo_registry(tap_capabilities=tap_capabilities, tableset=lambda: TABLESET)
    stamps = {r.datestamp for r in registry.records(base_url="http://a", oai_url="http://a/oai")}
    assert len(stamps) == 1
    assert stamps == {registry.site.updated}


def test_cli_app_serves_the_registry_at_oai() -> None:
    tap = TAPService(config=demo_config())
    client = Client(build_app(tap, registry=build_registry(tap)))
    response = client.get("/oai", params={"verb": "Identify"})
    validator("OAI-PMH.xsd")(response.content)
    root = etree.fromstring(response.content)
    assert root.findtext("o:Identify/o:baseURL", namespaces=OAI) == "http://testserver/oai"
    # TAP has not started: its table set is unknown, so records are not served yet
    assert client.get("/oai", params={"verb": "ListRecords", "metadataPrefix": "ivo_vor"}).status_code == 503
