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
* ``TOP n`` becomes ``LIMIT``, combined with the service's row limit (the smaller
  wins, TAP 1.1 MAXREC); ``OFFSET`` stays, and PostgreSQL applies it first as
  ADQL 2.1's OFFSET requires.
"""

from __future__ import annotations

from sqlglot import exp

from vostack.adql.resolve import Resolved

__all__ = ["to_postgres"]

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


def _numeric(node: exp.Expr) -> exp.Expr:
    node.type = _type(_DT.DECIMAL)
    return node


def _is_integer(node: exp.Expr) -> bool:
    return node.type is not None and node.type.this in _INTEGERS


def _rewrite(node: exp.Expr) -> exp.Expr:
    if isinstance(node, exp.Round | exp.Trunc) and node.args.get("decimals") is not None:
        rounded = type(node)(this=_cast(node.this, _DT.DECIMAL), decimals=node.args["decimals"])
        return _cast(_numeric(rounded), _DT.DOUBLE)
    if isinstance(node, exp.Mod) and not (_is_integer(node.this) and _is_integer(node.expression)):
        mod = exp.Mod(this=_cast(node.this, _DT.DECIMAL), expression=_cast(node.expression, _DT.DECIMAL))
        return _cast(_numeric(mod), _DT.DOUBLE)
    if isinstance(node, exp.Concat) and all(isinstance(a, exp.Literal) for a in node.expressions):
        return exp.Literal.string("".join(a.this for a in node.expressions))
    return node


def _numeric_in_postgres(node: exp.Expr) -> bool:
    """Whether PostgreSQL may compute ``node`` as ``numeric`` (which no FIELD declares)."""
    for sub in node.walk():
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


def _limit(tree: exp.Query, row_limit: int | None) -> None:
    if row_limit is None:
        return
    limit = tree.args.get("limit")
    top = int(limit.expression.this) if isinstance(limit, exp.Limit) else None
    count = row_limit if top is None else min(top, row_limit)
    tree.set("limit", exp.Limit(expression=exp.Literal.number(count)))


def to_postgres(resolved: Resolved, *, row_limit: int | None = None) -> exp.Query:
    """Rewrite a resolved query for PostgreSQL/pgSphere; returns the tree to generate."""
    tree = resolved.tree
    # children before parents, so that rewrites nest (ROUND(MOD(x, y), 2))
    for node in reversed(list(tree.walk())):
        new = _rewrite(node)
        if new is not node:
            node.replace(new)
    # every SELECT, not only the result's: subqueries' columns reach the result through the outer query
    for select in list(tree.find_all(exp.Select)):
        _declare_types(select)
    _limit(tree, row_limit)
    return tree
