"""The SIA 2.0 service as an ASGI app a portal mounts with ``Mount("/sia", sia)``, with DataLink 1.1 and SODA 1.0.

Endpoints below the mount point:

* ``/query?POS=...&BAND=...``: ObsCore records of ``ivoa.obscore`` (SIA 2.0 §2), with the DataLink and SODA
  service descriptors (DataLink 1.1 §4) after the results;
* ``/file?ID=...``: an image's FITS file (each record's ``access_url``), ``/preview?ID=...`` a PNG of it (a
  plot for a light curve), ``/votable?ID=...`` a light curve as a VOTable whose time column refers to its
  ``TIMESYS``;
* ``/datalink?ID=...``: its DataLink ``{links}``: the file, the preview and a SODA service descriptor with the
  parameter ranges of that image (DataLink 1.1 §3, §4);
* ``/soda?ID=...&CIRCLE=...``: a SODA 1.0 sync cutout (SODA 1.0 §3), streamed;
* ``/``: a page for people showing each product's preview with its metadata, a cutout form and the light
  curves drawn (:mod:`vostack.sia.page`);
* ``/availability``, ``/capabilities`` (VOSI 1.1).

Embargoed images (an owner group and a release date) are seen by their group only, everywhere: every lookup
runs as the caller's database role and the product tables' release policies filter the rows.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncGenerator, AsyncIterator, Sequence
from contextlib import AsyncExitStack
from urllib.parse import quote

from starlette.requests import Request
from starlette.responses import HTMLResponse, Response, StreamingResponse
from starlette.routing import Route, Router
from starlette.types import ASGIApp, Receive, Scope, Send

from vostack import db, vosi
from vostack.auth import Identity
from vostack.config import ServiceConfig
from vostack.dali import Params
from vostack.errors import NotFoundError, ParameterError, VOError
from vostack.obscore import (
    DATALINK_FORMAT,
    DATALINK_LINKS,
    FOOTPRINT,
    OBSCORE_COLUMNS,
    OBSCORE_TABLE,
    Link,
    links_document,
    not_found,
)
from vostack.schema import Field
from vostack.sia.collection import FITS, ImageCollection
from vostack.sia.images import fits_png
from vostack.sia.page import PAGE_COLUMNS, products_page
from vostack.sia.params import parse_sia, where_sql
from vostack.sia.series import read_series, series_png, series_votable
from vostack.sia.soda import SODA_ASYNC, SODA_SYNC, cutout, parse_cut
from vostack.uws import JobContext, UWSService, job_identity
from vostack.votable import MEDIA_TYPE, InputParam, ServiceDescriptor, VOTableWriter, db_type_to_votable, iter_result
from vostack.web import (
    ErrorDocuments,
    RequestLimits,
    availability_response,
    capabilities_response,
    compressed,
    dali_document,
    identity,
    mount_url,
    request_params,
)

__all__ = ["SIA_QUERY", "SIAService"]

SIA_QUERY = "ivo://ivoa.net/std/SIA#query-2.0"
"""The standardID of the SIA 2.0 query capability (SIA 2.0 §2)."""

_BATCH = 1_000
_PAGE_ROWS = 200
_CHUNK = 65_536
PNG = "image/png"
TIMESERIES = "timeseries"


def _field(name: str) -> Field:
    column = next(c for c in (*OBSCORE_COLUMNS, FOOTPRINT) if c.name == name)
    datatype, arraysize, xtype = db_type_to_votable(column.db_type)
    return Field(name, datatype, arraysize=arraysize, xtype=xtype, unit=column.unit, ucd=column.ucd,
                 utype=column.utype or None, description=column.description)  # fmt: skip


#: The records of a query: the ObsCore columns (SIA 2.0 §3: ObsCore records).
FIELDS: tuple[Field, ...] = tuple(_field(c.name) for c in OBSCORE_COLUMNS)


def _sia_document(request: Request, exc: VOError) -> tuple[bytes, str]:
    """SODA errors are text starting with their fault name (SODA 1.0 §5.2); the others DALI VOTables."""
    if request.url.path.rstrip("/").endswith("/soda"):
        message = exc.message
        if message.split(":", 1)[0] not in ("NoOverlap", "UsageError", "NotFoundFault", "TransientFault"):
            fault = "NotFoundFault" if isinstance(exc, NotFoundError) else "UsageError"
            message = f"{fault}: {message}" if exc.http_status < 500 else f"FatalFault: {message}"
        return (message + "\n").encode("utf-8"), "text/plain; charset=utf-8"
    return dali_document()(request, exc)


class SIAService(db.PoolBorrower):
    """An SIA 2.0 service over ``ivoa.obscore``, serving the files, previews, links and cutouts of images.

    Parameters
    ----------
    collections
        The image collections whose files this service serves (their rows are in ``ivoa.obscore``).
    settings
        Limits (``maxrec``, ``hardlimit``, ``sync_timeout``), the title and the role prefix.
    table
        The ObsCore table or view searched (``ivoa.obscore``).
    jobs_schema, jobs_name
        Where the async SODA jobs are kept (the site's UWS schema) and the name of their job list.
    row_security
        Some source of ``table`` has rows only some groups see (embargoed spectra or images, with
        :func:`vostack.db.apply_release`): every lookup then runs under the caller's role, which is in the
        group roles of the caller's groups (those of every source).  Default: whether a collection is embargoed.
    """

    service_name = "SIA"

    def __init__(
        self,
        *,
        collections: Sequence[ImageCollection],
        settings: ServiceConfig | None = None,
        table: str = OBSCORE_TABLE,
        jobs_schema: str = "vostack_uws",
        jobs_name: str = "soda",
        row_security: bool | None = None,
    ) -> None:
        self.collections = tuple(collections)
        self.row_security = any(c.embargoed for c in self.collections) if row_security is None else row_security
        self._group_roles: frozenset[str] = frozenset()  # the group roles that exist, for row security
        self._roles: dict[frozenset[str], str] = {}
        self.settings = settings or ServiceConfig(title="vostack SIA service", maxrec=1000, hardlimit=100_000)
        self.table = table
        self.limits = RequestLimits.of(self.settings)
        self._pool = None
        self._reads = None
        self.jobs = UWSService(name=jobs_name, executor=self._run_cut, schema=jobs_schema, limits=self.limits,
                               error_document=_soda_error)  # fmt: skip
        """The async SODA jobs (``/soda/async``, UWS 1.1)."""
        router = Router(
            routes=[
                Route("/", self._page, methods=["GET"]),
                Route("/query", self._query, methods=["GET", "POST"]),
                Route("/file", self._file, methods=["GET"]),
                Route("/preview", self._preview, methods=["GET"]),
                Route("/votable", self._votable, methods=["GET"]),
                Route("/datalink", self._datalink, methods=["GET", "POST"]),
                Route("/soda", self._soda, methods=["GET", "POST"]),
                *self.jobs.routes("/soda/async"),
                Route("/availability", self._availability, methods=["GET"]),
                Route("/capabilities", self._capabilities, methods=["GET"]),
            ]
        )
        app: ASGIApp = ErrorDocuments(router, service="SIA", document=_sia_document)
        self._app = compressed(app)

    async def start(self, pool: db.Pool) -> None:
        """Borrow the pool (start the collections and ``ivoa.obscore`` before).

        With row security, queries run as the caller's reader role: it is given the tables without an embargo
        too, and the group roles the sources made (:func:`vostack.db.apply_release`) are read.
        """
        if self.row_security:
            reader = db.quote_ident(db.role_name(self.settings.role_prefix, ()))
            grants = [f"GRANT SELECT ON {c.qualified} TO {reader};" for c in self.collections if not c.embargoed]
            if grants:
                await db.execute(pool, "\n".join(grants))
            self._group_roles = await db.group_roles(pool, self.settings.role_prefix)
        self._roles.clear()
        self._pool = pool
        await self.jobs.start(pool)

    def release_waiters(self) -> None:
        """Answer the blocked WAITs of ``/soda/async`` now (see :meth:`vostack.uws.UWSService.release_waiters`)."""
        self.jobs.release_waiters()

    async def stop(self) -> None:
        """Stop the async jobs' runner and give the pool back."""
        await self.jobs.stop()
        self._pool = None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        await self._app(scope, receive, send)

    def capabilities(self, base_url: str) -> list[vosi.Capability]:
        """SIA 2.0 query, DataLink links and SODA sync, and VOSI (VOSI 1.1 §3.1)."""
        base = base_url.rstrip("/")

        def interface(path: str, version: str) -> vosi.Interface:
            return vosi.Interface(base + path, role="std", version=version, query_types=("GET",))

        return [
            vosi.Capability(SIA_QUERY, (interface("/query", "2.0"),)),
            vosi.Capability(DATALINK_LINKS, (interface("/datalink", "1.1"),)),
            vosi.Capability(SODA_SYNC, (interface("/soda", "1.0"),)),
            vosi.Capability(SODA_ASYNC, (interface("/soda/async", "1.0"),)),
            *vosi.vosi_capabilities(base, tables=False),
        ]

    async def role_for(self, caller: Identity) -> str | None:
        """The database role ``caller``'s lookups run as: in the group roles of its groups that some source
        made (the owner groups of embargoed spectra and images); ``None`` without row security."""
        if not self.row_security:
            return None
        prefix = self.settings.role_prefix
        key = frozenset(g for g in caller.groups if db.group_role(prefix, g) in self._group_roles)
        role = self._roles.get(key)
        if role is None:
            role = await db.reader_role(self.pool, prefix, key)
            self._roles[key] = role
        return role

    # ------------------------------------------------------------------ query

    def _descriptors(self, base: str) -> list[ServiceDescriptor]:
        did = InputParam("ID", column="obs_publisher_did", ucd="meta.id;meta.main")
        return [
            ServiceDescriptor(base + "/datalink", standard_id=DATALINK_LINKS, name="datalink", ident="datalink",
                              description="DataLink links of each product: file, preview, cutout service",
                              input_params=(did,)),
            ServiceDescriptor(base + "/soda", standard_id=SODA_SYNC, name="soda", ident="soda",
                              description="SODA 1.0 cutouts of each image (see its DataLink links for the ranges)",
                              input_params=(did, *_soda_params())),
        ]  # fmt: skip

    async def _query(self, request: Request) -> Response:
        """SIA 2.0 §2: the ObsCore records meeting every constraint."""
        params = await request_params(request, self.limits)
        query = parse_sia(params, maxrec=self.settings.maxrec, hardlimit=self.settings.hardlimit)
        args: list[object] = []

        def arg(value: object) -> str:
            args.append(value)
            return f"${len(args)}"

        where = where_sql(query, arg)
        select = ", ".join(db.quote_ident(f.name) for f in FIELDS)
        table = ".".join(db.quote_ident(p) for p in self.table.split(".", 1))
        sql = f"SELECT {select} FROM {table}"
        if where:
            sql += " WHERE " + " AND ".join(where)
        sql += f" ORDER BY obs_publisher_did LIMIT {arg(query.maxrec + 1)}"
        base = mount_url(request)
        stack = AsyncExitStack()
        try:
            cursor = await stack.enter_async_context(
                db.open_cursor(self.reader(), sql, statement_timeout=self.settings.sync_timeout, args=args,
                               role=await self.role_for(identity(request)))
            )  # fmt: skip
            first = await cursor.fetch(_BATCH)
        except BaseException:
            await stack.aclose()
            raise
        writer = VOTableWriter(FIELDS, table_name="results", resources=self._descriptors(base))

        async def records() -> AsyncGenerator[Sequence[Sequence[object]], None]:
            try:
                batch = first
                while batch:
                    yield batch
                    batch = await cursor.fetch(_BATCH)
            finally:
                await stack.aclose()

        return StreamingResponse(iter_result(writer, records(), limit=query.maxrec), media_type=MEDIA_TYPE)

    # ------------------------------------------------------------------ products

    async def _image(self, request: Request, ident: str | None) -> tuple[ImageCollection, dict[str, object]]:
        """The collection and row of the image ``ident`` if the caller may see it (else as if it did not exist)."""
        caller = identity(request)
        return await self._lookup(ident, caller, await self.role_for(caller))

    async def _lookup(
        self, ident: str | None, caller: Identity, role: str | None
    ) -> tuple[ImageCollection, dict[str, object]]:
        """The collection and row of the product ``ident`` as the database ``role`` sees it.

        An embargoed image whose row ``caller`` sees although it is not in its group (the metadata are public)
        is refused: 401 to an anonymous caller, 403 to another identity (PostgreSQL evaluates
        :func:`vostack.db.release_condition` for ``role``).
        """
        if ident is None or not ident.strip():
            raise ParameterError("ID is missing: send the publisher's dataset identifier", param="ID")
        names = ("product", "hdu", "frame", "access_size", "t_min", "t_max", "em_min", "em_max", "s_ra", "s_dec",
                 "s_fov", "s_xel1", "s_xel2", "pol_states", "target_name", "obs_id", "dataproduct_type")  # fmt: skip
        # one statement over every collection (a lookup per collection cost a transaction each)
        selects = []
        for index, collection in enumerate(self.collections):
            released = "true"
            if collection.metadata_public:
                released = db.release_condition(
                    self.settings.role_prefix, db.quote_ident("owner_group"), db.quote_ident("release_date")
                )
            selects.append(f"(SELECT {index}, {', '.join(names)}, {released} FROM {collection.qualified} "
                           "WHERE obs_publisher_did = $1 LIMIT 1)")  # fmt: skip
        if selects:
            sql = " UNION ALL ".join(selects) + " LIMIT 1"
            async with db.open_cursor(
                self.reader(), sql, statement_timeout=self.settings.sync_timeout, args=(ident.strip(),), role=role
            ) as cursor:
                rows = await cursor.fetch(1)
            if rows:
                position, *values, released_now = rows[0]
                assert isinstance(position, int)  # the index of its collection, written into the statement
                if not released_now:
                    raise caller.refusal(f"the image {ident.strip()!r} is not released yet")
                return self.collections[position], dict(zip(names, values, strict=True))
        raise NotFoundError(f"this service has no image {ident.strip()!r}")

    async def _file(self, request: Request) -> Response:
        """An image's FITS file (the records' ``access_url``), streamed."""
        params = await request_params(request, self.limits)
        collection, row = await self._image(request, params.get("ID"))
        path = str(row["product"])
        data = await asyncio.to_thread(collection.store.read, path)
        name = path.rsplit("/", 1)[-1]
        return StreamingResponse(
            _chunks(data), media_type=FITS, headers={"Content-Disposition": f'inline; filename="{name}"',
                                                     "Content-Length": str(len(data))}
        )  # fmt: skip

    async def _preview(self, request: Request) -> Response:
        """The ``#preview`` link: a PNG of the image (about 200 pixels)."""
        params = await request_params(request, self.limits)
        collection, row = await self._image(request, params.get("ID"))
        data = await asyncio.to_thread(collection.store.read, str(row["product"]))
        if row["dataproduct_type"] == TIMESERIES:
            series = await asyncio.to_thread(read_series, data)
            png = await asyncio.to_thread(series_png, series, title=str(row["obs_id"]))
        else:
            png = await asyncio.to_thread(fits_png, data, int(str(row["hdu"])))
        return Response(png, media_type=PNG, headers={"Cache-Control": "private, max-age=3600"})

    async def _votable(self, request: Request) -> Response:
        """A light curve as a VOTable: its time column refers to a ``TIMESYS`` (VOTable 1.4 §3.3)."""
        params = await request_params(request, self.limits)
        collection, row = await self._image(request, params.get("ID"))
        if row["dataproduct_type"] != TIMESERIES:
            raise ParameterError("the VOTable form is offered for time series; this is an image", param="ID")
        data = await asyncio.to_thread(collection.store.read, str(row["product"]))
        series = await asyncio.to_thread(read_series, data)
        document = await asyncio.to_thread(series_votable, series, name=str(row["obs_id"]))
        return Response(document, media_type=MEDIA_TYPE)

    async def _datalink(self, request: Request) -> Response:
        """DataLink 1.1 §3: the file, the preview and the image's own SODA descriptor, per ID."""
        params = await request_params(request, self.limits)
        ids = params.getall("ID")
        if not ids:
            raise ParameterError("ID is missing: send the publisher's dataset identifier", param="ID")
        base = mount_url(request)
        links: list[Link] = []
        descriptors: list[ServiceDescriptor] = []
        for number, ident in enumerate(ids):
            try:
                _, row = await self._image(request, ident)
            except NotFoundError as exc:
                links.append(not_found(ident, exc.message))
                continue
            quoted = quote(ident, safe="")
            title = str(row.get("obs_id") or ident)
            size = row.get("access_size")
            soda = f"soda-{number}"
            links += [
                Link(ident, f"{base}/file?ID={quoted}", description=f"{title}: the FITS file", content_type=FITS,
                     content_length=None if size is None else int(str(size))),
                Link(ident, f"{base}/preview?ID={quoted}", semantics="#preview", description=f"{title}: a PNG preview",
                     content_type=PNG),
            ]  # fmt: skip
            if row["dataproduct_type"] == TIMESERIES:
                links.append(Link(ident, f"{base}/votable?ID={quoted}", description=f"{title}: the light curve as a "
                                  "VOTable (TIMESYS)", content_type=MEDIA_TYPE))  # fmt: skip
                continue
            links.append(Link(ident, service_def=soda, semantics="#cutout",
                              description=f"{title}: cut a region (SODA 1.0)", content_type=FITS))  # fmt: skip
            descriptors.append(_soda_descriptor(base, soda, ident, row))
        return Response(links_document(links, descriptors=descriptors), media_type=DATALINK_FORMAT)

    async def _soda(self, request: Request) -> Response:
        """SODA 1.0 §3 sync: the cut FITS file, streamed; ``NoOverlap`` when nothing is left."""
        params = await request_params(request, self.limits)
        caller = identity(request)
        body, name = await self._cut(params, caller, await self.role_for(caller))
        return StreamingResponse(
            _chunks(body), media_type=FITS, headers={"Content-Disposition": f'attachment; filename="{name}"',
                                                     "Content-Length": str(len(body))}
        )  # fmt: skip

    async def _cut(self, params: Params, caller: Identity, role: str | None) -> tuple[bytes, str]:
        """The FITS file of the cut ``params`` ask for (SODA 1.0 §3.3) for ``caller``, as ``role`` sees the
        products, and its file name."""
        ids = params.getall("ID")
        if len(ids) != 1:
            raise ParameterError("a SODA cutout takes exactly one ID", param="ID")
        cut = parse_cut(params)
        collection, row = await self._lookup(ids[0], caller, role)
        if row["dataproduct_type"] == TIMESERIES:
            raise ParameterError("UsageError: SODA cuts images and cubes; this is a time series", param="ID")
        data = await asyncio.to_thread(collection.store.read, str(row["product"]))
        if cut.empty:
            body = data
        else:
            t_min, t_max = row["t_min"], row["t_max"]
            body = await asyncio.to_thread(
                cutout, data, cut, frame=str(row["frame"]),
                t_min=None if t_min is None else float(str(t_min)), t_max=None if t_max is None else float(str(t_max)),
            )  # fmt: skip
        return body, f"{row['obs_id']}_cutout.fits"

    async def _run_cut(self, context: JobContext) -> None:
        """An async SODA job (SODA 1.0 §3.1, UWS 1.1): the cut as the job's ``result``.  It runs with the groups
        its creator had (:func:`vostack.uws.job_identity`), as a sync cut of the creator would: an image the
        creator may not see is the ``NotFoundFault`` of a missing one (SODA 1.0 §5.2)."""
        caller = job_identity(context.job)
        try:
            body, _ = await self._cut(Params(context.job.parameters), caller, await self.role_for(caller))
        except NotFoundError as exc:
            raise NotFoundError(f"NotFoundFault: {exc.message}") from None
        await context.write_result("result", body, mime_type=FITS)

    async def _page(self, request: Request) -> Response:
        """The products of this service's collections that the caller may see, with previews (HTML)."""
        names = [c.collection for c in self.collections]
        table = ".".join(db.quote_ident(p) for p in self.table.split(".", 1))
        sql = (f"SELECT {', '.join(PAGE_COLUMNS)} FROM {table} WHERE obs_collection = ANY($1::text[]) "
               f"ORDER BY obs_collection, obs_id LIMIT {_PAGE_ROWS + 1}")  # fmt: skip
        async with db.open_cursor(
            self.reader(),
            sql,
            statement_timeout=self.settings.sync_timeout,
            args=(names,),
            role=await self.role_for(identity(request)),
        ) as cursor:
            rows = [dict(zip(PAGE_COLUMNS, row, strict=True)) for row in await cursor.fetch(_PAGE_ROWS + 1)]
        page = products_page(mount_url(request), rows[:_PAGE_ROWS], title=self.settings.title,
                             truncated=len(rows) > _PAGE_ROWS)  # fmt: skip
        return HTMLResponse(page)

    async def _availability(self, request: Request) -> Response:
        """VOSI 1.1 §3.5."""
        return await availability_response(self._pool, "the service is accepting queries")

    async def _capabilities(self, request: Request) -> Response:
        """VOSI 1.1 §3.1 with the SIA, DataLink and SODA capabilities."""
        return capabilities_response(request, self.capabilities(mount_url(request)))


def _soda_error(message: str) -> tuple[bytes, str]:
    """A failed async cut's ``{job}/error``: text starting with its SODA fault (SODA 1.0 §5.2)."""
    faults = ("NoOverlap", "UsageError", "NotFoundFault", "TransientFault", "FatalFault")
    text = message if message.split(":", 1)[0] in faults else f"UsageError: {message}"
    return (text + "\n").encode("utf-8"), "text/plain; charset=utf-8"


async def _chunks(data: bytes) -> AsyncIterator[bytes]:
    for start in range(0, len(data), _CHUNK):
        yield data[start : start + _CHUNK]


def _soda_params(row: dict[str, object] | None = None) -> tuple[InputParam, ...]:
    """The SODA 1.0 §3.3 parameters, with the ranges of the image ``row`` when given (SODA 1.0 §3.3.x VALUES)."""
    row = row or {}
    solar = row.get("frame") == "helioprojective"
    unit = "arcsec" if solar else "deg"
    where = "helioprojective arcseconds (Tx Ty radius)" if solar else "ICRS degrees (ra dec radius)"

    def number(key: str) -> float | None:
        value = row.get(key)
        return None if value is None else float(str(value))

    circle_max = None
    ra, dec, fov = number("s_ra"), number("s_dec"), number("s_fov")
    if ra is not None and dec is not None and fov is not None:
        circle_max = f"{ra!r} {dec!r} {fov / 2!r}"
    em_min, em_max, t_min, t_max = number("em_min"), number("em_max"), number("t_min"), number("t_max")
    pol = str(row.get("pol_states") or "").strip("/")
    return (
        InputParam("CIRCLE", datatype="double", arraysize="3", xtype="circle", unit=unit, ucd="pos.outline;obs.field",
                   description=f"The region to cut, a circle in {where}",
                   maximum=circle_max if not solar else None),
        InputParam("POLYGON", datatype="double", arraysize="*", xtype="polygon", unit=unit, ucd="pos.outline;obs.field",
                   description=f"The region to cut, a polygon in {where.split(' (')[0]}"),
        InputParam("POS", description="The region to cut: CIRCLE, RANGE or POLYGON (SIA 2.0)", ucd="pos.outline"),
        InputParam("BAND", datatype="double", arraysize="2", xtype="interval", unit="m", ucd="em.wl",
                   description="The wavelengths to keep (an image's spectral axis)",
                   minimum=None if em_min is None else repr(em_min), maximum=None if em_max is None else repr(em_max)),
        InputParam("TIME", datatype="double", arraysize="2", xtype="interval", unit="d", ucd="time.interval",
                   description="The times to keep (MJD)",
                   minimum=None if t_min is None else repr(t_min), maximum=None if t_max is None else repr(t_max)),
        InputParam("POL", arraysize="*", ucd="meta.code;phys.polarization", description="Polarization states to keep",
                   options=tuple(p for p in pol.split("/") if p)),
    )  # fmt: skip


def _soda_descriptor(base: str, ident_ref: str, ident: str, row: dict[str, object]) -> ServiceDescriptor:
    """The SODA service descriptor of one image, with its own ranges (DataLink 1.1 §4, SODA 1.0 §3.3)."""
    solar = row.get("frame") == "helioprojective"
    description = "SODA 1.0 cutout of this image" + (
        " in helioprojective arcseconds (CIRCLE Tx Ty radius)" if solar else " in ICRS degrees"
    )
    return ServiceDescriptor(
        base + "/soda",
        standard_id=SODA_SYNC,
        name=ident_ref,  # unique in the document (several IDs, one descriptor each)
        ident=ident_ref,
        description=description,
        input_params=(InputParam("ID", ucd="meta.id;meta.main", value=ident), *_soda_params(row)),
    )
