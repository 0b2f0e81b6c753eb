"""SIA 2.0, DataLink 1.1 and SODA 1.0 over real sky and solar images, on a live server, checked with pyvo and an
independent computation from the files' WCS (astropy)."""

from __future__ import annotations

import asyncio
import io
import shutil
import subprocess
import warnings
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import quote

import numpy as np
import pytest
import pyvo
import requests
from astropy import units as u
from astropy.coordinates import SkyCoord
from astropy.io import fits
from astropy.io.votable import parse
from astropy.time import Time
from astropy.utils.data import get_pkg_data_filename
from astropy.utils.exceptions import AstropyWarning
from astropy.wcs import WCS
from lxml import etree, html
from PIL import Image
from starlette.types import ASGIApp

from tests.interop.conftest import LiveServer
from tests.interop.test_page import CHROMIUM, render
from vostack import db
from vostack.cli import publication_app
from vostack.demo import images, project
from vostack.publish import Publication
from vostack.sia import LoadReport

pytestmark = [pytest.mark.postgres, pytest.mark.interop]

SKY = "vostack demo sky images"


@pytest.fixture(scope="module")
def auth_state(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Where the demo's identities (and their tokens) are kept."""
    return tmp_path_factory.mktemp("auth")


@pytest.fixture(scope="module")
def sia_server(
    postgres_dsn: str, live_server: LiveServer, spex_wheel: Path, image_dir: Path, auth_state: Path
) -> Iterator[LiveServer]:
    """The demo as `vostack demo` serves it (SIA at /sia over ivoa.obscore of spectra and images), with the
    demo's identities; ivoa.obscore stays the one live_server made (its access URLs point there)."""

    def with_identities(publication: Publication) -> ASGIApp:
        publication.auth = project.demo_auth(auth_state)
        return publication_app(publication)

    server = LiveServer(
        postgres_dsn,
        with_identities,
        spectra=spex_wheel,
        obscore_view=False,
        public_url=live_server.public_url,
        images=image_dir,
    )
    server.start_serving()
    yield server
    server.stop()


def _wcs_of(path: Path) -> tuple[WCS, tuple[int, int], np.ndarray]:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", AstropyWarning)
        with fits.open(path) as hdus:
            hdu = next(h for h in hdus if h.header.get("NAXIS", 0) >= 2)
            data = np.asarray(hdu.data)
            wcs = WCS(hdu.header).celestial
    return wcs, (data.shape[-1], data.shape[-2]), data


def _expected(directory: Path, ra: float, dec: float, radius: float) -> set[str]:
    """The public sky images whose area meets the circle, from each file's WCS (dense pixel grid test)."""
    centre = SkyCoord(ra * u.deg, dec * u.deg)
    found = set()
    for path in sorted(directory.iterdir()):
        if path.name in (*images.SOLAR, *images.LIGHT_CURVES) or path.name == images.EMBARGOED:
            continue
        wcs, (nx, ny), _ = _wcs_of(path)
        xs, ys = np.meshgrid(np.linspace(-0.5, nx - 0.5, 60), np.linspace(-0.5, ny - 0.5, 60))
        sky = wcs.pixel_to_world(xs.ravel(), ys.ravel()).icrs
        inside = centre.separation(sky).deg <= radius
        corner = wcs.pixel_to_world(nx / 2 - 0.5, ny / 2 - 0.5).icrs
        if inside.any() or corner.separation(centre).deg <= radius:
            found.add(path.name)
    return found


def _did(name: str) -> str:
    return f"ivo://vostack.demo/vostack-demo-sky-images?{name}"


def test_load_reports_problems_per_file_and_goes_on(postgres_dsn: str, image_dir: Path) -> None:
    async def load() -> tuple[LoadReport, LoadReport]:
        pool = await db.create_pool(postgres_dsn, max_size=2)
        try:
            sky = images.sky_collection(image_dir, public_url=None, table="images_test.sky")
            solar = images.solar_collection(image_dir, public_url=None, table="images_test.solar")
            names = [*images.SKY, images.M13, "not_there.txt"]
            return await sky.load(pool, images.image_files(names)), await solar.load(
                pool, images.image_files(list(images.SOLAR))
            )
        finally:
            await pool.close()

    sky, solar = asyncio.run(load())
    assert "not_there.txt" in sky.refused and "ukidss_wfcam.fits" in sky.loaded
    assert any("EXPTIME" in p for p in sky.problems["ukidss_wfcam.fits"])
    assert set(solar.loaded) == set(images.SOLAR)
    assert any("Solar-X" in p for p in solar.problems["eit_195_20040301_0000.fits"])


@pytest.mark.parametrize(
    ("ra", "dec", "radius"),
    [(83.63, 22.01, 0.05), (189.492, 62.206, 0.01), (272.2, -19.85, 0.3), (250.42, 36.46, 0.2), (10.0, 10.0, 1.0)],
)
def test_pyvo_circle_search_returns_what_the_wcs_predicts(
    sia_server: LiveServer, image_dir: Path, ra: float, dec: float, radius: float
) -> None:
    service = pyvo.dal.SIA2Service(f"{sia_server.root}/sia")
    results = service.search(pos=(ra * u.deg, dec * u.deg, radius * u.deg), collection=SKY)
    found = {str(r["obs_publisher_did"]).split("?", 1)[1] for r in results}
    assert found == _expected(image_dir, ra, dec, radius)


def test_band_time_and_repeated_parameters(sia_server: LiveServer) -> None:
    service = pyvo.dal.SIA2Service(f"{sia_server.root}/sia")
    # 171 Angstrom: AIA, EIT 171, both STEREO (the same instant, three viewpoints); time 2011-02-15 keeps those three
    euv = service.search(band=(1.70e-8, 1.72e-8), time=(Time(55607.0, format="mjd"), Time(55607.02, format="mjd")))
    assert {str(r["obs_id"]) for r in euv} == {"aia_171_level1", "stereo_a_euvi_171", "stereo_b_euvi_171"}
    # two values of one name are ORed; different names ANDed
    both = service.search(facility=["SOHO", "VLA"], band=(float("-inf"), float("inf")))
    assert {str(r["facility_name"]) for r in both} == {"SOHO", "VLA"}
    radio = service.search(facility=["SOHO", "VLA"], band=(0.1, float("inf")))
    assert {str(r["obs_id"]) for r in radio} == {"first_vla"}  # 21 cm; W51 is at 1.3 cm
    assert all(str(r["dataproduct_type"]) == "image" for r in both)


def test_range_and_polygon_find_the_hst_cutouts_by_their_footprint(sia_server: LiveServer) -> None:
    url = f"{sia_server.root}/sia/query"
    with requests.Session() as session:
        box = session.get(url, params={"POS": "RANGE 189.49 189.50 62.20 62.21", "MAXREC": "10"})
        poly = session.get(url, params={"POS": "POLYGON 189.48 62.2 189.5 62.2 189.5 62.21"})
        whole = session.get(url, params={"POS": "RANGE -Inf +Inf -Inf +Inf", "MAXREC": "2"})
    for response in (box, poly):
        table = parse(io.BytesIO(response.content), verify="exception").get_first_table().to_table()
        assert sorted(str(d).split("?")[1] for d in table["obs_publisher_did"]) == [
            "hst_acs_f606w.fits",
            "hst_acs_f814w.fits",
        ]
    document = parse(io.BytesIO(whole.content), verify="exception")
    assert len(document.get_first_table().array) == 2
    assert any(i.name == "QUERY_STATUS" and i.value == "OVERFLOW" for i in document.resources[0].infos)


def test_the_spatial_search_uses_the_footprint_index(sia_server: LiveServer, postgres_dsn: str) -> None:
    async def plan() -> str:
        pool = await db.create_pool(postgres_dsn, max_size=1)
        try:
            async with pool.acquire() as conn:
                await conn.execute("SET enable_seqscan = off")  # 10 rows: the planner would scan them anyway
                rows = await conn.fetch(
                    "EXPLAIN SELECT * FROM ivoa.obscore WHERE (s_footprint && scircle(spoint(radians(83.6), "
                    "radians(22.0)), radians(0.1)) OR (s_footprint IS NULL AND spoint(radians(s_ra), "
                    "radians(s_dec)) <@ scircle(spoint(radians(83.6), radians(22.0)), radians(0.1))))"
                )
        finally:
            await pool.close()
        return "\n".join(r[0] for r in rows)

    text = asyncio.run(plan())
    assert "sky_footprint_idx" in text


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({"POS": "CIRCLE 10 100 1"}, "dec"),
        ({"POS": "BOX 1 2 3 4"}, "CIRCLE, RANGE or POLYGON"),
        ({"BAND": "3 2"}, "empty"),
        ({"TIME": "x"}, "not a number"),
        ({"MAXREC": "-1"}, "MAXREC"),
        ({"RESPONSEFORMAT": "text/csv"}, "VOTable"),
        ({"CALIB": "two"}, "CALIB"),
        ({"POL": "W"}, "POL"),
    ],
)
def test_bad_values_get_the_dali_error_document(sia_server: LiveServer, params: dict[str, str], message: str) -> None:
    response = requests.get(f"{sia_server.root}/sia/query", params=params, timeout=30)
    assert response.status_code == 400
    info = parse(io.BytesIO(response.content), verify="exception").resources[0].infos[0]
    assert info.name == "QUERY_STATUS" and info.value == "ERROR" and message in str(info.content)


def test_getdataurl_datalink_and_preview_download_each_product(sia_server: LiveServer, image_dir: Path) -> None:
    service = pyvo.dal.SIA2Service(f"{sia_server.root}/sia")
    results = service.search(pos=(83.63 * u.deg, 22.01 * u.deg, 0.05 * u.deg), collection=SKY)
    (record,) = list(results)
    data = requests.get(record.getdataurl(), timeout=30).content
    assert data == (image_dir / "ukidss_wfcam.fits").read_bytes()
    links = next(results.iter_datalinks())
    by_semantics = {link.semantics: link for link in links}
    assert {"#this", "#preview", "#cutout"} <= set(by_semantics)
    with fits.open(io.BytesIO(requests.get(by_semantics["#this"].access_url, timeout=30).content)) as hdus:
        assert hdus[1].data.shape == (300, 300)
    preview = requests.get(by_semantics["#preview"].access_url, timeout=30)
    assert preview.headers["content-type"] == "image/png" and preview.content[:8] == b"\x89PNG\r\n\x1a\n"
    soda = links.get_adhocservice_by_id(by_semantics["#cutout"].service_def)
    names = {p.name for p in soda.groups[0].entries} if soda.groups else set()
    assert {"ID", "CIRCLE", "POLYGON", "BAND", "TIME", "POL"} <= names


@pytest.mark.parametrize(
    ("name", "ra", "dec", "radius"),
    [("ukidss_wfcam.fits", 83.633, 22.0145, 0.005), ("magpis_effelsberg.fits", 272.2, -19.85, 0.05),
     ("m13_dss.fits", 250.42, 36.46, 0.02), ("nvas_vla_w51.fits", 290.924, 14.5115, 0.01)],
)  # fmt: skip
def test_soda_cutout_has_the_right_wcs_and_pixels(
    sia_server: LiveServer, image_dir: Path, name: str, ra: float, dec: float, radius: float
) -> None:
    response = requests.get(
        f"{sia_server.root}/sia/soda", params={"ID": _did(name), "CIRCLE": f"{ra} {dec} {radius}"}, timeout=60
    )
    assert response.status_code == 200, response.text
    wcs, (nx, ny), original = _wcs_of(image_dir / name)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", AstropyWarning)
        with fits.open(io.BytesIO(response.content)) as hdus:
            cut = np.asarray(hdus[0].data)
            cut_wcs = WCS(hdus[0].header).celestial
    centre = SkyCoord(ra * u.deg, dec * u.deg)
    cx, cy = cut_wcs.world_to_pixel(centre)
    height, width = cut.shape[-2:]
    assert abs(float(cx) - (width - 1) / 2) <= 1 and abs(float(cy) - (height - 1) / 2) <= 1
    # the cut's first pixel is a pixel of the original: the same values there
    x0, y0 = (round(float(v)) for v in wcs.world_to_pixel(cut_wcs.pixel_to_world(0, 0)))
    region = original[..., y0 : y0 + height, x0 : x0 + width]
    np.testing.assert_array_equal(cut, region.reshape(cut.shape))
    assert width < nx and height < ny


def test_soda_outside_the_image_is_no_overlap(sia_server: LiveServer) -> None:
    response = requests.get(
        f"{sia_server.root}/sia/soda", params={"ID": _did("ukidss_wfcam.fits"), "CIRCLE": "10 10 0.1"}, timeout=30
    )
    assert response.status_code == 400 and response.text.startswith("NoOverlap")


def test_solar_cutout_in_helioprojective_arcseconds(sia_server: LiveServer, image_dir: Path) -> None:
    did = "ivo://vostack.demo/vostack-demo-solar-images?aia_171_level1.fits"
    response = requests.get(f"{sia_server.root}/sia/soda", params={"ID": did, "CIRCLE": "0 0 300"}, timeout=30)
    assert response.status_code == 200, response.text
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", AstropyWarning)
        with fits.open(io.BytesIO(response.content)) as hdus:
            cut_wcs = WCS(hdus[0].header)
            ny, nx = hdus[0].data.shape
    x, y = cut_wcs.world_to_pixel_values(0.0, 0.0)  # degrees: the centre of the disc
    assert abs(float(x) - (nx - 1) / 2) <= 1 and abs(float(y) - (ny - 1) / 2) <= 1
    assert 28 <= nx <= 34  # 600 arcsec at 19.18 arcsec a pixel


def test_the_embargoed_image_is_seen_by_its_group_only(sia_server: LiveServer, auth_state: Path) -> None:
    tokens = project.demo_tokens(auth_state)
    did = _did(images.EMBARGOED)
    anonymous, alice, bob = requests.Session(), requests.Session(), requests.Session()
    alice.headers["Authorization"] = f"Bearer {tokens['alice']}"
    bob.headers["Authorization"] = f"Bearer {tokens['bob']}"
    query = {"ID": did}
    for session, visible in ((anonymous, False), (bob, False), (alice, True)):
        table = parse(io.BytesIO(session.get(f"{sia_server.root}/sia/query", params=query).content)).get_first_table()
        assert (len(table.array) == 1) is visible
        assert (session.get(f"{sia_server.root}/sia/file", params=query).status_code == 200) is visible
        cut = session.get(f"{sia_server.root}/sia/soda", params={**query, "CIRCLE": "189.492 62.206 0.0005"})
        assert (cut.status_code == 200) is visible
        links = parse(io.BytesIO(session.get(f"{sia_server.root}/sia/datalink", params=query).content))
        errors = [str(row["error_message"]) for row in links.get_first_table().array]
        assert any("NotFoundFault" in e for e in errors) is not visible


def _votable_schema() -> etree.XMLSchema:
    """VOTable 1.4 (namespace v1.3), the schema astropy ships: a DataLink 1.1 ``{links}`` document is a VOTable
    (DataLink 1.1 §3.2); the DataLink rules on top are stilts datalinklint's."""
    path = get_pkg_data_filename("data/VOTable.v1.4.xsd", package="astropy.io.votable")
    return etree.XMLSchema(etree.parse(path))


def test_datalink_documents_are_valid_votables_and_datalinklint_is_clean(sia_server: LiveServer) -> None:
    assert shutil.which("stilts"), "stilts validates DataLink documents: apt-get install stilts"
    schema = _votable_schema()
    dids = [_did("m13_dss.fits"), "ivo://vostack.demo/vostack-demo-solar-images?aia_171_level1.fits", _did("none")]
    for ids in ([dids[0]], [dids[1]], dids):
        response = requests.get(f"{sia_server.root}/sia/datalink", params={"ID": ids}, timeout=30)
        assert response.status_code == 200
        assert response.headers["content-type"].startswith("application/x-votable+xml;content=datalink")
        schema.assertValid(etree.fromstring(response.content))
        url = requests.Request("GET", f"{sia_server.root}/sia/datalink", params={"ID": ids}).prepare().url
        done = subprocess.run(
            ["stilts", "datalinklint", f"votable={url}", "report=EWF"],
            capture_output=True, text=True, timeout=300, check=False,
        )  # fmt: skip
        problems = [line for line in done.stdout.splitlines() if line.startswith(("E-", "W-", "F-"))]
        assert done.returncode == 0 and not problems, done.stdout + done.stderr


def _header(path: Path) -> fits.Header:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", AstropyWarning)
        with fits.open(path) as hdus:
            return next(h for h in hdus if h.header.get("NAXIS", 0) >= 2).header.copy()


def test_solar_images_are_epn_tap_granules_as_their_headers_say(live_server: LiveServer, image_dir: Path) -> None:
    with requests.Session() as session:
        tap = pyvo.dal.TAPService(live_server.url, session=session)
        rows = {
            str(row["granule_uid"]): row
            for row in tap.run_sync("SELECT * FROM medoc_demo.epn_core", maxrec=100).to_table()
        }
        goes = rows.pop(images.GOES.removesuffix(".fits"))  # the Sun's X-ray fluxes: a time series granule
        assert (goes["dataproduct_type"], goes["instrument_host_name"]) == ("ts", "GOES 15")
        assert float(goes["spectral_range_min"]) == pytest.approx(299_792_458.0 / 8e-10)  # 1-8 and 0.5-4 Angstrom
        assert set(rows) == {name.removesuffix(".fits") for name in images.SOLAR}
        for name in images.SOLAR:
            row, header = rows[name.removesuffix(".fits")], _header(image_dir / name)
            assert (row["target_name"], row["target_class"], row["dataproduct_type"]) == ("Sun", "star", "im")
            start = Time(header["DATE-OBS"].replace("/", "-"), scale="utc")
            assert abs(float(row["time_min"]) - start.jd) * 86400 < 1
            if "EXPTIME" in header:
                assert abs((float(row["time_max"]) - float(row["time_min"])) * 86400 - header["EXPTIME"]) < 1
            frequency = 299_792_458.0 / (float(header["WAVELNTH"]) * 1e-10)  # Angstrom, the solar convention
            assert float(row["spectral_range_min"]) == pytest.approx(frequency, rel=1e-6)
            assert str(row["instrument_host_name"]) in str(header.get("TELESCOP") or header.get("OBSRVTRY"))
            for column, key, scale in (("target_distance_min", "DSUN_OBS", 1e-3),
                                       ("subobserver_longitude_min", "HGLN_OBS", 1),
                                       ("subobserver_latitude_max", "HGLT_OBS", 1)):  # fmt: skip
                if key in header:
                    assert float(row[column]) == pytest.approx(header[key] * scale, rel=1e-6, abs=1e-9)
                else:
                    assert row[column] is np.ma.masked
            assert session.get(str(row["access_url"]), timeout=30).content == (image_dir / name).read_bytes()
            assert session.get(str(row["thumbnail_url"]), timeout=30).content[:4] == b"\x89PNG"
            links = parse(io.BytesIO(session.get(str(row["datalink_url"]), timeout=30).content), verify="exception")
            assert "#cutout" in {str(s) for s in links.get_first_table().array["semantics"]}
    # STEREO-A, STEREO-B and SDO saw the Sun at the same instant from three places
    longitudes = {n: float(rows[n]["subobserver_longitude_min"]) for n in ("stereo_a_euvi_171", "stereo_b_euvi_171")}
    assert longitudes["stereo_a_euvi_171"] > 60 and longitudes["stereo_b_euvi_171"] < -60


def _goes(path: Path) -> tuple[np.ndarray, np.ndarray]:
    """MJD (UTC) and the two flux channels of the GOES file, read with astropy alone."""
    with fits.open(path) as hdus:
        day, month, year = hdus[0].header["DATE-OBS"].split("/")
        start = Time(f"{year}-{month}-{day}T{hdus[0].header['TIME-OBS']}", scale="utc")
        seconds = np.asarray(hdus["FLUXES"].data["TIME"][0], dtype=float)
        flux = np.asarray(hdus["FLUXES"].data["FLUX"][0], dtype=float)  # (samples, channels)
    return start.mjd + seconds / 86400, flux


def _tess(path: Path) -> tuple[np.ndarray, np.ndarray]:
    """MJD (TDB, barycentric) and the summed stamp of the TESS cutout (TIME is BJD - 2457000)."""
    with fits.open(path) as hdus:
        table = hdus[1].data
        good = np.isfinite(table["TIME"])
        return 2457000 - 2400000.5 + table["TIME"][good], np.nansum(table["FLUX"][good], axis=(1, 2))


def test_light_curves_are_time_series_with_a_timesys_votable_and_a_drawn_preview(
    live_server: LiveServer, image_dir: Path
) -> None:
    root = f"{live_server.root}/sia"
    with requests.Session() as session:
        found = parse(io.BytesIO(session.get(f"{root}/query", params={"DPTYPE": "timeseries"}).content))
        table = found.get_first_table().to_table()
        records = {str(row["obs_id"]): row for row in table}
        assert set(records) == {name.removesuffix(".fits") for name in images.LIGHT_CURVES}
        expected = {images.GOES: _goes(image_dir / images.GOES), images.TESS_FILE: _tess(image_dir / images.TESS_FILE)}
        for name, (mjd, flux) in expected.items():
            record = records[name.removesuffix(".fits")]
            assert int(record["t_xel"]) == len(mjd)
            assert abs(float(record["t_min"]) - mjd.min()) * 86400 < 0.01
            assert abs(float(record["t_max"]) - mjd.max()) * 86400 < 0.01
            did = quote(str(record["obs_publisher_did"]), safe="")
            links = parse(io.BytesIO(session.get(f"{root}/datalink?ID={did}").content), verify="exception")
            by_type = {str(r["content_type"]): str(r["access_url"]) for r in links.get_first_table().array}
            assert "#cutout" not in {str(r["semantics"]) for r in links.get_first_table().array}
            votable = parse(io.BytesIO(session.get(by_type["application/x-votable+xml"]).content), verify="exception")
            (system,) = votable.resources[0].time_systems
            time_field = votable.get_first_table().get_field_by_id_or_name("time")
            assert time_field.ref == system.ID and system.timeorigin == "MJD-origin"
            values = votable.get_first_table().array
            np.testing.assert_allclose(np.asarray(values["time"], dtype=float), mjd, rtol=0, atol=1e-8)
            first = np.asarray(values[values.dtype.names[1]], dtype=float)
            np.testing.assert_allclose(first, flux[:, 0] if flux.ndim == 2 else flux, rtol=1e-6)
            preview = session.get(by_type["image/png"])
            assert preview.headers["content-type"] == "image/png"
            with Image.open(io.BytesIO(preview.content)) as plot:
                pixels = np.asarray(plot.convert("RGB"))
            drawn = np.count_nonzero((pixels[..., 2] > 120) & (pixels[..., 0] < 80))  # the first channel's blue
            assert drawn > pixels.shape[1] // 2  # a line across the plot
            cut = session.get(f"{root}/soda?ID={did}&CIRCLE=0+0+1")
            assert cut.status_code == 400 and cut.text.startswith("UsageError")
        assert (system.timescale, system.refposition) == ("TDB", "BARYCENTER")  # the TESS file's BJD


@pytest.mark.skipif(CHROMIUM is None, reason="Chromium is not installed (scripts/setup.sh test installs it)")
def test_chromium_shows_the_previews_and_the_drawn_light_curves_and_a_cut_downloads(
    live_server: LiveServer, tmp_path: Path
) -> None:
    shot = tmp_path / "page.png"
    page = html.fromstring(render(f"{live_server.root}/sia/", shot, size="1400,1400"))
    cards = page.xpath('//div[@id="products"]/div')
    titles = {str(card.xpath("string(h3)")) for card in cards}
    public = {n for n in (*images.SKY, *images.HST_FILES, images.M13, *images.SOLAR, *images.LIGHT_CURVES)}
    assert titles == {n.removesuffix(".fits") for n in public - {images.EMBARGOED}}  # not the embargoed one
    assert all(card.xpath("img/@src")[0].startswith(f"{live_server.root}/sia/preview?ID=") for card in cards)
    # the light curves come first and are drawn: the GOES plot's blue and red lines are in the screenshot
    with Image.open(shot) as screenshot:
        pixels = np.asarray(screenshot.convert("RGB")).astype(int)
    for colour in ((0x1F, 0x4E, 0x9C), (0xC0, 0x39, 0x2B)):
        assert np.count_nonzero(np.abs(pixels - colour).sum(axis=2) < 40) > 200, f"no line of colour {colour}"
    # the cutout form of M13 downloads a FITS file smaller than the image
    (form,) = page.xpath('//div[h3="m13_dss"]//form')
    fields = {i.get("name"): i.get("value") for i in form.xpath(".//input")}
    cut = requests.get(form.get("action"), params=fields, timeout=60)
    assert cut.status_code == 200 and cut.headers["content-disposition"].startswith("attachment")
    with fits.open(io.BytesIO(cut.content)) as hdus:
        assert 0 < hdus[0].data.size < 300 * 300


UWS = "{http://www.ivoa.net/xml/UWS/v1.0}"
XLINK = "{http://www.w3.org/1999/xlink}"


def _run_job(session: requests.Session, url: str, params: dict[str, str]) -> etree._Element:
    """Create a job at ``url`` with ``params`` and PHASE=RUN, wait for its end; its job document."""
    created = session.post(url, data={**params, "PHASE": "RUN"}, allow_redirects=False, timeout=30)
    assert created.status_code == 303, created.text
    job_url = created.headers["location"]
    for _ in range(60):
        job = etree.fromstring(session.get(job_url, params={"WAIT": "5", "PHASE": "EXECUTING"}, timeout=30).content)
        if job.findtext(f"{UWS}phase") not in ("PENDING", "QUEUED", "EXECUTING"):
            return job
    raise AssertionError("the job did not end")


def test_async_soda_cuts_as_the_sync_one_does_and_reports_no_overlap(sia_server: LiveServer) -> None:
    root = f"{sia_server.root}/sia"
    params = {"ID": _did("m13_dss.fits"), "CIRCLE": "250.42 36.46 0.02"}
    with requests.Session() as session:
        job = _run_job(session, f"{root}/soda/async", params)
        assert job.findtext(f"{UWS}phase") == "COMPLETED"
        (result,) = job.iter(f"{UWS}result")
        assert result.get("id") == "result"
        data = session.get(str(result.get(f"{XLINK}href")), timeout=30).content
        assert data == session.get(f"{root}/soda", params=params, timeout=30).content
        with fits.open(io.BytesIO(data)) as hdus:
            assert 0 < hdus[0].data.size < 300 * 300
        failed = _run_job(session, f"{root}/soda/async", {"ID": _did("m13_dss.fits"), "CIRCLE": "10 10 0.1"})
        assert failed.findtext(f"{UWS}phase") == "ERROR"
        error = session.get(f"{root}/soda/async/{failed.findtext(f'{UWS}jobId')}/error", timeout=30)
        assert error.text.startswith("NoOverlap")
        capabilities = etree.fromstring(session.get(f"{root}/capabilities", timeout=30).content)
        standards = {c.get("standardID") for c in capabilities.iter("capability")}
        assert "ivo://ivoa.net/std/SODA#async-1.0" in standards
