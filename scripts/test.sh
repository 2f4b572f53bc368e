#!/usr/bin/env bash
# Builds tstable and runs every test, installing whatever is missing first.
#
#   scripts/test.sh
#
# 1. the suite under AddressSanitizer + UndefinedBehaviorSanitizer (build-asan/);
# 2. the unit tests and fuzz-corpus replays under valgrind (build/);
# 3. bench/run.sh --tiny: every system of the cross-system benchmark, tiny;
#    then the whole suite on the normal build (build/);
# 4. the Python wheel (scripts/wheel.sh): built, repaired by auditwheel,
#    installed alone into a fresh venv, its example and python/tests run;
# 5. the Python package installed into the project's venv (.venv, pinned;
#    pip install --no-build-isolation, CMake in build-py/), its tests, the
#    command-line golden tests and the other-writers compatibility tests
#    (tests/compat), and bench/python_api.py --tiny (ours against the
#    reference 0.4.0 through Python, a smoke run), bench/update.py --tiny and
#    bench/vacuum.py --tiny (a daily table before and after vacuum),
#    bench/coverage_latency.py --tiny (coverage answers per process and in
#    process, a few seconds) — pytest's summary is
#    the last thing printed.
# TST_FUZZ_SECONDS=N also runs every libFuzzer target for N seconds (scripts/fuzz.sh).
set -euo pipefail
cd "$(dirname "$0")/.."

./scripts/deps.sh
jobs=$(nproc)

echo "== build (sanitizers)"
cmake -S . -B build-asan -DCMAKE_BUILD_TYPE=Debug -DTST_SANITIZE=ON >/dev/null
cmake --build build-asan -j"$jobs"
echo "== build"
cmake -S . -B build -DCMAKE_BUILD_TYPE=RelWithDebInfo -DTST_VALGRIND=ON >/dev/null
cmake --build build -j"$jobs"

echo "== tests under ASan+UBSan"
(cd build-asan && ctest -j"$jobs" -LE valgrind --output-on-failure)
echo "== unit tests under valgrind"
(cd build && ctest -j"$jobs" -L valgrind --output-on-failure)
if [ -n "${TST_FUZZ_SECONDS:-}" ]; then
  echo "== fuzzing, ${TST_FUZZ_SECONDS}s per target"
  ./scripts/fuzz.sh "$TST_FUZZ_SECONDS"
fi
echo "== cross-system benchmark at tiny scale (a smoke run; nothing timed is asserted)"
bench_dir="${BENCH_DIR:-$(mktemp -d)}"
chmod 755 "$bench_dir" # the PostgreSQL and ClickHouse servers run as their own users
BENCH_DIR="$bench_dir" ./bench/run.sh --tiny
echo "== all tests"
(cd build && ctest -j"$jobs" -LE valgrind --output-on-failure)
echo "== Python wheel: build, auditwheel repair, install alone into a fresh venv, example + python/tests (scripts/wheel.sh)"
./scripts/wheel.sh build-wheel
echo "== Python package: pip install ./python into .venv (CMake in build-py/), then its tests and the CLI's (pytest)"
py="$PWD/.venv/bin/python"
"$py" -m pip install -q --no-build-isolation --disable-pip-version-check --no-input \
  -C build-dir="$PWD/build-py" ./python
echo "== the Python API benchmark at tiny scale (a smoke run; nothing timed is asserted)"
"$py" -m pytest -q bench/test_python_api.py
"$py" bench/python_api.py --tiny --out "$(mktemp --suffix=.md)"
"$py" bench/update.py --tiny --out "$(mktemp --suffix=.md)"
"$py" bench/vacuum.py --tiny --out "$(mktemp --suffix=.md)"
"$py" bench/compact.py --tiny --out "$(mktemp --suffix=.md)"
"$py" bench/coverage_diff.py --tiny --out "$(mktemp --suffix=.md)"
"$py" bench/coverage_latency.py --tiny --cache "$(mktemp -d)" --out "$(mktemp --suffix=.md)"
echo "== Python package tests and the CLI's (pytest)"
# Three runs: each suite's conftest.py provides its own helpers.
TSTABLE_BIN="$PWD/build/tstable" "$py" -m pytest -q tests/cli
# Files from other writers (pyarrow, polars, pandas, DuckDB, parquet-wasm),
# appended through the tool and checked against DuckDB's reading of them.
TSTABLE_BIN="$PWD/build/tstable" "$py" -m pytest -q tests/compat
"$py" -m pytest -q python/tests
