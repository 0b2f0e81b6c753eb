"""The TAP service's page for people: what it holds, its examples, and a query form (no JavaScript needed)."""

from __future__ import annotations

import html
import urllib.parse
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from vostack.schema import Field, TableSet
from vostack.tap.examples import CheckedExample

__all__ = ["PREVIEW_ROWS", "Preview", "render_page"]

#: Rows shown on the page; the download links give the whole result.
PREVIEW_ROWS = 100

_STYLE = """
body { font-family: system-ui, sans-serif; margin: 2em auto; max-width: 70em; padding: 0 1em; color: #222; }
textarea { width: 100%; font-family: monospace; font-size: 1em; }
table { border-collapse: collapse; margin: 1em 0; font-size: 0.9em; }
th, td { border: 1px solid #bbb; padding: 0.2em 0.5em; text-align: right; }
th { background: #e8eef7; } th small { font-weight: normal; color: #555; }
.error { border: 2px solid #b00; background: #fee; padding: 0.5em 1em; }
pre { background: #f4f4f4; padding: 0.5em; overflow-x: auto; }
details { margin: 0.3em 0; } code { background: #f4f4f4; }
"""


@dataclass(frozen=True, slots=True)
class Preview:
    """The first rows of a query's result, for the page."""

    fields: tuple[Field, ...]
    rows: Sequence[Sequence[object]]
    overflow: bool


def _cell(value: object, single: bool = False) -> str:
    """A value as people read it: floats of ``float`` (single precision) columns at their shortest repr."""
    if value is None:
        return ""
    if isinstance(value, float):
        return str(np.float32(value)) if single else f"{value:.10g}"
    if isinstance(value, list | tuple):
        return " ".join(_cell(v, single) for v in value)
    return str(value)


def _sync_url(base: str, query: str, fmt: str) -> str:
    params = {"REQUEST": "doQuery", "LANG": "ADQL", "QUERY": query, "RESPONSEFORMAT": fmt}
    return f"{base}/sync?{urllib.parse.urlencode(params)}"


def _result(base: str, query: str, preview: Preview | None, error: str | None) -> str:
    e = html.escape
    if error is not None:
        return f'<div class="error" id="error"><strong>The query failed.</strong> {e(error)}</div>'
    if preview is None:
        return ""
    header = "".join(
        f"<th>{e(f.name)}" + (f"<br><small>{e(f.unit)}</small>" if f.unit else "") + "</th>" for f in preview.fields
    )
    single = [f.datatype == "float" for f in preview.fields]
    body = "".join(
        "<tr>" + "".join(f"<td>{e(_cell(v, s))}</td>" for v, s in zip(row, single, strict=True)) + "</tr>"
        for row in preview.rows
    )
    more = f"the first {len(preview.rows)} rows" if preview.overflow else f"{len(preview.rows)} rows"
    links = " ".join(
        f'<a href="{e(_sync_url(base, query, fmt))}">{label}</a>'
        for fmt, label in (("votable", "VOTable"), ("csv", "CSV"), ("fits", "FITS"), ("parquet", "Parquet"))
    )
    return (
        f"<h2>Result</h2><p>{more}. Download the whole result: {links}</p>"
        f'<table id="result"><thead><tr>{header}</tr></thead><tbody>{body}</tbody></table>'
    )


def render_page(
    *,
    title: str,
    description: str | None,
    base: str,
    tableset: TableSet | None,
    examples: Sequence[CheckedExample],
    features: Sequence[tuple[str, str, str]] = (),
    query: str,
    preview: Preview | None = None,
    error: str | None = None,
) -> str:
    """The HTML page served at the service's base URL (TAP 1.1 §2: the base URL is for people too)."""
    e = html.escape
    tables = ""
    for table in tableset.tables() if tableset is not None else ():
        columns = "".join(
            f"<tr><td><code>{e(c.name)}</code></td><td>{e(c.datatype)}{e(f'[{c.arraysize}]' if c.arraysize else '')}"
            f"</td><td>{e(c.unit or '')}</td><td>{e(c.ucd or '')}</td><td style='text-align:left'>"
            f"{e(c.description or '')}</td></tr>"
            for c in table.columns
        )
        rows = f", about {table.nrows:,} rows" if table.nrows else ""
        tables += (
            f"<details><summary><code>{e(table.name)}</code>{rows}: {e(table.description or '')}</summary>"
            f"<table><tr><th>column</th><th>type</th><th>unit</th><th>UCD</th><th>description</th></tr>"
            f"{columns}</table></details>"
        )
    example_list = "".join(
        f'<li><a href="{e(base)}/?{e(urllib.parse.urlencode({"QUERY": c.example.query}))}">'
        f"{e(c.example.name)}</a>: {e(c.example.description or '')}</li>"
        for c in examples
    )
    feature_list = "".join(f"<li><code>{e(form)}</code>: {e(description)}</li>" for _, form, description in features)
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>{e(title)}</title><style>{_STYLE}</style></head>
<body>
<h1>{e(title)}</h1>
<p>{e(description or "")}</p>
<p>A TAP 1.1 service: query it with ADQL here, or from TOPCAT, pyvo or astroquery at <code>{e(base)}</code>
(<a href="{e(base)}/capabilities">capabilities</a>, <a href="{e(base)}/tables">tables</a>,
<a href="{e(base)}/examples">examples</a>, <a href="{e(base)}/availability">availability</a>).</p>
<form method="get" action="{e(base)}/">
<textarea name="QUERY" rows="6" id="query">{e(query)}</textarea>
<p><button type="submit">Run the query</button> (the page shows the first {PREVIEW_ROWS} rows)</p>
</form>
{_result(base, query, preview, error)}
<h2>Examples</h2><ul>{example_list}</ul>
<h2>Tables</h2>{tables}
<h2>ADQL</h2><details id="features"><summary>ADQL 2.1 with these optional features and extensions (TAPRegExt
language features, also in the <a href="{e(base)}/capabilities">capabilities</a>)</summary><ul>{feature_list}</ul>
</details>
</body></html>"""
