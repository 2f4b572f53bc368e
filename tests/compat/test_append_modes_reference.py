"""A table after tstable's append --on-overlap replace (and skip), in the reference
package of its protocol.

- Protocol 7, the reference 0.9.0 (reference09.py): a table 0.9.0 wrote (a mixed segment of
  AAPL and MSFT, and NVDA alone) gets `tstable append --on-overlap replace` of AAPL's hours 1
  and 2 and NVDA's hours 0..2 (the mixed segment rewritten keeping its other rows, NVDA's
  removed whole, one new segment), then a skip append; 0.9.0 opens it at our version with the
  same answers as tstable, refuses an append into the replaced pairs as an overlap and takes
  one into a new hour.
- Format_version 6, the reference 0.4.0 (compat_support.reference): the same with a table
  tstable created with --protocol 6.
"""

import json

import pyarrow as pa

import compat_support as cs
import test_reference09 as r09
from compat_support import Cli, cli_json, cli_sql

from reference09 import ok, pytestmark, ref  # noqa: F401 (pytestmark is used by pytest)

QUERIES = r09.TS_QUERIES + [
    "SELECT symbol, date_part('hour', ts) AS h, v FROM t ORDER BY symbol, h"]


def replace_and_skip(cli, root, tmp_path):
    rows = pa.concat_tables([r09.ts_rows(0, [1, 2], ["AAPL"], 50.0),
                             r09.ts_rows(0, range(3), ["NVDA"], 70.0)])
    fix = r09.write(rows, tmp_path / "fix.parquet")
    out = cli.ok("append", "--table", root, "--parquet", fix, "--on-overlap", "replace").stdout
    assert "replaced 5 stored rows in 5 buckets: 1 segments removed, 1 rewritten" in out, out
    more = r09.write(r09.ts_rows(0, [5, 6], ["MSFT"], 80.0), tmp_path / "more.parquet")
    out = cli.ok("append", "--table", root, "--parquet", more, "--on-overlap", "skip").stdout
    assert "kept 1 rows, skipped 1 rows in 1 covered buckets" in out, out
    return cli_json(cli, "info", "--table", root)["version"]


def test_protocol_7_after_our_replace_in_0_9(tmp_path):
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
    version = replace_and_skip(cli, root, tmp_path)
    assert version == 5
    ours = cli_sql(cli, root, QUERIES[-1])
    assert len(ours) == 16 and [r for r in ours if r[0] == "AAPL" and r[1] == 1][0][2] == 50.0
    assert ok(ref({"op": "version", "root": root})[0]) == version
    for q in QUERIES:
        assert ok(ref({"op": "sql", "root": root, "sql": q})[0]) == cli_sql(cli, root, q), q
    again = r09.write(r09.ts_rows(0, [1], ["AAPL"], 1.0), tmp_path / "again.parquet")
    later = r09.write(r09.ts_rows(0, [7], ["AAPL"], 2.0), tmp_path / "later.parquet")
    results = ref({"op": "append", "root": root, "path": again},
                  {"op": "append", "root": root, "path": later})
    assert "ok" not in results[0] and "overlap" in json.dumps(results[0]).lower(), results[0]
    ok(results[1])
    for q in QUERIES:
        assert ok(ref({"op": "sql", "root": root, "sql": q})[0]) == cli_sql(cli, root, q), q


def test_format_version_6_after_our_replace_in_0_4(tmp_path):
    cli = Cli()
    root = tmp_path / "bars"
    cli.ok("create", "--table", root, "--protocol", "6", "--index-column", "ts",
           "--bucket", "1h", "--entity", "symbol")
    mixed = r09.write(r09.ts_rows(0, range(6), ["AAPL", "MSFT"]), tmp_path / "mixed.parquet")
    nvda = r09.write(r09.ts_rows(0, range(3), ["NVDA"], 100.0), tmp_path / "nvda.parquet")
    cli.ok("append", "--table", root, "--parquet", mixed)
    cli.ok("append", "--table", root, "--parquet", nvda)
    version = replace_and_skip(cli, root, tmp_path)
    queries = [{"op": "sql", "root": root, "sql": q} for q in QUERIES]
    theirs = cs.reference([{"op": "version", "root": root}] + queries)
    assert cs.ok(theirs[0]) == version
    for q, r in zip(QUERIES, theirs[1:]):
        assert cs.ok(r) == cli_sql(cli, root, q), q
    again = r09.write(r09.ts_rows(0, [1], ["AAPL"], 1.0), tmp_path / "again.parquet")
    later = r09.write(r09.ts_rows(0, [7], ["AAPL"], 2.0), tmp_path / "later.parquet")
    results = cs.reference([{"op": "append", "root": root, "path": again},
                            {"op": "append", "root": root, "path": later}])
    assert "overlap" in results[0], results[0]
    assert cs.ok(results[1]) == version + 1
    for q in QUERIES:
        assert cs.ok(cs.reference([{"op": "sql", "root": root, "sql": q}])[0]) == \
            cli_sql(cli, root, q), q
