/*
 * test_coverage.c — tst_coverage: the global codec's golden bytes, the
 * rejection of malformed and truncated input, set operations over the whole
 * u64 domain, and the range questions of the reference (§4.1, §4.2, §10.2).
 *
 * Golden vectors come from format-v6.md §1.11. The whole-domain tests ask
 * about [0, UINT64_MAX]: they would never finish if a query enumerated the
 * range, so passing at all is the performance check.
 */
#include "testsupport.h"

#include "coverage_internal.h"
#include "tstable/coverage.h"

#include <roaring/roaring.h>

#include <stdlib.h>
#include <string.h>

#define B63 (UINT64_C(1) << 63)
#define B32 (UINT64_C(1) << 32)

static const char *GOLDEN_ZERO = "01 00 00 00 00 00 00 00 | 00 00 00 00 | 3a 30 00 00 | "
                                 "01 00 00 00 | 00 00 00 00 | 10 00 00 00 | 00 00";
static const char *GOLDEN_ZERO_MAX =
    "02 00 00 00 00 00 00 00 | 00 00 00 00 | 3a 30 00 00 | 01 00 00 00 | 00 00 00 00 | "
    "10 00 00 00 | 00 00 | ff ff ff ff | 3a 30 00 00 01 00 00 00 ff ff 00 00 10 00 00 00 ff ff";
static const char *GOLDEN_NVDA = "0100000000000000 00000080 3b300000 01 0700 ef00 0100 4847 ef00";

/* ------------------------------------------------------------ helpers */

static tst_coverage *cov_of(const uint64_t *buckets, size_t n)
{
    tst_coverage *cov;
    assert_tst_ok(tst_coverage_new(&cov));
    for (size_t i = 0; i < n; i++)
        assert_tst_ok(tst_coverage_add(cov, buckets[i]));
    return cov;
}

static tst_coverage *cov_range(uint64_t first, uint64_t last)
{
    tst_coverage *cov;
    assert_tst_ok(tst_coverage_new(&cov));
    assert_tst_ok(tst_coverage_add_range(cov, first, last));
    return cov;
}

/* Serializes into a malloc'd buffer, checking size and return agree. */
static uint8_t *encode(const tst_coverage *cov, size_t *len)
{
    *len = tst_coverage_serialized_size(cov);
    uint8_t *buf = malloc(*len);
    assert_non_null(buf);
    assert_int_equal(tst_coverage_serialize(cov, buf), *len);
    return buf;
}

static void assert_encodes_to(const tst_coverage *cov, const char *hex)
{
    uint8_t want[256];
    size_t want_len = tst_test_hex(hex, want);
    size_t len;
    uint8_t *got = encode(cov, &len);
    assert_int_equal(len, want_len);
    assert_memory_equal(got, want, len);
    free(got);
}

static void assert_decodes_to(const char *hex, const tst_coverage *want)
{
    uint8_t bytes[256];
    size_t len = tst_test_hex(hex, bytes);
    tst_coverage *got;
    assert_tst_ok(tst_coverage_deserialize(&got, bytes, len));
    assert_true(tst_coverage_equals(got, want));
    tst_coverage_free(got);
}

static void assert_rejected(const uint8_t *bytes, size_t len, const char *needle)
{
    tst_coverage *cov = NULL;
    assert_tst_fails(tst_coverage_deserialize(&cov, bytes, len), TST_ECORRUPT);
    assert_null(cov);
    if (needle && !strstr(tst_error_last()->message, needle)) {
        print_error("message \"%s\" lacks \"%s\"\n", tst_error_last()->message, needle);
        fail();
    }
}

static void assert_hex_rejected(const char *hex, const char *needle)
{
    uint8_t bytes[256];
    size_t len = tst_test_hex(hex, bytes);
    assert_rejected(bytes, len, needle);
}

static void assert_every_prefix_rejected(const uint8_t *bytes, size_t len)
{
    for (size_t n = 0; n < len; n++)
        assert_rejected(bytes, n, NULL);
    tst_coverage *cov;
    assert_tst_ok(tst_coverage_deserialize(&cov, bytes, len));
    tst_coverage_free(cov);
}

typedef struct run_list {
    uint64_t first[64], last[64];
    size_t n;
    size_t stop_after; /* 0: never stop */
} run_list;

static int collect_run(void *ctx, uint64_t first, uint64_t last)
{
    run_list *l = ctx;
    assert_true(l->n < 64);
    l->first[l->n] = first;
    l->last[l->n] = last;
    l->n++;
    return l->stop_after && l->n == l->stop_after ? 42 : 0;
}

/* ------------------------------------------------------- golden bytes */

static void empty_coverage_encodes_as_eight_zero_bytes(void **state)
{
    (void)state;
    tst_coverage *cov;
    assert_tst_ok(tst_coverage_new(&cov));
    assert_encodes_to(cov, "00 00 00 00 00 00 00 00");
    assert_decodes_to("00 00 00 00 00 00 00 00", cov);
    tst_coverage_free(cov);
}

static void coverage_of_zero_matches_its_golden_bytes(void **state)
{
    (void)state;
    uint64_t b[] = {0};
    tst_coverage *cov = cov_of(b, 1);
    assert_encodes_to(cov, GOLDEN_ZERO);
    assert_decodes_to(GOLDEN_ZERO, cov);
    tst_coverage_free(cov);
}

static void coverage_of_zero_and_u64_max_matches_its_golden_bytes(void **state)
{
    (void)state;
    uint64_t b[] = {UINT64_MAX, 0};
    tst_coverage *cov = cov_of(b, 2);
    assert_encodes_to(cov, GOLDEN_ZERO_MAX);
    assert_decodes_to(GOLDEN_ZERO_MAX, cov);
    tst_coverage_free(cov);
}

static void nvda_hourly_coverage_matches_the_reference_sidecar_body(void **state)
{
    (void)state;
    tst_coverage *cov = cov_range(B63 + 477000, B63 + 477239);
    size_t len;
    uint8_t *bytes = encode(cov, &len);
    assert_int_equal(len, 27);
    free(bytes);
    assert_encodes_to(cov, GOLDEN_NVDA);
    assert_decodes_to(GOLDEN_NVDA, cov);
    tst_coverage_free(cov);
}

static void encoding_is_canonical_whatever_the_container_types(void **state)
{
    (void)state;
    /* Built one bucket at a time (an array container) or as a range (a run
     * container), 240 consecutive buckets encode the same way. */
    tst_coverage *cov;
    assert_tst_ok(tst_coverage_new(&cov));
    for (uint64_t b = B63 + 477000; b <= B63 + 477239; b++)
        assert_tst_ok(tst_coverage_add(cov, b));
    assert_encodes_to(cov, GOLDEN_NVDA);
    tst_coverage_optimize(cov);
    assert_encodes_to(cov, GOLDEN_NVDA);
    tst_coverage_free(cov);

    /* Where sizes tie the choice is CRoaring's: {0,1} is an array (run 6
     * bytes against 2 + 2*2), {0,1,2} one run (6 against 2 + 2*3). */
    cov = cov_range(0, 1);
    assert_encodes_to(cov, "0100000000000000 00000000 3a300000 01000000 0000 0100 10000000 "
                           "0000 0100");
    assert_tst_ok(tst_coverage_add(cov, 2));
    assert_encodes_to(cov, "0100000000000000 00000000 3b300000 01 0000 0200 0100 0000 0200");
    tst_coverage_free(cov);
}

static void non_canonical_input_is_accepted_and_rewritten_canonically(void **state)
{
    (void)state;
    /* An empty 32-bit bitmap, then {0,1} as a run container. */
    const char *runs = "0200000000000000 | 00000000 3a300000 00000000 | "
                       "07000000 3b300000 01 0000 0100 0100 0000 0100";
    uint8_t bytes[128];
    size_t len = tst_test_hex(runs, bytes);
    tst_coverage *cov;
    assert_tst_ok(tst_coverage_deserialize(&cov, bytes, len));
    assert_int_equal(tst_coverage_cardinality(cov), 2);
    assert_true(tst_coverage_contains(cov, UINT64_C(7) << 32 | 1));
    assert_encodes_to(cov, "0100000000000000 07000000 3a300000 01000000 0000 0100 10000000 "
                           "0000 0100");
    tst_coverage_free(cov);
}

static void bitmaps_written_by_croaring_are_read(void **state)
{
    (void)state;
    /* Six containers mixing the three kinds, so the run cookie carries the
     * offset header (4 or more containers). */
    roaring_bitmap_t *bm = roaring_bitmap_create();
    roaring_bitmap_add_range_closed(bm, 10, 5000);
    for (uint32_t v = 65536; v < 65536 + 20000; v += 3)
        roaring_bitmap_add(bm, v);
    roaring_bitmap_add(bm, 3u << 16 | 7);
    roaring_bitmap_add_range_closed(bm, 5u << 16, 9u << 16);
    roaring_bitmap_run_optimize(bm);
    size_t n = roaring_bitmap_portable_size_in_bytes(bm);
    uint8_t *bytes = malloc(12 + n);
    assert_non_null(bytes);
    memcpy(bytes, "\x01\0\0\0\0\0\0\0\x05\0\0\0", 12);
    roaring_bitmap_portable_serialize(bm, (char *)bytes + 12);

    tst_coverage *cov;
    assert_tst_ok(tst_coverage_deserialize(&cov, bytes, 12 + n));
    assert_int_equal(tst_coverage_cardinality(cov), roaring_bitmap_get_cardinality(bm));
    assert_true(tst_coverage_contains(cov, UINT64_C(5) << 32 | 3u << 16 | 7));
    assert_true(tst_coverage_contains(cov, UINT64_C(5) << 32 | 9u << 16));
    assert_false(tst_coverage_contains(cov, UINT64_C(5) << 32 | (9u << 16 | 1)));
    assert_every_prefix_rejected(bytes, 12 + n);

    size_t len;
    uint8_t *again = encode(cov, &len);
    assert_int_equal(len, 12 + n);
    assert_memory_equal(again, bytes, len);
    free(again);
    tst_coverage_free(cov);
    free(bytes);
    roaring_bitmap_free(bm);
}

/* ------------------------------------------------------ malformed input */

static void every_truncated_prefix_is_rejected(void **state)
{
    (void)state;
    const char *vectors[] = {GOLDEN_ZERO, GOLDEN_ZERO_MAX, GOLDEN_NVDA};
    for (size_t v = 0; v < 3; v++) {
        uint8_t bytes[256];
        size_t len = tst_test_hex(vectors[v], bytes);
        assert_every_prefix_rejected(bytes, len);
    }
    /* A bitset container, and many run containers with offsets. */
    tst_coverage *cov;
    assert_tst_ok(tst_coverage_new(&cov));
    for (uint64_t b = B32; b < B32 + 20000; b += 2)
        assert_tst_ok(tst_coverage_add(cov, b));
    for (uint64_t k = 0; k < 6; k++)
        assert_tst_ok(tst_coverage_add_range(cov, B63 + (k << 16) + 5, B63 + (k << 16) + 900));
    size_t len;
    uint8_t *bytes = encode(cov, &len);
    assert_every_prefix_rejected(bytes, len);
    free(bytes);
    tst_coverage_free(cov);
}

static void trailing_bytes_are_rejected(void **state)
{
    (void)state;
    char hex[256];
    snprintf(hex, sizeof hex, "%s 00", GOLDEN_ZERO);
    assert_hex_rejected(hex, "trailing bytes after roaring bitmap");
    assert_hex_rejected("00 00 00 00 00 00 00 00 00", "trailing bytes after roaring bitmap");
}

static void a_bad_cookie_is_rejected(void **state)
{
    (void)state;
    assert_hex_rejected("0100000000000000 00000000 3c300000 01000000 0000 0000 10000000 0000",
                        "bad cookie");
    /* 12346 in the low half is not enough: the whole word must match. */
    assert_hex_rejected("0100000000000000 00000000 3a300100 01000000 0000 0000 10000000 0000",
                        "bad cookie");
}

static void unsorted_high_keys_are_rejected(void **state)
{
    (void)state;
    assert_hex_rejected("0200000000000000 | 05000000 3a300000 01000000 0000 0000 10000000 0000 | "
                        "05000000 3a300000 01000000 0000 0000 10000000 0100",
                        "high keys not strictly increasing");
    assert_hex_rejected("0200000000000000 | 05000000 3a300000 01000000 0000 0000 10000000 0000 | "
                        "04000000 3a300000 01000000 0000 0000 10000000 0100",
                        "high keys not strictly increasing");
}

static void unsorted_container_keys_are_rejected(void **state)
{
    (void)state;
    assert_hex_rejected("0100000000000000 00000000 3a300000 02000000 0300 0000 0300 0000 "
                        "18000000 1a000000 0000 0100",
                        "keys not strictly increasing");
}

static void unsorted_or_repeated_array_values_are_rejected(void **state)
{
    (void)state;
    assert_hex_rejected("0100000000000000 00000000 3a300000 01000000 0000 0100 10000000 0500 0400",
                        "array values not strictly increasing");
    assert_hex_rejected("0100000000000000 00000000 3a300000 01000000 0000 0100 10000000 0500 0500",
                        "array values not strictly increasing");
}

static void a_bitset_whose_popcount_differs_from_its_header_is_rejected(void **state)
{
    (void)state;
    /* Header says 5000 values (card-1 = 4999 = 0x1387); the bits hold 4999. */
    uint8_t bytes[12 + 16 + 8192];
    size_t n =
        tst_test_hex("0100000000000000 00000000 3a300000 01000000 0000 8713 10000000", bytes);
    memset(bytes + n, 0, 8192);
    for (uint32_t v = 0; v < 4999; v++)
        bytes[n + v / 8] |= (uint8_t)(1u << (v % 8));
    assert_rejected(bytes, n + 8192, "bitset holds 4999 values but its header says 5000");
    bytes[n + 4999 / 8] |= (uint8_t)(1u << (4999 % 8));
    tst_coverage *cov;
    assert_tst_ok(tst_coverage_deserialize(&cov, bytes, n + 8192));
    assert_int_equal(tst_coverage_cardinality(cov), 5000);
    tst_coverage_free(cov);
}

static void overlapping_or_unsorted_runs_are_rejected(void **state)
{
    (void)state;
    /* [0,10] then [5,6]; then [20,21] before [0,0]. */
    assert_hex_rejected("0100000000000000 00000000 3b300000 01 0000 0c00 0200 0000 0a00 0500 0100",
                        "not after the previous run");
    assert_hex_rejected("0100000000000000 00000000 3b300000 01 0000 0200 0200 1400 0100 0000 0000",
                        "not after the previous run");
    /* Touching runs [0,1][2,3] are a valid (if wasteful) encoding. */
    uint8_t bytes[64];
    size_t n = tst_test_hex(
        "0100000000000000 00000000 3b300000 01 0000 0300 0200 0000 0100 0200 0100", bytes);
    tst_coverage *cov;
    assert_tst_ok(tst_coverage_deserialize(&cov, bytes, n));
    assert_int_equal(tst_coverage_count_range(cov, 0, 10), 4);
    tst_coverage_free(cov);
}

static void a_run_past_65535_is_rejected(void **state)
{
    (void)state;
    assert_hex_rejected("0100000000000000 00000000 3b300000 01 0000 0100 0100 ffff 0100",
                        "goes past 65535");
    assert_hex_rejected("0100000000000000 00000000 3b300000 01 0000 0000 0000", "no runs");
}

static void inconsistent_headers_are_rejected(void **state)
{
    (void)state;
    assert_hex_rejected("0100000000000000 00000000 3a300000 01000000 0000 0000 11000000 0000",
                        "offset 17 does not match");
    assert_hex_rejected("0100000000000000 00000000 3a300000 01000100 0000 0000 10000000 0000",
                        "container count 65537 exceeds 65536");
    assert_hex_rejected("ffffffffffffffff 00000000 3a300000 00000000", "cannot fit");
    assert_hex_rejected("0100000000000000 00000000 3b300000 03 0000 0000 0000",
                        "run flags set past");
    assert_hex_rejected("01", "truncated");
}

/* ------------------------------------------------------ set operations */

static void set_operations_use_the_whole_u64_domain(void **state)
{
    (void)state;
    uint64_t b[] = {0, B32 - 1, B32, B63, UINT64_MAX};
    tst_coverage *cov = cov_of(b, 5);
    for (size_t i = 0; i < 5; i++)
        assert_true(tst_coverage_contains(cov, b[i]));
    assert_false(tst_coverage_contains(cov, 1));
    assert_false(tst_coverage_contains(cov, UINT64_MAX - 1));
    assert_int_equal(tst_coverage_cardinality(cov), 5);
    uint64_t lo, hi;
    assert_true(tst_coverage_min(cov, &lo));
    assert_true(tst_coverage_max(cov, &hi));
    assert_true(lo == 0 && hi == UINT64_MAX);

    /* B32-1 and B32 touch across partitions: one run. */
    run_list runs = {0};
    assert_int_equal(tst_coverage_each_run(cov, 0, UINT64_MAX, collect_run, &runs), 0);
    assert_int_equal(runs.n, 4);
    assert_true(runs.first[1] == B32 - 1 && runs.last[1] == B32);

    uint64_t other_b[] = {B32, B63 + 1, UINT64_MAX, 7};
    tst_coverage *other = cov_of(other_b, 4);
    assert_int_equal(tst_coverage_intersection_cardinality(cov, other), 2);
    tst_coverage *both;
    assert_tst_ok(tst_coverage_intersect(&both, cov, other));
    uint64_t both_b[] = {B32, UINT64_MAX};
    tst_coverage *want = cov_of(both_b, 2);
    assert_true(tst_coverage_equals(both, want));

    tst_coverage *all;
    assert_tst_ok(tst_coverage_clone(&all, cov));
    assert_true(tst_coverage_equals(all, cov));
    assert_tst_ok(tst_coverage_union_inplace(all, other));
    assert_int_equal(tst_coverage_cardinality(all), 7);
    assert_true(tst_coverage_contains(all, 7) && tst_coverage_contains(all, B63 + 1));
    assert_false(tst_coverage_equals(all, cov));
    assert_int_equal(tst_coverage_cardinality(cov), 5); /* the clone was changed, not cov */

    tst_coverage_free(both);

    tst_coverage *empty;
    assert_tst_ok(tst_coverage_new(&empty));
    assert_true(tst_coverage_is_empty(empty));
    assert_false(tst_coverage_min(empty, &lo));
    assert_tst_ok(tst_coverage_intersect(&both, cov, empty));
    assert_true(tst_coverage_is_empty(both));
    assert_true(tst_coverage_equals(both, empty));
    assert_int_equal(tst_coverage_intersection_cardinality(cov, empty), 0);
    tst_coverage_free(both);
    assert_tst_ok(tst_coverage_union_inplace(empty, cov));
    assert_true(tst_coverage_equals(empty, cov));

    tst_coverage_free(empty);
    tst_coverage_free(all);
    tst_coverage_free(want);
    tst_coverage_free(other);
    tst_coverage_free(cov);
}

static void an_empty_range_cannot_be_added(void **state)
{
    (void)state;
    tst_coverage *cov;
    assert_tst_ok(tst_coverage_new(&cov));
    assert_tst_fails(tst_coverage_add_range(cov, 5, 4), TST_EINVAL);
    assert_tst_ok(tst_coverage_add_range(cov, UINT64_MAX, UINT64_MAX));
    assert_tst_ok(tst_coverage_add_range(cov, B32 - 3, B32 + 2));
    assert_int_equal(tst_coverage_cardinality(cov), 7);
    tst_coverage_free(cov);
}

/* ------------------------------------------------------- range queries */

static void sparse_huge_ranges_are_answered_without_enumerating(void **state)
{
    (void)state;
    uint64_t b[] = {0, B32 - 1, B32, B63, UINT64_MAX};
    tst_coverage *cov = cov_of(b, 5);
    assert_int_equal(tst_coverage_count_range(cov, 0, UINT64_MAX), 5);
    assert_int_equal(tst_coverage_count_range(cov, 1, UINT64_MAX - 1), 3);
    double ratio = tst_coverage_ratio(cov, 0, UINT64_MAX);
    assert_true(ratio > 0 && ratio < 1e-18);
    /* The longest gap is (B63, UINT64_MAX): 2^63 - 2 buckets. */
    assert_true(tst_coverage_max_gap(cov, 0, UINT64_MAX) == B63 - 2);
    assert_true(tst_coverage_max_gap(cov, 0, B63) == B63 - B32 - 1);

    run_list gaps = {0};
    assert_int_equal(tst_coverage_each_missing_run(cov, 0, UINT64_MAX, 0, collect_run, &gaps), 0);
    assert_int_equal(gaps.n, 3);
    assert_true(gaps.first[0] == 1 && gaps.last[0] == B32 - 2);
    assert_true(gaps.first[1] == B32 + 1 && gaps.last[1] == B63 - 1);
    assert_true(gaps.first[2] == B63 + 1 && gaps.last[2] == UINT64_MAX - 1);

    /* With nothing covered, the whole domain is one gap of 2^64 buckets,
     * which saturates. */
    tst_coverage *empty;
    assert_tst_ok(tst_coverage_new(&empty));
    assert_true(tst_coverage_max_gap(empty, 0, UINT64_MAX) == UINT64_MAX);
    assert_true(tst_coverage_ratio(empty, 0, UINT64_MAX) == 0.0);
    assert_int_equal(tst_coverage_count_range(empty, 0, UINT64_MAX), 0);
    run_list all = {0};
    assert_int_equal(tst_coverage_each_missing_run(empty, 0, UINT64_MAX, 0, collect_run, &all), 0);
    assert_true(all.n == 1 && all.first[0] == 0 && all.last[0] == UINT64_MAX);
    tst_coverage_free(empty);
    tst_coverage_free(cov);
}

static void range_queries_respect_the_requested_bounds(void **state)
{
    (void)state;
    tst_coverage *cov = cov_range(100, 199);
    assert_int_equal(tst_coverage_count_range(cov, 150, 160), 11);
    assert_int_equal(tst_coverage_count_range(cov, 0, 99), 0);
    assert_int_equal(tst_coverage_count_range(cov, 199, 300), 1);
    assert_true(tst_coverage_ratio(cov, 150, 160) == 1.0);
    assert_true(tst_coverage_ratio(cov, 50, 149) == 0.5);
    assert_true(tst_coverage_ratio(cov, 10, 9) == 1.0); /* empty range, as the reference */
    assert_int_equal(tst_coverage_max_gap(cov, 120, 180), 0);
    assert_int_equal(tst_coverage_max_gap(cov, 90, 205), 10);
    assert_int_equal(tst_coverage_max_gap(cov, 0, 0), 1);

    run_list runs = {0};
    assert_int_equal(tst_coverage_each_run(cov, 150, 160, collect_run, &runs), 0);
    assert_true(runs.n == 1 && runs.first[0] == 150 && runs.last[0] == 160);
    run_list gaps = {0};
    assert_int_equal(tst_coverage_each_missing_run(cov, 95, 205, 0, collect_run, &gaps), 0);
    assert_int_equal(gaps.n, 2);
    assert_true(gaps.first[0] == 95 && gaps.last[0] == 99);
    assert_true(gaps.first[1] == 200 && gaps.last[1] == 205);
    tst_coverage_free(cov);
}

static void coverage_ratio_and_max_gap_follow_the_reference_examples(void **state)
{
    (void)state;
    /* Covered minutes {0, 1, 3}; range [0 s, 240 s) = buckets [2^63, 2^63+3]. */
    uint64_t b[] = {B63, B63 + 1, B63 + 3};
    tst_coverage *cov = cov_of(b, 3);
    assert_int_equal(tst_coverage_max_gap(cov, B63, B63 + 3), 1);
    assert_true(tst_coverage_ratio(cov, B63, B63 + 3) == 0.75);
    tst_coverage_free(cov);
}

static void last_window_respects_the_end_and_the_run_length(void **state)
{
    (void)state;
    /* Covered minutes 4 and 5, end = 360 s → end_bucket 2^63+5. */
    uint64_t b[] = {B63 + 4, B63 + 5};
    tst_coverage *cov = cov_of(b, 2);
    uint64_t first = 0, last = 0;
    assert_true(tst_coverage_last_window(cov, B63 + 5, 2, &first, &last));
    assert_true(first == B63 + 4 && last == B63 + 5);
    assert_false(tst_coverage_last_window(cov, B63 + 5, 3, &first, &last));
    assert_false(tst_coverage_last_window(cov, B63 + 5, 0, &first, &last));
    /* The run is clipped at end_bucket. */
    assert_false(tst_coverage_last_window(cov, B63 + 4, 2, &first, &last));
    assert_true(tst_coverage_last_window(cov, B63 + 4, 1, &first, &last));
    assert_true(first == B63 + 4 && last == B63 + 4);
    assert_true(tst_coverage_last_window(cov, UINT64_MAX, 1, &first, &last));
    assert_true(first == B63 + 5 && last == B63 + 5);
    tst_coverage_free(cov);
}

static void last_window_prefers_the_most_recent_long_enough_run(void **state)
{
    (void)state;
    tst_coverage *cov = cov_range(10, 19);
    assert_tst_ok(tst_coverage_add_range(cov, 30, 32));
    assert_tst_ok(tst_coverage_add(cov, 40));
    uint64_t first, last;
    assert_true(tst_coverage_last_window(cov, 100, 3, &first, &last));
    assert_true(first == 30 && last == 32);
    assert_true(tst_coverage_last_window(cov, 100, 4, &first, &last));
    assert_true(first == 16 && last == 19);
    assert_true(tst_coverage_last_window(cov, 15, 4, &first, &last));
    assert_true(first == 12 && last == 15);
    assert_false(tst_coverage_last_window(cov, 100, 11, &first, &last));
    assert_false(tst_coverage_last_window(cov, 9, 1, &first, &last));
    tst_coverage_free(cov);
}

static void last_window_handles_zero_and_u64_max(void **state)
{
    (void)state;
    tst_coverage *cov = cov_range(UINT64_MAX - 2, UINT64_MAX);
    assert_tst_ok(tst_coverage_add(cov, 0));
    uint64_t first, last;
    assert_true(tst_coverage_last_window(cov, UINT64_MAX, 3, &first, &last));
    assert_true(first == UINT64_MAX - 2 && last == UINT64_MAX);
    assert_false(tst_coverage_last_window(cov, UINT64_MAX, 4, &first, &last));
    assert_true(tst_coverage_last_window(cov, UINT64_MAX - 1, 2, &first, &last));
    assert_true(first == UINT64_MAX - 2 && last == UINT64_MAX - 1);
    assert_true(tst_coverage_last_window(cov, UINT64_MAX - 3, 1, &first, &last));
    assert_true(first == 0 && last == 0);
    assert_true(tst_coverage_last_window(cov, 0, 1, &first, &last));
    assert_true(first == 0 && last == 0);
    assert_false(tst_coverage_last_window(cov, 0, 2, &first, &last));
    assert_false(tst_coverage_last_window(cov, UINT64_MAX, 0, &first, &last));
    tst_coverage_free(cov);
}

static void missing_runs_split_without_enumerating_missing_buckets(void **state)
{
    (void)state;
    uint64_t b[] = {B63};
    tst_coverage *cov = cov_of(b, 1);
    uint64_t q = UINT64_C(1) << 62;
    run_list gaps = {0};
    assert_int_equal(tst_coverage_each_missing_run(cov, 0, UINT64_MAX, q, collect_run, &gaps), 0);
    assert_int_equal(gaps.n, 4);
    assert_true(gaps.first[0] == 0 && gaps.last[0] == q - 1);
    assert_true(gaps.first[1] == q && gaps.last[1] == B63 - 1);
    assert_true(gaps.first[2] == B63 + 1 && gaps.last[2] == B63 + q);
    assert_true(gaps.first[3] == B63 + q + 1 && gaps.last[3] == UINT64_MAX);

    /* Chunks of 3 over a 10-bucket gap: 3, 3, 3, 1. */
    run_list small = {0};
    assert_int_equal(tst_coverage_each_missing_run(cov, B63 - 10, B63, 3, collect_run, &small), 0);
    assert_int_equal(small.n, 4);
    assert_true(small.first[3] == B63 - 1 && small.last[3] == B63 - 1);

    /* A callback's nonzero return stops the walk and comes back. */
    run_list stopped = {.stop_after = 2};
    assert_int_equal(tst_coverage_each_missing_run(cov, 0, UINT64_MAX, 1, collect_run, &stopped),
                     42);
    assert_int_equal(stopped.n, 2);
    tst_coverage_free(cov);
}

static void optimize_keeps_the_set_and_its_bytes(void **state)
{
    (void)state;
    tst_coverage *cov;
    assert_tst_ok(tst_coverage_new(&cov));
    for (uint64_t b = 0; b < 70000; b++)
        assert_tst_ok(tst_coverage_add(cov, b * 3 % 70000 + B32 * 9));
    size_t before_len, after_len;
    uint8_t *before = encode(cov, &before_len);
    tst_coverage_optimize(cov);
    uint8_t *after = encode(cov, &after_len);
    assert_int_equal(before_len, after_len);
    assert_memory_equal(before, after, before_len);
    assert_int_equal(tst_coverage_cardinality(cov), 70000);
    /* One run of 70000 buckets across two containers: run containers. */
    assert_true(before_len < 64);
    free(before);
    free(after);
    tst_coverage_free(cov);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(empty_coverage_encodes_as_eight_zero_bytes),
        cmocka_unit_test(coverage_of_zero_matches_its_golden_bytes),
        cmocka_unit_test(coverage_of_zero_and_u64_max_matches_its_golden_bytes),
        cmocka_unit_test(nvda_hourly_coverage_matches_the_reference_sidecar_body),
        cmocka_unit_test(encoding_is_canonical_whatever_the_container_types),
        cmocka_unit_test(non_canonical_input_is_accepted_and_rewritten_canonically),
        cmocka_unit_test(bitmaps_written_by_croaring_are_read),
        cmocka_unit_test(every_truncated_prefix_is_rejected),
        cmocka_unit_test(trailing_bytes_are_rejected),
        cmocka_unit_test(a_bad_cookie_is_rejected),
        cmocka_unit_test(unsorted_high_keys_are_rejected),
        cmocka_unit_test(unsorted_container_keys_are_rejected),
        cmocka_unit_test(unsorted_or_repeated_array_values_are_rejected),
        cmocka_unit_test(a_bitset_whose_popcount_differs_from_its_header_is_rejected),
        cmocka_unit_test(overlapping_or_unsorted_runs_are_rejected),
        cmocka_unit_test(a_run_past_65535_is_rejected),
        cmocka_unit_test(inconsistent_headers_are_rejected),
        cmocka_unit_test(set_operations_use_the_whole_u64_domain),
        cmocka_unit_test(an_empty_range_cannot_be_added),
        cmocka_unit_test(sparse_huge_ranges_are_answered_without_enumerating),
        cmocka_unit_test(range_queries_respect_the_requested_bounds),
        cmocka_unit_test(coverage_ratio_and_max_gap_follow_the_reference_examples),
        cmocka_unit_test(last_window_respects_the_end_and_the_run_length),
        cmocka_unit_test(last_window_prefers_the_most_recent_long_enough_run),
        cmocka_unit_test(last_window_handles_zero_and_u64_max),
        cmocka_unit_test(missing_runs_split_without_enumerating_missing_buckets),
        cmocka_unit_test(optimize_keeps_the_set_and_its_bytes),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
