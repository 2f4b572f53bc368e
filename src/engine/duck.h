/*
 * duck.h — the process's DuckDB engine, for Parquet and CSV I/O.
 *
 * Opening DuckDB costs tens of milliseconds and ~35 MB, so the library opens
 * one in-memory database per process, on first use, and never for work that
 * needs no Parquet (coverage questions are answered from sidecars alone).
 * Each caller takes its own connection: connections are cheap, and a
 * connection must not be shared between threads.
 *
 * Errors from DuckDB become TST_ESQL with DuckDB's message; tst_duck_query()
 * names what was being done ("reading the schema of /x.parquet").
 */
#ifndef TST_DUCK_H
#define TST_DUCK_H

#include <duckdb.h>
#include <stdbool.h>
#include <stddef.h>

/* A new connection to the process-wide database (created on first call). */
int tst_duck_connect(duckdb_connection *out);
void tst_duck_disconnect(duckdb_connection *con);

/*
 * Runs sql; on success *out holds the result (destroy it with
 * duckdb_destroy_result), on failure TST_ESQL "<what>: <DuckDB message>".
 * out may be NULL when the result is not needed.
 */
int tst_duck_query(duckdb_connection con, const char *sql, duckdb_result *out, const char *what);

/*
 * Appends text as a SQL string literal ('...' with quotes doubled) to a
 * malloc'd buffer: *buf grows as needed. Returns 0 or TST_ENOMEM.
 */
/* A short name for a FROM-clause expression, for error messages: the
 * expression itself when short, else its first read_...(...) call (a typed
 * CSV relation spells out every column and would push DuckDB's own message
 * past the error buffer). Writes into buf[cap] and returns buf. */
const char *tst_duck_relation_label(const char *relation_sql, char *buf, size_t cap);

int tst_duck_append_literal(char **buf, size_t *len, size_t *cap, const char *text);
/* Appends text as a quoted SQL identifier ("..." with quotes doubled). */
int tst_duck_append_ident(char **buf, size_t *len, size_t *cap, const char *text);
/* Appends formatted text. */
int tst_duck_appendf(char **buf, size_t *len, size_t *cap, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

/* A SQL statement being built, with shorthands for the builders above. */
typedef struct tst_sql {
    char *s;
    size_t len, cap;
} tst_sql;

#define SQL_F(t, ...) tst_duck_appendf(&(t)->s, &(t)->len, &(t)->cap, __VA_ARGS__)
#define SQL_IDENT(t, name) tst_duck_append_ident(&(t)->s, &(t)->len, &(t)->cap, (name))
#define SQL_LIT(t, text) tst_duck_append_literal(&(t)->s, &(t)->len, &(t)->cap, (text))

/* cancel.c: a new connection joins the calling thread's cancellation token
 * (cancel.h), so a request interrupts its queries; a closing one leaves. */
void tst_cancel_attach(duckdb_connection con);
void tst_cancel_detach(duckdb_connection con);

/*
 * Whether `column` of `relation` is a TIMESTAMPTZ. DuckDB 1.4.4 has no cast
 * from TIMESTAMPTZ to TIMESTAMP_MS or TIMESTAMP_NS, so such columns go
 * through TIMESTAMP (exact when the session zone is UTC). Preparing binds
 * the statement without running it: for Parquet that reads only the footer.
 */
int tst_duck_column_is_tstz(duckdb_connection con, const char *relation, const char *column,
                            bool *out);

#endif
