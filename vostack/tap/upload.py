"""TAP table uploads: ``UPLOAD=name,param:part`` and ``UPLOAD=name,http(s)://...`` (TAP 1.1 §4.5, DALI 1.1 §3.4.5).

The pipeline, the same for ``/sync`` and ``/async``:

1. :func:`parse_upload` reads the UPLOAD values (``name,uri`` pairs separated
   by ``;``, the parameter may repeat): names are ADQL regular identifiers
   (TAP-1.0 erratum 1), each used once (case-insensitively), URIs are
   ``param:<part>`` (a file part of the multipart request) or ``http(s)://``;
2. :func:`load_uploads` gets each document (the file part, or a GET with a
   time limit and a byte limit), and parses it with
   :func:`vostack.votable.reader.read_votable` in a worker thread; all
   uploads of one query together may have at most ``upload_limit`` bytes, each
   table at most ``upload_rows`` rows;
3. :func:`with_uploads` adds the ``TAP_UPLOAD`` schema to the published
   tables for the translator, each table pointing at its temporary table
   ``pg_temp.<name>``; :func:`temp_tables` gives :func:`vostack.db.open_cursor`
   the rows to load into the query's own transaction.

Every failure is an :class:`~vostack.errors.UploadError` (HTTP 400) naming the upload.
"""

from __future__ import annotations

import asyncio
import http.client
import ipaddress
import re
import secrets
import socket
import ssl
import time
import urllib.error
import urllib.request
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from functools import partial
from http.client import HTTPException
from typing import Any

from vostack import adql, db
from vostack.config import ServiceConfig
from vostack.errors import ParameterError, UploadError
from vostack.schema import Column, Schema, Table, TableSet
from vostack.votable.reader import UploadedTable, read_votable

__all__ = [
    "UPLOAD_SCHEMA",
    "Upload",
    "UploadLimits",
    "UploadSource",
    "load_uploads",
    "parse_upload",
    "temp_tables",
    "with_uploads",
]

UPLOAD_SCHEMA = "TAP_UPLOAD"
"""The schema uploaded tables appear in (TAP 1.1 §4.5)."""

_NAME = re.compile(r"^[A-Za-z][A-Za-z0-9_]{0,62}$")
_SCHEMES = ("http://", "https://")
_CHUNK = 1 << 16


@dataclass(frozen=True, slots=True)
class UploadSource:
    """One item of UPLOAD: the table name and where its VOTable is (TAP 1.1 §4.5.1)."""

    name: str
    uri: str

    @property
    def part(self) -> str | None:
        """The file part an inline upload (``param:part``) names, else ``None``."""
        return self.uri[len("param:") :] if self.uri.startswith("param:") else None

    @property
    def label(self) -> str:
        """How messages name this upload."""
        return f"upload {self.name!r}"


@dataclass(frozen=True, slots=True)
class UploadLimits:
    """What uploads may be: bytes of all documents of a query, rows per table, seconds per http(s) fetch.

    ``max_bytes == 0`` means the service accepts no uploads; ``http`` whether it fetches uploads by URL;
    ``networks`` the non-public networks (CIDR) an http(s) upload may come from: by default none, so a
    URL whose host is a loopback, link-local, private or otherwise non-global address is refused before
    any connection is made (a client must not make the server probe its own network).
    """

    max_bytes: int
    max_rows: int
    timeout: float
    http: bool = True
    networks: tuple[str, ...] = ()

    @classmethod
    def of(cls, settings: ServiceConfig) -> UploadLimits:
        """The limits of a service's ``[service]`` settings (``upload_limit``, ``upload_rows``, ``upload_timeout``,
        ``upload_http``, ``upload_networks``)."""
        return cls(
            settings.upload_limit,
            settings.upload_rows,
            settings.upload_timeout,
            settings.upload_http,
            settings.upload_networks,
        )


@dataclass(frozen=True, slots=True)
class Upload:
    """An uploaded table, read: its name (as the client wrote it) and its columns and rows."""

    name: str
    table: UploadedTable
    key: str = field(default_factory=lambda: secrets.token_hex(4), compare=False)

    @property
    def db_name(self) -> str:
        """The temporary table's name (in ``pg_temp``), new for every upload.

        The database driver caches prepared statements per connection by their text, the
        COPY's look at the target table and the query's own among them: a table of the same
        name with other column types, on the same pooled connection, would otherwise be
        written and read with the types of an earlier upload.
        """
        return f"{self.name.lower()}_{self.key}"


def _bad(message: str) -> ParameterError:
    return ParameterError(message, param="UPLOAD")


def parse_upload(values: Sequence[str]) -> tuple[UploadSource, ...]:
    """The uploads that the UPLOAD parameter values ask for (TAP 1.1 §4.5.1, DALI 1.1 §3.4.5).

    Raises :class:`~vostack.errors.ParameterError` (``param="UPLOAD"``) for a malformed value.
    """
    sources: list[UploadSource] = []
    seen: set[str] = set()
    for value in values:
        for item in value.split(";"):
            if not item.strip():
                continue
            name, comma, uri = item.partition(",")
            name, uri = name.strip(), uri.strip()
            if not comma or not uri:
                raise _bad(f"UPLOAD item {item.strip()!r} must be 'name,uri' (uri: param:part or http(s)://...)")
            if not _NAME.match(name) or adql.delimit(name.lower()) != name.lower():
                raise _bad(
                    f"upload table name {name!r} must be an ADQL regular identifier (a letter, then letters, digits "
                    "or '_', at most 63) and not a reserved word"
                )
            if name.lower() in seen:
                raise _bad(f"upload table name {name!r} is used twice in UPLOAD")
            if not (uri.startswith("param:") and len(uri) > len("param:")) and not uri.lower().startswith(_SCHEMES):
                raise _bad(
                    f"upload {name!r}: {uri!r} is not supported; send the VOTable inline (param:part) "
                    "or give an http:// or https:// URL"
                )
            seen.add(name.lower())
            sources.append(UploadSource(name, uri))
    return tuple(sources)


class _HTTPRedirects(urllib.request.HTTPRedirectHandler):
    """Follows redirects to http(s) URLs only (never to file:, ftp: or data:)."""

    def redirect_request(
        self,
        req: urllib.request.Request,
        fp: object,
        code: int,
        msg: str,
        headers: object,
        newurl: str,
    ) -> urllib.request.Request | None:
        if not newurl.lower().startswith(_SCHEMES):
            close = getattr(fp, "close", None)
            if close is not None:
                close()
            raise urllib.error.URLError(f"redirect to {newurl!r} refused")
        return super().redirect_request(req, fp, code, msg, headers, newurl)  # type: ignore[arg-type]


class _Refused(OSError):
    """An upload URL whose host is not a public address (and not in the allowed networks)."""


Network = ipaddress.IPv4Network | ipaddress.IPv6Network


def _checked_address(
    host: str, port: int, networks: Sequence[Network]
) -> tuple[socket.AddressFamily, socket.SocketKind, int, tuple[Any, ...]]:
    """The address to connect to for ``host``: every address it resolves to must be global or in ``networks``.

    All addresses are checked (a name with one public and one internal address is refused), and the
    connection then goes to the checked address, so a second lookup cannot answer differently.
    """
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except socket.gaierror:
        raise _Refused(f"the host {host!r} is unknown") from None
    for *_, address in infos:
        ip = ipaddress.ip_address(address[0])
        if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
            ip = ip.ipv4_mapped
        if not (ip.is_global and not ip.is_multicast) and not any(ip in net for net in networks):
            raise _Refused(
                f"the host {host!r} is not a public Internet address; this service fetches uploads from "
                "public addresses only"
            )
    family, kind, proto, _, address = infos[0]
    return family, kind, proto, address


def _connect(host: str, port: int, timeout: float | None, networks: Sequence[Network]) -> socket.socket:
    family, kind, proto, address = _checked_address(host, port, networks)
    sock = socket.socket(family, kind, proto)
    try:
        sock.settimeout(timeout)
        sock.connect(address)
    except BaseException:
        sock.close()
        raise
    return sock


class _CheckedHTTPConnection(http.client.HTTPConnection):
    """An HTTP connection that goes only to an address :func:`_checked_address` allows."""

    def __init__(self, host: str, *, timeout: float | None = None, networks: Sequence[Network] = ()) -> None:
        super().__init__(host, timeout=timeout)
        self.networks = tuple(networks)

    def connect(self) -> None:
        self.sock = _connect(self.host, self.port, self.timeout, self.networks)


class _CheckedHTTPSConnection(http.client.HTTPSConnection):
    """An HTTPS connection that goes only to an address :func:`_checked_address` allows (certificate checked)."""

    def __init__(self, host: str, *, timeout: float | None = None, networks: Sequence[Network] = ()) -> None:
        super().__init__(host, timeout=timeout)
        self.networks = tuple(networks)

    def connect(self) -> None:
        sock = _connect(self.host, self.port, self.timeout, self.networks)
        self.sock = ssl.create_default_context().wrap_socket(sock, server_hostname=self.host)


class _CheckedHandler(urllib.request.HTTPSHandler):
    """Opens http: and https: URLs through the checked connections (one handler for both schemes)."""

    http_request = urllib.request.AbstractHTTPHandler.do_request_

    def __init__(self, networks: Sequence[Network]) -> None:
        super().__init__()
        self.networks = tuple(networks)

    def http_open(self, req: urllib.request.Request) -> http.client.HTTPResponse:
        return self.do_open(partial(_CheckedHTTPConnection, networks=self.networks), req)

    def https_open(self, req: urllib.request.Request) -> http.client.HTTPResponse:
        return self.do_open(partial(_CheckedHTTPSConnection, networks=self.networks), req)


def _opener(networks: Sequence[str] = ()) -> urllib.request.OpenerDirector:
    allowed = [ipaddress.ip_network(net, strict=False) for net in networks]
    opener = urllib.request.OpenerDirector()
    for handler in (
        _CheckedHandler(allowed),
        _HTTPRedirects(),
        urllib.request.HTTPDefaultErrorHandler(),
        urllib.request.HTTPErrorProcessor(),
    ):
        opener.add_handler(handler)
    return opener


def _fetch(source: UploadSource, *, max_bytes: int, timeout: float, networks: Sequence[str] = ()) -> bytes:
    """GET an http(s) upload (in a worker thread): at most ``max_bytes``, within ``timeout`` seconds in all,
    from public addresses or ``networks`` only (redirects included)."""
    deadline = time.monotonic() + timeout
    request = urllib.request.Request(source.uri, headers={"User-Agent": "vostack-tap-upload"})
    try:
        with _opener(networks).open(request, timeout=timeout) as response:
            length = response.headers.get("Content-Length")
            if length is not None and length.isdigit() and int(length) > max_bytes:
                raise UploadError(f"{source.label} is {int(length):,} bytes, more than this service accepts "
                                  f"({max_bytes:,} bytes)")  # fmt: skip
            chunks: list[bytes] = []
            size = 0
            while chunk := response.read(_CHUNK):
                size += len(chunk)
                if size > max_bytes:
                    raise UploadError(f"{source.label} is more than this service accepts ({max_bytes:,} bytes)")
                if time.monotonic() > deadline:
                    raise TimeoutError
                chunks.append(chunk)
    except urllib.error.HTTPError as exc:
        exc.close()
        raise UploadError(f"{source.label}: {source.uri} answered HTTP {exc.code} {exc.reason}") from None
    except urllib.error.URLError as exc:
        if isinstance(exc.reason, _Refused):
            raise UploadError(f"{source.label}: {source.uri} is not fetched: {exc.reason}") from None
        raise UploadError(f"{source.label}: cannot fetch {source.uri}: {exc.reason}") from None
    except TimeoutError:
        raise UploadError(f"{source.label}: {source.uri} did not deliver within {timeout:g} s") from None
    except (OSError, HTTPException, ValueError) as exc:
        raise UploadError(f"{source.label}: cannot fetch {source.uri}: {exc}") from None
    return b"".join(chunks)


def _part(source: UploadSource, files: Mapping[str, bytes]) -> bytes:
    part = source.part or ""
    if part in files:
        return files[part]
    folded = {name.lower(): content for name, content in files.items()}
    if part.lower() in folded:
        return folded[part.lower()]
    raise UploadError(f"{source.label}: the request has no file part named {part!r} ({source.name},{source.uri})")


async def load_uploads(
    sources: Sequence[UploadSource], files: Mapping[str, bytes], limits: UploadLimits
) -> tuple[Upload, ...]:
    """Get and read every upload of a query (TAP 1.1 §4.5); ``files`` are the request's file parts by name.

    Raises :class:`~vostack.errors.UploadError` for a missing part, an
    unreachable URL, a document over the byte budget left, an unreadable or
    unsafe VOTable, or a table with more than ``limits.max_rows`` rows.
    """
    if sources and limits.max_bytes <= 0:
        raise UploadError("this service does not accept uploads (UPLOAD)")
    budget = limits.max_bytes
    uploads: list[Upload] = []
    for source in sources:
        if source.part is not None:
            data = _part(source, files)
        elif not limits.http:
            raise UploadError(
                f"{source.label}: this service does not fetch uploads by URL; "
                "send the VOTable in the request instead (UPLOAD=name,param:part)"
            )
        else:
            fetch = asyncio.to_thread(
                _fetch, source, max_bytes=budget, timeout=limits.timeout, networks=limits.networks
            )
            try:
                data = await asyncio.wait_for(fetch, limits.timeout + 1)
            except TimeoutError:
                raise UploadError(f"{source.label}: {source.uri} did not deliver within {limits.timeout:g} s") from None
        if len(data) > budget:
            raise UploadError(
                f"{source.label} makes the uploads {limits.max_bytes - budget + len(data):,} bytes, more than this "
                f"service accepts per query ({limits.max_bytes:,} bytes)"
            )
        budget -= len(data)
        table = await asyncio.to_thread(
            read_votable, data, max_bytes=limits.max_bytes, max_rows=limits.max_rows, what=source.label
        )
        uploads.append(Upload(source.name, table))
    return tuple(uploads)


def _table(upload: Upload) -> Table:
    columns = tuple(
        Column(
            name=adql.delimit(column.name),
            datatype=column.field.datatype,
            arraysize=column.field.arraysize,
            xtype=column.field.xtype,
            unit=column.field.unit,
            ucd=column.field.ucd,
            utype=column.field.utype,
            description=column.field.description,
            column_index=index,
            db_type=column.db_type,
        )
        for index, column in enumerate(upload.table.columns)
    )
    return Table(
        name=f"{UPLOAD_SCHEMA}.{upload.name}",
        schema_name=UPLOAD_SCHEMA,
        columns=columns,
        description="a table uploaded with the query",
        nrows=len(upload.table.rows),
        db_name=f"{db.TEMP_SCHEMA}.{upload.db_name}",
    )


def with_uploads(tableset: TableSet, uploads: Sequence[Upload]) -> TableSet:
    """``tableset`` plus the ``TAP_UPLOAD`` schema holding ``uploads`` (TAP 1.1 §4.5)."""
    if not uploads:
        return tableset
    schema = Schema(UPLOAD_SCHEMA, tuple(_table(u) for u in uploads), description="tables uploaded with the query")
    others = tuple(s for s in tableset.schemas if s.name.lower() != UPLOAD_SCHEMA.lower())
    return TableSet((*others, schema), tableset.keys)


def temp_tables(uploads: Sequence[Upload]) -> tuple[db.TempTable, ...]:
    """The temporary tables to create for ``uploads`` in the query's transaction."""
    return tuple(
        db.TempTable(
            name=upload.db_name,
            columns=tuple((column.name, column.db_type) for column in upload.table.columns),
            rows=upload.table.rows,
            label=f"upload {upload.name!r}",
        )
        for upload in uploads
    )
