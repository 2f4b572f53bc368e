#!/usr/bin/env python3
"""peers.py — one operation of a Python-level system of the cross-system
benchmark, in one process, the way that system's users write it.

Started by bench/cross_bench.py under the interpreter that holds the system
(the reference's venvs .deps/refvenv09 and .deps/refvenv; .deps/peervenv for
deltalake and chDB; the project's .venv for our own Python package):

  peers.py SYSTEM OP ROOT [FILE | SQL]

SYSTEM  ref     the reference timeseries-table-format (its version is the venv's)
        ours    our package timeseries_table_format (the Python API of tstable)
        delta   Delta Lake through delta-rs (`deltalake`), queried with DuckDB
                over DeltaTable.to_pyarrow_dataset()
        chdb    chDB (ClickHouse in process), a MergeTree table in a session
        chdbpq  chDB, ClickHouse SQL over the Parquet files of a folder
OP      create | bulk FILE | append FILE | query SQL | count SQL |
        arrow_bulk FILE | arrow_query SQL
        The plain operations take their input from a Parquet file, as a user
        with the file would. arrow_bulk reads FILE into an in-memory Arrow
        table first (not timed) and times only the hand-over of that table to
        the system's Python API; arrow_query times the query into an Arrow
        table after the table is opened (not timed).

Output: the answer (rows of a query, or `count` text) on the last line; the
arrow_* operations print `inner_ms=X` before it, the time spent in the API.
A failure is an exception: its message goes to stderr and the exit code is 1.
"""
import os
import sys
import time

SYSTEM, OP, ROOT = sys.argv[1], sys.argv[2], sys.argv[3]
ARG = sys.argv[4] if len(sys.argv) > 4 else ""

# ClickHouse's MergeTree schema of the trips (DateTime64(6): the files hold
# microsecond timestamps without a zone).
CH_COLUMNS = [
    ("hvfhs_license_num", "String"), ("dispatching_base_num", "String"),
    ("originating_base_num", "Nullable(String)"), ("request_datetime", "DateTime64(6)"),
    ("on_scene_datetime", "Nullable(DateTime64(6))"), ("pickup_datetime", "DateTime64(6)"),
    ("dropoff_datetime", "DateTime64(6)"), ("PULocationID", "Int64"), ("DOLocationID", "Int64"),
    ("trip_miles", "Float64"), ("trip_time", "Int64"), ("base_passenger_fare", "Float64"),
    ("tolls", "Float64"), ("bcf", "Float64"), ("sales_tax", "Float64"),
    ("congestion_surcharge", "Float64"), ("airport_fee", "Float64"), ("tips", "Float64"),
    ("driver_pay", "Float64"), ("shared_request_flag", "String"), ("shared_match_flag", "String"),
    ("access_a_ride_flag", "String"), ("wav_request_flag", "String"), ("wav_match_flag", "String"),
]


def answer(tbl_or_text):
    if isinstance(tbl_or_text, str):
        print(tbl_or_text)
    else:
        print(tbl_or_text.num_rows)


def first_value(tbl):
    row = tbl.slice(0, 1).to_pylist()[0]
    return ",".join("" if v is None else str(v) for v in row.values())


# ---------------------------------------------------------------- the reference and ours

def ttf_create():
    import timeseries_table_format as ttf
    import importlib.metadata as md
    kw = dict(table_root=ROOT, index_column="pickup_datetime", index_type="timestamp")
    if SYSTEM == "ours":
        # format_version 6: trips share pickup seconds (protocol 7 allows one row per interval)
        return ttf.TimeSeriesTable.create(bucket="1s", protocol=6, **kw)
    if md.version("timeseries-table-format").startswith("0.4."):
        return ttf.TimeSeriesTable.create(bucket="1s", **kw)
    return ttf.TimeSeriesTable.create(index_granularity="1s", **kw)


def ttf_append_file(path):
    import timeseries_table_format as ttf
    t = ttf.TimeSeriesTable.open(ROOT)
    if hasattr(t, "append_parquet"):
        t.append_parquet(path)  # copies the file under the table root (the default)
    else:  # 0.5+: only Arrow sources; a file goes in as a stream of its batches
        import pyarrow.dataset as ds
        t.append(ds.dataset(path).scanner().to_reader())
    answer("ok")


def ttf_session():
    import timeseries_table_format as ttf
    s = ttf.Session()  # the same call in ours and in the reference
    s.register_tstable("trips", ROOT)
    return s


# ---------------------------------------------------------------- delta

def delta_query(sql):
    import duckdb
    from deltalake import DeltaTable
    trips = DeltaTable(ROOT).to_pyarrow_dataset()  # noqa: F841 (DuckDB scans it by name)
    con = duckdb.connect()
    return con.execute(sql).fetch_arrow_table()


# ---------------------------------------------------------------- chDB

def ch_session():
    from chdb import session
    return session.Session(ROOT)


def ch_parquet_sql(sql):
    return sql.replace("FROM trips", f"FROM file('{ROOT}/*.parquet', Parquet)")


def ch_arrow(sess, sql):
    import pyarrow as pa
    res = sess.query(sql, "ArrowTable")
    return res if isinstance(res, pa.Table) else pa.Table.from_batches([])


def main():
    t0 = None
    if OP == "create":
        if SYSTEM in ("ref", "ours"):
            ttf_create()
        elif SYSTEM == "chdb":
            s = ch_session()
            cols = ", ".join(f"{c} {t}" for c, t in CH_COLUMNS)
            s.query(f"CREATE TABLE trips ({cols}) ENGINE = MergeTree "
                    f"PARTITION BY toYYYYMM(pickup_datetime) ORDER BY pickup_datetime")
            s.close()
        else:  # delta and chdbpq: the first write makes the table / folder
            os.makedirs(ROOT, exist_ok=True)
        answer("ok")
    elif OP in ("bulk", "append"):
        if SYSTEM in ("ref", "ours"):
            ttf_append_file(ARG)
        elif SYSTEM == "delta":
            import pyarrow.dataset as ds
            from deltalake import write_deltalake
            write_deltalake(ROOT, ds.dataset(ARG).scanner().to_reader(), mode="append")
            answer("ok")
        elif SYSTEM == "chdb":
            s = ch_session()
            s.query(f"INSERT INTO trips SELECT * FROM file('{ARG}', Parquet)")
            s.close()
            answer("ok")
        elif SYSTEM == "chdbpq":  # ingest = the file lands in the folder
            import shutil
            dest = os.path.join(ROOT, os.path.basename(ARG))
            if os.path.exists(dest):
                dest = dest.replace(".parquet", "-again.parquet")
            shutil.copyfile(ARG, dest)
            answer("ok")
    elif OP in ("query", "count", "arrow_query"):
        sql = ARG
        if OP == "arrow_query":  # open first, then time the query alone
            if SYSTEM in ("ref", "ours"):
                s = ttf_session()
                t0 = time.perf_counter()
                tbl = s.sql(sql)
            elif SYSTEM == "delta":
                import duckdb
                from deltalake import DeltaTable
                trips = DeltaTable(ROOT).to_pyarrow_dataset()  # noqa: F841
                con = duckdb.connect()
                t0 = time.perf_counter()
                tbl = con.execute(sql).fetch_arrow_table()
            else:
                s = ch_session()
                t0 = time.perf_counter()
                tbl = ch_arrow(s, ch_parquet_sql(sql) if SYSTEM == "chdbpq" else sql)
            print(f"inner_ms={(time.perf_counter() - t0) * 1e3:.1f}")
            answer(tbl)
            return
        if SYSTEM in ("ref", "ours"):
            tbl = ttf_session().sql(sql)
        elif SYSTEM == "delta":
            tbl = delta_query(sql)
        else:
            s = ch_session()
            tbl = ch_arrow(s, ch_parquet_sql(sql) if SYSTEM == "chdbpq" else sql)
        answer(first_value(tbl) if OP == "count" else tbl)
    elif OP == "arrow_bulk":
        import pyarrow.parquet as pq
        tbl = pq.read_table(ARG)
        if SYSTEM in ("ref", "ours"):
            ttf_create()
            import timeseries_table_format as ttf
            t = ttf.TimeSeriesTable.open(ROOT)
            if not hasattr(t, "append"):
                raise SystemExit("this version has no append(Arrow table) (only append_parquet)")
            t0 = time.perf_counter()
            t.append(tbl)
        elif SYSTEM == "delta":
            from deltalake import write_deltalake
            t0 = time.perf_counter()
            write_deltalake(ROOT, tbl, mode="append")
        elif SYSTEM == "chdb":
            s = ch_session()
            cols = ", ".join(f"{c} {t}" for c, t in CH_COLUMNS)
            s.query(f"CREATE TABLE trips ({cols}) ENGINE = MergeTree "
                    f"PARTITION BY toYYYYMM(pickup_datetime) ORDER BY pickup_datetime")
            t0 = time.perf_counter()
            s.query("INSERT INTO trips SELECT * FROM Python(tbl)")
            s.close()
        else:
            raise SystemExit("no Python write API (a folder of Parquet files)")
        print(f"inner_ms={(time.perf_counter() - t0) * 1e3:.1f}")
        answer("ok")
    else:
        raise SystemExit(f"unknown operation {OP}")


if __name__ == "__main__":
    try:
        main()
    except Exception as e:  # the harness records the first line of stderr
        print(f"peers: {type(e).__name__}: {str(e).splitlines()[0] if str(e) else ''}", file=sys.stderr)
        sys.exit(1)
