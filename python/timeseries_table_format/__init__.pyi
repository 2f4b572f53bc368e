"""Type stubs for timeseries_table_format."""
import datetime as _dt
import decimal as _decimal
import os

import pyarrow as pa
from typing import Any, Dict, Iterator, List, Literal, Mapping, Optional, Sequence, Tuple, Union

__version__: str
HAS_SESSION: bool

IndexValue = Union[_dt.datetime, _dt.date, str, int]
EntityValue = Union[str, int]
Entity = Optional[Mapping[str, EntityValue]]
# A calendar: which buckets data is expected for (docs/guide/calendars.md). A spec
# str ("weekdays;tz=America/New_York;sessions=09:30-16:00;holidays=nyse.txt") or a
# dict: days ("mon-fri" or ["mon", ...]), sessions ("09:30-16:00" or a list of such
# strs or (time, time) pairs), tz (a zone name, "UTC" or "+05:30"), holidays (a
# holiday file path, or a list of dates and entries like "2024-12-24 09:30-13:00").
Calendar = Optional[Union[str, Mapping[str, Any]]]
PathLike = Union[str, bytes, "os.PathLike[str]"]
IndexType = Literal["timestamp", "int64", "uint64"]
# A SQL parameter value. int: -2**63 .. 2**64-1 (BIGINT; UBIGINT from 2**63; others
# raise ValueError naming the value). datetime: sent as UTC RFC 3339 text (naive =
# UTC, aware converted); date: "YYYY-MM-DD"; Decimal: its exact plain text (NaN and
# infinities raise ValueError). Text values take the type the statement gives the
# parameter (ts >= $1 on a TIMESTAMPTZ column); where it gives none (SELECT $1,
# $1 + INTERVAL ...), cast in SQL: $1::TIMESTAMPTZ, $1::DATE, $1::DECIMAL(18,3).
ParamValue = Union[None, bool, int, float, str, bytes, _decimal.Decimal, _dt.datetime, _dt.date]
Params = Optional[Union[Sequence[ParamValue], Mapping[str, ParamValue]]]

class TimeseriesTableError(Exception):
    table_root: Optional[str]
    code: Optional[str]
    path: Optional[str]

class StorageError(TimeseriesTableError): ...

class UnknownEntityWarning(UserWarning):
    """An entity the table has never seen was asked about (it covers nothing)."""

class ConflictError(TimeseriesTableError):
    expected: int
    found: int
    expected_version: int
    found_version: int

class CoverageOverlapError(TimeseriesTableError):
    """An append would cover (entity, bucket) pairs the table already covers;
    nothing was written. The example_* attributes describe one overlapping
    entity only, while overlap_count counts every entity."""

    segment_path: Optional[str]
    """Always None: the rejected segment is removed before the error is raised."""
    overlap_count: int
    """How many (entity, bucket) pairs of the append the table already covers,
    summed over ALL overlapping entities (not the count of `entity`): two symbols
    re-appending 240 hours each give 480. The message says the same."""
    example_entity_identity: Optional[Dict[str, EntityValue]]
    """The first overlapping entity as {column: value} (int for integer entity
    columns, str otherwise), in entity_columns order; None for tables without
    entity columns."""
    example_bucket: Optional[int]
    """That entity's smallest overlapping bucket, as the format's 64-bit bucket id
    (format-v6 §1.10): timestamps floor(seconds / bucket seconds) + 2**63, int64
    floor(value / bucket_width) + 2**63, uint64 value // bucket_width."""
    example_bucket_range: str
    """example_bucket in index units, half-open: "[2024-06-01T00:00:00Z,
    2024-06-01T01:00:00Z)" or "[50460, 50470)"."""
    entity: Optional[str]
    """example_entity_identity rendered "col=value[,col=value]"; None without
    entity columns."""
    bucket: Optional[int]
    """The same as example_bucket."""
    bucket_range: Optional[str]
    """The same as example_bucket_range."""
    entity_count: Optional[int]
    """How many entities overlap."""
    entity_overlap_count: Optional[int]
    """How many (entity, bucket) pairs of the first entity (`entity`) overlap."""

class SchemaMismatchError(TimeseriesTableError): ...

class SqlError(TimeseriesTableError):
    name: Optional[str]

DataFusionError = SqlError

IndexIntervalOverlapError = CoverageOverlapError

class DuplicateIndexIntervalError(TimeseriesTableError): ...
class VacuumArtifact:
    """Vacuum classification for one considered file (read-only)."""
    @property
    def path(self) -> str: ...
    @property
    def size_bytes(self) -> int: ...
    @property
    def modified_at(self) -> _dt.datetime: ...
    @property
    def disposition(self) -> Literal["retained", "removable", "deleted", "already_absent"]: ...
    @property
    def reason(
        self,
    ) -> Literal[
        "referenced_by_commit",
        "within_retention",
        "changed_since_planning",
        "unrecognized_artifact",
        "unreferenced",
        "invalid_or_unreadable_parquet",
        "needed_checkpoint",
        "superseded_checkpoint",
        "interrupted_write",
    ]: ...
    @property
    def referenced_by_commit_version(self) -> Optional[int]: ...
    def to_dict(self) -> Dict[str, Any]: ...

class VacuumReport:
    """Structured result of one vacuum invocation (read-only)."""
    @property
    def table_version(self) -> int: ...
    @property
    def older_than(self) -> _dt.datetime: ...
    @property
    def mode(self) -> Literal["dry_run", "apply"]: ...
    @property
    def artifacts(self) -> List[VacuumArtifact]: ...
    @property
    def considered_files(self) -> int: ...
    @property
    def retained_files(self) -> int: ...
    @property
    def removable_files(self) -> int: ...
    @property
    def deleted_files(self) -> int: ...
    @property
    def already_absent_files(self) -> int: ...
    @property
    def considered_bytes(self) -> int: ...
    @property
    def retained_bytes(self) -> int: ...
    @property
    def removable_bytes(self) -> int: ...
    @property
    def deleted_bytes(self) -> int: ...
    @property
    def already_absent_bytes(self) -> int: ...
    @property
    def oldest_retained_version(self) -> int: ...
    @property
    def folders_removed(self) -> int: ...
    def to_dict(self) -> Dict[str, Any]: ...

class VacuumApplyError(StorageError):
    path: Optional[str]
    partial_report: VacuumReport

class VersionVacuumedError(TimeseriesTableError):
    """Time travel to a version whose files vacuum removed."""
    version: Optional[int]
    oldest_readable_version: Optional[int]

RequireCoverage = Union[bool, Literal["warn"]]

class IncompleteCoverageError(TimeseriesTableError):
    """A read with require_coverage=True reads (entity, bucket) slots the table
    does not cover, or could not be checked; nothing was read. missing: one dict
    per missing range {"table", "entity" (dict column -> value, or None), "start",
    "end", "buckets", "known"}; checked: one dict per table {"table", "readable",
    "start", "end", "entities", "asked_buckets", "missing_buckets", "widened"}."""
    missing: List[Dict[str, Any]]
    checked: List[Dict[str, Any]]

class CoverageWarning(UserWarning):
    """Issued by a read with require_coverage="warn" that reads uncovered slots."""
    missing: List[Dict[str, Any]]
    checked: List[Dict[str, Any]]

class AppendReport(int):
    """The result of one committed append; its int value is committed_version."""
    @property
    def committed_version(self) -> int: ...
    @property
    def starting_version(self) -> int: ...
    @property
    def segment_path(self) -> str: ...
    @property
    def row_count(self) -> int: ...
    @property
    def file_size_bytes(self) -> int: ...
    @property
    def copied(self) -> bool: ...
    @property
    def attempts(self) -> int: ...
    @property
    def compression(self) -> Optional[Literal["uncompressed", "snappy", "zstd"]]: ...
    @property
    def max_rows_per_row_group(self) -> Optional[int]:
        """The row limit the segment was written with (DuckDB's 122,880 unless given);
        None when the source file was copied."""
    @property
    def max_bytes_per_row_group(self) -> Optional[int]:
        """The byte limit given to append(), else None."""
    @property
    def on_overlap(self) -> Literal["reject", "skip", "replace"]: ...
    @property
    def no_op(self) -> bool:
        """on_overlap="skip" left out every row: nothing written or committed."""
    @property
    def rows_skipped(self) -> int: ...
    @property
    def buckets_skipped(self) -> int: ...
    @property
    def rows_replaced(self) -> int: ...
    @property
    def buckets_replaced(self) -> int: ...
    @property
    def segments_removed(self) -> int: ...
    @property
    def segments_rewritten(self) -> int: ...
    @property
    def moved(self) -> bool: ...
    @property
    def row_group_count(self) -> int:
        """Row groups in the new segment (read from its footer when asked)."""
    def to_dict(self) -> Dict[str, Any]: ...

class OptimizeReport:
    """What optimize() did (the reference's names, plus attempts)."""
    starting_version: int
    committed_version: int
    candidate_source_segments: int
    source_segments_replaced: int
    replacement_segments_written: int
    distinct_identities_materialized: int
    rows_read: int
    rows_written: int
    no_op: bool
    attempts: int
    mode: str  # "entity_layout" or "compact"
    # Compaction only (None in the entity layout):
    segments_before: Optional[int]
    segments_after: Optional[int]
    bytes_read: Optional[int]
    bytes_written: Optional[int]
    window: Optional[int]
    target_rows: Optional[int]
    target_bytes: Optional[int]

class UpdateRowsReport:
    """What update_rows() did (the reference's names, plus attempts)."""
    starting_version: int
    committed_version: int
    rows_updated: int
    segments_rewritten: int
    source_file_bytes: int
    replacement_file_bytes: int
    no_op: bool
    attempts: int
    def to_dict(self) -> Dict[str, Any]: ...
class DeleteReport:
    """What delete_rows() did."""
    starting_version: int
    committed_version: int
    rows_deleted: int
    segments_removed: int
    segments_rewritten: int
    buckets_uncovered: int
    no_op: bool
    attempts: int
    def to_dict(self) -> Dict[str, Any]: ...

class MigrateReport:
    """What migrate() did."""
    version: int
    commits_rewritten: int
    metas_rewritten: int
    coverage_pointers_rewritten: int
    live_segments: int
    files_linked: int
    bytes_linked: int
    files_copied: int
    bytes_copied: int
    log_entries_dropped: int
    checkpoint_written: bool

def migrate(source_root: Union[str, os.PathLike[str]],
            destination_root: Union[str, os.PathLike[str]], *,
            copy: bool = False) -> MigrateReport:
    """A format_version-6 table into a new protocol-7 table at destination_root."""
    ...

ArrowSource = Union[pa.Table, pa.RecordBatch, pa.RecordBatchReader, Any]

def enable_notebook_display() -> bool: ...
def disable_notebook_display() -> bool: ...
def refresh_logging_cache() -> None: ...

class TimeSeriesTable:
    """A table handle. Coverage answers (coverage_ratio, max_gap, coverage, gaps,
    last_fully_covered_window, coverage_summary) and scans refresh the handle
    first, so they answer for the latest commit of any process; version(),
    schema(), segments() and index_spec() describe the version the handle holds
    (moved by its own appends, refresh() and those reads). A handle opened at a
    version or instant (open(version=..., as_of=...)) never moves and refuses
    writes."""

    @classmethod
    def create(
        cls,
        *,
        table_root: PathLike,
        index_column: Optional[str] = None,
        index_type: Optional[IndexType] = None,
        index_granularity: Optional[Union[str, int]] = None,
        entity_columns: Optional[Sequence[str]] = None,
        bucket: Optional[str] = None,
        bucket_width: Optional[int] = None,
        timezone: Optional[str] = None,
        time_column: Optional[str] = None,
        protocol: Optional[int] = None,
    ) -> "TimeSeriesTable":
        """Create a table (version 1). Give the index column as index_column or
        time_column (one of the two). index_type may be omitted: bucket ("1h",
        "15m", ...) means "timestamp"; bucket_width alone means "int64" (pass
        index_type="uint64" for unsigned indexes). Neither bucket nor
        bucket_width: TypeError. protocol: 7 (default; protocol 7, as the
        reference 0.5 to 0.9) or 6 (format_version 6, for reference 0.4.0
        readers); any other value is ValueError. Options are checked before any I/O."""
    @classmethod
    def open(
        cls,
        table_root: PathLike,
        version: Optional[int] = None,
        as_of: Optional[Union[_dt.datetime, _dt.date, str]] = None,
    ) -> "TimeSeriesTable":
        """Open the newest version, or (time travel) the table as it was at version=N
        or as_of= an instant (naive datetimes and offset-less text mean UTC). A
        time-travel handle is pinned: version() is N, refresh() keeps it, writes
        raise. Both given: ValueError. VersionVacuumedError when vacuum removed
        the version's files."""
    def is_pinned(self) -> bool:
        """Whether the handle was opened at a version or an instant."""
    def append_parquet(
        self,
        parquet_path: PathLike,
        copy_if_outside: bool = True,
        *,
        on_overlap: Optional[Literal["reject", "skip", "replace"]] = None,
        allow_boundary_overlap: bool = False,
        move: bool = False,
    ) -> AppendReport: ...
    def append_csv(
        self,
        path: PathLike,
        *,
        delimiter: Optional[str] = None,
        header: Optional[bool] = None,
        columns: Optional[Union[str, Mapping[str, str]]] = None,
        on_overlap: Optional[Literal["reject", "skip", "replace"]] = None,
        allow_boundary_overlap: bool = False,
    ) -> AppendReport: ...
    def append(
        self,
        source: ArrowSource,
        *,
        compression: Optional[Literal["uncompressed", "snappy", "zstd"]] = None,
        max_rows_per_row_group: Optional[int] = None,
        max_bytes_per_row_group: Optional[int] = None,
        on_overlap: Optional[Literal["reject", "skip", "replace"]] = None,
        allow_boundary_overlap: bool = False,
    ) -> AppendReport: ...
    def optimize(
        self,
        *,
        mode: Optional[Literal["entity_layout", "compact"]] = None,
        target_rows: Optional[int] = None,
        target_bytes: Optional[int] = None,
        window: Union[None, int, str, _dt.timedelta] = None,
    ) -> OptimizeReport:
        """Default: split every mixed-entity segment per entity (the reference's);
        mode="compact": merge small segments per entity and time window. One commit."""
    def vacuum(
        self,
        older_than: _dt.datetime,
        *,
        apply: bool = False,
        expire_history: bool = False,
        allow_short_retention: bool = False,
    ) -> VacuumReport:
        """Inspect (dry run) or delete files no retained version needs. older_than is
        timezone-aware and not in the future; files modified at or after it are kept.
        expire_history=True (tstable extension) also removes the files of versions
        older than the one current at older_than. VacuumApplyError on a failed deletion."""
    def add_columns(self, columns: pa.Schema) -> int:
        """Add nullable columns at the end of the schema (one commit); the new version."""
    def update_rows(
        self,
        source: ArrowSource,
        *,
        columns: Sequence[str],
        expected_version: int,
        strict: bool = False,
    ) -> UpdateRowsReport:
        """Set columns of the rows the source names by key (entity columns + exact
        index), in one commit. Key failures raise TimeseriesTableError with reason,
        example_key, input_rows_seen, observed_violations; a stale expected_version
        raises ConflictError."""
    def delete_rows(
        self,
        start: IndexValue,
        end: IndexValue,
        *,
        entities: Union[None, Mapping[str, EntityValue], EntityValue,
                        Sequence[Union[Mapping[str, EntityValue], EntityValue]]] = None,
        expected_version: Optional[int] = None,
    ) -> DeleteReport:
        """Delete the rows in [start, end) (bucket boundaries) of the entities, or of
        every entity, and their coverage, in one commit. A misaligned range or an
        unknown entity raises TimeseriesTableError naming the nearest valid ones."""
    def root(self) -> str: ...
    def version(self) -> int: ...
    def refresh(self) -> bool:
        """Move to the latest commit; True if the version changed."""
    def index_spec(self) -> Dict[str, Any]:
        """The index, in the reference's shape for the table's protocol.
        Protocol 7: {"index_column", "entity_columns", "index_type",
        "index_granularity" ("1h" for timestamps, an int for integer indexes),
        "timezone" (timestamps only)}. Format_version 6 (0.4): {"column",
        "entity_columns", "kind", "bucket" and "timezone" | "bucket_width"}."""
    def schema(self) -> Optional[List[Dict[str, Any]]]: ...
    def segments(self) -> List[Dict[str, Any]]: ...
    def scan(
        self,
        start: IndexValue,
        end: IndexValue,
        *,
        entity: Entity = None,
        columns: Optional[Sequence[str]] = None,
        require_coverage: RequireCoverage = False,
        calendar: Calendar = None,
    ) -> pa.Table: ...
    def scan_reader(
        self,
        start: IndexValue,
        end: IndexValue,
        *,
        entity: Entity = None,
        columns: Optional[Sequence[str]] = None,
        require_coverage: RequireCoverage = False,
        calendar: Calendar = None,
    ) -> pa.RecordBatchReader: ...
    def coverage_ratio(
        self, start: IndexValue, end: IndexValue, entity: Entity = None, calendar: Calendar = None
    ) -> float: ...
    def max_gap(
        self, start: IndexValue, end: IndexValue, entity: Entity = None, calendar: Calendar = None
    ) -> int: ...
    def coverage(
        self, start: IndexValue, end: IndexValue, entity: Entity = None, calendar: Calendar = None
    ) -> Dict[str, Any]: ...
    def coverage_plot(
        self,
        path: Optional[Union[str, "os.PathLike[str]"]] = None,
        *,
        start: Optional[IndexValue] = None,
        end: Optional[IndexValue] = None,
        entities: Any = None,
        width: int = 1000,
        height: int = 0,
        title: Optional[str] = None,
        calendar: Calendar = None,
    ) -> str: ...
    def coverage_figure(
        self,
        *,
        start: Optional[IndexValue] = None,
        end: Optional[IndexValue] = None,
        entities: Any = None,
        width: int = 1000,
        height: int = 0,
        title: Optional[str] = None,
        calendar: Calendar = None,
    ) -> Any: ...
    def gaps(
        self, start: IndexValue, end: IndexValue, entity: Entity = None, calendar: Calendar = None
    ) -> List[Tuple[Any, Any]]: ...
    def last_fully_covered_window(
        self,
        end: IndexValue,
        length: Union[int, _dt.timedelta],
        entity: Entity = None,
        calendar: Calendar = None,
    ) -> Optional[Tuple[Any, Any]]: ...
    def coverage_summary(self, calendar: Calendar = None) -> List[Dict[str, Any]]: ...
    def entities(self, now: Any = None) -> pa.Table:
        """One row per entity: entity columns, first, last, covered_buckets, gaps,
        missing_buckets, ratio, lag (now - last, a duration)."""
    def coverage_diff(
        self,
        other: Optional["TimeSeriesTable"] = None,
        from_version: Optional[int] = None,
        to_version: Optional[int] = None,
        start: Any = None,
        end: Any = None,
        entities: Optional[Sequence[Any]] = None,
    ) -> pa.Table:
        """Buckets added and removed per entity between two versions (from_version,
        to_version) or two tables (other), as merged ranges: entity columns..., change,
        start, end, buckets."""
        ...
    def plan_backfill(
        self,
        start: Any,
        end: Any,
        entities: Optional[Sequence[Any]] = None,
        max_request: Any = None,
        merge_within: Any = None,
        calendar: Calendar = None,
    ) -> pa.Table:
        """The fewest requests that fill the gaps of [start, end): entity columns...,
        start, end, buckets, missing_buckets."""
        ...
    def _commit_json(self, actions_json: str) -> int: ...

class Session:
    def __init__(self) -> None: ...
    def register_tstable(
        self,
        name: str,
        table_root: PathLike,
        version: Optional[int] = None,
        as_of: Optional[Union[_dt.datetime, _dt.date, str]] = None,
    ) -> None:
        """Register a table; version= or as_of= pins it to that version (as
        TimeSeriesTable.open). In SQL, "name@v12" reads another version."""
    def register_parquet(self, name: str, path: PathLike) -> None: ...
    def deregister(self, name: str) -> None: ...
    def tables(self) -> List[str]: ...
    def sql(self, query: str, params: Params = None,
            require_coverage: RequireCoverage = False, calendar: Calendar = None) -> pa.Table: ...
    def sql_reader(self, query: str, params: Params = None,
                   require_coverage: RequireCoverage = False,
                   calendar: Calendar = None) -> pa.RecordBatchReader: ...
    def last_prune(self) -> Dict[str, int]: ...
