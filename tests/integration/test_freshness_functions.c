/*
 * test_freshness_functions.c — tstable_freshness() and tstable_last_window()
 * in SQL: typed entity columns, TIMESTAMPTZ extents, INTERVAL lags, windows
 * per entity or for one (never seen: NULLs), time-travel names, integer
 * indexes, and the refusals. The Python suite checks the same answers
 * against a model of covered slots (python/tests/test_entities.py).
 */
#include "testsupport.h"
#include "tstable/append.h"
#include "tstable/session.h"
#include "tstable/table.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define NVDA_CSV TST_SOURCE_DIR "/examples/data/nvda_1h_sample.csv"

/* bars: NVDA 2024-06-01..11 hourly; AAPL the same without 05:00 and without the last day. */
static char *bars_table(const char *dir)
{
    char *root = tst_test_path(dir, "bars");
    tst_table *t = tst_test_create_table(root, "ts", "symbol", TST_TIME_HOURS, 1);
    assert_tst_ok(tst_table_append_csv(t, NVDA_CSV, NULL, NULL, NULL));
    char *aapl = tst_test_nvda_parquet(dir, "aapl.parquet",
                                       "SELECT * REPLACE ('AAPL' AS symbol) FROM nvda "
                                       "WHERE hour(ts) <> 5 AND ts < '2024-06-10'");
    assert_tst_ok(tst_table_append_parquet(t, aapl, NULL, NULL));
    tst_table_free(t);
    free(aapl);
    return root;
}

static char *rows_text(tst_session *s, const char *sql)
{
    tst_rows *rows = NULL;
    assert_tst_ok(tst_session_query_rows(s, sql, NULL, 0, &rows));
    size_t cap = 4096, len = 0;
    char *out = calloc(1, cap);
    int rc;
    while ((rc = tst_rows_next(rows)) == 1) {
        for (size_t c = 0; c < tst_rows_column_count(rows); c++) {
            const char *v = tst_rows_value(rows, c);
            len += (size_t)snprintf(out + len, cap - len, "%s%s", c ? "|" : "", v ? v : "NULL");
        }
        len += (size_t)snprintf(out + len, cap - len, "\n");
        assert_true(len < cap);
    }
    assert_int_equal(rc, 0);
    tst_rows_free(rows);
    return out;
}

static void assert_rows(tst_session *s, const char *sql, const char *want)
{
    char *got = rows_text(s, sql);
    if (strcmp(got, want) != 0)
        print_error("query: %s\n got: %s\nwant: %s\n", sql, got, want);
    assert_string_equal(got, want);
    free(got);
}

static void freshness_lists_each_entity_with_its_extent_gaps_and_lag(void **state)
{
    (void)state;
    char *dir = tst_test_tmpdir("freshness");
    char *root = bars_table(dir);
    tst_session *s = NULL;
    assert_tst_ok(tst_session_open(&s));
    assert_tst_ok(tst_session_register_table(s, "bars", root));
    assert_rows(s, "SELECT symbol, first, last, covered_buckets, gaps, missing_buckets, ratio, "
                   "CAST(lag AS VARCHAR) FROM tstable_freshness('bars', now := "
                   "'2024-06-11T06:30:00Z')",
                "AAPL|2024-06-01T00:00:00Z|2024-06-10T00:00:00Z|207|9|9|0.9583333333333334|"
                "1 day 06:30:00\n"
                "NVDA|2024-06-01T00:00:00Z|2024-06-11T00:00:00Z|240|0|0|1|06:30:00\n");
    assert_rows(s, "SELECT typeof(symbol), typeof(first), typeof(lag) FROM "
                   "tstable_freshness('bars') LIMIT 1",
                "VARCHAR|TIMESTAMP WITH TIME ZONE|INTERVAL\n");
    /* Joined with the data: the bars of the symbols lagging more than a day. */
    assert_rows(s, "SELECT b.symbol, count(*) FROM bars b JOIN tstable_freshness('bars', "
                   "now := TIMESTAMPTZ '2024-06-11 06:30:00+00') f USING (symbol) "
                   "WHERE f.lag > INTERVAL 1 DAY GROUP BY 1",
                "AAPL|207\n");
    /* Time travel: version 2 had NVDA only. */
    assert_rows(s, "SELECT symbol FROM tstable_freshness('bars@v2')", "NVDA\n");
    tst_session_free(s);
    free(root);
    tst_test_rmtree(dir);
}

static void last_window_finds_the_latest_fully_covered_run_per_entity(void **state)
{
    (void)state;
    char *dir = tst_test_tmpdir("freshness");
    char *root = bars_table(dir);
    tst_session *s = NULL;
    assert_tst_ok(tst_session_open(&s));
    assert_tst_ok(tst_session_register_table(s, "bars", root));
    assert_rows(s, "SELECT * FROM tstable_last_window('bars', INTERVAL 1 DAY)",
                "AAPL|NULL|NULL\nNVDA|2024-06-10T00:00:00Z|2024-06-11T00:00:00Z\n");
    assert_rows(s, "SELECT * FROM tstable_last_window('bars', '18h', entity := 'AAPL')",
                "AAPL|2024-06-09T06:00:00Z|2024-06-10T00:00:00Z\n");
    assert_rows(s, "SELECT window_start FROM tstable_last_window('bars', INTERVAL 3 HOUR, "
                   "entity := 'symbol=AAPL', \"end\" := '2024-06-03T06:00:00Z')",
                "2024-06-03T02:00:00Z\n");
    assert_rows(s, "SELECT * FROM tstable_last_window('bars', INTERVAL 1 HOUR, entity := 'MSFT')",
                "MSFT|NULL|NULL\n");
    tst_rows *rows = NULL;
    const char *refused[] = {
        "SELECT * FROM tstable_last_window('bars', '90m')",
        "SELECT * FROM tstable_last_window('bars', INTERVAL 1 MONTH)",
        "SELECT * FROM tstable_last_window('bars', 3)",
        "SELECT * FROM tstable_last_window('bars', NULL)",
        "SELECT * FROM tstable_last_window('bars', '1h', entity := 'venue=X')",
        "SELECT * FROM tstable_freshness('nope')",
    };
    for (size_t i = 0; i < sizeof refused / sizeof refused[0]; i++)
        assert_tst_fails(tst_session_query_rows(s, refused[i], NULL, 0, &rows), TST_ESQL);
    tst_session_free(s);
    free(root);
    tst_test_rmtree(dir);
}

static void integer_indexes_measure_lag_in_index_units(void **state)
{
    (void)state;
    char *dir = tst_test_tmpdir("freshness");
    char *root = tst_test_path(dir, "ints");
    tst_index_spec spec;
    memset(&spec, 0, sizeof spec);
    spec.column = "id";
    spec.kind.type = TST_INDEX_INT64;
    spec.kind.bucket_width = 10;
    spec.kind.protocol = 6;
    tst_table *t = NULL;
    assert_tst_ok(tst_table_create(&t, root, &spec));
    char *pq = tst_test_nvda_parquet(dir, "ints.parquet",
                                     "SELECT range AS id, range * 2 AS v FROM range(0, 50) "
                                     "WHERE range < 20 OR range >= 30");
    assert_tst_ok(tst_table_append_parquet(t, pq, NULL, NULL));
    tst_table_free(t);
    tst_session *s = NULL;
    assert_tst_ok(tst_session_open(&s));
    assert_tst_ok(tst_session_register_table(s, "ints", root));
    assert_rows(s, "SELECT * FROM tstable_freshness('ints')", "0|50|4|1|1|0.8|NULL\n");
    assert_rows(s, "SELECT lag, typeof(lag) FROM tstable_freshness('ints', now := 75)",
                "25|BIGINT\n");
    assert_rows(s, "SELECT * FROM tstable_last_window('ints', 20)", "30|50\n");
    assert_rows(s, "SELECT * FROM tstable_last_window('ints', 30)", "NULL|NULL\n");
    tst_session_free(s);
    free(pq);
    free(root);
    tst_test_rmtree(dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(freshness_lists_each_entity_with_its_extent_gaps_and_lag),
        cmocka_unit_test(last_window_finds_the_latest_fully_covered_run_per_entity),
        cmocka_unit_test(integer_indexes_measure_lag_in_index_units),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
