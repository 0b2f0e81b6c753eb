"""The Simple Cone Search 1.03 service of one table, an ASGI app a portal mounts with ``Mount("/scs", scs)``.

Endpoints below the mount point:

* ``/?RA=...&DEC=...&SR=...[&VERB=1|2|3][&MAXREC=n][&RESPONSEFORMAT=...]``: the rows of the table whose
  main position lies within the cone, nearest first (SCS 1.03 §2);
* ``/availability``, ``/capabilities``: VOSI 1.1, the latter with the ``cs:ConeSearch`` capability
  (SimpleDALRegExt 1.0 §3).

A cone search is an ADQL query run by the TAP service's own query path
(:class:`vostack.tap.QueryRun`): ``CONTAINS(POINT(ra, dec), CIRCLE(...)) = 1`` ordered by ``DISTANCE``,
which the translator turns into pgSphere operators on ``spoint(radians(ra), radians(dec))``, so a GiST
index on that expression serves it.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence

from lxml import etree
from starlette.middleware.cors import CORSMiddleware
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route, Router
from starlette.types import ASGIApp, Receive, Scope, Send

from vostack import adql, db, vosi, web
from vostack.dali import OutputFormat
from vostack.errors import AuthenticationError, PermissionDeniedError, TransientError, VOError
from vostack.schema import Column, Field, Table, TableSet
from vostack.scs.params import ConeRequest, parse_cone_request
from vostack.tap import TAP_FORMATS, QueryResponse, QueryRun, TAPRequest, TAPService
from vostack.votable import MEDIA_TYPE, error_document
from vostack.votable.status import info_element

__all__ = ["CONE_SEARCH", "DISTANCE_FIELD", "SCS_FORMATS", "ConeColumns", "SCSService", "cone_error_document"]

CONE_SEARCH = "ivo://ivoa.net/std/ConeSearch"
"""The standardID of a Simple Cone Search capability (SCS 1.03, SimpleDALRegExt 1.0 §3)."""

SCS_FORMATS: tuple[OutputFormat, ...] = (
    OutputFormat(
        "text/xml;content=x-votable",
        ("text/xml;content=x-votable",),
        kind="votable",
        serialization="tabledata",
    ),
    *TAP_FORMATS,
)
"""The response formats, default first: TABLEDATA VOTable as ``text/xml`` (SCS 1.03 §2 predates BINARY2),
then every TAP format by RESPONSEFORMAT (DALI 1.1 §3.2.3)."""

DISTANCE_FIELD = Field(
    "_r",
    "double",
    unit="deg",
    ucd="pos.angDistance",
    description="Distance of the position from the centre of the cone.",
)
"""The column every cone search adds last: the angular distance to the search centre, the sort key."""

_MAIN_ID, _MAIN_RA, _MAIN_DEC = "meta.id;meta.main", "pos.eq.ra;meta.main", "pos.eq.dec;meta.main"


def cone_error_document(message: str) -> bytes:
    """The SCS error VOTable: ``INFO name="Error"`` under ``VOTABLE`` (SCS 1.03 §2, the preferred place),
    then the DALI ``QUERY_STATUS=ERROR`` resource (DALI 1.1 §4.4.2) that pyvo reads."""
    document = error_document(message).decode("utf-8")
    start = document.index("<RESOURCE")
    return (document[:start] + info_element("Error", message) + "\n" + document[start:]).encode("utf-8")


def _scs_document(request: Request, exc: VOError) -> tuple[bytes, str]:
    return cone_error_document(exc.message), MEDIA_TYPE


@dataclasses.dataclass(frozen=True, slots=True)
class ConeColumns:
    """The columns of a table that a cone search needs and returns (SCS 1.03 §2).

    ``ident``, ``ra`` and ``dec`` are the main identifier and ICRS position (UCDs ``meta.id;meta.main``,
    ``pos.eq.ra;meta.main``, ``pos.eq.dec;meta.main`` unless named), ``by_verb`` the columns of each
    verbosity: VERB=1 those three, VERB=2 the principal columns, VERB=3 all of them.
    """

    table: Table
    ident: Column
    ra: Column
    dec: Column
    by_verb: dict[int, tuple[Column, ...]]

    @classmethod
    def of(
        cls, table: Table, *, ident: str | None = None, ra: str | None = None, dec: str | None = None
    ) -> ConeColumns:
        """Find the columns in ``table``'s published metadata; :class:`ValueError` says what is missing."""

        def find(name: str | None, ucd: str, what: str) -> Column:
            if name is not None:
                found = table.column(name)
                if found is None:
                    raise ValueError(f"{table.name} has no column {name!r} for the {what}")
                return found
            matches = [c for c in table.columns if (c.ucd or "").strip().lower() == ucd]
            if len(matches) != 1:
                state = "no" if not matches else f"{len(matches)} ({', '.join(c.name for c in matches)})"
                raise ValueError(
                    f"{table.name} has {state} columns with the UCD {ucd}: a cone search needs exactly one "
                    f"for the {what} (or name the column in its configuration)"
                )
            return matches[0]

        ident_col = find(ident, _MAIN_ID, "main identifier")
        ra_col = find(ra, _MAIN_RA, "right ascension")
        dec_col = find(dec, _MAIN_DEC, "declination")
        for col in (ra_col, dec_col):
            if col.datatype not in ("double", "float"):
                raise ValueError(f"{table.name}.{col.name} is {col.datatype}: a position must be float or double")
        main = (ident_col, ra_col, dec_col)
        principal = tuple(c for c in table.columns if c.principal or c in main)
        return cls(table, ident_col, ra_col, dec_col, {1: main, 2: principal, 3: tuple(table.columns)})

    def query(self, cone: ConeRequest) -> str:
        """The ADQL of ``cone``: the verbosity's columns and the distance, within the circle, nearest first."""
        selected = []
        for col in self.by_verb[cone.verb]:
            if col is self.ident and self.ident.datatype != "char":  # SCS 1.03 §2: the ID is a string
                selected.append(f"CAST({col.name} AS VARCHAR) AS {col.name}")
            else:
                selected.append(col.name)
        point = f"POINT({self.ra.name}, {self.dec.name})"
        centre = f"{cone.ra!r}, {cone.dec!r}"
        return (
            f'SELECT {", ".join(selected)}, DISTANCE({point}, POINT({centre})) AS "{DISTANCE_FIELD.name}" '
            f"FROM {self.table.name} WHERE CONTAINS({point}, CIRCLE({centre}, {cone.sr!r})) = 1 "
            f'ORDER BY "{DISTANCE_FIELD.name}"'
        )

    def fields(self, fields: Sequence[Field]) -> tuple[Field, ...]:
        """The result ``fields`` of a translation with the identifier's metadata kept through its cast."""
        ident = self.ident
        retyped = []
        for field in fields:
            if field.name == DISTANCE_FIELD.name:
                field = DISTANCE_FIELD
            elif field.name == ident.identifier and field.ucd is None:
                field = dataclasses.replace(field, ucd=ident.ucd, utype=ident.utype, description=ident.description)
            retyped.append(field)
        return tuple(retyped)


class ConeTranslator(adql.Translator):
    """The ADQL translator of a cone search: translations carry the identifier's metadata through its cast."""

    def __init__(self, schema: TableSet, columns: ConeColumns) -> None:
        super().__init__(schema)
        self.columns = columns

    def translate(self, text: str, *, row_limit: int | None = None) -> adql.Translation:
        """Translate as :class:`vostack.adql.Translator` does, with the SCS field metadata."""
        translation = super().translate(text, row_limit=row_limit)
        return dataclasses.replace(translation, fields=self.columns.fields(translation.fields))


class SCSService:
    """A Simple Cone Search 1.03 service over one published table of a TAP service.

    Parameters
    ----------
    tap
        The TAP service that publishes the table: its metadata, database pool and limits
        (``maxrec``, ``hardlimit``, ``sync_timeout``) are the cone search's; start it first.
    table
        The qualified table name (``"hipparcos.main"``).
    max_sr
        The largest search radius accepted, in degrees (the MaxSR of SCS 1.03 §3; 180: no limit).
    ident, ra, dec
        The main identifier and position columns, when they are not the ones with the UCDs
        ``meta.id;meta.main``, ``pos.eq.ra;meta.main`` and ``pos.eq.dec;meta.main``.
    title, description
        For people and the registry; default: the table's description.
    """

    def __init__(
        self,
        *,
        tap: TAPService,
        table: str,
        max_sr: float = 180.0,
        ident: str | None = None,
        ra: str | None = None,
        dec: str | None = None,
        title: str | None = None,
        description: str | None = None,
    ) -> None:
        if not 0 < max_sr <= 180:
            raise ValueError(f"max_sr must be in (0, 180] degrees, not {max_sr!r}")
        if "." not in table:
            raise ValueError(f"the table {table!r} must be qualified with its schema")
        self.tap = tap
        self.table = table
        self.max_sr = float(max_sr)
        self.title = title or f"Cone search of {table}"
        self.description = description
        self._names = (ident, ra, dec)
        self._columns: ConeColumns | None = None
        self._translator: ConeTranslator | None = None
        self.limits = web.RequestLimits.of(tap.settings)
        router = Router(
            routes=[
                Route("/", self._search, methods=["GET", "POST"]),
                Route("/availability", self._availability, methods=["GET"]),
                Route("/capabilities", self._capabilities, methods=["GET"]),
            ]
        )
        # SCS 1.03 §2: errors as a VOTable with INFO name="Error"; gzip when asked; browser clients (Aladin Lite)
        app: ASGIApp = web.ErrorDocuments(router, service="SCS", document=_scs_document)
        app = web.compressed(app)
        if tap.settings.cors_origins:
            app = CORSMiddleware(app, allow_origins=list(tap.settings.cors_origins), allow_methods=["GET", "POST"])
        self._app = app

    @property
    def columns(self) -> ConeColumns:
        """The table's identifier, position and per-verbosity columns; raises 503 before :meth:`start`."""
        if self._columns is None:
            raise TransientError("the cone search service is starting; try again in a moment")
        return self._columns

    async def start(self, pool: db.Pool) -> None:
        """Find the table and its columns in the TAP service's metadata (the TAP service must have started).

        Raises :class:`vostack.errors.VOError` naming what is missing: the table, or its main identifier or
        position columns.
        """
        tableset = self.tap.tableset
        table = tableset.table(self.table)
        if table is None:
            raise VOError(f"the cone search of {self.table}: the TAP service does not publish that table")
        ident, ra, dec = self._names
        try:
            columns = ConeColumns.of(table, ident=ident, ra=ra, dec=dec)
        except ValueError as exc:
            raise VOError(f"the cone search of {self.table}: {exc}") from None
        self._columns = columns
        self._translator = ConeTranslator(tableset, columns)
        if self.description is None:
            self.description = table.description

    async def stop(self) -> None:
        """Stop answering (503)."""
        self._columns = None
        self._translator = None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        await self._app(scope, receive, send)

    def capabilities(self, base_url: str) -> list[vosi.Capability]:
        """The ``cs:ConeSearch`` capability (SimpleDALRegExt 1.0 §3) and the VOSI ones (VOSI 1.1 §3.1)."""

        def element(name: str, text: str) -> etree._Element:
            el = etree.Element(name)
            el.text = text
            return el

        test = etree.Element("testQuery")
        test.append(element("ra", "0"))
        test.append(element("dec", "0"))
        test.append(element("sr", "0.1"))
        extra = (
            element("maxSR", f"{self.max_sr:g}"),
            element("maxRecords", str(self.tap.settings.hardlimit)),
            element("verbosity", "true"),
            test,
        )
        base = base_url.rstrip("/")
        interface = vosi.Interface(
            base + "/?", role="std", version="1.03", use="base", query_types=("GET",), result_type=SCS_FORMATS[0].mime
        )
        return [
            vosi.Capability(CONE_SEARCH, (interface,), xsi_type="cs:ConeSearch", extra=extra),
            *vosi.vosi_capabilities(base, tables=False),
        ]

    async def _search(self, request: Request) -> QueryResponse:
        """SCS 1.03 §2: the rows within the cone, nearest first, as a VOTable."""
        settings = self.tap.settings
        params = await web.request_params(request, self.limits)
        cone = parse_cone_request(
            params, maxrec=settings.maxrec, hardlimit=settings.hardlimit, max_sr=self.max_sr, formats=SCS_FORMATS
        )
        columns, translator, pool = self.columns, self._translator, self.tap.reader()  # a read replica if any
        assert translator is not None  # set with columns
        caller = web.identity(request)
        if self.tap.tableset_for(caller).table(self.table) is None:  # a cone search of a restricted table
            if caller.authenticated:
                raise PermissionDeniedError(f"{caller.name} may not search {self.table}")
            raise AuthenticationError(f"searching {self.table} needs you to authenticate")
        role = await self.tap.role_for(caller)
        tap_request = TAPRequest(query=columns.query(cone), lang="ADQL", maxrec=cone.maxrec, format=cone.format)

        async def start() -> QueryRun:
            return await QueryRun.start(pool, translator, tap_request, time_limit=settings.sync_timeout, role=role)

        return QueryResponse(start, filename="cone")

    async def _availability(self, request: Request) -> Response:
        """VOSI 1.1 §3.5."""
        try:
            pool: db.Pool | None = self.tap.pool if self._columns is not None else None
        except TransientError:  # the TAP service has stopped
            pool = None
        return await web.availability_response(pool, "the service is accepting cone searches")

    async def _capabilities(self, request: Request) -> Response:
        """VOSI 1.1 §3.1 with the ConeSearch capability."""
        return web.capabilities_response(request, self.capabilities(web.mount_url(request)))
