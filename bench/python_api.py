#!/usr/bin/env python3
"""python_api.py — what the Python API costs a user: our package against the
reference timeseries-table-format 0.4.0, measured side by side.

    .venv/bin/python bench/python_api.py [--rows N] [--repeat K] [--out FILE] [--tiny]

Both packages have the import name `timeseries_table_format`, so every
measurement is its own process: the parent (this script in .venv) generates
one deterministic pyarrow Table (N rows x 10 columns), writes it to Parquet,
and starts this same file with `--child` under the right interpreter — .venv
(where scripts/test.sh pip-installs ours) for ours, .deps/refvenv for the
reference.
The child loads the data (not timed), times only the operation with
time.perf_counter, checks nothing, and prints one JSON line: seconds, the
parts of the operation, peak RSS (getrusage) and a digest of the answer.
The parent times the whole process too, compares every digest with the one
computed from the source table (and fails loudly on a difference), takes
medians over K repetitions, and writes a Markdown report. Nothing about time
is asserted. Operations:

  append     create + append into a fresh table: ours `append(table)`; ours and
             the reference `pyarrow.parquet.write_table` + `append_parquet`
             (0.4 has no append(table)), the file written outside the table
             root and copied in (copy_if_outside=True, the default)
  all        sql("SELECT * FROM trades"), `.num_rows` read
  selective  sql() of one symbol over one hour
  aggregate  sql() GROUP BY symbol with count, sum, avg
  polars     pl.from_arrow() of the SELECT * result (ours only; polars is not
             in the reference's venv)

Each system queries the table it wrote and the one the other wrote (a check
that the two read each other's files). The text after the "findings" marker
of an existing report is kept when the report is rewritten.
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
PYTHON_DIR = os.path.join(ROOT, "python")
OURS_PY = os.path.join(ROOT, ".venv", "bin", "python")
REF_PY = os.path.join(ROOT, ".deps", "refvenv", "bin", "python")
SYMBOLS = ["AAPL", "AMZN", "GOOG", "MSFT", "NVDA"]
VENUES = ["ARCA", "BATS", "EDGX", "IEX", "MEMX", "NSDQ", "NYSE", "PSX"]
BASE = datetime.datetime(2024, 1, 1)
TABLE = "trades"
MARKER = "<!-- findings: text below this line is kept by bench/python_api.py -->"
FLOAT_REL_TOL = 1e-9

APPENDS = [  # (key, system, how, label)
    ("ours_append", "ours", "append", "ours `append(table)`"),
    ("ours_parquet", "ours", "parquet", "ours `write_table` + `append_parquet`"),
    ("ref_parquet", "ref", "parquet", "reference `write_table` + `append_parquet`"),
]
QUERIES = ["all", "selective", "aggregate"]
# (system, which system wrote the table): own tables first, then crossed.
QUERY_RUNS = [("ours", "ours"), ("ref", "ref"), ("ref", "ours"), ("ours", "ref")]
NAMES = {"ours": "ours", "ref": "reference 0.4.0"}


# --- the child: one operation, in one process ---------------------------------

def sql_text(query, hour):
    """The SQL of one query; `hour` is the selective query's hour after BASE."""
    if query == "all":
        return f"SELECT * FROM {TABLE}"
    if query == "selective":
        lo = BASE + datetime.timedelta(hours=hour)
        hi = lo + datetime.timedelta(hours=1)
        return (f"SELECT * FROM {TABLE} WHERE symbol = 'NVDA' "
                f"AND ts >= TIMESTAMP '{lo:%Y-%m-%d %H:%M:%S}' AND ts < TIMESTAMP '{hi:%Y-%m-%d %H:%M:%S}'")
    if query == "aggregate":
        return (f"SELECT symbol, count(*) AS n, sum(volume) AS volume, sum(price) AS sum_price, "
                f"avg(price) AS avg_price FROM {TABLE} GROUP BY symbol ORDER BY symbol")
    raise ValueError(f"unknown query {query!r}")


def digest(tbl):
    """What is compared between systems: rows, and exact or float sums of the
    columns present (ints exact, floats to FLOAT_REL_TOL), and the schema."""
    import pyarrow as pa
    import pyarrow.compute as pc
    names = tbl.column_names
    d = {"rows": tbl.num_rows, "schema": [f"{f.name}: {f.type}" for f in tbl.schema]}
    if "ts" in names:  # a row-level result
        ts = tbl.column("ts").cast(pa.timestamp("us")).cast(pa.int64())
        d["ts_min"] = pc.min(ts).as_py()
        d["ts_max"] = pc.max(ts).as_py()
        for col in ("volume", "trade_id"):
            d[f"sum_{col}"] = pc.sum(tbl.column(col)).as_py()
        for col in ("price", "bid", "ask"):
            d[f"sum_{col}"] = pc.sum(tbl.column(col)).as_py()
        d["buys"] = pc.sum(tbl.column("is_buy").cast(pa.int64())).as_py()
        d["note_chars"] = pc.sum(pc.utf8_length(tbl.column("note").cast(pa.string()))).as_py()
        d["venue_chars"] = pc.sum(pc.utf8_length(tbl.column("venue").cast(pa.string()))).as_py()
        d["symbols"] = sorted(pc.unique(tbl.column("symbol").cast(pa.string())).to_pylist())
    else:  # the aggregate, ordered by symbol
        d["groups"] = [[r["symbol"], int(r["n"]), int(r["volume"]), float(r["sum_price"]),
                        float(r["avg_price"])] for r in tbl.to_pylist()]
    return d


def peak_rss_kb():
    """This process's peak resident set in KiB. Linux keeps getrusage's
    ru_maxrss across fork + exec, so a child would report the parent's peak
    when it is larger; VmHWM of /proc/self/status starts afresh at exec."""
    try:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss


def child_import(system):
    """Imports the package of `system` and proves it is the right one."""
    import timeseries_table_format as ttf
    where = os.path.dirname(os.path.abspath(ttf.__file__))
    if system == "ours" and (where == os.path.join(PYTHON_DIR, "timeseries_table_format") or
                             not hasattr(ttf, "AppendReport")):
        sys.exit(f"child: imported timeseries_table_format from {where}, not the package "
                 "installed in .venv: pip install ./python (see python/README.md)")
    if system == "ref" and ttf.__version__ != "0.4.0":
        sys.exit(f"child: the reference venv imported timeseries_table_format "
                 f"{ttf.__version__} from {where}, expected 0.4.0 (scripts/deps.sh makes .deps/refvenv)")
    return ttf


def child_append(ttf, a, out):
    import pyarrow.parquet as pq
    data = pq.read_table(a.data)
    parts = {}
    t0 = time.perf_counter()
    # format_version 6 for both: the reference 0.4.0 reads the tables ours writes.
    extra = {"protocol": 6} if a.system == "ours" else {}
    t = ttf.TimeSeriesTable.create(table_root=a.table_root, index_column="ts", index_type="timestamp",
                                   bucket="1s", entity_columns=["symbol"], **extra)
    t1 = time.perf_counter()
    parts["create"] = t1 - t0
    if a.how == "append":
        version = t.append(data)
    else:
        seg = os.path.join(a.scratch, "segment.parquet")
        pq.write_table(data, seg)
        t2 = time.perf_counter()
        parts["write_table"] = t2 - t1
        version = t.append_parquet(seg)
    t3 = time.perf_counter()
    parts["append"] = t3 - (t1 if a.how == "append" else t2)
    out.update(seconds=t3 - t0, parts=parts, answer={"version": int(version)},
               segments=segment_facts(a.table_root))


def segment_facts(root):
    """The Parquet files an append left in the table (not timed): their
    layout explains much of what reading them costs later."""
    import pyarrow.parquet as pq
    facts = []
    for folder, _, files in os.walk(root):
        for name in sorted(files):
            if name.endswith(".parquet"):
                path = os.path.join(folder, name)
                md = pq.ParquetFile(path).metadata
                codec = md.row_group(0).column(0).compression if md.num_row_groups else "-"
                facts.append({"row_groups": md.num_row_groups, "codec": codec,
                              "bytes": os.path.getsize(path)})
    return facts


def child_query(ttf, a, out):
    session = ttf.Session()
    t0 = time.perf_counter()
    session.register_tstable(TABLE, a.table_root)
    out["register_seconds"] = time.perf_counter() - t0
    query = sql_text(a.query, a.hour)
    if a.op == "polars":
        import polars as pl
        res = session.sql(query)
        t0 = time.perf_counter()
        df = pl.from_arrow(res)
        n = df.height
        out["seconds"] = time.perf_counter() - t0
        out["answer"] = {"rows": n, "sum_volume": int(df["volume"].sum())}
        return
    t0 = time.perf_counter()
    res = session.sql(query)
    n = res.num_rows
    out["seconds"] = time.perf_counter() - t0
    out["result_type"] = f"{type(res).__module__}.{type(res).__name__}"
    out["answer"] = digest(res)
    assert out["answer"]["rows"] == n


def child_main(a):
    t0 = time.perf_counter()
    ttf = child_import(a.system)
    import pyarrow
    out = {"import_seconds": time.perf_counter() - t0, "version": ttf.__version__,
           "pyarrow": pyarrow.__version__}
    if a.op == "append":
        child_append(ttf, a, out)
    else:
        child_query(ttf, a, out)
    out["peak_rss_kb"] = peak_rss_kb()
    print(json.dumps(out))


# --- the parent: data, runs, checks -------------------------------------------

def make_data(rows, path):
    """N deterministic trades, row k of symbol k % 5 at second k // 5 after BASE
    (plus a sub-second offset), so (symbol, 1 s bucket) is distinct."""
    import numpy as np
    import pyarrow as pa
    import pyarrow.parquet as pq
    rng = np.random.default_rng(20240101)
    k = np.arange(rows, dtype=np.int64)
    base_us = int((BASE - datetime.datetime(1970, 1, 1)).total_seconds()) * 1_000_000
    ts = base_us + (k // len(SYMBOLS)) * 1_000_000 + (k * 7919) % 1_000_000
    price = np.round(rng.normal(100.0, 5.0, rows), 4)
    spread = np.round(rng.uniform(0.0, 0.05, rows), 4)
    table = pa.table({
        "ts": pa.array(ts, pa.timestamp("us")),
        "symbol": pa.array(np.array(SYMBOLS, dtype=object)[k % len(SYMBOLS)], pa.string()),
        "price": pa.array(price, pa.float64()),
        "bid": pa.array(price - spread, pa.float64()),
        "ask": pa.array(price + spread, pa.float64()),
        "volume": pa.array(rng.integers(1, 10_000, rows), pa.int64()),
        "trade_id": pa.array(k * 3 + 1_000_000_007, pa.int64()),
        "venue": pa.array(np.array(VENUES, dtype=object)[rng.integers(0, len(VENUES), rows)], pa.string()),
        "note": pa.array([f"ord-{v:x}" for v in (k * 2654435761) % (1 << 32)], pa.string()),
        "is_buy": pa.array(rng.random(rows) < 0.5, pa.bool_()),
    })
    pq.write_table(table, path)
    return table


def expected_answers(table, hour):
    """The digests every system must return, computed from the source table
    with pyarrow.compute (no SQL engine involved)."""
    import pyarrow as pa
    import pyarrow.compute as pc
    lo = BASE + datetime.timedelta(hours=hour)
    mask = pc.and_(pc.equal(table["symbol"], "NVDA"),
                   pc.and_(pc.greater_equal(table["ts"], pa.scalar(lo, pa.timestamp("us"))),
                           pc.less(table["ts"], pa.scalar(lo + datetime.timedelta(hours=1),
                                                          pa.timestamp("us")))))
    groups = []
    for sym in sorted(SYMBOLS):
        part = table.filter(pc.equal(table["symbol"], sym))
        if part.num_rows:
            s = pc.sum(part["price"]).as_py()
            groups.append([sym, part.num_rows, pc.sum(part["volume"]).as_py(), s, s / part.num_rows])
    return {"all": digest(table), "selective": digest(table.filter(mask)),
            "aggregate": {"rows": len(groups), "groups": groups}}


def close(a, b):
    if isinstance(a, float) or isinstance(b, float):
        return abs(a - b) <= FLOAT_REL_TOL * max(abs(a), abs(b), 1.0)
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(close(x, y) for x, y in zip(a, b))
    return a == b


def check_answer(what, got, want):
    """Fails the whole run when an answer differs from the source's."""
    for key, value in want.items():
        if key == "schema":
            continue  # types may differ between engines; they are reported, not compared
        if key not in got or not close(got[key], value):
            sys.exit(f"ANSWER MISMATCH in {what}: {key} = {got.get(key)!r}, expected {value!r} "
                     "(computed from the source table with pyarrow.compute); the report was not written")


class Runner:
    """Starts children and keeps what they report."""

    def __init__(self, work, data, hour):
        self.work, self.data, self.hour = work, data, hour
        self.results = []  # dicts: key, system, table, query, rep, seconds, wall, ...

    def run(self, system, args, record):
        py = OURS_PY if system == "ours" else REF_PY
        cmd = [py, os.path.abspath(__file__), "--child", "--system", system, "--data", self.data,
               "--hour", str(self.hour)] + args
        env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
        t0 = time.perf_counter()
        proc = subprocess.run(cmd, cwd=self.work, env=env, stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, text=True)
        wall = time.perf_counter() - t0
        if proc.returncode != 0:
            sys.exit(f"child failed ({' '.join(cmd)}), exit {proc.returncode}:\n{proc.stderr.strip()}")
        out = json.loads(proc.stdout.strip().splitlines()[-1])
        out.update(record, wall=wall, system=system)
        self.results.append(out)
        return out

    def append(self, key, system, how, rep, keep):
        root = os.path.join(self.work, "tables", f"{key}-{rep}")
        scratch = tempfile.mkdtemp(dir=self.work, prefix="scratch-")
        try:
            self.run(system, ["--op", "append", "--how", how, "--table-root", root,
                              "--scratch", scratch], {"key": key, "rep": rep})
        finally:
            shutil.rmtree(scratch)
        if keep:
            return root
        shutil.rmtree(root)
        return None

    def query(self, system, writer_root, writer, query, op, rep):
        self.run(system, ["--op", op, "--query", query, "--table-root", writer_root],
                 {"key": f"{op}:{query}", "table": writer, "query": query, "rep": rep})


def measure(runner, repeat, log):
    """Every operation `repeat` times, systems interleaved within a repetition."""
    roots = {}
    for rep in range(repeat):
        for key, system, how, _ in APPENDS:
            keep = rep == repeat - 1 and key in ("ours_append", "ref_parquet")
            root = runner.append(key, system, how, rep, keep)
            if root:
                roots["ours" if system == "ours" else "ref"] = root
        log(f"   append repetition {rep + 1}/{repeat} done")
    for rep in range(repeat):
        for query in QUERIES:
            for system, writer in QUERY_RUNS:
                runner.query(system, roots[writer], writer, query, "sql", rep)
        runner.query("ours", roots["ours"], "ours", "all", "polars", rep)
        log(f"   query repetition {rep + 1}/{repeat} done")


def verify(results, want):
    for r in results:
        if r["key"].startswith("sql:"):
            check_answer(f"{NAMES[r['system']]} on the table {NAMES[r['table']]} wrote, "
                         f"query {r['query']}, repetition {r['rep'] + 1}", r["answer"], want[r["query"]])
        elif r["key"].startswith("polars:"):
            got = r["answer"]
            if got["rows"] != want["all"]["rows"] or got["sum_volume"] != want["all"]["sum_volume"]:
                sys.exit(f"ANSWER MISMATCH in pl.from_arrow: {got}, expected rows {want['all']['rows']}, "
                         f"sum_volume {want['all']['sum_volume']}")
        elif r["answer"]["version"] != 2:
            sys.exit(f"append {r['key']} returned version {r['answer']['version']}, expected 2 "
                     "(create commits version 1, the append version 2)")


# --- the report --------------------------------------------------------------

def sh(cmd):
    try:
        return subprocess.run(cmd, shell=True, cwd=ROOT, stdout=subprocess.PIPE,
                              stderr=subprocess.DEVNULL, text=True).stdout.strip()
    except OSError:
        return ""


def machine_facts():
    cpu = sh("grep -m1 'model name' /proc/cpuinfo | cut -d: -f2-").strip() or platform.processor()
    mem = sh("awk '/MemTotal/ {printf \"%.1f GiB\", $2/1048576}' /proc/meminfo")
    duck = sh(f"{OURS_PY} -c \"import timeseries_table_format as t; print(t.Session().sql('SELECT version() AS v')"
              ".column(0)[0].as_py())\"")
    sbom = sh("cat .deps/refvenv/lib/python3.11/site-packages/timeseries_table_format-0.4.0.dist-info/"
              "sboms/*.json")
    datafusion = ""
    try:
        for c in json.loads(sbom).get("components", []):
            if c.get("name") == "datafusion":
                datafusion = c.get("version", "")
    except ValueError:
        pass
    polars = sh(f"{OURS_PY} -c 'import polars; print(polars.__version__)'")
    build = sh("grep -m1 '^CMAKE_BUILD_TYPE' build-py/CMakeCache.txt | cut -d= -f2")
    return {"cpu": cpu, "nproc": os.cpu_count(), "mem": mem, "os": f"{platform.system()} {platform.release()}",
            "python": platform.python_version(), "duckdb": duck, "datafusion": datafusion,
            "polars": polars, "build": build or "?"}


def stats(values):
    return statistics.median(values), min(values), max(values)


def ms(seconds):
    v = seconds * 1000
    return f"{v:,.0f}" if v >= 100 else f"{v:,.1f}" if v >= 1 else f"{v:.2f}"


def pick(results, **kw):
    return [r for r in results if all(r.get(k) == v for k, v in kw.items())]


def row_stats(rs):
    med, lo, hi = stats([r["seconds"] for r in rs])
    wall = statistics.median(r["wall"] for r in rs)
    rss = max(r["peak_rss_kb"] for r in rs) / 1024
    return med, lo, hi, wall, rss


def append_section(results):
    lines = ["### Create + append of the table into a fresh table", "",
             "Ratio = the row's median / the reference's `write_table` + `append_parquet` median. "
             "Parts are medians of each step (create; `write_table`; `append`/`append_parquet`).", "",
             "| what | median ms | min | max | ratio | create | write_table | append | process wall ms | "
             "peak RSS MB | segment written |", "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|"]
    ref = row_stats(pick(results, key="ref_parquet"))[0]
    for key, _, _, label in APPENDS:
        rs = pick(results, key=key)
        med, lo, hi, wall, rss = row_stats(rs)
        part = {p: (ms(statistics.median(r["parts"][p] for r in rs)) if p in rs[0]["parts"] else "—")
                for p in ("create", "write_table", "append")}
        segs = "; ".join(f"{g['row_groups']} row group{'s' if g['row_groups'] != 1 else ''}, {g['codec']}, "
                         f"{g['bytes'] / 1e6:.1f} MB" for g in rs[-1]["segments"])
        lines.append(f"| {label} | {ms(med)} | {ms(lo)} | {ms(hi)} | {med / ref:.2f}× | {part['create']} | "
                     f"{part['write_table']} | {part['append']} | {ms(wall)} | {rss:,.0f} | {segs} |")
    return lines


QUERY_TITLES = {
    "all": "`sql(\"SELECT * FROM trades\")`, the whole table as a pyarrow.Table (`.num_rows` read)",
    "selective": "selective: one symbol over one hour",
    "aggregate": "aggregate: `GROUP BY symbol` with count, sum, avg",
}


def query_section(results, query, hour):
    lines = [f"### {QUERY_TITLES[query]}", "", "```sql", sql_text(query, hour), "```", "",
             "| system | table written by | median ms | min | max | ratio ours/ref, same table | "
             "register ms | process wall ms | peak RSS MB | rows |",
             "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|"]
    med = {}
    for system, writer in QUERY_RUNS:
        med[(system, writer)] = row_stats(pick(results, key=f"sql:{query}", system=system, table=writer))[0]
    for system, writer in QUERY_RUNS:
        rs = pick(results, key=f"sql:{query}", system=system, table=writer)
        m, lo, hi, wall, rss = row_stats(rs)
        ratio = f"{m / med[('ref', writer)]:.2f}×" if system == "ours" else ""
        reg = statistics.median(r["register_seconds"] for r in rs)
        lines.append(f"| {NAMES[system]} | {NAMES[writer]} | {ms(m)} | {ms(lo)} | {ms(hi)} | {ratio} | "
                     f"{ms(reg)} | {ms(wall)} | {rss:,.0f} | {rs[0]['answer']['rows']:,} |")
    own = med[("ours", "ours")] / med[("ref", "ref")]
    lines += ["", f"Each on its own table: ours / reference = **{own:.2f}×**."]
    return lines


def polars_section(results):
    rs = pick(results, key="polars:all")
    m, lo, hi, wall, rss = row_stats(rs)
    sql = row_stats(pick(results, key="sql:all", system="ours", table="ours"))[0]
    return ["### Consumer: `pl.from_arrow(result)` of the SELECT * result (ours)", "",
            "| what | median ms | min | max | process wall ms | peak RSS MB |", "|---|---:|---:|---:|---:|---:|",
            f"| `pl.from_arrow(session.sql(\"SELECT * FROM trades\"))` | {ms(m)} | {ms(lo)} | {ms(hi)} | "
            f"{ms(wall)} | {rss:,.0f} |", "",
            f"SELECT * then `pl.from_arrow`: {ms(sql)} + {ms(m)} ms. polars is not in the reference's "
            "venv (it may not be installed there), so this row has no reference counterpart."]


def schema_section(results):
    lines = ["### Result types", "",
             "Answers are compared on values; the Arrow types each engine returns differ, and are listed here.", "",
             "| query | ours | reference 0.4.0 |", "|---|---|---|"]
    for query in QUERIES:
        s = {sysm: pick(results, key=f"sql:{query}", system=sysm, table=sysm)[0]["answer"]["schema"]
             for sysm in ("ours", "ref")}
        if s["ours"] == s["ref"]:
            lines.append(f"| {query} | same: {', '.join(s['ours'])} | |")
        else:
            diff = [(a, b) for a, b in zip(s["ours"], s["ref"]) if a != b]
            lines.append(f"| {query} | {'; '.join(a for a, _ in diff)} | {'; '.join(b for _, b in diff)} |")
    return lines


def overhead_section(results):
    lines = ["### Process overheads (not in the operation times above)", "",
             "| system | `import timeseries_table_format` (+ pyarrow) ms, median | versions |",
             "|---|---:|---|"]
    for system in ("ours", "ref"):
        rs = pick(results, system=system)
        imp = statistics.median(r["import_seconds"] for r in rs)
        lines.append(f"| {NAMES[system]} | {ms(imp)} | timeseries_table_format {rs[0]['version']}, "
                     f"pyarrow {rs[0]['pyarrow']} |")
    return lines


def answers_section(want):
    a = want["all"]
    g = want["aggregate"]["groups"]
    return ["### Answers (identical for every system, table and repetition; the run stops otherwise)", "",
            f"- SELECT *: {a['rows']:,} rows; sum(volume) = {a['sum_volume']:,}, sum(trade_id) = "
            f"{a['sum_trade_id']:,}, sum(price) = {a['sum_price']:.4f}, {a['buys']:,} buys, "
            f"{a['note_chars']:,} characters of note; symbols {', '.join(a['symbols'])}",
            f"- selective: {want['selective']['rows']:,} rows, sum(volume) = {want['selective']['sum_volume']:,}",
            "- aggregate: " + "; ".join(f"{s} n={n:,} volume={v:,} avg(price)={avg:.6f}" for s, n, v, _, avg in g),
            f"- every append returned version 2 (create commits version 1); floats compared to a relative {FLOAT_REL_TOL:g}, "
            "everything else exactly, each against pyarrow.compute over the source table"]


def write_report(path, a, results, want, facts, started, elapsed, hour, data_mb):
    commit = sh("git rev-parse --short HEAD")
    dirty = " (working tree has uncommitted changes)" if sh("git status --porcelain") else ""
    kept = ""
    if os.path.exists(path):
        with open(path) as f:
            text = f.read()
        if MARKER in text:
            kept = text[text.index(MARKER) + len(MARKER):]
    argv = " ".join(sys.argv[1:])
    lines = [
        "# Python API: ours against the reference timeseries-table-format 0.4.0", "",
        f"Generated by `.venv/bin/python bench/python_api.py{(' ' + argv) if argv else ''}` on "
        f"{started:%Y-%m-%dT%H:%MZ} at commit `{commit}`{dirty}; the run took {elapsed:.0f} s. "
        "Nothing is asserted about time; every answer is checked.", "",
        "## Workload", "",
        f"- Data: one deterministic pyarrow Table of **{a.rows:,} rows × 10 columns** — `ts` timestamp[us] "
        f"(the index), `symbol` (entity, {len(SYMBOLS)} values), `price`/`bid`/`ask` float64, `volume`/`trade_id` "
        "int64, `venue`/`note` string, `is_buy` bool; row k is symbol k mod 5 at second k div 5 after "
        "2024-01-01 plus a sub-second offset, so every (symbol, second) is distinct. Written once to Parquet "
        f"({data_mb:.1f} MB, pyarrow defaults), which every child reads back (not timed) to get the Table.",
        "- Tables: `create(index_column=\"ts\", index_type=\"timestamp\", bucket=\"1s\", entity_columns=[\"symbol\"])` (ours with `protocol=6`, so that 0.4.0 reads them).",
        "- Each measurement is one process (the two packages share an import name): ours runs in `.venv` "
        "(the package pip-installed there), the reference in `.deps/refvenv`. "
        "`time.perf_counter` around the operation only; \"process wall\" is the whole child "
        "(interpreter start, imports, reading the data, the operation, the answer check) timed by the parent; "
        "peak RSS is the child's own high-water mark (`VmHWM` of /proc/self/status: `getrusage`'s ru_maxrss would carry the parent's peak across fork + exec).",
        f"- {a.repeat} repetitions of everything: the appends first (systems interleaved within a repetition, a "
        "fresh table each time), then the queries (interleaved likewise) on the tables of the last append "
        "repetition: ours' `append(table)` table and the reference's `append_parquet` table. Every system "
        "queries both, its own and the other's. Median, min and max of the repetitions.",
        "- The reference path for a pyarrow Table is `pyarrow.parquet.write_table(table, file)` (pyarrow "
        "defaults: snappy) to a file outside the table root, then `append_parquet(file)` (which copies it in); "
        "ours runs the same two lines too. Ours' `append(table)` re-encodes through DuckDB (zstd by default).", "",
        "## Machine", "",
        f"- CPU: {facts['cpu']}, `nproc` = {facts['nproc']}; memory {facts['mem']}; {facts['os']}; "
        "shared with other work (other jobs may have run at the same time)",
        f"- Python {facts['python']}; ours: timeseries_table_format {pick(results, system='ours')[0]['version']} "
        f"(pip-installed into `.venv` by scripts/test.sh, built by CMake in `build-py/`, "
        f"{facts['build']}), DuckDB {facts['duckdb']}; reference: "
        f"timeseries-table-format {pick(results, system='ref')[0]['version']} (wheel, DataFusion "
        f"{facts['datafusion']}); pyarrow {pick(results, system='ours')[0]['pyarrow']} (ours) / "
        f"{pick(results, system='ref')[0]['pyarrow']} (reference); polars {facts['polars']}", "",
        "## Results", "", "Milliseconds unless said otherwise.", ""]
    lines += append_section(results) + [""]
    for query in QUERIES:
        lines += query_section(results, query, hour) + [""]
    lines += polars_section(results) + [""] + schema_section(results) + [""]
    lines += overhead_section(results) + [""] + answers_section(want) + [""]
    lines += ["## Command", "", "```sh",
              f".venv/bin/python bench/python_api.py{(' ' + argv) if argv else ''}", "```", "",
              "`--tiny` (10,000 rows, 1 repetition, report to a temporary file) is the smoke run in "
              "`scripts/test.sh`.", "", MARKER]
    with open(path, "w") as f:
        f.write("\n".join(lines) + (kept if kept else "\n"))


# --- main ---------------------------------------------------------------------

def parse_args():
    p = argparse.ArgumentParser(description="Python-level cost of sql() and append(), ours vs the reference 0.4.0")
    p.add_argument("--rows", type=int, default=1_000_000)
    p.add_argument("--repeat", type=int, default=5)
    p.add_argument("--out", help="report path (default docs/benchmarks/python.md; --tiny: a temporary file)")
    p.add_argument("--tiny", action="store_true", help="10,000 rows, 1 repetition (a smoke run)")
    p.add_argument("--work", help="scratch folder (default: a new one under $TMPDIR, removed at the end)")
    # The child's arguments (internal).
    p.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    for name in ("--system", "--op", "--how", "--query", "--data", "--table-root", "--scratch"):
        p.add_argument(name, help=argparse.SUPPRESS)
    p.add_argument("--hour", type=int, default=0, help=argparse.SUPPRESS)
    a = p.parse_args()
    if a.tiny:
        a.rows, a.repeat = 10_000, 1
    if a.rows < len(SYMBOLS) or a.repeat < 1:
        p.error(f"--rows must be at least {len(SYMBOLS)} and --repeat at least 1")
    return a


def main():
    a = parse_args()
    if a.child:
        return child_main(a)
    for py, what in ((OURS_PY, "the project venv (scripts/deps.sh)"), (REF_PY, "the reference venv (scripts/deps.sh)")):
        if not os.access(py, os.X_OK):
            sys.exit(f"python_api.py: {py} missing: make {what} first")
    started = datetime.datetime.now(datetime.timezone.utc)
    t_start = time.perf_counter()
    log = lambda m: print(m, file=sys.stderr, flush=True)  # noqa: E731
    work = a.work or tempfile.mkdtemp(prefix="tstable-pybench-")
    os.makedirs(work, exist_ok=True)
    out = a.out
    if not out and a.tiny:
        fd, out = tempfile.mkstemp(prefix="tstable-pybench-", suffix=".md")
        os.close(fd)
    out = out or os.path.join(ROOT, "docs", "benchmarks", "python.md")
    try:
        data = os.path.join(work, "data.parquet")
        log(f"== data: {a.rows:,} rows -> {data}")
        table = make_data(a.rows, data)
        hour = (a.rows // len(SYMBOLS)) // 2 // 3600  # an hour in the middle of the data
        want = expected_answers(table, hour)
        del table
        runner = Runner(work, data, hour)
        log(f"== measuring, {a.repeat} repetition(s)")
        measure(runner, a.repeat, log)
        verify(runner.results, want)
        log("== every answer agrees with the source table")
        facts = machine_facts()
        write_report(out, a, runner.results, want, facts, started, time.perf_counter() - t_start, hour,
                     os.path.getsize(data) / 1e6)
        log(f"== report: {out}")
    finally:
        if not a.work:
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
