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
``CENTROID(c)``        ``center(c)`` for a circle; a point is its own centroid; for a polygon
                       its centre of mass on the sphere, computed from its edges in SQL
``COORD1(p)``          ``DEGREES(long(p))``; ``COORD2``: ``DEGREES(lat(p))``
``COORDSYS(g)``        ``'ICRS'``: the only frame this translator knows
``a <@ b``, ``a && b``  the predicates :mod:`vostack.adql.morph` makes of CONTAINS/INTERSECTS
``CAST(s AS POINT)``   ``s`` read as a DALI serialisation in SQL (literals are read when translating)
polygon results        the DALI array of the vertices, read through the polygon's text form
=====================  =====================================================================
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, ClassVar

import sqlglot
from sqlglot import exp
from sqlglot.dialects.postgres import Postgres
from sqlglot.errors import ErrorLevel
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
    # the generated SQL of the arguments goes into a fixed call (building the nodes of that call for
    # every point costs a quarter of the generation time of a cone search)
    return f"SPOINT(RADIANS({self.sql(e, 'this')}), RADIANS({self.sql(e, 'expression')}))"


def _circle(self: PostgresGenerator, e: geo.ADQLCircle) -> str:
    return f"SCIRCLE({self.sql(e, 'this')}, RADIANS({self.sql(e, 'radius')}))"


def _polygon(self: PostgresGenerator, e: geo.ADQLPolygon) -> str:
    rows = [exp.Tuple(expressions=[exp.Literal.number(n), v]) for n, v in enumerate(e.expressions, 1)]
    alias = exp.TableAlias(this=exp.to_identifier("v"), columns=[exp.to_identifier("n"), exp.to_identifier("p")])
    vertices = exp.Values(expressions=rows, alias=alias)
    ordered = exp.Order(this=exp.column("p", "v"), expressions=[exp.Ordered(this=exp.column("n", "v"))])
    select = exp.Select(expressions=[_call("spoly", ordered)]).from_(vertices, copy=False)
    return self.sql(exp.Subquery(this=select))


def _distance(self: PostgresGenerator, e: geo.ADQLDistance) -> str:
    return f"DEGREES(({self.sql(e, 'this')} <-> {self.sql(e, 'expression')}))"


def _area(self: PostgresGenerator, e: geo.ADQLArea) -> str:
    if geo.geometry_kind(e.this.type) == geo.POINT:
        return "0"
    return self.sql(exp.Degrees(this=exp.Degrees(this=_call("area", e.this))))


def _centroid(self: PostgresGenerator, e: geo.ADQLCentroid) -> str:
    kind = geo.geometry_kind(e.this.type)
    if kind == geo.POINT:
        return self.sql(e.this)
    if kind == geo.POLYGON:
        return self.sql(_fill(_POLYGON_CENTROID, e.this))
    return self.sql(_call("center", e.this))


# Templates for what pgSphere has no function for, written once in SQL and parsed here; _fill puts the
# (translated) geometry in place of "__geometry__".  pgSphere 1.2 cannot list a polygon's vertices,
# but spoly and spath share their text form (whatever set_sphere_output says), and spoint(spath, i)
# gives the i-th point of a path.
_VERTICES = "(SELECT CAST(CAST(__geometry__ AS TEXT) AS spath) AS s) AS p, generate_series(1, npoints(p.s)) AS i"

#: DALI 1.1 §3.3: a polygon as the array of its vertices' coordinates in degrees (NULL for NULL).
_POLYGON_ARRAY = sqlglot.parse_one(
    f"""(SELECT array_agg(v.c ORDER BY i, v.k) FROM {_VERTICES},
        LATERAL (VALUES (1, DEGREES(long(spoint(p.s, i)))), (2, DEGREES(lat(spoint(p.s, i))))) AS v(k, c))""",
    read="postgres",
)

#: ADQL 2.1 §4.2.9 CENTROID of a polygon: its centre of mass on the sphere, the direction of the area
#: integral of the unit vector r.  That integral is the polygon's vector area, half the loop integral of
#: r cross dr: half the sum over the edges of each edge's arc length times the unit normal of its great
#: circle.  Its sign follows the vertex order, so it is turned towards the vertices.  This is not the
#: (normalised) mean of the vertices, which differs by degrees for large polygons.
_POLYGON_CENTROID = sqlglot.parse_one(
    f"""(SELECT spoint(ATAN2(t.f * t.y, t.f * t.x), ATAN2(t.f * t.z, SQRT(t.x * t.x + t.y * t.y)))
    FROM (SELECT m.x, m.y, m.z, CASE WHEN m.x * m.ax + m.y * m.ay + m.z * m.az < 0 THEN -1 ELSE 1 END AS f
          FROM (SELECT SUM(w.k * c.x) AS x, SUM(w.k * c.y) AS y, SUM(w.k * c.z) AS z,
                       SUM(v.a[1]) AS ax, SUM(v.a[2]) AS ay, SUM(v.a[3]) AS az
                FROM {_VERTICES},
                     LATERAL (SELECT xyz(spoint(p.s, i)) AS a, xyz(spoint(p.s, i % npoints(p.s) + 1)) AS b) AS v,
                     LATERAL (SELECT v.a[2] * v.b[3] - v.a[3] * v.b[2] AS x, v.a[3] * v.b[1] - v.a[1] * v.b[3] AS y,
                                     v.a[1] * v.b[2] - v.a[2] * v.b[1] AS z) AS c,
                     LATERAL (SELECT SQRT(c.x * c.x + c.y * c.y + c.z * c.z) AS n) AS l,
                     LATERAL (SELECT CASE WHEN l.n = 0 THEN 0
                                     ELSE ATAN2(l.n, v.a[1] * v.b[1] + v.a[2] * v.b[2] + v.a[3] * v.b[3]) / l.n
                                     END AS k) AS w) AS m) AS t)""",
    read="postgres",
)

#: ADQL 2.1 §4.7: a DALI-serialised geometry (DALI 1.1 §3.3, degrees) read at run time.
_DALI_NUMBERS = "(SELECT CAST(regexp_split_to_array(btrim(__geometry__), '\\s+') AS DOUBLE PRECISION[]) AS a) AS d"
_FROM_DALI = {
    geo.POINT: sqlglot.parse_one(
        f"(SELECT spoint(RADIANS(d.a[1]), RADIANS(d.a[2])) FROM {_DALI_NUMBERS})", read="postgres"
    ),
    geo.CIRCLE: sqlglot.parse_one(
        f"(SELECT scircle(spoint(RADIANS(d.a[1]), RADIANS(d.a[2])), RADIANS(d.a[3])) FROM {_DALI_NUMBERS})",
        read="postgres",
    ),
    geo.POLYGON: sqlglot.parse_one(
        f"""(SELECT spoly(spoint(RADIANS(d.a[2 * i - 1]), RADIANS(d.a[2 * i])) ORDER BY i)
        FROM {_DALI_NUMBERS}, generate_series(1, array_length(d.a, 1) / 2) AS i)""",
        read="postgres",
    ),
}


def _fill(template: exp.Expr, geometry: exp.Expr) -> exp.Expr:
    """``template`` with ``geometry`` in place of the column ``__geometry__``."""
    filled = template.copy()
    for column in list(filled.find_all(exp.Column)):
        if column.name == "__geometry__":
            column.replace(geometry.copy())
    return filled


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

    #: The SQL of each type with nothing but its kind, by dialect and kind, as the generator writes it (filled
    #: on first use: sqlglot's ``datatype_sql`` builds several types per call, which is most of the cost of
    #: writing a query with casts).
    PLAIN_TYPES: ClassVar[dict[tuple[type, exp.DType], str]] = {}

    def datatype_sql(self, expression: exp.DataType) -> str:
        """The SQL of a type; one with nothing but its kind is written once per kind."""
        dtype = expression.this
        if (
            not isinstance(dtype, exp.DType)
            or dtype in self.UNSUPPORTED_TYPES
            or any(value for key, value in expression.args.items() if key != "this")
        ):
            return super().datatype_sql(expression)
        key = (type(self.dialect), dtype)
        written = self.PLAIN_TYPES.get(key)
        if written is None:
            written = self.PLAIN_TYPES[key] = super().datatype_sql(expression)
        return written

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
        geo.PolygonArray: lambda self, e: self.sql(_fill(_POLYGON_ARRAY, e.this)),
        geo.DaliGeometry: lambda self, e: self.sql(_fill(_FROM_DALI[e.args["kind"].this], e.this)),
        geo.ADQLUserFunction: _udf,
        geo.ADQLInUnit: _in_unit,
    }


class PgSphere(Postgres):
    """PostgreSQL 15 with pgSphere: the SQL :func:`vostack.adql.translate` produces."""

    Generator = PgSphereGenerator

    def write(self, tree: exp.Expr) -> str:
        """The SQL of a translated tree, as :func:`vostack.adql.translate` returns it.

        Every identifier delimited, no comments, and :class:`sqlglot.errors.UnsupportedError`
        for what PostgreSQL cannot express; ``tree`` is not copied.  The same text as
        ``tree.sql(dialect=self, identify=True, comments=False, unsupported_level=ErrorLevel.RAISE,
        copy=False)``; a new generator per call (a generator keeps state while it writes, and
        translation runs in several threads).
        """
        generator = PgSphereGenerator(dialect=self, identify=True, comments=False, unsupported_level=ErrorLevel.RAISE)
        return generator.generate(tree, copy=False)
