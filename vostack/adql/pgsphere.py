"""The output dialect: PostgreSQL with pgSphere, as the translator writes it.

:class:`PgSphere` is sqlglot's PostgreSQL dialect with one generator entry per
ADQL construct whose PostgreSQL spelling differs (ADQL 2.1 §2.3):

* ``LOG10(x)`` stays ``LOG10(x)`` (sqlglot would write ``LOG(10, x)``, which
  PostgreSQL only has for ``numeric``);
* ``RAND(seed)`` becomes ``RANDOM()``: ADQL leaves the seed's meaning undefined.

Rewrites that need types (``ROUND``/``TRUNCATE`` with decimals, ``MOD`` of
non-integers) are done on the tree by :mod:`vostack.adql.morph`.

Geometry (ADQL 2.1 §4.2) becomes pgSphere; ADQL works in degrees, pgSphere in
radians, so every value goes in through ``RADIANS`` and comes out through
``DEGREES``:

=====================  =====================================================================
ADQL                   PostgreSQL + pgSphere
=====================  =====================================================================
``POINT(x, y)``        ``spoint(RADIANS(x), RADIANS(y))`` (exactly the expression a GiST
                       index on the position columns is declared on)
``CIRCLE(p, r)``       ``scircle(p, RADIANS(r))``
``POLYGON(v1, …)``     ``(SELECT spoly("v"."p" ORDER BY "v"."n") FROM (VALUES (1, v1), …)
                       AS "v"("n", "p"))``: pgSphere's polygon aggregate over the vertices
``DISTANCE(a, b)``     ``DEGREES(a <-> b)``
``AREA(g)``            ``DEGREES(DEGREES(area(g)))`` (steradians to square degrees); 0 for a point
``CENTROID(c)``        ``center(c)`` for a circle; a point is its own centroid
``COORD1(p)``          ``DEGREES(long(p))``; ``COORD2``: ``DEGREES(lat(p))``
``COORDSYS(g)``        ``'ICRS'``: the only frame this translator knows
``a <@ b``, ``a && b``  the predicates :mod:`vostack.adql.morph` makes of CONTAINS/INTERSECTS
=====================  =====================================================================
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, ClassVar

from sqlglot import exp
from sqlglot.dialects.postgres import Postgres
from sqlglot.generators.postgres import PostgresGenerator

from vostack.adql import expressions as geo

__all__ = ["PgSphere", "PgSphereGenerator"]


def _log(self: PostgresGenerator, expression: exp.Log) -> str:
    base = expression.this
    if isinstance(base, exp.Literal) and base.this == "10":
        return self.func("LOG10", expression.expression)
    return self.func("LOG", base, expression.expression)  # pragma: no cover - ADQL has no LOG(b, x)


def _call(name: str, *args: exp.Expr) -> exp.Expr:
    return exp.Anonymous(this=name, expressions=list(args))


def _point(self: PostgresGenerator, e: geo.ADQLPoint) -> str:
    return self.sql(_call("spoint", exp.Radians(this=e.this), exp.Radians(this=e.expression)))


def _circle(self: PostgresGenerator, e: geo.ADQLCircle) -> str:
    return self.sql(_call("scircle", e.this, exp.Radians(this=e.args["radius"])))


def _polygon(self: PostgresGenerator, e: geo.ADQLPolygon) -> str:
    rows = [exp.Tuple(expressions=[exp.Literal.number(n), v]) for n, v in enumerate(e.expressions, 1)]
    alias = exp.TableAlias(this=exp.to_identifier("v"), columns=[exp.to_identifier("n"), exp.to_identifier("p")])
    vertices = exp.Values(expressions=rows, alias=alias)
    ordered = exp.Order(this=exp.column("p", "v"), expressions=[exp.Ordered(this=exp.column("n", "v"))])
    select = exp.Select(expressions=[_call("spoly", ordered)]).from_(vertices, copy=False)
    return self.sql(exp.Subquery(this=select))


def _distance(self: PostgresGenerator, e: geo.ADQLDistance) -> str:
    return self.sql(exp.Degrees(this=geo.SphereOperator(this=e.this, expression=e.expression, op="<->")))


def _area(self: PostgresGenerator, e: geo.ADQLArea) -> str:
    if geo.geometry_kind(e.this.type) == geo.POINT:
        return "0"
    return self.sql(exp.Degrees(this=exp.Degrees(this=_call("area", e.this))))


def _centroid(self: PostgresGenerator, e: geo.ADQLCentroid) -> str:
    if geo.geometry_kind(e.this.type) == geo.POINT:
        return self.sql(e.this)
    return self.sql(_call("center", e.this))


def _in_unit(self: PostgresGenerator, e: geo.ADQLInUnit) -> str:
    value = exp.Cast(this=e.this, to=exp.DataType(this=exp.DType.DOUBLE))
    return self.sql(exp.Paren(this=exp.Mul(this=value, expression=e.args["factor"])))


def _udf(self: PostgresGenerator, e: geo.ADQLUserFunction) -> str:
    # the template is the portal's (trusted) SQL; the arguments are translated ADQL
    template: str = e.meta["udf"].template
    return template.format(*(self.sql(arg) for arg in e.expressions))


def _operator(self: PostgresGenerator, e: geo.SphereOperator) -> str:
    return f"({self.sql(e, 'this')} {e.args['op']} {self.sql(e, 'expression')})"


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
        geo.ADQLPoint: _point,
        geo.ADQLCircle: _circle,
        geo.ADQLPolygon: _polygon,
        geo.ADQLDistance: _distance,
        geo.ADQLArea: _area,
        geo.ADQLCentroid: _centroid,
        geo.ADQLCoord1: lambda self, e: self.sql(exp.Degrees(this=_call("long", e.this))),
        geo.ADQLCoord2: lambda self, e: self.sql(exp.Degrees(this=_call("lat", e.this))),
        geo.ADQLCoordSys: lambda self, e: "'ICRS'",
        geo.SphereOperator: _operator,
        geo.ADQLUserFunction: _udf,
        geo.ADQLInUnit: lambda self, e: self.sql(
            exp.Paren(
                this=exp.Mul(this=exp.Cast(this=e.this, to=exp.DataType.build("double")), expression=e.args["factor"])
            )
        ),
    }


class PgSphere(Postgres):
    """PostgreSQL 15 with pgSphere: the SQL :func:`vostack.adql.translate` produces."""

    Generator = PgSphereGenerator
