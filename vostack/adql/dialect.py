"""The ADQL 2.1 dialect of sqlglot: tokenizer, parser and ADQL→ADQL generator.

ADQL (IVOA Astronomical Data Query Language 2.1) is a small subset of SQL-92 plus
``TOP``, ``OFFSET`` and a catalogue of functions.  The dialect is deliberately
based on :class:`sqlglot.dialects.dialect.Dialect` and not on PostgreSQL: its
tokenizer only knows the keywords ADQL has, so PostgreSQL syntax (``::``,
``LIMIT``, ``@>``, ``$$``, ``/* */``) never tokenizes into something the parser
accepts.  Everything the grammar accepts that ADQL does not is refused later by
:mod:`vostack.adql.validate`; PostgreSQL output is produced by
:mod:`vostack.adql.pgsphere`.

Functions
---------
:data:`FUNCTIONS` maps every function name ADQL defines to its argument count.
The math, aggregate and string functions become the matching sqlglot nodes
(``LOG`` is the natural logarithm, ``exp.Ln``; ``LOG10`` is ``exp.Log`` with base
10).  The geometry functions and ``IN_UNIT`` (optional ADQL 2.1 features) and
user-defined functions are parsed as ``exp.Anonymous`` nodes, so that
:mod:`vostack.adql.validate` can check their argument patterns and name them in
its errors; then :func:`vostack.adql.expressions.build_geometry` turns the
geometry calls into their node classes, and :mod:`vostack.adql.resolve` does the
same for ``IN_UNIT`` (which needs the unit of its argument) and user-defined
functions (which need the service's declarations).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from typing import Any, ClassVar

from sqlglot import exp, generator, parser, tokens
from sqlglot.dialects.dialect import Dialect
from sqlglot.dialects.postgres import Postgres
from sqlglot.errors import ErrorLevel, ParseError
from sqlglot.optimizer.annotate_types import TypeAnnotator
from sqlglot.tokenizer_core import Token, TokenType

from vostack.adql import expressions as geo

__all__ = [
    "ADQL",
    "ADQL_RESERVED_WORDS",
    "BINARY_COERCIONS",
    "EXPRESSION_METADATA",
    "FUNCTIONS",
    "GEOMETRY_FUNCTIONS",
    "RESERVED_WORDS",
    "SPHERE_KINDS",
    "SQL_RESERVED_WORDS",
    "ADQLGenerator",
    "ADQLParser",
    "ADQLTokenizer",
    "delimit",
    "parse_statements",
]

#: SQL-92 reserved words (ADQL 2.1 §2.1, SQL reserved keywords); unquoted, never identifiers.
SQL_RESERVED_WORDS = frozenset(
    """
    ABSOLUTE ACTION ADD ALL ALLOCATE ALTER AND ANY ARE AS ASC ASSERTION AT AUTHORIZATION AVG BEGIN
    BETWEEN BIT BIT_LENGTH BOTH BY CASCADE CASCADED CASE CAST CATALOG CHAR CHARACTER
    CHARACTER_LENGTH CHAR_LENGTH CHECK CLOSE COALESCE COLLATE COLLATION COLUMN COMMIT CONNECT
    CONNECTION CONSTRAINT CONSTRAINTS CONTINUE CONVERT CORRESPONDING COUNT CREATE CROSS CURRENT
    CURRENT_DATE CURRENT_TIME CURRENT_TIMESTAMP CURRENT_USER CURSOR DATE DAY DEALLOCATE DECIMAL
    DECLARE DEFAULT DEFERRABLE DEFERRED DELETE DESC DESCRIBE DESCRIPTOR DIAGNOSTICS DISCONNECT
    DISTINCT DOMAIN DOUBLE DROP ELSE END END-EXEC ESCAPE EXCEPT EXCEPTION EXEC EXECUTE EXISTS
    EXTERNAL EXTRACT FALSE FETCH FIRST FLOAT FOR FOREIGN FOUND FROM FULL GET GLOBAL GO GOTO GRANT
    GROUP HAVING HOUR IDENTITY IMMEDIATE IN INDICATOR INITIALLY INNER INPUT INSENSITIVE INSERT INT
    INTEGER INTERSECT INTERVAL INTO IS ISOLATION JOIN KEY LANGUAGE LAST LEADING LEFT LEVEL LIKE
    ILIKE LOCAL LOWER MATCH MAX MIN MINUTE MODULE MONTH NAMES NATIONAL NATURAL NCHAR NEXT NO NOT
    NULL NULLIF NUMERIC OCTET_LENGTH OF ON ONLY OPEN OPTION OR ORDER OUTER OUTPUT OVERLAPS PAD
    PARTIAL POSITION PRECISION PREPARE PRESERVE PRIMARY PRIOR PRIVILEGES PROCEDURE PUBLIC READ REAL
    REFERENCES RELATIVE RESTRICT REVOKE RIGHT ROLLBACK ROWS SCHEMA SCROLL SECOND SECTION SELECT
    SESSION SESSION_USER SET SIZE SMALLINT SOME SPACE SQL SQLCODE SQLERROR SQLSTATE SUBSTRING SUM
    SYSTEM_USER TABLE TEMPORARY THEN TIME TIMESTAMP TIMEZONE_HOUR TIMEZONE_MINUTE TO TRAILING
    TRANSACTION TRANSLATE TRANSLATION TRIM TRUE UNION UNIQUE UNKNOWN UPDATE UPPER USAGE USER USING
    VALUE VALUES VARCHAR VARYING VIEW WHEN WHENEVER WHERE WITH WORK WRITE YEAR ZONE
    """.split()  # noqa: SIM905
)

#: ADQL's own reserved words (ADQL 2.1 §2.1, ADQL reserved keywords, and Appendix A).
ADQL_RESERVED_WORDS = frozenset(
    """
    ABS ACOS AREA ASIN ATAN ATAN2 BIT_AND BIT_NOT BIT_OR BIT_XOR BOX CEILING CENTROID CIRCLE
    CONTAINS COORD1 COORD2 COORDSYS COS COT DEGREES DISTANCE EXP FLOOR ILIKE INTERSECTS IN_UNIT LOG
    LOG10 MOD OFFSET PI POINT POLYGON POWER RADIANS REGION RAND ROUND SIN SQRT TOP TAN TRUNCATE
    """.split()  # noqa: SIM905
)

#: Every word that needs double quotes to be used as an identifier.
RESERVED_WORDS = SQL_RESERVED_WORDS | ADQL_RESERVED_WORDS

#: The geometry functions of ADQL 2.1 (optional feature adqlgeo; REGION takes the simple STC-S shapes in ICRS).
GEOMETRY_FUNCTIONS = frozenset(
    {
        "AREA",
        "BOX",
        "CENTROID",
        "CIRCLE",
        "CONTAINS",
        "COORD1",
        "COORD2",
        "COORDSYS",
        "DISTANCE",
        "INTERSECTS",
        "POINT",
        "POLYGON",
        "REGION",
    }
)

_MANY = 1 << 30

#: Every function ADQL 2.1 defines, with its (minimum, maximum) number of arguments.
FUNCTIONS: dict[str, tuple[int, int]] = {
    # ADQL 2.1 §2.3: mathematical and trigonometrical functions
    "ABS": (1, 1),
    "ACOS": (1, 1),
    "ASIN": (1, 1),
    "ATAN": (1, 1),
    "ATAN2": (2, 2),
    "CEILING": (1, 1),
    "COS": (1, 1),
    "COT": (1, 1),
    "DEGREES": (1, 1),
    "EXP": (1, 1),
    "FLOOR": (1, 1),
    "LOG": (1, 1),
    "LOG10": (1, 1),
    "MOD": (2, 2),
    "PI": (0, 0),
    "POWER": (2, 2),
    "RADIANS": (1, 1),
    "RAND": (0, 1),
    "ROUND": (1, 2),
    "SIN": (1, 1),
    "SQRT": (1, 1),
    "TAN": (1, 1),
    "TRUNCATE": (1, 2),
    # set functions (aggregates)
    "AVG": (1, 1),
    "COUNT": (1, 1),
    "MAX": (1, 1),
    "MIN": (1, 1),
    "SUM": (1, 1),
    # optional ADQL 2.1 features: string functions, conditional functions, units
    "LOWER": (1, 1),
    "UPPER": (1, 1),
    "COALESCE": (1, _MANY),
    "IN_UNIT": (2, 2),
    # optional ADQL 2.1 feature: geometry
    "AREA": (1, 1),
    "BOX": (3, 5),
    "CENTROID": (1, 1),
    "CIRCLE": (2, 4),
    "CONTAINS": (2, 2),
    "COORD1": (1, 1),
    "COORD2": (1, 1),
    "COORDSYS": (1, 1),
    "DISTANCE": (2, 4),
    "INTERSECTS": (2, 2),
    "POINT": (2, 3),
    "POLYGON": (3, _MANY),
    "REGION": (1, 1),
}

_Builder = Callable[[list[exp.Expr]], exp.Expr]


def _unary(klass: type[exp.Func]) -> _Builder:
    return lambda args: klass(this=args[0])


def _binary(klass: type[exp.Func]) -> _Builder:
    return lambda args: klass(this=args[0], expression=args[1])


def _log10(args: list[exp.Expr]) -> exp.Expr:
    return exp.Log(this=exp.Literal.number(10), expression=args[0])


def _mod(args: list[exp.Expr]) -> exp.Expr:
    this, other = (exp.Paren(this=a) if isinstance(a, exp.Binary) else a for a in args)
    return exp.Mod(this=this, expression=other)


def _rand(args: list[exp.Expr]) -> exp.Expr:
    return exp.Rand(this=args[0] if args else None)


def _decimals(klass: type[exp.Func]) -> _Builder:
    return lambda args: klass(this=args[0], decimals=args[1] if len(args) > 1 else None)


def _count(args: list[exp.Expr]) -> exp.Expr:
    return exp.Count(this=args[0], big_int=True)


def _coalesce(args: list[exp.Expr]) -> exp.Expr:
    return exp.Coalesce(this=args[0], expressions=args[1:])


_BUILDERS: dict[str, _Builder] = {
    "ABS": _unary(exp.Abs),
    "ACOS": _unary(exp.Acos),
    "ASIN": _unary(exp.Asin),
    "ATAN": _unary(exp.Atan),
    "ATAN2": _binary(exp.Atan2),
    "CEILING": _unary(exp.Ceil),
    "COS": _unary(exp.Cos),
    "COT": _unary(exp.Cot),
    "DEGREES": _unary(exp.Degrees),
    "EXP": _unary(exp.Exp),
    "FLOOR": _unary(exp.Floor),
    "LOG": _unary(exp.Ln),
    "LOG10": _log10,
    "MOD": _mod,
    "PI": lambda args: exp.Pi(),
    "POWER": _binary(exp.Pow),
    "RADIANS": _unary(exp.Radians),
    "RAND": _rand,
    "ROUND": _decimals(exp.Round),
    "SIN": _unary(exp.Sin),
    "SQRT": _unary(exp.Sqrt),
    "TAN": _unary(exp.Tan),
    "TRUNCATE": _decimals(exp.Trunc),
    "AVG": _unary(exp.Avg),
    "COUNT": _count,
    "MAX": _unary(exp.Max),
    "MIN": _unary(exp.Min),
    "SUM": _unary(exp.Sum),
    "LOWER": _unary(exp.Lower),
    "UPPER": _unary(exp.Upper),
    "COALESCE": _coalesce,
}


def _checked(name: str, build: _Builder | None) -> Callable[[list[exp.Expr]], exp.Expr]:
    """A builder that keeps calls with a wrong argument count as ``exp.Anonymous``."""
    low, high = FUNCTIONS[name]

    def build_checked(args: list[exp.Expr]) -> exp.Expr:
        if build is None or not low <= len(args) <= high:
            return exp.Anonymous(this=name, expressions=args)
        return build(args)

    return build_checked


_DT = exp.DType
_INTEGERS = frozenset({_DT.SMALLINT, _DT.INT, _DT.BIGINT})
_FLOATS = frozenset({_DT.FLOAT, _DT.DOUBLE})


def _arg_type(expression: exp.Expr, key: str = "this") -> exp.DType:
    arg = expression.args.get(key)
    return arg.type.this if isinstance(arg, exp.Expr) and arg.type is not None else _DT.UNKNOWN


def _typed(expression: exp.Expr, dtype: exp.DType | exp.DataType) -> exp.Expr:
    """``expression`` with its type set (what an ``EXPRESSION_METADATA`` annotator returns)."""
    expression.type = dtype if isinstance(dtype, exp.DataType) else dtype.into_expr()
    return expression


#: sqlglot's own rule for arithmetic operators (the annotator its ``EXPRESSION_METADATA`` gives ``-``).
_BINARY: Callable[[TypeAnnotator, exp.Expr], exp.Expr] = Postgres.EXPRESSION_METADATA[exp.Sub]["annotator"]


def _annotate_sum(self: TypeAnnotator, expression: exp.Expr) -> exp.Expr:
    arg = _arg_type(expression)
    if isinstance(expression.this, exp.Distinct) and expression.this.expressions:
        inner = expression.this.expressions[0]
        arg = inner.type.this if inner.type is not None else _DT.UNKNOWN
    return _typed(expression, _DT.BIGINT if arg in _INTEGERS else _DT.FLOAT if arg == _DT.FLOAT else _DT.DOUBLE)


def _annotate_mod(self: TypeAnnotator, expression: exp.Mod) -> exp.Expr:
    if _arg_type(expression) in _INTEGERS and _arg_type(expression, "expression") in _INTEGERS:
        return _BINARY(self, expression)
    return _typed(expression, _DT.DOUBLE)


def _annotate_hex(self: TypeAnnotator, expression: exp.HexString) -> exp.Expr:
    # PostgreSQL types an integer literal by its size; ADQL hex literals are integers (ADQL 2.1 §2.1.4)
    value = int(expression.this or "0", 16)
    return _typed(expression, _DT.INT if value <= 2**31 - 1 else _DT.BIGINT)


def _annotate_udf(self: TypeAnnotator, expression: exp.Expr) -> exp.Expr:
    returns = expression.meta.get("returns")
    return _typed(expression, returns.copy() if isinstance(returns, exp.DataType) else _DT.UNKNOWN)


def _annotate_literal(self: TypeAnnotator, expression: exp.Literal) -> exp.Expr:
    # PostgreSQL types an integer literal by its size (int, bigint, numeric); strings are text, the rest double
    if expression.is_string:
        return _typed(expression, _DT.VARCHAR)
    if not expression.is_int:
        return _typed(expression, _DT.DOUBLE)
    value = int(expression.this)
    return _typed(expression, _DT.INT if value <= 2**31 - 1 else _DT.BIGINT if value <= 2**63 - 1 else _DT.DECIMAL)


_CASE: Callable[[TypeAnnotator, exp.Expr], exp.Expr] = Postgres.EXPRESSION_METADATA[exp.Case]["annotator"]


def _annotate_case(self: TypeAnnotator, expression: exp.Case) -> exp.Expr:
    # branches of one geometry type give that type (sqlglot's rule does not know pgSphere's types)
    branches = [branch.args.get("true") for branch in expression.args.get("ifs") or ()]
    branches.append(expression.args.get("default"))
    kinds = {geo.geometry_kind(b.type) for b in branches if b is not None and not isinstance(b, exp.Null)}
    if len(kinds) == 1 and None not in kinds:
        return _typed(expression, geo.sphere_type(kinds.pop() or ""))
    return _CASE(self, expression)


def _sphere(kind: str) -> Callable[[TypeAnnotator, exp.Expr], exp.Expr]:
    return lambda self, expression: _typed(expression, geo.sphere_type(kind))


#: The pgSphere type of the value of each geometry constructor (ADQL 2.1 §4.2).
SPHERE_KINDS: dict[type[exp.Expr], str] = {
    geo.ADQLPoint: geo.POINT,
    geo.ADQLCentroid: geo.POINT,
    geo.ADQLCircle: geo.CIRCLE,
    geo.ADQLPolygon: geo.POLYGON,
    geo.ADQLBox: geo.POLYGON,
}

#: Result types of ADQL expressions as translated to PostgreSQL (used with sqlglot's
#: ``annotate_types``): PostgreSQL's own rules (``sqlglot.typing.postgres``) plus the
#: functions whose translation returns ``double precision`` (ADQL 2.1 §2.3), ``SUM``
#: as PostgreSQL types it, and ``||`` giving text.
EXPRESSION_METADATA: dict[type[exp.Expr], dict[str, Any]] = {
    **Postgres.EXPRESSION_METADATA,
    **{
        klass: {"returns": _DT.DOUBLE}
        for klass in (
            exp.Acos,
            exp.Asin,
            exp.Atan,
            exp.Atan2,
            exp.Avg,
            exp.Cos,
            exp.Cot,
            exp.Degrees,
            exp.Exp,
            exp.Ln,
            exp.Log,
            exp.Pi,
            exp.Pow,
            exp.Radians,
            exp.Rand,
            exp.Round,
            exp.Sin,
            exp.Sqrt,
            exp.Tan,
            exp.Trunc,
        )
    },
    exp.Sum: {"annotator": _annotate_sum},
    exp.Mod: {"annotator": _annotate_mod},
    # ADQL division follows SQL (and PostgreSQL): integer / integer is an integer
    exp.Div: {"annotator": _BINARY},
    exp.DPipe: {"returns": _DT.TEXT},
    # ADQL 2.1 §4.2: geometry values are pgSphere values, the functions return numbers
    **{klass: {"annotator": _sphere(kind)} for klass, kind in SPHERE_KINDS.items()},
    geo.ADQLContains: {"returns": _DT.INT},
    geo.ADQLIntersects: {"returns": _DT.INT},
    geo.ADQLDistance: {"returns": _DT.DOUBLE},
    geo.ADQLArea: {"returns": _DT.DOUBLE},
    geo.ADQLCoord1: {"returns": _DT.DOUBLE},
    geo.ADQLCoord2: {"returns": _DT.DOUBLE},
    geo.ADQLCoordSys: {"returns": _DT.TEXT},
    geo.SphereOperator: {"returns": _DT.BOOLEAN},
    geo.ADQLInUnit: {"returns": _DT.DOUBLE},
    geo.ADQLUserFunction: {"annotator": _annotate_udf},
    geo.DaliGeometry: {"annotator": lambda self, e: _typed(e, geo.sphere_type(e.args["kind"].this))},
    exp.HexString: {"annotator": _annotate_hex},
    exp.Literal: {"annotator": _annotate_literal},
    exp.Case: {"annotator": _annotate_case},
}

#: PostgreSQL turns ``real`` combined with an integer or ``numeric`` into ``double precision``.
BINARY_COERCIONS = {
    **TypeAnnotator.BINARY_COERCIONS,
    **{
        pair: (lambda left, right: _DT.DOUBLE)
        for other in (_DT.SMALLINT, _DT.INT, _DT.BIGINT, _DT.DECIMAL)
        for pair in ((_DT.FLOAT, other), (other, _DT.FLOAT))
    },
}


class ADQLTokenizer(tokens.Tokenizer):
    """Tokenizer knowing only ADQL's keywords, ``--`` comments and ``0x`` literals (ADQL 2.1 §2.1)."""

    KEYWORDS: ClassVar[dict[str, TokenType]] = {
        "SELECT": TokenType.SELECT,
        "FROM": TokenType.FROM,
        "WHERE": TokenType.WHERE,
        "GROUP BY": TokenType.GROUP_BY,
        "HAVING": TokenType.HAVING,
        "ORDER BY": TokenType.ORDER_BY,
        "ASC": TokenType.ASC,
        "DESC": TokenType.DESC,
        "AS": TokenType.ALIAS,
        "ALL": TokenType.ALL,
        "DISTINCT": TokenType.DISTINCT,
        "TOP": TokenType.TOP,
        "OFFSET": TokenType.OFFSET,
        "AND": TokenType.AND,
        "OR": TokenType.OR,
        "NOT": TokenType.NOT,
        "BETWEEN": TokenType.BETWEEN,
        "LIKE": TokenType.LIKE,
        "ILIKE": TokenType.ILIKE,
        "IN": TokenType.IN,
        "IS": TokenType.IS,
        "NULL": TokenType.NULL,
        "EXISTS": TokenType.EXISTS,
        "JOIN": TokenType.JOIN,
        "INNER": TokenType.INNER,
        "LEFT": TokenType.LEFT,
        "RIGHT": TokenType.RIGHT,
        "FULL": TokenType.FULL,
        "OUTER": TokenType.OUTER,
        "NATURAL": TokenType.NATURAL,
        "CROSS": TokenType.CROSS,
        "USING": TokenType.USING,
        "ON": TokenType.ON,
        "UNION": TokenType.UNION,
        "EXCEPT": TokenType.EXCEPT,
        "INTERSECT": TokenType.INTERSECT,
        "WITH": TokenType.WITH,
        "TRUE": TokenType.TRUE,
        "FALSE": TokenType.FALSE,
        # CASE, an extension of vostack's (ADQL 2.1 has no CASE; see vostack.adql.features)
        "CASE": TokenType.CASE,
        "WHEN": TokenType.WHEN,
        "THEN": TokenType.THEN,
        "ELSE": TokenType.ELSE,
        "END": TokenType.END,
        # the CAST target types of ADQL 2.1 (POINT, CIRCLE, POLYGON are user-defined types)
        "SMALLINT": TokenType.SMALLINT,
        "INTEGER": TokenType.INT,
        "BIGINT": TokenType.BIGINT,
        "REAL": TokenType.FLOAT,
        "DOUBLE PRECISION": TokenType.DOUBLE,
        "CHAR": TokenType.CHAR,
        "VARCHAR": TokenType.VARCHAR,
        "TIMESTAMP": TokenType.TIMESTAMP,
        # operators made of several characters
        "||": TokenType.DPIPE,
        ">=": TokenType.GTE,
        "<=": TokenType.LTE,
        "<>": TokenType.NEQ,
        "!=": TokenType.NEQ,
    }
    COMMENTS: ClassVar[list[str | tuple[str, str]]] = ["--"]
    HEX_STRINGS: ClassVar[list[str | tuple[str, str]]] = [("0x", ""), ("0X", "")]
    COMMANDS: ClassVar[set[TokenType]] = set()
    NESTED_COMMENTS = False


class ADQLParser(parser.Parser):
    """sqlglot's parser restricted to ADQL's functions, predicates and clauses (ADQL 2.1 Appendix A)."""

    LOG_DEFAULTS_TO_LN = True
    STRICT_CAST = True
    # a comma in FROM becomes an explicit CROSS JOIN, so that "a JOIN b" (no condition) stays recognisable
    JOINS_HAVE_EQUAL_PRECEDENCE = True

    FUNCTIONS: ClassVar[dict[str, Callable[..., Any]]] = {
        name: _checked(name, _BUILDERS.get(name)) for name in FUNCTIONS
    }
    FUNCTION_PARSERS: ClassVar[dict[str, Callable[..., Any]]] = {
        "CAST": parser.Parser.FUNCTION_PARSERS["CAST"],
    }
    NO_PAREN_FUNCTIONS: ClassVar[dict[Any, Any]] = {}
    NO_PAREN_FUNCTION_PARSERS: ClassVar[dict[str, Callable[..., Any]]] = {
        "CASE": parser.Parser.NO_PAREN_FUNCTION_PARSERS["CASE"],
    }
    STATEMENT_PARSERS: ClassVar[dict[Any, Callable[..., Any]]] = {}
    RANGE_PARSERS: ClassVar[dict[Any, Callable[..., Any]]] = {
        key: parser.Parser.RANGE_PARSERS[key]
        for key in (TokenType.BETWEEN, TokenType.ILIKE, TokenType.IN, TokenType.IS, TokenType.LIKE)
    }
    QUERY_MODIFIER_PARSERS: ClassVar[dict[Any, Callable[..., Any]]] = {
        key: parser.Parser.QUERY_MODIFIER_PARSERS[key]
        for key in (TokenType.WHERE, TokenType.GROUP_BY, TokenType.HAVING, TokenType.ORDER_BY)
    } | {TokenType.OFFSET: parser.Parser.QUERY_MODIFIER_PARSERS[TokenType.OFFSET]}
    QUERY_MODIFIER_TOKENS: ClassVar[set[Any]] = set(QUERY_MODIFIER_PARSERS)
    COLUMN_OPERATORS: ClassVar[dict[Any, Any]] = {
        TokenType.DOT: parser.Parser.COLUMN_OPERATORS[TokenType.DOT],
    }
    PLACEHOLDER_PARSERS: ClassVar[dict[Any, Callable[..., Any]]] = {}


def _function(name: str) -> Callable[[generator.Generator, exp.Expr], str]:
    def render(self: generator.Generator, expression: exp.Expr) -> str:
        args: Sequence[exp.Expr | None] = [expression.this, *expression.expressions]
        if isinstance(expression, exp.Binary | exp.Atan2 | exp.Pow):
            args = [expression.this, expression.expression]
        elif isinstance(expression, exp.Round | exp.Trunc):
            args = [expression.this, expression.args.get("decimals")]
        elif isinstance(expression, exp.Log):
            args = [expression.expression]
        return self.func(name, *args)

    return render


def _geometry(self: generator.Generator, expression: geo.ADQLFunction) -> str:
    return self.func(expression.adql_name, *expression.adql_args())


class ADQLGenerator(generator.Generator):
    """Writes a tree back as ADQL (``TOP n``, ADQL function names), for round trips and messages."""

    LIMIT_IS_TOP = True

    TRANSFORMS: ClassVar[dict[type[exp.Expr], Callable[..., str]]] = {
        **generator.Generator.TRANSFORMS,
        exp.Ceil: _function("CEILING"),
        exp.Ln: _function("LOG"),
        exp.Log: _function("LOG10"),
        exp.Mod: _function("MOD"),
        exp.Pow: _function("POWER"),
        exp.Rand: _function("RAND"),
        exp.Trunc: _function("TRUNCATE"),
        exp.HexString: lambda self, e: f"0x{e.this}",
        **{klass: _geometry for klass in geo.ADQL_FUNCTION_CLASSES},
        geo.ADQLInUnit: _geometry,
        geo.ADQLUserFunction: lambda self, e: self.func(e.name, *e.expressions),
    }
    TYPE_MAPPING: ClassVar[dict[Any, str]] = {
        **generator.Generator.TYPE_MAPPING,
        exp.DType.INT: "INTEGER",
        exp.DType.FLOAT: "REAL",
        exp.DType.DOUBLE: "DOUBLE PRECISION",
    }


class ADQL(Dialect):
    """The ADQL 2.1 dialect (IVOA Recommendation, ADQL 2.1 §2).

    Regular identifiers are case-insensitive and delimited ones (``"..."``) exact
    (§2.1); vostack resolves names itself (:mod:`vostack.adql.resolve`), so the
    normalization strategy only matters to sqlglot helpers.
    """

    EXPRESSION_METADATA = EXPRESSION_METADATA
    HEX_STRING_IS_INTEGER_TYPE = True
    NORMALIZE_NOT_NULL = False
    NULL_ORDERING = "nulls_are_large"
    NORMALIZE_FUNCTIONS = False  # user-defined function names are written as given
    TYPED_DIVISION = True
    SAFE_DIVISION = False

    Tokenizer = ADQLTokenizer
    Parser = ADQLParser
    Generator = ADQLGenerator


def parse_statements(tokens: list[Token], text: str) -> list[exp.Expr]:
    """The statements ADQLParser reads from ``tokens`` (ADQL 2.1 Appendix A); a ParseError on the first error.

    The error's ``errors[0]`` gets ``start`` (the offset of the token it is about) and ``at_end``
    (the query ended where more was expected), for :mod:`vostack.adql.errormap`.
    """
    try:
        return _statements(tokens, text)
    except ParseError as exc:
        if exc.errors:
            offset = _error_offset(exc)
            at_end = False
            if tokens and offset == tokens[-1].start:
                # the parser reports a missing token at the last one it read: read the tokens again with
                # one more; unless the same token is reported again, the query ended too early
                end = Token(TokenType.UNKNOWN, "", line=tokens[-1].line, col=tokens[-1].col, start=len(text))
                at_end = True
                try:
                    _statements([*tokens, end], text)
                except ParseError as again:
                    at_end = not again.errors or _error_offset(again) >= len(text)
                except Exception:  # the parser read past the last token and failed on the one added
                    at_end = True
            exc.errors[0].update(start=offset, text=exc.errors[0].get("highlight") or "", at_end=at_end)
        raise


def _statements(tokens: list[Token], text: str) -> list[exp.Expr]:
    # the whole text as context: the length of the context before the highlighted token is its offset
    reader = ADQLParser(dialect=ADQL, error_level=ErrorLevel.IMMEDIATE, error_message_context=len(text) + 1)
    return [statement for statement in reader.parse(tokens, text) if statement]


def _error_offset(exc: ParseError) -> int:
    return len(exc.errors[0].get("start_context") or "")


_REGULAR_IDENTIFIER = re.compile(r"[a-z][a-z0-9_]*\Z")


def delimit(name: str) -> str:
    """The ADQL spelling of a database identifier (ADQL 2.1 §2.1.3).

    A lower-case regular identifier that is not a reserved word stays as it
    is; anything else (``size``, ``Mag``, ``two words``) is delimited, the way
    TAP_SCHEMA publishes it (TAP 1.1 §4.3).
    """
    if _REGULAR_IDENTIFIER.match(name) and name.upper() not in RESERVED_WORDS:
        return name
    return '"' + name.replace('"', '""') + '"'


def require_interpreted_sqlglot() -> None:
    """Fail at import, clearly, when sqlglot's compiled build (``sqlglotc``, ``sqlglot[c]``) is installed.

    That build refuses Python subclasses of its parser, generator and expression classes, which the ADQL
    dialect is made of; without this check every query would fail deep inside the translation.
    """
    try:
        ADQLParser()
        geo.ADQLPoint()
    except TypeError as exc:
        raise ImportError(
            "vostack.adql needs the pure-Python sqlglot: the compiled build installed here (sqlglotc, from "
            f"'sqlglot[c]') does not allow the ADQL dialect's subclasses ({exc}); run 'pip uninstall sqlglotc'"
        ) from exc
