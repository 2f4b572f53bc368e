/*
 * optimize.c — entity-layout optimization (see tstable/optimize.h): every
 * live mixed segment becomes one single-entity segment per identity, in one
 * commit.
 *
 * It reads top to bottom as the operation runs:
 *   1. refresh the handle; a table without entity columns is "not
 *      applicable"; the candidates are the live segments whose layout is
 *      Mixed, in the handle's (index_min, index_max, path) order; none is a
 *      no-op;
 *   2. for each candidate: open its file as a source (source.c reads the
 *      footer and knows how DuckDB must read zoned timestamps), check that
 *      it holds the table's schema, measure it (segment_measure.c: rows and
 *      per-identity coverage from the index and entity columns only), and
 *      check both against the log's row count and the segment's sidecar;
 *   3. for each identity of it, in canonical order: re-encode the rows of
 *      that identity (a WHERE on the entity columns over the source
 *      relation) through tst_segment_write — the writer append uses, so the
 *      replacement is sorted by entity then index and declares the table's
 *      schema — then measure the written file, check it holds exactly that
 *      identity's coverage, and write its sidecar with the sidecar code
 *      append uses (tst_sidecar_write_segment);
 *   4. commit [RemoveSegment...] + [AddSegment...] without touching the
 *      coverage pointer; when another writer got in first, rebase if every
 *      candidate is still live, else fail with TST_ECONFLICT;
 *   5. on any failure, remove every file written, newest first.
 *
 * Why one COPY per identity rather than one PARTITION_BY pass: the
 * replacement names are the reference's (<attempt>/<ordinal:010>.parquet,
 * ordinal = canonical identity order), which a partitioned write cannot
 * produce (it names files after escaped values, and splits a partition into
 * several files once too many are open); per identity there is one writer
 * at a time and DuckDB's sort stays under its memory limit. The price is a
 * scan of the source per identity, cut down by row-group statistics on the
 * entity columns.
 */
#include "optimize_internal.h"
#include "rewrite.h"

#include "append_schema.h"
#include "cancel.h"
#include "duck.h"
#include "fail.h"
#include "fsio.h"
#include "model.h"
#include "segment.h"
#include "sidecar.h"
#include "source.h"
#include "table_internal.h"
#include "tstable/optimize.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

tst_optimize_hook_fn tst_optimize_before_commit_hook;
void *tst_optimize_before_commit_ctx;

#define REWRITE_DIR "data/_staged/entity-rewrite"

/* One mixed segment being rewritten. */
typedef struct rewrite {
    char *path;               /* relative; copied, the handle's state moves on refresh */
    char attempt_uuid[37];    /* names its replacements' folder and sidecars */
    tst_rewrite_piece *reps;  /* one per identity of the mixed segment */
    size_t rep_count;
} rewrite;

typedef struct optimize_run {
    tst_table *table;
    const tst_optimize_options *opts;
    const char *root;
    rewrite *items;
    size_t count;
    tst_entity_coverage *identities; /* distinct identities written (empty coverages) */
    tst_optimize_report report;
} optimize_run;

static const tst_schema *table_schema(const optimize_run *r)
{
    return tst_table_get_meta(r->table)->schema;
}

static int cancelled(const optimize_run *r)
{
    return tst_rewrite_cancelled(r->opts->cancel, "optimize", r->root);
}

/* ---- candidates -------------------------------------------------------- */

static int not_applicable(const optimize_run *r)
{
    tst_fail(TST_EINVAL, "Entity-layout optimization is not applicable to table %s: no entity "
             "columns are configured (optimize splits segments by entity; nothing was changed)",
             r->root);
    tst_fail_set_path(r->root);
    return TST_EINVAL;
}

static int choose_candidates(optimize_run *r)
{
    size_t n = tst_table_segment_count(r->table), mixed = 0;
    for (size_t i = 0; i < n; i++)
        mixed += tst_table_segment_at(r->table, i)->layout.kind == TST_LAYOUT_MIXED;
    if (mixed == 0)
        return 0;
    r->items = calloc(mixed, sizeof *r->items);
    if (!r->items)
        return tst_fail(TST_ENOMEM, "out of memory");
    for (size_t i = 0; i < n; i++) {
        const tst_segment *seg = tst_table_segment_at(r->table, i);
        if (seg->layout.kind != TST_LAYOUT_MIXED)
            continue;
        r->items[r->count].path = strdup(seg->path);
        if (!r->items[r->count++].path)
            return tst_fail(TST_ENOMEM, "out of memory");
    }
    return 0;
}

/* ---- one replacement ------------------------------------------------------ */

static int copy_identity(tst_entity_layout *l, const tst_entity_identity *id)
{
    tst_entity_layout single = {TST_LAYOUT_SINGLE, (tst_entity_value *)id->values, id->count};
    return tst_entity_layout_copy(l, &single);
}

/* "e = <value>" as SQL. */
static int entity_condition(tst_sql *t, const char *column, const tst_entity_value *v)
{
    int rc = SQL_IDENT(t, column);
    if (rc == 0)
        rc = SQL_F(t, " = ");
    if (rc != 0)
        return rc;
    switch (v->type) {
    case TST_ENTITY_UTF8: {
        char *text = strndup(v->v.utf8.ptr, v->v.utf8.len);
        rc = text ? SQL_LIT(t, text) : tst_fail(TST_ENOMEM, "out of memory");
        free(text);
        return rc;
    }
    case TST_ENTITY_INT32: return SQL_F(t, "CAST(%" PRId32 " AS INTEGER)", v->v.i32);
    case TST_ENTITY_INT64: return SQL_F(t, "CAST('%" PRId64 "' AS BIGINT)", v->v.i64);
    case TST_ENTITY_UINT64: return SQL_F(t, "CAST('%" PRIu64 "' AS UBIGINT)", v->v.u64);
    }
    return tst_fail(TST_EINVAL, "an entity value has an unknown type");
}

/* "(SELECT * FROM <source> WHERE e1 = v1 AND ...)": the rows of one identity. */
int tst_optimize_identity_relation(tst_table *table, const tst_source *src,
                                   const tst_entity_identity *id, char **out)
{
    const tst_index_spec *spec = tst_table_index(table);
    tst_sql t = {0};
    int rc = SQL_F(&t, "(SELECT * FROM %s WHERE ", src->relation_sql);
    for (size_t k = 0; rc == 0 && k < spec->entity_count && k < id->count; k++) {
        rc = k ? SQL_F(&t, " AND ") : 0;
        if (rc == 0)
            rc = entity_condition(&t, spec->entity_columns[k], &id->values[k]);
    }
    if (rc == 0)
        rc = SQL_F(&t, ")");
    if (rc != 0)
        free(t.s);
    *out = rc == 0 ? t.s : NULL;
    return rc;
}

/* The written file must hold exactly `id` over exactly `expected`'s buckets. */
static int check_replacement(const tst_rewrite_piece *rep, const tst_measure *m,
                             const tst_entity_identity *id, const tst_coverage *expected)
{
    tst_entity_identity got;
    const tst_coverage *cov = NULL;
    if (tst_entity_coverage_count(m->entities) != 1 ||
        tst_entity_coverage_at(m->entities, 0, &got, &cov) != 0 ||
        tst_entity_identity_compare(&got, id) != 0 || !tst_coverage_equals(cov, expected))
        return tst_fail(TST_ECORRUPT, "the rewritten segment %s does not hold exactly one "
                        "identity's rows; nothing was committed", rep->path);
    if (m->rows != rep->rows)
        return tst_fail(TST_ECORRUPT, "the rewritten segment %s holds %" PRIu64 " rows by its "
                        "footer and %" PRIu64 " when read; nothing was committed", rep->path,
                        rep->rows, m->rows);
    return 0;
}

/* Measures the written file, checks it, and writes its sidecar from that measure. */
static int finish_replacement(const optimize_run *r, tst_rewrite_piece *rep, const char *abs,
                              const char *uuid, const tst_entity_identity *id,
                              const tst_coverage *expected)
{
    tst_measure m = {0};
    int rc = tst_rewrite_measure_piece(r->table, rep, abs, &m);
    if (rc == 0)
        rc = check_replacement(rep, &m, id, expected);
    if (rc == 0)
        rc = tst_rewrite_write_sidecar(r->table, rep, &m, uuid);
    tst_measure_clear(&m);
    return rc;
}

static int write_replacement(optimize_run *r, rewrite *item, const tst_source *src,
                             const tst_measure *m, size_t i)
{
    tst_rewrite_piece *rep = &item->reps[i];
    tst_entity_identity id;
    const tst_coverage *expected = NULL;
    int rc = tst_entity_coverage_at(m->entities, i, &id, &expected);
    snprintf(rep->path, sizeof rep->path, REWRITE_DIR "/%s/%010zu.parquet", item->attempt_uuid, i);
    char *rel_dir = NULL, *relation = NULL, *abs = NULL, *dir = NULL;
    if (rc == 0 && asprintf(&rel_dir, REWRITE_DIR "/%s", item->attempt_uuid) < 0)
        rc = tst_fail(TST_ENOMEM, "out of memory");
    if (rc == 0) {
        dir = tst_io_join(r->root, rel_dir);
        abs = tst_io_join(r->root, rep->path);
        rc = dir && abs ? tst_io_mkdirs(dir) : TST_ENOMEM;
    }
    if (rc == 0)
        rc = tst_optimize_identity_relation(r->table, src, &id, &relation);
    if (rc == 0)
        rc = tst_segment_write(relation, tst_table_index(r->table), table_schema(r), abs, NULL);
    rep->data_written = rc == 0;
    if (rc == 0)
        rc = cancelled(r);
    if (rc == 0)
        rc = copy_identity(&rep->layout, &id);
    if (rc == 0)
        rc = finish_replacement(r, rep, abs, item->attempt_uuid, &id, expected);
    tst_coverage *ignored = NULL;
    if (rc == 0)
        rc = tst_entity_coverage_get_or_add(r->identities, &id, &ignored);
    free(rel_dir);
    free(relation);
    free(abs);
    free(dir);
    return rc;
}

/* ---- one mixed segment ---------------------------------------------------- */

static int rewrite_all_identities(optimize_run *r, rewrite *item, const tst_source *src,
                                  const tst_measure *m)
{
    size_t n = tst_entity_coverage_count(m->entities);
    item->reps = calloc(n ? n : 1, sizeof *item->reps);
    if (!item->reps)
        return tst_fail(TST_ENOMEM, "out of memory");
    item->rep_count = n;
    int rc = tst_io_uuid(item->attempt_uuid);
    uint64_t rows = 0;
    for (size_t i = 0; rc == 0 && i < n; i++) {
        rc = write_replacement(r, item, src, m, i);
        rows += item->reps[i].rows;
    }
    if (rc == 0 && rows != m->rows)
        rc = tst_fail(TST_ECORRUPT, "its rewrite holds %" PRIu64 " rows, the segment %" PRIu64
                      "; nothing was committed", rows, m->rows);
    if (rc == 0) {
        r->report.rows_read += m->rows;
        r->report.rows_written += rows;
        r->report.replacement_segments_written += n;
    }
    return rc;
}

static int rewrite_segment(optimize_run *r, rewrite *item)
{
    tst_source src = {0};
    tst_measure m = {0};
    int rc = tst_rewrite_open_segment(r->table, item->path, &src, &m);
    if (rc == 0)
        rc = cancelled(r);
    if (rc == 0)
        rc = rewrite_all_identities(r, item, &src, &m);
    if (rc != 0 && rc != TST_ECANCELLED)
        tst_fail_context(rc, "optimize of table %s, segment %s", r->root, item->path);
    tst_measure_clear(&m);
    tst_source_clear(&src);
    return rc;
}

/* ---- commit ---------------------------------------------------------------- */

/* [RemoveSegment...] + [AddSegment...], rebased over other writers' commits
 * while every mixed segment is still live (rewrite.c). */
static int commit(optimize_run *r)
{
    size_t cap = r->count + (size_t)r->report.replacement_segments_written, n = 0;
    tst_action *actions = calloc(cap ? cap : 1, sizeof *actions);
    char **replaced = calloc(r->count ? r->count : 1, sizeof *replaced);
    if (!actions || !replaced) {
        free(actions);
        free(replaced);
        return tst_fail(TST_ENOMEM, "out of memory");
    }
    for (size_t i = 0; i < r->count; i++) {
        actions[n].type = TST_ACTION_REMOVE_SEGMENT;
        actions[n++].u.remove_path = r->items[i].path;
        replaced[i] = r->items[i].path;
    }
    for (size_t i = 0; i < r->count; i++)
        for (size_t j = 0; j < r->items[i].rep_count; j++) {
            actions[n].type = TST_ACTION_ADD_SEGMENT;
            tst_rewrite_fill_segment(&r->items[i].reps[j], &actions[n++].u.segment);
        }
    tst_rewrite_commit c = {
        .table = r->table, .op = "optimize", .actions = actions, .action_count = n,
        .replaced = replaced, .replaced_count = r->count,
        .starting_version = r->report.starting_version, .max_attempts = r->opts->max_attempts,
        .cancel = r->opts->cancel, .hook = tst_optimize_before_commit_hook,
        .hook_ctx = tst_optimize_before_commit_ctx};
    int rc = tst_rewrite_commit_run(&c, &r->report.committed_version, &r->report.attempts);
    free(actions);
    free(replaced);
    return rc;
}

/* ---- clean-up and the whole ------------------------------------------------ */

/* Removes what this optimize wrote, newest first, and its empty folders. */
static void roll_back(optimize_run *r)
{
    for (size_t i = r->count; i-- > 0;) {
        rewrite *item = &r->items[i];
        for (size_t j = item->rep_count; j-- > 0;) {
            tst_rewrite_remove_piece(r->root, &item->reps[j]);
        }
        if (item->attempt_uuid[0]) {
            char rel[TST_REWRITE_PATH_MAX];
            snprintf(rel, sizeof rel, REWRITE_DIR "/%s", item->attempt_uuid);
            char *abs = tst_io_join(r->root, rel);
            if (abs)
                rmdir(abs); /* best effort: an empty folder harms no reader */
            free(abs);
        }
    }
}

static void run_clear(optimize_run *r)
{
    for (size_t i = 0; r->items && i < r->count; i++) {
        for (size_t j = 0; j < r->items[i].rep_count; j++)
            tst_entity_layout_clear(&r->items[i].reps[j].layout);
        free(r->items[i].reps);
        free(r->items[i].path);
    }
    free(r->items);
    tst_entity_coverage_free(r->identities);
}

static int run(optimize_run *r)
{
    int rc = tst_table_refresh(r->table, NULL);
    if (rc == 0) /* protocol 7: before anything is rewritten */
        rc = tst_table_check_writable(r->table, "optimize");
    if (rc != 0)
        return rc;
    r->report.starting_version = r->report.committed_version = tst_table_version(r->table);
    if (tst_table_index(r->table)->entity_count == 0)
        return not_applicable(r);
    rc = choose_candidates(r);
    if (rc != 0 || r->count == 0) {
        r->report.no_op = rc == 0;
        return rc;
    }
    r->report.candidate_source_segments = r->count;
    rc = tst_entity_coverage_new(&r->identities);
    for (size_t i = 0; rc == 0 && i < r->count; i++)
        rc = rewrite_segment(r, &r->items[i]);
    if (rc == 0)
        rc = commit(r);
    if (rc == TST_EAMBIGUOUS)
        return rc; /* the commit may stand: keep every file it names */
    if (rc != 0) {
        roll_back(r);
        return rc;
    }
    r->report.source_segments_replaced = r->count;
    r->report.distinct_identities_materialized = tst_entity_coverage_count(r->identities);
    return 0;
}

int tst_table_optimize(tst_table *table, const tst_optimize_options *opts,
                       tst_optimize_report *out)
{
    static const tst_optimize_options defaults = TST_OPTIMIZE_OPTIONS_INIT;
    if (!table)
        return tst_fail(TST_EINVAL, "optimize needs a table");
    if (opts && opts->mode == TST_OPTIMIZE_COMPACT)
        return tst_optimize_compact(table, opts, out);
    if (opts && opts->mode != TST_OPTIMIZE_ENTITY_LAYOUT)
        return tst_fail(TST_EINVAL, "optimize of table %s: unknown mode %d (entity layout or "
                        "compact)", tst_table_root(table), (int)opts->mode);
    optimize_run r;
    memset(&r, 0, sizeof r);
    r.table = table;
    r.opts = opts ? opts : &defaults;
    r.root = tst_table_root(table);
    tst_cancel *outer = tst_cancel_scope_enter(r.opts->cancel);
    int rc = run(&r);
    if (rc == TST_ECANCELLED) /* whichever step noticed, one message */
        tst_fail(TST_ECANCELLED, "optimize of table %s cancelled; nothing was committed and the "
                 "rewritten files were removed", r.root);
    tst_cancel_scope_leave(outer);
    if (rc == 0 && out)
        *out = r.report;
    run_clear(&r);
    return rc;
}
