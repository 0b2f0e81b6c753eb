"""vostack.adql.lexer produces exactly ADQLTokenizer's tokens, or declines.

Every test is differential: the same text goes to ``lexer.tokenize`` and to
``ADQLTokenizer().tokenize``; when the lexer returns tokens they must agree with sqlglot's in
every field (type, text, line, col, start, end, comments), and when sqlglot raises the lexer
must have declined (returned None).
"""

from __future__ import annotations

import re
from collections.abc import Callable

import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st
from sqlglot.errors import TokenError
from sqlglot.tokenizer_core import Token, TokenType

from vostack.adql import ADQLSyntaxError, lexer, parse
from vostack.adql.dialect import ADQL, RESERVED_WORDS, ADQLTokenizer
from vostack.adql.validate import _check_word, check_tokens

from .test_fastparse import BENCHMARK, FIXTURES, TEST_STRINGS, queries
from .test_lyonetia import QUERIES as SUITE_QUERIES
from .test_lyonetia import SUITE

_FIELDS = ("token_type", "text", "line", "col", "start", "end", "comments")


def _fields(tokens: list[Token]) -> list[tuple[object, ...]]:
    return [tuple(getattr(token, name) for name in _FIELDS) for token in tokens]


def agrees(text: str) -> bool:
    """Compare the lexer with sqlglot's tokenizer on ``text``; True when the lexer read it."""
    fast = lexer.tokenize(text)
    try:
        full = ADQLTokenizer().tokenize(text)
    except TokenError:
        assert fast is None, f"the lexer read what sqlglot's tokenizer refuses: {text!r}"
        return False
    if fast is None:
        return False
    assert _fields(fast) == _fields(full), text
    return True


def test_the_tokenizer_tables_are_what_the_lexer_expects() -> None:
    for key, token_type in ADQLTokenizer.KEYWORDS.items():  # words, two-word phrases and operators
        singles = all(char in ADQLTokenizer.SINGLE_TOKENS for char in key)
        assert key.isidentifier() or len(key.split()) == 2 or singles, key
        assert token_type != TokenType.SENTINEL
    phrases = [key.split() for key in ADQLTokenizer.KEYWORDS if " " in key]
    assert phrases and all(len(words) == 2 and words[0].isalpha() and words[1].isalpha() for words in phrases)
    assert not {words[0] for words in phrases} & set(ADQLTokenizer.KEYWORDS)  # a first word is not a keyword itself
    assert "N" not in ADQLTokenizer.KEYWORDS and "N'" in ADQLTokenizer._FORMAT_STRINGS
    assert ADQLTokenizer._COMMENTS == {"--": None} and ADQLTokenizer._QUOTES == {"'": "'"}
    assert ADQLTokenizer._IDENTIFIERS == {'"': '"'} and ADQLTokenizer.STRING_ESCAPES == ["'"]
    assert not ADQLTokenizer.COMMANDS and not ADQLTokenizer.NUMERIC_LITERALS
    assert all(char in ADQLTokenizer.SINGLE_TOKENS for char in "(),.-+*/=<>|&^~;")
    assert not ADQL.UNESCAPED_SEQUENCES and not ADQL.NUMBERS_CAN_BE_UNDERSCORE_SEPARATED
    assert not ADQL.IDENTIFIERS_CAN_START_WITH_DIGIT


# -- corpora ---------------------------------------------------------------------------------


def test_benchmark_queries_are_read_as_sqlglot_reads_them() -> None:
    for name, text in BENCHMARK.items():
        assert agrees(text), name


def test_fixture_queries_are_read_as_sqlglot_reads_them() -> None:
    assert FIXTURES and all(agrees(text) for text in FIXTURES)


def test_unit_test_queries_agree_and_are_mostly_read() -> None:
    read = sum(agrees(text) for text in TEST_STRINGS)
    assert read > 0.85 * len(TEST_STRINGS)  # the rest are mostly errors: '::', '%', unterminated strings, …


@pytest.mark.skipif(not SUITE_QUERIES, reason=f"no lyonetia ADQL suite at {SUITE}")
def test_lyonetia_queries_agree_and_are_mostly_read() -> None:
    valid = [str(param.values[1]) for param in SUITE_QUERIES if param.values[0]]
    invalid = [str(param.values[1]) for param in SUITE_QUERIES if not param.values[0]]
    assert sum(agrees(text) for text in valid) > 0.98 * len(valid)
    assert sum(agrees(text) for text in invalid) > 0.9 * len(invalid)


# -- the corners of sqlglot's tokenizer --------------------------------------------------------

READ = [
    "SELECT a FROM t",
    "select Top 5 a.b, \"c\" from s.t as x where y <> 1 and z != 2 or u <= 3 and v >= 4 || 'w'",
    "SELECT a\n  FROM t\n WHERE\tb = 1\n",
    "SELECT a\r\nFROM t\r\nWHERE b = 'x\r\ny'\r\n",
    "SELECT 1, 1.5, 1., 1.e5, 1e5, 1E-3, 1e+3, 2.5e10, 0x1F, 0XaB, .5, a.5",
    "SELECT 'it''s', '', '''', 'a\nb''c\nd' AS \"x\"\"y\", \"\", \"a\nb\" FROM t",
    "SELECT 'back\\slash', 'ünïcödé ☃ 𝄞', \"naïve\" FROM t",
    "SELECT a -- a comment\nFROM t -- another\n-- on its own line\nWHERE b = 1 -- at the end",
    "-- before\nSELECT a FROM t",
    "SELECT a FROM t; -- after the semicolon",
    "SELECT a FROM t -- before the semicolon\n;",
    "SELECT a FROM t\n-- on the line before the semicolon\n;",
    "SELECT a FROM t --- three dashes\n--\n",
    "SELECT a FROM t GROUP BY a ORDER BY a",
    "select a from t group  by a order\tby a",
    "SELECT CAST(a AS DOUBLE PRECISION), CAST(b AS double   precision) FROM t",
    "SELECT a FROM t GROUP BY(a) ORDER BY'x'",
    "SELECT a FROM t GROUPBY a ORDER_BY b GROUP BYE",
    "SELECT a FROM t WHERE a-b--c\n+d*e/f=g<h>i&j|k^~l",
    "SELECT N, n, Nx, n\"a\", x'y' FROM t",
    "SELECT a FROM t WHERE x IN (SELECT y FROM u) AND NOT EXISTS (SELECT 1 FROM v)",
    "SELECT a FROM t ;",
    "  \t  ",
    "",
    "-- only a comment",
]


@pytest.mark.parametrize("text", READ)
def test_lexer_reads_these_as_sqlglot_does(text: str) -> None:
    assert agrees(text)


DECLINED = [
    "SELECT a\rFROM t",  # a lone carriage return
    "SELECT a FROM t WHERE b = 'x\ry'",
    "SELECT a FROM t GROUP\nBY a",  # sqlglot does not count that line break
    "SELECT a FROM t ORDER \r\n BY a",
    "SELECT 1e5+3 FROM t",  # one token to sqlglot
    "SELECT 10x FROM t",
    "SELECT 1.5.5 FROM t",
    "SELECT 0x FROM t",
    "SELECT 0x1G FROM t",
    "SELECT 0x1_F FROM t",
    "SELECT N'x' FROM t",
    "SELECT 'unterminated FROM t",
    'SELECT "unterminated FROM t',
    "SELECT a::text FROM t",
    "SELECT a % 2 FROM t",
    "SELECT a FROM t WHERE ! a",
    "SELECT a FROM t WHERE a = ?",
    "SELECT [a] FROM t",
    "SELECT $a FROM t",
    "SELECT héllo FROM t",
    "SELECT\xa0a FROM t",
    "SELECT a\fFROM t",
    "SELECT a\u2028FROM t",
]


@pytest.mark.parametrize("text", DECLINED)
def test_lexer_declines_what_it_is_not_sure_of(text: str) -> None:
    assert lexer.tokenize(text) is None
    agrees(text)


def test_parse_falls_back_to_sqlglot_when_the_lexer_declines(monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[str] = []
    tokenize = ADQL.tokenize

    def counting(self: ADQL, sql: str, dialect: object = None) -> list[Token]:
        calls.append(sql)
        return tokenize(self, sql)

    monkeypatch.setattr(ADQL, "tokenize", counting)
    plain = "SELECT a FROM t WHERE b = 1"
    parse(plain)
    assert calls == []
    declined = "SELECT a\rFROM t WHERE b = 1"
    assert parse(declined).adql() == parse(plain).adql()
    assert calls == [declined]
    with pytest.raises(ADQLSyntaxError):
        parse("SELECT a FROM t WHERE b = 'x")
    assert calls[-1] == "SELECT a FROM t WHERE b = 'x"


# -- generated texts ---------------------------------------------------------------------------

_KEYWORDS = [key for key in ADQLTokenizer.KEYWORDS if key.isidentifier()]
_FRAGMENTS = st.one_of(
    st.sampled_from(_KEYWORDS),
    st.sampled_from(_KEYWORDS).map(str.lower),
    st.sampled_from(["GROUP BY", "order by", "Double  Precision", "GROUP\tBY", "ORDER\nBY", "group\r\nby"]),
    st.from_regex(r"[A-Za-z_][A-Za-z0-9_]{0,6}", fullmatch=True),
    st.sampled_from(["N", "n", "a.b", "t.*", "ivo_f", "_x", "x1"]),
    st.text(alphabet=st.sampled_from("ab \"'\n\r.é"), max_size=6).map(lambda s: '"' + s.replace('"', '""') + '"'),
    st.text(alphabet=st.sampled_from("ab \"'\n\r\\-é☃"), max_size=6).map(lambda s: "'" + s.replace("'", "''") + "'"),
    st.sampled_from(["1", "0", "42", "1.5", ".5", "1.", "1e-3", "1E+3", "2e10", "1.e5", "0x1F", "0XaB", "0x", "0x1G"]),
    st.sampled_from(["1e5+3", "1e5-", "10x", "1.5.5", "007"]),
    st.sampled_from([*"(),.-+*/=<>|&^~;!:%[]{}?@#$`\\", "||", "<>", "!=", "<=", ">=", "::", "<=>", "--"]),
    st.text(alphabet=st.sampled_from("ab -'\"é\t"), max_size=8).map(lambda s: "--" + s),
    st.sampled_from(["'unterminated", '"unterminated', "N'x'", "n'", "é", "ß", "Ω", "\u00a0", "\f", "\v", "\x00"]),
)
_SEPARATORS = st.sampled_from(["", " ", " ", " ", "  ", "\t", "\n", "\r\n", "\r", " \n ", "\n\n"])


@st.composite
def fragment_texts(draw: st.DrawFn) -> str:
    """ADQL-looking text: keywords, names, literals, operators and comments with random white space between."""
    parts = draw(st.lists(st.tuples(_SEPARATORS, _FRAGMENTS), max_size=12))
    return "".join(separator + fragment for separator, fragment in parts) + draw(_SEPARATORS)


_SETTINGS = settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@_SETTINGS
@given(fragment_texts())
def test_generated_fragment_texts_agree(text: str) -> None:
    agrees(text)


@_SETTINGS
@given(st.text(alphabet=st.characters(codec="utf-8"), max_size=40))
def test_arbitrary_text_agrees(text: str) -> None:
    agrees(text)


@_SETTINGS
@given(st.text(alphabet=st.sampled_from("aN1e0x.'\"-+ \t\n\r;|<>=!()"), max_size=24))
def test_text_of_tricky_characters_agrees(text: str) -> None:
    agrees(text)


@_SETTINGS
@given(queries(), st.lists(st.sampled_from([" ", "\n", "\t", "  ", " -- c\n", "\r\n"]), min_size=1, max_size=5))
def test_generated_queries_are_read_as_sqlglot_reads_them(query: str, spaces: list[str]) -> None:
    assume("--" not in query)  # "- -x" written "--x" starts a comment: another text, which sqlglot may refuse
    words = query.split(" ")
    text = "".join(word + spaces[index % len(spaces)] for index, word in enumerate(words))
    # only a keyword phrase broken over lines falls back
    assert agrees(text) or re.search(r"(?i)\b(GROUP|ORDER)[ \t]*[\r\n][ \t\r\n]*BY\b", text)


# -- check_tokens' fast path for words ---------------------------------------------------------

_WORDS = st.one_of(
    st.sampled_from(sorted(RESERVED_WORDS)),
    st.sampled_from(["LIMIT", "limit", "RECURSIVE", "OVER", "over", "point", "Circle", "POLYGON", "hip", "ra"]),
    st.from_regex(r"[A-Za-z_$é][A-Za-z0-9_$é]{0,5}", fullmatch=True),
)
_NEIGHBOURS = st.sampled_from(
    [TokenType.L_PAREN, TokenType.R_PAREN, TokenType.NUMBER, TokenType.COMMA, TokenType.ALIAS, TokenType.WITH, None]
)


@settings(max_examples=500, deadline=None)
@given(_WORDS, _NEIGHBOURS, _NEIGHBOURS)
def test_check_tokens_refuses_a_word_exactly_when_the_full_word_check_does(
    word: str, before: TokenType | None, after: TokenType | None
) -> None:
    text = f"SELECT {word}"
    select = Token(TokenType.SELECT, "SELECT", start=0, end=5)
    token = Token(TokenType.VAR, word, start=7, end=6 + len(word))
    previous = Token(before, "x") if before is not None else select
    following = Token(after, "y") if after is not None else None
    tokens = [select, previous, token] if before is not None else [select, token]
    if following is not None:
        tokens.append(following)

    def outcome(check: Callable[[], None]) -> tuple[str, int | None, int | None] | None:
        try:
            check()
        except ADQLSyntaxError as error:
            return (error.message, error.line, error.col)
        return None

    fast = outcome(lambda: check_tokens(tokens, text))
    full = outcome(lambda: _check_word(token, previous, following, text))
    if full is not None or after != TokenType.COMMA:
        assert fast == full
    else:  # the word passes, and a comma at the end is refused after it
        assert fast is not None and fast[0].startswith("unexpected ','")
