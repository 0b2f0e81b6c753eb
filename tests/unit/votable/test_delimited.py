"""CSV (RFC 4180) and TSV results, read back with the csv module."""

from __future__ import annotations

import csv
import io
import math

import pytest

from tests.unit.votable.format_helpers import FIELDS, ROWS, TIMESTAMP_ROWS, timestamp_fields, write
from vostack.errors import InternalError
from vostack.schema import Field
from vostack.votable import writer_for
from vostack.votable.catalog import TAP_FORMATS


def read_csv(doc: bytes) -> list[list[str]]:
    text = doc.decode("utf-8")
    return list(csv.reader(io.StringIO(text, newline="")))


def unescape_tsv(cell: str) -> str:
    out, i = [], 0
    while i < len(cell):
        if cell[i] == "\\" and i + 1 < len(cell):
            out.append({"t": "\t", "n": "\n", "r": "\r", "\\": "\\"}[cell[i + 1]])
            i += 2
        else:
            out.append(cell[i])
            i += 1
    return "".join(out)


def read_tsv(doc: bytes) -> list[list[str]]:
    lines = doc.decode("utf-8").split("\n")
    assert lines[-1] == ""
    return [[unescape_tsv(c) for c in line.split("\t")] for line in lines[:-1]]


def expected_cell(field: Field, value: object) -> str:
    if value is None:
        return ""
    if field.datatype == "boolean":
        return "True" if value else "False"
    if isinstance(value, list):
        return " ".join("NaN" if isinstance(v, float) and math.isnan(v) else repr(v) for v in value)
    if isinstance(value, float):
        return repr(value)
    return str(value)


@pytest.mark.parametrize("kind", ["csv", "tsv"])
def test_rows_read_back_equal_the_input(kind: str) -> None:
    table = (read_csv if kind == "csv" else read_tsv)(write(kind))
    assert table[0] == [f.name for f in FIELDS]
    assert len(table) == 1 + len(ROWS)
    for line, row in zip(table[1:], ROWS, strict=True):
        assert line == [expected_cell(f, v) for f, v in zip(FIELDS, row, strict=True)]


@pytest.mark.parametrize("kind", ["csv", "tsv"])
def test_floats_round_trip_exactly(kind: str) -> None:
    table = (read_csv if kind == "csv" else read_tsv)(write(kind))
    for line, row in zip(table[1:], ROWS, strict=True):
        assert float(line[1]) == row[1]
        assert float(line[2]) == row[2]


def test_csv_lines_end_with_crlf_and_quote_only_what_needs_it() -> None:
    doc = write("csv").decode("utf-8")
    assert doc.startswith("id,ra,dec,mag,flag,ok,name,spec\r\n")
    assert '"Vega \u2606, ""\u03b1 Lyr"""' in doc
    assert ",plain," in doc


def test_csv_null_is_empty_and_empty_string_is_quoted() -> None:
    doc = write("csv").decode("utf-8").split("\r\n")
    assert doc[2] == "2,359.9,89.9,,,,,"
    assert ',False,"",' in doc[3]


def test_tsv_escapes_tabs_and_newlines() -> None:
    doc = write("tsv").decode("utf-8")
    assert "tab\\there\\nnew line" in doc
    assert doc.count("\n") == 1 + len(ROWS)


def test_header_names_are_quoted_when_needed() -> None:
    fields = (Field("a,b", "int"), Field('say "hi"', "int"))
    assert read_csv(write("csv", [[(1, 2)]], fields=fields))[0] == ["a,b", 'say "hi"']


@pytest.mark.parametrize("kind", ["csv", "tsv"])
def test_empty_result_is_the_header_line_only(kind: str) -> None:
    doc = write(kind, [])
    separator = "\t" if kind == "tsv" else ","
    assert doc.decode().splitlines() == [separator.join(f.name for f in FIELDS)]


@pytest.mark.parametrize("kind", ["csv", "tsv"])
def test_overflow_and_error_add_nothing_in_band(kind: str) -> None:
    plain = write(kind)
    assert write(kind, overflow=True) == plain
    assert write(kind, error="the database went away") == plain
    writer = writer_for(next(f for f in TAP_FORMATS if f.kind == kind), FIELDS)
    assert writer.status_in_band is False


def test_nan_and_infinities_are_words_float_reads() -> None:
    fields = (Field("x", "double"),)
    rows = [(math.nan,), (math.inf,), (-math.inf,)]
    cells = [line[0] for line in read_csv(write("csv", [rows], fields=fields))[1:]]
    assert cells == ["NaN", "+Inf", "-Inf"]
    assert math.isnan(float(cells[0])) and float(cells[1]) == math.inf and float(cells[2]) == -math.inf


def test_timestamps_are_dali_utc_strings() -> None:
    table = read_csv(write("csv", [TIMESTAMP_ROWS], fields=timestamp_fields()))
    assert table[1:] == [["1", "2024-05-06T07:08:09.500000"], ["2", ""]]


def test_decimal_in_integer_column_is_written_as_integer() -> None:
    import decimal

    table = read_csv(write("csv", [[(decimal.Decimal("12"),)]], fields=(Field("n", "long"),)))
    assert table[1] == ["12"]


def test_value_a_column_cannot_hold_names_the_column() -> None:
    with pytest.raises(InternalError, match="'n'"):
        write("csv", [[("not a number",)]], fields=(Field("n", "int"),))


def test_rows_before_header_is_an_internal_error() -> None:
    writer = writer_for(next(f for f in TAP_FORMATS if f.kind == "csv"), FIELDS)
    with pytest.raises(InternalError):
        writer.rows(ROWS)


def test_astropy_ascii_csv_reader_masks_nulls_and_keeps_floats() -> None:
    from astropy.table import Table

    table = Table.read(write("csv").decode("utf-8"), format="ascii.csv")
    assert table.colnames == [f.name for f in FIELDS]
    assert table["ra"].tolist() == [r[1] for r in ROWS]
    assert table["flag"].mask.tolist() == [r[4] is None for r in ROWS]
    assert table["name"][0] == ROWS[0][6]
