"""db_type_to_votable: PostgreSQL type names to VOTable (datatype, arraysize, xtype)."""

from __future__ import annotations

import pytest

from vostack.votable import VOTABLE_DATATYPES, db_type_to_votable

MAPPING = [
    ("smallint", ("short", None, None)),
    ("int2", ("short", None, None)),
    ("integer", ("int", None, None)),
    ("int4", ("int", None, None)),
    ("bigint", ("long", None, None)),
    ("int8", ("long", None, None)),
    ("real", ("float", None, None)),
    ("float4", ("float", None, None)),
    ("double precision", ("double", None, None)),
    ("DOUBLE  PRECISION", ("double", None, None)),
    ("float8", ("double", None, None)),
    ("numeric", ("double", None, None)),
    ("numeric(12,4)", ("double", None, None)),
    ("boolean", ("boolean", None, None)),
    ("bool", ("boolean", None, None)),
    ("text", ("char", "*", None)),
    ("varchar", ("char", "*", None)),
    ("character varying", ("char", "*", None)),
    ("character varying(20)", ("char", "*", None)),
    ("character(8)", ("char", "8", None)),
    ("char(3)", ("char", "3", None)),
    ("bpchar(5)", ("char", "5", None)),
    ("character(1)", ("char", None, None)),
    ("character", ("char", None, None)),
    ('"char"', ("char", None, None)),
    ("timestamp", ("char", "*", "timestamp")),
    ("timestamp without time zone", ("char", "*", "timestamp")),
    ("timestamp with time zone", ("char", "*", "timestamp")),
    ("timestamp(3) with time zone", ("char", "*", "timestamp")),
    ("timestamptz", ("char", "*", "timestamp")),
    ("date", ("char", "*", "timestamp")),
    ("bytea", ("unsignedByte", "*", None)),
    ("uuid", ("char", "36", "uuid")),
    ("jsonb", ("char", "*", "json")),
    ("spoint", ("double", "2", "point")),
    ("scircle", ("double", "3", "circle")),
    ("spoly", ("double", "*", "polygon")),
    ("sbox", ("double", "4", "range")),
    ("integer[]", ("int", "*", None)),
    ("_int4", ("int", "*", None)),
    ("double precision[]", ("double", "*", None)),
    ("_float8", ("double", "*", None)),
    ("real[][]", ("float", "*", None)),
    ("smallint ARRAY", ("short", "*", None)),
    ("boolean[]", ("boolean", "*", None)),
    ("text[]", ("char", "*", "json")),
    ("spoint[]", ("char", "*", "json")),
    ("interval", ("char", "*", None)),
    ("inet", ("char", "*", None)),
    ("sline", ("char", "*", None)),
    ("some_extension_type", ("char", "*", None)),
]


@pytest.mark.parametrize(("db_type", "expected"), MAPPING)
def test_postgres_type_maps_to_votable(db_type: str, expected: tuple[str, str | None, str | None]) -> None:
    assert db_type_to_votable(db_type) == expected


@pytest.mark.parametrize(("db_type", "expected"), MAPPING)
def test_every_mapped_datatype_is_a_votable_primitive(
    db_type: str, expected: tuple[str, str | None, str | None]
) -> None:
    assert expected[0] in VOTABLE_DATATYPES
