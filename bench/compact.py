"""Compaction: tables of 1,000 daily segments before and after `optimize(mode="compact")`.

One run builds two tables with one append a day of one-minute bars for a
trading session: "one series" (no entity columns: one instrument) and
"10 symbols" (entity column symbol; each day one file holding every symbol,
a mixed segment, as a daily export makes). For each: time a set of queries,
compact it (default options: 30-day windows, 128 MiB / 10,000,000-row
targets) in a child process of its own, and time the same queries again in
the same way. Before and after are this machine, this run, the same table.
Each query runs in a fresh Session once to warm the OS cache, then REPEAT
times; the median is reported. Every query must return the same rows
before and after (a difference stops the run).

    python bench/compact.py                 # 1,000 days x 390 minutes (x 10 symbols)
    python bench/compact.py --tiny          # 40 days x 24 minutes (x 3 symbols) (CI)
    python bench/compact.py --out docs/benchmarks/compact.md
    python bench/compact.py --baseline-python /old/venv/bin/python --baseline-label "main"

With --baseline-python, a copy of each table, taken before compaction, is
also compacted by that interpreter's timeseries_table_format (another
build, e.g. the code before a change), in the same run, right before this
build compacts the original: both numbers come from the same machine state.
"""
import argparse
import datetime as dt
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
START = dt.datetime(2021, 1, 4, 14, 30, tzinfo=dt.timezone.utc)

# Runs in the child: argv = [root]; prints one JSON line with the report,
# the call's time and the child's peak RSS before and after the call.
CHILD = r"""
import json, sys, time
import timeseries_table_format as ttf

def vmhwm():
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmHWM:"):
                return int(line.split()[1])

t = ttf.TimeSeriesTable.open(sys.argv[1])
before = vmhwm()
t0 = time.perf_counter()
r = t.optimize(mode="compact")
seconds = time.perf_counter() - t0
print(json.dumps({"seconds": seconds, "rss_before_kib": before, "rss_peak_kib": vmhwm(),
                  "report": r.to_dict()}))
"""


def queries(days, symbols):
    """(name, SQL) pairs; the times are quoted as SQL literals. symbols 0: one series."""
    mid = START + dt.timedelta(days=days // 2)
    day = mid.strftime("%Y-%m-%d")
    nxt = (mid + dt.timedelta(days=1)).strftime("%Y-%m-%d")
    week = (mid + dt.timedelta(days=7)).strftime("%Y-%m-%d")
    month = (mid + dt.timedelta(days=30)).strftime("%Y-%m-%d")
    if symbols == 0:
        return [
            ("whole table: count, avg", "SELECT count(*) AS n, round(avg(close), 6) AS a FROM t"),
            ("one day", f"SELECT count(*) AS n, round(sum(close), 6) AS s FROM t "
                        f"WHERE ts >= '{day}' AND ts < '{nxt}'"),
            ("one week", f"SELECT count(*) AS n, round(avg(close), 6) AS a FROM t "
                         f"WHERE ts >= '{day}' AND ts < '{week}'"),
            ("30 days", f"SELECT count(*) AS n, round(max(close), 6) AS m FROM t "
                        f"WHERE ts >= '{day}' AND ts < '{month}'"),
        ]
    s = f"S{symbols // 2}"
    return [
        ("whole table: count, avg", "SELECT count(*) AS n, round(avg(close), 6) AS a FROM t"),
        ("one day, every symbol",
         f"SELECT symbol, count(*) AS n, round(sum(close), 6) AS s FROM t "
         f"WHERE ts >= '{day}' AND ts < '{nxt}' GROUP BY symbol ORDER BY symbol"),
        ("one symbol, one week",
         f"SELECT count(*) AS n, round(avg(close), 6) AS a FROM t "
         f"WHERE symbol = '{s}' AND ts >= '{day}' AND ts < '{week}'"),
        ("one symbol, whole history",
         f"SELECT count(*) AS n, round(max(close), 6) AS m FROM t WHERE symbol = '{s}'"),
    ]


def build(root, days, symbols, minutes):
    import pyarrow as pa
    import timeseries_table_format as ttf
    t = ttf.TimeSeriesTable.create(table_root=root, index_column="ts", index_type="timestamp",
                                   index_granularity="1m",
                                   entity_columns=["symbol"] if symbols else [])
    t0 = time.perf_counter()
    for d in range(days):
        base = int((START + dt.timedelta(days=d)).timestamp()) * 1_000_000
        ts = [base + m * 60_000_000 for m in range(minutes) for _ in range(max(symbols, 1))]
        close = [100.0 + (d * 7 + i) % 1000 / 10.0 for i in range(len(ts))]
        cols = {"ts": pa.array(ts, pa.timestamp("us", tz="UTC")), "close": close,
                "volume": pa.array(range(len(ts)), pa.int64())}
        if symbols:
            cols["symbol"] = [f"S{k}" for _ in range(minutes) for k in range(symbols)]
        t.append(pa.table(cols))
        if sys.stderr.isatty() and d % 50 == 49:
            print(f"  appended {d + 1}/{days} days", file=sys.stderr)
    return time.perf_counter() - t0


def files_on_disk(root):
    n = 0
    for _, _, names in os.walk(os.path.join(root, "data")):
        n += sum(name.endswith(".parquet") for name in names)
    return n


def table_state(root):
    import timeseries_table_format as ttf
    t = ttf.TimeSeriesTable.open(root)
    return {"version": t.version(), "files": files_on_disk(root)}


def time_queries(root, qs, repeat):
    import timeseries_table_format as ttf
    out = []
    for name, sql in qs:
        s = ttf.Session()
        s.register_tstable("t", root)
        rows = s.sql(sql).to_pylist()  # warm-up, and the answer
        times = []
        for _ in range(repeat):
            t0 = time.perf_counter()
            s.sql(sql)
            times.append(time.perf_counter() - t0)
        out.append({"name": name, "sql": sql, "rows": rows, "seconds": statistics.median(times)})
    return out


def compact(root, python=None):
    r = subprocess.run([python or sys.executable, "-c", CHILD, root], capture_output=True,
                       text=True)
    if r.returncode != 0:
        sys.exit(f"compaction failed:\n{r.stderr}")
    return json.loads(r.stdout.strip().splitlines()[-1])


def commit_of():
    try:
        return subprocess.run(["git", "-C", REPO, "rev-parse", "--short", "HEAD"],
                              capture_output=True, text=True).stdout.strip() or "unknown"
    except OSError:
        return "unknown"


def one_table(args, symbols, work):
    """Builds, measures, compacts and measures again one table; its results."""
    name = "series" if symbols == 0 else "symbols"
    root = os.path.join(work, name)
    shutil.rmtree(root, ignore_errors=True)
    build_s = build(root, args.days, symbols, args.minutes)
    qs = queries(args.days, symbols)
    before = table_state(root)
    q_before = time_queries(root, qs, args.repeat)
    baseline = None
    if args.baseline_python:
        copy = root + "-baseline"
        shutil.rmtree(copy, ignore_errors=True)
        shutil.copytree(root, copy)
        baseline = compact(copy, args.baseline_python)
        if baseline["report"]["rows_written"] != rows_of(args, symbols):
            sys.exit(f"the baseline compaction of {name} wrote {baseline['report']}")
        shutil.rmtree(copy, ignore_errors=True)
    c = compact(root)
    after = table_state(root)
    q_after = time_queries(root, qs, args.repeat)
    for b, a in zip(q_before, q_after):
        if b["rows"] != a["rows"]:
            sys.exit(f"{name}, {b['name']}: {b['rows']} before, {a['rows']} after")
    if c["report"]["no_op"] or after["version"] != before["version"] + 1:
        sys.exit(f"compaction of {name} did not commit: {c['report']}")
    return {"symbols": symbols, "build_s": build_s, "before": before, "after": after,
            "q_before": q_before, "q_after": q_after, "c": c, "baseline": baseline}


def rows_of(args, symbols):
    return args.days * max(symbols, 1) * args.minutes


def section(args, t):
    rep, c, symbols = t["c"]["report"], t["c"], t["symbols"]
    rows = rows_of(args, symbols)
    title = ("one series (no entity columns)" if symbols == 0 else
             f"{symbols} symbols, one mixed file a day")
    what = ("one instrument's bars, no entity columns" if symbols == 0 else
            f"{symbols} symbols' bars in each day's file (entity column `symbol`): a mixed "
            "segment a day, which compaction also splits per symbol")
    lines = [
        f"## {title}",
        "",
        f"- {args.days:,} daily appends of {what}; {rows:,} rows; built in "
        f"{t['build_s']:.1f} s.",
        "",
        "| | live segments | Parquet files on disk | data bytes (live) |",
        "|---|---|---|---|",
        f"| before | {rep['segments_before']:,} | {t['before']['files']:,} | "
        f"{rep['bytes_read']:,} |",
        f"| after | {rep['segments_after']:,} | {t['after']['files']:,} | "
        f"{rep['bytes_written']:,} |",
        "",
        f"Compaction took {c['seconds']:.1f} s: {rep['source_segments_replaced']:,} segments "
        f"read, {rep['replacement_segments_written']:,} written, {rep['rows_written']:,} rows, "
        f"one commit (version {rep['starting_version']} -> {rep['committed_version']}); peak "
        f"RSS of the compacting process {c['rss_peak_kib'] / 1024:.0f} MiB "
        f"({c['rss_before_kib'] / 1024:.0f} MiB before the call).",
        "",
    ]
    b = t["baseline"]
    if b:
        lines += [
            f"The same table (a copy taken before compaction), compacted in this run by "
            f"{args.baseline_label}: {b['seconds']:.1f} s, "
            f"{b['report']['replacement_segments_written']:,} written; peak RSS {b['rss_peak_kib'] / 1024:.0f} MiB "
            f"({b['rss_before_kib'] / 1024:.0f} MiB before the call).",
            "",
        ]
    lines += [
        "| query (median seconds) | before | after | speed-up |",
        "|---|---|---|---|",
    ]
    for b, a in zip(t["q_before"], t["q_after"]):
        lines.append(f"| {b['name']} | {b['seconds']:.3f} | {a['seconds']:.3f} | "
                     f"{b['seconds'] / a['seconds']:.1f}x |")
    lines += ["", "The queries:", ""]
    lines += [f"- {q['name']}: `{q['sql']}`" for q in t["q_before"]]
    return lines + [""]


def report(args, tables, out):
    lines = [
        "# Compaction: 1,000 daily segments before and after",
        "",
        f"Generated by `python bench/compact.py{' --tiny' if args.tiny else ''}"
        f"{' --baseline-python ...' if args.baseline_python else ''} --out ...` on "
        f"{dt.date.today()} (commit `{commit_of()}`). Before and after are measured in this one "
        "run, on this machine (2 cores, shared with other builds), on the same tables. Nothing "
        "is asserted but that every query returns the same rows before and after.",
        "",
        "## Procedure",
        "",
        f"- Two tables, each built by {args.days:,} daily appends (pyarrow tables through "
        f"`append`) of {args.minutes} one-minute bars a day (`ts` timestamp[us, UTC], "
        "`close`, `volume`; index granularity 1 minute).",
        "- Compaction: `optimize(mode=\"compact\")` with the defaults (30-day windows, "
        "128 MiB / 10,000,000-row targets), in a child process of its own: time = the call; "
        "peak RSS = the child's `VmHWM` after the call, next to its `VmHWM` just before "
        "(package imported, table opened).",
        f"- Queries: `Session.sql` (DuckDB), each in a fresh session, run once to warm up, then "
        f"{args.repeat} times; the median.",
        "- \"Files on disk\" after counts the replaced files too: they stay, unreferenced, "
        "until a vacuum removes them; readers open only the live segments.",
    ]
    if args.baseline_python:
        lines.append(f"- Baseline: a copy of each table, taken before compaction, compacted by "
                     f"{args.baseline_label} in a child process of its own, measured the same "
                     "way, right before this build compacts the original.")
    lines.append("")
    for t in tables:
        lines += section(args, t)
    text = "\n".join(lines)
    if out:
        with open(out, "w") as f:
            f.write(text)
    print(text)


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--tiny", action="store_true", help="40 days x 3 symbols x 24 minutes")
    p.add_argument("--days", type=int, default=1000)
    p.add_argument("--symbols", type=int, default=10)
    p.add_argument("--minutes", type=int, default=390)
    p.add_argument("--repeat", type=int, default=7)
    p.add_argument("--out", help="write the result (Markdown) here")
    p.add_argument("--work", help="scratch folder (default: a temporary one)")
    p.add_argument("--baseline-python", help="also compact a copy of each table with this "
                   "interpreter's timeseries_table_format (another build)")
    p.add_argument("--baseline-label", default="the baseline build",
                   help="how the report names the baseline build")
    args = p.parse_args()
    if args.tiny:
        args.days, args.symbols, args.minutes, args.repeat = 40, 3, 24, 1
    work = args.work or tempfile.mkdtemp(prefix="tstable-compact-bench-")
    try:
        tables = [one_table(args, 0, work), one_table(args, args.symbols, work)]
        report(args, tables, args.out)
    finally:
        if not args.work:
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
