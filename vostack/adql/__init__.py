"""ADQL 2.1 for vostack: parse, check and translate to PostgreSQL with pgSphere.

Only this package imports sqlglot; every sqlglot error is converted into the
:mod:`vostack.errors` hierarchy at its boundary.
"""

from __future__ import annotations

from vostack.adql.dialect import delimit
from vostack.adql.query import Query, Translation, parse, translate
from vostack.errors import ADQLError, ADQLSemanticError, ADQLSyntaxError

__all__ = [
    "ADQLError",
    "ADQLSemanticError",
    "ADQLSyntaxError",
    "Query",
    "Translation",
    "delimit",
    "parse",
    "translate",
]
