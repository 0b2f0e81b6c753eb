"""The [results] and [database] sections of a node's TOML config (vostack.node)."""

from __future__ import annotations

import datetime as dt
import tomllib
from pathlib import Path

import pytest

from vostack.cli import main
from vostack.config import ConfigError, parse_config
from vostack.node import NodeConfig, parse_node_config
from vostack.uws import DirectoryResultStore, ObjectResultStore

S3 = """
[results]
store = "s3"
endpoint = "http://ceph.example:7480"
public_endpoint = "https://s3.example.org"
bucket = "results"
prefix = "uws/"
access_key_env = "K"
secret_key_env = "S"
presign_expiry = 600
redirect = false

[database]
primary = "postgresql://vostack@primary/archive"
replicas = ["postgresql://vostack@replica-1/archive", "postgresql://vostack@replica-2/archive"]
max_lag = 5
check_interval = 1.5
jobs_schema = "site_jobs"
"""


def test_an_s3_store_and_replicas_are_read_with_credentials_from_the_environment() -> None:
    data = tomllib.loads(S3)
    parse_config(data)  # the publishing config accepts the sections it leaves to vostack.node
    node = parse_node_config(data)
    store = node.results.result_store({"K": "key", "S": "secret"})
    assert isinstance(store, ObjectResultStore)
    assert store.prefix == "uws/" and store.redirect is False and store.expires == dt.timedelta(minutes=10)
    assert store.bucket.bucket == "results" and store.bucket.endpoint == "http://ceph.example:7480"
    # presigned URLs name the endpoint clients reach
    assert store.bucket.presign("uws/j/result", expires=dt.timedelta(minutes=1)).startswith(
        "https://s3.example.org/results/uws/j/result?"
    )
    assert node.database.replicas == (
        "postgresql://vostack@replica-1/archive",
        "postgresql://vostack@replica-2/archive",
    )
    assert (node.database.max_lag, node.database.check_interval, node.database.jobs_schema) == (5, 1.5, "site_jobs")


def test_missing_credentials_name_the_variable() -> None:
    node = parse_node_config(tomllib.loads(S3))
    with pytest.raises(ConfigError, match="environment variable S "):
        node.results.result_store({"K": "key"})


def test_without_sections_results_go_to_the_default_directory_and_queries_to_the_primary() -> None:
    node = parse_node_config({})
    assert node == NodeConfig() and node.results.result_store({}) is None and node.database.replicas == ()
    directory = parse_node_config({"results": {"store": "directory", "directory": "/shared/results"}})
    assert isinstance(directory.results.result_store({}), DirectoryResultStore)


@pytest.mark.parametrize(
    ("section", "message"),
    [
        ('[results]\nstore = "ftp"', 'store must be "directory" or "s3"'),
        ('[results]\nstore = "s3"\nbucket = "b"', "needs an endpoint and a bucket"),
        ('[results]\nstore = "s3"\nendpoint = "ceph:7480"\nbucket = "b"', "endpoint must be an http"),
        ('[results]\nstore = "s3"\nendpoint = "http://c"\nbucket = "b"\nprefix = "uws"', "prefix must end with '/'"),
        ("[results]\npresign_expiry = 0", "presign_expiry must be positive"),
        ('[results]\nbukket = "b"', "unknown key(s) bukket"),
        ("[results]\nredirect = 1", "redirect must be a bool"),
        ('[database]\nreplicas = "postgresql://r/db"', "replicas must be a list"),
        ("[database]\nreplicas = [1]", "replicas must be a list of DSNs"),
        ("[database]\nmax_lag = -1", "max_lag must not be negative"),
    ],
)
def test_a_bad_section_is_a_clear_error(section: str, message: str) -> None:
    with pytest.raises(ConfigError) as info:
        parse_node_config(tomllib.loads(section))
    assert message in info.value.message


def test_serve_without_a_database_says_where_to_name_one(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    config = tmp_path / "site.toml"
    config.write_text('[tables."a.b"]\ndescription = "x"\n')
    assert main(["serve", "--config", str(config)]) == 1
    assert "--dsn, or primary in the config's [database] section" in capsys.readouterr().err
