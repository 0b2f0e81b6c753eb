"""What every page of the package shares: the document around its content, links, number formatting."""

from __future__ import annotations

import html
import math
import urllib.parse
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from vostack.auth import Identity
from vostack.tap import TAPService

__all__ = ["Link", "Navigation", "cell_text", "document", "href"]


@dataclass(frozen=True, slots=True)
class Link:
    """A link in the pages' header; one naming a ``table`` is shown only to callers who may read it."""

    label: str
    url: str
    table: str | None = None


@dataclass(frozen=True, slots=True)
class Navigation:
    """The links in the header of every page.  A link to a table's search page is left out for callers who
    may not read that table in ``tap`` (as its VOSI ``/tables`` leaves the table out for them)."""

    links: tuple[Link, ...] = ()
    tap: TAPService | None = None

    @classmethod
    def of(cls, links: Navigation | Sequence[tuple[str, str]]) -> Navigation:
        """``links`` as a :class:`Navigation` (plain (label, URL) pairs are shown to everyone)."""
        return links if isinstance(links, Navigation) else cls(tuple(Link(label, url) for label, url in links))

    def links_for(self, identity: Identity) -> list[tuple[str, str]]:
        """The (label, URL) pairs ``identity`` is shown."""
        visible = self.tap.tableset_for(identity) if self.tap is not None else None
        return [
            (link.label, link.url)
            for link in self.links
            if link.table is None or (visible is not None and visible.table(link.table) is not None)
        ]


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
