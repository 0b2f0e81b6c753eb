"""Tycho-2 (1,871,011 stars: position and VT magnitude) loaded from Debian's astrometry.net index, for benchmarks.

The package ``astrometry-data-tycho2-07-littleendian`` (88 MB) is fetched with ``apt-get download`` into
``<state>/tycho2`` (``/var/lib/vostack/tycho2`` for root, ``~/.local/share/vostack/tycho2`` otherwise), the
one FITS file it holds is taken out with ``dpkg-deb --fsys-tarfile`` and read in place (nothing is installed).
The index keeps each star as a unit vector, three ``uint32`` scaled into the box ``kdtree_range_stars``
(``min[3], max[3], scale``: value = min + u / scale), with the VT magnitude (``MAG_VT``) and the
brightness sweep of the index (``sweep``, 0-255) as tag-along columns; the stars are in k-d tree order and
carry no Tycho identifier, so ``id`` is the row number.

Usage: ``.venv/bin/python benchmarks/tycho2.py --dsn DSN`` loads ``tycho2.main`` unless it is there, complete.
"""

from __future__ import annotations

import argparse
import asyncio
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

import numpy as np

from vostack import db
from vostack.db.cluster import default_state_dir

__all__ = ["DDL", "INDEX_DDL", "PACKAGE", "ROWS", "TABLE", "ensure_tycho2", "fetch_index", "read_index"]

PACKAGE = "astrometry-data-tycho2-07-littleendian"
MEMBER = "./usr/share/astrometry/index-tycho2-07.littleendian.fits"
TABLE = "tycho2.main"
ROWS = 1_871_011

DDL = """\
CREATE SCHEMA IF NOT EXISTS tycho2;
CREATE TABLE tycho2.main (id integer PRIMARY KEY, ra double precision, dec double precision,
                          vtmag real, sweep smallint);
"""
INDEX_DDL = """\
CREATE INDEX main_spoint_idx ON tycho2.main USING gist (spoint(radians(ra), radians(dec)));
CREATE INDEX main_vtmag_idx ON tycho2.main (vtmag);
CREATE INDEX main_sweep_idx ON tycho2.main (sweep);
CLUSTER tycho2.main USING main_spoint_idx;
ANALYZE tycho2.main;
"""

#: The publishing metadata of the table (TOML, as a site would write it).
METADATA = """
[service]
title = "Tycho-2 benchmark"
maxrec = 10000

[schemas.tycho2]
description = "Tycho-2, from the astrometry.net index of Debian's astrometry-data-tycho2-07-littleendian."

[tables."tycho2.main"]
description = "Tycho-2 stars: position and VT magnitude (1,871,011 rows)."

[tables."tycho2.main".columns.id]
ucd = "meta.id;meta.main"
description = "Row number in the astrometry.net index (k-d tree order)."
principal = true

[tables."tycho2.main".columns.ra]
unit = "deg"
ucd = "pos.eq.ra;meta.main"
description = "Right ascension (ICRS), from the index's unit vector."
principal = true

[tables."tycho2.main".columns.dec]
unit = "deg"
ucd = "pos.eq.dec;meta.main"
description = "Declination (ICRS), from the index's unit vector."
principal = true

[tables."tycho2.main".columns.vtmag]
unit = "mag"
ucd = "phot.mag;em.opt.V"
description = "Tycho VT magnitude."
principal = true

[tables."tycho2.main".columns.sweep]
ucd = "meta.code"
description = "Brightness sweep of the astrometry.net index (0-255)."
principal = true
"""


def fetch_index(cache: Path | None = None) -> Path:
    """The index FITS file, downloaded and taken out of its Debian package once into ``cache``."""
    cache = cache or default_state_dir("tycho2")
    target = cache / Path(MEMBER).name
    if target.exists():
        return target
    cache.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=cache) as work:
        print(f"fetching {PACKAGE} (88 MB) with apt-get download ...", file=sys.stderr, flush=True)
        subprocess.run(["apt-get", "download", PACKAGE], cwd=work, check=True, capture_output=True)
        deb = next(Path(work).glob("*.deb"))
        with subprocess.Popen(["dpkg-deb", "--fsys-tarfile", str(deb)], stdout=subprocess.PIPE) as tar:
            subprocess.run(["tar", "-x", "-C", work, MEMBER], stdin=tar.stdout, check=True)
        if tar.returncode:
            raise SystemExit(f"dpkg-deb could not read {deb}")
        shutil.move(str(Path(work) / MEMBER), target)
    return target


def read_index(path: Path) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """``ra``, ``dec`` (degrees), ``vtmag`` and ``sweep`` of every star of the index."""
    from astropy.io import fits

    with fits.open(path, memmap=True) as hdus:
        tables = {hdu.columns.names[0]: hdu for hdu in hdus[1:]}
        box = np.frombuffer(tables["kdtree_range_stars"].data.tobytes(), "<f8")
        scaled = np.frombuffer(tables["kdtree_data_stars"].data.tobytes(), "<u4").reshape(-1, 3)
        xyz = box[:3] + scaled * (1.0 / box[6])
        ra = np.degrees(np.arctan2(xyz[:, 1], xyz[:, 0])) % 360.0
        dec = np.degrees(np.arcsin(np.clip(xyz[:, 2] / np.linalg.norm(xyz, axis=1), -1.0, 1.0)))
        vtmag = np.asarray(tables["MAG_VT"].data["MAG_VT"], dtype=np.float32)
        sweep = np.asarray(tables["sweep"].data["sweep"], dtype=np.int16)
    return ra, dec, vtmag, sweep


def _rows(path: Path) -> Iterator[tuple[int, float, float, float, int]]:
    ra, dec, vtmag, sweep = read_index(path)
    for i in range(len(ra)):
        yield i + 1, float(ra[i]), float(dec[i]), float(vtmag[i]), int(sweep[i])


async def ensure_tycho2(pool: db.Pool, path: Path | None = None) -> bool:
    """Load :data:`TABLE` unless it is there with all :data:`ROWS` rows; returns whether it loaded now."""
    async with db.exclusive(pool, f"vostack.bench:{TABLE}"):
        if await db.row_count(pool, TABLE) == ROWS:
            return False
        index = path or fetch_index()
        await db.execute(pool, f"DROP TABLE IF EXISTS {TABLE} CASCADE;\n{DDL}")
        print(f"loading {ROWS:,} Tycho-2 stars ...", file=sys.stderr, flush=True)
        await db.copy_rows(pool, TABLE, ("id", "ra", "dec", "vtmag", "sweep"), _rows(index), chunk=100_000)
        await db.execute(pool, INDEX_DDL)
    return True


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--dsn", required=True)
    args = parser.parse_args()

    async def run() -> None:
        pool = await db.create_pool(args.dsn, max_size=2)
        try:
            loaded = await ensure_tycho2(pool)
            print(f"{TABLE}: {'loaded' if loaded else 'already loaded'}")
        finally:
            await pool.close()

    asyncio.run(run())


if __name__ == "__main__":
    main()
