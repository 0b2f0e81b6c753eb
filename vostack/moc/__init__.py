"""MOC 2.0 coverage of published tables: computed with pgSphere and mocpy, kept in PostgreSQL, served per table."""

from __future__ import annotations

from vostack.moc.config import CoverageConfig, TableCoverage, parse_coverage_config
from vostack.moc.coverage import STORE_SCHEMA, CoverageSpec, StoredMOC, compute_space, compute_time
from vostack.moc.service import MEDIA_TYPES, CoverageService, coverage_specs

__all__ = [
    "MEDIA_TYPES",
    "STORE_SCHEMA",
    "CoverageConfig",
    "CoverageService",
    "CoverageSpec",
    "StoredMOC",
    "TableCoverage",
    "compute_space",
    "compute_time",
    "coverage_specs",
    "parse_coverage_config",
]
