/*
 * test_calendar.c — calendars (tstable/calendar.h): the spec grammar and
 * its refusals (with positions), holiday files (errors name file:line),
 * expected buckets on hand-checked weeks (sessions in a zone, past
 * midnight, DST nights, early closes, closed ranges), and the bucket-level
 * questions on hand-made sets. Random tables against a naive model are in
 * python/tests/test_calendar_differential.py.
 */
#include "testsupport.h"
#include "tstable/calendar.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const tst_index_kind HOURLY = {TST_INDEX_TIMESTAMP, {TST_TIME_HOURS, 1}, 0, "", 7};
static const tst_index_kind MINUTES = {TST_INDEX_TIMESTAMP, {TST_TIME_MINUTES, 1}, 0, "", 7};

static uint64_t bucket_at(const tst_index_kind *kind, const char *text)
{
    tst_index_value v = tst_test_ts(text);
    uint64_t b = 0;
    assert_tst_ok(tst_bucket_of(kind, &v, &b));
    return b;
}

/* Expected buckets of [start, end) under spec. */
static tst_coverage *expected(const char *spec, const tst_index_kind *kind, const char *start,
                              const char *end)
{
    tst_calendar *cal = NULL;
    tst_coverage *out = NULL;
    assert_tst_ok(tst_calendar_parse(&cal, spec));
    assert_tst_ok(tst_calendar_expected(&out, cal, kind, bucket_at(kind, start),
                                        bucket_at(kind, end) - 1));
    tst_calendar_free(cal);
    return out;
}

static void assert_refused(const char *spec, const char *needle)
{
    tst_calendar *cal = NULL;
    assert_int_equal(tst_calendar_parse(&cal, spec), TST_EINVAL);
    assert_null(cal);
    const char *msg = tst_error_last()->message;
    if (!strstr(msg, needle))
        fail_msg("'%s': message \"%s\" lacks \"%s\"", spec, msg, needle);
}

static void specs_read_well_and_anything_unknown_is_refused_with_its_position(void **state)
{
    (void)state;
    tst_calendar *cal = NULL;
    assert_tst_ok(tst_calendar_parse(&cal, "weekdays; tz=America/New_York ;sessions=09:30-16:00"));
    tst_calendar_free(cal);
    assert_tst_ok(tst_calendar_parse(&cal, "days=sun-thu;sessions=22:00-06:00,10:00-12:00:30"));
    tst_calendar_free(cal);
    assert_tst_ok(tst_calendar_parse(&cal, "all"));
    tst_calendar_free(cal);
    assert_refused("weekdays;sesions=09:00-17:00", "at position 10: unknown item; accepted: "
                                                   "weekdays");
    assert_refused("weekday", "position 1: unknown item (or a missing '=value')");
    assert_refused("weekdays;;tz=UTC", "position 10: empty item");
    assert_refused("tz=UTC;tz=+01:00", "position 8: this item is given twice");
    assert_refused("weekdays;days=mon", "given twice");
    assert_refused("sessions=9:30-16:00", "expected HH:MM-HH:MM");
    assert_refused("sessions=09:30-16:00,", "\"09:30-16:00,\" at position 13");
    assert_refused("sessions=24:00-10:00", "invalid sessions");
    assert_refused("days=mon-fry", "expected day names");
    assert_refused("closed=2024-02-30", "expected YYYY-MM-DD");
    assert_refused("tz=../../etc/passwd", "invalid time zone");
    assert_int_equal(tst_calendar_parse(&cal, "tz=Nowhere/Atlantis"), TST_ENOTFOUND);
}

static void holiday_files_take_dates_early_closes_and_ranges_and_name_the_bad_line(void **state)
{
    (void)state;
    char *dir = tst_test_tmpdir("calendar");
    char *path = tst_test_path(dir, "h.txt");
    const char *good = "# NYSE 2024, abridged\n\n2024-07-04\n2024-07-03 09:30-13:00  # early\n"
                       "2024-07-08 10:00 to 2024-07-08 11:00\n2024-07-10 to 2024-07-11\r\n";
    assert_tst_ok(tst_test_write_file(path, good, strlen(good)));
    char spec[512];
    snprintf(spec, sizeof spec, "weekdays;tz=America/New_York;sessions=09:30-16:00;holidays=%s",
             path);
    tst_coverage *e = expected(spec, &MINUTES, "2024-07-01T00:00:00Z", "2024-07-13T00:00:00Z");
    /* Mon 1, Tue 2: 390; Wed 3: 210 (early close); Thu 4: closed; Fri 5: 390;
     * Mon 8: 390 - 60; Tue 9: 390; Wed 10, Thu 11: closed; Fri 12: 390 */
    assert_int_equal(tst_coverage_cardinality(e), 390 * 5 + 210 + 330);
    assert_false(tst_coverage_contains(e, bucket_at(&MINUTES, "2024-07-08T14:30:00Z")));
    assert_true(tst_coverage_contains(e, bucket_at(&MINUTES, "2024-07-08T15:00:00Z")));
    tst_coverage_free(e);

    const char *bad = "2024-07-04\n\n2024-07-05 9am\n";
    assert_tst_ok(tst_test_write_file(path, bad, strlen(bad)));
    tst_calendar *cal = NULL;
    assert_tst_ok(tst_calendar_new(&cal));
    assert_int_equal(tst_calendar_load_holidays(cal, path), TST_EINVAL);
    char where[1024];
    snprintf(where, sizeof where, "%s:3", path);
    assert_non_null(strstr(tst_error_last()->message, where));
    assert_non_null(strstr(tst_error_last()->message, "YYYY-MM-DD HH:MM-HH:MM"));
    assert_int_equal(tst_calendar_add_holiday(cal, "2024-07-08 12:00 to 2024-07-08 11:00"),
                     TST_EINVAL);
    assert_int_equal(tst_calendar_load_holidays(cal, "/nonexistent/h.txt"), TST_ENOTFOUND);
    tst_calendar_free(cal);
    free(path);
    tst_test_rmtree(dir);
}

static void a_bucket_is_expected_when_any_part_of_it_is_in_a_session(void **state)
{
    (void)state;
    /* 09:30-16:00 New York in June is 13:30-20:00Z: hourly buckets 13..19 */
    tst_coverage *e = expected("weekdays;tz=America/New_York;sessions=09:30-16:00", &HOURLY,
                               "2024-06-03T00:00:00Z", "2024-06-10T00:00:00Z");
    assert_int_equal(tst_coverage_cardinality(e), 5 * 7);
    assert_true(tst_coverage_contains(e, bucket_at(&HOURLY, "2024-06-03T13:00:00Z")));
    assert_false(tst_coverage_contains(e, bucket_at(&HOURLY, "2024-06-03T20:00:00Z")));
    assert_false(tst_coverage_contains(e, bucket_at(&HOURLY, "2024-06-08T15:00:00Z")));
    tst_coverage_free(e);
}

static void a_session_past_midnight_belongs_to_the_day_it_starts(void **state)
{
    (void)state;
    /* Sunday 18:00 to Monday 02:00 UTC opens; Monday's own starts at 18:00 */
    tst_coverage *e = expected("days=sun;sessions=18:00-02:00", &HOURLY, "2024-06-02T00:00:00Z",
                               "2024-06-04T00:00:00Z");
    assert_int_equal(tst_coverage_cardinality(e), 8);
    assert_true(tst_coverage_contains(e, bucket_at(&HOURLY, "2024-06-03T01:00:00Z")));
    assert_false(tst_coverage_contains(e, bucket_at(&HOURLY, "2024-06-03T18:00:00Z")));
    tst_coverage_free(e);
}

static void sessions_follow_the_clocks_on_dst_nights(void **state)
{
    (void)state;
    /* The whole local day: 23 hours on 2024-03-10 in New York (05:00Z to 04:00Z),
     * plus the last 5 hours of March 8th's day (it ends 2024-03-09T05:00Z) */
    tst_coverage *e = expected("tz=America/New_York;closed=2024-03-09,2024-03-11,2024-03-12",
                               &HOURLY, "2024-03-09T00:00:00Z", "2024-03-13T00:00:00Z");
    assert_int_equal(tst_coverage_cardinality(e), 5 + 23);
    assert_true(tst_coverage_contains(e, bucket_at(&HOURLY, "2024-03-11T03:00:00Z")));
    assert_false(tst_coverage_contains(e, bucket_at(&HOURLY, "2024-03-11T04:00:00Z")));
    tst_coverage_free(e);
    /* 25 hours on 2024-11-03; a 01:00-02:00 session then lasts two hours: 02:00
     * first shows on the clocks at 07:00Z, after both 01:xx hours */
    e = expected("tz=America/New_York;closed=2024-11-02,2024-11-04", &HOURLY,
                 "2024-11-02T04:00:00Z", "2024-11-05T05:00:00Z");
    assert_int_equal(tst_coverage_cardinality(e), 25);
    tst_coverage_free(e);
    e = expected("tz=America/New_York;sessions=01:00-02:00", &MINUTES, "2024-11-03T00:00:00Z",
                 "2024-11-04T00:00:00Z");
    assert_int_equal(tst_coverage_cardinality(e), 120);
    assert_true(tst_coverage_contains(e, bucket_at(&MINUTES, "2024-11-03T05:00:00Z")));
    assert_true(tst_coverage_contains(e, bucket_at(&MINUTES, "2024-11-03T06:59:00Z")));
    tst_coverage_free(e);
    /* 02:00-03:00 on the spring-forward night never happens */
    e = expected("tz=America/New_York;sessions=02:00-03:00", &MINUTES, "2024-03-10T00:00:00Z",
                 "2024-03-11T00:00:00Z");
    assert_true(tst_coverage_is_empty(e));
    tst_coverage_free(e);
}

static void integer_indexes_have_no_calendar(void **state)
{
    (void)state;
    tst_calendar *cal = NULL;
    tst_coverage *out = NULL;
    tst_index_kind ints = {TST_INDEX_INT64, {0, 0}, 10, "", 7};
    assert_tst_ok(tst_calendar_new(&cal));
    assert_int_equal(tst_calendar_expected(&out, cal, &ints, 0, 10), TST_EINVAL);
    assert_non_null(strstr(tst_error_last()->message, "calendars need a timestamp index"));
    assert_null(out);
    tst_calendar_free(cal);
}

typedef struct gaps_seen {
    uint64_t first[8], last[8], missing[8];
    size_t n;
} gaps_seen;

static int see_gap(void *ctx, uint64_t first, uint64_t last, uint64_t missing)
{
    gaps_seen *g = ctx;
    g->first[g->n] = first, g->last[g->n] = last, g->missing[g->n] = missing;
    g->n++;
    return 0;
}

static void closed_time_neither_ends_nor_counts_in_a_gap(void **state)
{
    (void)state;
    tst_coverage *cov = NULL, *exp = NULL;
    assert_tst_ok(tst_coverage_new(&cov));
    assert_tst_ok(tst_coverage_new(&exp));
    /* expected: 10..19, 30..39, 50..59; covered: 10..14, 55..59, and 20..29 (closed time) */
    for (uint64_t a = 10; a < 60; a += 20)
        assert_tst_ok(tst_coverage_add_range(exp, a, a + 9));
    assert_tst_ok(tst_coverage_add_range(cov, 10, 14));
    assert_tst_ok(tst_coverage_add_range(cov, 20, 29));
    assert_tst_ok(tst_coverage_add_range(cov, 55, 59));
    gaps_seen g = {{0}, {0}, {0}, 0};
    assert_tst_ok(tst_coverage_each_expected_gap(cov, exp, 0, 99, 0, see_gap, &g));
    assert_int_equal(g.n, 1);
    assert_int_equal(g.first[0], 15);
    assert_int_equal(g.last[0], 54);
    assert_int_equal(g.missing[0], 5 + 10 + 5);
    memset(&g, 0, sizeof g);
    assert_tst_ok(tst_coverage_each_expected_gap(cov, exp, 0, 99, 8, see_gap, &g));
    assert_int_equal(g.n, 3); /* 8 + 8 + 4 missing */
    assert_int_equal(g.last[0], 32);
    assert_int_equal(g.first[1], 33);
    assert_int_equal(g.last[1], 50);
    assert_int_equal(g.missing[2], 4);
    uint64_t covered = 0, total = 0, max_gap = 0;
    double ratio = 0;
    assert_tst_ok(tst_coverage_expected_counts(cov, exp, 0, 99, &covered, &total, &ratio,
                                               &max_gap));
    assert_int_equal(covered, 10);
    assert_int_equal(total, 30);
    assert_int_equal(max_gap, 20);
    assert_tst_ok(tst_coverage_expected_counts(cov, exp, 70, 99, &covered, &total, &ratio,
                                               &max_gap));
    assert_true(ratio == 1.0 && total == 0);
    bool found = false;
    uint64_t wf = 0, wl = 0;
    assert_tst_ok(tst_coverage_last_expected_window(cov, exp, 0, 99, 30, &found, &wf, &wl));
    assert_true(found); /* 55..59 covered, 60..99 closed: the highest window holding 59 */
    assert_int_equal(wf, 59);
    assert_int_equal(wl, 88);
    assert_tst_ok(tst_coverage_last_expected_window(cov, exp, 0, 99, 46, &found, &wf, &wl));
    assert_false(found);
    tst_coverage_free(cov);
    tst_coverage_free(exp);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(specs_read_well_and_anything_unknown_is_refused_with_its_position),
        cmocka_unit_test(holiday_files_take_dates_early_closes_and_ranges_and_name_the_bad_line),
        cmocka_unit_test(a_bucket_is_expected_when_any_part_of_it_is_in_a_session),
        cmocka_unit_test(a_session_past_midnight_belongs_to_the_day_it_starts),
        cmocka_unit_test(sessions_follow_the_clocks_on_dst_nights),
        cmocka_unit_test(integer_indexes_have_no_calendar),
        cmocka_unit_test(closed_time_neither_ends_nor_counts_in_a_gap),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
