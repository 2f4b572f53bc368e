"""Native results as pyarrow objects.

The extension hands results out as Arrow C streams; pyarrow imports them
through the PyCapsule interface, taking over the buffers without copying
them. An empty result still carries its schema.
"""
from __future__ import annotations

from typing import Any

import pyarrow as pa


def require_from_stream(api_name: str) -> Any:
    """pyarrow.RecordBatchReader.from_stream (pyarrow 15+), or ImportError saying so;
    checked before the native call so that no query runs for nothing."""
    from_stream = getattr(pa.RecordBatchReader, "from_stream", None)
    if from_stream is None:
        raise ImportError(f"pyarrow.RecordBatchReader.from_stream is required for {api_name}(...) "
                          f"(pyarrow {getattr(pa, '__version__', '?')} has none); install "
                          "pyarrow 15 or later")
    return from_stream


def to_table(native_result: Any, api_name: str = "this call") -> pa.Table:
    return require_from_stream(api_name)(native_result).read_all()


def to_reader(native_reader: Any, api_name: str = "this call") -> pa.RecordBatchReader:
    return require_from_stream(api_name)(native_reader)
