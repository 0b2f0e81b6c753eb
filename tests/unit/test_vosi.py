"""VOSI 1.1 documents: schema validity, content, and what pyvo reads from them."""

from __future__ import annotations

import io
from datetime import UTC, datetime, timedelta, timezone

import pytest
from lxml import etree
from pyvo.io.vosi import parse_availability, parse_capabilities, parse_tables

from tests.schemata import validator
from vostack import vosi
from vostack.schema import Column, ForeignKey, Schema, Table, TableSet

ODD = "<b>Tycho & \"Hipparcos\"</b> 'quoted' ]]> -- Ω ☃ 😀 \t tab"


def _tap_schema() -> Schema:
    def text(name: str, description: str, *, indexed: bool = False) -> Column:
        return Column(name, "char", "*", description=description, std=True, indexed=indexed)

    def flag(name: str, description: str) -> Column:
        return Column(name, "int", description=description, std=True)

    return Schema(
        "TAP_SCHEMA",
        (
            Table(
                "TAP_SCHEMA.schemas",
                "TAP_SCHEMA",
                (
                    text("schema_name", "schema name", indexed=True),
                    text("utype", "utype"),
                    flag("schema_index", "order"),
                ),
                description="description of schemas in this tableset",
                nrows=2,
            ),
            Table(
                "TAP_SCHEMA.tables",
                "TAP_SCHEMA",
                (
                    text("schema_name", "the schema name"),
                    text("table_name", "the table name", indexed=True),
                    text("table_type", "one of: table, view"),
                    flag("table_index", "order"),
                ),
                description="description of tables in this tableset",
            ),
            Table(
                "TAP_SCHEMA.columns",
                "TAP_SCHEMA",
                (
                    text("table_name", "the table this column belongs to"),
                    text("column_name", "the column name"),
                    text("datatype", "the VOTable datatype"),
                    text("arraysize", "the VOTable arraysize"),
                    text("xtype", "the VOTable xtype"),
                    flag("principal", "a principal column; 1 means true"),
                    flag("indexed", "an indexed column; 1 means true"),
                    flag("std", "a standard column; 1 means true"),
                ),
            ),
            Table(
                "TAP_SCHEMA.keys",
                "TAP_SCHEMA",
                (
                    text("key_id", "unique key id"),
                    text("from_table", "the table with the foreign key"),
                    text("target_table", "the table with the primary key"),
                ),
            ),
            Table(
                "TAP_SCHEMA.key_columns",
                "TAP_SCHEMA",
                (
                    text("key_id", "key to join to TAP_SCHEMA.keys"),
                    text("from_column", "column in from_table"),
                ),
            ),
        ),
        description="the TAP_SCHEMA of this service (TAP 1.1 §4)",
    )


def _catalogue() -> Schema:
    main = Table(
        "hipparcos.main",
        "hipparcos",
        (
            Column(
                "hip",
                "int",
                ucd="meta.id;meta.main",
                description="Hipparcos number",
                principal=True,
                indexed=True,
            ),
            Column("ra", "double", unit="deg", ucd="pos.eq.ra;meta.main", description="right ascension"),
            Column("dec", "double", unit="deg", ucd="pos.eq.dec;meta.main", description="declination"),
            Column("pos", "double", "2", xtype="point", unit="deg", ucd="pos.eq", description="position"),
            Column("epoch", "char", "*", xtype="timestamp", description="observation epoch"),
            Column("cov", "float", "5x3", unit="mas2", description="covariance " + ODD),
            Column("name", "unicodeChar", "32*", utype="ivoa:Target.name", description="designation"),
        ),
        description="The Hipparcos New Reduction " + ODD,
        utype="ivo://ivoa.net/std/obscore#table-1.1",
        nrows=117955,
    )
    photometry = Table(
        "hipparcos.photometry",
        "hipparcos",
        (
            Column("hip", "int", description="Hipparcos number", indexed=True),
            Column("hpmag", "double", unit="mag", ucd="phot.mag;em.opt"),
        ),
        table_type="view",
    )
    return Schema("hipparcos", (main, photometry), description="Hipparcos data", utype="hip:schema")


def _keys() -> tuple[ForeignKey, ...]:
    return (
        ForeignKey("hip_phot", "hipparcos.photometry", "hipparcos.main", (("hip", "hip"),), description=ODD),
        ForeignKey("tables_schemas", "TAP_SCHEMA.tables", "TAP_SCHEMA.schemas", (("schema_name", "schema_name"),)),
        ForeignKey("columns_tables", "TAP_SCHEMA.columns", "TAP_SCHEMA.tables", (("table_name", "table_name"),)),
        ForeignKey("keys_from", "TAP_SCHEMA.keys", "TAP_SCHEMA.tables", (("from_table", "table_name"),)),
        ForeignKey("keys_target", "TAP_SCHEMA.keys", "TAP_SCHEMA.tables", (("target_table", "table_name"),)),
        ForeignKey("key_columns_keys", "TAP_SCHEMA.key_columns", "TAP_SCHEMA.keys", (("key_id", "key_id"),)),
    )


@pytest.fixture(scope="module")
def tableset() -> TableSet:
    return TableSet((_catalogue(), _tap_schema()), _keys())


def _children(el: etree._Element, tag: str) -> list[etree._Element]:
    return list(el.iterchildren(tag))


def _find(el: etree._Element, path: str) -> etree._Element:
    found = el.find(path)
    assert found is not None, f"no {path} below {el.tag!r}"
    return found


def _text(el: etree._Element, tag: str) -> str | None:
    child = el.find(tag)
    return None if child is None else child.text


# -- availability ---------------------------------------------------------------------------


def test_availability_document_is_valid() -> None:
    doc = vosi.availability_document(
        available=True, note="all fine & dandy", up_since=datetime(2024, 5, 1, 12, 0, tzinfo=UTC)
    )
    validator("VOSIAvailability.xsd")(doc)


def test_unavailable_document_is_valid_and_says_false() -> None:
    doc = vosi.availability_document(available=False)
    validator("VOSIAvailability.xsd")(doc)
    assert parse_availability(io.BytesIO(doc), pedantic=True).available is False


def test_availability_timestamps_are_written_in_utc() -> None:
    cest = timezone(timedelta(hours=2))
    doc = vosi.availability_document(
        available=False,
        up_since=datetime(2024, 5, 1, 14, 30, 5, tzinfo=cest),
        back_at=datetime(2024, 5, 2, tzinfo=UTC),
    )
    validator("VOSIAvailability.xsd")(doc)
    ns = {"v": vosi.VOSI_AVAILABILITY_NS}
    root = etree.fromstring(doc)
    assert root.findtext("v:upSince", namespaces=ns) == "2024-05-01T12:30:05Z"
    assert root.findtext("v:backAt", namespaces=ns) == "2024-05-02T00:00:00Z"
    availability = parse_availability(io.BytesIO(doc), pedantic=True)
    assert availability.available is False


def test_availability_note_keeps_odd_characters() -> None:
    doc = vosi.availability_document(available=True, note=ODD)
    validator("VOSIAvailability.xsd")(doc)
    note = etree.fromstring(doc).findtext(f"{{{vosi.VOSI_AVAILABILITY_NS}}}note")
    assert note == ODD


def test_naive_availability_timestamp_is_rejected() -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        vosi.availability_document(available=True, up_since=datetime(2024, 5, 1))


# -- capabilities --------------------------------------------------------------------------


def test_vosi_capabilities_document_is_valid() -> None:
    caps = vosi.vosi_capabilities("https://example.org/tap/", examples=True)
    validator("VOSICapabilities.xsd")(vosi.capabilities_document(caps))


def test_vosi_capabilities_point_at_sibling_endpoints_with_full_urls() -> None:
    caps = vosi.vosi_capabilities("https://example.org/tap/", examples=True)
    root = etree.fromstring(vosi.capabilities_document(caps))
    found = {
        cap.get("standardID"): (
            _find(cap, "interface/accessURL").text,
            _find(cap, "interface/accessURL").get("use"),
        )
        for cap in root.iterchildren("capability")
    }
    assert found == {
        vosi.VOSI_CAPABILITIES: ("https://example.org/tap/capabilities", "full"),
        vosi.VOSI_AVAILABILITY: ("https://example.org/tap/availability", "full"),
        vosi.VOSI_TABLES: ("https://example.org/tap/tables", "full"),
        vosi.DALI_EXAMPLES: ("https://example.org/tap/examples", "full"),
    }
    examples = next(c for c in root.iterchildren("capability") if c.get("standardID") == vosi.DALI_EXAMPLES)
    assert _find(examples, "interface").get(f"{{{vosi.XSI_NS}}}type") == "vr:WebBrowser"


def test_vosi_capabilities_without_tables_or_examples() -> None:
    ids = [cap.standard_id for cap in vosi.vosi_capabilities("http://h/ssa", tables=False)]
    assert ids == [vosi.VOSI_CAPABILITIES, vosi.VOSI_AVAILABILITY]


def test_pyvo_reads_vosi_capabilities() -> None:
    caps = vosi.vosi_capabilities("https://example.org/tap")
    parsed = parse_capabilities(io.BytesIO(vosi.capabilities_document(caps)), pedantic=True)
    assert [c.standardid for c in parsed] == [
        vosi.VOSI_CAPABILITIES,
        vosi.VOSI_AVAILABILITY,
        vosi.VOSI_TABLES,
    ]
    assert parsed[2].interfaces[0].accessurls[0].content == "https://example.org/tap/tables"


def test_capabilities_document_binds_the_canonical_prefixes() -> None:
    root = etree.fromstring(vosi.capabilities_document([]))
    assert root.tag == f"{{{vosi.VOSI_CAPABILITIES_NS}}}capabilities"
    for prefix in ("vr", "vs", "tr", "xsi"):
        assert root.nsmap[prefix] == vosi.NAMESPACES[prefix]


def test_interface_with_query_types_and_result_type_is_valid() -> None:
    interface = vosi.Interface(
        "http://h/ssa?",
        role="std",
        version="1.1",
        use="base",
        query_types=("GET", "POST"),
        result_type="application/x-votable+xml",
        security_method="ivo://ivoa.net/sso#BasicAA",
    )
    cap = vosi.Capability(vosi.SSA, (interface,), description="spectra " + ODD)
    doc = vosi.capabilities_document([cap])
    validator("VOSICapabilities.xsd")(doc)
    el = _find(etree.fromstring(doc), "capability")
    assert el.findtext("description") == "spectra " + ODD
    assert [q.text for q in el.iterfind("interface/queryType")] == ["GET", "POST"]
    assert _find(el, "interface/securityMethod").get("standardID") == "ivo://ivoa.net/sso#BasicAA"


def test_capability_extra_elements_are_copied_into_every_document() -> None:
    extra = etree.Element("testQuery")
    cap = vosi.Capability("ivo://example.org/std/X", extra=(extra,))
    first = vosi.capabilities_document([cap])
    second = vosi.capabilities_document([cap])
    assert first == second
    assert b"<testQuery/>" in first
    assert extra.getparent() is None


@pytest.mark.parametrize(
    "kwargs",
    [
        {"xsi_type": "ParamHTTP"},
        {"xsi_type": "foo:ParamHTTP"},
        {"xsi_type": "vr:WebBrowser", "query_types": ("GET",)},
        {"xsi_type": "vr:WebBrowser", "result_type": "text/html"},
        {"query_types": ("GET", "GET")},
        {"query_types": ("PUT",)},
        {"use": "partial"},
    ],
)
def test_invalid_interface_is_rejected_early(kwargs: dict[str, object]) -> None:
    with pytest.raises(ValueError):
        vosi.Interface("http://h/x", **kwargs)  # type: ignore[arg-type]


def test_capability_xsi_type_needs_a_known_prefix() -> None:
    with pytest.raises(ValueError, match="prefix"):
        vosi.Capability(vosi.TAP, xsi_type="tap:TableAccess")


# -- tables --------------------------------------------------------------------------------


def test_tables_document_is_valid(tableset: TableSet) -> None:
    validator("VOSITables.xsd")(vosi.tables_document(tableset))


def test_tables_document_has_every_schema_and_table(tableset: TableSet) -> None:
    root = etree.fromstring(vosi.tables_document(tableset))
    assert root.tag == f"{{{vosi.VOSI_TABLES_NS}}}tableset"
    schemas = _children(root, "schema")
    assert [_text(s, "name") for s in schemas] == ["hipparcos", "TAP_SCHEMA"]
    assert _text(schemas[0], "description") == "Hipparcos data"
    assert _text(schemas[0], "utype") == "hip:schema"
    names = [_text(t, "name") for s in schemas for t in _children(s, "table")]
    assert names == [t.name for t in tableset.tables()]
    main = _children(schemas[0], "table")[0]
    assert main.get("type") == "table"
    assert _text(main, "description") == "The Hipparcos New Reduction " + ODD
    assert _text(main, "utype") == "ivo://ivoa.net/std/obscore#table-1.1"
    assert _text(main, "nrows") == "117955"
    assert _children(schemas[0], "table")[1].get("type") == "view"


def test_tables_document_contains_every_column_with_its_metadata(tableset: TableSet) -> None:
    root = etree.fromstring(vosi.tables_document(tableset))
    xsi_type = f"{{{vosi.XSI_NS}}}type"
    for table_el in root.iterfind("schema/table"):
        table = tableset.table(_text(table_el, "name") or "")
        assert table is not None
        columns = _children(table_el, "column")
        assert [_text(c, "name") for c in columns] == [c.name for c in table.columns]
        for column, el in zip(table.columns, columns, strict=True):
            assert _text(el, "description") == column.description
            assert _text(el, "unit") == column.unit
            assert _text(el, "ucd") == column.ucd
            assert _text(el, "utype") == column.utype
            data_type = _find(el, "dataType")
            assert data_type.get(xsi_type) == "vs:VOTableType"
            assert data_type.text == column.datatype
            assert data_type.get("arraysize") == column.arraysize
            assert data_type.get("extendedType") == column.xtype
            assert [f.text for f in el.iterfind("flag")] == (["indexed"] if column.indexed else [])
            assert el.get("std") == ("true" if column.std else None)


def test_tables_document_lists_the_foreign_keys_of_each_table(tableset: TableSet) -> None:
    root = etree.fromstring(vosi.tables_document(tableset))
    for table_el in root.iterfind("schema/table"):
        name = _text(table_el, "name") or ""
        keys = [
            (
                _text(k, "targetTable"),
                [(_text(p, "fromColumn"), _text(p, "targetColumn")) for p in k.iterfind("fkColumn")],
                _text(k, "description"),
            )
            for k in table_el.iterfind("foreignKey")
        ]
        expected = [(k.target_table, list(k.columns), k.description) for k in tableset.keys_from(name)]
        assert keys == expected
    keys_table = _find(root, "schema/table[name='TAP_SCHEMA.keys']")
    assert len(keys_table.findall("foreignKey")) == 2


def test_detail_min_lists_tables_without_columns_or_keys(tableset: TableSet) -> None:
    doc = vosi.tables_document(tableset, detail="min")
    validator("VOSITables.xsd")(doc)
    root = etree.fromstring(doc)
    tables = root.findall("schema/table")
    assert [_text(t, "name") for t in tables] == [t.name for t in tableset.tables()]
    assert root.findall(".//column") == []
    assert root.findall(".//foreignKey") == []
    assert _text(tables[0], "description") == "The Hipparcos New Reduction " + ODD


def test_unknown_detail_is_rejected(tableset: TableSet) -> None:
    with pytest.raises(ValueError, match="detail"):
        vosi.tables_document(tableset, detail="medium")  # type: ignore[arg-type]


def test_table_document_is_a_valid_vosi_table_with_keys(tableset: TableSet) -> None:
    table = tableset.table("TAP_SCHEMA.keys")
    assert table is not None
    doc = vosi.table_document(table, tableset.keys_from(table.name))
    validator("VOSITables.xsd")(doc)
    root = etree.fromstring(doc)
    assert root.tag == f"{{{vosi.VOSI_TABLES_NS}}}table"
    assert _text(root, "name") == "TAP_SCHEMA.keys"
    assert [_text(c, "name") for c in root.iterfind("column")] == ["key_id", "from_table", "target_table"]
    assert [_text(k, "targetTable") for k in root.iterfind("foreignKey")] == ["TAP_SCHEMA.tables"] * 2


def test_pyvo_reads_the_tableset(tableset: TableSet) -> None:
    parsed = parse_tables(io.BytesIO(vosi.tables_document(tableset)), pedantic=True)
    tables = {t.name: t for t in parsed.iter_tables()}
    assert list(tables) == [t.name for t in tableset.tables()]
    main = tables["hipparcos.main"]
    assert main.description == "The Hipparcos New Reduction " + ODD
    assert main.nrows == 117955
    pos = next(c for c in main.columns if c.name == "pos")
    # pyvo 1.9's DataType.extendedtype getter returns nothing; the XML tests above check extendedType.
    assert (pos.datatype.content, pos.datatype.arraysize) == ("double", "2")
    assert pos.unit == "deg"
    hip = next(c for c in main.columns if c.name == "hip")
    assert hip.flags == ["indexed"]
    phot = tables["hipparcos.photometry"]
    assert phot.foreignkeys[0].targettable == "hipparcos.main"
    assert phot.foreignkeys[0].fkcolumns[0].fromcolumn == "hip"


def test_pyvo_reads_a_single_table(tableset: TableSet) -> None:
    table = tableset.table("hipparcos.photometry")
    assert table is not None
    parsed = parse_tables(io.BytesIO(vosi.table_document(table, tableset.keys_from(table.name))), pedantic=True)
    assert parsed.table.name == "hipparcos.photometry"
    assert [c.name for c in parsed.table.columns] == ["hip", "hpmag"]


def test_characters_xml_cannot_carry_are_replaced_not_fatal() -> None:
    table = Table(
        "s.t",
        "s",
        (Column("c", "char", "*", description="bell\x07 nul\x00 esc\x1b surrogate\ud800 end"),),
        description="form feed\x0c",
    )
    tableset = TableSet((Schema("s", (table,)),))
    doc = vosi.tables_document(tableset)
    validator("VOSITables.xsd")(doc)
    root = etree.fromstring(doc)
    assert root.findtext("schema/table/column/description") == "bell\ufffd nul\ufffd esc\ufffd surrogate\ufffd end"
    assert root.findtext("schema/table/description") == "form feed\ufffd"


def test_tap_1_0_datatypes_are_declared_as_tap_types() -> None:
    table = Table(
        "s.t",
        "s",
        (
            Column("a", "adql:VARCHAR", "64"),
            Column("b", "DOUBLE"),
            Column("c", "adql:REGION", xtype="adql:REGION"),
            Column("d", "spoint"),
        ),
    )
    doc = vosi.table_document(table, ())
    validator("VOSITables.xsd")(doc)
    root = etree.fromstring(doc)
    types = {
        c.findtext("name"): (None if (t := c.find("dataType")) is None else (t.text, t.get("size")))
        for c in root.iterfind("column")
    }
    assert types == {"a": ("VARCHAR", "64"), "b": ("DOUBLE", None), "c": ("REGION", None), "d": None}


def test_schema_validation_catches_misordered_and_foreign_documents(tableset: TableSet) -> None:
    root = etree.fromstring(vosi.tables_document(tableset))
    table = _find(root, "schema/table")
    nrows = _find(table, "nrows")
    table.remove(nrows)
    table.append(nrows)
    with pytest.raises(AssertionError, match="nrows"):
        validator("VOSITables.xsd")(etree.tostring(root))
    with pytest.raises(AssertionError, match="root element"):
        validator("VOSITables.xsd")(vosi.availability_document(available=True))


def test_each_interface_is_listed_once_per_security_method_and_the_vosi_ones_stay_open() -> None:
    caps = [vosi.Capability(vosi.TAP, (vosi.Interface("http://h/tap", use="base", version="1.1"),))]
    caps += vosi.vosi_capabilities("http://h/tap")
    methods = ("ivo://ivoa.net/sso#token", "ivo://ivoa.net/sso#BasicAA")  # authentication required
    doc = vosi.capabilities_document(caps, security_methods=methods)
    validator("VOSICapabilities.xsd")(doc)
    root = etree.fromstring(doc)
    found = {
        el.get("standardID"): [
            None if (sm := i.find("securityMethod")) is None else sm.get("standardID") for i in el.iterfind("interface")
        ]
        for el in root.iterfind("capability")
    }
    assert found[vosi.TAP] == list(methods)
    assert found[vosi.VOSI_TABLES] == list(methods)
    assert found[vosi.VOSI_CAPABILITIES] == [None, *methods]  # anonymous: VOSI 1.1 §2
    assert found[vosi.VOSI_AVAILABILITY] == [None, *methods]
    assert vosi.capabilities_document(caps) == vosi.capabilities_document(caps, security_methods=())
    optional = vosi.with_security(caps, (None, *methods))  # anonymous allowed: an interface without a method
    assert [i.security_method for i in optional[0].interfaces] == [None, *methods]
