"""A fast ADQL tokenizer: the tokens of :class:`~vostack.adql.dialect.ADQLTokenizer`, from one regular expression.

sqlglot's tokenizer walks the text one character at a time in Python; :func:`tokenize` lets one
compiled master expression find the tokens (ADQL 2.1 §2.1 lexical elements) and builds the same
sqlglot :class:`~sqlglot.tokenizer_core.Token` objects, with the same ``token_type``, ``text``,
``line``, ``col``, ``start``, ``end`` and ``comments``.  Token types come from the tokenizer's own
``KEYWORDS`` and ``SINGLE_TOKENS`` tables, so the two cannot drift apart.

It follows sqlglot's conventions, quirks included: ``col`` is the 1-based column of a token's
*last* character; a ``--`` comment goes to the token before it when it starts on that token's line,
otherwise to the next token (a ``;`` hands it back to the token before); ``.5`` is a ``.`` and a
``5``; a keyword phrase (``group  by``) is one token, written upper case with one space.  What it
is not certain to reproduce makes it return ``None``, and the caller falls back to sqlglot's
tokenizer, which then also raises the tokenizer's errors:

* any character other than ASCII letters, digits, ``_``, the operators ADQL has, space, tab and
  line feed outside strings, delimited identifiers and comments (so ``:``, ``%``, ``!``, ``[``,
  ``?``, ``@``, non-ASCII letters, form feeds, ...);
* a carriage return that is not followed by a line feed;
* a keyword phrase broken over lines (sqlglot does not count that line break);
* numbers run together with what follows (``1e5+3`` is one token to sqlglot, ``10x`` two), and
  hexadecimal literals sqlglot would refuse or read otherwise (``0x1G``, ``0x1_F``);
* ``N'...'`` strings, and unterminated strings and delimited identifiers.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

from sqlglot.tokenizer_core import Token, TokenType

from vostack.adql.dialect import ADQLTokenizer

__all__ = ["tokenize"]

_KEYWORDS = ADQLTokenizer.KEYWORDS
_SINGLE_TOKENS = ADQLTokenizer.SINGLE_TOKENS

#: The one-character tokens ADQL uses (the others, such as ``:``, ``%``, ``[`` or ``?``, are left to sqlglot).
_SINGLES = "(),.-+*/=<>|&^~;"
#: Keywords spelt with operator characters (``<>``, ``||``, ...), longest first.
_OPERATORS = sorted((key for key in _KEYWORDS if all(c in _SINGLE_TOKENS for c in key)), key=len, reverse=True)

# sqlglot ends a word, a hexadecimal literal and a keyword phrase at white space, at any of its
# single-character tokens (quotes included) or at the end of the text.
_BOUNDARY = "(?=[\\s" + "".join(re.escape(c) for c in _SINGLE_TOKENS) + "]|\\Z)"

#: Keywords of several words (``GROUP BY``, ``ORDER BY``, ``DOUBLE PRECISION``), by their first word:
#: the pattern of the rest of the phrase, and the keyword.
_PHRASES = {
    key.split()[0]: (re.compile(r"(\s++)" + key.split()[1] + _BOUNDARY, re.ASCII | re.IGNORECASE), key)
    for key in _KEYWORDS
    if " " in key
}

# One match per token: the white space before it, then a word, or another token (whose alternatives
# are tried in order: "<=" before "<", "--" before "-", a hexadecimal literal before a number).  When
# neither group matches, one character does, and tokenize() returns None.
_OTHER_TOKENS = "|".join(
    (
        "|".join(re.escape(op) for op in _OPERATORS),
        r"--[^\r\n]*",
        "[" + re.escape(_SINGLES) + "]",
        "0[xX][0-9A-Fa-f]+" + _BOUNDARY,
        # sqlglot goes on past a '.', a letter, or a sign after an exponent that has none (1e5+3
        # is one token): numbers followed by one of these are not matched
        r"(?>[0-9]+(?:\.[0-9]*)?(?:[eE][+-][0-9]+|[eE][0-9]+(?![+-][0-9]))?)(?![A-Za-z0-9_.])",
        r"'[^']*(?:''[^']*)*'",
        r'"[^"]*(?:""[^"]*)*"',
    )
)
_MASTER = re.compile(rf"([ \t\r\n]*+)(?:([A-Za-z_][A-Za-z0-9_]*)|({_OTHER_TOKENS})|(?s:.))", re.ASCII)

_NUMBER, _OPERATOR, _STRING, _IDENTIFIER = range(4)
#: The kind of a token other than a word, by its first character.
_KINDS = {
    **{c: _NUMBER for c in "0123456789"},
    **{op[0]: _OPERATOR for op in (*_SINGLES, *_OPERATORS)},
    "'": _STRING,
    '"': _IDENTIFIER,
}

#: Marks the words that need a further look: the first words of phrases, and N (N'...' is a national string).
_SPECIAL = TokenType.SENTINEL
#: The token type of a word (upper case), where it is not VAR.
_WORD_TYPES = {
    **{key: token_type for key, token_type in _KEYWORDS.items() if key.isidentifier()},
    **dict.fromkeys(_PHRASES, _SPECIAL),
    "N": _SPECIAL,
}

_VAR = TokenType.VAR
_SEMICOLON = TokenType.SEMICOLON
_NUMBER_TYPE = TokenType.NUMBER
_HEX_TYPE = TokenType.HEX_STRING
_STRING_TYPE = TokenType.STRING
_IDENTIFIER_TYPE = TokenType.IDENTIFIER


class _Unsure(Exception):
    """The text has something :func:`tokenize` is not certain to read exactly as sqlglot does."""


def tokenize(text: str) -> list[Token] | None:
    """The tokens ``ADQLTokenizer().tokenize(text)`` returns, or ``None`` when the text needs sqlglot's tokenizer.

    Covers the lexical elements of ADQL 2.1 §2.1 (keywords, regular and delimited identifiers,
    string, numeric and hexadecimal literals, operators, white space and ``--`` comments).
    ``None`` means "not certain", never "invalid": the caller then tokenizes with sqlglot,
    which also raises the tokenizer's errors.
    """
    try:
        return _scan(text)
    except _Unsure:
        return None


def _scan(text: str) -> list[Token]:
    if "\r" in text and text.count("\r") != text.count("\r\n"):
        raise _Unsure  # sqlglot counts a lone CR as a line break outside strings, not inside
    tokens: list[Token] = []
    append = tokens.append
    make = Token
    word_types = _WORD_TYPES
    var = _VAR
    line = 1
    col_base = 0  # sqlglot's col: the index of a token's last character + 1 - the index after the last line break
    comments: list[str] = []
    stop = 0  # the matches are contiguous: each starts where the one before stopped
    matches = iter(_MASTER.findall(text))
    for space, word, other in matches:
        if "\n" in space:
            line += space.count("\n")
            col_base = stop + space.rfind("\n") + 1
        start = stop + len(space)
        if word:
            stop = start + len(word)
            token_type = word_types.get(word.upper(), var)
            if token_type is _SPECIAL:
                word, token_type, stop = _special_word(text, word, stop, matches)
        elif other:
            word = other
            stop = start + len(word)
            kind = _KINDS[word[0]]
            if kind == _OPERATOR:
                if len(word) == 1:
                    token_type = _SINGLE_TOKENS[word]
                elif word.startswith("--"):
                    comments.append(word[2:])
                    if tokens and tokens[-1].line == line:
                        tokens[-1].comments.extend(comments)
                        comments = []
                    continue
                else:
                    token_type = _KEYWORDS[word]
            elif kind == _NUMBER:
                if len(word) > 1 and word[1] in "xX":
                    word = word[2:]
                    token_type = _HEX_TYPE
                else:
                    token_type = _NUMBER_TYPE
            else:
                word = word[1:-1]
                if "\n" in word:
                    line += word.count("\n")
                    col_base = start + word.rfind("\n") + 2
                if kind == _STRING:
                    token_type = _STRING_TYPE
                    if "''" in word:
                        word = word.replace("''", "'")
                else:
                    token_type = _IDENTIFIER_TYPE
                    if '""' in word:
                        word = word.replace('""', '"')
        else:
            raise _Unsure
        if comments:
            if token_type == _SEMICOLON and tokens:
                tokens[-1].comments.extend(comments)
                append(make(token_type, word, line, stop - col_base, start, stop - 1))
            else:
                append(make(token_type, word, line, stop - col_base, start, stop - 1, comments))
            comments = []
        else:
            append(make(token_type, word, line, stop - col_base, start, stop - 1))
    if comments and tokens:
        tokens[-1].comments.extend(comments)
    return tokens


def _special_word(
    text: str, word: str, stop: int, matches: Iterator[tuple[str, str, str]]
) -> tuple[str, TokenType, int]:
    """The token a word of ``_WORD_TYPES`` marked special starts: its text, its type and where it stops.

    A phrase's first word followed by its second (``GROUP BY``) is the phrase's keyword, and the
    match of the second word is taken from ``matches``.
    """
    upper = word.upper()
    if upper == "N":
        if text.startswith("'", stop):
            raise _Unsure  # a national string, N'...'
        return word, _VAR, stop
    pattern, keyword = _PHRASES[upper]
    phrase = pattern.match(text, stop)
    if phrase is None:
        return word, _KEYWORDS.get(upper, _VAR), stop
    space = phrase.group(1)
    if space.strip(" \t"):
        raise _Unsure  # sqlglot does not count a line break inside a phrase
    following = next(matches, None)
    if following is None or following[0] != space or following[1].upper() != keyword.split()[1]:
        raise _Unsure  # cannot happen: the second word is the next match
    return keyword, _KEYWORDS[keyword], phrase.end()
