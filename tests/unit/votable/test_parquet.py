"""VOParquet results, read back with pyarrow.parquet and astropy's VOParquet reader."""

from __future__ import annotations

import io
import math

import pyarrow.parquet as pq
import pytest
from astropy.io.votable import parse
from astropy.table import MaskedColumn, Table, vstack

from tests.unit.votable.format_helpers import FIELDS, ROWS, TIMESTAMP_ROWS, timestamp_fields, write
from vostack.errors import InternalError
from vostack.schema import Field
from vostack.votable import ParquetWriter

CONTENT = b"IVOA.VOTable-Parquet.content"


def parquet(doc: bytes) -> pq.ParquetFile:
    assert doc[:4] == b"PAR1" and doc[-4:] == b"PAR1"
    return pq.ParquetFile(io.BytesIO(doc))


def same(a: object, b: object) -> bool:
    if isinstance(a, float) and isinstance(b, float):
        return a == b or (math.isnan(a) and math.isnan(b))
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(same(x, y) for x, y in zip(a, b, strict=True))
    return a == b


def test_rows_read_back_equal_the_input() -> None:
    table = parquet(write("parquet")).read()
    assert table.column_names == [f.name for f in FIELDS]
    rows = table.to_pylist()
    for got, row in zip(rows, ROWS, strict=True):
        # the float column's values (12.25, 1.5, 7.0) are exact in float32
        assert all(same(got[f.name], v) for f, v in zip(FIELDS, row, strict=True)), (got, row)


def test_one_row_group_per_batch_and_arrow_types() -> None:
    file = parquet(write("parquet"))
    assert file.metadata.num_row_groups == 2
    assert [str(t) for t in file.schema_arrow.types] == [
        "int64", "double", "double", "float", "int16", "bool", "string", "list<element: double>",
    ]  # fmt: skip


def test_voparquet_metadata_is_a_dataless_votable() -> None:
    metadata = parquet(write("parquet")).metadata.metadata
    assert metadata[b"IVOA.VOTable-Parquet.version"] == b"1.0"
    content = metadata[CONTENT]
    assert b"<DATA" not in content
    votable = parse(io.BytesIO(content), verify="exception")
    table = votable.get_first_table()
    fields = {f.name: f for f in table.fields}
    assert str(fields["ra"].unit) == "deg" and fields["ra"].ucd == "pos.eq.ra;meta.main"
    assert fields["ra"].description == "Right ascension (ICRS)"
    status = [i.value for i in votable.resources[0].infos if i.name == "QUERY_STATUS"]
    assert status == ["OK"]


def status_infos(doc: bytes) -> list[tuple[str, str]]:
    content = parquet(doc).metadata.metadata[CONTENT]
    votable = parse(io.BytesIO(content), verify="exception")
    return [(i.value, i.content or "") for i in votable.resources[0].infos if i.name == "QUERY_STATUS"]


def test_overflow_and_error_are_in_the_footer_votable() -> None:
    assert status_infos(write("parquet", overflow=True)) == [("OK", ""), ("OVERFLOW", "")]
    assert status_infos(write("parquet", error="statement timeout")) == [("OK", ""), ("ERROR", "statement timeout")]
    assert parquet(write("parquet", error="statement timeout")).read().num_rows == len(ROWS)


def test_voparquet_read_as_astropy_does_gets_units_and_masks() -> None:
    """What astropy's ``read_parquet_votable`` does (it needs pandas, not installed here): VOTable, then data."""
    doc = write("parquet", fields=FIELDS[:6], batches=[[r[:6] for r in ROWS[:3]], [r[:6] for r in ROWS[3:]]])
    file = parquet(doc)
    empty = Table.read(parse(io.BytesIO(file.metadata.metadata[CONTENT]), verify="exception"))
    arrow = file.read()
    data = Table(masked=True)
    for name, column in zip(arrow.column_names, arrow.columns, strict=True):
        filled = column.fill_null(False if name == "ok" else 0).to_numpy()
        data[name] = MaskedColumn(filled, mask=column.is_null().to_numpy(zero_copy_only=False))
    table = vstack([empty, data])
    assert str(table["ra"].unit) == "deg"
    assert table["ra"].tolist() == [r[1] for r in ROWS]
    assert table["mag"].mask.tolist() == [r[3] is None for r in ROWS]
    assert table["flag"].mask.tolist() == [r[4] is None for r in ROWS]


def test_empty_result_has_schema_and_metadata() -> None:
    file = parquet(write("parquet", []))
    assert file.read().num_rows == 0
    assert file.schema_arrow.names == [f.name for f in FIELDS]
    assert CONTENT in file.metadata.metadata


def test_stream_pieces_start_with_magic_and_grow_per_batch() -> None:
    writer = ParquetWriter(FIELDS)
    assert writer.header() == b"PAR1"
    assert len(writer.rows(ROWS)) > 0
    assert writer.rows([]) == b""
    assert writer.footer().endswith(b"PAR1")


def test_timestamps_decimals_and_coercion() -> None:
    import decimal

    table = parquet(write("parquet", [TIMESTAMP_ROWS], fields=timestamp_fields())).read()
    assert table.column("t").to_pylist() == ["2024-05-06T07:08:09.500000", None]
    fields = (Field("n", "long"), Field("x", "double"))
    rows = [(decimal.Decimal("3"), decimal.Decimal("0.5")), (4, None)]
    assert parquet(write("parquet", [rows], fields=fields)).read().to_pylist() == [
        {"n": 3, "x": 0.5},
        {"n": 4, "x": None},
    ]


def test_value_a_column_cannot_hold_names_the_column() -> None:
    with pytest.raises(InternalError, match="'n'"):
        write("parquet", [[("abc",)]], fields=(Field("n", "int"),))
