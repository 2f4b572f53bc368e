"""Tables written by the real reference 0.4.0 are used by tstable, and the reference then reads
what tstable added.

Each case has the reference (PyPI timeseries-table-format 0.4.0, run in its own venv through
compat_support.reference) create a table and append several Parquet files; then tstable (the
CLI, $TSTABLE_BIN) opens it and must give:
- `info`, `coverage` and `gaps` answers equal to what the rows imply (compat_support.Implied),
- SQL counts and sums equal to the reference's own SQL answer on the same table,
- the same overlap count as the reference for one overlapping file (a copy under another name:
  the reference copies a source into data/ under its own name),
- a successful non-overlapping append, whose rows the reference then reads too.
The cases: a timestamp index with an entity column, an int64 index with negative values and no
entity, a uint64 index whose buckets are the last of the domain, and a table the reference
optimized (mixed-entity segments rewritten into single-entity ones).

Timestamps here are zone-less: what the reference records for zoned files (and why a zoned file
does not go into its tables through tstable) is in test_reference_format.py.
"""

import datetime as dt
import shutil

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from compat_support import (BIN, REFERENCE, REFERENCE_MISSING, Cli, Domain, Implied, cli_json,
                            cli_sql, ok, overlap_count_in, reference)

pytestmark = [pytest.mark.skipif(not BIN.exists(), reason=f"{BIN} is not built"),
              pytest.mark.skipif(not REFERENCE.exists(), reason=REFERENCE_MISSING)]

DAY = dt.datetime(2024, 1, 1)
TOP = 2**64


def hours(day, hs, symbols, v0=0):
    """Rows of the timestamp cases: one per (hour, symbol), v counting up from v0."""
    rows = [{"ts": DAY + dt.timedelta(days=day, hours=h), "symbol": s}
            for h in hs for s in symbols]
    for i, r in enumerate(rows):
        r["v"] = float(v0 + i)
    return rows


def ints(values, entity=None, v0=0):
    rows = [{"seq": x, "v": float(v0 + i)} for i, x in enumerate(values)]
    if entity:
        for r in rows:
            r["sym"] = entity
    return rows


class Case:
    def __init__(self, create, domain, index, entities, appends, overlapping, new, optimize=False):
        self.create, self.domain, self.index, self.entities = create, domain, index, entities
        self.appends, self.overlapping, self.new = appends, overlapping, new
        self.optimize = optimize

    def write(self, rows, path):
        cols = {self.index: pa.array([r[self.index] for r in rows], self.domain.arrow_type)}
        for e in self.entities:
            cols[e] = pa.array([r[e] for r in rows], pa.string())
        cols["v"] = pa.array([r["v"] for r in rows], pa.float64())
        pq.write_table(pa.table(cols), path)
        return path


CASES = {
    "timestamp_entities": Case(
        {"index_column": "ts", "index_type": "timestamp", "entity_columns": ["symbol"],
         "bucket": "1h"},
        Domain("timestamp", 3600, pa.timestamp("us")), "ts", ["symbol"],
        [hours(0, range(0, 6), ["AAPL", "MSFT"]), hours(0, range(0, 6), ["NVDA"], 100),
         hours(1, range(0, 4), ["AAPL", "MSFT", "NVDA"], 200), hours(3, [5], ["AAPL"], 300)],
        # AAPL 04:00, 05:00 and MSFT 05:00 are covered; 06:00, 07:00 are not.
        hours(0, range(4, 8), ["AAPL"]) + hours(0, [5, 6], ["MSFT"]),
        hours(2, range(0, 3), ["AAPL", "MSFT", "TSLA"], 400)),
    "int64_negative": Case(
        {"index_column": "seq", "index_type": "int64", "bucket_width": 10},
        Domain("int64", 10, pa.int64()), "seq", [],
        [ints(range(-25, -10)), ints(range(0, 10), v0=50), ints([-1000, 35], v0=80)],
        ints(range(-15, 6)),  # buckets -20 and 0 are covered, -10 is not
        ints(range(50, 56), v0=90)),
    "uint64_top": Case(
        {"index_column": "seq", "index_type": "uint64", "entity_columns": ["sym"],
         "bucket_width": 4},
        Domain("uint64", 4, pa.uint64()), "seq", ["sym"],
        [ints(range(TOP - 20, TOP - 12), "a"),
         ints(range(TOP - 8, TOP - 4), "b", 20) + ints(range(TOP - 4, TOP), "a", 30)],
        ints([TOP - 14], "a") + ints([TOP - 6, TOP - 10], "b"),  # 2 of 3 buckets covered
        ints([TOP - 2, TOP - 1], "b", 40) + ints([TOP - 30], "c", 50)),
    "optimized_by_reference": Case(
        {"index_column": "ts", "index_type": "timestamp", "entity_columns": ["symbol"],
         "bucket": "15m"},
        Domain("timestamp", 900, pa.timestamp("ms")), "ts", ["symbol"],
        [hours(0, range(0, 4), ["AAPL", "MSFT"]), hours(0, range(4, 8), ["AAPL", "MSFT"], 10),
         hours(1, range(0, 2), ["AAPL", "MSFT", "NVDA"], 20)],
        hours(0, [3, 9], ["MSFT"]),  # 03:00 covered, 09:00 not
        hours(0, range(4, 8), ["NVDA"], 60),
        optimize=True),
}


def sums_sql(case):
    """The SQL both sides answer: counts and sums in total and per entity."""
    total = "SELECT count(*) AS n, sum(v) AS s FROM t"
    if not case.entities:
        return [total, f"SELECT count(*) AS n, sum(v) AS s FROM t WHERE {case.index} < 0"]
    e = case.entities[0]
    return [total, f"SELECT {e}, count(*) AS n, sum(v) AS s FROM t GROUP BY {e} ORDER BY {e}"]


def coverage_range(case, implied):
    """A range of whole buckets with one missing bucket on either side (clipped to uint64)."""
    d, b = case.domain, implied.buckets()
    start, end = (b[0] - 1) * d.width, (b[-1] + 2) * d.width
    if d.max is not None:
        end = min(end, d.max)
    return start, end


def arg(domain, units):
    return str(domain.fmt(units))


def check_coverage_answers(cli, root, case, implied):
    info = cli_json(cli, "info", "--table", root)
    expected = implied.info_coverage()
    if not case.entities:
        for c in expected:
            c.pop("entity")
        for c in info["coverage"]:
            c.pop("entity", None)
    assert info["coverage"] == expected
    start, end = coverage_range(case, implied)
    span = ["--start", arg(case.domain, start), "--end", arg(case.domain, end)]
    identities = [None] + sorted({e for e, _ in implied.pairs}) if case.entities else [None]
    for ident in identities:
        who = []
        if ident:
            who = ["--entity", f"{case.entities[0]}={ident[0]}"]
        got = cli_json(cli, "coverage", "--table", root, *span, *who)
        assert got == implied.coverage(start, end, ident), ident
        got = cli_json(cli, "gaps", "--table", root, *span, *who)
        assert got == implied.gaps(start, end, ident), ident
    return info


@pytest.mark.parametrize("name", CASES)
def test_tstable_uses_a_table_the_reference_wrote(tmp_path, name):
    case, cli = CASES[name], Cli()
    root = tmp_path / "t"
    files = [case.write(rows, tmp_path / f"part{i}.parquet") for i, rows in enumerate(case.appends)]
    overlap_ref = case.write(case.overlapping, tmp_path / "overlap_ref.parquet")
    overlap_ours = shutil.copy(overlap_ref, tmp_path / "overlap_ours.parquet")
    new = case.write(case.new, tmp_path / "new.parquet")
    queries = sums_sql(case)

    ops = [{"op": "create", "args": {"table_root": str(root), **case.create}}]
    ops += [{"op": "append", "root": root, "path": f} for f in files]
    if case.optimize:
        ops.append({"op": "optimize", "root": root})
    ops.append({"op": "append", "root": root, "path": overlap_ref})
    ops += [{"op": "sql", "root": root, "sql": q} for q in queries]
    got = reference(ops)
    for r in got[:1 + len(files)]:
        ok(r)
    if case.optimize:
        report = ok(got[1 + len(files)])
        assert not report["no_op"] and report["source_segments_replaced"] == len(files)
        got = got[1:]
    ref_overlap = got[1 + len(files)]
    ref_answers = [ok(r) for r in got[2 + len(files):]]

    implied = Implied(case.domain, case.index, case.entities)
    for rows in case.appends:
        implied.add(rows)
    want_overlap = implied.overlap(case.overlapping)
    assert want_overlap > 0
    assert ref_overlap.get("overlap", {}).get("count") == want_overlap, ref_overlap

    # tstable reads the reference's table.
    info = check_coverage_answers(cli, root, case, implied)
    assert info["rows"] == sum(len(rows) for rows in case.appends)
    segments = cli_json(cli, "segments", "--table", root)
    if case.optimize:
        assert segments and all(s["entity"] != "mixed" for s in segments), segments
    assert [cli_sql(cli, root, q) for q in queries] == ref_answers

    # The same overlap is refused with the same count; nothing is written.
    r = cli("append", "--table", root, "--parquet", overlap_ours)
    assert r.returncode == 1 and overlap_count_in(r.stderr) == want_overlap, r.stderr
    if case.entities:  # both name a first overlapping entity: the same one and bucket
        e = ref_overlap["overlap"]["entity"]
        assert f"{case.entities[0]}={e[case.entities[0]]}" in r.stderr, r.stderr
    assert ref_overlap["overlap"]["range"] in r.stderr, r.stderr
    # A new append goes in, and the reference reads its rows.
    version = info["version"]
    cli.ok("append", "--table", root, "--parquet", new)
    implied.add(case.new)
    check_coverage_answers(cli, root, case, implied)
    ours = [cli_sql(cli, root, q) for q in queries]
    after = reference([{"op": "version", "root": root}]
                      + [{"op": "sql", "root": root, "sql": q} for q in queries])
    assert ok(after[0]) == version + 1
    assert [ok(r) for r in after[1:]] == ours
    assert ours[0][0][0] == sum(len(rows) for rows in case.appends + [case.new])
