"""Native results as pyarrow objects.

The extension hands results out as Arrow C streams; pyarrow imports them
through the PyCapsule interface, taking over the buffers without copying
them. An empty result still carries its schema.
"""
from __future__ import annotations

from typing import Any

import pyarrow as pa


def to_table(native_result: Any) -> pa.Table:
    return pa.RecordBatchReader.from_stream(native_result).read_all()


def to_reader(native_reader: Any) -> pa.RecordBatchReader:
    return pa.RecordBatchReader.from_stream(native_reader)
