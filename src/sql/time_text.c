/*
 * time_text.c — ISO-8601 text to an instant, as a TIMESTAMPTZ in a UTC
 * session reads it, for the coverage table functions (tstable_coverage and
 * tstable_gaps take their bounds as text). Pruning does not use it: it asks
 * DuckDB, in the statement's session, what a constant means (prune.c).
 *
 * Accepted: 'YYYY-MM-DD[( |T)HH:MM:SS[.fraction]][Z|+hh[:mm]|-hh[:mm]]'.
 */
#include "session_internal.h"

#include <ctype.h>
#include <stdbool.h>
#include <stdint.h>
#include <string.h>

__extension__ typedef __int128 wide;
#define NS_PER_SEC 1000000000LL

static int64_t days_from_civil(int64_t y, unsigned m, unsigned d)
{
    y -= m <= 2;
    int64_t era = (y >= 0 ? y : y - 399) / 400;
    unsigned yoe = (unsigned)(y - era * 400);
    unsigned doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + (int64_t)doe - 719468;
}

static bool digits(const char **p, const char *end, int n, int *out)
{
    int v = 0;
    for (int i = 0; i < n; i++, (*p)++) {
        if (*p >= end || !isdigit((unsigned char)**p))
            return false;
        v = v * 10 + (**p - '0');
    }
    *out = v;
    return true;
}

static bool valid_date(int y, int m, int d)
{
    static const int mdays[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    if (m < 1 || m > 12 || d < 1)
        return false;
    bool leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
    return d <= mdays[m - 1] + (m == 2 && leap);
}

/* "[.f{1,9}]": nanoseconds. */
static bool read_fraction(const char **p, const char *end, int64_t *nsec)
{
    *nsec = 0;
    if (*p >= end || **p != '.')
        return true;
    (*p)++;
    int n = 0;
    int64_t scale = 100000000;
    for (; *p < end && isdigit((unsigned char)**p); (*p)++, n++, scale /= 10) {
        if (n == 9)
            return false;
        *nsec += (**p - '0') * scale;
    }
    return n > 0;
}

/* "Z" or "+hh[:mm]" / "-hh[:mm]" in seconds east of UTC; nothing is 0. */
static bool read_offset(const char **p, const char *end, int64_t *offset)
{
    *offset = 0;
    if (*p == end)
        return true;
    if (**p == 'Z' || **p == 'z') {
        (*p)++;
        return *p == end;
    }
    int sign = **p == '+' ? 1 : **p == '-' ? -1 : 0;
    int hh = 0, mm = 0;
    if (!sign)
        return false;
    (*p)++;
    if (!digits(p, end, 2, &hh) || hh > 23)
        return false;
    if (*p < end && **p == ':' && (++(*p), !digits(p, end, 2, &mm)))
        return false;
    *offset = sign * (hh * 3600 + mm * 60);
    return *p == end && mm < 60;
}

/*
 * A timestamp text as nanoseconds since the epoch. zoned: read as
 * TIMESTAMPTZ (an offset applies); otherwise as TIMESTAMP, which ignores an
 * offset, so only a zero one is accepted. date_only: DATE.
 */
static bool parse_timestamp(const char *text, size_t len, bool zoned, bool date_only,
                            wide *out, bool *fuzzy)
{
    const char *p = text, *end = text + len;
    int y = 0, mo = 0, d = 0, h = 0, mi = 0, s = 0;
    int64_t nsec = 0, offset = 0;
    if (!digits(&p, end, 4, &y) || p >= end || *p++ != '-' || !digits(&p, end, 2, &mo) ||
        p >= end || *p++ != '-' || !digits(&p, end, 2, &d) || !valid_date(y, mo, d))
        return false;
    if (p < end) {
        if (date_only || (*p != 'T' && *p != 't' && *p != ' '))
            return false;
        p++;
        if (!digits(&p, end, 2, &h) || p >= end || *p++ != ':' || !digits(&p, end, 2, &mi) ||
            p >= end || *p++ != ':' || !digits(&p, end, 2, &s) || h > 23 || mi > 59 || s > 59 ||
            !read_fraction(&p, end, &nsec) || !read_offset(&p, end, &offset))
            return false;
        if (offset != 0 && !zoned)
            return false;
    }
    int64_t secs = days_from_civil(y, (unsigned)mo, (unsigned)d) * 86400 + h * 3600 + mi * 60 + s;
    *out = ((wide)secs - offset) * NS_PER_SEC + nsec;
    *fuzzy = nsec != 0;
    return true;
}

/* Used by the coverage table functions: ISO text to an instant, as a
 * TIMESTAMPTZ in a UTC session reads it. */
bool tst_session_parse_time(const char *text, tst_timestamp *out)
{
    wide ns = 0;
    bool fuzzy = false;
    if (!text || !parse_timestamp(text, strlen(text), true, false, &ns, &fuzzy))
        return false;
    wide sec = ns / NS_PER_SEC, rem = ns % NS_PER_SEC;
    if (rem < 0)
        sec -= 1, rem += NS_PER_SEC;
    out->sec = (int64_t)sec;
    out->nsec = (uint32_t)rem;
    return true;
}
