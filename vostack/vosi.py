"""VOSI documents: availability, capabilities and tables, built with lxml.

Pure functions from values to ``bytes`` (UTF-8 XML with a declaration);
the HTTP wiring lives in the services.  The documents follow VOSI 1.1
(REC-VOSI-1.1): ``vosi:capabilities`` (§3.1), ``vosi:availability`` (§3.2),
``vosi:tableset`` and ``vosi:table`` (§3.3), with the capability and table
content typed by VOResource 1.1 and VODataService 1.1 (``vr:``, ``vs:``).
Capability extensions such as TAPRegExt's ``tr:TableAccess`` are made by
giving a :class:`Capability` an ``xsi_type`` and ``extra`` elements.
"""

from __future__ import annotations

import copy
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import Literal

from lxml import etree

from vostack.schema import Column, ForeignKey, Table, TableSet
from vostack.votable import VOTABLE_DATATYPES

__all__ = [
    "DALI_EXAMPLES",
    "NAMESPACES",
    "SSA",
    "TAP",
    "VOSI_AVAILABILITY",
    "VOSI_AVAILABILITY_NS",
    "VOSI_CAPABILITIES",
    "VOSI_CAPABILITIES_NS",
    "VOSI_TABLES",
    "VOSI_TABLES_NS",
    "XSI_NS",
    "Capability",
    "Interface",
    "availability_document",
    "capabilities_document",
    "table_document",
    "tables_document",
    "vosi_capabilities",
    "with_security",
]

# Standard identifiers (VOSI 1.1 §4, TAP 1.1 §2.4, DALI 1.1 §2.3, SSA 1.1).
VOSI_AVAILABILITY = "ivo://ivoa.net/std/VOSI#availability"
VOSI_CAPABILITIES = "ivo://ivoa.net/std/VOSI#capabilities"
VOSI_TABLES = "ivo://ivoa.net/std/VOSI#tables-1.1"
TAP = "ivo://ivoa.net/std/TAP"
SSA = "ivo://ivoa.net/std/SSA"
DALI_EXAMPLES = "ivo://ivoa.net/std/DALI#examples"

# Root-element namespaces of the three VOSI documents (VOSI 1.1 appendices).
VOSI_CAPABILITIES_NS = "http://www.ivoa.net/xml/VOSICapabilities/v1.0"
VOSI_AVAILABILITY_NS = "http://www.ivoa.net/xml/VOSIAvailability/v1.0"
VOSI_TABLES_NS = "http://www.ivoa.net/xml/VOSITables/v1.0"
XSI_NS = "http://www.w3.org/2001/XMLSchema-instance"

NAMESPACES: dict[str, str] = {
    "vr": "http://www.ivoa.net/xml/VOResource/v1.0",
    "vs": "http://www.ivoa.net/xml/VODataService/v1.1",
    "tr": "http://www.ivoa.net/xml/TAPRegExt/v1.0",
    "ssa": "http://www.ivoa.net/xml/SSA/v1.1",
    "cs": "http://www.ivoa.net/xml/ConeSearch/v1.0",
    "xsi": XSI_NS,
}
"""The canonical prefixes usable in ``xsi:type`` values.

Clients such as pyvo match ``xsi:type`` literally (``"tr:TableAccess"``,
``"vs:ParamHTTP"``), so documents always bind these exact prefixes.
"""

_XSI_TYPE = f"{{{XSI_NS}}}type"

# The dataType names of VODataService 1.1 vs:VOTableType are the VOTable datatypes ...
_VOTABLE_TYPES = VOTABLE_DATATYPES
# ... and of the deprecated vs:TAPType, which TAP 1.0 TAP_SCHEMAs still carry.
_TAP_TYPES = frozenset(
    {
        "BOOLEAN",
        "SMALLINT",
        "INTEGER",
        "BIGINT",
        "REAL",
        "DOUBLE",
        "TIMESTAMP",
        "CHAR",
        "VARCHAR",
        "BINARY",
        "VARBINARY",
        "POINT",
        "REGION",
        "CLOB",
        "BLOB",
    }
)

# Characters XML 1.0 cannot carry (C0 controls except TAB/LF/CR, lone
# surrogates, U+FFFE/U+FFFF); they are replaced, never silently dropped.
_NOT_XML = re.compile("[^\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")


def _xml_text(value: str) -> str:
    return _NOT_XML.sub("\ufffd", value)


def _check_qname(xsi_type: str) -> None:
    prefix, sep, local = xsi_type.partition(":")
    if not sep or not local or prefix not in NAMESPACES:
        raise ValueError(f"xsi:type {xsi_type!r} must be prefix:Name with a prefix from {sorted(NAMESPACES)}")


@dataclass(frozen=True, slots=True)
class Interface:
    """An ``interface`` of a capability (VOResource 1.1 ``vr:Interface``, VODataService 1.1).

    Parameters
    ----------
    access_url
        The endpoint URL.
    xsi_type
        The concrete interface type: ``"vs:ParamHTTP"`` (recommended by VOSI 1.1 §4 for
        REST endpoints) or ``"vr:WebBrowser"`` (DALI examples).
    role
        ``"std"`` when the interface is the one the capability's standard defines.
    version
        The version of that standard the interface implements (TAP 1.1 §2.4: ``"1.1"``).
    use
        How to use ``access_url``: ``"full"`` for VOSI endpoints (VOSI 1.1 §4), ``"base"``
        for a DAL service's base URL.
    query_types
        ``vs:ParamHTTP`` only: the HTTP methods, ``"GET"`` and/or ``"POST"``.
    result_type
        ``vs:ParamHTTP`` only: the media type of the response.
    security_method
        The standardID of the ``securityMethod`` of this interface (VOResource 1.1: at most one; IVOA
        SSO 2.0 §2): a service offering several ways to authenticate lists the interface once per way,
        and once without a security method when anonymous access is allowed (see :func:`with_security`).
    """

    access_url: str
    xsi_type: str = "vs:ParamHTTP"
    role: str | None = "std"
    version: str | None = None
    use: Literal["full", "base", "dir"] = "full"
    query_types: tuple[Literal["GET", "POST"], ...] = ()
    result_type: str | None = None
    security_method: str | None = None

    def __post_init__(self) -> None:
        _check_qname(self.xsi_type)
        if self.use not in ("full", "base", "dir"):
            raise ValueError(f"use must be 'full', 'base' or 'dir', not {self.use!r}")
        methods = set(self.query_types)
        if len(methods) != len(self.query_types) or not methods <= {"GET", "POST"}:
            raise ValueError(f"query_types must be distinct 'GET'/'POST', not {self.query_types!r}")
        if self.xsi_type != "vs:ParamHTTP" and (self.query_types or self.result_type is not None):
            raise ValueError("query_types and result_type need xsi_type 'vs:ParamHTTP'")

    def _element(self) -> etree._Element:
        el = etree.Element("interface")
        el.set(_XSI_TYPE, self.xsi_type)
        if self.role is not None:
            el.set("role", self.role)
        if self.version is not None:
            el.set("version", self.version)
        url = etree.SubElement(el, "accessURL", use=self.use)
        url.text = _xml_text(self.access_url)
        if self.security_method is not None:
            etree.SubElement(el, "securityMethod", standardID=self.security_method)
        for method in self.query_types:
            etree.SubElement(el, "queryType").text = method
        if self.result_type is not None:
            etree.SubElement(el, "resultType").text = _xml_text(self.result_type)
        return el


@dataclass(frozen=True, slots=True)
class Capability:
    """A ``vr:Capability``, or a subtype of it, for ``vosi:capabilities`` (VOSI 1.1 §3.1).

    Parameters
    ----------
    standard_id
        The standardID (``TAP``, ``VOSI_TABLES``, ...).
    interfaces
        The ways to reach it.
    xsi_type
        A ``vr:Capability`` subtype such as ``"tr:TableAccess"``; its prefix must be one of
        :data:`NAMESPACES`.
    description
        Free text for humans.
    extra
        The subtype's own child elements, appended after the interfaces in order.  They are
        copied into each document, so one ``Capability`` can be rendered any number of times.
    """

    standard_id: str
    interfaces: tuple[Interface, ...] = ()
    xsi_type: str | None = None
    description: str | None = None
    extra: tuple[etree._Element, ...] = ()

    def __post_init__(self) -> None:
        if self.xsi_type is not None:
            _check_qname(self.xsi_type)

    def _element(self) -> etree._Element:
        el = etree.Element("capability", standardID=self.standard_id)
        if self.xsi_type is not None:
            el.set(_XSI_TYPE, self.xsi_type)
        if self.description:
            etree.SubElement(el, "description").text = _xml_text(self.description)
        for interface in self.interfaces:
            el.append(interface._element())
        for child in self.extra:
            el.append(copy.deepcopy(child))
        return el


def _serialize(root: etree._Element) -> bytes:
    return bytes(etree.tostring(root, xml_declaration=True, encoding="UTF-8", pretty_print=True))


def _iso_utc(value: datetime) -> str:
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError(f"availability timestamps must be timezone-aware, got {value!r}")
    return value.astimezone(UTC).replace(tzinfo=None).isoformat(timespec="seconds") + "Z"


def availability_document(
    *,
    available: bool,
    note: str | None = None,
    up_since: datetime | None = None,
    down_at: datetime | None = None,
    back_at: datetime | None = None,
) -> bytes:
    """The ``vosi:availability`` document (VOSI 1.1 §3.2).

    Timestamps must be timezone-aware; they are written in UTC (``...Z``).
    """
    root = etree.Element(f"{{{VOSI_AVAILABILITY_NS}}}availability", nsmap={"vosi": VOSI_AVAILABILITY_NS})

    def child(name: str, text: str) -> None:
        etree.SubElement(root, f"{{{VOSI_AVAILABILITY_NS}}}{name}").text = text

    child("available", "true" if available else "false")
    for name, stamp in (("upSince", up_since), ("downAt", down_at), ("backAt", back_at)):
        if stamp is not None:
            child(name, _iso_utc(stamp))
    if note:
        child("note", _xml_text(note))
    return _serialize(root)


def with_security(capabilities: Sequence[Capability], methods: Sequence[str | None]) -> list[Capability]:
    """``capabilities`` with each interface that has no ``securityMethod`` listed once per entry of ``methods``
    (``None``: the anonymous interface), as IVOA SSO 2.0 §2 and VOResource 1.1 (one method per interface) ask.

    The VOSI capabilities and availability are always also offered anonymously (VOSI 1.1 §2).
    """
    if not methods:
        return list(capabilities)
    open_methods = (None, *(m for m in methods if m is not None))

    def interfaces(capability: Capability) -> tuple[Interface, ...]:
        ways = open_methods if capability.standard_id in (VOSI_CAPABILITIES, VOSI_AVAILABILITY) else methods
        return tuple(
            copy
            for interface in capability.interfaces
            for copy in (
                (interface,)
                if interface.security_method is not None
                else tuple(replace(interface, security_method=way) for way in ways)
            )
        )

    return [replace(capability, interfaces=interfaces(capability)) for capability in capabilities]


def capabilities_document(capabilities: Sequence[Capability], *, security_methods: Sequence[str | None] = ()) -> bytes:
    """The ``vosi:capabilities`` document listing ``capabilities`` in order (VOSI 1.1 §3.1), their
    interfaces with ``security_methods`` (see :func:`with_security`)."""
    nsmap: dict[str | None, str] = {"vosi": VOSI_CAPABILITIES_NS}
    nsmap.update(NAMESPACES)
    root = etree.Element(f"{{{VOSI_CAPABILITIES_NS}}}capabilities", nsmap=nsmap)
    for capability in with_security(capabilities, security_methods):
        root.append(capability._element())
    return _serialize(root)


def vosi_capabilities(base_url: str, *, tables: bool = True, examples: bool = False) -> list[Capability]:
    """The plain capabilities of the support endpoints below ``base_url`` (VOSI 1.1 §4).

    Lists ``/capabilities``, ``/availability`` and, with ``tables``, ``/tables``, each with
    a ``vs:ParamHTTP`` interface whose ``accessURL`` has ``use="full"``.  With ``examples``,
    also ``/examples`` as a ``vr:WebBrowser`` interface (DALI 1.1 §2.3, TAP 1.1 §2.6).
    """
    base = base_url.rstrip("/")
    result = [
        Capability(VOSI_CAPABILITIES, (Interface(f"{base}/capabilities"),)),
        Capability(VOSI_AVAILABILITY, (Interface(f"{base}/availability"),)),
    ]
    if tables:
        result.append(Capability(VOSI_TABLES, (Interface(f"{base}/tables"),)))
    if examples:
        result.append(Capability(DALI_EXAMPLES, (Interface(f"{base}/examples", xsi_type="vr:WebBrowser", role=None),)))
    return result


def _text_child(parent: etree._Element, name: str, value: str | None) -> None:
    if value:
        etree.SubElement(parent, name).text = _xml_text(value)


def _data_type(parent: etree._Element, column: Column) -> None:
    if column.datatype in _VOTABLE_TYPES:
        el = etree.SubElement(parent, "dataType")
        el.set(_XSI_TYPE, "vs:VOTableType")
        el.text = column.datatype
        if column.arraysize:
            el.set("arraysize", _xml_text(column.arraysize))
        if column.xtype:
            el.set("extendedType", _xml_text(column.xtype))
        return
    tap_type = column.datatype.upper().removeprefix("ADQL:")
    if tap_type in _TAP_TYPES:
        # A TAP 1.0 TAP_SCHEMA: keep its type rather than guess a VOTable one.
        el = etree.SubElement(parent, "dataType")
        el.set(_XSI_TYPE, "vs:TAPType")
        el.text = tap_type
        if column.arraysize and column.arraysize.isdigit() and int(column.arraysize) > 0:
            el.set("size", column.arraysize)
        if column.xtype:
            el.set("extendedType", _xml_text(column.xtype))
    # Any other name cannot be typed in VODataService; dataType is optional.


def _column(column: Column) -> etree._Element:
    el = etree.Element("column")
    if column.std:
        el.set("std", "true")
    _text_child(el, "name", column.name)
    _text_child(el, "description", column.description)
    _text_child(el, "unit", column.unit)
    _text_child(el, "ucd", column.ucd)
    _text_child(el, "utype", column.utype)
    _data_type(el, column)
    if column.indexed:
        etree.SubElement(el, "flag").text = "indexed"
    return el


def _foreign_key(key: ForeignKey) -> etree._Element:
    el = etree.Element("foreignKey")
    _text_child(el, "targetTable", key.target_table)
    for from_column, target_column in key.columns:
        pair = etree.SubElement(el, "fkColumn")
        _text_child(pair, "fromColumn", from_column)
        _text_child(pair, "targetColumn", target_column)
    _text_child(el, "description", key.description)
    _text_child(el, "utype", key.utype)
    return el


def _fill_table(el: etree._Element, table: Table, keys: Iterable[ForeignKey], *, detail: str) -> None:
    if table.table_type:
        el.set("type", _xml_text(table.table_type))
    _text_child(el, "name", table.name)
    _text_child(el, "description", table.description)
    _text_child(el, "utype", table.utype)
    if table.nrows is not None and table.nrows >= 0:
        etree.SubElement(el, "nrows").text = str(table.nrows)
    if detail == "max":
        for column in table.columns:
            el.append(_column(column))
        for key in keys:
            el.append(_foreign_key(key))


def _tables_nsmap() -> dict[str | None, str]:
    return {"vosi": VOSI_TABLES_NS, "vs": NAMESPACES["vs"], "xsi": XSI_NS}


def tables_document(tableset: TableSet, *, detail: Literal["min", "max"] = "max") -> bytes:
    """The ``vosi:tableset`` document for ``tableset`` (VOSI 1.1 §3.3, VODataService 1.1 ``vs:TableSet``).

    With ``detail="max"`` every table carries its columns and foreign keys; with
    ``detail="min"`` tables have names, descriptions and sizes only (VOSI 1.1 §3.3).
    """
    if detail not in ("min", "max"):
        raise ValueError(f"detail must be 'min' or 'max', not {detail!r}")
    root = etree.Element(f"{{{VOSI_TABLES_NS}}}tableset", nsmap=_tables_nsmap())
    for schema in tableset.schemas:
        el = etree.SubElement(root, "schema")
        _text_child(el, "name", schema.name)
        _text_child(el, "description", schema.description)
        _text_child(el, "utype", schema.utype)
        for table in schema.tables:
            _fill_table(etree.SubElement(el, "table"), table, tableset.keys_from(table.name), detail=detail)
    return _serialize(root)


def table_document(table: Table, keys: Sequence[ForeignKey] = ()) -> bytes:
    """The ``vosi:table`` document of one table with its foreign keys (VOSI 1.1 §3.3).

    ``keys`` are the keys whose ``from_table`` is ``table`` (``TableSet.keys_from``).
    """
    root = etree.Element(f"{{{VOSI_TABLES_NS}}}table", nsmap=_tables_nsmap())
    _fill_table(root, table, keys, detail="max")
    return _serialize(root)
