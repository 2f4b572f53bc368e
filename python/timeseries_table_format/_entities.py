"""TimeSeriesTable.entities() and the warning for an entity a table never saw.

entities(now=None) is the Python face of `tstable entities` and SQL's
tstable_freshness(): one row per entity (canonical order; one row for a
table without entity columns) with its extent, gaps, ratio and lag, as a
pyarrow Table typed after the table: entity columns as in its schema, first
and last as timestamps in the index column's unit and zone, lag as a
duration in that unit (integer indexes: first/last in the index's type and
lag as an int64 of index units, null without now). It is built from
coverage_summary(), which the C library answers from the coverage snapshot.

UnknownEntityWarning: coverage_ratio, coverage, gaps, max_gap and
last_fully_covered_window answer for an entity the table has never seen
(it covers nothing) but warn, naming the nearest known names as the CLI
does: "symbol=NVDAA never occurs in the table; nearest: NVDA, NVDS".
"""
from __future__ import annotations

import datetime as _dt
import re
import warnings
from typing import Any, List, Optional

import pyarrow as pa


class UnknownEntityWarning(UserWarning):
    """An entity the table has never seen was asked about (it covers nothing)."""


_TS = re.compile(r"timestamp\[(s|ms|us|ns)\](?:\((.*)\))?")
_SIMPLE = {"utf8": pa.string(), "large_utf8": pa.large_string(), "int32": pa.int32(),
           "int64": pa.int64(), "uint64": pa.uint64()}


def _column_type(schema: Optional[list], name: str, default: pa.DataType) -> pa.DataType:
    for c in schema or []:
        if c["name"] != name:
            continue
        m = _TS.fullmatch(c["type"])
        if m:
            return pa.timestamp(m.group(1), tz=m.group(2) or None)
        return _SIMPLE.get(c["type"], default)
    return default


def _now_for(kind: str, now: Any) -> Any:
    if kind != "timestamp":
        if now is not None and (isinstance(now, bool) or not isinstance(now, int)):
            raise TypeError(f"entities(): now must be an int for an integer index, not {now!r}")
        return now
    if now is None:
        return _dt.datetime.now(_dt.timezone.utc)
    if isinstance(now, str):
        now = _dt.datetime.fromisoformat(now.replace("Z", "+00:00"))
    if not isinstance(now, _dt.datetime):
        raise TypeError(f"entities(): now must be a datetime or ISO text, not {now!r}")
    return now if now.tzinfo else now.replace(tzinfo=_dt.timezone.utc)  # naive: UTC


def entities_table(table: Any, now: Any = None) -> pa.Table:
    spec = table.index_spec()
    kind = spec.get("index_type", spec.get("kind"))
    index_column = spec.get("index_column", spec.get("column"))
    cols: List[str] = list(spec["entity_columns"])
    schema = table.schema()
    rows = table.coverage_summary() if table.segments() else []
    now = _now_for(kind, now)
    data: dict = {}
    for c in cols:
        data[c] = pa.array([r["entity"][c] for r in rows], _column_type(schema, c, pa.string()))
    if kind == "timestamp":
        ts = _column_type(schema, index_column, pa.timestamp("us", tz="UTC"))
        lag_type = pa.duration(ts.unit)
        lags = [now - r["last"] if r["covered"] else None for r in rows]
    else:
        ts = pa.int64() if kind == "int64" else pa.uint64()
        lag_type = pa.int64()
        lags = [now - r["last"] if r["covered"] and now is not None else None for r in rows]
    data["first"] = pa.array([r["first"] for r in rows], ts)
    data["last"] = pa.array([r["last"] for r in rows], ts)
    data["covered_buckets"] = pa.array([r["covered_buckets"] for r in rows], pa.uint64())
    data["gaps"] = pa.array([r["gaps"] for r in rows], pa.uint64())
    data["missing_buckets"] = pa.array([r["missing_buckets"] for r in rows], pa.uint64())
    extent = [r["covered_buckets"] + r["missing_buckets"] for r in rows]
    data["ratio"] = pa.array([r["covered_buckets"] / e if e else 0.0
                              for r, e in zip(rows, extent)], pa.float64())
    data["lag"] = pa.array(lags, lag_type)
    return pa.table(data)


# ---- nearest names ------------------------------------------------------------------------

def _distance(a: str, b: str) -> int:
    a, b = a.lower(), b.lower()
    row = list(range(len(b) + 1))
    for i, ca in enumerate(a, 1):
        diag, row[0] = row[0], i
        for j, cb in enumerate(b, 1):
            up = row[j]
            row[j] = min(up + 1, row[j - 1] + 1, diag + (ca != cb))
            diag = up
    return row[-1]


def _named(cols: List[str], entity: dict) -> str:
    return ",".join(f"{c}={entity[c]}" for c in cols)


def nearest(query: str, names: List[str], limit: int = 3) -> List[str]:
    """Up to `limit` names within max(2, len(query) // 3) edits, nearest first
    (ties in the order given), as the CLI picks them (src/cli/entity_list.c)."""
    far = max(2, len(query) // 3)
    seen, scored = set(), []
    for i, n in enumerate(names):
        d = _distance(query, n)
        if d <= far and n not in seen:
            seen.add(n)
            scored.append((d, i, n))
    return [n for _, _, n in sorted(scored)[:limit]]


def warn_if_unknown(table: Any, entity: Any, stacklevel: int = 3) -> None:
    if entity is None or table._entity_known(entity):
        return
    cols = list(table.index_spec()["entity_columns"])
    known = [r["entity"] for r in table.coverage_summary()] if table.segments() else []
    if len(cols) == 1:
        value = entity[cols[0]] if isinstance(entity, dict) else entity
        query, names = str(value), [str(e[cols[0]]) for e in known]
        what = f"{cols[0]}={value}"
    else:
        query = what = _named(cols, entity)
        names = [_named(cols, e) for e in known]
    near = nearest(query, names)
    tail = f"; nearest: {', '.join(near)}" if near else ""
    warnings.warn(f"{what} never occurs in the table{tail}", UnknownEntityWarning,
                  stacklevel=stacklevel)
