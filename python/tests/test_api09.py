"""Behaviour matched to the reference 0.9.0's own test suite: create() option errors,
location schemes, error wording, and operation records in Python logging."""
import logging
import subprocess
import sys
import textwrap

import pyarrow as pa
import pytest

import timeseries_table_format as ttf

U64_MAX = 2**64 - 1


def create(tmp_path, **kwargs):
    return ttf.TimeSeriesTable.create(table_root=str(tmp_path / "t"), index_column="idx",
                                      protocol=7, **kwargs)


@pytest.mark.parametrize("index_type, granularity, also, form", [
    ("timestamp", 1, ValueError, "string using s, m, h, or d units"),
    ("timestamp", "1", ValueError, "string using s, m, h, or d units"),
    ("timestamp", 1.5, TypeError, "string using s, m, h, or d units"),
    ("int64", "1h", ValueError, f"Python int in 1..={U64_MAX}"),
    ("uint64", 0, ValueError, f"Python int in 1..={U64_MAX}"),
    ("uint64", -1, ValueError, f"Python int in 1..={U64_MAX}"),
    ("int64", 2**64, ValueError, f"Python int in 1..={U64_MAX}"),
    ("int64", True, TypeError, "bool is not accepted"),
    ("uint64", 1.5, TypeError, f"Python int in 1..={U64_MAX}"),
])
def test_bad_index_granularity_is_a_table_error_in_the_reference_form(tmp_path, index_type,
                                                                     granularity, also, form):
    with pytest.raises(ttf.TimeseriesTableError) as info:
        create(tmp_path, index_type=index_type, index_granularity=granularity)
    e = info.value
    assert isinstance(e, also)
    root = str(tmp_path / "t")
    assert str(e).startswith(f'invalid index_granularity for index_type "{index_type}" '
                             f"(table_root={root}): ")
    assert form in str(e)
    assert e.table_root == root and e.index_type == index_type
    assert not (tmp_path / "t").exists()


def test_missing_index_granularity_with_an_index_type_is_a_type_error(tmp_path):
    with pytest.raises(TypeError, match="index_granularity") as info:
        create(tmp_path, index_type="int64")
    assert isinstance(info.value, ttf.TimeseriesTableError)
    assert info.value.index_type == "int64"
    assert not (tmp_path / "t").exists()


def test_unknown_index_type_names_index_type(tmp_path):
    with pytest.raises(ttf.TimeseriesTableError, match="index_type") as info:
        create(tmp_path, index_type="other", index_granularity=1)
    assert info.value.index_type == "other" and info.value.table_root == str(tmp_path / "t")


@pytest.mark.parametrize("call", ["open", "create", "register"])
def test_a_location_with_a_scheme_is_a_storage_error(call):
    root = "s3://bucket/path"
    with pytest.raises(ttf.StorageError, match="unsupported table location scheme: s3") as info:
        if call == "open":
            ttf.TimeSeriesTable.open(root)
        elif call == "create":
            ttf.TimeSeriesTable.create(table_root=root, index_column="ts",
                                       index_granularity="1h", protocol=7)
        else:
            ttf.Session().register_tstable("prices", root)
    assert info.value.table_root == root


def batch(idx, symbols, idx_type=pa.int64()):
    return pa.table({"idx": pa.array(idx, idx_type), "symbol": pa.array(symbols, pa.string()),
                     "v": pa.array(range(len(idx)), pa.int64())})


def test_error_wording_carries_the_reference_phrases(tmp_path):
    t = create(tmp_path, index_type="int64", index_granularity=10, entity_columns=["symbol"])
    empty = pa.RecordBatchReader.from_batches(batch([], []).schema, [])
    with pytest.raises(ttf.TimeseriesTableError, match="Cannot append an empty Arrow input"):
        t.append(empty)
    with pytest.raises(ttf.DuplicateIndexIntervalError, match="Duplicate ordered-index interval"):
        t.append(batch([1, 2], ["A", "A"]))
    assert t.version() == 1

    u = ttf.TimeSeriesTable.create(table_root=str(tmp_path / "u"), index_column="idx",
                                   index_type="uint64", index_granularity=10, protocol=7)
    with pytest.raises(ttf.SchemaMismatchError, match="has type int64, expected uint64"):
        u.append(batch([11], ["A"]))


def test_add_columns_on_a_read_only_table_says_column_addition(tmp_path):
    from test_protocol7 import set_writer_feature
    create(tmp_path, index_type="int64", index_granularity=10)
    set_writer_feature(tmp_path / "t", "future_writer")
    opened = ttf.TimeSeriesTable.open(str(tmp_path / "t"))
    with pytest.raises(ttf.TimeseriesTableError, match="unsupported table writer features") as e:
        opened.add_columns(pa.schema([pa.field("x", pa.int64())]))
    assert "Column addition" in str(e.value) and opened.version() == 1


def run_isolated(code):
    result = subprocess.run([sys.executable, "-c", textwrap.dedent(code)], capture_output=True,
                            text=True, timeout=60, check=False)
    assert result.returncode == 0, result.stderr
    assert result.stderr == ""


def test_operations_leave_info_records_without_user_data():
    run_isolated("""
        import logging, tempfile
        from pathlib import Path
        import pyarrow as pa
        records = []
        class Capture(logging.Handler):
            def emit(self, record):
                records.append(record)
        logger = logging.getLogger("timeseries_table_format")
        logger.setLevel(logging.INFO)
        logger.addHandler(Capture())
        logger.propagate = False
        import timeseries_table_format as ttf
        with tempfile.TemporaryDirectory() as d:
            root = str(Path(d) / "private_root_917")
            t = ttf.TimeSeriesTable.create(table_root=root, index_column="ts",
                                           index_type="int64", index_granularity=10,
                                           entity_columns=["private_entity_917"], protocol=7)
            t.append(pa.table({"ts": pa.array([1], pa.int64()),
                               "private_entity_917": ["private_value_917"]}))
            t.append(pa.table({"ts": pa.array([11], pa.int64()),
                               "private_entity_917": ["private_value_917"]}))
            ttf.TimeSeriesTable.open(root).optimize()
            t = ttf.TimeSeriesTable.open(root)
            t.add_columns(pa.schema([pa.field("private_col_917", pa.float64())]))
            t.update_rows(pa.table({"ts": pa.array([1], pa.int64()),
                                    "private_entity_917": ["private_value_917"],
                                    "private_col_917": [9.17]}),
                          columns=["private_col_917"], expected_version=t.version())
        messages = [r.getMessage() for r in records]
        created = [r for r in records if "Created time-series table" in r.getMessage()]
        assert len(created) == 1, messages
        assert created[0].name == "timeseries_table_format.table"
        assert created[0].levelno == logging.INFO
        text = created[0].getMessage()
        assert 'event="table.create"' in text and "starting_version=0" in text
        assert "committed_version=1" in text and 'outcome="succeeded"' in text
        appended = [m for m in messages if 'event="table.append"' in m]
        assert len(appended) == 2 and "committed_version=3" in appended[1], messages
        assert "row_count=1" in appended[0]
        assert any('event="table.open"' in m for m in messages)
        assert any('event="table.optimize"' in m for m in messages)
        assert any('event="table.add_columns"' in m and "columns_added=1" in m
                   for m in messages), messages
        assert any('event="table.update_rows"' in m and "rows_updated=1" in m
                   for m in messages), messages
        for private in ("private_col_917", "9.17"):
            assert private not in "\\n".join(messages)
        joined = "\\n".join(messages)
        for private in ("private_root_917", "private_entity_917", "private_value_917"):
            assert private not in joined
        """)


def test_a_failing_log_handler_does_not_fail_the_operation():
    run_isolated("""
        import logging, tempfile
        from pathlib import Path
        class Broken(logging.Handler):
            def emit(self, record):
                raise RuntimeError("log sink failed")
        logger = logging.getLogger("timeseries_table_format")
        logger.setLevel(logging.INFO)
        logger.addHandler(Broken())
        logger.propagate = False
        import timeseries_table_format as ttf
        with tempfile.TemporaryDirectory() as d:
            t = ttf.TimeSeriesTable.create(table_root=str(Path(d) / "t"), index_column="ts",
                                           index_type="int64", index_granularity=10, protocol=7)
            assert t.version() == 1
        """)


def test_no_operation_record_below_the_configured_level(tmp_path, caplog):
    with caplog.at_level(logging.WARNING, logger="timeseries_table_format"):
        create(tmp_path, index_type="int64", index_granularity=10)
    assert not [r for r in caplog.records if r.name == "timeseries_table_format.table"]
    with caplog.at_level(logging.INFO, logger="timeseries_table_format"):
        ttf.TimeSeriesTable.open(str(tmp_path / "t"))
    assert [r for r in caplog.records if r.name == "timeseries_table_format.table"]


@pytest.mark.parametrize("api", ["sql", "sql_reader"])
def test_a_pyarrow_without_from_stream_is_an_import_error_before_the_query(monkeypatch, api):
    session = ttf.Session()

    class OldReader:
        pass

    monkeypatch.setattr(pa, "RecordBatchReader", OldReader)
    with pytest.raises(ImportError, match=rf"RecordBatchReader\.from_stream is required for "
                                          rf"Session\.{api}"):
        getattr(session, api)("select 1 as x")
    monkeypatch.undo()
    assert session.sql("select 1 as x")["x"].to_pylist() == [1]  # the session is not busy


def test_an_unknown_reader_feature_is_named_as_the_reference_does(tmp_path):
    import json
    create(tmp_path, index_type="int64", index_granularity=10)
    commit_path = tmp_path / "t" / "_timeseries_log" / "0000000001.json"
    commit = json.loads(commit_path.read_text())
    commit["actions"][0]["UpdateTableMeta"]["required_reader_features"] = ["future_reader"]
    commit_path.write_text(json.dumps(commit))
    with pytest.raises(ttf.TimeseriesTableError, match="unsupported table reader features") as e:
        ttf.TimeSeriesTable.open(str(tmp_path / "t"))
    assert "future_reader" in str(e.value) and e.value.table_root == str(tmp_path / "t")
