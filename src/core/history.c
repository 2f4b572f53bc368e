/*
 * history.c — the vacuum marker and "which version was current at T"
 * (see history.h).
 */
#include "history.h"

#include "fail.h"
#include "fsio.h"
#include "json_util.h"
#include "log.h"
#include "model.h"

#include <inttypes.h>
#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static char *marker_path(const char *root)
{
    char *log = tst_io_join(root, TST_LOG_DIR);
    char *path = log ? tst_io_join(log, TST_VACUUM_MARKER) : NULL;
    free(log);
    return path;
}

int tst_history_parse_marker(const char *text, size_t len, const char *path,
                             tst_vacuum_marker *out)
{
    static const char *const fields[] = {"oldest_readable_version", "vacuumed_at",
                                         "retention_seconds", NULL};
    json_object *obj = NULL, *v = NULL;
    memset(out, 0, sizeof *out);
    int rc = tst_json_parse_object(&obj, text, len, path);
    if (rc == 0)
        rc = tst_json_only_fields(obj, fields, path);
    if (rc == 0)
        rc = tst_json_require(obj, "oldest_readable_version", path, &v);
    if (rc == 0)
        rc = tst_json_u64(v, path, "oldest_readable_version", &out->oldest_readable_version);
    if (rc == 0)
        rc = tst_json_require(obj, "vacuumed_at", path, &v);
    if (rc == 0)
        rc = tst_json_timestamp(v, path, "vacuumed_at", &out->vacuumed_at);
    if (rc == 0)
        rc = tst_json_require(obj, "retention_seconds", path, &v);
    if (rc == 0)
        rc = tst_json_i64(v, path, "retention_seconds", &out->retention_seconds);
    json_object_put(obj);
    if (rc != 0)
        memset(out, 0, sizeof *out);
    return rc;
}

int tst_history_read_marker(const char *root, tst_vacuum_marker *out)
{
    memset(out, 0, sizeof *out);
    char *path = marker_path(root);
    if (!path)
        return tst_fail(TST_ENOMEM, "out of memory");
    char *text = NULL;
    size_t len = 0;
    int rc = tst_io_read_file(path, 64 * 1024, &text, &len);
    if (rc == TST_ENOTFOUND) {
        rc = 0; /* never vacuumed */
    } else if (rc == 0) {
        rc = tst_history_parse_marker(text, len, path, out);
    }
    free(text);
    free(path);
    return rc;
}

int tst_history_write_marker(const char *root, const tst_vacuum_marker *marker)
{
    tst_vacuum_marker now;
    int rc = tst_history_read_marker(root, &now);
    if (rc != 0)
        return rc;
    if (now.oldest_readable_version > marker->oldest_readable_version)
        return 0;
    json_object *obj = json_object_new_object();
    char *text = NULL, *path = marker_path(root);
    size_t len = 0;
    if (!obj || !path ||
        tst_json_add(obj, "oldest_readable_version",
                     json_object_new_uint64(marker->oldest_readable_version)) != 0 ||
        tst_json_add(obj, "vacuumed_at", tst_json_new_timestamp(marker->vacuumed_at)) != 0 ||
        tst_json_add(obj, "retention_seconds",
                     json_object_new_int64(marker->retention_seconds)) != 0)
        rc = tst_fail(TST_ENOMEM, "out of memory");
    if (rc == 0)
        rc = tst_json_print(obj, &text, &len);
    if (rc == 0)
        rc = tst_io_replace(path, text, len);
    json_object_put(obj);
    free(text);
    free(path);
    return rc;
}

int tst_history_commit_time(const char *root, uint64_t version, tst_timestamp *out)
{
    tst_commit c;
    int rc = tst_log_load_commit(root, version, &c);
    if (rc == 0)
        *out = c.timestamp;
    tst_commit_clear(&c);
    return rc;
}

static bool after(tst_timestamp a, tst_timestamp b)
{
    return a.sec > b.sec || (a.sec == b.sec && a.nsec > b.nsec);
}

int tst_history_version_at(const char *root, uint64_t head, tst_timestamp at,
                           uint64_t *out_version)
{
    *out_version = 0;
    for (uint64_t v = 1; v <= head; v++) {
        tst_timestamp ts;
        int rc = tst_history_commit_time(root, v, &ts);
        if (rc != 0)
            return tst_fail_context(rc, "table %s", root);
        if (after(ts, at))
            break;
        *out_version = v;
    }
    if (*out_version > 0)
        return 0;
    char want[64] = "", first[64] = "";
    tst_timestamp ts0;
    (void)tst_timestamp_format(at, want, sizeof want);
    if (head > 0 && tst_history_commit_time(root, 1, &ts0) == 0)
        (void)tst_timestamp_format(ts0, first, sizeof first);
    tst_fail(TST_ENOTFOUND, "table %s has no version as of %s: it was created at %s", root, want,
             first[0] ? first : "a later time");
    tst_fail_set_path(root);
    return TST_ENOTFOUND;
}
