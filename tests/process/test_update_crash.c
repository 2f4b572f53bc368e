/*
 * test_update_crash.c — an updating process killed at every step.
 *
 * For each durable step k of an update (every create, write, fsync, link,
 * rename and unlink through the I/O layer), a child updates a copy of a
 * protocol-7 table (two mixed segments, one key in each) with a crash armed
 * at step k, and dies there. Afterwards the table must open at its old
 * version or the next one; its rows (the log's row counts) and coverage are
 * what they were, every live segment's data file and sidecar exist, and a
 * query sees every key once, with the old values before the commit and the
 * new ones after it. A second update then succeeds and an append commits.
 * The parent never starts DuckDB: every step that needs it runs in a child.
 */
#include "process_support.h"

#include "sidecar.h"
#include "tstable/append.h"
#include "tstable/session.h"
#include "tstable/table.h"
#include "tstable/update.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* close = `value` for AAPL at 01:00 of days 0 and 1. */
static char *update_file(const char *dir, const char *name, double value)
{
    char sql[1024];
    char *path = tst_test_path(dir, name);
    snprintf(sql, sizeof sql, "COPY (SELECT 'AAPL' AS symbol, ts, CAST(%g AS DOUBLE) AS close "
             "FROM (VALUES (TIMESTAMPTZ '2024-06-01 01:00:00+00'), (TIMESTAMPTZ "
             "'2024-06-02 01:00:00+00')) v(ts)) TO '%s' (FORMAT parquet)", value, path);
    tst_test_duck_in_child(sql);
    return path;
}

typedef enum { DO_APPEND, DO_UPDATE, DO_CHECK } child_op;

typedef struct child_job {
    const char *root;
    child_op op;
    const char *file;
} child_job;

/* The operation of in_child, in the child (any crash is armed by then). */
static int child_body(tst_table *t, void *arg)
{
    const child_job *j = arg;
    if (j->op == DO_CHECK) {
        tst_session *s = NULL;
        char *v = NULL;
        if (tst_session_open(&s) != 0 || tst_session_register_table(s, "t", j->root) != 0)
            _exit(3);
        char sql[512];
        snprintf(sql, sizeof sql, "SELECT count(*) = count(DISTINCT (symbol, ts)) AND "
                 "count(*) FILTER (WHERE close = -1) = %s FROM t", j->file);
        v = tst_test_first_value(s, sql, NULL, 0);
        _exit(strcmp(v, "true") == 0 ? 0 : 5);
    }
    if (j->op == DO_APPEND)
        return tst_table_append_parquet(t, j->file, NULL, NULL);
    tst_update_source src = {.parquet_path = j->file};
    tst_update_options o = TST_UPDATE_OPTIONS_INIT;
    o.expected_version = tst_table_version(t);
    const char *const cols[] = {"close"};
    return tst_table_update_rows(t, &src, cols, 1, &o, NULL);
}

/* Runs one operation in a child with a crash armed at step k (0: none).
 * DO_CHECK: exits 0 when every key appears once and `value` keyed rows
 * hold `expect` values of -1 (file is "expect" as text). Returns the exit
 * status: 77 crashed, 0 done, 4 failed, 5 check failed. */
static int in_child(const char *root, child_op op, const char *file, uint64_t k)
{
    child_job j = {root, op, file};
    return tst_proc_run_crashing(root, op == DO_CHECK ? 0 : k, child_body, &j);
}

static void an_update_killed_at_any_step_leaves_old_or_new_and_writable(void **state)
{
    (void)state;
    tst_proc_two_day_fixture f;
    tst_proc_two_day_fixture_make(&f, "ucrash", 7);
    const char *work = f.work, *next = f.day[2];
    char *minus = update_file(f.days, "minus.parquet", -1), *plus = update_file(f.days, "plus.parquet", 7);

    uint64_t k = 1;
    for (;; k++) {
        tst_proc_copy_tree(f.fixture, work);
        int status = in_child(work, DO_UPDATE, minus, k);
        assert_true(status == TST_PROC_CRASHED || status == 0);
        tst_test_log_state now = tst_test_log_state_of(work);
        assert_true(now.version == 3 || now.version == 4);
        if (status == 0)
            assert_int_equal(now.version, 4);
        tst_test_assert_same_log_data(&f.before, &now);
        tst_test_log_state_clear(&now);
        /* Each key once; the old values before the commit, the new ones after. */
        assert_int_equal(in_child(work, DO_CHECK, now.version == 3 ? "0" : "2", 0), 0);

        /* A later update and an append go on. */
        assert_int_equal(in_child(work, DO_UPDATE, plus, 0), 0);
        assert_int_equal(in_child(work, DO_CHECK, "0", 0), 0);
        assert_int_equal(in_child(work, DO_APPEND, next, 0), 0);
        if (status == 0)
            break;
    }
    print_message("update crashed at each of %llu steps\n", (unsigned long long)k - 1);
    assert_true(k > 10);
    free(minus);
    free(plus);
    tst_proc_two_day_fixture_free(&f);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(an_update_killed_at_any_step_leaves_old_or_new_and_writable),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
