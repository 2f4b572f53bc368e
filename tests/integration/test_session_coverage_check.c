/*
 * test_session_coverage_check.c — coverage-guaranteed reads
 * (tstable/session.h, coverage_check.c): a statement under
 * TST_COVERAGE_REQUIRE runs only when every (entity, bucket) slot it reads
 * of each registered table is covered, and otherwise fails with
 * TST_EINCOMPLETE listing the missing ranges, running nothing; under
 * TST_COVERAGE_WARN it runs and the report says what is missing. The
 * Python differential test (python/tests/test_guaranteed_reads.py) compares
 * the missing sets with a naive model over random tables and statements.
 */
#include "testsupport.h"

#include "duck.h"

#include "tstable/append.h"
#include "tstable/session.h"
#include "tstable/table.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define EPOCH_2024 1704067200LL /* 2024-01-01T00:00:00Z */

static char *text_of(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static char *text_of(const char *fmt, ...)
{
    va_list ap;
    char *out = NULL;
    va_start(ap, fmt);
    assert_true(vasprintf(&out, fmt, ap) >= 0);
    va_end(ap);
    return out;
}

/* One segment of rows at the given hours after 2024-01-01 UTC for `symbol`. */
static void append_hours(tst_table *t, const char *dir, const char *symbol, const int *hours,
                         size_t n)
{
    tst_sql v = {0};
    SQL_F(&v, "%s", "");
    for (size_t i = 0; i < n; i++)
        SQL_F(&v, "%s(%d)", i ? ", " : "", hours[i]);
    char *path = tst_test_path(dir, "slice.parquet");
    char *sql = text_of("COPY (SELECT to_timestamp(%lld + h * 3600 + 60) AS ts, '%s' AS symbol, "
                        "CAST(h AS DOUBLE) AS price FROM (VALUES %s) v(h) ORDER BY h) TO '%s' "
                        "(FORMAT parquet)",
                        EPOCH_2024, symbol, v.s, path);
    tst_test_duck(sql);
    assert_tst_ok(tst_table_append_parquet(t, path, NULL, NULL));
    unlink(path);
    free(path), free(sql), free(v.s);
}

/* A: hours 0..9 without 4 and 5 (a hole), appended in two commits (the
 * second, hours 6..9, is version 3). B: hours 0..5 (it stops early). */
typedef struct fixture {
    char *dir, *root;
    tst_session *s;
} fixture;

static void fixture_open(fixture *f)
{
    f->dir = tst_test_tmpdir("coverage-check");
    f->root = tst_test_path(f->dir, "bars");
    tst_table *t = tst_test_create_symbol_table(f->root, 7);
    int a1[] = {0, 1, 2, 3}, a2[] = {6, 7, 8, 9}, b[] = {0, 1, 2, 3, 4, 5};
    append_hours(t, f->dir, "A", a1, 4);
    append_hours(t, f->dir, "A", a2, 4);
    append_hours(t, f->dir, "B", b, 6);
    tst_table_free(t);
    assert_tst_ok(tst_session_open(&f->s));
    assert_tst_ok(tst_session_register_table(f->s, "bars", f->root));
}

static void fixture_close(fixture *f)
{
    tst_session_free(f->s);
    free(f->root);
    tst_test_rmtree(f->dir);
}

static const char *hour(int h, char *buf)
{
    tst_index_value v = tst_index_value_timestamp(EPOCH_2024 + h * 3600LL, 0);
    tst_index_value_format(&v, buf, TST_TIMESTAMP_TEXT_MAX);
    return buf;
}

/* The report's missing ranges as "entity [h0,h1)" lines, hours after 2024. */
static char *missing_text(const tst_coverage_report *r)
{
    tst_sql out = {0};
    SQL_F(&out, "%s", "");
    for (size_t i = 0; r && i < r->missing_count; i++) {
        const tst_coverage_missing *m = &r->missing[i];
        long long h0 = (m->start.v.ts.sec - EPOCH_2024) / 3600,
                  h1 = (m->end.v.ts.sec - EPOCH_2024) / 3600;
        SQL_F(&out, "%s%s %s [%lld,%lld)%s", i ? "; " : "", m->table, m->entity, h0, h1,
              m->known ? "" : " unknown");
    }
    return out.s;
}

static void expect_missing(tst_session *s, const char *sql, const char *want)
{
    char *got = missing_text(tst_session_last_coverage(s));
    if (strcmp(got, want) != 0)
        print_error("%s\n  got  %s\n  want %s\n", sql, got, want);
    assert_string_equal(got, want);
    free(got);
}

/* Runs a statement for its effect (SET, CREATE VIEW). */
static void exec(tst_session *s, const char *sql)
{
    tst_rows *rows = NULL;
    assert_tst_ok(tst_session_query_rows(s, sql, NULL, 0, &rows));
    while (tst_rows_next(rows) > 0)
        ;
    tst_rows_free(rows);
}

/* Runs sql under REQUIRE: "" expects it to run, else the missing text. */
static void require(tst_session *s, const char *sql, const char *want)
{
    assert_tst_ok(tst_session_set_coverage_mode(s, TST_COVERAGE_REQUIRE));
    tst_rows *rows = NULL;
    int rc = tst_session_query_rows(s, sql, NULL, 0, &rows);
    tst_rows_free(rows);
    if (*want == '\0') {
        if (rc != 0)
            print_error("%s\n  %s\n", sql, tst_error_last()->message);
        assert_int_equal(rc, 0);
        assert_true(tst_session_last_coverage(s)->complete);
    } else {
        assert_int_equal(rc, TST_EINCOMPLETE);
        assert_false(tst_session_last_coverage(s)->complete);
        assert_string_equal(tst_error_last()->message, tst_session_last_coverage(s)->message);
    }
    expect_missing(s, sql, want);
}

static void full_coverage_passes_and_runs(void **state)
{
    (void)state;
    fixture f;
    fixture_open(&f);
    require(f.s, "SELECT count(*) FROM bars WHERE ts >= '2024-01-01 00:00' AND ts < "
                 "'2024-01-01 04:00'", "");
    require(f.s, "SELECT count(*) FROM bars WHERE symbol = 'A' AND ts BETWEEN '2024-01-01 "
                 "06:00' AND '2024-01-01 09:59'", "");
    char *n = tst_test_first_value(f.s, "SELECT count(*) FROM bars WHERE ts < '2024-01-01 04:00'",
                                   NULL, 0);
    assert_string_equal(n, "8");
    free(n);
    const tst_coverage_report *r = tst_session_last_coverage(f.s);
    assert_non_null(r);
    assert_int_equal(r->table_count, 1);
    assert_int_equal(r->tables[0].entities, 2);
    assert_int_equal(r->tables[0].asked_buckets, 8);
    assert_int_equal(r->tables[0].widened, 0);
    fixture_close(&f);
}

static void a_hole_in_the_middle_fails_with_its_exact_range(void **state)
{
    (void)state;
    fixture f;
    fixture_open(&f);
    /* error() would fail the statement as TST_ESQL if it ran at all */
    require(f.s, "SELECT error('ran') FROM bars WHERE symbol = 'A' AND ts >= '2024-01-01' AND "
                 "ts < '2024-01-01 10:00'", "bars symbol=A [4,6)");
    char a[TST_TIMESTAMP_TEXT_MAX], b[TST_TIMESTAMP_TEXT_MAX], *want = NULL;
    want = text_of("bars symbol=A: [%s, %s) (2 buckets)", hour(4, a), hour(6, b));
    assert_non_null(strstr(tst_error_last()->message, want));
    assert_non_null(strstr(tst_error_last()->message, "nothing was run"));
    free(want);
    /* one hour of the hole, asked with <=, a bucket edge excluded with < */
    require(f.s, "SELECT 1 FROM bars WHERE symbol = 'A' AND ts > '2024-01-01 03:30' AND ts <= "
                 "'2024-01-01 04:00'", "bars symbol=A [4,5)");
    require(f.s, "SELECT 1 FROM bars WHERE symbol = 'A' AND ts > '2024-01-01 03:30' AND ts < "
                 "'2024-01-01 04:00'", "");
    /* a date: the whole day (UTC), both entities */
    require(f.s, "SELECT 1 FROM bars WHERE ts::DATE = DATE '2024-01-01'",
            "bars symbol=A [4,6); bars symbol=A [10,24); bars symbol=B [6,24)");
    fixture_close(&f);
}

static void an_entity_that_stopped_early_shows_its_tail(void **state)
{
    (void)state;
    fixture f;
    fixture_open(&f);
    /* no upper bound: the table's extent ends at hour 10 */
    require(f.s, "SELECT * FROM bars WHERE ts >= '2024-01-01 02:00'",
            "bars symbol=A [4,6); bars symbol=B [6,10)");
    /* no bound at all, one entity */
    require(f.s, "SELECT * FROM bars WHERE symbol = 'B'", "bars symbol=B [6,10)");
    require(f.s, "SELECT * FROM bars WHERE symbol = 'B' AND ts < '2024-01-01 06:00'", "");
    fixture_close(&f);
}

static void an_unknown_entity_is_missing_over_the_whole_range(void **state)
{
    (void)state;
    fixture f;
    fixture_open(&f);
    require(f.s, "SELECT * FROM bars WHERE symbol = 'ZZZ' AND ts >= '2024-01-01 01:00' AND ts < "
                 "'2024-01-01 03:00'", "bars symbol=ZZZ [1,3) unknown");
    assert_non_null(strstr(tst_error_last()->message, "no data for this entity"));
    const tst_coverage_missing *m = &tst_session_last_coverage(f.s)->missing[0];
    assert_int_equal(m->binding_count, 1);
    assert_string_equal(m->bindings[0].column, "symbol");
    assert_int_equal(m->bindings[0].value.v.utf8.len, 3);
    /* a = 'x' AND a = 'y' reads nothing */
    require(f.s, "SELECT * FROM bars WHERE symbol = 'A' AND symbol = 'B'", "");
    fixture_close(&f);
}

static void joins_ctes_and_in_union_what_each_reference_reads(void **state)
{
    (void)state;
    fixture f;
    fixture_open(&f);
    require(f.s, "WITH a AS (SELECT * FROM bars WHERE symbol = 'A' AND ts < '2024-01-01 03:00'), "
                 "b AS (SELECT * FROM bars WHERE symbol = 'B' AND ts >= '2024-01-01 05:00' AND "
                 "ts < '2024-01-01 08:00') SELECT count(*) FROM a, b",
            "bars symbol=B [6,8)");
    require(f.s, "SELECT * FROM bars x JOIN bars y USING (ts) WHERE x.symbol = 'A' AND "
                 "y.symbol = 'B' AND x.ts < '2024-01-01 04:00' AND y.ts < '2024-01-01 04:00'",
            "");
    /* IN: the hull of its values, and the report says so */
    require(f.s, "SELECT * FROM bars WHERE symbol = 'A' AND ts IN ('2024-01-01 03:10', "
                 "'2024-01-01 06:10')",
            "bars symbol=A [4,6)");
    assert_true(tst_session_last_coverage(f.s)->tables[0].widened & TST_COVERAGE_WIDENED_HULL);
    assert_non_null(strstr(tst_error_last()->message, "OR or IN"));
    fixture_close(&f);
}

static void a_zone_dependent_bound_is_widened_and_says_how_to_be_exact(void **state)
{
    (void)state;
    fixture f;
    fixture_open(&f);
    exec(f.s, "SET TimeZone = 'America/New_York'");
    /* a zone-less text in New York: exact (DuckDB reads it in the zone) */
    require(f.s, "SELECT * FROM bars WHERE symbol = 'B' AND ts >= '2023-12-31 19:00' AND ts < "
                 "'2023-12-31 23:00'", "");
    /* a DATE of a zoned index outside UTC: Dec 31 in New York is hours -19..4,
     * checked as the UTC day widened by 17 hours each side, hours -41..17 */
    require(f.s, "SELECT * FROM bars WHERE symbol = 'B' AND ts::DATE = DATE '2023-12-31'",
            "bars symbol=B [-41,0); bars symbol=B [6,18)");
    assert_true(tst_session_last_coverage(f.s)->tables[0].widened & TST_COVERAGE_WIDENED_ZONE);
    assert_non_null(strstr(tst_error_last()->message, "with an offset"));
    /* the same day written as instants with offsets: exact */
    require(f.s, "SELECT * FROM bars WHERE symbol = 'B' AND ts >= '2023-12-31 00:00:00-05' "
                 "AND ts < '2024-01-01 00:00:00-05'",
            "bars symbol=B [-19,0)");
    assert_int_equal(tst_session_last_coverage(f.s)->tables[0].widened, 0);
    fixture_close(&f);
}

static void time_travel_checks_its_own_version(void **state)
{
    (void)state;
    fixture f;
    fixture_open(&f);
    /* at version 2 only A's hours 0..3 exist: the extent ends at hour 4 */
    assert_tst_ok(tst_session_register_table_at(f.s, "old", f.root, 2));
    require(f.s, "SELECT * FROM old WHERE symbol = 'A' AND ts < '2024-01-01 08:00'",
            "old symbol=A [4,8)");
    require(f.s, "SELECT * FROM \"bars@v2\" WHERE symbol = 'A' AND ts >= '2024-01-01 06:00' "
                 "AND ts < '2024-01-01 08:00'",
            "bars@v2 symbol=A [6,8)");
    require(f.s, "SELECT * FROM bars WHERE symbol = 'A' AND ts >= '2024-01-01 06:00' AND ts < "
                 "'2024-01-01 08:00'", "");
    fixture_close(&f);
}

static void a_statement_the_planner_cannot_read_is_refused_or_warned(void **state)
{
    (void)state;
    fixture f;
    fixture_open(&f);
    char *out = tst_test_path(f.dir, "out.csv");
    char *copy = text_of("COPY (SELECT * FROM bars) TO '%s' (FORMAT csv)", out);
    assert_tst_ok(tst_session_set_coverage_mode(f.s, TST_COVERAGE_REQUIRE));
    tst_rows *rows = NULL;
    assert_tst_fails(tst_session_query_rows(f.s, copy, NULL, 0, &rows), TST_EINCOMPLETE);
    assert_int_equal(access(out, F_OK), -1); /* nothing ran */
    assert_tst_fails(tst_session_query_rows(f.s, "SELECT 1 FROM bars; SELECT 2", NULL, 0, &rows),
                     TST_EINCOMPLETE);
    free(copy);
    assert_tst_fails(tst_session_query_rows(f.s, "SELECT * FROM query('SELECT * FROM bars')",
                                            NULL, 0, &rows),
                     TST_EINCOMPLETE);
    const tst_coverage_report *r = tst_session_last_coverage(f.s);
    assert_false(r->tables[0].readable);
    assert_int_equal(r->missing_count, 0);
    assert_non_null(strstr(tst_error_last()->message, "not checked: bars"));
    assert_tst_ok(tst_session_set_coverage_mode(f.s, TST_COVERAGE_WARN));
    assert_tst_ok(tst_session_query_rows(f.s, "SELECT * FROM query('SELECT * FROM bars')",
                                         NULL, 0, &rows));
    tst_rows_free(rows);
    assert_false(tst_session_last_coverage(f.s)->complete);
    assert_non_null(strstr(tst_session_last_coverage(f.s)->message, "could not be checked"));
    /* a condition on the index it cannot read leaves the upper side open:
     * not "to the end of the data", so not checked */
    assert_tst_ok(tst_session_set_coverage_mode(f.s, TST_COVERAGE_REQUIRE));
    assert_tst_fails(tst_session_query_rows(f.s, "SELECT * FROM bars WHERE symbol = 'B' AND ts >= "
                                                 "'2024-01-01' AND date_trunc('hour', ts) < "
                                                 "TIMESTAMPTZ '2024-01-01 12:00:00+00'",
                                            NULL, 0, &rows),
                     TST_EINCOMPLETE);
    assert_true(tst_session_last_coverage(f.s)->tables[0].bound_unread);
    assert_non_null(strstr(tst_error_last()->message, "bound the index with constants"));
    /* a bound over a CTE is outside the table's own WHERE: the same */
    assert_tst_fails(tst_session_query_rows(f.s, "WITH u AS (SELECT * FROM bars WHERE symbol = "
                                                 "'B') SELECT * FROM u WHERE ts >= '2023-12-31'",
                                            NULL, 0, &rows),
                     TST_EINCOMPLETE);
    assert_true(tst_session_last_coverage(f.s)->tables[0].bound_unread);
    require(f.s, "WITH u AS (SELECT * FROM bars WHERE symbol = 'B' AND ts >= '2024-01-01' AND "
                 "ts < '2024-01-01 06:00') SELECT * FROM u WHERE ts >= '2024-01-01 01:00'", "");
    /* ... while with both sides bounded, it only narrows what is read */
    require(f.s, "SELECT * FROM bars WHERE symbol = 'B' AND ts >= '2024-01-01' AND ts < "
                 "'2024-01-01 06:00' AND date_part('hour', ts) BETWEEN 1 AND 3", "");
    free(out);
    fixture_close(&f);
}

static void warn_mode_runs_and_reports(void **state)
{
    (void)state;
    fixture f;
    fixture_open(&f);
    assert_tst_ok(tst_session_set_coverage_mode(f.s, TST_COVERAGE_WARN));
    char *n = tst_test_first_value(f.s, "SELECT count(*) FROM bars WHERE symbol = 'A'", NULL, 0);
    assert_string_equal(n, "8");
    free(n);
    expect_missing(f.s, "warn", "bars symbol=A [4,6)");
    assert_non_null(strstr(tst_session_last_coverage(f.s)->message, "runs anyway"));
    /* off: no report */
    assert_tst_ok(tst_session_set_coverage_mode(f.s, TST_COVERAGE_OFF));
    n = tst_test_first_value(f.s, "SELECT count(*) FROM bars", NULL, 0);
    free(n);
    assert_null(tst_session_last_coverage(f.s));
    assert_tst_fails(tst_session_set_coverage_mode(f.s, (tst_coverage_mode)7), TST_EINVAL);
    fixture_close(&f);
}

static void a_view_over_the_table_checks_all_of_it(void **state)
{
    (void)state;
    fixture f;
    fixture_open(&f);
    exec(f.s, "CREATE VIEW recent AS SELECT * FROM bars WHERE symbol = 'B'");
    require(f.s, "SELECT * FROM recent", "bars symbol=A [4,6); bars symbol=B [6,10)");
    assert_true(tst_session_last_coverage(f.s)->tables[0].widened & TST_COVERAGE_WIDENED_VIEW);
    fixture_close(&f);
}

static void a_direct_read_is_checked_as_asked(void **state)
{
    (void)state;
    fixture f;
    fixture_open(&f);
    tst_table *t = NULL;
    assert_tst_ok(tst_table_open(&t, f.root));
    tst_index_value start = tst_index_value_timestamp(EPOCH_2024 + 3 * 3600, 0),
                    end = tst_index_value_timestamp(EPOCH_2024 + 7 * 3600 + 1, 0);
    tst_entity_binding a = {"symbol", {TST_ENTITY_UTF8, {.utf8 = {"A", 1}}}};
    tst_coverage_report *r = NULL;
    assert_tst_fails(tst_table_check_coverage(t, "bars", &a, 1, &start, &end, NULL,
                                              TST_COVERAGE_REQUIRE, &r),
                     TST_EINCOMPLETE);
    char *got = missing_text(r);
    assert_string_equal(got, "bars symbol=A [4,6)");
    free(got);
    tst_coverage_report_free(r);
    assert_tst_ok(tst_table_check_coverage(t, "bars", NULL, 0, &start, &end, NULL, TST_COVERAGE_WARN,
                                           &r));
    got = missing_text(r);
    assert_string_equal(got, "bars symbol=A [4,6); bars symbol=B [6,8)");
    free(got);
    tst_coverage_report_free(r);
    tst_entity_binding bad = {"price", {TST_ENTITY_UTF8, {.utf8 = {"A", 1}}}};
    assert_tst_fails(tst_table_check_coverage(t, NULL, &bad, 1, &start, &end, NULL,
                                              TST_COVERAGE_REQUIRE, &r),
                     TST_EINVAL);
    tst_table_free(t);
    fixture_close(&f);
}

/* Under a calendar only its expected buckets are asked: A's hole (04:00 to
 * 06:00) falls in closed time and passes; B's tail (06:00 to 10:00) is open
 * and missing; without the calendar A's hole is missing again. */
static void a_calendar_asks_only_the_buckets_it_expects(void **state)
{
    (void)state;
    fixture f;
    fixture_open(&f);
    const char *a = "SELECT count(*) FROM bars WHERE symbol = 'A' AND ts >= "
                    "'2024-01-01 00:00:00+00' AND ts < '2024-01-01 10:00:00+00'";
    const char *b = "SELECT count(*) FROM bars WHERE symbol = 'B' AND ts >= "
                    "'2024-01-01 00:00:00+00' AND ts < '2024-01-01 10:00:00+00'";
    tst_calendar *cal = NULL;
    assert_tst_ok(tst_calendar_parse(&cal, "sessions=00:00-04:00,06:00-10:00"));
    tst_session_set_coverage_calendar(f.s, cal);
    require(f.s, a, "");
    assert_int_equal(tst_session_last_coverage(f.s)->tables[0].asked_buckets, 8);
    assert_true(tst_session_last_coverage(f.s)->tables[0].calendar);
    require(f.s, b, "bars symbol=B [6,10)");
    assert_non_null(strstr(tst_error_last()->message, "8 expected (entity, bucket) slots"));
    /* a direct read takes the calendar as an argument */
    tst_table *t = NULL;
    assert_tst_ok(tst_table_open(&t, f.root));
    tst_index_value start = tst_index_value_timestamp(EPOCH_2024, 0),
                    end = tst_index_value_timestamp(EPOCH_2024 + 10 * 3600, 0);
    tst_entity_binding ea = {"symbol", {TST_ENTITY_UTF8, {.utf8 = {"A", 1}}}};
    tst_coverage_report *r = NULL;
    assert_tst_ok(tst_table_check_coverage(t, "bars", &ea, 1, &start, &end, cal,
                                           TST_COVERAGE_REQUIRE, &r));
    assert_true(r->complete);
    tst_coverage_report_free(r);
    tst_table_free(t);
    tst_session_set_coverage_calendar(f.s, NULL); /* frees it: every bucket again */
    require(f.s, a, "bars symbol=A [4,6)");
    fixture_close(&f);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(full_coverage_passes_and_runs),
        cmocka_unit_test(a_hole_in_the_middle_fails_with_its_exact_range),
        cmocka_unit_test(an_entity_that_stopped_early_shows_its_tail),
        cmocka_unit_test(an_unknown_entity_is_missing_over_the_whole_range),
        cmocka_unit_test(joins_ctes_and_in_union_what_each_reference_reads),
        cmocka_unit_test(a_zone_dependent_bound_is_widened_and_says_how_to_be_exact),
        cmocka_unit_test(time_travel_checks_its_own_version),
        cmocka_unit_test(a_statement_the_planner_cannot_read_is_refused_or_warned),
        cmocka_unit_test(warn_mode_runs_and_reports),
        cmocka_unit_test(a_view_over_the_table_checks_all_of_it),
        cmocka_unit_test(a_direct_read_is_checked_as_asked),
        cmocka_unit_test(a_calendar_asks_only_the_buckets_it_expects),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
