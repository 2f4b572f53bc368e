"""Test setup: the installed package (pip install ./python, or the wheel), and shared fixtures."""
import os

import pytest

import timeseries_table_format as ttf

PYTHON_DIR = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

REPO = os.path.dirname(PYTHON_DIR)
NVDA_CSV = os.path.join(REPO, "examples", "data", "nvda_1h_sample.csv")

needs_session = pytest.mark.skipif(not ttf.HAS_SESSION,
                                   reason="libtstable was built without tst_session_*")


def write_csv(path, header, rows):
    """Writes a small CSV and returns its path."""
    with open(path, "w") as f:
        f.write(",".join(header) + "\n")
        for row in rows:
            f.write(",".join(str(v) for v in row) + "\n")
    return str(path)


@pytest.fixture
def nvda_csv():
    return NVDA_CSV


@pytest.fixture
def bars(tmp_path):
    """An hourly table keyed by symbol, holding the 240 NVDA bars (version 2)."""
    t = ttf.TimeSeriesTable.create(table_root=str(tmp_path / "bars"), index_column="ts",
                                   index_type="timestamp", bucket="1h",
                                   entity_columns=["symbol"])
    t.append_csv(NVDA_CSV)
    return t


@pytest.fixture
def ints(tmp_path):
    """An int64-indexed table, buckets of 10, no entity columns."""
    return ttf.TimeSeriesTable.create(table_root=str(tmp_path / "ints"), index_column="x",
                                      index_type="int64", bucket_width=10)
