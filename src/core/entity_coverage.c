/*
 * entity_coverage.c — entity identities, the identity -> coverage map, and
 * its TSTECOV2 codec (format_version 6, see coverage.h and format-v6 §1.11).
 *
 * The map is a sorted array of entries kept in canonical identity order.
 * Tables have few identities (tens to a few thousand symbols) that are read
 * far more often than they are added, so binary search over one contiguous
 * array beats a tree: lookups are cache-friendly, iteration in canonical
 * order is free (the codec and the "first overlapping identity" example
 * both need it), and the decoder fills the array in order without searching.
 *
 * Each entry owns its identity in one allocation: the value array followed
 * by every utf8 component's bytes, so a borrowed identity handed to the
 * caller stays valid until the map is modified, and freeing is one free().
 *
 * The decoder reads untrusted sidecar bytes. Every length is checked against
 * the bytes that remain before anything is allocated from it, so a tiny file
 * that declares 2^64 bytes fails fast instead of asking for memory.
 */
#include "tstable/coverage.h"

#include "coverage_internal.h"
#include "fail.h"

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define ECOV_MAGIC "TSTECOV2"
#define ECOV_MAGIC_LEN 8
/* The smallest encoded entity: component_count, one i32 component, nested_len. */
#define ECOV_MIN_ENTITY_BYTES (4 + 5 + 8)
/* The smallest encoded component: a tag and an i32. */
#define ECOV_MIN_COMPONENT_BYTES 5
/* How much of an identity an error message shows. */
#define ECOV_MESSAGE_IDENTITY_CAP 96

typedef struct ecov_entry {
    tst_entity_value *values; /* owned block: values, then utf8 bytes */
    size_t count;
    tst_coverage *cov;
} ecov_entry;

struct tst_entity_coverage {
    ecov_entry *entries;
    size_t count;
    size_t cap;
};

static uint64_t add_saturating(uint64_t a, uint64_t b)
{
    return a > UINT64_MAX - b ? UINT64_MAX : a + b;
}

/* ------------------------------------------------------------------------ */
/* Identities                                                                */

static int compare_bytes(const char *a, size_t alen, const char *b, size_t blen)
{
    size_t n = alen < blen ? alen : blen;
    /* memcmp with a NULL pointer is undefined even for zero bytes. */
    int c = n ? memcmp(a, b, n) : 0;
    if (c != 0)
        return c < 0 ? -1 : 1;
    return alen < blen ? -1 : (alen > blen ? 1 : 0);
}

#define COMPARE_SCALAR(x, y) ((x) < (y) ? -1 : ((x) > (y) ? 1 : 0))

/* The enum values are the type ranks (utf8 < int32 < int64 < uint64). */
static int compare_value(const tst_entity_value *a, const tst_entity_value *b)
{
    if (a->type != b->type)
        return COMPARE_SCALAR((int)a->type, (int)b->type);
    switch (a->type) {
    case TST_ENTITY_UTF8:
        return compare_bytes(a->v.utf8.ptr, a->v.utf8.len, b->v.utf8.ptr, b->v.utf8.len);
    case TST_ENTITY_INT32:
        return COMPARE_SCALAR(a->v.i32, b->v.i32);
    case TST_ENTITY_INT64:
        return COMPARE_SCALAR(a->v.i64, b->v.i64);
    case TST_ENTITY_UINT64:
        return COMPARE_SCALAR(a->v.u64, b->v.u64);
    }
    return 0;
}

int tst_entity_identity_compare(const tst_entity_identity *a, const tst_entity_identity *b)
{
    size_t n = a->count < b->count ? a->count : b->count;
    for (size_t i = 0; i < n; i++) {
        int c = compare_value(&a->values[i], &b->values[i]);
        if (c != 0)
            return c;
    }
    return COMPARE_SCALAR(a->count, b->count);
}

/* An snprintf-like sink: writes what fits, counts everything. */
typedef struct text_sink {
    char *buf;
    size_t cap;
    size_t wanted;
} text_sink;

static void sink_put(text_sink *s, const char *bytes, size_t len)
{
    if (s->cap > 0 && s->wanted < s->cap - 1) {
        size_t room = s->cap - 1 - s->wanted;
        memcpy(s->buf + s->wanted, bytes, len < room ? len : room);
    }
    s->wanted = s->wanted > SIZE_MAX - len ? SIZE_MAX : s->wanted + len;
}

static void sink_put_value(text_sink *s, const tst_entity_value *v)
{
    char num[32];
    int n = 0;
    switch (v->type) {
    case TST_ENTITY_UTF8:
        if (v->v.utf8.len)
            sink_put(s, v->v.utf8.ptr, v->v.utf8.len);
        return;
    case TST_ENTITY_INT32:
        n = snprintf(num, sizeof num, "%ld", (long)v->v.i32);
        break;
    case TST_ENTITY_INT64:
        n = snprintf(num, sizeof num, "%lld", (long long)v->v.i64);
        break;
    case TST_ENTITY_UINT64:
        n = snprintf(num, sizeof num, "%llu", (unsigned long long)v->v.u64);
        break;
    default:
        n = snprintf(num, sizeof num, "?");
        break;
    }
    sink_put(s, num, (size_t)n);
}

int tst_entity_identity_format(const tst_entity_identity *id, char *buf, size_t cap)
{
    text_sink s = {buf, buf ? cap : 0, 0};
    for (size_t i = 0; i < id->count; i++) {
        if (i > 0)
            sink_put(&s, ",", 1);
        sink_put_value(&s, &id->values[i]);
    }
    if (s.cap > 0)
        s.buf[s.wanted < s.cap ? s.wanted : s.cap - 1] = '\0';
    /* Like snprintf, a length an int cannot hold is an error. */
    return s.wanted > INT_MAX ? -1 : (int)s.wanted;
}

/*
 * Strict UTF-8 (Unicode Table 3-7): no overlong forms, no surrogates
 * (U+D800..U+DFFF), nothing above U+10FFFF. Returns the offset of the first
 * bad byte, or len when the whole string is valid.
 */
static size_t utf8_invalid_at(const uint8_t *s, size_t len)
{
    size_t i = 0;
    while (i < len) {
        uint8_t c = s[i];
        size_t extra;
        uint8_t lo = 0x80, hi = 0xBF; /* allowed range of the second byte */
        if (c < 0x80) {
            i++;
            continue;
        } else if (c >= 0xC2 && c <= 0xDF) {
            extra = 1;
        } else if (c >= 0xE0 && c <= 0xEF) {
            extra = 2;
            lo = c == 0xE0 ? 0xA0 : 0x80; /* E0 80..9F would be overlong */
            hi = c == 0xED ? 0x9F : 0xBF; /* ED A0..BF would be a surrogate */
        } else if (c >= 0xF0 && c <= 0xF4) {
            extra = 3;
            lo = c == 0xF0 ? 0x90 : 0x80; /* F0 80..8F would be overlong */
            hi = c == 0xF4 ? 0x8F : 0xBF; /* F4 90.. would pass U+10FFFF */
        } else {
            return i;
        }
        if (len - i <= extra || s[i + 1] < lo || s[i + 1] > hi)
            return i;
        for (size_t k = 2; k <= extra; k++)
            if (s[i + k] < 0x80 || s[i + k] > 0xBF)
                return i;
        i += extra + 1;
    }
    return len;
}

/* Checks an identity handed in by a caller: the codec could not store it otherwise. */
static int check_identity_arg(const tst_entity_identity *id)
{
    if (id == NULL || id->count == 0 || id->values == NULL)
        return tst_fail(TST_EINVAL, "entity identity needs at least one component");
    for (size_t i = 0; i < id->count; i++) {
        const tst_entity_value *v = &id->values[i];
        if (v->type < TST_ENTITY_UTF8 || v->type > TST_ENTITY_UINT64)
            return tst_fail(TST_EINVAL, "entity identity component %zu has unknown type %d", i,
                            (int)v->type);
        if (v->type != TST_ENTITY_UTF8)
            continue;
        if (v->v.utf8.ptr == NULL && v->v.utf8.len > 0)
            return tst_fail(TST_EINVAL, "entity identity component %zu: NULL string", i);
        size_t bad = utf8_invalid_at((const uint8_t *)v->v.utf8.ptr, v->v.utf8.len);
        if (bad != v->v.utf8.len)
            return tst_fail(TST_EINVAL,
                            "entity identity component %zu is not valid UTF-8 (byte %zu)", i, bad);
    }
    return 0;
}

/* Copies an identity into one owned block: values, then the utf8 bytes. */
static int identity_copy(tst_entity_value **out, const tst_entity_identity *id)
{
    if (id->count > SIZE_MAX / sizeof(tst_entity_value))
        return tst_fail(TST_ENOMEM, "entity identity of %zu components is too large", id->count);
    size_t head = id->count * sizeof(tst_entity_value);
    size_t total = head;
    for (size_t i = 0; i < id->count; i++) {
        if (id->values[i].type != TST_ENTITY_UTF8)
            continue;
        if (id->values[i].v.utf8.len > SIZE_MAX - total)
            return tst_fail(TST_ENOMEM, "entity identity is too large to copy");
        total += id->values[i].v.utf8.len;
    }
    tst_entity_value *values = malloc(total ? total : 1);
    if (values == NULL)
        return tst_fail(TST_ENOMEM, "out of memory copying an entity identity (%zu bytes)", total);
    char *bytes = (char *)values + head;
    for (size_t i = 0; i < id->count; i++) {
        values[i] = id->values[i];
        if (values[i].type != TST_ENTITY_UTF8)
            continue;
        size_t len = values[i].v.utf8.len;
        if (len)
            memcpy(bytes, id->values[i].v.utf8.ptr, len);
        values[i].v.utf8.ptr = bytes;
        bytes += len;
    }
    *out = values;
    return 0;
}

static tst_entity_identity entry_identity(const ecov_entry *e)
{
    tst_entity_identity id = {e->count, e->values};
    return id;
}

/* Renders an identity for an error message, cut to a readable length. */
static const char *identity_for_message(const tst_entity_identity *id,
                                        char buf[ECOV_MESSAGE_IDENTITY_CAP])
{
    int n = tst_entity_identity_format(id, buf, ECOV_MESSAGE_IDENTITY_CAP);
    if (n >= ECOV_MESSAGE_IDENTITY_CAP)
        memcpy(buf + ECOV_MESSAGE_IDENTITY_CAP - 4, "...", 4);
    return buf;
}

/* ------------------------------------------------------------------------ */
/* The map                                                                   */

static void entry_release(ecov_entry *e)
{
    free(e->values);
    tst_coverage_free(e->cov);
}

int tst_entity_coverage_new(tst_entity_coverage **out)
{
    tst_entity_coverage *ec = calloc(1, sizeof *ec);
    if (ec == NULL)
        return tst_fail(TST_ENOMEM, "out of memory creating an entity coverage");
    *out = ec;
    return 0;
}

void tst_entity_coverage_free(tst_entity_coverage *ec)
{
    if (ec == NULL)
        return;
    for (size_t i = 0; i < ec->count; i++)
        entry_release(&ec->entries[i]);
    free(ec->entries);
    free(ec);
}

static int ensure_capacity(tst_entity_coverage *ec, size_t want)
{
    if (want <= ec->cap)
        return 0;
    size_t cap = ec->cap ? ec->cap : 8;
    while (cap < want)
        cap = cap > SIZE_MAX / 2 ? want : cap * 2;
    if (cap > SIZE_MAX / sizeof(ecov_entry))
        return tst_fail(TST_ENOMEM, "entity coverage of %zu identities is too large", want);
    ecov_entry *grown = realloc(ec->entries, cap * sizeof(ecov_entry));
    if (grown == NULL)
        return tst_fail(TST_ENOMEM, "out of memory growing an entity coverage to %zu identities",
                        cap);
    ec->entries = grown;
    ec->cap = cap;
    return 0;
}

int tst_entity_coverage_clone(tst_entity_coverage **out, const tst_entity_coverage *src)
{
    tst_entity_coverage *ec = NULL;
    int rc = tst_entity_coverage_new(&ec);
    if (rc == 0)
        rc = ensure_capacity(ec, src->count);
    for (size_t i = 0; rc == 0 && i < src->count; i++) {
        ecov_entry e = {NULL, src->entries[i].count, NULL};
        tst_entity_identity id = entry_identity(&src->entries[i]);
        rc = identity_copy(&e.values, &id);
        if (rc == 0)
            rc = tst_coverage_clone(&e.cov, src->entries[i].cov);
        if (rc != 0) {
            entry_release(&e);
            break;
        }
        ec->entries[ec->count++] = e;
    }
    if (rc != 0) {
        tst_entity_coverage_free(ec);
        return rc;
    }
    *out = ec;
    return 0;
}

size_t tst_entity_coverage_count(const tst_entity_coverage *ec)
{
    return ec->count;
}

int tst_entity_coverage_at(const tst_entity_coverage *ec, size_t i, tst_entity_identity *out_id,
                           const tst_coverage **out_cov)
{
    if (i >= ec->count)
        return tst_fail(TST_EINVAL, "entity coverage index %zu is out of range (%zu identities)",
                        i, ec->count);
    if (out_id)
        *out_id = entry_identity(&ec->entries[i]);
    if (out_cov)
        *out_cov = ec->entries[i].cov;
    return 0;
}

/* Binary search: true if found at *pos, else *pos is where it would go. */
static bool find_entry(const tst_entity_coverage *ec, const tst_entity_identity *id, size_t *pos)
{
    size_t lo = 0, hi = ec->count;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        tst_entity_identity here = entry_identity(&ec->entries[mid]);
        int c = tst_entity_identity_compare(&here, id);
        if (c == 0) {
            *pos = mid;
            return true;
        }
        if (c < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    *pos = lo;
    return false;
}

const tst_coverage *tst_entity_coverage_get(const tst_entity_coverage *ec,
                                            const tst_entity_identity *id)
{
    size_t pos;
    if (id == NULL || !find_entry(ec, id, &pos))
        return NULL;
    return ec->entries[pos].cov;
}

/* Inserts a fresh entry at pos, taking ownership of values and cov. */
static int insert_entry(tst_entity_coverage *ec, size_t pos, ecov_entry e)
{
    int rc = ensure_capacity(ec, ec->count + 1);
    if (rc != 0)
        return rc;
    memmove(&ec->entries[pos + 1], &ec->entries[pos], (ec->count - pos) * sizeof(ecov_entry));
    ec->entries[pos] = e;
    ec->count++;
    return 0;
}

int tst_entity_coverage_get_or_add(tst_entity_coverage *ec, const tst_entity_identity *id,
                                   tst_coverage **out_cov)
{
    int rc = check_identity_arg(id);
    if (rc != 0)
        return rc;
    size_t pos;
    if (find_entry(ec, id, &pos)) {
        *out_cov = ec->entries[pos].cov;
        return 0;
    }
    ecov_entry e = {NULL, id->count, NULL};
    rc = identity_copy(&e.values, id);
    if (rc == 0)
        rc = tst_coverage_new(&e.cov);
    if (rc == 0)
        rc = insert_entry(ec, pos, e);
    if (rc != 0) {
        entry_release(&e);
        return rc;
    }
    *out_cov = e.cov;
    return 0;
}

/* ------------------------------------------------------------------------ */
/* Set operations                                                            */

/*
 * Not atomic: if memory runs out halfway, dst holds the union of the
 * identities done so far. It is still a valid entity coverage.
 */
int tst_entity_coverage_union_inplace(tst_entity_coverage *dst, const tst_entity_coverage *src)
{
    if (dst == src)
        return 0;
    for (size_t i = 0; i < src->count; i++) {
        tst_entity_identity id = entry_identity(&src->entries[i]);
        tst_coverage *cov = NULL;
        int rc = tst_entity_coverage_get_or_add(dst, &id, &cov);
        if (rc == 0)
            rc = tst_coverage_union_inplace(cov, src->entries[i].cov);
        if (rc != 0)
            return rc;
    }
    return 0;
}

int tst_entity_coverage_union_all(tst_coverage **out, const tst_entity_coverage *ec)
{
    const tst_coverage **covs = ec->count ? malloc(ec->count * sizeof *covs) : NULL;
    if (ec->count && !covs)
        return tst_fail(TST_ENOMEM, "entity coverage union: out of memory");
    for (size_t i = 0; i < ec->count; i++)
        covs[i] = ec->entries[i].cov;
    int rc = tst_coverage_union_many(out, covs, ec->count);
    free(covs);
    return rc;
}

uint64_t tst_entity_coverage_cardinality(const tst_entity_coverage *ec)
{
    uint64_t total = 0;
    for (size_t i = 0; i < ec->count; i++)
        total = add_saturating(total, tst_coverage_cardinality(ec->entries[i].cov));
    return total;
}

/*
 * The smallest bucket of b inside [first, last], found by bisecting on
 * count_range: 64 steps at most, each proportional to b's containers.
 */
static bool first_bucket_in(const tst_coverage *b, uint64_t first, uint64_t last, uint64_t *out)
{
    if (tst_coverage_count_range(b, first, last) == 0)
        return false;
    uint64_t lo = first, hi = last;
    while (lo < hi) {
        uint64_t mid = lo + (hi - lo) / 2;
        if (tst_coverage_count_range(b, first, mid) > 0)
            hi = mid;
        else
            lo = mid + 1;
    }
    *out = lo;
    return true;
}

/* Walks a's covered runs (the gaps between its missing runs) against b. */
typedef struct min_walk {
    const tst_coverage *b;
    uint64_t next; /* first bucket of the covered run in progress */
    uint64_t found;
} min_walk;

static int min_walk_gap(void *ctx, uint64_t first, uint64_t last)
{
    min_walk *w = ctx;
    if (first > w->next && first_bucket_in(w->b, w->next, first - 1, &w->found))
        return 1;
    w->next = last + 1; /* last < max(a), so this cannot wrap */
    return 0;
}

/*
 * min(a & b) without allocating: the fallback when building the
 * intersection runs out of memory, so the overlap example stays exact.
 */
static bool min_common_bucket_no_alloc(const tst_coverage *a, const tst_coverage *b,
                                       uint64_t *out)
{
    uint64_t lo, hi;
    if (!tst_coverage_min(a, &lo) || !tst_coverage_max(a, &hi))
        return false;
    min_walk w = {b, lo, 0};
    if (tst_coverage_each_missing_run(a, lo, hi, 0, min_walk_gap, &w) != 0) {
        *out = w.found;
        return true;
    }
    return first_bucket_in(b, w.next, hi, out);
}

static bool min_common_bucket(const tst_coverage *a, const tst_coverage *b, uint64_t *out)
{
    tst_coverage *both = NULL;
    if (tst_coverage_intersect(&both, a, b) != 0)
        return min_common_bucket_no_alloc(a, b, out);
    bool found = tst_coverage_min(both, out);
    tst_coverage_free(both);
    return found;
}

/* Both arrays are sorted, so one merge pass pairs equal identities. */
bool tst_entity_coverage_overlap(const tst_entity_coverage *a, const tst_entity_coverage *b,
                                 uint64_t *out_count, tst_entity_identity *out_id,
                                 uint64_t *out_bucket)
{
    uint64_t count = 0, bucket = 0;
    const ecov_entry *first = NULL;
    size_t i = 0, j = 0;
    while (i < a->count && j < b->count) {
        tst_entity_identity ia = entry_identity(&a->entries[i]);
        tst_entity_identity ib = entry_identity(&b->entries[j]);
        int c = tst_entity_identity_compare(&ia, &ib);
        if (c == 0) {
            uint64_t n =
                tst_coverage_intersection_cardinality(a->entries[i].cov, b->entries[j].cov);
            if (n > 0 && first == NULL &&
                min_common_bucket(a->entries[i].cov, b->entries[j].cov, &bucket))
                first = &a->entries[i];
            count = add_saturating(count, n);
        }
        i += c <= 0;
        j += c >= 0;
    }
    if (count == 0)
        return false;
    if (out_count)
        *out_count = count;
    if (out_id && first)
        *out_id = entry_identity(first);
    if (out_bucket)
        *out_bucket = bucket;
    return true;
}

/* ------------------------------------------------------------------------ */
/* Codec: writing                                                            */

static uint8_t *put_be(uint8_t *p, uint64_t v, int bytes)
{
    for (int k = bytes - 1; k >= 0; k--)
        *p++ = (uint8_t)(v >> (8 * k));
    return p;
}

static size_t value_encoded_size(const tst_entity_value *v)
{
    switch (v->type) {
    case TST_ENTITY_UTF8:
        return 1 + 8 + v->v.utf8.len;
    case TST_ENTITY_INT32:
        return 1 + 4;
    default:
        return 1 + 8;
    }
}

/* Adds n to *total, failing on overflow (only reachable on 32-bit hosts). */
static bool size_add(size_t *total, size_t n)
{
    if (n > SIZE_MAX - *total)
        return false;
    *total += n;
    return true;
}

static int encoded_size(const tst_entity_coverage *ec, size_t *out)
{
    if (ec->count > UINT32_MAX)
        return tst_fail(TST_EINVAL, "entity coverage has %zu identities; TSTECOV2 holds at most "
                                    "4294967295", ec->count);
    size_t total = ECOV_MAGIC_LEN + 4;
    for (size_t i = 0; i < ec->count; i++) {
        const ecov_entry *e = &ec->entries[i];
        bool ok = e->count <= UINT32_MAX && size_add(&total, 4 + 8);
        for (size_t k = 0; ok && k < e->count; k++)
            ok = size_add(&total, value_encoded_size(&e->values[k]));
        if (!ok || !size_add(&total, tst_coverage_serialized_size(e->cov)))
            return tst_fail(TST_EINVAL, "entity coverage is too large to serialize");
    }
    *out = total;
    return 0;
}

static uint8_t *put_value(uint8_t *p, const tst_entity_value *v)
{
    *p++ = (uint8_t)v->type;
    switch (v->type) {
    case TST_ENTITY_UTF8:
        p = put_be(p, v->v.utf8.len, 8);
        if (v->v.utf8.len)
            memcpy(p, v->v.utf8.ptr, v->v.utf8.len);
        return p + v->v.utf8.len;
    case TST_ENTITY_INT32:
        return put_be(p, (uint32_t)v->v.i32, 4);
    case TST_ENTITY_INT64:
        return put_be(p, (uint64_t)v->v.i64, 8);
    case TST_ENTITY_UINT64:
        return put_be(p, v->v.u64, 8);
    }
    return p;
}

static uint8_t *put_entry(uint8_t *p, const ecov_entry *e)
{
    p = put_be(p, e->count, 4);
    for (size_t k = 0; k < e->count; k++)
        p = put_value(p, &e->values[k]);
    /* serialize writes the canonical form; its size is the nested_len. */
    uint8_t *len_at = p;
    size_t nested = tst_coverage_serialize(e->cov, p + 8);
    put_be(len_at, nested, 8);
    return p + 8 + nested;
}

int tst_entity_coverage_serialize(const tst_entity_coverage *ec, uint8_t **out_bytes,
                                  size_t *out_len)
{
    size_t total = 0;
    int rc = encoded_size(ec, &total);
    if (rc != 0)
        return rc;
    uint8_t *buf = malloc(total);
    if (buf == NULL)
        return tst_fail(TST_ENOMEM, "out of memory serializing entity coverage (%zu bytes)",
                        total);
    memcpy(buf, ECOV_MAGIC, ECOV_MAGIC_LEN);
    uint8_t *p = put_be(buf + ECOV_MAGIC_LEN, ec->count, 4);
    for (size_t i = 0; i < ec->count; i++)
        p = put_entry(p, &ec->entries[i]);
    *out_bytes = buf;
    *out_len = (size_t)(p - buf);
    return 0;
}

static int compare_entries(const ecov_entry *a, const ecov_entry *b)
{
    tst_entity_identity ia = {a->count, a->values}, ib = {b->count, b->values};
    return tst_entity_identity_compare(&ia, &ib);
}

/* One identity and the bytes of its bucket set (the union of one or two). */
static int put_union_entry(tst_byte_buf *out, const ecov_entry *e, const tst_coverage *a,
                           const tst_coverage *b)
{
    size_t head = 4 + 8;
    for (size_t k = 0; k < e->count; k++)
        head += value_encoded_size(&e->values[k]);
    int rc = e->count > UINT32_MAX
                 ? tst_fail(TST_EINVAL, "entity coverage is too large to serialize")
                 : tst_byte_buf_reserve(out, head);
    if (rc != 0)
        return rc;
    uint8_t *p = put_be(out->bytes + out->len, e->count, 4);
    for (size_t k = 0; k < e->count; k++)
        p = put_value(p, &e->values[k]);
    size_t len_at = (size_t)(p - out->bytes);
    out->len = len_at + 8;
    if (b) {
        rc = tst_coverage_serialize_union(a, b, out);
    } else {
        size_t n = tst_coverage_serialized_size(a);
        rc = tst_byte_buf_reserve(out, n);
        if (rc == 0)
            out->len += tst_coverage_serialize(a, out->bytes + out->len);
    }
    if (rc == 0)
        put_be(out->bytes + len_at, out->len - len_at - 8, 8);
    return rc;
}

int tst_entity_coverage_serialize_union(const tst_entity_coverage *a,
                                        const tst_entity_coverage *b, uint8_t **out_bytes,
                                        size_t *out_len)
{
    size_t count = 0;
    for (size_t i = 0, j = 0; i < a->count || j < b->count; count++) {
        int c = i >= a->count ? 1 : j >= b->count ? -1 : compare_entries(&a->entries[i], &b->entries[j]);
        i += c <= 0;
        j += c >= 0;
    }
    if (count > UINT32_MAX)
        return tst_fail(TST_EINVAL, "entity coverage has %zu identities; TSTECOV2 holds at most "
                                    "4294967295", count);
    tst_byte_buf out = {0};
    int rc = tst_byte_buf_reserve(&out, ECOV_MAGIC_LEN + 4);
    if (rc == 0) {
        memcpy(out.bytes, ECOV_MAGIC, ECOV_MAGIC_LEN);
        put_be(out.bytes + ECOV_MAGIC_LEN, count, 4);
        out.len = ECOV_MAGIC_LEN + 4;
    }
    for (size_t i = 0, j = 0; rc == 0 && (i < a->count || j < b->count);) {
        int c = i >= a->count ? 1 : j >= b->count ? -1 : compare_entries(&a->entries[i], &b->entries[j]);
        if (c < 0)
            rc = put_union_entry(&out, &a->entries[i], a->entries[i].cov, NULL);
        else if (c > 0)
            rc = put_union_entry(&out, &b->entries[j], b->entries[j].cov, NULL);
        else
            rc = put_union_entry(&out, &a->entries[i], a->entries[i].cov, b->entries[j].cov);
        i += c <= 0;
        j += c >= 0;
    }
    if (rc != 0) {
        free(out.bytes);
        return rc;
    }
    *out_bytes = out.bytes;
    *out_len = out.len;
    return 0;
}

/* ------------------------------------------------------------------------ */
/* Codec: reading untrusted bytes                                            */

typedef struct reader {
    const uint8_t *bytes;
    size_t len;
    size_t off;
    uint32_t entity; /* index of the entity being read, for messages */
} reader;

static size_t reader_left(const reader *r)
{
    return r->len - r->off;
}

static int read_be(reader *r, int bytes, uint64_t *out, const char *field)
{
    if (reader_left(r) < (size_t)bytes)
        return tst_fail(TST_ECORRUPT,
                        "entity coverage: truncated at byte %zu reading %s of entity %u "
                        "(%d bytes needed, %zu left)",
                        r->off, field, r->entity, bytes, reader_left(r));
    uint64_t v = 0;
    for (int k = 0; k < bytes; k++)
        v = (v << 8) | r->bytes[r->off + (size_t)k];
    r->off += (size_t)bytes;
    *out = v;
    return 0;
}

/* Two's complement without relying on implementation-defined conversions. */
static int64_t as_signed(uint64_t u, int bits)
{
    uint64_t sign = (uint64_t)1 << (bits - 1);
    if ((u & sign) == 0)
        return (int64_t)u;
    uint64_t magnitude_minus_one = (~u) & (sign - 1 + sign); /* |v| - 1 */
    return -(int64_t)magnitude_minus_one - 1;
}

static int read_utf8(reader *r, tst_entity_value *v)
{
    uint64_t len = 0;
    int rc = read_be(r, 8, &len, "a string length");
    if (rc != 0)
        return rc;
    if (len > reader_left(r))
        return tst_fail(TST_ECORRUPT,
                        "entity coverage: invalid length: string of entity %u declares %llu "
                        "bytes at byte %zu, only %zu left",
                        r->entity, (unsigned long long)len, r->off - 8, reader_left(r));
    const uint8_t *s = r->bytes + r->off;
    size_t bad = utf8_invalid_at(s, (size_t)len);
    if (bad != len)
        return tst_fail(TST_ECORRUPT,
                        "entity coverage: invalid UTF-8 in a string of entity %u at byte %zu",
                        r->entity, r->off + bad);
    v->v.utf8.ptr = (const char *)s;
    v->v.utf8.len = (size_t)len;
    r->off += (size_t)len;
    return 0;
}

/* Reads one component; utf8 values borrow from the input bytes. */
static int read_value(reader *r, tst_entity_value *v)
{
    uint64_t tag = 0, raw = 0;
    size_t tag_at = r->off;
    int rc = read_be(r, 1, &tag, "a value tag");
    if (rc != 0)
        return rc;
    v->type = (tst_entity_type)tag;
    switch (tag) {
    case TST_ENTITY_UTF8:
        return read_utf8(r, v);
    case TST_ENTITY_INT32:
        rc = read_be(r, 4, &raw, "an int32 value");
        v->v.i32 = (int32_t)as_signed(raw, 32);
        return rc;
    case TST_ENTITY_INT64:
        rc = read_be(r, 8, &raw, "an int64 value");
        v->v.i64 = as_signed(raw, 64);
        return rc;
    case TST_ENTITY_UINT64:
        return read_be(r, 8, &v->v.u64, "a uint64 value");
    }
    return tst_fail(TST_ECORRUPT, "entity coverage: unknown value tag %u at byte %zu (entity %u)",
                    (unsigned)tag, tag_at, r->entity);
}

/* Reads component_count and bounds it by the bytes left before allocating. */
static int read_component_count(reader *r, size_t *out)
{
    uint64_t n = 0;
    int rc = read_be(r, 4, &n, "component_count");
    if (rc != 0)
        return rc;
    if (n == 0)
        return tst_fail(TST_ECORRUPT,
                        "entity coverage: invalid identity: entity %u has 0 components",
                        r->entity);
    /* Each component takes at least 5 bytes, and nested_len 8 more. */
    size_t left = reader_left(r);
    size_t fits = left < 8 ? 0 : (left - 8) / ECOV_MIN_COMPONENT_BYTES;
    if (n > fits)
        return tst_fail(TST_ECORRUPT,
                        "entity coverage: invalid length: component_count %llu of entity %u "
                        "does not fit in the %zu bytes left",
                        (unsigned long long)n, r->entity, left);
    *out = (size_t)n;
    return 0;
}

/*
 * The reference writes identities in canonical order without duplicates.
 * We reject out-of-order input rather than sorting it: no conforming writer
 * produces it, so it signals corruption; one comparison with the previous
 * identity checks order and duplicates in a single pass; and every accepted
 * payload then re-encodes to the same identity sequence it was read from.
 */
static int check_order(const reader *r, const ecov_entry *prev, const tst_entity_identity *id)
{
    if (prev == NULL)
        return 0;
    tst_entity_identity before = entry_identity(prev);
    int c = tst_entity_identity_compare(&before, id);
    if (c < 0)
        return 0;
    char shown[ECOV_MESSAGE_IDENTITY_CAP];
    if (c == 0)
        return tst_fail(TST_ECORRUPT, "entity coverage: duplicate identity \"%s\" (entity %u)",
                        identity_for_message(id, shown), r->entity);
    return tst_fail(TST_ECORRUPT,
                    "entity coverage: identity \"%s\" (entity %u) is not in canonical order",
                    identity_for_message(id, shown), r->entity);
}

static int read_nested(reader *r, const tst_entity_identity *id, tst_coverage **out)
{
    uint64_t len = 0;
    int rc = read_be(r, 8, &len, "nested_len");
    if (rc != 0)
        return rc;
    if (len > reader_left(r))
        return tst_fail(TST_ECORRUPT,
                        "entity coverage: invalid length: nested coverage of entity %u declares "
                        "%llu bytes at byte %zu, only %zu left",
                        r->entity, (unsigned long long)len, r->off - 8, reader_left(r));
    rc = tst_coverage_deserialize(out, r->bytes + r->off, (size_t)len);
    if (rc == TST_ECORRUPT) {
        char shown[ECOV_MESSAGE_IDENTITY_CAP];
        /* tst_fail_context adds ": " and the nested decoder's reason. */
        return tst_fail_context(rc, "entity coverage: identity \"%s\" (entity %u, byte %zu)",
                                identity_for_message(id, shown), r->entity, r->off);
    }
    r->off += (size_t)len;
    return rc;
}

/* Reads one entity and appends it; the caller has reserved room. */
static int read_entity(reader *r, tst_entity_coverage *ec)
{
    size_t n = 0;
    int rc = read_component_count(r, &n);
    if (rc != 0)
        return rc;
    tst_entity_value *values = calloc(n, sizeof *values); /* n <= len / 5 */
    if (values == NULL)
        return tst_fail(TST_ENOMEM, "out of memory decoding entity %u", r->entity);
    for (size_t k = 0; rc == 0 && k < n; k++)
        rc = read_value(r, &values[k]);
    tst_entity_identity id = {n, values};
    ecov_entry e = {NULL, n, NULL};
    if (rc == 0)
        rc = check_order(r, ec->count ? &ec->entries[ec->count - 1] : NULL, &id);
    if (rc == 0)
        rc = identity_copy(&e.values, &id);
    if (rc == 0)
        rc = read_nested(r, &id, &e.cov);
    free(values);
    if (rc != 0) {
        entry_release(&e);
        return rc;
    }
    ec->entries[ec->count++] = e;
    return 0;
}

static int read_header(reader *r, uint32_t *entity_count)
{
    if (r->len < ECOV_MAGIC_LEN)
        return tst_fail(TST_ECORRUPT, "entity coverage: truncated: %zu bytes, the magic alone "
                                      "needs 8",
                        r->len);
    if (memcmp(r->bytes, ECOV_MAGIC, ECOV_MAGIC_LEN) != 0)
        return tst_fail(TST_ECORRUPT, "entity coverage: invalid magic (expected \"TSTECOV2\")");
    r->off = ECOV_MAGIC_LEN;
    uint64_t n = 0;
    int rc = read_be(r, 4, &n, "entity_count");
    if (rc != 0)
        return rc;
    if (n > reader_left(r) / ECOV_MIN_ENTITY_BYTES)
        return tst_fail(TST_ECORRUPT,
                        "entity coverage: invalid length: entity_count %llu does not fit in the "
                        "%zu bytes left",
                        (unsigned long long)n, reader_left(r));
    *entity_count = (uint32_t)n;
    return 0;
}

/*
 * The selective read: the same walk and the same checks of every identity
 * (its components, canonical order, its nested length within the bytes),
 * but only `want`'s nested bitmap is decoded; the others are stepped over
 * by their length. `prev` carries the previous identity for the order
 * check, so the walk holds one identity at a time.
 */
typedef struct one_walk {
    const tst_entity_identity *want;
    tst_entity_value *prev;
    size_t prev_count;
    ecov_entry found;
    bool have;
} one_walk;

static int step_over_nested(reader *r)
{
    uint64_t len = 0;
    int rc = read_be(r, 8, &len, "nested_len");
    if (rc != 0)
        return rc;
    if (len > reader_left(r))
        return tst_fail(TST_ECORRUPT,
                        "entity coverage: invalid length: nested coverage of entity %u declares "
                        "%llu bytes at byte %zu, only %zu left",
                        r->entity, (unsigned long long)len, r->off - 8, reader_left(r));
    r->off += (size_t)len;
    return 0;
}

/* The next identity, checked to follow prev (prev_count values) in
 * canonical order; *values is malloc'd (also on an error after it). */
static int read_next_identity(reader *r, tst_entity_value *prev, size_t prev_count,
                              tst_entity_value **values, size_t *n)
{
    *values = NULL;
    int rc = read_component_count(r, n);
    if (rc != 0)
        return rc;
    if ((*values = calloc(*n, sizeof **values)) == NULL)
        return tst_fail(TST_ENOMEM, "out of memory decoding entity %u", r->entity);
    for (size_t k = 0; rc == 0 && k < *n; k++)
        rc = read_value(r, &(*values)[k]);
    tst_entity_identity id = {*n, *values};
    ecov_entry before = {prev, prev_count, NULL};
    return rc == 0 ? check_order(r, prev ? &before : NULL, &id) : rc;
}

static int read_entity_one(reader *r, one_walk *w)
{
    size_t n = 0;
    tst_entity_value *values = NULL;
    int rc = read_next_identity(r, w->prev, w->prev_count, &values, &n);
    if (values == NULL)
        return rc;
    tst_entity_identity id = {n, values};
    bool match = rc == 0 && !w->have && tst_entity_identity_compare(&id, w->want) == 0;
    if (rc == 0 && match) {
        w->found.count = n;
        rc = identity_copy(&w->found.values, &id);
        if (rc == 0)
            rc = read_nested(r, &id, &w->found.cov);
        w->have = rc == 0;
    } else if (rc == 0) {
        rc = step_over_nested(r);
    }
    free(w->prev);
    w->prev = values;
    w->prev_count = n;
    return rc;
}

int tst_entity_coverage_deserialize_one(tst_entity_coverage **out, const uint8_t *bytes,
                                        size_t len, const tst_entity_identity *want)
{
    reader r = {bytes, bytes ? len : 0, 0, 0};
    uint32_t count = 0;
    one_walk w = {.want = want};
    tst_entity_coverage *ec = NULL;
    int rc = read_header(&r, &count);
    for (r.entity = 0; rc == 0 && r.entity < count; r.entity++)
        rc = read_entity_one(&r, &w);
    if (rc == 0 && reader_left(&r) > 0)
        rc = tst_fail(TST_ECORRUPT,
                      "entity coverage: trailing bytes after the last entity (%zu from byte %zu)",
                      reader_left(&r), r.off);
    if (rc == 0)
        rc = tst_entity_coverage_new(&ec);
    if (rc == 0 && w.have && (rc = ensure_capacity(ec, 1)) == 0) {
        ec->entries[ec->count++] = w.found;
        w.found = (ecov_entry){NULL, 0, NULL};
    }
    entry_release(&w.found);
    free(w.prev);
    if (rc != 0) {
        tst_entity_coverage_free(ec);
        return rc;
    }
    *out = ec;
    return 0;
}

/* One identity of the walk below: read and checked as read_entity_one
 * does, then handed with its nested bytes to fn. */
typedef struct each_walk {
    tst_entity_bytes_fn fn;
    void *ctx;
    uint32_t count;
    tst_entity_value *prev;
    size_t prev_count;
} each_walk;

static int each_entity(reader *r, each_walk *w)
{
    size_t n = 0;
    tst_entity_value *values = NULL;
    int rc = read_next_identity(r, w->prev, w->prev_count, &values, &n);
    if (values == NULL)
        return rc;
    tst_entity_identity id = {n, values};
    size_t at = r->off + 8;
    if (rc == 0)
        rc = step_over_nested(r);
    if (rc == 0)
        rc = w->fn(w->ctx, r->entity, w->count, &id, r->bytes + at, r->off - at);
    free(w->prev);
    w->prev = values;
    w->prev_count = n;
    return rc;
}

int tst_entity_coverage_each_serialized(const uint8_t *bytes, size_t len, tst_entity_bytes_fn fn,
                                        void *ctx)
{
    reader r = {bytes, bytes ? len : 0, 0, 0};
    each_walk w = {.fn = fn, .ctx = ctx};
    int rc = read_header(&r, &w.count);
    for (r.entity = 0; rc == 0 && r.entity < w.count; r.entity++)
        rc = each_entity(&r, &w);
    if (rc == 0 && reader_left(&r) > 0)
        rc = tst_fail(TST_ECORRUPT,
                      "entity coverage: trailing bytes after the last entity (%zu from byte %zu)",
                      reader_left(&r), r.off);
    free(w.prev);
    return rc;
}

int tst_entity_coverage_deserialize(tst_entity_coverage **out, const uint8_t *bytes, size_t len)
{
    reader r = {bytes, bytes ? len : 0, 0, 0};
    uint32_t count = 0;
    tst_entity_coverage *ec = NULL;
    int rc = read_header(&r, &count);
    if (rc == 0)
        rc = tst_entity_coverage_new(&ec);
    if (rc == 0)
        rc = ensure_capacity(ec, count); /* bounded by len / 17 above */
    for (r.entity = 0; rc == 0 && r.entity < count; r.entity++)
        rc = read_entity(&r, ec);
    if (rc == 0 && reader_left(&r) > 0)
        rc = tst_fail(TST_ECORRUPT,
                      "entity coverage: trailing bytes after the last entity (%zu from byte %zu)",
                      reader_left(&r), r.off);
    if (rc != 0) {
        tst_entity_coverage_free(ec);
        return rc;
    }
    *out = ec;
    return 0;
}
