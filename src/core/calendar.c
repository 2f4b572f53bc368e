/*
 * calendar.c — calendars (tstable/calendar.h): the spec and holiday-file
 * parsers, and the expected buckets of a range.
 *
 * The expected set is built day by day: for each local day that could
 * reach the range (three days of margin for offsets and sessions that run
 * past midnight), its sessions — the date's own, or none when the day is
 * closed, or the daily ones — become UTC intervals through the zone's
 * local_to_utc (tzfile.h), lose the closed ranges that cut them, and each
 * piece adds the run of buckets it touches with one add_range. So the cost
 * follows days and sessions, and a year of 1-second buckets costs what a
 * year of daily buckets does.
 *
 * The questions (counts, gaps, last window) then work on two derived sets,
 * both built from runs: CE = covered & expected, and M = expected buckets
 * not covered. A gap is a maximal stretch with no CE bucket, trimmed to its
 * M buckets; the last window is sought inside the stretches free of M.
 */
#include "tstable/calendar.h"

#include "coverage_internal.h"
#include "fail.h"
#include "fsio.h"
#include "tzfile.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define DAY 86400
#define MAX_SESSIONS 16
#define HOLIDAY_FILE_MAX (16u << 20)
#define SPEC_HELP                                                                                  \
    "weekdays, all, days=mon-fri, tz=America/New_York, sessions=09:30-16:00[,...], "               \
    "holidays=FILE, closed=DATE[,DATE...], separated by ';'"
#define ENTRY_HELP                                                                                 \
    "expected YYYY-MM-DD (closed), YYYY-MM-DD HH:MM-HH:MM[,HH:MM-HH:MM] (that day's "              \
    "sessions), or YYYY-MM-DD[ HH:MM] to YYYY-MM-DD[ HH:MM] (a closed range)"

/* Seconds after local midnight; end > start (a session past midnight ends
 * after 86400). */
typedef struct session {
    int32_t start, end;
} session;

typedef struct session_set {
    size_t count;
    session items[MAX_SESSIONS];
} session_set;

typedef struct day_sessions {
    int64_t day; /* local days since 1970-01-01 */
    session_set set;
} day_sessions;

typedef struct span {
    int64_t from, to; /* [from, to): local seconds, or UTC once converted */
} span;

struct tst_calendar {
    unsigned days;
    session_set daily;
    tst_tz *tz;
    int64_t *closed; /* sorted, distinct */
    size_t closed_count, closed_cap;
    day_sessions *dates; /* sorted by day, distinct */
    size_t date_count, date_cap;
    span *ranges;
    size_t range_count, range_cap;
};

static int grow(void **items, size_t *cap, size_t need, size_t size)
{
    if (need <= *cap)
        return 0;
    size_t n = *cap ? *cap * 2 : 16;
    while (n < need)
        n *= 2;
    void *p = realloc(*items, n * size);
    if (!p)
        return tst_fail(TST_ENOMEM, "out of memory building a calendar");
    *items = p;
    *cap = n;
    return 0;
}

int tst_calendar_new(tst_calendar **out)
{
    if (!out)
        return tst_fail(TST_EINVAL, "calendar output is NULL");
    tst_calendar *cal = calloc(1, sizeof *cal);
    if (!cal)
        return tst_fail(TST_ENOMEM, "out of memory creating a calendar");
    cal->days = TST_CALENDAR_ALL_DAYS;
    cal->daily.count = 1;
    cal->daily.items[0] = (session){0, DAY};
    int rc = tst_tz_load(&cal->tz, "UTC");
    if (rc != 0) {
        free(cal);
        return rc;
    }
    *out = cal;
    return 0;
}

void tst_calendar_free(tst_calendar *cal)
{
    if (!cal)
        return;
    tst_tz_free(cal->tz);
    free(cal->closed);
    free(cal->dates);
    free(cal->ranges);
    free(cal);
}

/* ---- small parsers (each advances *i past what it read) ------------------- */

static void skip_spaces(const char *s, size_t *i)
{
    while (s[*i] == ' ' || s[*i] == '\t')
        (*i)++;
}

static bool digits(const char *s, size_t *i, int n, int *out)
{
    int v = 0;
    for (int k = 0; k < n; k++) {
        char c = s[*i + (size_t)k];
        if (c < '0' || c > '9')
            return false;
        v = v * 10 + (c - '0');
    }
    *i += (size_t)n;
    *out = v;
    return true;
}

/* HH:MM[:SS]; 24:00[:00] only where allow_24. */
static bool read_clock(const char *s, size_t *i, bool allow_24, int32_t *out)
{
    int h = 0, m = 0, sec = 0;
    size_t j = *i;
    if (!digits(s, &j, 2, &h) || s[j++] != ':' || !digits(s, &j, 2, &m) || m > 59)
        return false;
    if (s[j] == ':' && s[j + 1] >= '0' && s[j + 1] <= '9' && (j++, !digits(s, &j, 2, &sec) || sec > 59))
        return false;
    if (h > 24 || (h == 24 && (!allow_24 || m || sec)))
        return false;
    *i = j;
    *out = h * 3600 + m * 60 + sec;
    return true;
}

static bool read_date(const char *s, size_t *i, int64_t *out)
{
    int y = 0, m = 0, d = 0;
    size_t j = *i;
    if (!digits(s, &j, 4, &y) || s[j++] != '-' || !digits(s, &j, 2, &m) || s[j++] != '-' ||
        !digits(s, &j, 2, &d) || m < 1 || m > 12 || d < 1)
        return false;
    int64_t day = tst_tz_days_from_civil(y, m, d);
    int64_t yy = 0;
    int mm = 0, dd = 0;
    tst_tz_civil_from_days(day, &yy, &mm, &dd);
    if (mm != m || dd != d)
        return false; /* 2023-02-29 */
    *i = j;
    *out = day;
    return true;
}

/* "09:30-16:00,18:00-20:00" into set; false at the first error, *i on it. */
static bool read_sessions(const char *s, size_t *i, session_set *set)
{
    set->count = 0;
    for (;;) {
        int32_t a = 0, b = 0;
        skip_spaces(s, i);
        if (set->count == MAX_SESSIONS || !read_clock(s, i, false, &a))
            return false;
        skip_spaces(s, i);
        if (s[*i] != '-')
            return false;
        (*i)++;
        skip_spaces(s, i);
        if (!read_clock(s, i, true, &b))
            return false;
        set->items[set->count++] = (session){a, b > a ? b : b + DAY};
        skip_spaces(s, i);
        if (s[*i] != ',')
            return true;
        (*i)++;
    }
}

static int sessions_error(const char *text, size_t at)
{
    return tst_fail(TST_EINVAL,
                    "invalid sessions \"%s\" at position %zu: expected HH:MM-HH:MM[,HH:MM-HH:MM] "
                    "(24-hour local wall clock, at most %d, e.g. 09:30-16:00; an end at or "
                    "before the start runs past midnight)",
                    text, at + 1, MAX_SESSIONS);
}

int tst_calendar_set_sessions(tst_calendar *cal, const char *text)
{
    size_t i = 0;
    session_set set;
    if (!cal || !text)
        return tst_fail(TST_EINVAL, "calendar or sessions text is NULL");
    if (!read_sessions(text, &i, &set) || text[i] != '\0')
        return sessions_error(text, i);
    cal->daily = set;
    return 0;
}

/* ---- days ----------------------------------------------------------------- */

static int day_index(const char *s, size_t *i)
{
    static const char *names[7] = {"mon", "tue", "wed", "thu", "fri", "sat", "sun"};
    for (int d = 0; d < 7; d++)
        if (strncasecmp(s + *i, names[d], 3) == 0) {
            *i += 3;
            return d;
        }
    return -1;
}

int tst_calendar_set_days(tst_calendar *cal, unsigned days)
{
    if (!cal || days == 0 || days > TST_CALENDAR_ALL_DAYS)
        return tst_fail(TST_EINVAL, "calendar days mask %#x: expected bits 0 (Monday) to 6 "
                                    "(Sunday), at least one",
                        days);
    cal->days = days;
    return 0;
}

int tst_calendar_set_days_text(tst_calendar *cal, const char *text)
{
    if (!cal || !text)
        return tst_fail(TST_EINVAL, "calendar or days text is NULL");
    if (strcmp(text, "weekdays") == 0)
        return tst_calendar_set_days(cal, TST_CALENDAR_WEEKDAYS);
    if (strcmp(text, "all") == 0)
        return tst_calendar_set_days(cal, TST_CALENDAR_ALL_DAYS);
    unsigned mask = 0;
    size_t i = 0;
    for (;;) {
        skip_spaces(text, &i);
        int a = day_index(text, &i), b = a;
        skip_spaces(text, &i);
        if (a >= 0 && text[i] == '-') {
            i++;
            skip_spaces(text, &i);
            b = day_index(text, &i);
        }
        if (a < 0 || b < 0)
            return tst_fail(TST_EINVAL,
                            "invalid days \"%s\" at position %zu: expected day names mon tue "
                            "wed thu fri sat sun, ranges like mon-fri (sat-mon wraps), commas "
                            "between, or weekdays / all",
                            text, i + 1);
        for (int d = a;; d = (d + 1) % 7) {
            mask |= 1u << d;
            if (d == b)
                break;
        }
        skip_spaces(text, &i);
        if (text[i] == '\0')
            return tst_calendar_set_days(cal, mask);
        if (text[i] != ',')
            return tst_fail(TST_EINVAL, "invalid days \"%s\" at position %zu: expected ',' "
                                        "between days, e.g. mon,wed-fri",
                            text, i + 1);
        i++;
    }
}

int tst_calendar_set_timezone(tst_calendar *cal, const char *zone)
{
    tst_tz *tz = NULL;
    if (!cal)
        return tst_fail(TST_EINVAL, "calendar is NULL");
    int rc = tst_tz_load(&tz, zone);
    if (rc != 0)
        return rc;
    tst_tz_free(cal->tz);
    cal->tz = tz;
    return 0;
}

/* ---- holidays ------------------------------------------------------------- */

/* First item whose day (an int64_t leading each item) is >= day. */
static size_t lower_day(const void *items, size_t n, int64_t day, size_t stride)
{
    size_t lo = 0, hi = n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        int64_t at = 0;
        memcpy(&at, (const char *)items + mid * stride, sizeof at);
        if (at < day)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

static int add_closed_day(tst_calendar *cal, int64_t day)
{
    size_t at = lower_day(cal->closed, cal->closed_count, day, sizeof(int64_t));
    if (at < cal->closed_count && cal->closed[at] == day)
        return 0;
    int rc = grow((void **)&cal->closed, &cal->closed_cap, cal->closed_count + 1, sizeof(int64_t));
    if (rc != 0)
        return rc;
    memmove(cal->closed + at + 1, cal->closed + at, (cal->closed_count - at) * sizeof(int64_t));
    cal->closed[at] = day;
    cal->closed_count++;
    return 0;
}

static int add_date_sessions(tst_calendar *cal, int64_t day, const session_set *set)
{
    size_t at = lower_day(cal->dates, cal->date_count, day, sizeof(day_sessions));
    if (at < cal->date_count && cal->dates[at].day == day) { /* the later entry wins */
        cal->dates[at].set = *set;
        return 0;
    }
    int rc = grow((void **)&cal->dates, &cal->date_cap, cal->date_count + 1, sizeof(day_sessions));
    if (rc != 0)
        return rc;
    memmove(cal->dates + at + 1, cal->dates + at, (cal->date_count - at) * sizeof(day_sessions));
    cal->dates[at] = (day_sessions){day, *set};
    cal->date_count++;
    return 0;
}

static int add_range(tst_calendar *cal, int64_t from, int64_t to)
{
    if (to <= from)
        return tst_fail(TST_EINVAL, "closed range ends at or before its start");
    int rc = grow((void **)&cal->ranges, &cal->range_cap, cal->range_count + 1, sizeof(span));
    if (rc == 0)
        cal->ranges[cal->range_count++] = (span){from, to};
    return rc;
}

/* "DATE[ HH:MM[:SS]]" as local seconds; a bare date is its midnight, or the
 * next one when it ends a range (whole days are inclusive). */
static bool read_moment(const char *s, size_t *i, bool is_end, int64_t *out)
{
    int64_t day = 0;
    int32_t clock = 0;
    if (!read_date(s, i, &day))
        return false;
    size_t j = *i;
    skip_spaces(s, &j);
    if (read_clock(s, &j, true, &clock)) {
        *i = j;
        *out = day * DAY + clock;
    } else {
        *out = (day + is_end) * DAY;
    }
    return true;
}

static bool read_keyword_to(const char *s, size_t *i)
{
    skip_spaces(s, i);
    if (strncmp(s + *i, "to", 2) != 0)
        return false;
    *i += 2;
    skip_spaces(s, i);
    return true;
}

static int entry_error(const char *entry, size_t at)
{
    return tst_fail(TST_EINVAL, "invalid calendar entry \"%s\" at position %zu: " ENTRY_HELP,
                    entry, at + 1);
}

static int add_entry(tst_calendar *cal, const char *e)
{
    size_t i = 0, j = 0;
    int64_t day = 0, from = 0, to = 0;
    session_set set;
    skip_spaces(e, &i);
    if (!read_date(e, &i, &day))
        return entry_error(e, i);
    skip_spaces(e, &i);
    if (e[i] == '\0')
        return add_closed_day(cal, day);
    j = i;
    int32_t clock = 0;
    if (read_clock(e, &j, true, &clock) && (skip_spaces(e, &j), e[j] == '-')) {
        if (!read_sessions(e, &i, &set) || (skip_spaces(e, &i), e[i] != '\0'))
            return entry_error(e, i);
        return add_date_sessions(cal, day, &set);
    }
    i = 0;
    skip_spaces(e, &i);
    if (!read_moment(e, &i, false, &from) || !read_keyword_to(e, &i) ||
        !read_moment(e, &i, true, &to) || (skip_spaces(e, &i), e[i] != '\0'))
        return entry_error(e, i);
    if (to <= from)
        return tst_fail(TST_EINVAL, "invalid calendar entry \"%s\": the closed range ends at or "
                                    "before its start",
                        e);
    return add_range(cal, from, to);
}

int tst_calendar_add_holiday(tst_calendar *cal, const char *entry)
{
    if (!cal || !entry)
        return tst_fail(TST_EINVAL, "calendar or holiday entry is NULL");
    return add_entry(cal, entry);
}

/* One line: strip the comment and trailing spaces; blank lines add nothing. */
static int add_line(tst_calendar *cal, char *line)
{
    char *hash = strchr(line, '#');
    if (hash)
        *hash = '\0';
    size_t n = strlen(line);
    while (n > 0 && (line[n - 1] == ' ' || line[n - 1] == '\t' || line[n - 1] == '\r'))
        line[--n] = '\0';
    size_t i = 0;
    skip_spaces(line, &i);
    return line[i] ? add_entry(cal, line + i) : 0;
}

int tst_calendar_load_holidays(tst_calendar *cal, const char *path)
{
    char *text = NULL;
    size_t len = 0;
    if (!cal || !path)
        return tst_fail(TST_EINVAL, "calendar or holiday file path is NULL");
    int rc = tst_io_read_file(path, HOLIDAY_FILE_MAX, &text, &len);
    if (rc != 0)
        return tst_fail_context(rc, "calendar holiday file %s", path);
    size_t lineno = 1;
    for (char *line = text; rc == 0 && line; lineno++) {
        char *nl = strchr(line, '\n');
        if (nl)
            *nl = '\0';
        rc = add_line(cal, line);
        if (rc != 0)
            rc = tst_fail_context(rc, "%s:%zu", path, lineno);
        line = nl ? nl + 1 : NULL;
    }
    free(text);
    return rc;
}

/* ---- the spec --------------------------------------------------------------- */

typedef struct spec_item {
    const char *key; /* up to '=' */
    size_t key_len;
    char *value; /* a copy, NUL-terminated, trimmed; NULL without '=' */
    size_t at;   /* position of the item in the spec */
} spec_item;

static bool key_is(const spec_item *it, const char *k)
{
    return it->key_len == strlen(k) && strncmp(it->key, k, it->key_len) == 0;
}

static int spec_error(const char *spec, size_t at, const char *what)
{
    return tst_fail(TST_EINVAL, "invalid calendar \"%s\" at position %zu: %s; accepted: " SPEC_HELP,
                    spec, at + 1, what);
}

static int apply_closed_list(tst_calendar *cal, const char *v)
{
    size_t i = 0;
    for (;;) {
        int64_t day = 0;
        skip_spaces(v, &i);
        if (!read_date(v, &i, &day))
            return tst_fail(TST_EINVAL, "invalid closed dates \"%s\" at position %zu: expected "
                                        "YYYY-MM-DD[,YYYY-MM-DD...]",
                            v, i + 1);
        int rc = add_closed_day(cal, day);
        skip_spaces(v, &i);
        if (rc != 0 || v[i] == '\0')
            return rc;
        if (v[i++] != ',')
            return tst_fail(TST_EINVAL, "invalid closed dates \"%s\" at position %zu: expected ','",
                            v, i);
    }
}

static int apply_item(tst_calendar *cal, const spec_item *it)
{
    if (!it->value && key_is(it, "weekdays"))
        return tst_calendar_set_days(cal, TST_CALENDAR_WEEKDAYS);
    if (!it->value && key_is(it, "all"))
        return tst_calendar_set_days(cal, TST_CALENDAR_ALL_DAYS);
    if (!it->value)
        return 1;
    if (key_is(it, "days"))
        return tst_calendar_set_days_text(cal, it->value);
    if (key_is(it, "tz"))
        return tst_calendar_set_timezone(cal, it->value);
    if (key_is(it, "sessions"))
        return tst_calendar_set_sessions(cal, it->value);
    if (key_is(it, "holidays"))
        return tst_calendar_load_holidays(cal, it->value);
    if (key_is(it, "closed"))
        return apply_closed_list(cal, it->value);
    return 1;
}

/* The name an item counts as for "at most once": weekdays/all/days are one. */
static int item_slot(const spec_item *it)
{
    static const char *keys[] = {"days", "tz", "sessions", "holidays", "closed"};
    if (key_is(it, "weekdays") || key_is(it, "all"))
        return 0;
    for (int k = 0; k < 5; k++)
        if (key_is(it, keys[k]))
            return k;
    return -1;
}

static int read_item(const char *spec, size_t from, size_t to, spec_item *it)
{
    while (from < to && (spec[from] == ' ' || spec[from] == '\t'))
        from++;
    while (to > from && (spec[to - 1] == ' ' || spec[to - 1] == '\t'))
        to--;
    const char *eq = memchr(spec + from, '=', to - from);
    it->key = spec + from;
    it->at = from;
    it->key_len = (size_t)((eq ? eq : spec + to) - it->key);
    while (it->key_len > 0 && it->key[it->key_len - 1] == ' ')
        it->key_len--;
    it->value = NULL;
    if (!eq)
        return 0;
    const char *v = eq + 1;
    while (v < spec + to && *v == ' ')
        v++;
    it->value = strndup(v, (size_t)(spec + to - v));
    return it->value ? 0 : tst_fail(TST_ENOMEM, "out of memory reading a calendar");
}

static int parse_items(tst_calendar *cal, const char *spec)
{
    bool seen[5] = {false};
    size_t from = 0, len = strlen(spec);
    while (from <= len) {
        const char *semi = strchr(spec + from, ';');
        size_t to = semi ? (size_t)(semi - spec) : len;
        spec_item it;
        int rc = read_item(spec, from, to, &it);
        if (rc != 0)
            return rc;
        int slot = item_slot(&it);
        if (it.key_len == 0)
            rc = spec_error(spec, it.at, "empty item");
        else if (slot >= 0 && seen[slot])
            rc = spec_error(spec, it.at, "this item is given twice");
        else
            rc = apply_item(cal, &it);
        if (rc == 1)
            rc = spec_error(spec, it.at, it.value ? "unknown item" : "unknown item (or a missing '=value')");
        else if (rc != 0 && it.value)
            rc = tst_fail_context(rc, "calendar \"%s\", item at position %zu", spec, it.at + 1);
        free(it.value);
        if (rc != 0)
            return rc;
        if (slot >= 0)
            seen[slot] = true;
        from = to + 1;
    }
    return 0;
}

int tst_calendar_parse(tst_calendar **out, const char *spec)
{
    tst_calendar *cal = NULL;
    if (!out || !spec)
        return tst_fail(TST_EINVAL, "calendar spec or output is NULL");
    int rc = tst_calendar_new(&cal);
    if (rc == 0)
        rc = parse_items(cal, spec);
    if (rc != 0) {
        tst_calendar_free(cal);
        return rc;
    }
    *out = cal;
    return 0;
}

/* ---- expected buckets ----------------------------------------------------- */

#define MIN_SEC (-62167219200LL) /* 0000-01-01T00:00:00Z */
#define END_SEC 253402300800LL   /* 10000-01-01T00:00:00Z */

static int64_t floor_div(int64_t a, int64_t b)
{
    return a / b - (a % b != 0 && (a < 0) != (b < 0));
}

typedef struct expect_walk {
    const tst_calendar *cal;
    tst_coverage *out;
    int64_t width, lo, hi; /* [lo, hi): the range in UTC seconds */
    span *closed;          /* UTC, sorted, merged */
    size_t closed_count;
} expect_walk;

static int add_open(const expect_walk *w, int64_t a, int64_t b)
{
    uint64_t first = (uint64_t)floor_div(a, w->width) ^ TST_BUCKET_SIGN_BIT;
    uint64_t last = (uint64_t)floor_div(b - 1, w->width) ^ TST_BUCKET_SIGN_BIT;
    return tst_coverage_add_range(w->out, first, last);
}

/* [a, b) minus the closed ranges. */
static int add_session(const expect_walk *w, int64_t a, int64_t b)
{
    int rc = 0;
    for (size_t k = 0; rc == 0 && k < w->closed_count && a < b; k++) {
        const span *c = &w->closed[k];
        if (c->to <= a)
            continue;
        if (c->from >= b)
            break;
        if (c->from > a)
            rc = add_open(w, a, c->from);
        a = c->to;
    }
    return rc == 0 && a < b ? add_open(w, a, b) : rc;
}

static const session_set *sessions_of(const tst_calendar *cal, int64_t day)
{
    static const session_set none = {0, {{0, 0}}};
    size_t at = lower_day(cal->dates, cal->date_count, day, sizeof(day_sessions));
    if (at < cal->date_count && cal->dates[at].day == day)
        return &cal->dates[at].set;
    size_t c = lower_day(cal->closed, cal->closed_count, day, sizeof(int64_t));
    if (c < cal->closed_count && cal->closed[c] == day)
        return &none;
    return cal->days & (1u << tst_tz_weekday(day)) ? &cal->daily : &none;
}

static int expect_day(const expect_walk *w, int64_t day)
{
    const session_set *set = sessions_of(w->cal, day);
    int rc = 0;
    for (size_t k = 0; rc == 0 && k < set->count; k++) {
        int64_t a = tst_tz_local_to_utc(w->cal->tz, day * DAY + set->items[k].start);
        int64_t b = tst_tz_local_to_utc(w->cal->tz, day * DAY + set->items[k].end);
        a = a > w->lo ? a : w->lo;
        b = b < w->hi ? b : w->hi;
        if (a < b)
            rc = add_session(w, a, b);
    }
    return rc;
}

static int span_cmp(const void *x, const void *y)
{
    const span *a = x, *b = y;
    return a->from < b->from ? -1 : a->from > b->from;
}

/* The closed ranges in UTC, sorted and merged. */
static int closed_utc(expect_walk *w)
{
    const tst_calendar *cal = w->cal;
    if (cal->range_count == 0)
        return 0;
    w->closed = malloc(cal->range_count * sizeof *w->closed);
    if (!w->closed)
        return tst_fail(TST_ENOMEM, "out of memory computing expected buckets");
    for (size_t k = 0; k < cal->range_count; k++)
        w->closed[k] = (span){tst_tz_local_to_utc(cal->tz, cal->ranges[k].from),
                              tst_tz_local_to_utc(cal->tz, cal->ranges[k].to)};
    qsort(w->closed, cal->range_count, sizeof *w->closed, span_cmp);
    size_t n = 0;
    for (size_t k = 0; k < cal->range_count; k++) {
        if (n > 0 && w->closed[k].from <= w->closed[n - 1].to) {
            if (w->closed[k].to > w->closed[n - 1].to)
                w->closed[n - 1].to = w->closed[k].to;
        } else {
            w->closed[n++] = w->closed[k];
        }
    }
    w->closed_count = n;
    return 0;
}

static int check_expected_args(tst_coverage **out, const tst_calendar *cal,
                               const tst_index_kind *kind, uint64_t first, uint64_t last)
{
    if (!out || !cal || !kind)
        return tst_fail(TST_EINVAL, "calendar, index kind or output is NULL");
    if (kind->type != TST_INDEX_TIMESTAMP)
        return tst_fail(TST_EINVAL,
                        "calendars need a timestamp index, and this index is %s: ask without "
                        "a calendar",
                        tst_index_type_name(kind->type));
    if (first > last)
        return tst_fail(TST_EINVAL, "expected buckets: first bucket is after the last");
    if (tst_time_bucket_seconds(kind->bucket) == 0 ||
        tst_time_bucket_seconds(kind->bucket) > (uint64_t)END_SEC)
        return tst_fail(TST_EINVAL, "expected buckets: invalid bucket width");
    return 0;
}

int tst_calendar_expected(tst_coverage **out, const tst_calendar *cal, const tst_index_kind *kind,
                          uint64_t first, uint64_t last)
{
    int rc = check_expected_args(out, cal, kind, first, last);
    if (rc != 0)
        return rc;
    expect_walk w = {cal, NULL, (int64_t)tst_time_bucket_seconds(kind->bucket), 0, 0, NULL, 0};
    int64_t of = (int64_t)(first ^ TST_BUCKET_SIGN_BIT), ol = (int64_t)(last ^ TST_BUCKET_SIGN_BIT);
    int64_t omin = floor_div(MIN_SEC, w.width), omax = floor_div(END_SEC - 1, w.width);
    of = of > omin ? of : omin;
    ol = ol < omax ? ol : omax;
    rc = tst_coverage_new(&w.out);
    if (rc == 0 && of <= ol) {
        w.lo = of * w.width;
        w.hi = (ol + 1) * w.width;
        w.lo = w.lo > MIN_SEC ? w.lo : MIN_SEC;
        w.hi = w.hi < END_SEC ? w.hi : END_SEC;
        rc = closed_utc(&w);
        for (int64_t d = floor_div(w.lo, DAY) - 3; rc == 0 && d <= floor_div(w.hi, DAY) + 1; d++)
            rc = expect_day(&w, d);
    }
    free(w.closed);
    if (rc != 0) {
        tst_coverage_free(w.out);
        return rc;
    }
    *out = w.out;
    return 0;
}

/* ---- questions in buckets ------------------------------------------------- */

typedef struct missing_build {
    const tst_coverage *cov;
    tst_coverage *m;
} missing_build;

static int add_to(void *ctx, uint64_t first, uint64_t last)
{
    return tst_coverage_add_range(ctx, first, last);
}

static int missing_in_run(void *ctx, uint64_t first, uint64_t last)
{
    missing_build *b = ctx;
    return tst_coverage_each_missing_run(b->cov, first, last, 0, add_to, b->m);
}

/* M = expected & ~cov, within [first, last]. */
static int missing_expected(tst_coverage **out, const tst_coverage *cov,
                            const tst_coverage *expected, uint64_t first, uint64_t last)
{
    missing_build b = {cov, NULL};
    int rc = tst_coverage_new(&b.m);
    if (rc == 0)
        rc = tst_coverage_each_run(expected, first, last, missing_in_run, &b);
    if (rc != 0) {
        tst_coverage_free(b.m);
        return rc;
    }
    *out = b.m;
    return 0;
}

typedef struct gap_group {
    const tst_coverage *ce; /* covered & expected: what ends a gap */
    uint64_t max_missing;
    tst_expected_gap_fn fn;
    void *ctx;
    bool open;
    uint64_t first, last, missing;
} gap_group;

static uint64_t add_sat(uint64_t a, uint64_t b)
{
    return a > UINT64_MAX - b ? UINT64_MAX : a + b;
}

static int group_emit(gap_group *g)
{
    g->open = false;
    return g->fn(g->ctx, g->first, g->last, g->missing);
}

static int group_run(void *ctx, uint64_t a, uint64_t b)
{
    gap_group *g = ctx;
    int rc = 0;
    if (g->open && tst_coverage_count_range(g->ce, g->last + 1, a - 1) > 0)
        rc = group_emit(g);
    while (rc == 0) {
        if (!g->open)
            *g = (gap_group){g->ce, g->max_missing, g->fn, g->ctx, true, a, a, 0};
        uint64_t room = g->max_missing ? g->max_missing - g->missing : UINT64_MAX;
        if (b - a < room) { /* the whole run fits */
            g->last = b;
            g->missing = add_sat(g->missing, b - a == UINT64_MAX ? UINT64_MAX : b - a + 1);
            return 0;
        }
        g->last = a + room - 1;
        g->missing += room;
        rc = group_emit(g);
        if (g->last == b)
            return rc;
        a = g->last + 1;
    }
    return rc;
}

int tst_coverage_each_expected_gap(const tst_coverage *cov, const tst_coverage *expected,
                                   uint64_t first, uint64_t last, uint64_t max_missing,
                                   tst_expected_gap_fn fn, void *ctx)
{
    tst_coverage *m = NULL, *ce = NULL;
    if (!cov || !expected || !fn || first > last)
        return tst_fail(TST_EINVAL, "expected gaps: invalid arguments");
    int rc = missing_expected(&m, cov, expected, first, last);
    if (rc == 0)
        rc = tst_coverage_intersect(&ce, cov, expected);
    gap_group g = {ce, max_missing, fn, ctx, false, 0, 0, 0};
    if (rc == 0)
        rc = tst_coverage_each_run(m, first, last, group_run, &g);
    if (rc == 0 && g.open)
        rc = group_emit(&g);
    tst_coverage_free(m);
    tst_coverage_free(ce);
    return rc;
}

static int longest(void *ctx, uint64_t first, uint64_t last, uint64_t missing)
{
    (void)first;
    (void)last;
    uint64_t *max = ctx;
    if (missing > *max)
        *max = missing;
    return 0;
}

int tst_coverage_expected_counts(const tst_coverage *cov, const tst_coverage *expected,
                                 uint64_t first, uint64_t last, uint64_t *covered,
                                 uint64_t *total, double *ratio, uint64_t *max_gap)
{
    tst_coverage *ce = NULL;
    if (!cov || !expected || first > last || !covered || !total || !ratio || !max_gap)
        return tst_fail(TST_EINVAL, "expected counts: invalid arguments");
    int rc = tst_coverage_intersect(&ce, cov, expected);
    uint64_t gap = 0;
    if (rc == 0)
        rc = tst_coverage_each_expected_gap(cov, expected, first, last, 0, longest, &gap);
    if (rc == 0) {
        *covered = tst_coverage_count_range(ce, first, last);
        *total = tst_coverage_count_range(expected, first, last);
        *ratio = *total ? (double)*covered / (double)*total : 1.0;
        *max_gap = gap;
    }
    tst_coverage_free(ce);
    return rc;
}

typedef struct window_scan {
    const tst_coverage *expected;
    uint64_t len;
    bool found;
    uint64_t first, last;
    uint64_t top; /* scratch: the highest expected bucket of a stretch */
    bool any;
} window_scan;

static int highest(void *ctx, uint64_t first, uint64_t last)
{
    window_scan *w = ctx;
    (void)first;
    w->top = last;
    w->any = true;
    return 0;
}

/* [a, b] holds no missing expected bucket: the highest window in it that
 * holds an expected bucket, if it is long enough. */
static int window_stretch(void *ctx, uint64_t a, uint64_t b)
{
    window_scan *w = ctx;
    if (b - a < w->len - 1)
        return 0;
    w->any = false;
    int rc = tst_coverage_each_run(w->expected, a, b, highest, w);
    if (rc != 0 || !w->any)
        return rc;
    uint64_t s = b - (w->len - 1);
    s = w->top < s ? w->top : s;
    w->found = true;
    w->first = s;
    w->last = s + (w->len - 1);
    return 0;
}

int tst_coverage_last_expected_window(const tst_coverage *cov, const tst_coverage *expected,
                                      uint64_t first, uint64_t end_bucket, uint64_t len,
                                      bool *out_found, uint64_t *out_first, uint64_t *out_last)
{
    tst_coverage *m = NULL;
    if (!cov || !expected || !out_found || !out_first || !out_last)
        return tst_fail(TST_EINVAL, "expected window: invalid arguments");
    *out_found = false;
    if (len == 0 || first > end_bucket)
        return 0;
    window_scan w = {expected, len, false, 0, 0, 0, false};
    int rc = missing_expected(&m, cov, expected, first, end_bucket);
    if (rc == 0)
        rc = tst_coverage_each_missing_run(m, first, end_bucket, 0, window_stretch, &w);
    tst_coverage_free(m);
    if (rc == 0 && w.found) {
        *out_found = true;
        *out_first = w.first;
        *out_last = w.last;
    }
    return rc;
}
