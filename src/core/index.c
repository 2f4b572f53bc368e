/*
 * index.c — index values, time bucket specs, and the mapping from index
 * values to bucket ids (tstable/index.h; format-v6 reference §1.5, §1.6,
 * §1.10). RFC 3339 text lives in timestamp.c.
 *
 * Bucket ids are on-disk format: coverage sidecars store them. So the
 * arithmetic here is exact over the whole of each domain, never overflows
 * (UBSan runs on the tests), and matches the reference bit for bit:
 *
 *   timestamp: bucket = (u64)floor_div(sec, width_seconds) ^ 2^63
 *   int64:     bucket = (u64)floor_div(value, width) ^ 2^63
 *   uint64:    bucket = value / width
 *
 * The reverse direction (tst_bucket_bounds) works in 128-bit integers: a
 * bucket's start is ordinal * width, which for int64 widths near 2^64 or
 * timestamp widths of billions of days does not fit in 64 bits. Bounds are
 * clipped to the domain; a bucket that no value of the domain falls into is
 * TST_EINVAL. The timestamp domain is years 0000..9999, the range RFC 3339
 * text (and so the commit log) can carry.
 *
 * Every call is pure and allocation-free; callers run it per row.
 */
#include "fail.h"
#include "tstable/index.h"

#include <stdio.h>
#include <string.h>
#include <strings.h>

typedef __int128 i128;

/* 0000-01-01T00:00:00Z and 9999-12-31T23:59:59Z as epoch seconds (as in timestamp.c). */
#define TIMESTAMP_MIN_SEC (-62167219200LL)
#define TIMESTAMP_MAX_SEC 253402300799LL
#define NANOS_PER_SECOND 1000000000u

/* ------------------------------------------------------------ values */

tst_index_value tst_index_value_timestamp(int64_t sec, uint32_t nsec)
{
    tst_index_value v = {.type = TST_INDEX_TIMESTAMP};
    v.v.ts.sec = sec;
    v.v.ts.nsec = nsec;
    return v;
}

tst_index_value tst_index_value_int64(int64_t value)
{
    tst_index_value v = {.type = TST_INDEX_INT64};
    v.v.i64 = value;
    return v;
}

tst_index_value tst_index_value_uint64(uint64_t value)
{
    tst_index_value v = {.type = TST_INDEX_UINT64};
    v.v.u64 = value;
    return v;
}

const char *tst_index_type_name(tst_index_type type)
{
    switch (type) {
    case TST_INDEX_TIMESTAMP:
        return "timestamp";
    case TST_INDEX_INT64:
        return "int64";
    case TST_INDEX_UINT64:
        return "uint64";
    }
    return "unknown";
}

static int check_value(const tst_index_value *value)
{
    if (value == NULL)
        return tst_fail(TST_EINVAL, "no index value given");
    if (value->type == TST_INDEX_TIMESTAMP && value->v.ts.nsec >= NANOS_PER_SECOND)
        return tst_fail(TST_EINVAL, "invalid timestamp value: nanoseconds %u exceed 999999999",
                        value->v.ts.nsec);
    if (value->type < TST_INDEX_TIMESTAMP || value->type > TST_INDEX_UINT64)
        return tst_fail(TST_EINVAL, "invalid index value type %d", (int)value->type);
    return 0;
}

static int cmp_int(bool less, bool greater)
{
    return less ? -1 : greater ? 1 : 0;
}

/* Compares two values already known to share a domain. */
static int compare_same(const tst_index_value *a, const tst_index_value *b)
{
    switch (a->type) {
    case TST_INDEX_TIMESTAMP:
        if (a->v.ts.sec != b->v.ts.sec)
            return cmp_int(a->v.ts.sec < b->v.ts.sec, true);
        return cmp_int(a->v.ts.nsec < b->v.ts.nsec, a->v.ts.nsec > b->v.ts.nsec);
    case TST_INDEX_INT64:
        return cmp_int(a->v.i64 < b->v.i64, a->v.i64 > b->v.i64);
    case TST_INDEX_UINT64:
        return cmp_int(a->v.u64 < b->v.u64, a->v.u64 > b->v.u64);
    }
    return 0;
}

int tst_index_value_compare(const tst_index_value *a, const tst_index_value *b, int *out_cmp)
{
    int rc = check_value(a);
    if (rc == 0)
        rc = check_value(b);
    if (rc != 0)
        return rc;
    if (a->type != b->type)
        return tst_fail(TST_EINVAL, "cannot compare index values of different domains: %s and %s",
                        tst_index_type_name(a->type), tst_index_type_name(b->type));
    *out_cmp = compare_same(a, b);
    return 0;
}

/* Copies finished text into the caller's buffer, or fails if it does not fit. */
static int copy_out(const char *text, char *buf, size_t cap, const char *what)
{
    size_t n = strlen(text);
    if (buf == NULL || n >= cap) {
        if (buf != NULL && cap > 0)
            buf[0] = '\0';
        return tst_fail(TST_EINVAL, "cannot format %s %s: buffer of %zu bytes is too small", what,
                        text, cap);
    }
    memcpy(buf, text, n + 1);
    return (int)n;
}

int tst_index_value_format(const tst_index_value *value, char *buf, size_t cap)
{
    int rc = check_value(value);
    if (rc != 0)
        return rc;
    char text[TST_TIMESTAMP_TEXT_MAX];
    switch (value->type) {
    case TST_INDEX_TIMESTAMP:
        return tst_timestamp_format(value->v.ts, buf, cap);
    case TST_INDEX_INT64:
        snprintf(text, sizeof text, "%lld", (long long)value->v.i64);
        break;
    case TST_INDEX_UINT64:
        snprintf(text, sizeof text, "%llu", (unsigned long long)value->v.u64);
        break;
    }
    return copy_out(text, buf, cap, "index value");
}

/* ------------------------------------------------------- time buckets */

static uint64_t unit_seconds(tst_time_unit unit)
{
    switch (unit) {
    case TST_TIME_SECONDS:
        return 1;
    case TST_TIME_MINUTES:
        return 60;
    case TST_TIME_HOURS:
        return 3600;
    case TST_TIME_DAYS:
        return 86400;
    }
    return 0;
}

uint64_t tst_time_bucket_seconds(tst_time_bucket bucket)
{
    /* At most 2^32 * 86400 < 2^49: no overflow. 0 for an invalid unit. */
    return unit_seconds(bucket.unit) * bucket.count;
}

static bool is_space(char c)
{
    return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v';
}

static bool is_letter(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

/* A slice of the spec: the parser never copies or writes the input. */
typedef struct span {
    const char *p;
    size_t n;
} span;

static span trim(span s)
{
    while (s.n > 0 && is_space(s.p[0])) {
        s.p++;
        s.n--;
    }
    while (s.n > 0 && is_space(s.p[s.n - 1]))
        s.n--;
    return s;
}

/* Matches a unit word, ignoring ASCII case, against the aliases of §1.5. */
static bool unit_from_word(span word, tst_time_unit *out)
{
    static const struct {
        const char *word;
        tst_time_unit unit;
    } aliases[] = {
        {"s", TST_TIME_SECONDS}, {"sec", TST_TIME_SECONDS},  {"secs", TST_TIME_SECONDS},
        {"second", TST_TIME_SECONDS}, {"seconds", TST_TIME_SECONDS}, {"m", TST_TIME_MINUTES},
        {"min", TST_TIME_MINUTES}, {"mins", TST_TIME_MINUTES}, {"minute", TST_TIME_MINUTES},
        {"minutes", TST_TIME_MINUTES}, {"h", TST_TIME_HOURS}, {"hr", TST_TIME_HOURS},
        {"hrs", TST_TIME_HOURS}, {"hour", TST_TIME_HOURS}, {"hours", TST_TIME_HOURS},
        {"d", TST_TIME_DAYS}, {"day", TST_TIME_DAYS}, {"days", TST_TIME_DAYS},
    };
    for (size_t i = 0; i < sizeof aliases / sizeof aliases[0]; i++) {
        if (strlen(aliases[i].word) == word.n && strncasecmp(aliases[i].word, word.p, word.n) == 0) {
            *out = aliases[i].unit;
            return true;
        }
    }
    return false;
}

/* The count: decimal digits only (no sign, '_' or '.'), 1 ..= UINT32_MAX. */
static int parse_count(span num, span spec, uint32_t *out)
{
    uint64_t v = 0;
    bool too_large = false;
    for (size_t i = 0; i < num.n; i++) {
        if (num.p[i] < '0' || num.p[i] > '9')
            return tst_fail(TST_EINVAL,
                            "invalid number '%.*s' in time bucket '%.*s' (expected a positive "
                            "integer, e.g. '15m')",
                            (int)num.n, num.p, (int)spec.n, spec.p);
        v = v * 10 + (uint64_t)(num.p[i] - '0');
        too_large = too_large || v > UINT32_MAX;
        if (too_large)
            v = (uint64_t)UINT32_MAX + 1; /* keep scanning for bad digits, never overflow */
    }
    if (too_large)
        return tst_fail(TST_EINVAL, "time bucket count '%.*s' in '%.*s' is too large (maximum %u)",
                        (int)num.n, num.p, (int)spec.n, spec.p, (unsigned)UINT32_MAX);
    if (v == 0)
        return tst_fail(TST_EINVAL, "time bucket count must be positive, got '%.*s' in '%.*s'",
                        (int)num.n, num.p, (int)spec.n, spec.p);
    *out = (uint32_t)v;
    return 0;
}

int tst_time_bucket_parse(tst_time_bucket *out, const char *spec_text)
{
    span spec = trim((span){spec_text ? spec_text : "", spec_text ? strlen(spec_text) : 0});
    if (spec.n == 0)
        return tst_fail(TST_EINVAL, "time bucket spec is empty (expected e.g. '1h', '15m', '1d')");
    size_t at = 0;
    while (at < spec.n && !is_letter(spec.p[at]))
        at++;
    if (at == spec.n)
        return tst_fail(TST_EINVAL, "time bucket '%.*s' has no unit (expected s|m|h|d, e.g. '%.*sh')",
                        (int)spec.n, spec.p, (int)spec.n, spec.p);
    span num = trim((span){spec.p, at});
    span word = {spec.p + at, spec.n - at};
    if (num.n == 0)
        return tst_fail(TST_EINVAL, "time bucket '%.*s' has no number before its unit (e.g. '1h')",
                        (int)spec.n, spec.p);
    tst_time_bucket parsed;
    int rc = parse_count(num, spec, &parsed.count);
    if (rc != 0)
        return rc;
    if (!unit_from_word(word, &parsed.unit))
        return tst_fail(TST_EINVAL, "unknown time bucket unit '%.*s' in '%.*s' (expected s|m|h|d)",
                        (int)word.n, word.p, (int)spec.n, spec.p);
    *out = parsed;
    return 0;
}

int tst_time_bucket_format(tst_time_bucket bucket, char *buf, size_t cap)
{
    static const char letters[] = {'?', 's', 'm', 'h', 'd'};
    if (unit_seconds(bucket.unit) == 0 || bucket.count == 0)
        return tst_fail(TST_EINVAL, "cannot format time bucket: unit %d, count %u is not valid",
                        (int)bucket.unit, bucket.count);
    char text[16];
    snprintf(text, sizeof text, "%u%c", bucket.count, letters[bucket.unit]);
    return copy_out(text, buf, cap, "time bucket");
}

/* ------------------------------------------------------------ buckets */

static int check_kind(const tst_index_kind *kind)
{
    if (kind == NULL)
        return tst_fail(TST_EINVAL, "no index kind given");
    switch (kind->type) {
    case TST_INDEX_TIMESTAMP:
        if (tst_time_bucket_seconds(kind->bucket) == 0)
            return tst_fail(TST_EINVAL, "invalid timestamp index: time bucket unit %d, count %u",
                            (int)kind->bucket.unit, kind->bucket.count);
        return 0;
    case TST_INDEX_INT64:
    case TST_INDEX_UINT64:
        if (kind->bucket_width == 0)
            return tst_fail(TST_EINVAL, "invalid %s index: bucket width must be at least 1",
                            tst_index_type_name(kind->type));
        return 0;
    }
    return tst_fail(TST_EINVAL, "invalid index type %d", (int)kind->type);
}

/* The kind is valid and the value belongs to its domain. */
static int check_kind_value(const tst_index_kind *kind, const tst_index_value *value)
{
    int rc = check_kind(kind);
    if (rc == 0)
        rc = check_value(value);
    if (rc == 0 && value->type != kind->type)
        rc = tst_fail(TST_EINVAL, "index value is %s, but the index is %s",
                      tst_index_type_name(value->type), tst_index_type_name(kind->type));
    return rc;
}

/* floor(a / b) for b >= 1, rounding toward minus infinity, never overflowing. */
static int64_t floor_div(int64_t a, int64_t b)
{
    int64_t q = a / b;
    if (a % b != 0 && a < 0)
        q -= 1; /* a < 0 and b >= 2 here, so q > INT64_MIN */
    return q;
}

/* An int64 ordinal for an unsigned width: widths past INT64_MAX put every
 * negative value in ordinal -1 and every other value in ordinal 0. */
static int64_t floor_div_u64(int64_t a, uint64_t width)
{
    if (width > (uint64_t)INT64_MAX)
        return a < 0 ? -1 : 0;
    return floor_div(a, (int64_t)width);
}

static uint64_t from_ordinal(int64_t ordinal)
{
    return (uint64_t)ordinal ^ TST_BUCKET_SIGN_BIT;
}

static int64_t to_ordinal(uint64_t bucket)
{
    /* Two's complement conversion, spelled out so no implementation-defined
     * cast of an out-of-range unsigned is involved. */
    uint64_t u = bucket ^ TST_BUCKET_SIGN_BIT;
    return u <= (uint64_t)INT64_MAX ? (int64_t)u : -(int64_t)(~u) - 1;
}

/* Bucket of a value already checked against the kind. */
static uint64_t bucket_of_checked(const tst_index_kind *kind, const tst_index_value *value)
{
    switch (kind->type) {
    case TST_INDEX_TIMESTAMP: {
        int64_t width = (int64_t)tst_time_bucket_seconds(kind->bucket);
        return from_ordinal(floor_div(value->v.ts.sec, width));
    }
    case TST_INDEX_INT64:
        return from_ordinal(floor_div_u64(value->v.i64, kind->bucket_width));
    case TST_INDEX_UINT64:
        return value->v.u64 / kind->bucket_width;
    }
    return 0;
}

int tst_bucket_of(const tst_index_kind *kind, const tst_index_value *value, uint64_t *out_bucket)
{
    int rc = check_kind_value(kind, value);
    if (rc != 0)
        return rc;
    *out_bucket = bucket_of_checked(kind, value);
    return 0;
}

/* A value for a message: its normal text, or raw epoch seconds for a
 * timestamp outside years 0000..9999 (which has no RFC 3339 text). */
static void describe_value(const tst_index_value *v, char *buf, size_t cap)
{
    if (v->type == TST_INDEX_TIMESTAMP &&
        (v->v.ts.sec < TIMESTAMP_MIN_SEC || v->v.ts.sec > TIMESTAMP_MAX_SEC))
        snprintf(buf, cap, "%llds+%uns", (long long)v->v.ts.sec, v->v.ts.nsec);
    else
        tst_index_value_format(v, buf, cap);
}

/* The greatest value below v (v is known not to be the domain minimum). */
static tst_index_value minus_epsilon(tst_index_value v)
{
    switch (v.type) {
    case TST_INDEX_TIMESTAMP:
        if (v.v.ts.nsec > 0) {
            v.v.ts.nsec--;
        } else {
            v.v.ts.sec--;
            v.v.ts.nsec = NANOS_PER_SECOND - 1;
        }
        break;
    case TST_INDEX_INT64:
        v.v.i64--;
        break;
    case TST_INDEX_UINT64:
        v.v.u64--;
        break;
    }
    return v;
}

int tst_bucket_range(const tst_index_kind *kind, const tst_index_value *start,
                     const tst_index_value *end, uint64_t *out_first, uint64_t *out_last)
{
    int rc = check_kind_value(kind, start);
    if (rc == 0)
        rc = check_kind_value(kind, end);
    if (rc != 0)
        return rc;
    /* start < end also guarantees end is not the domain minimum, so end - ε exists. */
    if (compare_same(start, end) >= 0) {
        char a[TST_TIMESTAMP_TEXT_MAX], b[TST_TIMESTAMP_TEXT_MAX];
        describe_value(start, a, sizeof a);
        describe_value(end, b, sizeof b);
        return tst_fail(TST_EINVAL, "invalid range: start %s is not before end %s", a, b);
    }
    tst_index_value last = minus_epsilon(*end);
    *out_first = bucket_of_checked(kind, start);
    *out_last = bucket_of_checked(kind, &last);
    return 0;
}

static int outside_domain(const tst_index_kind *kind, uint64_t bucket)
{
    return tst_fail(TST_EINVAL, "bucket %llu is outside the index domain: no %s value falls in it",
                    (unsigned long long)bucket, tst_index_type_name(kind->type));
}

/* [ordinal * width, ordinal * width + width) in 128 bits, clipped to
 * [lo, hi]. Returns false when the span misses the domain entirely. */
static bool clip_span(int64_t ordinal, uint64_t width, i128 lo, i128 hi, i128 *start, i128 *end,
                      bool *end_inclusive)
{
    i128 s = (i128)ordinal * (i128)width, e = s + (i128)width;
    if (s > hi || e <= lo)
        return false;
    *start = s < lo ? lo : s;
    *end_inclusive = e > hi;
    *end = *end_inclusive ? hi : e;
    return true;
}

static int bounds_uint64(const tst_index_kind *kind, uint64_t bucket, tst_index_value *start,
                         tst_index_value *end, bool *end_inclusive)
{
    uint64_t w = kind->bucket_width;
    if (bucket > UINT64_MAX / w)
        return outside_domain(kind, bucket);
    uint64_t s = bucket * w;
    *end_inclusive = s > UINT64_MAX - w; /* s + w would be past the maximum */
    *start = tst_index_value_uint64(s);
    *end = tst_index_value_uint64(*end_inclusive ? UINT64_MAX : s + w);
    return 0;
}

static int bounds_int64(const tst_index_kind *kind, uint64_t bucket, tst_index_value *start,
                        tst_index_value *end, bool *end_inclusive)
{
    i128 s, e;
    if (!clip_span(to_ordinal(bucket), kind->bucket_width, INT64_MIN, INT64_MAX, &s, &e,
                   end_inclusive))
        return outside_domain(kind, bucket);
    *start = tst_index_value_int64((int64_t)s);
    *end = tst_index_value_int64((int64_t)e);
    return 0;
}

/* Timestamps are clipped to whole seconds first; an end clipped at the
 * maximum is the last nanosecond of year 9999. */
static int bounds_timestamp(const tst_index_kind *kind, uint64_t bucket, tst_index_value *start,
                            tst_index_value *end, bool *end_inclusive)
{
    i128 s, e;
    if (!clip_span(to_ordinal(bucket), tst_time_bucket_seconds(kind->bucket), TIMESTAMP_MIN_SEC,
                   TIMESTAMP_MAX_SEC, &s, &e, end_inclusive))
        return outside_domain(kind, bucket);
    *start = tst_index_value_timestamp((int64_t)s, 0);
    *end = tst_index_value_timestamp((int64_t)e, *end_inclusive ? NANOS_PER_SECOND - 1 : 0);
    return 0;
}

int tst_bucket_bounds(const tst_index_kind *kind, uint64_t bucket, tst_index_value *out_start,
                      tst_index_value *out_end, bool *out_end_inclusive)
{
    int rc = check_kind(kind);
    if (rc != 0)
        return rc;
    switch (kind->type) {
    case TST_INDEX_TIMESTAMP:
        return bounds_timestamp(kind, bucket, out_start, out_end, out_end_inclusive);
    case TST_INDEX_INT64:
        return bounds_int64(kind, bucket, out_start, out_end, out_end_inclusive);
    case TST_INDEX_UINT64:
        return bounds_uint64(kind, bucket, out_start, out_end, out_end_inclusive);
    }
    return 0;
}

int tst_bucket_format(const tst_index_kind *kind, uint64_t bucket, char *buf, size_t cap)
{
    tst_index_value start, end;
    bool inclusive;
    int rc = tst_bucket_bounds(kind, bucket, &start, &end, &inclusive);
    if (rc != 0)
        return rc;
    char a[TST_TIMESTAMP_TEXT_MAX], b[TST_TIMESTAMP_TEXT_MAX], text[TST_BUCKET_TEXT_MAX];
    /* Bounds are inside the domain, so formatting them cannot fail. */
    tst_index_value_format(&start, a, sizeof a);
    tst_index_value_format(&end, b, sizeof b);
    snprintf(text, sizeof text, "[%s, %s%c", a, b, inclusive ? ']' : ')');
    return copy_out(text, buf, cap, "bucket");
}
