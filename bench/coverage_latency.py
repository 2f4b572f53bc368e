#!/usr/bin/env python3
"""coverage_latency.py — how long a coverage answer takes (issue 14), per
process (the CLI) and in process (Python), for one or more builds side by side.

    .venv/bin/python bench/coverage_latency.py [--tiny] [--repeat K]
        [--build NAME=TSTABLE_BIN:PYTHON]... [--cache DIR] [--out FILE]

Two tables, built once and cached under --cache (default /tmp/tstable-covbench):

  big    10 years of 1-minute buckets (5.26 million) x 1,000 entities. A row
         per covered (entity, bucket) would be 5 billion rows, so each entity
         covers a 4-minute run every day at its own minute (3,653 runs per
         entity, 3.65 million runs in all: the run structure of a daily
         series), then 2 hours of every minute; 14.7 million rows written by
         DuckDB as one Parquet file per year and appended one year per
         commit (11 segments).
  small  the issue's table: 120 segments of 1-second buckets (5 entities x
         30 minutes each), one append each.

--tiny shrinks both (1 year x 20 entities; 12 segments) so the whole run takes
seconds; it is the CI smoke run.

Each build is a tstable binary and a Python with timeseries_table_format
installed (default: this worktree's build/tstable and .venv/bin/python). Per
process: the wall time of `tstable --version`, `coverage`, `gaps`, `info`,
`log`, `entities`, and `coverage` of the whole table (subprocess, K runs each, builds interleaved so load on the
machine hits them alike). In process: a child Python opens the table (not
timed), then times the first `coverage_ratio` call and K more calls of each of
`coverage_ratio`, `gaps`, `last_fully_covered_window`, `coverage` (one
entity; the range is the whole table). Medians with min and max; nothing is
asserted about time. Each answer's digest must agree between builds, or the
run fails.
"""
import argparse
import hashlib
import json
import os
import shutil
import statistics
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
MINUTE_US = 60_000_000

SCALES = {
    # years, entities, small-table segments
    "full": dict(years=10, entities=1000, segments=120),
    "tiny": dict(years=1, entities=20, segments=12),
}


def run(cmd, **kw):
    return subprocess.run(cmd, check=True, capture_output=True, text=True, **kw)


# ---- the tables ------------------------------------------------------------

def build_big(tstable, root, years, entities, work):
    """Daily 4-minute runs per entity for `years` years from 2015-01-01, and
    the last 2 hours dense; one Parquet file and one commit per year."""
    import duckdb
    run([tstable, "create", "--table", root, "--index-column", "ts", "--bucket", "1m",
         "--entity", "sym"])
    days = 365 * years + years // 4
    con = duckdb.connect()
    start = "TIMESTAMP '2015-01-01'"
    for y in range(years):
        d0, d1 = y * days // years, (y + 1) * days // years
        path = os.path.join(work, f"year{y}.parquet")
        tail = ""
        if y == years - 1:  # then 2 hours of every minute, every entity
            tail = f"""UNION ALL SELECT {start} + INTERVAL ({days} * 1440 + m) MINUTE,
                          'E' || lpad(e::VARCHAR, 4, '0'), 1.0
                       FROM range(120) t(m), range({entities}) u(e)"""
        con.execute(f"""COPY (
            SELECT {start} + INTERVAL (d * 1440 + (e * 7) % 1400 + k) MINUTE AS ts,
                   'E' || lpad(e::VARCHAR, 4, '0') AS sym, 1.0 AS v
            FROM range({d0}, {d1}) a(d), range({entities}) b(e), range(4) c(k)
            {tail}
            ORDER BY ts) TO '{path}' (FORMAT parquet, ROW_GROUP_SIZE 1000000)""")
        run([tstable, "append", "--table", root, "--parquet", path])
        os.remove(path)
    end_us = (days * 1440 + 120) * MINUTE_US
    return dict(start="2015-01-01T00:00:00Z", end=iso(end_us), entity="E0001")


def build_small(tstable, root, segments, work):
    """The issue's table: `segments` appends of 30 minutes of 1-second rows
    for 5 entities."""
    import duckdb
    run([tstable, "create", "--table", root, "--index-column", "ts", "--bucket", "1s",
         "--entity", "sym"])
    con = duckdb.connect()
    for s in range(segments):
        path = os.path.join(work, f"seg{s}.parquet")
        con.execute(f"""COPY (
            SELECT TIMESTAMP '2024-01-01' + INTERVAL ({s} * 1800 + i) SECOND AS ts,
                   'S' || e AS sym, 1.0 AS v
            FROM range(1800) a(i), range(5) b(e)
            WHERE NOT (e = 1 AND i % 600 < 5)  -- some gaps
            ORDER BY ts) TO '{path}' (FORMAT parquet)""")
        run([tstable, "append", "--table", root, "--parquet", path])
        os.remove(path)
    end_us = segments * 1800 * 1_000_000
    return dict(start="2024-01-01T00:00:00Z", end=iso_from(2024, end_us), entity="S1")


def iso(us_since_2015):
    return iso_from(2015, us_since_2015)


def iso_from(year, us):
    import datetime
    t = datetime.datetime(year, 1, 1, tzinfo=datetime.timezone.utc) + \
        datetime.timedelta(microseconds=us)
    return t.strftime("%Y-%m-%dT%H:%M:%SZ")


def cached_table(kind, scale, cache, tstable):
    p = SCALES[scale]
    key = f"{kind}-{p['years']}y-{p['entities']}e-{p['segments']}s-v2"
    root = os.path.join(cache, key)
    meta_path = root + ".json"
    if os.path.exists(meta_path):
        with open(meta_path) as f:
            return root, json.load(f)
    shutil.rmtree(root, ignore_errors=True)
    work = os.path.join(cache, "work")
    os.makedirs(work, exist_ok=True)
    t0 = time.perf_counter()
    if kind == "big":
        meta = build_big(tstable, root, p["years"], p["entities"], work)
    else:
        meta = build_small(tstable, root, p["segments"], work)
    meta["build_seconds"] = round(time.perf_counter() - t0, 1)
    with open(meta_path, "w") as f:
        json.dump(meta, f)
    return root, meta


# ---- per process -----------------------------------------------------------

def cli_commands(root, meta):
    rng = ["--start", meta["start"], "--end", meta["end"]]
    ent = ["--entity", f"sym={meta['entity']}"]
    return {
        "--version": ["--version"],
        "coverage": ["coverage", "--table", root] + rng + ent,
        "coverage (no --entity)": ["coverage", "--table", root] + rng,
        "gaps": ["gaps", "--table", root, "--start", meta["start"], "--end",
                 meta["end"]] + ent,
        "info": ["info", "--table", root],
        "log": ["log", "--table", root],
        "entities": ["entities", "--table", root, "--now", meta["end"]],
    }


def time_process(cmd):
    t0 = time.perf_counter()
    p = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    dt = time.perf_counter() - t0
    if p.returncode != 0:
        sys.exit(f"failed: {' '.join(cmd)}\n{p.stderr.decode()}")
    return dt, hashlib.sha256(p.stdout).hexdigest()[:12]


# ---- in process ------------------------------------------------------------

CHILD = r"""
import hashlib, json, sys, time, warnings
import timeseries_table_format as ttf
root, start, end, entity, repeat = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4], int(sys.argv[5])
t = ttf.TimeSeriesTable.open(root)
ent = {"sym": entity}
calls = {
    "coverage_ratio": lambda: t.coverage_ratio(start, end, ent),
    "gaps": lambda: t.gaps(start, end, ent),
    "last_fully_covered_window": lambda: t.last_fully_covered_window(end, 60, ent),
    "coverage": lambda: t.coverage(start, end, ent),
}
out = {}
t0 = time.perf_counter(); first = calls["coverage_ratio"](); out["first coverage_ratio"] = [time.perf_counter() - t0]
digests = {"first": repr(first)}
for name, f in calls.items():
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter(); ans = f(); times.append(time.perf_counter() - t0)
    out[name] = times
    digests[name] = hashlib.sha256(repr(ans).encode()).hexdigest()[:12]
print(json.dumps({"times": out, "digests": digests}))
"""


def in_process(python, root, meta, repeat):
    p = subprocess.run([python, "-c", CHILD, root, meta["start"], meta["end"], meta["entity"],
                        str(repeat)], capture_output=True, text=True)
    if p.returncode != 0:
        sys.exit(f"python child failed ({python}):\n{p.stderr}")
    return json.loads(p.stdout)


# ---- report ----------------------------------------------------------------

def fmt(xs):
    ms = [x * 1000 for x in xs]
    med = statistics.median(ms)
    prec = 3 if med < 1 else 1
    return f"{med:.{prec}f} ({min(ms):.{prec}f}–{max(ms):.{prec}f})", med


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--tiny", action="store_true")
    ap.add_argument("--repeat", type=int, default=0)
    ap.add_argument("--build", action="append", default=[],
                    help="NAME=TSTABLE_BIN:PYTHON (repeat for side by side)")
    ap.add_argument("--cache", default="/tmp/tstable-covbench")
    ap.add_argument("--out", default=None, help="write the Markdown table here")
    a = ap.parse_args()
    scale = "tiny" if a.tiny else "full"
    repeat = a.repeat or (3 if a.tiny else 21)
    builds = []
    for b in a.build or [f"this={ROOT}/build/tstable:{ROOT}/.venv/bin/python"]:
        name, rest = b.split("=", 1)
        binary, python = rest.split(":", 1)
        builds.append((name, os.path.abspath(binary), python))
    os.makedirs(a.cache, exist_ok=True)
    tables = {}
    for kind in ("big", "small"):
        tables[kind] = cached_table(kind, scale, a.cache, builds[-1][1])
        print(f"table {kind}: {tables[kind][0]} {tables[kind][1]}", file=sys.stderr)

    rows = []  # (table, what, {build: (text, median)})
    for kind, (root, meta) in tables.items():
        cmds = cli_commands(root, meta)
        for what, args in cmds.items():
            if kind == "small" and what == "--version":
                continue
            times = {n: [] for n, _, _ in builds}
            digests = {}
            for _ in range(repeat):
                for n, binary, _ in builds:  # interleaved
                    dt, d = time_process([binary] + args)
                    times[n].append(dt)
                    digests.setdefault(n, d)
            if what != "--version" and len(set(digests.values())) > 1:
                print(f"note: {kind} `{what}` output differs between builds: {digests}",
                      file=sys.stderr)
            rows.append((kind, f"process: tstable {what}", {n: fmt(t) for n, t in times.items()}))
        results = {n: in_process(py, root, meta, repeat) for n, _, py in builds}
        dig = {n: r["digests"] for n, r in results.items()}
        if len({json.dumps(d, sort_keys=True) for d in dig.values()}) > 1:
            sys.exit(f"in-process answers differ between builds on {kind}: {dig}")
        for call in results[builds[0][0]]["times"]:
            rows.append((kind, f"python: {call}",
                         {n: fmt(r["times"][call]) for n, r in results.items()}))

    names = [n for n, _, _ in builds]
    head = "| table | measurement | " + " | ".join(f"{n} ms median (min–max)" for n in names)
    if len(names) > 1:
        head += f" | {names[0]} / {names[-1]}"
    lines = [head + " |", "|" + "---|" * (2 + len(names) + (len(names) > 1))]
    for kind, what, res in rows:
        cells = [res[n][0] for n in names]
        if len(names) > 1:
            cells.append(f"{res[names[0]][1] / max(res[names[-1]][1], 1e-9):.0f}x")
        lines.append(f"| {kind} | {what} | " + " | ".join(cells) + " |")
    text = "\n".join(lines) + f"\n\n{repeat} runs each; scale {scale}; " \
        f"big: {tables['big'][1]}; small: {tables['small'][1]}\n"
    print(text)
    if a.out:
        with open(a.out, "w") as f:
            f.write(text)


if __name__ == "__main__":
    main()
