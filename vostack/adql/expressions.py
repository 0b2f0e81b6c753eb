"""Node classes for ADQL functions that sqlglot has no (or a wrongly-typed) class for.

The ADQL math, aggregate and string functions map onto sqlglot's own nodes
(see :data:`vostack.adql.dialect.FUNCTIONS`), so none is needed for the core
language.  This module is where ADQL 2.1's geometry functions go, one class
per function, for example::

    class ADQLPoint(exp.Expression, exp.Func):
        arg_types = {"coordsys": False, "this": True, "expression": True}

Each class arrives together with, and only with:

* its builder in ``ADQLParser.FUNCTIONS`` (replacing today's ``exp.Anonymous``,
  which :mod:`vostack.adql.validate` already checks for the right arguments) —
  ``CONTAINS`` in particular must never become sqlglot's ``exp.Contains``, a
  boolean string predicate;
* its return type in :data:`vostack.adql.dialect.EXPRESSION_METADATA`;
* its entry in ``PgSphereGenerator.TRANSFORMS`` (:mod:`vostack.adql.pgsphere`)
  or its removal by :mod:`vostack.adql.morph` (the ``CONTAINS(…) = 1``
  booleanizer), checked by ``test_every_adql_function_is_translated_or_refused_as_not_supported``;
* the removal of its "not supported yet" error in :mod:`vostack.adql.resolve`.

:data:`ADQL_FUNCTION_CLASSES` lists the classes defined here (none yet), for that test.
"""

from __future__ import annotations

from sqlglot import exp

__all__ = ["ADQL_FUNCTION_CLASSES"]

#: The ADQL-only node classes defined in this module.
ADQL_FUNCTION_CLASSES: tuple[type[exp.Func], ...] = ()
