"""`tstable migrate` (format_version 6 -> protocol 7) against the real reference packages.

- The committed fixture tests/fixtures/migrate_v6_to_v7 holds tables the reference 0.4.0 wrote
  and what the reference's own migration script made of them (its README says how). tstable's
  migration of the same v6 tables gives commits equal, as JSON values, to the script's, the same
  CURRENT and byte-identical non-log files.
- The script's output opens in tstable: protocol 7, the same answers as the v6 table, and it
  takes tstable's append.
- A table the reference 0.4.0 writes (appends and an optimize, whose files the script would
  refuse as "_staged" entries), migrated by tstable, opens in the reference 0.9.0 with the
  answers 0.4.0 gives on the source, and takes 0.9.0's append and optimize; tstable then reads
  the result.
"""

import json
import shutil
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from compat_support import (BIN, REFERENCE, REFERENCE_MISSING, REPO, Cli, cli_json, cli_sql, ok,
                            reference)
from reference09 import REF09, ref
from reference09 import ok as ok09
from test_reference09 import TS_QUERIES, ts_rows, write

FIXTURE = REPO / "tests" / "fixtures" / "migrate_v6_to_v7"
pytestmark = [pytest.mark.skipif(not BIN.exists(), reason=f"{BIN} is not built")]
needs_04 = pytest.mark.skipif(not REFERENCE.exists(), reason=REFERENCE_MISSING)
needs_09 = pytest.mark.skipif(not REF09.exists(), reason=f"the reference 0.9.0 is not at {REF09}")

TS_FIXTURE_QUERIES = ["SELECT count(*) AS n, sum(close) AS s FROM t",
                      "SELECT symbol, count(*) AS n, sum(close) AS s FROM t GROUP BY symbol "
                      "ORDER BY symbol"]
U64_QUERIES = ["SELECT count(*) AS n, sum(v) AS s, min(seq) AS lo, max(seq) AS hi FROM t"]


def files(root: Path) -> dict:
    return {p.relative_to(root).as_posix(): p.read_bytes()
            for p in sorted(root.rglob("*")) if p.is_file()}


def commits(root: Path) -> list:
    return [json.loads(p.read_text()) for p in sorted((root / "_timeseries_log").glob("*.json"))]


@pytest.mark.parametrize("name", ["ts", "u64"])
def test_tstable_migration_equals_the_reference_script_output(tmp_path, name):
    cli = Cli()
    source = tmp_path / "v6"
    shutil.copytree(FIXTURE / f"{name}_v6", source)
    before = files(source)
    out = tmp_path / "v7"
    report = json.loads(cli.ok("migrate", "--table", source, "--to", out, "--json").stdout)
    theirs = FIXTURE / f"{name}_v7_reference"
    assert commits(out) == commits(theirs)
    assert report["commits_rewritten"] == len(commits(theirs)) == report["version"]
    assert (out / "_timeseries_log" / "CURRENT").read_text().strip() == \
        (theirs / "_timeseries_log" / "CURRENT").read_text().strip()
    ours_data = {k: v for k, v in files(out).items() if not k.startswith("_timeseries_log/")}
    theirs_data = {k: v for k, v in files(theirs).items() if not k.startswith("_timeseries_log/")}
    assert ours_data == theirs_data
    assert report["files_linked"] + report["files_copied"] == len(theirs_data)
    assert files(source) == before  # the source is untouched


def test_the_reference_script_output_opens_answers_and_takes_appends_in_tstable(tmp_path):
    cli = Cli()
    v6, v7 = tmp_path / "v6", tmp_path / "v7"
    shutil.copytree(FIXTURE / "ts_v6", v6)
    shutil.copytree(FIXTURE / "ts_v7_reference", v7)
    info = cli_json(cli, "info", "--table", v7)
    assert (info["version"], info["protocol"]) == (3, 7)
    for q in TS_FIXTURE_QUERIES:
        assert cli_sql(cli, v7, q) == cli_sql(cli, v6, q), q
    cov = json.loads(cli.ok("coverage", "--table", v7, "--entity", "symbol=AAPL",
                            "--start", "2024-01-01", "--end", "2024-01-03",
                            "--format", "json").stdout)
    assert cov["covered_buckets"] == 6
    csv = tmp_path / "new.csv"
    csv.write_text("ts,symbol,close\n2024-01-05T00:00:00Z,TSLA,1.5\n2024-01-05T01:00:00Z,TSLA,2.5\n")
    cli.ok("append", "--table", v7, "--csv", csv)
    assert cli_json(cli, "info", "--table", v7)["version"] == 4
    assert cli_sql(cli, v7, "SELECT count(*), sum(close) FROM t") == [[14, 1294.0]]
    # A protocol-7 append: under data/_managed/append/, the log stays protocol 7.
    last = json.loads((v7 / "_timeseries_log" / "0000000004.json").read_text())
    added = [a["AddSegment"]["path"] for a in last["actions"] if "AddSegment" in a]
    assert len(added) == 1 and added[0].startswith("data/_managed/append/")
    assert "format_version" not in json.dumps(last)


def test_the_reference_uint64_output_opens_and_answers_in_tstable(tmp_path):
    cli = Cli()
    v7 = tmp_path / "v7"
    shutil.copytree(FIXTURE / "u64_v7_reference", v7)
    assert cli_json(cli, "info", "--table", v7)["protocol"] == 7
    assert cli_sql(cli, v7, U64_QUERIES[0]) == [[3, 6.0, 3, 2**64 - 2]]
    pq.write_table(pa.table({"seq": pa.array([40, 51], pa.uint64()), "v": [4.0, 5.0]}),
                   tmp_path / "more.parquet")
    cli.ok("append", "--table", v7, "--parquet", tmp_path / "more.parquet")
    assert cli_sql(cli, v7, U64_QUERIES[0]) == [[5, 15.0, 3, 2**64 - 2]]


@needs_04
@needs_09
def test_a_table_0_4_writes_migrated_by_tstable_works_in_0_9(tmp_path):
    cli = Cli()
    v6, v7 = tmp_path / "v6", tmp_path / "v7"
    paths = [write(ts_rows(d, range(4), ["AAPL", "MSFT"], 10.0 * d), tmp_path / f"d{d}.parquet")
             for d in range(3)]
    results = reference([{"op": "create", "args": {
        "table_root": str(v6), "index_column": "ts", "index_type": "timestamp", "bucket": "1h",
        "entity_columns": ["symbol"]}}]
        + [{"op": "append", "root": v6, "path": p} for p in paths]
        + [{"op": "optimize", "root": v6}]
        + [{"op": "sql", "root": v6, "sql": q} for q in TS_QUERIES])
    for r in results[:5]:
        ok(r)
    answers_04 = [ok(r) for r in results[5:]]
    assert any("_staged" in p.as_posix() for p in v6.rglob("*.parquet"))

    report = json.loads(cli.ok("migrate", "--table", v6, "--to", v7, "--json").stdout)
    assert report["version"] == 5 and report["files_copied"] + report["files_linked"] > 0
    # 0.9.0 reads it as 0.4.0 read the source, and so does tstable.
    spec, *answers_09 = ref({"op": "index_spec", "root": v7},
                            *[{"op": "sql", "root": v7, "sql": q} for q in TS_QUERIES])
    assert ok09(spec)["index_granularity"] == "1h"
    assert [ok09(a) for a in answers_09] == answers_04
    assert [cli_sql(cli, v7, q) for q in TS_QUERIES] == answers_04
    # 0.9.0 appends and optimizes; tstable reads the result; 0.4.0 still reads the source.
    new = write(ts_rows(5, range(2), ["NVDA", "AAPL"], 500.0), tmp_path / "new.parquet")
    appended, optimized = ref({"op": "append", "root": v7, "path": new},
                              {"op": "optimize", "root": v7})
    assert ok09(appended) == 6 and ok09(optimized)["committed_version"] == 7
    assert cli_json(cli, "info", "--table", v7)["version"] == 7
    assert cli_sql(cli, v7, TS_QUERIES[0]) == ok09(ref({"op": "sql", "root": v7,
                                                        "sql": TS_QUERIES[0]})[0])
    assert [ok(r) for r in reference([{"op": "sql", "root": v6, "sql": q}
                                      for q in TS_QUERIES])] == answers_04
