"""The demo's registry: the ``ivo://vostack.demo`` authority, its organisation and its services.

The services hand in their capabilities (the TAP service's ``tr:TableAccess`` and VOSI
capabilities, SSA's, the compute service's), so this module needs no protocol package.
The dates are fixed here: they are the records' OAI-PMH datestamps and must not move
when the demo restarts.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import UTC, datetime

from vostack.registry.oai import RegistryService
from vostack.registry.records import Contact, Creator, ResourceName, Rights, ServiceDescription, SiteDescription
from vostack.schema import TableSet
from vostack.vosi import Capability, Interface

__all__ = ["UWS", "demo_registry", "demo_site", "uws_capabilities"]

UWS = "ivo://ivoa.net/std/UWS#rest-1.1"
"""The standardID VOSI capabilities give a UWS 1.1 job list (as OPUS and other UWS servers write it)."""

_CREATED = datetime(2026, 11, 1, tzinfo=UTC)
_UPDATED = datetime(2026, 11, 23, tzinfo=UTC)

CapabilitiesOf = Callable[[str], Sequence[Capability]]


def demo_site() -> SiteDescription:
    """The description of the demo data centre (authority ``ivo://vostack.demo``)."""
    return SiteDescription(
        authority="ivo://vostack.demo",
        organisation="vostack demonstration data centre",
        title="vostack demo",
        short_name="vostack demo",
        description=(
            "A demonstration of vostack, a library for publishing PostgreSQL catalogues to the "
            "Virtual Observatory: Hipparcos, the New Reduction, over TAP, SpeX prism spectra over SSA "
            "and ObsCore, with a UWS job service."
        ),
        reference_url="https://github.com/vostack/vostack",
        contact=Contact("vostack maintainers", email="vostack@vostack.demo"),
        created=_CREATED,
        updated=_UPDATED,
        creators=(Creator("vostack maintainers"),),
        subjects=("Astrometry", "Proper motions", "Virtual observatories"),
        rights=(Rights("Hipparcos data: ESA, public. Demo service: no guarantees."),),
        facilities=(ResourceName("Hipparcos"),),
    )


def uws_capabilities(base_url: str) -> list[Capability]:
    """The capability of a UWS 1.1 job list at ``base_url``."""
    return [Capability(UWS, (Interface(base_url, role="std", version="1.1", use="base"),))]


def demo_registry(
    *,
    tap_capabilities: CapabilitiesOf,
    tableset: Callable[[], TableSet | None],
    compute_capabilities: CapabilitiesOf | None = None,
    ssa_capabilities: CapabilitiesOf | None = None,
    base_url: str | None = None,
    extra: Sequence[ServiceDescription] = (),
) -> RegistryService:
    """The demo's publishing registry: authority, organisation, registry, TAP and, when given, compute, SSA
    and the ``extra`` services (cone searches, EPN-TAP collections)."""
    services = [
        ServiceDescription(
            key="tap",
            title="vostack demo TAP service: Hipparcos, the New Reduction",
            short_name="vostack TAP",
            description=(
                "The Hipparcos catalogue, new reduction of the raw data (van Leeuwen 2007): "
                "positions, parallaxes and proper motions of 117,955 stars, queryable in ADQL."
            ),
            capabilities=tap_capabilities,
            tableset=tableset,
            source="2007A&A...474..653V",
            source_format="bibcode",
            facilities=(ResourceName("Hipparcos"),),
        )
    ]
    if compute_capabilities is not None:
        services.append(
            ServiceDescription(
                key="compute",
                title="vostack demo proper motion service",
                description="A UWS 1.1 job service propagating the positions of Hipparcos stars in a cone to an epoch.",
                capabilities=compute_capabilities,
                resource_type="vr:Service",
                types=("Other",),
            )
        )
    if ssa_capabilities is not None:
        services.append(
            ServiceDescription(
                key="ssa",
                title="vostack demo spectra: the SpeX Prism Library",
                description=(
                    "3,084 near-infrared (0.65-2.55 um, R~75-200) IRTF/SpeX prism spectra of ultracool dwarfs "
                    "by position, band and time (SSA 1.1), with DataLink links to the FITS files."
                ),
                capabilities=ssa_capabilities,
                resource_type="vs:CatalogService",
            )
        )
    services.extend(extra)
    return RegistryService(site=demo_site(), services=services, base_url=base_url)
