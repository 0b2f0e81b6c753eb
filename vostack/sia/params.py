"""SIA 2.0 query parameters (SIA 2.0 §2.1) parsed into values, and the SQL they mean on ``ivoa.obscore``.

Every parameter may be repeated: values of one name are ORed, names are ANDed (SIA 2.0 §2.1).  Numeric
intervals are two numbers ``lo hi`` (DALI 1.1 §3.3.4), either of which may be ``-Inf``/``+Inf``; a single
number stands for ``v v``.  POS is ``CIRCLE ra dec radius``, ``RANGE ra1 ra2 dec1 dec2`` or ``POLYGON ra1 dec1
...`` in ICRS degrees (SIA 2.0 §2.1.1).  The SQL compares ``ivoa.obscore`` columns with ``$n`` bind
parameters; a POS region meets each product's footprint (the GiST index of its table), or its centre for
products known by a point (spectra).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from vostack.dali import Params
from vostack.errors import ParameterError

__all__ = ["Region", "SIAQuery", "parse_sia", "where_sql"]

#: Interval parameters: name → (low column, high column) of ObsCore; an image matches when they overlap.
OVERLAPS = {"BAND": ("em_min", "em_max"), "TIME": ("t_min", "t_max")}
#: Interval parameters matched by one column lying inside the interval (SIA 2.0 §2.1.3-§2.1.9).
WITHIN = {"FOV": "s_fov", "SPATRES": "s_resolution", "EXPTIME": "t_exptime", "TIMERES": "t_resolution",
          "SPECRP": "em_res_power"}  # fmt: skip
#: String parameters: name → column compared for equality.
EQUALS = {"ID": "obs_publisher_did", "COLLECTION": "obs_collection", "FACILITY": "facility_name",
          "INSTRUMENT": "instrument_name", "DPTYPE": "dataproduct_type", "FORMAT": "access_format"}  # fmt: skip
POL_STATES = ("I", "Q", "U", "V", "RR", "LL", "RL", "LR", "XX", "YY", "XY", "YX", "POLI", "POLA")
RESPONSE_FORMATS = ("votable", "application/x-votable+xml", "text/xml")


@dataclass(frozen=True, slots=True)
class Region:
    """A POS value: ``shape`` CIRCLE, RANGE or POLYGON with its numbers in degrees."""

    shape: str
    values: tuple[float, ...]


@dataclass(frozen=True, slots=True)
class SIAQuery:
    """The constraints of one SIA 2.0 query: per parameter name, the values ORed together."""

    pos: tuple[Region, ...] = ()
    intervals: dict[str, tuple[tuple[float, float], ...]] = field(default_factory=dict)
    strings: dict[str, tuple[str, ...]] = field(default_factory=dict)
    pol: tuple[str, ...] = ()
    calib: tuple[int, ...] = ()
    target: tuple[str, ...] = ()
    maxrec: int = 1000


def _number(text: str, name: str) -> float:
    word = text.strip().lower()
    if word in ("-inf", "+inf", "inf"):
        return -math.inf if word.startswith("-") else math.inf
    try:
        value = float(word)
    except ValueError:
        raise ParameterError(f"{name}: {text!r} is not a number", param=name) from None
    if math.isnan(value):
        raise ParameterError(f"{name}: NaN is no bound", param=name)
    return value


def parse_interval(text: str, name: str) -> tuple[float, float]:
    words = text.split()
    if len(words) == 1:
        value = _number(words[0], name)
        return value, value
    if len(words) != 2:
        raise ParameterError(f"{name} is an interval of two numbers 'lo hi' (-Inf/+Inf for open ends)", param=name)
    low, high = _number(words[0], name), _number(words[1], name)
    if low > high:
        raise ParameterError(f"{name}: the interval {text!r} is empty (lo > hi)", param=name)
    return low, high


def parse_region(text: str, *, sky: bool = True) -> Region:
    """A POS value; with ``sky`` its numbers are checked as ICRS degrees (SODA cuts of solar images take
    helioprojective arcseconds)."""
    words = text.split()
    shape = words[0].upper() if words else ""
    numbers = tuple(_number(w, "POS") for w in words[1:])
    finite = [v for v in numbers if math.isfinite(v)]
    if shape == "CIRCLE":
        if len(numbers) != 3 or len(finite) != 3:
            raise ParameterError("POS=CIRCLE takes three finite numbers: ra dec radius (degrees)", param="POS")
        ra, dec, radius = numbers
        if not sky:
            return Region(shape, numbers)
        if not -90 <= dec <= 90 or not 0 < radius <= 180:
            raise ParameterError("POS=CIRCLE: dec lies in [-90, 90] and the radius in (0, 180]", param="POS")
        return Region(shape, (ra % 360, dec, radius))
    if shape == "RANGE":
        if len(numbers) != 4:
            raise ParameterError("POS=RANGE takes four numbers: ra1 ra2 dec1 dec2 (degrees, -Inf/+Inf)", param="POS")
        ra1, ra2, dec1, dec2 = numbers
        ra1, ra2 = max(ra1, 0.0), min(ra2, 360.0)
        dec1, dec2 = max(dec1, -90.0), min(dec2, 90.0)
        if ra1 > ra2 or dec1 > dec2:
            raise ParameterError("POS=RANGE: each range is 'low high'", param="POS")
        return Region(shape, (ra1, ra2, dec1, dec2))
    if shape == "POLYGON":
        if len(numbers) < 6 or len(numbers) % 2 or len(finite) != len(numbers):
            raise ParameterError("POS=POLYGON takes three or more vertices: ra1 dec1 ra2 dec2 ...", param="POS")
        if sky and any(not -90 <= d <= 90 for d in numbers[1::2]):
            raise ParameterError("POS=POLYGON: each dec lies in [-90, 90]", param="POS")
        return Region(shape, numbers)
    raise ParameterError(f"POS {text!r}: the shape is CIRCLE, RANGE or POLYGON", param="POS")


def parse_sia(params: Params, *, maxrec: int, hardlimit: int) -> SIAQuery:
    """The SIA 2.0 constraints of ``params`` (SIA 2.0 §2.1), MAXREC (DALI 1.1 §3.2.2) and RESPONSEFORMAT."""
    response = (params.get("RESPONSEFORMAT") or "votable").strip().lower()
    if response.split(";")[0].strip() not in RESPONSE_FORMATS:
        raise ParameterError(f"RESPONSEFORMAT {response!r}: this service answers in VOTable", param="RESPONSEFORMAT")
    limit = maxrec
    text = params.get("MAXREC")
    if text is not None and text.strip():
        try:
            limit = int(text)
        except ValueError:
            raise ParameterError(f"MAXREC {text!r} is not an integer", param="MAXREC") from None
        if limit < 0:
            raise ParameterError("MAXREC is 0 or more", param="MAXREC")
    intervals = {
        name: tuple(parse_interval(v, name) for v in params.getall(name))
        for name in (*OVERLAPS, *WITHIN)
        if params.getall(name)
    }
    strings = {name: tuple(v.strip() for v in params.getall(name)) for name in EQUALS if params.getall(name)}
    pol = tuple(v.strip().upper() for v in params.getall("POL"))
    unknown = [p for p in pol if p not in POL_STATES]
    if unknown:
        raise ParameterError(f"POL {unknown[0]!r}: one of {', '.join(POL_STATES)}", param="POL")
    calib = []
    for v in params.getall("CALIB"):
        try:
            calib.append(int(v))
        except ValueError:
            raise ParameterError(f"CALIB {v!r} is a calibration level 0 to 4", param="CALIB") from None
    return SIAQuery(
        pos=tuple(parse_region(v) for v in params.getall("POS")),
        intervals=intervals,
        strings=strings,
        pol=pol,
        calib=tuple(calib),
        target=tuple(v.strip() for v in params.getall("TARGET")),
        maxrec=min(limit, hardlimit),
    )


def _polygon(values: Sequence[float]) -> str:
    return "{" + ",".join(f"({values[i] % 360!r}d,{values[i + 1]!r}d)" for i in range(0, len(values), 2)) + "}"


def _region_sql(region: Region, arg: Callable[[object], str]) -> str:
    v = region.values
    if region.shape == "CIRCLE":
        return (
            f"scircle(spoint(radians({arg(v[0])}::float8), radians({arg(v[1])}::float8)), radians({arg(v[2])}::float8))"
        )
    if region.shape == "RANGE":
        if v[1] - v[0] >= 360.0 and v[2] <= -90 and v[3] >= 90:  # the whole sky: no box holds it
            return ""
        low = f"spoint(radians({arg(v[0])}::float8), radians({arg(v[2])}::float8))"
        return f"sbox({low}, spoint(radians({arg(v[1])}::float8), radians({arg(v[3])}::float8)))"
    return f"{arg(_polygon(v))}::spoly"


def where_sql(query: SIAQuery, arg: Callable[[object], str]) -> list[str]:
    """The conditions of ``query`` on ``ivoa.obscore`` (ANDed), with values through ``arg`` (bind parameters)."""
    where: list[str] = []
    if query.pos:
        either = []
        for region in query.pos:
            shape = _region_sql(region, arg)
            if not shape:
                either.append("TRUE")
                continue
            either.append(
                f"(s_footprint && {shape} OR (s_footprint IS NULL AND "
                f"spoint(radians(s_ra), radians(s_dec)) <@ {shape}))"
            )
        where.append("(" + " OR ".join(either) + ")")
    for name, values in query.intervals.items():
        parts = []
        for low, high in values:
            if name in OVERLAPS:
                lo_col, hi_col = OVERLAPS[name]
            else:
                lo_col = hi_col = WITHIN[name]
            conds = []
            if math.isfinite(low):
                conds.append(f"{hi_col} >= {arg(low)}::float8")
            if math.isfinite(high):
                conds.append(f"{lo_col} <= {arg(high)}::float8")
            parts.append("(" + (" AND ".join(conds) or f"{lo_col} IS NOT NULL") + ")")
        where.append("(" + " OR ".join(parts) + ")")
    for name, strings in query.strings.items():
        where.append(f"{EQUALS[name]} = ANY({arg(list(strings))}::text[])")
    if query.pol:
        where.append("(" + " OR ".join(f"pol_states LIKE {arg('%/' + p + '/%')}" for p in query.pol) + ")")
    if query.calib:
        where.append(f"calib_level = ANY({arg(list(query.calib))}::int[])")
    if query.target:
        where.append(f"lower(target_name) = ANY({arg([t.lower() for t in query.target])}::text[])")
    return where
