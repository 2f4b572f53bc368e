#!/usr/bin/env bash
# The main job: installs what is missing, builds tstable, creates a table
# from the NVDA sample, appends it, queries it with SQL, and asks it the
# coverage questions — all through the `tstable` command-line tool.
#
#   scripts/demo.sh [TABLE_ROOT]      default build/demo_table (recreated)
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/deps.sh
cmake -S . -B build -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build build -j"$(nproc)" --target tstable_cli >/dev/null
root=${1:-build/demo_table}
[ -n "${1:-}" ] || rm -rf "$root"
export TSTABLE="$PWD/build/tstable"

echo "\$ tstable create / append / coverage   (examples/ingest_nvda.sh)"
examples/ingest_nvda.sh "$root"
echo
echo "\$ tstable query: a 5-row moving average   (examples/moving_average.sh)"
examples/moving_average.sh "$root"
echo
echo "\$ tstable gaps --table $root --entity symbol=NVDA --start 2024-05-30 --end 2024-06-13"
"$TSTABLE" gaps --table "$root" --entity symbol=NVDA --start 2024-05-30 --end 2024-06-13
echo
echo "\$ tstable append --table $root --csv examples/data/nvda_1h_sample.csv   (again)"
if "$TSTABLE" append --table "$root" --csv examples/data/nvda_1h_sample.csv; then
  echo "demo: the second append should have been rejected as overlap" >&2
  exit 1
fi
echo "(rejected, nothing written)"
echo
"$TSTABLE" info --table "$root"
