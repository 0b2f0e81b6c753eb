"""The SSA 1.1 query response fields and the ObsCore 1.1 columns, as tables of metadata.

Each :class:`SSAField` is one ``FIELD`` of an SSA query response (SSA 1.1 §4.2 and its
table of the SSA data model, utypes in the ``ssa:`` namespace): its ``key`` names what a
portal's mapping (:class:`vostack.ssa.SSAMapping`) provides for it.  ``required`` marks the
fields the standard makes mandatory in a query response.  UCDs follow the SSA 1.1 table
and, where it leaves one out, UCD1+ words the same way GAVO DaCHS's SSA tables do.

:data:`OBSCORE_COLUMNS` (the mandatory columns of ObsCore 1.1) are kept in :mod:`vostack.obscore`, shared with
the image services, and named here too.
"""

from __future__ import annotations

from dataclasses import dataclass

from vostack.obscore.columns import OBSCORE_COLUMNS, ObsCoreColumn

__all__ = ["OBSCORE_COLUMNS", "SSA_FIELDS", "ObsCoreColumn", "SSAField"]


@dataclass(frozen=True, slots=True)
class SSAField:
    """One field of the SSA query response (SSA 1.1 §4.2, the SSA data model table)."""

    key: str
    utype: str
    ucd: str | None
    datatype: str
    required: bool = False
    unit: str | None = None
    arraysize: str | None = None
    description: str = ""


def _f(
    key: str,
    utype: str,
    ucd: str | None,
    datatype: str = "char",
    *,
    required: bool = False,
    unit: str | None = None,
    description: str,
) -> SSAField:
    arraysize = "*" if datatype == "char" else "2" if key in ("location", "target_pos") else None
    return SSAField(key, "ssa:" + utype, ucd, datatype, required, unit, arraysize, description)


#: The fields of an SSA 1.1 query response, in output order.  ``key`` is the name of the
#: value in :class:`vostack.ssa.SSAMapping`; ``location``, ``spectral_location``,
#: ``spectral_extent``, ``access_reference`` and ``access_format`` are computed by the service.
SSA_FIELDS: tuple[SSAField, ...] = (
    _f("data_model", "Dataset.DataModel", None, required=True, description="Data model name and version."),
    _f("dataset_type", "Dataset.Type", None, required=True, description="Type of the dataset (Spectrum)."),
    _f("length", "Dataset.Length", "meta.number", "long", required=True, description="Number of points."),
    _f("title", "DataID.Title", "meta.title;meta.dataset", required=True, description="Title of the dataset."),
    _f("creator", "DataID.Creator", "meta.curation", description="Creator of the dataset."),
    _f("collection", "DataID.Collection", "meta.id", description="Data collection the dataset belongs to."),
    _f("creator_did", "DataID.CreatorDID", "meta.id", description="Dataset identifier assigned by the creator."),
    _f("instrument", "DataID.Instrument", "meta.id;instr", description="Instrument that produced the data."),
    _f("bandpass", "DataID.Bandpass", "instr.bandpass", description="Rough spectral location (band name)."),
    _f("data_source", "DataID.DataSource", None, description="Origin of the data: survey, pointed, ..."),
    _f("creation_type", "DataID.CreationType", None, description="How the dataset was made: archival, ..."),
    _f("publisher", "Curation.Publisher", "meta.curation", required=True, description="Publisher of the dataset."),
    _f(
        "publisher_did",
        "Curation.PublisherDID",
        "meta.ref.uri;meta.curation",
        required=True,
        description="Dataset identifier assigned by the publisher (an IVOA identifier).",
    ),
    _f("reference", "Curation.Reference", "meta.bib.bibcode", description="Publication describing the data."),
    _f("target_name", "Target.Name", "meta.id;src", required=True, description="Name of the target observed."),
    _f("target_class", "Target.Class", "src.class", description="Class of the target (spectral type here)."),
    _f("target_pos", "Target.Pos", "pos.eq;src", "double", unit="deg", description="ICRS position of the target."),
    _f("redshift", "Target.Redshift", "src.redshift", "double", description="Redshift of the target."),
    _f("snr", "Derived.SNR", "stat.snr", "double", description="Signal-to-noise ratio of the dataset."),
    _f("frame", "CoordSys.SpaceFrame.Name", "pos.frame", required=True, description="Celestial reference frame."),
    _f(
        "location",
        "Char.SpatialAxis.Coverage.Location.Value",
        "pos.eq",
        "double",
        required=True,
        unit="deg",
        description="Position of the aperture centre (ra, dec).",
    ),
    _f(
        "aperture",
        "Char.SpatialAxis.Coverage.Bounds.Extent",
        "phys.angSize;instr.fov",
        "double",
        required=True,
        unit="deg",
        description="Angular diameter of the aperture.",
    ),
    _f(
        "spatial_resolution",
        "Char.SpatialAxis.Resolution",
        "pos.angResolution",
        "double",
        unit="deg",
        description="Spatial resolution of the data.",
    ),
    _f(
        "time_location",
        "Char.TimeAxis.Coverage.Location.Value",
        "time.epoch",
        "double",
        required=True,
        unit="d",
        description="Midpoint of the observation (MJD).",
    ),
    _f(
        "time_extent",
        "Char.TimeAxis.Coverage.Bounds.Extent",
        "time.duration",
        "double",
        required=True,
        unit="s",
        description="Total exposure time.",
    ),
    _f("t_min", "Char.TimeAxis.Coverage.Bounds.Start", "time.start", "double", unit="d", description="Start (MJD)."),
    _f("t_max", "Char.TimeAxis.Coverage.Bounds.Stop", "time.end", "double", unit="d", description="End (MJD)."),
    _f(
        "spectral_location",
        "Char.SpectralAxis.Coverage.Location.Value",
        "em.wl;instr.bandpass",
        "double",
        required=True,
        unit="m",
        description="Midpoint of the spectral coverage.",
    ),
    _f(
        "spectral_extent",
        "Char.SpectralAxis.Coverage.Bounds.Extent",
        "em.wl;instr.bandwidth",
        "double",
        required=True,
        unit="m",
        description="Width of the spectral coverage.",
    ),
    _f(
        "em_min",
        "Char.SpectralAxis.Coverage.Bounds.Start",
        "em.wl;stat.min",
        "double",
        required=True,
        unit="m",
        description="Shortest wavelength covered.",
    ),
    _f(
        "em_max",
        "Char.SpectralAxis.Coverage.Bounds.Stop",
        "em.wl;stat.max",
        "double",
        required=True,
        unit="m",
        description="Longest wavelength covered.",
    ),
    _f(
        "res_power",
        "Char.SpectralAxis.ResPower",
        "spect.resolution",
        "double",
        description="Spectral resolving power lambda / delta lambda.",
    ),
    _f("spectral_ucd", "Char.SpectralAxis.Ucd", "meta.ucd", required=True, description="UCD of the spectral axis."),
    _f("spectral_unit", "Char.SpectralAxis.Unit", "meta.unit", required=True, description="Unit of the spectral axis."),
    _f("flux_ucd", "Char.FluxAxis.Ucd", "meta.ucd", required=True, description="UCD of the flux axis."),
    _f("flux_unit", "Char.FluxAxis.Unit", "meta.unit", required=True, description="Unit of the flux (empty: unknown)."),
    _f("flux_calibration", "Char.FluxAxis.Calibration", None, description="Type of flux calibration."),
    _f(
        "access_reference",
        "Access.Reference",
        "meta.ref.url",
        required=True,
        description="URL that returns the dataset.",
    ),
    _f("access_format", "Access.Format", "meta.code.mime", required=True, description="Media type of the dataset."),
    _f("access_size", "Access.Size", "phys.size;meta.file", "long", unit="byte", description="Estimated size."),
)

#: The mapping keys the service computes itself (never looked up in a mapping).
COMPUTED = frozenset({"location", "spectral_location", "spectral_extent", "access_reference", "access_format"})
