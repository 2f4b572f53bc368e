"""Tables written by tstable are used by the real reference 0.4.0.

Each case writes a table with one of tstable's writers:
- the CLI: `tstable create` and `tstable append` of a Parquet file that is byte-copied (its
  schema is the table's), a Parquet file that is re-encoded (other column order, row groups of
  two rows) and a CSV file;
- the Python package (built in place in python/): append_parquet, append_csv and append of a
  pyarrow table;
- C: examples/tstable_demo.c (build/tstable_demo), which creates the table through the public C
  API and appends a CSV, run twice with two files.
Then the reference (compat_support.reference, one process per batch) must: open it with the
right index_spec(), give the SQL counts and sums tstable gives, reject an overlapping file with
the overlap count tstable gives for it, take a new append, and optimize() the table (its
mixed-entity segments become single-entity ones). Afterwards both sides agree on rows and sums,
and tstable's coverage answers are still what the rows imply.

Timestamps are zone-less here: a table whose index is zoned takes no append in the reference
(test_reference_format.py shows it).
"""

import datetime as dt
import shutil
import subprocess

import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq
import pytest

from compat_support import (BIN, REFERENCE, REFERENCE_MISSING, Cli, Domain, Implied,
                            cli_json, cli_sql, ok, our_package, overlap_count_in, reference)

pytestmark = [pytest.mark.skipif(not BIN.exists(), reason=f"{BIN} is not built"),
              pytest.mark.skipif(not REFERENCE.exists(), reason=REFERENCE_MISSING)]

DAY = dt.datetime(2024, 1, 1)
DOMAIN = Domain("timestamp", 3600, pa.timestamp("us"))
DEMO = BIN.parent / "tstable_demo"
QUERIES = ["SELECT count(*) AS n, sum(v) AS s FROM t",
           "SELECT symbol, count(*) AS n, sum(v) AS s FROM t GROUP BY symbol ORDER BY symbol"]


def rows(day, hs, symbols, v0=0):
    out = [{"ts": DAY + dt.timedelta(days=day, hours=h), "symbol": s} for h in hs for s in symbols]
    for i, r in enumerate(out):
        r["v"] = float(v0 + i)
    return out


def arrow(rs, order=("ts", "symbol", "v")):
    types = {"ts": pa.timestamp("us"), "symbol": pa.string(), "v": pa.float64()}
    return pa.table({c: pa.array([r[c] for r in rs], types[c]) for c in order})


def parquet(rs, path, **kw):
    order = kw.pop("order", ("ts", "symbol", "v"))
    pq.write_table(arrow(rs, order), path, **kw)
    return path


def csv(rs, path):
    """A CSV file with zone-less timestamps (2024-01-01 00:00:00), as DuckDB reads TIMESTAMP."""
    lines = ["ts,symbol,v"] + [f"{r['ts']:%Y-%m-%d %H:%M:%S},{r['symbol']},{r['v']}" for r in rs]
    path.write_text("\n".join(lines) + "\n")
    return path


# The data every writer puts in (mixed-entity files, so that optimize has work), the file that
# overlaps it (AAPL 04:00 and 05:00, NVDA 01:00 of day 0 are covered; AAPL 07:00 is not) and the
# new file of a later day.
PARTS = [rows(0, range(0, 6), ["AAPL", "MSFT"]),
         rows(0, range(0, 3), ["NVDA"], 100) + rows(1, range(0, 2), ["AAPL"], 110),
         rows(1, range(2, 5), ["AAPL", "MSFT", "NVDA"], 200)]
OVERLAP = rows(0, [4, 5, 7], ["AAPL"]) + rows(0, [1], ["NVDA"])
NEW = rows(3, range(0, 3), ["AAPL", "TSLA"], 300)


def write_with_cli(tmp_path, root):
    cli = Cli()
    cli.ok("create", "--table", root, "--protocol", "6", "--index-column", "ts", "--bucket", "1h",
           "--entity", "symbol")
    first = parquet(PARTS[0], tmp_path / "p0.parquet")
    cli.ok("append", "--table", root, "--parquet", first)
    # The table's own schema from pyarrow: the segment is the source, byte for byte.
    data = [p.read_bytes() for p in (root / "data").glob("*.parquet")]
    assert data == [first.read_bytes()]
    cli.ok("append", "--table", root, "--parquet",
           parquet(PARTS[1], tmp_path / "p1.parquet", order=("v", "symbol", "ts"),
                   row_group_size=2))
    cli.ok("append", "--table", root, "--csv", csv(PARTS[2], tmp_path / "p2.csv"))
    # The other two were re-encoded into the table's column order.
    for p in (root / "data").glob("*.parquet"):
        assert pq.read_schema(p).names == ["ts", "symbol", "v"], p


def write_with_python(tmp_path, root):
    ttf = our_package()
    if ttf is None:
        pytest.skip("the Python package is not built in python/ (see PREAMBLE: setup.py "
                    "build_ext --inplace)")
    t = ttf.TimeSeriesTable.create(table_root=str(root), index_column="ts",
                                   index_type="timestamp", bucket="1h",
                                   entity_columns=["symbol"], protocol=6)  # 0.4.0 reads it
    assert t.append_parquet(str(parquet(PARTS[0], tmp_path / "p0.parquet"))) == 2
    assert t.append_csv(str(csv(PARTS[1], tmp_path / "p1.csv"))) == 3
    assert t.append(arrow(PARTS[2])) == 4


def write_with_c(tmp_path, root):
    if not DEMO.exists():
        pytest.skip(f"{DEMO} is not built")
    for i in (0, 1):
        # Parts 0 and 1 as two runs of the demo: it creates the table, then opens it.
        r = subprocess.run([str(DEMO), str(root), str(csv(PARTS[i], tmp_path / f"c{i}.csv")), "6"],
                           capture_output=True, text=True, timeout=60)
        assert r.returncode == 0, r.stderr
        assert "appending the same file again:\n  rejected" in r.stdout
    Cli().ok("append", "--table", root, "--csv", csv(PARTS[2], tmp_path / "p2.csv"))


WRITERS = {"cli": write_with_cli, "python": write_with_python, "c_demo": write_with_c}


def check_ours(cli, root, implied):
    """tstable's coverage answers are what the rows imply, per symbol and for the table."""
    info = cli_json(cli, "info", "--table", root)
    assert info["coverage"] == implied.info_coverage()
    b = implied.buckets()
    start, end = (b[0] - 2) * 3600, (b[-1] + 2) * 3600
    span = ["--start", DOMAIN.fmt(start), "--end", DOMAIN.fmt(end)]
    for ident in [None] + sorted({e for e, _ in implied.pairs}):
        who = ["--entity", f"symbol={ident[0]}"] if ident else []
        assert cli_json(cli, "coverage", "--table", root, *span, *who) == \
            implied.coverage(start, end, ident)
        assert cli_json(cli, "gaps", "--table", root, *span, *who) == \
            implied.gaps(start, end, ident)
    return info


@pytest.mark.parametrize("writer", WRITERS)
def test_the_reference_uses_a_table_tstable_wrote(tmp_path, writer):
    cli, root = Cli(), tmp_path / "t"
    WRITERS[writer](tmp_path, root)
    implied = Implied(DOMAIN, "ts", ["symbol"])
    for part in PARTS:
        implied.add(part)
    info = check_ours(cli, root, implied)
    assert info["version"] == 4 and info["rows"] == sum(map(len, PARTS))
    ours = [cli_sql(cli, root, q) for q in QUERIES]
    assert ours[0] == [[sum(map(len, PARTS)), sum(r["v"] for p in PARTS for r in p)]]

    # What tstable says of the overlapping file (a copy: the reference keeps source names).
    overlap_ours = parquet(OVERLAP, tmp_path / "overlap_ours.parquet")
    overlap_ref = shutil.copy(overlap_ours, tmp_path / "overlap_ref.parquet")
    r = cli("append", "--table", root, "--parquet", overlap_ours)
    assert r.returncode == 1, r.stderr
    want_overlap = implied.overlap(OVERLAP)
    assert overlap_count_in(r.stderr) == want_overlap == 3

    new = parquet(NEW, tmp_path / "new.parquet")
    ops = [{"op": "index_spec", "root": root}]
    ops += [{"op": "sql", "root": root, "sql": q} for q in QUERIES]
    ops += [{"op": "append", "root": root, "path": overlap_ref},
            {"op": "append", "root": root, "path": new},
            {"op": "optimize", "root": root},
            {"op": "version", "root": root}]
    ops += [{"op": "sql", "root": root, "sql": q} for q in QUERIES]
    got = reference(ops)
    assert ok(got[0]) == {"column": "ts", "entity_columns": ["symbol"], "kind": "timestamp",
                          "bucket": "1h", "timezone": None}
    assert [ok(x) for x in got[1:3]] == ours
    overlap = got[3].get("overlap")
    assert overlap and overlap["count"] == want_overlap, got[3]
    assert overlap["entity"] == {"symbol": "AAPL"}
    assert overlap["range"] == "[2024-01-01T04:00:00Z, 2024-01-01T05:00:00Z)"
    assert overlap["range"] in r.stderr and "symbol=AAPL" in r.stderr
    assert ok(got[4]) == 5
    report = ok(got[5])
    assert not report["no_op"] and report["committed_version"] == 6, report
    assert report["rows_read"] == report["rows_written"]
    assert ok(got[6]) == 6
    after = [ok(x) for x in got[7:]]

    # Both sides agree on the optimized table; tstable's coverage answers include the new rows.
    implied.add(NEW)
    info = check_ours(cli, root, implied)
    assert info["version"] == 6
    assert [cli_sql(cli, root, q) for q in QUERIES] == after
    assert after[0][0][0] == sum(map(len, PARTS)) + len(NEW)
    segments = cli_json(cli, "segments", "--table", root)
    assert all(s["entity"] != "mixed" for s in segments), segments
    assert sum(s["rows"] for s in segments) == after[0][0][0]
    # And tstable still appends to it.
    cli.ok("append", "--table", root, "--parquet",
           parquet(rows(5, [0], ["AAPL"], 900), tmp_path / "later.parquet"))
    again = reference([{"op": "sql", "root": root, "sql": QUERIES[0]}])
    assert ok(again[0]) == [[after[0][0][0] + 1, after[0][0][1] + 900.0]]
