"""Annotations (protocol 7, feature schema_metadata, as the reference 0.9 has it) through append.

A first append adopts the Arrow schema's and fields' metadata and declares schema_metadata;
later appends may leave keys out but may not change or add one; segments declare the table's
annotations in their footer ARROW:schema; format_version-6 tables and pandas frames stay
unannotated."""
import base64
import json

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

import timeseries_table_format as ttf

METADATA = {"unit": "ms", "description": "\u6e29\u5ea6", "opaque": '{"version":1}'}
ARROW_METADATA = {k.encode(): v.encode() for k, v in METADATA.items()}


def create(root, protocol=7):
    return ttf.TimeSeriesTable.create(table_root=str(root), index_column="idx",
                                      index_type="int64", index_granularity=1,
                                      entity_columns=["entity"], protocol=protocol)


def batch(idx, metadata=None, value_metadata=None):
    schema = pa.schema([pa.field("idx", pa.int64()), pa.field("entity", pa.string()),
                        pa.field("value", pa.int64(), metadata=value_metadata)],
                       metadata=metadata)
    return pa.table([pa.array([idx, idx]), pa.array(["A", "B"]), pa.array([10, 20])],
                    schema=schema)


def table_meta(root, version):
    commit = json.loads((root / "_timeseries_log" / f"{version:010d}.json").read_text())
    return next(a["UpdateTableMeta"] for a in commit["actions"] if "UpdateTableMeta" in a)


def footer(path):
    encoded = pq.ParquetFile(path).metadata.metadata[b"ARROW:schema"]
    return pa.ipc.read_schema(pa.BufferReader(base64.b64decode(encoded)))


def files(root):
    return {p: p.read_bytes() for p in root.rglob("*") if p.is_file()}


def test_first_append_adopts_annotations_and_declares_the_feature(tmp_path):
    t = create(tmp_path)
    report = t.append(batch(0, METADATA, {"unit": "degC"}))
    meta = table_meta(tmp_path, 2)
    assert meta["logical_schema"]["metadata"] == METADATA
    assert meta["logical_schema"]["columns"][2]["metadata"] == {"unit": "degC"}
    assert "metadata" not in meta["logical_schema"]["columns"][0]
    assert meta["required_reader_features"] == ["schema_metadata"]
    assert meta["required_writer_features"] == ["schema_metadata"]
    stored = footer(tmp_path / report.segment_path)
    assert stored.metadata == ARROW_METADATA
    assert stored.field("value").metadata == {b"unit": b"degC"}
    # The handle and a fresh open both read the table.
    assert ttf.TimeSeriesTable.open(str(tmp_path)).version() == 2


def test_later_appends_inherit_left_out_keys_and_segments_carry_all_of_them(tmp_path):
    t = create(tmp_path)
    t.append(batch(0, METADATA, {"unit": "degC"}))
    t.append(batch(1))
    t.append(batch(2, {"unit": "ms"}, {"unit": "degC"}))
    assert t.version() == 4
    for path in tmp_path.rglob("*.parquet"):
        stored = footer(path)
        assert stored.metadata == ARROW_METADATA, path
        assert stored.field("value").metadata == {b"unit": b"degC"}, path
    assert table_meta(tmp_path, 2)["logical_schema"]["metadata"] == METADATA


@pytest.mark.parametrize("metadata, value_metadata, needle", [
    ({"unit": "s"}, None, 'schema metadata conflicts with the table for key "unit"'),
    ({"new": "value"}, None, 'schema metadata conflicts with the table for key "new"'),
    (None, {"unit": "K"}, 'field metadata conflicts with the table at "value" for key "unit"'),
    (None, {"extra": "x"}, 'field metadata conflicts with the table at "value" for key "extra"'),
])
def test_conflicting_or_extra_keys_are_rejected_with_nothing_written(tmp_path, metadata,
                                                                     value_metadata, needle):
    t = create(tmp_path)
    t.append(batch(0, METADATA, {"unit": "degC"}))
    before = files(tmp_path)
    with pytest.raises(ttf.SchemaMismatchError, match=needle) as err:
        t.append(batch(1, metadata, value_metadata))
    assert isinstance(err.value, ttf.TimeseriesTableError)
    assert "nothing was written" in str(err.value)
    assert t.version() == 2 and files(tmp_path) == before


def test_a_conflicting_reader_is_refused_unread(tmp_path):
    t = create(tmp_path)
    t.append(batch(0, METADATA))
    source = batch(1, {"unit": "s"}).to_batches()[0]
    consumed = []

    def batches():
        consumed.append(True)
        yield source

    reader = pa.RecordBatchReader.from_batches(source.schema, batches())
    with pytest.raises(ttf.SchemaMismatchError, match="schema metadata conflicts"):
        t.append(reader)
    assert not consumed and t.version() == 2


def test_nested_annotations_are_adopted_and_checked(tmp_path):
    child = pa.field("value", pa.int64(), metadata={"unit": "ms"})
    schema = pa.schema([pa.field("idx", pa.int64()), pa.field("entity", pa.string()),
                        pa.field("s", pa.struct([child]), metadata={"origin": "sensor"})])
    rows = pa.table([pa.array([0, 0]), pa.array(["A", "B"]),
                     pa.array([{"value": 1}, {"value": 2}], schema.field("s").type)],
                    schema=schema)
    t = create(tmp_path)
    report = t.append(rows)
    column = table_meta(tmp_path, 2)["logical_schema"]["columns"][2]
    assert column["metadata"] == {"origin": "sensor"}
    assert column["data_type"]["Struct"]["fields"][0]["metadata"] == {"unit": "ms"}
    assert footer(tmp_path / report.segment_path).equals(schema, check_metadata=True)
    wrong = schema.set(2, pa.field("s", pa.struct([child.with_metadata({"unit": "us"})])))
    with pytest.raises(ttf.SchemaMismatchError, match='at "s.value" for key "unit"'):
        t.append(pa.table([pa.array([1, 1]), pa.array(["A", "B"]),
                           pa.array([{"value": 1}, {"value": 2}], wrong.field("s").type)],
                          schema=wrong))
    assert t.version() == 2


@pytest.mark.parametrize("metadata", [{b"bad": b"\xff"}, {b"\xff": b"bad"}])
def test_metadata_that_is_not_utf8_is_rejected_before_the_first_append(tmp_path, metadata):
    t = create(tmp_path)
    before = files(tmp_path)
    with pytest.raises(ValueError, match="not valid UTF-8") as error:
        t.append(batch(0, metadata))
    assert type(error.value) is ValueError and error.value.table_root == str(tmp_path)
    assert t.version() == 1 and files(tmp_path) == before


def test_unannotated_table_ignores_later_annotations(tmp_path):
    t = create(tmp_path)
    t.append(batch(0))
    t.append(batch(1, METADATA, {"unit": "degC"}))
    meta = table_meta(tmp_path, 2)
    assert "metadata" not in json.dumps(meta["logical_schema"])
    assert meta["required_reader_features"] == []
    assert t.version() == 3


def test_format_version_6_tables_drop_annotations(tmp_path):
    t = create(tmp_path, protocol=6)
    report = t.append(batch(0, METADATA, {"unit": "degC"}))
    meta = table_meta(tmp_path, 2)
    assert meta["format_version"] == 6
    assert "metadata" not in json.dumps(meta["logical_schema"])
    assert not footer(tmp_path / report.segment_path).metadata


def test_pandas_frames_do_not_annotate_the_table(tmp_path):
    pd = pytest.importorskip("pandas")
    t = create(tmp_path)
    t.append(pd.DataFrame({"idx": [0, 0], "entity": ["A", "B"], "value": [1, 2]}))
    t.append(pd.DataFrame({"idx": [1, 1, 1], "entity": ["A", "B", "C"], "value": [1, 2, 3]},
                          index=[7, 8, 9]))
    meta = table_meta(tmp_path, 2)
    assert meta["required_reader_features"] == [] and "metadata" not in meta["logical_schema"]
    assert t.version() == 3


def test_the_pandas_key_is_never_adopted_from_any_source(tmp_path):
    pd = pytest.importorskip("pandas")
    t = create(tmp_path / "t")
    # Files pandas writes (df.to_parquet) carry it in their ARROW:schema: day after day
    # its index range and dtypes differ, and every file still appends.
    for day, n in enumerate([2, 3]):
        path = tmp_path / f"day{day}.parquet"
        pd.DataFrame({"idx": [day] * n, "entity": list("ABC")[:n], "value": [1] * n}) \
            .to_parquet(path)
        assert b"pandas" in pq.read_schema(path).metadata
        t.append_parquet(str(path))
    assert table_meta(tmp_path / "t", 2)["required_reader_features"] == []
    # A pyarrow table from pandas keeps its other keys: only "pandas" is left out.
    frame = pd.DataFrame({"idx": [5, 5], "entity": ["A", "B"], "value": [1, 2]})
    u = create(tmp_path / "u")
    arrow = pa.Table.from_pandas(frame, preserve_index=False)
    u.append(arrow.replace_schema_metadata({**arrow.schema.metadata, b"site": b"north"}))
    assert table_meta(tmp_path / "u", 2)["logical_schema"]["metadata"] == {"site": "north"}
    u.append(pa.Table.from_pandas(frame.assign(idx=6)))  # another pandas value: not checked
    assert u.version() == 3


def test_parquet_files_bring_their_arrow_schema_annotations(tmp_path):
    src = tmp_path / "src.parquet"
    pq.write_table(batch(0, METADATA, {"unit": "degC"}), src)
    t = create(tmp_path / "t")
    report = t.append_parquet(str(src))
    assert table_meta(tmp_path / "t", 2)["logical_schema"]["metadata"] == METADATA
    assert footer(tmp_path / "t" / report.segment_path).metadata == ARROW_METADATA
    bad = tmp_path / "bad.parquet"
    pq.write_table(batch(1, {"unit": "s"}), bad)
    with pytest.raises(ttf.SchemaMismatchError, match="schema metadata conflicts"):
        t.append_parquet(str(bad))
    plain = tmp_path / "plain.parquet"
    pq.write_table(batch(1), plain)
    report = t.append_parquet(str(plain))
    assert footer(tmp_path / "t" / report.segment_path).metadata == ARROW_METADATA


def test_scans_and_sql_read_annotated_tables(tmp_path):
    t = create(tmp_path)
    t.append(batch(0, METADATA, {"unit": "degC"}))
    t.append(batch(1))
    assert t.scan(0, 2).num_rows == 4
    if ttf.HAS_SESSION:
        s = ttf.Session()
        s.register_tstable("t", str(tmp_path))
        assert s.sql("SELECT sum(value) AS s FROM t")["s"].to_pylist() == [60]


@pytest.mark.parametrize("metadata,value_metadata,words", [
    ({"unit": "s"}, None, "schema metadata conflicts"),
    ({"new": "x"}, None, "schema metadata conflicts"),
    (None, {"unit": "us"}, "field metadata conflicts"),
])
def test_update_rows_refuses_conflicting_annotations_unread(tmp_path, metadata, value_metadata,
                                                            words):
    t = create(tmp_path)
    t.append(batch(0, METADATA, {"unit": "ms"}))
    before, version = files(tmp_path), t.version()
    source = batch(0, metadata, value_metadata).to_batches()[0]
    read = []

    def batches():
        read.append(True)
        yield source

    reader = pa.RecordBatchReader.from_batches(source.schema, batches())
    with pytest.raises(ttf.SchemaMismatchError, match=words) as error:
        t.update_rows(reader, columns=["value"], expected_version=version)
    assert error.value.table_root == str(tmp_path)
    assert not read
    assert t.version() == version and files(tmp_path) == before
    # Left-out annotations are inherited: the same update without them goes through.
    t.update_rows(batch(0).select(["idx", "entity", "value"]), columns=["value"],
                  expected_version=version)
    assert t.version() == version + 1


def corrupt_footer_annotation(path, old=b"ms", new=b"us"):
    data = path.read_bytes()
    encoded = pq.ParquetFile(path).metadata.metadata[b"ARROW:schema"]
    changed = base64.b64encode(base64.b64decode(encoded).replace(old, new))
    assert len(changed) == len(encoded) and data.count(encoded) == 1
    path.write_bytes(data.replace(encoded, changed))


@pytest.mark.parametrize("level", ["schema", "field"])
@pytest.mark.parametrize("operation", ["update", "optimize"])
@pytest.mark.parametrize("evolve", [False, True])
def test_rewrites_refuse_a_footer_whose_annotations_disagree_with_the_log(tmp_path, level,
                                                                          operation, evolve):
    t = create(tmp_path)
    report = t.append(batch(0, {"unit": "ms"} if level == "schema" else None,
                            {"unit": "ms"} if level == "field" else None))
    if evolve:
        t.add_columns(pa.schema([pa.field("score", pa.int64())]))
    corrupt_footer_annotation(tmp_path / report.segment_path)
    before, version = files(tmp_path), t.version()
    with pytest.raises(ttf.TimeseriesTableError,
                       match=f"Parquet {level} metadata does not match") as error:
        if operation == "update":
            t.update_rows(batch(0).select(["idx", "entity", "value"]), columns=["value"],
                          expected_version=version)
        else:
            t.optimize()
    assert report.segment_path in str(error.value)
    assert t.version() == version and files(tmp_path) == before


def test_an_unannotated_log_does_not_check_footers(tmp_path):
    # A table from before the feature: its files may carry annotations its log never had.
    t = create(tmp_path)
    t.append(batch(0))
    t.append(batch(1, METADATA))  # not adopted (the schema is fixed unannotated)
    assert t.optimize().no_op is False
