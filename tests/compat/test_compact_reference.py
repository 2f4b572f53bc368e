"""Compaction and the reference packages: a table tstable compacted opens and
answers the same in the reference of its protocol, which then appends to it.

- format_version 6: the reference 0.4.0 (.deps/refvenv) reads the compacted
  table (rows, sums, rows per entity), appends a new day and runs its own
  optimize next to our segments; tstable reads the result.
- protocol 7: the reference 0.9.0 (.deps/refvenv09, via reference09.py)
  answers the same SQL as tstable before and after, appends a new day (and
  refuses a duplicate interval), and finds nothing mixed to optimize.

Each table is daily appends, per symbol and mixed, so compaction both merges
and splits.
"""
import json

import pyarrow as pa
import pyarrow.parquet as pq

from compat_support import Cli, cli_json, cli_sql
from reference09 import ok, pytestmark, ref  # noqa: F401 (pytestmark is used by pytest)
import test_optimize_reference as v6

QUERIES = ["SELECT count(*) AS n, sum(v) AS s FROM t",
           "SELECT symbol, count(*) AS n, sum(v) AS s FROM t "
           "GROUP BY symbol ORDER BY symbol",
           "SELECT count(*) AS n FROM t WHERE ts >= '2024-01-03' AND ts < '2024-01-05'"]


def day_rows(day, symbols, v0):
    import datetime as dt
    start = dt.datetime(2024, 1, 1) + dt.timedelta(days=day)
    rs = [(start + dt.timedelta(hours=h), s) for h in range(24) for s in symbols]
    return pa.table({"ts": pa.array([r[0] for r in rs], pa.timestamp("us")),
                     "symbol": pa.array([r[1] for r in rs], pa.string()),
                     "v": pa.array([v0 + i for i in range(len(rs))], pa.float64())})


def daily_table(cli, tmp_path, root, protocol):
    cli.ok("create", "--table", root, "--protocol", str(protocol), "--index-column", "ts",
           "--bucket", "1h", "--entity", "symbol")
    for d in range(8):
        for symbols in (["NVDA"], ["AAPL", "MSFT"]):
            path = tmp_path / f"{d}-{'-'.join(symbols)}.parquet"
            pq.write_table(day_rows(d, symbols, 100.0 * d), path)
            cli.ok("append", "--table", root, "--parquet", path)


def compact(cli, root):
    report = json.loads(cli.ok("optimize", "--table", root, "--window", "7d", "--json").stdout)
    assert report["segments_before"] == 16 and not report["no_op"]
    # 7-day windows from the epoch start on Thursdays: 2024-01-04 opens one.
    # NVDA: days 0-2 and 3-7; AAPL and MSFT likewise, split out of the mixed segments.
    assert report["segments_written"] == 6 and report["segments_after"] == 6
    assert report["rows_read"] == report["rows_written"] == 8 * 24 * 3
    return report


def test_reference_0_9_reads_and_appends_to_a_protocol_7_table_tstable_compacted(tmp_path):
    cli = Cli()
    root = tmp_path / "t7"
    daily_table(cli, tmp_path, root, 7)
    before = [ok(ref({"op": "sql", "root": root, "sql": q})[0]) for q in QUERIES]
    assert [cli_sql(cli, root, q) for q in QUERIES] == before
    compact(cli, root)
    assert cli_json(cli, "info", "--table", root)["version"] == 18
    after = [ok(ref({"op": "sql", "root": root, "sql": q})[0]) for q in QUERIES]
    assert after == before
    assert [cli_sql(cli, root, q) for q in QUERIES] == before
    # 0.9.0's vacuum (a dry run) keeps every compacted output: referenced by the log.
    live = {s["path"] for s in json.loads(cli.ok("segments", "--table", root, "--format",
                                                 "json").stdout)}
    vacuum = ok(ref({"op": "vacuum", "root": root, "apply": False})[0])
    seen = {a["path"]: (a["disposition"], a["reason"]) for a in vacuum["artifacts"]}
    assert all(seen.get(p) == ("retained", "referenced_by_commit") for p in live), seen
    new = tmp_path / "new.parquet"
    pq.write_table(day_rows(8, ["NVDA", "TSLA"], 5000.0), new)
    dup = tmp_path / "dup.parquet"
    pq.write_table(day_rows(2, ["NVDA"], 0.0).slice(0, 1), dup)
    appended, duplicate, optimized = ref({"op": "append", "root": root, "path": new},
                                         {"op": "append", "root": root, "path": dup},
                                         {"op": "optimize", "root": root})
    assert ok(appended) == 19
    assert "overlap" in duplicate or "duplicate" in duplicate, duplicate
    assert ok(optimized)["no_op"] is False  # its own new mixed segment
    for q in QUERIES:
        assert cli_sql(cli, root, q) == ok(ref({"op": "sql", "root": root, "sql": q})[0]), q
    # And tstable compacts again on top of what 0.9.0 wrote.
    report = json.loads(cli.ok("optimize", "--table", root, "--window", "7d", "--json").stdout)
    assert report["rows_read"] == report["rows_written"]
    for q in QUERIES:
        assert cli_sql(cli, root, q) == ok(ref({"op": "sql", "root": root, "sql": q})[0]), q


V6_FACTS = """
import json, sys
import timeseries_table_format as ttf
s = ttf.Session()
s.register_tstable("t", sys.argv[1])
t = s.sql("SELECT count(*) AS n, sum(v) AS s FROM t")
g = s.sql("SELECT symbol, count(*) AS n, sum(v) AS s FROM t GROUP BY symbol ORDER BY symbol")
w = s.sql("SELECT count(*) AS n FROM t WHERE ts >= '2024-01-03' AND ts < '2024-01-05'")
print(json.dumps({"rows": t.column(0)[0].as_py(), "sum": round(t.column(1)[0].as_py(), 6),
                  "per_symbol": [list(r.values()) for r in g.to_pylist()],
                  "window": w.column(0)[0].as_py(),
                  "version": ttf.TimeSeriesTable.open(sys.argv[1]).version()}))
"""

V6_APPEND_AND_OPTIMIZE = """
import json, sys
import timeseries_table_format as ttf
t = ttf.TimeSeriesTable.open(sys.argv[1])
v = t.append_parquet(sys.argv[2])
r = t.optimize()
print(json.dumps({"appended": v, "written": r.replacement_segments_written,
                  "version": t.version()}))
"""


def test_reference_0_4_reads_and_appends_to_a_format_version_6_table_tstable_compacted(tmp_path):
    if not v6.REFERENCE.exists():
        import pytest
        pytest.skip(f"the reference 0.4.0 is not at {v6.REFERENCE}")
    cli = Cli()
    root = tmp_path / "t6"
    daily_table(cli, tmp_path, root, 6)
    before = v6.reference(V6_FACTS, root)
    assert before["rows"] == 8 * 24 * 3 and before["version"] == 17
    compact(cli, root)
    after = v6.reference(V6_FACTS, root)
    assert after == dict(before, version=18)
    new = tmp_path / "new.parquet"
    pq.write_table(day_rows(8, ["NVDA", "TSLA"], 5000.0), new)
    done = v6.reference(V6_APPEND_AND_OPTIMIZE, root, new)
    assert done == {"appended": 19, "written": 2, "version": 20}
    final = v6.reference(V6_FACTS, root)
    assert final["rows"] == before["rows"] + 48
    assert cli_sql(cli, root, "SELECT count(*) AS n FROM t") == [[final["rows"]]]
