"""TimeSeriesTable.vacuum(): the reference 0.9.0's signature and report
(vacuum(older_than, *, apply=False) -> VacuumReport, retaining every commit's
files), and tstable's extension expire_history=True, which also removes the
files of versions older than the one current at older_than."""
import os
import pickle
import subprocess
import sys
import textwrap
from datetime import datetime, timedelta, timezone

import pyarrow as pa
import pytest

import timeseries_table_format as ttf

ORPHAN = "data/_managed/append/00000000-0000-4000-8000-0000000000aa.parquet"


def day(d, symbols=("NVDA", "AAPL")):
    ts = [datetime(2024, 6, d, h, tzinfo=timezone.utc) for h in range(3) for _ in symbols]
    sym = [s for _ in range(3) for s in symbols]
    return pa.table({"ts": pa.array(ts, pa.timestamp("us", "UTC")), "symbol": sym,
                     "close": [float(i) for i in range(len(ts))]})


def daily(tmp_path, days, name="t"):
    t = ttf.TimeSeriesTable.create(table_root=str(tmp_path / name), index_column="ts",
                                   index_granularity="1h", entity_columns=["symbol"])
    for d in range(1, days + 1):
        t.append(day(d))
    return t


def plant(t, rel, age_days=30):
    path = os.path.join(t.root(), rel)
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "wb") as f:
        f.write(b"leftover")
    then = datetime.now().timestamp() - age_days * 86400
    os.utime(path, (then, then))
    return path


def snapshots(t):
    return sorted(os.listdir(os.path.join(t.root(), "_coverage", "table")))


def now():
    return datetime.now(timezone.utc)


def test_the_reference_vacuum_keeps_every_commits_files_and_removes_orphans(tmp_path):
    t = daily(tmp_path, 3)
    orphan = plant(t, ORPHAN)
    dry = t.vacuum(now() - timedelta(days=1))
    assert isinstance(dry, ttf.VacuumReport)
    assert dry.mode == "dry_run" and dry.removable_files == 1
    assert [a.path for a in dry.artifacts if a.disposition == "removable"] == [ORPHAN]
    assert os.path.exists(orphan)
    applied = t.vacuum(now() - timedelta(days=1), apply=True)
    assert applied.deleted_files == 1 and not os.path.exists(orphan)
    assert len(snapshots(t)) == 3  # history is not expired
    assert applied.oldest_retained_version == 1
    needed = [a for a in applied.artifacts if a.reason == "referenced_by_commit"]
    assert needed and all(isinstance(a.referenced_by_commit_version, int) for a in needed)


def test_expire_history_keeps_one_snapshot_and_the_table_works(tmp_path):
    t = daily(tmp_path, 4)
    report = t.vacuum(now(), apply=True, expire_history=True, allow_short_retention=True)
    assert report.oldest_retained_version == t.version() == 5
    assert report.deleted_files == 3
    assert len(snapshots(t)) == 1
    again = ttf.TimeSeriesTable.open(t.root())
    assert again.coverage_ratio(datetime(2024, 6, 1, tzinfo=timezone.utc),
                                datetime(2024, 6, 2, tzinfo=timezone.utc),
                                entity={"symbol": "NVDA"}) == pytest.approx(3 / 24)
    again.append(day(5))
    assert again.version() == 6


def test_expire_history_refuses_a_short_retention_without_the_override(tmp_path):
    t = daily(tmp_path, 2)
    with pytest.raises(ttf.TimeseriesTableError, match="safe minimum"):
        t.vacuum(now() - timedelta(minutes=5), expire_history=True)
    assert len(snapshots(t)) == 2


def test_the_cutoff_must_be_aware_and_past(tmp_path):
    t = daily(tmp_path, 1)
    with pytest.raises(TypeError, match="timezone-aware"):
        t.vacuum(datetime.now())
    with pytest.raises(TypeError, match="timezone-aware"):
        t.vacuum("2024-01-01")
    with pytest.raises(ValueError, match="future"):
        t.vacuum(now() + timedelta(minutes=1))


def test_reports_are_read_only_records(tmp_path):
    t = daily(tmp_path, 1)
    plant(t, ORPHAN)
    r = t.vacuum(now() - timedelta(days=1))
    with pytest.raises(AttributeError):
        r.mode = "apply"
    assert pickle.loads(pickle.dumps(r)) == r
    a = r.artifacts[0]
    assert isinstance(a, ttf.VacuumArtifact)
    assert a.modified_at.tzinfo == timezone.utc
    assert r.to_dict()["considered_files"] == len(r.artifacts)


def test_a_failed_deletion_raises_vacuum_apply_error_with_the_partial_report(tmp_path):
    t = daily(tmp_path, 1)
    for i in range(3):
        plant(t, f"data/_managed/append/00000000-0000-4000-8000-00000000000{i}.parquet")
    # Steps 1-5 publish the marker (create, write, fsync, rename, fsync of the folder);
    # step 6 deletes the first orphan; step 7, the second deletion, fails.
    script = textwrap.dedent(f"""
        import sys
        from datetime import datetime, timedelta, timezone
        import timeseries_table_format as ttf
        t = ttf.TimeSeriesTable.open({t.root()!r})
        try:
            t.vacuum(datetime.now(timezone.utc) - timedelta(days=1), apply=True)
        except ttf.VacuumApplyError as e:
            p = e.partial_report
            print(p.mode, p.deleted_files, p.removable_files, isinstance(e, ttf.StorageError))
            sys.exit(0)
        sys.exit(5)
    """)
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                         env=dict(os.environ, TST_IO_FAIL_AT="7"))
    assert out.returncode == 0, out.stderr
    assert out.stdout.split() == ["apply", "1", "2", "True"]
    left = os.listdir(os.path.join(t.root(), "data", "_managed", "append"))
    assert sum(name.startswith("00000000-") for name in left) == 2


def test_the_guide_python_example_runs(tmp_path, monkeypatch):
    import re
    from conftest import REPO
    guide = open(os.path.join(REPO, "docs", "guide", "vacuum.md")).read()
    blocks = re.findall(r"```python\n(.*?)```", guide, re.S)
    assert len(blocks) == 1
    monkeypatch.chdir(tmp_path)
    exec(compile(blocks[0], "docs/guide/vacuum.md", "exec"), {"__name__": "guide"})
