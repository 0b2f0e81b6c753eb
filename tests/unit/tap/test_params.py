from __future__ import annotations

import pytest

from vostack.dali import Params
from vostack.errors import ParameterError
from vostack.tap import VOTABLE_FORMATS, parse_tap_request


def _parse(**params: str) -> object:
    return parse_tap_request(Params(params.items()), formats=VOTABLE_FORMATS, maxrec=100, hardlimit=1000)


def test_a_minimal_query_defaults_to_binary2_votable_and_the_default_maxrec() -> None:
    request = parse_tap_request(
        Params([("lang", "adql"), ("query", "SELECT 1 FROM t.t")]), formats=VOTABLE_FORMATS, maxrec=100,
        hardlimit=1000,
    )  # fmt: skip
    assert request.lang == "ADQL"
    assert request.maxrec == 100
    assert request.format.serialization == "binary2"


@pytest.mark.parametrize("lang", ["ADQL", "ADQL-2.0", "adql-2.1"])
def test_adql_versions_are_accepted(lang: str) -> None:
    _parse(LANG=lang, QUERY="SELECT 1 FROM t.t")


@pytest.mark.parametrize(
    ("params", "param"),
    [
        ({"QUERY": "SELECT 1 FROM t.t"}, "LANG"),
        ({"LANG": "PQL", "QUERY": "SELECT 1 FROM t.t"}, "LANG"),
        ({"LANG": "ADQL"}, "QUERY"),
        ({"LANG": "ADQL", "QUERY": "  "}, "QUERY"),
        ({"LANG": "ADQL", "QUERY": "x", "REQUEST": "getCapabilities"}, "REQUEST"),
        ({"LANG": "ADQL", "QUERY": "x", "MAXREC": "-3"}, "MAXREC"),
        ({"LANG": "ADQL", "QUERY": "x", "RESPONSEFORMAT": "text/plain"}, "RESPONSEFORMAT"),
        ({"LANG": "ADQL", "QUERY": "x", "UPLOAD": "t"}, "UPLOAD"),
    ],
)
def test_bad_parameters_name_the_parameter(params: dict[str, str], param: str) -> None:
    with pytest.raises(ParameterError) as info:
        _parse(**params)
    assert info.value.param == param
    assert info.value.http_status == 400
