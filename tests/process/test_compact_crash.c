/*
 * test_compact_crash.c — a compacting process killed at every step.
 *
 * For each durable step k of a compaction (every create, write, fsync,
 * link, rename and unlink through the I/O layer), a child compacts a copy
 * of a table with two mixed segments (NVDA and AAPL, two days), with a
 * crash armed at step k, and dies there. Afterwards the table must open at
 * its old version or the next one; either way its rows (the log's row
 * counts) and its coverage are what they were, every live segment's data
 * file and sidecar exist, and before the commit the two mixed segments are
 * live, after it two single-entity ones (one per symbol, both days merged).
 * A second compaction then finishes the job or finds it done, and an
 * append still commits. The parent never starts DuckDB.
 */
#include "process_support.h"

#include "tstable/append.h"
#include "tstable/optimize.h"
#include "tstable/table.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef enum { DO_APPEND, DO_COMPACT } child_op;

typedef struct child_job {
    child_op op;
    const char *file;
} child_job;

static int child_body(tst_table *t, void *arg)
{
    const child_job *j = arg;
    if (j->op == DO_APPEND)
        return tst_table_append_parquet(t, j->file, NULL, NULL);
    tst_optimize_options opts = TST_OPTIMIZE_OPTIONS_INIT;
    opts.mode = TST_OPTIMIZE_COMPACT;
    return tst_table_optimize(t, &opts, NULL);
}

/* Exit status of the child: 77 crashed, 0 done, 4 failed. */
static int in_child(const char *root, child_op op, const char *file, uint64_t k)
{
    child_job j = {op, file};
    return tst_proc_run_crashing(root, k, child_body, &j);
}

static size_t segments_of(const char *root)
{
    tst_table *t = NULL;
    assert_int_equal(tst_table_open(&t, root), 0);
    size_t n = tst_table_segment_count(t);
    tst_table_free(t);
    return n;
}

static void crash_rounds(uint32_t protocol, const char *tag)
{
    tst_proc_two_day_fixture f;
    tst_proc_two_day_fixture_make(&f, tag, protocol);
    const char *work = f.work, *next = f.day[2];
    const tst_test_log_state *before = &f.before;
    assert_int_equal(before->mixed, 2);

    uint64_t k = 1;
    for (;; k++) {
        tst_proc_copy_tree(f.fixture, work);
        int status = in_child(work, DO_COMPACT, NULL, k);
        assert_true(status == TST_PROC_CRASHED || status == 0);
        tst_test_log_state now = tst_test_log_state_of(work);
        assert_true(now.version == 3 || now.version == 4);
        assert_int_equal(now.mixed, now.version == 3 ? 2 : 0);
        assert_int_equal(segments_of(work), 2);
        tst_test_assert_same_log_data(before, &now);
        if (status == 0)
            assert_int_equal(now.version, 4);
        tst_test_log_state_clear(&now);

        /* Compacting again finishes the job (or finds it done); appends go on. */
        assert_int_equal(in_child(work, DO_COMPACT, NULL, 0), 0);
        tst_test_log_state done = tst_test_log_state_of(work);
        assert_int_equal(done.mixed, 0);
        assert_int_equal(done.version, 4);
        assert_int_equal(segments_of(work), 2);
        tst_test_assert_same_log_data(before, &done);
        tst_test_log_state_clear(&done);
        assert_int_equal(in_child(work, DO_APPEND, next, 0), 0);
        tst_test_log_state appended = tst_test_log_state_of(work);
        assert_int_equal(appended.version, 5);
        tst_test_log_state_clear(&appended);
        if (status == 0)
            break;
    }
    print_message("compaction (protocol %u) crashed at each of %llu steps\n", protocol,
                  (unsigned long long)k - 1);
    assert_true(k > 10);
    tst_proc_two_day_fixture_free(&f);
}

static void a_compaction_killed_at_any_step_leaves_a_v7_table_whole_and_writable(void **state)
{
    (void)state;
    crash_rounds(7, "ccrash7");
}

static void a_compaction_killed_at_any_step_leaves_a_v6_table_whole_and_writable(void **state)
{
    (void)state;
    crash_rounds(6, "ccrash6");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(a_compaction_killed_at_any_step_leaves_a_v7_table_whole_and_writable),
        cmocka_unit_test(a_compaction_killed_at_any_step_leaves_a_v6_table_whole_and_writable),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
