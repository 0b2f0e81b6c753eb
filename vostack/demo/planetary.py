"""The demo's planetary collections: named surface features (USGS Gazetteer) and exoplanets (Open Exoplanet Catalogue).

* The IAU/USGS Gazetteer of Planetary Nomenclature as Stellarium 0.22 distributes it (Debian package
  ``stellarium-data``: ``usr/share/stellarium/data/nomenclature.dat``, with the origin of each name in the
  translators' comments) and the bodies' radii and types from Stellarium's ``ssystem_major.ini`` and
  ``ssystem_minor.ini``.  The package (246 MB) is fetched once with ``apt-get download`` into a cache
  directory; the three files are read out of it with Python's own ``ar`` and ``tar`` readers and kept
  (0.6 MB); the package is then removed.
* The Open Exoplanet Catalogue (Rein 2012, 2012arXiv1211.7121R) snapshot that astroquery 0.4.11 ships as test
  data (``astroquery/open_exoplanet_catalogue/tests/data/systems.xml.gz``: 1,809 planets in 1,086
  systems), read from the wheel (``pip download --no-deps``, 11 MB), which is not installed.

Each is loaded into a table of the schema ``planetary``; :data:`COLLECTIONS_PATH` declares their EPN-TAP
2.0 mappings (``gazetteer.epn_core``, ``oec.epn_core``) in TOML.
"""

from __future__ import annotations

import configparser
import gzip
import io
import lzma
import math
import os
import re
import subprocess
import sys
import tarfile
import zipfile
from collections.abc import Callable, Iterator
from datetime import UTC, date, datetime
from pathlib import Path
from typing import IO
from xml.etree import ElementTree

from vostack import db
from vostack.config import read_toml
from vostack.demo.spex import LoadReport
from vostack.epntap import EPNCollection, collection_from_toml
from vostack.errors import VOError

__all__ = [
    "ASTROQUERY_WHEEL",
    "COLLECTIONS_PATH",
    "EXOPLANETS",
    "FEATURES",
    "STELLARIUM_PACKAGE",
    "collections",
    "ensure_planetary",
    "exoplanet_rows",
    "feature_rows",
    "fetch_astroquery_wheel",
    "fetch_stellarium",
]

STELLARIUM_PACKAGE = "stellarium-data"
ASTROQUERY_WHEEL = "astroquery==0.4.11"
COLLECTIONS_PATH = Path(__file__).with_name("planetary.toml")
"""The EPN-TAP mappings of the demo's collections."""

FEATURES = "planetary.nomenclature"
EXOPLANETS = "planetary.exoplanets"
_STELLARIUM_FILES = ("nomenclature.dat", "ssystem_major.ini", "ssystem_minor.ini")
_STELLARIUM_DIR = "usr/share/stellarium/data/"
_OEC_MEMBER = "astroquery/open_exoplanet_catalogue/tests/data/systems.xml.gz"

#: Bodies with named features but no entry in Stellarium's solar-system files: their EPN target class
#: (the asteroids visited by Rosetta, NEAR, Hayabusa 1 and 2, OSIRIS-REx; Dactyl is Ida's moon).
_UNLISTED_CLASSES = {"Lutetia": "asteroid", "Bennu": "asteroid", "Steins": "asteroid", "Mathilde": "asteroid",
                     "Itokawa": "asteroid", "Ryugu": "asteroid", "Dactyl": "satellite"}  # fmt: skip
#: Stellarium's body types (``type=`` of its .ini files) as EPN-TAP 2.0 target classes (§2.1.3).
_CLASSES = {"planet": "planet", "moon": "satellite", "dwarf planet": "dwarf_planet#asteroid", "asteroid": "asteroid"}

#: Mass and radius of Jupiter: the EPN-TAP 2.0 §3.2 constant, and the IAU 2015 Resolution B3 nominal
#: equatorial radius (the OEC gives planets' masses and radii in these units).
JUPITER_MASS_KG = 1.8982e27
JUPITER_RADIUS_KM = 71492.0
PARSEC_AU = 648000 / math.pi  # IAU 2015 Resolution B2


def _run(command: list[str], cwd: Path, what: str) -> None:
    result = subprocess.run(command, cwd=cwd, capture_output=True, text=True, check=False)
    if result.returncode != 0:
        raise VOError(f"cannot download {what} for the planetary demo: {result.stderr.strip()[-500:]}")


def _ar_member(archive: IO[bytes], prefix: str) -> tuple[int, int]:
    """Offset and size of the first member of a Debian package (an ``ar`` archive) whose name starts with ``prefix``."""
    if archive.read(8) != b"!<arch>\n":
        raise VOError("not a Debian package (ar archive)")
    while header := archive.read(60):
        name, size = header[:16].decode().strip(), int(header[48:58])
        if name.startswith(prefix):
            return archive.tell(), size
        archive.seek(size + size % 2, io.SEEK_CUR)
    raise VOError(f"the package has no {prefix}* member")


def fetch_stellarium(cache_dir: Path) -> Path:
    """The directory in ``cache_dir`` with Stellarium's nomenclature and solar-system files.

    The first time, ``apt-get download stellarium-data`` fetches the package and its three files are read
    out of ``data.tar.xz`` in place; the package is then deleted.
    """
    target = cache_dir / "stellarium"
    if all((target / name).is_file() for name in _STELLARIUM_FILES):
        return target
    cache_dir.mkdir(parents=True, exist_ok=True)
    _run(["apt-get", "download", STELLARIUM_PACKAGE], cache_dir, STELLARIUM_PACKAGE)
    (package,) = sorted(cache_dir.glob(f"{STELLARIUM_PACKAGE}_*.deb"))[-1:]
    staging = cache_dir / "stellarium.partial"
    staging.mkdir(exist_ok=True)
    wanted = {f"./{_STELLARIUM_DIR}{name}" for name in _STELLARIUM_FILES}
    with package.open("rb") as archive:
        offset, _ = _ar_member(archive, "data.tar.xz")
        archive.seek(offset)  # the xz stream ends with the member: it is read in place, as a stream
        with lzma.open(archive) as data, tarfile.open(fileobj=data, mode="r|") as tar:
            for member in tar:
                if member.name in wanted:
                    source = tar.extractfile(member)
                    assert source is not None
                    path = staging / Path(member.name).name
                    path.write_bytes(source.read())
                    os.utime(path, (member.mtime, member.mtime))  # the file's date is its release date
                    wanted.discard(member.name)
                    if not wanted:
                        break
    if wanted:
        raise VOError(f"{package.name} lacks {', '.join(sorted(wanted))}")
    (staging / "VERSION").write_text(package.name.split("_")[1] + "\n")
    staging.replace(target)
    package.unlink()
    return target


def fetch_astroquery_wheel(cache_dir: Path) -> Path:
    """The ``astroquery`` wheel in ``cache_dir``, downloaded with ``pip download --no-deps`` the first time."""
    cache_dir.mkdir(parents=True, exist_ok=True)
    found = sorted(cache_dir.glob("astroquery-0.4.11-*.whl"))
    if not found:
        pip = [sys.executable, "-m", "pip", "download", "--no-deps", "--quiet", ASTROQUERY_WHEEL, "-d", str(cache_dir)]
        _run(pip, cache_dir, ASTROQUERY_WHEEL)
        found = sorted(cache_dir.glob("astroquery-0.4.11-*.whl"))
    if not found:
        raise VOError(f"pip download {ASTROQUERY_WHEEL} left no wheel in {cache_dir}")
    return found[0]


# ---------------------------------------------------------------------- the gazetteer

FEATURES_DDL = f"""\
CREATE SCHEMA IF NOT EXISTS planetary;
DROP TABLE IF EXISTS {FEATURES} CASCADE;
CREATE TABLE {FEATURES} (
    feature_id integer PRIMARY KEY,
    body text NOT NULL,
    body_class text NOT NULL,
    body_radius double precision,
    name text NOT NULL,
    feature_type text NOT NULL,
    type_code text NOT NULL,
    lat double precision NOT NULL,
    lon double precision NOT NULL,
    diameter double precision,
    radius_deg double precision,
    lon_min double precision NOT NULL,
    lon_max double precision NOT NULL,
    lat_min double precision NOT NULL,
    lat_max double precision NOT NULL,
    origin text,
    released date NOT NULL
);
"""

FEATURE_COLUMNS = (
    "feature_id", "body", "body_class", "body_radius", "name", "feature_type", "type_code", "lat", "lon", "diameter",
    "radius_deg", "lon_min", "lon_max", "lat_min", "lat_max", "origin", "released",
)  # fmt: skip

_NAME = re.compile(r'_\("((?:[^"\\]|\\.)*)"(?:\s*,\s*"((?:[^"\\]|\\.)*)")?\)')
_ORIGIN = re.compile(r"#\s*TRANSLATORS:\s*\(([^)]*)\);?\s*(.*)")


def _bodies(directory: Path) -> dict[str, tuple[str, float | None]]:
    """Body name -> (EPN target class, equatorial radius in km) from Stellarium's solar-system files."""
    bodies: dict[str, tuple[str, float | None]] = {}
    for name in ("ssystem_major.ini", "ssystem_minor.ini"):
        parser = configparser.RawConfigParser(strict=False, inline_comment_prefixes=("#", ";"))
        parser.read(directory / name, encoding="utf-8")
        for section in parser.sections():
            body = parser.get(section, "name", fallback=None)
            kind = _CLASSES.get(parser.get(section, "type", fallback="").strip())
            if body is None or kind is None or body in bodies:
                continue
            try:
                radius: float | None = float(parser.get(section, "radius"))
            except (configparser.NoOptionError, ValueError):
                radius = None
            bodies[body] = (kind, radius)
    return bodies


def _extent(lon: float, lat: float, radius: float | None) -> tuple[float, float, float, float]:
    """(c1min, c1max, c2min, c2max) of a spherical cap of ``radius`` degrees (east longitudes, may wrap)."""
    if not radius:
        return lon, lon, lat, lat
    if lat + radius >= 90 or lat - radius <= -90:  # the cap holds a pole: every longitude
        return 0.0, 360.0, max(lat - radius, -90.0), min(lat + radius, 90.0)
    half = math.degrees(math.asin(min(1.0, math.sin(math.radians(radius)) / math.cos(math.radians(lat)))))
    if half >= 180:
        return 0.0, 360.0, lat - radius, lat + radius
    return (lon - half) % 360, (lon + half) % 360, lat - radius, lat + radius


def feature_rows(directory: Path, report: LoadReport | None = None) -> Iterator[tuple[object, ...]]:
    """One tuple per named feature, ordered as :data:`FEATURE_COLUMNS`; others counted in ``report``.

    Longitudes are made east 0..360 (a few Moon features are given in -180..180); a feature's footprint is
    the cap of its diameter on a sphere of its body's equatorial radius (none when the radius is unknown).
    """
    report = report if report is not None else LoadReport()
    bodies = _bodies(directory)
    path = directory / "nomenclature.dat"
    released = datetime.fromtimestamp(path.stat().st_mtime, UTC).date()
    seen: set[int] = set()
    origin: str | None = None
    with gzip.open(path, "rt", encoding="utf-8") as lines:
        for line in lines:
            if line.startswith("#"):
                found = _ORIGIN.match(line.strip())
                origin = found.group(2).strip() or None if found else origin
                continue
            fields, note, origin = line.rstrip("\n").split("\t"), origin, None
            if len(fields) != 7 or not fields[0].strip():
                if line.strip():
                    report.rows += 1
                    report.skip("malformed line")
                continue
            report.rows += 1
            body, ident, label, code, lat_text, lon_text, size_text = fields
            named = _NAME.fullmatch(label.strip())
            try:
                feature_id, lat, lon = int(ident), float(lat_text), float(lon_text)
                diameter = float(size_text) if size_text.strip() else None
            except ValueError:
                report.skip("unreadable number")
                continue
            if named is None:
                report.skip("unreadable name")
                continue
            if feature_id in seen:
                report.skip("feature ID given twice")
                continue
            if not -90 <= lat <= 90:
                report.skip("latitude outside -90..90")
                continue
            kind, body_radius = bodies.get(body, (_UNLISTED_CLASSES.get(body, ""), None))
            if not kind:
                report.skip("body of unknown type")
                continue
            seen.add(feature_id)
            lon %= 360
            radius = None
            if body_radius and diameter is not None:
                radius = min(math.degrees(diameter / 2 / body_radius), 89.0)
            c1min, c1max, c2min, c2max = _extent(lon, lat, radius)
            report.loaded += 1
            yield (feature_id, body, kind, body_radius, named.group(1), named.group(2) or "feature", code, lat, lon,
                   diameter, radius, c1min, c1max, c2min, c2max, note, released)  # fmt: skip


# ---------------------------------------------------------------------- exoplanets

EXOPLANETS_DDL = f"""\
CREATE SCHEMA IF NOT EXISTS planetary;
DROP TABLE IF EXISTS {EXOPLANETS} CASCADE;
CREATE TABLE {EXOPLANETS} (
    name text PRIMARY KEY,
    system_name text NOT NULL,
    star_name text,
    ra double precision NOT NULL,
    dec double precision NOT NULL,
    distance_pc double precision,
    mass_mjup double precision,
    radius_rjup double precision,
    period_days double precision,
    semimajor_axis_au double precision,
    eccentricity double precision,
    inclination_deg double precision,
    discovery_method text,
    discovery_year integer,
    list text,
    description text,
    last_update date NOT NULL
);
"""

EXOPLANET_COLUMNS = ("name", "system_name", "star_name", "ra", "dec", "distance_pc", "mass_mjup", "radius_rjup",
                     "period_days", "semimajor_axis_au", "eccentricity", "inclination_deg", "discovery_method",
                     "discovery_year", "list", "description", "last_update")  # fmt: skip


def _sexagesimal(text: str | None, scale: float) -> float | None:
    """``"12 20 43"`` (hours or degrees, minutes, seconds) times ``scale`` (15 for hours), else ``None``."""
    if not text or not text.strip():
        return None
    parts = text.split()
    sign = -1.0 if parts[0].startswith("-") else 1.0
    try:
        values = [abs(float(parts[0]))] + [float(p) for p in parts[1:3]]
    except ValueError:
        return None
    values += [0.0] * (3 - len(values))
    return sign * scale * (values[0] + values[1] / 60 + values[2] / 3600)


def _number(element: ElementTree.Element, tag: str) -> float | None:
    text = element.findtext(tag)
    try:
        value = float(text) if text is not None and text.strip() else None
    except ValueError:
        return None
    return value if value is not None and math.isfinite(value) else None


def _update(text: str | None, snapshot: date) -> date:
    """The OEC ``lastupdate`` (``yy/mm/dd``) as a date; ``snapshot`` when absent or unreadable."""
    try:
        yy, mm, dd = (int(p) for p in (text or "").strip().split("/"))
        return date(2000 + yy if yy < 70 else 1900 + yy, mm, dd)
    except ValueError:
        return snapshot


def exoplanet_rows(wheel: Path, report: LoadReport | None = None) -> Iterator[tuple[object, ...]]:
    """One tuple per planet of the catalogue, ordered as :data:`EXOPLANET_COLUMNS`; others counted in ``report``."""
    report = report if report is not None else LoadReport()
    with zipfile.ZipFile(wheel) as archive:
        info = archive.getinfo(_OEC_MEMBER)
        snapshot = date(*info.date_time[:3])
        root = ElementTree.fromstring(gzip.decompress(archive.read(_OEC_MEMBER)))
    seen: set[str] = set()

    def walk(
        element: ElementTree.Element, system: ElementTree.Element, star: ElementTree.Element | None
    ) -> Iterator[tuple[object, ...]]:
        for child in element:
            if child.tag in ("binary", "star"):
                yield from walk(child, system, child if child.tag == "star" else star)
            elif child.tag == "planet":
                yield from planet(child, system, star)

    def planet(
        element: ElementTree.Element, system: ElementTree.Element, star: ElementTree.Element | None
    ) -> Iterator[tuple[object, ...]]:
        report.rows += 1
        name = (element.findtext("name") or "").strip()
        ra = _sexagesimal(system.findtext("rightascension"), 15.0)
        dec = _sexagesimal(system.findtext("declination"), 1.0)
        if not name:
            report.skip("no name")
            return
        if name in seen:
            report.skip("name given twice")
            return
        if ra is None or dec is None or not (0 <= ra < 360 and -90 <= dec <= 90):
            report.skip("no position")
            return
        seen.add(name)
        year = _number(element, "discoveryyear")
        report.loaded += 1
        star_name = (star.findtext("name") or "").strip() or None if star is not None else None
        yield (
            name, (system.findtext("name") or "").strip(), star_name, ra, dec, _number(system, "distance"),
            _number(element, "mass"), _number(element, "radius"),
            _number(element, "period"), _number(element, "semimajoraxis"), _number(element, "eccentricity"),
            _number(element, "inclination"), (element.findtext("discoverymethod") or "").strip() or None,
            int(year) if year is not None else None, (element.findtext("list") or "").strip() or None,
            " ".join((element.findtext("description") or "").split()) or None,
            _update(element.findtext("lastupdate"), snapshot),
        )  # fmt: skip

    for system in root.iter("system"):
        yield from walk(system, system, None)


# ---------------------------------------------------------------------- loading and publishing


async def ensure_planetary(pool: db.Pool, stellarium: Path, astroquery_wheel: Path) -> dict[str, LoadReport]:
    """Load the source tables of the planetary collections unless they are there; the reports of those loaded now."""
    reports: dict[str, LoadReport] = {}
    sources: list[tuple[str, str, tuple[str, ...], Callable[[LoadReport], Iterator[tuple[object, ...]]]]] = [
        (FEATURES, FEATURES_DDL, FEATURE_COLUMNS, lambda r: feature_rows(stellarium, r)),
        (EXOPLANETS, EXOPLANETS_DDL, EXOPLANET_COLUMNS, lambda r: exoplanet_rows(astroquery_wheel, r)),
    ]
    for table, ddl, columns, rows in sources:
        async with db.exclusive(pool, f"vostack.demo:{table}"):  # demos started together load it once
            if (await db.row_count(pool, table) or 0) > 0:
                continue
            report = LoadReport()
            loaded = list(rows(report))
            await db.execute(pool, ddl)
            await db.copy_rows(pool, table, columns, loaded)
            await db.execute(pool, f"ANALYZE {table}")
            reports[table] = report
    return reports


def collections(path: Path = COLLECTIONS_PATH) -> list[EPNCollection]:
    """The EPN-TAP collections declared in the TOML file ``path`` (``[epntap.<schema>]`` tables)."""
    data = read_toml(path)
    return [collection_from_toml(schema, table) for schema, table in data.get("epntap", {}).items()]
