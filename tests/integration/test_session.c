/*
 * test_session.c — SQL sessions end to end: the registry, freshness after
 * another process appends, parameters, text rows, export in every format,
 * the coverage table functions, and the SQL users run on time series
 * (joins with Parquet files, moving averages, ASOF joins, date_trunc and
 * time_bucket), over the NVDA sample.
 *
 * The freshness test appends from another process: this program runs
 * itself again (exec) with --append-child, so the child starts with no
 * DuckDB of its own state inherited from the parent.
 */
#include "testsupport.h"

#include "duck.h"
#include "tstable/append.h"
#include "tstable/session.h"
#include "tstable/table.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#define NVDA_CSV TST_SOURCE_DIR "/examples/data/nvda_1h_sample.csv"

/* The NVDA sample as a table at <dir>/bars. */
static char *nvda_table(const char *dir)
{
    char *root = tst_test_path(dir, "bars");
    tst_table *t = tst_test_create_table(root, "ts", "symbol", TST_TIME_HOURS, 1);
    assert_tst_ok(tst_table_append_csv(t, NVDA_CSV, NULL, NULL, NULL));
    tst_table_free(t);
    return root;
}

/* Every row of a result as "a|b|c\n" (NULL as "NULL"), in result order. */
static char *rows_text(tst_session *s, const char *sql, const tst_param *p, size_t n)
{
    tst_rows *rows = NULL;
    assert_tst_ok(tst_session_query_rows(s, sql, p, n, &rows));
    tst_sql out = {0};
    SQL_F(&out, "%s", "");
    int rc;
    while ((rc = tst_rows_next(rows)) == 1) {
        for (size_t c = 0; c < tst_rows_column_count(rows); c++) {
            const char *v = tst_rows_value(rows, c);
            SQL_F(&out, "%s%s", c ? "|" : "", v ? v : "NULL");
        }
        SQL_F(&out, "\n");
    }
    assert_int_equal(rc, 0);
    tst_rows_free(rows);
    return out.s;
}

static void assert_rows(tst_session *s, const char *sql, const tst_param *p, size_t n,
                        const char *want)
{
    char *got = rows_text(s, sql, p, n);
    if (strcmp(got, want) != 0)
        print_error("query: %s\n got: %s\nwant: %s\n", sql, got, want);
    assert_string_equal(got, want);
    free(got);
}


/* ---- the registry --------------------------------------------------------- */

static void names_are_registered_listed_sorted_and_deregistered(void **state)
{
    (void)state;
    char *dir = tst_test_tmpdir("session");
    char *root = nvda_table(dir);
    char *refs = tst_test_nvda_parquet(dir, "refs.parquet", "SELECT 'NVDA' AS symbol, 'NVIDIA' AS name");
    tst_session *s = NULL;
    assert_tst_ok(tst_session_open(&s));
    assert_tst_ok(tst_session_register_table(s, "bars", root));
    assert_tst_ok(tst_session_register_parquet(s, "refs", refs));
    assert_int_equal(tst_session_name_count(s), 2);
    assert_string_equal(tst_session_name_at(s, 0), "bars");
    assert_string_equal(tst_session_name_at(s, 1), "refs");
    assert_null(tst_session_name_at(s, 2));
    assert_string_equal(tst_session_table_root(s, "bars"), root);
    assert_null(tst_session_table_root(s, "refs"));
    assert_null(tst_session_table_root(s, "nope"));
    assert_rows(s, "SELECT count(*) FROM bars", NULL, 0, "240\n");
    assert_rows(s, "SELECT name FROM refs", NULL, 0, "NVIDIA\n");

    assert_tst_ok(tst_session_deregister(s, "refs"));
    assert_int_equal(tst_session_name_count(s), 1);
    assert_tst_fails(tst_session_deregister(s, "refs"), TST_ENOTFOUND);
    tst_rows *rows = NULL;
    assert_tst_fails(tst_session_query_rows(s, "SELECT * FROM refs", NULL, 0, &rows), TST_ESQL);
    assert_non_null(strstr(tst_error_last()->message, "refs"));
    tst_session_free(s);
    free(refs);
    free(root);
    tst_test_rmtree(dir);
}

static void a_name_must_be_a_sql_identifier(void **state)
{
    (void)state;
    tst_session *s = NULL;
    assert_tst_ok(tst_session_open(&s));
    assert_tst_fails(tst_session_register_parquet(s, "1bad", "/x.parquet"), TST_EINVAL);
    assert_tst_fails(tst_session_register_parquet(s, "a b", "/x.parquet"), TST_EINVAL);
    assert_tst_fails(tst_session_register_parquet(s, "x\"; DROP", "/x.parquet"), TST_EINVAL);
    assert_tst_fails(tst_session_register_table(s, "", "/x"), TST_EINVAL);
    assert_int_equal(tst_session_name_count(s), 0);
    tst_session_free(s);
}

static void a_table_without_a_schema_is_refused_and_the_old_registration_stays(void **state)
{
    (void)state;
    char *dir = tst_test_tmpdir("session");
    char *root = nvda_table(dir);
    char *empty = tst_test_path(dir, "empty");
    tst_table_free(tst_test_create_table(empty, "ts", "symbol", TST_TIME_HOURS, 1));
    tst_session *s = NULL;
    assert_tst_ok(tst_session_open(&s));
    assert_tst_fails(tst_session_register_table(s, "e", empty), TST_EEMPTY);
    assert_int_equal(tst_session_name_count(s), 0);
    assert_tst_ok(tst_session_register_table(s, "bars", root));
    assert_tst_fails(tst_session_register_table(s, "bars", empty), TST_EEMPTY);
    assert_tst_fails(tst_session_register_table(s, "bars", "/no/such/table"), TST_ENOTFOUND);
    assert_string_equal(tst_session_table_root(s, "bars"), root);
    assert_rows(s, "SELECT count(*) FROM bars", NULL, 0, "240\n");
    tst_session_free(s);
    free(empty);
    free(root);
    tst_test_rmtree(dir);
}

/* ---- freshness ------------------------------------------------------------ */

static const char *self_exe;

static void run_append_child(const char *root, const char *csv)
{
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        execl(self_exe, self_exe, "--append-child", root, csv, (char *)NULL);
        _exit(127);
    }
    int status = 0;
    assert_int_equal(waitpid(pid, &status, 0), pid);
    assert_true(WIFEXITED(status));
    assert_int_equal(WEXITSTATUS(status), 0);
}

static void a_query_sees_rows_another_process_appended_without_registering_again(void **state)
{
    (void)state;
    char *dir = tst_test_tmpdir("session");
    char *root = nvda_table(dir);
    char *csv = tst_test_path(dir, "more.csv");
    const char *more = "ts,symbol,open,high,low,close,volume\n"
                       "2024-06-11T00:00:00Z,NVDA,120.5,121.0,120.0,120.75,1000\n"
                       "2024-06-11T01:00:00Z,NVDA,120.75,121.5,120.5,121.25,2000\n"
                       "2024-06-11T02:00:00Z,NVDA,121.25,122.0,121.0,121.5,3000\n";
    assert_int_equal(tst_test_write_file(csv, more, strlen(more)), 0);
    tst_session *s = NULL;
    assert_tst_ok(tst_session_open(&s));
    assert_tst_ok(tst_session_register_table(s, "bars", root));
    assert_rows(s, "SELECT count(*) FROM bars", NULL, 0, "240\n");
    run_append_child(root, csv);
    assert_rows(s, "SELECT count(*), max(ts) FROM bars", NULL, 0,
                "243|2024-06-11T02:00:00Z\n");
    assert_rows(s, "SELECT close FROM bars WHERE ts >= '2024-06-11' ORDER BY ts", NULL, 0,
                "120.75\n121.25\n121.5\n");
    tst_prune_stats st;
    tst_session_last_prune(s, &st);
    assert_int_equal(st.candidate_segments, 2);
    assert_int_equal(st.kept_segments, 1);
    tst_session_free(s);
    free(csv);
    free(root);
    tst_test_rmtree(dir);
}

/* ---- parameters and errors ------------------------------------------------ */

static void positional_and_named_parameters_are_bound(void **state)
{
    (void)state;
    char *dir = tst_test_tmpdir("session");
    char *root = nvda_table(dir);
    tst_session *s = NULL;
    assert_tst_ok(tst_session_open(&s));
    assert_tst_ok(tst_session_register_table(s, "bars", root));
    tst_param pos[2] = {tst_test_text_param(NULL, "2024-06-03T00:00:00Z"),
                        tst_test_text_param(NULL, "2024-06-04T00:00:00Z")};
    assert_rows(s, "SELECT count(*) FROM bars WHERE ts >= $1 AND ts < $2", pos, 2, "24\n");
    tst_param named[3] = {tst_test_text_param("sym", "NVDA"), tst_test_text_param("lo", "2024-06-05"),
                          {0}};
    named[2].name = "n";
    named[2].type = TST_PARAM_INT64;
    named[2].v.i64 = 3;
    assert_rows(s, "SELECT count(*) FROM (SELECT * FROM bars WHERE symbol = $sym AND ts >= $lo "
                   "ORDER BY ts LIMIT $n)", named, 3, "3\n");
    tst_prune_stats st;
    tst_session_last_prune(s, &st);
    assert_int_equal(st.kept_segments, 1);

    tst_rows *rows = NULL;
    assert_tst_fails(tst_session_query_rows(s, "SELECT $1, $2", pos, 1, &rows), TST_EINVAL);
    assert_tst_fails(tst_session_query_rows(s, "SELECT $a", named, 1, &rows), TST_EINVAL);
    tst_session_free(s);
    free(root);
    tst_test_rmtree(dir);
}

static void engine_errors_are_esql_with_duckdbs_message(void **state)
{
    (void)state;
    tst_session *s = NULL;
    assert_tst_ok(tst_session_open(&s));
    tst_rows *rows = NULL;
    assert_tst_fails(tst_session_query_rows(s, "SELEC 1", NULL, 0, &rows), TST_ESQL);
    assert_non_null(strstr(tst_error_last()->message, "syntax error"));
    assert_tst_fails(tst_session_query_rows(s, "SELECT * FROM missing_table", NULL, 0, &rows),
                     TST_ESQL);
    assert_non_null(strstr(tst_error_last()->message, "missing_table"));
    struct ArrowArrayStream st;
    assert_tst_fails(tst_session_query(s, "SELECT CAST('x' AS INTEGER)", NULL, 0, &st), TST_ESQL);
    assert_non_null(strstr(tst_error_last()->message, "Conversion Error"));
    assert_null(st.release);
    tst_session_free(s);
}

/* ---- results -------------------------------------------------------------- */

static void rows_render_types_as_documented(void **state)
{
    (void)state;
    tst_session *s = NULL;
    assert_tst_ok(tst_session_open(&s));
    tst_rows *rows = NULL;
    assert_tst_ok(tst_session_query_rows(
        s, "SELECT TIMESTAMPTZ '2024-06-01 00:00:00+02' AS a, TIMESTAMP_MS '2024-06-01 "
           "00:00:00.5' AS b, 0.1::DOUBLE AS c, 1e100 AS d, 12.50::DECIMAL(6,2) AS e, "
           "DATE '2024-06-01' AS f, NULL::INTEGER AS g, [1, 2] AS h, {'k': 'v'} AS i, "
           "'x'::BLOB AS j, true AS k, -7::BIGINT AS l",
        NULL, 0, &rows));
    assert_int_equal(tst_rows_column_count(rows), 12);
    assert_string_equal(tst_rows_column_name(rows, 0), "a");
    assert_string_equal(tst_rows_column_type(rows, 0), "TIMESTAMP WITH TIME ZONE");
    assert_string_equal(tst_rows_column_type(rows, 4), "DECIMAL(6,2)");
    assert_string_equal(tst_rows_column_type(rows, 7), "INTEGER[]");
    assert_int_equal(tst_rows_next(rows), 1);
    const char *want[] = {"2024-05-31T22:00:00Z", "2024-06-01T00:00:00.500" /* zone-less: no Z */, "0.1", "1e+100",
                          "12.50", "2024-06-01", NULL, "[1, 2]", "{'k': 'v'}", "x", "true", "-7"};
    for (size_t i = 0; i < 12; i++) {
        if (want[i])
            assert_string_equal(tst_rows_value(rows, i), want[i]);
        else
            assert_null(tst_rows_value(rows, i));
    }
    assert_int_equal(tst_rows_next(rows), 0);
    tst_rows_free(rows);
    tst_session_free(s);
}

/* INTERVAL renders as DuckDB's own cast does, part by part and signed. */
static void intervals_render_as_duckdb_casts_them(void **state)
{
    (void)state;
    tst_session *s = NULL;
    assert_tst_ok(tst_session_open(&s));
    tst_rows *rows = NULL;
    assert_tst_ok(tst_session_query_rows(
        s, "SELECT i, CAST(i AS VARCHAR) FROM (VALUES (INTERVAL 0 SECOND), "
           "(INTERVAL '-90 minutes'), (INTERVAL '1 year 3 months'), (INTERVAL '-1 month'), "
           "(INTERVAL '13 months 1 day 0.5 seconds'), (INTERVAL '-2 days 3 hours'), "
           "(INTERVAL '100 hours'), (INTERVAL '1 microsecond'), (INTERVAL '-25 months'), "
           "(INTERVAL '-1 year -2 days -00:00:01.25'), (INTERVAL '7 days 00:00:00.12')) t(i) "
           "UNION ALL SELECT to_microseconds(CAST(r * 1e12 AS BIGINT)) + to_days(CAST(r * 40 AS "
           "INTEGER) - 20) + to_months(CAST(r * 30 AS INTEGER) - 15), NULL FROM (SELECT "
           "random() AS r FROM range(200)) ORDER BY 2 NULLS LAST",
        NULL, 0, &rows));
    size_t n = 0;
    while (tst_rows_next(rows) > 0) {
        const char *want = tst_rows_value(rows, 1);
        if (want)
            assert_string_equal(tst_rows_value(rows, 0), want);
        n++;
    }
    assert_int_equal(n, 211);
    tst_rows_free(rows);
    /* the random ones, against DuckDB's cast of the same values */
    assert_tst_ok(tst_session_query_rows(
        s, "SELECT i, CAST(i AS VARCHAR) FROM (SELECT to_microseconds(CAST((random() - 0.5) * "
           "1e12 AS BIGINT)) + to_days(CAST(random() * 40 AS INTEGER) - 20) + "
           "to_months(CAST(random() * 30 AS INTEGER) - 15) AS i FROM range(500))",
        NULL, 0, &rows));
    while (tst_rows_next(rows) > 0)
        assert_string_equal(tst_rows_value(rows, 0), tst_rows_value(rows, 1));
    tst_rows_free(rows);
    tst_session_free(s);
}

static void the_arrow_stream_yields_every_row(void **state)
{
    (void)state;
    char *dir = tst_test_tmpdir("session");
    char *root = nvda_table(dir);
    tst_session *s = NULL;
    assert_tst_ok(tst_session_open(&s));
    assert_tst_ok(tst_session_register_table(s, "bars", root));
    struct ArrowArrayStream st;
    assert_tst_ok(tst_session_query(s, "SELECT ts, close FROM bars", NULL, 0, &st));
    struct ArrowSchema schema;
    assert_int_equal(st.get_schema(&st, &schema), 0);
    assert_int_equal(schema.n_children, 2);
    assert_string_equal(schema.children[0]->format, "tsu:UTC");
    schema.release(&schema);
    int64_t total = 0;
    for (;;) {
        struct ArrowArray batch;
        assert_int_equal(st.get_next(&st, &batch), 0);
        if (!batch.release)
            break;
        total += batch.length;
        batch.release(&batch);
    }
    assert_int_equal(total, 240);
    st.release(&st);
    tst_session_free(s);
    free(root);
    tst_test_rmtree(dir);
}

static char *read_text(const char *path)
{
    char *text = NULL;
    size_t len = 0;
    assert_int_equal(tst_test_read_file(path, &text, &len), 0);
    return text;
}

static void export_writes_csv_json_jsonl_and_parquet(void **state)
{
    (void)state;
    char *dir = tst_test_tmpdir("session");
    char *root = nvda_table(dir);
    tst_session *s = NULL;
    assert_tst_ok(tst_session_open(&s));
    assert_tst_ok(tst_session_register_table(s, "bars", root));
    const char *q = "SELECT ts, close FROM bars WHERE ts < $1 ORDER BY ts;";
    tst_param p = tst_test_text_param(NULL, "2024-06-01T02:00:00Z");
    uint64_t n = 0;
    char *csv = tst_test_path(dir, "out.csv"), *json = tst_test_path(dir, "out.json");
    char *jsonl = tst_test_path(dir, "out.jsonl"), *pq = tst_test_path(dir, "out.parquet");
    assert_tst_ok(tst_session_export(s, q, &p, 1, "csv", csv, &n));
    assert_int_equal(n, 2);
    char *text = read_text(csv);
    assert_string_equal(text, "ts,close\n2024-06-01T00:00:00Z,115.22\n"
                              "2024-06-01T01:00:00Z,115.55\n"); /* RFC 3339, as rows */
    free(text);
    assert_tst_ok(tst_session_export(s, q, &p, 1, "json", json, &n));
    text = read_text(json);
    assert_true(text[0] == '[');
    assert_non_null(strstr(text, "\"close\":115.55"));
    assert_non_null(strstr(text, "\"ts\":\"2024-06-01T01:00:00Z\""));
    free(text);
    assert_tst_ok(tst_session_export(s, q, &p, 1, "jsonl", jsonl, &n));
    text = read_text(jsonl);
    assert_true(text[0] == '{');
    assert_non_null(strstr(text, "}\n{"));
    free(text);
    assert_tst_ok(tst_session_export(s, q, &p, 1, "parquet", pq, &n));
    assert_int_equal(n, 2);
    assert_tst_ok(tst_session_register_parquet(s, "back", pq));
    assert_rows(s, "SELECT count(*), round(sum(close), 2) FROM back", NULL, 0, "2|230.77\n");
    assert_tst_fails(tst_session_export(s, q, &p, 1, "xml", csv, &n), TST_EINVAL);
    assert_tst_fails(tst_session_export(s, "SELECT nope FROM bars", NULL, 0, "csv", csv, &n),
                     TST_ESQL);
    assert_null(strstr(tst_error_last()->message, "COPY")); /* the user's SQL, not ours */
    assert_non_null(strstr(tst_error_last()->message, "LINE 1: SELECT nope FROM bars"));
    assert_tst_fails(tst_session_export(s, q, &p, 1, "csv", "/no/such/dir/x.csv", &n),
                     TST_ENOTFOUND);
    assert_string_equal(tst_error_last()->path, "/no/such/dir");
    /* statements COPY cannot wrap: nested (DESCRIBE) or row by row (EXPLAIN, PRAGMA) */
    assert_tst_ok(tst_session_export(s, "DESCRIBE bars", NULL, 0, "csv", csv, &n));
    text = read_text(csv);
    assert_true(strncmp(text, "column_name,column_type,", 24) == 0);
    free(text);
    assert_tst_ok(tst_session_export(s, "PRAGMA table_info('bars')", NULL, 0, "jsonl", jsonl, &n));
    text = read_text(jsonl);
    assert_true(strncmp(text, "{\"cid\":0,\"name\":\"ts\",", 21) == 0);
    free(text);
    assert_tst_ok(tst_session_export(s, "EXPLAIN SELECT 1", NULL, 0, "json", json, &n));
    assert_int_equal(n, 1);
    assert_tst_fails(tst_session_export(s, "EXPLAIN SELECT 1", NULL, 0, "parquet", pq, &n),
                     TST_EUNSUPPORTED);
    tst_session_free(s);
    free(csv), free(json), free(jsonl), free(pq);
    free(root);
    tst_test_rmtree(dir);
}

/* ---- coverage functions --------------------------------------------------- */

/* bars: NVDA complete; AAPL missing 05:00 every day (10 gaps). */
static char *two_symbol_table(const char *dir)
{
    char *root = nvda_table(dir);
    char *aapl = tst_test_nvda_parquet(dir, "aapl.parquet",
                              "SELECT * REPLACE ('AAPL' AS symbol) FROM nvda WHERE hour(ts) <> 5");
    tst_table *t = NULL;
    assert_tst_ok(tst_table_open(&t, root));
    assert_tst_ok(tst_table_append_parquet(t, aapl, NULL, NULL));
    tst_table_free(t);
    free(aapl);
    return root;
}

static void the_coverage_function_lists_symbols_with_gaps_in_a_backtest_window(void **state)
{
    (void)state;
    char *dir = tst_test_tmpdir("session");
    char *root = two_symbol_table(dir);
    tst_session *s = NULL;
    assert_tst_ok(tst_session_open(&s));
    assert_tst_ok(tst_session_register_table(s, "bars", root));
    assert_rows(s, "SELECT entity FROM tstable_coverage('bars', '2024-06-01', '2024-06-11') "
                   "WHERE missing_buckets > 0", NULL, 0, "AAPL\n");
    assert_rows(s, "SELECT * FROM tstable_coverage('bars', TIMESTAMPTZ '2024-06-01', "
                   "TIMESTAMP '2024-06-02') ORDER BY entity", NULL, 0,
                "AAPL|23|1|24|0.9583333333333334|1\nNVDA|24|0|24|1|0\n");
    assert_rows(s, "SELECT entity, gap_start, gap_end, buckets FROM tstable_gaps('bars', "
                   "'2024-06-01', '2024-06-03') ORDER BY entity, gap_start", NULL, 0,
                "AAPL|2024-06-01T05:00:00Z|2024-06-01T06:00:00Z|1\n"
                "AAPL|2024-06-02T05:00:00Z|2024-06-02T06:00:00Z|1\n");
    assert_rows(s, "SELECT count(*) FROM tstable_gaps('bars', '2024-06-01', '2024-06-11', "
                   "'AAPL')", NULL, 0, "10\n");
    assert_rows(s, "SELECT count(*) FROM tstable_gaps('bars', '2024-06-01', '2024-06-11', "
                   "'NVDA')", NULL, 0, "0\n");
    assert_rows(s, "SELECT buckets FROM tstable_gaps('bars', '2024-06-10', '2024-06-12', "
                   "'NVDA')", NULL, 0, "24\n");
    /* Joined with the data: the symbols whose coverage is complete. */
    assert_rows(s, "SELECT b.symbol, count(*) FROM bars b JOIN tstable_coverage('bars', "
                   "'2024-06-01', '2024-06-11') c ON b.symbol = c.entity WHERE c.ratio = 1 "
                   "GROUP BY b.symbol", NULL, 0, "NVDA|240\n");
    tst_rows *rows = NULL;
    assert_tst_fails(tst_session_query_rows(s, "SELECT * FROM tstable_coverage('nope', "
                     "'2024-06-01', '2024-06-02')", NULL, 0, &rows), TST_ESQL);
    assert_non_null(strstr(tst_error_last()->message, "nope"));
    assert_tst_fails(tst_session_query_rows(s, "SELECT * FROM tstable_coverage('bars', 1, 2)",
                                            NULL, 0, &rows), TST_ESQL);
    tst_session_free(s);
    free(root);
    tst_test_rmtree(dir);
}

static void the_coverage_functions_take_integer_bounds_for_integer_indexes(void **state)
{
    (void)state;
    char *dir = tst_test_tmpdir("session");
    char *root = tst_test_path(dir, "ints");
    tst_index_spec spec;
    memset(&spec, 0, sizeof spec);
    spec.column = "id";
    spec.kind.type = TST_INDEX_INT64;
    spec.kind.bucket_width = 10;
    spec.kind.protocol = 6; /* ten rows per bucket in one append: format_version 6 only */
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
    assert_rows(s, "SELECT entity, covered_buckets, total_buckets FROM "
                   "tstable_coverage('ints', 0, 50)", NULL, 0, "NULL|4|5\n");
    assert_rows(s, "SELECT gap_start, gap_end, buckets FROM tstable_gaps('ints', 0, 50)", NULL, 0,
                "20|30|1\n");
    tst_session_free(s);
    free(pq);
    free(root);
    tst_test_rmtree(dir);
}

/* ---- everyday SQL --------------------------------------------------------- */

static void a_table_joins_with_a_parquet_file(void **state)
{
    (void)state;
    char *dir = tst_test_tmpdir("session");
    char *root = nvda_table(dir);
    char *refs = tst_test_nvda_parquet(dir, "refs.parquet",
                              "SELECT * FROM (VALUES ('NVDA', 'NVIDIA'), ('AMD', 'AMD')) "
                              "v(symbol, name)");
    tst_session *s = NULL;
    assert_tst_ok(tst_session_open(&s));
    assert_tst_ok(tst_session_register_table(s, "bars", root));
    assert_tst_ok(tst_session_register_parquet(s, "refs", dir)); /* a folder */
    assert_rows(s, "SELECT r.name, count(*) FROM bars b JOIN refs r USING (symbol) "
                   "WHERE b.ts < '2024-06-02' GROUP BY r.name", NULL, 0, "NVIDIA|24\n");
    tst_session_free(s);
    free(refs);
    free(root);
    tst_test_rmtree(dir);
}

static void a_moving_average_matches_duckdb_over_the_csv(void **state)
{
    (void)state;
    char *dir = tst_test_tmpdir("session");
    char *root = nvda_table(dir);
    tst_session *s = NULL;
    assert_tst_ok(tst_session_open(&s));
    assert_tst_ok(tst_session_register_table(s, "bars", root));
    const char *ma = "SELECT ts, round(AVG(close) OVER (PARTITION BY symbol ORDER BY ts ROWS "
                     "BETWEEN 4 PRECEDING AND CURRENT ROW), 6) FROM %s ORDER BY ts";
    char q1[512], q2[512];
    snprintf(q1, sizeof q1, ma, "bars");
    snprintf(q2, sizeof q2, ma, "read_csv('" NVDA_CSV "')");
    char *a = rows_text(s, q1, NULL, 0), *b = rows_text(s, q2, NULL, 0);
    assert_string_equal(a, b);
    if (!strstr(a, "2024-06-01T04:00:00Z|115.194\n"))
        print_error("%.300s\n", a);
    assert_non_null(strstr(a, "2024-06-01T04:00:00Z|115.194\n")); /* mean of the first 5 */
    free(a), free(b);
    tst_session_free(s);
    free(root);
    tst_test_rmtree(dir);
}

static void asof_joins_date_trunc_and_time_bucket_work(void **state)
{
    (void)state;
    char *dir = tst_test_tmpdir("session");
    char *root = nvda_table(dir);
    char *trades = tst_test_nvda_parquet(dir, "trades.parquet",
                                "SELECT TIMESTAMPTZ '2024-06-01 02:30:00+00' AS ts, 'NVDA' AS "
                                "symbol, 10 AS qty");
    tst_session *s = NULL;
    assert_tst_ok(tst_session_open(&s));
    assert_tst_ok(tst_session_register_table(s, "bars", root));
    assert_tst_ok(tst_session_register_parquet(s, "trades", trades));
    assert_rows(s, "SELECT t.qty, b.ts, b.close FROM trades t ASOF JOIN bars b "
                   "ON t.symbol = b.symbol AND t.ts >= b.ts", NULL, 0,
                "10|2024-06-01T02:00:00Z|115.51\n");
    tst_prune_stats st;
    tst_session_last_prune(s, &st);
    assert_int_equal(st.kept_segments, st.candidate_segments);
    assert_rows(s, "SELECT date_trunc('day', ts) AS d, count(*) FROM bars GROUP BY d "
                   "ORDER BY d LIMIT 2", NULL, 0,
                "2024-06-01T00:00:00Z|24\n2024-06-02T00:00:00Z|24\n");
    assert_rows(s, "SELECT time_bucket(INTERVAL '6 hours', ts) AS b, count(*) FROM bars "
                   "WHERE ts < '2024-06-01 12:00:00' GROUP BY b ORDER BY b", NULL, 0,
                "2024-06-01T00:00:00Z|6\n2024-06-01T06:00:00Z|6\n");
    tst_session_free(s);
    free(trades);
    free(root);
    tst_test_rmtree(dir);
}

/* The child of the freshness test: appends a CSV to a table and exits. */
static int append_child(const char *root, const char *csv)
{
    tst_table *t = NULL;
    if (tst_table_open(&t, root) != 0)
        return 1;
    int rc = tst_table_append_csv(t, csv, NULL, NULL, NULL);
    if (rc != 0)
        fprintf(stderr, "append child: %s\n", tst_error_last()->message);
    tst_table_free(t);
    return rc == 0 ? 0 : 2;
}

/* ---- interrupting ---------------------------------------------------------- */

typedef struct long_query {
    tst_session *s;
    int rc;
    char message[256];
} long_query;

static void *run_long_query(void *arg)
{
    long_query *q = arg;
    tst_rows *rows = NULL;
    q->rc = tst_session_query_rows(q->s, "SELECT sum(a.range * b.range) FROM range(300000) a, "
                                   "range(300000) b", NULL, 0, &rows);
    int more = 0;
    while (q->rc == 0 && (more = tst_rows_next(rows)) > 0)
        ;
    if (q->rc == 0)
        q->rc = more;
    if (q->rc < 0)
        snprintf(q->message, sizeof q->message, "%s", tst_error_last()->message);
    tst_rows_free(rows);
    return NULL;
}

/* Finding 11: a shell's Ctrl-C cancels the statement, not the session. */
static void interrupt_cancels_the_running_statement_and_keeps_the_session(void **state)
{
    (void)state;
    char *dir = tst_test_tmpdir("session");
    char *root = nvda_table(dir);
    tst_session *s = NULL;
    assert_tst_ok(tst_session_open(&s));
    assert_tst_ok(tst_session_register_table(s, "bars", root));
    tst_session_interrupt(s); /* nothing runs: nothing happens */
    assert_rows(s, "SELECT count(*) FROM bars", NULL, 0, "240\n");
    long_query q = {s, 0, ""};
    pthread_t thread;
    assert_int_equal(pthread_create(&thread, NULL, run_long_query, &q), 0);
    usleep(300 * 1000);
    tst_session_interrupt(s);
    pthread_join(thread, NULL);
    assert_int_equal(q.rc, TST_ESQL);
    assert_non_null(strstr(q.message, "Interrupted"));
    assert_rows(s, "SELECT count(*) FROM bars", NULL, 0, "240\n"); /* still registered */
    tst_session_interrupt(NULL);
    tst_session_free(s);
    free(root);
    tst_test_rmtree(dir);
}

int main(int argc, char **argv)
{
    if (argc == 4 && strcmp(argv[1], "--append-child") == 0)
        return append_child(argv[2], argv[3]);
    self_exe = "/proc/self/exe";
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(names_are_registered_listed_sorted_and_deregistered),
        cmocka_unit_test(a_name_must_be_a_sql_identifier),
        cmocka_unit_test(a_table_without_a_schema_is_refused_and_the_old_registration_stays),
        cmocka_unit_test(a_query_sees_rows_another_process_appended_without_registering_again),
        cmocka_unit_test(positional_and_named_parameters_are_bound),
        cmocka_unit_test(engine_errors_are_esql_with_duckdbs_message),
        cmocka_unit_test(rows_render_types_as_documented),
        cmocka_unit_test(intervals_render_as_duckdb_casts_them),
        cmocka_unit_test(the_arrow_stream_yields_every_row),
        cmocka_unit_test(export_writes_csv_json_jsonl_and_parquet),
        cmocka_unit_test(interrupt_cancels_the_running_statement_and_keeps_the_session),
        cmocka_unit_test(the_coverage_function_lists_symbols_with_gaps_in_a_backtest_window),
        cmocka_unit_test(the_coverage_functions_take_integer_bounds_for_integer_indexes),
        cmocka_unit_test(a_table_joins_with_a_parquet_file),
        cmocka_unit_test(a_moving_average_matches_duckdb_over_the_csv),
        cmocka_unit_test(asof_joins_date_trunc_and_time_bucket_work),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
