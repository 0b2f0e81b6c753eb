"""Spectra kept in an S3-compatible bucket (Ceph, MinIO): a :class:`ProductStore` that reads byte ranges.

The SSA service calls a product store from a worker thread; :class:`ObjectProducts`
reads there with the bucket's blocking calls.  ``getData`` requests with an HTTP
``Range`` header (a FITS reader asking for the header block, a client resuming a
download) are answered from :meth:`ObjectProducts.read_range`: only those bytes
leave the store.
"""

from __future__ import annotations

import threading
from collections.abc import Callable

from vostack import objects
from vostack.ssa.spectrum import Spectrum

__all__ = ["ObjectProducts"]


class ObjectProducts:
    """Product files as objects ``<prefix><key>`` of a bucket (a :class:`vostack.ssa.ProductStore`).

    Parameters
    ----------
    bucket
        The bucket (:class:`vostack.objects.Bucket`).
    read_spectrum
        Reads the arrays of a product from its file's bytes (the portal's reader for its format).
    prefix
        Prepended to the product keys of the mapping's ``product`` column.
    media_type
        The media type of the files.
    """

    def __init__(
        self,
        bucket: objects.Bucket,
        *,
        read_spectrum: Callable[[bytes], Spectrum],
        prefix: str = "",
        media_type: str = "application/fits",
    ) -> None:
        self.bucket = bucket
        self.prefix = prefix
        self.media_type = media_type
        self._read_spectrum = read_spectrum
        self._lock = threading.Lock()
        self.bytes_read = 0
        """Bytes read from the store so far (what a cutout saves shows here)."""

    def _count(self, data: bytes) -> bytes:
        with self._lock:
            self.bytes_read += len(data)
        return data

    def original(self, key: str) -> bytes:
        """The whole file (:class:`vostack.errors.NotFoundError` when the store lacks it)."""
        return self._count(self.bucket.read_blocking(self.prefix + key))

    def spectrum(self, key: str) -> Spectrum:
        """The arrays of the product ``key``, read from its file."""
        return self._read_spectrum(self.original(key))

    def size(self, key: str) -> int:
        """The size of the file in bytes."""
        return self.bucket.size_blocking(self.prefix + key)

    def read_range(self, key: str, start: int, end: int) -> bytes:
        """Bytes ``start`` up to ``end`` (exclusive) of the file: only these are read from the store."""
        return self._count(self.bucket.read_blocking(self.prefix + key, start=start, end=end))
