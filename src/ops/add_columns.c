/*
 * add_columns.c — adding nullable columns to a protocol-7 table (see
 * tstable/evolve.h): the reference's `add_columns` (0.8+).
 *
 * It reads top to bottom as the operation runs:
 *   1. the table: protocol 7 (a format_version-6 table has no feature lists:
 *      migrate it), writable by this build, with a schema already;
 *   2. the columns, each checked before anything is written: a name that is
 *      not blank, new to the table and to the request; nullable; a type this
 *      build can write (tst_segment_field_writable: appends that leave the
 *      column out write it as nulls, so it must be writable);
 *   3. the next TableMeta: the current one, the columns appended to the
 *      schema (with their field annotations), "schema_add_columns" added
 *      (sorted) to the reader features, and "schema_metadata" (reader and
 *      writer) when the schema now carries annotations;
 *   4. one commit, [UpdateTableMeta], on the handle's version: no refresh,
 *      no retry (the reference's contract), so another writer first is
 *      TST_ECONFLICT and nothing is written.
 *
 * The commit is the only durable step: tst_table_commit writes it with the
 * log's exclusive create and publishes CURRENT after, so a crash leaves the
 * table at the old version or the new one. Replay (state.c) checks that any
 * schema change is this one: columns added at the end, nullable, declared.
 */
#include "arrow_schema.h"
#include "arrow_source.h"
#include "fail.h"
#include "model.h"
#include "segment.h"
#include "table_internal.h"
#include "tstable/evolve.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define FEATURE "schema_add_columns"

static int refuse(const tst_table *t, const char *fmt, const char *column, const char *more)
{
    char detail[512];
    snprintf(detail, sizeof detail, fmt, column, more);
    tst_fail(TST_ESCHEMA, "add_columns on table %s rejected: %s; nothing was written",
             tst_table_root(t), detail);
    tst_fail_set_path(tst_table_root(t));
    return TST_ESCHEMA;
}

static bool blank(const char *s)
{
    for (; *s; s++)
        if (!isspace((unsigned char)*s))
            return false;
    return true;
}

/* Step 1: a table that can take an addition. */
static int check_table(const tst_table *t)
{
    const tst_table_meta *meta = tst_table_get_meta(t);
    if (tst_table_check_unpinned(t, "add_columns") != 0)
        return TST_EINVAL;
    if (meta->protocol_version != TST_PROTOCOL_VERSION) {
        tst_fail(TST_EUNSUPPORTED, "add_columns on table %s: the table is format_version %u "
                 "(reference 0.4), which cannot record added columns; migrate it to protocol 7 "
                 "first (`tstable migrate --table SRC --to DST`) and add the columns there",
                 tst_table_root(t), (unsigned)meta->format_version);
        tst_fail_set_path(tst_table_root(t));
        return TST_EUNSUPPORTED;
    }
    char where[4200];
    snprintf(where, sizeof where, "Column addition (add_columns) on table %s", tst_table_root(t));
    int rc = tst_protocol_check_write(meta, where);
    if (rc == 0 && !meta->schema)
        rc = refuse(t, "the table has no established canonical schema yet%s%s; its first "
                    "append fixes the schema: append data first, or include the columns in "
                    "the first append", "", "");
    return rc;
}

/* A column of the table or an earlier new column whose name equals cols[i]'s but
 * for ASCII letter case, or NULL. */
static const char *case_twin(const tst_table *t, const tst_field *cols, size_t i)
{
    const tst_schema *schema = tst_table_get_meta(t)->schema;
    for (size_t j = 0; j < schema->column_count; j++)
        if (strcasecmp(schema->columns[j].name, cols[i].name) == 0)
            return schema->columns[j].name;
    for (size_t j = 0; j < i; j++)
        if (strcasecmp(cols[j].name, cols[i].name) == 0)
            return cols[j].name;
    return NULL;
}

/* Step 2: one column against the table and the columns before it. */
static int check_column(const tst_table *t, const tst_field *cols, size_t i)
{
    const tst_field *f = &cols[i];
    if (tst_schema_find(tst_table_get_meta(t)->schema, f->name))
        return refuse(t, "the table already has a column '%s'%s", f->name,
                      " (names are exact and case-sensitive)");
    for (size_t j = 0; j < i; j++)
        if (strcmp(cols[j].name, f->name) == 0)
            return refuse(t, "the column '%s' is given twice%s", f->name, "");
    /* The reference allows "Price" beside "price"; DuckDB, which runs every
     * append and query here, does not tell them apart. */
    const char *twin = case_twin(t, cols, i);
    if (twin)
        return refuse(t, "the column '%s' differs from the column '%s' only in letter case, "
                      "which the SQL engine (DuckDB) does not tell apart; choose another name",
                      f->name, twin);
    if (!f->nullable)
        return refuse(t, "the new column '%s' must be nullable%s", f->name,
                      ": the rows already written hold no value for it");
    if (!tst_source_type_exact(&f->type))
        return refuse(t, "the column '%s' has %s", f->name,
                      "a type no table column holds (Int96, an unnamed or empty struct field, "
                      "a nullable map key or an out-of-range decimal or width)");
    int rc = tst_segment_field_writable(f);
    if (rc != 0)
        return refuse(t, "%s%s", tst_error_last()->message, "");
    return 0;
}

/* Step 2 for every column; a blank name is named by its position. */
static int check_columns(const tst_table *t, const tst_field *cols, size_t count)
{
    if (count == 0)
        return refuse(t, "no column was given%s%s; give at least one", "", "");
    for (size_t i = 0; i < count; i++) {
        if (!cols[i].name || blank(cols[i].name)) {
            char what[64];
            snprintf(what, sizeof what, "column %zu (counting from 1)", i + 1);
            return refuse(t, "%s has an empty name or one of whitespace only%s", what, "");
        }
        int rc = check_column(t, cols, i);
        if (rc != 0)
            return rc;
    }
    return 0;
}

/* The reader features with FEATURE added, sorted; a copy either way. */
static int add_feature(tst_table_meta *next)
{
    if (tst_meta_requires_feature(next, FEATURE)) {
        for (size_t i = 0; i < next->reader_feature_count; i++)
            if (strcmp(next->reader_features[i], FEATURE) == 0)
                return 0;
    }
    size_t n = next->reader_feature_count;
    char **names = realloc(next->reader_features, (n + 1) * sizeof *names);
    if (!names)
        return tst_fail(TST_ENOMEM, "out of memory");
    next->reader_features = names;
    size_t at = 0;
    while (at < n && strcmp(names[at], FEATURE) < 0)
        at++;
    memmove(&names[at + 1], &names[at], (n - at) * sizeof *names);
    if (!(names[at] = strdup(FEATURE))) {
        memmove(&names[at], &names[at + 1], (n - at) * sizeof *names);
        return tst_fail(TST_ENOMEM, "out of memory");
    }
    next->reader_feature_count = n + 1;
    return 0;
}

/* Step 3: the TableMeta after the addition (owned by *next). */
static int next_meta(const tst_table *t, const tst_field *cols, size_t count,
                     tst_table_meta *next)
{
    const tst_table_meta *meta = tst_table_get_meta(t);
    int rc = tst_table_meta_copy(next, meta);
    tst_schema *grown = NULL;
    if (rc == 0)
        rc = tst_schema_extend(&grown, meta->schema, cols, count);
    if (rc == 0) {
        tst_schema_free(next->schema);
        next->schema = grown;
        rc = add_feature(next);
    }
    /* A column's annotations (reference 0.9): the commit that first records
     * some declares schema_metadata, reader and writer. */
    if (rc == 0)
        rc = tst_protocol_enable_metadata(next);
    return rc;
}

int tst_table_add_columns(tst_table *t, const tst_field *cols, size_t count,
                          uint64_t *out_version)
{
    if (!t || (count > 0 && !cols))
        return tst_fail(TST_EINVAL, "add_columns needs a table and its columns");
    int rc = check_table(t);
    if (rc == 0)
        rc = check_columns(t, cols, count);
    if (rc != 0)
        return rc;
    tst_action a;
    memset(&a, 0, sizeof a);
    a.type = TST_ACTION_UPDATE_TABLE_META;
    rc = next_meta(t, cols, count, &a.u.meta);
    uint64_t version = 0;
    if (rc == 0)
        rc = tst_table_commit(t, &a, 1, &version);
    tst_table_meta_clear(&a.u.meta);
    if (rc == TST_ECONFLICT)
        tst_fail_context(rc, "add_columns on table %s: another writer committed after version "
                         "%llu, which this handle holds; nothing was written; refresh the "
                         "table (or open it again) and add the columns again",
                         tst_table_root(t), (unsigned long long)tst_table_version(t));
    else if (rc != 0)
        tst_fail_context(rc, "add_columns on table %s", tst_table_root(t));
    if (rc == 0 && out_version)
        *out_version = version;
    return rc;
}

int tst_table_add_columns_arrow(tst_table *t, const struct ArrowSchema *columns,
                                uint64_t *out_version)
{
    if (!t || !columns)
        return tst_fail(TST_EINVAL, "add_columns needs a table and an Arrow schema");
    tst_field *fields = NULL;
    size_t n = 0;
    int rc = tst_arrow_schema_fields(columns, &fields, &n);
    if (rc == TST_ESCHEMA)
        return tst_fail_context(rc, "add_columns on table %s rejected (nothing was written)",
                                tst_table_root(t));
    if (rc == 0)
        rc = tst_table_add_columns(t, fields, n, out_version);
    for (size_t i = 0; i < n; i++)
        tst_source_field_clear(&fields[i]);
    free(fields);
    return rc;
}
