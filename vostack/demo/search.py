"""The demo's faceted searches (:file:`search.toml`): Hipparcos, the SpeX spectra, the planetary collections and
the private project."""

from __future__ import annotations

from pathlib import Path

from vostack.config import read_toml
from vostack.facets import SearchConfig, parse_facets_config

__all__ = ["SEARCH_PATH", "demo_searches"]

SEARCH_PATH = Path(__file__).with_name("search.toml")
"""The ``[facets]`` of the demo, as a site would write them in its TOML file."""


def demo_searches() -> list[SearchConfig]:
    """The demo's faceted searches (those of tables a publication does not have are left out by
    :func:`vostack.publish.add_searches`)."""
    return parse_facets_config(read_toml(SEARCH_PATH)["facets"])
