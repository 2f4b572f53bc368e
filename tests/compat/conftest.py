"""Fixtures for the writer-corpus test (test_corpus.py).

The corpus (scripts/corpus.py) is generated once per session, at collection
time because the tests are parametrised over its manifest: into a temporary
folder, or read from $TST_CORPUS_DIR when that folder already holds a
manifest.json (handy when iterating, or to test a corpus made elsewhere).
Tables started by each "base" file (a day-1 file of one writer) are made once
per session and copied for each test that appends into them.

The binary is <repo>/build/tstable, or $TSTABLE_BIN.
"""

import json
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
BIN = Path(os.environ.get("TSTABLE_BIN", REPO / "build" / "tstable"))

_corpus = {}


def corpus_dir() -> Path:
    """The corpus folder, generated on first use."""
    if "dir" in _corpus:
        return _corpus["dir"]
    given = os.environ.get("TST_CORPUS_DIR")
    if given and (Path(given) / "manifest.json").exists():
        folder = Path(given)
    else:
        folder = Path(given) if given else Path(tempfile.mkdtemp(prefix="tst-corpus-"))
        if not given:
            _corpus["cleanup"] = folder
        subprocess.run([sys.executable, str(REPO / "scripts" / "corpus.py"), str(folder)],
                       check=True, capture_output=True, timeout=300)
    _corpus["dir"] = folder
    return folder


def manifest() -> dict:
    if "manifest" not in _corpus:
        _corpus["manifest"] = json.loads((corpus_dir() / "manifest.json").read_text())
    return _corpus["manifest"]


def pytest_generate_tests(metafunc):
    if "entry" in metafunc.fixturenames and "cross" not in metafunc.fixturenames:
        files = manifest()["files"]
        metafunc.parametrize("entry", files, ids=[f["file"] for f in files])
    elif "cross" in metafunc.fixturenames:
        pairs = [(f, c) for f in manifest()["files"] for c in f["cross"]]
        metafunc.parametrize("entry,cross", pairs,
                             ids=[f"{c['base']}<-{f['file']}" for f, c in pairs])


def pytest_unconfigure(config):
    folder = _corpus.get("cleanup")
    if folder:
        shutil.rmtree(folder, ignore_errors=True)


class Cli:
    """Runs the tstable binary; returns the CompletedProcess with text output."""

    def __call__(self, *args, cwd=None):
        env = dict(os.environ)
        env.pop("TSTABLE_LOG", None)
        return subprocess.run([str(BIN), *map(str, args)], cwd=cwd, env=env,
                              capture_output=True, text=True, timeout=120)

    def ok(self, *args, cwd=None):
        r = self(*args, cwd=cwd)
        assert r.returncode == 0, f"tstable {' '.join(map(str, args))} failed: {r.stderr}"
        return r


@pytest.fixture(scope="session")
def cli():
    if not BIN.exists():
        pytest.fail(f"tstable binary not found at {BIN}: build it or set TSTABLE_BIN")
    return Cli()


@pytest.fixture(scope="session")
def corpus():
    return corpus_dir(), manifest()


@pytest.fixture(scope="session")
def base_tables(tmp_path_factory, cli, corpus):
    """base name -> a table folder holding that base file, made on first use.
    A base that can't be made fails every test using it, with the reason."""
    folder, man = corpus
    root = tmp_path_factory.mktemp("bases")
    made = {}

    def get(name):
        if name not in made:
            base = man["bases"][name]
            entry = next(f for f in man["files"] if f["file"] == base["file"])
            ds = man["datasets"][entry["dataset"]]
            table = root / name
            create_table(cli, table, ds)
            r = cli(*append_args(table, folder / entry["file"], entry["format"]))
            made[name] = (table, r)
        table, r = made[name]
        if r.returncode != 0:
            pytest.fail(f"base table {name} could not be started from {man['bases'][name]['file']}:"
                        f" {r.stderr.strip()}")
        return table

    return get


def create_table(cli, table, ds):
    args = ["create", "--table", table, "--index-column", ds["index"], "--bucket", ds["bucket"]]
    for e in ds["entity"]:
        args += ["--entity", e]
    cli.ok(*args)


def append_args(table, path, fmt):
    return ["append", "--table", table, f"--{fmt}", path]
