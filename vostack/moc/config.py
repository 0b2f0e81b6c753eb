"""The ``[coverage]`` section of a TOML configuration: which MOCs to compute, at which orders.

.. code-block:: toml

    [coverage]
    order = 8              # HEALPix order of every spatial MOC (MOC 2.0 §2.1; 8 is about 14 arcmin)
    time_order = 29        # order of the time MOCs (MOC 2.0 §2.2; 29 is about 72 minutes)
    registry_order = 6     # the spatial MOC in registry records is degraded to this order (VODataService 1.2)

    [coverage.tables."spex.spectra"]   # per table, all optional
    order = 10
    ra = "ra"              # the main position, when no column has the UCD pos.eq.ra;meta.main
    dec = "dec"
    time_min = "t_min"     # a time MOC from these columns
    time_max = "t_max"
    time_format = "mjd"    # or "jd"
    time_scale = "utc"     # or "tdb", "tt"... (astropy's names)

Every table the TAP service publishes with a main position (the UCDs ``pos.eq.ra;meta.main`` and
``pos.eq.dec;meta.main``, or ``ra``/``dec`` here) gets a spatial MOC; a table with time columns here gets a
time MOC, with or without a position.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from vostack.config import ConfigError, table_values
from vostack.moc.coverage import DEFAULT_TIME_ORDER

__all__ = ["CoverageConfig", "TableCoverage", "parse_coverage_config"]


@dataclass(frozen=True, slots=True)
class TableCoverage:
    """What one table's ``[coverage.tables."<table>"]`` says (all optional)."""

    order: int | None = None
    ra: str | None = None
    dec: str | None = None
    time_min: str | None = None
    time_max: str | None = None
    time_format: str = "mjd"
    time_order: int | None = None
    time_scale: str = "utc"


@dataclass(frozen=True, slots=True)
class CoverageConfig:
    """The site's MOC settings: default orders and per-table settings."""

    order: int = 8
    time_order: int = DEFAULT_TIME_ORDER
    registry_order: int = 6
    tables: Mapping[str, TableCoverage] = field(default_factory=dict)


_TOP: dict[str, tuple[type, ...]] = {
    "order": (int,), "time_order": (int,), "registry_order": (int,), "tables": (dict,),
}  # fmt: skip
_TABLE: dict[str, tuple[type, ...]] = {
    "order": (int,), "ra": (str,), "dec": (str,), "time_min": (str,), "time_max": (str,), "time_format": (str,),
    "time_order": (int,), "time_scale": (str,),
}  # fmt: skip


def parse_coverage_config(data: Mapping[str, Any]) -> CoverageConfig:
    """Build a :class:`CoverageConfig` from the parsed ``[coverage]`` table, checking every key."""
    top = table_values("[coverage]", data, _TOP)
    tables = {}
    for name, table in top.pop("tables", {}).items():
        where = f'[coverage.tables."{name}"]'
        values = table_values(where, table, _TABLE)
        if values.get("time_format", "mjd") not in ("mjd", "jd"):
            raise ConfigError(f'{where}: time_format must be "mjd" or "jd"')
        if ("time_min" in values) != ("time_max" in values):
            raise ConfigError(f"{where}: a time MOC needs both time_min and time_max")
        tables[name] = TableCoverage(**values)
    config = CoverageConfig(**top, tables=tables)
    if not 0 <= config.order <= 29 or not 0 <= config.registry_order <= 29 or not 0 <= config.time_order <= 61:
        raise ConfigError("[coverage]: order and registry_order are 0 to 29, time_order 0 to 61")
    return config
