/*
 * duckdb_lazy.c — libduckdb for the `tstable` tool, loaded on first use.
 *
 * Loading libduckdb costs a process ~27 ms (a 60 MB C++ library, its
 * relocations and static initialisers) before main() runs, and most of the
 * tool's commands never use it: coverage, gaps, info, log, entities,
 * segments, diff, plan-backfill and vacuum read the log and the coverage
 * files through src/core alone. So the tool is linked without libduckdb;
 * instead it links duckdb_lazy_functions.c, generated from duckdb.h by
 * scripts/duckdb_lazy.py: one function per DuckDB C API function, with the
 * header's own prototype, that forwards to the real one. The first call
 * dlopen()s libduckdb and each function is looked up once, on its own first
 * call. A process that never touches DuckDB never maps it.
 *
 * Where libduckdb comes from: $TST_DUCKDB_LIBRARY when set (a path; tests
 * use it to take DuckDB away), else "libduckdb.so" through the usual search
 * (LD_LIBRARY_PATH, then the tool's RUNPATH: DuckDB's folder at build time),
 * else the path the tool was built against.
 *
 * Errors: the engine calls tst_duckdb_lazy_load() before it opens its
 * database (engine/duck.c, through a weak reference, so the Python
 * extension, which links libduckdb directly, skips it) and turns a failure
 * into an ordinary error: "cannot load libduckdb ...". Every DuckDB call
 * comes after that open, so the abort in tst_duckdb_lazy_fn is for a
 * broken install (a libduckdb without a function of its header) only.
 *
 * Only the tool links this (CMakeLists.txt: tstable_lazy). The Python
 * extension keeps linking libduckdb directly: its wheel grafts libduckdb
 * under a hashed name that dlopen("libduckdb.so") would not find, and
 * `import` is not paid per command.
 */
#include "duckdb_lazy.h"

#include <dlfcn.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#ifndef TST_DUCKDB_LIB_PATH
#define TST_DUCKDB_LIB_PATH "libduckdb.so"
#endif

static pthread_once_t load_once = PTHREAD_ONCE_INIT;
static void *library;
static char load_error[1024];
/* Resolved functions, by index; sized generously, checked at first use. */
#define MAX_FUNCTIONS 1024
static _Atomic(void *) resolved[MAX_FUNCTIONS];

static void *open_library(const char *path)
{
    void *h = dlopen(path, RTLD_NOW | RTLD_LOCAL);
    if (!h) {
        const char *why = dlerror();
        size_t used = strlen(load_error);
        snprintf(load_error + used, sizeof load_error - used, "%s%s", used ? "; " : "",
                 why ? why : path);
    }
    return h;
}

static void load(void)
{
    const char *path = getenv("TST_DUCKDB_LIBRARY");
    if (path && *path) {
        library = open_library(path);
        return;
    }
    library = open_library("libduckdb.so");
    if (!library && strcmp(TST_DUCKDB_LIB_PATH, "libduckdb.so") != 0)
        library = open_library(TST_DUCKDB_LIB_PATH);
}

int tst_duckdb_lazy_load(char *err, size_t errlen)
{
    pthread_once(&load_once, load);
    if (library)
        return 0;
    snprintf(err, errlen,
             "cannot load libduckdb, which this command needs (%s); set LD_LIBRARY_PATH or "
             "TST_DUCKDB_LIBRARY to the libduckdb.so of DuckDB 1.4",
             load_error);
    return -1;
}

void *tst_duckdb_lazy_fn(size_t i)
{
    void *f = i < MAX_FUNCTIONS ? atomic_load_explicit(&resolved[i], memory_order_acquire) : NULL;
    if (f)
        return f;
    char err[1200];
    if (i >= tst_duckdb_lazy_count || i >= MAX_FUNCTIONS) {
        fprintf(stderr, "tstable: DuckDB function number %zu is out of range\n", i);
        abort();
    }
    if (tst_duckdb_lazy_load(err, sizeof err) != 0) {
        fprintf(stderr, "tstable: %s\n", err);
        abort();
    }
    f = dlsym(library, tst_duckdb_lazy_names[i]);
    if (!f) {
        fprintf(stderr, "tstable: the libduckdb loaded has no %s: install DuckDB 1.4\n",
                tst_duckdb_lazy_names[i]);
        abort();
    }
    atomic_store_explicit(&resolved[i], f, memory_order_release);
    return f;
}
