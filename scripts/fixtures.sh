#!/usr/bin/env bash
# Writes the Parquet compatibility fixtures: the NVDA sample written by a
# second writer, parquet-wasm (arrow-rs compiled to WebAssembly), under every
# codec and writer version it offers. tests/integration/test_compat.c reads
# them from $TST_FIXTURES_DIR.
#
#   scripts/fixtures.sh [out-folder]     (default: build/fixtures)
#
# Needs node and the npm packages scripts/deps.sh installs into .deps/node.
# Regenerates every file on each run (about a second); files are only ever
# added or replaced, never removed.
set -euo pipefail

here=$(cd "$(dirname "$0")/.." && pwd)
out=${1:-"$here/build/fixtures"}

command -v node >/dev/null 2>&1 || { echo "fixtures: node is not installed" >&2; exit 1; }
[ -d "${TST_NODE_DEPS:-$here/.deps/node}/node_modules/parquet-wasm" ] || {
  echo "fixtures: parquet-wasm is missing from .deps/node; run scripts/deps.sh" >&2; exit 1; }

node "$here/tests/fixtures/write_parquet_wasm.mjs" "$here/examples/data/nvda_1h_sample.csv" "$out"
