/*
 * test_long_log.c — a table with a long log opens from its checkpoint.
 *
 * Builds 5,000 commits (one segment each; fsync skipped to build the fixture
 * quickly), then checks that open reads the latest checkpoint and replays
 * only the commits after it — by hiding every commit file the checkpoint
 * covers — and that the result equals a full replay. Timings are printed
 * for information, never asserted: bench/ measures them.
 */
#include "testsupport.h"

#include "log.h"
#include "table_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define COMMITS 5000

static double now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

static void build_log(const char *root)
{
    char actions[4096];
    snprintf(actions, sizeof actions, "[%s]", TST_TEST_META_ACTION);
    tst_test_write_commit(root, 1, actions);
    tst_test_set_current(root, 1);
    tst_table *t = NULL;
    assert_tst_ok(tst_table_open(&t, root));
    for (int i = 0; i < COMMITS; i++) {
        char path[64];
        snprintf(path, sizeof path, "data/s%06d.parquet", i);
        char *seg = tst_test_add_segment_action(path, i % 2 ? "NVDA" : "AAPL", i * 3600LL,
                                                i * 3600LL + 1800);
        snprintf(actions, sizeof actions, "[%s]", seg);
        free(seg);
        assert_tst_ok(tst_table_commit_json(t, actions, NULL));
    }
    tst_table_free(t);
}

static void a_long_log_opens_from_its_checkpoint_with_the_same_state(void **state)
{
    (void)state;
    setenv("TST_UNSAFE_NO_FSYNC", "1", 1);
    char *root = tst_test_tmpdir("longlog");
    double t0 = now_ms();
    build_log(root);
    double built = now_ms() - t0;

    tst_table *from_checkpoint = NULL;
    t0 = now_ms();
    assert_tst_ok(tst_table_open(&from_checkpoint, root));
    double open_cp = now_ms() - t0;
    assert_int_equal(tst_table_version(from_checkpoint), COMMITS + 1);
    assert_int_equal(tst_table_segment_count(from_checkpoint), COMMITS);

    /* Full replay: hide the checkpoint pointer. */
    char *pointer = tst_test_path(root, "_timeseries_log/_last_checkpoint");
    char *hidden = tst_test_path(root, "pointer.hidden");
    assert_int_equal(rename(pointer, hidden), 0);
    tst_table *replayed = NULL;
    t0 = now_ms();
    assert_tst_ok(tst_table_open(&replayed, root));
    double open_full = now_ms() - t0;
    assert_int_equal(rename(hidden, pointer), 0);
    for (size_t i = 0; i < COMMITS; i++) {
        const tst_segment *a = tst_table_segment_at(from_checkpoint, i);
        const tst_segment *b = tst_table_segment_at(replayed, i);
        assert_string_equal(a->path, b->path);
        assert_int_equal(a->row_count, b->row_count);
        assert_int_equal(a->index_min.v.ts.sec, b->index_min.v.ts.sec);
    }

    /* Proof that the checkpoint is what open reads: hide every commit it covers. */
    uint64_t last_cp = (COMMITS + 1) / TST_CHECKPOINT_INTERVAL * TST_CHECKPOINT_INTERVAL;
    for (uint64_t v = 1; v <= last_cp; v++) {
        char *p = tst_log_commit_path(root, v);
        unlink(p);
        free(p);
    }
    tst_table *again = NULL;
    assert_tst_ok(tst_table_open(&again, root));
    assert_int_equal(tst_table_segment_count(again), COMMITS);

    print_message("%d commits built in %.0f ms; open from checkpoint %.1f ms, full replay %.1f ms\n",
                  COMMITS, built, open_cp, open_full);
    tst_table_free(again);
    tst_table_free(from_checkpoint);
    tst_table_free(replayed);
    free(pointer);
    free(hidden);
    tst_test_rmtree(root);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(a_long_log_opens_from_its_checkpoint_with_the_same_state),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
