"""Builds timeseries_table_format._native against the static libtstable.

Where things are found (all overridable):
  TSTABLE_BUILD_DIR   folder holding libtstable.a      (default <repo>/build)
  TSTABLE_DUCKDB_DIR  DuckDB with include/ and lib/    (else DUCKDB_DIR, else <repo>/.deps/duckdb)

The extension links libtstable.a plus json-c, roaring, duckdb and pthreads,
and carries an rpath to DuckDB's lib folder so no LD_LIBRARY_PATH is needed.
The SQL session (tst_session_*) is compiled in only when the archive
defines it, so the package builds while src/sql is still being written.
"""
import os
import shutil
import subprocess
from glob import glob

from setuptools import Extension, setup

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(HERE)
BUILD_DIR = os.environ.get("TSTABLE_BUILD_DIR", os.path.join(REPO, "build"))
DUCKDB_DIR = (os.environ.get("TSTABLE_DUCKDB_DIR") or os.environ.get("DUCKDB_DIR")
              or os.path.join(REPO, ".deps", "duckdb"))
LIBTSTABLE = os.path.join(BUILD_DIR, "libtstable.a")
SESSION_SYMBOLS = ("tst_session_open", "tst_session_free", "tst_session_query",
                   "tst_session_register_table", "tst_session_register_parquet",
                   "tst_session_deregister", "tst_session_name_count",
                   "tst_session_name_at", "tst_session_last_prune")


def duckdb_lib_dir():
    for cand in (os.path.join(DUCKDB_DIR, "lib"), DUCKDB_DIR):
        if os.path.exists(os.path.join(cand, "libduckdb.so")):
            return cand
    raise SystemExit(f"libduckdb.so not found under {DUCKDB_DIR}: set TSTABLE_DUCKDB_DIR")


def archive_has_session():
    """True when libtstable.a defines every tst_session_* function we call."""
    nm = shutil.which("nm")
    if nm is None:
        return False
    out = subprocess.run([nm, "-g", "--defined-only", LIBTSTABLE], capture_output=True,
                         text=True, check=False).stdout
    defined = {line.split()[-1] for line in out.splitlines() if " T " in line}
    return all(sym in defined for sym in SESSION_SYMBOLS)


if not os.path.exists(LIBTSTABLE):
    raise SystemExit(f"{LIBTSTABLE} not found: build the library first "
                     "(cmake --build build --target tstable) or set TSTABLE_BUILD_DIR")

DUCKDB_LIB = duckdb_lib_dir()
macros = [("TTF_HAVE_SESSION", "1")] if archive_has_session() else []

native = Extension(
    "timeseries_table_format._native",
    sources=sorted(glob(os.path.join("src", "*.c"))),
    depends=sorted(glob(os.path.join("src", "*.h"))) + [LIBTSTABLE],
    include_dirs=[os.path.join(REPO, "include"), "src"],
    define_macros=macros,
    extra_compile_args=["-std=gnu11", "-Wall", "-Wextra", "-Werror",
                        "-Wno-missing-field-initializers"],
    extra_link_args=[LIBTSTABLE, f"-L{DUCKDB_LIB}", "-ljson-c", "-lroaring", "-lduckdb",
                     "-lpthread", f"-Wl,-rpath,{DUCKDB_LIB}"],
)

setup(ext_modules=[native])
