"""Result metadata: one VOTable FIELD per output column (vostack.adql.fields)."""

from __future__ import annotations

import pytest

from vostack.adql import translate
from vostack.adql.fields import unique_names
from vostack.schema import Column, Field, Schema, Table, TableSet


def fields(tableset: TableSet, adql: str) -> tuple[Field, ...]:
    return translate(adql, tableset).fields


def test_bare_column_keeps_its_published_metadata(tableset: TableSet) -> None:
    (ra,) = fields(tableset, "SELECT ra FROM hipparcos.main")
    assert ra == Field(name="ra", datatype="double", unit="deg", ucd="pos.eq.ra;meta.main")


def test_aliased_column_is_renamed_and_keeps_its_metadata(tableset: TableSet) -> None:
    (hip,) = fields(tableset, "SELECT hip AS HipNumber FROM hipparcos.main")
    assert hip == Field(name="HipNumber", datatype="int", ucd="meta.id;meta.main", description="Hipparcos number")


def test_column_written_in_another_case_has_the_published_name(tableset: TableSet) -> None:
    assert [f.name for f in fields(tableset, "SELECT HIP, Ra FROM hipparcos.main")] == ["hip", "ra"]


def test_star_expands_to_published_columns_in_column_index_order() -> None:
    table = Table(
        name="s.t",
        schema_name="s",
        columns=(
            Column(name="c", datatype="int", column_index=3),
            Column(name="a", datatype="int", column_index=1),
            Column(name="b", datatype="int", column_index=2),
        ),
    )
    tableset = TableSet(schemas=(Schema(name="s", tables=(table,)),))
    assert [f.name for f in fields(tableset, "SELECT * FROM s.t")] == ["a", "b", "c"]


@pytest.mark.parametrize(
    ("expression", "expected"),
    [
        ("COUNT(*)", Field(name="count", datatype="long")),
        ("COUNT(DISTINCT name)", Field(name="count", datatype="long")),
        ("AVG(hpmag)", Field(name="avg", datatype="double", unit="mag")),
        ("AVG(hip)", Field(name="avg", datatype="double")),
        ("SUM(hip)", Field(name="sum", datatype="long")),
        ("SUM(ra)", Field(name="sum", datatype="double", unit="deg")),
        ("MIN(hpmag)", Field(name="min", datatype="float", unit="mag")),
        ("MAX(name)", Field(name="max", datatype="char", arraysize="*")),
        ("ABS(dec)", Field(name="abs", datatype="double", unit="deg")),
        ("ROUND(ra, 2)", Field(name="round", datatype="double", unit="deg")),
        ("TRUNCATE(ra)", Field(name="truncate", datatype="double", unit="deg")),
        ("CEILING(hip)", Field(name="ceiling", datatype="double")),
        ("LOG(ra)", Field(name="log", datatype="double")),
        ("LOG10(ra)", Field(name="log10", datatype="double")),
        ("MOD(hip, 7)", Field(name="mod", datatype="int")),
        ("MOD(ra, 7)", Field(name="mod", datatype="double")),
        ("hip / 2", Field(name="expr", datatype="int")),
        ("hpmag * 2", Field(name="expr", datatype="double")),
        ("hpmag * hpmag", Field(name="expr", datatype="float")),
        ("'Star/' || name", Field(name="expr", datatype="char", arraysize="*")),
        ("LOWER(name)", Field(name="lower", datatype="char", arraysize="*")),
        ("42", Field(name="expr", datatype="int")),
        ("3000000000", Field(name="expr", datatype="long")),
        ("3.14", Field(name="expr", datatype="double")),
        ("'text'", Field(name="expr", datatype="char", arraysize="*")),
        ("TRUE", Field(name="expr", datatype="boolean")),
        ("CAST(ra AS INTEGER)", Field(name="ra", datatype="int")),
        ("CAST(hip AS CHAR(5))", Field(name="hip", datatype="char", arraysize="5")),
        ("CAST(hip AS VARCHAR(20))", Field(name="hip", datatype="char", arraysize="20*")),
        (
            "CAST('2020-01-01' AS TIMESTAMP)",
            Field(name="expr", datatype="char", arraysize="*", xtype="timestamp"),
        ),
        ("(SELECT MAX(source_id) FROM gaia.dr3lite)", Field(name="expr", datatype="long")),
    ],
)
def test_expression_gets_its_type_and_a_name(tableset: TableSet, expression: str, expected: Field) -> None:
    assert fields(tableset, f"SELECT {expression} FROM hipparcos.main") == (expected,)


def test_alias_names_an_expression(tableset: TableSet) -> None:
    (field,) = fields(tableset, "SELECT COUNT(*) AS n FROM hipparcos.main")
    assert field == Field(name="n", datatype="long")


def test_duplicate_names_get_numbered_suffixes(tableset: TableSet) -> None:
    names = [f.name for f in fields(tableset, "SELECT ra, ra, RA, COUNT(*), MAX(ra), 1, 2 FROM hipparcos.main")]
    assert names == ["ra", "ra_2", "ra_3", "count", "max", "expr", "expr_2"]


def test_join_columns_with_the_same_name_are_made_unique(tableset: TableSet) -> None:
    names = [
        f.name for f in fields(tableset, "SELECT * FROM hipparcos.main AS m JOIN gaia.dr3lite AS g ON m.hip = g.hip")
    ]
    assert names[7:] == ["source_id", "hip_2", "ra_2", "dec_2", "phot_g_mean_mag", "n_obs"]


def test_using_column_appears_once(tableset: TableSet) -> None:
    names = [f.name for f in fields(tableset, "SELECT * FROM hipparcos.main JOIN gaia.dr3lite USING (hip)")]
    assert names.count("hip") == 1 and names[0] == "hip"


def test_subquery_column_keeps_the_metadata_of_what_it_selects(tableset: TableSet) -> None:
    (p,) = fields(tableset, "SELECT q.p FROM (SELECT ra AS p FROM hipparcos.main) AS q")
    assert p == Field(name="p", datatype="double", unit="deg", ucd="pos.eq.ra;meta.main")


def test_common_table_expression_column_list_renames(tableset: TableSet) -> None:
    (h,) = fields(tableset, "WITH b(h) AS (SELECT hip FROM hipparcos.main) SELECT h FROM b")
    assert (h.name, h.datatype, h.ucd) == ("h", "int", "meta.id;meta.main")


def test_union_takes_metadata_from_its_first_query_and_widens_the_type(tableset: TableSet) -> None:
    (hip,) = fields(tableset, "SELECT hip FROM hipparcos.main UNION SELECT source_id FROM gaia.dr3lite")
    assert (hip.name, hip.datatype, hip.ucd) == ("hip", "long", "meta.id;meta.main")


def test_unique_names_ignores_case_and_skips_taken_suffixes() -> None:
    named = unique_names([Field("a", "int"), Field("A", "int"), Field("a_2", "int"), Field("a", "int")])
    assert [f.name for f in named] == ["a", "A_2", "a_2_2", "a_3"]
