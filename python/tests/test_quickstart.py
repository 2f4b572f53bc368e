"""The quickstart example runs end to end, and its second table can also be
derived from a Session result appended as an Arrow stream."""
import os
import shutil
import subprocess
import sys

import pytest

import timeseries_table_format as ttf
from conftest import NVDA_CSV, PYTHON_DIR, needs_session

QUICKSTART = os.path.join(PYTHON_DIR, "examples", "quickstart.py")


@needs_session
def test_quickstart_runs_and_joins_both_tables(tmp_path):
    out = subprocess.run([sys.executable, QUICKSTART, str(tmp_path)], capture_output=True,
                         text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert "prices version 2" in out.stdout and "volume version 2" in out.stdout
    assert "joined rows: 10" in out.stdout and "<class 'pyarrow.lib.Table'>" in out.stdout
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


def copy_sources(src_python_dir, dest):
    """Copies python/timeseries_table_format's sources (no extension) to dest."""
    shutil.copytree(os.path.join(src_python_dir, "timeseries_table_format"),
                    os.path.join(dest, "timeseries_table_format"),
                    ignore=shutil.ignore_patterns("__pycache__", "*.so", "*.pyd"))


def make_checkout(tmp_path):
    """A checkout's python/examples/quickstart.py, its sample CSV and the
    package's sources (which cannot be imported: they have no _native)."""
    checkout = tmp_path / "checkout"
    os.makedirs(checkout / "python" / "examples")
    os.makedirs(checkout / "examples" / "data")
    shutil.copy(QUICKSTART, checkout / "python" / "examples")
    shutil.copy(NVDA_CSV, checkout / "examples" / "data")
    copy_sources(PYTHON_DIR, checkout / "python")
    return checkout


@needs_session
def test_finding_32_quickstart_runs_from_a_checkout_against_the_installed_package(tmp_path):
    # The checkout's sources beside the example never shadow the installed
    # package, whatever the working folder.
    checkout = make_checkout(tmp_path)
    code = ("import runpy, sys; sys.argv = [sys.argv[0], sys.argv[1]]; "
            f"runpy.run_path({str(checkout / 'python' / 'examples' / 'quickstart.py')!r}, "
            "run_name='__main__'); "
            "import timeseries_table_format as t; print('from', t.__file__)")
    for cwd in (tmp_path, checkout):
        out = subprocess.run([sys.executable, "-c", code, str(tmp_path / "work" / cwd.name)],
                             capture_output=True, text=True, timeout=120, cwd=str(cwd))
        assert out.returncode == 0, out.stderr
        assert "NVDA 2024-06-01  low   114.30  high   118.44  volume 203759" in out.stdout
        assert f"from {ttf.__file__}" in out.stdout


@needs_session
def test_finding_32_quickstart_runs_against_a_pip_installed_package(tmp_path):
    # The real thing: pip builds python/ through CMake (scikit-build-core, no
    # build isolation: the project's venv has the pinned backend) into a site
    # folder; the example of a checkout imports it from there.
    pytest.importorskip("scikit_build_core",
                        reason="the build backend is in the project's venv (scripts/deps.sh), "
                               "not in a venv holding only the wheel")
    site = tmp_path / "site"
    pip = subprocess.run([sys.executable, "-m", "pip", "install", "-q", "--no-build-isolation",
                          "--no-deps", "--no-index", "--target", str(site), PYTHON_DIR],
                         capture_output=True, text=True, timeout=600)
    assert pip.returncode == 0, pip.stderr
    checkout = make_checkout(tmp_path)
    code = ("import runpy, sys; sys.argv = [sys.argv[0], sys.argv[1]]; "
            f"runpy.run_path({str(checkout / 'python' / 'examples' / 'quickstart.py')!r}, "
            "run_name='__main__'); "
            "import timeseries_table_format as t; print('from', t.__file__)")
    out = subprocess.run([sys.executable, "-c", code, str(tmp_path / "work")],
                         capture_output=True, text=True, timeout=120,
                         env=dict(os.environ, PYTHONPATH=str(site)), cwd=str(tmp_path))
    assert out.returncode == 0, out.stderr
    assert "NVDA 2024-06-01  low   114.30  high   118.44  volume 203759" in out.stdout
    assert f"from {site / 'timeseries_table_format' / '__init__.py'}" in out.stdout
