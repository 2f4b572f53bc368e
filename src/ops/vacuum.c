/*
 * vacuum.c — removing the files no retained version needs (see
 * tstable/vacuum.h, which explains retention and what is recognised).
 *
 * It reads top to bottom as a vacuum runs:
 *   1. the cutoff and the retained versions V0..head (tst_history_version_at,
 *      never below a previous vacuum's marker);
 *   2. the needed paths: the state at V0 (state_at.c: a checkpoint plus a
 *      replay) gives the live segments, their sidecars and the coverage
 *      snapshot; commits V0+1..head add what they name. Each path keeps the
 *      oldest retained version naming it. Segments the log removed before
 *      V0 are remembered as the table's own files (recognised whatever
 *      their names, e.g. a reference 0.4.0 copy named after its source);
 *   3. the checkpoints to keep: the newest at or below V0, all newer ones,
 *      and the one _last_checkpoint names;
 *   4. the listing of data/, _coverage/ and the log's checkpoints, temps and
 *      abandoned commits, each file classified (first match wins): needed,
 *      needed checkpoint, unrecognised, within retention, removable;
 *   5. apply: the marker, a second look at the log for commits that landed
 *      meanwhile, then per candidate a fresh lstat (gone: already_absent;
 *      size or mtime changed: kept) and an unlink; last, staging folders
 *      that were emptied.
 * It needs no DuckDB: a removable Parquet file's validity is judged by its
 * magic bytes and footer length, which is what a reader checks first.
 * Memory is proportional to the number of files and needed paths.
 */
#include "fail.h"
#include "fsio.h"
#include "history.h"
#include "log.h"
#include "checkpoint.h"
#include "state_at.h"
#include "table_internal.h"
#include "tstable/vacuum.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

/* ---- names ------------------------------------------------------------- */

const char *tst_vacuum_disposition_name(tst_vacuum_disposition d)
{
    static const char *const names[] = {"retained", "removable", "deleted", "already_absent"};
    return (unsigned)d < 4 ? names[d] : "unknown";
}

const char *tst_vacuum_reason_name(tst_vacuum_reason r)
{
    static const char *const names[] = {
        "referenced_by_commit", "within_retention", "changed_since_planning",
        "unrecognized_artifact", "unreferenced", "invalid_or_unreadable_parquet",
        "needed_checkpoint", "superseded_checkpoint", "interrupted_write"};
    return (unsigned)r < sizeof names / sizeof names[0] ? names[r] : "unknown";
}

/* ---- a set of paths, each with the oldest retained version naming it ------ */

typedef struct path_entry {
    char *path;
    uint64_t version;
} path_entry;

typedef struct path_set {
    path_entry *items;
    size_t count, cap;
    bool sorted;
} path_set;

static int set_add(path_set *s, const char *path, uint64_t version)
{
    if (!path)
        return 0;
    if (s->count == s->cap) {
        size_t cap = s->cap ? s->cap * 2 : 64;
        path_entry *grown = realloc(s->items, cap * sizeof *grown);
        if (!grown)
            return tst_fail(TST_ENOMEM, "out of memory collecting the paths vacuum keeps");
        s->items = grown;
        s->cap = cap;
    }
    char *copy = strdup(path);
    if (!copy)
        return tst_fail(TST_ENOMEM, "out of memory collecting the paths vacuum keeps");
    s->items[s->count++] = (path_entry){copy, version};
    s->sorted = false;
    return 0;
}

static int compare_entries(const void *a, const void *b)
{
    const path_entry *x = a, *y = b;
    int cmp = strcmp(x->path, y->path);
    return cmp != 0 ? cmp : (x->version < y->version ? -1 : x->version > y->version);
}

/* Sorts and keeps one entry per path: the one with the oldest version. */
static void set_seal(path_set *s)
{
    if (s->sorted)
        return;
    if (s->count > 1)
        qsort(s->items, s->count, sizeof *s->items, compare_entries);
    size_t kept = 0;
    for (size_t i = 0; i < s->count; i++) {
        if (kept > 0 && strcmp(s->items[kept - 1].path, s->items[i].path) == 0)
            free(s->items[i].path);
        else
            s->items[kept++] = s->items[i];
    }
    s->count = kept;
    s->sorted = true;
}

static const path_entry *set_find(const path_set *s, const char *path)
{
    path_entry key = {(char *)path, 0};
    size_t lo = 0, hi = s->count;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        int cmp = strcmp(s->items[mid].path, key.path);
        if (cmp == 0)
            return &s->items[mid];
        if (cmp < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return NULL;
}

static void set_clear(path_set *s)
{
    for (size_t i = 0; i < s->count; i++)
        free(s->items[i].path);
    free(s->items);
    memset(s, 0, sizeof *s);
}

/* ---- the run ----------------------------------------------------------- */

typedef struct vacuum_run {
    tst_table *table;
    const char *root;
    tst_vacuum_options opts;
    tst_timestamp now;
    uint64_t v0, head;
    path_set needed; /* paths retained versions name */
    path_set known;  /* paths the log named before V0 (the table's own files) */
    uint64_t *checkpoints;
    size_t checkpoint_count;
    uint64_t keep_checkpoint_from; /* checkpoints >= this are kept (0: all) */
    uint64_t pointer_checkpoint;   /* what _last_checkpoint names */
    tst_vacuum_report *report;
    size_t artifact_cap;
} vacuum_run;

static tst_timestamp clock_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (tst_timestamp){(int64_t)ts.tv_sec, (uint32_t)ts.tv_nsec};
}

static bool before(tst_timestamp a, tst_timestamp b)
{
    return a.sec < b.sec || (a.sec == b.sec && a.nsec < b.nsec);
}

/* ---- 1. cutoff and retained versions ------------------------------------ */

static int check_cutoff(vacuum_run *r)
{
    char when[64] = "";
    (void)tst_timestamp_format(r->opts.older_than, when, sizeof when);
    if (before(r->now, r->opts.older_than))
        return tst_fail(TST_EINVAL, "vacuum of table %s: the cutoff %s is in the future; files "
                        "modified before it are removed, so it must be in the past", r->root,
                        when);
    int64_t retention = r->now.sec - r->opts.older_than.sec;
    if (retention < TST_VACUUM_MIN_RETENTION_SECONDS && !r->opts.allow_short_retention)
        return tst_fail(TST_EINVAL, "vacuum of table %s: a retention of %" PRId64 " seconds is "
                        "shorter than the safe minimum of %d (a writer in flight could lose "
                        "its files); use a longer retention, or allow a short one explicitly",
                        r->root, retention, TST_VACUUM_MIN_RETENTION_SECONDS);
    return 0;
}

static int choose_versions(vacuum_run *r)
{
    r->head = tst_table_version(r->table);
    r->v0 = 1;
    if (!r->opts.keep_all_versions) {
        int rc = tst_history_version_at(r->root, r->head, r->opts.older_than, &r->v0);
        if (rc == TST_ENOTFOUND)
            r->v0 = 1; /* the cutoff predates the table: every version is retained */
        else if (rc != 0)
            return rc;
    }
    tst_vacuum_marker marker;
    int rc = tst_history_read_marker(r->root, &marker);
    if (rc != 0)
        return rc;
    if (marker.oldest_readable_version > r->v0 && marker.oldest_readable_version <= r->head)
        r->v0 = marker.oldest_readable_version; /* older versions' files may be gone already */
    return 0;
}

/* ---- 2. needed paths ----------------------------------------------------- */

static int add_segment(path_set *s, const tst_segment *seg, uint64_t version)
{
    int rc = set_add(s, seg->path, version);
    return rc == 0 ? set_add(s, seg->coverage_path, version) : rc;
}

static int collect_state(vacuum_run *r)
{
    tst_state st;
    int rc = tst_state_load_at(&st, r->root, r->v0);
    for (size_t i = 0; rc == 0 && i < st.segment_count; i++)
        rc = add_segment(&r->needed, &st.segments[i], r->v0);
    for (size_t i = 0; rc == 0 && i < st.removed_count; i++)
        rc = add_segment(&r->known, &st.removed[i], 0);
    if (rc == 0 && st.has_coverage)
        rc = set_add(&r->needed, st.coverage.coverage_path, r->v0);
    tst_state_clear(&st);
    return rc;
}

/* Adds what commits from..to name. */
static int collect_commits(vacuum_run *r, uint64_t from, uint64_t to)
{
    uint32_t protocol = tst_table_get_meta(r->table)->protocol_version;
    for (uint64_t v = from; v <= to; v++) {
        tst_commit c;
        int rc = tst_log_load_commit_for(r->root, v, protocol, &c);
        for (size_t i = 0; rc == 0 && i < c.action_count; i++) {
            const tst_action *a = &c.actions[i];
            if (a->type == TST_ACTION_ADD_SEGMENT)
                rc = add_segment(&r->needed, &a->u.segment, v);
            else if (a->type == TST_ACTION_REMOVE_SEGMENT)
                rc = set_add(&r->needed, a->u.remove_path, v);
            else if (a->type == TST_ACTION_UPDATE_TABLE_COVERAGE)
                rc = set_add(&r->needed, a->u.coverage.coverage_path, v);
        }
        tst_commit_clear(&c);
        if (rc != 0)
            return tst_fail_context(rc, "vacuum of table %s: reading commit %" PRIu64, r->root, v);
    }
    return 0;
}

/* ---- 3. checkpoints ------------------------------------------------------- */

static int choose_checkpoints(vacuum_run *r)
{
    int rc = tst_checkpoint_list(r->root, &r->checkpoints, &r->checkpoint_count);
    if (rc == 0)
        rc = tst_checkpoint_latest(r->root, &r->pointer_checkpoint);
    if (rc != 0)
        return rc;
    r->keep_checkpoint_from = 0;
    for (size_t i = 0; i < r->checkpoint_count; i++)
        if (r->checkpoints[i] <= r->v0)
            r->keep_checkpoint_from = r->checkpoints[i];
    return 0;
}

static bool checkpoint_kept(const vacuum_run *r, uint64_t version)
{
    return version >= r->keep_checkpoint_from || version == r->pointer_checkpoint;
}

/* ---- 4. shapes ----------------------------------------------------------- */

typedef enum kind {
    K_UNRECOGNIZED,
    K_PARQUET,    /* a segment file (managed shape) */
    K_COVERAGE,   /* a sidecar or snapshot */
    K_SCRATCH,    /* an update's prepared source */
    K_CHECKPOINT,
    K_TEMP,       /* "<recognised>.<uuid>.tmp" */
    K_ABANDONED,  /* "<version>.json.abandoned-<uuid>" */
    K_LOG         /* a commit, CURRENT, _last_checkpoint, the marker: never considered */
} kind;

static bool is_uuid(const char *s, size_t len)
{
    if (len != 36)
        return false;
    for (size_t i = 0; i < 36; i++) {
        bool dash = i == 8 || i == 13 || i == 18 || i == 23;
        char c = s[i];
        if (dash ? c != '-' : !((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f')))
            return false;
    }
    return true;
}

static bool is_digits(const char *s, size_t len, size_t want)
{
    if (len != want)
        return false;
    for (size_t i = 0; i < len; i++)
        if (s[i] < '0' || s[i] > '9')
            return false;
    return true;
}

static const char *after_prefix(const char *s, const char *prefix)
{
    size_t n = strlen(prefix);
    return strncmp(s, prefix, n) == 0 ? s + n : NULL;
}

static bool ends_with(const char *s, const char *suffix)
{
    size_t n = strlen(s), m = strlen(suffix);
    return n >= m && strcmp(s + n - m, suffix) == 0;
}

/* "<uuid>/<file>" with file accepted by one of the two forms. */
static bool attempt_file(const char *rest, const char *suffix, size_t digits, const char *alt)
{
    const char *slash = strchr(rest, '/');
    if (!slash || !is_uuid(rest, (size_t)(slash - rest)))
        return false;
    const char *file = slash + 1;
    if (strchr(file, '/'))
        return false;
    if (alt && strcmp(file, alt) == 0)
        return true;
    return ends_with(file, suffix) && is_digits(file, strlen(file) - strlen(suffix), digits);
}

static kind log_shape(const char *name)
{
    if (strcmp(name, TST_CURRENT_FILE) == 0 || strcmp(name, "CURRENT.lock") == 0 ||
        strcmp(name, "_last_checkpoint") == 0 ||
        strcmp(name, TST_VACUUM_MARKER) == 0)
        return K_LOG;
    if (strlen(name) == 15 && is_digits(name, 10, 10) && strcmp(name + 10, ".json") == 0)
        return K_LOG;
    const char *aside = strstr(name, ".json.abandoned-");
    if (aside && aside == name + 10 && is_digits(name, 10, 10) &&
        is_uuid(aside + 16, strlen(aside + 16)))
        return K_ABANDONED;
    const char *ck = after_prefix(name, "_checkpoints/");
    if (ck && strlen(ck) == 21 && is_digits(ck, 10, 10) && strcmp(ck + 10, ".checkpoint") == 0)
        return K_CHECKPOINT;
    return K_UNRECOGNIZED;
}

static kind shape(const char *rel);

/* "<base>.<uuid>.tmp" with a recognised base. */
static kind temp_shape(const char *rel)
{
    size_t n = strlen(rel);
    if (n < 42 || !ends_with(rel, ".tmp") || rel[n - 41] != '.' || !is_uuid(rel + n - 40, 36))
        return K_UNRECOGNIZED;
    char base[4096];
    if (n - 41 >= sizeof base)
        return K_UNRECOGNIZED;
    memcpy(base, rel, n - 41);
    base[n - 41] = '\0';
    kind k = shape(base);
    return k == K_UNRECOGNIZED || k == K_TEMP || k == K_ABANDONED ? K_UNRECOGNIZED : K_TEMP;
}

static kind shape(const char *rel)
{
    const char *rest;
    if ((rest = after_prefix(rel, "data/_managed/append/")))
        return ends_with(rest, ".parquet") && is_uuid(rest, strlen(rest) - 8) ? K_PARQUET
                                                                               : temp_shape(rel);
    if ((rest = after_prefix(rel, "data/_staged/entity-rewrite/")) ||
        (rest = after_prefix(rel, "data/_staged/update-rewrite/")) ||
        (rest = after_prefix(rel, "data/_staged/delete-rewrite/")))
        return attempt_file(rest, ".parquet", 10, NULL) ? K_PARQUET : temp_shape(rel);
    if ((rest = after_prefix(rel, "data/_staged/update-prepare/")))
        return attempt_file(rest, ".run", 20, "source.parquet") ? K_SCRATCH : temp_shape(rel);
    if ((rest = after_prefix(rel, "data/")))
        return ends_with(rest, ".parquet") && is_uuid(rest, strlen(rest) - 8) ? K_PARQUET
                                                                               : temp_shape(rel);
    if (after_prefix(rel, "_coverage/segments/") || after_prefix(rel, "_coverage/table/"))
        return ends_with(rel, ".roar") ? K_COVERAGE : temp_shape(rel);
    if ((rest = after_prefix(rel, TST_LOG_DIR "/"))) {
        kind k = log_shape(rest);
        return k != K_UNRECOGNIZED ? k : temp_shape(rel);
    }
    return K_UNRECOGNIZED;
}

/* A complete Parquet file starts and ends with "PAR1" and its footer fits. */
static bool parquet_looks_valid(const char *full, uint64_t size)
{
    if (size < 12)
        return false;
    int fd = open(full, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return false;
    unsigned char head[4], tail[8];
    bool ok = pread(fd, head, 4, 0) == 4 && pread(fd, tail, 8, (off_t)size - 8) == 8;
    close(fd);
    if (!ok || memcmp(head, "PAR1", 4) != 0 || memcmp(tail + 4, "PAR1", 4) != 0)
        return false;
    uint32_t footer = (uint32_t)tail[0] | (uint32_t)tail[1] << 8 | (uint32_t)tail[2] << 16 |
                      (uint32_t)tail[3] << 24;
    return footer > 0 && (uint64_t)footer + 12 <= size;
}

/* ---- 4. listing and classifying ----------------------------------------- */

static int push_artifact(vacuum_run *r, const char *rel, const struct stat *st)
{
    tst_vacuum_report *rep = r->report;
    if (rep->artifact_count == r->artifact_cap) {
        size_t cap = r->artifact_cap ? r->artifact_cap * 2 : 64;
        tst_vacuum_artifact *grown = realloc(rep->artifacts, cap * sizeof *grown);
        if (!grown)
            return tst_fail(TST_ENOMEM, "out of memory listing table %s", r->root);
        rep->artifacts = grown;
        r->artifact_cap = cap;
    }
    tst_vacuum_artifact *a = &rep->artifacts[rep->artifact_count];
    memset(a, 0, sizeof *a);
    if (!(a->path = strdup(rel)))
        return tst_fail(TST_ENOMEM, "out of memory listing table %s", r->root);
    a->size_bytes = (uint64_t)st->st_size;
    a->modified_at = (tst_timestamp){(int64_t)st->st_mtim.tv_sec, (uint32_t)st->st_mtim.tv_nsec};
    rep->artifact_count++;
    return 0;
}

static void classify(vacuum_run *r, tst_vacuum_artifact *a, bool regular)
{
    kind k = regular ? shape(a->path) : K_UNRECOGNIZED;
    const path_entry *need = set_find(&r->needed, a->path);
    uint64_t ck = 0;
    a->disposition = TST_VACUUM_RETAINED;
    a->referenced_version = 0;
    if (need) {
        a->reason = TST_VACUUM_REFERENCED_BY_COMMIT;
        a->referenced_version = need->version;
        return;
    }
    if (k == K_CHECKPOINT) {
        ck = strtoull(a->path + strlen(TST_CHECKPOINT_DIR "/"), NULL, 10);
        if (checkpoint_kept(r, ck)) {
            a->reason = TST_VACUUM_NEEDED_CHECKPOINT;
            return;
        }
    }
    if (k == K_UNRECOGNIZED && regular && set_find(&r->known, a->path))
        k = ends_with(a->path, ".parquet") ? K_PARQUET : K_COVERAGE;
    if (k == K_UNRECOGNIZED) {
        a->reason = TST_VACUUM_UNRECOGNIZED_ARTIFACT;
        return;
    }
    if (!before(a->modified_at, r->opts.older_than)) {
        a->reason = TST_VACUUM_WITHIN_RETENTION;
        return;
    }
    a->disposition = TST_VACUUM_REMOVABLE;
    a->reason = TST_VACUUM_UNREFERENCED;
    if (k == K_CHECKPOINT)
        a->reason = TST_VACUUM_SUPERSEDED_CHECKPOINT;
    else if (k == K_TEMP || k == K_ABANDONED)
        a->reason = TST_VACUUM_INTERRUPTED_WRITE;
    else if (k == K_PARQUET) {
        char *full = tst_io_join(r->root, a->path);
        if (full && !parquet_looks_valid(full, a->size_bytes))
            a->reason = TST_VACUUM_INVALID_PARQUET;
        free(full);
    }
}

/* Lists rel (a folder below the root), recursively when asked. */
static int list_folder(vacuum_run *r, const char *rel, bool recurse)
{
    char *full = tst_io_join(r->root, rel);
    if (!full)
        return TST_ENOMEM;
    DIR *d = opendir(full);
    if (!d) {
        int err = errno, rc = 0;
        if (err != ENOENT && err != ENOTDIR)
            rc = tst_fail_errno(TST_EIO, err, "vacuum of table %s: cannot list %s", r->root, full);
        free(full);
        return rc;
    }
    int rc = 0;
    struct dirent *e;
    while (rc == 0 && (e = readdir(d)) != NULL) {
        if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
            continue;
        char *child = tst_io_join(rel, e->d_name);
        char *child_full = child ? tst_io_join(r->root, child) : NULL;
        struct stat st;
        if (!child_full) {
            rc = TST_ENOMEM;
        } else if (lstat(child_full, &st) != 0) {
            if (errno != ENOENT) /* removed meanwhile: not considered */
                rc = tst_fail_errno(TST_EIO, errno, "vacuum: cannot inspect %s", child_full);
        } else if (S_ISDIR(st.st_mode)) {
            if (recurse || strcmp(child, TST_CHECKPOINT_DIR) == 0)
                rc = list_folder(r, child, recurse);
        } else if (!S_ISREG(st.st_mode) || shape(child) != K_LOG) {
            rc = push_artifact(r, child, &st);
            if (rc == 0)
                classify(r, &r->report->artifacts[r->report->artifact_count - 1],
                         S_ISREG(st.st_mode));
        }
        free(child);
        free(child_full);
    }
    closedir(d);
    free(full);
    return rc;
}

static int compare_artifacts(const void *a, const void *b)
{
    return strcmp(((const tst_vacuum_artifact *)a)->path, ((const tst_vacuum_artifact *)b)->path);
}

static int list_and_classify(vacuum_run *r)
{
    int rc = list_folder(r, "data", true);
    if (rc == 0)
        rc = list_folder(r, "_coverage", true);
    if (rc == 0)
        rc = list_folder(r, TST_LOG_DIR, false);
    if (rc == 0 && r->report->artifact_count > 1)
        qsort(r->report->artifacts, r->report->artifact_count, sizeof *r->report->artifacts,
              compare_artifacts);
    return rc;
}

/* ---- 5. apply ------------------------------------------------------------ */

static int publish_marker(vacuum_run *r)
{
    tst_vacuum_marker m = {r->v0, r->now, r->now.sec - r->opts.older_than.sec};
    int rc = tst_history_write_marker(r->root, &m);
    return rc != 0 ? tst_fail_context(rc, "vacuum of table %s: publishing %s/%s (nothing was "
                                      "deleted)", r->root, TST_LOG_DIR, TST_VACUUM_MARKER)
                   : 0;
}

/* Commits that landed since planning may name a candidate (a writer that
 * referenced an old file): read them, and keep what they name. */
static int replan(vacuum_run *r)
{
    int rc = tst_table_refresh(r->table, NULL);
    uint64_t head = tst_table_version(r->table);
    if (rc == 0 && head > r->head)
        rc = collect_commits(r, r->head + 1, head);
    if (rc == 0) {
        r->head = head;
        set_seal(&r->needed);
    }
    return rc;
}

/* Removes one candidate after checking it is the file that was planned. */
static int delete_one(vacuum_run *r, tst_vacuum_artifact *a)
{
    const path_entry *need = set_find(&r->needed, a->path);
    if (need) {
        a->disposition = TST_VACUUM_RETAINED;
        a->reason = TST_VACUUM_REFERENCED_BY_COMMIT;
        a->referenced_version = need->version;
        return 0;
    }
    char *full = tst_io_join(r->root, a->path);
    if (!full)
        return TST_ENOMEM;
    struct stat st;
    int rc = 0;
    if (lstat(full, &st) != 0) {
        if (errno == ENOENT)
            a->disposition = TST_VACUUM_ALREADY_ABSENT;
        else
            rc = tst_fail_errno(TST_EIO, errno, "vacuum: cannot inspect %s", full);
    } else if ((uint64_t)st.st_size != a->size_bytes || st.st_mtim.tv_sec != a->modified_at.sec ||
               (uint32_t)st.st_mtim.tv_nsec != a->modified_at.nsec) {
        a->size_bytes = (uint64_t)st.st_size;
        a->modified_at = (tst_timestamp){(int64_t)st.st_mtim.tv_sec, (uint32_t)st.st_mtim.tv_nsec};
        a->disposition = TST_VACUUM_RETAINED;
        a->reason = TST_VACUUM_CHANGED_SINCE_PLANNING;
    } else if ((rc = tst_io_unlink(full)) == 0) {
        a->disposition = TST_VACUUM_DELETED;
    }
    free(full);
    if (rc != 0)
        tst_fail_context(rc, "vacuum of table %s: deleting %s", r->root, a->path);
    return rc;
}

static bool folder_empty(const char *dir)
{
    DIR *d = opendir(dir);
    if (!d)
        return false;
    struct dirent *e;
    bool empty = true;
    while (empty && (e = readdir(d)) != NULL)
        empty = strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0;
    closedir(d);
    return empty;
}

/* data/_staged/<op>/<uuid>/ folders whose last files vacuum deleted. */
static int remove_emptied_staging(vacuum_run *r)
{
    const char *last = NULL;
    for (size_t i = 0; i < r->report->artifact_count; i++) {
        const tst_vacuum_artifact *a = &r->report->artifacts[i];
        const char *rest = after_prefix(a->path, "data/_staged/");
        const char *slash = rest ? strchr(rest, '/') : NULL;
        const char *end = slash ? strchr(slash + 1, '/') : NULL;
        if (a->disposition != TST_VACUUM_DELETED || !end ||
            !is_uuid(slash + 1, (size_t)(end - slash - 1)))
            continue;
        size_t len = (size_t)(end - a->path);
        if (last && strncmp(last, a->path, len) == 0 && last[len] == '/')
            continue; /* the same folder as the previous deletion (paths are sorted) */
        last = a->path;
        char rel[4096];
        snprintf(rel, sizeof rel, "%.*s", (int)len, a->path);
        char *full = tst_io_join(r->root, rel);
        int rc = full && folder_empty(full) ? tst_io_rmdir(full) : 0;
        if (rc == 0 && full && access(full, F_OK) != 0)
            r->report->folders_removed++;
        free(full);
        if (rc != 0)
            return tst_fail_context(rc, "vacuum of table %s", r->root);
    }
    return 0;
}

static int apply(vacuum_run *r)
{
    bool any = false;
    for (size_t i = 0; i < r->report->artifact_count; i++)
        any |= r->report->artifacts[i].disposition == TST_VACUUM_REMOVABLE;
    int rc = publish_marker(r);
    if (rc == 0 && any)
        rc = replan(r);
    for (size_t i = 0; rc == 0 && i < r->report->artifact_count; i++)
        if (r->report->artifacts[i].disposition == TST_VACUUM_REMOVABLE)
            rc = delete_one(r, &r->report->artifacts[i]);
    if (rc == 0 && any)
        rc = remove_emptied_staging(r);
    return rc;
}

/* ---- the report ----------------------------------------------------------- */

static void count(tst_vacuum_report *rep)
{
    rep->considered_files = rep->artifact_count;
    for (size_t i = 0; i < rep->artifact_count; i++) {
        const tst_vacuum_artifact *a = &rep->artifacts[i];
        uint64_t b = a->size_bytes;
        rep->considered_bytes += b;
        switch (a->disposition) {
        case TST_VACUUM_RETAINED: rep->retained_files++; rep->retained_bytes += b; break;
        case TST_VACUUM_REMOVABLE: rep->removable_files++; rep->removable_bytes += b; break;
        case TST_VACUUM_DELETED: rep->deleted_files++; rep->deleted_bytes += b; break;
        case TST_VACUUM_ALREADY_ABSENT:
            rep->already_absent_files++;
            rep->already_absent_bytes += b;
            break;
        }
    }
}

void tst_vacuum_report_clear(tst_vacuum_report *report)
{
    if (!report)
        return;
    for (size_t i = 0; i < report->artifact_count; i++)
        free(report->artifacts[i].path);
    free(report->artifacts);
    memset(report, 0, sizeof *report);
}

static int plan(vacuum_run *r)
{
    int rc = tst_table_refresh(r->table, NULL);
    if (rc == 0)
        rc = tst_table_check_writable(r->table, "vacuum");
    if (rc == 0)
        rc = choose_versions(r);
    if (rc == 0)
        rc = collect_state(r);
    if (rc == 0 && r->v0 < r->head)
        rc = collect_commits(r, r->v0 + 1, r->head);
    if (rc == 0) {
        set_seal(&r->needed);
        set_seal(&r->known);
        rc = choose_checkpoints(r);
    }
    if (rc == 0)
        rc = list_and_classify(r);
    return rc;
}

int tst_table_vacuum(tst_table *table, const tst_vacuum_options *opts, tst_vacuum_report *out)
{
    memset(out, 0, sizeof *out);
    vacuum_run r;
    memset(&r, 0, sizeof r);
    r.table = table;
    r.root = tst_table_root(table);
    r.report = out;
    r.now = clock_now();
    tst_vacuum_options defaults = TST_VACUUM_OPTIONS_INIT;
    r.opts = opts ? *opts : defaults;
    if (r.opts.older_than.sec == 0 && r.opts.older_than.nsec == 0)
        r.opts.older_than = (tst_timestamp){r.now.sec - TST_VACUUM_DEFAULT_RETENTION_SECONDS,
                                            r.now.nsec};
    out->older_than = r.opts.older_than;
    out->apply = r.opts.apply;
    int rc = check_cutoff(&r);
    if (rc == 0)
        rc = plan(&r);
    bool planned = rc == 0;
    if (rc == 0 && r.opts.apply)
        rc = apply(&r);
    out->table_version = r.head;
    out->oldest_retained_version = r.v0;
    count(out);
    set_clear(&r.needed);
    set_clear(&r.known);
    free(r.checkpoints);
    if (rc != 0 && !planned) {
        tst_vacuum_report_clear(out);
    }
    return rc;
}
