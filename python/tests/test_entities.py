"""TimeSeriesTable.entities(), UnknownEntityWarning, and SQL's tstable_freshness() /
tstable_last_window(): typed results (pyarrow and polars), the same answers as
the CLI, joins, time-travel names, and a random differential test of all of
them against a naive model of covered (entity, hour) slots."""
import datetime as dt
import json
import os
import random
import subprocess
import warnings

import polars as pl
import pyarrow as pa
import pytest

import timeseries_table_format as ttf
from conftest import REPO, needs_session

UTC = dt.timezone.utc
T0 = dt.datetime(2024, 6, 3, tzinfo=UTC)
HOUR = dt.timedelta(hours=1)
BIN = os.environ.get("TSTABLE_BIN", os.path.join(REPO, "build", "tstable"))


def make_table(root, slots, unit="us", tz="UTC", entity_type=pa.string(), chunks=1, seed=0):
    """A 1h table whose rows sit at T0 + h for every (entity, h) in slots."""
    t = ttf.TimeSeriesTable.create(table_root=str(root), index_column="ts",
                                   index_granularity="1h", entity_columns=["symbol"])
    rows = sorted(slots)
    random.Random(seed).shuffle(rows)
    size = max(1, -(-len(rows) // chunks))
    for i in range(0, len(rows), size):
        part = rows[i:i + size]
        t.append(pa.table({
            "ts": pa.array([T0 + h * HOUR for _, h in part], pa.timestamp(unit, tz=tz)),
            "symbol": pa.array([s for s, _ in part], entity_type),
            "v": pa.array([float(h) for _, h in part]),
        }))
    return t


GUIDE_SLOTS = {("MSFT", h) for h in range(12)} | \
    {("NVDA", h) for h in range(10) if h not in (3, 4)} | {("TSLA", h) for h in range(6)}


# ---- entities() ------------------------------------------------------------------------------

def test_entities_is_a_typed_pyarrow_table(tmp_path):
    t = make_table(tmp_path / "bars", GUIDE_SLOTS)
    e = t.entities(now="2024-06-03T12:30:00Z")
    assert e.schema == pa.schema([
        ("symbol", pa.string()), ("first", pa.timestamp("us", tz="UTC")),
        ("last", pa.timestamp("us", tz="UTC")), ("covered_buckets", pa.uint64()),
        ("gaps", pa.uint64()), ("missing_buckets", pa.uint64()), ("ratio", pa.float64()),
        ("lag", pa.duration("us"))])
    assert e.to_pylist()[1] == {
        "symbol": "NVDA", "first": T0, "last": T0 + 10 * HOUR, "covered_buckets": 8,
        "gaps": 1, "missing_buckets": 2, "ratio": 0.8, "lag": dt.timedelta(hours=2, minutes=30)}
    df = pl.from_arrow(e)
    assert df.schema["lag"] == pl.Duration("us") and df.schema["first"] == pl.Datetime("us", "UTC")
    assert df.filter(pl.col("lag") > dt.timedelta(hours=2))["symbol"].to_list() == ["NVDA", "TSLA"]


def test_entities_follow_the_index_unit_zone_and_entity_type(tmp_path):
    t = make_table(tmp_path / "ns", {(7, 0), (7, 2), (-1, 1)}, unit="ns", tz=None,
                   entity_type=pa.int32())
    e = t.entities(now=dt.datetime(2024, 6, 3, 5))  # naive: UTC
    assert e.schema.field("symbol").type == pa.int32()
    assert e.schema.field("first").type == pa.timestamp("ns")
    assert e.schema.field("lag").type == pa.duration("ns")
    assert e.column("symbol").to_pylist() == [-1, 7]
    assert e.column("lag").to_pylist() == [3 * HOUR, 2 * HOUR]
    assert pl.from_arrow(e).schema["last"] == pl.Datetime("ns")


def test_entities_of_an_integer_index_without_and_with_now(tmp_path):
    t = ttf.TimeSeriesTable.create(table_root=str(tmp_path / "seq"), index_column="k",
                                   index_type="int64", index_granularity=10)
    t.append(pa.table({"k": pa.array([0, 12, 31], pa.int64()), "v": [1.0, 2.0, 3.0]}))
    assert t.entities().to_pylist() == [{"first": 0, "last": 40, "covered_buckets": 3,
                                         "gaps": 1, "missing_buckets": 1, "ratio": 0.75,
                                         "lag": None}]
    assert t.entities(now=100).column("lag").to_pylist() == [60]
    with pytest.raises(TypeError):
        t.entities(now="2024-06-03")


def test_entities_of_an_empty_table_is_empty(tmp_path):
    t = ttf.TimeSeriesTable.create(table_root=str(tmp_path / "e"), index_column="ts",
                                   index_granularity="1h", entity_columns=["symbol"])
    assert t.entities().num_rows == 0


# ---- UnknownEntityWarning --------------------------------------------------------------------

def test_every_coverage_answer_warns_about_an_entity_the_table_never_saw(tmp_path):
    t = make_table(tmp_path / "bars", GUIDE_SLOTS | {("NVDS", 0)})
    calls = [lambda e: t.coverage_ratio(T0, T0 + HOUR, e), lambda e: t.coverage(T0, T0 + HOUR, e),
             lambda e: t.gaps(T0, T0 + HOUR, entity=e), lambda e: t.max_gap(T0, T0 + HOUR, e),
             lambda e: t.last_fully_covered_window(T0 + HOUR, 1, entity=e)]
    for call in calls:
        with pytest.warns(ttf.UnknownEntityWarning) as caught:
            call({"symbol": "NVDAA"})
        assert str(caught[0].message) == ("symbol=NVDAA never occurs in the table; "
                                          "nearest: NVDA, NVDS")
        assert caught[0].filename == __file__  # points at the caller
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            call({"symbol": "NVDA"})
            call(None)
    with pytest.warns(ttf.UnknownEntityWarning, match=r"symbol=GOOG never occurs in the table$"):
        assert t.coverage_ratio(T0, T0 + HOUR, {"symbol": "GOOG"}) == 0.0


# ---- SQL ---------------------------------------------------------------------------------------

def cli_entities(root, now):
    p = subprocess.run([BIN, "entities", "--table", str(root), "--now", now, "--format", "json"],
                       capture_output=True, text=True, check=True)
    return json.loads(p.stdout)


@needs_session
def test_sql_freshness_and_last_window_are_typed_and_join(tmp_path):
    t = make_table(tmp_path / "bars", GUIDE_SLOTS)
    s = ttf.Session()
    s.register_tstable("bars", str(tmp_path / "bars"))
    f = s.sql("SELECT * FROM tstable_freshness('bars', now := TIMESTAMPTZ '2024-06-03 12:30:00+00') "
              "ORDER BY symbol")
    assert [(x.name, str(x.type)) for x in f.schema] == [
        ("symbol", "string"), ("first", "timestamp[us, tz=UTC]"),
        ("last", "timestamp[us, tz=UTC]"), ("covered_buckets", "uint64"), ("gaps", "uint64"),
        ("missing_buckets", "uint64"), ("ratio", "double"), ("lag", "month_day_nano_interval")]
    mine = t.entities(now="2024-06-03T12:30:00Z")
    assert f.drop_columns(["lag"]) == mine.drop_columns(["lag"])
    lags = s.sql("SELECT epoch(lag)::BIGINT AS s FROM tstable_freshness('bars', "
                 "now := '2024-06-03 12:30:00') ORDER BY symbol").column("s").to_pylist()
    assert lags == [int(x.total_seconds()) for x in mine.column("lag").to_pylist()]
    stale = s.sql("SELECT symbol FROM tstable_freshness('bars', now := '2024-06-03T12:30:00Z') "
                  "WHERE lag > INTERVAL 2 HOUR ORDER BY symbol")
    assert stale.column("symbol").to_pylist() == ["NVDA", "TSLA"]
    joined = s.sql("SELECT b.symbol, count(*) AS n FROM bars b JOIN "
                   "tstable_last_window('bars', INTERVAL 4 HOUR) w ON b.symbol = w.symbol AND "
                   "b.ts >= w.window_start AND b.ts < w.window_end GROUP BY 1 ORDER BY 1")
    assert joined.to_pylist() == [{"symbol": s, "n": 4} for s in ("MSFT", "NVDA", "TSLA")]
    one = s.sql("SELECT * FROM tstable_last_window('bars', '3h', entity := 'NVDA', "
                "\"end\" := '2024-06-03T05:00:00Z')").to_pylist()
    assert one == [{"symbol": "NVDA", "window_start": T0, "window_end": T0 + 3 * HOUR}]
    never = s.sql("SELECT * FROM tstable_last_window('bars', INTERVAL 1 HOUR, entity := 'X')")
    assert never.to_pylist() == [{"symbol": "X", "window_start": None, "window_end": None}]
    if os.path.exists(BIN):
        cli = cli_entities(tmp_path / "bars", "2024-06-03T12:30:00Z")
        assert [r["lag_seconds"] for r in cli] == lags
        assert [r["covered_buckets"] for r in cli] == f.column("covered_buckets").to_pylist()


@needs_session
def test_sql_functions_read_time_travel_names_and_refuse_bad_lengths(tmp_path):
    t = make_table(tmp_path / "bars", GUIDE_SLOTS)
    t.append(pa.table({"ts": pa.array([T0 + 12 * HOUR], pa.timestamp("us", tz="UTC")),
                       "symbol": ["TSLA"], "v": [1.0]}))
    s = ttf.Session()
    s.register_tstable("bars", str(tmp_path / "bars"))
    q = "SELECT symbol, last FROM tstable_freshness('{}') WHERE symbol = 'TSLA'"
    assert s.sql(q.format("bars")).column("last").to_pylist() == [T0 + 13 * HOUR]
    assert s.sql(q.format("bars@v2")).column("last").to_pylist() == [T0 + 6 * HOUR]
    for length, message in [("'90m'", "whole number"), ("INTERVAL 1 MONTH", "months"),
                            ("'1 day'", "duration"), ("3", "INTERVAL")]:
        with pytest.raises(ttf.TimeseriesTableError, match=message):
            s.sql(f"SELECT * FROM tstable_last_window('bars', {length})")


# ---- a random differential test against a naive model ----------------------------------------

def model_rows(slots, now_h):
    rows = []
    for sym in sorted({s for s, _ in slots}):
        hours = sorted(h for s, h in slots if s == sym)
        lo, hi = hours[0], hours[-1]
        have = set(hours)
        gaps = sum(1 for h in range(lo + 1, hi + 1) if h in have and h - 1 not in have)
        rows.append({"symbol": sym, "first": T0 + lo * HOUR, "last": T0 + (hi + 1) * HOUR,
                     "covered_buckets": len(hours), "gaps": gaps,
                     "missing_buckets": hi - lo + 1 - len(hours),
                     "ratio": len(hours) / (hi - lo + 1), "lag": (now_h - hi - 1) * HOUR})
    return rows


def model_window(slots, sym, end_h, length):
    have = {h for s, h in slots if s == sym}
    for k in range(end_h - 1, min(have, default=0) - 1, -1):
        if all(h in have for h in range(k - length + 1, k + 1)):
            return (T0 + (k - length + 1) * HOUR, T0 + (k + 1) * HOUR)
    return None


@needs_session
@pytest.mark.parametrize("seed", range(12))
def test_entities_freshness_and_last_window_match_a_model_of_covered_slots(tmp_path, seed):
    rnd = random.Random(seed)
    symbols = rnd.sample(["AAPL", "MSFT", "NVDA", "TSLA", "AMD", "A"], rnd.randint(1, 5))
    slots = set()
    for sym in symbols:
        density = rnd.choice([0.2, 0.6, 0.95, 1.0])
        start, stop = rnd.randint(-30, 10), rnd.randint(11, 60)
        slots |= {(sym, h) for h in range(start, stop) if rnd.random() < density}
        slots.add((sym, rnd.randint(start, stop)))
    t = make_table(tmp_path / "t", slots, chunks=rnd.randint(1, 3), seed=seed)
    now_h = rnd.randint(40, 90)
    now = T0 + now_h * HOUR
    want = model_rows(slots, now_h)
    assert t.entities(now=now).to_pylist() == want
    s = ttf.Session()
    s.register_tstable("t", str(tmp_path / "t"))
    sql = s.sql(f"SELECT * EXCLUDE (lag), epoch(lag)::BIGINT AS lag_s FROM tstable_freshness('t', "
                f"now := '{now.isoformat()}') ORDER BY symbol").to_pylist()
    for r in sql:
        r["lag"] = dt.timedelta(seconds=r.pop("lag_s"))
    assert sql == want
    if os.path.exists(BIN):
        cli = cli_entities(tmp_path / "t", now.isoformat())
        assert [(r["entity"]["symbol"], r["covered_buckets"], r["gaps"], r["lag_seconds"])
                for r in cli] == [(r["symbol"], r["covered_buckets"], r["gaps"],
                                   r["lag"].total_seconds()) for r in want]
    for _ in range(4):
        length, end_h = rnd.randint(1, 12), rnd.randint(-20, 70)
        end = T0 + end_h * HOUR
        windows = s.sql(f"SELECT * FROM tstable_last_window('t', INTERVAL {length} HOUR, "
                        f"\"end\" := '{end.isoformat()}') ORDER BY symbol").to_pylist()
        for sym, row in zip(sorted(symbols), windows):
            expected = model_window(slots, sym, end_h, length)
            assert t.last_fully_covered_window(end, length, entity={"symbol": sym}) == expected
            got = (row["window_start"], row["window_end"]) if row["window_start"] else None
            assert row["symbol"] == sym and got == expected, (sym, length, end_h)


def test_the_freshness_guide_python_block_runs(tmp_path, monkeypatch):
    import re
    guide = open(os.path.join(REPO, "docs", "guide", "freshness.md")).read()
    (block,) = re.findall(r"```python\n(.*?)```", guide, re.S)
    make_table(tmp_path / "bars", GUIDE_SLOTS)
    monkeypatch.chdir(tmp_path)
    exec(compile(block, "freshness.md", "exec"), {"__name__": "guide"})
