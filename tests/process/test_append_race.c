/*
 * test_append_race.c — several processes append to one table at once.
 *
 * Disjoint data: every append must succeed, each as its own version, the
 * losers of each commit race rebasing by themselves (the first append even
 * races on adopting the schema). The same window: exactly one append wins
 * and every other process gets TST_EOVERLAP, and no file of a loser stays
 * behind.
 */
#include "process_support.h"

#include "duck.h"
#include "tstable/append.h"
#include "tstable/table.h"
#include "tstable/table_coverage.h"

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define WRITERS 4
#define NVDA_CSV TST_SOURCE_DIR "/examples/data/nvda_1h_sample.csv"

static void create_table(const char *root)
{
    tst_table_free(tst_test_create_table(root, "ts", "symbol", TST_TIME_HOURS, 1));
}

/* Day d of the sample (0-based) as its own Parquet file. */
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
    /* In a child: the appenders forked later must each start their own
     * engine, not inherit a copy of a running one. */
    tst_test_duck_in_child(sql);
    return path;
}

typedef struct appenders {
    const char *root;
    char **files;
} appenders;

/* Appender w, in its own child: 0 on success, 10 + -code on failure. */
static int run_appender(int w, void *arg)
{
    const appenders *a = arg;
    tst_table *t = NULL;
    int rc = tst_table_open(&t, a->root);
    if (rc == 0)
        rc = tst_table_append_parquet(t, a->files[w], NULL, NULL);
    if (rc != 0 && rc != TST_EOVERLAP)
        fprintf(stderr, "appender %d: %s\n", w, tst_error_last()->message);
    tst_table_free(t);
    return rc == 0 ? 0 : 10 - rc;
}

/* Forks one appender per file; all start together when the gate opens.
 * codes[w] gets appender w's result: 0 or its error code. */
static void run_appenders(const char *root, char **files, int *codes)
{
    appenders a = {root, files};
    tst_proc_run_gated(WRITERS, run_appender, &a, codes);
    for (int w = 0; w < WRITERS; w++)
        codes[w] = codes[w] == 0 ? 0 : 10 - codes[w];
}

static int count_dir(const char *root, const char *rel)
{
    char *dir = tst_test_path(root, rel);
    DIR *d = opendir(dir);
    free(dir);
    if (!d)
        return 0;
    int n = 0;
    struct dirent *e;
    while ((e = readdir(d)) != NULL)
        n += e->d_name[0] != '.';
    closedir(d);
    return n;
}

static void disjoint_appends_from_several_processes_all_commit(void **state)
{
    (void)state;
    char *root = tst_test_tmpdir("arace");
    char *dir = tst_test_tmpdir("arace-src");
    create_table(root);
    char *files[WRITERS];
    for (int w = 0; w < WRITERS; w++)
        files[w] = day_file(dir, w);
    int codes[WRITERS];
    run_appenders(root, files, codes);
    for (int w = 0; w < WRITERS; w++)
        assert_int_equal(codes[w], 0);

    tst_table *t = NULL;
    assert_tst_ok(tst_table_open(&t, root));
    assert_int_equal(tst_table_version(t), 1 + WRITERS);
    assert_int_equal(tst_table_segment_count(t), WRITERS);
    tst_entity_binding nvda = {"symbol", {TST_ENTITY_UTF8, {{"NVDA", 4}}}};
    tst_index_value start = {TST_INDEX_TIMESTAMP, {{0, 0}}}, end = start;
    tst_timestamp_parse(&start.v.ts, "2024-06-01T00:00:00Z");
    tst_timestamp_parse(&end.v.ts, "2024-06-05T00:00:00Z");
    tst_coverage_counts c;
    assert_tst_ok(tst_table_coverage(t, &nvda, 1, &start, &end, &c));
    assert_int_equal(c.covered_buckets, 24 * WRITERS);
    /* One data file and one segment sidecar per segment: losers cleaned up. */
    assert_int_equal(count_dir(root, "data/_managed/append"), WRITERS); /* protocol 7 */
    assert_int_equal(count_dir(root, "_coverage/segments"), WRITERS);
    tst_table_free(t);
    for (int w = 0; w < WRITERS; w++)
        free(files[w]);
    tst_test_rmtree(dir);
    tst_test_rmtree(root);
}

static void the_same_window_from_several_processes_commits_exactly_once(void **state)
{
    (void)state;
    char *root = tst_test_tmpdir("arace");
    char *dir = tst_test_tmpdir("arace-src");
    create_table(root);
    char *day = day_file(dir, 2);
    char *files[WRITERS];
    for (int w = 0; w < WRITERS; w++)
        files[w] = day;
    int codes[WRITERS];
    run_appenders(root, files, codes);
    int won = 0, overlapped = 0;
    for (int w = 0; w < WRITERS; w++) {
        won += codes[w] == 0;
        overlapped += codes[w] == TST_EOVERLAP;
    }
    assert_int_equal(won, 1);
    assert_int_equal(overlapped, WRITERS - 1);
    tst_table *t = NULL;
    assert_tst_ok(tst_table_open(&t, root));
    assert_int_equal(tst_table_version(t), 2);
    assert_int_equal(count_dir(root, "data/_managed/append"), 1); /* protocol 7 */
    assert_int_equal(count_dir(root, "_coverage/segments"), 1);
    assert_int_equal(count_dir(root, "_coverage/table"), 1);
    tst_table_free(t);
    free(day);
    tst_test_rmtree(dir);
    tst_test_rmtree(root);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(disjoint_appends_from_several_processes_all_commit),
        cmocka_unit_test(the_same_window_from_several_processes_commits_exactly_once),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
