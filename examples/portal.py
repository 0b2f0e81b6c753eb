"""Mount vostack's TAP service inside your own Starlette portal, over your own PostgreSQL.

Run it with:  VOSTACK_DSN=postgresql://user@host/db uvicorn examples.portal:app
(with the demo's database: the DSN ``vostack demo`` uses; the table is hipparcos.main).
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

tap = TAPService(config=load_config(Path(__file__).with_name("portal.toml")))
site = Site(services=[tap], title="My archive")


@asynccontextmanager
async def lifespan(app: Starlette) -> AsyncIterator[None]:
    async with (
        asyncpg.create_pool(os.environ["VOSTACK_DSN"], init=site.init_connection) as pool,
        site.serve(pool),  # generates and loads TAP_SCHEMA
    ):
        yield


app = Starlette(routes=[Mount("/tap", tap)], lifespan=lifespan)
