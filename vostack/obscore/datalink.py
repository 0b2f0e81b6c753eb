"""DataLink 1.1 ``{links}`` documents, shared by every service that offers links of its products (SSA, SIA).

A :class:`Link` is one row of the links table (DataLink 1.1 §3.2); :func:`links_document` writes the table,
with the service descriptors the rows' ``service_def`` name (DataLink 1.1 §4), as a TABLEDATA VOTable.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from vostack.schema import Field
from vostack.votable import ServiceDescriptor, VOTableWriter

__all__ = ["DATALINK_FORMAT", "DATALINK_LINKS", "LINK_FIELDS", "Link", "links_document", "not_found"]

DATALINK_LINKS = "ivo://ivoa.net/std/DataLink#links-1.1"
"""The standardID of a DataLink 1.1 links endpoint (DataLink 1.1 §2.1)."""

DATALINK_FORMAT = "application/x-votable+xml;content=datalink"
"""The media type of a DataLink links document (DataLink 1.1 §3)."""

#: The columns of a DataLink 1.1 links table (DataLink 1.1 §3.2), with their UCDs.
LINK_FIELDS: tuple[Field, ...] = (
    Field("ID", "char", "*", ucd="meta.id;meta.main", description="The identifier the links are for."),
    Field("access_url", "char", "*", ucd="meta.ref.url", description="URL of the linked resource."),
    Field("service_def", "char", "*", ucd="meta.ref", description="Reference to a service descriptor."),
    Field("error_message", "char", "*", ucd="meta.code.error", description="Why no link could be made."),
    Field("semantics", "char", "*", ucd="meta.code", description="What the link is, from the DataLink vocabulary."),
    Field("description", "char", "*", ucd="meta.note", description="What the link is, for people."),
    Field("content_type", "char", "*", ucd="meta.code.mime", description="Media type of the linked resource."),
    Field("content_length", "long", unit="byte", ucd="phys.size;meta.file", description="Size of the resource."),
)


@dataclass(frozen=True, slots=True)
class Link:
    """One row of a links table (DataLink 1.1 §3.2): exactly one of ``access_url``, ``service_def`` and
    ``error_message`` is set."""

    ident: str
    access_url: str | None = None
    service_def: str | None = None
    error_message: str | None = None
    semantics: str = "#this"
    description: str | None = None
    content_type: str | None = None
    content_length: int | None = None

    def row(self) -> tuple[object, ...]:
        """The row in the order of :data:`LINK_FIELDS`."""
        return (self.ident, self.access_url, self.service_def, self.error_message, self.semantics,
                self.description, self.content_type, self.content_length)  # fmt: skip


def not_found(ident: str, message: str) -> Link:
    """The row of an identifier without links (DataLink 1.1 §3.2.4: ``NotFoundFault``)."""
    return Link(ident, error_message=f"NotFoundFault: {message}")


def links_document(links: Iterable[Link], *, descriptors: Sequence[ServiceDescriptor] = ()) -> bytes:
    """The ``{links}`` response (DataLink 1.1 §3): the links table, then the service descriptors (§4)."""
    writer = VOTableWriter(LINK_FIELDS, serialization="tabledata", table_name="links", resources=descriptors)
    return writer.header() + writer.rows([link.row() for link in links]) + writer.footer()
