"""The mapping from a portal's spectra table to SSA 1.1 and ObsCore 1.1, declared once.

A portal describes its table with one :class:`SSAMapping`: for each key of
:data:`vostack.ssa.fields.SSA_FIELDS` either a column of the table (``columns``) or a
constant (``constants``), plus the columns the searches need (``ra``, ``dec``).
:meth:`SSAMapping.check` reports everything the standard requires but the mapping lacks
in one :class:`MappingError`, so a portal learns all of it at start-up.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from vostack.errors import VOError
from vostack.products import PathTemplate
from vostack.ssa.fields import COMPUTED, SSA_FIELDS

__all__ = ["MappingError", "SSAMapping"]

#: Keys that searches need as columns (POS, BAND, TIME, PUBDID) and that the products come from (``product``,
#: unless :attr:`SSAMapping.product_path` makes the key from other columns).
SEARCH_COLUMNS = ("ra", "dec", "em_min", "em_max", "t_min", "t_max", "publisher_did", "product")

#: Keys ObsCore needs beyond the SSA fields (ObsCore 1.1 §3).
OBSCORE_KEYS = ("obs_id", "facility", "calib_level")


class MappingError(VOError):
    """A spectra mapping lacks what SSA 1.1 or ObsCore 1.1 requires; the message lists all of it."""


@dataclass(frozen=True, slots=True)
class SSAMapping:
    """How a spectra table provides the SSA 1.1 query response fields (SSA 1.1 §4.2) and ObsCore 1.1.

    Parameters
    ----------
    table
        The qualified table (``"spex.spectra"``), one row per spectrum.
    columns
        SSA key (``"title"``, ``"em_min"``, ...; see :data:`vostack.ssa.fields.SSA_FIELDS`) to column
        name.  Units are the standard's: metres for wavelengths, MJD for times, seconds for
        durations, degrees for angles.  ``ra``, ``dec``, ``em_min``, ``em_max``, ``t_min``,
        ``t_max``, ``publisher_did`` and ``product`` (the key handed to the product store) must be
        columns.
    constants
        SSA key to a value the same for every spectrum (``"publisher"``, ``"frame"``, ...).
    collection
        The name of the collection, for COLLECTION and ObsCore ``obs_collection``.
    default_size
        The search diameter in degrees when POS comes without SIZE.
    product_path
        The product key (the file's path in the product store) as a template of the table's columns,
        ``"{program}/{file_name}.fits"`` (:class:`vostack.products.PathTemplate`), instead of a ``product``
        column.
    owner_group, release_date
        Columns of an embargo: a spectrum whose ``release_date`` (a timestamp) is in the future is seen only
        by members of its ``owner_group`` (a group name), in SSA, DataLink, getData and ``ivoa.obscore``
        (enforced by PostgreSQL, :func:`vostack.db.apply_release`).
    """

    table: str
    columns: Mapping[str, str]
    constants: Mapping[str, object] = field(default_factory=dict)
    collection: str = ""
    default_size: float = 0.1
    product_path: str | None = None
    owner_group: str | None = None
    release_date: str | None = None

    @property
    def path_template(self) -> PathTemplate | None:
        """:attr:`product_path` as a template (``ValueError`` when it is malformed)."""
        return PathTemplate(self.product_path) if self.product_path is not None else None

    @property
    def embargoed(self) -> bool:
        """Whether the spectra carry an owner group and a release date."""
        return self.owner_group is not None and self.release_date is not None

    def source(self, key: str) -> str | None:
        """``"column"``, ``"constant"`` or ``None`` for an SSA key."""
        if key in self.columns:
            return "column"
        if key in self.constants:
            return "constant"
        return None

    def check(self) -> None:
        """Raise one :class:`MappingError` naming every required key the mapping lacks (SSA 1.1 §4.2)."""
        problems: list[str] = []
        if "." not in self.table:
            problems.append(f"table {self.table!r} must be qualified with its schema")
        missing = [f.key for f in SSA_FIELDS if f.required and f.key not in COMPUTED and self.source(f.key) is None]
        missing += [k for k in (*SEARCH_COLUMNS, *OBSCORE_KEYS) if self.source(k) is None and k not in missing]
        if self.product_path is not None:
            missing = [k for k in missing if k != "product"]
            if "product" in self.columns:
                problems.append("the product is given twice: as a column and as product_path")
            try:
                self.path_template  # noqa: B018 - checks the template
            except ValueError as exc:
                problems.append(str(exc))
        if missing:
            problems.append("missing required value(s): " + ", ".join(missing))
        not_columns = [k for k in SEARCH_COLUMNS if k in self.constants]
        if not_columns:
            problems.append("must be columns, not constants: " + ", ".join(not_columns))
        both = sorted(set(self.columns) & set(self.constants))
        if both:
            problems.append("given both as column and constant: " + ", ".join(both))
        if not self.collection:
            problems.append("collection is empty")
        if (self.owner_group is None) != (self.release_date is None):
            problems.append("an embargo needs both owner_group and release_date columns")
        if problems:
            raise MappingError(f"the SSA mapping of {self.table} is incomplete: " + "; ".join(problems))

    def column_names(self) -> list[str]:
        """The distinct columns the mapping reads (with those of :attr:`product_path`), in a stable order."""
        template = self.path_template
        return list(dict.fromkeys([*self.columns.values(), *(template.columns if template else ())]))
