/*
 * test_append_modes_crash.c — an append with --on-overlap skip or replace
 * killed at every step.
 *
 * The fixture: two mixed segments (days 0 and 1, NVDA and AAPL, 96 rows).
 *   skip: AAPL's day 1 is deleted first (version 4, 72 rows); then day 1
 *     (both symbols) is appended with skip: NVDA's 24 rows are left out,
 *     AAPL's 24 are filtered into a new segment (version 5, 96 rows).
 *   replace: NVDA's day 1 alone (a file of its 24 rows, new values) is
 *     appended with replace: day 1's segment is rewritten keeping AAPL's
 *     rows, and the new segment added, in one commit (version 4, 96 rows).
 * For each durable step k, a child runs the append on a copy with a crash
 * armed at step k. Afterwards the table opens at the old version or the
 * next one, its log data (rows, coverage) are the old ones or exactly those
 * of an uncrashed run, a reader replaying the log reads it, and a query
 * sees each (symbol, ts) once; the operation is run again if it had not
 * committed, and an append of day 2 commits. Both protocols. The parent
 * never starts DuckDB.
 */
#include "process_support.h"

#include "tstable/append.h"
#include "tstable/delete.h"
#include "tstable/session.h"
#include "tstable/table.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

typedef enum { DO_APPEND, DO_SKIP, DO_REPLACE, DO_DELETE_AAPL_DAY1, DO_COUNT, DO_NVDA_FILE } child_op;

typedef struct child_job {
    const char *root;
    child_op op;
    const char *file; /* the source; DO_COUNT: the expected row count; DO_NVDA_FILE: from,to */
    const char *to;
} child_job;

static int append_mode(tst_table *t, const char *file, tst_overlap_mode mode)
{
    tst_append_options opts = TST_APPEND_OPTIONS_INIT;
    opts.on_overlap = mode;
    tst_append_result res;
    int rc = tst_table_append_parquet(t, file, &opts, &res);
    if (rc == 0 && mode == TST_OVERLAP_SKIP && (res.rows != 24 || res.rows_skipped != 24))
        return 6;
    if (rc == 0 && mode == TST_OVERLAP_REPLACE &&
        (res.rows_replaced != 24 || res.segments_rewritten != 1 || res.segments_removed != 0))
        return 7;
    return rc;
}

static int delete_aapl_day1(tst_table *t)
{
    tst_entity_binding aapl = tst_test_symbol("AAPL");
    tst_delete_target target = {&aapl, 1, tst_test_ts("2024-06-02T00:00:00Z"),
                                tst_test_ts("2024-06-03T00:00:00Z")};
    return tst_table_delete_rows(t, &target, 1, NULL, NULL);
}

static int child_body(tst_table *t, void *arg)
{
    const child_job *j = arg;
    if (j->op == DO_NVDA_FILE) {
        char sql[4096];
        snprintf(sql, sizeof sql, "COPY (SELECT * REPLACE (close + 1000 AS close) FROM "
                 "read_parquet('%s') WHERE symbol = 'NVDA') TO '%s' (FORMAT parquet)",
                 j->file, j->to);
        tst_session *s = NULL;
        if (tst_session_open(&s) != 0)
            _exit(3);
        tst_test_first_value(s, sql, NULL, 0);
        _exit(access(j->to, R_OK) == 0 ? 0 : 5);
    }
    if (j->op == DO_COUNT) {
        tst_session *s = NULL;
        if (tst_session_open(&s) != 0 || tst_session_register_table(s, "t", j->root) != 0)
            _exit(3);
        char *v = tst_test_first_value(s, "SELECT count(*) || '/' || count(DISTINCT (symbol, ts))"
                                          " FROM t", NULL, 0);
        char want[64];
        snprintf(want, sizeof want, "%s/%s", j->file, j->file);
        _exit(strcmp(v, want) == 0 ? 0 : 5);
    }
    switch (j->op) {
    case DO_SKIP: return append_mode(t, j->file, TST_OVERLAP_SKIP);
    case DO_REPLACE: return append_mode(t, j->file, TST_OVERLAP_REPLACE);
    case DO_DELETE_AAPL_DAY1: return delete_aapl_day1(t);
    default: return tst_table_append_parquet(t, j->file, NULL, NULL);
    }
}

static int in_child(const char *root, child_op op, const char *file, uint64_t k)
{
    child_job j = {root, op, file, NULL};
    return tst_proc_run_crashing(root, op == DO_COUNT ? 0 : k, child_body, &j);
}

typedef struct scenario {
    child_op op;
    const char *source;
    uint64_t version; /* before the append */
    const char *rows; /* before and after: the same count */
} scenario;

static void crash_at_every_step(const tst_proc_two_day_fixture *f, const char *template,
                                const scenario *s, const char *what)
{
    const char *work = f->work;
    tst_proc_copy_tree(template, work);
    tst_test_log_state before = tst_test_log_state_of(work);
    assert_int_equal(before.version, s->version);
    assert_int_equal(in_child(work, s->op, s->source, 0), 0);
    tst_test_log_state after = tst_test_log_state_of(work);
    assert_int_equal(after.version, s->version + 1);
    assert_int_equal(after.rows, 96);

    uint64_t k = 1;
    for (;; k++) {
        tst_proc_copy_tree(template, work);
        int status = in_child(work, s->op, s->source, k);
        assert_true(status == TST_PROC_CRASHED || status == 0);
        tst_test_log_state now = tst_test_log_state_of(work);
        bool old = now.version == s->version;
        assert_true(old || now.version == s->version + 1);
        if (status == 0)
            assert_false(old);
        tst_test_assert_same_log_data(old ? &before : &after, &now);
        uint64_t current = tst_proc_assert_replay_reads(work);
        assert_true(current == s->version || current == now.version);
        assert_int_equal(in_child(work, DO_COUNT, old ? s->rows : "96", 0), 0);
        if (old)
            assert_int_equal(in_child(work, s->op, s->source, 0), 0);
        assert_int_equal(in_child(work, DO_APPEND, f->day[2], 0), 0);
        assert_int_equal(in_child(work, DO_COUNT, "144", 0), 0);
        tst_test_log_state_clear(&now);
        if (status == 0)
            break;
    }
    print_message("%s crashed at each of %llu steps\n", what, (unsigned long long)k - 1);
    assert_true(k > 8);
    tst_test_log_state_clear(&before);
    tst_test_log_state_clear(&after);
}

static void skip_and_replace_killed_at_any_step(uint32_t protocol, const char *tag)
{
    tst_proc_two_day_fixture f;
    tst_proc_two_day_fixture_make(&f, tag, protocol);
    /* skip: from the fixture less AAPL's day 1 */
    char *prepped = tst_test_path(f.base, "prepped");
    tst_proc_copy_tree(f.fixture, prepped);
    assert_int_equal(in_child(prepped, DO_DELETE_AAPL_DAY1, NULL, 0), 0);
    scenario skip = {DO_SKIP, f.day[1], 4, "72"};
    crash_at_every_step(&f, prepped, &skip, protocol == 7 ? "skip (protocol 7)"
                                                          : "skip (protocol 6)");
    /* replace: NVDA's day 1 with new values */
    char *nvda = tst_test_path(f.days, "nvda1.parquet");
    child_job j = {NULL, DO_NVDA_FILE, f.day[1], nvda};
    assert_int_equal(tst_proc_run_crashing(NULL, 0, child_body, &j), 0);
    scenario replace = {DO_REPLACE, nvda, 3, "96"};
    crash_at_every_step(&f, f.fixture, &replace, protocol == 7 ? "replace (protocol 7)"
                                                               : "replace (protocol 6)");
    free(nvda);
    free(prepped);
    tst_proc_two_day_fixture_free(&f);
}

static void skip_and_replace_killed_at_any_step_leave_old_or_new_and_writable_v7(void **state)
{
    (void)state;
    skip_and_replace_killed_at_any_step(7, "mcrash7");
}

static void skip_and_replace_killed_at_any_step_leave_old_or_new_and_writable_v6(void **state)
{
    (void)state;
    skip_and_replace_killed_at_any_step(6, "mcrash6");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(skip_and_replace_killed_at_any_step_leave_old_or_new_and_writable_v7),
        cmocka_unit_test(skip_and_replace_killed_at_any_step_leave_old_or_new_and_writable_v6),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
