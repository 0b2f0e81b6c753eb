"""Simple Cone Search 1.03 without a database: parameters, columns by verbosity, the ADQL, the error document."""

from __future__ import annotations

import io

import pytest
from astropy.io.votable import parse

from tests.unit.adql.conftest import make_tableset
from vostack.dali import Params
from vostack.errors import ParameterError
from vostack.scs import SCS_FORMATS, ConeColumns, cone_error_document, parse_cone_request


def _cone(**params: str):  # type: ignore[no-untyped-def]
    return parse_cone_request(Params(params.items()), maxrec=100, hardlimit=1000, max_sr=5, formats=SCS_FORMATS)


def test_a_cone_is_typed_with_verb_2_and_the_tabledata_votable_by_default() -> None:
    cone = _cone(ra="360", dec="-90", sr="0")
    assert (cone.ra, cone.dec, cone.sr, cone.verb, cone.maxrec) == (360.0, -90.0, 0.0, 2, 100)
    assert cone.format.mime == "text/xml;content=x-votable" and cone.format.serialization == "tabledata"
    assert _cone(ra="1", dec="2", sr="3", verb="1", maxrec="5000").maxrec == 1000  # capped at the hard limit


@pytest.mark.parametrize(
    ("params", "param"),
    [
        ({"dec": "1", "sr": "1"}, "RA"),
        ({"ra": "1", "dec": "1", "sr": "5.01"}, "SR"),
        ({"ra": "1", "dec": "1", "sr": "inf"}, "SR"),
        ({"ra": "360.001", "dec": "1", "sr": "1"}, "RA"),
        ({"ra": "1", "dec": "-90.001", "sr": "1"}, "DEC"),
        ({"ra": "1", "dec": "1", "sr": "1", "verb": "0"}, "VERB"),
        ({"ra": "1", "dec": "1", "sr": "1", "verb": "two"}, "VERB"),
    ],
)
def test_bad_cones_name_their_parameter(params: dict[str, str], param: str) -> None:
    with pytest.raises(ParameterError) as raised:
        _cone(**params)
    assert raised.value.param == param


def test_other_parameters_are_ignored() -> None:
    assert _cone(ra="1", dec="1", sr="1", catalog="x", verbose="yes").verb == 2


def test_columns_come_from_the_main_ucds_and_the_principal_flags() -> None:
    table = make_tableset().table("hipparcos.main")
    assert table is not None
    columns = ConeColumns.of(table)
    assert [c.name for c in columns.by_verb[1]] == ["hip", "ra", "dec"]
    assert [c.name for c in columns.by_verb[3]] == [c.name for c in table.columns]
    query = columns.query(_cone(ra="10", dec="-20.5", sr="0.25", verb="1"))
    assert query == (
        'SELECT CAST(hip AS VARCHAR) AS hip, ra, dec, DISTANCE(POINT(ra, dec), POINT(10.0, -20.5)) AS "_r" '
        'FROM hipparcos.main WHERE CONTAINS(POINT(ra, dec), CIRCLE(10.0, -20.5, 0.25)) = 1 ORDER BY "_r"'
    )
    with pytest.raises(ValueError, match="no column 'nope'"):
        ConeColumns.of(table, ra="nope")
    with pytest.raises(ValueError, match="must be float or double"):
        ConeColumns.of(table, ra="name")


def test_the_error_document_has_the_scs_error_info_and_the_dali_status() -> None:
    document = parse(io.BytesIO(cone_error_document("DEC=91 is out of range & <odd>")), verify="exception")
    assert [(i.name, i.value) for i in document.infos] == [("Error", "DEC=91 is out of range & <odd>")]
    (status,) = document.resources[0].infos
    assert (status.name, status.value, status.content) == ("QUERY_STATUS", "ERROR", "DEC=91 is out of range & <odd>")
