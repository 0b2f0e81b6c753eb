"""SSA 1.1, DataLink 1.1 and ObsCore 1.1 on the live demo, checked with pyvo, astropy and independent computations."""

from __future__ import annotations

import gzip
import io
import urllib.error
import urllib.parse
import urllib.request
import warnings
import zipfile
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import pyvo
from astropy import units
from astropy.coordinates import SkyCoord
from astropy.io import fits
from astropy.io.votable import parse
from astropy.time import Time
from lxml import etree

from tests.catalogues import spex_catalogue
from tests.interop.conftest import LiveServer
from tests.schemata import validator
from vostack.ssa import SSA_FIELDS

pytestmark = [pytest.mark.postgres, pytest.mark.interop]


def _ssa(live_url: str) -> str:
    return live_url.removesuffix("/tap") + "/ssa/"


def _get(url: str) -> tuple[int, bytes, str]:
    try:
        with urllib.request.urlopen(url, timeout=60) as response:
            return response.status, response.read(), response.headers.get("Content-Type", "")
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read(), exc.headers.get("Content-Type", "")


def _votable(data: bytes) -> Any:
    return parse(io.BytesIO(data), verify="exception")


@pytest.fixture(scope="module")
def catalogue(spex_wheel: Path) -> list[dict[str, Any]]:
    """The SpeX metadata computed from the CSV files of the wheel, independently of vostack."""
    return spex_catalogue(spex_wheel)


def _coverage(wheel: Path, member: str) -> tuple[float, float, float]:
    """(shortest, longest wavelength in metres, exposure in days) read with astropy from the file."""
    with zipfile.ZipFile(wheel) as archive, warnings.catch_warnings():
        warnings.simplefilter("ignore")
        raw = archive.read(member)
        with fits.open(io.BytesIO(gzip.decompress(raw) if raw[:2] == b"\x1f\x8b" else raw)) as hdus:
            data = np.asarray(hdus[0].data, dtype=float)
            header = hdus[0].header
            exposure = float(header.get("ITOT") or header.get("ITIME") or 0.0) / 86400
    data = data[0] if data.ndim == 3 else data
    wave = (data.T if data.shape[0] > data.shape[1] else data)[0]
    wave = wave[np.isfinite(wave) & (wave > 0)]
    return float(wave.min()) * 1e-6, float(wave.max()) * 1e-6, exposure


def _cone(catalogue: list[dict[str, Any]], ra: float, dec: float, diameter: float) -> list[dict[str, Any]]:
    coords = SkyCoord([r["ra"] for r in catalogue] * units.deg, [r["dec"] for r in catalogue] * units.deg)
    separation = coords.separation(SkyCoord(ra * units.deg, dec * units.deg)).deg
    return [r for r, sep in zip(catalogue, separation, strict=True) if sep <= diameter / 2]


def _busiest_field(catalogue: list[dict[str, Any]]) -> tuple[float, float]:
    """The position of a target with several spectra, so that the cone finds a handful."""
    counts: dict[tuple[float, float], int] = {}
    for r in catalogue:
        counts[(r["ra"], r["dec"])] = counts.get((r["ra"], r["dec"]), 0) + 1
    return max(counts, key=lambda k: counts[k])


def test_pyvo_cone_band_time_search_returns_the_predicted_spectra(
    live_url: str, catalogue: list[dict[str, Any]], spex_wheel: Path
) -> None:
    ra, dec = 201.0, 5.0
    diameter = 30.0
    band = (1.0e-6, 1.2e-6) * units.m
    window = Time(["2003-01-01T00:00:00", "2012-01-01T00:00:00"], format="isot")
    start, stop = window[0], window[1]
    expected = set()
    for row in _cone(catalogue, ra, dec, diameter):
        low, high, exposure = _coverage(spex_wheel, row["member"])
        band_ok = high >= band[0].value and low <= band[1].value
        time_ok = row["mjd"] + exposure >= start.mjd and row["mjd"] <= stop.mjd
        if band_ok and time_ok:
            expected.add(row["pubdid"])
    assert 5 < len(expected) < 500, "the test needs a cone with a fair number of spectra"
    service = pyvo.dal.SSAService(_ssa(live_url))
    results = service.search(pos=(ra, dec), diameter=diameter, band=band, time=window, format="native")
    found = [str(r["publisher_did"]) for r in results]
    assert sorted(found) == sorted(expected)
    assert {r.format for r in results} == {"application/fits"}


def test_a_search_without_format_offers_the_file_and_the_spectrum_votable(
    live_url: str, catalogue: list[dict[str, Any]]
) -> None:
    ra, dec = _busiest_field(catalogue)
    expected = {r["pubdid"] for r in _cone(catalogue, ra, dec, 0.01)}
    results = pyvo.dal.SSAService(_ssa(live_url)).search(pos=(ra, dec), diameter=0.01)
    by_format: dict[str, set[str]] = {}
    for record in results:
        by_format.setdefault(record.format, set()).add(str(record["publisher_did"]))
    assert by_format == {"application/fits": expected, "application/x-votable+xml": expected}


def test_getdataurl_serves_fits_votable_preview_and_datalink(live_url: str, catalogue: list[dict[str, Any]]) -> None:
    ra, dec = _busiest_field(catalogue)
    service = pyvo.dal.SSAService(_ssa(live_url))
    results = service.search(pos=(ra, dec), diameter=0.01, format="all,graphic")
    kinds: dict[str, Any] = {}
    for record in results:
        kinds.setdefault(record.format, record)
    assert set(kinds) == {"application/fits", "application/x-votable+xml", "image/svg+xml"}

    status, data, _ = _get(kinds["application/fits"].getdataurl())
    assert status == 200
    with fits.open(io.BytesIO(data)) as hdus:
        assert hdus[0].data.ndim >= 2

    status, data, _ = _get(kinds["application/x-votable+xml"].getdataurl())
    assert status == 200
    table = _votable(data).get_first_table()
    utypes = {f.utype for f in table.fields}
    assert {"spec:Spectrum.Data.SpectralAxis.Value", "spec:Spectrum.Data.FluxAxis.Value"} <= utypes
    spectral = table.get_field_by_id_or_name("spectral")
    assert spectral.unit == units.um and len(table.array) > 100
    assert float(np.min(table.array["spectral"])) > 0.6 and float(np.max(table.array["spectral"])) < 2.7

    status, data, content_type = _get(kinds["image/svg+xml"].getdataurl())
    assert status == 200 and content_type.startswith("image/svg+xml")
    assert etree.fromstring(data).tag == "{http://www.w3.org/2000/svg}svg"


def test_datalink_lists_file_preview_and_votable_for_each_product(live_url: str) -> None:
    results = pyvo.dal.SSAService(_ssa(live_url)).search(pos=(84.966621, -0.98383337), diameter=0.01, format="native")
    assert len(results) >= 1
    links = list(results.iter_datalinks())
    assert len(links) == len(results)
    for datalink in links:
        semantics = sorted(str(row["semantics"]) for row in datalink)
        assert semantics == ["#preview", "#this", "#this"]
        for row in datalink:
            status, data, _ = _get(str(row["access_url"]))
            assert status == 200 and data


def test_datalink_reports_an_unknown_id_in_its_row(live_url: str) -> None:
    query = urllib.parse.urlencode({"ID": "ivo://vostack.demo/spex?nothing"})
    status, data, content_type = _get(_ssa(live_url) + "datalink?" + query)
    assert status == 200 and "content=datalink" in content_type
    rows = _votable(data).get_first_table().array
    assert len(rows) == 1 and str(rows["error_message"][0]).startswith("NotFoundFault")


def test_format_metadata_describes_every_input_and_output(live_url: str) -> None:
    status, data, _ = _get(_ssa(live_url) + "?REQUEST=queryData&FORMAT=metadata")
    assert status == 200
    document = _votable(data)
    resource = document.resources[0]
    inputs = {p.name for p in resource.params}
    assert {f"INPUT:{n}" for n in ("POS", "SIZE", "BAND", "TIME", "FORMAT", "TARGETNAME", "PUBDID", "MAXREC")} <= inputs
    table = document.get_first_table()
    required = {f.utype for f in SSA_FIELDS if f.required}
    assert required <= {f.utype for f in table.fields}
    assert len(table.array) == 0


def test_every_record_carries_the_ssa_utypes_ucds_and_required_values(live_url: str) -> None:
    status, data, _ = _get(_ssa(live_url) + "?REQUEST=queryData&POS=201,5&SIZE=20&MAXREC=200")
    assert status == 200
    table = _votable(data).get_first_table()
    catalogue = {f.utype: f for f in SSA_FIELDS}
    for field in table.fields:
        spec = catalogue[field.utype]
        assert field.ucd == spec.ucd, field.name
        assert (str(field.unit) if field.unit is not None else None) == (
            str(units.Unit(spec.unit)) if spec.unit else None
        ), field.name
    required = [f for f in table.fields if catalogue[f.utype].required]
    assert {f.utype for f in required} == {f.utype for f in SSA_FIELDS if f.required}
    assert len(table.array) > 0
    for row in table.array:
        for field in required:
            if field.utype in ("ssa:Char.FluxAxis.Unit", "ssa:Char.TimeAxis.Coverage.Bounds.Extent"):
                continue  # a few files state no flux unit or exposure time: null says "unknown"
            assert not np.ma.is_masked(row[field.ID]), (field.utype, row)


def test_tap_on_obscore_returns_the_same_products_as_ssa(live_server: LiveServer) -> None:
    live_server.claim_views()  # the test order must not matter (see claim_views)
    live_url = live_server.url
    ra, dec, diameter = 201.0, 5.0, 30.0
    ssa = pyvo.dal.SSAService(_ssa(live_url)).search(pos=(ra, dec), diameter=diameter, format="native")
    tap = pyvo.dal.TAPService(live_url).run_sync(
        "SELECT obs_publisher_did, dataproduct_type, access_url FROM ivoa.obscore "
        f"WHERE CONTAINS(POINT('ICRS', s_ra, s_dec), CIRCLE('ICRS', {ra}, {dec}, {diameter / 2})) = 1"
    )
    assert len(ssa) > 5
    assert sorted(str(r["obs_publisher_did"]) for r in tap) == sorted(str(r["publisher_did"]) for r in ssa)
    assert {str(r["dataproduct_type"]) for r in tap} == {"spectrum"}
    status, data, _ = _get(str(tap[0]["access_url"]))
    assert status == 200 and _votable(data).get_first_table().array["semantics"][0]


@pytest.mark.parametrize(
    "query",
    [
        "POS=abc",
        "POS=10,95",
        "POS=10,5;MARS",
        "SIZE=-1&POS=1,2",
        "BAND=2e-6/1e-6",
        "TIME=yesterday",
        "REQUEST=nope",
        "TARGETNAME=a%00b",
    ],
)
def test_bad_values_give_the_ssa_error_document(live_url: str, query: str) -> None:
    status, data, _ = _get(_ssa(live_url) + "?" + query)
    assert status == 400
    infos = {i.name: i.value for i in _votable(data).resources[0].infos}
    assert infos["QUERY_STATUS"] == "ERROR"


def test_the_service_answers_without_the_trailing_slash_and_by_post(live_url: str) -> None:
    base = _ssa(live_url).rstrip("/")
    results = pyvo.dal.SSAService(base).search(pos=(84.966621, -0.98383337), diameter=0.01, format="native")
    found = {str(r["publisher_did"]) for r in results}
    assert "ivo://vostack.demo/spex?10001" in found
    body = urllib.parse.urlencode({"POS": "84.966621,-0.98383337", "SIZE": "0.01", "FORMAT": "native"}).encode()
    with urllib.request.urlopen(urllib.request.Request(base + "/", data=body), timeout=60) as response:
        assert {str(p) for p in _votable(response.read()).get_first_table().array["publisher_did"]} == found


def test_unsupported_optional_parameters_are_ignored(live_url: str) -> None:
    status, data, _ = _get(_ssa(live_url) + "?POS=84.966621,-0.98383337&SIZE=0.01&TIMERES=3&COMPRESS=true&FOO=1")
    assert status == 200 and len(_votable(data).get_first_table().array) >= 1


def test_maxrec_and_top_cut_the_result_with_overflow(live_url: str) -> None:
    status, data, _ = _get(_ssa(live_url) + "?FORMAT=native&MAXREC=7")
    table = _votable(data)
    assert status == 200 and len(table.get_first_table().array) == 7
    assert [i.value for i in table.resources[0].infos if i.name == "QUERY_STATUS"][-1] == "OVERFLOW"
    status, data, _ = _get(_ssa(live_url) + "?FORMAT=native&TOP=3")
    assert len(_votable(data).get_first_table().array) == 3


def test_targetname_snr_and_pubdid_select_records(live_url: str) -> None:
    pubdid = "ivo://vostack.demo/spex?10001"
    status, data, _ = _get(_ssa(live_url) + "?FORMAT=native&PUBDID=" + urllib.parse.quote(pubdid))
    rows = _votable(data).get_first_table().array
    assert [str(r) for r in rows["publisher_did"]] == [pubdid]
    name = str(rows["target_name"][0])
    status, data, _ = _get(_ssa(live_url) + "?FORMAT=native&TARGETNAME=" + urllib.parse.quote(name.upper()))
    assert status == 200
    assert pubdid in {str(r) for r in _votable(data).get_first_table().array["publisher_did"]}
    _, data, _ = _get(_ssa(live_url) + "?FORMAT=native&SNR=200&MAXREC=5000")
    snr = _votable(data).get_first_table().array["snr"]
    assert len(snr) > 0 and float(np.min(snr)) >= 200
    _, data, _ = _get(_ssa(live_url) + "?FORMAT=native&COLLECTION=other")
    assert len(_votable(data).get_first_table().array) == 0


def test_capabilities_declare_ssa_and_validate(live_url: str) -> None:
    status, data, _ = _get(_ssa(live_url) + "capabilities")
    assert status == 200
    validator("VOSICapabilities.xsd")(data)
    root = etree.fromstring(data)
    assert "ivo://ivoa.net/std/SSA" in {c.get("standardID") for c in root.iter("capability")}
