"""Arrow export checked by an independent consumer (a ctypes walk of the C
Data Interface structs), round trips through append(), Python conversion of
every type the library stores, and RecordBatchReader semantics."""
import ctypes
import datetime as dt
import decimal
import gc

import pytest

import timeseries_table_format as ttf
from conftest import write_csv

UTC = dt.timezone.utc

# ---- the C Data Interface, declared independently of the extension ----------


class ArrowSchema(ctypes.Structure):
    pass


ArrowSchema._fields_ = [
    ("format", ctypes.c_char_p), ("name", ctypes.c_char_p), ("metadata", ctypes.c_void_p),
    ("flags", ctypes.c_int64), ("n_children", ctypes.c_int64),
    ("children", ctypes.POINTER(ctypes.POINTER(ArrowSchema))),
    ("dictionary", ctypes.POINTER(ArrowSchema)),
    ("release", ctypes.CFUNCTYPE(None, ctypes.POINTER(ArrowSchema))),
    ("private_data", ctypes.c_void_p)]


class ArrowArray(ctypes.Structure):
    pass


ArrowArray._fields_ = [
    ("length", ctypes.c_int64), ("null_count", ctypes.c_int64), ("offset", ctypes.c_int64),
    ("n_buffers", ctypes.c_int64), ("n_children", ctypes.c_int64),
    ("buffers", ctypes.POINTER(ctypes.c_void_p)),
    ("children", ctypes.POINTER(ctypes.POINTER(ArrowArray))),
    ("dictionary", ctypes.POINTER(ArrowArray)),
    ("release", ctypes.CFUNCTYPE(None, ctypes.POINTER(ArrowArray))),
    ("private_data", ctypes.c_void_p)]


class ArrowArrayStream(ctypes.Structure):
    pass


ArrowArrayStream._fields_ = [
    ("get_schema", ctypes.CFUNCTYPE(ctypes.c_int, ctypes.POINTER(ArrowArrayStream),
                                    ctypes.POINTER(ArrowSchema))),
    ("get_next", ctypes.CFUNCTYPE(ctypes.c_int, ctypes.POINTER(ArrowArrayStream),
                                  ctypes.POINTER(ArrowArray))),
    ("get_last_error", ctypes.CFUNCTYPE(ctypes.c_char_p, ctypes.POINTER(ArrowArrayStream))),
    ("release", ctypes.CFUNCTYPE(None, ctypes.POINTER(ArrowArrayStream))),
    ("private_data", ctypes.c_void_p)]

_get_pointer = ctypes.pythonapi.PyCapsule_GetPointer
_get_pointer.restype = ctypes.c_void_p
_get_pointer.argtypes = [ctypes.py_object, ctypes.c_char_p]
_get_name = ctypes.pythonapi.PyCapsule_GetName
_get_name.restype = ctypes.c_char_p
_get_name.argtypes = [ctypes.py_object]


def take_stream(capsule):
    """Moves the stream out of the capsule, as a consumer must."""
    assert _get_name(capsule) == b"arrow_array_stream"
    src = ArrowArrayStream.from_address(_get_pointer(capsule, b"arrow_array_stream"))
    assert src.release, "capsule already consumed"
    stream = ArrowArrayStream()
    ctypes.memmove(ctypes.byref(stream), ctypes.byref(src), ctypes.sizeof(stream))
    ctypes.memset(ctypes.addressof(src) + ArrowArrayStream.release.offset, 0,
                  ctypes.sizeof(ctypes.c_void_p))
    return stream


def walk(capsule):
    """Reads a whole stream: (column formats, [(batch length, columns)])."""
    stream = take_stream(capsule)
    schema = ArrowSchema()
    assert stream.get_schema(ctypes.byref(stream), ctypes.byref(schema)) == 0
    assert schema.format == b"+s"
    fields = [(schema.children[i].contents.name.decode(), schema.children[i].contents.format.decode())
              for i in range(schema.n_children)]
    batches = []
    while True:
        array = ArrowArray()
        assert stream.get_next(ctypes.byref(stream), ctypes.byref(array)) == 0
        if not array.release:
            break
        assert array.n_children == len(fields)
        cols = []
        for i in range(array.n_children):
            child = array.children[i].contents
            assert child.length == array.length
            cols.append(child)
        batches.append((array.length, cols, array))
    return stream, schema, fields, batches


def release_all(stream, schema, batches):
    for _, _, array in batches:
        array.release(ctypes.byref(array))
        assert not array.release
    schema.release(ctypes.byref(schema))
    stream.release(ctypes.byref(stream))
    assert not stream.release


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
                                   index_type="int64", bucket_width=10)
    t.append_csv(csv, columns=TYPES)
    return t


# ---- tests -----------------------------------------------------------------------


def test_ctypes_consumer_reads_formats_lengths_nulls_and_buffers(bars):
    res = bars.scan("2024-06-01", "2024-06-11")
    stream, schema, fields, batches = walk(res.__arrow_c_stream__())
    assert fields == [("ts", "tsu:UTC"), ("symbol", "u"), ("open", "g"), ("high", "g"),
                      ("low", "g"), ("close", "g"), ("volume", "l")]
    assert sum(n for n, _, _ in batches) == 240 == res.num_rows
    rows = res.to_pylist()
    seen = 0
    for n, cols, _ in batches:
        ts, symbol, volume = cols[0], cols[1], cols[6]
        assert ts.null_count == 0 and volume.n_buffers == 2 and symbol.n_buffers == 3
        ts_values = ctypes.cast(ts.buffers[1], ctypes.POINTER(ctypes.c_int64))
        vol_values = ctypes.cast(volume.buffers[1], ctypes.POINTER(ctypes.c_int64))
        offsets = ctypes.cast(symbol.buffers[1], ctypes.POINTER(ctypes.c_int32))
        for i in range(n):
            row = rows[seen + i]
            j = i + ts.offset
            assert ts_values[j] == int(row["ts"].timestamp()) * 1_000_000
            assert vol_values[i + volume.offset] == row["volume"]
            k = i + symbol.offset
            text = ctypes.string_at(symbol.buffers[2] + offsets[k], offsets[k + 1] - offsets[k])
            assert text.decode() == row["symbol"] == "NVDA"
        seen += n
    release_all(stream, schema, batches)


def test_ctypes_consumer_sees_validity_bitmaps(typed):
    stream, schema, fields, batches = walk(typed.scan(0, 10).__arrow_c_stream__())
    formats = dict(fields)
    assert formats["d"] == "d:10,2,128" and formats["u"] == "L" and formats["b"] == "b"
    assert formats["ms"] == "tsm:" and formats["ns"] == "tsn:" and formats["bin"] == "z"
    names = [name for name, _ in fields]
    n_col = batches[0][1][names.index("n")]
    assert n_col.null_count == 1
    bitmap = ctypes.cast(n_col.buffers[0], ctypes.POINTER(ctypes.c_uint8))
    assert [(bitmap[(n_col.offset + i) // 8] >> ((n_col.offset + i) % 8)) & 1
            for i in range(2)] == [0, 1]
    release_all(stream, schema, batches)


def test_exports_are_independent_and_outlive_the_result(bars):
    res = bars.scan("2024-06-01", "2024-06-02")
    first, second = res.__arrow_c_stream__(), res.__arrow_c_stream__()
    del res
    gc.collect()
    for capsule in (second, first):
        stream, schema, fields, batches = walk(capsule)
        assert sum(n for n, _, _ in batches) == 24
        release_all(stream, schema, batches)


def test_an_unconsumed_capsule_is_released_by_its_destructor(bars):
    for _ in range(50):
        capsule = bars.scan("2024-06-01", "2024-06-02").__arrow_c_stream__()
        del capsule  # must neither leak nor crash


def test_to_pylist_converts_every_stored_type(typed):
    rows = typed.scan(0, 10).to_pylist()
    assert rows[0] == {
        "x": 1, "d": decimal.Decimal("12.34"), "b": True, "u": 2**64 - 1, "f": 1.5, "i": -7,
        "s": "hé", "n": None, "bin": b"ab",
        "ms": dt.datetime(2024, 1, 2, 3, 4, 5, 678000),
        "tz": dt.datetime(2024, 1, 2, 3, 4, 5, tzinfo=UTC),
        "ns": dt.datetime(2024, 1, 2, 3, 4, 5, 123456)}
    assert rows[1]["d"] == decimal.Decimal("-0.05")
    assert rows[1]["ms"] == dt.datetime(1969, 12, 31, 23, 59, 59, 999000)
    assert rows[1]["tz"] == dt.datetime(1970, 1, 1, tzinfo=UTC)
    assert rows[1]["bin"] is None  # an empty CSV field is NULL


def test_result_shapes(typed):
    res = typed.scan(0, 10, columns=["x", "s"])
    assert res.column_names == ["x", "s"]
    assert res.num_rows == len(res) == 2
    assert res.to_pydict() == {"x": [1, 2], "s": ["hé", "x"]}
    assert list(res) == [{"x": 1, "s": "hé"}, {"x": 2, "s": "x"}]
    assert repr(res) == "<SqlResult rows=2 columns=['x', 's']>"


def test_empty_scans_keep_their_schema(typed):
    res = typed.scan(100, 200)
    assert len(res) == 0 and res.to_pylist() == []
    assert res.column_names == list(TYPES)
    stream, schema, fields, batches = walk(res.__arrow_c_stream__())
    assert [n for n, _ in fields] == list(TYPES) and batches == []
    release_all(stream, schema, batches)


def test_scan_errors(typed, bars):
    with pytest.raises(ttf.TimeseriesTableError) as info:
        typed.scan(0, 10, columns=["nope"])
    assert info.value.table_root == typed.root()
    with pytest.raises(ttf.TimeseriesTableError):
        typed.scan(10, 0)
    assert len(bars.scan("2024-06-01", "2024-06-02", entity={"symbol": "AMD"})) == 0


def test_round_trip_through_append_keeps_every_row(typed, tmp_path):
    copy = ttf.TimeSeriesTable.create(table_root=str(tmp_path / "copy"), index_column="x",
                                      index_type="int64", bucket_width=10)
    assert copy.append(typed.scan(0, 10)) == 2
    assert copy.schema() == typed.schema()
    assert copy.scan(0, 10).to_pylist() == typed.scan(0, 10).to_pylist()


# ---- RecordBatchReader -----------------------------------------------------------


def test_reader_iterates_rows(bars):
    reader = bars.scan_reader("2024-06-01", "2024-06-03")
    assert reader.column_names[0] == "ts"
    rows = list(reader)
    assert len(rows) == 48 and rows[0]["symbol"] == "NVDA"
    assert reader.closed


def test_reader_batches_and_read_all(bars):
    reader = bars.scan_reader("2024-06-01", "2024-06-11")
    first = reader.read_next_batch()
    assert isinstance(first, ttf.SqlResult) and len(first) > 0
    rest = reader.read_all()
    assert len(first) + len(rest) == 240
    assert reader.read_next_batch() is None
    with pytest.raises(ttf.SqlError):
        reader.read_all()


def test_reader_exports_once(bars, tmp_path):
    reader = bars.scan_reader("2024-06-01", "2024-06-11")
    t = ttf.TimeSeriesTable.create(table_root=str(tmp_path / "t"), index_column="ts",
                                   index_type="timestamp", bucket="1h",
                                   entity_columns=["symbol"])
    assert t.append(reader) == 2
    assert reader.closed
    with pytest.raises(ValueError, match="consumed"):
        reader.__arrow_c_stream__()
    assert t.coverage_ratio("2024-06-01", "2024-06-11", {"symbol": "NVDA"}) == 1.0


def test_reader_close_is_idempotent(bars):
    with bars.scan_reader("2024-06-01", "2024-06-11") as reader:
        assert next(reader)["symbol"] == "NVDA"
    assert reader.closed
    reader.close()
    assert list(reader) == []
