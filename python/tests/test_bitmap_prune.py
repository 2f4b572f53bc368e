"""SQL pruning by coverage bitmap, seen from Python: a sparse backfill
segment (rows on Jan 1 and Dec 30) whose range meets a June query is skipped
because its coverage sidecar holds no June bucket, and last_prune() counts
it apart from the segments min/max skipped."""
import datetime as dt

import pyarrow as pa

import timeseries_table_format as ttf
from conftest import needs_session

pytestmark = needs_session
UTC = dt.timezone.utc


def bars(times, symbol):
    return pa.table({
        "ts": pa.array(times, pa.timestamp("us", tz="UTC")),
        "symbol": pa.array([symbol] * len(times)),
        "price": pa.array([float(i) for i in range(len(times))]),
    })


def test_a_sparse_backfill_is_skipped_by_its_bitmap_and_counted_apart(tmp_path):
    t = ttf.TimeSeriesTable.create(table_root=str(tmp_path / "t"), index_column="ts",
                                   entity_columns=["symbol"], bucket="1h")
    t.append(bars([dt.datetime(2024, 1, 1, tzinfo=UTC), dt.datetime(2024, 12, 30, tzinfo=UTC)],
                  "A"))
    t.append(bars([dt.datetime(2024, 6, d, tzinfo=UTC) for d in (5, 10, 15)], "A"))
    s = ttf.Session()
    s.register_tstable("t", t.root())
    june = "SELECT count(*) AS n FROM t WHERE ts >= '2024-06-01' AND ts < '2024-07-01'"
    assert s.sql(june).to_pylist() == [{"n": 3}]
    assert s.last_prune() == {"candidate_segments": 2, "kept_segments": 1,
                              "range_skipped_segments": 0, "bitmap_skipped_segments": 1}
    january = "SELECT count(*) AS n FROM t WHERE ts < '2024-01-02'"
    assert s.sql(january).to_pylist() == [{"n": 1}]
    assert s.last_prune() == {"candidate_segments": 2, "kept_segments": 1,
                              "range_skipped_segments": 1, "bitmap_skipped_segments": 0}
