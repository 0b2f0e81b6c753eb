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
import re
import secrets
import time
import urllib.error
import urllib.request
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from http.client import HTTPException

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

    ``max_bytes == 0`` means the service accepts no uploads; ``http`` whether it fetches uploads by URL.
    """

    max_bytes: int
    max_rows: int
    timeout: float
    http: bool = True

    @classmethod
    def of(cls, settings: ServiceConfig) -> UploadLimits:
        """The limits of a service's ``[service]`` settings (``upload_limit``, ``upload_rows``, ``upload_timeout``,
        ``upload_http``)."""
        return cls(settings.upload_limit, settings.upload_rows, settings.upload_timeout, settings.upload_http)


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


def _opener() -> urllib.request.OpenerDirector:
    opener = urllib.request.OpenerDirector()
    for handler in (
        urllib.request.HTTPHandler(),
        urllib.request.HTTPSHandler(),
        _HTTPRedirects(),
        urllib.request.HTTPDefaultErrorHandler(),
        urllib.request.HTTPErrorProcessor(),
    ):
        opener.add_handler(handler)
    return opener


def _fetch(source: UploadSource, *, max_bytes: int, timeout: float) -> bytes:
    """GET an http(s) upload (in a worker thread): at most ``max_bytes``, within ``timeout`` seconds in all."""
    deadline = time.monotonic() + timeout
    request = urllib.request.Request(source.uri, headers={"User-Agent": "vostack-tap-upload"})
    try:
        with _opener().open(request, timeout=timeout) as response:
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
            fetch = asyncio.to_thread(_fetch, source, max_bytes=budget, timeout=limits.timeout)
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
