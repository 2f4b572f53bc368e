/*
 * test_optimize_crash.c — an optimizing process killed at every step.
 *
 * For each durable step k of an optimize (every create, write, fsync, link,
 * rename and unlink through the I/O layer), a child optimizes a copy of a
 * table with two mixed segments, with a crash armed at step k, and dies
 * there. Afterwards the table must open at its old version or the next one;
 * either way its rows (the log's row counts) and its coverage are what they
 * were, every live segment's data file and sidecar exist, and before the
 * commit the mixed segments are still live, after it none is. A second
 * optimize then succeeds (or is a no-op) and an append still commits.
 * The parent never starts DuckDB: every step that needs it runs in a child.
 */
#include "process_support.h"

#include "sidecar.h"
#include "tstable/append.h"
#include "tstable/optimize.h"
#include "tstable/table.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef enum { DO_APPEND, DO_OPTIMIZE } child_op;

typedef struct child_job {
    child_op op;
    const char *file;
} child_job;

/* The operation of in_child, in the child (any crash is armed by then). */
static int child_body(tst_table *t, void *arg)
{
    const child_job *j = arg;
    return j->op == DO_APPEND ? tst_table_append_parquet(t, j->file, NULL, NULL)
                              : tst_table_optimize(t, NULL, NULL);
}

/* Runs one operation in a child with a crash armed at step k (0: none).
 * Returns its exit status: 77 crashed, 0 done, 4 failed. */
static int in_child(const char *root, child_op op, const char *file, uint64_t k)
{
    child_job j = {op, file};
    return tst_proc_run_crashing(root, k, child_body, &j);
}

static void an_optimize_killed_at_any_step_leaves_the_table_whole_and_writable(void **state)
{
    (void)state;
    tst_proc_two_day_fixture f;
    tst_proc_two_day_fixture_make(&f, "ocrash", 0);
    const char *work = f.work, *next = f.day[2];
    const tst_test_log_state *before = &f.before;
    assert_int_equal(before->mixed, 2);

    uint64_t k = 1;
    for (;; k++) {
        tst_proc_copy_tree(f.fixture, work);
        int status = in_child(work, DO_OPTIMIZE, NULL, k);
        assert_true(status == TST_PROC_CRASHED || status == 0);
        tst_test_log_state now = tst_test_log_state_of(work);
        assert_true(now.version == 3 || now.version == 4);
        assert_int_equal(now.mixed, now.version == 3 ? 2 : 0);
        tst_test_assert_same_log_data(before, &now);
        if (status == 0)
            assert_int_equal(now.version, 4);
        tst_test_log_state_clear(&now);

        /* Optimizing again finishes the job (or finds it done); appends go on. */
        assert_int_equal(in_child(work, DO_OPTIMIZE, NULL, 0), 0);
        tst_test_log_state done = tst_test_log_state_of(work);
        assert_int_equal(done.mixed, 0);
        assert_int_equal(done.version, 4);
        tst_test_assert_same_log_data(before, &done);
        tst_test_log_state_clear(&done);
        assert_int_equal(in_child(work, DO_APPEND, next, 0), 0);
        if (status == 0)
            break;
    }
    print_message("optimize crashed at each of %llu steps\n", (unsigned long long)k - 1);
    assert_true(k > 10);
    tst_proc_two_day_fixture_free(&f);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(an_optimize_killed_at_any_step_leaves_the_table_whole_and_writable),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
