"""The ObsCore 1.1 columns (§3 and table 6 of the ObsCore 1.1 REC: names, types, utypes, UCDs, units) that
``ivoa.obscore`` publishes, and the one column vostack adds for indexed spatial searches.

:data:`OBSCORE_COLUMNS` are the mandatory columns in the standard's order; :data:`FOOTPRINT` is a pgSphere
polygon of the region covered (ObsCore 1.1 §4.4 allows a service to add columns), which SIA 2.0 and ADQL
search with the GiST index of each product table.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["FOOTPRINT", "OBSCORE_COLUMNS", "ObsCoreColumn"]


@dataclass(frozen=True, slots=True)
class ObsCoreColumn:
    """A mandatory column of ``ivoa.obscore`` (ObsCore 1.1 §3, table 6)."""

    name: str
    db_type: str
    utype: str
    ucd: str
    unit: str | None
    description: str


def _o(name: str, db_type: str, utype: str, ucd: str, unit: str | None, description: str) -> ObsCoreColumn:
    return ObsCoreColumn(name, db_type, "obscore:" + utype, ucd, unit, description)


#: The mandatory ObsCore 1.1 columns, in the standard's order.
OBSCORE_COLUMNS: tuple[ObsCoreColumn, ...] = (
    _o("dataproduct_type", "text", "ObsDataset.dataProductType", "meta.code.class", None, "Data product type."),
    _o("calib_level", "integer", "ObsDataset.calibLevel", "meta.code;obs.calib", None, "Calibration level 0-4."),
    _o("obs_collection", "text", "DataID.Collection", "meta.id", None, "Name of the data collection."),
    _o("obs_id", "text", "DataID.observationID", "meta.id", None, "Observation identifier."),
    _o("obs_publisher_did", "text", "Curation.PublisherDID", "meta.ref.ivoid", None, "Publisher's dataset id."),
    _o("access_url", "text", "Access.Reference", "meta.ref.url", None, "URL to the data (a DataLink document)."),
    _o("access_format", "text", "Access.Format", "meta.code.mime", None, "Media type of the access_url."),
    _o("access_estsize", "bigint", "Access.Size", "phys.size;meta.file", "kbyte", "Estimated size of the data."),
    _o("target_name", "text", "Target.Name", "meta.id;src", None, "Name of the target."),
    _o(
        "s_ra",
        "double precision",
        "Char.SpatialAxis.Coverage.Location.Coord.Position2D.Value2.C1",
        "pos.eq.ra",
        "deg",
        "Right ascension of the centre (ICRS).",
    ),
    _o(
        "s_dec",
        "double precision",
        "Char.SpatialAxis.Coverage.Location.Coord.Position2D.Value2.C2",
        "pos.eq.dec",
        "deg",
        "Declination of the centre (ICRS).",
    ),
    _o(
        "s_fov",
        "double precision",
        "Char.SpatialAxis.Coverage.Bounds.Extent.diameter",
        "phys.angSize;instr.fov",
        "deg",
        "Diameter of the region covered.",
    ),
    _o(
        "s_region",
        "text",
        "Char.SpatialAxis.Coverage.Support.Area",
        "pos.outline;obs.field",
        None,
        "Sky region covered by the data, an STC-S string (CIRCLE or POLYGON ICRS, in degrees).",
    ),
    _o(
        "s_resolution",
        "double precision",
        "Char.SpatialAxis.Resolution.Refval.value",
        "pos.angResolution",
        "arcsec",
        "Spatial resolution (FWHM).",
    ),
    _o("s_xel1", "bigint", "Char.SpatialAxis.numBins1", "meta.number", None, "Number of elements along the 1st axis."),
    _o("s_xel2", "bigint", "Char.SpatialAxis.numBins2", "meta.number", None, "Number of elements along the 2nd axis."),
    _o(
        "t_min",
        "double precision",
        "Char.TimeAxis.Coverage.Bounds.Limits.StartTime",
        "time.start;obs.exposure",
        "d",
        "Start time (MJD).",
    ),
    _o(
        "t_max",
        "double precision",
        "Char.TimeAxis.Coverage.Bounds.Limits.StopTime",
        "time.end;obs.exposure",
        "d",
        "Stop time (MJD).",
    ),
    _o(
        "t_exptime",
        "double precision",
        "Char.TimeAxis.Coverage.Support.Extent",
        "time.duration;obs.exposure",
        "s",
        "Total exposure time.",
    ),
    _o(
        "t_resolution",
        "double precision",
        "Char.TimeAxis.Resolution.Refval.value",
        "time.resolution",
        "s",
        "Temporal resolution.",
    ),
    _o("t_xel", "bigint", "Char.TimeAxis.numBins", "meta.number", None, "Number of elements along the time axis."),
    _o(
        "em_min",
        "double precision",
        "Char.SpectralAxis.Coverage.Bounds.Limits.LoLimit",
        "em.wl;stat.min",
        "m",
        "Shortest wavelength (vacuum).",
    ),
    _o(
        "em_max",
        "double precision",
        "Char.SpectralAxis.Coverage.Bounds.Limits.HiLimit",
        "em.wl;stat.max",
        "m",
        "Longest wavelength (vacuum).",
    ),
    _o(
        "em_res_power",
        "double precision",
        "Char.SpectralAxis.Resolution.ResolPower.refVal",
        "spect.resolution",
        None,
        "Spectral resolving power.",
    ),
    _o("em_xel", "bigint", "Char.SpectralAxis.numBins", "meta.number", None, "Number of spectral elements."),
    _o("o_ucd", "text", "Char.ObservableAxis.ucd", "meta.ucd", None, "UCD of the observable (flux)."),
    _o("pol_states", "text", "Char.PolarizationAxis.stateList", "meta.code;phys.polarization", None, "Pol. states."),
    _o("pol_xel", "bigint", "Char.PolarizationAxis.numBins", "meta.number", None, "Number of polarization samples."),
    _o("facility_name", "text", "Provenance.ObsConfig.facility.name", "meta.id;instr.tel", None, "Telescope."),
    _o("instrument_name", "text", "Provenance.ObsConfig.instrument.name", "meta.id;instr", None, "Instrument."),
)


FOOTPRINT = ObsCoreColumn(
    "s_footprint",
    "spoly",
    "",
    "pos.outline;obs.field",
    "deg",
    "The region covered as a polygon (the s_region of images), NULL for products known by a point and aperture.",
)
"""The column vostack adds to ``ivoa.obscore``: ``s_region`` as a pgSphere polygon, indexed in each product table."""
