/*
 * test_timestamp.c — RFC 3339 parsing and formatting (tst_timestamp_parse,
 * tst_timestamp_format): the chrono AutoSi fraction rule, round trips on both
 * sides of 1970, the strings of the reference commit log, calendar
 * validation, offsets, the year 0000..9999 domain and leap seconds.
 */
#include "testsupport.h"
#include "tstable/index.h"

#include <string.h>

/* Parses text, formats it again and checks the result against want. */
static void assert_reformats(const char *text, const char *want)
{
    tst_timestamp ts;
    char buf[TST_TIMESTAMP_TEXT_MAX];
    assert_tst_ok(tst_timestamp_parse(&ts, text));
    int n = tst_timestamp_format(ts, buf, sizeof buf);
    assert_int_equal(n, (int)strlen(want));
    assert_string_equal(buf, want);
}

static void assert_formats(int64_t sec, uint32_t nsec, const char *want)
{
    char buf[TST_TIMESTAMP_TEXT_MAX];
    tst_timestamp ts = {sec, nsec};
    assert_int_equal(tst_timestamp_format(ts, buf, sizeof buf), (int)strlen(want));
    assert_string_equal(buf, want);
    tst_timestamp back;
    assert_tst_ok(tst_timestamp_parse(&back, buf));
    assert_true(back.sec == sec);
    assert_int_equal(back.nsec, nsec);
}

static void epoch_is_second_zero(void **state)
{
    (void)state;
    tst_timestamp ts;
    assert_tst_ok(tst_timestamp_parse(&ts, "1970-01-01T00:00:00Z"));
    assert_true(ts.sec == 0);
    assert_int_equal(ts.nsec, 0);
    assert_formats(0, 0, "1970-01-01T00:00:00Z");
}

static void fraction_uses_fewest_exact_digits_of_3_6_or_9(void **state)
{
    (void)state;
    assert_formats(0, 500000000, "1970-01-01T00:00:00.500Z");
    assert_formats(0, 1500000, "1970-01-01T00:00:00.001500Z");
    assert_formats(0, 1, "1970-01-01T00:00:00.000000001Z");
    assert_formats(0, 999999999, "1970-01-01T00:00:00.999999999Z");
    assert_formats(0, 123000, "1970-01-01T00:00:00.000123Z");
}

static void reference_commit_timestamps_round_trip_byte_for_byte(void **state)
{
    (void)state;
    const char *texts[] = {"2026-08-17T06:50:06.006820466Z", "2026-08-17T06:50:06.006638639Z",
                           "2026-08-17T06:50:06.029549750Z", "2024-06-01T00:00:00Z",
                           "2024-06-10T23:00:00Z"};
    for (size_t i = 0; i < sizeof texts / sizeof texts[0]; i++)
        assert_reformats(texts[i], texts[i]);
    tst_timestamp ts;
    assert_tst_ok(tst_timestamp_parse(&ts, "2024-06-01T00:00:00Z"));
    assert_true(ts.sec == 1717200000);
}

static void instants_before_1970_use_negative_seconds(void **state)
{
    (void)state;
    assert_formats(-1, 0, "1969-12-31T23:59:59Z");
    assert_formats(-1, 500000000, "1969-12-31T23:59:59.500Z");
    assert_formats(-86400, 0, "1969-12-31T00:00:00Z");
    assert_formats(-86401, 0, "1969-12-30T23:59:59Z");
    assert_formats(-2208988800LL, 0, "1900-01-01T00:00:00Z");
}

static void domain_edges_are_years_0000_and_9999(void **state)
{
    (void)state;
    assert_formats(-62167219200LL, 0, "0000-01-01T00:00:00Z");
    assert_formats(253402300799LL, 999999999, "9999-12-31T23:59:59.999999999Z");
    /* Year 0000 is a leap year (divisible by 400); 1900 and 2100 are not. */
    assert_reformats("0000-02-29T12:00:00Z", "0000-02-29T12:00:00Z");
    assert_formats(951782400, 0, "2000-02-29T00:00:00Z");
    char buf[TST_TIMESTAMP_TEXT_MAX];
    tst_timestamp below = {-62167219201LL, 0}, above = {253402300800LL, 0};
    assert_tst_fails(tst_timestamp_format(below, buf, sizeof buf), TST_EINVAL);
    assert_tst_fails(tst_timestamp_format(above, buf, sizeof buf), TST_EINVAL);
}

static void every_day_of_four_centuries_round_trips(void **state)
{
    (void)state;
    /* One second into each day from 1800 to 2200 covers every leap rule. */
    char buf[TST_TIMESTAMP_TEXT_MAX];
    for (int64_t day = -62091; day < 84006; day++) {
        tst_timestamp ts = {day * 86400 + 1, 0}, back;
        assert_true(tst_timestamp_format(ts, buf, sizeof buf) > 0);
        assert_tst_ok(tst_timestamp_parse(&back, buf));
        assert_true(back.sec == ts.sec);
    }
}

static void offsets_are_normalised_to_utc(void **state)
{
    (void)state;
    assert_reformats("2024-06-01T02:00:00+02:00", "2024-06-01T00:00:00Z");
    assert_reformats("2024-05-31T19:30:00-04:30", "2024-06-01T00:00:00Z");
    assert_reformats("2024-06-01T00:00:00-00:00", "2024-06-01T00:00:00Z");
    assert_reformats("2024-01-01T00:30:00+01:00", "2023-12-31T23:30:00Z");
}

static void lowercase_and_space_separators_are_accepted(void **state)
{
    (void)state;
    assert_reformats("2024-06-01t00:00:00z", "2024-06-01T00:00:00Z");
    assert_reformats("2024-06-01 00:00:00.25Z", "2024-06-01T00:00:00.250Z");
}

static void fraction_of_any_length_up_to_nine_digits_is_scaled(void **state)
{
    (void)state;
    assert_reformats("2024-06-01T00:00:00.1Z", "2024-06-01T00:00:00.100Z");
    assert_reformats("2024-06-01T00:00:00.0001Z", "2024-06-01T00:00:00.000100Z");
    assert_reformats("2024-06-01T00:00:00.12345678Z", "2024-06-01T00:00:00.123456780Z");
    assert_reformats("2024-06-01T00:00:00.000Z", "2024-06-01T00:00:00Z");
}

static void leap_second_folds_into_the_last_nanosecond_of_59(void **state)
{
    (void)state;
    tst_timestamp ts;
    assert_tst_ok(tst_timestamp_parse(&ts, "2016-12-31T23:59:60Z"));
    assert_true(ts.sec == 1483228799);
    assert_int_equal(ts.nsec, 999999999);
    assert_reformats("2016-12-31T23:59:60.5Z", "2016-12-31T23:59:59.999999999Z");
}

static void malformed_text_is_rejected_with_a_message(void **state)
{
    (void)state;
    const char *bad[] = {
        "",
        "2024-06-01",
        "2024-06-01T00:00:00",       /* no offset */
        "2024-06-01T00:00Z",         /* no seconds */
        "2024-6-01T00:00:00Z",       /* one-digit month */
        "2024-06-01X00:00:00Z",      /* bad separator */
        "2024-06-01T00:00:00.Z",     /* empty fraction */
        "2024-06-01T00:00:00.1234567890Z", /* 10 digits */
        "2024-06-01T00:00:00+0200",  /* offset without colon */
        "2024-06-01T00:00:00+02",    /* offset without minutes */
        "2024-06-01T00:00:00Z ",     /* trailing text */
        " 2024-06-01T00:00:00Z",     /* leading text */
        "+2024-06-01T00:00:00Z",
        "2024-13-01T00:00:00Z",
        "2024-00-01T00:00:00Z",
        "2024-06-00T00:00:00Z",
        "2024-06-31T00:00:00Z",
        "2023-02-29T00:00:00Z",      /* not a leap year */
        "1900-02-29T00:00:00Z",      /* century, not a leap year */
        "2024-06-01T24:00:00Z",
        "2024-06-01T00:60:00Z",
        "2024-06-01T00:00:61Z",
        "2024-06-01T00:00:00+24:00",
        "2024-06-01T00:00:00+01:60",
        "0000-01-01T00:00:00+00:01", /* year -1 in UTC */
        "9999-12-31T23:59:59-00:01", /* year 10000 in UTC */
    };
    tst_timestamp ts;
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        assert_tst_fails(tst_timestamp_parse(&ts, bad[i]), TST_EINVAL);
    assert_tst_fails(tst_timestamp_parse(&ts, NULL), TST_EINVAL);
    assert_tst_ok(tst_timestamp_parse(&ts, "2024-02-29T00:00:00Z"));
}

static void messages_name_the_bad_field(void **state)
{
    (void)state;
    tst_timestamp ts;
    assert_tst_fails(tst_timestamp_parse(&ts, "2024-13-01T00:00:00Z"), TST_EINVAL);
    assert_non_null(strstr(tst_error_last()->message, "month 13"));
    assert_tst_fails(tst_timestamp_parse(&ts, "nonsense"), TST_EINVAL);
    assert_non_null(strstr(tst_error_last()->message, "'nonsense'"));
}

static void format_checks_nanoseconds_and_buffer_size(void **state)
{
    (void)state;
    char buf[TST_TIMESTAMP_TEXT_MAX];
    tst_timestamp bad = {0, 1000000000};
    assert_tst_fails(tst_timestamp_format(bad, buf, sizeof buf), TST_EINVAL);
    tst_timestamp ok = {0, 0};
    assert_tst_fails(tst_timestamp_format(ok, buf, 20), TST_EINVAL); /* needs 21 */
    assert_string_equal(buf, "");
    assert_int_equal(tst_timestamp_format(ok, buf, 21), 20);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(epoch_is_second_zero),
        cmocka_unit_test(fraction_uses_fewest_exact_digits_of_3_6_or_9),
        cmocka_unit_test(reference_commit_timestamps_round_trip_byte_for_byte),
        cmocka_unit_test(instants_before_1970_use_negative_seconds),
        cmocka_unit_test(domain_edges_are_years_0000_and_9999),
        cmocka_unit_test(every_day_of_four_centuries_round_trips),
        cmocka_unit_test(offsets_are_normalised_to_utc),
        cmocka_unit_test(lowercase_and_space_separators_are_accepted),
        cmocka_unit_test(fraction_of_any_length_up_to_nine_digits_is_scaled),
        cmocka_unit_test(leap_second_folds_into_the_last_nanosecond_of_59),
        cmocka_unit_test(malformed_text_is_rejected_with_a_message),
        cmocka_unit_test(messages_name_the_bad_field),
        cmocka_unit_test(format_checks_nanoseconds_and_buffer_size),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
