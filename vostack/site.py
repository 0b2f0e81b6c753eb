"""A site: the services a portal mounts, started and stopped together on the portal's pool."""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from contextlib import AsyncExitStack, asynccontextmanager
from typing import Protocol

from vostack import db

__all__ = ["Service", "Site"]


class Service(Protocol):
    """What a site needs of a protocol service (TAP, SSA, UWS apps)."""

    async def start(self, pool: db.Pool) -> None:
        """Borrow the pool and load what the service needs."""

    async def stop(self) -> None:
        """Stop using the pool."""


class Site:
    """The services of one data centre, sharing one database pool.

    Starlette does not run the lifespan of mounted apps, so the portal enters
    :meth:`serve` from its own lifespan::

        async with asyncpg.create_pool(dsn, init=site.init_connection) as pool:
            async with site.serve(pool):
                yield
    """

    def __init__(self, *, services: Sequence[Service], title: str = "vostack site") -> None:
        self.services = tuple(services)
        self.title = title

    @staticmethod
    async def init_connection(conn: db.Connection) -> None:
        """The ``init=`` hook for the portal's ``asyncpg.create_pool``."""
        await db.init_connection(conn)

    @staticmethod
    async def reset_connection(conn: db.Connection) -> None:
        """A ``reset=`` hook for the portal's ``asyncpg.create_pool`` that saves a round trip per release, for a
        portal whose own code leaves no session state on the pool's connections (see
        :func:`vostack.db.reset_connection`)."""
        await db.reset_connection(conn)

    def release_waiters(self) -> None:
        """Answer every blocked UWS WAIT now (UWS 1.1 §2.2.3.1): call it when the server begins to shut down.

        Servers let open requests finish before they stop; a WAIT may block for a minute.
        """
        for service in self.services:
            release = getattr(service, "release_waiters", None)
            if release is not None:
                release()

    @asynccontextmanager
    async def serve(self, pool: db.Pool, *, reads: db.ReadPools | None = None) -> AsyncIterator[None]:
        """Start every service on ``pool``; stop them, last first, when the block ends.

        With ``reads`` (the read replicas of the primary ``pool``), the services that query (TAP, SSA, SIA) send
        their read-only queries there; jobs, TAP_SCHEMA and every write stay on ``pool``.
        """
        async with AsyncExitStack() as stack:
            if reads is not None:
                await reads.start()
                stack.push_async_callback(reads.stop)
            for service in self.services:
                read_from = getattr(service, "read_from", None)
                if reads is not None and read_from is not None:
                    read_from(reads)
                await service.start(pool)
                stack.push_async_callback(service.stop)
            yield
