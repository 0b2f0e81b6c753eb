"""SSA 1.1 simple spectral access with DataLink 1.1 links and an ObsCore 1.1 view (IVOA SSA 1.1).

A portal declares its spectra table once in an :class:`SSAMapping`, hands the files over as a
:class:`ProductStore` (:class:`FileProducts` over a directory, an archive or a bucket), and mounts
:class:`SSAService` (``Mount("/ssa", ssa)``); with ``public_url`` the service also creates ``ivoa.obscore``
for TAP (:func:`obscore_table_meta`).  ``vostack serve`` builds all of it from ``[ssa]`` (:mod:`vostack.holdings`).
"""

from __future__ import annotations

from vostack.ssa.fields import OBSCORE_COLUMNS, SSA_FIELDS, ObsCoreColumn, SSAField
from vostack.ssa.mapping import MappingError, SSAMapping
from vostack.ssa.obscore import OBSCORE_DATA_MODEL, OBSCORE_TABLE, obscore_table_meta, obscore_view_sql
from vostack.ssa.params import SSARequest, parse_ssa_request
from vostack.ssa.products import FileProducts, ObjectProducts
from vostack.ssa.service import DATALINK_LINKS, SSAService
from vostack.ssa.spectrum import ProductStore, RangedProductStore, Spectrum, preview_svg, spectrum_votable

__all__ = [
    "DATALINK_LINKS",
    "OBSCORE_COLUMNS",
    "OBSCORE_DATA_MODEL",
    "OBSCORE_TABLE",
    "SSA_FIELDS",
    "FileProducts",
    "MappingError",
    "ObjectProducts",
    "ObsCoreColumn",
    "ProductStore",
    "RangedProductStore",
    "SSAField",
    "SSAMapping",
    "SSARequest",
    "SSAService",
    "Spectrum",
    "obscore_table_meta",
    "obscore_view_sql",
    "parse_ssa_request",
    "preview_svg",
    "spectrum_votable",
]
