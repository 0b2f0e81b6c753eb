"""The TAPRegExt capability: schema validity, content, and what pyvo reads from it."""

from __future__ import annotations

import io

import pytest
from lxml import etree
from pyvo.dal import TAPService
from pyvo.io.vosi import parse_capabilities
from pyvo.io.vosi.tapregext import TableAccess

from tests.schemata import validator
from vostack import vosi
from vostack.tap import capabilities as tc

BASE = "https://example.org/tap"

FORMATS = (
    tc.OutputFormat(
        "application/x-votable+xml;serialization=BINARY2",
        ("votable", "votable/b2"),
        tc.OUTPUT_VOTABLE_BINARY2,
    ),
    tc.OutputFormat("application/x-votable+xml;serialization=TABLEDATA", ("votable/td",), tc.OUTPUT_VOTABLE_TD),
    tc.OutputFormat("text/csv;header=present", ("csv",)),
)

FEATURES = (
    tc.LanguageFeature(tc.FEATURES_ADQLGEO, "POINT"),
    tc.LanguageFeature(tc.FEATURES_ADQLGEO, "CIRCLE"),
    tc.LanguageFeature(tc.FEATURES_ADQL_OFFSET, "OFFSET"),
    tc.LanguageFeature(
        tc.FEATURES_UDF,
        "ivo_hasword(haystack TEXT, needle TEXT) -> INTEGER",
        "1 if needle is a word in haystack <case-insensitive> & 0 otherwise",
    ),
    tc.LanguageFeature(tc.FEATURES_ADQLGEO, "CONTAINS"),
)


def _full() -> vosi.Capability:
    return tc.tap_capability(
        base_url=BASE + "/",
        output_formats=FORMATS,
        features=FEATURES,
        maxrec=20_000,
        hardlimit=1_000_000,
        execution_duration=(600, 3600),
        retention_period=(172_800, 604_800),
        upload_methods=(tc.UPLOAD_INLINE, tc.UPLOAD_HTTP, tc.UPLOAD_HTTPS),
        upload_limit=100_000_000,
        data_models=(tc.DataModel("ivo://ivoa.net/std/ObsCore#core-1.1", "ObsCore-1.1"),),
    )


def _document() -> bytes:
    return vosi.capabilities_document([_full(), *vosi.vosi_capabilities(BASE, examples=True)])


def _find(el: etree._Element, path: str) -> etree._Element:
    found = el.find(path)
    assert found is not None, f"no {path} below {el.tag!r}"
    return found


def _tap_element() -> etree._Element:
    root = etree.fromstring(_document())
    (cap,) = [c for c in root.iterchildren("capability") if c.get("standardID") == vosi.TAP]
    return cap


def test_tap_capabilities_document_is_valid() -> None:
    validator("VOSICapabilities.xsd")(_document())


def test_minimal_tap_capability_is_valid() -> None:
    cap = tc.tap_capability(base_url=BASE, output_formats=FORMATS[:1], maxrec=0, hardlimit=0)
    validator("VOSICapabilities.xsd")(vosi.capabilities_document([cap]))


def test_tap_capability_is_table_access_with_one_tap_1_1_base_interface() -> None:
    cap = _tap_element()
    assert cap.get(f"{{{vosi.XSI_NS}}}type") == "tr:TableAccess"
    (interface,) = cap.findall("interface")
    assert interface.get(f"{{{vosi.XSI_NS}}}type") == "vs:ParamHTTP"
    assert (interface.get("role"), interface.get("version")) == ("std", "1.1")
    url = _find(interface, "accessURL")
    assert (url.text, url.get("use")) == (BASE, "base")


def test_adql_2_0_and_2_1_are_offered() -> None:
    (language,) = _tap_element().findall("language")
    assert language.findtext("name") == "ADQL"
    versions = [(v.text, v.get("ivo-id")) for v in language.iterfind("version")]
    assert versions == [("2.0", tc.ADQL_V2_0), ("2.1", tc.ADQL_V2_1)]


def test_language_features_are_grouped_by_type_in_first_seen_order() -> None:
    (language,) = _tap_element().findall("language")
    groups = [
        (group.get("type"), [f.findtext("form") for f in group.iterfind("feature")])
        for group in language.iterfind("languageFeatures")
    ]
    assert groups == [
        (tc.FEATURES_ADQLGEO, ["POINT", "CIRCLE", "CONTAINS"]),
        (tc.FEATURES_ADQL_OFFSET, ["OFFSET"]),
        (tc.FEATURES_UDF, ["ivo_hasword(haystack TEXT, needle TEXT) -> INTEGER"]),
    ]
    udf = _find(language, f"languageFeatures[@type='{tc.FEATURES_UDF}']/feature")
    assert udf.findtext("description") == "1 if needle is a word in haystack <case-insensitive> & 0 otherwise"


def test_output_formats_carry_mime_aliases_and_ivo_id() -> None:
    formats = [
        (f.findtext("mime"), tuple(a.text for a in f.iterfind("alias")), f.get("ivo-id"))
        for f in _tap_element().iterfind("outputFormat")
    ]
    assert formats == [(f.mime, f.aliases, f.ivo_id) for f in FORMATS]


def test_limits_are_declared_with_their_units() -> None:
    cap = _tap_element()
    assert [(e.tag, e.text, e.get("unit")) for e in _find(cap, "outputLimit")] == [
        ("default", "20000", "row"),
        ("hard", "1000000", "row"),
    ]
    assert [(e.tag, e.text) for e in _find(cap, "executionDuration")] == [
        ("default", "600"),
        ("hard", "3600"),
    ]
    assert [(e.tag, e.text) for e in _find(cap, "retentionPeriod")] == [
        ("default", "172800"),
        ("hard", "604800"),
    ]
    assert [(e.tag, e.text, e.get("unit")) for e in _find(cap, "uploadLimit")] == [("hard", "100000000", "byte")]
    assert [m.get("ivo-id") for m in cap.iterfind("uploadMethod")] == [
        tc.UPLOAD_INLINE,
        tc.UPLOAD_HTTP,
        tc.UPLOAD_HTTPS,
    ]
    assert [(d.text, d.get("ivo-id")) for d in cap.iterfind("dataModel")] == [
        ("ObsCore-1.1", "ivo://ivoa.net/std/ObsCore#core-1.1")
    ]


def test_optional_parts_are_left_out_when_not_given() -> None:
    cap = tc.tap_capability(base_url=BASE, output_formats=FORMATS, maxrec=10, hardlimit=100)
    el = _find(etree.fromstring(vosi.capabilities_document([cap])), "capability")
    children = [child.tag for child in el]
    assert children == [
        "interface",
        "language",
        "outputFormat",
        "outputFormat",
        "outputFormat",
        "outputLimit",
    ]
    assert el.find("language/languageFeatures") is None


def test_pyvo_sees_languages_formats_and_limits() -> None:
    parsed = parse_capabilities(io.BytesIO(_document()), pedantic=True)
    (tap,) = [c for c in parsed if isinstance(c, TableAccess)]
    assert tap.standardid == vosi.TAP
    adql = tap.get_adql()
    assert [v.content for v in adql.versions] == ["2.0", "2.1"]
    assert [v.ivo_id for v in adql.versions] == [tc.ADQL_V2_0, tc.ADQL_V2_1]
    assert [f.form for f in adql.get_feature_list(tc.FEATURES_ADQLGEO)] == ["POINT", "CIRCLE", "CONTAINS"]
    assert adql.get_feature(tc.FEATURES_ADQL_OFFSET, "OFFSET") is not None
    assert [f.mime for f in tap.outputformats] == [f.mime for f in FORMATS]
    assert tap.outputformats[0].aliases == ["votable", "votable/b2"]
    assert tap.outputformats[0].ivo_id == tc.OUTPUT_VOTABLE_BINARY2
    assert (tap.executionduration.default, tap.executionduration.hard) == (600, 3600)
    assert (tap.retentionperiod.default, tap.retentionperiod.hard) == (172_800, 604_800)
    assert (tap.uploadlimit.hard.content, tap.uploadlimit.hard.unit) == (100_000_000, "byte")
    assert [m.ivo_id for m in tap.uploadmethods] == [tc.UPLOAD_INLINE, tc.UPLOAD_HTTP, tc.UPLOAD_HTTPS]


def test_pyvo_tap_service_reads_maxrec_and_hardlimit() -> None:
    service = TAPService(BASE)
    service.capabilities = parse_capabilities(io.BytesIO(_document()), pedantic=True)
    assert service.maxrec == 20_000
    assert service.hardlimit == 1_000_000
    assert [m.ivo_id for m in service.upload_methods] == [tc.UPLOAD_INLINE, tc.UPLOAD_HTTP, tc.UPLOAD_HTTPS]


def test_capability_renders_the_same_twice() -> None:
    cap = _full()
    assert vosi.capabilities_document([cap]) == vosi.capabilities_document([cap])


@pytest.mark.parametrize(
    "kwargs",
    [
        {"output_formats": ()},
        {"maxrec": 11, "hardlimit": 10},
        {"maxrec": -1},
        {"execution_duration": (3600, 60)},
        {"retention_period": (-1, 60)},
        {"upload_limit": -5},
    ],
)
def test_inconsistent_settings_are_rejected(kwargs: dict[str, object]) -> None:
    settings: dict[str, object] = {
        "base_url": BASE,
        "output_formats": FORMATS,
        "maxrec": 10,
        "hardlimit": 100,
    }
    with pytest.raises(ValueError):
        tc.tap_capability(**{**settings, **kwargs})  # type: ignore[arg-type]
