"""Faceted search over published tables: counts per value, histograms, date histograms and HEALPix density
maps, each under the filters of the other facets, as a JSON API (:class:`FacetService`) over the TAP
service's translator, roles and read pool."""

from __future__ import annotations

from vostack.facets.config import SearchConfig, parse_facets_config
from vostack.facets.model import Cell, Cone, Facet, FacetKind, Range, Selection, Values, parse_selection
from vostack.facets.search import FacetSearch, Rows
from vostack.facets.service import FacetService

__all__ = [
    "Cell",
    "Cone",
    "Facet",
    "FacetKind",
    "FacetSearch",
    "FacetService",
    "Range",
    "Rows",
    "SearchConfig",
    "Selection",
    "Values",
    "parse_facets_config",
    "parse_selection",
]
