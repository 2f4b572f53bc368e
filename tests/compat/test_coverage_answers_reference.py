"""The coverage answers of issue 13 on a table the real reference 0.9.0 wrote.

The reference creates the table and appends two days of hourly bars, one file
written by pyarrow and one by DuckDB (a polars file would be refused by the
reference itself after a pyarrow one: it stores strings as large_utf8); AAPL
misses two trading hours on the second day. tstable then answers, from the reference's own commits and
coverage snapshots:

- calendars: coverage and gaps count only the New York session's hours, so
  the night is not a gap and AAPL's hole is the only one;
- `tstable entities`: each entity's extent and lag behind a pinned now;
- guaranteed reads, in a New York session: a statement over the hole fails
  with exactly its range, the same over MSFT runs; under the calendar the
  night between the days is not asked;
- the reference still reads the table afterwards (nothing was written).
"""

import datetime as dt
import json

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from compat_support import Cli, our_package
from reference09 import ok, pytestmark, ref  # noqa: F401 (pytestmark is used by pytest)

UTC = dt.timezone.utc
NYSE = "weekdays;tz=America/New_York;sessions=09:30-16:00"
# 2024-03-05 and 06 (Tuesday, Wednesday): New York is UTC-5, the session is
# 14:30-21:00 UTC, so the hourly buckets 14:00..20:00 are expected (7 a day).
DAYS = [dt.date(2024, 3, 5), dt.date(2024, 3, 6)]
HOLE = (dt.datetime(2024, 3, 6, 16, tzinfo=UTC), dt.datetime(2024, 3, 6, 18, tzinfo=UTC))


def day_rows(day, symbols, skip=()):
    rows = [(dt.datetime.combine(day, dt.time(h), UTC), s)
            for s in symbols for h in range(14, 21)
            if (s, dt.datetime.combine(day, dt.time(h), UTC)) not in skip]
    return [r[0] for r in rows], [r[1] for r in rows]


@pytest.fixture
def reference_table(tmp_path):
    ts, sym = day_rows(DAYS[0], ["AAPL", "MSFT"])
    pq.write_table(pa.table({"ts": pa.array(ts, pa.timestamp("us", tz="UTC")), "symbol": sym,
                             "close": [100.0] * len(ts)}), tmp_path / "pyarrow.parquet")
    hole = {("AAPL", HOLE[0]), ("AAPL", HOLE[0] + dt.timedelta(hours=1))}
    ts, sym = day_rows(DAYS[1], ["AAPL", "MSFT"], skip=hole)
    con = duckdb.connect()
    con.execute("SET TimeZone = 'UTC'")
    day2 = pa.table({"ts": pa.array(ts, pa.timestamp("us", tz="UTC")), "symbol": sym})
    con.register("day2", day2)
    con.execute(f"COPY (SELECT ts, symbol, 101.0::DOUBLE AS close FROM day2) "
                f"TO '{tmp_path / 'duckdb.parquet'}' (FORMAT parquet)")
    root = tmp_path / "bars"
    for r in ref({"op": "create", "args": {"table_root": str(root), "index_column": "ts",
                                           "index_type": "timestamp", "index_granularity": "1h",
                                           "entity_columns": ["symbol"]}},
                 {"op": "append", "root": root, "path": tmp_path / "pyarrow.parquet"},
                 {"op": "append", "root": root, "path": tmp_path / "duckdb.parquet"}):
        ok(r)
    return root


def test_calendar_coverage_and_gaps_of_a_reference_table(reference_table):
    cli = Cli()
    span = ["--start", "2024-03-05", "--end", "2024-03-07"]
    each = json.loads(cli.ok("coverage", "--table", reference_table, *span, "--each-entity",
                             "--calendar", NYSE, "--format", "json").stdout)
    got = {e["entity"]["symbol"]: (e["covered_buckets"], e["total_buckets"]) for e in each}
    assert got == {"AAPL": (12, 14), "MSFT": (14, 14)}
    gaps = json.loads(cli.ok("gaps", "--table", reference_table, *span, "--entity", "AAPL",
                             "--calendar", NYSE, "--format", "json").stdout)
    assert [(g["start"], g["end"], g["buckets"]) for g in gaps] == [
        ("2024-03-06T16:00:00Z", "2024-03-06T18:00:00Z", 2)]
    # without the calendar, the night between the days is a gap too
    plain = json.loads(cli.ok("gaps", "--table", reference_table, *span, "--entity", "AAPL",
                              "--format", "json").stdout)
    assert len(plain) > len(gaps)


def test_entities_of_a_reference_table(reference_table):
    out = json.loads(Cli().ok("entities", "--table", reference_table, "--now",
                              "2024-03-07T00:00:00Z", "--format", "json").stdout)
    rows = {e["entity"]["symbol"]: e for e in out}
    assert set(rows) == {"AAPL", "MSFT"}
    for e in rows.values():
        assert (e["first"], e["last"]) == ("2024-03-05T14:00:00Z", "2024-03-06T21:00:00Z")
    assert rows["AAPL"]["covered_buckets"] == 12 and rows["MSFT"]["covered_buckets"] == 14


def test_guaranteed_reads_of_a_reference_table_in_new_york(reference_table):
    ttf = our_package()
    s = ttf.Session()
    s.register_tstable("bars", str(reference_table))
    s.sql("SET TimeZone = 'America/New_York'")
    # local New York times: 09:00-16:00 on the 6th is 14:00-21:00 UTC
    day = ("SELECT count(*) AS n FROM bars WHERE symbol = '{}' "
           "AND ts >= '2024-03-06 09:00' AND ts < '2024-03-06 16:00'")
    with pytest.raises(ttf.IncompleteCoverageError) as e:
        s.sql(day.format("AAPL"), require_coverage=True)
    assert [(m["start"], m["end"], m["buckets"]) for m in e.value.missing] == [
        (HOLE[0], HOLE[1], 2)]
    assert s.sql(day.format("MSFT"), require_coverage=True).to_pylist() == [{"n": 7}]
    # two sessions and the night between them: only the session hours are asked
    both = ("SELECT count(*) AS n FROM bars WHERE symbol = 'MSFT' "
            "AND ts >= '2024-03-05 09:00' AND ts < '2024-03-06 16:00'")
    with pytest.raises(ttf.IncompleteCoverageError):
        s.sql(both, require_coverage=True)
    assert s.sql(both, require_coverage=True, calendar=NYSE).to_pylist() == [{"n": 14}]
    # the reference reads the table as before
    assert ok(ref({"op": "sql", "root": reference_table,
                   "sql": "SELECT count(*) FROM t"})[0]) == [[26]]
