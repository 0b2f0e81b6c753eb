"""A live vostack server on 127.0.0.1, in a thread with its own event loop and pool."""

from __future__ import annotations

import asyncio
import socket
import threading
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import uvicorn
from starlette.types import ASGIApp

from vostack import Site, db
from vostack.cli import publication_app
from vostack.demo import demo_publication, images
from vostack.demo.planetary import PlanetarySources
from vostack.publish import Publication
from vostack.ssa.obscore import obscore_view_sql


class LiveServer(threading.Thread):
    """uvicorn serving the demo's services (:func:`vostack.demo.demo_publication`) until :meth:`stop`.

    TAP over Hipparcos, its cone search and MOC coverage always; with ``spectra`` (the splat wheel) also SSA
    and ``ivoa.obscore`` in TAP, whose view is (re)created with access URLs to this server unless
    ``obscore_view`` is false (the view is shared by every server on the database, so a second server must not
    point it at itself); with ``planetary`` (the downloads) the EPN-TAP collections (their source tables must be
    loaded) and the maps' files at ``/products``; with ``images`` (the demo's image files) SIA at ``/sia`` and the
    images in ``ivoa.obscore``; with ``searches`` the demo's search pages (and, with ``planetary``, the bodies'
    pictures for their planetary view).
    ``make_app`` turns the :class:`vostack.publish.Publication` into the ASGI app (a test adds its middleware).
    """

    def __init__(
        self,
        dsn: str,
        make_app: Callable[[Publication], ASGIApp] = publication_app,
        *,
        spectra: Path | None = None,
        obscore_view: bool = True,
        planetary: PlanetarySources | None = None,
        public_url: str | None = None,
        images: Path | None = None,
        searches: bool = False,
    ) -> None:
        super().__init__(daemon=True)
        self.images = images
        self.dsn = dsn
        self.make_app = make_app
        self.spectra = spectra  # the splat wheel: serve SSA at /ssa and ivoa.obscore in TAP
        self.obscore_view = obscore_view
        self.planetary = planetary
        self.searches = searches  # the demo's faceted searches and their pages (and, with planetary, its maps)
        # IPPROTO_TCP, not 0: asyncio then sets TCP_NODELAY on accepted connections (see vostack.cli.listen)
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
        self.sock.bind(("127.0.0.1", 0))
        self.root = f"http://127.0.0.1:{self.sock.getsockname()[1]}"
        self.url = f"{self.root}/tap"
        # the start of the EPN-TAP views' access URLs, fixed in the views (shared by the database): a second
        # server gives the first one's, so that it does not point them at itself
        self.public_url = public_url or self.root
        self.ready = threading.Event()
        self.server: uvicorn.Server | None = None
        self.publication: Publication | None = None
        self.error: BaseException | None = None

    def run(self) -> None:
        try:
            asyncio.run(self._main())
        except BaseException as exc:
            self.error = exc
            self.ready.set()

    async def _main(self) -> None:
        pool = await db.create_pool(self.dsn, max_size=4)
        try:
            from vostack.demo import project

            # the demo as `vostack demo` serves it, private project included (the database is shared with it)
            await project.ensure_project(pool, spectra=self.spectra is not None, maps=self.planetary is not None)
            ssa = None
            if self.spectra is not None:
                from vostack.demo import spex
                from vostack.ssa import SSAService

                ssa = SSAService(
                    mapping=project.embargoed_mapping(spex.MAPPING),
                    products=spex.SpexProducts(self.spectra),
                    public_url=f"{self.root}/ssa" if self.obscore_view else None,
                )
            publication = demo_publication(
                ssa=ssa, planetary=self.planetary, public_url=self.public_url, private=True, images=self.images
            )
            if not self.obscore_view:
                publication.obscore = None  # the first server's view stays
            if self.searches:
                from vostack.demo.search import demo_searches
                from vostack.publish import add_searches

                add_searches(publication, demo_searches())
                if self.planetary is not None:
                    from vostack.demo.textures import fetch_body_textures

                    stellarium = self.planetary.stellarium
                    publication.body_maps = await asyncio.to_thread(fetch_body_textures, stellarium.parent, stellarium)
            self.publication = publication
            async with Site(services=publication.services).serve(pool):
                app = self.make_app(publication)
                config = uvicorn.Config(app, lifespan="off", log_level="warning")
                self.server = uvicorn.Server(config)
                self.ready.set()
                await self.server.serve(sockets=[self.sock])
        finally:
            await pool.close()

    def beside(self, make_app: Callable[[Publication], ASGIApp], *, images: bool = False) -> LiveServer:
        """Another server of the same services (``make_app`` makes its app) on the same database, which leaves
        the views (``ivoa.obscore``, the EPN-TAP ones) as this one made them: their access URLs point here;
        with ``images``, SIA over this one's images too."""
        return LiveServer(
            self.dsn,
            make_app,
            spectra=self.spectra,
            obscore_view=False,
            planetary=self.planetary,
            public_url=self.public_url,
            images=self.images if images else None,
        )

    def start_serving(self) -> None:
        """Start the thread and return once uvicorn accepts connections."""
        self.start()
        self.ready.wait(timeout=60)
        if self.error is not None:
            raise self.error
        for _ in range(100):
            try:
                socket.create_connection(self.sock.getsockname(), timeout=0.1).close()
                return
            except OSError:
                threading.Event().wait(0.05)

    def claim_views(self) -> None:
        """Point the access URLs of ``ivoa.obscore`` and of the EPN-TAP views at this server again.

        The views are shared by the database: a server started since (``vostack demo --dsn`` in test_cli.py)
        re-created them with its own, now dead, URLs.  Starting the services again re-creates what differs.
        """
        publication = self.publication
        assert publication is not None, "the server is not serving"
        reader = db.role_name(publication.tap.settings.role_prefix, ())  # TAP's grants go with a view made anew

        async def create() -> None:
            pool = await db.create_pool(self.dsn, max_size=1)
            try:
                for collection in publication.collections:
                    await collection.start(pool)  # keeps no pool: it only writes and checks its view
                    if publication.tap.uses_roles:
                        await db.execute(pool, f"GRANT SELECT ON {collection.table} TO {db.quote_ident(reader)}")
                if self.obscore_view and publication.obscore is not None:
                    await publication.obscore.start(pool)
                    await db.execute(pool, f"GRANT SELECT ON ivoa.obscore TO {db.quote_ident(reader)};")
                elif self.obscore_view and publication.ssa is not None:
                    url = f"{self.root}/ssa/datalink"
                    view = obscore_view_sql(publication.ssa.mapping, datalink_url=url)
                    await db.execute(pool, view + f"GRANT SELECT ON ivoa.obscore TO {db.quote_ident(reader)};")
            finally:
                await pool.close()

        asyncio.run(create())

    def stop(self) -> None:
        if self.server is not None:
            self.server.should_exit = True
        self.join(timeout=10)


@pytest.fixture(scope="session")
def image_dir() -> Path:
    """The demo's image files (:func:`vostack.demo.images.fetch_images`)."""
    return images.fetch_images(Path(__file__).resolve().parents[2] / ".vostack" / "images")


@pytest.fixture(scope="session")
def live_server(
    postgres_dsn: str,
    hipparcos: None,
    spex: None,
    spex_wheel: Path,
    planetary: None,
    planetary_data: PlanetarySources,
    image_dir: Path,
) -> Iterator[LiveServer]:
    server = LiveServer(postgres_dsn, spectra=spex_wheel, planetary=planetary_data, images=image_dir)
    server.start_serving()
    yield server
    server.stop()


@pytest.fixture(scope="session")
def live_url(live_server: LiveServer) -> str:
    return live_server.url
