"""Simple Cone Search 1.03 over a table a TAP service publishes (IVOA SCS 1.03, SimpleDALRegExt 1.0)."""

from __future__ import annotations

from vostack.scs.config import ConeConfig, parse_scs_config
from vostack.scs.params import ConeRequest, parse_cone_request
from vostack.scs.service import CONE_SEARCH, DISTANCE_FIELD, SCS_FORMATS, ConeColumns, SCSService, cone_error_document

__all__ = [
    "CONE_SEARCH",
    "DISTANCE_FIELD",
    "SCS_FORMATS",
    "ConeColumns",
    "ConeConfig",
    "ConeRequest",
    "SCSService",
    "cone_error_document",
    "parse_cone_request",
    "parse_scs_config",
]
