/*
 * update.c — keyed updates of stored values (see tstable/update.h).
 *
 * It reads top to bottom as the operation runs:
 *   1. arguments, protocol, versions (the source is not read when they
 *      fail), and the named columns against the table's schema;
 *   2. the source is opened (Arrow stream, Parquet or CSV) and held to the
 *      append's schema rules against a schema of just the key and named
 *      columns (keys nullable there, so a null key is reported by its own
 *      rule), then normalised: re-encoded in the table's exact types into
 *      a scratch Parquet file (data/_staged/update-prepare/<uuid>/), so
 *      every later join compares values of identical types;
 *   3. the key rules, each one query over the normalised source or the
 *      matches: null parts, repeated keys, then the matches themselves —
 *      the key columns of every candidate segment (index range holds a
 *      source key) joined to the source keys, kept in a DuckDB table of
 *      (segment, key) whose size is the number of matches, not the table's:
 *      unmatched keys, then keys matched by several rows;
 *   4. each segment with a match: checked against the log and its sidecar
 *      (rewrite.c), rewritten whole as segment LEFT JOIN source ordered by
 *      the segment's file row numbers (same rows, same order), measured,
 *      checked equal in rows, bounds and coverage, given a sidecar;
 *   5. one commit of RemoveSegment/AddSegment pairs (rewrite.c), rebased
 *      over other writers' commits unless strict;
 *   6. scratch removed always; on failure every written file too.
 *
 * Keys are compared as integers: the entity columns as they are and the
 * index as its epoch count in the table's unit (exact: both sides hold the
 * table's unit), so a segment written by another implementation whose
 * timestamps DuckDB reads as another SQL type still matches exactly.
 */
#include "update_internal.h"

#include "append_schema.h"
#include "arrow_source.h"
#include "cancel.h"
#include "duck.h"
#include "fail.h"
#include "fsio.h"
#include "log.h"
#include "rewrite.h"
#include "table_internal.h"
#include "tstable/update.h"

#include <inttypes.h>
#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

tst_update_hook_fn tst_update_before_commit_hook;
void *tst_update_before_commit_ctx;

#define PREPARE_DIR "data/_staged/update-prepare"
#define REWRITE_DIR "data/_staged/update-rewrite"
#define OP "update_rows"

typedef struct update_item {
    char *path;             /* the segment replaced (copied) */
    uint64_t old_bytes;
    tst_rewrite_piece piece;
} update_item;

typedef struct update_run {
    tst_table *table;
    const tst_update_options *opts;
    const char *root;
    const char *const *columns;
    size_t ncols;
    tst_schema *keyed;           /* key + named columns, table order, keys nullable */
    size_t keyed_total;
    tst_source src;
    tst_arrow_staging staging;
    char prep_uuid[37];
    char *prep_dir, *norm_abs;   /* absolute */
    tst_source norm;             /* the normalised source */
    duckdb_connection con;
    char matches[64];            /* DuckDB table of (segment, key) matches */
    bool matches_created;
    update_item *items;
    size_t count;
    char attempt_uuid[37];
    tst_update_report report;
} update_run;

static const tst_schema *table_schema(const update_run *r)
{
    return tst_table_get_meta(r->table)->schema;
}

static const tst_index_spec *spec_of(const update_run *r)
{
    return tst_table_index(r->table);
}

static int rejected(const update_run *r, int code, const char *fmt, const char *a, const char *b)
{
    char detail[1024];
    snprintf(detail, sizeof detail, fmt, a, b);
    tst_fail(code, "update_rows of table %s rejected: %s; nothing was written", r->root, detail);
    tst_fail_set_path(r->root);
    return code;
}

/* ---- 1. arguments, versions, columns ----------------------------------------- */

static bool is_key(const update_run *r, const char *name)
{
    const tst_index_spec *spec = spec_of(r);
    for (size_t k = 0; k < spec->entity_count; k++)
        if (strcmp(spec->entity_columns[k], name) == 0)
            return true;
    return strcmp(spec->column, name) == 0;
}

static int check_columns(const update_run *r)
{
    if (r->ncols == 0)
        return rejected(r, TST_ESCHEMA, "no column to set was named%s%s", "", "");
    if (!table_schema(r))
        return rejected(r, TST_EEMPTY, "the table has no rows yet, so no row can be updated%s%s",
                        "", "");
    for (size_t i = 0; i < r->ncols; i++) {
        const char *c = r->columns[i];
        if (!c || !tst_schema_find(table_schema(r), c))
            return rejected(r, TST_ESCHEMA, "the table has no column '%s'%s", c ? c : "(null)",
                            "");
        if (is_key(r, c))
            return rejected(r, TST_ESCHEMA, "'%s' is a key column (entity or index): keys name "
                            "the rows and cannot be set%s", c, "");
        for (size_t j = 0; j < i; j++)
            if (strcmp(r->columns[j], c) == 0)
                return rejected(r, TST_ESCHEMA, "the column '%s' is named twice%s", c, "");
    }
    return 0;
}

static int version_conflict(const update_run *r, uint64_t found, const char *why)
{
    tst_fail(TST_ECONFLICT, "update_rows of table %s: expected version %" PRIu64 " but %s is "
             "at version %" PRIu64 "; nothing was read or written; reopen the table and pass "
             "its version", r->root, r->opts->expected_version, why, found);
    tst_fail_set_conflict(r->opts->expected_version, found);
    tst_fail_set_path(r->root);
    return TST_ECONFLICT;
}

static int check_versions(const update_run *r)
{
    uint64_t expected = r->opts->expected_version, current = 0;
    if (expected == 0)
        return rejected(r, TST_EINVAL, "expected_version must be at least 1 (the table's "
                        "version when you read it)%s%s", "", "");
    if (expected != tst_table_version(r->table))
        return version_conflict(r, tst_table_version(r->table), "the table (as opened)");
    if (!r->opts->strict)
        return 0;
    int rc = tst_log_head(r->root, &current);
    if (rc == 0 && current != expected)
        return version_conflict(r, current, "the table (strict)");
    return rc;
}

/* The key and named columns, in table order; keys nullable. The other
 * fields stay behind them in the array (keyed_total), to be freed. */
static int keyed_schema(update_run *r)
{
    const tst_schema *all = table_schema(r);
    int rc = tst_schema_copy(&r->keyed, all);
    if (rc != 0)
        return rc;
    r->keyed_total = all->column_count;
    size_t n = 0;
    for (size_t i = 0; i < all->column_count; i++) {
        tst_field f = r->keyed->columns[i];
        bool named = false;
        for (size_t j = 0; j < r->ncols; j++)
            named |= strcmp(r->columns[j], f.name) == 0;
        bool key = is_key(r, f.name);
        if (!named && !key)
            continue;
        f.nullable |= key;
        r->keyed->columns[i] = r->keyed->columns[n]; /* swap: nothing is lost */
        r->keyed->columns[n++] = f;
    }
    r->keyed->column_count = n;
    return 0;
}

/* ---- 2. the source ---------------------------------------------------------------- */

/* Before the stream is drained: its column names must be exactly the keyed
 * ones (an empty stream is checked by nothing else). */
static int check_stream_schema(update_run *r, struct ArrowArrayStream *stream)
{
    struct ArrowSchema s;
    memset(&s, 0, sizeof s);
    if (!stream || !stream->release || !stream->get_schema || stream->get_schema(stream, &s) != 0)
        return 0; /* tst_source_arrow reports it */
    int rc = 0;
    if ((size_t)s.n_children != r->keyed->column_count)
        rc = rejected(r, TST_ESCHEMA, "the source must hold exactly the key columns and the "
                      "columns to set%s%s", "", "");
    for (int64_t i = 0; rc == 0 && i < s.n_children; i++) {
        const char *name = s.children[i]->name ? s.children[i]->name : "";
        if (!tst_schema_find(r->keyed, name))
            rc = rejected(r, TST_ESCHEMA, "the source has a column '%s' that is neither a key "
                          "column nor a column to set (name it among the columns to set, or "
                          "drop it from the source)%s", name, "");
    }
    if (s.release)
        s.release(&s);
    return rc;
}

static int open_source(update_run *r, const tst_update_source *source, bool *empty)
{
    int rc;
    if (source->stream) {
        rc = check_stream_schema(r, source->stream);
        if (rc != 0) {
            source->stream->release(source->stream);
            return rc;
        }
        /* Annotations that conflict with the table's stop the read before the
         * first batch (as an append's do); plan_source then names the key. */
        rc = tst_source_arrow_for(&r->src, source->stream, &r->staging, r->keyed);
    } else if (source->parquet_path) {
        rc = tst_source_parquet(&r->src, source->parquet_path);
    } else {
        tst_table_meta meta = *tst_table_get_meta(r->table);
        meta.schema = r->keyed;
        rc = tst_source_csv(&r->src, source->csv_path, source->csv, &meta);
    }
    *empty = rc == TST_EEMPTY || (rc == 0 && r->src.row_count == 0);
    return rc == TST_EEMPTY ? 0 : rc;
}

/* Names first, so a table column that is not being set reads as such. */
static int check_source_names(const update_run *r)
{
    for (size_t i = 0; i < r->src.column_count; i++)
        if (!tst_schema_find(r->keyed, r->src.columns[i].name))
            return rejected(r, TST_ESCHEMA, "the source has a column '%s' that is neither a key "
                            "column nor a column to set (name it among the columns to set, or "
                            "drop it from the source)%s", r->src.columns[i].name, "");
    return 0;
}

/* The append's rules against the keyed schema, its message made ours. */
static int plan_source(update_run *r)
{
    int names = check_source_names(r);
    if (names != 0)
        return names;
    tst_table_meta meta = *tst_table_get_meta(r->table);
    meta.schema = r->keyed;
    tst_append_plan plan;
    int rc = tst_append_plan_schema(&meta, &r->src, r->root, &plan);
    tst_append_plan_clear(&plan);
    if (rc != TST_ESCHEMA)
        return rc;
    char prefix[4200], message[2048];
    snprintf(prefix, sizeof prefix, "append to table %s rejected: ", r->root);
    const char *m = tst_error_last()->message;
    snprintf(message, sizeof message, "%s", strncmp(m, prefix, strlen(prefix)) == 0
                                                ? m + strlen(prefix) : m);
    char *cut = strstr(message, "; nothing was written");
    if (cut)
        *cut = '\0';
    return rejected(r, TST_ESCHEMA, "%s (the source holds the key columns and the columns to "
                    "set)%s", message, "");
}

static int normalise(update_run *r)
{
    int rc = tst_io_uuid(r->prep_uuid);
    char rel[128];
    snprintf(rel, sizeof rel, PREPARE_DIR "/%s", r->prep_uuid);
    if (rc == 0 && !(r->prep_dir = tst_io_join(r->root, rel)))
        rc = tst_fail(TST_ENOMEM, "out of memory");
    if (rc == 0)
        rc = tst_io_mkdirs(r->prep_dir);
    if (rc == 0 && !(r->norm_abs = tst_io_join(r->prep_dir, "source.parquet")))
        rc = tst_fail(TST_ENOMEM, "out of memory");
    if (rc == 0)
        rc = tst_segment_write(r->src.relation_sql, spec_of(r), r->keyed, r->norm_abs, NULL);
    if (rc == 0)
        rc = tst_source_parquet(&r->norm, r->norm_abs);
    if (rc == 0)
        r->report.rows_updated = r->norm.row_count;
    if (rc != 0 && rc != TST_ECANCELLED)
        tst_fail_context(rc, "update_rows of table %s: reading the source", r->root);
    return rc;
}

/* ---- keys as SQL ------------------------------------------------------------------- */

/* The index as its epoch count in the table's unit, or the integer itself. */
static int index_expr(tst_sql *t, const update_run *r, const char *alias)
{
    const tst_field *f = tst_schema_find(table_schema(r), spec_of(r)->column);
    const char *fn = NULL;
    if (f->type.kind == TST_TYPE_TIMESTAMP)
        fn = f->type.unit == TST_PRECISION_MILLIS ? "epoch_ms"
           : f->type.unit == TST_PRECISION_MICROS ? "epoch_us" : "epoch_ns";
    int rc = fn ? SQL_F(t, "%s(", fn) : 0;
    if (rc == 0 && alias)
        rc = SQL_F(t, "%s.", alias);
    if (rc == 0)
        rc = SQL_IDENT(t, spec_of(r)->column);
    return rc == 0 && fn ? SQL_F(t, ")") : rc;
}

/* "a.e1, ..., <index> AS __tst_i" (names kept, index as an integer). */
static int key_select(tst_sql *t, const update_run *r, const char *alias)
{
    const tst_index_spec *spec = spec_of(r);
    int rc = 0;
    for (size_t k = 0; rc == 0 && k < spec->entity_count; k++) {
        rc = SQL_F(t, "%s.", alias);
        if (rc == 0)
            rc = SQL_IDENT(t, spec->entity_columns[k]);
        if (rc == 0)
            rc = SQL_F(t, ", ");
    }
    if (rc == 0)
        rc = index_expr(t, r, alias);
    return rc == 0 ? SQL_F(t, " AS __tst_i") : rc;
}

/* "a.e1 = b.e1 AND ... AND a.__tst_i = b.__tst_i" over key_select columns. */
static int key_equal(tst_sql *t, const update_run *r, const char *a, const char *b)
{
    const tst_index_spec *spec = spec_of(r);
    int rc = 0;
    for (size_t k = 0; rc == 0 && k < spec->entity_count; k++) {
        const char *e = spec->entity_columns[k];
        rc = SQL_F(t, "%s.", a);
        if (rc == 0)
            rc = SQL_IDENT(t, e);
        if (rc == 0)
            rc = SQL_F(t, " = %s.", b);
        if (rc == 0)
            rc = SQL_IDENT(t, e);
        if (rc == 0)
            rc = SQL_F(t, " AND ");
    }
    return rc == 0 ? SQL_F(t, "%s.__tst_i = %s.__tst_i", a, b) : rc;
}

/* "e1, ..., __tst_i" */
static int key_names(tst_sql *t, const update_run *r)
{
    const tst_index_spec *spec = spec_of(r);
    int rc = 0;
    for (size_t k = 0; rc == 0 && k < spec->entity_count; k++) {
        rc = SQL_IDENT(t, spec->entity_columns[k]);
        if (rc == 0)
            rc = SQL_F(t, ", ");
    }
    return rc == 0 ? SQL_F(t, "__tst_i") : rc;
}

/* "(SELECT <keys> FROM <norm> s)" */
static int source_keys(tst_sql *t, const update_run *r)
{
    int rc = SQL_F(t, "(SELECT ");
    if (rc == 0)
        rc = key_select(t, r, "s");
    return rc == 0 ? SQL_F(t, " FROM %s s)", r->norm.relation_sql) : rc;
}

/* ---- 3. the key rules ---------------------------------------------------------------- */

static int add_key_value(json_object *obj, const char *name, duckdb_result *res, idx_t col,
                         bool text)
{
    json_object *v = NULL;
    if (!duckdb_value_is_null(res, col, 0)) {
        char *s = duckdb_value_varchar(res, col, 0);
        if (!s)
            return tst_fail(TST_ENOMEM, "out of memory");
        if (text)
            v = json_object_new_string(s);
        else if (s[0] == '-')
            v = json_object_new_int64(strtoll(s, NULL, 10));
        else
            v = json_object_new_uint64(strtoull(s, NULL, 10));
        duckdb_free(s);
    }
    json_object_object_add(obj, name, v);
    return 0;
}

/* The first row of res (key_select columns, then the violation count) as a
 * TST_EUPDATEKEY; 0 when res has no row. */
static int key_failure(const update_run *r, duckdb_result *res, const char *reason,
                       const char *what)
{
    if (duckdb_row_count(res) == 0)
        return 0;
    const tst_index_spec *spec = spec_of(r);
    json_object *obj = json_object_new_object();
    int rc = obj ? 0 : tst_fail(TST_ENOMEM, "out of memory");
    for (size_t k = 0; rc == 0 && k < spec->entity_count; k++) {
        const tst_field *f = tst_schema_find(table_schema(r), spec->entity_columns[k]);
        rc = add_key_value(obj, f->name, res, k, f->type.kind == TST_TYPE_UTF8);
    }
    if (rc == 0)
        rc = add_key_value(obj, spec->column, res, spec->entity_count, false);
    if (rc != 0) {
        json_object_put(obj);
        return rc;
    }
    uint64_t count = duckdb_value_uint64(res, spec->entity_count + 1, 0);
    const char *key = json_object_to_json_string_ext(obj, JSON_C_TO_STRING_PLAIN);
    tst_fail(TST_EUPDATEKEY, "update_rows of table %s rejected (%s): %s, for example the key %s "
             "(%" PRIu64 " such key%s among %" PRIu64 " source rows); nothing was written",
             r->root, reason, what, key, count, count == 1 ? "" : "s", r->report.rows_updated);
    tst_fail_set_update_key(reason, key, r->report.rows_updated, count);
    tst_fail_set_path(r->root);
    json_object_put(obj);
    return TST_EUPDATEKEY;
}

/* Runs a query whose rows are violations (key_select columns and a count). */
static int key_rule(update_run *r, tst_sql *t, const char *reason, const char *what)
{
    duckdb_result res;
    int rc = t->s ? tst_duck_query(r->con, t->s, &res, "checking the update's keys")
                  : tst_fail(TST_ENOMEM, "out of memory");
    free(t->s);
    memset(t, 0, sizeof *t);
    if (rc != 0)
        return rc;
    rc = key_failure(r, &res, reason, what);
    duckdb_destroy_result(&res);
    return rc;
}

static int null_keys(update_run *r)
{
    tst_sql t = {0};
    const tst_index_spec *spec = spec_of(r);
    int rc = SQL_F(&t, "SELECT *, count(*) OVER () FROM ");
    if (rc == 0)
        rc = source_keys(&t, r);
    if (rc == 0)
        rc = SQL_F(&t, " k WHERE __tst_i IS NULL");
    for (size_t k = 0; rc == 0 && k < spec->entity_count; k++) {
        rc = SQL_F(&t, " OR ");
        if (rc == 0)
            rc = SQL_IDENT(&t, spec->entity_columns[k]);
        if (rc == 0)
            rc = SQL_F(&t, " IS NULL");
    }
    if (rc == 0)
        rc = SQL_F(&t, " LIMIT 1");
    return rc == 0 ? key_rule(r, &t, "null_identity", "a key column holds a null") : rc;
}

/* SELECT <keys>, count(*) OVER () FROM <from> GROUP BY <keys> HAVING count(*) > 1 ... */
static int repeated_keys(update_run *r, const char *reason, const char *what, bool in_matches)
{
    tst_sql t = {0};
    int rc = SQL_F(&t, "SELECT ");
    if (rc == 0)
        rc = key_names(&t, r);
    if (rc == 0)
        rc = SQL_F(&t, ", count(*) OVER () FROM ");
    if (rc == 0)
        rc = in_matches ? SQL_F(&t, "\"%s\"", r->matches) : source_keys(&t, r);
    if (rc == 0)
        rc = SQL_F(&t, " k GROUP BY ALL HAVING count(*) > 1 ORDER BY ALL LIMIT 1");
    return rc == 0 ? key_rule(r, &t, reason, what) : rc;
}

static int unmatched_keys(update_run *r)
{
    tst_sql t = {0};
    int rc = SQL_F(&t, "SELECT s.*, count(*) OVER () FROM ");
    if (rc == 0)
        rc = source_keys(&t, r);
    if (rc == 0)
        rc = SQL_F(&t, " s ANTI JOIN \"%s\" m ON ", r->matches);
    if (rc == 0)
        rc = key_equal(&t, r, "s", "m");
    if (rc == 0)
        rc = SQL_F(&t, " ORDER BY ALL LIMIT 1");
    return rc == 0 ? key_rule(r, &t, "unmatched_source_key", "no stored row has this key") : rc;
}

/* Index bounds of the source, to skip segments that cannot hold its keys. */
static int source_bounds(update_run *r, tst_index_value *lo, tst_index_value *hi)
{
    tst_measure m = {0};
    int rc = tst_measure_relation(r->norm.relation_sql, spec_of(r), table_schema(r), &m);
    if (rc == 0) {
        *lo = m.min;
        *hi = m.max;
    }
    tst_measure_clear(&m);
    return rc;
}

static bool may_hold(const tst_segment *seg, const tst_index_value *lo, const tst_index_value *hi)
{
    int a = 0, b = 0;
    if (tst_index_value_compare(&seg->index_max, lo, &a) != 0 ||
        tst_index_value_compare(&seg->index_min, hi, &b) != 0)
        return true;
    return a >= 0 && b <= 0;
}

/* A segment's relation with its file row numbers: read_parquet(..., file_row_number = true). */
static int numbered(const char *relation, char **out)
{
    size_t n = strlen(relation);
    if (strncmp(relation, "read_parquet(", 13) != 0 || relation[n - 1] != ')')
        return tst_fail(TST_EINVAL, "cannot number the rows of %s", relation);
    return asprintf(out, "%.*s, file_row_number = true)", (int)(n - 1), relation) < 0
               ? tst_fail(TST_ENOMEM, "out of memory") : 0;
}

/* CREATE TABLE matches AS SELECT seg, keys FROM (segments' keys) h SEMI JOIN source.
 * The candidates' sources stay open until the query ran: a zoned-nanosecond
 * segment is read from a scratch copy that lives as long as its source. */
static int find_matches(update_run *r, const tst_index_value *lo, const tst_index_value *hi)
{
    char uuid[37];
    int rc = tst_io_uuid(uuid);
    for (char *p = uuid; *p; p++)
        *p = *p == '-' ? '_' : *p;
    snprintf(r->matches, sizeof r->matches, "__tst_update_%s", uuid);
    size_t n = tst_table_segment_count(r->table), used = 0;
    tst_source *open = calloc(n ? n : 1, sizeof *open);
    tst_sql t = {0};
    if (!open)
        rc = tst_fail(TST_ENOMEM, "out of memory");
    if (rc == 0)
        rc = SQL_F(&t, "CREATE TABLE \"%s\" AS SELECT h.* FROM (", r->matches);
    for (size_t i = 0; rc == 0 && i < n; i++) {
        const tst_segment *seg = tst_table_segment_at(r->table, i);
        if (!may_hold(seg, lo, hi))
            continue;
        char *abs = tst_io_join(r->root, seg->path);
        rc = abs ? tst_source_parquet(&open[used], abs) : tst_fail(TST_ENOMEM, "out of memory");
        free(abs);
        if (rc == 0)
            rc = SQL_F(&t, "%sSELECT CAST(%zu AS UBIGINT) AS __tst_seg, ", used ? " UNION ALL " : "",
                       i);
        if (rc == 0)
            rc = key_select(&t, r, "g");
        if (rc == 0)
            rc = SQL_F(&t, " FROM %s g", open[used].relation_sql);
        used++;
    }
    if (rc == 0 && used == 0) { /* no candidate: an empty relation of the right shape */
        rc = SQL_F(&t, "SELECT CAST(NULL AS UBIGINT) AS __tst_seg, k.* FROM ");
        if (rc == 0)
            rc = source_keys(&t, r);
        if (rc == 0)
            rc = SQL_F(&t, " k WHERE false");
    }
    if (rc == 0)
        rc = SQL_F(&t, ") h SEMI JOIN ");
    if (rc == 0)
        rc = source_keys(&t, r);
    if (rc == 0)
        rc = SQL_F(&t, " s ON ");
    if (rc == 0)
        rc = key_equal(&t, r, "h", "s");
    if (rc == 0)
        rc = tst_duck_query(r->con, t.s, NULL, "matching the update's keys to stored rows");
    r->matches_created = rc == 0;
    for (size_t i = 0; open && i < used; i++)
        tst_source_clear(&open[i]);
    free(open);
    free(t.s);
    return rc;
}

static int check_keys(update_run *r)
{
    int rc = null_keys(r);
    if (rc == 0)
        rc = repeated_keys(r, "duplicate_source_key", "the source names this key twice or more",
                           false);
    tst_index_value lo, hi;
    if (rc == 0)
        rc = source_bounds(r, &lo, &hi);
    if (rc == 0)
        rc = find_matches(r, &lo, &hi);
    if (rc == 0)
        rc = unmatched_keys(r);
    if (rc == 0)
        rc = repeated_keys(r, "ambiguous_target_key", "several stored rows have this key", true);
    return rc;
}

/* The segments with a match, in the handle's order. */
static int affected_segments(update_run *r)
{
    char sql[160];
    snprintf(sql, sizeof sql, "SELECT DISTINCT __tst_seg FROM \"%s\" ORDER BY 1", r->matches);
    duckdb_result res;
    int rc = tst_duck_query(r->con, sql, &res, "listing the segments to rewrite");
    if (rc != 0)
        return rc;
    idx_t n = duckdb_row_count(&res);
    r->items = calloc(n ? n : 1, sizeof *r->items);
    rc = r->items ? 0 : tst_fail(TST_ENOMEM, "out of memory");
    for (idx_t i = 0; rc == 0 && i < n; i++) {
        const tst_segment *seg = tst_table_segment_at(r->table, duckdb_value_uint64(&res, 0, i));
        update_item *it = &r->items[r->count++];
        it->path = strdup(seg->path);
        it->old_bytes = seg->has_file_size ? seg->file_size : 0;
        rc = it->path ? tst_entity_layout_copy(&it->piece.layout, &seg->layout)
                      : tst_fail(TST_ENOMEM, "out of memory");
    }
    duckdb_destroy_result(&res);
    return rc;
}

/* ---- 4. one segment ---------------------------------------------------------------- */

/* Whether the segment's file has the column: one written before an
 * add_columns lacks the columns added after it. */
static bool file_has(const tst_source *file, const char *name)
{
    for (size_t i = 0; i < file->column_count; i++)
        if (strcmp(file->columns[i].name, name) == 0)
            return true;
    return false;
}

/* (SELECT t.c | CASE WHEN u.__tst_hit THEN u.c ELSE t.c END AS c, ..., t.file_row_number
 *  AS __tst_row FROM <segment> t LEFT JOIN (SELECT *, <key> , true AS __tst_hit FROM norm) u
 *  ON <keys>). A column the file lacks (added later) is left out, and the segment
 * writer fills it with nulls, unless it is set: then CASE ... END is null elsewhere. */
static int rewrite_relation(const update_run *r, const tst_source *file, char **out)
{
    const tst_schema *schema = table_schema(r);
    char *rel = NULL;
    int rc = numbered(file->relation_sql, &rel);
    tst_sql t = {0};
    if (rc == 0)
        rc = SQL_F(&t, "(SELECT ");
    for (size_t i = 0; rc == 0 && i < schema->column_count; i++) {
        const char *c = schema->columns[i].name;
        bool set = tst_schema_find(r->keyed, c) && !is_key(r, c);
        bool has = file_has(file, c);
        if (!set && !has)
            continue;
        rc = SQL_F(&t, "%s", set ? "CASE WHEN u.__tst_hit THEN u." : "");
        if (rc == 0 && set)
            rc = SQL_IDENT(&t, c);
        if (rc == 0 && has)
            rc = SQL_F(&t, "%st.", set ? " ELSE " : "");
        if (rc == 0 && has)
            rc = SQL_IDENT(&t, c);
        if (rc == 0)
            rc = SQL_F(&t, "%s AS ", set ? " END" : "");
        if (rc == 0)
            rc = SQL_IDENT(&t, c);
        if (rc == 0)
            rc = SQL_F(&t, ", ");
    }
    if (rc == 0)
        rc = SQL_F(&t, "t.file_row_number AS __tst_row FROM (SELECT *, ");
    if (rc == 0)
        rc = index_expr(&t, r, NULL);
    if (rc == 0)
        rc = SQL_F(&t, " AS __tst_i FROM %s) t LEFT JOIN (SELECT *, ", rel);
    if (rc == 0)
        rc = index_expr(&t, r, NULL);
    if (rc == 0)
        rc = SQL_F(&t, " AS __tst_i, true AS __tst_hit FROM %s) u ON ", r->norm.relation_sql);
    if (rc == 0)
        rc = key_equal(&t, r, "t", "u");
    if (rc == 0)
        rc = SQL_F(&t, ")");
    free(rel);
    if (rc != 0)
        free(t.s);
    *out = rc == 0 ? t.s : NULL;
    return rc;
}

static bool same_value(const tst_index_value *a, const tst_index_value *b)
{
    int c = 1;
    return tst_index_value_compare(a, b, &c) == 0 && c == 0;
}

/* The replacement must hold what the segment held, in rows, bounds and coverage. */
static int check_piece(const update_item *it, const tst_measure *old, const tst_measure *m)
{
    tst_table_cov a = {old->global, old->entities}, b = {m->global, m->entities};
    if (m->rows != old->rows || it->piece.rows != old->rows || !tst_table_cov_equals(&a, &b) ||
        !same_value(&m->min, &old->min) || !same_value(&m->max, &old->max))
        return tst_fail(TST_ECORRUPT, "the rewrite %s of segment %s does not hold the same rows, "
                        "bounds and coverage (%" PRIu64 " rows, %" PRIu64 " before); nothing "
                        "was committed", it->piece.path, it->path, m->rows, old->rows);
    return 0;
}

static int write_piece(update_run *r, update_item *it, size_t n, const tst_source *src,
                       const tst_measure *old)
{
    tst_rewrite_piece *p = &it->piece;
    snprintf(p->path, sizeof p->path, REWRITE_DIR "/%s/%010zu.parquet", r->attempt_uuid, n);
    char *abs = tst_io_join(r->root, p->path), *dir = NULL, *relation = NULL;
    int rc = abs ? 0 : tst_fail(TST_ENOMEM, "out of memory");
    if (rc == 0 && !(dir = strndup(abs, strrchr(abs, '/') - abs)))
        rc = tst_fail(TST_ENOMEM, "out of memory");
    if (rc == 0)
        rc = tst_io_mkdirs(dir);
    if (rc == 0)
        rc = rewrite_relation(r, src, &relation);
    tst_segment_layout layout = {TST_COMPRESSION_DEFAULT, 0, "__tst_row"};
    if (rc == 0)
        rc = tst_segment_write(relation, spec_of(r), table_schema(r), abs, &layout);
    p->data_written = rc == 0;
    tst_measure m = {0};
    if (rc == 0)
        rc = tst_rewrite_cancelled(r->opts->cancel, OP, r->root);
    if (rc == 0)
        rc = tst_rewrite_measure_piece(r->table, p, abs, &m);
    if (rc == 0)
        rc = check_piece(it, old, &m);
    if (rc == 0)
        rc = tst_rewrite_write_sidecar(r->table, p, &m, r->attempt_uuid);
    tst_measure_clear(&m);
    free(relation);
    free(dir);
    free(abs);
    return rc;
}

static int rewrite_segment(update_run *r, update_item *it, size_t n)
{
    tst_source src = {0};
    tst_measure m = {0};
    int rc = tst_rewrite_open_segment(r->table, it->path, &src, &m);
    if (rc == 0)
        rc = tst_rewrite_cancelled(r->opts->cancel, OP, r->root);
    if (rc == 0)
        rc = write_piece(r, it, n, &src, &m);
    if (rc == 0 && !it->old_bytes)
        rc = tst_segment_file_stats(src.path, &(uint64_t){0}, &it->old_bytes);
    if (rc != 0 && rc != TST_ECANCELLED)
        tst_fail_context(rc, "update_rows of table %s, segment %s", r->root, it->path);
    tst_measure_clear(&m);
    tst_source_clear(&src);
    return rc;
}

/* ---- 5. commit ------------------------------------------------------------------------ */

static int commit(update_run *r)
{
    tst_action *actions = calloc(2 * r->count, sizeof *actions);
    char **replaced = calloc(r->count, sizeof *replaced);
    int rc = actions && replaced ? 0 : tst_fail(TST_ENOMEM, "out of memory");
    for (size_t i = 0; rc == 0 && i < r->count; i++) {
        actions[2 * i].type = TST_ACTION_REMOVE_SEGMENT;
        actions[2 * i].u.remove_path = r->items[i].path;
        actions[2 * i + 1].type = TST_ACTION_ADD_SEGMENT;
        tst_rewrite_fill_segment(&r->items[i].piece, &actions[2 * i + 1].u.segment);
        replaced[i] = r->items[i].path;
    }
    tst_rewrite_commit c = {
        .table = r->table, .op = OP, .actions = actions, .action_count = 2 * r->count,
        .replaced = replaced, .replaced_count = r->count,
        .starting_version = r->report.starting_version, .max_attempts = r->opts->max_attempts,
        .no_rebase = r->opts->strict, .cancel = r->opts->cancel,
        .hook = tst_update_before_commit_hook, .hook_ctx = tst_update_before_commit_ctx};
    if (rc == 0)
        rc = tst_rewrite_commit_run(&c, &r->report.committed_version, &r->report.attempts);
    free(actions);
    free(replaced);
    return rc;
}

/* ---- 6. clean-up and the whole ------------------------------------------------------ */

static void remove_scratch(update_run *r)
{
    if (r->matches_created) {
        char sql[128];
        snprintf(sql, sizeof sql, "DROP TABLE IF EXISTS \"%s\"", r->matches);
        duckdb_result res; /* directly: the update's own error is kept */
        duckdb_query(r->con, sql, &res);
        duckdb_destroy_result(&res);
    }
    tst_source_clear(&r->norm);
    if (r->norm_abs)
        tst_io_unlink(r->norm_abs);
    if (r->prep_dir)
        rmdir(r->prep_dir); /* best effort, as the folders above it */
}

static void roll_back(update_run *r)
{
    for (size_t i = r->count; i-- > 0;)
        tst_rewrite_remove_piece(r->root, &r->items[i].piece);
    if (r->attempt_uuid[0]) {
        char rel[128];
        snprintf(rel, sizeof rel, REWRITE_DIR "/%s", r->attempt_uuid);
        char *abs = tst_io_join(r->root, rel);
        if (abs)
            rmdir(abs);
        free(abs);
    }
}

static int prepare(update_run *r, const tst_update_source *source, bool *empty)
{
    /* A pinned handle or an unwritable protocol-7 feature, before the source is read. */
    int rc = tst_table_check_writable(r->table, "update_rows");
    if (rc == 0)
        rc = check_versions(r);
    if (rc == 0)
        rc = check_columns(r);
    if (rc == 0)
        rc = keyed_schema(r);
    if (rc != 0) {
        if (source->stream && source->stream->release)
            source->stream->release(source->stream);
        return rc;
    }
    rc = open_source(r, source, empty);
    if (rc == 0 && (!*empty || r->src.columns))
        rc = plan_source(r);
    return rc;
}

static int run(update_run *r, const tst_update_source *source)
{
    bool empty = false;
    r->report.starting_version = r->report.committed_version = r->opts->expected_version;
    int rc = prepare(r, source, &empty);
    if (rc != 0 || empty) {
        r->report.no_op = rc == 0;
        return rc;
    }
    rc = tst_duck_connect(&r->con);
    if (rc == 0)
        rc = normalise(r);
    if (rc == 0 && r->norm.row_count == 0) { /* a CSV of a header only */
        r->report.no_op = true;
        return 0;
    }
    if (rc == 0)
        rc = check_keys(r);
    if (rc == 0)
        rc = affected_segments(r);
    if (rc == 0)
        rc = tst_io_uuid(r->attempt_uuid);
    for (size_t i = 0; rc == 0 && i < r->count; i++)
        rc = rewrite_segment(r, &r->items[i], i);
    if (rc == 0)
        rc = commit(r);
    if (rc == TST_EAMBIGUOUS)
        return rc; /* the commit may stand: keep every file it names */
    if (rc != 0) {
        roll_back(r);
        return rc;
    }
    r->report.segments_rewritten = r->count;
    for (size_t i = 0; i < r->count; i++) {
        r->report.source_file_bytes += r->items[i].old_bytes;
        r->report.replacement_file_bytes += r->items[i].piece.bytes;
    }
    return 0;
}

static int check_source_arg(const tst_update_source *s)
{
    int n = !!(s && s->stream) + !!(s && s->parquet_path) + !!(s && s->csv_path);
    if (n == 1)
        return 0;
    if (s && s->stream && s->stream->release)
        s->stream->release(s->stream);
    return tst_fail(TST_EINVAL, "update_rows needs exactly one source (an Arrow stream, a Parquet "
                    "file or a CSV file); %d given", n);
}

static void run_clear(update_run *r)
{
    remove_scratch(r);
    tst_duck_disconnect(&r->con);
    for (size_t i = 0; r->items && i < r->count; i++) {
        tst_entity_layout_clear(&r->items[i].piece.layout);
        free(r->items[i].path);
    }
    free(r->items);
    tst_source_clear(&r->src);
    tst_arrow_staging_drop(&r->staging);
    if (r->keyed)
        r->keyed->column_count = r->keyed_total;
    tst_schema_free(r->keyed);
    free(r->prep_dir);
    free(r->norm_abs);
}

int tst_table_update_rows(tst_table *table, const tst_update_source *source,
                          const char *const *columns, size_t ncols,
                          const tst_update_options *opts, tst_update_report *out)
{
    int rc = check_source_arg(source);
    if (rc == 0 && (!table || !opts || (ncols && !columns))) {
        if (source->stream && source->stream->release)
            source->stream->release(source->stream);
        rc = tst_fail(TST_EINVAL, "update_rows needs a table, options (expected_version) and "
                      "the columns to set");
    }
    if (rc != 0)
        return rc;
    update_run r;
    memset(&r, 0, sizeof r);
    r.table = table;
    r.opts = opts;
    r.root = tst_table_root(table);
    r.columns = columns;
    r.ncols = ncols;
    tst_cancel *outer = tst_cancel_scope_enter(opts->cancel);
    rc = run(&r, source);
    if (rc == TST_ECANCELLED)
        tst_fail(TST_ECANCELLED, "update_rows of table %s cancelled; nothing was committed and "
                 "the rewritten files were removed", r.root);
    tst_cancel_scope_leave(outer);
    if (rc == 0 && out)
        *out = r.report;
    run_clear(&r);
    return rc;
}
