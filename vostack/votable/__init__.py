"""VOTable output: streaming TABLEDATA/BINARY/BINARY2 writing and status documents.

Pure byte production (no I/O): :class:`VOTableWriter` serialises result rows
batch by batch (VOTable 1.4 §5), :func:`error_document` is the DALI 1.1 §5.4
error response, :func:`db_type_to_votable` maps PostgreSQL types to VOTable
datatypes.
"""

from __future__ import annotations

from vostack.votable.datatypes import VOTABLE_DATATYPES, db_type_to_votable
from vostack.votable.status import (
    QUERY_STATUS,
    VOTABLE_NAMESPACE,
    VOTABLE_VERSION,
    QueryStatus,
    error_document,
)
from vostack.votable.writer import MEDIA_TYPE, SERIALIZATIONS, Param, VOTableWriter, float32_text, text_of

__all__ = [
    "MEDIA_TYPE",
    "QUERY_STATUS",
    "SERIALIZATIONS",
    "VOTABLE_DATATYPES",
    "VOTABLE_NAMESPACE",
    "VOTABLE_VERSION",
    "Param",
    "QueryStatus",
    "VOTableWriter",
    "db_type_to_votable",
    "error_document",
    "float32_text",
    "text_of",
]
