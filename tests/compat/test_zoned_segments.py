"""Zoned timestamps that are not microseconds-UTC keep their instants in any session zone.

A table whose index is timestamp[ms, UTC] (arrow-rs, the reference), timestamp[ns, UTC]
(pandas) or timestamp[us, America/New_York] (pyarrow) gets re-encoded segments written by
DuckDB, which can write a zoned column only as microseconds. Those segments hold the UTC
instant in a plain timestamp of the table's unit, and the footer's schema is then rewritten
(src/engine/parquet_footer.c) to say isAdjustedToUTC=true, so every reader (DuckDB included)
reads an instant and not a wall time. Before that rewrite DuckDB read those segments as
zone-less timestamps and the table's view cast them to TIMESTAMPTZ in the session's zone:
after SET TimeZone = 'America/New_York' every re-encoded row moved by five hours.

Each case starts a table with a pyarrow file of the zoned type (copied as it is), appends a
DuckDB-written TIMESTAMPTZ file (re-encoded), and compares what `tstable query` (UTC) and
`tstable shell` after SET TimeZone (New York, Kolkata) return.
"""

import datetime as dt
import json
import os
import subprocess
from pathlib import Path

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from compat_support import REFERENCE, REFERENCE_MISSING

REPO = Path(__file__).resolve().parents[2]
BIN = Path(os.environ.get("TSTABLE_BIN", REPO / "build" / "tstable"))

pytestmark = pytest.mark.skipif(not BIN.exists(), reason=f"{BIN} is not built")

JAN = dt.datetime(2024, 1, 1, tzinfo=dt.timezone.utc)
FEB = dt.datetime(2024, 2, 1, tzinfo=dt.timezone.utc)
HOURS = 24
SYMBOLS = ("AAPL", "MSFT")
ZONED = {
    "ms_utc": pa.timestamp("ms", tz="UTC"),
    "ns_utc": pa.timestamp("ns", tz="UTC"),
    "us_new_york": pa.timestamp("us", tz="America/New_York"),
}
UNIT_NAMES = {"ms": "milliseconds", "us": "microseconds", "ns": "nanoseconds"}


def tstable(*args, stdin=None):
    env = dict(os.environ)
    env.pop("TSTABLE_LOG", None)
    r = subprocess.run([str(BIN), *map(str, args)], capture_output=True, text=True, timeout=120,
                       input=stdin, env=env)
    assert r.returncode == 0, r.stderr
    return r.stdout


def pyarrow_file(path, ts_type, start):
    """Hourly rows of two symbols from start, ts of ts_type (pyarrow writes it as it is)."""
    ts = [start + dt.timedelta(hours=h) for h in range(HOURS) for _ in SYMBOLS]
    table = pa.table({"ts": pa.array(ts, pa.timestamp("us", tz="UTC")).cast(ts_type),
                      "symbol": pa.array([s for _ in range(HOURS) for s in SYMBOLS]),
                      "close": pa.array([100.0 + i for i in range(HOURS * len(SYMBOLS))])})
    pq.write_table(table, path)
    return path


def duckdb_file(path, start):
    """The same shape from DuckDB: ts TIMESTAMPTZ (microseconds, UTC)."""
    con = duckdb.connect()
    con.sql("SET TimeZone = 'UTC'")
    con.sql(f"COPY (SELECT TIMESTAMPTZ '{start:%Y-%m-%d %H:%M:%S}+00' + INTERVAL (h) HOUR AS ts, "
            f"s AS symbol, 200.0::DOUBLE + h AS close FROM range({HOURS}) r(h), "
            f"(VALUES ('AAPL'), ('MSFT')) v(s)) TO '{path}' (FORMAT parquet)")
    return path


def zoned_table(tmp_path, ts_type):
    """A table started by a pyarrow file of ts_type (JAN), then a DuckDB file (FEB)."""
    root = tmp_path / "t"
    tstable("create", "--table", root, "--protocol", "6", "--index-column", "ts", "--bucket", "1h",
            "--entity", "symbol")
    tstable("append", "--table", root, "--parquet",
            pyarrow_file(tmp_path / "p.parquet", ts_type, JAN))
    tstable("append", "--table", root, "--parquet", duckdb_file(tmp_path / "d.parquet", FEB))
    return root


def expected_instants():
    us = [int((start + dt.timedelta(hours=h)).timestamp()) * 1_000_000
          for start in (JAN, FEB) for h in range(HOURS) for _ in SYMBOLS]
    return sorted(us)


WINDOW = ("SELECT count(*) FROM t WHERE ts >= TIMESTAMPTZ '2024-02-01 10:00:00+00' "
          "AND ts < TIMESTAMPTZ '2024-02-01 14:00:00+00'")
INSTANTS = "SELECT epoch_us(ts) FROM t ORDER BY 1"


def query_csv(root, sql):
    return tstable("query", "--table", root, "--format", "csv", "--sql", sql).split()[1:]


def shell_csv(root, zone, sql):
    """Runs sql in `tstable shell` after SET TimeZone = zone; the CSV rows."""
    script = f"SET TimeZone = '{zone}';\nquery --format csv -- {sql}\n"
    out = tstable("shell", "--table", root, "--history", "", stdin=script)
    lines = out.split()
    # The SET prints its (empty) result first; the CSV follows its header line.
    first = next(i for i, line in enumerate(lines) if line in ("epoch_us(ts)", "count_star()"))
    return [line for line in lines[first + 1:] if line[0].isdigit()]


@pytest.mark.parametrize("case", ZONED)
def test_zoned_segments_read_the_same_instants_in_any_session_zone(tmp_path, case):
    root = zoned_table(tmp_path, ZONED[case])
    want = [str(v) for v in expected_instants()]
    assert query_csv(root, INSTANTS) == want
    assert query_csv(root, WINDOW) == ["8"]
    for zone in ("America/New_York", "Asia/Kolkata"):
        assert shell_csv(root, zone, INSTANTS) == want, zone
        assert shell_csv(root, zone, WINDOW) == ["8"], zone


@pytest.mark.parametrize("case", ZONED)
def test_zoned_segments_are_instants_to_duckdb_and_pyarrow(tmp_path, case):
    root = zoned_table(tmp_path, ZONED[case])
    segments = sorted((root / "data").glob("*.parquet"))
    assert len(segments) == 2
    con = duckdb.connect()
    for seg in segments:
        kind = con.sql(f"SELECT typeof(ts) FROM read_parquet('{seg}') LIMIT 1").fetchone()[0]
        assert kind == "TIMESTAMP WITH TIME ZONE", seg
        assert pq.read_schema(seg).field("ts").type == ZONED[case], seg
        logical = json.loads(pq.ParquetFile(seg).schema.column(0).logical_type.to_json())
        assert logical["isAdjustedToUTC"] is True, seg
        assert logical["timeUnit"] == UNIT_NAMES[ZONED[case].unit], seg
    # Both segments together, as the table's view reads them, in a non-UTC session.
    con.sql("SET TimeZone = 'America/New_York'")
    files = ", ".join(f"'{s}'" for s in segments)
    got = [r[0] for r in con.sql(f"SELECT epoch_us(ts) FROM read_parquet([{files}]) "
                                 f"ORDER BY 1").fetchall()]
    assert got == expected_instants()


REFERENCE_SCAN = """
import json, sys
import timeseries_table_format as ttf
s = ttf.Session()
s.register_tstable("t", sys.argv[1])
t = s.sql("SELECT count(*) AS n, min(ts) AS lo, max(ts) AS hi FROM t")
print(json.dumps([t.column(0)[0].as_py(), t.column(1)[0].as_py().timestamp(),
                  t.column(2)[0].as_py().timestamp()]))
"""


@pytest.mark.skipif(not REFERENCE.exists(),
                    reason=REFERENCE_MISSING)
@pytest.mark.parametrize("case", ZONED)
def test_the_reference_scans_tables_with_zoned_segments(tmp_path, case):
    root = zoned_table(tmp_path, ZONED[case])
    r = subprocess.run([str(REFERENCE), "-c", REFERENCE_SCAN, str(root)], capture_output=True,
                       text=True, timeout=300)
    assert r.returncode == 0, r.stderr
    n, lo, hi = json.loads(r.stdout)
    want = expected_instants()
    assert n == len(want)
    assert lo == pytest.approx(want[0] / 1e6)
    assert hi == pytest.approx(want[-1] / 1e6)
