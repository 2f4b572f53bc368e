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
    # format_version 6: the reference 0.4.0 reads these tables
    args = ["create", "--table", table, "--protocol", "6", "--index-column", ds["index"],
            "--bucket", ds["bucket"]]
    for e in ds["entity"]:
        args += ["--entity", e]
    cli.ok(*args)


def append_args(table, path, fmt):
    return ["append", "--table", table, f"--{fmt}", path]


# ---- the reference implementation (timeseries-table-format 0.4.0) ------------------------------
#
# Its import name is ours too, so it runs only in subprocesses of its own interpreter (a venv
# scripts/deps.sh makes at .deps/refvenv; TSTABLE_REFERENCE_PYTHON names another). A test gives
# it a batch of operations at once (one interpreter start per batch, ~0.3 s) and gets one JSON
# result per operation: {"ok": value}, {"overlap": {...}} or {"error": "Type: message"}.

REFERENCE = Path(os.environ.get("TSTABLE_REFERENCE_PYTHON",
                                REPO / ".deps" / "refvenv" / "bin" / "python"))

REFERENCE_MISSING = (f"the reference (timeseries-table-format 0.4.0) is not at {REFERENCE}; "
                     "scripts/deps.sh makes it")

_REFERENCE_RUNNER = r"""
import json, sys
import timeseries_table_format as ttf

def table(op):
    return ttf.TimeSeriesTable.open(op["root"])

def run(op):
    kind = op["op"]
    if kind == "create":
        return ttf.TimeSeriesTable.create(**op["args"]).version()
    if kind == "append":
        return table(op).append_parquet(op["path"])
    if kind == "sql":
        s = ttf.Session()
        s.register_tstable("t", op["root"])
        result = s.sql(op["sql"])
        return [list(row.values()) for row in result.to_pylist()]
    if kind == "optimize":
        r = table(op).optimize()
        return {k: getattr(r, k) for k in (
            "starting_version", "committed_version", "candidate_source_segments",
            "source_segments_replaced", "replacement_segments_written",
            "distinct_identities_materialized", "rows_read", "rows_written", "no_op")}
    if kind == "index_spec":
        return table(op).index_spec()
    if kind == "version":
        return table(op).version()
    if kind == "version_info":
        return ttf.__version__
    raise ValueError(f"unknown operation {kind}")

out = []
for op in json.load(sys.stdin):
    try:
        out.append({"ok": run(op)})
    except ttf.CoverageOverlapError as e:
        out.append({"overlap": {"count": e.overlap_count, "entity": e.example_entity_identity,
                                "bucket": e.example_bucket, "range": e.example_bucket_range}})
    except Exception as e:
        out.append({"error": f"{type(e).__name__}: {e}"})
print(json.dumps(out, default=str))
"""


def reference(ops):
    """Runs the operations (dicts with "op" and its arguments) in one reference process."""
    ops = [{k: (str(v) if isinstance(v, Path) else v) for k, v in op.items()} for op in ops]
    r = subprocess.run([str(REFERENCE), "-c", _REFERENCE_RUNNER], input=json.dumps(ops),
                       capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, f"the reference runner failed: {r.stderr}"
    return json.loads(r.stdout)


def ok(result):
    """The value of one reference result; fails the test with its error otherwise."""
    assert "ok" in result, f"the reference refused: {result}"
    return result["ok"]


def cli_json(cli, *args):
    """A tstable command's --format json output, parsed."""
    return json.loads(cli.ok(*args, "--format", "json").stdout)


def cli_sql(cli, root, sql):
    """Rows (lists) of sql over the table at root, registered as t, through `tstable query`."""
    rows = json.loads(cli.ok("query", "--table", f"t={root}", "--sql", sql,
                             "--format", "json").stdout)
    return [list(row.values()) for row in rows]


def overlap_count_in(message):
    """The number of covered (entity, bucket) pairs an overlap rejection of tstable reports."""
    import re
    m = re.search(r"rejected: (\d+) (?:bucket|\(entity, bucket\) pair)", message)
    if m:
        return int(m.group(1))
    assert "bucket" in message and "partly covered" in message, message
    return 1  # the one-bucket edge case names the bucket without a count


def commits(root):
    """The table's commits (parsed JSON), oldest first."""
    log = Path(root) / "_timeseries_log"
    return [json.loads(p.read_text()) for p in sorted(log.glob("*.json"))]


# ---- what coverage answers a table's rows imply -----------------------------------------------


class Domain:
    """An index domain for expectations: values map to integers (seconds for timestamps), a
    bucket is floor(value / width), and `fmt` renders a value as tstable's JSON does."""

    def __init__(self, kind, width, arrow_type):
        self.kind, self.width, self.arrow_type = kind, width, arrow_type
        self.max = 2**64 - 1 if kind == "uint64" else None

    def units(self, v):
        if self.kind == "timestamp":
            import calendar
            return calendar.timegm(v.timetuple())
        return v

    def fmt(self, units):
        if self.kind == "timestamp":
            import datetime as dt
            return (dt.datetime(1970, 1, 1) + dt.timedelta(seconds=units)).strftime(
                "%Y-%m-%dT%H:%M:%SZ")
        return units

    def bucket(self, v):
        return self.units(v) // self.width

    def end(self, bucket):
        """The bucket's exclusive end, clipped to the domain's last value: (value, inclusive)."""
        end = (bucket + 1) * self.width
        if self.max is not None and end > self.max:
            return self.max, True
        return end, False


class Implied:
    """The (entity, bucket) pairs rows cover, and the coverage answers they imply."""

    def __init__(self, domain, index, entities):
        self.domain, self.index, self.entities = domain, index, list(entities)
        self.pairs = set()

    def key(self, row):
        return tuple(row[c] for c in self.entities)

    def add(self, rows):
        self.pairs |= self.of(rows)

    def of(self, rows):
        return {(self.key(r), self.domain.bucket(r[self.index])) for r in rows}

    def overlap(self, rows):
        return len(self.of(rows) & self.pairs)

    def buckets(self, entity=None):
        return sorted({b for e, b in self.pairs if entity is None or e == entity})

    def info_coverage(self):
        """tstable info's coverage list: per entity, in entity order."""
        out = []
        for e in sorted({e for e, _ in self.pairs}):
            b = self.buckets(e)
            out.append({"entity": dict(zip(self.entities, e)) if self.entities else None,
                        "first": self.domain.fmt(b[0] * self.domain.width),
                        "last": self.domain.fmt(self.domain.end(b[-1])[0]),
                        "covered_buckets": len(b),
                        "gaps": sum(1 for x, y in zip(b, b[1:]) if y != x + 1)})
        return out

    def _range(self, start, end):
        w = self.domain.width
        return list(range(start // w, (end - 1) // w + 1))

    def coverage(self, start, end, entity=None):
        """tstable coverage --format json over [start, end) (in units)."""
        ids = self._range(start, end)
        have = set(self.buckets(entity))
        covered = sum(1 for b in ids if b in have)
        runs = [len(r) for r in self._runs(ids, have)]
        return {"start": self.domain.fmt(start), "end": self.domain.fmt(end),
                "entity": dict(zip(self.entities, entity)) if entity else None,
                "covered_buckets": covered, "total_buckets": len(ids),
                "missing_buckets": len(ids) - covered,
                "ratio": covered / len(ids), "max_gap_buckets": max(runs, default=0)}

    def gaps(self, start, end, entity=None):
        """tstable gaps --format json over [start, end) (in units)."""
        out = []
        have = set(self.buckets(entity))
        for run in self._runs(self._range(start, end), have):
            stop, inclusive = self.domain.end(run[-1])
            out.append({"start": self.domain.fmt(run[0] * self.domain.width),
                        "end": self.domain.fmt(stop), "end_inclusive": inclusive,
                        "buckets": len(run)})
        return out

    @staticmethod
    def _runs(ids, have):
        runs, cur = [], []
        for b in ids:
            if b in have:
                if cur:
                    runs.append(cur)
                cur = []
            else:
                cur.append(b)
        if cur:
            runs.append(cur)
        return runs


def our_package():
    """Our Python package as installed in the running interpreter (scripts/test.sh
    pip-installs it into .venv). Never the source folder python/, which has no
    extension: a missing install fails the test instead of skipping it."""
    import importlib
    module = importlib.import_module("timeseries_table_format")
    source = str(REPO / "python" / "timeseries_table_format")
    assert not os.path.dirname(os.path.abspath(module.__file__)).startswith(source), \
        f"imported the source folder {source}: pip install ./python"
    return module
