"""Our extensions stay invisible to the real reference 0.9.0, and its vacuum is safe on our tables.

tstable writes files the reference does not: checkpoints under _timeseries_log/_checkpoints/
(every 100 commits and more), temporary files of interrupted writes, and segments staged by
optimize. The reference 0.9.0 (.deps/refvenv09, see reference09.py) must read such a table as if they
were not there, take its own appends on top, and its `vacuum` must neither delete a file a
live segment or coverage snapshot needs nor change any answer, on a table tstable appended to
(copy, re-encode, CSV), optimized, added a column to and updated; tstable then reads the table
after the reference wrote and vacuumed it.
"""

import datetime as dt
import time

import pyarrow as pa
import pyarrow.parquet as pq

from compat_support import Cli, cli_json, cli_sql, our_package

import reference09
from reference09 import ok, pytestmark  # noqa: F401 (pytestmark is used by pytest)


def ref(*ops):
    """The reference's results, each of which must be a success."""
    return [ok(r) for r in reference09.ref(*ops)]


QUERIES = ["SELECT count(*) AS n, sum(v) AS s FROM t",
           "SELECT symbol, count(*) AS n, sum(v) AS s FROM t GROUP BY symbol ORDER BY symbol"]
NOTES = "SELECT count(note) AS n FROM t"


def hour_rows(first_hour, hours, symbol, v0=0.0):
    start = dt.datetime(2024, 1, 1) + dt.timedelta(hours=first_hour)
    return pa.table({"ts": pa.array([start + dt.timedelta(hours=h) for h in range(hours)],
                                    pa.timestamp("us", tz="UTC")),
                     "symbol": [symbol] * hours,
                     "v": pa.array([v0 + h for h in range(hours)], pa.float64())})


def same_answers(cli, root):
    theirs = ref(*[{"op": "sql", "root": root, "sql": q} for q in QUERIES])
    for q, rows in zip(QUERIES, theirs):
        assert cli_sql(cli, root, q) == rows, q


def test_a_table_with_checkpoints_reads_the_same_in_0_9_and_takes_its_appends(tmp_path):
    ttf = our_package()
    cli = Cli()
    root = tmp_path / "long"
    t = ttf.TimeSeriesTable.create(table_root=str(root), index_column="ts",
                                   index_type="timestamp", index_granularity="1h",
                                   entity_columns=["symbol"], protocol=7)
    for i in range(105):  # one checkpoint at version 101
        t.append(hour_rows(i, 1, "NVDA", float(i)))
    checkpoints = list((root / "_timeseries_log" / "_checkpoints").iterdir())
    assert checkpoints, "no checkpoint was written: the test would prove nothing"
    assert ref({"op": "version", "root": root})[0] == 106
    same_answers(cli, root)

    # The reference appends after the checkpoint; tstable opens from the checkpoint and
    # replays the reference's commits.
    new = tmp_path / "amd.parquet"
    pq.write_table(hour_rows(0, 24, "AMD", 1000.0), new)
    assert ref({"op": "append", "root": root, "path": new})[0] == 107
    info = cli_json(cli, "info", "--table", root)
    assert (info["version"], info["rows"]) == (107, 129)
    same_answers(cli, root)
    cov = cli_json(cli, "coverage", "--table", root, "--entity", "symbol=AMD",
                   "--start", "2024-01-01T00:00:00Z", "--end", "2024-01-02T00:00:00Z")
    assert cov["covered_buckets"] == 24


def test_the_reference_vacuum_keeps_what_tstable_tables_need(tmp_path):
    ttf = our_package()
    cli = Cli()
    root = tmp_path / "t"
    t = ttf.TimeSeriesTable.create(table_root=str(root), index_column="ts",
                                   index_type="timestamp", index_granularity="1h",
                                   entity_columns=["symbol"], protocol=7)
    t.append(pa.concat_tables([hour_rows(0, 6, "AAPL"), hour_rows(0, 6, "MSFT", 50.0)]))
    t.append(hour_rows(6, 6, "AAPL", 6.0))
    cli.ok("optimize", "--table", root)  # replaces the mixed segment: its old file is unused
    csv = tmp_path / "more.csv"
    csv.write_text("ts,symbol,v\n2024-01-02T00:00:00Z,TSLA,1.5\n2024-01-02T01:00:00Z,TSLA,2.5\n")
    cli.ok("append", "--table", root, "--csv", csv)
    # An added column and a keyed update: the update replaces a segment (its old file is
    # still named by an older commit) and its scratch files are gone.
    cli.ok("add-columns", "--table", root, "--column", "note=utf8")
    fixes = tmp_path / "fixes.csv"
    fixes.write_text("ts,symbol,v,note\n2024-01-01T02:00:00Z,AAPL,-2.0,fixed\n")
    cli.ok("update", "--table", root, "--csv", fixes, "--set", "v,note")
    # What an interrupted tstable write leaves: an unpublished temporary segment file.
    stray = root / "data" / "_managed" / "append" / "0b7c2f4e-1d2a-4c33-9f1e-5b6a7c8d9e0f.parquet"
    stray.parent.mkdir(parents=True, exist_ok=True)
    pq.write_table(hour_rows(100, 2, "ZZZ"), stray)
    before = {q: cli_sql(cli, root, q) for q in QUERIES}
    time.sleep(1.1)  # vacuum keeps files modified at or after its cutoff

    dry = ref({"op": "vacuum", "root": root, "apply": False})[0]
    assert dry["mode"] == "dry_run" and dry["deleted"] == 0
    removable = {a["path"] for a in dry["artifacts"] if a["disposition"] == "removable"}
    assert "data/_managed/append/0b7c2f4e-1d2a-4c33-9f1e-5b6a7c8d9e0f.parquet" in removable
    live = {s["path"] for s in cli_json(cli, "segments", "--table", root)}
    assert not removable & live
    applied = ref({"op": "vacuum", "root": root, "apply": True})[0]
    assert applied["deleted"] == len(removable)
    assert not stray.exists()
    assert not any(p.startswith("_timeseries_log") for p in removable)
    assert not any("update-prepare" in p for p in removable)  # never left behind

    # Nothing tstable or the reference needs is gone: same answers, and both still write.
    assert {q: cli_sql(cli, root, q) for q in QUERIES} == before
    same_answers(cli, root)
    assert cli_sql(cli, root, NOTES) == [[1]] == ref({"op": "sql", "root": root, "sql": NOTES})[0]
    cov = cli_json(cli, "coverage", "--table", root, "--entity", "symbol=AAPL",
                   "--start", "2024-01-01T00:00:00Z", "--end", "2024-01-01T12:00:00Z")
    assert cov["covered_buckets"] == 12
    again = tmp_path / "again.parquet"
    pq.write_table(hour_rows(12, 3, "AAPL", 12.0), again)
    ref({"op": "append", "root": root, "path": again})
    t.refresh()
    t.append(hour_rows(15, 3, "AAPL", 15.0))
    same_answers(cli, root)
    assert cli_sql(cli, root, "SELECT count(*) FROM t WHERE symbol = 'AAPL'") == [[18]]
