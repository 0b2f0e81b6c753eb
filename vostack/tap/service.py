"""The TAP 1.1 service as an ASGI app a portal mounts with ``Mount("/tap", tap)``."""

from __future__ import annotations

import asyncio
import logging
from collections import OrderedDict
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping, Sequence
from contextlib import aclosing, asynccontextmanager
from typing import Any

from starlette.middleware.cors import CORSMiddleware
from starlette.requests import Request
from starlette.responses import HTMLResponse, Response
from starlette.routing import Route, Router
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from vostack import adql, db, vosi, web
from vostack.auth import ANONYMOUS, Identity
from vostack.config import PublishConfig, ServiceConfig
from vostack.dali import OutputFormat
from vostack.errors import ADQLError, TransientError, VOError
from vostack.schema import Access, TableSet
from vostack.tap.capabilities import (
    UPLOAD_HTTP,
    UPLOAD_HTTPS,
    UPLOAD_INLINE,
    DataModel,
    LanguageFeature,
    tap_capability,
)
from vostack.tap.examples import CheckedExample, check_examples, examples_document
from vostack.tap.jobs import async_service
from vostack.tap.metadata import build_tableset
from vostack.tap.page import PREVIEW_ROWS, render_page
from vostack.tap.params import TAP_FORMATS, TAPRequest, parse_tap_request
from vostack.tap.query import QueryRun, StreamAborted, fetch_preview
from vostack.tap.upload import Upload, UploadLimits, load_uploads

__all__ = ["TAPService"]

log = logging.getLogger("vostack.tap")


async def _wait_for_disconnect(receive: Receive) -> None:
    while True:
        message: Message = await receive()
        if message["type"] == "http.disconnect":
            return


#: Seconds a query runs before a client that goes away is watched for (and then its query cancelled at once).
WATCH_AFTER = 0.05

#: A result document that ends within this many bytes goes out as one body with its Content-Length (a small
#: query's answer in one write, not one per piece); a longer one streams from there on.
SMALL_DOCUMENT = 64 * 1024


class QueryResponse:
    """Runs a query and streams its document; a client that goes away cancels it in PostgreSQL.

    A document that ends within :data:`SMALL_DOCUMENT` bytes is sent whole, with
    its ``Content-Length``; a longer one is streamed (chunked) after its first
    :data:`SMALL_DOCUMENT` bytes, so memory stays flat whatever its size.
    """

    def __init__(self, start: Callable[[], Awaitable[QueryRun]], *, filename: str) -> None:
        self._start = start
        self._filename = filename
        self._finished = False  # the last message of the response is sent

    async def _respond(self, send: Send) -> None:
        run = await self._start()  # a failure before the first byte: the service's edge answers it
        fmt = run.request.format
        headers = [
            (b"content-type", fmt.mime.encode()),
            (b"content-disposition", f'inline; filename="{self._filename}.{fmt.extension}"'.encode()),
        ]
        pending: list[bytes] | None = []  # the first bytes, until they are sent
        size = 0
        try:
            async with aclosing(run.iter_bytes()) as chunks:
                async for chunk in chunks:
                    if pending is None:
                        await send({"type": "http.response.body", "body": chunk, "more_body": True})
                        continue
                    pending.append(chunk)
                    size += len(chunk)
                    if size > SMALL_DOCUMENT:
                        await self._stream(send, headers, pending)
                        pending = None
            if pending is None:
                self._finished = True
                await send({"type": "http.response.body", "body": b"", "more_body": False})
            else:
                headers.append((b"content-length", str(size).encode()))
                await send({"type": "http.response.start", "status": 200, "headers": headers})
                self._finished = True
                await send({"type": "http.response.body", "body": b"".join(pending), "more_body": False})
        except StreamAborted as exc:
            if pending is not None:  # failed within the first bytes: they go out as a stream would send them
                await self._stream(send, headers, pending)
            # no final chunk: the client sees an incomplete transfer, not a silently short table
            log.warning("result stream aborted after its first byte: %s", exc.message)
        finally:
            await run.aclose()  # at once, also when cancelled: the connection goes back to the pool

    @staticmethod
    async def _stream(send: Send, headers: list[tuple[bytes, bytes]], first: list[bytes]) -> None:
        """Start a streamed (chunked) response with the ``first`` bytes."""
        await send({"type": "http.response.start", "status": 200, "headers": headers})
        await send({"type": "http.response.body", "body": b"".join(first), "more_body": True})

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        # The response is made in this task.  A query still running after WATCH_AFTER seconds gets a task that
        # waits for the client to go away and then cancels this one; most queries end sooner, and a task per
        # request costs them several turns of the event loop.
        task = asyncio.current_task()
        assert task is not None
        watcher: asyncio.Task[None] | None = None
        gone = False

        async def watch() -> None:
            nonlocal gone
            await _wait_for_disconnect(receive)
            if not self._finished:  # uvicorn also reports a disconnect once the response is complete
                gone = True
                task.cancel()

        def start_watching() -> None:
            nonlocal watcher
            watcher = asyncio.ensure_future(watch())

        timer = asyncio.get_running_loop().call_later(WATCH_AFTER, start_watching)
        try:
            await self._respond(send)
        except asyncio.CancelledError:
            if not gone:
                raise
            task.uncancel()  # the client went away: its query is cancelled, nobody is left to answer
        finally:
            timer.cancel()
            if watcher is not None:
                watcher.cancel()


class TAPService(db.PoolBorrower):
    """A TAP 1.1 service (TAP 1.1 §2): ``/sync``, VOSI ``/availability``, ``/capabilities``, ``/tables``.

    Parameters
    ----------
    config
        What to publish and the service settings.  With
        ``tap_schema_source = "generate"`` TAP_SCHEMA is written from the
        database catalog plus this metadata when the service starts; with
        ``"existing"`` the database's TAP_SCHEMA is served as it is.
    formats
        The output formats offered, default first.
    udfs
        The portal's ADQL user-defined functions (name, typed parameters, SQL template), declared in the
        capabilities next to the built-in ``ivo_*`` ones (ADQL 2.1 §2.5, TAPRegExt 1.0 §2.3).
    async_options
        Options of the UWS job service behind ``/async`` (:class:`vostack.uws.UWSService`:
        ``schema``, ``results``, ``identity``, ``max_concurrent``, ...).
    row_security
        Some published table has rows only some groups see (embargoed products, with
        :func:`vostack.db.apply_release`): queries then always run under their caller's role.
    """

    service_name = "TAP"

    def __init__(
        self,
        *,
        config: PublishConfig | None = None,
        formats: Sequence[OutputFormat] = TAP_FORMATS,
        async_options: Mapping[str, Any] | None = None,
        udfs: Sequence[adql.UDF] = (),
        data_models: Sequence[DataModel] = (),
        row_security: bool = False,
    ) -> None:
        self.config = config or PublishConfig()
        if not formats:
            raise ValueError("a TAP service needs at least one output format")
        self.formats = tuple(formats)
        self.udfs = tuple(udfs)
        self.data_models = tuple(data_models)
        self._pool = None
        self._reads = None
        self._tableset: TableSet | None = None
        self._examples: tuple[CheckedExample, ...] = ()
        self.access: Access = self.config.access
        # one translator (with its cache of query shapes) and table set per view: the groups that matter
        self._views: OrderedDict[frozenset[str], tuple[TableSet, adql.Translator]] = OrderedDict()
        self._roles: dict[frozenset[str], str] = {}
        self.row_security = row_security
        self._group_roles: frozenset[str] = frozenset()  # the group roles that exist, for row security
        self.limits = web.RequestLimits.of(self.config.service, files=True)
        self.jobs = async_service(self, **(async_options or {}))  # TAP 1.1 §2.2: /async
        self._router = Router(
            routes=[
                Route("/", self._home, methods=["GET"]),
                Route("/sync", self._sync, methods=["GET", "POST"]),
                *self.jobs.routes("/async"),
                Route("/availability", self._availability, methods=["GET"]),
                Route("/capabilities", self._capabilities, methods=["GET"]),
                Route("/tables", self._tables, methods=["GET"]),
                Route("/tables/{name:path}", self._table, methods=["GET"]),
                Route("/examples", self._examples_page, methods=["GET"]),
            ]
        )
        # errors as DALI documents (DALI 1.1 §4.2); compress when the client asks (DALI clients do);
        # allow browser pages (Aladin Lite) to call us
        app: ASGIApp = web.ErrorDocuments(self._router, service="TAP", document=web.dali_document())
        app = web.compressed(app)
        if self.config.service.cors_origins:
            app = CORSMiddleware(
                app,
                allow_origins=list(self.config.service.cors_origins),
                allow_methods=["GET", "POST", "HEAD", "DELETE"],
                allow_headers=["*"],
                expose_headers=["Content-Disposition", "Location"],
            )
        self._app = app

    @property
    def settings(self) -> ServiceConfig:
        """The service-wide settings (limits, TAP_SCHEMA location)."""
        return self.config.service

    @property
    def tableset(self) -> TableSet:
        """The published metadata; raises :class:`TransientError` before :meth:`start`."""
        if self._tableset is None:
            raise TransientError("the TAP service is starting; try again in a moment")
        return self._tableset

    @property
    def translator(self) -> adql.Translator:
        """The ADQL translator of what everyone sees (the anonymous view), with its cache of query shapes."""
        return self.translator_for(ANONYMOUS)

    def _view(self, identity: Identity) -> tuple[TableSet, adql.Translator]:
        tableset = self.tableset
        key = self.access.view(identity.groups)
        found = self._views.get(key)
        if found is None:
            visible = self.access.visible(tableset, key)
            found = (visible, adql.Translator(visible, udfs=self.udfs))
            self._views[key] = found
            while len(self._views) > _VIEWS:
                self._views.popitem(last=False)
        self._views.move_to_end(key)
        return found

    def tableset_for(self, identity: Identity) -> TableSet:
        """What ``identity`` sees of the published metadata (schemas, tables, columns, keys)."""
        return self._view(identity)[0]

    def translator_for(self, identity: Identity) -> adql.Translator:
        """The ADQL translator of what ``identity`` sees: a table it may not see does not exist for it.

        Identities whose groups give the same view share one translator and its cache of query shapes.
        """
        return self._view(identity)[1]

    @property
    def uses_roles(self) -> bool:
        """Whether queries run under their caller's role (tables restricted to groups, or row security)."""
        return self.access.restricted or self.row_security

    async def role_for(self, identity: Identity) -> str | None:
        """The database role ``identity``'s queries run as (:mod:`vostack.db.access`); ``None`` when nothing
        is restricted (queries then run as the pool's user, as before)."""
        if not self.uses_roles:
            return None
        prefix = self.settings.role_prefix
        key = self.access.view(identity.groups) | frozenset(
            g for g in identity.groups if db.group_role(prefix, g) in self._group_roles
        )
        role = self._roles.get(key)
        if role is None:
            role = await db.reader_role(self.pool, prefix, key)
            self._roles[key] = role
        return role

    async def open_query(
        self,
        request: TAPRequest,
        *,
        time_limit: float,
        uploads: Sequence[Upload] = (),
        run: type[QueryRun] = QueryRun,
        identity: Identity = ANONYMOUS,
    ) -> QueryRun:
        """Start ``request`` as a ``run`` (TAP 1.1 §2.7) with what ``identity`` may see, under its role, on a
        read replica, or on the primary when it has uploads (their temporary tables are writes) or when the
        replica turns out to be unreachable."""
        translator, role = self.translator_for(identity), await self.role_for(identity)
        pool = self.pool if uploads else self.reader()
        try:
            return await run.start(pool, translator, request, time_limit=time_limit, uploads=uploads, role=role)
        except TransientError:
            if pool is self.pool or self._reads is None:
                raise
            self._reads.failed(pool)  # gone since its last check: skipped until a check finds it back
            log.warning("a read replica failed a query; running it on the primary")
            return await run.start(self.pool, translator, request, time_limit=time_limit, uploads=uploads, role=role)

    async def start(self, pool: db.Pool) -> None:
        """Borrow ``pool``, generate TAP_SCHEMA if configured to, and load it (TAP 1.1 §4)."""
        settings = self.settings
        if settings.tap_schema_source == "generate":
            # servers started together write it once, one after another; the others find it done
            await db.generate_tap_schema(
                pool,
                settings.tap_schema,
                list(self.config.tables),
                lambda catalog: build_tableset(catalog, self.config, tap_schema=settings.tap_schema),
            )
        tableset = await db.read_tap_schema(pool, settings.tap_schema)
        self._examples = check_examples(self.config.examples, tableset, udfs=self.udfs)
        if self.uses_roles:
            await db.apply_access(
                pool,
                prefix=settings.role_prefix,
                tables=_grants(tableset, self.access),
                tap_schema=settings.tap_schema if settings.tap_schema_source == "generate" else None,
                tap_schema_rules=_tap_schema_rules(tableset, self.access),
            )
        if self.row_security:
            self._group_roles = await db.group_roles(pool, settings.role_prefix)
        self._tableset = tableset
        self._views.clear()
        self._roles.clear()
        self._pool = pool
        await self.jobs.start(pool)

    async def stop(self) -> None:
        """Give the pool back; requests after this get HTTP 503."""
        await self.jobs.stop()
        self._pool = None

    @asynccontextmanager
    async def serve(self, pool: db.Pool) -> AsyncIterator[None]:
        """Run the service on ``pool`` for the duration of the block (enter it from the portal's lifespan)."""
        await self.start(pool)
        try:
            yield
        finally:
            await self.stop()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        await self._app(scope, receive, send)

    # ------------------------------------------------------------------ endpoints

    async def _sync(self, request: Request) -> QueryResponse:
        """TAP 1.1 §2.1: run a query synchronously and stream the result."""
        settings = self.settings
        params, files = await web.request_form(request, self.limits)
        tap_request = parse_tap_request(
            params, formats=self.formats, maxrec=settings.maxrec, hardlimit=settings.hardlimit
        )
        caller = web.identity(request)

        async def start() -> QueryRun:
            uploads = await load_uploads(tap_request.uploads, files, UploadLimits.of(settings))
            return await self.open_query(
                tap_request, time_limit=settings.sync_timeout, uploads=uploads, identity=caller
            )

        return QueryResponse(start, filename="result")

    async def _availability(self, request: Request) -> Response:
        """VOSI 1.1 §3.5: whether the service can answer queries now."""
        return await web.availability_response(
            self._pool, f"the service is accepting queries; /async: {self.jobs.wait_note}"
        )

    def release_waiters(self) -> None:
        """Answer the blocked WAITs of ``/async`` now (see :meth:`vostack.uws.UWSService.release_waiters`)."""
        self.jobs.release_waiters()

    def capabilities(self, base_url: str) -> list[vosi.Capability]:
        """The service's capabilities below ``base_url``: TAPRegExt, VOSI and DALI examples (VOSI 1.1 §3.1).

        The same list feeds ``/capabilities`` and the service's registry record.
        """
        settings = self.settings
        return [
            tap_capability(
                base_url=base_url,
                output_formats=self.formats,
                features=[LanguageFeature(*feature) for feature in adql.language_features(self.udfs)],
                maxrec=settings.maxrec,
                hardlimit=settings.hardlimit,
                # the limits of /async jobs (UWS 1.1); /sync has its own, sync_timeout, stated in its errors
                execution_duration=(self.jobs.execution_duration, self.jobs.max_execution_duration),
                retention_period=(
                    int(self.jobs.retention.total_seconds()),
                    int(self.jobs.max_retention.total_seconds()),
                ),
                # TAP 1.1 §4.5: inline (multipart) and http(s) uploads, limited in bytes as load_uploads enforces
                upload_methods=(
                    ((UPLOAD_INLINE, UPLOAD_HTTP, UPLOAD_HTTPS) if settings.upload_http else (UPLOAD_INLINE,))
                    if settings.upload_limit
                    else ()
                ),
                upload_limit=settings.upload_limit or None,
                data_models=self.data_models,
            ),
            *vosi.vosi_capabilities(base_url, examples=bool(self._examples)),
        ]

    async def _capabilities(self, request: Request) -> Response:
        """VOSI 1.1 §3.1 with the TAPRegExt capability (TAPRegExt 1.0)."""
        return web.capabilities_response(request, self.capabilities(web.mount_url(request)))

    async def _tables(self, request: Request) -> Response:
        """VOSI 1.1 §3.4: the table set the caller sees, ``detail=min`` without columns."""
        tableset = self.tableset_for(web.identity(request))
        detail = ((await web.request_params(request, self.limits)).get("DETAIL") or "").strip().lower()
        # VOSI 1.1 §3.3: detail is a hint; anything but "min" gets the full document
        document = vosi.tables_document(tableset, detail="min" if detail == "min" else "max")
        return Response(document, media_type=web.XML)

    async def _table(self, request: Request) -> Response:
        """VOSI 1.1 §3.4: one table's metadata at ``/tables/{name}``."""
        name = request.path_params["name"]
        tableset = self.tableset_for(web.identity(request))
        table = tableset.table(name)
        if table is None:  # VOSI 1.1 §3.4 leaves the document to the service: a line of text
            message = f"this service publishes no table named {name!r}; see /tables for the list\n"
            return Response(message, status_code=404, media_type="text/plain")
        return Response(vosi.table_document(table, tableset.keys_from(table.name)), media_type=web.XML)

    def examples_for(self, identity: Identity) -> tuple[CheckedExample, ...]:
        """The examples whose queries run on what ``identity`` sees."""
        if not self.access.restricted:
            return self._examples
        translator = self.translator_for(identity)
        shown = []
        for checked in self._examples:
            try:
                translator.translate(checked.example.query)
            except ADQLError:
                continue
            shown.append(checked)
        return tuple(shown)

    async def _examples_page(self, request: Request) -> Response:
        """DALI 1.1 §2.3: the example queries, XHTML with RDFa."""
        examples = self.examples_for(web.identity(request))
        if not examples:
            return Response("this service has no examples\n", status_code=404, media_type="text/plain")
        document = examples_document(examples, title=self.settings.title)
        return Response(document, media_type="application/xhtml+xml")

    async def _home(self, request: Request) -> Response:
        """The page for people: holdings, examples and a query form; ``?QUERY=`` shows the first rows."""
        preview, error = None, None
        caller = web.identity(request)
        examples = self.examples_for(caller) if self._tableset is not None else ()
        try:
            query = ((await web.request_params(request, self.limits)).get("QUERY") or "").strip()
        except VOError as exc:  # shown on the page, as a query's error is
            query, error = "", exc.message
        if query:
            try:
                preview = await fetch_preview(
                    self.reader(),
                    self.translator_for(caller),
                    query,
                    rows=PREVIEW_ROWS,
                    time_limit=self.settings.sync_timeout,
                    role=await self.role_for(caller),
                )
            except VOError as exc:
                error = exc.message
        elif examples:
            query = examples[0].example.query
        page = render_page(
            title=self.settings.title,
            description=self.settings.description,
            base=web.mount_url(request),
            tableset=self.tableset_for(caller) if self._tableset is not None else None,
            examples=examples,
            features=adql.language_features(self.udfs),
            query=query,
            preview=preview,
            error=error,
        )
        return HTMLResponse(page, status_code=200 if error is None else 400)


_VIEWS = 64
"""Views (translators with their caches) kept: one per combination of the groups the rules name."""


def _grants(tableset: TableSet, access: Access) -> list[db.TableGrant]:
    """Who may read each published table and its columns in the database (:mod:`vostack.db.access`).

    A table under both a schema rule and its own is granted to the groups of its own rule; the
    translator still asks for both.
    """
    grants = []
    for table in tableset.tables():
        rule = access.tables.get(table.name.lower()) or access.schemas.get(table.schema_name.lower())
        columns = {
            column.identifier: groups
            for column in table.columns
            if (groups := access.columns.get((table.name.lower(), column.identifier.lower())))
        }
        grants.append(
            db.TableGrant(
                name=table.db_name or table.name,
                all_columns=tuple(c.identifier for c in table.columns),
                groups=rule or frozenset(),
                columns=columns,
            )
        )
    return grants


def _tap_schema_rules(tableset: TableSet, access: Access) -> list[db.TapSchemaRule]:
    """The rows of TAP_SCHEMA each group sees: a rule per schema rule, table rule and column rule."""
    rules = []
    for table in tableset.tables():
        for groups in (access.schemas.get(table.schema_name.lower()), access.tables.get(table.name.lower())):
            if groups:
                rules.append(db.TapSchemaRule(table.name, groups))
        for column in table.columns:
            if groups := access.columns.get((table.name.lower(), column.identifier.lower())):
                rules.append(db.TapSchemaRule(table.name, groups, column=column.name))
    return rules
