"""TimeSeriesTable.optimize() and OptimizeReport: mixed segments (pyarrow,
polars and pandas data with several symbols per append) become single-entity
segments with the same rows, a second run is a no-op, tables without entity
columns are refused with table_root, and the report has the reference's
read-only properties.
"""
import json
import pickle

import pandas as pd
import polars as pl
import pyarrow as pa
import pytest

import timeseries_table_format as ttf
from timeseries_table_format import OptimizeReport

from conftest import needs_session


FIELDS = ["starting_version", "committed_version", "candidate_source_segments",
          "source_segments_replaced", "replacement_segments_written",
          "distinct_identities_materialized", "rows_read", "rows_written", "no_op"]


def optimize(table):
    result = table.optimize()
    assert isinstance(result, OptimizeReport)
    return result


def bars(day, symbols):
    """Three hourly bars per symbol on 2024-06-<day>, as a pyarrow Table."""
    ts, sym, close = [], [], []
    for h in range(3):
        for i, s in enumerate(symbols):
            ts.append(pd.Timestamp(f"2024-06-{day:02d}T{h:02d}:00:00Z"))
            sym.append(s)
            close.append(float(10 * i + h))
    return pa.table({"ts": pa.array(ts, pa.timestamp("us", tz="UTC")), "symbol": sym,
                     "close": close})


@pytest.fixture
def mixed(tmp_path):
    """Two mixed segments (pyarrow, then polars) and a single one (pandas)."""
    t = ttf.TimeSeriesTable.create(table_root=str(tmp_path / "t"), index_column="ts",
                                   index_granularity="1h", entity_columns=["symbol"])
    t.append(bars(1, ["NVDA", "AAPL"]))
    t.append(pl.from_arrow(bars(2, ["NVDA", "AAPL", "MSFT"])))
    t.append(bars(3, ["NVDA"]).to_pandas())
    return t


def layouts(table):
    return sorted(f"{s['entity_layout']}:{s['entity']}" for s in table.segments())


@needs_session
def test_mixed_segments_become_single_entity_segments_with_the_same_rows(mixed):
    s = ttf.Session()
    s.register_tstable("t", mixed.root())
    query = "SELECT symbol, count(*) AS n, sum(close) AS s FROM t GROUP BY symbol ORDER BY symbol"
    before = s.sql(query)
    cov_before = mixed.coverage("2024-06-01", "2024-06-04", entity={"symbol": "AAPL"})
    assert [seg["entity_layout"] for seg in mixed.segments()] == ["mixed", "mixed", "single"]
    report = optimize(mixed)
    assert [getattr(report, f) for f in FIELDS] == [4, 5, 2, 2, 5, 3, 15, 15, False]
    assert report.attempts == 1
    assert mixed.version() == 5
    assert s.sql(query).equals(before)
    assert mixed.coverage("2024-06-01", "2024-06-04", entity={"symbol": "AAPL"}) == cov_before
    assert layouts(mixed) == ["single:{'symbol': 'AAPL'}"] * 2 + ["single:{'symbol': 'MSFT'}"] + \
        ["single:{'symbol': 'NVDA'}"] * 3


def test_a_second_optimize_is_a_no_op_with_equal_versions(mixed):
    optimize(mixed)
    report = optimize(mixed)
    assert report.no_op is True
    assert report.starting_version == report.committed_version == 5
    assert [getattr(report, f) for f in FIELDS[2:8]] == [0] * 6


def test_an_empty_table_is_a_no_op(tmp_path):
    t = ttf.TimeSeriesTable.create(table_root=str(tmp_path / "t"), index_column="ts",
                                   index_granularity="1h", entity_columns=["symbol"])
    report = optimize(t)
    assert report.no_op and report.starting_version == report.committed_version == 1


def test_a_table_without_entity_columns_is_refused_with_table_root(tmp_path):
    root = str(tmp_path / "t")
    t = ttf.TimeSeriesTable.create(table_root=root, index_column="ts", index_granularity="1h")
    t.append(bars(1, ["NVDA"]))
    with pytest.raises(ttf.TimeseriesTableError) as e:
        optimize(t)
    assert type(e.value) is ttf.TimeseriesTableError
    assert e.value.table_root == root
    assert "not applicable to table" in str(e.value) and str(e.value).endswith(
        f"(table_root={root})")
    assert t.version() == 2


def test_another_handle_sees_the_optimized_table(mixed):
    optimize(mixed)
    other = ttf.TimeSeriesTable.open(mixed.root())
    assert other.version() == 5
    assert layouts(other) == layouts(mixed)


def test_the_report_is_read_only_comparable_picklable_and_readable():
    fields = dict(zip(FIELDS, [4, 5, 2, 2, 5, 3, 15, 15, False]), attempts=1,
                  mode="entity_layout", segments_before=None, segments_after=None,
                  bytes_read=None, bytes_written=None, window=None, target_rows=None,
                  target_bytes=None)
    report = OptimizeReport(fields)
    with pytest.raises(AttributeError):
        report.rows_read = 0
    assert pickle.loads(pickle.dumps(report)) == report
    assert report.to_dict() == fields
    assert repr(report).startswith("OptimizeReport(starting_version=4, committed_version=5,")
    assert "no_op=False" in repr(report)
    assert json.dumps(report.to_dict())
    assert OptimizeReport.rows_read.__doc__.startswith("Logical rows read")


def test_the_public_method_returns_an_optimize_report(mixed):
    assert isinstance(mixed.optimize(), OptimizeReport)


def test_optimize_report_is_exported_by_the_package():
    assert ttf.OptimizeReport is OptimizeReport
    assert "OptimizeReport" in ttf.__all__


def test_the_guide_python_example_runs(tmp_path, monkeypatch):
    import os
    import re
    from conftest import REPO
    guide = open(os.path.join(REPO, "docs", "guide", "optimize.md")).read()
    blocks = re.findall(r"```python\n(.*?)```", guide, re.S)
    assert len(blocks) == 2  # compaction, then the entity layout
    monkeypatch.chdir(tmp_path)
    for i, block in enumerate(blocks):
        exec(compile(block, f"docs/guide/optimize.md block {i + 1}", "exec"), {"__name__": "guide"})
