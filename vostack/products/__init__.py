"""Product files: where a portal keeps the files behind its records, and an endpoint that serves them.

A :class:`FileStore` reads files by path: from a directory (:class:`DirectoryStore`), from inside a zip
archive such as a wheel, read in place (:class:`ZipStore`), or from an S3 bucket (:class:`BucketStore`);
:class:`GzipStore` serves another store's gzipped files uncompressed.
A :class:`PathTemplate` makes a file's path from a table's columns.  :class:`ProductService` serves the
files of named :class:`Products` over HTTP (with byte ranges, RFC 9110 §14) and PNG thumbnails of images.
"""

from __future__ import annotations

from vostack.products.ranges import byte_range, span
from vostack.products.service import Products, ProductService
from vostack.products.stores import BucketStore, DirectoryStore, FileStore, GzipStore, ZipStore, checked_path
from vostack.products.template import PathTemplate

__all__ = [
    "BucketStore",
    "DirectoryStore",
    "FileStore",
    "GzipStore",
    "PathTemplate",
    "ProductService",
    "Products",
    "ZipStore",
    "byte_range",
    "checked_path",
    "span",
]
