"""Spectra in a file store (a directory, a zip archive, an S3 bucket): :class:`ProductStore` s that read ranges.

The SSA service calls a product store from a worker thread; :class:`FileProducts` reads from a
:class:`vostack.products.FileStore` there.  ``getData`` requests with an HTTP ``Range`` header (a FITS
reader asking for the header block, a client resuming a download) are answered from
:meth:`FileProducts.read_range`: from a bucket only those bytes leave the store.  The product key is the
file's path in the store (the mapping's ``product`` column, or its ``product_path`` template).
"""

from __future__ import annotations

import threading
from collections.abc import Callable

from vostack import objects
from vostack.products import BucketStore, FileStore
from vostack.ssa.spectrum import Spectrum

__all__ = ["FileProducts", "ObjectProducts"]


class FileProducts:
    """Product files in a :class:`vostack.products.FileStore`, by path (a :class:`vostack.ssa.ProductStore`).

    Parameters
    ----------
    store
        Where the files are.
    read_spectrum
        Reads the arrays of a product from its file's bytes (:class:`vostack.ssa.readers.FitsSpectrum`, or the
        portal's reader for its format).
    media_type
        The media type of the files.
    """

    def __init__(
        self, store: FileStore, *, read_spectrum: Callable[[bytes], Spectrum], media_type: str = "application/fits"
    ) -> None:
        self.store = store
        self.media_type = media_type
        self._read_spectrum = read_spectrum
        self._lock = threading.Lock()
        self.bytes_read = 0
        """Bytes read from the store so far (what a range request saves shows here)."""

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.store!r}, media_type={self.media_type!r})"

    def _count(self, data: bytes) -> bytes:
        with self._lock:
            self.bytes_read += len(data)
        return data

    def original(self, key: str) -> bytes:
        """The whole file (:class:`vostack.errors.NotFoundError` when the store lacks it)."""
        return self._count(self.store.read(key))

    def spectrum(self, key: str) -> Spectrum:
        """The arrays of the product ``key``, read from its file."""
        return self._read_spectrum(self.original(key))

    def size(self, key: str) -> int:
        """The size of the file in bytes."""
        return self.store.size(key)

    def read_range(self, key: str, start: int, end: int) -> bytes:
        """Bytes ``start`` up to ``end`` (exclusive) of the file."""
        return self._count(self.store.read_range(key, start, end))


class ObjectProducts(FileProducts):
    """Product files as objects ``<prefix><key>`` of a bucket: :class:`FileProducts` over a
    :class:`vostack.products.BucketStore`."""

    def __init__(
        self,
        bucket: objects.Bucket,
        *,
        read_spectrum: Callable[[bytes], Spectrum],
        prefix: str = "",
        media_type: str = "application/fits",
    ) -> None:
        super().__init__(BucketStore(bucket, prefix=prefix), read_spectrum=read_spectrum, media_type=media_type)
        self.bucket = bucket
        self.prefix = prefix
