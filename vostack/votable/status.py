"""The VOTable document frame and the DALI ``QUERY_STATUS`` documents.

Holds what every VOTable vostack writes shares: the XML prolog and root
element (VOTable 1.4 §3), escaping of XML text and attributes, ``INFO``
elements (VOTable 1.4 §4), and the error document of DALI 1.1 §5.4 /
TAP 1.1 §2.9 that pyvo turns into a ``DALQueryError``.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from enum import StrEnum

__all__ = [
    "QUERY_STATUS",
    "VOTABLE_NAMESPACE",
    "VOTABLE_VERSION",
    "QueryStatus",
    "error_document",
    "info_element",
    "xml_attr",
    "xml_text",
]

VOTABLE_VERSION = "1.4"
"""The VOTable version written: read by astropy ≥ 4 and TOPCAT/STIL ≥ 4.0."""

VOTABLE_NAMESPACE = "http://www.ivoa.net/xml/VOTable/v1.3"
"""The namespace of every VOTable 1.3+ document (VOTable 1.4 §3)."""

QUERY_STATUS = "QUERY_STATUS"
"""The ``INFO`` name that carries the query status (DALI 1.1 §5.4)."""


class QueryStatus(StrEnum):
    """The values of the ``QUERY_STATUS`` ``INFO`` (DALI 1.1 §5.4)."""

    OK = "OK"
    """The query ran; the whole result follows."""
    ERROR = "ERROR"
    """The query failed, before or while the table was written."""
    OVERFLOW = "OVERFLOW"
    """The query ran and the result was truncated (MAXREC or a service limit)."""


# Characters XML 1.0 (§2.2 Char) forbids, plus lone surrogates (not encodable
# as UTF-8) and the non-characters U+FFFE/U+FFFF.
_FORBIDDEN_CLASS = "\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff"
_FORBIDDEN = re.compile(f"[{_FORBIDDEN_CLASS}]")
_TEXT_SPECIAL = re.compile(f"[&<>\r{_FORBIDDEN_CLASS}]")
_ATTR_SPECIAL = re.compile(f'[&<>"\t\n\r{_FORBIDDEN_CLASS}]')
_TEXT_ESCAPES = str.maketrans({"&": "&amp;", "<": "&lt;", ">": "&gt;", "\r": "&#13;"})
_ATTR_ESCAPES = str.maketrans(
    {"&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "\t": "&#9;", "\n": "&#10;", "\r": "&#13;"}
)
REPLACEMENT = "\ufffd"


def xml_text(text: str) -> str:
    """Escape ``text`` as XML character data (XML 1.0 §2.4).

    ``&``, ``<``, ``>`` become entity references and carriage returns become
    ``&#13;`` (so that end-of-line normalisation keeps them); characters XML
    1.0 does not allow at all become U+FFFD.
    """
    if _TEXT_SPECIAL.search(text) is None:
        return text
    return _FORBIDDEN.sub(REPLACEMENT, text).translate(_TEXT_ESCAPES)


def xml_attr(text: str) -> str:
    """Escape ``text`` for a double-quoted XML attribute value (XML 1.0 §3.3.3).

    Tabs and line breaks become character references, so that attribute-value
    normalisation does not turn them into spaces.
    """
    if _ATTR_SPECIAL.search(text) is None:
        return text
    return _FORBIDDEN.sub(REPLACEMENT, text).translate(_ATTR_ESCAPES)


def info_element(name: str, value: str, content: str | None = None) -> str:
    """An ``INFO`` element (VOTable 1.4 §4), escaped, without a line break."""
    start = f'<INFO name="{xml_attr(name)}" value="{xml_attr(value)}"'
    if content is None:
        return start + "/>"
    return f"{start}>{xml_text(content)}</INFO>"


def document_start() -> str:
    """The XML declaration and the ``VOTABLE`` start tag (VOTable 1.4 §3)."""
    return (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        f'<VOTABLE version="{VOTABLE_VERSION}" xmlns="{VOTABLE_NAMESPACE}"'
        ' xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"'
        f' xsi:schemaLocation="{VOTABLE_NAMESPACE}'
        f' http://www.ivoa.net/xml/VOTable/votable-{VOTABLE_VERSION}.xsd">\n'
    )


def error_document(message: str, *, infos: Sequence[tuple[str, str, str | None]] = ()) -> bytes:
    """The VOTable error document of DALI 1.1 §5.4 and TAP 1.1 §2.9.

    A ``RESOURCE type="results"`` whose first element is
    ``<INFO name="QUERY_STATUS" value="ERROR">message</INFO>``; pyvo raises
    ``DALQueryError`` with ``message`` as its reason.

    Parameters
    ----------
    message : str
        The text for the user (escaped here).
    infos : sequence of (name, value, content)
        Further ``INFO`` elements after the status (e.g. the ``QUERY`` echo);
        any named ``QUERY_STATUS`` are left out.

    Returns
    -------
    bytes
        The whole document, UTF-8 encoded.
    """
    parts = [
        document_start(),
        '<RESOURCE type="results">\n',
        info_element(QUERY_STATUS, QueryStatus.ERROR.value, message),
        "\n",
    ]
    for name, value, content in infos:
        if name.upper() == QUERY_STATUS:  # the status above must stay the only one
            continue
        parts.append(info_element(name, value, content))
        parts.append("\n")
    parts.append("</RESOURCE>\n</VOTABLE>\n")
    return "".join(parts).encode("utf-8")
