"""The one place where sqlglot's exceptions become vostack errors.

Like httpx's ``map_exceptions``: every call into sqlglot made by
:mod:`vostack.adql` runs inside :func:`sqlglot_errors`, so no sqlglot exception
reaches a caller.  ``ParseError`` and ``TokenError`` become
:class:`~vostack.errors.ADQLSyntaxError` with the 1-based line and column of the
offending token, ``OptimizeError`` becomes
:class:`~vostack.errors.ADQLSemanticError`, anything else raised while sqlglot
works on a query becomes an :class:`~vostack.errors.ADQLSyntaxError` with a
generic message (chained, so that logs keep the traceback).
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from sqlglot import exp
from sqlglot.errors import OptimizeError, ParseError, TokenError

from vostack.errors import ADQLError, ADQLSemanticError, ADQLSyntaxError, InternalError, VOError

__all__ = [
    "at",
    "node_offset",
    "position",
    "semantic_error",
    "sqlglot_errors",
    "syntax_error",
]

log = logging.getLogger("vostack.adql")


def position(text: str, offset: int) -> tuple[int, int]:
    """The 1-based (line, column) of character ``offset`` in ``text``."""
    offset = max(0, min(offset, len(text)))
    line = text.count("\n", 0, offset) + 1
    col = offset - (text.rfind("\n", 0, offset) + 1) + 1
    return line, col


def node_offset(node: exp.Expr | None) -> int | None:
    """The smallest source offset recorded on ``node`` or its descendants, if any."""
    if node is None:
        return None
    best: int | None = None
    for sub in node.walk():
        meta = sub.meta
        if "start" in meta:
            start = meta["start"]
            if isinstance(start, int) and (best is None or start < best):
                best = start
    return best


def at(text: str, offset: int | None) -> str:
    """`` at line L, column C`` for messages, or an empty string when unknown."""
    if offset is None:
        return ""
    line, col = position(text, offset)
    return f" at line {line}, column {col}"


def _make(cls: type[ADQLError], message: str, text: str, offset: int | None) -> ADQLError:
    if offset is None:
        return cls(message)
    line, col = position(text, offset)
    return cls(f"{message} at line {line}, column {col}", line=line, col=col)


def syntax_error(message: str, text: str, offset: int | None = None) -> ADQLError:
    """An :class:`ADQLSyntaxError` located at ``offset`` of ``text``."""
    return _make(ADQLSyntaxError, message, text, offset)


def semantic_error(message: str, text: str, node: exp.Expr | int | None = None) -> ADQLError:
    """An :class:`ADQLSemanticError` located at ``node`` (or at an offset) of ``text``."""
    offset = node if isinstance(node, int) or node is None else node_offset(node)
    return _make(ADQLSemanticError, message, text, offset)


def _describe_parse_error(error: dict[str, Any]) -> str:
    description = str(error.get("description") or "syntax error")
    found = error.get("text")
    at_end = bool(error.get("at_end")) or not found
    where = "the end of the query" if at_end else repr(found)
    if description.startswith("Expecting "):
        return f"expected {description[len('Expecting ') :]} but found {where}"
    if description.startswith("Expected ") and " but got" in description:
        return f"{description.split(' but got', 1)[0].lower()} but found {where}"
    if at_end:
        return "the query ends too early"
    if description.startswith("Required keyword"):
        return f"incomplete expression before {where}"
    if description.startswith("Invalid expression") or description.startswith("Unexpected"):
        return f"unexpected {where}"
    return f"{description} (near {where})"


def _from_parse_error(exc: ParseError, text: str) -> ADQLError:
    error = exc.errors[0] if exc.errors else {}
    start = error.get("start")
    offset = start if isinstance(start, int) else None
    if error.get("at_end"):
        offset = len(text.rstrip())
    message = _describe_parse_error(error)
    if offset is None and isinstance(error.get("line"), int) and isinstance(error.get("col"), int):
        return ADQLSyntaxError(
            f"{message} at line {error['line']}, column {error['col']}",
            line=error["line"],
            col=error["col"],
        )
    return syntax_error(message, text, offset)


_MISSING_DELIMITER = re.compile(r"Missing (.+) from \d+:(\d+)")


def _from_token_error(exc: TokenError, text: str) -> ADQLError:
    cause = exc.__cause__
    match = _MISSING_DELIMITER.search(str(cause)) if cause is not None else None
    if match:
        offset = int(match.group(2))
        kind = "delimited identifier" if match.group(1) == '"' else "string"
        return syntax_error(f"unterminated {kind}", text, offset)
    return syntax_error("cannot read the query text", text, exc.start)


@contextmanager
def sqlglot_errors(text: str) -> Iterator[None]:
    """Convert what sqlglot raises while working on ``text``: the client's mistakes into an :class:`ADQLError`,
    anything else (a bug: what passed the checks must translate) into an :class:`InternalError`."""
    try:
        yield
    except VOError:
        raise
    except ParseError as exc:
        raise _from_parse_error(exc, text) from None
    except TokenError as exc:
        raise _from_token_error(exc, text) from None
    except OptimizeError as exc:
        raise ADQLSemanticError(str(exc).splitlines()[0]) from None
    except RecursionError:
        raise ADQLSyntaxError("the query is nested too deeply") from None
    except Exception as exc:
        # a bug in the translator or in sqlglot (what passed the checks must translate): an internal
        # error for the client (HTTP 500), the traceback for the operators
        log.error("the ADQL translator failed on %r", text, exc_info=True)
        raise InternalError("the ADQL translator failed on this query; the operators have the details") from exc
