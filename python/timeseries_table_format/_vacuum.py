"""VacuumReport, VacuumArtifact, VacuumApplyError: TimeSeriesTable.vacuum()'s
results, with the reference 0.9.0's names and shapes.

The reference's report lists every file vacuum considered (below data/ and
_coverage/) with a disposition ("retained", "removable", "deleted",
"already_absent") and a reason ("referenced_by_commit", "within_retention",
"changed_since_planning", "unrecognized_artifact", "unreferenced",
"invalid_or_unreadable_parquet"). Ours also considers the log's checkpoints,
temp files and abandoned commits, with three reasons of its own
("needed_checkpoint", "superseded_checkpoint", "interrupted_write"), and adds
two fields: oldest_retained_version (V0: versions before it may have lost
their files) and folders_removed (emptied staging folders).
"""
from __future__ import annotations

from typing import Any, Mapping

from ._native import StorageError
from ._record import report_class

_ARTIFACT_FIELDS = (
    ("path", "canonical table-relative path"),
    ("size_bytes", "latest file size observed by this invocation"),
    ("modified_at", "latest modification time observed by this invocation (UTC)"),
    ("disposition", "action taken or proposed: retained, removable, deleted, already_absent"),
    ("reason", "reason for the disposition"),
    ("referenced_by_commit_version", "oldest retained version naming the file, for "
                                     "referenced_by_commit; else None"),
)

VacuumArtifact = report_class("VacuumArtifact", _ARTIFACT_FIELDS,
                              "Vacuum classification for one considered file (read-only).")
VacuumArtifact.__module__ = __name__

_REPORT_FIELDS = (
    ("table_version", "latest validated transaction-log version used for deletion safety"),
    ("older_than", "exclusive upper bound on removable file modification times (UTC)"),
    ("mode", "dry_run or apply"),
    ("artifacts", "every file considered, as VacuumArtifact, sorted by path"),
    ("considered_files", "number of files considered"),
    ("retained_files", "number of files retained"),
    ("removable_files", "number of files reported as removable by a dry run"),
    ("deleted_files", "number of files removed by apply"),
    ("already_absent_files", "number of candidates already absent when apply removed them"),
    ("considered_bytes", "bytes across every considered file"),
    ("retained_bytes", "bytes retained"),
    ("removable_bytes", "bytes reported as removable by a dry run"),
    ("deleted_bytes", "bytes removed by apply"),
    ("already_absent_bytes", "bytes last observed for candidates already absent"),
    ("oldest_retained_version", "the oldest version whose files are all kept (tstable "
                                "extension; 1 unless expire_history)"),
    ("folders_removed", "emptied staging folders removed (tstable extension)"),
)

VacuumReport = report_class("VacuumReport", _REPORT_FIELDS,
                            "Structured result of one vacuum invocation (read-only).")
VacuumReport.__module__ = __name__


def make_report(values: Mapping[str, Any]) -> Any:
    """A VacuumReport from the native dict (artifacts as VacuumArtifact)."""
    values = dict(values)
    values["artifacts"] = [VacuumArtifact(a) for a in values.get("artifacts", ())]
    return VacuumReport(values)


class VacuumApplyError(StorageError):
    """A vacuum could not delete every file it chose (the reference 0.5+ name);
    `partial_report` records the deletions completed before the failure and
    `path` names the file (or the table) that failed."""
