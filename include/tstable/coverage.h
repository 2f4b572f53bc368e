/*
 * tstable/coverage.h — which buckets hold data, and the questions asked of it.
 *
 * A tst_coverage is a set of 64-bit bucket ids (see index.h), stored as a
 * Roaring "treemap": one 32-bit Roaring bitmap per distinct high 32 bits.
 * A tst_entity_coverage maps each entity identity (e.g. symbol=NVDA) to
 * its own tst_coverage.
 *
 * Every question here — ratio, longest gap, missing runs, last fully covered
 * window — costs time proportional to the covered containers inside the
 * range, never to the length of the range: a range of 2^64 buckets is
 * answered as fast as a range of ten.
 *
 * Bucket ranges in this header are inclusive: [first, last].
 *
 * Counts: a range may hold up to 2^64 buckets, one more than uint64_t can
 * count. Counts returned here saturate at UINT64_MAX; only a range spanning
 * the whole domain can reach it.
 *
 * Serialization (format_version 6, byte-exact with the reference):
 *   - global codec: the portable 64-bit Roaring format (a u64 LE count of
 *     32-bit bitmaps, then for each a u32 LE high key and a portable 32-bit
 *     Roaring bitmap). Used by tables without entity columns.
 *   - entity codec "TSTECOV2": big-endian, identities in canonical order,
 *     each followed by its canonicalized global-codec bytes. Used by tables
 *     with entity columns.
 * Decoders treat their input as untrusted: any malformed, truncated or
 * trailing byte is TST_ECORRUPT, never a crash.
 *
 * Thread-safety: a coverage object may be read from many threads at once;
 * writes need exclusive access.
 */
#ifndef TSTABLE_COVERAGE_H
#define TSTABLE_COVERAGE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct tst_coverage tst_coverage;

/* Creates an empty coverage. */
int tst_coverage_new(tst_coverage **out);
/* Deep copy. */
int tst_coverage_clone(tst_coverage **out, const tst_coverage *src);
/* Releases a coverage; NULL is accepted. */
void tst_coverage_free(tst_coverage *cov);

int tst_coverage_add(tst_coverage *cov, uint64_t bucket);
int tst_coverage_add_range(tst_coverage *cov, uint64_t first, uint64_t last);
bool tst_coverage_contains(const tst_coverage *cov, uint64_t bucket);
bool tst_coverage_is_empty(const tst_coverage *cov);
bool tst_coverage_equals(const tst_coverage *a, const tst_coverage *b);
/* Smallest / largest covered bucket; false when empty. */
bool tst_coverage_min(const tst_coverage *cov, uint64_t *out);
bool tst_coverage_max(const tst_coverage *cov, uint64_t *out);

/* Number of covered buckets (saturating). */
uint64_t tst_coverage_cardinality(const tst_coverage *cov);
/* Number of covered buckets inside [first, last] (saturating). */
uint64_t tst_coverage_count_range(const tst_coverage *cov, uint64_t first, uint64_t last);

/* dst |= src. */
int tst_coverage_union_inplace(tst_coverage *dst, const tst_coverage *src);
/* *out = a & b (a new coverage). */
int tst_coverage_intersect(tst_coverage **out, const tst_coverage *a, const tst_coverage *b);
/* |a & b| without building it (saturating). */
uint64_t tst_coverage_intersection_cardinality(const tst_coverage *a, const tst_coverage *b);

/* Covered fraction of [first, last], in [0, 1]. */
double tst_coverage_ratio(const tst_coverage *cov, uint64_t first, uint64_t last);

/* Length of the longest run of missing buckets inside [first, last]; 0 if fully covered. */
uint64_t tst_coverage_max_gap(const tst_coverage *cov, uint64_t first, uint64_t last);

/*
 * Calls fn for each maximal run of missing buckets inside [first, last], in
 * ascending order. With max_run_len > 0, longer runs are reported as
 * consecutive chunks of at most max_run_len buckets. fn returns 0 to go on,
 * anything else to stop: that value is then returned. Returns 0 when done.
 */
typedef int (*tst_bucket_run_fn)(void *ctx, uint64_t first, uint64_t last);
int tst_coverage_each_missing_run(const tst_coverage *cov, uint64_t first, uint64_t last,
                                  uint64_t max_run_len, tst_bucket_run_fn fn, void *ctx);

/*
 * The most recent fully covered window of `len` buckets ending at or before
 * end_bucket: the highest covered run (clipped to end_bucket) of at least
 * len buckets yields [run_end - len + 1, run_end]. Returns false when there
 * is none or len == 0.
 */
bool tst_coverage_last_window(const tst_coverage *cov, uint64_t end_bucket, uint64_t len,
                              uint64_t *out_first, uint64_t *out_last);

/* Converts containers to their smallest form (run containers where smaller). */
void tst_coverage_optimize(tst_coverage *cov);

/* Global codec. size first, then serialize into a buffer of that size. */
size_t tst_coverage_serialized_size(const tst_coverage *cov);
size_t tst_coverage_serialize(const tst_coverage *cov, uint8_t *buf);
/* Decodes exactly len bytes (trailing bytes are an error). */
int tst_coverage_deserialize(tst_coverage **out, const uint8_t *bytes, size_t len);

/* ------------------------------------------------------------------------ */
/* Entity identities                                                         */

typedef enum tst_entity_type {
    TST_ENTITY_UTF8 = 1,
    TST_ENTITY_INT32 = 2,
    TST_ENTITY_INT64 = 3,
    TST_ENTITY_UINT64 = 4
} tst_entity_type;

/* One component of an identity. utf8 bytes are borrowed, not NUL-terminated. */
typedef struct tst_entity_value {
    tst_entity_type type;
    union {
        struct {
            const char *ptr;
            size_t len;
        } utf8;
        int32_t i32;
        int64_t i64;
        uint64_t u64;
    } v;
} tst_entity_value;

/* An identity: one value per entity column, in the table's entity_columns order. */
typedef struct tst_entity_identity {
    size_t count;
    const tst_entity_value *values;
} tst_entity_identity;

/*
 * Canonical order: lexicographic over components; a component compares by
 * type rank first (utf8 < int32 < int64 < uint64), then by value (strings
 * bytewise). A shorter identity that is a prefix of a longer one sorts first.
 */
int tst_entity_identity_compare(const tst_entity_identity *a, const tst_entity_identity *b);

/* Renders values as "NVDA" or "NVDA,-1" (no column names). Returns chars that
 * would have been written, like snprintf. */
int tst_entity_identity_format(const tst_entity_identity *id, char *buf, size_t cap);

/* ------------------------------------------------------------------------ */
/* Entity coverage: identity -> coverage, iterated in canonical order.       */

typedef struct tst_entity_coverage tst_entity_coverage;

int tst_entity_coverage_new(tst_entity_coverage **out);
int tst_entity_coverage_clone(tst_entity_coverage **out, const tst_entity_coverage *src);
void tst_entity_coverage_free(tst_entity_coverage *ec);

/* Number of identities (an identity with empty coverage still counts). */
size_t tst_entity_coverage_count(const tst_entity_coverage *ec);

/*
 * The i-th identity in canonical order and its coverage (borrowed, valid
 * until the entity coverage is modified or freed).
 */
int tst_entity_coverage_at(const tst_entity_coverage *ec, size_t i, tst_entity_identity *out_id,
                           const tst_coverage **out_cov);

/* The coverage of one identity (borrowed), or NULL if the identity is absent. */
const tst_coverage *tst_entity_coverage_get(const tst_entity_coverage *ec,
                                            const tst_entity_identity *id);

/*
 * The coverage of one identity, created empty if absent (the identity's
 * values are copied). The returned pointer is borrowed and may be modified.
 */
int tst_entity_coverage_get_or_add(tst_entity_coverage *ec, const tst_entity_identity *id,
                                   tst_coverage **out_cov);

/* dst |= src, identity by identity. */
int tst_entity_coverage_union_inplace(tst_entity_coverage *dst, const tst_entity_coverage *src);

/* Union over every identity's coverage. */
int tst_entity_coverage_union_all(tst_coverage **out, const tst_entity_coverage *ec);

/* Number of (identity, bucket) pairs (saturating). */
uint64_t tst_entity_coverage_cardinality(const tst_entity_coverage *ec);

/*
 * Overlap between a and b: pairs present in both (saturating count), and the
 * first overlapping identity in canonical order with its smallest overlapping
 * bucket. Returns false (and leaves the outputs alone) when there is none.
 * out_id borrows from a.
 */
bool tst_entity_coverage_overlap(const tst_entity_coverage *a, const tst_entity_coverage *b,
                                 uint64_t *out_count, tst_entity_identity *out_id,
                                 uint64_t *out_bucket);

/* Entity codec (TSTECOV2). */
int tst_entity_coverage_serialize(const tst_entity_coverage *ec, uint8_t **out_bytes,
                                  size_t *out_len); /* *out_bytes: free() it */
int tst_entity_coverage_deserialize(tst_entity_coverage **out, const uint8_t *bytes, size_t len);

#ifdef __cplusplus
}
#endif
#endif
