"""add_columns on tables tstable writes, checked against the real reference 0.9.0.

- A protocol-7 table tstable creates and appends to, then `tstable add-columns`, then appends
  without the new columns and with them, opens in 0.9.0 with the same counts, sums and nulls,
  takes 0.9.0's appends (with and without the columns) and its optimize; tstable agrees after.
- The commit tstable writes for an addition is the one 0.9.0 writes for the same request on the
  same table (one UpdateTableMeta; the fields at the end, nullable; the feature sorted in).
- The same through our Python package's TimeSeriesTable.add_columns.
(0.9.0 writes tables the other way round in test_reference09.py.)
"""
import json

import pyarrow as pa
import pytest

from compat_support import Cli, cli_json, cli_sql, our_package
from reference09 import REF09, ok, ref
from test_reference09 import TS_QUERIES, same_sql, ts_rows, write

pytestmark = [pytest.mark.skipif(not REF09.exists(), reason=f"no reference 0.9.0 at {REF09}")]

QUERIES = TS_QUERIES + [
    "SELECT count(*) AS n, count(extra) AS e, sum(extra) AS s, count(note) AS c FROM t",
    "SELECT symbol, count(extra) AS e, sum(extra) AS s FROM t GROUP BY symbol ORDER BY symbol",
    "SELECT count(*) AS n FROM t WHERE extra IS NULL AND note IS NULL",
]


def create(cli, root):
    cli.ok("create", "--table", root, "--protocol", "7", "--index-column", "ts", "--index-type",
           "timestamp", "--index-granularity", "1h", "--entity", "symbol")


def with_extra(table, extra, notes):
    return (table.append_column("extra", pa.array(extra, pa.int64()))
            .append_column("note", pa.array(notes, pa.string())))


def commit(root, version):
    return json.loads((root / "_timeseries_log" / f"{version:010d}.json").read_text())


def test_a_table_tstable_evolves_works_in_0_9(tmp_path):
    cli = Cli()
    root = tmp_path / "t"
    create(cli, root)
    cli.ok("append", "--table", root, "--parquet",
           write(ts_rows(0, range(4), ["AAPL", "MSFT"]), tmp_path / "a.parquet"))
    r = cli.ok("add-columns", "--table", root, "--column", "extra=int64", "--column", "note=utf8")
    assert r.stdout == "Added 2 columns; table version: 3\n"
    # Without the new columns (re-encoded with nulls), then with them.
    cli.ok("append", "--table", root, "--parquet",
           write(ts_rows(1, range(2), ["AAPL"], 10.0), tmp_path / "b.parquet"))
    cli.ok("append", "--table", root, "--parquet", write(
        with_extra(ts_rows(2, range(2), ["MSFT"], 20.0), [5, None], ["p", "q"]),
        tmp_path / "c.parquet"))
    assert cli_sql(cli, root, "SELECT count(*), count(extra), sum(extra), count(note) FROM t") \
        == [[12, 1, 5, 2]]
    same_sql(cli, root, QUERIES)
    # 0.9.0 appends with and without the columns, and optimizes.
    for res in ref({"op": "append", "root": root, "path": write(
                        with_extra(ts_rows(3, [0], ["NVDA"], 30.0), [9], ["r"]),
                        tmp_path / "d.parquet")},
                   {"op": "append", "root": root,
                    "path": write(ts_rows(4, [0], ["NVDA"], 40.0), tmp_path / "e.parquet")},
                   {"op": "optimize", "root": root}):
        ok(res)
    same_sql(cli, root, QUERIES)
    assert cli_sql(cli, root, "SELECT count(*), count(extra), sum(extra) FROM t") == [[14, 2, 14]]
    # And tstable takes another append after 0.9.0's optimize.
    cli.ok("append", "--table", root, "--parquet",
           write(ts_rows(5, [0], ["AAPL"], 50.0), tmp_path / "f.parquet"))
    same_sql(cli, root, QUERIES)


def test_the_addition_commit_is_the_one_0_9_writes(tmp_path):
    cli = Cli()
    ours, theirs = tmp_path / "ours", tmp_path / "theirs"
    data = write(ts_rows(0, range(2), ["AAPL"]), tmp_path / "a.parquet")
    create(cli, ours)
    cli.ok("append", "--table", ours, "--parquet", data)
    for res in ref({"op": "create", "args": {"table_root": str(theirs), "index_column": "ts",
                                             "index_type": "timestamp",
                                             "index_granularity": "1h",
                                             "entity_columns": ["symbol"]}},
                   {"op": "append", "root": theirs, "path": data}):
        ok(res)
    cli.ok("add-columns", "--table", ours, "--column", "extra=int64", "--column", "note=string")
    assert ok(ref({"op": "add_columns", "root": theirs,
                   "columns": [["extra", "int64"], ["note", "string"]]})[0]) == 3
    mine, ref_commit = commit(ours, 3), commit(theirs, 3)
    for c in (mine, ref_commit):
        c.pop("timestamp")
        c["actions"][0]["UpdateTableMeta"].pop("created_at")
    assert mine == ref_commit
    # Each reads the other's evolved table alike.
    same_sql(cli, ours, QUERIES)
    same_sql(cli, theirs, QUERIES)


def test_python_add_columns_is_read_by_0_9(tmp_path):
    ttf = our_package()
    root = tmp_path / "py"
    table = ttf.TimeSeriesTable.create(table_root=str(root), index_column="ts",
                                       index_type="timestamp", index_granularity="1h",
                                       entity_columns=["symbol"], protocol=7)
    table.append(ts_rows(0, range(3), ["AAPL", "MSFT"]))
    assert table.add_columns(pa.schema([pa.field("extra", pa.int64()),
                                        pa.field("note", pa.string())])) == 3
    table.append(ts_rows(1, range(2), ["AAPL"], 10.0))
    table.append(with_extra(ts_rows(2, [0], ["MSFT"], 20.0), [4], [None]))
    cli = Cli()
    same_sql(cli, root, QUERIES)
    assert cli_json(cli, "info", "--table", root)["reader_features"] == ["schema_add_columns"]
    assert ok(ref({"op": "version", "root": root})[0]) == 5
