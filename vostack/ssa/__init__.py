"""SSA 1.1 simple spectral access (IVOA SSA 1.1).

Not implemented yet: spectra, ObsCore and DataLink are the subject of their own issue.
"""

from __future__ import annotations

__all__: list[str] = []
