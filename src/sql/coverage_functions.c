/*
 * coverage_functions.c — tstable_coverage() and tstable_gaps(), table
 * functions that answer coverage questions inside SQL (see
 * tstable/session.h), so "which symbols have gaps in my backtest window" is
 * one query that can be joined with anything else:
 *
 *   SELECT entity FROM tstable_coverage('bars', '2024-06-01', '2024-06-11')
 *   WHERE missing_buckets > 0
 *
 * tstable_coverage_diff('bars@v10', 'bars') lists the buckets added and
 * removed per entity between two registered tables or versions
 * (tstable/coverage_diff.h), as merged ranges.
 *
 * Answers come from the registered table's coverage sidecars
 * (table_coverage.h), refreshed to its latest version; no Parquet is read.
 * The answer is small (one row per entity, or per missing range), so the
 * bind callback computes it whole and the scan callback hands it out a
 * vector at a time.
 *
 * DuckDB keeps C table functions in the database's catalog, shared by every
 * connection, so they are registered once per process and find their
 * session through the calling connection's id in a small registry.
 */
#include "session_internal.h"

#include "fail.h"
#include "tstable/coverage_diff.h"
#include "tstable/error.h"
#include "tstable/table_coverage.h"

#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The C function behind the tstable_gaps macros. */
#define GAPS_FUNCTION "tstable_gaps_of"

/* ---- which session is calling --------------------------------------------- */

static pthread_mutex_t registry_lock = PTHREAD_MUTEX_INITIALIZER;
static tst_session **sessions;
static size_t session_count, session_cap;
static bool functions_registered;

static tst_session *session_of(duckdb_bind_info info)
{
    duckdb_client_context ctx = NULL;
    duckdb_table_function_get_client_context(info, &ctx);
    idx_t id = duckdb_client_context_get_connection_id(ctx);
    duckdb_destroy_client_context(&ctx);
    tst_session *found = NULL;
    pthread_mutex_lock(&registry_lock);
    for (size_t i = 0; i < session_count && !found; i++)
        if (sessions[i]->connection_id == id)
            found = sessions[i];
    pthread_mutex_unlock(&registry_lock);
    return found;
}

/* ---- rows ----------------------------------------------------------------- */

typedef struct answer_row {
    char *entity; /* NULL for a table without entity columns */
    uint64_t n[5];  /* coverage: covered, missing, total, max_gap; gaps: buckets */
    double ratio;
    tst_index_value start, end; /* gaps */
} answer_row;

typedef struct answer {
    bool gaps;
    bool diff; /* tstable_coverage_diff: rows are changes (n[1]: 1 added, 2 removed) */
    const tst_calendar *cal; /* calendar := 'spec' during bind; NULL: every bucket */
    tst_index_type index_type;
    answer_row *rows;
    size_t count, cap;
    size_t next; /* the scan's position */
} answer;

static void answer_free(void *p)
{
    answer *a = p;
    for (size_t i = 0; a && i < a->count; i++)
        free(a->rows[i].entity);
    if (a)
        free(a->rows);
    free(a);
}

static answer_row *answer_add(answer *a, const char *entity)
{
    if (a->count == a->cap) {
        size_t cap = a->cap ? a->cap * 2 : 16;
        answer_row *rows = realloc(a->rows, cap * sizeof *rows);
        if (!rows)
            return NULL;
        a->rows = rows, a->cap = cap;
    }
    answer_row *r = &a->rows[a->count];
    memset(r, 0, sizeof *r);
    if (entity && !(r->entity = strdup(entity)))
        return NULL;
    a->count++;
    return r;
}

/* ---- arguments ------------------------------------------------------------ */

static int value_text(duckdb_value v, char *buf, size_t cap)
{
    duckdb_logical_type type = duckdb_get_value_type(v);
    duckdb_type id = duckdb_get_type_id(type);
    /* value_to_string quotes text ('x'); get_varchar gives it as is. */
    char *text = id == DUCKDB_TYPE_VARCHAR ? duckdb_get_varchar(v) : duckdb_value_to_string(v);
    if (!text)
        return TST_EINVAL;
    snprintf(buf, cap, "%s", text);
    duckdb_free(text);
    return 0;
}

static bool timestamp_of(duckdb_value v, duckdb_type id, char *text, tst_timestamp *out)
{
    int64_t micros;
    switch (id) {
    case DUCKDB_TYPE_TIMESTAMP: micros = duckdb_get_timestamp(v).micros; break;
    case DUCKDB_TYPE_TIMESTAMP_TZ: micros = duckdb_get_timestamp_tz(v).micros; break;
    case DUCKDB_TYPE_DATE: micros = (int64_t)duckdb_get_date(v).days * 86400000000LL; break;
    case DUCKDB_TYPE_VARCHAR: return tst_session_parse_time(text, out);
    default: return false;
    }
    int64_t sec = micros / 1000000, rem = micros % 1000000;
    if (rem < 0)
        sec -= 1, rem += 1000000;
    out->sec = sec, out->nsec = (uint32_t)rem * 1000;
    return true;
}

/* A bound as a value of the table's index type: TIMESTAMP, TIMESTAMPTZ,
 * DATE or ISO text for timestamps; integers for integer indexes. */
static int read_bound(duckdb_value v, const tst_index_spec *spec, const char *which,
                      tst_index_value *out)
{
    char text[128] = "";
    duckdb_type id = duckdb_get_type_id(duckdb_get_value_type(v));
    if (duckdb_is_null_value(v) || value_text(v, text, sizeof text) != 0)
        return tst_fail(TST_EINVAL, "%s must not be NULL", which);
    out->type = spec->kind.type;
    if (spec->kind.type == TST_INDEX_TIMESTAMP) {
        if (timestamp_of(v, id, text, &out->v.ts))
            return 0;
        return tst_fail(TST_EINVAL, "%s %s is not a timestamp (use a TIMESTAMP, a DATE or an "
                        "ISO-8601 text such as '2024-06-01' or '2024-06-01T00:00:00Z')",
                        which, text);
    }
    char *end = NULL;
    errno = 0;
    if (spec->kind.type == TST_INDEX_INT64)
        out->v.i64 = strtoll(text, &end, 10);
    else
        out->v.u64 = text[0] == '-' ? (errno = ERANGE, 0) : strtoull(text, &end, 10);
    if (errno != 0 || !end || end == text || *end)
        return tst_fail(TST_EINVAL, "%s %s is not a value of the table's %s index", which,
                        text, spec->kind.type == TST_INDEX_INT64 ? "int64" : "uint64");
    return 0;
}

/* ---- entities ------------------------------------------------------------- */

static void value_render(const tst_entity_value *v, char *buf, size_t cap)
{
    switch (v->type) {
    case TST_ENTITY_UTF8:
        snprintf(buf, cap, "%.*s", (int)v->v.utf8.len, v->v.utf8.ptr ? v->v.utf8.ptr : "");
        break;
    case TST_ENTITY_INT32: snprintf(buf, cap, "%" PRId32, v->v.i32); break;
    case TST_ENTITY_INT64: snprintf(buf, cap, "%" PRId64, v->v.i64); break;
    default: snprintf(buf, cap, "%" PRIu64, v->v.u64); break;
    }
}

/* "NVDA" for one entity column, "col=value,col=value" for several. */
static void identity_render(const tst_index_spec *spec, const tst_entity_identity *id, char *buf,
                            size_t cap)
{
    size_t len = 0;
    buf[0] = '\0';
    for (size_t k = 0; k < id->count && len < cap; k++) {
        char value[512];
        value_render(&id->values[k], value, sizeof value);
        if (spec->entity_count == 1)
            len += (size_t)snprintf(buf + len, cap - len, "%s", value);
        else
            len += (size_t)snprintf(buf + len, cap - len, "%s%s=%s", k ? "," : "",
                                    k < spec->entity_count ? spec->entity_columns[k] : "?", value);
    }
}

static tst_entity_type entity_type(const tst_table *t, const char *column)
{
    const tst_schema *schema = tst_table_get_meta(t)->schema;
    for (size_t i = 0; schema && i < schema->column_count; i++) {
        if (strcmp(schema->columns[i].name, column) != 0)
            continue;
        switch (schema->columns[i].type.kind) {
        case TST_TYPE_INT32: return TST_ENTITY_INT32;
        case TST_TYPE_INT64: return TST_ENTITY_INT64;
        case TST_TYPE_UINT64: return TST_ENTITY_UINT64;
        default: return TST_ENTITY_UTF8;
        }
    }
    return TST_ENTITY_UTF8;
}

static int parse_component(const tst_table *t, const char *column, char *text,
                           tst_entity_binding *out)
{
    out->column = column;
    out->value.type = entity_type(t, column);
    char *end = NULL;
    errno = 0;
    switch (out->value.type) {
    case TST_ENTITY_UTF8:
        out->value.v.utf8.ptr = text;
        out->value.v.utf8.len = strlen(text);
        return 0;
    case TST_ENTITY_INT32: out->value.v.i32 = (int32_t)strtol(text, &end, 10); break;
    case TST_ENTITY_INT64: out->value.v.i64 = strtoll(text, &end, 10); break;
    default: out->value.v.u64 = strtoull(text, &end, 10); break;
    }
    if (errno || end == text || *end)
        return tst_fail(TST_EINVAL, "entity value '%s' of column %s is not a number", text,
                        column);
    return 0;
}

/* The gaps function's entity argument, parsed in place into bindings. */
static int parse_entity(const tst_table *t, char *text, tst_entity_binding *b, size_t *n)
{
    const tst_index_spec *spec = tst_table_index(t);
    *n = 0;
    if (spec->entity_count == 0)
        return tst_fail(TST_EINVAL, "the table has no entity columns; call tstable_gaps "
                        "without an entity");
    if (spec->entity_count == 1 && !strchr(text, '='))
        return (*n = 1, parse_component(t, spec->entity_columns[0], text, b));
    for (char *save = NULL, *part = strtok_r(text, ",", &save); part;
         part = strtok_r(NULL, ",", &save)) {
        char *eq = strchr(part, '=');
        if (!eq || *n == spec->entity_count)
            return tst_fail(TST_EINVAL, "entity '%s': write col=value[,col=value]", part);
        *eq = '\0';
        int rc = parse_component(t, part, eq + 1, &b[(*n)++]);
        if (rc != 0)
            return rc;
    }
    return 0;
}

/* ---- answers -------------------------------------------------------------- */

typedef struct gap_ctx {
    answer *a;
    const char *entity;
} gap_ctx;

static int add_gap(void *p, const tst_index_value *start, const tst_index_value *end,
                   bool end_inclusive, uint64_t buckets)
{
    (void)end_inclusive;
    gap_ctx *g = p;
    answer_row *r = answer_add(g->a, g->entity);
    if (!r)
        return tst_fail(TST_ENOMEM, "out of memory listing gaps");
    r->start = *start, r->end = *end, r->n[0] = buckets;
    return 0;
}

static int answer_identity(tst_table *t, answer *a, const tst_entity_identity *id,
                           const tst_index_value *start, const tst_index_value *end)
{
    const tst_index_spec *spec = tst_table_index(t);
    tst_entity_binding b[16];
    size_t n = spec->entity_count;
    if (n > 16)
        return tst_fail(TST_EUNSUPPORTED, "more than 16 entity columns");
    for (size_t k = 0; k < n && k < id->count; k++)
        b[k].column = spec->entity_columns[k], b[k].value = id->values[k];
    char entity[2048];
    identity_render(spec, id, entity, sizeof entity);
    const char *label = n ? entity : NULL;
    if (a->gaps) {
        gap_ctx g = {a, label};
        return tst_table_gaps_cal(t, n ? b : NULL, n, start, end, a->cal, 0, add_gap, &g);
    }
    tst_coverage_counts c;
    int rc = tst_table_coverage_cal(t, n ? b : NULL, n, start, end, a->cal, &c);
    answer_row *r = rc == 0 ? answer_add(a, label) : NULL;
    if (rc == 0 && !r)
        rc = tst_fail(TST_ENOMEM, "out of memory answering coverage");
    if (rc == 0) {
        r->n[0] = c.covered_buckets, r->n[1] = c.total_buckets - c.covered_buckets;
        r->n[2] = c.total_buckets, r->n[3] = c.max_gap_buckets, r->ratio = c.ratio;
    }
    return rc;
}

/* Every identity the table has (one empty identity without entity columns). */
static int answer_all(tst_table *t, answer *a, const tst_index_value *start,
                      const tst_index_value *end)
{
    tst_coverage_summary *sum = NULL;
    int rc = tst_table_coverage_summary(t, &sum);
    for (size_t i = 0; rc == 0 && i < tst_coverage_summary_count(sum); i++)
        rc = answer_identity(t, a, &tst_coverage_summary_at(sum, i)->identity, start, end);
    tst_coverage_summary_free(sum);
    return rc;
}

static int answer_entity(tst_table *t, answer *a, duckdb_value v, const tst_index_value *start,
                         const tst_index_value *end)
{
    char text[2048];
    if (duckdb_is_null_value(v) || value_text(v, text, sizeof text) != 0)
        return tst_fail(TST_EINVAL, "the entity must not be NULL");
    char label[2048];
    snprintf(label, sizeof label, "%s", text);
    tst_entity_binding b[16];
    size_t n = 0;
    int rc = parse_entity(t, text, b, &n);
    if (rc != 0)
        return rc;
    gap_ctx g = {a, label};
    return tst_table_gaps_cal(t, b, n, start, end, a->cal, 0, add_gap, &g);
}

/* ---- DuckDB callbacks ----------------------------------------------------- */

static duckdb_logical_type index_logical_type(const tst_table *t)
{
    const tst_index_spec *spec = tst_table_index(t);
    if (spec->kind.type == TST_INDEX_INT64)
        return duckdb_create_logical_type(DUCKDB_TYPE_BIGINT);
    if (spec->kind.type == TST_INDEX_UINT64)
        return duckdb_create_logical_type(DUCKDB_TYPE_UBIGINT);
    const tst_schema *schema = tst_table_get_meta(t)->schema;
    bool zoned = false;
    for (size_t i = 0; schema && i < schema->column_count; i++)
        if (strcmp(schema->columns[i].name, spec->column) == 0)
            zoned = schema->columns[i].type.timezone != NULL;
    return duckdb_create_logical_type(zoned ? DUCKDB_TYPE_TIMESTAMP_TZ : DUCKDB_TYPE_TIMESTAMP);
}

static void add_column(duckdb_bind_info info, const char *name, duckdb_logical_type type)
{
    duckdb_bind_add_result_column(info, name, type);
    duckdb_destroy_logical_type(&type);
}

static void describe(duckdb_bind_info info, const answer *a, const tst_table *t)
{
    add_column(info, "entity", duckdb_create_logical_type(DUCKDB_TYPE_VARCHAR));
    if (a->diff) {
        add_column(info, "change", duckdb_create_logical_type(DUCKDB_TYPE_VARCHAR));
        add_column(info, "start", index_logical_type(t));
        add_column(info, "end", index_logical_type(t));
        add_column(info, "buckets", duckdb_create_logical_type(DUCKDB_TYPE_UBIGINT));
        return;
    }
    if (a->gaps) {
        add_column(info, "gap_start", index_logical_type(t));
        add_column(info, "gap_end", index_logical_type(t));
        add_column(info, "buckets", duckdb_create_logical_type(DUCKDB_TYPE_UBIGINT));
        return;
    }
    static const char *const names[] = {"covered_buckets", "missing_buckets", "total_buckets"};
    for (size_t i = 0; i < 3; i++)
        add_column(info, names[i], duckdb_create_logical_type(DUCKDB_TYPE_UBIGINT));
    add_column(info, "ratio", duckdb_create_logical_type(DUCKDB_TYPE_DOUBLE));
    add_column(info, "max_gap_buckets", duckdb_create_logical_type(DUCKDB_TYPE_UBIGINT));
}

/* The registered table a call names, refreshed. */
static int bound_table_at(duckdb_bind_info info, idx_t param, tst_table **out)
{
    tst_session *s = session_of(info);
    duckdb_value name = duckdb_bind_get_parameter(info, param);
    char text[256] = "";
    if (!duckdb_is_null_value(name))
        value_text(name, text, sizeof text);
    duckdb_destroy_value(&name);
    tst_registration *r = s ? tst_session_find(s, text) : NULL;
    if (s && !r && strchr(text, '@')) { /* 'trades@v12': a version (travel.c) */
        int rc = tst_session_travel_find(s, text, &r);
        if (rc != 0)
            return rc;
    }
    if (!r || !r->table)
        return tst_fail(TST_ENOTFOUND, "no tstable registered as '%s' in this session", text);
    int rc = tst_table_refresh(r->table, NULL);
    *out = r->table;
    return rc == 0 ? 0 : tst_fail_context(rc, "refreshing '%s'", text);
}

static int bound_table(duckdb_bind_info info, tst_table **out)
{
    return bound_table_at(info, 0, out);
}

/* tstable_coverage_diff(from, to): every change, whole index domain. */
static int bind_diff(duckdb_bind_info info, answer *a, tst_table **table)
{
    tst_table *to = NULL;
    tst_range_list *list = NULL;
    int rc = bound_table(info, table);
    if (rc == 0)
        rc = bound_table_at(info, 1, &to);
    if (rc == 0)
        rc = tst_table_coverage_diff(&list, *table, to, NULL);
    a->index_type = rc == 0 ? tst_table_index(*table)->kind.type : TST_INDEX_TIMESTAMP;
    for (size_t i = 0; rc == 0 && i < tst_range_list_count(list); i++) {
        const tst_entity_range *c = tst_range_list_at(list, i);
        char entity[2048];
        identity_render(tst_table_index(*table), &c->identity, entity, sizeof entity);
        answer_row *r = answer_add(a, c->identity.count ? entity : NULL);
        if (!r) {
            rc = tst_fail(TST_ENOMEM, "out of memory listing coverage changes");
            break;
        }
        r->start = c->start, r->end = c->end, r->n[0] = c->buckets;
        r->n[1] = c->change == TST_RANGE_ADDED ? 1 : 2;
    }
    tst_range_list_free(list);
    return rc;
}

/* calendar := 'weekdays;tz=...' (tstable/calendar.h), NULL when absent. */
static int bound_calendar(duckdb_bind_info info, tst_calendar **out)
{
    duckdb_value v = duckdb_bind_get_named_parameter(info, "calendar");
    char *spec = v && !duckdb_is_null_value(v) ? duckdb_get_varchar(v) : NULL;
    int rc = spec ? tst_calendar_parse(out, spec) : 0;
    if (rc != 0)
        rc = tst_fail_context(rc, "calendar := '%s'", spec);
    duckdb_free(spec);
    if (v)
        duckdb_destroy_value(&v);
    return rc;
}

static int bind_answer_in(duckdb_bind_info info, answer *a, tst_table **table);

static int bind_answer(duckdb_bind_info info, answer *a, tst_table **table)
{
    if (a->diff)
        return bind_diff(info, a, table);
    tst_calendar *cal = NULL;
    int rc = bound_calendar(info, &cal);
    a->cal = cal;
    if (rc == 0)
        rc = bind_answer_in(info, a, table);
    a->cal = NULL;
    tst_calendar_free(cal);
    return rc;
}

static int bind_answer_in(duckdb_bind_info info, answer *a, tst_table **table)
{
    int rc = bound_table(info, table);
    tst_index_value start, end;
    duckdb_value sv = duckdb_bind_get_parameter(info, 1), ev = duckdb_bind_get_parameter(info, 2);
    const tst_index_spec *spec = rc == 0 ? tst_table_index(*table) : NULL;
    if (rc == 0)
        rc = read_bound(sv, spec, "start", &start);
    if (rc == 0)
        rc = read_bound(ev, spec, "end", &end);
    duckdb_destroy_value(&sv);
    duckdb_destroy_value(&ev);
    a->index_type = spec ? spec->kind.type : TST_INDEX_TIMESTAMP;
    duckdb_value entity = NULL;
    if (rc == 0 && a->gaps)
        entity = duckdb_bind_get_parameter(info, 3);
    if (rc == 0 && entity && !duckdb_is_null_value(entity))
        rc = answer_entity(*table, a, entity, &start, &end);
    else if (rc == 0)
        rc = answer_all(*table, a, &start, &end);
    if (entity)
        duckdb_destroy_value(&entity);
    return rc;
}

static void bind_common(duckdb_bind_info info, bool gaps, bool diff)
{
    answer *a = calloc(1, sizeof *a);
    tst_table *table = NULL;
    if (!a) {
        duckdb_bind_set_error(info, "out of memory");
        return;
    }
    a->gaps = gaps;
    a->diff = diff;
    int rc = bind_answer(info, a, &table);
    if (rc != 0) {
        duckdb_bind_set_error(info, tst_error_last()->message);
        answer_free(a);
        return;
    }
    describe(info, a, table);
    duckdb_bind_set_bind_data(info, a, answer_free);
}

static void coverage_bind(duckdb_bind_info info)
{
    bind_common(info, false, false);
}

static void gaps_bind(duckdb_bind_info info)
{
    bind_common(info, true, false);
}

static void diff_bind(duckdb_bind_info info)
{
    bind_common(info, false, true);
}

static void scan_init(duckdb_init_info info)
{
    answer *a = duckdb_init_get_bind_data(info);
    a->next = 0;
}

static int64_t micros_of(const tst_index_value *v)
{
    return v->v.ts.sec * 1000000 + v->v.ts.nsec / 1000;
}

static void put_index(duckdb_vector vec, idx_t row, const tst_index_value *v)
{
    if (v->type == TST_INDEX_TIMESTAMP)
        ((int64_t *)duckdb_vector_get_data(vec))[row] = micros_of(v);
    else if (v->type == TST_INDEX_INT64)
        ((int64_t *)duckdb_vector_get_data(vec))[row] = v->v.i64;
    else
        ((uint64_t *)duckdb_vector_get_data(vec))[row] = v->v.u64;
}

static void put_row(duckdb_data_chunk out, const answer *a, const answer_row *r, idx_t row)
{
    duckdb_vector entity = duckdb_data_chunk_get_vector(out, 0);
    if (r->entity) {
        duckdb_vector_assign_string_element(entity, row, r->entity);
    } else {
        duckdb_vector_ensure_validity_writable(entity);
        duckdb_validity_set_row_invalid(duckdb_vector_get_validity(entity), row);
    }
    if (a->diff) {
        duckdb_vector_assign_string_element(duckdb_data_chunk_get_vector(out, 1), row,
                                            r->n[1] == 1 ? "added" : "removed");
        put_index(duckdb_data_chunk_get_vector(out, 2), row, &r->start);
        put_index(duckdb_data_chunk_get_vector(out, 3), row, &r->end);
        ((uint64_t *)duckdb_vector_get_data(duckdb_data_chunk_get_vector(out, 4)))[row] = r->n[0];
        return;
    }
    if (a->gaps) {
        put_index(duckdb_data_chunk_get_vector(out, 1), row, &r->start);
        put_index(duckdb_data_chunk_get_vector(out, 2), row, &r->end);
        ((uint64_t *)duckdb_vector_get_data(duckdb_data_chunk_get_vector(out, 3)))[row] = r->n[0];
        return;
    }
    for (idx_t c = 0; c < 3; c++)
        ((uint64_t *)duckdb_vector_get_data(duckdb_data_chunk_get_vector(out, c + 1)))[row] =
            r->n[c];
    ((double *)duckdb_vector_get_data(duckdb_data_chunk_get_vector(out, 4)))[row] = r->ratio;
    ((uint64_t *)duckdb_vector_get_data(duckdb_data_chunk_get_vector(out, 5)))[row] = r->n[3];
}

static void scan_rows(duckdb_function_info info, duckdb_data_chunk out)
{
    answer *a = duckdb_function_get_bind_data(info);
    idx_t n = 0, cap = duckdb_vector_size();
    for (; n < cap && a->next < a->count; n++, a->next++)
        put_row(out, a, &a->rows[a->next], n);
    duckdb_data_chunk_set_size(out, n);
}

/* ---- registration --------------------------------------------------------- */

static int register_one(duckdb_connection con, const char *name, bool gaps)
{
    duckdb_table_function tf = duckdb_create_table_function();
    duckdb_table_function_set_name(tf, name);
    duckdb_logical_type varchar = duckdb_create_logical_type(DUCKDB_TYPE_VARCHAR);
    duckdb_logical_type any = duckdb_create_logical_type(DUCKDB_TYPE_ANY);
    duckdb_table_function_add_parameter(tf, varchar);
    duckdb_table_function_add_parameter(tf, any);
    duckdb_table_function_add_parameter(tf, any);
    if (gaps)
        duckdb_table_function_add_parameter(tf, varchar);
    duckdb_table_function_add_named_parameter(tf, "calendar", varchar);
    duckdb_destroy_logical_type(&varchar);
    duckdb_destroy_logical_type(&any);
    duckdb_table_function_set_bind(tf, gaps ? gaps_bind : coverage_bind);
    duckdb_table_function_set_init(tf, scan_init);
    duckdb_table_function_set_function(tf, scan_rows);
    duckdb_state st = duckdb_register_table_function(con, tf);
    duckdb_destroy_table_function(&tf);
    return st == DuckDBSuccess ? 0
                               : tst_fail(TST_ESQL, "registering the SQL function %s failed", name);
}

/*
 * C table functions cannot be overloaded (a second registration of a name
 * fails) nor take optional arguments, so the gaps function is registered
 * with its entity always present (NULL: every entity), and each session
 * defines tstable_gaps as a TEMP table macro over it whose entity defaults
 * to NULL.
 */
static int register_diff(duckdb_connection con)
{
    duckdb_table_function tf = duckdb_create_table_function();
    duckdb_table_function_set_name(tf, "tstable_coverage_diff");
    duckdb_logical_type varchar = duckdb_create_logical_type(DUCKDB_TYPE_VARCHAR);
    duckdb_table_function_add_parameter(tf, varchar);
    duckdb_table_function_add_parameter(tf, varchar);
    duckdb_destroy_logical_type(&varchar);
    duckdb_table_function_set_bind(tf, diff_bind);
    duckdb_table_function_set_init(tf, scan_init);
    duckdb_table_function_set_function(tf, scan_rows);
    duckdb_state st = duckdb_register_table_function(con, tf);
    duckdb_destroy_table_function(&tf);
    return st == DuckDBSuccess ? 0
                               : tst_fail(TST_ESQL, "registering tstable_coverage_diff failed");
}

static int register_functions(duckdb_connection con)
{
    int rc = register_one(con, "tstable_coverage", false);
    if (rc == 0)
        rc = register_one(con, GAPS_FUNCTION, true);
    if (rc == 0)
        rc = register_diff(con);
    if (rc == 0)
        rc = tst_sqlfn_register_freshness(con); /* freshness_functions.c */
    return rc == 0 ? tst_sqlfn_register_datafusion(con) : rc; /* datafusion_functions.c */
}

static int define_gaps_macro(duckdb_connection con)
{
    return tst_duck_query(con,
                          "CREATE OR REPLACE TEMP MACRO tstable_gaps(t, s, e, entity := NULL, "
                          "calendar := NULL) AS TABLE SELECT * FROM " GAPS_FUNCTION
                          "(t, s, e, entity, calendar := calendar)",
                          NULL, "defining tstable_gaps");
}

int tst_session_register_functions(tst_session *s)
{
    int rc = 0;
    pthread_mutex_lock(&registry_lock);
    if (!functions_registered) {
        rc = register_functions(s->con);
        functions_registered = rc == 0;
    }
    if (rc == 0)
        rc = define_gaps_macro(s->con);
    if (rc == 0 && session_count == session_cap) {
        size_t cap = session_cap ? session_cap * 2 : 8;
        tst_session **grown = realloc(sessions, cap * sizeof *grown);
        if (grown)
            sessions = grown, session_cap = cap;
        else
            rc = tst_fail(TST_ENOMEM, "out of memory opening a SQL session");
    }
    if (rc == 0)
        sessions[session_count++] = s;
    pthread_mutex_unlock(&registry_lock);
    return rc;
}

void tst_session_unregister_functions(tst_session *s)
{
    pthread_mutex_lock(&registry_lock);
    for (size_t i = 0; i < session_count; i++) {
        if (sessions[i] == s) {
            sessions[i] = sessions[--session_count];
            break;
        }
    }
    pthread_mutex_unlock(&registry_lock);
}

/* ---- shared with freshness_functions.c (session_internal.h) --------------- */

int tst_sqlfn_table(duckdb_bind_info info, idx_t param, tst_table **out)
{
    return bound_table_at(info, param, out);
}

int tst_sqlfn_index_value(duckdb_value v, const tst_index_spec *spec, const char *which,
                          tst_index_value *out)
{
    return read_bound(v, spec, which, out);
}

int tst_sqlfn_entity(const tst_table *t, char *text, tst_entity_binding *b, size_t *n)
{
    return parse_entity(t, text, b, n);
}
