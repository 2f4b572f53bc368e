"""migrate(): a format_version-6 table (tstable --protocol 6, the reference 0.4.0) into a new
protocol-7 table (the reference 0.5 to 0.9), and MigrateReport, what it did.

The reference has no Python function for this (it ships a one-off script,
scripts/migrate_table_v6_to_protocol_v7.py); this one does the same transformation through
libtstable's tst_table_migrate (tstable/migrate.h), which also carries files by hard link
where it can and never leaves a half-written destination.
"""
from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Union

from . import _native

PathLike = Union[str, "os.PathLike[str]"]


@dataclass(frozen=True)
class MigrateReport:
    """What one migration did (read-only)."""

    version: int                      #: the migrated version: CURRENT of both tables
    commits_rewritten: int            #: commit files written (= version)
    metas_rewritten: int              #: TableMeta actions turned into protocol 7
    coverage_pointers_rewritten: int  #: UpdateTableCoverage actions (index_kind renamed)
    live_segments: int                #: segments of the migrated version
    files_linked: int                 #: files outside the log shared by a hard link
    bytes_linked: int
    files_copied: int                 #: files outside the log copied
    bytes_copied: int
    log_entries_dropped: int          #: checkpoints, abandoned commits, temp files not carried
    checkpoint_written: bool          #: a protocol-7 checkpoint was written (long logs)


def migrate(source_root: PathLike, destination_root: PathLike, *,
            copy: bool = False) -> MigrateReport:
    """Turn the format_version-6 table at source_root into a new protocol-7 table.

    destination_root must not exist; it appears complete or not at all. The source is not
    changed (0.4 tools keep reading it). Every commit is rewritten with the same versions and
    timestamps (format_version -> protocol_version 7 with empty feature lists,
    bucket / bucket_width -> index_granularity); data and coverage files keep their paths
    and bytes, hard-linked where the file system allows, else copied (copy=True always
    copies). Stop writers of the source while it runs.

    Raises TimeseriesTableError (a protocol-7 source, an existing destination, a destination
    inside the source), StorageError for I/O failures, ConflictError if the source moved
    meanwhile. Open the result with TimeSeriesTable.open(destination_root).
    """
    fields = _native._migrate(os.fspath(source_root), os.fspath(destination_root), bool(copy))
    return MigrateReport(**fields)
