"""Mount vostack's TAP service inside your own Starlette portal, over your own PostgreSQL.

Run it with:  VOSTACK_DSN=postgresql://user@host/db uvicorn examples.portal:app
(with the demo's database: the DSN ``vostack demo`` prints while it runs; the table is hipparcos.main).
The README shows this file from its first import on; a test keeps the two the same.
"""

from __future__ import annotations

import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import asyncpg
from starlette.applications import Starlette
from starlette.routing import Mount

from vostack import Site
from vostack.config import load_config
from vostack.tap import TAPService

DSN = os.environ["VOSTACK_DSN"]  # e.g. the one `vostack demo` prints
tap = TAPService(config=load_config(Path(__file__).with_name("portal.toml")))
site = Site(services=[tap], title="My archive")


@asynccontextmanager
async def lifespan(app: Starlette) -> AsyncIterator[None]:
    async with (
        asyncpg.create_pool(DSN, init=site.init_connection) as pool,
        site.serve(pool),  # generates and loads TAP_SCHEMA
    ):
        yield


app = Starlette(routes=[Mount("/tap", tap)], lifespan=lifespan)
