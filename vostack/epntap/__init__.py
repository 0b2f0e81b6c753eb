"""EPN-TAP 2.0: planetary and solar-system data collections as ``<schema>.epn_core`` tables of a TAP service."""

from __future__ import annotations

from vostack.epntap.columns import EPN_UTYPE, FRAMES, MANDATORY, OPTIONAL, EPNColumn, Kind, frame_columns
from vostack.epntap.mapping import (
    TAP_AUX,
    EPNCollection,
    ExtraColumn,
    MappingError,
    ProductLinks,
    collection_from_toml,
)

__all__ = [
    "EPN_UTYPE",
    "FRAMES",
    "MANDATORY",
    "OPTIONAL",
    "TAP_AUX",
    "EPNCollection",
    "EPNColumn",
    "ExtraColumn",
    "Kind",
    "MappingError",
    "ProductLinks",
    "collection_from_toml",
    "frame_columns",
]
