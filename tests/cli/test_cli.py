"""Golden tests of the `tstable` command line: every command, its help and its error paths.

Each test builds what it needs in its own temporary folder (see conftest.py)
and compares exact stdout, stderr and exit code with tests/cli/golden/.
Data: the NVDA sample (240 hourly bars, 2024-06-01 .. 2024-06-10) and a few
AMD bars with a two-hour hole, so that entity filters and gaps have
something to find.
"""

import json
import os
import shutil
import subprocess

import pytest

from conftest import BIN, REPO, Result, squeeze_boxes

NVDA_CSV = REPO / "examples" / "data" / "nvda_1h_sample.csv"
COMMANDS = ["create", "append", "query", "info", "log", "coverage", "gaps", "optimize", "add-columns",
            "vacuum", "entities"]


# ---- data -----------------------------------------------------------------

def write_amd_csv(cli, name="amd.csv"):
    """AMD bars at 00, 01, 02, 05 and 06 o'clock on 2024-06-01: 03 and 04 are missing."""
    lines = ["ts,symbol,open,high,low,close,volume"]
    for hour, close in [(0, 160.5), (1, 161.0), (2, 159.75), (5, 162.25), (6, 163.0)]:
        lines.append(f"2024-06-01T{hour:02d}:00:00Z,AMD,{close},{close + 1},{close - 1},"
                     f"{close},{1000 + hour}")
    (cli.tmp / name).write_text("\n".join(lines) + "\n")
    return name


def make_bars(cli, name="bars", amd=True):
    """An hourly table with entity symbol: NVDA (version 2), then AMD (version 3)."""
    cli.ok("create", "--table", name, "--index-column", "ts", "--bucket", "1h",
           "--entity", "symbol")
    cli.ok("append", "--table", name, "--csv", str(NVDA_CSV))
    if amd:
        cli.ok("append", "--table", name, "--csv", write_amd_csv(cli))
    return name


def make_counter_table(cli):
    """An int64-indexed table (bucket width 10) covering 0..19 and 40..44 of device a."""
    cli.ok("create", "--table", "counters", "--protocol", "6",  # ten rows per bucket: v6 only
           "--index-column", "seq", "--index-type", "int64",
           "--bucket-width", "10", "--entity", "device")
    rows = ["seq,device,reading"] + [f"{i},a,{i * 0.5}" for i in [*range(0, 20), *range(40, 45)]]
    (cli.tmp / "counters.csv").write_text("\n".join(rows) + "\n")
    cli.ok("append", "--table", "counters", "--csv", "counters.csv")
    return "counters"


def nvda_parquet(cli):
    """A Parquet file of the NVDA bars: the segment an append wrote, copied out."""
    make_bars(cli, "source", amd=False)
    segment = next((cli.tmp / "source" / "data").rglob("*.parquet"))
    shutil.copy(segment, cli.tmp / "nvda.parquet")
    return "nvda.parquet"


def table_version(cli, table):
    return json.loads(cli.ok("info", "--table", table, "--format", "json").stdout)["version"]


# ---- top level and help ----------------------------------------------------

def test_top_level_help_lists_every_command(cli, golden):
    r = cli("--help")
    golden("help_top", r)
    for command in COMMANDS:
        assert f"\n  {command} " in r.stdout


@pytest.mark.parametrize("command", COMMANDS)
def test_every_command_has_help_with_an_example(cli, golden, command):
    r = cli(command, "--help")
    golden(f"help_{command}", r)
    assert "Example" in r.stdout and r.stderr == "" and r.code == 0


def test_help_wins_over_other_options(cli):
    assert cli("create", "--table", "x", "--help").stdout == cli("create", "--help").stdout
    assert not (cli.tmp / "x").exists()


def test_version_names_the_program_and_format(cli, golden):
    golden("version", cli("--version"))


def test_no_command_prints_usage_to_stderr_and_fails(cli, golden):
    golden("no_command", cli())


def test_unknown_command_is_one_error(cli, golden):
    golden("unknown_command", cli("frobnicate"))


def test_unknown_top_level_option_is_one_error(cli, golden):
    golden("unknown_top_option", cli("--frobnicate"))


# ---- create ----------------------------------------------------------------

def test_create_timestamp_table_with_entity(cli, golden):
    golden("create_timestamp", cli("create", "--table", "my_stocks", "--index-column",
                                   "timestamp", "--index-type", "timestamp", "--bucket", "1h",
                                   "--entity", "symbol"))
    golden("create_timestamp_info", cli("info", "--table", "my_stocks"))


def test_create_accepts_timezone_and_comma_separated_entities(cli, golden):
    cli.ok("create", "--table", "t", "--time-column", "ts", "--bucket", "15 min",
           "--timezone", "America/New_York", "--entity", "symbol, venue", "--entity", "desk")
    golden("create_timezone_entities_info", cli("info", "--table", "t", "--format", "json"))


@pytest.mark.parametrize("index_type", ["int64", "uint64"])
def test_create_integer_index_table(cli, golden, index_type):
    golden(f"create_{index_type}", cli("create", "--table", "t", "--index-column", "seq",
                                       "--index-type", index_type, "--bucket-width", "1000"))
    golden(f"create_{index_type}_info", cli("info", "--table", "t", "--format", "json"))


def test_create_with_option_equals_value_syntax(cli):
    r = cli("create", "--table=t", "--index-column=ts", "--bucket=1d")
    assert (r.code, r.stdout) == (0, "Created table at t\n")


CREATE_ERRORS = {
    "create_err_bucket_width_on_timestamp": ["--bucket", "1h", "--bucket-width", "5"],
    "create_err_missing_bucket": [],
    "create_err_bad_bucket_unit": ["--bucket", "2x"],
    "create_err_zero_bucket": ["--bucket", "0s"],
    "create_err_bucket_on_int64": ["--index-type", "int64", "--bucket", "1h",
                                   "--bucket-width", "10"],
    "create_err_timezone_on_uint64": ["--index-type", "uint64", "--bucket-width", "10",
                                      "--timezone", "UTC"],
    "create_err_missing_bucket_width": ["--index-type", "int64"],
    "create_err_zero_bucket_width": ["--index-type", "int64", "--bucket-width", "0"],
    "create_err_negative_bucket_width": ["--index-type", "uint64", "--bucket-width", "-1"],
    "create_err_huge_bucket_width": ["--index-type", "int64",
                                     "--bucket-width", "18446744073709551616"],
    "create_err_bad_index_type": ["--index-type", "float", "--bucket", "1h"],
    "create_err_empty_entity": ["--bucket", "1h", "--entity", "symbol,,venue"],
    "create_err_entity_is_index": ["--bucket", "1h", "--entity", "ts"],
}


@pytest.mark.parametrize("name", CREATE_ERRORS)
def test_create_rejects_invalid_options_before_any_io(cli, golden, name):
    golden(name, cli("create", "--table", "t", "--index-column", "ts", *CREATE_ERRORS[name]))
    assert not (cli.tmp / "t").exists()


# ---- create --protocol 7 (the reference 0.5 to 0.9; docs/guide/cli.md) ------------------------

def test_create_protocol_7_timestamp_table(cli, golden):
    golden("create_protocol7", cli("create", "--table", "bars7", "--protocol", "7",
                                   "--index-column", "ts", "--index-type", "timestamp",
                                   "--index-granularity", "1h", "--entity", "symbol"))
    golden("create_protocol7_info", cli("info", "--table", "bars7"))
    log = (cli.tmp / "bars7" / "_timeseries_log" / "0000000001.json").read_text()
    assert '"kind":{"type":"timestamp","index_granularity":{"Hours":1}}' in log
    assert log.endswith(',"protocol_version":7,"required_reader_features":[],'
                        '"required_writer_features":[]}}]}')


def test_create_protocol_7_uint64_table(cli, golden):
    cli.ok("create", "--table", "seq7", "--protocol", "7", "--index-column", "k",
           "--index-type", "uint64", "--index-granularity", "7")
    golden("create_protocol7_uint64_info", cli("info", "--table", "seq7", "--format", "json"))
    log = (cli.tmp / "seq7" / "_timeseries_log" / "0000000001.json").read_text()
    assert '"kind":{"type":"uint64","index_granularity":7}' in log


def test_new_tables_are_protocol_7_unless_asked_for_6_with_either_spelling(cli):
    # The default: protocol 7, with the 0.5 names and with the 0.4 names.
    cli.ok("create", "--table", "t", "--index-column", "k", "--index-type", "int64",
           "--index-granularity", "10")
    cli.ok("create", "--table", "t04", "--time-column", "ts", "--bucket", "1h")
    for name, kind in (("t", '{"type":"int64","index_granularity":10}'),
                       ("t04", '{"type":"timestamp","index_granularity":{"Hours":1}}')):
        log = (cli.tmp / name / "_timeseries_log" / "0000000001.json").read_text()
        assert kind in log and log.endswith(',"protocol_version":7,"required_reader_features"'
                                            ':[],"required_writer_features":[]}}]}'), log
        assert "format_version" not in log
    # --protocol 6, for reference 0.4 readers, with either spelling too.
    cli.ok("create", "--table", "t6", "--protocol", "6", "--index-column", "ts",
           "--index-granularity", "1h")
    cli.ok("create", "--table", "u6", "--protocol", "6", "--index-column", "k",
           "--index-type", "uint64", "--bucket-width", "10")
    for name, kind in (("t6", '{"type":"timestamp","bucket":{"Hours":1}}'),
                       ("u6", '{"type":"u_int64","bucket_width":10}')):
        log = (cli.tmp / name / "_timeseries_log" / "0000000001.json").read_text()
        assert kind in log and log.endswith(',"format_version":6}}]}'), log


def test_create_refuses_the_same_option_under_both_spellings(cli):
    r = cli("create", "--table", "t", "--index-column", "ts", "--time-column", "ts",
            "--bucket", "1h")
    assert r.code == 1 and "--index-column" in r.stderr
    r = cli("create", "--table", "t", "--index-column", "ts", "--bucket", "1h",
            "--index-granularity", "1h")
    assert r.code == 1 and "they name the same thing" in r.stderr
    assert not (cli.tmp / "t").exists()


CREATE_PROTOCOL_ERRORS = {
    "create_err_bad_protocol": ["--protocol", "8", "--bucket", "1h"],
    "create_err_granularity_and_bucket": ["--index-granularity", "1h", "--bucket", "1h"],
    "create_err_granularity_and_width": ["--index-type", "int64", "--index-granularity", "3",
                                         "--bucket-width", "3"],
    "create_err_zero_granularity": ["--protocol", "7", "--index-type", "uint64",
                                    "--index-granularity", "0"],
    "create_err_bad_granularity": ["--protocol", "7", "--index-granularity", "2x"],
}


@pytest.mark.parametrize("name", CREATE_PROTOCOL_ERRORS)
def test_create_protocol_options_are_checked_before_any_io(cli, golden, name):
    golden(name, cli("create", "--table", "t", "--index-column", "ts",
                     *CREATE_PROTOCOL_ERRORS[name]))
    assert not (cli.tmp / "t").exists()


def test_append_to_protocol_7_table_refuses_a_duplicate_interval(cli, golden):
    cli.ok("create", "--table", "t", "--protocol", "7", "--index-column", "ts",
           "--index-granularity", "1h", "--entity", "symbol")
    (cli.tmp / "dup.csv").write_text("ts,symbol,v\n2024-01-01T00:00:00Z,A,1\n"
                                     "2024-01-01T00:30:00Z,A,2\n")
    golden("append_err_protocol7_duplicate", cli("append", "--table", "t", "--csv", "dup.csv"))
    assert not (cli.tmp / "t" / "data").exists()


def test_create_refuses_an_existing_table(cli, golden):
    cli.ok("create", "--table", "t", "--index-column", "ts", "--bucket", "1h")
    golden("create_err_exists", cli("create", "--table", "t", "--index-column", "ts",
                                    "--bucket", "1d"))


USAGE_ERRORS = {
    "usage_err_missing_table": ["create", "--index-column", "ts", "--bucket", "1h"],
    "usage_err_unknown_option": ["create", "--table", "t", "--colour", "red"],
    "usage_err_missing_value": ["create", "--table"],
    "usage_err_repeated_option": ["create", "--table", "a", "--table", "b"],
    "usage_err_positional": ["create", "t"],
    "usage_err_flag_with_value": ["append", "--timing=yes"],
}


@pytest.mark.parametrize("name", USAGE_ERRORS)
def test_usage_errors_name_the_problem_and_point_to_help(cli, golden, name):
    golden(name, cli(*USAGE_ERRORS[name]))


# ---- append ----------------------------------------------------------------

def test_append_csv_prints_the_new_version(cli, golden):
    cli.ok("create", "--table", "t", "--index-column", "ts", "--bucket", "1h",
           "--entity", "symbol")
    golden("append_csv", cli("append", "--table", "t", "--csv", str(NVDA_CSV)))


def test_append_parquet_and_then_more_rows(cli, golden):
    source = nvda_parquet(cli)
    cli.ok("create", "--table", "t", "--index-column", "ts", "--bucket", "1h",
           "--entity", "symbol")
    golden("append_parquet", cli("append", "--table", "t", "--parquet", source))
    golden("append_parquet_then_csv", cli("append", "--table", "t", "--csv", write_amd_csv(cli)))
    assert (cli.tmp / source).exists()


def test_append_timing_reports_version_and_elapsed(cli, golden):
    cli.ok("create", "--table", "t", "--index-column", "ts", "--bucket", "1h")
    golden("append_timing", cli("append", "--table", "t", "--csv", str(NVDA_CSV), "--timing"))


def test_append_overlap_names_entity_count_and_range_and_changes_nothing(cli, golden):
    make_bars(cli, "t", amd=False)
    r = cli("append", "--table", "t", "--csv", str(NVDA_CSV))
    golden("append_err_overlap", r)
    assert "overlap" in r.stderr and str(NVDA_CSV).replace(str(REPO), "<REPO>") in r.stderr
    assert table_version(cli, "t") == 2


def test_append_missing_source_names_the_path(cli, golden):
    cli.ok("create", "--table", "t", "--index-column", "ts", "--bucket", "1h")
    golden("append_err_missing_source", cli("append", "--table", "t", "--parquet", "nope.parquet"))
    assert table_version(cli, "t") == 1


def test_append_corrupt_parquet_fails_and_changes_nothing(cli):
    cli.ok("create", "--table", "t", "--index-column", "ts", "--bucket", "1h")
    (cli.tmp / "bad.parquet").write_bytes(b"PAR1 this is not a parquet file PAR1")
    r = cli("append", "--table", "t", "--parquet", "bad.parquet")
    assert r.code == 1 and r.stdout == ""
    assert r.stderr.startswith("Parquet source bad.parquet is not a readable Parquet file")
    assert r.stderr.count("\n") == 1
    assert table_version(cli, "t") == 1
    assert not any((cli.tmp / "t").glob("data/*.parquet"))


def test_append_schema_mismatch_is_reported(cli):
    make_bars(cli, "t", amd=False)
    (cli.tmp / "other.csv").write_text("ts,symbol,price\n2024-07-01T00:00:00Z,NVDA,1.5\n")
    r = cli("append", "--table", "t", "--csv", "other.csv")
    assert r.code == 1 and r.stdout == "" and r.stderr.count("\n") == 1
    assert r.stderr.startswith("CSV source other.csv has no column 'open' (its columns: 'ts', "
                               "'symbol', 'price')")


def test_append_needs_exactly_one_source(cli, golden):
    golden("append_err_two_sources", cli("append", "--table", "t", "--csv", "a.csv",
                                         "--parquet", "b.parquet"))
    golden("append_err_no_source", cli("append", "--table", "t"))


def test_append_to_a_missing_table(cli, golden):
    golden("append_err_no_table", cli("append", "--table", "nope", "--csv", str(NVDA_CSV)))


def test_append_prints_no_progress_when_stderr_is_not_a_terminal(cli):
    cli.ok("create", "--table", "t", "--index-column", "ts", "--bucket", "1h")
    r = cli("append", "--table", "t", "--csv", str(NVDA_CSV))
    assert r.stderr == ""


# ---- info and log -----------------------------------------------------------

def test_info_table_and_json(cli, golden):
    make_bars(cli)
    golden("info_table", cli("info", "--table", "bars"))
    r = cli("info", "--table", "bars", "--format", "json")
    golden("info_json", r)
    info = json.loads(r.stdout)
    assert (info["version"], info["rows"], info["segments"]) == (3, 245, 2)
    assert info["bytes"] > 0


def test_info_of_a_table_without_data(cli, golden):
    cli.ok("create", "--table", "t", "--index-column", "ts", "--bucket", "1h")
    golden("info_empty", cli("info", "--table", "t"))
    golden("info_empty_json", cli("info", "--table", "t", "--format", "json"))


def test_info_of_a_folder_that_is_not_a_table(cli, golden):
    (cli.tmp / "plain").mkdir()
    golden("info_err_not_a_table", cli("info", "--table", "plain"))


def test_info_rejects_an_unknown_format(cli, golden):
    make_bars(cli, amd=False)
    golden("info_err_format", cli("info", "--table", "bars", "--format", "yaml"))


def test_log_lists_every_commit(cli, golden):
    make_bars(cli)
    golden("log_table", squeeze_boxes(cli("log", "--table", "bars")))
    r = cli("log", "--table", "bars", "--format", "json")
    golden("log_json", r)
    log = json.loads(r.stdout)
    assert [c["version"] for c in log] == [1, 2, 3]
    assert "AddSegment" in [a["action"] for a in log[2]["actions"]]


def test_log_reports_a_missing_commit_file(cli, golden):
    make_bars(cli, amd=False)
    (cli.tmp / "bars" / "_timeseries_log" / "0000000001.json").rename(cli.tmp / "c1.json")
    r = cli("log", "--table", "bars", "--format", "json")
    assert r.code == 1 and r.stdout == "" and r.stderr.count("\n") == 1


# ---- coverage and gaps ------------------------------------------------------

def test_coverage_of_the_whole_table(cli, golden):
    make_bars(cli)
    golden("coverage_all", cli("coverage", "--table", "bars"))
    golden("coverage_all_json", cli("coverage", "--table", "bars", "--format", "json"))


def test_coverage_of_one_entity_in_a_range(cli, golden):
    make_bars(cli)
    args = ["coverage", "--table", "bars", "--entity", "symbol=AMD",
            "--start", "2024-06-01T00:00:00Z", "--end", "2024-06-01T08:00:00Z"]
    golden("coverage_entity", cli(*args))
    r = cli(*args, "--format", "json")
    golden("coverage_entity_json", r)
    c = json.loads(r.stdout)
    assert (c["covered_buckets"], c["total_buckets"], c["max_gap_buckets"]) == (5, 8, 2)
    assert c["ratio"] == 0.625


def test_coverage_of_an_unknown_entity_is_zero(cli, golden):
    make_bars(cli)
    golden("coverage_unknown_entity", cli("coverage", "--table", "bars", "--entity",
                                          "symbol=MSFT", "--start", "2024-06-01",
                                          "--end", "2024-06-02", "--format", "json"))


def test_coverage_of_an_integer_index(cli, golden):
    make_counter_table(cli)
    golden("coverage_int", cli("coverage", "--table", "counters", "--start", "0", "--end", "50"))
    golden("gaps_int_json", cli("gaps", "--table", "counters", "--entity", "device=a",
                                "--start", "0", "--end", "50", "--format", "json"))


def test_coverage_of_a_composite_entity(cli, golden):
    cli.ok("create", "--table", "t", "--index-column", "ts", "--bucket", "1h",
           "--entity", "symbol,venue")
    (cli.tmp / "q.csv").write_text("ts,symbol,venue,price\n"
                                   "2024-06-01T00:00:00Z,NVDA,XNAS,1.0\n"
                                   "2024-06-01T02:00:00Z,NVDA,XNAS,1.5\n"
                                   "2024-06-01T01:00:00Z,NVDA,BATS,2.0\n")
    cli.ok("append", "--table", "t", "--csv", "q.csv")
    golden("coverage_composite", cli("coverage", "--table", "t", "--entity", "venue=XNAS",
                                     "--entity", "symbol=NVDA", "--start", "2024-06-01",
                                     "--end", "2024-06-01T03:00:00Z"))
    golden("coverage_err_partial_entity", cli("coverage", "--table", "t", "--entity",
                                              "symbol=NVDA", "--start", "2024-06-01",
                                              "--end", "2024-06-02"))


ENTITY_ERRORS = {
    "entity_err_no_equals": ["--entity", "symbol"],
    "entity_err_unknown_column": ["--entity", "ticker=NVDA"],
    "range_err_bad_start": ["--start", "last-tuesday"],
    "range_err_reversed": ["--start", "2024-06-02", "--end", "2024-06-01"],
}


@pytest.mark.parametrize("name", ENTITY_ERRORS)
def test_coverage_rejects_bad_entities_and_ranges(cli, golden, name):
    make_bars(cli, amd=False)
    golden(name, cli("coverage", "--table", "bars", *ENTITY_ERRORS[name]))


def test_gaps_of_one_entity(cli, golden):
    make_bars(cli)
    args = ["gaps", "--table", "bars", "--entity", "symbol=AMD", "--start", "2024-06-01",
            "--end", "2024-06-01T12:00:00Z"]
    golden("gaps_entity", cli(*args))
    r = cli(*args, "--format", "json")
    golden("gaps_entity_json", r)
    assert json.loads(r.stdout) == [
        {"start": "2024-06-01T03:00:00Z", "end": "2024-06-01T05:00:00Z",
         "end_inclusive": False, "buckets": 2},
        {"start": "2024-06-01T07:00:00Z", "end": "2024-06-01T12:00:00Z",
         "end_inclusive": False, "buckets": 5},
    ]


def test_gaps_of_the_whole_table_and_split_pieces(cli, golden):
    make_bars(cli)
    golden("gaps_all", cli("gaps", "--table", "bars", "--start", "2024-05-31T20:00:00Z",
                           "--end", "2024-06-12"))
    golden("gaps_max_buckets", cli("gaps", "--table", "bars", "--start", "2024-06-10T20:00:00Z",
                                   "--end", "2024-06-11T06:00:00Z", "--max-buckets", "4"))


def test_gaps_when_nothing_is_missing(cli, golden):
    make_bars(cli, amd=False)
    golden("gaps_none", cli("gaps", "--table", "bars"))
    golden("gaps_none_json", cli("gaps", "--table", "bars", "--format", "json"))


# ---- query -----------------------------------------------------------------

def query(cli, *args):
    return cli("query", "--table", "bars", *args)


def test_query_preview_shows_the_first_rows_and_the_total(cli, golden):
    make_bars(cli)
    golden("query_preview", query(cli, "--sql", "SELECT ts, symbol, close, volume FROM bars "
                                  "ORDER BY symbol, ts LIMIT 12"))


def test_query_max_rows_limits_the_preview(cli, golden):
    make_bars(cli)
    golden("query_max_rows_2", query(cli, "--max-rows", "2", "--sql",
                                     "SELECT symbol, count(*) AS n, avg(close) AS mean "
                                     "FROM bars GROUP BY symbol ORDER BY symbol"))
    golden("query_max_rows_0", query(cli, "--max-rows", "0", "--sql", "SELECT * FROM bars"))


def test_query_without_rows_says_so(cli, golden):
    make_bars(cli)
    golden("query_no_rows", query(cli, "--sql", "SELECT * FROM bars WHERE symbol = 'MSFT'"))


def test_query_format_json_prints_one_array_of_objects(cli, golden):
    make_bars(cli)
    r = query(cli, "--format", "json", "--sql",
              "SELECT symbol, close FROM bars ORDER BY ts, symbol LIMIT 3")
    golden("query_json_stdout", r)
    assert json.loads(r.stdout)[0]["symbol"] in ("AMD", "NVDA")


def test_query_output_dash_writes_every_row_to_stdout(cli, golden):
    make_bars(cli)
    golden("query_csv_dash", query(cli, "--output", "-", "--max-rows", "1", "--sql",
                                   "SELECT symbol, close FROM bars WHERE symbol = 'AMD' "
                                   "ORDER BY ts"))
    golden("query_jsonl_dash", query(cli, "--output", "-", "--format", "jsonl", "--sql",
                                     "SELECT symbol, volume FROM bars WHERE symbol = 'AMD' "
                                     "ORDER BY ts"))


def test_query_output_file_writes_every_row_after_the_preview(cli, golden):
    make_bars(cli)
    r = query(cli, "--max-rows", "2", "--output", "amd.jsonl", "--sql",
              "SELECT symbol, volume FROM bars WHERE symbol = 'AMD' ORDER BY ts")
    golden("query_output_jsonl", r)
    lines = (cli.tmp / "amd.jsonl").read_text().splitlines()
    assert len(lines) == 5 and json.loads(lines[0]) == {"symbol": "AMD", "volume": 1000}


def test_query_parquet_output_can_be_queried_back(cli, golden):
    make_bars(cli)
    cli.ok("query", "--table", "bars", "--max-rows", "0", "--format", "parquet",
           "--output", "amd.parquet", "--sql", "SELECT * FROM bars WHERE symbol = 'AMD'")
    golden("query_parquet_back", cli("query", "--parquet", "amd=amd.parquet", "--sql",
                                     "SELECT count(*) AS n, max(close) AS top FROM amd"))


def test_query_joins_a_table_with_a_parquet_file(cli, golden):
    source = nvda_parquet(cli)
    make_bars(cli)
    golden("query_join_parquet", cli("query", "--table", "bars", "--parquet", f"ref={source}",
                                     "--sql", "SELECT b.symbol, count(*) AS matched FROM bars b "
                                     "JOIN ref r ON b.ts = r.ts GROUP BY b.symbol "
                                     "ORDER BY b.symbol"))


def test_query_registers_several_tables(cli, golden):
    make_bars(cli)
    make_counter_table(cli)
    golden("query_two_tables", cli("query", "--table", "bars", "--table", "counters/", "--sql",
                                   "SELECT (SELECT count(*) FROM bars) AS bars, "
                                   "(SELECT count(*) FROM counters) AS counters"))


def test_query_sanitizes_table_names(cli, golden):
    make_bars(cli, "123-my data", amd=False)
    golden("query_sanitized_name", cli("query", "--table", "./123-my data", "--sql",
                                       "SELECT count(*) AS n FROM t_123_my_data"))


def test_query_explain_prints_the_plan_first(cli):
    make_bars(cli)
    r = query(cli, "--explain", "--sql", "SELECT count(*) AS n FROM bars")
    assert r.code == 0, r.stderr
    assert r.stdout.index("explain") < r.stdout.index("Preview output")
    assert "segments kept after pruning: 2 of 2\n" in r.stdout
    assert r.stdout.endswith("total_rows: 1\n")


def make_tzr(cli):
    """The report's "tzr": the NVDA sample (2024-06-01 .. 06-10) and the same bars ten days
    later, appended from a DuckDB Parquet file: two segments."""
    import duckdb

    make_bars(cli, "tzr", amd=False)
    con = duckdb.connect()
    con.execute("SET TimeZone = 'UTC'")
    con.execute(f"COPY (SELECT ts + INTERVAL 10 DAY AS ts, * EXCLUDE (ts) FROM "
                f"read_csv('{NVDA_CSV}')) TO '{cli.tmp / 'june11_20.parquet'}' (FORMAT parquet)")
    cli.ok("append", "--table", "tzr", "--parquet", "june11_20.parquet")


def test_finding_4_explain_shows_the_pruned_plan_and_its_segment_count(cli, golden):
    make_tzr(cli)
    golden("query_explain_pruned", cli("query", "--table", "tzr", "--explain", "--max-rows", "0",
                                       "--sql", "select count(*) from tzr where ts >= '2024-06-15'"))
    whole = cli("query", "--table", "tzr", "--explain", "--max-rows", "0", "--sql",
                "select count(*) from tzr")
    assert "segments kept after pruning: 2 of 2\n" in whole.stdout
    # The plan is the pruned statement's: with the first segment's file gone,
    # the plan, EXPLAIN ANALYZE (which runs the statement) and the query work.
    first = min((cli.tmp / "tzr" / "data").rglob("*.parquet"), key=lambda p: p.stat().st_mtime_ns)
    first.unlink()
    r = cli("query", "--table", "tzr", "--explain", "--sql",
            "select count(*) AS n from tzr where ts >= '2024-06-15'")
    assert r.code == 0, r.stderr
    assert "segments kept after pruning: 1 of 2\n" in r.stdout
    assert "│ 144          │\n" in r.stdout and r.stdout.endswith("total_rows: 1\n")
    r = cli("query", "--table", "tzr", "--sql",
            "explain analyze select count(*) from tzr where ts >= '2024-06-15'")
    assert r.code == 0 and "READ_PARQUET" in r.stdout, r.stderr
    # An --explain whose statement fails is one error, not a crash.
    r = cli("query", "--table", "tzr", "--explain", "--sql", "select count(*) from tzr")
    assert r.code == 1 and r.stderr.count("Query failed") == 1, r.stderr
    assert "table 'tzr' (tzr): the statement needs segment data/" in r.stderr
    assert "whose data file <TMP>/tzr/data/_managed/append/<UUID>.parquet cannot be read: No such file" in r.stderr


def test_a_nanosecond_zoned_index_prunes_at_the_microseconds_sql_sees(cli):
    """pyarrow writes timestamp[ns, UTC]; SQL reads TIMESTAMPTZ (microseconds), so a row
    at 00:00:00.000000500 is 00:00:00 to the statement and its segment must be kept, even
    when the log records the bound in nanoseconds."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    ts = pa.array([1704067200000000500, 1704067200000001500, 1704070800000000000],
                  pa.timestamp("ns", "UTC"))
    pq.write_table(pa.table({"ts": ts.slice(0, 2), "sym": ["A", "A"], "v": [1.0, 2.0]}),
                   cli.tmp / "a.parquet")
    pq.write_table(pa.table({"ts": ts.slice(2, 1), "sym": ["A"], "v": [3.0]}),
                   cli.tmp / "b.parquet")
    cli.ok("create", "--table", "ns", "--protocol", "6", "--index-column", "ts", "--bucket", "1h",
           "--entity", "sym")  # two rows in one bucket: format_version 6 only
    cli.ok("append", "--table", "ns", "--parquet", "a.parquet")
    cli.ok("append", "--table", "ns", "--parquet", "b.parquet")
    # The log records the bounds in nanoseconds, as the Rust reference does (the
    # append reads a zoned ns column exactly, see docs/guide/source-types.md).
    text = (cli.tmp / "ns" / "_timeseries_log" / "0000000002.json").read_text()
    for ns in ["00:00:00.000000500Z", "00:00:00.000001500Z"]:
        assert f'"2024-01-01T{ns}"' in text
    r = cli("query", "--table", "ns", "--explain", "--sql",
            "select count(*) AS n from ns where ts <= '2024-01-01 00:00:00'")
    assert r.code == 0, r.stderr
    assert "segments kept after pruning: 1 of 2\n" in r.stdout
    assert "│ 1            │" in r.stdout


def test_query_timing_reports_elapsed(cli, golden):
    make_bars(cli)
    golden("query_timing", query(cli, "--timing", "--sql", "SELECT 1 AS one"))


# ---- Arrow IPC ----------------------------------------------------------------

ARROW_READER = REPO / "tests" / "fixtures" / "read_arrow_ipc.mjs"
NODE_DEPS = REPO / ".deps" / "node"
ARROW_EOS = b"\xff\xff\xff\xff\x00\x00\x00\x00"


def read_arrow_with_node(path):
    """What apache-arrow (JavaScript, tests/fixtures/read_arrow_ipc.mjs) reads from
    an Arrow IPC stream file. Without node or the package the test fails, unless
    TST_ALLOW_MISSING_FIXTURES=1 makes it skip."""
    problem = None
    if shutil.which("node") is None:
        problem = "node is not installed"
    elif not (NODE_DEPS / "node_modules" / "apache-arrow").exists():
        problem = f"{NODE_DEPS}/node_modules/apache-arrow is missing: run scripts/deps.sh"
    if problem:
        if os.environ.get("TST_ALLOW_MISSING_FIXTURES") == "1":
            pytest.skip(f"apache-arrow reader unavailable: {problem}")
        pytest.fail(f"apache-arrow reader unavailable: {problem}; "
                    "TST_ALLOW_MISSING_FIXTURES=1 skips")
    p = subprocess.run(["node", str(ARROW_READER), str(path), str(NODE_DEPS)],
                       capture_output=True, timeout=60)
    assert p.returncode == 0, p.stderr.decode()
    return p.stdout.decode()


def test_query_arrow_output_is_an_ipc_file_apache_arrow_reads(cli, golden):
    make_bars(cli)
    sql = "SELECT * FROM bars WHERE symbol = 'AMD' ORDER BY ts"
    golden("query_arrow_file", query(cli, "--max-rows", "0", "--format", "arrow",
                                     "--output", "amd.arrow", "--sql", sql))
    data = (cli.tmp / "amd.arrow").read_bytes()
    assert data.startswith(b"ARROW1\0\0") and data.endswith(b"ARROW1")
    golden("query_arrow_read_by_apache_arrow",
           Result(read_arrow_with_node(cli.tmp / "amd.arrow"), "", 0))


def test_query_arrow_to_stdout_is_the_same_bytes_as_the_file(cli):
    make_bars(cli)
    sql = "SELECT ts, symbol, close FROM bars ORDER BY symbol, ts"
    cli.ok("query", "--table", "bars", "--sql", sql, "--output", "all.arrows", "--max-rows", "0")
    p = cli.raw("query", "--table", "bars", "--sql", sql, "--output", "-", "--format", "arrows")
    assert p.returncode == 0, p.stderr.decode()
    assert p.stdout == (cli.tmp / "all.arrows").read_bytes()  # .arrows picked the stream
    assert p.stdout.endswith(ARROW_EOS)
    lines = read_arrow_with_node(cli.tmp / "all.arrows").splitlines()
    assert lines[:4] == ["schema ts: Timestamp<MICROSECOND, UTC> nullable",
                         "schema symbol: Utf8 nullable", "schema close: Float64 nullable",
                         "batches 1"]
    assert len(lines) == 4 + 245
    assert json.loads(lines[4]) == {"ts": "2024-06-01T00:00:00Z", "symbol": "AMD",
                                    "close": "160.5"}


QUERY_ERRORS = {
    "query_err_sql": ["--sql", "SELECT nope FROM bars"],
    # DuckDB repeats the LINE block of a syntax error; printed once.
    "query_err_syntax": ["--sql", "SELEC 1 FROM bars"],
    "query_err_empty_output": ["--sql", "SELECT 1", "--output", ""],
    "query_err_arrow_enum": ["--sql", "SELECT 'a'::ENUM('a', 'b') AS e", "--format", "arrow",
                             "--output", "x.arrow"],
    "query_err_format": ["--sql", "SELECT 1", "--format", "xml"],
    "query_err_max_rows": ["--sql", "SELECT 1", "--max-rows", "-3"],
    "query_err_parquet_spec": ["--sql", "SELECT 1", "--parquet", "just-a-path.parquet"],
    "query_err_missing_sql": [],
}


@pytest.mark.parametrize("name", QUERY_ERRORS)
def test_query_errors(cli, golden, name):
    make_bars(cli, amd=False)
    golden(name, query(cli, *QUERY_ERRORS[name]))


def test_query_of_a_missing_table(cli, golden):
    golden("query_err_no_table", cli("query", "--table", "nope", "--sql", "SELECT 1"))


# ---- errors are printed once -----------------------------------------------

FAILING = [
    ["frobnicate"],
    ["create", "--table", "t", "--index-column", "ts", "--bucket", "9q"],
    ["append", "--table", "nope", "--csv", "x.csv"],
    ["info", "--table", "nope"],
    ["log", "--table", "nope"],
    ["coverage", "--table", "nope"],
    ["gaps", "--table", "nope"],
    ["query", "--table", "nope", "--sql", "SELECT 1"],
]


@pytest.mark.parametrize("args", FAILING, ids=lambda a: a[0])
def test_an_error_is_printed_once_on_stderr_only(cli, args):
    r = cli(*args)
    assert r.code == 1 and r.stdout == ""
    lines = [l for l in r.stderr.splitlines() if not l.startswith("Run 'tstable")]
    assert len(lines) == 1, r.stderr


# ---- examples --------------------------------------------------------------

@pytest.mark.parametrize("script", ["ingest_nvda.sh", "moving_average.sh"])
def test_example_scripts_run(cli, golden, script):
    p = subprocess.run(["sh", str(REPO / "examples" / script)], cwd=cli.tmp, capture_output=True,
                       env=dict(os.environ, TSTABLE=str(BIN)), timeout=60)
    r = type("R", (), {})()
    r.stdout, r.stderr, r.code = (cli.normalise(p.stdout.decode()),
                                  cli.normalise(p.stderr.decode()), p.returncode)
    golden(f"example_{script.replace('.sh', '')}", r)
    assert p.returncode == 0


# ---- findings of the 2026-12-07 new-user trial ------------------------------------

def test_finding_3_preview_and_coverage_print_floats_exactly(cli, golden):
    sql = ("SELECT 1.5e-7::double AS r, 0.00001234::double AS p, 1e300::double AS big, "
           "6e-8::double AS tiny, 0.1::double AS tenth, 123.45::double AS price, "
           "0.1::float AS f32, 1e63::double AS e63")
    r = cli("query", "--sql", sql)
    golden("finding_3_float_preview", r)
    assert "│ 1.5e-07 │ 1.234e-05 │ 1e+300 │ 6e-08 │ 0.1   │ 123.45 │ 0.1 │ 1e+63 │" in r.stdout
    csv = cli.ok("query", "--sql", sql, "--format", "csv").stdout.splitlines()[1]
    assert csv.split(",")[:6] == ["1.5e-07", "1.234e-05", "1e+300", "6e-08", "0.1", "123.45"]
    # coverage's ratio: 1 covered bucket of 2**24 seconds is 5.96e-08, not 0
    cli.ok("create", "--table", "sec", "--index-column", "ts", "--bucket", "1s")
    (cli.tmp / "one.csv").write_text("ts,v\n2024-01-01T00:00:00Z,1\n")
    cli.ok("append", "--table", "sec", "--csv", "one.csv")
    r = cli("coverage", "--table", "sec", "--start", "2024-01-01T00:00:00Z",
            "--end", "2024-07-14T04:20:16Z")
    assert "ratio:           5.929926298132026e-08\n" in r.stdout  # was "ratio: 0"
    assert float(r.stdout.split("ratio:")[1].split()[0]) == 1 / int(
        r.stdout.split("total_buckets:")[1].split()[0])


def test_finding_5_overlap_error_counts_pairs_entities_and_the_first_entity(cli, golden):
    lines = NVDA_CSV.read_text().splitlines()
    amd = [line.replace(",NVDA,", ",AMD,") for line in lines[1:]]
    (cli.tmp / "two.csv").write_text("\n".join(lines + amd) + "\n")
    cli.ok("create", "--table", "ov", "--index-column", "ts", "--bucket", "1h",
           "--entity", "symbol")
    cli.ok("append", "--table", "ov", "--csv", "two.csv")
    r = cli("append", "--table", "ov", "--csv", "two.csv")
    golden("finding_5_overlap_two_entities", r)
    assert ("480 (entity, bucket) pairs over 2 entities already covered; first: symbol=AMD, "
            "240 buckets from [2024-06-01T00:00:00Z, 2024-06-01T01:00:00Z)") in r.stderr


def write_minutes(cli, name, first, count):
    rows = ["ts,symbol,price"]
    for m in range(first, first + count):
        rows.append(f"2024-06-01T{m // 60:02d}:{m % 60:02d}:00Z,NVDA,1.5")
    (cli.tmp / name).write_text("\n".join(rows) + "\n")
    return name


def test_finding_13_a_partly_covered_last_bucket_is_explained(cli, golden):
    cli.ok("create", "--table", "ch", "--protocol", "6", "--index-column", "ts",
           "--bucket", "1h", "--entity", "symbol")
    cli.ok("append", "--table", "ch", "--csv", write_minutes(cli, "c1.csv", 0, 45))
    r = cli("append", "--table", "ch", "--csv", write_minutes(cli, "c2.csv", 45, 45))
    golden("finding_13_partly_covered_bucket", r)
    assert ("rejected: the table's last bucket for symbol=NVDA [2024-06-01T00:00:00Z, "
            "2024-06-01T01:00:00Z) is partly covered and the source starts inside it: append "
            "from the next bucket boundary or use a smaller bucket, or use --on-overlap skip "
            "(leave out that bucket's rows) or --allow-boundary-overlap (keep them when no index "
            "value is already stored); nothing was written") in r.stderr
    # what the hint says works: the rows of minutes 45..89 join the partly covered bucket
    r = cli.ok("append", "--table", "ch", "--csv", "c2.csv", "--allow-boundary-overlap")
    assert r.stdout == "Appended table version: 3\n"
    # the other edge: a backfill that ends inside the table's first bucket
    cli.ok("create", "--table", "late", "--protocol", "6", "--index-column", "ts",
           "--bucket", "1h", "--entity", "symbol")
    cli.ok("append", "--table", "late", "--csv", write_minutes(cli, "c3.csv", 60, 60))
    r = cli("append", "--table", "late", "--csv", write_minutes(cli, "c5.csv", 50, 15))
    assert ("the table's first bucket for symbol=NVDA [2024-06-01T01:00:00Z, "
            "2024-06-01T02:00:00Z) is partly covered and the source ends inside it: end the "
            "source before that bucket or use a smaller bucket") in r.stderr
    # a real overlap of several buckets gets no such hint
    cli.ok("create", "--table", "two", "--protocol", "6", "--index-column", "ts",
           "--bucket", "1h", "--entity", "symbol")
    cli.ok("append", "--table", "two", "--csv", write_minutes(cli, "c0.csv", 0, 120))
    r = cli("append", "--table", "two", "--csv", "c0.csv")
    assert "partly covered" not in r.stderr and "2 buckets of entity symbol=NVDA" in r.stderr


def test_finding_14_table_aliases_and_name_clashes(cli, golden):
    make_bars(cli)
    make_bars(cli, "other", amd=False)
    r = cli("query", "--table", "bars", "--parquet", "bars=" + nvda_parquet(cli), "--sql",
            "SELECT count(*) FROM bars")
    golden("finding_14_clash", r)
    assert r.code == 1 and "--table bars and --parquet bars=nvda.parquet" in r.stderr
    r = cli("query", "--table", "bars", "--table", "BARS=other", "--sql", "SELECT 1")
    assert r.code == 1 and "would both be registered as 'BARS'" in r.stderr
    r = cli("query", "--table", "prod=bars", "--table", "staging=other", "--format", "csv",
            "--sql", "SELECT (SELECT count(*) FROM prod) AS p, (SELECT count(*) FROM staging) AS s")
    assert r.code == 0 and r.stdout == "p,s\n245,240\n" and r.stderr == ""
    shutil.copytree(cli.tmp / "bars", cli.tmp / "my-bars")
    r = cli("query", "--table", "my-bars", "--sql", "SELECT 1", "--format", "csv")
    assert r.stderr == "Registered table my-bars as 'my_bars' (quoted: \"my_bars\")\n"


def test_finding_18_garbage_current_rolls_forward_and_current_beyond_the_log_says_so(cli,
                                                                                     golden):
    make_bars(cli)
    current = cli.tmp / "bars" / "_timeseries_log" / "CURRENT"
    current.write_text("garbage\n")
    r = cli("info", "--table", "bars", "--format", "json")
    assert r.code == 0 and json.loads(r.stdout)["version"] == 3
    assert r.stderr == ("warning: log.current_invalid: CURRENT has invalid content at "
                        "bars/_timeseries_log/CURRENT: 'garbage'; reading the log from its "
                        "commit files instead (the next commit rewrites CURRENT)\n")
    current.write_text("99\n")
    r = cli("info", "--table", "bars")
    golden("finding_18_current_beyond_log", r)
    assert "CURRENT says 99 but the log ends at version 3" in r.stderr and r.code == 1


def test_finding_19_describe_show_summarize_pragma_explain_export(cli, golden):
    make_bars(cli)
    r = query(cli, "--sql", "describe bars", "--format", "csv")
    assert r.code == 0 and r.stdout.startswith("column_name,column_type,null,key,default,extra\n"
                                               "ts,TIMESTAMP WITH TIME ZONE,")
    for sql in ("show tables", "summarize bars", "pragma table_info('bars')",
                "explain select * from bars"):
        for fmt in ("csv", "json", "jsonl"):
            r = query(cli, "--sql", sql, "--format", fmt)
            assert r.code == 0 and r.stdout, (sql, fmt, r.stderr)
            if fmt == "json":
                json.loads(r.stdout)
    r = query(cli, "--sql", "pragma table_info('bars')", "--format", "json")
    assert json.loads(r.stdout)[0] == {"cid": 0, "name": "ts", "type": "TIMESTAMP WITH TIME ZONE",
                                       "notnull": False, "dflt_value": None, "pk": False}
    r = query(cli, "--sql", "select * from tstable_coverage('nosuch', '2024-01-01', "
              "'2024-01-02')", "--format", "csv")
    golden("finding_19_error_shows_users_sql", r)
    assert "COPY" not in r.stderr and "LINE 1: select * from tstable_coverage" in r.stderr
    r = query(cli, "--sql", "select 1", "--output", "/nonexistent/dir/x.csv")
    assert r.code == 1 and r.stderr == ("Failed to write /nonexistent/dir/x.csv: export: the "
                                        "folder /nonexistent/dir does not exist (for "
                                        "/nonexistent/dir/x.csv); create it first\n")
    r = query(cli, "--sql", "explain select 1", "--output", "plan.parquet")
    assert r.code == 1 and "cannot be written as parquet" in r.stderr
    assert not list(cli.tmp.glob("plan.parquet*"))


def test_finding_20_exports_write_rfc3339_timestamps(cli, golden):
    make_bars(cli)
    sql = ("SELECT ts, ts::timestamp AS naive, ts + INTERVAL 1500 MILLISECOND AS ms, "
           "ts + INTERVAL 7 MICROSECOND AS us FROM bars ORDER BY ts LIMIT 1")
    r = query(cli, "--sql", sql, "--format", "csv")
    assert r.stdout == ("ts,naive,ms,us\n2024-06-01T00:00:00Z,2024-06-01T00:00:00,"
                        "2024-06-01T00:00:01.500Z,2024-06-01T00:00:00.000007Z\n")
    row = json.loads(query(cli, "--sql", sql, "--format", "json").stdout)[0]
    assert row == {"ts": "2024-06-01T00:00:00Z", "naive": "2024-06-01T00:00:00",
                   "ms": "2024-06-01T00:00:01.500Z", "us": "2024-06-01T00:00:00.000007Z"}
    assert json.loads(query(cli, "--sql", sql, "--format", "jsonl").stdout) == row
    r = query(cli, "--sql", "SELECT ts, ts AS \"a\"\"b\", 'infinity'::timestamptz AS inf, "
              "NULL::timestamp AS n FROM bars ORDER BY ts LIMIT 1", "--format", "csv")
    assert r.stdout == 'ts,"a""b",inf,n\n2024-06-01T00:00:00Z,2024-06-01T00:00:00Z,infinity,\n'
    preview = query(cli, "--sql", sql).stdout
    assert "│ 2024-06-01T00:00:00Z │ 2024-06-01T00:00:00 │ 2024-06-01T00:00:01.500Z │" in preview
    # parquet keeps the real type
    query(cli, "--sql", "-- a comment first\nSELECT ts FROM bars", "--output", "ts.parquet")
    import pyarrow.parquet as pq
    assert str(pq.read_schema(cli.tmp / "ts.parquet").field("ts").type) == "timestamp[us, tz=UTC]"


def test_finding_20_arrow_is_the_ipc_file_that_pyarrow_and_polars_read(cli):
    import polars as pl
    import pyarrow.feather as feather
    import pyarrow.ipc as ipc
    make_bars(cli)
    sql = "SELECT * FROM bars ORDER BY symbol, ts"
    cli.ok("query", "--table", "bars", "--sql", sql, "--output", "all.arrow", "--max-rows", "0")
    data = (cli.tmp / "all.arrow").read_bytes()
    assert data[:8] == b"ARROW1\0\0" and data[-6:] == b"ARROW1"
    table = ipc.open_file(cli.tmp / "all.arrow").read_all()
    assert table.num_rows == 245 and table.column_names[:2] == ["ts", "symbol"]
    assert str(table.schema.field("ts").type) == "timestamp[us, tz=UTC]"
    assert feather.read_table(cli.tmp / "all.arrow").equals(table)
    frame = pl.read_ipc(cli.tmp / "all.arrow")
    assert frame.shape == (245, 7) and frame["symbol"][0] == "AMD"
    p = cli.raw("query", "--table", "bars", "--sql", sql, "--format", "arrow")
    assert p.returncode == 0 and p.stdout == data
    cli.ok("query", "--table", "bars", "--sql", sql, "--output", "all.arrows", "--max-rows", "0")
    assert ipc.open_stream(cli.tmp / "all.arrows").read_all().equals(table)
    # many batches and an empty result
    big = "SELECT range AS i, range * 0.5 AS x FROM range(100000)"
    cli.ok("query", "--sql", big, "--output", "big.arrow", "--max-rows", "0")
    t = ipc.open_file(cli.tmp / "big.arrow")
    assert t.num_record_batches > 1 and t.read_all().num_rows == 100000
    cli.ok("query", "--sql", "SELECT 1 AS a WHERE false", "--output", "none.arrow")
    assert ipc.open_file(cli.tmp / "none.arrow").read_all().num_rows == 0


def test_finding_27_timezone_is_validated_and_said_to_be_metadata(cli, golden):
    r = cli("create", "--table", "tz", "--index-column", "ts", "--bucket", "1d",
            "--timezone", "Invalid/Zone")
    golden("finding_27_bad_timezone", r)
    r = cli("create", "--table", "tz", "--index-column", "ts", "--bucket", "1d",
            "--timezone", "Europe/Berlin; drop")
    assert r.code == 1 and "not an IANA timezone name" in r.stderr
    assert not (cli.tmp / "tz").exists()
    cli.ok("create", "--table", "tz", "--index-column", "ts", "--bucket", "1d",
           "--timezone", "America/New_York")
    info = cli.ok("info", "--table", "tz").stdout
    assert ("timezone America/New_York: metadata only, buckets and dates stay UTC") in info
    assert "does not change anything" in cli("create", "--help").stdout


def test_finding_31_cli_polish(cli, golden):
    r = cli("creat")
    golden("finding_31_unknown_command", r)
    assert "unknown command 'creat'; did you mean 'create'?" in r.stderr
    r = cli("create", "--table", "b", "--index-column", "ts", "--bucket", "0")
    assert r.stderr == "Invalid --bucket '0': the bucket must be positive, e.g. 1h\n"
    r = cli("create", "--table", "b", "--index-column", "ts", "--bucket", "2w")
    assert r.stderr == "Invalid --bucket '2w': weeks are not a bucket unit; use 14d\n"
    r = cli("query", "--sql", "SELECT 1 AS a", "--output", "a.csv", "--max-rows", "0")
    assert r.stdout == "total_rows: 1\nwrote: a.csv (Csv)\n"


def test_finding_31_preview_shows_null_tabs_cjk_and_long_text_apart(cli, golden):
    sql = ("SELECT NULL::varchar AS n, 'NULL' AS s, '' AS e, 'a\tb' AS tab, "
           "'日本語' AS cjk, repeat('x', 300) AS long")
    r = cli("query", "--sql", sql)
    golden("finding_31_preview_cells", r)
    lines = r.stdout.splitlines()
    assert "│ NULL │ 'NULL' │ '' │ a\\tb │ 日本語 │ " + "x" * 47 + "… │" in lines[3]
    import unicodedata
    def width(s):
        return sum(2 if unicodedata.east_asian_width(c) in "WF" else 1 for c in s)
    assert len({width(line) for line in lines[:5]}) == 1  # every box line equally wide


def test_finding_31_a_bare_entity_value_names_the_only_entity_column(cli):
    make_bars(cli)
    bare = cli.ok("coverage", "--table", "bars", "--entity", "AMD").stdout
    assert bare == cli.ok("coverage", "--table", "bars", "--entity", "symbol=AMD").stdout
    assert "entity:          symbol=AMD\n" in bare
    assert cli.ok("gaps", "--table", "bars", "--entity", "AMD").stdout == \
        cli.ok("gaps", "--table", "bars", "--entity", "symbol=AMD").stdout


def test_finding_31_segments_lists_each_segment_with_its_range_and_entity(cli, golden):
    make_bars(cli)
    listed = json.loads(cli.ok("segments", "--table", "bars", "--format", "json").stdout)
    info = json.loads(cli.ok("info", "--table", "bars", "--format", "json").stdout)
    assert len(listed) == info["segments"] == 2
    assert sorted(s["entity"] for s in listed) == ["symbol=AMD", "symbol=NVDA"]
    assert sum(s["rows"] for s in listed) == info["rows"]
    assert sum(s["bytes"] for s in listed) == info["bytes"]
    assert len(list((cli.tmp / "bars" / "data").rglob("*.parquet"))) == 2
    for s in listed:  # (the fixture shows uuids as <UUID>)
        assert s["path"].startswith("data/") and s["path"].endswith(".parquet")
        assert s["index_min"] <= s["index_max"]
    text = cli.ok("segments", "--table", "bars").stdout
    assert text.endswith("segments: 2\n") and "symbol=AMD" in text
    # A table without entity columns: no entity; a file of several symbols: mixed.
    cli.ok("create", "--table", "plain", "--index-column", "ts", "--bucket", "1h")
    cli.ok("append", "--table", "plain", "--csv", str(NVDA_CSV))
    [plain] = json.loads(cli.ok("segments", "--table", "plain", "--format", "json").stdout)
    assert plain["entity"] is None and plain["rows"] == 240
    assert "│ -      │" in cli.ok("segments", "--table", "plain").stdout
    r = cli("segments", "--table", "missing")
    assert r.code == 1 and "does not exist" in r.stderr
    golden("help_segments", cli("segments", "--help"))


def test_finding_31_info_lists_at_most_100_entities_unless_asked(cli, golden):
    rows = ["ts,symbol,close"] + [f"2024-06-01T00:00:00Z,S{i:03d},1.5" for i in range(120)]
    (cli.tmp / "many.csv").write_text("\n".join(rows) + "\n")
    cli.ok("create", "--table", "many", "--index-column", "ts", "--bucket", "1h",
           "--entity", "symbol")
    cli.ok("append", "--table", "many", "--csv", "many.csv")
    default = cli.ok("info", "--table", "many").stdout
    assert "symbol=S099" in default and "symbol=S100" not in default
    assert default.endswith("(20 more entities not shown; --limit 0 lists all, "
                            "--format json too)\n")
    assert "symbol=S119" in cli.ok("info", "--table", "many", "--limit", "0").stdout
    five = cli.ok("info", "--table", "many", "--limit", "5").stdout
    assert "symbol=S004" in five and "symbol=S005" not in five and "(115 more" in five
    assert len(json.loads(cli.ok("info", "--table", "many", "--format", "json").stdout)
               ["coverage"]) == 120
    r = cli("info", "--table", "many", "--limit", "-1")
    assert r.code == 1 and "Invalid --limit '-1'" in r.stderr
