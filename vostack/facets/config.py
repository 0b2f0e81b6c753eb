"""The ``[facets]`` section of a TOML configuration: a faceted search (JSON API and page) per table.

.. code-block:: toml

    [facets."hipparcos.main"]         # the page at /search/hipparcos.main/, the API at .../api/
    title = "Hipparcos, the New Reduction"
    columns = ["hip", "ra", "dec", "hpmag", "b_v", "plx"]   # the result columns (default: principal ones)
    sort = "hpmag"                    # the default order of the rows (default: the main identifier)
    page_size = 50                    # rows per page (max_rows: the most a request may ask for)
    cache_ttl = 60                    # seconds a selection's counts are kept (0: never); table_ttl: the whole
                                      # table's counts (computed at start), stats_ttl: the bins; 3600 each

    [[facets."hipparcos.main".facet]]
    kind = "categorical"              # or "numeric", "time", "position"
    column = "sn"
    label = "Solution type"           # optional, as are name, top (categorical), bins (numeric, time),
                                      # time_format = "mjd" | "jd" (time on days), order (position)

    [[facets."hipparcos.main".facet]]
    kind = "position"
    column = "ra"                     # longitude or right ascension, degrees
    lat = "dec"
    frame = "icrs"                    # or "body" (planetocentric longitude and latitude)
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from vostack.config import ConfigError, table_values
from vostack.facets.model import Facet, FacetKind
from vostack.facets.search import FacetSearch
from vostack.tap import TAPService

__all__ = ["SearchConfig", "parse_facets_config"]


@dataclass(frozen=True, slots=True)
class SearchConfig:
    """The settings of one table's faceted search."""

    table: str
    facets: tuple[Facet, ...]
    columns: tuple[str, ...] = ()
    sort: str | None = None
    title: str | None = None
    description: str | None = None
    page_size: int = 50
    max_rows: int = 5000
    cache_ttl: float = 60.0
    table_ttl: float = 3600.0
    stats_ttl: float = 3600.0

    def search(self, tap: TAPService) -> FacetSearch:
        """The :class:`FacetSearch` these settings describe, over ``tap``."""
        return FacetSearch(
            tap=tap,
            table=self.table,
            facets=self.facets,
            columns=self.columns,
            sort=self.sort,
            title=self.title,
            description=self.description,
            page_size=self.page_size,
            max_rows=self.max_rows,
            cache_ttl=self.cache_ttl,
            table_ttl=self.table_ttl,
            stats_ttl=self.stats_ttl,
        )


_SEARCH_KEYS: dict[str, tuple[type, ...]] = {
    "title": (str,), "description": (str,), "columns": (list,), "sort": (str,), "page_size": (int,),
    "max_rows": (int,), "cache_ttl": (int, float), "table_ttl": (int, float), "stats_ttl": (int, float),
    "facet": (list,),
}  # fmt: skip
_FACET_KEYS: dict[str, tuple[type, ...]] = {
    "kind": (str,), "column": (str,), "lat": (str,), "name": (str,), "label": (str,), "top": (int,),
    "bins": (int,), "order": (int,), "time_format": (str,), "frame": (str,),
}  # fmt: skip


def _facet(where: str, data: Any) -> Facet:
    if not isinstance(data, dict):
        raise ConfigError(f"{where} must be a table with kind and column")
    options = table_values(where, data, _FACET_KEYS)
    try:
        kind = FacetKind(options.pop("kind", ""))
    except ValueError:
        raise ConfigError(f"{where}: kind must be one of {', '.join(k.value for k in FacetKind)}") from None
    if "column" not in options:
        raise ConfigError(f"{where}: needs a column")
    try:
        return Facet(kind, **options)
    except ValueError as exc:
        raise ConfigError(f"{where}: {exc}") from None


def parse_facets_config(data: Mapping[str, Any]) -> list[SearchConfig]:
    """The faceted searches of the parsed ``[facets]`` table, each checked."""
    searches = []
    for table, settings in data.items():
        where = f'[facets."{table}"]'
        if "." not in table:
            raise ConfigError(f'{where}: name the table with its schema, e.g. [facets."myschema.{table}"]')
        settings = table_values(where, settings, _SEARCH_KEYS)
        facets = tuple(_facet(f"{where} facet number {i}", f) for i, f in enumerate(settings.get("facet", []), 1))
        names = [f.name.lower() for f in facets]
        if not facets or len(set(names)) != len(names):
            raise ConfigError(f'{where}: needs [[facets."{table}".facet]] entries with distinct names')
        columns: Sequence[Any] = settings.get("columns", [])
        if not all(isinstance(c, str) for c in columns):
            raise ConfigError(f"{where}: columns must be a list of column names")
        page_size, max_rows = settings.get("page_size", 50), settings.get("max_rows", 5000)
        if not 1 <= page_size <= max_rows:
            raise ConfigError(f"{where}: need 1 <= page_size <= max_rows")
        searches.append(
            SearchConfig(
                table=table,
                facets=facets,
                columns=tuple(columns),
                sort=settings.get("sort"),
                title=settings.get("title"),
                description=settings.get("description"),
                page_size=page_size,
                max_rows=max_rows,
                cache_ttl=float(settings.get("cache_ttl", 60.0)),
                table_ttl=float(settings.get("table_ttl", 3600.0)),
                stats_ttl=float(settings.get("stats_ttl", 3600.0)),
            )
        )
    return searches
