"""Result documents in every TAP output format, streamed; VOTable status documents and uploads.

Pure byte production (no I/O).  Every writer is a staged
:class:`~vostack.votable.base.StagedWriter` (``header()``, ``rows()`` per
batch, ``footer()``) sharing one ``arraysize`` parser, one JSON default and
one value-to-text conversion (:mod:`vostack.votable.base`):

* :class:`VOTableWriter`: VOTable 1.4 TABLEDATA, BINARY and BINARY2 (§5), with
  DataLink service descriptors after the results (:class:`ServiceDescriptor`);
* :class:`DelimitedWriter` (CSV, TSV), :class:`JSONWriter`,
  :class:`GeoJSONWriter`, :class:`FITSWriter`, :class:`ParquetWriter`
  (VOParquet), picked per RESPONSEFORMAT by :func:`writer_for` from
  :data:`TAP_FORMATS`;
* :func:`iter_result`: the one streaming loop (MAXREC overflow, errors after
  the first byte) every service uses;
* :func:`error_document` is the DALI 1.1 §5.4 error response,
  :func:`db_type_to_votable` maps PostgreSQL types to VOTable datatypes, and
  :mod:`vostack.votable.reader` reads uploaded VOTables safely.
"""

from __future__ import annotations

from vostack.votable.base import Batch, ResultWriter, StagedWriter, float32_text, text_of
from vostack.votable.catalog import TAP_FORMATS, VOTABLE_FORMATS, writer_for
from vostack.votable.datatypes import VOTABLE_DATATYPES, db_type_to_votable
from vostack.votable.delimited import DelimitedWriter
from vostack.votable.fits import FITSWriter
from vostack.votable.jsondoc import GeoJSONWriter, JSONWriter
from vostack.votable.parquet import ParquetWriter
from vostack.votable.status import (
    QUERY_STATUS,
    VOTABLE_NAMESPACE,
    VOTABLE_VERSION,
    QueryStatus,
    error_document,
)
from vostack.votable.stream import StreamAborted, iter_result
from vostack.votable.writer import (
    MEDIA_TYPE,
    SERIALIZATIONS,
    InputParam,
    Param,
    ServiceDescriptor,
    TimeSys,
    VOTableWriter,
)

__all__ = [
    "MEDIA_TYPE",
    "QUERY_STATUS",
    "SERIALIZATIONS",
    "TAP_FORMATS",
    "VOTABLE_DATATYPES",
    "VOTABLE_FORMATS",
    "VOTABLE_NAMESPACE",
    "VOTABLE_VERSION",
    "Batch",
    "DelimitedWriter",
    "FITSWriter",
    "GeoJSONWriter",
    "InputParam",
    "JSONWriter",
    "Param",
    "ParquetWriter",
    "QueryStatus",
    "ResultWriter",
    "ServiceDescriptor",
    "StagedWriter",
    "StreamAborted",
    "TimeSys",
    "VOTableWriter",
    "db_type_to_votable",
    "error_document",
    "float32_text",
    "iter_result",
    "text_of",
    "writer_for",
]
