"""`tstable append --on-overlap reject|skip|replace` and `--allow-boundary-overlap`:
idempotent re-ingest, late corrections and "append what arrived since the
last run", with their reports (goldens) and refusals."""
import json
import re
import shlex

from conftest import REPO

NVDA_CSV = REPO / "examples" / "data" / "nvda_1h_sample.csv"
HEADER = "ts,symbol,open,high,low,close,volume\n"


def nvda_table(cli, name="t"):
    cli.ok("create", "--table", name, "--index-column", "ts", "--bucket", "1h",
           "--entity", "symbol")
    cli.ok("append", "--table", name, "--csv", str(NVDA_CSV))
    return name


def query(cli, table, sql):
    return cli.ok("query", "--table", table, "--sql", sql, "--format", "csv").stdout.splitlines()[1:]


def version(cli, table):
    return json.loads(cli.ok("info", "--table", table, "--format", "json").stdout)["version"]


def test_skip_appends_only_the_new_rows_and_a_rerun_is_a_no_op(cli, golden):
    nvda_table(cli)
    # the sample's last day again, plus a day after it
    lines = NVDA_CSV.read_text().splitlines()
    new = [l.replace("2024-06-10", "2024-06-11") for l in lines[-24:]]
    (cli.tmp / "more.csv").write_text(lines[0] + "\n" + "\n".join(lines[-24:] + new) + "\n")
    r = cli("append", "--table", "t", "--csv", "more.csv", "--on-overlap", "skip")
    golden("append_skip", r)
    assert r.stdout == ("Appended table version: 3 (kept 24 rows, skipped 24 rows in 24 covered "
                        "buckets)\n")
    r = cli("append", "--table", "t", "--csv", "more.csv", "--on-overlap", "skip")
    golden("append_skip_no_op", r)
    assert r.code == 0 and r.stdout.startswith("Nothing appended")
    assert version(cli, "t") == 3
    assert query(cli, "t", "select count(*) AS n, count(distinct ts) AS d from t") == ["264,264"]


def test_replace_corrects_stored_rows_in_one_commit(cli, golden):
    nvda_table(cli)
    (cli.tmp / "fix.csv").write_text(HEADER + "2024-06-03T10:00:00Z,NVDA,1,2,0.5,1.5,7\n"
                                              "2024-06-03T11:00:00Z,NVDA,1,2,0.5,1.5,7\n")
    r = cli("append", "--table", "t", "--csv", "fix.csv", "--on-overlap", "replace")
    golden("append_replace", r)
    assert r.stdout == ("Appended table version: 3 (replaced 2 stored rows in 2 buckets: 0 "
                        "segments removed, 1 rewritten)\n")
    assert query(cli, "t", "select count(*) AS n, sum(CAST(volume = 7 AS INT)) AS s from t") == ["240,2"]
    # the default still refuses
    r = cli("append", "--table", "t", "--csv", "fix.csv")
    assert r.code == 1 and "overlap:" in r.stderr


def test_a_bad_mode_is_a_usage_error(cli, golden):
    nvda_table(cli)
    r = cli("append", "--table", "t", "--csv", str(NVDA_CSV), "--on-overlap", "merge")
    golden("append_err_on_overlap", r)
    assert r.code == 1 and "--on-overlap takes reject, skip or replace" in r.stderr


def test_allow_boundary_overlap_takes_the_rest_of_a_partly_covered_bucket(cli):
    cli.ok("create", "--table", "m", "--protocol", "6", "--index-column", "ts", "--bucket", "1h",
           "--entity", "symbol")

    def minutes(name, first, n):
        rows = [f"2024-06-01T{m // 60:02d}:{m % 60:02d}:00Z,NVDA,{m}" for m in
                range(first, first + n)]
        (cli.tmp / name).write_text("ts,symbol,v\n" + "\n".join(rows) + "\n")
        return name

    cli.ok("append", "--table", "m", "--csv", minutes("a.csv", 0, 45))
    cli.ok("append", "--table", "m", "--csv", minutes("b.csv", 45, 45), "--allow-boundary-overlap")
    r = cli("append", "--table", "m", "--csv", minutes("c.csv", 80, 51), "--allow-boundary-overlap")
    assert r.code == 1 and "10 of its rows there have an index value the table already holds" \
        in r.stderr
    r = cli.ok("append", "--table", "m", "--csv", "c.csv", "--on-overlap", "skip")
    assert "kept 11 rows, skipped 40 rows in 1 covered buckets" in r.stdout
    assert query(cli, "m", "select count(*) AS n, count(distinct ts) AS d from m") == ["101,101"]


def test_the_guide_example_runs_and_prints_what_it_shows(cli):
    guide = (REPO / "docs" / "guide" / "appending.md").read_text()
    section = guide[guide.index("## Overlap modes"):guide.index("### Boundary buckets")]
    (sh,) = re.findall(r"```sh\n(.*?)```", section, re.S)
    (text,) = re.findall(r"```text\n(.*?)```", section, re.S)
    for name, csv in zip(["bars.csv", "next.csv", "fix.csv"],
                         re.findall(r"```csv\n(.*?)```", section, re.S)):
        (cli.tmp / name).write_text(csv)
    lines = sh.splitlines()
    for line in lines[:2]:
        cli.ok(*shlex.split(line)[1:])
    printed = "".join(cli.ok(*shlex.split(line)[1:]).stdout for line in lines[2:])
    assert printed == text
    assert query(cli, "./bars", "select symbol, hour(ts) AS h, close from bars order by ts, "
                 "symbol") == ["AAPL,10,190.25", "NVDA,10,120.75", "AAPL,11,191.0",
                               "NVDA,11,121.0", "AAPL,12,191.5", "NVDA,12,122.0"]
    # the boundary refusal the guide quotes, word for word
    quoted = re.search(r"```\n(overlap: .*?)\n```", guide[guide.index("### Boundary"):], re.S)
    cli.ok("create", "--table", "./m", "--protocol", "6", "--index-column", "ts", "--bucket",
           "1h", "--entity", "symbol")
    for name, first in [("a.csv", 0), ("b.csv", 45)]:
        rows = [f"2024-06-01T{m // 60:02d}:{m % 60:02d}:00Z,NVDA,{m}" for m in
                range(first, first + 45)]
        (cli.tmp / name).write_text("ts,symbol,v\n" + "\n".join(rows) + "\n")
    cli.ok("append", "--table", "./m", "--csv", "a.csv")
    r = cli("append", "--table", "./m", "--csv", "b.csv")
    assert r.stderr == quoted.group(1) + "\n"


def test_an_overlap_of_only_the_source_s_edge_buckets_says_what_to_do(cli, golden):
    """A backfill into a hole whose both edges meet stored buckets (not the table's edge)."""
    cli.ok("create", "--table", "g", "--protocol", "6", "--index-column", "ts", "--index-type",
           "int64", "--bucket-width", "10", "--entity", "sym")
    (cli.tmp / "g1.csv").write_text("ts,sym,v\n1,A,1\n45,A,2\n")
    (cli.tmp / "g2.csv").write_text("ts,sym,v\n5,A,1\n12,A,2\n20,A,3\n47,A,3\n")
    cli.ok("append", "--table", "g", "--csv", "g1.csv")
    r = cli("append", "--table", "g", "--csv", "g2.csv")
    golden("append_err_overlap_edges", r)
    assert "the overlap is only the source's first or last bucket of each entity" in r.stderr
    assert "--allow-boundary-overlap" in r.stderr
    cli.ok("append", "--table", "g", "--csv", "g2.csv", "--allow-boundary-overlap")
    assert query(cli, "g", "select count(*) AS n from g") == ["6"]


def test_skip_with_several_files_compares_them_on_what_they_still_append(cli):
    cli.ok("create", "--table", "mf", "--protocol", "6", "--index-column", "ts", "--index-type",
           "int64", "--bucket-width", "10", "--entity", "sym")
    (cli.tmp / "a.csv").write_text("ts,sym,v\n1,A,1\n5,A,2\n12,A,3\n3,B,4\n")
    (cli.tmp / "b.csv").write_text("ts,sym,v\n7,A,10\n25,A,11\n4,B,12\n15,B,13\n")
    (cli.tmp / "c.csv").write_text("ts,sym,v\n8,A,20\n6,B,21\n")
    cli.ok("append", "--table", "mf", "--csv", "a.csv")
    # b.csv and c.csv both reach into (A, 0) and (B, 0), which the table covers: no clash
    r = cli.ok("append", "--table", "mf", "--csv", "a.csv", "--csv", "b.csv", "--csv", "c.csv",
               "--on-overlap", "skip")
    assert r.stdout == ("Appended table version: 3 (3 files) (kept 2 rows, skipped 8 rows in 7 "
                        "covered buckets)\n")
    # with replace they would both replace (A, 0): refused, naming both files
    r = cli("append", "--table", "mf", "--csv", "b.csv", "--csv", "c.csv", "--on-overlap",
            "replace")
    assert r.code == 1 and "b.csv and c.csv both cover" in r.stderr
    assert query(cli, "mf", "select count(*) AS n from mf") == ["6"]
