"""Object storage (S3-compatible: Ceph's RADOS Gateway, MinIO, AWS S3): the only package that imports obstore.

:class:`Bucket` streams uploads (multipart), reads whole objects or byte ranges,
signs GET URLs and deletes; UWS results (:class:`vostack.uws.ObjectResultStore`)
and SSA products (:class:`vostack.ssa.ObjectProducts`) are kept in one.
:mod:`vostack.objects.ceph` starts a throwaway Ceph for tests and demonstrations.
"""

from __future__ import annotations

from vostack.objects.bucket import Bucket

__all__ = ["Bucket"]
