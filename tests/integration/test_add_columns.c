/*
 * test_add_columns.c — tst_table_add_columns (tstable/evolve.h): each rule
 * refused with its code and nothing written; the one commit an addition
 * makes; appends that leave the new (and old nullable) columns out, while
 * keys stay required and a table without additions stays strict; scans that
 * read only older segments; optimize in the evolved schema; a stale handle's
 * conflict; the format_version-6 refusal.
 */
#include "testsupport.h"

#include "append_internal.h"
#include "model.h"
#include "tstable/append.h"
#include "tstable/evolve.h"
#include "tstable/optimize.h"
#include "tstable/scan.h"
#include "tstable/session.h"
#include "tstable/table.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void append_csv(tst_table *t, const char *root, const char *name, const char *text)
{
    char *path = tst_test_path(root, name);
    assert_int_equal(tst_test_write_file(path, text, strlen(text)), 0);
    assert_tst_ok(tst_table_append_csv(t, path, NULL, NULL, NULL));
    free(path);
}

static int append_csv_rc(tst_table *t, const char *root, const char *name, const char *text)
{
    char *path = tst_test_path(root, name);
    assert_int_equal(tst_test_write_file(path, text, strlen(text)), 0);
    int rc = tst_table_append_csv(t, path, NULL, NULL, NULL);
    free(path);
    return rc;
}

/* A protocol-7 table with one append: ts, symbol, close. */
static tst_table *table_with_data(const char *root)
{
    tst_table *t = tst_test_create_symbol_table(root, 7);
    append_csv(t, root, "a.csv", "ts,symbol,close\n2024-01-01T00:00:00Z,A,1.5\n"
                                 "2024-01-01T00:00:00Z,B,2.5\n");
    return t;
}

static tst_field column(const char *name, tst_type_kind kind, bool nullable)
{
    tst_field f;
    memset(&f, 0, sizeof f);
    f.name = (char *)name;
    f.type.kind = kind;
    f.nullable = nullable;
    return f;
}

/* The first row of a session query, its cells joined by '|' (NULLs skipped). */
static void expect_row(tst_session *s, const char *expected, const char *cells)
{
    char sql[1024];
    snprintf(sql, sizeof sql, "SELECT concat_ws('|', %s) FROM t", cells);
    char *got = tst_test_first_value(s, sql, NULL, 0);
    if (strcmp(got, expected) != 0)
        fail_msg("%s: expected %s, got %s", sql, expected, got);
    free(got);
}

static int log_files(const char *root)
{
    char *dir = tst_test_path(root, "_timeseries_log");
    int n = tst_test_count_files(dir);
    free(dir);
    return n;
}

static void expect_refused(tst_table *t, const char *root, const tst_field *cols, size_t n,
                           int code, const char *words)
{
    uint64_t before = tst_table_version(t);
    int files = log_files(root);
    assert_tst_fails(tst_table_add_columns(t, cols, n, NULL), code);
    if (!strstr(tst_error_last()->message, words))
        fail_msg("expected '%s' in: %s", words, tst_error_last()->message);
    assert_int_equal(tst_table_version(t), before);
    assert_int_equal(log_files(root), files);
}

static void every_rule_is_refused_and_writes_nothing(void **state)
{
    (void)state;
    char *root = tst_test_tmpdir("addcols_rules");
    tst_table *t = tst_test_create_symbol_table(root, 7);
    tst_field ok = column("vwap", TST_TYPE_FLOAT64, true);
    expect_refused(t, root, &ok, 1, TST_ESCHEMA, "has no established canonical schema yet");
    tst_table_free(t);
    t = NULL;
    tst_test_rmtree(root);
    root = tst_test_tmpdir("addcols_rules");
    t = table_with_data(root);
    assert_tst_fails(tst_table_add_columns(NULL, &ok, 1, NULL), TST_EINVAL);
    assert_tst_fails(tst_table_add_columns(t, NULL, 1, NULL), TST_EINVAL);
    expect_refused(t, root, NULL, 0, TST_ESCHEMA, "no column was given");
    tst_field blank[] = {column("vwap", TST_TYPE_FLOAT64, true), column(" \t", TST_TYPE_INT64, true)};
    expect_refused(t, root, blank, 2, TST_ESCHEMA, "column 2 (counting from 1) has an empty");
    tst_field empty = column("", TST_TYPE_INT64, true);
    expect_refused(t, root, &empty, 1, TST_ESCHEMA, "empty name or one of whitespace only");
    tst_field existing = column("close", TST_TYPE_FLOAT64, true);
    expect_refused(t, root, &existing, 1, TST_ESCHEMA, "already has a column 'close'");
    tst_field key = column("symbol", TST_TYPE_UTF8, true);
    expect_refused(t, root, &key, 1, TST_ESCHEMA, "already has a column 'symbol'");
    tst_field twice[] = {column("n", TST_TYPE_INT64, true), column("n", TST_TYPE_INT64, true)};
    expect_refused(t, root, twice, 2, TST_ESCHEMA, "the column 'n' is given twice");
    tst_field cased = column("Close", TST_TYPE_FLOAT64, true);
    expect_refused(t, root, &cased, 1, TST_ESCHEMA, "only in letter case");
    tst_field required = column("n", TST_TYPE_INT64, false);
    expect_refused(t, root, &required, 1, TST_ESCHEMA, "'n' must be nullable");
    tst_field int96 = column("n", TST_TYPE_INT96, true);
    expect_refused(t, root, &int96, 1, TST_ESCHEMA, "a type no table column holds");
    tst_field other = column("n", TST_TYPE_OTHER, true);
    other.type.other_name = "date32";
    expect_refused(t, root, &other, 1, TST_ESCHEMA, "a type no table column holds");
    tst_field fixed = column("n", TST_TYPE_FIXED_BINARY, true);
    fixed.type.byte_width = 4;
    expect_refused(t, root, &fixed, 1, TST_ESCHEMA, "cannot be written exactly");
    tst_field wide = column("n", TST_TYPE_DECIMAL, true);
    wide.type.precision = 50;
    wide.type.scale = 2;
    expect_refused(t, root, &wide, 1, TST_ESCHEMA, "38 digits");
    /* After all that, the handle still works. */
    uint64_t v = 0;
    assert_tst_ok(tst_table_add_columns(t, &ok, 1, &v));
    assert_int_equal(v, 3);
    tst_table_free(t);
    tst_test_rmtree(root);
}

static void a_format_version_6_table_is_refused_with_the_migrate_command(void **state)
{
    (void)state;
    char *root = tst_test_tmpdir("addcols_v6");
    tst_table *t = tst_test_create_symbol_table(root, 6);
    append_csv(t, root, "a.csv", "ts,symbol,close\n2024-01-01T00:00:00Z,A,1.5\n");
    tst_field ok = column("vwap", TST_TYPE_FLOAT64, true);
    expect_refused(t, root, &ok, 1, TST_EUNSUPPORTED, "tstable migrate --table SRC --to DST");
    tst_table_free(t);
    tst_test_rmtree(root);
}

/* A column's annotations are recorded with it, and that commit declares
 * schema_metadata as a reader and a writer feature (reference 0.9). */
static void annotated_columns_declare_schema_metadata(void **state)
{
    (void)state;
    char *root = tst_test_tmpdir("addcols_annotated");
    tst_table *t = table_with_data(root);
    tst_field col = column("vwap", TST_TYPE_FLOAT64, true);
    assert_tst_ok(tst_metadata_add(&col.metadata, "unit", 4, "ms", 2, "test"));
    uint64_t v = 0;
    assert_tst_ok(tst_table_add_columns(t, &col, 1, &v));
    tst_metadata_clear(&col.metadata);
    char *text = tst_test_read_commit(root, v);
    assert_non_null(strstr(text, "\"metadata\":{\"unit\":\"ms\"}"));
    assert_non_null(strstr(text, "\"required_reader_features\":[\"schema_add_columns\","
                                 "\"schema_metadata\"],"
                                 "\"required_writer_features\":[\"schema_metadata\"]"));
    free(text);
    tst_table_free(t);
    assert_tst_ok(tst_table_open(&t, root));
    const tst_schema *s = tst_table_get_meta(t)->schema;
    const tst_field *f = tst_schema_find(s, "vwap");
    assert_non_null(f);
    assert_int_equal(f->metadata.count, 1);
    assert_string_equal(f->metadata.items[0].value, "ms");
    tst_table_free(t);
    tst_test_rmtree(root);
}

static void the_addition_is_one_metadata_commit(void **state)
{
    (void)state;
    char *root = tst_test_tmpdir("addcols_commit");
    tst_table *t = table_with_data(root);
    char *data = tst_test_path(root, "data");
    char *cov = tst_test_path(root, "_coverage");
    int data_files = tst_test_count_files(data), cov_files = tst_test_count_files(cov);
    tst_field cols[] = {column("vwap", TST_TYPE_FLOAT64, true),
                        column("venue", TST_TYPE_UTF8, true)};
    uint64_t v = 0;
    assert_tst_ok(tst_table_add_columns(t, cols, 2, &v));
    assert_int_equal(v, 3);
    assert_int_equal(tst_table_version(t), 3);
    char *text = tst_test_read_commit(root, 3);
    assert_non_null(strstr(text, "\"actions\":[{\"UpdateTableMeta\":{"));
    assert_null(strstr(text, "AddSegment"));
    assert_null(strstr(text, "UpdateTableCoverage"));
    assert_non_null(strstr(text, "{\"name\":\"close\",\"data_type\":\"Float64\",\"nullable\":true},"
                                 "{\"name\":\"vwap\",\"data_type\":\"Float64\",\"nullable\":true},"
                                 "{\"name\":\"venue\",\"data_type\":\"Utf8\",\"nullable\":true}]"));
    assert_non_null(strstr(text, "\"required_reader_features\":[\"schema_add_columns\"],"
                                 "\"required_writer_features\":[]"));
    free(text);
    assert_int_equal(tst_test_count_files(data), data_files);
    assert_int_equal(tst_test_count_files(cov), cov_files);
    /* A second addition keeps the feature once. */
    tst_field more = column("n", TST_TYPE_INT64, true);
    assert_tst_ok(tst_table_add_columns(t, &more, 1, &v));
    text = tst_test_read_commit(root, 4);
    assert_non_null(strstr(text, "\"required_reader_features\":[\"schema_add_columns\"],"));
    free(text);
    /* Reopened: the schema has every column. */
    tst_table_free(t);
    assert_tst_ok(tst_table_open(&t, root));
    const tst_schema *s = tst_table_get_meta(t)->schema;
    assert_int_equal(s->column_count, 6);
    assert_string_equal(s->columns[5].name, "n");
    free(data);
    free(cov);
    tst_table_free(t);
    tst_test_rmtree(root);
}

static void appends_may_leave_out_nullable_payload_columns_only_after_an_addition(void **state)
{
    (void)state;
    char *root = tst_test_tmpdir("addcols_append");
    tst_table *t = table_with_data(root);
    /* Strict before any addition: close is nullable but required. */
    assert_tst_fails(append_csv_rc(t, root, "s.csv", "ts,symbol\n2024-01-02T00:00:00Z,A\n"),
                     TST_ESCHEMA);
    tst_field vwap = column("vwap", TST_TYPE_FLOAT64, true);
    assert_tst_ok(tst_table_add_columns(t, &vwap, 1, NULL));
    /* Keys stay required. */
    assert_tst_fails(append_csv_rc(t, root, "k.csv", "ts,close\n2024-01-02T00:00:00Z,1\n"),
                     TST_ESCHEMA);
    assert_non_null(strstr(tst_error_last()->message, "'symbol'"));
    /* An extra column is still refused, even with the same column count. */
    assert_tst_fails(append_csv_rc(t, root, "x.csv", "ts,symbol,close,bogus\n"
                                                     "2024-01-02T00:00:00Z,A,1,2\n"), TST_ESCHEMA);
    assert_non_null(strstr(tst_error_last()->message, "bogus"));
    assert_int_equal(tst_table_version(t), 3);
    append_csv(t, root, "b.csv", "ts,symbol\n2024-01-02T00:00:00Z,A\n");
    append_csv(t, root, "c.csv", "ts,symbol,close,vwap\n2024-01-03T00:00:00Z,A,3.5,9.25\n");
    assert_int_equal(tst_table_version(t), 5);
    tst_session *s = NULL;
    assert_tst_ok(tst_session_open(&s));
    assert_tst_ok(tst_session_register_table(s, "t", root));
    expect_row(s, "4|3|7.5|1|9.25", "count(*), count(close), sum(close), count(vwap), sum(vwap)");
    tst_session_free(s);
    tst_table_free(t);
    tst_test_rmtree(root);
}

static void scans_of_older_segments_only_read_the_new_columns_as_nulls(void **state)
{
    (void)state;
    char *root = tst_test_tmpdir("addcols_scan");
    tst_table *t = table_with_data(root);
    tst_field cols[] = {column("vwap", TST_TYPE_FLOAT64, true),
                        column("venue", TST_TYPE_UTF8, true)};
    assert_tst_ok(tst_table_add_columns(t, cols, 2, NULL));
    append_csv(t, root, "c.csv", "ts,symbol,close,vwap,venue\n2024-01-03T00:00:00Z,A,3.5,9.25,X\n");
    /* Only the first segment: no kept file has vwap or venue. */
    tst_index_value lo = tst_test_ts("2024-01-01T00:00:00Z"), hi = tst_test_ts("2024-01-02T00:00:00Z");
    struct ArrowArrayStream stream;
    assert_tst_ok(tst_table_scan(t, &lo, &hi, NULL, 0, NULL, 0, &stream));
    struct ArrowSchema schema;
    assert_int_equal(stream.get_schema(&stream, &schema), 0);
    assert_int_equal(schema.n_children, 5);
    assert_string_equal(schema.children[3]->name, "vwap");
    assert_string_equal(schema.children[3]->format, "g");
    assert_string_equal(schema.children[4]->format, "u");
    schema.release(&schema);
    uint64_t rows = 0;
    for (;;) {
        struct ArrowArray batch;
        assert_int_equal(stream.get_next(&stream, &batch), 0);
        if (!batch.release)
            break;
        rows += (uint64_t)batch.length;
        assert_int_equal(batch.children[3]->null_count, batch.length);
        assert_int_equal(batch.children[4]->null_count, batch.length);
        batch.release(&batch);
    }
    stream.release(&stream);
    assert_int_equal(rows, 2);
    tst_table_free(t);
    tst_test_rmtree(root);
}

static void optimize_rewrites_older_segments_in_the_evolved_schema(void **state)
{
    (void)state;
    char *root = tst_test_tmpdir("addcols_optimize");
    tst_table *t = table_with_data(root); /* one mixed segment: A and B */
    tst_field vwap = column("vwap", TST_TYPE_FLOAT64, true);
    assert_tst_ok(tst_table_add_columns(t, &vwap, 1, NULL));
    append_csv(t, root, "c.csv", "ts,symbol,close,vwap\n2024-01-03T00:00:00Z,A,3.5,9.25\n"
                                 "2024-01-03T00:00:00Z,B,4.5,\n");
    tst_optimize_report report;
    assert_tst_ok(tst_table_optimize(t, NULL, &report));
    assert_int_equal(report.source_segments_replaced, 2);
    assert_int_equal(report.rows_written, 4);
    tst_session *s = NULL;
    assert_tst_ok(tst_session_open(&s));
    assert_tst_ok(tst_session_register_table(s, "t", root));
    expect_row(s, "4|1|9.25|12.0", "count(*), count(vwap), sum(vwap), sum(close)");
    /* Every live file now holds the whole schema, the older ones included. */
    assert_int_equal(tst_table_segment_count(t), 4);
    for (size_t i = 0; i < tst_table_segment_count(t); i++)
        tst_test_assert_sql("1", "SELECT count(*) FROM parquet_schema('%s/%s') WHERE name = 'vwap'",
                            root, tst_table_segment_at(t, i)->path);
    tst_session_free(s);
    tst_table_free(t);
    tst_test_rmtree(root);
}

static void a_stale_handle_conflicts_and_writes_nothing(void **state)
{
    (void)state;
    char *root = tst_test_tmpdir("addcols_stale");
    tst_table *t = table_with_data(root);
    tst_table *stale = NULL;
    assert_tst_ok(tst_table_open(&stale, root));
    tst_field a = column("a", TST_TYPE_INT64, true), b = column("b", TST_TYPE_INT64, true);
    assert_tst_ok(tst_table_add_columns(t, &a, 1, NULL));
    assert_tst_fails(tst_table_add_columns(stale, &b, 1, NULL), TST_ECONFLICT);
    assert_int_equal(tst_error_last()->expected_version, 2);
    assert_int_equal(tst_error_last()->found_version, 3);
    assert_non_null(strstr(tst_error_last()->message, "refresh the table"));
    assert_int_equal(tst_table_version(stale), 2);
    char *next = tst_test_path(root, "_timeseries_log/0000000004.json");
    assert_false(tst_test_exists(next));
    free(next);
    assert_tst_ok(tst_table_refresh(stale, NULL));
    uint64_t v = 0;
    assert_tst_ok(tst_table_add_columns(stale, &b, 1, &v));
    assert_int_equal(v, 4);
    assert_int_equal(tst_table_get_meta(stale)->schema->column_count, 5);
    tst_table_free(stale);
    tst_table_free(t);
    tst_test_rmtree(root);
}

static void nested_columns_left_out_are_written_as_nulls(void **state)
{
    (void)state;
    char *root = tst_test_tmpdir("addcols_nested");
    tst_table *t = table_with_data(root);
    tst_field element = column("item", TST_TYPE_INT64, true);
    tst_field list = column("tags", TST_TYPE_LIST, true);
    list.type.element = &element;
    tst_field zoned = column("at", TST_TYPE_TIMESTAMP, true);
    zoned.type.unit = TST_PRECISION_MILLIS;
    zoned.type.timezone = "UTC";
    tst_field cols[] = {list, zoned};
    assert_tst_ok(tst_table_add_columns(t, cols, 2, NULL));
    append_csv(t, root, "b.csv", "ts,symbol,close\n2024-01-02T00:00:00Z,A,1\n");
    tst_session *s = NULL;
    assert_tst_ok(tst_session_open(&s));
    assert_tst_ok(tst_session_register_table(s, "t", root));
    expect_row(s, "3|0|0", "count(*), count(tags), count(\"at\")");
    tst_session_free(s);
    tst_table_free(t);
    tst_test_rmtree(root);
}

/* Another process's addition right before an append's first commit attempt. */
static void add_before_commit(void *ctx, unsigned attempt)
{
    if (attempt != 1)
        return;
    tst_table *other = NULL;
    assert_tst_ok(tst_table_open(&other, (const char *)ctx));
    tst_field f = column("vwap", TST_TYPE_FLOAT64, true);
    assert_tst_ok(tst_table_add_columns(other, &f, 1, NULL));
    tst_table_free(other);
}

static void an_append_planned_before_an_addition_rebases_over_it(void **state)
{
    (void)state;
    char *root = tst_test_tmpdir("addcols_rebase");
    tst_table *t = table_with_data(root);
    char *path = tst_test_path(root, "b.csv");
    const char *text = "ts,symbol,close\n2024-01-02T00:00:00Z,A,3\n";
    assert_int_equal(tst_test_write_file(path, text, strlen(text)), 0);
    tst_append_options opts = TST_APPEND_OPTIONS_INIT;
    opts.max_attempts = 3;
    tst_append_before_commit_ctx = root;
    tst_append_before_commit_hook = add_before_commit;
    tst_append_result res;
    int rc = tst_table_append_csv(t, path, NULL, &opts, &res);
    tst_append_before_commit_hook = NULL;
    assert_tst_ok(rc);
    assert_int_equal(res.version, 4);
    assert_int_equal(res.attempts, 2);
    assert_int_equal(tst_table_get_meta(t)->schema->column_count, 4);
    tst_session *s = NULL;
    assert_tst_ok(tst_session_open(&s));
    assert_tst_ok(tst_session_register_table(s, "t", root));
    expect_row(s, "3|0|7.0", "count(*), count(vwap), sum(close)");
    tst_session_free(s);
    free(path);
    tst_table_free(t);
    tst_test_rmtree(root);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(every_rule_is_refused_and_writes_nothing),
        cmocka_unit_test(a_format_version_6_table_is_refused_with_the_migrate_command),
        cmocka_unit_test(the_addition_is_one_metadata_commit),
        cmocka_unit_test(annotated_columns_declare_schema_metadata),
        cmocka_unit_test(appends_may_leave_out_nullable_payload_columns_only_after_an_addition),
        cmocka_unit_test(scans_of_older_segments_only_read_the_new_columns_as_nulls),
        cmocka_unit_test(optimize_rewrites_older_segments_in_the_evolved_schema),
        cmocka_unit_test(a_stale_handle_conflicts_and_writes_nothing),
        cmocka_unit_test(nested_columns_left_out_are_written_as_nulls),
        cmocka_unit_test(an_append_planned_before_an_addition_rebases_over_it),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
