/*
 * test_index.c — index values, time bucket specs and bucket ids
 * (tstable/index.h; reference §1.5, §1.6, §1.10, tests §10.1 and §10.2).
 *
 * Bucket ids are on-disk format, so the examples of the reference are
 * checked literally, the extremes of every domain are checked, and a
 * differential test compares tst_bucket_of with floor division done in
 * 128 bits over many pseudo-random values and widths.
 */
#include "testsupport.h"
#include "tstable/index.h"

#include <string.h>

#define SIGN TST_BUCKET_SIGN_BIT

static tst_index_kind time_kind(tst_time_unit unit, uint32_t count)
{
    tst_index_kind k;
    memset(&k, 0, sizeof k);
    k.type = TST_INDEX_TIMESTAMP;
    k.bucket.unit = unit;
    k.bucket.count = count;
    return k;
}

static tst_index_kind int_kind(tst_index_type type, uint64_t width)
{
    tst_index_kind k;
    memset(&k, 0, sizeof k);
    k.type = type;
    k.bucket_width = width;
    return k;
}

static uint64_t bucket_of(const tst_index_kind *kind, tst_index_value v)
{
    uint64_t b = 0;
    assert_tst_ok(tst_bucket_of(kind, &v, &b));
    return b;
}

static void assert_bucket_text(const tst_index_kind *kind, uint64_t bucket, const char *want)
{
    char buf[TST_BUCKET_TEXT_MAX];
    int n = tst_bucket_format(kind, bucket, buf, sizeof buf);
    if (n < 0)
        print_error("bucket %llu: %s\n", (unsigned long long)bucket, tst_error_last()->message);
    assert_int_equal(n, (int)strlen(want));
    assert_string_equal(buf, want);
}

static void assert_range(const tst_index_kind *kind, tst_index_value start, tst_index_value end,
                         uint64_t first, uint64_t last)
{
    uint64_t f = 0, l = 0;
    assert_tst_ok(tst_bucket_range(kind, &start, &end, &f, &l));
    assert_true(f == first);
    assert_true(l == last);
}

/* --------------------------------------------------------- time buckets */

static void time_bucket_parse_accepts_every_unit_alias(void **state)
{
    (void)state;
    const struct {
        const char *spec;
        tst_time_unit unit;
        uint32_t count;
    } cases[] = {
        {"30s", TST_TIME_SECONDS, 30},   {"1sec", TST_TIME_SECONDS, 1},
        {"2secs", TST_TIME_SECONDS, 2},  {"3second", TST_TIME_SECONDS, 3},
        {"4seconds", TST_TIME_SECONDS, 4}, {"5m", TST_TIME_MINUTES, 5},
        {"15min", TST_TIME_MINUTES, 15}, {"6mins", TST_TIME_MINUTES, 6},
        {"7minute", TST_TIME_MINUTES, 7}, {"8minutes", TST_TIME_MINUTES, 8},
        {"1h", TST_TIME_HOURS, 1},       {"9hr", TST_TIME_HOURS, 9},
        {"10hrs", TST_TIME_HOURS, 10},   {"11hour", TST_TIME_HOURS, 11},
        {"12hours", TST_TIME_HOURS, 12}, {"1d", TST_TIME_DAYS, 1},
        {"13day", TST_TIME_DAYS, 13},    {"14days", TST_TIME_DAYS, 14},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        tst_time_bucket b;
        assert_tst_ok(tst_time_bucket_parse(&b, cases[i].spec));
        assert_int_equal(b.unit, cases[i].unit);
        assert_int_equal(b.count, cases[i].count);
    }
}

static void time_bucket_parse_ignores_case_and_surrounding_whitespace(void **state)
{
    (void)state;
    const char *specs[] = {"2 Days", "2DAYS", "  2d  ", "2 d", "\t2\tDaY\n", "002d"};
    for (size_t i = 0; i < sizeof specs / sizeof specs[0]; i++) {
        tst_time_bucket b;
        assert_tst_ok(tst_time_bucket_parse(&b, specs[i]));
        assert_int_equal(b.unit, TST_TIME_DAYS);
        assert_int_equal(b.count, 2);
    }
    tst_time_bucket b;
    assert_tst_ok(tst_time_bucket_parse(&b, "1 h"));
    assert_int_equal(b.unit, TST_TIME_HOURS);
    assert_int_equal(b.count, 1);
}

static void time_bucket_parse_accepts_the_largest_count(void **state)
{
    (void)state;
    tst_time_bucket b;
    assert_tst_ok(tst_time_bucket_parse(&b, "4294967295s"));
    assert_int_equal(b.count, UINT32_MAX);
}

static void assert_bucket_spec_fails(const char *spec, const char *needle)
{
    tst_time_bucket b = {TST_TIME_HOURS, 7};
    assert_tst_fails(tst_time_bucket_parse(&b, spec), TST_EINVAL);
    if (strstr(tst_error_last()->message, needle) == NULL)
        print_error("'%s': message '%s' lacks '%s'\n", spec, tst_error_last()->message, needle);
    assert_non_null(strstr(tst_error_last()->message, needle));
    assert_int_equal(b.count, 7); /* out untouched on failure */
}

static void time_bucket_parse_rejects_each_kind_of_bad_spec(void **state)
{
    (void)state;
    assert_bucket_spec_fails("", "time bucket spec is empty");
    assert_bucket_spec_fails("   ", "time bucket spec is empty");
    assert_bucket_spec_fails(NULL, "time bucket spec is empty");
    assert_bucket_spec_fails("1", "has no unit");
    assert_bucket_spec_fails("42", "has no unit");
    assert_bucket_spec_fails("h", "has no number");
    assert_bucket_spec_fails("day", "has no number");
    assert_bucket_spec_fails("abcmin", "has no number");
    assert_bucket_spec_fails("1.5h", "invalid number '1.5'");
    assert_bucket_spec_fails("1_000s", "invalid number '1_000'");
    assert_bucket_spec_fails("-5s", "invalid number '-5'");
    assert_bucket_spec_fails("0s", "must be positive");
    assert_bucket_spec_fails("000m", "must be positive");
    assert_bucket_spec_fails("4294967296s", "too large");
    assert_bucket_spec_fails("99999999999999999999999999h", "too large");
    assert_bucket_spec_fails("1w", "unknown time bucket unit 'w' in '1w' (expected s|m|h|d)");
    assert_bucket_spec_fails("1ms", "unknown time bucket unit 'ms'");
    assert_bucket_spec_fails("1mo", "unknown time bucket unit 'mo'");
    assert_bucket_spec_fails("10msec", "unknown time bucket unit 'msec'");
    assert_bucket_spec_fails("1 h x", "unknown time bucket unit 'h x'");
    assert_bucket_spec_fails("2x", "unknown time bucket unit 'x' in '2x' (expected s|m|h|d)");
}

static void time_bucket_format_writes_count_and_unit_letter(void **state)
{
    (void)state;
    char buf[16];
    tst_time_bucket h = {TST_TIME_HOURS, 1}, m = {TST_TIME_MINUTES, 60};
    tst_time_bucket s = {TST_TIME_SECONDS, 30}, d = {TST_TIME_DAYS, UINT32_MAX};
    assert_int_equal(tst_time_bucket_format(h, buf, sizeof buf), 2);
    assert_string_equal(buf, "1h");
    assert_int_equal(tst_time_bucket_format(m, buf, sizeof buf), 3);
    assert_string_equal(buf, "60m");
    assert_int_equal(tst_time_bucket_format(s, buf, sizeof buf), 3);
    assert_string_equal(buf, "30s");
    assert_int_equal(tst_time_bucket_format(d, buf, sizeof buf), 11);
    assert_string_equal(buf, "4294967295d");
    /* What format writes, parse reads back. */
    tst_time_bucket back;
    assert_tst_ok(tst_time_bucket_parse(&back, buf));
    assert_int_equal(back.unit, TST_TIME_DAYS);
    assert_int_equal(back.count, UINT32_MAX);
}

static void time_bucket_format_rejects_invalid_buckets_and_small_buffers(void **state)
{
    (void)state;
    char buf[16];
    tst_time_bucket zero = {TST_TIME_HOURS, 0}, bad_unit = {(tst_time_unit)9, 1};
    tst_time_bucket h = {TST_TIME_HOURS, 10};
    assert_tst_fails(tst_time_bucket_format(zero, buf, sizeof buf), TST_EINVAL);
    assert_tst_fails(tst_time_bucket_format(bad_unit, buf, sizeof buf), TST_EINVAL);
    assert_tst_fails(tst_time_bucket_format(h, buf, 3), TST_EINVAL);
}

static void time_bucket_seconds_multiply_without_calendar_logic(void **state)
{
    (void)state;
    tst_time_bucket s = {TST_TIME_SECONDS, 7}, m = {TST_TIME_MINUTES, 5};
    tst_time_bucket h = {TST_TIME_HOURS, 2}, d = {TST_TIME_DAYS, UINT32_MAX};
    assert_true(tst_time_bucket_seconds(s) == 7);
    assert_true(tst_time_bucket_seconds(m) == 300);
    assert_true(tst_time_bucket_seconds(h) == 7200);
    assert_true(tst_time_bucket_seconds(d) == (uint64_t)UINT32_MAX * 86400);
}

/* --------------------------------------------------------------- values */

static void index_values_compare_within_a_domain_including_extremes(void **state)
{
    (void)state;
    int cmp = 7;
    tst_index_value a = tst_index_value_int64(INT64_MIN), b = tst_index_value_int64(INT64_MAX);
    assert_tst_ok(tst_index_value_compare(&a, &b, &cmp));
    assert_int_equal(cmp, -1);
    assert_tst_ok(tst_index_value_compare(&b, &a, &cmp));
    assert_int_equal(cmp, 1);
    assert_tst_ok(tst_index_value_compare(&a, &a, &cmp));
    assert_int_equal(cmp, 0);
    tst_index_value u0 = tst_index_value_uint64(0), umax = tst_index_value_uint64(UINT64_MAX);
    assert_tst_ok(tst_index_value_compare(&umax, &u0, &cmp));
    assert_int_equal(cmp, 1);
    tst_index_value t1 = tst_index_value_timestamp(-1, 999999999);
    tst_index_value t2 = tst_index_value_timestamp(0, 0);
    tst_index_value t3 = tst_index_value_timestamp(0, 1);
    assert_tst_ok(tst_index_value_compare(&t1, &t2, &cmp));
    assert_int_equal(cmp, -1);
    assert_tst_ok(tst_index_value_compare(&t3, &t2, &cmp));
    assert_int_equal(cmp, 1);
}

static void index_values_of_different_domains_do_not_compare(void **state)
{
    (void)state;
    int cmp = 7;
    tst_index_value i = tst_index_value_int64(5), u = tst_index_value_uint64(5);
    tst_index_value t = tst_index_value_timestamp(5, 0);
    assert_tst_fails(tst_index_value_compare(&i, &u, &cmp), TST_EINVAL);
    assert_tst_fails(tst_index_value_compare(&t, &i, &cmp), TST_EINVAL);
    assert_int_equal(cmp, 7);
}

static void index_values_format_in_index_units(void **state)
{
    (void)state;
    char buf[TST_TIMESTAMP_TEXT_MAX];
    tst_index_value v = tst_index_value_int64(-5);
    assert_int_equal(tst_index_value_format(&v, buf, sizeof buf), 2);
    assert_string_equal(buf, "-5");
    v = tst_index_value_int64(INT64_MIN);
    assert_true(tst_index_value_format(&v, buf, sizeof buf) > 0);
    assert_string_equal(buf, "-9223372036854775808");
    v = tst_index_value_uint64(UINT64_MAX);
    assert_true(tst_index_value_format(&v, buf, sizeof buf) > 0);
    assert_string_equal(buf, "18446744073709551615");
    v = tst_index_value_timestamp(1717200000, 0);
    assert_true(tst_index_value_format(&v, buf, sizeof buf) > 0);
    assert_string_equal(buf, "2024-06-01T00:00:00Z");
    assert_tst_fails(tst_index_value_format(&v, buf, 5), TST_EINVAL);
    v = tst_index_value_uint64(123);
    assert_tst_fails(tst_index_value_format(&v, buf, 3), TST_EINVAL);
}

/* -------------------------------------------------------------- buckets */

static void timestamp_mapping_is_ordered_across_epoch(void **state)
{
    (void)state;
    tst_index_kind k = time_kind(TST_TIME_SECONDS, 1);
    assert_true(bucket_of(&k, tst_index_value_timestamp(-1, 0)) == SIGN - 1);
    assert_true(bucket_of(&k, tst_index_value_timestamp(0, 0)) == SIGN);
    assert_true(bucket_of(&k, tst_index_value_timestamp(1, 0)) == SIGN + 1);
    /* The sub-second part never changes the bucket. */
    assert_true(bucket_of(&k, tst_index_value_timestamp(-1, 999999999)) == SIGN - 1);
    assert_true(bucket_of(&k, tst_index_value_timestamp(0, 999999999)) == SIGN);
    assert_true(bucket_of(&k, tst_index_value_timestamp(INT64_MIN, 0)) == 0);
    assert_true(bucket_of(&k, tst_index_value_timestamp(INT64_MAX, 0)) == UINT64_MAX);
}

static void timestamp_mapping_uses_euclidean_buckets_before_epoch(void **state)
{
    (void)state;
    tst_index_kind k = time_kind(TST_TIME_MINUTES, 1);
    assert_true(bucket_of(&k, tst_index_value_timestamp(-61, 0)) == SIGN - 2);
    for (int64_t s = -60; s <= -1; s++)
        assert_true(bucket_of(&k, tst_index_value_timestamp(s, 0)) == SIGN - 1);
    assert_true(bucket_of(&k, tst_index_value_timestamp(0, 0)) == SIGN);
    assert_true(bucket_of(&k, tst_index_value_timestamp(59, 0)) == SIGN);
    /* Hours(2) buckets are aligned to multiples of 7200 s from the epoch. */
    tst_index_kind h2 = time_kind(TST_TIME_HOURS, 2);
    assert_true(bucket_of(&h2, tst_index_value_timestamp(7199, 0)) == SIGN);
    assert_true(bucket_of(&h2, tst_index_value_timestamp(7200, 0)) == SIGN + 1);
    assert_true(bucket_of(&h2, tst_index_value_timestamp(-7200, 0)) == SIGN - 1);
    assert_true(bucket_of(&h2, tst_index_value_timestamp(-7201, 0)) == SIGN - 2);
}

static void int64_mapping_handles_zero_and_extremes(void **state)
{
    (void)state;
    tst_index_kind w1 = int_kind(TST_INDEX_INT64, 1);
    assert_true(bucket_of(&w1, tst_index_value_int64(INT64_MIN)) == 0);
    assert_true(bucket_of(&w1, tst_index_value_int64(0)) == SIGN);
    assert_true(bucket_of(&w1, tst_index_value_int64(INT64_MAX)) == UINT64_MAX);
    tst_index_kind w10 = int_kind(TST_INDEX_INT64, 10);
    assert_true(bucket_of(&w10, tst_index_value_int64(-11)) == SIGN - 2);
    assert_true(bucket_of(&w10, tst_index_value_int64(-1)) == SIGN - 1);
    assert_true(bucket_of(&w10, tst_index_value_int64(-10)) == SIGN - 1);
    assert_true(bucket_of(&w10, tst_index_value_int64(9)) == SIGN);
    assert_bucket_text(&w10, bucket_of(&w10, tst_index_value_int64(-11)), "[-20, -10)");
    assert_bucket_text(&w10, bucket_of(&w10, tst_index_value_int64(-1)), "[-10, 0)");
}

static void int64_widths_beyond_int64_max_split_at_zero(void **state)
{
    (void)state;
    const uint64_t widths[] = {(uint64_t)INT64_MAX + 1, UINT64_MAX};
    for (size_t i = 0; i < 2; i++) {
        tst_index_kind k = int_kind(TST_INDEX_INT64, widths[i]);
        assert_true(bucket_of(&k, tst_index_value_int64(INT64_MIN)) == SIGN - 1);
        assert_true(bucket_of(&k, tst_index_value_int64(-1)) == SIGN - 1);
        assert_true(bucket_of(&k, tst_index_value_int64(0)) == SIGN);
        assert_true(bucket_of(&k, tst_index_value_int64(INT64_MAX)) == SIGN);
        assert_bucket_text(&k, SIGN - 1, "[-9223372036854775808, 0)");
        assert_bucket_text(&k, SIGN, "[0, 9223372036854775807]");
        char buf[TST_BUCKET_TEXT_MAX];
        assert_tst_fails(tst_bucket_format(&k, SIGN + 1, buf, sizeof buf), TST_EINVAL);
        assert_tst_fails(tst_bucket_format(&k, SIGN - 2, buf, sizeof buf), TST_EINVAL);
    }
    /* Width INT64_MAX still fits in int64: INT64_MIN is in ordinal -2. */
    tst_index_kind k = int_kind(TST_INDEX_INT64, INT64_MAX);
    assert_true(bucket_of(&k, tst_index_value_int64(INT64_MIN)) == SIGN - 2);
    assert_true(bucket_of(&k, tst_index_value_int64(INT64_MIN + 1)) == SIGN - 1);
    assert_bucket_text(&k, SIGN - 2, "[-9223372036854775808, -9223372036854775807)");
    assert_bucket_text(&k, SIGN + 1, "[9223372036854775807, 9223372036854775807]");
}

static void uint64_mapping_is_exact_through_max(void **state)
{
    (void)state;
    tst_index_kind w1 = int_kind(TST_INDEX_UINT64, 1);
    const uint64_t values[] = {0, 1, 2, SIGN - 1, SIGN, SIGN + 1, UINT64_MAX - 1, UINT64_MAX};
    for (size_t i = 0; i < sizeof values / sizeof values[0]; i++)
        assert_true(bucket_of(&w1, tst_index_value_uint64(values[i])) == values[i]);
    tst_index_kind w10 = int_kind(TST_INDEX_UINT64, 10);
    assert_true(bucket_of(&w10, tst_index_value_uint64(50465)) == 5046);
    assert_true(bucket_of(&w10, tst_index_value_uint64(UINT64_MAX)) == UINT64_MAX / 10);
}

/* floor(v / w) for any int64 v and any width >= 1, in 128 bits. */
static int64_t naive_floor(int64_t v, uint64_t w)
{
    __int128 q = (__int128)v / (__int128)w;
    if ((__int128)v % (__int128)w != 0 && v < 0)
        q -= 1;
    return (int64_t)q;
}

static void bucket_of_agrees_with_128_bit_floor_division(void **state)
{
    (void)state;
    uint64_t x = 0x9E3779B97F4A7C15ULL;
    for (int i = 0; i < 200000; i++) {
        x ^= x << 13, x ^= x >> 7, x ^= x << 17; /* xorshift64 */
        int64_t v;
        memcpy(&v, &x, sizeof v); /* every bit pattern, negatives included */
        uint64_t w = (i % 3 == 0) ? x >> (i % 64) : (uint64_t)(i % 1000);
        if (w == 0)
            w = 1;
        tst_index_kind ik = int_kind(TST_INDEX_INT64, w);
        uint64_t want = (uint64_t)naive_floor(v, w) ^ SIGN;
        assert_true(bucket_of(&ik, tst_index_value_int64(v)) == want);
        tst_index_kind uk = int_kind(TST_INDEX_UINT64, w);
        assert_true(bucket_of(&uk, tst_index_value_uint64(x)) == x / w);
        tst_index_kind tk = time_kind(TST_TIME_SECONDS, (uint32_t)(w % 100000 + 1));
        want = (uint64_t)naive_floor(v, w % 100000 + 1) ^ SIGN;
        assert_true(bucket_of(&tk, tst_index_value_timestamp(v, 123)) == want);
    }
}

static void logical_bucket_ranges_use_configured_index_units(void **state)
{
    (void)state;
    tst_index_kind h1 = time_kind(TST_TIME_HOURS, 1);
    assert_bucket_text(&h1, SIGN, "[1970-01-01T00:00:00Z, 1970-01-01T01:00:00Z)");
    assert_bucket_text(&h1, SIGN - 1, "[1969-12-31T23:00:00Z, 1970-01-01T00:00:00Z)");
    tst_index_kind d1 = time_kind(TST_TIME_DAYS, 1);
    assert_bucket_text(&d1, bucket_of(&d1, tst_index_value_timestamp(1717243200, 5)),
                       "[2024-06-01T00:00:00Z, 2024-06-02T00:00:00Z)");
    tst_index_kind i10 = int_kind(TST_INDEX_INT64, 10);
    assert_bucket_text(&i10, SIGN - 2, "[-20, -10)");
    assert_bucket_text(&i10, bucket_of(&i10, tst_index_value_int64(50465)), "[50460, 50470)");
    tst_index_kind u10 = int_kind(TST_INDEX_UINT64, 10);
    assert_bucket_text(&u10, 5046, "[50460, 50470)");
}

static void logical_bucket_ranges_clip_at_domain_maximum(void **state)
{
    (void)state;
    tst_index_kind u2 = int_kind(TST_INDEX_UINT64, 2);
    assert_bucket_text(&u2, SIGN - 1, "[18446744073709551614, 18446744073709551615]");
    assert_bucket_text(&u2, SIGN - 2, "[18446744073709551612, 18446744073709551614)");
    tst_index_kind u1 = int_kind(TST_INDEX_UINT64, 1);
    assert_bucket_text(&u1, UINT64_MAX, "[18446744073709551615, 18446744073709551615]");
    assert_bucket_text(&u1, UINT64_MAX - 1, "[18446744073709551614, 18446744073709551615)");
    tst_index_kind i1 = int_kind(TST_INDEX_INT64, 1);
    assert_bucket_text(&i1, UINT64_MAX, "[9223372036854775807, 9223372036854775807]");
    assert_bucket_text(&i1, 0, "[-9223372036854775808, -9223372036854775807)");
    tst_index_kind i10 = int_kind(TST_INDEX_INT64, 10);
    assert_bucket_text(&i10, bucket_of(&i10, tst_index_value_int64(INT64_MAX)),
                       "[9223372036854775800, 9223372036854775807]");
    /* Clipped at the minimum too; the start is inclusive either way. */
    assert_bucket_text(&i10, bucket_of(&i10, tst_index_value_int64(INT64_MIN)),
                       "[-9223372036854775808, -9223372036854775800)");
    tst_index_kind h1 = time_kind(TST_TIME_HOURS, 1);
    assert_bucket_text(&h1, SIGN + 70389527,
                       "[9999-12-31T23:00:00Z, 9999-12-31T23:59:59.999999999Z]");
    assert_bucket_text(&h1, SIGN - 17268672, "[0000-01-01T00:00:00Z, 0000-01-01T01:00:00Z)");
    tst_index_kind huge = time_kind(TST_TIME_DAYS, UINT32_MAX);
    assert_bucket_text(&huge, SIGN, "[1970-01-01T00:00:00Z, 9999-12-31T23:59:59.999999999Z]");
    assert_bucket_text(&huge, SIGN - 1, "[0000-01-01T00:00:00Z, 1970-01-01T00:00:00Z)");
}

static void logical_bucket_range_rejects_unreachable_bucket(void **state)
{
    (void)state;
    char buf[TST_BUCKET_TEXT_MAX];
    tst_index_kind u2 = int_kind(TST_INDEX_UINT64, 2);
    assert_tst_fails(tst_bucket_format(&u2, UINT64_MAX, buf, sizeof buf), TST_EINVAL);
    assert_non_null(strstr(tst_error_last()->message, "outside the index domain"));
    assert_tst_fails(tst_bucket_format(&u2, SIGN, buf, sizeof buf), TST_EINVAL);
    tst_index_kind i10 = int_kind(TST_INDEX_INT64, 10);
    uint64_t top = bucket_of(&i10, tst_index_value_int64(INT64_MAX));
    uint64_t bottom = bucket_of(&i10, tst_index_value_int64(INT64_MIN));
    assert_tst_fails(tst_bucket_format(&i10, top + 1, buf, sizeof buf), TST_EINVAL);
    assert_tst_fails(tst_bucket_format(&i10, bottom - 1, buf, sizeof buf), TST_EINVAL);
    assert_tst_fails(tst_bucket_format(&i10, UINT64_MAX, buf, sizeof buf), TST_EINVAL);
    assert_tst_fails(tst_bucket_format(&i10, 0, buf, sizeof buf), TST_EINVAL);
    tst_index_kind h1 = time_kind(TST_TIME_HOURS, 1);
    assert_tst_fails(tst_bucket_format(&h1, SIGN + 70389528, buf, sizeof buf), TST_EINVAL);
    assert_tst_fails(tst_bucket_format(&h1, SIGN - 17268673, buf, sizeof buf), TST_EINVAL);
    assert_tst_fails(tst_bucket_format(&h1, 0, buf, sizeof buf), TST_EINVAL);
    assert_tst_fails(tst_bucket_format(&h1, UINT64_MAX, buf, sizeof buf), TST_EINVAL);
    tst_index_kind huge = time_kind(TST_TIME_DAYS, UINT32_MAX);
    assert_tst_fails(tst_bucket_format(&huge, SIGN + 1, buf, sizeof buf), TST_EINVAL);
    assert_tst_fails(tst_bucket_format(&huge, SIGN - 2, buf, sizeof buf), TST_EINVAL);
}

static void bucket_bounds_report_values_and_inclusive_end(void **state)
{
    (void)state;
    tst_index_kind u2 = int_kind(TST_INDEX_UINT64, 2);
    tst_index_value s, e;
    bool incl = true;
    assert_tst_ok(tst_bucket_bounds(&u2, 3, &s, &e, &incl));
    assert_int_equal(s.type, TST_INDEX_UINT64);
    assert_true(s.v.u64 == 6 && e.v.u64 == 8 && !incl);
    assert_tst_ok(tst_bucket_bounds(&u2, SIGN - 1, &s, &e, &incl));
    assert_true(e.v.u64 == UINT64_MAX && incl);
    tst_index_kind h1 = time_kind(TST_TIME_HOURS, 1);
    assert_tst_ok(tst_bucket_bounds(&h1, SIGN - 1, &s, &e, &incl));
    assert_int_equal(s.type, TST_INDEX_TIMESTAMP);
    assert_true(s.v.ts.sec == -3600 && s.v.ts.nsec == 0);
    assert_true(e.v.ts.sec == 0 && e.v.ts.nsec == 0 && !incl);
}

static void bucket_format_checks_buffer_size(void **state)
{
    (void)state;
    char buf[TST_BUCKET_TEXT_MAX];
    tst_index_kind i10 = int_kind(TST_INDEX_INT64, 10);
    assert_tst_fails(tst_bucket_format(&i10, SIGN - 2, buf, 10), TST_EINVAL); /* needs 11 */
    assert_int_equal(tst_bucket_format(&i10, SIGN - 2, buf, 11), 10);
    /* The longest possible text fits TST_BUCKET_TEXT_MAX. */
    tst_index_kind h1 = time_kind(TST_TIME_SECONDS, 1);
    tst_index_value v = tst_index_value_timestamp(253402300798LL, 0);
    assert_true(tst_bucket_format(&h1, bucket_of(&h1, v), buf, sizeof buf) > 0);
}

static void half_open_integer_ranges_do_not_cross_end_boundary(void **state)
{
    (void)state;
    tst_index_kind i10 = int_kind(TST_INDEX_INT64, 10);
    assert_range(&i10, tst_index_value_int64(0), tst_index_value_int64(20), SIGN, SIGN + 1);
    assert_range(&i10, tst_index_value_int64(0), tst_index_value_int64(21), SIGN, SIGN + 2);
    assert_range(&i10, tst_index_value_int64(-20), tst_index_value_int64(0), SIGN - 2, SIGN - 1);
    tst_index_kind i1 = int_kind(TST_INDEX_INT64, 1);
    assert_range(&i1, tst_index_value_int64(INT64_MIN), tst_index_value_int64(INT64_MIN + 1), 0,
                 0);
    assert_range(&i1, tst_index_value_int64(INT64_MIN), tst_index_value_int64(INT64_MAX), 0,
                 UINT64_MAX - 1);
    tst_index_kind u1 = int_kind(TST_INDEX_UINT64, 1);
    assert_range(&u1, tst_index_value_uint64(0), tst_index_value_uint64(1), 0, 0);
    assert_range(&u1, tst_index_value_uint64(5), tst_index_value_uint64(UINT64_MAX), 5,
                 UINT64_MAX - 1);
}

static void half_open_timestamp_range_preserves_nanoseconds(void **state)
{
    (void)state;
    tst_index_kind s1 = time_kind(TST_TIME_SECONDS, 1);
    tst_index_value zero = tst_index_value_timestamp(0, 0);
    assert_range(&s1, zero, tst_index_value_timestamp(2, 0), SIGN, SIGN + 1);
    assert_range(&s1, zero, tst_index_value_timestamp(2, 1), SIGN, SIGN + 2);
    /* end - 1 ns borrows across the second boundary. */
    assert_range(&s1, zero, tst_index_value_timestamp(1, 0), SIGN, SIGN);
    assert_range(&s1, tst_index_value_timestamp(-2, 0), tst_index_value_timestamp(-1, 0),
                 SIGN - 2, SIGN - 2);
    assert_range(&s1, tst_index_value_timestamp(-2, 5), tst_index_value_timestamp(-2, 6),
                 SIGN - 2, SIGN - 2);
}

static void empty_or_reversed_ranges_are_invalid(void **state)
{
    (void)state;
    uint64_t f = 1, l = 2;
    tst_index_kind i10 = int_kind(TST_INDEX_INT64, 10);
    tst_index_value a = tst_index_value_int64(20), b = tst_index_value_int64(0);
    assert_tst_fails(tst_bucket_range(&i10, &a, &b, &f, &l), TST_EINVAL);
    assert_string_equal(tst_error_last()->message, "invalid range: start 20 is not before end 0");
    assert_tst_fails(tst_bucket_range(&i10, &a, &a, &f, &l), TST_EINVAL);
    tst_index_kind s1 = time_kind(TST_TIME_SECONDS, 1);
    tst_index_value t = tst_index_value_timestamp(0, 5);
    assert_tst_fails(tst_bucket_range(&s1, &t, &t, &f, &l), TST_EINVAL);
    assert_non_null(strstr(tst_error_last()->message, "1970-01-01T00:00:00.000000005Z"));
    tst_index_value far = tst_index_value_timestamp(INT64_MAX, 0);
    assert_tst_fails(tst_bucket_range(&s1, &far, &t, &f, &l), TST_EINVAL);
    assert_true(f == 1 && l == 2);
}

static void domain_mismatches_and_invalid_kinds_are_errors(void **state)
{
    (void)state;
    uint64_t b = 0, f = 0, l = 0;
    tst_index_kind i10 = int_kind(TST_INDEX_INT64, 10);
    tst_index_value u = tst_index_value_uint64(5), i = tst_index_value_int64(50);
    tst_index_value t = tst_index_value_timestamp(5, 0);
    assert_tst_fails(tst_bucket_of(&i10, &u, &b), TST_EINVAL);
    assert_non_null(strstr(tst_error_last()->message, "uint64"));
    assert_tst_fails(tst_bucket_of(&i10, &t, &b), TST_EINVAL);
    assert_tst_fails(tst_bucket_range(&i10, &u, &i, &f, &l), TST_EINVAL);
    assert_tst_fails(tst_bucket_range(&i10, &i, &u, &f, &l), TST_EINVAL);
    tst_index_kind zero = int_kind(TST_INDEX_UINT64, 0);
    assert_tst_fails(tst_bucket_of(&zero, &u, &b), TST_EINVAL);
    tst_index_kind no_bucket = time_kind(TST_TIME_HOURS, 0);
    assert_tst_fails(tst_bucket_of(&no_bucket, &t, &b), TST_EINVAL);
    tst_index_kind bad_type = int_kind((tst_index_type)0, 1);
    tst_index_value s, e;
    bool incl;
    assert_tst_fails(tst_bucket_bounds(&bad_type, 0, &s, &e, &incl), TST_EINVAL);
    tst_index_kind s1 = time_kind(TST_TIME_SECONDS, 1);
    tst_index_value bad_nsec = tst_index_value_timestamp(0, 1000000000);
    assert_tst_fails(tst_bucket_of(&s1, &bad_nsec, &b), TST_EINVAL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(time_bucket_parse_accepts_every_unit_alias),
        cmocka_unit_test(time_bucket_parse_ignores_case_and_surrounding_whitespace),
        cmocka_unit_test(time_bucket_parse_accepts_the_largest_count),
        cmocka_unit_test(time_bucket_parse_rejects_each_kind_of_bad_spec),
        cmocka_unit_test(time_bucket_format_writes_count_and_unit_letter),
        cmocka_unit_test(time_bucket_format_rejects_invalid_buckets_and_small_buffers),
        cmocka_unit_test(time_bucket_seconds_multiply_without_calendar_logic),
        cmocka_unit_test(index_values_compare_within_a_domain_including_extremes),
        cmocka_unit_test(index_values_of_different_domains_do_not_compare),
        cmocka_unit_test(index_values_format_in_index_units),
        cmocka_unit_test(timestamp_mapping_is_ordered_across_epoch),
        cmocka_unit_test(timestamp_mapping_uses_euclidean_buckets_before_epoch),
        cmocka_unit_test(int64_mapping_handles_zero_and_extremes),
        cmocka_unit_test(int64_widths_beyond_int64_max_split_at_zero),
        cmocka_unit_test(uint64_mapping_is_exact_through_max),
        cmocka_unit_test(bucket_of_agrees_with_128_bit_floor_division),
        cmocka_unit_test(logical_bucket_ranges_use_configured_index_units),
        cmocka_unit_test(logical_bucket_ranges_clip_at_domain_maximum),
        cmocka_unit_test(logical_bucket_range_rejects_unreachable_bucket),
        cmocka_unit_test(bucket_bounds_report_values_and_inclusive_end),
        cmocka_unit_test(bucket_format_checks_buffer_size),
        cmocka_unit_test(half_open_integer_ranges_do_not_cross_end_boundary),
        cmocka_unit_test(half_open_timestamp_range_preserves_nanoseconds),
        cmocka_unit_test(empty_or_reversed_ranges_are_invalid),
        cmocka_unit_test(domain_mismatches_and_invalid_kinds_are_errors),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
