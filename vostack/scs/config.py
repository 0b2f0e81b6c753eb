"""The ``[scs]`` section of a TOML configuration: one cone search per table.

.. code-block:: toml

    [scs."hipparcos.main"]   # served at /scs/hipparcos.main/
    max_sr = 10              # the largest radius accepted, degrees (SCS 1.03 §3 MaxSR; default 180)
    # ident = "hip"          # the main identifier and position, when no column has the UCDs
    # ra = "ra"              #   meta.id;meta.main, pos.eq.ra;meta.main, pos.eq.dec;meta.main
    # dec = "dec"
    title = "Hipparcos cone search"
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from vostack.config import ConfigError, table_values

__all__ = ["ConeConfig", "parse_scs_config"]


@dataclass(frozen=True, slots=True)
class ConeConfig:
    """The settings of one table's cone search."""

    table: str
    max_sr: float = 180.0
    ident: str | None = None
    ra: str | None = None
    dec: str | None = None
    title: str | None = None
    description: str | None = None


_KEYS: dict[str, tuple[type, ...]] = {
    "max_sr": (int, float), "ident": (str,), "ra": (str,), "dec": (str,), "title": (str,), "description": (str,),
}  # fmt: skip


def parse_scs_config(data: Mapping[str, Any]) -> list[ConeConfig]:
    """The cone searches of the parsed ``[scs]`` table, each checked."""
    cones = []
    for table, settings in data.items():
        where = f'[scs."{table}"]'
        if "." not in table:
            raise ConfigError(f'{where}: name the table with its schema, e.g. [scs."myschema.{table}"]')
        settings = table_values(where, settings, _KEYS)
        max_sr = float(settings.get("max_sr", 180.0))
        if not 0 < max_sr <= 180:
            raise ConfigError(f"{where}: max_sr must be in (0, 180] degrees")
        cones.append(ConeConfig(table=table, **{**settings, "max_sr": max_sr}))
    return cones
