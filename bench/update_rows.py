#!/usr/bin/env python3
"""update_rows.py — a keyed update of rows spread over a large table: ours against the
reference timeseries-table-format 0.9.0, side by side in one run.

    .venv/bin/python bench/update_rows.py [--rows N] [--updates K] [--segments S]
                                          [--repeat R] [--out FILE] [--tiny]

The workload (issue 11): a table of N rows (default 20,000,000: 100 symbols x one
row a minute, appended as S segments of N/S rows, each a time slice of every
symbol), and a Parquet file of K keys (default 100,000) drawn at random over the
whole table, each with a new `price`. Every segment holds some of the keys, so
both implementations must rewrite every segment: this is the expensive, spread
case, not the one-file case.

Both packages have the import name `timeseries_table_format`, so each step runs in a
process of its own, under the right interpreter: .venv (ours, pip-installed by
scripts/test.sh) and .deps/refvenv09 (the reference 0.9.0). The parent generates
the segment files and the update file once (pyarrow, deterministic). For each system
and repetition:

  1. a child builds a fresh protocol-7 table from the segment files (not timed);
  2. another child opens it, reads the update file (not timed), and times
     `update_rows(source, columns=["price"], expected_version=v)` alone, with
     time.perf_counter, and reports its peak RSS (getrusage; the child did nothing
     before but import, open and read the K-row source);
  3. a third child checks the answer with SQL: count(*), the sum of price, and the
     sum over the updated keys, which must equal the sums computed from the
     source file. A wrong answer stops the run.

Medians over R repetitions go into a Markdown report (docs/benchmarks/update.md by
default). Nothing about time is asserted anywhere.
"""
import argparse
import datetime
import json
import os
import platform
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
SYSTEMS = {
    "tstable": os.path.join(ROOT, ".venv", "bin", "python"),
    "reference 0.9.0": os.path.join(ROOT, ".deps", "refvenv09", "bin", "python"),
}
SYMBOLS = 100
BASE = datetime.datetime(2024, 1, 1, tzinfo=datetime.timezone.utc)
MARKER = "<!-- findings: text below this line is kept by bench/update_rows.py -->"


# ---- data (parent) ------------------------------------------------------------------------------

def make_segments(rows, segments, folder):
    """S Parquet files; file i holds minutes [i*M, (i+1)*M) of every symbol."""
    import numpy as np
    import pyarrow as pa
    import pyarrow.parquet as pq
    minutes = rows // SYMBOLS
    per = minutes // segments
    paths = []
    for i in range(segments):
        m = np.arange(i * per, (i + 1) * per, dtype=np.int64)
        ts = np.repeat(m, SYMBOLS) * 60_000_000 + int(BASE.timestamp()) * 1_000_000
        sym = np.tile(np.arange(SYMBOLS), per)
        price = (sym * 1000 + np.repeat(m, SYMBOLS) % 997).astype(np.float64)
        table = pa.table({
            "ts": pa.array(ts, pa.timestamp("us", tz="UTC")),
            "symbol": pa.array([f"S{s:03d}" for s in range(SYMBOLS)] * per, pa.string()),
            "price": pa.array(price, pa.float64()),
            "volume": pa.array(np.repeat(m, SYMBOLS) + sym, pa.int64()),
        })
        path = os.path.join(folder, f"segment_{i:03d}.parquet")
        pq.write_table(table, path)
        paths.append(path)
    return paths, per * segments * SYMBOLS


def make_updates(total_rows, updates, path, seed=7):
    """K distinct keys spread uniformly over the table, each with a new price."""
    import numpy as np
    import pyarrow as pa
    import pyarrow.parquet as pq
    rng = np.random.default_rng(seed)
    picks = np.sort(rng.choice(total_rows, size=updates, replace=False))
    minute, sym = picks // SYMBOLS, picks % SYMBOLS
    ts = minute * 60_000_000 + int(BASE.timestamp()) * 1_000_000
    new_price = -(picks.astype(np.float64) + 0.5)
    table = pa.table({
        "ts": pa.array(ts, pa.timestamp("us", tz="UTC")),
        "symbol": pa.array([f"S{s:03d}" for s in sym], pa.string()),
        "price": pa.array(new_price, pa.float64()),
    })
    pq.write_table(table, path)
    old_price = (sym * 1000 + minute % 997).astype(np.float64)
    return {"updated_sum": float(new_price.sum()), "old_sum": float(old_price.sum())}


def expected_total(rows, segments):
    """sum(price) over the untouched table."""
    import numpy as np
    minutes = (rows // SYMBOLS // segments) * segments
    m = np.arange(minutes, dtype=np.int64)
    return float(SYMBOLS * (m % 997).sum() + minutes * 1000 * np.arange(SYMBOLS).sum())


# ---- the children (run under each system's interpreter) -----------------------------------------

def child_build(args):
    import pyarrow.parquet as pq
    import timeseries_table_format as ttf
    kwargs = dict(table_root=args.table, index_column="ts", index_type="timestamp",
                  index_granularity="1m", entity_columns=["symbol"])
    if args.system == "tstable":
        kwargs["protocol"] = 7
    t = ttf.TimeSeriesTable.create(**kwargs)
    for path in args.segments_files:
        t.append(pq.read_table(path))
    print(json.dumps({"version": t.version()}))


def child_update(args):
    import pyarrow.parquet as pq
    import timeseries_table_format as ttf
    t = ttf.TimeSeriesTable.open(args.table)
    source = pq.read_table(args.source)
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    start = time.perf_counter()
    report = t.update_rows(source, columns=["price"], expected_version=t.version())
    seconds = time.perf_counter() - start
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    print(json.dumps({"seconds": seconds, "peak_rss_kib": peak, "rss_before_kib": before,
                      "rows_updated": report.rows_updated,
                      "segments_rewritten": report.segments_rewritten,
                      "committed_version": report.committed_version}))


def child_check(args):
    import timeseries_table_format as ttf
    s = ttf.Session()
    s.register_tstable("t", args.table)
    s.register_parquet("u", args.source)
    total = s.sql("SELECT count(*) AS n, sum(price) AS p FROM t").to_pylist()[0]
    updated = s.sql("SELECT sum(t.price) AS p FROM t JOIN u ON t.symbol = u.symbol "
                    "AND t.ts = u.ts").to_pylist()[0]
    print(json.dumps({"rows": int(total["n"]), "sum": float(total["p"]),
                      "updated_sum": float(updated["p"])}))


# ---- parent -------------------------------------------------------------------------------------

def run_child(system, step, **kw):
    cmd = [SYSTEMS[system], os.path.abspath(__file__), "--child", step, "--system", system]
    for key, value in kw.items():
        if isinstance(value, list):
            cmd += [f"--{key}", *value]
        else:
            cmd += [f"--{key}", str(value)]
    env = dict(os.environ)
    env.pop("PYTHONPATH", None)
    start = time.perf_counter()
    out = subprocess.run(cmd, capture_output=True, text=True, cwd="/", env=env)
    wall = time.perf_counter() - start
    if out.returncode != 0:
        sys.exit(f"{system} {step} failed (exit {out.returncode}):\n{out.stderr[-4000:]}")
    result = json.loads(out.stdout.strip().splitlines()[-1])
    result["process_seconds"] = wall
    return result


def close(a, b):
    return abs(a - b) <= 1e-9 * max(1.0, abs(a), abs(b))


def measure(system, work, segments, source, want, repeat):
    runs = []
    for r in range(repeat):
        table = os.path.join(work, f"{system.split()[0]}_{r}")
        run_child(system, "build", table=table, **{"segments-files": segments})
        res = run_child(system, "update", table=table, source=source)
        got = run_child(system, "check", table=table, source=source)
        if (got["rows"] != want["rows"] or not close(got["sum"], want["sum"]) or
                not close(got["updated_sum"], want["updated_sum"]) or
                res["rows_updated"] != want["updates"]):
            sys.exit(f"{system} gave a wrong answer: {got}, {res} (want {want})")
        runs.append(res)
        shutil.rmtree(table)
    return runs


def report(args, results, want):
    lines = [
        "# Keyed update: 100k rows spread over a 20M-row table" if not args.tiny else
        "# Keyed update (tiny smoke run)", "",
        f"Made by `bench/update_rows.py` on {datetime.date.today()} "
        f"({platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}): "
        f"a table of {want['rows']:,} rows ({SYMBOLS} symbols, one row a minute, "
        f"{args.segments} segments of {want['rows'] // args.segments:,} rows) and an update of "
        f"{want['updates']:,} keys (symbol, ts) drawn at random over the whole table, each "
        "with a new `price`; every segment holds some of the keys, so every segment is "
        f"rewritten. Medians of {args.repeat} run(s); each update in a fresh process on a "
        "fresh table. Peak RSS is the update process's own (import, open, the source, the "
        "update). Answers (row count, sum of price, sum over the updated keys) were checked "
        "after every run.", "",
        "| system | update_rows (s) | process (s) | peak RSS (MiB) | RSS before update (MiB) "
        "| segments rewritten |",
        "|---|---:|---:|---:|---:|---:|",
    ]
    for system, runs in results.items():
        med = lambda k: statistics.median(r[k] for r in runs)  # noqa: E731
        lines.append(f"| {system} | {med('seconds'):.2f} | {med('process_seconds'):.2f} | "
                     f"{med('peak_rss_kib') / 1024:.0f} | {med('rss_before_kib') / 1024:.0f} | "
                     f"{runs[0]['segments_rewritten']} |")
    if len(results) == 2:
        (a, ra), (b, rb) = results.items()
        ratio = statistics.median(r["seconds"] for r in rb) / \
            statistics.median(r["seconds"] for r in ra)
        lines += ["", f"{a} takes 1/{ratio:.2f} of the time {b} takes "
                      f"({ratio:.2f}x as fast)." if ratio >= 1 else
                  f"{a} takes {1 / ratio:.2f}x the time {b} takes."]
    kept = ""
    if os.path.exists(args.out):
        text = open(args.out).read()
        if MARKER in text:
            kept = text[text.index(MARKER) + len(MARKER):]
    with open(args.out, "w") as f:
        f.write("\n".join(lines) + "\n\n" + MARKER + kept.rstrip("\n") + "\n")
    print("\n".join(lines))


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--rows", type=int, default=20_000_000)
    p.add_argument("--updates", type=int, default=100_000)
    p.add_argument("--segments", type=int, default=20)
    p.add_argument("--repeat", type=int, default=1)
    p.add_argument("--out", default=os.path.join(ROOT, "docs", "benchmarks", "update.md"))
    p.add_argument("--tiny", action="store_true", help="20,000 rows, 500 updates, 4 segments")
    p.add_argument("--only", choices=sorted(SYSTEMS), action="append")
    p.add_argument("--child", choices=["build", "update", "check"])
    p.add_argument("--system")
    p.add_argument("--table")
    p.add_argument("--source")
    p.add_argument("--segments-files", dest="segments_files", nargs="*")
    args = p.parse_args()
    if args.child:
        {"build": child_build, "update": child_update, "check": child_check}[args.child](args)
        return
    if args.tiny:
        args.rows, args.updates, args.segments = 20_000, 500, 4
    work = tempfile.mkdtemp(prefix="tst_update_bench_")
    try:
        segments, rows = make_segments(args.rows, args.segments, work)
        source = os.path.join(work, "updates.parquet")
        sums = make_updates(rows, args.updates, source)
        total = expected_total(args.rows, args.segments)
        want = {"rows": rows, "updates": args.updates,
                "sum": total - sums["old_sum"] + sums["updated_sum"],
                "updated_sum": sums["updated_sum"]}
        results = {}
        for system in (args.only or list(SYSTEMS)):
            if not os.path.exists(SYSTEMS[system]):
                sys.exit(f"{system}: no interpreter at {SYSTEMS[system]} (scripts/deps.sh)")
            results[system] = measure(system, work, segments, source, want, args.repeat)
        report(args, results, want)
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
