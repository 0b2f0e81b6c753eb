"""PostgreSQL's binary and text COPY streams read in bulk, cut anywhere (streams made here as PostgreSQL makes them)."""

from __future__ import annotations

import datetime as dt
import decimal
import struct
import uuid
from collections.abc import Sequence

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from vostack.errors import InternalError
from vostack.schema import Field
from vostack.votable import VOTableWriter
from vostack.votable.pgcopy import (
    BOOL,
    BYTEA,
    DATE,
    FLOAT4,
    FLOAT8,
    INT2,
    INT4,
    INT8,
    NUMERIC,
    TEXT,
    TIMESTAMP,
    TIMESTAMPTZ,
    UUID,
    Columns,
    CopyParser,
    supported,
)
from vostack.votable.pgtext import TextCopyParser, exact_float32, unescape

HEADER = b"PGCOPY\n\xff\r\n\x00" + struct.pack(">ii", 0, 4) + b"ext!"  # an extension area to skip
TRAILER = struct.pack(">h", -1)

_PACK = {INT2: ">h", INT4: ">i", INT8: ">q", FLOAT4: ">f", FLOAT8: ">d"}


def field(oid: int, value: object) -> bytes:
    """One field as PostgreSQL's send functions write it, with its length (-1 for NULL)."""
    if value is None:
        return struct.pack(">i", -1)
    if oid in _PACK:
        data = struct.pack(_PACK[oid], value)
    elif oid == BOOL:
        data = b"\x01" if value else b"\x00"
    elif oid == TEXT:
        data = str(value).encode()
    else:
        data = bytes(value)  # type: ignore[call-overload]
    return struct.pack(">i", len(data)) + data


def stream(types: Sequence[int], rows: Sequence[Sequence[object]]) -> bytes:
    body = b"".join(struct.pack(">h", len(types)) + b"".join(map(field, types, row)) for row in rows)
    return HEADER + body + TRAILER


def read(types: Sequence[int], pieces: Sequence[bytes]) -> list[tuple[object, ...]]:
    parser = CopyParser(types)
    rows = [row for piece in pieces for row in parser.feed(piece).rows()]
    parser.close()
    return rows


TYPES = (INT4, FLOAT8, TEXT, FLOAT4, INT2, BOOL, INT8)
ROWS = [
    (1, 0.1, "a", 1.5, 7, True, 2**62),
    (None, None, None, None, None, None, None),
    (-(2**31), float("-inf"), "", -0.0, -(2**15), False, -(2**63)),
    (5, 1e300, "x" * 300 + "\u2606", 3.0, 0, None, 0),
]


@pytest.mark.parametrize("cut", range(0, len(stream(TYPES, ROWS)) + 1, 3))
def test_a_stream_cut_anywhere_gives_the_same_rows(cut: int) -> None:
    data = stream(TYPES, ROWS)
    assert read(TYPES, [data[:cut], data[cut:]]) == ROWS


def test_a_stream_fed_byte_by_byte_gives_the_same_rows() -> None:
    data = stream(TYPES, ROWS)
    assert read(TYPES, [data[i : i + 1] for i in range(len(data))]) == ROWS


def test_rows_without_nulls_and_with_them_give_the_same_values() -> None:
    types = (INT4, FLOAT8, INT2)
    rows = [(i, i / 7, i % 100) for i in range(1000)]
    plain = CopyParser(types).feed(stream(types, rows))  # fixed width, no NULL: one structured view
    with_null = CopyParser(types).feed(stream(types, [*rows[:500], (None, None, None), *rows[500:]]))
    assert plain.rows() == rows
    assert np.array_equal(plain.columns[1].values, [r[1] for r in rows])
    assert with_null.rows() == [*rows[:500], (None, None, None), *rows[500:]]
    nulls = with_null.columns[0].nulls
    assert nulls is not None and np.flatnonzero(nulls).tolist() == [500]
    assert plain.columns[0].nulls is None


def test_a_value_that_looks_like_a_row_start_does_not_start_a_row() -> None:
    # bytes of a field count (00 03) followed by plausible lengths, inside values, must stay values
    types = (BYTEA, INT4, BYTEA)
    tricky = b"\x00\x03\x00\x00\x00\x04abcd\x00\x03\xff\xff\xff\xff"
    rows = [(tricky, 0x00030000, tricky), (b"\x00\x03", 3, None), (None, 0x00030004, b"\x00")]
    assert read(types, [stream(types, rows)]) == rows


def test_values_decode_as_asyncpg_decodes_them() -> None:
    types = (NUMERIC, DATE, TIMESTAMP, TIMESTAMPTZ, UUID, BYTEA)
    ident = uuid.UUID("a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11")
    # numeric 1E+20: one base-10000 digit (1) of weight 5, scale 0; 10000.50: 1 | 0000 | 5000, weight 1, scale 2
    numeric_1e20 = struct.pack(">hhHhH", 1, 5, 0, 0, 1)
    numeric_10000_50 = struct.pack(">hhHh3H", 3, 1, 0, 2, 1, 0, 5000)
    row = (numeric_1e20, struct.pack(">i", 366), struct.pack(">q", -1), struct.pack(">q", 0x7FFFFFFFFFFFFFFF),
           ident.bytes, b"\x00\xff")  # fmt: skip
    row2 = (numeric_10000_50, struct.pack(">i", 0x7FFFFFFF), struct.pack(">q", 1_500_000), struct.pack(">q", 0),
            ident.bytes, b"")  # fmt: skip
    (first, second) = read(types, [stream(types, [row, row2])])
    assert repr(first[0]) == repr(decimal.Decimal("1E+20"))
    assert repr(second[0]) == repr(decimal.Decimal("10000.50"))
    assert first[1] == dt.date(2001, 1, 1) and second[1] == dt.date.max  # infinity
    assert first[2] == dt.datetime(1999, 12, 31, 23, 59, 59, 999999)
    assert second[2] == dt.datetime(2000, 1, 1, 0, 0, 1, 500000)
    assert first[3] == dt.datetime.max and isinstance(first[3], dt.datetime) and first[3].tzinfo is None  # naive
    assert second[3] == dt.datetime(2000, 1, 1, tzinfo=dt.UTC)
    assert first[4] == ident and first[5] == b"\x00\xff" and second[5] == b""


def test_arrays_are_nested_lists_with_none_for_null_elements() -> None:
    def array(dims: Sequence[int], items: Sequence[float | None]) -> bytes:
        head = struct.pack(">iii", len(dims), any(i is None for i in items), FLOAT8)
        head += b"".join(struct.pack(">ii", d, 1) for d in dims)
        return head + b"".join(field(FLOAT8, i) for i in items)

    types = (1022,)  # float8[]
    rows = [(array([3], [1.0, None, 2.5]),), (array([2, 2], [1.0, 2.0, 3.0, 4.0]),), (struct.pack(">iii", 0, 0, 701),)]
    assert read(types, [stream(types, rows)]) == [([1.0, None, 2.5],), ([[1.0, 2.0], [3.0, 4.0]],), ([],)]


def test_a_leading_slice_keeps_the_first_rows() -> None:
    batch = CopyParser(TYPES).feed(stream(TYPES, ROWS))
    assert isinstance(batch, Columns)
    assert batch[:2].rows() == ROWS[:2] and len(batch[:10]) == len(ROWS) and batch[:0].rows() == []
    with pytest.raises(InternalError):
        batch[1:]


def test_columns_and_rows_give_the_same_binary2_document() -> None:
    fields = [Field("i", "int"), Field("d", "double"), Field("t", "char", "*"), Field("f", "float"),
              Field("s", "short"), Field("b", "boolean"), Field("l", "long")]  # fmt: skip
    batch = CopyParser(TYPES).feed(stream(TYPES, ROWS))
    documents = []
    for rows in (batch, batch.rows()):
        writer = VOTableWriter(fields)
        documents.append(writer.header() + writer.rows(rows) + writer.footer())
    assert documents[0] == documents[1]


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"PGCOPY\n\xff\r\n\x01" + bytes(8), "not a PostgreSQL binary COPY"),
        (stream(TYPES, ROWS) + b"\x00", "data after the end"),
    ],
)
def test_a_stream_that_is_not_what_postgresql_sends_is_an_internal_error(data: bytes, message: str) -> None:
    with pytest.raises(InternalError, match=message):
        CopyParser(TYPES).feed(data)


def test_a_stream_that_stops_early_is_an_internal_error() -> None:
    parser = CopyParser(TYPES)
    parser.feed(stream(TYPES, ROWS)[:-5])
    with pytest.raises(InternalError, match="ended before its trailer"):
        parser.close()


def test_only_the_types_read_here_are_accepted() -> None:
    assert supported([INT4, 1022, TEXT]) and not supported([INT4, 1186])  # 1186: interval
    with pytest.raises(InternalError, match="cannot read types"):
        CopyParser([1186])


# ---------------------------------------------------------------------------
# The text format


def test_text_rows_cut_anywhere_give_the_same_values() -> None:
    data = b"1\t0.5\tplain\tt\n\\N\t\\N\t\\N\t\\N\n-3\tNaN\ttab\\there\\\\back\\nline\tf\n"
    types = (INT4, FLOAT8, TEXT, BOOL)
    expected = [(1, 0.5, "plain", True), (None, None, None, None), (-3, float("nan"), "tab\there\\back\nline", False)]
    for cut in range(len(data) + 1):
        parser = TextCopyParser(types)
        rows = parser.feed(data[:cut]).rows() + parser.feed(data[cut:]).rows()
        parser.close()
        assert repr(rows) == repr(expected)


def test_a_text_row_with_the_wrong_number_of_values_is_an_internal_error() -> None:
    with pytest.raises(InternalError, match="wrong number of values"):
        TextCopyParser((INT4, INT4)).feed(b"1\t2\n3\n")
    parser = TextCopyParser((INT4,))
    parser.feed(b"1\n2")
    with pytest.raises(InternalError, match="inside a row"):
        parser.close()


def test_escapes_are_those_of_the_text_format() -> None:
    assert unescape("a\\\\b\\tc\\nd\\re\\bf\\fg\\vh") == "a\\b\tc\nd\re\bf\fg\vh"


@given(st.floats(width=32))
def test_a_float4_text_reads_back_as_its_exact_value(value: float) -> None:
    text = "NaN" if value != value else repr(np.float32(value)).removeprefix("np.float32(").removesuffix(")")
    text = {"inf": "Infinity", "-inf": "-Infinity", "nan": "NaN"}.get(text, text)
    got = exact_float32(text)
    assert struct.pack(">f", got) == struct.pack(">f", value) or (got != got and value != value)


def test_a_float4_halfway_between_two_is_read_to_the_even_one() -> None:
    low = np.float32(1.0)
    high = np.nextafter(low, np.float32(2))
    halfway = (decimal.Decimal(float(low)) + decimal.Decimal(float(high))) / 2
    assert exact_float32(str(halfway)) == 1.0  # 1.0's significand is even
    odd_low = high
    odd_high = np.nextafter(odd_low, np.float32(2))
    halfway = (decimal.Decimal(float(odd_low)) + decimal.Decimal(float(odd_high))) / 2
    assert exact_float32(str(halfway)) == float(odd_high)
