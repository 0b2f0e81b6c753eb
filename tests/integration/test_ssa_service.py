"""SSAService on a real database: start-up checks, the ObsCore view, the demo loader, the registry record."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest
from lxml import etree

from tests.schemata import validator
from vostack import db
from vostack.demo import spex as demo_spex
from vostack.registry import resource_document
from vostack.registry.demo import demo_registry
from vostack.schema import TableSet
from vostack.ssa import OBSCORE_COLUMNS, MappingError, SSAService
from vostack.tap import TAPService

pytestmark = pytest.mark.postgres


async def test_the_second_load_reuses_the_spectra(pool: db.Pool, spex: None, spex_wheel: Path) -> None:
    assert await demo_spex.ensure_spex(pool, spex_wheel) is None
    assert await db.row_count(pool, "spex.spectra") == 3084  # 3,089 rows less 5 without position, date or source


async def test_a_mapping_naming_absent_columns_fails_at_start(pool: db.Pool, spex: None, spex_wheel: Path) -> None:
    columns = {**demo_spex.MAPPING.columns, "snr": "signal_to_noise", "title": "label"}
    mapping = dataclasses.replace(demo_spex.MAPPING, columns=columns)
    service = SSAService(mapping=mapping, products=demo_spex.SpexProducts(spex_wheel))
    with pytest.raises(MappingError) as info:
        await service.start(pool)
    assert "signal_to_noise" in info.value.message and "label" in info.value.message


async def test_start_creates_the_obscore_view_over_every_spectrum(pool: db.Pool, spex: None, spex_wheel: Path) -> None:
    service = SSAService(
        mapping=demo_spex.MAPPING, products=demo_spex.SpexProducts(spex_wheel), public_url="http://h/ssa"
    )
    await service.start(pool)
    described = await db.describe_tables(pool, ["ivoa.obscore"])
    # the mandatory columns in the standard's order, then vostack's footprint (NULL: spectra are a point)
    assert [c.name for c in described["ivoa.obscore"].columns] == [c.name for c in OBSCORE_COLUMNS] + ["s_footprint"]
    async with db.open_cursor(
        pool,
        "SELECT count(*), count(DISTINCT obs_publisher_did), min(em_min), max(em_max), "
        "min(access_url) FROM ivoa.obscore WHERE dataproduct_type = $1",
        statement_timeout=10,
        args=("spectrum",),
    ) as cursor:
        ((count, distinct, em_min, em_max, url),) = await cursor.fetch(1)
    assert count == distinct == 3084
    assert isinstance(em_min, float) and isinstance(em_max, float)
    assert 0.5e-6 < em_min < 0.7e-6 and 2.5e-6 < em_max < 2.6e-6
    assert str(url).startswith("http://h/ssa/datalink?ID=ivo://vostack.demo/spex?")


def test_the_ssa_registry_record_validates(spex_wheel: Path) -> None:
    service = SSAService(mapping=demo_spex.MAPPING, products=demo_spex.SpexProducts(spex_wheel))
    tap = TAPService()
    registry = demo_registry(
        tap_capabilities=tap.capabilities,
        tableset=lambda: TableSet(schemas=()),
        ssa_capabilities=service.capabilities,
        base_url="https://vo.example.org",
    )
    records = registry.records(base_url="https://vo.example.org", oai_url="https://vo.example.org/oai")
    (record,) = [r for r in records if r.ivoid.endswith("/ssa")]
    document = resource_document(record)
    validator("RegistryInterface.xsd")(document)
    capability = etree.fromstring(document).find("capability[@standardID='ivo://ivoa.net/std/SSA']")
    assert capability is not None
    assert capability.findtext("interface/accessURL") == "https://vo.example.org/ssa/"
