"""The search page of one collection, built on its facet API: an ASGI app a portal mounts per table.

``Mount("/search/hipparcos.main", SearchPage(facets=FacetService(...), assets=assets))`` serves:

* ``/`` the page: the facets with their counts (values as links, histograms as bars, the positions as a
  density map), the matching rows with their units, page by page and sortable, downloads in every output
  format of the TAP service, the ADQL of the selection with a link that opens it in the TAP query form,
  and, with JavaScript, a sky view (the bundled Aladin Lite) or a planetary map (footprints over the
  body's map), a plot of any two columns, and sending the rows to TOPCAT over SAMP when a hub runs.
  Everything but the pictures works without JavaScript: every state of the search is a URL, its
  parameters those of the facet API;
* ``/api/`` the facet API itself (:class:`vostack.facets.FacetService`).

With JavaScript a click fetches the page's middle part (``view=fragment``) and swaps it in place.
"""

from __future__ import annotations

import base64
import datetime as dt
import html
import json
import math
import urllib.parse
from collections.abc import Mapping, Sequence
from typing import Any

from starlette.middleware.gzip import GZipMiddleware
from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response
from starlette.routing import Mount, Route, Router
from starlette.types import ASGIApp, Receive, Scope, Send

from vostack import web
from vostack.errors import ParameterError, VOError
from vostack.facets import FacetService, Selection, parse_selection
from vostack.facets.model import Facet, FacetKind
from vostack.facets.search import Rows
from vostack.pages.assets import Assets
from vostack.pages.density import WIDTH, cell_at, density_png
from vostack.pages.layout import Navigation, cell_text, document, href
from vostack.schema import Field
from vostack.votable.jsondoc import geometry_source

__all__ = ["SearchPage"]

_LABELS = {
    "votable": "VOTable",
    "votable/td": "VOTable (TABLEDATA)",
    "votable/b": "VOTable (BINARY)",
    "votable/b2": "VOTable (BINARY2)",
    "csv": "CSV",
    "tsv": "TSV",
    "json": "JSON",
    "fits": "FITS",
    "parquet": "Parquet",
    "geojson": "GeoJSON",
}


def _html_error(request: Request, exc: VOError) -> tuple[bytes, str]:
    page = f"<!DOCTYPE html><html lang='en'><meta charset='utf-8'><title>Error</title><p>{html.escape(exc.message)}</p>"
    return page.encode(), "text/html; charset=utf-8"


class SearchPage:
    """The search page of ``facets``' table (see the module docstring).

    Parameters
    ----------
    facets
        The facet API of the table (a service of the site, started after TAP); the page mounts it at ``/api``.
    assets
        The static files (mounted by the portal at ``assets_url``).
    tap_url
        Where the TAP service is mounted (downloads, the query form, SAMP).
    maps
        Planetary maps by body name (``target_name``): URLs of equirectangular images, planetocentric east
        longitude 0° at the left edge to 360° at the right, latitude +90° at the top; for body-frame
        positions.
    nav
        Links in the page header: (label, URL), or a :class:`~vostack.pages.layout.Navigation` that shows the
        links to tables' search pages only to callers who may read them.
    """

    def __init__(
        self,
        *,
        facets: FacetService,
        assets: Assets,
        assets_url: str = "/static",
        tap_url: str = "/tap",
        maps: Mapping[str, str] | None = None,
        nav: Navigation | Sequence[tuple[str, str]] = (),
    ) -> None:
        self.facets = facets
        self.assets = assets
        self.assets_url = assets_url
        self.tap_url = tap_url.rstrip("/")
        self.maps = dict(maps or {})
        self.nav = Navigation.of(nav)
        router = Router(routes=[Route("/", self._page, methods=["GET", "HEAD"]), Mount("/api", app=facets)])
        app: ASGIApp = web.ErrorDocuments(router, service="search page", document=_html_error)
        self._app = GZipMiddleware(app, minimum_size=1024, compresslevel=1)

    @property
    def table(self) -> str:
        """The table searched."""
        return self.facets.table

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        await self._app(scope, receive, send)

    async def _page(self, request: Request) -> Response:
        search = self.facets.search
        caller = web.identity(request)
        base = web.mount_url(request)
        params = await web.request_params(request, self.facets.limits)
        view = await search.view(caller)
        canonical = _from_form(params, view.facets)
        if canonical is not None:  # the no-JavaScript forms: low/high, lon/lat/radius, into one parameter
            return RedirectResponse(href(base, canonical).replace("&amp;", "&"), status_code=303)
        error = None
        try:
            selection = parse_selection(params, view.facets, sortable=search.sortable(view))
        except ParameterError as exc:
            selection, error = Selection(), exc.message
        counts = await search.counts(caller, selection)
        rows = await search.rows(caller, selection)
        origin = f"{request.url.scheme}://{request.url.netloc}"
        tap = self.tap_url if "://" in self.tap_url else origin + self.tap_url
        middle = _fragment(
            base=base,
            facets=view.facets,
            selection=selection,
            counts=counts,
            rows=rows,
            sortable=search.sortable(view),
            page_size=search.page_size,
            tap=tap,
            formats=[a for f in self.facets.search.tap.formats for a in f.aliases[:1]],
            hardlimit=search.tap.settings.hardlimit,
            error=error,
        )
        if (params.get("view") or "") == "fragment":
            return HTMLResponse(middle)
        return HTMLResponse(self._document(base, tap, view.facets, middle, self.nav.links_for(caller)))

    def _document(
        self, base: str, tap: str, facets: Sequence[Facet], middle: str, nav: Sequence[tuple[str, str]]
    ) -> str:
        search = self.facets.search
        e = html.escape
        assets = self.assets
        position = next((f for f in facets if f.kind is FacetKind.POSITION), None)
        aladin = assets.url(self.assets_url, "vendor/aladin-lite/aladin.js") if assets.aladin else ""
        data = {
            "api": f"{base}/api",
            "tap": tap,
            "frame": position.frame if position is not None else None,
            "lon": position.column if position is not None else None,
            "lat": position.lat if position is not None else None,
            "aladin": aladin,
            "maps": self.maps,
            "max_rows": search.max_rows,
        }
        pictures = []
        if position is not None and position.frame == "icrs":
            pictures.append(("sky", "Sky"))
        if position is not None and position.frame == "body":
            pictures.append(("planet", "Map"))
        pictures.append(("plot", "Plot"))
        tabs = "".join(f'<button type="button" role="tab" data-tab="{key}">{label}</button>' for key, label in pictures)
        panels = "".join(f'<div class="panel" id="panel-{key}" hidden></div>' for key, _ in pictures)
        body = f"""<main id="search" data-config="{e(json.dumps(data))}">
<h1>{e(search.title)}</h1>
<p class="about">{e(search.description or "")}</p>
<div id="fragment">{middle}</div>
<section id="pictures"><h2>Pictures</h2>
<noscript><p>The sky view, the map and the plots need JavaScript; everything else on this page works without.</p>
</noscript><div class="tabs" role="tablist" hidden>{tabs}</div>{panels}</section>
</main>"""
        return document(
            title=search.title,
            body=body,
            css=assets.url(self.assets_url, "vostack.css"),
            scripts=[assets.url(self.assets_url, "search.js")],
            nav=nav,
        )


def _from_form(params: Any, facets: Sequence[Facet]) -> list[tuple[str, str]] | None:
    """The canonical parameters of a no-JavaScript form (``x.low``/``x.high``; ``position.lon``/``.lat``/
    ``.radius``), or ``None`` when the request has none."""
    found = False
    out: list[tuple[str, str]] = []
    for facet in facets:
        low, high = params.get(f"{facet.name}.low"), params.get(f"{facet.name}.high")
        lon, lat, radius = (params.get(f"{facet.name}.{k}") for k in ("lon", "lat", "radius"))
        x, y = params.get(f"{facet.name}.click.x"), params.get(f"{facet.name}.click.y")
        if x is not None and y is not None and facet.kind is FacetKind.POSITION:
            found = True
            try:
                order = facet.order if facet.order is not None else int(params.get(f"{facet.name}.order") or "")
                cell = cell_at(order, float(x), float(y), sky=facet.frame == "icrs")
            except ValueError:
                raise ParameterError(f"{facet.name}: a click on the map needs x, y and the map's order",
                                     param=facet.name) from None  # fmt: skip
            out.append((facet.name, f"cell:{order}:{cell}"))
        elif low is not None or high is not None:
            found = True
            if (low or "").strip() or (high or "").strip():
                out.append((facet.name, f"{(low or '').strip()}..{(high or '').strip()}"))
        elif lon is not None or lat is not None or radius is not None:
            found = True
            if all((v or "").strip() for v in (lon, lat, radius)):
                out.append((facet.name, f"cone:{(lon or '').strip()},{(lat or '').strip()},{(radius or '').strip()}"))
    if not found:
        return None
    names = {f.name.upper(): f.name for f in facets if f.name not in {k for k, _ in out}}
    names |= {"SORT": "sort", "DESC": "desc", "VIEW": "view"}
    kept = [(names[k], v) for k, v in params if k in names]
    return [*kept, *out]


def _fragment(
    *,
    base: str,
    facets: Sequence[Facet],
    selection: Selection,
    counts: dict[str, Any],
    rows: Rows,
    sortable: Sequence[str],
    page_size: int,
    tap: str,
    formats: Sequence[str],
    hardlimit: int,
    error: str | None,
) -> str:
    """The part of the page a click changes: summary, facets, rows, downloads, ADQL and the state as JSON."""
    e = html.escape
    current = selection.params()
    total = int(counts["total"])
    chips = "".join(
        f'<a class="chip" data-nav href="{href(base, [p for p in current if p != (name, value)])}" '
        f'title="remove this filter">{e(name)} = {e(value)} &#215;</a>'
        for name, value in current
        if name not in ("sort", "desc", "offset")
    )
    clear = f' <a data-nav href="{href(base, [])}">clear all</a>' if chips else ""
    problem = f'<p class="error" id="error">{e(error)}</p>' if error else ""
    summary = f'<p id="summary"><strong id="total">{total:,}</strong> rows match. {chips}{clear}</p>{problem}'
    widgets = "".join(_facet_widget(base, f, current) for f in counts["facets"])
    state = {
        "params": current,
        "total": total,
        "adql": counts["adql"],
    }
    # JSON inside <script>: "</" must not close the element
    state_json = json.dumps(state, separators=(",", ":")).replace("</", "<\\/")
    return f"""{summary}
<div class="layout"><aside id="facets">{widgets}</aside>
<section id="results">{_actions(counts["adql"], rows.fields, tap, formats, total, hardlimit)}
{_table(base, rows, current, sortable, selection)}{_pager(base, rows, current, page_size, total)}</section></div>
<script type="application/json" id="state">{state_json}</script>"""


def _toggle(current: list[tuple[str, str]], name: str, value: str) -> list[tuple[str, str]]:
    kept = [p for p in current if p[0] != "offset"]
    if (name, value) in kept:
        return [p for p in kept if p != (name, value)]
    return [*kept, (name, value)]


def _replace(current: list[tuple[str, str]], name: str, value: str | None) -> list[tuple[str, str]]:
    kept = [p for p in current if p[0] not in (name, "offset")]
    return kept if value is None else [*kept, (name, value)]


def _facet_widget(base: str, facet: dict[str, Any], current: list[tuple[str, str]]) -> str:
    e = html.escape
    name = facet["name"]
    # the unit of a numeric facet's bins; a time facet's are dates, a position's degrees on the map
    unit = f" <small>[{e(facet['unit'])}]</small>" if facet.get("unit") and facet["kind"] == "numeric" else ""
    title = f' title="{e(facet["description"])}"' if facet.get("description") else ""
    clear = (
        f' <a class="clear" data-nav href="{href(base, _replace(current, name, None))}">clear</a>'
        if facet["selected"]
        else ""
    )
    head = f"<h3{title}>{e(facet['label'])}{unit}{clear}</h3>"
    if facet["kind"] == "categorical":
        return f'<section class="facet" data-facet="{e(name)}">{head}{_values(base, facet, current)}</section>'
    if facet["kind"] == "position":
        return f'<section class="facet" data-facet="{e(name)}">{head}{_position(base, facet, current)}</section>'
    return f'<section class="facet" data-facet="{e(name)}">{head}{_histogram(base, facet, current)}</section>'


def _values(base: str, facet: dict[str, Any], current: list[tuple[str, str]]) -> str:
    e = html.escape
    items = []
    for value in facet["values"]:
        shown = "(no value)" if value["value"] is None else str(value["value"])
        count = f'<span class="count">{value["count"]:,}</span>'
        if value["param"] is None:
            items.append(f'<li class="none">{e(shown)} {count}</li>')
            continue
        on = value["param"] in facet["selected"]
        link = href(base, _toggle(current, facet["name"], value["param"]))
        items.append(
            f'<li><a data-nav href="{link}" class="{"on" if on else ""}" data-value="{e(value["param"])}">'
            f'<span class="box">{"☑" if on else "☐"}</span> {e(shown)}</a> {count}</li>'
        )
    more = ""
    if facet["distinct"] > len(facet["values"]):
        rest = facet["distinct"] - len(facet["values"])
        more = f'<li class="more">and {rest:,} more values ({facet["other"]:,} rows)</li>'
    return f"<ul>{''.join(items)}{more}</ul>"


def _bin_label(item: dict[str, Any], kind: str) -> str:
    if kind == "time":
        if item["start"] is None:
            return f"before {item['end'][:19]}"
        if item["end"] is None:
            return f"{item['start'][:19]} and later"
        return f"{item['start'][:19]} to {item['end'][:19]}"
    low, high = item["low"], item["high"]
    if low is None:
        return f"below {high:g}"
    if high is None:
        return f"{low:g} and above"
    return f"{low:g} to {high:g}"


def _histogram(base: str, facet: dict[str, Any], current: list[tuple[str, str]]) -> str:
    """Bars as links (SVG), the bins' range under them, and a form for any range."""
    e = html.escape
    bins = facet["bins"]
    if not bins:
        return "<p>no values</p>"
    peak = max(item["count"] for item in bins) or 1
    selected = facet["selected"][0] if facet["selected"] else None
    bars = []
    for i, item in enumerate(bins):
        height = 0 if not item["count"] else max(2.0, 100.0 * item["count"] / peak)
        on = selected is not None and _inside(item, selected, facet["kind"])
        link = href(base, _replace(current, facet["name"], item["param"]))
        label = f"{_bin_label(item, facet['kind'])}: {item['count']:,}"
        bars.append(
            f'<a data-nav href="{link}"><rect class="{"on" if on else ""}" x="{i}" y="{100 - height:.2f}" '
            f'width="0.88" height="{height:.2f}" data-param="{e(item["param"])}"><title>{e(label)}</title></rect></a>'
        )
    first, last = bins[0], bins[-1]
    if facet["kind"] == "time":
        start = "…" if first["start"] is None else first["start"][:10]
        end = "…" if last["end"] is None else last["end"][:10]
    else:
        start = "…" if first["low"] is None else f"{first['low']:g}"
        end = "…" if last["high"] is None else f"{last['high']:g}"
    low, _, high = (selected or "..").partition("..")
    keep = "".join(
        f'<input type="hidden" name="{e(k)}" value="{e(v)}">' for k, v in current if k not in (facet["name"], "offset")
    )
    kind = "date" if facet["kind"] == "time" else "text"
    step = f" by {facet['unit_of_time']}" if facet["kind"] == "time" and facet.get("unit_of_time") else ""
    null = f'<p class="null">{facet["null"]:,} rows without a value</p>' if facet.get("null") else ""
    return (
        f'<svg class="histogram" viewBox="0 0 {len(bins)} 100" preserveAspectRatio="none" role="img" '
        f'aria-label="histogram of {e(facet["label"])}">{"".join(bars)}</svg>'
        f'<div class="axis"><span>{e(start)}</span><span>{e(step)}</span><span>{e(end)}</span></div>{null}'
        f'<form class="range" data-nav method="get" action="{e(base)}/">{keep}'
        f'<input type="{kind}" name="{e(facet["name"])}.low" value="{e(low[:10] if kind == "date" else low)}" '
        f'aria-label="from" placeholder="from"> &#8211; <input type="{kind}" name="{e(facet["name"])}.high" '
        f'value="{e(high[:10] if kind == "date" else high)}" aria-label="to" placeholder="to">'
        f' <button type="submit">Apply</button></form>'
    )


def _inside(item: dict[str, Any], selected: str, kind: str) -> bool:
    """Whether the bin lies within the selected range (compared as the texts of the parameters allow)."""
    low, _, high = selected.partition("..")
    if kind == "time":
        try:
            start = dt.datetime.min if item["start"] is None else dt.datetime.fromisoformat(item["start"])
            end = dt.datetime.max if item["end"] is None else dt.datetime.fromisoformat(item["end"])
            return (not low or start >= dt.datetime.fromisoformat(low)) and (
                not high or end <= dt.datetime.fromisoformat(high)
            )
        except ValueError:
            return False
    try:
        lo = float(low) if low else -math.inf
        hi = float(high) if high else math.inf
    except ValueError:
        return False
    b_lo = -math.inf if item["low"] is None else float(item["low"])
    b_hi = math.inf if item["high"] is None else float(item["high"])
    return b_lo >= lo and b_hi <= hi


def _position(base: str, facet: dict[str, Any], current: list[tuple[str, str]]) -> str:
    """The density map as an image button (a click selects the cell under it, with or without JavaScript),
    and a form for a cone."""
    e = html.escape
    selected = facet["selected"][0] if facet["selected"] else ""
    sky = facet["frame"] == "icrs"
    what = (
        "the sky, right ascension increasing to the left from 180° at the left edge"
        if sky
        else "the body, east longitude from -180° at the left edge"
    )
    image = base64.b64encode(density_png(facet["order"], facet["cells"], facet["counts"], sky=sky)).decode()
    keep = "".join(
        f'<input type="hidden" name="{e(k)}" value="{e(v)}">' for k, v in current if k not in (facet["name"], "offset")
    )
    lon = lat = radius = ""
    if selected.startswith("cone:"):
        lon, lat, radius = [*selected[5:].split(","), "", "", ""][:3]
    name = e(facet["name"])
    return (
        f'<form class="density" data-nav method="get" action="{e(base)}/">{keep}'
        f'<input type="hidden" name="{name}.order" value="{facet["order"]}">'
        f'<input type="image" name="{name}.click" class="density-map" width="{WIDTH}" height="{WIDTH // 2}" '
        f'src="data:image/png;base64,{image}" alt="density map of the positions: click a cell to select it" '
        f'title="click a cell to select it"></form>'
        f'<p class="note">{sum(facet["counts"]):,} positions in {len(facet["cells"]):,} HEALPix cells of order '
        f"{facet['order']}, on {what}.{' Selected: ' + e(selected) if selected else ''}</p>"
        f'<form class="range" data-nav method="get" action="{e(base)}/">{keep}'
        f'<input name="{name}.lon" size="7" placeholder="lon °" aria-label="longitude" value="{e(lon)}">'
        f'<input name="{name}.lat" size="7" placeholder="lat °" aria-label="latitude" value="{e(lat)}">'
        f'<input name="{name}.radius" size="5" placeholder="r °" aria-label="radius" value="{e(radius)}">'
        f' <button type="submit">Cone</button></form>'
    )


def _sync_url(tap: str, adql: str, fmt: str, maxrec: int) -> str:
    params = {"REQUEST": "doQuery", "LANG": "ADQL", "QUERY": adql, "RESPONSEFORMAT": fmt, "MAXREC": str(maxrec)}
    return f"{tap}/sync?{urllib.parse.urlencode(params)}"


def _actions(adql: str, fields: Sequence[Field], tap: str, formats: Sequence[str], total: int, hardlimit: int) -> str:
    """Downloads in every format, the ADQL, the TAP form, SAMP."""
    e = html.escape
    maxrec = max(1, min(total, hardlimit))
    offered = [f for f in formats if f != "geojson" or geometry_source(fields) is not None]
    links = " ".join(
        f'<a class="download" data-format="{e(fmt)}" href="{e(_sync_url(tap, adql, fmt, maxrec))}">'
        f"{e(_LABELS.get(fmt, fmt))}</a>"
        for fmt in offered
    )
    capped = f" (the first {hardlimit:,})" if total > hardlimit else ""
    form = f"{tap}/?{urllib.parse.urlencode({'QUERY': adql})}"
    votable = _sync_url(tap, adql, "votable", maxrec)
    return f"""<div class="actions">
<p class="downloads">Download the {total:,} rows{capped}: {links}</p>
<details id="adql"><summary>Show me the ADQL</summary><pre>{e(adql)}</pre>
<p><a id="tap-form" href="{e(form)}">Open it in the TAP query form</a> · or paste it into TOPCAT, pyvo, astroquery
(TAP service <code>{e(tap)}</code>)</p></details>
<p class="samp"><button type="button" id="samp" data-url="{e(votable)}" hidden>Send to TOPCAT (SAMP)</button>
<span id="samp-status"></span></p></div>"""


def _table(base: str, rows: Rows, current: list[tuple[str, str]], sortable: Sequence[str], selection: Selection) -> str:
    e = html.escape
    heads = []
    sortable_lower = {s.lower() for s in sortable}
    for field in rows.fields:
        unit = f"<br><small>{e(field.unit)}</small>" if field.unit else ""
        label = e(field.name)
        if field.name.lower() in sortable_lower:
            active = (selection.sort or "").lower() == field.name.lower()
            desc = active and not selection.descending
            params = [p for p in current if p[0] not in ("sort", "desc", "offset")] + [("sort", field.name)]
            if desc:
                params.append(("desc", "1"))
            arrow = (" ▼" if selection.descending else " ▲") if active else ""
            label = f'<a data-nav href="{href(base, params)}">{label}{arrow}</a>'
        title = f' title="{e(field.description)}"' if field.description else ""
        heads.append(f"<th{title}>{label}{unit}</th>")
    single = [f.datatype == "float" for f in rows.fields]
    body = "".join(
        "<tr>" + "".join(f"<td>{e(cell_text(v, s))}</td>" for v, s in zip(row, single, strict=True)) + "</tr>"
        for row in rows.rows
    )
    head = "".join(heads)
    return f'<div class="scroll"><table id="rows"><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table></div>'


def _pager(base: str, rows: Rows, current: list[tuple[str, str]], page_size: int, total: int) -> str:
    kept = [p for p in current if p[0] != "offset"]
    links = []
    if rows.offset > 0:
        previous = max(0, rows.offset - page_size)
        back = href(base, kept + ([("offset", str(previous))] if previous else []))
        links.append(f'<a data-nav rel="prev" href="{back}">&#8592; previous</a>')
    shown = f"rows {rows.offset + 1:,} to {rows.offset + len(rows.rows):,} of {total:,}" if rows.rows else "no rows"
    links.append(f"<span>{shown}</span>")
    if rows.more:
        forward = href(base, [*kept, ("offset", str(rows.offset + page_size))])
        links.append(f'<a data-nav rel="next" href="{forward}">next &#8594;</a>')
    return f'<nav class="pager">{" ".join(links)}</nav>'
