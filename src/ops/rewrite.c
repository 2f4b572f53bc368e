/*
 * rewrite.c — the steps optimize, update and delete share when they replace
 * segments (see rewrite.h): the checks of a segment before it is rewritten,
 * the measure and sidecar of a replacement, the commit loop with its
 * rebase, and the removal of an attempt's files.
 *
 * The rebase rule is the one that keeps a table right: after another
 * writer's commit, the same actions still fit when every segment being
 * replaced is live and the schema the replacements were written in is
 * still the table's. (A RemoveSegment of a path that is no longer live
 * would be a silent no-op in the log, and its replacement would then
 * duplicate someone else's rows.)
 */
#include "rewrite.h"

#include "append_schema.h"
#include "fail.h"
#include "fsio.h"
#include "log.h"
#include "table_internal.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const tst_schema *schema_of(tst_table *table)
{
    return tst_table_get_meta(table)->schema;
}

int tst_rewrite_cancelled(const tst_cancel *cancel, const char *op, const char *root)
{
    if (!tst_cancel_requested(cancel))
        return 0;
    tst_fail(TST_ECANCELLED, "%s of table %s cancelled; nothing was committed", op, root);
    tst_fail_set_path(root);
    return TST_ECANCELLED;
}

/* ---- a segment before it is rewritten ----------------------------------- */

static int segment_corrupt(const char *path, const char *what)
{
    tst_fail(TST_ECORRUPT, "%s; nothing was committed (the table is left as it was: check the "
             "file, or restore it)", what);
    tst_fail_set_path(path);
    return TST_ECORRUPT;
}

static int check_schema(tst_table *table, const char *path, const tst_source *src)
{
    tst_schema *found = NULL;
    int rc = tst_source_logical_schema(src, &found);
    /* After add_columns, a file written before an addition holds the schema
     * of its time: a prefix of the table's, the rest nullable. Rewrites fill
     * those columns with nulls (tst_segment_write). */
    const tst_schema *want = schema_of(table);
    tst_schema prefix = *want;
    if (rc == 0 && found->column_count < want->column_count &&
        tst_meta_requires_feature(tst_table_get_meta(table), "schema_add_columns")) {
        bool nullable_rest = true;
        for (size_t i = found->column_count; i < want->column_count; i++)
            nullable_rest &= want->columns[i].nullable;
        if (nullable_rest)
            prefix.column_count = found->column_count;
    }
    if (rc == 0 && !tst_schema_equal(found, &prefix))
        rc = segment_corrupt(path, "the file does not hold the table's schema");
    tst_schema_free(found);
    return rc;
}

/*
 * The annotations the file's footer (ARROW:schema) declares against the log's,
 * as the reference 0.9 checks them before a rewrite: a key whose value differs,
 * or one the log does not have, is TST_ECORRUPT naming the file (a rewrite would
 * otherwise carry the file's word or drop it silently). Only a table that records
 * annotations is checked: files of a table from before the feature may carry
 * annotations its log never adopted. A footer without an ARROW:schema declares
 * none. Queries do not check (a footer read per file per query costs too much).
 */
static int check_annotations(tst_table *table, const char *path, const tst_source *src)
{
    const tst_schema *want = schema_of(table);
    if (!tst_schema_has_metadata(want))
        return 0;
    tst_source top = *src;
    top.column_count = 0; /* the schema-level annotations alone */
    if (tst_append_annotations_conflict(want, &top))
        return segment_corrupt(path, "the Parquet schema metadata does not match the table's "
                               "(the log's) schema metadata");
    if (tst_append_annotations_conflict(want, src))
        return segment_corrupt(path, "the Parquet field metadata does not match the table's "
                               "(the log's) field metadata");
    return 0;
}

/* The log's row count and the segment's sidecar must match what the file holds. */
static int check_against_log(tst_table *table, const char *path, const tst_measure *m)
{
    const tst_segment *seg = tst_state_find(tst_table_state(table), path);
    if (!seg)
        return tst_fail(TST_ECONFLICT, "segment %s is no longer live", path);
    if (!seg->coverage_path)
        return segment_corrupt(path, "the log names no coverage sidecar (coverage_path)");
    if (m->rows != seg->row_count) {
        char what[128];
        snprintf(what, sizeof what, "the file holds %" PRIu64 " rows but the log says %" PRIu64,
                 m->rows, seg->row_count);
        return segment_corrupt(path, what);
    }
    tst_table_cov committed = {0};
    const char *root = tst_table_root(table);
    int rc = tst_sidecar_read(root, seg->coverage_path, tst_table_index(table), schema_of(table),
                              &committed);
    tst_table_cov measured = {m->global, m->entities};
    if (rc == 0 && !tst_table_cov_equals(&committed, &measured))
        rc = segment_corrupt(path, "the file covers other (entity, bucket) pairs than its "
                             "coverage sidecar says");
    tst_table_cov_clear(&committed);
    return rc;
}

int tst_rewrite_open_segment(tst_table *table, const char *path, tst_source *out_src,
                             tst_measure *out_m)
{
    memset(out_src, 0, sizeof *out_src);
    memset(out_m, 0, sizeof *out_m);
    char *abs = tst_io_join(tst_table_root(table), path);
    int rc = abs ? tst_source_parquet(out_src, abs) : tst_fail(TST_ENOMEM, "out of memory");
    if (rc == 0)
        rc = check_schema(table, path, out_src);
    if (rc == 0)
        rc = check_annotations(table, path, out_src);
    if (rc == 0)
        rc = tst_measure_relation(out_src->relation_sql, tst_table_index(table),
                                  schema_of(table), out_m);
    if (rc == 0)
        rc = check_against_log(table, path, out_m);
    free(abs);
    return rc;
}

/* ---- a replacement -------------------------------------------------------- */

int tst_rewrite_measure_piece(tst_table *table, tst_rewrite_piece *piece, const char *abs,
                              tst_measure *out_m)
{
    tst_source out = {0};
    memset(out_m, 0, sizeof *out_m);
    int rc = tst_segment_file_stats(abs, &piece->rows, &piece->bytes);
    if (rc == 0)
        rc = tst_source_parquet(&out, abs);
    if (rc == 0)
        rc = tst_measure_relation(out.relation_sql, tst_table_index(table), schema_of(table),
                                  out_m);
    tst_source_clear(&out);
    return rc;
}

int tst_rewrite_write_sidecar(tst_table *table, tst_rewrite_piece *piece, const tst_measure *m,
                              const char *uuid)
{
    piece->min = m->min;
    piece->max = m->max;
    tst_table_cov cov = {m->global, m->entities};
    int rc = tst_sidecar_write_segment(tst_table_root(table), tst_table_index(table), &cov, uuid,
                                       piece->cov_path, sizeof piece->cov_path);
    /* A failure after the exclusive create (syncing the folder) leaves the
     * file, under a name only this attempt uses: ours to remove. */
    piece->cov_written = piece->cov_path[0] != '\0' && rc != TST_EEXISTS;
    return rc;
}

void tst_rewrite_fill_segment(const tst_rewrite_piece *piece, tst_segment *seg)
{
    memset(seg, 0, sizeof *seg);
    seg->path = (char *)piece->path;
    seg->layout = piece->layout;
    seg->index_min = piece->min;
    seg->index_max = piece->max;
    seg->row_count = piece->rows;
    seg->has_file_size = true;
    seg->file_size = piece->bytes;
    seg->coverage_path = (char *)piece->cov_path;
}

static void remove_rel(const char *root, const char *rel)
{
    char *abs = tst_io_join(root, rel);
    if (abs)
        tst_io_unlink(abs);
    free(abs);
}

void tst_rewrite_remove_piece(const char *root, tst_rewrite_piece *piece)
{
    if (piece->cov_written)
        remove_rel(root, piece->cov_path);
    if (piece->data_written)
        remove_rel(root, piece->path);
    piece->cov_written = piece->data_written = false;
}

int tst_rewrite_numbered(const char *relation, char **out)
{
    size_t n = strlen(relation);
    if (strncmp(relation, "read_parquet(", 13) != 0 || relation[n - 1] != ')')
        return tst_fail(TST_EINVAL, "cannot number the rows of %s", relation);
    return asprintf(out, "%.*s, file_row_number = true)", (int)(n - 1), relation) < 0
               ? tst_fail(TST_ENOMEM, "out of memory") : 0;
}

/* ---- the commit ------------------------------------------------------------ */

static int rebase(const tst_rewrite_commit *c, const tst_schema *written_in)
{
    int rc = tst_table_refresh(c->table, NULL);
    if (rc != 0)
        return rc;
    const char *gone = NULL, *root = tst_table_root(c->table);
    for (size_t i = 0; !gone && i < c->replaced_count; i++)
        if (!tst_state_find(tst_table_state(c->table), c->replaced[i]))
            gone = c->replaced[i];
    if (!gone && tst_schema_equal(schema_of(c->table), written_in))
        return 0;
    uint64_t found = tst_table_version(c->table);
    if (gone)
        tst_fail(TST_ECONFLICT, "%s of table %s: another writer removed segment %s (version %"
                 PRIu64 ") while it was being rewritten; nothing was committed and the "
                 "rewritten files were removed; run %s again", c->op, root, gone, found, c->op);
    else
        tst_fail(TST_ECONFLICT, "%s of table %s: another writer changed the schema (version %"
                 PRIu64 ") while segments were being rewritten; nothing was committed; run %s "
                 "again", c->op, root, found, c->op);
    tst_fail_set_conflict(c->starting_version, found);
    tst_fail_set_path(root);
    return TST_ECONFLICT;
}

static int strict_conflict(const tst_rewrite_commit *c)
{
    const char *root = tst_table_root(c->table);
    uint64_t found = 0;
    if (tst_log_head(root, &found) != 0)
        found = 0;
    tst_fail(TST_ECONFLICT, "%s of table %s: expected version %" PRIu64 " but the table is at "
             "version %" PRIu64 " (strict: another writer committed first); nothing was "
             "committed; reopen the table and run it again", c->op, root, c->starting_version,
             found);
    tst_fail_set_conflict(c->starting_version, found);
    tst_fail_set_path(root);
    return TST_ECONFLICT;
}

int tst_rewrite_commit_run(const tst_rewrite_commit *c, uint64_t *out_version,
                           unsigned *out_attempts)
{
    unsigned max = c->max_attempts ? c->max_attempts : 1;
    const char *root = tst_table_root(c->table);
    tst_schema *written_in = NULL;
    int rc = tst_schema_copy(&written_in, schema_of(c->table));
    for (unsigned attempt = 1; rc == 0; attempt++) {
        if (c->before_attempt && (rc = c->before_attempt(c->before_attempt_ctx, attempt)) != 0)
            break;
        if (c->hook)
            c->hook(c->hook_ctx, attempt);
        rc = tst_rewrite_cancelled(c->cancel, c->op, root); /* after the commit, it stands */
        uint64_t version = 0;
        if (rc == 0)
            rc = tst_table_commit(c->table, c->actions, c->action_count, &version);
        if (rc == 0) {
            *out_version = version;
            *out_attempts = attempt;
            break;
        }
        if (rc != TST_ECONFLICT)
            break;
        if (c->no_rebase) {
            rc = strict_conflict(c);
            break;
        }
        if (attempt >= max) {
            tst_fail_context(rc, "%s of table %s gave up after %u commit attempt%s; nothing "
                             "was committed", c->op, root, attempt, attempt == 1 ? "" : "s");
            break;
        }
        rc = rebase(c, written_in);
    }
    tst_schema_free(written_in);
    return rc;
}
