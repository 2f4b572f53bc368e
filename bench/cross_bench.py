#!/usr/bin/env python3
"""cross_bench.py — the measurements of the cross-system benchmark.

Started by bench/run.sh, which builds the programs, installs the peers and
generates the data first; run it alone only with the same arguments:

  cross_bench.py --data DIR --work DIR --bin DIR --out RESULTS.csv
                 [--runs N] [--systems a,b,...] [--reject-day K]

DIR holds fhvhv_2024-04.parquet and daily/fhvhv_YYYY-MM-DD.parquet (from
`bench_append generate`) and csv/ (the same files as CSV, NULL written \\N,
for the systems that load CSV). Every operation is one whole client process
(the way each system's users run it from a shell), timed with
time.monotonic() around it and run under GNU `/usr/bin/time -v`, whose
"Maximum resident set size" is the client's peak memory. For the two servers
(PostgreSQL, ClickHouse) a thread samples the server's processes every
50 ms while the operation runs and keeps the peak of their summed
proportional set size (Pss, /proc/PID/smaps_rollup), so shared buffers are
counted once. Nothing is asserted: a failed operation is recorded with its
exit code and the first line of its stderr.

Output: one CSV row per measurement:
  system,op,run,ms,client_peak_kb,server_peak_kb,rc,result,note
and, for each system, rows op=bytes_bulk / bytes_daily (ms column empty,
result = bytes) and op=config (note = the setup, for the report).
"""
import argparse
import csv
import datetime
import glob
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time

START = "2024-04-15 00:00:00"  # first day of the bulk month + 14 days
END = "2024-04-22 00:00:00"  # + 21 days
MONTH_START = "2024-04-01 00:00:00"
MONTH_END = "2024-05-01 00:00:00"
MONTH_HOURS = 720
MIN_MILES = "2.0"
PG_BIN = "/usr/lib/postgresql/15/bin"

COLUMNS = [
    ("hvfhs_license_num", "text"), ("dispatching_base_num", "text"),
    ("originating_base_num", "text"), ("request_datetime", "ts"),
    ("on_scene_datetime", "ts"), ("pickup_datetime", "ts"), ("dropoff_datetime", "ts"),
    ("PULocationID", "int"), ("DOLocationID", "int"), ("trip_miles", "float"),
    ("trip_time", "int"), ("base_passenger_fare", "float"), ("tolls", "float"),
    ("bcf", "float"), ("sales_tax", "float"), ("congestion_surcharge", "float"),
    ("airport_fee", "float"), ("tips", "float"), ("driver_pay", "float"),
    ("shared_request_flag", "text"), ("shared_match_flag", "text"),
    ("access_a_ride_flag", "text"), ("wav_request_flag", "text"), ("wav_match_flag", "text"),
]
NULLABLE = {"originating_base_num", "on_scene_datetime"}


def std_queries(hour_expr, bin_expr=None):
    """Q1..Q6 in standard SQL; hour_expr(col) is the system's hour truncation,
    bin_expr(col) its one-hour bin (Q6: DataFusion's date_bin(INTERVAL '1 hour',
    col) in the reference's benchmark; systems without date_bin use their
    nearest function)."""
    bin_expr = bin_expr or hour_expr
    where = f"pickup_datetime >= '{START}' AND pickup_datetime < '{END}'"
    return {
        "Q1": f"SELECT * FROM trips WHERE {where}",
        "Q2": f"SELECT COUNT(*), SUM(trip_miles) FROM trips WHERE {where}",
        "Q3": f"SELECT COUNT(*), SUM(base_passenger_fare) FROM trips WHERE {where} "
              f"AND trip_miles > {MIN_MILES}",
        "Q4": f'SELECT "PULocationID", COUNT(*) FROM trips WHERE {where} GROUP BY "PULocationID"',
        "Q5": f"SELECT {hour_expr('pickup_datetime')} AS hour, COUNT(*) FROM trips WHERE {where} "
              f"GROUP BY hour ORDER BY hour",
        "Q6": f"SELECT {bin_expr('pickup_datetime')} AS hour, COUNT(*) FROM trips WHERE {where} "
              f"GROUP BY hour ORDER BY hour",
    }


def duckdb_coverage_sql():
    hours = (f"SELECT generate_series AS hour FROM generate_series(TIMESTAMP '{MONTH_START}', "
             f"TIMESTAMP '{MONTH_END}' - INTERVAL 1 HOUR, INTERVAL 1 HOUR)")
    seen = (f"SELECT DISTINCT date_trunc('hour', pickup_datetime) AS hour FROM trips "
            f"WHERE pickup_datetime >= '{MONTH_START}' AND pickup_datetime < '{MONTH_END}'")
    frac = (f"WITH h AS ({hours}), d AS ({seen}) SELECT (count(d.hour)::DOUBLE / count(*))::VARCHAR "
            f"FROM h LEFT JOIN d ON h.hour = d.hour")
    missing = (f"WITH h AS ({hours}), d AS ({seen}) SELECT h.hour::VARCHAR FROM h "
               f"LEFT JOIN d ON h.hour = d.hour WHERE d.hour IS NULL ORDER BY h.hour")
    return frac, missing


# ---------------------------------------------------------------- measuring

class PssSampler:
    """Peak summed Pss (kB) of a set of processes, sampled every 50 ms."""

    def __init__(self, pids_fn):
        self.pids_fn, self.peak, self._stop = pids_fn, 0, threading.Event()
        self._t = threading.Thread(target=self._run, daemon=True)

    @staticmethod
    def pss(pid):
        try:
            with open(f"/proc/{pid}/smaps_rollup") as f:
                for line in f:
                    if line.startswith("Pss:"):
                        return int(line.split()[1])
        except OSError:
            pass
        return 0

    def _run(self):
        while True:
            self.peak = max(self.peak, sum(self.pss(p) for p in self.pids_fn()))
            if self._stop.wait(0.05):
                break

    def __enter__(self):
        self._t.start()
        return self

    def __exit__(self, *exc):
        self._stop.set()
        self._t.join()


def children_of(root_pid):
    """root_pid and its descendants (from /proc/*/stat)."""
    parent = {}
    for d in os.listdir("/proc"):
        if d.isdigit():
            try:
                with open(f"/proc/{d}/stat") as f:
                    parent[int(d)] = int(f.read().rsplit(")", 1)[1].split()[1])
            except (OSError, IndexError, ValueError):
                pass
    out, frontier = {root_pid}, [root_pid]
    while frontier:
        p = frontier.pop()
        for c, pp in parent.items():
            if pp == p and c not in out:
                out.add(c)
                frontier.append(c)
    return out


class Runner:
    def __init__(self, out_path):
        self.f = open(out_path, "w", newline="")
        self.w = csv.writer(self.f)
        self.w.writerow(["system", "op", "run", "ms", "client_peak_kb", "server_peak_kb", "rc",
                         "result", "note"])

    def record(self, system, op, run, ms="", client_kb="", server_kb="", rc="", result="", note=""):
        self.w.writerow([system, op, run, ms, client_kb, server_kb, rc, result, note])
        self.f.flush()

    def time(self, system, op, run, cmd, server_pids=None, stdin_path=None, parse=None,
             env=None, inner=False):
        """Run cmd (a shell string, bash) once; record and return (rc, stdout)."""
        tf = tempfile.NamedTemporaryFile(prefix="gnutime", delete=False)
        tf.close()
        argv = ["/usr/bin/time", "-v", "-o", tf.name, "bash", "-c", "set -o pipefail; " + cmd]
        stdin = open(stdin_path, "rb") if stdin_path else subprocess.DEVNULL
        sampler = PssSampler(server_pids) if server_pids else None
        if sampler:
            sampler.__enter__()
        t0 = time.monotonic()
        p = subprocess.run(argv, stdin=stdin, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                           env=env)
        ms = (time.monotonic() - t0) * 1e3
        if sampler:
            sampler.__exit__()
        if stdin_path:
            stdin.close()
        kb = ""
        with open(tf.name) as f:
            for line in f:
                if "Maximum resident set size" in line:
                    kb = int(line.split(":")[1])
        os.unlink(tf.name)
        out = p.stdout.decode(errors="replace")
        err = p.stderr.decode(errors="replace").strip().splitlines()
        err = [e for e in err if not e.startswith("Command exited with non-zero status")]
        result = parse(out) if (parse and p.returncode == 0) else ""
        note = "" if p.returncode == 0 else (([e for e in err if e.startswith("peers: ")] or err or ["failed"])[0][:200])
        if inner and p.returncode == 0:  # the time inside the API call, printed by bench/peers.py
            wall = ms
            ms = float(out.split("inner_ms=")[1].split()[0])
            note = f"in-process; whole process {wall:.0f} ms"
        self.record(system, op, run, f"{ms:.1f}", kb, sampler.peak if sampler else "",
                    p.returncode, result, note)
        print(f"  {system:16s} {op:10s} run {run}: {ms:9.1f} ms rc={p.returncode} {result} {note}",
              file=sys.stderr, flush=True)
        return p.returncode, out, "\n".join(err)


def sh(cmd, check=True, capture=True):
    p = subprocess.run(["bash", "-c", "set -o pipefail; " + cmd], stdout=subprocess.PIPE if capture
                       else None, stderr=subprocess.PIPE if capture else None)
    if check and p.returncode != 0:
        raise RuntimeError(f"{cmd}: {p.stderr.decode(errors='replace') if capture else ''}")
    return p.stdout.decode(errors="replace") if capture else ""


def q(s):
    """A shell single-quoted word."""
    return "'" + s.replace("'", "'\"'\"'") + "'"


def du_bytes(path):
    total = 0
    for root, _dirs, files in os.walk(path):
        for n in files:
            try:
                total += os.lstat(os.path.join(root, n)).st_size
            except OSError:
                pass
    return total if os.path.isdir(path) else os.path.getsize(path)


def first_line(out):
    return out.strip().splitlines()[-1] if out.strip() else ""


def line_count(out):
    return out.strip().splitlines()[-1].strip() if out.strip() else ""


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


# ---------------------------------------------------------------- systems
# Every system: name, config (text for the report), start(), stop(),
# bulk(run) -> fresh bulk table from the month, daily_init(), daily(day_file),
# query(name, sql), coverage ops, reappend(day_file), count(where), bytes.

class Tstable:
    name = "tstable"

    def __init__(self, a):
        self.a, self.bin = a, os.path.join(a.bin, "tstable")
        self.root = os.path.join(a.work, "tstable")
        self.bulk_t = os.path.join(self.root, "bulk", "trips")
        self.daily_t = os.path.join(self.root, "daily", "trips")
        self.queries = std_queries(lambda c: f"date_trunc('hour', {c})",
                                   lambda c: f"date_bin(INTERVAL '1 hour', {c})")
        self.config = ("`tstable` CLI (Release build), one process per command: `tstable create "
                       "--index-column pickup_datetime --bucket 1s --protocol 6` (no entities; "
                       "format_version 6, because taxi trips share pickup seconds and protocol 7 "
                       "allows one row per index interval), `tstable append "
                       "--parquet FILE`, `tstable query --table T --sql SQL --max-rows 0`; "
                       "fsync on; reads the Parquet files directly")

    def start(self):
        shutil.rmtree(self.root, ignore_errors=True)

    def stop(self):
        pass

    def _create(self, t):
        shutil.rmtree(t, ignore_errors=True)
        # Protocol 7 allows one row per (entity, index interval); trips share pickup
        # seconds and have no entity, so the table is format_version 6 (bucket semantics).
        sh(f"{self.bin} create --table {q(t)} --index-column pickup_datetime --bucket 1s "
           "--protocol 6")

    def bulk(self, R, run):
        self._create(self.bulk_t)
        R.time(self.name, "bulk", run, f"{self.bin} append --table {q(self.bulk_t)} --parquet "
               f"{q(self.a.bulk)} >/dev/null")

    def daily_init(self):
        self._create(self.daily_t)

    def daily(self, R, i, f, op="daily"):
        return R.time(self.name, op, i, f"{self.bin} append --table {q(self.daily_t)} --parquet {q(f)}")

    def query(self, R, name, run, sql, print_rows=False):
        parse = (lambda o: o.strip().splitlines()[-1].split(":")[1].strip()) if not print_rows else None
        return R.time(self.name, name, run, f"{self.bin} query --table {q(self.daily_t)} --sql {q(sql)} "
                      f"--max-rows {'1000000' if print_rows else '0'}", parse=parse)

    def coverage(self, R, run):
        frac, missing = duckdb_coverage_sql()
        R.time(self.name, "cov_frac", run, f"{self.bin} coverage --table {q(self.daily_t)} --start "
               f"2024-04-01 --end 2024-05-01 --format json",
               parse=lambda o: "1s buckets: %.2f %%" % (100 * float(o.split('"ratio":')[1].split(",")[0])))
        R.time(self.name, "cov_gaps", run, f"{self.bin} gaps --table {q(self.daily_t)} --start "
               f"2024-04-01 --end 2024-05-01 --format json | tr '{{' '\\n' | grep -c start",
               parse=lambda o: o.strip() + " gaps of 1s buckets")
        R.time(self.name + " (SQL)", "cov_frac", run, f"{self.bin} query --table {q(self.daily_t)} "
               f"--sql {q(frac)} --format csv", parse=lambda o: "hours " + o.strip().splitlines()[-1])
        R.time(self.name + " (SQL)", "cov_gaps", run, f"{self.bin} query --table {q(self.daily_t)} "
               f"--sql {q(missing)} --max-rows 0", parse=lambda o: o.strip().splitlines()[-1]
               .split(":")[1].strip() + " missing hours")

    def count(self, sql):
        out = sh(f"{self.bin} query --table {q(self.daily_t)} --sql {q(sql)} --format csv")
        return out.strip().splitlines()[-1]

    def sizes(self):
        return du_bytes(self.bulk_t), du_bytes(self.daily_t)


class DuckNative:
    name = "DuckDB table"

    def __init__(self, a):
        self.a, self.bin = a, os.path.join(a.bin, "duckdb_runner")
        self.root = os.path.join(a.work, "duckdb")
        self.bulk_db = os.path.join(self.root, "bulk.duckdb")
        self.daily_db = os.path.join(self.root, "daily.duckdb")
        self.queries = std_queries(lambda c: f"date_trunc('hour', {c})",
                                   lambda c: f"time_bucket(INTERVAL 1 HOUR, {c})")
        self.config = ("DuckDB 1.4.4 (the library tstable links), persistent database file, "
                       "default settings (threads = cores, memory_limit 80 % of RAM), driven by "
                       "`bench/duckdb_runner` (a 100-line CLI over DuckDB's C API; rows are fetched "
                       "and counted, not printed). Bulk: `CREATE TABLE trips AS SELECT * FROM "
                       "read_parquet(month)`; daily: `INSERT INTO trips SELECT * FROM read_parquet(day)`; "
                       "no index (DuckDB's zone maps / min-max per row group serve the range filters)")

    def start(self):
        shutil.rmtree(self.root, ignore_errors=True)
        os.makedirs(self.root)

    def stop(self):
        pass

    def _rm(self, db):
        for p in (db, db + ".wal"):
            if os.path.exists(p):
                os.unlink(p)

    def bulk(self, R, run):
        self._rm(self.bulk_db)
        R.time(self.name, "bulk", run, f"{self.bin} {q(self.bulk_db)} {q(f'CREATE TABLE trips AS SELECT * FROM read_parquet({sqlstr(self.a.bulk)})')}")

    def daily_init(self):
        self._rm(self.daily_db)
        sh(f"{self.bin} {q(self.daily_db)} {q(f'CREATE TABLE trips AS SELECT * FROM read_parquet({sqlstr(self.a.bulk)}) LIMIT 0')}")

    def daily(self, R, i, f, op="daily"):
        return R.time(self.name, op, i, f"{self.bin} {q(self.daily_db)} {q(f'INSERT INTO trips SELECT * FROM read_parquet({sqlstr(f)})')}")

    def _run(self, sql, print_rows):
        return f"{self.bin} {q(self.daily_db)} {'--print ' if print_rows else ''}{q(sql)}"

    def query(self, R, name, run, sql, print_rows=False):
        return R.time(self.name, name, run, self._run(sql, print_rows),
                      parse=None if print_rows else (lambda o: o.strip().split()[-1]))

    def coverage(self, R, run):
        frac, missing = duckdb_coverage_sql()
        R.time(self.name, "cov_frac", run, self._run(frac, True),
               parse=lambda o: "hours " + o.strip())
        R.time(self.name, "cov_gaps", run, self._run(missing, False),
               parse=lambda o: o.strip().split()[-1] + " missing hours")

    def count(self, sql):
        return sh(self._run(sql, True)).strip()

    def sizes(self):
        return du_bytes(self.bulk_db), du_bytes(self.daily_db)


def sqlstr(s):
    return "'" + s.replace("'", "''") + "'"


class DuckParquet(DuckNative):
    name = "DuckDB+Parquet"

    def __init__(self, a):
        super().__init__(a)
        self.root = os.path.join(a.work, "parquet")
        self.bulk_dir = os.path.join(self.root, "bulk")
        self.daily_dir = os.path.join(self.root, "daily")
        self.config = ("DuckDB 1.4.4 over the raw Parquet files, no database: each command is "
                       "`CREATE VIEW trips AS SELECT * FROM read_parquet('DIR/*.parquet'); <query>` "
                       "in a fresh in-memory DuckDB (`bench/duckdb_runner :memory:`). Ingest = copying "
                       "the file into DIR (`cp`), which is all its users do")

    def start(self):
        shutil.rmtree(self.root, ignore_errors=True)
        os.makedirs(self.root)

    def bulk(self, R, run):
        shutil.rmtree(self.bulk_dir, ignore_errors=True)
        os.makedirs(self.bulk_dir)
        R.time(self.name, "bulk", run, f"cp {q(self.a.bulk)} {q(self.bulk_dir)}/")

    def daily_init(self):
        shutil.rmtree(self.daily_dir, ignore_errors=True)
        os.makedirs(self.daily_dir)

    def daily(self, R, i, f, op="daily"):
        dest = os.path.join(self.daily_dir, os.path.basename(f))
        if os.path.exists(dest):  # a re-append lands under a new name, as a re-delivered file would
            dest = dest.replace(".parquet", "-again.parquet")
        return R.time(self.name, op, i, f"cp {q(f)} {q(dest)}")

    def _run(self, sql, print_rows):
        view = f"CREATE VIEW trips AS SELECT * FROM read_parquet({sqlstr(self.daily_dir + '/*.parquet')})"
        return f"{self.bin} :memory: {'--print ' if print_rows else ''}{q(view + '; ' + sql)}"

    def sizes(self):
        return du_bytes(self.bulk_dir), du_bytes(self.daily_dir)


def csv_of(a, parquet):
    base = os.path.basename(parquet).replace(".parquet", ".csv")
    return os.path.join(a.data, "csv", base)


class Postgres:
    name = "PostgreSQL"

    def __init__(self, a):
        self.a = a
        self.root = os.path.join(a.work, "pg")
        self.port = free_port()
        self.psql = f"psql -X -q -h 127.0.0.1 -p {self.port} -U postgres -v ON_ERROR_STOP=1"
        self.queries = std_queries(lambda c: f"date_trunc('hour', {c})",
                                   lambda c: f"date_bin('1 hour', {c}, TIMESTAMP '2000-01-01')")
        types = {"text": "text", "ts": "timestamp", "int": "bigint", "float": "double precision"}
        self.ddl = "CREATE TABLE trips (" + ", ".join(
            f'"{c}" {types[t]}' for c, t in COLUMNS) + ")"
        self.index = "CREATE INDEX trips_pickup ON trips (pickup_datetime)"
        self.config = ""

    def pids(self):
        try:
            with open(os.path.join(self.root, "data", "postmaster.pid")) as f:
                return children_of(int(f.readline()))
        except (OSError, ValueError):
            return set()

    def start(self):
        shutil.rmtree(self.root, ignore_errors=True)
        os.makedirs(self.root)
        shutil.chown(self.root, "postgres")
        data = os.path.join(self.root, "data")
        sh(f"runuser -u postgres -- {PG_BIN}/initdb -D {q(data)} -U postgres --auth=trust "
           f"-E UTF8 --locale=C >/dev/null")
        sh(f"runuser -u postgres -- {PG_BIN}/pg_ctl -D {q(data)} -l {q(self.root)}/log -w "
           f"-o {q(f'-p {self.port} -k {self.root} -c listen_addresses=127.0.0.1')} start >/dev/null")
        ver = sh(f"{self.psql} -Atc 'SHOW server_version'").strip()
        sb = sh(f"{self.psql} -Atc 'SHOW shared_buffers'").strip()
        wm = sh(f"{self.psql} -Atc 'SHOW work_mem'").strip()
        mwm = sh(f"{self.psql} -Atc 'SHOW maintenance_work_mem'").strip()
        self.config = (f"PostgreSQL {ver} (Debian), fresh `initdb --locale=C -E UTF8` in a scratch "
                       f"folder, started with `pg_ctl` on 127.0.0.1:{self.port} as user postgres; "
                       f"every setting default (shared_buffers {sb}, work_mem {wm}, "
                       f"maintenance_work_mem {mwm}, fsync on, max_parallel_workers_per_gather 2). "
                       f"Table: 24 columns (text, timestamp, bigint, double precision), B-tree index "
                       f"on pickup_datetime. Bulk: `\\copy trips FROM month.csv csv header null '\\N'` "
                       f"into a fresh database, then CREATE INDEX and ANALYZE; daily: `\\copy` into the "
                       f"indexed table (autovacuum keeps statistics). Client: `psql` "
                       f"(rows printed unaligned to a pipe and counted with `wc -l`)")

    def stop(self):
        sh(f"runuser -u postgres -- {PG_BIN}/pg_ctl -D {q(self.root)}/data -m fast -w stop "
           f">/dev/null", check=False)

    def _db(self, db):
        return f"{self.psql} -d {db}"

    def _recreate(self, db, with_index):
        sh(f"{self.psql} -c 'DROP DATABASE IF EXISTS {db}' -c 'CREATE DATABASE {db}'")
        sh(f"{self._db(db)} -c {q(self.ddl)}" + (f" -c {q(self.index)}" if with_index else ""))

    def _copy(self, f):
        return q(f"\\copy trips FROM {sqlstr(f)} WITH (FORMAT csv, HEADER, NULL '\\N')")

    def bulk(self, R, run):
        self._recreate("bulk", False)
        R.time(self.name, "bulk", run, f"{self._db('bulk')} -c {self._copy(csv_of(self.a, self.a.bulk))} "
               f"-c {q(self.index)} -c 'ANALYZE trips'", server_pids=self.pids)

    def daily_init(self):
        self._recreate("daily", True)

    def daily(self, R, i, f, op="daily"):
        return R.time(self.name, op, i, f"{self._db('daily')} -c {self._copy(csv_of(self.a, f))}",
                      server_pids=self.pids)

    def query(self, R, name, run, sql, print_rows=False):
        if print_rows:
            return R.time(self.name, name, run, f"{self._db('daily')} -At -F $'\\t' -c {q(sql)}",
                          server_pids=self.pids)
        return R.time(self.name, name, run, f"{self._db('daily')} -At -c {q(sql)} | wc -l",
                      server_pids=self.pids, parse=line_count)

    def coverage(self, R, run):
        hours = (f"SELECT generate_series(TIMESTAMP '{MONTH_START}', TIMESTAMP '{MONTH_END}' - "
                 f"INTERVAL '1 hour', INTERVAL '1 hour') AS hour")
        seen = (f"SELECT DISTINCT date_trunc('hour', pickup_datetime) AS hour FROM trips WHERE "
                f"pickup_datetime >= '{MONTH_START}' AND pickup_datetime < '{MONTH_END}'")
        frac = (f"WITH h AS ({hours}), d AS ({seen}) SELECT count(d.hour)::float8 / count(*) "
                f"FROM h LEFT JOIN d ON h.hour = d.hour")
        missing = (f"WITH h AS ({hours}), d AS ({seen}) SELECT h.hour FROM h LEFT JOIN d ON "
                   f"h.hour = d.hour WHERE d.hour IS NULL ORDER BY h.hour")
        R.time(self.name, "cov_frac", run, f"{self._db('daily')} -At -c {q(frac)}",
               server_pids=self.pids, parse=lambda o: "hours " + o.strip())
        R.time(self.name, "cov_gaps", run, f"{self._db('daily')} -At -c {q(missing)} | wc -l",
               server_pids=self.pids, parse=lambda o: o.strip() + " missing hours")

    def count(self, sql):
        return sh(f"{self._db('daily')} -At -F $'\\t' -c {q(sql)}").strip()

    def sizes(self):
        out = []
        for db in ("bulk", "daily"):
            out.append(int(sh(f"{self._db(db)} -Atc \"SELECT pg_total_relation_size('trips')\"")))
        return tuple(out)


class Sqlite:
    name = "SQLite"

    def __init__(self, a):
        self.a = a
        self.root = os.path.join(a.work, "sqlite")
        self.bulk_db = os.path.join(self.root, "bulk.db")
        self.daily_db = os.path.join(self.root, "daily.db")
        types = {"text": "TEXT", "ts": "TEXT", "int": "INTEGER", "float": "REAL"}
        self.ddl = "CREATE TABLE trips (" + ", ".join(f'"{c}" {types[t]}' for c, t in COLUMNS) + ");"
        self.index = "CREATE INDEX trips_pickup ON trips (pickup_datetime);"
        self.queries = std_queries(lambda c: f"strftime('%Y-%m-%d %H:00:00', {c})")
        ver = sh("sqlite3 --version").split()[0]
        self.config = (f"SQLite {ver} (Debian `sqlite3` CLI), one database file, default pragmas "
                       f"(journal_mode=delete, synchronous=full, 2 MB page cache). Table with declared "
                       f"types (timestamps as ISO-8601 TEXT 'YYYY-MM-DD HH:MM:SS', ints INTEGER, money "
                       f"REAL), index on pickup_datetime. Load: `.import --csv --skip 1 FILE trips` "
                       f"(the CLI wraps it in one transaction); bulk creates the index after the "
                       f"import, daily imports into the indexed table. The CSV's NULL marker `\\N` "
                       f"stays text in the two nullable columns (`.import` has no NULL option; no "
                       f"query reads them). Hour = strftime('%Y-%m-%d %H:00:00', pickup_datetime)")

    def start(self):
        shutil.rmtree(self.root, ignore_errors=True)
        os.makedirs(self.root)

    def stop(self):
        pass

    def _fresh(self, db, with_index):
        if os.path.exists(db):
            os.unlink(db)
        sh(f"sqlite3 {q(db)} {q(self.ddl + (self.index if with_index else ''))}")

    def bulk(self, R, run):
        self._fresh(self.bulk_db, False)
        R.time(self.name, "bulk", run, f"sqlite3 {q(self.bulk_db)} "
               f"{q('.import --csv --skip 1 ' + csv_of(self.a, self.a.bulk) + ' trips')} {q(self.index)}")

    def daily_init(self):
        self._fresh(self.daily_db, True)

    def daily(self, R, i, f, op="daily"):
        return R.time(self.name, op, i, f"sqlite3 {q(self.daily_db)} "
                      f"{q('.import --csv --skip 1 ' + csv_of(self.a, f) + ' trips')}")

    def query(self, R, name, run, sql, print_rows=False):
        if print_rows:
            return R.time(self.name, name, run, f"sqlite3 -separator $'\\t' {q(self.daily_db)} {q(sql)}")
        return R.time(self.name, name, run, f"sqlite3 {q(self.daily_db)} {q(sql)} | wc -l",
                      parse=line_count)

    def coverage(self, R, run):
        hours = (f"WITH RECURSIVE h(hour) AS (SELECT '{MONTH_START}' UNION ALL SELECT "
                 f"strftime('%Y-%m-%d %H:%M:%S', hour, '+1 hour') FROM h WHERE hour < "
                 f"strftime('%Y-%m-%d %H:%M:%S', '{MONTH_END}', '-1 hour')), "
                 f"d AS (SELECT DISTINCT strftime('%Y-%m-%d %H:00:00', pickup_datetime) AS hour "
                 f"FROM trips WHERE pickup_datetime >= '{MONTH_START}' AND pickup_datetime < "
                 f"'{MONTH_END}') ")
        frac = hours + "SELECT CAST(count(d.hour) AS REAL) / count(*) FROM h LEFT JOIN d ON h.hour = d.hour"
        missing = hours + ("SELECT h.hour FROM h LEFT JOIN d ON h.hour = d.hour WHERE d.hour IS "
                           "NULL ORDER BY h.hour")
        R.time(self.name, "cov_frac", run, f"sqlite3 {q(self.daily_db)} {q(frac)}",
               parse=lambda o: "hours " + o.strip())
        R.time(self.name, "cov_gaps", run, f"sqlite3 {q(self.daily_db)} {q(missing)} | wc -l",
               parse=lambda o: o.strip() + " missing hours")

    def count(self, sql):
        return sh(f"sqlite3 -separator $'\\t' {q(self.daily_db)} {q(sql)}").strip()

    def sizes(self):
        return du_bytes(self.bulk_db), du_bytes(self.daily_db)


class ClickHouse:
    name = "ClickHouse"

    def __init__(self, a):
        self.a = a
        self.root = os.path.join(a.work, "clickhouse")
        self.port, self.http, self.inter = free_port(), free_port(), free_port()
        self.client = f"clickhouse-client --host 127.0.0.1 --port {self.port}"
        types = {"text": "String", "ts": "DateTime", "int": "Int64", "float": "Float64"}
        self.ddl = "CREATE TABLE {db}.trips (" + ", ".join(
            f"{c} {'Nullable(' + types[t] + ')' if c in NULLABLE else types[t]}" for c, t in COLUMNS
        ) + ") ENGINE = MergeTree() PARTITION BY toYYYYMM(pickup_datetime) ORDER BY pickup_datetime"
        self.queries = std_queries(lambda c: f"toStartOfHour({c})")
        self.proc = None
        self.config = ""

    def pids(self):
        return children_of(self.proc.pid) if self.proc else set()

    def start(self):
        shutil.rmtree(self.root, ignore_errors=True)
        os.makedirs(os.path.join(self.root, "data"))
        os.makedirs(os.path.join(self.root, "log"))
        r = self.root
        with open("/etc/clickhouse-server/config.xml") as f:
            cfg = f.read()
        cfg = (cfg.replace("/var/log/clickhouse-server/", f"{r}/log/")
               .replace("/var/lib/clickhouse/", f"{r}/data/")
               .replace("<http_port>8123</http_port>", f"<http_port>{self.http}</http_port>")
               .replace("<tcp_port>9000</tcp_port>", f"<tcp_port>{self.port}</tcp_port>")
               .replace("<interserver_http_port>9009</interserver_http_port>",
                        f"<interserver_http_port>{self.inter}</interserver_http_port>")
               .replace("<listen_host>::1</listen_host>", "")
               .replace("<users_config>users.xml</users_config>",
                        "<users_config>/etc/clickhouse-server/users.xml</users_config>"))
        cfg = cfg.replace("</yandex>", "<timezone>UTC</timezone></yandex>", 1) \
            if "<timezone>" not in cfg.split("<!--")[0] else cfg
        with open(os.path.join(r, "config.xml"), "w") as f:
            f.write(cfg)
        sh(f"chown -R clickhouse {q(r)}")
        self.proc = subprocess.Popen(
            ["runuser", "-u", "clickhouse", "--", "/usr/sbin/clickhouse-server",
             f"--config-file={r}/config.xml"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
            start_new_session=True)
        for _ in range(100):
            if subprocess.run(f"{self.client} -q 'SELECT 1'", shell=True,
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL).returncode == 0:
                break
            time.sleep(0.2)
        ver = sh(f"{self.client} -q 'SELECT version()'").strip()
        self.config = (f"ClickHouse {ver} (Debian bookworm's clickhouse-server, the only one "
                       f"in Debian), its default config.xml/users.xml with only paths, ports "
                       f"and timezone=UTC changed, run as user clickhouse. Table: MergeTree, "
                       f"PARTITION BY toYYYYMM(pickup_datetime) ORDER BY pickup_datetime, "
                       f"DateTime (seconds) timestamps, Nullable for the two nullable columns. "
                       f"Load: `clickhouse-client -q 'INSERT INTO trips FORMAT CSVWithNames' < "
                       f"FILE.csv`. Hour = toStartOfHour(); 18.16 has no date_trunc. Rows of Q1 "
                       f"are printed as TSV to a pipe and counted with `wc -l`")

    def stop(self):
        if self.proc:
            os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(30)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait()
            self.proc = None

    def _recreate(self, db):
        sh(f"{self.client} -q 'DROP DATABASE IF EXISTS {db}'")
        sh(f"{self.client} -q 'CREATE DATABASE {db}'")
        sh(f"{self.client} -q {q(self.ddl.format(db=db))}")

    def bulk(self, R, run):
        self._recreate("bulk")
        R.time(self.name, "bulk", run, f"{self.client} -d bulk -q 'INSERT INTO trips FORMAT "
               f"CSVWithNames'", stdin_path=csv_of(self.a, self.a.bulk), server_pids=self.pids)

    def daily_init(self):
        self._recreate("daily")

    def daily(self, R, i, f, op="daily"):
        return R.time(self.name, op, i, f"{self.client} -d daily -q 'INSERT INTO trips FORMAT "
                      f"CSVWithNames'", stdin_path=csv_of(self.a, f), server_pids=self.pids)

    def query(self, R, name, run, sql, print_rows=False):
        if print_rows:
            return R.time(self.name, name, run, f"{self.client} -d daily -q {q(sql + ' FORMAT TSV')}",
                          server_pids=self.pids)
        return R.time(self.name, name, run, f"{self.client} -d daily -q {q(sql + ' FORMAT TSV')} | wc -l",
                      server_pids=self.pids, parse=line_count)

    def coverage(self, R, run):
        hours = (f"SELECT toDateTime('{MONTH_START}') + number * 3600 AS hour FROM "
                 f"numbers({MONTH_HOURS})")
        seen = (f"SELECT DISTINCT toStartOfHour(pickup_datetime) FROM trips WHERE pickup_datetime "
                f">= '{MONTH_START}' AND pickup_datetime < '{MONTH_END}'")
        frac = f"SELECT countIf(hour IN ({seen})) / count() FROM ({hours})"
        missing = f"SELECT hour FROM ({hours}) WHERE hour NOT IN ({seen}) ORDER BY hour"
        R.time(self.name, "cov_frac", run, f"{self.client} -d daily -q {q(frac)}",
               server_pids=self.pids, parse=lambda o: "hours " + o.strip())
        R.time(self.name, "cov_gaps", run, f"{self.client} -d daily -q {q(missing)} | wc -l",
               server_pids=self.pids, parse=lambda o: o.strip() + " missing hours")

    def count(self, sql):
        return sh(f"{self.client} -d daily -q {q(sql)}").strip()

    def sizes(self):
        out = []
        for db in ("bulk", "daily"):
            out.append(int(sh(f"{self.client} -q \"SELECT sum(bytes_on_disk) FROM system.parts "
                              f"WHERE database = '{db}' AND table = 'trips' AND active\"") or 0))
        return tuple(out)


# ---------------------------------------------------------------- Python-level systems
# Each operation is one process of bench/peers.py under the system's own
# interpreter (its venv), the way a user runs a script; see that file.

HERE = os.path.dirname(os.path.abspath(__file__))
DEPS = os.path.join(os.path.dirname(HERE), ".deps")


def datafusion_coverage_sql():
    """The coverage questions in DataFusion SQL (the reference's session)."""
    seen = (f"SELECT DISTINCT date_trunc('hour', pickup_datetime) AS hour FROM trips "
            f"WHERE pickup_datetime >= TIMESTAMP '{MONTH_START}' AND pickup_datetime < TIMESTAMP '{MONTH_END}'")
    hours = (f"SELECT unnest(range(TIMESTAMP '{MONTH_START}', TIMESTAMP '{MONTH_END}', "
             f"INTERVAL '1 hour')) AS hour")
    frac = f"SELECT CAST(count(*) AS DOUBLE) / {MONTH_HOURS} AS frac FROM ({seen}) d"
    missing = (f"SELECT h.hour FROM ({hours}) h LEFT JOIN ({seen}) d ON h.hour = d.hour "
               f"WHERE d.hour IS NULL ORDER BY h.hour")
    return frac, missing


def clickhouse_coverage_sql():
    hours = (f"SELECT toDateTime64('{MONTH_START}', 6) + toIntervalHour(number) AS hour FROM "
             f"numbers({MONTH_HOURS})")
    seen = (f"SELECT DISTINCT toStartOfHour(pickup_datetime) FROM trips WHERE pickup_datetime "
            f">= '{MONTH_START}' AND pickup_datetime < '{MONTH_END}'")
    frac = f"SELECT countIf(hour IN ({seen})) / count() FROM ({hours})"
    missing = f"SELECT hour FROM ({hours}) WHERE hour NOT IN ({seen}) ORDER BY hour"
    return frac, missing


class PyPeer:
    """A system driven through bench/peers.py; subclasses set key, name, venv,
    queries, coverage_sql and config."""
    key = name = venv = system = ""
    arrow = True  # measures the in-memory Arrow operations too

    def __init__(self, a):
        self.a = a
        self.root = os.path.join(a.work, self.key)
        self.bulk_t = os.path.join(self.root, "bulk")
        self.daily_t = os.path.join(self.root, "daily")
        self.arrow_t = os.path.join(self.root, "arrow")
        self.py = os.path.join(DEPS, self.venv, "bin", "python")

    def cmd(self, op, root, arg=""):
        return (f"{q(self.py)} {q(os.path.join(HERE, 'peers.py'))} {self.system} {op} {q(root)}"
                + (f" {q(arg)}" if arg else ""))

    def start(self):
        shutil.rmtree(self.root, ignore_errors=True)
        os.makedirs(self.root)
        if not os.path.exists(self.py):
            raise RuntimeError(f"{self.venv} is not installed (see the install step of bench/run.sh)")

    def stop(self):
        pass

    def _create(self, t):
        shutil.rmtree(t, ignore_errors=True)
        sh(self.cmd("create", t))

    def bulk(self, R, run):
        self._create(self.bulk_t)
        R.time(self.name, "bulk", run, self.cmd("bulk", self.bulk_t, self.a.bulk))

    def daily_init(self):
        self._create(self.daily_t)

    def daily(self, R, i, f, op="daily"):
        return R.time(self.name, op, i, self.cmd("append", self.daily_t, f))

    def query(self, R, name, run, sql, print_rows=False):
        return R.time(self.name, name, run, self.cmd("query", self.daily_t, sql),
                      parse=lambda o: o.strip().splitlines()[-1])

    def coverage(self, R, run):
        frac, missing = self.coverage_sql()
        R.time(self.name, "cov_frac", run, self.cmd("count", self.daily_t, frac),
               parse=lambda o: "hours " + o.strip().splitlines()[-1])
        R.time(self.name, "cov_gaps", run, self.cmd("query", self.daily_t, missing),
               parse=lambda o: o.strip().splitlines()[-1] + " missing hours")

    def count(self, sql):
        return sh(self.cmd("count", self.daily_t, sql)).strip().splitlines()[-1]

    def arrow_ops(self, R, run):
        """The same through the Python API from memory: the month handed over as
        an in-memory Arrow table, and Q1-Q6 into Arrow tables (time in the call)."""
        if not self.arrow:
            return
        shutil.rmtree(self.arrow_t, ignore_errors=True)
        R.time(self.name, "py_bulk", run, self.cmd("arrow_bulk", self.arrow_t, self.a.bulk),
               inner=True)
        for name, sql in self.queries.items():
            R.time(self.name, "py_" + name, run, self.cmd("arrow_query", self.daily_t, sql),
                   inner=True, parse=lambda o: o.strip().splitlines()[-1])

    def sizes(self):
        return du_bytes(self.bulk_t), du_bytes(self.daily_t)


def _venv_version(venv, dist):
    py = os.path.join(DEPS, venv, "bin", "python")
    try:
        return sh(f"{q(py)} -c 'import importlib.metadata as m; print(m.version(\"{dist}\"))'").strip()
    except (RuntimeError, OSError):
        return "?"


class Reference(PyPeer):
    system = "ref"

    def __init__(self, a):
        super().__init__(a)
        self.queries = std_queries(lambda c: f"date_trunc('hour', {c})",
                                   lambda c: f"date_bin(INTERVAL '1 hour', {c})")
        self.coverage_sql = datafusion_coverage_sql
        v = _venv_version(self.venv, "timeseries-table-format")
        self.config = (f"The reference, PyPI `timeseries-table-format` {v} in its own venv "
                       f"(.deps/{self.venv}), through its Python API, one Python process per "
                       f"operation: {self.create_text}; queries "
                       f"`Session().register_tstable('trips', root); sql(SQL)` (DataFusion SQL, "
                       f"Q6 with date_bin) into a pyarrow Table whose rows are counted; coverage "
                       f"questions in DataFusion SQL (its Python API has no coverage call)")


class ReferenceNewest(Reference):
    """The reference's newest PyPI release (bench/run.sh finds it and passes its venv)."""
    key = "ref"

    def __init__(self, a):
        self.venv = os.path.relpath(a.ref_venv, DEPS)
        self.name = "reference " + _venv_version(self.venv, "timeseries-table-format")
        super().__init__(a)

    create_text = ("`TimeSeriesTable.create(index_column='pickup_datetime', index_type="
                   "'timestamp', index_granularity='1s')`; a file is appended as "
                   "`append(pyarrow.dataset.dataset(FILE).scanner().to_reader())` "
                   "(0.5+ has no append_parquet)")


class Reference04(Reference):
    key, venv = "ref04", "refvenv"
    name = "reference 0.4.0"
    arrow = True  # recorded as failing: 0.4 has no append(Arrow table)
    create_text = ("`TimeSeriesTable.create(index_column='pickup_datetime', index_type="
                   "'timestamp', bucket='1s')` (format_version 6, the one the reference's own "
                   "benchmark ran); `append_parquet(FILE)` (copies the file in)")


class OursPy(PyPeer):
    key, system, venv = "ourspy", "ours", "../.venv"
    name = "tstable (Python)"

    def __init__(self, a):
        super().__init__(a)
        self.py = os.path.join(os.path.dirname(HERE), ".venv", "bin", "python")
        self.queries = std_queries(lambda c: f"date_trunc('hour', {c})",
                                   lambda c: f"date_bin(INTERVAL '1 hour', {c})")
        self.coverage_sql = datafusion_coverage_sql
        self.config = ("Our Python package (`timeseries_table_format` in .venv), one Python "
                       "process per operation: `TimeSeriesTable.create(..., bucket='1s', "
                       "protocol=6)`, `append_parquet(FILE)`; `Session().register_tstable(...); "
                       "sql(SQL)` into pyarrow; the in-memory operations `append(pyarrow.Table)` "
                       "and `sql()`")

    def daily(self, R, i, f, op="daily"):
        return super().daily(R, i, f, op)


class Delta(PyPeer):
    key, system, venv = "delta", "delta", "peervenv"
    name = "Delta Lake (delta-rs)"

    def __init__(self, a):
        super().__init__(a)
        self.queries = std_queries(lambda c: f"date_trunc('hour', {c})",
                                   lambda c: f"time_bucket(INTERVAL 1 HOUR, {c})")
        self.coverage_sql = duckdb_coverage_sql
        v = _venv_version(self.venv, "deltalake")
        dv = _venv_version(self.venv, "duckdb")
        self.config = (f"PyPI `deltalake` {v} (delta-rs) in .deps/peervenv, one Python process "
                       f"per operation: `write_deltalake(root, pyarrow.dataset.dataset(FILE)"
                       f".scanner().to_reader(), mode='append')` (no partitioning, default "
                       f"writer: Parquet, snappy); queries with DuckDB {dv} (Python) over "
                       f"`DeltaTable(root).to_pyarrow_dataset()` (filters pushed to the "
                       f"dataset), fetched as Arrow; Q6 with DuckDB's time_bucket (DuckDB has no "
                       f"date_bin). No duplicate check: a re-append adds the rows again")


class Chdb(PyPeer):
    key, system, venv = "chdb", "chdb", "peervenv"
    name = "chDB (MergeTree)"

    def __init__(self, a):
        super().__init__(a)
        self.queries = std_queries(lambda c: f"toStartOfHour({c})",
                                   lambda c: f"toStartOfInterval({c}, INTERVAL 1 HOUR)")
        self.coverage_sql = clickhouse_coverage_sql
        v = _venv_version(self.venv, "chdb")
        self.config = (f"PyPI `chdb` {v} (ClickHouse in process) in .deps/peervenv, one Python "
                       f"process per operation with a `chdb.session.Session(path)`: a MergeTree "
                       f"table PARTITION BY toYYYYMM(pickup_datetime) ORDER BY pickup_datetime, "
                       f"DateTime64(6); `INSERT INTO trips SELECT * FROM file('FILE', Parquet)`; "
                       f"queries fetched as ArrowTable; Q6 with toStartOfInterval (ClickHouse's "
                       f"date_bin); the in-memory ingest is `INSERT ... SELECT * FROM Python(tbl)`")

    def sizes(self):
        out = []
        for t in (self.bulk_t, self.daily_t):
            out.append(du_bytes(os.path.join(t, "store")) if os.path.isdir(os.path.join(t, "store"))
                       else du_bytes(t))
        return tuple(out)


class ChdbParquet(PyPeer):
    key, system, venv = "chdbpq", "chdbpq", "peervenv"
    name = "chDB+Parquet"

    def __init__(self, a):
        super().__init__(a)
        self.queries = std_queries(lambda c: f"toStartOfHour({c})",
                                   lambda c: f"toStartOfInterval({c}, INTERVAL 1 HOUR)")
        self.coverage_sql = clickhouse_coverage_sql
        self.arrow = False
        v = _venv_version(self.venv, "chdb")
        self.config = (f"PyPI `chdb` {v} over the raw Parquet files, no table: ingest = copying "
                       f"the file into a folder; every query reads `file('DIR/*.parquet', "
                       f"Parquet)` in a fresh chDB session, fetched as ArrowTable")


SYSTEMS = {"tstable": Tstable, "tstable-py": OursPy, "ref": ReferenceNewest, "ref04": Reference04,
           "delta": Delta, "chdb": Chdb, "chdb-parquet": ChdbParquet, "duckdb": DuckNative,
           "parquet": DuckParquet, "postgres": Postgres, "sqlite": Sqlite,
           "clickhouse": ClickHouse}
# The ClickHouse 18.16 server (Debian's) runs only when asked for: chDB is
# today's ClickHouse, and 18.16 adds only a client/server round trip.
DEFAULT_SYSTEMS = [k for k in SYSTEMS if k != "clickhouse"]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--data", required=True)
    ap.add_argument("--work", required=True)
    ap.add_argument("--bin", required=True)
    ap.add_argument("--out", required=True)
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--systems", default=",".join(DEFAULT_SYSTEMS))
    ap.add_argument("--reject-day", type=int, default=14)
    ap.add_argument("--ref-venv", default=os.path.join(DEPS, "refvenv09"),
                    help="the venv of the reference's newest release")
    ap.add_argument("--days", type=int, default=0, help="only the first N daily files (--tiny)")
    ap.add_argument("--keep", action="store_true", help="keep the tables and databases")
    a = ap.parse_args()
    a.data, a.work = os.path.abspath(a.data), os.path.abspath(a.work)
    a.bulk = os.path.join(a.data, "fhvhv_2024-04.parquet")
    days = sorted(glob.glob(os.path.join(a.data, "daily", "fhvhv_*.parquet")))
    if a.days:
        days = days[:a.days]
    a.reject_day = min(a.reject_day, len(days) - 1)
    os.makedirs(a.work, exist_ok=True)
    os.chmod(a.work, 0o755)
    R = Runner(a.out)
    failed = []
    for key in a.systems.split(","):
        s = SYSTEMS[key](a)
        print(f"== {s.name}", file=sys.stderr, flush=True)
        t_sys = time.monotonic()
        try:
            s.start()
            R.record(s.name, "config", "", note=s.config)
            for run in range(1, a.runs + 1):
                s.bulk(R, run)
            s.daily_init()
            for i, f in enumerate(days, 1):
                s.daily(R, i, f)
            for run in range(1, a.runs + 1):
                for name, sql in s.queries.items():
                    s.query(R, name, run, sql)
            for run in range(1, a.runs + 1):
                s.coverage(R, run)
            if hasattr(s, "arrow_ops"):
                for run in range(1, a.runs + 1):
                    s.arrow_ops(R, run)
            bb, db = s.sizes()
            R.record(s.name, "bytes_bulk", "", result=bb)
            R.record(s.name, "bytes_daily", "", result=db)
            # Re-append one day that is already loaded, then count.
            day = days[a.reject_day]
            dname = os.path.basename(day)[6:16]
            nxt = (datetime.date.fromisoformat(dname) + datetime.timedelta(days=1)).isoformat()
            where = f"pickup_datetime >= '{dname} 00:00:00' AND pickup_datetime < '{nxt} 00:00:00'"
            before = s.count(f"SELECT count(*) FROM trips WHERE {where}")
            total_before = s.count("SELECT count(*) FROM trips")
            rc, _out, err = s.daily(R, 1, day, op="reappend")
            after = s.count(f"SELECT count(*) FROM trips WHERE {where}")
            total_after = s.count("SELECT count(*) FROM trips")
            R.record(s.name, "reappend_check", "", rc=rc,
                     result=f"day {dname}: {before} -> {after} rows; table {total_before} -> {total_after}",
                     note=(err.splitlines()[0][:200] if (rc and err) else ""))
        except Exception as e:  # recorded, and the next system runs
            R.record(s.name, "error", "", note=str(e)[:300].replace("\n", " "))
            print(f"  {s.name} failed: {e}", file=sys.stderr)
            failed.append(key)
        finally:
            s.stop()
            R.record(s.name, "system_seconds", "", result=f"{time.monotonic() - t_sys:.0f}")
        if not a.keep:
            shutil.rmtree(s.root, ignore_errors=True)
    # A peer that fails is recorded and the others still run; tstable failing is a bug.
    if "tstable" in failed:
        sys.exit("tstable failed in the benchmark (see its error above and in the report)")


if __name__ == "__main__":
    main()
