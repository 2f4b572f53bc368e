/*
 * timestamp.c — RFC 3339 timestamps in and out (tst_timestamp_parse and
 * tst_timestamp_format from tstable/index.h).
 *
 * Timestamps reach us as text in the commit log ("timestamp", "created_at",
 * segment bounds) and from users on the command line, so the parser treats
 * its input as untrusted and is strict: exactly
 * "YYYY-MM-DDTHH:MM:SS[.f{1,9}](Z|+hh:mm|-hh:mm)", with 't' or ' ' accepted
 * for the 'T' and 'z' for the 'Z', as chrono's RFC 3339 parser accepts them.
 * Formatting reproduces chrono's `to_rfc3339_opts(AutoSi, true)`: UTC, 'Z',
 * and 0, 3, 6 or 9 fractional digits, the fewest that are exact. So a
 * timestamp printed by the reference reads back to the same instant and is
 * printed again byte for byte.
 *
 * Calendar arithmetic uses Howard Hinnant's days-from-civil algorithms
 * (proleptic Gregorian, no tables, no libc): timegm() depends on the C
 * library and on time_t, and we want identical results everywhere.
 *
 * Decisions worth knowing:
 *  - Years are 0000..9999 after normalising to UTC; anything else is
 *    TST_EINVAL, so every parsed timestamp can be formatted in 4 digits.
 *  - A leap second (":60") is accepted, as chrono accepts it, and folded into
 *    the last nanosecond of second :59. tst_timestamp cannot hold a leap
 *    second; the fold keeps its bucket identical to chrono's (chrono's epoch
 *    seconds of a leap second are those of :59) and keeps it ordered after
 *    every other instant of that second. It formats as ":59.999999999Z".
 *  - More than 9 fractional digits are rejected rather than truncated:
 *    silently dropping precision from untrusted input hides mistakes.
 */
#include "fail.h"
#include "tstable/index.h"

#include <stdio.h>
#include <string.h>

#define SECONDS_PER_DAY 86400
#define NANOS_PER_SECOND 1000000000u

/* 0000-01-01T00:00:00Z and 9999-12-31T23:59:59Z as epoch seconds. */
#define TIMESTAMP_MIN_SEC (-62167219200LL)
#define TIMESTAMP_MAX_SEC 253402300799LL

/* How much of the input to quote in a message: enough to recognise it. */
#define QUOTE_MAX 64

/* ------------------------------------------------------------ calendar */

static bool is_leap_year(int64_t y)
{
    return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

static int days_in_month(int64_t y, int m)
{
    static const int days[12] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    return m == 2 && is_leap_year(y) ? 29 : days[m - 1];
}

/* Days since 1970-01-01 of a proleptic Gregorian date (Hinnant). Eras are
 * 400-year cycles counted from March 1st, which puts the leap day last. */
static int64_t days_from_civil(int64_t y, int m, int d)
{
    y -= m <= 2;
    int64_t era = (y >= 0 ? y : y - 399) / 400;
    int64_t yoe = y - era * 400;
    int64_t doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
    int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + doe - 719468;
}

/* The inverse of days_from_civil. */
static void civil_from_days(int64_t z, int64_t *y, int *m, int *d)
{
    z += 719468;
    int64_t era = (z >= 0 ? z : z - 146096) / 146097;
    int64_t doe = z - era * 146097;
    int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    int64_t mp = (5 * doy + 2) / 153;
    *d = (int)(doy - (153 * mp + 2) / 5 + 1);
    *m = (int)(mp < 10 ? mp + 3 : mp - 9);
    *y = yoe + era * 400 + (*m <= 2);
}

/* ------------------------------------------------------------- parsing */

/* Reads exactly n ASCII digits; false if any is not a digit. */
static bool read_digits(const char *s, int n, int *out)
{
    int v = 0;
    for (int i = 0; i < n; i++) {
        if (s[i] < '0' || s[i] > '9')
            return false;
        v = v * 10 + (s[i] - '0');
    }
    *out = v;
    return true;
}

static int syntax_error(const char *text)
{
    return tst_fail(TST_EINVAL,
                    "invalid timestamp '%.*s': expected RFC 3339 "
                    "YYYY-MM-DDTHH:MM:SS[.fffffffff](Z|+hh:mm|-hh:mm), "
                    "e.g. 2024-06-01T00:00:00Z",
                    QUOTE_MAX, text);
}

static int field_error(const char *text, const char *field, int value)
{
    return tst_fail(TST_EINVAL, "invalid timestamp '%.*s': %s %d is out of range", QUOTE_MAX,
                    text, field, value);
}

/* The broken-down fields of the text, before normalising to UTC. */
typedef struct civil_time {
    int year, month, day, hour, minute, second;
    uint32_t nsec;
    int offset_sec; /* local minus UTC */
} civil_time;

/* "YYYY-MM-DD" + separator + "HH:MM:SS": 19 fixed characters. */
static bool parse_date_time(const char *s, civil_time *t)
{
    return read_digits(s, 4, &t->year) && s[4] == '-' && read_digits(s + 5, 2, &t->month) &&
           s[7] == '-' && read_digits(s + 8, 2, &t->day) &&
           (s[10] == 'T' || s[10] == 't' || s[10] == ' ') && read_digits(s + 11, 2, &t->hour) &&
           s[13] == ':' && read_digits(s + 14, 2, &t->minute) && s[16] == ':' &&
           read_digits(s + 17, 2, &t->second);
}

/* Optional ".f{1,9}"; advances *pos past it. Returns 0 or fails. */
static int parse_fraction(const char *text, size_t *pos, civil_time *t)
{
    t->nsec = 0;
    if (text[*pos] != '.')
        return 0;
    size_t start = ++*pos;
    uint32_t scale = NANOS_PER_SECOND;
    while (text[*pos] >= '0' && text[*pos] <= '9') {
        if (*pos - start == 9)
            return tst_fail(TST_EINVAL,
                            "invalid timestamp '%.*s': more than 9 fractional digits "
                            "(nanoseconds are the finest precision)",
                            QUOTE_MAX, text);
        scale /= 10;
        t->nsec += (uint32_t)(text[*pos] - '0') * scale;
        ++*pos;
    }
    return *pos == start ? syntax_error(text) : 0;
}

/* "Z", "z", "+hh:mm" or "-hh:mm", which must end the text. */
static int parse_offset(const char *text, size_t pos, civil_time *t)
{
    const char *s = text + pos;
    t->offset_sec = 0;
    if ((s[0] == 'Z' || s[0] == 'z') && s[1] == '\0')
        return 0;
    int hh, mm;
    if (!(s[0] == '+' || s[0] == '-') || !read_digits(s + 1, 2, &hh) || s[3] != ':' ||
        !read_digits(s + 4, 2, &mm) || s[6] != '\0')
        return syntax_error(text);
    if (hh > 23)
        return field_error(text, "offset hour", hh);
    if (mm > 59)
        return field_error(text, "offset minute", mm);
    t->offset_sec = (s[0] == '-' ? -1 : 1) * (hh * 3600 + mm * 60);
    return 0;
}

static int check_fields(const char *text, const civil_time *t)
{
    if (t->month < 1 || t->month > 12)
        return field_error(text, "month", t->month);
    if (t->day < 1 || t->day > days_in_month(t->year, t->month))
        return field_error(text, "day", t->day);
    if (t->hour > 23)
        return field_error(text, "hour", t->hour);
    if (t->minute > 59)
        return field_error(text, "minute", t->minute);
    if (t->second > 60)
        return field_error(text, "second", t->second);
    return 0;
}

int tst_timestamp_parse(tst_timestamp *out, const char *text)
{
    if (text == NULL)
        return tst_fail(TST_EINVAL, "invalid timestamp: no text given");
    civil_time t;
    /* strnlen keeps parse_date_time from reading past a short string. */
    if (strnlen(text, 19) < 19 || !parse_date_time(text, &t))
        return syntax_error(text);
    size_t pos = 19;
    int rc = parse_fraction(text, &pos, &t);
    if (rc == 0)
        rc = parse_offset(text, pos, &t);
    if (rc == 0)
        rc = check_fields(text, &t);
    if (rc != 0)
        return rc;
    if (t.second == 60) { /* leap second: see the top of the file */
        t.second = 59;
        t.nsec = NANOS_PER_SECOND - 1;
    }
    int64_t sec = days_from_civil(t.year, t.month, t.day) * SECONDS_PER_DAY + t.hour * 3600 +
                  t.minute * 60 + t.second - t.offset_sec;
    if (sec < TIMESTAMP_MIN_SEC || sec > TIMESTAMP_MAX_SEC)
        return tst_fail(TST_EINVAL,
                        "invalid timestamp '%.*s': outside years 0000..9999 once converted to UTC",
                        QUOTE_MAX, text);
    out->sec = sec;
    out->nsec = t.nsec;
    return 0;
}

/* ---------------------------------------------------------- formatting */

/* The fraction as chrono's AutoSi writes it: none, millis, micros or nanos. */
static void format_fraction(uint32_t nsec, char *buf, size_t cap)
{
    if (nsec == 0)
        buf[0] = '\0';
    else if (nsec % 1000000 == 0)
        snprintf(buf, cap, ".%03u", nsec / 1000000);
    else if (nsec % 1000 == 0)
        snprintf(buf, cap, ".%06u", nsec / 1000);
    else
        snprintf(buf, cap, ".%09u", nsec);
}

int tst_timestamp_format(tst_timestamp ts, char *buf, size_t cap)
{
    if (ts.nsec >= NANOS_PER_SECOND)
        return tst_fail(TST_EINVAL, "cannot format timestamp: nanoseconds %u exceed 999999999",
                        ts.nsec);
    if (ts.sec < TIMESTAMP_MIN_SEC || ts.sec > TIMESTAMP_MAX_SEC)
        return tst_fail(TST_EINVAL,
                        "cannot format timestamp %lld s since the epoch: outside years "
                        "0000..9999",
                        (long long)ts.sec);
    /* Floor division: the day of a negative second is the one before. */
    int64_t days = ts.sec / SECONDS_PER_DAY, rem = ts.sec % SECONDS_PER_DAY;
    if (rem < 0) {
        days -= 1;
        rem += SECONDS_PER_DAY;
    }
    int64_t y;
    int m, d;
    civil_from_days(days, &y, &m, &d);
    char frac[16], text[TST_TIMESTAMP_TEXT_MAX];
    format_fraction(ts.nsec, frac, sizeof frac);
    int n = snprintf(text, sizeof text, "%04lld-%02d-%02dT%02d:%02d:%02d%sZ", (long long)y, m, d,
                     (int)(rem / 3600), (int)(rem / 60 % 60), (int)(rem % 60), frac);
    if (buf == NULL || (size_t)n >= cap) {
        if (buf != NULL && cap > 0)
            buf[0] = '\0';
        return tst_fail(TST_EINVAL, "cannot format timestamp %s: buffer of %zu bytes is too small",
                        text, cap);
    }
    memcpy(buf, text, (size_t)n + 1);
    return n;
}
