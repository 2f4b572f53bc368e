"""create(protocol=7): tables in the reference 0.5-0.9's protocol 7, and the error its
one-row-per-interval rule raises (DuplicateIndexIntervalError)."""
import json

import pyarrow as pa
import pytest

import timeseries_table_format as ttf


def first_commit(root):
    return (root / "_timeseries_log" / "0000000001.json").read_text()


def test_create_protocol_7_writes_a_protocol_7_meta(tmp_path):
    ttf.TimeSeriesTable.create(table_root=str(tmp_path / "t"), index_column="k",
                               index_type="uint64", index_granularity=7, protocol=7)
    meta = json.loads(first_commit(tmp_path / "t"))["actions"][0]["UpdateTableMeta"]
    assert meta["kind"]["TimeSeries"]["kind"] == {"type": "uint64", "index_granularity": 7}
    assert (meta["protocol_version"], meta["required_reader_features"],
            meta["required_writer_features"]) == (7, [], [])
    assert "format_version" not in meta


@pytest.mark.parametrize("protocol", [None, 7])
def test_the_default_and_7_are_protocol_7(tmp_path, protocol):
    ttf.TimeSeriesTable.create(table_root=str(tmp_path / "t"), index_column="ts",
                               index_granularity="1h", protocol=protocol)
    meta = json.loads(first_commit(tmp_path / "t"))["actions"][0]["UpdateTableMeta"]
    assert meta["protocol_version"] == 7 and "format_version" not in meta
    assert meta["kind"]["TimeSeries"]["kind"] == {"type": "timestamp",
                                                  "index_granularity": {"Hours": 1}}


def test_protocol_6_makes_a_format_version_6_table_for_0_4_readers(tmp_path):
    ttf.TimeSeriesTable.create(table_root=str(tmp_path / "t"), index_column="ts",
                               bucket="1h", protocol=6)
    meta = json.loads(first_commit(tmp_path / "t"))["actions"][0]["UpdateTableMeta"]
    assert meta["format_version"] == 6 and "protocol_version" not in meta
    assert meta["kind"]["TimeSeries"]["kind"] == {"type": "timestamp", "bucket": {"Hours": 1}}


@pytest.mark.parametrize("protocol", [5, 8, True, "7", 7.0])
def test_other_protocols_are_refused_before_any_io(tmp_path, protocol):
    with pytest.raises(ValueError, match="invalid protocol .* expected 7"):
        ttf.TimeSeriesTable.create(table_root=str(tmp_path / "t"), index_column="ts",
                                   index_granularity="1h", protocol=protocol)
    assert not (tmp_path / "t").exists()


def test_a_duplicate_interval_in_one_append_raises_and_writes_nothing(tmp_path):
    t = ttf.TimeSeriesTable.create(table_root=str(tmp_path / "t"), index_column="k",
                                   index_type="int64", index_granularity=10,
                                   entity_columns=["e"], protocol=7)
    t.append(pa.table({"k": pa.array([0, 10], pa.int64()), "e": [3, 3]}))
    with pytest.raises(ttf.DuplicateIndexIntervalError) as err:
        t.append(pa.table({"k": pa.array([200, 205], pa.int64()), "e": [3, 3]}))
    e = err.value
    assert isinstance(e, ttf.TimeseriesTableError)
    assert (e.example_identity, e.example_index_interval, e.segment_path) == \
        ({"e": 3}, "[200, 210)", None)
    assert e.code == "TST_EDUPLICATE" and "Duplicate ordered-index interval" in str(e)
    assert t.version() == 2 and len(list((tmp_path / "t" / "data").rglob("*.parquet"))) == 1
    # The same rows in a format_version-6 table are fine.
    v6 = ttf.TimeSeriesTable.create(table_root=str(tmp_path / "v6"), index_column="k",
                                    index_type="int64", index_granularity=10,
                                    entity_columns=["e"], protocol=6)
    v6.append(pa.table({"k": pa.array([200, 205], pa.int64()), "e": [3, 3]}))
    assert v6.version() == 2


def set_writer_feature(root, name):
    """Declares a writer feature this build does not know, as a later reference could."""
    log = root / "_timeseries_log"
    commit = json.loads((log / "0000000001.json").read_text())
    commit["actions"][0]["UpdateTableMeta"]["required_writer_features"] = [name]
    (log / "0000000001.json").write_text(json.dumps(commit))


def test_a_table_this_build_cannot_write_is_refused_before_the_source_is_touched(tmp_path):
    root = tmp_path / "t"
    ttf.TimeSeriesTable.create(table_root=str(root), index_column="ts", index_type="timestamp",
                               index_granularity="1h", entity_columns=["symbol"], protocol=7)
    set_writer_feature(root, "future_writer")
    t = ttf.TimeSeriesTable.open(str(root))  # readable

    class Untouched:
        calls = 0

        def __arrow_c_stream__(self, requested_schema=None):
            Untouched.calls += 1
            raise AssertionError("the source must not be read")

    with pytest.raises(ttf.TimeseriesTableError, match="unsupported table writer features") as e:
        t.append(Untouched())
    assert "future_writer" in str(e.value) and Untouched.calls == 0 and t.version() == 1


@pytest.mark.parametrize("control", [KeyboardInterrupt, SystemExit, GeneratorExit])
def test_control_flow_raised_by_a_source_passes_through_unwrapped(tmp_path, control):
    t = ttf.TimeSeriesTable.create(table_root=str(tmp_path / "t"), index_column="ts",
                                   index_granularity="1h", protocol=7)

    class Interrupting:
        def __arrow_c_stream__(self, requested_schema=None):
            raise control("stop")

    with pytest.raises(control):
        t.append(Interrupting())
    assert t.version() == 1
