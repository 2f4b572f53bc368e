#!/usr/bin/env python3
"""daily_append.py — what a daily append costs per process at any table age
(issue 14), for one or more builds side by side, against DuckDB's INSERT of
the same file into a DuckDB table holding the same rows.

    .venv/bin/python bench/daily_append.py [--tiny] [--days K]
        [--build NAME=TSTABLE_BIN]... [--duckdb-runner BIN] [--cache DIR]

The tables are bench/coverage_latency.py's (built by that script and cached
under --cache, default /tmp/tstable-covbench; this script builds them through
it if they are missing):

  big    10 years of 1-minute buckets x 1,000 entities (3.65 million runs).
         A day's file: every entity, 40 minutes at its own minute of the
         next day (40,000 rows).
  small  120 segments of 1-second buckets x 5 entities. A day's file: the
         next 2 hours of 1-second rows for the 5 entities (36,000 rows).

For each table and build: a copy of the cached table, then K appends of K
successive days (one `tstable append` process each, wall time), then a
re-append of the last day, which overlaps and must be rejected (exit code
non-zero; its wall time is the rejection). DuckDB: a database file with one
table holding the tstable table's rows (loaded once, not timed), then K
`duckdb_runner DB "INSERT INTO t SELECT * FROM read_parquet(day)"`
processes. Builds and DuckDB are interleaved day by day so machine load hits
them alike. Wall time and CPU time (user + system of the process, from
getrusage: steadier on a shared machine) are both reported. Medians with min and max; nothing is asserted about time. Every
build's table must end with the same coverage (`tstable coverage` of the
whole table, digest compared), or the run fails. Last, --coverage-runs
processes per build of `tstable coverage` of the whole cached table (no
--entity: the union of every entity), interleaved.
"""
import argparse
import hashlib
import os
import resource
import shutil
import statistics
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
sys.path.insert(0, HERE)
import coverage_latency as cl  # noqa: E402


def run(cmd, check=True):
    return subprocess.run(cmd, check=check, capture_output=True, text=True)


def cpu_ms():
    r = resource.getrusage(resource.RUSAGE_CHILDREN)
    return (r.ru_utime + r.ru_stime) * 1e3


CPU = {}  # cmd[0] + kind -> CPU ms of each run (user + system, the child's own)


def timed(cmd, key=None):
    c0, t0 = cpu_ms(), time.perf_counter()
    p = subprocess.run(cmd, capture_output=True, text=True)
    wall = (time.perf_counter() - t0) * 1e3
    if key:
        CPU.setdefault(key, []).append(cpu_ms() - c0)
    return wall, p


def day_files(con, kind, scale, days, out):
    """The K daily files of a table, after its cached end."""
    paths = []
    for d in range(days):
        path = os.path.join(out, f"{kind}-day{d}.parquet")
        if kind == "big":
            base = 365 * scale["years"] + scale["years"] // 4 + 1 + d  # the day after the dense tail
            sql = f"""SELECT TIMESTAMP '2015-01-01' + INTERVAL ({base} * 1440 + (e * 7) % 1400 + k)
                             MINUTE AS ts, 'E' || lpad(e::VARCHAR, 4, '0') AS sym, 1.0 AS v
                      FROM range({scale['entities']}) b(e), range(40) c(k)"""
        else:
            s0 = scale["segments"] * 1800 + d * 7200
            sql = f"""SELECT TIMESTAMP '2024-01-01' + INTERVAL ({s0} + i) SECOND AS ts,
                             'S' || e AS sym, 1.0 AS v
                      FROM range(7200) a(i), range(5) b(e)"""
        con.execute(f"COPY ({sql} ORDER BY ts) TO '{path}' (FORMAT parquet)")
        paths.append(path)
    return paths


def stats(xs):
    return f"{statistics.median(xs):8.1f} ({min(xs):.1f}-{max(xs):.1f})"


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--tiny", action="store_true")
    ap.add_argument("--days", type=int, default=5)
    ap.add_argument("--build", action="append", default=[])
    ap.add_argument("--duckdb-runner", default=os.path.join(ROOT, "build", "duckdb_runner"))
    ap.add_argument("--cache", default="/tmp/tstable-covbench")
    ap.add_argument("--tables", default="big,small")
    ap.add_argument("--coverage-runs", type=int, default=11,
                    help="runs of `tstable coverage` of the whole cached table per build")
    a = ap.parse_args()
    import duckdb

    builds = [b.split("=", 1) for b in a.build] or [["this", os.path.join(ROOT, "build", "tstable")]]
    scale_name = "tiny" if a.tiny else "full"
    scale = cl.SCALES[scale_name]
    work = os.path.join(a.cache, f"daily-{os.getpid()}")
    os.makedirs(work)
    con = duckdb.connect()
    try:
        for kind in a.tables.split(","):
            os.makedirs(a.cache, exist_ok=True)
            src, _ = cl.cached_table(kind, scale_name, a.cache, builds[-1][1])
            files = day_files(con, kind, scale, a.days, work)
            tables = {}
            for name, _ in builds:
                tables[name] = os.path.join(work, f"{kind}-{name}")
                shutil.copytree(src, tables[name])
            db = os.path.join(work, f"{kind}.duckdb")
            run([a.duckdb_runner, db, "CREATE TABLE t AS SELECT * FROM read_parquet('"
                 + os.path.join(src, "data") + "/**/*.parquet')"])
            rows = con.execute(f"SELECT count(*) FROM '{files[0]}'").fetchone()[0]
            times = {name: [] for name, _ in builds}
            times["duckdb INSERT"] = []
            for f in files:
                for name, binary in builds:
                    ms, p = timed([binary, "append", "--table", tables[name], "--parquet", f],
                                  (kind, name))
                    if p.returncode != 0:
                        sys.exit(f"{name}: append failed: {p.stderr}")
                    times[name].append(ms)
                ms, p = timed([a.duckdb_runner, db,
                               f"INSERT INTO t SELECT * FROM read_parquet('{f}')"],
                              (kind, "duckdb INSERT"))
                if p.returncode != 0:
                    sys.exit(f"duckdb: {p.stderr}")
                times["duckdb INSERT"].append(ms)
            reject = {name: [] for name, _ in builds}
            for _ in range(3):
                for name, binary in builds:
                    ms, p = timed([binary, "append", "--table", tables[name], "--parquet", files[-1]],
                                  (kind, "reject " + name))
                    if p.returncode == 0:
                        sys.exit(f"{name}: the re-append was not rejected")
                    reject[name].append(ms)
            cov_wall = {name: [] for name, _ in builds}
            for _ in range(a.coverage_runs):  # the whole table's coverage, no --entity
                for name, binary in builds:
                    ms, p = timed([binary, "coverage", "--table", src], (kind, "coverage " + name))
                    if p.returncode != 0:
                        sys.exit(f"{name}: coverage failed: {p.stderr}")
                    cov_wall[name].append(ms)
            digests = set()
            for name, binary in builds:
                out = run([binary, "coverage", "--table", tables[name]]).stdout
                digests.add(hashlib.sha256(out.encode()).hexdigest())
            if len(digests) != 1:
                sys.exit(f"{kind}: the builds' tables disagree on coverage")
            duck = statistics.median(times["duckdb INSERT"])
            duck_cpu = statistics.median(CPU[(kind, "duckdb INSERT")])
            print(f"\n{kind} table, {a.days} daily appends of {rows} rows "
                  "(ms per process, median (min-max); wall, then CPU = user + system):")
            for name in times:
                m, c = statistics.median(times[name]), CPU[(kind, name)]
                print(f"  append {name:14s} wall {stats(times[name])} {m / duck:4.2f}x duckdb"
                      f" | cpu {stats(c)} {statistics.median(c) / duck_cpu:4.2f}x duckdb")
            for name in reject:
                print(f"  rejected re-append {name:8s} wall {stats(reject[name])}"
                      f" | cpu {stats(CPU[(kind, 'reject ' + name)])}")
            for name in cov_wall if a.coverage_runs else []:
                print(f"  coverage (no --entity) {name:8s} wall {stats(cov_wall[name])}"
                      f" | cpu {stats(CPU[(kind, 'coverage ' + name)])}")
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
