"""Protocol 7 against the real reference 0.9.0, both ways.

The reference 0.9.0 (PyPI timeseries-table-format==0.9.0, which scripts/deps.sh installs into
.deps/refvenv09; TSTABLE_REFERENCE09_PYTHON names another interpreter) runs in subprocesses of its
own, one per batch of operations.

- Tables 0.9.0 writes (timestamp index with an entity column, optimized; int64; uint64 near
  2^64) open in tstable: `info` shows protocol 7, coverage and gaps are what the rows imply,
  and query counts and sums equal 0.9.0's own Session.sql. An overlapping append is rejected by
  both with the same count; a new append by tstable is then read by 0.9.0.
- Tables tstable creates with `--protocol 7` and appends to (a byte-copied Parquet file, a
  re-encoded one, a CSV file, and a pyarrow table through our Python package) open in 0.9.0
  with the same counts and sums, and take its append and its optimize; tstable then reads the
  result.
"""

import datetime as dt
import json

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from compat_support import Cli, cli_json, cli_sql, overlap_count_in, our_package

from reference09 import ok, pytestmark, ref  # noqa: F401 (pytestmark is used by pytest)


DAY = dt.datetime(2024, 1, 1)
TS_QUERIES = ["SELECT count(*) AS n, sum(v) AS s FROM t",
              "SELECT symbol, count(*) AS n, sum(v) AS s FROM t GROUP BY symbol ORDER BY symbol"]
INT_QUERIES = ["SELECT count(*) AS n, sum(v) AS s, min(k) AS lo, max(k) AS hi FROM t"]


def ts_rows(day, hours, symbols, v0=0.0):
    rs = [(DAY + dt.timedelta(days=day, hours=h), s) for h in hours for s in symbols]
    return pa.table({"ts": pa.array([r[0] for r in rs], pa.timestamp("us")),
                     "symbol": pa.array([r[1] for r in rs], pa.string()),
                     "v": pa.array([v0 + i for i in range(len(rs))], pa.float64())})


def int_rows(values, arrow_type):
    return pa.table({"k": pa.array(values, arrow_type),
                     "v": pa.array([float(i) for i in range(len(values))], pa.float64())})


def write(table, path, **kw):
    pq.write_table(table, path, **kw)
    return path


def same_sql(cli, root, queries):
    for q in queries:
        theirs = ok(ref({"op": "sql", "root": root, "sql": q})[0])
        assert cli_sql(cli, root, q) == theirs, q


# ---- tables the reference 0.9.0 writes --------------------------------------------------------

def test_timestamp_table_written_by_0_9_opens_queries_and_takes_appends(tmp_path):
    cli = Cli()
    root = tmp_path / "bars"
    mixed = write(ts_rows(0, range(6), ["AAPL", "MSFT"]), tmp_path / "mixed.parquet")
    nvda = write(ts_rows(0, range(3), ["NVDA"], 100.0), tmp_path / "nvda.parquet")
    results = ref({"op": "create", "args": {"table_root": str(root), "index_column": "ts",
                                            "index_type": "timestamp", "index_granularity": "1h",
                                            "entity_columns": ["symbol"]}},
                  {"op": "append", "root": root, "path": mixed},
                  {"op": "append", "root": root, "path": nvda},
                  {"op": "optimize", "root": root})
    for r in results:
        ok(r)
    assert ok(results[3])["no_op"] is False  # the mixed segment was split
    info = cli_json(cli, "info", "--table", root)
    assert (info["protocol"], info["reader_features"], info["writer_features"]) == (7, [], [])
    assert info["version"] == 4 and info["rows"] == 15
    assert all(s["path"].startswith("data/") for s in
               json.loads(cli.ok("segments", "--table", root, "--format", "json").stdout))
    same_sql(cli, root, TS_QUERIES)
    cov = cli_json(cli, "coverage", "--table", root, "--entity", "symbol=NVDA",
                   "--start", "2024-01-01T00:00:00Z", "--end", "2024-01-01T06:00:00Z")
    assert (cov["covered_buckets"], cov["total_buckets"]) == (3, 6)
    gaps = cli_json(cli, "gaps", "--table", root, "--entity", "symbol=NVDA",
                    "--start", "2024-01-01T00:00:00Z", "--end", "2024-01-01T06:00:00Z")
    assert [(g["start"], g["buckets"]) for g in gaps] == [("2024-01-01T03:00:00Z", 3)]

    # The same overlapping file: both refuse it, with the same count (AAPL 04:00, 05:00, NVDA 01:00).
    overlap = pa.concat_tables([ts_rows(0, [4, 5, 7], ["AAPL"]), ts_rows(0, [1], ["NVDA"], 9.0)])
    over = write(overlap, tmp_path / "over.parquet")
    theirs = ref({"op": "append", "root": root, "path": over})[0]
    r = cli("append", "--table", root, "--parquet", over)
    assert r.returncode == 1
    assert theirs == {"overlap": 3} and overlap_count_in(r.stderr) == 3

    # A new append by tstable lands in data/_managed/append/, and 0.9.0 reads it.
    new = write(ts_rows(3, range(3), ["AAPL", "TSLA"], 300.0), tmp_path / "new.parquet")
    cli.ok("append", "--table", root, "--parquet", new)
    last = json.loads((root / "_timeseries_log" / "0000000005.json").read_text())
    assert last["actions"][0]["AddSegment"]["path"].startswith("data/_managed/append/")
    assert "index_granularity" in json.dumps(last["actions"][1]["UpdateTableCoverage"])
    assert ok(ref({"op": "version", "root": root})[0]) == 5
    same_sql(cli, root, TS_QUERIES)
    # tstable's optimize splits that mixed segment; 0.9.0 reads the result and finds nothing
    # left to optimize.
    cli.ok("optimize", "--table", root, "--mode", "entity-layout")
    assert cli_json(cli, "info", "--table", root)["version"] == 6
    same_sql(cli, root, TS_QUERIES)
    assert ok(ref({"op": "optimize", "root": root})[0])["no_op"] is True


def test_integer_tables_written_by_0_9_open_and_query(tmp_path):
    cli = Cli()
    top = 2**64 - 1
    cases = [("int64", pa.int64(), 10, [-25, -5, 0, 15, 100], ("-30", "110")),
             ("uint64", pa.uint64(), 7, [top - 99, top - 9, top], (str(top - 104), str(top)))]
    for name, arrow_type, width, values, (start, end) in cases:
        root = tmp_path / name
        src = write(int_rows(values, arrow_type), tmp_path / f"{name}.parquet")
        for r in ref({"op": "create", "args": {"table_root": str(root), "index_column": "k",
                                               "index_type": name, "index_granularity": width}},
                     {"op": "append", "root": root, "path": src}):
            ok(r)
        commit = (root / "_timeseries_log" / "0000000002.json").read_text()
        assert f'"kind":{{"type":"{name}","index_granularity":{width}}}' in commit
        info = cli_json(cli, "info", "--table", root)
        assert info["protocol"] == 7 and info["rows"] == len(values), name
        rows = cli_sql(cli, root, "SELECT count(*) AS n, min(k) AS lo, max(k) AS hi FROM t")
        assert rows == [[len(values), min(values), max(values)]], name
        theirs = ok(ref({"op": "sql", "root": root,
                         "sql": "SELECT count(*) AS n, sum(v) AS s FROM t"})[0])
        assert cli_sql(cli, root, "SELECT count(*) AS n, sum(v) AS s FROM t") == theirs, name
        buckets = {v // width for v in values if int(start) <= v < int(end) or v == top}
        cov = cli_json(cli, "coverage", "--table", root, "--start", start, "--end", end)
        assert cov["covered_buckets"] == len(buckets), (name, cov)


def test_table_after_add_columns_reads_with_nulls_and_takes_writes(tmp_path):
    """0.8+'s add_columns declares the reader feature schema_add_columns: older segments lack
    the added columns. tstable reads them as nulls, as 0.9.0's SQL does, and writes to the
    table: an append with the new columns, one without them (written as nulls), an optimize;
    0.9.0 then reads the result with the same answers and takes its own append."""
    cli = Cli()
    root = tmp_path / "evolved"
    before = write(ts_rows(0, range(3), ["AAPL", "MSFT"]), tmp_path / "before.parquet")
    after = ts_rows(1, range(2), ["AAPL"], 10.0)
    after = after.append_column("extra", pa.array([7, None], pa.int64()))
    after = after.append_column("note", pa.array(["x", "y"], pa.string()))
    after = write(after, tmp_path / "after.parquet")
    for r in ref({"op": "create", "args": {"table_root": str(root), "index_column": "ts",
                                           "index_type": "timestamp", "index_granularity": "1h",
                                           "entity_columns": ["symbol"]}},
                 {"op": "append", "root": root, "path": before},
                 {"op": "add_columns", "root": root, "columns": [["extra", "int64"],
                                                                 ["note", "string"]]},
                 {"op": "append", "root": root, "path": after}):
        ok(r)
    info = cli_json(cli, "info", "--table", root)
    assert info["reader_features"] == ["schema_add_columns"] and info["rows"] == 8
    assert [c["name"] for c in info["schema"]] == ["ts", "symbol", "v", "extra", "note"]
    evolved_queries = TS_QUERIES + [
        "SELECT count(*) AS n, count(extra) AS e, sum(extra) AS s, count(note) AS c FROM t",
        "SELECT count(*) AS n FROM t WHERE extra IS NULL AND note IS NULL"]
    same_sql(cli, root, evolved_queries)
    rows = cli_sql(cli, root, "SELECT count(*) AS n FROM t WHERE extra IS NULL AND note IS NULL")
    assert rows == [[6]]  # the six rows appended before add_columns
    # Our Python package reads it the same way.
    ttf = our_package()
    s = ttf.Session()
    s.register_tstable("t", str(root))
    assert s.sql("SELECT count(note) AS c FROM t").to_pylist() == [{"c": 2}]
    # tstable appends with the new columns, then without them (nulls), then optimizes.
    new = write(ts_rows(5, [0], ["AAPL"]).append_column("extra", pa.array([1], pa.int64()))
                .append_column("note", pa.array(["z"], pa.string())), tmp_path / "new.parquet")
    cli.ok("append", "--table", root, "--parquet", new)
    cli.ok("append", "--table", root, "--parquet",
           write(ts_rows(6, [0, 1], ["MSFT"], 20.0), tmp_path / "without.parquet"))
    assert cli_sql(cli, root, "SELECT count(*), count(extra), sum(extra) FROM t") == [[11, 2, 8]]
    same_sql(cli, root, evolved_queries)
    cli.ok("optimize", "--table", root, "--mode", "entity-layout")
    same_sql(cli, root, evolved_queries)
    # 0.9.0 takes an append (without the new columns) and still agrees.
    ok(ref({"op": "append", "root": root,
            "path": write(ts_rows(7, [0], ["NVDA"], 30.0), tmp_path / "ref.parquet")})[0])
    same_sql(cli, root, evolved_queries)
    assert cli_sql(cli, root, "SELECT count(*), count(note) FROM t") == [[12, 3]]


# ---- tables tstable writes with --protocol 7 --------------------------------------------------

def test_tables_tstable_writes_with_protocol_7_work_in_0_9(tmp_path):
    cli = Cli()
    roots = {}
    # CLI: a byte-copied Parquet file (the table's own column order), then a re-encoded one
    # (another column order, small row groups), then a CSV file.
    root = roots["cli"] = tmp_path / "cli"
    cli.ok("create", "--table", root, "--protocol", "7", "--index-column", "ts",
           "--index-type", "timestamp", "--index-granularity", "1h", "--entity", "symbol")
    first = write(ts_rows(0, range(6), ["AAPL", "MSFT"]), tmp_path / "a.parquet")
    cli.ok("append", "--table", root, "--parquet", first)
    other = ts_rows(1, range(4), ["AAPL", "NVDA"], 50.0).select(["v", "symbol", "ts"])
    cli.ok("append", "--table", root, "--parquet", write(other, tmp_path / "b.parquet",
                                                          row_group_size=2))
    csv = tmp_path / "c.csv"
    csv.write_text("ts,symbol,v\n" + "".join(f"2024-01-03 0{h}:00:00,MSFT,{h}.5\n" for h in range(3)))
    cli.ok("append", "--table", root, "--csv", csv)
    # Python: our package, create(protocol=7) and append of a pyarrow table.
    ttf = our_package()
    root = roots["python"] = tmp_path / "py"
    t = ttf.TimeSeriesTable.create(table_root=str(root), index_column="ts", index_type="timestamp",
                                   index_granularity="1h", entity_columns=["symbol"], protocol=7)
    t.append(ts_rows(0, range(5), ["AAPL", "MSFT", "NVDA"]))
    with pytest.raises(ttf.DuplicateIndexIntervalError) as err:
        t.append(ts_rows(5, [0, 0], ["AAPL"]))
    assert err.value.example_identity == {"symbol": "AAPL"}
    assert err.value.example_index_interval == "[2024-01-06T00:00:00Z, 2024-01-06T01:00:00Z)"
    assert t.version() == 2

    for name, root in roots.items():
        commits = sorted((root / "_timeseries_log").glob("*.json"))
        for c in commits:
            text = c.read_text()
            assert "format_version" not in text and '"bucket' not in text, (c, text)
            assert ('"protocol_version":7' in text) == ('"UpdateTableMeta"' in text), (c, text)
        spec = ok(ref({"op": "index_spec", "root": root})[0])
        assert (spec["index_type"], spec["entity_columns"]) == ("timestamp", ["symbol"]), name
        same_sql(cli, root, TS_QUERIES)
        version = ok(ref({"op": "version", "root": root})[0])
        new = write(ts_rows(9, range(2), ["TSLA", "AAPL"], 900.0), tmp_path / f"{name}-new.parquet")
        dup = write(ts_rows(10, [0, 0], ["TSLA"]), tmp_path / f"{name}-dup.parquet")
        appended, duplicate, optimized = ref({"op": "append", "root": root, "path": new},
                                             {"op": "append", "root": root, "path": dup},
                                             {"op": "optimize", "root": root})
        assert ok(appended) == version + 1, name
        assert duplicate == {"duplicate": "[2024-01-11T00:00:00Z, 2024-01-11T01:00:00Z)"}, name
        assert ok(optimized)["no_op"] is False, name
        # tstable reads what 0.9.0 wrote into our table, and both agree.
        info = cli_json(cli, "info", "--table", root)
        assert info["version"] == version + 2 and info["protocol"] == 7, name
        same_sql(cli, root, TS_QUERIES)
        # The same duplicate is refused by tstable too, and nothing is written.
        r = cli("append", "--table", root, "--parquet", dup)
        assert r.returncode == 1 and "Duplicate ordered-index interval" in r.stderr, r.stderr
        assert cli_json(cli, "info", "--table", root)["version"] == version + 2


def test_duplicate_interval_at_the_top_of_uint64_is_named_as_0_9_names_it(tmp_path):
    """2^64 - 2 and 2^64 - 1 share the last interval of width 7, which is clipped (closed)."""
    cli = Cli()
    src = write(int_rows([5, 2**64 - 1, 2**64 - 2], pa.uint64()), tmp_path / "dup.parquet")
    theirs = ref({"op": "create", "args": {"table_root": str(tmp_path / "r"), "index_column": "k",
                                           "index_type": "uint64", "index_granularity": 7}},
                 {"op": "append", "root": tmp_path / "r", "path": src})[1]
    cli.ok("create", "--table", tmp_path / "u", "--protocol", "7", "--index-column", "k",
           "--index-type", "uint64", "--index-granularity", "7")
    r = cli("append", "--table", tmp_path / "u", "--parquet", src)
    assert theirs == {"duplicate": "[18446744073709551614, 18446744073709551615]"}
    assert r.returncode == 1
    assert f"Duplicate ordered-index interval {theirs['duplicate']}: 2 rows" in r.stderr
