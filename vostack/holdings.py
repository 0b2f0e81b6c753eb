"""A site's files, spectra and images from its TOML file: ``[products.<name>]`` stores, an ``[ssa]`` service
and ``[sia]`` image collections.

With these sections ``vostack serve`` publishes SSA 1.1 and SIA 2.0 (with DataLink and SODA cutouts) with
their ObsCore 1.1 view and serves product files (the ``access_url`` of EPN-TAP granules) without any Python:

.. code-block:: toml

    public_url = "https://archive.example.org"   # how clients reach the site (default: http://HOST:PORT)

    [products.spectra]              # files served at /products/spectra/<path>
    store = "zip"                   # "directory", "zip" (an archive read in place) or "s3"
    path = "/data/splat-1.14-py3-none-any.whl"   # the directory or archive (relative: to this file)
    prefix = "splat/resources/Spectra/Public/SPEX-PRISM/"   # inside the archive or bucket
    media_type = "application/fits"
    compression = "gzip"            # the files are kept gzipped: served uncompressed
    previews = false                # PNG thumbnails (images Pillow reads)
    # store = "s3" takes endpoint, public_endpoint, bucket, prefix, region, access_key_env, secret_key_env
    # as [results] does (vostack.node): the keys come from the environment

    [ssa]                           # an SSA 1.1 service at /ssa over one table, and ivoa.obscore in TAP
    table = "spex.spectra"
    collection = "SpeX Prism Library"
    products = "spectra"            # the [products.<name>] holding the files
    path = "{file_name}.gz"         # a spectrum's file in it: a template of the table's columns
    default_size = 0.1              # degrees searched when POS comes without SIZE
    obscore = true                  # create ivoa.obscore (ObsCore 1.1) from the same mapping
    owner_group = "owner"           # an embargo (optional): columns of the owner group and the release date
    release_date = "released"       # (vostack.ssa.SSAMapping; enforced by PostgreSQL)
    metadata_public = false         # true: everyone sees embargoed spectra's metadata, their files stay private
    [ssa.spectrum]                  # how the arrays are read (vostack.ssa.readers.FitsSpectrum)
    layout = "rows"                 # or "table" with spectral = "WAVE", flux = "FLUX", error = "ERR"
    spectral_unit = "um"
    [ssa.columns]                   # SSA/ObsCore key = column (vostack.ssa.SSAMapping)
    publisher_did = "pubdid"
    [ssa.constants]                 # SSA/ObsCore key = value
    facility = "IRTF"

    [sia]                           # SIA 2.0 at /sia over ivoa.obscore (the spectra and these images)
    authority = "ivo://example.org" # of the images' publisher DIDs: ivo://example.org/<collection>?<file>
    [sia.collections.sky]           # a collection of FITS images, described from their headers
    table = "images.sky"            # the product table, loaded from the files when they change
    collection = "Sky images"       # obs_collection
    products = "images"             # the [products.<name>] holding the files
    files = ["m13.fits", "first.fits"]
    calib_level = 2
    owner_group = "consortium"      # an embargo (optional) of these images: the group that sees them before
    release_date = "2027-06-30"     # this date (ISO 8601, UTC unless given; enforced by PostgreSQL)
    metadata_public = false         # true: everyone sees their records, the files (and cutouts) stay private
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from vostack.config import EMBARGO_TYPES, ConfigError, ServiceConfig, embargo_values, table_values
from vostack.errors import VOError
from vostack.node import bucket_client, check_s3
from vostack.products import BucketStore, DirectoryStore, FileStore, GzipStore, Products, ZipStore
from vostack.sia import ImageCollection, ImageFile
from vostack.ssa import FileProducts, MappingError, SSAMapping, SSAService
from vostack.ssa.readers import FitsSpectrum

__all__ = ["STORES", "parse_products", "parse_sia", "parse_ssa"]

STORES = ("directory", "zip", "s3")
"""The kinds of ``[products.<name>]`` store."""

_PRODUCT_TYPES: dict[str, tuple[type, ...]] = {
    "store": (str,), "path": (str,), "prefix": (str,), "media_type": (str,), "compression": (str,),
    "previews": (bool,), "endpoint": (str,), "public_endpoint": (str,), "bucket": (str,), "region": (str,),
    "access_key_env": (str,), "secret_key_env": (str,),
}  # fmt: skip
_SSA_TYPES: dict[str, tuple[type, ...]] = {
    "table": (str,), "collection": (str,), "products": (str,), "path": (str,), "default_size": (int, float),
    "obscore": (bool,), "columns": (dict,), "constants": (dict,), "spectrum": (dict,), **EMBARGO_TYPES,
}  # fmt: skip
_SIA_TYPES: dict[str, tuple[type, ...]] = {"authority": (str,), "collections": (dict,)}
_IMAGES_TYPES: dict[str, tuple[type, ...]] = {
    "table": (str,), "collection": (str,), "products": (str,), "files": (list,), "calib_level": (int,),
    **EMBARGO_TYPES,
}  # fmt: skip
_SPECTRUM_TYPES: dict[str, tuple[type, ...]] = {
    "layout": (str,), "spectral": (str,), "flux": (str,), "error": (str,), "spectral_unit": (str,),
    "flux_unit": (str,), "spectral_ucd": (str,), "flux_ucd": (str,),
}  # fmt: skip


def _store(where: str, values: Mapping[str, Any], base: Path, environ: Mapping[str, str]) -> FileStore:
    kind = values.get("store")
    if kind not in STORES:
        raise ConfigError(f"{where}: store must be one of {', '.join(STORES)}, not {kind!r}")
    s3_keys = {"endpoint", "public_endpoint", "bucket", "region", "access_key_env", "secret_key_env"}
    misplaced = sorted(s3_keys & set(values)) if kind != "s3" else (["path"] if "path" in values else [])
    if misplaced:
        raise ConfigError(f'{where}: {", ".join(misplaced)} do not belong to store = "{kind}"')
    prefix = values.get("prefix", "")
    try:
        if kind == "s3":
            check_s3(
                where,
                endpoint=values.get("endpoint"),
                bucket=values.get("bucket"),
                public_endpoint=values.get("public_endpoint"),
                prefix=prefix,
            )
            bucket = bucket_client(
                where,
                endpoint=values["endpoint"],
                bucket=values["bucket"],
                region=values.get("region", "us-east-1"),
                public_endpoint=values.get("public_endpoint"),
                access_key_env=values.get("access_key_env", "AWS_ACCESS_KEY_ID"),
                secret_key_env=values.get("secret_key_env", "AWS_SECRET_ACCESS_KEY"),
                environ=environ,
            )
            return BucketStore(bucket, prefix=prefix)
        if not values.get("path"):
            raise ConfigError(f'{where}: store = "{kind}" needs a path (the directory or the archive)')
        path = base / Path(values["path"]).expanduser()
        if kind == "directory":
            if prefix:
                raise ConfigError(f"{where}: a directory has no prefix: put it in its path")
            return DirectoryStore(path)
        return ZipStore(path, prefix=prefix)
    except (ValueError, VOError) as exc:
        if isinstance(exc, ConfigError):
            raise
        raise ConfigError(f"{where}: {exc}") from None


def parse_products(
    data: Mapping[str, Any], *, base: Path, environ: Mapping[str, str] = os.environ
) -> dict[str, Products]:
    """The ``[products.<name>]`` tables as :class:`vostack.products.Products`; relative paths are taken from
    ``base`` (the config file's directory), S3 credentials from ``environ``."""
    products = {}
    for name, table in data.items():
        where = f"[products.{name}]"
        if not name.isidentifier():
            raise ConfigError(f"{where}: a product store's name is a plain word (it is a URL path segment)")
        values = table_values(where, table, _PRODUCT_TYPES)
        store = _store(where, values, base, environ)
        compression = values.get("compression")
        if compression not in (None, "gzip"):
            raise ConfigError(f'{where}: compression may only be "gzip", not {compression!r}')
        media_type = values.get("media_type", "application/octet-stream")
        if media_type != media_type.lower() or "/" not in media_type:
            raise ConfigError(f"{where}: media_type is a lower-case media type (RFC 2045), not {media_type!r}")
        products[name] = Products(
            GzipStore(store) if compression == "gzip" else store,
            media_type=media_type,
            previews=values.get("previews", False),
        )
    return products


def _spectrum(where: str, data: Any) -> FitsSpectrum:
    values = table_values(where, data, _SPECTRUM_TYPES)
    try:
        return FitsSpectrum(**values)
    except ValueError as exc:
        raise ConfigError(f"{where}: {exc}") from None


def _named_store(where: str, name: str, products: Mapping[str, Products]) -> Products:
    store = products.get(name)
    if store is None:
        known = ", ".join(products) or "none"
        raise ConfigError(f"{where}: products = {name!r} names no [products.<name>] (there are: {known})")
    return store


def parse_ssa(
    data: Mapping[str, Any], *, products: Mapping[str, Products], settings: ServiceConfig, public_url: str | None
) -> SSAService:
    """The SSA service the ``[ssa]`` table describes, over the files of one of ``products``; with ``obscore``
    (the default) it creates ``ivoa.obscore``, whose access URLs start with ``public_url``."""
    values = table_values("[ssa]", data, _SSA_TYPES)
    missing = [key for key in ("table", "collection", "products", "columns", "spectrum") if key not in values]
    if missing:
        raise ConfigError(f"[ssa]: {', '.join(missing)} required")
    store = _named_store("[ssa]", values["products"], products)
    if not all(isinstance(v, str) for v in values["columns"].values()):
        raise ConfigError("[ssa.columns]: each key maps to a column name (a string)")
    obscore = values.get("obscore", True)
    if obscore and public_url is None:
        raise ConfigError("[ssa]: the ObsCore view's access URLs need the site's public_url")
    mapping = SSAMapping(
        table=values["table"],
        columns=dict(values["columns"]),
        constants=dict(values.get("constants", {})),
        collection=values["collection"],
        default_size=float(values.get("default_size", 0.1)),
        product_path=values.get("path"),
        **embargo_values("[ssa]", values),
    )
    reader = _spectrum("[ssa.spectrum]", values["spectrum"])
    files = FileProducts(store.store, read_spectrum=reader, media_type=store.media_type)
    try:
        return SSAService(
            mapping=mapping,
            products=files,
            settings=settings,
            public_url=f"{public_url.rstrip('/')}/ssa" if obscore and public_url else None,
        )
    except MappingError as exc:
        raise ConfigError(f"[ssa]: {exc.message}") from None


def _release_date(where: str, text: str | None) -> datetime | None:
    """An image collection's release date: an ISO 8601 date or date and time (UTC unless it says)."""
    if text is None:
        return None
    try:
        when = datetime.fromisoformat(text)
    except ValueError:
        raise ConfigError(f"{where}: release_date is an ISO 8601 date (2027-06-30) or date and time") from None
    return when if when.tzinfo is not None else when.replace(tzinfo=UTC)


def parse_sia(
    data: Mapping[str, Any], *, products: Mapping[str, Products], settings: ServiceConfig, public_url: str | None
) -> list[ImageCollection]:
    """The image collections of the ``[sia]`` table (``[sia.collections.<name>]``), served by SIA at
    ``public_url``/sia; each loads its files when it starts unless its table holds them already."""
    values = table_values("[sia]", data, _SIA_TYPES)
    if "authority" not in values or not values["authority"].startswith("ivo://"):
        raise ConfigError("[sia]: authority (the ivo:// authority of the images' identifiers) is required")
    if public_url is None:
        raise ConfigError("[sia]: the images' access URLs need the site's public_url")
    if not values.get("collections"):
        raise ConfigError("[sia]: give at least one collection of images, [sia.collections.<name>]")
    collections = []
    for name, table in values["collections"].items():
        where = f"[sia.collections.{name}]"
        entry = table_values(where, table, _IMAGES_TYPES)
        missing = [key for key in ("table", "collection", "products", "files") if key not in entry]
        if missing:
            raise ConfigError(f"{where}: {', '.join(missing)} required")
        store = _named_store(where, entry["products"], products)
        files = entry["files"]
        if not files or not all(isinstance(f, str) and f for f in files):
            raise ConfigError(f"{where}: files is a list of the images' paths in the store")
        if not 0 <= entry.get("calib_level", 2) <= 4:
            raise ConfigError(f"{where}: calib_level is 0 to 4 (ObsCore 1.1 §4.2)")
        embargo = embargo_values(where, entry)
        owner, release = embargo.get("owner_group"), _release_date(where, embargo.get("release_date"))
        try:
            collections.append(
                ImageCollection(
                    table=entry["table"],
                    collection=entry["collection"],
                    store=store.store,
                    authority=values["authority"],
                    public_url=f"{public_url.rstrip('/')}/sia",
                    calib_level=entry.get("calib_level", 2),
                    settings=settings,
                    files=[ImageFile(path, owner_group=owner, release_date=release) for path in files],
                    embargoed=owner is not None,
                    metadata_public=embargo.get("metadata_public", False),
                )
            )
        except ValueError as exc:
            raise ConfigError(f"{where}: {exc}") from None
    return collections
