"""Session: SQL over registered tables and files, with pyarrow results.

The native session (python/src/session.c) runs statements on DuckDB with
time-range and entity pruning; this layer hands its Arrow streams out as
`pyarrow.Table` (sql) and `pyarrow.RecordBatchReader` (sql_reader), as the
reference does.
"""
from __future__ import annotations

from typing import Any, Optional

import pyarrow as pa

from . import _native, _travel
from ._results import require_from_stream, to_reader, to_table


class Session(_native.Session):
    __doc__ = _native.Session.__doc__

    def register_tstable(self, name: str, table_root: Any, version: Optional[int] = None,
                         as_of: Any = None) -> None:
        """Register the table at table_root as `name`. Statements read its newest
        version (each one refreshes it) unless version= or as_of= pins it, as
        TimeSeriesTable.open takes them (as_of is resolved once, now). Inside a
        statement, "name@v12" or "name@2024-06-01T09:30:00Z" (quoted) reads
        another version of a registered table, e.g. to compare two versions."""
        pinned_version, instant = _travel.pin(version, as_of)
        super().register_tstable(name, table_root, _version=pinned_version, _as_of=instant)

    def sql(self, query: str, params: Any = None, require_coverage: Any = False,
            calendar: Any = None) -> pa.Table:
        """Run one SQL statement and return its rows as a pyarrow.Table (an empty
        result keeps its columns). params binds $1, $2, ... (a list or tuple)
        or $name (a dict): None, bool, int (-2**63 .. 2**64-1), float, str,
        bytes, Decimal, datetime (naive means UTC) and date.

        require_coverage=True first checks that every (entity, bucket) slot the
        statement reads of each registered tstable is covered, and raises
        IncompleteCoverageError (with .missing) without running it if not;
        "warn" issues a CoverageWarning instead and runs it. A range side with
        no bound reaches the table's covered extent; no entity equality means
        every entity (docs/guide/guaranteed-reads.md). calendar (a spec str or a
        dict, as the coverage methods take) asks only the buckets it expects, so
        nights and holidays are not missing."""
        require_from_stream("Session.sql")
        return to_table(super().sql(query, params, require_coverage, calendar), "Session.sql")

    def sql_reader(self, query: str, params: Any = None,
                   require_coverage: Any = False, calendar: Any = None) -> pa.RecordBatchReader:
        """Like sql(), streamed: a pyarrow.RecordBatchReader. Until it is read to the
        end or closed, other calls on this session raise TimeseriesTableError."""
        require_from_stream("Session.sql_reader")
        return to_reader(super().sql_reader(query, params, require_coverage, calendar),
                         "Session.sql_reader")

    def __repr__(self) -> str:
        return f"Session(tables={self.tables()!r})"
