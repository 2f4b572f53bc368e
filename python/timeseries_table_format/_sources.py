"""What append() accepts, turned into one Arrow C stream.

The native append reads any object with `__arrow_c_stream__` (the Arrow
PyCapsule interface): pyarrow Tables and RecordBatchReaders, polars
DataFrames, DuckDB relations, and this package's own results. Three kinds
need a step first: a pyarrow RecordBatch (a Table of one batch), a pandas
DataFrame (through pyarrow, without its index, which is not a column of
the table), and a polars LazyFrame (refused: collect it first, so the rows
appended are the ones the caller chose to compute).
"""
from __future__ import annotations

import itertools
import os
import sys
from typing import Any

import pyarrow as pa

ACCEPTED = ("a pyarrow Table, RecordBatch or RecordBatchReader, a polars DataFrame, a pandas "
            "DataFrame, or any object implementing __arrow_c_stream__")


def _is_instance(obj: Any, module: str, name: str) -> bool:
    """isinstance() against a class of a module the caller may not have imported."""
    mod = sys.modules.get(module)
    cls = getattr(mod, name, None) if mod is not None else None
    return cls is not None and isinstance(obj, cls)


def arrow_stream_source(obj: Any) -> Any:
    """An object with __arrow_c_stream__ holding obj's rows, or TypeError."""
    if isinstance(obj, pa.RecordBatch):
        return pa.Table.from_batches([obj])
    if _is_instance(obj, "pandas", "DataFrame"):
        # preserve_index=False: the index (a RangeIndex or otherwise) is not a column.
        return pa.Table.from_pandas(obj, preserve_index=False)
    if _is_instance(obj, "polars", "LazyFrame"):
        raise TypeError("append() takes rows, not a query plan: pass lazy_frame.collect()")
    if hasattr(obj, "__arrow_c_stream__"):
        return obj
    if isinstance(obj, (str, bytes, os.PathLike)):
        raise TypeError(f"append() takes Arrow data, not a path ({obj!r}): use "
                        "append_parquet(path) or append_csv(path) for files")
    raise TypeError(f"append() takes {ACCEPTED}; got {type(obj).__module__}."
                    f"{type(obj).__qualname__}")


def _positive(value: Any, name: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
        raise ValueError(f"{name} must be a positive int or None, not {value!r}")
    return value


def rows_per_group(source: Any, max_rows: Any, max_bytes: Any) -> tuple:
    """(source, rows per row group) for the writer options of append().

    The engine limits row groups by rows only, so a byte limit becomes rows
    from the data's Arrow size per row: a table's whole size, or a stream's
    first batch (read here and put back in front of the rest). Like the
    reference's limit it is an estimate, not a ceiling on the bytes written."""
    if max_rows is not None:
        _positive(max_rows, "max_rows_per_row_group")
    if max_bytes is None:
        return source, max_rows
    _positive(max_bytes, "max_bytes_per_row_group")
    if isinstance(source, pa.Table):
        sample = source
    else:
        reader = pa.RecordBatchReader.from_stream(source)
        try:
            sample = reader.read_next_batch()
        except StopIteration:
            return pa.RecordBatchReader.from_batches(reader.schema, []), max_rows
        source = pa.RecordBatchReader.from_batches(reader.schema,
                                                   itertools.chain([sample], reader))
    width = max(sample.nbytes / max(sample.num_rows, 1), 1.0)
    rows = max(1, int(max_bytes // width))
    return source, rows if max_rows is None else min(rows, max_rows)
