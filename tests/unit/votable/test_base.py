"""What every writer shares: one arraysize reading, one JSON default, one call order, one loop."""

from __future__ import annotations

import datetime as dt
import decimal
import io
import json
from collections.abc import AsyncGenerator, Sequence

import pyarrow.parquet as pq
import pytest
from astropy.io.votable import parse

from tests.unit.votable.format_helpers import fmt
from tests.unit.votable.helpers import first_table, read
from vostack.errors import InternalError, QueryTimeoutError
from vostack.schema import Field
from vostack.votable import (
    TAP_FORMATS,
    InputParam,
    ServiceDescriptor,
    StreamAborted,
    VOTableWriter,
    iter_result,
    text_of,
    writer_for,
)
from vostack.votable.base import Shape, json_default, shape_of

KINDS = sorted({f.kind for f in TAP_FORMATS} - {"geojson"})


@pytest.mark.parametrize(
    ("arraysize", "shape"),
    [
        (None, Shape(False, None, False)),
        ("", Shape(False, None, False)),
        ("1", Shape(False, None, False)),  # VOTable 1.4 §2.2: "should not be used"; TAP 1.0 schemas mean a scalar
        (" 1 ", Shape(False, None, False)),
        ("3", Shape(True, 3, False)),
        ("*", Shape(True, None, True)),
        ("10*", Shape(True, 10, True)),
        ("2x3", Shape(True, 6, False, 2)),
        ("2x*", Shape(True, None, True, 2)),
        ("3x5*", Shape(True, 15, True, 2)),
        ("1x1", Shape(True, 1, False, 2)),
    ],
)
def test_arraysize_reads_as_votable_says(arraysize: str | None, shape: Shape) -> None:
    assert shape_of(Field("x", "int", arraysize)) == shape


@pytest.mark.parametrize("arraysize", ["0", "0*", "3x0", "0x3", "2x", "*x2", "-1", "2**", "x", "3 x 2", "a"])
def test_arraysizes_votable_does_not_allow_or_that_hold_nothing_are_refused(arraysize: str) -> None:
    with pytest.raises(InternalError, match="invalid arraysize"):
        shape_of(Field("x", "int", arraysize))


@pytest.mark.parametrize("kind", [*KINDS, "geojson"])
def test_every_writer_refuses_a_zero_arraysize(kind: str) -> None:
    fields = [Field("ra", "double", ucd="pos.eq.ra;meta.main"), Field("dec", "double", ucd="pos.eq.dec;meta.main"),
              Field("x", "double", "0")]  # fmt: skip
    with pytest.raises(InternalError, match="invalid arraysize"):
        writer_for(fmt(kind), fields).header()


def _document(kind: str, fields: Sequence[Field], rows: Sequence[Sequence[object]]) -> bytes:
    writer = writer_for(fmt(kind), fields)
    return writer.header() + writer.rows(rows) + writer.footer()


def test_arraysize_one_is_one_value_in_every_format() -> None:
    fields = [Field("n", "int", "1"), Field("c", "char", "1")]
    rows = [(5, "a"), (None, None)]
    data = json.loads(_document("json", fields, rows))["data"]
    assert data == [[5, "a"], [None, None]]
    table = pq.read_table(io.BytesIO(_document("parquet", fields, rows)))
    assert str(table.schema.field("n").type) == "int32"
    assert table.column("n").to_pylist() == [5, None]
    assert _document("csv", fields, rows) == b"n,c\r\n5,a\r\n,\r\n"
    for serialization in ("tabledata", "binary2"):
        writer = VOTableWriter(fields, serialization=serialization)
        doc = writer.header() + writer.rows(rows) + writer.footer()
        assert b"<VALUES" not in doc  # a scalar int declares no magic null outside BINARY
        assert [list(r) for r in first_table(doc).array.filled(-1).tolist()] == [[5, "a"], [-1, ""]]


def test_json_default_writes_what_the_column_datatypes_say() -> None:
    assert json_default(b"\x00\xff") == [0, 255]  # bytea is an unsignedByte array (VOTable 1.4 §2.1)
    assert json_default(decimal.Decimal("2")) == 2
    assert json_default(decimal.Decimal("1.5")) == 1.5
    assert json_default(decimal.Decimal("NaN")) is None  # as NaN floats are in JSON results
    assert json_default(decimal.Decimal("-Infinity")) is None
    assert json_default(dt.datetime(2024, 1, 2, 3, 4, 5, tzinfo=dt.UTC)) == "2024-01-02T03:04:05"
    assert json_default({3, 1}) == [1, 3]


def test_a_json_cell_and_a_json_result_write_bytes_and_decimals_alike() -> None:
    value = [b"\x01\x02", decimal.Decimal("0.5"), dt.date(2024, 5, 6)]
    assert json.loads(text_of(value)) == [[1, 2], 0.5, "2024-05-06"]
    row = json.loads(_document("json", [Field("v", "char", "*", xtype="json"), Field("b", "unsignedByte", "*")],
                               [(None, b"\x01\x02")]))["data"][0]  # fmt: skip
    assert row == [None, [1, 2]]


@pytest.mark.parametrize("kind", [*KINDS])
def test_every_writer_checks_the_call_order_alike(kind: str) -> None:
    writer = writer_for(fmt(kind), [Field("a", "int")])
    with pytest.raises(InternalError, match=r"rows\(\) called before header\(\)"):
        writer.rows([(1,)])
    with pytest.raises(InternalError, match=r"footer\(\) called before header\(\)"):
        writer.footer()
    writer.header()
    with pytest.raises(InternalError, match=r"header\(\) called twice"):
        writer.header()
    writer.footer()
    with pytest.raises(InternalError, match=r"after footer\(\)"):
        writer.rows([(1,)])


@pytest.mark.parametrize("kind", [k for k in KINDS if k != "json"])  # JSON writes any value JSON can hold
def test_every_checking_writer_names_the_column_of_a_value_it_cannot_hold(kind: str) -> None:
    writer = writer_for(fmt(kind), [Field("ok", "int"), Field("bad", "short")])
    writer.header()
    with pytest.raises(InternalError, match=r"cannot write 'x' in column 'bad' \(datatype 'short'\)"):
        writer.rows([(1, "x")])


def test_geojson_prints_single_precision_values_as_json_does() -> None:
    fields = [Field("ra", "double", ucd="pos.eq.ra;meta.main"), Field("dec", "double", ucd="pos.eq.dec;meta.main"),
              Field("mag", "float")]  # fmt: skip
    rows = [(10.0, 20.0, 9.405500411987305)]
    feature = json.loads(_document("geojson", fields, rows))["features"][0]
    assert feature["properties"]["mag"] == 9.4055 == json.loads(_document("json", fields, rows))["data"][0][2]


# ---------------------------------------------------------------------------
# Service descriptors (DataLink 1.1 §4) and metadata-only tables


def test_service_descriptor_follows_the_results_and_refers_to_the_field_id() -> None:
    fields = [Field("obs id", "char", "*"), Field("ra", "double")]  # "obs id" is no XML ID: the FIELD gets another
    descriptor = ServiceDescriptor(
        "https://example.org/dl?x=1&y=2",
        standard_id="ivo://ivoa.net/std/DataLink#links-1.1",
        name="datalink",
        description="Links of <each> row",
        input_params=(InputParam("ID", column="obs id", ucd="meta.id;meta.main"), InputParam("FMT", value="fits")),
    )
    writer = VOTableWriter(fields, resources=[descriptor])
    doc = writer.header() + writer.rows([("a", 1.0)]) + writer.footer(overflow=True)
    votable = read(doc)
    results, meta = votable.resources
    assert results.type == "results" and results.infos[-1].value == "OVERFLOW"
    assert (meta.type, meta.utype, meta.name) == ("meta", "adhoc:service", "datalink")
    params = {p.name: p.value for p in meta.params}
    assert params == {
        "standardID": "ivo://ivoa.net/std/DataLink#links-1.1",
        "accessURL": "https://example.org/dl?x=1&y=2",
    }
    group = meta.groups[0]
    assert group.name == "inputParams"
    ident, fmt_param = group.entries
    field = results.tables[0].fields[0]
    assert field.ID != "obs id" and ident.ref == field.ID
    assert (fmt_param.name, fmt_param.value, fmt_param.ref) == ("FMT", "fits", None)


def test_service_descriptor_naming_an_unknown_column_is_an_internal_error() -> None:
    writer = VOTableWriter(
        [Field("a", "int")], resources=[ServiceDescriptor("x", input_params=(InputParam("ID", "b"),))]
    )
    writer.header()
    with pytest.raises(InternalError, match="no column 'b'"):
        writer.footer()


def test_a_table_without_data_is_its_metadata_only() -> None:
    writer = VOTableWriter([Field("a", "int", unit="m")], data=False, infos=[("QUERY", "q", None)])
    doc = writer.header() + writer.rows([]) + writer.footer(error="failed")
    assert b"<DATA" not in doc
    votable = parse(io.BytesIO(doc), verify="exception")
    assert votable.resources[0].tables[0].fields[0].unit == "m"
    assert votable.resources[0].infos[-1].value == "ERROR"
    writer = VOTableWriter([Field("a", "int")], data=False)
    writer.header()
    with pytest.raises(InternalError, match="takes no rows"):
        writer.rows([(1,)])


# ---------------------------------------------------------------------------
# The streaming loop


class Source:
    """Batches of rows that may fail after some of them; remembers whether it was closed."""

    def __init__(self, batches: Sequence[Sequence[tuple[object, ...]]], fail: Exception | None = None) -> None:
        self.batches = batches
        self.fail = fail
        self.closed = False
        self.served = 0

    async def iterate(self) -> AsyncGenerator[Sequence[Sequence[object]], None]:
        try:
            for batch in self.batches:
                self.served += 1
                yield batch
            if self.fail is not None:
                raise self.fail
        finally:
            self.closed = True


async def _collect(kind: str, source: Source, limit: int, *, in_band: bool = True) -> bytes:
    writer = writer_for(fmt(kind), [Field("a", "int")])
    pieces, closed = [], []
    async for piece in iter_result(writer, source.iterate(), limit=limit, errors_in_band=in_band):
        pieces.append(piece)
        closed.append(source.closed)
    assert closed[-1]  # the source (its database connection) is given back before the footer
    return b"".join(pieces)


async def test_exactly_limit_rows_and_overflow_when_more_come() -> None:
    source = Source([[(1,), (2,)], [(3,), (4,)], [(5,)]])
    data = json.loads(await _collect("json", source, 3))
    assert data["data"] == [[1], [2], [3]] and data["queryStatus"] == "OVERFLOW"
    assert source.served == 2 and source.closed  # no batch read after the limit
    data = json.loads(await _collect("json", Source([[(1,), (2,)]]), 2))
    assert data["data"] == [[1], [2]] and data["queryStatus"] == "OK"


async def test_an_error_after_the_first_byte_ends_the_table_with_its_message() -> None:
    source = Source([[(1,)]], fail=QueryTimeoutError("too slow"))
    doc = await _collect("votable", source, 10)
    votable = read(doc)
    assert votable.resources[0].infos[-1].value == "ERROR" and "too slow" in str(votable.resources[0].infos[-1].content)
    assert source.closed


@pytest.mark.parametrize(("kind", "in_band"), [("csv", True), ("tsv", True), ("votable", False), ("json", False)])
async def test_an_error_the_document_cannot_carry_aborts_the_stream(kind: str, in_band: bool) -> None:
    source = Source([[(1,)]], fail=QueryTimeoutError("too slow"))
    with pytest.raises(StreamAborted, match="too slow"):
        await _collect(kind, source, 10, in_band=in_band)
    assert source.closed


async def test_a_bug_in_the_source_is_not_turned_into_a_status() -> None:
    source = Source([[(1,)]], fail=ZeroDivisionError())
    with pytest.raises(ZeroDivisionError):
        await _collect("votable", source, 10)
    assert source.closed
