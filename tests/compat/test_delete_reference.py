"""A table after tstable's delete, in the reference package of its protocol.

- Protocol 7, the reference 0.9.0 (reference09.py): a table 0.9.0 wrote (a mixed segment and a
  single-entity one) is deleted from by `tstable delete` (a rewrite of the mixed segment, the
  other removed whole); 0.9.0 then opens it at our version with the same answers as tstable,
  accepts an append into the deleted range, and still refuses one into kept data as an overlap.
  tstable reads what 0.9.0 appended.
- Format_version 6, the reference 0.4.0 (compat_support.reference): the same with a table
  tstable created with --protocol 6.
"""

import json

import pyarrow as pa
import pyarrow.parquet as pq

import compat_support as cs
import test_reference09 as r09
from compat_support import Cli, cli_json, cli_sql

from reference09 import ok, pytestmark, ref  # noqa: F401 (pytestmark is used by pytest)

QUERIES = r09.TS_QUERIES + [
    "SELECT symbol, date_part('hour', ts) AS h, v FROM t ORDER BY symbol, h"]


def deletes(cli, root):
    """Deletes AAPL's hours 1 and 2 (a rewrite of the mixed segment) and every NVDA row (its
    segment removed whole), as two commits."""
    a = json.loads(cli.ok("delete", "--table", root, "--entity", "symbol=AAPL", "--start",
                          "2024-01-01T01:00:00Z", "--end", "2024-01-01T03:00:00Z",
                          "--json").stdout)
    assert (a["rows_deleted"], a["segments_rewritten"], a["segments_removed"]) == (2, 1, 0)
    n = json.loads(cli.ok("delete", "--table", root, "--entity", "NVDA", "--start", "2024-01-01",
                          "--end", "2024-01-02", "--json").stdout)
    assert (n["rows_deleted"], n["segments_rewritten"], n["segments_removed"]) == (3, 0, 1)
    return n["committed_version"]


def expected_rows(cli, root):
    return cli_sql(cli, root, QUERIES[-1])


def test_protocol_7_after_our_delete_in_0_9(tmp_path):
    cli = Cli()
    root = tmp_path / "bars"
    mixed = r09.write(r09.ts_rows(0, range(6), ["AAPL", "MSFT"]), tmp_path / "mixed.parquet")
    nvda = r09.write(r09.ts_rows(0, range(3), ["NVDA"], 100.0), tmp_path / "nvda.parquet")
    for r in ref({"op": "create", "args": {"table_root": str(root), "index_column": "ts",
                                           "index_type": "timestamp", "index_granularity": "1h",
                                           "entity_columns": ["symbol"]}},
                 {"op": "append", "root": root, "path": mixed},
                 {"op": "append", "root": root, "path": nvda}):
        ok(r)
    version = deletes(cli, root)
    assert version == 5
    ours = expected_rows(cli, root)
    assert [r[0] for r in ours].count("AAPL") == 4 and "NVDA" not in [r[0] for r in ours]
    assert ok(ref({"op": "version", "root": root})[0]) == version
    for q in QUERIES:
        assert ok(ref({"op": "sql", "root": root, "sql": q})[0]) == cli_sql(cli, root, q), q
    fix = r09.write(r09.ts_rows(0, [1, 2], ["AAPL"], 50.0), tmp_path / "fix.parquet")
    nvda_again = r09.write(r09.ts_rows(0, [0], ["NVDA"], 70.0), tmp_path / "n2.parquet")
    kept = r09.write(r09.ts_rows(0, [3], ["AAPL"], 60.0), tmp_path / "kept.parquet")
    results = ref({"op": "append", "root": root, "path": fix},
                  {"op": "append", "root": root, "path": nvda_again},
                  {"op": "append", "root": root, "path": kept})
    ok(results[0])
    ok(results[1])
    assert "ok" not in results[2] and "overlap" in json.dumps(results[2]).lower(), results[2]
    assert cli_json(cli, "info", "--table", root)["rows"] == 15 - 5 + 3
    for q in QUERIES:
        assert ok(ref({"op": "sql", "root": root, "sql": q})[0]) == cli_sql(cli, root, q), q


def test_format_version_6_after_our_delete_in_0_4(tmp_path):
    cli = Cli()
    root = tmp_path / "bars"
    cli.ok("create", "--table", root, "--protocol", "6", "--index-column", "ts",
           "--bucket", "1h", "--entity", "symbol")
    mixed = r09.write(r09.ts_rows(0, range(6), ["AAPL", "MSFT"]), tmp_path / "mixed.parquet")
    nvda = r09.write(r09.ts_rows(0, range(3), ["NVDA"], 100.0), tmp_path / "nvda.parquet")
    cli.ok("append", "--table", root, "--parquet", mixed)
    cli.ok("append", "--table", root, "--parquet", nvda)
    version = deletes(cli, root)
    queries = [{"op": "sql", "root": root, "sql": q} for q in QUERIES]
    theirs = cs.reference([{"op": "version", "root": root}] + queries)
    assert cs.ok(theirs[0]) == version
    for q, r in zip(QUERIES, theirs[1:]):
        assert cs.ok(r) == cli_sql(cli, root, q), q
    fix = r09.write(r09.ts_rows(0, [1, 2], ["AAPL"], 50.0), tmp_path / "fix.parquet")
    kept = r09.write(r09.ts_rows(0, [4], ["MSFT"], 60.0), tmp_path / "kept.parquet")
    results = cs.reference([{"op": "append", "root": root, "path": fix},
                            {"op": "append", "root": root, "path": kept}])
    assert cs.ok(results[0]) == version + 1
    assert "overlap" in results[1], results[1]
    assert cli_json(cli, "info", "--table", root)["rows"] == 15 - 5 + 2
    for q in QUERIES:
        assert cs.ok(cs.reference([{"op": "sql", "root": root, "sql": q}])[0]) == \
            cli_sql(cli, root, q), q
