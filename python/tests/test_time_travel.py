"""Time travel from Python: TimeSeriesTable.open(version=, as_of=) and
Session.register_tstable(version=, as_of=), results read through pyarrow."""
import datetime as dt
import json
import os

import pyarrow as pa
import pyarrow.compute as pc
import pytest

import timeseries_table_format as ttf
from conftest import needs_session

UTC = dt.timezone.utc


def _bars(day, hours, symbol="A", base=0.0):
    ts = [dt.datetime(2024, 1, day, h, tzinfo=UTC) for h in hours]
    return pa.table({"ts": pa.array(ts, pa.timestamp("us", tz="UTC")),
                     "symbol": [symbol] * len(ts),
                     "close": [base + h for h in hours]})


def _commit_time(root, version):
    with open(os.path.join(root, "_timeseries_log", f"{version:010d}.json")) as f:
        text = json.load(f)["timestamp"]
    return dt.datetime.fromisoformat(text.replace("Z", "+00:00"))


@pytest.fixture
def history(tmp_path):
    """v1 create, v2 A day 1, v3 B day 1 (its own segment), v4 A day 2, v5 an
    update of A's first hour of day 2 (its segment is replaced)."""
    root = str(tmp_path / "bars")
    t = ttf.TimeSeriesTable.create(table_root=root, index_column="ts", index_granularity="1h",
                                   entity_columns=["symbol"])
    t.append(_bars(1, range(0, 4)))
    t.append(_bars(1, range(0, 2), symbol="B", base=100.0))
    t.append(_bars(2, range(0, 3)))
    t.update_rows(pa.table({"ts": pa.array([dt.datetime(2024, 1, 2, 0, tzinfo=UTC)],
                                           pa.timestamp("us", tz="UTC")),
                            "symbol": ["A"], "close": [99.0]}),
                  columns=["close"], expected_version=4)
    assert t.version() == 5
    return root


def _rows(table):
    return table.scan("2024-01-01T00:00:00Z", "2024-01-03T00:00:00Z").num_rows


def test_open_at_each_version_reads_that_version(history):
    expected = {1: (None, 0), 2: (4, 1), 3: (6, 2), 4: (9, 3), 5: (9, 3)}
    for version, (rows, segments) in expected.items():
        t = ttf.TimeSeriesTable.open(history, version=version)
        assert t.version() == version
        assert t.is_pinned()
        if rows is None:
            assert t.schema() is None and t.segments() == []
            continue
        assert _rows(t) == rows
        assert len(t.segments()) == segments
    # The update shows only at version 5.
    closes = {}
    for version in (4, 5):
        t = ttf.TimeSeriesTable.open(history, version=version)
        got = t.scan("2024-01-02T00:00:00Z", "2024-01-02T01:00:00Z", entity={"symbol": "A"})
        closes[version] = got.column("close").to_pylist()
    assert closes == {4: [0.0], 5: [99.0]}
    latest = ttf.TimeSeriesTable.open(history)
    assert latest.version() == 5 and not latest.is_pinned()


def test_coverage_answers_at_the_pinned_version(history):
    t2 = ttf.TimeSeriesTable.open(history, version=2)
    t4 = ttf.TimeSeriesTable.open(history, version=4)
    day = ("2024-01-01T00:00:00Z", "2024-01-03T00:00:00Z")
    assert t2.coverage_ratio(*day, entity={"symbol": "B"}) == 0.0
    assert t4.coverage_ratio(*day, entity={"symbol": "B"}) == pytest.approx(2 / 48)
    assert t2.coverage_ratio(*day, entity={"symbol": "A"}) == pytest.approx(4 / 48)
    assert t4.coverage_ratio(*day, entity={"symbol": "A"}) == pytest.approx(7 / 48)
    assert t2.version() == 2  # reads did not move it


def test_as_of_accepts_datetimes_dates_and_iso_text(history):
    at3 = _commit_time(history, 3)
    naive = at3.astimezone(UTC).replace(tzinfo=None)
    ny = at3.astimezone(dt.timezone(dt.timedelta(hours=-5)))
    for instant in (at3, naive, ny, at3.isoformat(), naive.isoformat(),
                    at3.strftime("%Y-%m-%dT%H:%M:%S.%fZ")):
        t = ttf.TimeSeriesTable.open(history, as_of=instant)
        # Exactly at commit 3's time (microseconds are the commit's own, or fewer
        # digits than it has: then the instant is just before it or at it).
        assert t.version() in (2, 3)
        assert t.is_pinned()
    later = at3 + dt.timedelta(microseconds=1)
    before4 = _commit_time(history, 4)
    if later < before4:
        assert ttf.TimeSeriesTable.open(history, as_of=later).version() == 3
    far = dt.date.today() + dt.timedelta(days=2)
    assert ttf.TimeSeriesTable.open(history, as_of=far).version() == 5


def test_clear_errors_for_versions_and_instants_that_do_not_exist(history):
    with pytest.raises(ValueError, match="not both"):
        ttf.TimeSeriesTable.open(history, version=2, as_of="2024-01-01")
    with pytest.raises(ttf.TimeseriesTableError, match="versions start at 1"):
        ttf.TimeSeriesTable.open(history, version=0)
    with pytest.raises(ttf.StorageError, match="its latest version is 5"):
        ttf.TimeSeriesTable.open(history, version=6)
    with pytest.raises(ttf.StorageError, match="it was created at"):
        ttf.TimeSeriesTable.open(history, as_of=dt.datetime(2000, 1, 1))
    with pytest.raises(ValueError, match="not an ISO 8601 instant"):
        ttf.TimeSeriesTable.open(history, as_of="last tuesday")
    with pytest.raises(TypeError):
        ttf.TimeSeriesTable.open(history, version="3")
    with pytest.raises(TypeError):
        ttf.TimeSeriesTable.open(history, as_of=12.5)


def test_writes_on_a_pinned_handle_raise_and_refresh_keeps_it(history):
    t = ttf.TimeSeriesTable.open(history, version=3)
    more = _bars(5, range(0, 2))
    message = "opened as of version 3; open the latest version to write"
    with pytest.raises(ttf.TimeseriesTableError, match=message):
        t.append(more)
    with pytest.raises(ttf.TimeseriesTableError, match=message):
        t.optimize()
    with pytest.raises(ttf.TimeseriesTableError, match=message):
        t.add_columns(pa.schema([pa.field("vwap", pa.float64())]))
    with pytest.raises(ttf.TimeseriesTableError, match=message):
        t.update_rows(_bars(1, [0]), columns=["close"], expected_version=3)
    assert t.refresh() is False
    assert t.version() == 3
    assert ttf.TimeSeriesTable.open(history).version() == 5


def test_a_vacuumed_version_raises_version_vacuumed_error(history):
    marker = os.path.join(history, "_timeseries_log", "_vacuumed.json")
    with open(marker, "w") as f:
        json.dump({"oldest_readable_version": 4, "vacuumed_at": "2026-12-01T00:00:00Z",
                   "retention_seconds": 86400}, f)
    with pytest.raises(ttf.VersionVacuumedError) as info:
        ttf.TimeSeriesTable.open(history, version=3)
    err = info.value
    assert isinstance(err, ttf.TimeseriesTableError)
    assert (err.version, err.oldest_readable_version) == (3, 4)
    assert err.code == "TST_EVACUUMED"
    assert "removed by vacuum on 2026-12-01T00:00:00Z (retention 1d)" in str(err)
    assert ttf.TimeSeriesTable.open(history, version=4).version() == 4


@needs_session
def test_sessions_register_a_version_and_name_versions_in_sql(history):
    s = ttf.Session()
    s.register_tstable("old", history, version=3)
    s.register_tstable("bars", history)
    assert s.sql("SELECT count(*) AS n FROM old").column("n").to_pylist() == [6]
    assert s.sql("SELECT count(*) AS n FROM bars").column("n").to_pylist() == [9]
    diff = s.sql('SELECT (SELECT sum(close) FROM bars) - (SELECT sum(close) FROM "bars@v4") '
                 'AS d').column("d").to_pylist()
    assert diff == [99.0]
    # Just before commit 3 (datetimes hold microseconds; commits nanoseconds).
    s.register_tstable("back_then", history,
                       as_of=_commit_time(history, 3) - dt.timedelta(microseconds=1))
    assert s.sql("SELECT count(*) AS n FROM back_then").column("n").to_pylist() == [4]
    with pytest.raises(ValueError, match="not both"):
        s.register_tstable("x", history, version=1, as_of="2024-01-01")
    with pytest.raises(ttf.StorageError, match="latest version is 5"):
        s.register_tstable("x", history, version=9)
    # Results are pyarrow: a polars/pandas consumer takes them as they are.
    out = s.sql('SELECT symbol, count(*) AS n FROM "bars@v3" GROUP BY symbol ORDER BY symbol')
    assert isinstance(out, pa.Table)
    assert out.to_pydict() == {"symbol": ["A", "B"], "n": [4, 2]}
    assert pc.sum(out.column("n")).as_py() == 6


@needs_session
def test_the_guide_python_example_runs(tmp_path, monkeypatch):
    import re
    from conftest import REPO
    guide = open(os.path.join(REPO, "docs", "guide", "time-travel.md")).read()
    for name, text in zip(["monday.csv", "tuesday.csv"], re.findall(r"```csv\n(.*?)```", guide,
                                                                     re.S)):
        (tmp_path / name).write_text(text)
    blocks = re.findall(r"```python\n(.*?)```", guide, re.S)
    assert len(blocks) == 1
    monkeypatch.chdir(tmp_path)
    namespace = {"__name__": "guide"}
    exec(compile(blocks[0], "docs/guide/time-travel.md", "exec"), namespace)
    assert namespace["added"].num_rows == 3
    assert ttf.TimeSeriesTable.open(str(tmp_path / "bars_py")).version() == 3
