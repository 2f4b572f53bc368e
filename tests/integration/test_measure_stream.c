/*
 * test_measure_stream.c — the streaming measure (tst_measure_relation_ex)
 * against its model, the all-SQL measure it replaced
 * (tst_measure_relation_sql): same rows, indexed rows, min/max, coverage
 * bitmaps (global or per identity), and for a rejected source the same
 * error code, message and overlap fields.
 *
 * Sources are Parquet files written by DuckDB from random rows: timestamp
 * indexes in ms/us/ns, zone-less and zoned (read as TIMESTAMPTZ), on both
 * sides of 1970 and at 1/60/3600/86400-second buckets; int64 indexes with
 * negative values and the domain edges; uint64 indexes up to UINT64_MAX;
 * no entity column, or utf8 (inlined and long strings, the empty string),
 * int32, int64, uint64, or utf8+int32 identities; sorted or shuffled rows;
 * null index values, null entity values, identities whose index is all
 * null, infinite timestamps; protocol 6 (any rows per interval) and 7 (one
 * row per (entity, interval): spaced rows that pass, random rows that
 * collide). Larger relations (hundreds of thousands of rows, many DuckDB
 * chunks and threads) check runs and identities across chunk boundaries.
 */
#include "testsupport.h"

#include "duck.h"
#include "model.h"
#include "segment.h"

#include <inttypes.h>
#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static char *scratch;

static int setup(void **state)
{
    (void)state;
    scratch = tst_test_tmpdir("measure-stream");
    return scratch ? 0 : -1;
}

static int teardown(void **state)
{
    (void)state;
    tst_test_rmtree(scratch);
    scratch = NULL;
    return 0;
}

static uint64_t rng_state = 0x2545f4914f6cdd1dULL;
static uint64_t rng(void)
{
    uint64_t z = (rng_state += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

static void sql_exec(const char *sql)
{
    duckdb_connection con;
    assert_tst_ok(tst_duck_connect(&con));
    assert_tst_ok(tst_duck_query(con, sql, NULL, "test fixture"));
    tst_duck_disconnect(&con);
}

/* A growing string. */
typedef struct buf {
    char *s;
    size_t len, cap;
} buf;

static void bputf(buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void bputf(buf *b, const char *fmt, ...)
{
    va_list ap;
    for (;;) {
        va_start(ap, fmt);
        int n = vsnprintf(b->s ? b->s + b->len : NULL, b->s ? b->cap - b->len : 0, fmt, ap);
        va_end(ap);
        assert_true(n >= 0);
        if (b->s && b->len + (size_t)n < b->cap) {
            b->len += (size_t)n;
            return;
        }
        size_t cap = b->cap ? b->cap * 2 : 4096;
        while (cap < b->len + (size_t)n + 1)
            cap *= 2;
        b->s = realloc(b->s, cap);
        assert_non_null(b->s);
        b->cap = cap;
    }
}

/* ------------------------------------------------------------ comparing */

static void assert_same_coverage(const tst_measure *want, const tst_measure *got)
{
    if (want->global) {
        assert_non_null(got->global);
        assert_null(got->entities);
        assert_int_equal(tst_coverage_cardinality(got->global),
                         tst_coverage_cardinality(want->global));
        assert_true(tst_coverage_equals(want->global, got->global));
        return;
    }
    assert_null(got->global);
    assert_non_null(got->entities);
    size_t n = tst_entity_coverage_count(want->entities);
    assert_int_equal(tst_entity_coverage_count(got->entities), n);
    for (size_t i = 0; i < n; i++) {
        tst_entity_identity wid, gid;
        const tst_coverage *w, *g;
        assert_tst_ok(tst_entity_coverage_at(want->entities, i, &wid, &w));
        assert_tst_ok(tst_entity_coverage_at(got->entities, i, &gid, &g));
        assert_int_equal(tst_entity_identity_compare(&wid, &gid), 0);
        assert_true(tst_coverage_equals(w, g));
    }
}

static void assert_same_value(const tst_index_value *a, const tst_index_value *b)
{
    int cmp = 1;
    assert_tst_ok(tst_index_value_compare(a, b, &cmp));
    assert_int_equal(cmp, 0);
}

/* Both measures of one relation; returns the (shared) return code. */
static int differential(const char *rel, const char *spec_json, const char *columns_json,
                        bool unique)
{
    json_object *obj = json_tokener_parse(spec_json);
    assert_non_null(obj);
    tst_index_spec spec;
    assert_tst_ok(tst_index_spec_from_json(&spec, obj, "test spec"));
    json_object_put(obj);
    char *json = NULL;
    assert_true(asprintf(&json, "{\"columns\":%s}", columns_json) > 0);
    obj = json_tokener_parse(json);
    assert_non_null(obj);
    tst_schema *schema = NULL;
    assert_tst_ok(tst_schema_from_json(&schema, obj, "test schema"));
    json_object_put(obj);
    free(json);

    tst_measure want, got;
    int want_rc = tst_measure_relation_sql(rel, &spec, schema, unique, &want);
    char *want_msg = strdup(tst_error_last()->message);
    tst_error want_err = *tst_error_last();
    char want_entity[512];
    snprintf(want_entity, sizeof want_entity, "%s", want_err.entity ? want_err.entity : "");
    int got_rc = tst_measure_relation_ex(rel, &spec, schema, unique, &got);
    if (got_rc != want_rc || (want_rc != 0 && strcmp(want_msg, tst_error_last()->message) != 0))
        print_error("relation %s\n  sql:    %d %s\n  stream: %d %s\n", rel, want_rc,
                    want_rc ? want_msg : "", got_rc, got_rc ? tst_error_last()->message : "");
    assert_int_equal(got_rc, want_rc);
    if (want_rc != 0) {
        assert_string_equal(tst_error_last()->message, want_msg);
        const tst_error *e = tst_error_last();
        assert_int_equal(e->overlap_count, want_err.overlap_count);
        assert_int_equal(e->bucket, want_err.bucket);
        assert_string_equal(e->entity ? e->entity : "", want_entity);
    } else {
        assert_int_equal(got.rows, want.rows);
        assert_int_equal(got.indexed_rows, want.indexed_rows);
        assert_same_value(&got.min, &want.min);
        assert_same_value(&got.max, &want.max);
        assert_same_coverage(&want, &got);
    }
    free(want_msg);
    tst_measure_clear(&want);
    tst_measure_clear(&got);
    tst_schema_free(schema);
    tst_index_spec_clear(&spec);
    return got_rc;
}

/* ------------------------------------------------------------ random files */

enum { IDX_TS, IDX_I64, IDX_U64 };
enum { ENT_NONE, ENT_UTF8, ENT_I32, ENT_I64, ENT_U64, ENT_UTF8_I32, ENT_KINDS };
enum { NULLS_NONE, NULLS_INDEX, NULLS_ENTITY, NULLS_UNINDEXED, NULLS_ALL_INDEX, NULLS_INF,
       NULLS_KINDS };

typedef struct dcase {
    int index, unit; /* unit: 0 ms, 1 us, 2 ns */
    bool zoned, sorted, unique, spaced;
    int ent, nulls;
    uint64_t width;  /* bucket seconds (timestamps) or width (integers) */
    int rows;
} dcase;

static const char *const UNIT_NAME[] = {"Millis", "Micros", "Nanos"};
static const int64_t PER_SEC[] = {1000, 1000000, 1000000000};
static const char *const UTF8_VALUES[] = {"NVDA", "", "a rather long symbol name", "b'q",
                                         "AAPL"};

static const char *bucket_json(uint64_t secs)
{
    return secs == 1 ? "{\"Seconds\":1}" : secs == 60 ? "{\"Minutes\":1}"
         : secs == 3600 ? "{\"Hours\":1}" : "{\"Days\":1}";
}

/* One index value in index units, as SQL of the written column's type. */
static void put_index(buf *b, const dcase *c, uint64_t bits)
{
    if (c->index == IDX_I64) {
        bputf(b, "'%" PRId64 "'::BIGINT", (int64_t)bits);
        return;
    }
    if (c->index == IDX_U64) {
        bputf(b, "'%" PRIu64 "'::UBIGINT", bits);
        return;
    }
    int64_t v = (int64_t)bits;
    const char *expr = c->unit == 0 ? "epoch_ms(%" PRId64 "::BIGINT)::TIMESTAMP_MS"
                     : c->unit == 1 ? "make_timestamp(%" PRId64 "::BIGINT)"
                                    : "make_timestamp_ns(%" PRId64 "::BIGINT)";
    if (c->zoned)
        bputf(b, "CAST(");
    bputf(b, expr, v);
    if (c->zoned)
        bputf(b, " AS TIMESTAMPTZ)");
}

/* A random index value in index units (bits). */
static uint64_t random_index(const dcase *c, int64_t centre)
{
    uint64_t r = rng();
    if (c->index == IDX_U64) {
        static const uint64_t edges[] = {0, 1, 9, 10, UINT64_MAX - 1, UINT64_MAX};
        if (r % 10 == 0)
            return edges[(r >> 8) % 6];
        return (uint64_t)centre + (r >> 16) % (c->width * 50);
    }
    if (c->index == IDX_I64) {
        static const int64_t edges[] = {INT64_MIN, INT64_MIN + 1, -10, -1, 0, 1, INT64_MAX - 1,
                                        INT64_MAX};
        if (r % 10 == 0)
            return (uint64_t)edges[(r >> 8) % 8];
        /* unsigned arithmetic: wide widths wrap around the domain on purpose */
        return (uint64_t)centre + (r >> 16) % (c->width * 50) - c->width * 25;
    }
    int64_t per = PER_SEC[c->unit];
    int64_t span = (int64_t)c->width * 40 * per;
    /* ms/us timestamps reach years 0001..9999; keep ns within 1677..2262 */
    return (uint64_t)(centre * per + (int64_t)((r >> 8) % (uint64_t)span) - span / 2);
}

static void put_entity(buf *b, int kind, uint64_t r)
{
    switch (kind) {
    case ENT_UTF8: {
        const char *s = UTF8_VALUES[r % 5];
        bputf(b, "'");
        for (; *s; s++)
            bputf(b, *s == '\'' ? "''" : "%c", *s);
        bputf(b, "'");
        break;
    }
    case ENT_I32: bputf(b, "%d::INTEGER", (int)(r % 5) * 1000003 - 2000000); break;
    case ENT_I64: bputf(b, "'%" PRId64 "'::BIGINT", (r % 5 == 0) ? INT64_MIN : (int64_t)(r % 5) - 2); break;
    case ENT_U64: bputf(b, "'%" PRIu64 "'::UBIGINT", (r % 5 == 0) ? UINT64_MAX : r % 5); break;
    }
}

static const char *entity_type_json(int kind)
{
    return kind == ENT_UTF8 ? "\"Utf8\"" : kind == ENT_I32 ? "\"Int32\""
         : kind == ENT_I64 ? "\"Int64\"" : "\"UInt64\"";
}

static int run_case(const dcase *c, int n)
{
    int n_ent = c->ent == ENT_NONE ? 0 : c->ent == ENT_UTF8_I32 ? 2 : 1;
    int ekind[2] = {c->ent == ENT_UTF8_I32 ? ENT_UTF8 : c->ent, ENT_I32};
    int64_t centre;
    if (c->index == IDX_TS)
        centre = (int64_t)(rng() % 4000000000u) - 2000000000; /* 1906..2033 */
    else if (c->index == IDX_I64)
        centre = (int64_t)(rng() % 2000000) - 1000000;
    else
        centre = (int64_t)(rng() % 1000000);

    buf b = {0};
    bputf(&b, "COPY (SELECT * FROM (VALUES ");
    for (int i = 0; i < c->rows; i++) {
        uint64_t er = rng(), er2 = rng();
        uint64_t v;
        if (c->spaced) { /* one row per bucket, distinct buckets: i-th interval */
            uint64_t unit = c->index == IDX_TS ? c->width * (uint64_t)PER_SEC[c->unit] : c->width;
            uint64_t off = rng() % unit;
            if (c->index == IDX_U64)
                v = (uint64_t)centre * c->width + (uint64_t)i * unit + off;
            else
                v = (uint64_t)((c->index == IDX_TS ? centre * PER_SEC[c->unit] : centre) +
                               (int64_t)(i * unit + off));
        } else
            v = random_index(c, centre);
        bool null_index = (c->nulls == NULLS_INDEX && rng() % 7 == 0) ||
                          c->nulls == NULLS_ALL_INDEX ||
                          (c->nulls == NULLS_UNINDEXED && n_ent > 0 && er % 5 == 3);
        bool null_entity = c->nulls == NULLS_ENTITY && rng() % 9 == 0;
        bool inf = c->nulls == NULLS_INF && c->index == IDX_TS && i == c->rows / 2;
        bputf(&b, "%s(", i ? ", " : "");
        if (null_index)
            bputf(&b, "NULL");
        else if (inf)
            bputf(&b, "CAST(%s'%sinfinity'::TIMESTAMP AS %s)", "", rng() % 2 ? "-" : "",
                  c->zoned ? "TIMESTAMPTZ" : c->unit == 0 ? "TIMESTAMP_MS"
                                           : c->unit == 1 ? "TIMESTAMP" : "TIMESTAMP_NS");
        else
            put_index(&b, c, v);
        for (int k = 0; k < n_ent; k++) {
            bputf(&b, ", ");
            if (null_entity && k == 0)
                bputf(&b, "NULL");
            else
                put_entity(&b, ekind[k], k ? er2 : er);
        }
        bputf(&b, ")");
    }
    char *path = NULL;
    assert_true(asprintf(&path, "%s/case%d.parquet", scratch, n) > 0);
    bputf(&b, ") v(i");
    for (int k = 0; k < n_ent; k++)
        bputf(&b, ", e%d", k);
    bputf(&b, ")%s) TO '%s' (FORMAT parquet)", c->sorted ? " ORDER BY ALL" : "", path);
    sql_exec(b.s);

    /* spec and schema */
    buf spec = {0}, cols = {0};
    bputf(&spec, "{\"column\":\"i\",\"entity_columns\":[");
    for (int k = 0; k < n_ent; k++)
        bputf(&spec, "%s\"e%d\"", k ? "," : "", k);
    if (c->index == IDX_TS) {
        bputf(&spec, "],\"kind\":{\"type\":\"timestamp\",\"bucket\":%s}}", bucket_json(c->width));
        bputf(&cols, "[{\"name\":\"i\",\"data_type\":{\"Timestamp\":{\"unit\":\"%s\","
                     "\"timezone\":%s}},\"nullable\":true}",
              UNIT_NAME[c->unit], c->zoned ? "\"UTC\"" : "null");
    } else {
        bputf(&spec, "],\"kind\":{\"type\":\"%s\",\"bucket_width\":%" PRIu64 "}}",
              c->index == IDX_I64 ? "int64" : "uint64", c->width);
        bputf(&cols, "[{\"name\":\"i\",\"data_type\":\"%s\",\"nullable\":true}",
              c->index == IDX_I64 ? "Int64" : "UInt64");
    }
    for (int k = 0; k < n_ent; k++)
        bputf(&cols, ",{\"name\":\"e%d\",\"data_type\":%s,\"nullable\":true}", k,
              entity_type_json(ekind[k]));
    bputf(&cols, "]");

    char *rel = NULL;
    assert_true(asprintf(&rel, "read_parquet('%s')", path) > 0);
    int rc = differential(rel, spec.s, cols.s, c->unique);
    free(rel);
    free(path);
    free(b.s);
    free(spec.s);
    free(cols.s);
    return rc;
}

static void random_files_measure_the_same_as_the_sql_model(void **state)
{
    (void)state;
    static const uint64_t ts_widths[] = {1, 60, 3600, 86400};
    static const uint64_t int_widths[] = {1, 7, 10, 1000, UINT64_C(1) << 62,
                                          (UINT64_C(1) << 63) + 5};
    int ok = 0, failed = 0, codes[32] = {0}, ok_ent[ENT_KINDS] = {0}, ok_idx[3] = {0};
    for (int n = 0; n < 240; n++) {
        dcase c = {0};
        c.index = n % 3;
        c.unit = (int)(rng() % 3);
        c.zoned = c.index == IDX_TS && rng() % 2;
        c.sorted = rng() % 3 == 0;
        c.unique = rng() % 2;
        c.spaced = c.unique && rng() % 2;
        c.ent = (int)(rng() % ENT_KINDS);
        c.nulls = rng() % 2 ? NULLS_NONE : (int)(rng() % NULLS_KINDS);
        c.rows = 1 + (int)(rng() % 300);
        if (c.index == IDX_TS)
            c.width = ts_widths[rng() % 4];
        else
            c.width = int_widths[rng() % (c.index == IDX_I64 ? 6 : 6)];
        if (c.spaced && (c.width > 1000000 || c.nulls == NULLS_INF))
            c.width = 10; /* spaced rows stay inside the domain */
        if (c.spaced && c.index == IDX_TS)
            c.width = 60;
        int rc = run_case(&c, n);
        if (rc == 0) {
            ok++;
            ok_ent[c.ent]++;
            ok_idx[c.index]++;
        } else {
            failed++;
            codes[-rc & 31]++;
        }
    }
    print_message("differential: %d sources measured alike, %d rejected alike\n", ok, failed);
    for (int k = 0; k < 32; k++)
        if (codes[k])
            print_message("  rejected with code -%d: %d\n", k, codes[k]);
    /* every index domain and identity kind measured at least once */
    for (int k = 0; k < ENT_KINDS; k++)
        assert_true(ok_ent[k] > 0);
    for (int k = 0; k < 3; k++)
        assert_true(ok_idx[k] > 0);
    assert_true(ok > 60);
    assert_true(failed > 30);
}

/* Big relations: many chunks, parallel scans, identities across chunk edges. */
static void large_relations_measure_the_same_as_the_sql_model(void **state)
{
    (void)state;
    char *path = NULL;
    assert_true(asprintf(&path, "%s/large.parquet", scratch) > 0);
    char *sql = NULL;
    assert_true(asprintf(&sql,
                         "COPY (SELECT make_timestamp(1700000000000000 + (hash(i) %% 86400000000)"
                         "::BIGINT) AS ts, 'S' || (hash(i * 3) %% 13) AS sym, (hash(i * 5) %% 4)"
                         "::INTEGER AS venue, i::BIGINT AS n FROM range(400000) t(i)) "
                         "TO '%s' (FORMAT parquet, ROW_GROUP_SIZE 50000)", path) > 0);
    sql_exec(sql);
    free(sql);
    const char *ts_cols = "[{\"name\":\"ts\",\"data_type\":{\"Timestamp\":{\"unit\":\"Micros\","
                          "\"timezone\":null}},\"nullable\":true},{\"name\":\"sym\",\"data_type\":"
                          "\"Utf8\",\"nullable\":true},{\"name\":\"venue\",\"data_type\":\"Int32\","
                          "\"nullable\":true},{\"name\":\"n\",\"data_type\":\"Int64\","
                          "\"nullable\":true}]";
    char *rel = NULL, *sorted = NULL;
    assert_true(asprintf(&rel, "read_parquet('%s')", path) > 0);
    assert_true(asprintf(&sorted, "(SELECT * FROM read_parquet('%s') ORDER BY sym, venue, ts)",
                         path) > 0);
    const char *specs[] = {
        "{\"column\":\"ts\",\"entity_columns\":[],\"kind\":{\"type\":\"timestamp\","
        "\"bucket\":{\"Seconds\":1}}}",
        "{\"column\":\"ts\",\"entity_columns\":[\"sym\"],\"kind\":{\"type\":\"timestamp\","
        "\"bucket\":{\"Minutes\":1}}}",
        "{\"column\":\"ts\",\"entity_columns\":[\"sym\",\"venue\"],\"kind\":{\"type\":"
        "\"timestamp\",\"bucket\":{\"Hours\":1}}}",
        "{\"column\":\"n\",\"entity_columns\":[\"venue\"],\"kind\":{\"type\":\"int64\","
        "\"bucket_width\":3}}",
    };
    for (size_t i = 0; i < 4; i++) {
        assert_int_equal(differential(rel, specs[i], ts_cols, false), 0);
        assert_int_equal(differential(sorted, specs[i], ts_cols, false), 0);
    }
    /* protocol 7: n is unique per row, so width-1 buckets of n pass */
    const char *unique_n = "{\"column\":\"n\",\"entity_columns\":[\"sym\"],\"kind\":{\"type\":"
                           "\"int64\",\"bucket_width\":1}}";
    assert_int_equal(differential(rel, unique_n, ts_cols, true), 0);
    /* ... and 1-minute buckets of ts collide: the same first pair is named */
    assert_int_equal(differential(rel, specs[1], ts_cols, true), TST_EDUPLICATE);
    free(rel);
    free(sorted);
    free(path);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(random_files_measure_the_same_as_the_sql_model, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(large_relations_measure_the_same_as_the_sql_model, setup,
                                        teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
