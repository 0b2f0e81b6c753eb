"""What every page of the package shares: the document around its content, links, number formatting."""

from __future__ import annotations

import html
import math
import urllib.parse
from collections.abc import Sequence

import numpy as np

__all__ = ["cell_text", "document", "href"]


def href(base: str, params: Sequence[tuple[str, str]]) -> str:
    """``base`` with ``params`` as its query string (escaped for an HTML attribute)."""
    query = urllib.parse.urlencode(list(params))
    return html.escape(f"{base}/?{query}" if query else f"{base}/")


def cell_text(value: object, single: bool = False) -> str:
    """A value as people read it: doubles to 10 significant digits, single-precision floats at their shortest."""
    if value is None:
        return ""
    if isinstance(value, float):
        if not math.isfinite(value):
            return str(value)
        return str(np.float32(value)) if single else f"{value:.10g}"
    if isinstance(value, list | tuple):
        return " ".join(cell_text(v, single) for v in value)
    return str(value)


def document(
    *, title: str, body: str, css: str, scripts: Sequence[str] = (), nav: Sequence[tuple[str, str]] = ()
) -> str:
    """A whole HTML page: ``body`` under a header with the ``nav`` links (label, URL); ``scripts`` are ES
    modules (deferred: the page is readable before and without them)."""
    e = html.escape
    links = " ".join(f'<a href="{e(url)}">{e(label)}</a>' for label, url in nav)
    modules = "".join(f'<script type="module" src="{e(src)}"></script>' for src in scripts)
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>{e(title)}</title><link rel="icon" href="data:,"><link rel="stylesheet" href="{e(css)}">{modules}</head>
<body><header class="top"><nav>{links}</nav></header>
{body}
</body></html>"""
