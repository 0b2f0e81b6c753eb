from __future__ import annotations

from pathlib import Path

import pytest

from vostack.config import ConfigError, load_config, parse_config

GOOD = """
[service]
title = "Archive"
maxrec = 50
hardlimit = 500
sync_timeout = 5

[schemas.cat]
description = "A catalogue"

[tables."cat.stars"]
description = "Stars"

[tables."cat.stars".columns.ra]
unit = "deg"
ucd = "pos.eq.ra;meta.main"
principal = true
"""


def test_a_config_file_is_read_with_its_metadata(tmp_path: Path) -> None:
    path = tmp_path / "site.toml"
    path.write_text(GOOD)
    config = load_config(path)
    assert config.service.maxrec == 50
    assert config.service.sync_timeout == 5
    assert config.schemas["cat"] == "A catalogue"
    ra = config.tables["cat.stars"].columns["ra"]
    assert (ra.unit, ra.ucd, ra.principal, ra.std) == ("deg", "pos.eq.ra;meta.main", True, False)


@pytest.mark.parametrize(
    ("data", "fragment"),
    [
        ({"service": {"maxrec": "ten"}}, "maxrec must be a int"),
        ({"service": {"maxrec": 10, "hardlimit": 5}}, "maxrec <= hardlimit"),
        ({"service": {"colour": "blue"}}, "unknown key(s) colour"),
        ({"service": {"tap_schema_source": "magic"}}, "tap_schema_source"),
        ({"tables": {"stars": {}}}, "qualified with their schema"),
        (
            {"tables": {"cat.stars": {"columns": {"ra": {"principal": "yes"}}}}},
            "principal must be true or false",
        ),
        ({"tables": {"cat.stars": {"columns": {"ra": {"unitt": "deg"}}}}}, "unknown key(s) unitt"),
    ],
)
def test_mistakes_in_a_config_are_reported_with_where_they_are(data: dict[str, object], fragment: str) -> None:
    with pytest.raises(ConfigError) as info:
        parse_config(data)
    assert fragment in info.value.message


def test_a_missing_or_broken_file_is_a_config_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="cannot read"):
        load_config(tmp_path / "absent.toml")
    bad = tmp_path / "bad.toml"
    bad.write_text("[service\n")
    with pytest.raises(ConfigError, match="not valid TOML"):
        load_config(bad)


def test_the_demo_config_is_valid() -> None:
    from vostack.demo import demo_config

    config = demo_config()
    assert "hipparcos.main" in config.tables


def test_examples_and_cors_origins_are_read() -> None:
    config = parse_config(
        {
            "service": {"cors_origins": ["https://a.example.org"]},
            "examples": [{"name": "All", "query": " SELECT * FROM t.t ", "description": "everything"}],
        }
    )
    assert config.service.cors_origins == ("https://a.example.org",)
    assert config.examples[0].query == "SELECT * FROM t.t"
    with pytest.raises(ConfigError, match="needs a name and a query"):
        parse_config({"examples": [{"name": "no query"}]})
    with pytest.raises(ConfigError, match="cors_origins"):
        parse_config({"service": {"cors_origins": [1]}})
