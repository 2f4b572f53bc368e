/*
 * times.c — the one grammar every option that takes a time reads.
 *
 * People type times in three ways, and every command (--start, --end,
 * --as-of, --now, delete's range, diff and plan-backfill ranges) takes all
 * three, so a shell history line works wherever it is pasted:
 *
 *   absolute  2024-06-01T09:30:00Z, 2024-06-01T09:30:00+02:00 (RFC 3339);
 *             2024-06-01 09:30, 2024-06-01T09:30[:SS[.frac]] without an
 *             offset, which is UTC (never the machine's zone: the same line
 *             gives the same answer on every machine); 2024-06-01, midnight
 *             UTC.
 *   anchors   now; today (UTC midnight of now); yesterday (today - 1d).
 *   offsets   an anchor followed by +N or -N with a unit s m h d w
 *             (now-7d, today+9h), or a bare -N / +N unit, relative to now
 *             (-7d is now-7d).
 *
 * "now" is the real clock, except that TSTABLE_NOW (an RFC 3339 instant)
 * pins it: tests set it so their answers do not drift; users should not.
 * Integer indexes have no clock, so they reject relative times with a
 * message that says so (values.c).
 */
#include <ctype.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cli.h"

tst_timestamp cli_now(void)
{
    const char *pinned = getenv("TSTABLE_NOW");
    tst_timestamp ts = {0, 0};
    if (pinned && *pinned && tst_timestamp_parse(&ts, pinned) == 0)
        return ts;
    struct timespec now;
    clock_gettime(CLOCK_REALTIME, &now);
    ts.sec = (int64_t)now.tv_sec;
    ts.nsec = (uint32_t)now.tv_nsec;
    return ts;
}

/* Seconds in one unit; 0 for an unknown one. */
static int64_t unit_seconds(char unit)
{
    switch (unit) {
    case 's': return 1;
    case 'm': return 60;
    case 'h': return 3600;
    case 'd': return 86400;
    case 'w': return 7 * 86400;
    default: return 0;
    }
}

bool cli_parse_duration(const char *text, int64_t *out_seconds)
{
    if (!text || !isdigit((unsigned char)text[0]))
        return false;
    errno = 0;
    char *end = NULL;
    unsigned long long n = strtoull(text, &end, 10);
    int64_t unit = end && end[0] && !end[1] ? unit_seconds(end[0]) : 0;
    if (errno != 0 || unit == 0 || n > (unsigned long long)(INT64_MAX / unit))
        return false;
    *out_seconds = (int64_t)n * unit;
    return true;
}

/* "-7d" / "+1h": the signed offset in seconds; false when text is not one. */
static bool parse_offset(const char *text, int64_t *out)
{
    if (text[0] != '-' && text[0] != '+')
        return false;
    int64_t secs = 0;
    if (!cli_parse_duration(text + 1, &secs))
        return false;
    *out = text[0] == '-' ? -secs : secs;
    return true;
}

/* now, today or yesterday at the start of text; its length, or 0. */
static size_t parse_anchor(const char *text, tst_timestamp *out)
{
    static const char *const names[] = {"now", "today", "yesterday"};
    for (int i = 0; i < 3; i++) {
        size_t n = strlen(names[i]);
        if (strncmp(text, names[i], n) != 0 || (text[n] && text[n] != '+' && text[n] != '-'))
            continue;
        *out = cli_now();
        if (i > 0) {
            int64_t day = out->sec >= 0 ? out->sec / 86400 : -((-out->sec + 86399) / 86400);
            out->sec = (day - (i == 2)) * 86400;
            out->nsec = 0;
        }
        return n;
    }
    return 0;
}

bool cli_time_is_relative(const char *text)
{
    tst_timestamp ignored;
    int64_t offset = 0;
    return parse_anchor(text, &ignored) > 0 || parse_offset(text, &offset);
}

static bool parse_relative(const char *text, tst_timestamp *out)
{
    size_t n = parse_anchor(text, out);
    int64_t offset = 0;
    if (n == 0) {
        if (!parse_offset(text, &offset))
            return false;
        *out = cli_now();
    } else if (text[n] && !parse_offset(text + n, &offset)) {
        return false;
    }
    if ((offset > 0 && out->sec > INT64_MAX - offset) ||
        (offset < 0 && out->sec < INT64_MIN - offset))
        return false;
    out->sec += offset;
    return true;
}

/* The absolute forms: RFC 3339, or a date / date and time without an offset (UTC). */
static bool parse_absolute(const char *text, tst_timestamp *out)
{
    char full[64];
    size_t n = strlen(text);
    if (n < 10 || n > 40)
        return false;
    if (n == 10) {
        snprintf(full, sizeof full, "%sT00:00:00Z", text);
        return tst_timestamp_parse(out, full) == 0;
    }
    snprintf(full, sizeof full, "%s%s", text, n == 16 ? ":00" : "");
    if (full[10] == ' ' || full[10] == 't')
        full[10] = 'T';
    size_t end = 19;
    if (strlen(full) >= 19 && full[end] == '.')
        for (end++; isdigit((unsigned char)full[end]); end++)
            ;
    if (strlen(full) >= 19 && full[end] == '\0' && strlen(full) + 1 < sizeof full)
        strcat(full, "Z"); /* no offset: UTC */
    return tst_timestamp_parse(out, full) == 0;
}

bool cli_parse_time(const char *text, tst_timestamp *out)
{
    if (!text || !*text)
        return false;
    return parse_relative(text, out) || parse_absolute(text, out);
}

void cli_format_duration(int64_t sec, uint32_t nsec, char *buf, size_t cap)
{
    /* Whole seconds, largest units first: 2d3h4m5s; "-" before a negative lag. */
    uint64_t s = sec < 0 ? (uint64_t)(-(sec + (nsec > 0))) : (uint64_t)sec;
    bool negative = sec < 0 && s > 0; /* a lag under a second shows as 0s either way */
    static const struct {
        char unit;
        uint64_t secs;
    } units[] = {{'d', 86400}, {'h', 3600}, {'m', 60}, {'s', 1}};
    size_t used = (size_t)snprintf(buf, cap, "%s", negative ? "-" : "");
    for (size_t i = 0; i < 4 && used < cap; i++) {
        uint64_t k = s / units[i].secs;
        s %= units[i].secs;
        if (k > 0)
            used += (size_t)snprintf(buf + used, cap - used, "%llu%c", (unsigned long long)k,
                                     units[i].unit);
    }
    if (used == (negative ? 1u : 0u) && used < cap)
        snprintf(buf + used, cap - used, "0s");
}
