"""The quickstart example runs end to end, and its second table can also be
derived from a Session result appended as an Arrow stream."""
import os
import shutil
import subprocess
import sys

import timeseries_table_format as ttf
from conftest import NVDA_CSV, PYTHON_DIR, needs_session

QUICKSTART = os.path.join(PYTHON_DIR, "examples", "quickstart.py")


@needs_session
def test_quickstart_runs_and_joins_both_tables(tmp_path):
    out = subprocess.run([sys.executable, QUICKSTART, str(tmp_path)], capture_output=True,
                         text=True, timeout=120,
                         env=dict(os.environ, PYTHONPATH=installed_package_dir()))
    assert out.returncode == 0, out.stderr
    assert "prices version 2" in out.stdout and "volume version 2" in out.stdout
    assert "joined rows: 10" in out.stdout
    assert "NVDA 2024-06-01  low   114.30  high   118.44  volume 203759" in out.stdout


@needs_session
def test_second_table_from_an_appended_session_result(tmp_path):
    prices = ttf.TimeSeriesTable.create(table_root=str(tmp_path / "prices"), index_column="ts",
                                        index_type="timestamp", bucket="1h",
                                        entity_columns=["symbol"])
    prices.append_csv(NVDA_CSV)
    s = ttf.Session()
    s.register_tstable("prices", prices.root())
    daily = s.sql("SELECT time_bucket(INTERVAL 1 DAY, ts) AS day, symbol, "
                  "sum(volume) AS volume FROM prices GROUP BY ALL")
    volume = ttf.TimeSeriesTable.create(table_root=str(tmp_path / "volume"),
                                        index_column="day", index_type="timestamp",
                                        bucket="1d", entity_columns=["symbol"])
    assert volume.append(daily) == 2
    assert volume.coverage_ratio("2024-06-01", "2024-06-11", {"symbol": "NVDA"}) == 1.0
    s.register_tstable("volume", volume.root())
    joined = s.sql("SELECT count(*) AS n, sum(v.volume) AS total FROM volume v JOIN prices p "
                   "ON p.symbol = v.symbol AND p.ts >= v.day AND p.ts < v.day + INTERVAL 1 DAY")
    total = s.sql("SELECT sum(volume) AS t FROM prices").to_pylist()[0]["t"]
    assert joined.to_pylist()[0]["n"] == 240
    assert volume.scan("2024-06-01", "2024-06-11").to_pydict()["volume"] is not None
    assert sum(volume.scan("2024-06-01", "2024-06-11").column("volume").to_pylist()) == total


def installed_package_dir():
    """The folder that holds the timeseries_table_format this test imported."""
    return os.path.dirname(os.path.dirname(os.path.abspath(ttf.__file__)))


@needs_session
def test_finding_32_quickstart_runs_from_a_checkout_against_the_installed_package(tmp_path):
    # A checkout's example, run from elsewhere: it imports the installed
    # package, never the checkout's sources (which have no extension).
    checkout = tmp_path / "checkout"
    os.makedirs(checkout / "python" / "examples")
    os.makedirs(checkout / "examples" / "data")
    shutil.copy(QUICKSTART, checkout / "python" / "examples")
    shutil.copy(NVDA_CSV, checkout / "examples" / "data")
    shutil.copytree(os.path.join(PYTHON_DIR, "timeseries_table_format"),
                    checkout / "python" / "timeseries_table_format",
                    ignore=shutil.ignore_patterns("__pycache__", "*.so"))
    env = dict(os.environ, PYTHONPATH=installed_package_dir())
    out = subprocess.run([sys.executable, str(checkout / "python" / "examples" / "quickstart.py"),
                          str(tmp_path / "work")], capture_output=True, text=True, timeout=120,
                         env=env, cwd=str(tmp_path))
    assert out.returncode == 0, out.stderr
    assert "<class 'pyarrow.lib.Table'>" in out.stdout
    assert "joined rows: 10" in out.stdout
    assert "NVDA 2024-06-01  low   114.30  high   118.44  volume 203759" in out.stdout
