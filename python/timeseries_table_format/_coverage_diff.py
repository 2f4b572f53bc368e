"""Coverage diff and backfill plan as pyarrow Tables (TimeSeriesTable.coverage_diff,
TimeSeriesTable.plan_backfill).

The C library answers with rows of (entity, change, start, end, buckets,
missing_buckets); here entities are normalised to {column: value} dicts,
durations to bucket counts, and the rows become one pyarrow.Table with a
column per entity column, so polars and pandas take it as it is.
"""
from __future__ import annotations

import datetime as _dt
from typing import Any, Optional, Sequence

import pyarrow as pa

_SECONDS = {"s": 1, "m": 60, "h": 3600, "d": 86400}


def _kind(spec: dict) -> str:
    """index_spec() names things the 0.5+ way, or the 0.4 way for v6 tables."""
    return spec.get("index_type", spec.get("kind"))


def _granularity(spec: dict) -> Any:
    for key in ("index_granularity", "bucket", "bucket_width"):
        if key in spec:
            return spec[key]
    raise KeyError("index_granularity")


def _bucket_units(spec: dict) -> int:
    """The width of one bucket: seconds for timestamps, index units for integers."""
    if _kind(spec) == "timestamp":
        text = str(_granularity(spec)).strip().lower()
        return int(text[:-1]) * _SECONDS[text[-1]]
    return int(_granularity(spec))


def to_buckets(spec: dict, value: Any, what: str) -> int:
    """A length as a whole number of buckets: a timedelta (or "7d") for a
    timestamp index, an int of index units for an integer index."""
    if value is None:
        return 0
    width = _bucket_units(spec)
    if _kind(spec) == "timestamp":
        if isinstance(value, str):
            value = _dt.timedelta(seconds=int(value[:-1]) * _SECONDS[value[-1].lower()])
        if not isinstance(value, _dt.timedelta):
            raise TypeError(f"{what} must be a datetime.timedelta (or a string such as '7d') "
                            f"for a timestamp index, not {type(value).__name__}")
        micros = value // _dt.timedelta(microseconds=1)
        units, rest = divmod(micros, 1_000_000)
    else:
        if isinstance(value, bool) or not isinstance(value, int):
            raise TypeError(f"{what} must be an int (index units) for an integer index")
        units, rest = value, 0
    if units < 0 or rest or units % width:
        raise ValueError(f"{what}={value!r} is not a whole number of the table's buckets "
                         f"({_granularity(spec)})")
    return units // width


def entity_dicts(spec: dict, entities: Optional[Sequence[Any]]) -> Optional[list]:
    """None, or each entity as {column: value}: a dict as it is, a tuple in
    entity_columns order, or a bare value for a one-column entity."""
    if entities is None:
        return None
    if isinstance(entities, (str, bytes, dict, tuple)):
        entities = [entities]
    entities = list(entities)
    if not entities:
        raise ValueError("entities is empty: give None for every entity, or at least one")
    cols = list(spec["entity_columns"])
    out = []
    for e in entities:
        if isinstance(e, dict):
            out.append(e)
        elif isinstance(e, tuple):
            if len(e) != len(cols):
                raise ValueError(f"entity {e!r}: expected {len(cols)} values ({', '.join(cols)})")
            out.append(dict(zip(cols, e)))
        elif len(cols) == 1:
            out.append({cols[0]: e})
        else:
            raise ValueError(f"entity {e!r}: give a dict or a tuple for the entity columns "
                             f"{', '.join(cols)}")
    return out


def _index_type(spec: dict) -> pa.DataType:
    if _kind(spec) == "timestamp":
        return pa.timestamp("us", tz="UTC")
    return pa.int64() if _kind(spec) == "int64" else pa.uint64()


def to_table(spec: dict, rows: list, plan: bool) -> pa.Table:
    cols = list(spec["entity_columns"])
    data: dict = {}
    for j, c in enumerate(cols):
        data[c] = [r[0][c] if r[0] is not None else None for r in rows]
    if not plan:
        data["change"] = pa.array([r[1] for r in rows], pa.string())
    data["start"] = pa.array([r[2] for r in rows], _index_type(spec))
    data["end"] = pa.array([r[3] for r in rows], _index_type(spec))
    data["buckets"] = pa.array([r[4] for r in rows], pa.uint64())
    if plan:
        data["missing_buckets"] = pa.array([r[5] for r in rows], pa.uint64())
    return pa.table(data)
