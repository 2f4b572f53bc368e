"""append_parquet(move=True): zero-copy ingest of a file the caller hands over (issue 14)."""
import os

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

import timeseries_table_format as ttf


def day_file(path, day):
    ts = pa.array([(day * 24 + h) * 3600 * 10**6 for h in range(24)], pa.timestamp("us", "UTC"))
    pq.write_table(pa.table({"ts": ts, "symbol": ["NVDA"] * 24,
                             "close": [float(h) for h in range(24)]}), path)
    return path


@pytest.fixture
def table(tmp_path):
    return ttf.TimeSeriesTable.create(table_root=str(tmp_path / "t"), time_column="ts",
                                      bucket="1h", entity_columns=["symbol"])


def test_a_moved_file_is_the_tables_data_file(table, tmp_path):
    src = day_file(tmp_path / "d0.parquet", 0)
    inode = os.stat(src).st_ino
    report = table.append_parquet(src, move=True)
    assert report.moved is True and report.copied is True
    assert not src.exists()
    data = os.path.join(table.root(), report.segment_path)
    assert os.stat(data).st_ino == inode
    assert "moved=True" in repr(report)


def test_without_move_the_file_stays(table, tmp_path):
    src = day_file(tmp_path / "d0.parquet", 0)
    report = table.append_parquet(src)
    assert report.moved is False and src.exists()


def test_a_rejected_move_leaves_the_file(table, tmp_path):
    table.append_parquet(day_file(tmp_path / "d0.parquet", 0))
    again = day_file(tmp_path / "again.parquet", 0)
    with pytest.raises(ttf.CoverageOverlapError):
        table.append_parquet(again, move=True)
    assert again.exists() and os.stat(again).st_nlink == 1
