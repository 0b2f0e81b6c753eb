"""Node classes for ADQL 2.1's geometry functions (ADQL 2.1 §4.2), one class per function.

The grammar keeps geometry calls as ``exp.Anonymous`` nodes so that
:mod:`vostack.adql.validate` can check their argument patterns;
:func:`build_geometry` then replaces each call by its class here, in a normal
form:

* the deprecated coordinate system argument (``POINT('ICRS', ra, dec)``) is kept
  in ``coordsys`` (only for writing the query back as ADQL);
* ``CIRCLE(x, y, r)`` becomes ``ADQLCircle(this=ADQLPoint(x, y), radius=r)``;
* ``DISTANCE(x1, y1, x2, y2)`` becomes ``ADQLDistance(ADQLPoint, ADQLPoint)``;
* ``POLYGON(x1, y1, x2, y2, …)`` keeps one ``ADQLPoint`` per vertex;
* ``BOX(x, y, w, h)`` keeps its centre as an ``ADQLPoint``.

Each class comes with its return type in
:data:`vostack.adql.dialect.EXPRESSION_METADATA`, its ADQL spelling in
``ADQLGenerator.TRANSFORMS`` and either its pgSphere spelling in
``PgSphereGenerator.TRANSFORMS`` or its removal by :mod:`vostack.adql.morph`
(``CONTAINS``, ``INTERSECTS`` and ``BOX``), which
``test_every_geometry_class_is_translated_or_morphed`` checks.  ``REGION`` gets
no class: :mod:`vostack.adql.resolve` reads its STC-S string
(:mod:`vostack.adql.regions`) and builds the point, circle, box or polygon it
describes with :func:`literal_geometry`, as it does for ``CAST('…' AS POINT)``.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, ClassVar

from sqlglot import exp

__all__ = [
    "ADQL_FUNCTION_CLASSES",
    "CIRCLE",
    "GEOMETRY_TYPES",
    "MORPHED_CLASSES",
    "POINT",
    "POLYGON",
    "ADQLArea",
    "ADQLBox",
    "ADQLCentroid",
    "ADQLCircle",
    "ADQLContains",
    "ADQLCoord1",
    "ADQLCoord2",
    "ADQLCoordSys",
    "ADQLDistance",
    "ADQLFunction",
    "ADQLInUnit",
    "ADQLIntersects",
    "ADQLPoint",
    "ADQLPolygon",
    "ADQLUserFunction",
    "DaliGeometry",
    "PolygonArray",
    "SphereOperator",
    "build_geometry",
    "geometry_kind",
    "literal_geometry",
    "node_role",
    "nodes",
    "sphere_type",
]

#: pgSphere type names of the ADQL geometry values (ADQL 2.1 §4.2.1).
POINT = "spoint"
CIRCLE = "scircle"
POLYGON = "spoly"
GEOMETRY_TYPES = frozenset({POINT, CIRCLE, POLYGON})


def sphere_type(kind: str) -> exp.DataType:
    """The sqlglot type of a pgSphere value (``spoint``, ``scircle``, ``spoly``)."""
    return exp.DataType(this=exp.DType.USERDEFINED, kind=kind)


def geometry_kind(datatype: exp.DataType | None) -> str | None:
    """``spoint``, ``scircle`` or ``spoly`` when ``datatype`` is a geometry, else ``None``."""
    if datatype is None or datatype.this != exp.DType.USERDEFINED:
        return None
    kind = str(datatype.args.get("kind") or "").lower()
    return kind if kind in GEOMETRY_TYPES else None


class ADQLFunction(exp.Func):
    """Base of the ADQL geometry nodes: ``adql_name`` is the ADQL spelling."""

    adql_name: ClassVar[str] = ""

    def adql_args(self) -> list[exp.Expr]:
        """The arguments as ADQL writes them (for the ADQL generator)."""
        args: list[exp.Expr] = []
        coordsys = self.args.get("coordsys")
        if coordsys is not None:
            args.append(coordsys)
        for key in self.arg_types:
            if key == "coordsys":
                continue
            value = self.args.get(key)
            if isinstance(value, list):
                args.extend(value)
            elif isinstance(value, exp.Expr):
                args.append(value)
        return args


class ADQLPoint(exp.Expression, ADQLFunction):
    """``POINT(x, y)``: a position on the sky in degrees (ADQL 2.1 §4.2.7)."""

    adql_name = "POINT"
    arg_types: ClassVar[dict[str, bool]] = {"coordsys": False, "this": True, "expression": True}


class ADQLCircle(exp.Expression, ADQLFunction):
    """``CIRCLE(centre, radius)``, radius in degrees (ADQL 2.1 §4.2.4)."""

    adql_name = "CIRCLE"
    arg_types: ClassVar[dict[str, bool]] = {"coordsys": False, "this": True, "radius": True}

    def adql_args(self) -> list[exp.Expr]:
        """A centre written as ``POINT(x, y)`` goes back to ``CIRCLE(x, y, r)``."""
        centre = self.this
        coordsys = self.args.get("coordsys")
        head = [coordsys] if coordsys is not None else []
        if isinstance(centre, ADQLPoint) and centre.meta.get("inline"):
            return [*head, centre.this, centre.expression, self.args["radius"]]
        return [*head, centre, self.args["radius"]]


class ADQLBox(exp.Expression, ADQLFunction):
    """``BOX(centre, width, height)`` in degrees (ADQL 2.1 §4.2.3, deprecated)."""

    adql_name = "BOX"
    arg_types: ClassVar[dict[str, bool]] = {"coordsys": False, "this": True, "width": True, "height": True}

    def adql_args(self) -> list[exp.Expr]:
        """A centre written as ``POINT(x, y)`` goes back to ``BOX(x, y, w, h)``."""
        centre = self.this
        coordsys = self.args.get("coordsys")
        head = [coordsys] if coordsys is not None else []
        size = [self.args["width"], self.args["height"]]
        if isinstance(centre, ADQLPoint) and centre.meta.get("inline"):
            return [*head, centre.this, centre.expression, *size]
        return [*head, centre, *size]


class ADQLPolygon(exp.Expression, ADQLFunction):
    """``POLYGON(v1, v2, v3, …)``: vertices joined by great circles (ADQL 2.1 §4.2.8)."""

    adql_name = "POLYGON"
    arg_types: ClassVar[dict[str, bool]] = {"coordsys": False, "expressions": True}
    is_var_len_args = True

    def adql_args(self) -> list[exp.Expr]:
        """Vertices written as coordinates go back to ``POLYGON(x1, y1, …)``."""
        coordsys = self.args.get("coordsys")
        args: list[exp.Expr] = [coordsys] if coordsys is not None else []
        for vertex in self.expressions:
            if isinstance(vertex, ADQLPoint) and vertex.meta.get("inline"):
                args.extend((vertex.this, vertex.expression))
            else:
                args.append(vertex)
        return args


class ADQLContains(exp.Expression, ADQLFunction):
    """``CONTAINS(a, b)``: 1 when ``a`` lies inside ``b``, else 0 (ADQL 2.1 §4.2.5)."""

    adql_name = "CONTAINS"
    arg_types: ClassVar[dict[str, bool]] = {"this": True, "expression": True}


class ADQLIntersects(exp.Expression, ADQLFunction):
    """``INTERSECTS(a, b)``: 1 when ``a`` and ``b`` overlap, else 0 (ADQL 2.1 §4.2.10)."""

    adql_name = "INTERSECTS"
    arg_types: ClassVar[dict[str, bool]] = {"this": True, "expression": True}


class ADQLDistance(exp.Expression, ADQLFunction):
    """``DISTANCE(p1, p2)``: the great-circle distance in degrees (ADQL 2.1 §4.2.6)."""

    adql_name = "DISTANCE"
    arg_types: ClassVar[dict[str, bool]] = {"this": True, "expression": True}

    def adql_args(self) -> list[exp.Expr]:
        """Points written as coordinates go back to ``DISTANCE(x1, y1, x2, y2)``."""
        this, other = self.this, self.expression
        if all(isinstance(p, ADQLPoint) and p.meta.get("four") for p in (this, other)):
            return [this.this, this.expression, other.this, other.expression]
        return [this, other]


class ADQLArea(exp.Expression, ADQLFunction):
    """``AREA(region)`` in square degrees (ADQL 2.1 §4.2.2)."""

    adql_name = "AREA"
    arg_types: ClassVar[dict[str, bool]] = {"this": True}


class ADQLCentroid(exp.Expression, ADQLFunction):
    """``CENTROID(region)``: the centre point (ADQL 2.1 §4.2.9)."""

    adql_name = "CENTROID"
    arg_types: ClassVar[dict[str, bool]] = {"this": True}


class ADQLCoord1(exp.Expression, ADQLFunction):
    """``COORD1(point)``: its longitude in degrees (ADQL 2.1 §4.2.11)."""

    adql_name = "COORD1"
    arg_types: ClassVar[dict[str, bool]] = {"this": True}


class ADQLCoord2(exp.Expression, ADQLFunction):
    """``COORD2(point)``: its latitude in degrees (ADQL 2.1 §4.2.12)."""

    adql_name = "COORD2"
    arg_types: ClassVar[dict[str, bool]] = {"this": True}


class ADQLCoordSys(exp.Expression, ADQLFunction):
    """``COORDSYS(geometry)``: the coordinate system's name (ADQL 2.1 §4.2.13, deprecated)."""

    adql_name = "COORDSYS"
    arg_types: ClassVar[dict[str, bool]] = {"this": True}


class ADQLInUnit(exp.Expression, ADQLFunction):
    """``IN_UNIT(x, 'unit')``: ``x`` converted to ``unit`` (ADQL 2.1 §4.9).

    :mod:`vostack.adql.resolve` builds it once the unit of ``x`` is known, with
    the conversion ``factor`` computed by astropy.units.
    """

    adql_name = "IN_UNIT"
    arg_types: ClassVar[dict[str, bool]] = {"this": True, "unit": True, "factor": False}

    def adql_args(self) -> list[exp.Expr]:
        """``IN_UNIT(x, 'unit')``."""
        return [self.this, self.args["unit"]]


class ADQLUserFunction(exp.Expression, exp.Func):
    """A call of a declared user-defined function (ADQL 2.1 §4.10).

    ``this`` is the name as written; ``meta["udf"]`` is the
    :class:`vostack.adql.udf.UDF` and ``meta["returns"]`` its result type.
    """

    arg_types: ClassVar[dict[str, bool]] = {"this": True, "expressions": False}
    is_var_len_args = True


class DaliGeometry(exp.Expression, exp.Func):
    """``CAST(text AS POINT|CIRCLE|POLYGON)`` of a string computed at run time (ADQL 2.1 §4.7).

    The string holds the DALI serialisation of the geometry (DALI 1.1 §3.3: ``"x y"``,
    ``"x y r"``, ``"x1 y1 x2 y2 …"`` in degrees); ``kind`` is the pgSphere type made of it.
    Casts of string literals are read by :mod:`vostack.adql.resolve` instead (:func:`literal_geometry`).
    """

    arg_types: ClassVar[dict[str, bool]] = {"this": True, "kind": True}


class PolygonArray(exp.Expression, exp.Func):
    """A polygon-valued expression (a published ``spoly`` column, a cast) as a DALI array in degrees.

    Only :mod:`vostack.adql.morph` creates these, for polygons in the result (DALI 1.1 §3.3).
    """

    arg_types: ClassVar[dict[str, bool]] = {"this": True}


class SphereOperator(exp.Expression, exp.Binary):
    """A pgSphere operator between two geometries: ``<@`` (contained by) or ``&&`` (overlaps).

    Only :mod:`vostack.adql.morph` creates these, from ``CONTAINS``/``INTERSECTS``.
    """

    arg_types: ClassVar[dict[str, bool]] = {"this": True, "expression": True, "op": True}


#: The ADQL-only node classes defined in this module.
ADQL_FUNCTION_CLASSES: tuple[type[ADQLFunction], ...] = (
    ADQLPoint,
    ADQLCircle,
    ADQLBox,
    ADQLPolygon,
    ADQLContains,
    ADQLIntersects,
    ADQLDistance,
    ADQLArea,
    ADQLCentroid,
    ADQLCoord1,
    ADQLCoord2,
    ADQLCoordSys,
)

#: Classes that :mod:`vostack.adql.morph` always removes before PostgreSQL is written.
MORPHED_CLASSES: tuple[type[ADQLFunction], ...] = (ADQLBox, ADQLContains, ADQLIntersects)


def _is_coordsys(node: exp.Expr) -> bool:
    return isinstance(node, exp.Null) or (isinstance(node, exp.Literal) and node.is_string)


def literal_geometry(kind: str, numbers: Sequence[float]) -> exp.Expr:
    """The geometry node for ``kind`` (``POINT``, ``CIRCLE``, ``BOX`` or ``POLYGON``) made of numbers in degrees.

    ``numbers`` are already checked: 2 for a point, 3 for a circle, 4 for a box, an even number
    of at least 6 for a polygon.  Used for ``CAST('…' AS POINT)`` and ``REGION('…')``.
    """
    args: list[exp.Expr] = [_number(value) for value in numbers]
    built = _build(kind, args)
    assert built is not None
    return built


def _number(value: float) -> exp.Expr:
    literal = exp.Literal.number(repr(abs(value)))
    return exp.Neg(this=literal) if value < 0 else literal


def _point(x: exp.Expr, y: exp.Expr, **meta: Any) -> ADQLPoint:
    point = ADQLPoint(this=x, expression=y)
    point.meta.update(meta)
    return point


def _build(name: str, args: list[exp.Expr]) -> exp.Expr | None:
    coordsys = None
    if name in ("POINT", "CIRCLE", "BOX", "POLYGON") and args and _is_coordsys(args[0]):
        coordsys, args = args[0], args[1:]
    node: exp.Expr
    if name == "POINT":
        node = ADQLPoint(this=args[0], expression=args[1])
    elif name == "CIRCLE":
        centre = args[0] if len(args) == 2 else _point(args[0], args[1], inline=True)
        node = ADQLCircle(this=centre, radius=args[-1])
    elif name == "BOX":
        centre = args[0] if len(args) == 3 else _point(args[0], args[1], inline=True)
        node = ADQLBox(this=centre, width=args[-2], height=args[-1])
    elif name == "POLYGON":
        numeric = len(args) >= 6 and len(args) % 2 == 0 and not any(_may_be_point(a) for a in args)
        vertices: list[exp.Expr] = list(args)
        if numeric:
            vertices = [_point(args[i], args[i + 1], inline=True) for i in range(0, len(args), 2)]
        node = ADQLPolygon(expressions=vertices)
    elif name == "DISTANCE":
        if len(args) == 4:
            node = ADQLDistance(
                this=_point(args[0], args[1], four=True), expression=_point(args[2], args[3], four=True)
            )
        else:
            node = ADQLDistance(this=args[0], expression=args[1])
    else:
        klass = _SIMPLE.get(name)
        if klass is None:
            return None
        node = klass(this=args[0], expression=args[1]) if len(args) == 2 else klass(this=args[0])
    if coordsys is not None:
        node.set("coordsys", coordsys)
    return node


def _may_be_point(node: exp.Expr) -> bool:
    """Whether a POLYGON argument is a point: a geometry call (columns are taken as numbers)."""
    while isinstance(node, exp.Paren):
        node = node.this
    if isinstance(node, exp.Anonymous):
        return node.name.upper() in ("POINT", "CENTROID")
    return isinstance(node, ADQLPoint | ADQLCentroid)


_SIMPLE: dict[str, type[ADQLFunction]] = {
    "CONTAINS": ADQLContains,
    "INTERSECTS": ADQLIntersects,
    "AREA": ADQLArea,
    "CENTROID": ADQLCentroid,
    "COORD1": ADQLCoord1,
    "COORD2": ADQLCoord2,
    "COORDSYS": ADQLCoordSys,
}


def nodes(tree: exp.Expr, leaves: tuple[type[exp.Expr], ...] = ()) -> list[exp.Expr]:
    """Every node of ``tree`` in pre-order (parents before children, left to right).

    The translator's passes walk whole trees several times; this is about twice as
    fast as ``tree.walk()``, which runs a generator per node.  Nodes of the classes
    ``leaves`` are listed without their children (a column's names, for a pass that
    only looks for functions and queries).
    """
    found: list[exp.Expr] = []
    stack = [tree]
    expr = exp.Expr
    while stack:
        node = stack.pop()
        found.append(node)
        if leaves and isinstance(node, leaves):
            continue
        for value in reversed(node.args.values()):
            if isinstance(value, expr):
                stack.append(value)
            elif isinstance(value, list):
                stack.extend(item for item in reversed(value) if isinstance(item, expr))
    return found


def chain(node: exp.Binary) -> list[exp.Expr]:
    """The operands of the chain of operators of ``node``'s class that ``node`` heads, left to right.

    ``a OR b OR c`` parses into ``Or(Or(a, b), c)``: a chain of thousands of terms (generated
    ``id = 1 OR id = 2 OR ...``) is that deep.  Walking its operands in a loop keeps the depth
    of the walkers' recursion to the query's real nesting (parentheses, calls, subqueries).
    """
    klass = type(node)
    operands: list[exp.Expr] = []
    stack: list[exp.Expr] = [node]
    while stack:
        item = stack.pop()
        if type(item) is klass:
            stack.append(item.args["expression"])
            stack.append(item.args["this"])
        else:
            operands.append(item)
    return operands


def node_role(klass: type, groups: Sequence[type | tuple[type, ...]], roles: dict[type, int]) -> int:
    """1 + the index of the first of ``groups`` that ``klass`` belongs to (0: none), remembered in ``roles``.

    For the translator's walks, which sort nodes by what they are: ``isinstance`` answers depend on the
    class alone, so a walk looks each node's class up in ``roles`` and calls this for the classes it has
    not met before.
    """
    role = next((index for index, group in enumerate(groups, 1) if issubclass(klass, group)), 0)
    roles[klass] = role
    return role


def build_geometry(tree: exp.Expr, calls: Sequence[exp.Anonymous] | None = None) -> exp.Expr:
    """Replace the (already checked) geometry calls in ``tree`` by their node classes, in place.

    ``calls`` are the geometry calls of ``tree``, parents before children (as :func:`nodes`
    lists them), when the caller already has them (:func:`vostack.adql.validate.check_query`).
    """
    if calls is None:
        calls = [
            node
            for node in nodes(tree)
            if isinstance(node, exp.Anonymous) and isinstance(node.this, str) and node.this.upper() in _NAMES
        ]
    # innermost first, so that an outer call sees its arguments already built
    for node in reversed(calls):
        built = _build(node.this.upper(), list(node.expressions))
        if built is not None:
            built.meta.update(node.meta)
            node.replace(built)
    return tree


_NAMES = frozenset({"POINT", "CIRCLE", "BOX", "POLYGON", "DISTANCE", *_SIMPLE})
