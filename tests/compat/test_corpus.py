"""Every file of the writer corpus, appended and checked against DuckDB.

scripts/corpus.py writes one data set (bars of 3 symbols over 2 days, and a
small daily table) with pyarrow, polars, pandas, DuckDB, parquet-wasm
(arrow-rs) and as CSV, one file per way of spelling it; its manifest says what
a demanding user expects of each (docs/internals/writer-corpus.md). For each
file this test

- test_fresh_table: creates a table, appends the file, and compares the table
  with DuckDB's own reading of the file;
- test_table_of_another_writer: appends it into a table started by another
  writer's file of the previous day (DuckDB's, arrow-rs's), and compares the
  table with the union of both files.

"Compares" means: the table has the source's columns; row count; per column
the nulls, sum/min/max of numbers, count distinct/min/max of strings,
timestamps as instants (epoch microseconds: min, max, sum, count distinct);
coverage (per entity and for the whole table) equal to DuckDB's count of
distinct (entity, bucket). The table is read twice: through `tstable query`
(the user's path) and by DuckDB from the segment files listed in the log,
each column cast to the table's declared type, in a session whose TimeZone is
not UTC, so a segment whose timestamps don't carry the declared zone-ness
shows up as shifted instants, not as a pass.

A refusal that the manifest expects must carry its message and leave the
table as it was (version, files). Nothing here is marked xfail: a file that
today's code handles wrongly fails, with the reason in the assertion.
"""

import atexit
import json
import math
import re
import shutil
from pathlib import Path

import duckdb
import pytest

from compat_support import BIN, Cli, append_args, cleanup, corpus_dir, create_table, manifest

# The fixtures live here, not in a conftest.py: tests/cli imports its helpers
# with "from conftest import ...", and a second conftest module in the same
# pytest session would shadow that one.
atexit.register(cleanup)

# Segments are read in a session whose zone is not UTC (see above).
READ_TZ = "America/New_York"


# ---- fixtures ----------------------------------------------------------------


def pytest_generate_tests(metafunc):
    """One test per file (fresh table), one per (file, base) pair (crossed)."""
    if "cross" in metafunc.fixturenames:
        pairs = [(f, c) for f in manifest()["files"] for c in f["cross"]]
        metafunc.parametrize("entry,cross", pairs,
                             ids=[f"{c['base']}<-{f['file']}" for f, c in pairs])
    elif "entry" in metafunc.fixturenames:
        files = manifest()["files"]
        metafunc.parametrize("entry", files, ids=[f["file"] for f in files])


@pytest.fixture(scope="session")
def cli():
    if not BIN.exists():
        pytest.fail(f"tstable binary not found at {BIN}: build it or set TSTABLE_BIN")
    return Cli()


@pytest.fixture(scope="session")
def corpus():
    return corpus_dir(), manifest()


@pytest.fixture(scope="session")
def base_tables(tmp_path_factory, cli, corpus):
    """base name -> a table folder holding that base file, made on first use.
    A base that can't be made fails every test using it, with the reason."""
    folder, man = corpus
    root = tmp_path_factory.mktemp("bases")
    made = {}

    def get(name):
        if name not in made:
            base = man["bases"][name]
            entry = next(f for f in man["files"] if f["file"] == base["file"])
            ds = man["datasets"][entry["dataset"]]
            table = root / name
            create_table(cli, table, ds)
            r = cli(*append_args(table, folder / entry["file"], entry["format"]))
            made[name] = (table, r)
        table, r = made[name]
        if r.returncode != 0:
            message = r.stderr.replace(str(folder), "<CORPUS>").replace(str(table), "<BASE>")
            pytest.fail(f"base table {name} could not be started from "
                        f"{man['bases'][name]['file']}: {message.strip()}")
        return table

    return get


# ---- normalising a relation into comparable columns ---------------------

NAIVE_TS = ("TIMESTAMP", "TIMESTAMP_S", "TIMESTAMP_MS", "TIMESTAMP_NS")
INTS = ("TINYINT", "SMALLINT", "INTEGER", "BIGINT", "HUGEINT", "UTINYINT", "USMALLINT",
        "UINTEGER", "UBIGINT", "UHUGEINT")


def quote(name):
    return '"' + name.replace('"', '""') + '"'


def kind_of_duck(typ: str) -> str:
    if typ in NAIVE_TS or typ == "TIMESTAMP WITH TIME ZONE" or typ == "DATE":
        return "time"
    if typ in INTS or typ in ("FLOAT", "DOUBLE") or typ.startswith("DECIMAL"):
        return "num"
    if typ == "VARCHAR":
        return "str"
    if typ == "BOOLEAN":
        return "bool"
    return "other"


def norm_expr(c: str, typ: str) -> str:
    """One column (the SQL expression c, of DuckDB type typ) as a comparable
    value: instants as epoch microseconds, numbers as DOUBLE, booleans as 0/1,
    anything else as text."""
    kind = kind_of_duck(typ)
    if typ == "DATE" or typ in NAIVE_TS:
        return f"epoch_us({c}::TIMESTAMP)"
    if kind == "time":
        return f"epoch_us({c})"
    if kind == "num":
        return f"{c}::DOUBLE"
    if kind == "bool":
        return f"{c}::INTEGER"
    return f"{c}::VARCHAR"


def stats_sql(relation: str, kinds: dict, index: str, entity: list, bucket_us: int) -> str:
    """One row of VARCHAR aggregates over a relation of normalised columns."""
    parts = ["count(*)::VARCHAR AS \"rows\""]
    for col, kind in sorted(kinds.items()):
        c = quote(col)
        parts.append(f"(count(*) - count({c}))::VARCHAR AS {quote(col + ':nulls')}")
        if kind == "num":
            aggs = {"sum": f"sum({c})", "min": f"min({c})", "max": f"max({c})"}
        elif kind == "time":
            aggs = {"min": f"min({c})", "max": f"max({c})", "sum": f"sum({c}::HUGEINT)",
                    "distinct": f"count(DISTINCT {c})"}
        elif kind == "bool":
            aggs = {"sum": f"sum({c})"}
        else:
            aggs = {"distinct": f"count(DISTINCT {c})", "min": f"min({c})", "max": f"max({c})"}
        parts += [f"({e})::VARCHAR AS {quote(col + ':' + k)}" for k, e in aggs.items()]
    ent = ", ".join(quote(e) for e in entity)
    bucket = f"floor({quote(index)} / {bucket_us})"
    # Rows without an index value are stored but cover no bucket (format §1.12).
    parts.append(f"(SELECT count(*) FROM (SELECT DISTINCT {ent}, {bucket} FROM {relation}"
                 f" WHERE {quote(index)} IS NOT NULL))"
                 f"::VARCHAR AS \"coverage:entity_buckets\"")
    parts.append(f"(SELECT count(DISTINCT {bucket}) FROM {relation})::VARCHAR"
                 f" AS \"coverage:buckets\"")
    return f"SELECT {', '.join(parts)} FROM {relation}"


def duck():
    con = duckdb.connect()
    con.execute(f"SET TimeZone = '{READ_TZ}'")
    return con


def reader(path: Path, fmt: str) -> str:
    p = str(path).replace("'", "''")
    return f"read_parquet('{p}')" if fmt == "parquet" else f"read_csv('{p}')"


def source_stats(files, ds):
    """DuckDB's own reading of the source files (their union)."""
    con = duck()
    selects, kinds = [], {}
    for path, fmt in files:
        cols = con.execute(f"DESCRIBE SELECT * FROM {reader(path, fmt)}").fetchall()
        exprs = []
        for name, typ, *_ in cols:
            kinds[name] = kind_of_duck(typ)
            exprs.append(f"{norm_expr(quote(name), typ)} AS {quote(name)}")
        selects.append(f"SELECT {', '.join(exprs)} FROM {reader(path, fmt)}")
    rel = "(" + " UNION ALL BY NAME ".join(selects) + ")"
    return row_dict(con, stats_sql(rel, kinds, ds["index"], ds["entity"], ds["bucket_us"])), kinds


def row_dict(con, sql):
    cur = con.execute(sql)
    names = [d[0] for d in cur.description]
    return dict(zip(names, cur.fetchone()))


# ---- the table's declared schema -------------------------------------------

# Today's tst_type_format() names, and the ones a fix may add (small integers,
# dates) so that such a table is checked rather than reported as unreadable.
PLAIN_DECLARED = {"bool": "BOOLEAN", "int8": "TINYINT", "int16": "SMALLINT", "int32": "INTEGER",
                  "int64": "BIGINT", "uint8": "UTINYINT", "uint16": "USMALLINT",
                  "uint32": "UINTEGER", "uint64": "UBIGINT", "float32": "FLOAT",
                  "float64": "DOUBLE", "binary": "BLOB", "utf8": "VARCHAR", "date32": "DATE"}


def duck_type_of_declared(declared: str):
    """The DuckDB type a column of this tstable type reads as, or None."""
    if declared in PLAIN_DECLARED:
        return PLAIN_DECLARED[declared]
    m = re.fullmatch(r"timestamp\[(s|ms|us|ns)\](\((.+)\))?", declared)
    if m:
        return "TIMESTAMP WITH TIME ZONE" if m.group(2) else "TIMESTAMP"
    m = re.fullmatch(r"decimal\(precision=(\d+), scale=(\d+)\)", declared)
    if m:
        return f"DECIMAL({m.group(1)},{m.group(2)})"
    if declared.startswith("fixed_binary"):
        return "BLOB"
    return None


def info(cli, table):
    return json.loads(cli.ok("info", "--table", table, "--format", "json").stdout)


def active_segments(table: Path):
    """Data files of the current version, replayed from the commit log."""
    live = []
    for log in sorted((table / "_timeseries_log").glob("*.json")):
        for action in json.loads(log.read_text()).get("actions", []):
            if "AddSegment" in action:
                live.append(action["AddSegment"]["path"])
            for key in ("RemoveSegment", "RemoveSegments"):
                if key in action:
                    gone = json.dumps(action[key])
                    live = [p for p in live if p not in gone]
    return [table / p for p in live]


def segment_stats(table: Path, schema, ds):
    """DuckDB reads each segment with the table's declared types."""
    con = duck()
    selects, kinds, problems = [], {}, []
    for seg in active_segments(table):
        have = {n: t for n, t, *_ in con.execute(
            f"DESCRIBE SELECT * FROM {reader(seg, 'parquet')}").fetchall()}
        exprs = []
        for col in schema:
            name, declared = col["name"], col["type"]
            want = duck_type_of_declared(declared)
            if want is None:
                problems.append(f"column {name}: declared type {declared} has no DuckDB reading")
                continue
            if name not in have:
                problems.append(f"segment {seg.name} has no column {name}")
                continue
            got = have[name]
            if kind_of_duck(want) == "time" and (got == "TIMESTAMP WITH TIME ZONE") != (
                    want == "TIMESTAMP WITH TIME ZONE"):
                problems.append(f"segment {seg.name}: column {name} reads as {got} but the table "
                                f"declares {declared}: its instants depend on the reader's zone")
            kinds[name] = kind_of_duck(want)
            cast = f"CAST({quote(name)} AS {want})"
            exprs.append(f"{norm_expr(cast, want)} AS {quote(name)}")
        selects.append(f"SELECT {', '.join(exprs)} FROM {reader(seg, 'parquet')}")
    rel = "(" + " UNION ALL BY NAME ".join(selects) + ")"
    stats = row_dict(con, stats_sql(rel, kinds, ds["index"], ds["entity"], ds["bucket_us"]))
    return stats, problems


def query_stats(cli, table: Path, schema, ds):
    """The same statistics through `tstable query` over the table view."""
    kinds, exprs = {}, []
    for col in schema:
        want = duck_type_of_declared(col["type"]) or "VARCHAR"
        kinds[col["name"]] = kind_of_duck(want)
        exprs.append(f"{norm_expr(quote(col['name']), want)} AS {quote(col['name'])}")
    rel = f"(SELECT {', '.join(exprs)} FROM {table.name})"
    sql = stats_sql(rel, kinds, ds["index"], ds["entity"], ds["bucket_us"])
    r = cli.ok("query", "--table", table, "--format", "json", "--sql", sql)
    rows = json.loads(r.stdout)
    return {k: (None if v is None else str(v)) for k, v in rows[0].items()}


# ---- comparing -------------------------------------------------------------


def same(a, b):
    if a is None or b is None:
        return a is None and b is None
    try:
        x, y = float(a), float(b)
    except ValueError:
        return a == b
    if re.fullmatch(r"-?\d+", a) and re.fullmatch(r"-?\d+", b):
        return int(a) == int(b)
    return math.isclose(x, y, rel_tol=1e-9, abs_tol=1e-9)


def differences(want: dict, got: dict, what: str):
    out = []
    for key in sorted(set(want) | set(got)):
        if key not in got:
            out.append(f"{what}: {key} missing (want {want[key]})")
        elif key not in want:
            out.append(f"{what}: {key} not in the source (got {got[key]})")
        elif not same(want[key], got[key]):
            out.append(f"{what}: {key} = {got[key]}, DuckDB reads {want[key]} from the source")
    return out


def coverage(cli, table: Path, ds, entities):
    """tstable coverage --format json: covered buckets of the whole table, and
    the sum over entities."""
    whole = json.loads(cli.ok("coverage", "--table", table, "--format", "json").stdout)
    per = 0
    col = ds["entity"][0]
    for value in entities:
        r = json.loads(cli.ok("coverage", "--table", table, "--format", "json",
                              "--entity", f"{col}={value}").stdout)
        per += r["covered_buckets"]
    return {"coverage:buckets": str(whole["covered_buckets"]), "coverage:entity_buckets": str(per)}


def check_table(cli, table: Path, sources, ds):
    """The table equals DuckDB's reading of the sources, read both ways."""
    want, _ = source_stats(sources, ds)
    meta = info(cli, table)
    schema = meta["schema"]
    problems = []
    assert meta["rows"] == int(want["rows"]), (
        f"table reports {meta['rows']} rows, the source has {want['rows']}")
    seg, seg_problems = segment_stats(table, schema, ds)
    problems += seg_problems
    problems += differences(want, seg, "segments read by DuckDB")
    problems += differences(want, query_stats(cli, table, schema, ds), "tstable query")
    entities = sorted(e["entity"][ds["entity"][0]] for e in meta["coverage"])
    cov = coverage(cli, table, ds, entities)
    problems += differences({k: want[k] for k in cov}, cov, "tstable coverage")
    assert not problems, "\n".join(problems)


def table_state(cli, table: Path):
    files = sorted(str(p.relative_to(table)) for p in table.rglob("*") if p.is_file())
    return info(cli, table)["version"], files


def check_outcome(cli, table: Path, path: Path, entry, expect, sources, ds, extra=()):
    before = table_state(cli, table)
    r = cli(*append_args(table, path, entry["format"]), *extra)
    # The paths are no part of the message: a file named "...-subms-..." must
    # not satisfy /ms/.
    message = r.stderr.replace(str(path), "<SOURCE>").replace(str(table), "<TABLE>").strip()
    if expect["outcome"] == "refused":
        assert r.returncode != 0, (
            f"expected a refusal ({expect['message']}), but it appended: {r.stdout.strip()}")
        for pattern in expect["message"]:
            assert re.search(pattern, message, re.I), (
                f"refused, but the message lacks /{pattern}/: {message}")
        assert table_state(cli, table) == before, "a refused append changed the table"
        return
    assert r.returncode == 0, f"refused: {message}"
    version, _ = table_state(cli, table)
    assert version == before[0] + 1, f"version {before[0]} -> {version} after one append"
    check_table(cli, table, sources, ds)


# ---- the tests --------------------------------------------------------------


def test_fresh_table(cli, corpus, entry, tmp_path):
    folder, man = corpus
    ds = man["datasets"][entry["dataset"]]
    table = tmp_path / "t"
    create_table(cli, table, ds)
    path = folder / entry["file"]
    check_outcome(cli, table, path, entry, entry["expect"], [(path, entry["format"])], ds)


def test_fresh_table_moved(cli, corpus, entry, tmp_path):
    """The same with `append --move` (zero-copy ingest), on a copy of the
    file beside the table: the table holds the same answers, and the old
    name is gone exactly when the append took the file as it is (a file
    that must be re-encoded is copied, and stays)."""
    if entry["format"] != "parquet":
        pytest.skip("--move hands over Parquet files only")
    folder, man = corpus
    ds = man["datasets"][entry["dataset"]]
    table = tmp_path / "t"
    create_table(cli, table, ds)
    source = folder / entry["file"]
    handed = tmp_path / source.name
    shutil.copyfile(source, handed)
    inode = handed.stat().st_ino
    check_outcome(cli, table, handed, entry, entry["expect"], [(source, entry["format"])], ds,
                  extra=("--move",))
    if entry["expect"]["outcome"] == "refused":
        assert handed.exists(), "a refused --move removed the caller's file"
        return
    linked = any(p.stat().st_ino == inode for p in (table / "data").rglob("*.parquet"))
    assert linked == (not handed.exists()), (
        f"linked into the table: {linked}, old name still there: {handed.exists()}")


def test_table_of_another_writer(cli, corpus, base_tables, entry, cross, tmp_path):
    folder, man = corpus
    ds = man["datasets"][entry["dataset"]]
    base = man["bases"][cross["base"]]
    table = tmp_path / "t"
    shutil.copytree(base_tables(cross["base"]), table)
    base_entry = next(f for f in man["files"] if f["file"] == base["file"])
    sources = [(folder / base["file"], base_entry["format"]),
               (folder / entry["file"], entry["format"])]
    check_outcome(cli, table, folder / entry["file"], entry, cross["expect"], sources, ds)


def test_table_of_two_writers_compacted(cli, corpus, base_tables, entry, cross, tmp_path):
    """The two-writer table after `tstable optimize` (compaction re-encodes
    both writers' segments into one sorted segment per entity and window):
    the same comparison with the union of both files."""
    if cross["expect"]["outcome"] == "refused":
        pytest.skip("the append is refused: there is no two-writer table to compact")
    folder, man = corpus
    ds = man["datasets"][entry["dataset"]]
    base = man["bases"][cross["base"]]
    table = tmp_path / "t"
    shutil.copytree(base_tables(cross["base"]), table)
    base_entry = next(f for f in man["files"] if f["file"] == base["file"])
    sources = [(folder / base["file"], base_entry["format"]),
               (folder / entry["file"], entry["format"])]
    cli.ok(*append_args(table, folder / entry["file"], entry["format"]))
    before, _ = table_state(cli, table)
    report = json.loads(cli.ok("optimize", "--table", table, "--json").stdout)
    assert report["segments_read"] >= 2 and not report["no_op"], report
    assert table_state(cli, table)[0] == before + 1
    check_table(cli, table, sources, ds)
