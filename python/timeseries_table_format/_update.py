"""UpdateRowsReport and the argument rules of TimeSeriesTable.update_rows().

The report has the reference's (0.8+) UpdateRowsReport properties, plus
`attempts` (more than 1 when other writers committed first and the update
rebased onto them). The argument checks follow the reference: wrong types
are TypeError and out-of-range versions ValueError, before the source is
exported, each carrying `table_root`. A key failure's `example_key` comes
from the library as JSON (index values as integers in the table's unit)
and is given back as a dict, timestamps as pyarrow TimestampScalar.
"""
from __future__ import annotations

import json
import re
from typing import Any, Optional, Tuple

import pyarrow as pa

from ._record import report_class

_FIELDS = (
    ("starting_version", "the expected_version the update was built on"),
    ("committed_version", "the committed version, or starting_version for a no-op"),
    ("rows_updated", "source rows, each of which updated one stored row"),
    ("segments_rewritten", "segments replaced by rewritten copies"),
    ("source_file_bytes", "bytes of the segments replaced"),
    ("replacement_file_bytes", "bytes of their replacements"),
    ("no_op", "whether the source was empty (nothing written or committed)"),
    ("attempts", "commit attempts (0 for a no-op; more than 1 after rebasing onto other "
                 "writers' commits)"),
)

UpdateRowsReport = report_class("UpdateRowsReport", _FIELDS,
                                "Result of one keyed update of stored values (read-only).")
UpdateRowsReport.__module__ = __name__


def _argument_error(cls: type, message: str, root: str) -> Exception:
    err = cls(message)
    err.table_root = root
    return err


def update_columns(columns: Any, root: str) -> Tuple[str, ...]:
    """columns as a tuple of str: a list or tuple of str, nothing else."""
    if not isinstance(columns, (list, tuple)) or not all(isinstance(c, str) for c in columns):
        raise _argument_error(TypeError, f"columns must be a list or tuple of column names "
                              f"(str), not {columns!r}", root)
    return tuple(columns)


def expected_version(version: Any, root: str) -> int:
    """The expected version: an int in 1..2**64-1."""
    if not isinstance(version, int) or isinstance(version, bool):
        raise _argument_error(TypeError, f"expected_version must be an int (the table's "
                              f"version), not {version!r}", root)
    if not 1 <= version < 2 ** 64:
        raise _argument_error(ValueError, f"expected_version must be between 1 and 2**64-1, "
                              f"not {version}", root)
    return version


def _timestamp_type(type_text: str) -> Optional[pa.DataType]:
    m = re.fullmatch(r"timestamp\[(s|ms|us|ns)\](?:\((.*)\))?", type_text)
    return pa.timestamp(m.group(1), m.group(2)) if m else None


def example_key(text: Optional[str], schema: Optional[list], index_column: str) -> Any:
    """The library's JSON example key as a dict; the index as a TimestampScalar
    for a timestamp index."""
    if not text:
        return None
    key = json.loads(text)
    types = {f["name"]: f["type"] for f in schema or []}
    ts = _timestamp_type(types.get(index_column, ""))
    if ts is not None and key.get(index_column) is not None:
        key[index_column] = pa.scalar(key[index_column], type=ts)
    return key
