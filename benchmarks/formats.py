"""Micro benchmark of every result encoder of :mod:`vostack.votable`.

Encodes 200,000 synthetic rows of (int, double, double, real, smallint), the
shape of ``benchmarks/votable_writer.py``, in batches of 5,000 as a TAP
response would, through :func:`vostack.votable.writer_for` and the whole
``header()`` / ``rows()`` / ``iter_footer()`` sequence, and prints rows per
second and output size per format.  With ``--rss``, each format instead
runs in a child process that makes its rows batch by batch and drops the
output, and the child's peak resident memory is printed: it shows that
memory does not grow with the result (FITS spools to a temporary file).
Run from the project root::

    PYTHONPATH=. python benchmarks/formats.py [--rows N] [--nulls] [--formats csv,json] [--rss] [--copy]
"""

from __future__ import annotations

import argparse
import os
import resource
import struct
import subprocess
import sys
from collections.abc import Callable, Sequence

from common import BATCH, FIELDS, best_of, make_rows

from vostack.dali import OutputFormat
from vostack.votable import TAP_FORMATS, writer_for
from vostack.votable.pgcopy import CopyParser

NAMES = ("votable/b2", "votable/b", "votable/td", "csv", "tsv", "json", "geojson", "fits", "parquet")


def by_alias(name: str) -> OutputFormat:
    return next(f for f in TAP_FORMATS if f.matches(name))


_COPY_FORMATS = (">i", ">d", ">d", ">f", ">h")  # int4, float8, float8, float4, int2: the FIELDS
_COPY_TYPES = (23, 701, 701, 700, 21)


def copy_stream(rows: Sequence[tuple[object, ...]]) -> bytes:
    """``rows`` as PostgreSQL's binary COPY stream (PostgreSQL 15, COPY, "Binary Format")."""
    parts = [b"PGCOPY\n\xff\r\n\x00", struct.pack(">ii", 0, 0)]
    for row in rows:
        parts.append(struct.pack(">h", len(row)))
        for code, value in zip(_COPY_FORMATS, row, strict=True):
            if value is None:
                parts.append(struct.pack(">i", -1))
            else:
                data = struct.pack(code, value)
                parts.append(struct.pack(">i", len(data)) + data)
    parts.append(struct.pack(">h", -1))
    return b"".join(parts)


def run_columns(data: bytes, fmt: OutputFormat) -> Callable[[], int]:
    """Parse ``data`` in 256 KiB pieces (what a COPY read brings) and write each batch of columns."""

    def run() -> int:
        writer = writer_for(fmt, FIELDS, infos=(("QUERY", "SELECT ...", None),))
        parser = CopyParser(_COPY_TYPES)
        size = len(writer.header())
        for start in range(0, len(data), 1 << 18):
            size += len(writer.rows(parser.feed(data[start : start + (1 << 18)])))
        for piece in writer.iter_footer():
            size += len(piece)
        return size

    return run


def run_format(rows: Sequence[tuple[object, ...]], fmt: OutputFormat) -> Callable[[], int]:
    def run() -> int:
        writer = writer_for(fmt, FIELDS, infos=(("QUERY", "SELECT ...", None),))
        size = len(writer.header())
        for start in range(0, len(rows), BATCH):
            size += len(writer.rows(rows[start : start + BATCH]))
        for piece in writer.iter_footer():
            size += len(piece)
        return size

    return run


def stream_discarding(fmt: OutputFormat, count: int, *, nulls: bool) -> int:
    """Write ``count`` rows made batch by batch, keeping no output; the bytes written."""
    writer = writer_for(fmt, FIELDS)
    size = len(writer.header())
    for start in range(0, count, BATCH):
        batch = make_rows(min(BATCH, count - start), nulls=nulls)
        size += len(writer.rows(batch))
    for piece in writer.iter_footer():
        size += len(piece)
    return size


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def rss_children(names: Sequence[str], rows: int, nulls: bool) -> None:
    print(f"{rows} rows made batch by batch in a child process per format; output dropped")
    print(f"{'format':<12}{'peak RSS MB':>12}{'baseline MB':>12}{'MB written':>12}")
    for name in names:
        command = [sys.executable, __file__, "--child", name, "--rows", str(rows)] + (["--nulls"] if nulls else [])
        out = subprocess.run(command, check=True, capture_output=True, text=True, env=os.environ).stdout.split()
        baseline, peak, size = float(out[0]), float(out[1]), int(out[2])
        print(f"{name:<12}{peak:>12.0f}{baseline:>12.0f}{size / 1e6:>12.1f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--rows", type=int, default=200_000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--nulls", action="store_true", help="make every tenth magnitude null")
    parser.add_argument("--formats", default=",".join(NAMES), help="comma-separated RESPONSEFORMAT aliases")
    parser.add_argument("--rss", action="store_true", help="peak memory per format, in child processes")
    parser.add_argument("--copy", action="store_true", help="write from a binary COPY stream, parsed in bulk")
    parser.add_argument("--child", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        writer_for(by_alias(args.child), FIELDS)  # imports done: the baseline
        baseline = peak_rss_mb()
        size = stream_discarding(by_alias(args.child), args.rows, nulls=args.nulls)
        print(baseline, peak_rss_mb(), size)
        return
    if args.rss:
        rss_children(args.formats.split(","), args.rows, args.nulls)
        return
    rows = make_rows(args.rows, nulls=args.nulls)
    data = copy_stream(rows) if args.copy else b""
    source = "a binary COPY stream" if args.copy else f"batches of {BATCH}"
    print(f"{args.rows} rows (int, double, double, real, smallint), from {source}")
    print(f"{'format':<12}{'rows/s':>14}{'MB':>8}")
    for name in args.formats.split(","):
        run = run_columns(data, by_alias(name)) if args.copy else run_format(rows, by_alias(name))
        seconds, size = best_of(args.repeat, run)
        print(f"{name:<12}{args.rows / seconds:>14,.0f}{size / 1e6:>8.1f}")
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"peak RSS of this process: {peak:.0f} MB (the input rows included)")


if __name__ == "__main__":
    main()
