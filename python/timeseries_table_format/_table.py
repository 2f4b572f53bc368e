"""TimeSeriesTable: the native table handle, with pyarrow results and the
reference's spellings.

The native class (python/src/table.c, coverage.c) does the work; this layer
only shapes arguments and results: `index_granularity` (0.5+) next to
`bucket`/`bucket_width` (0.4) and `time_column` (the first releases),
AppendReport instead of a bare version, pyarrow Tables and readers instead
of the extension's own stream objects.
"""
from __future__ import annotations

import datetime as _dt
import html
import os
from typing import Any, Optional, Sequence

import pyarrow as pa

from . import _entities, _native, _oplog, _plot, _travel
from ._native import CoverageOverlapError, StorageError, TimeseriesTableError
from ._delete import DeleteReport, delete_entities, delete_expected_version
from ._optimize import OptimizeReport
from ._vacuum import VacuumApplyError, make_report as _vacuum_report
from ._update import UpdateRowsReport, example_key, expected_version, update_columns
from ._reports import AppendReport
from ._results import to_reader, to_table
from ._sources import arrow_stream_source, rows_per_group


_update_expected_version = expected_version


_U64_MAX = 2**64 - 1
_TIME_FORM = "must be a string using s, m, h, or d units for timestamp indexes"
_INT_FORM = f"must be a Python int in 1..={_U64_MAX} for integer indexes"


class _CreateOptionError(TimeseriesTableError, ValueError):
    """A create() option with a wrong value (also a ValueError, as before 0.9)."""


class _CreateOptionTypeError(TimeseriesTableError, TypeError):
    """A create() option of the wrong type or missing (also a TypeError)."""


def _create_option_error(cls: type, table_root: Any, index_type: Any, field: str,
                         reason: str) -> TimeseriesTableError:
    """The reference 0.9 form: 'invalid <field> for index_type "<t>" (table_root=<r>): <reason>',
    with table_root and index_type attributes; raised before any file is touched."""
    try:
        root = os.fspath(table_root)
    except TypeError:
        root = str(table_root)
    root = root.decode(errors="replace") if isinstance(root, bytes) else root
    shown = "" if index_type is None else str(index_type)
    error = cls(f"invalid {field} for index_type \"{shown}\" (table_root={root}): {reason}")
    error.table_root = root
    error.index_type = index_type
    return error


def _granularity_args(table_root: Any, index_type: Optional[str], index_granularity: Any,
                      bucket: Any, bucket_width: Any) -> tuple:
    """index_granularity as bucket (a str, timestamps) or bucket_width (an int)."""
    if index_granularity is None:
        if bucket is None and bucket_width is None and index_type is not None:
            raise _create_option_error(
                _CreateOptionTypeError, table_root, index_type, "index_granularity",
                "create() missing required keyword argument 'index_granularity' ("
                + ("bucket= in the 0.4 API): a string using s, m, h, or d units such as \"1h\""
                   if index_type == "timestamp" else
                   f"bucket_width= in the 0.4 API): a Python int in 1..={_U64_MAX}"))
        return bucket, bucket_width
    if bucket is not None or bucket_width is not None:
        raise TypeError("give index_granularity, or bucket/bucket_width, not both")
    integer = index_type in ("int64", "uint64")
    if isinstance(index_granularity, str):
        if integer:
            raise _create_option_error(
                _CreateOptionError, table_root, index_type, "index_granularity",
                f"{_INT_FORM} (a positive int bucket width), not {index_granularity!r}")
        return index_granularity, None
    if isinstance(index_granularity, int) and not isinstance(index_granularity, bool):
        if index_type == "timestamp":
            raise _create_option_error(
                _CreateOptionError, table_root, index_type, "index_granularity",
                f"{_TIME_FORM} (a duration string such as \"1h\"), not {index_granularity!r}; "
                "for an integer index pass index_type=\"int64\" or \"uint64\"")
        if integer and not 1 <= index_granularity <= _U64_MAX:
            raise _create_option_error(
                _CreateOptionError, table_root, index_type, "index_granularity",
                f"{_INT_FORM}, not {index_granularity}")
        return None, index_granularity
    form = _TIME_FORM if index_type == "timestamp" else (
        _INT_FORM + ("; bool is not accepted" if isinstance(index_granularity, bool) else ""))
    raise _create_option_error(
        _CreateOptionTypeError, table_root, index_type, "index_granularity",
        f"{form} (a str for timestamps, e.g. \"1h\", or a positive int for int64/uint64 "
        f"indexes), not {type(index_granularity).__name__}")


def _appended(report: AppendReport) -> AppendReport:
    _oplog.succeeded("table.append", "Appended segment", starting_version=report.starting_version,
                     committed_version=report.committed_version, row_count=report.row_count,
                     copied=report.copied, attempts=report.attempts)
    return report


# The library's phrase for an annotation (Arrow schema or field metadata) that is
# not UTF-8 text; the caller's data is at fault, so Python sees a ValueError, as
# the reference 0.9 raises.
_NOT_UTF8 = "annotations must be UTF-8 text"


def _annotation_value_error(err: TimeseriesTableError) -> Exception:
    """A ValueError (table_root kept) for a non-UTF-8 annotation, else err itself."""
    if type(err) is not TimeseriesTableError or err.code != "TST_EINVAL" or \
            _NOT_UTF8 not in str(err):
        return err
    error = ValueError(str(err))
    error.table_root = err.table_root
    return error


class TimeSeriesTable(_native.TimeSeriesTable):
    __doc__ = _native.TimeSeriesTable.__doc__

    @classmethod
    def create(cls, *, table_root: Any, index_column: Optional[str] = None,
               index_type: Optional[str] = None, index_granularity: Any = None,
               entity_columns: Optional[Sequence[str]] = None, bucket: Optional[str] = None,
               bucket_width: Optional[int] = None, timezone: Optional[str] = None,
               time_column: Optional[str] = None,
               protocol: Optional[int] = None) -> "TimeSeriesTable":
        """Create a table at table_root (version 1) and return its handle.

        The index column is index_column (or its older name time_column). The
        bucket size is index_granularity: a duration such as "1h", "15m", "1d"
        for a timestamp index, a positive int for an int64/uint64 index; the
        0.4 names bucket= and bucket_width= mean the same. index_type defaults
        to "timestamp" (or "int64" when only an int width is given). timezone
        names the zone of a timestamp index (e.g. "America/New_York").
        entity_columns are the columns that identify a series (symbol,
        sensor); coverage is kept per entity. protocol picks the on-disk
        format: 7 (the default; protocol 7, as the reference 0.5 to 0.9 read
        and write) or 6 (format_version 6, for tables the reference 0.4.0 must
        read; ttf.migrate() turns one into protocol 7 later). Options are
        checked before any file is written."""
        bucket, bucket_width = _granularity_args(table_root, index_type, index_granularity,
                                                 bucket, bucket_width)
        try:
            table = super().create(table_root=table_root, index_column=index_column,
                                  index_type=index_type, entity_columns=entity_columns,
                                  bucket=bucket, bucket_width=bucket_width, timezone=timezone,
                                  time_column=time_column, protocol=protocol)
        except TimeseriesTableError as error:
            # A duration the native parser refuses, under the name the caller used.
            prefix = 'invalid bucket for index_type "timestamp" '
            if index_granularity is None or not str(error).startswith(prefix):
                raise
            reason = str(error).split("): ", 1)[-1]
            raise _create_option_error(_CreateOptionError, table_root, "timestamp",
                                       "index_granularity",
                                       f"{_TIME_FORM}: {reason}") from None
        _oplog.succeeded("table.create", "Created time-series table", starting_version=0,
                         committed_version=table.version())
        return table

    @classmethod
    def open(cls, table_root: Any, version: Optional[int] = None,
             as_of: Any = None) -> "TimeSeriesTable":
        """Open the table at table_root at its newest version; raises StorageError when
        there is no table there (or the location is not a local folder).

        Time travel: version=N opens the table as it was right after commit N;
        as_of= an instant (a datetime, naive meaning UTC, a date, or an ISO
        8601 string such as "2024-06-01T09:30:00Z") opens the version that was
        current then. Such a handle is pinned: version() reports N, refresh()
        leaves it there, reads (schema, segments, coverage, gaps, scan) answer
        at N, and every write raises TimeseriesTableError. Giving both is a
        ValueError. A version after the newest, or an instant before the table
        was created, raises StorageError naming the newest version or the
        creation time; a version whose files vacuum removed raises
        VersionVacuumedError (attributes version, oldest_readable_version)."""
        pinned_version, instant = _travel.pin(version, as_of)
        if pinned_version is not None:
            table = cls._open_at(table_root, pinned_version)
        elif instant is not None:
            table = cls._open_as_of(table_root, *instant)
        else:
            table = super().open(table_root)
        _oplog.succeeded("table.open", "Opened time-series table", version=table.version())
        return table

    def coverage_diff(self, other: Optional["TimeSeriesTable"] = None,
                      from_version: Optional[int] = None, to_version: Optional[int] = None,
                      start: Any = None, end: Any = None,
                      entities: Optional[Sequence[Any]] = None) -> pa.Table:
        """The buckets added and removed per entity, as a pyarrow.Table with a column
        per entity column, then change ("added" | "removed"), start, end (exclusive)
        and buckets; ranges are merged runs of buckets, sorted by entity and start.

        Two versions of this table: from_version (and to_version, default this
        handle's version). Two tables: other (a TimeSeriesTable with the same index
        type, bucket width and entity columns, else TimeseriesTableError); "added" is
        what other covers and this table does not. start/end restrict to a range;
        entities to a list of entities (dicts, tuples in entity_columns order, or bare
        values for a one-column entity)."""
        from . import _coverage_diff as cd
        spec = self.index_spec()
        if other is not None and (from_version is not None or to_version is not None):
            raise ValueError("give other= (two tables) or from_version= (two versions), "
                             "not both")
        if other is None and from_version is None:
            raise ValueError("give other= (two tables) or from_version= (two versions)")
        left, right = self, other
        if other is None:
            root = self.root()
            left = type(self).open(root, version=from_version)
            right = type(self).open(root, version=to_version) if to_version is not None \
                else self
        rows = left._coverage_ranges(right, start, end, cd.entity_dicts(spec, entities))
        return cd.to_table(spec, rows, plan=False)

    def plan_backfill(self, start: Any, end: Any, entities: Optional[Sequence[Any]] = None,
                      max_request: Any = None, merge_within: Any = None,
                      calendar: Any = None) -> pa.Table:
        """The fewest requests that fill the gaps of [start, end), as a pyarrow.Table
        with a column per entity column, then start, end (exclusive), buckets and
        missing_buckets. entities: default every entity the table knows; one it has
        never seen needs the whole range. max_request: the longest request (a
        timedelta or "7d" for a timestamp index, index units for an integer one; a
        whole number of buckets); longer gaps are split. merge_within: allow
        over-fetching, gaps separated by at most this much covered data become one
        request (then missing_buckets < buckets); default none. calendar: request
        only buckets it expects (a spec str or a dict, as for coverage()); closed time
        between two gaps counts like covered time for merge_within."""
        from . import _coverage_diff as cd
        spec = self.index_spec()
        rows = self._coverage_ranges(None, start, end, cd.entity_dicts(spec, entities),
                                     cd.to_buckets(spec, max_request, "max_request"),
                                     cd.to_buckets(spec, merge_within, "merge_within"),
                                     calendar)
        return cd.to_table(spec, rows, plan=True)

    def append(self, source: Any, *, compression: Optional[str] = None,
               max_rows_per_row_group: Optional[int] = None,
               max_bytes_per_row_group: Optional[int] = None,
               on_overlap: Optional[str] = None,
               allow_boundary_overlap: bool = False) -> AppendReport:
        """Append Arrow data as one new segment and commit it; returns an AppendReport
        (an int: the committed version).

        source: a pyarrow Table, RecordBatch or RecordBatchReader, a polars
        DataFrame, a pandas DataFrame (its index is not appended), or any object
        with __arrow_c_stream__. Readers are consumed; tables stay usable.
        compression ("zstd" by default, "snappy", "uncompressed") and the
        row-group limits apply to this append's segment only; the byte limit
        is turned into rows from the data's Arrow size (an estimate), and the
        engine writes at least 2,048 rows per group.
        on_overlap: what to do with rows in an (entity, bucket) the table already
        covers: "reject" (the default: CoverageOverlapError, nothing written),
        "skip" (append only the other rows; all covered: no_op=True, nothing
        written) or "replace" (they replace the stored rows of those pairs, in
        one commit). The report counts rows_skipped / rows_replaced.
        allow_boundary_overlap=True (with "reject"): accept a first or last
        bucket per entity the table already partly covers when no row's index
        value is already stored there (protocol 6 tables: protocol 7 keeps one
        row per bucket); any other overlap still raises.
        Raises SchemaMismatchError when the columns do not match the table's."""
        self._check_writable("append")  # a read-only table never touches the source
        if isinstance(compression, str):
            compression = compression.strip().lower()  # " ZsTd " is zstd, as in the reference
        stream, rows = rows_per_group(arrow_stream_source(source), max_rows_per_row_group,
                                      max_bytes_per_row_group)
        try:
            fields = super().append(stream, compression=compression,
                                    max_rows_per_row_group=rows, on_overlap=on_overlap,
                                    allow_boundary_overlap=allow_boundary_overlap)
        except TimeseriesTableError as err:
            error = _annotation_value_error(err)
            if error is err:
                raise
            raise error from err
        fields.update(max_rows_per_row_group=rows, max_bytes_per_row_group=max_bytes_per_row_group)
        return _appended(AppendReport(fields, self.root()))

    def append_parquet(self, parquet_path: Any, copy_if_outside: bool = True, *,
                       on_overlap: Optional[str] = None,
                       allow_boundary_overlap: bool = False,
                       move: bool = False) -> AppendReport:
        """Append one Parquet file as a new segment; returns an AppendReport (an int:
        the committed version). A file whose columns already have the table's
        types is copied byte for byte, others are re-encoded; the source is
        never modified.

        copy_if_outside=False takes parquet_path as a path relative to the table
        root (the reference's storage key, e.g. "data/seg.parquet"); a path
        that leaves the root is a StorageError. The file is appended as any
        other: its rows go into a new segment with a fresh name under data/,
        and the file itself is left where it is (no log entry names it).
        on_overlap ("reject" by default, "skip", "replace") and
        allow_boundary_overlap: as for append().

        move=True hands the file over instead of copying it (zero-copy
        ingest): a file that would be copied as it is and lies on the table's
        file system is hard-linked into the table and its old name removed
        once the append commits (report.moved). The table then owns those
        bytes: nothing may write to the file afterwards. A failed append
        leaves it where it was; a file on another file system, or one that
        is re-encoded, is copied and left in place (report.moved False)."""
        given = parquet_path
        if not copy_if_outside:
            parquet_path = self._path_inside_root(parquet_path)
        try:
            fields = super().append_parquet(parquet_path, on_overlap=on_overlap,
                                            allow_boundary_overlap=allow_boundary_overlap,
                                            move=move)
            return _appended(AppendReport(fields,
                                          self.root()))
        except CoverageOverlapError as error:
            # The file that re-covers the table, as the caller named it.
            error.segment_path = os.fsdecode(os.fspath(given))
            raise

    def _path_inside_root(self, key: Any) -> str:
        root = os.path.abspath(self.root())
        key = os.fsdecode(os.fspath(key))
        full = os.path.normpath(os.path.join(root, key))
        if os.path.isabs(key) or os.path.commonpath([root, full]) != root or full == root:
            error = StorageError(f"copy_if_outside=False needs a path relative to the table root "
                                 f"{root}, inside it; {key!r} is not (table_root={root})")
            error.table_root, error.path = root, key
            raise error
        return full

    def append_csv(self, path: Any, *, delimiter: Optional[str] = None,
                   header: Optional[bool] = None, columns: Any = None,
                   on_overlap: Optional[str] = None,
                   allow_boundary_overlap: bool = False) -> AppendReport:
        """Append a CSV file as one new (re-encoded) segment; returns an AppendReport.
        Values are read with the table's column types; columns maps column
        names to DuckDB types for a first append whose types you want to fix.
        on_overlap ("reject" by default, "skip", "replace") and
        allow_boundary_overlap: as for append()."""
        return AppendReport(super().append_csv(path, delimiter=delimiter, header=header,
                                               columns=columns, on_overlap=on_overlap,
                                               allow_boundary_overlap=allow_boundary_overlap),
                            self.root())

    def optimize(self, *, mode: Optional[str] = None, target_rows: Optional[int] = None,
                 target_bytes: Optional[int] = None, window: Any = None) -> OptimizeReport:
        """Optimize the table's layout in one commit; returns an OptimizeReport.

        With no arguments (mode="entity_layout"), the reference's optimize():
        every mixed-entity segment becomes single-entity segments. Rows and
        coverage stay as they were. A table with no mixed segment is a no-op
        (no_op=True, nothing written); a table without entity columns is
        refused.

        mode="compact" merges small segments, per entity, into segments of at
        most target_rows rows (default 10,000,000) and target_bytes bytes
        (default 128 MiB), never across a time window: window is a
        datetime.timedelta or a duration string ("30d", "12h", "90m", "3600s")
        for timestamp indexes (default 30 days), a number of index units for
        integer ones (default 1,000 buckets). Mixed segments are split per
        entity on the way; tables without entity columns are compacted as one
        group. A compact table is a no-op.

        Either way, other writers' commits in between are rebased onto unless
        they removed a segment being rewritten (ConflictError)."""
        if mode is None or mode in ("entity_layout", "entity-layout"):
            if target_rows is not None or target_bytes is not None or window is not None:
                raise ValueError("optimize(): target_rows, target_bytes and window apply to "
                                 "mode='compact' only")
            report = OptimizeReport(super().optimize())
        elif mode == "compact":
            report = OptimizeReport(super().optimize(
                mode="compact", target_rows=_positive("target_rows", target_rows),
                target_bytes=_positive("target_bytes", target_bytes),
                window=_window(window)))
        else:
            raise ValueError(f"optimize(): mode must be 'compact' or 'entity_layout', not {mode!r}")
        _oplog.succeeded("table.optimize", "Optimized time-series table",
                         starting_version=report.starting_version,
                         committed_version=report.committed_version, no_op=report.no_op)
        return report

    def vacuum(self, older_than: _dt.datetime, *, apply: bool = False,
               expire_history: bool = False, allow_short_retention: bool = False) -> Any:
        """Inspect or delete files no retained version needs; returns a VacuumReport.

        As the reference 0.9.0's vacuum(older_than, *, apply=False): a dry run
        unless apply=True; older_than must be timezone-aware and not in the
        future; files modified at or after it are kept (a writer in flight may
        be about to commit them), as is every file any commit names, every
        commit file, and every file vacuum does not recognise as the table's.

        expire_history=True (a tstable extension) also expires old versions:
        only the versions current at or after older_than keep their files
        (their segments, sidecars and coverage snapshots; older checkpoints
        go too), so the table's metadata stays proportional to the table,
        not its history. Time travel then refuses the older versions. A
        cutoff less than one hour ago is refused with expire_history unless
        allow_short_retention=True.

        A deletion failure raises VacuumApplyError; its partial_report records
        what was deleted before it."""
        if not isinstance(older_than, _dt.datetime):
            raise TypeError("older_than must be a timezone-aware datetime.datetime, not "
                            f"{type(older_than).__name__}")
        if older_than.tzinfo is None or older_than.utcoffset() is None:
            raise TypeError("older_than must be timezone-aware (give it a tzinfo, e.g. "
                            "datetime.timezone.utc)")
        cutoff = older_than.astimezone(_dt.timezone.utc)
        if cutoff > _dt.datetime.now(_dt.timezone.utc):
            raise ValueError(f"vacuum cutoff {cutoff.isoformat()} is in the future")
        delta = cutoff - _dt.datetime(1970, 1, 1, tzinfo=_dt.timezone.utc)
        sec, nsec = delta.days * 86400 + delta.seconds, delta.microseconds * 1000
        if sec == 0 and nsec == 0:
            nsec = 1  # the native call reads (0, 0) as "the default retention"
        try:
            values = super().vacuum(sec, nsec, apply=bool(apply),
                                    keep_all_versions=not expire_history,
                                    allow_short_retention=bool(allow_short_retention)
                                    or not expire_history)
        except StorageError as error:
            partial = getattr(error, "partial_report", None)
            if partial is None:
                raise
            failure = VacuumApplyError(str(error))
            for name in ("table_root", "path"):
                setattr(failure, name, getattr(error, name, None))
            failure.partial_report = _vacuum_report(partial)
            raise failure from error
        report = _vacuum_report(values)
        _oplog.succeeded("table.vacuum", "Vacuumed time-series table", mode=report.mode,
                         table_version=report.table_version,
                         deleted_files=report.deleted_files,
                         removable_files=report.removable_files)
        return report

    def add_columns(self, columns: pa.Schema) -> int:
        """Add columns at the end of the table's schema, in one metadata-only
        commit; returns the committed version (the reference 0.8+'s add_columns).

        columns is a pyarrow.Schema whose fields are all nullable, new to the
        table (names are exact and case-sensitive, not blank) and of table
        types (int16, date32, dictionaries... are refused: cast them first).
        Rows already written read as null in the new columns; later appends
        may leave out nullable columns other than the index and entity
        columns. The commit is made on this handle's version, without a
        refresh: when another writer committed first, ConflictError (refresh()
        and call again). A broken rule raises SchemaMismatchError, and so does a
        table without a schema yet (append first); a format_version-6 table
        raises TimeseriesTableError (migrate it to protocol 7 first). Readers
        older than the reference 0.8 can no longer open the table. A Session
        that registered the table sees the new columns at its next query.
        Field metadata (annotations, nested ones too) is recorded with the
        columns and declares the schema_metadata feature (readers older than
        the reference 0.9 can then no longer open the table); annotations
        that are not UTF-8, and schema-level metadata, raise ValueError."""
        if not isinstance(columns, pa.Schema):
            error = TypeError(f"add_columns() takes a pyarrow.Schema, not "
                              f"{type(columns).__name__}")
            error.table_root = self.root()
            raise error
        if columns.metadata:
            # The table's schema-level annotations are fixed by its first append.
            error = ValueError("add_columns() takes a pyarrow.Schema without schema-level "
                               "metadata (field metadata is kept); drop it with "
                               "schema.remove_metadata(); nothing was written")
            error.table_root = self.root()
            raise error
        starting_version = self.version()
        try:
            committed = super().add_columns(columns.__arrow_c_schema__())
        except TimeseriesTableError as err:
            error = _annotation_value_error(err)
            if error is err:
                raise
            raise error from err
        _oplog.succeeded("table.add_columns", "Added columns to time-series table",
                         starting_version=starting_version, committed_version=committed,
                         columns_added=len(columns))
        return committed

    def update_rows(self, source: Any, *, columns: Sequence[str], expected_version: int,
                    strict: bool = False) -> UpdateRowsReport:
        """Set `columns` of existing rows, named by key (every entity column plus
        the exact index value), in one commit; returns an UpdateRowsReport.

        source: Arrow data (as append() takes) holding exactly the key columns
        and `columns`, one row per row to change; each key must name exactly
        one stored row. A null clears a nullable column. Only the segments
        holding those rows are rewritten; coverage does not change; an empty
        source is a no-op. expected_version must be this handle's version
        (ConflictError otherwise). Another writer's append meanwhile is
        rebased onto; strict=True refuses any commit in between, as the
        reference does. Key failures raise TimeseriesTableError with reason,
        example_key, input_rows_seen and observed_violations."""
        root = self.root()
        names = update_columns(columns, root)
        version = _update_expected_version(expected_version, root)
        self._check_writable("update")  # a read-only table never touches the source
        try:
            stream = arrow_stream_source(source)
        except (TypeError, ValueError) as err:  # not a source, or its export failed
            err.table_root = root
            raise
        try:
            report = UpdateRowsReport(super().update_rows(stream, names, version,
                                                          strict=bool(strict)))
        except TimeseriesTableError as err:
            if err.code == "TST_EUPDATEKEY" and isinstance(err.example_key, str):
                spec = self.index_spec()
                err.example_key = example_key(err.example_key, self.schema(),
                                              spec.get("index_column", spec.get("column")))
            raise
        except ValueError as err:  # the source's export failed (its error is the cause)
            if getattr(err, "table_root", None) is None:
                err.table_root = root
            raise
        _oplog.succeeded("table.update_rows", "Updated rows of time-series table",
                         starting_version=report.starting_version,
                         committed_version=report.committed_version,
                         rows_updated=report.rows_updated, no_op=report.no_op)
        return report

    def delete_rows(self, start: Any, end: Any, *, entities: Any = None,
                    expected_version: Optional[int] = None) -> DeleteReport:
        """Delete the rows whose index lies in [start, end), of `entities` or of every
        entity, and their coverage, in one commit; returns a DeleteReport.

        start and end must fall on bucket boundaries (coverage is kept per bucket;
        a refusal names the nearest aligned ranges). entities: None (every entity),
        a {column: value} dict, a list of them, or bare values for a one-column
        entity; an entity the table does not hold is refused, naming the nearest
        ones it does (TimeseriesTableError). Segments holding only such rows are
        dropped, the others rewritten without them (the rows kept keep their
        order); the range then reads as a gap and takes an append again. No row
        matching is a no-op (no_op=True, nothing committed). expected_version,
        when given, must be the table's version (ConflictError otherwise).
        Another writer's append meanwhile is rebased onto; one that replaced a
        segment being rewritten raises ConflictError, with nothing written."""
        root = self.root()
        version = delete_expected_version(expected_version, root)
        self._check_writable("delete")
        spec = self.index_spec()
        targets = delete_entities(entities, list(spec.get("entity_columns") or []), root)
        report = DeleteReport(super().delete_rows(start, end, targets, version))
        _oplog.succeeded("table.delete", "Deleted rows from time-series table",
                         starting_version=report.starting_version,
                         committed_version=report.committed_version,
                         rows_deleted=report.rows_deleted, no_op=report.no_op)
        return report

    def scan(self, start: Any, end: Any, *, entity: Any = None,
             columns: Optional[Sequence[str]] = None, require_coverage: Any = False,
             calendar: Any = None) -> pa.Table:
        """Rows whose index lies in [start, end) at the latest commit (at the handle's
        version for one opened with version= or as_of=), as a pyarrow Table (the
        segments outside the range or entity are not read).

        require_coverage=True first checks that the table covers every bucket of
        [start, end) for the entity (every entity when None; a dict may fix only
        some entity columns), and raises IncompleteCoverageError (with .missing)
        without reading if not; "warn" issues a CoverageWarning and reads.
        calendar (a spec str or dict) checks only the buckets it expects."""
        return to_table(super().scan(start, end, entity=entity, columns=columns,
                                     require_coverage=require_coverage, calendar=calendar))

    def scan_reader(self, start: Any, end: Any, *, entity: Any = None,
                    columns: Optional[Sequence[str]] = None,
                    require_coverage: Any = False,
                    calendar: Any = None) -> pa.RecordBatchReader:
        """Like scan(), streamed as a pyarrow RecordBatchReader."""
        return to_reader(super().scan_reader(start, end, entity=entity, columns=columns,
                                             require_coverage=require_coverage,
                                             calendar=calendar))

    def entities(self, now: Any = None) -> pa.Table:
        """One row per entity (canonical order; one row without entity columns): the
        entity columns (typed as the table's), first and last (the extent: start of the
        first covered bucket, end of the last, as timestamps in the index column's unit
        and zone), covered_buckets, gaps and missing_buckets inside the extent, ratio
        over it, and lag = now - last as a duration (now: a datetime, ISO text, naive =
        UTC; default the clock). Integer indexes: first/last in the index's type and lag
        in index units (null without now). `tstable entities` and SQL's
        tstable_freshness() give the same answer."""
        return _entities.entities_table(self, now)

    def coverage_ratio(self, start: Any, end: Any, entity: Any = None,
                       calendar: Any = None) -> float:
        """Covered buckets / buckets of [start, end) at the latest commit; entity is
        {column: value} or None (whole table). An entity the table never saw covers
        nothing and raises an UnknownEntityWarning naming the nearest ones.
        calendar (a spec str or dict, docs/guide/calendars.md): only the buckets
        it expects count."""
        answer = super().coverage_ratio(start, end, entity, calendar)
        _entities.warn_if_unknown(self, entity)
        return answer

    def coverage(self, start: Any, end: Any, entity: Any = None, calendar: Any = None) -> dict:
        """covered_buckets, total_buckets, missing_buckets, ratio and max_gap_buckets of
        [start, end) (UnknownEntityWarning for an entity the table never saw); with a
        calendar, of the buckets it expects."""
        answer = super().coverage(start, end, entity, calendar)
        _entities.warn_if_unknown(self, entity)
        return answer

    def gaps(self, start: Any, end: Any, entity: Any = None, calendar: Any = None) -> list:
        """The missing ranges of [start, end), half-open, in the index's type
        (UnknownEntityWarning for an entity the table never saw). With a calendar,
        closed time (nights, weekends, holidays) neither ends a gap nor starts one."""
        answer = super().gaps(start, end, entity, calendar)
        _entities.warn_if_unknown(self, entity)
        return answer

    def max_gap(self, start: Any, end: Any, entity: Any = None, calendar: Any = None) -> int:
        """The longest run of missing buckets in [start, end) (UnknownEntityWarning
        for an entity the table never saw); with a calendar, of expected buckets."""
        answer = super().max_gap(start, end, entity, calendar)
        _entities.warn_if_unknown(self, entity)
        return answer

    def last_fully_covered_window(self, end: Any, length: Any, entity: Any = None,
                                  calendar: Any = None) -> Any:
        """The most recent run of `length` fully covered buckets ending before end, as
        (start, end), or None; length is a bucket count or a timedelta
        (UnknownEntityWarning for an entity the table never saw). With a calendar,
        its expected buckets must be covered, and it must hold at least one."""
        answer = super().last_fully_covered_window(end, length, entity, calendar)
        _entities.warn_if_unknown(self, entity)
        return answer

    def coverage_plot(self, path: Any = None, *, start: Any = None, end: Any = None,
                      entities: Any = None, width: int = 1000, height: int = 0,
                      title: Optional[str] = None, calendar: Any = None) -> str:
        """A picture of the coverage as SVG text (written to path when given):
        one row per entity, time across, darker = more of a pixel's buckets
        covered, orange = gap. start/end default to the covered extent;
        entities filters (a list of values for a one-column entity, {column:
        value or [values]}, or a list of such dicts); height 0 grows with the
        entity count. More entities than pixel rows share rows, more buckets
        than pixels share columns (the colour is the covered fraction). With a
        calendar (spec str or dict), fractions count expected buckets and
        closed time is grey. docs/guide/coverage-plot.md."""
        return _plot.coverage_plot(self, path, start=start, end=end, entities=entities,
                                   width=width, height=height, title=title, calendar=calendar)

    def coverage_figure(self, *, start: Any = None, end: Any = None, entities: Any = None,
                        width: int = 1000, height: int = 0, title: Optional[str] = None,
                        calendar: Any = None) -> Any:
        """The same picture as a matplotlib Figure (ImportError without
        matplotlib); fig.raster holds the fractions behind it (NaN where a
        calendar expects nothing)."""
        return _plot.coverage_figure(self, start=start, end=end, entities=entities,
                                     width=width, height=height, title=title,
                                     calendar=calendar)

    def _repr_html_(self) -> str:
        spec = self.index_spec()
        schema = self.schema() or []
        facts = [("root", self.root()), ("version", self.version()),
                 ("index", f"{spec.get('index_column', spec.get('column'))} "
                           f"({spec.get('index_type', spec.get('kind'))}, "
                           f"{spec.get('index_granularity') or spec.get('bucket') or spec.get('bucket_width')})"),
                 ("entity columns", ", ".join(spec["entity_columns"]) or "none"),
                 ("columns", ", ".join(f"{c['name']}: {c['type']}" for c in schema) or
                  "none yet (the first append sets them)"),
                 ("segments", len(self.segments()))]
        rows = "".join(f"<tr><th style='text-align:left'>{html.escape(k)}</th>"
                       f"<td>{html.escape(str(v))}</td></tr>" for k, v in facts)
        return f"<table><caption>TimeSeriesTable</caption>{rows}</table>"


def _positive(name: str, value: Any) -> int:
    """0 (the default) for None, else a positive int."""
    if value is None:
        return 0
    if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
        raise ValueError(f"optimize(): {name} must be a positive int, not {value!r}")
    return value


_DURATION_UNITS = {"s": 1, "sec": 1, "secs": 1, "second": 1, "seconds": 1,
                   "m": 60, "min": 60, "mins": 60, "minute": 60, "minutes": 60,
                   "h": 3600, "hr": 3600, "hrs": 3600, "hour": 3600, "hours": 3600,
                   "d": 86400, "day": 86400, "days": 86400}


def _window(value: Any) -> int:
    """The compaction window in index units (seconds for timestamps); 0: the default."""
    import datetime
    import re
    if value is None:
        return 0
    if isinstance(value, datetime.timedelta):
        seconds = value.total_seconds()
        if seconds <= 0:
            raise ValueError(f"optimize(): window must be positive, not {value!r}")
        return max(1, int(-(-seconds // 1)))
    if isinstance(value, str):
        m = re.fullmatch(r"\s*(\d+)\s*([A-Za-z]+)\s*", value)
        unit = _DURATION_UNITS.get(m.group(2).lower()) if m else None
        if unit is None or int(m.group(1)) == 0:
            raise ValueError(f"optimize(): window must be a duration such as '30d', '12h', "
                             f"'90m' or '3600s', not {value!r}")
        return int(m.group(1)) * unit
    return _positive("window", value)
