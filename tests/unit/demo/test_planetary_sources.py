"""The readers of the demo's small bodies and maps, on made-up inputs of the sources' own formats."""

from __future__ import annotations

import io
import json
import zipfile
from pathlib import Path

import numpy as np
from astropy import units
from mocpy import MOC
from PIL import Image, TiffImagePlugin

from vostack.demo import maps, smallbodies
from vostack.demo.spex import LoadReport


def _sbdb(directory: Path, name: str, fields: list[str], rows: list[list[object]]) -> None:
    document = {"signature": {"source": "NASA/JPL SBDB (Small-Body DataBase) Query API", "version": "1.0"},
                "fields": fields, "data": rows, "count": len(rows)}  # fmt: skip
    (directory / name).write_text(json.dumps(document), encoding="utf-8")


ASTEROID_FIELDS = ["full_name", "neo", "H", "G", "diameter", "extent", "albedo", "rot_per", "orbit_id", "epoch_mjd",
                   "e", "a", "q", "i", "om", "w", "ma", "per_y", "moid", "class"]  # fmt: skip
COMET_FIELDS = ["full_name", "epoch.mjd", "q", "e", "i", "w", "om", "tp", "orbit_id", "neo", "M1", "M2", "diameter",
                "extent", "albedo", "rot_per", "per.y", "moid", "H", "G", "class"]  # fmt: skip


def test_asteroids_are_named_as_epn_tap_asks(tmp_path: Path) -> None:
    elements = ["59800", ".1", "2.7", "2.4", "10", "80", "73", "334", "4.6", "1.5"]
    _sbdb(tmp_path, "asteroids.dat", ASTEROID_FIELDS, [
        ["     1 Ceres (A801 AA)", "N", "3.33", "0.12", "939.4", None, "0.090", "9.07", "48", *elements, "MBA"],
        ["       (2022 HK5)", "N", "7.1", None, None, None, None, None, "JPL 3", *elements, "TNO"],
        ["  3200 (1983 TB)", "Y", "14", None, None, None, None, None, "JPL 9", *elements, "APO"],
        ["  9999 Broken (1990 XX)", "N", "14", None, None, None, None, None, "JPL 9", None, *elements[1:], "MBA"],
    ])  # fmt: skip
    report = LoadReport()
    rows = [dict(zip(smallbodies.COLUMNS, r, strict=True)) for r in smallbodies.asteroid_rows(tmp_path, report)]
    assert report.loaded == 3 and report.skipped == {"incomplete orbital elements": 1}
    ceres, provisional, numbered = rows
    assert (ceres["target_name"], ceres["alt_names"], ceres["body_class"]) == (
        "Ceres",
        "1#A801 AA",
        "dwarf_planet#asteroid",
    )
    assert (provisional["target_name"], provisional["alt_names"], provisional["number"]) == ("2022 HK5", None, None)
    assert (numbered["target_name"], numbered["alt_names"], numbered["neo"]) == ("1983 TB", "3200", True)
    assert ceres["diameter"] == 939.4 and ceres["tp_jd"] is None and ceres["epoch_mjd"] == 59800


def test_comets_are_named_by_code_and_designation(tmp_path: Path) -> None:
    def comet(name: str, e: str = "0.5") -> list[object]:
        return [name, 49400, "0.58", e, "162", "111", "58", "2446467.39", "JPL", None, "5.5", None, None, None,
                None, None, 75.3, ".06", None, None, "HTC"]  # fmt: skip

    _sbdb(tmp_path, "comets.dat", COMET_FIELDS, [
        comet("    1P/Halley"), comet("   73P/Schwassmann-Wachmann 3-B"),
        comet("     C/2021 S4 (Tsuchinshan)", "1.0"), comet("     D/1993 F2-P1 (Shoemaker-Levy 9)"), comet("  432P/"),
        comet("     C/-146 P1"), comet("  what is this"),
    ])  # fmt: skip
    report = LoadReport()
    rows = [dict(zip(smallbodies.COLUMNS, r, strict=True)) for r in smallbodies.comet_rows(tmp_path, report)]
    assert report.skipped == {"unreadable designation": 1}
    names = [(r["target_name"], r["alt_names"]) for r in rows]
    assert names == [
        ("1P", "1P/Halley#Halley"), ("73P-B", "73P/Schwassmann-Wachmann 3-B#Schwassmann-Wachmann 3"),
        ("C/2021 S4", "C/2021 S4 (Tsuchinshan)#Tsuchinshan"),
        ("D/1993 F2-P1", "D/1993 F2-P1 (Shoemaker-Levy 9)#Shoemaker-Levy 9"),
        ("432P", "432P/"), ("C/-146 P1", None),
    ]  # fmt: skip
    assert rows[0]["a"] == 0.58 / 0.5 and rows[2]["a"] is None  # an open orbit has no semi-major axis
    assert rows[0]["tp_jd"] == 2446467.39 and rows[0]["body_class"] == "comet"


def _geotiff(width: int, height: int, tie: tuple[float, float], scale: tuple[float, float], sphere: str) -> bytes:
    tags = TiffImagePlugin.ImageFileDirectory_v2()
    tags[33922] = (0.0, 0.0, 0.0, tie[0], tie[1], 0.0)
    tags[33550] = (scale[0], scale[1], 0.0)
    tags[34736] = (3396190.0, 3396190.0, 0.0)
    tags[34737] = f"GCS Name = {sphere}|Datum = x|"
    out = io.BytesIO()
    Image.fromarray(np.zeros((height, width), dtype=np.uint8)).save(out, format="TIFF", tiffinfo=tags)
    return out.getvalue()


def test_a_regional_map_gets_a_polygon_and_a_moc_of_its_footprint(tmp_path: Path) -> None:
    wheel = tmp_path / "maps.whl"
    with zipfile.ZipFile(wheel, "w") as z:
        z.writestr(maps.IMAGES + "region.tif", _geotiff(40, 20, (350.0, 10.0), (0.5, 0.5), "Mars (2015) - Sphere"))
        z.writestr(maps.IMAGES + "global.tif", _geotiff(64, 32, (-180.0, 90.0), (5.625, 5.625), "Mars (2015) - Sphere"))
        z.writestr(maps.IMAGES + "vulcan.tif", _geotiff(64, 32, (-180.0, 90.0), (5.625, 5.625), "Vulcan (2015)"))
    report = LoadReport()
    rows = {r[0]: dict(zip(maps.COLUMNS, r, strict=True)) for r in maps.map_rows(wheel, {"Mars": "planet"}, report)}
    assert report.skipped == {"body of unknown type": 1}
    region, whole = rows["region"], rows["global"]
    assert (region["c1min"], region["c1max"], region["lat_south"], region["lat_north"]) == (350.0, 10.0, 0.0, 10.0)
    assert str(region["footprint"]).startswith("{(350.0d,0.0d),(0.0d,0.0d),(10.0d,0.0d),(10.0d,10.0d)")
    moc = MOC.from_string(region["coverage"], format="ascii")
    area = np.radians(20) * np.sin(np.radians(10)) / (4 * np.pi)  # 20 x 10 degrees from the equator up
    assert area < moc.sky_fraction < 1.4 * area  # with the cells its border crosses
    assert moc.contains_lonlat(lon=[0, 355, 180] * units.deg, lat=[5, 9, 5] * units.deg).tolist() == [True, True, False]
    assert (whole["c1min"], whole["c1max"], whole["footprint"], whole["coverage"]) == (0.0, 360.0, None, "0/0-11")
    assert (whole["radius_km"], whole["width"], whole["kind"]) == (3396.19, 64, "image")
