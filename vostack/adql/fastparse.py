"""A fast parser for the common subset of ADQL, building exactly the tree ADQLParser builds.

sqlglot's parser descends some twenty precedence levels of method calls for every
operand; for the typical query that is most of the parsing time.  :func:`parse` reads
the same :class:`~sqlglot.tokenizer_core.Token` list with one precedence-climbing
loop and builds the same nodes in the same order through the same sqlglot calls, so
the tree is identical to ``ADQLParser(error_level=ErrorLevel.IMMEDIATE).parse(tokens,
text)[0]``: node classes, argument keys (``None``-valued ones included) and their
order, ``meta`` positions, comments, parent links.

It accepts (ADQL 2.1 §2.2 query_specification, restricted): ``[WITH name AS (query),
...] SELECT [ALL | DISTINCT] [TOP n] items FROM table [[INNER | LEFT | RIGHT | FULL
[OUTER] | CROSS] JOIN table [ON condition | USING (names)] | , table ...] [WHERE ...]
[GROUP BY ...] [HAVING ...] [ORDER BY ... [ASC | DESC]] [OFFSET n]`` with tables
``[catalog.][schema.]table [[AS] alias]`` or ``(query) [[AS] alias]``, items ``*``,
``t.*`` or ``expression [[AS] alias]``, and expressions of literals, columns, function
calls (with ``COUNT(*)`` and ``COUNT(DISTINCT x)``), parentheses, unary ``-``/``+``/``NOT``,
``* / + - ||``, comparisons, ``AND``/``OR``, ``[NOT] BETWEEN``, ``[NOT] IN (list)``,
``[NOT] LIKE``/``ILIKE`` and ``IS [NOT] NULL``.

Everything else (comments, subqueries in expressions, set operators, ``CAST``, ``NATURAL``
joins, words that sqlglot reads as keywords by their text, ...) makes it return ``None``: the caller
then runs the full parser, which also produces every error message.  It never raises.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from sqlglot import exp
from sqlglot.tokenizer_core import Token, TokenType

from vostack.adql.dialect import ADQL, ADQLParser

__all__ = ["parse"]

_T = TokenType
_VAR = _T.VAR
_IDENTIFIER = _T.IDENTIFIER
_NAME_TYPES = frozenset({_T.VAR, _T.IDENTIFIER})
_SENTINEL = _T.SENTINEL
_L_PAREN = _T.L_PAREN
_R_PAREN = _T.R_PAREN
_COMMA = _T.COMMA
_DOT = _T.DOT
_STAR = _T.STAR
_NOT = _T.NOT
_ALIAS = _T.ALIAS
_USING = _T.USING

# Words sqlglot recognises by their text (``_match_text_seq``/``_match_texts``) on the paths this
# parser mirrors: an unquoted name spelled like one of them may change the parse, so the query
# goes to the full parser.  Every VAR token of an accepted query passes through identifier() or
# call(), which check this list.
_TEXT_KEYWORDS = frozenset(
    {
        "AT",  # AT TIME ZONE
        "ASYMMETRIC",
        "BY",  # LIMIT ... BY
        "COLUMNS",  # * COLUMNS(...)
        "CONNECT",
        "CYCLE",
        "DIRECTED",  # DIRECTED JOIN
        "EXCLUDE",
        "FILL",  # WITH FILL
        "IGNORE",  # IGNORE NULLS
        "KEY",  # USING KEY
        "MATERIALIZED",
        "NULLS",  # NULLS FIRST/LAST
        "ONLY",
        "PER",
        "RENAME",
        "REPLACE",
        "RESPECT",
        "ROW",
        "ROWS",
        "SEARCH",
        "START",  # START WITH
        "SYMMETRIC",
        "TIES",  # WITH TIES
        "TOTALS",
        "WHILE",
        "WITHIN",  # WITHIN GROUP
    }
)

_P = ADQLParser
_FUNCTIONS: dict[str, Callable[..., Any]] = _P.FUNCTIONS
_FUNCTION_PARSERS = frozenset(_P.FUNCTION_PARSERS)
_TABLE_TERMINATORS = frozenset(_P.TABLE_TERMINATORS)
_TABLE_POSTFIX = frozenset(_P.TABLE_POSTFIX_TOKENS)
_COLUMN_POSTFIX = frozenset(_P.COLUMN_POSTFIX_TOKENS) | frozenset(_P.COLUMN_OPERATORS)
_RANGE_TOKENS = frozenset(_P.RANGE_PARSERS)
_MODIFIER_TOKENS = frozenset(_P.QUERY_MODIFIER_TOKENS)
_EQUALITY: dict[TokenType, type[exp.Expr]] = {_T.EQ: _P.EQUALITY[_T.EQ], _T.NEQ: _P.EQUALITY[_T.NEQ]}
_COMPARISON: dict[TokenType, type[exp.Expr]] = {k: _P.COMPARISON[k] for k in (_T.GT, _T.GTE, _T.LT, _T.LTE)}
_EQUALITY_CLASSES = tuple(_P.EQUALITY.values())
_COMPARISON_CLASSES = tuple(_P.COMPARISON.values())
_IS_PREDICATES = (exp.Is, exp.NullSafeEQ, exp.NullSafeNEQ)
_TERM: dict[TokenType, type[exp.Expr]] = {_T.PLUS: _P.TERM[_T.PLUS], _T.DASH: _P.TERM[_T.DASH]}
_FACTOR: dict[TokenType, type[exp.Expr]] = {_T.STAR: _P.FACTOR[_T.STAR], _T.SLASH: _P.FACTOR[_T.SLASH]}
_JOIN_SIDES = frozenset(_P.JOIN_SIDES)
_JOIN_KINDS = frozenset(_P.JOIN_KINDS)

# binding levels, loosest first, as sqlglot's _parse_disjunction ... _parse_factor
_OR, _AND, _EQ, _CMP, _RANGE, _BITWISE, _TERM_LEVEL, _FACTOR_LEVEL = range(1, 9)
_LEVELS: dict[TokenType, int] = {
    _T.OR: _OR,
    _T.AND: _AND,
    **dict.fromkeys(_EQUALITY, _EQ),
    **dict.fromkeys(_COMPARISON, _CMP),
    **dict.fromkeys((_T.BETWEEN, _T.IN, _T.LIKE, _T.ILIKE, _T.IS, _T.NOT), _RANGE),
    _T.DPIPE: _BITWISE,
    **dict.fromkeys(_TERM, _TERM_LEVEL),
    **dict.fromkeys(_FACTOR, _FACTOR_LEVEL),
}
_NEGATABLE = frozenset({_T.BETWEEN, _T.IN, _T.LIKE, _T.ILIKE})
_CONNECTORS: dict[TokenType, type[exp.Expr]] = {_T.OR: _P.DISJUNCTION[_T.OR], _T.AND: _P.CONJUNCTION[_T.AND]}

_DIALECT = ADQL()
_TYPED_DIVISION = _DIALECT.TYPED_DIVISION
_SAFE_DIVISION = _DIALECT.SAFE_DIVISION
_DPIPE_SAFE = not _DIALECT.STRICT_STRING_CONCAT
_HEX_IS_INTEGER = _DIALECT.HEX_STRING_IS_INTEGER_TYPE or None
_NULL_ORDERING = _DIALECT.NULL_ORDERING
_SUPPORTED_SETTINGS = (
    _DIALECT.DPIPE_IS_STRING_CONCAT
    and not _DIALECT.SUPPORTS_ORDER_BY_ALL
    and _DIALECT.ORIGINAL_NAME_META_KEY is None
    and not _DIALECT.NORMALIZE_NOT_NULL
    and not _P.EXPONENT
    and _P.JOINS_HAVE_EQUAL_PRECEDENCE
    and not _P.ADD_JOIN_ON_TRUE
    and not _P.SUPPORTS_IMPLICIT_UNNEST
    and not _P.COLON_IS_VARIANT_EXTRACT
    and not _P.NO_PAREN_FUNCTIONS
    and not _P.NO_PAREN_FUNCTION_PARSERS
    and not _P.PLACEHOLDER_PARSERS
)


class _Bail(Exception):
    """The query is outside the subset: let the full parser handle it."""


def parse(tokens: list[Token], text: str) -> exp.Expr | None:
    """Parse an ADQL query's tokens (ADQL 2.1 §2.2), or return ``None`` when it is outside the fast subset.

    The tree equals ``ADQLParser(error_level=ErrorLevel.IMMEDIATE).parse(tokens, text)[0]``
    in every detail; ``None`` means "use that parser" (which then also reports any error).
    """
    if not _SUPPORTED_SETTINGS or not tokens:
        return None
    if any([token.comments for token in tokens]):
        return None
    types = [token.token_type for token in tokens]
    types += (_SENTINEL, _SENTINEL, _SENTINEL)
    try:
        return _Parser(tokens, types).statement()
    except Exception:  # _Bail, or a case this parser does not know: the full parser decides
        return None


class _Parser:
    __slots__ = ("i", "tokens", "types")

    def __init__(self, tokens: list[Token], types: list[TokenType]) -> None:
        self.tokens = tokens
        self.types = types
        self.i = 0

    # -- statements ------------------------------------------------------------------------

    def statement(self) -> exp.Expr:
        query = self.query()
        if self.types[self.i] is not _SENTINEL:
            raise _Bail
        return query

    def query(self) -> exp.Expr:
        """_parse_statement for ``[WITH ...] SELECT ...``."""
        types = self.types
        if types[self.i] is _T.WITH:
            self.i += 1
            ctes: list[exp.Expr] = []
            while True:
                ctes.append(self.cte())
                if types[self.i] is not _COMMA:
                    break
                self.i += 1
            if types[self.i] is _T.WITH:
                raise _Bail
            with_ = exp.With(expressions=ctes, recursive=None, search=None, cycle=None, udfs=None)
            if types[self.i] is not _T.SELECT:
                raise _Bail
            select = self.select()
            select.set("with_", with_)
            return select
        if types[self.i] is not _T.SELECT:
            raise _Bail
        return self.select()

    def cte(self) -> exp.Expr:
        types = self.types
        if types[self.i] not in _NAME_TYPES or types[self.i + 1] is not _ALIAS:
            raise _Bail
        name = self.identifier()
        alias = exp.TableAlias(this=name, columns=None)
        alias.comments = []  # add_comments(alias.pop_comments())
        self.i += 1  # AS
        if types[self.i] is not _L_PAREN:
            raise _Bail
        query = self.wrapped_select()
        return exp.CTE(this=query, alias=alias, materialized=None, key_expressions=None)

    def wrapped_select(self) -> exp.Expr:
        """``(SELECT ...)`` from its opening parenthesis, which the caller has seen."""
        types = self.types
        if types[self.i + 1] is not _T.SELECT:
            raise _Bail
        self.i += 1
        query = self.select()
        if types[self.i] is not _R_PAREN:
            raise _Bail
        self.i += 1
        return query

    def select(self) -> exp.Select:
        """_parse_select_query from SELECT, then _parse_query_modifiers."""
        types = self.types
        tokens = self.tokens
        select_token = tokens[self.i]
        self.i += 1
        all_ = matched_distinct = False
        if types[self.i + 1] is not _SENTINEL and types[self.i + 1] is not _DOT:
            if types[self.i] is _T.ALL:
                all_ = True
                self.i += 1
            if types[self.i] is _T.DISTINCT:
                matched_distinct = True
                self.i += 1
        if types[self.i] is _ALIAS:
            raise _Bail
        distinct: exp.Expr | None = None
        if matched_distinct:
            distinct = self.distinct()
        limit: exp.Expr | None = None
        if types[self.i] is _T.TOP:
            limit = self.top()
            if not matched_distinct and not all_:
                if types[self.i] is _T.DISTINCT:
                    self.i += 1
                    distinct = self.distinct()
                elif types[self.i] is _T.ALL:
                    all_ = True
                    self.i += 1
        if all_ and distinct:
            raise _Bail
        projections = [self.select_item()]
        while types[self.i] is _COMMA:
            self.i += 1
            projections.append(self.select_item())
        select = exp.Select(
            kind=None,
            hint=None,
            distinct=distinct,
            expressions=projections,
            limit=limit,
            exclude=None,
            operation_modifiers=None,
        )
        select.comments = select_token.comments
        if types[self.i] is _T.FROM:
            self.i += 1
            select.set("from_", exp.From(this=self.table()))
            self.joins(select)
        self.modifiers(select)
        return select

    def distinct(self) -> exp.Expr:
        if self.types[self.i] is _T.ON:
            raise _Bail
        return exp.Distinct(on=None)

    def top(self) -> exp.Expr:
        """_parse_limit(top=True): ``TOP n`` (ADQL 2.1 §2.2.2)."""
        types = self.types
        self.i += 1
        if types[self.i] is not _T.NUMBER and types[self.i] is not _T.HEX_STRING:
            raise _Bail
        number = self.primary()
        if types[self.i] is _T.MOD or types[self.i] is _COMMA or types[self.i] is _T.WITH:
            raise _Bail
        limit = exp.Limit(this=None, expression=number, offset=None, limit_options=None, expressions=None)
        limit.meta["top"] = True
        return limit

    def select_item(self) -> exp.Expr:
        """_parse_expression in a select list: ``*``, ``t.*`` or an expression with an optional alias."""
        types = self.types
        i = self.i
        if types[i] is _STAR:
            if types[i + 1] in _COLUMN_POSTFIX:
                raise _Bail
            self.i += 1
            star = self.star(self.tokens[i])
            self.after_star()
            return star
        if types[i] in _NAME_TYPES and types[i + 1] is _DOT:
            if types[i + 2] is _STAR:
                return self.qualified_star(1)
            if types[i + 2] in _NAME_TYPES and types[i + 3] is _DOT and types[i + 4] is _STAR:
                return self.qualified_star(2)
        this = self.expression(_OR)
        tt = types[self.i]
        if tt is _ALIAS:
            self.i += 1
            if types[self.i] not in _NAME_TYPES:
                raise _Bail
        elif tt not in _NAME_TYPES:
            return this
        if types[self.i + 1] is _L_PAREN:
            raise _Bail
        return exp.Alias(this=this, alias=self.identifier())

    def star(self, token: Token) -> exp.Expr:
        if self.types[self.i] is _T.ILIKE:
            raise _Bail
        star = exp.Star(ilike=None, except_=None, replace=None, rename=None)
        return star.update_positions(token)

    def after_star(self) -> None:
        if self.types[self.i] not in (_COMMA, _T.FROM, _SENTINEL):
            raise _Bail

    def qualified_star(self, parts: int) -> exp.Expr:
        """``t.*`` or ``s.t.*``, as _parse_column_reference and _parse_column_ops build them."""
        column: exp.Expr = exp.Column(this=self.identifier())
        for _ in range(parts):
            self.i += 1  # the dot
            if self.types[self.i] is _STAR:
                star_token = self.tokens[self.i]
                self.i += 1
                field = self.star(star_token)
            else:
                field = self.identifier()
            column = exp.Column(
                this=field, table=column.this, db=column.args.get("table"), catalog=column.args.get("db")
            )
        self.after_star()
        return column

    # -- FROM and JOIN -----------------------------------------------------------------------

    def table(self, *, using: bool = False) -> exp.Expr:
        """_parse_table: ``[catalog.][schema.]table [[AS] alias]`` or ``(SELECT ...) [[AS] alias]``.

        With ``using``, a table followed by ``USING`` (a join condition) is accepted too: sqlglot
        then leaves its fast path for the general one, which gives the Table ``db`` and ``catalog``.
        """
        types = self.types
        if types[self.i] is _L_PAREN:
            return self.derived_table()
        first = self.tokens[self.i]
        parts: list[exp.Expr] = []
        while True:
            if types[self.i] not in _NAME_TYPES:
                raise _Bail
            parts.append(self.identifier())
            if types[self.i] is not _DOT:
                if types[self.i] in _TABLE_POSTFIX:
                    raise _Bail
                break
            self.i += 1
        n = len(parts)
        if n > 3:
            raise _Bail
        tt = types[self.i]
        alias: exp.Expr | None = None
        if tt in _TABLE_TERMINATORS:
            if types[self.i + 1] is _T.MATCH_CONDITION:
                raise _Bail
        elif tt is not _USING:
            if tt is _ALIAS:
                self.i += 1
                tt = types[self.i]
            if tt not in _NAME_TYPES or types[self.i + 1] in _TABLE_POSTFIX:
                raise _Bail
            alias = self.table_alias()
        if types[self.i] in _TABLE_TERMINATORS:
            if n == 1:
                table = exp.Table(this=parts[0])
            elif n == 2:
                table = exp.Table(this=parts[1], db=parts[0])
            else:
                table = exp.Table(this=parts[2], db=parts[1], catalog=parts[0])
        elif using and types[self.i] is _USING and not (first.token_type is _VAR and first.text.upper() == "VALUES"):
            db = parts[-2] if n > 1 else None
            table = exp.Table(this=parts[-1], db=db, catalog=parts[0] if n == 3 else None)
        else:
            raise _Bail
        if alias is not None:
            table.set("alias", alias)
        return table

    def table_alias(self) -> exp.Expr:
        """_parse_table_alias: a name, not followed by a column list."""
        if self.types[self.i + 1] is _L_PAREN:
            raise _Bail
        alias = exp.TableAlias(this=self.identifier(), columns=None)
        alias.comments = []  # add_comments(alias.pop_comments())
        return alias

    def derived_table(self) -> exp.Expr:
        """``(SELECT ...) [[AS] alias]``, as _parse_wrapped_select and _parse_subquery build it (ADQL 2.1 §2.2.3)."""
        types = self.types
        query = self.wrapped_select()
        query.add_comments([], prepend=True)  # the parenthesis' comments
        tt = types[self.i]
        alias: exp.Expr | None = None
        if tt is _ALIAS:
            self.i += 1
            if types[self.i] not in _NAME_TYPES:
                raise _Bail
            alias = self.table_alias()
        elif tt in _NAME_TYPES:
            alias = self.table_alias()
        elif tt not in _TABLE_TERMINATORS:
            raise _Bail
        subquery = exp.Subquery(this=query, pivots=None, alias=alias, sample=None)
        subquery.set("pivots", None)
        return subquery

    def joins(self, select: exp.Expr) -> None:
        """_parse_joins: comma joins (as CROSS joins) and ``[side] [kind] JOIN table [ON cond | USING (names)]``."""
        types = self.types
        tokens = self.tokens
        while True:
            tt = types[self.i]
            if tt is _COMMA:
                self.i += 1
                join = exp.Join(this=self.table())
                join.set("kind", "CROSS")
                select.append("joins", join)
                continue
            side = kind = None
            if tt in _JOIN_SIDES:
                side = tokens[self.i]
                self.i += 1
            if types[self.i] in _JOIN_KINDS:
                kind = tokens[self.i]
                self.i += 1
            if types[self.i] is not _T.JOIN:
                if side or kind:
                    raise _Bail
                return
            self.i += 1
            args: dict[str, Any] = {"this": self.table(using=True)}
            if side:
                args["side"] = side.text.upper()
            if kind:
                args["kind"] = kind.text.upper()
            if types[self.i] is _T.ON:
                self.i += 1
                args["on"] = self.expression(_OR)
            elif types[self.i] is _USING:
                self.i += 1
                args["using"] = self.using()
            elif kind is None or kind.token_type is not _T.CROSS:
                raise _Bail
            args["pivots"] = None
            select.append("joins", exp.Join(**args))

    def using(self) -> list[exp.Expr]:
        """_parse_using_identifiers: ``(name, ...)``, the names as Identifiers."""
        types = self.types
        if types[self.i] is not _L_PAREN:
            raise _Bail
        names = []
        while True:
            self.i += 1
            if types[self.i] not in _NAME_TYPES or types[self.i + 1] not in (_COMMA, _R_PAREN):
                raise _Bail
            names.append(self.identifier())
            if types[self.i] is _R_PAREN:
                self.i += 1
                return names

    def modifiers(self, select: exp.Expr) -> None:
        """_parse_query_modifiers: WHERE, GROUP BY, HAVING, ORDER BY and OFFSET, in any order, once each."""
        types = self.types
        while True:
            tt = types[self.i]
            if tt is _T.WHERE:
                key = "where"
                self.i += 1
                node: exp.Expr = exp.Where(this=self.expression(_OR))
            elif tt is _T.GROUP_BY:
                key = "group"
                self.i += 1
                if types[self.i] in (_T.ALL, _T.DISTINCT) or types[self.i] in _MODIFIER_TOKENS:
                    raise _Bail
                node = exp.Group(expressions=self.expressions())
                if types[self.i] is _T.WITH:
                    raise _Bail
            elif tt is _T.HAVING:
                key = "having"
                self.i += 1
                node = exp.Having(this=self.expression(_OR))
            elif tt is _T.ORDER_BY:
                key = "order"
                self.i += 1
                ordered = [self.ordered()]
                while types[self.i] is _COMMA:
                    self.i += 1
                    ordered.append(self.ordered())
                node = exp.Order(this=None, expressions=ordered, siblings=None)
            elif tt is _T.OFFSET:
                key = "offset"
                self.i += 1
                node = exp.Offset(this=None, expression=self.expression(_TERM_LEVEL))
            else:
                return
            if select.args.get(key):
                raise _Bail
            select.set(key, node)

    def ordered(self) -> exp.Expr:
        types = self.types
        this = self.expression(_OR)
        asc = types[self.i] is _T.ASC
        if asc:
            self.i += 1
        desc: bool | None = None
        if types[self.i] is _T.DESC:
            self.i += 1
            desc = True
        elif asc:
            desc = False
        if types[self.i] is _T.WITH:
            raise _Bail
        nulls_first = bool(
            ((not desc and _NULL_ORDERING == "nulls_are_small") or (desc and _NULL_ORDERING != "nulls_are_small"))
            and _NULL_ORDERING != "nulls_are_last"
        )
        return exp.Ordered(this=this, desc=desc, nulls_first=nulls_first, with_fill=None)

    def expressions(self) -> list[exp.Expr]:
        items = [self.expression(_OR)]
        while self.types[self.i] is _COMMA:
            self.i += 1
            items.append(self.expression(_OR))
        return items

    # -- expressions -------------------------------------------------------------------------

    def expression(self, min_level: int) -> exp.Expr:
        """Operators binding at ``min_level`` or tighter (sqlglot's _parse_disjunction ... _parse_factor)."""
        types = self.types
        left = self.unary()
        ceiling = _FACTOR_LEVEL
        while True:
            tt = types[self.i]
            level = _LEVELS.get(tt)
            if level is None or level < min_level:
                return left
            if level > ceiling:  # after IN (...) or IS NULL sqlglot goes back to the range level
                raise _Bail
            if level == _RANGE:
                left = self.range(left, tt)
                ceiling = _RANGE
                continue
            self.i += 1
            right = self.expression(level + 1)
            if level == _FACTOR_LEVEL:
                left = _FACTOR[tt](this=left, expression=right)
                if tt is _T.SLASH:
                    left.set("typed", _TYPED_DIVISION)
                    left.set("safe", _SAFE_DIVISION)
            elif level == _TERM_LEVEL:
                left = _TERM[tt](this=left, expression=right)
            elif level == _BITWISE:
                left = exp.DPipe(this=left, expression=right, safe=_DPIPE_SAFE)
            elif level == _CMP:
                left = _predicate(_COMPARISON[tt], left, right)
            elif level == _EQ:
                left = _predicate(_EQUALITY[tt], left, right)
            else:
                left = _CONNECTORS[tt](this=left, expression=right)
            ceiling = level

    def range(self, this: exp.Expr, tt: TokenType) -> exp.Expr:
        """One step of _parse_range: ``[NOT] BETWEEN | IN | LIKE | ILIKE`` or ``IS [NOT] NULL``."""
        types = self.types
        negate = tt is _NOT
        if negate:
            self.i += 1
            tt = types[self.i]
            if tt not in _NEGATABLE:
                raise _Bail
        self.i += 1
        node: exp.Expr
        if tt is _T.LIKE:
            node = exp.Like(this=this, expression=self.expression(_BITWISE))
        elif tt is _T.ILIKE:
            node = exp.ILike(this=this, expression=self.expression(_BITWISE))
        elif tt is _T.BETWEEN:
            if isinstance(this, _IS_PREDICATES):
                this = exp.Paren(this=this)
            low = self.expression(_BITWISE)
            if types[self.i] is not _T.AND:
                raise _Bail
            self.i += 1
            node = exp.Between(this=this, low=low, high=self.expression(_BITWISE), symmetric=None)
        elif tt is _T.IN:
            if types[self.i] is not _L_PAREN or types[self.i + 1] in (_T.SELECT, _T.WITH, _R_PAREN):
                raise _Bail
            self.i += 1
            items = self.expressions()
            if types[self.i] is not _R_PAREN:
                raise _Bail
            self.i += 1
            node = exp.In(this=this, expressions=items)
        else:  # IS
            is_not = types[self.i] is _NOT
            if is_not:
                self.i += 1
            if types[self.i] is not _T.NULL:
                raise _Bail
            self.i += 1
            node = _predicate(exp.Is, this, exp.Null(), negate=is_not)
        if negate:
            if isinstance(node, exp.Like | exp.ILike):
                node.set("negate", True)
            else:
                node = exp.Not(this=node)
            if types[self.i] is _NOT or types[self.i] in _RANGE_TOKENS:
                node = exp.Paren(this=node)
        return node

    def unary(self) -> exp.Expr:
        """_parse_unary and _parse_atom: prefix operators, literals, columns, calls, parentheses."""
        types = self.types
        tt = types[self.i]
        if tt in _NAME_TYPES:
            if types[self.i + 1] is _L_PAREN:
                return self.call()
            return self.column()
        if tt is _T.DASH:
            self.i += 1
            return exp.Neg(this=self.unary())
        if tt is _T.PLUS:
            self.i += 1
            return self.unary()
        if tt is _NOT:
            self.i += 1
            return exp.Not(this=self.expression(_EQ))
        if tt is _L_PAREN:
            return self.paren()
        return self.primary()

    def primary(self) -> exp.Expr:
        """A literal (ADQL 2.1 §2.1.4), as sqlglot's PRIMARY_PARSERS build them."""
        types = self.types
        tt = types[self.i]
        following = types[self.i + 1]
        if following in _COLUMN_POSTFIX or (tt is _T.STRING and following is _T.STRING):
            raise _Bail
        node: exp.Expr
        token = self.tokens[self.i] if tt is not _SENTINEL else None
        if token is None:
            raise _Bail
        if tt is _T.NUMBER:
            node = exp.Literal(this=token.text, is_string=False)
            node._meta = _positions(token)
        elif tt is _T.STRING:
            node = exp.Literal(this=token.text, is_string=True)
            node._meta = _positions(token)
        elif tt is _T.HEX_STRING:
            node = exp.HexString(this=token.text, is_integer=_HEX_IS_INTEGER)
            node._meta = _positions(token)
        elif tt is _T.NULL:
            node = exp.Null()
        elif tt is _T.TRUE:
            node = exp.Boolean(this=True)
        elif tt is _T.FALSE:
            node = exp.Boolean(this=False)
        else:
            raise _Bail
        self.i += 1
        return node

    def identifier(self) -> exp.Expr:
        """A name with its position, as _parse_id_var and _parse_column_parts_fast make it."""
        token = self.tokens[self.i]
        text = token.text
        quoted = token.token_type is _IDENTIFIER
        if not quoted and text.upper() in _TEXT_KEYWORDS:
            raise _Bail
        self.i += 1
        identifier = exp.Identifier(this=text, quoted=quoted)
        identifier._meta = _positions(token)
        return identifier

    def column(self) -> exp.Expr:
        """_parse_column_parts_fast: ``a``, ``t.a``, ``s.t.a``, ``c.s.t.a``."""
        types = self.types
        parts = [self.identifier()]
        while types[self.i] is _DOT:
            self.i += 1
            if types[self.i] not in _NAME_TYPES:
                raise _Bail
            parts.append(self.identifier())
        if types[self.i] in _COLUMN_POSTFIX:
            raise _Bail
        n = len(parts)
        if n == 1:
            return exp.Column(this=parts[0])
        if n == 2:
            return exp.Column(this=parts[1], table=parts[0])
        if n == 3:
            return exp.Column(this=parts[2], table=parts[1], db=parts[0])
        if n == 4:
            return exp.Column(this=parts[3], table=parts[2], db=parts[1], catalog=parts[0])
        raise _Bail

    def call(self) -> exp.Expr:
        """_parse_function_call for ``name(args)`` (ADQL 2.1 §2.3), with the dialect's builders."""
        types = self.types
        token = self.tokens[self.i]
        if token.token_type is not _VAR:
            raise _Bail
        name = token.text
        upper = name.upper()
        if upper in _FUNCTION_PARSERS or upper in _TEXT_KEYWORDS:
            raise _Bail
        self.i += 2
        args: list[exp.Expr] = []
        if types[self.i] is not _R_PAREN:
            while True:
                args.append(self.argument())
                tt = types[self.i]
                if tt is _COMMA:
                    self.i += 1
                elif tt is _R_PAREN:
                    break
                else:
                    raise _Bail
        self.i += 1
        if types[self.i] in _COLUMN_POSTFIX:
            raise _Bail
        builder = _FUNCTIONS.get(upper)
        if builder is None:
            result: exp.Expr = exp.Anonymous(this=name, expressions=args)
        else:
            result = builder(args)
            if result.error_messages(args):
                raise _Bail
        result.update_positions(token)
        result.add_comments(None)
        return result

    def argument(self) -> exp.Expr:
        """_parse_lambda: one function argument, ``*`` or ``DISTINCT x``."""
        types = self.types
        tt = types[self.i]
        if tt is _STAR:
            if types[self.i + 1] not in (_COMMA, _R_PAREN):
                raise _Bail
            token = self.tokens[self.i]
            self.i += 1
            return exp.Star(ilike=None, except_=None, replace=None, rename=None).update_positions(token)
        if tt is _T.DISTINCT:
            self.i += 1
            return exp.Distinct(expressions=self.expressions())
        if tt is _T.ALL:
            raise _Bail
        return self.expression(_OR)

    def paren(self) -> exp.Expr:
        """_parse_paren for ``(expression)``."""
        types = self.types
        if types[self.i + 1] in (_T.SELECT, _T.WITH, _R_PAREN):
            raise _Bail
        self.i += 1
        this = self.expression(_OR)
        if types[self.i] is not _R_PAREN:
            raise _Bail
        self.i += 1
        if types[self.i] in _COLUMN_POSTFIX:
            raise _Bail
        paren = exp.Paren(this=this)
        paren.comments = []  # add_comments(the parenthesis' comments)
        return paren


def _positions(token: Token) -> dict[str, Any]:
    """The ``meta`` that ``Expr.update_positions(token)`` gives a new node."""
    return {"line": token.line, "col": token.col, "start": token.start, "end": token.end}


def _predicate(klass: type[exp.Expr], this: exp.Expr, expression: exp.Expr, *, negate: bool = False) -> exp.Expr:
    """sqlglot's _build_predicate: parenthesise IS operands and operands that are IS predicates."""
    if klass is exp.Is:
        if (
            isinstance(this, exp.Connector | exp.Not | exp.NullSafeNEQ)
            or type(this) in _EQUALITY_CLASSES
            or type(this) in _COMPARISON_CLASSES
        ):
            this = exp.Paren(this=this)
        if isinstance(expression, exp.Predicate | exp.Connector | exp.Not | exp.Escape):
            expression = exp.Paren(this=expression)
    else:
        if isinstance(this.this if isinstance(this, exp.Not) else this, _IS_PREDICATES):
            this = exp.Paren(this=this)
        if isinstance(expression.this if isinstance(expression, exp.Not) else expression, _IS_PREDICATES):
            expression = exp.Paren(this=expression)
    predicate = klass(this=this, expression=expression)
    if negate:
        predicate.set("negate", True)
    return predicate
