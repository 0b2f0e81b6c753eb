"""Pure tree rewrites from resolved ADQL to what PostgreSQL needs (the DaCHS ``morphpg`` stage).

Each rewrite builds sqlglot nodes; none formats SQL text.  They rely on the
types :mod:`vostack.adql.resolve` put on the tree:

* ``ROUND(x, n)`` and ``TRUNCATE(x, n)``: PostgreSQL has the two-argument forms
  only for ``numeric``, so ``x`` is cast to ``NUMERIC`` and the result back to
  ``DOUBLE PRECISION`` (ADQL 2.1 §2.3 returns double).
* ``MOD(x, y)`` of non-integers: PostgreSQL's ``%`` is integer-only, so both
  operands are cast to ``NUMERIC`` and the result back to ``DOUBLE PRECISION``.
* ``'a' 'b'`` (a string literal continued over several parts) becomes one literal.
* Computed ``double`` columns (of the result and of every subquery, whose
  columns can reach the result) are cast to ``DOUBLE PRECISION`` when
  PostgreSQL would compute them as ``numeric`` (decimal literals, ``AVG`` of
  integers, ``SUM`` of ``bigint``), and ``SUM`` results declared ``long`` to
  ``BIGINT``: the SQL returns exactly the types its FIELDs declare.
* Geometry (ADQL 2.1 §4.2), see :func:`morph_geometry`: argument types are
  checked; ``BOX`` becomes the ``POLYGON`` of its corners; ``CONTAINS(a, b) = 1``,
  ``1 = CONTAINS(a, b)``, ``= 0`` and ``<> 0`` (and ``INTERSECTS``) become the
  pgSphere predicates ``a <@ b`` / ``a && b`` (with ``NOT``), so that GiST
  indexes apply; any other use of them becomes ``CASE WHEN … THEN 1 ELSE 0 END``;
  ``DISTANCE(a, b) < r`` (``<=``, or ``r > DISTANCE(a, b)``) with a literal
  radius also gets ``a <@ scircle(b, r)``, which an index on ``a`` serves;
  when both points hold columns (a crossmatch), ``a <@ scircle(b, r)`` also gets
  its mirror ``b <@ scircle(a, r)`` (the same condition), so an index on either
  table serves the join (a small uploaded table against a catalogue, TAP 1.1 §4.5);
  geometry values in the result become DALI arrays in degrees (DALI 1.1 §3.3).
* ``TOP n`` becomes ``LIMIT``, combined with the service's row limit (the smaller
  wins, TAP 1.1 MAXREC); ``OFFSET`` stays, and PostgreSQL applies it first as
  ADQL 2.1's OFFSET requires.
"""

from __future__ import annotations

from typing import cast

from sqlglot import exp

from vostack.adql import expressions as geo
from vostack.adql.errormap import semantic_error
from vostack.adql.resolve import Resolved
from vostack.adql.shapes import pin

__all__ = ["limit_of", "to_postgres"]

_DT = exp.DType
_INTEGERS = frozenset({_DT.TINYINT, _DT.SMALLINT, _DT.INT, _DT.BIGINT})


def _type(name: exp.DType) -> exp.DataType:
    return exp.DataType(this=name)


def _cast(node: exp.Expr, to: exp.DType) -> exp.Expr:
    if (
        to == _DT.DECIMAL
        and isinstance(node, exp.Cast)
        and node.this.type is not None
        and node.this.type.this == _DT.DECIMAL
    ):
        inner: exp.Expr = node.this
        return inner  # CAST(CAST(numeric AS DOUBLE PRECISION) AS NUMERIC) is the numeric
    cast = exp.Cast(this=node, to=_type(to))
    cast.type = _type(to)
    return cast


def _copy(node: exp.Expr) -> exp.Expr:
    """A copy of ``node`` for a second place in the tree.

    Unlike ``node.copy()`` (a deep copy of everything), types are shared with the original:
    after :mod:`vostack.adql.resolve` they are only ever replaced, never changed in place.
    Geometry rewrites copy points and radii this way.
    """
    root = type(node)()
    stack = [(node, root)]
    expr = exp.Expr
    # the copies are new (no cached hash, no parent): target.set(key, value) comes down to
    # storing the value and linking its nodes to the target, done here directly
    while stack:
        source, target = stack.pop()
        target.type = source.type
        meta = source.meta
        if meta:
            target.meta.update(meta)
        args = target.args
        for key, value in source.args.items():
            if isinstance(value, expr):
                child = type(value)()
                stack.append((value, child))
                args[key] = child
                child.parent, child.arg_key, child.index = target, key, None
            elif type(value) is list:
                items = []
                for index, item in enumerate(value):
                    if isinstance(item, expr):
                        child = type(item)()
                        stack.append((item, child))
                        child.parent, child.arg_key, child.index = target, key, index
                        items.append(child)
                    else:
                        items.append(item)
                args[key] = items
            else:
                args[key] = value
    return root


def _numeric(node: exp.Expr) -> exp.Expr:
    node.type = _type(_DT.DECIMAL)
    return node


def _is_integer(node: exp.Expr) -> bool:
    return node.type is not None and node.type.this in _INTEGERS


_REWRITTEN = (exp.Round, exp.Trunc, exp.Mod, exp.Concat)

# What to_postgres collects of a node (expressions.node_role of ADQLFunction, _REWRITTEN, Select)
_FUNCTION, _REWRITE, _SELECT, _CASE = 1, 2, 3, 4
_ROLES: dict[type, int] = {}


def _rewrite(node: exp.Expr) -> exp.Expr:
    if isinstance(node, exp.Round | exp.Trunc) and node.args.get("decimals") is not None:
        rounded = type(node)(this=_cast(node.this, _DT.DECIMAL), decimals=node.args["decimals"])
        return _cast(_numeric(rounded), _DT.DOUBLE)
    if isinstance(node, exp.Mod) and not (_is_integer(node.this) and _is_integer(node.expression)):
        mod = exp.Mod(this=_cast(node.this, _DT.DECIMAL), expression=_cast(node.expression, _DT.DECIMAL))
        return _cast(_numeric(mod), _DT.DOUBLE)
    if isinstance(node, exp.Concat) and all(isinstance(a, exp.Literal) for a in node.expressions):
        literal = exp.Literal.string("".join(a.this for a in node.expressions))
        literal.type = node.type
        return literal
    return node


def _numeric_in_postgres(node: exp.Expr) -> bool:
    """Whether PostgreSQL may compute ``node`` as ``numeric`` (which no FIELD declares)."""
    # IN_UNIT and geometry functions return double precision whatever their arguments
    for sub in geo.nodes(node, leaves=(geo.ADQLFunction, exp.Column)):
        if isinstance(sub, geo.ADQLFunction):
            continue
        if isinstance(sub, exp.Literal) and not sub.is_string and not sub.is_int:
            return True
        arg = sub.this.type.this if isinstance(sub, exp.Avg | exp.Sum) and sub.this.type else None
        if isinstance(sub, exp.Avg) and arg not in (_DT.FLOAT, _DT.DOUBLE):
            return True
        if isinstance(sub, exp.Sum) and arg in (_DT.BIGINT, _DT.DECIMAL, _DT.UNKNOWN, None):
            return True
        if isinstance(sub, exp.Column) and sub.type is not None and sub.type.this == _DT.DECIMAL:
            return True
    return False


def _declare_types(select: exp.Select) -> None:
    items = []
    for item in select.expressions:
        value = item.this if isinstance(item, exp.Alias) else item
        kind = value.type.this if value.type is not None else None
        cast = None
        if not isinstance(value, exp.Column | exp.Cast) and _numeric_in_postgres(value):
            if kind == _DT.DOUBLE:
                cast = _cast(value, _DT.DOUBLE)
            elif kind == _DT.BIGINT:
                cast = _cast(value, _DT.BIGINT)
        if cast is not None:
            if isinstance(item, exp.Alias):
                item.set("this", cast)
            else:
                item = cast
        items.append(item)
    select.set("expressions", items)


def limit_of(tree: exp.Query) -> int | None:
    """The most rows a translated query returns: its outermost ``LIMIT``, ``None`` when it has none."""
    limit = tree.args.get("limit")
    if isinstance(limit, exp.Limit) and isinstance(limit.expression, exp.Literal) and limit.expression.is_int:
        return int(limit.expression.this)
    return None


def _limit(tree: exp.Query, row_limit: int | None) -> None:
    if row_limit is None:
        return
    limit = tree.args.get("limit")
    top = int(limit.expression.this) if isinstance(limit, exp.Limit) else None
    count = row_limit if top is None else min(top, row_limit)
    tree.set("limit", exp.Limit(expression=exp.Literal.number(count)))


def _value_class(datatype: exp.DataType | None) -> str | None:
    """What kind of value a CASE branch gives: a number, a string, a time, a geometry kind; None: unknown."""
    if datatype is None or datatype.this in (_DT.NULL, _DT.UNKNOWN):
        return None
    if datatype.this in _NUMBER_TYPES:
        return "a number"
    if datatype.this in _TEXT_TYPES:
        return "a string"
    if datatype.this in _TIME_TYPES:
        return "a time"
    kind = geo.geometry_kind(datatype)
    return _NAMES.get(kind, "a value") if kind else datatype.this.value.lower()


def _check_case(node: exp.Case, text: str) -> None:
    """The branches of CASE (vostack's extension) must give values of one kind, as SQL-92 §9.3 requires."""
    branches = [branch.args.get("true") for branch in node.args.get("ifs") or ()]
    branches.append(node.args.get("default"))
    seen: dict[str, exp.Expr] = {}
    for branch in branches:
        if branch is None:
            continue
        kind = _value_class(branch.type)
        if kind is not None:
            seen.setdefault(kind, branch)
    if len(seen) > 1:
        first, second = list(seen)[:2]
        raise semantic_error(f"the branches of CASE give {first} and {second}: they must be of one kind", text, node)


def to_postgres(
    resolved: Resolved, *, row_limit: int | None = None, text: str = "", geometry: bool = True
) -> exp.Query:
    """Rewrite a resolved query for PostgreSQL/pgSphere; returns the tree to generate.

    ``geometry=False`` says the query calls no geometry function (only result columns can be geometries).
    """
    tree = resolved.tree
    # one walk finds what every rewrite needs
    functions: list[geo.ADQLFunction] = []
    rewrites: list[exp.Expr] = []
    selects: list[exp.Select] = []
    roles = _ROLES
    # a column reference holds names only (vostack.adql.validate checks it): nothing to collect below it
    for node in geo.nodes(tree, leaves=(exp.Column,)):
        role = roles.get(node.__class__)
        if role is None:
            role = geo.node_role(node.__class__, (geo.ADQLFunction, _REWRITTEN, exp.Select, exp.Case), roles)
        if role == _FUNCTION:
            functions.append(cast(geo.ADQLFunction, node))
        elif role == _REWRITE:
            rewrites.append(node)
        elif role == _SELECT:
            selects.append(cast(exp.Select, node))
        elif role == _CASE:
            _check_case(cast(exp.Case, node), text)
    # children before parents, so that rewrites nest (ROUND(MOD(x, y), 2)); before the geometry
    # rewrites, which copy some of their arguments
    for node in reversed(rewrites):
        new = _rewrite(node)
        if new is not node:
            node.replace(new)
    # every SELECT, not only the result's: subqueries' columns reach the result through the outer query
    for select in selects:
        _declare_types(select)
    morph_geometry(tree, text, calls=geometry, nodes=functions)
    _limit(tree, row_limit)
    return tree


# -- geometry (ADQL 2.1 §4.2) ---------------------------------------------------------------------

_POINT, _CIRCLE, _POLYGON = geo.POINT, geo.CIRCLE, geo.POLYGON
_REGIONS = frozenset({_CIRCLE, _POLYGON})
_ANY = frozenset({_POINT, _CIRCLE, _POLYGON})
_POINTS = frozenset({_POINT})
_NAMES = {_POINT: "a point", _CIRCLE: "a circle", _POLYGON: "a polygon"}
_TEXT_TYPES = frozenset({_DT.TEXT, _DT.VARCHAR, _DT.CHAR, _DT.BOOLEAN})
_NUMBER_TYPES = frozenset({_DT.SMALLINT, _DT.INT, _DT.BIGINT, _DT.FLOAT, _DT.DOUBLE, _DT.DECIMAL})
_TIME_TYPES = frozenset({_DT.TIMESTAMP, _DT.TIMESTAMPTZ, _DT.DATE})
_PREDICATES = (geo.ADQLContains, geo.ADQLIntersects)


_USERDEFINED = _DT.USERDEFINED


def _kind(node: exp.Expr) -> str | None:
    datatype = node.type
    if datatype is None or datatype.this != _USERDEFINED:
        return None
    kind = datatype.args.get("kind")
    if type(kind) is str and kind in _ANY:  # what geometry_kind answers, without its str() and lower()
        return kind
    return geo.geometry_kind(datatype)


def _check_geometry(node: geo.ADQLFunction, text: str) -> None:
    """Refuse geometry calls whose arguments have the wrong type (ADQL 2.1 §4.2)."""

    def expect(arg: exp.Expr, kinds: frozenset[str], what: str) -> None:
        kind = _kind(arg)
        if kind not in kinds:
            got = _NAMES.get(kind or "", "a number" if kind is None and not _is_text(arg) else "a string")
            raise semantic_error(f"{node.adql_name} expects {what}, not {got}", text, arg)

    if isinstance(node, geo.ADQLPoint):
        for arg in (node.this, node.expression):
            if _kind(arg) is not None or _is_text(arg):
                raise semantic_error("POINT takes two numbers (longitude and latitude in degrees)", text, arg)
    elif isinstance(node, geo.ADQLCircle | geo.ADQLBox):
        expect(node.this, _POINTS, "a point as its centre")
        radius = _literal(node.args["radius"]) if isinstance(node, geo.ADQLCircle) else None
        if radius is not None and not 0 <= radius <= 90:
            raise semantic_error("a CIRCLE radius must be between 0 and 90 degrees", text, node.args["radius"])
    elif isinstance(node, geo.ADQLPolygon):
        for vertex in node.expressions:
            expect(vertex, _POINTS, "points as its vertices")
    elif isinstance(node, geo.ADQLContains):
        expect(node.this, _ANY, "a geometry as its first argument")
        expect(node.expression, _REGIONS, "a circle or polygon as its second argument")
    elif isinstance(node, geo.ADQLIntersects):
        expect(node.this, _ANY, "geometries")
        expect(node.expression, _ANY, "geometries")
        if _kind(node.this) == _POINT and _kind(node.expression) == _POINT:
            raise semantic_error("INTERSECTS expects at least one circle or polygon", text, node)
    elif isinstance(node, geo.ADQLDistance):
        expect(node.this, _POINTS, "points")
        expect(node.expression, _POINTS, "points")
    elif isinstance(node, geo.ADQLCoord1 | geo.ADQLCoord2):
        expect(node.this, _POINTS, "a point")
    elif isinstance(node, geo.ADQLArea | geo.ADQLCentroid | geo.ADQLCoordSys):
        expect(node.this, _ANY, "a geometry")


def _literal(node: exp.Expr) -> float | None:
    """The value of a (signed) numeric literal, else ``None``."""
    node = _unparen(node)
    sign = 1.0
    if isinstance(node, exp.Neg):
        sign, node = -1.0, _unparen(node.this)
    if isinstance(node, exp.Literal) and not node.is_string:
        pin(node)  # the translation depends on the value read
        return sign * float(node.this)
    return None


def _is_text(node: exp.Expr) -> bool:
    return node.type is not None and node.type.this in _TEXT_TYPES


def _half(size: exp.Expr) -> exp.Expr:
    return exp.Mul(this=exp.Paren(this=_copy(size)), expression=exp.Literal.number("0.5"))


def _corner(centre: exp.Expr, half: exp.Expr, sign: int) -> exp.Expr:
    klass = exp.Add if sign > 0 else exp.Sub
    return exp.Paren(this=klass(this=exp.Paren(this=_copy(centre)), expression=_copy(half)))


def _box_polygon(box: geo.ADQLBox) -> geo.ADQLPolygon:
    """BOX(x, y, w, h) as the polygon of its four corners (x ± w/2, y ± h/2)."""
    centre = box.this
    if isinstance(centre, geo.ADQLPoint):
        x, y = centre.this, centre.expression
    else:
        x, y = geo.ADQLCoord1(this=_copy(centre)), geo.ADQLCoord2(this=_copy(centre))
        x.type = y.type = exp.DataType(this=_DT.DOUBLE)
    dx, dy = _half(box.args["width"]), _half(box.args["height"])
    vertices = []
    for sx, sy in ((-1, -1), (1, -1), (1, 1), (-1, 1)):
        vertex = geo.ADQLPoint(this=_corner(x, dx, sx), expression=_corner(y, dy, sy))
        vertex.meta["inline"] = True
        vertex.type = geo.sphere_type(_POINT)
        vertices.append(vertex)
    polygon = geo.ADQLPolygon(expressions=vertices)
    polygon.type = geo.sphere_type(_POLYGON)
    return polygon


def _operator(this: exp.Expr, other: exp.Expr, op: str) -> exp.Expr:
    node = geo.SphereOperator(this=this, expression=other, op=op)
    node.type = exp.DataType(this=_DT.BOOLEAN)
    return node


def _holds_column(node: exp.Expr) -> bool:
    """Whether ``node`` is or contains a column reference (``node.find(exp.Column)``, without a generator per node)."""
    stack = [node]
    expr = exp.Expr
    while stack:
        current = stack.pop()
        if isinstance(current, exp.Column):
            return True
        for value in current.args.values():
            if isinstance(value, expr):
                stack.append(value)
            elif isinstance(value, list):
                stack.extend(item for item in value if isinstance(item, expr))
    return False


def _mirrored(point: exp.Expr, circle: exp.Expr) -> exp.Expr:
    """``point <@ circle``, and ``centre <@ scircle(point, r)`` with it when both points hold columns."""
    inside = _operator(point, circle, "<@")
    if not (isinstance(circle, geo.ADQLCircle) and _holds_column(point) and _holds_column(circle.this)):
        return inside
    mirror = geo.ADQLCircle(this=_copy(point), radius=_copy(circle.args["radius"]))
    mirror.type = geo.sphere_type(_CIRCLE)
    both = exp.Paren(this=exp.And(this=inside, expression=_operator(_copy(circle.this), mirror, "<@")))
    both.type = inside.type
    return both


def _predicate(node: exp.Expr) -> exp.Expr:
    """The pgSphere boolean for CONTAINS/INTERSECTS (ADQL 2.1 §4.2.5, §4.2.10)."""
    this, other = node.this, node.expression
    if isinstance(node, geo.ADQLContains):
        return _mirrored(this, other) if _kind(this) == _POINT else _operator(this, other, "<@")
    if _kind(this) == _POINT:
        return _operator(this, other, "<@")
    if _kind(other) == _POINT:
        return _operator(other, this, "<@")
    return _operator(this, other, "&&")


def _unparen(node: exp.Expr) -> exp.Expr:
    while isinstance(node, exp.Paren):
        node = node.this
    return node


def _bit(node: exp.Expr) -> int | None:
    node = _unparen(node)
    if isinstance(node, exp.Literal) and node.is_int and node.this in ("0", "1"):
        return int(node.this)
    return None


# DaCHS' booleanizer table: (operator, literal) -> keep the predicate (True) or negate it (False)
_BOOLEANIZER = {(exp.EQ, 1): True, (exp.EQ, 0): False, (exp.NEQ, 0): True, (exp.NEQ, 1): False}


def _booleanize(node: exp.Expr) -> exp.Expr | None:
    """``CONTAINS(a, b) = 1`` and its variants as a pgSphere predicate, or ``None``."""
    if not isinstance(node, exp.EQ | exp.NEQ):
        return None
    for call, literal in ((node.this, node.expression), (node.expression, node.this)):
        call = _unparen(call)
        if isinstance(call, _PREDICATES):
            pin(_unparen(literal))  # = 1 and = 0 become predicates, other values stay comparisons
        bit = _bit(literal)
        if isinstance(call, _PREDICATES) and bit is not None:
            predicate = _predicate(call)
            if _BOOLEANIZER[(type(node), bit)]:
                return predicate
            negated = exp.Not(this=predicate)
            negated.type = predicate.type
            return negated
    return None


def _radius(node: exp.Expr) -> float | None:
    value = _literal(node)
    return value if value is not None and 0 <= value <= 90 else None


def _cone(node: exp.Expr) -> exp.Expr | None:
    """``(a <@ scircle(b, r) AND …)`` to replace ``DISTANCE(a, b) < r`` (the AND gets the comparison), or None."""
    if isinstance(node, exp.LT | exp.LTE):
        distance, radius = _unparen(node.this), node.expression
    elif isinstance(node, exp.GT | exp.GTE):
        distance, radius = _unparen(node.expression), node.this
    else:
        return None
    if not isinstance(distance, geo.ADQLDistance) or _radius(radius) is None:
        return None
    circle = geo.ADQLCircle(this=_copy(distance.expression), radius=_copy(radius))
    circle.type = geo.sphere_type(_CIRCLE)
    inside = _mirrored(_copy(distance.this), circle)
    # the comparison itself goes into the AND once it has been replaced (copying it is slow)
    return exp.Paren(this=exp.And(this=inside, expression=exp.Null()))


def _comparison(node: exp.Expr) -> exp.Expr | None:
    """The comparison ``node`` is an operand of (through parentheses), if any."""
    parent = node.parent
    while isinstance(parent, exp.Paren):
        parent = parent.parent
    return parent if isinstance(parent, exp.EQ | exp.NEQ | exp.LT | exp.LTE | exp.GT | exp.GTE) else None


def _as_case(node: exp.Expr) -> exp.Expr:
    case = exp.Case(
        ifs=[exp.If(this=_predicate(node), true=exp.Literal.number(1))],
        default=exp.Literal.number(0),
    )
    case.type = exp.DataType(this=_DT.INT)
    return case


def _double(node: exp.Expr) -> exp.Expr:
    return exp.Cast(this=node, to=_type(_DT.DOUBLE))


def _degrees(function: str, node: exp.Expr) -> exp.Expr:
    return exp.Degrees(this=exp.Anonymous(this=function, expressions=[node]))


def _coordinates(point: exp.Expr) -> list[exp.Expr]:
    if isinstance(point, geo.ADQLPoint):
        return [_double(point.this), _double(point.expression)]
    return [_degrees("long", _copy(point)), _degrees("lat", _copy(point))]


def _dali_array(value: exp.Expr) -> exp.Expr | None:
    """A geometry value as a DALI array of doubles in degrees (DALI 1.1 §3.3), if it can be one."""
    kind = _kind(value)
    if kind == _POINT:
        items = _coordinates(value)
    elif kind == _CIRCLE:
        if isinstance(value, geo.ADQLCircle):
            items = [*_coordinates(value.this), _double(value.args["radius"])]
        else:
            centre = exp.Anonymous(this="center", expressions=[_copy(value)])
            items = [*_coordinates(centre), _degrees("radius", _copy(value))]
    elif kind == _POLYGON and isinstance(value, geo.ADQLPolygon):
        items = [item for vertex in value.expressions for item in _coordinates(vertex)]
    elif kind == _POLYGON:
        return geo.PolygonArray(this=_copy(value))
    else:
        return None
    return exp.Array(expressions=items)


def _result_selects(node: exp.Expr) -> list[exp.Select]:
    if isinstance(node, exp.Subquery):
        return _result_selects(node.this)
    if isinstance(node, exp.Select):
        return [node]
    if isinstance(node, exp.SetOperation):
        return _result_selects(node.this) + _result_selects(node.expression)
    return []


def morph_geometry(
    tree: exp.Query, text: str = "", *, calls: bool = True, nodes: list[geo.ADQLFunction] | None = None
) -> None:
    """Check and rewrite the geometry of a resolved query for pgSphere (ADQL 2.1 §4.2), in place.

    With ``calls=False`` only geometry-valued result columns are converted to DALI arrays.
    ``nodes`` are the geometry nodes of ``tree`` in :func:`~vostack.adql.expressions.nodes` order,
    when the caller has them.
    """
    if not calls:
        nodes = []
    elif nodes is None:
        nodes = [node for node in geo.nodes(tree) if isinstance(node, geo.ADQLFunction)]
    for node in nodes:
        _check_geometry(node, text)
    for node in reversed(nodes):
        if isinstance(node, geo.ADQLBox):
            node.replace(_box_polygon(node))
    for node in nodes:
        comparison = _comparison(node) if isinstance(node, (*_PREDICATES, geo.ADQLDistance)) else None
        if comparison is not None:
            new = _booleanize(comparison)
            if new is not None:
                comparison.replace(new)
            elif (cone := _cone(comparison)) is not None:
                comparison.replace(cone)
                cone.this.set("expression", comparison)
    for node in reversed(nodes):
        # the predicates not consumed by a comparison are numbers
        if isinstance(node, _PREDICATES) and node.root() is tree:
            node.replace(_as_case(node))
    for select in _result_selects(tree):
        for item in select.expressions:
            value = item.this if isinstance(item, exp.Alias) else item
            array = _dali_array(value)
            if array is None:
                continue
            if isinstance(item, exp.Alias):
                item.set("this", array)
            else:
                value.replace(array)
