"""Session: registrations, sql() with params, sql_reader() streaming, joins."""
import datetime as dt
import decimal
import os
import threading

import pyarrow as pa
import pytest

import timeseries_table_format as ttf
from conftest import needs_session, write_csv

pytestmark = needs_session
UTC = dt.timezone.utc


@pytest.fixture
def session(bars):
    s = ttf.Session()
    s.register_tstable("bars", bars.root())
    return s


def test_session_takes_no_arguments():
    with pytest.raises(TypeError):
        ttf.Session("x")


def test_sql_returns_a_pyarrow_table(session):
    res = session.sql("SELECT symbol, count(*) AS n, min(ts) AS first FROM bars GROUP BY symbol")
    assert type(res) is pa.Table
    assert res.column_names == ["symbol", "n", "first"]
    assert res.to_pylist() == [{"symbol": "NVDA", "n": 240,
                                "first": dt.datetime(2024, 6, 1, tzinfo=UTC)}]
    assert len(res) == res.num_rows == 1


def test_an_empty_result_keeps_its_schema(session):
    res = session.sql("SELECT ts, volume, symbol FROM bars WHERE volume < 0")
    assert type(res) is pa.Table and res.num_rows == 0
    assert res.schema == pa.schema([("ts", pa.timestamp("us", tz="UTC")),
                                    ("volume", pa.int64()), ("symbol", pa.string())])
    reader = session.sql_reader("SELECT ts, volume FROM bars WHERE volume < 0")
    assert reader.schema.names == ["ts", "volume"] and reader.read_all().num_rows == 0


def test_positional_params(session):
    res = session.sql("SELECT count(*) AS n FROM bars WHERE ts >= $1 AND ts < $2",
                      ["2024-06-02T00:00:00Z", "2024-06-03T00:00:00Z"])
    assert res.to_pylist() == [{"n": 24}]
    assert session.sql("SELECT $1::BIGINT AS a", params=(5,)).to_pylist() == [{"a": 5}]


def test_named_params_with_and_without_dollar(session):
    res = session.sql("SELECT $a::BIGINT + 1 AS x, $b::VARCHAR AS y", {"$a": 41, "b": "hi"})
    assert res.to_pylist() == [{"x": 42, "y": "hi"}]


def test_param_value_types(session):
    res = session.sql("SELECT $1 IS NULL AS a, $2::BOOLEAN AS b, $3::DOUBLE AS c, "
                      "$4::BLOB AS d", [None, True, 2.5, b"\x00\x01"])
    assert res.to_pylist() == [{"a": True, "b": True, "c": 2.5, "d": b"\x00\x01"}]


def test_param_errors(session):
    with pytest.raises(ValueError, match="int parameter \\$1 = 18446744073709551616 is out"):
        session.sql("SELECT $1", [2**64])
    with pytest.raises(TypeError, match="params values must be one of: None, bool, int, float, "
                                        "decimal.Decimal, str, bytes, datetime.datetime, "
                                        "datetime.date \\(parameter \\$1 is object\\)"):
        session.sql("SELECT $1", [object()])
    with pytest.raises(TypeError, match="params must be a dict \\(named \\$param\\) or "
                                        "list/tuple \\(positional \\$1, \\$2, ...\\)"):
        session.sql("SELECT $1", "x")
    with pytest.raises(ttf.SqlError):
        session.sql("SELECT $1 + $2", [1])


def test_sql_errors_are_sql_errors(session):
    with pytest.raises(ttf.DataFusionError) as info:
        session.sql("SELEC nope")
    assert isinstance(info.value, ttf.SqlError)
    with pytest.raises(ttf.SqlError):
        session.sql("SELECT * FROM missing_table")


def test_result_types(session):
    row = session.sql("SELECT 1.5::DECIMAL(10,3) AS d, DATE '2024-01-02' AS day, NULL AS n, "
                      "true AS b, 'x'::VARCHAR AS s, 18446744073709551615::UBIGINT AS u, "
                      "TIMESTAMPTZ '2024-01-02 03:04:05+00' AS tz").to_pylist()[0]
    assert row == {"d": decimal.Decimal("1.500"), "day": dt.date(2024, 1, 2), "n": None,
                   "b": True, "s": "x", "u": 2**64 - 1,
                   "tz": dt.datetime(2024, 1, 2, 3, 4, 5, tzinfo=UTC)}


def test_empty_results_keep_their_schema(session):
    res = session.sql("SELECT symbol, close FROM bars WHERE false")
    assert res.column_names == ["symbol", "close"] and res.to_pylist() == []


def test_register_parquet_and_join(session, bars, tmp_path):
    seg = os.path.join(bars.root(), bars.segments()[0]["path"])
    session.register_parquet("raw", seg)
    res = session.sql("SELECT count(*) AS n FROM bars b JOIN raw r ON b.ts = r.ts")
    assert res.to_pylist() == [{"n": 240}]
    assert session.tables() == ["bars", "raw"]


def test_register_parquet_failure_carries_name_and_path(session, tmp_path):
    with pytest.raises(ttf.SqlError) as info:
        session.register_parquet("x", str(tmp_path / "none.parquet"))
    assert info.value.name == "x" and info.value.path == str(tmp_path / "none.parquet")


def test_registration_argument_errors(session, tmp_path):
    with pytest.raises(ValueError, match="name must be non-empty"):
        session.register_tstable("", str(tmp_path))
    with pytest.raises(ValueError, match="name must be non-empty"):
        session.register_parquet("", "x.parquet")
    with pytest.raises(ValueError, match="path must be non-empty"):
        session.register_parquet("x", "")


def test_register_a_table_without_appends_fails_until_it_has_one(tmp_path):
    t = ttf.TimeSeriesTable.create(table_root=str(tmp_path / "t"), index_column="x",
                                   index_type="int64", bucket_width=10)
    s = ttf.Session()
    with pytest.raises(ttf.SqlError) as info:
        s.register_tstable("t", t.root())
    assert info.value.table_root == t.root()
    t.append_csv(write_csv(tmp_path / "a.csv", ["x"], [[1]]))
    s.register_tstable("t", t.root())
    assert s.sql("SELECT x FROM t").to_pylist() == [{"x": 1}]


def test_register_a_missing_table_raises_with_table_root(tmp_path):
    with pytest.raises(ttf.TimeseriesTableError) as info:
        ttf.Session().register_tstable("t", str(tmp_path / "none"))
    assert info.value.table_root == str(tmp_path / "none")


def test_registered_tables_see_new_appends(session, bars, tmp_path):
    bars.append_csv(write_csv(tmp_path / "more.csv", ["ts", "symbol", "open", "high", "low",
                                                      "close", "volume"],
                              [["2024-07-01T00:00:00Z", "NVDA", 1.5, 1.5, 1.5, 1.5, 1]]))
    assert session.sql("SELECT count(*) AS n FROM bars").to_pylist() == [{"n": 241}]


def test_tables_sorted_and_deregister(session, bars):
    session.register_tstable("alpha", bars.root())
    assert session.tables() == ["alpha", "bars"]
    session.deregister("alpha")
    assert session.tables() == ["bars"]
    with pytest.raises(KeyError):
        session.deregister("alpha")
    with pytest.raises(ValueError):
        session.deregister("")


def test_sql_reader_streams_and_blocks_the_session_until_done(session):
    reader = session.sql_reader("SELECT * FROM bars ORDER BY ts")
    assert type(reader) is pa.RecordBatchReader
    with pytest.raises(ttf.TimeseriesTableError, match="busy"):
        session.sql("SELECT 1")
    rows = reader.read_all().to_pylist()
    assert len(rows) == 240 and rows[0]["ts"] == dt.datetime(2024, 6, 1, tzinfo=UTC)
    assert session.sql("SELECT 1 AS one").to_pylist() == [{"one": 1}]


def test_closing_a_reader_frees_the_session(session):
    reader = session.sql_reader("SELECT * FROM bars", params=None)
    reader.close()
    assert session.sql("SELECT 2 AS two").to_pylist() == [{"two": 2}]
    reader = session.sql_reader("SELECT * FROM bars")
    del reader
    assert session.sql("SELECT 3 AS three").to_pylist() == [{"three": 3}]


def test_an_exported_reader_frees_the_session_when_consumed(session, tmp_path):
    t = ttf.TimeSeriesTable.create(table_root=str(tmp_path / "copy"), index_column="ts",
                                   index_type="timestamp", bucket="1h",
                                   entity_columns=["symbol"])
    assert t.append(session.sql_reader("SELECT * FROM bars")) == 2
    assert session.sql("SELECT count(*) AS n FROM bars").to_pylist() == [{"n": 240}]


def test_sql_result_round_trips_through_append(session, bars, tmp_path):
    t = ttf.TimeSeriesTable.create(table_root=str(tmp_path / "copy"), index_column="ts",
                                   index_type="timestamp", bucket="1h",
                                   entity_columns=["symbol"])
    res = session.sql("SELECT * FROM bars")
    assert t.append(res) == 2
    session.register_tstable("copy", t.root())
    diff = session.sql("SELECT count(*) AS n FROM (SELECT * FROM bars EXCEPT SELECT * FROM copy)")
    assert diff.to_pylist() == [{"n": 0}]
    assert session.sql("SELECT * FROM copy ORDER BY ts").to_pylist() == \
        session.sql("SELECT * FROM bars ORDER BY ts").to_pylist()


def test_a_session_outlives_nothing_it_exported(bars):
    s = ttf.Session()
    s.register_tstable("bars", bars.root())
    capsule = s.sql_reader("SELECT * FROM bars").__arrow_c_stream__()
    del s  # the stream keeps the session's engine alive until released
    del capsule


def test_threads_share_a_session(session):
    errors, results = [], []

    def work(i):
        try:
            results.append(session.sql("SELECT count(*) + $1::BIGINT AS n FROM bars",
                                       [i]).to_pylist()[0]["n"])
        except Exception as e:  # pragma: no cover - reported below
            errors.append(e)

    threads = [threading.Thread(target=work, args=(i,)) for i in range(8)]
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    assert errors == [] and sorted(results) == [240 + i for i in range(8)]


def test_sql_inside_query_reads_every_segment_even_when_the_statement_prunes(tmp_path):
    """query('...') and query_table('...') read a table through the same view
    the statement's pruning defines: a statement that also reads the table
    with a narrow range must not narrow what the string's SQL reads (it did:
    2 rows instead of 4), and a coverage check cannot see that read."""
    t = ttf.TimeSeriesTable.create(table_root=str(tmp_path / "bars"), index_column="ts",
                                   index_granularity="1d", entity_columns=["symbol"])
    day = lambda d: dt.datetime(2024, 1, d, tzinfo=dt.timezone.utc)  # noqa: E731
    for days in ([2, 3], [5, 6]):
        t.append(pa.table({"ts": pa.array([day(d) for d in days], pa.timestamp("us", "UTC")),
                           "symbol": ["A"] * len(days)}))
    s = ttf.Session()
    s.register_tstable("bars", t.root())
    narrow = "(SELECT count(*) FROM bars WHERE ts >= '2024-01-05')"
    for inner in ("query('SELECT * FROM bars')", "query_table('bars')"):
        got = s.sql(f"SELECT {narrow} AS a, (SELECT count(*) FROM {inner}) AS b").to_pylist()
        assert got == [{"a": 2, "b": 4}], inner
    assert s.last_prune()["kept_segments"] == 2
    with pytest.raises(ttf.IncompleteCoverageError, match="cannot tell which rows"):
        s.sql(f"SELECT {narrow}, (SELECT count(*) FROM query('SELECT * FROM bars'))",
              require_coverage=True)
    s.sql(f"SELECT {narrow}")
    assert s.last_prune()["kept_segments"] == 1  # without query(), it still prunes
