"""Files from every common writer append, or are refused with what to do.

The type rules of an append (docs/guide/source-types.md), tested with the
writers users have: pyarrow, polars, pandas (through pyarrow), DuckDB
(python duckdb) and parquet-wasm (arrow-rs, the reference's writer, through
tests/fixtures/write_parquet_wasm.mjs). Each test writes real files, appends
them with the CLI ($TSTABLE_BIN, else build/tstable) into a fresh table or a
table another writer started, and compares the table's rows and sums with
DuckDB's reading of the source files. Test names carry the finding of
shared/reports/2026-12-07-new-user-trial/REPORT.md they reproduce.

The last test opens tables written here with the reference implementation
(PyPI timeseries-table-format 0.4.0, in a venv of its own that
scripts/deps.sh makes at .deps/refvenv; TSTABLE_REFERENCE_PYTHON names
another) and is skipped when it is not installed.
"""

import datetime as dt
import json
import os
import shutil
import subprocess
import uuid
from pathlib import Path

import duckdb
import numpy as np
import pandas as pd
import polars as pl
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from compat_support import REFERENCE, REFERENCE_MISSING, our_package

REPO = Path(__file__).resolve().parents[2]
BIN = Path(os.environ.get("TSTABLE_BIN", REPO / "build" / "tstable"))
WASM = REPO / "tests" / "fixtures" / "write_parquet_wasm.mjs"

pytestmark = pytest.mark.skipif(not BIN.exists(), reason=f"{BIN} is not built")


# ---- the CLI ----------------------------------------------------------------


def tstable(*args, cwd=None):
    env = dict(os.environ)
    env.pop("TSTABLE_LOG", None)
    return subprocess.run([str(BIN), *map(str, args)], capture_output=True, text=True,
                          timeout=120, cwd=cwd, env=env)


def create(root, index="ts", bucket="1h", entity="symbol", index_type=None, width=None):
    args = ["create", "--table", root, "--protocol", "6", "--index-column", index]
    if index_type:
        args += ["--index-type", index_type]
    args += ["--bucket-width", width] if width else ["--bucket", bucket]
    if entity:
        args += ["--entity", entity]
    r = tstable(*args)
    assert r.returncode == 0, r.stderr
    return root


def append(root, path):
    """Appends and returns the stderr (adoption notes go there)."""
    r = tstable("append", "--table", root, "--parquet", path)
    assert r.returncode == 0, f"append of {path} failed: {r.stderr}"
    return r.stderr


def refused(root, path):
    """Appends a file that must be refused; returns the message; checks nothing was written."""
    def files():
        return sorted(p.name for p in Path(root).rglob("*") if p.is_file())
    before = (version(root), files())
    r = tstable("append", "--table", root, "--parquet", path)
    assert r.returncode != 0, f"append of {path} was accepted: {r.stdout}"
    assert (version(root), files()) == before
    return " ".join(r.stderr.split())


def version(root):
    log = Path(root) / "_timeseries_log"
    return len(list(log.glob("*.json"))) - 1


def query(root, sql):
    name = Path(root).name
    r = tstable("query", "--table", root, "--format", "csv", "--sql", sql.format(t=name))
    assert r.returncode == 0, r.stderr
    return r.stdout.strip().splitlines()[1:]


def schema(root):
    """The table's logical schema, from the log: {name: (type json, nullable)}."""
    log = sorted((Path(root) / "_timeseries_log").glob("*.json"))
    cols = None
    for f in log:
        for action in json.loads(f.read_text())["actions"]:
            meta = action.get("UpdateTableMeta")
            if meta and meta.get("logical_schema"):
                cols = meta["logical_schema"]["columns"]
    assert cols is not None, "no schema adopted"
    return {c["name"]: (c["data_type"], c["nullable"]) for c in cols}


def totals(root, cols=("close", "volume")):
    """count(*) and the sum of each column, through the table."""
    sums = ", ".join(f"sum({c})" for c in cols)
    return query(root, f"SELECT count(*), {sums} FROM {{t}}")


def source_totals(paths, cols=("close", "volume")):
    """The same numbers from DuckDB's own reading of the source files."""
    sums = ", ".join(f"sum({c})" for c in cols)
    files = ", ".join(f"'{p}'" for p in paths)
    con = duckdb.connect()
    row = con.sql(f"SELECT count(*), {sums} FROM read_parquet([{files}], "
                  f"union_by_name = true)").fetchone()
    return ",".join(str(v) for v in row)


# ---- the data and the writers ----------------------------------------------------


def bars(start, hours, symbols=("AAPL", "MSFT")):
    """Hourly bars: ts (naive, UTC wall time), symbol, close, volume."""
    ts, sym, close, vol = [], [], [], []
    for s_i, s in enumerate(symbols):
        for h in range(hours):
            ts.append(start + dt.timedelta(hours=h))
            sym.append(s)
            close.append(100.0 + s_i + h * 0.25)
            vol.append(1000 * (s_i + 1) + h)
    return {"ts": ts, "symbol": sym, "close": close, "volume": vol}


def arrow_bars(start, hours, ts_type=pa.timestamp("us", tz="UTC"), symbol_type=pa.utf8(),
               nullable=True, **extra):
    data = bars(start, hours)
    ts = pa.array(data["ts"], pa.timestamp("us")).cast(pa.timestamp("us", tz="UTC"))
    ts = ts.cast(ts_type) if ts_type.tz else pa.array(data["ts"], pa.timestamp("us")).cast(ts_type)
    sym = pa.array(data["symbol"])
    sym = sym.dictionary_encode() if pa.types.is_dictionary(symbol_type) else sym.cast(symbol_type)
    cols = {"ts": ts, "symbol": sym, "close": pa.array(data["close"]),
            "volume": pa.array(data["volume"], pa.int64()), **extra}
    fields = [pa.field(n, a.type, nullable=nullable) for n, a in cols.items()]
    return pa.Table.from_arrays(list(cols.values()), schema=pa.schema(fields))


def write_pyarrow(table, path, **kw):
    pq.write_table(table, path, **kw)
    return path


def write_wasm(table, path):
    """arrow-rs (parquet-wasm) writes the Arrow table, types and all."""
    ipc = Path(str(path) + ".arrows")
    with pa.OSFile(str(ipc), "wb") as f, pa.ipc.new_stream(f, table.schema) as w:
        w.write_table(table)
    subprocess.run(["node", str(WASM), "--ipc", str(ipc), str(path)], check=True,
                   capture_output=True, timeout=120)
    return path


def write_duckdb(sql, path):
    con = duckdb.connect()
    con.sql("SET TimeZone = 'UTC'")
    con.sql(f"COPY ({sql}) TO '{path}' (FORMAT parquet)")
    return path


def duck_bars_sql(start, hours, ts="TIMESTAMPTZ"):
    """DuckDB's version of bars(): ts as TIMESTAMPTZ unless told otherwise."""
    return (f"SELECT (TIMESTAMP '{start:%Y-%m-%d %H:%M:%S}' + INTERVAL (h) HOUR)::{ts} AS ts, "
            f"s AS symbol, 100.0::DOUBLE + i + h * 0.25 AS close, (1000 * (i + 1) + h)::BIGINT "
            f"AS volume FROM range({hours}) r(h), (VALUES ('AAPL', 0), ('MSFT', 1)) v(s, i)")


need_node = pytest.mark.skipif(shutil.which("node") is None, reason="node is not installed")
JAN = dt.datetime(2024, 1, 1)
FEB = dt.datetime(2024, 2, 1)
MAR = dt.datetime(2024, 3, 1)


# ---- finding 6: nullability ---------------------------------------------------------


@need_node
def test_finding_6_required_arrow_rs_file_joins_a_duckdb_table(tmp_path):
    root = create(tmp_path / "t")
    a = write_duckdb(duck_bars_sql(JAN, 24), tmp_path / "duck.parquet")
    b = write_wasm(arrow_bars(FEB, 24, nullable=False), tmp_path / "req.parquet")
    append(root, a)
    append(root, b)
    assert schema(root)["ts"] == ({"Timestamp": {"unit": "Micros", "timezone": "UTC"}}, True)
    assert totals(root) == [source_totals([a, b])]


@need_node
def test_finding_6_duckdb_file_joins_a_table_started_by_arrow_rs(tmp_path):
    root = create(tmp_path / "t")
    a = write_wasm(arrow_bars(JAN, 24, pa.timestamp("ms", tz="UTC"), nullable=False),
                   tmp_path / "req.parquet")
    b = write_duckdb(duck_bars_sql(FEB, 24), tmp_path / "duck.parquet")
    append(root, a)
    append(root, b)
    # The table keeps the non-null schema the arrow-rs file gave it.
    assert all(not nullable for _, nullable in schema(root).values())
    assert totals(root) == [source_totals([a, b])]


@need_node
def test_finding_6_nulls_into_a_non_null_column_are_refused_with_the_count(tmp_path):
    root = create(tmp_path / "t")
    append(root, write_wasm(arrow_bars(JAN, 24, nullable=False), tmp_path / "req.parquet"))
    sql = duck_bars_sql(FEB, 24).replace("100.0::DOUBLE + i + h * 0.25 AS close",
                                         "CASE WHEN h < 3 AND i = 0 THEN NULL ELSE 1.0::DOUBLE END "
                                         "AS close")
    message = refused(root, write_duckdb(sql, tmp_path / "nulls.parquet"))
    assert "column 'close' is not nullable in the table" in message
    assert "3 nulls" in message
    assert "nothing was written" in message


# ---- finding 7: string encodings ---------------------------------------------------


def string_variants(tmp_path, start):
    """The same bars with symbol as each writer's string encodings."""
    files = {}
    files["pyarrow-dict"] = write_pyarrow(
        arrow_bars(start, 24, symbol_type=pa.dictionary(pa.int32(), pa.utf8())),
        tmp_path / "pa-dict.parquet")
    files["pyarrow-large"] = write_pyarrow(arrow_bars(start, 24, symbol_type=pa.large_utf8()),
                                           tmp_path / "pa-large.parquet")
    files["pyarrow-view"] = write_pyarrow(arrow_bars(start, 24, symbol_type=pa.string_view()),
                                          tmp_path / "pa-view.parquet")
    df = pl.DataFrame(bars(start, 24)).with_columns(
        pl.col("ts").dt.replace_time_zone("UTC"), pl.col("symbol").cast(pl.Categorical))
    files["polars-categorical"] = tmp_path / "pl-cat.parquet"
    df.write_parquet(files["polars-categorical"])
    files["polars-enum"] = tmp_path / "pl-enum.parquet"
    df.with_columns(pl.col("symbol").cast(pl.Utf8).cast(pl.Enum(["AAPL", "MSFT"]))).write_parquet(
        files["polars-enum"])
    pdf = pd.DataFrame(bars(start, 24))
    pdf["ts"] = pdf["ts"].dt.tz_localize("UTC")
    pdf["symbol"] = pdf["symbol"].astype("category")
    files["pandas-category"] = tmp_path / "pd-cat.parquet"
    pdf.to_parquet(files["pandas-category"])
    return files


def shifted(tmp_path, files, days):
    """Each file rewritten `days` later, so they can all go into one table."""
    out = {}
    for i, (name, path) in enumerate(files.items()):
        t = pq.read_table(path)
        ts = t.column("ts")
        moved = pa.compute.add(ts, pa.scalar(dt.timedelta(days=days * (i + 1)),
                                             pa.duration(ts.type.unit)))
        t = t.set_column(t.schema.get_field_index("ts"), t.schema.field("ts"), moved)
        out[name] = write_pyarrow(t, tmp_path / f"later-{name}.parquet")
    return out


def test_finding_7_dictionary_large_and_view_strings_start_a_table(tmp_path):
    for name, path in string_variants(tmp_path, JAN).items():
        root = create(tmp_path / f"t_{name.replace('-', '_')}")
        notes = append(root, path)
        assert schema(root)["symbol"][0] == "Utf8", name
        assert "append.adopt: " in notes and "stored as utf8" in notes, (name, notes)
        assert query(root, "SELECT count(*) FROM {t} WHERE symbol = 'AAPL'") == ["24"], name
        assert totals(root) == [source_totals([path])], name


@need_node
def test_finding_7_every_string_encoding_joins_a_utf8_table(tmp_path):
    root = create(tmp_path / "t")
    first = write_duckdb(duck_bars_sql(JAN, 24), tmp_path / "duck.parquet")
    append(root, first)
    files = shifted(tmp_path, string_variants(tmp_path, JAN), 30)
    encodings = {"dict": pa.dictionary(pa.int8(), pa.utf8()), "large": pa.large_utf8(),
                 "view": pa.string_view()}
    for i, (kind, symbol_type) in enumerate(encodings.items()):
        start = JAN + dt.timedelta(days=300 + i)
        files[f"wasm-{kind}"] = write_wasm(arrow_bars(start, 24, symbol_type=symbol_type),
                                           tmp_path / f"wasm-{kind}.parquet")
    seen = [first]
    for name, path in files.items():
        append(root, path)
        seen.append(path)
        assert totals(root) == [source_totals(seen)], name
    assert schema(root)["symbol"] == ("Utf8", True)


# ---- finding 8: timestamp units and zones ------------------------------------------------


@need_node
def test_finding_8_ms_table_takes_us_and_ns_files_with_whole_milliseconds(tmp_path):
    root = create(tmp_path / "t")
    ms = write_wasm(arrow_bars(JAN, 24, pa.timestamp("ms", tz="UTC"), nullable=False),
                    tmp_path / "ms.parquet")
    append(root, ms)
    us = write_duckdb(duck_bars_sql(FEB, 24), tmp_path / "us.parquet")
    ns = write_pyarrow(arrow_bars(MAR, 24, pa.timestamp("ns", tz="UTC")), tmp_path / "ns.parquet")
    append(root, us)
    append(root, ns)
    assert schema(root)["ts"][0] == {"Timestamp": {"unit": "Millis", "timezone": "UTC"}}
    assert totals(root) == [source_totals([ms, us, ns])]
    assert query(root, "SELECT min(ts), max(ts) FROM {t} WHERE ts >= '2024-03-01'") == [
        "2024-03-01T00:00:00Z,2024-03-01T23:00:00Z"]


@need_node
def test_finding_8_a_sub_millisecond_value_is_refused_naming_the_first(tmp_path):
    root = create(tmp_path / "t")
    append(root, write_wasm(arrow_bars(JAN, 24, pa.timestamp("ms", tz="UTC")),
                            tmp_path / "ms.parquet"))
    sql = duck_bars_sql(FEB, 24).replace(
        "INTERVAL (h) HOUR)", "INTERVAL (h) HOUR + CASE WHEN h = 5 THEN INTERVAL 7 MICROSECOND "
        "ELSE INTERVAL 0 SECOND END)")
    message = refused(root, write_duckdb(sql, tmp_path / "us.parquet"))
    assert "column 'ts' holds milliseconds in the table" in message
    assert "2 values of the source (timestamp[us](UTC)) are not whole milliseconds" in message
    assert "the first 2024-02-01 05:00:00.000007+00" in message
    assert "date_trunc('millisecond', ts)" in message


def test_finding_8_us_table_widens_ms_and_seconds(tmp_path):
    root = create(tmp_path / "t")
    us = write_duckdb(duck_bars_sql(JAN, 24), tmp_path / "us.parquet")
    append(root, us)
    ms = write_pyarrow(arrow_bars(FEB, 24, pa.timestamp("ms", tz="UTC")), tmp_path / "ms.parquet")
    s = write_pyarrow(arrow_bars(MAR, 24, pa.timestamp("s", tz="UTC")), tmp_path / "s.parquet")
    append(root, ms)
    append(root, s)
    assert totals(root) == [source_totals([us, ms, s])]


@need_node
def test_finding_8_utc_spellings_and_other_zones_are_the_same_instants(tmp_path):
    root = create(tmp_path / "t")
    append(root, write_duckdb(duck_bars_sql(JAN, 24), tmp_path / "utc.parquet"))
    files = [tmp_path / "utc.parquet"]
    for i, tz in enumerate(["+00:00", "Etc/UTC", "Z", "America/New_York"]):
        start = FEB + dt.timedelta(days=i)
        files.append(write_wasm(arrow_bars(start, 24, pa.timestamp("us", tz=tz)),
                                tmp_path / f"zone{i}.parquet"))
        append(root, files[-1])
    assert totals(root) == [source_totals(files)]
    # The New York file's first bar is the instant 2024-02-04 00:00 UTC.
    assert query(root, "SELECT count(*) FROM {t} WHERE ts = TIMESTAMPTZ '2024-02-04 00:00:00+00'"
                 ) == ["2"]


def test_finding_8_zone_less_and_zoned_never_meet_and_the_message_says_how(tmp_path):
    zoned = create(tmp_path / "zoned")
    append(zoned, write_duckdb(duck_bars_sql(JAN, 24), tmp_path / "utc.parquet"))
    naive = write_pyarrow(arrow_bars(FEB, 24, pa.timestamp("us")), tmp_path / "naive.parquet")
    message = refused(zoned, naive)
    assert "column 'ts' is timestamp[us](UTC) in the table but timestamp[us]" in message
    assert "replace_time_zone('UTC')" in message
    plain = create(tmp_path / "plain")
    append(plain, naive)
    message = refused(plain, tmp_path / "utc.parquet")
    assert "drop the zone from the source" in message


def test_finding_8_seconds_and_int96_are_adopted_with_a_note(tmp_path):
    s = write_pyarrow(arrow_bars(JAN, 24, pa.timestamp("s", tz="UTC")), tmp_path / "s.parquet")
    root = create(tmp_path / "s")
    notes = append(root, s)
    assert "column 'ts' (timestamp[s](UTC)) stored as timestamp[ms](UTC)" in notes
    assert schema(root)["ts"][0] == {"Timestamp": {"unit": "Millis", "timezone": "UTC"}}
    # Spark's INT96, without an ARROW:schema: UTC instants, read to microseconds.
    int96 = write_pyarrow(arrow_bars(FEB, 24, pa.timestamp("us")), tmp_path / "int96.parquet",
                          use_deprecated_int96_timestamps=True, store_schema=False)
    root = create(tmp_path / "int96")
    notes = append(root, int96)
    assert "column 'ts' (int96) stored as timestamp[us](UTC)" in notes
    assert totals(root) == [source_totals([int96])]
    assert query(root, "SELECT min(ts) FROM {t}") == ["2024-02-01T00:00:00Z"]


# ---- finding 9: dates and small integers ---------------------------------------------------


def daily(start, days, date_type="DATE"):
    return (f"SELECT (DATE '{start:%Y-%m-%d}' + INTERVAL (d) DAY)::{date_type} AS date, "
            f"s AS symbol, 100.0::DOUBLE + d AS close, (1000 + d)::BIGINT AS volume "
            f"FROM range({days}) r(d), (VALUES ('AAPL'), ('MSFT')) v(s)")


def test_finding_9_daily_bars_with_a_date_index(tmp_path):
    root = create(tmp_path / "daily", index="date", bucket="1d")
    a = write_duckdb(daily(JAN, 20), tmp_path / "duck.parquet")
    notes = append(root, a)
    assert "append.adopt: table" in notes
    assert "column 'date' (date32) stored as timestamp[us]" in notes
    assert schema(root)["date"][0] == {"Timestamp": {"unit": "Micros", "timezone": None}}
    # Later DATE files from other writers append into the timestamp column.
    b = tmp_path / "polars.parquet"
    pl.DataFrame({"date": [dt.date(2024, 2, d) for d in range(1, 11)] * 2,
                  "symbol": ["AAPL"] * 10 + ["MSFT"] * 10,
                  "close": [float(d) for d in range(20)],
                  "volume": list(range(20))}).write_parquet(b)
    c = write_pyarrow(pa.table({"date": pa.array([dt.date(2024, 3, 1)] * 2, pa.date32()),
                                "symbol": ["AAPL", "MSFT"], "close": [1.5, 2.5],
                                "volume": pa.array([1, 2], pa.int64())}), tmp_path / "pa.parquet")
    append(root, b)
    append(root, c)
    assert totals(root) == [source_totals([a, b, c])]
    assert query(root, "SELECT count(*) FROM {t} WHERE date = DATE '2024-02-03'") == ["2"]
    # A day already there is an overlap.
    message = refused(root, c)
    assert "already covered" in message


def test_finding_9_small_integers_and_float16_are_adopted_and_widen(tmp_path):
    extra = {"i8": pa.array(range(48), pa.int8()), "i16": pa.array(range(48), pa.int16()),
             "u8": pa.array(range(48), pa.uint8()), "u16": pa.array(range(48), pa.uint16()),
             "u32": pa.array(range(48), pa.uint32()),
             "f16": pa.array(np.arange(48, dtype=np.float16) / 2)}
    a = write_pyarrow(arrow_bars(JAN, 24, **extra), tmp_path / "narrow.parquet")
    root = create(tmp_path / "t")
    notes = append(root, a)
    s = schema(root)
    assert [s[c][0] for c in ("i8", "i16", "u8", "u16", "u32", "f16")] == [
        "Int32", "Int32", "UInt64", "UInt64", "UInt64", "Float32"]
    assert "column 'f16' (float16) stored as float32" in notes
    cols = ("i8", "i16", "u8", "u16", "u32", "f16")
    # The same narrow types append again later; DuckDB's own narrow types too.
    b = write_pyarrow(arrow_bars(FEB, 24, **extra), tmp_path / "narrow2.parquet")
    append(root, b)
    c = write_duckdb(duck_bars_sql(MAR, 24).replace(
        "AS volume", "AS volume, 1::TINYINT AS i8, 2::SMALLINT AS i16, 3::UTINYINT AS u8, "
        "4::USMALLINT AS u16, 5::UINTEGER AS u32, 0.5::FLOAT AS f16"), tmp_path / "duck.parquet")
    append(root, c)
    assert totals(root, cols) == [source_totals([a, b, c], cols)]


def test_finding_9_an_int32_index_goes_into_an_int64_table(tmp_path):
    root = create(tmp_path / "t", index="seq", index_type="int64", width=100)
    a = write_duckdb("SELECT i::INTEGER AS seq, 'x' || i AS symbol FROM range(0, 300) r(i)",
                     tmp_path / "i32.parquet")
    notes = append(root, a)
    assert schema(root)["seq"][0] == "Int64"
    assert "column 'seq' (int32) stored as int64" in notes
    b = write_duckdb("SELECT i::SMALLINT AS seq, 'y' AS symbol FROM range(300, 400) r(i)",
                     tmp_path / "i16.parquet")
    c = write_pyarrow(pa.table({"seq": pa.array(range(400, 500), pa.uint32()),
                                "symbol": ["z"] * 100}), tmp_path / "u32.parquet")
    append(root, b)
    append(root, c)
    assert query(root, "SELECT count(*), sum(seq) FROM {t}") == [f"500,{sum(range(500))}"]


# ---- finding 2: UUID and JSON ---------------------------------------------------------------

ID = "5a6da421-9932-4c95-bb36-d297ba36422a"


def test_finding_2_uuid_is_refused_with_the_way_out_and_json_is_text(tmp_path):
    root = create(tmp_path / "t")
    with_uuid = write_duckdb(duck_bars_sql(JAN, 24).replace(
        "AS volume", f"AS volume, '{ID}'::UUID AS id, '{{\"a\": 1}}'::JSON AS js"),
        tmp_path / "uuid.parquet")
    message = refused(root, with_uuid)
    assert "column 'id' has type uuid" in message
    assert "id::VARCHAR" in message and "pl.Utf8" in message
    # The way out: the UUID as text. JSON is adopted as utf8 and stays queryable.
    as_text = write_duckdb(f"SELECT * REPLACE (id::VARCHAR AS id) FROM '{with_uuid}'",
                           tmp_path / "text.parquet")
    notes = append(root, as_text)
    assert "column 'js' (json) stored as utf8" in notes
    assert schema(root)["js"][0] == "Utf8"
    assert query(root, f"SELECT count(*), any_value(js->>'a') FROM {{t}} WHERE id = '{ID}'") == [
        "48,1"]
    # pyarrow's UUID extension type is refused the same way.
    ids = pa.array([uuid.UUID(ID).bytes] * 48, pa.uuid())
    message = refused(create(tmp_path / "u"), write_pyarrow(arrow_bars(JAN, 24, id=ids),
                                                          tmp_path / "pa-uuid.parquet"))
    assert "column 'id' has type uuid" in message


@pytest.mark.parametrize("sql, column, words", [
    ("TIME '10:00:00' AS t", "t", "t::VARCHAR"),
    ("INTERVAL 1 DAY AS iv", "iv", "epoch_us(iv)"),
])
def test_finding_30_unstorable_types_are_refused_with_a_cast(tmp_path, sql, column, words):
    path = write_duckdb(duck_bars_sql(JAN, 24).replace("AS volume", f"AS volume, {sql}"),
                        tmp_path / "x.parquet")
    message = refused(create(tmp_path / "t"), path)
    assert f"column '{column}' has type" in message
    assert words in message


def test_finding_30_lists_and_structs_of_any_string_encoding_append(tmp_path):
    n = 48
    tags = pa.array([["a", "b"]] * n, pa.large_list(pa.large_utf8()))
    fixed = pa.array([[1, 2]] * n, pa.list_(pa.int64(), 2))
    inner = pa.array([{"k": "x"}] * n, pa.struct([pa.field("k", pa.string_view())]))
    first = write_pyarrow(arrow_bars(JAN, 24, tags=tags, pair=fixed, st=inner),
                          tmp_path / "pa.parquet")
    root = create(tmp_path / "t")
    notes = append(root, first)
    assert "column 'tags' (large_list<large_utf8>) stored as List<item?: utf8>" in notes
    s = schema(root)
    assert s["pair"][0] == {"List": {"elements": {"name": "item", "data_type": "Int64",
                                                  "nullable": True}}}
    # polars writes lists of strings as large_list<large_string>; they join the table.
    df = pl.DataFrame(bars(FEB, 24)).with_columns(
        pl.col("ts").dt.replace_time_zone("UTC"), pl.lit(["a", "b"]).alias("tags"),
        pl.lit([1, 2]).cast(pl.Array(pl.Int64, 2)).alias("pair"),
        pl.struct(pl.lit("y").alias("k")).alias("st"))
    later = tmp_path / "pl.parquet"
    df.write_parquet(later)
    append(root, later)
    assert query(root, "SELECT count(*), sum(len(tags)), sum(pair[2]), string_agg(DISTINCT st.k, "
                       "'' ORDER BY st.k) FROM {t}") == ["96,192,192,xy"]
    # A narrow integer inside a list would be written in its own type: refused.
    narrow = pa.array([[1]] * n, pa.list_(pa.int16()))
    message = refused(create(tmp_path / "u"), write_pyarrow(arrow_bars(JAN, 24, l=narrow),
                                                          tmp_path / "narrow.parquet"))
    assert "column 'l' has type List<item?: int16>" in message


def test_finding_30_lists_from_duckdb_pyarrow_and_polars_meet(tmp_path):
    """DuckDB names a list's element "element", pyarrow, polars and arrow-rs "item"."""
    root = create(tmp_path / "t")
    first = write_duckdb(duck_bars_sql(JAN, 24).replace(
        "AS volume", "AS volume, [1, 2]::INTEGER[] AS l"), tmp_path / "duck.parquet")
    append(root, first)
    assert schema(root)["l"][0]["List"]["elements"]["name"] == "element"
    items = pa.array([[3, 4]] * 48, pa.list_(pa.field("item", pa.int32(), nullable=False)))
    second = write_pyarrow(arrow_bars(FEB, 24, l=items), tmp_path / "pa.parquet")
    append(root, second)
    third = tmp_path / "pl.parquet"
    pl.DataFrame(bars(MAR, 24)).with_columns(
        pl.col("ts").dt.replace_time_zone("UTC"),
        pl.lit([5, 6]).cast(pl.List(pl.Int32)).alias("l")).write_parquet(third)
    append(root, third)
    assert query(root, "SELECT count(*), sum(l[1] + l[2]) FROM {t}") == [
        f"144,{48 * (3 + 7 + 11)}"]


def test_finding_30_a_decimal_over_38_digits_is_refused_not_rounded(tmp_path):
    import decimal
    wide = pa.array([decimal.Decimal("1234567890123456789012345678901234567890.12")] * 48,
                    pa.decimal256(50, 2))
    path = write_pyarrow(arrow_bars(JAN, 24, big=wide), tmp_path / "wide.parquet")
    message = refused(create(tmp_path / "t"), path)
    assert "column 'big' has type decimal(precision=50, scale=2)" in message
    assert "cast it to decimal(38, s), to float64 or to text" in message


def test_finding_30_decimal_enum_and_nested_types_round_trip(tmp_path):
    sql = duck_bars_sql(JAN, 24).replace(
        "AS volume", "AS volume, 12.34::DECIMAL(10,2) AS price, [1, 2] AS l, "
        "{'a': 1, 'b': 'x'} AS st, 'ok'::ENUM_T AS mood")
    con = duckdb.connect()
    con.sql("CREATE TYPE ENUM_T AS ENUM ('ok', 'bad')")
    path = tmp_path / "x.parquet"
    con.sql("SET TimeZone = 'UTC'")
    con.sql(f"COPY ({sql}) TO '{path}' (FORMAT parquet)")
    root = create(tmp_path / "t")
    append(root, path)
    assert query(root, "SELECT sum(price), sum(l[2]), any_value(st.b), "
                       "count(*) FILTER (WHERE mood = 'ok') FROM {t}") == ["592.32,96,x,48"]


# ---- the reference reads what we wrote --------------------------------------------------------

REFERENCE_SCAN = """
import json, sys
import timeseries_table_format as ttf
out = {}
for root in sys.argv[1:]:
    s = ttf.Session()
    s.register_tstable("t", root)
    t = s.sql("SELECT count(*) AS n, sum(close) AS c, sum(volume) AS v FROM t")
    out[root] = [t.column(0)[0].as_py(), t.column(1)[0].as_py(), t.column(2)[0].as_py()]
print(json.dumps(out))
"""


@need_node
@pytest.mark.skipif(not REFERENCE.exists(),
                    reason=REFERENCE_MISSING)
def test_the_reference_reads_tables_filled_by_every_writer(tmp_path):
    tables = {}
    # A table started by arrow-rs (ms, non-null), then DuckDB, pyarrow and polars files.
    root = create(tmp_path / "from_wasm")
    files = [write_wasm(arrow_bars(JAN, 24, pa.timestamp("ms", tz="UTC"), nullable=False),
                        tmp_path / "w.parquet"),
             write_duckdb(duck_bars_sql(FEB, 24), tmp_path / "d.parquet"),
             write_pyarrow(arrow_bars(MAR, 24, symbol_type=pa.large_utf8()),
                           tmp_path / "p.parquet")]
    pl_file = tmp_path / "pl.parquet"
    pl.DataFrame(bars(dt.datetime(2024, 4, 1), 24)).with_columns(
        pl.col("ts").dt.replace_time_zone("UTC"), pl.col("symbol").cast(pl.Categorical)
    ).write_parquet(pl_file)
    files.append(pl_file)
    for f in files:
        append(root, f)
    tables[str(root)] = files
    # A table started by DuckDB (zoned us, all nullable), then pandas and arrow-rs files.
    root = create(tmp_path / "from_duck")
    pdf = pd.DataFrame(bars(FEB, 24))
    pdf["ts"] = pdf["ts"].dt.tz_localize("UTC")
    pdf["symbol"] = pdf["symbol"].astype("category")
    pdf.to_parquet(tmp_path / "pd.parquet")
    files = [write_duckdb(duck_bars_sql(JAN, 24), tmp_path / "d0.parquet"), tmp_path / "pd.parquet",
             write_wasm(arrow_bars(MAR, 24, pa.timestamp("ns", tz="+00:00"), nullable=False),
                        tmp_path / "w2.parquet")]
    for f in files:
        append(root, f)
    tables[str(root)] = files
    # Nested columns from pyarrow, re-encoded (large_utf8 symbol) by DuckDB.
    root = create(tmp_path / "nested")
    nested = arrow_bars(JAN, 24, symbol_type=pa.large_utf8(),
                        l=pa.array([[1, 2]] * 48, pa.list_(pa.int64())),
                        st=pa.array([{"a": 1, "b": "x"}] * 48),
                        m=pa.array([[("k", 1.5)]] * 48, pa.map_(pa.utf8(), pa.float64())),
                        tags=pa.array([["a", "b"]] * 48, pa.large_list(pa.large_utf8())))
    files = [write_pyarrow(nested, tmp_path / "nested.parquet")]
    append(root, files[0])
    tables[str(root)] = files
    # Lists named "element" (DuckDB) then "item" (pyarrow), in one table.
    root = create(tmp_path / "lists")
    files = [write_duckdb(duck_bars_sql(JAN, 24).replace(
                 "AS volume", "AS volume, [1, 2]::INTEGER[] AS l"), tmp_path / "l1.parquet"),
             write_pyarrow(arrow_bars(FEB, 24, l=pa.array([[3]] * 48, pa.list_(pa.int32()))),
                           tmp_path / "l2.parquet")]
    for f in files:
        append(root, f)
    tables[str(root)] = files
    # A daily table indexed by a DATE column.
    root = create(tmp_path / "daily", index="date", bucket="1d")
    files = [write_duckdb(daily(JAN, 20), tmp_path / "dd.parquet")]
    append(root, files[0])
    tables[str(root)] = files

    r = subprocess.run([str(REFERENCE), "-c", REFERENCE_SCAN, *tables], capture_output=True,
                       text=True, timeout=300)
    assert r.returncode == 0, r.stderr
    seen = json.loads(r.stdout)
    for root, files in tables.items():
        n, c, v = source_totals(files).split(",")
        assert seen[root][0] == int(n), root
        assert seen[root][1] == pytest.approx(float(c)), root
        assert seen[root][2] == int(v), root


# ---- Arrow streams: the same rules through the Python package -----------------------------------


def test_finding_7_and_9_pandas_and_polars_frames_append_as_arrow_streams(tmp_path):
    ttf = our_package()
    root = tmp_path / "frames"
    t = ttf.TimeSeriesTable.create(table_root=str(root), index_column="ts",
                                   index_type="timestamp", bucket="1h", entity_columns=["symbol"])
    pdf = pd.DataFrame(bars(JAN, 24))
    pdf["ts"] = pdf["ts"].dt.tz_localize("UTC")
    pdf["symbol"] = pdf["symbol"].astype("category")
    pdf["day"] = [d.date() for d in bars(JAN, 24)["ts"]]
    pdf["tags"] = [["x", "y"]] * len(pdf)
    t.append(pa.Table.from_pandas(pdf, preserve_index=False))
    df = pl.DataFrame(bars(FEB, 24)).with_columns(
        pl.col("ts").dt.replace_time_zone("UTC"), pl.col("symbol").cast(pl.Categorical),
        pl.col("ts").dt.date().alias("day"), pl.lit(["z"]).alias("tags"))
    t.append(df)  # large_list<string_view>, a dictionary, a date: through __arrow_c_stream__
    s = schema(root)
    assert s["symbol"][0] == "Utf8"
    assert s["day"][0] == {"Timestamp": {"unit": "Micros", "timezone": None}}
    assert query(root, "SELECT count(*), sum(close), sum(len(tags)), count(DISTINCT day) "
                       "FROM {t}") == ["96,9924.0,144,2"]


def test_a_zoned_nanosecond_column_keeps_every_digit_when_re_encoded(tmp_path):
    """DuckDB 1.4 reads a zoned ns column only to microseconds; the append reads it
    from a copy whose footer calls it zone-less, so the segment and its bounds keep
    the nanoseconds (pandas files are re-encoded: their strings are large_string)."""
    root = create(tmp_path / "t")
    table = arrow_bars(JAN, 4, pa.timestamp("ns", tz="UTC"), pa.large_string())
    ns = table.column("ts").cast(pa.int64()).to_pylist()
    ns = [v + 123 for v in ns]  # sub-microsecond digits
    table = table.set_column(0, table.schema.field("ts"),
                             pa.array(ns, pa.int64()).cast(pa.timestamp("ns", tz="UTC")))
    append(root, write_pyarrow(table, tmp_path / "ns.parquet"))
    assert schema(root)["ts"][0] == {"Timestamp": {"unit": "Nanos", "timezone": "UTC"}}
    [segment] = (root / "data").glob("*.parquet")
    stored = pq.read_table(segment).column("ts").cast(pa.int64()).to_pylist()
    assert sorted(stored) == sorted(ns)
    log = json.loads((root / "_timeseries_log" / "0000000002.json").read_text())
    add = next(a["AddSegment"] for a in log["actions"] if "AddSegment" in a)
    assert add["index_min"]["value"].endswith(".000000123Z")


def test_a_zoned_nanosecond_source_without_a_scratch_folder_is_refused_saying_so(tmp_path):
    root = create(tmp_path / "t")
    path = write_pyarrow(arrow_bars(JAN, 4, pa.timestamp("ns", tz="UTC")), tmp_path / "ns.parquet")
    env = dict(os.environ, TMPDIR=str(tmp_path / "missing"))
    r = subprocess.run([str(BIN), "append", "--table", str(root), "--parquet", str(path)],
                       capture_output=True, text=True, timeout=120, env=env)
    assert r.returncode != 0
    assert "set TMPDIR to a writable folder" in r.stderr
    assert version(root) == 0  # only the create commit
    assert not list((root / "data").glob("*")) if (root / "data").exists() else True
