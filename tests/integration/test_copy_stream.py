"""Results read as PostgreSQL's COPY give the bytes the row writers give for the same rows.

The row writers fed with asyncpg's Records (what a server-side cursor returns)
are the reference: every format, written from the binary COPY
(:mod:`vostack.votable.pgcopy`, :mod:`vostack.votable.bulk`) and from the text
COPY (:mod:`vostack.votable.pgtext`, :mod:`vostack.votable.textrows`) in the
same batches, must give the same document, for NULLs in every column type and
edge values (NaN, infinities, extreme integers, empty, non-ASCII and markup
text, timestamps, arrays), and for random numbers of every magnitude.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import decimal
import io
import itertools
import json
import random
import struct
import uuid
from collections.abc import AsyncIterator, Sequence
from typing import Any

import httpx
import numpy as np
import pyarrow.parquet as pq
import pytest
from astropy.io.votable import parse

from vostack import adql, db
from vostack.demo.hipparcos import TABLE
from vostack.errors import VOError
from vostack.schema import Field
from vostack.tap import TAPService
from vostack.tap import query as tap_query
from vostack.votable import TAP_FORMATS, Batch, db_type_to_votable, writer_for
from vostack.votable.pgcopy import CopyParser, supported
from vostack.votable.pgtext import TEXT_COPY_TYPES, TextCopyParser

pytestmark = pytest.mark.postgres

SCHEMA = "copy_test"
COLUMNS = (
    ("id", "int4"), ("s", "int2"), ("l", "int8"), ("r", "float4"), ("d", "float8"), ("d2", "float8"), ("b", "bool"),
    ("t", "text"), ("v", "varchar(10)"), ("c", "char(3)"), ("nm", "name"), ("n", "numeric"), ("ts", "timestamp"),
    ("tz", "timestamptz"), ("dt", "date"), ("u", "uuid"), ("j", "json"), ("jb", "jsonb"), ("by", "bytea"),
    ("da", "float8[]"), ("ia", "int4[]"), ("ta", "text[]"), ("ba", "bool[]"), ("ra", "float4[]"), ("la", "int8[]"),
)  # fmt: skip
TEXT_COLUMNS = "id, s, l, r, d, d2, b, t, v, c, nm, n"
EDGE_ROWS = """
(1, 32767, 9223372036854775807, 9.4055, 0.1, 181.5, true, 'plain', 'abc', 'x', 'nm', 1.50, '2024-05-06 07:08:09.5',
 '2024-05-06 07:08:09.123456+02', '2024-05-06', 'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11', '{"a": [1, 2.5]}',
 '{"b": null}', '\\x00ff10', '{1.5,2,NaN}', '{1,NULL,3}', '{"a","b c",NULL}', '{t,f,NULL}', '{1.5,NaN}', '{1,-1}'),
(2, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL,
 NULL, NULL, NULL, NULL, NULL, NULL),
(3, -32768, -9223372036854775808, 'NaN', 'Infinity', '-Infinity', false, '', '', '', '', 'NaN', 'infinity',
 '-infinity', 'infinity', '00000000-0000-0000-0000-000000000000', 'null', '[]', '', '{}', '{}', '{}', '{}', '{}',
 '{}'),
(4, 0, 0, '-Infinity', '-Infinity', 'NaN', true, E'Vega \u2606, "\u03b1 Lyr" & <tag> tab\there\nnew line \\\\ back',
 '\u00fc\u00f1\u00ed', '\u00e4\u00f6', '\u00df', -0.000123, '1999-12-31 23:59:59.999999', '2000-01-01 00:00:00+00',
 '-infinity', NULL, '"x"', '"\u00e9"', '\\x', '{-0,1e300,-1e-300,5e-324}', '{-2147483648,2147483647}',
 '{"","\\\\"}', '{true}', '{3.4e38,-1.4e-45}', '{-9223372036854775808}'),
(5, 1, -1, 1e-30, -0.0, 1e15, false, repeat('x', 3000), 'abcdefghij', 'abc', repeat('n', 63),
 123456789012345678901234567890.123456789, '0001-01-01 00:00:00', '1970-01-01 00:00:00+00', '0001-01-01',
 'ffffffff-ffff-ffff-ffff-ffffffffffff', '{}', '{"k": [1, "x", true]}', '\\xdeadbeef',
 '{1e15,1e16,123456789012345.6,1e-5,0.0001}', NULL, E'{"\\\\u0001ctl"}', NULL, NULL, NULL),
(6, 7, 7, 1e6, 1e15, 359.99999999999994, NULL, E'a,b;c"d\\\\', NULL, NULL, NULL, 100, NULL, NULL, NULL, NULL,
 NULL, NULL, NULL, '{1,2}', '{5}', NULL, NULL, '{1234567,1e7,0.1}', '{}'),
(7, 100, 10000000000, 16777216, 2, 180, true, 'ctl' || chr(1) || chr(27) || E'\\r', 'x', 'a b', 'y', 0,
 '2024-02-29 12:00:00', '2024-02-29 12:00:00-11', '2024-02-29', NULL, '1.5', '2', '\\x41', '{2.5,3.5,4.5}', '{}',
 '{"x"}', '{f}', '{}', '{1}')
"""


def _random_rows(count: int) -> list[tuple[object, ...]]:
    """Rows of random numbers of every magnitude, random text (markup, quotes, escapes, non-ASCII), NULLs."""
    rng = random.Random(16)
    alphabet = "abcXYZ019 ,;\"'&<>\\\t\n\r\u00e9\u03b1\u2606\U0001f600"
    rows: list[tuple[object, ...]] = []
    for i in range(count):

        def maybe(value: object) -> object:
            return None if rng.random() < 0.1 else value

        double = rng.uniform(-1, 1) * 10 ** rng.randint(-310, 308)
        single = struct.unpack(">f", struct.pack(">f", rng.uniform(-1, 1) * 10 ** rng.randint(-45, 38)))[0]
        text = "".join(rng.choice(alphabet) for _ in range(rng.randint(0, 12)))
        rows.append((
            1000 + i, maybe(rng.randint(-(2**15), 2**15 - 1)), maybe(rng.randint(-(2**63), 2**63 - 1)),
            maybe(single), maybe(double), maybe(rng.uniform(-10, 370)), maybe(rng.random() < 0.5),
            maybe(text), maybe(text[:10]), maybe(text[:3]), maybe(text[:63]),
            maybe(decimal.Decimal(rng.randint(-(10**12), 10**12)) / 1000),
            maybe(dt.datetime(2000, 1, 1) + dt.timedelta(microseconds=rng.randint(-(10**15), 10**15))),
            maybe(dt.datetime(2000, 1, 1, tzinfo=dt.UTC) + dt.timedelta(seconds=rng.randint(-(10**9), 10**9))),
            maybe(dt.date(2000, 1, 1) + dt.timedelta(days=rng.randint(-5000, 5000))),
            maybe(uuid.UUID(int=rng.getrandbits(128))), maybe(json.dumps({"x": text})), maybe(json.dumps([i, text])),
            maybe(bytes(rng.getrandbits(8) for _ in range(5))),
            maybe([rng.uniform(-400, 400) for _ in range(rng.randint(0, 4))]), maybe([rng.randint(-9, 9), None]),
            maybe([text, None]), maybe([True, None, False]), maybe([single]), maybe([rng.randint(-(2**40), 2**40)]),
        ))  # fmt: skip
    return rows


@pytest.fixture(scope="module")
async def edge_table(pool: db.Pool) -> AsyncIterator[str]:
    columns = ", ".join(f"{name} {kind}" for name, kind in COLUMNS)
    async with pool.acquire() as conn:
        await conn.execute(f"DROP SCHEMA IF EXISTS {SCHEMA} CASCADE; CREATE SCHEMA {SCHEMA}")
        await conn.execute(f"CREATE TABLE {SCHEMA}.edge ({columns})")
        await conn.execute(f"INSERT INTO {SCHEMA}.edge VALUES {EDGE_ROWS}")
        numerics = ["0", "0.00", "1e20", "-1e20", "10000", "10000.50", "1.000", "99999999", "100000000", "5e-10",
                    "123.4500", "1e-20", "-0.5", "Infinity", "-Infinity"]  # fmt: skip
        await conn.execute(
            f"INSERT INTO {SCHEMA}.edge (id, n) SELECT 100 + i, v::numeric"
            " FROM unnest($1::text[]) WITH ORDINALITY AS t(v, i)",
            numerics,
        )
        await conn.copy_records_to_table("edge", schema_name=SCHEMA, records=_random_rows(1500))
    yield f"{SCHEMA}.edge"
    async with pool.acquire() as conn:
        await conn.execute(f"DROP SCHEMA {SCHEMA} CASCADE")


async def _reference(pool: db.Pool, sql: str) -> list[Any]:
    async with db.open_cursor(pool, sql, statement_timeout=60) as cursor:
        rows: list[Any] = []
        while batch := await cursor.fetch(1000):
            rows.extend(batch)
    return rows


async def _copied(pool: db.Pool, sql: str, *, binary: bool) -> tuple[list[int], list[bytes]]:
    async with db.open_statement(pool, sql, statement_timeout=60) as statement:
        reader = statement.copy(binary=binary, read_ahead=1 << 15)
        pieces = []
        while (piece := await reader.read()) is not None:
            pieces.append(piece)
        return [c.type_oid for c in statement.columns], pieces


def _fields(statement_types: Sequence[tuple[str, str]]) -> list[Field]:
    ucds = {"d": "pos.eq.ra;meta.main", "d2": "pos.eq.dec;meta.main", "ra": "pos.eq.ra;meta.main",
            "dec": "pos.eq.dec;meta.main"}  # fmt: skip
    fields = []
    for name, pg_type in statement_types:
        datatype, arraysize, xtype = db_type_to_votable(pg_type)
        fields.append(Field(name, datatype, arraysize, xtype=xtype, ucd=ucds.get(name)))
    return fields


def _variants(fields: list[Field]) -> list[list[Field]]:
    """The published metadata, and other declarations a TAP_SCHEMA may make of the same columns."""
    plain_text = [f for f in fields if f.datatype == "char" and f.xtype is None]
    swap = {"short": "long", "int": "long", "float": "double", "double": "float"}
    return [
        fields,
        [Field(f.name, f.datatype, "5*", ucd=f.ucd) if f in plain_text else f for f in fields],
        [Field(f.name, f.datatype, "4", ucd=f.ucd) if f in plain_text else f for f in fields],
        [Field(f.name, "char", ucd=f.ucd) if f in plain_text else f for f in fields],
        [Field(f.name, "unicodeChar", "*", ucd=f.ucd) if f.datatype == "char" else f for f in fields],
        [Field(f.name, swap[f.datatype], ucd=f.ucd) if f.datatype in swap and not f.arraysize else f for f in fields],
    ]


def _document(fmt: Any, fields: Sequence[Field], batches: Sequence[Batch]) -> bytes | str:
    """The whole document, or the error a writer raised for one of its values."""
    try:
        writer = writer_for(fmt, fields, infos=(("QUERY", "q", None),))
    except VOError as exc:
        return f"refused: {exc.message}"
    pieces = [writer.header()]
    try:
        pieces.extend(writer.rows(batch) for batch in batches)
    except VOError as exc:
        return f"failed: {exc.message}"
    pieces.extend(writer.iter_footer(overflow=True))
    return b"".join(pieces)


def _rechunk(pieces: list[bytes], *, seed: int) -> list[bytes]:
    """The same data cut at other places, rows and values straddling pieces."""
    data, rng, out, position = b"".join(pieces), random.Random(seed), [], 0
    while position < len(data):
        size = rng.choice([1, 7, 64, 999, 4096, 65536])
        out.append(data[position : position + size])
        position += size
    return out


async def _check_every_format(
    pool: db.Pool, sql: str, columns: Sequence[tuple[str, str]], *, variants: bool = True
) -> int:
    reference = await _reference(pool, sql)
    compared = 0
    for binary in (True, False):
        types, pieces = await _copied(pool, sql, binary=binary)
        if not (supported(types) if binary else all(t in TEXT_COPY_TYPES for t in types)):
            continue
        for seed, chunks in enumerate([pieces, _rechunk(pieces, seed=1)]):
            parser: CopyParser | TextCopyParser = CopyParser(types) if binary else TextCopyParser(types)
            batches: list[Batch] = []
            for chunk in chunks:
                batch = parser.feed(chunk)
                if len(batch):
                    batches.append(batch)
            parser.close()
            assert sum(map(len, batches)) == len(reference)
            sizes = np.cumsum([0, *map(len, batches)]).tolist()
            same_batches = [reference[a:b] for a, b in itertools.pairwise(sizes)]
            for fields in _variants(_fields(columns)) if variants else [_fields(columns)]:
                for fmt in TAP_FORMATS:
                    expected = _document(fmt, fields, same_batches)
                    got = _document(fmt, fields, batches)
                    assert got == expected, (
                        fmt.mime,
                        binary,
                        seed,
                        [(f.name, f.datatype, f.arraysize) for f in fields],
                    )
                    compared += 1
    return compared


async def test_every_format_from_either_copy_is_the_row_writers_document(pool: db.Pool, edge_table: str) -> None:
    names = ", ".join(name for name, _ in COLUMNS)
    assert await _check_every_format(pool, f"SELECT {names} FROM {edge_table} ORDER BY id", COLUMNS) > 0


async def test_numbers_and_text_from_the_text_copy_are_the_row_writers_text(pool: db.Pool, edge_table: str) -> None:
    columns = [c for c in COLUMNS if c[0] in TEXT_COLUMNS.split(", ")]
    compared = await _check_every_format(pool, f"SELECT {TEXT_COLUMNS} FROM {edge_table} ORDER BY id", columns)
    assert compared == 2 * 2 * 6 * len(TAP_FORMATS)  # both COPY formats read it


async def test_a_catalogue_without_nulls_is_read_in_one_view(pool: db.Pool, hipparcos: None) -> None:
    columns = [("hip", "int4"), ("ra", "float8"), ("dec", "float8"), ("hpmag", "float4"), ("sn", "int2")]
    sql = f"SELECT hip, ra, dec, hpmag, sn FROM {TABLE} ORDER BY hip LIMIT 10000"
    assert await _check_every_format(pool, sql, columns, variants=False) > 0


async def test_the_python_values_of_either_copy_are_asyncpgs(pool: db.Pool, edge_table: str) -> None:
    names = ", ".join(name for name, _ in COLUMNS)
    for binary, columns in ((True, names), (False, TEXT_COLUMNS)):
        sql = f"SELECT {columns} FROM {edge_table} ORDER BY id"
        types, pieces = await _copied(pool, sql, binary=binary)
        parser: CopyParser | TextCopyParser = CopyParser(types) if binary else TextCopyParser(types)
        rows = [row for piece in _rechunk(pieces, seed=3) for row in parser.feed(piece).rows()]
        parser.close()
        reference = await _reference(pool, sql)
        assert len(rows) == len(reference)
        for mine, theirs in zip(rows, reference, strict=True):
            assert repr(mine) == repr(tuple(theirs))  # repr: NaN equals NaN, 1E+20 differs from 100000000000000000000


# ---------------------------------------------------------------------------
# Through TAP: geometry as DALI arrays, read from the binary COPY


async def test_geometry_through_tap_is_what_the_cursor_path_writes(tap: TAPService, pool: db.Pool) -> None:
    query = (
        f"SELECT TOP 300 hip, ra, dec, hpmag, POINT(ra, dec) AS p, CIRCLE(ra, dec, 0.5) AS c, "
        f"POLYGON(ra, dec, ra + 1, dec, ra, dec + 1) AS poly FROM {TABLE} ORDER BY hip"
    )
    translation = adql.translate(query, tap.tableset, row_limit=1001)
    rows = await _reference(pool, translation.sql)
    infos = (("QUERY_STATUS", "OK", None), ("QUERY", query, None))
    transport = httpx.ASGITransport(app=tap)
    async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
        for fmt in TAP_FORMATS:
            alias = fmt.aliases[0]
            response = await client.post("/sync", data={"LANG": "ADQL", "QUERY": query, "RESPONSEFORMAT": alias})
            assert response.status_code == 200, response.text
            writer = writer_for(fmt, translation.fields, infos=infos)
            expected = writer.header() + writer.rows(rows) + writer.footer()
            _assert_same_result(fmt.kind, fmt.serialization, response.content, expected)


async def test_a_small_result_read_at_once_is_what_the_copy_gives(
    tap: TAPService, monkeypatch: pytest.MonkeyPatch
) -> None:
    # at most SMALL_RESULT rows are fetched at once as Python values, more are copied: both give the same result
    query = (
        f"SELECT TOP {tap_query.SMALL_RESULT} hip, ra, dec, hpmag, CASE WHEN MOD(hip, 3) = 0 THEN NULL ELSE b_v END"
        " AS b_v_or_null, POINT(ra, dec) AS p, POLYGON(ra, dec, ra + 1, dec, ra, dec + 1) AS poly"
        f" FROM {TABLE} ORDER BY hip"
    )
    transport = httpx.ASGITransport(app=tap)
    async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
        for fmt in TAP_FORMATS:
            data = {"LANG": "ADQL", "QUERY": query, "RESPONSEFORMAT": fmt.aliases[0]}
            at_once = await client.post("/sync", data=data)
            with monkeypatch.context() as patch:
                patch.setattr(tap_query, "SMALL_RESULT", 0)
                copied = await client.post("/sync", data=data)
            assert at_once.status_code == copied.status_code == 200, at_once.text
            _assert_same_result(fmt.kind, fmt.serialization, at_once.content, copied.content)


def _assert_same_result(kind: str, serialization: str | None, got: bytes, expected: bytes) -> None:
    """The same document, or for layouts that depend on the batches (base64 lines, row groups) the same data."""
    if kind in ("csv", "tsv", "fits") or serialization == "tabledata":
        assert got == expected
    elif kind == "votable":
        mine, theirs = (parse(io.BytesIO(d), verify="exception").get_first_table().array for d in (got, expected))
        assert mine.dtype == theirs.dtype
        for name in mine.dtype.names:
            null = np.ma.getmaskarray(mine[name])
            assert np.array_equal(null, np.ma.getmaskarray(theirs[name]))
            # the values of the cells that are not null (a null float is NaN, which equals nothing)
            values = [np.ma.getdata(t[name])[~null].tolist() for t in (mine, theirs)]
            assert np.array_equal(*values)
    elif kind in ("json", "geojson"):
        assert json.loads(got) == json.loads(expected)
    else:
        mine, theirs = (pq.read_table(io.BytesIO(d)) for d in (got, expected))
        assert mine.equals(theirs) and mine.schema.metadata == theirs.schema.metadata


# ---------------------------------------------------------------------------
# The reader: backpressure and cancellation


async def _active(pool: db.Pool, marker: str) -> int:
    count: int = await pool.fetchval(
        "SELECT count(*) FROM pg_stat_activity WHERE state = 'active' AND query LIKE $1 AND pid <> pg_backend_pid()",
        f"%{marker}%",
    )
    return count


async def test_a_copy_holds_what_its_reader_allows_and_stops_in_postgresql_when_closed(pool: db.Pool) -> None:
    sql = "SELECT generate_series(1, 200000000) AS marker_c0b7"  # a set-returning select list streams its rows
    async with db.open_statement(pool, sql, statement_timeout=60) as statement:
        reader = statement.copy(binary=True, read_ahead=1 << 16)
        assert await reader.read()
        await asyncio.sleep(1.0)  # PostgreSQL could send hundreds of megabytes meanwhile
        waiting = await reader.read()
        assert waiting is not None and len(waiting) <= (1 << 16) + (1 << 18)  # read_ahead and one network read
        assert await _active(pool, "marker_c0b7") == 1  # waiting for the reader, not finished
    for _ in range(50):
        if await _active(pool, "marker_c0b7") == 0:
            break
        await asyncio.sleep(0.1)
    assert await _active(pool, "marker_c0b7") == 0


async def test_a_cancelled_reader_cancels_the_copy_in_postgresql(pool: db.Pool) -> None:
    async def consume() -> None:
        sql = "SELECT g AS marker_9e41 FROM (SELECT generate_series(1, 200000000) AS g) AS s WHERE g % 7 = 8"
        async with db.open_statement(pool, sql, statement_timeout=60) as statement:
            reader = statement.copy(binary=True)
            while await reader.read() is not None:
                pass

    task = asyncio.create_task(consume())
    for _ in range(50):
        if await _active(pool, "marker_9e41"):
            break
        await asyncio.sleep(0.1)
    assert await _active(pool, "marker_9e41") == 1
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    for _ in range(50):
        if await _active(pool, "marker_9e41") == 0:
            break
        await asyncio.sleep(0.05)
    assert await _active(pool, "marker_9e41") == 0


async def test_a_query_error_during_the_copy_is_a_vo_error(pool: db.Pool) -> None:
    sql = "SELECT 1 / (g - 300000) AS x FROM generate_series(1, 400000) AS g"
    async with db.open_statement(pool, sql, statement_timeout=60) as statement:
        reader = statement.copy(binary=False)
        with pytest.raises(VOError, match="division by zero"):
            while await reader.read() is not None:
                pass


@pytest.mark.parametrize(
    "sql",
    [
        f"SELECT MIN(ra) AS a, MAX(dec) AS b FROM {TABLE} WHERE hip < 0",  # one row, every value NULL
        f"(SELECT ra, dec FROM {TABLE} ORDER BY hip LIMIT 50) UNION ALL SELECT NULL, NULL",  # a NULL row last
        f"SELECT NULL::float8 AS a, 1.5::float8 AS b UNION ALL (SELECT ra, dec FROM {TABLE} ORDER BY hip LIMIT 50)",
    ],
)
async def test_rows_with_nulls_next_to_rows_without_are_all_read(pool: db.Pool, hipparcos: None, sql: str) -> None:
    # the fixed-layout reading takes the rows without NULLs; a NULL row before the trailer is read too
    assert await _check_every_format(pool, sql, [("a", "float8"), ("b", "float8")], variants=False) > 0
