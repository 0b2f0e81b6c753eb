"""Simple Cone Search 1.03 request parameters (SCS 1.03 §2), parsed once into a typed request."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

from vostack.dali import OutputFormat, Params, choose_format, parse_maxrec
from vostack.errors import ParameterError

__all__ = ["ConeRequest", "parse_cone_request"]

#: VERB when the request has none (SCS 1.03 §2: "the server should respond as if VERB=2").
DEFAULT_VERB = 2


@dataclass(frozen=True, slots=True)
class ConeRequest:
    """A cone search: centre and radius in ICRS degrees, verbosity, row limit and output format."""

    ra: float
    dec: float
    sr: float
    verb: int
    maxrec: int
    format: OutputFormat


def _angle(params: Params, name: str, low: float, high: float, meaning: str) -> float:
    raw = params.get(name)
    if raw is None or not raw.strip():
        raise ParameterError(
            f"{name} is missing: a cone search needs RA, DEC and SR in decimal degrees (SCS 1.03 §2)", param=name
        )
    try:
        value = float(raw.strip())
    except ValueError:
        raise ParameterError(f"{name} must be a number of degrees, not {raw!r}", param=name) from None
    if not math.isfinite(value) or not low <= value <= high:
        raise ParameterError(f"{name}={raw.strip()} is out of range: {meaning}", param=name)
    return value


def parse_cone_request(
    params: Params,
    *,
    maxrec: int,
    hardlimit: int,
    max_sr: float,
    formats: Sequence[OutputFormat],
) -> ConeRequest:
    """Check and type the parameters of a cone search (SCS 1.03 §2; MAXREC and RESPONSEFORMAT by DALI 1.1 §3.2).

    RA must lie in [0, 360], DEC in [-90, 90] and SR in [0, ``max_sr``] (SR=0 asks for the metadata only);
    VERB, when given, is 1, 2 or 3.  Every other parameter is ignored, as SCS 1.03 §2 asks.
    """
    ra = _angle(params, "RA", 0.0, 360.0, "the right ascension must lie between 0 and 360 degrees")
    dec = _angle(params, "DEC", -90.0, 90.0, "the declination must lie between -90 and 90 degrees")
    sr = _angle(
        params, "SR", 0.0, max_sr, f"the search radius must lie between 0 and {max_sr:g} degrees (this service's MaxSR)"
    )
    raw_verb = (params.get("VERB") or "").strip()
    if not raw_verb:
        verb = DEFAULT_VERB
    elif raw_verb in ("1", "2", "3"):
        verb = int(raw_verb)
    else:
        raise ParameterError(f"VERB must be 1, 2 or 3, not {raw_verb!r}", param="VERB")
    return ConeRequest(
        ra=ra,
        dec=dec,
        sr=sr,
        verb=verb,
        maxrec=parse_maxrec(params, default=maxrec, hardlimit=hardlimit),
        format=choose_format(params, formats, default=formats[0]),
    )
