/*
 * duckdb_lazy.h — the lazily loaded libduckdb of the `tstable` tool
 * (duckdb_lazy.c). Private to src/lazy/.
 */
#ifndef TST_DUCKDB_LAZY_H
#define TST_DUCKDB_LAZY_H

#include <stddef.h>

/* The generated table (duckdb_lazy_functions.c): the names of duckdb.h's
 * functions, in the order of the indexes tst_duckdb_lazy_fn takes. */
extern const char *const tst_duckdb_lazy_names[];
extern const size_t tst_duckdb_lazy_count;

/* The real function number `i`, loading libduckdb on first use. A call
 * reaches here only after tst_duckdb_lazy_load() succeeded (the engine
 * asks before it opens a database); if it did not, or libduckdb lacks the
 * function, this reports on stderr and aborts — there is no error to
 * return through an arbitrary DuckDB signature. */
void *tst_duckdb_lazy_fn(size_t i);

/* Loads libduckdb once per process; 0, or -1 with a message in err. */
int tst_duckdb_lazy_load(char *err, size_t errlen);

#endif
