# DuckDB 1.4.4's C API (duckdb.h + libduckdb.so), for the root CMakeLists.txt
# and scripts/deps.sh alike, so the pinned packages live in one place.
#
# Where it comes from, first match wins:
#   1. DUCKDB_DIR (cache variable, else the environment variable): a folder
#      holding duckdb.h and libduckdb.so (directly or in include/ and lib/);
#   2. <repo>/.deps/duckdb, where scripts/deps.sh puts it;
#   3. otherwise it is fetched into the build folder (<build>/_deps/duckdb):
#      the npm registry's packages below, through the npm client, each
#      tarball checked against its pinned SHA-256 before anything is unpacked.
# Defines the imported target `duckdb` and DUCKDB_LIB / DUCKDB_LIB_DIR.
#
# Script mode, used by scripts/deps.sh:
#   cmake -DTST_DUCKDB_FETCH_INTO=<folder> -P cmake/DuckDB.cmake
# fetches the same pinned packages into <folder>/include and <folder>/lib.

set(TST_DUCKDB_VERSION 1.4.4)
# libduckdb.so: the prebuilt Linux x86-64 library of the Node.js bindings.
set(TST_DUCKDB_LIB_PACKAGE "@duckdb/node-bindings-linux-x64@1.4.4-r.4")
set(TST_DUCKDB_LIB_TARBALL "duckdb-node-bindings-linux-x64-1.4.4-r.4.tgz")
set(TST_DUCKDB_LIB_SHA256 732fac4dc6b8f198870b9c4bb6ddf13544466daca00ad28ba2f1d80de5d7aa4b)
set(TST_DUCKDB_LIB_MEMBER "package/libduckdb.so")
# duckdb.h: the matching C header, from the source package of the same release.
set(TST_DUCKDB_HDR_PACKAGE "duckdb@1.4.4")
set(TST_DUCKDB_HDR_TARBALL "duckdb-1.4.4.tgz")
set(TST_DUCKDB_HDR_SHA256 5bb967dcbcd517670ba5f169f238fb9d6787e53752c60ebe24386169d76941ed)
set(TST_DUCKDB_HDR_MEMBER "package/src/duckdb/src/include/duckdb.h")

# Fails the configure (or the script) saying what went wrong and what to do.
function(tst_duckdb_fail what)
  message(FATAL_ERROR "DuckDB ${TST_DUCKDB_VERSION}: ${what}. Install npm (Debian: apt-get install npm), "
                      "or set DUCKDB_DIR to a folder holding duckdb.h and libduckdb.so.")
endfunction()

# Packs one pinned npm package into `work`, checks its SHA-256 and copies the
# one member we need to `dest`.
function(tst_duckdb_fetch_one package tarball sha256 member work dest)
  execute_process(COMMAND ${TST_NPM} pack --silent ${package}
                  WORKING_DIRECTORY ${work} RESULT_VARIABLE rc OUTPUT_QUIET ERROR_VARIABLE err)
  if(NOT rc EQUAL 0 OR NOT EXISTS ${work}/${tarball})
    tst_duckdb_fail("`npm pack ${package}` failed (${rc}): ${err}")
  endif()
  file(SHA256 ${work}/${tarball} got)
  if(NOT got STREQUAL sha256)
    tst_duckdb_fail("${tarball} has SHA-256 ${got}, expected ${sha256}; nothing was unpacked")
  endif()
  file(ARCHIVE_EXTRACT INPUT ${work}/${tarball} DESTINATION ${work}/x PATTERNS ${member})
  if(NOT EXISTS ${work}/x/${member})
    tst_duckdb_fail("${tarball} holds no ${member}")
  endif()
  get_filename_component(dir ${dest} DIRECTORY)
  file(MAKE_DIRECTORY ${dir})
  file(RENAME ${work}/x/${member} ${dest})
endfunction()

# Fetches duckdb.h and libduckdb.so into <dest>/include and <dest>/lib,
# unless both are already there. The library is Linux x86-64 only.
function(tst_fetch_duckdb dest)
  if(EXISTS ${dest}/include/duckdb.h AND EXISTS ${dest}/lib/libduckdb.so)
    return()
  endif()
  cmake_host_system_information(RESULT arch QUERY OS_PLATFORM)
  if(NOT CMAKE_HOST_SYSTEM_NAME STREQUAL "Linux" OR NOT arch MATCHES "^(x86_64|AMD64)$")
    tst_duckdb_fail("the pinned prebuilt library is for Linux x86-64 only, this is "
                    "${CMAKE_HOST_SYSTEM_NAME} ${arch}")
  endif()
  find_program(TST_NPM npm)
  if(NOT TST_NPM)
    tst_duckdb_fail("not in DUCKDB_DIR nor in .deps/duckdb, and npm is not on PATH to fetch it")
  endif()
  message(STATUS "DuckDB: fetching ${TST_DUCKDB_LIB_PACKAGE} and ${TST_DUCKDB_HDR_PACKAGE} into ${dest}")
  set(work ${dest}/.fetch)
  file(REMOVE_RECURSE ${work})
  file(MAKE_DIRECTORY ${work})
  tst_duckdb_fetch_one(${TST_DUCKDB_HDR_PACKAGE} ${TST_DUCKDB_HDR_TARBALL} ${TST_DUCKDB_HDR_SHA256}
                       ${TST_DUCKDB_HDR_MEMBER} ${work} ${dest}/include/duckdb.h)
  tst_duckdb_fetch_one(${TST_DUCKDB_LIB_PACKAGE} ${TST_DUCKDB_LIB_TARBALL} ${TST_DUCKDB_LIB_SHA256}
                       ${TST_DUCKDB_LIB_MEMBER} ${work} ${dest}/lib/libduckdb.so)
  file(REMOVE_RECURSE ${work})
endfunction()

if(CMAKE_SCRIPT_MODE_FILE)
  if(NOT TST_DUCKDB_FETCH_INTO)
    message(FATAL_ERROR "usage: cmake -DTST_DUCKDB_FETCH_INTO=<folder> -P ${CMAKE_CURRENT_LIST_FILE}")
  endif()
  tst_fetch_duckdb(${TST_DUCKDB_FETCH_INTO})
  return()
endif()

# ---------------------------------------------------------------- configure
set(DUCKDB_DIR "$ENV{DUCKDB_DIR}" CACHE PATH "Folder with duckdb.h and libduckdb.so")
get_filename_component(_tst_repo ${CMAKE_CURRENT_LIST_DIR} DIRECTORY)
if(DUCKDB_DIR)
  set(_tst_duckdb_hints ${DUCKDB_DIR} ${DUCKDB_DIR}/include ${DUCKDB_DIR}/lib)
  set(_tst_duckdb_where "DUCKDB_DIR=${DUCKDB_DIR}")
elseif(EXISTS ${_tst_repo}/.deps/duckdb/include/duckdb.h AND EXISTS ${_tst_repo}/.deps/duckdb/lib/libduckdb.so)
  set(_tst_duckdb_hints ${_tst_repo}/.deps/duckdb/include ${_tst_repo}/.deps/duckdb/lib)
  set(_tst_duckdb_where "${_tst_repo}/.deps/duckdb")
else()
  tst_fetch_duckdb(${CMAKE_BINARY_DIR}/_deps/duckdb)
  set(_tst_duckdb_hints ${CMAKE_BINARY_DIR}/_deps/duckdb/include ${CMAKE_BINARY_DIR}/_deps/duckdb/lib)
  set(_tst_duckdb_where "${CMAKE_BINARY_DIR}/_deps/duckdb")
endif()
find_path(DUCKDB_INCLUDE duckdb.h HINTS ${_tst_duckdb_hints} NO_DEFAULT_PATH)
find_library(DUCKDB_LIB duckdb HINTS ${_tst_duckdb_hints} NO_DEFAULT_PATH)
if(NOT DUCKDB_INCLUDE OR NOT DUCKDB_LIB)
  message(FATAL_ERROR "DuckDB not found in ${_tst_duckdb_where} (duckdb.h: ${DUCKDB_INCLUDE}, "
                      "libduckdb.so: ${DUCKDB_LIB}): run scripts/deps.sh, or set DUCKDB_DIR to a "
                      "folder holding both")
endif()
add_library(duckdb SHARED IMPORTED GLOBAL)
set_target_properties(duckdb PROPERTIES IMPORTED_LOCATION ${DUCKDB_LIB}
                      INTERFACE_INCLUDE_DIRECTORIES ${DUCKDB_INCLUDE})
message(STATUS "DuckDB: ${DUCKDB_LIB}")
get_filename_component(DUCKDB_LIB_DIR ${DUCKDB_LIB} DIRECTORY)
