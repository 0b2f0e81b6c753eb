"""The EPNCore parameters of EPN-TAP 2.0 (§2 and the EPNCore table of §3), with their types, units and UCDs.

Transcribed from the EPNCore table of the Recommendation: the mandatory parameters (§2.1, which every
``epn_core`` table has, possibly empty; those set in bold there need a value in every row), the common
optional parameters (§2.2) and the extension parameters (§2.3) a collection may add.  The units and UCDs
of ``c1min`` .. ``c3max`` and of their resolutions depend on ``spatial_frame_type`` (Table 3 and its notes).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum

__all__ = [
    "DATAPRODUCT_TYPES",
    "EPN_UTYPE",
    "FRAMES",
    "MANDATORY",
    "OPTIONAL",
    "PAIRS",
    "PROCESSING_LEVELS",
    "REGION_TYPES",
    "SQL_TYPES",
    "TARGET_CLASSES",
    "EPNColumn",
    "Kind",
    "frame_columns",
    "is_hash_list_of",
]

EPN_UTYPE = "ivo://ivoa.net/std/epntap#table-2.0"
"""The utype of every EPN-TAP 2.0 table (EPN-TAP 2.0 §4.1)."""


class Kind(StrEnum):
    """The types of the EPNCore table (EPN-TAP 2.0 §3, Table notes)."""

    TEXT = "text"
    INTEGER = "integer"
    FLOAT = "float"
    DOUBLE = "double"
    TIMESTAMP = "timestamp"
    REGION = "region"
    """s_region: a pgSphere ``spoint``, ``scircle`` or ``spoly``, published as a DALI point, circle or polygon."""


#: The PostgreSQL type each kind is kept as; Float ("float or double") as double, Double must be.
SQL_TYPES: Mapping[Kind, str] = {
    Kind.TEXT: "text",
    Kind.INTEGER: "integer",
    Kind.FLOAT: "double precision",
    Kind.DOUBLE: "double precision",
    Kind.TIMESTAMP: "timestamp",
}

#: The pgSphere types s_region may have.
REGION_TYPES = frozenset({"spoint", "scircle", "spoly"})


@dataclass(frozen=True, slots=True)
class EPNColumn:
    """One EPNCore parameter: name, type, unit and UCD as the standard gives them.

    ``required`` marks the mandatory parameters that need a value in every row (bold in EPN-TAP 2.0 §3).
    """

    name: str
    kind: Kind
    unit: str | None
    ucd: str | None
    description: str
    required: bool = False


def _c(
    name: str, kind: Kind, unit: str | None, ucd: str | None, description: str, *, required: bool = False
) -> EPNColumn:
    return EPNColumn(name, kind, unit, ucd, description, required)


T, INT, F, D, TS = Kind.TEXT, Kind.INTEGER, Kind.FLOAT, Kind.DOUBLE, Kind.TIMESTAMP

#: The frame-dependent columns; their units and UCDs come from :func:`frame_columns`.
_FRAME_NAMES = (
    "c1min", "c1max", "c2min", "c2max", "c3min", "c3max",
    "c1_resol_min", "c1_resol_max", "c2_resol_min", "c2_resol_max", "c3_resol_min", "c3_resol_max",
)  # fmt: skip

MANDATORY: tuple[EPNColumn, ...] = (
    _c("granule_uid", T, None, "meta.id", "Unique ID in data service.", required=True),
    _c("granule_gid", T, None, "meta.id", "Common to granules of same type.", required=True),
    _c("obs_id", T, None, "meta.id;obs", "Associates granules derived from the same data.", required=True),
    _c("dataproduct_type", T, None, "meta.code.class", "Organization of the data product, from enumerated list.",
       required=True),
    _c("measurement_type", T, None, "meta.ucd", "UCD(s) defining the data."),
    _c("processing_level", INT, None, "meta.calibLevel", "Dataset-related encoding, or simplified CODMAC level."),
    _c("target_name", T, None, "meta.id;src", "Standard IAU name of target (must match target_class), case sensitive."),
    _c("target_class", T, None, "src.class", "Type of target, from enumerated list.", required=True),
    _c("time_min", D, "d", "time.start;obs", "Start time (in JD), UTC at the observer."),
    _c("time_max", D, "d", "time.end;obs", "Stop time (in JD), UTC at the observer."),
    _c("time_sampling_step_min", F, "s", "time.resolution;stat.min", "Min time sampling step."),
    _c("time_sampling_step_max", F, "s", "time.resolution;stat.max", "Max time sampling step."),
    _c("time_exp_min", F, "s", "time.duration;obs.exposure;stat.min", "Min integration time."),
    _c("time_exp_max", F, "s", "time.duration;obs.exposure;stat.max", "Max integration time."),
    _c("spectral_range_min", F, "Hz", "em.freq;stat.min", "Min spectral range (as frequency)."),
    _c("spectral_range_max", F, "Hz", "em.freq;stat.max", "Max spectral range (as frequency)."),
    _c("spectral_sampling_step_min", F, "Hz", "em.freq;spect.binSize;stat.min", "Min spectral sampling step."),
    _c("spectral_sampling_step_max", F, "Hz", "em.freq;spect.binSize;stat.max", "Max spectral sampling step."),
    _c("spectral_resolution_min", F, None, "spect.resolution;stat.min", "Min spectral resolution (resolving power)."),
    _c("spectral_resolution_max", F, None, "spect.resolution;stat.max", "Max spectral resolution (resolving power)."),
    _c("c1min", F, None, None, "Min of first coordinate."),
    _c("c1max", F, None, None, "Max of first coordinate."),
    _c("c2min", F, None, None, "Min of second coordinate."),
    _c("c2max", F, None, None, "Max of second coordinate."),
    _c("c3min", F, None, None, "Min of third coordinate."),
    _c("c3max", F, None, None, "Max of third coordinate."),
    _c("s_region", Kind.REGION, None, "pos.outline;obs.field", "Footprint in 2D, in the frame of c1 and c2."),
    _c("c1_resol_min", F, None, None, "Min resolution in first coordinate."),
    _c("c1_resol_max", F, None, None, "Max resolution in first coordinate."),
    _c("c2_resol_min", F, None, None, "Min resolution in second coordinate."),
    _c("c2_resol_max", F, None, None, "Max resolution in second coordinate."),
    _c("c3_resol_min", F, None, None, "Min resolution in third coordinate."),
    _c("c3_resol_max", F, None, None, "Max resolution in third coordinate."),
    _c("spatial_frame_type", T, None, "meta.code.class;pos.frame",
       "Flavor of coordinate system, defines the nature of coordinates.", required=True),
    _c("incidence_min", F, "deg", "pos.incidenceAng;stat.min", "Min incidence angle (solar zenithal angle)."),
    _c("incidence_max", F, "deg", "pos.incidenceAng;stat.max", "Max incidence angle (solar zenithal angle)."),
    _c("emergence_min", F, "deg", "pos.emergenceAng;stat.min", "Min emergence angle."),
    _c("emergence_max", F, "deg", "pos.emergenceAng;stat.max", "Max emergence angle."),
    _c("phase_min", F, "deg", "pos.phaseAng;stat.min", "Min phase angle."),
    _c("phase_max", F, "deg", "pos.phaseAng;stat.max", "Max phase angle."),
    _c("instrument_host_name", T, None, "meta.id;instr.obsty", "Standard name of the observatory or spacecraft."),
    _c("instrument_name", T, None, "meta.id;instr", "Standard name of instrument."),
    _c("service_title", T, None, "meta.title", "Title of resource = schema name.", required=True),
    _c("creation_date", TS, None, "time.creation", "Date of first entry of this granule.", required=True),
    _c("modification_date", TS, None, "time.processing", "Date of last modification.", required=True),
    _c("release_date", TS, None, "time.release", "Start of public access period.", required=True),
)  # fmt: skip
"""The mandatory parameters, in the order of EPN-TAP 2.0 §3 (the frame-dependent ones without unit and UCD)."""

OPTIONAL: tuple[EPNColumn, ...] = (
    _c("access_url", T, None, "meta.ref.url;meta.file", "URL of the data file."),
    _c("access_format", T, None, "meta.code.mime", "RFC 2045 media type of the data file, in lower case."),
    _c("access_estsize", INT, "kbyte", "phys.size;meta.file", "Estimated file size in kbyte."),
    _c("access_md5", T, None, "meta.checksum;meta.file", "MD5 hash of the file."),
    _c("thumbnail_url", T, None, "meta.ref.url;meta.preview", "URL of a thumbnail image (png of about 200 pixels)."),
    _c("file_name", T, None, "meta.id;meta.file", "Name of the data file."),
    _c("datalink_url", T, None, "meta.ref.url", "Links to files or services on the server."),
    _c("bib_reference", T, None, "meta.bib", "Bibcode, doi, or other reference of the granule."),
    _c("publisher", T, None, "meta.curation", "Resource publisher."),
    _c("processing_level_desc", T, None, "meta.note", "Specificities of the processing level."),
    _c("internal_reference", T, None, "meta.id.cross", "Related granule_uid(s) in the current service."),
    _c("external_link", T, None, "meta.ref.url", "Web page with more details on the granule."),
    _c("species", T, None, "meta.id;phys.atmol", "Chemical species, case sensitive."),
    _c("messenger", T, None, "instr.bandpass", "Electro-magnetic band, from enumerated list."),
    _c("filter", T, None, "meta.id;instr.filter", "Filter in use, typically for images."),
    _c("alt_target_name", T, None, "meta.id;src", "Alternative target name(s)."),
    _c("target_region", T, None, "meta.id;src;obs.field", "Type of region or feature of interest."),
    _c("feature_name", T, None, "meta.id;src;obs.field", "Secondary name (e.g. standard name of a region)."),
    _c("coverage", T, None, "pos.outline;obs.field", "An ASCII (ST)MOC."),
    _c("spatial_coordinate_description", T, None, "meta.code.class;pos.frame", "ID of the specific coordinate system."),
    _c("spatial_origin", T, None, "meta.ref;pos.frame", "Defines the frame origin."),
    _c("time_refposition", T, None, "meta.ref;time.scale", "Where the time is measured."),
    _c("time_scale", T, None, "time.scale", "Time scale, from enumerated list (UTC in data services)."),
    _c("target_distance_min", F, "km", "pos.distance;stat.min", "Min observer-target distance."),
    _c("target_distance_max", F, "km", "pos.distance;stat.max", "Max observer-target distance."),
    _c("earth_distance_min", F, "AU", "pos.distance;stat.min", "Min Earth-target distance."),
    _c("earth_distance_max", F, "AU", "pos.distance;stat.max", "Max Earth-target distance."),
    _c("sun_distance_min", F, "AU", "pos.distance;stat.min", "Min Sun-target distance."),
    _c("sun_distance_max", F, "AU", "pos.distance;stat.max", "Max Sun-target distance."),
    _c("subobserver_longitude_min", F, "deg", "pos.bodyrc.lon;stat.min", "Min longitude of the sub-observer point."),
    _c("subobserver_longitude_max", F, "deg", "pos.bodyrc.lon;stat.max", "Max longitude of the sub-observer point."),
    _c("subobserver_latitude_min", F, "deg", "pos.bodyrc.lat;stat.min", "Min latitude of the sub-observer point."),
    _c("subobserver_latitude_max", F, "deg", "pos.bodyrc.lat;stat.max", "Max latitude of the sub-observer point."),
    _c("ra", F, "deg", "pos.eq.ra;meta.main", "Right ascension."),
    _c("dec", F, "deg", "pos.eq.dec;meta.main", "Declination."),
    _c("mean_radius", F, "km", "phys.size.radius", "Mean radius of the target."),
    _c("equatorial_radius", F, "km", "phys.size.radius", "Equatorial radius of the target."),
    _c("diameter", F, "km", "phys.size.diameter", "Target diameter, or equivalent diameter for binary objects."),
    _c("mass", F, "kg", "phys.mass", "Mass of object."),
    _c("sidereal_rotation_period", F, "h", "time.period.rotation", "Object rotation rate."),
    _c("semi_major_axis", F, "AU", "phys.size.smajAxis", "Semi-major axis of the orbit."),
    _c("inclination", F, "deg", "src.orbital.inclination", "Orbit inclination."),
    _c("eccentricity", F, None, "src.orbital.eccentricity", "Orbit eccentricity."),
    _c("long_asc", F, "deg", "src.orbital.node", "Longitude of ascending node, J2000.0."),
    _c("arg_perihel", F, "deg", "src.orbital.periastron", "Argument of perihelion, J2000.0."),
    _c("mean_anomaly", F, "deg", "src.orbital.meanAnomaly", "Mean anomaly at the epoch."),
    _c("epoch", D, "d", "time.epoch", "Epoch of interest in JD."),
    _c("magnitude", F, "mag", "phys.magAbs", "Absolute magnitude."),
    _c("albedo", F, None, "phys.albedo", "Target albedo."),
    _c("dynamical_class", T, None, "meta.code.class;src", "Class of small body, from enumerated list."),
    _c("map_projection", T, None, "pos.projection", "Map projection, from enumerated list or with parameters."),
    _c("map_height", F, "pix", "phys.size", "Map size in px."),
    _c("map_width", F, "pix", "phys.size", "Map size in px."),
    _c("pixelscale_min", F, "km/pix", "instr.scale;stat.min", "Min pixel size on a surface."),
    _c("pixelscale_max", F, "km/pix", "instr.scale;stat.max", "Max pixel size on a surface."),
)  # fmt: skip
"""The optional parameters (EPN-TAP 2.0 §2.2, §2.3) vostack knows the unit and UCD of."""

#: The min/max pairs: both set or both NULL (EPN-TAP 2.0 §1.2), and ordered unless they are longitudes.
PAIRS: tuple[tuple[str, str], ...] = tuple(
    (c.name, c.name[:-3] + "max")
    for c in (*MANDATORY, *OPTIONAL)
    if c.name.endswith("min") and c.name[:-3] + "max" in {d.name for d in (*MANDATORY, *OPTIONAL)}
)

DATAPRODUCT_TYPES = frozenset(
    {"im", "ma", "sp", "ds", "sc", "pr", "pf", "vo", "mo", "cu", "ts", "ca", "ci", "sv", "ev"}
)
"""EPN-TAP 2.0 §2.1.2: the two-letter data product types."""

TARGET_CLASSES = frozenset(
    {"asteroid", "dwarf_planet", "planet", "satellite", "comet", "exoplanet", "interplanetary_medium", "sample",
     "sky", "spacecraft", "spacejunk", "star", "calibration"}
)  # fmt: skip
"""EPN-TAP 2.0 §2.1.3: the target classes."""

PROCESSING_LEVELS = frozenset({1, 2, 3, 5, 6})
"""EPN-TAP 2.0 §2.1.2, Table 1: the simplified CODMAC levels."""

FRAMES = ("celestial", "body", "cartesian", "spherical", "cylindrical", "none")
"""EPN-TAP 2.0 §2.1.4: the values of spatial_frame_type."""

# EPN-TAP 2.0 Table 3: per frame, (UCD, unit) of the first, second and third coordinate
_FRAME_AXES: Mapping[str, tuple[tuple[str, str], tuple[str, str], tuple[str, str]]] = {
    "celestial": (("pos.eq.ra", "deg"), ("pos.eq.dec", "deg"), ("pos.distance", "AU")),
    "body": (("pos.bodyrc.lon", "deg"), ("pos.bodyrc.lat", "deg"), ("pos.bodyrc.alt", "km")),
    "cartesian": (("pos.cartesian.x", "km"), ("pos.cartesian.y", "km"), ("pos.cartesian.z", "km")),
    "spherical": (("pos.spherical.r", "m"), ("pos.spherical.colat", "deg"), ("pos.spherical.azi", "deg")),
    "cylindrical": (("pos.cylindrical.r", "km"), ("pos.cylindrical.azi", "deg"), ("pos.cylindrical.z", "km")),
}


def frame_columns(frame: str) -> dict[str, tuple[str | None, str | None]]:
    """``{column: (unit, ucd)}`` of ``c1min`` .. ``c3_resol_max`` in ``frame`` (EPN-TAP 2.0 §3, Table 3, note 2).

    In the ``none`` frame they have no unit and no UCD.  A resolution has its coordinate's unit and the UCD
    ``pos.angResolution`` when the coordinate is an angle, ``pos.resolution`` when it is a length.
    """
    if frame not in FRAMES:
        raise ValueError(f"spatial_frame_type {frame!r} is not one of {', '.join(FRAMES)}")
    if frame == "none":
        return {name: (None, None) for name in _FRAME_NAMES}
    result: dict[str, tuple[str | None, str | None]] = {}
    for axis, (ucd, unit) in enumerate(_FRAME_AXES[frame], start=1):
        resolution = "pos.angResolution" if unit == "deg" else "pos.resolution"
        for bound in ("min", "max"):
            result[f"c{axis}{bound}"] = (unit, f"{ucd};stat.{bound}")
            result[f"c{axis}_resol_{bound}"] = (unit, f"{resolution};stat.{bound}")
    return result


def is_hash_list_of(value: str, vocabulary: frozenset[str]) -> bool:
    """Whether ``value`` is a ``#``-separated list of terms of ``vocabulary`` (EPN-TAP 2.0 §1.2)."""
    return bool(value) and all(term in vocabulary for term in value.split("#"))
