from __future__ import annotations

import datetime as dt

import pytest

from vostack.dali import (
    OutputFormat,
    Params,
    choose_format,
    format_timestamp,
    parse_float,
    parse_maxrec,
    parse_timestamp,
)
from vostack.errors import ParameterError


def test_parameter_names_are_case_insensitive_and_values_keep_case() -> None:
    params = Params([("query", "SELECT Ra"), ("MaxRec", "5")])
    assert params.get("QUERY") == "SELECT Ra"
    assert params.get("maxrec") == "5"
    assert "Query" in params
    assert "LANG" not in params


@pytest.mark.parametrize(("name", "value"), [("QUERY", "SELECT\x00"), ("RUN\x1fID", "x"), ("LANG", "\ufffe")])
def test_a_parameter_xml_cannot_carry_is_a_parameter_error(name: str, value: str) -> None:
    with pytest.raises(ParameterError, match=r"the character U\+[0-9A-F]{4} is not allowed") as caught:
        Params([("maxrec", "1"), (name, value)])
    assert "\x00" not in caught.value.message and "\x1f" not in caught.value.message


def test_tab_cr_lf_and_astral_characters_are_fine_in_parameters() -> None:
    assert Params([("QUERY", "SELECT\t1\r\n-- \U0001f320")]).get("query") == "SELECT\t1\r\n-- \U0001f320"


def test_repeated_parameters_keep_request_order() -> None:
    params = Params([("UPLOAD", "a,param:a"), ("upload", "b,param:b")])
    assert params.getall("Upload") == ["a,param:a", "b,param:b"]
    assert params.get("UPLOAD") == "a,param:a"


@pytest.mark.parametrize(
    ("raw", "expected"),
    [(None, 100), ("", 100), ("7", 7), (" 0 ", 0), ("5000", 1000)],
)
def test_maxrec_defaults_and_is_capped_by_the_hard_limit(raw: str | None, expected: int) -> None:
    params = Params([] if raw is None else [("MAXREC", raw)])
    assert parse_maxrec(params, default=100, hardlimit=1000) == expected


@pytest.mark.parametrize("raw", ["-1", "lots", "1.5"])
def test_bad_maxrec_is_a_parameter_error_naming_maxrec(raw: str) -> None:
    with pytest.raises(ParameterError) as info:
        parse_maxrec(Params([("MAXREC", raw)]), default=100, hardlimit=1000)
    assert info.value.param == "MAXREC"
    assert "MAXREC" in info.value.message


def test_timestamps_round_trip_in_utc() -> None:
    value = parse_timestamp("2026-11-23T12:34:56.789Z", param="T")
    assert value == dt.datetime(2026, 11, 23, 12, 34, 56, 789000, tzinfo=dt.UTC)
    assert format_timestamp(value) == "2026-11-23T12:34:56.789Z"
    with pytest.raises(ParameterError):
        parse_timestamp("yesterday", param="T")


FORMATS = (
    OutputFormat("application/x-votable+xml", ("votable",), serialization="binary2"),
    OutputFormat("application/x-votable+xml;serialization=TABLEDATA", ("votable/td",), serialization="tabledata"),
)


def test_response_format_matches_mime_or_alias_ignoring_case_and_spaces() -> None:
    td = choose_format(Params([("responseformat", "Application/X-VOTable+XML; serialization=tabledata")]),
                       FORMATS, default=FORMATS[0])  # fmt: skip
    assert td is FORMATS[1]
    assert choose_format(Params([("RESPONSEFORMAT", "votable/td")]), FORMATS, default=FORMATS[0]) is FORMATS[1]
    assert choose_format(Params([]), FORMATS, default=FORMATS[0]) is FORMATS[0]


def test_unknown_response_format_lists_the_offered_ones() -> None:
    with pytest.raises(ParameterError) as info:
        choose_format(Params([("RESPONSEFORMAT", "image/gif")]), FORMATS, default=FORMATS[0])
    assert "votable/td" in info.value.message


def test_a_float_parameter_is_a_finite_number() -> None:
    assert parse_float(" 2.5e3 ", param="X") == 2500.0
    for bad in ("nan", "inf", "two", ""):
        with pytest.raises(ParameterError, match="X: "):
            parse_float(bad, param="X")
