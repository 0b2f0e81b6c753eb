"""The optional ADQL 2.1 features this translator supports, as TAPRegExt language features.

TAPRegExt 1.0 §2.3: a TAP service declares each optional language feature as a
``languageFeatures`` element of type ``ivo://ivoa.net/std/TAPRegExt#features-…``
with one ``feature`` (``form`` and ``description``) per construct.  ADQL 2.1
§4 defines the feature types and their forms.  Only what :func:`vostack.adql.translate`
really translates is declared: ``REGION`` with the simple STC-S shapes in ICRS
(:mod:`vostack.adql.regions`), ``CAST`` to the geometry types from DALI strings.
What vostack accepts beyond ADQL 2.1 (``CASE``) is declared with the type :data:`EXTENSIONS`.

This module returns plain tuples so that :mod:`vostack.adql` needs nothing from
:mod:`vostack.tap`; the TAP capabilities map them to ``LanguageFeature`` objects.
"""

from __future__ import annotations

from collections.abc import Iterable

from vostack.adql.udf import BUILTIN_UDFS, UDF

__all__ = ["EXTENSIONS", "TAPREGEXT", "language_features"]

TAPREGEXT = "ivo://ivoa.net/std/TAPRegExt"

#: The feature type of what vostack's ADQL has beyond ADQL 2.1 (modelled on GAVO DaCHS's
#: ``ivo://org.gavo.dc/std/exts#extra-adql-keywords``).
EXTENSIONS = "ivo://vostack.org/std/exts#extra-adql-keywords"

_GEO = f"{TAPREGEXT}#features-adqlgeo"
_FEATURES: tuple[tuple[str, str, str], ...] = (
    (_GEO, "POINT", "A position on the sky: POINT(longitude, latitude) in degrees (ICRS)."),
    (_GEO, "CIRCLE", "A circle: CIRCLE(longitude, latitude, radius) or CIRCLE(point, radius), in degrees."),
    (_GEO, "BOX", "A box: BOX(longitude, latitude, width, height); its edges are great circles between corners."),
    (_GEO, "POLYGON", "A spherical polygon: POLYGON(lon1, lat1, lon2, lat2, lon3, lat3, ...) or of points."),
    (_GEO, "CENTROID", "The centre of a circle, or the centre of mass on the sphere of a polygon."),
    (
        _GEO,
        "REGION",
        "An STC-S region in ICRS: REGION('Position ICRS x y'), 'Circle ICRS x y r', 'Box ICRS x y w h' or "
        "'Polygon ICRS x1 y1 x2 y2 x3 y3 ...' (degrees); other shapes and frames are refused.",
    ),
    (_GEO, "AREA", "The area of a geometry in square degrees."),
    (_GEO, "COORD1", "The longitude of a point in degrees."),
    (_GEO, "COORD2", "The latitude of a point in degrees."),
    (_GEO, "COORDSYS", "The coordinate system of a geometry: always ICRS here."),
    (_GEO, "DISTANCE", "The great-circle distance in degrees: DISTANCE(p1, p2) or DISTANCE(lon1, lat1, lon2, lat2)."),
    (_GEO, "CONTAINS", "1 if the first geometry lies inside the second, else 0 (uses the spatial indexes)."),
    (_GEO, "INTERSECTS", "1 if the two geometries overlap, else 0 (uses the spatial indexes)."),
    (f"{TAPREGEXT}#features-adql-string", "LOWER", "Lower-case a string."),
    (f"{TAPREGEXT}#features-adql-string", "UPPER", "Upper-case a string."),
    (f"{TAPREGEXT}#features-adql-string", "ILIKE", "Case-insensitive LIKE."),
    (f"{TAPREGEXT}#features-adql-sets", "UNION", "Rows of either query (with ALL: keep duplicates)."),
    (f"{TAPREGEXT}#features-adql-sets", "EXCEPT", "Rows of the first query not in the second."),
    (f"{TAPREGEXT}#features-adql-sets", "INTERSECT", "Rows in both queries."),
    (f"{TAPREGEXT}#features-adql-common-table", "WITH", "Common table expressions (not recursive)."),
    (
        f"{TAPREGEXT}#features-adql-type",
        "CAST",
        "CAST to SMALLINT, INTEGER, BIGINT, REAL, DOUBLE PRECISION, CHAR(n), VARCHAR(n) or TIMESTAMP, "
        "and of DALI strings ('x y', 'x y r', 'x1 y1 x2 y2 ...' in degrees) to POINT, CIRCLE or POLYGON.",
    ),
    (
        f"{TAPREGEXT}#features-adql-unit",
        "IN_UNIT",
        "Convert a value with a known unit: IN_UNIT(x, 'unit') (VOUnits, converted with astropy.units).",
    ),
    (f"{TAPREGEXT}#features-adql-bitwise", "&", "Bitwise AND of integers."),
    (f"{TAPREGEXT}#features-adql-bitwise", "|", "Bitwise OR of integers."),
    (f"{TAPREGEXT}#features-adql-bitwise", "^", "Bitwise XOR of integers."),
    (f"{TAPREGEXT}#features-adql-bitwise", "~", "Bitwise NOT of an integer."),
    (f"{TAPREGEXT}#features-adql-offset", "OFFSET", "Skip the first rows of the result."),
    (f"{TAPREGEXT}#features-adql-conditional", "COALESCE", "The first of its arguments that is not NULL."),
    (
        EXTENSIONS,
        "CASE",
        "Not in ADQL 2.1: SQL's conditional value, CASE WHEN condition THEN value ... [ELSE value] END, and "
        "CASE value WHEN value THEN value ... [ELSE value] END; the branches give values of one kind.",
    ),
)


def language_features(udfs: Iterable[UDF] = ()) -> list[tuple[str, str, str]]:
    """``(type_ivoid, form, description)`` of every optional ADQL 2.1 feature translated (TAPRegExt 1.0 §2.3).

    ``udfs`` are the portal's user-defined functions; they are declared after the
    built-in ``ivo_*`` ones as ``features-udf`` with their signature as the form.
    """
    features = list(_FEATURES)
    offered = {udf.name.upper(): udf for udf in (*BUILTIN_UDFS, *udfs)}
    features.extend((f"{TAPREGEXT}#features-udf", udf.form, udf.description) for udf in offered.values())
    return features
