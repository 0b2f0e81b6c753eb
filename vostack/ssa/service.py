"""The SSA 1.1 service as an ASGI app a portal mounts with ``Mount("/ssa", ssa)``, with DataLink 1.1.

Endpoints below the mount point:

* ``?REQUEST=queryData&POS=...`` (or no REQUEST): the query response (SSA 1.1 §8.4, §8.8);
  ``FORMAT=metadata`` describes every input and output parameter (§8.4.2).
* ``?REQUEST=getData&PUBDID=...[&FORMAT=...]``: one spectrum, the original file or a Spectrum
  data model VOTable (§8.6); the records' access references point here.
* ``/datalink?ID=...``: the DataLink 1.1 ``{links}`` document of a product (DataLink 1.1 §3).
* ``/preview?ID=...``: an SVG plot of the spectrum; ``/availability``, ``/capabilities`` (VOSI 1.1).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncGenerator, Sequence
from contextlib import AsyncExitStack
from urllib.parse import quote

from lxml import etree
from starlette.middleware.cors import CORSMiddleware
from starlette.requests import Request
from starlette.responses import Response, StreamingResponse
from starlette.routing import Route, Router
from starlette.types import ASGIApp, Receive, Scope, Send

from vostack import db, vosi
from vostack.config import ServiceConfig
from vostack.dali import Params
from vostack.errors import NotFoundError, ParameterError
from vostack.obscore import DATALINK_FORMAT, DATALINK_LINKS, OBSCORE_TABLE, Link, links_document, not_found
from vostack.products import byte_range, span
from vostack.schema import Field
from vostack.ssa.mapping import MappingError, SSAMapping
from vostack.ssa.obscore import obscore_select, obscore_view_comment, obscore_view_sql
from vostack.ssa.params import SSARequest, parse_ssa_request
from vostack.ssa.query import COMPLIANT, GRAPHIC, NATIVE, VOTABLE_MIME, build_query, kinds_for, output_fields
from vostack.ssa.spectrum import ProductStore, RangedProductStore, Spectrum, preview_svg, spectrum_votable
from vostack.votable import MEDIA_TYPE, InputParam, Param, ServiceDescriptor, VOTableWriter, iter_result
from vostack.web import (
    ErrorDocuments,
    RequestLimits,
    availability_response,
    capabilities_response,
    compressed,
    dali_document,
    identity,
    mount_url,
    request_params,
)

__all__ = ["DATALINK_LINKS", "SSAService"]

log = logging.getLogger("vostack.ssa")

_BATCH = 2_000

#: The input parameters described by FORMAT=metadata (SSA 1.1 §8.4, §8.5): name, datatype, unit, description.
INPUT_PARAMS: tuple[tuple[str, str, str | None, str], ...] = (
    ("REQUEST", "char", None, "queryData (the default) or getData"),
    ("POS", "char", "deg", "Search centre 'ra,dec' in degrees, optionally ';ICRS', ';FK5', ';FK4' or ';GALACTIC'"),
    ("SIZE", "double", "deg", "Diameter of the search region (default given by the service)"),
    ("BAND", "char", "m", "Wavelength range list in metres: v, lo/hi, lo/, /hi, comma-separated"),
    ("TIME", "char", None, "Time range list of ISO 8601 timestamps: t, t1/t2, t1/, /t2"),
    ("FORMAT", "char", None, "all, compliant, native, graphic, metadata, fits, votable or a MIME type"),
    ("TARGETNAME", "char", None, "Target name, compared without case and blanks"),
    ("COLLECTION", "char", None, "Collection names, comma-separated"),
    ("SPECRP", "double", None, "Minimum spectral resolving power"),
    ("SPATRES", "double", "deg", "Maximum spatial resolution"),
    ("TIMERES", "double", "s", "Maximum time resolution (ignored: not known for these data)"),
    ("SNR", "double", None, "Minimum signal-to-noise ratio"),
    ("REDSHIFT", "char", None, "Redshift range list"),
    ("CREATORDID", "char", None, "Creator's dataset identifier"),
    ("PUBDID", "char", None, "Publisher's dataset identifier(s), comma-separated"),
    ("TOP", "int", None, "Return at most this many records"),
    ("MAXREC", "int", None, "Maximum number of records (DALI 1.1 §3.2.2)"),
    ("RESPONSEFORMAT", "char", None, "votable (the only response format)"),
    ("COMPRESS", "boolean", None, "Accepted and ignored: responses are compressed when the client asks (gzip)"),
)


def _param_field(name: str, datatype: str, unit: str | None, description: str) -> Field:
    return Field(
        f"INPUT:{name}", datatype, arraysize="*" if datatype == "char" else None, unit=unit, description=description
    )


class SSAService(db.PoolBorrower):
    """An SSA 1.1 service over one spectra table, with DataLink 1.1 links and an ObsCore view.

    Parameters
    ----------
    mapping
        How the spectra table provides the SSA and ObsCore fields; checked at construction.
    products
        Where the files are: original files and arrays by product key.
    settings
        Limits (``maxrec``, ``hardlimit``, ``sync_timeout``) and the title.
    public_url
        The absolute URL the service is mounted at.  When given, :meth:`start` creates
        ``ivoa.obscore`` with access URLs to this service's DataLink endpoint.
    obscore_view
        ``False`` when ``ivoa.obscore`` has other sources too: a :class:`vostack.obscore.ObsCoreView` then makes
        it from :meth:`obscore_select` (``public_url`` is still needed for the access URLs).
    """

    service_name = "SSA"

    def __init__(
        self,
        *,
        mapping: SSAMapping,
        products: ProductStore,
        settings: ServiceConfig | None = None,
        public_url: str | None = None,
        obscore_view: bool = True,
    ) -> None:
        mapping.check()
        self.mapping = mapping
        self.products = products
        self.settings = settings or ServiceConfig(title="vostack SSA service", maxrec=1000, hardlimit=100_000)
        self.public_url = public_url.rstrip("/") if public_url else None
        self.obscore_view = obscore_view
        self._fields = output_fields(mapping)
        self._pool = None
        self._reads = None
        self._owners: frozenset[str] = frozenset()  # the owner groups of embargoed spectra
        self._roles: dict[frozenset[str], str] = {}  # the database role of each combination of owner groups
        self.limits = RequestLimits.of(self.settings)
        router = Router(
            routes=[
                Route("/", self._query, methods=["GET", "POST"]),
                Route("/datalink", self._datalink, methods=["GET", "POST"]),
                Route("/preview", self._preview, methods=["GET"]),
                Route("/availability", self._availability, methods=["GET"]),
                Route("/capabilities", self._capabilities, methods=["GET"]),
            ]
        )
        # errors as SSA documents (SSA 1.1 §8.8.1: INFO name="QUERY_STATUS" value="ERROR");
        # gzip when the client asks (this is what COMPRESS=true gets); browser viewers may call from other sites
        app: ASGIApp = ErrorDocuments(
            router, service="SSA", document=dali_document(infos=(("SERVICE_PROTOCOL", "1.1", "SSAP"),))
        )
        app = compressed(app)
        if self.settings.cors_origins:
            app = CORSMiddleware(app, allow_origins=list(self.settings.cors_origins), allow_methods=["GET", "POST"])
        self._app = app

    async def start(self, pool: db.Pool) -> None:
        """Check the mapping against the database and create ``ivoa.obscore`` when configured (ObsCore 1.1 §4)."""
        described = await db.describe_tables(pool, [self.mapping.table])
        present = {c.name for c in described[self.mapping.table].columns}
        absent = [name for name in self.mapping.column_names() if name not in present]
        if absent:
            raise MappingError(f"the SSA mapping names columns that {self.mapping.table} lacks: {', '.join(absent)}")
        self._roles.clear()
        if self.mapping.embargoed:
            assert self.mapping.owner_group is not None and self.mapping.release_date is not None
            self._owners = await db.apply_release(
                pool,
                prefix=self.settings.role_prefix,
                table=self.mapping.table,
                owner_group=self.mapping.owner_group,
                release_date=self.mapping.release_date,
                metadata_public=self.mapping.metadata_public,
            )
        if self.public_url is not None and self.obscore_view:
            # once, by the first of the servers starting together; unchanged views are left alone
            datalink_url = self.public_url + "/datalink"
            view = obscore_view_sql(self.mapping, datalink_url=datalink_url)
            if self.mapping.embargoed:  # everyone reads the view (made anew: its grants too); the policy filters
                view += (
                    f"GRANT SELECT ON ivoa.obscore TO {db.quote_ident(db.role_name(self.settings.role_prefix, ()))};"
                )
            await db.ensure_relation(
                pool,
                relation=OBSCORE_TABLE,
                comment=obscore_view_comment(self.mapping, datalink_url=datalink_url),
                sql=view,
            )
        self._pool = pool

    @property
    def embargoed(self) -> bool:
        """Whether some spectra are seen only by their owner group until their release date."""
        return self.mapping.embargoed

    def obscore_select(self) -> str:
        """The spectra's branch of ``ivoa.obscore`` (:class:`vostack.obscore.ObsCoreSource`)."""
        if self.public_url is None:
            raise MappingError("the spectra's ObsCore rows need the service's public_url (their access URLs)")
        return obscore_select(self.mapping, datalink_url=self.public_url + "/datalink")

    async def _role(self, request: Request) -> str | None:
        """The database role the caller's queries run as: with an embargo, the release policy then shows it
        the released spectra and those of its groups (:func:`vostack.db.apply_release`)."""
        if not self.mapping.embargoed:
            return None
        groups = identity(request).groups & self._owners
        role = self._roles.get(groups)
        if role is None:  # a combination of groups gets its role made once
            role = self._roles[groups] = await db.reader_role(self.pool, self.settings.role_prefix, groups)
        return role

    async def stop(self) -> None:
        """Give the pool back."""
        self._pool = None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        await self._app(scope, receive, send)

    # ------------------------------------------------------------------ helpers

    def capabilities(self, base_url: str) -> list[vosi.Capability]:
        """The SSA capability (SimpleDALRegExt 1.1 ``ssa:SimpleSpectralAccess``) and VOSI ones (VOSI 1.1 §3.1)."""
        extra = []

        def element(name: str, text: str) -> etree._Element:
            el = etree.Element(name)
            el.text = text
            return el

        extra.append(element("complianceLevel", "minimal"))
        extra.append(element("dataSource", "pointed"))
        extra.append(element("creationType", "archival"))
        extra.append(element("supportedFrame", "ICRS"))
        extra.append(element("maxSearchRadius", "180"))
        extra.append(element("maxRecords", str(self.settings.hardlimit)))
        extra.append(element("defaultMaxRecords", str(max(1, self.settings.maxrec))))
        base = base_url.rstrip("/")
        interface = vosi.Interface(base + "/", role="std", version="1.1", use="base", query_types=("GET",))
        return [
            vosi.Capability(vosi.SSA, (interface,), xsi_type="ssa:SimpleSpectralAccess", extra=tuple(extra)),
            vosi.Capability(DATALINK_LINKS, (vosi.Interface(base + "/datalink", role="std", version="1.1"),)),
            *vosi.vosi_capabilities(base, tables=False),
        ]

    def _acref(self, base: str, kind: str, pubdid: str) -> tuple[str, str]:
        ident = quote(pubdid, safe="")
        if kind == GRAPHIC:
            return f"{base}/preview?ID={ident}", "image/svg+xml"
        if kind == COMPLIANT:
            return f"{base}/?REQUEST=getData&PUBDID={ident}&FORMAT={quote(VOTABLE_MIME)}", VOTABLE_MIME
        return f"{base}/?REQUEST=getData&PUBDID={ident}", self.products.media_type

    def _records(
        self, rows: Sequence[Sequence[object]], columns: Sequence[str], kinds: Sequence[str], base: str
    ) -> list[tuple[object, ...]]:
        mapping = self.mapping
        index = {name: i for i, name in enumerate(columns)}
        records = []
        for row in rows:

            def value(key: str, row: Sequence[object] = row) -> object:
                if key in mapping.columns:
                    return row[index[mapping.columns[key]]]
                return mapping.constants.get(key)

            ra, dec = value("ra"), value("dec")
            lo, hi = value("em_min"), value("em_max")
            pubdid = str(value("publisher_did"))
            for kind in kinds:
                acref, mime = self._acref(base, kind, pubdid)
                computed: dict[str, object] = {
                    "location": [ra, dec],
                    "target_pos": [ra, dec],
                    "spectral_location": None if lo is None or hi is None else (lo + hi) / 2,  # type: ignore[operator]
                    "spectral_extent": None if lo is None or hi is None else hi - lo,  # type: ignore[operator]
                    "access_reference": acref,
                    "access_format": mime,
                }
                out = []
                for spec, _ in self._fields:
                    if spec.key in computed:
                        out.append(computed[spec.key])
                    elif spec.key == "access_size" and kind != NATIVE:
                        out.append(None)
                    else:
                        out.append(value(spec.key))
                records.append(tuple(out))
        return records

    def _service_descriptor(self, base: str) -> ServiceDescriptor:
        """The DataLink service descriptor resource (DataLink 1.1 §4) referencing the publisher_did field."""
        return ServiceDescriptor(
            base + "/datalink",
            standard_id=DATALINK_LINKS,
            name="datalink",
            description="DataLink links of each spectrum: file, preview, Spectrum VOTable",
            input_params=(InputParam("ID", column="publisher_did", ucd="meta.id;meta.main"),),
        )

    # ------------------------------------------------------------------ endpoints

    async def _query(self, request: Request) -> Response:
        """SSA 1.1 §8: queryData (the default REQUEST) and getData."""
        params = await request_params(request, self.limits)
        operation = (params.get("REQUEST") or "queryData").strip().lower()
        if operation == "getdata":
            return await self._get_data(params, request)
        if operation != "querydata":
            raise ParameterError(f"REQUEST={operation!r} is not supported; use queryData or getData", param="REQUEST")
        settings = self.settings
        ssa_request = parse_ssa_request(
            params, maxrec=settings.maxrec, hardlimit=settings.hardlimit, default_size=self.mapping.default_size
        )
        if ssa_request.metadata:
            return Response(self._metadata_document(), media_type=MEDIA_TYPE)
        return await self._query_data(ssa_request, mount_url(request), await self._role(request))

    def _metadata_document(self) -> bytes:
        params = [Param(_param_field(*p), None) for p in INPUT_PARAMS]
        fields = [f for _, f in self._fields]
        writer = VOTableWriter(
            fields,
            params=params,
            infos=(("SERVICE_PROTOCOL", "1.1", "SSAP"), ("REQUEST", "queryData", None)),
            description=self.settings.description or self.settings.title,
        )
        return writer.header() + writer.rows([]) + writer.footer()

    async def _query_data(self, ssa_request: SSARequest, base: str, role: str | None) -> Response:
        kinds = kinds_for(ssa_request, self.products.media_type)
        limit = min(ssa_request.top or ssa_request.maxrec, ssa_request.maxrec)
        query = build_query(self.mapping, ssa_request, limit=limit + 1)
        stack = AsyncExitStack()
        timeout = self.settings.sync_timeout
        try:
            cursor = await stack.enter_async_context(
                db.open_cursor(self.reader(), query.sql, statement_timeout=timeout, args=query.args, role=role)
            )
            first = await cursor.fetch(_BATCH)
        except BaseException:
            await stack.aclose()
            raise
        writer = VOTableWriter(
            [f for _, f in self._fields],
            infos=(("SERVICE_PROTOCOL", "1.1", "SSAP"), ("REQUEST", "queryData", None)),
            table_name="results",
            resources=[self._service_descriptor(base)],
        )

        async def records() -> AsyncGenerator[Sequence[Sequence[object]], None]:
            try:
                batch = first
                while batch and kinds:
                    yield self._records(batch, query.columns, kinds, base)
                    batch = await cursor.fetch(_BATCH)
            finally:
                await stack.aclose()

        return StreamingResponse(iter_result(writer, records(), limit=limit), media_type=MEDIA_TYPE)

    async def _product(self, ident: str | None, *, param: str, request: Request) -> tuple[str, dict[str, object]]:
        """The product key and metadata of the spectrum with publisher DID ``ident``, if the caller may have it.

        An embargoed spectrum of another group is as unknown as one that does not exist (its row is hidden
        from the caller's role), or, when the metadata are public, refused: 401 to an anonymous caller, 403
        to another identity (PostgreSQL evaluates :func:`vostack.db.release_condition` for the role).
        """
        if ident is None or not ident.strip():
            raise ParameterError(f"{param} is missing: send the publisher's dataset identifier", param=param)
        columns = self.mapping.columns
        wanted = [k for k in ("product", "title", "target_name", "publisher_did", "access_size") if k in columns]
        template = self.mapping.path_template
        names = [columns[k] for k in wanted] + list(template.columns if template else ())
        selected = [db.quote_ident(c) for c in names]
        if self.mapping.embargoed:
            assert self.mapping.owner_group is not None and self.mapping.release_date is not None
            owner, release = db.quote_ident(self.mapping.owner_group), db.quote_ident(self.mapping.release_date)
            selected.append(db.release_condition(self.settings.role_prefix, owner, release))
        sql = (
            "SELECT " + ", ".join(selected) + " FROM "
            + ".".join(db.quote_ident(p) for p in self.mapping.table.split(".", 1))
            + f" WHERE {db.quote_ident(columns['publisher_did'])} = $1"
        )  # fmt: skip
        async with db.open_cursor(
            self.reader(),
            sql,
            statement_timeout=self.settings.sync_timeout,
            args=(ident.strip(),),
            role=await self._role(request),
        ) as cursor:
            rows = await cursor.fetch(1)
        if not rows:
            raise NotFoundError(f"this service has no dataset {ident.strip()!r}")
        row = rows[0]
        if self.mapping.embargoed:
            row, may_have = row[:-1], row[-1]
            if not may_have:
                raise identity(request).refusal(f"the dataset {ident.strip()!r} is not released yet")
        meta = dict(zip(wanted, row[: len(wanted)], strict=True))
        for key in ("title", "target_name"):
            meta.setdefault(key, self.mapping.constants.get(key))
        if template is not None:  # the file's path from the template's columns
            return template.render(dict(zip(template.columns, row[len(wanted) :], strict=True))), meta
        return str(meta["product"]), meta

    async def _spectrum(self, key: str) -> Spectrum:
        return await asyncio.to_thread(self.products.spectrum, key)

    async def _get_data(self, params: Params, request: Request) -> Response:
        """SSA 1.1 §8.6 getData: the original file, or with a VOTable FORMAT the Spectrum DM VOTable."""
        key, meta = await self._product(params.get("PUBDID"), param="PUBDID", request=request)
        fmt = (params.get("FORMAT") or "native").strip().lower()
        if fmt in ("compliant", "votable", "xml", "application/x-votable+xml") or fmt.startswith(VOTABLE_MIME):
            spectrum = await self._spectrum(key)
            metadata = [
                (Field("Title", "char", "*", ucd="meta.title;meta.dataset", utype="spec:Spectrum.DataID.Title"),
                 meta.get("title")),
                (Field("TargetName", "char", "*", ucd="meta.id;src", utype="spec:Spectrum.Target.Name"),
                 meta.get("target_name")),
                (Field("PublisherDID", "char", "*", ucd="meta.ref.uri;meta.curation",
                       utype="spec:Spectrum.Curation.PublisherDID"), meta.get("publisher_did")),
            ]  # fmt: skip
            document = await asyncio.to_thread(spectrum_votable, spectrum, metadata)
            return Response(document, media_type=MEDIA_TYPE)
        if fmt not in ("native", "fits", "all", self.products.media_type.lower()):
            raise ParameterError(f"getData offers FORMAT=native (FITS) or votable, not {fmt!r}", param="FORMAT")
        name = key.rsplit("/", 1)[-1]
        headers = {"Content-Disposition": f'attachment; filename="{name}"', "Accept-Ranges": "bytes"}
        wanted = byte_range(request.headers.get("range"))
        if wanted is not None:
            return await self._partial(key, wanted, headers)
        data = await asyncio.to_thread(self.products.original, key)
        return Response(data, media_type=self.products.media_type, headers=headers)

    async def _partial(self, key: str, wanted: tuple[int | None, int | None], headers: dict[str, str]) -> Response:
        """Part of a product's file (RFC 9110 §14.2, §15.3.7): 206, or 416 for a range beyond its end.

        A :class:`RangedProductStore` reads only the bytes asked for; other stores read the file and cut it.
        """
        products = self.products
        if isinstance(products, RangedProductStore):
            size = await asyncio.to_thread(products.size, key)
            found = span(wanted, size)
            part = b"" if found is None else await asyncio.to_thread(products.read_range, key, found[0], found[1] + 1)
        else:
            data = await asyncio.to_thread(products.original, key)
            size, found = len(data), span(wanted, len(data))
            part = b"" if found is None else data[found[0] : found[1] + 1]
        if found is None:
            return Response(b"", status_code=416, headers={"Content-Range": f"bytes */{size}"})
        first, last = found
        headers = {**headers, "Content-Range": f"bytes {first}-{last}/{size}"}
        return Response(part, status_code=206, media_type=products.media_type, headers=headers)

    async def _datalink(self, request: Request) -> Response:
        """DataLink 1.1 §3: the ``{links}`` document for each ID, errors as rows."""
        params = await request_params(request, self.limits)
        ids = params.getall("ID")
        if not ids:
            raise ParameterError("ID is missing: send the publisher's dataset identifier", param="ID")
        base = mount_url(request)
        links: list[Link] = []
        for ident in ids:
            try:  # an embargoed product whose metadata are public refuses the whole document (401/403)
                _, meta = await self._product(ident, param="ID", request=request)
            except NotFoundError as exc:
                links.append(not_found(ident, exc.message))
                continue
            native, _ = self._acref(base, NATIVE, ident)
            compliant, _ = self._acref(base, COMPLIANT, ident)
            preview, _ = self._acref(base, GRAPHIC, ident)
            title = str(meta.get("title") or ident)
            size = meta.get("access_size")
            links += [
                Link(ident, native, description=f"{title}: the original file", content_type=self.products.media_type,
                     content_length=None if size is None else int(str(size))),
                Link(ident, preview, semantics="#preview", description=f"{title}: a plot of the spectrum",
                     content_type="image/svg+xml"),
                Link(ident, compliant, description=f"{title}: Spectrum data model VOTable (SSA getData)",
                     content_type=VOTABLE_MIME),
            ]  # fmt: skip
        document = links_document(links)
        return Response(document, media_type=DATALINK_FORMAT)

    async def _preview(self, request: Request) -> Response:
        """The ``#preview`` link: an SVG plot of the spectrum."""
        params = await request_params(request, self.limits)
        key, meta = await self._product(params.get("ID"), param="ID", request=request)
        spectrum = await self._spectrum(key)
        svg = preview_svg(spectrum, title=str(meta.get("title") or ""))
        return Response(svg, media_type="image/svg+xml")

    async def _availability(self, request: Request) -> Response:
        """VOSI 1.1 §3.5."""
        return await availability_response(self._pool, "the service is accepting queries")

    async def _capabilities(self, request: Request) -> Response:
        """VOSI 1.1 §3.1 with the SSA capability."""
        return capabilities_response(request, self.capabilities(mount_url(request)))
