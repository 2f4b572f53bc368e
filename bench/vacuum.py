"""Vacuum of a daily-appended table: what the metadata costs before and after.

Builds a table the way a daily job does: DAYS appends of one day each, a few
rows at random minutes of that day (seeded), minute buckets, one symbol. Every
append writes a segment, its sidecar and a snapshot of the whole table's
coverage, which grows with the history, so _coverage/table/ grows with the
square of the number of appends; a checkpoint lands every 100 commits. Then
it measures, before and after each vacuum: bytes and files of _coverage/table,
_coverage/segments, data/, checkpoints and commit files; the time of
`tstable info` and `tstable coverage` (best of 5 runs of the CLI) and of
TimeSeriesTable.open (best of 5, in process).

Two vacuums are measured, with tstable's history expiry (tstable vacuum
--retention / Python expire_history=True):
  1. "keep 7 days": the cutoff is the commit time of version head - 7, as a
     7-day retention would be on a table appended once a day (the appends
     here take seconds, so the cutoff is set from the log, not the clock);
  2. "keep the head only": retention 0 (explicitly allowed).
The run fails if a vacuumed table's answers (row count, coverage) change.

    python bench/vacuum.py                       # 1,000 days
    python bench/vacuum.py --tiny                # 60 days (scripts/test.sh)
    python bench/vacuum.py --out docs/benchmarks/vacuum.md
"""
import argparse
import datetime as dt
import json
import os
import random
import shutil
import subprocess
import sys
import tempfile
import time

import pyarrow as pa

import timeseries_table_format as ttf

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BIN = os.environ.get("TSTABLE_BIN", os.path.join(REPO, "build", "tstable"))
START = dt.datetime(2022, 1, 1, tzinfo=dt.timezone.utc)
ROWS_PER_DAY = 40


def day_rows(day, rng):
    minutes = sorted(rng.sample(range(1440), ROWS_PER_DAY))
    ts = [START + dt.timedelta(days=day, minutes=m) for m in minutes]
    return pa.table({"ts": pa.array(ts, pa.timestamp("us", "UTC")),
                     "symbol": ["SENSOR1"] * len(ts),
                     "v": pa.array([float(m) for m in minutes], pa.float64())})


def build(root, days):
    rng = random.Random(7)
    t = ttf.TimeSeriesTable.create(table_root=root, index_column="ts", index_type="timestamp",
                                   index_granularity="1m", entity_columns=["symbol"], protocol=7)
    t0 = time.perf_counter()
    for d in range(days):
        t.append(day_rows(d, rng))
        if sys.stderr.isatty() and d % 50 == 0:
            print(f"\r  appended {d}/{days}", end="", file=sys.stderr)
    if sys.stderr.isatty():
        print("", file=sys.stderr)
    return t, time.perf_counter() - t0


def folder(root, rel, match=None):
    path = os.path.join(root, rel)
    files = nbytes = 0
    for dirpath, _, names in os.walk(path):
        for n in names:
            if match and not match(n):
                continue
            files += 1
            nbytes += os.path.getsize(os.path.join(dirpath, n))
    return files, nbytes


def sizes(root):
    return {
        "_coverage/table": folder(root, "_coverage/table"),
        "_coverage/segments": folder(root, "_coverage/segments"),
        "data": folder(root, "data"),
        "checkpoints": folder(root, "_timeseries_log/_checkpoints"),
        "commit files": folder(root, "_timeseries_log", lambda n: n.endswith(".json")
                               and n[:10].isdigit()),
    }


def best(fn, runs=5):
    times = []
    for _ in range(runs):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return min(times)


def cli(*args):
    env = dict(os.environ)
    env.pop("TSTABLE_LOG", None)
    r = subprocess.run([BIN, *args], capture_output=True, text=True, env=env)
    if r.returncode != 0:
        sys.exit(f"tstable {' '.join(args)} failed: {r.stderr}")
    return r.stdout


def answers(root, days):
    end = (START + dt.timedelta(days=days)).strftime("%Y-%m-%dT%H:%M:%SZ")
    cov = json.loads(cli("coverage", "--table", root, "--start", "2022-01-01T00:00:00Z",
                         "--end", end, "--entity", "symbol=SENSOR1", "--format", "json"))
    info = json.loads(cli("info", "--table", root, "--format", "json"))
    return info["rows"], cov["covered_buckets"]


def timings(root, days):
    end = (START + dt.timedelta(days=days)).strftime("%Y-%m-%dT%H:%M:%SZ")
    return {
        "tstable info (s)": best(lambda: cli("info", "--table", root)),
        "tstable coverage (s)": best(lambda: cli("coverage", "--table", root, "--start",
                                                 "2022-01-01T00:00:00Z", "--end", end,
                                                 "--entity", "symbol=SENSOR1")),
        "open (s)": best(lambda: ttf.TimeSeriesTable.open(root)),
    }


def commit_time(root, version):
    """The commit's timestamp, to the microsecond below it (the log keeps nanoseconds)."""
    with open(os.path.join(root, "_timeseries_log", f"{version:010d}.json")) as f:
        text = json.load(f)["timestamp"].rstrip("Z")
    base, _, frac = text.partition(".")
    when = dt.datetime.fromisoformat(base).replace(tzinfo=dt.timezone.utc)
    return when + dt.timedelta(microseconds=int((frac + "000000")[:6]))


def measure(label, root, days, vacuum_seconds=None, report=None):
    row = {"state": label, "sizes": sizes(root), **timings(root, days)}
    row["vacuum (s)"] = vacuum_seconds
    row["deleted files"] = report.deleted_files if report else None
    row["retained versions"] = (f"{report.oldest_retained_version}..{report.table_version}"
                                if report else None)
    return row


def run(days, work):
    root = os.path.join(work, "daily")
    t, build_seconds = build(root, days)
    expected = answers(root, days)
    rows = [measure("before vacuum", root, days)]
    head = t.version()

    cutoff = commit_time(root, head - 7) + dt.timedelta(microseconds=1)
    t0 = time.perf_counter()
    r = t.vacuum(cutoff, apply=True, expire_history=True, allow_short_retention=True)
    seconds = time.perf_counter() - t0
    if answers(root, days) != expected:
        sys.exit("the answers changed after vacuum (keep 7 days)")
    rows.append(measure("after vacuum, keep 7 days", root, days, seconds, r))

    t0 = time.perf_counter()
    r = t.vacuum(dt.datetime.now(dt.timezone.utc), apply=True, expire_history=True,
                 allow_short_retention=True)
    seconds = time.perf_counter() - t0
    if answers(root, days) != expected:
        sys.exit("the answers changed after vacuum (head only)")
    rows.append(measure("after vacuum, head only", root, days, seconds, r))
    return rows, build_seconds, head, expected


def mib(n):
    return f"{n / (1024 * 1024):,.2f}"


def report(rows, days, build_seconds, head, expected, out):
    lines = [f"Table: {days} daily appends of {ROWS_PER_DAY} rows at random minutes, 1-minute "
             f"buckets, one entity; version {head}; {expected[0]:,} rows, {expected[1]:,} "
             f"covered buckets; built in {build_seconds:.1f} s.", ""]
    cols = ["_coverage/table", "_coverage/segments", "data", "checkpoints", "commit files"]
    lines.append("| state | " + " | ".join(f"{c} files / MiB" for c in cols) + " |")
    lines.append("|---" * (len(cols) + 1) + "|")
    for r in rows:
        cells = [f"{r['sizes'][c][0]:,} / {mib(r['sizes'][c][1])}" for c in cols]
        lines.append(f"| {r['state']} | " + " | ".join(cells) + " |")
    lines += ["", "| state | tstable info (s) | tstable coverage (s) | open (s) | vacuum (s) | "
              "deleted files | retained versions |", "|---|---|---|---|---|---|---|"]
    for r in rows:
        v = f"{r['vacuum (s)']:.3f}" if r["vacuum (s)"] is not None else ""
        lines.append(f"| {r['state']} | {r['tstable info (s)']:.4f} | "
                     f"{r['tstable coverage (s)']:.4f} | {r['open (s)']:.4f} | {v} | "
                     f"{r['deleted files'] if r['deleted files'] is not None else ''} | "
                     f"{r['retained versions'] or ''} |")
    text = "\n".join(lines) + "\n"
    print(text)
    if out:
        with open(out, "w") as f:
            f.write(text)


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--tiny", action="store_true", help="60 days: a smoke run")
    p.add_argument("--days", type=int, default=1000)
    p.add_argument("--out", help="write the result tables (Markdown) here")
    p.add_argument("--keep", action="store_true", help="keep the work folder")
    a = p.parse_args()
    days = 60 if a.tiny else a.days
    work = tempfile.mkdtemp(prefix="tst-bench-vacuum-")
    try:
        rows, build_seconds, head, expected = run(days, work)
        report(rows, days, build_seconds, head, expected, a.out)
    finally:
        if not a.keep:
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
