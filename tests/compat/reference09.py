"""The real reference 0.9.0, driven from the compat tests.

scripts/deps.sh installs PyPI timeseries-table-format==0.9.0 into .deps/refvenv09
(TSTABLE_REFERENCE09_PYTHON names another interpreter). Its import name is ours, so it
runs in a subprocess of its own: `ref(*ops)` sends a batch of operations as JSON and
returns one result per operation, {"ok": value} or, when the reference refused,
{"overlap": conflict_count}, {"duplicate": example_index_interval} or {"error": "..."}.

Operations (paths may be pathlib.Path):
  create {args}                     TimeSeriesTable.create(**args) -> version
  append {root, path}               append a Parquet file (or an Arrow IPC file, *.arrow)
  sql {root, sql}                   Session.sql over the table registered as t -> rows
  annotations {root}                schema and field metadata of SELECT * FROM t
  optimize {root}                   {committed_version, no_op}
  add_columns {root, columns}       columns: [[name, pyarrow type name], ...] -> version
  update_rows {root, path, columns} update from a Parquet file -> report fields
  vacuum {root, apply}              vacuum(now, apply) -> mode, deleted, artifacts
  index_spec / version / segments_paths {root}
"""

import json
import os
import subprocess
from pathlib import Path

import pytest

from compat_support import BIN, REPO

REF09 = Path(os.environ.get("TSTABLE_REFERENCE09_PYTHON",
                            REPO / ".deps" / "refvenv09" / "bin" / "python"))
pytestmark = [
    pytest.mark.skipif(not BIN.exists(), reason=f"{BIN} is not built"),
    pytest.mark.skipif(not REF09.exists(), reason=(
        f"the reference 0.9.0 (timeseries-table-format==0.9.0) is not at {REF09}; "
        "scripts/deps.sh installs it (its install may have failed: see its warning)")),
]

_RUNNER = r"""
import datetime as dt, glob, json, sys
import pyarrow as pa
import pyarrow.parquet as pq
import timeseries_table_format as ttf

def decode(md):
    return {k.decode(): v.decode() for k, v in (md or {}).items()}

def read(path):
    if path.endswith(".arrow"):
        # Arrow IPC, not Parquet: pyarrow reads a Parquet map's entries under the
        # column's name, which 0.9.0 refuses as not exactly representable.
        with pa.ipc.open_file(path) as f:
            return f.read_all()
    return pq.read_table(path)

def session(root):
    s = ttf.Session()
    s.register_tstable("t", root)
    return s

def run(op):
    kind = op["op"]
    if kind == "create":
        return ttf.TimeSeriesTable.create(**op["args"]).version()
    if kind == "segments_paths":
        return sorted(glob.glob(op["root"] + "/data/**/*.parquet", recursive=True))
    t = ttf.TimeSeriesTable.open(op["root"])
    if kind == "append":
        return t.append(read(op["path"])).committed_version
    if kind == "sql":
        return [list(r.values()) for r in session(op["root"]).sql(op["sql"]).to_pylist()]
    if kind == "annotations":
        schema = session(op["root"]).sql("SELECT * FROM t").schema
        return {"schema": decode(schema.metadata),
                "fields": {f.name: decode(f.metadata) for f in schema}}
    if kind == "optimize":
        r = t.optimize()
        return {"committed_version": r.committed_version, "no_op": r.no_op}
    if kind == "add_columns":
        return t.add_columns(pa.schema([pa.field(n, getattr(pa, ty)()) for n, ty in op["columns"]]))
    if kind == "update_rows":
        rep = t.update_rows(read(op["path"]), columns=op["columns"], expected_version=t.version())
        return {"committed_version": rep.committed_version, "rows_updated": rep.rows_updated,
                "segments_rewritten": rep.segments_rewritten}
    if kind == "vacuum":
        r = t.vacuum(dt.datetime.now(dt.timezone.utc), apply=op["apply"])
        return {"mode": r.mode, "deleted": r.deleted_files,
                "artifacts": [{"path": a.path, "disposition": a.disposition, "reason": a.reason}
                              for a in r.artifacts]}
    if kind == "index_spec":
        return t.index_spec()
    if kind == "version":
        return t.version()
    raise ValueError(kind)

out = []
for op in json.load(sys.stdin):
    try:
        out.append({"ok": run(op)})
    except ttf.IndexIntervalOverlapError as e:
        out.append({"overlap": e.conflict_count})
    except ttf.DuplicateIndexIntervalError as e:
        out.append({"duplicate": e.example_index_interval})
    except Exception as e:
        out.append({"error": f"{type(e).__name__}: {e}"})
print(json.dumps(out, default=str))
"""


def ref(*ops):
    """Runs the operations in one reference 0.9.0 process; one result per operation."""
    ops = [{k: (str(v) if isinstance(v, Path) else v) for k, v in op.items()} for op in ops]
    r = subprocess.run([str(REF09), "-c", _RUNNER], input=json.dumps(ops), capture_output=True,
                       text=True, timeout=300)
    assert r.returncode == 0, f"the reference 0.9.0 runner failed: {r.stderr}"
    return json.loads(r.stdout)


def ok(result):
    """The value of one result; fails the test with the reference's refusal otherwise."""
    assert "ok" in result, f"the reference 0.9.0 refused: {result}"
    return result["ok"]
