/*
 * test_append_crash.c — an appending process killed at every step.
 *
 * For each durable step k of an append (every create, write, fsync, link,
 * rename and unlink the library performs through its I/O layer), a child
 * appends one day of the sample with a crash armed at step k and dies there.
 * Afterwards the table must open at N or N+1; at N+1 the new segment's data
 * file and sidecars exist and the coverage shows the day; at N the day is
 * not covered. Either way the next append (of another day) succeeds, and
 * re-appending the crashed day succeeds exactly when it was not committed.
 *
 * The same for a zero-copy append (opts.move, the file hard-linked into the
 * table while it is measured): wherever it dies, the source file is still at
 * its name with its bytes unless the append committed, and a committed
 * append's data file is the source's inode, with all its bytes.
 */
#include "process_support.h"

#include "duck.h"
#include "tstable/append.h"
#include "tstable/table.h"
#include "tstable/table_coverage.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#define NVDA_CSV TST_SOURCE_DIR "/examples/data/nvda_1h_sample.csv"

/* Day d of the sample as a Parquet file, written by DuckDB in a child so
 * this process never starts an engine that later children would inherit. */
static char *day_file(const char *dir, int d)
{
    char name[32], sql[2048];
    snprintf(name, sizeof name, "day%d.parquet", d);
    char *path = tst_test_path(dir, name);
    snprintf(sql, sizeof sql,
             "COPY (SELECT * FROM read_csv('%s') WHERE ts >= TIMESTAMPTZ '2024-06-01' + "
             "INTERVAL %d DAY AND ts < TIMESTAMPTZ '2024-06-01' + INTERVAL %d DAY) TO '%s' "
             "(FORMAT parquet)",
             NVDA_CSV, d, d + 1, path);
    tst_test_duck_in_child(sql);
    return path;
}

/* In the child: append the file `arg` (any crash is armed by then). */
static int append_file(tst_table *t, void *arg)
{
    return tst_table_append_parquet(t, arg, NULL, NULL);
}

/* In the child: append `arg` with opts.move. */
static int move_file(tst_table *t, void *arg)
{
    tst_append_options opts = TST_APPEND_OPTIONS_INIT;
    opts.move = true;
    return tst_table_append_parquet(t, arg, &opts, NULL);
}

/* Runs `append file` in a child with a crash armed at step k (0: none).
 * Returns the child's exit status: 77 crashed, 0 appended. */
static int child_append(const char *root, const char *file, uint64_t k)
{
    return tst_proc_run_crashing(root, k, append_file, (void *)file);
}

static uint64_t covered_hours_of_day(const char *root, int d)
{
    tst_table *t = NULL;
    assert_tst_ok(tst_table_open(&t, root));
    tst_entity_binding nvda = {"symbol", {TST_ENTITY_UTF8, {{"NVDA", 4}}}};
    tst_index_value start = {TST_INDEX_TIMESTAMP, {{0, 0}}}, end = start;
    tst_timestamp_parse(&start.v.ts, "2024-06-01T00:00:00Z");
    start.v.ts.sec += d * 86400;
    end.v.ts.sec = start.v.ts.sec + 86400;
    tst_coverage_counts c;
    assert_tst_ok(tst_table_coverage(t, &nvda, 1, &start, &end, &c));
    tst_table_free(t);
    return c.covered_buckets;
}

static void an_append_killed_at_any_step_leaves_the_table_whole_and_writable(void **state)
{
    (void)state;
    char *base = tst_test_tmpdir("acrash");
    char *days = tst_test_path(base, "days");
    char *work = tst_test_path(base, "work");
    char *first = NULL, *crashed = NULL, *next = NULL;
    assert_int_equal(system(NULL) != 0, 1);
    char cmd[8192];
    snprintf(cmd, sizeof cmd, "mkdir -p '%s'", days);
    assert_int_equal(system(cmd), 0);
    first = day_file(days, 0);
    crashed = day_file(days, 1);
    next = day_file(days, 2);

    uint64_t k = 1;
    for (;; k++) {
        snprintf(cmd, sizeof cmd, "rm -rf '%s'", work);
        assert_int_equal(system(cmd), 0);
        tst_table *t = tst_test_create_table(work, "ts", "symbol", TST_TIME_HOURS, 1);
        tst_table_free(t);
        assert_int_equal(child_append(work, first, 0), 0);

        int status = child_append(work, crashed, k);
        assert_true(status == TST_PROC_CRASHED || status == 0);
        assert_tst_ok(tst_table_open(&t, work));
        uint64_t v = tst_table_version(t);
        tst_table_free(t);
        assert_true(v == 2 || v == 3);
        uint64_t hours = covered_hours_of_day(work, 1);
        assert_int_equal(hours, v == 3 ? 24 : 0);
        if (status == 0)
            assert_int_equal(v, 3);

        /* The next append always works, and the crashed day can be retried
         * exactly when it did not commit. */
        assert_int_equal(child_append(work, next, 0), 0);
        assert_int_equal(child_append(work, crashed, 0), v == 3 ? 4 : 0);
        assert_int_equal(covered_hours_of_day(work, 1), 24);
        if (status == 0)
            break;
    }
    print_message("append crashed at each of %llu steps\n", (unsigned long long)k - 1);
    assert_true(k > 10);
    free(first);
    free(crashed);
    free(next);
    free(days);
    free(work);
    tst_test_rmtree(base);
}

/* Zone-less day d: a file the table copies (or moves) as it is. */
static char *plain_day_file(const char *dir, int d)
{
    char name[32], sql[2048];
    snprintf(name, sizeof name, "plain%d.parquet", d);
    char *path = tst_test_path(dir, name);
    snprintf(sql, sizeof sql,
             "COPY (SELECT * REPLACE (timezone('UTC', ts) AS ts) FROM read_csv('%s') WHERE "
             "ts >= TIMESTAMPTZ '2024-06-01' + INTERVAL %d DAY AND ts < TIMESTAMPTZ "
             "'2024-06-01' + INTERVAL %d DAY) TO '%s' (FORMAT parquet)",
             NVDA_CSV, d, d + 1, path);
    tst_test_duck_in_child(sql);
    return path;
}

/* A file the table copies as it is (the copy runs while it is measured), or
 * moves (move): killed at every step. */
static void crash_every_step(bool move)
{
    char *base = tst_test_tmpdir("mcrash");
    char *days = tst_test_path(base, "days");
    char *work = tst_test_path(base, "work");
    char *hand = tst_test_path(base, "hand.parquet");
    char cmd[8192];
    snprintf(cmd, sizeof cmd, "mkdir -p '%s'", days);
    assert_int_equal(system(cmd), 0);
    char *first = plain_day_file(days, 0), *crashed = plain_day_file(days, 1);
    struct stat orig;
    assert_int_equal(stat(crashed, &orig), 0);

    uint64_t k = 1;
    int moved_steps = 0;
    for (;; k++) {
        snprintf(cmd, sizeof cmd, "rm -rf '%s' '%s' && cp '%s' '%s'", work, hand, crashed, hand);
        assert_int_equal(system(cmd), 0);
        struct stat h;
        assert_int_equal(stat(hand, &h), 0);
        tst_table *t = tst_test_create_table(work, "ts", "symbol", TST_TIME_HOURS, 1);
        tst_table_free(t);
        assert_int_equal(child_append(work, first, 0), 0);

        int status = tst_proc_run_crashing(work, k, move ? move_file : append_file, hand);
        assert_true(status == TST_PROC_CRASHED || status == 0);
        assert_tst_ok(tst_table_open(&t, work));
        uint64_t v = tst_table_version(t);
        tst_table_free(t);
        assert_true(v == 2 || v == 3);
        assert_int_equal(covered_hours_of_day(work, 1), v == 3 ? 24 : 0);
        struct stat now;
        bool there = stat(hand, &now) == 0;
        if (v == 2) { /* not committed: the file is where it was, whole */
            assert_true(there);
            assert_int_equal(now.st_size, orig.st_size);
        }
        if (there) /* committed or not, its bytes are intact */
            assert_int_equal(now.st_size, orig.st_size);
        if (!move)
            assert_true(there); /* a copy never touches its source */
        if (status == 0) {
            assert_int_equal(v, 3);
            assert_true(there == !move); /* moved, or copied and kept */
            break;
        }
        moved_steps += v == 3 && there;
        /* the table stays writable; the day goes in exactly when it did not commit */
        assert_int_equal(child_append(work, crashed, 0), v == 3 ? 4 : 0);
        assert_int_equal(covered_hours_of_day(work, 1), 24);
    }
    print_message("%s crashed at each of %llu steps (%d after its commit)\n",
                  move ? "move" : "copy", (unsigned long long)k - 1, moved_steps);
    assert_true(k > 10);
    assert_true(moved_steps >= 1); /* crashes between the commit and the end */
    free(first);
    free(crashed);
    free(hand);
    free(days);
    free(work);
    tst_test_rmtree(base);
}

static void a_copy_killed_at_any_step_leaves_the_table_whole(void **state)
{
    (void)state;
    crash_every_step(false);
}

static void a_move_killed_at_any_step_keeps_the_file_or_commits_it(void **state)
{
    (void)state;
    crash_every_step(true);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(an_append_killed_at_any_step_leaves_the_table_whole_and_writable),
        cmocka_unit_test(a_copy_killed_at_any_step_leaves_the_table_whole),
        cmocka_unit_test(a_move_killed_at_any_step_keeps_the_file_or_commits_it),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
