/*
 * test_migrate_crash.c — a migrating process killed at every step.
 *
 * For each durable step k of a migration (every create, write, fsync, link,
 * rename through the I/O layer), a child migrates a format_version-6 table
 * with a crash armed at step k and dies there. Afterwards the destination
 * either does not exist, or is the complete protocol-7 table: it opens at
 * the source's version with the same live segments and coverage pointer.
 * The source is never changed, and a fresh migration to the same destination
 * then succeeds (a staging folder left by the crash is not in its way; this is
 * checked after every tenth crash, to keep the test short). fsync is skipped
 * (TST_UNSAFE_NO_FSYNC): the steps are still counted and crashed, and a
 * process crash, unlike a power loss, does not depend on it.
 * The log is longer than TST_CHECKPOINT_INTERVAL, so the checkpoint steps
 * are crashed too.
 */
#include "process_support.h"

#include "tstable/migrate.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#define HEAD (TST_CHECKPOINT_INTERVAL + 2)

/* A v6 table: meta, one segment with a table coverage pointer, then meta commits. */
static char *make_source(const char *dir)
{
    char *root = tst_test_path(dir, "src");
    char actions[4096];
    snprintf(actions, sizeof actions, "[%s]", TST_TEST_META_ACTION);
    assert_int_equal(tst_test_write_commit(root, 1, actions), 0);
    char *seg = tst_test_add_segment_action("data/a.parquet", "NVDA", 0, 3600);
    char two[4096];
    snprintf(two, sizeof two, "[%s,{\"UpdateTableCoverage\":{\"index_kind\":{\"type\":"
             "\"timestamp\",\"bucket\":{\"Hours\":1}},\"coverage_path\":"
             "\"_coverage/table/2-t.roar\"}}]", seg);
    assert_int_equal(tst_test_write_commit(root, 2, two), 0);
    for (uint64_t v = 3; v <= HEAD; v++)
        assert_int_equal(tst_test_write_commit(root, v, actions), 0);
    assert_int_equal(tst_test_set_current(root, HEAD), 0);
    tst_test_put(root, "data/a.parquet", "segment bytes");
    tst_test_put(root, "_coverage/table/2-t.roar", "snapshot bytes");
    free(seg);
    return root;
}

typedef struct migration {
    const char *src, *dst;
} migration;

/* In the child (no table opened; any crash is armed by then). */
static int migrate(tst_table *unused, void *arg)
{
    (void)unused;
    const migration *m = arg;
    return tst_table_migrate(m->src, m->dst, NULL);
}

/* Migrates in a child with a crash armed at step k (0: none); its exit status. */
static int migrate_in_child(const char *src, const char *dst, uint64_t k)
{
    migration m = {src, dst};
    return tst_proc_run_crashing(NULL, k, migrate, &m);
}

/* The destination is absent, or the whole table: returns whether it exists. */
static bool check_destination(const char *dst)
{
    struct stat st;
    if (lstat(dst, &st) != 0)
        return false;
    tst_table *t = NULL;
    assert_tst_ok(tst_table_open(&t, dst));
    assert_int_equal(tst_table_version(t), HEAD);
    assert_int_equal(tst_table_get_meta(t)->protocol_version, 7);
    assert_int_equal(tst_table_segment_count(t), 1);
    assert_string_equal(tst_table_segment_at(t, 0)->path, "data/a.parquet");
    assert_string_equal(tst_table_coverage_path(t, NULL), "_coverage/table/2-t.roar");
    tst_table_free(t);
    char *data = tst_test_path(dst, "data/a.parquet"), *text = NULL;
    size_t len = 0;
    assert_int_equal(tst_test_read_file(data, &text, &len), 0);
    assert_string_equal(text, "segment bytes");
    free(text);
    free(data);
    return true;
}

static void test_a_migration_killed_at_any_step_leaves_no_table_or_the_whole_one(void **state)
{
    (void)state;
    setenv("TST_UNSAFE_NO_FSYNC", "1", 1);
    char *dir = tst_test_tmpdir("migrate-crash");
    char *src = make_source(dir), *dst = tst_test_path(dir, "dst");
    char *before = NULL, *c2 = tst_test_path(src, "_timeseries_log/0000000002.json");
    size_t len = 0;
    assert_int_equal(tst_test_read_file(c2, &before, &len), 0);
    uint64_t crashes = 0, complete = 0;
    for (uint64_t k = 1;; k++) {
        int status = migrate_in_child(src, dst, k);
        assert_true(status == TST_PROC_CRASHED || status == 0);
        bool exists = check_destination(dst);
        if (status == 0) {
            assert_true(exists);
            break;
        }
        crashes++;
        complete += exists;
        /* The source is untouched and the destination can be made again. */
        char *now = NULL;
        assert_int_equal(tst_test_read_file(c2, &now, &len), 0);
        assert_string_equal(now, before);
        free(now);
        if (exists)
            tst_test_rmtree(strdup(dst));
        if (k % 10 == 0) {
            assert_int_equal(migrate_in_child(src, dst, 0), 0);
            assert_true(check_destination(dst));
            tst_test_rmtree(strdup(dst));
        }
    }
    print_message("crashed at %llu steps; %llu of them after the destination was complete\n",
                  (unsigned long long)crashes, (unsigned long long)complete);
    assert_true(crashes > HEAD); /* every commit file is at least one step */
    free(before), free(c2), free(src), free(dst);
    tst_test_rmtree(dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_a_migration_killed_at_any_step_leaves_no_table_or_the_whole_one),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
