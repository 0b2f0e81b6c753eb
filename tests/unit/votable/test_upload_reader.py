"""Reading uploaded VOTables safely (TAP 1.1 §4.5): limits, entities, by-reference data, names and types."""

from __future__ import annotations

import io
import warnings
from pathlib import Path

import numpy as np
import pytest
from astropy.io.votable import from_table, parse, writeto
from astropy.table import MaskedColumn, Table

from vostack.errors import UploadError
from vostack.votable.reader import UploadedTable, column_identifier, read_votable

NS = 'xmlns="http://www.ivoa.net/xml/VOTable/v1.3"'


def document(body: str, prologue: str = "") -> bytes:
    return f'<?xml version="1.0"?>{prologue}<VOTABLE {NS} version="1.4"><RESOURCE>{body}</RESOURCE></VOTABLE>'.encode()


def table_of(rows: str, field: str = '<FIELD name="a" datatype="char" arraysize="*"/>') -> str:
    return f"<TABLE>{field}<DATA><TABLEDATA>{rows}</TABLEDATA></DATA></TABLE>"


def read(data: bytes, *, max_bytes: int = 10**6, max_rows: int = 1000) -> UploadedTable:
    return read_votable(data, max_bytes=max_bytes, max_rows=max_rows, what="upload 't'")


def votable(table: Table, serialization: str = "binary2") -> bytes:
    out = io.BytesIO()
    doc = from_table(table)
    doc.get_first_table().format = serialization
    writeto(doc, out)
    return out.getvalue()


SECRET = Path("/etc/hostname") if Path("/etc/hostname").exists() else Path("/etc/passwd")

XXE = document(
    table_of("<TR><TD>&xxe;</TD></TR>"),
    prologue=f'<!DOCTYPE VOTABLE [<!ENTITY xxe SYSTEM "file://{SECRET}">]>',
)
BILLION_LAUGHS = document(
    table_of("<TR><TD>&lol9;</TD></TR>"),
    prologue='<!DOCTYPE VOTABLE [<!ENTITY lol "lol">'
    + "".join(f'<!ENTITY lol{i} "{("&lol" + str(i - 1) + ";") * 10 if i > 1 else "&lol;" * 10}">' for i in range(1, 10))
    + "]>",
)


def test_an_external_entity_is_refused_before_any_parser_resolves_it() -> None:
    with pytest.raises(UploadError, match="upload 't' is not accepted: it contains a DOCTYPE"):
        read(XXE)


def test_entity_expansion_is_refused() -> None:
    with pytest.raises(UploadError, match="DOCTYPE"):
        read(BILLION_LAUGHS)


def test_any_doctype_is_refused_even_a_harmless_one() -> None:
    with pytest.raises(UploadError, match="DOCTYPE"):
        read(document(table_of("<TR><TD>x</TD></TR>"), prologue="<!DOCTYPE VOTABLE>"))


def test_astropy_alone_does_not_read_the_external_entity() -> None:
    """What our own check protects against is not needed for this one: astropy's expat never fetches entities."""
    secret = SECRET.read_text().strip()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            table = parse(io.BytesIO(XXE), verify="ignore").get_first_table()
        except Exception:
            return
    assert secret not in str(table.array.tolist())


@pytest.mark.parametrize(
    ("body", "what"),
    [
        ('<TABLE><FIELD name="a" datatype="int"/><DATA><BINARY2><STREAM href="file:///etc/passwd"/></BINARY2>'
         "</DATA></TABLE>", "STREAM by reference"),
        ('<TABLE><FIELD name="a" datatype="int"/><DATA><BINARY><STREAM xlink:href="http://example.org/x" '
         'xmlns:xlink="http://www.w3.org/1999/xlink"/></BINARY></DATA></TABLE>', "STREAM by reference"),
        ('<TABLE><FIELD name="a" datatype="int"/><DATA><FITS><STREAM href="x.fits"/></FITS></DATA></TABLE>', "FITS"),
        ('<TABLE><FIELD name="a" datatype="int"/><DATA><PARQUET type="VOTable-remote-file">'
         '<STREAM href="file:///x.parquet"/></PARQUET></DATA></TABLE>', "PARQUET"),
    ],
)  # fmt: skip
def test_data_by_reference_is_refused(body: str, what: str) -> None:
    with pytest.raises(UploadError, match=what):
        read(document(body))


def test_the_byte_limit_is_checked_before_parsing() -> None:
    data = document(table_of("<TR><TD>x</TD></TR>"))
    assert read(data, max_bytes=len(data))
    with pytest.raises(UploadError, match=f"is {len(data) + 1:,} bytes, more than this service accepts"):
        read(data + b" ", max_bytes=len(data))  # one byte more, even as trailing whitespace


def test_the_row_limit_is_exact() -> None:
    data = votable(Table({"k": np.arange(10, dtype=np.int32)}))
    assert len(read_votable(data, max_bytes=10**6, max_rows=10, what="u").rows) == 10
    with pytest.raises(UploadError, match="has 10 rows, more than this service accepts \\(9 rows\\)"):
        read_votable(data, max_bytes=10**6, max_rows=9, what="u")


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"", "not well-formed XML"),
        (b"<VOTABLE", "not well-formed XML"),
        (document(""), "no TABLE"),
        (document(table_of("", '<FIELD name="z" datatype="doubleComplex"/>')), "datatype doubleComplex"),
        (document("<TABLE><DATA><TABLEDATA/></DATA></TABLE>"), "without columns"),
    ],
)
def test_unusable_documents_are_upload_errors(data: bytes, message: str) -> None:
    with pytest.raises(UploadError, match=message):
        read(data)


@pytest.mark.parametrize(
    ("name", "identifier"),
    [("ra", "ra"), ("RA_ICRS", "ra_icrs"), ("2MASS id", "c_2mass_id"), ("e(Vmag)", "e_vmag_"), ("", "c"),
     ("x" * 80, "x" * 63), ("ŝtar", "c__tar"), ("_id", "c__id")],
)  # fmt: skip
def test_column_names_become_regular_adql_identifiers(name: str, identifier: str) -> None:
    assert column_identifier(name, set()) == identifier


def test_column_names_that_collide_get_numbers() -> None:
    taken: set[str] = set()
    assert [column_identifier(n, taken) for n in ("a b", "a_b", "A-B", "x" * 70, "x" * 63)] == [
        "a_b", "a_b_2", "a_b_3", "x" * 63, "x" * 61 + "_2"
    ]  # fmt: skip


@pytest.mark.parametrize("serialization", ["tabledata", "binary", "binary2"])
def test_values_types_and_nulls_are_read_in_every_serialization(serialization: str) -> None:
    table = Table()
    table["i"] = np.array([1, 2], dtype=np.int32)
    table["d"] = MaskedColumn([0.5, 9.0], mask=[False, True])
    table["s"] = ["ab", "c"]
    table["v"] = np.array([[1.0, 2.0], [3.0, 4.0]], dtype=np.float32)
    uploaded = read(votable(table, serialization))
    assert [(c.name, c.db_type, c.field.datatype) for c in uploaded.columns] == [
        ("i", "integer", "int"),
        ("d", "double precision", "double"),
        ("s", "text", "unicodeChar"),
        ("v", "real[]", "float"),
    ]
    assert uploaded.rows == [(1, 0.5, "ab", [1.0, 2.0]), (2, None, "c", [3.0, 4.0])]


def test_dali_geometries_are_given_in_pgsphere_text_form() -> None:
    table = Table()
    table["p"] = np.array([[10.0, -20.5]])
    table["c"] = np.array([[1.0, 2.0, 0.5]])
    table["poly"] = np.array([[0.0, 0.0, 1.0, 0.0, 0.0, 1.0]])
    doc = from_table(table)
    for field, xtype in zip(doc.get_first_table().fields, ("point", "circle", "polygon"), strict=True):
        field.xtype = xtype
    out = io.BytesIO()
    writeto(doc, out)
    uploaded = read(out.getvalue())
    assert [c.db_type for c in uploaded.columns] == ["spoint", "scircle", "spoly"]
    assert uploaded.rows == [("(10.0d, -20.5d)", "<(1.0d, 2.0d), 0.5d>", "{(0.0d, 0.0d), (1.0d, 0.0d), (0.0d, 1.0d)}")]
