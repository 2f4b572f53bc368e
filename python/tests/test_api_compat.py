"""The API as users of the reference write it: both create() spellings, the
0.4 and 0.5+ exception names, AppendReport where an int used to be, every
kind of Arrow data append() takes, its writer options, and the library's
diagnostics in Python logging."""
import datetime as dt
import json
import logging
import pickle

import pandas as pd
import polars as pl
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

import timeseries_table_format as ttf

HOUR_US = 3_600 * 1_000_000


def bars(hours, symbol="NVDA", start=0):
    return pa.table({"ts": pa.array([(start + h) * HOUR_US for h in range(hours)],
                                    pa.timestamp("us")),
                     "symbol": pa.array([symbol] * hours, pa.string()),
                     "close": pa.array([float(h) for h in range(hours)], pa.float64())})


def hourly(tmp_path, name="t"):
    return ttf.TimeSeriesTable.create(table_root=str(tmp_path / name), index_column="ts",
                                      index_type="timestamp", index_granularity="1h",
                                      entity_columns=["symbol"])


# ---- create(): every spelling the reference has had -----------------------------


def test_the_seed_spelling_creates_a_timestamp_table(tmp_path):
    t = ttf.TimeSeriesTable.create(table_root=str(tmp_path / "t"), time_column="ts", bucket="1h",
                                   entity_columns=["symbol"], timezone=None)
    assert t.index_spec() == {"index_column": "ts", "entity_columns": ["symbol"],
                              "index_type": "timestamp", "index_granularity": "1h",
                              "timezone": None}


def test_the_0_4_and_0_5_spellings_give_the_same_tables(tmp_path):
    specs = []
    for i, granularity in enumerate(({"bucket": "15m"}, {"index_granularity": "15m"})):
        t = ttf.TimeSeriesTable.create(table_root=str(tmp_path / f"ts{i}"), index_column="ts",
                                       index_type="timestamp", timezone="America/New_York",
                                       **granularity)
        specs.append(t.index_spec())
    assert specs[0] == specs[1] and specs[0]["timezone"] == "America/New_York"
    for kind in ("int64", "uint64"):
        a = ttf.TimeSeriesTable.create(table_root=str(tmp_path / f"{kind}a"), index_column="n",
                                       index_type=kind, bucket_width=10)
        b = ttf.TimeSeriesTable.create(table_root=str(tmp_path / f"{kind}b"), index_column="n",
                                       index_type=kind, index_granularity=10)
        assert a.index_spec() == b.index_spec() == {
            "index_column": "n", "entity_columns": [], "index_type": kind,
            "index_granularity": 10}


@pytest.mark.parametrize("kwargs, error, text", [
    ({"index_granularity": "1h", "bucket": "1h"}, TypeError, "not both"),
    ({"index_granularity": 10, "index_type": "timestamp"}, ValueError, "duration string"),
    ({"index_granularity": "1h", "index_type": "int64"}, ValueError, "positive int"),
    ({"index_granularity": True, "index_type": "int64"}, TypeError, "not bool"),
    ({"index_granularity": 1.5}, TypeError, "not float"),
])
def test_contradicting_granularities_are_refused_before_any_file(tmp_path, kwargs, error, text):
    with pytest.raises(error, match=text):
        ttf.TimeSeriesTable.create(table_root=str(tmp_path / "t"), index_column="ts", **kwargs)
    assert not (tmp_path / "t").exists()


def test_a_handle_is_a_subclass_instance_from_create_and_open(tmp_path):
    t = hourly(tmp_path)
    assert type(t) is ttf.TimeSeriesTable
    assert type(ttf.TimeSeriesTable.open(t.root())) is ttf.TimeSeriesTable
    assert "TimeSeriesTable" in repr(t) and "<table>" in t._repr_html_()
    t.append(bars(1))
    session = ttf.Session()
    session.register_tstable("bars", t.root())
    assert repr(session) == "Session(tables=['bars'])"


# ---- exceptions under both releases' names --------------------------------------


def test_every_reference_exception_name_exists_in_its_hierarchy():
    for name in ("TimeseriesTableError", "StorageError", "ConflictError", "CoverageOverlapError",
                 "SchemaMismatchError", "DataFusionError", "IndexIntervalOverlapError",
                 "DuplicateIndexIntervalError", "VacuumApplyError"):
        assert issubclass(getattr(ttf, name), ttf.TimeseriesTableError), name
    assert ttf.IndexIntervalOverlapError is ttf.CoverageOverlapError
    assert issubclass(ttf.VacuumApplyError, ttf.StorageError)
    assert ttf.DataFusionError is ttf.SqlError


def test_an_overlap_answers_under_the_0_4_and_the_0_5_attribute_names(tmp_path):
    t = hourly(tmp_path)
    t.append(bars(5))
    with pytest.raises(ttf.IndexIntervalOverlapError) as info:
        t.append(bars(3, start=3))
    e = info.value
    assert isinstance(e, ttf.CoverageOverlapError)
    assert e.overlap_count == e.conflict_count == 2
    assert e.example_entity_identity == e.example_identity == {"symbol": "NVDA"}
    assert e.example_bucket_range == e.example_index_interval == \
        "[1970-01-01T03:00:00Z, 1970-01-01T04:00:00Z)"
    assert t.version() == 2


# ---- AppendReport ----------------------------------------------------------------


def test_append_report_is_the_version_for_int_users_and_a_report_for_the_others(tmp_path):
    t = hourly(tmp_path)
    report = t.append(bars(5))
    assert isinstance(report, int) and isinstance(report, ttf.AppendReport)
    assert report == 2 and report + 1 == 3 and f"{report}" == str(report) == "2"
    assert json.dumps({"v": report}) == '{"v": 2}'
    assert report.committed_version == 2 and report.starting_version == 1
    assert report.row_count == 5 and report.file_size_bytes > 0 and report.attempts == 1
    assert report.segment_path.startswith("data/") and report.segment_path.endswith(".parquet")
    assert (tmp_path / "t" / report.segment_path).stat().st_size == report.file_size_bytes
    assert report.copied is False and report.compression == "zstd"
    assert pickle.loads(pickle.dumps(report)).to_dict() == report.to_dict()
    assert repr(report).startswith("AppendReport(committed_version=2, starting_version=1,")
    assert "<table>" in report._repr_html_()
    with pytest.raises(AttributeError):
        report.row_count = 1


def test_append_parquet_of_a_matching_file_reports_a_copy(tmp_path):
    t = hourly(tmp_path)
    t.append(bars(2))
    path = str(tmp_path / "more.parquet")
    schema = t.scan(dt.datetime(1970, 1, 1), dt.datetime(1970, 1, 2)).schema
    pq.write_table(bars(2, start=10).cast(schema), path)
    report = t.append_parquet(path)
    assert report == 3 and report.row_count == 2
    assert report.copied is True and report.compression is None
    inside = tmp_path / "t" / "data" / "mine.parquet"
    pq.write_table(bars(2, start=20).cast(schema), inside)
    report = t.append_parquet("data/mine.parquet", copy_if_outside=False)
    assert report == 4 and report.segment_path != "data/mine.parquet" and inside.exists()
    for key in ("../more.parquet", str(inside), "data/../../more.parquet", "."):
        with pytest.raises(ttf.StorageError, match="relative to the table root") as info:
            t.append_parquet(key, copy_if_outside=False)
        assert info.value.table_root == str(tmp_path / "t")
    assert t.version() == 4


# ---- what append() takes ---------------------------------------------------------


class StreamOnly:
    """A producer that only speaks the Arrow PyCapsule stream protocol."""

    def __init__(self, table):
        self.table = table
        self.calls = 0

    def __arrow_c_stream__(self, requested_schema=None):
        self.calls += 1
        return self.table.__arrow_c_stream__(requested_schema)


def test_append_takes_every_arrow_producer_users_have(tmp_path):
    t = hourly(tmp_path)
    producer = StreamOnly(bars(2, start=40))
    sources = [bars(2), bars(2, start=10).to_batches()[0],
               pa.RecordBatchReader.from_batches(bars(1).schema, bars(2, start=20).to_batches()),
               pl.from_arrow(bars(2, start=30)), producer]
    for i, source in enumerate(sources):
        assert t.append(source) == i + 2
    assert producer.calls == 1
    start, end = dt.datetime(1970, 1, 1), dt.datetime(1970, 1, 3, 2)
    assert t.scan(start, end).num_rows == 10
    assert t.coverage_ratio(start, end, {"symbol": "NVDA"}) == 10 / 50


def test_a_pandas_frame_appends_without_its_index(tmp_path):
    t = hourly(tmp_path)
    frame = bars(3).to_pandas().set_index("close")  # a named, non-range index
    frame["close"] = [1.0, 2.0, 3.0]
    assert t.append(frame) == 2
    assert [c["name"] for c in t.schema()] == ["ts", "symbol", "close"]
    ranged = bars(2, start=5).to_pandas()
    ranged.index = pd.RangeIndex(100, 102)
    assert t.append(ranged) == 3
    assert t.scan(dt.datetime(1970, 1, 1), dt.datetime(1970, 1, 2)).column_names == \
        ["ts", "symbol", "close"]


@pytest.mark.parametrize("source, text", [
    ("bars.parquet", "append_parquet"),
    (object(), "takes a pyarrow RecordBatch, Table"),
    ([{"ts": 1}], "takes a pyarrow RecordBatch, Table"),
])
def test_what_is_not_arrow_data_is_refused_saying_what_to_pass(tmp_path, source, text):
    t = hourly(tmp_path)
    with pytest.raises(TypeError, match=text):
        t.append(source)
    assert t.version() == 1


def test_a_polars_lazy_frame_is_refused_saying_to_collect_it(tmp_path):
    t = hourly(tmp_path)
    with pytest.raises(TypeError, match="collect"):
        t.append(pl.from_arrow(bars(2)).lazy())


def footer(table, report):
    return pq.ParquetFile(f"{table.root()}/{report.segment_path}").metadata


def test_writer_options_shape_the_new_segment(tmp_path):
    t = hourly(tmp_path)
    report = t.append(bars(5000), compression="snappy", max_rows_per_row_group=2048)
    meta = footer(t, report)
    assert report.compression == "snappy"
    assert {meta.row_group(i).column(0).compression for i in range(meta.num_row_groups)} == \
        {"SNAPPY"}
    assert meta.num_row_groups >= 2 and report.row_group_count == meta.num_row_groups
    plain = t.append(bars(5000, symbol="AMD"), compression="uncompressed")
    assert footer(t, plain).row_group(0).column(0).compression == "UNCOMPRESSED"
    small = t.append(bars(20000, symbol="TSLA"), max_bytes_per_row_group=64 * 1024)
    assert footer(t, small).num_row_groups >= 5
    reader = pa.RecordBatchReader.from_batches(bars(1).schema,
                                               bars(20000, symbol="AAPL").to_batches(4096))
    streamed = t.append(reader, max_bytes_per_row_group=64 * 1024, max_rows_per_row_group=10**6)
    assert footer(t, streamed).num_row_groups >= 5 and streamed.row_count == 20000


@pytest.mark.parametrize("kwargs, text", [
    ({"compression": "lz4"}, "compression must be"),
    ({"max_rows_per_row_group": 0}, "must be positive"),
    ({"max_bytes_per_row_group": -1}, "must be positive"),
    ({"max_rows_per_row_group": True}, "must be positive"),
])
def test_bad_writer_options_are_refused_before_reading(tmp_path, kwargs, text):
    t = hourly(tmp_path)
    reader = pa.RecordBatchReader.from_batches(bars(1).schema, bars(2).to_batches())
    with pytest.raises(ValueError, match=text):
        t.append(reader, **kwargs)
    assert reader.read_all().num_rows == 2  # not consumed
    assert t.version() == 1


# ---- diagnostics -----------------------------------------------------------------


def test_library_diagnostics_reach_python_logging(tmp_path, caplog):
    t = ttf.TimeSeriesTable.create(table_root=str(tmp_path / "t"), index_column="n",
                                   index_type="int64", index_granularity=1)
    with caplog.at_level(logging.WARNING, logger="timeseries_table_format"):
        t.append(pa.table({"n": pa.array([1, 2], pa.int64()), "v": pa.array([1, 2], pa.int16())}))
    records = [r for r in caplog.records if r.name == "timeseries_table_format"]
    assert len(records) == 1 and records[0].levelno == logging.WARNING
    assert records[0].tstable_event == "append.adopt"
    assert "column 'v'" in records[0].getMessage() and "stored as" in records[0].getMessage()
    ttf.refresh_logging_cache()


def test_a_silenced_logger_hears_nothing(tmp_path, caplog):
    t = ttf.TimeSeriesTable.create(table_root=str(tmp_path / "t"), index_column="n",
                                   index_type="int64", index_granularity=10)
    with caplog.at_level(logging.ERROR, logger="timeseries_table_format"):
        t.append(pa.table({"n": pa.array([1], pa.int64()), "v": pa.array([1], pa.int16())}))
    assert [r for r in caplog.records if r.name == "timeseries_table_format"] == []


def test_the_log_bridge_takes_only_a_callable_and_a_raising_handler_breaks_nothing(tmp_path):
    from timeseries_table_format import _logging, _native
    with pytest.raises(TypeError, match="callable or None"):
        _native._set_log_handler(42)

    def broken(level, event, message):
        raise RuntimeError("handler failed")

    _native._set_log_handler(broken)
    try:
        t = ttf.TimeSeriesTable.create(table_root=str(tmp_path / "t"), index_column="n",
                                       index_type="int64", index_granularity=10)
        # the event's exception is reported as unraisable; the append itself succeeds
        assert t.append(pa.table({"n": pa.array([1], pa.int64()),
                                  "v": pa.array([1], pa.int16())})) == 2
    finally:
        _native._set_log_handler(_logging._forward)
