/*
 * test_append_types.c — the type rules of an append (append_schema.c,
 * docs/guide/source-types.md), one rule per test, run against sources that
 * DuckDB writes: which columns a first append adopts as what (and says so
 * through the log callback), which later sources a table takes, which it
 * refuses with which words, and when a Parquet file is copied rather than
 * re-encoded. Most tests call the planner directly with a table schema made
 * for the rule; the last ones run whole appends.
 */
#include "testsupport.h"

#include "append_schema.h"
#include "model.h"
#include "source.h"
#include "tstable/append.h"
#include "tstable/table.h"
#include "tstable/table_coverage.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static char *dir;

static int setup(void **state)
{
    (void)state;
    dir = tst_test_tmpdir("types");
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    tst_test_rmtree(dir);
    return 0;
}

/* A Parquet source written by DuckDB from `select` (session zone UTC). */
static void source_of(tst_source *src, const char *name, const char *select)
{
    char *path = tst_test_path(dir, name);
    char sql[4096];
    snprintf(sql, sizeof sql, "COPY (%s) TO '%s' (FORMAT parquet)", select, path);
    tst_test_duck(sql);
    assert_tst_ok(tst_source_parquet(src, path));
    free(path);
}

/* A table's metadata: index `ts` (1h buckets) or an int64 index, entity
 * `symbol`, and the schema of `select` as DuckDB writes it (NULL: none). */
typedef struct table {
    tst_table_meta meta;
    char *entities[1];
} table;

static void table_of(table *t, const char *select, tst_index_type index)
{
    memset(t, 0, sizeof *t);
    t->entities[0] = "symbol";
    t->meta.index.column = index == TST_INDEX_TIMESTAMP ? "ts" : "seq";
    t->meta.index.entity_columns = t->entities;
    t->meta.index.entity_count = 1;
    t->meta.index.kind.type = index;
    t->meta.index.kind.bucket.unit = TST_TIME_HOURS;
    t->meta.index.kind.bucket.count = 1;
    t->meta.index.kind.bucket_width = 100;
    t->meta.format_version = 6;
    if (!select)
        return;
    tst_source src;
    source_of(&src, "table.parquet", select);
    assert_tst_ok(tst_source_logical_schema(&src, &t->meta.schema));
    tst_source_clear(&src);
}

static tst_field *field(table *t, const char *name)
{
    tst_field *f = (tst_field *)tst_schema_find(t->meta.schema, name);
    assert_non_null(f);
    return f;
}

static void set_zone(table *t, const char *name, const char *zone)
{
    tst_field *f = field(t, name);
    free(f->type.timezone);
    f->type.timezone = zone ? strdup(zone) : NULL;
}

static void table_clear(table *t)
{
    tst_schema_free(t->meta.schema);
}

static void assert_message_has(const char *words)
{
    const char *m = tst_error_last()->message;
    if (!strstr(m, words))
        fail_msg("message lacks \"%s\": %s", words, m);
}

static int plan(table *t, const tst_source *src, tst_append_plan *out)
{
    return tst_append_plan_schema(&t->meta, src, "T", out);
}

/* ---- the log callback -------------------------------------------------------- */

static char notes[4096];

static void keep_note(void *ctx, tst_log_level level, const char *event, const char *message)
{
    (void)ctx;
    if (level == TST_LOG_WARN && strcmp(event, "append.adopt") == 0) {
        strncat(notes, message, sizeof notes - strlen(notes) - 2);
        strcat(notes, "\n");
    }
}

/* ---- adoption ------------------------------------------------------------------ */

static void a_first_append_adopts_the_nearest_type_and_says_so(void **state)
{
    (void)state;
    table t;
    table_of(&t, NULL, TST_INDEX_TIMESTAMP);
    tst_source src;
    source_of(&src, "narrow.parquet",
              "SELECT TIMESTAMP '2024-01-01' AS ts, 'A' AS symbol, 1::TINYINT AS i8, "
              "1::USMALLINT AS u16, DATE '2024-01-01' AS d, '{\"a\": 1}'::JSON AS js, "
              "1.5::DOUBLE AS x");
    notes[0] = '\0';
    tst_set_log_callback(keep_note, NULL);
    tst_append_plan p;
    int rc = plan(&t, &src, &p);
    tst_set_log_callback(NULL, NULL);
    assert_tst_ok(rc);
    char type[64];
    const char *want[][2] = {{"i8", "int32"}, {"u16", "uint64"}, {"d", "timestamp[us]"},
                             {"js", "utf8"}, {"x", "float64"}, {"ts", "timestamp[us]"}};
    for (size_t i = 0; i < 6; i++) {
        tst_type_format(&tst_schema_find(p.adopted, want[i][0])->type, type, sizeof type);
        assert_string_equal(type, want[i][1]);
    }
    assert_string_equal(notes, "table T: column 'i8' (int8) stored as int32\n"
                               "table T: column 'u16' (uint16) stored as uint64\n"
                               "table T: column 'd' (date32) stored as timestamp[us]\n"
                               "table T: column 'js' (json) stored as utf8\n");
    assert_false(p.copyable); /* the segment must declare the adopted types */
    tst_append_plan_clear(&p);
    tst_source_clear(&src);
}

static void a_file_is_copied_only_when_its_footer_reads_as_the_table(void **state)
{
    (void)state;
    table t;
    table_of(&t, NULL, TST_INDEX_TIMESTAMP);
    tst_source naive, zoned;
    source_of(&naive, "naive.parquet", "SELECT TIMESTAMP '2024-01-01' AS ts, 'A' AS symbol");
    source_of(&zoned, "zoned.parquet", "SELECT TIMESTAMPTZ '2024-01-01' AS ts, 'A' AS symbol");
    tst_append_plan p;
    assert_tst_ok(plan(&t, &naive, &p));
    assert_true(p.copyable);
    tst_append_plan_clear(&p);
    /* DuckDB's UTC-adjusted timestamps: we read UTC, a footer reader
     * without ARROW:schema (the reference) reads zone-less: re-encode. */
    assert_tst_ok(plan(&t, &zoned, &p));
    assert_false(p.copyable);
    tst_append_plan_clear(&p);
    table later;
    table_of(&later, "SELECT TIMESTAMPTZ '2024-01-01' AS ts, 'A' AS symbol", TST_INDEX_TIMESTAMP);
    assert_tst_ok(plan(&later, &zoned, &p));
    assert_false(p.copyable);
    tst_append_plan_clear(&p);
    table_clear(&later);
    table_of(&later, "SELECT TIMESTAMP '2024-01-01' AS ts, 'A' AS symbol", TST_INDEX_TIMESTAMP);
    assert_tst_ok(plan(&later, &naive, &p));
    assert_true(p.copyable);
    tst_append_plan_clear(&p);
    table_clear(&later);
    tst_source_clear(&naive);
    tst_source_clear(&zoned);
}

static void an_int32_index_is_adopted_as_the_int64_index(void **state)
{
    (void)state;
    table t;
    table_of(&t, NULL, TST_INDEX_INT64);
    tst_source src;
    source_of(&src, "i32.parquet", "SELECT 1::INTEGER AS seq, 'A' AS symbol");
    tst_append_plan p;
    assert_tst_ok(plan(&t, &src, &p));
    assert_int_equal(tst_schema_find(p.adopted, "seq")->type.kind, TST_TYPE_INT64);
    assert_false(p.copyable);
    tst_append_plan_clear(&p);
    tst_source_clear(&src);
    /* Signed into a uint64 index could be negative: refused. */
    t.meta.index.kind.type = TST_INDEX_UINT64;
    source_of(&src, "i32.parquet", "SELECT 1::INTEGER AS seq, 'A' AS symbol");
    assert_tst_fails(plan(&t, &src, &p), TST_ESCHEMA);
    assert_message_has("the index column 'seq' has type int32, expected uint64 (the table's index type)");
    tst_source_clear(&src);
}

static void refused_types_name_the_column_and_the_way_out(void **state)
{
    (void)state;
    table t;
    table_of(&t, NULL, TST_INDEX_TIMESTAMP);
    tst_source src;
    source_of(&src, "uuid.parquet", "SELECT TIMESTAMP '2024-01-01' AS ts, 'A' AS symbol, "
                                    "gen_random_uuid() AS id");
    tst_append_plan p;
    assert_tst_fails(plan(&t, &src, &p), TST_ESCHEMA);
    assert_message_has("column 'id' has type uuid, which no table column can hold");
    assert_message_has("`id::VARCHAR`");
    tst_source_clear(&src);
    /* Matched against a table too. */
    table later;
    table_of(&later, "SELECT TIMESTAMP '2024-01-01' AS ts, 'A' AS symbol, 'x' AS id",
             TST_INDEX_TIMESTAMP);
    source_of(&src, "uuid.parquet", "SELECT TIMESTAMP '2024-01-01' AS ts, 'A' AS symbol, "
                                    "gen_random_uuid() AS id");
    assert_tst_fails(plan(&later, &src, &p), TST_ESCHEMA);
    assert_message_has("column 'id' has type utf8 in the table but uuid in the source");
    assert_message_has("`id::VARCHAR`");
    tst_source_clear(&src);
    table_clear(&later);
}

/* ---- later appends: nullability ---------------------------------------------------- */

static void nulls_into_a_non_null_column_are_counted_from_statistics_or_rows(void **state)
{
    (void)state;
    table t;
    table_of(&t, "SELECT TIMESTAMP '2024-01-01' AS ts, 'A' AS symbol, 1.5::DOUBLE AS x",
             TST_INDEX_TIMESTAMP);
    field(&t, "x")->nullable = false;
    tst_source src;
    tst_append_plan p;
    /* Parquet: the footer's null counts answer. */
    source_of(&src, "nulls.parquet", "SELECT TIMESTAMP '2024-01-01' + INTERVAL (i) HOUR AS ts, "
                                     "'A' AS symbol, CASE WHEN i % 4 = 0 THEN NULL ELSE 1.5 END"
                                     "::DOUBLE AS x FROM range(10) r(i)");
    assert_tst_fails(plan(&t, &src, &p), TST_ESCHEMA);
    assert_message_has("column 'x' is not nullable in the table, but the source holds 3 nulls "
                       "in it; nothing was written");
    tst_source_clear(&src);
    /* CSV: the rows answer. */
    char *csv = tst_test_path(dir, "nulls.csv");
    const char *text = "ts,symbol,x\n2024-01-01T00:00:00,A,\n2024-01-01T01:00:00,A,2.5\n";
    assert_int_equal(tst_test_write_file(csv, text, strlen(text)), 0);
    tst_csv_options opts = TST_CSV_OPTIONS_INIT;
    opts.columns = "{'ts': 'TIMESTAMP', 'symbol': 'VARCHAR', 'x': 'DOUBLE'}";
    assert_tst_ok(tst_source_csv(&src, csv, &opts, NULL));
    assert_tst_fails(plan(&t, &src, &p), TST_ESCHEMA);
    assert_message_has("holds 1 null in it");
    tst_source_clear(&src);
    free(csv);
    /* Without a null: accepted, re-encoded to declare the column non-null. */
    source_of(&src, "full.parquet", "SELECT TIMESTAMP '2024-01-01' AS ts, 'A' AS symbol, "
                                    "1.5::DOUBLE AS x");
    assert_tst_ok(plan(&t, &src, &p));
    assert_false(p.copyable);
    tst_append_plan_clear(&p);
    /* Non-null into nullable: no check, re-encoded. */
    field(&t, "x")->nullable = true;
    src.columns[2].nullable = false;
    assert_tst_ok(plan(&t, &src, &p));
    assert_false(p.copyable);
    tst_append_plan_clear(&p);
    tst_source_clear(&src);
    table_clear(&t);
}

/* ---- later appends: timestamps and integers ------------------------------------------ */

static void timestamps_narrow_only_when_every_value_is_exact(void **state)
{
    (void)state;
    table t;
    table_of(&t, "SELECT TIMESTAMPTZ '2024-01-01' AS ts, 'A' AS symbol", TST_INDEX_TIMESTAMP);
    field(&t, "ts")->type.unit = TST_PRECISION_MILLIS;
    tst_source src;
    tst_append_plan p;
    source_of(&src, "whole.parquet", "SELECT TIMESTAMPTZ '2024-01-01 00:00:00.123+00' AS ts, "
                                     "'A' AS symbol");
    assert_tst_ok(plan(&t, &src, &p));
    tst_append_plan_clear(&p);
    tst_source_clear(&src);
    source_of(&src, "frac.parquet", "SELECT TIMESTAMPTZ '2024-01-01 00:00:00+00' + INTERVAL (i) "
                                    "MICROSECOND AS ts, 'A' AS symbol FROM range(3) r(i)");
    assert_tst_fails(plan(&t, &src, &p), TST_ESCHEMA);
    assert_message_has("column 'ts' holds milliseconds in the table, but 2 values of the source "
                       "(timestamp[us](UTC)) are not whole milliseconds, the first "
                       "2024-01-01 00:00:00.000001+00");
    tst_source_clear(&src);
    /* Widening needs no check: ns table, seconds/ms/us/date sources. */
    field(&t, "ts")->type.unit = TST_PRECISION_NANOS;
    source_of(&src, "ms.parquet", "SELECT TIMESTAMP '2024-01-01 00:00:00.123'::TIMESTAMP_MS "
                                  "AS ts, 'A' AS symbol");
    set_zone(&t, "ts", NULL);
    assert_tst_ok(plan(&t, &src, &p));
    assert_false(p.copyable);
    tst_append_plan_clear(&p);
    tst_source_clear(&src);
    table_clear(&t);
}

static void any_zone_meets_any_zone_but_never_a_zone_less_column(void **state)
{
    (void)state;
    table t;
    table_of(&t, "SELECT TIMESTAMPTZ '2024-01-01' AS ts, 'A' AS symbol", TST_INDEX_TIMESTAMP);
    set_zone(&t, "ts", "America/New_York");
    tst_source zoned, naive, date;
    source_of(&zoned, "zoned.parquet", "SELECT TIMESTAMPTZ '2024-01-01' AS ts, 'A' AS symbol");
    source_of(&naive, "naive.parquet", "SELECT TIMESTAMP '2024-01-01' AS ts, 'A' AS symbol");
    source_of(&date, "date.parquet", "SELECT DATE '2024-01-01' AS ts, 'A' AS symbol");
    tst_append_plan p;
    assert_tst_ok(plan(&t, &zoned, &p));
    assert_false(p.copyable);
    tst_append_plan_clear(&p);
    assert_tst_fails(plan(&t, &naive, &p), TST_ESCHEMA);
    assert_message_has("column 'ts' is timestamp[us](America/New_York) in the table but "
                       "timestamp[us] (without a time zone) in the source");
    assert_message_has("`timezone('UTC', ts)`");
    assert_tst_fails(plan(&t, &date, &p), TST_ESCHEMA);
    assert_message_has("but date32 (without a time zone)");
    set_zone(&t, "ts", NULL);
    assert_tst_fails(plan(&t, &zoned, &p), TST_ESCHEMA);
    assert_message_has("drop the zone from the source");
    assert_tst_ok(plan(&t, &date, &p)); /* a date into a zone-less timestamp column */
    assert_false(p.copyable);
    tst_append_plan_clear(&p);
    tst_source_clear(&zoned);
    tst_source_clear(&naive);
    tst_source_clear(&date);
    table_clear(&t);
}

static void integers_widen_but_never_a_possibly_negative_into_unsigned(void **state)
{
    (void)state;
    table t;
    table_of(&t, "SELECT TIMESTAMP '2024-01-01' AS ts, 'A' AS symbol, 1::BIGINT AS a, "
                 "1::UBIGINT AS b, 1::FLOAT AS c", TST_INDEX_TIMESTAMP);
    tst_source src;
    tst_append_plan p;
    source_of(&src, "ok.parquet", "SELECT TIMESTAMP '2024-01-01' AS ts, 'A' AS symbol, "
                                  "1::UINTEGER AS a, 1::UTINYINT AS b, 1::FLOAT AS c");
    assert_tst_ok(plan(&t, &src, &p));
    assert_false(p.copyable);
    tst_append_plan_clear(&p);
    tst_source_clear(&src);
    source_of(&src, "signed.parquet", "SELECT TIMESTAMP '2024-01-01' AS ts, 'A' AS symbol, "
                                      "1::BIGINT AS a, 1::INTEGER AS b, 1::FLOAT AS c");
    assert_tst_fails(plan(&t, &src, &p), TST_ESCHEMA);
    assert_message_has("column 'b' has type uint64 in the table but int32 in the source, and "
                       "int32 does not convert to uint64 without loss; cast it to uint64 first");
    tst_source_clear(&src);
    source_of(&src, "wide.parquet", "SELECT TIMESTAMP '2024-01-01' AS ts, 'A' AS symbol, "
                                    "1::UBIGINT AS a, 1::UBIGINT AS b, 1::FLOAT AS c");
    assert_tst_fails(plan(&t, &src, &p), TST_ESCHEMA);
    assert_message_has("column 'a' has type int64 in the table but uint64 in the source");
    tst_source_clear(&src);
    table_clear(&t);
}

static void lists_meet_whatever_their_element_is_named(void **state)
{
    (void)state;
    table t;
    table_of(&t, "SELECT TIMESTAMP '2024-01-01' AS ts, 'A' AS symbol, [1, 2]::INTEGER[] AS l",
             TST_INDEX_TIMESTAMP);
    tst_source src;
    source_of(&src, "items.parquet", "SELECT TIMESTAMP '2024-01-01' AS ts, 'A' AS symbol, "
                                     "[3]::INTEGER[] AS l");
    tst_append_plan p;
    assert_tst_ok(plan(&t, &src, &p));
    assert_true(p.copyable); /* the same names: copied */
    tst_append_plan_clear(&p);
    /* pyarrow and arrow-rs name the element "item", and may make it non-null. */
    tst_field *element = src.columns[2].type.element;
    free(element->name);
    element->name = strdup("item");
    element->nullable = false;
    assert_tst_ok(plan(&t, &src, &p));
    assert_false(p.copyable); /* re-encoded to declare the table's names */
    tst_append_plan_clear(&p);
    /* A nullable element never goes into a non-null one unchecked. */
    field(&t, "l")->type.element->nullable = false;
    element->nullable = true;
    assert_tst_fails(plan(&t, &src, &p), TST_ESCHEMA);
    assert_message_has("column 'l' has type List<element: int32> in the table");
    tst_source_clear(&src);
    table_clear(&t);
}

/* ---- whole appends ------------------------------------------------------------------------ */

static void a_daily_table_takes_dates_as_its_index(void **state)
{
    (void)state;
    char *root = tst_test_path(dir, "daily");
    tst_table *t = tst_test_create_table(root, "date", "symbol", TST_TIME_DAYS, 1);
    char *a = tst_test_path(dir, "days.parquet"), *b = tst_test_path(dir, "more.parquet");
    char sql[2048];
    snprintf(sql, sizeof sql, "COPY (SELECT (DATE '2024-01-01' + INTERVAL (d) DAY)::DATE AS date, "
             "'AAPL' AS symbol, d::DOUBLE AS close FROM range(10) r(d)) TO '%s' (FORMAT parquet)",
             a);
    tst_test_duck(sql);
    snprintf(sql, sizeof sql, "COPY (SELECT DATE '2024-01-11' AS date, 'AAPL' AS symbol, "
             "1.5::DOUBLE AS close) TO '%s' (FORMAT parquet)", b);
    tst_test_duck(sql);
    tst_append_result res;
    assert_tst_ok(tst_table_append_parquet(t, a, NULL, &res));
    assert_false(res.copied);
    assert_tst_ok(tst_table_append_parquet(t, b, NULL, &res));
    tst_entity_binding aapl = tst_test_symbol("AAPL");
    tst_index_value start = tst_test_ts("2024-01-01T00:00:00Z");
    tst_index_value end = tst_test_ts("2024-01-12T00:00:00Z");
    tst_coverage_counts c;
    assert_tst_ok(tst_table_coverage(t, &aapl, 1, &start, &end, &c));
    assert_int_equal(c.covered_buckets, 11);
    assert_tst_fails(tst_table_append_parquet(t, b, NULL, NULL), TST_EOVERLAP);
    tst_table_free(t);
    free(a);
    free(b);
    free(root);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(a_first_append_adopts_the_nearest_type_and_says_so),
        cmocka_unit_test(a_file_is_copied_only_when_its_footer_reads_as_the_table),
        cmocka_unit_test(an_int32_index_is_adopted_as_the_int64_index),
        cmocka_unit_test(refused_types_name_the_column_and_the_way_out),
        cmocka_unit_test(nulls_into_a_non_null_column_are_counted_from_statistics_or_rows),
        cmocka_unit_test(timestamps_narrow_only_when_every_value_is_exact),
        cmocka_unit_test(any_zone_meets_any_zone_but_never_a_zone_less_column),
        cmocka_unit_test(integers_widen_but_never_a_possibly_negative_into_unsigned),
        cmocka_unit_test(lists_meet_whatever_their_element_is_named),
        cmocka_unit_test(a_daily_table_takes_dates_as_its_index),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
