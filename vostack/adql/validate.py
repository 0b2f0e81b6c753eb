"""Refuse everything that is not ADQL 2.1: a token check and an allow-list walk of the tree.

sqlglot's parser accepts far more than ADQL (it is built to read many SQL
dialects).  This module is what makes vostack strict: :func:`check_tokens` runs
on the token stream (characters and words ADQL lacks, reserved words used as
names, ``LIMIT``, ``::``, several statements), and :func:`check_query` walks the
parsed tree with an explicit case for every construct the ADQL 2.1 grammar
(Appendix A) has; anything else is an error.  No schema is needed: this is the
syntax check behind :func:`vostack.adql.parse`.  Names are checked against the
published tables later, by :mod:`vostack.adql.resolve`.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import cast

from sqlglot import exp
from sqlglot.tokenizer_core import Token, TokenType

from vostack.adql.dialect import FUNCTIONS, GEOMETRY_FUNCTIONS, RESERVED_WORDS, ADQLTokenizer
from vostack.adql.errormap import node_offset, semantic_error, syntax_error
from vostack.adql.expressions import chain, node_role
from vostack.errors import ADQLError

__all__ = [
    "MAX_BIGINT",
    "MAX_NESTING",
    "MAX_POLYGON_VERTICES",
    "MAX_QUERY_LENGTH",
    "REGULAR_IDENTIFIER",
    "Checked",
    "check_query",
    "check_tokens",
    "parse_udf_signatures",
]

#: The largest TOP, OFFSET and hexadecimal literal (PostgreSQL ``bigint``).
MAX_BIGINT = 2**63 - 1
#: pgSphere's limit on the vertices of a polygon (``MAX_POINTS`` in its sources).
MAX_POLYGON_VERTICES = 1024
#: Longer query texts are refused before tokenizing (HTTP 413): translation time grows with the text
#: (about 0.7 s for 10,000 ORs, 140 kB).  As many characters as the bytes of a service's default limit on
#: request parameters (vostack.config, request_limit), so that the service's limit is the one clients meet.
MAX_QUERY_LENGTH = 1_048_576
#: How deep parentheses may nest (function calls, subqueries, grouping): the translator's passes recurse
#: that deep.  Long chains of one operator (``a OR b OR ...``) and long lists are not nesting.
MAX_NESTING = 32

#: ADQL 2.1 §2.1: a regular identifier starts with a Latin letter.
REGULAR_IDENTIFIER = re.compile(r"[A-Za-z][A-Za-z0-9_]*\Z")

_ALLOWED_TOKENS = frozenset(ADQLTokenizer.KEYWORDS.values()) | {
    TokenType.VAR,
    TokenType.IDENTIFIER,
    TokenType.STRING,
    TokenType.NUMBER,
    TokenType.HEX_STRING,
    TokenType.L_PAREN,
    TokenType.R_PAREN,
    TokenType.COMMA,
    TokenType.DOT,
    TokenType.DASH,
    TokenType.PLUS,
    TokenType.STAR,
    TokenType.SLASH,
    TokenType.EQ,
    TokenType.GT,
    TokenType.LT,
    TokenType.AMP,
    TokenType.PIPE,
    TokenType.CARET,
    TokenType.TILDE,
    TokenType.SEMICOLON,
}

#: Allowed tokens that need no look at their neighbours (the loop of check_tokens skips them).
_PLAIN_TOKENS = _ALLOWED_TOKENS - {
    TokenType.SEMICOLON,
    TokenType.VAR,
    TokenType.COMMA,
    TokenType.IDENTIFIER,
    TokenType.TOP,
    TokenType.OFFSET,
    TokenType.NOT,
}

_NOT_AFTER_COMMA = frozenset(
    {
        TokenType.R_PAREN,
        TokenType.FROM,
        TokenType.WHERE,
        TokenType.GROUP_BY,
        TokenType.HAVING,
        TokenType.ORDER_BY,
        TokenType.OFFSET,
        TokenType.SEMICOLON,
    }
)

_TOKEN_HINTS = {
    TokenType.COLON: "':' is not ADQL (for a cast, write CAST(x AS type))",
    TokenType.MOD: "'%' is not an ADQL operator (write MOD(x, y))",
    TokenType.L_BRACKET: "'[' is not ADQL",
    TokenType.R_BRACKET: "']' is not ADQL",
    TokenType.L_BRACE: "'{' is not ADQL",
    TokenType.R_BRACE: "'}' is not ADQL",
    TokenType.NATIONAL_STRING: "N'...' strings are not ADQL",
}

_GEOMETRY_VALUES = frozenset({"BOX", "CENTROID", "CIRCLE", "POINT", "POLYGON", "REGION"})
_PREDICATES = (exp.EQ, exp.NEQ, exp.GT, exp.GTE, exp.LT, exp.LTE, exp.Between, exp.Like, exp.ILike)
_ARITHMETIC = (
    exp.Add,
    exp.Sub,
    exp.Mul,
    exp.Div,
    exp.DPipe,
    exp.BitwiseAnd,
    exp.BitwiseOr,
    exp.BitwiseXor,
)
_FUNCTIONS = (
    exp.Abs,
    exp.Acos,
    exp.Asin,
    exp.Atan,
    exp.Atan2,
    exp.Ceil,
    exp.Cos,
    exp.Cot,
    exp.Degrees,
    exp.Exp,
    exp.Floor,
    exp.Ln,
    exp.Log,
    exp.Mod,
    exp.Pi,
    exp.Pow,
    exp.Radians,
    exp.Sin,
    exp.Sqrt,
    exp.Tan,
    exp.Lower,
    exp.Upper,
    exp.Coalesce,
)
_AGGREGATES = (exp.Count, exp.Avg, exp.Max, exp.Min, exp.Sum)
_CAST_TYPES = frozenset(
    {
        exp.DType.SMALLINT,
        exp.DType.INT,
        exp.DType.BIGINT,
        exp.DType.FLOAT,
        exp.DType.DOUBLE,
        exp.DType.CHAR,
        exp.DType.VARCHAR,
        exp.DType.TIMESTAMP,
    }
)
_CAST_GEOMETRY_TYPES = frozenset({"POINT", "CIRCLE", "POLYGON"})
_SELECT_ARGS = frozenset(
    {"expressions", "distinct", "limit", "from_", "joins", "where", "group", "having", "order", "offset"}
)
_SIGNATURE = re.compile(r"\s*([A-Za-z][A-Za-z0-9_]*)\s*(?:\((.*)\))?")


def parse_udf_signatures(udfs: Sequence[str]) -> dict[str, int | None]:
    """Map declared user-defined functions to their argument count (``None``: not known).

    Each entry is a function name or a TAPRegExt ``form`` such as
    ``ivo_healpix_index(hpxOrder INTEGER, long REAL, lat REAL) -> BIGINT``
    (ADQL 2.1 user-defined functions, TAPRegExt 1.0 ``languageFeatures``).
    """
    declared: dict[str, int | None] = {}
    for udf in udfs:
        match = _SIGNATURE.match(udf)
        if not match:
            continue
        args = match.group(2)
        count = None if args is None else (len(args.split(",")) if args.strip() else 0)
        declared[match.group(1).upper()] = count
    return declared


def _check_nesting(tokens: Sequence[Token], text: str) -> None:
    """Refuse parentheses (calls, subqueries, grouping) nested deeper than :data:`MAX_NESTING`."""
    depth = 0
    for token in tokens:
        kind = token.token_type
        if kind is _L_PAREN:
            depth += 1
            if depth > MAX_NESTING:
                raise syntax_error(
                    f"the query nests parentheses (function calls, subqueries) more than {MAX_NESTING} levels deep",
                    text,
                    token.start,
                )
        elif kind is TokenType.R_PAREN:
            depth -= 1


def check_tokens(tokens: Sequence[Token], text: str) -> None:
    """Refuse characters, words and statement separators that ADQL 2.1 §2.1 does not have."""
    if text.count("(") > MAX_NESTING:
        _check_nesting(tokens, text)
    last = len(tokens) - 1
    first = tokens[0] if tokens else None
    if first is not None and first.token_type not in (TokenType.SELECT, TokenType.WITH, TokenType.L_PAREN):
        raise syntax_error(f"an ADQL query starts with SELECT (or WITH); {first.text!r} is not ADQL", text, first.start)
    for index, token in enumerate(tokens):
        kind = token.token_type
        if kind in _PLAIN_TOKENS:
            continue
        following = tokens[index + 1] if index < last else None
        if kind == _VAR:
            # fast paths for the words _check_word lets through: names that are not reserved, and calls
            # of functions with reserved names (an ASCII identifier not starting with "_" is a
            # REGULAR_IDENTIFIER); every other word gets the full check
            word = token.text
            upper = word.upper()
            if (
                upper not in _CHECKED_WORDS
                or (upper not in _SPECIAL_WORDS and following is not None and following.token_type == _L_PAREN)
            ) and (word.isascii() and word.isidentifier() and word[0] != "_"):
                continue
            previous = tokens[index - 1] if index else None
            _check_word(token, previous, following, text)
        elif kind == _SEMICOLON:
            if index != last:
                raise syntax_error("only one query is allowed", text, token.start)
        elif kind == _COMMA and (following is None or following.token_type in _NOT_AFTER_COMMA):
            raise syntax_error("unexpected ','", text, token.start)
        elif kind == TokenType.IDENTIFIER:
            if text[token.start : token.start + 1] != '"':
                raise syntax_error(f"invalid hexadecimal literal {token.text!r}", text, token.start)
            if not token.text:
                raise syntax_error("empty delimited identifier", text, token.start)
        elif kind in (TokenType.TOP, TokenType.OFFSET) and (
            following is None or following.token_type != TokenType.NUMBER
        ):
            word = "TOP" if kind == TokenType.TOP else "OFFSET"
            raise syntax_error(f"{word} must be followed by an unsigned integer", text, token.start)
        elif kind == TokenType.OFFSET and index + 2 <= last and tokens[index + 2].text.upper() == "ROW":
            # sqlglot reads SQL:2008's "OFFSET n ROW"; ADQL 2.1 §2.2 has "OFFSET n" only (ROWS is a reserved word)
            raise syntax_error("OFFSET takes a number of rows without ROW", text, tokens[index + 2].start)
        elif kind == TokenType.NOT and token.text == "!":
            raise syntax_error("'!' is not ADQL (write NOT or <>)", text, token.start)
        elif kind not in _ALLOWED_TOKENS:
            if kind == TokenType.COLON and following and following.token_type == TokenType.COLON:
                message = "'::' casts are not ADQL (write CAST(x AS type))"
            else:
                message = _TOKEN_HINTS.get(kind, f"{token.text!r} is not ADQL")
            raise syntax_error(message, text, token.start)


#: Words with a rule of their own in _check_word, and all the words it looks at more closely.
_SPECIAL_WORDS = frozenset({"LIMIT", "RECURSIVE", "OVER"})
_CHECKED_WORDS = RESERVED_WORDS | _SPECIAL_WORDS
_VAR = TokenType.VAR
_L_PAREN = TokenType.L_PAREN
_SEMICOLON = TokenType.SEMICOLON
_COMMA = TokenType.COMMA


def _check_word(token: Token, previous: Token | None, following: Token | None, text: str) -> None:
    word = token.text
    upper = word.upper()
    call = following is not None and following.token_type == TokenType.L_PAREN
    if (
        upper in _CAST_GEOMETRY_TYPES
        and previous is not None
        and previous.token_type == TokenType.ALIAS
        and following is not None
        and following.token_type == TokenType.R_PAREN
    ):
        return  # CAST(x AS POINT)
    if upper == "LIMIT" and following is not None and following.token_type == TokenType.NUMBER:
        raise syntax_error("LIMIT is not ADQL (write SELECT TOP n)", text, token.start)
    if upper == "RECURSIVE" and previous is not None and previous.token_type == TokenType.WITH:
        raise syntax_error("WITH RECURSIVE is not ADQL", text, token.start)
    if upper == "OVER" and call:
        raise syntax_error("window functions (OVER) are not ADQL", text, token.start)
    if not REGULAR_IDENTIFIER.match(word):
        raise syntax_error(
            f"invalid name {word!r}: ADQL names start with a letter and contain only letters, "
            "digits and '_' (put other names in double quotes)",
            text,
            token.start,
        )
    if upper in RESERVED_WORDS and not call:
        raise syntax_error(_reserved_message(word), text, token.start)


def _reserved_message(word: str) -> str:
    return f"{word!r} is a reserved word in ADQL: write it in double quotes to use it as a name"


@dataclass(slots=True)
class Checked:
    """What :func:`check_query` learnt on its walk of a valid tree.

    ``geometry_calls`` are the calls of geometry functions (outer calls before
    inner ones, for :func:`vostack.adql.expressions.build_geometry`);
    ``literal_error`` is the error :func:`vostack.adql.translate` raises for a
    string where ADQL wants a number (see :func:`check_literal_types`).
    """

    geometry_calls: list[exp.Anonymous]
    literal_error: ADQLError | None


def check_query(tree: exp.Expr, text: str, udfs: Mapping[str, int | None]) -> Checked:
    """Check that ``tree`` only uses ADQL 2.1 constructs (ADQL 2.1 Appendix A).

    Raises :class:`~vostack.errors.ADQLSyntaxError` for constructs outside the
    grammar and :class:`~vostack.errors.ADQLSemanticError` for calls of functions
    that are neither ADQL's nor declared user-defined functions (names starting
    with ``ivo_``, reserved for IVOA-defined functions, are accepted as such).
    One walk of the whole tree also finds the geometry calls and the string
    operands of numeric operators (:class:`Checked`).
    """
    checker = _Checker(text, udfs)
    if not isinstance(tree, exp.Query):
        raise syntax_error("an ADQL query starts with SELECT (or WITH)", text, node_offset(tree))
    checker.query(tree, top=True)
    calls: list[exp.Anonymous] = []
    literal_error = None
    roles = _ROLES
    expr = exp.Expr
    identifier = exp.Identifier
    # every node in pre-order (as expressions.nodes lists them), without building the list
    stack: list[exp.Expr] = [tree]
    pop, push = stack.pop, stack.append
    while stack:
        node = pop()
        args = node.args
        role = roles.get(node.__class__)
        if role is None:
            role = node_role(node.__class__, (exp.Identifier, exp.Anonymous, _NUMERIC, exp.Column), roles)
        if role == _COLUMN:
            # a column's names are leaves: checked here, in the order the walk visits them; anything
            # else below the column (after the names checked so far) makes it walk the column's arguments
            for value in args.values():
                if value is None:
                    continue
                if type(value) is not identifier:
                    break
                names = value.args
                name = names.get("this")
                quoted = names.get("quoted", False)
                if type(name) is not str or type(quoted) is not bool or not names.keys() <= _IDENTIFIER_ARGS:
                    break
                if not quoted and name.upper() in RESERVED_WORDS:
                    raise syntax_error(_reserved_message(name), text, node_offset(value))
            else:
                continue
        elif role == _IDENTIFIER:
            this = args.get("this")
            if not args.get("quoted"):
                name = this if isinstance(this, str) else node.name  # node.name, without its look-ups
                if name.upper() in RESERVED_WORDS:
                    raise syntax_error(_reserved_message(name), text, node_offset(node))
            if type(this) is str and type(args.get("quoted", False)) is bool and args.keys() <= _IDENTIFIER_ARGS:
                continue  # the usual identifier: a name and a flag, no nodes below it
        elif role == _CALL:
            this = args.get("this")
            if isinstance(this, str) and this.upper() in GEOMETRY_FUNCTIONS:
                calls.append(cast(exp.Anonymous, node))
        elif role == _NUMERIC_OPERATOR and literal_error is None:
            literal_error = _string_operand(node, text)
        for value in reversed(args.values()):
            if isinstance(value, expr):
                push(value)
            elif isinstance(value, list):
                for item in reversed(value):
                    if isinstance(item, expr):
                        push(item)
    return Checked(calls, literal_error)


# What check_query's walk looks at in a node (expressions.node_role of Identifier, Anonymous, _NUMERIC, Column)
_IDENTIFIER, _CALL, _NUMERIC_OPERATOR, _COLUMN = 1, 2, 3, 4
_IDENTIFIER_ARGS = frozenset({"this", "quoted"})
_ROLES: dict[type, int] = {}


class _Checker:
    def __init__(self, text: str, udfs: Mapping[str, int | None]) -> None:
        self.text = text
        self.udfs = udfs

    def fail(self, message: str, node: exp.Expr | None) -> Exception:
        return syntax_error(message, self.text, node_offset(node))

    def adql(self, node: exp.Expr) -> str:
        try:
            return node.sql()
        except Exception:  # pragma: no cover - only used for messages
            return type(node).__name__

    # -- queries -----------------------------------------------------------------------------

    def query(self, node: exp.Expr, *, top: bool = False) -> None:
        with_ = node.args.get("with_")
        if with_ is not None:
            if not top:
                raise self.fail("WITH is only allowed at the start of the whole query", with_)
            self.with_(with_)
        if isinstance(node, exp.Subquery):
            if node.args.get("alias") is not None or not isinstance(node.this, exp.Query):
                raise self.fail(f"unexpected {self.adql(node)!r}", node)
            self.query(node.this)
            self.modifiers(node)
        elif isinstance(node, exp.Select):
            self.select(node)
        elif isinstance(node, exp.Union | exp.Except | exp.Intersect):
            extra = {k for k, v in node.args.items() if v and k not in _SETOP_ARGS}
            if extra:
                raise self.fail(f"unexpected {' '.join(sorted(extra))} in a set operation", node)
            self.query(node.this)
            self.query(node.expression)
            self.modifiers(node)
        else:
            raise self.fail(f"{self.adql(node)!r} is not an ADQL query", node)

    def with_(self, node: exp.Expr) -> None:
        if node.args.get("recursive"):
            raise self.fail("recursive common table expressions are not ADQL", node)
        for cte in node.expressions:
            if not isinstance(cte, exp.CTE) or cte.args.get("materialized") is not None:
                raise self.fail(f"unexpected {self.adql(cte)!r} in WITH", cte)
            alias = cte.args.get("alias")
            if not isinstance(alias, exp.TableAlias) or not isinstance(alias.this, exp.Identifier):
                raise self.fail("a common table expression needs a name", cte)
            for column in alias.columns:
                if not isinstance(column, exp.Identifier):
                    raise self.fail(f"unexpected {self.adql(column)!r}", column)
            self.query(cte.this)

    def modifiers(self, node: exp.Expr) -> None:
        order = node.args.get("order")
        if order is not None:
            self.order(order)
        limit = node.args.get("limit")
        if limit is not None:
            self.top(limit)
        offset = node.args.get("offset")
        if offset is not None:
            self.offset(offset)

    def select(self, node: exp.Select) -> None:
        extra = {k for k, v in node.args.items() if v and k not in _SELECT_ARGS and k != "with_"}
        if extra:
            raise self.fail(f"{' '.join(sorted(extra)).upper()} is not ADQL", node)
        distinct = node.args.get("distinct")
        if distinct is not None and distinct.args.get("on") is not None:
            raise self.fail("DISTINCT ON is not ADQL", distinct)
        if not node.expressions:
            raise self.fail("SELECT needs a list of columns", node)
        for item in node.expressions:
            self.projection(item)
        from_ = node.args.get("from_")
        if from_ is None:
            raise syntax_error("FROM clause missing: ADQL queries read from tables", self.text, None)
        self.from_item(from_.this)
        for join in node.args.get("joins") or ():
            self.join(join)
        where = node.args.get("where")
        if where is not None:
            self.condition(where.this)
        group = node.args.get("group")
        if group is not None:
            extra = {k for k, v in group.args.items() if v and k != "expressions"}
            if extra:
                raise self.fail(f"GROUP BY {' '.join(sorted(extra)).upper()} is not ADQL", group)
            if not group.expressions:
                raise self.fail("GROUP BY needs at least one column", group)
            for term in group.expressions:
                self.value(term)
        having = node.args.get("having")
        if having is not None:
            self.condition(having.this)
        self.modifiers(node)

    def projection(self, item: exp.Expr) -> None:
        if isinstance(item, exp.Star):
            if item.args.get("except_") or item.args.get("replace") or item.args.get("rename"):
                raise self.fail(f"{self.adql(item)!r} is not ADQL", item)
        elif isinstance(item, exp.Column) and isinstance(item.this, exp.Star):
            self.column(item)
        elif isinstance(item, exp.Alias):
            if not isinstance(item.args.get("alias"), exp.Identifier):
                raise self.fail(f"unexpected {self.adql(item)!r}", item)
            if isinstance(item.this, exp.Star) or (
                isinstance(item.this, exp.Column) and isinstance(item.this.this, exp.Star)
            ):
                raise self.fail(f"{self.adql(item.this)!r} cannot have an alias", item)
            self.value(item.this)
        else:
            self.value(item)

    def order(self, order: exp.Expr) -> None:
        for term in order.expressions:
            if not isinstance(term, exp.Ordered) or term.args.get("with_fill"):
                raise self.fail(f"unexpected {self.adql(term)!r} in ORDER BY", term)
            self.value(term.this)

    def top(self, limit: exp.Expr) -> None:
        if (
            not isinstance(limit, exp.Limit)
            or not limit.meta.get("top")
            or limit.args.get("offset") is not None
            or limit.args.get("limit_options") is not None
            or limit.args.get("expressions")
        ):
            raise self.fail(f"unexpected {self.adql(limit)!r}", limit)
        if not _is_unsigned_integer(limit.expression):
            raise self.fail("TOP must be followed by an unsigned integer", limit.expression or limit)
        if int(limit.expression.this) > MAX_BIGINT:
            raise self.fail(f"TOP must be at most {MAX_BIGINT}", limit.expression)

    def offset(self, offset: exp.Expr) -> None:
        if not _is_unsigned_integer(offset.expression):
            raise self.fail("OFFSET must be followed by an unsigned integer", offset.expression or offset)
        if int(offset.expression.this) > MAX_BIGINT:
            raise self.fail(f"OFFSET must be at most {MAX_BIGINT}", offset.expression)

    # -- FROM ----------------------------------------------------------------------------------

    def from_item(self, item: exp.Expr) -> None:
        if isinstance(item, exp.Table):
            self.table(item)
        elif isinstance(item, exp.Subquery):
            inner = item.this
            if isinstance(inner, exp.Query):
                alias = item.args.get("alias")
                if alias is None:
                    raise self.fail("a subquery in FROM needs a name (… ) AS name", item)
                self.table_alias(alias)
                self.query(inner)
            elif isinstance(inner, exp.Table | exp.Subquery):
                # a parenthesised join: "(a JOIN b ON …)"
                if item.args.get("alias") is not None:
                    raise self.fail("a parenthesised join cannot have a name", item)
                self.from_item(inner)
            else:
                raise self.fail(f"unexpected {self.adql(item)!r} in FROM", item)
            for join in item.args.get("joins") or ():
                self.join(join)
        else:
            raise self.fail(f"unexpected {self.adql(item)!r} in FROM", item)

    def table(self, table: exp.Table) -> None:
        name = table.this
        if isinstance(name, exp.Func) or not isinstance(name, exp.Identifier):
            if isinstance(name, exp.Func):
                written = name.name if isinstance(name, exp.Anonymous) else name.sql_name()
                raise semantic_error(f"unknown table {written!r}", self.text, table)
            raise self.fail(f"invalid table name {self.adql(table)!r}", table)
        extra = {k for k, v in table.args.items() if v and k not in ("this", "db", "catalog", "alias", "joins")}
        if extra:
            raise self.fail(f"unexpected {self.adql(table)!r} in FROM", table)
        alias = table.args.get("alias")
        if alias is not None:
            self.table_alias(alias)
        for join in table.args.get("joins") or ():
            self.join(join)

    def table_alias(self, alias: exp.Expr) -> None:
        if not isinstance(alias, exp.TableAlias) or not isinstance(alias.this, exp.Identifier):
            raise self.fail(f"invalid name {self.adql(alias)!r}", alias)
        if alias.columns:
            raise self.fail("column lists after a table name are not ADQL", alias)

    def join(self, join: exp.Expr) -> None:
        if not isinstance(join, exp.Join):
            raise self.fail(f"unexpected {self.adql(join)!r}", join)
        extra = {k for k, v in join.args.items() if v and k not in ("this", "on", "using", "side", "kind", "method")}
        if extra:
            raise self.fail(f"unexpected {' '.join(sorted(extra)).upper()} in a join", join)
        side = (join.args.get("side") or "").upper()
        kind = (join.args.get("kind") or "").upper()
        method = (join.args.get("method") or "").upper()
        on = join.args.get("on")
        using = join.args.get("using")
        if side not in ("", "LEFT", "RIGHT", "FULL") or kind not in ("", "INNER", "OUTER", "CROSS"):
            raise self.fail(f"{side} {kind} JOIN is not ADQL".strip(), join)
        if method not in ("", "NATURAL"):
            raise self.fail(f"{method} JOIN is not ADQL", join)
        if kind == "INNER" and side:
            raise self.fail(f"{side} INNER JOIN is not ADQL", join)
        if kind == "CROSS" and (side or method or on is not None or using):
            raise self.fail("CROSS JOIN takes no join condition", join)
        if method and (on is not None or using):
            raise self.fail("NATURAL JOIN takes no join condition", join)
        self.from_item(join.this)
        if on is not None:
            self.condition(on)
        for column in using or ():
            identifier = column.this if isinstance(column, exp.Column) and not column.table else column
            if not isinstance(identifier, exp.Identifier):
                raise self.fail(f"USING takes column names, not {self.adql(column)!r}", column)

    # -- search conditions and values --------------------------------------------------------

    def condition(self, node: exp.Expr) -> None:
        if isinstance(node, exp.And | exp.Or):
            for operand in chain(node):
                self.condition(operand)
        elif isinstance(node, exp.Not | exp.Paren):
            self.condition(node.this)
        elif isinstance(node, _PREDICATES):
            if node.args.get("escape") or node.args.get("symmetric"):
                raise self.fail(f"{self.adql(node)!r} is not ADQL", node)
            for operand in node.iter_expressions():
                self.value(operand)
        elif isinstance(node, exp.In):
            self.in_(node)
        elif isinstance(node, exp.Is):
            if not isinstance(node.expression, exp.Null):
                raise self.fail("IS must be followed by NULL or NOT NULL", node.expression)
            self.value(node.this)
        elif isinstance(node, exp.Exists):
            if not isinstance(node.this, exp.Query) or node.expressions:
                raise self.fail("EXISTS must be followed by a subquery", node)
            self.query(node.this)
        elif isinstance(node, exp.Boolean):
            return
        elif isinstance(node, exp.Anonymous) and self.is_udf(node):
            self.function(node)
        else:
            raise self.fail(_not_a_condition(node, self.adql(node)), node)

    def in_(self, node: exp.In) -> None:
        extra = {k for k, v in node.args.items() if v and k not in ("this", "expressions", "query")}
        if extra:
            raise self.fail(f"{self.adql(node)!r} is not ADQL", node)
        self.value(node.this)
        query = node.args.get("query")
        if query is not None:
            if not isinstance(query, exp.Subquery) or not isinstance(query.this, exp.Query):
                raise self.fail("IN must be followed by a list of values or a subquery", query)
            self.query(query.this)
        elif not node.expressions:
            raise self.fail("IN needs at least one value", node)
        for value in node.expressions:
            self.value(value)

    def value(self, node: exp.Expr | None) -> None:
        if node is None:
            raise syntax_error("a value is missing", self.text, None)
        late = _LATE_VALUES.get(node.__class__)  # the branch the tests below would reach, found at once
        if late == _CALL:
            self.function(cast(exp.Anonymous, node))
        elif late == _AGGREGATE:
            self.aggregate(node)
        elif late == _FUNCTION:
            for arg in node.iter_expressions():
                self.value(arg)
        elif isinstance(node, exp.Column):
            if isinstance(node.this, exp.Star):
                raise self.fail(f"{self.adql(node)!r} is only allowed in the select list", node)
            self.column(node)
        elif isinstance(node, exp.HexString):
            if len(node.this.lstrip("0")) > 16 or int(node.this or "0", 16) > MAX_BIGINT:
                raise self.fail("hexadecimal literals are 64-bit integers: at most 0x7FFFFFFFFFFFFFFF", node)
        elif isinstance(node, exp.Literal | exp.Null | exp.Boolean):
            return
        elif isinstance(node, exp.Concat) and all(_is_string(arg) for arg in node.expressions):
            return  # 'a' 'b': an SQL-92 string literal continued over several quoted parts
        elif isinstance(node, exp.Neg | exp.BitwiseNot | exp.Paren):
            self.value(node.this)
        elif isinstance(node, _ARITHMETIC):
            operands = chain(node)
            for operand in operands:
                self.value(operand)
            if isinstance(node, exp.DPipe):
                for operand in operands:
                    if _geometry_value(operand):
                        raise self.fail("geometries cannot be concatenated with ||", operand)
        elif isinstance(node, exp.Subquery):
            if node.args.get("alias") is not None or not isinstance(node.this, exp.Query):
                raise self.fail(f"unexpected {self.adql(node)!r}", node)
            self.query(node.this)
        elif isinstance(node, exp.Cast):
            self.cast(node)
        elif isinstance(node, exp.Case):
            self.case(node)
        elif isinstance(node, exp.Round | exp.Trunc):
            self.value(node.this)
            decimals = node.args.get("decimals")
            if decimals is not None and not _is_signed_integer(decimals):
                raise self.fail("the second argument of ROUND/TRUNCATE is an integer literal", decimals)
            if node.args.get("truncate") is not None or node.args.get("unit") is not None:
                raise self.fail(f"{self.adql(node)!r} is not ADQL", node)
        elif isinstance(node, exp.Rand):
            seed = node.this
            if seed is not None and not _is_unsigned_integer(seed):
                raise self.fail("RAND takes an optional unsigned integer", seed)
        elif isinstance(node, _AGGREGATES):
            self.aggregate(node)
        elif isinstance(node, _FUNCTIONS):
            for arg in node.iter_expressions():
                self.value(arg)

        elif isinstance(node, exp.Anonymous):
            self.function(node)
        elif isinstance(node, exp.Star):
            raise self.fail("'*' is only allowed in the select list and in COUNT(*)", node)
        elif isinstance(node, exp.Dot):
            raise self.fail(f"too many qualifiers in {self.adql(node)!r}", node)
        elif isinstance(node, (*_PREDICATES, exp.In, exp.Is, exp.Exists, exp.And, exp.Or, exp.Not)):
            raise self.fail(
                f"{self.adql(node)!r} is a condition: ADQL allows conditions only in WHERE, HAVING and ON",
                node,
            )
        else:
            raise self.fail(f"{self.adql(node)!r} is not ADQL", node)

    def column(self, node: exp.Column) -> None:
        args = node.args
        for key in ("catalog", "db", "table", "this"):  # node.parts, without building the list
            part = args.get(key)
            if part and part.__class__ is not _IDENTIFIER_CLASS and not isinstance(part, exp.Identifier | exp.Star):
                raise self.fail(f"invalid column reference {self.adql(node)!r}", node)

    def case(self, node: exp.Case) -> None:
        """``CASE WHEN condition THEN value ... [ELSE value] END`` and ``CASE value WHEN value THEN value ...
        END`` (SQL-92 §6.9): an extension of vostack's, declared in TAPRegExt (vostack.adql.features)."""
        extra = {k for k, v in node.args.items() if v and k not in ("this", "ifs", "default")}
        if extra or not node.args.get("ifs"):
            raise self.fail(f"{self.adql(node)!r} is not ADQL", node)
        operand = node.args.get("this")
        if operand is not None:
            self.value(operand)
        for branch in node.args["ifs"]:
            if not isinstance(branch, exp.If) or {k for k, v in branch.args.items() if v} - {"this", "true"}:
                raise self.fail(f"{self.adql(branch)!r} is not a WHEN ... THEN ... branch", branch)
            if operand is None:
                self.condition(branch.this)
            else:
                self.value(branch.this)
            self.value(branch.args.get("true"))
        default = node.args.get("default")
        if default is not None:
            self.value(default)

    def cast(self, node: exp.Cast) -> None:
        extra = {k for k, v in node.args.items() if v and k not in ("this", "to")}
        if extra:
            raise self.fail(f"{self.adql(node)!r} is not ADQL", node)
        self.value(node.this)
        to = node.args.get("to")
        ok = isinstance(to, exp.DataType) and (
            to.this in _CAST_TYPES
            or (to.this == exp.DType.USERDEFINED and str(to.args.get("kind", "")).upper() in _CAST_GEOMETRY_TYPES)
        )
        if ok and isinstance(to, exp.DataType) and to.this not in (exp.DType.CHAR, exp.DType.VARCHAR):
            ok = not to.expressions
        elif ok and isinstance(to, exp.DataType):
            # CHAR(n), VARCHAR(n): one unsigned integer length
            ok = len(to.expressions) <= 1 and all(
                isinstance(p, exp.DataTypeParam) and _is_unsigned_integer(p.this) for p in to.expressions
            )
        if not ok:
            written = self.adql(to) if isinstance(to, exp.Expr) else "?"
            raise self.fail(
                f"cannot CAST to {written}: ADQL casts to SMALLINT, INTEGER, BIGINT, "
                "REAL, DOUBLE PRECISION, CHAR(n), VARCHAR(n), TIMESTAMP, POINT, CIRCLE "
                "or POLYGON",
                node,
            )

    def aggregate(self, node: exp.Expr) -> None:
        arg = node.this
        extra = {k for k, v in node.args.items() if v and k not in ("this", "big_int")}
        if extra:
            raise self.fail(f"{self.adql(node)!r} is not ADQL", node)
        if isinstance(arg, exp.Star):
            if not isinstance(node, exp.Count):
                raise self.fail("only COUNT accepts '*'", arg)
            return
        if isinstance(arg, exp.Distinct):
            if len(arg.expressions) != 1 or arg.args.get("on") is not None:
                raise self.fail(f"{self.adql(node)!r} is not ADQL", node)
            arg = arg.expressions[0]
        self.value(arg)

    def is_udf(self, node: exp.Anonymous) -> bool:
        name = node.name.upper()
        return name not in FUNCTIONS and (name in self.udfs or name.startswith("IVO_"))

    def function(self, node: exp.Anonymous) -> None:
        written = node.this  # node.name, known to be this string
        if not isinstance(written, str):
            raise self.fail("function names cannot be delimited identifiers", node)
        name = written.upper()
        args = node.expressions
        if name in FUNCTIONS:
            low, high = FUNCTIONS[name]
            if not low <= len(args) <= high:
                expected = str(low) if low == high else f"{low} to {high}" if high < 100 else f"{low} or more"
                raise self.fail(f"{name} takes {expected} argument{'s' if high != 1 else ''}, not {len(args)}", node)
            if name in GEOMETRY_FUNCTIONS:
                self.geometry(node, name, args)
            elif name == "IN_UNIT" and not (isinstance(args[1], exp.Literal) and args[1].is_string):
                raise self.fail("the second argument of IN_UNIT is a unit string", args[1])
        elif name in self.udfs:
            count = self.udfs[name]
            if count is not None and count != len(args):
                raise self.fail(f"{node.name} takes {count} arguments, not {len(args)}", node)
        elif not name.startswith("IVO_"):
            known = [*FUNCTIONS, *self.udfs]
            close = difflib.get_close_matches(name, known, n=2, cutoff=0.7)
            hint = f" (did you mean {' or '.join(close)}?)" if close else ""
            raise semantic_error(f"unknown function {node.name!r}{hint}", self.text, node)
        for arg in args:
            self.value(arg)

    def geometry(self, node: exp.Expr, name: str, args: list[exp.Expr]) -> None:
        """The argument patterns of the geometry functions (ADQL 2.1 Appendix A)."""
        coords = args[1:] if args and _is_coordsys(args[0]) else args
        if name == "POINT":
            ok = len(coords) == 2
        elif name == "CIRCLE":
            ok = len(coords) == 3 or (len(coords) == 2 and not _is_literal(coords[0]))
        elif name == "BOX":
            ok = len(coords) == 4 or (len(coords) == 3 and not _is_literal(coords[0]))
        elif name == "POLYGON":
            numeric = any(_is_literal(arg) for arg in coords)
            ok = len(coords) >= 6 and len(coords) % 2 == 0 if numeric else len(coords) >= 3
            if len(coords) > 2 * MAX_POLYGON_VERTICES:
                raise self.fail(f"a POLYGON has at most {MAX_POLYGON_VERTICES} vertices", node)
        elif name == "DISTANCE":
            ok = len(args) in (2, 4)
        elif name == "REGION":
            ok = _is_string(args[0]) or not _is_literal(args[0])
        else:
            ok = True
        if not ok:
            raise self.fail(f"wrong arguments for {name}: {self.adql(node)}", node)


_STRING_FUNCTIONS = (exp.Lower, exp.Upper, exp.Coalesce)
_IDENTIFIER_CLASS = exp.Identifier

# _Checker.value tests a node against these classes (in this order) before the aggregates, the functions and
# exp.Anonymous; a node whose class is exactly one of those late ones and none of these goes to its branch at once
_EARLY_VALUES = (
    exp.Column,
    exp.HexString,
    exp.Literal,
    exp.Null,
    exp.Boolean,
    exp.Concat,
    exp.Neg,
    exp.BitwiseNot,
    exp.Paren,
    *_ARITHMETIC,
    exp.Subquery,
    exp.Cast,
    exp.Round,
    exp.Trunc,
    exp.Rand,
)
_AGGREGATE, _FUNCTION = 5, 6  # (and _CALL)
_LATE_VALUES: dict[type, int] = {}
for _late, _kind, _before in (
    (_AGGREGATES, _AGGREGATE, _EARLY_VALUES),
    (_FUNCTIONS, _FUNCTION, (*_EARLY_VALUES, *_AGGREGATES)),
    ((exp.Anonymous,), _CALL, (*_EARLY_VALUES, *_AGGREGATES, *_FUNCTIONS)),
):
    for _klass in _late:
        if not issubclass(_klass, _before):
            _LATE_VALUES.setdefault(_klass, _kind)


def _unparen(node: exp.Expr) -> exp.Expr:
    while isinstance(node, exp.Paren):
        node = node.this
    return node


_SETOP_ARGS = frozenset({"this", "expression", "distinct", "order", "limit", "offset", "with_"})


_NUMERIC = (*_ARITHMETIC, *_FUNCTIONS, exp.Avg, exp.Sum)
_NOT_NUMERIC = (exp.DPipe, *_STRING_FUNCTIONS)


def _string_operand(node: exp.Expr, text: str) -> ADQLError | None:
    """The error for a string literal where ADQL 2.1 §2.3 wants numbers (``'a' - 1``, ``SQRT('4')``).

    The grammar allows them (and the IVOA test suite expects them to parse); PostgreSQL would fail
    on them with a less helpful message, so :func:`vostack.adql.translate` refuses them first.
    """
    if isinstance(node, _NOT_NUMERIC):
        return None
    for operand in node.iter_expressions():
        if _is_string(_unparen(operand)):
            return semantic_error(f"{node.sql()!r} takes numbers, not strings", text, operand)
    return None


def _not_a_condition(node: exp.Expr, written: str) -> str:
    if isinstance(node, exp.Anonymous) and node.name.upper() in ("CONTAINS", "INTERSECTS"):
        return f"{node.name.upper()}(…) is a number: compare it with 1 or 0"
    return f"{written!r} is not a condition"


def _is_unsigned_integer(node: exp.Expr | None) -> bool:
    return isinstance(node, exp.Literal) and not node.is_string and node.this.isdigit()


def _is_signed_integer(node: exp.Expr | None) -> bool:
    if isinstance(node, exp.Neg):
        node = node.this
    return _is_unsigned_integer(node)


def _is_string(node: exp.Expr) -> bool:
    return isinstance(node, exp.Literal) and node.is_string


def _is_literal(node: exp.Expr) -> bool:
    if isinstance(node, exp.Neg):
        node = node.this
    return isinstance(node, exp.Literal) and not node.is_string


def _is_coordsys(node: exp.Expr) -> bool:
    return isinstance(node, exp.Null) or (isinstance(node, exp.Literal) and node.is_string)


def _geometry_value(node: exp.Expr) -> bool:
    while isinstance(node, exp.Paren):
        node = node.this
    return isinstance(node, exp.Anonymous) and node.name.upper() in _GEOMETRY_VALUES
