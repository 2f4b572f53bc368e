"""What the real reference 0.4.0 writes and reads, checked where it differs from what
/work/shared/reference/format-v6.md (and tstable before these checks) assumed.

- The unsigned index tag is "u_int64" in IndexKind (table metadata, UpdateTableCoverage) and in
  IndexValue (segment index_min/index_max); EntityValue stays "uint64". tstable writes exactly
  that, reads both spellings, and the reference refuses the old "uint64" IndexKind.
- The reference takes a segment's types from its Parquet logical types, not from ARROW:schema:
  a zoned pyarrow timestamp is recorded zone-less, int16 as Int32, large_string as Utf8. It
  also ignores the legacy ConvertedType, so DuckDB's strings and maps (UTF8/MAP without a
  LogicalType) read as Binary and Struct; tstable's re-encoded segments now carry the logical
  types, and the reference optimizes a table of strings, structs and maps tstable re-encoded.
- Zones: the reference takes no append into a table whose index schema is zoned (every file
  reads as zone-less to it), and tstable refuses a zoned file into a zone-less table the
  reference made from zoned files. Both are asserted as they are (see docs/internals/format.md,
  "Checked against the real 0.4.0").
"""

import datetime as dt
import json
import shutil
import subprocess

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from compat_support import (BIN, REFERENCE, REFERENCE_MISSING, REPO, Cli, cli_json, cli_sql,
                            commits, ok, reference)

pytestmark = [pytest.mark.skipif(not BIN.exists(), reason=f"{BIN} is not built"),
              pytest.mark.skipif(not REFERENCE.exists(), reason=REFERENCE_MISSING)]

TOP = 2**64


def tags(root):
    """Every spelling a table's log uses, by place: meta, coverage, index value, entity value."""
    seen = {"meta": set(), "coverage": set(), "index_value": set(), "entity_value": set()}
    for c in commits(root):
        for a in c["actions"]:
            if "UpdateTableMeta" in a:
                seen["meta"].add(a["UpdateTableMeta"]["kind"]["TimeSeries"]["kind"]["type"])
            if "UpdateTableCoverage" in a:
                seen["coverage"].add(a["UpdateTableCoverage"]["index_kind"]["type"])
            if "AddSegment" in a:
                seg = a["AddSegment"]
                seen["index_value"] |= {seg["index_min"]["type"], seg["index_max"]["type"]}
                layout = seg["entity_layout"]
                if isinstance(layout, dict):
                    seen["entity_value"] |= {v["type"] for v in layout["Single"]}
    return seen


U64_TAGS = {"meta": {"u_int64"}, "coverage": {"u_int64"}, "index_value": {"u_int64"},
            "entity_value": {"uint64"}}


def u64_file(path, seqs, keys, v0=0):
    pq.write_table(pa.table({"seq": pa.array(seqs, pa.uint64()), "k": pa.array(keys, pa.uint64()),
                             "v": pa.array([float(v0 + i) for i in range(len(seqs))])}), path)
    return path


def test_the_reference_tags_a_uint64_index_u_int64_and_tstable_writes_the_same(tmp_path):
    cli = Cli()
    ref, ours = tmp_path / "ref", tmp_path / "ours"
    first = u64_file(tmp_path / "a.parquet", [TOP - 1, TOP - 2], [TOP - 1, TOP - 1])
    second = u64_file(tmp_path / "b.parquet", [TOP - 9], [7], 10)
    got = reference([
        {"op": "create", "args": {"table_root": str(ref), "index_column": "seq",
                                  "index_type": "uint64", "entity_columns": ["k"],
                                  "bucket_width": 4}},
        {"op": "append", "root": ref, "path": first},
        {"op": "append", "root": ref, "path": second}])
    assert [ok(r) for r in got] == [1, 2, 3]
    assert tags(ref) == U64_TAGS
    # The excerpt docs/internals/format.md shows.
    log = commits(ref)
    assert log[0]["actions"][0]["UpdateTableMeta"]["kind"]["TimeSeries"]["kind"] == \
        {"type": "u_int64", "bucket_width": 4}
    add = next(a["AddSegment"] for a in log[1]["actions"] if "AddSegment" in a)
    assert add["entity_layout"] == {"Single": [{"type": "uint64", "value": TOP - 1}]}
    assert add["index_min"] == {"type": "u_int64", "value": TOP - 2}
    # tstable reads that table...
    info = cli_json(cli, "info", "--table", ref)
    assert info["index"] == {"column": "seq", "type": "uint64", "bucket_width": 4}
    assert [c["entity"] for c in info["coverage"]] == [{"k": 7}, {"k": TOP - 1}]
    assert cli_sql(cli, ref, "SELECT count(*), sum(v), max(seq) FROM t") == [[3, 11.0, TOP - 1]]

    # ...and writes the same spellings (a Single segment carries a uint64 EntityValue).
    cli.ok("create", "--table", ours, "--protocol", "6", "--index-column", "seq", "--index-type", "uint64",
           "--bucket-width", "4", "--entity", "k")
    cli.ok("append", "--table", ours, "--parquet", shutil.copy(first, tmp_path / "a2.parquet"))
    cli.ok("append", "--table", ours, "--parquet", shutil.copy(second, tmp_path / "b2.parquet"))
    assert tags(ours) == U64_TAGS
    later = u64_file(tmp_path / "c.parquet", [TOP - 20], [7], 20)
    got = reference([{"op": "index_spec", "root": ours},
                     {"op": "sql", "root": ours, "sql": "SELECT count(*), sum(v) FROM t"},
                     {"op": "append", "root": ours, "path": later}])
    assert ok(got[0]) == {"column": "seq", "entity_columns": ["k"], "kind": "uint64",
                          "bucket_width": 4}
    assert ok(got[1]) == [[3, 11.0]]
    assert ok(got[2]) == 4
    assert tags(ours) == U64_TAGS  # the reference's commit 4 spells them the same
    assert cli_sql(cli, ours, "SELECT count(*), min(seq) FROM t") == [[4, TOP - 20]]


def test_the_old_uint64_spelling_is_read_by_tstable_and_refused_by_the_reference(tmp_path):
    """Tables tstable wrote before this check said "uint64"; they stay readable here."""
    cli, root = Cli(), tmp_path / "old"
    cli.ok("create", "--table", root, "--protocol", "6", "--index-column", "seq", "--index-type", "uint64",
           "--bucket-width", "4", "--entity", "k")
    cli.ok("append", "--table", root, "--parquet",
           u64_file(tmp_path / "a.parquet", [TOP - 1, 5], [1, 2]))
    for p in (root / "_timeseries_log").glob("*.json"):
        p.write_text(p.read_text().replace('"u_int64"', '"uint64"'))
    assert tags(root)["meta"] == {"uint64"}
    assert cli_sql(cli, root, "SELECT count(*), max(seq) FROM t") == [[2, TOP - 1]]
    got = reference([{"op": "index_spec", "root": root}])
    assert "unknown variant `uint64`, expected one of `timestamp`, `int64`, `u_int64`" \
        in got[0]["error"]


def logical_types(root):
    """The table's logical schema: {column: data_type}."""
    for c in reversed(commits(root)):
        for a in c["actions"]:
            meta = a.get("UpdateTableMeta")
            if meta and meta["logical_schema"]:
                return {f["name"]: f["data_type"] for f in meta["logical_schema"]["columns"]}
    return None


def bars(day, zone="UTC", unit="us", symbol=pa.string(), extra=None):
    base = dt.datetime(2024, 1, day, tzinfo=dt.timezone.utc)
    ts = pa.array([base + dt.timedelta(hours=h) for h in range(3)], pa.timestamp("us", tz="UTC"))
    cols = {"ts": ts.cast(pa.timestamp(unit, tz=zone)),
            "symbol": pa.array(["A", "A", "A"], symbol), "v": pa.array([1.0, 2.0, 3.0])}
    cols.update(extra or {})
    return pa.table(cols)


def test_the_reference_takes_types_from_parquet_not_from_arrow_schema(tmp_path):
    """A zoned pyarrow file is recorded zone-less; int16 and large_string are widened, though
    format-v6 says the ARROW:schema types are kept exactly (and int16/large_utf8 refused)."""
    path = tmp_path / "z.parquet"
    pq.write_table(bars(1, symbol=pa.large_string(),
                        extra={"n": pa.array([1, 2, 3], pa.int16())}), path)
    assert b"ARROW:schema" in pq.read_metadata(path).metadata
    root = tmp_path / "ref"
    got = reference([
        {"op": "create", "args": {"table_root": str(root), "index_column": "ts",
                                  "index_type": "timestamp", "entity_columns": ["symbol"],
                                  "bucket": "1h"}},
        {"op": "append", "root": root, "path": path}])
    assert [ok(r) for r in got] == [1, 2]
    assert logical_types(root) == {"ts": {"Timestamp": {"unit": "Micros", "timezone": None}},
                                   "symbol": "Utf8", "v": "Float64", "n": "Int32"}


def test_zoned_tables_do_not_cross_between_the_two(tmp_path):
    cli = Cli()
    zoned = [pq.write_table(bars(d), tmp_path / f"z{d}.parquet") or tmp_path / f"z{d}.parquet"
             for d in (1, 2, 3, 4)]
    naive = tmp_path / "naive.parquet"
    pq.write_table(bars(5, zone=None), naive)
    # The reference's table from a zoned file: zone-less to it, and it takes more zoned files.
    ref = tmp_path / "ref"
    got = reference([
        {"op": "create", "args": {"table_root": str(ref), "index_column": "ts",
                                  "index_type": "timestamp", "entity_columns": ["symbol"],
                                  "bucket": "1h"}},
        {"op": "append", "root": ref, "path": zoned[0]},
        {"op": "append", "root": ref, "path": zoned[1]}])
    assert [ok(r) for r in got] == [1, 2, 3]
    # tstable reads it, takes a zone-less file, and refuses a zoned one saying why.
    assert cli_sql(cli, ref, "SELECT count(*), sum(v) FROM t") == [[6, 12.0]]
    cli.ok("append", "--table", ref, "--parquet", naive)
    r = cli("append", "--table", ref, "--parquet", zoned[2])
    assert r.returncode == 1 and "a zone-less column and a zoned one" in r.stderr

    # tstable's table from a zoned file says "UTC"; the reference reads it but takes no file.
    ours = tmp_path / "ours"
    cli.ok("create", "--table", ours, "--protocol", "6", "--index-column", "ts", "--bucket", "1h",
           "--entity", "symbol")
    cli.ok("append", "--table", ours, "--parquet", zoned[0])
    assert logical_types(ours)["ts"] == {"Timestamp": {"unit": "Micros", "timezone": "UTC"}}
    got = reference([{"op": "sql", "root": ours, "sql": "SELECT count(*) FROM t"},
                     {"op": "append", "root": ours, "path": zoned[3]},
                     {"op": "append", "root": ours, "path": naive}])
    assert ok(got[0]) == [[3]]
    for refused in got[1:]:
        assert "table has timestamp[us](UTC), segment has timestamp[us]" in refused["error"]


def test_the_c_example_table_of_the_sample_csv_is_read_by_the_reference(tmp_path):
    """examples/tstable_demo.c on examples/data/nvda_1h_sample.csv (RFC 3339 times with Z, so
    a zoned index): the reference reads its rows, and refuses appends as above."""
    demo = BIN.parent / "tstable_demo"
    if not demo.exists():
        pytest.skip(f"{demo} is not built")
    root = tmp_path / "demo"
    r = subprocess.run([str(demo), str(root), str(REPO / "examples/data/nvda_1h_sample.csv"), "6"],
                       capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r.stderr
    ours = cli_sql(Cli(), root, "SELECT count(*), sum(volume) FROM t")
    got = reference([{"op": "sql", "root": root, "sql": "SELECT count(*), sum(volume) FROM t"},
                     {"op": "optimize", "root": root}])
    assert ok(got[0]) == ours and ours[0][0] == 240
    assert ok(got[1])["no_op"]  # one NVDA segment: nothing mixed to rewrite


def test_the_reference_optimizes_strings_structs_and_maps_tstable_re_encoded(tmp_path):
    """DuckDB writes UTF8 and MAP without a LogicalType; the reference read them as Binary and
    Struct and its optimize() refused the segment until tstable added the logical types."""
    cli, root = Cli(), tmp_path / "t"
    extra = {"st": pa.array([{"a": 1, "b": "x"}] * 3),
             "m": pa.array([[("k", 1.5)]] * 3, pa.map_(pa.utf8(), pa.float64()))}
    files = []
    for day in (1, 2):
        t = pa.concat_tables([bars(day, zone=None, symbol=pa.large_string(), extra=extra),
                              bars(day, zone=None, symbol=pa.large_string(),
                                   extra=extra).set_column(1, "symbol",
                                                           pa.array(["B"] * 3, pa.large_string()))])
        files.append(tmp_path / f"m{day}.parquet")
        pq.write_table(t, files[-1])  # large_string: re-encoded by DuckDB
    cli.ok("create", "--table", root, "--protocol", "6", "--index-column", "ts", "--bucket", "1h",
           "--entity", "symbol")
    for f in files:
        cli.ok("append", "--table", root, "--parquet", f)
    q = "SELECT symbol, count(*), sum(v), sum(st.a), max(st.b) FROM t GROUP BY 1 ORDER BY 1"
    ours = cli_sql(cli, root, q)
    got = reference([{"op": "optimize", "root": root}, {"op": "sql", "root": root, "sql": q}])
    report = ok(got[0])
    assert report["source_segments_replaced"] == 2 and report["replacement_segments_written"] == 4
    assert ok(got[1]) == ours == [["A", 6, 12.0, 6, "x"], ["B", 6, 12.0, 6, "x"]]
    assert cli_sql(cli, root, q) == ours
    assert all(s["entity"] != "mixed" for s in cli_json(cli, "segments", "--table", root))
    maps = cli_sql(cli, root, "SELECT sum(m['k']) FROM t")
    assert maps == [[18.0]]


def test_the_reference_copies_an_appended_file_under_its_own_name(tmp_path):
    """format-v6 §3 says every append re-encodes into data/<uuid>.parquet; 0.4.0's
    append_parquet copies the file byte for byte to data/<its name>, so a second file of the
    same name is refused before any overlap check."""
    src = tmp_path / "bars.parquet"
    pq.write_table(pa.table({"seq": pa.array([1, 2, 3], pa.int64()), "v": [1.0, 2.0, 3.0]}), src,
                   row_group_size=1)
    other = tmp_path / "other"
    other.mkdir()
    pq.write_table(pa.table({"seq": pa.array([50], pa.int64()), "v": [5.0]}), other / src.name)
    root = tmp_path / "ref"
    got = reference([
        {"op": "create", "args": {"table_root": str(root), "index_column": "seq",
                                  "index_type": "int64", "bucket_width": 10}},
        {"op": "append", "root": root, "path": src},
        {"op": "append", "root": root, "path": other / src.name}])
    assert ok(got[1]) == 2
    assert (root / "data" / src.name).read_bytes() == src.read_bytes()
    assert got[2]["error"].startswith("StorageError") and "Path already exists" in got[2]["error"]
    # tstable names its segments by UUID: the same file appends there (the buckets are free).
    Cli().ok("append", "--table", root, "--parquet", other / src.name)
    assert cli_sql(Cli(), root, "SELECT count(*), sum(v) FROM t") == [[4, 11.0]]


def log_shape(root):
    """The log's actions without what differs by nature (paths, sizes, times)."""
    out = []
    for c in commits(root):
        for a in c["actions"]:
            (kind, body), = a.items()
            if kind == "UpdateTableMeta":
                body = {k: v for k, v in body.items() if k != "created_at"}
            elif kind == "AddSegment":
                body = {k: v for k, v in body.items()
                        if k not in ("path", "coverage_path", "file_size")}
            elif kind == "UpdateTableCoverage":
                body = {k: v for k, v in body.items() if k != "coverage_path"}
            out.append({kind: body})
    return out


def test_both_write_the_same_log_for_composite_entities_and_a_zone_name(tmp_path):
    """Entity columns int32, utf8 and int64, a 15m bucket and a timezone name; both sides write
    the same actions and refuse the same overlap (one pair, the same identity and bucket)."""
    cli = Cli()
    ts = [dt.datetime(2024, 1, 1, h) for h in range(3)]

    def write(path, venues, syms):
        pq.write_table(pa.table({"ts": pa.array(ts, pa.timestamp("ms")),
                                 "venue": pa.array(venues, pa.int32()), "sym": syms,
                                 "acct": pa.array([-5] * 3, pa.int64()),
                                 "v": [1.0, 2.0, 3.0]}), path)
        return path

    first = write(tmp_path / "a.parquet", [3, 3, 3], ["A", "A", "A"])
    second = write(tmp_path / "b.parquet", [3, 4, 3], ["A", "A", "B"])
    ref, ours = tmp_path / "ref", tmp_path / "ours"
    got = reference([
        {"op": "create", "args": {"table_root": str(ref), "index_column": "ts",
                                  "index_type": "timestamp",
                                  "entity_columns": ["venue", "sym", "acct"], "bucket": "15m",
                                  "timezone": "America/New_York"}},
        {"op": "append", "root": ref, "path": first},
        {"op": "append", "root": ref, "path": second}])
    assert [ok(r) for r in got[:2]] == [1, 2]
    assert got[2]["overlap"] == {"count": 1, "entity": {"venue": 3, "sym": "A", "acct": -5},
                                 "bucket": got[2]["overlap"]["bucket"],
                                 "range": "[2024-01-01T00:00:00Z, 2024-01-01T00:15:00Z)"}
    cli.ok("create", "--table", ours, "--protocol", "6", "--index-column", "ts", "--bucket", "15m",
           "--timezone", "America/New_York", "--entity", "venue,sym,acct")
    cli.ok("append", "--table", ours, "--parquet", shutil.copy(first, tmp_path / "a2.parquet"))
    r = cli("append", "--table", ours, "--parquet", shutil.copy(second, tmp_path / "b2.parquet"))
    assert r.returncode == 1
    assert "venue=3,sym=A,acct=-5 [2024-01-01T00:00:00Z, 2024-01-01T00:15:00Z)" in r.stderr
    assert log_shape(ours) == log_shape(ref)
    add = log_shape(ref)[2]["AddSegment"]
    assert add["entity_layout"] == {"Single": [{"type": "int32", "value": 3},
                                               {"type": "utf8", "value": "A"},
                                               {"type": "int64", "value": -5}]}
