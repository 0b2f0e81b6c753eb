"""PNG thumbnails of images, made with Pillow: the quick-look EPN-TAP 2.0 §2.2 asks of ``thumbnail_url``
("png ~200 pix") and DataLink's ``#preview``.

Pillow reads the image (TIFF, GeoTIFF, PNG, JPEG...); one of more than 8 bits a sample (a 16-bit elevation
model, a float image) is stretched linearly between its 0.5 and 99.5 percentiles of valid values to 8 bits.
Pillow is an optional dependency (``pip install vostack[images]``), imported when a thumbnail is made.
"""

from __future__ import annotations

import io

from vostack.errors import NotFoundError, VOError

__all__ = ["THUMBNAIL_SIZE", "thumbnail_png"]

THUMBNAIL_SIZE = 200
"""The longer side of a thumbnail in pixels (EPN-TAP 2.0 §3: about 200)."""


def thumbnail_png(data: bytes, *, size: int = THUMBNAIL_SIZE) -> bytes:
    """A PNG of the image ``data`` whose longer side is ``size`` pixels (never enlarged).

    Raises :class:`vostack.errors.NotFoundError` when the data are no image Pillow reads.
    """
    try:
        import numpy as np
        from PIL import Image, UnidentifiedImageError
    except ImportError:  # pragma: no cover - the package's extra installs it
        raise VOError("thumbnails need Pillow: pip install 'vostack[images]'") from None
    try:
        with Image.open(io.BytesIO(data)) as opened:
            opened.load()
            image = opened.copy()
    except (UnidentifiedImageError, OSError, ValueError) as exc:
        raise NotFoundError(f"no thumbnail: the file is no image Pillow can read ({exc})") from None
    if image.mode not in ("1", "L", "LA", "P", "RGB", "RGBA"):  # I, I;16, F: more than 8 bits a sample
        values = np.asarray(image, dtype=np.float64)
        valid = values[np.isfinite(values)]
        low, high = np.percentile(valid, [0.5, 99.5]) if valid.size else (0.0, 1.0)
        scaled = np.clip((values - low) / max(high - low, 1e-12) * 255.0, 0, 255)
        image = Image.fromarray(np.nan_to_num(scaled).astype(np.uint8))  # 8-bit grey
    elif image.mode not in ("L", "RGB"):
        image = image.convert("RGBA" if "A" in image.mode else "RGB")
    image.thumbnail((size, size))
    out = io.BytesIO()
    image.save(out, format="PNG", optimize=True)
    return out.getvalue()
