"""Read replicas: where read-only queries go when a site has streaming replicas of its primary database.

:class:`ReadPools` hands out a pool for each query: the replicas in turn
(round robin) among those found fit at the last check, or the primary when
none is.  A background task checks every replica every ``check_interval``
seconds: it must answer within ``timeout``, be in recovery (a standby, not a
promoted or misconfigured primary) and have replayed the WAL it received up
to ``max_lag`` seconds ago.  Its lag is measured with
``pg_last_xact_replay_timestamp()``, except when everything received is
replayed (an idle primary writes nothing, so the last replayed transaction
grows old on a replica that is perfectly current).

Writes (jobs, TAP_SCHEMA, uploads' temporary tables) always go to the primary:
a hot standby refuses them.
"""

from __future__ import annotations

import asyncio
import itertools
import logging
from collections.abc import Sequence
from dataclasses import dataclass

import asyncpg

from vostack.errors import TransientError

__all__ = ["PoolBorrower", "ReadPools", "ReplicaState"]

log = logging.getLogger("vostack.db")

_CHECK_SQL = """
SELECT pg_is_in_recovery() AS standby,
       CASE WHEN pg_last_wal_receive_lsn() IS NOT DISTINCT FROM pg_last_wal_replay_lsn() THEN 0.0
            ELSE coalesce(extract(epoch FROM clock_timestamp() - pg_last_xact_replay_timestamp()), 'Infinity')
       END::float8 AS lag
"""


@dataclass(frozen=True, slots=True)
class ReplicaState:
    """What the last check found of one replica: fit to serve reads, and why not when it is not."""

    name: str
    fit: bool
    lag: float | None = None
    reason: str | None = None


class ReadPools:
    """The pools read-only queries may use: replicas (health- and lag-checked, round robin), else the primary.

    Parameters
    ----------
    primary
        The primary's pool (also used for every write).
    replicas
        One pool per streaming replica, with names for the log (``host:port``).
    max_lag
        A replica whose replay is more than this many seconds behind is skipped.
    check_interval
        Seconds between checks of every replica.
    timeout
        Seconds a replica has to answer a check.
    """

    def __init__(
        self,
        primary: asyncpg.Pool,
        replicas: Sequence[tuple[str, asyncpg.Pool]] = (),
        *,
        max_lag: float = 10.0,
        check_interval: float = 2.0,
        timeout: float = 2.0,
    ) -> None:
        if max_lag < 0 or check_interval <= 0 or timeout <= 0:
            raise ValueError("max_lag must not be negative; check_interval and timeout must be positive")
        self.primary = primary
        self.replicas = tuple(replicas)
        self.max_lag = max_lag
        self.check_interval = check_interval
        self.timeout = timeout
        self._fit: tuple[asyncpg.Pool, ...] = ()
        self._turn = itertools.count()
        self._states: dict[str, ReplicaState] = {}
        self._task: asyncio.Task[None] | None = None

    @property
    def states(self) -> tuple[ReplicaState, ...]:
        """The replicas as the last check found them."""
        return tuple(self._states.values())

    def reader(self) -> asyncpg.Pool:
        """The pool for the next read-only query: the next fit replica in turn, or the primary."""
        fit = self._fit
        if not fit:
            return self.primary
        return fit[next(self._turn) % len(fit)]

    def failed(self, pool: asyncpg.Pool) -> None:
        """A query found ``pool`` unreachable: skip it until a check finds it fit again."""
        self._fit = tuple(p for p in self._fit if p is not pool)

    async def check(self) -> tuple[ReplicaState, ...]:
        """Check every replica now (concurrently); returns what was found."""
        states = await asyncio.gather(*(self._check(name, pool) for name, pool in self.replicas))
        for state in states:
            before = self._states.get(state.name)
            if before is None or before.fit != state.fit:
                if state.fit:
                    log.info("read replica %s serves queries (lag %.1f s)", state.name, state.lag or 0.0)
                else:
                    log.warning("read replica %s skipped: %s", state.name, state.reason)
            self._states[state.name] = state
        self._fit = tuple(pool for (name, pool), state in zip(self.replicas, states, strict=True) if state.fit)
        return tuple(states)

    async def _check(self, name: str, pool: asyncpg.Pool) -> ReplicaState:
        try:
            async with asyncio.timeout(self.timeout):
                async with pool.acquire() as conn:
                    row = await conn.fetchrow(_CHECK_SQL)
        except (OSError, TimeoutError, asyncpg.PostgresError, asyncpg.InterfaceError) as exc:
            return ReplicaState(name, False, reason=f"unreachable ({type(exc).__name__}: {exc})".strip())
        lag = float(row["lag"])
        if not row["standby"]:
            return ReplicaState(name, False, lag, "not in recovery: it is no standby (promoted?)")
        if lag > self.max_lag:
            return ReplicaState(name, False, lag, f"replay lags {lag:.1f} s (more than {self.max_lag:g} s)")
        return ReplicaState(name, True, lag)

    async def start(self) -> None:
        """Check the replicas once, then keep checking them in the background."""
        if not self.replicas or self._task is not None:
            return
        await self.check()
        self._task = asyncio.create_task(self._keep_checking(), name="vostack read replica checks")

    async def stop(self) -> None:
        """Stop checking; reads go to the primary from now on."""
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)
        self._fit = ()

    async def _keep_checking(self) -> None:
        while True:
            await asyncio.sleep(self.check_interval)
            try:
                await self.check()
            except Exception:  # a bug here must not stop the checks for good
                log.exception("checking the read replicas failed")


class PoolBorrower:
    """The pools a protocol service borrows: the portal's primary while it runs (``_pool``, set by its
    ``start``), and the read replicas its queries may go to (:meth:`read_from`, called by ``Site.serve``)."""

    #: The service's name in the error answered while it starts ("the TAP service is starting").
    service_name = "vostack"
    _pool: asyncpg.Pool | None = None
    _reads: ReadPools | None = None

    @property
    def pool(self) -> asyncpg.Pool:
        """The database pool borrowed from the portal (the primary)."""
        if self._pool is None:
            raise TransientError(f"the {self.service_name} service is starting; try again in a moment")
        return self._pool

    def read_from(self, reads: ReadPools) -> None:
        """Run read-only queries on ``reads``: the read replicas, or the primary when none is fit.  Jobs,
        TAP_SCHEMA, queries with uploads and every write stay on the primary (a standby refuses writes)."""
        self._reads = reads

    def reader(self) -> asyncpg.Pool:
        """The pool for the next read-only query: a read replica, or the primary."""
        pool = self.pool
        return self._reads.reader() if self._reads is not None else pool
