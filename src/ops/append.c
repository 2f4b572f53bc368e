/*
 * append.c — one append, from source file to commit (see tstable/append.h).
 *
 * The order of work is chosen so that a rejected append writes nothing:
 * schema rules, measuring (row counts, bounds, coverage) and the overlap
 * check all run against the source before the first file is created. Only
 * then are the data file, the segment sidecar and the table snapshot
 * written, and committed together.
 *
 * When another writer commits first, the append rebases: it refreshes the
 * handle, re-plans the schema (the other writer may have adopted one),
 * re-checks overlap against the new coverage, writes a snapshot for the
 * next version and tries again. The data file and segment sidecar are
 * reused across attempts; only the snapshot is per attempt.
 *
 * Several files can go in one commit (a batch): each file is a job with its
 * own source, plan, measure, data file and segment sidecar; the batch owns
 * the snapshot and the commit, which adds every job's segment. Jobs are
 * checked against the table and against each other before anything is
 * written, and a failure anywhere rolls back every job. A single-file
 * append is a batch of one.
 *
 * Overlap modes (tst_append_options.on_overlap): reject checks as above.
 * Skip filters each source to the rows of pairs the table does not cover
 * (NOT the predicate a delete of the covered ranges would use) and measures
 * it again; a file left without rows is dropped from the batch, and a batch
 * left without files is a no-op. Replace builds a removal plan for the
 * shared pairs (delete_plan.h: segments dropped or rewritten) and commits its
 * actions with the new segments; the snapshot is the table's coverage less
 * the plan's pairs plus the sources'. A rebase recomputes the shared pairs
 * at the new version: skip writes a file again only when they changed,
 * replace plans its removal again. allow_boundary_overlap (with reject)
 * lets in a partly covered first or last bucket per entity after comparing
 * its rows with the stored ones of that bucket.
 *
 * Cancellation (tst_append_options.cancel) is checked between steps, and
 * interrupts DuckDB while a step runs (cancel.h); a cancelled append rolls
 * back like any failure. Nothing is checked after the commit is published.
 */
#include "append_internal.h"
#include "append_overlap.h"
#include "append_schema.h"
#include "arrow_source.h"
#include "cancel.h"
#include "coverage_internal.h"
#include "delete_plan.h"
#include "duck.h"
#include "fail.h"
#include "fsio.h"
#include "model.h"
#include "segment.h"
#include "sidecar.h"
#include "source.h"
#include "table_internal.h"
#include "tstable/append.h"
#include "tstable/table_coverage.h"

#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Test hook (append_internal.h): runs before every commit attempt. */
tst_append_hook_fn tst_append_before_commit_hook;
void *tst_append_before_commit_ctx;

/*
 * The byte copy (or, with opts.move, the hard link) of one source into the
 * table. With on_overlap reject it runs in a thread of its own while the
 * source is measured and checked, so that the two reads of the file
 * overlap; write_data joins it, and a rejected or failed append joins it
 * and removes what it wrote. Its fsio steps (link, unlink, fsync) happen
 * while the appending thread takes none, and one copy runs at a time, so
 * crash and failure injection still number the steps in one order.
 */
typedef struct copier {
    pthread_t thread;
    bool running;       /* a thread was started and not joined yet */
    bool done;          /* copier_main ran: rc and the fields below hold */
    bool move;          /* try a hard link first */
    char *src, *dst;    /* dst absolute */
    int rc;
    bool linked;        /* dst is a hard link to src */
    char message[1024]; /* the failure, from the copier's thread */
    char path[512];
} copier;

/* What one append owns while it runs. */
typedef struct append_job {
    tst_table *table;
    const tst_append_options *opts;
    tst_source source;
    tst_append_plan plan;
    tst_measure measure;
    tst_entity_layout layout;
    char attempt_uuid[37];
    char data_path[96];       /* relative */
    char segment_cov_path[TST_SIDECAR_PATH_MAX];
    bool data_written, segment_cov_written;
    uint64_t file_rows, file_bytes;
    /* on_overlap skip / replace: the source's own coverage, the part of it
     * the table covers (at the version planned against), and for skip the
     * unfiltered relation and what the filter left out. */
    tst_table_cov src_cov, overlap;
    char *orig_relation;
    bool skipped; /* skip: every pair covered, the file adds nothing */
    uint64_t rows_skipped;
    copier copy;
    bool data_named; /* data_path chosen and its folder made */
} append_job;

/* One commit: its jobs (one per file) and the table coverage snapshot. */
typedef int (*open_fn)(tst_source *, const void *arg, const tst_table_meta *meta);

typedef struct append_batch {
    tst_table *table;
    const tst_append_options *opts;
    open_fn open;             /* opens jobs[i].source from args[i] */
    const void *const *args;
    append_job *jobs;
    size_t count;
    char attempt_uuid[37];
    char snapshot_path[TST_SIDECAR_PATH_MAX]; /* of the current attempt */
    tst_table_cov snapshot;   /* what the current attempt's snapshot holds (replace) */
    /* Without a removal the snapshot is base ∪ added, encoded without being
     * built (tst_sidecar_encode_union); base is the handle's cached coverage
     * of base_version, which adopts added in place after the commit. */
    bool snapshot_is_union;
    const tst_table_cov *base;
    uint64_t base_version;
    tst_table_cov added;      /* every file's coverage; owned when several */
    bool added_owned;
    bool snapshot_written;
    tst_delete_plan removal;  /* on_overlap replace: the stored rows of the shared pairs */
} append_batch;

static char *absolute(const append_job *job, const char *rel)
{
    return tst_io_join(tst_table_root(job->table), rel);
}

static void remove_file(const append_job *job, const char *rel)
{
    char *abs = absolute(job, rel);
    if (abs)
        tst_io_unlink(abs);
    free(abs);
}

static void *copier_main(void *arg)
{
    copier *c = arg;
    int rc = 0;
    if (c->move)
        rc = tst_segment_link_file(c->src, c->dst, &c->linked);
    if (rc == 0 && !c->linked)
        rc = tst_segment_copy_file(c->src, c->dst);
    c->rc = rc;
    if (rc != 0) {
        const tst_error *e = tst_error_last();
        snprintf(c->message, sizeof c->message, "%s", e->message ? e->message : "copy failed");
        snprintf(c->path, sizeof c->path, "%s", e->path ? e->path : "");
    }
    c->done = true;
    return NULL;
}

static void copier_join(copier *c)
{
    if (c->running)
        pthread_join(c->thread, NULL);
    c->running = false;
}

/* The copier's outcome, its failure raised again on this thread. */
static int copier_result(copier *c)
{
    copier_join(c);
    if (c->rc == 0)
        return 0;
    tst_fail(c->rc, "%s", c->message);
    if (c->path[0])
        tst_fail_set_path(c->path);
    return c->rc;
}

/* Joins a copier whose file the append did not take, and removes that file. */
static void copier_abandon(append_job *job)
{
    copier_join(&job->copy);
    if (job->copy.done && job->copy.rc == 0 && !job->data_written)
        tst_io_unlink(job->copy.dst);
    job->copy.done = false;
}

static void copier_clear(append_job *job)
{
    copier_abandon(job);
    free(job->copy.src);
    free(job->copy.dst);
    memset(&job->copy, 0, sizeof job->copy);
}

/* Removes what this append created, newest first. */
static void roll_back(append_batch *b)
{
    tst_delete_plan_roll_back(&b->removal);
    if (b->snapshot_written)
        remove_file(&b->jobs[0], b->snapshot_path);
    b->snapshot_written = false;
    for (size_t i = b->count; i-- > 0;) {
        append_job *job = &b->jobs[i];
        if (job->segment_cov_written)
            remove_file(job, job->segment_cov_path);
        copier_abandon(job); /* a copy still running, or done for a rejected append */
        if (job->data_written)
            remove_file(job, job->data_path);
        job->segment_cov_written = job->data_written = false;
    }
}

static void clear_layout(tst_entity_layout *l)
{
    for (size_t i = 0; i < l->count; i++)
        if (l->values[i].type == TST_ENTITY_UTF8)
            free((char *)l->values[i].v.utf8.ptr);
    free(l->values);
    memset(l, 0, sizeof *l);
}

static void job_clear(append_job *job)
{
    copier_clear(job);
    tst_table_cov_clear(&job->src_cov);
    tst_table_cov_clear(&job->overlap);
    free(job->orig_relation);
    tst_source_clear(&job->source);
    tst_append_plan_clear(&job->plan);
    tst_measure_clear(&job->measure);
    clear_layout(&job->layout);
}

static int cancel_error(const append_batch *b)
{
    tst_fail(TST_ECANCELLED, "append to table %s cancelled; nothing was written",
             tst_table_root(b->table));
    tst_fail_set_path(tst_table_root(b->table));
    return TST_ECANCELLED;
}

static int cancelled(const append_batch *b)
{
    return tst_cancel_requested(b->opts->cancel) ? cancel_error(b) : 0;
}

/* ---- layout ------------------------------------------------------------ */

static int copy_identity(tst_entity_layout *l, const tst_entity_identity *id)
{
    l->values = calloc(id->count, sizeof *l->values);
    if (!l->values)
        return tst_fail(TST_ENOMEM, "out of memory");
    for (size_t i = 0; i < id->count; i++) {
        l->values[i] = id->values[i];
        if (id->values[i].type == TST_ENTITY_UTF8) {
            char *copy = malloc(id->values[i].v.utf8.len + 1);
            if (!copy)
                return tst_fail(TST_ENOMEM, "out of memory");
            memcpy(copy, id->values[i].v.utf8.ptr, id->values[i].v.utf8.len);
            copy[id->values[i].v.utf8.len] = '\0';
            l->values[i].v.utf8.ptr = copy;
        }
        l->count++;
    }
    return 0;
}

/* NotApplicable, Single(identity) or Mixed, from the measured coverage. */
static int derive_layout(append_job *job)
{
    tst_entity_layout *l = &job->layout;
    if (!job->measure.entities) {
        l->kind = TST_LAYOUT_NOT_APPLICABLE;
        return 0;
    }
    size_t n = tst_entity_coverage_count(job->measure.entities);
    if (n == 0)
        return tst_fail(TST_ESCHEMA, "append to table %s: the source has no entity values",
                        tst_table_root(job->table));
    if (n > 1) {
        l->kind = TST_LAYOUT_MIXED;
        return 0;
    }
    tst_entity_identity id;
    const tst_coverage *cov = NULL;
    int rc = tst_entity_coverage_at(job->measure.entities, 0, &id, &cov);
    l->kind = TST_LAYOUT_SINGLE;
    return rc != 0 ? rc : copy_identity(l, &id);
}

/* ---- overlap ----------------------------------------------------------- */

/*
 * What an overlap error reports: the total of (entity, bucket) pairs, how
 * many entities overlap, and the first entity (canonical order) with its
 * own count and first bucket. `edge` says when that entity's overlap is one
 * bucket at the edge of the table's data (the table's last bucket is the
 * source's first, or the other way round): the usual outcome of appending
 * the next chunk when the last one ended mid-bucket.
 */
typedef struct overlap_report {
    uint64_t total, entities, first_count, bucket;
    char entity[512]; /* "" for tables without entity columns */
    const char *edge; /* NULL, "last" or "first" */
    bool boundary;    /* else: every pair is the source's first or last bucket of its entity */
} overlap_report;


/* "last" / "first" when the overlap of src and table is one bucket at the table's edge. */
static const char *overlap_edge(const tst_coverage *src, const tst_coverage *table,
                                uint64_t count, uint64_t bucket)
{
    uint64_t src_min = 0, src_max = 0, t_min = 0, t_max = 0;
    if (count != 1 || !tst_coverage_min(src, &src_min) || !tst_coverage_max(src, &src_max) ||
        !tst_coverage_min(table, &t_min) || !tst_coverage_max(table, &t_max))
        return NULL;
    if (bucket == t_max && bucket == src_min)
        return "last";
    if (bucket == t_min && bucket == src_max)
        return "first";
    return NULL;
}

static void overlap_hint(const overlap_report *r, bool v7, const char *range, char *buf,
                         size_t cap)
{
    buf[0] = '\0';
    if (!r->edge && r->boundary)
        snprintf(buf, cap, "the overlap is only the source's first or last bucket of each entity, "
                 "which the table partly covers: use --on-overlap skip (leave out those buckets' "
                 "rows)%s", v7 ? "" : " or --allow-boundary-overlap (keep them when no index "
                                      "value is already stored)");
    if (!r->edge)
        return;
    bool last = strcmp(r->edge, "last") == 0;
    snprintf(buf, cap, "the table's %s bucket%s%s %s is partly covered and the source %s it: %s",
             r->edge, r->entity[0] ? " for " : "", r->entity, range,
             last ? "starts inside" : "ends inside",
             last ? "append from the next bucket boundary or use a smaller bucket"
                  : "end the source before that bucket or use a smaller bucket");
    size_t len = strlen(buf);
    snprintf(buf + len, cap - len, ", or use --on-overlap skip (leave out that bucket's rows)%s",
             v7 ? "" : " or --allow-boundary-overlap (keep them when no index value is "
                          "already stored)");
}

static int overlap_error(append_job *job, const overlap_report *r)
{
    const tst_index_kind *kind = &tst_table_index(job->table)->kind;
    char range[TST_BUCKET_TEXT_MAX] = "", hint[TST_BUCKET_TEXT_MAX + 1000];
    tst_bucket_format(kind, r->bucket, range, sizeof range);
    overlap_report with = *r;
    if (!r->edge) {
        tst_table_cov overlap = {0}, mine = {job->measure.global, job->measure.entities};
        const tst_table_cov *table_cov = NULL;
        if (tst_table_load_coverage(job->table, &table_cov) == 0 &&
            tst_overlap_intersect(job->table, &mine, table_cov, &overlap) == 0)
            with.boundary = tst_overlap_only_boundary(&mine, &overlap);
        tst_table_cov_clear(&overlap);
        r = &with;
    }
    /* protocol 7 keeps one row per (entity, bucket): no boundary merging there */
    overlap_hint(r, tst_table_get_meta(job->table)->protocol_version == TST_PROTOCOL_VERSION,
                 range, hint, sizeof hint);
    const char *root = tst_table_root(job->table);
    if (r->edge && r->total == 1)
        tst_fail(TST_EOVERLAP, "append to table %s rejected: %s; nothing was written (source %s)",
                 root, hint, job->source.path);
    else if (r->entity[0] && r->entities > 1)
        tst_fail(TST_EOVERLAP, "append to table %s rejected: %" PRIu64 " (entity, bucket) pairs "
                 "over %" PRIu64 " entities already covered; first: %s, %" PRIu64 " bucket%s "
                 "from %s%s%s; nothing was written (source %s)",
                 root, r->total, r->entities, r->entity, r->first_count,
                 r->first_count == 1 ? "" : "s", range, hint[0] ? "; " : "", hint,
                 job->source.path);
    else if (r->entity[0])
        tst_fail(TST_EOVERLAP, "append to table %s rejected: %" PRIu64 " bucket%s of entity %s "
                 "already covered, first %s%s%s; nothing was written (source %s)",
                 root, r->total, r->total == 1 ? "" : "s", r->entity, range,
                 hint[0] ? "; " : "", hint, job->source.path);
    else
        tst_fail(TST_EOVERLAP, "append to table %s rejected: %" PRIu64 " bucket%s already "
                 "covered, first %s%s%s; nothing was written (source %s)",
                 root, r->total, r->total == 1 ? "" : "s", range, hint[0] ? "; " : "", hint,
                 job->source.path);
    tst_fail_set_overlap(r->total, r->entity, r->bucket, range);
    tst_fail_set_overlap_entities(r->entities, r->first_count);
    tst_fail_set_path(root);
    return TST_EOVERLAP;
}

static int check_global_overlap(append_job *job, const tst_table_cov *table_cov)
{
    overlap_report r = {.entities = 1};
    r.total = tst_coverage_intersection_cardinality(job->measure.global, table_cov->global);
    if (r.total == 0)
        return 0;
    tst_coverage *both = NULL;
    int rc = tst_coverage_intersect(&both, job->measure.global, table_cov->global);
    if (rc == 0)
        tst_coverage_min(both, &r.bucket);
    tst_coverage_free(both);
    r.first_count = r.total;
    r.edge = overlap_edge(job->measure.global, table_cov->global, r.total, r.bucket);
    return rc != 0 ? rc : overlap_error(job, &r);
}

/* Entities of src whose coverage meets the table's. */
static uint64_t overlapping_entities(const tst_entity_coverage *src,
                                     const tst_entity_coverage *table)
{
    uint64_t n = 0;
    for (size_t i = 0; i < tst_entity_coverage_count(src); i++) {
        tst_entity_identity id;
        const tst_coverage *cov = NULL, *other;
        if (tst_entity_coverage_at(src, i, &id, &cov) == 0 &&
            (other = tst_entity_coverage_get(table, &id)) != NULL &&
            tst_coverage_intersection_cardinality(cov, other) > 0)
            n++;
    }
    return n;
}

/* Rejects the append if any (entity, bucket) it covers is already covered. */
static int check_overlap(append_job *job, const tst_table_cov *table_cov)
{
    if (job->measure.global)
        return check_global_overlap(job, table_cov);
    overlap_report r = {0};
    tst_entity_identity id;
    const tst_entity_coverage *src = job->measure.entities, *table = table_cov->entities;
    if (!tst_entity_coverage_overlap(src, table, &r.total, &id, &r.bucket))
        return 0;
    const tst_coverage *src_cov = tst_entity_coverage_get(src, &id);
    const tst_coverage *table_ent = tst_entity_coverage_get(table, &id);
    r.first_count = src_cov && table_ent
                        ? tst_coverage_intersection_cardinality(src_cov, table_ent)
                        : r.total;
    r.entities = overlapping_entities(src, table);
    if (src_cov && table_ent && r.total == r.entities) /* one bucket each */
        r.edge = overlap_edge(src_cov, table_ent, r.first_count, r.bucket);
    tst_entity_identity_format_named(tst_table_index(job->table), &id, r.entity, sizeof r.entity);
    return overlap_error(job, &r);
}

/* Two files of one batch must not cover the same (entity, bucket). */
static int files_overlap_error(const append_job *a, const append_job *b, uint64_t count,
                               const char *entity, uint64_t bucket)
{
    const tst_index_kind *kind = &tst_table_index(a->table)->kind;
    char range[TST_BUCKET_TEXT_MAX] = "";
    tst_bucket_format(kind, bucket, range, sizeof range);
    const char *root = tst_table_root(a->table);
    tst_fail(TST_EOVERLAP, "append to table %s rejected: %s and %s both cover %" PRIu64
             " buckets%s%s, first %s; remove one of them or split them by time; nothing was "
             "written", root, a->source.path, b->source.path, count, entity[0] ? " of entity " : "",
             entity, range);
    tst_fail_set_overlap(count, entity, bucket, range);
    tst_fail_set_path(b->source.path);
    return TST_EOVERLAP;
}

static int check_files_overlap(const append_job *a, const append_job *b)
{
    if (a->measure.global) {
        uint64_t count = tst_coverage_intersection_cardinality(a->measure.global,
                                                               b->measure.global);
        if (count == 0)
            return 0;
        tst_coverage *both = NULL;
        uint64_t first = 0;
        int rc = tst_coverage_intersect(&both, a->measure.global, b->measure.global);
        if (rc == 0)
            tst_coverage_min(both, &first);
        tst_coverage_free(both);
        return rc != 0 ? rc : files_overlap_error(a, b, count, "", first);
    }
    uint64_t count = 0, bucket = 0;
    tst_entity_identity id;
    if (!tst_entity_coverage_overlap(b->measure.entities, a->measure.entities, &count, &id,
                                     &bucket))
        return 0;
    char entity[512];
    tst_entity_identity_format_named(tst_table_index(a->table), &id, entity, sizeof entity);
    return files_overlap_error(a, b, count, entity, bucket);
}

/* ---- files ------------------------------------------------------------- */

static bool is_v7(const tst_table *table)
{
    return tst_table_get_meta(table)->protocol_version == TST_PROTOCOL_VERSION;
}

/* Whether the job's file goes in as its bytes (copied, or moved). */
static bool job_copies(const append_job *job)
{
    return job->plan.copyable && !job->opts->reencode;
}

/* Picks the data file's name and makes its folder (once per job). */
static int name_data(append_job *job)
{
    if (job->data_named)
        return 0;
    char uuid[37];
    int rc = tst_io_uuid(uuid);
    if (rc != 0)
        return rc;
    /* Protocol 7 (the reference 0.5+) keeps appended files apart from optimize's. */
    const char *folder = is_v7(job->table) ? "data/_managed/append" : "data";
    snprintf(job->data_path, sizeof job->data_path, "%s/%s.parquet", folder, uuid);
    char *dir = absolute(job, folder);
    rc = dir ? tst_io_mkdirs(dir) : tst_fail(TST_ENOMEM, "out of memory");
    free(dir);
    job->data_named = rc == 0;
    return rc;
}

static int copier_setup(append_job *job)
{
    copier *c = &job->copy;
    c->move = job->opts->move;
    c->src = strdup(job->source.path);
    c->dst = absolute(job, job->data_path);
    return c->src && c->dst ? 0 : tst_fail(TST_ENOMEM, "out of memory");
}

/* Starts copying the job's file in a thread of its own (see copier). */
static int copier_start(append_batch *b, size_t i)
{
    append_job *job = &b->jobs[i];
    if (!job_copies(job) || job->opts->on_overlap != TST_OVERLAP_REJECT)
        return 0;
    for (size_t j = 0; j < i; j++) /* one copy at a time: one order of fsio steps */
        copier_join(&b->jobs[j].copy);
    int rc = name_data(job);
    if (rc == 0)
        rc = copier_setup(job);
    if (rc == 0 && pthread_create(&job->copy.thread, NULL, copier_main, &job->copy) != 0)
        return 0; /* no thread: write_data copies on this one */
    job->copy.running = rc == 0;
    return rc;
}

static int write_data(append_job *job)
{
    int rc = name_data(job);
    if (rc == 0 && job_copies(job)) {
        if (!job->copy.running && !job->copy.done) { /* not started early: copy now */
            rc = job->copy.src ? 0 : copier_setup(job);
            if (rc == 0)
                copier_main(&job->copy);
        }
        if (rc == 0)
            rc = copier_result(&job->copy);
    } else if (rc == 0) {
        char *dst = absolute(job, job->data_path);
        tst_segment_layout layout = {job->opts->compression, job->opts->row_group_rows, NULL};
        rc = dst ? tst_segment_write(job->source.relation_sql, tst_table_index(job->table),
                                     job->plan.schema, dst, &layout)
                 : tst_fail(TST_ENOMEM, "out of memory");
        free(dst);
    }
    if (rc == 0) {
        job->data_written = true;
        char *dst = absolute(job, job->data_path);
        rc = dst ? tst_segment_file_stats(dst, &job->file_rows, &job->file_bytes)
                 : tst_fail(TST_ENOMEM, "out of memory");
        free(dst);
    }
    return rc;
}

static tst_table_cov measured_cov(const append_job *job)
{
    tst_table_cov cov = {job->measure.global, job->measure.entities};
    return cov;
}

static int write_segment_sidecar(append_job *job)
{
    tst_table_cov cov = measured_cov(job);
    int rc = tst_sidecar_write_segment(tst_table_root(job->table), tst_table_index(job->table),
                                       &cov, job->attempt_uuid, job->segment_cov_path,
                                       sizeof job->segment_cov_path);
    job->segment_cov_written = rc == 0;
    return rc;
}

static void added_clear(append_batch *b)
{
    if (b->added_owned)
        tst_table_cov_clear(&b->added);
    memset(&b->added, 0, sizeof b->added);
    b->added_owned = false;
}

/* Every file's coverage: the one file's as measured, or their union. */
static int collect_added(append_batch *b)
{
    added_clear(b);
    int rc = 0;
    for (size_t i = 0; rc == 0 && i < b->count; i++) {
        if (b->jobs[i].skipped)
            continue;
        tst_table_cov mine = measured_cov(&b->jobs[i]);
        if (!b->added.global && !b->added.entities) {
            b->added = mine;
        } else {
            if (!b->added_owned) {
                tst_table_cov first = b->added;
                memset(&b->added, 0, sizeof b->added);
                rc = tst_table_cov_clone(&b->added, &first);
                b->added_owned = rc == 0;
            }
            if (rc == 0)
                rc = tst_table_cov_union_inplace(&b->added, &mine);
        }
    }
    return rc;
}

/* Without a removal: the snapshot's bytes straight from the table's
 * coverage and the files', the union never built (the table's coverage is
 * large, an append's small: only the containers both hold are merged). */
static int write_union_snapshot(append_batch *b, const tst_table_cov *table_cov)
{
    uint8_t *bytes = NULL;
    size_t len = 0;
    int rc = collect_added(b);
    if (rc == 0)
        rc = tst_sidecar_encode_union(table_cov, &b->added, &bytes, &len);
    if (rc == 0)
        rc = tst_sidecar_write_snapshot_bytes(tst_table_root(b->table), tst_table_index(b->table),
                                              tst_table_version(b->table) + 1, bytes, len,
                                              b->attempt_uuid, b->snapshot_path,
                                              sizeof b->snapshot_path);
    free(bytes);
    b->snapshot_is_union = true;
    b->base = table_cov;
    b->base_version = tst_table_version(b->table);
    b->snapshot_written = rc == 0;
    return rc;
}

/* The snapshot for the next version: the table's coverage plus every file's. */
static int write_snapshot(append_batch *b, const tst_table_cov *table_cov)
{
    tst_table_cov_clear(&b->snapshot);
    b->snapshot_is_union = false;
    if (b->removal.count == 0)
        return write_union_snapshot(b, table_cov);
    /* replace: the pairs the removal takes out first, then the new rows' */
    int rc = b->removal.count > 0 ? tst_delete_plan_uncover(&b->removal, table_cov, &b->snapshot)
                                  : tst_table_cov_clone(&b->snapshot, table_cov);
    for (size_t i = 0; rc == 0 && i < b->count; i++) {
        if (b->jobs[i].skipped)
            continue;
        tst_table_cov mine = measured_cov(&b->jobs[i]);
        rc = tst_table_cov_union_inplace(&b->snapshot, &mine);
    }
    if (rc == 0)
        rc = tst_sidecar_write_snapshot(tst_table_root(b->table), tst_table_index(b->table),
                                        tst_table_version(b->table) + 1, &b->snapshot,
                                        b->attempt_uuid, b->snapshot_path,
                                        sizeof b->snapshot_path);
    b->snapshot_written = rc == 0;
    return rc;
}

/* ---- overlap modes: skip and replace ------------------------------------ */

static tst_overlap_mode mode_of(const append_job *job)
{
    return job->opts->on_overlap;
}

/* Measures the job's (current) relation: rows, bounds, coverage, layout. */
static int measure_job(append_job *job)
{
    tst_measure_clear(&job->measure);
    clear_layout(&job->layout);
    int rc = tst_measure_relation_ex(job->source.relation_sql, tst_table_index(job->table),
                                     job->plan.schema, is_v7(job->table), &job->measure);
    rc = tst_source_csv_explain(&job->source, rc); /* a bad CSV value: its line */
    if (rc == TST_EDUPLICATE)
        tst_fail_context(rc, "append to table %s rejected, nothing was written",
                         tst_table_root(job->table));
    if (rc == 0 && job->measure.rows == 0)
        rc = tst_fail(TST_EEMPTY, "cannot append an empty source: %s has no rows",
                      job->source.path);
    return rc == 0 ? derive_layout(job) : rc;
}

/*
 * skip: the source less the rows of job->overlap and less its rows without
 * an index value, re-measured. A row whose index is null lies in no bucket,
 * so the table's coverage cannot tell whether it was appended before: skip
 * promises that running an ingest twice appends nothing the second time,
 * so it leaves such rows out every time (counted in rows_skipped), not only
 * when the rest of their file happens to be covered.
 */
static int filter_covered(append_job *job)
{
    uint64_t before = job->measure.rows;
    tst_overlap_targets l = {0};
    char *pred = NULL;
    tst_sql t = {0};
    bool overlaps = tst_overlap_pairs(&job->overlap) > 0;
    int rc = overlaps ? tst_overlap_targets_of(job->table, &job->overlap, &l) : 0;
    if (rc == 0 && overlaps)
        rc = tst_delete_targets_predicate(job->table, "append", l.items, l.count, &pred);
    if (rc == 0)
        rc = SQL_F(&t, "(SELECT * FROM %s WHERE ", job->orig_relation);
    if (rc == 0)
        rc = SQL_IDENT(&t, tst_table_index(job->table)->column);
    if (rc == 0)
        rc = SQL_F(&t, " IS NOT NULL%s%s)", pred ? " AND NOT " : "", pred ? pred : "");
    if (rc == 0) {
        free(job->source.relation_sql);
        job->source.relation_sql = t.s;
        t.s = NULL;
        job->plan.copyable = false; /* the file's bytes hold rows we leave out */
        rc = measure_job(job);
    }
    if (rc == 0)
        job->rows_skipped = before - job->measure.rows;
    free(t.s);
    free(pred);
    tst_overlap_targets_clear(&l);
    return rc;
}

/*
 * Skip and replace, at prepare time and after each rebase: what of the
 * source the table covers now. Skip filters the source (or drops the file
 * when it is all covered); replace only records it (the removal plan is
 * built for the whole batch, see plan_removal).
 */
static int apply_overlap_mode(append_job *job, const tst_table_cov *table_cov)
{
    tst_table_cov_clear(&job->overlap);
    int rc = 0;
    if (!job->src_cov.global && !job->src_cov.entities) {
        tst_table_cov mine = measured_cov(job);
        rc = tst_table_cov_clone(&job->src_cov, &mine);
        if (rc == 0 && !(job->orig_relation = strdup(job->source.relation_sql)))
            rc = tst_fail(TST_ENOMEM, "out of memory");
    }
    if (rc == 0)
        rc = tst_overlap_intersect(job->table, &job->src_cov, table_cov, &job->overlap);
    uint64_t shared = rc == 0 ? tst_overlap_pairs(&job->overlap) : 0;
    job->skipped = false;
    job->rows_skipped = 0;
    if (rc != 0 || mode_of(job) != TST_OVERLAP_SKIP)
        return rc;
    if (shared > 0 && shared == tst_overlap_pairs(&job->src_cov)) {
        job->skipped = true;
        job->rows_skipped = job->measure.rows;
        return 0;
    }
    bool unindexed_rows = job->measure.indexed_rows < job->measure.rows;
    return shared > 0 || unindexed_rows ? filter_covered(job) : 0;
}

/* replace: the removal of every file's shared pairs, at the handle's version. */
static int plan_removal(append_batch *b)
{
    tst_delete_plan_roll_back(&b->removal);
    tst_delete_plan_clear(&b->removal);
    tst_table_cov all = {0};
    int rc = tst_table_cov_new(&all, tst_table_index(b->table));
    for (size_t i = 0; rc == 0 && i < b->count; i++)
        rc = tst_table_cov_union_inplace(&all, &b->jobs[i].overlap);
    tst_overlap_targets l = {0};
    if (rc == 0 && tst_overlap_pairs(&all) > 0) {
        rc = tst_overlap_targets_of(b->table, &all, &l);
        if (rc == 0)
            rc = tst_delete_plan_build(&b->removal, b->table, "replace", l.items, l.count,
                                       b->opts->cancel);
    }
    tst_overlap_targets_clear(&l);
    tst_table_cov_clear(&all);
    return rc;
}

/* ---- allow_boundary_overlap -------------------------------------------- */

/* The first (entity, bucket) of a non-empty overlap, as messages show it. */
static uint64_t first_pair(const append_job *job, const tst_table_cov *overlap, char *entity,
                           size_t entity_cap, char *range, size_t range_cap)
{
    uint64_t bucket = 0;
    entity[0] = '\0';
    if (overlap->global) {
        tst_coverage_min(overlap->global, &bucket);
    } else {
        tst_entity_identity id;
        const tst_coverage *c = NULL;
        if (tst_entity_coverage_at(overlap->entities, 0, &id, &c) == 0) {
            tst_coverage_min(c, &bucket);
            tst_entity_identity_format_named(tst_table_index(job->table), &id, entity,
                                             entity_cap);
        }
    }
    tst_bucket_format(&tst_table_index(job->table)->kind, bucket, range, range_cap);
    return bucket;
}

static int boundary_error(const append_job *job, const tst_table_cov *overlap, const char *why)
{
    char entity[512], range[TST_BUCKET_TEXT_MAX] = "";
    uint64_t bucket = first_pair(job, overlap, entity, sizeof entity, range, sizeof range);
    const char *root = tst_table_root(job->table);
    tst_fail(TST_EOVERLAP, "append to table %s rejected: the source's boundary bucket%s%s %s is "
             "partly covered already and %s; nothing was written (source %s)", root,
             entity[0] ? " for " : "", entity, range, why, job->source.path);
    tst_fail_set_overlap(tst_overlap_pairs(overlap), entity, bucket, range);
    tst_fail_set_path(root);
    return TST_EOVERLAP;
}

/* Rows of the source in the overlap whose (entity, index value) a stored row has. */
static int count_collisions(append_job *job, const tst_delete_plan *found, const char *pred,
                            uint64_t *out)
{
    const tst_index_spec *spec = tst_table_index(job->table);
    const tst_schema *schema = tst_table_get_meta(job->table)->schema;
    tst_sql t = {0};
    int rc = SQL_F(&t, "SELECT count(*) FROM (SELECT DISTINCT ");
    if (rc == 0)
        rc = tst_overlap_key_sql(&t, spec, schema);
    if (rc == 0)
        rc = SQL_F(&t, " FROM %s WHERE %s) s JOIN (SELECT DISTINCT ", job->source.relation_sql,
                   pred);
    if (rc == 0)
        rc = tst_overlap_key_sql(&t, spec, schema);
    if (rc == 0)
        rc = SQL_F(&t, " FROM read_parquet([");
    for (size_t i = 0; rc == 0 && i < found->count; i++) {
        char *abs = absolute(job, found->items[i].path);
        rc = abs ? SQL_F(&t, "%s", i ? ", " : "") : tst_fail(TST_ENOMEM, "out of memory");
        if (rc == 0)
            rc = SQL_LIT(&t, abs);
        free(abs);
    }
    if (rc == 0)
        rc = SQL_F(&t, "], union_by_name = true) WHERE %s) r USING (", pred);
    for (size_t k = 0; rc == 0 && k < spec->entity_count; k++) {
        rc = SQL_IDENT(&t, spec->entity_columns[k]);
        if (rc == 0)
            rc = SQL_F(&t, ", ");
    }
    if (rc == 0)
        rc = SQL_F(&t, "tst_key)");
    duckdb_connection con = NULL;
    duckdb_result res;
    if (rc == 0)
        rc = tst_duck_connect(&con);
    if (rc == 0)
        rc = tst_duck_query(con, t.s, &res, "comparing the boundary buckets' rows");
    if (rc == 0) {
        *out = duckdb_value_uint64(&res, 0, 0);
        duckdb_destroy_result(&res);
    }
    tst_duck_disconnect(&con);
    free(t.s);
    return rc;
}

/* Reads the stored rows of the boundary pairs (only the segments holding them). */
static int check_collisions(append_job *job, const tst_table_cov *overlap)
{
    tst_overlap_targets l;
    tst_delete_plan found;
    memset(&found, 0, sizeof found);
    char *pred = NULL;
    uint64_t n = 0;
    int rc = tst_overlap_targets_of(job->table, overlap, &l);
    if (rc == 0)
        rc = tst_delete_plan_find(&found, job->table, "append", l.items, l.count);
    if (rc == 0)
        rc = tst_delete_targets_predicate(job->table, "append", l.items, l.count, &pred);
    if (rc == 0 && found.count > 0)
        rc = count_collisions(job, &found, pred, &n);
    if (rc == 0 && n > 0) {
        char why[160];
        snprintf(why, sizeof why, "%" PRIu64 " of its rows there ha%s an index value the table "
                 "already holds; use --on-overlap skip or replace", n, n == 1 ? "s" : "ve");
        rc = boundary_error(job, overlap, why);
    }
    free(pred);
    tst_delete_plan_clear(&found);
    tst_overlap_targets_clear(&l);
    return rc;
}

/* on_overlap reject: TST_EOVERLAP for a covered pair, except (allow_boundary_overlap)
 * a partly covered first or last bucket without colliding rows. */
static int check_table_overlap(append_job *job, const tst_table_cov *table_cov)
{
    if (!job->opts->allow_boundary_overlap)
        return check_overlap(job, table_cov);
    tst_table_cov overlap = {0}, mine = measured_cov(job);
    int rc = tst_overlap_intersect(job->table, &mine, table_cov, &overlap);
    if (rc == 0 && tst_overlap_pairs(&overlap) > 0) {
        if (!tst_overlap_only_boundary(&mine, &overlap))
            rc = check_overlap(job, table_cov);
        else if (is_v7(job->table))
            rc = boundary_error(job, &overlap, "a protocol-7 table keeps one row per (entity, "
                                "index interval), which that bucket has; start the source after "
                                "it or use --on-overlap skip");
        else
            rc = check_collisions(job, &overlap);
    }
    tst_table_cov_clear(&overlap);
    return rc;
}

static void remove_job_files(append_job *job)
{
    if (job->segment_cov_written)
        remove_file(job, job->segment_cov_path);
    copier_abandon(job);
    if (job->data_written)
        remove_file(job, job->data_path);
    job->segment_cov_written = job->data_written = false;
    /* written again: under a new name, copied (or moved) again */
    free(job->copy.src);
    free(job->copy.dst);
    memset(&job->copy, 0, sizeof job->copy);
    job->data_named = false;
}

static int write_job(append_batch *b, append_job *job);

/* skip after a rebase: a file whose covered part changed is filtered and written again. */
static int refilter(append_batch *b, const tst_table_cov *table_cov)
{
    int rc = 0;
    for (size_t i = 0; rc == 0 && i < b->count; i++) {
        append_job *job = &b->jobs[i];
        tst_table_cov now = {0};
        rc = tst_overlap_intersect(b->table, &job->src_cov, table_cov, &now);
        bool same = rc == 0 && tst_table_cov_equals(&now, &job->overlap);
        tst_table_cov_clear(&now);
        if (rc != 0 || same)
            continue;
        remove_job_files(job);
        free(job->source.relation_sql);
        job->source.relation_sql = strdup(job->orig_relation);
        rc = job->source.relation_sql ? 0 : tst_fail(TST_ENOMEM, "out of memory");
        /* the file is written again: planned against the schema of now */
        tst_append_plan_clear(&job->plan);
        if (rc == 0)
            rc = tst_append_plan_schema(tst_table_get_meta(b->table), &job->source,
                                        tst_table_root(b->table), &job->plan);
        if (rc == 0)
            rc = measure_job(job);
        if (rc == 0)
            rc = apply_overlap_mode(job, table_cov);
        if (rc == 0 && !job->skipped)
            rc = write_job(b, job);
    }
    return rc;
}

/* What a rebase re-checks against the new version's coverage. */
static int recheck(append_batch *b, const tst_table_cov *table_cov)
{
    int rc = 0;
    switch (b->opts->on_overlap) {
    case TST_OVERLAP_SKIP: return refilter(b, table_cov);
    case TST_OVERLAP_REPLACE:
        for (size_t i = 0; rc == 0 && i < b->count; i++) {
            tst_table_cov_clear(&b->jobs[i].overlap); /* the old version's */
            rc = tst_overlap_intersect(b->table, &b->jobs[i].src_cov, table_cov,
                                       &b->jobs[i].overlap);
        }
        return rc == 0 ? plan_removal(b) : rc;
    case TST_OVERLAP_REJECT: break;
    }
    for (size_t i = 0; rc == 0 && i < b->count; i++)
        rc = check_table_overlap(&b->jobs[i], table_cov);
    return rc;
}

static bool all_skipped(const append_batch *b)
{
    for (size_t i = 0; i < b->count; i++)
        if (!b->jobs[i].skipped)
            return false;
    return true;
}

/* ---- commit ------------------------------------------------------------ */

static void fill_segment(const append_job *job, tst_segment *seg)
{
    memset(seg, 0, sizeof *seg);
    seg->path = (char *)job->data_path;
    seg->layout = job->layout;
    seg->index_min = job->measure.min;
    seg->index_max = job->measure.max;
    seg->row_count = job->file_rows;
    seg->has_file_size = true;
    seg->file_size = job->file_bytes;
    seg->coverage_path = (char *)job->segment_cov_path;
}

static int commit_once(append_batch *b, uint64_t *out_version)
{
    size_t cap = b->count + 2 + tst_delete_plan_action_count(&b->removal), n = 0;
    tst_action *actions = calloc(cap, sizeof *actions);
    if (!actions)
        return tst_fail(TST_ENOMEM, "out of memory");
    const tst_table_meta *meta = tst_table_get_meta(b->table);
    tst_table_meta *adopting = NULL;
    int rc = 0;
    if (b->jobs[0].plan.adopted) {
        actions[n].type = TST_ACTION_UPDATE_TABLE_META;
        actions[n].u.meta = *meta;
        actions[n].u.meta.schema = b->jobs[0].plan.adopted;
        adopting = &actions[n].u.meta;
        n++;
        /* Annotations arrive with schema_metadata declared (protocol 7). */
        if (meta->protocol_version == TST_PROTOCOL_VERSION &&
            tst_schema_has_metadata(adopting->schema)) {
            adopting->reader_features = adopting->writer_features = NULL;
            rc = tst_features_copy(&adopting->reader_features, &adopting->reader_feature_count,
                                   meta->reader_features, meta->reader_feature_count);
            if (rc == 0)
                rc = tst_features_copy(&adopting->writer_features,
                                       &adopting->writer_feature_count, meta->writer_features,
                                       meta->writer_feature_count);
            if (rc == 0)
                rc = tst_protocol_enable_metadata(adopting);
        } else {
            adopting = NULL; /* borrows the table's lists */
        }
    }
    tst_delete_plan_fill_actions(&b->removal, &actions[n]);
    n += tst_delete_plan_action_count(&b->removal);
    for (size_t i = 0; i < b->count; i++) {
        if (b->jobs[i].skipped)
            continue;
        actions[n].type = TST_ACTION_ADD_SEGMENT;
        fill_segment(&b->jobs[i], &actions[n].u.segment);
        n++;
    }
    actions[n].type = TST_ACTION_UPDATE_TABLE_COVERAGE;
    actions[n].u.coverage.index_kind = meta->index.kind;
    actions[n].u.coverage.coverage_path = b->snapshot_path;
    n++;
    if (rc == 0)
        rc = tst_table_commit(b->table, actions, n, out_version);
    if (adopting) {
        tst_features_free(adopting->reader_features, adopting->reader_feature_count);
        tst_features_free(adopting->writer_features, adopting->writer_feature_count);
    }
    free(actions);
    return rc;
}

/* Re-plans against a table another writer has moved on. */
static int rebase(append_batch *b)
{
    remove_file(&b->jobs[0], b->snapshot_path);
    b->snapshot_written = false;
    int rc = tst_table_refresh(b->table, NULL);
    append_job *lead = &b->jobs[0];
    if (rc == 0 && !lead->plan.adopted) {
        /* The data files are written in the schema planned against, borrowed
         * from a meta the refresh may have replaced (another writer's
         * add_columns): they stay valid as older segments of the evolved
         * table, and nothing reads that schema again. */
        for (size_t i = 0; i < b->count; i++)
            b->jobs[i].plan.schema = NULL;
    }
    if (rc != 0 || !lead->plan.adopted)
        return rc;
    /* This was to be the first append. If another writer made it, our data
     * files were written in the schema we meant to adopt: it must be theirs. */
    const tst_schema *now = tst_table_get_meta(b->table)->schema;
    if (!now)
        return 0;
    if (!tst_schema_equal(now, lead->plan.adopted) ||
        !tst_schema_annotations_equal(now, lead->plan.adopted))
        return tst_fail(TST_ESCHEMA, "append to table %s rejected: another writer made the first "
                        "append with a different schema; nothing was written",
                        tst_table_root(b->table));
    tst_schema_free(lead->plan.adopted);
    lead->plan.adopted = NULL;
    for (size_t i = 0; i < b->count; i++)
        b->jobs[i].plan.schema = now;
    return 0;
}

static int commit_with_rebase(append_batch *b, tst_append_result *res)
{
    unsigned max = b->opts->max_attempts ? b->opts->max_attempts : 1;
    for (unsigned attempt = 1;; attempt++) {
        const tst_table_cov *table_cov = NULL;
        int rc = tst_table_load_coverage(b->table, &table_cov);
        /* prepare() checked the first attempt's state; a rebase brings new data. */
        if (rc == 0 && attempt > 1)
            rc = recheck(b, table_cov);
        if (rc == 0 && all_skipped(b)) { /* skip: another writer covered the rest */
            res->no_op = true;
            res->version = tst_table_version(b->table);
            return 0;
        }
        if (rc == 0)
            rc = write_snapshot(b, table_cov);
        uint64_t version = 0;
        if (rc == 0 && tst_append_before_commit_hook)
            tst_append_before_commit_hook(tst_append_before_commit_ctx, attempt);
        if (rc == 0)
            rc = cancelled(b); /* the last moment: after the commit, it stands */
        if (rc == 0)
            rc = commit_once(b, &version);
        if (rc == 0) {
            res->version = version;
            res->attempts = attempt;
            /* The handle is at our version now: it already knows its coverage. */
            if (b->snapshot_is_union)
                tst_table_adopt_coverage_union(b->table, b->base_version, b->base, &b->added);
            else
                (void)tst_table_adopt_coverage(b->table, &b->snapshot);
            return 0;
        }
        if (rc != TST_ECONFLICT || attempt >= max)
            return rc;
        rc = rebase(b);
        if (rc != 0)
            return rc;
    }
}

/* ---- the append -------------------------------------------------------- */

/* Opens and plans one file. Files after the first of a first append are
 * read and matched as if the first one's schema were the table's. */
static int plan_job(append_batch *b, size_t i)
{
    append_job *job = &b->jobs[i];
    tst_table_meta meta = *tst_table_get_meta(b->table);
    if (i > 0 && !meta.schema)
        meta.schema = (tst_schema *)b->jobs[0].plan.schema;
    int rc = b->open(&job->source, b->args[i], &meta);
    if (rc == 0)
        rc = cancelled(b);
    if (rc == 0)
        rc = tst_append_plan_schema(&meta, &job->source, tst_table_root(b->table), &job->plan);
    return rc;
}

static int prepare_job(append_batch *b, size_t i, const tst_table_cov *table_cov)
{
    append_job *job = &b->jobs[i];
    int rc = plan_job(b, i);
    if (rc == 0) /* the copy overlaps the measure and the checks */
        rc = copier_start(b, i);
    if (rc == 0)
        rc = measure_job(job);
    bool reject = mode_of(job) == TST_OVERLAP_REJECT;
    /* Cheap early rejection, before any file exists; re-checked at commit. */
    if (rc == 0 && reject)
        rc = check_table_overlap(job, table_cov);
    else if (rc == 0)
        rc = apply_overlap_mode(job, table_cov);
    /* skip: files are compared on the rows they still append */
    for (size_t j = 0; rc == 0 && !job->skipped && j < i; j++)
        if (!b->jobs[j].skipped)
            rc = check_files_overlap(&b->jobs[j], job);
    if (rc == 0)
        rc = cancelled(b);
    return rc;
}

static int prepare(append_batch *b)
{
    int rc = tst_table_refresh(b->table, NULL);
    if (rc == 0) /* before any file is read or written */
        rc = tst_table_check_writable(b->table, "append");
    const tst_table_cov *table_cov = NULL;
    if (rc == 0)
        rc = tst_table_load_coverage(b->table, &table_cov);
    for (size_t i = 0; rc == 0 && i < b->count; i++)
        rc = prepare_job(b, i, table_cov);
    return rc;
}

static int write_job(append_batch *b, append_job *job)
{
    int rc = tst_io_uuid(job->attempt_uuid);
    if (rc == 0)
        rc = write_data(job);
    if (rc == 0)
        rc = cancelled(b);
    if (rc == 0)
        rc = write_segment_sidecar(job);
    return rc;
}

static void fill_result(const append_batch *b, tst_append_result *res)
{
    res->copied = !res->no_op;
    for (size_t i = 0; i < b->count; i++) {
        const append_job *job = &b->jobs[i];
        if (b->opts->on_overlap == TST_OVERLAP_SKIP) {
            res->rows_skipped += job->rows_skipped;
            res->buckets_skipped += tst_overlap_pairs(&job->overlap);
        }
        if (job->skipped)
            continue;
        res->rows += job->file_rows;
        res->bytes += job->file_bytes;
        res->copied &= job->plan.copyable && !b->opts->reencode;
        if (!res->segment_path[0])
            snprintf(res->segment_path, sizeof res->segment_path, "%s", job->data_path);
    }
    res->rows_replaced = b->removal.rows_deleted;
    res->buckets_replaced = tst_delete_plan_pairs(&b->removal);
    res->segments_removed = b->removal.segments_removed;
    res->segments_rewritten = b->removal.segments_rewritten;
}

static int run(append_batch *b, tst_append_result *res)
{
    int rc = prepare(b);
    if (rc == 0 && all_skipped(b)) { /* skip: the table covers every row's pair */
        res->no_op = true;
        res->version = tst_table_version(b->table);
        fill_result(b, res);
        return 0;
    }
    if (rc == 0)
        rc = tst_io_uuid(b->attempt_uuid);
    if (rc == 0 && b->opts->on_overlap == TST_OVERLAP_REPLACE)
        rc = plan_removal(b);
    for (size_t i = 0; rc == 0 && i < b->count; i++)
        if (!b->jobs[i].skipped)
            rc = write_job(b, &b->jobs[i]);
    if (rc == 0)
        rc = commit_with_rebase(b, res);
    if (rc == TST_EAMBIGUOUS)
        return rc; /* the commit may stand: keep every file it names */
    for (size_t i = 0; rc != 0 && i < b->count; i++) /* a bad CSV value seen while writing */
        rc = tst_source_csv_explain(&b->jobs[i].source, rc);
    if (rc != 0) {
        roll_back(b);
        return rc;
    }
    fill_result(b, res);
    /* opts.move: the files are the table's now; their old names go. A crash
     * or failure here leaves a name behind, never a table without its file. */
    for (size_t i = 0; i < b->count; i++) {
        append_job *job = &b->jobs[i];
        if (!job->skipped && job->data_written && job->copy.linked &&
            tst_io_unlink(job->source.path) == 0)
            res->moved++;
    }
    return 0;
}

/* Runs a batch of count sources (opened by open from args[i]) and releases everything. */
static int append_batch_run(tst_table *table, open_fn open, const void *const *args,
                            size_t count, const tst_append_options *opts, tst_append_result *out)
{
    static const tst_append_options defaults = TST_APPEND_OPTIONS_INIT;
    append_batch b;
    memset(&b, 0, sizeof b);
    b.table = table;
    b.opts = opts ? opts : &defaults;
    b.count = count;
    b.open = open;
    b.args = args;
    b.jobs = calloc(count, sizeof *b.jobs);
    tst_append_result res;
    memset(&res, 0, sizeof res);
    tst_cancel *outer = tst_cancel_scope_enter(b.opts->cancel);
    int rc = b.jobs ? 0 : tst_fail(TST_ENOMEM, "out of memory");
    if (rc == 0 && tst_compression_name(b.opts->compression) == NULL)
        rc = tst_fail(TST_EINVAL, "append options: compression %d is not a tst_compression",
                      (int)b.opts->compression);
    if (rc == 0 && tst_overlap_mode_name(b.opts->on_overlap) == NULL)
        rc = tst_fail(TST_EINVAL, "append options: on_overlap %d is not a tst_overlap_mode",
                      (int)b.opts->on_overlap);
    if (rc == 0 && b.opts->allow_boundary_overlap && b.opts->on_overlap != TST_OVERLAP_REJECT)
        rc = tst_fail(TST_EINVAL, "append options: allow_boundary_overlap goes with on_overlap "
                      "reject, not %s (skip and replace decide every covered bucket already)",
                      tst_overlap_mode_name(b.opts->on_overlap));
    for (size_t i = 0; rc == 0 && i < count; i++) {
        b.jobs[i].table = table;
        b.jobs[i].opts = b.opts;
    }
    if (rc == 0)
        rc = run(&b, &res);
    if (rc == TST_ECANCELLED) /* whichever step noticed, one message */
        rc = cancel_error(&b);
    tst_cancel_scope_leave(outer);
    for (size_t i = 0; b.jobs && i < count; i++)
        job_clear(&b.jobs[i]);
    tst_table_cov_clear(&b.snapshot);
    added_clear(&b);
    tst_delete_plan_clear(&b.removal);
    free(b.jobs);
    if (rc == 0 && out)
        *out = res;
    return rc;
}

int tst_overlap_mode_parse(const char *name, tst_overlap_mode *out)
{
    static const tst_overlap_mode modes[] = {TST_OVERLAP_REJECT, TST_OVERLAP_SKIP,
                                             TST_OVERLAP_REPLACE};
    for (size_t i = 0; name && out && i < sizeof modes / sizeof modes[0]; i++)
        if (strcmp(name, tst_overlap_mode_name(modes[i])) == 0) {
            *out = modes[i];
            return 0;
        }
    return tst_fail(TST_EINVAL, "on-overlap mode '%s' is not one of reject, skip, replace",
                    name ? name : "(null)");
}

const char *tst_overlap_mode_name(tst_overlap_mode mode)
{
    switch (mode) {
    case TST_OVERLAP_REJECT: return "reject";
    case TST_OVERLAP_SKIP: return "skip";
    case TST_OVERLAP_REPLACE: return "replace";
    }
    return NULL;
}

static int append_source(tst_table *table, open_fn open, const void *arg,
                         const tst_append_options *opts, tst_append_result *out)
{
    return append_batch_run(table, open, &arg, 1, opts, out);
}

static int open_parquet(tst_source *src, const void *arg, const tst_table_meta *meta)
{
    (void)meta;
    return tst_source_parquet(src, arg);
}

int tst_table_append_parquet(tst_table *table, const char *path, const tst_append_options *opts,
                             tst_append_result *out)
{
    if (!table || !path)
        return tst_fail(TST_EINVAL, "append needs a table and a source path");
    return append_source(table, open_parquet, path, opts, out);
}

int tst_table_append_parquet_files(tst_table *table, const char *const *paths, size_t count,
                                   const tst_append_options *opts, tst_append_result *out)
{
    if (!table || !paths || count == 0)
        return tst_fail(TST_EINVAL, "append needs a table and at least one source path");
    for (size_t i = 0; i < count; i++)
        if (!paths[i])
            return tst_fail(TST_EINVAL, "append: source path %zu of %zu is NULL", i + 1, count);
    return append_batch_run(table, open_parquet, (const void *const *)paths, count, opts, out);
}

typedef struct csv_arg {
    const char *path;
    const tst_csv_options *csv;
} csv_arg;

static int open_csv(tst_source *src, const void *arg, const tst_table_meta *meta)
{
    const csv_arg *a = arg;
    static const tst_csv_options defaults = TST_CSV_OPTIONS_INIT;
    return tst_source_csv(src, a->path, a->csv ? a->csv : &defaults, meta);
}

int tst_table_append_csv_files(tst_table *table, const char *const *paths, size_t count,
                               const tst_csv_options *csv, const tst_append_options *opts,
                               tst_append_result *out)
{
    if (!table || !paths || count == 0)
        return tst_fail(TST_EINVAL, "append needs a table and at least one source path");
    int rc = 0;
    csv_arg *args = calloc(count, sizeof *args);
    const void **ptrs = args ? calloc(count, sizeof *ptrs) : NULL;
    if (rc == 0 && !ptrs)
        rc = tst_fail(TST_ENOMEM, "out of memory");
    for (size_t i = 0; rc == 0 && i < count; i++) {
        if (!paths[i])
            rc = tst_fail(TST_EINVAL, "append: source path %zu of %zu is NULL", i + 1, count);
        args[i] = (csv_arg){paths[i], csv};
        ptrs[i] = &args[i];
    }
    if (rc == 0)
        rc = append_batch_run(table, open_csv, ptrs, count, opts, out);
    free(ptrs);
    free(args);
    return rc;
}

int tst_table_append_csv(tst_table *table, const char *path, const tst_csv_options *csv,
                         const tst_append_options *opts, tst_append_result *out)
{
    if (!table || !path)
        return tst_fail(TST_EINVAL, "append needs a table and a source path");
    csv_arg arg = {path, csv};
    return append_source(table, open_csv, &arg, opts, out);
}

/* ---- Arrow streams ------------------------------------------------------ */

typedef struct arrow_arg {
    struct ArrowArrayStream *stream;
    tst_arrow_staging *staging;
} arrow_arg;

static int open_arrow(tst_source *src, const void *arg, const tst_table_meta *meta)
{
    const arrow_arg *a = arg;
    return tst_source_arrow_for(src, a->stream, a->staging, meta ? meta->schema : NULL);
}

int tst_table_append_arrow(tst_table *table, struct ArrowArrayStream *stream,
                           const tst_append_options *opts, tst_append_result *out)
{
    if (!table || !stream) {
        if (stream && stream->release)
            stream->release(stream); /* the call owns the stream on every path */
        return tst_fail(TST_EINVAL, "append needs a table and an Arrow stream");
    }
    /* A stream can only be re-encoded: there are no source bytes to copy. */
    tst_append_options forced = opts ? *opts : (tst_append_options)TST_APPEND_OPTIONS_INIT;
    forced.reencode = true;
    tst_arrow_staging staging = {{0}, false};
    arrow_arg arg = {stream, &staging};
    int rc = append_source(table, open_arrow, &arg, &forced, out);
    tst_arrow_staging_drop(&staging); /* after measure and write: they read it */
    return rc;
}
