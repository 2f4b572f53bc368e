/*
 * checkpoint.c — writing and reading state checkpoints (see checkpoint.h).
 *
 * A checkpoint must load much faster than the commits it replaces, so it is
 * binary, not JSON: a table with 100,000 segments has a 100,000-entry
 * checkpoint, and parsing that as JSON objects costs as much as replaying
 * the log. Layout (integers little-endian):
 *
 *   "TSTCKPT1"  u64 version
 *   u32 len + TableMeta JSON (the log's own shape; small)
 *   u8 has_coverage [u32 len + IndexKind JSON, str coverage_path, u64 version]
 *   u64 count + live segments     u64 count + removed segments
 *   u64 checksum of everything before it
 *
 *   segment: str path, u8 layout [u32 n + n values], value index_min,
 *            value index_max, u64 row_count, u8 has_size, u64 file_size,
 *            str coverage_path (length 0xFFFFFFFF = absent)
 *   str: u32 len + bytes; entity value: u8 type + (str | 8 bytes);
 *   index value: u8 type + i64/u64 + u32 nsec
 *
 * Loading checks the checksum, every length against the bytes left, and
 * every path's canonical form; segments are moved into the state, never
 * copied. Anything wrong makes the checkpoint unusable and open replays
 * the log instead.
 */
#include "checkpoint.h"

#include "fail.h"
#include "fsio.h"
#include "log.h"

#include <dirent.h>
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAGIC "TSTCKPT1"
#define CHECKPOINT_MAX_BYTES ((size_t)8 << 30)
#define ABSENT 0xFFFFFFFFu

/* ---- a growing byte buffer --------------------------------------------- */

typedef struct buf {
    uint8_t *p;
    size_t len, cap;
    int rc;
} buf;

static void put(buf *b, const void *bytes, size_t n)
{
    if (b->rc != 0)
        return;
    if (b->len + n > b->cap) {
        size_t cap = b->cap ? b->cap : 4096;
        while (cap < b->len + n)
            cap *= 2;
        uint8_t *grown = realloc(b->p, cap);
        if (!grown) {
            b->rc = tst_fail(TST_ENOMEM, "out of memory writing a checkpoint");
            return;
        }
        b->p = grown;
        b->cap = cap;
    }
    memcpy(b->p + b->len, bytes, n);
    b->len += n;
}

static void put_u8(buf *b, uint8_t v) { put(b, &v, 1); }

static void put_u32(buf *b, uint32_t v)
{
    uint8_t x[4] = {(uint8_t)v, (uint8_t)(v >> 8), (uint8_t)(v >> 16), (uint8_t)(v >> 24)};
    put(b, x, 4);
}

static void put_u64(buf *b, uint64_t v)
{
    put_u32(b, (uint32_t)v);
    put_u32(b, (uint32_t)(v >> 32));
}

static void put_bytes(buf *b, const char *s, size_t n)
{
    put_u32(b, (uint32_t)n);
    put(b, s, n);
}

static void put_str(buf *b, const char *s)
{
    if (!s)
        put_u32(b, ABSENT);
    else
        put_bytes(b, s, strlen(s));
}

static void put_json(buf *b, json_object *o)
{
    if (!o) {
        if (b->rc == 0)
            b->rc = tst_fail(TST_ENOMEM, "out of memory writing a checkpoint");
        return;
    }
    size_t n = 0;
    const char *text = json_object_to_json_string_length(
        o, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE, &n);
    put_bytes(b, text, n);
    json_object_put(o);
}

/* A fast 64-bit checksum: catches truncation and torn or flipped bytes. */
static uint64_t checksum(const uint8_t *p, size_t n)
{
    uint64_t h = 0x9e3779b97f4a7c15ULL ^ n;
    size_t i = 0;
    for (; i + 8 <= n; i += 8) {
        uint64_t w;
        memcpy(&w, p + i, 8);
        h = (h ^ w) * 0xff51afd7ed558ccdULL;
        h ^= h >> 32;
    }
    for (; i < n; i++)
        h = (h ^ p[i]) * 0xc4ceb9fe1a85ec53ULL;
    return h ^ (h >> 29);
}

/* ---- writing ----------------------------------------------------------- */

static void put_index_value(buf *b, const tst_index_value *v)
{
    put_u8(b, (uint8_t)v->type);
    if (v->type == TST_INDEX_TIMESTAMP) {
        put_u64(b, (uint64_t)v->v.ts.sec);
        put_u32(b, v->v.ts.nsec);
    } else {
        put_u64(b, v->type == TST_INDEX_INT64 ? (uint64_t)v->v.i64 : v->v.u64);
        put_u32(b, 0);
    }
}

static void put_layout(buf *b, const tst_entity_layout *l)
{
    put_u8(b, (uint8_t)l->kind);
    if (l->kind != TST_LAYOUT_SINGLE)
        return;
    put_u32(b, (uint32_t)l->count);
    for (size_t i = 0; i < l->count; i++) {
        const tst_entity_value *v = &l->values[i];
        put_u8(b, (uint8_t)v->type);
        if (v->type == TST_ENTITY_UTF8)
            put_bytes(b, v->v.utf8.ptr, v->v.utf8.len);
        else
            put_u64(b, v->type == TST_ENTITY_INT32   ? (uint64_t)(int64_t)v->v.i32
                       : v->type == TST_ENTITY_INT64 ? (uint64_t)v->v.i64
                                                     : v->v.u64);
    }
}

static void put_segment(buf *b, const tst_segment *s)
{
    put_str(b, s->path);
    put_layout(b, &s->layout);
    put_index_value(b, &s->index_min);
    put_index_value(b, &s->index_max);
    put_u64(b, s->row_count);
    put_u8(b, s->has_file_size);
    put_u64(b, s->file_size);
    put_str(b, s->coverage_path);
}

static void encode_state(buf *b, const tst_state *state)
{
    put(b, MAGIC, 8);
    put_u64(b, state->version);
    put_json(b, tst_table_meta_to_json(&state->meta));
    put_u8(b, state->has_coverage);
    if (state->has_coverage) {
        put_json(b, tst_index_kind_to_json(&state->coverage.index_kind));
        put_str(b, state->coverage.coverage_path);
        put_u64(b, state->coverage_version);
    }
    put_u64(b, state->segment_count);
    for (size_t i = 0; i < state->segment_count; i++)
        put_segment(b, &state->segments[i]);
    put_u64(b, state->removed_count);
    for (size_t i = 0; i < state->removed_count; i++)
        put_segment(b, &state->removed[i]);
    if (b->rc == 0)
        put_u64(b, checksum(b->p, b->len));
}

static char *checkpoint_path(const char *root, uint64_t version)
{
    size_t cap = strlen(root) + strlen(TST_CHECKPOINT_DIR) + 48;
    char *p = malloc(cap);
    if (!p) {
        tst_fail(TST_ENOMEM, "out of memory");
        return NULL;
    }
    snprintf(p, cap, "%s/%s/%010" PRIu64 ".checkpoint", root, TST_CHECKPOINT_DIR, version);
    return p;
}

static int write_pointer(const char *root, uint64_t version)
{
    char *path = tst_io_join(root, TST_CHECKPOINT_POINTER);
    if (!path)
        return TST_ENOMEM;
    char text[32];
    int n = snprintf(text, sizeof text, "%" PRIu64 "\n", version);
    int rc = tst_io_replace(path, text, (size_t)n);
    free(path);
    return rc;
}

/* Writes under a temp name and links it in, so a reader never sees half. */
static int publish(const char *path, const uint8_t *bytes, size_t len)
{
    char uuid[37];
    int rc = tst_io_uuid(uuid);
    size_t cap = strlen(path) + 64;
    char *tmp = rc == 0 ? malloc(cap) : NULL;
    if (rc == 0 && !tmp)
        rc = tst_fail(TST_ENOMEM, "out of memory");
    if (rc == 0) {
        snprintf(tmp, cap, "%s.%s.tmp", path, uuid);
        rc = tst_io_write_new(tmp, bytes, len);
    }
    if (rc == 0) {
        rc = tst_io_link_new(tmp, path);
        if (rc == TST_EEXISTS)
            rc = 0; /* another writer checkpointed the same version */
        tst_io_unlink(tmp);
    }
    free(tmp);
    return rc;
}

int tst_checkpoint_write(const char *root, const tst_state *state)
{
    if (!state->has_meta)
        return tst_fail(TST_EINVAL, "cannot checkpoint a table state without metadata");
    buf b = {NULL, 0, 0, 0};
    encode_state(&b, state);
    char *dir = tst_io_join(root, TST_CHECKPOINT_DIR);
    char *path = checkpoint_path(root, state->version);
    int rc = b.rc != 0 ? b.rc : (dir && path) ? tst_io_mkdirs(dir) : TST_ENOMEM;
    if (rc == 0)
        rc = publish(path, b.p, b.len);
    if (rc == 0)
        rc = tst_io_fsync_dir(dir);
    if (rc == 0)
        rc = write_pointer(root, state->version);
    free(b.p);
    free(dir);
    free(path);
    return rc;
}

/* ---- reading ----------------------------------------------------------- */

typedef struct reader {
    const uint8_t *p;
    size_t len, pos;
    const char *where;
    int rc;
} reader;

static const uint8_t *take(reader *r, size_t n)
{
    if (r->rc != 0)
        return NULL;
    if (n > r->len - r->pos) {
        r->rc = tst_fail(TST_ECORRUPT, "%s: truncated at byte %zu", r->where, r->pos);
        return NULL;
    }
    const uint8_t *at = r->p + r->pos;
    r->pos += n;
    return at;
}

static uint8_t get_u8(reader *r)
{
    const uint8_t *p = take(r, 1);
    return p ? p[0] : 0;
}

static uint32_t get_u32(reader *r)
{
    const uint8_t *p = take(r, 4);
    return p ? (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24
             : 0;
}

static uint64_t get_u64(reader *r)
{
    uint64_t lo = get_u32(r);
    return lo | (uint64_t)get_u32(r) << 32;
}

/* A NUL-terminated copy of a str, or NULL when absent (*absent set). */
static char *get_str(reader *r, bool *absent)
{
    uint32_t n = get_u32(r);
    *absent = n == ABSENT;
    if (r->rc != 0 || *absent)
        return NULL;
    const uint8_t *p = take(r, n);
    char *s = p ? malloc((size_t)n + 1) : NULL;
    if (p && !s)
        r->rc = tst_fail(TST_ENOMEM, "out of memory reading a checkpoint");
    if (s) {
        memcpy(s, p, n);
        s[n] = '\0';
    }
    return s;
}

static char *get_path(reader *r, bool optional)
{
    bool absent = false;
    char *s = get_str(r, &absent);
    if (r->rc == 0 && absent && !optional)
        r->rc = tst_fail(TST_ECORRUPT, "%s: a required path is absent", r->where);
    if (s && r->rc == 0 && tst_path_validate(s, "checkpoint path") != 0)
        r->rc = TST_ECORRUPT;
    return s;
}

static json_object *get_json(reader *r)
{
    uint32_t n = get_u32(r);
    const uint8_t *p = take(r, n);
    if (!p)
        return NULL;
    json_tokener *tok = json_tokener_new_ex(64);
    json_object *o = tok ? json_tokener_parse_ex(tok, (const char *)p, (int)n) : NULL;
    if (!o || json_tokener_get_error(tok) != json_tokener_success)
        r->rc = tst_fail(TST_ECORRUPT, "%s: malformed JSON at byte %zu", r->where, r->pos - n);
    json_tokener_free(tok);
    return o;
}

static void get_index_value(reader *r, tst_index_value *v)
{
    v->type = (tst_index_type)get_u8(r);
    uint64_t raw = get_u64(r);
    uint32_t nsec = get_u32(r);
    if (v->type == TST_INDEX_TIMESTAMP && nsec < 1000000000u) {
        v->v.ts.sec = (int64_t)raw;
        v->v.ts.nsec = nsec;
    } else if (v->type == TST_INDEX_INT64 && nsec == 0) {
        v->v.i64 = (int64_t)raw;
    } else if (v->type == TST_INDEX_UINT64 && nsec == 0) {
        v->v.u64 = raw;
    } else if (r->rc == 0) {
        r->rc = tst_fail(TST_ECORRUPT, "%s: bad index value at byte %zu", r->where, r->pos);
    }
}

static void get_entity_value(reader *r, tst_entity_value *v)
{
    v->type = (tst_entity_type)get_u8(r);
    if (v->type == TST_ENTITY_UTF8) {
        bool absent = false;
        char *s = get_str(r, &absent);
        v->v.utf8.ptr = s;
        v->v.utf8.len = s ? strlen(s) : 0;
        if (r->rc == 0 && !s)
            r->rc = tst_fail(TST_ECORRUPT, "%s: absent entity value", r->where);
        return;
    }
    uint64_t raw = get_u64(r);
    if (v->type == TST_ENTITY_INT32)
        v->v.i32 = (int32_t)(int64_t)raw;
    else if (v->type == TST_ENTITY_INT64)
        v->v.i64 = (int64_t)raw;
    else if (v->type == TST_ENTITY_UINT64)
        v->v.u64 = raw;
    else if (r->rc == 0)
        r->rc = tst_fail(TST_ECORRUPT, "%s: bad entity value type at byte %zu", r->where, r->pos);
}

static void get_layout(reader *r, tst_entity_layout *l)
{
    l->kind = (tst_layout_kind)get_u8(r);
    if (l->kind == TST_LAYOUT_NOT_APPLICABLE || l->kind == TST_LAYOUT_MIXED || r->rc != 0)
        return;
    uint32_t n = l->kind == TST_LAYOUT_SINGLE ? get_u32(r) : 0;
    if (l->kind != TST_LAYOUT_SINGLE || n == 0 || n > r->len - r->pos) {
        if (r->rc == 0)
            r->rc = tst_fail(TST_ECORRUPT, "%s: bad entity layout at byte %zu", r->where, r->pos);
        return;
    }
    l->values = calloc(n, sizeof *l->values);
    if (!l->values) {
        r->rc = tst_fail(TST_ENOMEM, "out of memory reading a checkpoint");
        return;
    }
    for (uint32_t i = 0; i < n && r->rc == 0; i++, l->count++)
        get_entity_value(r, &l->values[i]);
}

static void get_segment(reader *r, tst_segment *s)
{
    memset(s, 0, sizeof *s);
    s->path = get_path(r, false);
    get_layout(r, &s->layout);
    get_index_value(r, &s->index_min);
    get_index_value(r, &s->index_max);
    s->row_count = get_u64(r);
    s->has_file_size = get_u8(r) != 0;
    s->file_size = get_u64(r);
    s->coverage_path = get_path(r, true);
}

static int get_segments(reader *r, tst_state *state, bool removed)
{
    uint64_t n = get_u64(r);
    for (uint64_t i = 0; i < n && r->rc == 0; i++) {
        tst_segment seg;
        get_segment(r, &seg);
        if (r->rc == 0)
            r->rc = removed ? tst_state_add_removed(state, &seg)
                            : tst_state_take_segment(state, &seg, r->where);
        tst_segment_clear(&seg);
    }
    return r->rc;
}

static void get_coverage_pointer(reader *r, tst_state *state)
{
    if (!get_u8(r) || r->rc != 0)
        return;
    json_object *kind = get_json(r);
    if (r->rc == 0)
        r->rc = tst_index_kind_from_json(&state->coverage.index_kind, kind, r->where);
    json_object_put(kind);
    state->coverage.coverage_path = get_path(r, false);
    state->coverage_version = get_u64(r);
    state->has_coverage = r->rc == 0;
}

static int decode_state(reader *r, tst_state *state, uint64_t version)
{
    if (r->len < 16 + 8)
        return tst_fail(TST_ECORRUPT, "%s: too short for a checkpoint", r->where);
    reader tail = {r->p, r->len, r->len - 8, r->where, 0};
    if (checksum(r->p, r->len - 8) != get_u64(&tail))
        return tst_fail(TST_ECORRUPT, "%s: checksum mismatch (torn or damaged file)", r->where);
    r->len -= 8; /* the checksum is not part of the state */
    const uint8_t *magic = take(r, 8);
    if (!magic || memcmp(magic, MAGIC, 8) != 0 || get_u64(r) != version)
        return tst_fail(TST_ECORRUPT, "%s: not a checkpoint of version %" PRIu64, r->where,
                        version);
    json_object *meta = get_json(r);
    if (r->rc == 0)
        r->rc = tst_table_meta_from_json(&state->meta, meta, r->where);
    json_object_put(meta);
    state->has_meta = r->rc == 0;
    state->version = version;
    get_coverage_pointer(r, state);
    if (r->rc == 0)
        get_segments(r, state, false);
    if (r->rc == 0)
        get_segments(r, state, true);
    if (r->rc == 0 && r->pos != r->len)
        r->rc = tst_fail(TST_ECORRUPT, "%s: %zu trailing bytes", r->where, r->len - r->pos);
    return r->rc;
}

static int read_pointer(const char *root, uint64_t *out)
{
    char *path = tst_io_join(root, TST_CHECKPOINT_POINTER);
    if (!path)
        return TST_ENOMEM;
    char *text = NULL;
    int rc = tst_io_read_file(path, 64, &text, NULL);
    if (rc == 0)
        rc = tst_log_parse_current(text, path, out);
    free(text);
    free(path);
    return rc;
}

int tst_checkpoint_latest(const char *root, uint64_t *out_version)
{
    *out_version = 0;
    int rc = read_pointer(root, out_version);
    return rc == TST_ENOTFOUND ? 0 : rc;
}

/* "<10 digits>.checkpoint" -> its version. */
static bool checkpoint_name(const char *name, uint64_t *out)
{
    if (strlen(name) != 10 + strlen(".checkpoint") || strcmp(name + 10, ".checkpoint") != 0)
        return false;
    uint64_t v = 0;
    for (int i = 0; i < 10; i++) {
        if (name[i] < '0' || name[i] > '9')
            return false;
        v = v * 10 + (uint64_t)(name[i] - '0');
    }
    *out = v;
    return v > 0;
}

static int compare_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

int tst_checkpoint_list(const char *root, uint64_t **out, size_t *out_count)
{
    *out = NULL;
    *out_count = 0;
    char *dir = tst_io_join(root, TST_CHECKPOINT_DIR);
    if (!dir)
        return TST_ENOMEM;
    DIR *d = opendir(dir);
    if (!d) {
        int err = errno, rc = 0;
        if (err != ENOENT)
            rc = tst_fail_errno(TST_EIO, err, "cannot list checkpoints in %s", dir);
        free(dir);
        return rc;
    }
    int rc = 0;
    size_t cap = 0;
    struct dirent *e;
    while (rc == 0 && (e = readdir(d)) != NULL) {
        uint64_t v;
        if (!checkpoint_name(e->d_name, &v))
            continue;
        if (*out_count == cap) {
            cap = cap ? cap * 2 : 16;
            uint64_t *grown = realloc(*out, cap * sizeof *grown);
            if (!grown) {
                rc = tst_fail(TST_ENOMEM, "out of memory listing checkpoints");
                break;
            }
            *out = grown;
        }
        (*out)[(*out_count)++] = v;
    }
    closedir(d);
    free(dir);
    if (rc != 0) {
        free(*out);
        *out = NULL;
        *out_count = 0;
        return rc;
    }
    if (*out_count > 1)
        qsort(*out, *out_count, sizeof **out, compare_u64);
    return 0;
}

/* Loads checkpoint `version` into a fresh *out; on failure *out is fresh again. */
static int try_load(const char *root, uint64_t version, tst_state *out)
{
    int rc = tst_checkpoint_load_version(root, version, out);
    if (rc != 0) {
        tst_state_clear(out);
        tst_state_init(out);
    }
    return rc;
}

/*
 * The checkpoint _last_checkpoint names when it is at or below max_version
 * (the common case: opening the head); otherwise (time travel, vacuum's
 * oldest retained version) or when it cannot be read, the newest readable
 * checkpoint file at or below max_version.
 */
int tst_checkpoint_load(const char *root, uint64_t max_version, tst_state *out)
{
    uint64_t named = 0;
    int rc = read_pointer(root, &named);
    if (rc != 0)
        return rc;
    if (named > 0 && named <= max_version && try_load(root, named, out) == 0)
        return 0;
    uint64_t *versions = NULL;
    size_t count = 0;
    rc = tst_checkpoint_list(root, &versions, &count);
    for (size_t i = count; rc == 0 && i-- > 0;) {
        if (versions[i] > max_version || versions[i] == named)
            continue;
        if (try_load(root, versions[i], out) == 0) {
            free(versions);
            return 0;
        }
    }
    free(versions);
    return rc != 0 ? rc : tst_fail(TST_ENOTFOUND, "no usable checkpoint at or below version %"
                                   PRIu64, max_version);
}

int tst_checkpoint_load_version(const char *root, uint64_t version, tst_state *out)
{
    char *path = checkpoint_path(root, version);
    int rc;
    char *bytes = NULL;
    size_t len = 0;
    rc = path ? tst_io_read_file(path, CHECKPOINT_MAX_BYTES, &bytes, &len) : TST_ENOMEM;
    if (rc == 0) {
        reader r = {(const uint8_t *)bytes, len, 0, path, 0};
        rc = decode_state(&r, out, version);
    }
    free(bytes);
    free(path);
    return rc;
}
