"""update_rows against the real reference 0.9.0, both ways.

- A table 0.9.0 writes and updates with its own update_rows opens in tstable with 0.9.0's
  answers; tstable's `update` of it is then read by 0.9.0 with the same answers, and 0.9.0
  updates it again on top.
- A protocol-7 table tstable writes and updates (`tstable update`, rewritten segments under
  data/_staged/update-rewrite/) opens in 0.9.0 with identical answers and takes 0.9.0's append
  and its update_rows; tstable reads the result.

The reference runs in subprocesses (reference09.py).
"""

import json

import pyarrow as pa

import test_reference09 as r09
from compat_support import Cli, cli_json, cli_sql

from reference09 import ok, pytestmark, ref  # noqa: F401 (pytestmark is used by pytest)

QUERIES = r09.TS_QUERIES + [
    "SELECT symbol, date_part('day', ts) * 24 + date_part('hour', ts) AS h, v FROM t "
    "ORDER BY symbol, h"]


def updates(rows, path):
    """A source of (symbol, ts, v) rows: the key columns and v."""
    day = r09.DAY
    import datetime as dt
    table = pa.table({"symbol": pa.array([r[0] for r in rows], pa.string()),
                      "ts": pa.array([day + dt.timedelta(hours=r[1]) for r in rows],
                                     pa.timestamp("us")),
                      "v": pa.array([r[2] for r in rows], pa.float64())})
    return r09.write(table, path)


def same_sql(cli, root):
    for q in QUERIES:
        theirs = ok(ref({"op": "sql", "root": root, "sql": q})[0])
        assert cli_sql(cli, root, q) == theirs, q


def v_of(cli, root, symbol, hour):
    return cli_sql(cli, root, f"SELECT v FROM t WHERE symbol = '{symbol}' AND ts = "
                              f"TIMESTAMP '2024-01-01 {hour:02d}:00:00'")[0][0]


def test_a_table_0_9_updated_opens_in_tstable_and_takes_our_update(tmp_path):
    cli = Cli()
    root = tmp_path / "bars"
    mixed = r09.write(r09.ts_rows(0, range(6), ["AAPL", "MSFT"]), tmp_path / "mixed.parquet")
    nvda = r09.write(r09.ts_rows(0, range(3), ["NVDA"], 100.0), tmp_path / "nvda.parquet")
    theirs = updates([("MSFT", 2, -1.0), ("NVDA", 1, -2.0)], tmp_path / "u1.parquet")
    results = ref({"op": "create", "args": {"table_root": str(root), "index_column": "ts",
                                            "index_type": "timestamp", "index_granularity": "1h",
                                            "entity_columns": ["symbol"]}},
                  {"op": "append", "root": root, "path": mixed},
                  {"op": "append", "root": root, "path": nvda},
                  {"op": "update_rows", "root": root, "path": theirs, "columns": ["v"]})
    for r in results:
        ok(r)
    assert ok(results[3]) == {"committed_version": 4, "rows_updated": 2, "segments_rewritten": 2}
    info = cli_json(cli, "info", "--table", root)
    assert info["version"] == 4 and info["rows"] == 15
    same_sql(cli, root)
    assert (v_of(cli, root, "MSFT", 2), v_of(cli, root, "NVDA", 1)) == (-1.0, -2.0)

    ours = updates([("AAPL", 5, 55.5), ("NVDA", 2, 66.5)], tmp_path / "u2.parquet")
    out = json.loads(cli.ok("update", "--table", root, "--parquet", ours, "--set", "v",
                            "--json").stdout)
    assert (out["committed_version"], out["rows_updated"], out["segments_rewritten"]) == (5, 2, 2)
    assert ok(ref({"op": "version", "root": root})[0]) == 5
    same_sql(cli, root)
    assert (v_of(cli, root, "AAPL", 5), v_of(cli, root, "NVDA", 2)) == (55.5, 66.5)
    # 0.9.0 updates our replacement again, and appends.
    again = updates([("AAPL", 5, 77.0)], tmp_path / "u3.parquet")
    more = r09.write(r09.ts_rows(1, range(2), ["AAPL"], 9.0), tmp_path / "more.parquet")
    for r in ref({"op": "update_rows", "root": root, "path": again, "columns": ["v"]},
                 {"op": "append", "root": root, "path": more}):
        ok(r)
    assert cli_json(cli, "info", "--table", root)["version"] == 7
    same_sql(cli, root)
    assert v_of(cli, root, "AAPL", 5) == 77.0


def test_a_protocol_7_table_tstable_updated_works_in_0_9(tmp_path):
    cli = Cli()
    root = tmp_path / "ours"
    cli.ok("create", "--table", root, "--protocol", "7", "--index-column", "ts",
           "--index-type", "timestamp", "--index-granularity", "1h", "--entity", "symbol")
    cli.ok("append", "--table", root, "--parquet",
           r09.write(r09.ts_rows(0, range(6), ["AAPL", "MSFT"]), tmp_path / "a.parquet"))
    cli.ok("append", "--table", root, "--parquet",
           r09.write(r09.ts_rows(0, range(4), ["NVDA"], 50.0), tmp_path / "b.parquet"))
    before = ok(ref({"op": "sql", "root": root, "sql": QUERIES[0]})[0])
    src = tmp_path / "u.csv"
    src.write_text("ts,symbol,v\n2024-01-01 01:00:00,AAPL,1000.5\n2024-01-01 03:00:00,NVDA,\n")
    out = cli.ok("update", "--table", root, "--csv", src, "--set", "v").stdout
    assert "rows_updated: 2" in out and "segments_rewritten: 2" in out
    commit = json.loads((root / "_timeseries_log" / "0000000004.json").read_text())
    assert [next(iter(a)) for a in commit["actions"]] == ["RemoveSegment", "AddSegment"] * 2
    assert all(a["AddSegment"]["path"].startswith("data/_staged/update-rewrite/")
               for a in commit["actions"][1::2])
    assert ok(ref({"op": "version", "root": root})[0]) == 4
    same_sql(cli, root)
    after = ok(ref({"op": "sql", "root": root, "sql": QUERIES[0]})[0])
    assert after[0][0] == before[0][0]  # same rows
    # 0.9.0 appends and updates on top of our update; tstable reads the result.
    new = r09.write(r09.ts_rows(2, range(2), ["MSFT"], 7.0), tmp_path / "new.parquet")
    theirs = updates([("AAPL", 1, 1.25), ("NVDA", 3, 3.25)], tmp_path / "t.parquet")
    for r in ref({"op": "append", "root": root, "path": new},
                 {"op": "update_rows", "root": root, "path": theirs, "columns": ["v"]}):
        ok(r)
    assert cli_json(cli, "info", "--table", root)["version"] == 6
    same_sql(cli, root)
    assert (v_of(cli, root, "AAPL", 1), v_of(cli, root, "NVDA", 3)) == (1.25, 3.25)
