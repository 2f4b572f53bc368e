/*
 * test_append_csv.c — CSV appends once a table has a schema (report
 * findings 10 and 28), through the library API: the table's types decide
 * how a CSV is read, a bad value fails with its line, column and text, the
 * caller may type any subset of the columns, and the usual CSV mistakes
 * (empty file, header only, another delimiter, another case, a Parquet
 * file) each get their own message. Every failure leaves the table as it
 * was.
 */
#include "testsupport.h"

#include "tstable/append.h"
#include "tstable/table.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define HEADER "ts,symbol,open,high,low,close,volume\n"
#define FIRST_DAY HEADER "2024-06-01T00:00:00Z,NVDA,1.5,2.5,0.5,1.5,100\n"

typedef struct fixture {
    char *root, *dir;
    tst_table *t;
} fixture;

static char *csv_file(const fixture *f, const char *name, const char *text)
{
    char *path = tst_test_path(f->dir, name);
    assert_int_equal(tst_test_write_file(path, text, strlen(text)), 0);
    return path;
}

/* An hourly table; with_first_day: it already took a day with float prices. */
static void fixture_open(fixture *f, bool with_first_day)
{
    f->root = tst_test_tmpdir("csv");
    f->dir = tst_test_tmpdir("src");
    f->t = tst_test_create_table(f->root, "ts", "symbol", TST_TIME_HOURS, 1);
    if (with_first_day) {
        char *p = csv_file(f, "first.csv", FIRST_DAY);
        assert_tst_ok(tst_table_append_csv(f->t, p, NULL, NULL, NULL));
        free(p);
    }
}

static void fixture_close(fixture *f)
{
    tst_table_free(f->t);
    tst_test_rmtree(f->dir);
    tst_test_rmtree(f->root);
}

static int data_files(const fixture *f)
{
    char *p = tst_test_path(f->root, "data");
    int n = tst_test_count_files(p);
    free(p);
    return n;
}

/* The append of text fails with code, its message holding want; nothing changes. */
static void assert_refused(fixture *f, const char *text, const tst_csv_options *opts, int code,
                           const char *want)
{
    uint64_t version = tst_table_version(f->t);
    int files = data_files(f);
    char *p = csv_file(f, "x.csv", text);
    assert_tst_fails(tst_table_append_csv(f->t, p, opts, NULL, NULL), code);
    if (!strstr(tst_error_last()->message, want))
        fail_msg("message '%s' lacks '%s'", tst_error_last()->message, want);
    assert_null(strchr(tst_error_last()->message, '\n'));
    assert_int_equal(tst_table_version(f->t), version);
    assert_int_equal(data_files(f), files);
    free(p);
}

static void whole_number_prices_go_into_float64_columns(void **state)
{
    (void)state;
    fixture f;
    fixture_open(&f, true);
    char *p = csv_file(&f, "whole.csv", HEADER "2024-06-02T00:00:00Z,NVDA,120,121,119,120,100\n");
    tst_append_result res;
    assert_tst_ok(tst_table_append_csv(f.t, p, NULL, NULL, &res));
    assert_int_equal(res.version, 3);
    free(p);
    fixture_close(&f);
}

static void columns_in_another_order_are_read_by_name(void **state)
{
    (void)state;
    fixture f;
    fixture_open(&f, true);
    char *p = csv_file(&f, "moved.csv", "volume,close,low,high,open,symbol,ts\n"
                                         "7,1,1,1,1,NVDA,2024-06-02T00:00:00Z\n");
    assert_tst_ok(tst_table_append_csv(f.t, p, NULL, NULL, NULL));
    free(p);
    fixture_close(&f);
}

static void a_bad_timestamp_names_its_line_column_and_value(void **state)
{
    (void)state;
    fixture f;
    fixture_open(&f, true);
    assert_refused(&f, HEADER "2024-07-01T00:00:00Z,NVDA,1.5,2,0.5,1.5,100\n"
                          "not-a-time,NVDA,1.5,2,0.5,1.5,100\n",
                   NULL, TST_ESCHEMA, "x.csv, line 3, column 'ts': 'not-a-time' is not a timestamp");
    fixture_close(&f);
}

static void a_fractional_value_in_an_int64_column_is_refused(void **state)
{
    (void)state;
    fixture f;
    fixture_open(&f, true);
    assert_refused(&f, HEADER "2024-07-01T00:00:00Z,NVDA,1,2,0,1,1.5\n", NULL, TST_ESCHEMA,
                   "line 2, column 'volume': '1.5' is not an integer");
    assert_refused(&f, HEADER "2024-07-01T00:00:00Z,NVDA,1,two,0,1,1\n", NULL, TST_ESCHEMA,
                   "line 2, column 'high': 'two' is not a number");
    fixture_close(&f);
}

static void empty_cells_are_nulls_not_errors(void **state)
{
    (void)state;
    fixture f;
    fixture_open(&f, true);
    char *p = csv_file(&f, "nulls.csv", HEADER "2024-06-03T00:00:00Z,NVDA,,,,,\n");
    assert_tst_ok(tst_table_append_csv(f.t, p, NULL, NULL, NULL));
    free(p);
    fixture_close(&f);
}

static void the_usual_csv_mistakes_have_their_own_messages(void **state)
{
    (void)state;
    fixture f;
    fixture_open(&f, true);
    assert_refused(&f, "", NULL, TST_EEMPTY, "x.csv is empty (0 bytes)");
    assert_refused(&f, HEADER, NULL, TST_EEMPTY, "x.csv has a header but no rows");
    assert_refused(&f, "ts;symbol;open;high;low;close;volume\n2024-06-02T00:00:00Z;NVDA;1;1;1;1;1\n",
                   NULL, TST_ESCHEMA, "it looks ';'-separated: use --delimiter ';'");
    assert_refused(&f, "ts\tsymbol\n2024-06-02T00:00:00Z\tNVDA\n", NULL, TST_ESCHEMA,
                   "it looks '\\t'-separated");
    assert_refused(&f, "ts,SYMBOL,open,high,low,close,volume\n2024-06-02T00:00:00Z,NVDA,1,1,1,1,1\n",
                   NULL, TST_ESCHEMA, "no column 'symbol' (found 'SYMBOL')");
    assert_refused(&f, "ts,symbol,price\n2024-06-02T00:00:00Z,NVDA,1\n", NULL, TST_ESCHEMA,
                   "x.csv has no column 'open' (its columns: 'ts', 'symbol', 'price')");
    assert_refused(&f, "PAR1\x01\x02garbage", NULL, TST_EINVAL,
                   "is a Parquet file, not CSV: append it as Parquet");
    /* A binary: one sentence, not DuckDB's sniffer report. */
    assert_tst_fails(tst_table_append_csv(f.t, TST_BINARY_DIR "/tstable", NULL, NULL, NULL),
                     TST_EINVAL);
    assert_non_null(strstr(tst_error_last()->message, "cannot be read as CSV: check that it is"));
    assert_null(strchr(tst_error_last()->message, '\n'));
    fixture_close(&f);
}

static void a_first_append_without_the_index_column_lists_the_header(void **state)
{
    (void)state;
    fixture f;
    fixture_open(&f, false);
    assert_refused(&f, "time,symbol\n2024-06-02T00:00:00Z,NVDA\n", NULL, TST_ESCHEMA,
                   "x.csv has no column 'ts' (its columns: 'time', 'symbol')");
    fixture_close(&f);
}

static void the_delimiter_option_reads_a_semicolon_file(void **state)
{
    (void)state;
    fixture f;
    fixture_open(&f, true);
    char *p = csv_file(&f, "semi.csv", "ts;symbol;open;high;low;close;volume\n"
                                       "2024-06-02T00:00:00Z;NVDA;1;1;1;1;1\n");
    tst_csv_options o = TST_CSV_OPTIONS_INIT;
    o.delimiter = ';';
    assert_tst_ok(tst_table_append_csv(f.t, p, &o, NULL, NULL));
    free(p);
    fixture_close(&f);
}

static void a_subset_of_column_types_applies_to_those_columns(void **state)
{
    (void)state;
    fixture f;
    fixture_open(&f, false);
    char *p = csv_file(&f, "a.csv", HEADER "2024-06-01T00:00:00Z,NVDA,1,2,0,1,100\n");
    tst_csv_options o = TST_CSV_OPTIONS_INIT;
    o.columns = "{'open': 'DOUBLE', 'volume': 'float64', 'high': 'float64'}";
    assert_tst_ok(tst_table_append_csv(f.t, p, &o, NULL, NULL));
    const tst_schema *s = tst_table_get_meta(f.t)->schema;
    assert_non_null(s);
    assert_int_equal(s->columns[2].type.kind, TST_TYPE_FLOAT64); /* open: given */
    assert_int_equal(s->columns[3].type.kind, TST_TYPE_FLOAT64); /* high: given, logical name */
    assert_int_equal(s->columns[4].type.kind, TST_TYPE_INT64);   /* low: DuckDB's guess */
    assert_int_equal(s->columns[6].type.kind, TST_TYPE_FLOAT64); /* volume */
    free(p);
    fixture_close(&f);
}

static void bad_column_types_are_einval_naming_the_column(void **state)
{
    (void)state;
    fixture f;
    fixture_open(&f, true);
    tst_csv_options o = TST_CSV_OPTIONS_INIT;
    o.columns = "{'nope': 'BIGINT'}";
    assert_refused(&f, FIRST_DAY, &o, TST_EINVAL, "has no column 'nope'");
    o.columns = "{'volume': 'BIG;INT'}";
    assert_refused(&f, FIRST_DAY, &o, TST_EINVAL, "'BIG;INT' is not a type name");
    o.columns = "not a struct";
    assert_refused(&f, FIRST_DAY, &o, TST_EINVAL, "are not a {'name': 'TYPE', ...} struct");
    fixture_close(&f);
}

static void a_column_called_ordinality_is_just_a_column(void **state)
{
    (void)state;
    fixture f;
    fixture_open(&f, false);
    char *a = csv_file(&f, "a.csv", "ts,symbol,ordinality\n2024-06-01T00:00:00Z,NVDA,1\n");
    char *b = csv_file(&f, "b.csv", "ts,symbol,ordinality\n2024-06-02T00:00:00Z,NVDA,x\n");
    assert_tst_ok(tst_table_append_csv(f.t, a, NULL, NULL, NULL));
    assert_tst_fails(tst_table_append_csv(f.t, b, NULL, NULL, NULL), TST_ESCHEMA);
    assert_non_null(strstr(tst_error_last()->message, "line 2, column 'ordinality': 'x'"));
    free(a);
    free(b);
    fixture_close(&f);
}

static void a_csv_named_with_glob_characters_is_that_file(void **state)
{
    (void)state;
    fixture f;
    fixture_open(&f, true);
    char *star = csv_file(&f, "day*.csv", HEADER "2024-06-02T00:00:00Z,NVDA,1,1,1,1,1\n");
    char *other = csv_file(&f, "day2.csv", HEADER "2024-06-03T00:00:00Z,NVDA,1,1,1,1,1\n");
    tst_append_result res;
    assert_tst_ok(tst_table_append_csv(f.t, star, NULL, NULL, &res));
    assert_int_equal(res.rows, 1); /* not day2.csv too */
    free(star);
    free(other);
    fixture_close(&f);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(whole_number_prices_go_into_float64_columns),
        cmocka_unit_test(columns_in_another_order_are_read_by_name),
        cmocka_unit_test(a_bad_timestamp_names_its_line_column_and_value),
        cmocka_unit_test(a_fractional_value_in_an_int64_column_is_refused),
        cmocka_unit_test(empty_cells_are_nulls_not_errors),
        cmocka_unit_test(the_usual_csv_mistakes_have_their_own_messages),
        cmocka_unit_test(a_first_append_without_the_index_column_lists_the_header),
        cmocka_unit_test(the_delimiter_option_reads_a_semicolon_file),
        cmocka_unit_test(a_subset_of_column_types_applies_to_those_columns),
        cmocka_unit_test(bad_column_types_are_einval_naming_the_column),
        cmocka_unit_test(a_column_called_ordinality_is_just_a_column),
        cmocka_unit_test(a_csv_named_with_glob_characters_is_that_file),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
