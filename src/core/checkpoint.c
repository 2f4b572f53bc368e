/*
 * checkpoint.c — writing and reading state checkpoints (see checkpoint.h).
 *
 * The file is one JSON object built from the same shapes as the log:
 *   {"tstable_checkpoint":1,"version":N,"table_meta":{...},
 *    "segments":[SegmentMeta...],"removed_segments":[SegmentMeta...],
 *    "table_coverage":null|{"index_kind":..,"coverage_path":..,"version":V}}
 * Loading rebuilds the state through the same code as replay (AddSegment,
 * RemoveSegment semantics), so a checkpoint cannot express a state the log
 * could not.
 */
#include "checkpoint.h"

#include "fail.h"
#include "fsio.h"
#include "log.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define CHECKPOINT_FORMAT 1
#define CHECKPOINT_MAX_BYTES ((size_t)4 << 30)

static json_object *segments_to_json(const tst_segment *segs, size_t count)
{
    json_object *arr = json_object_new_array_ext((int)count);
    for (size_t i = 0; arr && i < count; i++) {
        json_object *s = tst_segment_to_json(&segs[i]);
        if (!s || json_object_array_add(arr, s) != 0) {
            json_object_put(s);
            json_object_put(arr);
            return NULL;
        }
    }
    return arr;
}

static json_object *coverage_to_json(const tst_state *state)
{
    if (!state->has_coverage)
        return NULL;
    json_object *o = json_object_new_object();
    if (!o)
        return NULL;
    json_object_object_add(o, "index_kind", tst_index_kind_to_json(&state->coverage.index_kind));
    json_object_object_add(o, "coverage_path",
                           json_object_new_string(state->coverage.coverage_path));
    json_object_object_add(o, "version", json_object_new_uint64(state->coverage_version));
    return o;
}

static json_object *state_to_json(const tst_state *state)
{
    json_object *o = json_object_new_object();
    if (!o)
        return NULL;
    json_object_object_add(o, "tstable_checkpoint", json_object_new_int(CHECKPOINT_FORMAT));
    json_object_object_add(o, "version", json_object_new_uint64(state->version));
    json_object_object_add(o, "table_meta", tst_table_meta_to_json(&state->meta));
    json_object_object_add(o, "segments", segments_to_json(state->segments, state->segment_count));
    json_object_object_add(o, "removed_segments",
                           segments_to_json(state->removed, state->removed_count));
    json_object_object_add(o, "table_coverage", coverage_to_json(state));
    return o;
}

static char *checkpoint_path(const char *root, uint64_t version)
{
    size_t cap = strlen(root) + strlen(TST_CHECKPOINT_DIR) + 48;
    char *p = malloc(cap);
    if (!p) {
        tst_fail(TST_ENOMEM, "out of memory");
        return NULL;
    }
    snprintf(p, cap, "%s/%s/%010" PRIu64 ".checkpoint.json", root, TST_CHECKPOINT_DIR, version);
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

int tst_checkpoint_write(const char *root, const tst_state *state)
{
    if (!state->has_meta)
        return tst_fail(TST_EINVAL, "cannot checkpoint a table state without metadata");
    json_object *o = state_to_json(state);
    if (!o)
        return tst_fail(TST_ENOMEM, "out of memory building checkpoint");
    size_t len = 0;
    const char *text = json_object_to_json_string_length(
        o, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE, &len);
    char *dir = tst_io_join(root, TST_CHECKPOINT_DIR);
    char *path = checkpoint_path(root, state->version);
    int rc = (text && dir && path) ? tst_io_mkdirs(dir) : TST_ENOMEM;
    if (rc == 0) {
        /* Written under a temp name first so a reader never sees half of it. */
        size_t cap = strlen(path) + 64;
        char *tmp = malloc(cap);
        char uuid[37];
        rc = tmp ? tst_io_uuid(uuid) : TST_ENOMEM;
        if (rc == 0) {
            snprintf(tmp, cap, "%s.%s.tmp", path, uuid);
            rc = tst_io_write_new(tmp, text, len);
        }
        if (rc == 0) {
            rc = tst_io_link_new(tmp, path);
            if (rc == TST_EEXISTS)
                rc = 0; /* another writer checkpointed the same version */
            tst_io_unlink(tmp);
        }
        free(tmp);
    }
    if (rc == 0)
        rc = tst_io_fsync_dir(dir);
    if (rc == 0)
        rc = write_pointer(root, state->version);
    free(dir);
    free(path);
    json_object_put(o);
    return rc;
}

/* ---- loading ----------------------------------------------------------- */

static int read_pointer(const char *root, uint64_t *out)
{
    char *path = tst_io_join(root, TST_CHECKPOINT_POINTER);
    if (!path)
        return TST_ENOMEM;
    char *text = NULL;
    int rc = tst_io_read_file(path, 64, &text, NULL);
    if (rc == 0) {
        char *end = NULL;
        unsigned long long v = strtoull(text, &end, 10);
        if (end == text || (*end != '\n' && *end != '\0'))
            rc = tst_fail(TST_ECORRUPT, "%s has invalid content", path);
        *out = v;
    }
    free(text);
    free(path);
    return rc;
}

static int load_segments(tst_state *state, json_object *arr, bool removed, const char *where)
{
    if (!arr || !json_object_is_type(arr, json_type_array))
        return tst_fail(TST_ECORRUPT, "%s: segment list missing", where);
    size_t n = json_object_array_length(arr);
    for (size_t i = 0; i < n; i++) {
        tst_segment seg;
        int rc = tst_segment_from_json(&seg, json_object_array_get_idx(arr, i), where);
        if (rc != 0)
            return rc;
        rc = removed ? tst_state_add_removed(state, &seg) : tst_state_add_segment(state, &seg, where);
        tst_segment_clear(&seg);
        if (rc != 0)
            return rc;
    }
    return 0;
}

static int load_coverage(tst_state *state, json_object *o, const char *where)
{
    if (!o || json_object_is_type(o, json_type_null))
        return 0;
    json_object *kind = NULL, *path = NULL, *version = NULL;
    if (!json_object_object_get_ex(o, "index_kind", &kind) ||
        !json_object_object_get_ex(o, "coverage_path", &path) ||
        !json_object_object_get_ex(o, "version", &version) ||
        !json_object_is_type(path, json_type_string) || !json_object_is_type(version, json_type_int))
        return tst_fail(TST_ECORRUPT, "%s: malformed table_coverage", where);
    int rc = tst_index_kind_from_json(&state->coverage.index_kind, kind, where);
    if (rc == 0)
        rc = tst_path_validate(json_object_get_string(path), "table coverage_path");
    if (rc != 0)
        return rc;
    state->coverage.coverage_path = strdup(json_object_get_string(path));
    if (!state->coverage.coverage_path)
        return tst_fail(TST_ENOMEM, "out of memory");
    state->has_coverage = true;
    state->coverage_version = json_object_get_uint64(version);
    return 0;
}

static int load_state(tst_state *state, json_object *o, uint64_t version, const char *where)
{
    json_object *format = NULL, *v = NULL, *meta = NULL;
    if (!json_object_is_type(o, json_type_object) ||
        !json_object_object_get_ex(o, "tstable_checkpoint", &format) ||
        json_object_get_int(format) != CHECKPOINT_FORMAT ||
        !json_object_object_get_ex(o, "version", &v) || json_object_get_uint64(v) != version ||
        !json_object_object_get_ex(o, "table_meta", &meta))
        return tst_fail(TST_ECORRUPT, "%s: not a version-%d checkpoint of version %" PRIu64,
                        where, CHECKPOINT_FORMAT, version);
    int rc = tst_table_meta_from_json(&state->meta, meta, where);
    if (rc != 0)
        return rc;
    state->has_meta = true;
    state->version = version;
    json_object *segs = NULL, *removed = NULL, *cov = NULL;
    json_object_object_get_ex(o, "segments", &segs);
    json_object_object_get_ex(o, "removed_segments", &removed);
    json_object_object_get_ex(o, "table_coverage", &cov);
    rc = load_segments(state, removed, true, where);
    if (rc == 0)
        rc = load_segments(state, segs, false, where);
    if (rc == 0)
        rc = load_coverage(state, cov, where);
    return rc;
}

int tst_checkpoint_load(const char *root, uint64_t max_version, tst_state *out)
{
    uint64_t version = 0;
    int rc = read_pointer(root, &version);
    if (rc != 0)
        return rc;
    if (version == 0 || version > max_version)
        return tst_fail(TST_ENOTFOUND, "no usable checkpoint at or below version %" PRIu64,
                        max_version);
    char *path = checkpoint_path(root, version);
    char *text = NULL;
    size_t len = 0;
    rc = path ? tst_io_read_file(path, CHECKPOINT_MAX_BYTES, &text, &len) : TST_ENOMEM;
    json_object *o = NULL;
    if (rc == 0) {
        json_tokener *tok = json_tokener_new_ex(64);
        o = tok ? json_tokener_parse_ex(tok, text, (int)len) : NULL;
        if (!o || json_tokener_get_error(tok) != json_tokener_success)
            rc = tst_fail(TST_ECORRUPT, "%s is not valid JSON", path);
        json_tokener_free(tok);
    }
    if (rc == 0)
        rc = load_state(out, o, version, path);
    json_object_put(o);
    free(text);
    free(path);
    return rc;
}
