"""Geometry written as text: DALI serialisations (for CAST) and STC-S regions (for REGION).

ADQL 2.1 §4.7 lets a query cast a string holding the DALI serialisation of a
geometry (DALI 1.1 §3.3: ``"x y"`` for a point, ``"x y r"`` for a circle,
``"x1 y1 x2 y2 x3 y3 …"`` for a polygon, all in degrees) to ``POINT``,
``CIRCLE`` or ``POLYGON``.  ``REGION('…')`` (ADQL 2.1 §4.2, the REGION type of
§3.4) takes an STC-S string (STC-S 1.0 §5); this translator reads the simple
shapes in ICRS: ``Position``, ``Circle``, ``Box`` and ``Polygon``, with the
optional ``fillfactor``, reference position, ``SPHERICAL2`` flavour and ``unit
deg`` (or ``unit rad``) of the grammar.  Anything else (other frames, ``Union``,
``Intersection``, ``Not``, ``Ellipse``, …) is refused with a message naming it.

Both readers return plain floats in degrees; :func:`vostack.adql.expressions.literal_geometry`
builds the nodes, so nothing from the string reaches the SQL but numbers.
"""

from __future__ import annotations

import math
import re

__all__ = ["GEOMETRY_CASTS", "read_dali", "read_stcs"]

#: The geometry types ``CAST`` converts DALI strings to, with their number of values.
GEOMETRY_CASTS: dict[str, str] = {"POINT": "2 numbers", "CIRCLE": "3 numbers", "POLYGON": "3 or more pairs of numbers"}

_NUMBER = re.compile(r"[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?\Z")
_SHAPES = {"POSITION": "POINT", "CIRCLE": "CIRCLE", "BOX": "BOX", "POLYGON": "POLYGON"}
_OTHER_SHAPES = frozenset({"UNION", "INTERSECTION", "NOT", "DIFFERENCE", "ELLIPSE", "CONVEX", "SECTOR", "ALLSKY"})
_FRAMES = frozenset({"ICRS"})
_REFPOS = frozenset(
    {
        "GEOCENTER",
        "BARYCENTER",
        "HELIOCENTER",
        "TOPOCENTER",
        "LSR",
        "LSRK",
        "LSRD",
        "GALACTIC_CENTER",
        "LOCAL_GROUP_CENTER",
        "MOON",
        "EMBARYCENTER",
        "RELOCATABLE",
        "UNKNOWNREFPOS",
    }
)
_COUNTS = {"POINT": 2, "CIRCLE": 3, "BOX": 4}


def _numbers(words: list[str], what: str) -> list[float]:
    values = []
    for word in words:
        if not _NUMBER.match(word) or not math.isfinite(float(word)):
            raise ValueError(f"{word!r} is not a number in {what}")
        values.append(float(word))
    return values


def _check(kind: str, values: list[float], what: str) -> None:
    """Counts and ranges (ADQL 2.1 §4.2.1: longitudes in [0, 360], latitudes in [-90, 90], degrees)."""
    count = _COUNTS.get(kind)
    if count is not None and len(values) != count:
        raise ValueError(f"{what} needs {count} numbers, not {len(values)}")
    if kind == "POLYGON" and (len(values) < 6 or len(values) % 2):
        raise ValueError(f"{what} needs 3 or more longitude/latitude pairs")
    pairs = len(values) // 2 * 2 if kind == "POLYGON" else 2
    for lat in values[1:pairs:2]:
        if not -90 <= lat <= 90:
            raise ValueError(f"latitude {lat:g} is outside [-90, 90] degrees in {what}")
    if kind == "CIRCLE" and not 0 <= values[2] <= 90:
        raise ValueError(f"the radius {values[2]:g} is outside [0, 90] degrees in {what}")
    if kind == "BOX" and not (0 <= values[2] <= 180 and 0 <= values[3] <= 180):
        raise ValueError(f"the box size is outside [0, 180] degrees in {what}")


def read_dali(kind: str, text: str) -> list[float]:
    """The numbers (degrees) of a DALI-serialised ``kind`` (``POINT``, ``CIRCLE`` or ``POLYGON``), DALI 1.1 §3.3."""
    what = f"the {kind} {text!r}"
    values = _numbers(text.split(), what)
    _check(kind, values, what)
    return values


def read_stcs(text: str) -> tuple[str, list[float]]:
    """``(kind, numbers in degrees)`` of an STC-S ``Position``, ``Circle``, ``Box`` or ``Polygon`` in ICRS.

    ``kind`` is the ADQL geometry it becomes: ``POINT``, ``CIRCLE``, ``BOX`` or ``POLYGON``.
    Raises :class:`ValueError` saying what is not supported.
    """
    words = text.split()
    if not words:
        raise ValueError("REGION needs an STC-S region, not an empty string")
    shape = words[0].upper()
    kind = _SHAPES.get(shape)
    if kind is None:
        if shape in _OTHER_SHAPES:
            raise ValueError(
                f"STC-S {words[0]} regions are not supported: REGION takes a Position, Circle, Box or Polygon in ICRS"
            )
        raise ValueError(f"{words[0]!r} is not an STC-S region (Position, Circle, Box or Polygon)")
    rest = words[1:]
    if len(rest) >= 2 and rest[0].upper() == "FILLFACTOR":
        if not _NUMBER.match(rest[1]) or float(rest[1]) != 1:
            raise ValueError("REGION supports only fillfactor 1")
        rest = rest[2:]
    if not rest or rest[0].upper() not in _FRAMES:
        frame = rest[0] if rest else "no frame"
        raise ValueError(f"REGION supports the ICRS frame only, not {frame!r}")
    rest = rest[1:]
    if rest and rest[0].upper() in _REFPOS:
        rest = rest[1:]
    if rest and rest[0].upper() == "SPHERICAL2":
        rest = rest[1:]
    scale = 1.0
    if len(rest) >= 2 and rest[-2].lower() == "unit":
        unit = rest[-1].lower()
        if unit not in ("deg", "rad"):
            raise ValueError(f"REGION supports the units deg and rad, not {rest[-1]!r}")
        scale = math.degrees(1.0) if unit == "rad" else 1.0
        rest = rest[:-2]
    what = f"the STC-S {words[0]}"
    values = [value * scale for value in _numbers(rest, what)]
    _check(kind, values, what)
    return kind, values
