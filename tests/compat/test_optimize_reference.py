"""optimize and the reference 0.4.0, both ways.

1. A table tstable wrote and optimized (`tstable optimize`) is read by the
   reference (row counts, sums and rows per entity through its Session.sql),
   which then appends to it and optimizes its own new mixed segment; tstable
   reads the result.
2. A table the reference wrote, with mixed segments, is optimized by
   tstable; the reference reads it and appends to it afterwards.

The entity is two columns (symbol: utf8, venue: int64), so the per-identity
rewrite filters on both. The reference runs in its own virtual environment
(.deps/refvenv, or $TSTABLE_REFERENCE_PYTHON), as a subprocess.
"""

import datetime as dt
import json
import os
import subprocess
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

REPO = Path(__file__).resolve().parents[2]
BIN = Path(os.environ.get("TSTABLE_BIN", REPO / "build" / "tstable"))
REFERENCE = Path(os.environ.get("TSTABLE_REFERENCE_PYTHON",
                                REPO / ".deps" / "refvenv" / "bin" / "python"))

pytestmark = [
    pytest.mark.skipif(not BIN.exists(), reason=f"{BIN} is not built"),
    pytest.mark.skipif(not REFERENCE.exists(),
                       reason=f"the reference (timeseries-table-format 0.4.0) is not at {REFERENCE}"),
]

# Zone-less timestamps: the reference 0.4.0 reads a pyarrow file's zoned column as
# zone-less (a table it creates adopts it so), and so refuses such a file against a
# table tstable created with the zone. That holds with or without optimize.
START = dt.datetime(2024, 1, 1)


def tstable(*args):
    env = dict(os.environ)
    env.pop("TSTABLE_LOG", None)
    r = subprocess.run([str(BIN), *map(str, args)], capture_output=True, text=True, timeout=120,
                       env=env)
    assert r.returncode == 0, r.stderr
    return r.stdout


def reference(script, *args):
    r = subprocess.run([str(REFERENCE), "-c", script, *map(str, args)], capture_output=True,
                       text=True, timeout=300)
    assert r.returncode == 0, r.stderr
    return json.loads(r.stdout.strip().splitlines()[-1])


def bars(path, day, entities):
    """Hourly bars for one day: every (symbol, venue) in entities, close = hour + venue."""
    ts, sym, venue, close = [], [], [], []
    for h in range(24):
        for s, v in entities:
            ts.append(START + dt.timedelta(days=day, hours=h))
            sym.append(s)
            venue.append(v)
            close.append(h + v + 0.25)
    pq.write_table(pa.table({"ts": pa.array(ts, pa.timestamp("ms")),
                             "symbol": sym, "venue": pa.array(venue, pa.int64()),
                             "close": close}), path)
    return str(path)


MIXED_1 = [("NVDA", 1), ("AAPL", 1), ("AAPL", 2)]
MIXED_2 = [("NVDA", 1), ("MSFT", 3)]
LATER = [("NVDA", 1), ("AAPL", 2), ("AMD", 7)]
TOTAL_ROWS = 24 * (len(MIXED_1) + len(MIXED_2))

REFERENCE_FACTS = """
import json, sys
import timeseries_table_format as ttf
s = ttf.Session()
s.register_tstable("t", sys.argv[1])
t = s.sql("SELECT count(*) AS n, sum(close) AS s FROM t")
g = s.sql("SELECT symbol, venue, count(*) AS n FROM t GROUP BY symbol, venue ORDER BY symbol, venue")
print(json.dumps({"rows": t.column(0)[0].as_py(), "sum": round(t.column(1)[0].as_py(), 6),
                  "per_entity": [list(r.values()) for r in g.to_pylist()],
                  "version": ttf.TimeSeriesTable.open(sys.argv[1]).version()}))
"""

REFERENCE_APPEND_AND_OPTIMIZE = """
import json, sys
import timeseries_table_format as ttf
t = ttf.TimeSeriesTable.open(sys.argv[1])
v = t.append_parquet(sys.argv[2])
r = t.optimize()
print(json.dumps({"appended": v, "replaced": r.source_segments_replaced,
                  "written": r.replacement_segments_written, "rows": r.rows_written,
                  "version": t.version()}))
"""

REFERENCE_CREATE = """
import json, sys
import timeseries_table_format as ttf
t = ttf.TimeSeriesTable.create(table_root=sys.argv[1], index_column="ts", index_type="timestamp",
                               bucket="1h", entity_columns=["symbol", "venue"])
for path in sys.argv[2:]:
    t.append_parquet(path)
print(json.dumps({"version": t.version()}))
"""


def tstable_facts(root):
    out = tstable("query", "--table", root, "--sql",
                  f"SELECT count(*) AS n, round(sum(close), 6) AS s FROM {Path(root).name}",
                  "--format", "jsonl", "--output", str(Path(root).parent / "facts.jsonl"))
    assert "total_rows: 1" in out
    return json.loads((Path(root).parent / "facts.jsonl").read_text())


def segments(root):
    return json.loads(tstable("segments", "--table", root, "--format", "json"))


def test_the_reference_reads_and_appends_to_a_table_tstable_optimized(tmp_path):
    root = tmp_path / "t"
    tstable("create", "--table", root, "--protocol", "6", "--index-column", "ts", "--bucket", "1h",
            "--entity", "symbol", "--entity", "venue")
    tstable("append", "--table", root, "--parquet", bars(tmp_path / "a.parquet", 0, MIXED_1))
    tstable("append", "--table", root, "--parquet", bars(tmp_path / "b.parquet", 1, MIXED_2))
    before = reference(REFERENCE_FACTS, root)
    assert before["rows"] == TOTAL_ROWS

    report = json.loads(tstable("optimize", "--table", root, "--mode", "entity-layout", "--json"))
    assert report["replacement_segments_written"] == 5
    assert report["distinct_identities_materialized"] == 4
    assert report["rows_written"] == TOTAL_ROWS
    assert all(s["entity"] is not None and s["entity"] != "mixed" for s in segments(root))

    after = reference(REFERENCE_FACTS, root)
    assert after == dict(before, version=before["version"] + 1)

    # The reference appends a mixed file and optimizes it, next to our segments.
    done = reference(REFERENCE_APPEND_AND_OPTIMIZE, root, bars(tmp_path / "c.parquet", 2, LATER))
    assert done == {"appended": 5, "replaced": 1, "written": 3, "rows": 72, "version": 6}
    final = reference(REFERENCE_FACTS, root)
    assert final["rows"] == TOTAL_ROWS + 72
    facts = tstable_facts(root)
    assert facts["n"] == final["rows"] and facts["s"] == pytest.approx(final["sum"])
    assert len(segments(root)) == 8


def test_tstable_optimizes_a_table_the_reference_wrote_with_mixed_segments(tmp_path):
    root = tmp_path / "r"
    reference(REFERENCE_CREATE, root, bars(tmp_path / "a.parquet", 0, MIXED_1),
              bars(tmp_path / "b.parquet", 1, MIXED_2))
    before = reference(REFERENCE_FACTS, root)
    assert [s["entity"] for s in segments(root)] == ["mixed", "mixed"]

    report = json.loads(tstable("optimize", "--table", root, "--mode", "entity-layout", "--json"))
    assert (report["starting_version"], report["committed_version"]) == (3, 4)
    assert report["candidate_source_segments"] == report["source_segments_replaced"] == 2
    assert report["rows_read"] == report["rows_written"] == TOTAL_ROWS
    # The commit the reference reads back: removes, then single-entity adds.
    commit = json.loads((root / "_timeseries_log" / "0000000004.json").read_text())
    kinds = [next(iter(a)) for a in commit["actions"]]
    assert kinds == ["RemoveSegment"] * 2 + ["AddSegment"] * 5
    added = [a["AddSegment"] for a in commit["actions"][2:]]
    assert all(a["path"].startswith("data/_staged/entity-rewrite/") for a in added)
    assert [a["entity_layout"]["Single"] for a in added[:3]] == [
        [{"type": "utf8", "value": "AAPL"}, {"type": "int64", "value": 1}],
        [{"type": "utf8", "value": "AAPL"}, {"type": "int64", "value": 2}],
        [{"type": "utf8", "value": "NVDA"}, {"type": "int64", "value": 1}]]

    assert reference(REFERENCE_FACTS, root) == dict(before, version=4)
    done = reference(REFERENCE_APPEND_AND_OPTIMIZE, root, bars(tmp_path / "c.parquet", 2, LATER))
    assert done["appended"] == 5 and done["rows"] == 72
    assert tstable_facts(root)["n"] == TOTAL_ROWS + 72
