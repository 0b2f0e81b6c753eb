"""The page for people at the SIA service's root: each product's preview with its metadata, a form that cuts a
region of an image with SODA and downloads it, and the light curves drawn (their previews are plots).

Plain HTML, no script: the previews are the service's ``/preview`` PNGs, the downloads its ``/file`` and
``/votable``, and the cutout form sends ``ID`` and ``CIRCLE`` to ``/soda`` (SODA 1.0 §3.3).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from html import escape
from urllib.parse import quote

__all__ = ["PAGE_COLUMNS", "products_page"]

#: The ObsCore columns the page shows.
PAGE_COLUMNS = ("obs_publisher_did", "obs_collection", "obs_id", "dataproduct_type", "facility_name",
                "instrument_name", "t_min", "t_max", "em_min", "em_max", "s_ra", "s_dec", "s_fov", "t_xel")  # fmt: skip

_STYLE = """
body { font-family: sans-serif; margin: 1.5em; color: #222; }
.products { display: flex; flex-wrap: wrap; gap: 1em; }
.product { border: 1px solid #ccc; border-radius: 6px; padding: 0.6em; width: 330px; }
.product img { display: block; max-width: 320px; max-height: 200px; margin: 0 auto 0.4em; }
.product.timeseries { width: 660px; }
.product.timeseries img { max-width: 640px; max-height: 320px; }
dl { display: grid; grid-template-columns: auto 1fr; gap: 0 0.6em; font-size: 0.85em; margin: 0.3em 0; }
dt { color: #666; }
form { font-size: 0.85em; }
"""


def _number(value: object, digits: int = 6) -> str:
    if value is None or (isinstance(value, float) and not math.isfinite(value)):
        return "-"
    return f"{float(str(value)):.{digits}g}"


def _card(base: str, row: Mapping[str, object]) -> str:
    ident = str(row["obs_publisher_did"])
    quoted = quote(ident, safe="")
    kind = str(row["dataproduct_type"])
    title = escape(str(row["obs_id"]))
    facts = [
        ("collection", escape(str(row["obs_collection"]))),
        ("type", escape(kind)),
        ("facility", escape(str(row["facility_name"] or "-"))),
        ("instrument", escape(str(row["instrument_name"] or "-"))),
        ("time (MJD)", f"{_number(row['t_min'], 10)} - {_number(row['t_max'], 10)}"),
        ("band (m)", f"{_number(row['em_min'])} - {_number(row['em_max'])}"),
    ]
    if kind == "timeseries":
        facts.append(("samples", _number(row["t_xel"], 12)))
    downloads = [f'<a href="{base}/file?ID={quoted}" download>FITS file</a>']
    if kind == "timeseries":
        downloads.append(f'<a href="{base}/votable?ID={quoted}">VOTable</a>')
        cut = ""
    else:
        ra, dec, fov = row["s_ra"], row["s_dec"], row["s_fov"]
        if ra is not None and dec is not None and fov is not None:
            circle, unit = f"{_number(ra, 10)} {_number(dec, 10)} {_number(float(str(fov)) / 4)}", "ICRS degrees"
        else:  # a solar image: helioprojective arcseconds around the disc centre
            circle, unit = "0 0 300", "helioprojective arcseconds"
        cut = (
            f'<form action="{base}/soda" method="get"><input type="hidden" name="ID" value="{escape(ident)}">'
            f'<label>Cut a circle ({unit}: centre, radius) <input name="CIRCLE" value="{circle}" size="24"></label> '
            '<button type="submit">Cut and download</button></form>'
        )
    described = "".join(f"<dt>{name}</dt><dd>{value}</dd>" for name, value in facts)
    return (
        f'<div class="product {escape(kind)}"><h3>{title}</h3>'
        f'<img src="{base}/preview?ID={quoted}" alt="preview of {title}">'
        f"<dl>{described}</dl><p>{' | '.join(downloads)}</p>{cut}</div>\n"
    )


def products_page(base: str, rows: Sequence[Mapping[str, object]], *, title: str, truncated: bool) -> str:
    """The HTML page of ``rows`` (:data:`PAGE_COLUMNS`), linking the service at ``base``."""
    cards = "".join(_card(base, row) for row in rows)
    more = "<p>Only the first products are shown: search with SIA 2.0 at <code>query</code>.</p>" if truncated else ""
    return (
        f'<!DOCTYPE html><html lang="en"><head><meta charset="utf-8"><title>{escape(title)}</title>'
        f"<style>{_STYLE}</style></head><body><h1>{escape(title)}</h1>"
        f'<p>{len(rows)} products. Search them with SIA 2.0 at <a href="{base}/query?MAXREC=10">{base}/query</a>.'
        f'</p>{more}<div class="products" id="products">\n{cards}</div></body></html>\n'
    )
