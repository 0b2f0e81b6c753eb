"""The output formats a TAP service offers, and the encoder for each (DALI 1.1 §3.2.3, TAPRegExt 1.0 §2.4)."""

from __future__ import annotations

from collections.abc import Sequence

from vostack.dali import OutputFormat
from vostack.errors import InternalError
from vostack.schema import Field
from vostack.votable.base import ResultWriter
from vostack.votable.delimited import DelimitedWriter
from vostack.votable.fits import FITSWriter
from vostack.votable.jsondoc import GeoJSONWriter, JSONWriter
from vostack.votable.parquet import ParquetWriter
from vostack.votable.writer import MEDIA_TYPE, VOTableWriter

__all__ = ["TAP_FORMATS", "VOTABLE_FORMATS", "writer_for"]

_VOT = MEDIA_TYPE
_TR = "ivo://ivoa.net/std/TAPRegExt#output-"

#: The VOTable serialisations, default (BINARY2) first (TAPRegExt 1.0 §2.4; DALI 1.1 §3.2.3).
VOTABLE_FORMATS: tuple[OutputFormat, ...] = (
    OutputFormat(_VOT, ("votable", "text/xml"), _TR + "votable-binary2", serialization="binary2"),
    OutputFormat(f"{_VOT};serialization=BINARY2", ("votable/b2", "votable/binary2"), _TR + "votable-binary2",
                 serialization="binary2"),
    OutputFormat(f"{_VOT};serialization=TABLEDATA", ("votable/td", "votable/tabledata"), _TR + "votable-td",
                 serialization="tabledata"),
    OutputFormat(f"{_VOT};serialization=BINARY", ("votable/b", "votable/binary"), _TR + "votable-binary",
                 serialization="binary"),
)  # fmt: skip

#: Every RESPONSEFORMAT offered, the default (VOTable BINARY2) first.  TAPRegExt 1.0 §2.4 defines
#: identifiers for the VOTable serialisations only; the other formats are known by media type.
TAP_FORMATS: tuple[OutputFormat, ...] = (
    *VOTABLE_FORMATS,
    OutputFormat("text/csv;header=present", ("csv", "text/csv"), kind="csv", extension="csv"),
    OutputFormat("text/tab-separated-values", ("tsv",), kind="tsv", extension="tsv"),
    OutputFormat("application/json", ("json",), kind="json", extension="json"),
    OutputFormat("application/fits", ("fits", "image/fits"), kind="fits", extension="fits"),
    OutputFormat("application/vnd.apache.parquet", ("parquet", "application/x-parquet"), kind="parquet",
                 extension="parquet"),
    OutputFormat("application/geo+json", ("geojson",), kind="geojson", extension="geojson"),
)  # fmt: skip


def writer_for(
    fmt: OutputFormat,
    fields: Sequence[Field],
    *,
    infos: Sequence[tuple[str, str, str | None]] = (),
) -> ResultWriter:
    """The encoder of ``fmt`` for a result with columns ``fields`` (DALI 1.1 §3.2.3).

    ``infos`` are ``(name, value, content)`` items a VOTable result holds as
    ``INFO`` elements (``QUERY``, ``QUERY_STATUS``...); each format keeps what
    it can of them.  Call it before the first byte is sent: it raises
    :class:`~vostack.errors.ParameterError` when the format cannot hold the
    result (GeoJSON without positions) and
    :class:`~vostack.errors.InternalError` for metadata no encoder accepts.
    """
    kind = fmt.kind
    if kind == "votable":
        return VOTableWriter(fields, serialization=fmt.serialization or "binary2", infos=infos)
    if kind == "csv":
        return DelimitedWriter(fields, delimiter=",")
    if kind == "tsv":
        return DelimitedWriter(fields, delimiter="\t")
    if kind == "json":
        return JSONWriter(fields, infos=infos)
    if kind == "geojson":
        return GeoJSONWriter(fields, infos=infos)
    if kind == "fits":
        return FITSWriter(fields, infos=infos)
    if kind == "parquet":
        return ParquetWriter(fields, infos=infos)
    raise InternalError(f"no encoder for output format kind {kind!r}")
