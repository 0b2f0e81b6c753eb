"""TAP 1.1: synchronous ADQL queries, VOSI metadata, TAP_SCHEMA (IVOA TAP 1.1)."""

from __future__ import annotations

from vostack.tap.capabilities import DataModel
from vostack.tap.params import LANGUAGES, TAP_FORMATS, VOTABLE_FORMATS, TAPRequest, parse_tap_request
from vostack.tap.query import QueryRun
from vostack.tap.service import QueryResponse, TAPService

__all__ = [
    "LANGUAGES",
    "TAP_FORMATS",
    "VOTABLE_FORMATS",
    "DataModel",
    "QueryResponse",
    "QueryRun",
    "TAPRequest",
    "TAPService",
    "parse_tap_request",
]
