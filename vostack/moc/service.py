"""The MOC coverage of a site's tables, served at a URL per table: an ASGI app mounted with ``Mount("/moc", moc)``.

Endpoints below the mount point:

* ``/``: a JSON index of the tables, their MOCs (order, rows covered, when computed) and URLs;
* ``/{table}/space.fits``, ``.txt``, ``.json``: the spatial MOC of a table in the FITS, ASCII and JSON
  serialisations of MOC 2.0 (§4.3.1-§4.3.3); ``/{table}/time.*``: its time MOC.

:meth:`CoverageService.recompute` (``vostack coverage`` on the command line) computes them anew after
the data change; every process of the site then serves the new ones.
"""

from __future__ import annotations

import asyncio
import io
import logging
from collections.abc import Iterable, Mapping
from datetime import datetime

from mocpy import MOC, TimeMOC
from starlette.middleware.cors import CORSMiddleware
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route, Router
from starlette.types import ASGIApp, Receive, Scope, Send

from vostack import db, web
from vostack.errors import NotFoundError, TransientError, VOError
from vostack.moc.config import CoverageConfig, TableCoverage
from vostack.moc.coverage import (
    SPACE,
    TIME,
    CoverageSpec,
    StoredMOC,
    compute_space,
    compute_time,
    create_store,
    latest_change,
    load_store,
    save_store,
)
from vostack.registry import Coverage
from vostack.schema import Table, TableSet
from vostack.tap import TAPService

__all__ = ["MEDIA_TYPES", "CoverageService", "coverage_specs"]

log = logging.getLogger("vostack.moc")

MEDIA_TYPES: Mapping[str, str] = {
    "fits": "application/fits",
    "txt": "text/plain; charset=utf-8",
    "json": "application/json",
}
"""The serialisations of MOC 2.0 §4.3 by file extension."""

_MAIN_RA, _MAIN_DEC = "pos.eq.ra;meta.main", "pos.eq.dec;meta.main"


def _column(table: Table, configured: str | None, ucd: str | None) -> str | None:
    """The database name of the column ``configured``, else of the one column with ``ucd``, else ``None``."""
    if configured is not None:
        found = table.column(configured)
        if found is None:
            raise VOError(f'[coverage.tables."{table.name}"]: {table.name} has no column {configured!r}')
        return found.identifier
    matches = [c for c in table.columns if ucd is not None and (c.ucd or "").strip().lower() == ucd]
    return matches[0].identifier if len(matches) == 1 else None


def coverage_specs(tableset: TableSet, config: CoverageConfig) -> list[CoverageSpec]:
    """A :class:`CoverageSpec` for every published table with a main position (by UCD or configured) or time
    columns (configured).

    Raises :class:`vostack.errors.VOError` for a configured table that is not published or whose
    columns do not exist.
    """
    for name in config.tables:
        if tableset.table(name) is None:
            raise VOError(f'[coverage.tables."{name}"]: the TAP service does not publish {name}')
    specs = []
    for table in tableset.tables():
        if table.schema_name.lower() == "tap_schema":
            continue
        settings = config.tables.get(table.name, TableCoverage())
        ra = _column(table, settings.ra, _MAIN_RA)
        dec = _column(table, settings.dec, _MAIN_DEC)
        if ra is None or dec is None:
            ra = dec = None
            if settings.time_min is None:
                continue
        try:
            spec = CoverageSpec(
                table=table.name,
                ra=ra,
                dec=dec,
                order=config.order if settings.order is None else settings.order,
                time_min=_column(table, settings.time_min, None),
                time_max=_column(table, settings.time_max, None),
                time_format="jd" if settings.time_format == "jd" else "mjd",
                time_order=config.time_order if settings.time_order is None else settings.time_order,
                time_scale=settings.time_scale,
            )
        except ValueError as exc:
            raise VOError(str(exc)) from None
        specs.append(spec)
    return specs


def _fits_bytes(moc: MOC | TimeMOC) -> bytes:
    buffer = io.BytesIO()
    moc.serialize(format="fits").writeto(buffer)
    return buffer.getvalue()


class CoverageService:
    """MOC 2.0 coverage of the tables a TAP service publishes: computed, kept, served, put in registry records.

    Parameters
    ----------
    tap
        The TAP service whose tables are covered; start it first.
    config
        Orders and per-table settings (:class:`vostack.moc.CoverageConfig`).
    """

    def __init__(self, *, tap: TAPService, config: CoverageConfig | None = None) -> None:
        self.tap = tap
        self.config = config or CoverageConfig()
        self._pool: db.Pool | None = None
        self._specs: dict[str, CoverageSpec] = {}
        self._stored: dict[tuple[str, str], StoredMOC] = {}
        self._seen: datetime | None = None
        self._rendered: dict[tuple[str, str, str], tuple[datetime, bytes]] = {}
        self._lock = asyncio.Lock()
        router = Router(
            routes=[
                Route("/", self._index, methods=["GET"]),
                Route("/{table}/{name}", self._moc, methods=["GET"]),
            ]
        )
        app: ASGIApp = web.ErrorDocuments(router, service="MOC", document=_text_document)
        if tap.settings.cors_origins:  # Aladin Lite loads MOCs from other sites
            app = CORSMiddleware(app, allow_origins=list(tap.settings.cors_origins), allow_methods=["GET"])
        self._app = app

    @property
    def specs(self) -> Mapping[str, CoverageSpec]:
        """What is computed for each covered table, by table name."""
        return self._specs

    @property
    def pool(self) -> db.Pool:
        """The database pool borrowed from the portal."""
        if self._pool is None:
            raise TransientError("the coverage service is starting; try again in a moment")
        return self._pool

    async def start(self, pool: db.Pool) -> None:
        """Find the covered tables, create the store, and compute the MOCs that are missing or of another order."""
        self._specs = {spec.table: spec for spec in coverage_specs(self.tap.tableset, self.config)}
        await create_store(pool)
        self._pool = pool
        await self._refresh(force=True)
        missing = [
            spec.table
            for spec in self._specs.values()
            if (spec.spatial and self._stale(spec, SPACE)) or (spec.time_min is not None and self._stale(spec, TIME))
        ]
        if missing:
            await self.recompute(missing)

    async def stop(self) -> None:
        """Give the pool back."""
        self._pool = None

    def _stale(self, spec: CoverageSpec, kind: str) -> bool:
        stored = self._stored.get((spec.table, kind))
        order = spec.order if kind == SPACE else spec.time_order
        return stored is None or stored.order != order

    async def recompute(self, tables: Iterable[str] | None = None) -> list[StoredMOC]:
        """Compute the MOCs of ``tables`` (default: all covered tables) anew and keep them (MOC 2.0).

        Call it when the data change; the other processes of the site serve the new MOCs at their next request.
        """
        names = list(self._specs) if tables is None else list(tables)
        unknown = [name for name in names if name not in self._specs]
        if unknown:
            raise NotFoundError(f"no coverage is computed for {', '.join(unknown)}; covered: {', '.join(self._specs)}")
        rows: list[tuple[str, str, int, str, int]] = []
        for name in names:
            spec = self._specs[name]
            space = await compute_space(self.pool, spec)
            if space is not None:
                rows.append((name, SPACE, spec.order, space[0].to_string(format="ascii"), space[1]))
                log.info("computed the spatial coverage of %s: %d rows at order %d", name, space[1], spec.order)
            timed = await compute_time(self.pool, spec)
            if timed is not None:
                rows.append((name, TIME, spec.time_order, timed[0].to_string(format="ascii"), timed[1]))
                log.info("computed the time coverage of %s: %d rows at order %d", name, timed[1], spec.time_order)
        if rows:
            await save_store(self.pool, rows)
        await self._refresh(force=True)
        return [self._stored[(name, kind)] for name, kind, *_ in rows]

    async def _refresh(self, *, force: bool = False) -> None:
        """Reload the stored MOCs when another process (or :meth:`recompute`) stored new ones."""
        async with self._lock:
            changed = await latest_change(self.pool)
            if force or changed != self._seen:
                self._stored = await load_store(self.pool)
                self._seen = changed

    def stored(self, table: str, kind: str = SPACE) -> StoredMOC | None:
        """The MOC kept for ``table`` (``"space"`` or ``"time"``), as last loaded."""
        return self._stored.get((table, kind))

    def moc(self, table: str, kind: str = SPACE) -> MOC | TimeMOC | None:
        """The MOC of ``table`` as a mocpy object, as last loaded."""
        stored = self.stored(table, kind)
        if stored is None:
            return None
        return (MOC if kind == SPACE else TimeMOC).from_string(stored.ascii, format="ascii")

    def coverage(self, table: str, base_url: str) -> Coverage | None:
        """The ``vs:Coverage`` of ``table`` for a registry record (VODataService 1.2 §3.3).

        The spatial MOC degraded to ``registry_order`` (a registry record should stay small), the time
        coverage as MJD intervals (at most 100: the time MOC is degraded until it fits), and the URL of
        the full spatial MOC as the footprint; a table with times only has the time coverage.
        """
        space = self.moc(table, SPACE)
        timed = self.moc(table, TIME)
        if not isinstance(space, MOC) and not isinstance(timed, TimeMOC):
            return None
        if isinstance(space, MOC) and space.max_order > self.config.registry_order:
            space = space.degrade_to_order(self.config.registry_order)
        intervals: tuple[tuple[float, float], ...] = ()
        if isinstance(timed, TimeMOC) and not timed.empty():
            ranges = timed.to_time_ranges()
            while len(ranges) > 100 and timed.max_order > 0:  # coarser until the list is short
                timed = timed.degrade_to_order(timed.max_order - 1)
                ranges = timed.to_time_ranges()
            intervals = tuple((float(lo.tdb.mjd), float(hi.tdb.mjd)) for lo, hi in ranges)
        if not isinstance(space, MOC):
            return Coverage(temporal=intervals)
        return Coverage(
            spatial=space.to_string(format="ascii"),
            temporal=intervals,
            footprint=f"{base_url.rstrip('/')}/{table}/space.fits",
        )

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        await self._app(scope, receive, send)

    def _visible(self, request: Request) -> list[str]:
        """The covered tables the caller sees (a table it may not see has no MOC for it)."""
        tableset = self.tap.tableset_for(web.identity(request))
        return [name for name in self._specs if tableset.table(name) is not None]

    async def _index(self, request: Request) -> Response:
        """The covered tables and their MOC URLs."""
        await self._refresh()
        base = web.mount_url(request)
        visible = self._visible(request)
        index: dict[str, dict[str, object]] = {}
        for (table, kind), stored in sorted(self._stored.items()):
            if table not in visible:
                continue  # kept for a table no longer published, or one the caller may not see
            index.setdefault(table, {})[kind] = {
                "order": stored.order,
                "rows": stored.rows,
                "computed": stored.computed_at.isoformat(),
                **{ext: f"{base}/{table}/{kind}.{ext}" for ext in MEDIA_TYPES},
            }
        return JSONResponse(index)

    async def _moc(self, request: Request) -> Response:
        """One MOC in one serialisation (MOC 2.0 §4.3)."""
        table = request.path_params["table"]
        kind, _, ext = str(request.path_params["name"]).partition(".")
        visible = self._visible(request)
        if table not in visible or kind not in (SPACE, TIME) or ext not in MEDIA_TYPES:
            raise NotFoundError(
                f"no MOC here: use /{{table}}/space.fits (or .txt, .json) or time.*; tables: {', '.join(visible)}"
            )
        await self._refresh()
        stored = self.stored(table, kind)
        if stored is None:
            what = "no time columns are configured for it" if kind == TIME else "it has no main position on the sky"
            raise NotFoundError(f"{table} has no {kind} MOC ({what})")
        key = (table, kind, ext)
        cached = self._rendered.get(key)
        if cached is None or cached[0] != stored.computed_at:
            if ext == "txt":
                body = stored.ascii.encode("utf-8")
            else:
                moc = self.moc(table, kind)
                assert moc is not None
                body = _fits_bytes(moc) if ext == "fits" else moc.to_string(format="json").encode("utf-8")
            cached = (stored.computed_at, body)
            self._rendered[key] = cached
        name = f"{table}-{kind}-moc.{ext}"
        return Response(
            cached[1],
            media_type=MEDIA_TYPES[ext],
            headers={"Content-Disposition": f'inline; filename="{name}"', "Last-Modified": _http_date(stored)},
        )


def _http_date(stored: StoredMOC) -> str:
    return stored.computed_at.strftime("%a, %d %b %Y %H:%M:%S GMT")


def _text_document(request: Request, exc: VOError) -> tuple[bytes, str]:
    """Errors of the MOC endpoints: a line of text (MOC 2.0 defines no error document)."""
    return (exc.message + "\n").encode("utf-8"), "text/plain; charset=utf-8"
