"""Images: SIA 2.0 over ``ivoa.obscore``, image products described from their FITS headers, DataLink 1.1 links
and SODA 1.0 cutouts (IVOA SIA 2.0, SODA 1.0, DataLink 1.1, ObsCore 1.1).

A portal keeps each set of image files as an :class:`ImageCollection` (a product table with the ObsCore
columns, loaded from the headers by :meth:`ImageCollection.load`), makes ``ivoa.obscore`` of its collections
(and spectra) with :class:`vostack.obscore.ObsCoreView`, and mounts :class:`SIAService` (``Mount("/sia", sia)``).
"""

from __future__ import annotations

from vostack.sia.collection import FITS, ImageCollection, ImageFile, LoadReport
from vostack.sia.images import ImageError, ImageRecord, describe_image, fits_png
from vostack.sia.params import SIAQuery, parse_sia
from vostack.sia.series import TimeSeries, describe_series, read_series, series_png, series_votable
from vostack.sia.service import SIA_QUERY, SIAService
from vostack.sia.soda import SODA_SYNC, Cut, NoOverlap, cutout, parse_cut

__all__ = [
    "FITS",
    "SIA_QUERY",
    "SODA_SYNC",
    "Cut",
    "ImageCollection",
    "ImageError",
    "ImageFile",
    "ImageRecord",
    "LoadReport",
    "NoOverlap",
    "SIAQuery",
    "SIAService",
    "TimeSeries",
    "cutout",
    "describe_image",
    "describe_series",
    "fits_png",
    "parse_cut",
    "parse_sia",
    "read_series",
    "series_png",
    "series_votable",
]
