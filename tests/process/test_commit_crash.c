/*
 * test_commit_crash.c — a writer killed at every step of a commit.
 *
 * For each step k of a commit (every write, fsync, link, rename, unlink the
 * commit performs), a child process commits with a crash armed at step k
 * and dies there without any cleanup. Afterwards:
 *   - the table opens at N or N+1 (N+1 only if the commit file was published);
 *   - CURRENT parses and a version-6 reader, which replays 1..=CURRENT and
 *     trusts nothing else, can read the table;
 *   - the next commit succeeds, as version head+1.
 * Rounds: an ordinary commit, and the commit that writes a checkpoint
 * (version TST_CHECKPOINT_INTERVAL). Each round is repeated so that crashes
 * land on tables that already went through earlier crashes.
 */
#include "process_support.h"

#include "log.h"
#include "table_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static char *add_action(uint64_t n)
{
    char path[64];
    snprintf(path, sizeof path, "data/crash-%llu.parquet", (unsigned long long)n);
    char *seg = tst_test_add_segment_action(path, "NVDA", (long long)n * 3600, (long long)n * 3600);
    size_t cap = strlen(seg) + 3;
    char *actions = malloc(cap);
    snprintf(actions, cap, "[%s]", seg);
    free(seg);
    return actions;
}

/* In the child: commit one segment (the crash is armed by then). */
static int commit_one(tst_table *t, void *arg)
{
    (void)arg;
    return tst_table_commit_json(t, add_action(tst_table_version(t) + 1000), NULL);
}

/* One crash at step k on a copy of the template, then the checks. Returns 1
 * when the commit ran to the end without reaching step k. */
static int crash_at_step(const char *template_root, const char *work, uint64_t k)
{
    tst_proc_copy_tree(template_root, work);
    tst_table *t = NULL;
    assert_tst_ok(tst_table_open(&t, work));
    uint64_t before = tst_table_version(t);
    tst_table_free(t);

    int status = tst_proc_run_crashing(work, k, commit_one, NULL);
    assert_true(status == TST_PROC_CRASHED || status == 0);

    assert_tst_ok(tst_table_open(&t, work));
    uint64_t after = tst_table_version(t);
    assert_true(after == before || after == before + 1);
    if (status == 0)
        assert_int_equal(after, before + 1);
    /* A version-6 reader replays CURRENT, then 1..=CURRENT. */
    uint64_t current = tst_proc_assert_replay_reads(work);
    assert_true(current == before || current == after);

    char *actions = add_action(after + 1);
    uint64_t v = 0;
    assert_tst_ok(tst_table_commit_json(t, actions, &v));
    assert_int_equal(v, after + 1);
    free(actions);
    tst_table_free(t);
    assert_int_equal(tst_proc_assert_replay_reads(work), after + 1);
    return status == 0;
}

static void run_rounds(uint64_t version_before_commit, int rounds)
{
    char *base = tst_test_tmpdir("crash");
    char *template_root = tst_test_path(base, "template");
    char *work = tst_test_path(base, "work");
    char actions[4096];
    snprintf(actions, sizeof actions, "[%s]", TST_TEST_META_ACTION);
    tst_test_write_commit(template_root, 1, actions);
    tst_test_set_current(template_root, 1);
    tst_table *t = NULL;
    assert_tst_ok(tst_table_open(&t, template_root));
    while (tst_table_version(t) < version_before_commit)
        assert_tst_ok(tst_table_commit_json(t, "[]", NULL));
    tst_table_free(t);

    for (int round = 0; round < rounds; round++) {
        uint64_t k = 1;
        while (!crash_at_step(template_root, work, k))
            k++;
        print_message("round %d at version %llu: crashed at each of %llu steps\n", round,
                      (unsigned long long)version_before_commit + 1, (unsigned long long)k - 1);
        assert_true(k > 8); /* a commit has at least this many durable steps */
        /* The next round starts from the table this round left behind. */
        tst_proc_copy_tree(work, template_root);
    }
    free(template_root);
    free(work);
    tst_test_rmtree(base);
}

static void a_writer_killed_at_any_step_of_a_commit_never_wedges_the_table(void **state)
{
    (void)state;
    run_rounds(1, 3);
}

static void a_writer_killed_while_checkpointing_never_wedges_the_table(void **state)
{
    (void)state;
    run_rounds(TST_CHECKPOINT_INTERVAL - 1, 1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(a_writer_killed_at_any_step_of_a_commit_never_wedges_the_table),
        cmocka_unit_test(a_writer_killed_while_checkpointing_never_wedges_the_table),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
