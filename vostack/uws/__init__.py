"""UWS 1.1 asynchronous jobs (IVOA UWS 1.1).

Not implemented yet: the job system (PostgreSQL-backed, shared by every
server process) is the subject of its own issue; ``/tap/async`` answers 404
until it lands.
"""

from __future__ import annotations

__all__: list[str] = []
