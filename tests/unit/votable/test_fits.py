"""FITS binary table results, read back with astropy.io.fits and astropy.table."""

from __future__ import annotations

import io
import math
from typing import cast

import numpy as np
import pytest
from astropy.io import fits
from astropy.table import Table

from tests.unit.votable.format_helpers import FIELDS, ROWS, TIMESTAMP_ROWS, timestamp_fields, write
from vostack.errors import InternalError
from vostack.schema import Field
from vostack.votable import FITSWriter


def open_fits(doc: bytes) -> fits.HDUList:
    assert len(doc) % 2880 == 0
    hdul = fits.open(io.BytesIO(doc), logical_as_bytes=True)
    hdul.verify("exception")
    return hdul


def read_table(doc: bytes) -> Table:
    return Table.read(open_fits(doc)[1])


def test_rows_read_back_equal_the_input() -> None:
    table = read_table(write("fits"))
    assert table.colnames == [f.name for f in FIELDS]
    assert len(table) == len(ROWS)
    assert list(table["id"]) == [r[0] for r in ROWS]
    assert list(table["ra"]) == [r[1] for r in ROWS]  # doubles exact
    assert list(table["dec"]) == [r[2] for r in ROWS]
    mags = [None if m is np.ma.masked or math.isnan(m) else float(m) for m in table["mag"]]
    assert mags == [None if r[3] is None else float(np.float32(cast(float, r[3]))) for r in ROWS]


def test_integer_nulls_use_tnull_and_read_as_masked() -> None:
    hdul = open_fits(write("fits"))
    header = hdul[1].header
    assert header["TNULL1"] == -(2**63) and header["TNULL5"] == -(2**15)
    table = Table.read(hdul[1])
    assert table["flag"].mask.tolist() == [r[4] is None for r in ROWS]
    assert table["flag"].filled(0).tolist() == [r[4] or 0 for r in ROWS]


def test_booleans_and_their_nulls() -> None:
    hdul = open_fits(write("fits"))
    raw = hdul[1].data.field("ok")  # numpy shows the FITS null byte (0) as b""
    assert raw.tolist() == [b"" if r[5] is None else b"T" if r[5] else b"F" for r in ROWS]
    assert hdul[1].header["TFORM6"] == "L"


def test_unicode_text_is_utf8_and_null_text_empty() -> None:
    hdul = open_fits(write("fits"))
    raw = np.frombuffer(hdul[1].data.tobytes(), dtype=hdul[1].data.dtype)["name"]
    names = [cast(str, r[6] or "") for r in ROWS]
    assert [c.decode("utf-8") for c in raw] == names
    assert hdul[1].header["TFORM7"] == f"{max(len(n.encode()) for n in names)}A"


def test_variable_arrays_are_padded_to_the_longest() -> None:
    hdul = open_fits(write("fits"))
    spec = hdul[1].data.field("spec")
    assert hdul[1].header["TFORM8"] == "3D"
    assert spec[0][:2].tolist() == [1.0, 2.5] and math.isnan(spec[0][2])
    assert all(math.isnan(v) for v in spec[1])
    assert spec[3][1:].tolist() == [3.0, 1e300]


def test_units_ucds_and_descriptions_are_in_the_header() -> None:
    header = open_fits(write("fits"))[1].header
    assert header["TUNIT2"] == "deg" and header["TUCD2"] == "pos.eq.ra;meta.main"
    assert header["TCOMM2"] == "Right ascension (ICRS)"
    assert header["TUNIT8"] == "Jy"
    assert read_table(write("fits"))["ra"].unit == "deg"


def test_status_keyword_ok_overflow_error() -> None:
    assert open_fits(write("fits"))[1].header["QSTATUS"] == "OK"
    assert open_fits(write("fits", overflow=True))[1].header["QSTATUS"] == "OVERFLOW"
    long_message = "the query was stopped at its execution time limit while its rows were being sent " * 3
    header = open_fits(write("fits", overflow=True, error=long_message))[1].header
    assert header["QSTATUS"] == "ERROR"
    assert header["QERROR"] == long_message.rstrip()  # FITS drops trailing blanks


def test_infos_are_primary_comments() -> None:
    primary = open_fits(write("fits"))[0].header
    assert "QUERY = SELECT * FROM t" in str(primary["COMMENT"])


def test_empty_result_is_a_table_of_zero_rows() -> None:
    hdul = open_fits(write("fits", []))
    assert hdul[1].header["NAXIS2"] == 0
    assert len(Table.read(hdul[1])) == 0


def test_many_batches_through_the_disk_spool() -> None:
    fields = (Field("i", "int"), Field("s", "char", arraysize="*"))
    batches = [[(b * 1000 + i, "x" * (b % 7)) for i in range(1000)] for b in range(30)]
    table = read_table(write("fits", batches, fields=fields))
    assert table["i"].tolist() == list(range(30_000))
    assert table["s"].tolist()[6000] == "x" * 6


def test_header_is_sent_first_and_rows_wait_for_the_footer() -> None:
    writer = FITSWriter(FIELDS)
    head = writer.header()
    assert head.startswith(b"SIMPLE  =") and len(head) == 2880
    assert writer.rows(ROWS) == b""
    pieces = list(writer.iter_footer())
    assert pieces[0].startswith(b"XTENSION= 'BINTABLE'")


def test_timestamps_are_text() -> None:
    table = read_table(write("fits", [TIMESTAMP_ROWS], fields=timestamp_fields()))
    assert table["t"].tolist() == ["2024-05-06T07:08:09.500000", ""]


def test_value_a_column_cannot_hold_names_the_column() -> None:
    with pytest.raises(InternalError, match="'n'"):
        write("fits", [[(2**40,)]], fields=(Field("n", "int"),))
