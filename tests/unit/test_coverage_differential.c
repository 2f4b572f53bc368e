/*
 * test_coverage_differential.c — tst_coverage against a naive model.
 *
 * The model is a sorted array of distinct u64 buckets; every question is
 * answered by walking it. Random sets come from a seeded PRNG and are
 * clustered around the places where treemaps go wrong: 0, the 2^32 and 2^63
 * partition borders, UINT64_MAX, and 2^16 container borders. Each cluster
 * mixes long runs (run containers), dense noise (bitset containers) and
 * sparse points (array containers), so every container layout and every
 * run merge across containers and partitions is exercised. Queries pick
 * their bounds near covered buckets, cluster edges and the domain ends.
 *
 * Besides the queries: union, intersection, intersection cardinality,
 * min/max, the codec round trip, the union accumulated from serialized sets
 * (against the decoded union, byte for byte), the encoding of a union
 * without building it (against the built union's, byte for byte), and byte equality with what CRoaring's own
 * writer produces for a freshly built, run-optimized bitmap of the same set.
 * Sized to finish in a few seconds, also under valgrind.
 */
#include "testsupport.h"

#include "coverage_internal.h"
#include "tstable/coverage.h"

#include <roaring/roaring.h>

#include <stdlib.h>
#include <string.h>

__extension__ typedef unsigned __int128 u128;

/* ------------------------------------------------------------ the model */

typedef struct model {
    uint64_t *v;
    size_t n;
} model;

static uint64_t rng_state;

static uint64_t rng(void)
{
    uint64_t z = (rng_state += UINT64_C(0x9E3779B97F4A7C15));
    z = (z ^ (z >> 30)) * UINT64_C(0xBF58476D1CE4E5B9);
    z = (z ^ (z >> 27)) * UINT64_C(0x94D049BB133111EB);
    return z ^ (z >> 31);
}

static uint64_t rng_below(uint64_t n)
{
    return n ? rng() % n : 0;
}

static int cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

static void model_sort(model *m)
{
    qsort(m->v, m->n, sizeof *m->v, cmp_u64);
    size_t k = 0;
    for (size_t i = 0; i < m->n; i++)
        if (k == 0 || m->v[k - 1] != m->v[i])
            m->v[k++] = m->v[i];
    m->n = k;
}

/* Index of the first value >= x. */
static size_t model_lower(const model *m, uint64_t x)
{
    size_t lo = 0, hi = m->n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (m->v[mid] < x)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

/* Index one past the last value <= x. */
static size_t model_upper(const model *m, uint64_t x)
{
    return x == UINT64_MAX ? m->n : model_lower(m, x + 1);
}

static const uint64_t anchors[] = {
    0,
    (UINT64_C(1) << 32) - 40000,
    (UINT64_C(3) << 32) - 70000,
    (UINT64_C(1) << 63) - 100000,
    (UINT64_C(1) << 63) + (UINT64_C(5) << 16) - 3,
    UINT64_MAX - 150000,
};
#define N_ANCHORS (sizeof anchors / sizeof anchors[0])

/* Adds a cluster near an anchor: runs, dense noise and sparse points. */
static void model_add_cluster(model *m, size_t cap, uint64_t anchor)
{
    int shape = (int)rng_below(3);
    /* Noise packed into 16000 buckets makes bitset containers. */
    uint64_t span = shape == 1 ? 16000 : 140000;
    uint64_t base = anchor > UINT64_MAX - span ? UINT64_MAX - span : anchor;
    size_t target = 1500 + rng_below(6000);
    while (target > 0 && m->n < cap) {
        uint64_t at = base + rng_below(span);
        uint64_t len = shape == 0 ? 1 + rng_below(2000) : shape == 1 ? 1 + rng_below(3) : 1;
        if (at > UINT64_MAX - len)
            len = UINT64_MAX - at + 1;
        for (uint64_t k = 0; k < len && target > 0 && m->n < cap; k++, target--)
            m->v[m->n++] = at + k;
    }
    if (rng_below(4) == 0 && m->n < cap)
        m->v[m->n++] = anchor == 0 ? UINT64_MAX : 0; /* a lone far bucket */
}

static model model_random(void)
{
    size_t cap = 20000;
    model m = {malloc(cap * sizeof(uint64_t)), 0};
    assert_non_null(m.v);
    size_t clusters = 1 + rng_below(3);
    for (size_t c = 0; c < clusters; c++)
        model_add_cluster(&m, cap, anchors[rng_below(N_ANCHORS)]);
    model_sort(&m);
    return m;
}

static tst_coverage *coverage_of(const model *m)
{
    tst_coverage *cov;
    assert_tst_ok(tst_coverage_new(&cov));
    /* Ranges for some runs, single adds for others: both paths. */
    for (size_t i = 0; i < m->n;) {
        size_t j = i;
        while (j + 1 < m->n && m->v[j + 1] == m->v[j] + 1)
            j++;
        if (rng_below(2))
            assert_tst_ok(tst_coverage_add_range(cov, m->v[i], m->v[j]));
        else
            for (size_t k = i; k <= j; k++)
                assert_tst_ok(tst_coverage_add(cov, m->v[k]));
        i = j + 1;
    }
    if (rng_below(2))
        tst_coverage_optimize(cov);
    return cov;
}

/* --------------------------------------------------- run collection */

typedef struct runs {
    uint64_t *first, *last;
    size_t n, cap;
} runs;

static int runs_push(void *ctx, uint64_t first, uint64_t last)
{
    runs *r = ctx;
    if (r->n == r->cap) {
        r->cap = r->cap ? 2 * r->cap : 64;
        r->first = realloc(r->first, r->cap * sizeof(uint64_t));
        r->last = realloc(r->last, r->cap * sizeof(uint64_t));
        assert_true(r->first && r->last);
    }
    r->first[r->n] = first;
    r->last[r->n] = last;
    r->n++;
    return 0;
}

static void runs_free(runs *r)
{
    free(r->first);
    free(r->last);
    *r = (runs){0};
}

static void assert_runs_equal(const runs *a, const runs *b)
{
    assert_int_equal(a->n, b->n);
    for (size_t i = 0; i < a->n; i++) {
        assert_true(a->first[i] == b->first[i]);
        assert_true(a->last[i] == b->last[i]);
    }
}

/* Covered runs of the model inside [lo, hi]. */
static void model_runs(const model *m, uint64_t lo, uint64_t hi, runs *out)
{
    size_t end = model_upper(m, hi);
    for (size_t i = model_lower(m, lo); i < end;) {
        size_t j = i;
        while (j + 1 < end && m->v[j + 1] == m->v[j] + 1)
            j++;
        runs_push(out, m->v[i], m->v[j]);
        i = j + 1;
    }
}

static void chunk_push(runs *out, uint64_t a, uint64_t b, uint64_t max_len)
{
    while (max_len && (u128)b - a + 1 > max_len) {
        runs_push(out, a, a + max_len - 1);
        a += max_len;
    }
    runs_push(out, a, b);
}

/* Missing runs of the model inside [lo, hi], chunked. */
static void model_missing(const model *m, uint64_t lo, uint64_t hi, uint64_t max_len, runs *out)
{
    runs cov = {0};
    model_runs(m, lo, hi, &cov);
    u128 next = lo;
    for (size_t i = 0; i < cov.n; i++) {
        if (cov.first[i] > next)
            chunk_push(out, (uint64_t)next, cov.first[i] - 1, max_len);
        next = (u128)cov.last[i] + 1;
    }
    if (next <= hi)
        chunk_push(out, (uint64_t)next, hi, max_len);
    runs_free(&cov);
}

static uint64_t model_max_gap(const model *m, uint64_t lo, uint64_t hi)
{
    runs gaps = {0};
    model_missing(m, lo, hi, 0, &gaps);
    u128 best = 0;
    for (size_t i = 0; i < gaps.n; i++)
        if ((u128)gaps.last[i] - gaps.first[i] + 1 > best)
            best = (u128)gaps.last[i] - gaps.first[i] + 1;
    runs_free(&gaps);
    return best > UINT64_MAX ? UINT64_MAX : (uint64_t)best;
}

static bool model_last_window(const model *m, uint64_t end, uint64_t len, uint64_t *first)
{
    if (len == 0)
        return false;
    size_t j = model_upper(m, end);
    while (j > 0) {
        size_t i = j - 1;
        while (i > 0 && m->v[i - 1] + 1 == m->v[i])
            i--;
        if (j - i >= len) {
            *first = m->v[j - 1] - (len - 1);
            return true;
        }
        j = i;
    }
    return false;
}

/* ------------------------------------------------------ query choice */

/* A bound near something interesting: a covered bucket, an anchor, an end. */
static uint64_t pick_bound(const model *m)
{
    uint64_t at;
    switch (rng_below(4)) {
    case 0: at = m->n ? m->v[rng_below(m->n)] : 0; break;
    case 1: at = anchors[rng_below(N_ANCHORS)] + rng_below(150000); break;
    case 2: return rng_below(2) ? 0 : UINT64_MAX;
    default: at = (rng_below(4) << 32) + (rng_below(2) << 63) + rng_below(1 << 17); break;
    }
    int64_t delta = (int64_t)rng_below(7) - 3;
    if (delta < 0 && at < (uint64_t)-delta)
        return 0;
    if (delta > 0 && at > UINT64_MAX - (uint64_t)delta)
        return UINT64_MAX;
    return at + (uint64_t)delta;
}

static void pick_range(const model *m, uint64_t *lo, uint64_t *hi)
{
    uint64_t a = pick_bound(m), b = pick_bound(m);
    *lo = a < b ? a : b;
    *hi = a < b ? b : a;
}

/* --------------------------------------------------------- the checks */

static void check_queries(const tst_coverage *cov, const model *m, int queries)
{
    for (int q = 0; q < queries; q++) {
        uint64_t lo, hi;
        pick_range(m, &lo, &hi);
        size_t count = model_upper(m, hi) - model_lower(m, lo);
        assert_int_equal(tst_coverage_count_range(cov, lo, hi), count);
        double want = (double)count / (double)((u128)hi - lo + 1);
        assert_true(tst_coverage_ratio(cov, lo, hi) == want);
        assert_true(tst_coverage_max_gap(cov, lo, hi) == model_max_gap(m, lo, hi));

        runs got = {0}, expect = {0};
        assert_int_equal(tst_coverage_each_run(cov, lo, hi, runs_push, &got), 0);
        model_runs(m, lo, hi, &expect);
        assert_runs_equal(&got, &expect);
        runs_free(&got);
        runs_free(&expect);

        /* Chunk small only where the gaps are short enough to list. */
        uint64_t max_len = 0;
        if ((u128)hi - lo < 400000 && rng_below(2))
            max_len = 16 + rng_below(5000);
        else if (rng_below(2))
            max_len = (UINT64_C(1) << 58) + rng_below(UINT64_C(1) << 60);
        assert_int_equal(tst_coverage_each_missing_run(cov, lo, hi, max_len, runs_push, &got), 0);
        model_missing(m, lo, hi, max_len, &expect);
        assert_runs_equal(&got, &expect);
        runs_free(&got);
        runs_free(&expect);

        uint64_t len = rng_below(3) ? 1 + rng_below(40) : 1 + rng_below(3000);
        uint64_t first = 0, last = 0, want_first = 0;
        bool found = tst_coverage_last_window(cov, hi, len, &first, &last);
        assert_int_equal(found, model_last_window(m, hi, len, &want_first));
        if (found) {
            assert_true(first == want_first);
            assert_true(last == want_first + (len - 1));
        }
    }
}

static void check_min_max(const tst_coverage *cov, const model *m)
{
    uint64_t lo = 0, hi = 0;
    assert_int_equal(tst_coverage_min(cov, &lo), m->n > 0);
    assert_int_equal(tst_coverage_max(cov, &hi), m->n > 0);
    assert_int_equal(tst_coverage_is_empty(cov), m->n == 0);
    assert_int_equal(tst_coverage_cardinality(cov), m->n);
    size_t run_count = 0; /* the model's maximal runs: tst_coverage_run_count's answer */
    for (size_t i = 0; i < m->n; i++)
        run_count += i == 0 || m->v[i] != m->v[i - 1] + 1;
    assert_int_equal(tst_coverage_run_count(cov), run_count);
    if (m->n) {
        assert_true(lo == m->v[0]);
        assert_true(hi == m->v[m->n - 1]);
    }
}

/* The whole set, read back through the run walk, equals the model. */
static void assert_same_set(const tst_coverage *cov, const model *m)
{
    runs got = {0}, expect = {0};
    assert_int_equal(tst_coverage_each_run(cov, 0, UINT64_MAX, runs_push, &got), 0);
    model_runs(m, 0, UINT64_MAX, &expect);
    assert_runs_equal(&got, &expect);
    runs_free(&got);
    runs_free(&expect);
    check_min_max(cov, m);
}

/* What CRoaring writes for the same set built afresh and run-optimized. */
static uint8_t *croaring_encoding(const model *m, size_t *len)
{
    size_t cap = 8, n = 0, parts = 0;
    uint8_t *out = malloc(cap);
    assert_non_null(out);
    for (size_t i = 0; i < m->n;) {
        uint32_t high = (uint32_t)(m->v[i] >> 32);
        roaring_bitmap_t *bm = roaring_bitmap_create();
        for (; i < m->n && m->v[i] >> 32 == high; i++)
            roaring_bitmap_add(bm, (uint32_t)m->v[i]);
        roaring_bitmap_run_optimize(bm);
        size_t size = roaring_bitmap_portable_size_in_bytes(bm);
        out = realloc(out, cap += 4 + size);
        assert_non_null(out);
        memcpy(out + 8 + n, &high, 4); /* the test hosts are little-endian */
        roaring_bitmap_portable_serialize(bm, (char *)out + 12 + n);
        n += 4 + size;
        parts++;
        roaring_bitmap_free(bm);
    }
    uint64_t count = parts;
    memcpy(out, &count, 8);
    *len = 8 + n;
    return out;
}

static void check_codec(const tst_coverage *cov, const model *m)
{
    size_t len = tst_coverage_serialized_size(cov);
    uint8_t *bytes = malloc(len);
    assert_non_null(bytes);
    assert_int_equal(tst_coverage_serialize(cov, bytes), len);

    size_t ref_len;
    uint8_t *ref = croaring_encoding(m, &ref_len);
    assert_int_equal(len, ref_len);
    assert_memory_equal(bytes, ref, len);
    free(ref);

    tst_coverage *back;
    assert_tst_ok(tst_coverage_deserialize(&back, bytes, len));
    assert_true(tst_coverage_equals(back, cov));
    assert_same_set(back, m);
    tst_coverage_free(back);

    /* The tally read from the bytes: the model's numbers, and the bytes'
     * truncations refused as the decoder refuses them. */
    tst_coverage_tally t;
    assert_tst_ok(tst_coverage_tally_serialized(bytes, len, &t));
    size_t run_count = 0;
    for (size_t i = 0; i < m->n; i++)
        run_count += i == 0 || m->v[i] != m->v[i - 1] + 1;
    assert_int_equal(t.any, m->n > 0);
    assert_int_equal(t.cardinality, m->n);
    assert_int_equal(t.runs, run_count);
    if (m->n) {
        assert_true(t.min == m->v[0]);
        assert_true(t.max == m->v[m->n - 1]);
    }
    for (size_t cut = 0; cut < len; cut += 1 + cut / 8)
        assert_tst_fails(tst_coverage_tally_serialized(bytes, cut, &t), TST_ECORRUPT);
    free(bytes);
}

static model model_union(const model *a, const model *b)
{
    model u = {malloc((a->n + b->n + 1) * sizeof(uint64_t)), 0};
    assert_non_null(u.v);
    memcpy(u.v, a->v, a->n * sizeof(uint64_t));
    memcpy(u.v + a->n, b->v, b->n * sizeof(uint64_t));
    u.n = a->n + b->n;
    model_sort(&u);
    return u;
}

static model model_intersect(const model *a, const model *b)
{
    model x = {malloc((a->n + 1) * sizeof(uint64_t)), 0};
    assert_non_null(x.v);
    for (size_t i = 0; i < a->n; i++) {
        size_t j = model_lower(b, a->v[i]);
        if (j < b->n && b->v[j] == a->v[i])
            x.v[x.n++] = a->v[i];
    }
    return x;
}

static uint8_t *encoding_of(const tst_coverage *cov, size_t *len)
{
    *len = tst_coverage_serialized_size(cov);
    uint8_t *bytes = malloc(*len);
    assert_non_null(bytes);
    assert_int_equal(tst_coverage_serialize(cov, bytes), *len);
    return bytes;
}

/* The union accumulated from the serialized sets (no set decoded) holds
 * the union's values, and encodes to the very bytes of the decoded union. */
static void check_union_from_bytes(const tst_coverage *const *covs, size_t n, const model *u)
{
    tst_coverage_union_acc *acc;
    assert_tst_ok(tst_coverage_union_acc_new(&acc));
    for (size_t i = 0; i < n; i++) {
        size_t len;
        uint8_t *bytes = encoding_of(covs[i], &len);
        assert_tst_ok(tst_coverage_union_acc_add(acc, bytes, len));
        free(bytes);
    }
    tst_coverage *got, *decoded;
    assert_tst_ok(tst_coverage_union_acc_finish(acc, &got));
    tst_coverage_union_acc_free(acc);
    assert_same_set(got, u);
    assert_tst_ok(tst_coverage_union_many(&decoded, covs, n));
    size_t got_len, want_len;
    uint8_t *got_bytes = encoding_of(got, &got_len), *want_bytes = encoding_of(decoded, &want_len);
    assert_int_equal(got_len, want_len);
    assert_memory_equal(got_bytes, want_bytes, want_len);
    free(got_bytes);
    free(want_bytes);
    tst_coverage_free(got);
    tst_coverage_free(decoded);
}

static void check_set_operations(const tst_coverage *ca, const model *a, const tst_coverage *cb,
                                 const model *b)
{
    model u = model_union(a, b), x = model_intersect(a, b);
    tst_coverage *cu;
    assert_tst_ok(tst_coverage_clone(&cu, ca));
    assert_tst_ok(tst_coverage_union_inplace(cu, cb));
    assert_same_set(cu, &u);
    check_queries(cu, &u, 15);
    /* The union's bytes without building it: those of the built union. */
    size_t want_len;
    uint8_t *want = encoding_of(cu, &want_len);
    for (int order = 0; order < 2; order++) {
        tst_byte_buf got = {0};
        assert_tst_ok(tst_coverage_serialize_union(order ? cb : ca, order ? ca : cb, &got));
        assert_int_equal(got.len, want_len);
        assert_memory_equal(got.bytes, want, want_len);
        free(got.bytes);
    }
    free(want);
    tst_coverage *empty;
    assert_tst_ok(tst_coverage_new(&empty));
    tst_byte_buf self = {0};
    assert_tst_ok(tst_coverage_serialize_union(ca, empty, &self));
    want = encoding_of(ca, &want_len);
    assert_int_equal(self.len, want_len);
    assert_memory_equal(self.bytes, want, want_len);
    self.len = 0;
    assert_tst_ok(tst_coverage_serialize_union(ca, ca, &self));
    assert_int_equal(self.len, want_len);
    assert_memory_equal(self.bytes, want, want_len);
    free(self.bytes);
    free(want);
    tst_coverage_free(empty);
    const tst_coverage *both[] = {ca, cb, ca};
    check_union_from_bytes(both, 3, &u);
    check_union_from_bytes(both, 1, a);

    tst_coverage *cx;
    assert_tst_ok(tst_coverage_intersect(&cx, ca, cb));
    assert_same_set(cx, &x);
    assert_int_equal(tst_coverage_intersection_cardinality(ca, cb), x.n);
    assert_int_equal(tst_coverage_intersection_cardinality(cb, ca), x.n);
    assert_int_equal(tst_coverage_equals(ca, cb), a->n == b->n && x.n == a->n);
    check_codec(cx, &x);

    tst_coverage_free(cu);
    tst_coverage_free(cx);
    free(u.v);
    free(x.v);
}

static void run_seed(uint64_t seed)
{
    rng_state = seed;
    model a = model_random(), b = model_random();
    tst_coverage *ca = coverage_of(&a), *cb = coverage_of(&b);
    assert_same_set(ca, &a);
    check_queries(ca, &a, 120);
    check_codec(ca, &a);
    check_codec(cb, &b);
    check_set_operations(ca, &a, cb, &b);
    tst_coverage_free(ca);
    tst_coverage_free(cb);
    free(a.v);
    free(b.v);
}

static void random_sets_agree_with_the_model_seed_1(void **state)
{
    (void)state;
    run_seed(1);
}

static void random_sets_agree_with_the_model_seed_2(void **state)
{
    (void)state;
    run_seed(2);
}

static void random_sets_agree_with_the_model_seed_3(void **state)
{
    (void)state;
    run_seed(0xC0FFEE);
}

static void random_sets_agree_with_the_model_seed_4(void **state)
{
    (void)state;
    run_seed(20240601);
}

static void random_sets_agree_with_the_model_seed_5(void **state)
{
    (void)state;
    run_seed(UINT64_MAX);
}

static void random_sets_agree_with_the_model_seed_6(void **state)
{
    (void)state;
    run_seed(77);
}

static void an_empty_coverage_agrees_with_the_empty_model(void **state)
{
    (void)state;
    rng_state = 5;
    model m = {NULL, 0};
    tst_coverage *cov;
    assert_tst_ok(tst_coverage_new(&cov));
    assert_same_set(cov, &m);
    check_queries(cov, &m, 40);
    tst_coverage_free(cov);
}

/* What decoding rejects, the union from bytes rejects; a union over more
 * containers than it accumulates is handed back for decoding. */
static void the_union_from_bytes_checks_and_bounds_what_it_reads(void **state)
{
    (void)state;
    rng_state = 11;
    model m = model_random();
    tst_coverage *cov = coverage_of(&m);
    size_t len;
    uint8_t *bytes = encoding_of(cov, &len);
    tst_coverage_union_acc *acc;
    for (size_t cut = 1; cut < len; cut += 1 + len / 97) {
        tst_coverage *decoded = NULL;
        assert_int_equal(tst_coverage_deserialize(&decoded, bytes, len - cut), TST_ECORRUPT);
        assert_tst_ok(tst_coverage_union_acc_new(&acc));
        assert_int_equal(tst_coverage_union_acc_add(acc, bytes, len - cut), TST_ECORRUPT);
        tst_coverage_union_acc_free(acc);
    }
    free(bytes);
    tst_coverage_free(cov);
    free(m.v);

    model wide = {malloc(5000 * sizeof(uint64_t)), 5000};
    for (size_t k = 0; k < wide.n; k++)
        wide.v[k] = (uint64_t)k << 16; /* one value in each of 5,000 containers */
    cov = coverage_of(&wide);
    bytes = encoding_of(cov, &len);
    assert_tst_ok(tst_coverage_union_acc_new(&acc));
    assert_int_equal(tst_coverage_union_acc_add(acc, bytes, len), TST_COVERAGE_UNION_TOO_WIDE);
    tst_coverage_union_acc_free(acc);
    free(bytes);
    tst_coverage_free(cov);
    free(wide.v);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(random_sets_agree_with_the_model_seed_1),
        cmocka_unit_test(random_sets_agree_with_the_model_seed_2),
        cmocka_unit_test(random_sets_agree_with_the_model_seed_3),
        cmocka_unit_test(random_sets_agree_with_the_model_seed_4),
        cmocka_unit_test(random_sets_agree_with_the_model_seed_5),
        cmocka_unit_test(random_sets_agree_with_the_model_seed_6),
        cmocka_unit_test(an_empty_coverage_agrees_with_the_empty_model),
        cmocka_unit_test(the_union_from_bytes_checks_and_bounds_what_it_reads),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
