"""DALI examples for TAP: ``/examples`` as XHTML with RDFa (DALI 1.1 §2.3, TAP 1.1 §2.4)."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from lxml import etree

from vostack import adql
from vostack.config import ConfigError, Example
from vostack.errors import ADQLError
from vostack.schema import TableSet

__all__ = ["EXAMPLES_VOCABULARY", "CheckedExample", "check_examples", "examples_document"]

#: The RDFa vocabulary of DALI examples (DALI 1.1 §2.3).
EXAMPLES_VOCABULARY = "http://www.ivoa.net/rdf/examples#"

_XHTML = "http://www.w3.org/1999/xhtml"


@dataclass(frozen=True, slots=True)
class CheckedExample:
    """An example whose query translates on the published tables; ``tables`` are the ones it reads."""

    example: Example
    fragment: str
    tables: tuple[str, ...]


def _fragment(name: str, used: set[str]) -> str:
    base = re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-") or "example"
    fragment, number = base, 2
    while fragment in used:
        fragment, number = f"{base}-{number}", number + 1
    used.add(fragment)
    return fragment


def check_examples(
    examples: Sequence[Example], tableset: TableSet, *, udfs: Sequence[adql.UDF] = ()
) -> tuple[CheckedExample, ...]:
    """Translate every example query against ``tableset``; a query that does not is a :class:`ConfigError`.

    Run when the service starts, so the examples users see always run on the data it publishes.
    """
    used: set[str] = set()
    checked = []
    for example in examples:
        try:
            translation = adql.translate(example.query, tableset, udfs=udfs)
        except ADQLError as exc:
            raise ConfigError(
                f"the example {example.name!r} does not run on the published tables: {exc.message}"
            ) from None
        checked.append(CheckedExample(example, _fragment(example.name, used), translation.tables))
    return tuple(checked)


def _element(parent: etree._Element, tag: str, text: str | None = None, **attributes: str) -> etree._Element:
    element = etree.SubElement(parent, f"{{{_XHTML}}}{tag}", attributes)
    element.text = text
    return element


def examples_document(examples: Sequence[CheckedExample], *, title: str) -> bytes:
    """The examples as an XHTML document with RDFa annotations (DALI 1.1 §2.3).

    Each example is an element with ``typeof="example"`` and an ``id``; inside
    it ``property="name"`` is the title, ``property="query"`` the ADQL text and
    ``property="table"`` each table it reads (TAP 1.1 §2.4).
    """
    html = etree.Element(f"{{{_XHTML}}}html", nsmap={None: _XHTML}, lang="en")
    head = _element(html, "head")
    _element(head, "title", f"Example queries: {title}")
    body = _element(html, "body", vocab=EXAMPLES_VOCABULARY)
    _element(body, "h1", f"Example queries: {title}")
    for checked in examples:
        block = _element(body, "div", typeof="example", id=checked.fragment, resource=f"#{checked.fragment}")
        _element(block, "h2", checked.example.name, property="name")
        if checked.example.description:
            _element(block, "p", checked.example.description)
        _element(block, "pre", checked.example.query, property="query")
        if checked.tables:
            tables = _element(block, "p", "Tables: ")
            for index, name in enumerate(checked.tables):
                span = _element(tables, "span", name, property="table")
                if index < len(checked.tables) - 1:
                    span.tail = ", "
    return etree.tostring(html, xml_declaration=True, encoding="UTF-8", doctype="<!DOCTYPE html>", pretty_print=True)
