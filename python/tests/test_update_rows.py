"""TimeSeriesTable.update_rows(): keyed updates from Arrow data, with the
reference's (0.8+) report, argument rules and key errors, and tstable's
rebase over other writers' appends (strict=True for the reference's rule).
Tables are created with protocol=7 (one test: 6)."""
import json
import pickle

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

import timeseries_table_format as ttf

SCHEMA = pa.schema([
    pa.field("idx", pa.int64()),
    pa.field("exchange", pa.int32()),
    pa.field("symbol", pa.string()),
    pa.field("value", pa.int64()),
    pa.field("detail", pa.struct([pa.field("items", pa.list_(pa.int64()))])),
])
KEYS = ["idx", "exchange", "symbol"]


def batch(rows, names=KEYS + ["value"], schema=SCHEMA):
    return pa.RecordBatch.from_pylist(rows, schema=pa.schema([schema.field(n) for n in names]))


def row(idx=0, *, exchange=1, symbol="A", value=90, **extra):
    return dict(idx=idx, exchange=exchange, symbol=symbol, value=value, **extra)


def create(root, protocol=7):
    table = ttf.TimeSeriesTable.create(table_root=str(root), index_column="idx",
                                       index_type="int64", index_granularity=1,
                                       entity_columns=["exchange", "symbol"], protocol=protocol)
    for idx in [0, 1, 2]:
        table.append(batch([row(idx, exchange=e, symbol=s, value=idx + e,
                                detail={"items": [idx, e]})
                            for e, s in [(1, "A"), (2, "B")]], SCHEMA.names))
    return table


def files(root):
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in root.rglob("*")
            if p.is_file()}


def read(root):
    s = ttf.Session()
    s.register_tstable("t", str(root))
    return s.sql("SELECT * FROM t ORDER BY idx, exchange, symbol")


def test_update_sets_only_the_named_columns_in_one_commit(tmp_path):
    table = create(tmp_path)
    before, original = read(tmp_path), files(tmp_path)
    source = batch([row(2, exchange=2, symbol="B", value=None), row(value=99)],
                   ["symbol", "value", "idx", "exchange"])
    report = table.update_rows(pa.RecordBatchReader.from_batches(
        source.schema, [source.slice(0, 1), source.slice(1, 1)]), columns=("value",),
        expected_version=4)
    assert isinstance(report, ttf.UpdateRowsReport)
    assert (report.starting_version, report.committed_version) == (4, 5) == (4, table.version())
    assert report.rows_updated == report.segments_rewritten == 2 and report.no_op is False
    assert report.attempts == 1 and "rows_updated=2" in repr(report)
    assert pickle.loads(pickle.dumps(report)) == report
    with pytest.raises(AttributeError):
        report.rows_updated = 0
    after = read(tmp_path)
    assert after.schema == before.schema
    assert after.select(KEYS + ["detail"]).equals(before.select(KEYS + ["detail"]))
    assert after["value"].to_pylist() == [99, 2, 2, 3, 3, None]
    committed = files(tmp_path)
    actions = json.loads(committed["_timeseries_log/0000000005.json"])["actions"]
    assert [next(iter(a)) for a in actions] == ["RemoveSegment", "AddSegment"] * 2
    removed = [a["RemoveSegment"]["path"] for a in actions[0::2]]
    added = [a["AddSegment"] for a in actions[1::2]]
    assert all(a["path"].startswith("data/_staged/update-rewrite/") for a in added)
    assert report.source_file_bytes == sum(len(original[p]) for p in removed)
    assert report.replacement_file_bytes == sum(len(committed[a["path"]]) for a in added)
    for path, contents in original.items():  # nothing rewritten in place
        if path != "_timeseries_log/CURRENT":
            assert committed[path] == contents
    assert not any(p.startswith("data/_staged/update-prepare/") for p in committed)
    reopened = ttf.TimeSeriesTable.open(str(tmp_path))
    assert reopened.version() == 5
    reopened.append(batch([row(3, value=4, detail=None)], SCHEMA.names))
    assert read(tmp_path).num_rows == 7
    with pytest.raises(ttf.IndexIntervalOverlapError):
        reopened.append(batch([row(detail=None)], SCHEMA.names))


@pytest.mark.parametrize("form", ["batch", "table", "reader", "exporter"])
def test_input_forms_and_empty_no_op(tmp_path, form):
    table = create(tmp_path)
    source = batch([row(value=1)])

    class Exporter:
        def __arrow_c_stream__(self, requested_schema=None):
            return source.__arrow_c_stream__(requested_schema)

    inputs = {"batch": lambda: source, "table": lambda: pa.Table.from_batches([source]),
              "reader": lambda: pa.RecordBatchReader.from_batches(source.schema, [source]),
              "exporter": Exporter}
    assert table.update_rows(inputs[form](), columns=["value"],
                             expected_version=4).rows_updated == 1
    before = files(tmp_path)
    report = table.update_rows(pa.RecordBatchReader.from_batches(
        source.schema, [source.slice(0, 0)] * 3), columns=["value"], expected_version=5)
    assert report.no_op and report.starting_version == report.committed_version == 5
    assert report.rows_updated == report.segments_rewritten == 0
    assert report.source_file_bytes == report.replacement_file_bytes == 0
    assert files(tmp_path) == before


@pytest.mark.parametrize("argument, value, error_type", [
    ("columns", "value", TypeError), ("columns", b"value", TypeError),
    ("columns", {"value"}, TypeError), ("columns", None, TypeError),
    ("columns", [1], TypeError), ("columns", iter(["value"]), TypeError),
    ("expected_version", True, TypeError), ("expected_version", 2.0, TypeError),
    ("expected_version", "2", TypeError), ("expected_version", None, TypeError),
    ("expected_version", 0, ValueError), ("expected_version", -1, ValueError),
    ("expected_version", 2 ** 64, ValueError),
])
def test_argument_errors_come_before_the_source_is_read(tmp_path, argument, value, error_type):
    table = create(tmp_path)
    before = files(tmp_path)

    class Uninspected:
        def __arrow_c_stream__(self, requested_schema=None):
            pytest.fail("an invalid argument must not export the source")

    kwargs = {"columns": ["value"], "expected_version": 4, argument: value}
    with pytest.raises(error_type) as error:
        table.update_rows(Uninspected(), **kwargs)
    assert type(error.value) is error_type and error.value.table_root == str(tmp_path)
    assert files(tmp_path) == before


@pytest.mark.parametrize("source", ["file.parquet", [], {}, None])
def test_a_source_that_is_not_arrow_data_is_a_type_error(tmp_path, source):
    table = create(tmp_path)
    with pytest.raises(TypeError) as error:
        table.update_rows(source, columns=["value"], expected_version=4)
    assert error.value.table_root == str(tmp_path)


@pytest.mark.parametrize("columns", [[], ["value", "value"], ["idx"], ["symbol"], ["absent"]])
def test_named_columns_are_checked(tmp_path, columns):
    table = create(tmp_path)
    before = files(tmp_path)
    with pytest.raises(ttf.SchemaMismatchError) as error:
        table.update_rows(batch([row()]), columns=columns, expected_version=4)
    assert error.value.table_root == str(tmp_path)
    assert files(tmp_path) == before


@pytest.mark.parametrize("case", ["missing", "extra", "type", "empty_columns"])
def test_source_schema_failures_write_nothing(tmp_path, case):
    table = create(tmp_path)
    source = batch([row()])
    if case == "missing":
        source = source.select(KEYS)
    elif case == "extra":
        source = source.append_column("extra", pa.array([1]))
    elif case == "empty_columns":
        source = pa.record_batch([], names=[])
    else:
        source = batch([row(value="bad")], schema=pa.schema(
            [SCHEMA.field(k) for k in KEYS] + [pa.field("value", pa.string())]),
            names=KEYS + ["value"])
    before = files(tmp_path)
    with pytest.raises(ttf.SchemaMismatchError):
        table.update_rows(source, columns=["value"], expected_version=4)
    assert files(tmp_path) == before


@pytest.mark.parametrize("kind", ["duplicate_source_key", "unmatched_source_key",
                                  "null_identity"])
def test_key_failures_carry_the_reference_diagnostics(tmp_path, kind):
    table = create(tmp_path)
    bad = {"duplicate_source_key": row(), "unmatched_source_key": row(99),
           "null_identity": row(symbol=None)}[kind]
    parts = [batch([row()]), *[batch([]) for _ in range(5)], batch([bad])]
    before = files(tmp_path)
    with pytest.raises(ttf.TimeseriesTableError) as error:
        table.update_rows(pa.RecordBatchReader.from_batches(parts[0].schema, parts),
                          columns=["value"], expected_version=4)
    err = error.value
    assert type(err) is ttf.TimeseriesTableError
    assert err.reason == kind and err.code == "TST_EUPDATEKEY"
    assert err.input_rows_seen == 2 and err.observed_violations == 1
    assert err.example_key == {k: bad[k] for k in KEYS}
    assert err.table_root == str(tmp_path)
    assert table.version() == ttf.TimeSeriesTable.open(str(tmp_path)).version() == 4
    assert files(tmp_path) == before


def test_ambiguous_target_is_a_key_failure(tmp_path):
    table = create(tmp_path)
    # Valid writes cannot make it: give both rows of one file the same key.
    target = sorted(tmp_path.rglob("*.parquet"))[0]
    data = pq.read_table(target)
    idx = data["idx"][0].as_py()
    data = data.set_column(1, SCHEMA.field("exchange"), pa.array([1, 1], pa.int32()))
    pq.write_table(data.set_column(2, SCHEMA.field("symbol"), pa.array(["A", "A"])), target)
    before = files(tmp_path)
    with pytest.raises(ttf.TimeseriesTableError) as error:
        table.update_rows(batch([row(idx)]), columns=["value"], expected_version=4)
    assert error.value.reason == "ambiguous_target_key"
    assert error.value.example_key == {"idx": idx, "exchange": 1, "symbol": "A"}
    assert files(tmp_path) == before
    assert table.version() == 4


def test_a_stale_version_conflicts_and_an_append_in_between_is_rebased(tmp_path):
    table = create(tmp_path)
    other = ttf.TimeSeriesTable.open(str(tmp_path))
    with pytest.raises(ttf.ConflictError) as error:
        table.update_rows(batch([row()]), columns=["value"], expected_version=3)
    assert (error.value.expected, error.value.found) == (3, 4)
    other.append(batch([row(7, value=70, detail=None)], SCHEMA.names))  # version 5; `table` still at 4
    with pytest.raises(ttf.ConflictError) as error:
        table.update_rows(batch([row(value=11)]), columns=["value"], expected_version=4,
                          strict=True)
    assert (error.value.expected, error.value.found) == (4, 5)
    report = table.update_rows(batch([row(value=11)]), columns=["value"], expected_version=4)
    assert (report.committed_version, report.attempts) == (6, 2)
    assert read(tmp_path)["value"].to_pylist() == [11, 2, 2, 3, 3, 4, 70]
    # The other handle's update of the segment just replaced cannot rebase.
    with pytest.raises(ttf.ConflictError):
        other.update_rows(batch([row(value=12)]), columns=["value"], expected_version=5)
    assert read(tmp_path)["value"].to_pylist()[0] == 11


@pytest.mark.parametrize("unit, ticks", [("ms", 1001), ("us", 1_000_001), ("ns", 1_000_000_001)])
@pytest.mark.parametrize("timezone", [None, "UTC"])
def test_timestamp_keys_are_exact_and_nested_values_replace_whole(tmp_path, unit, ticks,
                                                                  timezone):
    zoned_nanos = unit == "ns" and timezone is not None
    table = ttf.TimeSeriesTable.create(table_root=str(tmp_path / "t"), index_column="clock",
                                       index_type="timestamp", index_granularity="1s",
                                       protocol=7)
    schema = pa.schema([pa.field("clock", pa.timestamp(unit, timezone)),
                        pa.field("a.b", pa.struct([pa.field("items", pa.list_(pa.int64()))]))])

    def source(ticks, value):
        return pa.table([pa.array([ticks], schema.field("clock").type),
                         pa.array([value], schema.field("a.b").type)], schema=schema)

    table.append(source(ticks, {"items": [1, 2]}))
    with pytest.raises(ttf.TimeseriesTableError) as error:
        table.update_rows(source(ticks + 2, None), columns=["a.b"], expected_version=2)
    key = error.value.example_key
    assert list(key) == ["clock"] and isinstance(key["clock"], pa.TimestampScalar)
    assert key["clock"].type == pa.timestamp(unit, timezone) and key["clock"].value == ticks + 2
    table.update_rows(source(ticks, {"items": [9, None]}), columns=["a.b"],
                      expected_version=2)
    s = ttf.Session()
    s.register_tstable("t", str(tmp_path / "t"))
    assert s.sql('SELECT "a.b" FROM t')["a.b"].to_pylist() == [{"items": [9, None]}]
    # Every digit is stored, zoned nanoseconds included (DuckDB's TIMESTAMPTZ has only
    # microseconds: the Arrow staging reads zoned ns as zone-less TIMESTAMP_NS).
    live = [seg["path"] for seg in table.segments()]
    stored = pq.read_table(str(tmp_path / "t" / live[0])).column("clock")
    assert stored.type == pa.timestamp(unit, timezone) and stored.cast(pa.int64()).to_pylist() \
        == [ticks], zoned_nanos


def test_unsigned_keys_are_not_truncated(tmp_path):
    table = ttf.TimeSeriesTable.create(table_root=str(tmp_path), index_column="tick",
                                       index_type="uint64", index_granularity=1, protocol=7)
    table.append(pa.table({"tick": pa.array([2 ** 64 - 2], pa.uint64()), "value": [1]}))
    with pytest.raises(ttf.TimeseriesTableError) as error:
        table.update_rows(pa.table({"tick": pa.array([2 ** 64 - 1], pa.uint64()),
                                    "value": [1]}), columns=["value"], expected_version=2)
    assert error.value.example_key == {"tick": 2 ** 64 - 1}
    report = table.update_rows(pa.table({"tick": pa.array([2 ** 64 - 2], pa.uint64()),
                                         "value": pa.array([5], pa.int32())}),
                               columns=["value"], expected_version=2)
    assert report.rows_updated == 1


def test_a_missing_segment_file_is_a_storage_error(tmp_path):
    table = create(tmp_path)
    sorted(tmp_path.rglob("*.parquet"))[0].unlink()
    with pytest.raises(ttf.StorageError) as error:
        table.update_rows(batch([row(0), row(1), row(2)]), columns=["value"],
                          expected_version=4)
    assert error.value.table_root == str(tmp_path)


def test_a_failing_stream_commits_nothing(tmp_path):
    table = create(tmp_path)
    before = files(tmp_path)
    part = batch([row()])

    def batches():
        yield part
        raise RuntimeError("upstream computation failed")

    with pytest.raises(ttf.TimeseriesTableError, match="upstream computation failed"):
        table.update_rows(pa.RecordBatchReader.from_batches(part.schema, batches()),
                          columns=["value"], expected_version=4)
    assert table.version() == 4 and files(tmp_path) == before


def test_a_v6_table_is_updated(tmp_path):
    table = create(tmp_path, protocol=6)
    table.update_rows(batch([row(1, value=-1)]), columns=["value"], expected_version=4)
    assert read(tmp_path)["value"].to_pylist() == [1, 2, -1, 3, 3, 4]
    assert '"format_version":6' in (tmp_path / "_timeseries_log" / "0000000001.json").read_text()


def test_a_null_clears_a_nullable_column_and_is_refused_for_a_required_one(tmp_path):
    schema = pa.schema([pa.field("tick", pa.int64(), nullable=False),
                        pa.field("required", pa.int64(), nullable=False),
                        pa.field("optional", pa.int64())])
    table = ttf.TimeSeriesTable.create(table_root=str(tmp_path / "t"), index_column="tick",
                                       index_type="int64", index_granularity=1, protocol=7)
    table.append(pa.table({"tick": [1, 2], "required": [10, 20], "optional": [5, 6]},
                          schema=schema))
    before = files(tmp_path / "t")
    with pytest.raises(ttf.SchemaMismatchError, match="not nullable"):
        table.update_rows(pa.table({"tick": [1], "required": pa.array([None], pa.int64())}),
                          columns=["required"], expected_version=2)
    assert files(tmp_path / "t") == before
    table.update_rows(pa.table({"tick": [2], "optional": pa.array([None], pa.int64())}),
                      columns=["optional"], expected_version=2)
    s = ttf.Session()
    s.register_tstable("t", str(tmp_path / "t"))
    assert s.sql("SELECT * FROM t ORDER BY tick").to_pydict() == {
        "tick": [1, 2], "required": [10, 20], "optional": [5, None]}


def test_segments_written_before_add_columns_update_the_added_and_the_old_columns(tmp_path):
    """A file from before an addition lacks the added column: an update that sets it there,
    or sets another column there, keeps the rest of the file and reads null elsewhere."""
    import datetime as dt
    root = str(tmp_path / "t")
    t = ttf.TimeSeriesTable.create(table_root=root, index_column="ts", index_type="timestamp",
                                   index_granularity="1h", entity_columns=["s"], protocol=7)
    hours = [dt.datetime(2024, 1, 1, h, tzinfo=dt.timezone.utc) for h in range(3)]
    stamp = lambda values: pa.array(values, pa.timestamp("us", tz="UTC"))  # noqa: E731
    t.append(pa.table({"ts": stamp(hours), "s": ["A"] * 3, "v": [1.0, 2.0, 3.0]}))
    t.add_columns(pa.schema([pa.field("note", pa.string())]))
    t.update_rows(pa.table({"ts": stamp(hours[:1]), "s": ["A"], "note": ["fixed"]}),
                  columns=["note"], expected_version=t.version())
    t.update_rows(pa.table({"ts": stamp(hours[1:2]), "s": ["A"], "v": [20.0]}),
                  columns=["v"], expected_version=t.version())
    s = ttf.Session()
    s.register_tstable("t", root)
    got = s.sql("SELECT v, note FROM t ORDER BY ts").to_pylist()
    assert got == [{"v": 1.0, "note": "fixed"}, {"v": 20.0, "note": None},
                   {"v": 3.0, "note": None}]
