"""The UPLOAD parameter, the TAP_UPLOAD schema and the upload settings, without a database (TAP 1.1 §4.5)."""

from __future__ import annotations

import re

import pytest
from lxml import etree

from vostack import adql
from vostack.config import ConfigError, ServiceConfig, parse_config
from vostack.errors import ADQLSemanticError, ParameterError
from vostack.schema import Column, Field, Schema, Table, TableSet
from vostack.tap import TAPService
from vostack.tap.upload import Upload, UploadLimits, UploadSource, parse_upload, temp_tables, with_uploads
from vostack.vosi import capabilities_document
from vostack.votable.reader import UploadedColumn, UploadedTable

CATALOGUE = TableSet(
    (
        Schema(
            "cat",
            (Table("cat.main", "cat", (Column("ra", "double", db_type="double precision"),
                                       Column("dec", "double", db_type="double precision"))),),
        ),
    )
)  # fmt: skip


def test_several_uploads_in_one_value_and_in_repeated_values_are_all_read() -> None:
    assert parse_upload(["a,param:x; b,https://example.org/b.xml", "C,http://example.org/c?x=1,2"]) == (
        UploadSource("a", "param:x"),
        UploadSource("b", "https://example.org/b.xml"),
        UploadSource("C", "http://example.org/c?x=1,2"),
    )
    assert UploadSource("a", "param:x").part == "x" and UploadSource("b", "http://h/b").part is None


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("t", "must be 'name,uri'"),
        ("t,", "must be 'name,uri'"),
        ("_t,param:x", "regular identifier"),
        ('"t",param:x', "regular identifier"),
        ("tap_upload.t,param:x", "regular identifier"),
        ("x" * 64 + ",param:x", "regular identifier"),
        ("distance,param:x", "reserved word"),
        ("t,param:x;T,param:y", "used twice"),
        ("t,param:", "not supported"),
        ("t,file:///etc/passwd", "not supported"),
        ("t,ftp://example.org/t", "not supported"),
        ("t,ivo://example.org/t", "not supported"),
    ],
)
def test_malformed_upload_values_are_parameter_errors(value: str, message: str) -> None:
    with pytest.raises(ParameterError, match=message) as info:
        parse_upload([value])
    assert info.value.param == "UPLOAD"


def upload(name: str) -> Upload:
    columns = (
        UploadedColumn("ra", Field("ra", "double", unit="deg"), "double precision"),
        UploadedColumn("size", Field("size", "int"), "integer"),
        UploadedColumn("pos", Field("pos", "double", arraysize="2", xtype="point"), "spoint"),
    )
    return Upload(name, UploadedTable(columns, [(1.0, 2, "(1d, 2d)")]))


def test_tap_upload_tables_resolve_to_their_temporary_tables_and_join_published_ones() -> None:
    mine = upload("Mine")
    tableset = with_uploads(CATALOGUE, [mine])
    assert tableset.table("TAP_UPLOAD.mine") is not None and tableset.table("cat.main") is not None
    translation = adql.translate(
        'SELECT u.ra, u."size", u.pos, m.dec FROM TAP_UPLOAD.Mine AS u JOIN cat.main AS m ON u.ra = m.ra', tableset
    )
    assert f'"pg_temp"."mine_{mine.key}" AS "u"' in translation.sql
    assert '"cat"."main" AS "m"' in translation.sql
    assert [(f.name, f.datatype, f.xtype, f.unit) for f in translation.fields] == [
        ("ra", "double", None, "deg"),
        ("size", "int", None, None),
        ("pos", "double", "point", None),
        ("dec", "double", None, None),
    ]
    assert translation.tables == ("TAP_UPLOAD.Mine", "cat.main")


def test_without_uploads_the_published_tables_are_untouched() -> None:
    assert with_uploads(CATALOGUE, []) is CATALOGUE
    with pytest.raises(ADQLSemanticError, match=r"TAP_UPLOAD\.mine"):
        adql.translate("SELECT * FROM TAP_UPLOAD.mine", CATALOGUE)


def test_temporary_tables_carry_the_database_types() -> None:
    mine = upload("Mine")
    (table,) = temp_tables([mine])
    assert re.fullmatch(r"mine_[0-9a-f]{8}", table.name) and table.name == f"mine_{mine.key}"
    assert temp_tables([upload("Mine")])[0].name != table.name  # a name of its own: see Upload.db_name
    assert table.columns == (("ra", "double precision"), ("size", "integer"), ("pos", "spoint"))
    assert table.rows == [(1.0, 2, "(1d, 2d)")]


def test_upload_limits_come_from_the_service_settings() -> None:
    config = parse_config({"service": {"upload_limit": 1000, "upload_rows": 10, "upload_timeout": 2.5}})
    assert UploadLimits.of(config.service) == UploadLimits(1000, 10, 2.5)
    defaults = ServiceConfig()
    assert (defaults.upload_limit, defaults.upload_rows, defaults.upload_http) == (16_000_000, 100_000, True)


def test_a_service_that_fetches_no_urls_advertises_inline_uploads_only() -> None:
    # a portal that must not let clients make it fetch URLs (internal networks) turns http(s) uploads off
    config = parse_config({"service": {"upload_http": False}})
    assert not UploadLimits.of(config.service).http
    capabilities = TAPService(config=config).capabilities("http://example.org/tap")
    document = etree.fromstring(capabilities_document(capabilities))
    methods = {m.get("ivo-id") for m in document.iter("uploadMethod")}
    assert methods == {"ivo://ivoa.net/std/TAPRegExt#upload-inline"}


@pytest.mark.parametrize(
    "service",
    [
        {"upload_limit": -1},
        {"upload_rows": -1},
        {"upload_timeout": 0},
        {"upload_limit": "16MB"},
        {"upload_limit": True},
        {"upload_http": "no"},
    ],
)
def test_bad_upload_settings_are_config_errors(service: dict[str, object]) -> None:
    with pytest.raises(ConfigError, match="upload"):
        parse_config({"service": service})
