"""Finding 17: SQL parameters take datetime (naive = UTC, aware converted to
UTC), date, Decimal and ints up to 2**64-1 (UBIGINT from 2**63), checked
against real tables: a timestamp table of two segments, queried in UTC and
in a session with SET TimeZone, and a uint64 table next to 2**64.

The library binds no typed timestamp, date or decimal parameter
(session.h: TST_PARAM_TEXT "also for timestamps"), so datetimes travel as
UTC RFC 3339 text, dates as YYYY-MM-DD and Decimals as their exact text;
the engine casts them to the type the statement gives the parameter."""
import datetime as dt
import decimal
import zoneinfo

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
import pytest

import timeseries_table_format as ttf
from conftest import NVDA_CSV, needs_session

pytestmark = needs_session
UTC = dt.timezone.utc
NY = zoneinfo.ZoneInfo("America/New_York")
U64_MAX = 2**64 - 1


@pytest.fixture
def june(tmp_path):
    """NVDA hourly bars 2024-06-01..10 (CSV) and 06-11..20 (pyarrow Parquet):
    two segments, 480 rows, registered as `june` in a fresh session."""
    t = ttf.TimeSeriesTable.create(table_root=str(tmp_path / "june"), time_column="ts",
                                   bucket="1h", entity_columns=["symbol"])
    t.append_csv(NVDA_CSV)
    first = pa.table(t.scan("2024-06-01", "2024-06-11"))
    ts = pc.add(first["ts"], pa.scalar(dt.timedelta(days=10), pa.duration("us")))
    pq.write_table(first.set_column(0, "ts", ts), tmp_path / "june11_20.parquet")
    t.append_parquet(str(tmp_path / "june11_20.parquet"))
    s = ttf.Session()
    s.register_tstable("june", t.root())
    return s


def count(s, where, params):
    """Rows matching `where` through the pruned table, checked against the
    same predicate with pruning defeated (the index wrapped in an
    expression). s.kept holds the segments the pruned statement kept."""
    n = s.sql(f"SELECT count(*) AS n FROM june WHERE {where}", params).to_pylist()[0]["n"]
    kept = s.last_prune()["kept_segments"]
    unpruned = where.replace("ts ", "(ts + INTERVAL 0 SECOND) ")
    full = s.sql(f"SELECT count(*) AS n FROM june WHERE {unpruned}", params).to_pylist()[0]["n"]
    assert n == full, f"pruned {n} != unpruned {full} for {where} {params}"
    return n, kept


def test_finding_17_naive_datetime_params_are_utc(june):
    where = "ts >= $1 AND ts < $2"
    n = count(june, where, [dt.datetime(2024, 6, 10, 22), dt.datetime(2024, 6, 11, 2)])
    assert n == (4, 2)
    assert n == count(june, where, ["2024-06-10T22:00:00Z", "2024-06-11T02:00:00Z"])
    assert count(june, where, [dt.datetime(2024, 6, 5), dt.datetime(2024, 6, 6)]) == (24, 1)


def test_finding_17_aware_datetime_params_are_converted_to_utc(june):
    plus2 = dt.timezone(dt.timedelta(hours=2))
    start = dt.datetime(2024, 6, 5, 2, tzinfo=plus2)          # 2024-06-05T00:00Z
    assert count(june, "ts >= $1", [start]) == count(june, "ts >= $1", [dt.datetime(2024, 6, 5)])
    assert count(june, "ts >= $1", [start]) == (16 * 24, 2)
    micro = dt.datetime(2024, 6, 5, 0, 0, 0, 1, tzinfo=UTC)   # one microsecond later
    assert count(june, "ts >= $1", [micro]) == (16 * 24 - 1, 2)
    assert count(june, "ts >= $1", [dt.datetime(2024, 6, 11, 3, tzinfo=plus2)]) == (10 * 24 - 1, 1)


def test_finding_17_datetime_params_under_set_timezone_keep_their_instant(june):
    june.sql("SET TimeZone = 'America/New_York'")
    where = "ts >= $1 AND ts < $2"
    # 18:00-22:00 New York time is 22:00-02:00 UTC: the range crosses into the second segment.
    ny = [dt.datetime(2024, 6, 10, 18, tzinfo=NY), dt.datetime(2024, 6, 10, 22, tzinfo=NY)]
    assert count(june, where, ny) == (4, 2)
    # naive stays UTC whatever the session's zone
    assert count(june, where, [dt.datetime(2024, 6, 10, 22), dt.datetime(2024, 6, 11, 2)]) == (4, 2)
    assert count(june, where, [dt.datetime(2024, 6, 12, tzinfo=NY), dt.datetime(2024, 6, 13)]) \
        == (20, 1)


def test_finding_17_date_params_in_a_utc_session(june):
    assert count(june, "ts >= $1 AND ts < $2", [dt.date(2024, 6, 5), dt.date(2024, 6, 6)]) \
        == (24, 1)
    assert count(june, "ts::DATE = $1", [dt.date(2024, 6, 11)])[0] == 24


def test_finding_17_date_params_under_set_timezone_follow_the_session_zone(june):
    june.sql("SET TimeZone = 'America/New_York'")
    # New York's 2024-06-10 is 04:00Z..04:00Z next day: 20 rows in the first segment, 4 in the second
    assert count(june, "ts >= $1 AND ts < $2", [dt.date(2024, 6, 10), dt.date(2024, 6, 11)])[0] \
        == 24


def test_finding_17_typed_results_with_an_explicit_cast(june):
    when = dt.datetime(2024, 6, 5, 12, 30, 0, 250000, tzinfo=UTC)
    row = june.sql("SELECT $1::TIMESTAMPTZ AS a, $2::TIMESTAMPTZ AS b, $3::DATE AS c",
                   [when, when.replace(tzinfo=None), dt.date(2024, 2, 29)]).to_pylist()[0]
    assert row == {"a": when, "b": when, "c": dt.date(2024, 2, 29)}
    # Where the statement gives no type, the text is what arrives.
    assert june.sql("SELECT $1 AS t", [when]).to_pylist() == [{"t": "2024-06-05T12:30:00.250Z"}]


def test_finding_17_datetime_params_against_naive_timestamp_and_date_columns(june, tmp_path):
    pq.write_table(pa.table({
        "moment": pa.array([dt.datetime(2024, 6, 1, h) for h in range(24)], pa.timestamp("us")),
        "day": pa.array([dt.date(2024, 6, 1 + h % 3) for h in range(24)], pa.date32()),
    }), tmp_path / "naive.parquet")
    june.register_parquet("naive", str(tmp_path / "naive.parquet"))
    q = "SELECT count(*) AS n FROM naive WHERE moment >= $1"
    # a naive TIMESTAMP column holds UTC wall clock: an aware value compares after conversion
    assert june.sql(q, [dt.datetime(2024, 6, 1, 20)]).to_pylist() == [{"n": 4}]
    assert june.sql(q, [dt.datetime(2024, 6, 1, 16, tzinfo=NY)]).to_pylist() == [{"n": 4}]
    assert june.sql("SELECT count(*) AS n FROM naive WHERE day = $1",
                    [dt.date(2024, 6, 2)]).to_pylist() == [{"n": 8}]


def test_finding_17_decimal_params_are_exact(june, tmp_path):
    prices = [decimal.Decimal("12.345"), decimal.Decimal("12.346"), decimal.Decimal("100.000")]
    pq.write_table(pa.table({"price": pa.array(prices, pa.decimal128(10, 3))}),
                   tmp_path / "dec.parquet")
    june.register_parquet("dec", str(tmp_path / "dec.parquet"))
    q = "SELECT count(*) AS n FROM dec WHERE price = $1"
    assert june.sql(q, [decimal.Decimal("12.345")]).to_pylist() == [{"n": 1}]
    assert june.sql(q, [decimal.Decimal("1E+2")]).to_pylist() == [{"n": 1}]  # plain "100"
    wide = decimal.Decimal("12345678901234567890.0123456789")
    assert june.sql("SELECT $1::DECIMAL(38,10) AS d", [wide]).to_pylist() == [{"d": wide}]
    assert june.sql("SELECT count(*) AS n FROM june WHERE close > $1",
                    [decimal.Decimal("120.5")]).to_pylist() == \
        june.sql("SELECT count(*) AS n FROM june WHERE close > 120.5").to_pylist() != [{"n": 0}]


def test_finding_17_uint64_params_near_2_pow_64(tmp_path):
    # 1000 rows per append, 100 per bucket: format_version 6 (protocol 7 allows one)
    t = ttf.TimeSeriesTable.create(table_root=str(tmp_path / "u64"), index_column="seq",
                                   index_type="uint64", bucket_width=100, protocol=6)
    split = 18446744073709550600  # a bucket edge: the two appends cover different buckets
    low = pa.array(range(split - 1000, split), pa.uint64())
    high = pa.array(range(split, U64_MAX + 1), pa.uint64())
    t.append(pa.table({"seq": low, "v": pa.array(range(len(low)), pa.int64())}))
    t.append(pa.table({"seq": high, "v": pa.array(range(len(high)), pa.int64())}))
    s = ttf.Session()
    s.register_tstable("u64", t.root())
    q = "SELECT count(*) AS n, max(seq) AS top FROM u64 WHERE seq >= $1"
    assert s.sql(q, [18446744073709551000]).to_pylist() == [{"n": 616, "top": U64_MAX}]
    assert s.last_prune() == {"candidate_segments": 2, "kept_segments": 1,
                              "range_skipped_segments": 1, "bitmap_skipped_segments": 0}
    assert s.sql(q, [U64_MAX]).to_pylist() == [{"n": 1, "top": U64_MAX}]
    assert s.sql(q, {"1": 2**63}).to_pylist()[0]["n"] == 2016
    assert s.sql("SELECT $1 AS a, $2 AS b", [2**63, -2**63]).to_pylist() == \
        [{"a": 2**63, "b": -2**63}]


def test_finding_17_out_of_range_ints_raise_value_error_naming_the_value(june):
    for bad in (2**64, -2**63 - 1, 10**30):
        with pytest.raises(ValueError, match=f"int parameter \\$1 = {bad} is out of range"):
            june.sql("SELECT $1 AS x", [bad])
    with pytest.raises(ValueError, match="int parameter \\$lo = 18446744073709551616"):
        june.sql("SELECT $lo AS x", {"lo": 2**64})


def test_finding_17_non_finite_decimals_are_refused(june):
    for bad in ("NaN", "Infinity", "-Infinity", "sNaN"):
        with pytest.raises(ValueError, match="decimal parameter \\$1 = Decimal\\('"):
            june.sql("SELECT $1 AS x", [decimal.Decimal(bad)])


def test_finding_17_int_likes_bind_through_index(june):
    np = pytest.importorskip("numpy")
    row = june.sql("SELECT $1 AS a, $2 AS b", [np.uint64(U64_MAX), np.int32(-5)]).to_pylist()
    assert row == [{"a": U64_MAX, "b": -5}]


def test_finding_17_new_parameter_kinds_leak_no_python_objects(june):
    import gc
    import sys
    when, day, price = dt.datetime(2024, 6, 5, tzinfo=NY), dt.date(2024, 6, 5), \
        decimal.Decimal("12.5")
    refs = [sys.getrefcount(o) for o in (when, day, price)]

    def cycle():
        june.sql("SELECT $1::TIMESTAMPTZ AS a, $2::DATE AS b, $3::DECIMAL(9,2) AS c, $4 AS d",
                 [when, day, price, 2**64 - 1])
        for bad in ([2**64], [decimal.Decimal("NaN")], [object()]):
            try:  # not pytest.raises, which keeps state of its own
                june.sql("SELECT $1 AS x", bad)
                raise AssertionError(f"{bad} was accepted")
            except (ValueError, TypeError):
                pass

    for _ in range(500):  # caches of the interpreter fill up first
        cycle()
    gc.collect()
    before = sys.getallocatedblocks()
    for _ in range(1000):
        cycle()
    gc.collect()
    # A leaked text buffer would be 3 blocks a cycle (3,000 here); the
    # interpreter's own caches still move by ~0.2-0.5 a cycle under pytest,
    # depending on what the tests before this one left in them.
    assert sys.getallocatedblocks() - before < 1500
    assert [sys.getrefcount(o) for o in (when, day, price)] == refs


def test_finding_17_pandas_timestamps_are_datetimes(june):
    pd = pytest.importorskip("pandas")
    paris = pd.Timestamp("2024-06-05 02:00", tz="Europe/Paris")      # 00:00Z
    assert count(june, "ts >= $1 AND ts < $2", [paris, pd.Timestamp("2024-06-06")]) == (24, 1)
