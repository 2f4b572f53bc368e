"""`tstable optimize`: the report, key by key as the reference CLI prints it
(golden files), its JSON form, the no-op, and the one-line errors. The data
is written here as CSV text, two entities per file so that each append makes
a mixed segment."""

import json
import signal
import subprocess
import time

import pytest

from conftest import BIN  # noqa: F401  (the binary fixture lives there)

HEADER = "ts,symbol,close\n"


def mixed_csv(cli, name, day, symbols):
    lines = [f"2024-06-{day:02d}T{h:02d}:00:00Z,{s},{h + i}.5\n"
             for h in range(3) for i, s in enumerate(symbols)]
    (cli.tmp / name).write_text(HEADER + "".join(lines))
    return name


def mixed_table(cli, name="t"):
    cli.ok("create", "--table", name, "--index-column", "ts", "--bucket", "1h",
           "--entity", "symbol")
    cli.ok("append", "--table", name, "--csv", mixed_csv(cli, "a.csv", 1, ["NVDA", "AAPL"]))
    cli.ok("append", "--table", name, "--csv", mixed_csv(cli, "b.csv", 2, ["NVDA", "AAPL", "MSFT"]))
    return name


def rows_and_sum(cli, table):
    out = cli.ok("query", "--table", table, "--sql",
                 f"select count(*) as n, sum(close) as s from {table}", "--format", "csv").stdout
    return out.split()[-1]


def entities(cli, table):
    return [s["entity"] for s in json.loads(cli.ok("segments", "--table", table, "--format",
                                                   "json").stdout)]


def test_optimize_prints_the_report_and_splits_every_mixed_segment(cli, golden):
    mixed_table(cli)
    before = rows_and_sum(cli, "t")
    assert entities(cli, "t") == ["mixed", "mixed"]
    golden("optimize_mixed", cli("optimize", "--table", "t", "--mode", "entity-layout"))
    assert rows_and_sum(cli, "t") == before
    assert sorted(entities(cli, "t")) == ["symbol=AAPL", "symbol=AAPL", "symbol=MSFT",
                                          "symbol=NVDA", "symbol=NVDA"]


def test_a_second_optimize_is_a_no_op(cli, golden):
    mixed_table(cli)
    cli.ok("optimize", "--table", "t", "--mode", "entity-layout")
    golden("optimize_no_op", cli("optimize", "--table", "t", "--mode", "entity-layout"))


def test_optimize_json_has_the_same_keys_and_attempts(cli):
    mixed_table(cli)
    r = cli("optimize", "--table", "t", "--mode", "entity-layout", "--json")
    assert r.code == 0 and r.stderr == ""
    report = json.loads(r.stdout)
    assert report == {"starting_version": 3, "committed_version": 4,
                      "candidate_source_segments": 2, "source_segments_replaced": 2,
                      "replacement_segments_written": 5, "distinct_identities_materialized": 3,
                      "rows_read": 15, "rows_written": 15, "no_op": False, "attempts": 1}


def test_optimize_refuses_a_table_without_entity_columns(cli, golden):
    cli.ok("create", "--table", "t", "--index-column", "ts", "--bucket", "1h")
    (cli.tmp / "a.csv").write_text(HEADER + "2024-06-01T00:00:00Z,NVDA,1.5\n")
    cli.ok("append", "--table", "t", "--csv", "a.csv")
    golden("optimize_err_no_entities", cli("optimize", "--table", "t", "--mode", "entity-layout"))


def test_optimize_of_a_missing_table_is_one_error(cli, golden):
    golden("optimize_err_no_table", cli("optimize", "--table", "nope"))


def test_optimize_needs_a_table(cli, golden):
    golden("optimize_err_no_table_option", cli("optimize"))


def test_the_guide_cli_example_runs_and_prints_what_it_shows(cli):
    import re
    import shlex
    from conftest import REPO
    guide = (REPO / "docs" / "guide" / "optimize.md").read_text()
    commands = re.search(r"```sh\n(.*?)```", guide, re.S).group(1).splitlines()
    expected = re.search(r"```text\n(.*?)```", guide, re.S).group(1)
    for name, text in zip(["bars.csv", "bars2.csv"], re.findall(r"```csv\n(.*?)```", guide, re.S)):
        (cli.tmp / name).write_text(text)
    for line in commands[:-1]:
        cli.ok(*shlex.split(line)[1:])
    r = cli(*shlex.split(commands[-1])[1:])
    assert r.code == 0 and r.stderr == ""
    assert r.stdout == expected
    assert [s["entity"] for s in json.loads(cli.ok("segments", "--table", "./bars", "--format",
                                                   "json").stdout)] == \
        ["symbol=AAPL", "symbol=NVDA", "symbol=AAPL", "symbol=NVDA"]
    assert "no_op: true" in cli.ok(*shlex.split(commands[-1])[1:]).stdout


def big_mixed_csv(path, n=200_000, symbols=60):
    """n rows over `symbols` symbols at one-minute steps: one big mixed segment."""
    with open(path, "w") as f:
        f.write(HEADER)
        for i in range(n):
            minute = i // symbols
            f.write(f"2024-01-{1 + minute // 1440:02d}T{(minute // 60) % 24:02d}:"
                    f"{minute % 60:02d}:00Z,S{i % symbols},{i}.5\n")


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM])
def test_a_signal_cancels_optimize_and_leaves_the_table_and_its_files_as_they_were(cli, sig):
    cli.ok("create", "--table", "big", "--index-column", "ts", "--bucket", "1m",
           "--entity", "symbol")
    big_mixed_csv(cli.tmp / "big.csv")
    cli.ok("append", "--table", "big", "--csv", "big.csv")
    before = sorted(str(p.relative_to(cli.tmp / "big")) for p in (cli.tmp / "big").rglob("*")
                    if p.is_file())
    p = subprocess.Popen([str(BIN), "optimize", "--table", "big", "--mode", "entity-layout"], cwd=cli.tmp,
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    staged = cli.tmp / "big" / "data" / "_staged"
    deadline = time.time() + 60
    while time.time() < deadline and p.poll() is None:
        if staged.exists() and any(f.is_file() for f in staged.rglob("*")):
            break
        time.sleep(0.002)
    p.send_signal(sig)
    out, err = p.communicate(timeout=60)
    assert p.returncode == 128 + sig, (out, err)
    assert err.decode() == "optimize cancelled; nothing was committed\n"
    after = sorted(str(q.relative_to(cli.tmp / "big")) for q in (cli.tmp / "big").rglob("*")
                   if q.is_file())
    assert after == before
    assert json.loads(cli.ok("info", "--table", "big", "--format", "json").stdout)["version"] == 2
    report = cli.ok("optimize", "--table", "big", "--mode", "entity-layout").stdout
    assert "replacement_segments_written: 60" in report
