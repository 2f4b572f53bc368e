#!/usr/bin/env bash
# Installs everything tstable needs on a fresh Debian machine, and nothing
# that is already there: Debian packages through apt-get, DuckDB 1.4.4
# (shared library + matching C header) from the npm registry into .deps/duckdb
# (the pinned packages and their SHA-256 are in cmake/DuckDB.cmake),
# and the project's Python environment .venv/ from the pinned versions in
# python/requirements-dev.txt (PyPI).
#
# Idempotent: a second run does no network work. Set DUCKDB_DIR to use your
# own DuckDB (a folder holding libduckdb.so and duckdb.h) instead.
set -euo pipefail

here=$(cd "$(dirname "$0")/.." && pwd)
# shellcheck source=python_base.sh
. "$here/scripts/python_base.sh"

debian_packages=(
  build-essential cmake pkg-config
  libjson-c-dev libroaring-dev libcmocka-dev libedit-dev uuid-dev
  clang libclang-rt-14-dev libfuzzer-14-dev valgrind
  python3 python3-dev python3-venv
  tzdata  # calendars read time zones from /usr/share/zoneinfo (src/core/tzfile.c)
)
# npm fetches DuckDB; some machines ship a Node.js that bundles npm (and
# conflicts with Debian's npm package), so only ask for it when it is absent.
command -v npm >/dev/null 2>&1 || debian_packages+=(npm)

missing=()
for p in "${debian_packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "deps: installing Debian packages: ${missing[*]}" >&2
  sudo_cmd=()
  [ "$(id -u)" -eq 0 ] || sudo_cmd=(sudo)
  "${sudo_cmd[@]}" apt-get update -qq
  DEBIAN_FRONTEND=noninteractive "${sudo_cmd[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

# ---- the Python environment (.venv) ---------------------------------------
# Built on the first interpreter found that can make a venv and has the C
# headers for our extension (scripts/python_base.sh: $TST_PYTHON, then
# python3 on PATH, then Debian's /usr/bin/python3).
# Rebuilt only when python/requirements-dev.txt changes (its hash is kept in
# .venv/.requirements.sha256).
venv="$here/.venv"
reqs="$here/python/requirements-dev.txt"
want=$(sha256sum "$reqs" | cut -d' ' -f1)
if [ "$(cat "$venv/.requirements.sha256" 2>/dev/null)" != "$want" ] || [ ! -x "$venv/bin/python" ]; then
  base=$(tst_python_base) || { echo "deps: see above" >&2; exit 1; }
  echo "deps: making .venv with $base ($("$base" --version 2>&1)) from python/requirements-dev.txt" >&2
  rm -rf "$venv"
  "$base" -m venv "$venv"
  "$venv/bin/python" -m pip install -q --disable-pip-version-check --no-input -r "$reqs"
  echo "$want" > "$venv/.requirements.sha256"
fi
# ---- end of the Python environment ------------------------------------------

# ---- the reference implementation, as a test oracle ----------------------
# The reference (PyPI timeseries-table-format) opens the tables we write and
# writes tables we open: 0.4.0 (format_version 6) in .deps/refvenv for
# tests/compat/test_writer_types.py and the other test_reference*.py, 0.9.0
# (protocol 7) in .deps/refvenv09 for tests/compat/test_reference09.py. Its
# import name is ours too, so each version lives in a venv of its own. A
# failed install only warns: those tests are then skipped, saying why.
install_reference() { # VERSION VENV
  local version="$1" dir="$2"
  "$dir/bin/python" -c "import importlib.metadata as m; assert m.version('timeseries-table-format') == '$version'" \
    >/dev/null 2>&1 && return 0
  echo "deps: installing timeseries-table-format $version into ${dir#"$here"/}" >&2
  rm -rf "$dir"
  { "$venv/bin/python" -m venv "$dir" &&
    "$dir/bin/python" -m pip install -q --disable-pip-version-check --no-input \
      "timeseries-table-format==$version" pyarrow==26.0.1; } >/dev/null 2>&1 ||
    echo "deps: warning: the reference $version could not be installed; its checks are skipped" >&2
}
install_reference 0.4.0 "$here/.deps/refvenv"
install_reference 0.9.0 "$here/.deps/refvenv09"

# The reference's source releases: python/tests/test_reference_suite.py runs
# their Python examples and tests, unchanged, against our package (0.4.0's
# suite, and 0.9.0's for protocol 7). Fetched from PyPI (pinned by SHA-256)
# and unpacked into .deps/; nothing of them is committed here. A failed fetch
# only warns: the suite test then fails by itself, saying why.
fetch_reference_src() { # VERSION URL SHA256 DIR
  local version=$1 url=$2 sha=$3 dir=$4
  [ -f "$dir/timeseries_table_format-$version/PKG-INFO" ] && return 0
  echo "deps: fetching the reference's source release $version into ${dir#"$here/"}" >&2
  rm -rf "$dir" && mkdir -p "$dir"
  if curl -fsSL --retry 3 -o "$dir/sdist.tar.gz" "$url" &&
     echo "$sha  $dir/sdist.tar.gz" | sha256sum -c --quiet -; then
    tar -xzf "$dir/sdist.tar.gz" -C "$dir" && rm -f "$dir/sdist.tar.gz"
  else
    rm -rf "$dir"
    echo "deps: warning: the reference's source release $version could not be fetched" >&2
  fi
}
fetch_reference_src 0.4.0 \
  "https://files.pythonhosted.org/packages/66/3a/69c7a6777e893c3d97eda21e2c454ebb9dce20bf5150c07734caca2a80e5/timeseries_table_format-0.4.0.tar.gz" \
  502d9ace581b320872ae949e7532a45c8efdd233a6e3dcb09d29a7e6d5e7da98 "$here/.deps/reference-src"
fetch_reference_src 0.9.0 \
  "https://files.pythonhosted.org/packages/37/bf/bff903ea4371f7fc222cc65564d54a6c404a3f6e08b8452b93454cd7cdd2/timeseries_table_format-0.9.0.tar.gz" \
  e0f127c53db38b8355f5150373fef2a42b754f025035d7bc80f4e1f62a2a9bb0 "$here/.deps/reference-src09"

# ---- Node packages for the Parquet compatibility fixtures ----------------
# tests/fixtures/write_parquet_wasm.mjs writes Parquet with a second writer
# (parquet-wasm: arrow-rs compiled to WebAssembly) from Arrow tables built
# with apache-arrow. Pinned to the versions the fixtures were tested with;
# nothing is fetched when both are already installed at those versions. A
# failed fetch only warns: the compat test then fails by itself, saying why.
node_deps="$here/.deps/node"
node_pins=(parquet-wasm@0.8.0 apache-arrow@21.2.0)
node_missing=()
for pin in "${node_pins[@]}"; do
  pkg_json="$node_deps/node_modules/${pin%@*}/package.json"
  grep -q "\"version\": *\"${pin##*@}\"" "$pkg_json" 2>/dev/null || node_missing+=("$pin")
done
if [ ${#node_missing[@]} -gt 0 ]; then
  echo "deps: installing ${node_missing[*]} into .deps/node" >&2
  mkdir -p "$node_deps"
  npm install --prefix "$node_deps" --save-exact --no-audit --no-fund --silent "${node_pins[@]}" >/dev/null ||
    echo "deps: warning: npm could not install ${node_missing[*]}; test_compat will fail" >&2
fi
# ---- end of Node packages --------------------------------------------------

if [ -n "${DUCKDB_DIR:-}" ]; then
  [ -f "$DUCKDB_DIR/duckdb.h" ] && ls "$DUCKDB_DIR"/libduckdb.so >/dev/null 2>&1 || {
    echo "deps: DUCKDB_DIR=$DUCKDB_DIR must hold duckdb.h and libduckdb.so" >&2; exit 1; }
  exit 0
fi

duck="$here/.deps/duckdb"
if [ -f "$duck/include/duckdb.h" ] && [ -f "$duck/lib/libduckdb.so" ]; then
  exit 0
fi
echo "deps: fetching DuckDB 1.4.4 from the npm registry into .deps/duckdb" >&2
# The pinned packages and their SHA-256 live in cmake/DuckDB.cmake, which a
# build uses too when there is no .deps/duckdb.
cmake -DTST_DUCKDB_FETCH_INTO="$duck" -P "$here/cmake/DuckDB.cmake"
[ -f "$duck/include/duckdb.h" ] && [ -f "$duck/lib/libduckdb.so" ] ||
  { echo "deps: cmake/DuckDB.cmake left no duckdb.h / libduckdb.so in $duck" >&2; exit 1; }
echo "deps: DuckDB ready in $duck" >&2
