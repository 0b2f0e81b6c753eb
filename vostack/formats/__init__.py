"""Result encoders for every TAP output format, all streamed (DALI 1.1 §3.2.3, TAP 1.1 §2.9).

:func:`writer_for` picks the encoder for an :class:`~vostack.dali.OutputFormat`
of :data:`TAP_FORMATS`; every encoder is a :class:`ResultWriter`::

    writer = writer_for(fmt, fields, infos=[("QUERY", adql, None)])
    yield writer.header()
    async for batch in cursor:
        yield writer.rows(batch)
    for piece in writer.iter_footer(overflow=truncated, error=message):
        yield piece

Pure byte production with no network or database access; the FITS encoder
spools rows to a temporary file because its header must state the row count.
"""

from __future__ import annotations

from vostack.formats.base import ResultWriter
from vostack.formats.catalog import TAP_FORMATS, VOTABLE_FORMATS, VOTableResultWriter, writer_for
from vostack.formats.delimited import DelimitedWriter
from vostack.formats.fits import FITSWriter
from vostack.formats.jsondoc import GeoJSONWriter, JSONWriter
from vostack.formats.parquet import ParquetWriter

__all__ = [
    "TAP_FORMATS",
    "VOTABLE_FORMATS",
    "DelimitedWriter",
    "FITSWriter",
    "GeoJSONWriter",
    "JSONWriter",
    "ParquetWriter",
    "ResultWriter",
    "VOTableResultWriter",
    "writer_for",
]
