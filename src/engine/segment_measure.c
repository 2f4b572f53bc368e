/*
 * segment_measure.c — what a segment's metadata and coverage need from its
 * rows: counts, the exact index min/max, and bucket coverage (format §1.10,
 * §1.12).
 *
 * The workload is an append: a relation of up to hundreds of millions of
 * rows, of which only the index and entity columns matter. The measure is
 * one streaming pass (measure_stream): DuckDB reads those columns, cast as
 * the writer casts them, and hands them over chunk by chunk from a
 * streaming result (its scan runs in parallel and holds a few chunks, so
 * memory does not grow with the file); C computes each row's bucket with
 * the floor divisions below and adds runs of touching buckets of one
 * identity to its Roaring bitmap, counting rows, nulls, infinities and
 * min/max on the way. No GROUP BY, no sort: the pass costs about what
 * reading the two columns costs.
 *
 * The errors that name a row keep the exact messages of the SQL measure
 * this replaced (issue 14): the pass only detects them (an identity whose
 * bitmap stayed empty has no index value; for protocol 7, fewer covered
 * (entity, bucket) pairs than indexed rows means two rows share an
 * interval — the interval IS the bucket), and then the SQL statements 2 and
 * 4 below read the source again to name the first such identity or pair
 * in their order. A rejected append pays for that; an accepted one never.
 *
 * The older all-SQL measure (measure_with) stays as the model the tests
 * compare against (tst_measure_relation_sql; test_measure_stream.c). Its
 * statements, each reading only the index and entity columns:
 *   1. totals: rows, non-null index values, min/max, nulls per entity column;
 *   2. only when some index value is null and there are entity columns:
 *      identities whose every index value is null (an error, §3 step 6);
 *   3. the runs ("gaps and islands": within one identity, ordinal minus its
 *      rank is constant along a run), streamed chunk by chunk into the
 *      coverage;
 *   4. protocol 7: the first (entity, interval) holding two or more rows.
 *
 * Exactness rules both follow (checked against DuckDB 1.4.4; the C side's
 * floor_div is the same floor division, and an int64 width beyond
 * INT64_MAX the same two buckets):
 *   - DuckDB's integer `//` truncates toward zero and `%` takes the sign of
 *     the dividend ((-7) // 2 = -3, (-7) % 2 = -1), so floor division is
 *     spelled out as a // b - (a % b < 0 ? 1 : 0), which cannot overflow.
 *     It stays in BIGINT (HUGEINT was 18x slower on a 20M-row month):
 *     timestamps divide twice, by units per second then by bucket seconds
 *     (both < 2^63); an int64 width beyond INT64_MAX leaves two buckets,
 *     -1 and 0.
 *   - epoch_ms/epoch_us/epoch_ns truncate toward zero when they drop digits
 *     (epoch_ms of 1969-12-31 23:59:59.9995 is 0), so the index is first
 *     cast to the schema's own unit, where the epoch function is exact.
 *     That cast is the writer's cast (segment_write.c), so what is measured
 *     is what gets written. (Narrowing casts are DuckDB's and not floors:
 *     TIMESTAMP to TIMESTAMP_MS rounds to nearest, TIMESTAMP_NS to
 *     TIMESTAMP truncates; the append rules let a finer unit into a coarser
 *     column only when every value is whole in it, so neither ever moves a
 *     value: source_values.c checks that first.)
 *   - Casts between TIMESTAMP and TIMESTAMPTZ go through the session time
 *     zone; the connection pins it to UTC so they keep the instant.
 */
#include "segment.h"

#include "cancel.h"
#include "duck.h"
#include "fail.h"
#include "model.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* A growing SQL statement (see duck.h for the appenders). */

/* What the SQL needs to know about the table, resolved once. */
typedef struct measure_plan {
    const tst_index_spec *spec;
    const tst_field *index;     /* the index column's schema field */
    tst_entity_type *entity;    /* per entity column: its identity component type */
    const char *relation;
    bool index_via_timestamp;   /* a TIMESTAMPTZ index cast to ms or ns */
} measure_plan;

/* ------------------------------------------------------------------------ */
/* Resolving the spec against the schema                                     */

static int entity_type_of(const tst_field *f, tst_entity_type *out)
{
    *out = tst_entity_type_of(&f->type);
    if (*out)
        return 0;
    return tst_fail(TST_ESCHEMA, "entity column '%s' must be utf8, int32, int64 or uint64 to "
                    "identify an entity", f->name);
}

static int check_index_field(const tst_index_spec *spec, const tst_field *f)
{
    static const tst_type_kind wanted[] = {
        [TST_INDEX_TIMESTAMP] = TST_TYPE_TIMESTAMP,
        [TST_INDEX_INT64] = TST_TYPE_INT64,
        [TST_INDEX_UINT64] = TST_TYPE_UINT64,
    };
    static const char *const names[] = {
        [TST_INDEX_TIMESTAMP] = "timestamp",
        [TST_INDEX_INT64] = "int64",
        [TST_INDEX_UINT64] = "uint64",
    };
    tst_index_type t = spec->kind.type;
    if (t < TST_INDEX_TIMESTAMP || t > TST_INDEX_UINT64)
        return tst_fail(TST_EINVAL, "index spec has an unknown index type %d", (int)t);
    if (f->type.kind != wanted[t])
        return tst_fail(TST_ESCHEMA, "index column '%s' must be a %s column for this table",
                        f->name, names[t]);
    if (t == TST_INDEX_TIMESTAMP && spec->kind.bucket.count == 0)
        return tst_fail(TST_EINVAL, "index spec has a zero-width time bucket");
    if (t != TST_INDEX_TIMESTAMP && spec->kind.bucket_width == 0)
        return tst_fail(TST_EINVAL, "index spec has a zero bucket width");
    return 0;
}

static int plan_resolve(measure_plan *p, const char *relation, const tst_index_spec *spec,
                        const tst_schema *schema)
{
    memset(p, 0, sizeof *p);
    p->spec = spec;
    p->relation = relation;
    p->index = tst_schema_find(schema, spec->column);
    if (!p->index)
        return tst_fail(TST_ESCHEMA, "index column '%s' is not in the schema", spec->column);
    int rc = check_index_field(spec, p->index);
    if (rc != 0 || spec->entity_count == 0)
        return rc;
    p->entity = calloc(spec->entity_count, sizeof *p->entity);
    if (!p->entity)
        return tst_fail(TST_ENOMEM, "out of memory measuring %s", relation);
    for (size_t i = 0; rc == 0 && i < spec->entity_count; i++) {
        const tst_field *f = tst_schema_find(schema, spec->entity_columns[i]);
        if (!f)
            rc = tst_fail(TST_ESCHEMA, "entity column '%s' is not in the schema",
                          spec->entity_columns[i]);
        else
            rc = entity_type_of(f, &p->entity[i]);
    }
    return rc;
}

/* Pins the session zone to UTC and decides how the index is cast. */
static int measure_prepare(duckdb_connection con, measure_plan *p)
{
    int rc = tst_duck_query(con, "SET SESSION TimeZone = 'UTC'", NULL, "pinning the time zone");
    bool tstz = false;
    if (rc == 0 && p->spec->kind.type == TST_INDEX_TIMESTAMP &&
        p->index->type.unit != TST_PRECISION_MICROS)
        rc = tst_duck_column_is_tstz(con, p->relation, p->spec->column, &tstz);
    /* DuckDB casts nothing finer than TIMESTAMP to TIMESTAMP_MS directly (a
     * zoned ns source is read as TIMESTAMP_NS, see source.c) */
    p->index_via_timestamp = tstz || (p->spec->kind.type == TST_INDEX_TIMESTAMP &&
                                      p->index->type.unit == TST_PRECISION_MILLIS);
    return rc;
}

/* ------------------------------------------------------------------------ */
/* SQL fragments                                                             */

/* Index units per second for a timestamp column. */
static uint64_t units_per_second(tst_time_precision unit)
{
    return unit == TST_PRECISION_MILLIS ? UINT64_C(1000)
         : unit == TST_PRECISION_MICROS ? UINT64_C(1000000)
                                        : UINT64_C(1000000000);
}

static const char *timestamp_sql_type(tst_time_precision unit)
{
    return unit == TST_PRECISION_MILLIS ? "TIMESTAMP_MS"
         : unit == TST_PRECISION_MICROS ? "TIMESTAMP"
                                        : "TIMESTAMP_NS";
}

static const char *entity_sql_type(tst_entity_type t)
{
    return t == TST_ENTITY_UTF8 ? "VARCHAR"
         : t == TST_ENTITY_INT32 ? "INTEGER"
         : t == TST_ENTITY_INT64 ? "BIGINT"
                                 : "UBIGINT";
}

/* "CAST(<col> AS <type>) AS <alias>" */
static int sql_cast(tst_sql *t, const char *column, const char *type, const char *alias,
                    bool via_timestamp)
{
    int rc = SQL_F(t, via_timestamp ? "CAST(CAST(" : "CAST(");
    if (rc == 0)
        rc = SQL_IDENT(t, column);
    if (rc == 0)
        rc = SQL_F(t, "%s AS %s) AS %s", via_timestamp ? " AS TIMESTAMP)" : "", type, alias);
    return rc;
}

/*
 * The rows as the measurement sees them: i = the index in its schema type,
 * v = the index as an integer in index units (BIGINT, or UBIGINT for
 * uint64), e0.. = the entity columns in their schema types.
 */
/* The index's type in SQL: its schema type for timestamps, else BIGINT or UBIGINT. */
static const char *index_sql_type(const measure_plan *p)
{
    return p->spec->kind.type == TST_INDEX_INT64       ? "BIGINT"
           : p->spec->kind.type == TST_INDEX_TIMESTAMP ? timestamp_sql_type(p->index->type.unit)
                                                       : "UBIGINT";
}

/* "<index cast> AS i, <entity casts> AS e0.. FROM <relation>": the columns
 * both measures read, cast as the schema says. */
static int sql_cast_columns(tst_sql *t, const measure_plan *p)
{
    int rc = sql_cast(t, p->spec->column, index_sql_type(p), "i", p->index_via_timestamp);
    for (size_t k = 0; rc == 0 && k < p->spec->entity_count; k++) {
        char alias[32];
        snprintf(alias, sizeof alias, "e%zu", k);
        rc = SQL_F(t, ", ");
        if (rc == 0)
            rc = sql_cast(t, p->spec->entity_columns[k], entity_sql_type(p->entity[k]), alias,
                          false);
    }
    return rc == 0 ? SQL_F(t, " FROM %s", p->relation) : rc;
}

static int sql_base(tst_sql *t, const measure_plan *p)
{
    const char *v = "i";
    if (p->spec->kind.type == TST_INDEX_TIMESTAMP) {
        tst_time_precision u = p->index->type.unit;
        v = u == TST_PRECISION_MILLIS ? "epoch_ms(i)"
          : u == TST_PRECISION_MICROS ? "epoch_us(i)"
                                      : "epoch_ns(i)";
    }
    int rc = SQL_F(t, "(SELECT i, %s AS v", v);
    for (size_t k = 0; rc == 0 && k < p->spec->entity_count; k++)
        rc = SQL_F(t, ", e%zu", k);
    if (rc == 0)
        rc = SQL_F(t, " FROM (SELECT ");
    if (rc == 0)
        rc = sql_cast_columns(t, p);
    return rc == 0 ? SQL_F(t, "))") : rc;
}

/* "e0, e1, " (with the trailing separator), or "" without entity columns. */
static int sql_entity_list(tst_sql *t, const measure_plan *p)
{
    int rc = 0;
    for (size_t k = 0; rc == 0 && k < p->spec->entity_count; k++)
        rc = SQL_F(t, "e%zu, ", k);
    return rc;
}

/* floor(x / w) for BIGINT x and 1 <= w <= INT64_MAX, without overflow:
 * DuckDB's // truncates toward zero, so step down when the remainder is
 * negative. 64-bit throughout: HUGEINT arithmetic was 18x slower here. */
static int sql_floor_div(tst_sql *t, const char *x, uint64_t w)
{
    return SQL_F(t, "CAST(%s // %" PRIu64 " - CASE WHEN %s %% %" PRIu64 " < 0 THEN 1 ELSE 0 END "
                    "AS BIGINT)", x, w, x, w);
}

/*
 * The bucket ordinal of v, as floor division (see the top of the file).
 * Timestamps: floor(v / (units_per_second * bucket_seconds)), which equals
 * floor(floor(v / units_per_second) / bucket_seconds) for positive divisors.
 */
static int sql_ordinal(tst_sql *t, const measure_plan *p)
{
    const tst_index_kind *kind = &p->spec->kind;
    if (kind->type == TST_INDEX_UINT64)
        return SQL_F(t, "v // CAST(%" PRIu64 " AS UBIGINT)", kind->bucket_width);
    if (kind->type == TST_INDEX_INT64) {
        if (kind->bucket_width > (uint64_t)INT64_MAX) /* one bucket each side of zero */
            return SQL_F(t, "CAST(CASE WHEN v < 0 THEN -1 ELSE 0 END AS BIGINT)");
        return sql_floor_div(t, "v", kind->bucket_width);
    }
    /* Timestamps: whole seconds first (floored), then buckets of seconds. */
    tst_sql secs = {NULL, 0, 0};
    int rc = sql_floor_div(&secs, "v", units_per_second(p->index->type.unit));
    if (rc == 0)
        rc = sql_floor_div(t, secs.s, tst_time_bucket_seconds(kind->bucket));
    free(secs.s);
    return rc;
}

/* ------------------------------------------------------------------------ */
/* Reading result chunks                                                     */

static bool cell_valid(duckdb_vector vec, idx_t row)
{
    uint64_t *validity = duckdb_vector_get_validity(vec);
    return !validity || duckdb_validity_row_is_valid(validity, row);
}

/* An 8-byte integer cell (BIGINT or UBIGINT) as its bits; false when null. */
static bool cell_u64(duckdb_data_chunk chunk, idx_t col, idx_t row, uint64_t *out)
{
    duckdb_vector vec = duckdb_data_chunk_get_vector(chunk, col);
    if (!cell_valid(vec, row))
        return false;
    *out = ((const uint64_t *)duckdb_vector_get_data(vec))[row];
    return true;
}

/* Runs a statement whose result is one row; *out_chunk holds it. */
static int query_one_row(duckdb_connection con, const char *sql, const char *what,
                         duckdb_result *res, duckdb_data_chunk *out_chunk)
{
    int rc = tst_duck_query(con, sql, res, what);
    if (rc != 0)
        return rc;
    *out_chunk = duckdb_fetch_chunk(*res);
    if (!*out_chunk || duckdb_data_chunk_get_size(*out_chunk) != 1) {
        if (*out_chunk)
            duckdb_destroy_data_chunk(out_chunk);
        duckdb_destroy_result(res);
        return tst_fail(TST_ESQL, "%s: expected one result row", what);
    }
    return 0;
}

/* ------------------------------------------------------------------------ */
/* 1. Totals                                                                 */

typedef struct totals {
    uint64_t rows, indexed, epoch_valid, infinite;
    uint64_t min, max; /* bits of v */
    uint64_t *entity_nulls;
} totals;

static int totals_sql(tst_sql *t, const measure_plan *p)
{
    bool ts = p->spec->kind.type == TST_INDEX_TIMESTAMP;
    int rc = SQL_F(t, "SELECT count(*), count(i), count(v), %s, min(v), max(v)",
                   ts ? "count(*) FILTER (WHERE isinf(i))" : "0::BIGINT");
    for (size_t k = 0; rc == 0 && k < p->spec->entity_count; k++)
        rc = SQL_F(t, ", count(*) - count(e%zu)", k);
    if (rc == 0)
        rc = SQL_F(t, " FROM ");
    if (rc == 0)
        rc = sql_base(t, p);
    return rc;
}

static int totals_read(duckdb_connection con, const measure_plan *p, totals *out)
{
    tst_sql t = {0};
    int rc = totals_sql(&t, p);
    duckdb_result res;
    duckdb_data_chunk chunk = NULL;
    if (rc == 0)
        rc = query_one_row(con, t.s, "measuring the index and entity columns", &res, &chunk);
    free(t.s);
    if (rc != 0)
        return rc;
    cell_u64(chunk, 0, 0, &out->rows);
    cell_u64(chunk, 1, 0, &out->indexed);
    cell_u64(chunk, 2, 0, &out->epoch_valid);
    cell_u64(chunk, 3, 0, &out->infinite);
    cell_u64(chunk, 4, 0, &out->min);
    cell_u64(chunk, 5, 0, &out->max);
    for (size_t k = 0; k < p->spec->entity_count; k++)
        cell_u64(chunk, 6 + k, 0, &out->entity_nulls[k]);
    duckdb_destroy_data_chunk(&chunk);
    duckdb_destroy_result(&res);
    return 0;
}

/* The errors the totals alone decide, in the order the header lists them. */
static int totals_check(const measure_plan *p, const totals *s)
{
    for (size_t k = 0; k < p->spec->entity_count; k++)
        if (s->entity_nulls[k] > 0)
            return tst_fail(TST_ESCHEMA,
                            "entity column '%s' has null values (%" PRIu64 " of %" PRIu64
                            " rows); every row needs a complete entity identity",
                            p->spec->entity_columns[k], s->entity_nulls[k], s->rows);
    if (s->infinite > 0)
        return tst_fail(TST_EUNSUPPORTED,
                        "index column '%s' holds %" PRIu64 " infinite timestamps, which have no "
                        "bucket", p->spec->column, s->infinite);
    if (s->indexed == 0)
        return tst_fail(TST_EEMPTY, "no non-null index values in column '%s' (%" PRIu64
                        " rows)", p->spec->column, s->rows);
    if (s->epoch_valid != s->indexed)
        return tst_fail(TST_ESQL, "index column '%s': %" PRIu64 " values have no epoch value",
                        p->spec->column, s->indexed - s->epoch_valid);
    return 0;
}

/* ------------------------------------------------------------------------ */
/* 2. Identities without an index value                                      */

/* SELECT count(*), min(label) over identities whose index is all null;
 * the label reads "symbol=NVDA,venue=X". */
static int unindexed_sql(tst_sql *t, const measure_plan *p)
{
    int rc = SQL_F(t, "SELECT count(*), min(label) FROM (SELECT concat_ws(','");
    for (size_t k = 0; rc == 0 && k < p->spec->entity_count; k++) {
        size_t n = strlen(p->spec->entity_columns[k]);
        char *prefix = malloc(n + 2);
        if (!prefix)
            return tst_fail(TST_ENOMEM, "out of memory building SQL");
        memcpy(prefix, p->spec->entity_columns[k], n);
        memcpy(prefix + n, "=", 2);
        rc = SQL_F(t, ", ");
        if (rc == 0)
            rc = SQL_LIT(t, prefix);
        if (rc == 0)
            rc = SQL_F(t, " || CAST(e%zu AS VARCHAR)", k);
        free(prefix);
    }
    if (rc == 0)
        rc = SQL_F(t, ") AS label FROM ");
    if (rc == 0)
        rc = sql_base(t, p);
    if (rc == 0)
        rc = SQL_F(t, " GROUP BY ");
    for (size_t k = 0; rc == 0 && k < p->spec->entity_count; k++)
        rc = SQL_F(t, "%se%zu", k ? ", " : "", k);
    if (rc == 0)
        rc = SQL_F(t, " HAVING count(v) = 0)");
    return rc;
}

static int unindexed_check(duckdb_connection con, const measure_plan *p)
{
    tst_sql t = {0};
    int rc = unindexed_sql(&t, p);
    duckdb_result res;
    duckdb_data_chunk chunk = NULL;
    if (rc == 0)
        rc = query_one_row(con, t.s, "looking for entities without index values", &res, &chunk);
    free(t.s);
    if (rc != 0)
        return rc;
    uint64_t count = 0;
    cell_u64(chunk, 0, 0, &count);
    if (count > 0) {
        duckdb_vector vec = duckdb_data_chunk_get_vector(chunk, 1);
        duckdb_string_t *s = &((duckdb_string_t *)duckdb_vector_get_data(vec))[0];
        rc = tst_fail(TST_ESCHEMA,
                      "entity %.*s has no non-null values in index column '%s' (%" PRIu64
                      " such entities); every entity needs at least one index value",
                      (int)duckdb_string_t_length(*s), duckdb_string_t_data(s), p->spec->column,
                      count);
    }
    duckdb_destroy_data_chunk(&chunk);
    duckdb_destroy_result(&res);
    return rc;
}

/* ------------------------------------------------------------------------ */
/* 3. Coverage runs                                                          */

/* "e0, .., <ordinal> AS o FROM <base> WHERE v IS NOT NULL": each indexed
 * row's entity and bucket ordinal, after a SELECT [DISTINCT]. */
static int sql_indexed_ordinals(tst_sql *t, const measure_plan *p)
{
    int rc = sql_entity_list(t, p);
    if (rc == 0)
        rc = sql_ordinal(t, p);
    if (rc == 0)
        rc = SQL_F(t, " AS o FROM ");
    if (rc == 0)
        rc = sql_base(t, p);
    if (rc == 0)
        rc = SQL_F(t, " WHERE v IS NOT NULL");
    return rc;
}

/*
 * SELECT e.., min(o), max(o) per run. The rank is subtracted in HUGEINT:
 * an ordinal near INT64_MIN minus a row number would overflow BIGINT.
 */
static int runs_sql(tst_sql *t, const measure_plan *p)
{
    int rc = SQL_F(t, "SELECT ");
    if (rc == 0)
        rc = sql_entity_list(t, p);
    if (rc == 0)
        rc = SQL_F(t, "min(o), max(o) FROM (SELECT ");
    if (rc == 0)
        rc = sql_entity_list(t, p);
    if (rc == 0)
        rc = SQL_F(t, "o, CAST(o AS HUGEINT) - row_number() OVER (%s", 
                   p->spec->entity_count ? "PARTITION BY " : "");
    for (size_t k = 0; rc == 0 && k < p->spec->entity_count; k++)
        rc = SQL_F(t, "%se%zu", k ? ", " : "", k);
    if (rc == 0)
        rc = SQL_F(t, " ORDER BY o) AS g FROM (SELECT DISTINCT ");
    if (rc == 0)
        rc = sql_indexed_ordinals(t, p);
    if (rc == 0)
        rc = SQL_F(t, ")) GROUP BY ");
    if (rc == 0)
        rc = sql_entity_list(t, p);
    if (rc == 0)
        rc = SQL_F(t, "g ORDER BY ");
    if (rc == 0)
        rc = sql_entity_list(t, p);
    if (rc == 0)
        rc = SQL_F(t, "min(o)");
    return rc;
}

/* An ordinal (as returned by SQL) to its bucket id, format §1.10. */
static uint64_t bucket_of_ordinal(const measure_plan *p, uint64_t ordinal_bits)
{
    if (p->spec->kind.type == TST_INDEX_UINT64)
        return ordinal_bits;
    return ordinal_bits ^ TST_BUCKET_SIGN_BIT;
}

/* Reads row `row`'s identity; utf8 components borrow the chunk's strings. */
static void identity_read(const measure_plan *p, duckdb_data_chunk chunk, idx_t first_col,
                          idx_t row, tst_entity_value *values)
{
    for (size_t k = 0; k < p->spec->entity_count; k++) {
        void *data = duckdb_vector_get_data(duckdb_data_chunk_get_vector(chunk, first_col + k));
        tst_entity_value *v = &values[k];
        v->type = p->entity[k];
        switch (p->entity[k]) {
        case TST_ENTITY_UTF8: {
            duckdb_string_t *s = &((duckdb_string_t *)data)[row];
            v->v.utf8.ptr = duckdb_string_t_data(s);
            v->v.utf8.len = duckdb_string_t_length(*s);
            break;
        }
        case TST_ENTITY_INT32: v->v.i32 = ((const int32_t *)data)[row]; break;
        case TST_ENTITY_INT64: v->v.i64 = ((const int64_t *)data)[row]; break;
        case TST_ENTITY_UINT64: v->v.u64 = ((const uint64_t *)data)[row]; break;
        }
    }
}

static int runs_add_chunk(const measure_plan *p, duckdb_data_chunk chunk, tst_measure *out,
                          tst_entity_value *values)
{
    size_t n_ent = p->spec->entity_count;
    idx_t rows = duckdb_data_chunk_get_size(chunk);
    int rc = 0;
    for (idx_t r = 0; rc == 0 && r < rows; r++) {
        uint64_t lo = 0, hi = 0;
        cell_u64(chunk, n_ent, r, &lo);
        cell_u64(chunk, n_ent + 1, r, &hi);
        tst_coverage *cov = out->global;
        if (n_ent > 0) {
            identity_read(p, chunk, 0, r, values);
            tst_entity_identity id = {n_ent, values};
            rc = tst_entity_coverage_get_or_add(out->entities, &id, &cov);
        }
        if (rc == 0)
            rc = tst_coverage_add_range(cov, bucket_of_ordinal(p, lo), bucket_of_ordinal(p, hi));
    }
    return rc;
}

static int runs_read(duckdb_connection con, const measure_plan *p, tst_measure *out)
{
    tst_sql t = {0};
    int rc = runs_sql(&t, p);
    duckdb_result res;
    if (rc == 0)
        rc = tst_duck_query(con, t.s, &res, "computing bucket coverage");
    free(t.s);
    if (rc != 0)
        return rc;
    tst_entity_value *values = NULL;
    if (p->spec->entity_count > 0 &&
        !(values = calloc(p->spec->entity_count, sizeof *values)))
        rc = tst_fail(TST_ENOMEM, "out of memory reading coverage runs");
    duckdb_data_chunk chunk;
    while (rc == 0 && (chunk = duckdb_fetch_chunk(res)) != NULL) {
        rc = runs_add_chunk(p, chunk, out, values);
        duckdb_destroy_data_chunk(&chunk);
    }
    free(values);
    duckdb_destroy_result(&res);
    return rc;
}

/* ------------------------------------------------------------------------ */
/* Putting it together                                                       */

/* v (in index units) to the tst_index_value of the index domain. */
static tst_index_value index_value_of(const measure_plan *p, uint64_t bits)
{
    switch (p->spec->kind.type) {
    case TST_INDEX_INT64: return tst_index_value_int64((int64_t)bits);
    case TST_INDEX_UINT64: return tst_index_value_uint64(bits);
    default: break;
    }
    int64_t v = (int64_t)bits;
    int64_t k = (int64_t)units_per_second(p->index->type.unit);
    int64_t sec = v / k, rem = v % k;
    if (rem < 0) { /* floor, so that nsec stays in [0, 1e9) before 1970 */
        sec--;
        rem += k;
    }
    return tst_index_value_timestamp(sec, (uint32_t)(rem * (1000000000 / k)));
}

/* ------------------------------------------------------------------------ */
/* 4. Protocol 7: at most one row per (entity, index interval)               */

/* The first (entity, ordinal) holding two or more rows, its entity columns as text. */
static int duplicates_sql(tst_sql *t, const measure_plan *p)
{
    int rc = SQL_F(t, "SELECT ");
    for (size_t k = 0; rc == 0 && k < p->spec->entity_count; k++)
        rc = SQL_F(t, "CAST(e%zu AS VARCHAR), ", k);
    if (rc == 0)
        rc = SQL_F(t, "o, count(*) FROM (SELECT ");
    if (rc == 0)
        rc = sql_indexed_ordinals(t, p);
    if (rc == 0)
        rc = SQL_F(t, ") GROUP BY ");
    if (rc == 0)
        rc = sql_entity_list(t, p);
    if (rc == 0)
        rc = SQL_F(t, "o HAVING count(*) > 1 ORDER BY ");
    if (rc == 0)
        rc = sql_entity_list(t, p);
    if (rc == 0)
        rc = SQL_F(t, "o LIMIT 1");
    return rc;
}

/* "col=value[,col=value]" from the first row's text cells. */
static void duplicate_entity(const measure_plan *p, duckdb_data_chunk chunk, char *buf,
                             size_t cap)
{
    size_t used = 0;
    buf[0] = '\0';
    for (size_t k = 0; k < p->spec->entity_count && used < cap; k++) {
        duckdb_vector vec = duckdb_data_chunk_get_vector(chunk, k);
        duckdb_string_t *str = (duckdb_string_t *)duckdb_vector_get_data(vec);
        const char *text = cell_valid(vec, 0) ? duckdb_string_t_data(&str[0]) : "";
        uint32_t len = cell_valid(vec, 0) ? duckdb_string_t_length(str[0]) : 0;
        int n = snprintf(buf + used, cap - used, "%s%s=%.*s", k ? "," : "",
                         p->spec->entity_columns[k], (int)len, text);
        used += n > 0 ? (size_t)n : 0;
    }
}

static int duplicates_check(duckdb_connection con, const measure_plan *p)
{
    tst_sql t = {NULL, 0, 0};
    int rc = duplicates_sql(&t, p);
    duckdb_result res;
    if (rc == 0)
        rc = tst_duck_query(con, t.s, &res, "looking for duplicate index intervals");
    free(t.s);
    if (rc != 0)
        return rc;
    duckdb_data_chunk chunk = duckdb_fetch_chunk(res);
    uint64_t ordinal = 0, rows = 0;
    if (chunk && duckdb_data_chunk_get_size(chunk) == 1 &&
        cell_u64(chunk, p->spec->entity_count, 0, &ordinal) &&
        cell_u64(chunk, p->spec->entity_count + 1, 0, &rows)) {
        char entity[512], range[TST_BUCKET_TEXT_MAX];
        duplicate_entity(p, chunk, entity, sizeof entity);
        uint64_t bucket = bucket_of_ordinal(p, ordinal);
        if (tst_bucket_format(&p->spec->kind, bucket, range, sizeof range) < 0)
            snprintf(range, sizeof range, "bucket %" PRIu64, bucket);
        rc = tst_fail(TST_EDUPLICATE, "Duplicate ordered-index interval %s%s%s: %" PRIu64 " rows "
                      "fall in it; a protocol-7 table allows at most one row per (entity, index "
                      "interval), also within one append: keep one row per interval, or use a "
                      "finer index granularity", range, entity[0] ? " for entity " : "", entity,
                      rows);
        tst_fail_set_overlap(rows, entity, bucket, range);
    }
    if (chunk)
        duckdb_destroy_data_chunk(&chunk);
    duckdb_destroy_result(&res);
    return rc;
}

/* The (entity, bucket) pairs the measured coverage holds: one per distinct
 * interval of the indexed rows. */
static uint64_t covered_pairs(const measure_plan *p, const tst_measure *m)
{
    return p->spec->entity_count > 0 ? tst_entity_coverage_cardinality(m->entities)
                                     : tst_coverage_cardinality(m->global);
}

static int coverage_alloc(const measure_plan *p, tst_measure *out)
{
    if (p->spec->entity_count > 0)
        return tst_entity_coverage_new(&out->entities);
    return tst_coverage_new(&out->global);
}

static int measure_with(duckdb_connection con, measure_plan *p, bool unique, tst_measure *out)
{
    totals s = {0};
    s.entity_nulls = calloc(p->spec->entity_count + 1, sizeof *s.entity_nulls);
    if (!s.entity_nulls)
        return tst_fail(TST_ENOMEM, "out of memory measuring %s", p->relation);
    int rc = measure_prepare(con, p);
    if (rc == 0)
        rc = totals_read(con, p, &s);
    if (rc == 0)
        rc = totals_check(p, &s);
    /* Only a null index value can leave an identity without buckets. */
    if (rc == 0 && p->spec->entity_count > 0 && s.indexed < s.rows)
        rc = unindexed_check(con, p);
    if (rc == 0)
        rc = coverage_alloc(p, out);
    if (rc == 0)
        rc = runs_read(con, p, out);
    /* As many covered pairs as indexed rows: no interval holds two rows, and
     * the data need not be read again to find one. */
    if (rc == 0 && unique && covered_pairs(p, out) < s.indexed)
        rc = duplicates_check(con, p);
    if (rc == 0) {
        out->rows = s.rows;
        out->indexed_rows = s.indexed;
        out->min = index_value_of(p, s.min);
        out->max = index_value_of(p, s.max);
    }
    free(s.entity_nulls);
    return rc;
}

/* ------------------------------------------------------------------------ */
/* The streaming pass                                                        */

/*
 * One pass over "SELECT <index cast> AS i, <entity casts> FROM relation"
 * (the casts of sql_base, so the values are the ones the SQL model and the
 * writer see), read chunk by chunk from a streaming result: DuckDB produces
 * the chunks in parallel and holds only a few of them at a time, so memory
 * does not grow with the file. Each row's bucket is computed here (the
 * floor divisions of sql_ordinal, in C) and added to its identity's bitmap;
 * consecutive rows of one identity whose buckets touch form a run that is
 * added once, which is what sorted input (the common case) gives.
 */
typedef struct stream_state {
    const measure_plan *p;
    tst_measure *out;
    totals *s;
    bool have_minmax;
    /* the current identity (borrowed from the current chunk) and its bitmap */
    tst_entity_value *cur, *row;
    tst_coverage *cov;
    bool have_cur;
    /* the current run of buckets, not yet in cov */
    bool in_run;
    uint64_t lo, hi;
} stream_state;

/* floor(x / w) for w >= 1 (w <= INT64_MAX). */
static int64_t floor_div(int64_t x, int64_t w)
{
    int64_t q = x / w;
    return (x % w < 0) ? q - 1 : q;
}

/* The bucket id of v (index units, as bits), format §1.10. */
static uint64_t bucket_of_value(const measure_plan *p, uint64_t bits)
{
    const tst_index_kind *kind = &p->spec->kind;
    if (kind->type == TST_INDEX_UINT64)
        return bits / kind->bucket_width;
    int64_t v = (int64_t)bits, ordinal;
    if (kind->type == TST_INDEX_INT64)
        ordinal = kind->bucket_width > (uint64_t)INT64_MAX ? (v < 0 ? -1 : 0)
                                                            : floor_div(v, (int64_t)kind->bucket_width);
    else
        ordinal = floor_div(floor_div(v, (int64_t)units_per_second(p->index->type.unit)),
                            (int64_t)tst_time_bucket_seconds(kind->bucket));
    return (uint64_t)ordinal ^ TST_BUCKET_SIGN_BIT;
}

static int run_flush(stream_state *st)
{
    if (!st->in_run)
        return 0;
    st->in_run = false;
    /* unsorted rows make one-bucket runs: a plain add is cheaper there */
    return st->lo == st->hi ? tst_coverage_add(st->cov, st->lo)
                            : tst_coverage_add_range(st->cov, st->lo, st->hi);
}

static int run_add(stream_state *st, uint64_t bucket)
{
    if (st->in_run) {
        if (bucket >= st->lo && bucket <= st->hi)
            return 0;
        if (st->hi != UINT64_MAX && bucket == st->hi + 1) {
            st->hi = bucket;
            return 0;
        }
        if (st->lo != 0 && bucket == st->lo - 1) {
            st->lo = bucket;
            return 0;
        }
        int rc = run_flush(st);
        if (rc != 0)
            return rc;
    }
    st->in_run = true;
    st->lo = st->hi = bucket;
    return 0;
}

static bool entity_value_equal(const tst_entity_value *a, const tst_entity_value *b)
{
    switch (a->type) {
    case TST_ENTITY_UTF8:
        return a->v.utf8.len == b->v.utf8.len &&
               memcmp(a->v.utf8.ptr, b->v.utf8.ptr, a->v.utf8.len) == 0;
    case TST_ENTITY_INT32: return a->v.i32 == b->v.i32;
    case TST_ENTITY_INT64: return a->v.i64 == b->v.i64;
    case TST_ENTITY_UINT64: return a->v.u64 == b->v.u64;
    }
    return false;
}

/* Makes row `r`'s identity the current one (its bitmap created if new). */
static int identity_switch(stream_state *st, duckdb_data_chunk chunk, idx_t r)
{
    size_t n = st->p->spec->entity_count;
    identity_read(st->p, chunk, 1, r, st->row);
    if (st->have_cur) {
        bool same = true;
        for (size_t k = 0; same && k < n; k++)
            same = entity_value_equal(&st->cur[k], &st->row[k]);
        if (same)
            return 0;
    }
    int rc = run_flush(st);
    if (rc != 0)
        return rc;
    memcpy(st->cur, st->row, n * sizeof *st->cur);
    tst_entity_identity id = {n, st->cur};
    st->have_cur = false;
    rc = tst_entity_coverage_get_or_add(st->out->entities, &id, &st->cov);
    st->have_cur = rc == 0;
    return rc;
}

static bool less_bits(const measure_plan *p, uint64_t a, uint64_t b)
{
    return p->spec->kind.type == TST_INDEX_UINT64 ? a < b : (int64_t)a < (int64_t)b;
}

static int stream_chunk(stream_state *st, duckdb_data_chunk chunk)
{
    const measure_plan *p = st->p;
    size_t n_ent = p->spec->entity_count;
    idx_t rows = duckdb_data_chunk_get_size(chunk);
    duckdb_vector ivec = duckdb_data_chunk_get_vector(chunk, 0);
    const uint64_t *ival = duckdb_vector_get_data(ivec);
    uint64_t *ivalid = duckdb_vector_get_validity(ivec);
    uint64_t *evalid[n_ent + 1];
    for (size_t k = 0; k < n_ent; k++)
        evalid[k] = duckdb_vector_get_validity(duckdb_data_chunk_get_vector(chunk, 1 + k));
    bool ts = p->spec->kind.type == TST_INDEX_TIMESTAMP;
    totals *s = st->s;
    s->rows += rows;
    int rc = 0;
    for (idx_t r = 0; rc == 0 && r < rows; r++) {
        bool complete = true;
        for (size_t k = 0; k < n_ent; k++)
            if (evalid[k] && !duckdb_validity_row_is_valid(evalid[k], r)) {
                s->entity_nulls[k]++;
                complete = false;
            }
        bool indexed = !ivalid || duckdb_validity_row_is_valid(ivalid, r);
        if (!complete) /* an error once the pass ends (totals_check) */
            continue;
        if (!indexed) { /* no bucket, but the identity must exist (unindexed check) */
            if (n_ent > 0)
                rc = identity_switch(st, chunk, r);
            continue;
        }
        uint64_t v = ival[r];
        s->indexed++;
        /* DuckDB's infinite timestamps, in every unit */
        if (ts && (v == (uint64_t)INT64_MAX || v == (uint64_t)-INT64_MAX)) {
            s->infinite++;
            continue;
        }
        s->epoch_valid++;
        if (!st->have_minmax) {
            s->min = s->max = v;
            st->have_minmax = true;
        } else if (less_bits(p, v, s->min))
            s->min = v;
        else if (less_bits(p, s->max, v))
            s->max = v;
        if (n_ent > 0)
            rc = identity_switch(st, chunk, r);
        if (rc == 0)
            rc = run_add(st, bucket_of_value(p, v));
    }
    /* the current identity borrows this chunk's strings */
    if (rc == 0)
        rc = run_flush(st);
    if (n_ent > 0)
        st->have_cur = false;
    return rc;
}

/* "SELECT <index cast> AS i, <entity casts> AS e0.. FROM <relation>" */
static int stream_sql(tst_sql *t, const measure_plan *p)
{
    int rc = SQL_F(t, "SELECT ");
    return rc == 0 ? sql_cast_columns(t, p) : rc;
}

static int stream_fail(const char *what, const char *msg)
{
    tst_fail(TST_ESQL, "%s: %s", what, msg ? msg : "DuckDB query failed");
    int rc = tst_cancel_check(what); /* interrupted on purpose: say so */
    return rc != 0 ? rc : TST_ESQL;
}

/* Runs the pass: totals into *s, coverage into out. */
static int stream_read(duckdb_connection con, const measure_plan *p, totals *s, tst_measure *out)
{
    static const char what[] = "measuring the index and entity columns";
    tst_sql t = {0};
    int rc = stream_sql(&t, p);
    if (rc == 0)
        rc = tst_cancel_check(what);
    if (rc != 0) {
        free(t.s);
        return rc;
    }
    duckdb_prepared_statement stmt = NULL;
    duckdb_result res;
    bool have_res = false;
    if (duckdb_prepare(con, t.s, &stmt) == DuckDBError)
        rc = stream_fail(what, duckdb_prepare_error(stmt));
    else if (duckdb_execute_prepared_streaming(stmt, &res) == DuckDBError) {
        have_res = true;
        rc = stream_fail(what, duckdb_result_error(&res));
    } else
        have_res = true;
    free(t.s);
    size_t n = p->spec->entity_count;
    stream_state st = {.p = p, .out = out, .s = s, .cov = out->global};
    if (rc == 0 && n > 0 && (!(st.cur = calloc(n, sizeof *st.cur)) ||
                             !(st.row = calloc(n, sizeof *st.row))))
        rc = tst_fail(TST_ENOMEM, "out of memory measuring %s", p->relation);
    while (rc == 0) {
        duckdb_data_chunk chunk = duckdb_fetch_chunk(res);
        if (!chunk) {
            const char *err = duckdb_result_error(&res);
            if (err)
                rc = stream_fail(what, err);
            break;
        }
        rc = stream_chunk(&st, chunk);
        duckdb_destroy_data_chunk(&chunk);
    }
    free(st.cur);
    free(st.row);
    if (have_res)
        duckdb_destroy_result(&res);
    duckdb_destroy_prepare(&stmt);
    return rc;
}

/* Whether some identity got no bucket: only rows with a null index make one. */
static bool has_unindexed_identity(const tst_measure *m)
{
    size_t n = tst_entity_coverage_count(m->entities);
    for (size_t i = 0; i < n; i++) {
        tst_entity_identity id;
        const tst_coverage *cov;
        if (tst_entity_coverage_at(m->entities, i, &id, &cov) == 0 && tst_coverage_is_empty(cov))
            return true;
    }
    return false;
}

/* The streaming measure. The rare errors that name a row (an identity
 * without index values, a duplicate interval) are found in the pass and
 * then named by the SQL model's queries, which read the source once more:
 * the same message as before, at no cost to an append that succeeds. */
static int measure_stream(duckdb_connection con, measure_plan *p, bool unique, tst_measure *out)
{
    totals s = {0};
    s.entity_nulls = calloc(p->spec->entity_count + 1, sizeof *s.entity_nulls);
    if (!s.entity_nulls)
        return tst_fail(TST_ENOMEM, "out of memory measuring %s", p->relation);
    int rc = measure_prepare(con, p);
    if (rc == 0)
        rc = coverage_alloc(p, out);
    if (rc == 0)
        rc = stream_read(con, p, &s, out);
    if (rc == 0)
        rc = totals_check(p, &s);
    if (rc == 0 && p->spec->entity_count > 0 && s.indexed < s.rows &&
        has_unindexed_identity(out))
        rc = unindexed_check(con, p);
    if (rc == 0 && unique && covered_pairs(p, out) < s.indexed)
        rc = duplicates_check(con, p);
    if (rc == 0) {
        out->rows = s.rows;
        out->indexed_rows = s.indexed;
        out->min = index_value_of(p, s.min);
        out->max = index_value_of(p, s.max);
    }
    free(s.entity_nulls);
    return rc;
}

typedef int (*measure_fn)(duckdb_connection, measure_plan *, bool, tst_measure *);

static int measure_relation(const char *relation_sql, const tst_index_spec *spec,
                            const tst_schema *schema, bool unique_intervals, tst_measure *out,
                            measure_fn fn);

int tst_measure_relation(const char *relation_sql, const tst_index_spec *spec,
                         const tst_schema *schema, tst_measure *out)
{
    return measure_relation(relation_sql, spec, schema, false, out, measure_stream);
}

int tst_measure_relation_ex(const char *relation_sql, const tst_index_spec *spec,
                            const tst_schema *schema, bool unique_intervals, tst_measure *out)
{
    return measure_relation(relation_sql, spec, schema, unique_intervals, out, measure_stream);
}

int tst_measure_relation_sql(const char *relation_sql, const tst_index_spec *spec,
                             const tst_schema *schema, bool unique_intervals, tst_measure *out)
{
    return measure_relation(relation_sql, spec, schema, unique_intervals, out, measure_with);
}

static int measure_relation(const char *relation_sql, const tst_index_spec *spec,
                            const tst_schema *schema, bool unique_intervals, tst_measure *out,
                            measure_fn fn)
{
    memset(out, 0, sizeof *out);
    measure_plan p;
    int rc = plan_resolve(&p, relation_sql, spec, schema);
    duckdb_connection con = NULL;
    if (rc == 0)
        rc = tst_duck_connect(&con);
    if (rc == 0)
        rc = fn(con, &p, unique_intervals, out);
    tst_duck_disconnect(&con);
    free(p.entity);
    if (rc != 0) {
        tst_measure_clear(out);
        char label[256];
        if (rc != TST_EDUPLICATE) /* about the rows, not the reading: the caller says where */
            tst_fail_context(rc, "measuring %s",
                             tst_duck_relation_label(relation_sql, label, sizeof label));
    }
    return rc;
}

void tst_measure_clear(tst_measure *m)
{
    if (!m)
        return;
    tst_coverage_free(m->global);
    tst_entity_coverage_free(m->entities);
    memset(m, 0, sizeof *m);
}
