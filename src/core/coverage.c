/*
 * coverage.c — a set of 64-bit bucket ids, and the questions asked of it.
 *
 * Debian's CRoaring 0.2.66 has no 64-bit bitmap, so a tst_coverage is a
 * Roaring "treemap": a sorted array of (high 32 bits, 32-bit Roaring bitmap)
 * partitions. No partition is ever empty, so equal sets have equal
 * partitions. CRoaring does the set algebra (union, intersection, counts).
 *
 * The range questions (ratio, longest gap, missing runs, last full window)
 * all read the same thing: the maximal runs of covered buckets inside the
 * range, walked container by container, ascending or descending, merging
 * runs that touch across container and partition borders. Missing runs are
 * the gaps between covered runs, so a range of 2^64 buckets costs what its
 * covered containers cost. 0.2.66 exposes no run iterator, so the walk reads
 * the three container layouts directly; those structs come from the
 * installed headers that roaring.h itself includes, and the version is
 * pinned below. Counts use unsigned __int128 and saturate at UINT64_MAX.
 *
 * The global codec is written and read here, not by CRoaring. Writing
 * derives every container's bytes from its runs, so the output is the
 * canonical form whatever the in-memory container types are: the container
 * kinds CRoaring picks for a bitmap built from values and run-optimized
 * (see kind_of). Reading validates every field of untrusted bytes (0.2.66's
 * deserialize_safe accepts unsorted arrays and overlapping runs) and builds
 * the bitmaps through the public API; any defect is TST_ECORRUPT.
 */
#include "coverage_internal.h"
#include "fail.h"

#include <roaring/roaring.h>

#include <stdlib.h>
#include <string.h>

_Static_assert(ROARING_VERSION_MAJOR == 0 && ROARING_VERSION_MINOR == 2,
               "coverage.c reads CRoaring 0.2.x container layouts; re-check them");

__extension__ typedef unsigned __int128 u128;

typedef struct cov_part {
    uint32_t key;
    roaring_bitmap_t *bm;
} cov_part;

struct tst_coverage {
    cov_part *parts; /* ascending keys, no empty bitmap */
    size_t count;
    size_t cap;
};

static uint64_t saturate(u128 v)
{
    return v > UINT64_MAX ? UINT64_MAX : (uint64_t)v;
}

/* ------------------------------------------------------------ partitions */

/* Index of the first partition whose key is >= key (key may be 2^32). */
static size_t part_lower_bound(const tst_coverage *cov, uint64_t key)
{
    size_t lo = 0, hi = cov->count;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (cov->parts[mid].key < key)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

static const roaring_bitmap_t *part_find(const tst_coverage *cov, uint32_t key)
{
    size_t i = part_lower_bound(cov, key);
    return i < cov->count && cov->parts[i].key == key ? cov->parts[i].bm : NULL;
}

static int part_reserve(tst_coverage *cov, size_t need)
{
    if (need <= cov->cap)
        return 0;
    size_t cap = cov->cap ? cov->cap : 4;
    while (cap < need)
        cap *= 2;
    cov_part *grown = realloc(cov->parts, cap * sizeof *grown);
    if (!grown)
        return tst_fail(TST_ENOMEM, "coverage: out of memory growing to %zu partitions", cap);
    cov->parts = grown;
    cov->cap = cap;
    return 0;
}

/* The bitmap of partition `key`, created where missing. The caller adds to it
 * at once: a partition is never left empty. */
static int part_get_or_add(tst_coverage *cov, uint32_t key, roaring_bitmap_t **out)
{
    size_t i = part_lower_bound(cov, key);
    if (i < cov->count && cov->parts[i].key == key) {
        *out = cov->parts[i].bm;
        return 0;
    }
    int rc = part_reserve(cov, cov->count + 1);
    if (rc != 0)
        return rc;
    roaring_bitmap_t *bm = roaring_bitmap_create();
    if (!bm)
        return tst_fail(TST_ENOMEM, "coverage: out of memory creating a bitmap");
    memmove(&cov->parts[i + 1], &cov->parts[i], (cov->count - i) * sizeof *cov->parts);
    cov->parts[i] = (cov_part){key, bm};
    cov->count++;
    *out = bm;
    return 0;
}

int tst_coverage_new(tst_coverage **out)
{
    *out = calloc(1, sizeof **out);
    if (!*out)
        return tst_fail(TST_ENOMEM, "coverage: out of memory");
    return 0;
}

void tst_coverage_free(tst_coverage *cov)
{
    if (!cov)
        return;
    for (size_t i = 0; i < cov->count; i++)
        roaring_bitmap_free(cov->parts[i].bm);
    free(cov->parts);
    free(cov);
}

int tst_coverage_clone(tst_coverage **out, const tst_coverage *src)
{
    tst_coverage *cov;
    int rc = tst_coverage_new(&cov);
    if (rc == 0)
        rc = part_reserve(cov, src->count);
    for (size_t i = 0; rc == 0 && i < src->count; i++) {
        roaring_bitmap_t *bm = roaring_bitmap_copy(src->parts[i].bm);
        if (!bm)
            rc = tst_fail(TST_ENOMEM, "coverage: out of memory copying a bitmap");
        else
            cov->parts[cov->count++] = (cov_part){src->parts[i].key, bm};
    }
    if (rc != 0) {
        tst_coverage_free(cov);
        return rc;
    }
    *out = cov;
    return 0;
}

/* --------------------------------------------------- runs of a container */

/* Receives one run [a, b] of a container's 16-bit low values; nonzero stops. */
typedef int (*run16_fn)(void *ctx, uint32_t a, uint32_t b);

static int array_runs(const uint16_t *v, int32_t n, bool desc, run16_fn fn, void *ctx)
{
    if (!desc) {
        for (int32_t i = 0, j; i < n; i = j + 1) {
            for (j = i; j + 1 < n && v[j + 1] == v[j] + 1;)
                j++;
            int rc = fn(ctx, v[i], v[j]);
            if (rc != 0)
                return rc;
        }
        return 0;
    }
    for (int32_t j = n - 1, i; j >= 0; j = i - 1) {
        for (i = j; i > 0 && v[i - 1] + 1 == v[i];)
            i--;
        int rc = fn(ctx, v[i], v[j]);
        if (rc != 0)
            return rc;
    }
    return 0;
}

static int rle_runs(const rle16_t *runs, int32_t n, bool desc, run16_fn fn, void *ctx)
{
    for (int32_t k = 0; k < n; k++) {
        const rle16_t *r = &runs[desc ? n - 1 - k : k];
        int rc = fn(ctx, r->value, (uint32_t)r->value + r->length);
        if (rc != 0)
            return rc;
    }
    return 0;
}

/* First position >= from (< 65536) whose bit equals `set`, or 65536. */
static uint32_t bits_next(const uint64_t *w, uint32_t from, bool set)
{
    while (from < 65536) {
        uint64_t word = set ? w[from >> 6] : ~w[from >> 6];
        word &= ~UINT64_C(0) << (from & 63);
        if (word)
            return (from & ~63u) + (uint32_t)__builtin_ctzll(word);
        from = (from & ~63u) + 64;
    }
    return 65536;
}

/* Last position <= from (>= -1) whose bit equals `set`, or -1. */
static int32_t bits_prev(const uint64_t *w, int32_t from, bool set)
{
    while (from >= 0) {
        uint64_t word = set ? w[from >> 6] : ~w[from >> 6];
        word &= ~UINT64_C(0) >> (63 - (from & 63));
        if (word)
            return (from & ~63) + 63 - __builtin_clzll(word);
        from = (from & ~63) - 1;
    }
    return -1;
}

/* Jumps from run to run by word scans: cost is 1024 words plus the runs. */
static int bitset_runs(const uint64_t *w, bool desc, run16_fn fn, void *ctx)
{
    int rc = 0;
    if (!desc) {
        for (uint32_t a = bits_next(w, 0, true); a < 65536 && rc == 0;) {
            uint32_t end = bits_next(w, a, false);
            rc = fn(ctx, a, end - 1);
            a = end < 65536 ? bits_next(w, end, true) : 65536;
        }
        return rc;
    }
    for (int32_t b = bits_prev(w, 65535, true); b >= 0 && rc == 0;) {
        int32_t before = bits_prev(w, b, false);
        rc = fn(ctx, (uint32_t)(before + 1), (uint32_t)b);
        b = before >= 0 ? bits_prev(w, before, true) : -1;
    }
    return rc;
}

static int container_runs(const void *c, uint8_t type, bool desc, run16_fn fn, void *ctx)
{
    c = container_unwrap_shared(c, &type);
    switch (type) {
    case ARRAY_CONTAINER_TYPE_CODE: {
        const array_container_t *a = c;
        return array_runs(a->array, a->cardinality, desc, fn, ctx);
    }
    case RUN_CONTAINER_TYPE_CODE: {
        const run_container_t *r = c;
        return rle_runs(r->runs, r->n_runs, desc, fn, ctx);
    }
    case BITSET_CONTAINER_TYPE_CODE:
        return bitset_runs(((const bitset_container_t *)c)->array, desc, fn, ctx);
    default: return 0; /* no other layout exists in 0.2.x */
    }
}

/* The maximal runs of one container, counted without walking them, and
 * whether it holds its lowest (0) and highest (65535) value, so that runs
 * touching across containers count once (tst_coverage_run_count). */
typedef struct run_tally {
    uint64_t runs;
    bool low, high;
} run_tally;

static run_tally container_run_tally(const void *c, uint8_t type)
{
    run_tally t = {0, false, false};
    c = container_unwrap_shared(c, &type);
    if (type == ARRAY_CONTAINER_TYPE_CODE) {
        const array_container_t *a = c;
        for (int32_t k = 0; k < a->cardinality; k++)
            t.runs += k == 0 || a->array[k] != a->array[k - 1] + 1;
        t.low = a->cardinality > 0 && a->array[0] == 0;
        t.high = a->cardinality > 0 && a->array[a->cardinality - 1] == 65535;
    } else if (type == RUN_CONTAINER_TYPE_CODE) {
        const run_container_t *r = c; /* runs may touch: value == previous end + 1 */
        for (int32_t k = 0; k < r->n_runs; k++)
            t.runs += k == 0 || r->runs[k].value !=
                                    (uint32_t)r->runs[k - 1].value + r->runs[k - 1].length + 1;
        t.low = r->n_runs > 0 && r->runs[0].value == 0;
        t.high = r->n_runs > 0 &&
                 (uint32_t)r->runs[r->n_runs - 1].value + r->runs[r->n_runs - 1].length == 65535;
    } else if (type == BITSET_CONTAINER_TYPE_CODE) {
        const uint64_t *w = ((const bitset_container_t *)c)->array;
        uint64_t carry = 0; /* the previous word's top bit */
        for (int i = 0; i < 1024; i++) {
            t.runs += (uint64_t)__builtin_popcountll(w[i] & ~((w[i] << 1) | carry));
            carry = w[i] >> 63;
        }
        t.low = w[0] & 1;
        t.high = w[1023] >> 63;
    }
    return t;
}

uint64_t tst_coverage_run_count(const tst_coverage *cov)
{
    uint64_t runs = 0;
    bool prev_high = false; /* the previous container held its value 65535 */
    uint64_t prev_key = 0;  /* and its 48-bit key: partition << 16 | container key */
    for (size_t p = 0; p < cov->count; p++) {
        const roaring_array_t *ra = &cov->parts[p].bm->high_low_container;
        for (int32_t i = 0; i < ra->size; i++) {
            run_tally t = container_run_tally(ra->containers[i], ra->typecodes[i]);
            uint64_t key = (uint64_t)cov->parts[p].key << 16 | ra->keys[i];
            if (t.runs > 0 && prev_high && t.low && key == prev_key + 1)
                runs--; /* one run across the boundary */
            runs += t.runs;
            if (t.runs > 0) {
                prev_high = t.high;
                prev_key = key;
            }
        }
    }
    return runs;
}

/* Index of the first container whose key is >= key (key may be 65536). */
static int32_t container_lower_bound(const roaring_array_t *ra, uint32_t key)
{
    int32_t lo = 0, hi = ra->size;
    while (lo < hi) {
        int32_t mid = lo + (hi - lo) / 2;
        if (ra->keys[mid] < key)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

/* ------------------------------------------------ runs of a whole range */

/* A walk over covered runs: the run being grown (open) until one that does
 * not touch it arrives, and the clip window of the current container. */
typedef struct run_walk {
    bool desc;
    bool open;
    uint64_t first, last;
    uint64_t base;   /* bucket of the current container's low value 0 */
    uint32_t lo, hi; /* its low values inside the range */
    tst_bucket_run_fn fn;
    void *ctx;
} run_walk;

static int walk_flush(run_walk *w)
{
    if (!w->open)
        return 0;
    w->open = false;
    return w->fn(w->ctx, w->first, w->last);
}

/* Runs arrive in walk order, so "touching" needs no overflow care: the
 * ascending case never sees a run after one ending at UINT64_MAX. */
static int walk_push(run_walk *w, uint64_t first, uint64_t last)
{
    if (w->open && !w->desc && w->last + 1 == first) {
        w->last = last;
        return 0;
    }
    if (w->open && w->desc && last + 1 == w->first) {
        w->first = first;
        return 0;
    }
    int rc = walk_flush(w);
    w->open = true;
    w->first = first;
    w->last = last;
    return rc;
}

static int walk_run16(void *ctx, uint32_t a, uint32_t b)
{
    run_walk *w = ctx;
    if (b < w->lo || a > w->hi)
        return 0;
    a = a < w->lo ? w->lo : a;
    b = b > w->hi ? w->hi : b;
    return walk_push(w, w->base + a, w->base + b);
}

static int walk_bitmap(run_walk *w, const roaring_bitmap_t *bm, uint64_t high, uint32_t lo32,
                       uint32_t hi32)
{
    const roaring_array_t *ra = &bm->high_low_container;
    int32_t begin = container_lower_bound(ra, lo32 >> 16);
    int32_t end = container_lower_bound(ra, (hi32 >> 16) + 1);
    for (int32_t k = 0; k < end - begin; k++) {
        int32_t i = w->desc ? end - 1 - k : begin + k;
        uint32_t key = ra->keys[i];
        w->base = high << 32 | (uint64_t)key << 16;
        w->lo = key == lo32 >> 16 ? (lo32 & 0xFFFF) : 0;
        w->hi = key == hi32 >> 16 ? (hi32 & 0xFFFF) : 0xFFFF;
        int rc = container_runs(ra->containers[i], ra->typecodes[i], w->desc, walk_run16, w);
        if (rc != 0)
            return rc;
    }
    return 0;
}

/* Maximal covered runs inside [first, last], clipped, ascending or not. */
static int walk_runs(const tst_coverage *cov, uint64_t first, uint64_t last, bool desc,
                     tst_bucket_run_fn fn, void *ctx)
{
    if (first > last)
        return 0;
    run_walk w = {.desc = desc, .fn = fn, .ctx = ctx};
    size_t begin = part_lower_bound(cov, first >> 32);
    size_t end = part_lower_bound(cov, (last >> 32) + 1);
    for (size_t k = 0; k < end - begin; k++) {
        const cov_part *p = &cov->parts[desc ? end - 1 - k : begin + k];
        uint32_t lo32 = p->key == first >> 32 ? (uint32_t)first : 0;
        uint32_t hi32 = p->key == last >> 32 ? (uint32_t)last : UINT32_MAX;
        int rc = walk_bitmap(&w, p->bm, p->key, lo32, hi32);
        if (rc != 0)
            return rc;
    }
    return walk_flush(&w);
}

int tst_coverage_each_run(const tst_coverage *cov, uint64_t first, uint64_t last,
                          tst_bucket_run_fn fn, void *ctx)
{
    return walk_runs(cov, first, last, false, fn, ctx);
}

/* ------------------------------------------------------ membership, sets */

int tst_coverage_add(tst_coverage *cov, uint64_t bucket)
{
    roaring_bitmap_t *bm;
    int rc = part_get_or_add(cov, (uint32_t)(bucket >> 32), &bm);
    if (rc == 0)
        roaring_bitmap_add(bm, (uint32_t)bucket);
    return rc;
}

int tst_coverage_add_range(tst_coverage *cov, uint64_t first, uint64_t last)
{
    if (first > last)
        return tst_fail(TST_EINVAL, "coverage: empty bucket range [%llu, %llu]",
                        (unsigned long long)first, (unsigned long long)last);
    for (uint64_t high = first >> 32; high <= last >> 32; high++) {
        roaring_bitmap_t *bm;
        int rc = part_get_or_add(cov, (uint32_t)high, &bm);
        if (rc != 0)
            return rc;
        uint32_t lo = high == first >> 32 ? (uint32_t)first : 0;
        uint32_t hi = high == last >> 32 ? (uint32_t)last : UINT32_MAX;
        roaring_bitmap_add_range_closed(bm, lo, hi);
    }
    return 0;
}

bool tst_coverage_contains(const tst_coverage *cov, uint64_t bucket)
{
    const roaring_bitmap_t *bm = part_find(cov, (uint32_t)(bucket >> 32));
    return bm && roaring_bitmap_contains(bm, (uint32_t)bucket);
}

bool tst_coverage_is_empty(const tst_coverage *cov)
{
    return cov->count == 0;
}

bool tst_coverage_equals(const tst_coverage *a, const tst_coverage *b)
{
    if (a->count != b->count)
        return false;
    for (size_t i = 0; i < a->count; i++)
        if (a->parts[i].key != b->parts[i].key ||
            !roaring_bitmap_equals(a->parts[i].bm, b->parts[i].bm))
            return false;
    return true;
}

bool tst_coverage_min(const tst_coverage *cov, uint64_t *out)
{
    if (cov->count == 0)
        return false;
    const cov_part *p = &cov->parts[0];
    *out = (uint64_t)p->key << 32 | roaring_bitmap_minimum(p->bm);
    return true;
}

bool tst_coverage_max(const tst_coverage *cov, uint64_t *out)
{
    if (cov->count == 0)
        return false;
    const cov_part *p = &cov->parts[cov->count - 1];
    *out = (uint64_t)p->key << 32 | roaring_bitmap_maximum(p->bm);
    return true;
}

uint64_t tst_coverage_cardinality(const tst_coverage *cov)
{
    u128 total = 0;
    for (size_t i = 0; i < cov->count; i++)
        total += roaring_bitmap_get_cardinality(cov->parts[i].bm);
    return saturate(total);
}

static u128 count_range128(const tst_coverage *cov, uint64_t first, uint64_t last)
{
    if (first > last)
        return 0;
    u128 total = 0;
    size_t end = part_lower_bound(cov, (last >> 32) + 1);
    for (size_t i = part_lower_bound(cov, first >> 32); i < end; i++) {
        const cov_part *p = &cov->parts[i];
        uint32_t lo = p->key == first >> 32 ? (uint32_t)first : 0;
        uint32_t hi = p->key == last >> 32 ? (uint32_t)last : UINT32_MAX;
        if (lo == 0 && hi == UINT32_MAX)
            total += roaring_bitmap_get_cardinality(p->bm);
        else
            total += roaring_bitmap_range_cardinality(p->bm, lo, (uint64_t)hi + 1);
    }
    return total;
}

uint64_t tst_coverage_count_range(const tst_coverage *cov, uint64_t first, uint64_t last)
{
    return saturate(count_range128(cov, first, last));
}

/* Copies of src's partitions that dst lacks are made first, so a failure
 * leaves dst untouched; the merge after that cannot fail. */
int tst_coverage_union_inplace(tst_coverage *dst, const tst_coverage *src)
{
    if (dst == src || src->count == 0)
        return 0;
    size_t cap = dst->count + src->count;
    cov_part *merged = malloc(cap * sizeof *merged);
    if (!merged)
        return tst_fail(TST_ENOMEM, "coverage union: out of memory");
    size_t n = 0, i = 0, j = 0;
    while (j < src->count) {
        while (i < dst->count && dst->parts[i].key < src->parts[j].key)
            merged[n++] = dst->parts[i++];
        if (i < dst->count && dst->parts[i].key == src->parts[j].key) {
            merged[n++] = dst->parts[i++];
            merged[n - 1].bm = NULL; /* marks "or into dst's bitmap", done below */
        } else {
            roaring_bitmap_t *copy = roaring_bitmap_copy(src->parts[j].bm);
            if (!copy) {
                for (size_t k = 0; k < n; k++)
                    if (merged[k].bm && !part_find(dst, merged[k].key))
                        roaring_bitmap_free(merged[k].bm);
                free(merged);
                return tst_fail(TST_ENOMEM, "coverage union: out of memory copying a bitmap");
            }
            merged[n++] = (cov_part){src->parts[j].key, copy};
        }
        j++;
    }
    while (i < dst->count)
        merged[n++] = dst->parts[i++];
    for (size_t k = 0; k < n; k++) {
        if (merged[k].bm)
            continue;
        roaring_bitmap_t *mine = (roaring_bitmap_t *)part_find(dst, merged[k].key);
        roaring_bitmap_or_inplace(mine, part_find(src, merged[k].key));
        merged[k].bm = mine;
    }
    free(dst->parts);
    dst->parts = merged;
    dst->count = n;
    dst->cap = cap;
    return 0;
}

/* The smallest partition key above `after` (-1: any) among covs; false when none. */
static bool next_key(const tst_coverage *const *covs, size_t n, int64_t after, uint32_t *out)
{
    bool any = false;
    for (size_t i = 0; i < n; i++) {
        size_t at = part_lower_bound(covs[i], (uint64_t)(after + 1));
        if (at >= covs[i]->count)
            continue;
        if (!any || covs[i]->parts[at].key < *out)
            *out = covs[i]->parts[at].key;
        any = true;
    }
    return any;
}

/* One partition key at a time, all its bitmaps in one roaring_bitmap_or_many
 * (lazy unions, cardinalities repaired once), instead of n unions each
 * recounting the bitsets they touch: the union of a thousand entities'
 * minute coverage went from about a second to milliseconds. */
int tst_coverage_union_many(tst_coverage **out, const tst_coverage *const *covs, size_t n)
{
    tst_coverage *all = NULL;
    const roaring_bitmap_t **bms = n ? malloc(n * sizeof *bms) : NULL;
    int rc = n && !bms ? tst_fail(TST_ENOMEM, "coverage union: out of memory") : 0;
    if (rc == 0)
        rc = tst_coverage_new(&all);
    uint32_t key = 0;
    for (int64_t after = -1; rc == 0 && next_key(covs, n, after, &key); after = key) {
        size_t m = 0;
        for (size_t i = 0; i < n; i++) {
            const roaring_bitmap_t *bm = part_find(covs[i], key);
            if (bm)
                bms[m++] = bm;
        }
        roaring_bitmap_t *u = roaring_bitmap_or_many(m, bms);
        if ((rc = u ? part_reserve(all, all->count + 1)
                    : tst_fail(TST_ENOMEM, "coverage union: out of memory")) != 0) {
            roaring_bitmap_free(u);
            break;
        }
        roaring_bitmap_run_optimize(u);
        roaring_bitmap_shrink_to_fit(u);
        all->parts[all->count++] = (cov_part){key, u};
    }
    free(bms);
    if (rc != 0) {
        tst_coverage_free(all);
        return rc;
    }
    *out = all;
    return 0;
}

int tst_coverage_intersect(tst_coverage **out, const tst_coverage *a, const tst_coverage *b)
{
    tst_coverage *cov;
    int rc = tst_coverage_new(&cov);
    if (rc != 0)
        return rc;
    for (size_t i = 0; i < a->count && rc == 0; i++) {
        const roaring_bitmap_t *other = part_find(b, a->parts[i].key);
        if (!other || !roaring_bitmap_intersect(a->parts[i].bm, other))
            continue;
        roaring_bitmap_t *both = roaring_bitmap_and(a->parts[i].bm, other);
        if (!both)
            rc = tst_fail(TST_ENOMEM, "coverage intersect: out of memory");
        else if ((rc = part_reserve(cov, cov->count + 1)) != 0)
            roaring_bitmap_free(both);
        else
            cov->parts[cov->count++] = (cov_part){a->parts[i].key, both};
    }
    if (rc != 0) {
        tst_coverage_free(cov);
        return rc;
    }
    *out = cov;
    return 0;
}

uint64_t tst_coverage_intersection_cardinality(const tst_coverage *a, const tst_coverage *b)
{
    u128 total = 0;
    for (size_t i = 0; i < a->count; i++) {
        const roaring_bitmap_t *other = part_find(b, a->parts[i].key);
        if (other)
            total += roaring_bitmap_and_cardinality(a->parts[i].bm, other);
    }
    return saturate(total);
}

void tst_coverage_optimize(tst_coverage *cov)
{
    size_t kept = 0;
    for (size_t i = 0; i < cov->count; i++) {
        if (roaring_bitmap_is_empty(cov->parts[i].bm)) {
            roaring_bitmap_free(cov->parts[i].bm);
            continue;
        }
        roaring_bitmap_run_optimize(cov->parts[i].bm);
        roaring_bitmap_shrink_to_fit(cov->parts[i].bm);
        cov->parts[kept++] = cov->parts[i];
    }
    cov->count = kept;
}

/* -------------------------------------------------------- range queries */

double tst_coverage_ratio(const tst_coverage *cov, uint64_t first, uint64_t last)
{
    if (first > last)
        return 1.0; /* an empty range is fully covered, as in the reference */
    u128 len = (u128)last - first + 1;
    return (double)count_range128(cov, first, last) / (double)len;
}

typedef struct gap_scan {
    u128 next; /* first bucket not yet seen covered or missing */
    u128 longest;
} gap_scan;

static int gap_scan_run(void *ctx, uint64_t first, uint64_t last)
{
    gap_scan *g = ctx;
    if (first - g->next > g->longest)
        g->longest = first - g->next;
    g->next = (u128)last + 1;
    return 0;
}

uint64_t tst_coverage_max_gap(const tst_coverage *cov, uint64_t first, uint64_t last)
{
    if (first > last)
        return 0;
    gap_scan g = {first, 0};
    walk_runs(cov, first, last, false, gap_scan_run, &g);
    u128 tail = (u128)last + 1 - g.next;
    return saturate(tail > g.longest ? tail : g.longest);
}

typedef struct missing_scan {
    u128 next;
    uint64_t max_run_len;
    tst_bucket_run_fn fn;
    void *ctx;
} missing_scan;

/* Reports the gap [a, b] in chunks of at most max_run_len (0: whole). */
static int missing_emit(const missing_scan *m, uint64_t a, uint64_t b)
{
    for (;;) {
        uint64_t end = b;
        if (m->max_run_len > 0 && b - a >= m->max_run_len)
            end = a + (m->max_run_len - 1);
        int rc = m->fn(m->ctx, a, end);
        if (rc != 0 || end == b)
            return rc;
        a = end + 1;
    }
}

static int missing_scan_run(void *ctx, uint64_t first, uint64_t last)
{
    missing_scan *m = ctx;
    int rc = 0;
    if (first > m->next)
        rc = missing_emit(m, (uint64_t)m->next, first - 1);
    m->next = (u128)last + 1;
    return rc;
}

int tst_coverage_each_missing_run(const tst_coverage *cov, uint64_t first, uint64_t last,
                                  uint64_t max_run_len, tst_bucket_run_fn fn, void *ctx)
{
    if (first > last)
        return 0;
    missing_scan m = {first, max_run_len, fn, ctx};
    int rc = walk_runs(cov, first, last, false, missing_scan_run, &m);
    if (rc == 0 && m.next <= last)
        rc = missing_emit(&m, (uint64_t)m.next, last);
    return rc;
}

typedef struct window_scan {
    uint64_t len;
    uint64_t first, last;
} window_scan;

static int window_scan_run(void *ctx, uint64_t first, uint64_t last)
{
    window_scan *w = ctx;
    if (last - first < w->len - 1)
        return 0;
    w->first = last - (w->len - 1);
    w->last = last;
    return 1;
}

bool tst_coverage_last_window(const tst_coverage *cov, uint64_t end_bucket, uint64_t len,
                              uint64_t *out_first, uint64_t *out_last)
{
    if (len == 0)
        return false;
    window_scan w = {len, 0, 0};
    if (walk_runs(cov, 0, end_bucket, true, window_scan_run, &w) != 1)
        return false;
    if (out_first)
        *out_first = w.first;
    if (out_last)
        *out_last = w.last;
    return true;
}

/* ------------------------------------------------------------- encoding */

enum { SERIAL_NO_RUN = 12346, SERIAL_RUN = 12347, OFFSET_MIN_CONTAINERS = 4 };
enum { KIND_ARRAY, KIND_BITSET, KIND_RUN };

static void put_u16(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)v;
    p[1] = (uint8_t)(v >> 8);
}

static void put_u32(uint8_t *p, uint32_t v)
{
    put_u16(p, v & 0xFFFF);
    put_u16(p + 2, v >> 16);
}

typedef struct container_stats {
    uint32_t card;
    uint32_t runs;
} container_stats;

/* Cardinality and maximal runs of one container, read off its layout
 * without visiting each run (the encoder asks for every container twice:
 * once to size the output, once to write it). The maximal runs are
 * container_run_tally's; the cardinality is the array's or bitset's count
 * (recounted when a lazy operation left it unknown) or the runs' lengths. */
static container_stats stats_of(const roaring_array_t *ra, int32_t i)
{
    container_stats s = {0, 0};
    uint8_t type = ra->typecodes[i];
    const void *c = container_unwrap_shared(ra->containers[i], &type);
    s.runs = (uint32_t)container_run_tally(c, type).runs;
    if (type == ARRAY_CONTAINER_TYPE_CODE) {
        s.card = (uint32_t)((const array_container_t *)c)->cardinality;
    } else if (type == RUN_CONTAINER_TYPE_CODE) {
        const run_container_t *r = c;
        for (int32_t k = 0; k < r->n_runs; k++)
            s.card += (uint32_t)r->runs[k].length + 1;
    } else if (type == BITSET_CONTAINER_TYPE_CODE) {
        const bitset_container_t *b = c;
        if (b->cardinality >= 0) {
            s.card = (uint32_t)b->cardinality;
        } else {
            for (int k = 0; k < 1024; k++)
                s.card += (uint32_t)__builtin_popcountll(b->array[k]);
        }
    }
    return s;
}

/* The canonical choice is CRoaring's for a bitmap built from values and
 * run-optimized: run encoding when 2 + 4*runs is below the array size as
 * CRoaring counts it (2 + 2*card, a length word included) or below a
 * bitset's 8192. So three consecutive buckets are one run, two an array.
 * The differential test checks this against CRoaring's own writer. */
static int kind_of(container_stats s)
{
    size_t plain = s.card <= 4096 ? 2 + 2 * (size_t)s.card : 8192;
    if (2 + 4 * (size_t)s.runs < plain)
        return KIND_RUN;
    return s.card <= 4096 ? KIND_ARRAY : KIND_BITSET;
}

static size_t kind_bytes(int kind, container_stats s)
{
    return kind == KIND_RUN     ? 2 + 4 * (size_t)s.runs
           : kind == KIND_ARRAY ? 2 * (size_t)s.card
                                : 8192;
}

static size_t header_bytes(size_t n, bool hasrun)
{
    if (!hasrun)
        return 8 + 8 * n;
    return 4 + (n + 7) / 8 + 4 * n + (n >= OFFSET_MIN_CONTAINERS ? 4 * n : 0);
}

/* Writes the portable header of n containers at base: the cookie (and the
 * run flags, zeroed, when hasrun), and points *flags, *desc (the key and
 * cardinality pairs) and *offsets (NULL when the format has none) into it.
 * Returns header_bytes(n, hasrun): where the first container goes. */
static size_t put_portable_header(uint8_t *base, size_t n, bool hasrun, uint8_t **flags,
                                  uint8_t **desc, uint8_t **offsets)
{
    if (hasrun) {
        put_u32(base, SERIAL_RUN | (uint32_t)(n - 1) << 16);
        *flags = base + 4;
        memset(*flags, 0, (n + 7) / 8);
        *desc = *flags + (n + 7) / 8;
        *offsets = n >= OFFSET_MIN_CONTAINERS ? *desc + 4 * n : NULL;
    } else {
        *flags = NULL;
        put_u32(base, SERIAL_NO_RUN);
        put_u32(base + 4, (uint32_t)n);
        *desc = base + 8;
        *offsets = *desc + 4 * n;
    }
    return header_bytes(n, hasrun);
}

/* Non-empty container count, whether any is a run, and the body bytes. */
static size_t bitmap_survey(const roaring_bitmap_t *bm, size_t *n, bool *hasrun)
{
    const roaring_array_t *ra = &bm->high_low_container;
    size_t body = 0;
    *n = 0;
    *hasrun = false;
    for (int32_t i = 0; i < ra->size; i++) {
        container_stats s = stats_of(ra, i);
        if (s.card == 0)
            continue;
        int kind = kind_of(s);
        *hasrun |= kind == KIND_RUN;
        body += kind_bytes(kind, s);
        (*n)++;
    }
    return body;
}

static size_t bitmap_encoded_size(const roaring_bitmap_t *bm)
{
    size_t n;
    bool hasrun;
    size_t body = bitmap_survey(bm, &n, &hasrun);
    return header_bytes(n, hasrun) + body;
}

static int write_array_run(void *ctx, uint32_t a, uint32_t b)
{
    uint8_t **p = ctx;
    for (uint32_t v = a; v <= b; v++, *p += 2)
        put_u16(*p, v);
    return 0;
}

static int write_bitset_run(void *ctx, uint32_t a, uint32_t b)
{
    uint8_t *bits = ctx; /* little-endian u64 words: bit v is byte v/8, bit v%8 */
    for (uint32_t v = a; v <= b; v++)
        bits[v >> 3] |= (uint8_t)(1u << (v & 7));
    return 0;
}

static int write_rle_run(void *ctx, uint32_t a, uint32_t b)
{
    uint8_t **p = ctx;
    put_u16(*p, a);
    put_u16(*p + 2, b - a);
    *p += 4;
    return 0;
}

static size_t container_encode(const roaring_array_t *ra, int32_t i, int kind, container_stats s,
                               uint8_t *out)
{
    uint8_t *p = out;
    if (kind == KIND_BITSET) {
        memset(out, 0, 8192);
        container_runs(ra->containers[i], ra->typecodes[i], false, write_bitset_run, out);
        return 8192;
    }
    if (kind == KIND_RUN) {
        put_u16(p, s.runs);
        p += 2;
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
        /* A run container whose runs are already maximal is its own
         * encoding: (value, length) u16 pairs, little-endian. */
        uint8_t type = ra->typecodes[i];
        const void *c = container_unwrap_shared(ra->containers[i], &type);
        if (type == RUN_CONTAINER_TYPE_CODE &&
            ((const run_container_t *)c)->n_runs == (int32_t)s.runs) {
            memcpy(p, ((const run_container_t *)c)->runs, 4 * (size_t)s.runs);
            return 2 + 4 * (size_t)s.runs;
        }
#endif
    }
    container_runs(ra->containers[i], ra->typecodes[i], false,
                   kind == KIND_RUN ? write_rle_run : write_array_run, &p);
    return (size_t)(p - out);
}

/* The portable 32-bit layout: cookie, run flags or count, (key, card-1)
 * pairs, offsets (always without runs, from 4 containers with), bodies. */
static size_t bitmap_encode(const roaring_bitmap_t *bm, uint8_t *out)
{
    const roaring_array_t *ra = &bm->high_low_container;
    size_t n;
    bool hasrun;
    bitmap_survey(bm, &n, &hasrun);
    uint8_t *flags = NULL, *desc, *offsets = NULL;
    if (hasrun) {
        put_u32(out, SERIAL_RUN | (uint32_t)(n - 1) << 16);
        flags = out + 4;
        memset(flags, 0, (n + 7) / 8);
        desc = flags + (n + 7) / 8;
        offsets = n >= OFFSET_MIN_CONTAINERS ? desc + 4 * n : NULL;
    } else {
        put_u32(out, SERIAL_NO_RUN);
        put_u32(out + 4, (uint32_t)n);
        desc = out + 8;
        offsets = desc + 4 * n;
    }
    size_t pos = header_bytes(n, hasrun), j = 0;
    for (int32_t i = 0; i < ra->size; i++) {
        container_stats s = stats_of(ra, i);
        if (s.card == 0)
            continue;
        int kind = kind_of(s);
        if (kind == KIND_RUN)
            flags[j / 8] |= (uint8_t)(1u << (j % 8));
        put_u16(desc + 4 * j, ra->keys[i]);
        put_u16(desc + 4 * j + 2, s.card - 1);
        if (offsets)
            put_u32(offsets + 4 * j, (uint32_t)pos);
        pos += container_encode(ra, i, kind, s, out + pos);
        j++;
    }
    return pos;
}

size_t tst_coverage_serialized_size(const tst_coverage *cov)
{
    size_t total = 8;
    for (size_t i = 0; i < cov->count; i++)
        total += 4 + bitmap_encoded_size(cov->parts[i].bm);
    return total;
}

size_t tst_coverage_serialize(const tst_coverage *cov, uint8_t *buf)
{
    uint64_t count = cov->count;
    for (int b = 0; b < 8; b++)
        buf[b] = (uint8_t)(count >> (8 * b));
    size_t pos = 8;
    for (size_t i = 0; i < cov->count; i++) {
        put_u32(buf + pos, cov->parts[i].key);
        pos += 4 + bitmap_encode(cov->parts[i].bm, buf + pos + 4);
    }
    return pos;
}

static void set_bits(uint64_t *w, uint32_t a, uint32_t b) /* [a, b] */
{
    uint32_t wa = a >> 6, wb = b >> 6;
    uint64_t first = ~0ULL << (a & 63), last = ~0ULL >> (63 - (b & 63));
    if (wa == wb) {
        w[wa] |= first & last;
        return;
    }
    w[wa] |= first;
    for (uint32_t k = wa + 1; k < wb; k++)
        w[k] = ~0ULL;
    w[wb] |= last;
}

/* ---- the encoding of a union, without building it -------------------- */

int tst_byte_buf_reserve(tst_byte_buf *b, size_t more)
{
    if (more <= b->cap - b->len)
        return 0;
    size_t cap = b->cap ? b->cap : 4096;
    while (cap - b->len < more) {
        if (cap > SIZE_MAX / 2)
            return tst_fail(TST_ENOMEM, "coverage encoding: %zu bytes do not fit", b->len + more);
        cap *= 2;
    }
    uint8_t *grown = realloc(b->bytes, cap);
    if (!grown)
        return tst_fail(TST_ENOMEM, "out of memory encoding coverage (%zu bytes)", cap);
    b->bytes = grown;
    b->cap = cap;
    return 0;
}

/* Cardinality and maximal runs of a 65,536-bit set. */
static container_stats bits_stats(const uint64_t *w)
{
    container_stats s = {0, 0};
    uint64_t carry = 0;
    for (int k = 0; k < 1024; k++) {
        s.card += (uint32_t)__builtin_popcountll(w[k]);
        s.runs += (uint32_t)__builtin_popcountll(w[k] & ~((w[k] << 1) | carry));
        carry = w[k] >> 63;
    }
    return s;
}

/* A container held as a 65,536-bit set, in its canonical layout. */
static size_t bits_encode(const uint64_t *w, int kind, container_stats s, uint8_t *out)
{
    uint8_t *p = out;
    if (kind == KIND_BITSET) {
        for (int k = 0; k < 1024; k++) {
            put_u32(p + 8 * k, (uint32_t)w[k]);
            put_u32(p + 8 * k + 4, (uint32_t)(w[k] >> 32));
        }
        return 8192;
    }
    if (kind == KIND_RUN) {
        put_u16(p, s.runs);
        p += 2;
    }
    bitset_runs(w, false, kind == KIND_RUN ? write_rle_run : write_array_run, &p);
    return (size_t)(p - out);
}

static int set_bits_run(void *ctx, uint32_t a, uint32_t b)
{
    set_bits(ctx, a, b);
    return 0;
}

/* One container of a merged 32-bit bitmap: one side's as it is, or, where
 * both sides hold the key, their union as a 65,536-bit set. */
typedef struct merged_container {
    uint32_t key;
    container_stats s;
    int kind;
    const roaring_array_t *ra;
    int32_t index;
    uint64_t *bits; /* owned; the union of both sides */
} merged_container;

static void merged_free(merged_container *m, size_t n)
{
    for (size_t i = 0; i < n; i++)
        free(m[i].bits);
    free(m);
}

static int merged_one(const roaring_array_t *ra, int32_t i, merged_container *m, size_t *n)
{
    container_stats s = stats_of(ra, i);
    if (s.card > 0)
        m[(*n)++] = (merged_container){ra->keys[i], s, kind_of(s), ra, i, NULL};
    return 0;
}

static int merged_both(const roaring_array_t *a, int32_t i, const roaring_array_t *b, int32_t j,
                       merged_container *m, size_t *n)
{
    uint64_t *bits = calloc(1024, sizeof *bits);
    if (!bits)
        return tst_fail(TST_ENOMEM, "out of memory encoding coverage");
    container_runs(a->containers[i], a->typecodes[i], false, set_bits_run, bits);
    container_runs(b->containers[j], b->typecodes[j], false, set_bits_run, bits);
    container_stats s = bits_stats(bits);
    if (s.card == 0) {
        free(bits);
        return 0;
    }
    m[(*n)++] = (merged_container){a->keys[i], s, kind_of(s), NULL, 0, bits};
    return 0;
}

/* The portable 32-bit layout of a ∪ b, appended to out: bitmap_encode's
 * bytes for the union, with only the containers both sides hold merged. */
static int bitmap_encode_union(const roaring_bitmap_t *a, const roaring_bitmap_t *b,
                               tst_byte_buf *out)
{
    const roaring_array_t *ra = &a->high_low_container, *rb = &b->high_low_container;
    merged_container *m = malloc(((size_t)ra->size + (size_t)rb->size + 1) * sizeof *m);
    if (!m)
        return tst_fail(TST_ENOMEM, "out of memory encoding coverage");
    size_t n = 0;
    int rc = 0;
    int32_t i = 0, j = 0;
    while (rc == 0 && (i < ra->size || j < rb->size)) {
        if (j >= rb->size || (i < ra->size && ra->keys[i] < rb->keys[j]))
            rc = merged_one(ra, i++, m, &n);
        else if (i >= ra->size || rb->keys[j] < ra->keys[i])
            rc = merged_one(rb, j++, m, &n);
        else
            rc = merged_both(ra, i++, rb, j++, m, &n);
    }
    bool hasrun = false;
    size_t body = 0;
    for (size_t k = 0; k < n; k++) {
        hasrun |= m[k].kind == KIND_RUN;
        body += kind_bytes(m[k].kind, m[k].s);
    }
    size_t size = header_bytes(n, hasrun) + body;
    if (rc == 0)
        rc = tst_byte_buf_reserve(out, size);
    if (rc != 0) {
        merged_free(m, n);
        return rc;
    }
    uint8_t *base = out->bytes + out->len, *flags = NULL, *desc, *offsets = NULL;
    size_t pos = put_portable_header(base, n, hasrun, &flags, &desc, &offsets);
    for (size_t k = 0; k < n; k++) {
        if (m[k].kind == KIND_RUN)
            flags[k / 8] |= (uint8_t)(1u << (k % 8));
        put_u16(desc + 4 * k, m[k].key);
        put_u16(desc + 4 * k + 2, m[k].s.card - 1);
        if (offsets)
            put_u32(offsets + 4 * k, (uint32_t)pos);
        pos += m[k].bits ? bits_encode(m[k].bits, m[k].kind, m[k].s, base + pos)
                         : container_encode(m[k].ra, m[k].index, m[k].kind, m[k].s, base + pos);
    }
    out->len += pos;
    merged_free(m, n);
    return 0;
}

static int encode_part(const roaring_bitmap_t *bm, tst_byte_buf *out)
{
    int rc = tst_byte_buf_reserve(out, bitmap_encoded_size(bm));
    if (rc == 0)
        out->len += bitmap_encode(bm, out->bytes + out->len);
    return rc;
}

int tst_coverage_serialize_union(const tst_coverage *a, const tst_coverage *b, tst_byte_buf *out)
{
    size_t i = 0, j = 0, count = 0;
    while (i < a->count || j < b->count) {
        if (j >= b->count || (i < a->count && a->parts[i].key < b->parts[j].key))
            i++;
        else if (i >= a->count || b->parts[j].key < a->parts[i].key)
            j++;
        else
            i++, j++;
        count++;
    }
    int rc = tst_byte_buf_reserve(out, 8);
    if (rc != 0)
        return rc;
    for (int k = 0; k < 8; k++)
        out->bytes[out->len + (size_t)k] = (uint8_t)((uint64_t)count >> (8 * k));
    out->len += 8;
    for (i = 0, j = 0; rc == 0 && (i < a->count || j < b->count);) {
        const cov_part *pa = NULL, *pb = NULL;
        if (j >= b->count || (i < a->count && a->parts[i].key < b->parts[j].key))
            pa = &a->parts[i++];
        else if (i >= a->count || b->parts[j].key < a->parts[i].key)
            pb = &b->parts[j++];
        else
            pa = &a->parts[i++], pb = &b->parts[j++];
        rc = tst_byte_buf_reserve(out, 4);
        if (rc != 0)
            break;
        put_u32(out->bytes + out->len, pa ? pa->key : pb->key);
        out->len += 4;
        rc = pa && pb ? bitmap_encode_union(pa->bm, pb->bm, out) : encode_part(pa ? pa->bm : pb->bm, out);
    }
    return rc;
}

/* ------------------------------------------------------------- decoding */

typedef struct reader {
    const uint8_t *bytes;
    size_t len;
    size_t pos;
    struct tally_walk *tally; /* tst_coverage_tally_serialized: counts what is checked */
    struct tst_coverage_union_acc *acc; /* tst_coverage_union_acc_add: ORs what is checked */
    uint64_t key; /* with tally or acc: partition << 16 | key of the container checked */
} reader;

static void acc_array(reader *r, const uint8_t *p, uint32_t card);
static void acc_bitset(reader *r, const uint8_t *p);
static void acc_runs(reader *r, const uint8_t *p, uint32_t nruns);

static uint32_t get_u16(const uint8_t *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8;
}

static uint32_t get_u32(const uint8_t *p)
{
    return get_u16(p) | get_u16(p + 2) << 16;
}

/* Claims the next n bytes, or fails naming what was being read. */
static int take(reader *r, size_t n, const char *what, const uint8_t **out)
{
    if (r->len - r->pos < n)
        return tst_fail(TST_ECORRUPT, "truncated: %s needs %zu bytes at byte %zu, %zu left", what,
                        n, r->pos, r->len - r->pos);
    *out = r->bytes + r->pos;
    r->pos += n;
    return 0;
}

/* Where one 32-bit bitmap's header says its parts are. */
typedef struct bitmap_header {
    size_t start; /* position of the cookie: offsets count from here */
    uint32_t count;
    const uint8_t *flags;   /* run flags, NULL without run containers */
    const uint8_t *desc;    /* (key, cardinality - 1) pairs */
    const uint8_t *offsets; /* NULL when the layout has none */
} bitmap_header;

static int read_run_flags(reader *r, bitmap_header *h)
{
    int rc = take(r, (h->count + 7) / 8, "run container flags", &h->flags);
    if (rc == 0 && h->count % 8 != 0 && (h->flags[h->count / 8] >> (h->count % 8)) != 0)
        rc = tst_fail(TST_ECORRUPT, "run flags set past the %u containers", h->count);
    return rc;
}

static int read_header(reader *r, bitmap_header *h)
{
    const uint8_t *p = NULL;
    *h = (bitmap_header){.start = r->pos};
    int rc = take(r, 4, "cookie", &p);
    if (rc != 0)
        return rc;
    uint32_t cookie = get_u32(p);
    if (cookie == SERIAL_NO_RUN) {
        if ((rc = take(r, 4, "container count", &p)) != 0)
            return rc;
        h->count = get_u32(p);
        if (h->count > 65536)
            return tst_fail(TST_ECORRUPT, "container count %u exceeds 65536", h->count);
    } else if ((cookie & 0xFFFF) == SERIAL_RUN) {
        h->count = (cookie >> 16) + 1;
        if ((rc = read_run_flags(r, h)) != 0)
            return rc;
    } else {
        return tst_fail(TST_ECORRUPT, "bad cookie 0x%08x at byte %zu (wanted 12346 or 12347)",
                        cookie, h->start);
    }
    if ((rc = take(r, 4 * (size_t)h->count, "container keys and cardinalities", &h->desc)) != 0)
        return rc;
    if (!h->flags || h->count >= OFFSET_MIN_CONTAINERS)
        rc = take(r, 4 * (size_t)h->count, "container offsets", &h->offsets);
    return rc;
}

/*
 * Decoding checks every byte first and builds second. The checks below walk
 * the containers and prove what CRoaring's own reader takes on trust: keys
 * strictly increasing, offsets where the containers are, array values
 * strictly increasing, a bitset's population equal to its cardinality, runs
 * sorted, disjoint and inside 65535. A bitmap that passes is then handed to
 * roaring_bitmap_portable_deserialize_safe, which copies each container as
 * it is (the serialized layout is CRoaring's portable one) — one memcpy a
 * container, where inserting the values or runs one by one cost a table of
 * a thousand entities x ten years of minute runs 140 ms (bench/
 * coverage_latency.py).
 */
/* What tst_coverage_tally_serialized gathers while the checks run: the
 * container being checked (its 48-bit key, runs, lowest and highest
 * value) and the totals, with the run-touching rule of
 * tst_coverage_run_count across containers and partitions. */
typedef struct tally_walk {
    uint64_t key; /* partition << 16 | container key of the current container */
    tst_coverage_tally *out;
    bool prev_high; /* the previous non-empty container held its 65535 */
    uint64_t prev_key;
} tally_walk;

static void tally_container(reader *r, uint64_t runs, uint32_t lo, uint32_t hi, uint64_t card)
{
    tally_walk *w = r->tally;
    tst_coverage_tally *t = w->out;
    w->key = r->key;
    uint64_t min = w->key << 16 | lo, max = w->key << 16 | hi;
    if (w->out->any && w->prev_high && lo == 0 && w->key == w->prev_key + 1)
        runs--;
    t->runs += runs;
    t->cardinality = t->cardinality > UINT64_MAX - card ? UINT64_MAX : t->cardinality + card;
    if (!t->any)
        t->min = min;
    t->max = max;
    t->any = true;
    w->prev_high = hi == 65535;
    w->prev_key = w->key;
}

static int check_array(reader *r, uint32_t card)
{
    const uint8_t *p = NULL;
    uint64_t runs = 1;
    int rc = take(r, 2 * (size_t)card, "array container", &p);
    for (uint32_t k = 1; rc == 0 && k < card; k++) {
        uint32_t v = get_u16(p + 2 * k), prev = get_u16(p + 2 * (k - 1));
        if (v <= prev)
            return tst_fail(TST_ECORRUPT, "array values not strictly increasing: %u after %u", v,
                            prev);
        runs += v != prev + 1;
    }
    if (rc == 0 && r->tally)
        tally_container(r, runs, get_u16(p), get_u16(p + 2 * (card - 1)), card);
    if (rc == 0 && r->acc)
        acc_array(r, p, card);
    return rc;
}

static int check_bitset(reader *r, uint32_t card)
{
    const uint8_t *p = NULL;
    uint32_t pop = 0;
    int rc = take(r, 8192, "bitset container", &p);
    if (rc != 0)
        return rc;
    for (int w = 0; w < 2048; w++)
        pop += (uint32_t)__builtin_popcount(get_u32(p + 4 * w));
    if (pop != card)
        return tst_fail(TST_ECORRUPT, "bitset holds %u values but its header says %u", pop, card);
    if (r->tally) {
        uint64_t runs = 0, carry = 0;
        int32_t lo = -1, hi = -1;
        for (int i = 0; i < 1024; i++) {
            uint64_t word = (uint64_t)get_u32(p + 8 * i) | (uint64_t)get_u32(p + 8 * i + 4) << 32;
            runs += (uint64_t)__builtin_popcountll(word & ~((word << 1) | carry));
            carry = word >> 63;
            if (word && lo < 0)
                lo = 64 * i + __builtin_ctzll(word);
            if (word)
                hi = 64 * i + 63 - __builtin_clzll(word);
        }
        tally_container(r, runs, (uint32_t)lo, (uint32_t)hi, card); /* card > 4096: not empty */
    }
    if (r->acc)
        acc_bitset(r, p);
    return 0;
}

/* Runs must be sorted, non-overlapping and end by 65535. The header's
 * cardinality is not checked: readers (CRoaring, Java) ignore it for run
 * containers, so a bitmap they accept is accepted here too. */
static int check_runs(reader *r)
{
    const uint8_t *p = NULL;
    int rc = take(r, 2, "run count", &p);
    if (rc != 0)
        return rc;
    uint32_t nruns = get_u16(p);
    if (nruns == 0)
        return tst_fail(TST_ECORRUPT, "run container with no runs");
    if ((rc = take(r, 4 * (size_t)nruns, "runs", &p)) != 0)
        return rc;
    for (uint32_t k = 0; k < nruns; k++) {
        uint32_t start = get_u16(p + 4 * k), end = start + get_u16(p + 4 * k + 2);
        uint32_t prev_end = k > 0 ? get_u16(p + 4 * k - 4) + get_u16(p + 4 * k - 2) : 0;
        if (end > 65535)
            return tst_fail(TST_ECORRUPT, "run %u [%u, %u] goes past 65535", k, start, end);
        if (k > 0 && start <= prev_end)
            return tst_fail(TST_ECORRUPT,
                            "run %u starts at %u, not after the previous run's end %u", k, start,
                            prev_end);
    }
    if (r->tally) {
        uint64_t runs = 0, card = 0;
        for (uint32_t k = 0; k < nruns; k++) {
            uint32_t start = get_u16(p + 4 * k), len = get_u16(p + 4 * k + 2);
            uint32_t prev_end = k > 0 ? get_u16(p + 4 * k - 4) + get_u16(p + 4 * k - 2) : 0;
            runs += k == 0 || start != prev_end + 1; /* touching runs are one */
            card += len + 1;
        }
        uint32_t last = nruns - 1;
        tally_container(r, runs, get_u16(p), get_u16(p + 4 * last) + get_u16(p + 4 * last + 2),
                        card);
    }
    if (r->acc)
        acc_runs(r, p, nruns);
    return 0;
}

static int check_container(reader *r, const bitmap_header *h, uint32_t i)
{
    uint32_t key = get_u16(h->desc + 4 * i), card = get_u16(h->desc + 4 * i + 2) + 1;
    if (i > 0 && key <= get_u16(h->desc + 4 * (i - 1)))
        return tst_fail(TST_ECORRUPT, "keys not strictly increasing: %u after %u", key,
                        get_u16(h->desc + 4 * (i - 1)));
    if (h->offsets && get_u32(h->offsets + 4 * i) != r->pos - h->start)
        return tst_fail(TST_ECORRUPT, "offset %u does not match the container's position %zu",
                        get_u32(h->offsets + 4 * i), r->pos - h->start);
    if (h->flags && (h->flags[i / 8] >> (i % 8) & 1))
        return check_runs(r);
    if (card <= 4096)
        return check_array(r, card);
    return check_bitset(r, card);
}

/* Checks one 32-bit bitmap, then has CRoaring build it from the same bytes. */
static int read_bitmap(reader *r, roaring_bitmap_t **out)
{
    bitmap_header h;
    int rc = read_header(r, &h);
    for (uint32_t i = 0; rc == 0 && i < h.count; i++) {
        rc = check_container(r, &h, i);
        if (rc != 0)
            tst_fail_context(rc, "container %u (key %u)", i, get_u16(h.desc + 4 * i));
    }
    if (rc != 0)
        return rc;
    const char *bytes = (const char *)r->bytes + h.start;
    size_t len = r->pos - h.start;
    *out = roaring_bitmap_portable_deserialize_safe(bytes, len);
    if (!*out)
        return tst_fail(TST_ENOMEM, "coverage decode: out of memory (a bitmap of %zu bytes)", len);
    if (roaring_bitmap_portable_deserialize_size(bytes, len) != len) {
        roaring_bitmap_free(*out);
        return tst_fail(TST_ECORRUPT, "bitmap of %zu bytes read as %zu", len,
                        roaring_bitmap_portable_deserialize_size(bytes, len));
    }
    return 0;
}

/* One (high key, 32-bit bitmap) partition; empty bitmaps are dropped. */
static int read_partition(reader *r, tst_coverage *cov, uint64_t index, int64_t *prev_key)
{
    const uint8_t *p = NULL;
    int rc = take(r, 4, "high key", &p);
    if (rc != 0)
        return rc;
    uint32_t key = get_u32(p);
    if ((int64_t)key <= *prev_key)
        return tst_fail(TST_ECORRUPT,
                        "bitmap %llu: high keys not strictly increasing: 0x%08x after 0x%08x",
                        (unsigned long long)index, key, (uint32_t)*prev_key);
    *prev_key = key;
    roaring_bitmap_t *bm = NULL;
    rc = read_bitmap(r, &bm);
    if (rc != 0)
        return tst_fail_context(rc, "bitmap %llu (high key 0x%08x)", (unsigned long long)index,
                                key);
    if (roaring_bitmap_is_empty(bm)) {
        roaring_bitmap_free(bm);
        return 0;
    }
    roaring_bitmap_run_optimize(bm);
    roaring_bitmap_shrink_to_fit(bm);
    cov->parts[cov->count++] = (cov_part){key, bm};
    return 0;
}

static int read_coverage(reader *r, tst_coverage *cov)
{
    const uint8_t *p = NULL;
    int rc = take(r, 8, "bitmap count", &p);
    if (rc != 0)
        return rc;
    uint64_t count = (uint64_t)get_u32(p) | (uint64_t)get_u32(p + 4) << 32;
    /* Each bitmap takes at least 12 bytes (key, cookie, container count),
     * which bounds the allocation below by the input's size. */
    if (count > (r->len - r->pos) / 12)
        return tst_fail(TST_ECORRUPT, "bitmap count %llu cannot fit in the %zu bytes that follow",
                        (unsigned long long)count, r->len - r->pos);
    if ((rc = part_reserve(cov, (size_t)count)) != 0)
        return rc;
    int64_t prev_key = -1;
    for (uint64_t i = 0; i < count && rc == 0; i++)
        rc = read_partition(r, cov, i, &prev_key);
    if (rc == 0 && r->pos != r->len)
        rc = tst_fail(TST_ECORRUPT, "trailing bytes after roaring bitmap: %zu bytes at byte %zu",
                      r->len - r->pos, r->pos);
    return rc;
}

/* The checks of read_coverage without building anything. */
static int tally_coverage(reader *r)
{
    const uint8_t *p = NULL;
    int rc = take(r, 8, "bitmap count", &p);
    if (rc != 0)
        return rc;
    uint64_t count = (uint64_t)get_u32(p) | (uint64_t)get_u32(p + 4) << 32;
    if (count > (r->len - r->pos) / 12)
        return tst_fail(TST_ECORRUPT, "bitmap count %llu cannot fit in the %zu bytes that follow",
                        (unsigned long long)count, r->len - r->pos);
    int64_t prev_key = -1;
    for (uint64_t i = 0; i < count && rc == 0; i++) {
        if ((rc = take(r, 4, "high key", &p)) != 0)
            break;
        uint32_t key = get_u32(p);
        if ((int64_t)key <= prev_key)
            return tst_fail(TST_ECORRUPT,
                            "bitmap %llu: high keys not strictly increasing: 0x%08x after 0x%08x",
                            (unsigned long long)i, key, (uint32_t)prev_key);
        prev_key = key;
        bitmap_header h;
        rc = read_header(r, &h);
        for (uint32_t c = 0; rc == 0 && c < h.count; c++) {
            r->key = (uint64_t)key << 16 | get_u16(h.desc + 4 * c);
            rc = check_container(r, &h, c);
        }
        if (rc != 0)
            tst_fail_context(rc, "bitmap %llu (high key 0x%08x)", (unsigned long long)i, key);
    }
    if (rc == 0 && r->pos != r->len)
        rc = tst_fail(TST_ECORRUPT, "trailing bytes after roaring bitmap: %zu bytes at byte %zu",
                      r->len - r->pos, r->pos);
    return rc;
}

/* ---- the union of serialized sets, without building each one ---------- */

/*
 * tst_coverage_union_acc: one 65,536-bit bitset per 48-bit container key
 * seen so far (partition << 16 | container key), kept in key order. Every
 * container of every set added is checked as decoding checks it
 * (tally_coverage's walk) and ORed into its key's bitset: a run sets a
 * range of bits, an array its values, a bitset its words. Only the union's
 * containers are ever built, at the end. A union spread over more than
 * ACC_MAX_KEYS container keys (8 KB each) is left to the decoding path
 * (TST_COVERAGE_UNION_TOO_WIDE), so memory stays bounded.
 */
enum { ACC_MAX_KEYS = 4096 };

typedef struct acc_slot {
    uint64_t key;
    uint64_t words[1024];
} acc_slot;

struct tst_coverage_union_acc {
    acc_slot **slots; /* ascending key */
    size_t count, cap;
    size_t last; /* the slot found last: sets run in key order */
    bool too_wide, no_memory;
};

static acc_slot *acc_slot_of(tst_coverage_union_acc *a, uint64_t key)
{
    if (a->last < a->count && a->slots[a->last]->key == key)
        return a->slots[a->last];
    size_t lo = 0, hi = a->count;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (a->slots[mid]->key < key)
            lo = mid + 1;
        else
            hi = mid;
    }
    if (lo < a->count && a->slots[lo]->key == key) {
        a->last = lo;
        return a->slots[lo];
    }
    if (a->count >= ACC_MAX_KEYS) {
        a->too_wide = true;
        return NULL;
    }
    if (a->count == a->cap) {
        size_t cap = a->cap ? 2 * a->cap : 64;
        acc_slot **grown = realloc(a->slots, cap * sizeof *grown);
        if (!grown) {
            a->no_memory = true;
            return NULL;
        }
        a->slots = grown;
        a->cap = cap;
    }
    acc_slot *slot = calloc(1, sizeof *slot);
    if (!slot) {
        a->no_memory = true;
        return NULL;
    }
    slot->key = key;
    memmove(a->slots + lo + 1, a->slots + lo, (a->count - lo) * sizeof *a->slots);
    a->slots[lo] = slot;
    a->count++;
    a->last = lo;
    return slot;
}

static void acc_array(reader *r, const uint8_t *p, uint32_t card)
{
    acc_slot *s = acc_slot_of(r->acc, r->key);
    for (uint32_t k = 0; s && k < card; k++) {
        uint32_t v = get_u16(p + 2 * k);
        s->words[v >> 6] |= 1ULL << (v & 63);
    }
}

static void acc_bitset(reader *r, const uint8_t *p)
{
    acc_slot *s = acc_slot_of(r->acc, r->key);
    for (int i = 0; s && i < 1024; i++)
        s->words[i] |= (uint64_t)get_u32(p + 8 * i) | (uint64_t)get_u32(p + 8 * i + 4) << 32;
}

static void acc_runs(reader *r, const uint8_t *p, uint32_t nruns)
{
    acc_slot *s = acc_slot_of(r->acc, r->key);
    for (uint32_t k = 0; s && k < nruns; k++) {
        uint32_t start = get_u16(p + 4 * k);
        set_bits(s->words, start, start + get_u16(p + 4 * k + 2));
    }
}

int tst_coverage_union_acc_new(tst_coverage_union_acc **out)
{
    *out = calloc(1, sizeof **out);
    return *out ? 0 : tst_fail(TST_ENOMEM, "out of memory uniting coverage");
}

void tst_coverage_union_acc_free(tst_coverage_union_acc *a)
{
    if (!a)
        return;
    for (size_t i = 0; i < a->count; i++)
        free(a->slots[i]);
    free(a->slots);
    free(a);
}

int tst_coverage_union_acc_add(tst_coverage_union_acc *a, const uint8_t *bytes, size_t len)
{
    reader r = {.bytes = bytes, .len = len, .acc = a};
    int rc = tally_coverage(&r);
    if (rc == TST_ECORRUPT)
        return tst_fail_context(rc, "malformed coverage");
    if (rc == 0 && a->no_memory)
        return tst_fail(TST_ENOMEM, "out of memory uniting coverage");
    if (rc == 0 && a->too_wide)
        return TST_COVERAGE_UNION_TOO_WIDE;
    return rc;
}

/* One 32-bit partition of the union, slots [i0, i1): written in the
 * portable layout bitmap_encode writes (the canonical container choice),
 * then read by CRoaring, one memcpy a container, as decoding does. */
static int acc_partition(const tst_coverage_union_acc *a, size_t i0, size_t i1,
                         roaring_bitmap_t **out)
{
    size_t n = i1 - i0, body = 0;
    bool hasrun = false;
    container_stats *st = malloc(n * sizeof *st);
    if (!st)
        return tst_fail(TST_ENOMEM, "out of memory uniting coverage");
    for (size_t j = 0; j < n; j++) {
        st[j] = bits_stats(a->slots[i0 + j]->words);
        hasrun |= kind_of(st[j]) == KIND_RUN;
        body += kind_bytes(kind_of(st[j]), st[j]);
    }
    size_t size = header_bytes(n, hasrun) + body;
    uint8_t *buf = malloc(size);
    if (!buf) {
        free(st);
        return tst_fail(TST_ENOMEM, "out of memory uniting coverage (%zu bytes)", size);
    }
    uint8_t *flags = NULL, *desc, *offsets = NULL;
    size_t pos = put_portable_header(buf, n, hasrun, &flags, &desc, &offsets);
    for (size_t j = 0; j < n; j++) {
        const uint64_t *w = a->slots[i0 + j]->words;
        int kind = kind_of(st[j]);
        if (kind == KIND_RUN)
            flags[j / 8] |= (uint8_t)(1u << (j % 8));
        put_u16(desc + 4 * j, (uint32_t)(a->slots[i0 + j]->key & 0xFFFF));
        put_u16(desc + 4 * j + 2, st[j].card - 1);
        if (offsets)
            put_u32(offsets + 4 * j, (uint32_t)pos);
        pos += bits_encode(w, kind, st[j], buf + pos);
    }
    free(st);
    *out = roaring_bitmap_portable_deserialize_safe((const char *)buf, pos);
    free(buf);
    return *out ? 0 : tst_fail(TST_ENOMEM, "out of memory uniting coverage");
}

int tst_coverage_union_acc_finish(tst_coverage_union_acc *a, tst_coverage **out)
{
    tst_coverage *cov;
    int rc = tst_coverage_new(&cov);
    for (size_t i0 = 0, i1; rc == 0 && i0 < a->count; i0 = i1) {
        uint32_t part = (uint32_t)(a->slots[i0]->key >> 16);
        for (i1 = i0 + 1; i1 < a->count && (uint32_t)(a->slots[i1]->key >> 16) == part; i1++)
            ;
        /* Every slot holds a value: each container read was non-empty. */
        roaring_bitmap_t *bm = NULL;
        rc = part_reserve(cov, cov->count + 1);
        if (rc == 0)
            rc = acc_partition(a, i0, i1, &bm);
        if (rc == 0) {
            roaring_bitmap_run_optimize(bm);
            roaring_bitmap_shrink_to_fit(bm);
            cov->parts[cov->count++] = (cov_part){part, bm};
        }
    }
    if (rc != 0) {
        tst_coverage_free(cov);
        return rc;
    }
    *out = cov;
    return 0;
}

int tst_coverage_tally_serialized(const uint8_t *bytes, size_t len, tst_coverage_tally *out)
{
    *out = (tst_coverage_tally){0};
    tally_walk w = {.out = out};
    reader r = {.bytes = bytes, .len = len, .tally = &w};
    int rc = tally_coverage(&r);
    if (rc != 0)
        *out = (tst_coverage_tally){0};
    return rc == TST_ECORRUPT ? tst_fail_context(rc, "malformed coverage") : rc;
}

int tst_coverage_deserialize(tst_coverage **out, const uint8_t *bytes, size_t len)
{
    tst_coverage *cov;
    int rc = tst_coverage_new(&cov);
    if (rc != 0)
        return rc;
    reader r = {.bytes = bytes, .len = len};
    rc = read_coverage(&r, cov);
    if (rc != 0) {
        tst_coverage_free(cov);
        return rc == TST_ECORRUPT ? tst_fail_context(rc, "malformed coverage") : rc;
    }
    *out = cov;
    return 0;
}
