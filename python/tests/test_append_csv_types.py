"""CSV appends read with the table's types, and `columns=` for a subset of
the columns (report finding 10), through the Python package."""
import pytest

import timeseries_table_format as ttf
from conftest import NVDA_CSV

HEADER = "ts,symbol,open,high,low,close,volume\n"


def new_bars(tmp_path):
    return ttf.TimeSeriesTable.create(table_root=str(tmp_path / "t"), index_column="ts",
                                      index_type="timestamp", bucket="1h",
                                      entity_columns=["symbol"])


def test_finding_10_columns_with_a_subset_types_only_those(tmp_path):
    path = tmp_path / "a.csv"
    path.write_text(HEADER + "2024-06-01T00:00:00Z,NVDA,1,2,0,1,100\n")
    t = new_bars(tmp_path)
    assert t.append_csv(str(path), columns={"volume": "BIGINT", "open": "float64"}) == 2
    types = {c["name"]: c["type"] for c in t.schema()}
    assert types["open"] == "float64" and types["volume"] == "int64"
    assert types["high"] == "int64"  # not given: DuckDB's guess


def test_finding_10_whole_number_day_appends_into_float64(tmp_path):
    t = new_bars(tmp_path)
    t.append_csv(NVDA_CSV)
    path = tmp_path / "whole.csv"
    path.write_text(HEADER + "2024-06-11T00:00:00Z,NVDA,120,121,119,120,100\n")
    assert t.append_csv(str(path)) == 3


def test_finding_10_bad_value_names_line_column_and_value(tmp_path):
    t = new_bars(tmp_path)
    t.append_csv(NVDA_CSV)
    path = tmp_path / "bad.csv"
    path.write_text(HEADER + "2024-06-11T00:00:00Z,NVDA,1,1,1,1,1.5\n")
    with pytest.raises(Exception, match=r"line 2, column 'volume': '1.5' is not an integer"):
        t.append_csv(str(path))
    assert t.version() == 2
