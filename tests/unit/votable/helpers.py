"""Shared helpers of the VOTable tests: write with vostack, read back with astropy."""

from __future__ import annotations

import math
from collections.abc import Iterable, Iterator, Sequence
from io import BytesIO
from typing import Any

import numpy as np
from astropy.io.votable import parse
from astropy.io.votable.tree import TableElement, VOTableFile

from vostack.schema import Field
from vostack.votable import VOTableWriter

SERIALIZATIONS = ("tabledata", "binary", "binary2")


def write(
    fields: Sequence[Field],
    batches: Iterable[Iterable[Sequence[object]]],
    serialization: str,
    *,
    overflow: bool = False,
    error: str | None = None,
    **options: Any,
) -> bytes:
    """The whole document for ``batches`` of rows, as the HTTP layer would stream it."""
    writer = VOTableWriter(fields, serialization=serialization, **options)
    pieces = [writer.header()]
    pieces.extend(writer.rows(batch) for batch in batches)
    pieces.append(writer.footer(overflow=overflow, error=error))
    return b"".join(pieces)


def read(doc: bytes) -> VOTableFile:
    """astropy's strict reading of ``doc``: any spec warning fails the test."""
    return parse(BytesIO(doc), verify="exception")


def first_table(doc: bytes) -> TableElement:
    table = read(doc).get_first_table()
    assert isinstance(table, TableElement)
    return table


def _plain_scalar(value: object) -> object:
    if value is np.ma.masked:
        return None
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, bytes):
        value = value.decode("ascii")
    if isinstance(value, float) and math.isnan(value):
        return None
    return value


def plain(value: object) -> object:
    """An astropy cell as plain Python: ``None`` for masked values and NaN, lists for arrays."""
    if value is np.ma.masked:
        return None
    if isinstance(value, np.ndarray) and value.ndim == 0:
        return _plain_scalar(value[()])
    if isinstance(value, np.ndarray):
        array = np.ma.asarray(value)
        mask = np.ma.getmaskarray(array).ravel().tolist()
        return [None if m else _plain_scalar(x) for x, m in zip(array.data.ravel().tolist(), mask, strict=True)]
    return _plain_scalar(value)


def column(doc: bytes, index: int = 0) -> list[object]:
    """The values of column ``index`` of the first table, as plain Python."""
    array = first_table(doc).array
    name = array.dtype.names[index]
    return [plain(row[name]) for row in array]


def rows_of(doc: bytes) -> list[tuple[object, ...]]:
    """All rows of the first table, as tuples of plain Python values."""
    array = first_table(doc).array
    return [tuple(plain(row[name]) for name in array.dtype.names) for row in array]


def chunks(items: Sequence[Any], sizes: Iterator[int]) -> list[Sequence[Any]]:
    """``items`` cut into consecutive batches of the given sizes (the last takes the rest)."""
    out: list[Sequence[Any]] = []
    start = 0
    for size in sizes:
        if start >= len(items):
            break
        out.append(items[start : start + size])
        start += size
    if start < len(items):
        out.append(items[start:])
    return out
