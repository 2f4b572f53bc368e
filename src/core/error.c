/*
 * error.c — the per-thread last error (see tstable/error.h and fail.h).
 *
 * Storage is a fixed set of thread-local buffers: recording an error never
 * allocates, so it works when memory has run out. Messages longer than the
 * buffer are cut with "..." rather than lost.
 */
#include "fail.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#define MESSAGE_CAP 2048
#define FIELD_CAP 1024

typedef struct last_error {
    tst_error pub;
    char message[MESSAGE_CAP];
    char path[FIELD_CAP];
    char entity[FIELD_CAP];
    char bucket_range[128];
    char reason[32];
    char example_key[FIELD_CAP];
} last_error;

static _Thread_local last_error tl_error;
static _Thread_local int tl_ready;

static last_error *current(void)
{
    if (!tl_ready) {
        memset(&tl_error, 0, sizeof tl_error);
        tl_error.pub.message = tl_error.message;
        tl_error.pub.path = tl_error.path;
        tl_error.pub.entity = tl_error.entity;
        tl_error.pub.bucket_range = tl_error.bucket_range;
        tl_error.pub.reason = tl_error.reason;
        tl_error.pub.example_key = tl_error.example_key;
        tl_ready = 1;
    }
    return &tl_error;
}

static void mark_truncated(char *buf, size_t cap, int wanted)
{
    if (wanted >= (int)cap && cap > 4)
        memcpy(buf + cap - 4, "...", 4);
}

static void reset_fields(last_error *e, int code)
{
    e->pub.code = code;
    e->path[0] = e->entity[0] = e->bucket_range[0] = '\0';
    e->reason[0] = e->example_key[0] = '\0';
    e->pub.input_rows_seen = e->pub.observed_violations = 0;
    e->pub.expected_version = e->pub.found_version = 0;
    e->pub.overlap_count = e->pub.bucket = 0;
    e->pub.overlap_entity_count = e->pub.entity_overlap_count = 0;
}

static int vfail(int code, const char *fmt, va_list ap)
{
    last_error *e = current();
    reset_fields(e, code);
    int n = vsnprintf(e->message, MESSAGE_CAP, fmt, ap);
    mark_truncated(e->message, MESSAGE_CAP, n);
    return code;
}

int tst_fail(int code, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vfail(code, fmt, ap);
    va_end(ap);
    return code;
}

int tst_fail_errno(int code, int err, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vfail(code, fmt, ap);
    va_end(ap);
    last_error *e = current();
    size_t used = strlen(e->message);
    int n = snprintf(e->message + used, MESSAGE_CAP - used, ": %s", strerror(err));
    mark_truncated(e->message, MESSAGE_CAP, (int)used + n);
    return code;
}

int tst_fail_context(int code, const char *fmt, ...)
{
    last_error *e = current();
    char prefix[MESSAGE_CAP];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(prefix, sizeof prefix, fmt, ap);
    va_end(ap);
    if (n < 0)
        n = 0;
    char joined[MESSAGE_CAP];
    int m = snprintf(joined, sizeof joined, "%s: %s", prefix, e->message);
    mark_truncated(joined, sizeof joined, m);
    memcpy(e->message, joined, sizeof joined);
    e->pub.code = code;
    return code;
}

static void copy_field(char *dst, size_t cap, const char *src)
{
    int n = snprintf(dst, cap, "%s", src ? src : "");
    mark_truncated(dst, cap, n);
}

void tst_fail_set_path(const char *path)
{
    last_error *e = current();
    copy_field(e->path, sizeof e->path, path);
}

void tst_fail_set_conflict(uint64_t expected, uint64_t found)
{
    last_error *e = current();
    e->pub.expected_version = expected;
    e->pub.found_version = found;
}

void tst_fail_set_overlap(uint64_t count, const char *entity, uint64_t bucket,
                          const char *bucket_range)
{
    last_error *e = current();
    e->pub.overlap_count = count;
    e->pub.bucket = bucket;
    copy_field(e->entity, sizeof e->entity, entity);
    copy_field(e->bucket_range, sizeof e->bucket_range, bucket_range);
}

void tst_fail_set_overlap_entities(uint64_t entity_count, uint64_t first_entity_count)
{
    last_error *e = current();
    e->pub.overlap_entity_count = entity_count;
    e->pub.entity_overlap_count = first_entity_count;
}

void tst_fail_set_update_key(const char *reason, const char *example_key, uint64_t rows_seen,
                             uint64_t violations)
{
    last_error *e = current();
    copy_field(e->reason, sizeof e->reason, reason);
    copy_field(e->example_key, sizeof e->example_key, example_key);
    e->pub.input_rows_seen = rows_seen;
    e->pub.observed_violations = violations;
}

const tst_error *tst_error_last(void)
{
    return &current()->pub;
}

void tst_error_clear(void)
{
    last_error *e = current();
    reset_fields(e, TST_OK);
    e->message[0] = '\0';
}

const char *tst_error_name(int code)
{
    switch (code) {
    case TST_OK: return "TST_OK";
    case TST_EINVAL: return "TST_EINVAL";
    case TST_ENOTFOUND: return "TST_ENOTFOUND";
    case TST_EEXISTS: return "TST_EEXISTS";
    case TST_ECONFLICT: return "TST_ECONFLICT";
    case TST_EOVERLAP: return "TST_EOVERLAP";
    case TST_ESCHEMA: return "TST_ESCHEMA";
    case TST_ECORRUPT: return "TST_ECORRUPT";
    case TST_EIO: return "TST_EIO";
    case TST_ESQL: return "TST_ESQL";
    case TST_ENOMEM: return "TST_ENOMEM";
    case TST_EUNSUPPORTED: return "TST_EUNSUPPORTED";
    case TST_EEMPTY: return "TST_EEMPTY";
    case TST_EUPDATEKEY: return "TST_EUPDATEKEY";
    case TST_EAMBIGUOUS: return "TST_EAMBIGUOUS";
    case TST_ECANCELLED: return "TST_ECANCELLED";
    case TST_EDUPLICATE: return "TST_EDUPLICATE";
    case TST_EVACUUMED: return "TST_EVACUUMED";
    case TST_EINCOMPLETE: return "TST_EINCOMPLETE";
    default: return "unknown";
    }
}
