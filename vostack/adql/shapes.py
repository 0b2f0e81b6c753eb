"""Query shapes: an ADQL text with its literals abstracted, and SQL templates to fill with them.

Real traffic repeats query shapes with other values: a cone search run at 10,000 positions,
TOPCAT's metadata queries, a portal's generated queries.  :func:`shape_of` splits a text into
its *skeleton* (the text with every number and string literal replaced by a marker of its kind)
and its literals; :class:`vostack.adql.Translator` caches translations by skeleton, as a
:class:`Template`: the generated SQL with a slot where each literal was written.  A later text of
the same shape is translated by writing its own literals into the slots.

A literal whose value changes the translation (``TOP n``, an ``ORDER BY`` position, the ``1`` of
``CONTAINS(...) = 1``, a ``CIRCLE`` radius checked against its range, the unit of ``IN_UNIT``, an
STC-S region) is *pinned*: its text is part of the template's key, and a text with another value
is translated anew.  The translator pins a literal when it reads its value (:func:`pin`) and
whenever the literal does not reach the SQL unchanged; the literal's kind (integer of 32 or 64
bits or wider, decimal, exponent, string) is always part of the skeleton, since types follow it.

This is not a tokenizer: the scanner only needs to find where literals are, and everything it is
not sure of (a number glued to a word, an unterminated string) stays verbatim in the skeleton,
which only makes the key more specific.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

from sqlglot import exp

from vostack.adql.expressions import nodes

__all__ = ["PINNED", "Shape", "Template", "pin", "shape_of", "template_of"]

#: The ``meta`` key marking a literal node whose value the translation depends on.
PINNED = "vostack_pinned"

# One alternative per thing the scanner recognises, in order: a string literal, a delimited
# identifier, a comment, a hexadecimal literal, a word, a number standing on its own, a run of
# spaces, operators and punctuation, and any other character but a quote (a quote no alternative
# closes makes the text uncacheable).
_SCAN = re.compile(
    r"""(?P<string>'(?:[^']|'')*')
      |"(?:[^"]|"")*"
      |--[^\n]*
      |0[xX][0-9A-Fa-f]*
      |[^\W0-9][\w$]*
      |(?<![\w.$])(?P<number>(?:[0-9]+(?P<point>\.[0-9]*)?|\.[0-9]+)(?P<exponent>[eE][+-]?[0-9]+)?)(?![\w.$'"])
      |[^'"\w.$-]+
      |[^'"]""",
    re.VERBOSE,
)
_INT32 = 2**31 - 1
_INT64 = 2**63 - 1


def _kind(match: re.Match[str]) -> str:
    """The marker of a literal's kind in a skeleton: ``s`` (string), ``i``/``l``/``b`` (integer of 32 or 64 bits or
    wider), ``d``/``e`` (decimal, with an exponent), ``f``/``g`` (the same starting with the point)."""
    if match.group("string") is not None:
        return "s"
    number = match.group("number")
    if number.startswith("."):
        return "g" if match.group("exponent") else "f"
    if match.group("exponent"):
        return "e"
    if match.group("point") is not None:
        return "d"
    value = int(number)
    return "i" if value <= _INT32 else "l" if value <= _INT64 else "b"


@dataclass(frozen=True, slots=True)
class Shape:
    """An ADQL text split into its skeleton and its literals.

    ``literals`` are the literals as written (strings with their quotes), ``starts`` their offsets
    in the text and ``strings`` whether each is a string.
    """

    skeleton: str
    literals: tuple[str, ...]
    starts: tuple[int, ...]
    strings: tuple[bool, ...]

    def value(self, index: int) -> str:
        """Literal ``index`` as the parser reads it: a string without its quotes, a number as written (with
        a 0 before a leading point).  Checked against the parsed literal whenever a template is made."""
        text = self.literals[index]
        if self.strings[index]:
            return text[1:-1].replace("''", "'")
        return "0" + text if text[0] == "." else text


def shape_of(text: str) -> Shape | None:
    """The shape of ``text``, or ``None`` when it cannot be cached (it holds a NUL, or an unterminated string
    or delimited identifier, which the translator reports as errors)."""
    if "\x00" in text:
        return None
    skeleton: list[str] = []
    literals: list[str] = []
    starts: list[int] = []
    strings: list[bool] = []
    position = last = 0
    for match in _SCAN.finditer(text):
        start = match.start()
        if start != position:  # a quote no alternative could close
            return None
        position = match.end()
        if match.lastgroup is None:
            continue
        kind = _kind(match)
        skeleton.append(text[last:start])
        skeleton.append("\x00" + kind)
        last = position
        literals.append(match.group())
        starts.append(start)
        strings.append(kind == "s")
    if position != len(text):
        return None
    skeleton.append(text[last:])
    return Shape("".join(skeleton), tuple(literals), tuple(starts), tuple(strings))


def pin(node: exp.Expr) -> None:
    """Mark a literal node whose value the translation depends on (see the module's docstring)."""
    if isinstance(node, exp.Literal):
        node.meta[PINNED] = True


_SLOT = re.compile("'?\x00([0-9]+)\x00'?")


@dataclass(frozen=True, slots=True)
class Template:
    """Generated SQL with slots for the literals of a shape; ``pinned`` are the literals it holds as fixed."""

    pinned: tuple[tuple[int, str], ...]
    parts: tuple[str, ...]
    slots: tuple[int, ...]

    def matches(self, shape: Shape) -> bool:
        """Whether ``shape`` has this template's pinned literals."""
        literals = shape.literals
        return all(literals[index] == text for index, text in self.pinned)

    def fill(self, shape: Shape, write_string: Callable[[str], str]) -> str:
        """The SQL for ``shape``: its numbers as written, its strings through ``write_string``."""
        parts = self.parts
        out = [parts[0]]
        strings = shape.strings
        literals = shape.literals
        for position, index in enumerate(self.slots):
            text = literals[index]
            out.append(write_string(shape.value(index)) if strings[index] else "0" + text if text[0] == "." else text)
            out.append(parts[position + 1])
        return "".join(out)


def template_of(tree: exp.Expr, shape: Shape, generate: Callable[[exp.Expr], str]) -> Template | None:
    """The template of the final ``tree`` translated from a text of ``shape`` (``generate`` writes SQL).

    A literal of the shape becomes a slot when every node it turned into in ``tree`` is a literal of the
    same kind and value, not pinned; every other literal is pinned (the template holds its text).  The
    slot literals are generated as markers, found in the generated text and cut out (a literal that does
    not reach the text is pinned too); ``None`` when that cannot be done safely (a marker changed).
    ``tree`` is changed: write its SQL with the template (``fill``), as a later text of this shape gets it.
    """
    by_start = {start: index for index, start in enumerate(shape.starts)}
    found: dict[int, list[exp.Literal]] = {}
    pinned: set[int] = set()
    for node in nodes(tree, leaves=(exp.Column, exp.Identifier)):
        if node.__class__ is not exp.Literal:
            continue
        start = node.meta_get("start")
        index = by_start.get(start) if isinstance(start, int) else None
        if index is None:
            continue
        found.setdefault(index, []).append(node)
        if (
            node.meta_get(PINNED)
            or node.is_string != shape.strings[index]
            or node.this != shape.value(index)
            or isinstance(node.parent, exp.DataTypeParam)  # CHAR(n): the result's arraysize
        ):
            pinned.add(index)
    pinned.update(index for index in range(len(shape.literals)) if index not in found)
    free = [index for index in found if index not in pinned]
    for index in free:
        for node in found[index]:
            node.set("this", f"\x00{index}\x00")
    try:
        cut = _cut(generate(tree), shape)
    except Exception:  # the caller writes the tree again, with its values, and gets the error as it is
        cut = None
    if cut is None or not set(cut[1]) <= set(free):
        for index in free:
            for node in found[index]:
                node.set("this", shape.value(index))
        return None
    parts, slots = cut
    pinned.update(set(free) - set(slots))  # in the tree but not in the SQL: it may have been read (pinned is safe)
    return Template(tuple(sorted((index, shape.literals[index]) for index in pinned)), parts, slots)


def _cut(written: str, shape: Shape) -> tuple[tuple[str, ...], tuple[int, ...]] | None:
    """``written`` cut at its markers: the text between them and the literal index of each, or ``None`` if a
    marker is not as it was written (a string's in quotes, a number's bare)."""
    parts: list[str] = []
    slots: list[int] = []
    last = 0
    for match in _SLOT.finditer(written):
        index = int(match.group(1))
        text = match.group()
        quoted = text[0] == "'" and text[-1] == "'"
        if index >= len(shape.literals) or quoted != shape.strings[index] or (not quoted and "'" in text):
            return None
        parts.append(written[last : match.start()])
        slots.append(index)
        last = match.end()
    parts.append(written[last:])
    return tuple(parts), tuple(slots)
