"""A node of a site that runs on several machines: where job results go, which databases it reads.

The same TOML file that says what to publish (:mod:`vostack.config`) may hold
two more sections, read here:

.. code-block:: toml

    [results]                  # where UWS job results (TAP /async) are kept: shared by every node
    store = "s3"               # "s3" (an S3-compatible object store: Ceph, MinIO) or "directory"
    endpoint = "http://ceph-gw.example:7480"
    public_endpoint = "https://s3.example.org"   # as clients reach it, if not endpoint (presigned URLs)
    bucket = "vostack"
    prefix = "uws/"            # keys are <prefix><job id>/<result id>
    region = "us-east-1"
    access_key_env = "AWS_ACCESS_KEY_ID"         # the environment variables holding the credentials
    secret_key_env = "AWS_SECRET_ACCESS_KEY"
    presign_expiry = 3600      # seconds a result's presigned URL is valid
    redirect = true            # 303 to the presigned URL; false: results stream through the node
    # store = "directory" takes  directory = "/shared/vostack-results"  (a file system every node mounts)

    [database]
    primary = "postgresql://vostack@db-primary/archive"    # --dsn overrides it
    replicas = ["postgresql://vostack@db-replica-1/archive"]  # streaming replicas: queries go there
    max_lag = 10               # seconds a replica may lag behind before it is skipped
    check_interval = 2         # seconds between health checks of each replica
    jobs_schema = "vostack_uws"  # the job queue every node of the site shares (one result store per queue)

Credentials never sit in the file: the S3 keys come from the environment, and
DSNs without passwords take them from ``PGPASSWORD`` or ``~/.pgpass``, as
every PostgreSQL client does.
"""

from __future__ import annotations

import datetime as dt
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from vostack import objects
from vostack.config import ConfigError, read_toml, table_values
from vostack.uws import DirectoryResultStore, ObjectResultStore, ResultStore

__all__ = [
    "DatabaseConfig",
    "NodeConfig",
    "ResultsConfig",
    "bucket_client",
    "check_s3",
    "load_node_config",
    "parse_node_config",
]


@dataclass(frozen=True, slots=True)
class ResultsConfig:
    """The ``[results]`` section: where the job results of every node are kept."""

    store: str = "directory"
    directory: str | None = None
    endpoint: str | None = None
    public_endpoint: str | None = None
    bucket: str | None = None
    prefix: str = ""
    region: str = "us-east-1"
    access_key_env: str = "AWS_ACCESS_KEY_ID"
    secret_key_env: str = "AWS_SECRET_ACCESS_KEY"
    presign_expiry: float = 3600.0
    redirect: bool = True

    def result_store(self, environ: Mapping[str, str] = os.environ) -> ResultStore | None:
        """The result store this section describes; ``None`` without a directory (UWS then picks one)."""
        if self.store == "directory":
            return DirectoryResultStore(self.directory) if self.directory else None
        return ObjectResultStore(
            self.bucket_client(environ),
            prefix=self.prefix,
            redirect=self.redirect,
            expires=dt.timedelta(seconds=self.presign_expiry),
        )

    def bucket_client(self, environ: Mapping[str, str] = os.environ) -> objects.Bucket:
        """The bucket of ``store = "s3"``, with the credentials from the environment variables named."""
        assert self.endpoint is not None and self.bucket is not None  # checked when parsed
        return bucket_client(
            "[results]",
            endpoint=self.endpoint,
            bucket=self.bucket,
            region=self.region,
            public_endpoint=self.public_endpoint,
            access_key_env=self.access_key_env,
            secret_key_env=self.secret_key_env,
            environ=environ,
        )


def bucket_client(
    where: str,
    *,
    endpoint: str,
    bucket: str,
    region: str,
    public_endpoint: str | None,
    access_key_env: str,
    secret_key_env: str,
    environ: Mapping[str, str] = os.environ,
) -> objects.Bucket:
    """An S3 bucket of a config section ``where``, with the credentials from the environment variables named."""
    keys = []
    for name in (access_key_env, secret_key_env):
        value = environ.get(name)
        if not value:
            raise ConfigError(f"{where}: the environment variable {name} (the S3 credentials) is not set")
        keys.append(value)
    return objects.Bucket(
        endpoint=endpoint,
        bucket=bucket,
        access_key_id=keys[0],
        secret_access_key=keys[1],
        region=region,
        public_endpoint=public_endpoint,
    )


def check_s3(where: str, *, endpoint: str | None, bucket: str | None, public_endpoint: str | None, prefix: str) -> None:
    """The S3 settings of a config section ``where`` (``store = "s3"``): :class:`ConfigError` saying what is wrong."""
    if not endpoint or not bucket:
        raise ConfigError(f'{where}: store = "s3" needs an endpoint and a bucket')
    for key, url in (("endpoint", endpoint), ("public_endpoint", public_endpoint)):
        if url is not None and not url.startswith(("http://", "https://")):
            raise ConfigError(f"{where}: {key} must be an http:// or https:// URL, not {url!r}")
    if prefix and not prefix.endswith("/"):
        raise ConfigError(f"{where}: prefix must end with '/', as {prefix + '/'!r} does")


@dataclass(frozen=True, slots=True)
class DatabaseConfig:
    """The ``[database]`` section: the primary and its streaming replicas."""

    primary: str | None = None
    replicas: tuple[str, ...] = ()
    max_lag: float = 10.0
    check_interval: float = 2.0
    jobs_schema: str = "vostack_uws"


@dataclass(frozen=True, slots=True)
class NodeConfig:
    """What a node reads besides what it publishes."""

    results: ResultsConfig = field(default_factory=ResultsConfig)
    database: DatabaseConfig = field(default_factory=DatabaseConfig)


_RESULTS_TYPES: dict[str, tuple[type, ...]] = {
    "store": (str,),
    "directory": (str,),
    "endpoint": (str,),
    "public_endpoint": (str,),
    "bucket": (str,),
    "prefix": (str,),
    "region": (str,),
    "access_key_env": (str,),
    "secret_key_env": (str,),
    "presign_expiry": (int, float),
    "redirect": (bool,),
}
_DATABASE_TYPES: dict[str, tuple[type, ...]] = {
    "primary": (str,),
    "replicas": (list,),
    "max_lag": (int, float),
    "check_interval": (int, float),
    "jobs_schema": (str,),
}


def _results(data: Any) -> ResultsConfig:
    config = ResultsConfig(**table_values("[results]", data, _RESULTS_TYPES))
    if config.store not in ("directory", "s3"):
        raise ConfigError(f'[results]: store must be "directory" or "s3", not {config.store!r}')
    if config.store == "s3":
        check_s3(
            "[results]",
            endpoint=config.endpoint,
            bucket=config.bucket,
            public_endpoint=config.public_endpoint,
            prefix=config.prefix,
        )
    if config.presign_expiry <= 0:
        raise ConfigError("[results]: presign_expiry must be positive (seconds)")
    return config


def _database(data: Any) -> DatabaseConfig:
    values = table_values("[database]", data, _DATABASE_TYPES)
    replicas = values.pop("replicas", [])
    if not all(isinstance(r, str) and r for r in replicas):
        raise ConfigError("[database]: replicas must be a list of DSNs")
    config = DatabaseConfig(replicas=tuple(replicas), **values)
    if not config.jobs_schema:
        raise ConfigError("[database]: jobs_schema must name a schema")
    if config.max_lag < 0 or config.check_interval <= 0:
        raise ConfigError("[database]: max_lag must not be negative and check_interval must be positive")
    return config


def parse_node_config(data: Mapping[str, Any]) -> NodeConfig:
    """The ``[results]`` and ``[database]`` sections of a parsed TOML config (other sections are ignored)."""
    return NodeConfig(results=_results(data.get("results", {})), database=_database(data.get("database", {})))


def load_node_config(path: Path) -> NodeConfig:
    """Read the ``[results]`` and ``[database]`` sections of a TOML config file."""
    return parse_node_config(read_toml(path))
