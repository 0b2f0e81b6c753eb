from __future__ import annotations

import dataclasses
from collections.abc import Callable
from datetime import datetime

import pytest
from lxml import etree

from tests.schemata import validator
from tests.unit.registry.helpers import (
    COMPUTE,
    CREATED,
    DATASET_DOI,
    SERVICES,
    SITE,
    SSA,
    TAP,
    TAP_UPDATED,
    UPDATED,
)
from vostack.registry import (
    Content,
    Coverage,
    Resource,
    ServiceDescription,
    authority_record,
    doi,
    organisation_record,
    registry_record,
    resource_document,
    service_record,
    site_records,
)

BASE = "https://data.example.org/vo"
NS = {"ri": "http://www.ivoa.net/xml/RegistryInterface/v1.0", "xsi": "http://www.w3.org/2001/XMLSchema-instance"}
Validate = Callable[[bytes], None]


def _find(el: etree._Element, path: str) -> etree._Element:
    found = el.find(path, NS)
    assert found is not None, path
    return found


@pytest.fixture(scope="module")
def validate_record() -> Validate:
    return validator("RegistryInterface.xsd")


def _root(record: Resource) -> etree._Element:
    return etree.fromstring(resource_document(record))


def test_authority_record_is_a_valid_vg_authority(validate_record: Validate) -> None:
    document = resource_document(authority_record(SITE))
    validate_record(document)
    root = etree.fromstring(document)
    assert root.get(f"{{{NS['xsi']}}}type") == "vg:Authority"
    assert root.findtext("identifier") == "ivo://vostack.test"
    assert _find(root, "managingOrg").get("ivo-id") == "ivo://vostack.test/org"
    assert root.findtext("managingOrg") == "vostack Test Data Centre"


def test_organisation_record_is_a_valid_vr_organisation(validate_record: Validate) -> None:
    document = resource_document(organisation_record(SITE))
    validate_record(document)
    root = etree.fromstring(document)
    assert root.get(f"{{{NS['xsi']}}}type") == "vr:Organisation"
    assert root.findtext("shortName") == "VTDC"
    assert root.findtext("facility") == "Hipparcos"
    assert root.findtext("content/type") == "Organisation"


def test_registry_record_has_oai_harvest_capability(validate_record: Validate) -> None:
    document = resource_document(registry_record(SITE, oai_url=f"{BASE}/oai", max_records=50))
    validate_record(document)
    root = etree.fromstring(document)
    capability = _find(root, "capability")
    assert capability.get("standardID") == "ivo://ivoa.net/std/Registry"
    assert capability.get(f"{{{NS['xsi']}}}type") == "vg:Harvest"
    assert _find(capability, "interface").get(f"{{{NS['xsi']}}}type") == "vg:OAIHTTP"
    assert capability.findtext("interface/accessURL") == f"{BASE}/oai"
    assert capability.findtext("maxRecords") == "50"
    assert root.findtext("full") == "false"
    assert root.findtext("managedAuthority") == "vostack.test"


def test_tap_record_is_a_catalog_service_with_tableset_and_tableaccess(validate_record: Validate) -> None:
    document = resource_document(service_record(SITE, TAP, base_url=BASE))
    validate_record(document)
    root = etree.fromstring(document)
    assert root.get(f"{{{NS['xsi']}}}type") == "vs:CatalogService"
    assert root.findtext("identifier") == "ivo://vostack.test/tap"
    assert root.findtext("altIdentifier") == f"doi:{DATASET_DOI}"
    capabilities = {c.get("standardID"): c for c in root.findall("capability")}
    tap = capabilities["ivo://ivoa.net/std/TAP"]
    assert tap.get(f"{{{NS['xsi']}}}type") == "tr:TableAccess"
    assert tap.findtext("interface/accessURL") == f"{BASE}/tap"
    assert capabilities["ivo://ivoa.net/std/VOSI#tables-1.1"].findtext("interface/accessURL") == f"{BASE}/tap/tables"
    assert [t.findtext("name") for t in root.findall("tableset/schema/table")] == ["hipparcos.main"]
    assert root.findtext("rights") == "CC BY 4.0"
    assert _find(root, "rights").get("rightsURI") == "https://creativecommons.org/licenses/by/4.0/"


def test_curation_and_content_carry_the_site_description(validate_record: Validate) -> None:
    root = _root(service_record(SITE, TAP, base_url=BASE))
    assert root.findtext("curation/publisher") == "vostack Test Data Centre"
    assert _find(root, "curation/publisher").get("ivo-id") == "ivo://vostack.test/org"
    assert root.findtext("curation/creator/name") == "Lovelace, A."
    assert root.findtext("curation/creator/altIdentifier") == "https://orcid.org/0000-0002-1825-0097"
    assert root.findtext("curation/contact/email") == "vo@vostack.test"
    assert {d.get("role"): d.text for d in root.findall("curation/date")} == {
        "Created": "2026-01-05",
        "Updated": "2026-03-01",
    }
    assert [s.text for s in root.findall("content/subject")] == ["Astrometry", "Stellar astronomy"]
    assert root.findtext("content/referenceURL") == f"{BASE}/tap/"
    assert root.findtext("content/contentLevel") == "Research"
    assert root.get("updated") == "2026-06-01T08:00:00Z"
    assert root.get("created") == "2026-01-05T10:00:00Z"


def test_ssa_record_carries_the_ssa_capability(validate_record: Validate) -> None:
    document = resource_document(service_record(SITE, SSA, base_url=BASE))
    validate_record(document)
    root = etree.fromstring(document)
    capability = _find(root, "capability")
    assert capability.get(f"{{{NS['xsi']}}}type") == "ssa:SimpleSpectralAccess"
    assert capability.findtext("interface/accessURL") == f"{BASE}/ssa"
    assert root.find("tableset") is None


def test_compute_record_is_a_plain_service(validate_record: Validate) -> None:
    document = resource_document(service_record(SITE, COMPUTE, base_url=BASE))
    validate_record(document)
    root = etree.fromstring(document)
    assert root.get(f"{{{NS['xsi']}}}type") == "vr:Service"
    assert _find(root, "capability").get("standardID") == "ivo://ivoa.net/std/UWS#rest-1.1"


def test_every_site_record_validates(validate_record: Validate) -> None:
    records = site_records(SITE, SERVICES, base_url=BASE, oai_url=f"{BASE}/oai")
    assert [r.ivoid for r in records] == [
        "ivo://vostack.test",
        "ivo://vostack.test/compute",
        "ivo://vostack.test/org",
        "ivo://vostack.test/registry",
        "ivo://vostack.test/ssa",
        "ivo://vostack.test/tap",
    ]
    for record in records:
        validate_record(resource_document(record))


def test_records_are_identical_when_rebuilt() -> None:
    first = [resource_document(r) for r in site_records(SITE, SERVICES, base_url=BASE, oai_url=f"{BASE}/oai")]
    second = [resource_document(r) for r in site_records(SITE, SERVICES, base_url=BASE, oai_url=f"{BASE}/oai")]
    assert first == second


def test_datestamps_come_from_the_descriptions() -> None:
    records = {r.ivoid: r for r in site_records(SITE, SERVICES, base_url=BASE, oai_url=f"{BASE}/oai")}
    assert records["ivo://vostack.test/tap"].datestamp == TAP_UPDATED
    assert records["ivo://vostack.test/ssa"].datestamp == UPDATED
    assert records["ivo://vostack.test"].created == CREATED


def test_service_path_differs_from_key() -> None:
    moved = ServiceDescription(
        key="tap", title="t", description="d", capabilities=TAP.capabilities, path="/services/tap"
    )
    root = _root(service_record(SITE, moved, base_url=BASE + "/"))
    assert root.findtext("capability/interface/accessURL") == f"{BASE}/services/tap"


def test_tableset_is_dropped_for_non_catalog_services() -> None:
    service = ServiceDescription(
        key="x", title="t", description="d", capabilities=TAP.capabilities, tableset=TAP.tableset,
        resource_type="vs:DataService",
    )  # fmt: skip
    assert service_record(SITE, service, base_url=BASE).tableset is None


@pytest.mark.parametrize(
    "raw", [DATASET_DOI, f"doi:{DATASET_DOI}", f"https://doi.org/{DATASET_DOI}", f"DOI:{DATASET_DOI}"]
)
def test_doi_is_written_as_doi_uri(raw: str) -> None:
    assert doi(raw) == f"doi:{DATASET_DOI}"


@pytest.mark.parametrize("raw", ["", "11.1234/x", "doi:10.12/x", "https://example.org/10.5072/x"])
def test_malformed_doi_is_rejected(raw: str) -> None:
    with pytest.raises(ValueError, match="not a DOI"):
        doi(raw)


def _resource(**changes: object) -> Resource:
    values: dict[str, object] = {
        "resource_type": "vr:Organisation",
        "ivoid": "ivo://vostack.test/org",
        "title": "Org",
        "curation": SITE.curation(),
        "content": Content(subjects=("x",), description="d", reference_url="https://x/"),
        "created": CREATED,
        "updated": UPDATED,
    }
    values.update(changes)
    return Resource(**values)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"resource_type": "vs:Catalog"}, "resource_type"),
        ({"ivoid": "http://vostack.test/org"}, "IVOA identifier"),
        ({"ivoid": "ivo://vostack.test/org/"}, "IVOA identifier"),
        ({"resource_type": "vg:Authority"}, "bare authority"),
        ({"resource_type": "vg:Authority", "ivoid": "ivo://vostack.test"}, "managing_org"),
        ({"created": datetime(2026, 1, 1)}, "timezone-aware"),
        ({"updated": CREATED, "created": UPDATED}, "before created"),
        ({"short_name": "a name longer than sixteen"}, "shortName"),
        ({"status": "deleted"}, "status"),
        ({"rights": (SITE.rights[0],)}, "only services"),
        ({"full": True}, "vg:Registry"),
    ],
)
def test_invalid_resource_is_rejected(changes: dict[str, object], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        _resource(**changes)


def test_service_description_rejects_absolute_key() -> None:
    with pytest.raises(ValueError, match="relative resource key"):
        ServiceDescription(key="ivo://x/tap", title="t", description="d", capabilities=TAP.capabilities)


def test_duplicate_identifiers_are_rejected() -> None:
    with pytest.raises(ValueError, match="share the identifier"):
        site_records(SITE, (TAP, TAP), base_url=BASE, oai_url=f"{BASE}/oai")


def test_control_characters_are_replaced_not_dropped(validate_record: Validate) -> None:
    document = resource_document(_resource(title="bad\x01title"))
    validate_record(document)
    assert etree.fromstring(document).findtext("title") == "bad\ufffdtitle"


def test_schema_validation_catches_a_record_without_curation() -> None:
    root = _root(authority_record(SITE))
    root.remove(_find(root, "curation"))
    with pytest.raises(AssertionError, match="curation"):
        validator("RegistryInterface.xsd")(etree.tostring(root))


def test_coverage_is_written_before_the_tableset_in_vodataservice_order(validate_record: Validate) -> None:
    coverage = Coverage(
        spatial="6/12-15 100", temporal=((53000.5, 53010.25), (54000.0, 54000.0)), footprint=f"{BASE}/moc/t/space.fits"
    )
    service = dataclasses.replace(TAP, coverage=lambda base_url: coverage)
    document = resource_document(service_record(SITE, service, base_url=BASE))
    validate_record(document)
    root = etree.fromstring(document)
    children = [child.tag for child in root]
    assert children.index("coverage") == children.index("tableset") - 1
    element = _find(root, "coverage")
    assert [(c.tag, c.text) for c in element] == [
        ("spatial", "6/12-15 100"),
        ("temporal", "53000.5 53010.25"),
        ("temporal", "54000.0 54000.0"),
        ("footprint", f"{BASE}/moc/t/space.fits"),
    ]
    assert element.find("footprint").get("ivo-id") == "ivo://ivoa.net/std/moc"  # type: ignore[union-attr]
    with pytest.raises(ValueError, match="must not end before it starts"):
        Coverage(temporal=((2.0, 1.0),))
