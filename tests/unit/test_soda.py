"""SODA 1.0 cutouts of a cube built here (RA, Dec, wavelength, Stokes): BAND keeps the planes that meet it and
POL the Stokes planes, with a WCS that still gives every kept pixel its wavelength and state; NoOverlap when
nothing is left.  (The demo's real images are cut in tests/interop/test_sia.py.)"""

from __future__ import annotations

import io

import numpy as np
import pytest
from astropy.io import fits
from astropy.wcs import WCS

from vostack.dali import Params
from vostack.errors import UsageError
from vostack.sia import NoOverlap, cutout, parse_cut

STEP = 1e-8  # metres a plane
FIRST = 1e-6


def _cube() -> bytes:
    # numpy order: Stokes (4), wavelength (10), dec (20), ra (20); value = 100 * plane + Stokes code
    data = np.zeros((4, 10, 20, 20), dtype=np.float32)
    for stokes in range(4):
        for plane in range(10):
            data[stokes, plane] = 100 * plane + stokes + 1
    header = fits.Header()
    header.update({
        "CTYPE1": "RA---TAN", "CRVAL1": 150.0, "CRPIX1": 10.5, "CDELT1": -0.001, "CUNIT1": "deg",
        "CTYPE2": "DEC--TAN", "CRVAL2": 2.0, "CRPIX2": 10.5, "CDELT2": 0.001, "CUNIT2": "deg",
        "CTYPE3": "WAVE", "CRVAL3": FIRST, "CRPIX3": 1.0, "CDELT3": STEP, "CUNIT3": "m",
        "CTYPE4": "STOKES", "CRVAL4": 1.0, "CRPIX4": 1.0, "CDELT4": 1.0,
    })  # fmt: skip
    out = io.BytesIO()
    fits.PrimaryHDU(data, header=header).writeto(out)
    return out.getvalue()


def _cut(**params: str) -> tuple[np.ndarray, WCS]:
    cut = cutout(_cube(), parse_cut(Params(list(params.items()))), frame="ICRS")
    with fits.open(io.BytesIO(cut)) as hdus:
        return np.asarray(hdus[0].data), WCS(hdus[0].header)


def test_band_keeps_the_planes_it_meets_with_their_wavelengths() -> None:
    low, high = FIRST + 3 * STEP, FIRST + 5.2 * STEP  # planes 3, 4, 5 (each is a step wide around its centre)
    data, wcs = _cut(BAND=f"{low!r} {high!r}")
    assert data.shape == (4, 3, 20, 20)
    assert list(np.unique(data[0])) == [301, 401, 501]
    wavelengths = wcs.sub([3]).pixel_to_world_values(np.arange(3))
    np.testing.assert_allclose(wavelengths, FIRST + np.array([3, 4, 5]) * STEP)


def test_pol_keeps_the_stokes_planes_and_circle_the_pixels() -> None:
    data, wcs = _cut(POL="U", CIRCLE="150.0 2.0 0.003")
    assert data.shape[0] == 1 and set(np.unique(data[0, 0])) == {3}  # U is Stokes code 3
    assert wcs.sub([4]).pixel_to_world_values(0) == pytest.approx(3)
    assert data.shape[2] < 20 and data.shape[3] < 20
    centre = wcs.celestial.world_to_pixel_values(150.0, 2.0)
    assert abs(float(centre[0]) - (data.shape[3] - 1) / 2) <= 1 and abs(float(centre[1]) - (data.shape[2] - 1) / 2) <= 1


@pytest.mark.parametrize(
    ("params", "error", "words"),
    [
        ({"BAND": "1e-3 2e-3"}, NoOverlap, "band lies outside BAND"),
        ({"POL": "RR"}, NoOverlap, "none of the POL states"),
        ({"CIRCLE": "150.1 2.0 0.01"}, NoOverlap, "does not meet the image"),
        ({"CIRCLE": "330 -2 0.1"}, NoOverlap, "outside the image.s projection"),
    ],
)
def test_cuts_that_leave_nothing_are_no_overlap(params: dict[str, str], error: type[UsageError], words: str) -> None:
    with pytest.raises(error, match=words):
        _cut(**params)
