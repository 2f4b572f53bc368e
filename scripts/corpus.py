"""corpus.py — one data set, written by every common Parquet and CSV writer.

Usage: .venv/bin/python scripts/corpus.py OUT_DIR

tstable promises to append "Parquet files from any common writer". Each writer
spells the same data differently in the file: timestamp units and zones,
dictionary / large / view strings, REQUIRED vs OPTIONAL fields, INT96,
small integers, DATE, codecs, page versions, CSV dialects. This script writes
one logical data set — 3 symbols x 2 days of 1-minute bars, plus a small daily
table — with pyarrow, polars, pandas, DuckDB, parquet-wasm (arrow-rs, through
node) and as CSV, one file per way of spelling it, and a manifest.json that
says what each file is and what a demanding user expects tstable to do with
it (tests/compat/test_corpus.py checks it; docs/internals/writer-corpus.md
explains the expectations).

Day 1 files start tables ("bases"); day 2 files are appended both into a fresh
table and into tables started by another writer's day 1 file. Everything is
deterministic: fixed seeds, pinned library versions (python/requirements-dev.txt),
no network. Node and the parquet-wasm package come from .deps/node.

manifest.json: {"datasets": {...}, "bases": {...}, "files": [{"file", "format",
"writer", "special", "dataset", "day", "expect", "cross": [{"base", "expect"}]}]}
where expect is {"outcome": "appends"} or {"outcome": "refused",
"message": [regex, ...]} (every regex must match the error, case-insensitive).
"""

import datetime as dt
import json
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import duckdb
import numpy as np
import pandas as pd
import polars as pl
import pyarrow as pa
import pyarrow.compute  # noqa: F401 (pa.compute)
import pyarrow.ipc as ipc
import pyarrow.parquet as pq

REPO = Path(__file__).resolve().parents[1]
NODE_DEPS = Path(os.environ.get("TST_NODE_DEPS", REPO / ".deps" / "node"))
WASM_SCRIPT = REPO / "tests" / "fixtures" / "write_parquet_wasm_ipc.mjs"

SYMBOLS = ["AAPL", "MSFT", "NVDA"]
BAR_DAYS = {1: dt.date(2024, 3, 4), 2: dt.date(2024, 3, 5)}
DAILY_PERIODS = {1: [dt.date(2024, 3, d) for d in (4, 5, 6, 7, 8)],
                 2: [dt.date(2024, 3, d) for d in (11, 12, 13, 14, 15)]}

DATASETS = {
    "bars": {"index": "ts", "bucket": "15m", "bucket_us": 15 * 60 * 1_000_000,
             "entity": ["symbol"]},
    "daily": {"index": "date", "bucket": "1d", "bucket_us": 86_400 * 1_000_000,
              "entity": ["symbol"]},
}

APPENDS = {"outcome": "appends"}
# A zone-less file into a zoned table (or the other way round): refused, and
# the message names the column and says it is about the time zone.
ZONE_REFUSED = {"outcome": "refused", "message": [r"\bts\b", r"zone|utc"]}


def narrow_refused(unit):
    """A timestamp that isn't exact in the table's coarser unit: refused, and
    the message names the column and the unit (or says it is not exact)."""
    return {"outcome": "refused",
            "message": [r"\bts\b", unit + r"|exact|precision|lossless|truncat"]}

# ---- the logical data ---------------------------------------------------


def bars(day: int) -> pa.Table:
    """390 one-minute bars (14:30-20:59 UTC) per symbol, with holes, as the
    canonical Arrow table: ts timestamp[us, UTC], prices float64, volume and
    trades int64, vwap float64 with nulls, halted bool. The holes make
    coverage differ from a full grid: MSFT misses 15:00-15:44 on day 1, NVDA
    misses 18:00-18:29 and 17 random minutes on day 2."""
    rng = np.random.default_rng(1000 + day)
    start = dt.datetime.combine(BAR_DAYS[day], dt.time(14, 30), dt.timezone.utc)
    minutes = np.arange(390)
    cols = {k: [] for k in ("ts", "symbol", "open", "high", "low", "close", "volume",
                            "trades", "vwap", "halted")}
    for s, sym in enumerate(SYMBOLS):
        keep = np.ones(390, bool)
        if day == 1 and sym == "MSFT":
            keep[30:75] = False
        if day == 2 and sym == "NVDA":
            keep[210:240] = False
            keep[rng.choice(390, 17, replace=False)] = False
        price = 100.0 * (s + 1) + np.cumsum(rng.normal(0, 0.2, 390))
        for m in minutes[keep]:
            o = round(float(price[m]), 2)
            c = round(o + float(rng.normal(0, 0.1)), 2)
            cols["ts"].append(start + dt.timedelta(minutes=int(m)))
            cols["symbol"].append(sym)
            cols["open"].append(o)
            cols["high"].append(round(max(o, c) + 0.05, 2))
            cols["low"].append(round(min(o, c) - 0.05, 2))
            cols["close"].append(c)
            cols["volume"].append(int(rng.integers(100, 1_000_000)))
            cols["trades"].append(int(rng.integers(0, 121)))
            n = len(cols["vwap"])
            cols["vwap"].append(None if n % 37 == 5 else round((o + c) / 2, 4))
            cols["halted"].append(bool(n % 101 == 7))
    schema = pa.schema([
        ("ts", pa.timestamp("us", "UTC")), ("symbol", pa.string()),
        ("open", pa.float64()), ("high", pa.float64()), ("low", pa.float64()),
        ("close", pa.float64()), ("volume", pa.int64()), ("trades", pa.int64()),
        ("vwap", pa.float64()), ("halted", pa.bool_()),
    ])
    return pa.table(cols, schema=schema)


def daily(period: int) -> pa.Table:
    """Daily closes: date date32, symbol, close float64, volume int64."""
    rng = np.random.default_rng(2000 + period)
    rows = [(d, sym, round(100.0 * (s + 1) + float(rng.normal(0, 2)), 2),
             int(rng.integers(10**6, 10**8)))
            for d in DAILY_PERIODS[period] for s, sym in enumerate(SYMBOLS)]
    date, symbol, close, volume = zip(*rows)
    return pa.table({"date": pa.array(date, pa.date32()), "symbol": pa.array(symbol),
                     "close": pa.array(close, pa.float64()),
                     "volume": pa.array(volume, pa.int64())})


# ---- table transformations ------------------------------------------------


def with_column(t: pa.Table, name: str, typ: pa.DataType, nullable=True) -> pa.Table:
    i = t.schema.get_field_index(name)
    return t.set_column(i, pa.field(name, typ, nullable), t.column(name).cast(typ))


def with_ts(t: pa.Table, unit="us", tz="UTC") -> pa.Table:
    col = t.column("ts")
    if tz is None:  # zone-less: the UTC wall clock
        col = col.cast(pa.timestamp("us")).cast(pa.timestamp(unit))
    else:
        col = col.cast(pa.timestamp(unit, tz))
    i = t.schema.get_field_index("ts")
    return t.set_column(i, pa.field("ts", col.type, t.schema.field("ts").nullable), col)


def required(t: pa.Table, except_cols=("vwap",)) -> pa.Table:
    """Every field non-nullable except those holding nulls."""
    fields = [f.with_nullable(f.name in except_cols) for f in t.schema]
    return t.cast(pa.schema(fields, metadata=t.schema.metadata))


# ---- the corpus -----------------------------------------------------------


class Corpus:
    def __init__(self, out: Path, work: Path):
        self.out, self.work = out, work
        self.entries, self.bases, self.wasm_jobs = [], {}, []

    def add(self, file, writer, special, *, dataset="bars", day=2, expect=APPENDS,
            cross=None, fmt=None):
        self.entries.append({
            "file": file, "format": fmt or ("csv" if file.endswith(".csv") else "parquet"),
            "writer": writer, "special": special, "dataset": dataset, "day": day,
            "expect": expect, "cross": (cross or []) + other_direction(file)})

    def base(self, name, file, note):
        self.bases[name] = {"file": file, "note": note}

    def path(self, file) -> str:
        return str(self.out / file)


def zoned_cross(expect=APPENDS):
    return [{"base": "duckdb-tz", "expect": expect}, {"base": "wasm-tz", "expect": expect}]


# Tables started by the Python writers, for the other direction: a DuckDB,
# arrow-rs or CSV day 2 into a table whose first file was pyarrow's (zone
# America/New_York), polars' (large_utf8 strings) or pandas' (ns timestamps).
OTHER_DIRECTION = {
    "duckdb-tz-d2.parquet": ["pyarrow-ny", "polars-tz", "pandas-ns"],
    "wasm-ms-utc-req-d2.parquet": ["pyarrow-ny", "polars-tz", "pandas-ns"],
    "csv-iso-z-d2.csv": ["pyarrow-ny", "polars-tz", "pandas-ns"],
}


def other_direction(file):
    return [{"base": b, "expect": APPENDS} for b in OTHER_DIRECTION.get(file, [])]


def naive_cross(expect=APPENDS):
    return [{"base": "duckdb-naive", "expect": expect},
            {"base": "wasm-naive", "expect": expect},
            {"base": "duckdb-tz", "expect": ZONE_REFUSED}]


PA = f"pyarrow {pa.__version__}"


def write_pyarrow(c: Corpus):
    d2 = bars(2)

    def w(file, table, special, cross=None, expect=APPENDS, **kw):
        pq.write_table(table, c.path(file), **kw)
        c.add(file, PA, special, cross=zoned_cross() if cross is None else cross,
              expect=expect)

    w("pa-default-d2.parquet", d2, "pq.write_table defaults (snappy, dictionary pages, "
      "timestamp[us, UTC])")
    w("pa-dict-string-d2.parquet",
      with_column(d2, "symbol", pa.dictionary(pa.int32(), pa.string())),
      "symbol is dictionary<int32, utf8> in the Arrow schema")
    w("pa-large-string-d2.parquet", with_column(d2, "symbol", pa.large_string()),
      "symbol is large_string")
    w("pa-string-view-d2.parquet", with_column(d2, "symbol", pa.string_view()),
      "symbol is string_view")
    for unit in ("s", "ms", "us", "ns"):  # every bar is on a whole minute: exact in seconds
        w(f"pa-ts-{unit}-utc-d2.parquet", with_ts(d2, unit, "UTC"),
          f"ts is timestamp[{unit}, UTC]" + (" (Parquet stores it as ms)" if unit == "s" else ""))
    for label, tz in (("plus0000", "+00:00"), ("etc-utc", "Etc/UTC"),
                      ("new-york", "America/New_York")):
        w(f"pa-tz-{label}-d2.parquet", with_ts(d2, "us", tz),
          f"ts is timestamp[us, {tz}]: the same instants as UTC")
    pq.write_table(with_ts(bars(1), "us", "America/New_York"), c.path("pa-tz-new-york-d1.parquet"))
    c.add("pa-tz-new-york-d1.parquet", PA, "day 1 base: timestamp[us, America/New_York]", day=1)
    c.base("pyarrow-ny", "pa-tz-new-york-d1.parquet", "pyarrow, us, zone America/New_York")
    w("pa-tz-none-d2.parquet", with_ts(d2, "us", None),
      "ts is zone-less timestamp[us] (UTC wall clock)", cross=naive_cross())
    w("pa-required-d2.parquet", required(d2), "every field non-nullable except vwap (REQUIRED)")
    for codec in ("snappy", "zstd", "gzip", "brotli", "lz4", "none"):
        w(f"pa-codec-{codec}-d2.parquet", d2, f"compression={codec}", compression=codec,
          cross=[] if codec != "zstd" else None)
    w("pa-rowgroup-1k-d2.parquet", d2, "row_group_size=1000 (2 row groups)",
      row_group_size=1000, cross=[])
    w("pa-rowgroup-100k-d2.parquet", d2, "row_group_size=100000 (1 row group)",
      row_group_size=100_000, cross=[])
    w("pa-page-v2-d2.parquet", d2, "data_page_version='2.0'", data_page_version="2.0")
    for typ in ("int8", "int16", "int32", "uint8", "uint16", "uint32"):
        w(f"pa-trades-{typ}-d2.parquet", with_column(d2, "trades", getattr(pa, typ)()),
          f"trades is {typ} (values 0..120): widened losslessly")
    w("pa-vwap-float32-d2.parquet", with_column(d2, "vwap", pa.float32()),
      "vwap is float32: widens to float64")
    w("pa-vwap-decimal-d2.parquet", with_column(d2, "vwap", pa.decimal128(12, 4)),
      "vwap is decimal128(12, 4); not crossed (decimal into float64 is no policy case)",
      cross=[])
    w("pa-int96-d2.parquet", with_ts(d2, "ns", "UTC"),
      "use_deprecated_int96_timestamps=True with the Arrow schema (zone UTC kept there)",
      use_deprecated_int96_timestamps=True)
    w("pa-int96-spark-d2.parquet", with_ts(d2, "ns", None),
      "INT96 and no ARROW:schema (store_schema=False), as Spark writes it: UTC "
      "instants, adopted as timestamp[us](UTC); a zone-less table refuses them",
      cross=zoned_cross() + [{"base": "duckdb-naive", "expect": ZONE_REFUSED}],
      use_deprecated_int96_timestamps=True, store_schema=False)
    # Edge cases of the rules themselves.
    w("pa-shuffled-d2.parquet", d2.take(np.random.default_rng(7).permutation(d2.num_rows)),
      "rows in random order")
    sub_ms = with_ts(d2, "us", "UTC")
    sub_ms = sub_ms.set_column(0, sub_ms.schema.field("ts"), pa.array(
        [v + dt.timedelta(microseconds=123) for v in sub_ms.column("ts").to_pylist()],
        pa.timestamp("us", "UTC")))
    w("pa-ts-us-subms-d2.parquet", sub_ms,
      "timestamp[us, UTC] with 123 us past each minute: exact in us, not in ms",
      cross=[{"base": "duckdb-tz", "expect": APPENDS},
             {"base": "wasm-tz", "expect": narrow_refused("ms|milli")}])
    ns = with_ts(d2, "ns", "UTC")
    ns = ns.set_column(0, ns.schema.field("ts"), pa.compute.add(
        ns.column("ts").cast(pa.int64()), 7).cast(pa.timestamp("ns", "UTC")))
    w("pa-ts-ns-subus-d2.parquet", ns,
      "timestamp[ns, UTC] with 7 ns past each minute: not exact in us or ms",
      cross=[{"base": "duckdb-tz", "expect": narrow_refused(r"\bus\b|micro")},
             {"base": "wasm-tz", "expect": narrow_refused("ms|milli")}])
    vol = d2.column("volume").to_pylist()
    vol[10] = vol[500] = None
    w("pa-nulls-in-volume-d2.parquet", d2.set_column(6, "volume", pa.array(vol, pa.int64())),
      "two nulls in volume: fine for a nullable column, not for a REQUIRED one",
      cross=[{"base": "duckdb-tz", "expect": APPENDS},
             {"base": "wasm-tz", "expect": {"outcome": "refused",
                                            "message": [r"\bvolume\b", "null"]}}])
    ts = d2.column("ts").to_pylist()
    ts[3] = None
    w("pa-ts-null-d2.parquet", d2.set_column(0, "ts", pa.array(ts, pa.timestamp("us", "UTC"))),
      "one row has a null index value: stored and queryable, covering no bucket (format §1.12)",
      cross=[])
    # The daily table: a DATE index.
    pq.write_table(daily(2), c.path("pa-daily-date32-p2.parquet"))
    c.add("pa-daily-date32-p2.parquet", PA, "date32 index column of a daily (1d) table",
          dataset="daily", cross=[{"base": "duckdb-daily", "expect": APPENDS}])


PL = f"polars {pl.__version__}"


def write_polars(c: Corpus):
    d2 = pl.from_arrow(bars(2))
    naive = d2.with_columns(pl.col("ts").dt.replace_time_zone(None))

    def w(file, df, special, cross=None, **kw):
        df.write_parquet(c.path(file), **kw)
        c.add(file, PL, special, cross=zoned_cross() if cross is None else cross)

    w("pl-default-d2.parquet", naive, "write_parquet defaults; ts is Datetime('us') with no "
      "zone, polars' default", cross=naive_cross())
    pl.from_arrow(bars(1)).write_parquet(c.path("pl-tz-utc-d1.parquet"))
    c.add("pl-tz-utc-d1.parquet", PL, "day 1 base: Datetime('us', 'UTC'), symbol large_utf8",
          day=1)
    c.base("polars-tz", "pl-tz-utc-d1.parquet", "polars, us UTC, large_utf8 strings")
    w("pl-tz-utc-d2.parquet", d2, "ts is Datetime('us', 'UTC')")
    w("pl-tz-new-york-d2.parquet",
      d2.with_columns(pl.col("ts").dt.convert_time_zone("America/New_York")),
      "ts is Datetime('us', 'America/New_York')")
    for unit in ("ms", "ns"):
        w(f"pl-ts-{unit}-utc-d2.parquet", d2.with_columns(pl.col("ts").dt.cast_time_unit(unit)),
          f"ts is Datetime('{unit}', 'UTC')")
    w("pl-ts-ms-naive-d2.parquet", naive.with_columns(pl.col("ts").dt.cast_time_unit("ms")),
      "ts is Datetime('ms') with no zone", cross=naive_cross())
    w("pl-categorical-d2.parquet", d2.with_columns(pl.col("symbol").cast(pl.Categorical)),
      "symbol is Categorical (dictionary in the file)")
    w("pl-enum-d2.parquet", d2.with_columns(pl.col("symbol").cast(pl.Enum(SYMBOLS))),
      "symbol is Enum(AAPL, MSFT, NVDA)")
    w("pl-nostats-d2.parquet", d2, "statistics=False (no min/max in the footer)",
      statistics=False)


PD = f"pandas {pd.__version__} (pyarrow engine)"


def write_pandas(c: Corpus):
    df = bars(2).to_pandas()  # pandas 3: symbol is the str dtype, ts datetime64[us, UTC]
    df["vwap"] = df["vwap"].astype("float64")

    def w(file, frame, special, cross=None, **kw):
        frame.to_parquet(c.path(file), **kw)
        c.add(file, PD, special, cross=zoned_cross() if cross is None else cross)

    w("pd-default-d2.parquet", df, "to_parquet(index=False); pandas 3 str dtype "
      f"(symbol: {df['symbol'].dtype}), ts {df['ts'].dtype}", index=False)
    w("pd-category-d2.parquet", df.astype({"symbol": "category"}),
      "symbol is category dtype", index=False)
    day1 = bars(1).to_pandas().astype({"ts": "datetime64[ns, UTC]"})
    day1.to_parquet(c.path("pd-ts-ns-utc-d1.parquet"), index=False)
    c.add("pd-ts-ns-utc-d1.parquet", PD, "day 1 base: datetime64[ns, UTC], str dtype", day=1)
    c.base("pandas-ns", "pd-ts-ns-utc-d1.parquet", "pandas, ns UTC, large_utf8 strings")
    w("pd-ts-ns-utc-d2.parquet", df.astype({"ts": "datetime64[ns, UTC]"}),
      "ts is datetime64[ns, UTC]", index=False)
    kept = df.set_axis(np.arange(len(df)) * 2 + 1, axis=0)
    w("pd-index-kept-d2.parquet", kept,
      "a non-range index kept: an extra column __index_level_0__ (int64)",
      cross=[{"base": "duckdb-tz",
              "expect": {"outcome": "refused", "message": [r"__index_level_0__"]}}])
    w("pd-ts-index-d2.parquet", df.set_index("ts"),
      "ts is the DatetimeIndex: stored as the column ts, last in the file")


DK = f"duckdb {duckdb.__version__} (python)"


def write_duckdb(c: Corpus):
    con = duckdb.connect()
    con.execute("SET TimeZone = 'UTC'")
    d1, d2 = bars(1), bars(2)
    con.register("d1", d1)
    con.register("d2", d2)
    con.register("daily1", daily(1))
    con.register("daily2", daily(2))
    naive = "SELECT ts::TIMESTAMP AS ts, * EXCLUDE (ts) FROM {}"
    order = " ORDER BY symbol, ts"

    def copy(file, select, opts, special, **kw):
        con.execute(f"COPY ({select}) TO '{c.path(file)}' (FORMAT parquet{opts})")
        c.add(file, DK, special, **kw)

    copy("duckdb-tz-d1.parquet", "SELECT * FROM d1" + order, "",
         "day 1 base: TIMESTAMPTZ, every field OPTIONAL, snappy", day=1)
    c.base("duckdb-tz", "duckdb-tz-d1.parquet", "DuckDB, TIMESTAMPTZ (timestamp[us](UTC))")
    copy("duckdb-naive-d1.parquet", naive.format("d1") + order, "",
         "day 1 base: TIMESTAMP (zone-less)", day=1)
    c.base("duckdb-naive", "duckdb-naive-d1.parquet", "DuckDB, zone-less TIMESTAMP")
    copy("duckdb-tz-d2.parquet", "SELECT * FROM d2" + order, "", "TIMESTAMPTZ, snappy",
         cross=zoned_cross())
    copy("duckdb-naive-d2.parquet", naive.format("d2") + order, "", "TIMESTAMP (zone-less)",
         cross=naive_cross())
    for codec in ("zstd", "gzip", "lz4", "brotli", "uncompressed"):
        copy(f"duckdb-codec-{codec}-d2.parquet", "SELECT * FROM d2" + order,
             f", COMPRESSION {codec}", f"COMPRESSION {codec}",
             cross=zoned_cross() if codec == "zstd" else [])
    copy("duckdb-rowgroup-500-d2.parquet", "SELECT * FROM d2" + order, ", ROW_GROUP_SIZE 500",
         "ROW_GROUP_SIZE 500 (3 row groups)", cross=zoned_cross())
    copy("duckdb-uuid-d2.parquet",
         "SELECT *, "
         "md5(symbol || ts::VARCHAR)::UUID AS id FROM d2" + order, "",
         "an extra UUID column id: refused, the message says to cast it to VARCHAR",
         expect={"outcome": "refused", "message": [r"\bid\b", r"VARCHAR"]})
    copy("duckdb-daily-date-p1.parquet", "SELECT * FROM daily1 ORDER BY symbol, date", "",
         "daily base: DATE index", dataset="daily", day=1)
    c.base("duckdb-daily", "duckdb-daily-date-p1.parquet", "DuckDB, daily table, DATE index")


PW = "parquet-wasm 0.8.0 (arrow-rs)"


def write_wasm(c: Corpus):
    d1, d2 = bars(1), bars(2)
    jobs = []

    def w(file, table, special, day=2, cross=None, **job):
        stream = c.work / (file + ".arrows")
        with ipc.new_stream(stream, table.schema) as out:
            out.write_table(table)
        jobs.append({"ipc": str(stream), "out": c.path(file), **job})
        c.add(file, PW, special, day=day, cross=cross)

    w("wasm-ms-utc-req-d1.parquet", required(with_ts(d1, "ms", "UTC")),
      "day 1 base: timestamp[ms](UTC), REQUIRED fields (the Rust reference's choice)", day=1)
    c.base("wasm-tz", "wasm-ms-utc-req-d1.parquet", "arrow-rs, ms UTC, required fields")
    w("wasm-ms-naive-req-d1.parquet", required(with_ts(d1, "ms", None)),
      "day 1 base: zone-less timestamp[ms], REQUIRED fields", day=1)
    c.base("wasm-naive", "wasm-ms-naive-req-d1.parquet", "arrow-rs, ms zone-less, required")
    w("wasm-ms-utc-req-d2.parquet", required(with_ts(d2, "ms", "UTC")),
      "timestamp[ms](UTC), REQUIRED", cross=zoned_cross())
    w("wasm-us-utc-d2.parquet", with_ts(d2, "us", "UTC"), "timestamp[us](UTC), OPTIONAL, "
      "writer v2 (DATA_PAGE_V2), zstd", cross=zoned_cross(), codec="zstd", version="v2")
    w("wasm-ns-utc-req-d2.parquet", required(with_ts(d2, "ns", "UTC")),
      "timestamp[ns](UTC), REQUIRED", cross=zoned_cross())
    w("wasm-ms-naive-req-d2.parquet", required(with_ts(d2, "ms", None)),
      "zone-less timestamp[ms], REQUIRED", cross=naive_cross())
    w("wasm-dict-d2.parquet", with_column(required(d2), "symbol",
                                          pa.dictionary(pa.int32(), pa.string()), False),
      "symbol is dictionary<int32, utf8>, REQUIRED", cross=zoned_cross())
    w("wasm-large-string-d2.parquet", with_column(d2, "symbol", pa.large_string()),
      "symbol is large_utf8, no dictionary pages", cross=zoned_cross(), dictionary=False)
    w("wasm-rowgroup-100-nostats-d2.parquet", required(with_ts(d2, "ms", "UTC")),
      "timestamp[ms](UTC), row groups of 100, no statistics", cross=[],
      row_group=100, statistics=False)
    jobs_file = c.work / "wasm-jobs.json"
    jobs_file.write_text(json.dumps(jobs))
    env = dict(os.environ, TST_NODE_DEPS=str(NODE_DEPS))
    subprocess.run(["node", str(WASM_SCRIPT), str(jobs_file)], check=True, env=env)


CSV = "csv"


def csv_frame(t: pa.Table) -> pd.DataFrame:
    return t.to_pandas()


def write_csv(c: Corpus):
    con = duckdb.connect()
    con.execute("SET TimeZone = 'UTC'")
    d2 = bars(2)
    con.register("d2", d2)
    con.execute(f"COPY (SELECT * FROM d2 ORDER BY symbol, ts) TO '{c.path('csv-duckdb-d2.csv')}'"
                " (FORMAT csv, HEADER)")
    c.add("csv-duckdb-d2.csv", f"{DK} COPY TO csv",
          "DuckDB's CSV: ts as '2024-03-05 14:30:00+00'", cross=zoned_cross())

    df = csv_frame(d2)
    df.to_csv(c.path("csv-pandas-d2.csv"), index=False)
    c.add("csv-pandas-d2.csv", f"pandas {pd.__version__} to_csv",
          "pandas to_csv: ts as '2024-03-05 14:30:00+00:00', vwap nulls as empty fields",
          cross=zoned_cross())

    iso = df.copy()
    iso["ts"] = iso["ts"].dt.strftime("%Y-%m-%dT%H:%M:%SZ")
    iso.to_csv(c.path("csv-iso-z-d2.csv"), index=False)
    c.add("csv-iso-z-d2.csv", "python csv (pandas)", "ISO 8601 with Z", cross=zoned_cross())

    plus = df.copy()
    plus["ts"] = plus["ts"].dt.strftime("%Y-%m-%dT%H:%M:%S+00:00")
    plus.to_csv(c.path("csv-iso-plus0000-d2.csv"), index=False)
    c.add("csv-iso-plus0000-d2.csv", "python csv (pandas)", "ISO 8601 with +00:00",
          cross=zoned_cross())

    whole = iso.copy()
    for col in ("open", "high", "low", "close", "vwap"):
        whole[col] = whole[col].round(0).astype("Int64")
    whole.to_csv(c.path("csv-whole-prices-d2.csv"), index=False)
    c.add("csv-whole-prices-d2.csv", "python csv (pandas)",
          "prices are whole numbers ('120'): sniffed as integers; the table's float64 rules "
          "once it has a schema", cross=zoned_cross())

    naive = df.copy()
    naive["ts"] = naive["ts"].dt.strftime("%Y-%m-%d %H:%M:%S")
    naive.to_csv(c.path("csv-naive-d2.csv"), index=False)
    c.add("csv-naive-d2.csv", "python csv (pandas)", "zone-less timestamps (UTC wall clock)",
          cross=naive_cross()[:2] + [{"base": "duckdb-tz", "expect": APPENDS}])
    # CSV text has no types: once a table has a schema, a zone-less time in a
    # CSV is read with the table's type, as UTC, as tstable reads zone-less
    # times everywhere (--start, coverage); a zone-less Parquet column is a
    # different type and stays refused by a zoned table.

    iso.to_csv(c.path("csv-semicolon-d2.csv"), index=False, sep=";")
    c.add("csv-semicolon-d2.csv", "python csv (pandas)",
          "semicolon-separated: refused with the option to give (--delimiter ';'), as pandas "
          "and polars also need sep=';'",
          expect={"outcome": "refused", "message": [r"--delimiter ';'"]}, cross=[])

    day = csv_frame(daily(2))
    day["date"] = pd.to_datetime(day["date"]).dt.strftime("%Y-%m-%d")
    day.to_csv(c.path("csv-daily-date-p2.csv"), index=False)
    c.add("csv-daily-date-p2.csv", "python csv (pandas)", "daily table, date column '2024-03-11'",
          dataset="daily", cross=[{"base": "duckdb-daily", "expect": APPENDS}])


def main(argv):
    if len(argv) != 2:
        print("usage: corpus.py OUT_DIR", file=sys.stderr)
        return 2
    out = Path(argv[1])
    out.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix="tst-corpus-"))
    try:
        c = Corpus(out, work)
        for writer in (write_duckdb, write_wasm, write_pyarrow, write_polars, write_pandas,
                       write_csv):
            writer(c)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    manifest = {
        "datasets": DATASETS,
        "bases": c.bases,
        "files": c.entries,
        "versions": {"pyarrow": pa.__version__, "polars": pl.__version__,
                     "pandas": pd.__version__, "duckdb": duckdb.__version__},
    }
    (out / "manifest.json").write_text(json.dumps(manifest, indent=1) + "\n")
    print(f"corpus.py: {len(c.entries)} files in {out}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
