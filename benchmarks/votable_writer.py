"""Micro benchmark of :class:`vostack.votable.VOTableWriter` against astropy's writer.

Encodes 200,000 synthetic rows of (int, double, double, real, smallint) in
batches of 5,000, as a TAP response would, and prints rows per second for
TABLEDATA, BINARY and BINARY2; then writes the same rows with astropy
(``from_table`` + ``writeto`` into a ``BytesIO``, the table already built) as
the baseline.  Run from the project root::

    PYTHONPATH=. python benchmarks/votable_writer.py [--rows N] [--nulls]
"""

from __future__ import annotations

import argparse
from collections.abc import Callable, Sequence
from io import BytesIO

import numpy as np
from astropy.io.votable import from_table
from astropy.table import Table
from common import BATCH, FIELDS, best_of, make_rows

from vostack.votable import VOTableWriter


def vostack_run(rows: Sequence[tuple[object, ...]], serialization: str) -> Callable[[], int]:
    def run() -> int:
        writer = VOTableWriter(FIELDS, serialization=serialization)
        size = len(writer.header())
        for start in range(0, len(rows), BATCH):
            size += len(writer.rows(rows[start : start + BATCH]))
        return size + len(writer.footer())

    return run


def astropy_run(rows: Sequence[tuple[object, ...]], serialization: str) -> Callable[[], int]:
    columns = list(zip(*rows, strict=True))
    mags = np.ma.masked_invalid(np.array([np.nan if m is None else m for m in columns[3]], dtype=np.float32))
    table = Table(
        [
            np.array(columns[0], dtype=np.int32),
            np.array(columns[1], dtype=np.float64),
            np.array(columns[2], dtype=np.float64),
            mags,
            np.array(columns[4], dtype=np.int16),
        ],
        names=[f.name for f in FIELDS],
    )

    def run() -> int:
        votable = from_table(table)
        votable.get_first_table().format = serialization
        out = BytesIO()
        votable.to_xml(out)
        return len(out.getvalue())

    return run


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=200_000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--nulls", action="store_true", help="make every tenth magnitude null")
    args = parser.parse_args()
    rows = make_rows(args.rows, nulls=args.nulls)
    print(f"{args.rows} rows (int, double, double, real, smallint), batches of {BATCH}")
    print(f"{'serialization':<14}{'vostack rows/s':>16}{'astropy rows/s':>16}{'speed-up':>10}{'MB':>8}")
    for serialization in ("tabledata", "binary", "binary2"):
        ours, size = best_of(args.repeat, vostack_run(rows, serialization))
        theirs, _ = best_of(args.repeat, astropy_run(rows, serialization))
        print(
            f"{serialization:<14}{args.rows / ours:>16,.0f}{args.rows / theirs:>16,.0f}"
            f"{theirs / ours:>10.1f}{size / 1e6:>8.1f}"
        )


if __name__ == "__main__":
    main()
