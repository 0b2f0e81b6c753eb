"""What every product service shares: the ObsCore 1.1 columns, ``ivoa.obscore`` over several product tables,
and DataLink 1.1 links documents (ObsCore 1.1, DataLink 1.1)."""

from __future__ import annotations

from vostack.obscore.columns import FOOTPRINT, OBSCORE_COLUMNS, ObsCoreColumn
from vostack.obscore.datalink import DATALINK_FORMAT, DATALINK_LINKS, LINK_FIELDS, Link, links_document, not_found
from vostack.obscore.view import OBSCORE_TABLE, ObsCoreSource, ObsCoreView, view_comment, view_sql

__all__ = [
    "DATALINK_FORMAT",
    "DATALINK_LINKS",
    "FOOTPRINT",
    "LINK_FIELDS",
    "OBSCORE_COLUMNS",
    "OBSCORE_TABLE",
    "Link",
    "ObsCoreColumn",
    "ObsCoreSource",
    "ObsCoreView",
    "links_document",
    "not_found",
    "view_comment",
    "view_sql",
]
