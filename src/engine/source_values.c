/*
 * source_values.c — the two questions about a source's values that its
 * schema cannot answer, asked before anything is written (see
 * source_values.h).
 *
 * The append rules (append_schema.c) accept a nullable source column into
 * a non-nullable table column only when it holds no null, and a finer
 * timestamp into a coarser one only when every value is a whole number of
 * the coarser unit. Both are answered by DuckDB over the source relation,
 * reading one column. A Parquet file's footer can answer the first alone:
 * when every row group of the column carries a null count, their sum is
 * the answer and no page is read.
 */
#include "source_values.h"

#include "duck.h"
#include "fail.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int one_row(duckdb_connection con, tst_sql *t, const char *what, duckdb_result *res)
{
    int rc = tst_duck_query(con, t->s, res, what);
    free(t->s);
    t->s = NULL;
    if (rc == 0 && duckdb_row_count(res) != 1) {
        duckdb_destroy_result(res);
        rc = tst_fail(TST_ESQL, "%s: expected one result row", what);
    }
    return rc;
}

static uint64_t cell_u64(duckdb_result *res, idx_t col)
{
    return duckdb_value_is_null(res, col, 0) ? 0 : (uint64_t)duckdb_value_int64(res, col, 0);
}

/* Sums the footer's null counts; *known false when a row group lacks one. */
static int nulls_from_footer(duckdb_connection con, const tst_source *src, const char *column,
                             uint64_t *out, bool *known)
{
    tst_sql t = {0};
    duckdb_result res;
    *known = false;
    int rc = SQL_F(&t, "SELECT count(*), count(stats_null_count), sum(stats_null_count) "
                       "FROM parquet_metadata(");
    if (rc == 0)
        rc = SQL_LIT(&t, src->path);
    if (rc == 0)
        rc = SQL_F(&t, ") WHERE path_in_schema = ");
    if (rc == 0)
        rc = SQL_LIT(&t, column);
    if (rc == 0)
        rc = one_row(con, &t, "reading null counts from a Parquet footer", &res);
    free(t.s);
    if (rc != 0)
        return rc;
    uint64_t groups = cell_u64(&res, 0), with_stats = cell_u64(&res, 1);
    *known = groups > 0 && groups == with_stats;
    *out = cell_u64(&res, 2);
    duckdb_destroy_result(&res);
    return 0;
}

static int nulls_from_rows(duckdb_connection con, const tst_source *src, const char *column,
                           uint64_t *out)
{
    tst_sql t = {0};
    duckdb_result res;
    int rc = SQL_F(&t, "SELECT count(*) - count(");
    if (rc == 0)
        rc = SQL_IDENT(&t, column);
    if (rc == 0)
        rc = SQL_F(&t, ") FROM %s", src->relation_sql);
    if (rc == 0)
        rc = one_row(con, &t, "counting the nulls of a source column", &res);
    free(t.s);
    if (rc != 0)
        return rc;
    *out = cell_u64(&res, 0);
    duckdb_destroy_result(&res);
    return 0;
}

int tst_source_null_count(const tst_source *src, const char *column, bool nested,
                          uint64_t *out)
{
    duckdb_connection con = NULL;
    bool known = false;
    *out = 0;
    int rc = tst_duck_connect(&con);
    /* A nested column's leaves count their own nulls, not the column's. */
    if (rc == 0 && src->is_parquet && !nested)
        rc = nulls_from_footer(con, src, column, out, &known);
    if (rc == 0 && !known)
        rc = nulls_from_rows(con, src, column, out);
    tst_duck_disconnect(&con);
    if (rc != 0)
        tst_fail_context(rc, "checking column '%s' of %s for nulls", column, src->path);
    return rc;
}

/* Units per second of each precision, and the epoch function exact in it. */
static const struct {
    uint64_t per_second;
    const char *epoch;
} UNITS[] = {
    [TST_PRECISION_MILLIS] = {1000, "epoch_ms"},
    [TST_PRECISION_MICROS] = {1000000, "epoch_us"},
    [TST_PRECISION_NANOS] = {1000000000, "epoch_ns"},
};

int tst_source_inexact_count(const tst_source *src, const char *column, tst_time_precision from,
                             tst_time_precision to, uint64_t *count, char *first, size_t cap)
{
    if (from < TST_PRECISION_MILLIS || from > TST_PRECISION_NANOS || to < TST_PRECISION_MILLIS ||
        to >= from)
        return tst_fail(TST_EINVAL, "no narrowing from timestamp unit %d to %d", (int)from,
                        (int)to);
    uint64_t step = UNITS[from].per_second / UNITS[to].per_second;
    tst_sql t = {0};
    duckdb_result res;
    duckdb_connection con = NULL;
    /* A zoned nanosecond column is read exactly: see read_nanos_exactly in source.c */
    int rc = SQL_F(&t, "SELECT count(*), min(c)::VARCHAR FROM (SELECT ");
    if (rc == 0)
        rc = SQL_IDENT(&t, column);
    if (rc == 0)
        rc = SQL_F(&t, " AS c FROM %s) WHERE %s(c) %% %llu <> 0", src->relation_sql,
                   UNITS[from].epoch, (unsigned long long)step);
    if (rc == 0)
        rc = tst_duck_connect(&con);
    /* Zoned values print as instants in UTC. */
    if (rc == 0)
        rc = tst_duck_query(con, "SET SESSION TimeZone = 'UTC'", NULL, "pinning the time zone");
    if (rc == 0)
        rc = one_row(con, &t, "checking that timestamps fit a coarser unit", &res);
    free(t.s);
    tst_duck_disconnect(&con);
    if (rc != 0)
        return tst_fail_context(rc, "checking column '%s' of %s", column, src->path);
    *count = cell_u64(&res, 0);
    char *v = duckdb_value_is_null(&res, 1, 0) ? NULL : duckdb_value_varchar(&res, 1, 0);
    snprintf(first, cap, "%s", v ? v : "");
    duckdb_free(v);
    duckdb_destroy_result(&res);
    return 0;
}
