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
#   --systems LIST  default tstable,tstable-py,ref,ref04,delta,chdb,chdb-parquet,
#             duckdb,parquet,postgres,sqlite; also clickhouse (Debian's 18.16
#             server, only when named: chDB is today's ClickHouse)
#
# Peers installed here from their registries, each as its users would:
#   ref      the reference's newest PyPI release (asked of PyPI; 0.9.0 is in
#            .deps/refvenv09 from scripts/deps.sh, a newer one goes to
#            .deps/refvenv-VERSION), through its Python API
#   ref04    the reference 0.4.0 (.deps/refvenv, format_version 6: the last
#            release whose tables hold rows sharing a pickup second)
#   delta, chdb, chdb-parquet   PyPI deltalake, chdb, duckdb, pyarrow (pinned)
#            in .deps/peervenv
#   tstable-py  our Python package, pip-installed into .venv when missing
# A peer that cannot be installed (registry slow or down) is recorded as such
# in the report; the run goes on. --tiny uses 24 of the 90 daily files (the
# window's days) and one run per operation, to stay a quick smoke run.
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
runs_given=0
days=0
systems=tstable,tstable-py,ref,ref04,delta,chdb,chdb-parquet,duckdb,parquet,postgres,sqlite
default_scale=1
while [ $# -gt 0 ]; do
    case "$1" in
    --tiny) scale=0.002; default_scale=0; days=24; shift ;;
    --full) scale=1; default_scale=0; shift ;;
    --scale) scale="$2"; default_scale=0; shift 2 ;;
    --runs) runs="$2"; runs_given=1; shift 2 ;;
    --systems) systems="$2"; shift 2 ;;
    *) echo "usage: $0 [--tiny | --full | --scale F] [--runs N] [--systems LIST]" >&2; exit 2 ;;
    esac
done
if [ "$days" != 0 ] && [ "$runs_given" = 0 ]; then runs=1; fi
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

# The Python-level peers: each in a venv of its own, installed with pip from
# PyPI; bounded in time, and a failure only drops that peer (recorded).
peer_note=""
drop() { # SYSTEM WHY
    systems="$(echo ",$systems," | sed "s/,$1,/,/; s/^,//; s/,\$//")"
    peer_note="$peer_note$1: $2; "
    echo "   $1 skipped: $2" >&2
}
pip_into() { # VENV PACKAGES...
    local dir="$1"; shift
    [ -x "$dir/bin/python" ] || "$py" -m venv "$dir" || return 1
    timeout 600 "$dir/bin/python" -m pip install -q --disable-pip-version-check --no-input \
        --timeout 30 "$@" >&2
}
ref_venv="$root/.deps/refvenv09"
case ",$systems," in *,ref,*)
    newest=$(timeout 60 "$py" -m pip index versions timeseries-table-format 2>/dev/null |
        sed -n 's/^timeseries-table-format (\(.*\))$/\1/p')
    if [ -z "$newest" ]; then
        newest=0.9.0
        peer_note="${peer_note}ref: PyPI did not answer the newest-version question in 60 s, 0.9.0 assumed; "
    fi
    if [ "$newest" != 0.9.0 ]; then
        ref_venv="$root/.deps/refvenv-$newest"
        "$ref_venv/bin/python" -c "import timeseries_table_format" 2>/dev/null ||
            pip_into "$ref_venv" "timeseries-table-format==$newest" pyarrow==26.0.1 ||
            drop ref "pip could not install timeseries-table-format $newest"
    fi
    [ -x "$ref_venv/bin/python" ] || drop ref "the reference $newest is not installed"
    ;;
esac
case ",$systems," in *,ref04,*)
    [ -x "$root/.deps/refvenv/bin/python" ] || drop ref04 "scripts/deps.sh could not install the reference 0.4.0" ;;
esac
for s in delta chdb chdb-parquet; do
    case ",$systems," in *,$s,*)
        "$root/.deps/peervenv/bin/python" -c "import deltalake, chdb, duckdb" 2>/dev/null ||
            pip_into "$root/.deps/peervenv" deltalake==1.6.6 chdb==4.4.0 duckdb==1.4.4 pyarrow==26.0.1 ||
            { drop delta "pip could not install deltalake/chdb into .deps/peervenv"
              drop chdb "pip could not install chdb into .deps/peervenv"
              drop chdb-parquet "pip could not install chdb into .deps/peervenv"; }
        break ;;
    esac
done
case ",$systems," in *,tstable-py,*)
    "$py" -c "import timeseries_table_format" 2>/dev/null ||
        "$py" -m pip install -q --no-build-isolation --no-deps -C build-dir="$root/build-py" \
            "$root/python" >&2 || drop tstable-py "our Python package did not build"
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
bench_cmd="$py $here/cross_bench.py --data $data --work $work --bin $build --out $results --runs $runs --systems $systems --days $days --ref-venv $ref_venv"
t_bench=$(date +%s)
$bench_cmd
bench_s=$(( $(date +%s) - t_bench ))
rm -rf "$work"

echo "== report into $report_dir" >&2
total_s=$(( $(date +%s) - t_start ))
"$py" "$here/cross_report.py" --results "$results" --out "$report_dir" \
    --data "$data" --rows "$rows" --runs "$runs" --args="$args" --bench-dir "$bench_dir" \
    --total-seconds "$total_s" --bench-seconds "$bench_s" --peer-note "$peer_note" \
    --commands "$configure_cmd" "$build_cmd" "$generate_cmd" "$csv_cmd" "$bench_cmd"
echo "== done in ${total_s} s: $report_dir/README.md" >&2
