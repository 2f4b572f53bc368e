#!/usr/bin/env bash
# run.sh — the cross-system benchmark, on one machine, end to end:
# install the peers (Debian packages, only what is missing), build tstable,
# generate NYC-TLC-FHVHV-shaped trips (bench_append generate), write them as
# CSV for the systems that load CSV, measure every system side by side
# (bench/cross_bench.py), and write the report (bench/cross_report.py).
#
#   bench/run.sh [--tiny | --full | --scale F] [--runs N] [--systems LIST]
#
#   scale F   bulk month = round(24,300,000 * F) rows, 90 daily files of a
#             thirtieth of that each (--full: F = 1, ~73 M daily rows like the
#             reference's three months; default F = 0.1; --tiny F = 0.002)
#   --runs N  runs per measured operation (default 3; the 90 daily appends
#             are measured once each)
#   --systems tstable,duckdb,parquet,postgres,sqlite,clickhouse (default all)
#
# Environment: BENCH_DIR scratch folder (default /tmp); REPORT_DIR where
# README.md, results.csv and results.png go (default docs/benchmarks/; --tiny
# and --scale other than the default write to $BENCH_DIR/cross-report-<rows>/
# unless REPORT_DIR is set). Generated data is kept in
# $BENCH_DIR/tstable-append-data-<rows>/ (shared with run_append.sh) and
# reused; tables and databases go to $BENCH_DIR/tstable-cross-work-$$ and
# are removed. Servers are started before their system's turn and stopped
# after it. Nothing is asserted; a failure is recorded in the report.
set -euo pipefail

args="$*"
here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/.." && pwd)"
scale=0.1
runs=3
systems=tstable,duckdb,parquet,postgres,sqlite,clickhouse
default_scale=1
while [ $# -gt 0 ]; do
    case "$1" in
    --tiny) scale=0.002; default_scale=0; shift ;;
    --full) scale=1; default_scale=0; shift ;;
    --scale) scale="$2"; default_scale=0; shift 2 ;;
    --runs) runs="$2"; shift 2 ;;
    --systems) systems="$2"; shift 2 ;;
    *) echo "usage: $0 [--tiny | --full | --scale F] [--runs N] [--systems LIST]" >&2; exit 2 ;;
    esac
done
rows=$(awk -v f="$scale" 'BEGIN { printf "%d", 24300000 * f + 0.5 }')
bench_dir="${BENCH_DIR:-/tmp}"
if [ "$default_scale" = 1 ] && [ "$scale" = 0.1 ]; then
    report_dir="${REPORT_DIR:-$root/docs/benchmarks}"
else
    report_dir="${REPORT_DIR:-$bench_dir/cross-report-$rows}"
fi
data="$bench_dir/tstable-append-data-$rows"
work="$bench_dir/tstable-cross-work-$$"
build="$root/build-bench"
t_start=$(date +%s)

echo "== install what is missing" >&2
"$root/scripts/deps.sh" # the project's venv (.venv) runs the driver and draws the chart
py="$root/.venv/bin/python"
need=()
dpkg -s time >/dev/null 2>&1 || need+=(time)
case ",$systems," in *,postgres,*) dpkg -s postgresql-15 >/dev/null 2>&1 || need+=(postgresql-15) ;; esac
case ",$systems," in *,sqlite,*) dpkg -s sqlite3 >/dev/null 2>&1 || need+=(sqlite3) ;; esac
if [ ${#need[@]} -gt 0 ]; then
    apt-get update -q >&2
    # policy-rc.d keeps the packaged services from starting system-wide; run.sh starts its own.
    DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "${need[@]}" >&2
fi
case ",$systems," in *,clickhouse,*)
    if ! dpkg -s clickhouse-server >/dev/null 2>&1 || ! dpkg -s clickhouse-client >/dev/null 2>&1; then
        { apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q \
            --no-install-recommends clickhouse-server clickhouse-client; } >&2 ||
            { echo "   clickhouse-server unavailable: skipping ClickHouse" >&2
              systems="$(echo ",$systems," | sed 's/,clickhouse,/,/; s/^,//; s/,$//')"; }
    fi
    # The package starts a system-wide server where services may start; it
    # uses its own ports and folders, so it is left alone.
    ;;
esac

echo "== build (Release) in $build" >&2
configure_cmd="cmake -S $root -B $build -DCMAKE_BUILD_TYPE=Release"
build_cmd="cmake --build $build -j2 --target tstable_cli bench_append duckdb_runner"
$configure_cmd >/dev/null
$build_cmd >&2

echo "== data: $rows rows in the bulk month, into $data" >&2
generate_cmd="$build/bench_append generate --out $data --rows $rows"
if [ ! -f "$data/generated.txt" ]; then
    rm -rf "$data"
    $generate_cmd >"$data.generated.tmp"
    mv "$data.generated.tmp" "$data/generated.txt"
else
    echo "   (reusing data generated earlier)" >&2
fi
csv_cmd="$build/duckdb_runner :memory: \"COPY (SELECT * FROM read_parquet('IN.parquet')) TO 'OUT.csv' (HEADER, NULLSTR '\\N')\""
if [ ! -f "$data/csv/done" ]; then
    echo "   writing CSV copies for the systems that load CSV" >&2
    mkdir -p "$data/csv"
    t0=$(date +%s)
    for f in "$data"/fhvhv_2024-04.parquet "$data"/daily/*.parquet; do
        out="$data/csv/$(basename "$f" .parquet).csv"
        "$build/duckdb_runner" :memory: \
            "COPY (SELECT * FROM read_parquet('$f')) TO '$out' (HEADER, NULLSTR '\\N')" >/dev/null
    done
    echo "CSV copies written in $(( $(date +%s) - t0 )) s" >"$data/csv/done"
fi
chmod -R a+rX "$data"

echo "== measure (tables in $work)" >&2
mkdir -p "$report_dir"
results="$report_dir/results.csv"
bench_cmd="$py $here/cross_bench.py --data $data --work $work --bin $build --out $results --runs $runs --systems $systems"
t_bench=$(date +%s)
$bench_cmd
bench_s=$(( $(date +%s) - t_bench ))
rm -rf "$work"

echo "== report into $report_dir" >&2
total_s=$(( $(date +%s) - t_start ))
"$py" "$here/cross_report.py" --results "$results" --out "$report_dir" \
    --data "$data" --rows "$rows" --runs "$runs" --args="$args" --bench-dir "$bench_dir" \
    --total-seconds "$total_s" --bench-seconds "$bench_s" \
    --commands "$configure_cmd" "$build_cmd" "$generate_cmd" "$csv_cmd" "$bench_cmd"
echo "== done in ${total_s} s: $report_dir/README.md" >&2
