/*
 * test_tzfile.c — time zones for calendars (src/core/tzfile.h): UTC and
 * fixed offsets without a file, TZif files and their POSIX footers, DST
 * gaps and folds mapped the documented way, malformed files and missing
 * zones.
 *
 * Run as `test_tzfile --dump`, it answers questions read from stdin, one
 * per line: "o ZONE T" (the offset at UTC second T) or "l ZONE W" (the
 * first instant of local wall time W), one integer per line, or "E <code>"
 * when the zone fails to load. tests/cli/test_calendar_tz.py drives it
 * against Python's zoneinfo over many zones and every transition 1900..2100.
 */
#include "testsupport.h"
#include "fsio.h"
#include "tzfile.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static tst_tz *load(const char *name)
{
    tst_tz *tz = NULL;
    assert_tst_ok(tst_tz_load(&tz, name));
    return tz;
}

/* Seconds of a UTC date-time. */
static int64_t utc(int y, int m, int d, int hh, int mm)
{
    return tst_tz_days_from_civil(y, m, d) * 86400 + hh * 3600 + mm * 60;
}

static void utc_and_fixed_offsets_need_no_file(void **state)
{
    (void)state;
    setenv("TZDIR", "/nonexistent", 1);
    tst_tz *a = load("UTC"), *b = load("+05:30"), *c = load("-0800"), *d = load("+05");
    assert_int_equal(tst_tz_offset_at(a, 0), 0);
    assert_int_equal(tst_tz_offset_at(b, 123456789), 19800);
    assert_int_equal(tst_tz_offset_at(c, -5), -28800);
    assert_int_equal(tst_tz_offset_at(d, 0), 18000);
    assert_true(tst_tz_local_to_utc(b, 19800) == 0);
    tst_tz_free(a);
    tst_tz_free(b);
    tst_tz_free(c);
    tst_tz_free(d);
    unsetenv("TZDIR");
}

static void new_york_switches_on_the_us_sundays(void **state)
{
    (void)state;
    tst_tz *ny = load("America/New_York");
    /* 2024-03-10 07:00Z: EST -> EDT; 2024-11-03 06:00Z: EDT -> EST */
    assert_int_equal(tst_tz_offset_at(ny, utc(2024, 3, 10, 7, 0) - 1), -5 * 3600);
    assert_int_equal(tst_tz_offset_at(ny, utc(2024, 3, 10, 7, 0)), -4 * 3600);
    assert_int_equal(tst_tz_offset_at(ny, utc(2024, 11, 3, 6, 0) - 1), -4 * 3600);
    assert_int_equal(tst_tz_offset_at(ny, utc(2024, 11, 3, 6, 0)), -5 * 3600);
    /* Far after any file's transitions: the footer rule. */
    assert_int_equal(tst_tz_offset_at(ny, utc(2090, 7, 1, 12, 0)), -4 * 3600);
    assert_int_equal(tst_tz_offset_at(ny, utc(2090, 12, 1, 12, 0)), -5 * 3600);
    tst_tz_free(ny);
}

static void a_skipped_wall_time_maps_to_the_jump_and_a_repeated_one_to_its_first(void **state)
{
    (void)state;
    tst_tz *ny = load("America/New_York");
    int64_t day = tst_tz_days_from_civil(2024, 3, 10) * 86400;
    /* 02:30 never happens: the jump at 07:00Z */
    assert_true(tst_tz_local_to_utc(ny, day + 2 * 3600 + 1800) == utc(2024, 3, 10, 7, 0));
    assert_true(tst_tz_local_to_utc(ny, day + 3 * 3600) == utc(2024, 3, 10, 7, 0));
    assert_true(tst_tz_local_to_utc(ny, day + 1 * 3600) == utc(2024, 3, 10, 6, 0));
    int64_t fall = tst_tz_days_from_civil(2024, 11, 3) * 86400;
    /* 01:30 happens twice: the first (EDT) */
    assert_true(tst_tz_local_to_utc(ny, fall + 3600 + 1800) == utc(2024, 11, 3, 5, 30));
    assert_true(tst_tz_local_to_utc(ny, fall + 2 * 3600) == utc(2024, 11, 3, 7, 0));
    tst_tz_free(ny);
}

static void posix_rules_with_half_hours_and_negative_times(void **state)
{
    (void)state;
    tst_tz *lh = NULL, *neg = NULL, *jul = NULL;
    /* Lord Howe: +10:30, +11 in summer (southern hemisphere) */
    assert_tst_ok(tst_tz_from_rule(&lh, "<+1030>-10:30<+11>-11,M10.1.0,M4.1.0"));
    assert_int_equal(tst_tz_offset_at(lh, utc(2030, 1, 15, 0, 0)), 11 * 3600);
    assert_int_equal(tst_tz_offset_at(lh, utc(2030, 6, 15, 0, 0)), 10 * 3600 + 1800);
    /* Nuuk since 2023: -02, -01 in summer, switching at -01:00 local (v3 negative hours) */
    assert_tst_ok(tst_tz_from_rule(&neg, "<-02>2<-01>,M3.5.0/-1,M10.5.0/0"));
    /* 2030-03-31 is the last Sunday of March: DST from Saturday 23:00 local = 01:00Z */
    assert_int_equal(tst_tz_offset_at(neg, utc(2030, 3, 31, 1, 0) - 1), -2 * 3600);
    assert_int_equal(tst_tz_offset_at(neg, utc(2030, 3, 31, 1, 0)), -1 * 3600);
    /* Jn never counts Feb 29: J60 is March 1st in a leap year too */
    assert_tst_ok(tst_tz_from_rule(&jul, "AAA3BBB,J60/0,J300/0"));
    assert_int_equal(tst_tz_offset_at(jul, utc(2028, 3, 1, 3, 0) - 1), -3 * 3600);
    assert_int_equal(tst_tz_offset_at(jul, utc(2028, 3, 1, 3, 0)), -2 * 3600);
    tst_tz *bad = NULL;
    assert_int_equal(tst_tz_from_rule(&bad, "EST5EDT,M13.1.0,M11.1.0"), TST_EINVAL);
    assert_int_equal(tst_tz_from_rule(&bad, "E5"), TST_EINVAL);
    tst_tz_free(lh);
    tst_tz_free(neg);
    tst_tz_free(jul);
}

static void a_missing_zone_names_the_folders_and_tzdata(void **state)
{
    (void)state;
    tst_tz *tz = NULL;
    setenv("TZDIR", "/tmp/no-such-tzdir", 1);
    assert_int_equal(tst_tz_load(&tz, "Mars/Olympus_Mons"), TST_ENOTFOUND);
    const char *msg = tst_error_last()->message;
    assert_non_null(strstr(msg, "Mars/Olympus_Mons"));
    assert_non_null(strstr(msg, "/tmp/no-such-tzdir"));
    assert_non_null(strstr(msg, "/usr/share/zoneinfo"));
    assert_non_null(strstr(msg, "tzdata"));
    unsetenv("TZDIR");
    assert_int_equal(tst_tz_load(&tz, "../etc/passwd"), TST_EINVAL);
    assert_int_equal(tst_tz_load(&tz, "America"), TST_ENOTFOUND); /* a folder */
    assert_null(tz);
}

static void malformed_tzif_bytes_are_corrupt_never_a_crash(void **state)
{
    (void)state;
    char *bytes = NULL;
    size_t len = 0;
    assert_tst_ok(tst_io_read_file("/usr/share/zoneinfo/Europe/London", 1u << 22, &bytes, &len));
    tst_tz *tz = NULL;
    assert_tst_ok(tst_tz_parse(&tz, "London", (const uint8_t *)bytes, len));
    tst_tz_free(tz);
    for (size_t cut = 0; cut < len; cut += (cut < 200 ? 1 : 97)) {
        tz = NULL;
        int rc = tst_tz_parse(&tz, "London", (const uint8_t *)bytes, cut);
        if (rc == 0)
            tst_tz_free(tz); /* a v1-complete prefix may parse */
        else
            assert_int_equal(rc, TST_ECORRUPT);
    }
    bytes[0] = 'X';
    assert_int_equal(tst_tz_parse(&tz, "London", (const uint8_t *)bytes, len), TST_ECORRUPT);
    free(bytes);
}

static int dump(void)
{
    char line[512], zone[256] = "", kind = 0;
    long long v = 0;
    tst_tz *tz = NULL;
    int rc = 0;
    while (fgets(line, sizeof line, stdin)) {
        char name[256];
        if (sscanf(line, " %c %255s %lld", &kind, name, &v) != 3)
            continue;
        if (strcmp(name, zone) != 0) {
            tst_tz_free(tz);
            tz = NULL;
            snprintf(zone, sizeof zone, "%s", name);
            rc = tst_tz_load(&tz, name);
        }
        if (!tz)
            printf("E %d\n", rc);
        else if (kind == 'o')
            printf("%d\n", tst_tz_offset_at(tz, v));
        else
            printf("%lld\n", (long long)tst_tz_local_to_utc(tz, v));
    }
    tst_tz_free(tz);
    return 0;
}

int main(int argc, char **argv)
{
    if (argc > 1 && strcmp(argv[1], "--dump") == 0)
        return dump();
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(utc_and_fixed_offsets_need_no_file),
        cmocka_unit_test(new_york_switches_on_the_us_sundays),
        cmocka_unit_test(a_skipped_wall_time_maps_to_the_jump_and_a_repeated_one_to_its_first),
        cmocka_unit_test(posix_rules_with_half_hours_and_negative_times),
        cmocka_unit_test(a_missing_zone_names_the_folders_and_tzdata),
        cmocka_unit_test(malformed_tzif_bytes_are_corrupt_never_a_crash),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
