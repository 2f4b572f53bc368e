"""What a write did: AppendReport, an int (the committed version) that also
carries the details of the append.

The reference's 0.4 `append_parquet()` returned the new version as an int,
and its 0.5+ `append()` returns an AppendReport; this class is both, so code
written for either keeps working: `v = t.append_parquet(p)` compares, formats
and serialises as the version, and `report.row_count` etc. are there too.
"""
from __future__ import annotations

import html
import os
from typing import Any, Dict, Mapping, Optional

_FIELDS = (
    ("committed_version", "the table version this append committed"),
    ("starting_version", "the version the handle held when the append started"),
    ("segment_path", "the new segment, relative to the table root"),
    ("row_count", "rows in the new segment"),
    ("file_size_bytes", "size of the new segment file"),
    ("copied", "True: the source file's bytes were copied; False: re-encoded"),
    ("attempts", "commit attempts (more than 1: other writers committed first and "
                 "the append rebased onto them)"),
    ("compression", "the codec of a re-encoded segment; None when the file was copied"),
    ("max_rows_per_row_group", "the row limit per row group the segment was written with "
                               "(DuckDB's 122,880 unless given); None when the file was copied"),
    ("max_bytes_per_row_group", "the byte limit given to append(), else None"),
    ("on_overlap", "reject, skip or replace: what was done with pairs the table covered"),
    ("no_op", "True when skip left out every row: nothing was written or committed"),
    ("rows_skipped", "skip: source rows left out because the table covered their bucket"),
    ("buckets_skipped", "skip: the (entity, bucket) pairs those rows were in"),
    ("rows_replaced", "replace: stored rows removed because the source replaced them"),
    ("buckets_replaced", "replace: the (entity, bucket) pairs replaced"),
    ("segments_removed", "replace: segments removed whole"),
    ("segments_rewritten", "replace: segments rewritten keeping their other rows"),
    ("moved", "append_parquet(move=True): True when the file was moved into the table "
              "(hard-linked, its old name removed); False when it was copied or re-encoded"),
)

# DuckDB's Parquet writer default (ROW_GROUP_SIZE), used when no limit is given.
ENGINE_ROW_GROUP_ROWS = 122_880


class AppendReport(int):
    """The result of one committed append; its int value is committed_version."""

    def __new__(cls, fields: Mapping[str, Any], table_root: Optional[str] = None) -> "AppendReport":
        report = super().__new__(cls, int(fields["committed_version"]))
        values = {name: fields.get(name) for name, _ in _FIELDS}
        if values["copied"]:
            values["compression"] = None
            values["max_rows_per_row_group"] = None
        elif values["max_rows_per_row_group"] is None:
            values["max_rows_per_row_group"] = ENGINE_ROW_GROUP_ROWS
        object.__setattr__(report, "_fields", values)
        object.__setattr__(report, "_table_root", table_root)
        return report

    def __setattr__(self, name: str, value: Any) -> None:
        raise AttributeError("AppendReport is read-only")

    def __reduce__(self):
        return (AppendReport, (dict(self._fields), self._table_root))

    @property
    def committed_version(self) -> int:
        return self._fields["committed_version"]

    @property
    def starting_version(self) -> int:
        return self._fields["starting_version"]

    @property
    def segment_path(self) -> str:
        return self._fields["segment_path"]

    @property
    def row_count(self) -> int:
        return self._fields["row_count"]

    @property
    def file_size_bytes(self) -> int:
        return self._fields["file_size_bytes"]

    @property
    def copied(self) -> bool:
        return self._fields["copied"]

    @property
    def attempts(self) -> int:
        return self._fields["attempts"]

    @property
    def compression(self) -> Optional[str]:
        return self._fields["compression"]

    @property
    def max_rows_per_row_group(self) -> Optional[int]:
        return self._fields["max_rows_per_row_group"]

    @property
    def max_bytes_per_row_group(self) -> Optional[int]:
        return self._fields["max_bytes_per_row_group"]

    @property
    def on_overlap(self) -> str:
        return self._fields["on_overlap"]

    @property
    def no_op(self) -> bool:
        return self._fields["no_op"]

    @property
    def rows_skipped(self) -> int:
        return self._fields["rows_skipped"]

    @property
    def buckets_skipped(self) -> int:
        return self._fields["buckets_skipped"]

    @property
    def rows_replaced(self) -> int:
        return self._fields["rows_replaced"]

    @property
    def buckets_replaced(self) -> int:
        return self._fields["buckets_replaced"]

    @property
    def segments_removed(self) -> int:
        return self._fields["segments_removed"]

    @property
    def moved(self) -> bool:
        return bool(self._fields["moved"])

    @property
    def segments_rewritten(self) -> int:
        return self._fields["segments_rewritten"]

    @property
    def row_group_count(self) -> int:
        """Row groups in the new segment, read from its Parquet footer when asked
        (the reference 0.5+ reports it; a segment never changes, so this is
        its count for good)."""
        if self._table_root is None:
            raise AttributeError("row_group_count needs the table root this report came from")
        import pyarrow.parquet as pq
        path = os.path.join(self._table_root, self._fields["segment_path"])
        return pq.ParquetFile(path).metadata.num_row_groups

    def to_dict(self) -> Dict[str, Any]:
        return dict(self._fields)

    # print(report) and str(report) show the version, as the int it replaces did.
    __str__ = int.__repr__

    def __repr__(self) -> str:
        inner = ", ".join(f"{name}={self._fields[name]!r}" for name, _ in _FIELDS)
        return f"AppendReport({inner})"

    def _repr_html_(self) -> str:
        rows = "".join(
            f"<tr><th style='text-align:left'>{name}</th><td>{html.escape(str(self._fields[name]))}"
            f"</td><td style='color:#777'>{html.escape(doc)}</td></tr>"
            for name, doc in _FIELDS)
        return f"<table><caption>AppendReport</caption>{rows}</table>"
