/*
 * content_id.c — content ids for coverage sidecar names (format-v6 §1.11).
 *
 * A sidecar's file name starts with "segcov-" or "tblcov-" and the first
 * 32 hex digits of a BLAKE3 hash of what the file means: a domain tag, the
 * index column, the index kind (and, for entity tables, the entity columns)
 * and the sidecar's bytes. Names are informational — readers follow the path
 * stored in the log — but we produce them exactly as the reference writer
 * does so that tables look the same whoever wrote them.
 *
 * There are two preimage layouts, chosen by whether the table has entity
 * columns, mirroring the two sidecar codecs:
 *
 *   global v2 (no entity columns):
 *     "segcov-v2"|"tblcov-v2" 00 column 00 kind 00 coverage_bytes
 *     kind = 'T' unit u32le(count) 00 ('S' timezone | 'N')
 *          | 'I' u64le(width) | 'U' u64le(width)
 *
 *   entity v1:
 *     "entity-segcov-v1"|"entity-tblcov-v1" 00 'C' lp(column)
 *     'E' usize(n) lp(entity column)... 'K' kind 00 coverage_bytes
 *     kind = 'T' unit u32le(count) ('S' lp(timezone) | 'N')
 *          | 'I' u64le(width) | 'U' u64le(width)
 *     usize(x) = decimal digits of x then ':'; lp(b) = usize(len(b)) b
 *
 * where unit is 'S', 'M', 'H' or 'D'. The entity layout length-prefixes every
 * string so that no two different inputs share a preimage; the older global
 * layout relies on 00 separators, which is why it is kept byte-for-byte
 * rather than tidied. The preimage is fed to an incremental hasher, so a
 * large sidecar is never copied.
 *
 * The entity layout is checked against the reference's own example table
 * (§1.1, nvda: both sidecar ids are reproduced exactly, see
 * test_content_id.c); the reference shows no global-table example, so the
 * global layout is checked against the text of §1.11 only.
 */
#include "content_id.h"

#include "fail.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#define ID_HEX_DIGITS 32 /* 16 of the 32 digest bytes */

/* ---- preimage pieces ------------------------------------------------------ */

static void feed(tst_blake3_hasher *h, const void *bytes, size_t len)
{
    tst_blake3_update(h, bytes, len);
}

static void feed_byte(tst_blake3_hasher *h, uint8_t byte)
{
    feed(h, &byte, 1);
}

static void feed_str(tst_blake3_hasher *h, const char *s)
{
    feed(h, s, strlen(s));
}

static void feed_u32le(tst_blake3_hasher *h, uint32_t x)
{
    uint8_t b[4];
    for (int i = 0; i < 4; i++)
        b[i] = (uint8_t)(x >> (8 * i));
    feed(h, b, sizeof b);
}

static void feed_u64le(tst_blake3_hasher *h, uint64_t x)
{
    uint8_t b[8];
    for (int i = 0; i < 8; i++)
        b[i] = (uint8_t)(x >> (8 * i));
    feed(h, b, sizeof b);
}

/* usize(x): the decimal digits of x and a ':' terminator. */
static void feed_usize(tst_blake3_hasher *h, uint64_t x)
{
    char digits[24];
    int n = snprintf(digits, sizeof digits, "%" PRIu64 ":", x);
    feed(h, digits, (size_t)n);
}

/* lp(s): s prefixed by its byte length as usize. */
static void feed_lp(tst_blake3_hasher *h, const char *s)
{
    size_t len = strlen(s);
    feed_usize(h, len);
    feed(h, s, len);
}

/* ---- the index kind --------------------------------------------------------- */

static int unit_letter(tst_time_unit unit, uint8_t *out)
{
    switch (unit) {
    case TST_TIME_SECONDS: *out = 'S'; return 0;
    case TST_TIME_MINUTES: *out = 'M'; return 0;
    case TST_TIME_HOURS: *out = 'H'; return 0;
    case TST_TIME_DAYS: *out = 'D'; return 0;
    }
    return tst_fail(TST_EINVAL, "coverage id: unknown time bucket unit %d", (int)unit);
}

/* Checks the kind up front, so the feeders below cannot fail half-way. */
static int check_kind(const tst_index_kind *kind)
{
    uint8_t letter = 0;
    switch (kind->type) {
    case TST_INDEX_TIMESTAMP: return unit_letter(kind->bucket.unit, &letter);
    case TST_INDEX_INT64:
    case TST_INDEX_UINT64: return 0;
    }
    return tst_fail(TST_EINVAL, "coverage id: unknown index type %d", (int)kind->type);
}

/* The integer kinds are spelled the same in both layouts. */
static void feed_integer_kind(tst_blake3_hasher *h, const tst_index_kind *kind)
{
    feed_byte(h, kind->type == TST_INDEX_INT64 ? 'I' : 'U');
    feed_u64le(h, kind->bucket_width);
}

static void feed_time_bucket(tst_blake3_hasher *h, const tst_index_kind *kind)
{
    uint8_t letter = 0;
    (void)unit_letter(kind->bucket.unit, &letter); /* checked by check_kind */
    feed_byte(h, 'T');
    feed_byte(h, letter);
    feed_u32le(h, kind->bucket.count);
}

static void feed_global_kind(tst_blake3_hasher *h, const tst_index_kind *kind)
{
    if (kind->type != TST_INDEX_TIMESTAMP) {
        feed_integer_kind(h, kind);
        return;
    }
    feed_time_bucket(h, kind);
    feed_byte(h, 0);
    if (kind->timezone[0] != '\0') {
        feed_byte(h, 'S');
        feed_str(h, kind->timezone);
    } else {
        feed_byte(h, 'N');
    }
}

static void feed_entity_kind(tst_blake3_hasher *h, const tst_index_kind *kind)
{
    if (kind->type != TST_INDEX_TIMESTAMP) {
        feed_integer_kind(h, kind);
        return;
    }
    feed_time_bucket(h, kind);
    if (kind->timezone[0] != '\0') {
        feed_byte(h, 'S');
        feed_lp(h, kind->timezone);
    } else {
        feed_byte(h, 'N');
    }
}

/* ---- the two layouts ---------------------------------------------------------- */

static void feed_global_v2(tst_blake3_hasher *h, tst_sidecar_role role, const tst_index_spec *spec)
{
    feed_str(h, role == TST_SIDECAR_SEGMENT ? "segcov-v2" : "tblcov-v2");
    feed_byte(h, 0);
    feed_str(h, spec->column);
    feed_byte(h, 0);
    feed_global_kind(h, &spec->kind);
    feed_byte(h, 0);
}

static void feed_entity_v1(tst_blake3_hasher *h, tst_sidecar_role role, const tst_index_spec *spec)
{
    feed_str(h, role == TST_SIDECAR_SEGMENT ? "entity-segcov-v1" : "entity-tblcov-v1");
    feed_byte(h, 0);
    feed_byte(h, 'C');
    feed_lp(h, spec->column);
    feed_byte(h, 'E');
    feed_usize(h, spec->entity_count);
    for (size_t i = 0; i < spec->entity_count; i++)
        feed_lp(h, spec->entity_columns[i]);
    feed_byte(h, 'K');
    feed_entity_kind(h, &spec->kind);
    feed_byte(h, 0);
}

static int check_arguments(tst_sidecar_role role, const tst_index_spec *spec, const uint8_t *bytes,
                           size_t len)
{
    if (role != TST_SIDECAR_SEGMENT && role != TST_SIDECAR_TABLE)
        return tst_fail(TST_EINVAL, "coverage id: unknown sidecar role %d", (int)role);
    if (!spec || !spec->column)
        return tst_fail(TST_EINVAL, "coverage id: no index spec or index column given");
    if (!bytes && len > 0)
        return tst_fail(TST_EINVAL, "coverage id: %zu sidecar bytes given as NULL", len);
    if (spec->entity_count > 0 && !spec->entity_columns)
        return tst_fail(TST_EINVAL, "coverage id: %zu entity columns given as NULL",
                        spec->entity_count);
    for (size_t i = 0; i < spec->entity_count; i++)
        if (!spec->entity_columns[i])
            return tst_fail(TST_EINVAL, "coverage id: entity column %zu is NULL", i);
    return check_kind(&spec->kind);
}

/* "segcov-"/"tblcov-" and the digest's first 16 bytes as lowercase hex. */
static void format_id(char out[TST_CONTENT_ID_MAX], tst_sidecar_role role, const uint8_t digest[32])
{
    static const char hex[] = "0123456789abcdef";
    const char *prefix = role == TST_SIDECAR_SEGMENT ? "segcov-" : "tblcov-";
    size_t n = strlen(prefix);
    memcpy(out, prefix, n);
    for (size_t i = 0; i < ID_HEX_DIGITS / 2; i++) {
        out[n++] = hex[digest[i] >> 4];
        out[n++] = hex[digest[i] & 0x0F];
    }
    out[n] = '\0';
}

int tst_coverage_content_id(char out[TST_CONTENT_ID_MAX], tst_sidecar_role role,
                            const tst_index_spec *spec, const uint8_t *bytes, size_t len)
{
    if (!out)
        return tst_fail(TST_EINVAL, "coverage id: no output buffer given");
    int rc = check_arguments(role, spec, bytes, len);
    if (rc < 0)
        return rc;

    tst_blake3_hasher h;
    tst_blake3_init(&h);
    if (spec->entity_count == 0)
        feed_global_v2(&h, role, spec);
    else
        feed_entity_v1(&h, role, spec);
    if (len > 0)
        feed(&h, bytes, len);
    uint8_t digest[32];
    tst_blake3_final(&h, digest);

    format_id(out, role, digest);
    return 0;
}
