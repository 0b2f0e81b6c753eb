"""What one configuration publishes: TAP, cone searches, MOC coverage, EPN-TAP collections, and their records.

A :class:`Publication` holds the services built from a :class:`vostack.config.PublishConfig` and the
``[scs]``, ``[coverage]`` and ``[epntap]`` sections of the same TOML file (:func:`load_publication`), so
``vostack serve --config site.toml`` publishes all of them without Python.  Its :attr:`Publication.services`
are in the order a :class:`vostack.Site` must start them: the EPN-TAP views and SSA's ObsCore view first
(TAP publishes them), then TAP, then what reads TAP's metadata (cone searches, coverage).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from starlette.requests import Request

from vostack import web
from vostack.auth import ANONYMOUS, Auth, parse_auth
from vostack.config import ConfigError, PublishConfig, parse_config, read_toml
from vostack.epntap import EPNCollection, collection_from_toml
from vostack.errors import VOError
from vostack.facets import FacetService, SearchConfig, parse_facets_config
from vostack.moc import CoverageConfig, CoverageService, parse_coverage_config
from vostack.obscore import ObsCoreSource, ObsCoreView
from vostack.products import FileGuard, Products, ProductService
from vostack.registry import Coverage, ResourceName, ServiceDescription
from vostack.schema import TableSet
from vostack.scs import ConeConfig, SCSService, parse_scs_config
from vostack.sia import ImageCollection, SIAService
from vostack.site import Service
from vostack.ssa import OBSCORE_DATA_MODEL, OBSCORE_TABLE, SSAService, obscore_table_meta
from vostack.tap import DataModel, TAPService
from vostack.uws import UWSService

__all__ = [
    "Publication",
    "add_searches",
    "build_publication",
    "file_guards",
    "load_publication",
    "served_collections",
    "with_collections",
    "with_obscore",
]


def with_collections(config: PublishConfig, collections: Sequence[EPNCollection]) -> PublishConfig:
    """``config`` with the ``epn_core`` tables of ``collections`` (and their schemas) published (EPN-TAP 2.0 §1.2)."""
    if not collections:
        return config
    schemas = {**config.schemas, **{c.schema: c.description for c in collections}}
    tables = {**config.tables, **{c.table: c.table_meta() for c in collections}}
    return dataclasses.replace(config, schemas=schemas, tables=tables)


@dataclass
class Publication:
    """The services of a site: TAP and what is built on it."""

    tap: TAPService
    cones: dict[str, SCSService] = field(default_factory=dict)
    coverage: CoverageService | None = None
    collections: tuple[EPNCollection, ...] = ()
    ssa: SSAService | None = None
    compute: UWSService | None = None
    products: ProductService | None = None
    """The product endpoint (``/products``): the files of EPN-TAP granules and other products."""
    auth: Auth | None = None
    sia: SIAService | None = None
    """SIA 2.0 with DataLink and SODA (``/sia``) over the images of :attr:`SIAService.collections`."""
    obscore: ObsCoreView | None = None
    """``ivoa.obscore`` over the spectra and the images, when there are images (else SSA makes it alone)."""
    facets: dict[str, FacetService] = field(default_factory=dict)
    """The faceted searches by table (their pages are served at ``/search/<table>/``)."""
    body_maps: dict[str, Path] = field(default_factory=dict)
    """Pictures of planetary bodies by name (equirectangular), for the search pages of body-frame collections."""

    @property
    def services(self) -> list[Service]:
        """Every service, in the order to start them."""
        images: list[Service] = list(self.sia.collections) if self.sia else []  # EPN-TAP views may read them
        first: list[Service] = [*images, *self.collections, *([self.ssa] if self.ssa else [])]
        first += [self.obscore] if self.obscore else []
        later: list[Service] = [*self.cones.values(), *([self.coverage] if self.coverage else [])]
        later += [self.sia] if self.sia else []
        later += list(self.facets.values())
        return [*first, self.tap, *later, *([self.compute] if self.compute else [])]

    def _coverage(self, table: str) -> Any:
        coverage = self.coverage
        if coverage is None:
            return None

        def of(base_url: str) -> Coverage | None:
            if table not in coverage.specs:
                return None
            return coverage.coverage(table, f"{base_url.rstrip('/')}/moc")

        return of

    def descriptions(self, *, authority: str, tap_title: str, tap_key: str = "tap") -> list[ServiceDescription]:
        """The registry descriptions of the cone searches and EPN-TAP collections (the TAP record is the caller's).

        A cone search is a ``vs:CatalogService`` with the ``cs:ConeSearch`` capability, its table and the
        table's MOC; an EPN-TAP collection one with the ``TAP#aux`` capability, ``IsServedBy`` the TAP
        service (EPN-TAP 2.0 §4.1), its ``epn_core`` table and, when it is on the sky, its MOC.
        """
        tap = self.tap

        def tables(*names: str) -> Any:
            def only() -> TableSet | None:
                return tap.tableset_for(ANONYMOUS).only(*names)  # registry records are public

            return only

        def public(name: str) -> bool:
            try:
                return tap.tableset_for(ANONYMOUS).table(name) is not None
            except VOError:  # not started: the restricted tables are still known from the configuration
                return not tap.access.restricted or name.lower() not in tap.access.tables

        descriptions = [
            ServiceDescription(
                key=f"scs/{name}",
                title=cone.title,
                description=cone.description or cone.title,
                capabilities=cone.capabilities,
                tableset=tables(name),
                coverage=self._coverage(name),
            )
            for name, cone in self.cones.items()
            if public(name)
        ]
        if self.sia is not None and public(OBSCORE_TABLE):
            descriptions.append(
                ServiceDescription(
                    key="sia",
                    title=self.sia.settings.title,
                    description=self.sia.settings.description
                    or "Images by position, band and time (SIA 2.0), with previews, DataLink links and SODA "
                    "cutouts, over ivoa.obscore.",
                    capabilities=self.sia.capabilities,
                    tableset=tables(OBSCORE_TABLE),
                    types=("Image",),
                )
            )
        served_by = ResourceName(tap_title, f"{authority}/{tap_key}")
        descriptions += [
            collection.describe(
                tap=served_by,
                tap_path=tap_key,
                tableset=tables(collection.table),
                coverage=self._coverage(collection.table),
            )
            for collection in self.collections
            if public(collection.table)
        ]
        return descriptions


def served_collections(
    collections: Sequence[EPNCollection], products: Mapping[str, Products], public_url: str | None
) -> list[EPNCollection]:
    """``collections`` with the URL and media type of the product store their granules' files are in
    (``/products/<store>/`` below ``public_url``, where :class:`vostack.products.ProductService` is mounted)."""
    served = []
    for collection in collections:
        links = collection.products
        if links is not None:
            store = products.get(links.store)
            if store is None:
                raise ConfigError(
                    f"[epntap.{collection.schema}.products]: no [products.{links.store}] serves its files"
                    + (f"; there are: {', '.join(products)}" if products else "")
                )
            if public_url is None:
                raise ConfigError(f"[epntap.{collection.schema}.products]: the site's public_url is unknown")
            where = f"[epntap.{collection.schema}.products]"
            if links.thumbnails and not store.previews:
                raise ConfigError(f"{where}: thumbnails need previews = true in [products.{links.store}]")
            url = f"{public_url.rstrip('/')}/products/{links.store}/"
            links = dataclasses.replace(links, url=url, media_type=store.media_type)
            collection = dataclasses.replace(collection, products=links)
        served.append(collection)
    return served


def file_guards(tap: TAPService, collections: Sequence[EPNCollection]) -> dict[str, FileGuard]:
    """For each product store holding files of embargoed EPN-TAP granules, the check a request for one of its
    files passes first (:meth:`vostack.epntap.EPNCollection.check_file`, run as the caller's TAP role)."""
    by_store: dict[str, list[EPNCollection]] = {}
    for collection in collections:
        if collection.embargoed and collection.products is not None:
            by_store.setdefault(collection.products.store, []).append(collection)

    def guard(guarding: Sequence[EPNCollection]) -> FileGuard:
        async def check(request: Request, path: str) -> bool:
            caller = web.identity(request)
            role = await tap.role_for(caller)
            found = [await c.check_file(tap.pool, path, identity=caller, role=role) for c in guarding]
            return any(found)

        return check

    return {store: guard(guarding) for store, guarding in by_store.items()}


def build_publication(
    config: PublishConfig,
    *,
    cones: Sequence[ConeConfig] = (),
    coverage: CoverageConfig | None = None,
    collections: Sequence[EPNCollection] = (),
    ssa: SSAService | None = None,
    compute: UWSService | None = None,
    tap_options: Mapping[str, Any] | None = None,
    products: Mapping[str, Products] | None = None,
    public_url: str | None = None,
    auth: Auth | None = None,
    images: Sequence[ImageCollection] = (),
    searches: Sequence[SearchConfig] = (),
) -> Publication:
    """The services for ``config``: TAP (with ``tap_options``), publishing the EPN-TAP ``collections`` too,
    a cone search per entry of ``cones``, MOC coverage unless ``coverage`` is ``None``, the ``products``
    served at ``/products`` below ``public_url`` (the absolute URL clients reach the site at), with
    ``images`` SIA 2.0 at ``/sia`` over ``ivoa.obscore``, made of the spectra of ``ssa`` and the images, and a
    faceted search per entry of ``searches``."""
    prefix = config.service.role_prefix
    collections = [
        dataclasses.replace(c, role_prefix=prefix) if c.embargoed else c
        for c in served_collections(collections, products or {}, public_url)
    ]
    options = dict(tap_options or {})
    embargoed = (
        (ssa is not None and ssa.mapping.embargoed)
        or any(c.embargoed for c in collections)
        or any(c.embargoed for c in images)
    )
    if embargoed:  # ivoa.obscore or an epn_core has rows only some groups see
        options.setdefault("row_security", True)
    sia = obscore = None
    if images:
        jobs_schema = dict(options.get("async_options") or {}).get("schema", "vostack_uws")  # [database] jobs_schema
        sia = SIAService(
            collections=images,
            settings=dataclasses.replace(config.service, title=_sia_title(images)),
            jobs_schema=jobs_schema,
            row_security=embargoed,  # ivoa.obscore holds the spectra too: their owner groups count
        )
        sources: list[ObsCoreSource] = [*([ssa] if ssa is not None and ssa.public_url is not None else []), *images]
        if ssa is not None:
            ssa.obscore_view = False  # one view of the spectra and the images
        obscore = ObsCoreView(sources=sources, settings=config.service)
        config = with_obscore(config)
        models = list(options.get("data_models", ()))
        if DataModel(*OBSCORE_DATA_MODEL) not in models:
            options["data_models"] = [*models, DataModel(*OBSCORE_DATA_MODEL)]
    tap = TAPService(config=with_collections(config, collections), **options)
    return Publication(
        tap=tap,
        cones={
            c.table: SCSService(
                tap=tap,
                table=c.table,
                max_sr=c.max_sr,
                ident=c.ident,
                ra=c.ra,
                dec=c.dec,
                title=c.title,
                description=c.description,
            )
            for c in cones
        },
        coverage=CoverageService(tap=tap, config=coverage) if coverage is not None else None,
        collections=tuple(collections),
        ssa=ssa,
        compute=compute,
        products=ProductService(
            products=products, cors_origins=config.service.cors_origins, guards=file_guards(tap, collections)
        )
        if products
        else None,
        auth=auth,
        sia=sia,
        obscore=obscore,
        facets={s.table: FacetService(search=s.search(tap)) for s in searches},
    )


def _sia_title(images: Sequence[ImageCollection]) -> str:
    return "SIA 2.0 images: " + ", ".join(c.collection for c in images)


def with_obscore(config: PublishConfig) -> PublishConfig:
    """``config`` with ``ivoa.obscore`` published in TAP (ObsCore 1.1 §4), its metadata given unless set."""
    return dataclasses.replace(
        config,
        schemas={**config.schemas, "ivoa": config.schemas.get("ivoa") or "IVOA standard tables: ObsCore 1.1."},
        tables={**config.tables, OBSCORE_TABLE: config.tables.get(OBSCORE_TABLE) or obscore_table_meta()},
    )


def add_searches(publication: Publication, searches: Sequence[SearchConfig]) -> Publication:
    """``publication`` with a faceted search for each of ``searches`` whose table its TAP service publishes."""
    published = {name.lower() for name in publication.tap.config.tables}
    for search in searches:
        if search.table.lower() in published:
            publication.facets[search.table] = FacetService(search=search.search(publication.tap))
    return publication


def load_publication(path: Path, *, public_url: str | None = None, **options: Any) -> Publication:
    """The services a TOML file describes: ``[service]``, ``[schemas]``, ``[tables]``, ``[examples]`` for TAP,
    ``[scs."<table>"]`` cone searches, ``[coverage]`` (MOCs of every table with a main position; on unless
    ``[coverage] enabled = false``), ``[epntap.<schema>]`` collections, ``[products.<name>]`` file stores
    served at ``/products``, ``[ssa]`` (SSA with ``ivoa.obscore`` in TAP, :mod:`vostack.holdings`), ``[sia]``
    (SIA 2.0 over the image collections, which join ``ivoa.obscore``) and ``[facets."<table>"]`` faceted
    searches, with the ``[auth]`` of the site; ``options`` go to :func:`build_publication`.

    ``public_url`` is how clients reach the site (the access URLs the EPN-TAP and ObsCore views hold); the
    file's top-level ``public_url`` wins over it.
    """
    from vostack.holdings import parse_products, parse_sia, parse_ssa

    data = read_toml(path)
    coverage_data = dict(data.get("coverage", {}))
    enabled = coverage_data.pop("enabled", True)
    if not isinstance(enabled, bool):
        raise ConfigError("[coverage]: enabled must be true or false")
    epntap = data.get("epntap", {})
    if not isinstance(epntap, dict) or not all(isinstance(v, dict) for v in epntap.values()):
        raise ConfigError("[epntap]: each collection is a table [epntap.<schema>]")
    public_url = data.get("public_url", public_url)
    if public_url is not None and (
        not isinstance(public_url, str) or not public_url.startswith(("http://", "https://"))
    ):
        raise ConfigError(f"public_url must be an http:// or https:// URL, not {public_url!r}")
    config = parse_config(data)
    products = parse_products(data.get("products", {}), base=path.resolve().parent)
    ssa = None
    if "ssa" in data:
        ssa = parse_ssa(data["ssa"], products=products, settings=config.service, public_url=public_url)
        if ssa.public_url is not None:  # TAP publishes ivoa.obscore and says so (ObsCore 1.1 §4)
            config = with_obscore(config)
            tap_options = dict(options.pop("tap_options", None) or {})
            models = list(tap_options.get("data_models", ()))
            tap_options["data_models"] = [*models, DataModel(*OBSCORE_DATA_MODEL)]
            options["tap_options"] = tap_options
    images = []
    if "sia" in data:
        images = parse_sia(data["sia"], products=products, settings=config.service, public_url=public_url)
    return build_publication(
        config,
        images=images,
        cones=parse_scs_config(data.get("scs", {})),
        coverage=parse_coverage_config(coverage_data) if enabled else None,
        collections=[collection_from_toml(schema, table) for schema, table in epntap.items()],
        products=products,
        public_url=public_url,
        ssa=ssa,
        searches=parse_facets_config(data.get("facets", {})),
        **{"auth": parse_auth(data.get("auth"), base=path.parent), **options},
    )
