#!/usr/bin/env python3
"""cross_report.py — docs/benchmarks/README.md and results.png from the
results.csv of bench/cross_bench.py. Started by bench/run.sh; the text after
the "findings" marker of an existing README.md is kept."""
import argparse
import csv
import os
import platform
import statistics
import subprocess
import time

OPS = [
    ("bulk", "Bulk ingest of the month (one file, into a fresh table)"),
    ("daily", "Daily append (90 files, one per day, each into the table built so far)"),
    ("Q1", "Q1 — SELECT * over the 7-day window (rows consumed, not printed)"),
    ("Q2", "Q2 — COUNT(*), SUM(trip_miles) over the window"),
    ("Q3", "Q3 — COUNT(*), SUM(base_passenger_fare) over the window, trip_miles > 2.0"),
    ("Q4", 'Q4 — COUNT(*) GROUP BY "PULocationID" over the window'),
    ("Q5", "Q5 — COUNT(*) per hour (date_trunc('hour', pickup_datetime)) over the window, ORDER BY hour"),
    ("Q6", "Q6 — COUNT(*) per hour bin (date_bin(INTERVAL '1 hour', pickup_datetime), DataFusion's; "
     "DuckDB: time_bucket, PostgreSQL: date_bin with an origin, ClickHouse: toStartOfInterval) over the window"),
    ("cov_frac", "Coverage — what fraction of the month's hours have data"),
    ("cov_gaps", "Coverage — list the missing hours of the month"),
    ("py_bulk", "Python API, in memory — the month handed over as a pyarrow Table into a fresh table "
     "(time inside the call; the read of the file is not timed)"),
] + [("py_" + k, f"Python API, in memory — {k} into a pyarrow Table (time inside the call, "
      "table opened before)") for k in ("Q1", "Q2", "Q3", "Q4", "Q5", "Q6")]
LABELS = {"bulk": "bulk ingest", "daily": "daily append\n(median of 90)", "Q1": "Q1 SELECT *",
          "Q2": "Q2 count,sum", "Q3": "Q3 filtered sum", "Q4": "Q4 group by", "Q5": "Q5 per hour",
          "Q6": "Q6 date_bin", "cov_frac": "coverage\nfraction", "cov_gaps": "missing\nhours"}
# The operations of the reference's own benchmark (bulk, daily, Q1-Q5; Q6
# exists there unrun) and the coverage questions: the goal is at most half the
# reference's time on each.
GOAL_OPS = ["bulk", "daily", "Q1", "Q2", "Q3", "Q4", "Q5", "Q6", "cov_frac", "cov_gaps"]
COMMANDS = [
    ("tstable", "`tstable create --table D/trips --index-column pickup_datetime --bucket 1s` (not timed); "
     "`tstable append --table D/trips --parquet FILE`; `tstable query --table D/trips --sql SQL --max-rows 0`; "
     "`tstable coverage --table D/trips --start 2024-04-01 --end 2024-05-01 --format json`; "
     "`tstable gaps … --format json`"),
    ("DuckDB table", "`duckdb_runner bulk.duckdb \"CREATE TABLE trips AS SELECT * FROM read_parquet('FILE')\"`; "
     "`duckdb_runner daily.duckdb \"INSERT INTO trips SELECT * FROM read_parquet('FILE')\"`; "
     "`duckdb_runner daily.duckdb SQL`"),
    ("DuckDB+Parquet", "`cp FILE DIR/`; `duckdb_runner :memory: \"CREATE VIEW trips AS SELECT * FROM "
     "read_parquet('DIR/*.parquet'); SQL\"`"),
    ("PostgreSQL", "`psql -X -q -h 127.0.0.1 -p PORT -U postgres -d DB -c \"\\copy trips FROM 'FILE.csv' WITH "
     "(FORMAT csv, HEADER, NULL '\\N')\"` (bulk adds `-c 'CREATE INDEX …' -c 'ANALYZE trips'`); "
     "`psql … -At -c SQL | wc -l`"),
    ("SQLite", "`sqlite3 DB '.import --csv --skip 1 FILE.csv trips'` (bulk adds `'CREATE INDEX …'`); "
     "`sqlite3 DB SQL | wc -l`"),
    ("tstable (Python)", "`bench/peers.py ours OP ROOT ARG` under .venv: `TimeSeriesTable.create(..., "
     "bucket='1s', protocol=6)`, `append_parquet(FILE)`, `Session().register_tstable('trips', ROOT).sql(SQL)`; "
     "in memory: `append(pyarrow.Table)`"),
    ("reference 0.9.0 / 0.4.0", "`bench/peers.py ref OP ROOT ARG` under .deps/refvenv09 or .deps/refvenv: "
     "`TimeSeriesTable.create(...)`, 0.9: `append(dataset(FILE).scanner().to_reader())`, 0.4: "
     "`append_parquet(FILE)`; `Session().register_tstable('trips', ROOT).sql(SQL)`"),
    ("Delta Lake (delta-rs)", "`bench/peers.py delta OP ROOT ARG` under .deps/peervenv: "
     "`write_deltalake(ROOT, reader, mode='append')`; `duckdb.connect().execute(SQL)` over "
     "`trips = DeltaTable(ROOT).to_pyarrow_dataset()`"),
    ("chDB (MergeTree) / chDB+Parquet", "`bench/peers.py chdb|chdbpq OP ROOT ARG` under .deps/peervenv: "
     "`Session(ROOT).query(\"INSERT INTO trips SELECT * FROM file('FILE', Parquet)\")`; "
     "`Session(ROOT).query(SQL, 'ArrowTable')` (chdbpq: `FROM file('DIR/*.parquet', Parquet)`)"),
    ("ClickHouse", "(18.16 server, only with `--systems clickhouse`) `clickhouse-client --port PORT -d DB -q 'INSERT INTO trips FORMAT CSVWithNames' < FILE.csv`; "
     "`clickhouse-client … -q 'SQL FORMAT TSV' | wc -l`"),
]
MARKER = "<!-- findings: text below this line is kept by bench/run.sh -->"



# The other benchmark pages, linked from the generated README.
OTHER_REPORTS = (
    "Other reports: [append.md](append.md) (copy vs re-encode append path; bulk append before/after the streaming measure, issue 14), [daily_append.md](daily_append.md) (daily appends against DuckDB's INSERT, issue 14), [update.md](update.md) (keyed updates against the reference 0.9.0), [compact.md](compact.md) (a table of 1,000 daily segments before and after compaction), [vacuum.md](vacuum.md) (a daily table before and after vacuum), [coverage_diff.md](coverage_diff.md) (coverage diff and backfill planner), [open.md](open.md) (opening a table with a long log), [prune.md](prune.md) (segment pruning), [plan.md](plan.md) (statements over 100-10,000 segments against DuckDB over the raw files, planning and registration; issue 14), [coverage.md](coverage.md) (coverage answers per process and in process, issue 14), [python.md](python.md) (the Python API's sql() and append() against the reference 0.4.0).")

def sh(cmd):
    try:
        return subprocess.run(cmd, shell=True, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
                              text=True).stdout.strip()
    except OSError:
        return ""


def fmt_ms(v):
    if v == "" or v is None:
        return "—"
    return f"{v:,.0f}" if v >= 100 else f"{v:,.1f}"


def mb(kb):
    return "—" if kb in ("", None) else f"{kb / 1024:,.0f}"


def human_bytes(b):
    b = int(b)
    for unit, div in (("GB", 1e9), ("MB", 1e6), ("kB", 1e3)):
        if b >= div:
            return f"{b / div:,.1f} {unit}"
    return f"{b} B"


def goal_section(w, systems, stats):
    """tstable against the reference (each version that ran): ratio of medians per
    operation; the goal is at most 0.5 on every one."""
    refs = [s for s in systems if s.startswith("reference ")]
    if not refs:
        return
    w("### tstable against the reference (goal: at most half its time on every operation)")
    w("")
    w("Ratio = tstable's median / the reference's median (≤ 0.50 meets the goal). The CLI rows "
      "compare `tstable` (one process per operation) with the reference's Python API (one "
      "process per operation; the reference's CLI comes only from crates.io, a DataFusion build not made here); the \"Python\" rows compare "
      "our Python package with the reference's, both one process per operation, and in memory. "
      "cov_frac / cov_gaps: `tstable coverage` / `tstable gaps` (the coverage bitmap at 1 s, a "
      "finer question) against the reference's hour question in SQL; the \"(SQL)\" rows ask "
      "tstable the same hour question in SQL.")
    w("")
    w("| operation | " + " | ".join(f"tstable / {r}" for r in refs) + " | "
      + " | ".join(f"tstable (Python) / {r}" for r in refs) + " |")
    w("|---|" + "---:|" * (2 * len(refs)))
    for op in GOAL_OPS + ["cov_frac (SQL)", "cov_gaps (SQL)", "py_bulk"] + [f"py_Q{i}" for i in range(1, 7)]:
        cells = []
        for base in ("tstable", "tstable (Python)"):
            for r in refs:
                if op.endswith(" (SQL)"):  # the same hour question in SQL on both sides
                    b, o = stats(base + (" (SQL)" if base == "tstable" else ""), op[:-6]), stats(r, op[:-6])
                else:
                    b, o = stats(base, op), stats(r, op)
                if base == "tstable" and op.startswith("py_"):
                    cells.append("")
                elif b and o:
                    v = b["median"] / o["median"]
                    cells.append(f"{v:.2f}" + (" ✓" if v <= 0.5 else " ✗"))
                else:
                    cells.append("— (reference failed)" if b and not o else "—")
        w(f"| {op} | " + " | ".join(cells) + " |")
    w("")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--results", required=True)
    ap.add_argument("--out", required=True)
    ap.add_argument("--data", required=True)
    ap.add_argument("--rows", type=int, required=True)
    ap.add_argument("--runs", type=int, required=True)
    ap.add_argument("--args", default="")
    ap.add_argument("--bench-dir", default="/tmp")
    ap.add_argument("--total-seconds", type=int, default=0)
    ap.add_argument("--bench-seconds", type=int, default=0)
    ap.add_argument("--commands", nargs="*", default=[])
    ap.add_argument("--peer-note", default="")
    a = ap.parse_args()

    rows = list(csv.DictReader(open(a.results)))
    systems = []
    for r in rows:
        if r["system"] not in systems and r["system"] != "tstable (SQL)":
            systems.append(r["system"])
    info = {}  # (system, op) -> row (for one-off rows)
    meas = {}  # (system, op) -> [rows]
    for r in rows:
        if r["ms"]:
            meas.setdefault((r["system"], r["op"]), []).append(r)
        else:
            info[(r["system"], r["op"])] = r

    def stats(system, op):
        rs = meas.get((system, op), [])
        ok = [float(r["ms"]) for r in rs if r["rc"] == "0"]
        if not ok:
            return None
        ck = [int(r["client_peak_kb"]) for r in rs if r["client_peak_kb"]]
        sk = [int(r["server_peak_kb"]) for r in rs if r["server_peak_kb"]]
        results = sorted({r["result"] for r in rs if r["result"]})
        return {"median": statistics.median(ok), "min": min(ok), "max": max(ok), "n": len(ok),
                "sum": sum(ok), "failed": len(rs) - len(ok), "client": max(ck) if ck else "",
                "server": max(sk) if sk else "", "result": "; ".join(results)}

    L = []
    w = L.append
    commit = sh(f"git -C {os.path.dirname(os.path.abspath(__file__))} rev-parse --short HEAD") or "unknown"
    w("# Cross-system benchmark: tstable and what its users would pick instead")
    w("")
    w(f"Generated by `bench/run.sh {a.args}`".rstrip() + f" on {time.strftime('%Y-%m-%dT%H:%MZ', time.gmtime())} "
      f"at commit `{commit}` (working tree may hold uncommitted changes). Every system was measured "
      f"in this one run, one after the other, on the same machine and the same files. Nothing is "
      f"asserted; the numbers are what happened.")
    w("")
    w(OTHER_REPORTS)
    w("")
    gen = open(os.path.join(a.data, "generated.txt")).read().strip() if os.path.exists(
        os.path.join(a.data, "generated.txt")) else ""
    csv_done = open(os.path.join(a.data, "csv", "done")).read().strip() if os.path.exists(
        os.path.join(a.data, "csv", "done")) else ""
    per_day = a.rows // 30
    bulk_pq = os.path.getsize(os.path.join(a.data, "fhvhv_2024-04.parquet"))
    daily_dir = os.path.join(a.data, "daily")
    daily_pq = sum(os.path.getsize(os.path.join(daily_dir, f)) for f in os.listdir(daily_dir))
    csv_dir = os.path.join(a.data, "csv")
    bulk_csv = os.path.getsize(os.path.join(csv_dir, "fhvhv_2024-04.csv"))
    daily_csv = sum(os.path.getsize(os.path.join(csv_dir, f)) for f in os.listdir(csv_dir)
                    if f.startswith("fhvhv_2024-") and f != "fhvhv_2024-04.csv")
    w("## Workload")
    w("")
    w(f"- Data: `bench/gen_trips.sql` through `bench_append generate` — deterministic trips shaped like "
      f"NYC TLC FHVHV records (24 columns, daily cycle of pickups). Bulk month "
      f"`fhvhv_2024-04.parquet`: **{a.rows:,} rows** ({human_bytes(bulk_pq)} Parquet, "
      f"{human_bytes(bulk_csv)} CSV); 90 daily files 2024-04-01..2024-06-29 of {per_day:,} rows each "
      f"({90 * per_day:,} rows; {human_bytes(daily_pq)} Parquet, {human_bytes(daily_csv)} CSV). "
      f"Scale: bulk rows = 24,300,000 × factor; this run's factor = {a.rows / 24.3e6:g} "
      f"(`--full` = 1: ~73 M daily rows like the reference's three months).")
    if gen:
        w(f"- Generation (not measured): {gen}. {csv_done}.")
    w("- Bulk ingest: each system loads the month into a fresh table, "
      f"{a.runs} times (median, min, max). Daily: a second fresh table receives the 90 daily files in "
      "date order, one client process per file; the table for the queries is this one (3 months).")
    w("- Window: 2024-04-15 00:00 ≤ pickup_datetime < 2024-04-22 00:00 (first day of the bulk "
      "month + 14 .. + 21 days, like the reference's 2024-05-01..05-08). "
      f"Q1–Q6 and the coverage questions run {a.runs} times each, interleaved (Q1..Q6, Q1..Q6, ...), "
      "each as a whole client process, warm OS page cache (nothing is dropped between runs).")
    w("- Coverage: the month 2024-04-01..2024-05-01 (720 hours) of the daily table. The SQL systems "
      "answer with `generate_series` of hours LEFT JOIN the distinct `date_trunc('hour', …)` of the "
      "rows (ClickHouse 18.16: `numbers(720)` and `IN`; SQLite: a recursive CTE and `strftime`). "
      "tstable answers with `tstable coverage` / `tstable gaps`, which read the table's coverage "
      "bitmap instead of the rows, at the table's bucket (1 s, as the reference's procedure "
      "creates it) — a finer question than hours — and, for the hour question itself, with the "
      "same SQL as DuckDB through `tstable query` (row \"tstable (SQL)\").")
    w("- Time = wall clock around the whole client process (start, connect/open, work, exit), from "
      "Python's `time.monotonic()`. Client peak memory = \"Maximum resident set size\" of GNU "
      "`/usr/bin/time -v` (for a `cmd | wc -l` pipeline: the largest process of it). Server peak "
      "memory (PostgreSQL, ClickHouse only) = the peak, sampled every 50 ms during the operation, "
      "of the summed Pss of the server's processes (/proc/PID/smaps_rollup), so shared buffers "
      "count once; it is *not* included in the client column. tstable, DuckDB and SQLite are "
      "in-process: their client column is everything. The Python-level systems (tstable (Python), "
      "the reference, Delta Lake, chDB) run one `python bench/peers.py …` process per operation "
      "under their own venv, timed the same way, imports included; their in-memory operations "
      "(py_*) are timed inside the process around the API call alone.")
    w("")
    w("## Machine")
    w("")
    cpu = sh("grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//'")
    mem = sh("awk '/MemTotal/ {printf \"%.1f GiB\", $2 / 1048576}' /proc/meminfo")
    disk = sh(f"df -hT {a.bench_dir} | awk 'NR == 2 {{print $1 \" (\" $2 \"), \" $3 \" total\"}}'")
    w(f"- CPU: {cpu}, `nproc` = {os.cpu_count()}; memory: {mem}; disk for data and tables: {disk}")
    w(f"- OS: {platform.system()} {platform.release()}, {sh('. /etc/os-release; echo $PRETTY_NAME')}; "
      f"shared with other work (other engineers' builds may have run at the same time)")
    w(f"- tstable: Release build (`build-bench/`), {sh('cd ' + os.path.dirname(os.path.abspath(__file__)) + '/.. && build-bench/tstable --version 2>&1')}; DuckDB 1.4.4 "
      f"(`.deps/duckdb`, linked by tstable and by `bench/duckdb_runner`)")
    w("")
    w("## Systems and their setup")
    w("")
    w("| system | setup |")
    w("|---|---|")
    for s in systems:
        c = info.get((s, "config"))
        w(f"| {s} | {c['note'] if c else ''} |")
    errs = [(s, info[(s, 'error')]['note']) for s in systems if (s, "error") in info]
    errs += [(n.split(":", 1)[0], n.split(":", 1)[1].strip()) for n in a.peer_note.split("; ") if ":" in n]
    if errs:
        w("")
        w("Failures:")
        for s, e in errs:
            w(f"- {s}: {e}")
    w("")
    w("## Results")
    w("")
    goal_section(w, systems, stats)
    w("Milliseconds; ratio = the system's median / tstable's median (> 1: slower than tstable; "
      "for the in-memory Python operations, / tstable (Python)'s). "
      "Peak memory in MB (max over the runs). \"answer\" is what the operation returned "
      "(for Q1–Q6 the number of result rows, which agree across systems).")
    for op, title in OPS:
        w("")
        w(f"### {title}")
        w("")
        base = "tstable (Python)" if op.startswith("py_") else "tstable"
        ts = stats(base, op)
        names = list(systems)
        if op.startswith("py_"):
            names = [n for n in names if meas.get((n, op))]
            if not names:
                continue
        if op.startswith("cov"):
            names.insert(1, "tstable (SQL)")
        if op == "daily":
            w("| system | median | min | max | total of 90 | ratio | client peak MB | server peak MB | failed |")
            w("|---|---:|---:|---:|---:|---:|---:|---:|---:|")
        else:
            w("| system | median | min | max | ratio | client peak MB | server peak MB | answer |")
            w("|---|---:|---:|---:|---:|---:|---:|---|")
        for s in names:
            st = stats(s, op)
            if st is None:
                fail = [r for r in meas.get((s, op), [])]
                note = fail[0]["note"] if fail else "not run"
                w(f"| {s} | failed: {note} |" + " |" * (7 if op != "daily" else 8))
                continue
            ratio = f"{st['median'] / ts['median']:.2f}×" if ts else "—"
            if op == "daily":
                w(f"| {s} | {fmt_ms(st['median'])} | {fmt_ms(st['min'])} | {fmt_ms(st['max'])} | "
                  f"{fmt_ms(st['sum'])} | {ratio} | {mb(st['client'])} | {mb(st['server'])} | "
                  f"{st['failed']} |")
            else:
                w(f"| {s} | {fmt_ms(st['median'])} | {fmt_ms(st['min'])} | {fmt_ms(st['max'])} | "
                  f"{ratio} | {mb(st['client'])} | {mb(st['server'])} | {st['result']} |")
    w("")
    w("### Re-appending a day that is already loaded")
    w("")
    w("After everything above, each system is asked to load one daily file a second time, the way "
      "its users would (same command as the daily append); the row counts are read afterwards.")
    w("")
    w("| system | ms | exit code | rows of that day, before → after | rows of the table, before → after | outcome |")
    w("|---|---:|---:|---|---|---|")
    for s in systems:
        chk = info.get((s, "reappend_check"))
        st = meas.get((s, "reappend"), [])
        if not chk:
            w(f"| {s} | — | — | — | — | not run |")
            continue
        res = chk["result"]
        day_part, tab_part = res.split("; table ")
        day_counts = day_part.split(": ", 1)[1].replace(" rows", "")
        b, _, aft = day_counts.partition(" -> ")
        tb, _, ta = tab_part.partition(" -> ")
        if chk["rc"] != "0" and tb == ta:
            outcome = f"rejected, nothing written: “{chk['note'][:160]}”"
        elif b != aft:
            outcome = "accepted silently: the day is now stored twice, so every count and sum over it doubles"
        else:
            outcome = "accepted, no change"
        ms = fmt_ms(float(st[0]["ms"])) if st else "—"
        w(f"| {s} | {ms} | {chk['rc']} | {day_part.split(':')[0]}: {b} → {aft} | {tb} → {ta} | {outcome} |")
    w("")
    w("### Bytes on disk")
    w("")
    w(f"Source files: bulk month {human_bytes(bulk_pq)} Parquet / {human_bytes(bulk_csv)} CSV; 90 daily "
      f"files {human_bytes(daily_pq)} Parquet / {human_bytes(daily_csv)} CSV. Measured after the "
      f"queries, before the re-append. tstable and DuckDB+Parquet: all files of the table folder; "
      f"DuckDB, SQLite: the database file; PostgreSQL: `pg_total_relation_size('trips')` (heap, "
      f"TOAST, index); ClickHouse: `sum(bytes_on_disk)` of the active parts.")
    w("")
    w("Delta Lake: the table folder (Parquet files and _delta_log); chDB: the session folder "
      "(MergeTree parts and metadata); reference: the table folder.")
    w("")
    w("| system | bulk table (1 month) | daily table (90 days) | daily, bytes per row |")
    w("|---|---:|---:|---:|")
    for s in systems:
        bb, db = info.get((s, "bytes_bulk")), info.get((s, "bytes_daily"))
        if not bb:
            w(f"| {s} | — | — | — |")
            continue
        w(f"| {s} | {human_bytes(bb['result'])} | {human_bytes(db['result'])} | "
          f"{int(db['result']) / (90 * per_day):.0f} |")
    w("")
    w("### Wall time per system (setup, all operations, teardown)")
    w("")
    w("| system | seconds |")
    w("|---|---:|")
    for s in systems:
        t = info.get((s, "system_seconds"))
        w(f"| {s} | {t['result'] if t else '—'} |")
    w("")
    w(f"Whole `bench/run.sh` run: **{a.total_seconds} s** (of which measuring: {a.bench_seconds} s; "
      f"the rest is install checks, build, data generation and CSV conversion when not cached).")
    w("")

    # The chart: medians per operation, log scale.
    png = os.path.join(a.out, "results.png")
    try:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
        ops = [op for op, _ in OPS if op in LABELS]
        names = list(systems)
        if any(k[0] == "tstable (SQL)" for k in meas):
            names.insert(1, "tstable (SQL)")
        fig, ax = plt.subplots(figsize=(15, 6))
        width = 0.8 / len(names)
        for i, s in enumerate(names):
            xs, ys = [], []
            for j, op in enumerate(ops):
                st = stats(s, op)
                if st:
                    xs.append(j + (i - (len(names) - 1) / 2) * width)
                    ys.append(st["median"])
            if ys:  # a system that answered nothing (the reference 0.9.0 here) gets no colour
                ax.bar(xs, ys, width, label=s, color=plt.cm.tab20(i % 20))
        ax.set_yscale("log")
        ax.set_xticks(range(len(ops)))
        ax.set_xticklabels([LABELS[op] for op in ops])
        ax.set_ylabel("median wall time per client process, ms (log)")
        ax.set_title(f"Cross-system benchmark, {a.rows:,} rows/month, {90 * per_day:,} rows in the "
                     f"daily table ({os.cpu_count()} cores)")
        ax.grid(axis="y", which="both", alpha=0.3)
        ax.legend(ncol=4, fontsize=9)
        fig.tight_layout()
        fig.savefig(png, dpi=110)
        w("![medians per operation (log scale)](results.png)")
        w("")
        w("tstable's coverage bars are `tstable coverage` / `tstable gaps` (1-second buckets); "
          "\"tstable (SQL)\" answers the hour question with SQL.")
    except ImportError:
        w("(no chart: python3-matplotlib is missing)")
    w("")
    w("## Commands")
    w("")
    w("```sh")
    for c in a.commands:
        w(c)
    w("```")
    w("")
    w("Per system, each line one timed process (D, DIR, DB, PORT, FILE: the scratch folders, "
      "databases, port and data file of the run):")
    w("")
    for name, cmd in COMMANDS:
        w(f"- {name}: {cmd}")
    w("")
    w("The per-system commands (each one timed as a whole process) are in `bench/cross_bench.py`; "
      "every measurement, with its exit code, client and server peak memory and answer, is in "
      "[results.csv](results.csv). `bench/run.sh --tiny` runs the same at factor 0.002 "
      "(well under 3 minutes, for CI); `--full` at factor 1.")
    w("")
    readme = os.path.join(a.out, "README.md")
    kept = ""
    if os.path.exists(readme):
        text = open(readme).read()
        if MARKER in text:
            kept = text.split(MARKER, 1)[1].strip("\n")
    w(MARKER)
    if kept:
        w(kept)
    with open(readme, "w") as f:
        f.write("\n".join(L) + "\n")


if __name__ == "__main__":
    main()
