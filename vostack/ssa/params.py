"""SSA 1.1 queryData parameters (SSA 1.1 §8.4, DALI 1.1 §3), parsed once into a typed request.

Range lists follow SSA 1.1 §8.7.2: a comma-separated list of values and ranges, a range
``lo/hi`` with either end left open (``/hi``, ``lo/``); a ``;qualifier`` after the list is
accepted and ignored.  Values are validated here, so the SQL is built from numbers only.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from vostack.dali import Params, parse_float, parse_maxrec, parse_timestamp
from vostack.errors import ParameterError

__all__ = ["FORMAT_KEYWORDS", "Range", "SSARequest", "parse_ssa_request"]

#: The FORMAT keywords of SSA 1.1 §8.4.2 (besides MIME types).
FORMAT_KEYWORDS = ("all", "compliant", "native", "graphic", "metadata", "votable", "fits", "xml")

_FRAMES = {"ICRS": "icrs", "FK5": "fk5", "J2000": "fk5", "FK4": "fk4", "B1950": "fk4", "GALACTIC": "galactic"}
_MJD_EPOCH = dt.datetime(1858, 11, 17, tzinfo=dt.UTC)


@dataclass(frozen=True, slots=True)
class Range:
    """A closed range; ``None`` for an open end (SSA 1.1 §8.7.2)."""

    low: float | None
    high: float | None


@dataclass(frozen=True, slots=True)
class SSARequest:
    """A checked queryData request (SSA 1.1 §8.4)."""

    ra: float | None = None
    dec: float | None = None
    size: float | None = None
    band: tuple[Range, ...] = ()
    time: tuple[Range, ...] = ()
    formats: tuple[str, ...] = ("all",)
    target_name: str | None = None
    collections: tuple[str, ...] = ()
    min_res_power: float | None = None
    max_spatial_resolution: float | None = None
    max_time_resolution: float | None = None
    min_snr: float | None = None
    redshift: tuple[Range, ...] = ()
    creator_did: str | None = None
    publisher_dids: tuple[str, ...] = ()
    maxrec: int = 1000
    top: int | None = None

    @property
    def metadata(self) -> bool:
        """Whether FORMAT=metadata asks for the service description (SSA 1.1 §8.4.2)."""
        return "metadata" in self.formats


def _value(raw: str, name: str) -> str | None:
    value = raw.split(";", 1)[0].strip()
    return value or None


def _mjd(text: str, name: str) -> float:
    stamp = parse_timestamp(text, param=name)
    return (stamp - _MJD_EPOCH).total_seconds() / 86400.0


def parse_range_list(raw: str, name: str, *, convert: str = "number") -> tuple[Range, ...]:
    """A range list (SSA 1.1 §8.7.2): values and ``lo/hi`` ranges with open ends, comma-separated."""
    text = _value(raw, name)
    if text is None:
        return ()

    def parse(value: str, name: str) -> float:
        return _mjd(value, name) if convert == "time" else parse_float(value, param=name)

    ranges = []
    for item in text.split(","):
        item = item.strip()
        if not item:
            raise ParameterError(f"{name}: empty element in {raw!r}", param=name)
        if "/" in item:
            low_text, _, high_text = item.partition("/")
            low = parse(low_text.strip(), name) if low_text.strip() else None
            high = parse(high_text.strip(), name) if high_text.strip() else None
            if low is not None and high is not None and low > high:
                raise ParameterError(f"{name}: the range {item!r} ends before it starts", param=name)
        else:
            low = high = parse(item, name)
        ranges.append(Range(low, high))
    return tuple(ranges)


def _position(raw: str) -> tuple[float, float]:
    text, _, frame = raw.partition(";")
    parts = [p.strip() for p in text.split(",")]
    if len(parts) != 2:
        raise ParameterError(f"POS must be 'ra,dec' in degrees, optionally ';ICRS', not {raw!r}", param="POS")
    ra, dec = parse_float(parts[0], param="POS"), parse_float(parts[1], param="POS")
    if not -90 <= dec <= 90:
        raise ParameterError(f"POS: the declination {dec} is outside -90..90", param="POS")
    frame = frame.strip().upper() or "ICRS"
    if frame not in _FRAMES:
        raise ParameterError(f"POS: unknown frame {frame!r}; use one of {', '.join(_FRAMES)}", param="POS")
    if _FRAMES[frame] != "icrs":
        from astropy import units
        from astropy.coordinates import SkyCoord

        if frame == "GALACTIC":
            coord = SkyCoord(l=ra * units.deg, b=dec * units.deg, frame="galactic")
        else:
            coord = SkyCoord(ra=ra * units.deg, dec=dec * units.deg, frame=_FRAMES[frame])
        icrs = coord.icrs
        return float(icrs.ra.deg), float(icrs.dec.deg)
    return ra % 360.0, dec


def _minimum(params: Params, name: str) -> float | None:
    raw = params.get(name)
    if raw is None or _value(raw, name) is None:
        return None
    return parse_float(_value(raw, name) or "", param=name)


def _formats(params: Params) -> tuple[str, ...]:
    raw = params.get("FORMAT")
    if raw is None or not raw.strip():
        return ("all",)
    formats = []
    for item in raw.split(","):
        token = item.strip().lower()
        if not token:
            continue
        if token not in FORMAT_KEYWORDS and "/" not in token:
            raise ParameterError(
                f"FORMAT {item.strip()!r} is neither a MIME type nor one of {', '.join(FORMAT_KEYWORDS)}",
                param="FORMAT",
            )
        formats.append(token)
    return tuple(formats) or ("all",)


def parse_ssa_request(params: Params, *, maxrec: int, hardlimit: int, default_size: float) -> SSARequest:
    """Check and type the parameters of an SSA queryData request (SSA 1.1 §8.4, DALI 1.1 §3.2)."""
    response_format = params.get("RESPONSEFORMAT")
    if response_format and response_format.strip().lower() not in (
        "votable",
        "application/x-votable+xml",
        "text/xml",
    ):
        raise ParameterError(
            f"RESPONSEFORMAT {response_format!r} is not supported; SSA answers in VOTable", param="RESPONSEFORMAT"
        )
    ra = dec = size = None
    pos = params.get("POS")
    if pos is not None and pos.strip():
        ra, dec = _position(pos)
        size = _minimum(params, "SIZE")
        if size is None:
            size = default_size
        if not 0 < size <= 360:
            raise ParameterError(f"SIZE must be a diameter in degrees between 0 and 360, not {size}", param="SIZE")
    top = None
    raw_top = params.get("TOP")
    if raw_top is not None and raw_top.strip():
        try:
            top = int(raw_top.strip())
        except ValueError:
            raise ParameterError(f"TOP must be a positive integer, not {raw_top!r}", param="TOP") from None
        if top < 1:
            raise ParameterError(f"TOP must be a positive integer, not {top}", param="TOP")
    collections = tuple(c.strip() for c in (params.get("COLLECTION") or "").split(",") if c.strip())
    pubdids = tuple(v.strip() for raw in params.getall("PUBDID") for v in raw.split(",") if v.strip())
    target = (params.get("TARGETNAME") or "").strip() or None
    creator_did = (params.get("CREATORDID") or "").strip() or None
    return SSARequest(
        ra=ra,
        dec=dec,
        size=size,
        band=parse_range_list(params.get("BAND") or "", "BAND"),
        time=parse_range_list(params.get("TIME") or "", "TIME", convert="time"),
        formats=_formats(params),
        target_name=target,
        collections=collections,
        min_res_power=_minimum(params, "SPECRP"),
        max_spatial_resolution=_minimum(params, "SPATRES"),
        max_time_resolution=_minimum(params, "TIMERES"),
        min_snr=_minimum(params, "SNR"),
        redshift=parse_range_list(params.get("REDSHIFT") or "", "REDSHIFT"),
        creator_did=creator_did,
        publisher_dids=pubdids,
        maxrec=parse_maxrec(params, default=maxrec, hardlimit=hardlimit),
        top=top,
    )
