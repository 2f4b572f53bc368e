"""Tables tstable vacuumed (history expired: old snapshots, replaced segments,
old checkpoints gone) still open, query and take appends in the reference
release of their protocol: 0.9.0 for protocol 7 (.deps/refvenv09, see
reference09.py) and 0.4.0 for format_version 6 (.deps/refvenv, see
compat_support.py). Both replay the log from version 1 and read only the
files the head names, which vacuum keeps; they ignore the marker
(_timeseries_log/_vacuumed.json). tstable reads what they wrote afterwards.
"""

import datetime as dt
import json

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

import compat_support
from compat_support import Cli, cli_json, cli_sql, our_package

import reference09
from reference09 import pytestmark  # noqa: F401 (pytestmark is used by pytest)

QUERIES = ["SELECT count(*) AS n, sum(v) AS s FROM t",
           "SELECT symbol, count(*) AS n, sum(v) AS s FROM t GROUP BY symbol ORDER BY symbol"]


def hour_rows(first_hour, hours, symbols, v0=0.0, tz="UTC"):
    start = dt.datetime(2024, 1, 1) + dt.timedelta(hours=first_hour)
    ts = [start + dt.timedelta(hours=h) for h in range(hours) for _ in symbols]
    return pa.table({"ts": pa.array(ts, pa.timestamp("us", tz=tz)),
                     "symbol": [s for _ in range(hours) for s in symbols],
                     "v": pa.array([v0 + i for i in range(len(ts))], pa.float64())})


def vacuum_everything_old(cli, root):
    """Expire every version but the head (retention 0, explicitly allowed)."""
    report = json.loads(cli.ok("vacuum", "--table", root, "--retention", "0s",
                               "--allow-short-retention", "--apply", "--json").stdout)
    assert report["oldest_retained_version"] == report["table_version"]
    return report


def deleted(report, prefix):
    return [a["path"] for a in report["artifacts"]
            if a["disposition"] == "deleted" and a["path"].startswith(prefix)]


def test_reference_0_9_opens_queries_and_appends_to_a_table_tstable_vacuumed(tmp_path):
    ttf = our_package()
    cli = Cli()
    root = tmp_path / "t"
    t = ttf.TimeSeriesTable.create(table_root=str(root), index_column="ts",
                                   index_type="timestamp", index_granularity="1h",
                                   entity_columns=["symbol"], protocol=7)
    t.append(hour_rows(0, 2, ["AAPL", "MSFT"]))  # mixed: optimize replaces it
    for i in range(2, 104):                       # a checkpoint at version 100
        t.append(hour_rows(i, 1, ["NVDA"], float(i)))
    cli.ok("optimize", "--table", root, "--mode", "entity-layout")
    before = {q: cli_sql(cli, root, q) for q in QUERIES}
    report = vacuum_everything_old(cli, root)
    assert len(deleted(report, "_coverage/table/")) == 102  # all but the head's snapshot
    assert len(deleted(report, "data/")) == 1  # the mixed segment optimize replaced
    assert len(list((root / "_coverage" / "table").iterdir())) == 1
    assert (root / "_timeseries_log" / "0000000001.json").exists()
    assert [p.name for p in (root / "_timeseries_log" / "_checkpoints").iterdir()] == [
        "0000000100.checkpoint"]  # the newest at or below the oldest retained version

    ops = [{"op": "version", "root": root}] + [{"op": "sql", "root": root, "sql": q}
                                               for q in QUERIES]
    version, *answers = [reference09.ok(r) for r in reference09.ref(*ops)]
    assert version == 105
    assert answers == [before[q] for q in QUERIES]

    new = tmp_path / "amd.parquet"
    pq.write_table(hour_rows(0, 24, ["AMD"], 1000.0), new)
    assert reference09.ok(reference09.ref({"op": "append", "root": root, "path": new})[0]) == 106
    dry = reference09.ok(reference09.ref({"op": "vacuum", "root": root, "apply": False})[0])
    assert dry["mode"] == "dry_run"  # its own vacuum reads our vacuumed table
    info = cli_json(cli, "info", "--table", root)
    assert (info["version"], info["rows"]) == (106, 4 + 102 + 24)
    assert cli_sql(cli, root, "SELECT count(*) FROM t WHERE symbol = 'AMD'") == [[24]]
    late = tmp_path / "late.parquet"
    pq.write_table(hour_rows(200, 1, ["NVDA"]), late)
    cli.ok("append", "--table", root, "--parquet", late)
    assert cli_json(cli, "info", "--table", root)["version"] == 107


@pytest.mark.skipif(not compat_support.REFERENCE.exists(), reason=compat_support.REFERENCE_MISSING)
def test_reference_0_4_opens_queries_and_appends_to_a_format_6_table_tstable_vacuumed(tmp_path):
    cli = Cli()
    root = tmp_path / "v6"
    cli.ok("create", "--table", root, "--protocol", "6", "--index-column", "ts", "--bucket", "1h",
           "--entity", "symbol")
    for day in range(3):
        f = tmp_path / f"d{day}.parquet"
        # zone-less: the reference 0.4.0 reads a zoned column as zone-less
        pq.write_table(hour_rows(24 * day, 24, ["AAPL", "MSFT"], tz=None), f)
        cli.ok("append", "--table", root, "--parquet", f)
    cli.ok("optimize", "--table", root, "--mode", "entity-layout")
    before = {q: cli_sql(cli, root, q) for q in QUERIES}
    report = vacuum_everything_old(cli, root)
    assert len(deleted(report, "_coverage/table/")) == 2
    assert len(deleted(report, "data/")) == 3  # the mixed segments

    results = compat_support.reference(
        [{"op": "version", "root": root}] + [{"op": "sql", "root": root, "sql": q}
                                             for q in QUERIES])
    version, *answers = [compat_support.ok(r) for r in results]
    assert version == 5
    assert answers == [before[q] for q in QUERIES]
    new = tmp_path / "amd.parquet"
    pq.write_table(hour_rows(0, 24, ["AMD"], 1000.0, tz=None), new)
    assert compat_support.ok(compat_support.reference(
        [{"op": "append", "root": root, "path": new}])[0]) == 6
    assert cli_sql(cli, root, "SELECT count(*) FROM t") == [[3 * 48 + 24]]
    # tstable vacuums the reference's append too, and both still read the table.
    again = vacuum_everything_old(cli, root)
    assert len(deleted(again, "_coverage/table/")) == 1
    results = compat_support.reference([{"op": "sql", "root": root,
                                         "sql": "SELECT count(*) FROM t"}])
    assert compat_support.ok(results[0]) == [[3 * 48 + 24]]


@pytest.mark.skipif(not compat_support.REFERENCE.exists(), reason=compat_support.REFERENCE_MISSING)
def test_tstable_vacuums_the_files_a_reference_0_4_optimize_replaced(tmp_path):
    """The reference 0.4.0 names a segment after its source file (data/<name>.parquet), a
    shape vacuum does not recognise on its own; a segment the log removed before the
    oldest retained version is the table's own whatever its name, so it goes."""
    cli = Cli()
    root = tmp_path / "r"
    sources = []
    for day in range(2):
        f = tmp_path / f"src{day}.parquet"
        pq.write_table(hour_rows(24 * day, 24, ["AAPL", "MSFT"], tz=None), f)
        sources.append(f)
    results = compat_support.reference(
        [{"op": "create", "args": {"table_root": str(root), "index_column": "ts",
                                   "index_type": "timestamp", "bucket": "1h",
                                   "entity_columns": ["symbol"]}}]
        + [{"op": "append", "root": root, "path": f} for f in sources]
        + [{"op": "optimize", "root": root}])
    assert compat_support.ok(results[-1])["source_segments_replaced"] == 2
    mixed = [f"data/{f.name}" for f in sources]
    assert all((root / m).exists() for m in mixed)
    mine = root / "data" / "mine.parquet"  # never named by the log: kept
    mine.write_bytes((root / mixed[0]).read_bytes())
    before = cli_sql(cli, root, QUERIES[0])
    report = vacuum_everything_old(cli, root)
    assert sorted(deleted(report, "data/")) == mixed
    assert mine.exists()
    assert cli_sql(cli, root, QUERIES[0]) == before
    results = compat_support.reference([{"op": "sql", "root": root, "sql": QUERIES[0]}])
    assert compat_support.ok(results[0]) == before
