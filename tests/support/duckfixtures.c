/*
 * duckfixtures.c — test fixtures written through the library's DuckDB (see
 * testsupport.h). A file of its own, so that tests which never touch DuckDB
 * do not link the engine (the unit tests run under valgrind).
 */
#include "testsupport.h"

#include "append_internal.h"
#include "tstable/append.h"

#include "duck.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

void tst_test_duck(const char *sql)
{
    duckdb_connection con = NULL;
    assert_tst_ok(tst_duck_connect(&con));
    assert_tst_ok(tst_duck_query(con, "SET TimeZone = 'UTC'", NULL, "test fixture"));
    assert_tst_ok(tst_duck_query(con, sql, NULL, "test fixture"));
    tst_duck_disconnect(&con);
}

static char *first_cell(const char *sql)
{
    duckdb_connection con = NULL;
    duckdb_result res;
    assert_tst_ok(tst_duck_connect(&con));
    assert_tst_ok(tst_duck_query(con, "SET TimeZone = 'UTC'", NULL, "test check"));
    assert_tst_ok(tst_duck_query(con, sql, &res, "test check"));
    if (duckdb_row_count(&res) < 1)
        fail_msg("query %s gave no row", sql);
    char *v = duckdb_value_varchar(&res, 0, 0);
    char *text = strdup(v ? v : "(null)");
    duckdb_free(v);
    duckdb_destroy_result(&res);
    tst_duck_disconnect(&con);
    assert_non_null(text);
    return text;
}

static char *vformat(const char *fmt, va_list ap)
{
    char *sql = NULL;
    assert_true(vasprintf(&sql, fmt, ap) > 0);
    return sql;
}

char *tst_test_sql_text(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    char *sql = vformat(fmt, ap);
    va_end(ap);
    char *text = first_cell(sql);
    free(sql);
    return text;
}

void tst_test_assert_sql(const char *expected, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    char *sql = vformat(fmt, ap);
    va_end(ap);
    char *got = first_cell(sql);
    if (strcmp(got, expected) != 0)
        fail_msg("query %s\n  gave   %s\n  wanted %s", sql, got, expected);
    free(got);
    free(sql);
}

void tst_test_duck_in_child(const char *sql)
{
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        duckdb_connection con = NULL;
        int rc = tst_duck_connect(&con);
        if (rc == 0)
            rc = tst_duck_query(con, sql, NULL, "test fixture");
        if (rc != 0)
            fprintf(stderr, "fixture: %s\n", tst_error_last()->message);
        _exit(rc == 0 ? 0 : 1);
    }
    int status = 0;
    waitpid(pid, &status, 0);
    assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
}

char *tst_test_nvda_parquet(const char *dir, const char *name, const char *select)
{
    char *path = tst_test_path(dir, name);
    char sql[4096];
    snprintf(sql, sizeof sql,
             "COPY (WITH nvda AS (SELECT * FROM read_csv('%s/examples/data/nvda_1h_sample.csv')) "
             "%s) TO '%s' (FORMAT parquet)",
             TST_SOURCE_DIR, select, path);
    tst_test_duck(sql);
    return path;
}

int tst_test_session_teardown(void **state)
{
    tst_test_session_fixture *f = *state;
    tst_session_free(f->s);
    free(f->root);
    tst_test_rmtree(f->dir);
    free(f);
    return 0;
}

char *tst_test_first_value(tst_session *s, const char *sql, const tst_param *p, size_t n)
{
    tst_rows *rows = NULL;
    assert_tst_ok(tst_session_query_rows(s, sql, p, n, &rows));
    assert_int_equal(tst_rows_next(rows), 1);
    const char *v = tst_rows_value(rows, 0);
    char *copy = strdup(v ? v : "NULL");
    tst_rows_free(rows);
    return copy;
}

char *tst_test_table_value(const char *root, const char *sql)
{
    tst_session *s = NULL;
    assert_tst_ok(tst_session_open(&s));
    assert_tst_ok(tst_session_register_table(s, "t", root));
    char *v = tst_test_first_value(s, sql, NULL, 0);
    tst_session_free(s);
    return v;
}

/* ---- another writer, mid-append ---------------------------------------- */

static void interlope(void *ctx, unsigned attempt)
{
    tst_test_interloper *in = ctx;
    if (attempt != 1)
        return;
    tst_append_before_commit_hook = NULL; /* the other writer's own append runs plainly */
    tst_table *other = NULL;
    in->rc = tst_table_open(&other, in->root);
    if (in->rc == 0)
        in->rc = tst_table_append_parquet(other, in->file, NULL, NULL);
    tst_table_free(other);
    tst_append_before_commit_hook = interlope;
}

void tst_test_interloper_arm(tst_test_interloper *in)
{
    in->rc = -1;
    tst_append_before_commit_hook = interlope;
    tst_append_before_commit_ctx = in;
}

void tst_test_interloper_disarm(void)
{
    tst_append_before_commit_hook = NULL;
}

tst_param tst_test_text_param(const char *name, const char *text)
{
    tst_param p;
    memset(&p, 0, sizeof p);
    p.name = name;
    p.type = TST_PARAM_TEXT;
    p.v.bytes.ptr = text;
    p.v.bytes.len = strlen(text);
    return p;
}
