"""The facet API of one published table, an ASGI app a portal mounts with ``Mount("/facets/hip", facets)``.

Endpoints below the mount point, all ``GET``, all JSON (``application/json``):

``/``
    What the search offers: the table, its facets (name, kind, label, column, unit), the result columns
    with their units and UCDs, the sortable columns and the page size.
``/facets?<selection>``
    The counts of every facet under the filters of the other facets, the selection's row count
    (``total``), its ADQL (``adql``) and the parameters that reproduce it (``params``).  Each facet has
    ``selected`` (its own filter's parameter values) and, by kind: ``values`` (``value``, ``count``,
    ``param``; ``distinct`` values in all and the ``other`` rows beyond those shown), ``bins``
    (``low``/``high`` or ``start``/``end``, ``count``, ``param``; ``null`` rows without a value), or a
    HEALPix map (``order``, ``cells``, ``counts``, and the cells' centres ``lon``, ``lat``).
``/rows?<selection>[&limit=n]``
    A page of the selection's rows: ``fields`` (name, datatype, unit, UCD, ...), ``rows``, ``offset``,
    ``more`` (whether rows follow) and the ``adql``.

A selection is URL parameters named after the facets (:mod:`vostack.facets.model`), plus ``offset``,
``sort`` and ``desc``; a ``param`` value of the answers is what to add to select that value or bin.
Errors are ``{"error": message}`` with the status of the error (400 for a bad parameter, 401/403 for a
table the caller may not read, 503 while starting).
"""

from __future__ import annotations

import json
from typing import Any

from starlette.middleware.gzip import GZipMiddleware
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route, Router
from starlette.types import ASGIApp, Receive, Scope, Send

from vostack import db, web
from vostack.errors import ParameterError, VOError
from vostack.facets.model import Selection, parse_selection
from vostack.facets.search import FacetSearch, Rows, json_value

__all__ = ["JSON", "FacetService", "rows_json"]

JSON = "application/json"


def _json_error(request: Request, exc: VOError) -> tuple[bytes, str]:
    return json.dumps({"error": exc.message}).encode(), JSON


def _dumps(document: Any) -> bytes:
    return json.dumps(document, separators=(",", ":"), allow_nan=False).encode()


def rows_json(rows: Rows) -> dict[str, Any]:
    """A page of rows as the API answers it."""
    return {
        "fields": [
            {
                "name": f.name,
                "datatype": f.datatype,
                "arraysize": f.arraysize,
                "xtype": f.xtype,
                "unit": f.unit,
                "ucd": f.ucd,
                "description": f.description,
            }
            for f in rows.fields
        ],
        "rows": [[json_value(v) for v in row] for row in rows.rows],
        "offset": rows.offset,
        "more": rows.more,
        "adql": rows.adql,
    }


class FacetService:
    """The JSON facet API of a :class:`~vostack.facets.search.FacetSearch` (see the module docstring).

    ``FacetService(search=FacetSearch(tap=tap, table="hipparcos.main", facets=[...]))``; start it after the
    TAP service (``Site(services=[tap, facets])``).
    """

    def __init__(self, *, search: FacetSearch) -> None:
        self.search = search
        self.limits = web.RequestLimits.of(search.tap.settings)
        router = Router(
            routes=[
                Route("/", self._describe, methods=["GET"]),
                Route("/facets", self._facets, methods=["GET"]),
                Route("/rows", self._rows, methods=["GET"]),
            ]
        )
        app: ASGIApp = web.ErrorDocuments(router, service="facets", document=_json_error)
        self._app = GZipMiddleware(app, minimum_size=1024, compresslevel=1)

    @property
    def table(self) -> str:
        """The qualified name of the table searched."""
        return self.search.table

    async def start(self, pool: db.Pool) -> None:
        """Check the table and its facets (the TAP service must have started)."""
        await self.search.start(pool)

    async def stop(self) -> None:
        """Stop answering (503)."""
        await self.search.stop()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        await self._app(scope, receive, send)

    async def selection(self, request: Request) -> Selection:
        """The selection a request asks for (its parameters checked against the caller's facets)."""
        params = await web.request_params(request, self.limits)
        view = await self.search.view(web.identity(request))
        return parse_selection(params, view.facets, sortable=self.search.sortable(view))

    async def _describe(self, request: Request) -> Response:
        search = self.search
        view = await search.view(web.identity(request))
        columns = []
        for name in view.columns:
            column = view.table.column(name)
            assert column is not None
            columns.append(
                {
                    "name": column.name,
                    "datatype": column.datatype,
                    "unit": column.unit,
                    "ucd": column.ucd,
                    "description": column.description,
                }
            )
        document = {
            "table": search.table,
            "title": search.title,
            "description": search.description,
            "facets": [
                {"name": f.name, "kind": f.kind.value, "label": f.label, "columns": list(f.columns), "frame": f.frame}
                for f in view.facets
            ],
            "columns": columns,
            "sortable": list(search.sortable(view)),
            "page_size": search.page_size,
            "max_rows": search.max_rows,
        }
        return Response(_dumps(document), media_type=JSON)

    async def _facets(self, request: Request) -> Response:
        """The counts of every facet under the other facets' filters."""
        selection = await self.selection(request)
        return Response(_dumps(await self.search.counts(web.identity(request), selection)), media_type=JSON)

    async def _rows(self, request: Request) -> Response:
        """A page of the selection's rows."""
        selection = await self.selection(request)
        raw = request.query_params.get("limit")
        try:
            limit = int(raw) if raw else None
        except ValueError:
            raise ParameterError(f"limit: {raw!r} is not a number of rows", param="limit") from None
        if limit is not None and limit < 1:
            raise ParameterError("limit must be at least 1", param="limit")
        rows = await self.search.rows(web.identity(request), selection, limit=limit)
        return Response(_dumps(rows_json(rows)), media_type=JSON)
