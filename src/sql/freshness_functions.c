/*
 * freshness_functions.c — tstable_freshness() and tstable_last_window(),
 * table functions for the questions a pipeline asks every morning, typed so
 * they join with the data:
 *
 *   SELECT symbol, lag FROM tstable_freshness('bars') WHERE lag > INTERVAL 2 DAY
 *   SELECT * FROM tstable_last_window('bars', INTERVAL 1 DAY, entity := 'NVDA')
 *
 * tstable_freshness(t [, now := TIME]) has one row per entity (canonical
 * order; one row for a table without entity columns): the entity columns
 * under their own names and types, first and last (the extent: start of
 * the first covered bucket, end of the last), covered_buckets, gaps and
 * missing_buckets inside the extent, ratio over it, and lag = now - last as
 * an INTERVAL (days and microseconds; BIGINT index units for an integer
 * index, NULL there without `now`). now defaults to the clock.
 *
 * tstable_last_window(t, length [, entity := ..., "end" := ...]) has the
 * same entity columns, then window_start and window_end: the most recent
 * run of fully covered buckets of `length` (an INTERVAL or '1d'-style text
 * for timestamps, index units for integers; whole buckets) ending at or
 * before "end", which defaults to the end of the table's last covered
 * bucket. NULLs when no such window exists, so a LEFT JOIN keeps the entity.
 *
 * Timestamps are TIMESTAMPTZ, whatever the index column's type: an instant
 * is an instant, and DuckDB compares it with TIMESTAMP columns in the
 * session's zone. Like tstable_coverage, the answer is computed whole at
 * bind time from the coverage snapshot (no Parquet), and time-travel names
 * ('bars@v3') work, through coverage_functions.c's lookup.
 */
#include "session_internal.h"

#include "fail.h"
#include "tstable/error.h"
#include "tstable/table_coverage.h"

#include <ctype.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define MAX_ENTITY_COLUMNS 16

typedef struct fresh_row {
    const tst_entity_summary *e; /* borrowed from the summary; NULL: `own` below */
    bool found;                  /* last_window: a window exists */
    tst_index_value start, end;  /* last_window: the window */
} fresh_row;

typedef struct fresh_answer {
    bool window; /* tstable_last_window */
    const tst_index_spec *spec;
    tst_index_type index_type;
    size_t entity_count;
    duckdb_type entity_types[MAX_ENTITY_COLUMNS];
    tst_coverage_summary *summary;
    fresh_row *rows;
    size_t count, next;
    bool have_now;
    tst_index_value now;
    /* tstable_last_window(entity := ...) for an entity the table never saw */
    char *entity_text;
    tst_entity_value own_values[MAX_ENTITY_COLUMNS];
    tst_entity_summary own;
} fresh_answer;

static void answer_free(void *p)
{
    fresh_answer *a = p;
    if (!a)
        return;
    tst_coverage_summary_free(a->summary);
    free(a->rows);
    free(a->entity_text);
    free(a);
}

/* ---- arguments ------------------------------------------------------------ */

static tst_timestamp clock_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (tst_timestamp){(int64_t)ts.tv_sec, (uint32_t)ts.tv_nsec};
}

/* "1d", "12h", "90m", "2w", "30s": seconds; false otherwise. */
static bool duration_text(const char *text, int64_t *out)
{
    static const char units[] = "smhdw";
    static const int64_t secs[] = {1, 60, 3600, 86400, 604800};
    char *end = NULL;
    errno = 0;
    if (!isdigit((unsigned char)text[0]))
        return false;
    long long n = strtoll(text, &end, 10);
    const char *u = end && end[0] && !end[1] ? strchr(units, end[0]) : NULL;
    if (errno || !u || n > INT64_MAX / secs[u - units])
        return false;
    *out = n * secs[u - units];
    return true;
}

/* The window length in buckets. */
static int window_buckets(duckdb_value v, const tst_index_kind *kind, uint64_t *out)
{
    duckdb_type id = duckdb_get_type_id(duckdb_get_value_type(v));
    uint64_t units = 0, width = 0;
    if (duckdb_is_null_value(v))
        return tst_fail(TST_EINVAL, "tstable_last_window: the length must not be NULL");
    if (kind->type == TST_INDEX_TIMESTAMP) {
        int64_t micros = 0, secs = 0;
        if (id == DUCKDB_TYPE_INTERVAL) {
            duckdb_interval iv = duckdb_get_interval(v);
            if (iv.months != 0)
                return tst_fail(TST_EINVAL, "tstable_last_window: a length in months has no "
                                "fixed number of buckets; use days");
            micros = (int64_t)iv.days * 86400000000LL + iv.micros;
        } else if (id == DUCKDB_TYPE_VARCHAR) {
            char *text = duckdb_get_varchar(v);
            bool ok = text && duration_text(text, &secs);
            duckdb_free(text);
            if (!ok)
                return tst_fail(TST_EINVAL, "tstable_last_window: the length is an INTERVAL or "
                                "a duration such as '1d', '12h', '2w'");
            micros = secs * 1000000;
        } else {
            return tst_fail(TST_EINVAL, "tstable_last_window: a timestamp table's length is an "
                            "INTERVAL (INTERVAL 1 DAY) or a duration text ('1d')");
        }
        width = tst_time_bucket_seconds(kind->bucket) * 1000000u;
        if (micros <= 0)
            return tst_fail(TST_EINVAL, "tstable_last_window: the length must be positive");
        units = (uint64_t)micros;
    } else {
        int64_t n = duckdb_get_int64(v);
        if (id == DUCKDB_TYPE_VARCHAR || id == DUCKDB_TYPE_INTERVAL || n <= 0)
            return tst_fail(TST_EINVAL, "tstable_last_window: an integer table's length is a "
                            "positive number of index units");
        units = (uint64_t)n;
        width = kind->bucket_width;
    }
    if (width == 0 || units % width != 0)
        return tst_fail(TST_EINVAL, "tstable_last_window: the length is not a whole number of "
                        "the table's buckets");
    *out = units / width;
    return 0;
}

/* ---- the answers ---------------------------------------------------------- */

static duckdb_type entity_type(const tst_table *t, const char *column)
{
    const tst_schema *schema = tst_table_get_meta(t)->schema;
    for (size_t i = 0; schema && i < schema->column_count; i++) {
        if (strcmp(schema->columns[i].name, column) != 0)
            continue;
        switch (schema->columns[i].type.kind) {
        case TST_TYPE_INT32: return DUCKDB_TYPE_INTEGER;
        case TST_TYPE_INT64: return DUCKDB_TYPE_BIGINT;
        case TST_TYPE_UINT64: return DUCKDB_TYPE_UBIGINT;
        default: return DUCKDB_TYPE_VARCHAR;
        }
    }
    return DUCKDB_TYPE_VARCHAR;
}

static int load_summary(tst_table *t, fresh_answer *a)
{
    a->spec = tst_table_index(t);
    a->index_type = a->spec->kind.type;
    a->entity_count = a->spec->entity_count;
    if (a->entity_count > MAX_ENTITY_COLUMNS)
        return tst_fail(TST_EUNSUPPORTED, "more than %d entity columns", MAX_ENTITY_COLUMNS);
    for (size_t k = 0; k < a->entity_count; k++)
        a->entity_types[k] = entity_type(t, a->spec->entity_columns[k]);
    /* Nothing appended: no coverage to read, no entities. */
    int rc = tst_table_segment_count(t) == 0 ? 0 : tst_table_coverage_summary(t, &a->summary);
    size_t n = tst_coverage_summary_count(a->summary);
    a->rows = rc == 0 ? calloc(n + 1, sizeof *a->rows) : NULL;
    if (rc == 0 && !a->rows)
        return tst_fail(TST_ENOMEM, "out of memory listing %zu entities", n);
    for (size_t i = 0; rc == 0 && i < n; i++)
        a->rows[a->count++].e = tst_coverage_summary_at(a->summary, i);
    return rc;
}

static int bind_freshness(duckdb_bind_info info, fresh_answer *a, tst_table **t)
{
    int rc = tst_sqlfn_table(info, 0, t);
    if (rc == 0)
        rc = load_summary(*t, a);
    duckdb_value now = rc == 0 ? duckdb_bind_get_named_parameter(info, "now") : NULL;
    if (now && !duckdb_is_null_value(now)) {
        rc = tst_sqlfn_index_value(now, a->spec, "now", &a->now);
        a->have_now = rc == 0;
    } else if (rc == 0 && a->index_type == TST_INDEX_TIMESTAMP) {
        a->now = (tst_index_value){.type = TST_INDEX_TIMESTAMP, .v.ts = clock_now()};
        a->have_now = true;
    }
    if (now)
        duckdb_destroy_value(&now);
    return rc;
}

/* The end of the table's last covered bucket, over every entity. */
static bool last_covered_end(const fresh_answer *a, tst_index_value *out)
{
    bool any = false;
    for (size_t i = 0; i < a->count; i++) {
        int cmp = 0;
        const tst_entity_summary *e = a->rows[i].e;
        if (e->covered && (!any || (tst_index_value_compare(&e->last, out, &cmp) == 0 && cmp > 0)))
            *out = e->last, any = true;
    }
    return any;
}

/* entity := 'NVDA': the one row about it (its own when the table never saw it). */
static int keep_entity(tst_table *t, fresh_answer *a, duckdb_value v)
{
    char *text = duckdb_get_varchar(v);
    a->entity_text = text ? strdup(text) : NULL;
    duckdb_free(text);
    if (!a->entity_text)
        return tst_fail(TST_ENOMEM, "out of memory reading the entity");
    tst_entity_binding b[MAX_ENTITY_COLUMNS];
    size_t n = 0;
    int rc = tst_sqlfn_entity(t, a->entity_text, b, &n);
    if (rc == 0 && n != a->entity_count)
        rc = tst_fail(TST_EINVAL, "tstable_last_window: the entity names %zu of the table's %zu "
                      "entity columns; write col=value for each", n, a->entity_count);
    for (size_t k = 0; rc == 0 && k < a->entity_count; k++) {
        size_t at = a->entity_count;
        for (size_t i = 0; i < n; i++)
            if (strcmp(b[i].column, a->spec->entity_columns[k]) == 0)
                at = i;
        if (at == a->entity_count)
            return tst_fail(TST_EINVAL, "tstable_last_window: the entity has no value for "
                            "column %s", a->spec->entity_columns[k]);
        a->own_values[k] = b[at].value;
    }
    if (rc != 0)
        return rc;
    a->own.identity = (tst_entity_identity){a->entity_count, a->own_values};
    for (size_t i = 0; i < a->count; i++)
        if (tst_entity_identity_compare(&a->rows[i].e->identity, &a->own.identity) == 0) {
            a->rows[0] = a->rows[i];
            a->count = 1;
            return 0;
        }
    a->rows[0].e = &a->own; /* never seen: no window */
    a->count = 1;
    return 0;
}

static int find_windows(tst_table *t, fresh_answer *a, uint64_t buckets, const tst_index_value *end)
{
    for (size_t i = 0; i < a->count; i++) {
        tst_entity_binding b[MAX_ENTITY_COLUMNS];
        const tst_entity_identity *id = &a->rows[i].e->identity;
        for (size_t k = 0; k < a->entity_count; k++)
            b[k] = (tst_entity_binding){a->spec->entity_columns[k], id->values[k]};
        int rc = tst_table_last_covered_window(t, a->entity_count ? b : NULL, a->entity_count,
                                               end, buckets, &a->rows[i].found,
                                               &a->rows[i].start, &a->rows[i].end);
        if (rc != 0)
            return rc;
    }
    return 0;
}

static int bind_window(duckdb_bind_info info, fresh_answer *a, tst_table **t)
{
    uint64_t buckets = 0;
    tst_index_value end;
    bool have_end = true;
    int rc = tst_sqlfn_table(info, 0, t);
    if (rc == 0)
        rc = load_summary(*t, a);
    duckdb_value length = rc == 0 ? duckdb_bind_get_parameter(info, 1) : NULL;
    if (rc == 0)
        rc = window_buckets(length, &a->spec->kind, &buckets);
    if (length)
        duckdb_destroy_value(&length);
    duckdb_value ev = rc == 0 ? duckdb_bind_get_named_parameter(info, "end") : NULL;
    if (ev && !duckdb_is_null_value(ev))
        rc = tst_sqlfn_index_value(ev, a->spec, "end", &end);
    else if (rc == 0)
        have_end = last_covered_end(a, &end); /* covers nothing: no window anywhere */
    if (ev)
        duckdb_destroy_value(&ev);
    duckdb_value entity = rc == 0 ? duckdb_bind_get_named_parameter(info, "entity") : NULL;
    if (entity && !duckdb_is_null_value(entity) && a->entity_count == 0)
        rc = tst_fail(TST_EINVAL, "the table has no entity columns; call tstable_last_window "
                      "without an entity");
    else if (entity && !duckdb_is_null_value(entity))
        rc = keep_entity(*t, a, entity);
    if (entity)
        duckdb_destroy_value(&entity);
    return rc == 0 && have_end ? find_windows(*t, a, buckets, &end) : rc;
}

/* ---- DuckDB callbacks ----------------------------------------------------- */

static void add_column(duckdb_bind_info info, const char *name, duckdb_type type)
{
    duckdb_logical_type lt = duckdb_create_logical_type(type);
    duckdb_bind_add_result_column(info, name, lt);
    duckdb_destroy_logical_type(&lt);
}

static duckdb_type index_type(const fresh_answer *a)
{
    return a->index_type == TST_INDEX_TIMESTAMP ? DUCKDB_TYPE_TIMESTAMP_TZ
           : a->index_type == TST_INDEX_INT64   ? DUCKDB_TYPE_BIGINT
                                                : DUCKDB_TYPE_UBIGINT;
}

static void describe(duckdb_bind_info info, const fresh_answer *a)
{
    for (size_t k = 0; k < a->entity_count; k++)
        add_column(info, a->spec->entity_columns[k], a->entity_types[k]);
    if (a->window) {
        add_column(info, "window_start", index_type(a));
        add_column(info, "window_end", index_type(a));
        return;
    }
    add_column(info, "first", index_type(a));
    add_column(info, "last", index_type(a));
    add_column(info, "covered_buckets", DUCKDB_TYPE_UBIGINT);
    add_column(info, "gaps", DUCKDB_TYPE_UBIGINT);
    add_column(info, "missing_buckets", DUCKDB_TYPE_UBIGINT);
    add_column(info, "ratio", DUCKDB_TYPE_DOUBLE);
    add_column(info, "lag", a->index_type == TST_INDEX_TIMESTAMP ? DUCKDB_TYPE_INTERVAL
                                                                 : DUCKDB_TYPE_BIGINT);
}

static void bind_common(duckdb_bind_info info, bool window)
{
    fresh_answer *a = calloc(1, sizeof *a);
    tst_table *t = NULL;
    if (!a) {
        duckdb_bind_set_error(info, "out of memory");
        return;
    }
    a->window = window;
    int rc = window ? bind_window(info, a, &t) : bind_freshness(info, a, &t);
    if (rc != 0) {
        duckdb_bind_set_error(info, tst_error_last()->message);
        answer_free(a);
        return;
    }
    describe(info, a);
    duckdb_bind_set_bind_data(info, a, answer_free);
}

static void freshness_bind(duckdb_bind_info info)
{
    bind_common(info, false);
}

static void window_bind(duckdb_bind_info info)
{
    bind_common(info, true);
}

static void scan_init(duckdb_init_info info)
{
    fresh_answer *a = duckdb_init_get_bind_data(info);
    a->next = 0;
}

static void set_null(duckdb_vector vec, idx_t row)
{
    duckdb_vector_ensure_validity_writable(vec);
    duckdb_validity_set_row_invalid(duckdb_vector_get_validity(vec), row);
}

static void put_entity(duckdb_vector vec, idx_t row, const tst_entity_value *v)
{
    switch (v->type) {
    case TST_ENTITY_UTF8:
        duckdb_vector_assign_string_element_len(vec, row, v->v.utf8.ptr ? v->v.utf8.ptr : "",
                                                v->v.utf8.len);
        break;
    case TST_ENTITY_INT32: ((int32_t *)duckdb_vector_get_data(vec))[row] = v->v.i32; break;
    case TST_ENTITY_INT64: ((int64_t *)duckdb_vector_get_data(vec))[row] = v->v.i64; break;
    default: ((uint64_t *)duckdb_vector_get_data(vec))[row] = v->v.u64; break;
    }
}

/* Microseconds, rounded down (an instant inside a microsecond stays in it). */
static int64_t micros_of(const tst_timestamp *ts)
{
    return ts->sec * 1000000 + (int64_t)(ts->nsec / 1000);
}

static void put_index(duckdb_vector vec, idx_t row, bool valid, const tst_index_value *v)
{
    if (!valid)
        set_null(vec, row);
    else if (v->type == TST_INDEX_TIMESTAMP)
        ((int64_t *)duckdb_vector_get_data(vec))[row] = micros_of(&v->v.ts);
    else if (v->type == TST_INDEX_INT64)
        ((int64_t *)duckdb_vector_get_data(vec))[row] = v->v.i64;
    else
        ((uint64_t *)duckdb_vector_get_data(vec))[row] = v->v.u64;
}

static void put_lag(duckdb_vector vec, idx_t row, const fresh_answer *a,
                    const tst_entity_summary *e)
{
    if (!e->covered || !a->have_now) {
        set_null(vec, row);
    } else if (a->index_type == TST_INDEX_TIMESTAMP) {
        int64_t us = micros_of(&a->now.v.ts) - micros_of(&e->last.v.ts);
        duckdb_interval iv = {0, (int32_t)(us / 86400000000LL), us % 86400000000LL};
        ((duckdb_interval *)duckdb_vector_get_data(vec))[row] = iv;
    } else if (a->index_type == TST_INDEX_INT64) {
        ((int64_t *)duckdb_vector_get_data(vec))[row] = a->now.v.i64 - e->last.v.i64;
    } else {
        ((int64_t *)duckdb_vector_get_data(vec))[row] = (int64_t)(a->now.v.u64 - e->last.v.u64);
    }
}

static void put_row(duckdb_data_chunk out, const fresh_answer *a, const fresh_row *r, idx_t row)
{
    const tst_entity_summary *e = r->e;
    size_t c = 0;
    for (; c < a->entity_count; c++)
        put_entity(duckdb_data_chunk_get_vector(out, c), row, &e->identity.values[c]);
    if (a->window) {
        put_index(duckdb_data_chunk_get_vector(out, c), row, r->found, &r->start);
        put_index(duckdb_data_chunk_get_vector(out, c + 1), row, r->found, &r->end);
        return;
    }
    put_index(duckdb_data_chunk_get_vector(out, c), row, e->covered, &e->first);
    put_index(duckdb_data_chunk_get_vector(out, c + 1), row, e->covered, &e->last);
    uint64_t n[3] = {e->covered_buckets, e->gaps, e->missing_buckets};
    for (size_t k = 0; k < 3; k++)
        ((uint64_t *)duckdb_vector_get_data(duckdb_data_chunk_get_vector(out, c + 2 + k)))[row] =
            n[k];
    uint64_t extent = e->covered_buckets + e->missing_buckets;
    ((double *)duckdb_vector_get_data(duckdb_data_chunk_get_vector(out, c + 5)))[row] =
        extent ? (double)e->covered_buckets / (double)extent : 0.0;
    put_lag(duckdb_data_chunk_get_vector(out, c + 6), row, a, e);
}

static void scan_rows(duckdb_function_info info, duckdb_data_chunk out)
{
    fresh_answer *a = duckdb_function_get_bind_data(info);
    idx_t n = 0, cap = duckdb_vector_size();
    for (; n < cap && a->next < a->count; n++, a->next++)
        put_row(out, a, &a->rows[a->next], n);
    duckdb_data_chunk_set_size(out, n);
}

/* ---- registration --------------------------------------------------------- */

static int register_function(duckdb_connection con, const char *name, bool window)
{
    duckdb_table_function tf = duckdb_create_table_function();
    duckdb_table_function_set_name(tf, name);
    duckdb_logical_type varchar = duckdb_create_logical_type(DUCKDB_TYPE_VARCHAR);
    duckdb_logical_type any = duckdb_create_logical_type(DUCKDB_TYPE_ANY);
    duckdb_table_function_add_parameter(tf, varchar);
    if (window) {
        duckdb_table_function_add_parameter(tf, any);
        duckdb_table_function_add_named_parameter(tf, "entity", varchar);
        duckdb_table_function_add_named_parameter(tf, "end", any);
    } else {
        duckdb_table_function_add_named_parameter(tf, "now", any);
    }
    duckdb_destroy_logical_type(&varchar);
    duckdb_destroy_logical_type(&any);
    duckdb_table_function_set_bind(tf, window ? window_bind : freshness_bind);
    duckdb_table_function_set_init(tf, scan_init);
    duckdb_table_function_set_function(tf, scan_rows);
    duckdb_state st = duckdb_register_table_function(con, tf);
    duckdb_destroy_table_function(&tf);
    return st == DuckDBSuccess ? 0
                               : tst_fail(TST_ESQL, "registering the SQL function %s failed", name);
}

int tst_sqlfn_register_freshness(duckdb_connection con)
{
    int rc = register_function(con, "tstable_freshness", false);
    return rc == 0 ? register_function(con, "tstable_last_window", true) : rc;
}
