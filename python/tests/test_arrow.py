"""Results as pyarrow objects, checked by pyarrow and polars themselves:
pyarrow validates every buffer it imports, polars reads the tables without
copying numeric buffers; round trips through append(), every stored type,
empty results with their schema, and RecordBatchReader semantics."""
import datetime as dt
import decimal
import gc

import polars as pl
import pyarrow as pa
import pytest

import timeseries_table_format as ttf
from conftest import write_csv

UTC = dt.timezone.utc


# ---- fixtures ------------------------------------------------------------------

TYPES = {"x": "BIGINT", "d": "DECIMAL(10,2)", "b": "BOOLEAN", "u": "UBIGINT", "f": "FLOAT",
         "i": "INTEGER", "s": "VARCHAR", "n": "BIGINT", "bin": "BLOB", "ms": "TIMESTAMP_MS",
         "tz": "TIMESTAMPTZ", "ns": "TIMESTAMP_NS"}


@pytest.fixture
def typed(tmp_path):
    csv = write_csv(tmp_path / "typed.csv", list(TYPES), [
        [1, "12.34", "true", 2**64 - 1, 1.5, -7, "hé", "", "ab", "2024-01-02 03:04:05.678",
         "2024-01-02T03:04:05Z", "2024-01-02 03:04:05.123456789"],
        [2, "-0.05", "false", 0, 2.25, 8, "x", 3, "", "1969-12-31 23:59:59.999",
         "1970-01-01T00:00:00Z", "1970-01-01 00:00:00"]])
    t = ttf.TimeSeriesTable.create(table_root=str(tmp_path / "typed"), index_column="x",
                                   index_type="int64", bucket_width=1)
    t.append_csv(csv, columns=TYPES)
    return t


# ---- tests -----------------------------------------------------------------------


def test_scans_are_pyarrow_tables_that_pyarrow_validates(bars):
    res = bars.scan("2024-06-01", "2024-06-11")
    assert type(res) is pa.Table
    res.validate(full=True)
    assert res.schema == pa.schema([("ts", pa.timestamp("us", tz="UTC")), ("symbol", pa.string()),
                                    ("open", pa.float64()), ("high", pa.float64()),
                                    ("low", pa.float64()), ("close", pa.float64()),
                                    ("volume", pa.int64())])
    assert res.num_rows == 240
    assert set(res.column("symbol").to_pylist()) == {"NVDA"}
    first = res.slice(0, 1).to_pylist()[0]
    assert first["ts"] == dt.datetime(2024, 6, 1, tzinfo=UTC)


def test_every_stored_type_arrives_with_its_arrow_type_and_nulls(typed):
    res = typed.scan(0, 10)
    res.validate(full=True)
    types = {f.name: f.type for f in res.schema}
    assert types["d"] == pa.decimal128(10, 2) and types["u"] == pa.uint64()
    assert types["b"] == pa.bool_() and types["bin"] == pa.binary()
    assert types["ms"] == pa.timestamp("ms") and types["ns"] == pa.timestamp("ns")
    assert types["tz"] == pa.timestamp("us", tz="UTC") and types["f"] == pa.float32()
    assert res.column("n").null_count == 1


def test_pyarrow_converts_every_stored_type(typed):
    rows = typed.scan(0, 10).to_pylist()
    assert rows[0] == {
        "x": 1, "d": decimal.Decimal("12.34"), "b": True, "u": 2**64 - 1, "f": 1.5, "i": -7,
        "s": "hé", "n": None, "bin": b"ab",
        "ms": dt.datetime(2024, 1, 2, 3, 4, 5, 678000),
        "tz": dt.datetime(2024, 1, 2, 3, 4, 5, tzinfo=UTC),
        "ns": pa.scalar(1704164645123456789, pa.timestamp("ns")).as_py()}
    assert rows[1]["d"] == decimal.Decimal("-0.05")
    assert rows[1]["ms"] == dt.datetime(1969, 12, 31, 23, 59, 59, 999000)
    assert rows[1]["tz"] == dt.datetime(1970, 1, 1, tzinfo=UTC)
    assert rows[1]["bin"] is None  # an empty CSV field is NULL


def test_polars_reads_results_without_copying_numeric_buffers(bars):
    session = ttf.Session()
    session.register_tstable("bars", bars.root())
    for res in (bars.scan("2024-06-01", "2024-06-11"),
                session.sql("SELECT ts, volume, close FROM bars")):
        df = pl.from_arrow(res, rechunk=False)
        assert df.shape == (240, res.num_columns)
        for name in ("volume", "close"):
            ours = [c.buffers()[1].address for c in res.column(name).chunks]
            theirs = [c.buffers()[1].address for c in df[name].to_arrow().chunks] \
                if hasattr(df[name].to_arrow(), "chunks") else [df[name].to_arrow().buffers()[1].address]
            assert theirs == ours, f"polars copied {name}"
        assert df["volume"].sum() == sum(res.column("volume").to_pylist())


def test_result_columns_and_shape(typed):
    res = typed.scan(0, 10, columns=["x", "s"])
    assert res.column_names == ["x", "s"]
    assert res.num_rows == len(res) == 2
    assert res.to_pydict() == {"x": [1, 2], "s": ["hé", "x"]}


def test_empty_scans_keep_their_schema(typed):
    res = typed.scan(100, 200)
    assert type(res) is pa.Table and res.num_rows == 0
    assert res.column_names == list(TYPES)
    assert res.schema.field("d").type == pa.decimal128(10, 2)
    assert pl.from_arrow(res).columns == list(TYPES)


def test_scan_errors(typed, bars):
    with pytest.raises(ttf.TimeseriesTableError) as info:
        typed.scan(0, 10, columns=["nope"])
    assert info.value.table_root == typed.root()
    with pytest.raises(ttf.TimeseriesTableError):
        typed.scan(10, 0)
    assert bars.scan("2024-06-01", "2024-06-02", entity={"symbol": "AMD"}).num_rows == 0


def test_round_trip_through_append_keeps_every_row(typed, tmp_path):
    copy = ttf.TimeSeriesTable.create(table_root=str(tmp_path / "copy"), index_column="x",
                                      index_type="int64", bucket_width=1)
    assert copy.append(typed.scan(0, 10)) == 2
    assert copy.schema() == typed.schema()
    assert copy.scan(0, 10).equals(typed.scan(0, 10))


def test_results_outlive_the_table_handle_and_session(bars):
    session = ttf.Session()
    session.register_tstable("bars", bars.root())
    table = session.sql("SELECT sum(volume) AS v FROM bars")
    reader = session.sql_reader("SELECT volume FROM bars")
    del session
    gc.collect()
    assert table.column("v")[0].as_py() == sum(reader.read_all().column("volume").to_pylist())


# ---- RecordBatchReader -----------------------------------------------------------


def test_scan_reader_is_a_pyarrow_reader(bars):
    reader = bars.scan_reader("2024-06-01", "2024-06-03")
    assert type(reader) is pa.RecordBatchReader
    assert reader.schema.names[0] == "ts"
    batches = list(reader)
    assert sum(b.num_rows for b in batches) == 48
    assert batches[0].column(1)[0].as_py() == "NVDA"


def test_reader_batches_and_read_all(bars):
    reader = bars.scan_reader("2024-06-01", "2024-06-11")
    first = reader.read_next_batch()
    assert isinstance(first, pa.RecordBatch) and first.num_rows > 0
    rest = reader.read_all()
    assert first.num_rows + rest.num_rows == 240
    with pytest.raises(StopIteration):
        reader.read_next_batch()


def test_a_reader_appended_is_consumed(bars, tmp_path):
    reader = bars.scan_reader("2024-06-01", "2024-06-11")
    t = ttf.TimeSeriesTable.create(table_root=str(tmp_path / "t"), index_column="ts",
                                   index_type="timestamp", bucket="1h",
                                   entity_columns=["symbol"])
    assert t.append(reader) == 2
    with pytest.raises(Exception):
        reader.read_next_batch()
    assert t.coverage_ratio("2024-06-01", "2024-06-11", {"symbol": "NVDA"}) == 1.0


def test_a_reader_closed_early_frees_the_session(bars):
    session = ttf.Session()
    session.register_tstable("bars", bars.root())
    with session.sql_reader("SELECT * FROM bars") as reader:
        assert reader.read_next_batch().num_rows > 0
    assert session.sql("SELECT count(*) AS n FROM bars").column("n")[0].as_py() == 240
