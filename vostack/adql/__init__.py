"""ADQL 2.1 for vostack: parse, check and translate to PostgreSQL with pgSphere.

Only this package imports sqlglot; every sqlglot error is converted into the
:mod:`vostack.errors` hierarchy at its boundary.  :func:`translate` works from
scratch on every call; a :class:`Translator` (one per published TableSet, kept by the
service that owns it) caches translations by query shape.

Spatial indexes
---------------
``POINT(ra, dec)`` on two columns translates to exactly
``spoint(RADIANS(ra), RADIANS(dec))``, and ``CONTAINS(POINT(ra, dec), region) = 1``
(and ``DISTANCE(POINT(ra, dec), p) < r`` with a literal radius) to
``spoint(RADIANS(ra), RADIANS(dec)) <@ region``.  A portal declares the index
the translator uses simply by creating it on that expression, with the column
names as published and the columns in degrees::

    CREATE INDEX ON schema.table USING gist (spoint(radians(ra), radians(dec)));

PostgreSQL then uses it for cone searches, polygon searches and positional
crossmatches (see ``tests/integration/adql/test_geometry.py``).  A column of
type ``spoint`` (published with ``db_type = "spoint"``) is used as it is, so a
plain GiST index on it serves too.
"""

from __future__ import annotations

from vostack.adql.dialect import delimit, require_interpreted_sqlglot
from vostack.adql.features import language_features
from vostack.adql.query import Query, Translation, Translator, parse, translate
from vostack.adql.udf import BUILTIN_UDFS, UDF
from vostack.errors import ADQLError, ADQLSemanticError, ADQLSyntaxError

require_interpreted_sqlglot()

__all__ = [
    "BUILTIN_UDFS",
    "UDF",
    "ADQLError",
    "ADQLSemanticError",
    "ADQLSyntaxError",
    "Query",
    "Translation",
    "Translator",
    "delimit",
    "language_features",
    "parse",
    "translate",
]
