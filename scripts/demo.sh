#!/usr/bin/env bash
# The main job: installs what is missing, builds tstable, creates a table
# for the NVDA sample and answers coverage questions about it.
#
#   scripts/demo.sh [TABLE_ROOT]      default build/demo_table (recreated)
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/deps.sh
cmake -S . -B build -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build build -j"$(nproc)" --target tstable_demo >/dev/null
root=${1:-build/demo_table}
[ -n "${1:-}" ] || rm -rf "$root"
./build/tstable_demo "$root" examples/data/nvda_1h_sample.csv
