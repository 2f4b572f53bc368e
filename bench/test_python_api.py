"""Tests of bench/python_api.py's checks: a wrong answer stops the run, the
data keeps (symbol, second) distinct, a child's peak memory is its own, and a
failing child is reported with its stderr. Run by scripts/test.sh before the
--tiny smoke run (which exercises the rest end to end)."""
import os
import subprocess
import sys

import pyarrow as pa
import pyarrow.compute as pc
import pytest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import python_api as bench  # noqa: E402


@pytest.fixture(scope="module")
def data(tmp_path_factory):
    path = tmp_path_factory.mktemp("data") / "data.parquet"
    return bench.make_data(1000, str(path)), str(path)


def test_the_data_has_ten_columns_and_distinct_symbol_seconds(data):
    table, _ = data
    assert table.num_columns == 10 and table.num_rows == 1000
    seconds = pc.divide(table["ts"].cast(pa.int64()), 1_000_000)
    pairs = set(zip(table["symbol"].to_pylist(), seconds.to_pylist()))
    assert len(pairs) == table.num_rows


def test_the_data_is_the_same_every_time(tmp_path, data):
    again = bench.make_data(1000, str(tmp_path / "again.parquet"))
    assert again.equals(data[0])


def test_a_digest_of_the_source_matches_itself(data):
    want = bench.expected_answers(data[0], 0)
    for query in bench.QUERIES:
        bench.check_answer(query, want[query], want[query])  # no exit
    assert want["selective"]["rows"] == 200  # NVDA has 1000 / 5 rows, one a second, all in hour 0


@pytest.mark.parametrize("key,change", [
    ("rows", lambda v: v + 1),
    ("sum_volume", lambda v: v - 1),
    ("sum_price", lambda v: v * (1 + 1e-6)),
    ("symbols", lambda v: v[:-1]),
])
def test_a_wrong_answer_stops_the_run(data, key, change):
    want = bench.expected_answers(data[0], 0)["all"]
    got = dict(want, **{key: change(want[key])})
    with pytest.raises(SystemExit, match=f"ANSWER MISMATCH in ours, query all: {key}"):
        bench.check_answer("ours, query all", got, want)


def test_float_sums_may_differ_by_summation_order_only(data):
    want = bench.expected_answers(data[0], 0)["aggregate"]
    got = {"rows": want["rows"], "groups": [g[:3] + [g[3] * (1 + 1e-12), g[4]] for g in want["groups"]]}
    bench.check_answer("aggregate", got, want)
    got["groups"][0][4] *= 1 + 1e-6
    with pytest.raises(SystemExit, match="ANSWER MISMATCH in aggregate: groups"):
        bench.check_answer("aggregate", got, want)


def test_a_childs_peak_memory_is_its_own_not_the_parents():
    ballast = bytearray(300 * 1024 * 1024)
    for i in range(0, len(ballast), 4096):
        ballast[i] = 1
    code = (f"import sys; sys.path.insert(0, {os.path.dirname(os.path.abspath(__file__))!r}); "
            "import python_api; print(python_api.peak_rss_kb())")
    kb = int(subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout)
    assert kb < 200 * 1024
    del ballast


def test_a_failing_child_stops_the_run_with_its_error(tmp_path, data):
    runner = bench.Runner(str(tmp_path), data[1], 0)
    missing = str(tmp_path / "no-such-table")
    with pytest.raises(SystemExit, match=r"child failed .*exit 1:\n(.|\n)*no-such-table"):
        runner.query("ours", missing, "ours", "all", "sql", 0)
