"""`--as-of VERSION|TIMESTAMP` on query, info, coverage, gaps, log and segments:
each answers for that version; an instant picks the version current then
(zone-less means UTC); errors are one line (golden files); the examples of
docs/guide/time-travel.md run and print what the guide shows."""

import datetime as dt
import json
import re
import shlex

import pytest

from conftest import REPO

HEADER = "ts,symbol,close\n"


def csv(cli, name, day, symbols, hours=3):
    lines = [f"2024-06-{day:02d}T{h:02d}:00:00Z,{s},{h + i}.5\n"
             for h in range(hours) for i, s in enumerate(symbols)]
    (cli.tmp / name).write_text(HEADER + "".join(lines))
    return name


@pytest.fixture
def table(cli):
    """v1 create; v2 day 1 NVDA+AAPL (mixed); v3 day 2 NVDA; v4 optimize; v5 day 4 MSFT."""
    cli.ok("create", "--table", "t", "--index-column", "ts", "--bucket", "1h",
           "--entity", "symbol")
    cli.ok("append", "--table", "t", "--csv", csv(cli, "a.csv", 1, ["NVDA", "AAPL"]))
    cli.ok("append", "--table", "t", "--csv", csv(cli, "b.csv", 2, ["NVDA"]))
    cli.ok("optimize", "--table", "t", "--mode", "entity-layout")
    cli.ok("append", "--table", "t", "--csv", csv(cli, "c.csv", 4, ["MSFT"], hours=2))
    return "t"


def as_json(cli, *args):
    return json.loads(cli.ok(*args, "--format", "json").stdout)


def commit_times(cli, table):
    """As the log has them (cli.ok() would normalise them to <TIME>)."""
    p = cli.raw("log", "--table", table, "--format", "json")
    assert p.returncode == 0
    return [c["timestamp"] for c in json.loads(p.stdout)]


def count(cli, table, *extra, sql="SELECT count(*) AS n FROM t"):
    out = cli.ok("query", "--table", table, *extra, "--sql", sql, "--format", "csv").stdout
    return out.split()[-1]


def test_every_command_answers_at_the_version(cli, table):
    assert [as_json(cli, "info", "--table", table, "--as-of", str(v))["version"]
            for v in range(1, 6)] == [1, 2, 3, 4, 5]
    assert [s["entity"] for s in as_json(cli, "segments", "--table", table, "--as-of", "3")] == \
        ["mixed", "symbol=NVDA"]
    assert sorted(s["entity"] for s in as_json(cli, "segments", "--table", table,
                                               "--as-of", "4")) == \
        ["symbol=AAPL", "symbol=NVDA", "symbol=NVDA"]
    assert [count(cli, table, "--as-of", str(v)) for v in (2, 3, 4, 5)] == ["6", "9", "9", "11"]
    assert count(cli, table) == "11"
    week = ["--start", "2024-06-01", "--end", "2024-06-08"]
    cov = [as_json(cli, "coverage", "--table", table, *week, "--as-of", str(v))["covered_buckets"]
           for v in (2, 3, 5)]
    assert cov == [3, 6, 8]
    gaps3 = as_json(cli, "gaps", "--table", table, *week, "--entity", "symbol=MSFT",
                    "--as-of", "3")
    gaps5 = as_json(cli, "gaps", "--table", table, *week, "--entity", "symbol=MSFT")
    assert sum(g["buckets"] for g in gaps3) == 7 * 24
    assert sum(g["buckets"] for g in gaps5) == 7 * 24 - 2
    assert [c["version"] for c in as_json(cli, "log", "--table", table, "--as-of", "3")] == \
        [1, 2, 3]


def test_an_instant_picks_the_version_current_then_and_zone_less_is_utc(cli, table):
    times = commit_times(cli, table)
    assert len(times) == 5
    for version, stamp in enumerate(times, start=1):
        assert as_json(cli, "info", "--table", table, "--as-of", stamp)["version"] == version
        # The same instant without the Z, and with a space: UTC.
        zone_less = stamp[:-1].replace("T", " ")
        assert as_json(cli, "info", "--table", table, "--as-of", zone_less)["version"] == version
        # The same instant at -05:00 (the fraction kept digit for digit).
        base = dt.datetime.strptime(stamp[:19], "%Y-%m-%dT%H:%M:%S") - dt.timedelta(hours=5)
        ny = base.strftime("%Y-%m-%dT%H:%M:%S") + stamp[19:-1] + "-05:00"
        assert as_json(cli, "info", "--table", table, "--as-of", ny)["version"] == version
    assert count(cli, table, "--as-of", times[2]) == "9"
    # A date means midnight UTC: long after 2024, before the table was made (now).
    r = cli("info", "--table", table, "--as-of", "2024-06-01")
    assert r.code == 1 and "it was created at" in r.stderr


def test_sql_names_versions_of_a_registered_table(cli, table):
    sql = ('SELECT (SELECT count(*) FROM t) - (SELECT count(*) FROM "t@v2") AS added, '
           '(SELECT count(*) FROM "t@3") AS at3')
    out = cli.ok("query", "--table", table, "--sql", sql, "--format", "csv").stdout
    assert out.splitlines() == ["added,at3", "5,9"]
    # --as-of pins the registered name; "t@v5" still reads version 5.
    sql = 'SELECT (SELECT count(*) FROM t) AS pinned, (SELECT count(*) FROM "t@v5") AS latest'
    out = cli.ok("query", "--table", table, "--as-of", "2", "--sql", sql, "--format",
                 "csv").stdout
    assert out.splitlines() == ["pinned,latest", "6,11"]
    # Pruning applies at a version: --explain shows one segment of two kept.
    out = cli.ok("query", "--table", table, "--sql",
                 "SELECT count(*) FROM \"t@v3\" WHERE ts >= '2024-06-02'", "--explain").stdout
    assert "segments kept after pruning: 1 of 2" in out, out


@pytest.mark.parametrize("name,args", [
    ("as_of_err_zero", ["info", "--table", "t", "--as-of", "0"]),
    ("as_of_err_after_head", ["segments", "--table", "t", "--as-of", "9"]),
    ("as_of_err_not_a_time", ["coverage", "--table", "t", "--as-of", "someday"]),
    ("as_of_err_before_creation", ["log", "--table", "t", "--as-of", "2024-01-01T00:00:00Z"]),
    ("as_of_err_query_after_head", ["query", "--table", "t", "--as-of", "9", "--sql",
                                    "SELECT 1"]),
])
def test_errors_are_one_line(cli, golden, table, name, args):
    r = cli(*args)
    golden(name, r)
    assert r.code == 1 and r.stdout == ""


def test_a_vacuumed_version_names_the_oldest_readable_one(cli, golden, table):
    marker = {"oldest_readable_version": 4, "vacuumed_at": "2026-12-01T00:00:00Z",
              "retention_seconds": 7 * 86400}
    (cli.tmp / table / "_timeseries_log" / "_vacuumed.json").write_text(json.dumps(marker))
    golden("as_of_err_vacuumed", cli("gaps", "--table", table, "--as-of", "3"))
    assert as_json(cli, "info", "--table", table, "--as-of", "4")["version"] == 4


@pytest.mark.parametrize("command", ["query", "info", "coverage", "gaps", "log", "segments"])
def test_help_explains_as_of_with_an_example(cli, command):
    out = cli.ok(command, "--help").stdout
    assert "--as-of VERSION|TIME" in out
    assert re.search(r"tstable " + command + r" .*--as-of ", out), out


def test_the_guide_cli_examples_run_and_print_what_it_shows(cli):
    guide = (REPO / "docs" / "guide" / "time-travel.md").read_text()
    setup, run = re.findall(r"```sh\n(.*?)```", guide, re.S)[:2]
    texts = re.findall(r"```text\n(.*?)```", guide, re.S)
    for name, text in zip(["monday.csv", "tuesday.csv"],
                          re.findall(r"```csv\n(.*?)```", guide, re.S)):
        (cli.tmp / name).write_text(text)
    for line in setup.splitlines():
        cli.ok(*shlex.split(line)[1:])
    out = "".join(cli.ok(*shlex.split(line)[1:]).stdout for line in run.splitlines())
    assert out == texts[0]
    r = cli("info", "--table", "./bars", "--as-of", "9")
    assert r.code == 1 and r.stderr == texts[1]
