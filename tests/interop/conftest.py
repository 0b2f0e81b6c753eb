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

from vostack import db
from vostack.cli import build_app
from vostack.demo import demo_config
from vostack.scs import SCSService
from vostack.tap import TAPService


class LiveServer(threading.Thread):
    """uvicorn serving the demo TAP service (and what ``make_app`` adds) until :meth:`stop`.

    With ``spectra`` (the splat wheel) it also serves SSA, which ``make_app`` receives as ``ssa=``, and
    (re)creates the ``ivoa.obscore`` view with access URLs to itself unless ``obscore_view`` is false: the view
    is shared by every server on the database, so a second server must not point it at itself.
    """

    def __init__(
        self,
        dsn: str,
        make_app: Callable[..., ASGIApp] = build_app,
        *,
        spectra: Path | None = None,
        obscore_view: bool = True,
    ) -> None:
        super().__init__(daemon=True)
        self.dsn = dsn
        self.make_app = make_app
        self.spectra = spectra  # the splat wheel: serve SSA at /ssa and ivoa.obscore in TAP
        self.obscore_view = obscore_view
        # IPPROTO_TCP, not 0: asyncio then sets TCP_NODELAY on accepted connections (see vostack.cli.listen)
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
        self.sock.bind(("127.0.0.1", 0))
        self.root = f"http://127.0.0.1:{self.sock.getsockname()[1]}"
        self.url = f"{self.root}/tap"
        self.ready = threading.Event()
        self.server: uvicorn.Server | None = None
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
            tap = TAPService(config=demo_config())
            ssa = None
            if self.spectra is not None:
                from vostack.demo import spex
                from vostack.ssa import SSAService

                ssa = SSAService(
                    mapping=spex.MAPPING,
                    products=spex.SpexProducts(self.spectra),
                    public_url=f"{self.root}/ssa" if self.obscore_view else None,
                )
                await ssa.start(pool)  # creates ivoa.obscore before TAP publishes it
                tap = spex.obscore_tap_service(config=demo_config(spectra=True))
            async with tap.serve(pool):
                # a cone search over Hipparcos, as `vostack demo` serves it
                scs = {"hipparcos.main": SCSService(tap=tap, table="hipparcos.main", max_sr=10)}
                for cone in scs.values():
                    await cone.start(pool)
                app: ASGIApp
                app = self.make_app(tap, scs=scs) if ssa is None else self.make_app(tap, ssa=ssa, scs=scs)
                config = uvicorn.Config(app, lifespan="off", log_level="warning")
                self.server = uvicorn.Server(config)
                self.ready.set()
                await self.server.serve(sockets=[self.sock])
        finally:
            await pool.close()

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

    def claim_obscore(self) -> None:
        """Point ``ivoa.obscore``'s access URLs at this server again.

        The view is shared by the database: a server started since (``vostack demo --dsn`` in
        test_cli.py) re-created it with its own, now dead, URL.
        """
        from vostack.demo import spex
        from vostack.ssa.obscore import obscore_view_sql

        assert self.spectra is not None and self.obscore_view

        async def create() -> None:
            pool = await db.create_pool(self.dsn, max_size=1)
            try:
                await db.execute(pool, obscore_view_sql(spex.MAPPING, datalink_url=f"{self.root}/ssa/datalink"))
            finally:
                await pool.close()

        asyncio.run(create())

    def stop(self) -> None:
        if self.server is not None:
            self.server.should_exit = True
        self.join(timeout=10)


@pytest.fixture(scope="session")
def live_server(postgres_dsn: str, hipparcos: None, spex: None, spex_wheel: Path) -> Iterator[LiveServer]:
    server = LiveServer(postgres_dsn, spectra=spex_wheel)
    server.start_serving()
    yield server
    server.stop()


@pytest.fixture(scope="session")
def live_url(live_server: LiveServer) -> str:
    return live_server.url
