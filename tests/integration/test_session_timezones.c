/*
 * test_session_timezones.c — the report's SQL findings, reproduced:
 *   1  pruning reads zone-less literals (and DATE / TIMESTAMP values) in the
 *      session's TimeZone, the way DuckDB reads them, so a pruned statement
 *      returns the rows of the unpruned one in every zone;
 *   4  EXPLAIN [ANALYZE] prunes its inner statement and reports its numbers;
 *  15  registering a table opens and checks no data file: a query whose range
 *      excludes a missing segment works, one that needs it fails naming it;
 * and what keeps pruning honest when a statement reaches a table through a
 * view, a macro or query('...'): every segment is read.
 *
 * Fixture (the report's "tzr"): the NVDA sample (2024-06-01 .. 06-10, hourly,
 * UTC) as one segment and the same rows ten days later as a second one.
 */
#include "testsupport.h"

#include "duck.h"
#include "tstable/append.h"
#include "tstable/session.h"
#include "tstable/table.h"

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define NVDA_CSV TST_SOURCE_DIR "/examples/data/nvda_1h_sample.csv"

typedef tst_test_session_fixture fixture;

static int setup(void **state)
{
    fixture *f = calloc(1, sizeof *f);
    f->dir = tst_test_tmpdir("tz");
    f->root = tst_test_path(f->dir, "tzr");
    tst_table *t = tst_test_create_table(f->root, "ts", "symbol", TST_TIME_HOURS, 1);
    assert_tst_ok(tst_table_append_csv(t, NVDA_CSV, NULL, NULL, NULL));
    char *later = tst_test_nvda_parquet(
        f->dir, "june11_20.parquet", "SELECT ts + INTERVAL 10 DAY AS ts, * EXCLUDE (ts) FROM nvda");
    assert_tst_ok(tst_table_append_parquet(t, later, NULL, NULL));
    assert_int_equal(tst_table_segment_count(t), 2);
    tst_table_free(t);
    free(later);
    assert_tst_ok(tst_session_open(&f->s));
    assert_tst_ok(tst_session_register_table(f->s, "tzr", f->root));
    *state = f;
    return 0;
}

/* Runs a statement and reads every row (SET, CREATE, ...). */
static void run(tst_session *s, const char *sql)
{
    tst_rows *rows = NULL;
    assert_tst_ok(tst_session_query_rows(s, sql, NULL, 0, &rows));
    int rc;
    while ((rc = tst_rows_next(rows)) == 1)
        ;
    assert_int_equal(rc, 0);
    tst_rows_free(rows);
}

/* Checks a statement's first value and the segments it kept (of `of`). */
static void expect(tst_session *s, const char *sql, const tst_param *p, size_t n,
                   const char *want, uint64_t kept, uint64_t of)
{
    char *got = tst_test_first_value(s, sql, p, n);
    tst_prune_stats st;
    tst_session_last_prune(s, &st);
    if (strcmp(got, want) != 0 || st.kept_segments != kept || st.candidate_segments != of)
        print_error("%s\n got %s kept %llu of %llu, want %s kept %llu of %llu\n", sql, got,
                    (unsigned long long)st.kept_segments,
                    (unsigned long long)st.candidate_segments, want, (unsigned long long)kept,
                    (unsigned long long)of);
    assert_string_equal(got, want);
    assert_int_equal(st.kept_segments, kept);
    assert_int_equal(st.candidate_segments, of);
    free(got);
}


/* The data file of the segment whose first row is at `min` (RFC 3339). */
static char *segment_file(const char *root, const char *min, char **relative)
{
    tst_table *t = NULL;
    assert_tst_ok(tst_table_open(&t, root));
    char *path = NULL;
    for (size_t i = 0; i < tst_table_segment_count(t); i++) {
        const tst_segment *seg = tst_table_segment_at(t, i);
        char text[64];
        tst_index_value_format(&seg->index_min, text, sizeof text);
        if (strcmp(text, min) == 0) {
            path = tst_test_path(root, seg->path);
            if (relative)
                *relative = strdup(seg->path);
        }
    }
    tst_table_free(t);
    assert_non_null(path);
    return path;
}

/* ---- finding 1 ------------------------------------------------------------ */

static void test_finding_1_new_york_range_across_utc_midnight_keeps_both_segments(void **state)
{
    fixture *f = *state;
    run(f->s, "SET TimeZone = 'America/New_York'");
    /* 18:00-22:00 New York is 22:00-02:00 UTC: two rows in each segment. */
    expect(f->s, "SELECT count(*) FROM tzr WHERE ts >= '2024-06-10 18:00:00' AND "
                 "ts < '2024-06-10 22:00:00'", NULL, 0, "4", 2, 2);
    expect(f->s, "SELECT count(*) FROM tzr WHERE ts + INTERVAL 0 SECOND >= "
                 "'2024-06-10 18:00:00'::TIMESTAMPTZ AND ts + INTERVAL 0 SECOND < "
                 "'2024-06-10 22:00:00'::TIMESTAMPTZ", NULL, 0, "4", 2, 2);
    tst_param p[2] = {tst_test_text_param(NULL, "2024-06-10 18:00:00"),
                      tst_test_text_param(NULL, "2024-06-10 22:00:00")};
    expect(f->s, "SELECT count(*) FROM tzr WHERE ts >= $1 AND ts < $2", p, 2, "4", 2, 2);
    /* Before 2024-06-11 in New York is before 04:00 UTC on the 11th. */
    expect(f->s, "SELECT count(*) FROM tzr WHERE ts < '2024-06-11'", NULL, 0, "244", 2, 2);
    expect(f->s, "SELECT count(*) FROM tzr WHERE ts < DATE '2024-06-11'", NULL, 0, "244", 2, 2);
    expect(f->s, "SELECT count(*) FROM tzr WHERE ts < TIMESTAMP '2024-06-11 00:00:00'", NULL, 0,
           "244", 2, 2);
    expect(f->s, "SELECT count(*) FROM tzr WHERE ts < '2024-06-11'::DATE", NULL, 0, "244", 2, 2);
    /* One New York day inside the second segment still prunes the first. */
    expect(f->s, "SELECT count(*) FROM tzr WHERE ts >= '2024-06-15' AND ts < '2024-06-16'", NULL,
           0, "24", 1, 2);
}

static void literals_with_a_zone_or_offset_are_read_as_duckdb_reads_them(void **state)
{
    fixture *f = *state;
    run(f->s, "SET TimeZone = 'Asia/Kolkata'");
    /* 2024-06-11 00:00 in Kolkata is 2024-06-10 18:30 UTC: 5 more rows. */
    expect(f->s, "SELECT count(*) FROM tzr WHERE ts >= '2024-06-11'", NULL, 0, "245", 2, 2);
    expect(f->s, "SELECT count(*) FROM tzr WHERE ts >= '2024-06-11 00:00:00 UTC'", NULL, 0, "240",
           1, 2);
    expect(f->s, "SELECT count(*) FROM tzr WHERE ts < '2024-06-10 21:00:00 America/New_York'",
           NULL, 0, "241", 2, 2);
    expect(f->s, "SELECT count(*) FROM tzr WHERE ts < TIMESTAMPTZ '2024-06-11 00:00:00+05:30'",
           NULL, 0, "235", 1, 2);
    expect(f->s, "SELECT count(*) FROM tzr WHERE ts >= '2024-06-11T00:00:00Z'", NULL, 0, "240", 1,
           2);
    /* Back in UTC, the same text means UTC again. */
    run(f->s, "SET TimeZone = 'UTC'");
    expect(f->s, "SELECT count(*) FROM tzr WHERE ts >= '2024-06-11'", NULL, 0, "240", 1, 2);
}

/* ---- finding 26 ----------------------------------------------------------- */

static void test_finding_26_now_date_casts_or_and_in_prune(void **state)
{
    fixture *f = *state;
    /* The data is from June 2024: nothing is newer than a day before now. */
    expect(f->s, "SELECT count(*) FROM tzr WHERE ts > now() - INTERVAL 1 DAY", NULL, 0, "0", 0,
           2);
    expect(f->s, "SELECT count(*) FROM tzr WHERE ts >= current_timestamp - INTERVAL '30 days'",
           NULL, 0, "0", 0, 2);
    expect(f->s, "SELECT count(*) FROM tzr WHERE ts > get_current_timestamp()", NULL, 0, "0", 0,
           2);
    expect(f->s, "SELECT count(*) FROM tzr WHERE ts < now()", NULL, 0, "480", 2, 2);
    /* A function of now() that is not an offset prunes nothing. */
    expect(f->s, "SELECT count(*) FROM tzr WHERE ts > date_trunc('year', now()) - INTERVAL 1000 "
                 "DAY", NULL, 0, "480", 2, 2);
    expect(f->s, "SELECT count(*) FROM tzr WHERE ts::DATE = DATE '2024-06-15'", NULL, 0, "24", 1,
           2);
    expect(f->s, "SELECT count(*) FROM tzr WHERE CAST(ts AS DATE) BETWEEN '2024-06-12' AND "
                 "'2024-06-13'", NULL, 0, "48", 1, 2);
    expect(f->s, "SELECT count(*) FROM tzr WHERE ts::DATE < '2024-06-11'", NULL, 0, "240", 1, 2);
    expect(f->s, "SELECT count(*) FROM tzr WHERE ts::DATE > '2024-06-10'", NULL, 0, "240", 1, 2);
    /* OR and IN: every match lies in the hull of the alternatives' ranges. */
    expect(f->s, "SELECT count(*) FROM tzr WHERE ts::DATE = '2024-06-12' OR ts::DATE = "
                 "'2024-06-14'", NULL, 0, "48", 1, 2);
    expect(f->s, "SELECT count(*) FROM tzr WHERE ts IN ('2024-06-12 05:00:00', "
                 "'2024-06-18 07:00:00')", NULL, 0, "2", 1, 2);
    expect(f->s, "SELECT count(*) FROM tzr WHERE ts < '2024-06-02' OR ts >= '2024-06-20'",
           NULL, 0, "48", 2, 2);
    expect(f->s, "SELECT count(*) FROM tzr WHERE (ts < '2024-06-02' AND ts > '2024-06-03') OR "
                 "ts >= '2024-06-20'", NULL, 0, "24", 1, 2);
    /* Mixed IN types, or an alternative the planner cannot read, prune nothing. */
    expect(f->s, "SELECT count(*) FROM tzr WHERE ts IN ('2024-06-12 05:00:00', "
                 "TIMESTAMP '2024-06-18 07:00:00')", NULL, 0, "2", 2, 2);
    expect(f->s, "SELECT count(*) FROM tzr WHERE ts >= '2024-06-12' OR close > 0", NULL, 0,
           "480", 2, 2);
    /* In New York the local day 06-10 runs into the second segment. */
    run(f->s, "SET TimeZone = 'America/New_York'");
    expect(f->s, "SELECT count(*) FROM tzr WHERE ts::DATE = '2024-06-10'", NULL, 0, "24", 2, 2);
    expect(f->s, "SELECT count(*) FROM tzr WHERE ts::DATE = '2024-06-15'", NULL, 0, "24", 1, 2);
    expect(f->s, "SELECT count(*) FROM tzr WHERE ts::DATE <= '2024-06-10'", NULL, 0, "244", 2, 2);
}

/* ---- finding 4 ------------------------------------------------------------ */

static void test_finding_4_explain_prunes_the_inner_statement_and_reports_it(void **state)
{
    fixture *f = *state;
    const char *forms[] = {
        "EXPLAIN SELECT count(*) FROM tzr WHERE ts >= '2024-06-15'",
        "explain analyze select count(*) from tzr where ts >= '2024-06-15'",
        "  -- the plan\n EXPLAIN ANALYSE SELECT count(*) FROM tzr WHERE ts >= '2024-06-15'",
        "EXPLAIN (FORMAT json) SELECT count(*) FROM tzr WHERE ts >= '2024-06-15'",
        "EXPLAIN (SELECT count(*) FROM tzr WHERE ts >= '2024-06-15')",
    };
    /* The first segment's file is gone: EXPLAIN ANALYZE runs the statement, so
     * it only works if the inner statement was pruned. */
    char *first = segment_file(f->root, "2024-06-01T00:00:00Z", NULL);
    assert_int_equal(unlink(first), 0);
    free(first);
    for (size_t i = 0; i < sizeof forms / sizeof forms[0]; i++) {
        char *plan = tst_test_first_value(f->s, forms[i], NULL, 0);
        tst_prune_stats st;
        tst_session_last_prune(f->s, &st);
        if (st.kept_segments != 1)
            print_error("%s: kept %llu\n", forms[i], (unsigned long long)st.kept_segments);
        assert_int_equal(st.candidate_segments, 2);
        assert_int_equal(st.kept_segments, 1);
        free(plan);
    }
    /* What the pruner cannot read after EXPLAIN keeps everything. */
    tst_rows *rows = NULL;
    assert_tst_fails(tst_session_query_rows(f->s, "EXPLAIN SELECT count(*) FROM tzr", NULL, 0,
                                            &rows),
                     TST_ENOTFOUND);
}

/* ---- finding 15 ----------------------------------------------------------- */

static void test_finding_15_a_missing_segment_fails_only_the_queries_that_need_it(void **state)
{
    fixture *f = *state;
    char *relative = NULL;
    char *file = segment_file(f->root, "2024-06-01T00:00:00Z", &relative);
    char *root = realpath(f->root, NULL), *first = tst_test_path(root, relative);
    assert_int_equal(unlink(file), 0);
    tst_session *s = NULL;
    assert_tst_ok(tst_session_open(&s));
    assert_tst_ok(tst_session_register_table(s, "tzr2", f->root));
    expect(s, "SELECT count(*) FROM tzr2 WHERE ts >= '2024-06-12'", NULL, 0, "216", 1, 2);
    tst_rows *rows = NULL;
    assert_tst_fails(tst_session_query_rows(s, "SELECT count(*) FROM tzr2", NULL, 0, &rows),
                     TST_ENOTFOUND);
    const char *msg = tst_error_last()->message;
    if (!strstr(msg, first) || !strstr(msg, relative) || !strstr(msg, "'tzr2'"))
        print_error("message: %s\n", msg);
    assert_non_null(strstr(msg, first));
    assert_non_null(strstr(msg, relative));
    assert_non_null(strstr(msg, "'tzr2'"));
    assert_string_equal(tst_error_last()->path, first);
    /* A view over the table can be defined; reading it needs every file. */
    run(s, "CREATE TEMP VIEW all_of_it AS SELECT * FROM tzr2");
    assert_tst_fails(tst_session_query_rows(s, "SELECT count(*) FROM all_of_it", NULL, 0, &rows),
                     TST_ENOTFOUND);
    assert_non_null(strstr(tst_error_last()->message, "'tzr2'"));
    assert_string_equal(tst_error_last()->path, first);
    expect(s, "SELECT count(*) FROM tzr2 WHERE ts >= '2024-06-12'", NULL, 0, "216", 1, 2);
    tst_session_free(s);
    free(first), free(relative), free(file), free(root);
}

static double now_ms(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec * 1e3 + (double)t.tv_nsec / 1e6;
}

/* 1,000 segments whose files do not exist at all: registering touches none
 * of them, and a statement that needs none of them answers. */
static void registering_a_thousand_segment_table_touches_no_data_file(void **state)
{
    fixture *f = *state;
    char *root = tst_test_path(f->dir, "big");
    char actions[4096];
    snprintf(actions, sizeof actions, "[%s]", TST_TEST_META_ACTION);
    assert_int_equal(tst_test_write_commit(root, 1, actions), 0);
    tst_sql all = {0};
    SQL_F(&all, "[");
    for (int i = 0; i < 1000; i++) {
        char path[64];
        snprintf(path, sizeof path, "data/s%06d.parquet", i);
        char *seg = tst_test_add_segment_action(path, "NVDA", 1717200000LL + i * 3600LL,
                                                1717200000LL + i * 3600LL + 1800);
        SQL_F(&all, "%s%s", i ? "," : "", seg);
        free(seg);
    }
    SQL_F(&all, "]");
    assert_int_equal(tst_test_write_commit(root, 2, all.s), 0);
    assert_int_equal(tst_test_set_current(root, 2), 0);
    free(all.s);
    double t0 = now_ms();
    assert_tst_ok(tst_session_register_table(f->s, "big", root));
    print_message("registering 1000 segments: %.1f ms\n", now_ms() - t0);
    expect(f->s, "SELECT count(*) FROM big WHERE ts < '2024-01-01'", NULL, 0, "0", 0, 1000);
    tst_rows *rows = NULL;
    assert_tst_fails(tst_session_query_rows(f->s, "SELECT count(*) FROM big WHERE ts >= "
                                                  "'2024-06-01 05:00:00' AND ts < "
                                                  "'2024-06-01 05:10:00'", NULL, 0, &rows),
                     TST_ENOTFOUND);
    assert_non_null(strstr(tst_error_last()->message, "data/s000005.parquet"));
    free(root);
}

/* ---- what pruning cannot see ---------------------------------------------- */

static void views_macros_and_query_strings_read_every_segment(void **state)
{
    fixture *f = *state;
    run(f->s, "CREATE TEMP VIEW everything AS SELECT * FROM tzr");
    run(f->s, "CREATE OR REPLACE TEMP VIEW latest AS SELECT * FROM everything WHERE close > 0");
    run(f->s, "CREATE MACRO tzr_rows() AS TABLE SELECT * FROM tzr");
    run(f->s, "CREATE TEMP VIEW \"Quoted View\" AS SELECT * FROM tzr");
    expect(f->s, "SELECT count(*) FROM tzr WHERE ts >= '2024-06-15'", NULL, 0, "144", 1, 2);
    expect(f->s, "SELECT count(*) FROM everything", NULL, 0, "480", 2, 2);
    expect(f->s, "SELECT count(*) FROM tzr WHERE ts >= '2024-06-15'", NULL, 0, "144", 1, 2);
    expect(f->s, "SELECT count(*) FROM latest", NULL, 0, "480", 2, 2);
    /* Named beside the view, the table still reads everything for the view. */
    expect(f->s, "SELECT (SELECT count(*) FROM everything) - (SELECT count(*) FROM tzr WHERE ts "
                 ">= '2024-06-15')", NULL, 0, "336", 2, 2);
    expect(f->s, "SELECT count(*) FROM tzr WHERE ts >= '2024-06-15'", NULL, 0, "144", 1, 2);
    expect(f->s, "SELECT count(*) FROM tzr_rows()", NULL, 0, "480", 2, 2);
    expect(f->s, "SELECT count(*) FROM tzr WHERE ts >= '2024-06-15'", NULL, 0, "144", 1, 2);
    expect(f->s, "SELECT * FROM query('SELECT count(*) FROM tzr')", NULL, 0, "480", 2, 2);
    expect(f->s, "SELECT count(*) FROM tzr WHERE ts >= '2024-06-15'", NULL, 0, "144", 1, 2);
    expect(f->s, "SELECT count(*) FROM \"Quoted View\"", NULL, 0, "480", 2, 2);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(
            test_finding_1_new_york_range_across_utc_midnight_keeps_both_segments, setup,
            tst_test_session_teardown),
        cmocka_unit_test_setup_teardown(
            literals_with_a_zone_or_offset_are_read_as_duckdb_reads_them, setup,
            tst_test_session_teardown),
        cmocka_unit_test_setup_teardown(test_finding_26_now_date_casts_or_and_in_prune, setup,
                                        tst_test_session_teardown),
        cmocka_unit_test_setup_teardown(
            test_finding_4_explain_prunes_the_inner_statement_and_reports_it, setup,
            tst_test_session_teardown),
        cmocka_unit_test_setup_teardown(
            test_finding_15_a_missing_segment_fails_only_the_queries_that_need_it, setup,
            tst_test_session_teardown),
        cmocka_unit_test_setup_teardown(
            registering_a_thousand_segment_table_touches_no_data_file, setup,
            tst_test_session_teardown),
        cmocka_unit_test_setup_teardown(views_macros_and_query_strings_read_every_segment, setup,
                                        tst_test_session_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
