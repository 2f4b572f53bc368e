"""`tstable delete`: the guide's example (docs/guide/corrections.md) prints what
it shows; the report key by key and as JSON; the ways --entity names entities;
the one-line refusals (misaligned range with the nearest aligned ones, unknown
entity with the nearest known ones, missing options, a table without entity
columns, a stale version); the no-op; Ctrl-C/SIGTERM cancel a delete and leave
the table and its files as they were."""

import json
import re
import shlex
import signal
import subprocess
import time

import pytest

from conftest import BIN, REPO

HEADER = "ts,symbol,close\n"


def table(cli, name="t", protocol="7"):
    cli.ok("create", "--table", name, "--index-column", "ts", "--bucket", "1h",
           "--entity", "symbol", "--protocol", protocol)
    (cli.tmp / "a.csv").write_text(HEADER + "".join(
        f"2024-06-01T{h:02d}:00:00Z,{s},{h}.5\n" for h in range(4) for s in ("NVDA", "AAPL")))
    cli.ok("append", "--table", name, "--csv", "a.csv")
    (cli.tmp / "b.csv").write_text(HEADER + "2024-06-02T00:00:00Z,MSFT,24.5\n")
    cli.ok("append", "--table", name, "--csv", "b.csv")
    return name


def rows(cli, name="t"):
    out = cli.ok("query", "--table", name, "--sql",
                 f"select symbol, hour(ts) h from {name} order by symbol, ts",
                 "--format", "csv").stdout
    return out.split()[1:]


def test_the_guide_example_runs_and_prints_what_it_shows(cli):
    guide = (REPO / "docs" / "guide" / "corrections.md").read_text()
    blocks = re.findall(r"```sh\n(.*?)```", guide, re.S)
    texts = re.findall(r"```text\n(.*?)```", guide, re.S)
    for name, text in zip(["bars.csv", "fix.csv"], re.findall(r"```csv\n(.*?)```", guide, re.S)):
        (cli.tmp / name).write_text(text)
    first = blocks[0].splitlines()
    for line in first[:-1]:
        cli.ok(*shlex.split(line)[1:])
    r = cli(*shlex.split(first[-1])[1:])
    assert r.code == 0 and r.stderr == "", r.stderr
    assert r.stdout == texts[0]
    for line in blocks[1].splitlines():
        cli.ok(*shlex.split(line)[1:])
    assert rows(cli, "bars") == ["AAPL,9", "AAPL,10", "AAPL,11", "NVDA,9", "NVDA,10", "NVDA,11"]
    closes = cli.ok("query", "--table", "bars", "--sql", "select close from bars where symbol = "
                    "'NVDA' order by ts", "--format", "csv").stdout.split()[1:]
    assert closes == ["120.75", "121.25", "122.0"]
    # the refusal the guide shows, word for word
    r = cli("delete", "--table", "./bars", "--start", "2024-06-03T09:30:00Z",
            "--end", "2024-06-03T11:00:00Z")
    assert r.code == 1 and r.stdout == ""
    assert r.stderr == texts[1]


def test_delete_prints_the_report(cli, golden):
    table(cli)
    golden("delete_report", cli("delete", "--table", "t", "--entity", "NVDA",
                                "--start", "2024-06-01T01:00:00Z", "--end", "2024-06-01T03:00:00Z"))
    assert rows(cli) == ["AAPL,0", "AAPL,1", "AAPL,2", "AAPL,3", "MSFT,0", "NVDA,0", "NVDA,3"]


def test_json_every_entity_and_whole_segments(cli):
    table(cli)
    r = cli("delete", "--table", "t", "--start", "2024-06-01", "--end", "2024-06-03", "--json",
            "--expected-version", "3")
    assert r.code == 0 and r.stderr == "", r.stderr
    assert json.loads(r.stdout) == {"starting_version": 3, "committed_version": 4,
                                    "rows_deleted": 9, "segments_removed": 2,
                                    "segments_rewritten": 0, "buckets_uncovered": 9,
                                    "no_op": False, "attempts": 1}
    assert rows(cli) == []
    cli.ok("append", "--table", "t", "--csv", "a.csv")  # the range takes its rows again
    assert len(rows(cli)) == 8


@pytest.mark.parametrize("entities", [["--entity", "symbol=NVDA", "--entity", "MSFT"],
                                      ["--entity", "NVDA", "--entity", "symbol=MSFT"]])
def test_several_entities(cli, entities):
    table(cli)
    r = json.loads(cli.ok("delete", "--table", "t", *entities, "--start", "2024-06-01",
                          "--end", "2024-06-03", "--json").stdout)
    assert (r["rows_deleted"], r["segments_removed"], r["segments_rewritten"]) == (5, 1, 1)
    assert rows(cli) == ["AAPL,0", "AAPL,1", "AAPL,2", "AAPL,3"]


def test_nothing_matching_is_a_no_op(cli, golden):
    table(cli)
    golden("delete_no_op", cli("delete", "--table", "t", "--entity", "MSFT",
                               "--start", "2024-06-01", "--end", "2024-06-02"))
    assert json.loads(cli.ok("info", "--table", "t", "--format", "json").stdout)["version"] == 3


def test_refusals_are_one_line(cli, golden):
    table(cli)
    golden("delete_err_misaligned", cli("delete", "--table", "t", "--start",
                                        "2024-06-01T00:15:00Z", "--end", "2024-06-01T00:45:00Z"))
    golden("delete_err_unknown_entity", cli("delete", "--table", "t", "--entity", "NVDAA",
                                            "--start", "2024-06-01", "--end", "2024-06-02"))
    golden("delete_err_no_end", cli("delete", "--table", "t", "--start", "2024-06-01"))
    golden("delete_err_reversed", cli("delete", "--table", "t", "--start", "2024-06-02",
                                      "--end", "2024-06-01"))
    golden("delete_err_stale_version", cli("delete", "--table", "t", "--start", "2024-06-01",
                                           "--end", "2024-06-02", "--expected-version", "2"))
    golden("delete_err_bad_column", cli("delete", "--table", "t", "--entity", "venue=X",
                                        "--start", "2024-06-01", "--end", "2024-06-02"))
    assert json.loads(cli.ok("info", "--table", "t", "--format", "json").stdout)["version"] == 3


def test_a_table_without_entity_columns(cli):
    cli.ok("create", "--table", "g", "--index-column", "ts", "--bucket", "1d")
    (cli.tmp / "g.csv").write_text("ts,v\n2024-06-01T05:00:00Z,1\n2024-06-02T05:00:00Z,2\n")
    cli.ok("append", "--table", "g", "--csv", "g.csv")
    r = cli("delete", "--table", "g", "--entity", "x", "--start", "2024-06-01",
            "--end", "2024-06-02")
    assert r.code == 1 and "no entity columns" in r.stderr
    r = cli("delete", "--table", "g", "--start", "2024-06-01T05:00:00Z", "--end", "2024-06-02")
    assert r.code == 1 and "[2024-06-02T00:00:00Z, 2024-06-02T00:00:00Z)" not in r.stderr
    assert "none inward" in r.stderr and "[2024-06-01T00:00:00Z, 2024-06-02T00:00:00Z) (outward" \
        in r.stderr
    out = cli.ok("delete", "--table", "g", "--start", "2024-06-01", "--end", "2024-06-02").stdout
    assert "rows_deleted: 1\n" in out and "segments_rewritten: 1\n" in out


def big_csv(path, n=200_000, symbols=20):
    with open(path, "w") as f:
        f.write(HEADER)
        for i in range(n):
            minute = i // symbols
            f.write(f"2024-01-{1 + minute // 1440:02d}T{(minute // 60) % 24:02d}:"
                    f"{minute % 60:02d}:00Z,S{i % symbols},{i}.5\n")


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM])
def test_a_signal_cancels_a_delete_and_leaves_the_table_as_it_was(cli, sig):
    cli.ok("create", "--table", "big", "--index-column", "ts", "--bucket", "1m",
           "--entity", "symbol")
    big_csv(cli.tmp / "big.csv")
    cli.ok("append", "--table", "big", "--csv", "big.csv")
    before = sorted(str(p.relative_to(cli.tmp / "big")) for p in (cli.tmp / "big").rglob("*")
                    if p.is_file())
    p = subprocess.Popen([str(BIN), "delete", "--table", "big", "--entity", "S3", "--start",
                          "2024-01-02", "--end", "2024-01-03"], cwd=cli.tmp,
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
    assert err.decode() == "delete cancelled; nothing was committed\n"
    after = sorted(str(q.relative_to(cli.tmp / "big")) for q in (cli.tmp / "big").rglob("*")
                   if q.is_file())
    assert after == before
    assert json.loads(cli.ok("info", "--table", "big", "--format", "json").stdout)["version"] == 2
    report = cli.ok("delete", "--table", "big", "--entity", "S3", "--start", "2024-01-02",
                    "--end", "2024-01-03").stdout
    assert "rows_deleted: 1440\n" in report


def test_help_has_an_example(cli, golden):
    r = cli("delete", "--help")
    golden("help_delete", r)
    assert "Example:\n  tstable delete" in r.stdout


def test_a_composite_entity_in_one_option_or_one_option_per_column(cli):
    cli.ok("create", "--table", "c", "--index-column", "ts", "--bucket", "1h",
           "--entity", "symbol", "--entity", "venue")
    (cli.tmp / "c.csv").write_text("ts,symbol,venue,close\n" + "".join(
        f"2024-06-01T{h:02d}:00:00Z,{s},{v},1.5\n" for h in range(3) for s in ("NVDA", "AAPL")
        for v in ("XNAS", "ARCX")))
    cli.ok("append", "--table", "c", "--csv", "c.csv")
    one = json.loads(cli.ok("delete", "--table", "c", "--entity", "symbol=NVDA,venue=XNAS",
                            "--entity", "venue=ARCX", "--entity", "symbol=AAPL", "--start",
                            "2024-06-01", "--end", "2024-06-01T02:00:00Z", "--json").stdout)
    assert one["rows_deleted"] == 4 and one["buckets_uncovered"] == 4
    left = cli.ok("query", "--table", "c", "--sql", "select symbol || '/' || venue || '/' || "
                  "hour(ts) AS k from c where hour(ts) < 2 order by all", "--format", "csv").stdout
    assert left.split()[1:] == ["AAPL/XNAS/0", "AAPL/XNAS/1", "NVDA/ARCX/0", "NVDA/ARCX/1"]
    r = cli("delete", "--table", "c", "--entity", "symbol=NVDA", "--start", "2024-06-01",
            "--end", "2024-06-02")
    assert r.code == 1 and "entity column 'venue' is missing" in r.stderr
