/*
 * test_append_v7.c — appends into a protocol-7 table: the segment lands in
 * data/_managed/append/ as the reference 0.5+ writes it, the commit keeps
 * the table's protocol fields, and two rows of one append in one (entity,
 * index interval) are TST_EDUPLICATE with nothing written, while a
 * format_version-6 table still takes them (its rule is unchanged).
 */
#include "testsupport.h"

#include "tstable/append.h"
#include "tstable/table.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static char *write_csv(const char *root, const char *name, const char *rows)
{
    char *path = tst_test_path(root, name);
    char text[1024];
    int n = snprintf(text, sizeof text, "ts,symbol,close\n%s", rows);
    assert_int_equal(tst_test_write_file(path, text, (size_t)n), 0);
    return path;
}

static void append_goes_to_managed_folder_and_keeps_protocol(void **state)
{
    (void)state;
    char *root = tst_test_tmpdir("v7append");
    tst_table *t = tst_test_create_symbol_table(root, 7);
    char *csv = write_csv(root, "a.csv", "2024-01-01T00:00:00Z,A,1.0\n2024-01-01T01:00:00Z,A,2.0\n"
                                         "2024-01-01T00:00:00Z,B,3.0\n");
    tst_append_result res;
    assert_tst_ok(tst_table_append_csv(t, csv, NULL, NULL, &res));
    assert_int_equal(strncmp(res.segment_path, "data/_managed/append/", 21), 0);
    assert_int_equal(strlen(res.segment_path), 21 + 36 + 8);
    char *text = tst_test_read_commit(root, 2);
    assert_non_null(strstr(text, "\"protocol_version\":7,\"required_reader_features\":[],"
                                 "\"required_writer_features\":[]}}"));
    assert_non_null(strstr(text, "{\"UpdateTableCoverage\":{\"index_kind\":{\"type\":\"timestamp\","
                                 "\"index_granularity\":{\"Hours\":1}}"));
    assert_null(strstr(text, "format_version"));
    free(text);
    /* Reopened, and a second append in new intervals works. */
    tst_table_free(t);
    assert_tst_ok(tst_table_open(&t, root));
    char *csv2 = write_csv(root, "b.csv", "2024-01-01T02:00:00Z,A,4.0\n");
    assert_tst_ok(tst_table_append_csv(t, csv2, NULL, NULL, NULL));
    assert_int_equal(tst_table_version(t), 3);
    assert_int_equal(tst_table_segment_count(t), 2);
    free(csv);
    free(csv2);
    tst_table_free(t);
    tst_test_rmtree(root);
}

static void duplicate_interval_in_one_append_writes_nothing(void **state)
{
    (void)state;
    char *root = tst_test_tmpdir("v7dup");
    tst_table *t = tst_test_create_symbol_table(root, 7);
    /* 00:00 and 00:30 of A share the interval [00:00, 01:00). */
    char *csv = write_csv(root, "dup.csv", "2024-01-01T00:00:00Z,B,1.0\n2024-01-01T00:00:00Z,A,1.0\n"
                                           "2024-01-01T00:30:00Z,A,2.0\n");
    assert_tst_fails(tst_table_append_csv(t, csv, NULL, NULL, NULL), TST_EDUPLICATE);
    const tst_error *e = tst_error_last();
    assert_non_null(strstr(e->message, "Duplicate ordered-index interval "
                                       "[2024-01-01T00:00:00Z, 2024-01-01T01:00:00Z) for entity "
                                       "symbol=A: 2 rows"));
    assert_non_null(strstr(e->message, "nothing was written"));
    assert_string_equal(e->entity, "symbol=A");
    assert_string_equal(e->bucket_range, "[2024-01-01T00:00:00Z, 2024-01-01T01:00:00Z)");
    assert_int_equal(e->overlap_count, 2);
    assert_int_equal(tst_table_version(t), 1);
    char *data = tst_test_path(root, "data"), *cov = tst_test_path(root, "_coverage");
    assert_int_equal(tst_test_count_files(data), 0);
    assert_int_equal(tst_test_count_files(cov), 0);
    free(data);
    free(cov);
    free(csv);
    tst_table_free(t);
    tst_test_rmtree(root);
}

static void v6_table_still_takes_two_rows_in_one_bucket(void **state)
{
    (void)state;
    char *root = tst_test_tmpdir("v6dup");
    tst_table *t = tst_test_create_symbol_table(root, 6);
    char *csv = write_csv(root, "dup.csv", "2024-01-01T00:00:00Z,A,1.0\n2024-01-01T00:30:00Z,A,2.0\n");
    tst_append_result res;
    assert_tst_ok(tst_table_append_csv(t, csv, NULL, NULL, &res));
    assert_int_equal(strncmp(res.segment_path, "data/", 5), 0);
    assert_null(strstr(res.segment_path, "_managed"));
    char *text = tst_test_read_commit(root, 2);
    assert_non_null(strstr(text, "\"format_version\":6}}"));
    assert_null(strstr(text, "protocol_version"));
    free(text);
    free(csv);
    tst_table_free(t);
    tst_test_rmtree(root);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(append_goes_to_managed_folder_and_keeps_protocol),
        cmocka_unit_test(duplicate_interval_in_one_append_writes_nothing),
        cmocka_unit_test(v6_table_still_takes_two_rows_in_one_bucket),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
