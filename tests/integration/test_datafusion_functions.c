/*
 * test_datafusion_functions.c — date_bin, to_unixtime, to_date and
 * to_timestamp_seconds/_millis/_micros/_nanos in every session
 * (src/sql/datafusion_functions.c): the results DataFusion's documentation
 * gives for its own examples, in a UTC and a New York session (a zone-less
 * text is UTC and a TIMESTAMPTZ is binned on its UTC instant, whatever the
 * session's TimeZone), floors before the epoch, NULLs, the refusals, and
 * date_bin against DuckDB's time_bucket on random zone-less timestamps.
 */
#include "testsupport.h"

#include "tstable/session.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void expect(tst_session *s, const char *expr, const char *want)
{
    char sql[1024];
    snprintf(sql, sizeof sql, "SELECT CAST(%s AS VARCHAR)", expr);
    char *got = tst_test_first_value(s, sql, NULL, 0);
    if (!got || strcmp(got, want) != 0)
        print_error("%s\n  got  %s\n  want %s\n", expr, got ? got : "(null)", want);
    assert_non_null(got);
    assert_string_equal(got, want);
    free(got);
}

static void expect_error(tst_session *s, const char *sql, const char *part)
{
    tst_rows *rows = NULL;
    int rc = tst_session_query_rows(s, sql, NULL, 0, &rows);
    while (rc == 0 && (rc = tst_rows_next(rows)) > 0)
        ;
    tst_rows_free(rows);
    assert_true(rc < 0);
    assert_non_null(strstr(tst_error_last()->message, part));
}

/* The examples of DataFusion's documentation, with the results it shows. */
static void documented_examples(tst_session *s)
{
    const char *values = "(VALUES ('2023-01-01T18:18:18Z'), ('2023-01-03T19:00:03Z')) t(time)";
    char sql[512];
    snprintf(sql, sizeof sql, "SELECT string_agg(CAST(date_bin(INTERVAL '1 day', time) AS "
                              "VARCHAR), ' ' ORDER BY time) FROM %s", values);
    char *got = tst_test_first_value(s, sql, NULL, 0);
    assert_string_equal(got, "2023-01-01 00:00:00 2023-01-03 00:00:00");
    free(got);
    snprintf(sql, sizeof sql, "SELECT string_agg(CAST(date_bin(INTERVAL '1 day', time, "
                              "'2001-01-01T05:00:00Z') AS VARCHAR), ' ' ORDER BY time) FROM %s",
             values);
    got = tst_test_first_value(s, sql, NULL, 0);
    assert_string_equal(got, "2023-01-01 05:00:00 2023-01-03 05:00:00");
    free(got);
    expect(s, "date_bin(INTERVAL '15 minutes', TIMESTAMP '2023-01-03 19:00:03', "
              "'2001-01-01T00:02:30')", "2023-01-03 18:47:30");
    expect(s, "to_unixtime('2020-09-08T12:00:00+00:00')", "1599566400");
    const char *t = "'2023-01-31T09:26:56.123456789-05:00'";
    char e[128];
    snprintf(e, sizeof e, "to_timestamp_seconds(%s)", t);
    expect(s, e, "2023-01-31 14:26:56");
    snprintf(e, sizeof e, "to_timestamp_millis(%s)", t);
    expect(s, e, "2023-01-31 14:26:56.123");
    snprintf(e, sizeof e, "to_timestamp_micros(%s)", t);
    expect(s, e, "2023-01-31 14:26:56.123456");
    snprintf(e, sizeof e, "to_timestamp_nanos(%s)", t);
    expect(s, e, "2023-01-31 14:26:56.123456789");
    expect(s, "to_date('2023-01-31')", "2023-01-31");
    /* the reference's own DATAFUSION.md forms */
    expect(s, "to_timestamp_millis(1704672000123)", "2024-01-08 00:00:00.123");
    expect(s, "to_unixtime(TIMESTAMPTZ '2024-01-08 00:00:00+00')", "1704672000");
}

static void zone_independence_floors_and_nulls(tst_session *s)
{
    /* a TIMESTAMPTZ bins on its UTC instant: New York's evening is the next UTC day */
    expect(s, "epoch(date_bin(INTERVAL '1 day', TIMESTAMPTZ '2023-01-01 20:00:00-05'))",
           "1672617600.0");
    expect(s, "to_date(TIMESTAMPTZ '2023-01-01 20:00:00-05')", "2023-01-02");
    expect(s, "to_unixtime('2024-01-01 00:00:00')", "1704067200"); /* no offset: UTC */
    expect(s, "to_unixtime(DATE '2024-01-01')", "1704067200");
    /* floors, not truncation, before the epoch */
    expect(s, "to_unixtime(TIMESTAMP '1969-12-31 23:59:59.5')", "-1");
    expect(s, "date_bin(INTERVAL '1 hour', TIMESTAMP '1969-12-31 23:30:00')",
           "1969-12-31 23:00:00");
    expect(s, "to_date(-1)", "1969-12-31");
    expect(s, "to_timestamp_seconds(TIMESTAMP '1969-12-31 23:59:59.5')", "1969-12-31 23:59:59");
    expect(s, "coalesce(CAST(date_bin(INTERVAL '1 hour', NULL::TIMESTAMP) AS VARCHAR), 'null')",
           "null");
    expect(s, "coalesce(CAST(to_date(NULL::VARCHAR) AS VARCHAR), 'null')", "null");
}

static void answers_in(const char *zone)
{
    tst_session *s = NULL;
    assert_tst_ok(tst_session_open(&s));
    char set[96];
    snprintf(set, sizeof set, "SET TimeZone = '%s'", zone);
    tst_rows *rows = NULL;
    assert_tst_ok(tst_session_query_rows(s, set, NULL, 0, &rows));
    while (tst_rows_next(rows) > 0)
        ;
    tst_rows_free(rows);
    documented_examples(s);
    zone_independence_floors_and_nulls(s);
    tst_session_free(s);
}

static void answers_match_datafusion_in_utc(void **state)
{
    (void)state;
    answers_in("UTC");
}

static void answers_match_datafusion_in_new_york(void **state)
{
    (void)state;
    answers_in("America/New_York");
}

static void refusals_say_what_to_write(void **state)
{
    (void)state;
    tst_session *s = NULL;
    assert_tst_ok(tst_session_open(&s));
    expect_error(s, "SELECT date_bin(INTERVAL 1 MONTH, TIMESTAMP '2024-01-01')",
                 "strides of months or years are not supported");
    expect_error(s, "SELECT date_bin(INTERVAL '-1 hour', TIMESTAMP '2024-01-01')",
                 "the stride must be positive");
    expect_error(s, "SELECT to_date('31/01/2023')", "cannot read '31/01/2023' as a time");
    tst_session_free(s);
}

/* date_bin agrees with DuckDB's time_bucket on zone-less timestamps, for
 * random instants, strides and origins (both before and after the epoch). */
static void date_bin_matches_time_bucket(void **state)
{
    (void)state;
    tst_session *s = NULL;
    assert_tst_ok(tst_session_open(&s));
    char *n = tst_test_first_value(
        s,
        "SELECT count(*) FILTER (WHERE date_bin(stride, t, o) IS DISTINCT FROM "
        "time_bucket(stride, t, o)) || '/' || count(*) FROM (SELECT "
        "to_microseconds(CAST(1 + random() * 3e9 AS BIGINT)) + to_days(CAST(random() * 3 AS "
        "INTEGER)) AS stride, make_timestamp(CAST((random() - 0.5) * 4e15 AS BIGINT)) AS t, "
        "make_timestamp(CAST((random() - 0.5) * 4e15 AS BIGINT)) AS o FROM range(5000))",
        NULL, 0);
    assert_string_equal(n, "0/5000");
    free(n);
    tst_session_free(s);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(answers_match_datafusion_in_utc),
        cmocka_unit_test(answers_match_datafusion_in_new_york),
        cmocka_unit_test(refusals_say_what_to_write),
        cmocka_unit_test(date_bin_matches_time_bucket),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
