"""Spectra as products: the portal's store, the Spectrum data model VOTable and an SVG preview.

The portal hands the service a :class:`ProductStore`: for a product key (a value of the
mapping's ``product`` column) it returns the original file and the arrays.  The service
writes the arrays as a VOTable in the IVOA Spectrum data model (Spectrum DM 1.1: utypes
``spec:Spectrum.Data.SpectralAxis.Value``, ``spec:Spectrum.Data.FluxAxis.Value`` and
``spec:Spectrum.Data.FluxAxis.Accuracy.StatError``), and draws a small SVG plot as the
DataLink preview.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol, runtime_checkable

from vostack.schema import Field
from vostack.votable import Param, VOTableWriter
from vostack.votable.status import xml_attr, xml_text

__all__ = ["ProductStore", "RangedProductStore", "Spectrum", "preview_svg", "spectrum_votable"]


@dataclass(frozen=True, slots=True)
class Spectrum:
    """A 1-D spectrum: spectral coordinates, flux and its error, with units (VOUnit) and UCDs."""

    spectral: Sequence[float]
    flux: Sequence[float]
    error: Sequence[float] | None = None
    spectral_unit: str = "um"
    flux_unit: str | None = None
    spectral_ucd: str = "em.wl"
    flux_ucd: str = "phot.flux.density;em.wl"


class ProductStore(Protocol):
    """Where a portal keeps its spectra (the files behind the SSA records)."""

    media_type: str
    """The media type of the original files (``"application/fits"``)."""

    def original(self, key: str) -> bytes:
        """The original file of the product ``key``; :class:`vostack.errors.NotFoundError` if unknown."""

    def spectrum(self, key: str) -> Spectrum:
        """The arrays of the product ``key``."""


@runtime_checkable
class RangedProductStore(ProductStore, Protocol):
    """A product store that reads parts of a file (an object store): ``getData`` with an HTTP ``Range``
    header then reads only those bytes (RFC 9110 §14)."""

    def size(self, key: str) -> int:
        """The size of the file of the product ``key`` in bytes."""

    def read_range(self, key: str, start: int, end: int) -> bytes:
        """Bytes ``start`` up to ``end`` (exclusive) of the file of the product ``key``."""


def _number(value: float) -> float | None:
    return None if value is None or not math.isfinite(value) else float(value)


def spectrum_votable(spectrum: Spectrum, metadata: Sequence[tuple[Field, object]] = ()) -> bytes:
    """The spectrum as a VOTable in the Spectrum data model (Spectrum DM 1.1 §4, SSA 1.1 §9.1).

    ``metadata`` becomes ``PARAM`` elements (for instance ``spec:Spectrum.Target.Name``).
    """
    fields = [
        Field(
            "spectral",
            "double",
            unit=spectrum.spectral_unit,
            ucd=spectrum.spectral_ucd,
            utype="spec:Spectrum.Data.SpectralAxis.Value",
            description="Spectral coordinate (vacuum wavelength).",
        ),
        Field(
            "flux",
            "double",
            unit=spectrum.flux_unit,
            ucd=spectrum.flux_ucd,
            utype="spec:Spectrum.Data.FluxAxis.Value",
            description="Flux density" + ("" if spectrum.flux_unit else " (unit unknown: not in the original file)"),
        ),
    ]
    columns: list[Sequence[float]] = [spectrum.spectral, spectrum.flux]
    if spectrum.error is not None:
        fields.append(
            Field(
                "flux_error",
                "double",
                unit=spectrum.flux_unit,
                ucd="stat.error;" + spectrum.flux_ucd,
                utype="spec:Spectrum.Data.FluxAxis.Accuracy.StatError",
                description="Statistical error of the flux.",
            )
        )
        columns.append(spectrum.error)
    rows = [tuple(_number(v) for v in row) for row in zip(*columns, strict=True)]
    params = [Param(Field("DataModel", "char", "*", utype="spec:Spectrum.DataModel"), "Spectrum-1.1")]
    params += [Param(f, value) for f, value in metadata]
    writer = VOTableWriter(
        fields,
        serialization="tabledata",
        params=params,
        table_name="spectrum",
        infos=(("SERVICE_PROTOCOL", "1.1", "SSAP"),),
    )
    return writer.header() + writer.rows(rows) + writer.footer()


def preview_svg(spectrum: Spectrum, *, title: str = "", width: int = 640, height: int = 360) -> bytes:
    """A small SVG line plot of flux against wavelength (the DataLink ``#preview``, DataLink 1.1 §3.2.2)."""
    points = [
        (float(x), float(y))
        for x, y in zip(spectrum.spectral, spectrum.flux, strict=True)
        if x is not None and y is not None and math.isfinite(x) and math.isfinite(y)
    ]
    left, right, top, bottom = 70, 15, 30, 45
    plot_w, plot_h = width - left - right, height - top - bottom
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
        f'viewBox="0 0 {width} {height}" font-family="sans-serif" font-size="12">',
        f'<rect x="0" y="0" width="{width}" height="{height}" fill="white"/>',
        f'<text x="{left}" y="18">{xml_text(title)}</text>',
        f'<rect x="{left}" y="{top}" width="{plot_w}" height="{plot_h}" fill="none" stroke="black"/>',
    ]
    if points:
        xs = [p[0] for p in points]
        ys = sorted(p[1] for p in points)
        x0, x1 = min(xs), max(xs)
        # robust y range: ignore the most extreme 0.5 per cent on either side
        cut = len(ys) // 200
        y0, y1 = ys[cut], ys[len(ys) - 1 - cut]
        if y1 <= y0:
            y1 = y0 + 1.0
        if x1 <= x0:
            x1 = x0 + 1.0
        step = max(1, len(points) // 1500)

        def sx(x: float) -> float:
            return left + (x - x0) / (x1 - x0) * plot_w

        def sy(y: float) -> float:
            return top + plot_h - (min(max(y, y0), y1) - y0) / (y1 - y0) * plot_h

        path = " ".join(f"{sx(x):.1f},{sy(y):.1f}" for x, y in points[::step])
        parts.append(f'<polyline fill="none" stroke="#1f4e9c" stroke-width="1" points="{path}"/>')
        for value, anchor in ((x0, "start"), (x1, "end")):
            parts.append(f'<text x="{sx(value):.1f}" y="{top + plot_h + 16}" text-anchor="{anchor}">{value:.3g}</text>')
        for value in (y0, y1):
            parts.append(f'<text x="{left - 4}" y="{sy(value) + 4:.1f}" text-anchor="end">{value:.3g}</text>')
    x_label = f"wavelength [{spectrum.spectral_unit}]"
    y_label = f"flux [{spectrum.flux_unit}]" if spectrum.flux_unit else "flux [unknown unit]"
    parts.append(f'<text x="{left + plot_w / 2:.0f}" y="{height - 8}" text-anchor="middle">{xml_text(x_label)}</text>')
    parts.append(
        f'<text x="14" y="{top + plot_h / 2:.0f}" transform="rotate(-90 14 {top + plot_h / 2:.0f})" '
        f'text-anchor="middle">{xml_attr(y_label)}</text>'
    )
    parts.append("</svg>\n")
    return "\n".join(parts).encode("utf-8")
