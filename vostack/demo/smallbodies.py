"""The demo's small bodies: asteroids and comets of the JPL Small-Body Database, as KStars 3.6.2 ships them.

KStars keeps two answers of the JPL SBDB Query API 1.0 (``signature.source`` in each file) in its data package,
Debian ``kstars-data`` 5:3.6.2-2: ``usr/share/kstars/asteroids.dat`` (7,099 asteroids, most with osculating
elements at the epoch MJD 59800; H, G, diameter, albedo, rotation period and the orbit class of the SBDB) and
``usr/share/kstars/comets.dat`` (3,768 comets: perihelion distance and time, angles, total and nuclear
magnitude parameters M1 and M2).  Each is one line of JSON: ``fields`` names the columns, ``data`` holds the
rows.  The package (79 MB) is fetched once with ``apt-get download`` into the demo's cache directory; the two
files are read out of it in place and kept, the package is removed (:mod:`vostack.demo.downloads`).

Names follow EPN-TAP 2.0 §2.1.3 (target_name): an asteroid is called by its name, else its principal
designation (its number and the other names go to alt_target_name); a comet by its code and designation
(``1P``, ``73P-B``, ``C/2021 S4``), the discoverers' names going to alt_target_name.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator, Sequence
from datetime import UTC, date, datetime
from pathlib import Path

from vostack.demo.downloads import fetch_deb_files
from vostack.demo.spex import LoadReport

__all__ = [
    "COLUMNS",
    "DDL",
    "DWARF_PLANETS",
    "KSTARS_PACKAGE",
    "TABLE",
    "asteroid_rows",
    "comet_rows",
    "fetch_kstars",
    "rows",
]

KSTARS_PACKAGE = "kstars-data"
TABLE = "planetary.small_bodies"
_FILES = ("asteroids.dat", "comets.dat")
_DIRECTORY = "usr/share/kstars/"

#: The asteroids the IAU recognises as dwarf planets (Resolution B5 of 2006 for Ceres, Pluto and Eris; Haumea
#: and Makemake named as such in 2008), by number: EPN-TAP target_class dwarf_planet#asteroid.
DWARF_PLANETS = frozenset({1, 134340, 136108, 136199, 136472})

#: MJD to JD (the SBDB gives epochs in MJD, EPN-TAP 2.0 §2.1 wants JD).
MJD_ZERO = 2400000.5

DDL = f"""\
CREATE SCHEMA IF NOT EXISTS planetary;
DROP TABLE IF EXISTS {TABLE} CASCADE;
CREATE TABLE {TABLE} (
    full_name text PRIMARY KEY,
    kind text NOT NULL CHECK (kind IN ('asteroid', 'comet')),
    target_name text NOT NULL,
    alt_names text,
    number integer,
    name text,
    designation text,
    body_class text NOT NULL,
    orbit_class text NOT NULL,
    neo boolean NOT NULL,
    h double precision,
    g double precision,
    m1 double precision,
    m2 double precision,
    diameter double precision,
    extent text,
    albedo double precision,
    rot_per double precision,
    orbit_id text NOT NULL,
    epoch_mjd double precision NOT NULL,
    e double precision NOT NULL,
    a double precision,
    q double precision NOT NULL,
    i double precision NOT NULL,
    om double precision NOT NULL,
    w double precision NOT NULL,
    ma double precision,
    tp_jd double precision,
    period_years double precision,
    moid double precision,
    released date NOT NULL
);
"""

COLUMNS = (
    "full_name", "kind", "target_name", "alt_names", "number", "name", "designation", "body_class", "orbit_class",
    "neo", "h", "g", "m1", "m2", "diameter", "extent", "albedo", "rot_per", "orbit_id", "epoch_mjd", "e", "a", "q",
    "i", "om", "w", "ma", "tp_jd", "period_years", "moid", "released",
)  # fmt: skip

# "     1 Ceres (A801 AA)", "  2060 Chiron (1977 UB)", "       (2022 HK5)": number, name, principal designation
_ASTEROID = re.compile(r"^\s*(?:(\d+)\s+)?([^()]*?)\s*(?:\(([^()]*)\))?\s*$")
# "1P/Halley", "73P/Schwassmann-Wachmann 3-B" (fragment B), "432P/": a numbered periodic comet
_NUMBERED = re.compile(r"^\s*(\d+[PDI])/(.*?)\s*$")
# "C/2021 S4 (Tsuchinshan)", "D/1993 F2-P1 (Shoemaker-Levy 9)", "C/-146 P1": a designation, discoverers
_DESIGNATED = re.compile(r"^\s*([PCDXAI]/-?\d+ [A-Z]{1,2}\d*(?:-[A-Z]+\d*)?)\s*(?:\((.*)\))?\s*$")
_FRAGMENT = re.compile(r"^(.*?)-([A-Z]{1,2})$")


def fetch_kstars(cache_dir: Path) -> Path:
    """The directory in ``cache_dir`` with KStars's ``asteroids.dat`` and ``comets.dat`` (``kstars-data``)."""
    return fetch_deb_files(cache_dir, KSTARS_PACKAGE, _DIRECTORY, _FILES, "kstars")


def _number(value: object) -> float | None:
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    try:
        return float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return None


def _text(value: object) -> str | None:
    return value.strip() or None if isinstance(value, str) else None


def _table(path: Path) -> tuple[list[dict[str, object]], date]:
    """The rows of an SBDB answer as dicts by field name, and the file's date (its release in the package)."""
    document = json.loads(path.read_text(encoding="utf-8"))
    fields: Sequence[str] = document["fields"]
    released = datetime.fromtimestamp(path.stat().st_mtime, UTC).date()
    return [dict(zip(fields, row, strict=True)) for row in document["data"]], released


def _hash_list(names: Sequence[str | None], leave_out: str) -> str | None:
    """The distinct ``names`` but ``leave_out`` as an EPN-TAP hash list (``#`` in a name becomes ``_``)."""
    kept = [n.replace("#", "_") for n in dict.fromkeys(n for n in names if n) if n != leave_out]
    return "#".join(kept) or None


def asteroid_rows(directory: Path, report: LoadReport | None = None) -> Iterator[tuple[object, ...]]:
    """One tuple per asteroid of ``asteroids.dat``, ordered as :data:`COLUMNS`; others counted in ``report``."""
    report = report if report is not None else LoadReport()
    records, released = _table(directory / "asteroids.dat")
    for record in records:
        report.rows += 1
        full_name = str(record["full_name"]).strip()
        parts = _ASTEROID.match(full_name)
        elements = [_number(record[k]) for k in ("epoch_mjd", "e", "q", "i", "om", "w")]
        if parts is None or not full_name:
            report.skip("unreadable name")
            continue
        if any(v is None for v in elements):
            report.skip("incomplete orbital elements")
            continue
        number = int(parts.group(1)) if parts.group(1) else None
        name, designation = parts.group(2) or None, parts.group(3) or None
        target = name or designation or full_name
        body_class = "dwarf_planet#asteroid" if number in DWARF_PLANETS else "asteroid"
        report.loaded += 1
        epoch, e, q, i, om, w = elements
        yield (
            full_name, "asteroid", target, _hash_list([str(number) if number else None, name, designation], target),
            number, name, designation, body_class, str(record["class"]), record["neo"] == "Y",
            _number(record["H"]), _number(record["G"]), None, None, _number(record["diameter"]),
            _text(record["extent"]), _number(record["albedo"]), _number(record["rot_per"]), str(record["orbit_id"]),
            epoch, e, _number(record["a"]), q, i, om, w, _number(record["ma"]), None, _number(record["per_y"]),
            _number(record["moid"]), released,
        )  # fmt: skip


def _comet_names(full_name: str) -> tuple[str, str | None] | None:
    """(designation, discoverers' name) of a comet: ``1P``/``Halley``, ``73P-B``, ``C/2021 S4``/``Tsuchinshan``."""
    numbered = _NUMBERED.match(full_name)
    if numbered is not None:
        code, name = numbered.group(1), numbered.group(2) or None
        fragment = _FRAGMENT.match(name) if name else None
        if fragment is not None:  # "Harrington-A": fragment A of 51P is 51P-A
            return f"{code}-{fragment.group(2)}", fragment.group(1)
        return code, name
    designated = _DESIGNATED.match(full_name)
    if designated is not None:
        return designated.group(1), designated.group(2) or None
    return None


def comet_rows(directory: Path, report: LoadReport | None = None) -> Iterator[tuple[object, ...]]:
    """One tuple per comet of ``comets.dat``, ordered as :data:`COLUMNS`; others counted in ``report``.

    The semi-major axis of a closed orbit is q / (1 - e); open orbits (e >= 1) have none.
    """
    report = report if report is not None else LoadReport()
    records, released = _table(directory / "comets.dat")
    for record in records:
        report.rows += 1
        full_name = str(record["full_name"]).strip()
        names = _comet_names(full_name)
        elements = [_number(record[k]) for k in ("epoch.mjd", "e", "q", "i", "om", "w", "tp")]
        if names is None:
            report.skip("unreadable designation")
            continue
        if any(v is None for v in elements):
            report.skip("incomplete orbital elements")
            continue
        designation, name = names
        epoch, e, q, i, om, w, tp = elements
        assert e is not None and q is not None
        report.loaded += 1
        yield (
            full_name, "comet", designation, _hash_list([full_name, name], designation), None, name, designation,
            "comet", str(record["class"]), record["neo"] == "Y", _number(record["H"]), _number(record["G"]),
            _number(record["M1"]), _number(record["M2"]), _number(record["diameter"]), _text(record["extent"]),
            _number(record["albedo"]), _number(record["rot_per"]), str(record["orbit_id"]), epoch, e,
            q / (1 - e) if e < 1 else None, q, i, om, w, None, tp, _number(record["per.y"]), _number(record["moid"]),
            released,
        )  # fmt: skip


def rows(directory: Path, report: LoadReport | None = None) -> Iterator[tuple[object, ...]]:
    """The asteroids, then the comets."""
    report = report if report is not None else LoadReport()
    yield from asteroid_rows(directory, report)
    yield from comet_rows(directory, report)
