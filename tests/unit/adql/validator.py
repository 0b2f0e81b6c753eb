"""A small Validator in the style of sqlglot's dialect tests (test code, not sqlglot API)."""

from __future__ import annotations

from vostack.adql import parse, translate
from vostack.schema import TableSet


class Validator:
    """Table-driven checks in the style of sqlglot's ``tests/dialects/test_dialect.py``."""

    def __init__(self, tableset: TableSet) -> None:
        self.tableset = tableset

    def validate_identity(self, adql: str, write: str | None = None) -> None:
        """``adql`` parses and is written back as ``write`` (by default: unchanged)."""
        assert parse(adql).adql() == (adql if write is None else write)

    def validate_all(self, adql: str, *, write: dict[str, str]) -> None:
        """``adql`` is written as each value, in the dialect its key names (``adql`` or ``pgsphere``)."""
        for dialect, expected in write.items():
            if dialect == "adql":
                assert parse(adql).adql() == expected
            elif dialect == "pgsphere":
                assert translate(adql, self.tableset).sql == expected
            else:
                raise ValueError(f"unknown dialect {dialect!r}")
