"""OptimizeReport: what TimeSeriesTable.optimize() did, with the reference's names.

The reference (0.4.0 and later) returns an OptimizeReport object with
read-only properties; this class has the same properties, built from the
dict the native method returns, plus `attempts` (commit attempts: more
than 1 when other writers committed first and the optimize rebased onto
them). It compares equal to another report with the same fields, pickles,
and its repr names every field.
"""
from __future__ import annotations

from typing import Any, Mapping

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
)


class OptimizeReport:
    """Result of one entity-layout optimization operation (read-only)."""

    __slots__ = ("_fields",)

    def __init__(self, fields: Mapping[str, Any]) -> None:
        object.__setattr__(self, "_fields", {name: fields.get(name) for name, _ in _FIELDS})

    def __setattr__(self, name: str, value: Any) -> None:
        raise AttributeError("OptimizeReport is read-only")

    def __reduce__(self):
        return (OptimizeReport, (dict(self._fields),))

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, OptimizeReport):
            return NotImplemented
        return self._fields == other._fields

    __hash__ = None  # equal reports need not hash alike; it is a record, not a key

    def __repr__(self) -> str:
        body = ", ".join(f"{name}={self._fields[name]!r}" for name, _ in _FIELDS)
        return f"OptimizeReport({body})"

    def to_dict(self) -> dict:
        """The fields as a plain dict."""
        return dict(self._fields)


def _field_property(name: str, doc: str) -> property:
    return property(lambda self: self._fields[name], doc=doc[0].upper() + doc[1:] + ".")


for _name, _doc in _FIELDS:
    setattr(OptimizeReport, _name, _field_property(_name, _doc))
del _name, _doc
