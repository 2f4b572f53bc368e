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

/* Commits one segment: in the child (crash armed) a made-up one numbered
 * version + 1000, in the parent the next, whose commit must report the
 * version the handle is at then. */
static int commit_one(tst_table *t, bool in_child)
{
    uint64_t n = tst_table_version(t) + (in_child ? 1000 : 1);
    char *actions = add_action(n);
    uint64_t v = 0;
    int rc = tst_table_commit_json(t, actions, in_child ? NULL : &v);
    if (!in_child && rc == 0)
        assert_int_equal(v, tst_table_version(t));
    free(actions);
    return rc;
}

static void run_rounds(uint64_t version_before_commit, int rounds)
{
    char actions[4096];
    snprintf(actions, sizeof actions, "[%s]", TST_TEST_META_ACTION);
    tst_proc_commit_crash c = {
        .tag = "crash", .what = "a commit", .first_actions = actions,
        .version_before = version_before_commit, .rounds = rounds,
        .min_steps = 8, /* a commit has at least this many durable steps */
        .op = commit_one,
    };
    tst_proc_commit_crash_rounds(&c);
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
