"""TimeSeriesTable.optimize(mode="compact"): compaction from Python.

Daily appends (per symbol, and mixed) become one segment per symbol and
window; the rows, the coverage and the gaps are what they were; a second run
is a no-op; optimize() without arguments stays the reference's entity layout;
bad arguments are ValueErrors naming the argument.
"""
import datetime as dt
import pyarrow as pa
import pytest

import timeseries_table_format as ttf

DAY_MS = 86_400_000
HOUR_MS = 3_600_000


def day(d, symbols, v0=0.0):
    ts = [d * DAY_MS + h * HOUR_MS for h in range(24) for _ in symbols]
    sym = [s for _ in range(24) for s in symbols]
    return pa.table({"ts": pa.array(ts, pa.timestamp("ms", tz="UTC")), "symbol": sym,
                     "v": [v0 + i for i in range(len(ts))]})


@pytest.fixture
def daily(tmp_path):
    t = ttf.TimeSeriesTable.create(table_root=str(tmp_path / "t"), index_column="ts",
                                   index_granularity="1h", entity_columns=["symbol"])
    for d in range(14):
        t.append(day(d, ["NVDA"], 1000.0 * d))
        if d < 4:
            t.append(day(d, ["AAPL", "MSFT"], 50.0 * d))
    return t


def rows(t):
    s = ttf.Session()
    s.register_tstable("t", t.root())
    out = s.sql("SELECT symbol, ts, v FROM t ORDER BY symbol, ts")
    return out.to_pylist()


START = dt.datetime(1970, 1, 1, tzinfo=dt.timezone.utc)
END = dt.datetime(1970, 1, 20, tzinfo=dt.timezone.utc)


def coverage_and_gaps(t):
    """Every symbol's coverage ratio and gaps over the table's days."""
    return {s: (t.coverage_ratio(START, END, entity={"symbol": s}),
                t.gaps(START, END, entity={"symbol": s}))
            for s in ("NVDA", "AAPL", "MSFT")}


def test_compaction_merges_per_symbol_and_window_and_keeps_rows_and_coverage(daily):
    before = rows(daily)
    cov_before = coverage_and_gaps(daily)
    report = daily.optimize(mode="compact", window="7d")
    # 7-day windows from the epoch: days 0-6 and 7-13. NVDA: 2 outputs; AAPL, MSFT: 1 each.
    assert report.mode == "compact"
    assert (report.segments_before, report.segments_after) == (18, 4)
    assert report.source_segments_replaced == report.candidate_source_segments == 18
    assert report.replacement_segments_written == 4
    assert report.distinct_identities_materialized == 3
    assert report.rows_read == report.rows_written == 24 * (14 + 8)
    assert 0 < report.bytes_written < report.bytes_read
    assert report.window == 7 * 86400
    assert report.target_rows == 10_000_000 and report.target_bytes == 128 << 20
    assert report.committed_version == report.starting_version + 1 and report.attempts == 1
    assert rows(daily) == before
    assert coverage_and_gaps(daily) == cov_before
    again = daily.optimize(mode="compact", window=dt.timedelta(days=7))
    assert again.no_op and again.committed_version == report.committed_version
    assert again.segments_before == again.segments_after == 4


def test_the_row_target_is_kept(daily):
    report = daily.optimize(mode="compact", window="30d", target_rows=72)
    # NVDA: 14 days of 24 rows in threes (5 outputs, the last of 2 days); AAPL, MSFT: 4 days each
    # -> 3 + 1 days: the 1-day rest is left alone only when it is a whole segment; here a part
    # of a mixed segment, so it is written too.
    assert report.replacement_segments_written == 5 + 2 + 2
    assert rows(daily) == sorted(rows(daily), key=lambda r: (r["symbol"], r["ts"]))
    assert daily.optimize(mode="compact", window="30d", target_rows=72).no_op


def test_optimize_without_arguments_is_still_the_entity_layout(daily):
    report = daily.optimize()
    assert report.mode == "entity_layout"
    assert report.replacement_segments_written == 8  # 4 mixed days x 2 symbols
    assert report.segments_before is None and report.bytes_read is None
    assert daily.optimize().no_op


@pytest.mark.parametrize("kwargs, word", [
    ({"mode": "squash"}, "mode"),
    ({"target_rows": 10}, "mode='compact' only"),
    ({"mode": "compact", "target_rows": 0}, "target_rows"),
    ({"mode": "compact", "target_bytes": -1}, "target_bytes"),
    ({"mode": "compact", "window": "7 weeks"}, "window"),
    ({"mode": "compact", "window": dt.timedelta(0)}, "window"),
])
def test_bad_arguments_are_value_errors_naming_them(daily, kwargs, word):
    with pytest.raises(ValueError, match=word):
        daily.optimize(**kwargs)


def test_a_table_without_entity_columns_is_compacted_as_one_group(tmp_path):
    t = ttf.TimeSeriesTable.create(table_root=str(tmp_path / "g"), index_column="ts",
                                   index_granularity="1h")
    for d in range(5):
        t.append(day(d, ["X"]).drop_columns(["symbol"]))
    report = t.optimize(mode="compact")
    assert (report.segments_before, report.segments_after) == (5, 1)
    assert report.distinct_identities_materialized == 0
    s = ttf.Session()
    s.register_tstable("t", t.root())
    assert s.sql("SELECT count(*) AS n FROM t").column(0)[0].as_py() == 120


def test_segments_from_before_an_add_columns_merge_with_later_ones(tmp_path):
    t = ttf.TimeSeriesTable.create(table_root=str(tmp_path / "a"), index_column="ts",
                                   index_granularity="1h", entity_columns=["symbol"])
    t.append(day(0, ["NVDA"]))
    t.append(day(1, ["NVDA"]))
    t.add_columns(pa.schema([pa.field("note", pa.string())]))
    t.append(day(2, ["NVDA"]).append_column("note", pa.array(["x"] * 24)))
    before = rows(t)
    report = t.optimize(mode="compact")
    assert (report.segments_before, report.segments_after) == (3, 1)
    assert rows(t) == before
    s = ttf.Session()
    s.register_tstable("t", t.root())
    counts = s.sql("SELECT count(note) AS n, count(*) AS m FROM t").to_pylist()
    assert counts == [{"n": 24, "m": 72}]


@pytest.mark.parametrize("index_type, arrow_type, base", [
    ("int64", pa.int64(), -1_000),           # windows cross zero: floor division
    ("uint64", pa.uint64(), 2**64 - 10_116),  # near the top of the domain (a multiple of 500)
])
def test_integer_indexes_are_windowed_in_index_units(tmp_path, index_type, arrow_type, base):
    t = ttf.TimeSeriesTable.create(table_root=str(tmp_path / index_type), index_column="k",
                                   index_type=index_type, index_granularity=10,
                                   entity_columns=["symbol"])
    # 20 appends of 10 keys, one a bucket, 100 keys apart: windows of 500 keys (50 buckets)
    # hold 5 appends each.
    for i in range(20):
        keys = [base + 100 * i + 10 * j for j in range(10)]
        t.append(pa.table({"k": pa.array(keys, arrow_type), "symbol": ["A"] * 10,
                           "v": [float(j) for j in range(10)]}))
    before = rows_by(t, "k")
    report = t.optimize(mode="compact", window=500)
    assert report.window == 500
    assert (report.segments_before, report.segments_after) == (20, 4)
    assert rows_by(t, "k") == before
    assert t.optimize(mode="compact", window=500).no_op
    # The default window is 1,000 buckets (10,000 keys): everything in one segment, unless
    # the keys straddle a window boundary (int64 from -1,000 crosses 0).
    report = t.optimize(mode="compact")
    assert report.window == 10_000
    assert report.segments_after == (2 if index_type == "int64" else 1)


def rows_by(t, column):
    s = ttf.Session()
    s.register_tstable("t", t.root())
    return s.sql(f"SELECT * FROM t ORDER BY {column}").to_pylist()
