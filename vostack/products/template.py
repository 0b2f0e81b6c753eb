"""A product file's path made from a table's columns: ``"{program}/{file_name}.fits.gz"``."""

from __future__ import annotations

import string
from collections.abc import Mapping

from vostack.errors import NotFoundError
from vostack.products.stores import checked_path

__all__ = ["PathTemplate"]


class PathTemplate:
    """A path with ``{column}`` fields (Python's format syntax, without conversions or format specs).

    Raises ``ValueError`` for a template without fields, with positional, indexed or formatted fields.
    """

    def __init__(self, text: str) -> None:
        self.text = text
        fields: list[str] = []
        try:
            parsed = list(string.Formatter().parse(text))
        except ValueError as exc:
            raise ValueError(f"the path template {text!r} is malformed: {exc}") from None
        for _, name, spec, conversion in parsed:
            if name is None:
                continue
            if not name.isidentifier() or spec or conversion:
                raise ValueError(f"the path template {text!r} may only name columns, as {{file_name}}; not {{{name}}}")
            fields.append(name)
        if not fields:
            raise ValueError(f"the path template {text!r} names no column, as {{file_name}}")
        self.columns: tuple[str, ...] = tuple(dict.fromkeys(fields))
        """The columns the template reads, in order of first use."""

    def __repr__(self) -> str:
        return f"PathTemplate({self.text!r})"

    def render(self, values: Mapping[str, object]) -> str:
        """The path for a row's ``values`` (by column name); a NULL value means the row has no file."""
        missing = [name for name in self.columns if values.get(name) is None]
        if missing:
            raise NotFoundError(f"no product file: {', '.join(missing)} is NULL")
        return checked_path(self.text.format_map({name: str(values[name]) for name in self.columns}))
