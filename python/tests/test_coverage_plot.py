"""TimeSeriesTable.coverage_plot / coverage_figure: the SVG (parsed with
xml.etree), the entity filter in its three spellings, integer indexes,
the matplotlib figure against the SVG's raster, the ImportError without
matplotlib, and the guide's Python example (docs/guide/coverage-plot.md)."""
import datetime as dt
import os
import re
import sys
import xml.etree.ElementTree as ET

import numpy as np
import pyarrow as pa
import pytest

import timeseries_table_format as ttf

SVG = "{http://www.w3.org/2000/svg}"
UTC = dt.timezone.utc
T0 = dt.datetime(2024, 6, 1, tzinfo=UTC)


def make(tmp_path, entities=("a", "b", "c"), hours=24, skip=lambda e, h: False):
    t = ttf.TimeSeriesTable.create(table_root=str(tmp_path / "t"), index_column="ts",
                                   bucket="1h", entity_columns=["sensor"])
    ts, names = [], []
    for i, e in enumerate(entities):
        for h in range(hours):
            if not skip(i, h):
                ts.append(T0 + dt.timedelta(hours=h))
                names.append(e)
    t.append(pa.table({"ts": pa.array(ts, pa.timestamp("us", tz="UTC")), "sensor": names,
                       "v": pa.array([1] * len(ts), pa.int64())}))
    return t


def rows(svg):
    return ET.fromstring(svg).findall(f".//{SVG}g[@class='row']")


def names(svg):
    return [t.text for t in ET.fromstring(svg).iter(SVG + "text") if t.get("class") == "name"]


def test_the_svg_is_returned_and_written(tmp_path):
    t = make(tmp_path)
    svg = t.coverage_plot(str(tmp_path / "c.svg"))
    assert (tmp_path / "c.svg").read_text() == svg
    assert len(rows(svg)) == 3 and names(svg) == ["a", "b", "c"]


def test_entities_filter_as_values_dicts_and_lists(tmp_path):
    t = make(tmp_path)
    assert names(t.coverage_plot(entities=["b"])) == ["b"]
    assert names(t.coverage_plot(entities={"sensor": ["a", "c"]})) == ["a", "c"]
    assert names(t.coverage_plot(entities=[{"sensor": "c"}])) == ["c"]
    with pytest.raises(ttf.TimeseriesTableError, match="no entity"):
        t.coverage_plot(entities=["zz"])
    with pytest.raises(ttf.TimeseriesTableError, match="not an entity column"):
        t.coverage_plot(entities={"nope": "a"})


def test_the_figure_carries_the_exact_fractions(tmp_path):
    pytest.importorskip("matplotlib")
    # sensor 1 misses hours 6..11: in 4-hour columns, 6..7 and 8..11 are gaps
    t = make(tmp_path, skip=lambda e, h: e == 1 and 6 <= h < 12)
    fig = t.coverage_figure(start=T0, end=T0 + dt.timedelta(hours=24))
    r = fig.raster
    assert (r["rows"], r["cols"]) == (3, 24)
    grid = np.frombuffer(r["fractions"], dtype=np.float64).reshape(3, 24)
    assert grid[0].tolist() == [1.0] * 24
    assert grid[1].tolist() == [1.0] * 6 + [0.0] * 6 + [1.0] * 12
    assert r["names"] == ["a", "b", "c"] and r["row_first"] == [0, 1, 2, 3]
    assert r["start"] == T0 and r["end"] == T0 + dt.timedelta(hours=24)


def test_a_range_wider_than_the_data_shows_gaps_at_both_ends(tmp_path):
    t = make(tmp_path, entities=("a",), hours=4)
    svg = t.coverage_plot(start=T0 - dt.timedelta(hours=2), end=T0 + dt.timedelta(hours=6))
    (row,) = rows(svg)
    assert [r.get("class") for r in row] == ["c3", "c11", "c3"]


def test_an_integer_index_gets_integer_ticks(tmp_path):
    t = ttf.TimeSeriesTable.create(table_root=str(tmp_path / "i"), index_column="seq",
                                   index_type="int64", bucket_width=10,
                                   entity_columns=["dev"])
    t.append(pa.table({"seq": pa.array(list(range(0, 500, 10)) + list(range(700, 1000, 10)),
                                       pa.int64()),
                       "dev": ["x"] * 80, "v": pa.array([0] * 80, pa.int64())}))
    svg = t.coverage_plot()
    ticks = [e.text for e in ET.fromstring(svg).iter(SVG + "text") if e.get("class") == "tick"]
    assert ticks and all(re.fullmatch(r"\d+", x) for x in ticks)
    assert "0" in ticks and int(ticks[-1]) <= 1000
    assert any(r.get("class") == "c3" for r in rows(svg)[0])  # 500..700 is a gap


def test_coverage_figure_without_matplotlib_says_what_to_install(tmp_path, monkeypatch):
    t = make(tmp_path)
    monkeypatch.setitem(sys.modules, "matplotlib", None)
    monkeypatch.setitem(sys.modules, "matplotlib.figure", None)
    with pytest.raises(ImportError, match="needs matplotlib"):
        t.coverage_figure()
    assert t.coverage_plot().startswith("<?xml")  # the SVG needs nothing


def test_the_guide_python_example_runs(tmp_path, monkeypatch):
    pytest.importorskip("matplotlib")  # the guide's example draws a figure too
    from conftest import REPO
    guide = open(os.path.join(REPO, "docs", "guide", "coverage-plot.md")).read()
    blocks = re.findall(r"```python\n(.*?)```", guide, re.S)
    assert len(blocks) == 1
    monkeypatch.chdir(tmp_path)
    exec(compile(blocks[0], "docs/guide/coverage-plot.md", "exec"), {"__name__": "guide"})
    assert (tmp_path / "sensors.svg").exists() and (tmp_path / "sensors.png").exists()


def test_one_bound_takes_the_other_from_the_covered_extent(tmp_path):
    pytest.importorskip("matplotlib")
    t = make(tmp_path, entities=("a",), hours=10)
    r = t.coverage_figure(start=T0 + dt.timedelta(hours=4)).raster
    assert (r["start"], r["end"], r["cols"]) == (T0 + dt.timedelta(hours=4),
                                                 T0 + dt.timedelta(hours=10), 6)
    r = t.coverage_figure(end=T0 + dt.timedelta(hours=3)).raster
    assert (r["start"], r["end"]) == (T0, T0 + dt.timedelta(hours=3))
    with pytest.raises(ttf.TimeseriesTableError, match="give both"):
        t.coverage_plot(start=T0 + dt.timedelta(days=3))
    with pytest.raises(ttf.TimeseriesTableError):
        t.coverage_plot(start=T0 + dt.timedelta(hours=3), end=T0)


@pytest.mark.parametrize("empty", [[], {}, {"symbol": []}])
def test_an_empty_entity_filter_is_refused_as_elsewhere(tmp_path, empty):
    t = ttf.TimeSeriesTable.create(table_root=str(tmp_path / "t"), index_column="ts",
                                   index_granularity="1h", entity_columns=["symbol"])
    t.append(pa.table({"ts": pa.array([dt.datetime(2024, 1, 1, tzinfo=dt.timezone.utc)],
                                      pa.timestamp("us", tz="UTC")), "symbol": ["A"]}))
    with pytest.raises(ValueError, match="entities is empty"):
        t.coverage_plot(entities=empty)


def test_a_calendar_greys_closed_time_in_the_svg_and_the_figure(tmp_path):
    """Weekdays only: the weekend's columns are closed (NaN in the raster,
    grey in the pictures), not gaps (orange); the weekdays are covered."""
    t = ttf.TimeSeriesTable.create(table_root=str(tmp_path / "t"), index_column="ts",
                                   index_granularity="1h", entity_columns=["symbol"])
    monday = dt.datetime(2024, 1, 1, tzinfo=dt.timezone.utc)
    hours = [monday + dt.timedelta(hours=h) for h in range(7 * 24)
             if (monday + dt.timedelta(hours=h)).weekday() < 5]
    t.append(pa.table({"ts": pa.array(hours, pa.timestamp("us", tz="UTC")),
                       "symbol": ["A"] * len(hours)}))
    week = dict(start=monday, end=monday + dt.timedelta(days=7), width=7 * 24 + 200)
    plain = t.coverage_plot(**week)
    weekdays = t.coverage_plot(**week, calendar="weekdays")
    assert ">closed</text>" in weekdays and "#e4e4e4" in weekdays
    assert ">closed</text>" not in plain
    pytest.importorskip("matplotlib")
    plain_grid = np.frombuffer(t.coverage_figure(**week).raster["fractions"], dtype=np.float64)
    assert (plain_grid == 0.0).sum() > 0  # without a calendar the weekend is a gap
    fig = t.coverage_figure(**week, calendar={"days": ["mon", "tue", "wed", "thu", "fri"]})
    grid = np.frombuffer(fig.raster["fractions"], dtype=np.float64)
    assert np.isnan(grid).sum() == (plain_grid == 0.0).sum() and np.nanmin(grid) == 1.0
