"""Query results as tables in Jupyter.

Results are plain pyarrow Tables, whose own repr is text. Inside IPython
(Jupyter, the IPython shell) importing the package registers an HTML
formatter for pyarrow.Table that shows the schema and the first and last
rows, as the reference's package does; outside IPython nothing changes.
TTF_NOTEBOOK_DISPLAY=0 in the environment stops the automatic registration;
enable_notebook_display() and disable_notebook_display() switch it by hand.
"""
from __future__ import annotations

import html
import os
import sys
from typing import Any, Optional

import pyarrow as pa

HEAD_ROWS = 10
TAIL_ROWS = 5
CELL_CHARS = 80

_previous: dict = {}  # the formatter's printer for pa.Table before ours, if any


def _html_formatter() -> Optional[Any]:
    ipython = sys.modules.get("IPython")
    get = getattr(ipython, "get_ipython", None) if ipython else None
    shell = get() if get else None
    formatter = getattr(getattr(shell, "display_formatter", None), "formatters", {})
    return formatter.get("text/html") if isinstance(formatter, dict) else None


def _cell(value: Any) -> str:
    text = "null" if value is None else str(value)
    if len(text) > CELL_CHARS:
        text = text[:CELL_CHARS - 1] + "\u2026"
    return html.escape(text)


def _numeric(t: pa.DataType) -> bool:
    return pa.types.is_integer(t) or pa.types.is_floating(t) or pa.types.is_decimal(t)


def render_table_html(table: pa.Table, head: int = HEAD_ROWS, tail: int = TAIL_ROWS) -> str:
    """The HTML of a pyarrow Table: column names and types, the first `head` and
    last `tail` rows, and a row count; every value is escaped."""
    n = table.num_rows
    cut = n > head + tail
    parts = [table.slice(0, head), table.slice(n - tail, tail)] if cut else [table]
    align = ["right" if _numeric(f.type) else "left" for f in table.schema]
    header = "".join(f"<th style='text-align:{a}'>{html.escape(f.name)}<br>"
                     f"<span style='font-weight:normal;color:#777'>{html.escape(str(f.type))}"
                     f"</span></th>" for f, a in zip(table.schema, align))
    body = []
    for i, part in enumerate(parts):
        if i == 1:
            body.append(f"<tr><td colspan='{max(len(align), 1)}' style='text-align:center'>"
                        f"\u2026 {n - head - tail:,} more rows \u2026</td></tr>")
        columns = [col.to_pylist() for col in part.columns]
        for r in range(part.num_rows):
            cells = "".join(f"<td style='text-align:{a}'>{_cell(col[r])}</td>"
                            for col, a in zip(columns, align))
            body.append(f"<tr>{cells}</tr>")
    return (f"<table><thead><tr>{header}</tr></thead><tbody>{''.join(body)}</tbody></table>"
            f"<p>{n:,} rows \u00d7 {table.num_columns} columns</p>")


def enable_notebook_display() -> bool:
    """Show pyarrow Tables as HTML tables in IPython; False outside IPython."""
    formatter = _html_formatter()
    if formatter is None:
        return False
    if "printer" not in _previous:
        _previous["printer"] = formatter.type_printers.get(pa.Table)
    formatter.for_type(pa.Table, render_table_html)
    return True


def disable_notebook_display() -> bool:
    """Undo enable_notebook_display(), restoring any printer it replaced; False
    when it was not active."""
    formatter = _html_formatter()
    if formatter is None or formatter.type_printers.get(pa.Table) is not render_table_html:
        return False
    previous = _previous.pop("printer", None)
    if previous is None:
        formatter.type_printers.pop(pa.Table, None)
    else:
        formatter.for_type(pa.Table, previous)
    return True


def auto_enable() -> None:
    """At import: register inside IPython unless TTF_NOTEBOOK_DISPLAY says no, and
    never over a printer the user installed."""
    if os.environ.get("TTF_NOTEBOOK_DISPLAY", "1").strip().lower() in ("0", "false", "no", "off"):
        return
    formatter = _html_formatter()
    if formatter is not None and pa.Table not in formatter.type_printers:
        enable_notebook_display()
