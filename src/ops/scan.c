/*
 * scan.c — the native range scan (see tstable/scan.h): rows of [start, end)
 * as an Arrow C stream, reading only the segments the range needs.
 *
 * The plan, decided from the handle's metadata before any file is opened
 * (DuckDB's read_parquet([...]) opens every listed file when the statement
 * is bound, so pruning must happen while the list is built):
 *
 *   1. arguments: domain of the bounds, start < end, entity bindings,
 *      projected columns — all checked before any I/O;
 *   2. segments: keep those with index_max >= start and index_min < end,
 *      and drop Single-layout segments of another identity; each kept data
 *      file must exist (TST_ENOTFOUND naming it, instead of DuckDB's error);
 *   3. SQL:  SELECT CAST(c AS T) AS c, ... FROM read_parquet([kept files],
 *      union_by_name = true) WHERE idx >= L AND idx < U [AND entity = v],
 *      where L and U are the bounds in the index column's own type and unit,
 *      rounded up (format §5.1), so DuckDB compares exactly and can prune
 *      row groups by their statistics. No kept segment: the same SELECT
 *      over no rows (CAST(NULL AS T) ... WHERE false), so the schema is the
 *      same whichever segments a range touches;
 *   4. export: the statement runs as a streaming query on a connection that
 *      the returned ArrowArrayStream owns; each get_next fetches one DuckDB
 *      chunk and converts it (duckdb_data_chunk_to_arrow), so memory is
 *      bounded by a chunk.
 *
 * The SELECT's column list, its FROM and the stream are shared with the SQL
 * session (src/engine/segment_select.c), so both present a table alike.
 *
 * The session time zone of the scan's connection is pinned to UTC: it is
 * the zone of exported TIMESTAMPTZ columns ("tsu:UTC") and of the casts
 * that build zoned bounds.
 */
#include "duck.h"
#include "fail.h"
#include "model.h"
#include "segment_select.h"
#include "table_internal.h"
#include "tstable/scan.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* A growing SQL statement (see duck.h for the appenders). */
typedef tst_sql sql_text;

/* What one scan resolved from its arguments. */
typedef struct scan_plan {
    tst_table *table;
    const tst_index_spec *spec;
    const tst_schema *schema;
    const tst_field *index;         /* the index column's field */
    const tst_field **columns;      /* projection, in output order */
    size_t column_count;
    tst_entity_value *identity;     /* spec->entity_count values, or NULL */
    const tst_index_value *start, *end;
    char **files;                   /* absolute paths of the kept segments */
    size_t file_count;
} scan_plan;

static void plan_clear(scan_plan *p)
{
    for (size_t i = 0; i < p->file_count; i++)
        free(p->files[i]);
    free(p->files);
    free(p->columns);
    free(p->identity);
}

/* ---- 1. arguments --------------------------------------------------------- */

static int check_range(const scan_plan *p)
{
    tst_index_type want = p->spec->kind.type;
    if (p->start->type != want || p->end->type != want)
        return tst_fail(TST_EINVAL, "scan of table %s: the range bounds must be values of the "
                        "table's index type", tst_table_root(p->table));
    int cmp = 0;
    int rc = tst_index_value_compare(p->start, p->end, &cmp);
    if (rc == 0 && cmp >= 0) {
        char a[TST_TIMESTAMP_TEXT_MAX], b[TST_TIMESTAMP_TEXT_MAX];
        tst_index_value_format(p->start, a, sizeof a);
        tst_index_value_format(p->end, b, sizeof b);
        rc = tst_fail(TST_EINVAL, "scan of table %s: invalid range [%s, %s): start must be "
                      "before end", tst_table_root(p->table), a, b);
    }
    return rc;
}

static int pick_columns(scan_plan *p, const char *const *names, size_t n)
{
    size_t count = names ? n : p->schema->column_count;
    if (names && n == 0)
        return tst_fail(TST_EINVAL, "scan: an empty column list (pass NULL for every column)");
    p->columns = calloc(count ? count : 1, sizeof *p->columns);
    if (!p->columns)
        return tst_fail(TST_ENOMEM, "out of memory planning a scan");
    for (size_t i = 0; i < count; i++) {
        const tst_field *f = names ? (names[i] ? tst_schema_find(p->schema, names[i]) : NULL)
                                   : &p->schema->columns[i];
        if (!f)
            return tst_fail(TST_EINVAL, "scan of table %s: no column named '%s'",
                            tst_table_root(p->table), names[i] ? names[i] : "(null)");
        for (size_t j = 0; j < i; j++)
            if (p->columns[j] == f)
                return tst_fail(TST_EINVAL, "scan: column '%s' is named twice", f->name);
        p->columns[i] = f;
    }
    p->column_count = count;
    return 0;
}

static int place_binding(scan_plan *p, const tst_entity_binding *b)
{
    for (size_t j = 0; b->column && j < p->spec->entity_count; j++) {
        if (strcmp(p->spec->entity_columns[j], b->column) != 0)
            continue;
        if (p->identity[j].type != 0)
            return tst_fail(TST_EINVAL, "scan: entity column '%s' is given more than once",
                            b->column);
        const tst_field *f = tst_schema_find(p->schema, b->column);
        tst_entity_type want = f ? tst_entity_type_of(&f->type) : (tst_entity_type)0;
        if (b->value.type != want ||
            (want == TST_ENTITY_UTF8 && !b->value.v.utf8.ptr && b->value.v.utf8.len))
            return tst_fail(TST_EINVAL, "scan: the value for entity column '%s' is not of the "
                            "column's type", b->column);
        p->identity[j] = b->value;
        return 0;
    }
    return tst_fail(TST_EINVAL, "scan of table %s: '%s' is not an entity column",
                    tst_table_root(p->table), b->column ? b->column : "(null)");
}

/* The identity, in entity_columns order; every entity column exactly once. */
static int pick_identity(scan_plan *p, const tst_entity_binding *b, size_t n)
{
    if (n == 0)
        return 0;
    if (!b || p->spec->entity_count == 0)
        return tst_fail(TST_EINVAL, "scan of table %s: %s", tst_table_root(p->table),
                        b ? "the table has no entity columns" : "entity bindings are NULL");
    p->identity = calloc(p->spec->entity_count, sizeof *p->identity); /* type 0: not given */
    if (!p->identity)
        return tst_fail(TST_ENOMEM, "out of memory planning a scan");
    int rc = 0;
    for (size_t i = 0; rc == 0 && i < n; i++)
        rc = place_binding(p, &b[i]);
    for (size_t j = 0; rc == 0 && j < p->spec->entity_count; j++)
        if (p->identity[j].type == 0)
            rc = tst_fail(TST_EINVAL, "scan: entity column '%s' is missing; give every entity "
                          "column exactly once", p->spec->entity_columns[j]);
    return rc;
}

static int plan_arguments(scan_plan *p, const tst_entity_binding *entity, size_t entity_count,
                          const char *const *columns, size_t column_count)
{
    if (p->table->stale)
        return tst_fail(TST_EINVAL, "table %s: the handle failed to refresh; refresh it first",
                        tst_table_root(p->table));
    p->spec = tst_table_index(p->table);
    int rc = check_range(p);
    if (rc != 0)
        return rc;
    p->schema = tst_table_get_meta(p->table)->schema;
    if (!p->schema)
        return tst_fail(TST_EINVAL, "scan of table %s: the table has no schema yet (nothing "
                        "was appended), so it has no columns to return",
                        tst_table_root(p->table));
    p->index = tst_schema_find(p->schema, p->spec->column);
    if (!p->index)
        return tst_fail(TST_ECORRUPT, "table %s: index column '%s' is not in the schema",
                        tst_table_root(p->table), p->spec->column);
    rc = pick_columns(p, columns, column_count);
    return rc == 0 ? pick_identity(p, entity, entity_count) : rc;
}

/* ---- 2. segments ---------------------------------------------------------- */

static bool same_value(const tst_entity_value *a, const tst_entity_value *b)
{
    tst_entity_identity x = {1, a}, y = {1, b};
    return tst_entity_identity_compare(&x, &y) == 0;
}

/* A Single-layout segment of another identity cannot hold the entity's rows. */
static bool other_identity(const scan_plan *p, const tst_segment *seg)
{
    if (!p->identity || seg->layout.kind != TST_LAYOUT_SINGLE ||
        seg->layout.count != p->spec->entity_count)
        return false;
    for (size_t i = 0; i < seg->layout.count; i++)
        if (!same_value(&seg->layout.values[i], &p->identity[i]))
            return true;
    return false;
}

static bool meets_range(const scan_plan *p, const tst_segment *seg)
{
    int max_vs_start = 0, min_vs_end = 0;
    if (tst_index_value_compare(&seg->index_max, p->start, &max_vs_start) != 0 ||
        tst_index_value_compare(&seg->index_min, p->end, &min_vs_end) != 0)
        return true; /* bounds of another domain: let the query decide */
    return max_vs_start >= 0 && min_vs_end < 0;
}

static int keep_file(scan_plan *p, const tst_segment *seg)
{
    char what[64 + 4096];
    snprintf(what, sizeof what, "scan of table %s", tst_table_root(p->table));
    char *abs = NULL;
    int rc = tst_select_segment_file(tst_table_root(p->table), seg, what, &abs);
    if (rc == 0)
        p->files[p->file_count++] = abs;
    return tst_table_note_lost_file(p->table, rc);
}

static int plan_segments(scan_plan *p)
{
    size_t n = tst_table_segment_count(p->table);
    p->files = calloc(n ? n : 1, sizeof *p->files);
    if (!p->files)
        return tst_fail(TST_ENOMEM, "out of memory planning a scan");
    for (size_t i = 0; i < n; i++) {
        const tst_segment *seg = tst_table_segment_at(p->table, i);
        if (!meets_range(p, seg) || other_identity(p, seg))
            continue;
        int rc = keep_file(p, seg);
        if (rc != 0)
            return rc;
    }
    return 0;
}

/* ---- 3. SQL --------------------------------------------------------------- */

/* Where a bound falls relative to what the column's unit can hold. */
typedef enum bound_fit { BOUND_IN, BOUND_BELOW, BOUND_ABOVE } bound_fit;

/* A timestamp as a count of `unit`, rounded up (format §5.1). */
static bound_fit timestamp_in_unit(tst_timestamp ts, tst_time_precision unit, int64_t *out)
{
    int64_t per_sec = unit == TST_PRECISION_MILLIS   ? 1000
                      : unit == TST_PRECISION_MICROS ? 1000000
                                                     : 1000000000;
    int64_t sub = 1000000000 / per_sec;
    int64_t frac = ((int64_t)ts.nsec + sub - 1) / sub; /* ceil of the sub-second part */
    int64_t whole;
    if (__builtin_mul_overflow(ts.sec, per_sec, &whole) ||
        __builtin_add_overflow(whole, frac, out))
        return ts.sec < 0 ? BOUND_BELOW : BOUND_ABOVE;
    return BOUND_IN;
}

/* The literal of a bound in the index column's own DuckDB type. */
static int bound_sql(sql_text *t, const scan_plan *p, const tst_index_value *v, int64_t units)
{
    if (v->type == TST_INDEX_INT64)
        return SQL_F(t, "CAST(%" PRId64 " AS BIGINT)", v->v.i64);
    if (v->type == TST_INDEX_UINT64)
        return SQL_F(t, "CAST(%" PRIu64 " AS UBIGINT)", v->v.u64);
    const tst_type *type = &p->index->type;
    if (type->unit == TST_PRECISION_NANOS && !type->timezone)
        return SQL_F(t, "make_timestamp_ns(CAST(%" PRId64 " AS BIGINT))", units);
    /* ms and us counts of years 0000..9999 fit in microseconds. */
    int64_t micros = type->unit == TST_PRECISION_MILLIS ? units * 1000 : units;
    return SQL_F(t, "CAST(make_timestamp(CAST(%" PRId64 " AS BIGINT)) AS %s)", micros,
                 type->unit == TST_PRECISION_MILLIS && !type->timezone ? "TIMESTAMP_MS"
                 : type->timezone                                        ? "TIMESTAMPTZ"
                                                                         : "TIMESTAMP");
}

/* " AND idx >= L" or " AND idx < U"; *empty when no row can satisfy it. */
static int index_bound_sql(sql_text *t, const scan_plan *p, const tst_index_value *v,
                           const char *op, bool is_start, bool *empty)
{
    int64_t units = 0;
    if (v->type == TST_INDEX_TIMESTAMP) {
        bound_fit fit = timestamp_in_unit(v->v.ts, p->index->type.unit, &units);
        if (fit != BOUND_IN) {
            /* start below / end above the unit's range: no limit on that side. */
            *empty = *empty || (is_start ? fit == BOUND_ABOVE : fit == BOUND_BELOW);
            return 0;
        }
    }
    int rc = SQL_F(t, " AND ");
    if (rc == 0)
        rc = SQL_IDENT(t, p->index->name);
    if (rc == 0)
        rc = SQL_F(t, " %s ", op);
    return rc == 0 ? bound_sql(t, p, v, units) : rc;
}

static int entity_sql(sql_text *t, const scan_plan *p)
{
    int rc = 0;
    for (size_t i = 0; rc == 0 && p->identity && i < p->spec->entity_count; i++) {
        const tst_entity_value *v = &p->identity[i];
        rc = SQL_F(t, " AND ");
        if (rc == 0)
            rc = SQL_IDENT(t, p->spec->entity_columns[i]);
        if (rc != 0)
            break;
        if (v->type == TST_ENTITY_UTF8) {
            char *text = strndup(v->v.utf8.ptr ? v->v.utf8.ptr : "", v->v.utf8.len);
            rc = text ? SQL_F(t, " = ") : tst_fail(TST_ENOMEM, "out of memory planning a scan");
            if (rc == 0)
                rc = SQL_LIT(t, text);
            free(text);
        } else if (v->type == TST_ENTITY_INT32) {
            rc = SQL_F(t, " = CAST(%" PRId32 " AS INTEGER)", v->v.i32);
        } else if (v->type == TST_ENTITY_INT64) {
            rc = SQL_F(t, " = CAST(%" PRId64 " AS BIGINT)", v->v.i64);
        } else {
            rc = SQL_F(t, " = CAST(%" PRIu64 " AS UBIGINT)", v->v.u64);
        }
    }
    return rc;
}

static int scan_sql(sql_text *t, const scan_plan *p)
{
    bool no_files = p->file_count == 0, empty = false;
    /* After add_columns, a column none of the kept files has reads as nulls. */
    bool added = tst_meta_requires_feature(tst_table_get_meta(p->table), "schema_add_columns");
    tst_select_names present = {0};
    int rc = added && !no_files ? tst_select_file_columns(p->files, p->file_count, &present) : 0;
    if (rc == 0)
        rc = SQL_F(t, "SELECT ");
    for (size_t i = 0; rc == 0 && i < p->column_count; i++) {
        bool absent = added && !no_files && !tst_select_names_has(&present, p->columns[i]->name);
        rc = SQL_F(t, "%s", i ? ", " : "");
        if (rc == 0)
            rc = tst_select_column(t, p->columns[i], no_files || absent);
    }
    tst_select_names_clear(&present);
    if (rc != 0 || no_files)
        return rc == 0 ? SQL_F(t, " WHERE false") : rc;
    rc = tst_select_from(t, p->files, p->file_count, true);
    if (rc == 0)
        rc = SQL_F(t, " WHERE true");
    if (rc == 0)
        rc = index_bound_sql(t, p, p->start, ">=", true, &empty);
    if (rc == 0)
        rc = index_bound_sql(t, p, p->end, "<", false, &empty);
    if (rc == 0)
        rc = entity_sql(t, p);
    if (rc == 0 && empty)
        rc = SQL_F(t, " AND false");
    return rc;
}

/* ---- 4. the exported stream ----------------------------------------------- */

/* Prepares sql on a new connection that the returned stream will own. */
static int stream_open(const char *sql, struct ArrowArrayStream *out)
{
    duckdb_connection con = NULL;
    duckdb_prepared_statement prepared = NULL;
    int rc = tst_duck_connect(&con);
    if (rc == 0)
        rc = tst_duck_query(con, "SET SESSION TimeZone = 'UTC'", NULL, "pinning the time zone");
    if (rc == 0 && duckdb_prepare(con, sql, &prepared) == DuckDBError) {
        const char *msg = duckdb_prepare_error(prepared);
        rc = tst_fail(TST_ESQL, "scan: DuckDB cannot plan the scan (%s): %s", sql,
                      msg ? msg : "prepare failed");
    }
    if (rc != 0) {
        duckdb_destroy_prepare(&prepared);
        tst_duck_disconnect(&con);
        return rc;
    }
    return tst_result_stream_open(con, true, prepared, "scan", out);
}

int tst_table_scan(tst_table *table, const tst_index_value *start, const tst_index_value *end,
                   const tst_entity_binding *entity, size_t entity_count,
                   const char *const *columns, size_t column_count,
                   struct ArrowArrayStream *out)
{
    if (out)
        memset(out, 0, sizeof *out);
    if (!table || !start || !end || !out)
        return tst_fail(TST_EINVAL, "scan needs a table, start and end bounds and an output "
                        "stream");
    scan_plan p = {.table = table, .start = start, .end = end};
    sql_text sql = {0};
    int rc = plan_arguments(&p, entity, entity_count, columns, column_count);
    if (rc == 0)
        rc = plan_segments(&p);
    if (rc == 0)
        rc = scan_sql(&sql, &p);
    if (rc == 0)
        rc = stream_open(sql.s, out);
    plan_clear(&p);
    free(sql.s);
    return rc;
}
