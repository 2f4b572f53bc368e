"""Helpers of tests/compat/test_corpus.py: where the corpus is, its manifest,
and running the tstable binary.

The corpus (scripts/corpus.py) is generated once per session, on first use
(at collection time, because the tests are parametrised over its manifest):
into a temporary folder, or into / from $TST_CORPUS_DIR (when that folder
already holds a manifest.json it is used as it is, which is handy when
iterating or to test a corpus made elsewhere). The binary is
<repo>/build/tstable, or $TSTABLE_BIN. This module has its own name, not
"conftest", so that it can't be confused with tests/cli/conftest.py when both
folders run in one pytest session.
"""

import json
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

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


def cleanup():
    """Removes a corpus this session generated in a temporary folder."""
    folder = _corpus.get("cleanup")
    if folder:
        shutil.rmtree(folder, ignore_errors=True)


class Cli:
    """Runs the tstable binary; returns the CompletedProcess with text output."""

    def __call__(self, *args, cwd=None):
        env = dict(os.environ)
        env.pop("TSTABLE_LOG", None)
        r = subprocess.run([str(BIN), *map(str, args)], cwd=cwd, env=env,
                           capture_output=True, text=True, timeout=120)
        # Under a sanitizer build (TSTABLE_BIN=build-asan/tstable), a report is a
        # failure even when the command's outcome looks expected.
        for mark in ("Sanitizer", "runtime error:"):
            assert mark not in r.stderr, f"tstable {' '.join(map(str, args))}: {r.stderr}"
        return r

    def ok(self, *args, cwd=None):
        r = self(*args, cwd=cwd)
        assert r.returncode == 0, f"tstable {' '.join(map(str, args))} failed: {r.stderr}"
        return r


def create_table(cli, table, ds):
    args = ["create", "--table", table, "--index-column", ds["index"], "--bucket", ds["bucket"]]
    for e in ds["entity"]:
        args += ["--entity", e]
    cli.ok(*args)


def append_args(table, path, fmt):
    return ["append", "--table", table, f"--{fmt}", path]
