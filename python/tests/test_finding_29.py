"""Finding 29: coverage answers (and scans) on a long-lived TimeSeriesTable
are for the latest commit: each call refreshes the handle, so what another
process appended is seen without calling refresh(), as Session SQL sees it."""
import datetime as dt
import os
import shutil
import subprocess
import sys
import textwrap

import pyarrow as pa
import pytest

import timeseries_table_format as ttf
from conftest import NVDA_CSV

UTC = dt.timezone.utc


def append_in_another_process(root, code):
    """Runs `code` with `t` = TimeSeriesTable.open(root) in a new interpreter."""
    script = textwrap.dedent(f"""
        import pyarrow as pa, datetime as dt
        import timeseries_table_format as ttf
        t = ttf.TimeSeriesTable.open({str(root)!r})
    """) + textwrap.dedent(code)
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                         timeout=120)
    assert out.returncode == 0, out.stderr


def test_finding_29_coverage_answers_see_another_processes_appends(tmp_path):
    t = ttf.TimeSeriesTable.create(table_root=str(tmp_path / "bars"), time_column="ts",
                                   bucket="1h", entity_columns=["symbol"])
    nvda = {"symbol": "NVDA"}
    june = ("2024-06-01", "2024-06-11")
    assert t.coverage_ratio(*june) == 0.0
    assert t.coverage_summary() == []

    append_in_another_process(t.root(), f"t.append_csv({NVDA_CSV!r})")
    assert t.coverage_ratio(*june, nvda) == 1.0           # no refresh() in between
    assert t.version() == 2
    assert t.max_gap(*june, nvda) == 0
    assert t.coverage(*june)["covered_buckets"] == 240
    assert t.gaps(*june, nvda) == []
    assert t.last_fully_covered_window("2024-06-11", dt.timedelta(hours=24), nvda) == \
        (dt.datetime(2024, 6, 10, tzinfo=UTC), dt.datetime(2024, 6, 11, tzinfo=UTC))
    assert [s["covered_buckets"] for s in t.coverage_summary()] == [240]
    assert len(t.scan(*june)) == 240

    # A second append (June 11, AMD) by the other process: the next call sees it too.
    append_in_another_process(t.root(), """
        t.append(pa.table({
            "ts": pa.array([dt.datetime(2024, 6, 11, h, tzinfo=dt.timezone.utc) for h in range(24)],
                           pa.timestamp("us", "UTC")),
            "symbol": ["AMD"] * 24, "open": [1.0] * 24, "high": [1.0] * 24, "low": [1.0] * 24,
            "close": [1.0] * 24, "volume": pa.array([1] * 24, pa.int64())}))
    """)
    assert t.coverage_ratio("2024-06-11", "2024-06-12", {"symbol": "AMD"}) == 1.0
    assert t.gaps("2024-06-10", "2024-06-12", nvda) == \
        [(dt.datetime(2024, 6, 11, tzinfo=UTC), dt.datetime(2024, 6, 12, tzinfo=UTC))]
    assert [s["entity"] for s in t.coverage_summary()] == [{"symbol": "AMD"}, {"symbol": "NVDA"}]
    assert t.version() == 3
    assert t.refresh() is False                             # already there


def test_finding_29_entity_values_are_typed_by_the_schema_another_process_set(tmp_path):
    t = ttf.TimeSeriesTable.create(table_root=str(tmp_path / "iot"), index_column="x",
                                   index_type="int64", bucket_width=1, entity_columns=["dev"])
    assert t.schema() is None
    append_in_another_process(t.root(), """
        t.append(pa.table({"x": pa.array(range(100), pa.int64()),
                           "dev": pa.array([7] * 100, pa.int32())}))
    """)
    assert t.coverage_ratio(0, 100, {"dev": 7}) == 1.0
    assert t.coverage_ratio(0, 100, {"dev": 8}) == 0.0
    assert t.schema()[1] == {"name": "dev", "type": "int32", "nullable": True}
    assert len(t.scan(0, 100, entity={"dev": 7})) == 100


def test_finding_29_a_table_replaced_underneath_fails_with_its_root(tmp_path):
    root = str(tmp_path / "bars")
    t = ttf.TimeSeriesTable.create(table_root=root, time_column="ts", bucket="1h")
    t.append_csv(NVDA_CSV)
    shutil.rmtree(root)
    ttf.TimeSeriesTable.create(table_root=root, time_column="ts", bucket="1h")  # version 1 again
    for call in (lambda: t.coverage_ratio("2024-06-01", "2024-06-02"),
                 lambda: t.gaps("2024-06-01", "2024-06-02"),
                 lambda: t.coverage_summary(),
                 lambda: t.last_fully_covered_window("2024-06-02", 1),
                 lambda: t.scan("2024-06-01", "2024-06-02")):
        with pytest.raises(ttf.TimeseriesTableError) as info:
            call()
        assert info.value.table_root == root
        assert info.value.code == "TST_ECORRUPT"
        assert "went back from version 2 to 1" in str(info.value)
    assert t.version() == 2                                 # the handle kept its state


def test_finding_29_first_answers_at_each_version_read_the_snapshot_in_part(tmp_path):
    """The first answer at a new version reads the snapshot in part (one entity's
    bitmap; the summary straight from the bytes, docs/internals/coverage.md): each
    still sees what the other process just committed, and agrees with a fresh
    handle that loads everything."""
    t = ttf.TimeSeriesTable.create(table_root=str(tmp_path / "bars"), time_column="ts",
                                   bucket="1h", entity_columns=["symbol"])
    day = ("2024-06-01", "2024-06-02")
    for n, sym in enumerate(["B", "A", "C", "A"]):
        hours = range(6 * n, 6 * n + 4)  # a gap of 2 hours after each
        append_in_another_process(t.root(), f"""
            t.append(pa.table({{
                "ts": pa.array([dt.datetime(2024, 6, 1, h, tzinfo=dt.timezone.utc)
                                for h in {list(hours)!r}], pa.timestamp("us", "UTC")),
                "symbol": [{sym!r}] * 4, "v": [1.0] * 4}}))
        """)
        if n % 2 == 0:  # the summary first, then one entity
            summary = t.coverage_summary()
            ratio = t.coverage_ratio(*day, {"symbol": sym})
        else:           # one entity first, then the summary
            ratio = t.coverage_ratio(*day, {"symbol": sym})
            summary = t.coverage_summary()
        fresh = ttf.TimeSeriesTable.open(t.root())
        fresh.coverage(*day)  # loads the whole coverage first
        assert summary == fresh.coverage_summary()
        assert ratio == fresh.coverage_ratio(*day, {"symbol": sym})
        assert t.version() == n + 2
    a = [s for s in t.coverage_summary() if s["entity"] == {"symbol": "A"}][0]
    assert a["covered_buckets"] == 8 and a["gaps"] == 1
