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
 *      bounded by a chunk. DuckDB 1.4's duckdb_query_arrow and friends are
 *      deprecated and materialize the whole result; they are not used.
 *
 * The session time zone of the scan's connection is pinned to UTC: it is
 * the zone of exported TIMESTAMPTZ columns ("tsu:UTC") and of the casts
 * that build zoned bounds.
 */
#include "duck.h"
#include "fail.h"
#include "fsio.h"
#include "model.h"
#include "table_internal.h"
#include "tstable/scan.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

/* A growing SQL statement (see duck.h for the appenders). */
typedef struct sql_text {
    char *s;
    size_t len, cap;
} sql_text;

#define SQL_F(t, ...) tst_duck_appendf(&(t)->s, &(t)->len, &(t)->cap, __VA_ARGS__)
#define SQL_IDENT(t, name) tst_duck_append_ident(&(t)->s, &(t)->len, &(t)->cap, (name))
#define SQL_LIT(t, text) tst_duck_append_literal(&(t)->s, &(t)->len, &(t)->cap, (text))

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

static tst_entity_type entity_type_of(const tst_field *f)
{
    switch (f ? f->type.kind : TST_TYPE_OTHER) {
    case TST_TYPE_UTF8: return TST_ENTITY_UTF8;
    case TST_TYPE_INT32: return TST_ENTITY_INT32;
    case TST_TYPE_INT64: return TST_ENTITY_INT64;
    case TST_TYPE_UINT64: return TST_ENTITY_UINT64;
    default: return 0;
    }
}

static int place_binding(scan_plan *p, const tst_entity_binding *b)
{
    for (size_t j = 0; b->column && j < p->spec->entity_count; j++) {
        if (strcmp(p->spec->entity_columns[j], b->column) != 0)
            continue;
        if (p->identity[j].type != 0)
            return tst_fail(TST_EINVAL, "scan: entity column '%s' is given more than once",
                            b->column);
        tst_entity_type want = entity_type_of(tst_schema_find(p->schema, b->column));
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
    if (a->type != b->type)
        return false;
    switch (a->type) {
    case TST_ENTITY_UTF8:
        return a->v.utf8.len == b->v.utf8.len &&
               (a->v.utf8.len == 0 || memcmp(a->v.utf8.ptr, b->v.utf8.ptr, a->v.utf8.len) == 0);
    case TST_ENTITY_INT32: return a->v.i32 == b->v.i32;
    case TST_ENTITY_INT64: return a->v.i64 == b->v.i64;
    default: return a->v.u64 == b->v.u64;
    }
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
    char *abs = tst_io_join(tst_table_root(p->table), seg->path);
    if (!abs)
        return tst_fail(TST_ENOMEM, "out of memory planning a scan");
    p->files[p->file_count++] = abs;
    struct stat st;
    if (stat(abs, &st) == 0)
        return 0;
    int err = errno;
    int code = err == ENOENT || err == ENOTDIR ? TST_ENOTFOUND : TST_EIO;
    tst_fail_errno(code, err, "scan of table %s: data file %s of segment %s cannot be read",
                   tst_table_root(p->table), abs, seg->path);
    tst_fail_set_path(abs);
    return code;
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

static int duck_type(sql_text *t, const tst_type *type);

static const char *timestamp_type(const tst_type *type)
{
    if (type->timezone)
        return "TIMESTAMPTZ"; /* DuckDB has one zoned type; it reads zoned Parquet so */
    return type->unit == TST_PRECISION_MILLIS   ? "TIMESTAMP_MS"
           : type->unit == TST_PRECISION_MICROS ? "TIMESTAMP"
                                                : "TIMESTAMP_NS";
}

static int struct_type(sql_text *t, const tst_type *type)
{
    int rc = SQL_F(t, "STRUCT(");
    for (size_t i = 0; rc == 0 && i < type->field_count; i++) {
        rc = SQL_F(t, "%s", i ? ", " : "");
        if (rc == 0)
            rc = SQL_IDENT(t, type->fields[i].name);
        if (rc == 0)
            rc = SQL_F(t, " ");
        if (rc == 0)
            rc = duck_type(t, &type->fields[i].type);
    }
    return rc == 0 ? SQL_F(t, ")") : rc;
}

static int map_type(sql_text *t, const tst_type *type)
{
    int rc = SQL_F(t, "MAP(");
    if (rc == 0)
        rc = duck_type(t, &type->key->type);
    if (rc == 0)
        rc = SQL_F(t, ", ");
    if (rc == 0)
        rc = type->value ? duck_type(t, &type->value->type) : SQL_F(t, "INTEGER");
    return rc == 0 ? SQL_F(t, ")") : rc;
}

/* The DuckDB type a segment column of this logical type reads as. */
static int duck_type(sql_text *t, const tst_type *type)
{
    static const char *const leaf[] = {
        [TST_TYPE_BOOL] = "BOOLEAN",  [TST_TYPE_INT32] = "INTEGER", [TST_TYPE_INT64] = "BIGINT",
        [TST_TYPE_UINT64] = "UBIGINT", [TST_TYPE_FLOAT32] = "FLOAT", [TST_TYPE_FLOAT64] = "DOUBLE",
        [TST_TYPE_BINARY] = "BLOB",   [TST_TYPE_UTF8] = "VARCHAR",
        [TST_TYPE_FIXED_BINARY] = "BLOB", [TST_TYPE_INT96] = "TIMESTAMP",
        [TST_TYPE_OTHER] = "VARCHAR",
    };
    switch (type->kind) {
    case TST_TYPE_TIMESTAMP: return SQL_F(t, "%s", timestamp_type(type));
    case TST_TYPE_DECIMAL:
        if (type->precision > 38) /* DuckDB reads wider decimals as DOUBLE */
            return SQL_F(t, "DOUBLE");
        return SQL_F(t, "DECIMAL(%u,%d)", type->precision, (int)type->scale);
    case TST_TYPE_STRUCT: return struct_type(t, type);
    case TST_TYPE_LIST: {
        int rc = duck_type(t, &type->element->type);
        return rc == 0 ? SQL_F(t, "[]") : rc;
    }
    case TST_TYPE_MAP: return map_type(t, type);
    default:
        return SQL_F(t, "%s", (size_t)type->kind < sizeof leaf / sizeof leaf[0] &&
                                  leaf[type->kind] ? leaf[type->kind] : "VARCHAR");
    }
}

static bool nested(const tst_type *type)
{
    return type->kind == TST_TYPE_STRUCT || type->kind == TST_TYPE_LIST ||
           type->kind == TST_TYPE_MAP;
}

/* One output column: CAST(c AS T) AS c; nested columns pass as DuckDB reads
 * them (their field names are the files'); with no files, CAST(NULL AS T). */
static int column_sql(sql_text *t, const tst_field *f, bool no_files)
{
    int rc = no_files ? SQL_F(t, "CAST(NULL AS ")
             : nested(&f->type) ? SQL_IDENT(t, f->name)
                                : SQL_F(t, "CAST(");
    if (rc == 0 && !no_files && !nested(&f->type)) {
        rc = SQL_IDENT(t, f->name);
        if (rc == 0)
            rc = SQL_F(t, " AS ");
    }
    if (rc == 0 && (no_files || !nested(&f->type))) {
        rc = duck_type(t, &f->type);
        if (rc == 0)
            rc = SQL_F(t, ")");
    }
    if (rc == 0)
        rc = SQL_F(t, " AS ");
    return rc == 0 ? SQL_IDENT(t, f->name) : rc;
}

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

static int from_sql(sql_text *t, const scan_plan *p)
{
    int rc = SQL_F(t, " FROM read_parquet([");
    for (size_t i = 0; rc == 0 && i < p->file_count; i++) {
        rc = SQL_F(t, "%s", i ? ", " : "");
        if (rc == 0)
            rc = SQL_LIT(t, p->files[i]);
    }
    return rc == 0 ? SQL_F(t, "], union_by_name = true)") : rc;
}

static int scan_sql(sql_text *t, const scan_plan *p)
{
    bool no_files = p->file_count == 0, empty = false;
    int rc = SQL_F(t, "SELECT ");
    for (size_t i = 0; rc == 0 && i < p->column_count; i++) {
        rc = SQL_F(t, "%s", i ? ", " : "");
        if (rc == 0)
            rc = column_sql(t, p->columns[i], no_files);
    }
    if (rc != 0 || no_files)
        return rc == 0 ? SQL_F(t, " WHERE false") : rc;
    rc = from_sql(t, p);
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

typedef struct scan_stream {
    duckdb_connection con;
    duckdb_prepared_statement prepared;
    duckdb_result result;
    bool has_result;
    duckdb_arrow_options options;
    bool done;
    char error[1024];
} scan_stream;

static void stream_free(scan_stream *s)
{
    if (!s)
        return;
    if (s->options)
        duckdb_destroy_arrow_options(&s->options);
    if (s->has_result)
        duckdb_destroy_result(&s->result);
    duckdb_destroy_prepare(&s->prepared);
    tst_duck_disconnect(&s->con);
    free(s);
}

static int stream_fail(scan_stream *s, const char *what, const char *detail)
{
    snprintf(s->error, sizeof s->error, "%s: %s", what, detail ? detail : "DuckDB failed");
    return EIO;
}

static int error_data_fail(scan_stream *s, const char *what, duckdb_error_data e)
{
    int err = stream_fail(s, what, e ? duckdb_error_data_message(e) : NULL);
    duckdb_destroy_error_data(&e);
    return err;
}

static int get_schema(struct ArrowArrayStream *stream, struct ArrowSchema *out)
{
    scan_stream *s = stream->private_data;
    idx_t n = duckdb_column_count(&s->result);
    duckdb_logical_type *types = calloc(n ? n : 1, sizeof *types);
    const char **names = calloc(n ? n : 1, sizeof *names);
    int err = types && names ? 0 : stream_fail(s, "describing the scan", "out of memory");
    for (idx_t i = 0; err == 0 && i < n; i++) {
        types[i] = duckdb_column_logical_type(&s->result, i);
        names[i] = duckdb_column_name(&s->result, i);
    }
    if (err == 0) {
        duckdb_error_data e = duckdb_to_arrow_schema(s->options, types, names, n, out);
        if (e)
            err = error_data_fail(s, "exporting the scan's schema", e);
    }
    for (idx_t i = 0; types && i < n; i++)
        duckdb_destroy_logical_type(&types[i]);
    free(types);
    free(names);
    return err;
}

/* The next non-empty chunk as an Arrow struct array; release NULL at the end. */
static int get_next(struct ArrowArrayStream *stream, struct ArrowArray *out)
{
    scan_stream *s = stream->private_data;
    memset(out, 0, sizeof *out);
    while (!s->done) {
        duckdb_data_chunk chunk = duckdb_fetch_chunk(s->result);
        if (!chunk) {
            s->done = true;
            const char *msg = duckdb_result_error(&s->result);
            return msg && *msg ? stream_fail(s, "scanning the table", msg) : 0;
        }
        if (duckdb_data_chunk_get_size(chunk) == 0) {
            duckdb_destroy_data_chunk(&chunk);
            continue;
        }
        duckdb_error_data e = duckdb_data_chunk_to_arrow(s->options, chunk, out);
        duckdb_destroy_data_chunk(&chunk);
        return e ? error_data_fail(s, "exporting a scanned batch", e) : 0;
    }
    return 0;
}

static const char *get_last_error(struct ArrowArrayStream *stream)
{
    scan_stream *s = stream->private_data;
    return s && s->error[0] ? s->error : NULL;
}

static void release(struct ArrowArrayStream *stream)
{
    stream_free(stream->private_data);
    memset(stream, 0, sizeof *stream); /* release = NULL: released */
}

static int prepare_error(scan_stream *s, const char *sql)
{
    const char *msg = duckdb_prepare_error(s->prepared);
    return tst_fail(TST_ESQL, "scan: DuckDB cannot plan the scan (%s): %s", sql,
                    msg ? msg : "prepare failed");
}

/* Runs sql as a streaming query on a new connection the stream will own. */
static int stream_open(const char *sql, scan_stream **out)
{
    scan_stream *s = calloc(1, sizeof *s);
    if (!s)
        return tst_fail(TST_ENOMEM, "out of memory starting a scan");
    int rc = tst_duck_connect(&s->con);
    if (rc == 0)
        rc = tst_duck_query(s->con, "SET SESSION TimeZone = 'UTC'", NULL, "pinning the time zone");
    if (rc == 0 && duckdb_prepare(s->con, sql, &s->prepared) == DuckDBError)
        rc = prepare_error(s, sql);
    duckdb_pending_result pending = NULL;
    if (rc == 0 && duckdb_pending_prepared_streaming(s->prepared, &pending) == DuckDBError)
        rc = tst_fail(TST_ESQL, "scan: %s", duckdb_pending_error(pending));
    if (rc == 0) {
        s->has_result = true; /* execute_pending fills it even on error */
        if (duckdb_execute_pending(pending, &s->result) == DuckDBError)
            rc = tst_fail(TST_ESQL, "scan: %s", duckdb_result_error(&s->result));
    }
    duckdb_destroy_pending(&pending);
    if (rc == 0)
        s->options = duckdb_result_get_arrow_options(&s->result);
    if (rc != 0) {
        stream_free(s);
        return rc;
    }
    *out = s;
    return 0;
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
    scan_stream *s = NULL;
    int rc = plan_arguments(&p, entity, entity_count, columns, column_count);
    if (rc == 0)
        rc = plan_segments(&p);
    if (rc == 0)
        rc = scan_sql(&sql, &p);
    if (rc == 0)
        rc = stream_open(sql.s, &s);
    plan_clear(&p);
    free(sql.s);
    if (rc != 0)
        return rc;
    out->get_schema = get_schema;
    out->get_next = get_next;
    out->get_last_error = get_last_error;
    out->release = release;
    out->private_data = s;
    return 0;
}
