/*
 * compact.c — compaction (tstable/optimize.h, TST_OPTIMIZE_COMPACT): many
 * small segments become fewer, larger ones, per entity and per time window,
 * in one commit.
 *
 * The workload it is shaped for: a table appended to once a day (or an
 * hour), one small segment each time, per entity or mixed. After a year a
 * query opens hundreds of files; after compaction a month of one entity is
 * one file, and a query for a day still opens only its month.
 *
 * It reads top to bottom as the operation runs:
 *   1. refresh the handle and resolve the options (targets, window in
 *      buckets);
 *   2. plan from the log alone: every live segment becomes parts (one, or
 *      one per identity of a mixed segment, read from its sidecar); parts
 *      are sorted by (identity, first bucket, path) and packed greedily into
 *      bins that stay within one window and under the targets; bins that
 *      change nothing (one whole segment) are dropped; none left is a no-op;
 *   3. write the bins window by window (the window of their first part):
 *      open every input once, as append's sources are opened, and check it
 *      against the log (rewrite.c), keeping it open until its last bin is
 *      written; load the window's mixed inputs once into a DuckDB temporary
 *      table sorted by entity then index (tst_segment_stage); then for each
 *      bin, one output: the UNION ALL of its whole segments and of the
 *      table's rows of its mixed parts (their inputs, its identity), sorted
 *      by entity then index through tst_segment_write_union_on, measured,
 *      checked (identity, coverage, rows), and given its sidecar;
 *   4. commit [RemoveSegment...] + [AddSegment...] without touching the
 *      coverage pointer, rebased as the entity layout's is (rewrite.c);
 *   5. on any failure, remove every file written, newest first.
 *
 * Why a part, not a segment, is the unit: a mixed segment must leave the
 * table whole (every identity's rows written somewhere before it is
 * removed), and its identities belong to different groups; planning per
 * part puts each identity's rows next to that identity's other rows. Why a
 * part is placed by its first bucket and never split by time: rows whose
 * index is null belong to no window, and a split would need a scan to know
 * where each row goes; segments that span a window boundary are rare (an
 * append of a long backfill) and are simply not merged.
 *
 * Why a window is staged: a mixed segment feeds one output per identity,
 * and reading it once per output made the reads inputs x identities (a
 * year of daily files of ten symbols: each file read ten times). Loaded
 * once and sorted by entity, each output's rows are a range of that table
 * which DuckDB finds by its zone maps. The table lives on one connection,
 * under DuckDB's memory limit (spilling), for one window, and goes when
 * that connection closes, on success or failure.
 */
#include "optimize_internal.h"
#include "rewrite.h"

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
#include <sys/stat.h>
#include <unistd.h>

#define COMPACT_DIR "data/_staged/entity-rewrite"
/* A window's mixed inputs, loaded once (a TEMP table of one connection), and
 * the column saying which input a row came from (made unique if taken). */
#define STAGE_TABLE "tst_compact_window"
#define STAGE_TAG "__tstable_input"

/* A live segment that is an input of some bin, or may be. */
typedef struct input {
    const tst_segment *seg; /* borrowed from the handle's state until the commit */
    char *path;             /* copied: the commit's rebase refreshes the state */
    uint64_t bytes;         /* file size (the log's, else stat) */
    tst_table_cov cov;      /* mixed segments: its sidecar, whose identities parts borrow */
    bool removed;           /* part of a bin that is written */
    /* While the bins are written: opened and checked once, from the first
     * bin that reads it to the last (pending counts those not yet written). */
    bool opened;
    tst_source src;
    tst_measure m;
    size_t pending;
    uint64_t staged_for; /* the window (its sequence number) it was last staged for */
} input;

/* One identity's rows of one segment. */
typedef struct part {
    size_t input;
    const char *path;       /* the input's, for the order */
    tst_entity_identity id; /* count 0 in tables without entity columns */
    uint64_t first, last;   /* bucket ids */
    uint64_t rows, bytes;   /* a mixed segment's are estimated from its buckets */
    bool mixed;
} part;

/* parts[start, start + count): one output. */
typedef struct bin {
    size_t start, count;
    char uuid[37];
    tst_rewrite_piece piece;
} bin;

typedef struct compact_run {
    tst_table *table;
    const tst_optimize_options *opts;
    const char *root;
    uint64_t target_rows, target_bytes, window_buckets;
    input *inputs;
    size_t input_count;
    part *parts;
    size_t part_count, part_cap;
    bin *bins;
    size_t bin_count;
    char tag[64]; /* the stage's tag column */
    tst_optimize_report report;
} compact_run;

static const tst_index_spec *spec_of(const compact_run *r)
{
    return tst_table_index(r->table);
}

static int cancelled(const compact_run *r)
{
    return tst_rewrite_cancelled(r->opts->cancel, "optimize", r->root);
}

/* ---- options ---------------------------------------------------------------- */

static uint64_t or_default(uint64_t v, uint64_t def)
{
    return v == 0 ? def : v;
}

/* The window in buckets (at least 1, rounded up) and, in the report, in index units. */
static void resolve_options(compact_run *r)
{
    const tst_index_kind *kind = &spec_of(r)->kind;
    r->target_rows = or_default(r->opts->target_rows, TST_COMPACT_DEFAULT_TARGET_ROWS);
    r->target_bytes = or_default(r->opts->target_bytes, TST_COMPACT_DEFAULT_TARGET_BYTES);
    uint64_t width = kind->type == TST_INDEX_TIMESTAMP ? tst_time_bucket_seconds(kind->bucket)
                                                       : kind->bucket_width;
    width = width ? width : 1;
    uint64_t window = r->opts->window;
    if (window == 0)
        window = kind->type == TST_INDEX_TIMESTAMP ? TST_COMPACT_DEFAULT_WINDOW_SECONDS
                                                   : TST_COMPACT_DEFAULT_WINDOW_BUCKETS * width;
    uint64_t buckets = window / width + (window % width != 0);
    r->window_buckets = buckets == 0 ? 1 : buckets > (uint64_t)INT64_MAX ? (uint64_t)INT64_MAX
                                                                          : buckets;
    r->report.target_rows = r->target_rows;
    r->report.target_bytes = r->target_bytes;
    r->report.window = r->window_buckets > UINT64_MAX / width ? UINT64_MAX
                                                              : r->window_buckets * width;
}

/* The window of a bucket: floor division of its signed ordinal (unsigned for
 * uint64 indexes), mapped back so that windows order as buckets do. */
static uint64_t window_of(const compact_run *r, uint64_t bucket)
{
    if (spec_of(r)->kind.type == TST_INDEX_UINT64)
        return bucket / r->window_buckets;
    int64_t ordinal = (int64_t)(bucket ^ TST_BUCKET_SIGN_BIT), wb = (int64_t)r->window_buckets;
    int64_t q = ordinal / wb - (ordinal % wb != 0 && ordinal < 0);
    return (uint64_t)q ^ TST_BUCKET_SIGN_BIT;
}

/* ---- planning: parts ---------------------------------------------------------- */

static int file_bytes(const compact_run *r, const tst_segment *seg, uint64_t *out)
{
    if (seg->has_file_size) {
        *out = seg->file_size;
        return 0;
    }
    char *abs = tst_io_join(r->root, seg->path);
    struct stat st;
    int ok = abs && stat(abs, &st) == 0;
    free(abs);
    if (!ok) {
        tst_fail(TST_ENOTFOUND, "optimize of table %s: segment %s has no file; nothing was "
                 "written", r->root, seg->path);
        tst_fail_set_path(r->root);
        return TST_ENOTFOUND;
    }
    *out = (uint64_t)st.st_size;
    return 0;
}

static int add_part(compact_run *r, part p)
{
    if (r->part_count == r->part_cap) {
        size_t cap = r->part_cap ? r->part_cap * 2 : 64;
        part *grown = realloc(r->parts, cap * sizeof *grown);
        if (!grown)
            return tst_fail(TST_ENOMEM, "out of memory");
        r->parts = grown;
        r->part_cap = cap;
    }
    r->parts[r->part_count++] = p;
    return 0;
}

/* A Single or NotApplicable segment: one part, buckets from its index bounds. */
static int whole_part(compact_run *r, size_t i)
{
    const tst_segment *seg = r->inputs[i].seg;
    part p = {.input = i, .path = r->inputs[i].path, .rows = seg->row_count,
              .bytes = r->inputs[i].bytes};
    if (seg->layout.kind == TST_LAYOUT_SINGLE)
        p.id = (tst_entity_identity){seg->layout.count, seg->layout.values};
    int rc = tst_bucket_of(&spec_of(r)->kind, &seg->index_min, &p.first);
    if (rc == 0)
        rc = tst_bucket_of(&spec_of(r)->kind, &seg->index_max, &p.last);
    return rc == 0 ? add_part(r, p) : rc;
}

/* A Mixed segment: one part per identity of its sidecar, sized by its share
 * of the segment's buckets. */
static int mixed_parts(compact_run *r, size_t i)
{
    input *in = &r->inputs[i];
    int rc = tst_sidecar_read(r->root, in->seg->coverage_path, spec_of(r),
                              tst_table_get_meta(r->table)->schema, &in->cov);
    if (rc != 0)
        return tst_fail_context(rc, "optimize of table %s, segment %s", r->root, in->seg->path);
    uint64_t total = tst_entity_coverage_cardinality(in->cov.entities);
    size_t n = tst_entity_coverage_count(in->cov.entities);
    for (size_t k = 0; rc == 0 && k < n; k++) {
        const tst_coverage *cov = NULL;
        part p = {.input = i, .path = in->path, .mixed = true};
        rc = tst_entity_coverage_at(in->cov.entities, k, &p.id, &cov);
        if (rc != 0 || !tst_coverage_min(cov, &p.first) || !tst_coverage_max(cov, &p.last))
            continue; /* an identity without buckets has no rows */
        double share = total ? (double)tst_coverage_cardinality(cov) / (double)total : 1.0;
        p.rows = (uint64_t)((double)in->seg->row_count * share);
        p.bytes = (uint64_t)((double)in->bytes * share);
        rc = add_part(r, p);
    }
    return rc;
}

static int collect_parts(compact_run *r)
{
    size_t n = tst_table_segment_count(r->table);
    r->inputs = calloc(n ? n : 1, sizeof *r->inputs);
    if (!r->inputs)
        return tst_fail(TST_ENOMEM, "out of memory");
    int rc = 0;
    for (size_t i = 0; rc == 0 && i < n; i++) {
        input *in = &r->inputs[r->input_count++];
        in->seg = tst_table_segment_at(r->table, i);
        if (!in->seg->coverage_path) {
            tst_fail(TST_ECORRUPT, "optimize of table %s: segment %s names no coverage sidecar "
                     "(coverage_path); nothing was written", r->root, in->seg->path);
            tst_fail_set_path(r->root);
            return TST_ECORRUPT;
        }
        in->path = strdup(in->seg->path);
        rc = in->path ? file_bytes(r, in->seg, &in->bytes) : tst_fail(TST_ENOMEM, "out of memory");
        if (rc == 0)
            rc = in->seg->layout.kind == TST_LAYOUT_MIXED ? mixed_parts(r, i) : whole_part(r, i);
    }
    return rc;
}

/* ---- planning: bins ------------------------------------------------------------- */

static int part_order(const void *a, const void *b)
{
    const part *x = a, *y = b;
    int c = tst_entity_identity_compare(&x->id, &y->id);
    if (c != 0)
        return c;
    if (x->first != y->first)
        return x->first < y->first ? -1 : 1;
    return strcmp(x->path, y->path);
}

static bool alone(const compact_run *r, const part *p)
{
    return window_of(r, p->first) != window_of(r, p->last) || p->rows >= r->target_rows ||
           p->bytes >= r->target_bytes;
}

/* Whether parts[j] joins the bin parts[start..j). */
static bool joins(const compact_run *r, size_t start, size_t j, uint64_t rows, uint64_t bytes)
{
    const part *p = &r->parts[j], *head = &r->parts[start];
    return tst_entity_identity_compare(&p->id, &head->id) == 0 && !alone(r, head) &&
           !alone(r, p) && window_of(r, p->first) == window_of(r, head->first) &&
           rows + p->rows <= r->target_rows && bytes + p->bytes <= r->target_bytes;
}

/* A bin changes the table when it merges, or splits a mixed segment. */
static bool worth_writing(const compact_run *r, size_t start, size_t count)
{
    return count > 1 || r->parts[start].mixed;
}

static int keep_bin(compact_run *r, size_t start, size_t count)
{
    if (!worth_writing(r, start, count))
        return 0;
    bin *grown = realloc(r->bins, (r->bin_count + 1) * sizeof *grown);
    if (!grown)
        return tst_fail(TST_ENOMEM, "out of memory");
    r->bins = grown;
    memset(&r->bins[r->bin_count], 0, sizeof *r->bins);
    r->bins[r->bin_count].start = start;
    r->bins[r->bin_count++].count = count;
    for (size_t j = start; j < start + count; j++) {
        r->inputs[r->parts[j].input].removed = true;
        r->inputs[r->parts[j].input].pending++;
    }
    return 0;
}

static int plan_bins(compact_run *r)
{
    if (r->part_count > 1)
        qsort(r->parts, r->part_count, sizeof *r->parts, part_order);
    int rc = 0;
    size_t start = 0;
    uint64_t rows = 0, bytes = 0;
    for (size_t j = 0; rc == 0 && j <= r->part_count; j++) {
        if (j < r->part_count && j > start && joins(r, start, j, rows, bytes)) {
            rows += r->parts[j].rows;
            bytes += r->parts[j].bytes;
            continue;
        }
        if (j > start)
            rc = keep_bin(r, start, j - start);
        if (j < r->part_count) {
            start = j;
            rows = r->parts[j].rows;
            bytes = r->parts[j].bytes;
        }
    }
    return rc;
}

/* ---- inputs, opened once ------------------------------------------------------------ */

/* Opens and checks the input against the log (rewrite.c), once: it stays
 * open until the last bin that reads it is written. */
static int open_input(compact_run *r, size_t i)
{
    input *in = &r->inputs[i];
    if (in->opened)
        return 0;
    in->opened = true; /* whatever happens, close_input clears what was filled */
    int rc = tst_rewrite_open_segment(r->table, in->path, &in->src, &in->m);
    if (rc == 0)
        rc = cancelled(r);
    if (rc != 0 && rc != TST_ECANCELLED)
        tst_fail_context(rc, "optimize of table %s, segment %s", r->root, in->path);
    return rc;
}

static void close_input(input *in)
{
    if (!in->opened)
        return;
    tst_source_clear(&in->src);
    tst_measure_clear(&in->m);
    in->opened = false;
}

/* A written bin no longer needs its inputs; the last bin of each closes it. */
static void release_inputs(compact_run *r, const bin *b)
{
    for (size_t k = 0; k < b->count; k++) {
        input *in = &r->inputs[r->parts[b->start + k].input];
        if (--in->pending == 0)
            close_input(in);
    }
}

/* ---- a window's mixed inputs, staged once ---------------------------------------------- */

/* The bins of one window, written one after the other from one stage. */
typedef struct window_stage {
    duckdb_connection con; /* holds the TEMP table; NULL: the window has no mixed part */
} window_stage;

/* The stage's tag column: a name no column of the table has, underscores
 * appended while one has it (were all 63-character ones taken too,
 * tst_segment_stage would refuse it, naming it). */
static void pick_tag(compact_run *r)
{
    const tst_schema *schema = tst_table_get_meta(r->table)->schema;
    size_t n = strlen(STAGE_TAG);
    memcpy(r->tag, STAGE_TAG, n + 1);
    while (tst_schema_find(schema, r->tag) && n + 1 < sizeof r->tag) {
        r->tag[n++] = '_';
        r->tag[n] = '\0';
    }
}

/* Opens the window's mixed inputs and loads them, each once, into the
 * stage, tagged with their input number (seq marks the ones already
 * taken). An input whose identities start in different windows is staged
 * in each of those windows. */
static int stage_window(compact_run *r, const size_t *order, size_t n, uint64_t seq,
                        window_stage *st)
{
    const char **relations = calloc(r->input_count, sizeof *relations);
    uint64_t *tags = calloc(r->input_count, sizeof *tags);
    int rc = relations && tags ? 0 : tst_fail(TST_ENOMEM, "out of memory");
    pick_tag(r);
    size_t count = 0;
    for (size_t b = 0; rc == 0 && b < n; b++) {
        const bin *bn = &r->bins[order[b]];
        for (size_t k = 0; rc == 0 && k < bn->count; k++) {
            const part *p = &r->parts[bn->start + k];
            input *in = &r->inputs[p->input];
            if (!p->mixed || in->staged_for == seq)
                continue;
            in->staged_for = seq;
            rc = open_input(r, p->input);
            relations[count] = in->src.relation_sql;
            tags[count++] = p->input;
        }
    }
    tst_segment_stage_spec spec = {STAGE_TABLE, r->tag, relations, tags, count};
    if (rc == 0 && count > 0)
        rc = tst_duck_connect(&st->con);
    if (rc == 0 && count > 0)
        rc = tst_segment_stage(st->con, &spec, spec_of(r), tst_table_get_meta(r->table)->schema);
    if (rc != 0 && rc != TST_ECANCELLED)
        tst_fail_context(rc, "optimize (compact) of table %s", r->root);
    free(relations);
    free(tags);
    return rc;
}

/* The bin's mixed parts, read from the stage: "(SELECT * EXCLUDE (tag) FROM
 * stage WHERE tag IN (i, ...))" narrowed to the bin's identity. */
static int staged_relation(compact_run *r, const bin *b, char **out)
{
    tst_sql t = {0};
    int rc = SQL_F(&t, "(SELECT * EXCLUDE (");
    if (rc == 0)
        rc = SQL_IDENT(&t, r->tag);
    if (rc == 0)
        rc = SQL_F(&t, ") FROM " STAGE_TABLE " WHERE ");
    if (rc == 0)
        rc = SQL_IDENT(&t, r->tag);
    const char *sep = " IN (";
    for (size_t k = 0; rc == 0 && k < b->count; k++) {
        const part *p = &r->parts[b->start + k];
        if (p->mixed) {
            rc = SQL_F(&t, "%s%zu", sep, p->input);
            sep = ", ";
        }
    }
    if (rc == 0)
        rc = SQL_F(&t, "))");
    tst_source staged = {.relation_sql = t.s};
    if (rc == 0)
        rc = tst_optimize_identity_relation(r->table, &staged, &r->parts[b->start].id, out);
    free(t.s);
    return rc;
}

/* ---- one output ------------------------------------------------------------------------ */

/* What the bin reads: its whole segments' own relations (opened here), and
 * one relation over the stage for its mixed parts. */
typedef struct bin_relations {
    char **sql;
    size_t count;
} bin_relations;

static void relations_clear(bin_relations *s)
{
    for (size_t k = 0; k < s->count; k++)
        free(s->sql[k]);
    free(s->sql);
}

/* Takes `sql` (malloc'd; NULL is an allocation that failed). */
static int add_relation(bin_relations *s, char *sql)
{
    s->sql[s->count] = sql;
    return s->sql[s->count++] ? 0 : tst_fail(TST_ENOMEM, "out of memory");
}

static int open_relations(compact_run *r, const bin *b, bin_relations *s)
{
    s->sql = calloc(b->count + 1, sizeof *s->sql);
    int rc = s->sql ? 0 : tst_fail(TST_ENOMEM, "out of memory");
    bool mixed = false;
    for (size_t k = 0; rc == 0 && k < b->count; k++) {
        const part *p = &r->parts[b->start + k];
        mixed |= p->mixed;
        if (!p->mixed)
            rc = open_input(r, p->input);
        if (rc == 0 && !p->mixed)
            rc = add_relation(s, strdup(r->inputs[p->input].src.relation_sql));
    }
    char *staged = NULL;
    if (rc == 0 && mixed)
        rc = staged_relation(r, b, &staged);
    if (rc == 0 && mixed)
        rc = add_relation(s, staged);
    return rc;
}

/* What the bin's parts cover: the union of each part's measured coverage. */
static int expected_coverage(const compact_run *r, const bin *b, tst_coverage **out)
{
    int rc = tst_coverage_new(out);
    for (size_t k = 0; rc == 0 && k < b->count; k++) {
        const part *p = &r->parts[b->start + k];
        const tst_measure *m = &r->inputs[p->input].m;
        const tst_coverage *cov = m->global;
        if (m->entities) {
            cov = tst_entity_coverage_get(m->entities, &p->id);
            if (!cov || (!p->mixed && tst_entity_coverage_count(m->entities) != 1))
                rc = tst_fail(TST_ECORRUPT, "segment %s does not hold the one identity its "
                              "layout names; nothing was committed", r->inputs[p->input].path);
        }
        if (rc == 0)
            rc = tst_coverage_union_inplace(*out, cov);
    }
    return rc;
}

/* The output must hold the group's identity over `expected` exactly, and
 * the inputs' rows when every part is a whole segment. */
static int check_output(const compact_run *r, const bin *b, const tst_measure *m,
                        const tst_coverage *expected)
{
    const part *head = &r->parts[b->start];
    const tst_rewrite_piece *piece = &b->piece;
    const tst_coverage *got = m->global;
    bool same = true;
    if (m->entities) {
        tst_entity_identity id;
        same = tst_entity_coverage_count(m->entities) == 1 &&
               tst_entity_coverage_at(m->entities, 0, &id, &got) == 0 &&
               tst_entity_identity_compare(&id, &head->id) == 0;
    }
    if (!same || !got || !tst_coverage_equals(got, expected))
        return tst_fail(TST_ECORRUPT, "the compacted segment %s does not cover exactly what its "
                        "%zu input segments covered; nothing was committed", piece->path,
                        b->count);
    uint64_t rows = 0;
    bool whole = true;
    for (size_t k = 0; k < b->count; k++) {
        const part *p = &r->parts[b->start + k];
        rows += r->inputs[p->input].m.rows;
        whole &= !p->mixed;
    }
    if (m->rows != piece->rows || (whole && rows != m->rows))
        return tst_fail(TST_ECORRUPT, "the compacted segment %s holds %" PRIu64 " rows (footer: %"
                        PRIu64 "), its inputs %" PRIu64 "; nothing was committed", piece->path,
                        m->rows, piece->rows, rows);
    return 0;
}

static int output_layout(const compact_run *r, const bin *b, tst_entity_layout *out)
{
    const part *head = &r->parts[b->start];
    if (spec_of(r)->entity_count == 0) {
        out->kind = TST_LAYOUT_NOT_APPLICABLE;
        return 0;
    }
    tst_entity_layout single = {TST_LAYOUT_SINGLE, (tst_entity_value *)head->id.values,
                                head->id.count};
    return tst_entity_layout_copy(out, &single);
}

/* Measures the written file, checks it and writes its sidecar. */
static int finish_output(compact_run *r, bin *b, const char *abs)
{
    tst_measure m = {0};
    tst_coverage *expected = NULL;
    int rc = tst_rewrite_measure_piece(r->table, &b->piece, abs, &m);
    if (rc == 0)
        rc = expected_coverage(r, b, &expected);
    if (rc == 0)
        rc = check_output(r, b, &m, expected);
    if (rc == 0)
        rc = output_layout(r, b, &b->piece.layout);
    if (rc == 0)
        rc = tst_rewrite_write_sidecar(r->table, &b->piece, &m, b->uuid);
    tst_coverage_free(expected);
    tst_measure_clear(&m);
    return rc;
}

static int write_bin(compact_run *r, bin *b, const window_stage *st)
{
    bin_relations s = {0};
    char *dir = NULL, *abs = NULL;
    int rc = tst_io_uuid(b->uuid);
    snprintf(b->piece.path, sizeof b->piece.path, COMPACT_DIR "/%s/0000000000.parquet", b->uuid);
    if (rc == 0)
        rc = open_relations(r, b, &s);
    if (rc == 0) {
        char rel_dir[TST_REWRITE_PATH_MAX];
        snprintf(rel_dir, sizeof rel_dir, COMPACT_DIR "/%s", b->uuid);
        dir = tst_io_join(r->root, rel_dir);
        abs = tst_io_join(r->root, b->piece.path);
        rc = dir && abs ? tst_io_mkdirs(dir) : tst_fail(TST_ENOMEM, "out of memory");
    }
    if (rc == 0)
        rc = tst_segment_write_union_on(st->con, (const char *const *)s.sql, s.count, spec_of(r),
                                        tst_table_get_meta(r->table)->schema, abs, NULL);
    b->piece.data_written = rc == 0;
    if (rc == 0)
        rc = cancelled(r);
    if (rc == 0)
        rc = finish_output(r, b, abs);
    if (rc == 0) {
        r->report.rows_written += b->piece.rows;
        r->report.bytes_written += b->piece.bytes;
        r->report.replacement_segments_written++;
        release_inputs(r, b);
    }
    if (rc != 0 && rc != TST_ECANCELLED)
        tst_fail_context(rc, "optimize (compact) of table %s, output %s", r->root, b->piece.path);
    relations_clear(&s);
    free(dir);
    free(abs);
    return rc;
}

/* Bins in the order they are written: by window, then as planned. */
typedef struct bin_ref {
    uint64_t window;
    size_t bin;
} bin_ref;

static int bin_ref_order(const void *a, const void *b)
{
    const bin_ref *x = a, *y = b;
    if (x->window != y->window)
        return x->window < y->window ? -1 : 1;
    return x->bin < y->bin ? -1 : x->bin > y->bin;
}

/* One window: its mixed inputs staged once, then each of its bins written. */
static int write_window(compact_run *r, const bin_ref *refs, size_t n, uint64_t seq)
{
    window_stage st = {0};
    size_t *order = malloc(n * sizeof *order);
    int rc = order ? 0 : tst_fail(TST_ENOMEM, "out of memory");
    for (size_t k = 0; rc == 0 && k < n; k++)
        order[k] = refs[k].bin;
    if (rc == 0)
        rc = stage_window(r, order, n, seq, &st);
    for (size_t k = 0; rc == 0 && k < n; k++)
        rc = write_bin(r, &r->bins[order[k]], &st);
    tst_duck_disconnect(&st.con); /* and with it the stage */
    free(order);
    return rc;
}

static int write_bins(compact_run *r)
{
    bin_ref *refs = malloc(r->bin_count * sizeof *refs);
    if (!refs)
        return tst_fail(TST_ENOMEM, "out of memory");
    for (size_t b = 0; b < r->bin_count; b++)
        refs[b] = (bin_ref){window_of(r, r->parts[r->bins[b].start].first), b};
    qsort(refs, r->bin_count, sizeof *refs, bin_ref_order);
    int rc = 0;
    for (size_t i = 0, end; rc == 0 && i < r->bin_count; i = end) {
        for (end = i + 1; end < r->bin_count && refs[end].window == refs[i].window; end++)
            ;
        rc = write_window(r, refs + i, end - i, i + 1);
    }
    free(refs);
    return rc;
}

/* Every removed segment's rows are in some output: the totals agree. */
static int check_totals(compact_run *r)
{
    for (size_t i = 0; i < r->input_count; i++)
        if (r->inputs[i].removed) {
            r->report.candidate_source_segments++;
            r->report.rows_read += r->inputs[i].seg->row_count;
            r->report.bytes_read += r->inputs[i].bytes;
        }
    if (r->report.rows_read == r->report.rows_written)
        return 0;
    return tst_fail(TST_ECORRUPT, "optimize (compact) of table %s: the outputs hold %" PRIu64
                    " rows, the %" PRIu64 " input segments %" PRIu64 "; nothing was committed",
                    r->root, r->report.rows_written, r->report.candidate_source_segments,
                    r->report.rows_read);
}

/* ---- commit, clean-up and the whole ------------------------------------------------- */

static int commit(compact_run *r)
{
    size_t removed = (size_t)r->report.candidate_source_segments, n = 0, k = 0;
    tst_action *actions = calloc(removed + r->bin_count, sizeof *actions);
    char **replaced = calloc(removed ? removed : 1, sizeof *replaced);
    int rc = actions && replaced ? 0 : tst_fail(TST_ENOMEM, "out of memory");
    for (size_t i = 0; rc == 0 && i < r->input_count; i++) {
        if (!r->inputs[i].removed)
            continue;
        actions[n].type = TST_ACTION_REMOVE_SEGMENT;
        actions[n++].u.remove_path = r->inputs[i].path;
        replaced[k++] = r->inputs[i].path;
    }
    for (size_t b = 0; rc == 0 && b < r->bin_count; b++) {
        actions[n].type = TST_ACTION_ADD_SEGMENT;
        tst_rewrite_fill_segment(&r->bins[b].piece, &actions[n++].u.segment);
    }
    tst_rewrite_commit c = {
        .table = r->table, .op = "optimize", .actions = actions, .action_count = n,
        .replaced = replaced, .replaced_count = k,
        .starting_version = r->report.starting_version, .max_attempts = r->opts->max_attempts,
        .cancel = r->opts->cancel, .hook = tst_optimize_before_commit_hook,
        .hook_ctx = tst_optimize_before_commit_ctx};
    if (rc == 0)
        rc = tst_rewrite_commit_run(&c, &r->report.committed_version, &r->report.attempts);
    free(actions);
    free(replaced);
    return rc;
}

/* Removes what this run wrote, newest first, and its empty folders. */
static void roll_back(compact_run *r)
{
    for (size_t i = r->bin_count; i-- > 0;) {
        bin *b = &r->bins[i];
        tst_rewrite_remove_piece(r->root, &b->piece);
        if (!b->uuid[0])
            continue;
        char rel[TST_REWRITE_PATH_MAX];
        snprintf(rel, sizeof rel, COMPACT_DIR "/%s", b->uuid);
        char *abs = tst_io_join(r->root, rel);
        if (abs)
            rmdir(abs); /* best effort: an empty folder harms no reader */
        free(abs);
    }
}

static void run_clear(compact_run *r)
{
    for (size_t i = 0; i < r->input_count; i++) {
        free(r->inputs[i].path);
        tst_table_cov_clear(&r->inputs[i].cov);
        close_input(&r->inputs[i]);
    }
    for (size_t b = 0; b < r->bin_count; b++)
        tst_entity_layout_clear(&r->bins[b].piece.layout);
    free(r->inputs);
    free(r->parts);
    free(r->bins);
}

/* Distinct identities among the outputs (parts are sorted by identity). */
static uint64_t distinct_identities(const compact_run *r)
{
    uint64_t n = 0;
    for (size_t b = 0; b < r->bin_count; b++) {
        const part *p = &r->parts[r->bins[b].start];
        n += p->id.count > 0 &&
             (b == 0 || tst_entity_identity_compare(&p->id, &r->parts[r->bins[b - 1].start].id));
    }
    return n;
}

static int write_and_commit(compact_run *r)
{
    int rc = write_bins(r);
    if (rc == 0)
        rc = check_totals(r);
    if (rc == 0)
        rc = commit(r);
    if (rc == TST_EAMBIGUOUS)
        return rc; /* the commit may stand: keep every file it names */
    if (rc != 0)
        roll_back(r);
    return rc;
}

static int run(compact_run *r)
{
    int rc = tst_table_refresh(r->table, NULL);
    if (rc == 0)
        rc = tst_table_check_writable(r->table, "optimize");
    if (rc != 0)
        return rc;
    r->report.mode = TST_OPTIMIZE_COMPACT;
    r->report.starting_version = r->report.committed_version = tst_table_version(r->table);
    r->report.segments_before = r->report.segments_after = tst_table_segment_count(r->table);
    resolve_options(r);
    rc = collect_parts(r);
    if (rc == 0)
        rc = plan_bins(r);
    if (rc != 0 || r->bin_count == 0) {
        r->report.no_op = rc == 0;
        return rc;
    }
    rc = write_and_commit(r);
    if (rc != 0)
        return rc;
    r->report.source_segments_replaced = r->report.candidate_source_segments;
    r->report.segments_after = r->report.segments_before -
                               r->report.candidate_source_segments + r->bin_count;
    r->report.distinct_identities_materialized = distinct_identities(r);
    return 0;
}

int tst_optimize_compact(tst_table *table, const tst_optimize_options *opts,
                         tst_optimize_report *out)
{
    compact_run r;
    memset(&r, 0, sizeof r);
    r.table = table;
    r.opts = opts;
    r.root = tst_table_root(table);
    tst_cancel *outer = tst_cancel_scope_enter(opts->cancel);
    int rc = run(&r);
    if (rc == TST_ECANCELLED) /* whichever step noticed, one message */
        tst_fail(TST_ECANCELLED, "optimize of table %s cancelled; nothing was committed and the "
                 "written files were removed", r.root);
    tst_cancel_scope_leave(outer);
    if (rc == 0 && out)
        *out = r.report;
    run_clear(&r);
    return rc;
}
