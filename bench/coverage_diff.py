"""Coverage diff and backfill planner on a table of 1,000 entities x 1 year of minutes.

The table is built honestly, through appends of generated Parquet files:
DuckDB writes one file per group of entities holding every minute of the
year for each, except holes (6-hour blocks missing with probability 1/20,
7-minute blocks with probability 1/500, decided by a hash of entity and
block, so ~230 holes per entity); each file is one `append` (its coverage
measured from the file, as any append does). That is version `base`. Then
one more append fills the 6-hour holes of every tenth entity (the refresh a
vendor sends): version `latest`. A second table, "vendor B", is a copy of
vendor A's folder at `base` (cp -r, as a mirror would hold it) plus one
append that fills every entity's 7-minute holes: every entity then differs
between the two tables, in both directions.

Timed (median of REPEAT runs after one warm-up, each in this process through
the Python API, and the CLI as a fresh process writing JSON to /dev/null):
  - diff base -> latest (the refresh set: the filled holes),
  - diff latest -> vendor B (reconciliation, every entity differs),
  - plan-backfill over the year, all entities, --max-request 7d,
  - the same with --merge-within 1h, and for one entity.

    python bench/coverage_diff.py                      # 1,000 entities x 365 days
    python bench/coverage_diff.py --tiny               # 12 entities x 3 days (CI smoke run)
    python bench/coverage_diff.py --out docs/benchmarks/coverage_diff.md
"""
import argparse
import datetime as dt
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

import duckdb
import timeseries_table_format as ttf

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
START = dt.datetime(2024, 1, 1, tzinfo=dt.timezone.utc)


BLOCK_MOD = 20  # a 6-hour block is missing with probability 1/BLOCK_MOD (--tiny: 1/3)


def hole_sql(seed: int) -> str:
    """True for a minute m of entity e that is missing."""
    return (f"(hash(e, m // 360, {seed}) % {BLOCK_MOD} = 0 "
            f"OR hash(e, m // 7, {seed + 1}) % 500 = 0)")


def write_group(con, path, first, last, minutes, where):
    con.execute(f"""
        COPY (
          SELECT TIMESTAMPTZ '2024-01-01 00:00:00+00' + to_minutes(m) AS ts,
                 printf('S%04d', e) AS symbol, (e * 7 + m % 13)::DOUBLE AS v
          FROM range({first}, {last}) r1(e), range({minutes}) r2(m)
          WHERE {where}
          ORDER BY e, m
        ) TO '{path}' (FORMAT parquet, ROW_GROUP_SIZE 1000000)""")


def build(root, con, work, entities, minutes, groups, seed, log):
    t = ttf.TimeSeriesTable.create(table_root=root, index_column="ts", index_type="timestamp",
                                   index_granularity="1m", entity_columns=["symbol"])
    step = (entities + groups - 1) // groups
    rows = 0
    for g, first in enumerate(range(0, entities, step)):
        path = os.path.join(work, f"{os.path.basename(root)}-{g}.parquet")
        t0 = time.perf_counter()
        write_group(con, path, first, min(entities, first + step), minutes,
                    f"NOT {hole_sql(seed)}")
        t1 = time.perf_counter()
        report = t.append_parquet(path)
        t2 = time.perf_counter()
        n = con.execute(f"SELECT count(*) FROM '{path}'").fetchone()[0]
        rows += n
        log(f"  {os.path.basename(root)} group {g}: {n:,} rows, generate {t1 - t0:.1f} s, "
            f"append {t2 - t1:.1f} s (version {int(report)})")
        os.remove(path)
    return t, rows


def timed(fn, repeat):
    fn()
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        out = fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times), out


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--tiny", action="store_true")
    ap.add_argument("--entities", type=int, default=1000)
    ap.add_argument("--days", type=int, default=365)
    ap.add_argument("--groups", type=int, default=40)  # 25 entities (13M rows) a file
    ap.add_argument("--repeat", type=int, default=5)
    ap.add_argument("--out")
    ap.add_argument("--work", help="folder for the tables (default: a temporary one)")
    ap.add_argument("--tstable", default=os.environ.get("TSTABLE_BIN",
                                                         os.path.join(REPO, "build", "tstable")))
    a = ap.parse_args()
    global BLOCK_MOD
    if a.tiny:
        a.entities, a.days, a.groups, a.repeat = 12, 3, 2, 2
        BLOCK_MOD = 3
    minutes = a.days * 1440
    work = a.work or tempfile.mkdtemp(prefix="tst-covdiff-")
    os.makedirs(work, exist_ok=True)
    con = duckdb.connect()
    con.execute("SET preserve_insertion_order = false")
    lines = []

    def log(s):
        print(s, flush=True)
        lines.append(s)

    t0 = time.perf_counter()
    root = os.path.join(work, "vendor_a")
    table, rows = build(root, con, work, a.entities, minutes, a.groups, 1, log)
    base = table.version()
    # The refresh: every tenth entity's 6-hour holes filled.
    root_b = os.path.join(work, "vendor_b")
    shutil.copytree(root, root_b)
    fill = os.path.join(work, "fill.parquet")
    write_group(con, fill, 0, a.entities, minutes,
                f"e % 10 = 0 AND hash(e, m // 360, 1) % {BLOCK_MOD} = 0")
    table.append_parquet(fill)
    fill_b = os.path.join(work, "fill_b.parquet")
    write_group(con, fill_b, 0, a.entities, minutes,
                f"hash(e, m // 7, 2) % 500 = 0 AND NOT hash(e, m // 360, 1) % {BLOCK_MOD} = 0")
    other = ttf.TimeSeriesTable.open(root_b)
    other.append_parquet(fill_b)
    rows_b = rows + con.execute(f"SELECT count(*) FROM '{fill_b}'").fetchone()[0]
    rows += con.execute(f"SELECT count(*) FROM '{fill}'").fetchone()[0]
    os.remove(fill)
    os.remove(fill_b)
    build_s = time.perf_counter() - t0
    log(f"  built both tables ({rows + rows_b:,} rows) in {build_s:.0f} s")

    end = START + dt.timedelta(days=a.days)
    first_sym = "S0000"
    cases = [
        ("diff base -> latest (refresh set)",
         lambda: table.coverage_diff(from_version=base),
         ["diff", "--table", root, "--from-version", str(base)]),
        ("diff vendor A -> vendor B (all entities)",
         lambda: table.coverage_diff(other=other),
         ["diff", "--table", root, "--other", other.root()]),
        ("plan-backfill, whole range, all entities, max 7d",
         lambda: table.plan_backfill(START, end, max_request="7d"),
         ["plan-backfill", "--table", root, "--start", START.strftime("%Y-%m-%d"),
          "--end", end.strftime("%Y-%m-%d"), "--max-request", "7d"]),
        ("plan-backfill, same, --merge-within 1h",
         lambda: table.plan_backfill(START, end, max_request="7d", merge_within="1h"),
         ["plan-backfill", "--table", root, "--start", START.strftime("%Y-%m-%d"),
          "--end", end.strftime("%Y-%m-%d"), "--max-request", "7d", "--merge-within", "1h"]),
        ("plan-backfill, whole range, one entity",
         lambda: table.plan_backfill(START, end, entities=[first_sym], max_request="7d"),
         ["plan-backfill", "--table", root, "--start", START.strftime("%Y-%m-%d"),
          "--end", end.strftime("%Y-%m-%d"), "--entity", first_sym, "--max-request", "7d"]),
    ]
    results = []
    for name, py, cli in cases:
        py_s, out = timed(py, a.repeat)

        def run_cli():
            subprocess.run([a.tstable, *cli, "--format", "json"], check=True,
                           stdout=subprocess.DEVNULL)
        cli_s, _ = timed(run_cli, a.repeat)
        results.append((name, out.num_rows, py_s, cli_s))
        log(f"  {name}: {out.num_rows:,} rows, Python {py_s * 1000:.1f} ms, "
            f"CLI {cli_s * 1000:.1f} ms")

    report = [
        "# Coverage diff and backfill planner",
        "",
        f"Table: {a.entities:,} entities x {a.days} days of 1-minute buckets "
        f"({rows:,} rows; a second table, vendor B, {rows_b:,} rows), built by "
        f"`bench/coverage_diff.py{' --tiny' if a.tiny else ''}` through {a.groups} appends "
        f"of generated Parquet, one refresh append, and for vendor B a copy of the folder "
        f"plus one append. Machine: "
        f"{platform.machine()}, {os.cpu_count()} cores (shared with other builds), "
        f"Python {platform.python_version()}. Median of {a.repeat} runs after a warm-up; "
        "Python = the method call in a warm process, pyarrow Table included; CLI = a fresh "
        "`tstable ... --format json > /dev/null` process (opening the table and loading the "
        "coverage snapshot included).",
        "",
        "| question | result rows | Python | CLI |",
        "|---|---:|---:|---:|",
    ]
    for name, n, py_s, cli_s in results:
        report.append(f"| {name} | {n:,} | {py_s * 1000:.1f} ms | {cli_s * 1000:.1f} ms |")
    report += ["", "Build log:", "", "```text", *lines, "```", ""]
    text = "\n".join(report)
    if a.out:
        with open(a.out, "w") as f:
            f.write(text)
    print(text)
    if not a.work:
        shutil.rmtree(work)


if __name__ == "__main__":
    sys.exit(main())
