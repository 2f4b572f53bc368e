"""The installed package is the one under test, it brings its own DuckDB, and
it shares a process with the PyPI `duckdb` package (a second DuckDB engine)
without either binding to the other's symbols.

Runs against whatever is installed: pip install ./python (libduckdb.so beside
_native) or the repaired wheel (timeseries_table_format.libs/libduckdb-<hash>.so).
"""
import functools
import glob
import json
import os
import shutil
import subprocess
import sys
import textwrap

import pytest

import timeseries_table_format as ttf
from conftest import PYTHON_DIR

PACKAGE_DIR = os.path.dirname(os.path.realpath(ttf.__file__))
# Where the package's own libduckdb may be: beside _native, or grafted by auditwheel.
OWN_LIB_DIRS = (PACKAGE_DIR, PACKAGE_DIR + ".libs")

# Imports both packages in the order given (argv[1]), uses both, and prints
# what the process mapped: every libduckdb* file and PyPI duckdb's module.
USE_BOTH = textwrap.dedent("""
    import json, os, sys
    import datetime as dt
    import importlib
    mods = {name: importlib.import_module(name) for name in sys.argv[1].split(",")}
    duckdb, ttf = mods["duckdb"], mods["timeseries_table_format"]
    import pyarrow as pa, pyarrow.parquet as pq

    work = sys.argv[2]
    ts = pa.array([dt.datetime(2024, 6, 3, h, tzinfo=dt.timezone.utc) for h in (14, 15)],
                  pa.timestamp("us", tz="UTC"))
    pq.write_table(pa.table({"ts": ts, "symbol": ["AAPL", "AAPL"], "close": [189.5, 190.25]}),
                   os.path.join(work, "p.parquet"))
    t = ttf.TimeSeriesTable.create(table_root=os.path.join(work, "prices"), index_column="ts",
                                   index_type="timestamp", bucket="1h", entity_columns=["symbol"])
    t.append_parquet(os.path.join(work, "p.parquet"))
    s = ttf.Session()
    s.register_tstable("prices", t.root())
    ours = pa.table(s.sql("SELECT symbol, sum(close) AS total FROM prices GROUP BY symbol"))
    # PyPI duckdb reads our result (an Arrow table) and its own query.
    theirs = duckdb.sql("SELECT symbol, total * 2 AS twice FROM ours").fetchall()
    plain = duckdb.sql("SELECT 42").fetchall()
    # And ours still works after the other engine ran.
    again = pa.table(s.sql("SELECT count(*) AS n FROM prices")).to_pylist()

    with open("/proc/self/maps") as f:
        mapped = sorted({line.split()[-1] for line in f if line.rstrip().endswith(".so")
                         or ".so." in line})
    print(json.dumps({"ours": ours.to_pylist(), "theirs": theirs, "plain": plain,
                      "again": again, "duckdb_version": duckdb.__version__,
                      "ttf_file": ttf.__file__, "duckdb_file": duckdb.__file__,
                      "mapped": mapped}))
""")

ORDERS = ["duckdb,timeseries_table_format", "timeseries_table_format,duckdb"]


def run_both(tmp_path, order, env=None):
    """Runs USE_BOTH in a fresh interpreter from tmp_path; returns its JSON."""
    out = subprocess.run([sys.executable, "-c", USE_BOTH, order, str(tmp_path)],
                         capture_output=True, text=True, timeout=120, cwd=str(tmp_path),
                         env=env)
    assert out.returncode == 0, f"{order}: exit {out.returncode}\n{out.stderr}"
    return json.loads(out.stdout.splitlines()[-1])


def libduckdb_files(mapped):
    return [p for p in mapped if os.path.basename(p).startswith("libduckdb")]


def test_the_installed_package_is_imported_not_the_source_folder():
    source_package = os.path.realpath(os.path.join(PYTHON_DIR, "timeseries_table_format"))
    assert not PACKAGE_DIR.startswith(source_package + os.sep) and PACKAGE_DIR != source_package, (
        f"{ttf.__file__} is the source folder: install the package (pip install ./python)")
    assert glob.glob(os.path.join(PACKAGE_DIR, "_native*.so"))


@pytest.mark.parametrize("order", ORDERS)
def test_pypi_duckdb_and_ttf_in_one_process_in_both_orders(tmp_path, order):
    pytest.importorskip("duckdb")
    got = run_both(tmp_path, order)
    assert got["ours"] == [{"symbol": "AAPL", "total": 379.75}]
    assert got["theirs"] == [["AAPL", 759.5]]
    assert got["plain"] == [[42]]
    assert got["again"] == [{"n": 2}]
    # Two engines: the package's libduckdb and PyPI duckdb's own module.
    ours = libduckdb_files(got["mapped"])
    assert len(ours) == 1, ours
    assert os.path.dirname(os.path.realpath(ours[0])) in OWN_LIB_DIRS, ours
    assert any(os.path.basename(p).startswith("_duckdb") for p in got["mapped"]), got["mapped"]


def test_the_package_libduckdb_is_the_one_loaded(tmp_path):
    # Even with another libduckdb.so first on the library path: _native's
    # RPATH names its own.
    decoy = tmp_path / "decoy"
    decoy.mkdir()
    (decoy / "libduckdb.so").write_bytes(b"not a library")
    env = dict(os.environ, LD_LIBRARY_PATH=str(decoy))
    code = textwrap.dedent("""
        import timeseries_table_format as ttf
        ttf.Session().sql("SELECT 1")
        with open("/proc/self/maps") as f:
            print("\\n".join(sorted({l.split()[-1] for l in f if "libduckdb" in l})))
    """)
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         timeout=120, cwd=str(tmp_path), env=env)
    assert out.returncode == 0, out.stderr
    loaded = out.stdout.split()
    assert len(loaded) == 1, loaded
    assert os.path.dirname(os.path.realpath(loaded[0])) in OWN_LIB_DIRS, (loaded, OWN_LIB_DIRS)


def dynamic_symbols(path, kinds):
    """The defined dynamic symbols of an ELF file whose nm type is in kinds."""
    out = subprocess.run(["nm", "-D", "--defined-only", path], capture_output=True, text=True,
                         check=True).stdout
    return {f[2] for f in (line.split() for line in out.splitlines())
            if len(f) == 3 and f[1] in kinds}


needs_nm = pytest.mark.skipif(shutil.which("nm") is None, reason="nm (binutils) is not installed")


@needs_nm
def test_native_exports_its_init_function_alone():
    (native,) = glob.glob(os.path.join(PACKAGE_DIR, "_native*.so"))
    assert dynamic_symbols(native, set("ABCDGRSTUVWiuvw")) == {"PyInit__native"}


@needs_nm
@pytest.mark.parametrize("order", ORDERS)
def test_no_symbol_of_one_duckdb_binds_to_the_other(tmp_path, order):
    # The dynamic linker's own record of every binding it made (LD_DEBUG).
    # Neither engine may bind to a symbol of the other, nor _native to PyPI
    # duckdb's: each resolves within its own copy. The only exceptions the
    # linker makes process-wide by design are STB_GNU_UNIQUE symbols (nm
    # type u): the constant tables both copies carry (digit tables, powers
    # of ten) and which are identical.
    pytest.importorskip("duckdb")
    logs = tmp_path / "ld"
    logs.mkdir()
    env = dict(os.environ, LD_DEBUG="bindings", LD_DEBUG_OUTPUT=str(logs / "ld"))
    got = run_both(tmp_path, order, env=env)
    (ours,) = libduckdb_files(got["mapped"])
    (theirs,) = [p for p in got["mapped"] if os.path.basename(p).startswith("_duckdb")]
    unique = dynamic_symbols(ours, {"u"}) & dynamic_symbols(theirs, {"u"})
    mine = {os.path.realpath(ours)} | {os.path.realpath(p) for p in got["mapped"]
                                       if os.path.basename(p).startswith("_native")}
    theirs = os.path.realpath(theirs)
    crossings, seen = [], 0
    real = functools.lru_cache(maxsize=None)(os.path.realpath)
    for log in logs.iterdir():
        with open(log, errors="replace") as f:
            for line in f:
                fields = line.split()
                if len(fields) < 11 or fields[1] != "binding":
                    continue
                seen += 1
                if "duckdb" not in line and "_native" not in line:
                    continue
                src, dst = real(fields[3]), real(fields[6])
                if (src in mine and dst == theirs) or (src == theirs and dst in mine):
                    crossings.append((os.path.basename(src), os.path.basename(dst),
                                      fields[10].strip("`'")))
    assert seen > 1000, "LD_DEBUG recorded no bindings"
    bad = [c for c in crossings if c[2] not in unique or c[0].startswith("_native")]
    assert bad == [], bad[:20]
