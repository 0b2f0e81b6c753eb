"""TAP_FORMATS and writer_for: what is offered, how it is chosen, the VOTable kinds read back by astropy."""

from __future__ import annotations

import io

import pytest
from astropy.io.votable import parse

from tests.unit.votable.format_helpers import BATCH_1, BATCH_2, FIELDS, ROWS, as_records, write
from vostack.dali import OutputFormat, Params, choose_format
from vostack.errors import InternalError, ParameterError
from vostack.schema import Field
from vostack.votable import TAP_FORMATS, VOTABLE_FORMATS, writer_for


def test_votable_binary2_is_the_default_and_tap_entries_are_kept() -> None:
    assert TAP_FORMATS[0].serialization == "binary2"
    assert TAP_FORMATS[: len(VOTABLE_FORMATS)] == VOTABLE_FORMATS


@pytest.mark.parametrize(
    ("requested", "kind"),
    [
        ("csv", "csv"),
        ("text/csv", "csv"),
        ("text/csv;header=present", "csv"),
        ("tsv", "tsv"),
        ("text/tab-separated-values", "tsv"),
        ("json", "json"),
        ("application/json", "json"),
        ("fits", "fits"),
        ("application/fits", "fits"),
        ("parquet", "parquet"),
        ("application/vnd.apache.parquet", "parquet"),
        ("geojson", "geojson"),
        ("application/geo+json", "geojson"),
        ("votable/td", "votable"),
    ],
)
def test_responseformat_names_choose_the_format(requested: str, kind: str) -> None:
    chosen = choose_format(Params([("RESPONSEFORMAT", requested)]), TAP_FORMATS, default=TAP_FORMATS[0])
    assert chosen.kind == kind


def test_every_format_has_unique_aliases_and_an_extension() -> None:
    aliases = [a.lower() for f in TAP_FORMATS for a in f.aliases]
    assert len(aliases) == len(set(aliases))
    assert {f.extension for f in TAP_FORMATS if f.kind != "votable"} == {
        "csv", "tsv", "json", "fits", "parquet", "geojson",
    }  # fmt: skip


def test_only_votable_formats_claim_taprgext_identifiers() -> None:
    for fmt in TAP_FORMATS:
        assert (fmt.ivo_id is not None) == (fmt.kind == "votable")


@pytest.mark.parametrize("serialization", ["binary2", "tabledata", "binary"])
def test_votable_formats_read_back_with_astropy(serialization: str) -> None:
    fmt = next(f for f in TAP_FORMATS if f.serialization == serialization)
    writer = writer_for(fmt, FIELDS, infos=(("QUERY", "SELECT 1", None),))
    doc = writer.header() + writer.rows(ROWS) + b"".join(writer.iter_footer(overflow=True))
    votable = parse(io.BytesIO(doc), verify="exception")
    table = votable.get_first_table().to_table()
    assert table["id"].tolist() == [r[0] for r in ROWS]
    assert table["ra"].tolist() == [r[1] for r in ROWS]
    assert [i.value for i in votable.resources[0].infos if i.name == "QUERY_STATUS"] == ["OK", "OVERFLOW"]


@pytest.mark.parametrize("kind", ["votable", "csv", "tsv", "json", "geojson", "fits", "parquet"])
def test_footer_and_iter_footer_give_the_same_bytes(kind: str) -> None:
    fmt = next(f for f in TAP_FORMATS if f.kind == kind)
    one, two = writer_for(fmt, FIELDS), writer_for(fmt, FIELDS)
    start = one.header() + one.rows(ROWS)
    assert two.header() + two.rows(ROWS) == start
    assert one.footer(error="x") == b"".join(two.iter_footer(error="x"))


@pytest.mark.parametrize("kind", ["votable", "csv", "tsv", "json", "geojson", "fits", "parquet"])
def test_footer_twice_is_an_internal_error(kind: str) -> None:
    fmt = next(f for f in TAP_FORMATS if f.kind == kind)
    writer = writer_for(fmt, FIELDS)
    writer.header()
    writer.footer()
    with pytest.raises(InternalError):
        writer.footer()


def test_unknown_kind_is_an_internal_error() -> None:
    with pytest.raises(InternalError):
        writer_for(OutputFormat("text/html", ("html",), kind="html"), FIELDS)


def test_geojson_of_a_result_without_positions_is_refused_before_streaming() -> None:
    fmt = next(f for f in TAP_FORMATS if f.kind == "geojson")
    with pytest.raises(ParameterError):
        writer_for(fmt, FIELDS[3:6])


@pytest.mark.parametrize("kind", ["csv", "tsv", "json", "geojson", "fits", "parquet"])
def test_status_in_band_is_false_only_for_csv_and_tsv(kind: str) -> None:
    assert writer_for(next(f for f in TAP_FORMATS if f.kind == kind), FIELDS).status_in_band is (
        kind not in ("csv", "tsv")
    )


def test_write_helper_covers_every_kind() -> None:
    assert {f.kind for f in TAP_FORMATS} == {"votable", "csv", "tsv", "json", "geojson", "fits", "parquet"}
    assert all(write(k) for k in ("csv", "json", "fits", "parquet"))


def test_repeated_column_names_get_a_suffix_in_fits_and_parquet() -> None:
    import pyarrow.parquet as pq
    from astropy.io import fits

    fields = (Field("x", "int"), Field("X", "int"), Field("x", "double", unit="m"))
    rows = [[(1, 2, 3.5)]]
    table = pq.read_table(io.BytesIO(write("parquet", rows, fields=fields)))
    assert table.column_names == ["x", "X_2", "x_3"] and table.to_pylist() == [{"x": 1, "X_2": 2, "x_3": 3.5}]
    hdu = fits.open(io.BytesIO(write("fits", rows, fields=fields)))[1]
    assert [hdu.header[f"TTYPE{i}"] for i in (1, 2, 3)] == ["x", "X_2", "x_3"]
    assert tuple(hdu.data[0]) == (1, 2, 3.5) and hdu.header["TUNIT3"] == "m"


@pytest.mark.parametrize("kind", ["votable", "csv", "tsv", "json", "geojson", "fits", "parquet"])
def test_record_rows_give_the_same_document_as_tuples(kind: str) -> None:
    batches = [BATCH_1, BATCH_2]
    assert write(kind, as_records(batches)) == write(kind, batches)


@pytest.mark.parametrize("kind", ["fits", "parquet"])
@pytest.mark.parametrize("fields", [(), (Field("b", "bit"),), (Field("z", "doubleComplex"),)])
def test_columns_a_binary_format_cannot_hold_are_internal_errors(kind: str, fields: tuple[Field, ...]) -> None:
    with pytest.raises(InternalError):
        writer_for(next(f for f in TAP_FORMATS if f.kind == kind), fields)


@pytest.mark.parametrize("kind", ["votable", "csv", "tsv", "json", "geojson", "fits", "parquet"])
def test_a_result_without_columns_is_an_internal_error(kind: str) -> None:
    with pytest.raises(InternalError):
        writer_for(next(f for f in TAP_FORMATS if f.kind == kind), ())
