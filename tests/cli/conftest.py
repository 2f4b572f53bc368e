"""Fixtures for the golden tests of the `tstable` command line.

Each test runs the built binary in its own temporary folder and compares
stdout, stderr and the exit code with files in tests/cli/golden/:
<name>.stdout, <name>.stderr, <name>.exit. Only what must vary between runs
is normalised before comparing: the temporary folder (<TMP>), this checkout's
path (<REPO>), commit times (<TIME>), elapsed_ms values (N) and UUIDs (<UUID>).

The binary is <repo>/build/tstable, or $TSTABLE_BIN. To rewrite the golden
files after an intended change, run with TSTABLE_UPDATE_GOLDEN=1 and review
the diff like code.
"""

import os
import re
import subprocess
from dataclasses import dataclass
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
GOLDEN = Path(__file__).resolve().parent / "golden"
BIN = Path(os.environ.get("TSTABLE_BIN", REPO / "build" / "tstable"))
UPDATE = os.environ.get("TSTABLE_UPDATE_GOLDEN") == "1"

UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")
# Commit times are "now"; the data in these tests is from 2024, so a year
# from 2025 on is a commit time, never a value of the data.
COMMIT_TIME = re.compile(r"\b(?:202[5-9]|20[3-9]\d)-\d\d-\d\dT\d\d:\d\d:\d\d(?:\.\d+)?Z")
ELAPSED = re.compile(r"elapsed_ms: \d+")


@dataclass
class Result:
    stdout: str
    stderr: str
    code: int


class Cli:
    """Runs tstable in one temporary folder and normalises what it prints."""

    def __init__(self, tmp: Path):
        self.tmp = tmp

    def normalise(self, text: str) -> str:
        for path in {str(self.tmp.resolve()), str(self.tmp)}:
            text = text.replace(path, "<TMP>")
        text = text.replace(str(REPO), "<REPO>")
        text = UUID.sub("<UUID>", text)
        text = COMMIT_TIME.sub("<TIME>", text)
        return ELAPSED.sub("elapsed_ms: N", text)

    def raw(self, *args: str, env=None, stdin=None) -> subprocess.CompletedProcess:
        full_env = dict(os.environ, **(env or {}))
        full_env.pop("TSTABLE_LOG", None)
        return subprocess.run([str(BIN), *args], cwd=self.tmp, env=full_env, input=stdin,
                              capture_output=True, timeout=60)

    def __call__(self, *args: str, env=None) -> Result:
        p = self.raw(*args, env=env)
        return Result(self.normalise(p.stdout.decode()), self.normalise(p.stderr.decode()),
                      p.returncode)

    def ok(self, *args: str) -> Result:
        """Runs a step a test depends on; a failure here is not the thing under test."""
        r = self(*args)
        assert r.code == 0, f"tstable {' '.join(args)} failed: {r.stderr}"
        return r


def squeeze_boxes(result: Result) -> Result:
    """Box tables whose column widths follow a varying value (commit times have
    0, 3, 6 or 9 fractional digits): keep the content, drop the padding."""
    def squeeze(text):
        return re.sub(r" +│", " │", re.sub(r"─+", "─", text))
    return Result(squeeze(result.stdout), result.stderr, result.code)


def _check_golden(name: str, result: Result):
    files = {
        "stdout": result.stdout,
        "stderr": result.stderr,
        "exit": f"{result.code}\n",
    }
    if UPDATE:
        GOLDEN.mkdir(exist_ok=True)
        for ext, text in files.items():
            (GOLDEN / f"{name}.{ext}").write_text(text)
        return
    for ext, text in files.items():
        path = GOLDEN / f"{name}.{ext}"
        assert path.exists(), f"missing golden file {path}; run with TSTABLE_UPDATE_GOLDEN=1"
        assert text == path.read_text(), f"{ext} differs from {path.name}"


@pytest.fixture(scope="session", autouse=True)
def _binary_is_built():
    if not BIN.exists():
        pytest.exit(f"{BIN} is missing: build it with cmake --build build --target tstable_cli",
                    returncode=1)


@pytest.fixture
def cli(tmp_path) -> Cli:
    return Cli(tmp_path)


@pytest.fixture
def golden():
    return _check_golden
