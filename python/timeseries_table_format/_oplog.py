"""Operation records: one INFO record per completed table operation.

The reference 0.9 logs each operation it completes (create, open, append,
optimize, add_columns, update_rows) through Python logging, under loggers
below "timeseries_table_format" ("timeseries_table_format.table" here),
with the operation's event name, the versions it started from and committed,
and its outcome. This package does the same from its Python layer.

A record names no user data: no row values, no column or entity names, no
SQL text or parameters and no table path, only the event, counts and
versions; failures are reported by the exception alone (no ERROR record).
A logging handler that fails never fails the operation (logging's own
handleError policy applies).
"""
from __future__ import annotations

import logging
from typing import Any

table_logger = logging.getLogger("timeseries_table_format.table")


def succeeded(event: str, summary: str, **fields: Any) -> None:
    """Log `<summary> event="<event>" <k>=<v>... outcome="succeeded"` at INFO."""
    if not table_logger.isEnabledFor(logging.INFO):
        return
    parts = [summary, f'event="{event}"']
    parts += [f"{name}={value}" for name, value in fields.items() if value is not None]
    parts.append('outcome="succeeded"')
    try:
        table_logger.info(" ".join(parts), extra={"tstable_event": event})
    except Exception:  # a broken handler must not turn a committed operation into a failure
        pass
