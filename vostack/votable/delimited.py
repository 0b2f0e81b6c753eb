"""CSV (RFC 4180) and TSV (IANA ``text/tab-separated-values``) results.

Both start with one header line of column names, then one line per row.

* **CSV** (``text/csv;header=present``, RFC 4180 §2, RFC 7111): fields are
  separated by commas and lines end with CRLF; a field holding a comma, a
  double quote, CR or LF is enclosed in double quotes with inner quotes
  doubled.  A null is an empty field; an empty string is ``""``, so the two
  stay distinct for readers that look (Python's :mod:`csv` does not).
* **TSV** (``text/tab-separated-values``): fields are separated by tabs and
  lines end with LF.  The IANA registration forbids tabs in fields, so tab,
  LF, CR and backslash are written ``\\t``, ``\\n``, ``\\r``, ``\\\\`` (the
  PostgreSQL ``COPY`` text convention).  A null and an empty string are both
  an empty field.

Values: floats are written with :func:`repr`, which round-trips exactly, and
non-finite ones as ``NaN``, ``+Inf``, ``-Inf`` (all read by :class:`float`);
booleans ``True``/``False`` (what pandas reads as booleans);
timestamps as DALI ISO 8601 UTC strings; arrays as their elements separated
by single spaces, like a VOTable TABLEDATA cell (VOTable 1.4 §5.1), with
``NaN`` for a null number and ``?`` for a null boolean inside an array.

Metadata and status: the formats hold the column names and nothing else, so
units, UCDs and descriptions are lost (use VOTable, FITS, Parquet or JSON to
keep them).  There is no in-band way to say that a result was truncated or
failed: any trailer would be read as a data row by RFC 4180 readers, or
dropped silently as a comment by others.  The writer therefore adds nothing
(``status_in_band`` is false): an overflow is only visible by comparing the
row count with MAXREC, and the HTTP layer should end a failed response
abnormally so that the client sees a broken transfer.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Iterator, Sequence
from typing import Any, cast

from vostack.errors import InternalError
from vostack.schema import Field
from vostack.votable.base import Rows, StagedWriter, cell_error, float32_text, float_word, text_of
from vostack.votable.pgtext import TextColumns
from vostack.votable.textrows import CSV, TSV, TextRows

__all__ = ["DelimitedWriter"]

_CSV_SPECIAL = re.compile(r'[",\r\n]')
_TSV_SPECIAL = re.compile(r"[\t\n\r\\]")
_TSV_ESCAPES = str.maketrans({"\t": "\\t", "\n": "\\n", "\r": "\\r", "\\": "\\\\"})


def _float_word(value: Any) -> str:
    return float_word(float(value))


def _int_word(value: Any) -> str:
    if isinstance(value, float):
        if math.isnan(value):
            return "NaN"
        if not value.is_integer():
            raise ValueError(f"{value!r} is not an integer")
    return str(int(value))


def _bool_word(value: Any) -> str:
    if isinstance(value, str):
        value = value.strip().lower() in ("t", "true", "1", "y", "yes")
    return "True" if value else "False"


def _float32_word(value: Any) -> str:
    return float32_text(float(value))


def _scalar(field: Field) -> Callable[[Any], str]:
    if field.datatype == "float":
        return _float32_word
    if field.datatype == "double":
        return _float_word
    if field.datatype in ("unsignedByte", "short", "int", "long"):
        return _int_word
    if field.datatype == "boolean":
        return _bool_word
    return text_of


def _array(field: Field) -> Callable[[Any], str]:
    one = _scalar(field)
    null = "?" if field.datatype == "boolean" else "NaN"

    def words(value: Any) -> str:
        if isinstance(value, str):
            return value
        return " ".join([null if item is None else one(item) for item in value])

    return words


class DelimitedWriter(StagedWriter):
    """Write a result as CSV (RFC 4180) or TSV (IANA text/tab-separated-values), in pieces.

    Parameters
    ----------
    fields : sequence of Field
        The result columns, in row order.
    delimiter : {",", "\\t"}
        ``","`` for CSV, ``"\\t"`` for TSV.
    """

    status_in_band = False
    text_copy = True

    def __init__(self, fields: Sequence[Field], *, delimiter: str = ",") -> None:
        super().__init__(fields)
        self._csv = delimiter == ","
        self._delimiter = delimiter
        self._newline = "\r\n" if self._csv else "\n"
        formatters: list[Callable[[Any], str]] = []
        for field, shape in zip(self.fields, self.shapes, strict=True):
            text_column = field.datatype in ("char", "unicodeChar")
            formatters.append(_array(field) if shape.array and not text_column else _scalar(field))
        self._formatters = tuple(formatters)
        self._escape = self._quote_csv if self._csv else self._escape_tsv
        # Only text (and arrays, which may arrive as text) can need quoting or escaping.
        self._needs_escape = tuple(
            f.datatype in ("char", "unicodeChar") or s.array for f, s in zip(self.fields, self.shapes, strict=True)
        )
        self._line = self._compile()
        self._text_rows = TextRows(self.fields, self.shapes, CSV if self._csv else TSV, self.cell)

    @staticmethod
    def _quote_csv(text: str) -> str:
        if text and _CSV_SPECIAL.search(text) is None:
            return text
        return '"' + text.replace('"', '""') + '"'

    @staticmethod
    def _escape_tsv(text: str) -> str:
        if _TSV_SPECIAL.search(text) is None:
            return text
        return text.translate(_TSV_ESCAPES)

    def _compile(self) -> Callable[[Sequence[object]], str]:
        """One flat function per table that turns a row into a line (as :mod:`dataclasses` does)."""
        width = len(self.fields)
        namespace: dict[str, object] = {"esc": self._escape}
        cells = []
        for i, (fmt, escape) in enumerate(zip(self._formatters, self._needs_escape, strict=True)):
            namespace[f"f{i}"] = fmt
            call = f"esc(f{i}(c{i}))" if escape else f"f{i}(c{i})"
            cells.append(f"{{'' if c{i} is None else {call}}}")
        sep = "\\t" if self._delimiter == "\t" else ","
        newline = "\\r\\n" if self._csv else "\\n"
        source = (
            "def line(row):\n"
            f"    {', '.join(f'c{i}' for i in range(width))}, = row\n"
            f'    return f"{sep.join(cells)}{newline}"\n'
        )
        exec(compile(source, "<vostack.votable.delimited line>", "exec"), namespace)
        return cast(Callable[[Sequence[object]], str], namespace["line"])

    def _header(self) -> bytes:
        """The header line: the column names (RFC 4180 §2.3, ``header=present``)."""
        names = [self._escape(f.name) for f in self.fields]
        return (self._delimiter.join(names) + self._newline).encode("utf-8")

    def _rows(self, rows: Rows) -> bytes:
        """One line per row."""
        line = self._line
        try:
            return "".join(map(line, rows)).encode("utf-8", "replace")
        except Exception:
            return "".join(map(self._slow_line, rows)).encode("utf-8", "replace")

    def cell(self, index: int, value: object) -> str:
        """One field of a line, escaped; naming the column of a value that cannot be written."""
        if value is None:
            return ""
        try:
            text = self._formatters[index](value)
        except (TypeError, ValueError, OverflowError) as exc:
            raise cell_error(self.fields[index], value, exc) from exc
        return self._escape(text) if self._needs_escape[index] else text

    def _slow_line(self, row: Sequence[object]) -> str:
        """A line, value by value, naming the column of a value that cannot be written."""
        if len(row) != len(self.fields):
            raise InternalError(f"a row has {len(row)} values for {len(self.fields)} columns")
        return self._delimiter.join([self.cell(i, value) for i, value in enumerate(row)]) + self._newline

    def _textual(self, batch: TextColumns) -> bytes:
        """A batch of PostgreSQL's text COPY, its text kept where the format's is the same (:mod:`.textrows`)."""
        return self._text_rows.encode(batch)

    def _footer(self, overflow: bool, error: str | None) -> Iterator[bytes]:
        """Nothing: CSV and TSV have no place for a status (see the module docstring)."""
        return iter(())
