/*
 * test_delete_crash.c — a deleting process killed at every step.
 *
 * For each durable step k of a delete (every create, write, fsync, link,
 * rename and unlink through the I/O layer), a child deletes from a copy of
 * a table (two mixed segments of days 0 and 1, NVDA and AAPL) with a crash
 * armed at step k, and dies there. The delete takes AAPL's day 0 (a rewrite
 * of the first segment) and every entity's day 1 (the second removed whole).
 * Afterwards the table must open at its old version or the next one; its
 * rows (the log's row counts) and coverage are the old ones or exactly
 * those of an uncrashed delete, every live segment's data file and sidecar
 * exist, and a query sees the rows of that version, each key once. The
 * delete is then run again if it had not committed, and an append into
 * the deleted range (day 1) and a new day (day 2) both commit. Both
 * protocols. The parent never starts DuckDB: every step that needs it runs
 * in a child.
 */
#include "process_support.h"

#include "sidecar.h"
#include "tstable/append.h"
#include "tstable/delete.h"
#include "tstable/session.h"
#include "tstable/table.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

typedef enum { DO_APPEND, DO_DELETE, DO_COUNT } child_op;

typedef struct child_job {
    const char *root;
    child_op op;
    const char *file;  /* DO_APPEND: the file; DO_COUNT: the expected row count */
} child_job;

static int delete_days(tst_table *t)
{
    tst_entity_binding aapl = tst_test_symbol("AAPL");
    tst_delete_target targets[2];
    memset(targets, 0, sizeof targets);
    targets[0].entity = &aapl;
    targets[0].entity_count = 1;
    targets[0].start = tst_test_ts("2024-06-01T00:00:00Z");
    targets[0].end = tst_test_ts("2024-06-02T00:00:00Z");
    targets[1].start = tst_test_ts("2024-06-02T00:00:00Z");
    targets[1].end = tst_test_ts("2024-06-03T00:00:00Z");
    tst_delete_report rep;
    int rc = tst_table_delete_rows(t, targets, 2, NULL, &rep);
    if (rc == 0 && (rep.rows_deleted != 72 || rep.segments_rewritten != 1 ||
                    rep.segments_removed != 1))
        return 6;
    return rc;
}

static int child_body(tst_table *t, void *arg)
{
    const child_job *j = arg;
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
    if (j->op == DO_APPEND)
        return tst_table_append_parquet(t, j->file, NULL, NULL);
    return delete_days(t);
}

/* Runs one operation in a child with a crash armed at step k (0: none).
 * Returns the exit status: 77 crashed, 0 done, 4 failed, 5 check failed. */
static int in_child(const char *root, child_op op, const char *file, uint64_t k)
{
    child_job j = {root, op, file};
    return tst_proc_run_crashing(root, op == DO_COUNT ? 0 : k, child_body, &j);
}

static void crash_at_every_step(uint32_t protocol, const char *tag)
{
    tst_proc_two_day_fixture f;
    tst_proc_two_day_fixture_make(&f, tag, protocol);
    const char *work = f.work;
    /* what an uncrashed delete leaves */
    tst_proc_copy_tree(f.fixture, work);
    assert_int_equal(in_child(work, DO_DELETE, NULL, 0), 0);
    tst_test_log_state after = tst_test_log_state_of(work);
    assert_int_equal(after.version, 4);
    assert_int_equal(after.rows, 24);

    uint64_t k = 1;
    for (;; k++) {
        tst_proc_copy_tree(f.fixture, work);
        int status = in_child(work, DO_DELETE, NULL, k);
        assert_true(status == TST_PROC_CRASHED || status == 0);
        tst_test_log_state now = tst_test_log_state_of(work);
        assert_true(now.version == 3 || now.version == 4);
        if (status == 0)
            assert_int_equal(now.version, 4);
        tst_test_assert_same_log_data(now.version == 3 ? &f.before : &after, &now);
        /* a reader trusting CURRENT alone reads the old version or the new one */
        uint64_t current = tst_proc_assert_replay_reads(work);
        assert_true(current == 3 || current == now.version);
        assert_int_equal(in_child(work, DO_COUNT, now.version == 3 ? "96" : "24", 0), 0);
        /* the next writes go on: the delete if it had not committed, then an
         * append into the deleted range and one of a new day */
        if (now.version == 3)
            assert_int_equal(in_child(work, DO_DELETE, NULL, 0), 0);
        assert_int_equal(in_child(work, DO_APPEND, f.day[1], 0), 0);
        assert_int_equal(in_child(work, DO_APPEND, f.day[2], 0), 0);
        assert_int_equal(in_child(work, DO_COUNT, "120", 0), 0);
        tst_test_log_state_clear(&now);
        if (status == 0)
            break;
    }
    print_message("delete (protocol %u) crashed at each of %llu steps\n", protocol,
                  (unsigned long long)k - 1);
    assert_true(k > 8);
    tst_test_log_state_clear(&after);
    tst_proc_two_day_fixture_free(&f);
}

static void a_delete_killed_at_any_step_leaves_old_or_new_and_writable_v7(void **state)
{
    (void)state;
    crash_at_every_step(7, "dcrash7");
}

static void a_delete_killed_at_any_step_leaves_old_or_new_and_writable_v6(void **state)
{
    (void)state;
    crash_at_every_step(6, "dcrash6");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(a_delete_killed_at_any_step_leaves_old_or_new_and_writable_v7),
        cmocka_unit_test(a_delete_killed_at_any_step_leaves_old_or_new_and_writable_v6),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
