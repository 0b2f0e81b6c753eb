"""TAP 1.1 request parameters (TAP 1.1 §2.3, DALI 1.1 §3.2), parsed once into a typed request."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from vostack.dali import OutputFormat, Params, choose_format, parse_maxrec
from vostack.errors import ParameterError
from vostack.tap.upload import UploadSource, parse_upload
from vostack.votable import TAP_FORMATS, VOTABLE_FORMATS

__all__ = ["LANGUAGES", "TAP_FORMATS", "VOTABLE_FORMATS", "TAPRequest", "parse_tap_request"]

#: LANG values accepted (TAP 1.1 §2.3.1): ADQL without a version means the newest.
LANGUAGES = ("ADQL", "ADQL-2.0", "ADQL-2.1")


@dataclass(frozen=True, slots=True)
class TAPRequest:
    """A doQuery request: what both the sync and async endpoints run (TAP 1.1 §2.3).

    ``uploads`` are the tables UPLOAD asks for (TAP 1.1 §4.5), not yet fetched.
    """

    query: str
    lang: str
    maxrec: int
    format: OutputFormat
    uploads: tuple[UploadSource, ...] = ()


def parse_tap_request(params: Params, *, formats: Sequence[OutputFormat], maxrec: int, hardlimit: int) -> TAPRequest:
    """Check and type the parameters of a TAP query (TAP 1.1 §2.3, DALI 1.1 §3.2)."""
    request = params.get("REQUEST")
    if request is not None and request.strip().lower() != "doquery":
        raise ParameterError(f"REQUEST={request!r} is not supported; use REQUEST=doQuery", param="REQUEST")
    lang = params.get("LANG")
    if lang is None or not lang.strip():
        raise ParameterError("LANG is missing: send LANG=ADQL with the query (TAP 1.1 §2.3.1)", param="LANG")
    if lang.strip().upper() not in LANGUAGES:
        raise ParameterError(
            f"LANG={lang!r} is not supported; this service speaks {', '.join(LANGUAGES)}", param="LANG"
        )
    query = params.get("QUERY")
    if query is None or not query.strip():
        raise ParameterError("QUERY is missing or empty: send the ADQL text in QUERY", param="QUERY")
    return TAPRequest(
        query=query,
        lang=lang.strip().upper(),
        maxrec=parse_maxrec(params, default=maxrec, hardlimit=hardlimit),
        format=choose_format(params, formats, default=formats[0]),
        uploads=parse_upload(params.getall("UPLOAD")),
    )
