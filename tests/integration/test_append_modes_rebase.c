/*
 * test_append_modes_rebase.c — an append with on_overlap skip or replace
 * that another writer gets ahead of, deterministically: the other writer's
 * append runs right before the first commit attempt (the append's test
 * hook), so the attempt conflicts and the append must recompute what the
 * table covers at the new version.
 *
 * Data: the NVDA sample (240 hourly bars, 2024-06-01 .. 06-10), split by day.
 */
#include "testsupport.h"

#include "tstable/append.h"
#include "tstable/table.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct fixture {
    char *root, *dir, *d1, *d2, *d1to3;
    tst_table *t;
} fixture;

/* A table holding day 1 (06-01), and source files. */
static void setup(fixture *f, const char *tag)
{
    f->root = tst_test_tmpdir(tag);
    f->dir = tst_test_tmpdir("modes-src");
    f->d1 = tst_test_nvda_parquet(f->dir, "d1.parquet", "SELECT * FROM nvda WHERE ts < '2024-06-02'");
    f->d2 = tst_test_nvda_parquet(f->dir, "d2.parquet", "SELECT * FROM nvda WHERE ts >= "
                                  "'2024-06-02' AND ts < '2024-06-03'");
    f->d1to3 = tst_test_nvda_parquet(f->dir, "d123.parquet", "SELECT * REPLACE (close + 1000 AS "
                                     "close) FROM nvda WHERE ts < '2024-06-04'");
    f->t = tst_test_create_table(f->root, "ts", "symbol", TST_TIME_HOURS, 1);
    assert_tst_ok(tst_table_append_parquet(f->t, f->d1, NULL, NULL));
}

static void teardown(fixture *f)
{
    tst_table_free(f->t);
    free(f->d1);
    free(f->d2);
    free(f->d1to3);
    tst_test_rmtree(f->dir);
    tst_test_rmtree(f->root);
}

/* Appends `file` with `mode` while another writer appends `other` first. */
static int raced(fixture *f, const char *file, const char *other, tst_overlap_mode mode,
                 tst_append_result *res)
{
    tst_test_interloper in = {f->root, other, -1};
    tst_test_interloper_arm(&in);
    tst_append_options opts = TST_APPEND_OPTIONS_INIT;
    opts.on_overlap = mode;
    memset(res, 0, sizeof *res);
    int rc = tst_table_append_parquet(f->t, file, &opts, res);
    tst_test_interloper_disarm();
    assert_tst_ok(in.rc);
    return rc;
}

static void a_skip_filters_again_what_the_other_writer_covered_meanwhile(void **state)
{
    (void)state;
    fixture f;
    setup(&f, "mskip");
    tst_append_result res;
    assert_tst_ok(raced(&f, f.d1to3, f.d2, TST_OVERLAP_SKIP, &res));
    assert_int_equal(res.attempts, 2);
    assert_int_equal(res.version, 4);
    /* planned with day 1 covered (24 skipped); at the new version day 2 is too */
    assert_int_equal(res.rows, 24);
    assert_int_equal(res.rows_skipped, 48);
    assert_int_equal(res.buckets_skipped, 48);
    tst_test_assert_sql("72|72|24",
                        "SELECT count(*) || '|' || count(DISTINCT ts) || '|' || "
                        "sum(CAST(close > 1000 AS INT)) FROM read_parquet('%s/data/**/*.parquet')",
                        f.root);
    /* the first attempt's file was removed: one data file per commit */
    char *data = tst_test_path(f.root, "data/_managed/append");
    assert_int_equal(tst_test_count_files(data), 3);
    free(data);
    teardown(&f);
}

static void a_skip_that_the_other_writer_covered_entirely_ends_as_a_no_op(void **state)
{
    (void)state;
    fixture f;
    setup(&f, "mskipnoop");
    tst_append_result res;
    assert_tst_ok(raced(&f, f.d2, f.d2, TST_OVERLAP_SKIP, &res));
    assert_true(res.no_op);
    assert_int_equal(res.version, 3); /* the other writer's */
    assert_int_equal(res.rows_skipped, 24);
    assert_int_equal(tst_table_version(f.t), 3);
    char *data = tst_test_path(f.root, "data/_managed/append");
    assert_int_equal(tst_test_count_files(data), 2);
    free(data);
    char *snaps = tst_test_path(f.root, "_coverage/table");
    assert_int_equal(tst_test_count_files(snaps), 2);
    free(snaps);
    teardown(&f);
}

static void a_replace_plans_its_removal_again_at_the_new_version(void **state)
{
    (void)state;
    fixture f;
    setup(&f, "mrepl");
    tst_append_result res;
    /* planned to replace day 1; by the commit day 2 is stored too, and is replaced as well */
    assert_tst_ok(raced(&f, f.d1to3, f.d2, TST_OVERLAP_REPLACE, &res));
    assert_int_equal(res.attempts, 2);
    assert_int_equal(res.version, 4);
    assert_int_equal(res.rows, 72);
    assert_int_equal(res.rows_replaced, 48);
    assert_int_equal(res.buckets_replaced, 48);
    assert_int_equal(res.segments_removed, 2);
    assert_int_equal(tst_table_segment_count(f.t), 1);
    tst_table *fresh = NULL;
    assert_tst_ok(tst_table_open(&fresh, f.root));
    assert_int_equal(tst_table_segment_count(fresh), 1);
    tst_table_free(fresh);
    char *v = tst_test_table_value(f.root, "SELECT count(*) || '|' || count(DISTINCT ts) || '|' "
                                           "|| min(close > 1000) FROM t");
    assert_string_equal(v, "72|72|true");
    free(v);
    teardown(&f);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(a_skip_filters_again_what_the_other_writer_covered_meanwhile),
        cmocka_unit_test(a_skip_that_the_other_writer_covered_entirely_ends_as_a_no_op),
        cmocka_unit_test(a_replace_plans_its_removal_again_at_the_new_version),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
