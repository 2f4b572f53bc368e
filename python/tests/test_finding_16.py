"""Finding 16: the reference's quickstart call, without index_type, creates a
timestamp table; bucket_width alone makes an int64 one. Both spellings of the
index column (index_column, time_column) stay accepted."""
import os

import pytest

import timeseries_table_format as ttf
from conftest import NVDA_CSV


def test_finding_16_quickstart_call_without_index_type_creates_a_timestamp_table(tmp_path):
    t = ttf.TimeSeriesTable.create(table_root=str(tmp_path / "p"), time_column="ts", bucket="1h",
                                   entity_columns=["symbol"], timezone=None)
    assert t.index_spec() == {"index_column": "ts", "entity_columns": ["symbol"],
                              "index_type": "timestamp", "index_granularity": "1h",
                              "timezone": None}
    assert t.append_csv(NVDA_CSV) == 2
    assert t.coverage_ratio("2024-06-01", "2024-06-11", {"symbol": "NVDA"}) == 1.0


def test_finding_16_index_column_spelling_works_without_index_type_too(tmp_path):
    t = ttf.TimeSeriesTable.create(table_root=str(tmp_path / "p"), index_column="ts",
                                   bucket="15m", timezone="Europe/Paris")
    assert t.index_spec()["index_type"] == "timestamp"
    assert t.index_spec()["timezone"] == "Europe/Paris"


def test_finding_16_bucket_width_alone_means_an_int64_index(tmp_path):
    t = ttf.TimeSeriesTable.create(table_root=str(tmp_path / "i"), index_column="seq",
                                   bucket_width=10)
    assert t.index_spec() == {"index_column": "seq", "entity_columns": [], "index_type": "int64",
                              "index_granularity": 10}
    u = ttf.TimeSeriesTable.create(table_root=str(tmp_path / "u"), index_column="seq",
                                   index_type="uint64", bucket_width=10)
    assert u.index_spec()["index_type"] == "uint64"


def test_finding_16_explicit_none_index_type_is_the_same_as_omitting_it(tmp_path):
    t = ttf.TimeSeriesTable.create(table_root=str(tmp_path / "p"), index_column="ts",
                                   index_type=None, bucket="1d")
    assert t.index_spec()["index_type"] == "timestamp"


def test_finding_16_without_bucket_or_bucket_width_says_which_to_give(tmp_path):
    with pytest.raises(TypeError) as info:
        ttf.TimeSeriesTable.create(table_root=str(tmp_path / "p"), time_column="ts",
                                   entity_columns=["symbol"])
    assert "bucket= for a timestamp index" in str(info.value)
    assert "bucket_width= for an integer index" in str(info.value)
    assert not os.path.exists(tmp_path / "p")


def test_finding_16_both_bucket_options_without_index_type_are_rejected_before_io(tmp_path):
    with pytest.raises(ttf.TimeseriesTableError) as info:
        ttf.TimeSeriesTable.create(table_root=str(tmp_path / "p"), index_column="ts",
                                   bucket="1h", bucket_width=10)
    assert str(info.value).startswith('invalid bucket_width for index_type "timestamp"')
    assert info.value.index_type == "timestamp"
    assert not os.path.exists(tmp_path / "p")


def test_finding_16_inferred_integer_index_still_refuses_timezone(tmp_path):
    with pytest.raises(ttf.TimeseriesTableError) as info:
        ttf.TimeSeriesTable.create(table_root=str(tmp_path / "p"), index_column="seq",
                                   bucket_width=10, timezone="UTC")
    assert str(info.value).startswith('invalid timezone for index_type "int64"')
    assert not os.path.exists(tmp_path / "p")


def test_finding_16_a_non_str_index_type_is_still_named_invalid(tmp_path):
    with pytest.raises(ttf.TimeseriesTableError, match="invalid index_type"):
        ttf.TimeSeriesTable.create(table_root=str(tmp_path / "p"), index_column="ts",
                                   index_type=3, bucket="1h")
