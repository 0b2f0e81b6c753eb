from __future__ import annotations

import pytest
from lxml import etree

from vostack.config import ConfigError, Example
from vostack.schema import Column, Schema, Table, TableSet
from vostack.tap.examples import check_examples, examples_document

TABLESET = TableSet(
    schemas=(Schema("cat", (Table("cat.stars", "cat", (Column("ra", "double"), Column("mag", "float"))),)),)
)


def test_an_example_that_does_not_translate_stops_the_service() -> None:
    with pytest.raises(ConfigError, match=r"'Broken'.*nowhere\.t"):
        check_examples([Example("Broken", "SELECT * FROM nowhere.t")], TABLESET)


def test_examples_get_unique_fragments_and_their_tables() -> None:
    examples = [
        Example("Bright <stars> & co", "SELECT ra FROM cat.stars WHERE mag < 3"),
        Example("Bright stars", "SELECT mag FROM cat.stars"),
    ]
    checked = check_examples(examples, TABLESET)
    assert [c.fragment for c in checked] == ["bright-stars-co", "bright-stars"]
    assert checked[0].tables == ("cat.stars",)
    root = etree.fromstring(examples_document(checked, title="T & T"))
    texts = [e.text for e in root.iter() if e.get("property") in ("name", "query")]
    assert texts == [
        "Bright <stars> & co",
        "SELECT ra FROM cat.stars WHERE mag < 3",
        "Bright stars",
        "SELECT mag FROM cat.stars",
    ]
