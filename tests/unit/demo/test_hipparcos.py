"""The Hipparcos demo catalogue: the real hip2.dat parsed, and its publishing metadata."""

from __future__ import annotations

import math
import re
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from astropy import units as u
from astropy.io.votable.ucd import check_ucd

from vostack.config import load_config
from vostack.demo import hipparcos
from vostack.demo.hipparcos import COLUMNS, DDL, METADATA_PATH, RECORD_LENGTH, count_rows, iter_rows

N_STARS = 117_955  # I/311 ReadMe, File Summary: hip2.dat, 117955 records
FIRST_LINE = (
    "     1   5 0 1  0.0000159148  0.0190068680    4.55    -4.55    -1.19   1.29   0.66   1.33   1.25"
    "   0.75  90  0.91  0    0.0    0  9.2043 0.0020 0.017 0  0.482 0.025  0.550   1.19  -0.71   1.00"
    "  -0.02   0.02   1.00   0.45  -0.05   0.03   1.09  -0.41   0.09   0.08  -0.60   1.00"
)

FIRST_UW = [1.19, -0.71, 1.00, -0.02, 0.02, 1.00, 0.45, -0.05, 0.03, 1.09, -0.41, 0.09, 0.08, -0.60, 1.00]


@dataclass
class Summary:
    """What one pass over the whole catalogue found."""

    rows: int = 0
    widths: set[int] = field(default_factory=set)
    uw_lengths: set[int] = field(default_factory=set)
    hips: set[int] = field(default_factory=set)
    nulls: int = 0
    ra: tuple[float, float] = (math.inf, -math.inf)
    dec: tuple[float, float] = (math.inf, -math.inf)
    stars: dict[int, dict[str, Any]] = field(default_factory=dict)


@pytest.fixture(scope="module")
def catalogue() -> Summary:
    summary = Summary()
    ra_index, dec_index = COLUMNS.index("ra"), COLUMNS.index("dec")
    for row in iter_rows():
        summary.rows += 1
        summary.widths.add(len(row))
        uw = row[-1]
        assert isinstance(uw, list)
        summary.uw_lengths.add(len(uw))
        hip = row[0]
        assert isinstance(hip, int)
        summary.hips.add(hip)
        summary.nulls += sum(value is None for value in row) + sum(value is None for value in uw)
        ra, dec = row[ra_index], row[dec_index]
        assert isinstance(ra, float)
        assert isinstance(dec, float)
        summary.ra = (min(summary.ra[0], ra), max(summary.ra[1], ra))
        summary.dec = (min(summary.dec[0], dec), max(summary.dec[1], dec))
        if hip in (1, 32349):
            summary.stars[hip] = dict(zip(COLUMNS, row, strict=True))
    return summary


@pytest.fixture(scope="module")
def metadata() -> dict[str, Any]:
    with METADATA_PATH.open("rb") as handle:
        return tomllib.load(handle)


def _columns_metadata(metadata: dict[str, Any]) -> dict[str, dict[str, Any]]:
    columns: dict[str, dict[str, Any]] = metadata["tables"][hipparcos.TABLE]["columns"]
    return columns


def test_whole_catalogue_parses_to_one_row_per_star(catalogue: Summary) -> None:
    assert catalogue.rows == N_STARS
    assert len(catalogue.hips) == N_STARS  # hip is a primary key
    assert catalogue.widths == {len(COLUMNS)}
    assert catalogue.uw_lengths == {15}
    assert catalogue.nulls == 0  # the published file has no blank field


def test_count_rows_estimates_the_number_of_records() -> None:
    assert count_rows() == N_STARS


def test_positions_are_degrees_within_the_sphere(catalogue: Summary) -> None:
    assert catalogue.ra[0] >= 0
    assert catalogue.ra[1] < 360
    assert catalogue.dec[0] >= -90
    assert catalogue.dec[1] <= 90
    assert catalogue.ra[1] > 359  # radians were converted: 2 pi would be about 6.28
    assert catalogue.dec[0] < -89


def test_first_record_matches_the_first_line_of_the_file(catalogue: Summary) -> None:
    with hipparcos.default_path().open() as lines:
        assert lines.readline().rstrip("\n") == FIRST_LINE
    star = catalogue.stars[1]
    assert star["ra"] == pytest.approx(math.degrees(0.0000159148), rel=1e-12)
    assert star["ra"] == pytest.approx(0.000911850872, rel=1e-9)
    assert star["dec"] == pytest.approx(math.degrees(0.0190068680), rel=1e-12)
    assert {k: v for k, v in star.items() if k not in ("ra", "dec")} == {
        "hip": 1,
        "sn": 5,
        "so": 0,
        "nc": 1,
        "plx": 4.55,
        "pmra": -4.55,
        "pmde": -1.19,
        "e_ra": 1.29,
        "e_dec": 0.66,
        "e_plx": 1.33,
        "e_pmra": 1.25,
        "e_pmde": 0.75,
        "ntr": 90,
        "f2": 0.91,
        "f1": 0,
        "var": 0.0,
        "ic": 0,
        "hpmag": 9.2043,
        "e_hpmag": 0.0020,
        "shp": 0.017,
        "va": 0,
        "b_v": 0.482,
        "e_b_v": 0.025,
        "v_i": 0.550,
        "uw": FIRST_UW,
    }


def test_sirius_has_its_known_astrometry_and_photometry(catalogue: Summary) -> None:
    sirius = catalogue.stars[32349]
    assert sirius["ra"] == pytest.approx(101.28854, abs=1e-5)  # 06h45m09.25s
    assert sirius["dec"] == pytest.approx(-16.71314, abs=1e-5)  # -16d42m47.3s
    assert sirius["plx"] == 379.21
    assert sirius["pmra"] == -546.01
    assert sirius["pmde"] == -1223.07
    assert sirius["hpmag"] == -1.0876
    assert sirius["b_v"] == 0.009
    assert sirius["ntr"] == 47


def _write(tmp_path: Path, *lines: str) -> Path:
    path = tmp_path / "hip2.dat"
    path.write_text("".join(line + "\n" for line in lines), encoding="ascii")
    return path


def _with(line: str, first: int, last: int, text: str) -> str:
    """``line`` with bytes ``first``-``last`` (1-based, as in the ReadMe) replaced by ``text``."""
    assert len(text) == last - first + 1
    return line[: first - 1] + text + line[last:]


def test_blank_field_becomes_none(tmp_path: Path) -> None:
    line = _with(_with(FIRST_LINE, 153, 158, " " * 6), 172, 178, " " * 7)  # B-V and UW1
    (row,) = iter_rows(_write(tmp_path, line))
    values = dict(zip(COLUMNS, row, strict=True))
    assert values["b_v"] is None
    assert values["uw"] == [None, *FIRST_UW[1:]]
    assert values["e_b_v"] == 0.025


def test_unparsable_field_names_file_line_and_column(tmp_path: Path) -> None:
    path = _write(tmp_path, FIRST_LINE, _with(FIRST_LINE, 44, 50, "   4.x5"))
    with pytest.raises(ValueError, match=r"hip2\.dat:2: plx is not a number"):
        list(iter_rows(path))


def test_record_of_wrong_length_is_refused(tmp_path: Path) -> None:
    path = _write(tmp_path, FIRST_LINE[:-1])
    with pytest.raises(ValueError, match=rf"hip2\.dat:1: .* {RECORD_LENGTH} characters, not 275"):
        list(iter_rows(path))


def test_ddl_declares_the_columns_in_copy_order() -> None:
    body = DDL[DDL.index("CREATE TABLE") :]
    declared = re.findall(r"^    ([a-z_0-9]+) ", body, flags=re.MULTILINE)
    assert tuple(declared) == COLUMNS
    assert "hip integer PRIMARY KEY" in DDL
    assert "uw real[]" in DDL


def test_column_names_are_lower_case_regular_identifiers() -> None:
    for name in COLUMNS:
        assert re.fullmatch(r"[a-z][a-z0-9_]*", name), name


def test_metadata_loads_as_the_demo_publishing_config() -> None:
    config = load_config(METADATA_PATH)
    table = config.tables[hipparcos.TABLE]
    assert tuple(table.columns) == COLUMNS
    assert table.columns["plx"].unit == "mas"
    assert config.schemas["hipparcos"]


def test_metadata_describes_service_schema_and_table(metadata: dict[str, Any]) -> None:
    assert metadata["service"]["title"]
    assert metadata["service"]["description"]
    assert metadata["schemas"]["hipparcos"]["description"]
    description = metadata["tables"][hipparcos.TABLE]["description"]
    for needed in ("van Leeuwen", "I/311", "ICRS", "J1991.25", "474, 653"):
        assert needed in description


def test_metadata_documents_every_column_and_no_other(metadata: dict[str, Any]) -> None:
    columns = _columns_metadata(metadata)
    assert set(columns) == set(COLUMNS)
    for name in COLUMNS:
        assert columns[name]["description"].strip(), name
        assert columns[name]["ucd"], name
        assert set(columns[name]) <= {
            "description",
            "unit",
            "ucd",
            "utype",
            "principal",
            "indexed",
            "std",
            "arraysize",
        }


def test_metadata_ucds_are_in_the_ucd1p_vocabulary(metadata: dict[str, Any]) -> None:
    for name, column in _columns_metadata(metadata).items():
        assert check_ucd(column["ucd"], check_controlled_vocabulary=True, has_colon=False), name


def test_metadata_units_are_vounits(metadata: dict[str, Any]) -> None:
    units = {name: column.get("unit") for name, column in _columns_metadata(metadata).items()}
    for unit in units.values():
        if unit is not None:
            u.Unit(unit, format="vounit")  # raises ValueError when not a VOUnit
    assert units["ra"] == units["dec"] == "deg"
    assert units["plx"] == units["e_ra"] == units["var"] == "mas"
    assert units["pmra"] == units["e_pmde"] == "mas/yr"
    assert units["hpmag"] == units["v_i"] == "mag"
    assert units["uw"] is None


def test_principal_columns_are_the_first_ones_users_want(metadata: dict[str, Any]) -> None:
    principal = {name for name, column in _columns_metadata(metadata).items() if column.get("principal")}
    assert principal == {"hip", "ra", "dec", "plx", "pmra", "pmde", "hpmag", "b_v"}
    columns = _columns_metadata(metadata)
    assert columns["hip"]["ucd"] == "meta.id;meta.main"
    assert columns["ra"]["ucd"] == "pos.eq.ra;meta.main"
    assert columns["dec"]["ucd"] == "pos.eq.dec;meta.main"
