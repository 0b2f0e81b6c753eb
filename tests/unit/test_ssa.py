"""SSA 1.1 without a database: parameters, the mapping check, SQL building, products and the ObsCore view DDL."""

from __future__ import annotations

import io
import math

import pytest
from astropy import units
from astropy.io.votable import parse
from lxml import etree

from vostack.dali import Params
from vostack.db import quote_literal as sql_literal
from vostack.demo.spex import MAPPING
from vostack.errors import ParameterError
from vostack.ssa import SSA_FIELDS, MappingError, Spectrum, SSAMapping, obscore_view_sql, preview_svg, spectrum_votable
from vostack.ssa.params import Range, parse_range_list, parse_ssa_request
from vostack.ssa.query import build_query, kinds_for


def _request(**params: str):  # type: ignore[no-untyped-def]
    return parse_ssa_request(Params(params.items()), maxrec=100, hardlimit=1000, default_size=0.1)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("1e-6/2e-6", (Range(1e-6, 2e-6),)),
        ("/2e-6", (Range(None, 2e-6),)),
        ("1e-6/", (Range(1e-6, None),)),
        ("1.5e-6", (Range(1.5e-6, 1.5e-6),)),
        ("1e-6/2e-6,3e-6/;source", (Range(1e-6, 2e-6), Range(3e-6, None))),
        ("", ()),
    ],
)
def test_range_lists_parse_values_open_ranges_and_lists(text: str, expected: tuple[Range, ...]) -> None:
    assert parse_range_list(text, "BAND") == expected


@pytest.mark.parametrize("text", ["2e-6/1e-6", "abc", "1e-6,,2e-6", "nan"])
def test_bad_range_lists_are_parameter_errors(text: str) -> None:
    with pytest.raises(ParameterError) as info:
        parse_range_list(text, "BAND")
    assert info.value.param == "BAND"


def test_time_ranges_become_mjd() -> None:
    (time,) = _request(TIME="2000-01-01T00:00:00Z/2000-01-02").time
    assert time.low == pytest.approx(51544.0) and time.high == pytest.approx(51545.0)


def test_pos_frames_are_converted_to_icrs() -> None:
    request = _request(POS="96.33728,-60.18855;GALACTIC", SIZE="1")
    assert request.ra == pytest.approx(0.0, abs=1e-3) or request.ra == pytest.approx(360.0, abs=1e-3)
    assert request.dec == pytest.approx(0.0, abs=1e-3)
    assert _request(POS="10,20").size == 0.1  # the default diameter


@pytest.mark.parametrize(
    ("params", "name"),
    [
        ({"POS": "10"}, "POS"),
        ({"POS": "10,100"}, "POS"),
        ({"POS": "10,10;MARS"}, "POS"),
        ({"POS": "10,10", "SIZE": "0"}, "SIZE"),
        ({"TOP": "0"}, "TOP"),
        ({"FORMAT": "nonsense"}, "FORMAT"),
        ({"RESPONSEFORMAT": "csv"}, "RESPONSEFORMAT"),
        ({"SNR": "many"}, "SNR"),
    ],
)
def test_bad_values_name_their_parameter(params: dict[str, str], name: str) -> None:
    with pytest.raises(ParameterError) as info:
        _request(**params)
    assert info.value.param == name


def test_format_keywords_choose_the_product_variants() -> None:
    assert kinds_for(_request(), "application/fits") == ("native", "compliant")
    assert kinds_for(_request(FORMAT="fits"), "application/fits") == ("native",)
    assert kinds_for(_request(FORMAT="application/x-votable+xml"), "application/fits") == ("compliant",)
    assert kinds_for(_request(FORMAT="graphic,native"), "application/fits") == ("graphic", "native")
    assert kinds_for(_request(FORMAT="image/jpeg"), "application/fits") == ()
    assert _request(FORMAT="METADATA").metadata


def test_the_sql_has_bind_parameters_not_the_values() -> None:
    request = _request(POS="10,20", SIZE="2", BAND="1e-6/", TARGETNAME="x'; DROP TABLE y; --", PUBDID="a,b")
    query = build_query(MAPPING, request, limit=11)
    assert "DROP" not in query.sql and "1e-06" not in query.sql
    assert "x';droptabley;--" in query.args  # compared without case and blanks
    assert query.args[:3] == (10.0, 20.0, 1.0) and query.args[-1] == 11
    assert ["a", "b"] in query.args
    assert 'spoint(radians("ra"), radians("dec")) <@ scircle(' in query.sql


def test_an_unknown_collection_or_creator_did_matches_nothing() -> None:
    assert "FALSE" in build_query(MAPPING, _request(COLLECTION="other"), limit=1).sql
    assert "FALSE" not in build_query(MAPPING, _request(COLLECTION="spex prism library"), limit=1).sql
    assert "FALSE" in build_query(MAPPING, _request(CREATORDID="ivo://x"), limit=1).sql


def test_a_mapping_missing_required_values_lists_them_all_in_one_error() -> None:
    mapping = SSAMapping(table="s.t", columns={"ra": "ra", "dec": "dec", "title": "t"}, constants={"ra": 1})
    with pytest.raises(MappingError) as info:
        mapping.check()
    message = info.value.message
    for key in ("publisher", "em_min", "t_max", "product", "publisher_did", "flux_unit", "obs_id"):
        assert key in message
    assert "both as column and constant: ra" in message and "collection is empty" in message


def test_the_demo_mapping_provides_every_required_field() -> None:
    MAPPING.check()
    provided = set(MAPPING.columns) | set(MAPPING.constants)
    computed = {"location", "spectral_location", "spectral_extent", "access_reference", "access_format"}
    assert {f.key for f in SSA_FIELDS if f.required} <= provided | computed


def test_the_obscore_view_quotes_constants() -> None:
    assert sql_literal("it's") == "'it''s'" and sql_literal(2) == "2" and sql_literal(None) == "NULL"
    sql = obscore_view_sql(MAPPING, datalink_url="http://h/ssa/datalink")
    assert "'http://h/ssa/datalink?ID=' ||" in sql and "'spectrum'::text AS \"dataproduct_type\"" in sql
    assert "'vostack demonstration data centre'" not in sql  # ObsCore has no publisher column


def test_the_spectrum_votable_has_the_spectrum_data_model_utypes() -> None:
    spectrum = Spectrum([1.0, 1.1, 1.2], [3.0, math.nan, 5.0], [0.1, 0.2, 0.3], flux_unit="W.m**-2.um**-1")
    table = parse(io.BytesIO(spectrum_votable(spectrum)), verify="exception").get_first_table()
    assert [f.utype for f in table.fields] == [
        "spec:Spectrum.Data.SpectralAxis.Value",
        "spec:Spectrum.Data.FluxAxis.Value",
        "spec:Spectrum.Data.FluxAxis.Accuracy.StatError",
    ]
    assert table.array["flux"].mask.tolist() == [False, True, False]
    assert table.fields[1].unit == units.Unit("W m-2 um-1")


def test_the_preview_is_an_svg_line_plot() -> None:
    svg = etree.fromstring(preview_svg(Spectrum([1.0, 2.0, 3.0], [1.0, 4.0, 2.0]), title="a <b>"))
    polyline = svg.find("{http://www.w3.org/2000/svg}polyline")
    assert polyline is not None and len(polyline.get("points", "").split()) == 3
