"""TimeSeriesTable: create, open, introspection and their errors."""
import datetime as dt
import os

import pytest

import timeseries_table_format as ttf


def make(tmp_path, **kw):
    args = dict(table_root=str(tmp_path / "t"), index_column="ts", index_type="timestamp",
                bucket="1h")
    args.update(kw)
    return ttf.TimeSeriesTable.create(**args)


def test_create_returns_a_table_at_version_1(tmp_path):
    t = make(tmp_path)
    assert t.version() == 1
    assert t.root() == str(tmp_path / "t")
    assert t.schema() is None
    assert t.segments() == []


def test_create_is_keyword_only(tmp_path):
    with pytest.raises(TypeError):
        ttf.TimeSeriesTable.create(str(tmp_path / "t"), "ts", "timestamp")


def test_create_needs_table_root_a_bucket_and_an_index_column(tmp_path):
    with pytest.raises(TypeError, match="table_root"):
        ttf.TimeSeriesTable.create(index_column="ts", index_type="timestamp", bucket="1h")
    with pytest.raises(TypeError, match="bucket= for a timestamp index"):
        ttf.TimeSeriesTable.create(table_root=str(tmp_path / "t"), index_column="ts")
    assert not os.path.exists(tmp_path / "t")
    with pytest.raises(TypeError, match="index_column"):
        ttf.TimeSeriesTable.create(table_root=str(tmp_path), index_type="timestamp", bucket="1h")


def test_time_column_is_an_alias_of_index_column(tmp_path):
    t = ttf.TimeSeriesTable.create(table_root=str(tmp_path / "t"), time_column="when",
                                   index_type="timestamp", bucket="15m")
    assert t.index_spec()["index_column"] == "when"
    with pytest.raises(TypeError, match="not both"):
        ttf.TimeSeriesTable.create(table_root=str(tmp_path / "u"), time_column="a",
                                   index_column="b", index_type="timestamp", bucket="1h")


def test_index_spec_of_a_timestamp_table(tmp_path):
    t = make(tmp_path, bucket="60 minutes", entity_columns=["symbol", "venue"],
             timezone="America/New_York")
    assert t.index_spec() == {"index_column": "ts", "entity_columns": ["symbol", "venue"],
                              "index_type": "timestamp", "index_granularity": "60m",
                              "timezone": "America/New_York"}
    # A format_version-6 table answers with the reference 0.4's keys.
    v6 = ttf.TimeSeriesTable.create(table_root=str(tmp_path / "v6"), index_column="ts",
                                    bucket="60 minutes", protocol=6)
    assert v6.index_spec() == {"column": "ts", "entity_columns": [], "kind": "timestamp",
                               "bucket": "60m", "timezone": None}


def test_index_spec_of_integer_tables(tmp_path):
    for kind in ("int64", "uint64"):
        t = ttf.TimeSeriesTable.create(table_root=str(tmp_path / kind), index_column="x",
                                       index_type=kind, bucket_width=2**64 - 1)
        assert t.index_spec() == {"index_column": "x", "entity_columns": [], "index_type": kind,
                                  "index_granularity": 2**64 - 1}
        v6 = ttf.TimeSeriesTable.create(table_root=str(tmp_path / f"v6{kind}"), index_column="x",
                                        index_type=kind, bucket_width=7, protocol=6)
        assert v6.index_spec() == {"column": "x", "entity_columns": [], "kind": kind,
                                   "bucket_width": 7}


@pytest.mark.parametrize("kw, field, reason", [
    (dict(bucket="2x"), "bucket", "unknown time bucket unit 'x'"),
    (dict(bucket=None), "index_granularity", "required keyword argument 'index_granularity' "
                                             "(bucket= in the 0.4 API)"),
    (dict(bucket_width=10), "bucket_width", "use bucket for timestamp indexes"),
    (dict(index_type="int64", bucket=None, bucket_width=0), "bucket_width", "1..=18446744073709551615"),
    (dict(index_type="int64", bucket=None, bucket_width=True), "bucket_width", "int"),
    (dict(index_type="int64", bucket=None, bucket_width=-1), "bucket_width", "int"),
    (dict(index_type="int64", bucket="1h", bucket_width=3), "bucket", "only valid for timestamp"),
    (dict(index_type="uint64", bucket=None, bucket_width=3, timezone="UTC"), "timezone",
     "only valid for timestamp"),
    (dict(index_type="float"), "index_type", "expected"),
])
def test_invalid_options_fail_before_any_io(tmp_path, kw, field, reason):
    with pytest.raises(ttf.TimeseriesTableError) as info:
        make(tmp_path, **kw)
    e = info.value
    assert str(e).startswith(f"invalid {field} for index_type \"")
    assert reason in str(e)
    assert e.table_root == str(tmp_path / "t")
    assert e.index_type == kw.get("index_type", "timestamp")
    assert not os.path.exists(tmp_path / "t")


def test_entity_column_equal_to_index_column_is_rejected(tmp_path):
    with pytest.raises(ttf.TimeseriesTableError) as info:
        make(tmp_path, entity_columns=["ts"])
    assert info.value.table_root == str(tmp_path / "t")
    assert info.value.code == "TST_EINVAL"


def test_creating_twice_fails_with_table_root(tmp_path):
    make(tmp_path)
    with pytest.raises(ttf.TimeseriesTableError) as info:
        make(tmp_path)
    assert info.value.code == "TST_EEXISTS"
    assert info.value.table_root == str(tmp_path / "t")
    assert str(info.value).endswith(f"(table_root={tmp_path / 't'})")


def test_s3_locations_are_rejected(tmp_path):
    with pytest.raises(ttf.TimeseriesTableError) as info:
        make(tmp_path, table_root="s3://bucket/t")
    assert info.value.table_root == "s3://bucket/t"


def test_open_sees_the_table_and_its_appends(bars):
    again = ttf.TimeSeriesTable.open(bars.root())
    assert again.version() == bars.version() == 2
    assert again.index_spec() == bars.index_spec()
    assert again.schema() == bars.schema()


def test_open_accepts_path_objects(tmp_path):
    make(tmp_path)
    assert ttf.TimeSeriesTable.open(tmp_path / "t").version() == 1


def test_open_of_a_missing_table_fails_with_table_root(tmp_path):
    with pytest.raises(ttf.TimeseriesTableError) as info:
        ttf.TimeSeriesTable.open(str(tmp_path / "nothing"))
    assert info.value.table_root == str(tmp_path / "nothing")
    assert info.value.code in ("TST_EEMPTY", "TST_ENOTFOUND", "TST_EIO")


def test_schema_is_adopted_from_the_first_append(bars):
    assert bars.schema() == [
        {"name": "ts", "type": "timestamp[us](UTC)", "nullable": True},
        {"name": "symbol", "type": "utf8", "nullable": True},
        {"name": "open", "type": "float64", "nullable": True},
        {"name": "high", "type": "float64", "nullable": True},
        {"name": "low", "type": "float64", "nullable": True},
        {"name": "close", "type": "float64", "nullable": True},
        {"name": "volume", "type": "int64", "nullable": True},
    ]


def test_segments_describe_each_data_file(bars):
    (seg,) = bars.segments()
    utc = dt.timezone.utc
    assert seg["path"].startswith("data/") and seg["path"].endswith(".parquet")
    assert seg["row_count"] == 240
    assert seg["index_min"] == dt.datetime(2024, 6, 1, tzinfo=utc)
    assert seg["index_max"] == dt.datetime(2024, 6, 10, 23, tzinfo=utc)
    assert seg["entity_layout"] == "single" and seg["entity"] == {"symbol": "NVDA"}
    assert seg["file_size"] == os.path.getsize(os.path.join(bars.root(), seg["path"]))
    assert seg["coverage_path"].startswith("_coverage/")


def test_refresh_moves_a_handle_to_the_latest_commit(bars, tmp_path):
    other = ttf.TimeSeriesTable.open(bars.root())
    assert other.refresh() is False
    from conftest import write_csv
    bars.append_csv(write_csv(tmp_path / "more.csv", ["ts", "symbol", "open", "high", "low",
                                                      "close", "volume"],
                              [["2024-07-01T00:00:00Z", "NVDA", 1.0, 1.0, 1.0, 1.0, 1]]))
    assert other.version() == 2
    assert other.refresh() is True
    assert other.version() == 3


def test_repr_names_root_and_version(bars):
    assert repr(bars) == f"<TimeSeriesTable root={bars.root()} version=2>"


def test_stale_commit_raises_conflict_with_versions(ints):
    stale = ttf.TimeSeriesTable.open(ints.root())
    assert ints._commit_json("[]") == 2
    with pytest.raises(ttf.ConflictError) as info:
        stale._commit_json("[]")
    e = info.value
    assert (e.expected, e.found) == (1, 2)
    assert (e.expected_version, e.found_version) == (1, 2)
    assert e.table_root == ints.root()
    assert ttf.TimeSeriesTable.open(ints.root()).version() == 2  # the winner is intact


def test_exception_hierarchy():
    for cls in (ttf.StorageError, ttf.ConflictError, ttf.CoverageOverlapError,
                ttf.SchemaMismatchError, ttf.SqlError):
        assert issubclass(cls, ttf.TimeseriesTableError)
    assert ttf.DataFusionError is ttf.SqlError
    assert ttf.TimeseriesTableError("x").table_root is None
    assert ttf.__version__ == "0.1.0"
