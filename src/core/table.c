/*
 * table.c — table handles: create, open, refresh, commit (see table.h).
 *
 * Open finds the head of the log (CURRENT rolled forward), starts from the
 * latest checkpoint at or below it if one is usable, replays the commits
 * after it, and validates the result. Refresh replays only what is new.
 */
#include "table_internal.h"

#include "checkpoint.h"
#include "fail.h"
#include "fsio.h"
#include "history.h"
#include "log.h"
#include "sidecar.h"
#include "state_at.h"

#include <ctype.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

/* ---- location ---------------------------------------------------------- */

/* Trims the location and rejects what is not a local folder path. */
static int parse_location(const char *spec, char **out)
{
    *out = NULL;
    if (!spec)
        return tst_fail(TST_EINVAL, "table location is NULL");
    while (isspace((unsigned char)*spec))
        spec++;
    size_t len = strlen(spec);
    while (len > 0 && isspace((unsigned char)spec[len - 1]))
        len--;
    if (len == 0)
        return tst_fail(TST_EINVAL, "table location is empty");
    size_t i = 0;
    while (i < len && (isalnum((unsigned char)spec[i]) || strchr("+.-", spec[i])))
        i++;
    if (i > 1 && i + 2 < len && memcmp(spec + i, "://", 3) == 0)
        return tst_fail(TST_EUNSUPPORTED, "unsupported table location scheme: %.*s (only local "
                        "folders are supported)", (int)i, spec);
    *out = strndup(spec, len);
    if (!*out)
        return tst_fail(TST_ENOMEM, "out of memory");
    return 0;
}

/* ---- sorted segment view ----------------------------------------------- */
/* Positions, not pointers: the segment array moves when it grows. */

static int compare_segments(const tst_segment *a, const tst_segment *b)
{
    int cmp = 0;
    tst_index_value_compare(&a->index_min, &b->index_min, &cmp);
    if (cmp == 0)
        tst_index_value_compare(&a->index_max, &b->index_max, &cmp);
    return cmp != 0 ? cmp : strcmp(a->path, b->path);
}

static _Thread_local const tst_segment *sort_base;

static int compare_positions(const void *pa, const void *pb)
{
    return compare_segments(&sort_base[*(const size_t *)pa], &sort_base[*(const size_t *)pb]);
}

static int reserve_sorted(tst_table *t)
{
    size_t n = t->state.segment_count;
    size_t *sorted = realloc(t->sorted, (n ? n : 1) * sizeof *sorted);
    if (!sorted)
        return tst_fail(TST_ENOMEM, "out of memory sorting segments");
    t->sorted = sorted;
    return 0;
}

static int sort_segments(tst_table *t)
{
    int rc = reserve_sorted(t);
    if (rc != 0)
        return rc;
    for (size_t i = 0; i < t->state.segment_count; i++)
        t->sorted[i] = i;
    sort_base = t->state.segments;
    qsort(t->sorted, t->state.segment_count, sizeof *t->sorted, compare_positions);
    return 0;
}

/* Places segment `pos` into the sorted view, which holds positions 0..pos-1:
 * appends usually arrive in time order, so this is a binary search and a
 * short move rather than a full sort. The view must have room (reserve_sorted). */
static void insert_sorted(tst_table *t, size_t pos)
{
    const tst_segment *seg = &t->state.segments[pos];
    size_t lo = 0, hi = pos;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (compare_segments(&t->state.segments[t->sorted[mid]], seg) < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    memmove(&t->sorted[lo + 1], &t->sorted[lo], (pos - lo) * sizeof *t->sorted);
    t->sorted[lo] = pos;
}

/* ---- replay ------------------------------------------------------------ */

/* Builds the state at `head`: from a checkpoint if one is usable, else from version 1. */
static int load_state(tst_state *state, const char *root, uint64_t head)
{
    int rc = tst_state_load_at(state, root, head);
    if (rc == 0)
        rc = tst_state_validate(state, root);
    return rc;
}

/* Why there is no table to open at root: no folder, a folder that is not a
 * table, or a table folder whose log has no commit yet. */
static int no_table_at(const char *root)
{
    struct stat st;
    int code = TST_EEMPTY;
    char *log = tst_io_join(root, TST_LOG_DIR);
    if (stat(root, &st) != 0) {
        code = TST_ENOTFOUND;
        tst_fail(code, "cannot open table %s: the folder does not exist", root);
    } else if (!log || stat(log, &st) != 0) {
        tst_fail(code, "cannot open table %s: the folder is not a table (it has no %s); create a "
                 "table there first", root, TST_LOG_DIR);
    } else {
        tst_fail(code, "cannot open table %s: it has no commits (CURRENT version is 0); create "
                 "it first", root);
    }
    free(log);
    tst_fail_set_path(root);
    return code;
}

static int open_at_head(tst_table *t)
{
    uint64_t head = 0;
    int rc = tst_log_head(t->root, &head);
    if (rc != 0)
        return rc;
    if (head == 0)
        return no_table_at(t->root);
    rc = load_state(&t->state, t->root, head);
    if (rc == 0)
        (void)tst_checkpoint_latest(t->root, &t->checkpoint_version);
    return rc == 0 ? sort_segments(t) : rc;
}

int tst_table_open(tst_table **out, const char *root)
{
    *out = NULL;
    tst_table *t = calloc(1, sizeof *t);
    if (!t)
        return tst_fail(TST_ENOMEM, "out of memory");
    int rc = parse_location(root, &t->root);
    if (rc == 0)
        rc = open_at_head(t);
    if (rc != 0) {
        tst_table_free(t);
        return rc;
    }
    *out = t;
    return 0;
}

/* ---- time travel ------------------------------------------------------- */

/* "7d", "36h", "90m", "45s": the largest unit that divides the span. */
static void format_span(int64_t seconds, char *buf, size_t cap)
{
    static const struct { int64_t unit; const char *suffix; } units[] = {
        {86400, "d"}, {3600, "h"}, {60, "m"}};
    for (size_t i = 0; i < sizeof units / sizeof units[0]; i++)
        if (seconds > 0 && seconds % units[i].unit == 0) {
            snprintf(buf, cap, "%" PRId64 "%s", seconds / units[i].unit, units[i].suffix);
            return;
        }
    snprintf(buf, cap, "%" PRId64 "s", seconds);
}

/* TST_EVACUUMED when the marker says vacuum removed the files of `version`. */
static int check_not_vacuumed(const char *root, uint64_t version)
{
    tst_vacuum_marker m;
    int rc = tst_history_read_marker(root, &m);
    if (rc != 0)
        return tst_fail_context(rc, "opening table %s at version %" PRIu64, root, version);
    if (version >= m.oldest_readable_version)
        return 0;
    char when[TST_TIMESTAMP_TEXT_MAX] = "", span[32];
    (void)tst_timestamp_format(m.vacuumed_at, when, sizeof when);
    format_span(m.retention_seconds, span, sizeof span);
    tst_fail(TST_EVACUUMED, "table %s: the files of version %" PRIu64 " were removed by vacuum "
             "on %s (retention %s); the oldest readable version is %" PRIu64 ": open that "
             "version or a later one", root, version, when, span, m.oldest_readable_version);
    tst_fail_set_conflict(version, m.oldest_readable_version);
    tst_fail_set_path(root);
    return TST_EVACUUMED;
}

static int open_at_version(tst_table *t, uint64_t version)
{
    uint64_t head = 0;
    int rc = tst_log_head(t->root, &head);
    if (rc != 0)
        return rc;
    if (head == 0)
        return no_table_at(t->root);
    if (version == 0)
        return tst_fail(TST_EINVAL, "table %s has no version 0: versions start at 1 (the commit "
                        "that created the table); its latest version is %" PRIu64, t->root, head);
    if (version > head) {
        tst_fail(TST_ENOTFOUND, "table %s has no version %" PRIu64 ": its latest version is "
                 "%" PRIu64, t->root, version, head);
        tst_fail_set_path(t->root);
        return TST_ENOTFOUND;
    }
    rc = check_not_vacuumed(t->root, version);
    if (rc == 0)
        rc = load_state(&t->state, t->root, version);
    if (rc != 0)
        return rc == TST_EVACUUMED ? rc : tst_fail_context(rc, "opening version %" PRIu64, version);
    t->pinned = true;
    return sort_segments(t);
}

static int open_pinned(tst_table **out, const char *root, bool by_time, uint64_t version,
                       tst_timestamp at)
{
    *out = NULL;
    tst_table *t = calloc(1, sizeof *t);
    if (!t)
        return tst_fail(TST_ENOMEM, "out of memory");
    uint64_t head = 0;
    int rc = parse_location(root, &t->root);
    if (rc == 0 && by_time) {
        rc = tst_log_head(t->root, &head);
        if (rc == 0 && head == 0)
            rc = no_table_at(t->root);
        if (rc == 0)
            rc = tst_history_version_at(t->root, head, at, &version);
    }
    if (rc == 0)
        rc = open_at_version(t, version);
    if (rc != 0) {
        tst_table_free(t);
        return rc;
    }
    *out = t;
    return 0;
}

int tst_table_open_at(tst_table **out, const char *root, uint64_t version)
{
    tst_timestamp none = {0, 0};
    return open_pinned(out, root, false, version, none);
}

int tst_table_open_as_of(tst_table **out, const char *root, tst_timestamp at)
{
    return open_pinned(out, root, true, 0, at);
}

bool tst_table_is_pinned(const tst_table *t) { return t->pinned; }

int tst_table_check_unpinned(const tst_table *t, const char *operation)
{
    if (!t->pinned)
        return 0;
    tst_fail(TST_EINVAL, "%s of table %s refused: the handle is opened as of version %" PRIu64
             "; open the latest version to write", operation ? operation : "write", t->root,
             t->state.version);
    tst_fail_set_path(t->root);
    return TST_EINVAL;
}

int tst_table_note_lost_file(const tst_table *t, int rc)
{
    if (!t->pinned || rc != TST_ENOTFOUND)
        return rc;
    uint64_t head = 0;
    if (tst_log_head(t->root, &head) != 0 || head == t->state.version)
        return rc;
    return tst_fail_context(rc, "table %s opened as of version %" PRIu64 " (the latest is "
                            "%" PRIu64 "): a file of that version is gone; it may have been "
                            "removed by vacuum (open a later version)", t->root,
                            t->state.version, head);
}

void tst_table_free(tst_table *t)
{
    if (!t)
        return;
    tst_state_clear(&t->state);
    tst_coverage_cache_free(t->coverage_cache);
    free(t->sorted);
    free(t->root);
    free(t);
}

/* Checks what commits after a validated state added: their segments and
 * the coverage pointer (the meta is unchanged, or replay said so). */
static int validate_added(tst_table *t, size_t before)
{
    const tst_state *st = &t->state;
    for (size_t i = before; i < st->segment_count; i++) {
        int rc = tst_segment_check(&st->meta, &st->segments[i], t->root);
        if (rc != 0)
            return rc;
    }
    if (st->has_coverage && !tst_index_kind_equal(&st->coverage.index_kind, &st->meta.index.kind))
        return tst_fail(TST_ECORRUPT, "table %s: the table coverage pointer of version %" PRIu64
                        " has a different index kind than the table", t->root,
                        st->coverage_version);
    return 0;
}

/* Brings a healthy handle forward, doing work in proportion to what is new. */
static int refresh_incrementally(tst_table *t, uint64_t head)
{
    size_t before = t->state.segment_count;
    bool reshaped = false;
    int rc = tst_state_replay(&t->state, t->root, head, &reshaped);
    if (rc == 0 && reshaped) {
        rc = tst_state_validate(&t->state, t->root);
        return rc != 0 ? rc : sort_segments(t);
    }
    if (rc == 0)
        rc = validate_added(t, before);
    if (rc == 0)
        rc = reserve_sorted(t);
    for (size_t pos = before; rc == 0 && pos < t->state.segment_count; pos++)
        insert_sorted(t, pos);
    return rc;
}

int tst_table_refresh(tst_table *t, bool *out_changed)
{
    if (out_changed)
        *out_changed = false;
    if (t->pinned)
        return 0; /* time travel: the handle stays at its version */
    uint64_t head = 0;
    int rc = tst_log_head(t->root, &head);
    if (rc != 0)
        return rc;
    if (head == t->state.version && !t->stale)
        return 0;
    if (head < t->state.version)
        return tst_fail(TST_ECORRUPT, "table %s: the log went back from version %" PRIu64
                        " to %" PRIu64, t->root, t->state.version, head);
    if (t->stale) {
        tst_state_clear(&t->state);
        rc = load_state(&t->state, t->root, head);
        if (rc == 0)
            rc = sort_segments(t);
    } else {
        rc = refresh_incrementally(t, head);
    }
    t->stale = rc != 0;
    if (rc == 0 && out_changed)
        *out_changed = true;
    return rc;
}

/* ---- getters ----------------------------------------------------------- */

uint64_t tst_table_version(const tst_table *t) { return t->state.version; }
const char *tst_table_root(const tst_table *t) { return t->root; }
const tst_table_meta *tst_table_get_meta(const tst_table *t) { return &t->state.meta; }
const tst_index_spec *tst_table_index(const tst_table *t) { return &t->state.meta.index; }
size_t tst_table_segment_count(const tst_table *t) { return t->state.segment_count; }
const tst_state *tst_table_state(const tst_table *t) { return &t->state; }

const tst_segment *tst_table_segment_at(const tst_table *t, size_t i)
{
    return i < t->state.segment_count ? &t->state.segments[t->sorted[i]] : NULL;
}

const char *tst_table_coverage_path(const tst_table *t, uint64_t *out_version)
{
    if (!t->state.has_coverage)
        return NULL;
    if (out_version)
        *out_version = t->state.coverage_version;
    return t->state.coverage.coverage_path;
}

/* ---- commit ------------------------------------------------------------ */

static const tst_table_meta *meta_after(const tst_table *t, const tst_action *actions,
                                        size_t count)
{
    const tst_table_meta *meta = t->state.has_meta ? &t->state.meta : NULL;
    for (size_t i = 0; i < count; i++)
        if (actions[i].type == TST_ACTION_UPDATE_TABLE_META)
            meta = &actions[i].u.meta;
    return meta;
}

static bool same_index(const tst_index_spec *a, const tst_index_spec *b)
{
    if (strcmp(a->column, b->column) != 0 || a->entity_count != b->entity_count ||
        !tst_index_kind_equal(&a->kind, &b->kind))
        return false;
    for (size_t i = 0; i < a->entity_count; i++)
        if (strcmp(a->entity_columns[i], b->entity_columns[i]) != 0)
            return false;
    return true;
}

static int check_new_segment(const tst_table *t, const tst_action *actions, size_t i,
                             const tst_table_meta *meta)
{
    const tst_segment *seg = &actions[i].u.segment;
    if (tst_state_find(&t->state, seg->path))
        return tst_fail(TST_EINVAL, "segment %s is already live in table %s", seg->path, t->root);
    for (size_t j = 0; j < i; j++)
        if (actions[j].type == TST_ACTION_ADD_SEGMENT &&
            strcmp(actions[j].u.segment.path, seg->path) == 0)
            return tst_fail(TST_EINVAL, "segment %s is added twice in one commit", seg->path);
    int rc = tst_segment_check(meta, seg, t->root);
    return rc == TST_ECORRUPT ? tst_fail_context(TST_EINVAL, "rejected commit") : rc;
}

/*
 * A removal names a segment live at the handle's version, once. The log
 * itself treats an unknown path as a no-op (the reference does), but a
 * writer that removes what is not there has built its commit on a state it
 * does not hold: an optimize or update that would silently lose rows.
 */
static int check_removed_segment(const tst_table *t, const tst_action *actions, size_t i)
{
    const char *path = actions[i].u.remove_path;
    if (!tst_state_find(&t->state, path))
        return tst_fail(TST_EINVAL, "segment %s is not live in table %s at version %llu; "
                        "nothing to remove (refresh and rebuild the commit)", path, t->root,
                        (unsigned long long)t->state.version);
    for (size_t j = 0; j < i; j++)
        if (actions[j].type == TST_ACTION_REMOVE_SEGMENT &&
            strcmp(actions[j].u.remove_path, path) == 0)
            return tst_fail(TST_EINVAL, "segment %s is removed twice in one commit", path);
    return 0;
}

/* Everything a commit must satisfy so that the log stays valid after it. */
static int check_actions(const tst_table *t, const tst_action *actions, size_t count)
{
    const tst_table_meta *meta = meta_after(t, actions, count);
    if (!meta)
        return tst_fail(TST_EINVAL, "the first commit of table %s must set its metadata", t->root);
    char where[4200];
    snprintf(where, sizeof where, "table %s", t->root);
    /* Protocol 7: every write needs every writer feature, of the table and of the new meta. */
    int rc = t->state.has_meta ? tst_protocol_check_write(&t->state.meta, where) : 0;
    if (rc == 0)
        rc = tst_protocol_check_write(meta, where);
    if (rc != 0)
        return rc;
    rc = tst_meta_check(meta, t->root);
    if (rc != 0)
        return tst_fail_context(TST_EINVAL, "rejected commit");
    if (t->state.has_meta && meta != &t->state.meta &&
        tst_protocol_check_transition(&t->state.meta, meta, where) != 0)
        return tst_fail_context(TST_EINVAL, "rejected commit");
    if (t->state.has_meta && !same_index(&meta->index, &t->state.meta.index))
        return tst_fail(TST_EINVAL, "table %s: the index spec cannot change after creation",
                        t->root);
    for (size_t i = 0; i < count; i++) {
        const tst_action *a = &actions[i];
        if (a->type == TST_ACTION_ADD_SEGMENT)
            rc = check_new_segment(t, actions, i, meta);
        else if (a->type == TST_ACTION_REMOVE_SEGMENT)
            rc = check_removed_segment(t, actions, i);
        else if (a->type == TST_ACTION_UPDATE_TABLE_COVERAGE &&
                 (!tst_index_kind_equal(&a->u.coverage.index_kind, &meta->index.kind) ||
                  (a->u.coverage.index_kind.protocol == TST_PROTOCOL_VERSION) !=
                      (meta->index.kind.protocol == TST_PROTOCOL_VERSION)))
            rc = tst_fail(TST_EINVAL, "table %s: coverage pointer index kind differs from the "
                          "table's", t->root);
        if (rc != 0)
            return rc;
    }
    return 0;
}

/* Moves the handle over the commit it just wrote, keeping the sorted view. */
static int apply_own_commit(tst_table *t, uint64_t version, const tst_action *actions,
                            size_t count)
{
    tst_commit c = {version, version - 1, {0, 0}, (tst_action *)actions, count};
    size_t before = t->state.segment_count;
    bool removes = false;
    for (size_t i = 0; i < count; i++)
        removes |= actions[i].type == TST_ACTION_REMOVE_SEGMENT;
    int rc = tst_state_apply(&t->state, &c, "new commit");
    if (rc != 0 || removes)
        return rc != 0 ? rc : sort_segments(t);
    rc = reserve_sorted(t);
    for (size_t pos = before; rc == 0 && pos < t->state.segment_count; pos++)
        insert_sorted(t, pos);
    return rc;
}

/*
 * Checkpoints every max(TST_CHECKPOINT_INTERVAL, live segments / 100)
 * commits: a checkpoint costs time in proportion to the segments, so the
 * spacing grows with them and the cost per commit stays constant, while
 * open never replays more than that many commits. A failed checkpoint does
 * not fail the commit: it is only a shortcut.
 */
static void maybe_checkpoint(tst_table *t)
{
    uint64_t every = t->state.segment_count / 100;
    if (every < TST_CHECKPOINT_INTERVAL)
        every = TST_CHECKPOINT_INTERVAL;
    if (t->state.version - t->checkpoint_version < every)
        return;
    if (tst_checkpoint_write(t->root, &t->state) == 0)
        t->checkpoint_version = t->state.version;
}

int tst_table_commit(tst_table *t, const tst_action *actions, size_t count,
                     uint64_t *out_version)
{
    int rc = tst_table_check_unpinned(t, "commit");
    if (rc != 0)
        return rc;
    if (t->stale)
        return tst_fail(TST_EINVAL, "table %s: the handle failed to refresh; refresh it before "
                        "committing", t->root);
    rc = check_actions(t, actions, count);
    uint64_t version = 0;
    if (rc == 0)
        rc = tst_log_commit(t->root, t->state.version, actions, count, &version);
    if (rc != 0)
        return rc;
    rc = apply_own_commit(t, version, actions, count);
    if (rc != 0) {
        t->stale = true; /* committed, but the handle could not follow: reload on refresh */
        return rc;
    }
    maybe_checkpoint(t);
    if (out_version)
        *out_version = version;
    return 0;
}

int tst_table_check_writable(const tst_table *t, const char *operation)
{
    int rc = tst_table_check_unpinned(t, operation);
    if (rc != 0 || !t->state.has_meta)
        return rc;
    char where[4200];
    snprintf(where, sizeof where, "%s of table %s", operation ? operation : "write", t->root);
    return tst_protocol_check_write(&t->state.meta, where);
}

int tst_table_commit_json(tst_table *t, const char *actions_json, uint64_t *out_version)
{
    if (!actions_json)
        return tst_fail(TST_EINVAL, "actions_json is NULL");
    if (tst_table_check_unpinned(t, "commit_json") != 0)
        return TST_EINVAL;
    /* Parse through the commit parser so the actions get every log check. */
    size_t cap = strlen(actions_json) + 96;
    char *wrapped = malloc(cap);
    if (!wrapped)
        return tst_fail(TST_ENOMEM, "out of memory");
    int n = snprintf(wrapped, cap, "{\"version\":1,\"base_version\":0,"
                     "\"timestamp\":\"1970-01-01T00:00:00Z\",\"actions\":%s}", actions_json);
    tst_commit c;
    int rc = tst_commit_parse(&c, wrapped, (size_t)n, "actions");
    free(wrapped);
    if (rc != 0)
        return rc == TST_ECORRUPT ? tst_fail_context(TST_EINVAL, "invalid actions") : rc;
    rc = tst_table_commit(t, c.actions, c.action_count, out_version);
    tst_commit_clear(&c);
    return rc;
}

/* ---- create ------------------------------------------------------------ */

static int check_spec(const tst_index_spec *spec)
{
    if (!spec || !spec->column)
        return tst_fail(TST_EINVAL, "index spec has no index column");
    const tst_index_kind *k = &spec->kind;
    if (k->protocol != 0 && k->protocol != TST_FORMAT_VERSION && k->protocol != TST_PROTOCOL_VERSION)
        return tst_fail(TST_EINVAL, "unknown table protocol %u: tstable creates protocol %d "
                        "(the default) or format_version %d tables", (unsigned)k->protocol,
                        TST_PROTOCOL_VERSION, TST_FORMAT_VERSION);
    if (k->type == TST_INDEX_TIMESTAMP) {
        if (k->bucket.count == 0 || k->bucket.unit < TST_TIME_SECONDS ||
            k->bucket.unit > TST_TIME_DAYS)
            return tst_fail(TST_EINVAL, "timestamp index needs a positive time bucket");
    } else if (k->type == TST_INDEX_INT64 || k->type == TST_INDEX_UINT64) {
        if (k->bucket_width == 0)
            return tst_fail(TST_EINVAL, "integer index needs a bucket_width of at least 1");
    } else {
        return tst_fail(TST_EINVAL, "index type must be timestamp, int64 or uint64");
    }
    return tst_index_spec_validate(spec);
}

static tst_timestamp now_utc(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    tst_timestamp t = {(int64_t)ts.tv_sec, (uint32_t)ts.tv_nsec};
    return t;
}

static int write_first_commit(tst_table *t, const tst_index_spec *spec)
{
    tst_action a;
    memset(&a, 0, sizeof a);
    a.type = TST_ACTION_UPDATE_TABLE_META;
    int rc = tst_index_spec_copy(&a.u.meta.index, spec);
    if (rc != 0)
        return rc;
    a.u.meta.created_at = now_utc();
    /* Protocol 7 unless asked for format_version 6 (for reference 0.4 readers). */
    if (spec->kind.protocol != TST_FORMAT_VERSION) {
        a.u.meta.protocol_version = TST_PROTOCOL_VERSION; /* no features: none used yet */
        a.u.meta.index.kind.protocol = TST_PROTOCOL_VERSION;
    } else {
        a.u.meta.format_version = TST_FORMAT_VERSION;
        a.u.meta.index.kind.protocol = TST_FORMAT_VERSION;
    }
    rc = tst_table_commit(t, &a, 1, NULL);
    tst_table_meta_clear(&a.u.meta);
    if (rc == TST_ECONFLICT) {
        tst_fail(TST_EEXISTS, "table already exists at %s (another writer created it first)",
                 t->root);
        tst_fail_set_path(t->root);
        return TST_EEXISTS;
    }
    return rc;
}

int tst_table_create(tst_table **out, const char *root, const tst_index_spec *spec)
{
    *out = NULL;
    tst_table *t = calloc(1, sizeof *t);
    if (!t)
        return tst_fail(TST_ENOMEM, "out of memory");
    uint64_t head = 0;
    int rc = parse_location(root, &t->root);
    if (rc == 0)
        rc = check_spec(spec);
    if (rc == 0)
        rc = tst_log_head(t->root, &head);
    if (rc == 0 && head != 0) {
        rc = tst_fail(TST_EEXISTS, "table already exists at %s; current transaction log version "
                      "is %" PRIu64, t->root, head);
        tst_fail_set_path(t->root);
    }
    if (rc == 0)
        rc = tst_io_mkdirs(t->root);
    if (rc == 0)
        rc = write_first_commit(t, spec);
    if (rc != 0) {
        tst_table_free(t);
        return rc;
    }
    *out = t;
    return 0;
}
