/*
 * migrate.c — format_version 6 -> protocol 7, into a new folder (see
 * tstable/migrate.h).
 *
 * It reads top to bottom as the migration runs:
 *   1. check the locations (source a table folder, destination new, neither
 *      inside the other) and the source's format from its first commit: a
 *      protocol-7 table is refused before anything is written;
 *   2. make a private staging folder beside the destination;
 *   3. rewrite the log: each commit 1..head is parsed by the ordinary
 *      format_version-6 parser (every log check applies), its TableMetas
 *      and coverage pointers switched to protocol 7 in the model, and
 *      printed by the ordinary commit printer, which writes the protocol-7
 *      shape (index_granularity, "uint64" IndexKind, "u_int64" IndexValue)
 *      from the kind's protocol. One commit is held at a time, so memory is
 *      bounded by the largest commit, not by the log. Then CURRENT;
 *   4. carry every file outside _timeseries_log: hard link, or a streamed
 *      copy when linking is refused (another file system, no permission)
 *      or the caller asked for copies;
 *   5. prove the result: open the staging folder as a table (a full replay
 *      with every state check, since it has no checkpoint), require its
 *      version, its protocol and every live segment, sidecar and coverage
 *      snapshot file; then write a checkpoint when the log is long;
 *   6. require that the source did not move meanwhile, fsync, and rename
 *      the staging folder to the destination (never replacing anything);
 *   7. on any failure, remove the staging folder and keep the first error.
 *
 * Why the model rather than a JSON rewrite: the parser already knows every
 * rule of both formats (and refuses what the reference refuses), and the
 * printer already writes what tstable's own protocol-7 tables hold, so the
 * migrated log is byte-for-byte what tstable would have written.
 */
#include "checkpoint.h"
#include "fail.h"
#include "fsio.h"
#include "log.h"
#include "table_internal.h"
#include "tstable/migrate.h"

#include <dirent.h>
#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

typedef struct migration {
    const char *src;
    const char *dst;
    char *parent;     /* the destination's parent folder */
    char *stage;      /* the staging folder, once made */
    bool link_failed; /* a link was refused: copy the rest */
    tst_migrate_options opts;
    tst_migrate_report report;
    uint64_t head;
} migration;

/* ---- 1. locations and format ------------------------------------------- */

static bool is_remote(const char *location)
{
    const char *p = location;
    while (*p && (*p == '+' || *p == '.' || *p == '-' || (*p >= 'a' && *p <= 'z') ||
                  (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9')))
        p++;
    return p - location > 1 && strncmp(p, "://", 3) == 0;
}

/* The parent folder of a path ("." for a bare name), malloc'd. */
static char *parent_folder(const char *path)
{
    size_t len = strlen(path);
    while (len > 1 && path[len - 1] == '/')
        len--;
    while (len > 0 && path[len - 1] != '/')
        len--;
    while (len > 1 && path[len - 1] == '/')
        len--;
    char *p = len == 0 ? strdup(".") : strndup(path, len);
    if (!p)
        tst_fail(TST_ENOMEM, "out of memory");
    return p;
}

/* The last component of a path, without trailing slashes: copied into buf. */
static void base_name(const char *path, char *buf, size_t cap)
{
    size_t len = strlen(path);
    while (len > 1 && path[len - 1] == '/')
        len--;
    size_t start = len;
    while (start > 0 && path[start - 1] != '/')
        start--;
    snprintf(buf, cap, "%.*s", (int)(len - start), path + start);
}

/* True when `inner` is `outer` or lies under it (both canonical absolute paths). */
static bool path_within(const char *inner, const char *outer)
{
    size_t n = strlen(outer);
    if (strcmp(outer, "/") == 0)
        return true;
    return strncmp(inner, outer, n) == 0 && (inner[n] == '\0' || inner[n] == '/');
}

static int check_locations(migration *m)
{
    if (!m->src || !m->dst || !*m->src || !*m->dst)
        return tst_fail(TST_EINVAL, "migrate needs a source table and a destination folder");
    if (is_remote(m->src) || is_remote(m->dst))
        return tst_fail(TST_EUNSUPPORTED, "migrate works on local folders only (got %s -> %s)",
                        m->src, m->dst);
    struct stat st;
    if (stat(m->src, &st) != 0 || !S_ISDIR(st.st_mode)) {
        tst_fail(TST_ENOTFOUND, "cannot migrate %s: the folder does not exist", m->src);
        tst_fail_set_path(m->src);
        return TST_ENOTFOUND;
    }
    if (lstat(m->dst, &st) == 0) {
        tst_fail(TST_EEXISTS, "cannot migrate into %s: it already exists; migrate writes a new "
                 "folder and never replaces one, so give a path that does not exist yet", m->dst);
        tst_fail_set_path(m->dst);
        return TST_EEXISTS;
    }
    if (!(m->parent = parent_folder(m->dst)))
        return TST_ENOMEM;
    if (stat(m->parent, &st) != 0 || !S_ISDIR(st.st_mode)) {
        tst_fail(TST_ENOTFOUND, "cannot migrate into %s: its parent folder %s does not exist; "
                 "create it first", m->dst, m->parent);
        tst_fail_set_path(m->parent);
        return TST_ENOTFOUND;
    }
    char src_real[PATH_MAX], parent_real[PATH_MAX], name[NAME_MAX + 1], dst_real[PATH_MAX + NAME_MAX + 2];
    if (!realpath(m->src, src_real) || !realpath(m->parent, parent_real))
        return tst_fail_errno(TST_EIO, errno, "cannot resolve %s or %s", m->src, m->parent);
    base_name(m->dst, name, sizeof name);
    if (strcmp(name, ".") == 0 || strcmp(name, "..") == 0 || name[0] == '\0')
        return tst_fail(TST_EINVAL, "cannot migrate into %s: name the new folder", m->dst);
    snprintf(dst_real, sizeof dst_real, "%s/%s", strcmp(parent_real, "/") ? parent_real : "",
             name);
    if (path_within(dst_real, src_real))
        return tst_fail(TST_EINVAL, "cannot migrate %s into %s: the destination lies inside the "
                        "source table; choose a folder outside it", m->src, m->dst);
    if (path_within(src_real, dst_real))
        return tst_fail(TST_EINVAL, "cannot migrate %s into %s: the source lies inside the "
                        "destination", m->src, m->dst);
    return 0;
}

/* The first commit decides: a format_version-6 TableMeta, or a refusal. */
static int check_source_format(migration *m)
{
    int rc = tst_log_head(m->src, &m->head);
    if (rc != 0)
        return tst_fail_context(rc, "cannot migrate %s", m->src);
    if (m->head == 0) {
        tst_fail(TST_EEMPTY, "cannot migrate %s: it is not a table (no commits in %s/%s)",
                 m->src, m->src, TST_LOG_DIR);
        tst_fail_set_path(m->src);
        return TST_EEMPTY;
    }
    tst_commit c;
    rc = tst_log_load_commit_for(m->src, 1, 0, &c);
    if (rc != 0)
        return tst_fail_context(rc, "cannot migrate %s", m->src);
    const tst_table_meta *meta = NULL;
    for (size_t i = 0; i < c.action_count && !meta; i++)
        if (c.actions[i].type == TST_ACTION_UPDATE_TABLE_META)
            meta = &c.actions[i].u.meta;
    if (!meta)
        rc = tst_fail(TST_ECORRUPT, "cannot migrate %s: its commit 1 holds no TableMeta",
                      m->src);
    else if (meta->protocol_version == TST_PROTOCOL_VERSION)
        rc = tst_fail(TST_EINVAL, "cannot migrate %s: it is already a protocol-7 table; nothing "
                      "to migrate (tstable reads and writes it as it is)", m->src);
    else if (meta->generic)
        rc = tst_fail(TST_EUNSUPPORTED, "cannot migrate %s: its table kind is Generic, not "
                      "TimeSeries; only time-series tables have a protocol-7 form", m->src);
    tst_commit_clear(&c);
    if (rc != 0)
        tst_fail_set_path(m->src);
    return rc;
}

/* ---- 2. staging -------------------------------------------------------- */

static int make_stage(migration *m)
{
    char uuid[37], name[NAME_MAX + 1];
    int rc = tst_io_uuid(uuid);
    if (rc != 0)
        return rc;
    base_name(m->dst, name, sizeof name);
    size_t cap = strlen(m->parent) + strlen(name) + 64;
    if (!(m->stage = malloc(cap)))
        return tst_fail(TST_ENOMEM, "out of memory");
    snprintf(m->stage, cap, "%s/.%.150s.migrating-%s", m->parent, name, uuid);
    rc = tst_io_mkdir_new(m->stage);
    if (rc != 0) {
        free(m->stage);
        m->stage = NULL;
        return tst_fail_context(rc, "cannot stage the migration beside %s", m->dst);
    }
    char *log = tst_io_join(m->stage, TST_LOG_DIR);
    rc = log ? tst_io_mkdir_new(log) : TST_ENOMEM;
    free(log);
    return rc;
}

/* ---- 3. the log -------------------------------------------------------- */

/* Switches one commit's actions to protocol 7, counting what changed. */
static int to_protocol7(migration *m, tst_commit *c, const char *origin)
{
    for (size_t i = 0; i < c->action_count; i++) {
        tst_action *a = &c->actions[i];
        if (a->type == TST_ACTION_UPDATE_TABLE_META) {
            if (a->u.meta.protocol_version != 0 || a->u.meta.format_version != TST_FORMAT_VERSION)
                return tst_fail(TST_ECORRUPT, "cannot migrate %s: %s, action %zu is not a "
                                "format_version-6 TableMeta; the table changes format "
                                "mid-history", m->src, origin, i);
            a->u.meta.format_version = 0;
            a->u.meta.protocol_version = TST_PROTOCOL_VERSION;
            a->u.meta.index.kind.protocol = TST_PROTOCOL_VERSION;
            m->report.metas_rewritten++;
        } else if (a->type == TST_ACTION_UPDATE_TABLE_COVERAGE) {
            a->u.coverage.index_kind.protocol = TST_PROTOCOL_VERSION;
            m->report.coverage_pointers_rewritten++;
        }
    }
    return 0;
}

static int rewrite_commit(migration *m, uint64_t version)
{
    char origin[48];
    snprintf(origin, sizeof origin, "commit %" PRIu64, version);
    tst_commit c;
    int rc = tst_log_load_commit_for(m->src, version, TST_FORMAT_VERSION, &c);
    if (rc != 0)
        return tst_fail_context(rc, "cannot migrate %s", m->src);
    rc = to_protocol7(m, &c, origin);
    char *json = NULL;
    size_t len = 0;
    if (rc == 0)
        rc = tst_commit_serialize(&c, &json, &len);
    tst_commit_clear(&c);
    char *path = rc == 0 ? tst_log_commit_path(m->stage, version) : NULL;
    if (rc == 0)
        rc = path ? tst_io_write_new(path, json, len) : TST_ENOMEM;
    free(path);
    free(json);
    if (rc == 0)
        m->report.commits_rewritten++;
    return rc;
}

static int write_current(migration *m)
{
    char *path = tst_io_join(m->stage, TST_LOG_DIR "/" TST_CURRENT_FILE);
    char text[32];
    int n = snprintf(text, sizeof text, "%" PRIu64 "\n", m->head);
    int rc = path ? tst_io_write_new(path, text, (size_t)n) : TST_ENOMEM;
    free(path);
    return rc;
}

/* Entries of the source log that are not carried: checkpoints, abandoned
 * commits, temp files, commits past the head (never complete ones). */
static uint64_t count_entries(const char *dir, bool top, uint64_t head)
{
    DIR *d = opendir(dir);
    if (!d)
        return 0;
    uint64_t n = 0;
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        const char *name = e->d_name;
        if (strcmp(name, ".") == 0 || strcmp(name, "..") == 0)
            continue;
        unsigned long long v = 0;
        int used = 0;
        if (top && (strcmp(name, TST_CURRENT_FILE) == 0 || strcmp(name, "CURRENT.lock") == 0))
            continue;
        if (top && strlen(name) == 15 && sscanf(name, "%10llu.json%n", &v, &used) == 1 &&
            used == 15 && v >= 1 && v <= head)
            continue;
        char *path = tst_io_join(dir, name);
        struct stat st;
        if (path && lstat(path, &st) == 0 && S_ISDIR(st.st_mode))
            n += count_entries(path, false, head);
        else
            n++;
        free(path);
    }
    closedir(d);
    return n;
}

static int rewrite_log(migration *m)
{
    int rc = 0;
    for (uint64_t v = 1; rc == 0 && v <= m->head; v++)
        rc = rewrite_commit(m, v);
    if (rc == 0)
        rc = write_current(m);
    char *log = tst_io_join(m->src, TST_LOG_DIR);
    if (log)
        m->report.log_entries_dropped = count_entries(log, true, m->head);
    free(log);
    return rc;
}

/* ---- 4. the files ------------------------------------------------------ */

static int carry_file(migration *m, const char *from, const char *to, uint64_t size)
{
    if (!m->opts.copy && !m->link_failed) {
        int rc = tst_io_link_new(from, to);
        if (rc == 0) {
            m->report.files_linked++;
            m->report.bytes_linked += size;
            return 0;
        }
        if (rc == TST_EEXISTS)
            return rc;
        m->link_failed = true; /* another file system, or links refused: copy from now on */
    }
    uint64_t bytes = 0;
    int rc = tst_io_copy_new(from, to, &bytes);
    if (rc != 0)
        return tst_fail_context(rc, "cannot migrate %s", m->src);
    m->report.files_copied++;
    m->report.bytes_copied += bytes;
    return 0;
}

/* Carries the folder `rel` ("" for the root) of the source, depth first. */
static int carry_folder(migration *m, const char *rel)
{
    char *from_dir = *rel ? tst_io_join(m->src, rel) : strdup(m->src);
    char *to_dir = *rel ? tst_io_join(m->stage, rel) : strdup(m->stage);
    DIR *d = from_dir ? opendir(from_dir) : NULL;
    int rc = !from_dir || !to_dir ? tst_fail(TST_ENOMEM, "out of memory") : 0;
    if (rc == 0 && !d)
        rc = tst_fail_errno(TST_EIO, errno, "cannot migrate %s: cannot list %s", m->src,
                            from_dir);
    struct dirent *e;
    while (rc == 0 && (e = readdir(d)) != NULL) {
        if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0 ||
            (!*rel && strcmp(e->d_name, TST_LOG_DIR) == 0))
            continue;
        char *sub = *rel ? tst_io_join(rel, e->d_name) : strdup(e->d_name);
        char *from = sub ? tst_io_join(m->src, sub) : NULL;
        char *to = sub ? tst_io_join(m->stage, sub) : NULL;
        struct stat st;
        if (!sub || !from || !to)
            rc = tst_fail(TST_ENOMEM, "out of memory");
        else if (lstat(from, &st) != 0)
            rc = tst_fail_errno(TST_EIO, errno, "cannot migrate %s: cannot stat %s", m->src,
                                from);
        else if (S_ISDIR(st.st_mode) && (rc = tst_io_mkdir_new(to)) == 0)
            rc = carry_folder(m, sub);
        else if (S_ISREG(st.st_mode))
            rc = carry_file(m, from, to, (uint64_t)st.st_size);
        else if (!S_ISDIR(st.st_mode))
            rc = tst_fail(TST_EINVAL, "cannot migrate %s: %s is a %s; a table folder holds only "
                          "folders and regular files", m->src, from,
                          S_ISLNK(st.st_mode) ? "symbolic link" : "special file");
        free(sub);
        free(from);
        free(to);
    }
    if (d)
        closedir(d);
    if (rc == 0)
        rc = tst_io_fsync_dir(to_dir);
    free(from_dir);
    free(to_dir);
    return rc;
}

/* ---- 5. proving the result --------------------------------------------- */

static int require_file(migration *m, const char *rel, const char *what)
{
    char *path = tst_io_join(m->stage, rel);
    struct stat st;
    int rc = !path ? TST_ENOMEM : stat(path, &st) == 0 && S_ISREG(st.st_mode) ? 0 : 1;
    free(path);
    if (rc == 1) {
        rc = tst_fail(TST_ECORRUPT, "cannot migrate %s: its %s %s is missing (the source table "
                      "is damaged at version %" PRIu64 "); nothing was written", m->src, what,
                      rel, m->head);
        tst_fail_set_path(m->src);
    }
    return rc;
}

static int check_live_files(migration *m, const tst_table *t)
{
    int rc = 0;
    size_t n = tst_table_segment_count(t);
    for (size_t i = 0; rc == 0 && i < n; i++) {
        const tst_segment *s = tst_table_segment_at(t, i);
        rc = require_file(m, s->path, "segment");
        if (rc == 0 && s->coverage_path)
            rc = require_file(m, s->coverage_path, "segment coverage sidecar");
    }
    const char *snapshot = tst_table_coverage_path(t, NULL);
    if (rc == 0 && snapshot)
        rc = require_file(m, snapshot, "table coverage snapshot");
    m->report.live_segments = n;
    return rc;
}

static int prove(migration *m)
{
    tst_table *t = NULL;
    int rc = tst_table_open(&t, m->stage);
    if (rc != 0)
        return tst_fail_context(rc, "cannot migrate %s: the rewritten log does not open; "
                                "nothing was written", m->src);
    const tst_table_meta *meta = tst_table_get_meta(t);
    if (tst_table_version(t) != m->head || meta->protocol_version != TST_PROTOCOL_VERSION)
        rc = tst_fail(TST_ECORRUPT, "cannot migrate %s: the rewritten log opens at version %"
                      PRIu64 " protocol %u, expected version %" PRIu64 " protocol 7", m->src,
                      tst_table_version(t), (unsigned)meta->protocol_version, m->head);
    if (rc == 0)
        rc = check_live_files(m, t);
    if (rc == 0 && m->head >= TST_CHECKPOINT_INTERVAL) {
        rc = tst_checkpoint_write(m->stage, tst_table_state(t));
        m->report.checkpoint_written = rc == 0;
    }
    tst_table_free(t);
    return rc;
}

/* ---- 6. publishing ----------------------------------------------------- */

static int publish(migration *m)
{
    uint64_t now = 0;
    int rc = tst_log_head(m->src, &now);
    if (rc == 0 && now != m->head) {
        rc = tst_fail(TST_ECONFLICT, "cannot migrate %s: it moved from version %" PRIu64
                      " to %" PRIu64 " while being migrated; stop its writers and run the "
                      "migration again", m->src, m->head, now);
        tst_fail_set_conflict(m->head, now);
    }
    char *log = rc == 0 ? tst_io_join(m->stage, TST_LOG_DIR) : NULL;
    if (rc == 0)
        rc = log ? tst_io_fsync_dir(log) : TST_ENOMEM;
    free(log);
    if (rc == 0)
        rc = tst_io_fsync_dir(m->stage);
    if (rc == 0) {
        rc = tst_io_rename_new(m->stage, m->dst);
        if (rc == TST_EEXISTS)
            rc = tst_fail(TST_EEXISTS, "cannot migrate into %s: it was created by someone else "
                          "while the migration ran; nothing was written there", m->dst);
    }
    if (rc != 0)
        return rc;
    free(m->stage);
    m->stage = NULL; /* published: nothing left to clean up */
    rc = tst_io_fsync_dir(m->parent);
    if (rc != 0)
        rc = tst_fail_context(TST_EAMBIGUOUS, "migrated %s into %s, but its parent folder could "
                              "not be synced; the new table may not survive a power loss until "
                              "it is", m->src, m->dst);
    return rc;
}

/* ---- 7. the whole, and cleaning up ------------------------------------- */

/* Removes the staging folder, keeping the first failure as the last error. */
static void discard_stage(migration *m, int rc)
{
    if (!m->stage)
        return;
    const tst_error *e = tst_error_last();
    char *message = strdup(e->message);
    uint64_t expected = e->expected_version, found = e->found_version;
    (void)tst_io_remove_tree(m->stage);
    tst_fail(rc, "%s", message ? message : "migration failed");
    if (rc == TST_ECONFLICT)
        tst_fail_set_conflict(expected, found);
    free(message);
}

int tst_table_migrate_with(const char *src, const char *dst, const tst_migrate_options *opts,
                           tst_migrate_report *out)
{
    migration m;
    memset(&m, 0, sizeof m);
    m.src = src;
    m.dst = dst;
    m.opts = opts ? *opts : (tst_migrate_options)TST_MIGRATE_OPTIONS_INIT;
    int rc = check_locations(&m);
    if (rc == 0)
        rc = check_source_format(&m);
    if (rc == 0)
        rc = make_stage(&m);
    if (rc == 0)
        rc = rewrite_log(&m);
    if (rc == 0)
        rc = carry_folder(&m, "");
    if (rc == 0)
        rc = prove(&m);
    if (rc == 0)
        rc = publish(&m);
    m.report.version = m.head;
    if (rc != 0)
        discard_stage(&m, rc);
    else if (out)
        *out = m.report;
    free(m.stage);
    free(m.parent);
    return rc;
}

int tst_table_migrate(const char *src, const char *dst, tst_migrate_report *out)
{
    return tst_table_migrate_with(src, dst, NULL, out);
}
