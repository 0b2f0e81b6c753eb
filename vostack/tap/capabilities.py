"""The TAP capability of a service, as TAPRegExt 1.0 describes it (``tr:TableAccess``).

:func:`tap_capability` returns a :class:`vostack.vosi.Capability` whose extra
elements say which languages (ADQL 2.0 and 2.1 with their optional features),
output formats, upload methods and limits the service has.  Together with
:func:`vostack.vosi.vosi_capabilities` it makes the content of a TAP service's
``/capabilities`` (TAP 1.1 §2.4).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

from lxml import etree

from vostack.dali import OutputFormat
from vostack.vosi import TAP, Capability, Interface

__all__ = [
    "ADQL_V2_0",
    "ADQL_V2_1",
    "FEATURES_ADQLGEO",
    "FEATURES_ADQL_BITWISE",
    "FEATURES_ADQL_COMMON_TABLE",
    "FEATURES_ADQL_CONDITIONAL",
    "FEATURES_ADQL_OFFSET",
    "FEATURES_ADQL_SETS",
    "FEATURES_ADQL_STRING",
    "FEATURES_ADQL_TYPE",
    "FEATURES_ADQL_UNIT",
    "FEATURES_UDF",
    "OUTPUT_VOTABLE_BINARY",
    "OUTPUT_VOTABLE_BINARY2",
    "OUTPUT_VOTABLE_TD",
    "TAPREGEXT",
    "UPLOAD_FTP",
    "UPLOAD_HTTP",
    "UPLOAD_HTTPS",
    "UPLOAD_INLINE",
    "DataModel",
    "LanguageFeature",
    "OutputFormat",
    "tap_capability",
]

TAPREGEXT = "ivo://ivoa.net/std/TAPRegExt"

# Language versions (the ADQL standard record's keys).
ADQL_V2_0 = "ivo://ivoa.net/std/ADQL#v2.0"
ADQL_V2_1 = "ivo://ivoa.net/std/ADQL#v2.1"

# Feature types: TAPRegExt 1.0 §2.3 (udf, adqlgeo) and ADQL 2.1 §4 (the rest).
FEATURES_UDF = f"{TAPREGEXT}#features-udf"
FEATURES_ADQLGEO = f"{TAPREGEXT}#features-adqlgeo"
FEATURES_ADQL_STRING = f"{TAPREGEXT}#features-adql-string"
FEATURES_ADQL_SETS = f"{TAPREGEXT}#features-adql-sets"
FEATURES_ADQL_COMMON_TABLE = f"{TAPREGEXT}#features-adql-common-table"
FEATURES_ADQL_TYPE = f"{TAPREGEXT}#features-adql-type"
FEATURES_ADQL_UNIT = f"{TAPREGEXT}#features-adql-unit"
FEATURES_ADQL_BITWISE = f"{TAPREGEXT}#features-adql-bitwise"
FEATURES_ADQL_OFFSET = f"{TAPREGEXT}#features-adql-offset"
FEATURES_ADQL_CONDITIONAL = f"{TAPREGEXT}#features-adql-conditional"

# Output formats (TAPRegExt 1.0 §2.4; binary2 was added to the record for VOTable 1.3).
OUTPUT_VOTABLE_TD = f"{TAPREGEXT}#output-votable-td"
OUTPUT_VOTABLE_BINARY = f"{TAPREGEXT}#output-votable-binary"
OUTPUT_VOTABLE_BINARY2 = f"{TAPREGEXT}#output-votable-binary2"

# Upload methods (TAPRegExt 1.0 §2.5).
UPLOAD_INLINE = f"{TAPREGEXT}#upload-inline"
UPLOAD_HTTP = f"{TAPREGEXT}#upload-http"
UPLOAD_HTTPS = f"{TAPREGEXT}#upload-https"
UPLOAD_FTP = f"{TAPREGEXT}#upload-ftp"


@dataclass(frozen=True, slots=True)
class LanguageFeature:
    """A ``tr:LanguageFeature`` of ADQL (TAPRegExt 1.0 §2.3).

    ``type_ivoid`` is the feature type (``FEATURES_ADQLGEO``, ``FEATURES_UDF``, ...);
    ``form`` is its formal notation (``"POINT"``, or a UDF signature).
    """

    type_ivoid: str
    form: str
    description: str | None = None


@dataclass(frozen=True, slots=True)
class DataModel:
    """A ``tr:dataModel``: an IVOA data model the service's tables implement (TAPRegExt 1.0 §2.2)."""

    ivo_id: str
    name: str


def _time_limits(tag: str, limits: tuple[int, int]) -> etree._Element:
    default, hard = limits
    if not 0 <= default <= hard:
        raise ValueError(f"{tag}: need 0 <= default <= hard seconds, got {limits!r}")
    el = etree.Element(tag)
    etree.SubElement(el, "default").text = str(default)
    etree.SubElement(el, "hard").text = str(hard)
    return el


def _data_limits(tag: str, unit: Literal["row", "byte"], *, default: int | None, hard: int) -> etree._Element:
    if hard < 0 or (default is not None and not 0 <= default <= hard):
        raise ValueError(f"{tag}: need 0 <= default <= hard, got default={default!r}, hard={hard!r}")
    el = etree.Element(tag)
    if default is not None:
        etree.SubElement(el, "default", unit=unit).text = str(default)
    etree.SubElement(el, "hard", unit=unit).text = str(hard)
    return el


def _language(features: Sequence[LanguageFeature]) -> etree._Element:
    el = etree.Element("language")
    etree.SubElement(el, "name").text = "ADQL"
    etree.SubElement(el, "version", {"ivo-id": ADQL_V2_0}).text = "2.0"
    etree.SubElement(el, "version", {"ivo-id": ADQL_V2_1}).text = "2.1"
    etree.SubElement(el, "description").text = "The Astronomical Data Query Language"
    by_type: dict[str, list[LanguageFeature]] = {}
    for feature in features:
        by_type.setdefault(feature.type_ivoid, []).append(feature)
    for type_ivoid, group in by_type.items():
        feature_list = etree.SubElement(el, "languageFeatures", type=type_ivoid)
        for feature in group:
            item = etree.SubElement(feature_list, "feature")
            etree.SubElement(item, "form").text = feature.form
            if feature.description:
                etree.SubElement(item, "description").text = feature.description
    return el


def _output_format(fmt: OutputFormat) -> etree._Element:
    el = etree.Element("outputFormat")
    if fmt.ivo_id is not None:
        el.set("ivo-id", fmt.ivo_id)
    etree.SubElement(el, "mime").text = fmt.mime
    for alias in fmt.aliases:
        etree.SubElement(el, "alias").text = alias
    return el


def tap_capability(
    *,
    base_url: str,
    output_formats: Sequence[OutputFormat],
    features: Sequence[LanguageFeature] = (),
    maxrec: int,
    hardlimit: int,
    execution_duration: tuple[int, int] | None = None,
    retention_period: tuple[int, int] | None = None,
    upload_methods: Sequence[str] = (),
    upload_limit: int | None = None,
    data_models: Sequence[DataModel] = (),
) -> Capability:
    """The ``tr:TableAccess`` capability of a TAP 1.1 service (TAPRegExt 1.0 §2, TAP 1.1 §2.4).

    Parameters
    ----------
    base_url
        The service's base URL; it becomes the one ``vs:ParamHTTP`` interface with
        ``role="std"``, ``version="1.1"`` and ``accessURL use="base"`` (TAP 1.1 §2.4).
    output_formats
        At least one; VOTable must be among them (TAP 1.1 §2.7.3).
    features
        Optional ADQL features, grouped by type into ``languageFeatures`` in first-seen order.
    maxrec, hardlimit
        ``outputLimit`` default and hard, in rows (the DALI 1.1 MAXREC default and ceiling).
    execution_duration, retention_period
        ``(default, hard)`` in seconds: run time and job lifetime limits (TAPRegExt 1.0 §2.6, UWS 1.1).
    upload_methods
        ``UPLOAD_*`` identifiers; none means uploads are not supported.
    upload_limit
        The largest upload accepted, in bytes (``uploadLimit/hard``).
    data_models
        Data models the tables implement (``dataModel``).
    """
    if not output_formats:
        raise ValueError("a TAP capability needs at least one output format")
    extra: list[etree._Element] = []
    for model in data_models:
        data_model = etree.Element("dataModel", {"ivo-id": model.ivo_id})
        data_model.text = model.name
        extra.append(data_model)
    extra.append(_language(features))
    extra.extend(_output_format(fmt) for fmt in output_formats)
    for method in upload_methods:
        extra.append(etree.Element("uploadMethod", {"ivo-id": method}))
    if retention_period is not None:
        extra.append(_time_limits("retentionPeriod", retention_period))
    if execution_duration is not None:
        extra.append(_time_limits("executionDuration", execution_duration))
    extra.append(_data_limits("outputLimit", "row", default=maxrec, hard=hardlimit))
    if upload_limit is not None:
        extra.append(_data_limits("uploadLimit", "byte", default=None, hard=upload_limit))
    interface = Interface(base_url.rstrip("/"), role="std", version="1.1", use="base")
    return Capability(TAP, (interface,), xsi_type="tr:TableAccess", extra=tuple(extra))
