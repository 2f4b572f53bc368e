/*
 * duck.c — one in-memory DuckDB per process, connections per caller, and
 * the string building every SQL statement needs (see duck.h).
 */
#include "duck.h"

#include "cancel.h"
#include "fail.h"

#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static pthread_once_t open_once = PTHREAD_ONCE_INIT;
static duckdb_database database;
static int open_state; /* 0 ok, else a TST_E code */
static char open_error[512];

static char temp_dir[512];

/* The `tstable` tool loads libduckdb only when a command needs it
 * (src/lazy/duckdb_lazy.c defines this); a program linked with libduckdb
 * directly, such as the Python extension, has no definition: NULL. */
extern int tst_duckdb_lazy_load(char *err, size_t errlen) __attribute__((weak));

/* DuckDB's spill files are removed when the database closes; the folder is ours. */
static void close_database(void)
{
    duckdb_close(&database);
    if (temp_dir[0])
        rmdir(temp_dir);
}

/*
 * Memory: DuckDB's default limit is 80% of RAM, and a re-encode sorts the
 * whole source, so a large append could take most of the machine. A fixed
 * limit (TST_DUCKDB_MEMORY_LIMIT, default 1GB) makes DuckDB spill its sort
 * to a private folder under TMPDIR instead: memory stays bounded whatever
 * the size of the file. TST_DUCKDB_THREADS (default: DuckDB's, one per
 * core) caps its worker threads: each holds buffers of its own, so a small
 * limit on a machine with many cores may need fewer threads (tests pin it,
 * so that a limit that holds here holds everywhere).
 */
static void configure(duckdb_config config)
{
    const char *limit = getenv("TST_DUCKDB_MEMORY_LIMIT");
    duckdb_set_config(config, "memory_limit", limit && *limit ? limit : "1GB");
    const char *threads = getenv("TST_DUCKDB_THREADS");
    if (threads && *threads)
        duckdb_set_config(config, "threads", threads);
    const char *base = getenv("TMPDIR");
    snprintf(temp_dir, sizeof temp_dir, "%s/tstable-duckdb-%ld", base && *base ? base : "/tmp",
             (long)getpid());
    duckdb_set_config(config, "temp_directory", temp_dir);
    duckdb_set_config(config, "preserve_insertion_order", "false");
    /* The file cache keeps every segment file read, up to the memory limit:
     * a long-lived process appending many files would only grow. */
    duckdb_set_config(config, "enable_external_file_cache", "false");
    /* Queries here read and write files the library names; no extension
     * may be downloaded (the machines have no network for it). */
    duckdb_set_config(config, "autoinstall_known_extensions", "false");
    duckdb_set_config(config, "autoload_known_extensions", "false");
}

static void open_database(void)
{
    duckdb_config config = NULL;
    char *err = NULL;
    if (tst_duckdb_lazy_load && tst_duckdb_lazy_load(open_error, sizeof open_error) != 0) {
        open_state = TST_ESQL;
        return;
    }
    if (duckdb_create_config(&config) == DuckDBError) {
        open_state = TST_ENOMEM;
        snprintf(open_error, sizeof open_error, "cannot create a DuckDB configuration");
        return;
    }
    configure(config);
    if (duckdb_open_ext(NULL, &database, config, &err) == DuckDBError) {
        open_state = TST_ESQL;
        snprintf(open_error, sizeof open_error, "cannot open DuckDB: %s", err ? err : "unknown");
        duckdb_free(err);
    } else {
        atexit(close_database);
    }
    duckdb_destroy_config(&config);
}

int tst_duck_connect(duckdb_connection *out)
{
    pthread_once(&open_once, open_database);
    if (open_state != 0)
        return tst_fail(open_state, "%s", open_error);
    if (duckdb_connect(database, out) == DuckDBError)
        return tst_fail(TST_ESQL, "cannot connect to DuckDB");
    tst_cancel_attach(*out); /* a cancel request interrupts its queries */
    return 0;
}

void tst_duck_disconnect(duckdb_connection *con)
{
    if (con && *con) {
        tst_cancel_detach(*con);
        duckdb_disconnect(con);
    }
}

int tst_duck_query(duckdb_connection con, const char *sql, duckdb_result *out, const char *what)
{
    duckdb_result local;
    duckdb_result *r = out ? out : &local;
    int rc = tst_cancel_check(what); /* a request that came between two queries */
    if (rc != 0)
        return rc;
    if (duckdb_query(con, sql, r) == DuckDBError) {
        const char *msg = duckdb_result_error(r);
        tst_fail(TST_ESQL, "%s: %s", what, msg ? msg : "DuckDB query failed");
        duckdb_destroy_result(r);
        rc = tst_cancel_check(what); /* interrupted on purpose: say so */
        return rc != 0 ? rc : TST_ESQL;
    }
    if (!out)
        duckdb_destroy_result(r);
    return 0;
}

static int reserve(char **buf, size_t *len, size_t *cap, size_t more)
{
    if (*len + more + 1 <= *cap)
        return 0;
    size_t next = *cap ? *cap : 256;
    while (next < *len + more + 1)
        next *= 2;
    char *grown = realloc(*buf, next);
    if (!grown)
        return tst_fail(TST_ENOMEM, "out of memory building SQL");
    *buf = grown;
    *cap = next;
    return 0;
}

static int append_quoted(char **buf, size_t *len, size_t *cap, const char *text, char quote)
{
    size_t n = strlen(text);
    int rc = reserve(buf, len, cap, 2 * n + 2);
    if (rc != 0)
        return rc;
    char *p = *buf + *len;
    *p++ = quote;
    for (const char *c = text; *c; c++) {
        if (*c == quote)
            *p++ = quote;
        *p++ = *c;
    }
    *p++ = quote;
    *p = '\0';
    *len = (size_t)(p - *buf);
    return 0;
}

int tst_duck_append_literal(char **buf, size_t *len, size_t *cap, const char *text)
{
    return append_quoted(buf, len, cap, text, '\'');
}

int tst_duck_append_ident(char **buf, size_t *len, size_t *cap, const char *text)
{
    return append_quoted(buf, len, cap, text, '"');
}

int tst_duck_appendf(char **buf, size_t *len, size_t *cap, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    if (n < 0)
        return tst_fail(TST_EINVAL, "cannot format SQL");
    int rc = reserve(buf, len, cap, (size_t)n);
    if (rc != 0)
        return rc;
    va_start(ap, fmt);
    vsnprintf(*buf + *len, *cap - *len, fmt, ap);
    va_end(ap);
    *len += (size_t)n;
    return 0;
}

int tst_duck_column_is_tstz(duckdb_connection con, const char *relation, const char *column,
                            bool *out)
{
    tst_sql q = {NULL, 0, 0};
    int rc = SQL_F(&q, "SELECT ");
    if (rc == 0)
        rc = SQL_IDENT(&q, column);
    if (rc == 0)
        rc = SQL_F(&q, " FROM %s", relation);
    duckdb_prepared_statement stmt = NULL;
    if (rc == 0 && duckdb_prepare(con, q.s, &stmt) == DuckDBError)
        rc = tst_fail(TST_ESQL, "reading the type of column '%s': %s", column,
                      duckdb_prepare_error(stmt) ? duckdb_prepare_error(stmt) : "prepare failed");
    if (rc == 0)
        *out = duckdb_prepared_statement_column_type(stmt, 0) == DUCKDB_TYPE_TIMESTAMP_TZ;
    duckdb_destroy_prepare(&stmt);
    free(q.s);
    return rc;
}

const char *tst_duck_relation_label(const char *relation_sql, char *buf, size_t cap)
{
    enum { SHORT = 200 };
    size_t len = strlen(relation_sql);
    const char *call = strstr(relation_sql, "read_");
    if (len <= SHORT || !call) {
        snprintf(buf, cap, "%.*s%s", (int)(len <= SHORT ? len : SHORT), relation_sql,
                 len <= SHORT ? "" : "...");
        return buf;
    }
    const char *end = strchr(call, ')');
    size_t n = end ? (size_t)(end - call) + 1 : strlen(call);
    snprintf(buf, cap, "%.*s%s", (int)(n <= SHORT ? n : SHORT), call, n <= SHORT ? "" : "...");
    return buf;
}
