/*
 * log.c — CURRENT, commit files and the commit protocol (see log.h).
 *
 * The only shared mutable name in the log is CURRENT; everything else is
 * created once and never rewritten. Publishing CURRENT takes an advisory
 * flock on CURRENT.lock so that two writers of this library cannot move it
 * backwards; a crashed holder releases the lock with its process.
 */
#include "log.h"

#include "diagnostics.h"
#include "fail.h"
#include "fsio.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

static char *log_file(const char *root, const char *name)
{
    size_t cap = strlen(root) + strlen(TST_LOG_DIR) + strlen(name) + 3;
    char *p = malloc(cap);
    if (!p) {
        tst_fail(TST_ENOMEM, "out of memory");
        return NULL;
    }
    snprintf(p, cap, "%s/%s/%s", root, TST_LOG_DIR, name);
    return p;
}

char *tst_log_commit_path(const char *root, uint64_t version)
{
    char name[32];
    snprintf(name, sizeof name, "%010" PRIu64 ".json", version);
    return log_file(root, name);
}

int tst_log_parse_current(const char *text, const char *path, uint64_t *out)
{
    const char *p = text;
    while (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r')
        p++;
    if (*p == '\0')
        return tst_fail(TST_ECORRUPT, "CURRENT has empty content at %s; expected a version number",
                        path);
    uint64_t v = 0;
    const char *digits = p;
    while (*p >= '0' && *p <= '9') {
        unsigned d = (unsigned)(*p - '0');
        if (v > (UINT64_MAX - d) / 10)
            return tst_fail(TST_ECORRUPT, "CURRENT has invalid content at %s: number too large",
                            path);
        v = v * 10 + d;
        p++;
    }
    const char *end = p;
    while (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r')
        p++;
    if (end == digits || *p != '\0') {
        int shown = 0; /* up to 40 bytes of the first line: no newline inside the quotes */
        while (shown < 40 && (unsigned char)digits[shown] >= 0x20)
            shown++;
        return tst_fail(TST_ECORRUPT, "CURRENT has invalid content at %s: '%.*s'", path, shown,
                        digits);
    }
    *out = v;
    return 0;
}

int tst_log_read_current(const char *root, uint64_t *out_version)
{
    char *path = log_file(root, TST_CURRENT_FILE);
    if (!path)
        return TST_ENOMEM;
    char *text = NULL;
    int rc = tst_io_read_file(path, 4096, &text, NULL);
    if (rc == TST_ENOTFOUND) {
        *out_version = 0;
        rc = 0;
    } else if (rc == 0) {
        rc = tst_log_parse_current(text, path, out_version);
        if (rc != 0)
            tst_fail_set_path(path);
    }
    free(text);
    free(path);
    return rc;
}

static int check_commit_header(const tst_commit *c, uint64_t version, const char *path)
{
    if (c->version != version)
        return tst_fail(TST_ECORRUPT,
                        "commit %s holds version %" PRIu64 ", but its file name says %" PRIu64,
                        path, c->version, version);
    if (c->base_version != version - 1)
        return tst_fail(TST_ECORRUPT,
                        "commit %s has base_version %" PRIu64 ", expected %" PRIu64, path,
                        c->base_version, version - 1);
    return 0;
}

int tst_log_load_commit(const char *root, uint64_t version, tst_commit *out)
{
    return tst_log_load_commit_for(root, version, 0, out);
}

int tst_log_load_commit_for(const char *root, uint64_t version, uint32_t protocol,
                            tst_commit *out)
{
    memset(out, 0, sizeof *out);
    char *path = tst_log_commit_path(root, version);
    if (!path)
        return TST_ENOMEM;
    char *text = NULL;
    size_t len = 0;
    int rc = tst_io_read_file(path, TST_COMMIT_MAX_BYTES, &text, &len);
    if (rc == TST_ENOTFOUND)
        tst_fail(TST_ENOTFOUND, "commit version %" PRIu64 " is missing: %s does not exist",
                 version, path);
    if (rc == 0)
        rc = tst_commit_parse_for(out, text, len, path, protocol);
    if (rc == 0) {
        rc = check_commit_header(out, version, path);
        if (rc != 0)
            tst_commit_clear(out);
    }
    if (rc != 0)
        tst_fail_set_path(path);
    free(text);
    free(path);
    return rc;
}

/* True when `version`'s commit file exists and is a complete, valid commit. */
static int commit_is_complete(const char *root, uint64_t version, int *out_complete)
{
    tst_commit c;
    int rc = tst_log_load_commit(root, version, &c);
    tst_commit_clear(&c);
    *out_complete = rc == 0;
    if (rc == TST_ENOTFOUND || rc == TST_ECORRUPT || rc == TST_EUNSUPPORTED || rc == 0)
        return 0;
    return rc;
}

/*
 * CURRENT as a hint: unreadable text (a torn or hand-edited file) is handled
 * like a missing CURRENT, reading the log from its commits, with a warning;
 * the next commit rewrites it. I/O errors still fail.
 */
static int read_current_hint(const char *root, uint64_t *out_version)
{
    int rc = tst_log_read_current(root, out_version);
    if (rc != TST_ECORRUPT)
        return rc;
    /* Once per table, content and thread: a session re-reads the log on every
     * statement. The message names both. */
    static _Thread_local char warned[512];
    const char *why = tst_error_last()->message;
    if (strncmp(warned, why, sizeof warned - 1) != 0)
        tst_log_event(TST_LOG_WARN, "log.current_invalid",
                      "%s; reading the log from its commit files instead (the next commit "
                      "rewrites CURRENT)",
                      why);
    snprintf(warned, sizeof warned, "%s", why);
    tst_error_clear();
    *out_version = 0;
    return 0;
}

/* The highest NNNNNNNNNN.json in the log folder (0 if none): where the log ends. */
static uint64_t last_commit_file(const char *root)
{
    char *dir = log_file(root, "");
    DIR *d = dir ? opendir(dir) : NULL;
    uint64_t last = 0;
    for (struct dirent *e; d && (e = readdir(d)) != NULL;) {
        char *end = NULL;
        unsigned long long v = strtoull(e->d_name, &end, 10);
        if (end == e->d_name + 10 && strcmp(end, ".json") == 0 && v > last)
            last = v;
    }
    if (d)
        closedir(d);
    free(dir);
    return last;
}

/* Fails when CURRENT names a commit whose file does not exist. */
static int check_current_exists(const char *root, uint64_t head)
{
    char *path = tst_log_commit_path(root, head);
    if (!path)
        return TST_ENOMEM;
    struct stat st;
    int rc = 0;
    if (stat(path, &st) != 0 && errno == ENOENT) {
        char *current = log_file(root, TST_CURRENT_FILE);
        uint64_t last = last_commit_file(root);
        rc = tst_fail(TST_ECORRUPT,
                      "CURRENT says %" PRIu64 " but the log ends at version %" PRIu64
                      " (%s does not exist); if commits were not lost, write %" PRIu64
                      " to %s",
                      head, last, path, last, current ? current : TST_CURRENT_FILE);
        tst_fail_set_path(current ? current : path);
        free(current);
    }
    free(path);
    return rc;
}

int tst_log_head(const char *root, uint64_t *out_version)
{
    uint64_t head;
    int rc = read_current_hint(root, &head);
    if (rc == 0 && head > 0)
        rc = check_current_exists(root, head);
    if (rc != 0)
        return rc;
    while (head < UINT64_MAX) {
        int complete = 0;
        rc = commit_is_complete(root, head + 1, &complete);
        if (rc != 0)
            return rc;
        if (!complete)
            break;
        head++;
    }
    *out_version = head;
    return 0;
}

/* ---- publishing CURRENT ------------------------------------------------ */

int tst_log_publish_current(const char *root, uint64_t version)
{
    char *lock_path = log_file(root, "CURRENT.lock");
    char *current_path = log_file(root, TST_CURRENT_FILE);
    int rc = (lock_path && current_path) ? 0 : TST_ENOMEM;
    int fd = -1;
    if (rc == 0) {
        fd = open(lock_path, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
        if (fd < 0 || flock(fd, LOCK_EX) != 0)
            rc = tst_fail_errno(TST_EIO, errno, "cannot lock %s", lock_path);
    }
    uint64_t published = 0;
    if (rc == 0)
        rc = read_current_hint(root, &published);
    if (rc == 0 && published < version) {
        char text[32];
        int n = snprintf(text, sizeof text, "%" PRIu64 "\n", version);
        rc = tst_io_replace(current_path, text, (size_t)n);
    }
    if (fd >= 0)
        close(fd); /* releases the flock */
    free(lock_path);
    free(current_path);
    return rc;
}

/* ---- committing -------------------------------------------------------- */

static tst_timestamp now_utc(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    tst_timestamp t = {(int64_t)ts.tv_sec, (uint32_t)ts.tv_nsec};
    return t;
}

static int conflict(uint64_t expected, uint64_t found, const char *root, const char *why)
{
    tst_fail(TST_ECONFLICT,
             "commit conflict on table %s: expected version %" PRIu64 ", but found %" PRIu64
             "%s; reload the table and retry",
             root, expected, found, why);
    tst_fail_set_conflict(expected, found);
    tst_fail_set_path(root);
    return TST_ECONFLICT;
}

/* Moves an incomplete commit file left by a dead writer out of the way.
 * Returns 1 if it was moved, 0 if it is too young to be declared dead. */
static int set_aside_if_abandoned(const char *final_path, int *out_moved)
{
    *out_moved = 0;
    struct stat st;
    if (stat(final_path, &st) != 0)
        return 0; /* gone meanwhile: let the caller retry */
    if (time(NULL) - st.st_mtime < TST_STALE_COMMIT_SECONDS)
        return 0;
    char uuid[37];
    int rc = tst_io_uuid(uuid);
    if (rc != 0)
        return rc;
    size_t cap = strlen(final_path) + 64;
    char *aside = malloc(cap);
    if (!aside)
        return tst_fail(TST_ENOMEM, "out of memory");
    snprintf(aside, cap, "%s.abandoned-%s", final_path, uuid);
    rc = tst_io_rename(final_path, aside);
    free(aside);
    if (rc == 0)
        *out_moved = 1;
    return rc;
}

/* The winner of `version` is decided; report what this writer lost to. */
static int report_lost_race(const char *root, uint64_t expected, const char *final_path,
                            int *out_retry)
{
    *out_retry = 0;
    int complete = 0;
    int rc = commit_is_complete(root, expected + 1, &complete);
    if (rc != 0)
        return rc;
    if (!complete) {
        int moved = 0;
        rc = set_aside_if_abandoned(final_path, &moved);
        if (rc != 0)
            return rc;
        if (moved) {
            *out_retry = 1;
            return 0;
        }
        return conflict(expected, expected + 1, root,
                        " (its commit file is still being written by another writer)");
    }
    uint64_t head = expected + 1;
    rc = tst_log_head(root, &head);
    if (rc != 0)
        return rc;
    return conflict(expected, head, root, "");
}

static int write_commit_file(const char *root, uint64_t expected, const char *json, size_t len)
{
    char *final_path = tst_log_commit_path(root, expected + 1);
    char uuid[37];
    int rc = final_path ? tst_io_uuid(uuid) : TST_ENOMEM;
    char *tmp = NULL;
    if (rc == 0) {
        size_t cap = strlen(final_path) + 64;
        tmp = malloc(cap);
        if (!tmp)
            rc = tst_fail(TST_ENOMEM, "out of memory");
        else
            snprintf(tmp, cap, "%s.%s.tmp", final_path, uuid);
    }
    if (rc == 0)
        rc = tst_io_write_new(tmp, json, len);
    if (rc == 0) {
        for (int attempt = 0; attempt < 2; attempt++) {
            rc = tst_io_link_new(tmp, final_path);
            if (rc != TST_EEXISTS)
                break;
            int retry = 0;
            rc = report_lost_race(root, expected, final_path, &retry);
            if (!retry)
                break;
            rc = TST_EEXISTS;
        }
        int keep = rc;
        int unlink_rc = tst_io_unlink(tmp);
        rc = keep != 0 ? keep : unlink_rc;
        /* A failed unlink of the temp leaves a harmless *.tmp: the commit stands. */
        if (keep == 0)
            rc = 0;
    }
    free(tmp);
    free(final_path);
    return rc;
}

int tst_log_commit(const char *root, uint64_t expected, const tst_action *actions, size_t count,
                   uint64_t *out_version)
{
    if (expected == UINT64_MAX)
        return tst_fail(TST_ECORRUPT, "table %s: version counter overflow", root);
    uint64_t head = 0;
    int rc = tst_log_head(root, &head);
    if (rc != 0)
        return rc;
    if (head != expected)
        return conflict(expected, head, root, "");

    tst_commit commit = {expected + 1, expected, now_utc(), (tst_action *)actions, count};
    char *json = NULL;
    size_t len = 0;
    rc = tst_commit_serialize(&commit, &json, &len);
    if (rc != 0)
        return rc;

    char *dir = tst_io_join(root, TST_LOG_DIR);
    rc = dir ? tst_io_mkdirs(dir) : TST_ENOMEM;
    if (rc == 0)
        rc = write_commit_file(root, expected, json, len);
    if (rc == 0 && tst_io_fsync_dir(dir) != 0) {
        /* The commit file is visible but may not survive a power loss. */
        rc = tst_fail_context(TST_EAMBIGUOUS,
                              "commit %" PRIu64 " of table %s was written but its folder could "
                              "not be synced; reopen the table to see whether it stands",
                              expected + 1, root);
    }
    free(json);
    if (rc != 0) {
        free(dir);
        return rc;
    }
    /* Durable now. A failure to publish CURRENT does not undo the commit:
     * readers roll forward, and the next commit publishes again. */
    (void)tst_log_publish_current(root, expected + 1);
    free(dir);
    if (out_version)
        *out_version = expected + 1;
    return 0;
}
