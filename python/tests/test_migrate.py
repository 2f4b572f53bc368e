"""ttf.migrate(): a format_version-6 table into a new protocol-7 table, its report, and the
refusals (a protocol-7 source, an existing destination). Tables are created with an explicit
protocol."""
import json
import os

import pyarrow as pa
import pytest

import timeseries_table_format as ttf


def bars(hours, symbol, v0=0.0):
    return pa.table({"ts": pa.array([f"2024-06-01T{h:02d}:00:00" for h in hours],
                                    pa.string()).cast(pa.timestamp("us")),
                     "symbol": [symbol] * len(hours),
                     "v": [v0 + h for h in hours]})


def v6_table(root):
    t = ttf.TimeSeriesTable.create(table_root=str(root), index_column="ts",
                                   index_granularity="1h", entity_columns=["symbol"], protocol=6)
    t.append(bars(range(4), "NVDA"))
    t.append(bars(range(2), "AAPL", 10.0))
    return t


def totals(root):
    s = ttf.Session()
    s.register_tstable("t", str(root))
    return s.sql("SELECT symbol, count(*) AS n, sum(v) AS s FROM t GROUP BY symbol "
                 "ORDER BY symbol").to_pylist()


def test_migrate_makes_a_protocol_7_table_with_the_same_rows(tmp_path):
    v6_table(tmp_path / "v6")
    report = ttf.migrate(tmp_path / "v6", tmp_path / "v7")
    assert isinstance(report, ttf.MigrateReport)
    assert (report.version, report.commits_rewritten, report.metas_rewritten,
            report.live_segments, report.checkpoint_written) == (3, 3, 2, 2, False)
    assert report.files_linked + report.files_copied > 0
    meta = json.loads((tmp_path / "v7" / "_timeseries_log" / "0000000001.json").read_text())
    meta = meta["actions"][0]["UpdateTableMeta"]
    assert meta["protocol_version"] == 7 and "format_version" not in meta
    assert meta["kind"]["TimeSeries"]["kind"] == {"type": "timestamp",
                                                  "index_granularity": {"Hours": 1}}
    assert totals(tmp_path / "v7") == totals(tmp_path / "v6")
    t = ttf.TimeSeriesTable.open(str(tmp_path / "v7"))
    assert t.version() == 3
    t.append(bars([5], "MSFT"))
    assert t.version() == 4
    assert ttf.TimeSeriesTable.open(str(tmp_path / "v6")).version() == 3


def test_migrate_copy_never_links(tmp_path):
    v6_table(tmp_path / "v6")
    report = ttf.migrate(str(tmp_path / "v6"), str(tmp_path / "v7"), copy=True)
    assert report.files_linked == 0 and report.files_copied > 0
    for p in (tmp_path / "v6").rglob("*.parquet"):
        assert not os.path.samefile(p, tmp_path / "v7" / p.relative_to(tmp_path / "v6"))


def test_migrate_refuses_a_protocol_7_source_and_an_existing_destination(tmp_path):
    ttf.TimeSeriesTable.create(table_root=str(tmp_path / "p7"), index_column="ts",
                               index_granularity="1h", protocol=7)
    with pytest.raises(ttf.TimeseriesTableError, match="already a protocol-7 table"):
        ttf.migrate(tmp_path / "p7", tmp_path / "out")
    assert not (tmp_path / "out").exists()
    v6_table(tmp_path / "v6")
    (tmp_path / "out").mkdir()
    with pytest.raises(ttf.TimeseriesTableError, match="already exists"):
        ttf.migrate(tmp_path / "v6", tmp_path / "out")
    assert list((tmp_path / "out").iterdir()) == []
