"""Time travel next to the real reference 0.9.0: the vacuum marker
(_timeseries_log/_vacuumed.json) is invisible to it, and versions it commits
are versions our time travel opens like our own."""

import datetime as dt
import json

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from compat_support import our_package

import reference09
from reference09 import ok, pytestmark  # noqa: F401 (pytestmark is used by pytest)


def rows(day, symbol):
    ts = [dt.datetime(2024, 1, day, h, tzinfo=dt.timezone.utc) for h in range(3)]
    return pa.table({"ts": pa.array(ts, pa.timestamp("us", tz="UTC")), "symbol": [symbol] * 3,
                     "v": [float(h) for h in range(3)]})


def test_the_reference_ignores_the_marker_and_its_commits_travel_like_ours(tmp_path):
    ttf = our_package()
    root = tmp_path / "t"
    t = ttf.TimeSeriesTable.create(table_root=str(root), index_column="ts",
                                   index_granularity="1h", entity_columns=["symbol"])
    t.append(rows(1, "A"))                                    # v2, ours
    pq.write_table(rows(2, "B"), tmp_path / "b.parquet")
    assert ok(reference09.ref({"op": "append", "root": root,
                               "path": tmp_path / "b.parquet"})[0]) == 3  # v3, theirs
    marker = {"oldest_readable_version": 2, "vacuumed_at": "2026-12-01T00:00:00Z",
              "retention_seconds": 3600}
    (root / "_timeseries_log" / "_vacuumed.json").write_text(json.dumps(marker))
    got = reference09.ref({"op": "version", "root": root},
                          {"op": "sql", "root": root, "sql": "SELECT count(*) AS n FROM t"})
    assert ok(got[0]) == 3
    assert ok(got[1]) == [[6]]
    # Ours: version 3 (the reference's commit) and 2 open; 1 is vacuumed.
    assert ttf.TimeSeriesTable.open(str(root), version=3).scan(
        "2024-01-01", "2024-01-03").num_rows == 6
    assert ttf.TimeSeriesTable.open(str(root), version=2).scan(
        "2024-01-01", "2024-01-03").num_rows == 3
    with pytest.raises(ttf.VersionVacuumedError):
        ttf.TimeSeriesTable.open(str(root), version=1)
