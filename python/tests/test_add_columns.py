"""TimeSeriesTable.add_columns(): nullable columns added to a protocol-7 table in one
metadata-only commit, read as null in older rows, optional in later appends, kept by
optimize; every refused request leaves the table's files as they were."""
import json

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

import timeseries_table_format as ttf

BASE = pa.schema([
    pa.field("idx", pa.int64(), nullable=False),
    pa.field("venue", pa.int32(), nullable=False),
    pa.field("symbol", pa.string(), nullable=False),
    pa.field("price", pa.float64()),
])
EXTRA = pa.schema([pa.field("score", pa.float64()), pa.field("checked", pa.bool_())])


def rows(idx, schema=BASE, **cols):
    values = {"idx": [idx, idx], "venue": [1, 2], "symbol": ["X", "Y"], "price": [1.0, 2.0]}
    values.update(cols)
    return pa.RecordBatch.from_arrays([pa.array(values[f.name], type=f.type) for f in schema],
                                      schema=schema)


def make(root, append=True):
    table = ttf.TimeSeriesTable.create(table_root=str(root), index_column="idx",
                                       index_type="int64", index_granularity=1,
                                       entity_columns=["venue", "symbol"], protocol=7)
    if append:
        table.append(rows(0))
    return table


def files(root):
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in root.rglob("*")
            if p.is_file()}


def test_one_metadata_commit_then_nulls_appends_and_optimize(tmp_path):
    root = tmp_path / "t"
    table = make(root)
    before = files(root)
    assert table.add_columns(EXTRA) == table.version() == 3
    after = files(root)
    assert set(after) - set(before) == {"_timeseries_log/0000000003.json"}
    assert all(after[p] == b for p, b in before.items() if p != "_timeseries_log/CURRENT")
    actions = json.loads(after["_timeseries_log/0000000003.json"])["actions"]
    assert [list(a) for a in actions] == [["UpdateTableMeta"]]
    meta = actions[0]["UpdateTableMeta"]
    assert meta["required_reader_features"] == ["schema_add_columns"]
    assert meta["required_writer_features"] == []
    assert [c["name"] for c in meta["logical_schema"]["columns"]] == BASE.names + EXTRA.names
    assert all(c["nullable"] for c in meta["logical_schema"]["columns"][4:])

    full = pa.schema([*BASE, *EXTRA])
    table.append(rows(1, full, score=[7.0, None], checked=[True, False]))
    table.append(rows(2, pa.schema(list(BASE)[:3])))  # even the old payload may be left out
    session = ttf.Session()
    session.register_tstable("t", str(root))
    query = "SELECT * FROM t ORDER BY idx, venue"
    expected = {"idx": [0, 0, 1, 1, 2, 2], "venue": [1, 2, 1, 2, 1, 2],
                "symbol": ["X", "Y"] * 3, "price": [1.0, 2.0, 1.0, 2.0, None, None],
                "score": [None, None, 7.0, None, None, None],
                "checked": [None, None, True, False, None, None]}
    assert session.sql(query).to_pydict() == expected
    # Only segments older than the addition: the columns still exist, as nulls.
    assert session.sql("SELECT score, checked FROM t WHERE idx = 0").to_pydict() == {
        "score": [None, None], "checked": [None, None]}
    scanned = table.scan(0, 1)
    assert scanned.column_names == full.names and scanned["score"].null_count == 2
    assert scanned.schema.field("score").type == pa.float64()
    report = table.optimize()
    assert report.source_segments_replaced == 3 and report.rows_written == 6
    session.register_tstable("t", str(root))
    assert session.sql(query).to_pydict() == expected
    assert session.sql("SELECT count(score) AS n, sum(score) AS s FROM t").to_pydict() == {
        "n": [1], "s": [7.0]}
    with pytest.raises(ttf.CoverageOverlapError):
        ttf.TimeSeriesTable.open(str(root)).append(rows(0))
    assert table.add_columns(pa.schema([pa.field("later", pa.int64())])) == 7
    session.register_tstable("t", str(root))
    assert session.sql("SELECT later FROM t")["later"].to_pylist() == [None] * 6


def test_keys_are_always_required_and_a_table_without_additions_stays_strict(tmp_path):
    root = tmp_path / "t"
    table = make(root)
    with pytest.raises(ttf.SchemaMismatchError, match="price"):
        table.append(rows(1, pa.schema(list(BASE)[:3])))
    table.add_columns(EXTRA)
    without_symbol = pa.schema([BASE.field("idx"), BASE.field("venue"), BASE.field("price")])
    with pytest.raises(ttf.SchemaMismatchError, match="symbol"):
        table.append(rows(1, without_symbol))
    extra = pa.schema([*list(BASE)[:3], pa.field("bogus", pa.int64())])
    with pytest.raises(ttf.SchemaMismatchError, match="bogus"):
        table.append(rows(1, extra, bogus=[1, 2]))
    assert table.version() == 3


@pytest.mark.parametrize("columns", [None, [], {}, "score: float64",
                                     pa.field("score", pa.float64()), pa.table({"score": [1.0]})])
def test_anything_but_a_schema_is_a_type_error(tmp_path, columns):
    root = tmp_path / "t"
    table = make(root)
    before = files(root)
    with pytest.raises(TypeError, match="pyarrow.Schema") as error:
        table.add_columns(columns)
    assert error.value.table_root == str(root)
    assert table.version() == 2 and files(root) == before


def test_schema_level_metadata_is_a_value_error(tmp_path):
    root = tmp_path / "t"
    table = make(root)
    before = files(root)
    with pytest.raises(ValueError, match="schema-level") as error:
        table.add_columns(pa.schema([pa.field("n", pa.int64())], metadata={"k": "v"}))
    assert error.value.table_root == str(root)
    assert table.version() == 2 and files(root) == before


def test_field_metadata_is_recorded_and_declares_schema_metadata(tmp_path):
    root = tmp_path / "t"
    table = make(root)
    nested = pa.field("detail", pa.struct([pa.field("v", pa.int64(), metadata={"u": "s"})]),
                      metadata={"unit": "ms"})
    assert table.add_columns(pa.schema([pa.field("plain", pa.int64()), nested])) == 3
    meta = json.loads((root / "_timeseries_log" / "0000000003.json").read_text())[
        "actions"][0]["UpdateTableMeta"]
    assert meta["required_reader_features"] == ["schema_add_columns", "schema_metadata"]
    assert meta["required_writer_features"] == ["schema_metadata"]
    detail = meta["logical_schema"]["columns"][-1]
    assert detail["metadata"] == {"unit": "ms"}
    assert "metadata" not in meta["logical_schema"]["columns"][-2]
    reopened = ttf.TimeSeriesTable.open(str(root))
    table.append(rows(1))  # the annotated column left out: nulls, annotations kept
    segment = sorted(root.rglob("*.parquet"), key=lambda p: p.stat().st_mtime)[-1]
    stored = pq.read_schema(segment)
    assert stored.field("detail").metadata == {b"unit": b"ms"}
    assert stored.field("detail").type.field("v").metadata == {b"u": b"s"}
    assert reopened.version() == 3


def test_adding_columns_keeps_the_tables_schema_annotations(tmp_path):
    root = tmp_path / "t"
    table = make(root, append=False)
    table.append(rows(0).replace_schema_metadata({"origin": "sensor"}))
    assert table.add_columns(EXTRA) == 3
    meta = json.loads((root / "_timeseries_log" / "0000000003.json").read_text())[
        "actions"][0]["UpdateTableMeta"]
    assert meta["logical_schema"]["metadata"] == {"origin": "sensor"}


@pytest.mark.parametrize("field", [
    pa.field("n", pa.int64(), metadata={b"bad": b"\xff"}),
    pa.field("n", pa.int64(), metadata={b"\xff": b"bad"}),
    pa.field("n", pa.list_(pa.field("item", pa.int64(), metadata={b"k": b"\xff"}))),
])
def test_annotations_that_are_not_utf8_are_a_value_error(tmp_path, field):
    root = tmp_path / "t"
    table = make(root)
    before = files(root)
    with pytest.raises(ValueError, match="UTF-8") as error:
        table.add_columns(pa.schema([pa.field("ok", pa.int64()), field]))
    assert type(error.value) is ValueError
    assert error.value.table_root == str(root)
    assert table.version() == 2 and files(root) == before


@pytest.mark.parametrize("columns,words", [
    (pa.schema([]), "at least one"),
    (pa.schema([pa.field("n", pa.int64()), pa.field("n", pa.int64())]), "'n' is given twice"),
    (pa.schema([pa.field("price", pa.float64())]), "already has a column 'price'"),
    (pa.schema([pa.field("idx", pa.int64())]), "'idx'"),
    (pa.schema([pa.field("symbol", pa.string())]), "'symbol'"),
    (pa.schema([pa.field("", pa.int64())]), "empty name"),
    (pa.schema([pa.field(" \t", pa.int64())]), "whitespace"),
    (pa.schema([pa.field("n", pa.int64(), nullable=False)]), "'n' must be nullable"),
    (pa.schema([pa.field("n", pa.date32())]), "'n'"),
    (pa.schema([pa.field("n", pa.dictionary(pa.int32(), pa.string()))]), "'n'"),
    (pa.schema([pa.field("n", pa.struct([]))]), "n"),
    (pa.schema([pa.field("ok", pa.int64()), pa.field("bad", pa.uint8())]), "'bad'"),
    (pa.schema([pa.field("bad", pa.large_string())]), "'bad'"),
    (pa.schema([pa.field("fixed", pa.binary(4))]), "'fixed'"),
])
def test_a_broken_rule_is_a_schema_mismatch_and_writes_nothing(tmp_path, columns, words):
    root = tmp_path / "t"
    table = make(root)
    before = files(root)
    with pytest.raises(ttf.SchemaMismatchError, match=words) as error:
        table.add_columns(columns)
    assert type(error.value) is ttf.SchemaMismatchError
    assert error.value.table_root == str(root)
    assert table.version() == ttf.TimeSeriesTable.open(str(root)).version() == 2
    assert files(root) == before
    assert table.add_columns(EXTRA) == 3  # the handle is still usable


def test_no_schema_yet_and_a_stale_handle_conflicts(tmp_path):
    root = tmp_path / "t"
    table = make(root, append=False)
    with pytest.raises(ttf.SchemaMismatchError, match="no established canonical schema"):
        table.add_columns(EXTRA)
    assert table.version() == 1
    table.append(rows(0))
    stale = ttf.TimeSeriesTable.open(str(root))
    assert table.add_columns(EXTRA) == 3
    before = files(root)
    with pytest.raises(ttf.ConflictError) as error:
        stale.add_columns(pa.schema([pa.field("other", pa.int64())]))
    assert (error.value.expected, error.value.found) == (2, 3)
    assert error.value.table_root == str(root)
    assert stale.version() == 2 and files(root) == before
    stale.refresh()
    assert stale.add_columns(pa.schema([pa.field("other", pa.int64())])) == 4


def test_exact_names_and_nested_columns(tmp_path):
    root = tmp_path / "t"
    table = make(root)
    # Exact names, but DuckDB (every query and append) folds letter case: refused.
    with pytest.raises(ttf.SchemaMismatchError, match="only in letter case"):
        table.add_columns(pa.schema([pa.field("Price", pa.int64())]))
    added = pa.schema([pa.field("Score", pa.int64()), pa.field(" price ", pa.string()),
                       pa.field("a.b", pa.int64()),
                       pa.field("nested", pa.struct([pa.field("v", pa.int64())])),
                       pa.field("tags", pa.list_(pa.string())),
                       pa.field("at", pa.timestamp("us", tz="UTC"))])
    assert table.add_columns(added) == 3
    table.append(rows(1))  # every added column left out: nulls, nested ones included
    table.append(rows(2, pa.schema([*BASE, *added]), Score=[1, 2], **{
        " price ": ["a", "b"], "a.b": [3, 4], "nested": [{"v": 5}, {"v": 6}],
        "tags": [["x"], []], "at": [0, 1]}))
    session = ttf.Session()
    session.register_tstable("t", str(root))
    got = session.sql('SELECT "Score", " price ", "a.b", nested[\'v\'] AS v, tags '
                      "FROM t ORDER BY idx, venue").to_pydict()
    assert got == {"Score": [None] * 4 + [1, 2], " price ": [None] * 4 + ["a", "b"],
                   "a.b": [None] * 4 + [3, 4], "v": [None] * 4 + [5, 6],
                   "tags": [None] * 4 + [["x"], []]}


def test_a_format_version_6_table_is_refused_with_the_way_out(tmp_path):
    root = tmp_path / "t6"
    table = ttf.TimeSeriesTable.create(table_root=str(root), index_column="idx",
                                       index_type="int64", index_granularity=1,
                                       entity_columns=["venue", "symbol"], protocol=6)
    table.append(rows(0))
    before = files(root)
    with pytest.raises(ttf.TimeseriesTableError, match="tstable migrate --table SRC --to DST"):
        table.add_columns(EXTRA)
    assert files(root) == before


def test_a_registered_session_sees_the_new_columns_at_its_next_query(tmp_path):
    root = tmp_path / "t"
    table = make(root)
    session = ttf.Session()
    session.register_tstable("t", str(root))
    assert session.sql("SELECT * FROM t").column_names == BASE.names
    table.add_columns(EXTRA)
    got = session.sql("SELECT * FROM t")
    assert got.column_names == BASE.names + EXTRA.names
    assert got["score"].null_count == 2
