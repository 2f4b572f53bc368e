"""TimeSeriesTable.delete_rows(): the rows of a range, of some entities or of
all, and their coverage, in one commit; the forms `entities` takes; the
refusals (misaligned range, unknown entity, stale version) and their hints;
the report; the guide's example (docs/guide/corrections.md)."""
import datetime as dt
import os
import pickle
import re

import pyarrow as pa
import pytest

import timeseries_table_format as ttf
from conftest import REPO

DAY = dt.datetime(2024, 6, 3, tzinfo=dt.timezone.utc)


def at(h):
    return DAY + dt.timedelta(hours=h)


def bars(rows):
    return pa.table({"ts": pa.array([at(h) for _, h, _ in rows], pa.timestamp("ms", tz="UTC")),
                     "symbol": [s for s, _, _ in rows],
                     "close": pa.array([float(v) for _, _, v in rows], pa.float64())})


@pytest.fixture
def table(tmp_path):
    t = ttf.TimeSeriesTable.create(table_root=str(tmp_path / "t"), index_column="ts",
                                   index_granularity="1h", entity_columns=["symbol"])
    t.append(bars([(s, h, 10 * h + i) for h in range(6) for i, s in enumerate(["A", "B"])]))
    t.append(bars([("C", h, 100 + h) for h in range(6)]))
    return t


def rows(t):
    s = ttf.Session()
    s.register_tstable("t", t.root())
    return [(r["symbol"], r["ts"].hour, r["close"])
            for r in s.sql("SELECT * FROM t ORDER BY symbol, ts").to_pylist()]


def test_one_entity_s_range_goes_with_its_coverage_and_takes_an_append_again(table):
    report = table.delete_rows(at(1), at(3), entities={"symbol": "A"})
    assert isinstance(report, ttf.DeleteReport)
    assert report.to_dict() == {"starting_version": 3, "committed_version": 4, "rows_deleted": 2,
                                "segments_removed": 0, "segments_rewritten": 1,
                                "buckets_uncovered": 2, "no_op": False, "attempts": 1}
    assert [r for r in rows(table) if r[0] == "A"] == [("A", 0, 0.0), ("A", 3, 30.0),
                                                         ("A", 4, 40.0), ("A", 5, 50.0)]
    assert len(rows(table)) == 16
    assert table.coverage_ratio(at(1), at(3), entity={"symbol": "A"}) == 0.0
    assert table.coverage_ratio(at(1), at(3), entity={"symbol": "B"}) == 1.0
    table.append(bars([("A", 1, -1), ("A", 2, -2)]))  # the gap takes an append
    with pytest.raises(ttf.CoverageOverlapError):
        table.append(bars([("A", 3, -3)]))  # what was kept is still covered


def test_every_entity_when_none_is_named_and_whole_segments_are_removed(table):
    report = table.delete_rows(at(0), at(6))
    assert (report.rows_deleted, report.segments_removed, report.segments_rewritten) == (18, 2, 0)
    assert rows(table) == []
    assert table.coverage_summary() == []  # every entity's coverage went with its rows


@pytest.mark.parametrize("entities", ["C", ["C"], [{"symbol": "C"}], {"symbol": "C"}])
def test_entities_take_a_dict_a_list_or_bare_values(table, entities):
    report = table.delete_rows(at(0), at(2), entities=entities)
    assert report.rows_deleted == 2 and report.segments_rewritten == 1


def test_several_entities_in_one_commit(table):
    report = table.delete_rows("2024-06-03T04:00:00Z", "2024-06-03T06:00:00Z",
                               entities=["A", "C"])
    assert report.rows_deleted == 4 and report.committed_version == 4
    assert {r[0] for r in rows(table) if r[1] >= 4} == {"B"}


def test_a_misaligned_range_names_the_nearest_aligned_ones(table):
    with pytest.raises(ttf.TimeseriesTableError) as e:
        table.delete_rows(at(1) + dt.timedelta(minutes=30), at(3), entities="A")
    assert "[2024-06-03T02:00:00Z, 2024-06-03T03:00:00Z) (inward" in str(e.value)
    assert "[2024-06-03T01:00:00Z, 2024-06-03T03:00:00Z) (outward" in str(e.value)
    assert e.value.code == "TST_EINVAL" and e.value.table_root == table.root()
    assert table.version() == 3


def test_an_unknown_entity_names_the_nearest_known_ones(table):
    with pytest.raises(ttf.TimeseriesTableError, match=r"no rows of entity symbol=AA \(nearest "
                                                       r"it holds: symbol=A, symbol=B, symbol=C"):
        table.delete_rows(at(0), at(1), entities="AA")


def test_nothing_matching_is_a_no_op(table):
    report = table.delete_rows(at(10), at(12))
    assert report.no_op and report.rows_deleted == 0 and report.attempts == 0
    assert report.committed_version == report.starting_version == table.version() == 3


def test_a_stale_expected_version_is_a_conflict(table):
    with pytest.raises(ttf.ConflictError):
        table.delete_rows(at(0), at(1), expected_version=2)
    assert table.delete_rows(at(0), at(1), expected_version=3).committed_version == 4


def test_argument_errors(table):
    with pytest.raises(TypeError):
        table.delete_rows(at(0), at(1), entities=[3.5])
    with pytest.raises(ValueError):
        table.delete_rows(at(0), at(1), entities=[])
    with pytest.raises(TypeError):
        table.delete_rows(at(0), at(1), expected_version="3")
    with pytest.raises(ttf.TimeseriesTableError, match="start must be before end"):
        table.delete_rows(at(2), at(1))


def test_the_report_is_a_read_only_record(table):
    report = table.delete_rows(at(0), at(1), entities="B")
    assert pickle.loads(pickle.dumps(report)) == report
    assert "rows_deleted=1" in repr(report)
    with pytest.raises(AttributeError):
        report.rows_deleted = 3
    assert "DeleteReport" in ttf.__all__


def test_the_guide_python_example_runs(tmp_path, monkeypatch):
    guide = open(os.path.join(REPO, "docs", "guide", "corrections.md")).read()
    blocks = re.findall(r"```python\n(.*?)```", guide, re.S)
    assert len(blocks) == 1
    monkeypatch.chdir(tmp_path)
    exec(compile(blocks[0], "docs/guide/corrections.md", "exec"), {"__name__": "guide"})


def test_a_table_this_build_cannot_write_is_refused(table):
    import json
    import pathlib
    log = pathlib.Path(table.root()) / "_timeseries_log"
    for name in ("0000000001.json", "0000000002.json"):  # every TableMeta keeps the features
        commit = json.loads((log / name).read_text())
        commit["actions"][0]["UpdateTableMeta"]["required_writer_features"] = ["future_writer"]
        (log / name).write_text(json.dumps(commit))
    t = ttf.TimeSeriesTable.open(table.root())  # readable
    with pytest.raises(ttf.TimeseriesTableError, match="future_writer"):
        t.delete_rows(at(0), at(1))
    assert t.version() == 3 and len(rows(t)) == 18
