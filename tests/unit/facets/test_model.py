"""Facets, filters and bins: what a request may ask for, and the bins chosen from a distribution."""

from __future__ import annotations

import datetime as dt
import math

import pytest

from vostack.dali import Params
from vostack.errors import ParameterError
from vostack.facets import Cell, Cone, Facet, FacetKind, Range, Selection, Values, parse_selection
from vostack.facets.model import (
    Bins,
    Stats,
    TimeBins,
    adql_literal,
    choose_bins,
    choose_order,
    choose_time_bins,
    time_literal,
)
from vostack.facets.query import categorical_sql, condition_adql, histogram_sql, where_adql
from vostack.schema import Column, Table

FACETS = [
    Facet.categorical("sn"),
    Facet.categorical("name"),
    Facet.numeric("hpmag"),
    Facet.time("obs", time_format="mjd"),
    Facet.time("released"),
    Facet.position("ra", "dec"),
]
TABLE = Table(
    "cat.main",
    "cat",
    columns=(
        Column("sn", "short"),
        Column("name", "char", arraysize="*"),
        Column("hpmag", "float"),
        Column("obs", "double"),
        Column("released", "char", arraysize="*", xtype="timestamp"),
        Column("ra", "double"),
        Column("dec", "double"),
    ),
)


def parse(*pairs: tuple[str, str]) -> Selection:
    return parse_selection(Params(pairs), FACETS, sortable=["sn", "hpmag"])


def test_filters_of_every_kind_are_parsed() -> None:
    selection = parse(
        ("sn", "1"), ("SN", "5"), ("hpmag", "5..7.5"), ("obs", "2006-01-01..2007-01-01T12:00"),
        ("position", "cell:5:123"), ("sort", "hpmag"), ("desc", "1"), ("offset", "50"), ("other", "x"),
    )  # fmt: skip
    assert selection.filters["sn"] == Values(("1", "5"))
    assert selection.filters["hpmag"] == Range(5.0, 7.5)
    assert selection.filters["obs"] == Range(dt.datetime(2006, 1, 1), dt.datetime(2007, 1, 1, 12))
    assert selection.filters["position"] == Cell(5, 123)
    assert (selection.sort, selection.descending, selection.offset) == ("hpmag", True, 50)
    assert "other" not in selection.filters


def test_open_ranges_and_cones() -> None:
    selection = parse(("hpmag", "..7"), ("position", "cone:-10,20.5,1.5"))
    assert selection.filters["hpmag"] == Range(None, 7.0)
    assert selection.filters["position"] == Cone(350.0, 20.5, 1.5)


@pytest.mark.parametrize(
    "pair",
    [
        ("hpmag", "7"),  # not a range
        ("hpmag", "a..b"),
        ("hpmag", "8..7"),  # empty
        ("hpmag", "nan.."),
        ("obs", "yesterday.."),
        ("position", "cell:5:99999999"),  # no such cell at order 5
        ("position", "cone:0,95,1"),
        ("position", "box:1,2"),
        ("offset", "-1"),
        ("sort", "name"),  # not sortable
    ],
)
def test_malformed_parameters_are_parameter_errors(pair: tuple[str, str]) -> None:
    with pytest.raises(ParameterError):
        parse(pair)


def test_selection_params_round_trip() -> None:
    selection = parse(("sn", "5"), ("hpmag", "5..7"), ("released", "2006-01-01..2006-02-01T06:00:00"),
                      ("position", "cone:10,20,1"), ("sort", "sn"), ("offset", "100"))  # fmt: skip
    again = parse_selection(Params(selection.params()), FACETS, sortable=["sn", "hpmag"])
    assert again == selection


def test_facet_without_filter_is_computed_under_the_others() -> None:
    selection = parse(("sn", "5"), ("hpmag", "5..7"))
    assert where_adql(selection.without("sn"), FACETS, TABLE) == " WHERE (hpmag >= 5.0 AND hpmag < 7.0)"
    assert where_adql(Selection(), FACETS, TABLE) == ""


def test_values_become_literals_of_the_column_type() -> None:
    assert adql_literal(Column("sn", "short"), "5", "sn") == "5"
    assert adql_literal(Column("name", "char"), "it's", "name") == "'it''s'"
    with pytest.raises(ParameterError):
        adql_literal(Column("sn", "short"), "5; DROP TABLE x", "sn")
    assert condition_adql(FACETS[1], TABLE, Values(("a'b", "c"))) == "name IN ('a''b', 'c')"


def test_times_are_iso_strings_or_days() -> None:
    day = dt.datetime(2000, 1, 1, 12)
    assert time_literal(FACETS[4], day) == "'2000-01-01T12:00:00'"
    assert float(time_literal(FACETS[3], day)) == pytest.approx(51544.5)
    assert float(time_literal(Facet.time("t", time_format="jd"), day)) == pytest.approx(2451545.0)


def test_cells_select_by_cone_and_index() -> None:
    condition = condition_adql(FACETS[5], TABLE, Cell(4, 17))
    assert "CIRCLE(ivo_healpix_center(4, 17)" in condition
    assert condition.endswith("ivo_healpix_index(4, ra, dec) = 17")


def test_facet_definitions_are_checked() -> None:
    with pytest.raises(ValueError):
        Facet(FacetKind.POSITION, "ra")  # no latitude
    with pytest.raises(ValueError):
        Facet.numeric("x", name="offset")  # a reserved parameter
    with pytest.raises(ValueError):
        Facet.categorical("x", time_format="mjd")


def test_bins_come_from_the_quantiles() -> None:
    stats = Stats(count=117_955, minimum=-1.1, maximum=14.1, quantiles=(2.0, 7.5, 9.2, 12.5))
    bins = choose_bins(stats, most=40, integer=False)
    assert bins is not None
    assert bins.count <= 40
    assert bins.low <= 2.0 and bins.high > 12.5
    assert bins.width in (0.1, 0.2, 0.25, 0.5, 1.0)
    assert bins.edges(-1) == (None, bins.low)
    assert bins.edges(bins.count) == (bins.high, None)


def test_integer_bins_are_whole_numbers() -> None:
    bins = choose_bins(Stats(1000, 1989, 2023, (1990, 2005, 2015, 2023)), most=40, integer=True)
    assert bins is not None
    assert bins.width == int(bins.width) >= 1
    assert bins.high > 2023


def test_one_value_gets_one_bin_and_no_values_none() -> None:
    single = choose_bins(Stats(10, 5.0, 5.0, (5.0, 5.0, 5.0, 5.0)), most=40, integer=False)
    assert single is not None and single.count == 1 and single.low < 5.0 < single.high
    assert choose_bins(Stats(0, None, None, ()), most=40, integer=False) is None


def test_time_bins_are_calendar_units() -> None:
    start = dt.datetime(2000, 11, 17, 5, 6)
    assert choose_time_bins(start, start, most=40).start(start) == dt.datetime(2000, 11, 17, 5)
    assert TimeBins("week").start(start) == dt.datetime(2000, 11, 13)  # a Monday
    assert TimeBins("century").start(start) == dt.datetime(1901, 1, 1)  # as PostgreSQL's date_trunc
    assert TimeBins("year").starts(start, dt.datetime(2002, 1, 1)) == [
        dt.datetime(y, 1, 1) for y in (2000, 2001, 2002, 2003)
    ]
    assert choose_time_bins(start, dt.datetime(2017, 10, 3), most=40).unit == "year"
    assert choose_time_bins(start, start + dt.timedelta(days=20), most=40).unit == "day"
    months = choose_time_bins(start, dt.datetime(2002, 1, 1), most=40)
    assert months.unit == "month"
    assert months.end(dt.datetime(2000, 12, 1)) == dt.datetime(2001, 1, 1)
    assert choose_time_bins(start, dt.datetime(2100, 1, 1), most=40).end(dt.datetime(2000, 1, 1)) == dt.datetime(
        2010, 1, 1
    )


def test_map_order_follows_the_row_count() -> None:
    assert choose_order(100) == 3
    assert choose_order(117_955) == 4
    assert choose_order(1_871_011) == 4


def test_aggregate_sql_has_only_our_numbers() -> None:
    bins = Bins(low=-0.5, width=0.1, count=4)
    assert bins.thresholds() == [-0.5, -0.4, -0.3, -0.2, -0.1]  # as the filters write them, not -0.30000000000000004
    sql = histogram_sql("SELECT 1 AS v", bins)
    assert (
        "width_bucket(s.v::float8, ARRAY[-0.5::float8, -0.4::float8, -0.3::float8, -0.2::float8, -0.1::float8])" in sql
    )
    assert categorical_sql("SELECT 1 AS v", 20).endswith("LIMIT 20")
    assert math.isclose(Bins(0.0, 0.1, 3).edges(1)[1] or 0, 0.2)
