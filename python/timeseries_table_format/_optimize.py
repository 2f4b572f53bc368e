"""OptimizeReport: what TimeSeriesTable.optimize() did, with the reference's names.

In compaction (optimize(mode="compact")), candidate_source_segments and
source_segments_replaced count the segments read and replacement_segments_written
the segments written; segments_before/after, bytes_read/written, window and
the targets are set (None in the entity layout).

The reference (0.4.0 and later) returns an OptimizeReport object with
read-only properties; this class has the same properties, built from the
dict the native method returns, plus `attempts` (commit attempts: more
than 1 when other writers committed first and the optimize rebased onto
them). It compares equal to another report with the same fields, pickles,
and its repr names every field.
"""
from __future__ import annotations

from ._record import report_class

_FIELDS = (
    ("starting_version", "table version used to select optimization candidates"),
    ("committed_version", "committed replacement version, or starting_version for a no-op"),
    ("candidate_source_segments", "mixed source segments selected from the starting snapshot"),
    ("source_segments_replaced", "selected source segments removed by the committed rewrite"),
    ("replacement_segments_written", "verified single-entity replacement segments written"),
    ("distinct_identities_materialized", "unique complete identities represented by the "
                                         "replacements"),
    ("rows_read", "logical rows read from selected source segments"),
    ("rows_written", "logical rows written to committed replacement segments"),
    ("no_op", "whether no mixed live segments required rewriting"),
    ("attempts", "commit attempts (0 for a no-op; more than 1 after rebasing onto other "
                 "writers' commits)"),
    ("mode", "'entity_layout' (the reference's optimize) or 'compact'"),
    # Compaction only (None in the entity layout):
    ("segments_before", "live segments before the compaction"),
    ("segments_after", "live segments after it (segments_before - segments read + written)"),
    ("bytes_read", "file bytes of the segments read"),
    ("bytes_written", "file bytes of the segments written"),
    ("window", "the window used, in index units (seconds for timestamp indexes)"),
    ("target_rows", "the row target used"),
    ("target_bytes", "the byte target used"),
)


OptimizeReport = report_class("OptimizeReport", _FIELDS,
                              "Result of one entity-layout optimization operation (read-only).")
OptimizeReport.__module__ = __name__
