/*
 * sidecar.c — coverage sidecars: the tst_table_cov type, its codecs, its
 * files and names, and loading a table's coverage with read-only recovery
 * (see sidecar.h).
 *
 * The workload: an append reads the table's coverage once, checks the new
 * segment against it and writes two sidecars; a query reads it once per
 * table version and then asks many questions. So the loaded coverage is
 * cached in the handle, keyed by version, and everything else here is a
 * straight line of read / decode / validate or encode / name / write.
 *
 * Recovery follows format §4.3 and never writes: a reader that finds the
 * snapshot missing or corrupt rebuilds the same union from the segment
 * sidecars, warns once per handle and version, and leaves repairing to the
 * next append, which writes a fresh snapshot anyway.
 */
#include "sidecar.h"

#include "content_id.h"
#include "coverage_internal.h"
#include "diagnostics.h"
#include "fail.h"
#include "fsio.h"
#include "model.h"
#include "table_internal.h"

#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- in memory ---------------------------------------------------------- */

int tst_table_cov_new(tst_table_cov *out, const tst_index_spec *spec)
{
    memset(out, 0, sizeof *out);
    if (spec->entity_count > 0)
        return tst_entity_coverage_new(&out->entities);
    return tst_coverage_new(&out->global);
}

int tst_table_cov_clone(tst_table_cov *out, const tst_table_cov *src)
{
    memset(out, 0, sizeof *out);
    if (src->entities)
        return tst_entity_coverage_clone(&out->entities, src->entities);
    if (src->global)
        return tst_coverage_clone(&out->global, src->global);
    return 0;
}

int tst_table_cov_union_inplace(tst_table_cov *dst, const tst_table_cov *src)
{
    if (dst->entities && src->entities)
        return tst_entity_coverage_union_inplace(dst->entities, src->entities);
    if (dst->global && src->global)
        return tst_coverage_union_inplace(dst->global, src->global);
    return tst_fail(TST_EINVAL, "cannot unite entity coverage with global coverage");
}

/* Entity coverage has no equality of its own; its codec is canonical, so
 * equal maps have equal bytes. */
static bool entities_equal(const tst_entity_coverage *a, const tst_entity_coverage *b)
{
    uint8_t *ab = NULL, *bb = NULL;
    size_t al = 0, bl = 0;
    bool same = tst_entity_coverage_serialize(a, &ab, &al) == 0 &&
                tst_entity_coverage_serialize(b, &bb, &bl) == 0 && al == bl &&
                memcmp(ab, bb, al) == 0;
    free(ab);
    free(bb);
    return same;
}

bool tst_table_cov_equals(const tst_table_cov *a, const tst_table_cov *b)
{
    if (a->entities && b->entities)
        return entities_equal(a->entities, b->entities);
    if (a->global && b->global)
        return tst_coverage_equals(a->global, b->global);
    return !a->entities && !b->entities && !a->global && !b->global;
}

void tst_table_cov_clear(tst_table_cov *cov)
{
    if (!cov)
        return;
    tst_coverage_free(cov->global);
    tst_entity_coverage_free(cov->entities);
    memset(cov, 0, sizeof *cov);
}

/* ---- codec -------------------------------------------------------------- */

static int encode_global(const tst_coverage *cov, uint8_t **out_bytes, size_t *out_len)
{
    size_t len = tst_coverage_serialized_size(cov);
    uint8_t *bytes = malloc(len ? len : 1);
    if (!bytes)
        return tst_fail(TST_ENOMEM, "out of memory serializing coverage (%zu bytes)", len);
    tst_coverage_serialize(cov, bytes);
    *out_bytes = bytes;
    *out_len = len;
    return 0;
}

int tst_sidecar_encode(const tst_table_cov *cov, uint8_t **out_bytes, size_t *out_len)
{
    if (cov->entities)
        return tst_entity_coverage_serialize(cov->entities, out_bytes, out_len);
    if (cov->global)
        return encode_global(cov->global, out_bytes, out_len);
    return tst_fail(TST_EINVAL, "cannot serialize an unset coverage");
}

int tst_sidecar_encode_union(const tst_table_cov *base, const tst_table_cov *add,
                             uint8_t **out_bytes, size_t *out_len)
{
    if (base->entities && add->entities)
        return tst_entity_coverage_serialize_union(base->entities, add->entities, out_bytes,
                                                   out_len);
    if (!base->global || !add->global)
        return tst_fail(TST_EINVAL, "cannot unite entity coverage with global coverage");
    tst_byte_buf out = {0};
    int rc = tst_coverage_serialize_union(base->global, add->global, &out);
    if (rc != 0) {
        free(out.bytes);
        return rc;
    }
    *out_bytes = out.bytes;
    *out_len = out.len;
    return 0;
}

/* Messages name identities by position, never by value: sidecar errors end
 * up in logs ("coverage.recover"), and entity values are user data. */
static int check_identity(const tst_entity_identity *id, size_t pos, const tst_index_spec *spec,
                          const tst_schema *schema, const char *origin)
{
    if (id->count != spec->entity_count)
        return tst_fail(TST_ECORRUPT,
                        "coverage sidecar %s: identity %zu has %zu components but "
                        "the table has %zu entity columns (EntityIdentitySchema)",
                        origin, pos, id->count, spec->entity_count);
    for (size_t i = 0; schema && i < id->count; i++) {
        const char *column = spec->entity_columns[i];
        const tst_field *field = tst_schema_find(schema, column);
        tst_entity_type want = field ? tst_entity_type_of(&field->type) : (tst_entity_type)0;
        if (id->values[i].type != want)
            return tst_fail(TST_ECORRUPT,
                            "coverage sidecar %s: identity %zu holds a %s value for "
                            "entity column \"%s\", whose type is %s (EntityIdentitySchema)",
                            origin, pos, tst_entity_type_name(id->values[i].type), column,
                            tst_entity_type_name(want));
    }
    return 0;
}

static int check_identities(const tst_entity_coverage *ec, const tst_index_spec *spec,
                            const tst_schema *schema, const char *origin)
{
    size_t n = tst_entity_coverage_count(ec);
    for (size_t i = 0; i < n; i++) {
        tst_entity_identity id;
        const tst_coverage *cov = NULL;
        int rc = tst_entity_coverage_at(ec, i, &id, &cov);
        if (rc == 0)
            rc = check_identity(&id, i, spec, schema, origin);
        if (rc != 0)
            return rc;
    }
    return 0;
}

static int decode_entities(tst_table_cov *out, const uint8_t *bytes, size_t len,
                           const tst_index_spec *spec, const tst_schema *schema, const char *origin)
{
    int rc = tst_entity_coverage_deserialize(&out->entities, bytes, len);
    if (rc != 0)
        return tst_fail_context(rc, "coverage sidecar %s", origin);
    rc = check_identities(out->entities, spec, schema, origin);
    if (rc != 0)
        tst_table_cov_clear(out);
    return rc;
}

int tst_sidecar_decode(tst_table_cov *out, const uint8_t *bytes, size_t len,
                       const tst_index_spec *spec, const tst_schema *schema, const char *origin)
{
    memset(out, 0, sizeof *out);
    if (spec->entity_count > 0)
        return decode_entities(out, bytes, len, spec, schema, origin);
    int rc = tst_coverage_deserialize(&out->global, bytes, len);
    return rc != 0 ? tst_fail_context(rc, "coverage sidecar %s", origin) : 0;
}

/* ---- files -------------------------------------------------------------- */

int tst_sidecar_read(const char *root, const char *rel_path, const tst_index_spec *spec,
                     const tst_schema *schema, tst_table_cov *out)
{
    memset(out, 0, sizeof *out);
    char *full = tst_io_join(root, rel_path);
    if (!full)
        return TST_ENOMEM;
    const uint8_t *bytes = NULL; /* mapped, not copied: decoding copies what it keeps */
    size_t len = 0;
    int rc = tst_io_map_file(full, TST_SIDECAR_MAX_BYTES, &bytes, &len);
    if (rc != 0)
        rc = tst_fail_context(rc, "cannot read coverage sidecar %s", rel_path);
    else
        rc = tst_sidecar_decode(out, bytes, len, spec, schema, rel_path);
    if (rc != 0)
        tst_fail_set_path(full);
    tst_io_unmap_file(bytes, len);
    free(full);
    return rc;
}

/* The folder part of a path holding at least one '/'; malloc'd. */
static char *parent_of(const char *path)
{
    const char *slash = strrchr(path, '/');
    char *dir = strndup(path, slash ? (size_t)(slash - path) : 0);
    if (!dir)
        tst_fail(TST_ENOMEM, "out of memory");
    return dir;
}

int tst_sidecar_write_bytes(const char *root, const char *rel_path, const uint8_t *bytes,
                            size_t len)
{
    if (tst_path_validate(rel_path, "coverage sidecar path") != 0)
        return tst_fail_context(TST_EINVAL, "cannot write coverage sidecar");
    char *full = tst_io_join(root, rel_path);
    char *dir = full ? parent_of(full) : NULL;
    int rc = dir ? tst_io_mkdirs(dir) : TST_ENOMEM;
    if (rc == 0)
        rc = tst_io_write_new(full, bytes, len);
    if (rc == 0) {
        rc = tst_io_fsync_dir(dir); /* the new name must survive a crash, too */
        if (rc != 0)
            tst_io_unlink(full); /* not durable: no caller will name it, so it must not stay */
    }
    free(dir);
    free(full);
    return rc;
}

int tst_sidecar_write(const char *root, const char *rel_path, const tst_table_cov *cov)
{
    uint8_t *bytes = NULL;
    size_t len = 0;
    int rc = tst_sidecar_encode(cov, &bytes, &len);
    if (rc == 0)
        rc = tst_sidecar_write_bytes(root, rel_path, bytes, len);
    free(bytes);
    return rc;
}

/* ---- names -------------------------------------------------------------- */

static int fit(int n, size_t cap, char *buf)
{
    if (n >= 0 && (size_t)n < cap)
        return 0;
    if (cap > 0)
        buf[0] = '\0';
    return tst_fail(TST_EINVAL, "coverage sidecar name does not fit in %zu bytes", cap);
}

/* The content id, after checking the UUID keeps the name a valid coverage id. */
static int content_id(char id[TST_CONTENT_ID_MAX], tst_sidecar_role role,
                      const tst_index_spec *spec, const uint8_t *bytes, size_t len,
                      const char *attempt_uuid)
{
    if (!attempt_uuid || tst_coverage_id_validate(attempt_uuid) != 0)
        return tst_fail(TST_EINVAL, "invalid attempt UUID for a coverage sidecar name: %s",
                        attempt_uuid ? attempt_uuid : "(null)");
    return tst_coverage_content_id(id, role, spec, bytes, len);
}

int tst_sidecar_segment_path(char *buf, size_t cap, const tst_index_spec *spec,
                             const uint8_t *bytes, size_t len, const char *attempt_uuid)
{
    char id[TST_CONTENT_ID_MAX];
    int rc = content_id(id, TST_SIDECAR_SEGMENT, spec, bytes, len, attempt_uuid);
    if (rc != 0)
        return rc;
    return fit(snprintf(buf, cap, "_coverage/segments/%s-%s.roar", id, attempt_uuid), cap, buf);
}

int tst_sidecar_snapshot_path(char *buf, size_t cap, const tst_index_spec *spec, uint64_t version,
                              const uint8_t *bytes, size_t len, const char *attempt_uuid)
{
    char id[TST_CONTENT_ID_MAX];
    int rc = content_id(id, TST_SIDECAR_TABLE, spec, bytes, len, attempt_uuid);
    if (rc != 0)
        return rc;
    return fit(
        snprintf(buf, cap, "_coverage/table/%" PRIu64 "-%s-%s.roar", version, id, attempt_uuid),
        cap, buf);
}

static int write_named(const char *root, const tst_index_spec *spec, const uint64_t *version,
                       const tst_table_cov *cov, const char *attempt_uuid, char *out_path,
                       size_t cap)
{
    uint8_t *bytes = NULL;
    size_t len = 0;
    int rc = tst_sidecar_encode(cov, &bytes, &len);
    if (rc == 0 && version)
        rc = tst_sidecar_snapshot_path(out_path, cap, spec, *version, bytes, len, attempt_uuid);
    else if (rc == 0)
        rc = tst_sidecar_segment_path(out_path, cap, spec, bytes, len, attempt_uuid);
    if (rc == 0)
        rc = tst_sidecar_write_bytes(root, out_path, bytes, len);
    free(bytes);
    return rc;
}

int tst_sidecar_write_segment(const char *root, const tst_index_spec *spec,
                              const tst_table_cov *cov, const char *attempt_uuid, char *out_path,
                              size_t cap)
{
    return write_named(root, spec, NULL, cov, attempt_uuid, out_path, cap);
}

int tst_sidecar_write_snapshot_bytes(const char *root, const tst_index_spec *spec,
                                     uint64_t version, const uint8_t *bytes, size_t len,
                                     const char *attempt_uuid, char *out_path, size_t cap)
{
    int rc = tst_sidecar_snapshot_path(out_path, cap, spec, version, bytes, len, attempt_uuid);
    return rc != 0 ? rc : tst_sidecar_write_bytes(root, out_path, bytes, len);
}

int tst_sidecar_write_snapshot(const char *root, const tst_index_spec *spec, uint64_t version,
                               const tst_table_cov *cov, const char *attempt_uuid, char *out_path,
                               size_t cap)
{
    return write_named(root, spec, &version, cov, attempt_uuid, out_path, cap);
}

/* ---- loading a table's coverage ----------------------------------------- */

/* Segment sidecars united into out (which holds an empty coverage). */
static int unite_segments(const tst_table *t, tst_table_cov *out)
{
    const tst_table_meta *meta = &t->state.meta;
    for (size_t i = 0; i < tst_table_segment_count(t); i++) {
        const tst_segment *seg = tst_table_segment_at(t, i);
        if (!seg->coverage_path)
            return tst_fail(TST_ECORRUPT,
                            "cannot load the coverage of table %s: existing "
                            "segment %s is missing coverage_path (every live segment needs "
                            "its coverage sidecar)",
                            t->root, seg->path);
        tst_table_cov one;
        int rc = tst_sidecar_read(t->root, seg->coverage_path, &meta->index, meta->schema, &one);
        if (rc == 0)
            rc = tst_table_cov_union_inplace(out, &one);
        tst_table_cov_clear(&one);
        if (rc != 0)
            return tst_fail_context(rc,
                                    "cannot recover table coverage of %s: segment %s, "
                                    "coverage sidecar %s",
                                    t->root, seg->path, seg->coverage_path);
    }
    return 0;
}

static int load_from_segments(const tst_table *t, tst_table_cov *out)
{
    int rc = tst_table_cov_new(out, &t->state.meta.index);
    if (rc == 0)
        rc = unite_segments(t, out);
    if (rc != 0)
        tst_table_cov_clear(out);
    return rc;
}

static int check_pointer_kind(const tst_table *t)
{
    if (tst_index_kind_equal(&t->state.coverage.index_kind, &t->state.meta.index.kind))
        return 0;
    return tst_fail(TST_ECORRUPT,
                    "table %s: the coverage snapshot of version %" PRIu64 " (%s) "
                    "was written for another index kind than the table's; not recovering",
                    t->root, t->state.coverage_version, t->state.coverage.coverage_path);
}

static int read_snapshot(const tst_table *t, tst_table_cov *out)
{
    const tst_table_meta *meta = &t->state.meta;
    return tst_sidecar_read(t->root, t->state.coverage.coverage_path, &meta->index, meta->schema,
                            out);
}

/* The warning of §4.3. Entity tables' decoder messages may quote identity
 * values (user data), so for them only the error code goes to the log. */
static void warn_recovery(const tst_table *t, int rc)
{
    bool entity = t->state.meta.index.entity_count > 0;
    tst_log_event(TST_LOG_WARN, "coverage.recover",
                  "table %s: coverage snapshot unreadable, rebuilt in memory from segment "
                  "sidecars: coverage_mode=%s snapshot_version=%" PRIu64 " coverage_path=%s "
                  "error=%s recovery_source=segment_sidecars%s%s",
                  t->root, entity ? "entity" : "global", t->state.coverage_version,
                  t->state.coverage.coverage_path, tst_error_name(rc),
                  entity ? "" : "; detail: ", entity ? "" : tst_error_last()->message);
}

static int load_with_recovery(const tst_table *t, tst_table_cov *out)
{
    if (!t->state.has_coverage)
        return load_from_segments(t, out);
    int rc = check_pointer_kind(t); /* a wrong pointer is not a lost file: no recovery */
    if (rc != 0)
        return rc;
    rc = read_snapshot(t, out);
    if (rc != TST_ENOTFOUND && rc != TST_ECORRUPT)
        return rc;
    warn_recovery(t, rc);
    return load_from_segments(t, out);
}

int tst_table_load_coverage_strict(tst_table *t, tst_table_cov *out)
{
    memset(out, 0, sizeof *out);
    if (t->stale)
        return tst_fail(TST_EINVAL, "table %s: the handle failed to refresh; refresh it first",
                        t->root);
    if (!t->state.has_coverage && t->state.segment_count == 0)
        return tst_table_cov_new(out, &t->state.meta.index);
    if (!t->state.has_coverage)
        return tst_fail(TST_ENOTFOUND,
                        "table %s has %zu segments but no table coverage "
                        "pointer (MissingTableCoveragePointer)",
                        t->root, t->state.segment_count);
    int rc = check_pointer_kind(t);
    return rc != 0 ? rc : read_snapshot(t, out);
}

/* ---- the cache ---------------------------------------------------------- */

struct tst_coverage_cache {
    pthread_mutex_t lock; /* guards the fields below while they are filled */
    bool loaded;
    uint64_t version; /* table version the coverage belongs to */
    tst_table_cov cov;
    tst_coverage *all; /* entity tables: union over identities, made on demand */
    /* tst_table_load_entity_coverage's one identity, read selectively at
     * one_version while the whole coverage is not loaded: one_asked holds
     * the identity asked (with an empty set), one what the snapshot holds
     * of it (that identity, or nothing). */
    bool one_loaded;
    uint64_t one_version;
    tst_entity_coverage *one_asked, *one;
    /* tst_table_load_coverage_union's answer at union_version, united from
     * the snapshot's bytes while the whole coverage is not loaded. */
    tst_coverage *union_bytes;
    uint64_t union_version;
};

/* Creating the cache is the only step that needs a process-wide lock. */
static pthread_mutex_t cache_create_lock = PTHREAD_MUTEX_INITIALIZER;

static struct tst_coverage_cache *cache_of(tst_table *t)
{
    pthread_mutex_lock(&cache_create_lock);
    if (!t->coverage_cache) {
        struct tst_coverage_cache *c = calloc(1, sizeof *c);
        if (c && pthread_mutex_init(&c->lock, NULL) != 0) {
            free(c);
            c = NULL;
        }
        t->coverage_cache = c;
    }
    struct tst_coverage_cache *cache = t->coverage_cache;
    pthread_mutex_unlock(&cache_create_lock);
    if (!cache)
        tst_fail(TST_ENOMEM, "out of memory caching the coverage of table %s", t->root);
    return cache;
}

static void one_clear(struct tst_coverage_cache *c)
{
    tst_entity_coverage_free(c->one_asked);
    tst_entity_coverage_free(c->one);
    c->one_asked = c->one = NULL;
    c->one_loaded = false;
}

static void cache_install(struct tst_coverage_cache *c, uint64_t version, tst_table_cov *cov)
{
    /* Another thread may still hold a set from `one` of this version: it
     * stays until the version changes, as everything handed out does. */
    if (c->one_loaded && c->one_version != version)
        one_clear(c);
    tst_table_cov_clear(&c->cov);
    tst_coverage_free(c->all);
    c->all = NULL;
    c->cov = *cov;
    memset(cov, 0, sizeof *cov);
    c->version = version;
    c->loaded = true;
}

/* Loads into the cache unless it already holds the handle's version. Called with c->lock. */
static int cache_fill(tst_table *t, struct tst_coverage_cache *c)
{
    if (c->loaded && c->version == t->state.version)
        return 0;
    tst_table_cov cov;
    int rc = load_with_recovery(t, &cov);
    if (rc == 0)
        cache_install(c, t->state.version, &cov);
    return tst_table_note_lost_file(t, rc);
}

static int cache_fill_all(struct tst_coverage_cache *c)
{
    if (c->cov.global || c->all)
        return 0;
    return tst_entity_coverage_union_all(&c->all, c->cov.entities);
}

static struct tst_coverage_cache *locked_cache(tst_table *t)
{
    if (t->stale) {
        tst_fail(TST_EINVAL, "table %s: the handle failed to refresh; refresh it first", t->root);
        return NULL;
    }
    struct tst_coverage_cache *c = cache_of(t);
    if (c)
        pthread_mutex_lock(&c->lock);
    return c;
}

int tst_table_load_coverage(tst_table *t, const tst_table_cov **out)
{
    struct tst_coverage_cache *c = locked_cache(t);
    if (!c)
        return tst_error_last()->code;
    int rc = cache_fill(t, c);
    if (rc == 0)
        *out = &c->cov;
    pthread_mutex_unlock(&c->lock);
    return rc;
}

/* Reads the snapshot of the handle's version for `id` alone into the cache.
 * TST_ENOTFOUND or TST_ECORRUPT: the caller loads in full (and recovers). */
static int one_fill(tst_table *t, struct tst_coverage_cache *c, const tst_entity_identity *id)
{
    const tst_table_meta *meta = &t->state.meta;
    const char *rel = t->state.coverage.coverage_path;
    char *full = tst_io_join(t->root, rel);
    const uint8_t *bytes = NULL; /* mapped: only the pages the walk touches are read */
    size_t len = 0;
    tst_entity_coverage *asked = NULL, *one = NULL;
    tst_coverage *slot = NULL;
    int rc = full ? tst_io_map_file(full, TST_SIDECAR_MAX_BYTES, &bytes, &len) : TST_ENOMEM;
    if (rc == 0)
        rc = tst_entity_coverage_deserialize_one(&one, bytes, len, id);
    if (rc == 0)
        rc = check_identities(one, &meta->index, meta->schema, rel);
    if (rc == 0 && (rc = tst_entity_coverage_new(&asked)) == 0)
        rc = tst_entity_coverage_get_or_add(asked, id, &slot);
    tst_io_unmap_file(bytes, len);
    free(full);
    if (rc != 0) {
        tst_entity_coverage_free(one);
        tst_entity_coverage_free(asked);
        return rc;
    }
    one_clear(c);
    c->one_asked = asked;
    c->one = one;
    c->one_version = t->state.version;
    c->one_loaded = true;
    return 0;
}

/* Whether the one-identity read applies: an entity table whose snapshot
 * is there to read, and no identity read yet at this version. */
static bool one_applies(const tst_table *t, const struct tst_coverage_cache *c)
{
    if (t->state.meta.index.entity_count == 0 || !t->state.has_coverage)
        return false;
    if (c->loaded && c->version == t->state.version)
        return false;
    if (!tst_index_kind_equal(&t->state.coverage.index_kind, &t->state.meta.index.kind))
        return false; /* cache_fill reports it */
    return !(c->one_loaded && c->one_version == t->state.version);
}

int tst_table_load_entity_coverage(tst_table *t, const tst_entity_identity *id,
                                   const tst_coverage **out)
{
    struct tst_coverage_cache *c = locked_cache(t);
    if (!c)
        return tst_error_last()->code;
    int rc = 0;
    bool one_here = c->one_loaded && c->one_version == t->state.version &&
                    !(c->loaded && c->version == t->state.version);
    if (one_here && tst_entity_coverage_get(c->one_asked, id)) {
        *out = tst_entity_coverage_get(c->one, id);
        goto done;
    }
    if (one_applies(t, c)) {
        rc = one_fill(t, c, id);
        if (rc == 0) {
            *out = tst_entity_coverage_get(c->one, id);
            goto done;
        }
        if (rc != TST_ENOTFOUND && rc != TST_ECORRUPT)
            goto done;
        tst_error_clear(); /* the full load below recovers, and warns */
    }
    rc = cache_fill(t, c);
    if (rc == 0)
        *out = c->cov.entities ? tst_entity_coverage_get(c->cov.entities, id) : NULL;
done:
    pthread_mutex_unlock(&c->lock);
    return rc;
}

typedef struct schema_walk {
    const tst_table *t;
    tst_entity_bytes_fn fn;
    void *ctx;
} schema_walk;

static int checked_identity(void *ctx, uint32_t index, uint32_t count,
                            const tst_entity_identity *id, const uint8_t *bytes, size_t len)
{
    schema_walk *w = ctx;
    const tst_table_meta *meta = &w->t->state.meta;
    int rc = check_identity(id, index, &meta->index, meta->schema,
                            w->t->state.coverage.coverage_path);
    return rc != 0 ? rc : w->fn(w->ctx, index, count, id, bytes, len);
}

int tst_table_each_snapshot_identity(tst_table *t, tst_entity_bytes_fn fn, void *ctx)
{
    struct tst_coverage_cache *c = locked_cache(t);
    if (!c)
        return tst_error_last()->code;
    bool applies = t->state.meta.index.entity_count > 0 && t->state.has_coverage &&
                   !(c->loaded && c->version == t->state.version) &&
                   tst_index_kind_equal(&t->state.coverage.index_kind, &t->state.meta.index.kind);
    pthread_mutex_unlock(&c->lock);
    if (!applies)
        return 1;
    const char *rel = t->state.coverage.coverage_path;
    char *full = tst_io_join(t->root, rel);
    const uint8_t *bytes = NULL;
    size_t len = 0;
    int rc = full ? tst_io_map_file(full, TST_SIDECAR_MAX_BYTES, &bytes, &len) : TST_ENOMEM;
    schema_walk w = {t, fn, ctx};
    if (rc == 0)
        rc = tst_entity_coverage_each_serialized(bytes, len, checked_identity, &w);
    if (rc == TST_ECORRUPT)
        tst_fail_context(rc, "coverage sidecar %s", rel);
    tst_io_unmap_file(bytes, len);
    free(full);
    return rc;
}

static int unite_identity(void *ctx, uint32_t index, uint32_t count,
                          const tst_entity_identity *id, const uint8_t *bytes, size_t len)
{
    (void)index, (void)count, (void)id;
    return tst_coverage_union_acc_add(ctx, bytes, len);
}

/*
 * The union over identities straight from the snapshot's bytes (mapped;
 * every identity and container checked as decoding checks them), for a
 * handle that has not loaded its coverage: no identity's set is built.
 * 1: does not apply, or the union is too wide to accumulate; TST_ECORRUPT
 * or TST_ENOTFOUND: the caller loads in full, which recovers and warns.
 */
static int union_from_bytes(tst_table *t, tst_coverage **out)
{
    tst_coverage_union_acc *acc = NULL;
    int rc = tst_coverage_union_acc_new(&acc);
    if (rc == 0)
        rc = tst_table_each_snapshot_identity(t, unite_identity, acc);
    if (rc == TST_COVERAGE_UNION_TOO_WIDE)
        rc = 1;
    if (rc == 0)
        rc = tst_coverage_union_acc_finish(acc, out);
    tst_coverage_union_acc_free(acc);
    return rc;
}

int tst_table_load_coverage_union(tst_table *t, const tst_coverage **out)
{
    struct tst_coverage_cache *c = locked_cache(t);
    if (!c)
        return tst_error_last()->code;
    uint64_t version = t->state.version;
    bool loaded = c->loaded && c->version == version;
    if (!loaded && c->union_bytes && c->union_version == version) {
        *out = c->union_bytes;
        pthread_mutex_unlock(&c->lock);
        return 0;
    }
    pthread_mutex_unlock(&c->lock);
    tst_coverage *united = NULL;
    int rc = loaded ? 1 : union_from_bytes(t, &united);
    if (rc == TST_ECORRUPT || rc == TST_ENOTFOUND)
        tst_error_clear(); /* the full load below recovers, and warns */
    else if (rc != 0 && rc != 1)
        return rc;
    pthread_mutex_lock(&c->lock);
    if (rc == 0) {
        /* Another thread may hold the previous answer: it stays until the
         * version changes, as everything handed out does. */
        if (c->union_bytes && c->union_version == version) {
            tst_coverage_free(united);
        } else {
            tst_coverage_free(c->union_bytes);
            c->union_bytes = united;
            c->union_version = version;
        }
        *out = c->union_bytes;
        pthread_mutex_unlock(&c->lock);
        return 0;
    }
    rc = cache_fill(t, c);
    if (rc == 0)
        rc = cache_fill_all(c);
    if (rc == 0)
        *out = c->cov.global ? c->cov.global : c->all;
    pthread_mutex_unlock(&c->lock);
    return rc;
}

int tst_table_adopt_coverage(tst_table *t, tst_table_cov *cov)
{
    bool entity = t->state.meta.index.entity_count > 0;
    if (entity ? !cov->entities || cov->global : !cov->global || cov->entities) {
        tst_table_cov_clear(cov);
        return tst_fail(TST_EINVAL, "table %s: adopted coverage has the wrong encoding", t->root);
    }
    struct tst_coverage_cache *c = locked_cache(t);
    if (!c) {
        tst_table_cov_clear(cov);
        return tst_error_last()->code;
    }
    cache_install(c, t->state.version, cov);
    pthread_mutex_unlock(&c->lock);
    return 0;
}

void tst_table_adopt_coverage_union(tst_table *t, uint64_t base_version,
                                    const tst_table_cov *base, const tst_table_cov *add)
{
    struct tst_coverage_cache *c = locked_cache(t);
    if (!c) {
        tst_error_clear();
        return;
    }
    if (c->loaded && c->version == base_version && &c->cov == base) {
        if (c->one_loaded && c->one_version != t->state.version)
            one_clear(c);
        tst_coverage_free(c->all);
        c->all = NULL;
        if (tst_table_cov_union_inplace(&c->cov, add) == 0) {
            c->version = t->state.version;
        } else { /* partly united: read the snapshot when asked */
            tst_error_clear();
            tst_table_cov_clear(&c->cov);
            c->loaded = false;
        }
    }
    pthread_mutex_unlock(&c->lock);
}

void tst_coverage_cache_free(struct tst_coverage_cache *c)
{
    if (!c)
        return;
    tst_table_cov_clear(&c->cov);
    tst_coverage_free(c->all);
    tst_coverage_free(c->union_bytes);
    one_clear(c);
    pthread_mutex_destroy(&c->lock);
    free(c);
}
