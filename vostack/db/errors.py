"""Conversion of asyncpg and connection errors into the VOError tree, in one place."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager

import asyncpg

from vostack.errors import QueryTimeoutError, TransientError, UsageError, VOError

__all__ = ["map_errors"]

log = logging.getLogger("vostack.db")

# SQLSTATE classes that mean the database is (temporarily) unavailable.
_TRANSIENT_CLASSES = ("08", "53", "57P")  # connection exception, insufficient resources, shutdown


@contextmanager
def map_errors(*, user_query: bool = False) -> Iterator[None]:
    """Turn asyncpg and socket errors raised inside the block into :class:`VOError`.

    Parameters
    ----------
    user_query
        The block runs SQL translated from a user's ADQL: errors the database
        reports about the query itself (division by zero, bad casts) are the
        user's, reported with HTTP 400 (DALI 1.1 §4.2).
    """
    try:
        yield
    except VOError:
        raise
    except asyncpg.QueryCanceledError:
        raise QueryTimeoutError(
            "the query was stopped because it ran longer than its execution time limit; "
            "run it on the asynchronous endpoint (/async) for a longer limit, or make it more selective"
        ) from None
    except asyncpg.PostgresError as exc:
        state = exc.sqlstate or ""
        if state.startswith(_TRANSIENT_CLASSES) or isinstance(exc, asyncpg.CannotConnectNowError):
            raise TransientError(f"the database is unavailable: {exc}") from None
        if user_query and (state[:2] in ("22", "23", "25", "2F", "42", "54") or state == "XX000"):
            # XX000 in a user's query: pgSphere reports bad input (a radius over 90 degrees) as an internal error
            raise UsageError(f"the database could not run the query: {exc}") from None
        if state.startswith("40"):  # serialization failure, deadlock: worth retrying
            raise TransientError(f"the database reported a transient error: {exc}") from None
        raise VOError(f"the database reported an error: {exc}") from None
    except (OSError, asyncpg.InterfaceError, TimeoutError) as exc:
        # the details name the database's host and port: for the operators' log, not for clients
        log.warning("the database is unreachable: %s", exc)
        raise TransientError("the database is unreachable; try again in a moment") from None
