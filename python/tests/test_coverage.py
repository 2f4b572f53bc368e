"""Coverage questions: ratio, gaps, windows and the per-entity summary."""
import datetime as dt

import pytest

import timeseries_table_format as ttf
from conftest import write_csv

UTC = dt.timezone.utc
NVDA = {"symbol": "NVDA"}


def at(day, hour=0):
    return dt.datetime(2024, 6, day, hour, tzinfo=UTC)


def test_ratio_of_a_fully_covered_range(bars):
    assert bars.coverage_ratio("2024-06-01T00:00:00Z", "2024-06-11T00:00:00Z", NVDA) == 1.0


def test_ratio_accepts_naive_aware_iso_and_int_bounds(bars):
    half = [
        (dt.datetime(2024, 6, 10), dt.datetime(2024, 6, 12)),
        (at(10), at(12)),
        ("2024-06-10", "2024-06-12"),
        ("2024-06-10T02:00:00+02:00", "2024-06-12T00:00:00"),
        (int(at(10).timestamp()), int(at(12).timestamp())),
        (dt.date(2024, 6, 10), dt.date(2024, 6, 12)),
    ]
    for start, end in half:
        assert bars.coverage_ratio(start, end, entity=NVDA) == 0.5, (start, end)


def test_whole_table_and_unknown_entity(bars):
    assert bars.coverage_ratio(at(1), at(3)) == 1.0
    assert bars.coverage_ratio(at(1), at(3), {"symbol": "AAPL"}) == 0.0


def test_max_gap_counts_missing_buckets(bars):
    assert bars.max_gap(at(1), at(11), NVDA) == 0
    assert bars.max_gap(at(10), at(12), NVDA) == 24


def test_coverage_counts(bars):
    c = bars.coverage(at(10), at(12), NVDA)
    assert c == {"covered_buckets": 24, "total_buckets": 48, "missing_buckets": 24,
                 "ratio": 0.5, "max_gap_buckets": 24}


def test_gaps_come_back_as_aware_utc_datetimes(bars):
    assert bars.gaps(at(9), at(13), NVDA) == [(at(11), at(13))]
    assert bars.gaps(at(1), at(11), NVDA) == []
    assert bars.gaps(at(1), at(3), {"symbol": "AAPL"}) == [(at(1), at(3))]


def test_last_fully_covered_window(bars):
    assert bars.last_fully_covered_window(at(20), 24, NVDA) == (at(10), at(11))
    assert bars.last_fully_covered_window(at(20), dt.timedelta(days=2), NVDA) == (at(9), at(11))
    assert bars.last_fully_covered_window(at(20), 241, NVDA) is None
    assert bars.last_fully_covered_window(at(20), 24, {"symbol": "AAPL"}) is None
    with pytest.raises(ValueError, match="whole number of buckets"):
        bars.last_fully_covered_window(at(20), dt.timedelta(minutes=90), NVDA)
    with pytest.raises(TypeError, match="length"):
        bars.last_fully_covered_window(at(20), 1.5, NVDA)


def test_coverage_summary_lists_each_entity(bars, tmp_path):
    bars.append_csv(write_csv(tmp_path / "amd.csv", ["ts", "symbol", "open", "high", "low",
                                                     "close", "volume"],
                              [["2024-06-01T00:00:00Z", "AMD", 1.5, 1.5, 1.5, 1.5, 1],
                               ["2024-06-01T05:00:00Z", "AMD", 1.5, 1.5, 1.5, 1.5, 1]]))
    summary = bars.coverage_summary()
    assert summary == [
        {"entity": {"symbol": "AMD"}, "covered": True, "first": at(1, 0), "last": at(1, 6),
         "covered_buckets": 2, "gaps": 1, "missing_buckets": 4},
        {"entity": {"symbol": "NVDA"}, "covered": True, "first": at(1), "last": at(11),
         "covered_buckets": 240, "gaps": 0, "missing_buckets": 0},
    ]


def test_integer_index_coverage(ints, tmp_path):
    ints.append_csv(write_csv(tmp_path / "x.csv", ["x", "v"], [[-5, 1], [3, 1], [42, 1]]))
    assert ints.coverage_ratio(-10, 50) == pytest.approx(3 / 6)
    assert ints.gaps(-10, 50) == [(10, 40)]
    assert ints.max_gap(-10, 50) == 3
    assert ints.last_fully_covered_window(50, 1) == (40, 50)
    assert ints.coverage_summary() == [{"entity": None, "covered": True, "first": -10,
                                        "last": 50, "covered_buckets": 3, "gaps": 1,
                                        "missing_buckets": 3}]


def test_uint64_index_takes_the_full_unsigned_range(tmp_path):
    t = ttf.TimeSeriesTable.create(table_root=str(tmp_path / "u"), index_column="x",
                                   index_type="uint64", bucket_width=10)
    assert t.coverage_ratio(0, 2**64 - 1) == 0.0
    with pytest.raises(ValueError, match="u64"):
        t.coverage_ratio(-1, 10)


def test_range_and_argument_errors(bars, ints):
    with pytest.raises(ttf.TimeseriesTableError) as info:
        bars.coverage_ratio(at(2), at(1), NVDA)
    assert info.value.code == "TST_EINVAL" and info.value.table_root == bars.root()
    with pytest.raises(ValueError, match="invalid timestamp"):
        bars.coverage_ratio("yesterday", at(1))
    with pytest.raises(TypeError):
        bars.coverage_ratio(1.5, at(1))
    with pytest.raises(TypeError, match="int"):
        ints.coverage_ratio("a", 10)
    with pytest.raises(ValueError, match="i64"):
        ints.coverage_ratio(0, 2**63)


def test_entity_errors(bars):
    with pytest.raises(TypeError, match="dict"):
        bars.coverage_ratio(at(1), at(2), ["NVDA"])
    with pytest.raises(ttf.TimeseriesTableError) as info:
        bars.coverage_ratio(at(1), at(2), {"venue": "X"})
    assert "venue" in str(info.value)
    with pytest.raises(TypeError, match="symbol"):
        bars.coverage_ratio(at(1), at(2), {"symbol": 3})


def test_coverage_answers_need_no_schema(tmp_path):
    t = ttf.TimeSeriesTable.create(table_root=str(tmp_path / "t"), index_column="ts",
                                   index_type="timestamp", bucket="1d")
    assert t.coverage_ratio("2024-01-01", "2024-01-08") == 0.0
    assert t.gaps("2024-01-01", "2024-01-03") == [
        (dt.datetime(2024, 1, 1, tzinfo=UTC), dt.datetime(2024, 1, 3, tzinfo=UTC))]
    assert t.coverage_summary() == [{"entity": None, "covered": False, "first": None,
                                     "last": None, "covered_buckets": 0, "gaps": 0,
                                     "missing_buckets": 0}]
