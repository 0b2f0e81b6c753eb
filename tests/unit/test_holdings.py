"""[products.<name>] and [ssa] from TOML without a database: what each builds, one clear error per mistake;
and the FITS spectrum readers the [ssa.spectrum] table configures."""

from __future__ import annotations

import gzip
import io
import zipfile
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from astropy.io import fits

from vostack.config import ConfigError, ServiceConfig
from vostack.holdings import parse_products, parse_ssa
from vostack.products import BucketStore, DirectoryStore, GzipStore, Products, ZipStore
from vostack.ssa.readers import FitsSpectrum

SSA_COLUMNS = {
    "publisher_did": "pubdid", "obs_id": "obs_id", "title": "title", "ra": "ra", "dec": "dec", "t_min": "t_min",
    "t_max": "t_max", "em_min": "em_min", "em_max": "em_max", "time_location": "mjd", "length": "n_points",
    "time_extent": "exptime", "flux_unit": "flux_unit",
}  # fmt: skip
SSA_CONSTANTS = {
    "data_model": "Spectrum-1.1", "dataset_type": "Spectrum", "publisher": "p", "creator": "c", "collection": "x",
    "instrument": "i", "facility": "f", "bandpass": "Infrared", "data_source": "pointed",
    "creation_type": "archival", "frame": "ICRS", "aperture": 0.001, "spectral_ucd": "em.wl",
    "spectral_unit": "m", "flux_ucd": "phot.flux.density;em.wl", "calib_level": 2, "target_name": "t",
}  # fmt: skip


def _products(tmp_path: Path, **table: Any) -> dict[str, Products]:
    return parse_products({"files": table}, base=tmp_path, environ={"K": "key", "S": "secret"})


def test_each_kind_of_store_is_built_from_its_keys(tmp_path: Path) -> None:
    (tmp_path / "spectra").mkdir()
    with zipfile.ZipFile(tmp_path / "data.whl", "w") as archive:
        archive.writestr("pkg/a.fits", b"x")
    directory = _products(tmp_path, store="directory", path="spectra", media_type="application/fits")["files"]
    assert isinstance(directory.store, DirectoryStore) and directory.store.root == (tmp_path / "spectra").resolve()
    assert directory.media_type == "application/fits" and not directory.previews
    packed = _products(tmp_path, store="zip", path="data.whl", prefix="pkg/", compression="gzip", previews=True)
    assert isinstance(packed["files"].store, GzipStore) and isinstance(packed["files"].store.store, ZipStore)
    assert packed["files"].previews and packed["files"].media_type == "application/octet-stream"
    bucket = _products(tmp_path, store="s3", endpoint="http://s3:7480", bucket="b", prefix="p/",
                       access_key_env="K", secret_key_env="S")  # fmt: skip
    assert isinstance(bucket["files"].store, BucketStore) and bucket["files"].store.prefix == "p/"


@pytest.mark.parametrize(
    ("table", "words"),
    [
        ({"store": "ftp"}, "store must be one of directory, zip, s3"),
        ({"store": "directory"}, 'store = "directory" needs a path'),
        ({"store": "directory", "path": "nowhere"}, "does not exist"),
        ({"store": "zip", "path": "nowhere.whl"}, "cannot open the product archive"),
        ({"store": "directory", "path": ".", "prefix": "a/"}, "a directory has no prefix"),
        ({"store": "directory", "path": ".", "bucket": "b"}, 'bucket do not belong to store = "directory"'),
        ({"store": "s3", "bucket": "b"}, "needs an endpoint and a bucket"),
        ({"store": "s3", "endpoint": "s3:80", "bucket": "b"}, "must be an http:// or https:// URL"),
        ({"store": "s3", "endpoint": "http://s3", "bucket": "b", "access_key_env": "NONE"}, "NONE"),
        ({"store": "directory", "path": ".", "compression": "bzip2"}, 'compression may only be "gzip"'),
        ({"store": "directory", "path": ".", "media_type": "FITS"}, "lower-case media type"),
        ({"store": "directory", "path": ".", "previews": "yes"}, "previews must be a bool"),
        ({"store": "directory", "path": ".", "colour": "red"}, "unknown key(s) colour"),
    ],
)
def test_a_wrong_store_is_one_error_naming_its_section(tmp_path: Path, table: dict[str, Any], words: str) -> None:
    with pytest.raises(ConfigError) as raised:
        _products(tmp_path, **table)
    assert raised.value.message.startswith("[products.files]") and words in raised.value.message


def _ssa(stores: dict[str, Products], *, public_url: str | None = "http://h", **changes: Any) -> Any:
    """parse_ssa of a complete [ssa] section with ``changes`` (a value None leaves the key out)."""
    table: dict[str, Any] = {
        "table": "s.spectra", "collection": "x", "products": "files", "path": "{file_name}.fits",
        "columns": dict(SSA_COLUMNS), "constants": dict(SSA_CONSTANTS),
        "spectrum": {"layout": "rows", "spectral_unit": "um"},
    }  # fmt: skip
    table.update(changes)
    table = {k: v for k, v in table.items() if v is not None}
    return parse_ssa(table, products=stores, settings=ServiceConfig(), public_url=public_url)


def test_ssa_is_built_over_a_store_with_a_path_template(tmp_path: Path) -> None:
    products = _products(tmp_path, store="directory", path=".", media_type="application/fits")
    service = _ssa(products)
    assert service.public_url == "http://h/ssa"  # ivoa.obscore's access URLs
    assert service.mapping.path_template is not None and service.mapping.path_template.columns == ("file_name",)
    assert "file_name" in service.mapping.column_names()
    assert service.products.media_type == "application/fits"
    assert _ssa(products, obscore=False).public_url is None


@pytest.mark.parametrize(
    ("changes", "words"),
    [
        ({"products": "other"}, "names no [products.<name>] (there are: files)"),
        ({"spectrum": {"layout": "rows"}}, '[ssa.spectrum]: a "rows" layout needs spectral_unit'),
        ({"spectrum": {"layout": "table", "spectral": "WAVE"}}, "names its spectral and flux columns"),
        ({"spectrum": {"layout": "cube"}}, "layout is one of table, rows"),
        ({"path": "{0}.fits"}, "may only name columns"),
        ({"path": None}, "missing required value(s): product"),
        ({"path": "{f}", "columns": {**SSA_COLUMNS, "product": "f"}}, "given twice: as a column and as product_path"),
        ({"columns": {**SSA_COLUMNS, "ra": 3}}, "each key maps to a column name"),
        ({"table": None}, "[ssa]: table required"),
        ({"sql": "x"}, "unknown key(s) sql"),
        ({"public_url": None}, "the ObsCore view's access URLs need the site's public_url"),
    ],
)
def test_a_wrong_ssa_section_is_one_clear_error(tmp_path: Path, changes: dict[str, Any], words: str) -> None:
    products = _products(tmp_path, store="directory", path=".")
    with pytest.raises(ConfigError) as raised:
        _ssa(products, **changes)
    assert raised.value.message.startswith("[ssa") and words in raised.value.message


def _fits(hdus: list[Any]) -> bytes:
    out = io.BytesIO()
    fits.HDUList(hdus).writeto(out)
    return out.getvalue()


def test_a_table_spectrum_takes_its_columns_and_their_units() -> None:
    wave = np.linspace(4000.0, 7000.0, 50)
    table = fits.BinTableHDU.from_columns([
        fits.Column(name="WAVE", format="D", unit="Angstrom", array=wave),
        fits.Column(name="FLUX", format="D", unit="erg/(s cm2 Angstrom)", array=np.ones(50)),
        fits.Column(name="ERR", format="D", array=np.full(50, 0.1)),
    ])  # fmt: skip
    data = _fits([fits.PrimaryHDU(), table])
    spectrum = FitsSpectrum(spectral="WAVE", flux="FLUX", error="ERR")(data)
    assert spectrum.spectral == list(wave) and spectrum.error == [0.1] * 50
    assert spectrum.spectral_unit == "Angstrom" and spectrum.flux_unit == "erg/(s cm2 Angstrom)"
    assert FitsSpectrum(spectral="WAVE", flux="FLUX", spectral_unit="0.1nm")(data).spectral_unit == "0.1nm"
    with pytest.raises(ValueError, match="no binary table with the columns WAVE, FLUX, SNR"):
        FitsSpectrum(spectral="WAVE", flux="FLUX", error="SNR")(data)
    with pytest.raises(ValueError, match="not a FITS file"):
        FitsSpectrum(spectral="WAVE", flux="FLUX")(gzip.compress(data))  # the store decompresses, not the reader


def test_a_rows_spectrum_reads_rows_transposed_or_stacked() -> None:
    rows = np.vstack([np.linspace(1.0, 2.0, 20), np.arange(20.0), np.full(20, 0.5)])
    reader = FitsSpectrum(layout="rows", spectral_unit="um", flux_unit="W.m**-2.um**-1")
    for image in (rows, rows.T, np.stack([rows, rows * 2])):
        spectrum = reader(_fits([fits.PrimaryHDU(image)]))
        assert spectrum.spectral == list(np.linspace(1.0, 2.0, 20)) and spectrum.flux == list(np.arange(20.0))
        assert spectrum.error == [0.5] * 20 and spectrum.flux_unit == "W.m**-2.um**-1"
    with pytest.raises(ValueError, match="2-D array"):
        reader(_fits([fits.PrimaryHDU(np.arange(5.0))]))
