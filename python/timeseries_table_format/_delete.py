"""DeleteReport and the argument rules of TimeSeriesTable.delete_rows().

delete_rows() removes the rows of a range, of some entities or of all, and
their coverage, in one commit (include/tstable/delete.h, docs/guide/
corrections.md). Entities are given as the coverage methods take one:
a {column: value} dict naming every entity column; several as a list of
such dicts; for a table with one entity column a bare value will do.
"""
from __future__ import annotations

from typing import Any, List, Optional

from ._record import report_class

_FIELDS = (
    ("starting_version", "the table version the segments were chosen at"),
    ("committed_version", "the committed version, or starting_version for a no-op"),
    ("rows_deleted", "rows removed"),
    ("segments_removed", "segments removed whole (every row was in the range)"),
    ("segments_rewritten", "segments replaced by a rewrite holding the rows kept"),
    ("buckets_uncovered", "(entity, bucket) pairs the table no longer covers"),
    ("no_op", "whether no row matched (nothing written or committed)"),
    ("attempts", "commit attempts (0 for a no-op; more than 1 after rebasing onto other "
                 "writers' commits)"),
)

DeleteReport = report_class("DeleteReport", _FIELDS,
                            "Result of one delete of a range's rows and coverage (read-only).")
DeleteReport.__module__ = __name__


def _argument_error(cls: type, message: str, root: str) -> Exception:
    err = cls(message)
    err.table_root = root
    return err


def delete_entities(entities: Any, entity_columns: List[str], root: str) -> Optional[list]:
    """entities as a list of {column: value} dicts, or None for every entity."""
    if entities is None:
        return None
    if isinstance(entities, dict):
        return [entities]
    if isinstance(entities, (str, int)) or not hasattr(entities, "__iter__"):
        entities = [entities]
    out = []
    for e in entities:
        if isinstance(e, dict):
            out.append(e)
        elif len(entity_columns) == 1 and isinstance(e, (str, int)) and not isinstance(e, bool):
            out.append({entity_columns[0]: e})
        else:
            raise _argument_error(TypeError, f"an entity is a dict of entity column to value "
                                  f"(a bare value for a one-column entity), not {e!r}", root)
    if not out:
        raise _argument_error(ValueError, "entities is empty: pass None to delete the range "
                              "of every entity", root)
    return out


def delete_expected_version(version: Any, root: str) -> int:
    """The expected version: None (0: any) or an int in 1..2**64-1."""
    if version is None:
        return 0
    if not isinstance(version, int) or isinstance(version, bool):
        raise _argument_error(TypeError, f"expected_version must be an int (the table's "
                              f"version) or None, not {version!r}", root)
    if not 1 <= version < 2 ** 64:
        raise _argument_error(ValueError, f"expected_version must be between 1 and 2**64-1, "
                              f"not {version}", root)
    return version
