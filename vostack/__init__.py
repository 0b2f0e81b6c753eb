"""vostack: publish PostgreSQL catalogues to the Virtual Observatory as small ASGI apps."""

from __future__ import annotations

from vostack.site import Site

__version__ = "0.1.0"

__all__ = ["Site", "__version__"]
