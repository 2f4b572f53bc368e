"""`tstable update`: the report key by key (golden files), its JSON form, the
no-op, the version rules and the one-line errors for each key rule. Tables
are created with an explicit protocol (7, or 6 where noted)."""

import json

import pytest

from conftest import BIN  # noqa: F401  (the binary fixture lives there)

HEADER = "ts,symbol,close\n"


def table(cli, name="t", protocol="7"):
    cli.ok("create", "--table", name, "--index-column", "ts", "--index-type", "timestamp",
           "--index-granularity", "1h", "--entity", "symbol", "--protocol", protocol)
    (cli.tmp / "a.csv").write_text(HEADER + "".join(
        f"2024-06-01T{h:02d}:00:00Z,{s},{h}.5\n" for h in range(3) for s in ("NVDA", "AAPL")))
    cli.ok("append", "--table", name, "--csv", "a.csv")
    (cli.tmp / "b.csv").write_text(HEADER + "2024-06-02T00:00:00Z,NVDA,24.5\n")
    cli.ok("append", "--table", name, "--csv", "b.csv")
    return name


def values(cli, sql):
    return cli.ok("query", "--table", "t", "--sql", sql, "--format", "csv").stdout.split()[1:]


def source(cli, text, name="u.csv"):
    (cli.tmp / name).write_text(text)
    return name


def test_update_prints_the_report_and_sets_only_the_named_column(cli, golden):
    table(cli)
    src = source(cli, "symbol,ts,close\nAAPL,2024-06-01T01:00:00Z,99.25\n")
    golden("update_csv", cli("update", "--table", "t", "--csv", src, "--set", "close"))
    assert values(cli, "select close from t where symbol = 'AAPL' order by ts") == [
        "0.5", "99.25", "2.5"]
    assert values(cli, "select count(*) from t") == ["7"]


def test_update_json_from_parquet_with_expected_version(cli):
    table(cli)
    src = source(cli, "symbol,ts,close\nNVDA,2024-06-02T00:00:00Z,\n")
    cli.ok("query", "--sql", f"copy (select symbol, ts::timestamptz as ts, try_cast(close as "
           f"double) as close from read_csv('{cli.tmp / src}')) to '{cli.tmp / 'u.parquet'}'")
    r = cli("update", "--table", "t", "--parquet", "u.parquet", "--set", "close",
            "--expected-version", "3", "--json")
    assert r.code == 0 and r.stderr == "", r.stderr
    report = json.loads(r.stdout)
    assert {k: report[k] for k in ("starting_version", "committed_version", "rows_updated",
                                    "segments_rewritten", "no_op", "attempts")} == {
        "starting_version": 3, "committed_version": 4, "rows_updated": 1,
        "segments_rewritten": 1, "no_op": False, "attempts": 1}
    assert report["source_file_bytes"] > 0 and report["replacement_file_bytes"] > 0
    assert values(cli, "select count(*) from t where close is null") == ["1"]


def test_an_empty_source_is_a_no_op(cli, golden):
    table(cli)
    src = source(cli, "symbol,ts,close\n")
    golden("update_no_op", cli("update", "--table", "t", "--csv", src, "--set", "close"))


def test_a_v6_table_is_updated(cli):
    table(cli, protocol="6")
    src = source(cli, "symbol,ts,close\nNVDA,2024-06-01T00:00:00Z,7.75\n")
    cli.ok("update", "--table", "t", "--csv", src, "--set", "close")
    assert values(cli, "select close from t where symbol = 'NVDA' order by ts limit 1") == [
        "7.75"]


@pytest.mark.parametrize("name, text", [
    ("update_err_unmatched", "symbol,ts,close\nNVDA,2024-06-01T00:30:00Z,1\n"),
    ("update_err_duplicate", "symbol,ts,close\nNVDA,2024-06-01T00:00:00Z,1\n"
                             "NVDA,2024-06-01T00:00:00Z,2\n"),
    ("update_err_null_key", "symbol,ts,close\n,2024-06-01T00:00:00Z,1\n"),
    ("update_err_extra_column", "symbol,ts,close,volume\nNVDA,2024-06-01T00:00:00Z,1,2\n"),
])
def test_key_and_column_errors_are_one_line_and_write_nothing(cli, golden, name, text):
    table(cli)
    src = source(cli, text)
    golden(name, cli("update", "--table", "t", "--csv", src, "--set", "close"))
    assert values(cli, "select count(*) from t where close < 100 and close = floor(close) + 0.5"
                  ) == ["7"]
    assert max(p.name for p in (cli.tmp / "t" / "_timeseries_log").glob("*.json")) == (
        "0000000003.json")


def test_a_key_column_cannot_be_set(cli, golden):
    table(cli)
    src = source(cli, "symbol,ts\nNVDA,2024-06-01T00:00:00Z\n")
    golden("update_err_key_column", cli("update", "--table", "t", "--csv", src, "--set", "ts"))


def test_a_stale_expected_version_is_a_conflict(cli, golden):
    table(cli)
    src = source(cli, "symbol,ts,close\nNVDA,2024-06-01T00:00:00Z,1\n")
    golden("update_err_conflict", cli("update", "--table", "t", "--csv", src, "--set", "close",
                                      "--expected-version", "2", "--strict"))


@pytest.mark.parametrize("args", [
    ["--csv", "u.csv"],
    ["--csv", "u.csv", "--parquet", "u.parquet", "--set", "close"],
    ["--set", "close"],
    ["--csv", "u.csv", "--set", "close", "--expected-version", "0"],
])
def test_option_errors_come_before_any_io(cli, args):
    r = cli("update", "--table", "nope", *args)
    assert r.code == 1 and r.stdout == ""
    assert r.stderr.startswith("error: ") and "nope" not in r.stderr


def test_help(cli, golden):
    golden("help_update", cli("update", "--help"))
