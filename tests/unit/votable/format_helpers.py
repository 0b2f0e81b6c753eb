"""Shared data of the format tests: a result with every kind of value, and a writer driver."""

from __future__ import annotations

import datetime as dt
from collections import UserList
from collections.abc import Sequence

from vostack.dali import OutputFormat
from vostack.schema import Field
from vostack.votable import TAP_FORMATS, ResultWriter, writer_for

FIELDS = (
    Field("id", "long", ucd="meta.id;meta.main", description="Identifier"),
    Field("ra", "double", unit="deg", ucd="pos.eq.ra;meta.main", description="Right ascension (ICRS)"),
    Field("dec", "double", unit="deg", ucd="pos.eq.dec;meta.main"),
    Field("mag", "float", unit="mag", ucd="phot.mag"),
    Field("flag", "short"),
    Field("ok", "boolean"),
    Field("name", "unicodeChar", arraysize="*", description="Name, any script"),
    Field("spec", "double", arraysize="*", unit="Jy"),
)

BATCH_1: list[tuple[object, ...]] = [
    (1, 10.1, -5.5, 12.25, 3, True, 'Vega \u2606, "\u03b1 Lyr"', [1.0, 2.5]),
    (2, 359.9, 89.9, None, None, None, None, None),
    (3, 0.1 + 0.2, -1e-300, 1.5, -32767, False, "", []),
]
BATCH_2: list[tuple[object, ...]] = [
    (4, 181.0, 0.0, 7.0, 32767, True, "tab\there\nnew line", [float("nan"), 3.0, 1e300]),
    (2**62, 123.456789012345678, -45.0, None, 0, False, "plain", [0.1]),
]
ROWS = BATCH_1 + BATCH_2
INFOS = (("QUERY", "SELECT * FROM t", None), ("REQUEST", "doQuery", None))


def fmt(kind: str) -> OutputFormat:
    """The offered format of ``kind``."""
    return next(f for f in TAP_FORMATS if f.kind == kind)


def write(
    kind: str,
    batches: Sequence[Sequence[Sequence[object]]] = (BATCH_1, BATCH_2),
    *,
    fields: Sequence[Field] = FIELDS,
    overflow: bool = False,
    error: str | None = None,
) -> bytes:
    """The whole document, as the HTTP layer would stream it through :func:`writer_for`."""
    writer: ResultWriter = writer_for(fmt(kind), fields, infos=INFOS)
    pieces = [writer.header()]
    pieces.extend(writer.rows(batch) for batch in batches)
    pieces.extend(writer.iter_footer(overflow=overflow, error=error))
    return b"".join(pieces)


def timestamp_fields() -> tuple[Field, ...]:
    """A result with a DALI timestamp column, as the database hands it out."""
    return (Field("id", "int"), Field("t", "char", arraysize="*", xtype="timestamp"))


TIMESTAMP_ROWS = [(1, dt.datetime(2024, 5, 6, 7, 8, 9, 500000, tzinfo=dt.UTC)), (2, None)]


class Record(UserList[object]):
    """Stands for ``asyncpg.Record``: a row that is a sequence but neither a list nor a tuple."""


def as_records(batches: Sequence[Sequence[Sequence[object]]]) -> list[list[Record]]:
    """``batches`` with every row a :class:`Record`."""
    return [[Record(row) for row in batch] for batch in batches]
