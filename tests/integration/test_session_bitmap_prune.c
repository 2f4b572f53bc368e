/*
 * test_session_bitmap_prune.c — pruning by coverage sidecar (prune.c, "the
 * bitmap check"): a segment whose index range meets the statement's but
 * whose sidecar holds none of the (entity, bucket) slots asked for is
 * skipped, counted apart from min/max skips; a segment holding a bucket of
 * the range never is (the differential part compares every answer with
 * plain DuckDB over all the table's files, over random sparse tables, in
 * two time zones); a missing or corrupt sidecar keeps the segment.
 */
#include "testsupport.h"

#include "duck.h"

#include "tstable/append.h"
#include "tstable/delete.h"
#include "tstable/optimize.h"
#include "tstable/session.h"
#include "tstable/table.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static unsigned long long rng_state = 0x2545F4914F6CDD1DULL;

static unsigned rnd(unsigned n)
{
    rng_state ^= rng_state << 13;
    rng_state ^= rng_state >> 7;
    rng_state ^= rng_state << 17;
    return (unsigned)(rng_state % n);
}

/* printf into a malloc'd string. */
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

#define EPOCH_2024 1704067200LL /* 2024-01-01T00:00:00Z */

static void append_select(tst_table *t, const char *dir, const char *select)
{
    char *path = tst_test_path(dir, "slice.parquet");
    char *sql = text_of("COPY (%s) TO '%s' (FORMAT parquet)", select, path);
    tst_test_duck(sql);
    assert_tst_ok(tst_table_append_parquet(t, path, NULL, NULL));
    unlink(path);
    free(path), free(sql);
}

/* Appends one segment of rows at the given minutes after 2024-01-01 UTC, for
 * one symbol (or none: a table without entity columns). */
static void append_minutes(tst_table *t, const char *dir, const char *symbol, const int *minutes,
                           size_t n)
{
    tst_sql v = {0};
    SQL_F(&v, "%s", "");
    for (size_t i = 0; i < n; i++)
        SQL_F(&v, "%s(%d)", i ? ", " : "", minutes[i]);
    char *select = text_of(
        "SELECT to_timestamp(%lld + m * 60) AS ts%s%s%s, CAST(m AS DOUBLE) AS price "
        "FROM (VALUES %s) v(m) ORDER BY m",
        EPOCH_2024, symbol ? ", '" : "", symbol ? symbol : "", symbol ? "' AS symbol" : "", v.s);
    append_select(t, dir, select);
    free(select), free(v.s);
}

static char *sorted_rows(tst_session *s, const char *sql);

static tst_prune_stats count_rows(tst_session *s, const char *sql, const char *want)
{
    char *got = tst_test_first_value(s, sql, NULL, 0);
    if (strcmp(got, want) != 0)
        print_error("%s\n  got %s, want %s\n", sql, got, want);
    assert_string_equal(got, want);
    free(got);
    tst_prune_stats st;
    tst_session_last_prune(s, &st);
    assert_int_equal(st.candidate_segments,
                     st.kept_segments + st.range_skipped_segments + st.bitmap_skipped_segments);
    return st;
}

#define H 60
#define DAY (24 * H)

/* A backfill with rows on Jan 1 and Dec 30, and a June segment. */
static void sparse_table(const char *dir, const char *root, uint32_t protocol)
{
    tst_table *t = tst_test_create_symbol_table(root, protocol);
    int backfill[] = {0, 5 * H, 364 * DAY};
    append_minutes(t, dir, "A", backfill, 3);
    int june[] = {160 * DAY, 165 * DAY, 170 * DAY};
    append_minutes(t, dir, "A", june, 3);
    tst_table_free(t);
}

static void sparse_case(uint32_t protocol)
{
    char *dir = tst_test_tmpdir("bitmap-sparse");
    char *root = tst_test_path(dir, "t");
    sparse_table(dir, root, protocol);
    tst_session *s = NULL;
    assert_tst_ok(tst_session_open(&s));
    assert_tst_ok(tst_session_register_table(s, "t", root));
    /* June: min/max keeps both, the backfill's bitmap has nothing there. */
    tst_prune_stats st = count_rows(
        s, "SELECT count(*) FROM t WHERE ts >= '2024-06-01' AND ts < '2024-07-01'", "3");
    assert_int_equal(st.candidate_segments, 2);
    assert_int_equal(st.kept_segments, 1);
    assert_int_equal(st.bitmap_skipped_segments, 1);
    assert_int_equal(st.range_skipped_segments, 0);
    /* With the entity asked for: still nothing of A there in the backfill. */
    st = count_rows(s, "SELECT count(*) FROM t WHERE symbol = 'A' AND ts BETWEEN "
                       "'2024-06-09' AND '2024-06-10'", "1");
    assert_int_equal(st.bitmap_skipped_segments, 1);
    /* TST_PRUNE_BITMAPS=0 turns the check off: min/max alone keeps both. */
    setenv("TST_PRUNE_BITMAPS", "0", 1);
    st = count_rows(s, "SELECT count(*) FROM t WHERE ts >= '2024-06-01' AND ts < '2024-07-01'",
                    "3");
    assert_int_equal(st.kept_segments, 2);
    assert_int_equal(st.bitmap_skipped_segments, 0);
    unsetenv("TST_PRUNE_BITMAPS");
    /* Early January: the June segment by min/max, the backfill is needed. */
    st = count_rows(s, "SELECT count(*) FROM t WHERE ts < '2024-01-02'", "2");
    assert_int_equal(st.range_skipped_segments, 1);
    assert_int_equal(st.bitmap_skipped_segments, 0);
    /* The whole year: every bucket of both asked for, nothing skipped. */
    st = count_rows(s, "SELECT count(*) FROM t", "6");
    assert_int_equal(st.kept_segments, 2);
    tst_session_free(s);
    free(root);
    tst_test_rmtree(dir);
}

static void a_sparse_backfill_segment_is_skipped_by_its_bitmap_protocol_7(void **state)
{
    (void)state;
    sparse_case(7);
}

static void a_sparse_backfill_segment_is_skipped_by_its_bitmap_protocol_6(void **state)
{
    (void)state;
    sparse_case(6);
}

/* Rows at 00:30 Jan 1 and 00:00 Jan 3 (hourly buckets), one segment. */
static void bucket_edges_are_exact(void **state)
{
    (void)state;
    char *dir = tst_test_tmpdir("bitmap-edges");
    char *root = tst_test_path(dir, "t");
    tst_table *t = tst_test_create_symbol_table(root, 7);
    int rows[] = {30, 2 * DAY};
    append_minutes(t, dir, "A", rows, 2);
    tst_table_free(t);
    tst_session *s = NULL;
    assert_tst_ok(tst_session_open(&s));
    assert_tst_ok(tst_session_register_table(s, "t", root));
    /* Ends exactly at the start of the bucket that holds the Jan 3 row. */
    tst_prune_stats st = count_rows(
        s, "SELECT count(*) FROM t WHERE ts >= '2024-01-02' AND ts < '2024-01-03'", "0");
    assert_int_equal(st.bitmap_skipped_segments, 1);
    /* Includes that instant: kept. */
    st = count_rows(s, "SELECT count(*) FROM t WHERE ts > '2024-01-02' AND ts <= '2024-01-03'",
                    "1");
    assert_int_equal(st.kept_segments, 1);
    /* Partly covers the bucket of the first row, not the row: the bucket
     * is held, so kept (the bitmap has no finer grain). */
    st = count_rows(s, "SELECT count(*) FROM t WHERE ts > '2024-01-01 00:40:00' AND "
                       "ts < '2024-01-01 00:50:00'", "0");
    assert_int_equal(st.kept_segments, 1);
    /* Starts in the bucket after the Jan 1 row's. */
    st = count_rows(s, "SELECT count(*) FROM t WHERE ts >= '2024-01-01 01:00:00' AND "
                       "ts < '2024-01-02 23:59:59'", "0");
    assert_int_equal(st.bitmap_skipped_segments, 1);
    /* A New York session reads the same text five hours later: now the
     * range reaches into Jan 3 UTC and the segment must be kept. */
    free(sorted_rows(s, "SET TimeZone = 'America/New_York'"));
    st = count_rows(s, "SELECT count(*) FROM t WHERE ts >= '2024-01-02' AND ts < '2024-01-03'",
                    "1");
    assert_int_equal(st.kept_segments, 1);
    tst_session_free(s);
    free(root);
    tst_test_rmtree(dir);
}

/* A Mixed segment: A only on Jan 1, B every day Jan 1..5. */
static void an_entity_absent_from_a_mixed_segment_skips_it(void **state)
{
    (void)state;
    char *dir = tst_test_tmpdir("bitmap-entity");
    char *root = tst_test_path(dir, "t");
    tst_table *t = tst_test_create_symbol_table(root, 7);
    append_select(t, dir,
                  "SELECT to_timestamp(1704067200 + d * 86400) AS ts, s AS symbol, "
                  "CAST(d AS DOUBLE) AS price FROM range(0, 5) r(d), (VALUES ('A'), ('B')) v(s) "
                  "WHERE s = 'B' OR d = 0 ORDER BY ts, s");
    tst_table_free(t);
    tst_session *s = NULL;
    assert_tst_ok(tst_session_open(&s));
    assert_tst_ok(tst_session_register_table(s, "t", root));
    tst_prune_stats st = count_rows(
        s, "SELECT count(*) FROM t WHERE symbol = 'A' AND ts >= '2024-01-03'", "0");
    assert_int_equal(st.bitmap_skipped_segments, 1);
    st = count_rows(s, "SELECT count(*) FROM t WHERE symbol = 'B' AND ts >= '2024-01-03'", "3");
    assert_int_equal(st.kept_segments, 1);
    /* The whole range, an entity the segment does not hold. */
    st = count_rows(s, "SELECT count(*) FROM t WHERE symbol = 'C'", "0");
    assert_int_equal(st.bitmap_skipped_segments, 1);
    st = count_rows(s, "SELECT count(*) FROM t WHERE symbol = 'A'", "1");
    assert_int_equal(st.kept_segments, 1);
    tst_session_free(s);
    free(root);
    tst_test_rmtree(dir);
}

/* An int64 index, buckets of 10, no entity column: ids 0..9 and 990..999. */
static void integer_index_without_entities(void **state)
{
    (void)state;
    char *dir = tst_test_tmpdir("bitmap-int");
    char *root = tst_test_path(dir, "t");
    tst_index_spec spec;
    memset(&spec, 0, sizeof spec);
    spec.column = "id";
    spec.kind.type = TST_INDEX_INT64;
    spec.kind.bucket_width = 10;
    spec.kind.protocol = 6; /* ten rows in one interval: format_version 6 only */
    tst_table *t = NULL;
    assert_tst_ok(tst_table_create(&t, root, &spec));
    append_select(t, dir, "SELECT CAST(i AS BIGINT) AS id, CAST(i AS DOUBLE) AS v FROM "
                          "range(0, 1000) r(i) WHERE i < 10 OR i >= 990");
    tst_table_free(t);
    tst_session *s = NULL;
    assert_tst_ok(tst_session_open(&s));
    assert_tst_ok(tst_session_register_table(s, "t", root));
    tst_prune_stats st = count_rows(s, "SELECT count(*) FROM t WHERE id BETWEEN 500 AND 600", "0");
    assert_int_equal(st.bitmap_skipped_segments, 1);
    st = count_rows(s, "SELECT count(*) FROM t WHERE id >= 10 AND id < 990", "0");
    assert_int_equal(st.bitmap_skipped_segments, 1);
    st = count_rows(s, "SELECT count(*) FROM t WHERE id > 9 AND id <= 990", "1");
    assert_int_equal(st.kept_segments, 1);
    /* Ends just before the bucket 990..999 starts: not held. */
    st = count_rows(s, "SELECT count(*) FROM t WHERE id >= 985 AND id < 990", "0");
    assert_int_equal(st.bitmap_skipped_segments, 1);
    st = count_rows(s, "SELECT count(*) FROM t WHERE id >= 985 AND id < 991", "1");
    assert_int_equal(st.kept_segments, 1);
    tst_session_free(s);
    free(root);
    tst_test_rmtree(dir);
}

/* The backfill's sidecar removed (then corrupted): the June query keeps it
 * and still answers right. */
static void a_missing_or_corrupt_sidecar_keeps_the_segment(void **state)
{
    (void)state;
    for (int corrupt = 0; corrupt < 2; corrupt++) {
        char *dir = tst_test_tmpdir("bitmap-missing");
        char *root = tst_test_path(dir, "t");
        sparse_table(dir, root, 7);
        tst_table *t = NULL;
        assert_tst_ok(tst_table_open(&t, root));
        const tst_segment *seg = NULL;
        for (size_t i = 0; i < tst_table_segment_count(t); i++)
            if (tst_table_segment_at(t, i)->index_min.v.ts.sec == EPOCH_2024)
                seg = tst_table_segment_at(t, i);
        assert_non_null(seg);
        assert_non_null(seg->coverage_path);
        char *side = tst_test_path(root, seg->coverage_path);
        assert_int_equal(unlink(side), 0);
        if (corrupt)
            assert_int_equal(tst_test_write_file(side, "not a bitmap", 12), 0);
        free(side);
        tst_table_free(t);
        tst_session *s = NULL;
        assert_tst_ok(tst_session_open(&s));
        assert_tst_ok(tst_session_register_table(s, "t", root));
        for (int again = 0; again < 2; again++) { /* the failure is remembered */
            tst_prune_stats st = count_rows(
                s, "SELECT count(*) FROM t WHERE ts >= '2024-06-01' AND ts < '2024-07-01'", "3");
            assert_int_equal(st.kept_segments, 2);
            assert_int_equal(st.bitmap_skipped_segments, 0);
        }
        tst_session_free(s);
        free(root);
        tst_test_rmtree(dir);
    }
}

/* ---- differential ----------------------------------------------------------- */

#define SPAN_HOURS (24 * 40)
#define SEGMENTS 14
#define QUERIES 120

static const char *const SYMS[] = {"A", "B", "C"};

/* Random sparse segments: each picks a span and, per symbol it holds, a few
 * free hours in it (no two segments share an (entity, hour)), one row each
 * at a random minute. Single and Mixed layouts; or no entity column. */
static void build_random(const char *dir, const char *root, uint32_t protocol, bool entities)
{
    static signed char owner[3][SPAN_HOURS];
    memset(owner, -1, sizeof owner);
    tst_table *t = NULL;
    if (entities) {
        t = tst_test_create_symbol_table(root, protocol);
    } else {
        tst_index_spec spec = tst_test_hourly_spec(NULL, 0);
        spec.kind.protocol = protocol;
        assert_tst_ok(tst_table_create(&t, root, &spec));
    }
    for (int k = 0; k < SEGMENTS; k++) {
        int a = (int)rnd(SPAN_HOURS - 48), b = a + 24 + (int)rnd(SPAN_HOURS - a - 24);
        unsigned nsyms = entities ? 1 + rnd(3) : 1, first = rnd(3);
        tst_sql v = {0};
        SQL_F(&v, "%s", "");
        int rows = 0;
        for (unsigned j = 0; j < nsyms; j++) {
            unsigned sym = entities ? (first + j) % 3 : 0;
            int picks = 1 + (int)rnd(5);
            int ends[2] = {a, b};
            for (int p = 0; p < picks + 2; p++) {
                int h = p < 2 ? ends[p] : a + (int)rnd((unsigned)(b - a + 1));
                if (owner[sym][h] >= 0)
                    continue;
                owner[sym][h] = (signed char)k;
                SQL_F(&v, "%s(%d, '%s')", rows++ ? ", " : "", h * 60 + (int)rnd(60), SYMS[sym]);
            }
        }
        if (rows == 0) {
            free(v.s);
            continue;
        }
        char *select = text_of(
            "SELECT to_timestamp(%lld + m * 60) AS ts%s, CAST(m AS DOUBLE) AS price "
            "FROM (VALUES %s) v(m, s) ORDER BY s, m",
            EPOCH_2024, entities ? ", s AS symbol" : "", v.s);
        append_select(t, dir, select);
        free(select), free(v.s);
    }
    tst_table_free(t);
}

/* Rewrites segments the ways the table operations do, each writing new
 * sidecars: entity layout (Mixed segments split), compaction in 10-day
 * windows, and a delete of days 10..12 (all entities). */
static void rewrite(const char *root, bool entities)
{
    tst_table *t = NULL;
    assert_tst_ok(tst_table_open(&t, root));
    tst_optimize_options o = TST_OPTIMIZE_OPTIONS_INIT;
    if (entities)
        assert_tst_ok(tst_table_optimize(t, &o, NULL));
    o.mode = TST_OPTIMIZE_COMPACT;
    o.window = 10 * 86400;
    assert_tst_ok(tst_table_optimize(t, &o, NULL));
    tst_delete_target d;
    memset(&d, 0, sizeof d);
    d.start = tst_index_value_timestamp(EPOCH_2024 + 10 * 86400, 0);
    d.end = tst_index_value_timestamp(EPOCH_2024 + 13 * 86400, 0);
    tst_delete_report r;
    assert_tst_ok(tst_table_delete_rows(t, &d, 1, NULL, &r));
    assert_true(r.rows_deleted > 0);
    tst_table_free(t);
}

/* Defines all_files: plain DuckDB over the table's live data files (a
 * rewritten table leaves superseded files until vacuum). */
static void define_live_files(tst_session *s, const char *root)
{
    tst_table *t = NULL;
    assert_tst_ok(tst_table_open(&t, root));
    tst_sql v = {0};
    SQL_F(&v, "CREATE OR REPLACE TEMP VIEW all_files AS SELECT * FROM read_parquet([");
    for (size_t i = 0; i < tst_table_segment_count(t); i++)
        SQL_F(&v, "%s'%s/%s'", i ? ", " : "", root, tst_table_segment_at(t, i)->path);
    SQL_F(&v, "], union_by_name = true)");
    free(sorted_rows(s, v.s));
    free(v.s);
    tst_table_free(t);
}

/* '2024-01-03 07:15:00': a zone-less text, read in the session's zone. */
static void minute_text(char *buf, size_t cap, int minute)
{
    time_t at = (time_t)(EPOCH_2024 + (long long)minute * 60);
    struct tm tm;
    gmtime_r(&at, &tm);
    strftime(buf, cap, "'%Y-%m-%d %H:%M:%S'", &tm);
}

/* A narrow range: most segments' min/max meet it, few of their bitmaps do. */
static char *random_statement(bool entities)
{
    int start = (int)rnd(SPAN_HOURS) * 60 + (rnd(3) == 0 ? (int)rnd(60) : 0);
    int len = rnd(4) == 0 ? (int)rnd(60) : 60 * (1 + (int)rnd(36));
    char lo[40], hi[40];
    minute_text(lo, sizeof lo, start);
    minute_text(hi, sizeof hi, start + len);
    tst_sql t = {0};
    SQL_F(&t, "SELECT %s FROM %%s WHERE ts %s %s AND ts %s %s",
          rnd(2) ? "count(*), min(ts), max(ts)" : "*", rnd(2) ? ">=" : ">", lo,
          rnd(2) ? "<" : "<=", hi);
    if (entities && rnd(3) != 0)
        SQL_F(&t, " AND symbol = '%s'", SYMS[rnd(3)]);
    if (rnd(8) == 0)
        SQL_F(&t, " AND (ts::DATE = DATE '2024-01-%02u' OR ts < %s)", 1 + rnd(28), hi);
    return t.s;
}

static char *sorted_rows(tst_session *s, const char *sql)
{
    tst_rows *rows = NULL;
    assert_tst_ok(tst_session_query_rows(s, sql, NULL, 0, &rows));
    tst_sql all = {0};
    SQL_F(&all, "%s", "");
    char **lines = NULL;
    size_t n = 0;
    int rc;
    while ((rc = tst_rows_next(rows)) == 1) {
        tst_sql line = {0};
        SQL_F(&line, "%s", "");
        for (size_t c = 0; c < tst_rows_column_count(rows); c++) {
            const char *val = tst_rows_value(rows, c);
            SQL_F(&line, "%s%s", c ? "|" : "", val ? val : "NULL");
        }
        lines = realloc(lines, (n + 1) * sizeof *lines);
        lines[n++] = line.s;
    }
    assert_int_equal(rc, 0);
    tst_rows_free(rows);
    for (size_t i = 1; i < n; i++) /* insertion sort: few rows */
        for (size_t j = i; j > 0 && strcmp(lines[j - 1], lines[j]) > 0; j--) {
            char *x = lines[j];
            lines[j] = lines[j - 1], lines[j - 1] = x;
        }
    for (size_t i = 0; i < n; i++) {
        SQL_F(&all, "%s\n", lines[i]);
        free(lines[i]);
    }
    free(lines);
    return all.s;
}

static void bitmap_pruned_sql_equals_sql_over_all_files(void **state)
{
    (void)state;
    static const char *const zones[] = {"UTC", "America/New_York"};
    uint64_t bitmap_skips = 0, statements = 0;
    for (int c = 0; c < 6; c++) { /* 4, 5: rewritten by optimize, compaction, delete */
        uint32_t protocol = c % 2 ? 6 : 7;
        bool entities = c < 2 || c == 4;
        char *dir = tst_test_tmpdir("bitmap-diff");
        char *root = tst_test_path(dir, "live");
        build_random(dir, root, protocol, entities);
        if (c >= 4)
            rewrite(root, entities);
        tst_session *s = NULL;
        assert_tst_ok(tst_session_open(&s));
        assert_tst_ok(tst_session_register_table(s, "t", root));
        define_live_files(s, root);
        for (size_t z = 0; z < 2; z++) {
            char set[64];
            snprintf(set, sizeof set, "SET TimeZone = '%s'", zones[z]);
            free(sorted_rows(s, set));
            uint64_t skips = 0;
            for (int q = 0; q < QUERIES; q++) {
                char *shape = random_statement(entities);
                #pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wformat-nonliteral"
                char *a = text_of(shape, "t"), *b = text_of(shape, "all_files");
#pragma GCC diagnostic pop
                char *got = sorted_rows(s, a);
                tst_prune_stats st;
                tst_session_last_prune(s, &st);
                skips += st.bitmap_skipped_segments;
                char *want = sorted_rows(s, b);
                if (strcmp(got, want) != 0)
                    print_error("protocol %u, %s, %s: kept %llu of %llu (%llu by bitmap)\n%s\n",
                                protocol, entities ? "entities" : "no entities", zones[z],
                                (unsigned long long)st.kept_segments,
                                (unsigned long long)st.candidate_segments,
                                (unsigned long long)st.bitmap_skipped_segments, a);
                assert_string_equal(got, want);
                free(got), free(want), free(a), free(b), free(shape);
            }
            print_message("protocol %u, %-11s%-10s %-16s: %llu bitmap skips in %d statements\n",
                          protocol, entities ? "entities," : "no entity,",
                          c >= 4 ? "rewritten," : "", zones[z],
                          (unsigned long long)skips, QUERIES);
            assert_true(skips > 0);
            bitmap_skips += skips, statements += QUERIES;
        }
        tst_session_free(s);
        free(root);
        tst_test_rmtree(dir);
    }
    print_message("%llu bitmap skips over %llu statements, all answers equal\n",
                  (unsigned long long)bitmap_skips, (unsigned long long)statements);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(a_sparse_backfill_segment_is_skipped_by_its_bitmap_protocol_7),
        cmocka_unit_test(a_sparse_backfill_segment_is_skipped_by_its_bitmap_protocol_6),
        cmocka_unit_test(bucket_edges_are_exact),
        cmocka_unit_test(an_entity_absent_from_a_mixed_segment_skips_it),
        cmocka_unit_test(integer_index_without_entities),
        cmocka_unit_test(a_missing_or_corrupt_sidecar_keeps_the_segment),
        cmocka_unit_test(bitmap_pruned_sql_equals_sql_over_all_files),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
