"""What a faceted search is made of: the facets a portal names, the filters a user picks, and their bins.

A :class:`Facet` is one column (or a pair, for positions) shown with counts: values for a categorical
column, a histogram for a numeric one, a date histogram for a time column, a HEALPix density map for a
position.  A :class:`Selection` holds one filter per facet at most, parsed from URL parameters named
after the facets (the same parameters for the JSON API and the page, so that every state has a URL):

==============  =========================================  ===========================================
facet kind      parameter                                  ADQL condition
==============  =========================================  ===========================================
categorical     ``sn=1&sn=5`` (repeated: any of them)      ``sn IN (1, 5)``
numeric         ``hpmag=5..7``, ``hpmag=..7``, ``5..``     ``hpmag >= 5 AND hpmag < 7``
time            ``t=2006-01-01..2007-01-01`` (ISO 8601)    ``t >= '2006-01-01T00:00:00' AND ...``
                                                           (MJD or JD numbers for such columns)
position        ``position=cell:5:123`` (order, index)     ``CONTAINS(POINT(ra, dec), CIRCLE(centre,
                ``position=cone:56.75,24.12,1.5``           r)) = 1 AND ivo_healpix_index(...) = 123``
==============  =========================================  ===========================================

Ranges are half open, ``[low, high)``, as histogram bins are.  Every value is checked here and written
into ADQL as a literal of the column's type; the ADQL then goes through the TAP service's translator.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum

from vostack.dali import Params, parse_float
from vostack.errors import ParameterError
from vostack.schema import Column

__all__ = [
    "RESERVED",
    "Bins",
    "Cell",
    "Cone",
    "Facet",
    "FacetKind",
    "Range",
    "Selection",
    "Stats",
    "TimeBins",
    "Values",
    "adql_literal",
    "choose_bins",
    "choose_order",
    "choose_time_bins",
    "mjd_datetime",
    "parse_selection",
]

#: Parameter names that are not facets: paging and sorting of the rows.
RESERVED = frozenset({"offset", "limit", "sort", "desc", "format", "view"})

MJD_EPOCH = dt.datetime(1858, 11, 17)
"""MJD 0 (UTC, naive as PostgreSQL's ``timestamp`` is)."""
JD_MJD = 2400000.5
"""JD - MJD."""


class FacetKind(StrEnum):
    """How a facet counts its column."""

    CATEGORICAL = "categorical"
    """Rows per value, the most frequent first."""
    NUMERIC = "numeric"
    """A histogram, with bins chosen from the data."""
    TIME = "time"
    """A date histogram, in calendar units chosen from the data."""
    POSITION = "position"
    """A HEALPix density map of a (longitude, latitude) pair in degrees."""


@dataclass(frozen=True, slots=True)
class Facet:
    """A column (or a position's pair of columns) shown with counts.

    Parameters
    ----------
    kind
        See :class:`FacetKind`.
    column
        The column (for a position: the longitude or right ascension, in degrees).
    lat
        For a position: the latitude or declination column, in degrees.
    name
        The facet's name in URLs and JSON; default the column's (``"position"`` for a position).
    label
        For people; default the column's description or name.
    top
        Categorical: the values shown, most frequent first.
    bins
        Numeric and time: at most this many bins.
    order
        Position: the HEALPix order of the map; default chosen from the row count (3 or 4).
    time_format
        Time on a number column: ``"mjd"`` or ``"jd"`` (days); ``None`` for a timestamp column.
    frame
        Position: ``"icrs"`` (the sky) or ``"body"`` (longitude and latitude on a planetary body).
    """

    kind: FacetKind
    column: str
    lat: str | None = None
    name: str = ""
    label: str | None = None
    top: int = 20
    bins: int = 40
    order: int | None = None
    time_format: str | None = None
    frame: str = "icrs"

    def __post_init__(self) -> None:
        if not self.name:
            object.__setattr__(self, "name", "position" if self.kind is FacetKind.POSITION else self.column)
        if not self.name.replace("_", "").isalnum() or self.name.lower() in RESERVED:
            raise ValueError(f"a facet name is a word other than {', '.join(sorted(RESERVED))}, not {self.name!r}")
        if (self.kind is FacetKind.POSITION) != (self.lat is not None):
            raise ValueError(f"facet {self.name}: a position (and only a position) names a latitude column")
        if not 1 <= self.top <= 1000 or not 2 <= self.bins <= 200:
            raise ValueError(f"facet {self.name}: top must be in 1..1000 and bins in 2..200")
        if self.order is not None and not 0 <= self.order <= 8:
            raise ValueError(f"facet {self.name}: the HEALPix order must be in 0..8")
        if self.time_format not in (None, "mjd", "jd") or (self.time_format and self.kind is not FacetKind.TIME):
            raise ValueError(f'facet {self.name}: time_format is "mjd" or "jd", for a time facet')
        if self.frame not in ("icrs", "body"):
            raise ValueError(f'facet {self.name}: frame is "icrs" or "body"')

    @classmethod
    def categorical(cls, column: str, **options: object) -> Facet:
        """Counts per value of ``column``."""
        return cls(FacetKind.CATEGORICAL, column, **options)  # type: ignore[arg-type]

    @classmethod
    def numeric(cls, column: str, **options: object) -> Facet:
        """A histogram of ``column``."""
        return cls(FacetKind.NUMERIC, column, **options)  # type: ignore[arg-type]

    @classmethod
    def time(cls, column: str, **options: object) -> Facet:
        """A date histogram of ``column`` (a timestamp, or MJD/JD days with ``time_format``)."""
        return cls(FacetKind.TIME, column, **options)  # type: ignore[arg-type]

    @classmethod
    def position(cls, lon: str, lat: str, **options: object) -> Facet:
        """A HEALPix density map of the positions (``lon``, ``lat``) in degrees."""
        return cls(FacetKind.POSITION, lon, lat=lat, **options)  # type: ignore[arg-type]

    @property
    def columns(self) -> tuple[str, ...]:
        """The columns the facet reads."""
        return (self.column,) if self.lat is None else (self.column, self.lat)


# ---------------------------------------------------------------------------------------------- filters


@dataclass(frozen=True, slots=True)
class Values:
    """Any of these values (categorical)."""

    values: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class Range:
    """``low <= x < high``; an end that is ``None`` is open.  Numbers, or timestamps for time facets."""

    low: float | dt.datetime | None
    high: float | dt.datetime | None


@dataclass(frozen=True, slots=True)
class Cell:
    """The nested HEALPix cell ``index`` at ``order``."""

    order: int
    index: int


@dataclass(frozen=True, slots=True)
class Cone:
    """Within ``radius`` degrees of (``lon``, ``lat``)."""

    lon: float
    lat: float
    radius: float


Filter = Values | Range | Cell | Cone


@dataclass(frozen=True, slots=True)
class Selection:
    """The filters of a search, by facet name, and which page of rows to show."""

    filters: Mapping[str, Filter] = dataclasses.field(default_factory=dict)
    offset: int = 0
    sort: str | None = None
    descending: bool = False

    def without(self, name: str) -> Selection:
        """The selection without the filter of facet ``name`` (what that facet's counts are computed under)."""
        return dataclasses.replace(self, filters={k: v for k, v in self.filters.items() if k != name})

    def params(self) -> list[tuple[str, str]]:
        """The URL parameters of the selection (the inverse of :func:`parse_selection`)."""
        pairs: list[tuple[str, str]] = []
        for name, found in self.filters.items():
            pairs += [(name, text) for text in filter_texts(found)]
        if self.sort:
            pairs.append(("sort", self.sort))
        if self.descending:
            pairs.append(("desc", "1"))
        if self.offset:
            pairs.append(("offset", str(self.offset)))
        return pairs


def _number_text(value: float) -> str:
    return str(int(value)) if value == int(value) and abs(value) < 1e15 else repr(float(value))


def _end_text(value: float | dt.datetime | None) -> str:
    if value is None:
        return ""
    if isinstance(value, dt.datetime):
        return value.isoformat(timespec="seconds") if value.time() != dt.time() else value.date().isoformat()
    return _number_text(value)


def filter_texts(found: Filter) -> list[str]:
    """The URL parameter values of a filter."""
    if isinstance(found, Values):
        return list(found.values)
    if isinstance(found, Range):
        return [f"{_end_text(found.low)}..{_end_text(found.high)}"]
    if isinstance(found, Cell):
        return [f"cell:{found.order}:{found.index}"]
    return [f"cone:{_number_text(found.lon)},{_number_text(found.lat)},{_number_text(found.radius)}"]


def _int(text: str, param: str) -> int:
    try:
        return int(text)
    except ValueError:
        raise ParameterError(f"{param}: {text!r} is not an integer", param=param) from None


def parse_time(text: str, param: str) -> dt.datetime:
    """An ISO 8601 date or date-time (UTC, as DALI timestamps are), as a naive datetime."""
    try:
        value = dt.datetime.fromisoformat(text.strip().removesuffix("Z"))
    except ValueError:
        raise ParameterError(f"{param}: {text!r} is not an ISO 8601 date such as 2006-01-31", param=param) from None
    if value.tzinfo is not None:
        value = value.astimezone(dt.UTC).replace(tzinfo=None)
    return value


def _range(facet: Facet, text: str) -> Range:
    low_text, sep, high_text = text.partition("..")
    if not sep:
        raise ParameterError(
            f"{facet.name}: a range is low..high (either may be left out), not {text!r}", param=facet.name
        )
    if facet.kind is FacetKind.TIME:
        low: float | dt.datetime | None = parse_time(low_text, facet.name) if low_text.strip() else None
        high: float | dt.datetime | None = parse_time(high_text, facet.name) if high_text.strip() else None
    else:
        low = parse_float(low_text, param=facet.name) if low_text.strip() else None
        high = parse_float(high_text, param=facet.name) if high_text.strip() else None
    if low is not None and high is not None and low >= high:  # type: ignore[operator]
        raise ParameterError(f"{facet.name}: the range {text!r} is empty (low must be below high)", param=facet.name)
    return Range(low, high)


def _position(facet: Facet, text: str) -> Cell | Cone:
    kind, _, rest = text.partition(":")
    if kind == "cell":
        order_text, _, index_text = rest.partition(":")
        order, index = _int(order_text, facet.name), _int(index_text, facet.name)
        if not 0 <= order <= 12 or not 0 <= index < 12 * 4**order:
            raise ParameterError(f"{facet.name}: no HEALPix cell {index} at order {order}", param=facet.name)
        return Cell(order, index)
    if kind == "cone":
        parts = rest.split(",")
        if len(parts) != 3:
            raise ParameterError(f"{facet.name}: a cone is cone:lon,lat,radius (degrees)", param=facet.name)
        lon, lat, radius = (parse_float(p, param=facet.name) for p in parts)
        if not -90 <= lat <= 90 or not 0 < radius <= 180:
            raise ParameterError(f"{facet.name}: the cone {rest!r} is outside the sphere", param=facet.name)
        return Cone(lon % 360.0, lat, radius)
    raise ParameterError(
        f"{facet.name}: a position is cell:ORDER:INDEX or cone:LON,LAT,RADIUS, not {text!r}", param=facet.name
    )


def parse_selection(params: Params, facets: Sequence[Facet], *, sortable: Sequence[str] = ()) -> Selection:
    """The filters and the page the parameters ask for; :class:`ParameterError` for anything malformed.

    Parameters of other names are ignored (a page may carry its own); ``sortable`` are the columns the
    rows may be sorted by.
    """
    filters: dict[str, Filter] = {}
    for facet in facets:
        texts = [t for t in params.getall(facet.name) if t.strip()]
        if not texts:
            continue
        if facet.kind is FacetKind.CATEGORICAL:
            filters[facet.name] = Values(tuple(dict.fromkeys(texts)))
        elif len(texts) > 1:
            raise ParameterError(f"{facet.name}: give one range or region, not {len(texts)}", param=facet.name)
        elif facet.kind is FacetKind.POSITION:
            filters[facet.name] = _position(facet, texts[0].strip())
        else:
            filters[facet.name] = _range(facet, texts[0].strip())
    offset = _int(params.get("offset") or "0", "offset")
    if offset < 0:
        raise ParameterError("offset must not be negative", param="offset")
    sort = (params.get("sort") or "").strip() or None
    if sort is not None and sort.lower() not in {s.lower() for s in sortable}:
        raise ParameterError(f"sort: the rows can be sorted by {', '.join(sortable)}, not {sort!r}", param="sort")
    descending = (params.get("desc") or "").strip().lower() in ("1", "true", "yes")
    return Selection(filters=filters, offset=offset, sort=sort, descending=descending)


# ---------------------------------------------------------------------------------------------- ADQL


_NUMERIC = frozenset({"short", "int", "long", "float", "double", "unsignedByte"})


def adql_literal(column: Column, text: str, param: str) -> str:
    """``text`` as an ADQL literal of ``column``'s type: a number for numeric columns, else a string."""
    if column.datatype in _NUMERIC:
        if column.datatype in ("short", "int", "long", "unsignedByte"):
            return str(_int(text, param))
        return repr(parse_float(text, param=param))
    return "'" + text.replace("'", "''") + "'"


def time_literal(facet: Facet, value: dt.datetime) -> str:
    """A time as ADQL: an ISO 8601 string for timestamp columns, MJD or JD days for number columns."""
    if facet.time_format is None:
        return "'" + value.isoformat(timespec="microseconds" if value.microsecond else "seconds") + "'"
    mjd = (value - MJD_EPOCH).total_seconds() / 86400.0
    return repr(mjd + JD_MJD if facet.time_format == "jd" else mjd)


# ---------------------------------------------------------------------------------------------- bins


@dataclass(frozen=True, slots=True)
class Stats:
    """A column's distribution over the whole table: what its bins are chosen from."""

    count: int
    minimum: object
    """The smallest value: a number (MJD days for time facets), ``None`` without values."""
    maximum: object
    quantiles: tuple[object, ...] = ()
    """The 0.1 %, 25 %, 75 % and 99.9 % quantiles (numbers only)."""


@dataclass(frozen=True, slots=True)
class Bins:
    """``count`` bins of ``width`` from ``low``; values below ``low`` or from ``high`` on fall in an open bin at
    either end (index -1 and ``count``)."""

    low: float
    width: float
    count: int
    integer: bool = False

    @property
    def high(self) -> float:
        """Where the last closed bin ends."""
        return self.thresholds()[-1]

    def thresholds(self) -> list[float]:
        """The ``count + 1`` edges of the bins, as written in the filters that select them: a value is in bin
        ``i`` exactly when ``thresholds[i] <= value < thresholds[i + 1]`` (so in SQL, ``width_bucket`` with
        these thresholds counts what the filter of the bin finds)."""
        return [_round(self.low + i * self.width) for i in range(self.count + 1)]

    def edges(self, index: int) -> tuple[float | None, float | None]:
        """The range of bin ``index`` (-1 and ``count``: the open ends)."""
        edges = self.thresholds()
        if index < 0:
            return None, edges[0]
        if index >= self.count:
            return edges[-1], None
        return edges[index], edges[index + 1]


def _round(value: float) -> float:
    return float(f"{value:.12g}")


def _nice(step: float, integer: bool) -> float:
    """The smallest 1, 2, 2.5 or 5 x 10^k not below ``step``."""
    if step <= 0 or not math.isfinite(step):
        return 1.0
    power = 10.0 ** math.floor(math.log10(step))
    for factor in (1.0, 2.0, 2.5, 5.0, 10.0):
        if factor * power >= step * (1 - 1e-9):
            nice = factor * power
            break
    return max(1.0, math.ceil(nice)) if integer else nice


def choose_bins(stats: Stats, *, most: int, integer: bool) -> Bins | None:
    """Histogram bins from the data (``None`` without values): from the 0.1 % to the 99.9 % quantile, so that a
    few outliers fall in the open end bins, with the Freedman-Diaconis width (2 IQR / n^(1/3)) made a round number,
    and never more than ``most`` bins."""
    if stats.count == 0 or stats.minimum is None:
        return None
    lo_q, q25, q75, hi_q = (float(q) for q in stats.quantiles)  # type: ignore[arg-type]
    low, high = max(float(stats.minimum), lo_q), min(float(stats.maximum), hi_q)  # type: ignore[arg-type]
    if high <= low:
        low, high = float(stats.minimum), float(stats.maximum)  # type: ignore[arg-type]
    if high <= low:  # one value
        width = 1.0 if integer else max(abs(low) * 1e-6, 1e-9)
        return Bins(low=_round(low - width / 2) if not integer else low, width=width, count=1, integer=integer)
    span = high - low
    fd = 2 * (q75 - q25) / stats.count ** (1 / 3)
    width = _nice(max(fd, span / most), integer)
    start = math.floor(low / width) * width
    count = max(1, math.ceil((high - start) / width - 1e-9))
    if start + count * width <= high:  # the maximum belongs in the last closed bin
        count += 1
    while count > most:
        width = _nice(width * 1.01, integer)
        start = math.floor(low / width) * width
        count = max(1, math.ceil((high - start) / width + 1e-9))
    return Bins(low=_round(start), width=_round(width), count=count, integer=integer)


#: Calendar units PostgreSQL's date_trunc knows, with their length in days.
TIME_UNITS: tuple[tuple[str, float], ...] = (
    ("hour", 1 / 24),
    ("day", 1.0),
    ("week", 7.0),
    ("month", 30.436875),
    ("quarter", 91.310625),
    ("year", 365.2425),
    ("decade", 3652.425),
    ("century", 36524.25),
    ("millennium", 365242.5),
)


@dataclass(frozen=True, slots=True)
class TimeBins:
    """Bins of one calendar ``unit`` (``date_trunc``'s names)."""

    unit: str

    def end(self, start: dt.datetime) -> dt.datetime:
        """Where the bin starting at ``start`` ends."""
        if self.unit in ("hour", "day", "week"):
            return start + dt.timedelta(hours=1 if self.unit == "hour" else 24 if self.unit == "day" else 24 * 7)
        months = {"month": 1, "quarter": 3, "year": 12, "decade": 120, "century": 1200, "millennium": 12000}
        total = start.year * 12 + start.month - 1 + months[self.unit]
        year, month = divmod(total, 12)
        if year > dt.MAXYEAR:
            return dt.datetime.max
        return start.replace(year=year, month=month + 1)

    def start(self, when: dt.datetime) -> dt.datetime:
        """The start of the bin holding ``when``, as PostgreSQL's ``date_trunc(unit, when)`` has it."""
        day = when.replace(hour=0, minute=0, second=0, microsecond=0)
        if self.unit == "hour":
            return when.replace(minute=0, second=0, microsecond=0)
        if self.unit == "day":
            return day
        if self.unit == "week":  # ISO weeks start on Monday
            return day - dt.timedelta(days=day.weekday())
        if self.unit == "month":
            return day.replace(day=1)
        if self.unit == "quarter":
            return day.replace(month=3 * ((day.month - 1) // 3) + 1, day=1)
        years = {
            "year": day.year,
            "decade": day.year - day.year % 10,
            "century": (day.year - 1) // 100 * 100 + 1,
            "millennium": (day.year - 1) // 1000 * 1000 + 1,
        }
        year = years[self.unit]
        return day.replace(year=max(1, year), month=1, day=1)

    def starts(self, low: dt.datetime, high: dt.datetime) -> list[dt.datetime]:
        """The starts of the bins from the one holding ``low`` to past ``high`` (the last ends the last bin)."""
        out = [self.start(low)]
        while out[-1] <= high and out[-1] != dt.datetime.max:
            out.append(self.end(out[-1]))
        return out


_DAY = dt.timedelta(days=1)


def mjd_datetime(days: float) -> dt.datetime:
    """MJD ``days`` as a naive datetime, clipped to the years 1 to 9999 that Python's datetimes hold."""
    if days <= (dt.datetime.min - MJD_EPOCH) / _DAY:
        return dt.datetime.min
    if days >= (dt.datetime.max - MJD_EPOCH) / _DAY:
        return dt.datetime.max
    return MJD_EPOCH + dt.timedelta(days=days)


def choose_time_bins(low: dt.datetime, high: dt.datetime, *, most: int) -> TimeBins:
    """The shortest calendar unit that covers ``low``..``high`` in at most ``most`` bins."""
    span = (high - low).total_seconds() / 86400.0
    for unit, days in TIME_UNITS:
        if span / days <= most - 1:
            return TimeBins(unit)
    return TimeBins(TIME_UNITS[-1][0])


def choose_order(count: int) -> int:
    """The HEALPix order of a density map of ``count`` positions: about ten per cell on the whole sphere,
    order 3 (768 cells, 7.3°) or 4 (3,072 cells, 3.7°) for a map in a facet's box; configure ``order`` for
    finer ones."""
    if count <= 0:
        return 3
    return max(3, min(4, round(math.log(max(count / 120.0, 1.0), 4))))
