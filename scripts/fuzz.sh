#!/usr/bin/env bash
# Runs every libFuzzer target (tests/fuzz/fuzz_*.c) for SECONDS each, seeded
# from tests/fuzz/corpus/<name>/. New inputs go to a scratch folder; crashes
# are written to tests/fuzz/artifacts/ (add them to the corpus once fixed).
#
#   scripts/fuzz.sh [SECONDS]      default 60
set -euo pipefail
cd "$(dirname "$0")/.."
seconds=${1:-60}
./scripts/deps.sh
CC=clang CXX=clang++ cmake -S . -B build-fuzz -DCMAKE_BUILD_TYPE=RelWithDebInfo -DTST_FUZZ=ON >/dev/null
targets=$(cd tests/fuzz && ls fuzz_*.c | sed 's/\.c$/_libfuzzer/')
cmake --build build-fuzz -j"$(nproc)" --target $targets
mkdir -p tests/fuzz/artifacts
status=0
for t in $targets; do
  name=${t#fuzz_}; name=${name%_libfuzzer}
  scratch=$(mktemp -d)
  echo "fuzz: $t for ${seconds}s"
  if ! ./build-fuzz/tests/"$t" -max_total_time="$seconds" -print_final_stats=0 \
        -artifact_prefix=tests/fuzz/artifacts/"$name"- "$scratch" tests/fuzz/corpus/"$name" \
        >"$scratch.log" 2>&1; then
    echo "fuzz: $t FAILED; see tests/fuzz/artifacts/ and $scratch.log"; tail -20 "$scratch.log"; status=1
  else
    grep -E "^#[0-9]+.*DONE|Done [0-9]+ runs" "$scratch.log" | tail -1 || true
  fi
  rm -rf "$scratch"
done
exit $status
