"""Expose a Python function as a UWS 1.1 job service in your own portal: a toy model run.

Run it with:  VOSTACK_DSN=postgresql://user@host/db uvicorn examples.compute:app
then, for instance with httpx or curl:

    curl -i -d STARS=200 -d YEARS=5000 -d PHASE=RUN http://127.0.0.1:8000/model
    curl 'http://127.0.0.1:8000/model/<job id>?WAIT=30'
    curl http://127.0.0.1:8000/model/<job id>/results/result

``cluster_model`` is a plain function (it runs in a worker thread and polls
``context.cancelled`` so that ABORT stops it); async functions work the same way.
Jobs live in PostgreSQL (schema ``vostack_uws``): any number of processes can
serve the same URL, a job runs in exactly one of them, and a job whose process
dies is run again.
"""

from __future__ import annotations

import io
import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import asyncpg
import numpy as np
from starlette.applications import Starlette

from vostack import Site
from vostack.uws import FunctionExecutor, JobContext, Parameter, UWSService


def cluster_model(*, stars: int, years: float, seed: int, context: JobContext) -> bytes:
    """Drift a Gaussian star cluster for ``years`` and return the final positions as CSV."""
    rng = np.random.default_rng(seed)
    position = rng.normal(0.0, 1.0, size=(stars, 3))  # pc
    velocity = rng.normal(0.0, 0.5e-6, size=(stars, 3))  # pc/yr
    steps = 100
    for _ in range(steps):
        if context.cancelled.is_set():  # ABORT or execution duration exceeded
            return b""
        position += velocity * (years / steps)
    out = io.StringIO()
    out.write("x_pc,y_pc,z_pc\n")
    np.savetxt(out, position, delimiter=",", fmt="%.6f")
    return out.getvalue().encode()


def _positive_int(text: str) -> int:
    value = int(text)
    if not 0 < value <= 1_000_000:
        raise ValueError("must be between 1 and 1000000")
    return value


model = UWSService(
    name="model",
    executor=FunctionExecutor(
        cluster_model,
        parameters=[
            Parameter("STARS", _positive_int, default=100, description="number of stars"),
            Parameter("YEARS", float, description="time to drift, in years"),
            Parameter("SEED", int, default=1, description="random seed"),
        ],
        media_type="text/csv",
        context=True,
    ),
    max_concurrent=2,
    execution_duration=600,
)
site = Site(services=[model], title="Model runs")


@asynccontextmanager
async def lifespan(app: Starlette) -> AsyncIterator[None]:
    async with (
        asyncpg.create_pool(os.environ["VOSTACK_DSN"], init=site.init_connection) as pool,
        site.serve(pool),  # creates the job tables, starts this process's job runner
    ):
        yield


app = Starlette(routes=model.routes("/model"), lifespan=lifespan)
