/*
 * test_scan.c — the native range scan: half-open bounds across segments,
 * entity filter, projection, ms/us/ns columns with sub-unit bounds, pruning
 * (a missing file outside the range is never touched), errors, and the
 * exported stream read by an independent consumer (DuckDB's Arrow import)
 * compared with a SELECT over the Parquet files themselves.
 */
#include "testsupport.h"

#include "duck.h"
#include "tstable/append.h"
#include "tstable/scan.h"
#include "tstable/table.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define T0 1704067200LL /* 2024-01-01T00:00:00Z */

static int64_t duck_int(const char *sql)
{
    duckdb_connection con = NULL;
    duckdb_result res;
    assert_tst_ok(tst_duck_connect(&con));
    assert_tst_ok(tst_duck_query(con, sql, &res, "test query"));
    int64_t v = duckdb_value_int64(&res, 0, 0);
    duckdb_destroy_result(&res);
    tst_duck_disconnect(&con);
    return v;
}

/* Appends the rows of `select` (written to a Parquet file first); returns
 * the segment's path relative to the root. */
static char *append_select(tst_table *t, const char *dir, const char *select)
{
    static int n;
    char name[32], sql[2048];
    snprintf(name, sizeof name, "src%d.parquet", n++);
    char *path = tst_test_path(dir, name);
    snprintf(sql, sizeof sql, "COPY (%s) TO '%s' (FORMAT parquet)", select, path);
    tst_test_duck(sql);
    tst_append_result res;
    assert_tst_ok(tst_table_append_parquet(t, path, NULL, &res));
    free(path);
    return strdup(res.segment_path);
}

/* Hours [from, to) of 2024-01-01 for one symbol, v = hour. */
static char *append_hours(tst_table *t, const char *dir, const char *sym, int from, int to)
{
    char select[512];
    snprintf(select, sizeof select,
             "SELECT make_timestamp((%lld + h * 3600) * 1000000)::TIMESTAMPTZ AS ts, "
             "'%s' AS symbol, h::BIGINT AS v FROM range(%d, %d) r(h)",
             T0, sym, from, to);
    return append_select(t, dir, select);
}

static tst_index_value hour(int h)
{
    return tst_index_value_timestamp(T0 + h * 3600LL, 0);
}

/* Drains a stream into a DuckDB table `name` through DuckDB's own Arrow
 * import (an independent consumer); releases the stream. Returns rows. */
static int64_t consume(struct ArrowArrayStream *s, const char *name)
{
    duckdb_connection con = NULL;
    assert_tst_ok(tst_duck_connect(&con));
    struct ArrowSchema schema;
    assert_int_equal(s->get_schema(s, &schema), 0);
    duckdb_arrow_converted_schema converted = NULL;
    assert_null(duckdb_schema_from_arrow(con, &schema, &converted));
    char sql[512];
    snprintf(sql, sizeof sql, "CREATE OR REPLACE TABLE %s AS SELECT * FROM (SELECT 1) WHERE false",
             name);
    duckdb_appender app = NULL;
    int64_t rows = 0;
    for (;;) {
        struct ArrowArray a;
        assert_int_equal(s->get_next(s, &a), 0);
        if (!a.release)
            break;
        rows += a.length;
        duckdb_data_chunk chunk = NULL;
        assert_null(duckdb_data_chunk_from_arrow(con, &a, converted, &chunk));
        if (!app) { /* the table takes the first chunk's types, via a typed CTAS */
            char create[1024] = "";
            size_t len = (size_t)snprintf(create, sizeof create, "CREATE OR REPLACE TABLE %s AS "
                                          "SELECT * FROM (SELECT ", name);
            for (int64_t i = 0; i < schema.n_children; i++) {
                duckdb_logical_type lt =
                    duckdb_vector_get_column_type(duckdb_data_chunk_get_vector(chunk, (idx_t)i));
                duckdb_type id = duckdb_get_type_id(lt);
                const char *tn = id == DUCKDB_TYPE_TIMESTAMP_TZ   ? "TIMESTAMPTZ"
                                 : id == DUCKDB_TYPE_TIMESTAMP_MS ? "TIMESTAMP_MS"
                                 : id == DUCKDB_TYPE_TIMESTAMP_NS ? "TIMESTAMP_NS"
                                 : id == DUCKDB_TYPE_TIMESTAMP    ? "TIMESTAMP"
                                 : id == DUCKDB_TYPE_VARCHAR      ? "VARCHAR"
                                                                  : "BIGINT";
                duckdb_destroy_logical_type(&lt);
                len += (size_t)snprintf(create + len, sizeof create - len, "%sNULL::%s AS \"%s\"",
                                        i ? ", " : "", tn, schema.children[i]->name);
            }
            snprintf(create + len, sizeof create - len, ") WHERE false");
            assert_tst_ok(tst_duck_query(con, create, NULL, "consumer table"));
            assert_int_equal(duckdb_appender_create(con, NULL, name, &app), DuckDBSuccess);
        }
        assert_int_equal(duckdb_append_data_chunk(app, chunk), DuckDBSuccess);
        duckdb_destroy_data_chunk(&chunk);
    }
    if (app) {
        assert_int_equal(duckdb_appender_close(app), DuckDBSuccess);
        duckdb_appender_destroy(&app);
    } else {
        assert_tst_ok(tst_duck_query(con, sql, NULL, "empty consumer table"));
    }
    duckdb_destroy_arrow_converted_schema(&converted);
    schema.release(&schema);
    s->release(s);
    assert_null(s->release);
    tst_duck_disconnect(&con);
    return rows;
}

/* Rows of the scan that are not in `expected_sql` or the other way round. */
static int64_t difference(const char *got, const char *expected_sql)
{
    char sql[4096];
    snprintf(sql, sizeof sql,
             "SELECT count(*) FROM ((SELECT * FROM %s EXCEPT ALL (%s)) UNION ALL "
             "((%s) EXCEPT ALL SELECT * FROM %s))",
             got, expected_sql, expected_sql, got);
    return duck_int(sql);
}

typedef struct fixture {
    char *root, *dir;
    tst_table *t;
    char *seg[4]; /* A 0..10, B 0..10, A 10..20, A 20..30 */
} fixture;

static void fixture_open(fixture *f)
{
    f->root = tst_test_tmpdir("scan");
    f->dir = tst_test_tmpdir("scansrc");
    f->t = tst_test_create_table(f->root, "ts", "symbol", TST_TIME_HOURS, 1);
    f->seg[0] = append_hours(f->t, f->dir, "A", 0, 10);
    f->seg[1] = append_hours(f->t, f->dir, "B", 0, 10);
    f->seg[2] = append_hours(f->t, f->dir, "A", 10, 20);
    f->seg[3] = append_hours(f->t, f->dir, "A", 20, 30);
}

static void fixture_close(fixture *f)
{
    for (int i = 0; i < 4; i++)
        free(f->seg[i]);
    tst_table_free(f->t);
    tst_test_rmtree(f->dir);
    tst_test_rmtree(f->root);
}

static void remove_segment_file(const fixture *f, int i)
{
    char *path = tst_test_path(f->root, f->seg[i]);
    assert_int_equal(unlink(path), 0);
    free(path);
}

/* ---- tests ---------------------------------------------------------------- */

static void a_half_open_range_across_segments_matches_a_select_over_the_files(void **state)
{
    (void)state;
    fixture f;
    fixture_open(&f);
    struct ArrowArrayStream s;
    tst_index_value a = hour(5), b = hour(25);
    assert_tst_ok(tst_table_scan(f.t, &a, &b, NULL, 0, NULL, 0, &s));
    assert_int_equal(consume(&s, "scan_got"), 5 + 5 + 10 + 5);
    char expected[1024];
    snprintf(expected, sizeof expected,
             "SELECT ts, symbol, v FROM read_parquet('%s/data/**/*.parquet') WHERE ts >= "
             "make_timestamp(%lld000000)::TIMESTAMPTZ AND ts < make_timestamp(%lld000000)::TIMESTAMPTZ",
             f.root, T0 + 5 * 3600, T0 + 25 * 3600);
    assert_int_equal(difference("scan_got", expected), 0);
    /* The end is exclusive: hour 25 is not there, hour 24 is. */
    assert_int_equal(duck_int("SELECT max(v) FROM scan_got"), 24);
    assert_int_equal(duck_int("SELECT min(v) FROM scan_got"), 5);
    fixture_close(&f);
}

static void an_entity_filter_returns_one_identity_and_skips_the_others_segments(void **state)
{
    (void)state;
    fixture f;
    fixture_open(&f);
    remove_segment_file(&f, 1); /* B's only segment: must never be opened for A */
    tst_entity_binding a_sym = {"symbol", {TST_ENTITY_UTF8, {.utf8 = {"A", 1}}}};
    struct ArrowArrayStream s;
    tst_index_value a = hour(0), b = hour(30);
    assert_tst_ok(tst_table_scan(f.t, &a, &b, &a_sym, 1, NULL, 0, &s));
    assert_int_equal(consume(&s, "scan_a"), 30);
    assert_int_equal(duck_int("SELECT count(*) FROM scan_a WHERE symbol <> 'A'"), 0);
    /* Without the entity the range needs B's file: it is named. */
    assert_tst_fails(tst_table_scan(f.t, &a, &b, NULL, 0, NULL, 0, &s), TST_ENOTFOUND);
    assert_non_null(strstr(tst_error_last()->message, f.seg[1]));
    assert_null(s.release);
    fixture_close(&f);
}

static void a_projection_returns_the_named_columns_in_order(void **state)
{
    (void)state;
    fixture f;
    fixture_open(&f);
    const char *cols[] = {"v", "ts"};
    struct ArrowArrayStream s;
    tst_index_value a = hour(0), b = hour(3);
    assert_tst_ok(tst_table_scan(f.t, &a, &b, NULL, 0, cols, 2, &s));
    struct ArrowSchema schema;
    assert_int_equal(s.get_schema(&s, &schema), 0);
    assert_string_equal(schema.format, "+s");
    assert_int_equal(schema.n_children, 2);
    assert_string_equal(schema.children[0]->name, "v");
    assert_string_equal(schema.children[0]->format, "l");
    assert_string_equal(schema.children[1]->name, "ts");
    assert_string_equal(schema.children[1]->format, "tsu:UTC");
    schema.release(&schema);
    assert_int_equal(consume(&s, "scan_proj"), 6);
    assert_int_equal(duck_int("SELECT sum(v) FROM scan_proj"), 2 * (0 + 1 + 2));

    const char *unknown[] = {"v", "nope"};
    assert_tst_fails(tst_table_scan(f.t, &a, &b, NULL, 0, unknown, 2, &s), TST_EINVAL);
    assert_non_null(strstr(tst_error_last()->message, "'nope'"));
    fixture_close(&f);
}

static void segments_outside_the_range_are_never_opened(void **state)
{
    (void)state;
    fixture f;
    fixture_open(&f);
    remove_segment_file(&f, 3); /* hours 20..30 */
    struct ArrowArrayStream s;
    tst_index_value a = hour(0), b = hour(20); /* 20 is excluded: the segment is not needed */
    assert_tst_ok(tst_table_scan(f.t, &a, &b, NULL, 0, NULL, 0, &s));
    assert_int_equal(consume(&s, "scan_pruned"), 30);
    tst_index_value c = hour(20);
    tst_index_value d = tst_index_value_timestamp(T0 + 20 * 3600, 1); /* one ns of it */
    assert_tst_fails(tst_table_scan(f.t, &c, &d, NULL, 0, NULL, 0, &s), TST_ENOTFOUND);
    assert_non_null(strstr(tst_error_last()->path, f.seg[3]));
    fixture_close(&f);
}

static void a_range_no_segment_meets_is_an_empty_stream_with_the_schema(void **state)
{
    (void)state;
    fixture f;
    fixture_open(&f);
    struct ArrowArrayStream s;
    tst_index_value a = hour(100), b = hour(200);
    assert_tst_ok(tst_table_scan(f.t, &a, &b, NULL, 0, NULL, 0, &s));
    struct ArrowSchema schema;
    assert_int_equal(s.get_schema(&s, &schema), 0);
    assert_int_equal(schema.n_children, 3);
    assert_string_equal(schema.children[0]->format, "tsu:UTC");
    assert_string_equal(schema.children[1]->format, "u");
    schema.release(&schema);
    struct ArrowArray arr;
    assert_int_equal(s.get_next(&s, &arr), 0);
    assert_null(arr.release);
    s.release(&s);
    fixture_close(&f);
}

static void invalid_arguments_fail_before_any_io(void **state)
{
    (void)state;
    fixture f;
    fixture_open(&f);
    for (int i = 0; i < 4; i++)
        remove_segment_file(&f, i); /* any I/O would fail with TST_ENOTFOUND */
    struct ArrowArrayStream s;
    tst_index_value a = hour(5), b = hour(5), i64 = tst_index_value_int64(3);
    assert_tst_fails(tst_table_scan(f.t, &a, &b, NULL, 0, NULL, 0, &s), TST_EINVAL);
    assert_tst_fails(tst_table_scan(f.t, &i64, &b, NULL, 0, NULL, 0, &s), TST_EINVAL);
    tst_entity_binding wrong = {"venue", {TST_ENTITY_UTF8, {.utf8 = {"X", 1}}}};
    tst_index_value c = hour(6);
    assert_tst_fails(tst_table_scan(f.t, &a, &c, &wrong, 1, NULL, 0, &s), TST_EINVAL);
    assert_tst_fails(tst_table_scan(NULL, &a, &c, NULL, 0, NULL, 0, &s), TST_EINVAL);
    assert_null(s.release);
    fixture_close(&f);

    /* A table with nothing appended has no columns to describe. */
    char *root = tst_test_tmpdir("scan");
    tst_table *t = tst_test_create_table(root, "ts", "symbol", TST_TIME_HOURS, 1);
    assert_tst_fails(tst_table_scan(t, &a, &c, NULL, 0, NULL, 0, &s), TST_EINVAL);
    tst_table_free(t);
    tst_test_rmtree(root);
}

/* Rows at base + 0, 1, 2 units; bounds base + 0.5 and base + 1.5 units
 * (expressed in ns) round up to 1 and 2: exactly the middle row. */
static void sub_unit_bounds_round_up_in_the_columns_own_unit(void **state)
{
    (void)state;
    static const struct {
        const char *duck_type;
        int64_t unit_ns;
    } units[] = {{"TIMESTAMP_MS", 1000000}, {"TIMESTAMP", 1000}, {"TIMESTAMP_NS", 1}};
    for (size_t u = 0; u < 3; u++) {
        char *root = tst_test_tmpdir("scanunit");
        char *dir = tst_test_tmpdir("scanunitsrc");
        /* Three rows within one second: format_version 6 only. */
        tst_table *t = tst_test_create_table_v6(root, "ts", NULL, TST_TIME_HOURS, 1);
        char select[512];
        if (units[u].unit_ns == 1) /* DuckDB casts TIMESTAMP_NS to nothing narrower */
            snprintf(select, sizeof select,
                     "SELECT make_timestamp_ns(%lld000000000 + i) AS ts, i AS v "
                     "FROM range(0, 3) r(i)", T0 + 10);
        else
            snprintf(select, sizeof select,
                     "SELECT CAST(make_timestamp(%lld000000 + i * %lld) AS %s) AS ts, "
                     "i AS v FROM range(0, 3) r(i)",
                     T0 + 10, (long long)units[u].unit_ns / 1000, units[u].duck_type);
        free(append_select(t, dir, select));
        int64_t half = units[u].unit_ns / 2; /* 0 for ns: bounds fall on rows */
        tst_index_value a = tst_index_value_timestamp(T0 + 10, (uint32_t)(half ? half : 1));
        tst_index_value b =
            tst_index_value_timestamp(T0 + 10, (uint32_t)(units[u].unit_ns + (half ? half : 1)));
        struct ArrowArrayStream s;
        assert_tst_ok(tst_table_scan(t, &a, &b, NULL, 0, NULL, 0, &s));
        assert_int_equal(consume(&s, "scan_unit"), 1);
        assert_int_equal(duck_int("SELECT min(v) FROM scan_unit"), 1);
        tst_table_free(t);
        tst_test_rmtree(dir);
        tst_test_rmtree(root);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(a_half_open_range_across_segments_matches_a_select_over_the_files),
        cmocka_unit_test(an_entity_filter_returns_one_identity_and_skips_the_others_segments),
        cmocka_unit_test(a_projection_returns_the_named_columns_in_order),
        cmocka_unit_test(segments_outside_the_range_are_never_opened),
        cmocka_unit_test(a_range_no_segment_meets_is_an_empty_stream_with_the_schema),
        cmocka_unit_test(invalid_arguments_fail_before_any_io),
        cmocka_unit_test(sub_unit_bounds_round_up_in_the_columns_own_unit),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
