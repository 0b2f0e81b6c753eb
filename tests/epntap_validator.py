"""A validator of EPN-TAP 2.0 services, written from the Recommendation, for the tests.

It reads a TAP service as a client does (TAP_SCHEMA and ADQL through pyvo), independently of vostack's own
EPN-TAP code, and lists what breaks EPN-TAP 2.0: the table name and utype (§1.2, §4.1), every mandatory
parameter with its type, unit and UCD (§3, with Table 3 for c1..c3 by spatial_frame_type), the
vocabularies (§2.1), the min/max pairs (§1.2), values required in every row, plausible JD times.
(Debian's STILTS 3.4.7 predates taplint's EPN-TAP stage.)
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

__all__ = ["UTYPE", "data_problems", "metadata_problems", "validate"]

UTYPE = "ivo://ivoa.net/std/epntap#table-2.0"

# EPN-TAP 2.0 §3, the EPNCore table: name, type, unit, UCD, "!" when a value is required ("-": none)
_MANDATORY = """
granule_uid text - meta.id !
granule_gid text - meta.id !
obs_id text - meta.id;obs !
dataproduct_type text - meta.code.class !
measurement_type text - meta.ucd
processing_level integer - meta.calibLevel
target_name text - meta.id;src
target_class text - src.class !
time_min double d time.start;obs
time_max double d time.end;obs
time_sampling_step_min float s time.resolution;stat.min
time_sampling_step_max float s time.resolution;stat.max
time_exp_min float s time.duration;obs.exposure;stat.min
time_exp_max float s time.duration;obs.exposure;stat.max
spectral_range_min float Hz em.freq;stat.min
spectral_range_max float Hz em.freq;stat.max
spectral_sampling_step_min float Hz em.freq;spect.binSize;stat.min
spectral_sampling_step_max float Hz em.freq;spect.binSize;stat.max
spectral_resolution_min float - spect.resolution;stat.min
spectral_resolution_max float - spect.resolution;stat.max
c1min float frame frame
c1max float frame frame
c2min float frame frame
c2max float frame frame
c3min float frame frame
c3max float frame frame
s_region region - pos.outline;obs.field
c1_resol_min float frame frame
c1_resol_max float frame frame
c2_resol_min float frame frame
c2_resol_max float frame frame
c3_resol_min float frame frame
c3_resol_max float frame frame
spatial_frame_type text - meta.code.class;pos.frame !
incidence_min float deg pos.incidenceAng;stat.min
incidence_max float deg pos.incidenceAng;stat.max
emergence_min float deg pos.emergenceAng;stat.min
emergence_max float deg pos.emergenceAng;stat.max
phase_min float deg pos.phaseAng;stat.min
phase_max float deg pos.phaseAng;stat.max
instrument_host_name text - meta.id;instr.obsty
instrument_name text - meta.id;instr
service_title text - meta.title !
creation_date timestamp - time.creation !
modification_date timestamp - time.processing !
release_date timestamp - time.release !
"""
MANDATORY: list[tuple[str, str, str | None, str | None, bool]] = [
    (p[0], p[1], None if p[2] == "-" else p[2], None if p[3] == "-" else p[3], p[-1] == "!")
    for p in (line.split() for line in _MANDATORY.strip().splitlines())
]

# Table 3: the UCD of the first, second and third coordinate, and its unit, by spatial_frame_type
_AXES = {
    "celestial": (("pos.eq.ra", "deg"), ("pos.eq.dec", "deg"), ("pos.distance", "AU")),
    "body": (("pos.bodyrc.lon", "deg"), ("pos.bodyrc.lat", "deg"), ("pos.bodyrc.alt", "km")),
    "cartesian": (("pos.cartesian.x", "km"), ("pos.cartesian.y", "km"), ("pos.cartesian.z", "km")),
    "spherical": (("pos.spherical.r", "m"), ("pos.spherical.colat", "deg"), ("pos.spherical.azi", "deg")),
    "cylindrical": (("pos.cylindrical.r", "km"), ("pos.cylindrical.azi", "deg"), ("pos.cylindrical.z", "km")),
}
DATAPRODUCT_TYPES = set(["im", "ma", "sp", "ds", "sc", "pr", "pf", "vo", "mo", "cu", "ts", "ca", "ci", "sv", "ev"])
TARGET_CLASSES = set(
    [
        "asteroid",
        "dwarf_planet",
        "planet",
        "satellite",
        "comet",
        "exoplanet",
        "interplanetary_medium",
        "sample",
        "sky",
        "spacecraft",
        "spacejunk",
        "star",
        "calibration",
    ]
)
FRAMES = {"celestial", "body", "cartesian", "spherical", "cylindrical", "none"}
PROCESSING_LEVELS = {1, 2, 3, 5, 6}
#: Plausible times: JD of -1000-01-01 (Julian calendar) to 2200-01-01.  Recorded comet apparitions reach back
#: to the first millennium BC (the SBDB's C/-146 P1 passed perihelion in 146 BC); an MJD or a Unix time given
#: as JD falls outside (MJD 59800 read as JD is 4550 BC).
JD_RANGE = (1355807.5, 2524593.5)


def _expected(name: str, unit: str | None, ucd: str | None, frame: str) -> tuple[str | None, str | None]:
    if unit != "frame":
        return unit, ucd
    if frame == "none":
        return None, None
    axis = int(name[1]) - 1
    axis_ucd, axis_unit = _AXES[frame][axis]
    bound = name[-3:]
    if "resol" in name:
        axis_ucd = "pos.angResolution" if axis_unit == "deg" else "pos.resolution"
    return axis_unit, f"{axis_ucd};stat.{bound}"


_TYPES: Mapping[str, set[str]] = {
    "text": {"char", "unicodeChar"},
    "integer": {"short", "int", "long"},
    "float": {"float", "double"},
    "double": {"double"},
}


def metadata_problems(
    table: str, utype: str | None, columns: Sequence[Mapping[str, Any]], schema_tables: Sequence[str], frame: str
) -> list[str]:
    """What the published metadata of ``table`` breaks: name, utype, mandatory columns with types, units, UCDs."""
    problems = []
    schema = table.split(".")[0]
    if table.split(".")[-1] != "epn_core":
        problems.append(f"{table}: the table must be called <schema>.epn_core")
    if utype != UTYPE:
        problems.append(f"{table}: utype {utype!r}, not {UTYPE}")
    if [t for t in schema_tables if t != table]:
        problems.append(f"{table}: the schema {schema} holds other tables too: {sorted(schema_tables)}")
    by_name = {c["column_name"]: c for c in columns}
    for name, kind, unit, ucd, _ in MANDATORY:
        column = by_name.get(name)
        if column is None:
            problems.append(f"{table}: the mandatory column {name} is missing")
            continue
        datatype, xtype = column["datatype"], column.get("xtype") or None
        if kind == "timestamp":
            if datatype != "char" or xtype != "timestamp":
                problems.append(
                    f"{table}.{name}: a timestamp must be char with xtype timestamp, not {datatype}/{xtype}"
                )
        elif kind == "region":
            if not (
                (datatype == "char" and xtype == "adql:REGION")
                or (datatype == "double" and xtype in ("point", "circle", "polygon"))
            ):
                problems.append(
                    f"{table}.{name}: an STC-S string or a DALI point/circle/polygon, not {datatype}/{xtype}"
                )
        elif datatype not in _TYPES[kind]:
            problems.append(f"{table}.{name}: {kind} must be one of {sorted(_TYPES[kind])}, not {datatype}")
        want_unit, want_ucd = _expected(name, unit, ucd, frame)
        if (column.get("unit") or None) != want_unit:
            problems.append(f"{table}.{name}: unit {column.get('unit')!r}, not {want_unit!r}")
        if (column.get("ucd") or None) != want_ucd:
            problems.append(f"{table}.{name}: UCD {column.get('ucd')!r}, not {want_ucd!r}")
    if "access_url" in by_name and not {"access_format", "access_estsize"} <= set(by_name):
        problems.append(f"{table}: access_url needs access_format and access_estsize")
    return problems


def data_problems(table: str, names: set[str], frame: str, query: Callable[[str], list[tuple[Any, ...]]]) -> list[str]:
    """What the rows of ``table`` break; ``query`` runs ADQL and returns rows of tuples."""
    problems = []

    def count(where: str) -> int:
        return int(query(f"SELECT COUNT(*) FROM {table} WHERE {where}")[0][0])

    for name, *_, required in MANDATORY:
        if required and (n := count(f"{name} IS NULL")):
            problems.append(f"{table}.{name}: {n} rows without the value it requires")
    ((total, distinct),) = query(f"SELECT COUNT(*), COUNT(DISTINCT granule_uid) FROM {table}")
    if total != distinct:
        problems.append(f"{table}.granule_uid: {total - distinct} duplicates")
    for name, vocabulary in (("dataproduct_type", DATAPRODUCT_TYPES), ("target_class", TARGET_CLASSES)):
        for (value,) in query(f"SELECT DISTINCT {name} FROM {table}"):
            if value is None or not set(str(value).split("#")) <= vocabulary:
                problems.append(f"{table}.{name}: {value!r} is not a #-list of the vocabulary")
    for (value,) in query(f"SELECT DISTINCT processing_level FROM {table}"):
        if value is not None and int(value) not in PROCESSING_LEVELS:
            problems.append(f"{table}.processing_level: {value} is not a level of EPN-TAP 2.0")
    titles = {row[0] for row in query(f"SELECT DISTINCT service_title FROM {table}")}
    if titles != {table.split(".")[0]}:
        problems.append(f"{table}.service_title: {titles}, not the schema name")
    angular = frame in ("celestial", "body")
    for low in sorted(n for n in names if n.endswith("min") and n[:-3] + "max" in names):
        high = low[:-3] + "max"
        if n := count(f"({low} IS NULL AND {high} IS NOT NULL) OR ({low} IS NOT NULL AND {high} IS NULL)"):
            problems.append(f"{table}: {n} rows with only one of {low}, {high}")
        if angular and low == "c1min":
            if n := count("c1min < 0 OR c1min > 360 OR c1max < 0 OR c1max > 360"):
                problems.append(f"{table}: {n} rows with c1 outside 0..360")
        elif n := count(f"{low} > {high}"):
            problems.append(f"{table}: {n} rows with {low} > {high}")
        if angular and low == "c2min" and (n := count("c2min < -90 OR c2max > 90")):
            problems.append(f"{table}: {n} rows with c2 outside -90..90")
    ((earliest, latest),) = query(f"SELECT MIN(time_min), MAX(time_max) FROM {table}")
    for value in (earliest, latest):
        if value is not None and not JD_RANGE[0] <= float(value) <= JD_RANGE[1]:
            problems.append(f"{table}: time {value} is no plausible JD of an observation")
    return problems


def validate(query: Callable[[str], list[tuple[Any, ...]]]) -> dict[str, list[str]]:
    """Every EPN-TAP 2.0 table a TAP service publishes (by utype), with what it breaks."""
    found = {}
    for table, utype in query(f"SELECT table_name, utype FROM TAP_SCHEMA.tables WHERE utype = '{UTYPE}'"):
        schema = table.split(".")[0]
        tables = [row[0] for row in query(f"SELECT table_name FROM TAP_SCHEMA.tables WHERE schema_name = '{schema}'")]
        columns = [
            dict(zip(("column_name", "datatype", "xtype", "unit", "ucd"), row, strict=True))
            for row in query(
                f"SELECT column_name, datatype, xtype, unit, ucd FROM TAP_SCHEMA.columns WHERE table_name = '{table}'"
            )
        ]
        frames = {row[0] for row in query(f"SELECT DISTINCT spatial_frame_type FROM {table}")}
        problems = []
        if len(frames) != 1 or not frames <= FRAMES:
            problems.append(
                f"{table}: spatial_frame_type {frames}: one value of {sorted(FRAMES)} is needed for its UCDs"
            )
        frame = next(iter(frames)) if len(frames) == 1 and frames <= FRAMES else "none"
        problems += metadata_problems(table, utype, columns, tables, frame)
        problems += data_problems(table, {c["column_name"] for c in columns}, frame, query)
        found[table] = problems
    return found
