"""`tstable optimize`: the report, key by key as the reference CLI prints it
(golden files), its JSON form, the no-op, and the one-line errors. The data
is written here as CSV text, two entities per file so that each append makes
a mixed segment."""

import json
import os
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


def guide_blocks():
    """The guide's sh and text blocks, in order, and its CSV files by name."""
    import re
    from conftest import REPO
    guide = (REPO / "docs" / "guide" / "optimize.md").read_text()
    commands = [b.splitlines() for b in re.findall(r"```sh\n(.*?)```", guide, re.S)]
    outputs = re.findall(r"```text\n(.*?)```", guide, re.S)
    files = dict(re.findall(r"`([\w.]+\.csv)`:\n\n```csv\n(.*?)```", guide, re.S))
    return commands, outputs, files


def run_guide_example(cli, commands, expected, files):
    import shlex
    for name, text in files.items():
        (cli.tmp / name).write_text(text)
    for line in commands[:-1]:
        cli.ok(*shlex.split(line)[1:])
    r = cli(*shlex.split(commands[-1])[1:])
    assert r.code == 0 and r.stderr == ""
    assert r.stdout == expected
    assert "no_op: true" in cli.ok(*shlex.split(commands[-1])[1:]).stdout
    return shlex.split(commands[-1])[3]


def test_the_guide_compaction_example_runs_and_prints_what_it_shows(cli):
    commands, outputs, files = guide_blocks()
    assert len(commands) == 2 and len(outputs) == 2
    assert "--mode" not in commands[0][-1]
    table = run_guide_example(cli, commands[0], outputs[0], files)
    segs = json.loads(cli.ok("segments", "--table", table, "--format", "json").stdout)
    assert [(s["entity"], s["rows"]) for s in segs] == [("symbol=AAPL", 2), ("symbol=NVDA", 6)]


def test_the_guide_entity_layout_example_runs_and_prints_what_it_shows(cli):
    commands, outputs, files = guide_blocks()
    assert commands[1][-1].endswith("--mode entity-layout")
    table = run_guide_example(cli, commands[1], outputs[1], files)
    assert [s["entity"] for s in json.loads(cli.ok("segments", "--table", table, "--format",
                                                   "json").stdout)] == \
        ["symbol=AAPL", "symbol=NVDA", "symbol=AAPL", "symbol=NVDA"]


# ---- compaction --------------------------------------------------------------------------

def daily_table(cli, name="d", days=6):
    cli.ok("create", "--table", name, "--index-column", "ts", "--bucket", "1h",
           "--entity", "symbol")
    for d in range(1, days + 1):
        cli.ok("append", "--table", name, "--csv", mixed_csv(cli, f"n{d}.csv", d, ["NVDA"]))
        if d <= 2:
            cli.ok("append", "--table", name, "--csv",
                   mixed_csv(cli, f"m{d}.csv", d, ["AAPL", "MSFT"]))
    return name


def test_compaction_is_the_default_and_prints_its_report(cli, golden):
    daily_table(cli)
    before = rows_and_sum(cli, "d")
    # 2024-06-01 opens a 3-day window (day 19875 of the epoch = 3 x 6625): NVDA days 1-3
    # and 4-6, AAPL and MSFT days 1-2 (split out of the mixed segments).
    golden("optimize_compact", cli("optimize", "--table", "d", "--window", "3d"))
    assert rows_and_sum(cli, "d") == before
    assert sorted(entities(cli, "d")) == ["symbol=AAPL", "symbol=MSFT", "symbol=NVDA",
                                          "symbol=NVDA"]
    golden("optimize_compact_no_op", cli("optimize", "--table", "d", "--window", "3d"))


def test_compaction_json_has_every_key(cli):
    daily_table(cli)
    r = cli("optimize", "--table", "d", "--target-rows", "6", "--target-bytes", "1GiB", "--json")
    assert r.code == 0 and r.stderr == ""
    report = json.loads(r.stdout)
    assert report["mode"] == "compact" and report["no_op"] is False
    assert (report["segments_before"], report["segments_after"]) == (8, 5)
    assert report["target_rows"] == 6 and report["target_bytes"] == 1 << 30
    assert report["window"] == 30 * 86400 and report["attempts"] == 1
    assert report["rows_read"] == report["rows_written"] == 3 * 6 + 2 * 2 * 3


def test_a_table_without_entity_columns_is_compacted(cli):
    cli.ok("create", "--table", "g", "--index-column", "ts", "--bucket", "1h")
    for d in range(1, 5):
        (cli.tmp / f"g{d}.csv").write_text(HEADER + f"2024-06-0{d}T00:00:00Z,NVDA,{d}.5\n")
        cli.ok("append", "--table", "g", "--csv", f"g{d}.csv")
    report = json.loads(cli.ok("optimize", "--table", "g", "--json").stdout)
    assert (report["segments_before"], report["segments_after"]) == (4, 1)
    assert rows_and_sum(cli, "g") == "4,12.0"


@pytest.mark.parametrize("args, message", [
    (["--mode", "squash"], "--mode must be compact or entity-layout, not 'squash'"),
    (["--window", "7w"], "--window must be a duration such as 30d"),
    (["--target-bytes", "lots"], "--target-bytes must be a positive size"),
    (["--target-rows", "0"], "--target-rows must be a positive number"),
    (["--mode", "entity-layout", "--window", "7d"], "apply to --mode compact only"),
])
def test_bad_compaction_options_are_usage_errors(cli, args, message):
    daily_table(cli, days=1)
    r = cli("optimize", "--table", "d", *args)
    assert r.code == 1 and message in r.stderr, r.stderr
    assert r.stdout == ""


def big_mixed_csv(path, n=200_000, symbols=60):
    """n rows over `symbols` symbols at one-minute steps: one big mixed segment."""
    with open(path, "w") as f:
        f.write(HEADER)
        for i in range(n):
            minute = i // symbols
            f.write(f"2024-01-{1 + minute // 1440:02d}T{(minute // 60) % 24:02d}:"
                    f"{minute % 60:02d}:00Z,S{i % symbols},{i}.5\n")


@pytest.mark.parametrize("sig, mode", [(signal.SIGINT, "entity-layout"),
                                       (signal.SIGTERM, "entity-layout"),
                                       (signal.SIGINT, "compact"), (signal.SIGTERM, "compact")])
def test_a_signal_cancels_optimize_and_leaves_the_table_and_its_files_as_they_were(cli, sig, mode):
    cli.ok("create", "--table", "big", "--index-column", "ts", "--bucket", "1m",
           "--entity", "symbol")
    big_mixed_csv(cli.tmp / "big.csv")
    cli.ok("append", "--table", "big", "--csv", "big.csv")
    before = sorted(str(p.relative_to(cli.tmp / "big")) for p in (cli.tmp / "big").rglob("*")
                    if p.is_file())
    p = subprocess.Popen([str(BIN), "optimize", "--table", "big", "--mode", mode], cwd=cli.tmp,
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
    report = cli.ok("optimize", "--table", "big", "--mode", mode).stdout
    assert ("replacement_segments_written: 60" if mode == "entity-layout"
            else "segments_written: 60") in report


# ---- compaction under a small DuckDB memory limit ------------------------------------------

def wide_mixed_parquet(path, day, minutes=2160, symbols=100):
    """One mixed file: `minutes` one-minute bars of `symbols` symbols from day `day` of the
    window that starts 2023-12-19 (a multiple of 30 days since the epoch), each row with a
    128-character random payload that neither Parquet nor DuckDB can shrink much."""
    import duckdb
    duckdb.connect().execute(f"""
        COPY (SELECT TIMESTAMPTZ '2023-12-19 00:00:00+00' + to_minutes({day * minutes} + m) AS ts,
                     'S' || s AS symbol, (m * 1000 + s)::DOUBLE + 0.5 AS close,
                     md5(random()::VARCHAR) || md5(random()::VARCHAR) ||
                     md5(random()::VARCHAR) || md5(random()::VARCHAR) AS payload
              FROM range({minutes}) a(m), range({symbols}) b(s))
        TO '{path}' (FORMAT parquet)""")


def compact_watching_the_spill(cwd, env):
    """Runs `optimize --json` to the end, watching DuckDB's temp folder (under TMPDIR, see
    src/engine/duck.c): its report, peak RSS in bytes (wait4) and the most bytes the spill
    files held at once."""
    spill_dir = cwd / "tmp"
    spill_dir.mkdir()
    env = dict(env, TMPDIR=str(spill_dir))
    spilled = 0
    with open(cwd / "out.txt", "wb") as out, open(cwd / "err.txt", "wb") as err:
        p = subprocess.Popen([str(BIN), "optimize", "--table", "w", "--json"], cwd=cwd,
                             env=env, stdout=out, stderr=err)
        while True:
            pid, status, usage = os.wait4(p.pid, os.WNOHANG)
            if pid:
                break
            held = 0
            for f in spill_dir.rglob("*"):
                try:
                    held += f.stat().st_size if f.is_file() else 0
                except FileNotFoundError:
                    pass  # DuckDB removed it meanwhile
            spilled = max(spilled, held)
            time.sleep(0.01)
        p.returncode = os.waitstatus_to_exitcode(status)
    assert p.returncode == 0, (cwd / "err.txt").read_text()
    return json.loads((cwd / "out.txt").read_text()), usage.ru_maxrss * 1024, spilled


def test_compaction_under_a_small_memory_limit_spills_and_keeps_every_row(cli):
    """10 mixed files of 100 symbols in one 30-day window: 2.2 million rows, 150 MB of
    Parquet (several hundred MB as DuckDB rows), compacted with DuckDB limited to 128 MB
    (TST_DUCKDB_MEMORY_LIMIT; 2 threads, so that the limit holds on any machine): the
    window's rows are staged and sorted once, DuckDB spills what it cannot hold to its temp
    folder, and every row comes out as it went in."""
    files = []
    for d in range(10):
        wide_mixed_parquet(cli.tmp / f"w{d}.parquet", d)
        files.append(f"w{d}.parquet")
    cli.ok("create", "--table", "w", "--index-column", "ts", "--bucket", "1m",
           "--entity", "symbol")
    cli.ok("append", "--table", "w", "--parquet", *files)
    data = sum(f.stat().st_size for f in (cli.tmp / "w" / "data").rglob("*.parquet"))
    assert data > 128 << 20  # more than DuckDB may hold, even as compressed Parquet
    fingerprint = ("select count(*) as n, sum(hash(symbol, ts, close, payload)) as h, "
                   "min(ts) as lo, max(ts) as hi from w")
    before = cli.ok("query", "--table", "w", "--sql", fingerprint, "--format", "csv").stdout

    env = dict(os.environ, TST_DUCKDB_MEMORY_LIMIT="128MB", TST_DUCKDB_THREADS="2")
    env.pop("TSTABLE_LOG", None)
    report, peak, spilled = compact_watching_the_spill(cli.tmp, env)
    rows = 10 * 2160 * 100
    assert (report["segments_before"], report["segments_after"]) == (10, 100)
    assert report["rows_read"] == report["rows_written"] == rows
    # What DuckDB could not hold went to disk, and the process stayed well below what the
    # rows take in memory (with no limit, the same run peaks near 1 GB; here about 230 MB).
    assert spilled > 64 << 20, f"spilled {spilled >> 20} MiB"
    assert peak < 400 << 20, f"peak RSS {peak >> 20} MiB"

    assert cli.ok("query", "--table", "w", "--sql", fingerprint, "--format", "csv").stdout \
        == before
    assert sorted(entities(cli, "w")) == sorted(f"symbol=S{s}" for s in range(100))
