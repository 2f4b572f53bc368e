#!/usr/bin/env bash
# run_bulk.sh — bulk append before/after, side by side, against DuckDB's
# CREATE TABLE AS of the same file, in one run (bench_append bulk).
#
#   bench/run_bulk.sh --before COMMIT [--rows N] [--repeat N] [--big]
#
# COMMIT (e.g. aa803f8) is exported with git archive into
# $BENCH_DIR/tstable-before-<commit>/ and its library built there (Release);
# bench/bench_append.c of this tree is compiled against it with
# -DBENCH_BEFORE. The data is bench_append generate --no-daily (the month,
# N rows, default 3,000,000). --big adds one ~2 GB file (54,000,000 rows),
# appended once by each build without the CTAS (which would hold ~12 GB):
# peak RSS on the copy path. Results (markdown)
# go to stdout; nothing is asserted.
set -euo pipefail

here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/.." && pwd)"
before="" rows=3000000 repeat=5 big=0
while [ $# -gt 0 ]; do
    case "$1" in
    --before) before="$2"; shift 2 ;;
    --rows) rows="$2"; shift 2 ;;
    --repeat) repeat="$2"; shift 2 ;;
    --big) big=1; shift ;;
    *) echo "usage: $0 --before COMMIT [--rows N] [--repeat N] [--big]" >&2; exit 2 ;;
    esac
done
[ -n "$before" ] || { echo "usage: $0 --before COMMIT [--rows N] [--repeat N] [--big]" >&2; exit 2; }
bench_dir="${BENCH_DIR:-/tmp}"
old="$bench_dir/tstable-before-$before"
work="$bench_dir/tstable-bulk-work-$$"

echo "== build after ($root/build-bench) and before ($old)" >&2
cmake -S "$root" -B "$root/build-bench" -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build "$root/build-bench" -j2 --target bench_append >&2
if [ ! -f "$old/build-bench/libtstable.a" ]; then
    rm -rf "$old" && mkdir -p "$old"
    git -C "$root" archive "$before" | tar -x -C "$old"
    ln -s "$(readlink -f "$root/.deps")" "$old/.deps"
    cmake -S "$old" -B "$old/build-bench" -DCMAKE_BUILD_TYPE=Release >/dev/null
    cmake --build "$old/build-bench" -j2 --target tstable >&2
fi
duck="$(readlink -f "$root/.deps/duckdb")"
cc -O3 -DNDEBUG -D_GNU_SOURCE -DBENCH_BEFORE -std=c11 -I"$old/include" -isystem /usr/include/json-c \
    -isystem "$duck/include" "$here/bench_append.c" -o "$old/build-bench/bench_append_bulk" \
    -Wl,-rpath,"$duck/lib" "$old/build-bench/libtstable.a" -ljson-c -lroaring \
    "$duck/lib/libduckdb.so" -lm -lpthread
after_bin="$root/build-bench/bench_append"
before_bin="$old/build-bench/bench_append_bulk"

gen() { # rows dir
    if [ ! -f "$2/generated.txt" ]; then
        rm -rf "$2"
        "$after_bin" generate --out "$2" --rows "$1" --no-daily >"$2.tmp"
        mv "$2.tmp" "$2/generated.txt"
    fi
}
data="$bench_dir/tstable-bulk-data-$rows"
gen "$rows" "$data"
src="$data/fhvhv_2024-04.parquet"
mkdir -p "$work"

echo "## Bulk append, before ($before) and after ($(git -C "$root" rev-parse --short HEAD)), one run"
echo
echo "Source: \`$src\`, $rows rows, $(du -m "$src" | cut -f1) MB, 24 columns;"
echo "table: format_version 6, pickup_datetime, 1-second buckets, no entities; copy path. $repeat runs each,"
echo "each in a fresh child process; CTAS = DuckDB \`CREATE TABLE t AS SELECT * FROM read_parquet(..)\`"
echo "into an in-memory database, timed in the same loop. nproc = $(nproc); load average at start:"
echo "$(cut -d' ' -f1-3 /proc/loadavg)."
echo
"$before_bin" bulk --src "$src" --work "$work" --repeat "$repeat" --label "before $before (copy)" --header
"$after_bin" bulk --src "$src" --work "$work" --repeat "$repeat" --label "after (copy)"
"$after_bin" bulk --src "$src" --work "$work" --repeat "$repeat" --label "after (--move)" --move
if [ "$big" = 1 ]; then
    big_data="$bench_dir/tstable-bulk-data-54000000"
    gen 54000000 "$big_data"
    bsrc="$big_data/fhvhv_2024-04.parquet"
    echo
    echo "Large file: \`$bsrc\`, $(du -m "$bsrc" | cut -f1) MB, one run each:"
    echo
    "$before_bin" bulk --src "$bsrc" --work "$work" --repeat 1 --label "before $before (copy)" \
        --header --no-ctas
    "$after_bin" bulk --src "$bsrc" --work "$work" --repeat 1 --label "after (copy)" --no-ctas
    "$after_bin" bulk --src "$bsrc" --work "$work" --repeat 1 --label "after (--move)" \
        --no-ctas --move
fi
rm -rf "$work"
