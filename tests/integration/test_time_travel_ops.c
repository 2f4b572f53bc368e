/*
 * test_time_travel.c — time travel over a table with appends, an optimize
 * and an update: each version opens (by number and as of an instant) to
 * what the head said right after that commit — segments, coverage pointer,
 * coverage and gaps, scanned rows, SQL results; a pinned handle refuses
 * every write and stays put; "name@vN" in SQL reads version N with pruning,
 * and equals plain DuckDB over that version's files in two session time
 * zones; a file that vacuum would remove, once gone, is reported as maybe
 * vacuumed.
 */
#include "testsupport.h"

#include "duck.h"
#include "history.h"
#include "log.h"
#include "model.h"
#include "tstable/append.h"
#include "tstable/evolve.h"
#include "tstable/optimize.h"
#include "tstable/scan.h"
#include "tstable/session.h"
#include "tstable/update.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define HEAD 7

typedef struct fx {
    char *root, *dir;
    char *facts[HEAD + 1]; /* what the writer's handle said right after each version */
    char *sums[HEAD + 1];  /* count(*) | sum(close) over SQL at that time */
    char **files[HEAD + 1];
    size_t file_count[HEAD + 1];
} fx;

static const char *const RANGE_START = "2024-01-01T00:00:00Z";
static const char *const RANGE_END = "2024-01-05T00:00:00Z";

/* ---- what a handle says ------------------------------------------------------ */

static int count_gap(void *ctx, const tst_index_value *a, const tst_index_value *b, bool inc,
                     uint64_t buckets)
{
    (void)a, (void)b, (void)inc;
    *(uint64_t *)ctx += buckets * 1000 + 1; /* gaps and their lengths */
    return 0;
}

static uint64_t scanned_rows(tst_table *t, const tst_index_value *start, const tst_index_value *end)
{
    struct ArrowArrayStream s;
    assert_tst_ok(tst_table_scan(t, start, end, NULL, 0, NULL, 0, &s));
    uint64_t rows = 0;
    for (;;) {
        struct ArrowArray a;
        assert_int_equal(s.get_next(&s, &a), 0);
        if (!a.release)
            break;
        rows += (uint64_t)a.length;
        a.release(&a);
    }
    s.release(&s);
    return rows;
}

static char *facts(tst_table *t)
{
    tst_sql out = {0};
    uint64_t cov_v = 0;
    const char *cov = tst_table_coverage_path(t, &cov_v);
    SQL_F(&out, "v%llu cov=%s@%llu segs:", (unsigned long long)tst_table_version(t),
          cov ? cov : "-", (unsigned long long)cov_v);
    for (size_t i = 0; i < tst_table_segment_count(t); i++)
        SQL_F(&out, " %s/%llu", tst_table_segment_at(t, i)->path,
              (unsigned long long)tst_table_segment_at(t, i)->row_count);
    if (tst_table_segment_count(t) == 0)
        return out.s;
    tst_index_value start = tst_test_ts(RANGE_START), end = tst_test_ts(RANGE_END);
    tst_coverage_counts all, a;
    tst_entity_binding sym = tst_test_symbol("A");
    assert_tst_ok(tst_table_coverage(t, NULL, 0, &start, &end, &all));
    assert_tst_ok(tst_table_coverage(t, &sym, 1, &start, &end, &a));
    uint64_t gaps = 0;
    tst_entity_binding b = tst_test_symbol("B");
    assert_tst_ok(tst_table_gaps(t, &b, 1, &start, &end, 0, count_gap, &gaps));
    SQL_F(&out, " covered=%llu A=%llu Bgaps=%llu scan=%llu",
          (unsigned long long)all.covered_buckets, (unsigned long long)a.covered_buckets,
          (unsigned long long)gaps, (unsigned long long)scanned_rows(t, &start, &end));
    return out.s;
}

static char *sql_sums(tst_session *s, const char *name)
{
    char sql[256];
    snprintf(sql, sizeof sql, "SELECT count(*) || '|' || coalesce(sum(close), 0) FROM \"%s\"",
             name);
    return tst_test_first_value(s, sql, NULL, 0);
}

static void record(fx *f, tst_table *t)
{
    uint64_t v = tst_table_version(t);
    assert_true(v <= HEAD);
    f->facts[v] = facts(t);
    f->file_count[v] = tst_table_segment_count(t);
    f->files[v] = calloc(f->file_count[v] + 1, sizeof *f->files[v]);
    for (size_t i = 0; i < f->file_count[v]; i++)
        f->files[v][i] = tst_test_path(f->root, tst_table_segment_at(t, i)->path);
    if (v >= 2) {
        tst_session *s = NULL;
        assert_tst_ok(tst_session_open(&s));
        assert_tst_ok(tst_session_register_table(s, "bars", f->root));
        f->sums[v] = sql_sums(s, "bars");
        tst_session_free(s);
    }
}

static void append_csv(fx *f, tst_table *t, const char *name, const char *rows)
{
    char *path = tst_test_path(f->dir, name);
    char text[4096];
    int n = snprintf(text, sizeof text, "ts,symbol,close\n%s", rows);
    assert_int_equal(tst_test_write_file(path, text, (size_t)n), 0);
    assert_tst_ok(tst_table_append_csv(t, path, NULL, NULL, NULL));
    free(path);
    record(f, t);
}

/* v1 create; v2 A+B day 1 (one mixed segment); v3 A day 2; v4 B day 3;
 * v5 optimize (the mixed segment becomes one per symbol); v6 update of A's
 * first hour of day 2; v7 A day 4. */
static int setup(void **state)
{
    fx *f = calloc(1, sizeof *f);
    f->root = tst_test_tmpdir("travelops");
    f->dir = tst_test_tmpdir("travelsrc");
    tst_table *t = tst_test_create_symbol_table(f->root, 7);
    record(f, t);
    append_csv(f, t, "a.csv", "2024-01-01T00:00:00Z,A,0.0\n2024-01-01T01:00:00Z,A,1.0\n"
                              "2024-01-01T01:00:00Z,B,1.5\n2024-01-01T23:00:00Z,B,23.5\n");
    append_csv(f, t, "b.csv", "2024-01-02T00:00:00Z,A,24.0\n2024-01-02T01:00:00Z,A,25.0\n"
                              "2024-01-02T04:00:00Z,A,28.0\n");
    append_csv(f, t, "c.csv", "2024-01-03T00:00:00Z,B,48.0\n2024-01-03T05:00:00Z,B,53.0\n");
    tst_optimize_report rep;
    assert_tst_ok(tst_table_optimize(t, NULL, &rep));
    assert_int_equal(rep.committed_version, 5);
    record(f, t);
    char *upd = tst_test_path(f->dir, "u.csv");
    const char *text = "ts,symbol,close\n2024-01-02T00:00:00Z,A,99.0\n";
    assert_int_equal(tst_test_write_file(upd, text, strlen(text)), 0);
    tst_update_source src = {.csv_path = upd};
    tst_update_options o = TST_UPDATE_OPTIONS_INIT;
    o.expected_version = 5;
    static const char *const close[] = {"close"};
    assert_tst_ok(tst_table_update_rows(t, &src, close, 1, &o, NULL));
    free(upd);
    record(f, t);
    append_csv(f, t, "d.csv", "2024-01-04T00:00:00Z,A,72.0\n");
    assert_int_equal(tst_table_version(t), HEAD);
    tst_table_free(t);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    fx *f = *state;
    for (int v = 0; v <= HEAD; v++) {
        free(f->facts[v]), free(f->sums[v]);
        for (size_t i = 0; f->files[v] && i < f->file_count[v]; i++)
            free(f->files[v][i]);
        free(f->files[v]);
    }
    tst_test_rmtree(f->root);
    tst_test_rmtree(f->dir);
    free(f);
    return 0;
}

/* ---- reading the past ---------------------------------------------------------- */

static void assert_facts(const fx *f, tst_table *t, uint64_t v)
{
    assert_int_equal(tst_table_version(t), v);
    char *got = facts(t);
    if (strcmp(got, f->facts[v]) != 0)
        fail_msg("version %llu:\n  head said %s\n  opened    %s", (unsigned long long)v,
                 f->facts[v], got);
    free(got);
}

static void each_version_reads_as_the_head_did_right_after_its_commit(void **state)
{
    fx *f = *state;
    /* The versions differ from each other: the test can tell them apart. */
    for (int v = 2; v < HEAD; v++)
        assert_string_not_equal(f->facts[v], f->facts[v + 1]);
    for (uint64_t v = 1; v <= HEAD; v++) {
        tst_table *t = NULL;
        assert_tst_ok(tst_table_open_at(&t, f->root, v));
        assert_facts(f, t, v);
        /* Coverage is that version's snapshot, not the head's. */
        uint64_t cov_v = 0;
        if (v >= 2) {
            assert_non_null(tst_table_coverage_path(t, &cov_v));
            assert_true(cov_v <= v);
        }
        tst_table_free(t);
    }
}

static void as_of_between_commits_and_exactly_at_one(void **state)
{
    fx *f = *state;
    tst_timestamp ts[HEAD + 1];
    for (uint64_t v = 1; v <= HEAD; v++)
        assert_tst_ok(tst_history_commit_time(f->root, v, &ts[v]));
    for (uint64_t v = 1; v <= HEAD; v++) {
        /* At commit v's timestamp, and one nanosecond later. */
        tst_timestamp probes[2] = {ts[v], ts[v]};
        probes[1].nsec += 1;
        if (probes[1].nsec > 999999999)
            probes[1].sec += 1, probes[1].nsec = 0;
        for (int p = 0; p < 2; p++) {
            /* The newest version whose commit, and every one before, is at or before it. */
            uint64_t want = 0;
            for (uint64_t w = 1; w <= HEAD; w++) {
                bool after = ts[w].sec > probes[p].sec ||
                             (ts[w].sec == probes[p].sec && ts[w].nsec > probes[p].nsec);
                if (after)
                    break;
                want = w;
            }
            tst_table *t = NULL;
            assert_tst_ok(tst_table_open_as_of(&t, f->root, probes[p]));
            assert_true(want >= v);
            assert_facts(f, t, want);
            tst_table_free(t);
        }
    }
}

static void a_pinned_handle_refuses_every_write_and_stays_put(void **state)
{
    fx *f = *state;
    tst_table *t = NULL;
    assert_tst_ok(tst_table_open_at(&t, f->root, 4));
    char *data = tst_test_path(f->root, "data");
    int files = tst_test_count_files(data);
    char *csv = tst_test_path(f->dir, "e.csv");
    const char *text = "ts,symbol,close\n2024-01-09T00:00:00Z,C,1.0\n";
    assert_int_equal(tst_test_write_file(csv, text, strlen(text)), 0);

    assert_tst_fails(tst_table_append_csv(t, csv, NULL, NULL, NULL), TST_EINVAL);
    assert_non_null(strstr(tst_error_last()->message, "append of table"));
    assert_non_null(strstr(tst_error_last()->message,
                           "opened as of version 4; open the latest version to write"));
    tst_optimize_report rep;
    assert_tst_fails(tst_table_optimize(t, NULL, &rep), TST_EINVAL);
    assert_non_null(strstr(tst_error_last()->message, "opened as of version 4"));
    tst_update_source src = {.csv_path = csv};
    tst_update_options o = TST_UPDATE_OPTIONS_INIT;
    o.expected_version = 4;
    static const char *const close[] = {"close"};
    assert_tst_fails(tst_table_update_rows(t, &src, close, 1, &o, NULL), TST_EINVAL);
    assert_non_null(strstr(tst_error_last()->message, "update_rows of table"));
    tst_field col = {(char *)"vwap", {.kind = TST_TYPE_FLOAT64}, true, {0}};
    assert_tst_fails(tst_table_add_columns(t, &col, 1, NULL), TST_EINVAL);
    assert_non_null(strstr(tst_error_last()->message, "add_columns of table"));
    assert_tst_fails(tst_table_commit_json(t, "[]", NULL), TST_EINVAL);

    bool changed = true;
    assert_tst_ok(tst_table_refresh(t, &changed));
    assert_false(changed);
    assert_facts(f, t, 4);
    uint64_t head = 0;
    assert_tst_ok(tst_log_head(f->root, &head));
    assert_int_equal(head, HEAD);
    assert_int_equal(tst_test_count_files(data), files);
    tst_table_free(t);
    free(csv), free(data);
}

static void sessions_read_a_registered_version_and_name_versions_in_sql(void **state)
{
    fx *f = *state;
    tst_session *s = NULL;
    assert_tst_ok(tst_session_open(&s));
    for (uint64_t v = 2; v <= HEAD; v++) {
        assert_tst_ok(tst_session_register_table_at(s, "old", f->root, v));
        char *got = sql_sums(s, "old");
        assert_string_equal(got, f->sums[v]);
        free(got);
    }
    tst_timestamp t3;
    assert_tst_ok(tst_history_commit_time(f->root, 3, &t3));
    assert_tst_ok(tst_session_register_table_as_of(s, "then", f->root, t3));
    char *got = sql_sums(s, "then");
    assert_string_equal(got, f->sums[3]);
    free(got);
    assert_tst_fails(tst_session_register_table_at(s, "bad", f->root, HEAD + 1), TST_ENOTFOUND);
    assert_non_null(strstr(tst_error_last()->message, "registering 'bad'"));

    /* In SQL: the latest and older versions in one statement. */
    tst_rows *rows = NULL;
    assert_tst_ok(tst_session_register_table(s, "bars", f->root));
    for (uint64_t v = 2; v <= HEAD; v++) {
        char name[32];
        snprintf(name, sizeof name, "bars@v%llu", (unsigned long long)v);
        got = sql_sums(s, name);
        assert_string_equal(got, f->sums[v]);
        free(got);
    }
    got = tst_test_first_value(s, "SELECT (SELECT sum(close) FROM bars) - "
                                  "(SELECT sum(close) FROM \"bars@v5\") + "
                                  "(SELECT count(*) FROM \"BARS@5\")", NULL, 0);
    assert_string_equal(got, "156"); /* 99 - 24 (update) + 72 (v7), plus v5's 9 rows */
    free(got);
    /* An instant names the version current then. */
    char at[64], sql[256];
    (void)tst_timestamp_format(t3, at, sizeof at);
    snprintf(sql, sizeof sql, "SELECT count(*) || '|' || sum(close) FROM \"bars@%s\"", at);
    got = tst_test_first_value(s, sql, NULL, 0);
    assert_string_equal(got, f->sums[3]);
    free(got);
    /* Pruning applies to a version: day 3 of version 4 is one segment of three. */
    got = tst_test_first_value(s, "SELECT count(*) FROM \"bars@v4\" WHERE ts >= "
                                  "'2024-01-03T00:00:00Z'", NULL, 0);
    assert_string_equal(got, "2");
    free(got);
    tst_prune_stats st;
    tst_session_last_prune(s, &st);
    assert_int_equal(st.candidate_segments, 3);
    assert_int_equal(st.kept_segments, 1);
    /* The coverage functions take the same names, as text. */
    for (uint64_t v = 3; v <= HEAD; v += 4) {
        tst_table *t = NULL;
        assert_tst_ok(tst_table_open_at(&t, f->root, v));
        tst_index_value start = tst_test_ts(RANGE_START), end = tst_test_ts(RANGE_END);
        tst_entity_binding a = tst_test_symbol("A"), b = tst_test_symbol("B");
        tst_coverage_counts ca, cb;
        assert_tst_ok(tst_table_coverage(t, &a, 1, &start, &end, &ca));
        assert_tst_ok(tst_table_coverage(t, &b, 1, &start, &end, &cb));
        tst_table_free(t);
        char want[64];
        snprintf(want, sizeof want, "%llu", (unsigned long long)(ca.covered_buckets +
                                                                  cb.covered_buckets));
        snprintf(sql, sizeof sql, "SELECT sum(covered_buckets) FROM tstable_coverage("
                 "'bars@v%llu', '%s', '%s')", (unsigned long long)v, RANGE_START, RANGE_END);
        got = tst_test_first_value(s, sql, NULL, 0);
        assert_string_equal(got, want);
        free(got);
    }
    assert_tst_fails(tst_session_query_rows(s, "SELECT * FROM tstable_gaps('bars@soon', "
                                               "'2024-01-01', '2024-01-02')", NULL, 0, &rows),
                     TST_ESQL);
    assert_non_null(strstr(tst_error_last()->message, "after '@' give a version"));
    /* A string or an unknown name is not time travel; a bad suffix is an error. */
    got = tst_test_first_value(s, "SELECT count(*) FROM bars WHERE symbol <> 'bars@v2'", NULL, 0);
    assert_string_equal(got, "10");
    free(got);
    assert_tst_fails(tst_session_query_rows(s, "SELECT * FROM \"bars@yesterday\"", NULL, 0,
                                            &rows), TST_EINVAL);
    assert_non_null(strstr(tst_error_last()->message, "after '@' give a version"));
    assert_tst_fails(tst_session_query_rows(s, "SELECT * FROM \"bars@v99\"", NULL, 0, &rows),
                     TST_ENOTFOUND);
    assert_non_null(strstr(tst_error_last()->message, "latest version is 7"));
    assert_tst_fails(tst_session_query_rows(s, "SELECT * FROM \"nope@v1\"", NULL, 0, &rows),
                     TST_ESQL);
    /* A view over a version keeps reading it. */
    assert_tst_ok(tst_session_query_rows(s, "CREATE TEMP VIEW early AS SELECT * FROM \"bars@v2\"",
                                         NULL, 0, &rows));
    while (tst_rows_next(rows) == 1)
        ;
    tst_rows_free(rows);
    got = tst_test_first_value(s, "SELECT count(*) FROM early", NULL, 0);
    assert_string_equal(got, "4");
    free(got);
    /* Deregistering the table forgets its versions. */
    assert_tst_ok(tst_session_deregister(s, "bars"));
    assert_tst_fails(tst_session_query_rows(s, "SELECT * FROM \"bars@v2\"", NULL, 0, &rows),
                     TST_ESQL);
    tst_session_free(s);
}

/* ---- differential: version k through our SQL vs DuckDB over its files -------- */

static char *sorted_rows(tst_session *s, const char *sql)
{
    tst_rows *rows = NULL;
    assert_tst_ok(tst_session_query_rows(s, sql, NULL, 0, &rows));
    char **lines = NULL;
    size_t n = 0;
    int rc;
    while ((rc = tst_rows_next(rows)) == 1) {
        tst_sql line = {0};
        SQL_F(&line, "%s", "");
        for (size_t c = 0; c < tst_rows_column_count(rows); c++) {
            const char *v = tst_rows_value(rows, c);
            SQL_F(&line, "%s%s", c ? "|" : "", v ? v : "NULL");
        }
        lines = realloc(lines, (n + 1) * sizeof *lines);
        lines[n++] = line.s;
    }
    assert_int_equal(rc, 0);
    tst_rows_free(rows);
    for (size_t i = 1; i < n; i++) /* insertion sort: a handful of rows */
        for (size_t j = i; j > 0 && strcmp(lines[j - 1], lines[j]) > 0; j--) {
            char *tmp = lines[j];
            lines[j] = lines[j - 1], lines[j - 1] = tmp;
        }
    tst_sql out = {0};
    SQL_F(&out, "%s", "");
    for (size_t i = 0; i < n; i++) {
        SQL_F(&out, "%s\n", lines[i]);
        free(lines[i]);
    }
    free(lines);
    return out.s;
}

static void sql_at_a_version_equals_duckdb_over_its_files_in_two_time_zones(void **state)
{
    fx *f = *state;
    static const char *const shapes[] = {
        "SELECT count(*), sum(close) FROM %s WHERE ts >= '2024-01-01 20:00:00' AND "
        "ts < '2024-01-02 05:00:00'",
        "SELECT symbol, count(*) FROM %s WHERE ts::DATE = DATE '2024-01-02' GROUP BY symbol",
        "SELECT ts, symbol, close FROM %s WHERE symbol = 'A' AND ts > '2024-01-01 01:00:00'",
        "SELECT ts, close FROM %s WHERE ts BETWEEN '2024-01-02' AND '2024-01-03 00:30:00'",
        "SELECT count(*) FROM %s WHERE ts < '2024-01-03' OR symbol = 'B'",
    };
    static const char *const zones[] = {"UTC", "America/New_York"};
    static const uint64_t versions[] = {4, 5, 6};
    tst_session *s = NULL;
    assert_tst_ok(tst_session_open(&s));
    assert_tst_ok(tst_session_register_table(s, "bars", f->root));
    unsigned pruned = 0, total = 0;
    for (size_t k = 0; k < sizeof versions / sizeof versions[0]; k++) {
        uint64_t v = versions[k];
        tst_sql view = {0};
        SQL_F(&view, "CREATE OR REPLACE TEMP VIEW ref AS SELECT * FROM read_parquet([");
        for (size_t i = 0; i < f->file_count[v]; i++)
            SQL_F(&view, "%s'%s'", i ? ", " : "", f->files[v][i]);
        SQL_F(&view, "], union_by_name = true)");
        free(sorted_rows(s, view.s));
        free(view.s);
        for (size_t z = 0; z < 2; z++) {
            char set[96], name[32];
            snprintf(set, sizeof set, "SET TimeZone = '%s'", zones[z]);
            free(sorted_rows(s, set));
            snprintf(name, sizeof name, "\"bars@v%llu\"", (unsigned long long)v);
            for (size_t q = 0; q < sizeof shapes / sizeof shapes[0]; q++) {
                char a[1024], b[1024];
                snprintf(a, sizeof a, shapes[q], name);
                snprintf(b, sizeof b, shapes[q], "ref");
                char *got = sorted_rows(s, a);
                tst_prune_stats st;
                tst_session_last_prune(s, &st);
                assert_int_equal(st.candidate_segments, f->file_count[v]);
                pruned += st.kept_segments < st.candidate_segments;
                total++;
                char *want = sorted_rows(s, b);
                if (strcmp(got, want) != 0)
                    fail_msg("%s, version %llu:\n%s\n--- ours:\n%s--- duckdb:\n%s", zones[z],
                             (unsigned long long)v, a, got, want);
                assert_true(strlen(want) > 0);
                free(got), free(want);
            }
        }
    }
    print_message("%u of %u statements at old versions pruned segments, all equal\n", pruned,
                  total);
    assert_true(pruned * 2 >= total);
    tst_session_free(s);
}

/* ---- after vacuum --------------------------------------------------------------- */

static void a_lost_file_of_a_pinned_version_says_it_may_have_been_vacuumed(void **state)
{
    fx *f = *state;
    /* The mixed segment of day 1 is live at v4 and removed by v5's optimize:
     * vacuum removes such files. Remove its data file and its sidecar. */
    tst_table *t = NULL;
    assert_tst_ok(tst_table_open_at(&t, f->root, 4));
    const tst_segment *mixed = NULL;
    for (size_t i = 0; i < tst_table_segment_count(t); i++)
        if (tst_table_segment_at(t, i)->layout.kind == TST_LAYOUT_MIXED)
            mixed = tst_table_segment_at(t, i);
    assert_non_null(mixed);
    char *file = tst_test_path(f->root, mixed->path);
    char *sidecar = tst_test_path(f->root, mixed->coverage_path);
    uint64_t cov_v = 0;
    char *snapshot = tst_test_path(f->root, tst_table_coverage_path(t, &cov_v));
    assert_int_equal(remove(file), 0);

    tst_index_value start = tst_test_ts(RANGE_START), end = tst_test_ts(RANGE_END);
    struct ArrowArrayStream s;
    assert_tst_fails(tst_table_scan(t, &start, &end, NULL, 0, NULL, 0, &s), TST_ENOTFOUND);
    assert_non_null(strstr(tst_error_last()->message, "opened as of version 4 (the latest is 7)"));
    assert_non_null(strstr(tst_error_last()->message, "may have been removed by vacuum"));

    tst_session *ses = NULL;
    assert_tst_ok(tst_session_open(&ses));
    assert_tst_ok(tst_session_register_table(ses, "bars", f->root));
    tst_rows *rows = NULL;
    assert_tst_fails(tst_session_query_rows(ses, "SELECT count(*) FROM \"bars@v4\"", NULL, 0,
                                            &rows), TST_ENOTFOUND);
    assert_non_null(strstr(tst_error_last()->message, "may have been removed by vacuum"));
    /* The latest version does not need the file and reads on. */
    char *n = tst_test_first_value(ses, "SELECT count(*) FROM bars", NULL, 0);
    assert_string_equal(n, "10");
    free(n);
    tst_session_free(ses);

    /* Coverage: v4's snapshot and the removed segment's sidecar are gone too. */
    assert_int_equal(remove(snapshot), 0);
    assert_int_equal(remove(sidecar), 0);
    tst_table_free(t);
    assert_tst_ok(tst_table_open_at(&t, f->root, 4));
    tst_coverage_counts c;
    assert_tst_fails(tst_table_coverage(t, NULL, 0, &start, &end, &c), TST_ENOTFOUND);
    assert_non_null(strstr(tst_error_last()->message, "may have been removed by vacuum"));
    tst_table_free(t);
    free(file), free(sidecar), free(snapshot);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(each_version_reads_as_the_head_did_right_after_its_commit),
        cmocka_unit_test(as_of_between_commits_and_exactly_at_one),
        cmocka_unit_test(a_pinned_handle_refuses_every_write_and_stays_put),
        cmocka_unit_test(sessions_read_a_registered_version_and_name_versions_in_sql),
        cmocka_unit_test(sql_at_a_version_equals_duckdb_over_its_files_in_two_time_zones),
        /* Last: it removes files. */
        cmocka_unit_test(a_lost_file_of_a_pinned_version_says_it_may_have_been_vacuumed),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
