"""A real OAI-PMH harvester (sickle) harvests the demo's publishing registry; pyvo reads the records.

The demo runs in uvicorn on 127.0.0.1 with its TAP service on the test database, so the
TAP record's access URL is followed by pyvo to a live query.
"""

from __future__ import annotations

import io
from collections.abc import Iterator
from pathlib import Path

import pytest
import pyvo
import requests
from astropy import units
from lxml import etree
from mocpy import MOC
from pyvo.io.vosi import parse_capabilities, parse_tables
from pyvo.io.vosi.tapregext import TableAccess
from sickle import Sickle
from starlette.types import ASGIApp

from tests.interop.conftest import LiveServer
from tests.schemata import validator
from vostack.cli import build_registry, publication_app
from vostack.demo.compute import compute_service
from vostack.demo.planetary import PlanetarySources
from vostack.publish import Publication
from vostack.vosi import VOSI_CAPABILITIES_NS, VOSI_TABLES_NS

pytestmark = pytest.mark.interop

RI = "http://www.ivoa.net/xml/RegistryInterface/v1.0"
XSI_TYPE = "{http://www.w3.org/2001/XMLSchema-instance}type"
DEMO = ["ivo://vostack.demo", "ivo://vostack.demo/compute", "ivo://vostack.demo/epn/gazetteer",
        "ivo://vostack.demo/epn/oec", "ivo://vostack.demo/epn/sbdb", "ivo://vostack.demo/epn/surface_maps",
        "ivo://vostack.demo/org", "ivo://vostack.demo/registry",
        "ivo://vostack.demo/scs/hipparcos.main", "ivo://vostack.demo/scs/oec.epn_core", "ivo://vostack.demo/ssa",
        "ivo://vostack.demo/tap"]  # fmt: skip


def _with_registry(publication: Publication) -> ASGIApp:
    registry = build_registry(publication.tap, compute_service(), publication.ssa, publication)
    registry.page_size = 2  # make the harvester follow resumption tokens
    return publication_app(publication, registry)


@pytest.fixture(scope="module")
def demo_url(
    postgres_dsn: str, live_server: LiveServer, spex_wheel: Path, planetary_data: PlanetarySources
) -> Iterator[str]:
    # as `vostack demo` serves it: TAP, SSA over the SpeX spectra, the compute service, the registry;
    # ivoa.obscore and the EPN-TAP views stay the ones live_server made (their access URLs point there)
    server = LiveServer(
        postgres_dsn,
        _with_registry,
        spectra=spex_wheel,
        obscore_view=False,
        planetary=planetary_data,
        public_url=live_server.public_url,
    )
    server.start_serving()
    yield server.root
    server.stop()


@pytest.fixture(scope="module")
def sickle(demo_url: str) -> Sickle:
    return Sickle(f"{demo_url}/oai", max_retries=0, timeout=30)


def _resource(record_xml: etree._Element) -> etree._Element:
    (resource,) = record_xml.iter(f"{{{RI}}}Resource")
    return resource


def test_harvester_identifies_the_registry(sickle: Sickle, demo_url: str) -> None:
    identify = sickle.Identify()
    assert identify.repositoryName == "vostack demo"
    assert identify.baseURL == f"{demo_url}/oai"
    assert identify.protocolVersion == "2.0"
    assert identify.deletedRecord == "persistent"
    registry = _resource(identify.xml)
    assert registry.get(XSI_TYPE) == "vg:Registry"
    assert registry.findtext("capability/interface/accessURL") == f"{demo_url}/oai"


def test_harvester_lists_formats_and_sets(sickle: Sickle) -> None:
    assert [f.metadataPrefix for f in sickle.ListMetadataFormats()] == ["ivo_vor", "oai_dc"]
    assert [s.setSpec for s in sickle.ListSets()] == ["ivo_managed"]


def test_harvester_pages_through_every_record(sickle: Sickle) -> None:
    validate = validator("RegistryInterface.xsd")
    records = list(sickle.ListRecords(metadataPrefix="ivo_vor", set="ivo_managed"))
    assert [r.header.identifier for r in records] == DEMO
    assert not any(r.deleted for r in records)
    for record in records:
        validate(etree.tostring(_resource(record.xml)))
    types = {r.header.identifier: _resource(r.xml).get(XSI_TYPE) for r in records}
    assert types == {
        "ivo://vostack.demo": "vg:Authority",
        "ivo://vostack.demo/compute": "vr:Service",
        "ivo://vostack.demo/epn/gazetteer": "vs:CatalogService",
        "ivo://vostack.demo/epn/oec": "vs:CatalogService",
        "ivo://vostack.demo/epn/sbdb": "vs:CatalogService",
        "ivo://vostack.demo/epn/surface_maps": "vs:CatalogService",
        "ivo://vostack.demo/org": "vr:Organisation",
        "ivo://vostack.demo/scs/hipparcos.main": "vs:CatalogService",
        "ivo://vostack.demo/scs/oec.epn_core": "vs:CatalogService",
        "ivo://vostack.demo/registry": "vg:Registry",
        "ivo://vostack.demo/ssa": "vs:CatalogService",
        "ivo://vostack.demo/tap": "vs:CatalogService",
    }


def test_harvester_reads_dublin_core(sickle: Sickle) -> None:
    record = sickle.GetRecord(identifier="ivo://vostack.demo/tap", metadataPrefix="oai_dc")
    assert record.metadata["title"] == ["vostack demo TAP service: Hipparcos, the New Reduction"]
    assert record.metadata["identifier"][0] == "ivo://vostack.demo/tap"
    assert [h.identifier for h in sickle.ListIdentifiers(metadataPrefix="oai_dc", **{"from": "2026-11-01"})] == DEMO


def test_pyvo_reads_the_tap_record_and_queries_its_access_url(sickle: Sickle, demo_url: str) -> None:
    record = sickle.GetRecord(identifier="ivo://vostack.demo/tap", metadataPrefix="ivo_vor")
    resource = _resource(record.xml)
    # The record's capabilities and tableset, re-rooted as the VOSI documents pyvo parses.
    capabilities = etree.Element(f"{{{VOSI_CAPABILITIES_NS}}}capabilities", nsmap=resource.nsmap)
    capabilities.extend(resource.findall("capability"))
    tables = etree.Element(f"{{{VOSI_TABLES_NS}}}tableset", nsmap=resource.nsmap)
    tableset_element = resource.find("tableset")
    assert tableset_element is not None
    tables.extend(tableset_element)
    parsed = parse_capabilities(io.BytesIO(etree.tostring(capabilities)), pedantic=True)
    (table_access,) = [c for c in parsed if c.standardid == "ivo://ivoa.net/std/TAP"]
    assert isinstance(table_access, TableAccess)  # pyvo read xsi:type="tr:TableAccess"
    assert {lang.name for lang in table_access.languages} == {"ADQL"}
    access_url = table_access.interfaces[0].accessurls[0].content
    assert access_url == f"{demo_url}/tap"
    tableset = parse_tables(io.BytesIO(etree.tostring(tables)), pedantic=True)
    assert "hipparcos.main" in {t.name for schema in tableset.tableset for t in schema.tables}
    with requests.Session() as session:  # closed here, not left to the garbage collector
        service = pyvo.dal.TAPService(access_url, session=session)
        result = service.run_sync("SELECT TOP 3 hip FROM hipparcos.main ORDER BY hip")
    assert len(result) == 3


def test_the_ssa_record_points_pyvo_at_the_spectra(sickle: Sickle, demo_url: str) -> None:
    record = sickle.GetRecord(identifier="ivo://vostack.demo/ssa", metadataPrefix="ivo_vor")
    resource = _resource(record.xml)
    # pyvo's VOSI parser knows no SimpleDALRegExt types, so the capability is read as a registry client reads it
    (ssa,) = [c for c in resource.findall("capability") if c.get("standardID") == "ivo://ivoa.net/std/SSA"]
    assert ssa.get(XSI_TYPE) == "ssa:SimpleSpectralAccess"
    assert ssa.findtext("maxRecords") is not None and ssa.findtext("complianceLevel") is not None
    access_url = ssa.findtext("interface/accessURL")
    assert access_url is not None and access_url.rstrip("/") == f"{demo_url}/ssa"
    with requests.Session() as session:
        results = pyvo.dal.SSAService(access_url, session=session).search(pos=(0.0564, 25.905), diameter=0.05)
        assert len(results) >= 1


def test_an_epn_tap_collection_is_an_auxiliary_tap_capability_served_by_the_tap_service(
    sickle: Sickle, demo_url: str
) -> None:
    record = sickle.GetRecord(identifier="ivo://vostack.demo/epn/oec", metadataPrefix="ivo_vor")
    resource = _resource(record.xml)
    (capability,) = resource.findall("capability")
    assert capability.get("standardID") == "ivo://ivoa.net/std/TAP#aux"
    assert capability.findtext("interface/accessURL") == f"{demo_url}/tap"
    relation = resource.find("content/relationship")
    assert relation is not None and relation.findtext("relationshipType") == "IsServedBy"
    assert relation.find("relatedResource").get("ivo-id") == "ivo://vostack.demo/tap"  # type: ignore[union-attr]
    assert "exoplanet-astronomy" in [s.text for s in resource.findall("content/subject")]
    (table,) = resource.findall("tableset/schema/table")
    assert (table.findtext("name"), table.findtext("utype")) == ("oec.epn_core", "ivo://ivoa.net/std/epntap#table-2.0")
    spatial = resource.findtext("coverage/spatial")  # the exoplanets are on the sky: their MOC
    assert spatial is not None
    moc = MOC.from_string(spatial, format="ascii")
    assert moc.max_order == 6 and moc.contains_lonlat([185.179] * units.deg, [17.793] * units.deg).all()  # 11 Com
    gazetteer = _resource(sickle.GetRecord(identifier="ivo://vostack.demo/epn/gazetteer", metadataPrefix="ivo_vor").xml)
    assert gazetteer.find("coverage") is None  # planetary surfaces are not on the sky
    sbdb = _resource(sickle.GetRecord(identifier="ivo://vostack.demo/epn/sbdb", metadataPrefix="ivo_vor").xml)
    assert sbdb.find("coverage/spatial") is None and sbdb.find("coverage/footprint") is None  # no positions
    intervals = [tuple(map(float, (t.text or "").split())) for t in sbdb.findall("coverage/temporal")]
    assert 1 <= len(intervals) <= 100  # the comets' perihelion passages, as MJD intervals
    assert intervals[0][0] < -700_000 < 60_000 < intervals[-1][1]  # from 146 BC (C/-146 P1) to after 2023
    # RegTAP's EPN-TAP discovery (EPN-TAP 2.0 §4.2): a table utype and a TAP capability's access URL
    with requests.Session() as session:
        rows = pyvo.dal.TAPService(capability.findtext("interface/accessURL"), session=session).run_sync(
            f"SELECT COUNT(*) AS n FROM {table.findtext('name')}"
        )
    assert rows.to_table()["n"][0] == 1_793


def test_a_cone_search_record_has_its_capability_table_and_moc(sickle: Sickle, demo_url: str) -> None:
    record = sickle.GetRecord(identifier="ivo://vostack.demo/scs/hipparcos.main", metadataPrefix="ivo_vor")
    resource = _resource(record.xml)
    (cone,) = [c for c in resource.findall("capability") if c.get("standardID") == "ivo://ivoa.net/std/ConeSearch"]
    assert cone.get(XSI_TYPE) == "cs:ConeSearch" and cone.findtext("maxSR") == "10"
    access_url = cone.findtext("interface/accessURL")
    assert access_url == f"{demo_url}/scs/hipparcos.main/?"
    assert [t.findtext("name") for t in resource.findall("tableset/schema/table")] == ["hipparcos.main"]
    footprint = resource.find("coverage/footprint")
    assert footprint is not None and footprint.get("ivo-id") == "ivo://ivoa.net/std/moc"
    assert footprint.text == f"{demo_url}/moc/hipparcos.main/space.fits"
    with requests.Session() as session:
        assert session.get(footprint.text, timeout=30).headers["content-type"] == "application/fits"
        stars = pyvo.dal.SCSService(access_url, session=session).search(pos=(56.75, 24.12), radius=0.2)
    assert len(stars) > 0
