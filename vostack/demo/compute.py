"""The demo's ``/compute`` service: Hipparcos stars of a cone, propagated to another epoch (a UWS job).

Parameters (UWS 1.1 §2.1.9, names case-insensitive): ``RA``, ``DEC`` (ICRS
degrees) and ``SR`` (degrees, at most 10) of the cone at the catalogue epoch
J1991.25, and ``EPOCH`` (Julian years, e.g. 2016.0).  The result ``result``
is a VOTable with each star's catalogue position and the position at
``EPOCH``, propagated by linear space motion on the unit sphere (no parallax
or radial velocity: the proper motion is applied along the tangent plane and
the vector renormalised, as ``SkyCoord.apply_space_motion`` does for distant
stars).
"""

from __future__ import annotations

import math
from collections.abc import AsyncIterator, Sequence
from typing import Any

import numpy as np

from vostack import db
from vostack.schema import Field
from vostack.uws import FunctionExecutor, JobContext, Parameter, UWSService
from vostack.votable import MEDIA_TYPE, Param, VOTableWriter

__all__ = ["CATALOGUE_EPOCH", "MAX_RADIUS", "compute_service", "propagate", "propagate_cone"]

CATALOGUE_EPOCH = 1991.25
"""The epoch of the Hipparcos New Reduction positions (Julian years)."""

MAX_RADIUS = 10.0
"""The largest cone radius accepted, in degrees."""

_MAS = math.radians(1 / 3_600_000)
_BATCH = 5_000

FIELDS = (
    Field("hip", "int", ucd="meta.id;meta.main", description="Hipparcos identifier"),
    Field("ra", "double", unit="deg", ucd="pos.eq.ra;meta.main", description="Right ascension at EPOCH (ICRS)"),
    Field("dec", "double", unit="deg", ucd="pos.eq.dec;meta.main", description="Declination at EPOCH (ICRS)"),
    Field("ra_cat", "double", unit="deg", ucd="pos.eq.ra", description="Right ascension at J1991.25"),
    Field("dec_cat", "double", unit="deg", ucd="pos.eq.dec", description="Declination at J1991.25"),
    Field("pmra", "float", unit="mas/yr", ucd="pos.pm;pos.eq.ra", description="Proper motion in RA*cos(Dec)"),
    Field("pmde", "float", unit="mas/yr", ucd="pos.pm;pos.eq.dec", description="Proper motion in Dec"),
    Field("hpmag", "float", unit="mag", ucd="phot.mag;em.opt", description="Hipparcos magnitude"),
)


def propagate(
    ra: np.ndarray[Any, Any], dec: np.ndarray[Any, Any], pmra: np.ndarray[Any, Any], pmde: np.ndarray[Any, Any],
    years: float,
) -> tuple[np.ndarray[Any, Any], np.ndarray[Any, Any]]:  # fmt: skip
    """Positions (degrees) after ``years`` of linear proper motion (mas/yr, ``pmra`` including cos δ)."""
    a, d = np.radians(ra), np.radians(dec)
    sa, ca, sd, cd = np.sin(a), np.cos(a), np.sin(d), np.cos(d)
    p = np.stack([cd * ca, cd * sa, sd])
    east = np.stack([-sa, ca, np.zeros_like(a)])
    north = np.stack([-sd * ca, -sd * sa, cd])
    u = p + years * _MAS * (np.nan_to_num(pmra) * east + np.nan_to_num(pmde) * north)
    ra_new = np.degrees(np.arctan2(u[1], u[0])) % 360.0
    dec_new = np.degrees(np.arctan2(u[2], np.hypot(u[0], u[1])))
    return ra_new, dec_new


def _degrees(value: str) -> float:
    number = float(value)
    if not math.isfinite(number):
        raise ValueError("not a finite number")
    return number


def _radius(value: str) -> float:
    number = _degrees(value)
    if not 0 < number <= MAX_RADIUS:
        raise ValueError(f"the radius must be in (0, {MAX_RADIUS}] degrees")
    return number


def _declination(value: str) -> float:
    number = _degrees(value)
    if not -90 <= number <= 90:
        raise ValueError("the declination must be in [-90, 90] degrees")
    return number


def _epoch(value: str) -> float:
    number = _degrees(value.upper().removeprefix("J"))
    if not -10_000 < number < 10_000:
        raise ValueError("the epoch must be a Julian year between -10000 and 10000")
    return number


async def propagate_cone(*, ra: float, dec: float, sr: float, epoch: float, context: JobContext) -> None:
    """The job: read the cone from ``hipparcos.main``, propagate it to ``epoch``, write the VOTable."""
    # Literal SQL from validated floats only (repr of a finite float is a valid SQL number).
    sql = (
        "SELECT hip, ra, dec, pmra, pmde, hpmag FROM hipparcos.main"
        " WHERE spoint(radians(ra), radians(dec))"
        f" <@ scircle(spoint(radians({ra!r}), radians({dec!r})), radians({sr!r}))"
        " ORDER BY hip"
    )
    years = epoch - CATALOGUE_EPOCH
    writer = VOTableWriter(
        FIELDS,
        serialization="binary2",
        infos=(("QUERY_STATUS", "OK", None),),
        params=(
            Param(Field("epoch", "double", unit="yr", ucd="time.epoch", description="Epoch of ra, dec"), epoch),
            Param(Field("cone_ra", "double", unit="deg", ucd="pos.eq.ra"), ra),
            Param(Field("cone_dec", "double", unit="deg", ucd="pos.eq.dec"), dec),
            Param(Field("cone_sr", "double", unit="deg"), sr),
        ),
        table_name="propagated",
        description=f"Hipparcos stars within {sr} deg of ({ra}, {dec}) at J1991.25, propagated to J{epoch}",
    )

    async def chunks() -> AsyncIterator[bytes]:
        yield writer.header()
        time_limit = float(context.job.execution_duration) or 86_400.0
        async with db.open_cursor(context.pool, sql, statement_timeout=time_limit) as cursor:
            while batch := await cursor.fetch(_BATCH):
                yield writer.rows(_propagated(batch, years))
        yield writer.footer()

    await context.write_result("result", chunks(), mime_type=MEDIA_TYPE)


def _propagated(batch: Sequence[Sequence[object]], years: float) -> list[tuple[object, ...]]:
    columns = list(zip(*batch, strict=True))
    ra = np.asarray(columns[1], dtype=float)
    dec = np.asarray(columns[2], dtype=float)
    pmra = np.asarray([np.nan if v is None else v for v in columns[3]], dtype=float)
    pmde = np.asarray([np.nan if v is None else v for v in columns[4]], dtype=float)
    ra_new, dec_new = propagate(ra, dec, pmra, pmde, years)
    return [
        (row[0], float(r), float(d), row[1], row[2], row[3], row[4], row[5])
        for row, r, d in zip(batch, ra_new, dec_new, strict=True)
    ]


PARAMETERS = (
    Parameter("RA", _degrees, description="cone centre, ICRS right ascension (deg)"),
    Parameter("DEC", _declination, description="cone centre, ICRS declination (deg)"),
    Parameter("SR", _radius, default=1.0, description="cone radius (deg, at most 10)"),
    Parameter("EPOCH", _epoch, default=2016.0, description="target epoch (Julian years)"),
)
"""The job parameters of ``/compute``."""


def compute_service(**options: Any) -> UWSService:
    """The ``/compute`` UWS service; ``options`` go to :class:`UWSService` (schema, results, limits)."""
    options.setdefault("name", "compute")
    executor = FunctionExecutor(propagate_cone, parameters=PARAMETERS, context=True)
    return UWSService(executor=executor, **options)
