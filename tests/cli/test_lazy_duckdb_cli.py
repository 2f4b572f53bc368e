"""The tool loads libduckdb only for the commands that need it
(src/lazy/duckdb_lazy.c): the coverage questions, info, log, segments, diff,
plan-backfill, the plot and vacuum read the log and the coverage files alone,
and start without DuckDB — checked with the dynamic loader's own trace
(LD_DEBUG=files names every library it maps) and by taking libduckdb away
(TST_DUCKDB_LIBRARY pointing nowhere): they still answer, while query and
append fail with an error that says what is missing. query and append, with
DuckDB there, load it and work."""

import json

import pytest

CSV = "ts,sym,v\n2024-01-01T00:00:00Z,A,1\n2024-01-01T01:00:00Z,A,2\n2024-01-01T03:00:00Z,B,3\n"
NO_DUCKDB = {"TST_DUCKDB_LIBRARY": "/nonexistent/libduckdb.so"}

NO_SQL = [
    ["--version"],
    ["coverage", "--table", "t"],
    ["coverage", "--table", "t", "--entity", "sym=A", "--format", "json"],
    ["coverage", "--table", "t", "--each-entity"],
    ["coverage", "--table", "t", "--last-window", "1h"],
    ["coverage", "--table", "t", "--plot", "c.svg"],
    ["gaps", "--table", "t"],
    ["info", "--table", "t"],
    ["log", "--table", "t"],
    ["entities", "--table", "t", "--now", "2024-01-02"],
    ["segments", "--table", "t"],
    ["diff", "--table", "t", "--from-version", "1"],
    ["plan-backfill", "--table", "t", "--start", "2024-01-01", "--end", "2024-01-02"],
    ["vacuum", "--table", "t"],
]


def loaded_libraries(stderr: bytes) -> str:
    return "\n".join(l for l in stderr.decode().splitlines() if "file=" in l)


@pytest.fixture
def table(cli):
    (cli.tmp / "t.csv").write_text(CSV)
    cli.ok("create", "--table", "t", "--index-column", "ts", "--bucket", "1h", "--entity", "sym")
    cli.ok("append", "--table", "t", "--csv", "t.csv")
    return cli


@pytest.mark.parametrize("args", NO_SQL, ids=lambda a: " ".join(a[:2]))
def test_a_command_that_needs_no_sql_never_maps_libduckdb(table, args):
    p = table.raw(*args, env={"LD_DEBUG": "files"})
    assert p.returncode == 0, p.stderr.decode()[-2000:]
    libs = loaded_libraries(p.stderr)
    assert "libjson-c" in libs  # the trace works: it names what is loaded
    assert "libduckdb" not in libs


@pytest.mark.parametrize("args", NO_SQL, ids=lambda a: " ".join(a[:2]))
def test_a_command_that_needs_no_sql_answers_without_duckdb_installed(table, args):
    with_duckdb = table.raw(*args)
    without = table.raw(*args, env=NO_DUCKDB)
    assert without.returncode == 0, without.stderr.decode()
    if args[0] == "vacuum":  # its report names times: only its first line is fixed
        assert without.stdout.splitlines()[0] == with_duckdb.stdout.splitlines()[0]
    else:
        assert without.stdout == with_duckdb.stdout


def test_query_loads_libduckdb_on_first_use_and_answers(table):
    p = table.raw("query", "--table", "t", "--sql", "SELECT count(*) AS n, sum(v) AS s FROM t",
                  "--format", "json", env={"LD_DEBUG": "files"})
    assert p.returncode == 0, p.stderr.decode()[-2000:]
    assert "libduckdb" in loaded_libraries(p.stderr)
    assert json.loads(p.stdout) == [{"n": 3, "s": 6}]


def test_query_without_libduckdb_fails_saying_what_is_missing(table):
    r = table("query", "--table", "t", "--sql", "SELECT 1", env=NO_DUCKDB)
    assert r.code == 1
    assert "cannot load libduckdb" in r.stderr
    assert "TST_DUCKDB_LIBRARY" in r.stderr
    assert r.stderr.count("cannot load libduckdb") == 1  # printed once


def test_append_without_libduckdb_fails_and_writes_nothing(table):
    (table.tmp / "more.csv").write_text("ts,sym,v\n2024-01-02T00:00:00Z,A,4\n")
    r = table("append", "--table", "t", "--csv", "more.csv", env=NO_DUCKDB)
    assert r.code == 1 and "cannot load libduckdb" in r.stderr
    log = table.ok("log", "--table", "t", "--format", "json")
    assert len(json.loads(log.stdout)) == 2  # create and the first append only
