"""`tstable query --require-coverage / --warn-coverage` and the shell's
`.require_coverage`: a statement that reads (entity, bucket) slots the table
does not cover fails with exit code 1 and the missing ranges on stderr,
running nothing; the warning prints the same and runs; what cannot be
checked is refused (golden files). The examples of
docs/guide/guaranteed-reads.md run and print what the guide shows."""

import os
import re
import subprocess

import pytest

from conftest import BIN, REPO

GUIDE = REPO / "docs" / "guide" / "guaranteed-reads.md"
CSV = ("ts,symbol,close\n"
       "2024-01-02T00:00:00Z,AAPL,185.6\n2024-01-03T00:00:00Z,AAPL,184.3\n"
       "2024-01-05T00:00:00Z,AAPL,181.2\n2024-01-02T00:00:00Z,MSFT,370.9\n"
       "2024-01-03T00:00:00Z,MSFT,370.6\n2024-01-04T00:00:00Z,MSFT,367.9\n"
       "2024-01-05T00:00:00Z,MSFT,367.8\n")
RANGE = "ts >= '2024-01-02' AND ts < '2024-01-06'"


@pytest.fixture
def table(cli):
    (cli.tmp / "bars.csv").write_text(CSV)
    cli.ok("create", "--table", "bars", "--index-column", "ts", "--bucket", "1d",
           "--entity", "symbol")
    cli.ok("append", "--table", "bars", "--csv", "bars.csv")
    return "bars"


def test_a_hole_fails_with_the_missing_ranges_and_runs_nothing(cli, table, golden):
    r = cli("query", "--table", table, "--require-coverage", "--sql",
            f"SELECT symbol, count(*) AS n FROM bars WHERE {RANGE} GROUP BY symbol")
    assert r.code == 1 and r.stdout == ""
    golden("require_coverage_hole", r)
    # an entity the table never saw, and the tail of one that stopped early
    golden("require_coverage_unknown_entity",
           cli("query", "--table", table, "--require-coverage", "--sql",
               "SELECT * FROM bars WHERE symbol = 'NVDA' AND ts BETWEEN '2024-01-02' AND "
               "'2024-01-03 12:00'"))
    golden("require_coverage_tail",
           cli("query", "--table", table, "--require-coverage", "--sql",
               "SELECT * FROM bars WHERE symbol = 'AAPL' AND ts > '2024-01-04 12:00'"))


def test_full_coverage_runs(cli, table, golden):
    golden("require_coverage_covered",
           cli("query", "--table", table, "--require-coverage", "--format", "csv", "--sql",
               f"SELECT count(*) AS n FROM bars WHERE symbol = 'MSFT' AND {RANGE}"))


def test_warn_prints_and_runs(cli, table, golden):
    r = cli("query", "--table", table, "--warn-coverage", "--sql",
            f"SELECT count(*) AS n FROM bars WHERE {RANGE}")
    assert r.code == 0 and "total_rows: 1" in r.stdout and r.stderr.startswith("warning: ")
    golden("warn_coverage_hole", r)


def test_what_cannot_be_checked_is_refused_or_warned(cli, table, golden):
    sql = "SELECT count(*) AS n FROM query('SELECT * FROM bars')"
    golden("require_coverage_unreadable",
           cli("query", "--table", table, "--require-coverage", "--sql", sql))
    r = cli("query", "--table", table, "--warn-coverage", "--format", "csv", "--sql", sql)
    assert r.code == 0 and r.stdout == "n\n7\n" and "could not be checked" in r.stderr
    golden("require_coverage_open_unread",
           cli("query", "--table", table, "--require-coverage", "--sql",
               "SELECT * FROM bars WHERE date_trunc('day', ts) >= TIMESTAMPTZ "
               "'2024-01-03 00:00:00+00'"))


def test_explain_shows_what_was_checked_and_the_flags_exclude_each_other(cli, table, golden):
    r = cli.ok("query", "--table", table, "--require-coverage", "--explain", "--max-rows", "0",
               "--sql", f"SELECT count(*) FROM bars WHERE symbol = 'MSFT' AND {RANGE}")
    assert ("coverage checked: bars [2024-01-02T00:00:00Z, 2024-01-06T00:00:00Z) for 1 entity, "
            "4 slots, 0 missing\n") in r.stdout
    golden("require_coverage_both_flags",
           cli("query", "--table", table, "--require-coverage", "--warn-coverage", "--sql",
               "SELECT 1"))


def test_the_shell_sets_the_check_for_the_statements_that_follow(cli, table, golden):
    script = (f".require_coverage on\nSELECT count(*) AS n FROM bars WHERE {RANGE};\n"
              f".require_coverage warn\nSELECT count(*) AS n FROM bars WHERE {RANGE};\n"
              f".require_coverage off\nSELECT count(*) AS n FROM bars WHERE {RANGE};\n"
              ".require_coverage sometimes\n.require_coverage\n")
    p = cli.raw("shell", "--table", table, stdin=script.encode())
    from conftest import Result
    golden("shell_require_coverage",
           Result(cli.normalise(p.stdout.decode()), cli.normalise(p.stderr.decode()),
                  p.returncode))


def guide_steps():
    """(command, expected output or None) for each sh block of the CLI section."""
    text = GUIDE.read_text()
    section = text[text.index("## From the command line"):text.index("## From Python")]
    blocks = re.findall(r"```(\w+)\n(.*?)```", section, re.S)
    steps = []
    for i, (lang, body) in enumerate(blocks):
        if lang == "sh":
            nxt = blocks[i + 1] if i + 1 < len(blocks) else None
            steps.append((body, nxt[1] if nxt and nxt[0] == "text" else None))
    csv = [body for lang, body in blocks if lang == "csv"]
    return steps, csv[0]


def test_the_guide_examples_run_and_print_what_it_shows(cli):
    steps, csv = guide_steps()
    assert csv == CSV
    (cli.tmp / "bars.csv").write_text(csv)
    env = dict(os.environ, PATH=f"{BIN.parent}:{os.environ['PATH']}")
    env.pop("TSTABLE_LOG", None)
    assert BIN.name == "tstable"
    shown = 0
    for command, want in steps:
        p = subprocess.run(["bash", "-c", command], cwd=cli.tmp, env=env, capture_output=True,
                           timeout=60)
        if want is None:
            assert p.returncode == 0, p.stderr.decode()
            continue
        got = cli.normalise(p.stdout.decode() + p.stderr.decode())
        assert got == want, command
        shown += 1
    assert shown == 4


def test_a_calendar_asks_only_expected_buckets_and_needs_a_check(cli, table):
    week = "symbol = 'MSFT' AND ts >= '2024-01-02' AND ts < '2024-01-09'"
    sql = f"SELECT count(*) AS n FROM bars WHERE {week}"
    r = cli("query", "--table", table, "--require-coverage", "--sql", sql)
    assert r.code == 1 and "[2024-01-06T00:00:00Z, 2024-01-09T00:00:00Z) (3 buckets)" in r.stderr
    # the weekend is closed; Monday the 8th is expected and missing
    r = cli("query", "--table", table, "--require-coverage", "--calendar", "weekdays",
            "--sql", sql)
    assert r.code == 1 and r.stdout == ""
    assert "[2024-01-08T00:00:00Z, 2024-01-09T00:00:00Z) (1 bucket)" in r.stderr
    assert "5 expected (entity, bucket) slots, 1 missing" in r.stderr
    r = cli("query", "--table", table, "--calendar", "weekdays", "--sql", "SELECT 1")
    assert r.code == 1 and "add --require-coverage or --warn-coverage" in r.stderr
    r = cli("query", "--table", table, "--warn-coverage", "--calendar", "weekdays;days=xyz",
            "--sql", sql)
    assert r.code == 1 and "calendar" in r.stderr.lower()
    script = (".calendar weekdays\n.require_coverage on\n"
              "SELECT count(*) AS n FROM bars WHERE symbol = 'MSFT' AND ts >= '2024-01-02' "
              "AND ts < '2024-01-08';\n.calendar off\n.calendar\n")
    p = cli.raw("shell", "--table", table, stdin=script.encode())
    out, err = p.stdout.decode(), p.stderr.decode()
    assert "calendar: weekdays" in out and "calendar: off (every bucket)" in out
    assert "Query failed" not in err and "usage: .calendar SPEC|off" in err


def test_each_entity_and_the_last_window_take_the_calendar_too(cli, table):
    import json
    r = cli("coverage", "--table", table, "--each-entity", "--calendar", "weekdays",
            "--start", "2024-01-02", "--end", "2024-01-08", "--format", "json")
    rows = {x["entity"]["symbol"]: (x["covered_buckets"], x["total_buckets"])
            for x in json.loads(r.stdout)}
    assert rows == {"AAPL": (3, 4), "MSFT": (4, 4)}  # the weekend is not expected
    r = cli("gaps", "--table", table, "--each-entity", "--calendar", "weekdays",
            "--start", "2024-01-02", "--end", "2024-01-09", "--format", "json")
    assert [(x["entity"]["symbol"], x["start"][:10]) for x in json.loads(r.stdout)] == [
        ("AAPL", "2024-01-04"), ("AAPL", "2024-01-08"), ("MSFT", "2024-01-08")]
    window = {}
    for cal in ([], ["--calendar", "weekdays"]):
        r = cli("coverage", "--table", table, "--last-window", "2d", "--entity", "MSFT",
                "--end", "2024-01-08", "--format", "json", *cal)
        window[bool(cal)] = json.loads(r.stdout)["start"][:10]
    # Saturday is closed, so Friday + Saturday is a fully covered window under it
    assert window == {False: "2024-01-04", True: "2024-01-05"}
