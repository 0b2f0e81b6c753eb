"""The DALI error document and the XML escaping shared by every VOTable."""

from __future__ import annotations

import pytest
from pyvo.dal.exceptions import DALQueryError
from pyvo.dal.query import DALResults

from tests.unit.votable.helpers import read
from vostack.votable import QueryStatus, error_document
from vostack.votable.status import info_element, xml_attr, xml_text


def test_error_document_is_a_results_resource_with_error_status() -> None:
    votable = read(error_document("Unknown table 'foo'"))
    (resource,) = votable.resources
    assert resource.type == "results"
    assert [(i.name, i.value, i.content) for i in resource.infos] == [("QUERY_STATUS", "ERROR", "Unknown table 'foo'")]
    assert resource.tables == []


def test_pyvo_raises_the_error_document_message() -> None:
    message = 'ADQL syntax error at line 1, column 8: "SELEC" <unexpected> & more'
    with pytest.raises(DALQueryError) as caught:
        DALResults(read(error_document(message)))
    assert caught.value.reason == message


def test_error_document_keeps_extra_infos_but_never_a_second_status() -> None:
    doc = error_document(
        "boom",
        infos=[
            ("QUERY", "SELECT * FROM t", None),
            ("QUERY_STATUS", "OK", None),
            ("query_status", "OK", None),
        ],
    )
    resource = read(doc).resources[0]
    assert [(i.name, i.value) for i in resource.infos] == [
        ("QUERY_STATUS", "ERROR"),
        ("QUERY", "SELECT * FROM t"),
    ]


def test_error_message_with_control_characters_stays_well_formed() -> None:
    resource = read(error_document("bad\x00byte\x1b[0m\nsecond line")).resources[0]
    assert resource.infos[0].content == "bad\ufffdbyte\ufffd[0m\nsecond line"


def test_query_status_values_are_the_dali_tokens() -> None:
    assert [s.value for s in QueryStatus] == ["OK", "ERROR", "OVERFLOW"]


@pytest.mark.parametrize(
    ("text", "escaped"),
    [
        ("plain", "plain"),
        ("a<b>&c", "a&lt;b&gt;&amp;c"),
        ("]]>", "]]&gt;"),
        ("quote\"'", "quote\"'"),
        ("cr\r\nlf", "cr&#13;\nlf"),
        ("nul\x00 esc\x1b", "nul\ufffd esc\ufffd"),
        ("lone\ud800", "lone\ufffd"),
    ],
)
def test_xml_text_escapes_markup_and_replaces_forbidden_characters(text: str, escaped: str) -> None:
    assert xml_text(text) == escaped


def test_xml_attr_keeps_whitespace_through_attribute_normalisation() -> None:
    assert xml_attr('a "b"\t\n\r<&>') == "a &quot;b&quot;&#9;&#10;&#13;&lt;&amp;&gt;"


def test_info_element_without_content_is_empty() -> None:
    assert info_element("QUERY_STATUS", "OK") == '<INFO name="QUERY_STATUS" value="OK"/>'
    assert info_element("n", "v", "") == '<INFO name="n" value="v"></INFO>'
