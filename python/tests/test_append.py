"""Appends: Parquet, CSV and Arrow C streams, and every error they raise."""
import os
import threading
import time

import pytest

import timeseries_table_format as ttf
from conftest import NVDA_CSV, write_csv


def new_bars(tmp_path, name="t"):
    return ttf.TimeSeriesTable.create(table_root=str(tmp_path / name), index_column="ts",
                                      index_type="timestamp", bucket="1h",
                                      entity_columns=["symbol"])


def test_append_csv_returns_the_committed_version(tmp_path):
    t = new_bars(tmp_path)
    assert t.append_csv(NVDA_CSV) == 2
    assert t.version() == 2


def test_append_csv_with_explicit_column_types_and_delimiter(tmp_path):
    path = tmp_path / "semi.csv"
    path.write_text("x;name\n1;a\n25;b\n")
    t = ttf.TimeSeriesTable.create(table_root=str(tmp_path / "t"), index_column="x",
                                   index_type="int64", bucket_width=10)
    assert t.append_csv(str(path), delimiter=";", header=True,
                        columns={"x": "BIGINT", "name": "VARCHAR"}) == 2
    assert [c["type"] for c in t.schema()] == ["int64", "utf8"]
    assert t.coverage_ratio(0, 30) == pytest.approx(2 / 3)


def test_append_csv_option_errors(tmp_path, ints):
    with pytest.raises(ValueError, match="delimiter"):
        ints.append_csv(NVDA_CSV, delimiter=";;")
    with pytest.raises(TypeError, match="columns"):
        ints.append_csv(NVDA_CSV, columns=3)


def test_append_parquet_of_another_tables_segment(bars, tmp_path):
    seg = os.path.join(bars.root(), bars.segments()[0]["path"])
    t = new_bars(tmp_path, "copy")
    assert t.append_parquet(seg) == 2
    assert t.schema() == bars.schema()
    assert t.segments()[0]["row_count"] == 240


def test_missing_source_files_raise_with_table_root(ints, tmp_path):
    for call in (ints.append_parquet, ints.append_csv):
        with pytest.raises(ttf.TimeseriesTableError) as info:
            call(str(tmp_path / "missing.file"))
        assert info.value.table_root == ints.root()
    assert ints.version() == 1


def test_overlap_raises_coverage_overlap_error_with_details(bars):
    with pytest.raises(ttf.CoverageOverlapError) as info:
        bars.append_csv(NVDA_CSV)
    e = info.value
    assert e.overlap_count == 240
    assert e.example_entity_identity == {"symbol": "NVDA"}
    assert e.entity == "symbol=NVDA"
    assert e.example_bucket == e.bucket == (1 << 63) + 1717200000 // 3600
    assert e.example_bucket_range == "[2024-06-01T00:00:00Z, 2024-06-01T01:00:00Z)"
    assert e.segment_path is None
    assert e.table_root == bars.root()
    assert e.code == "TST_EOVERLAP"
    assert e.entity_count == 1 and e.entity_overlap_count == 240
    assert bars.version() == 2


def test_overlap_identity_keeps_integer_entity_values(tmp_path):
    t = ttf.TimeSeriesTable.create(table_root=str(tmp_path / "t"), index_column="x",
                                   index_type="int64", bucket_width=1, entity_columns=["dev"])
    csv = write_csv(tmp_path / "a.csv", ["x", "dev"], [[1, 7], [2, 7]])
    t.append_csv(csv)
    with pytest.raises(ttf.CoverageOverlapError) as info:
        t.append_csv(csv)
    assert info.value.example_entity_identity == {"dev": 7}


def test_schema_mismatch_raises_with_table_root(bars, tmp_path):
    csv = write_csv(tmp_path / "other.csv", ["ts", "symbol", "price"],
                    [["2024-07-01T00:00:00Z", "NVDA", 1.5]])
    with pytest.raises(ttf.SchemaMismatchError) as info:
        bars.append_csv(csv)
    assert info.value.table_root == bars.root()
    assert bars.version() == 2


def test_empty_source_raises_and_commits_nothing(ints, tmp_path):
    path = tmp_path / "empty.csv"
    path.write_text("x,name\n")
    with pytest.raises(ttf.TimeseriesTableError) as info:
        ints.append_csv(str(path), columns={"x": "BIGINT", "name": "VARCHAR"})
    assert info.value.code == "TST_EEMPTY"
    assert ints.version() == 1


# ---- append(obj): the Arrow PyCapsule protocol --------------------------------

class Exporter:
    """Wraps a SqlResult and counts __arrow_c_stream__ calls."""

    def __init__(self, inner):
        self.inner = inner
        self.calls = 0

    def __arrow_c_stream__(self, requested_schema=None):
        self.calls += 1
        return self.inner.__arrow_c_stream__()


def test_append_of_an_arrow_stream_calls_the_exporter_once(bars, tmp_path):
    src = Exporter(bars.scan("2024-06-01", "2024-07-01"))
    t = new_bars(tmp_path, "copy")
    assert t.append(src) == 2
    assert src.calls == 1
    got = t.scan("2024-06-01", "2024-07-01").to_pylist()
    want = bars.scan("2024-06-01", "2024-07-01").to_pylist()
    assert sorted(got, key=lambda r: r["ts"]) == sorted(want, key=lambda r: r["ts"])


def test_a_result_can_be_appended_twice_to_different_tables(bars, tmp_path):
    res = bars.scan("2024-06-01", "2024-06-03")
    assert new_bars(tmp_path, "a").append(res) == 2
    assert new_bars(tmp_path, "b").append(res) == 2
    assert len(res) == 48


def test_append_of_a_non_exporter_is_a_type_error(ints):
    with pytest.raises(TypeError, match="__arrow_c_stream__"):
        ints.append([1, 2, 3])
    assert ints.version() == 1


def test_an_exporter_that_raises_is_a_value_error_with_cause(ints):
    class Broken:
        def __arrow_c_stream__(self, requested_schema=None):
            raise RuntimeError("boom")

    with pytest.raises(ValueError, match=r"source.__arrow_c_stream__\(\) failed") as info:
        ints.append(Broken())
    assert isinstance(info.value.__cause__, RuntimeError)


def test_a_wrong_capsule_is_a_value_error(ints, bars):
    class NotCapsule:
        def __arrow_c_stream__(self, requested_schema=None):
            return 42

    with pytest.raises(ValueError, match="arrow_array_stream"):
        ints.append(NotCapsule())

    class WrongName:
        def __arrow_c_stream__(self, requested_schema=None):
            import ctypes
            new = ctypes.pythonapi.PyCapsule_New
            new.restype = ctypes.py_object
            new.argtypes = [ctypes.c_void_p, ctypes.c_char_p, ctypes.c_void_p]
            return new(id(self), b"arrow_schema", None)

    with pytest.raises(ValueError, match="arrow_array_stream"):
        ints.append(WrongName())


def test_a_consumed_capsule_is_a_value_error(bars, tmp_path):
    capsule = bars.scan("2024-06-01", "2024-06-02").__arrow_c_stream__()

    class Same:
        def __arrow_c_stream__(self, requested_schema=None):
            return capsule

    t = new_bars(tmp_path, "copy")
    assert t.append(Same()) == 2
    with pytest.raises(ValueError, match="already released"):
        t.append(Same())


def test_an_arrow_schema_mismatch_is_schema_mismatch_error(bars, tmp_path):
    t = ttf.TimeSeriesTable.create(table_root=str(tmp_path / "t"), index_column="ts",
                                   index_type="timestamp", bucket="1h",
                                   entity_columns=["symbol"])
    t.append(bars.scan("2024-06-01", "2024-06-02", columns=["ts", "symbol", "close"]))
    with pytest.raises(ttf.SchemaMismatchError) as info:
        t.append(bars.scan("2024-06-02", "2024-06-03", columns=["ts", "symbol", "open"]))
    assert info.value.table_root == t.root()


def test_appends_release_the_gil(tmp_path):
    """A Python thread keeps running while an append works in C."""
    rows = [[i, f"e{i % 7}"] for i in range(200000)]
    csv = write_csv(tmp_path / "big.csv", ["x", "name"], rows)
    t = ttf.TimeSeriesTable.create(table_root=str(tmp_path / "t"), index_column="x",
                                   index_type="int64", bucket_width=1)
    ticks = [0]
    stop = threading.Event()

    def spin():
        while not stop.is_set():
            ticks[0] += 1

    th = threading.Thread(target=spin)
    th.start()
    time.sleep(0.01)
    before = ticks[0]
    started = time.perf_counter()
    t.append_csv(csv)
    elapsed = time.perf_counter() - started
    during = ticks[0] - before
    stop.set()
    th.join()
    assert elapsed > 0.02
    assert during > 1000, (during, elapsed)


def test_threads_appending_to_one_handle_are_serialised(tmp_path):
    t = ttf.TimeSeriesTable.create(table_root=str(tmp_path / "t"), index_column="x",
                                   index_type="int64", bucket_width=10)
    files = [write_csv(tmp_path / f"{i}.csv", ["x"], [[i * 10]]) for i in range(8)]
    errors = []

    def work(path):
        try:
            t.append_csv(path)
        except Exception as e:  # pragma: no cover - reported below
            errors.append(e)

    threads = [threading.Thread(target=work, args=(f,)) for f in files]
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    assert errors == []
    assert t.version() == 9
    assert t.coverage_ratio(0, 80) == 1.0


def test_finding_5_overlap_error_counts_pairs_entities_and_the_first_entity(tmp_path):
    two = tmp_path / "two.csv"
    lines = open(NVDA_CSV).read().splitlines()
    amd = [l.replace(",NVDA,", ",AMD,") for l in lines[1:]]
    two.write_text("\n".join(lines + amd) + "\n")
    t = new_bars(tmp_path, "ov")
    t.append_csv(str(two))
    with pytest.raises(ttf.CoverageOverlapError) as info:
        t.append_csv(str(two))
    e = info.value
    assert e.overlap_count == 480
    assert e.entity_count == 2
    assert e.entity == "symbol=AMD" and e.entity_overlap_count == 240
    assert "480 (entity, bucket) pairs over 2 entities" in str(e)
    assert "first: symbol=AMD, 240 buckets from" in str(e)


@pytest.mark.parametrize("zone", [None, "UTC", "America/New_York"])
def test_nanoseconds_of_an_arrow_stream_are_stored_with_every_digit(tmp_path, zone):
    """DuckDB imports a zoned Arrow timestamp as TIMESTAMPTZ (microseconds): the staging
    must keep the nanoseconds, zone or not, and a microsecond table must refuse them."""
    import pyarrow as pa
    import pyarrow.parquet as pq
    ticks = [1_000_000_001, 2_000_000_123]
    t = ttf.TimeSeriesTable.create(table_root=str(tmp_path / "ns"), index_column="ts",
                                   index_type="timestamp", index_granularity="1s", protocol=7)
    t.append(pa.table({"ts": pa.array(ticks, pa.timestamp("ns", zone)), "v": [1, 2]}))
    stored = pq.read_table(str(tmp_path / "ns" / t.segments()[0]["path"])).column("ts")
    assert stored.type == pa.timestamp("ns", zone)
    assert stored.cast(pa.int64()).to_pylist() == ticks
    us = ttf.TimeSeriesTable.create(table_root=str(tmp_path / "us"), index_column="ts",
                                    index_type="timestamp", index_granularity="1s", protocol=7)
    us.append(pa.table({"ts": pa.array([0], pa.timestamp("us", zone)), "v": [0]}))
    with pytest.raises(ttf.SchemaMismatchError, match="not whole microseconds"):
        us.append(pa.table({"ts": pa.array([5_000_000_001], pa.timestamp("ns", zone)), "v": [1]}))
    us.append(pa.table({"ts": pa.array([6_000_000_000], pa.timestamp("ns", zone)), "v": [2]}))
    assert us.version() == 3
