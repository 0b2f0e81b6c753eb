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
from sqlglot.dialects.dialect import max_or_greatest
from sqlglot.dialects.postgres import Postgres
from sqlglot.errors import ErrorLevel
from sqlglot.generator import Generator as _Generator
from sqlglot.generators.postgres import PostgresGenerator

from vostack.adql import expressions as geo

__all__ = ["DirectGenerator", "PgSphere", "PgSphereGenerator"]


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

    # The SQL of a DataType that has nothing but its DType, by DType: it depends on nothing else
    # (filled on first use; a race only computes the same string twice).
    _PLAIN_TYPES: ClassVar[dict[exp.DType, str]] = {}

    def identifier_sql(self, expression: exp.Identifier) -> str:
        """Delimited identifiers (all of them, in translated queries) written directly.

        The same text as ``Generator.identifier_sql``: the name with its closing quote doubled,
        between quotes (PostgreSQL has no other identifier escapes).
        """
        text = expression.args.get("this")
        if (
            type(text) is str
            and expression.args.get("quoted")
            and not self.pretty
            and not self._identifier_escaped_sequences
        ):
            escaped = text.replace(self._identifier_end, self._escaped_identifier_end)
            return f"{self._identifier_start}{escaped}{self._identifier_end}"
        return super().identifier_sql(expression)

    def column_sql(self, expression: exp.Column) -> str:
        """``"table"."column"`` without a call of :meth:`sql` per part (the same text as ``column_parts``)."""
        args = expression.args
        if args.get("join_mark") or args.get("shadow"):  # pragma: no cover - not in ADQL
            return super().column_sql(expression)
        parts = []
        for key in ("catalog", "db", "table", "this"):
            part = args.get(key)
            if not part:
                continue
            if type(part) is exp.Identifier and not (self.comments and part.comments):
                parts.append(self.identifier_sql(part))
            else:
                parts.append(self.sql(part))
        return ".".join(parts)

    def datatype_sql(self, expression: exp.DataType) -> str:
        """A type without parameters, nesting or collation is written once per DType."""
        dtype = expression.this
        written = self._PLAIN_TYPES.get(dtype) if isinstance(dtype, exp.DType) else None
        if written is not None and _plain(expression):
            return written
        written = super().datatype_sql(expression)
        if isinstance(dtype, exp.DType) and dtype not in self.UNSUPPORTED_TYPES and _plain(expression):
            self._PLAIN_TYPES[dtype] = written
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


def _plain(datatype: exp.DataType) -> bool:
    """Whether ``datatype`` has no argument but its DType."""
    return all(not value for key, value in datatype.args.items() if key != "this")


class PgSphere(Postgres):
    """PostgreSQL 15 with pgSphere: the SQL :func:`vostack.adql.translate` produces."""

    Generator = PgSphereGenerator

    def write(self, tree: exp.Expr) -> str:
        """The SQL of a translated tree, as :func:`vostack.adql.translate` returns it.

        Every identifier delimited, no comments, and :class:`sqlglot.errors.UnsupportedError`
        for what PostgreSQL cannot express; ``tree`` is not copied.  The same text as
        ``tree.sql(dialect=self, identify=True, comments=False, unsupported_level=ErrorLevel.RAISE,
        copy=False)``, written faster (:class:`DirectGenerator`); a new generator per call (a
        generator keeps state while it writes, and translation runs in several threads).
        """
        generator = DirectGenerator(dialect=self, identify=True, comments=False, unsupported_level=ErrorLevel.RAISE)
        return generator.generate(tree, copy=False)


# -- direct writing ------------------------------------------------------------------------------
#
# sqlglot's Generator writes every node through generic machinery: a dispatch look-up, ``sql(node,
# key)`` per argument, ``expressions()``/``binary()``/``connector_sql()``/``query_modifiers()`` with
# their pretty-printing, comment and dialect switches.  For the node kinds a translated query is made
# of, a writer below produces the same text directly - when, and only when, the node has nothing but
# the arguments it handles.  Otherwise it returns None and sqlglot's own method writes that node
# (its children come back here).  The writers hold for DirectGenerator's options only: not pretty,
# no comments (write() checks the first; the second is fixed).

_Writer = Callable[["DirectGenerator", Any], "str | None"]


def _only(node: exp.Expr, keys: frozenset[str]) -> bool:
    """Whether every argument of ``node`` outside ``keys`` is None or an empty list (sqlglot reads
    some arguments by truth, some by ``is not None``, ``materialized`` by ``is False``)."""
    for key, value in node.args.items():
        if value is not None and key not in keys and (value or type(value) is not list):
            return False
    return True


def _listed(self: DirectGenerator, nodes: list[Any]) -> str:
    """``Generator.expressions`` (not pretty, no comments): the items' SQL separated by ", ",
    an empty item left out but its separator kept."""
    written = [self.sql(node) for node in nodes]
    if all(written):
        return ", ".join(written)
    last = len(written) - 1
    return "".join(f"{text}, " if index < last else text for index, text in enumerate(written) if text)


def _flat(self: DirectGenerator, nodes: list[Any]) -> str:
    """``Generator.expressions(flat=True)``: the non-empty items' SQL separated by ", "."""
    return ", ".join(text for text in (self.sql(node) for node in nodes) if text)


_SELECT_KEYS = frozenset(
    ("expressions", "from_", "joins", "where", "group", "having", "order", "limit", "offset", "distinct", "with_")
)


def _select(self: DirectGenerator, e: exp.Select) -> str | None:
    # PostgresGenerator's Select transform first rewrites SEMI/ANTI joins (none here: see _join's
    # kinds) and QUALIFY (not among the keys); Generator.select_sql and query_modifiers then write
    # the parts in this order.
    args = e.args
    if not _only(e, _SELECT_KEYS) or (args.get("with_") and e.comments):
        return None
    for join in args.get("joins") or ():
        if type(join) is not exp.Join or join.kind not in _JOIN_KINDS:
            return None
    distinct = self.sql(args.get("distinct"))
    projections = args.get("expressions")
    written = _listed(self, projections) if projections else ""
    sql = f"SELECT{' ' + distinct if distinct else ''}{' ' + written if written else ''}"
    sql += self.sql(args.get("from_"))
    for join in args.get("joins") or ():
        sql += self.sql(join)
    for key in ("where", "group", "having", "order", "limit", "offset"):
        value = args.get(key)
        if value:
            sql += self.sql(value)
    with_ = self.sql(args.get("with_"))
    return f"{with_} {sql}" if with_ else sql


def _clause(keyword: str) -> _Writer:
    """FROM, WHERE, HAVING: the keyword and the node's ``this``."""
    prefix = f" {keyword} "

    def write(self: DirectGenerator, e: exp.Expr) -> str | None:
        this = e.args.get("this")
        if not this or not _only(e, _THIS):
            return None
        return prefix + self.sql(this)

    return write


def _listing(keyword: str) -> _Writer:
    """GROUP BY, ORDER BY in a query: the keyword and the items."""
    prefix = f" {keyword} "

    def write(self: DirectGenerator, e: exp.Expr) -> str | None:
        items = e.args.get("expressions")
        if not items or not _only(e, _EXPRESSIONS) or e.args.get("all") is not None:
            return None
        if not isinstance(e.parent, exp.Select):  # Generator.op_expressions writes it flat elsewhere
            return None
        written = _listed(self, items)
        return prefix + written if written else None

    return write


def _ordered(self: DirectGenerator, e: exp.Ordered) -> str | None:
    # Generator.ordered_sql for PostgreSQL's NULL ordering (nulls are large) and NULLS FIRST/LAST support
    args = e.args
    this = args.get("this")
    if not this or not _only(e, _ORDERED_KEYS):
        return None
    desc = args.get("desc")
    nulls_first = args.get("nulls_first")
    written = self.sql(this) + (" DESC" if desc else (" ASC" if desc is False else ""))
    if nulls_first and not desc:
        return written + " NULLS FIRST"
    if not nulls_first and desc:
        return written + " NULLS LAST"
    return written


def _limit(keyword: str) -> _Writer:
    """LIMIT, OFFSET with nothing but a value (Generator.limit_sql, offset_sql)."""
    prefix = f" {keyword} "

    def write(self: DirectGenerator, e: exp.Expr) -> str | None:
        value = e.args.get("expression")
        if not value or not _only(e, _EXPRESSION):
            return None
        return prefix + self.sql(value)

    return write


_JOIN_KINDS = frozenset(("", "INNER", "OUTER", "CROSS"))


def _join(self: DirectGenerator, e: exp.Join) -> str | None:
    # Generator.join_sql without method, hints, MATCH_CONDITION, NEAREST, pivots, LATERAL
    args = e.args
    this = args.get("this")
    kind = e.kind
    if not this or kind not in _JOIN_KINDS or not _only(e, _JOIN_KEYS) or isinstance(this, exp.Lateral):
        return None
    side = e.side
    operator = f"{side} {kind}" if side and kind else side or kind
    on = self.sql(args.get("on"))
    using = args.get("using")
    if not on and using:
        on = ", ".join(text for text in (self.sql(column) for column in using) if text)
    table = self.sql(this)
    if on:
        on = f" USING ({on})" if using else f" ON {on}"
    elif not operator:
        return f", {table}"
    return f" {operator + ' JOIN' if operator else 'JOIN'} {table}{on}"


def _table(self: DirectGenerator, e: exp.Table) -> str | None:
    # Generator.table_sql with nothing but the name's parts and an alias
    args = e.args
    if not _only(e, _TABLE_KEYS) or args.get("indexed") is not None:
        return None
    name = ".".join(self.sql(args.get(key)) for key in ("catalog", "db", "this") if args.get(key) is not None)
    alias = self.sql(args.get("alias"))
    return f"{name} AS {alias}" if alias else name


def _table_alias(self: DirectGenerator, e: exp.TableAlias) -> str | None:
    args = e.args
    this = args.get("this")
    if not this or not _only(e, _TABLE_ALIAS_KEYS):
        return None
    alias = self.sql(this)
    if not alias:  # Generator.tablealias_sql would make up a name
        return None
    columns = args.get("columns")
    written = _flat(self, columns) if columns else ""
    return f"{alias}({written})" if written else alias


def _alias(self: DirectGenerator, e: exp.Alias) -> str | None:
    args = e.args
    if not _only(e, _ALIAS_KEYS):
        return None
    alias = self.sql(args.get("alias"))
    this = self.sql(args.get("this"))
    return f"{this} AS {alias}" if alias else this


def _with(self: DirectGenerator, e: exp.With) -> str | None:
    items = e.args.get("expressions")
    if not items or not _only(e, _EXPRESSIONS):
        return None
    written = _flat(self, items)
    return f"WITH {written}" if written else None


def _cte(self: DirectGenerator, e: exp.CTE) -> str | None:
    # Generator.cte_sql without MATERIALIZED or USING KEY; a commented CTE moves its comments
    args = e.args
    this = args.get("this")
    if not this or e.comments or not _only(e, _ALIAS_KEYS):
        return None
    alias = self.sql(args.get("alias"))
    query = self.sql(this)
    return f"{alias} AS ({query})" if query else f"{alias} AS ()"


def _subquery(self: DirectGenerator, e: exp.Subquery) -> str | None:
    # Generator.subquery_sql without sample, pivots, CTEs or modifiers
    args = e.args
    this = args.get("this")
    if not this or not _only(e, _ALIAS_KEYS):
        return None
    alias = self.sql(args.get("alias"))
    query = self.sql(this)
    return f"({query}){' AS ' + alias if alias else ''}" if query else f"(){' AS ' + alias if alias else ''}"


def _paren(self: DirectGenerator, e: exp.Paren) -> str | None:
    if not _only(e, _THIS):
        return None
    return f"({self.sql(e.args.get('this'))})"


def _neg(self: DirectGenerator, e: exp.Neg) -> str | None:
    this = e.args.get("this")
    if not this or not _only(e, _THIS):
        return None
    written = self.sql(this)
    return f"- {written}" if written[0] == "-" else f"-{written}"


def _not(self: DirectGenerator, e: exp.Not) -> str | None:
    if not _only(e, _THIS):
        return None
    return f"NOT {self.sql(e.args.get('this'))}"


def _binary(operator: str) -> _Writer:
    """``this operator expression`` (Generator.binary), for a node that is not part of a chain of its kind.

    Generator.binary writes a chain of nodes of one class (``a + b + c``) in one loop, in which an
    ``OPERATOR(...)`` of one node carries over to the next: a chain is left to it.
    """
    infix = f" {operator} "

    def write(self: DirectGenerator, e: exp.Expr) -> str | None:
        args = e.args
        this = args.get("this")
        expression = args.get("expression")
        kind = type(e)
        if not this or not expression or type(this) is kind or type(expression) is kind or not _only(e, _BINARY_KEYS):
            return None
        return self.sql(this) + infix + self.sql(expression)

    return write


def _connector(operator: str) -> _Writer:
    """AND, OR (Generator.connector_sql: the same text as writing the operands around the operator)."""
    infix = f" {operator} "

    def write(self: DirectGenerator, e: exp.Expr) -> str | None:
        args = e.args
        this = args.get("this")
        expression = args.get("expression")
        if not this or not expression:
            return None
        return self.sql(this) + infix + self.sql(expression)

    return write


def _cast(self: DirectGenerator, e: exp.Cast) -> str | None:
    # PostgresGenerator.cast_sql of anything but an integer division; Generator.cast_sql without
    # FORMAT, DEFAULT or an action
    args = e.args
    this = args.get("this")
    if not this or isinstance(this, exp.IntDiv) or not _only(e, _CAST_KEYS):
        return None
    to = self.sql(args.get("to"))
    return f"CAST({self.sql(this)} AS{' ' + to if to else ''})"


def _literal(self: DirectGenerator, e: exp.Literal) -> str | None:
    if e.args.get("is_string"):
        return None
    return e.args.get("this") or ""


def _anonymous(self: DirectGenerator, e: exp.Anonymous) -> str | None:
    # Generator.anonymous_sql of an unqualified call
    parent = e.parent
    if isinstance(parent, exp.Dot) and e is parent.expression:
        return None
    name = self.sql(e.args.get("this")).upper()
    arguments = e.args.get("expressions") or ()
    written = ", ".join(self.sql(a) for a in arguments if a is not None and not isinstance(a, bool))
    return f"{name}({written})"


def _max(self: DirectGenerator, e: exp.Max) -> str | None:
    # dialect.max_or_greatest: MAX(x) (GREATEST for several arguments is left to it)
    args = e.args
    this = args.get("this")
    if not this:
        return None
    for key, value in args.items():  # rename_func writes every other value too; a "count" is unsupported
        if key != "this" and value is not None and value is not False and not (type(value) is list and not value):
            return None
    return f"MAX({self.sql(this)})"


_FUNCTION_NAMES: dict[type[exp.Expr], str] = {}


def _function(self: DirectGenerator, e: exp.Func) -> str:
    """Generator.function_fallback_sql: the upper-case name and the arguments, in the order of ``arg_types``."""
    cls = type(e)
    name = _FUNCTION_NAMES[cls]
    args = e.args
    written: list[str] = []
    for key in cls.arg_types:
        value = args.get(key)
        if value is None or type(value) is bool:
            continue
        if isinstance(value, list):
            written.extend(self.sql(v) for v in value if v is not None and not isinstance(v, bool))
        else:
            written.append(self.sql(value))
    return f"{name}({', '.join(written)})"


_THIS = frozenset(("this",))
_EXPRESSION = frozenset(("expression",))
_EXPRESSIONS = frozenset(("expressions",))
_ORDERED_KEYS = frozenset(("this", "desc", "nulls_first"))
_JOIN_KEYS = frozenset(("this", "on", "side", "kind", "using"))
_TABLE_KEYS = frozenset(("this", "db", "catalog", "alias"))
_TABLE_ALIAS_KEYS = frozenset(("this", "columns"))
_ALIAS_KEYS = frozenset(("this", "alias"))
_BINARY_KEYS = frozenset(("this", "expression"))
_CAST_KEYS = frozenset(("this", "to"))

#: What sqlglot writes each node kind with (its dispatch for PgSphereGenerator), and the direct writer
#: for it: a writer is used only while sqlglot's choice is still the one it reproduces.
_WRITERS: dict[type[exp.Expr], tuple[type[Any], str, _Writer]] = {
    exp.From: (_Generator, "from_sql", _clause("FROM")),
    exp.Where: (_Generator, "where_sql", _clause("WHERE")),
    exp.Having: (_Generator, "having_sql", _clause("HAVING")),
    exp.Group: (_Generator, "group_sql", _listing("GROUP BY")),
    exp.Order: (_Generator, "order_sql", _listing("ORDER BY")),
    exp.Ordered: (_Generator, "ordered_sql", _ordered),
    exp.Limit: (_Generator, "limit_sql", _limit("LIMIT")),
    exp.Offset: (_Generator, "offset_sql", _limit("OFFSET")),
    exp.Join: (_Generator, "join_sql", _join),
    exp.Table: (_Generator, "table_sql", _table),
    exp.TableAlias: (_Generator, "tablealias_sql", _table_alias),
    exp.Alias: (_Generator, "alias_sql", _alias),
    exp.With: (_Generator, "with_sql", _with),
    exp.CTE: (_Generator, "cte_sql", _cte),
    exp.Subquery: (_Generator, "subquery_sql", _subquery),
    exp.Paren: (_Generator, "paren_sql", _paren),
    exp.Neg: (_Generator, "neg_sql", _neg),
    exp.Not: (_Generator, "not_sql", _not),
    exp.Add: (_Generator, "add_sql", _binary("+")),
    exp.Sub: (_Generator, "sub_sql", _binary("-")),
    exp.Mul: (_Generator, "mul_sql", _binary("*")),
    exp.EQ: (_Generator, "eq_sql", _binary("=")),
    exp.NEQ: (_Generator, "neq_sql", _binary("<>")),
    exp.LT: (_Generator, "lt_sql", _binary("<")),
    exp.LTE: (_Generator, "lte_sql", _binary("<=")),
    exp.GT: (_Generator, "gt_sql", _binary(">")),
    exp.GTE: (_Generator, "gte_sql", _binary(">=")),
    exp.And: (_Generator, "and_sql", _connector("AND")),
    exp.Or: (_Generator, "or_sql", _connector("OR")),
    exp.Anonymous: (_Generator, "anonymous_sql", _anonymous),
    exp.Null: (_Generator, "null_sql", lambda self, e: "NULL"),
    exp.Boolean: (_Generator, "boolean_sql", lambda self, e: "TRUE" if e.args.get("this") else "FALSE"),
    exp.Star: (_Generator, "star_sql", lambda self, e: "*" if _only(e, frozenset()) else None),
    exp.Column: (PgSphereGenerator, "column_sql", lambda self, e: self.column_sql(e)),
    exp.Identifier: (PgSphereGenerator, "identifier_sql", lambda self, e: self.identifier_sql(e)),
    exp.DataType: (PgSphereGenerator, "datatype_sql", lambda self, e: self.datatype_sql(e)),
    exp.Cast: (PostgresGenerator, "cast_sql", _cast),
}


def _direct_writers() -> dict[type[exp.Expr], _Writer]:
    """The writers whose node kind sqlglot still writes with the method they reproduce.

    Also the Select transform (PostgreSQL's, which only rewrites SEMI/ANTI joins and QUALIFY), MAX
    (``max_or_greatest``), ``literal_sql`` (ours: only string literals differ from sqlglot's) and the
    functions sqlglot writes with ``function_fallback_sql`` (no transform, no method of their own).
    """
    dispatch = PgSphereGenerator(dialect=PgSphere())._dispatch
    writers: dict[type[exp.Expr], _Writer] = {}
    for cls, (owner, method, writer) in _WRITERS.items():
        handler = dispatch.get(cls)
        if handler is not None and handler is vars(owner).get(method) and not hasattr(handler, "__wrapped__"):
            writers[cls] = writer
    if dispatch.get(exp.Select) is PostgresGenerator.TRANSFORMS.get(exp.Select):
        writers[exp.Select] = _select
    if dispatch.get(exp.Max) is max_or_greatest:
        writers[exp.Max] = _max
    if dispatch.get(exp.Literal) is PgSphereGenerator.literal_sql:
        writers[exp.Literal] = _literal
    for cls in exp.EXPR_CLASSES.values():
        if issubclass(cls, exp.Func) and cls is not exp.Func and cls not in dispatch and cls not in writers:
            _FUNCTION_NAMES[cls] = cls.sql_name().upper()
            writers[cls] = _function
    return writers


class DirectGenerator(PgSphereGenerator):
    """:class:`PgSphereGenerator` that writes the common node kinds directly (the same text).

    The writers assume :meth:`PgSphere.write`'s options: with others (pretty printing, comments,
    another dialect or function-name case) it is PgSphereGenerator.
    """

    _DIRECT: ClassVar[dict[type[exp.Expr], _Writer]] = {}

    def __init__(self, **options: Any) -> None:
        super().__init__(**options)
        usual = (
            not self.pretty
            and not self.comments
            and type(self.dialect) is PgSphere
            and self.normalize_functions in ("upper", True)
        )
        self._writers = self._DIRECT if usual else {}

    def sql(self, expression: str | exp.Expr | None, key: str | None = None, comment: bool = True) -> str:
        """Generator.sql, through a direct writer where one applies."""
        if key is None:
            writer = self._writers.get(expression.__class__)  # type: ignore[arg-type]
            if writer is not None:
                written = writer(self, expression)
                if written is not None:
                    return written
        return super().sql(expression, key, comment)


DirectGenerator._DIRECT = _direct_writers()
