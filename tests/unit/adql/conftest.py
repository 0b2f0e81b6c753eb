"""A small published TableSet for the ADQL tests: Hipparcos, a Gaia-like table and TAP_SCHEMA."""

from __future__ import annotations

import pytest

from vostack.schema import Column, Schema, Table, TableSet

from .validator import Validator


def _col(
    name: str,
    datatype: str,
    db_type: str,
    index: int,
    *,
    arraysize: str | None = None,
    unit: str | None = None,
    ucd: str | None = None,
    description: str | None = None,
) -> Column:
    return Column(
        name=name,
        datatype=datatype,
        arraysize=arraysize,
        unit=unit,
        ucd=ucd,
        description=description,
        column_index=index,
        db_type=db_type,
    )


def make_tableset() -> TableSet:
    """hipparcos.main, gaia.dr3lite, tap_schema.tables/columns and a table with awkward names."""
    main = Table(
        name="hipparcos.main",
        schema_name="hipparcos",
        columns=(
            _col("hip", "int", "integer", 1, ucd="meta.id;meta.main", description="Hipparcos number"),
            _col("ra", "double", "double precision", 2, unit="deg", ucd="pos.eq.ra;meta.main"),
            _col("dec", "double", "double precision", 3, unit="deg", ucd="pos.eq.dec;meta.main"),
            _col("hpmag", "float", "real", 4, unit="mag", ucd="phot.mag"),
            _col("bv", "float", "real", 5, unit="mag", ucd="phot.color"),
            _col("name", "char", "text", 6, arraysize="*", ucd="meta.id"),
            _col("plx", "double", "double precision", 7, unit="mas"),
        ),
        description="The Hipparcos main catalogue",
    )
    gaia = Table(
        name="gaia.dr3lite",
        schema_name="gaia",
        columns=(
            _col("source_id", "long", "bigint", 1, ucd="meta.id;meta.main"),
            _col("hip", "int", "integer", 2),
            _col("ra", "double", "double precision", 3, unit="deg"),
            _col("dec", "double", "double precision", 4, unit="deg"),
            _col("phot_g_mean_mag", "float", "real", 5, unit="mag"),
            _col("n_obs", "short", "smallint", 6),
        ),
    )
    tables = Table(
        name="tap_schema.tables",
        schema_name="tap_schema",
        columns=(
            _col("schema_name", "char", "text", 1, arraysize="*"),
            _col("table_name", "char", "text", 2, arraysize="*"),
            _col("table_type", "char", "text", 3, arraysize="*"),
            _col("description", "char", "text", 4, arraysize="*"),
        ),
    )
    columns = Table(
        name="tap_schema.columns",
        schema_name="tap_schema",
        columns=(
            _col("table_name", "char", "text", 1, arraysize="*"),
            _col("column_name", "char", "text", 2, arraysize="*"),
            _col("datatype", "char", "text", 3, arraysize="*"),
            _col("size", "int", "integer", 4),
        ),
    )
    odd = Table(
        name="odd.Mixed",
        schema_name="odd",
        columns=(
            _col("Id", "int", "integer", 1),
            _col("select", "char", "text", 2, arraysize="*"),
            _col("UPPER", "double", "double precision", 3),
            _col('quo"te', "int", "integer", 4),
        ),
    )
    return TableSet(
        schemas=(
            Schema(name="hipparcos", tables=(main,)),
            Schema(name="gaia", tables=(gaia,)),
            Schema(name="tap_schema", tables=(tables, columns)),
            Schema(name="odd", tables=(odd,)),
        )
    )


@pytest.fixture(scope="session")
def tableset() -> TableSet:
    return make_tableset()


@pytest.fixture(scope="session")
def validator(tableset: TableSet) -> Validator:
    return Validator(tableset)
