"""`tstable vacuum`: a dry run by default, what --apply deletes and what it
never touches (commit files, unrecognised files, files younger than the
retention, anything a retained version needs), the marker it publishes, the
safe minimum retention, and the --json report's shape. Tables are written
here from CSV text; "old" files are aged with os.utime."""

import json
import os
import time
from pathlib import Path

from conftest import BIN  # noqa: F401  (the binary fixture lives there)

HEADER = "ts,symbol,close\n"
ORPHAN = "data/_managed/append/00000000-0000-4000-8000-00000000000a.parquet"
STAGED = "data/_staged/entity-rewrite/00000000-0000-4000-8000-00000000000b/0000000000.parquet"
ABANDONED = "_timeseries_log/0000000042.json.abandoned-00000000-0000-4000-8000-00000000000c"
UNRECOGNISED = ["data/mine.parquet", "data/_managed/append/notes.txt", "_coverage/README",
                "_coverage/table/old.snapshot", "_timeseries_log/notes.md"]
SHORT = ["--retention", "0s", "--allow-short-retention"]


def day_csv(cli, day, symbols=("NVDA", "AAPL")):
    name = f"d{day}.csv"
    lines = [f"2024-06-{day:02d}T{h:02d}:00:00Z,{s},{h + i}.5\n"
             for h in range(3) for i, s in enumerate(symbols)]
    (cli.tmp / name).write_text(HEADER + "".join(lines))
    return name


def daily_table(cli, days, name="t"):
    cli.ok("create", "--table", name, "--index-column", "ts", "--bucket", "1h",
           "--entity", "symbol")
    for d in range(1, days + 1):
        cli.ok("append", "--table", name, "--csv", day_csv(cli, d))
    return cli.tmp / name


def files(root: Path):
    return sorted(str(p.relative_to(root)) for p in root.rglob("*") if p.is_file())


def put(root: Path, rel: str, text="x", age_seconds=None):
    path = root / rel
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    if age_seconds is not None:
        then = time.time() - age_seconds
        os.utime(path, (then, then))


def vacuum_json(cli, *args):
    """The report as printed (raw: paths keep their UUIDs)."""
    p = cli.raw("vacuum", "--table", "t", "--json", *args)
    assert p.returncode == 0, p.stderr.decode()
    return json.loads(p.stdout)


def rows(cli):
    return cli.ok("query", "--table", "t", "--sql", "select count(*) from t",
                  "--format", "csv").stdout.split()[-1]


def test_a_dry_run_deletes_nothing(cli):
    root = daily_table(cli, 3)
    put(root, ORPHAN, age_seconds=86400 * 30)
    before = files(root)
    report = vacuum_json(cli, *SHORT)
    assert report["mode"] == "dry_run"
    assert report["removable_files"] >= 3  # two old snapshots and the orphan
    assert report["deleted_files"] == 0
    assert files(root) == before
    assert not (root / "_timeseries_log" / "_vacuumed.json").exists()


def test_apply_keeps_one_coverage_snapshot_and_every_commit_of_a_daily_table(cli):
    root = daily_table(cli, 5)
    assert len(list((root / "_coverage" / "table").iterdir())) == 5
    report = vacuum_json(cli, "--apply", *SHORT)
    assert report["mode"] == "apply"
    assert report["deleted_files"] == 4
    assert {a["reason"] for a in report["artifacts"] if a["disposition"] == "deleted"} == {
        "unreferenced"}
    assert len(list((root / "_coverage" / "table").iterdir())) == 1
    assert len(list((root / "_timeseries_log").glob("00000000*.json"))) == 6  # never deleted
    marker = json.loads((root / "_timeseries_log" / "_vacuumed.json").read_text())
    assert marker["oldest_readable_version"] == 6
    assert marker["retention_seconds"] == 0
    assert rows(cli) == "30"
    cli.ok("append", "--table", "t", "--csv", day_csv(cli, 6))
    assert rows(cli) == "36"
    again = vacuum_json(cli, "--apply", *SHORT)
    assert again["deleted_files"] == 1  # the snapshot the append superseded


def test_an_optimized_tables_replaced_segments_go_once_their_versions_expire(cli):
    root = daily_table(cli, 2)
    cli.ok("optimize", "--table", "t")
    mixed = [a for a in vacuum_json(cli, *SHORT)["artifacts"]
             if a["path"].startswith("data/") and a["disposition"] == "removable"]
    assert len(mixed) == 2
    vacuum_json(cli, "--apply", *SHORT)
    assert not any((root / a["path"]).exists() for a in mixed)
    assert rows(cli) == "12"


def test_unrecognised_files_are_never_deleted(cli):
    root = daily_table(cli, 2)
    for rel in UNRECOGNISED:
        put(root, rel, age_seconds=86400 * 365)
    report = vacuum_json(cli, "--apply", *SHORT)
    for rel in UNRECOGNISED:
        assert (root / rel).exists(), rel
    reasons = {a["path"]: a["reason"] for a in report["artifacts"]}
    assert all(reasons[rel] == "unrecognized_artifact" for rel in UNRECOGNISED)


def test_files_younger_than_the_retention_are_never_deleted(cli):
    root = daily_table(cli, 2)
    put(root, ORPHAN)                          # a writer in flight, say
    put(root, STAGED, age_seconds=7200)        # older than the retention below
    report = vacuum_json(cli, "--apply", "--retention", "1h")
    by_path = {a["path"]: a for a in report["artifacts"]}
    assert by_path[ORPHAN]["disposition"] == "retained"
    assert by_path[ORPHAN]["reason"] == "within_retention"
    assert (root / ORPHAN).exists()
    assert by_path[STAGED]["disposition"] == "deleted"
    assert by_path[STAGED]["reason"] == "invalid_or_unreadable_parquet"
    assert not (root / STAGED).parent.exists()  # the emptied staging folder too
    assert report["folders_removed"] == 1
    # The commits are minutes old, not an hour: every version is retained.
    assert report["oldest_retained_version"] == 1
    assert len(list((root / "_coverage" / "table").iterdir())) == 2


def test_leftovers_of_interrupted_writers_are_removed_once_old(cli):
    root = daily_table(cli, 1)
    put(root, ABANDONED, age_seconds=86400 * 8)
    tmp = "_timeseries_log/CURRENT.00000000-0000-4000-8000-00000000000d.tmp"
    put(root, tmp, age_seconds=86400 * 8)
    report = vacuum_json(cli, "--apply")
    deleted = {a["path"]: a["reason"] for a in report["artifacts"]
               if a["disposition"] == "deleted"}
    assert deleted == {ABANDONED: "interrupted_write", tmp: "interrupted_write"}


def test_the_json_report_has_the_reference_shape(cli):
    root = daily_table(cli, 2)
    put(root, ORPHAN, age_seconds=86400 * 30)
    report = vacuum_json(cli)
    assert set(report) == {
        "mode", "table_version", "oldest_retained_version", "older_than", "considered_files",
        "retained_files", "removable_files", "deleted_files", "already_absent_files",
        "considered_bytes", "retained_bytes", "removable_bytes", "deleted_bytes",
        "already_absent_bytes", "folders_removed", "artifacts"}
    assert report["table_version"] == 3
    assert report["older_than"].endswith("Z")
    paths = [a["path"] for a in report["artifacts"]]
    assert paths == sorted(paths)
    assert report["considered_files"] == len(paths)
    assert report["considered_bytes"] == sum(a["size_bytes"] for a in report["artifacts"])
    assert report["retained_files"] + report["removable_files"] == report["considered_files"]
    for a in report["artifacts"]:
        assert set(a) == {"path", "size_bytes", "modified_at", "disposition", "reason",
                          "referenced_by_commit_version"}
        assert (a["referenced_by_commit_version"] is None) == (a["reason"] !=
                                                               "referenced_by_commit")
    orphan = next(a for a in report["artifacts"] if a["path"] == ORPHAN)
    assert (orphan["disposition"], orphan["reason"]) == ("removable",
                                                         "invalid_or_unreadable_parquet")
    assert not any(p.startswith("_timeseries_log/0") and p.endswith(".json") for p in paths)


def test_the_text_report_lists_what_goes_and_why(cli):
    root = daily_table(cli, 2)
    put(root, ORPHAN, age_seconds=86400 * 30)
    out = cli.ok("vacuum", "--table", "t").stdout
    assert "mode: dry_run\n" in out
    assert "removable: 1 files" in out
    assert ("removable      invalid_or_unreadable_parquet data/_managed/append/<UUID>.parquet\n"
            in out)
    assert "run again with --apply" in out


def test_a_short_retention_needs_the_override(cli):
    daily_table(cli, 1)
    r = cli("vacuum", "--table", "t", "--retention", "30m")
    assert r.code == 1
    assert "shorter than the safe minimum of 3600" in r.stderr
    r = cli("vacuum", "--table", "t", "--retention", "1week")
    assert r.code == 1
    assert "--retention takes a duration" in r.stderr


def test_keep_all_versions_removes_only_orphans(cli):
    root = daily_table(cli, 3)
    put(root, ORPHAN, age_seconds=86400 * 30)
    report = vacuum_json(cli, "--apply", "--keep-all-versions", *SHORT)
    assert [a["path"] for a in report["artifacts"] if a["disposition"] == "deleted"] == [ORPHAN]
    assert len(list((root / "_coverage" / "table").iterdir())) == 3


def test_the_guide_commands_run_and_print_the_documented_report(cli):
    import re
    import shlex
    guide = (Path(__file__).resolve().parents[2] / "docs" / "guide" / "vacuum.md").read_text()
    commands = re.findall(r"```sh\n(.*?)```", guide, re.S)[0].strip().splitlines()
    shown = re.findall(r"```text\n(.*?)```", guide, re.S)[0].splitlines()
    daily_table(cli, 2, name="bars")
    outputs = []
    for line in commands:
        args = shlex.split(line)
        assert args[0] == "tstable"
        outputs.append(cli.ok(*args[1:]).stdout)
    keys = [l.split(":")[0] for l in shown if ":" in l and not l.startswith("(")]
    assert [l.split(":")[0] for l in outputs[0].splitlines()[:len(keys)]] == keys
    assert outputs[1].startswith("mode: apply\n")


def test_vacuum_never_opens_duckdb(cli):
    """vacuum must not open a database (it needs no SQL engine): under gdb, a breakpoint
    on duckdb_open_ext is hit by `query` (the control) and never by `vacuum --apply`.
    (The tool loads libduckdb on first use, src/lazy/: once loaded, the breakpoint has
    two locations and gdb reports the hit as "Breakpoint 1.1, ".)"""
    import re
    import shutil
    import subprocess

    import pytest
    gdb = shutil.which("gdb")
    if not gdb:
        pytest.skip("gdb is not installed")
    root = daily_table(cli, 2)
    put(root, ORPHAN, age_seconds=86400 * 30)

    def opens_duckdb(*args):
        out = subprocess.run([gdb, "-batch", "-nx", "-ex", "set breakpoint pending on",
                              "-ex", "break duckdb_open_ext", "-ex", "run", "-ex", "kill",
                              "--args", str(BIN), *args], cwd=cli.tmp, capture_output=True,
                             text=True, timeout=120)
        return re.search(r"Breakpoint 1(\.\d+)?, ", out.stdout) is not None
    assert opens_duckdb("query", "--table", "t", "--sql", "select 1")
    assert not opens_duckdb("vacuum", "--table", "t", "--apply")
    assert not (root / ORPHAN).exists()
