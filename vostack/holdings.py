"""A site's files and spectra from its TOML file: ``[products.<name>]`` stores and an ``[ssa]`` service.

With these sections ``vostack serve`` publishes SSA 1.1 with its ObsCore 1.1 view and serves product
files (the ``access_url`` of EPN-TAP granules) without any Python:

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
    [ssa.spectrum]                  # how the arrays are read (vostack.ssa.readers.FitsSpectrum)
    layout = "rows"                 # or "table" with spectral = "WAVE", flux = "FLUX", error = "ERR"
    spectral_unit = "um"
    [ssa.columns]                   # SSA/ObsCore key = column (vostack.ssa.SSAMapping)
    publisher_did = "pubdid"
    [ssa.constants]                 # SSA/ObsCore key = value
    facility = "IRTF"
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from vostack.config import ConfigError, ServiceConfig
from vostack.errors import VOError
from vostack.node import bucket_client, check_s3, table_values
from vostack.products import BucketStore, DirectoryStore, FileStore, GzipStore, Products, ZipStore
from vostack.ssa import FileProducts, MappingError, SSAMapping, SSAService
from vostack.ssa.readers import FitsSpectrum

__all__ = ["STORES", "parse_products", "parse_ssa"]

STORES = ("directory", "zip", "s3")
"""The kinds of ``[products.<name>]`` store."""

_PRODUCT_TYPES: dict[str, tuple[type, ...]] = {
    "store": (str,), "path": (str,), "prefix": (str,), "media_type": (str,), "compression": (str,),
    "previews": (bool,), "endpoint": (str,), "public_endpoint": (str,), "bucket": (str,), "region": (str,),
    "access_key_env": (str,), "secret_key_env": (str,),
}  # fmt: skip
_SSA_TYPES: dict[str, tuple[type, ...]] = {
    "table": (str,), "collection": (str,), "products": (str,), "path": (str,), "default_size": (int, float),
    "obscore": (bool,), "columns": (dict,), "constants": (dict,), "spectrum": (dict,), "owner_group": (str,),
    "release_date": (str,),
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


def parse_ssa(
    data: Mapping[str, Any], *, products: Mapping[str, Products], settings: ServiceConfig, public_url: str | None
) -> SSAService:
    """The SSA service the ``[ssa]`` table describes, over the files of one of ``products``; with ``obscore``
    (the default) it creates ``ivoa.obscore``, whose access URLs start with ``public_url``."""
    values = table_values("[ssa]", data, _SSA_TYPES)
    missing = [key for key in ("table", "collection", "products", "columns", "spectrum") if key not in values]
    if missing:
        raise ConfigError(f"[ssa]: {', '.join(missing)} required")
    store = products.get(values["products"])
    if store is None:
        known = ", ".join(products) or "none"
        raise ConfigError(f"[ssa]: products = {values['products']!r} names no [products.<name>] (there are: {known})")
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
        owner_group=values.get("owner_group"),
        release_date=values.get("release_date"),
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
