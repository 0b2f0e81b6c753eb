"""The demo: Hipparcos, the New Reduction, and the SpeX prism spectra, loaded once and published over TAP and SSA."""

from __future__ import annotations

import dataclasses
import sys
import time
from collections.abc import Callable

from vostack import db
from vostack.config import PublishConfig, load_config
from vostack.demo import hipparcos

__all__ = ["demo_config", "ensure_hipparcos", "progress_bar"]


def demo_config(*, spectra: bool = False) -> PublishConfig:
    """The publishing configuration of the demo (service settings and Hipparcos metadata).

    With ``spectra``, TAP also publishes the SpeX spectra (``spex.spectra``) and their ObsCore
    view (``ivoa.obscore``), which must then exist (:func:`vostack.demo.spex.ensure_spex` and
    the SSA service's start create them).
    """
    config = load_config(hipparcos.METADATA_PATH)
    if not spectra:
        return config
    from vostack.demo.spex import TABLE, spex_table_meta
    from vostack.ssa import OBSCORE_TABLE, obscore_table_meta

    schemas = {**config.schemas, "spex": "The SpeX Prism Library of near-infrared spectra.",
               "ivoa": "IVOA standard tables: ObsCore 1.1."}  # fmt: skip
    tables = {**config.tables, TABLE: spex_table_meta(), OBSCORE_TABLE: obscore_table_meta()}
    service = dataclasses.replace(
        config.service,
        title="vostack demo: Hipparcos and the SpeX Prism Library spectra",
        description=(config.service.description or "").rstrip()
        + " With 3,084 near-infrared SpeX prism spectra of ultracool dwarfs (SpeX Prism Library), "
        "searchable through SSA and, as ivoa.obscore (ObsCore 1.1), through TAP.",
    )
    return dataclasses.replace(config, service=service, schemas=schemas, tables=tables)


def progress_bar(total: int, *, label: str = "loading", width: int = 40) -> Callable[[int], None]:
    """A text progress bar on stderr, for loops that report a running count."""
    started = time.monotonic()

    def update(done: int) -> None:
        filled = width * done // max(total, 1)
        rate = done / max(time.monotonic() - started, 1e-9)
        end = "\n" if done >= total else ""
        sys.stderr.write(
            f"\r{label} [{'#' * filled}{'.' * (width - filled)}] {done:,}/{total:,} rows ({rate:,.0f} rows/s){end}"
        )
        sys.stderr.flush()

    return update


async def ensure_hipparcos(pool: db.Pool, *, progress: bool = True) -> bool:
    """Load the Hipparcos catalogue unless it is already there, complete; returns whether it loaded now."""
    expected = hipparcos.count_rows()
    async with db.exclusive(pool, f"vostack.demo:{hipparcos.TABLE}"):  # demos started together load it once
        if await db.row_count(pool, hipparcos.TABLE) == expected:
            return False
        await db.execute(pool, f"DROP TABLE IF EXISTS {hipparcos.TABLE} CASCADE;\n{hipparcos.DDL}")
        bar = progress_bar(expected, label="loading Hipparcos") if progress else None
        await db.copy_rows(pool, hipparcos.TABLE, hipparcos.COLUMNS, hipparcos.iter_rows(), progress=bar)
        await db.execute(pool, hipparcos.INDEX_DDL)
    return True
