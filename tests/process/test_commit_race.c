/*
 * test_commit_race.c — many processes commit to one table at once.
 *
 * 8 processes each commit 50 segments, refreshing and retrying whenever they
 * lose. Exactly 400 new versions must result, numbered without gap or
 * duplicate, each holding one segment; every lost attempt must have been
 * reported as TST_ECONFLICT (never a storage error) with a found version
 * later than the expected one.
 */
#include "process_support.h"

#include "log.h"
#include "table_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define WRITERS 8
#define COMMITS_EACH 50

typedef struct writer_report {
    int wrong_errors;   /* failures other than a well-formed conflict */
    int conflicts;
    uint64_t won[COMMITS_EACH];
} writer_report;

static int commit_one(tst_table *t, int writer, int i, writer_report *rep, int *done)
{
    char path[64];
    snprintf(path, sizeof path, "data/w%d-%d.parquet", writer, i);
    char *seg = tst_test_add_segment_action(path, "NVDA", (long long)(writer * 1000 + i) * 3600,
                                            (long long)(writer * 1000 + i) * 3600);
    char actions[2048];
    snprintf(actions, sizeof actions, "[%s]", seg);
    free(seg);
    uint64_t expected = tst_table_version(t), v = 0;
    int rc = tst_table_commit_json(t, actions, &v);
    if (rc == 0) {
        rep->won[(*done)++] = v;
        return 0;
    }
    const tst_error *e = tst_error_last();
    if (rc != TST_ECONFLICT || e->expected_version != expected || e->found_version <= expected) {
        fprintf(stderr, "writer %d: unexpected %s: %s\n", writer, tst_error_name(rc), e->message);
        rep->wrong_errors++;
    }
    rep->conflicts++;
    return tst_table_refresh(t, NULL);
}

/* One writer's commits, in its own child (tst_proc_writer). */
static int run_writer(int writer, void *report, void *arg)
{
    writer_report *rep = report;
    tst_table *t = NULL;
    if (tst_table_open(&t, arg) != 0)
        return 3;
    int done = 0;
    while (done < COMMITS_EACH && rep->wrong_errors < 10)
        if (commit_one(t, writer, done, rep, &done) != 0)
            rep->wrong_errors++;
    tst_table_free(t);
    return 0;
}

static void eight_processes_commit_400_versions_without_gap_or_duplicate(void **state)
{
    (void)state;
    char *root = tst_test_tmpdir("race");
    char actions[4096];
    snprintf(actions, sizeof actions, "[%s]", TST_TEST_META_ACTION);
    assert_int_equal(tst_test_write_commit(root, 1, actions), 0);
    assert_int_equal(tst_test_set_current(root, 1), 0);

    static writer_report reps[WRITERS];
    tst_proc_run_writers(WRITERS, run_writer, root, reps, sizeof reps[0]);
    static char seen[WRITERS * COMMITS_EACH + 2];
    int conflicts = 0;
    for (int w = 0; w < WRITERS; w++) {
        const writer_report *rep = &reps[w];
        assert_int_equal(rep->wrong_errors, 0);
        conflicts += rep->conflicts;
        tst_proc_mark_won(seen, WRITERS * COMMITS_EACH + 1, rep->won, COMMITS_EACH);
    }
    print_message("400 commits by %d writers, %d conflicts retried\n", WRITERS, conflicts);

    tst_table *t = NULL;
    assert_tst_ok(tst_table_open(&t, root));
    assert_int_equal(tst_table_version(t), 1 + WRITERS * COMMITS_EACH);
    assert_int_equal(tst_table_segment_count(t), WRITERS * COMMITS_EACH);
    for (uint64_t v = 2; v <= 1 + WRITERS * COMMITS_EACH; v++) {
        tst_commit c;
        assert_tst_ok(tst_log_load_commit(root, v, &c));
        assert_int_equal(c.action_count, 1);
        tst_commit_clear(&c);
    }
    char *next = tst_log_commit_path(root, 2 + WRITERS * COMMITS_EACH);
    assert_false(tst_test_exists(next));
    free(next);
    tst_table_free(t);
    tst_test_rmtree(root);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(eight_processes_commit_400_versions_without_gap_or_duplicate),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
