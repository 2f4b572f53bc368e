"""Keyed updates: tstable against the reference 0.9.0, side by side in one run.

Each system builds its own table of ROWS rows (SYMBOLS symbols, one row a
minute each; appended as FILES Parquet files of equal size, so each file is
one mixed segment), then updates UPDATES rows spread uniformly at random
over the whole table (seeded, the same keys for both): every segment holds
some of them, so every segment is rewritten. Each update runs in a fresh
child process of its own interpreter (.venv for tstable, .deps/refvenv09 for
the reference): the time is the update_rows call alone, the peak RSS the
child's own high-water mark (VmHWM), next to the same child's peak before
the call (package imported, table opened, source read). After the update,
each system's SQL must see every updated value (a wrong answer stops the
run).

    python bench/update.py                 # 20,000,000 rows, 100,000 updates
    python bench/update.py --tiny          # 200,000 rows, 1,000 updates (CI)
    python bench/update.py --out docs/benchmarks/update.md
"""
import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SYSTEMS = {
    "tstable": os.environ.get("TSTABLE_PYTHON", os.path.join(REPO, ".venv", "bin", "python")),
    "reference 0.9.0": os.environ.get("TSTABLE_REFERENCE09_PYTHON",
                                      os.path.join(REPO, ".deps", "refvenv09", "bin", "python")),
}
SYMBOLS = 100

# Runs in the child: argv = [op, root, ...]; prints one JSON line.
CHILD = r"""
import json, os, sys, time
import pyarrow.parquet as pq
import timeseries_table_format as ttf

def vmhwm():
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmHWM:"):
                return int(line.split()[1])

op, root = sys.argv[1], sys.argv[2]
if op == "build":
    kw = {"protocol": 7} if os.environ.get("TST_OURS") else {}
    t = ttf.TimeSeriesTable.create(table_root=root, index_column="ts", index_type="timestamp",
                                   index_granularity="1m", entity_columns=["symbol"], **kw)
    t0 = time.perf_counter()
    for path in sys.argv[3:]:
        t.append(pq.read_table(path))
    print(json.dumps({"seconds": time.perf_counter() - t0, "version": t.version()}))
elif op == "update":
    t = ttf.TimeSeriesTable.open(root)
    source = pq.read_table(sys.argv[3])
    before = vmhwm()
    t0 = time.perf_counter()
    r = t.update_rows(source, columns=["v"], expected_version=t.version())
    seconds = time.perf_counter() - t0
    print(json.dumps({"seconds": seconds, "peak_kib": vmhwm(), "before_kib": before,
                      "rows_updated": r.rows_updated, "segments_rewritten": r.segments_rewritten,
                      "replacement_file_bytes": r.replacement_file_bytes}))
elif op == "check":
    s = ttf.Session()
    s.register_tstable("t", root)
    n = s.sql("SELECT count(*) AS n, count(*) FILTER (WHERE v < 0) AS u, "
              "sum(v) FILTER (WHERE v < 0) AS s FROM t").to_pylist()[0]
    print(json.dumps({k: (float(v) if k == "s" else int(v)) for k, v in n.items()}))
"""


def make_files(dir, rows, files):
    """FILES Parquet files of (symbol, ts, v): row i is symbol S<i % 100> at
    minute i // 100; v = i (non-negative)."""
    import duckdb
    con = duckdb.connect()
    per = rows // files
    paths = []
    for f in range(files):
        path = os.path.join(dir, f"part{f:03d}.parquet")
        con.execute(f"COPY (SELECT 'S' || (i % {SYMBOLS}) AS symbol, TIMESTAMP '2020-01-01' + "
                    f"to_minutes(CAST(i // {SYMBOLS} AS BIGINT)) AS ts, CAST(i AS DOUBLE) AS v "
                    f"FROM range({f * per}, {(f + 1) * per}) t(i)) TO '{path}' (FORMAT parquet)")
        paths.append(path)
    return paths


def make_updates(dir, rows, updates, seed=7):
    """UPDATES distinct row numbers chosen uniformly; v = -(i + 1)."""
    import duckdb
    path = os.path.join(dir, "updates.parquet")
    con = duckdb.connect()
    con.execute(f"SELECT setseed({seed / 100})")
    con.execute(f"COPY (SELECT 'S' || (i % {SYMBOLS}) AS symbol, TIMESTAMP '2020-01-01' + "
                f"to_minutes(CAST(i // {SYMBOLS} AS BIGINT)) AS ts, -CAST(i + 1 AS DOUBLE) AS v "
                f"FROM (SELECT DISTINCT CAST(floor(random() * {rows}) AS BIGINT) AS i "
                f"FROM range({updates * 2})) ORDER BY random() LIMIT {updates}) "
                f"TO '{path}' (FORMAT parquet)")
    n, s = con.execute(f"SELECT count(*), sum(v) FROM '{path}'").fetchone()
    return path, n, s


def child(python, *args, ours=False):
    env = dict(os.environ, TST_OURS="1") if ours else dict(os.environ)
    env.pop("TST_OURS", None) if not ours else None
    r = subprocess.run([python, "-c", CHILD, *args], capture_output=True, text=True, env=env,
                       cwd=tempfile.gettempdir())
    if r.returncode != 0:
        sys.exit(f"{python} {args[0]} failed:\n{r.stderr}")
    return json.loads(r.stdout.strip().splitlines()[-1])


def run(rows, updates, files, work):
    data = os.path.join(work, "data")
    os.makedirs(data, exist_ok=True)
    paths = make_files(data, rows, files)
    upd, n, total = make_updates(data, rows, updates)
    results = {}
    for name, python in SYSTEMS.items():
        if not os.path.exists(python):
            sys.exit(f"{name}: no interpreter at {python}")
        root = os.path.join(work, name.replace(" ", "_"))
        ours = name == "tstable"
        built = child(python, "build", root, *paths, ours=ours)
        res = child(python, "update", root, upd, ours=ours)
        check = child(python, "check", root, ours=ours)
        if (check["n"], check["u"]) != (rows, n) or abs(check["s"] - total) > 1e-6 * abs(total):
            sys.exit(f"{name}: wrong answer after the update: {check}, want {rows} rows, "
                     f"{n} updated summing to {total}")
        res["build_seconds"] = built["seconds"]
        results[name] = res
        print(f"{name}: {json.dumps(res)}", flush=True)
        shutil.rmtree(root)
    return results, n


def report(results, rows, updates, files, out):
    lines = [f"rows: {rows:,} in {files} segments ({SYMBOLS} symbols, one row a minute); "
             f"{updates:,} rows updated, spread at random over every segment", "",
             "| system | update (s) | peak RSS (MiB) | RSS before the call (MiB) | segments "
             "rewritten | bytes written | table build (s) |", "|---|---|---|---|---|---|---|"]
    for name, r in results.items():
        lines.append(f"| {name} | {r['seconds']:.2f} | {r['peak_kib'] / 1024:.0f} | "
                     f"{r['before_kib'] / 1024:.0f} | {r['segments_rewritten']} | "
                     f"{r['replacement_file_bytes']:,} | {r['build_seconds']:.1f} |")
    text = "\n".join(lines) + "\n"
    print(text)
    if out:
        with open(out, "w") as f:
            f.write(text)


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--tiny", action="store_true", help="200,000 rows, 1,000 updates")
    p.add_argument("--rows", type=int, default=20_000_000)
    p.add_argument("--updates", type=int, default=100_000)
    p.add_argument("--files", type=int, default=20)
    p.add_argument("--out", help="write the result table (Markdown) here")
    p.add_argument("--work", help="scratch folder (default: a temporary one)")
    a = p.parse_args()
    rows, updates, files = (200_000, 1_000, 4) if a.tiny else (a.rows, a.updates, a.files)
    work = a.work or tempfile.mkdtemp(prefix="tst-update-bench-")
    try:
        results, n = run(rows, updates, files, work)
    finally:
        if not a.work:
            shutil.rmtree(work, ignore_errors=True)
    report(results, rows, n, files, a.out)


if __name__ == "__main__":
    main()
