"""Pages for people, served by the package: a faceted search page per collection (:class:`SearchPage`, on the
facet API), the caller's UWS jobs (:class:`JobsPage`) and their static files (:class:`Assets`, with the
bundled Aladin Lite)."""

from __future__ import annotations

from vostack.pages.assets import Assets
from vostack.pages.jobs import JobsPage
from vostack.pages.layout import Link, Navigation
from vostack.pages.search import SearchPage

__all__ = ["Assets", "JobsPage", "Link", "Navigation", "SearchPage"]
