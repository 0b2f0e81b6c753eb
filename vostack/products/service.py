"""The product endpoint: an ASGI app serving the files of named :class:`Products`, mounted with
``Mount("/products", products)``.

* ``/{name}/{path}``: the file at ``path`` in the store of the products ``name``, with its media type;
  a ``Range`` header gets that one byte range (RFC 9110 §14: 206 with ``Content-Range``, 416 beyond the end).
* ``/{name}/{path}?preview``: a PNG thumbnail of the file (about 200 pixels), made once with Pillow and kept
  (products with ``previews``).

These are the ``access_url`` and ``thumbnail_url`` of EPN-TAP granules (EPN-TAP 2.0 §2.2).
"""

from __future__ import annotations

import asyncio
import threading
from collections import OrderedDict
from collections.abc import Mapping
from dataclasses import dataclass

from starlette.middleware.cors import CORSMiddleware
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route, Router
from starlette.types import ASGIApp, Receive, Scope, Send

from vostack import web
from vostack.errors import NotFoundError, VOError
from vostack.products.previews import thumbnail_png
from vostack.products.ranges import byte_range, span
from vostack.products.stores import FileStore, checked_path

__all__ = ["ProductService", "Products"]

PNG = "image/png"


@dataclass(frozen=True, slots=True)
class Products:
    """Files served under one name: where they are, their media type, whether thumbnails are offered.

    Parameters
    ----------
    store
        Where the files are.
    media_type
        Their media type (RFC 2045, lower case: ``"image/tiff"``, ``"application/fits"``).
    previews
        Offer a PNG thumbnail of each file (the files must be images Pillow reads).
    """

    store: FileStore
    media_type: str = "application/octet-stream"
    previews: bool = False


class ProductService:
    """Serves the files of each :class:`Products` by name, with byte ranges and cached PNG thumbnails.

    Parameters
    ----------
    products
        The products by name (the first path segment below the mount point); names are plain words.
    cors_origins
        Web pages allowed to fetch the files (VESPA's portal shows thumbnails from other sites).
    cached_previews
        How many thumbnails are kept in memory (least recently used ones go first).
    """

    def __init__(
        self,
        *,
        products: Mapping[str, Products],
        cors_origins: tuple[str, ...] = ("*",),
        cached_previews: int = 512,
    ) -> None:
        bad = [name for name in products if not name or "/" in name]
        if bad:
            raise ValueError(f"product names are plain words, not {', '.join(map(repr, bad))}")
        self.products = dict(products)
        self._previews: OrderedDict[tuple[str, str], bytes] = OrderedDict()
        self._cached = cached_previews
        self._lock = threading.Lock()
        router = Router(routes=[Route("/{name}/{path:path}", self._file, methods=["GET", "HEAD"])])
        app: ASGIApp = web.ErrorDocuments(router, service="products", document=_text_document)
        if cors_origins:
            app = CORSMiddleware(app, allow_origins=list(cors_origins), allow_methods=["GET", "HEAD"])
        self._app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        await self._app(scope, receive, send)

    def url(self, base_url: str, name: str) -> str:
        """The URL of the products ``name`` when the service is mounted at ``base_url`` (ends with ``/``)."""
        if name not in self.products:
            raise KeyError(name)
        return f"{base_url.rstrip('/')}/{name}/"

    def preview(self, name: str, path: str) -> bytes:
        """The PNG thumbnail of a file, made the first time and then kept (blocking: call it in a thread)."""
        key = (name, path)
        with self._lock:
            cached = self._previews.get(key)
            if cached is not None:
                self._previews.move_to_end(key)
                return cached
        png = thumbnail_png(self.products[name].store.read(path))
        with self._lock:
            self._previews[key] = png
            while len(self._previews) > self._cached:
                self._previews.popitem(last=False)
        return png

    async def _file(self, request: Request) -> Response:
        name, path = request.path_params["name"], checked_path(request.path_params["path"])
        products = self.products.get(name)
        if products is None:
            raise NotFoundError(f"no products {name!r} here; there are: {', '.join(self.products)}")
        if "preview" in request.query_params:
            if not products.previews:
                raise NotFoundError(f"the products {name!r} have no thumbnails")
            png = await asyncio.to_thread(self.preview, name, path)
            return Response(png, media_type=PNG, headers={"Cache-Control": "public, max-age=86400"})
        filename = path.rsplit("/", 1)[-1]
        headers = {"Accept-Ranges": "bytes", "Content-Disposition": f'inline; filename="{filename}"'}
        wanted = byte_range(request.headers.get("range"))
        store = products.store
        if wanted is None:
            data = await asyncio.to_thread(store.read, path)
            return Response(data, media_type=products.media_type, headers=headers)
        size = await asyncio.to_thread(store.size, path)
        found = span(wanted, size)
        if found is None:
            return Response(b"", status_code=416, headers={"Content-Range": f"bytes */{size}"})
        first, last = found
        part = await asyncio.to_thread(store.read_range, path, first, last + 1)
        headers["Content-Range"] = f"bytes {first}-{last}/{size}"
        return Response(part, status_code=206, media_type=products.media_type, headers=headers)


def _text_document(request: Request, exc: VOError) -> tuple[bytes, str]:
    """Errors of the product endpoint: a line of text (no standard defines an error document here)."""
    return (exc.message + "\n").encode("utf-8"), "text/plain; charset=utf-8"
