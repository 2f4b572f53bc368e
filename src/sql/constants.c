/*
 * constants.c — constant expressions evaluated by DuckDB for the pruner
 * (see constants.h).
 *
 * Why DuckDB and not a parser of our own: what '2024-06-10 18:00:00' means
 * next to a TIMESTAMPTZ column depends on the session's TimeZone (and its
 * DST rules, and ICU's calendar), and texts may carry zone names. Asking the
 * session itself gives exactly the value the statement will compare with.
 *
 * Why one batch: a statement may hold several constants and each query
 * costs a parse and a bind. The pruner walks the statement once to record
 * the expressions, this module runs
 *
 *   SELECT current_setting('TimeZone'), TRY(e1), TRY(e2), ...
 *
 * and the pruner walks again reading the values. TRY turns a text DuckDB
 * cannot cast into NULL (no bound: the statement will report the error
 * itself). An expression DuckDB refuses to bind fails the whole batch; then
 * each is evaluated alone.
 */
#include "constants.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

static tst_constant *find(tst_constants *k, const char *expr)
{
    for (size_t i = 0; i < k->count; i++)
        if (strcmp(k->items[i].sql, expr) == 0)
            return &k->items[i];
    return NULL;
}

/* Out of memory only loses a bound (the statement is pruned less). */
static void record(tst_constants *k, const char *expr)
{
    char *sql = strdup(expr);
    if (!sql)
        return;
    if (k->count == k->cap) {
        size_t cap = k->cap ? k->cap * 2 : 8;
        tst_constant *items = realloc(k->items, cap * sizeof *items);
        if (!items) {
            free(sql);
            return;
        }
        k->items = items, k->cap = cap;
    }
    k->items[k->count++] = (tst_constant){sql, false, 0};
}

bool tst_constants_get(tst_constants *k, const char *expr, int64_t *out)
{
    tst_constant *c = find(k, expr);
    if (!k->evaluated) {
        if (!c)
            record(k, expr);
        return false;
    }
    if (c && c->ok)
        *out = c->value;
    return c && c->ok;
}

static void note_zone(tst_constants *k, const char *zone)
{
    static const char *const utc[] = {"UTC", "Etc/UTC", "GMT", "Etc/GMT", "UCT", "Etc/UCT",
                                      "Universal", "Etc/Universal", "Zulu", "Etc/Zulu"};
    k->zone_read = true;
    for (size_t i = 0; zone && i < sizeof utc / sizeof utc[0]; i++)
        if (strcasecmp(zone, utc[i]) == 0)
            k->zone_utc = true;
}

bool tst_constants_zone_is_utc(tst_constants *k)
{
    if (k->zone_read)
        return k->zone_utc;
    duckdb_result res;
    if (duckdb_query(k->con, "SELECT current_setting('TimeZone')", &res) == DuckDBSuccess) {
        char *zone = duckdb_value_varchar(&res, 0, 0);
        note_zone(k, zone);
        duckdb_free(zone);
    }
    duckdb_destroy_result(&res);
    k->zone_read = true;
    return k->zone_utc;
}

/* Row 0 of a BIGINT vector, or false for NULL. */
static bool bigint_at(duckdb_data_chunk chunk, idx_t col, int64_t *out)
{
    duckdb_vector vec = duckdb_data_chunk_get_vector(chunk, col);
    uint64_t *valid = duckdb_vector_get_validity(vec);
    if (valid && !duckdb_validity_row_is_valid(valid, 0))
        return false;
    *out = ((int64_t *)duckdb_vector_get_data(vec))[0];
    return true;
}

/* Runs `sql`; true when its one row arrived with the expected columns (the
 * TimeZone first when `zone`, then BIGINTs), stored in `one` or, when NULL,
 * in the recorded constants in order. */
static bool run_row(tst_constants *k, const char *sql, bool zone, size_t bigints, tst_constant *one)
{
    duckdb_result res;
    bool done = false;
    if (duckdb_query(k->con, sql, &res) == DuckDBSuccess) {
        idx_t first = zone ? 1 : 0;
        bool shaped = duckdb_column_count(&res) == first + bigints &&
                      (!zone || duckdb_column_type(&res, 0) == DUCKDB_TYPE_VARCHAR);
        for (idx_t i = first; shaped && i < first + bigints; i++)
            shaped = duckdb_column_type(&res, i) == DUCKDB_TYPE_BIGINT;
        duckdb_data_chunk chunk = shaped ? duckdb_fetch_chunk(res) : NULL;
        if (chunk && duckdb_data_chunk_get_size(chunk) == 1) {
            if (zone) {
                duckdb_string_t *z = duckdb_vector_get_data(duckdb_data_chunk_get_vector(chunk, 0));
                char name[64];
                snprintf(name, sizeof name, "%.*s", (int)duckdb_string_t_length(z[0]),
                         duckdb_string_t_data(&z[0]));
                note_zone(k, name);
            }
            tst_constant *items = one ? one : k->items;
            for (size_t i = 0; i < bigints; i++)
                items[i].ok = bigint_at(chunk, first + i, &items[i].value);
            done = true;
        }
        if (chunk)
            duckdb_destroy_data_chunk(&chunk);
    }
    duckdb_destroy_result(&res);
    return done;
}

void tst_constants_evaluate(tst_constants *k)
{
    tst_sql q = {0};
    int rc = SQL_F(&q, "SELECT current_setting('TimeZone')");
    for (size_t i = 0; rc == 0 && i < k->count; i++)
        rc = SQL_F(&q, ", TRY(%s)", k->items[i].sql);
    bool done = rc == 0 && run_row(k, q.s, true, k->count, NULL);
    free(q.s);
    for (size_t i = 0; !done && i < k->count; i++) { /* one at a time */
        tst_sql one = {0};
        if (SQL_F(&one, "SELECT %s", k->items[i].sql) != 0 ||
            !run_row(k, one.s, false, 1, &k->items[i]))
            k->items[i].ok = false;
        free(one.s);
    }
    k->evaluated = true;
}

void tst_constants_free(tst_constants *k)
{
    for (size_t i = 0; k && i < k->count; i++)
        free(k->items[i].sql);
    if (k)
        free(k->items);
}
