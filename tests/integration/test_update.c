/*
 * test_update.c — keyed updates end to end: the named columns of the keyed
 * rows change and nothing else (row order, untouched segments, coverage,
 * snapshot pointer); one commit of RemoveSegment/AddSegment pairs; each key
 * rule, column rule and version rule is its own error with nothing written;
 * an empty source is a no-op; another writer's append is rebased over, a
 * strict update conflicts instead, and a removed segment always conflicts;
 * Parquet and CSV sources (Arrow streams: python/tests/test_update_rows.py);
 * protocol 7 and format_version 6 tables.
 */
#include "testsupport.h"

#include "table_internal.h"
#include "tstable/append.h"
#include "tstable/optimize.h"
#include "tstable/session.h"
#include "tstable/update.h"
#include "update_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct fx {
    char *root, *dir;
    tst_table *t;
} fx;

/* Three appends (hourly, entity symbol): A+B on day 1 (one mixed segment),
 * A on day 2, B on day 3. close = hour, note = 'n<hour>'. */
static void append_csv(fx *f, const char *name, const char *rows)
{
    char *path = tst_test_path(f->dir, name);
    char text[4096];
    int n = snprintf(text, sizeof text, "ts,symbol,close,note\n%s", rows);
    assert_int_equal(tst_test_write_file(path, text, (size_t)n), 0);
    assert_tst_ok(tst_table_append_csv(f->t, path, NULL, NULL, NULL));
    free(path);
}

static fx *make(uint32_t protocol)
{
    fx *f = calloc(1, sizeof *f);
    f->root = tst_test_tmpdir("update");
    f->dir = tst_test_tmpdir("updsrc");
    f->t = tst_test_create_symbol_table(f->root, protocol);
    append_csv(f, "a.csv", "2024-01-01T02:00:00Z,A,2.0,n2\n2024-01-01T00:00:00Z,A,0.0,n0\n"
                           "2024-01-01T01:00:00Z,B,1.0,n1\n2024-01-01T01:00:00Z,A,1.0,n1\n");
    append_csv(f, "b.csv", "2024-01-02T00:00:00Z,A,24.0,n24\n2024-01-02T01:00:00Z,A,25.0,n25\n");
    append_csv(f, "c.csv", "2024-01-03T00:00:00Z,B,48.0,n48\n");
    return f;
}

static void release(fx *f)
{
    tst_table_free(f->t);
    tst_test_rmtree(f->root);
    tst_test_rmtree(f->dir);
    free(f);
}

static void assert_value(const char *root, const char *expected, const char *sql)
{
    char *v = tst_test_table_value(root, sql);
    if (strcmp(v, expected) != 0)
        fail_msg("%s\n  expected %s\n  got      %s", sql, expected, v);
    free(v);
}

static const char *const ALL_ROWS =
    "SELECT string_agg(symbol || strftime(ts, '%d%H') || '=' || coalesce(CAST(close AS "
    "VARCHAR), '-') || '/' || coalesce(note, '-'), ' ' ORDER BY symbol, ts) FROM t";

/* A Parquet source from SQL (session zone UTC). */
static char *source(fx *f, const char *name, const char *select)
{
    char *path = tst_test_path(f->dir, name);
    char *sql = NULL;
    assert_true(asprintf(&sql, "COPY (%s) TO '%s' (FORMAT parquet)", select, path) > 0);
    tst_test_duck(sql);
    free(sql);
    return path;
}

static int update(fx *f, const char *parquet, const char *const *cols, size_t n, uint64_t v,
                  bool strict, tst_update_report *out)
{
    tst_update_source src = {.parquet_path = parquet};
    tst_update_options o = TST_UPDATE_OPTIONS_INIT;
    o.expected_version = v;
    o.strict = strict;
    return tst_table_update_rows(f->t, &src, cols, n, &o, out);
}

static const char *const CLOSE[] = {"close"};

static int count_occurrences(const char *text, const char *needle)
{
    int n = 0;
    for (const char *p = strstr(text, needle); p; p = strstr(p + 1, needle))
        n++;
    return n;
}

static int staged_files(const char *root, const char *sub)
{
    char *p = tst_test_path(root, sub);
    int n = tst_test_count_files(p);
    free(p);
    return n;
}

/* ---- what it changes -------------------------------------------------------------- */

static void named_columns_of_keyed_rows_change_in_one_commit(void **state)
{
    (void)state;
    fx *f = make(7);
    const tst_segment *day2 = tst_table_segment_at(f->t, 1);
    char *untouched = strdup(day2->path);
    /* Rows in another order than tstable writes (as other writers may): the
     * update must keep it. Same rows, so the log and sidecar still hold. */
    char *day1 = tst_test_path(f->root, tst_table_segment_at(f->t, 0)->path), *sql = NULL;
    assert_true(asprintf(&sql, "COPY (SELECT * FROM read_parquet('%s') ORDER BY symbol DESC, ts "
                         "DESC) TO '%s.tmp' (FORMAT parquet)", day1, day1) > 0);
    tst_test_duck(sql);
    free(sql);
    char *tmp = NULL;
    assert_true(asprintf(&tmp, "%s.tmp", day1) > 0);
    assert_int_equal(rename(tmp, day1), 0);
    free(tmp);
    free(day1);
    char *src = source(f, "u.parquet", "SELECT * FROM (VALUES ('A', TIMESTAMPTZ "
                       "'2024-01-01 01:00:00+00', 10.5::DOUBLE), ('B', TIMESTAMPTZ '2024-01-03 00:00:00+00',"
                       " NULL)) v(symbol, ts, close)");
    tst_update_report rep;
    assert_tst_ok(update(f, src, CLOSE, 1, 4, false, &rep));
    assert_int_equal(rep.starting_version, 4);
    assert_int_equal(rep.committed_version, 5);
    assert_int_equal(rep.rows_updated, 2);
    assert_int_equal(rep.segments_rewritten, 2);
    assert_false(rep.no_op);
    assert_true(rep.source_file_bytes > 0 && rep.replacement_file_bytes > 0);
    assert_int_equal(tst_table_version(f->t), 5);
    /* Only close of the two keyed rows; note untouched; the null cleared B's close. */
    assert_value(f->root, "A0100=0.0/n0 A0101=10.5/n1 A0102=2.0/n2 A0200=24.0/n24 "
                          "A0201=25.0/n25 B0101=1.0/n1 B0300=-/n48", ALL_ROWS);
    /* One commit: two pairs, no coverage update; day 2 untouched. */
    char *text = tst_test_read_commit(f->root, 5);
    assert_int_equal(count_occurrences(text, "RemoveSegment"), 2);
    assert_int_equal(count_occurrences(text, "AddSegment"), 2);
    assert_null(strstr(text, "UpdateTableCoverage"));
    assert_non_null(strstr(text, "data/_staged/update-rewrite/"));
    assert_int_equal(tst_table_segment_count(f->t), 3);
    bool found = false;
    for (size_t i = 0; i < 3; i++)
        found |= strcmp(tst_table_segment_at(f->t, i)->path, untouched) == 0;
    assert_true(found);
    /* The replacement of the mixed segment keeps its rows in file order. */
    const tst_segment *mixed = tst_table_segment_at(f->t, 0);
    assert_int_equal(mixed->layout.kind, TST_LAYOUT_MIXED);
    assert_int_equal(mixed->row_count, 4);
    char *abs = tst_test_path(f->root, mixed->path);
    tst_test_assert_sql("B1=1.0 A2=2.0 A1=10.5 A0=0.0", "SELECT string_agg(symbol || hour(ts) || "
                        "'=' || close, ' ' ORDER BY file_row_number) FROM read_parquet('%s', "
                        "file_row_number = true)", abs);
    free(abs);
    assert_int_equal(staged_files(f->root, "data/_staged/update-prepare"), 0);
    /* Appends and optimize go on; an overlapping append is still refused. */
    append_csv(f, "d.csv", "2024-01-04T00:00:00Z,A,72.0,n72\n");
    assert_tst_ok(tst_table_optimize(f->t, NULL, NULL));
    assert_value(f->root, "8|10.5", "SELECT count(*) || '|' || CAST(max(close) FILTER (WHERE ts = "
                                    "'2024-01-01 01:00:00+00' AND symbol = 'A') AS VARCHAR) FROM t");
    char *p = tst_test_path(f->dir, "o.csv");
    assert_int_equal(tst_test_write_file(p, "ts,symbol,close,note\n2024-01-01T01:30:00Z,A,1,x\n",
                                         47), 0);
    assert_int_equal(tst_table_append_csv(f->t, p, NULL, NULL, NULL), TST_EOVERLAP);
    free(p);
    free(text);
    free(src);
    free(untouched);
    release(f);
}

static void a_csv_source_is_read_with_the_table_types(void **state)
{
    (void)state;
    fx *f = make(7);
    char *csv = tst_test_path(f->dir, "u.csv");
    const char *text = "note,ts,symbol\nfirst,2024-01-02T01:00:00Z,A\n";
    assert_int_equal(tst_test_write_file(csv, text, strlen(text)), 0);
    tst_update_source s = {.csv_path = csv};
    tst_update_options o = TST_UPDATE_OPTIONS_INIT;
    o.expected_version = 4;
    const char *const note[] = {"note"};
    tst_update_report rep;
    assert_tst_ok(tst_table_update_rows(f->t, &s, note, 1, &o, &rep));
    assert_int_equal(rep.segments_rewritten, 1);
    assert_value(f->root, "first", "SELECT note FROM t WHERE symbol = 'A' AND ts = "
                                   "'2024-01-02 01:00:00+00'");
    free(csv);
    release(f);
}

static void v6_table_is_updated_the_same_way(void **state)
{
    (void)state;
    fx *f = make(6);
    char *src = source(f, "u.parquet", "SELECT 'A' AS symbol, TIMESTAMPTZ '2024-01-02 00:00:00+00'"
                       " AS ts, CAST(99.0 AS DOUBLE) AS close");
    assert_tst_ok(update(f, src, CLOSE, 1, 4, false, NULL));
    char *text = tst_test_read_commit(f->root, 5);
    assert_int_equal(count_occurrences(text, "RemoveSegment"), 1);
    free(text);
    tst_table_free(f->t);
    assert_tst_ok(tst_table_open(&f->t, f->root));
    assert_int_equal(tst_table_get_meta(f->t)->format_version, 6);
    assert_value(f->root, "99.0", "SELECT CAST(close AS VARCHAR) FROM t WHERE ts = '2024-01-02 00:00:00+00'");
    free(src);
    release(f);
}

/* ---- the rules -------------------------------------------------------------------- */

/* Fails with `code` (and `reason` for key rules) and changes nothing. */
static void refused(fx *f, const char *select, const char *const *cols, size_t n, uint64_t v,
                    int code, const char *reason, const char *example)
{
    char *src = source(f, "bad.parquet", select);
    int files = staged_files(f->root, "data") + staged_files(f->root, "_coverage");
    int rc = update(f, src, cols, n, v, false, NULL);
    if (rc != code)
        fail_msg("%s: %s, wanted %s: %s", select, tst_error_name(rc), tst_error_name(code),
                 tst_error_last()->message);
    assert_non_null(strstr(tst_error_last()->message, f->root));
    if (reason) {
        assert_string_equal(tst_error_last()->reason, reason);
        assert_string_equal(tst_error_last()->example_key, example);
        assert_non_null(strstr(tst_error_last()->message, example));
    }
    assert_int_equal(tst_table_version(f->t), 4);
    assert_int_equal(staged_files(f->root, "data") + staged_files(f->root, "_coverage"), files);
    char *p = tst_test_path(f->dir, "bad.parquet");
    remove(p);
    free(p);
    free(src);
}

#define KEY_A1 "SELECT 'A' AS symbol, TIMESTAMPTZ '2024-01-01 01:00:00+00' AS ts"

static void key_rules_are_typed_errors_with_an_example(void **state)
{
    (void)state;
    fx *f = make(7);
    refused(f, "SELECT * FROM (VALUES ('A', TIMESTAMPTZ '2024-01-01 01:00:00+00', 1.0::DOUBLE), ('A', "
            "TIMESTAMPTZ '2024-01-01 01:00:00+00', 2.0::DOUBLE)) v(symbol, ts, close)", CLOSE, 1, 4,
            TST_EUPDATEKEY, "duplicate_source_key", "{\"symbol\":\"A\",\"ts\":1704070800000000}");
    assert_int_equal(tst_error_last()->observed_violations, 1);
    assert_int_equal(tst_error_last()->input_rows_seen, 2);
    refused(f, "SELECT 'A' AS symbol, TIMESTAMPTZ '2024-01-01 01:00:00.001+00' AS ts, CAST(1.0 AS DOUBLE) AS close",
            CLOSE, 1, 4, TST_EUPDATEKEY, "unmatched_source_key",
            "{\"symbol\":\"A\",\"ts\":1704070800001000}");
    refused(f, "SELECT 'C' AS symbol, TIMESTAMPTZ '2024-01-01 01:00:00+00' AS ts, CAST(1.0 AS DOUBLE) AS close",
            CLOSE, 1, 4, TST_EUPDATEKEY, "unmatched_source_key",
            "{\"symbol\":\"C\",\"ts\":1704070800000000}");
    refused(f, "SELECT CAST(NULL AS VARCHAR) AS symbol, TIMESTAMPTZ '2024-01-01 01:00:00+00' AS ts,"
            " CAST(1.0 AS DOUBLE) AS close", CLOSE, 1, 4, TST_EUPDATEKEY, "null_identity",
            "{\"symbol\":null,\"ts\":1704070800000000}");
    release(f);
}

static void ambiguous_target_is_its_own_rule(void **state)
{
    (void)state;
    fx *f = make(7);
    /* Valid writes cannot make it: overwrite day 3's file with two rows of one key. */
    const tst_segment *day3 = tst_table_segment_at(f->t, 2);
    char *abs = tst_test_path(f->root, day3->path), *sql = NULL;
    assert_true(asprintf(&sql, "COPY (SELECT * FROM read_parquet('%s') UNION ALL SELECT * FROM "
                         "read_parquet('%s')) TO '%s.tmp' (FORMAT parquet)", abs, abs, abs) > 0);
    tst_test_duck(sql);
    char *tmp = NULL;
    assert_true(asprintf(&tmp, "%s.tmp", abs) > 0);
    assert_int_equal(rename(tmp, abs), 0);
    char *src = source(f, "u.parquet", "SELECT 'B' AS symbol, TIMESTAMPTZ '2024-01-03 00:00:00+00'"
                       " AS ts, CAST(1.0 AS DOUBLE) AS close");
    assert_int_equal(update(f, src, CLOSE, 1, 4, false, NULL), TST_EUPDATEKEY);
    assert_string_equal(tst_error_last()->reason, "ambiguous_target_key");
    assert_string_equal(tst_error_last()->example_key, "{\"symbol\":\"B\",\"ts\":1704240000000000}");
    assert_int_equal(tst_table_version(f->t), 4);
    free(src);
    free(tmp);
    free(sql);
    free(abs);
    release(f);
}

static void column_rules_are_schema_errors(void **state)
{
    (void)state;
    fx *f = make(7);
    const char *const key[] = {"symbol"}, *const twice[] = {"close", "close"},
                      *const absent[] = {"nope"}, *const idx[] = {"ts"};
    refused(f, KEY_A1 ", CAST(1.0 AS DOUBLE) AS close", key, 1, 4, TST_ESCHEMA, NULL, NULL);
    refused(f, KEY_A1 ", CAST(1.0 AS DOUBLE) AS close", idx, 1, 4, TST_ESCHEMA, NULL, NULL);
    refused(f, KEY_A1 ", CAST(1.0 AS DOUBLE) AS close", twice, 2, 4, TST_ESCHEMA, NULL, NULL);
    refused(f, KEY_A1 ", CAST(1.0 AS DOUBLE) AS close", absent, 1, 4, TST_ESCHEMA, NULL, NULL);
    refused(f, KEY_A1 ", CAST(1.0 AS DOUBLE) AS close", CLOSE, 0, 4, TST_ESCHEMA, NULL, NULL);
    /* missing, extra, wrong type */
    refused(f, KEY_A1, CLOSE, 1, 4, TST_ESCHEMA, NULL, NULL);
    refused(f, KEY_A1 ", CAST(1.0 AS DOUBLE) AS close, 'x' AS note", CLOSE, 1, 4, TST_ESCHEMA, NULL, NULL);
    refused(f, "SELECT 'A' AS symbol, CAST(1.0 AS DOUBLE) AS close", CLOSE, 1, 4, TST_ESCHEMA, NULL, NULL);
    refused(f, KEY_A1 ", 'x' AS close", CLOSE, 1, 4, TST_ESCHEMA, NULL, NULL);
    release(f);
}

static void widening_is_accepted(void **state)
{
    (void)state;
    fx *f = make(7);
    char *src = source(f, "u.parquet", KEY_A1 ", CAST(7 AS FLOAT) AS close");
    assert_tst_ok(update(f, src, CLOSE, 1, 4, false, NULL));
    assert_value(f->root, "7.0", "SELECT CAST(close AS VARCHAR) FROM t WHERE symbol = 'A' AND ts = "
                                 "'2024-01-01 01:00:00+00'");
    free(src);
    release(f);
}

static void versions_must_match_the_handle(void **state)
{
    (void)state;
    fx *f = make(7);
    char *src = source(f, "u.parquet", KEY_A1 ", CAST(5.0 AS DOUBLE) AS close");
    assert_int_equal(update(f, src, CLOSE, 1, 0, false, NULL), TST_EINVAL);
    assert_int_equal(update(f, src, CLOSE, 1, 3, false, NULL), TST_ECONFLICT);
    assert_int_equal(tst_error_last()->expected_version, 3);
    assert_int_equal(tst_error_last()->found_version, 4);
    /* A stale handle in strict mode: CURRENT moved on. */
    tst_table *stale = NULL;
    assert_tst_ok(tst_table_open(&stale, f->root));
    append_csv(f, "d.csv", "2024-01-05T00:00:00Z,A,1.0,x\n");
    tst_update_source s = {.parquet_path = src};
    tst_update_options o = TST_UPDATE_OPTIONS_INIT;
    o.expected_version = 4;
    o.strict = true;
    assert_int_equal(tst_table_update_rows(stale, &s, CLOSE, 1, &o, NULL), TST_ECONFLICT);
    assert_int_equal(tst_error_last()->found_version, 5);
    /* Not strict: the stale handle rebases over the append. */
    o.strict = false;
    tst_update_report rep;
    assert_tst_ok(tst_table_update_rows(stale, &s, CLOSE, 1, &o, &rep));
    assert_int_equal(rep.committed_version, 6);
    assert_int_equal(rep.attempts, 2);
    assert_value(f->root, "8|5.0", "SELECT count(*) || '|' || CAST(max(close) FILTER (WHERE ts = "
                                   "'2024-01-01 01:00:00+00' AND symbol = 'A') AS VARCHAR) FROM t");
    tst_table_free(stale);
    free(src);
    release(f);
}

/* Another writer's optimize removes the mixed segment before the commit. */
static void optimize_in_between(void *ctx, unsigned attempt)
{
    if (attempt != 1)
        return;
    tst_table *other = NULL;
    assert_tst_ok(tst_table_open(&other, (const char *)ctx));
    assert_tst_ok(tst_table_optimize(other, NULL, NULL));
    tst_table_free(other);
}

static void removed_segment_is_a_conflict_and_nothing_stays(void **state)
{
    (void)state;
    fx *f = make(7);
    char *src = source(f, "u.parquet", KEY_A1 ", CAST(5.0 AS DOUBLE) AS close");
    tst_update_before_commit_hook = optimize_in_between;
    tst_update_before_commit_ctx = f->root;
    int rc = update(f, src, CLOSE, 1, 4, false, NULL);
    tst_update_before_commit_hook = NULL;
    assert_int_equal(rc, TST_ECONFLICT);
    assert_non_null(strstr(tst_error_last()->message, "another writer removed segment"));
    assert_int_equal(staged_files(f->root, "data/_staged/update-rewrite"), 0);
    assert_int_equal(staged_files(f->root, "data/_staged/update-prepare"), 0);
    assert_value(f->root, "1.0", "SELECT CAST(close AS VARCHAR) FROM t WHERE symbol = 'A' AND ts = "
                                 "'2024-01-01 01:00:00+00'");
    free(src);
    release(f);
}

static void empty_source_is_a_no_op(void **state)
{
    (void)state;
    fx *f = make(7);
    char *src = source(f, "u.parquet", KEY_A1 ", CAST(5.0 AS DOUBLE) AS close LIMIT 0");
    int files = staged_files(f->root, "data") + staged_files(f->root, "_coverage");
    tst_update_report rep;
    assert_tst_ok(update(f, src, CLOSE, 1, 4, false, &rep));
    assert_true(rep.no_op);
    assert_int_equal(rep.committed_version, 4);
    assert_int_equal(rep.rows_updated + rep.segments_rewritten, 0);
    assert_int_equal(staged_files(f->root, "data") + staged_files(f->root, "_coverage"), files);
    /* An empty source is still checked for its columns. */
    char *bad = source(f, "b.parquet", KEY_A1 ", 5.0 AS other LIMIT 0");
    assert_int_equal(update(f, bad, CLOSE, 1, 4, false, NULL), TST_ESCHEMA);
    free(bad);
    free(src);
    release(f);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(named_columns_of_keyed_rows_change_in_one_commit),
        cmocka_unit_test(a_csv_source_is_read_with_the_table_types),
        cmocka_unit_test(v6_table_is_updated_the_same_way),
        cmocka_unit_test(key_rules_are_typed_errors_with_an_example),
        cmocka_unit_test(ambiguous_target_is_its_own_rule),
        cmocka_unit_test(column_rules_are_schema_errors),
        cmocka_unit_test(widening_is_accepted),
        cmocka_unit_test(versions_must_match_the_handle),
        cmocka_unit_test(removed_segment_is_a_conflict_and_nothing_stays),
        cmocka_unit_test(empty_source_is_a_no_op),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
