"""The reference's own Python examples and tests, run unchanged against us.

scripts/deps.sh unpacks the reference's 0.4.0 and 0.9.0 source releases from
PyPI into .deps/reference-src and .deps/reference-src09 (nothing of them is in
this repository). Each test suite, which runs that release's examples, is run
here with pytest against this package. Every test must pass except those
listed in DIFFERENCES (0.4.0) or DIFFERENCES_09 (0.9.0), each with the reason
we differ on purpose; a listed test that starts passing fails this test too,
so the lists never go stale.
"""
import os
import subprocess
import sys
import xml.etree.ElementTree as ET

import pytest

import timeseries_table_format as ttf
from conftest import REPO

REFERENCE = os.environ.get("TSTABLE_REFERENCE_SRC", os.path.join(
    REPO, ".deps", "reference-src", "timeseries_table_format-0.4.0", "crates",
    "timeseries-table-python"))
REFERENCE_09 = os.environ.get("TSTABLE_REFERENCE09_SRC", os.path.join(
    REPO, ".deps", "reference-src09", "timeseries_table_format-0.9.0", "crates",
    "timeseries-table-python"))

# Test files about the reference's internals, not its API.
NOT_RUN = {
    "test_notebook_display.py": "imports the reference's private notebook_display module",
    "test_session_sql_export_modes.py": "switches the reference's private Rust-side export paths",
}

DIFFERENCES = {
    # SQL engine: DuckDB where the reference has DataFusion.
    "test_roundtrip_single_table.py::test_create_append_register_sql_roundtrip":
        "DuckDB's sum(BIGINT) is a HUGEINT, which Arrow receives as decimal128(38, 0); "
        "DataFusion's is int64 (cast in SQL: sum(x)::BIGINT)",
    "test_session_sql_join.py::test_session_sql_join_key_type_mismatch_is_visible_and_yields_no_matches":
        "joining a VARCHAR key to a BIGINT one is a conversion error in DuckDB, not an empty result",
    "test_session_sql_reader.py::test_session_sql_reader_read_all_after_partial_iteration_reads_remainder":
        "DuckDB's range() names its column 'range', DataFusion's 'value'",
    "test_session_sql_reader.py::test_session_sql_reader_concurrent_readers_do_not_crash":
        "a session streams one sql_reader() at a time; a second call says the session is busy "
        "(use one Session per concurrent reader)",
    # Deliberate API choices.
    "test_session_sql.py::test_session_sql_params_kw_only_enforced":
        "params may also be passed by position (a superset of the reference's spelling)",
    "test_session_sql.py::test_session_sql_bad_params_value_type[params1]":
        "pyarrow scalars convert to their Python value as parameters",
    "test_session_sql.py::test_session_sql_bad_params_value_type[params2]":
        "datetime parameters are supported (naive = UTC)",
    "test_table_create_open.py::test_runtime_signatures_expose_only_ordered_index_names":
        "create() also takes the 0.4 and older spellings (bucket, bucket_width, time_column)",
    "test_roundtrip_single_table.py::test_append_rejects_time_column_unit_mismatch_after_schema_adoption[ms]":
        "a millisecond time column converts exactly into a microsecond table, so it is taken",
    "test_roundtrip_single_table.py::test_append_rejects_time_column_unit_mismatch_after_schema_adoption[ns]":
        "whole-microsecond nanosecond values convert exactly, so they are taken (others are refused)",
    "test_roundtrip_single_table.py::test_uint64_create_append_session_roundtrip_and_signed_rollback":
        "the refusal of a signed index for a uint64 table is worded differently (same class)",
    "test_table_append_parquet.py::test_append_parquet_outside_and_inside_root":
        "segments get fresh names under data/ instead of the source file's name",
    "test_table_append_parquet.py::test_append_parquet_copy_collision_raises_storage_error":
        "fresh segment names cannot collide, so a second file of the same name is appended",
    "test_table_optimize.py::test_optimize_preserves_failed_source_context":
        "deletes data/<source file name>, which exists only under the reference's naming",
    "test_multi_entity_e2e.py::test_multi_entity_optimize_preserves_queries_across_reopen":
        "an overlap's segment_path is the file as the caller named it, since no copy named "
        "data/<file name> is ever made",
}


# Tests whose outcome depends on thread timing here: accepted either way.
TIMING_DEPENDENT = {
    "test_session_sql_reader.py::test_session_sql_reader_mixed_concurrent_consumption_patterns":
        "passes when its threads happen not to overlap two readers on one session; fails "
        "(session busy) when they do",
}


def run_reference_suite(tmp_path, reference=REFERENCE, not_run=NOT_RUN, plugins=()):
    if not os.path.isdir(os.path.join(reference, "tests")):
        pytest.skip(f"the reference's source release is not at {reference} (scripts/deps.sh)")
    report = tmp_path / "junit.xml"
    package_dir = os.path.dirname(os.path.dirname(os.path.abspath(ttf.__file__)))
    here = os.path.dirname(os.path.abspath(__file__))
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([package_dir, here]))
    args = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider",
            *[arg for plugin in plugins for arg in ("-p", plugin)],
            f"--junitxml={report}", f"--rootdir={reference}", "tests"]
    args += [f"--ignore=tests/{name}" for name in not_run]
    out = subprocess.run(args, cwd=reference, env=env, capture_output=True, text=True,
                         timeout=900)
    assert report.exists(), out.stdout[-3000:] + out.stderr[-3000:]
    outcomes = {}
    for case in ET.parse(report).getroot().iter("testcase"):
        name = f"{case.get('classname').split('.')[-1]}.py::{case.get('name')}"
        kinds = {child.tag for child in case}
        outcomes[name] = ("failed" if kinds & {"failure", "error"} else
                          "skipped" if "skipped" in kinds else "passed")
    return outcomes, out.stdout


def check_outcomes(outcomes, log, differences, timing_dependent):
    failed = {name for name, outcome in outcomes.items()
              if outcome == "failed" and name not in timing_dependent}
    unexpected = sorted(failed - set(differences))
    fixed = sorted(set(differences) - failed)
    assert not unexpected, "reference tests failing against us:\n" + "\n".join(unexpected) + \
        "\n" + log[-4000:]
    assert not fixed, "now passing, remove from the differences:\n" + "\n".join(fixed)
    return [name for name, outcome in outcomes.items() if outcome == "passed"]


def test_the_reference_suite_passes_but_for_the_listed_differences(tmp_path):
    outcomes, log = run_reference_suite(tmp_path, plugins=("reference_protocol6",))
    passed = check_outcomes(outcomes, log, DIFFERENCES, TIMING_DEPENDENT)
    assert len(passed) >= 120, f"only {len(passed)} reference tests ran and passed"
    for example in ("test_docs_example_join_runs", "test_docs_example_parameterized_queries_runs",
                    "test_docs_example_quickstart_runs"):
        assert outcomes.get(f"test_docs_examples.py::{example}") == "passed", example


# ---- the reference 0.9.0's suite (protocol 7) -------------------------------------------------

NOT_RUN_09 = NOT_RUN
# Accepted either way: the outcome depends on which file a directory walk lists first, or on
# thread timing (see TIMING_DEPENDENT).
ORDER_DEPENDENT_09 = {"test_table_update_rows.py::test_missing_source_file_preserves_storage_path",
                      *TIMING_DEPENDENT}


def differences_09():
    """{test id: reason} from reference09_differences.txt (`test id | reason` per line)."""
    path = os.path.join(os.path.dirname(os.path.abspath(__file__)), "reference09_differences.txt")
    out = {}
    with open(path, encoding="utf-8") as f:
        for line in f:
            if line.strip() and not line.startswith("#"):
                name, _, reason = line.partition(" | ")
                assert reason.strip(), f"no reason given for {name}"
                out[name.strip()] = reason.strip()
    return out


def test_the_reference_0_9_suite_passes_but_for_the_listed_differences(tmp_path):
    outcomes, log = run_reference_suite(tmp_path, REFERENCE_09, NOT_RUN_09)
    listed = {k: v for k, v in differences_09().items() if k not in ORDER_DEPENDENT_09}
    passed = check_outcomes(outcomes, log, listed, ORDER_DEPENDENT_09)
    assert len(passed) >= 200, f"only {len(passed)} reference 0.9.0 tests ran and passed"
    for example in ("test_docs_example_join_runs", "test_docs_example_quickstart_runs",
                    "test_docs_example_update_rows_runs",
                    "test_docs_example_parameterized_queries_runs"):
        assert outcomes.get(f"test_docs_examples.py::{example}") == "passed", example

