"""The pages' own JavaScript and CSS and the bundled Aladin Lite, served by the package at versioned URLs.

``Mount("/static", Assets())`` serves ``/static/<version>/<file>``, where ``<version>`` is a digest of every
file served: a page names the files of the package it came with, browsers keep them for a year
(``Cache-Control: immutable``), and a new release is fetched anew.  Nothing is loaded from a CDN.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import Mount, Route, Router
from starlette.staticfiles import StaticFiles
from starlette.types import Message, Receive, Scope, Send

__all__ = ["STATIC", "Assets"]

STATIC = Path(__file__).with_name("static")
"""The directory of the files served."""


def _digest(directory: Path) -> str:
    digest = hashlib.sha256()
    for path in sorted(p for p in directory.rglob("*") if p.is_file()):
        digest.update(path.relative_to(directory).as_posix().encode() + b"\0")
        digest.update(path.read_bytes())
    return digest.hexdigest()[:12]


class Assets:
    """The static files of the pages at ``/<version>/<file>`` (see the module docstring)."""

    def __init__(self, *, directory: Path = STATIC) -> None:
        self.directory = directory
        self.version = _digest(directory)
        files = StaticFiles(directory=directory)

        async def stale(request: Request) -> Response:
            return PlainTextResponse("no such file in this version of the pages\n", status_code=404)

        self._router = Router(routes=[Mount(f"/{self.version}", app=files), Route("/{rest:path}", stale)])

    @property
    def aladin(self) -> bool:
        """Whether the bundled Aladin Lite is there (``python -m vostack.pages.vendor``)."""
        # imported here: the package's import must not load the module ``python -m`` runs
        from vostack.pages.vendor import ALADIN_DIR, aladin_present

        return aladin_present(ALADIN_DIR) and ALADIN_DIR.is_relative_to(self.directory)

    def url(self, base: str, name: str) -> str:
        """The URL of the file ``name`` for assets mounted at ``base``."""
        return f"{base.rstrip('/')}/{self.version}/{name}"

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        async def cached(message: Message) -> None:
            if message["type"] == "http.response.start" and message["status"] == 200:
                headers = [*message.get("headers", ()), (b"cache-control", b"public, max-age=31536000, immutable")]
                message = {**message, "headers": headers}
            await send(message)

        await self._router(scope, receive, cached)
