/*
 * model_commit.c — one commit file of the log, bytes in and bytes out
 * (format-v6 §1.3, §1.4): {version, base_version, timestamp, actions}.
 *
 * A commit file is untrusted input: it may be truncated by a crash, edited
 * by hand or written by a newer tool. Parsing therefore goes through the
 * strict reader of json_util.c, and every message names the file and the
 * place in it ("commit /t/_timeseries_log/0000000002.json, actions[1].
 * AddSegment: missing field `entity_layout`").
 *
 * Before anything else, every UpdateTableMeta's format_version is checked,
 * as the reference does in its pre-scan: a log from a newer format must
 * say "unsupported format_version", not fail on some field it added. For a
 * protocol-7 meta the pre-scan checks protocol_version and the reader
 * features instead (protocol.c), and unknown action names in a protocol-7
 * table are dropped, as the reference 0.5+ does.
 *
 * Printing is the inverse and must be byte-exact with the reference writer
 * (serde_json::to_vec): compact, fields in declaration order, optional
 * fields omitted where it omits them. json-c keeps object members in
 * insertion order, so the builders below add fields in that order.
 */
#include "model.h"

#include "fail.h"
#include "json_util.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *const ACTION_NAMES[] = {NULL, "UpdateTableMeta", "AddSegment", "RemoveSegment",
                                           "UpdateTableCoverage"};
#define ACTION_NAME_COUNT 4

/* ---- coverage pointer --------------------------------------------------- */

static int coverage_pointer_from_json(tst_coverage_pointer *out, json_object *obj,
                                      const char *where)
{
    char at[TST_JSON_WHERE_MAX];
    json_object *kind = NULL, *path = NULL;
    int rc = tst_json_require(obj, "index_kind", where, &kind);
    if (rc == 0)
        rc = tst_index_kind_from_json(&out->index_kind, kind,
                                      tst_json_where(at, sizeof at, where, "index_kind"));
    if (rc == 0)
        rc = tst_json_require(obj, "coverage_path", where, &path);
    if (rc == 0)
        rc = tst_json_strdup(path, where, "coverage_path", &out->coverage_path);
    if (rc == 0 && tst_path_validate(out->coverage_path, "table coverage_path") != 0)
        rc = tst_fail_context(TST_ECORRUPT, "%s", where);
    return rc;
}

static json_object *coverage_pointer_to_json(const tst_coverage_pointer *ptr)
{
    json_object *obj = json_object_new_object();
    if (!obj || tst_json_add(obj, "index_kind", tst_index_kind_to_json(&ptr->index_kind)) != 0 ||
        tst_json_add(obj, "coverage_path", tst_json_new_string(ptr->coverage_path)) != 0) {
        json_object_put(obj);
        return NULL;
    }
    return obj;
}

int tst_coverage_pointer_copy(tst_coverage_pointer *dst, const tst_coverage_pointer *src)
{
    dst->index_kind = src->index_kind;
    dst->coverage_path = NULL;
    if (src->coverage_path && !(dst->coverage_path = strdup(src->coverage_path)))
        return tst_fail(TST_ENOMEM, "out of memory copying a coverage pointer");
    return 0;
}

void tst_coverage_pointer_clear(tst_coverage_pointer *ptr)
{
    free(ptr->coverage_path);
    memset(ptr, 0, sizeof *ptr);
}

/* ---- actions ------------------------------------------------------------ */

static int remove_from_json(tst_action *out, json_object *obj, const char *where)
{
    json_object *path = NULL;
    int rc = tst_json_require(obj, "path", where, &path);
    if (rc == 0)
        rc = tst_json_strdup(path, where, "path", &out->u.remove_path);
    if (rc == 0 && tst_path_validate(out->u.remove_path, "removed segment path") != 0)
        rc = tst_fail_context(TST_ECORRUPT, "%s", where);
    return rc;
}

static void action_clear(tst_action *action)
{
    switch (action->type) {
    case TST_ACTION_UPDATE_TABLE_META: tst_table_meta_clear(&action->u.meta); break;
    case TST_ACTION_ADD_SEGMENT: tst_segment_clear(&action->u.segment); break;
    case TST_ACTION_REMOVE_SEGMENT: free(action->u.remove_path); break;
    case TST_ACTION_UPDATE_TABLE_COVERAGE: tst_coverage_pointer_clear(&action->u.coverage); break;
    }
    memset(action, 0, sizeof *action);
}

static int action_body_from_json(tst_action *out, json_object *body, const char *where)
{
    if (!json_object_is_type(body, json_type_object)) {
        char desc[80];
        return tst_fail(TST_ECORRUPT, "%s: expected an object, found %s", where,
                        tst_json_describe(body, desc, sizeof desc));
    }
    switch (out->type) {
    case TST_ACTION_UPDATE_TABLE_META: return tst_table_meta_from_json(&out->u.meta, body, where);
    case TST_ACTION_ADD_SEGMENT: return tst_segment_from_json(&out->u.segment, body, where);
    case TST_ACTION_REMOVE_SEGMENT: return remove_from_json(out, body, where);
    case TST_ACTION_UPDATE_TABLE_COVERAGE:
        return coverage_pointer_from_json(&out->u.coverage, body, where);
    }
    return tst_fail(TST_ECORRUPT, "%s: unknown action", where);
}

/* On failure *out is cleared. An unknown action name with drop_unknown leaves
 * out->type 0 and succeeds. */
static int action_from_json(tst_action *out, json_object *obj, const char *where,
                            bool drop_unknown)
{
    memset(out, 0, sizeof *out);
    const char *tag = NULL;
    json_object *body = NULL;
    int rc = tst_json_single_member(obj, where, &tag, &body);
    if (rc != 0)
        return rc;
    for (int i = 1; i <= ACTION_NAME_COUNT; i++)
        if (strcmp(tag, ACTION_NAMES[i]) == 0)
            out->type = (tst_action_type)i;
    if (out->type == 0 && drop_unknown)
        return 0;
    if (out->type == 0)
        return tst_fail(TST_ECORRUPT,
                        "%s: unknown action `%.64s`, expected `UpdateTableMeta`, `AddSegment`, "
                        "`RemoveSegment` or `UpdateTableCoverage`",
                        where, tag);
    char at[TST_JSON_WHERE_MAX];
    rc = action_body_from_json(out, body, tst_json_where(at, sizeof at, where, tag));
    if (rc != 0)
        action_clear(out);
    return rc;
}

static json_object *action_body_to_json(const tst_action *action)
{
    switch (action->type) {
    case TST_ACTION_UPDATE_TABLE_META: return tst_table_meta_to_json(&action->u.meta);
    case TST_ACTION_ADD_SEGMENT: return tst_segment_to_json(&action->u.segment);
    case TST_ACTION_REMOVE_SEGMENT: {
        json_object *obj = json_object_new_object();
        if (obj && tst_json_add(obj, "path", tst_json_new_string(action->u.remove_path)) != 0) {
            json_object_put(obj);
            obj = NULL;
        }
        return obj;
    }
    case TST_ACTION_UPDATE_TABLE_COVERAGE: return coverage_pointer_to_json(&action->u.coverage);
    }
    return NULL;
}

static json_object *action_to_json(const tst_action *action)
{
    if (action->type < TST_ACTION_UPDATE_TABLE_META ||
        action->type > TST_ACTION_UPDATE_TABLE_COVERAGE)
        return NULL;
    json_object *obj = json_object_new_object();
    if (!obj || tst_json_add(obj, ACTION_NAMES[action->type], action_body_to_json(action)) != 0) {
        json_object_put(obj);
        return NULL;
    }
    return obj;
}

/* ---- commits ------------------------------------------------------------ */

/* The reference's pre-scan: any UpdateTableMeta.format_version other than ours. */
static int check_format_versions(json_object *actions, const char *what)
{
    if (!json_object_is_type(actions, json_type_array))
        return 0;
    size_t n = json_object_array_length(actions);
    for (size_t i = 0; i < n; i++) {
        json_object *meta = NULL, *version = NULL;
        if (!json_object_object_get_ex(json_object_array_get_idx(actions, i), "UpdateTableMeta",
                                       &meta) ||
            json_object_object_get_ex(meta, "protocol_version", NULL) ||
            !json_object_object_get_ex(meta, "format_version", &version) ||
            !json_object_is_type(version, json_type_int))
            continue;
        if (json_object_get_int64(version) != TST_FORMAT_VERSION) {
            char desc[80];
            return tst_fail(TST_EUNSUPPORTED,
                            "%s, actions[%zu].UpdateTableMeta: unsupported format_version %s "
                            "(this build reads %d)",
                            what, i, tst_json_describe(version, desc, sizeof desc),
                            TST_FORMAT_VERSION);
        }
    }
    return 0;
}

static int actions_from_json(tst_commit *out, json_object *arr, const char *what,
                             bool drop_unknown)
{
    if (!json_object_is_type(arr, json_type_array)) {
        char desc[80];
        return tst_fail(TST_ECORRUPT, "%s: field `actions` must be an array, found %s", what,
                        tst_json_describe(arr, desc, sizeof desc));
    }
    size_t n = json_object_array_length(arr);
    if (n == 0)
        return 0;
    out->actions = calloc(n, sizeof *out->actions);
    if (!out->actions)
        return tst_fail(TST_ENOMEM, "%s: out of memory for %zu actions", what, n);
    char at[TST_JSON_WHERE_MAX];
    for (size_t i = 0; i < n; i++) {
        snprintf(at, sizeof at, "%s, actions[%zu]", what, i);
        int rc = action_from_json(&out->actions[out->action_count],
                                  json_object_array_get_idx(arr, i), at, drop_unknown);
        if (rc != 0)
            return rc;
        if (out->actions[out->action_count].type != 0)
            out->action_count++;
    }
    return 0;
}

static int commit_from_json(tst_commit *out, json_object *obj, const char *what,
                            uint32_t protocol)
{
    json_object *version = NULL, *base = NULL, *timestamp = NULL, *actions = NULL;
    json_object_object_get_ex(obj, "actions", &actions);
    bool v7 = protocol == TST_PROTOCOL_VERSION;
    int rc = check_format_versions(actions, what);
    if (rc == 0)
        rc = tst_protocol_prescan(actions, what, &v7);
    if (rc == 0)
        rc = tst_json_require(obj, "version", what, &version);
    if (rc == 0)
        rc = tst_json_u64(version, what, "version", &out->version);
    if (rc == 0)
        rc = tst_json_require(obj, "base_version", what, &base);
    if (rc == 0)
        rc = tst_json_u64(base, what, "base_version", &out->base_version);
    if (rc == 0)
        rc = tst_json_require(obj, "timestamp", what, &timestamp);
    if (rc == 0)
        rc = tst_json_timestamp(timestamp, what, "timestamp", &out->timestamp);
    if (rc == 0)
        rc = tst_json_require(obj, "actions", what, &actions);
    if (rc == 0)
        rc = actions_from_json(out, actions, what, v7);
    return rc;
}

int tst_commit_parse(tst_commit *out, const char *json, size_t len, const char *origin)
{
    return tst_commit_parse_for(out, json, len, origin, 0);
}

int tst_commit_parse_for(tst_commit *out, const char *json, size_t len, const char *origin,
                         uint32_t protocol)
{
    memset(out, 0, sizeof *out);
    char what[TST_JSON_WHERE_MAX];
    snprintf(what, sizeof what, "commit %s", origin ? origin : "(unnamed)");
    json_object *obj = NULL;
    int rc = tst_json_parse_object(&obj, json, len, what);
    if (rc == 0)
        rc = commit_from_json(out, obj, what, protocol);
    json_object_put(obj);
    if (rc != 0)
        tst_commit_clear(out);
    return rc;
}

static json_object *actions_to_json(const tst_action *actions, size_t count)
{
    json_object *arr = json_object_new_array_ext((int)count);
    for (size_t i = 0; arr && i < count; i++) {
        json_object *a = action_to_json(&actions[i]);
        if (!a || json_object_array_add(arr, a) != 0) {
            json_object_put(a);
            json_object_put(arr);
            return NULL;
        }
    }
    return arr;
}

static json_object *commit_to_json(const tst_commit *commit)
{
    json_object *obj = json_object_new_object();
    if (!obj || tst_json_add(obj, "version", json_object_new_uint64(commit->version)) != 0 ||
        tst_json_add(obj, "base_version", json_object_new_uint64(commit->base_version)) != 0 ||
        tst_json_add(obj, "timestamp", tst_json_new_timestamp(commit->timestamp)) != 0 ||
        tst_json_add(obj, "actions", actions_to_json(commit->actions, commit->action_count)) != 0) {
        json_object_put(obj);
        return NULL;
    }
    return obj;
}

int tst_commit_serialize(const tst_commit *commit, char **out_json, size_t *out_len)
{
    *out_json = NULL;
    if (out_len)
        *out_len = 0;
    for (size_t i = 0; i < commit->action_count; i++)
        if (commit->actions[i].type < TST_ACTION_UPDATE_TABLE_META ||
            commit->actions[i].type > TST_ACTION_UPDATE_TABLE_COVERAGE)
            return tst_fail(TST_EINVAL, "commit %llu: action %zu has invalid type %d",
                            (unsigned long long)commit->version, i, (int)commit->actions[i].type);
    json_object *obj = commit_to_json(commit);
    if (!obj)
        return tst_fail(TST_ENOMEM, "commit %llu: cannot build its JSON (out of memory, or a "
                        "value the format cannot hold)", (unsigned long long)commit->version);
    int rc = tst_json_print(obj, out_json, out_len);
    json_object_put(obj);
    return rc;
}

void tst_commit_clear(tst_commit *commit)
{
    for (size_t i = 0; i < commit->action_count; i++)
        action_clear(&commit->actions[i]);
    free(commit->actions);
    memset(commit, 0, sizeof *commit);
}
