"""cmake/DuckDB.cmake, which finds DuckDB for every build (the package's, the
library's) and fetches the pinned npm packages when there is none: it gets the
right files, refuses a tarball whose SHA-256 is not the pinned one, and says
what to do when it cannot find or fetch DuckDB."""
import os
import shutil
import subprocess

import pytest

from conftest import REPO

DUCKDB_CMAKE = os.path.join(REPO, "cmake", "DuckDB.cmake")
CMAKE = shutil.which("cmake")
NPM = shutil.which("npm")

pytestmark = pytest.mark.skipif(CMAKE is None or not os.path.exists(DUCKDB_CMAKE),
                                reason="needs cmake and the repository's cmake/DuckDB.cmake")
needs_npm = pytest.mark.skipif(NPM is None, reason="npm fetches DuckDB")


def run(args, env=None):
    """Runs cmake; returns (exit code, its messages with CMake's line wrapping undone)."""
    out = subprocess.run([CMAKE, *args], capture_output=True, text=True, timeout=300, env=env)
    return out.returncode, " ".join(out.stderr.split())


def fetch_into(dest, script=DUCKDB_CMAKE, env=None):
    return run([f"-DTST_DUCKDB_FETCH_INTO={dest}", "-P", str(script)], env=env)


@needs_npm
def test_fetch_gets_the_pinned_header_and_library(tmp_path):
    rc, err = fetch_into(tmp_path / "duckdb")
    assert rc == 0, err
    header = (tmp_path / "duckdb" / "include" / "duckdb.h").read_text()
    assert "duckdb_query" in header
    with open(tmp_path / "duckdb" / "lib" / "libduckdb.so", "rb") as f:
        assert f.read(4) == b"\x7fELF"
    assert not (tmp_path / "duckdb" / ".fetch").exists()


@needs_npm
def test_fetch_refuses_a_tarball_whose_sha256_is_not_the_pinned_one(tmp_path):
    script = tmp_path / "DuckDB.cmake"
    text = open(DUCKDB_CMAKE).read()
    pinned = text.split("set(TST_DUCKDB_HDR_SHA256 ", 1)[1].split(")", 1)[0]
    script.write_text(text.replace(pinned, "0" * 64))
    rc, err = fetch_into(tmp_path / "duckdb", script)
    assert rc != 0
    assert f"has SHA-256 {pinned}, expected {'0' * 64}; nothing was unpacked" in err
    assert "set DUCKDB_DIR" in err
    assert not (tmp_path / "duckdb" / "include" / "duckdb.h").exists()


def test_fetch_without_npm_says_to_install_it_or_set_duckdb_dir(tmp_path):
    bare = tmp_path / "bin"           # a PATH with cmake and nothing else
    bare.mkdir()
    os.symlink(CMAKE, bare / "cmake")
    rc, err = fetch_into(tmp_path / "duckdb", env=dict(os.environ, PATH=str(bare)))
    assert rc != 0
    assert "npm is not on PATH to fetch it" in err
    assert "Install npm" in err and "set DUCKDB_DIR" in err


def test_configure_with_a_duckdb_dir_lacking_duckdb_says_so(tmp_path):
    # DUCKDB_DIR, when given, is the only place looked at.
    empty = tmp_path / "empty"
    empty.mkdir()
    rc, err = run(["-S", REPO, "-B", str(tmp_path / "build"), f"-DDUCKDB_DIR={empty}",
                   "-DTST_BUILD_CLI=OFF", "-DTST_BUILD_TESTS=OFF", "-DTST_BUILD_PROGRAMS=OFF"])
    assert rc != 0
    assert f"DuckDB not found in DUCKDB_DIR={empty}" in err
    assert "set DUCKDB_DIR to a folder holding both" in err
