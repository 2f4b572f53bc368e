"""schema_metadata (protocol 7) against the real reference 0.9.0, both ways.

The reference 0.9.0 (.deps/refvenv09, or TSTABLE_REFERENCE09_PYTHON) runs in subprocesses of its
own, as in test_reference09.py. Its reads check every data file's footer ARROW:schema against the
table's annotations ("Parquet schema metadata does not match"), so each successful 0.9.0 query
or optimize below also proves the footers tstable wrote.

- A table 0.9.0 writes from an Arrow schema with schema, field and nested annotations opens in
  tstable with the same answers; tstable appends to it (a file without annotation keys, one with
  a subset, one through the Python package), refuses a conflicting or extra key with nothing
  written, and 0.9.0 then reads, appends to and optimizes the result.
- A table tstable writes with annotations (protocol 7, Python append of a pyarrow table) records
  the same logical schema JSON 0.9.0 records for the same Arrow schema, declares the feature as
  0.9.0 does, and opens in 0.9.0 with identical answers and annotations; 0.9.0 appends to it
  (with and without keys), refuses what tstable refuses, and optimizes it.
"""

import base64
import json
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from compat_support import Cli, cli_json, cli_sql, our_package

from reference09 import ok, pytestmark, ref  # noqa: F401 (pytestmark is used by pytest)


SCHEMA_MD = {"unit": "ms", "description": "\u6e29\u5ea6", "opaque": '{"version":1}'}
CHILD = pa.field("value", pa.int64(), metadata={"unit": "ms"})
SCHEMA = pa.schema([
    pa.field("idx", pa.int64()),
    pa.field("entity", pa.string(), metadata={"role": "key"}),
    pa.field("v", pa.float64(), metadata={"unit": "degC", "source": "sensor"}),
    pa.field("s", pa.struct([CHILD])),
], metadata=SCHEMA_MD)
# Lists and maps: segments tstable re-encodes carry the Parquet names DuckDB writes ("element",
# "key_value"), which 0.9.0's optimize refuses whatever the annotations (a separate, older
# limitation), so they are checked apart, through reads, appends and the log.
NESTED = pa.schema([
    pa.field("idx", pa.int64()), pa.field("entity", pa.string()),
    pa.field("l", pa.list_(CHILD.with_name("item")), metadata={"origin": "sensor"}),
    pa.field("m", pa.map_(pa.field("key", pa.string(), nullable=False, metadata={"k": "1"}),
                          CHILD)),
], metadata={"unit": "ms"})
QUERIES = ["SELECT count(*) AS n, sum(v) AS s, min(idx) AS lo, max(idx) AS hi FROM t",
           "SELECT entity, count(*) AS n, sum(v) AS s, sum(s.value) AS sv FROM t "
           "GROUP BY entity ORDER BY entity"]
EXPECTED = {"schema": SCHEMA_MD,
            "fields": {f.name: {k.decode(): v.decode() for k, v in (f.metadata or {}).items()}
                       for f in SCHEMA}}


def rows(idx, entities=("A", "B"), schema=SCHEMA):
    n = len(entities)
    return pa.table([pa.array([idx] * n, pa.int64()), pa.array(list(entities)),
                     pa.array([float(idx * 10 + i) for i in range(n)]),
                     pa.array([{"value": idx + i} for i in range(n)], SCHEMA.field("s").type)],
                    schema=schema)


def write(table, path):
    """A Parquet file for tstable's CLI, and the same rows as Arrow IPC (path.arrow) for 0.9.0."""
    pq.write_table(table, path)
    with pa.ipc.new_file(str(path) + ".arrow", table.schema) as f:
        f.write_table(table)
    return path


def ipc(path):
    return Path(str(path) + ".arrow")


def same_sql(cli, root):
    for q in QUERIES:
        theirs = ok(ref({"op": "sql", "root": root, "sql": q})[0])
        assert cli_sql(cli, root, q) == theirs, q


def log_meta(root, version):
    commit = json.loads((root / "_timeseries_log" / f"{version:010d}.json").read_text())
    return next(a["UpdateTableMeta"] for a in commit["actions"] if "UpdateTableMeta" in a)


def footer_schema(path):
    encoded = pq.ParquetFile(path).metadata.metadata[b"ARROW:schema"]
    return pa.ipc.read_schema(pa.BufferReader(base64.b64decode(encoded)))


def snapshot(root):
    return {p: p.read_bytes() for p in root.rglob("*") if p.is_file()}


def create_args(root):
    return {"table_root": str(root), "index_column": "idx", "index_type": "int64",
            "index_granularity": 1, "entity_columns": ["entity"]}


def test_annotated_table_written_by_0_9_opens_answers_and_takes_tstable_appends(tmp_path):
    cli = Cli()
    root = tmp_path / "ref"
    first = write(rows(0), tmp_path / "first.parquet")
    for r in ref({"op": "create", "args": create_args(root)},
                 {"op": "append", "root": root, "path": ipc(first)}):
        ok(r)
    info = cli_json(cli, "info", "--table", root)
    assert (info["reader_features"], info["writer_features"]) == (["schema_metadata"],
                                                                  ["schema_metadata"])
    same_sql(cli, root)

    # Appends by tstable: no annotation keys at all, a subset of them, and the Python package.
    cli.ok("append", "--table", root, "--parquet",
           write(rows(1).replace_schema_metadata(None), tmp_path / "bare.parquet"))
    subset = SCHEMA.with_metadata({"unit": "ms"}).set(2, SCHEMA.field("v").with_metadata(None))
    cli.ok("append", "--table", root, "--parquet", write(rows(2, schema=subset),
                                                         tmp_path / "subset.parquet"))
    ttf = our_package()
    ttf.TimeSeriesTable.open(str(root)).append(rows(3).replace_schema_metadata(None))
    # A conflicting value and an extra key: refused, nothing written.
    before = snapshot(root)
    for i, md in enumerate([{"unit": "s"}, {"new": "value"}]):
        bad = write(rows(4, schema=SCHEMA.with_metadata(md)), tmp_path / f"bad{i}.parquet")
        r = cli("append", "--table", root, "--parquet", bad)
        assert r.returncode == 1 and "schema metadata conflicts" in r.stderr, r.stderr
    bad_field = SCHEMA.set(2, SCHEMA.field("v").with_metadata({"unit": "K"}))
    r = cli("append", "--table", root, "--parquet", write(rows(4, schema=bad_field),
                                                          tmp_path / "badf.parquet"))
    assert r.returncode == 1 and "field metadata conflicts" in r.stderr and '"v"' in r.stderr
    assert snapshot(root) == before
    # The log still holds 0.9.0's schema; the features are unchanged.
    assert cli_json(cli, "info", "--table", root)["version"] == 5

    # 0.9.0 reads what tstable wrote (its footer check passes), appends and optimizes.
    assert ok(ref({"op": "annotations", "root": root})[0]) == EXPECTED
    same_sql(cli, root)
    appended, optimized = ref({"op": "append", "root": root,
                               "path": ipc(write(rows(5, ("A", "C")), tmp_path / "more.parquet"))},
                              {"op": "optimize", "root": root})
    assert ok(appended) == 6 and ok(optimized)["no_op"] is False
    same_sql(cli, root)
    assert ok(ref({"op": "annotations", "root": root})[0]) == EXPECTED
    assert cli_sql(cli, root, "SELECT count(*) FROM t") == [[10]]


def test_table_tstable_writes_with_annotations_opens_in_0_9(tmp_path):
    cli = Cli()
    ttf = our_package()
    ours, theirs = tmp_path / "ours", tmp_path / "theirs"
    t = ttf.TimeSeriesTable.create(**create_args(ours), protocol=7)
    report = t.append(rows(0))
    t.append(rows(1).replace_schema_metadata(None))  # keys left out: inherited
    for r in ref({"op": "create", "args": create_args(theirs)},
                 {"op": "append", "root": theirs,
                  "path": ipc(write(rows(0), tmp_path / "same.parquet"))}):
        ok(r)
    # The same Arrow schema gives the same logical schema JSON and features in both.
    mine, reference = log_meta(ours, 2), log_meta(theirs, 2)
    for key in ("logical_schema", "required_reader_features", "required_writer_features",
                "protocol_version"):
        assert json.dumps(mine[key], ensure_ascii=False) == \
            json.dumps(reference[key], ensure_ascii=False), key
    assert footer_schema(ours / report.segment_path).equals(SCHEMA, check_metadata=True)

    # 0.9.0: identical answers and annotations on our table.
    same_sql(cli, ours)
    assert ok(ref({"op": "annotations", "root": ours})[0]) == EXPECTED
    # Its appends (with all keys, with none) and its optimize; its refusal of an extra key.
    full = write(rows(2), tmp_path / "full.parquet")
    bare = write(rows(3).replace_schema_metadata(None), tmp_path / "bare.parquet")
    extra = write(rows(4, schema=SCHEMA.with_metadata({"extra": "x"})), tmp_path / "extra.parquet")
    a, b, c, o = ref({"op": "append", "root": ours, "path": ipc(full)},
                     {"op": "append", "root": ours, "path": ipc(bare)},
                     {"op": "append", "root": ours, "path": ipc(extra)},
                     {"op": "optimize", "root": ours})
    assert (ok(a), ok(b)) == (4, 5)
    assert "schema metadata conflicts" in c["error"], c
    assert ok(o)["no_op"] is False
    # tstable refuses the same file, and reads what 0.9.0 wrote.
    r = cli("append", "--table", ours, "--parquet", extra)
    assert r.returncode == 1 and "schema metadata conflicts" in r.stderr, r.stderr
    same_sql(cli, ours)
    assert cli_sql(cli, ours, "SELECT count(*) FROM t") == [[8]]
    # Then tstable appends again and optimizes (its rewrites declare the annotations too),
    # and 0.9.0 still reads every footer.
    cli.ok("append", "--table", ours, "--parquet", write(rows(6), tmp_path / "six.parquet"))
    cli.ok("optimize", "--table", ours)
    assert cli_json(cli, "info", "--table", ours)["version"] == 8
    same_sql(cli, ours)
    assert ok(ref({"op": "annotations", "root": ours})[0]) == EXPECTED
    for path in ours.rglob("*.parquet"):
        assert footer_schema(path).equals(SCHEMA, check_metadata=True), path


def test_annotations_after_an_unannotated_first_append_are_ignored_by_both(tmp_path):
    """A table adopted without annotations keeps none: later annotated appends are taken and
    their annotations are neither adopted nor checked, in tstable as in 0.9.0."""
    cli = Cli()
    ttf = our_package()
    plain_child = pa.field("value", pa.int64())
    plain = pa.schema([pa.field("idx", pa.int64()), pa.field("entity", pa.string()),
                       pa.field("v", pa.float64()), pa.field("s", pa.struct([plain_child]))])
    ours = tmp_path / "ours"
    t = ttf.TimeSeriesTable.create(**create_args(ours), protocol=7)
    t.append(rows(0).cast(plain))
    t.append(rows(1))
    cli.ok("append", "--table", ours, "--parquet", write(rows(2), tmp_path / "two.parquet"))
    meta = log_meta(ours, 2)
    assert meta["required_reader_features"] == meta["required_writer_features"] == []
    assert "metadata" not in json.dumps(meta["logical_schema"])
    assert cli_json(cli, "info", "--table", ours)["version"] == 4
    # 0.9.0 reads it (no annotations to check), takes an annotated append too.
    same_sql(cli, ours)
    assert ok(ref({"op": "annotations", "root": ours})[0]) == {
        "schema": {}, "fields": {f.name: {} for f in SCHEMA}}
    ok(ref({"op": "append", "root": ours,
            "path": ipc(write(rows(3), tmp_path / "three.parquet"))})[0])
    assert "metadata" not in json.dumps(log_meta(ours, 2)["logical_schema"])
    same_sql(cli, ours)


def nested_rows(idx, schema=NESTED):
    return pa.table([pa.array([idx, idx], pa.int64()), pa.array(["A", "B"]),
                     pa.array([[idx, 1], None], NESTED.field("l").type),
                     pa.array([[("a", idx)], []], NESTED.field("m").type)], schema=schema)


def test_list_and_map_annotations_match_0_9_and_pass_its_footer_checks(tmp_path):
    cli = Cli()
    ttf = our_package()
    ours, theirs = tmp_path / "ours", tmp_path / "theirs"
    t = ttf.TimeSeriesTable.create(**create_args(ours), protocol=7)
    report = t.append(nested_rows(0))
    bare = pa.schema([f.remove_metadata() for f in NESTED])
    bare = bare.set(2, pa.field("l", pa.list_(pa.field("item", pa.int64()))))
    t.append(nested_rows(1).cast(bare))  # nested keys left out too: inherited
    for r in ref({"op": "create", "args": create_args(theirs)},
                 {"op": "append", "root": theirs,
                  "path": ipc(write(nested_rows(0), tmp_path / "n.parquet"))}):
        ok(r)
    assert json.dumps(log_meta(ours, 2)["logical_schema"]) == \
        json.dumps(log_meta(theirs, 2)["logical_schema"])
    assert footer_schema(ours / report.segment_path).equals(NESTED, check_metadata=True)
    # 0.9.0 reads both segments (its footer check covers nested fields and map entries).
    query = "SELECT count(*) AS n, sum(idx) AS s, count(l) AS nl FROM t"
    assert ok(ref({"op": "sql", "root": ours, "sql": query})[0]) == [[4, 2, 2]]
    assert cli_sql(cli, ours, query) == [[4, 2, 2]]
    assert ok(ref({"op": "annotations", "root": ours})[0]) == {
        "schema": {"unit": "ms"}, "fields": {"idx": {}, "entity": {}, "l": {"origin": "sensor"},
                                             "m": {}}}
    # A conflicting nested annotation is refused by both, naming the path.
    wrong = NESTED.set(3, pa.field("m", pa.map_(pa.field("key", pa.string(), nullable=False,
                                                         metadata={"k": "2"}), CHILD)))
    bad = write(nested_rows(2, wrong), tmp_path / "bad.parquet")
    r = cli("append", "--table", ours, "--parquet", bad)
    assert r.returncode == 1 and 'field metadata conflicts with the table at "m.entries.key"' \
        in r.stderr, r.stderr
    theirs_err = ref({"op": "append", "root": ours, "path": ipc(bad)})[0]
    assert "field metadata conflicts" in theirs_err["error"], theirs_err


def test_pandas_key_is_left_out_by_tstable_and_inherited_in_tables_0_9_made(tmp_path):
    """0.9.0 adopts the `pandas` key of a table built from a DataFrame and then refuses a
    frame of another length (its RangeIndex differs). tstable never adopts the key: into
    such a table its appends leave the key out (inherited) and 0.9.0 reads them."""
    pd = pytest.importorskip("pandas")
    cli = Cli()
    root = tmp_path / "ref"

    def frame(idx, n):
        return pd.DataFrame({"idx": [idx] * n, "entity": list("ABC")[:n],
                             "v": [float(i) for i in range(n)]})

    def arrow(df):  # pandas 3 strings are large_string, which 0.9.0 refuses
        t = pa.Table.from_pandas(df)
        return t.cast(pa.schema([pa.field("idx", pa.int64()), pa.field("entity", pa.string()),
                                 pa.field("v", pa.float64())], metadata=t.schema.metadata))

    first = arrow(frame(0, 2))
    assert b"pandas" in first.schema.metadata
    for r in ref({"op": "create", "args": create_args(root)},
                 {"op": "append", "root": root, "path": ipc(write(first, tmp_path / "a.parquet"))}):
        ok(r)
    assert "pandas" in log_meta(root, 2)["logical_schema"]["metadata"]
    other = write(arrow(frame(1, 3)), tmp_path / "b.parquet")
    refused = ref({"op": "append", "root": root, "path": ipc(other)})[0]
    assert "schema metadata conflicts" in refused["error"], refused
    cli.ok("append", "--table", root, "--parquet", other)
    ttf = our_package()
    ttf.TimeSeriesTable.open(str(root)).append(frame(2, 3))
    query = "SELECT count(*) AS n, sum(v) AS s FROM t"
    assert ok(ref({"op": "sql", "root": root, "sql": query})[0]) == cli_sql(cli, root, query) \
        == [[8, 7.0]]
