/*
 * tstable/index.h — the ordered index of a table and its buckets.
 *
 * Every tstable table has one ordered index column: a timestamp, an int64 or
 * a uint64. Coverage is tracked in buckets of that index: fixed-width,
 * epoch-aligned slices (1 hour, 5 minutes, 1000 integer units, ...).
 *
 * All three index domains map onto one ordered 64-bit bucket domain, so one
 * coverage structure serves them all:
 *   timestamp: ordinal = floor(epoch_seconds / width_seconds), bucket = (u64)ordinal XOR 2^63
 *   int64:     ordinal = floor(value / width),                 bucket = (u64)ordinal XOR 2^63
 *   uint64:    bucket  = value / width
 * Floor division is used before 1970 and for negative integers, so buckets
 * are aligned to the epoch (or to zero) in both directions. Sub-second parts
 * of timestamps never change the bucket. These ids are part of the on-disk
 * format (format_version 6 and protocol 7 alike): they are stored in
 * coverage sidecars.
 *
 * Ranges are half-open, [start, end), in index units. A range maps to the
 * inclusive bucket range bucket(start) ..= bucket(end - epsilon), where
 * epsilon is 1 ns for timestamps and 1 for integers.
 *
 * Formatting functions return the number of characters written; a buffer
 * too small is TST_EINVAL and leaves "" in it. Out-parameters are untouched
 * on failure.
 *
 * Nothing here allocates; every function is thread-safe.
 */
#ifndef TSTABLE_INDEX_H
#define TSTABLE_INDEX_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* The offset that maps signed ordinals onto the unsigned bucket domain. */
#define TST_BUCKET_SIGN_BIT 0x8000000000000000ULL

typedef enum tst_index_type {
    TST_INDEX_TIMESTAMP = 1,
    TST_INDEX_INT64 = 2,
    TST_INDEX_UINT64 = 3
} tst_index_type;

typedef enum tst_time_unit {
    TST_TIME_SECONDS = 1,
    TST_TIME_MINUTES = 2,
    TST_TIME_HOURS = 3,
    TST_TIME_DAYS = 4
} tst_time_unit;

/* A timestamp bucket width: count units (count >= 1), e.g. {HOURS, 1}. */
typedef struct tst_time_bucket {
    tst_time_unit unit;
    uint32_t count;
} tst_time_bucket;

/* Longest timezone name a table can carry (bytes, without the NUL). */
#define TST_TIMEZONE_MAX 255

/*
 * The index kind: its domain and bucket width. For timestamps, `timezone` is
 * metadata only ("" when absent); buckets are always UTC epoch-aligned.
 */
typedef struct tst_index_kind {
    tst_index_type type;
    tst_time_bucket bucket;   /* TST_INDEX_TIMESTAMP only */
    uint64_t bucket_width;    /* TST_INDEX_INT64 / TST_INDEX_UINT64 only, >= 1 */
    char timezone[TST_TIMEZONE_MAX + 1];
    /* The table protocol this kind belongs to, which also picks its JSON shape:
     * 7 is protocol 7 ("index_granularity"), 6 is format_version 6 ("bucket" /
     * "bucket_width"). tst_table_create() makes a protocol-7 table for 0 (the
     * default) or 7, and a format_version-6 table (readable by the reference
     * 0.4) only for an explicit 6. Kinds read from a table say 6 or 7.
     * Buckets are the same in both. */
    uint32_t protocol;
} tst_index_kind;

/* An instant in UTC: seconds since the epoch (may be negative) plus nanoseconds. */
typedef struct tst_timestamp {
    int64_t sec;
    uint32_t nsec; /* 0 ..= 999,999,999 */
} tst_timestamp;

/* One value of an index column, tagged with its domain. */
typedef struct tst_index_value {
    tst_index_type type;
    union {
        tst_timestamp ts;
        int64_t i64;
        uint64_t u64;
    } v;
} tst_index_value;

/* "timestamp", "int64" or "uint64" (the names the log uses); "unknown" otherwise. */
const char *tst_index_type_name(tst_index_type type);

/* Constructors, for readability at call sites. */
tst_index_value tst_index_value_timestamp(int64_t sec, uint32_t nsec);
tst_index_value tst_index_value_int64(int64_t v);
tst_index_value tst_index_value_uint64(uint64_t v);

/* Width of a time bucket in seconds (count * unit seconds; no calendar logic). */
uint64_t tst_time_bucket_seconds(tst_time_bucket bucket);

/*
 * Parses a human bucket spec: "1h", "15 min", "2 Days", "30s". Units are
 * case-insensitive: s|sec|secs|second|seconds, m|min|mins|minute|minutes,
 * h|hr|hrs|hour|hours, d|day|days. The count must be a positive integer that
 * fits in 32 bits. On failure returns TST_EINVAL with a message naming the
 * problem ("unknown time bucket unit 'w' in '1w' (expected s|m|h|d)").
 */
int tst_time_bucket_parse(tst_time_bucket *out, const char *spec);

/* Renders a bucket as "<count><s|m|h|d>", e.g. "1h", "60m". Returns chars written. */
int tst_time_bucket_format(tst_time_bucket bucket, char *buf, size_t cap);

/*
 * RFC 3339 timestamps. Parsing accepts "YYYY-MM-DDTHH:MM:SS[.f{1,9}](Z|+hh:mm|-hh:mm)"
 * ('t', ' ' separators and 'z' also accepted) and normalises to UTC.
 * Formatting always writes UTC with a 'Z' and 0, 3, 6 or 9 fractional digits,
 * the fewest that are exact ("2024-06-01T00:00:00Z", "...00.500Z").
 * Years 0000..9999 (after conversion to UTC) are supported; others are
 * TST_EINVAL. A leap second ":60" is read as ":59.999999999", which keeps
 * its bucket the same as the reference's.
 */
int tst_timestamp_parse(tst_timestamp *out, const char *text);
int tst_timestamp_format(tst_timestamp ts, char *buf, size_t cap);
#define TST_TIMESTAMP_TEXT_MAX 40 /* enough for any formatted timestamp + NUL */

/* Compares two values of the same domain (<0, 0, >0). Different domains: TST_EINVAL. */
int tst_index_value_compare(const tst_index_value *a, const tst_index_value *b, int *out_cmp);

/* Renders a value in index units: RFC 3339 for timestamps, decimal for integers. */
int tst_index_value_format(const tst_index_value *value, char *buf, size_t cap);

/*
 * Maps one index value to its bucket id. The value's domain must match the
 * kind (TST_EINVAL otherwise).
 */
int tst_bucket_of(const tst_index_kind *kind, const tst_index_value *value, uint64_t *out_bucket);

/*
 * Maps the half-open range [start, end) to the inclusive bucket range
 * [*out_first, *out_last]. start >= end, or a domain mismatch, is TST_EINVAL.
 */
int tst_bucket_range(const tst_index_kind *kind, const tst_index_value *start,
                     const tst_index_value *end, uint64_t *out_first, uint64_t *out_last);

/*
 * The index values a bucket spans: [*out_start, *out_end), clipped to the
 * domain at both ends. When clipped at the domain maximum, *out_end is the
 * maximum itself (for timestamps, 9999-12-31T23:59:59.999999999Z) and
 * *out_end_inclusive is true. A bucket no value can reach (u64::MAX with
 * uint64 width 2, or a timestamp bucket outside years 0000..9999) is TST_EINVAL.
 */
int tst_bucket_bounds(const tst_index_kind *kind, uint64_t bucket, tst_index_value *out_start,
                      tst_index_value *out_end, bool *out_end_inclusive);

/*
 * Renders a bucket as its index range: "[1970-01-01T00:00:00Z, 1970-01-01T01:00:00Z)",
 * "[-20, -10)", or "[18446744073709551614, 18446744073709551615]" when clipped.
 */
int tst_bucket_format(const tst_index_kind *kind, uint64_t bucket, char *buf, size_t cap);
#define TST_BUCKET_TEXT_MAX 96 /* enough for any formatted bucket range + NUL */

#ifdef __cplusplus
}
#endif
#endif
