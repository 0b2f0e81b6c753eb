"""The [facets] section of a TOML file."""

from __future__ import annotations

import tomllib
from pathlib import Path

import pytest

from vostack.config import ConfigError, parse_config
from vostack.facets import FacetKind, parse_facets_config
from vostack.publish import load_publication

GOOD = """
[tables."cat.main".columns.mag]
unit = "mag"

[facets."cat.main"]
title = "The catalogue"
columns = ["id", "mag"]
sort = "mag"
page_size = 20
table_ttl = 0

[[facets."cat.main".facet]]
kind = "categorical"
column = "kind"
top = 5

[[facets."cat.main".facet]]
kind = "time"
column = "t"
time_format = "mjd"

[[facets."cat.main".facet]]
kind = "position"
column = "lon"
lat = "lat"
frame = "body"
"""


def test_searches_are_read_with_their_facets() -> None:
    (search,) = parse_facets_config(tomllib.loads(GOOD)["facets"])
    assert search.table == "cat.main" and search.columns == ("id", "mag") and search.page_size == 20
    assert [f.kind for f in search.facets] == [FacetKind.CATEGORICAL, FacetKind.TIME, FacetKind.POSITION]
    assert search.facets[0].top == 5 and search.facets[1].time_format == "mjd"
    assert search.facets[2].name == "position" and search.facets[2].frame == "body"
    assert search.table_ttl == 0 and search.cache_ttl == 60


def test_the_publishing_config_accepts_the_section() -> None:
    parse_config(tomllib.loads(GOOD))


def test_a_toml_file_publishes_the_search(tmp_path: Path) -> None:
    path = tmp_path / "site.toml"
    path.write_text(GOOD + "\n[coverage]\nenabled = false\n")
    publication = load_publication(path)
    assert list(publication.facets) == ["cat.main"]
    assert publication.facets["cat.main"] in publication.services
    assert publication.services.index(publication.facets["cat.main"]) > publication.services.index(publication.tap)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ('[facets.main]\n[[facets.main.facet]]\nkind = "numeric"\ncolumn = "x"', "schema"),
        ('[facets."a.b"]\ncolumns = ["x"]', "facet"),
        ('[facets."a.b"]\n[[facets."a.b".facet]]\nkind = "pie"\ncolumn = "x"', "kind"),
        ('[facets."a.b"]\n[[facets."a.b".facet]]\nkind = "numeric"', "column"),
        ('[facets."a.b"]\n[[facets."a.b".facet]]\nkind = "numeric"\ncolumn = "x"\ncolour = 1', "unknown"),
        ('[facets."a.b"]\n[[facets."a.b".facet]]\nkind = "position"\ncolumn = "x"', "latitude"),
        ('[facets."a.b"]\npage_size = 0\n[[facets."a.b".facet]]\nkind = "numeric"\ncolumn = "x"', "page_size"),
        ('[facets."a.b"]\n[[facets."a.b".facet]]\nkind = "numeric"\ncolumn = "x"\n'
         '[[facets."a.b".facet]]\nkind = "numeric"\ncolumn = "x"', "distinct"),
    ],
)  # fmt: skip
def test_mistakes_are_named(text: str, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        parse_facets_config(tomllib.loads(text)["facets"])
