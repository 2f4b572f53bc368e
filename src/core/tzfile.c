/*
 * tzfile.c — TZif files and POSIX TZ rules, for calendars (tzfile.h).
 *
 * A zone is a sorted list of transitions (UTC instant, offset from then
 * on), the offset before the first one, and optionally a POSIX rule for
 * every instant after the last one. Calendars ask two questions, each a
 * binary search or a few rule evaluations: the offset at an instant, and
 * the first instant of a wall time (local_to_utc walks the offset
 * intervals from two days before, so it needs "next transition after t").
 *
 * The rule after the last transition is evaluated per UTC year, the way
 * CPython's zoneinfo does, so the differential tests compare like with
 * like: DST starts at the start rule's local standard time and ends at the
 * end rule's local daylight time; when start > end in a year (southern
 * hemisphere) DST is in force outside [end, start).
 *
 * The file is untrusted input: every count is checked against its length
 * before it is read, and a malformed file is TST_ECORRUPT naming it.
 */
#include "tzfile.h"

#include "fail.h"
#include "fsio.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#define TZ_FILE_MAX (4u << 20)
#define DAY 86400

typedef struct rule_date {
    char kind; /* 'J' (1..365, no Feb 29), 'N' (0..365), 'M' (month.week.day) */
    int a, b, c;
    int32_t time; /* seconds after local midnight, may be negative or > 24h */
} rule_date;

typedef struct posix_rule {
    int32_t std_off; /* seconds east of UTC */
    int32_t dst_off;
    bool has_dst;
    rule_date start, end;
} posix_rule;

struct tst_tz {
    char *name;
    size_t count;
    int64_t *times;
    int32_t *offsets; /* in force from times[i] */
    int32_t before;   /* before times[0], or always when there is no rule and no transition */
    bool has_rule;
    posix_rule rule;
};

/* ---- civil dates ---------------------------------------------------------- */

static int64_t floor_div(int64_t a, int64_t b)
{
    return a / b - (a % b != 0 && (a < 0) != (b < 0));
}

int64_t tst_tz_days_from_civil(int64_t y, int m, int d)
{
    y -= m <= 2;
    int64_t era = (y >= 0 ? y : y - 399) / 400;
    int64_t yoe = y - era * 400;
    int64_t doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
    int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + doe - 719468;
}

void tst_tz_civil_from_days(int64_t z, int64_t *y, int *m, int *d)
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

int tst_tz_weekday(int64_t days)
{
    return (int)(((days % 7) + 7 + 3) % 7); /* 1970-01-01 was a Thursday */
}

static bool is_leap(int64_t y)
{
    return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

static int month_days(int64_t y, int m)
{
    static const int days[12] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    return m == 2 && is_leap(y) ? 29 : days[m - 1];
}

/* ---- POSIX rules ---------------------------------------------------------- */

/* Local seconds (since 1970, wall clock) at which the rule date fires in year y. */
static int64_t rule_local(const rule_date *r, int64_t y)
{
    int64_t day = 0;
    if (r->kind == 'J') {
        day = tst_tz_days_from_civil(y, 1, 1) + r->a - 1 + (is_leap(y) && r->a >= 60);
    } else if (r->kind == 'N') {
        day = tst_tz_days_from_civil(y, 1, 1) + r->a;
    } else {
        int64_t first = tst_tz_days_from_civil(y, r->a, 1);
        int sunday_based = (tst_tz_weekday(first) + 1) % 7;
        int dom = 1 + (r->c - sunday_based + 7) % 7 + (r->b - 1) * 7;
        while (dom > month_days(y, r->a))
            dom -= 7;
        day = first + dom - 1;
    }
    return day * DAY + r->time;
}

static void rule_edges(const posix_rule *r, int64_t y, int64_t *start, int64_t *end)
{
    *start = rule_local(&r->start, y) - r->std_off;
    *end = rule_local(&r->end, y) - r->dst_off;
}

static int64_t utc_year(int64_t t)
{
    int64_t y = 0;
    int m = 0, d = 0;
    tst_tz_civil_from_days(floor_div(t, DAY), &y, &m, &d);
    return y;
}

static int32_t rule_offset(const posix_rule *r, int64_t t)
{
    if (!r->has_dst)
        return r->std_off;
    int64_t start = 0, end = 0;
    rule_edges(r, utc_year(t), &start, &end);
    bool dst = start < end ? (start <= t && t < end) : !(end <= t && t < start);
    return dst ? r->dst_off : r->std_off;
}

/* The first rule edge after t, or INT64_MAX. */
static int64_t rule_next(const posix_rule *r, int64_t t)
{
    int64_t y = utc_year(t);
    /* rule_offset re-reads the rule at each UTC new year; count that too */
    int64_t best = tst_tz_days_from_civil(y + 1, 1, 1) * DAY;
    if (!r->has_dst)
        return INT64_MAX;
    for (int64_t k = y - 1; k <= y + 1; k++) {
        int64_t s = 0, e = 0;
        rule_edges(r, k, &s, &e);
        if (s > t && s < best)
            best = s;
        if (e > t && e < best)
            best = e;
    }
    return best;
}

typedef struct cursor {
    const char *s;
    size_t i;
} cursor;

static bool is_digit(char c)
{
    return c >= '0' && c <= '9';
}

static bool read_int(cursor *c, int max_digits, int *out)
{
    int v = 0, n = 0;
    while (n < max_digits && is_digit(c->s[c->i])) {
        v = v * 10 + (c->s[c->i++] - '0');
        n++;
    }
    *out = v;
    return n > 0;
}

/* [+-]hh[:mm[:ss]] with hh up to 167 (RFC 8536 v3); the value as written. */
static bool read_hms(cursor *c, int32_t *out)
{
    int sign = 1, h = 0, m = 0, s = 0;
    if (c->s[c->i] == '+' || c->s[c->i] == '-')
        sign = c->s[c->i++] == '-' ? -1 : 1;
    if (!read_int(c, 3, &h) || h > 167)
        return false;
    if (c->s[c->i] == ':' && (c->i++, !read_int(c, 2, &m) || m > 59))
        return false;
    if (c->s[c->i] == ':' && (c->i++, !read_int(c, 2, &s) || s > 59))
        return false;
    *out = sign * (h * 3600 + m * 60 + s);
    return true;
}

static bool read_zone_abbr(cursor *c)
{
    size_t from = c->i;
    if (c->s[c->i] == '<') {
        while (c->s[c->i] && c->s[c->i] != '>')
            c->i++;
        if (c->s[c->i] != '>')
            return false;
        c->i++;
        return c->i - from >= 3;
    }
    while ((c->s[c->i] >= 'A' && c->s[c->i] <= 'Z') || (c->s[c->i] >= 'a' && c->s[c->i] <= 'z'))
        c->i++;
    return c->i - from >= 3;
}

static bool read_rule_date(cursor *c, rule_date *r)
{
    r->time = 7200;
    if (c->s[c->i] == 'M') {
        c->i++;
        r->kind = 'M';
        if (!read_int(c, 2, &r->a) || c->s[c->i++] != '.' || !read_int(c, 1, &r->b) ||
            c->s[c->i++] != '.' || !read_int(c, 1, &r->c))
            return false;
        if (r->a < 1 || r->a > 12 || r->b < 1 || r->b > 5 || r->c > 6)
            return false;
    } else if (c->s[c->i] == 'J') {
        c->i++;
        r->kind = 'J';
        if (!read_int(c, 3, &r->a) || r->a < 1 || r->a > 365)
            return false;
    } else {
        r->kind = 'N';
        if (!read_int(c, 3, &r->a) || r->a > 365)
            return false;
    }
    if (c->s[c->i] == '/') {
        c->i++;
        return read_hms(c, &r->time);
    }
    return true;
}

/* A zone offset: POSIX allows up to 24:59:59 (only rule times reach 167 h). */
static bool read_offset(cursor *c, int32_t *out)
{
    return read_hms(c, out) && *out > -25 * 3600 && *out < 25 * 3600;
}

static bool parse_rule(const char *text, posix_rule *r)
{
    cursor c = {text, 0};
    int32_t off = 0;
    memset(r, 0, sizeof *r);
    if (!read_zone_abbr(&c) || !read_offset(&c, &off))
        return false;
    r->std_off = -off;
    if (!text[c.i])
        return true;
    if (!read_zone_abbr(&c))
        return false;
    r->has_dst = true;
    r->dst_off = r->std_off + 3600;
    if (text[c.i] && text[c.i] != ',') {
        if (!read_offset(&c, &off))
            return false;
        r->dst_off = -off;
    }
    if (!text[c.i]) { /* no dates: the US rules POSIX implementations assume */
        r->start = (rule_date){'M', 3, 2, 0, 7200};
        r->end = (rule_date){'M', 11, 1, 0, 7200};
        return true;
    }
    if (text[c.i++] != ',' || !read_rule_date(&c, &r->start) || text[c.i++] != ',' ||
        !read_rule_date(&c, &r->end))
        return false;
    return text[c.i] == '\0';
}

/* ---- zones ---------------------------------------------------------------- */

static int tz_alloc(tst_tz **out, const char *name, size_t count)
{
    tst_tz *tz = calloc(1, sizeof *tz);
    if (tz) {
        tz->name = strdup(name);
        tz->count = count;
        tz->times = calloc(count ? count : 1, sizeof *tz->times);
        tz->offsets = calloc(count ? count : 1, sizeof *tz->offsets);
    }
    if (!tz || !tz->name || !tz->times || !tz->offsets) {
        tst_tz_free(tz);
        return tst_fail(TST_ENOMEM, "out of memory loading time zone \"%s\"", name);
    }
    *out = tz;
    return 0;
}

void tst_tz_free(tst_tz *tz)
{
    if (!tz)
        return;
    free(tz->name);
    free(tz->times);
    free(tz->offsets);
    free(tz);
}

const char *tst_tz_name(const tst_tz *tz)
{
    return tz->name;
}

int tst_tz_from_rule(tst_tz **out, const char *rule)
{
    posix_rule r;
    if (!rule || !parse_rule(rule, &r))
        return tst_fail(TST_EINVAL,
                        "invalid POSIX TZ rule \"%s\": expected e.g. EST5EDT,M3.2.0,M11.1.0",
                        rule ? rule : "(null)");
    int rc = tz_alloc(out, rule, 0);
    if (rc == 0) {
        (*out)->has_rule = true;
        (*out)->rule = r;
        (*out)->before = r.std_off;
    }
    return rc;
}

static uint32_t be32(const uint8_t *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static int64_t be64(const uint8_t *p)
{
    return (int64_t)((uint64_t)be32(p) << 32 | be32(p + 4));
}

typedef struct tzif_header {
    uint32_t isut, isstd, leap, time, type, chars;
} tzif_header;

static bool read_header(const uint8_t *p, size_t len, tzif_header *h)
{
    if (len < 44 || memcmp(p, "TZif", 4) != 0)
        return false;
    uint32_t *f[6] = {&h->isut, &h->isstd, &h->leap, &h->time, &h->type, &h->chars};
    for (int i = 0; i < 6; i++)
        *f[i] = be32(p + 20 + 4 * i);
    return h->type >= 1 && h->type <= 256 && h->time <= 1000000 && h->leap <= 100000 &&
           h->chars <= 100000 && h->isut <= 256 && h->isstd <= 256;
}

static size_t body_size(const tzif_header *h, size_t tsize)
{
    return (size_t)h->time * (tsize + 1) + (size_t)h->type * 6 + h->chars +
           (size_t)h->leap * (tsize + 4) + h->isstd + h->isut;
}

static int corrupt(const char *name, const char *what)
{
    return tst_fail(TST_ECORRUPT,
                    "time zone \"%s\": the TZif file is malformed (%s); reinstall the tz "
                    "database (Debian: tzdata)",
                    name, what);
}

/* Fills transitions and the offset before them from one data block. */
static int read_block(tst_tz *tz, const uint8_t *p, const tzif_header *h, size_t tsize)
{
    const uint8_t *idx = p + (size_t)h->time * tsize, *types = idx + h->time;
    for (uint32_t i = 0; i < h->time; i++) {
        tz->times[i] = tsize == 8 ? be64(p + 8 * i) : (int32_t)be32(p + 4 * i);
        if (idx[i] >= h->type || (i > 0 && tz->times[i] <= tz->times[i - 1]))
            return corrupt(tz->name, "transition out of order or of an unknown type");
        tz->offsets[i] = (int32_t)be32(types + 6 * idx[i]);
    }
    for (uint32_t j = 0; j < h->type; j++) /* local_to_utc relies on |offset| <= 26 h */
        if ((int32_t)be32(types + 6 * j) < -26 * 3600 || (int32_t)be32(types + 6 * j) > 26 * 3600)
            return corrupt(tz->name, "a UTC offset beyond 26 hours");
    tz->before = (int32_t)be32(types);
    for (uint32_t j = 0; j < h->type; j++)
        if (types[6 * j + 4] == 0) { /* the first standard-time type, as zoneinfo */
            tz->before = (int32_t)be32(types + 6 * j);
            break;
        }
    return 0;
}

static int read_footer(tst_tz *tz, const uint8_t *p, size_t len)
{
    if (len < 2 || p[0] != '\n')
        return corrupt(tz->name, "no footer");
    const uint8_t *nl = memchr(p + 1, '\n', len - 1);
    if (!nl)
        return corrupt(tz->name, "unterminated footer");
    size_t n = (size_t)(nl - p - 1);
    if (n == 0)
        return 0; /* no rule: the last transition's offset stays */
    char text[128];
    if (n >= sizeof text)
        return corrupt(tz->name, "footer too long");
    memcpy(text, p + 1, n);
    text[n] = '\0';
    if (!parse_rule(text, &tz->rule))
        return corrupt(tz->name, "footer is not a POSIX TZ rule");
    tz->has_rule = true;
    return 0;
}

int tst_tz_parse(tst_tz **out, const char *name, const uint8_t *bytes, size_t len)
{
    tzif_header h;
    if (!read_header(bytes, len, &h))
        return corrupt(name, "bad header");
    size_t tsize = 4, at = 44, v1 = body_size(&h, 4);
    if (v1 > len - at)
        return corrupt(name, "truncated");
    bool v2 = bytes[4] >= '2';
    if (v2) {
        at += v1;
        if (!read_header(bytes + at, len - at, &h))
            return corrupt(name, "bad second header");
        at += 44;
        tsize = 8;
        if (body_size(&h, 8) > len - at)
            return corrupt(name, "truncated");
    }
    tst_tz *tz = NULL;
    int rc = tz_alloc(&tz, name, h.time);
    if (rc == 0)
        rc = read_block(tz, bytes + at, &h, tsize);
    if (rc == 0 && v2)
        rc = read_footer(tz, bytes + at + body_size(&h, 8), len - at - body_size(&h, 8));
    if (rc != 0) {
        tst_tz_free(tz);
        return rc;
    }
    *out = tz;
    return 0;
}

/* "+05:30", "-0800", "+05": seconds east of UTC. */
static bool parse_fixed(const char *s, int32_t *out)
{
    if (s[0] != '+' && s[0] != '-')
        return false;
    int h = 0, m = 0;
    cursor c = {s + 1, 0};
    if (!read_int(&c, 2, &h) || c.i != 2 || h > 23)
        return false;
    if (c.s[c.i] == ':')
        c.i++;
    if (c.s[c.i] && (!read_int(&c, 2, &m) || m > 59 || c.s[c.i]))
        return false;
    *out = (s[0] == '-' ? -1 : 1) * (h * 3600 + m * 60);
    return true;
}

static bool is_utc_name(const char *s)
{
    return strcmp(s, "UTC") == 0 || strcmp(s, "Z") == 0 || strcmp(s, "GMT") == 0 ||
           strcmp(s, "Etc/UTC") == 0 || strcmp(s, "utc") == 0;
}

static bool safe_name(const char *s)
{
    if (!s[0] || s[0] == '/' || strstr(s, "..") || strlen(s) > 200)
        return false;
    for (const char *p = s; *p; p++)
        if (!((*p >= 'A' && *p <= 'Z') || (*p >= 'a' && *p <= 'z') || is_digit(*p) ||
              strchr("_+-/", *p)))
            return false;
    return true;
}

static int load_file(tst_tz **out, const char *name, const char *path)
{
    char *bytes = NULL;
    size_t len = 0;
    int rc = tst_io_read_file(path, TZ_FILE_MAX, &bytes, &len);
    if (rc == 0)
        rc = tst_tz_parse(out, name, (const uint8_t *)bytes, len);
    free(bytes);
    return rc != 0 ? tst_fail_context(rc, "time zone \"%s\" (%s)", name, path) : 0;
}

int tst_tz_load(tst_tz **out, const char *name)
{
    int32_t fixed = 0;
    if (!out || !name)
        return tst_fail(TST_EINVAL, "time zone name is NULL");
    if (is_utc_name(name) || parse_fixed(name, &fixed)) {
        int rc = tz_alloc(out, name, 0);
        if (rc == 0)
            (*out)->before = fixed;
        return rc;
    }
    if (!safe_name(name))
        return tst_fail(TST_EINVAL,
                        "invalid time zone \"%s\": expected UTC, an offset like +05:30, or a "
                        "tz database name like America/New_York",
                        name);
    const char *tzdir = getenv("TZDIR");
    const char *dirs[] = {tzdir && tzdir[0] ? tzdir : NULL, "/usr/share/zoneinfo",
                          "/usr/lib/zoneinfo", "/usr/share/lib/zoneinfo"};
    char searched[1024] = "";
    for (size_t i = 0; i < sizeof dirs / sizeof dirs[0]; i++) {
        if (!dirs[i])
            continue;
        char path[1400];
        struct stat st;
        snprintf(path, sizeof path, "%s/%s", dirs[i], name);
        if (stat(path, &st) == 0 && S_ISREG(st.st_mode))
            return load_file(out, name, path);
        size_t used = strlen(searched);
        snprintf(searched + used, sizeof searched - used, "%s%s", used ? ", " : "", dirs[i]);
    }
    return tst_fail(TST_ENOTFOUND,
                    "time zone \"%s\" not found: searched %s; install the tz database "
                    "(Debian: apt-get install tzdata), set TZDIR, or check the name "
                    "(e.g. America/New_York, Europe/London, UTC, +05:30)",
                    name, searched);
}

/* ---- questions ------------------------------------------------------------ */

/* Index of the last transition at or before t; -1 when t precedes them all. */
static ptrdiff_t find(const tst_tz *tz, int64_t t)
{
    ptrdiff_t lo = 0, hi = (ptrdiff_t)tz->count; /* answer in [lo - 1, hi - 1] */
    while (lo < hi) {
        ptrdiff_t mid = lo + (hi - lo) / 2;
        if (tz->times[mid] <= t)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo - 1;
}

static bool after_table(const tst_tz *tz, int64_t t)
{
    return tz->has_rule && (tz->count == 0 || t > tz->times[tz->count - 1]);
}

int32_t tst_tz_offset_at(const tst_tz *tz, int64_t t)
{
    if (after_table(tz, t))
        return rule_offset(&tz->rule, t);
    ptrdiff_t i = find(tz, t);
    return i < 0 ? tz->before : tz->offsets[i];
}

/* The first instant after t at which the offset may change, or INT64_MAX. */
static int64_t next_change(const tst_tz *tz, int64_t t)
{
    ptrdiff_t i = find(tz, t);
    if ((size_t)(i + 1) < tz->count)
        return tz->times[i + 1];
    if (!tz->has_rule)
        return INT64_MAX;
    return tz->count > 0 && t < tz->times[tz->count - 1] + 1 ? tz->times[tz->count - 1] + 1
                                                             : rule_next(&tz->rule, t);
}

int64_t tst_tz_local_to_utc(const tst_tz *tz, int64_t local)
{
    /* Offsets stay within ±26 h, so two days earlier every wall time is
     * still before `local`; walk the intervals of constant offset from there. */
    int64_t t = local - 2 * DAY;
    for (int guard = 0; guard < 1000; guard++) {
        int32_t off = tst_tz_offset_at(tz, t);
        int64_t change = next_change(tz, t);
        int64_t first = local - off > t ? local - off : t;
        if (first < change)
            return first;
        t = change;
    }
    return local - tst_tz_offset_at(tz, local); /* unreachable for real zones */
}
