"""A small site with TAP, SSA and a UWS compute service, for the registry tests."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from typing import Any

import httpx
from lxml import etree
from starlette.types import ASGIApp

from vostack import vosi
from vostack.dali import OutputFormat
from vostack.registry import Contact, Creator, ResourceName, Rights, ServiceDescription, SiteDescription, doi
from vostack.schema import Column, Schema, Table, TableSet
from vostack.tap.capabilities import tap_capability
from vostack.vosi import Capability, Interface

CREATED = datetime(2026, 1, 5, 10, 0, tzinfo=UTC)
UPDATED = datetime(2026, 3, 1, 12, 30, tzinfo=UTC)
TAP_UPDATED = datetime(2026, 6, 1, 8, 0, tzinfo=UTC)
DATASET_DOI = "10.5072/vostack.hipparcos"

SITE = SiteDescription(
    authority="ivo://vostack.test",
    organisation="vostack Test Data Centre",
    title="vostack test site",
    description="A data centre that exists only in the tests.",
    reference_url="https://vostack.test/",
    contact=Contact("Data centre staff", email="vo@vostack.test", address="1 Test Road"),
    created=CREATED,
    updated=UPDATED,
    short_name="VTDC",
    creators=(Creator("Lovelace, A.", alt_identifiers=("https://orcid.org/0000-0002-1825-0097",)),),
    subjects=("Astrometry", "Stellar astronomy"),
    rights=(Rights("CC BY 4.0", "https://creativecommons.org/licenses/by/4.0/"),),
    facilities=(ResourceName("Hipparcos"),),
)

TABLESET = TableSet(
    schemas=(
        Schema(
            name="hipparcos",
            description="Hipparcos, the New Reduction",
            tables=(
                Table(
                    name="hipparcos.main",
                    schema_name="hipparcos",
                    description="The catalogue",
                    columns=(
                        Column(name="hip", datatype="int", description="Identifier", indexed=True),
                        Column(name="ra", datatype="double", unit="deg", ucd="pos.eq.ra;meta.main"),
                    ),
                ),
            ),
        ),
    )
)


def tap_capabilities(base_url: str) -> list[Capability]:
    votable = OutputFormat(
        mime="application/x-votable+xml", aliases=("votable",), ivo_id="ivo://ivoa.net/std/TAPRegExt#output-votable-td"
    )
    return [
        tap_capability(base_url=base_url, output_formats=[votable], maxrec=1000, hardlimit=10_000),
        *vosi.vosi_capabilities(base_url),
    ]


def ssa_capabilities(base_url: str) -> list[Capability]:
    extra = []
    for name, text in (
        ("complianceLevel", "minimal"),
        ("dataSource", "pointed"),
        ("creationType", "archival"),
        ("supportedFrame", "ICRS"),
        ("maxSearchRadius", "10"),
        ("maxRecords", "1000"),
    ):
        el = etree.Element(name)
        el.text = text
        extra.append(el)
    interface = Interface(base_url, role="std", version="1.1", use="base", query_types=("GET",))
    return [Capability(vosi.SSA, (interface,), xsi_type="ssa:SimpleSpectralAccess", extra=tuple(extra))]


def uws_capabilities(base_url: str) -> list[Capability]:
    return [
        Capability("ivo://ivoa.net/std/UWS#rest-1.1", (Interface(base_url, role="std", version="1.1", use="base"),))
    ]


TAP = ServiceDescription(
    key="tap",
    title="vostack test TAP service",
    description="Query the test catalogues with ADQL.",
    capabilities=tap_capabilities,
    tableset=lambda: TABLESET,
    short_name="VT TAP",
    alt_identifiers=(doi(DATASET_DOI),),
    updated=TAP_UPDATED,
)
SSA = ServiceDescription(
    key="ssa",
    title="vostack test spectra",
    description="Spectra by position.",
    capabilities=ssa_capabilities,
    types=("Catalog",),
)
COMPUTE = ServiceDescription(
    key="compute",
    title="vostack test proper motions",
    description="A UWS job service propagating positions.",
    capabilities=uws_capabilities,
    resource_type="vr:Service",
    types=("Other",),
)
SERVICES = (TAP, SSA, COMPUTE)


class Client:
    """A synchronous HTTP client for an ASGI app (httpx over ``ASGITransport``, one event loop per request)."""

    def __init__(self, app: ASGIApp, base_url: str = "http://testserver") -> None:
        self.app = app
        self.base_url = base_url

    def request(self, method: str, url: str, **kwargs: Any) -> httpx.Response:
        async def send() -> httpx.Response:
            transport = httpx.ASGITransport(app=self.app)
            async with httpx.AsyncClient(transport=transport, base_url=self.base_url) as client:
                return await client.request(method, url, **kwargs)

        return asyncio.run(send())

    def get(self, url: str, **kwargs: Any) -> httpx.Response:
        return self.request("GET", url, **kwargs)

    def post(self, url: str, **kwargs: Any) -> httpx.Response:
        return self.request("POST", url, **kwargs)

    def delete(self, url: str, **kwargs: Any) -> httpx.Response:
        return self.request("DELETE", url, **kwargs)
