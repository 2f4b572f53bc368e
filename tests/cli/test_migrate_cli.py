"""`tstable migrate`: the report (golden files), its JSON form, --copy, what the new table
holds and answers, and the one-line refusals (a protocol-7 source, an existing destination,
missing options). Tables are created with an explicit --protocol."""

import json
import os

HEADER = "ts,symbol,close\n"


def v6_table(cli, name="t"):
    cli.ok("create", "--table", name, "--protocol", "6", "--index-column", "ts",
           "--bucket", "1h", "--entity", "symbol")
    for day, symbols in ((1, ["NVDA", "AAPL"]), (2, ["NVDA"])):
        lines = [f"2024-06-{day:02d}T{h:02d}:00:00Z,{s},{h + i}.5\n"
                 for h in range(3) for i, s in enumerate(symbols)]
        (cli.tmp / f"d{day}.csv").write_text(HEADER + "".join(lines))
        cli.ok("append", "--table", name, "--csv", f"d{day}.csv")
    return name


def answers(cli, table):
    return cli.ok("query", "--table", table, "--sql",
                  f"select symbol, count(*) as n, sum(close) as s from {table} "
                  "group by symbol order by symbol", "--format", "csv").stdout


def info(cli, table):
    return json.loads(cli.ok("info", "--table", table, "--format", "json").stdout)


def test_migrate_help(cli, golden):
    golden("migrate_help", cli("migrate", "--help"))


def test_migrate_prints_what_it_did_and_the_new_table_answers_the_same(cli, golden):
    v6_table(cli)
    before = answers(cli, "t")
    golden("migrate_v6_table", cli("migrate", "--table", "t", "--to", "t7"))
    assert answers(cli, "t7").replace("t7", "t") == before
    assert info(cli, "t7")["protocol"] == 7 and info(cli, "t7")["version"] == 3
    assert "protocol" not in info(cli, "t")  # the source is left as it was (format_version 6)
    log = cli.tmp / "t7" / "_timeseries_log"
    for commit in sorted(log.glob("*.json")):
        text = commit.read_text()
        assert "format_version" not in text and '"bucket"' not in text, text
    assert '"index_granularity":{"Hours":1}' in (log / "0000000001.json").read_text()
    # Data files are shared (hard links), and the new table takes appends.
    data = sorted(p.relative_to(cli.tmp / "t") for p in (cli.tmp / "t" / "data").rglob("*.parquet"))
    assert data and all(os.path.samefile(cli.tmp / "t" / p, cli.tmp / "t7" / p) for p in data)
    (cli.tmp / "d3.csv").write_text(HEADER + "2024-06-03T00:00:00Z,MSFT,7.5\n")
    cli.ok("append", "--table", "t7", "--csv", "d3.csv")
    assert info(cli, "t7")["version"] == 4 and info(cli, "t")["version"] == 3


def test_migrate_json_and_copy(cli):
    v6_table(cli)
    r = cli("migrate", "--table", "t", "--to", "t7", "--copy", "--json")
    assert r.code == 0 and r.stderr == ""
    report = json.loads(r.stdout)
    assert report["files_linked"] == 0 and report["bytes_linked"] == 0
    assert report["files_copied"] > 0 and report["bytes_copied"] > 0
    assert {k: report[k] for k in ("source", "destination", "from", "to", "version",
                                   "commits_rewritten", "metas_rewritten",
                                   "coverage_pointers_rewritten", "live_segments",
                                   "checkpoint_written")} == {
        "source": "t", "destination": "t7", "from": "format_version 6", "to": "protocol 7",
        "version": 3, "commits_rewritten": 3, "metas_rewritten": 2,
        "coverage_pointers_rewritten": 2, "live_segments": 2, "checkpoint_written": False}
    for p in (cli.tmp / "t" / "data").rglob("*.parquet"):
        twin = cli.tmp / "t7" / p.relative_to(cli.tmp / "t")
        assert not os.path.samefile(p, twin) and twin.read_bytes() == p.read_bytes()


def test_migrate_refuses_a_protocol_7_table(cli, golden):
    cli.ok("create", "--table", "t", "--protocol", "7", "--index-column", "ts",
           "--index-granularity", "1h")
    golden("migrate_err_protocol7", cli("migrate", "--table", "t", "--to", "t7"))
    assert not (cli.tmp / "t7").exists()
    assert [p.name for p in cli.tmp.iterdir() if p.name.startswith(".")] == []


def test_migrate_refuses_an_existing_destination(cli, golden):
    v6_table(cli)
    (cli.tmp / "t7").mkdir()
    golden("migrate_err_exists", cli("migrate", "--table", "t", "--to", "t7"))
    assert list((cli.tmp / "t7").iterdir()) == []


def test_migrate_needs_both_folders(cli, golden):
    golden("migrate_err_no_to", cli("migrate", "--table", "t"))
    golden("migrate_err_no_table", cli("migrate", "--table", "nope", "--to", "t7"))
