"""The output dialect: PostgreSQL with pgSphere, as the translator writes it.

:class:`PgSphere` is sqlglot's PostgreSQL dialect with one generator entry per
ADQL construct whose PostgreSQL spelling differs (ADQL 2.1 §2.3):

* ``LOG10(x)`` stays ``LOG10(x)`` (sqlglot would write ``LOG(10, x)``, which
  PostgreSQL only has for ``numeric``);
* ``RAND(seed)`` becomes ``RANDOM()``: ADQL leaves the seed's meaning undefined.

Rewrites that need types (``ROUND``/``TRUNCATE`` with decimals, ``MOD`` of
non-integers) are done on the tree by :mod:`vostack.adql.morph`.  The pgSphere
geometry functions will get their entries here (``spoint``, ``scircle``, ``<@``,
``&&``, ``<->``), each wrapping ``RADIANS``/``DEGREES`` since pgSphere works in
radians.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, ClassVar

from sqlglot import exp
from sqlglot.dialects.postgres import Postgres
from sqlglot.generators.postgres import PostgresGenerator

__all__ = ["PgSphere", "PgSphereGenerator"]


def _log(self: PostgresGenerator, expression: exp.Log) -> str:
    base = expression.this
    if isinstance(base, exp.Literal) and base.this == "10":
        return self.func("LOG10", expression.expression)
    return self.func("LOG", base, expression.expression)  # pragma: no cover - ADQL has no LOG(b, x)


class PgSphereGenerator(PostgresGenerator):
    """PostgreSQL generator with ADQL's function spellings."""

    def literal_sql(self, expression: exp.Literal) -> str:
        """String literals with a backslash are written ``E'...'``: their meaning then does not
        depend on the server's ``standard_conforming_strings``."""
        text = expression.this
        if expression.is_string and "\\" in text:
            escaped = text.replace("\\", "\\\\").replace("'", "''")
            return f"E'{escaped}'"
        return super().literal_sql(expression)

    TRANSFORMS: ClassVar[dict[type[exp.Expr], Callable[..., Any]]] = {
        **PostgresGenerator.TRANSFORMS,
        exp.Log: _log,
        exp.Rand: lambda self, e: "RANDOM()",
    }


class PgSphere(Postgres):
    """PostgreSQL 15 with pgSphere: the SQL :func:`vostack.adql.translate` produces."""

    Generator = PgSphereGenerator
