/*
 * test_compact.c — compaction (tst_table_optimize in TST_OPTIMIZE_COMPACT
 * mode) end to end, differentially: after it a scan returns the same
 * multiset of rows as before and as plain DuckDB over the old files, the
 * segment count drops as the plan says, every output is sorted by (entity,
 * index) and stays in one window, coverage and gaps answer as before, and a
 * second run is a no-op. Also: mixed segments split into their entities'
 * bins, tables without entity columns, both protocols, the row target,
 * another writer's append rebased over, another writer's removal of an
 * input a conflict that leaves nothing behind, and cancellation; a mixed
 * segment loaded in two windows, and a column named like the load's tag.
 */
#include "testsupport.h"

#include "model.h"
#include "optimize_internal.h"
#include "sidecar.h"
#include "table_internal.h"
#include "tstable/append.h"
#include "tstable/optimize.h"
#include "tstable/table_coverage.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define DAY 86400
#define WINDOW_DAYS 3 /* 2024-06-01 is day 19875 = 3 x 6625: windows start on 06-01, 04, 07, 10 */

/* The table: NVDA alone each day 06-01..06-10 (10 segments); AAPL and MSFT
 * mixed each day 06-01..06-04 (4 mixed segments); AMD alone over all ten
 * days (1 segment that crosses windows). 15 segments. Without entity
 * columns: NVDA's ten days alone. */
typedef struct fixture {
    char *dir, *root;
    char **old_files; /* the live segment files before compaction, absolute */
    size_t old_count;
} fixture;

static void append_day(const fixture *f, tst_table *t, const char *name, const char *select)
{
    char *file = tst_test_nvda_parquet(f->dir, name, select);
    assert_tst_ok(tst_table_append_parquet(t, file, NULL, NULL));
    free(file);
}

static void remember_files(fixture *f)
{
    tst_table *t = NULL;
    assert_tst_ok(tst_table_open(&t, f->root));
    f->old_count = tst_table_segment_count(t);
    f->old_files = calloc(f->old_count, sizeof *f->old_files);
    for (size_t i = 0; i < f->old_count; i++)
        f->old_files[i] = tst_test_path(f->root, tst_table_segment_at(t, i)->path);
    tst_table_free(t);
}

/* An empty fixture: a folder for source files and one for the table. */
static fixture *new_fixture(const char *tag)
{
    fixture *f = calloc(1, sizeof *f);
    assert_non_null(f);
    f->dir = tst_test_tmpdir("compactsrc");
    f->root = tst_test_tmpdir(tag);
    return f;
}

static fixture *make_fixture(uint32_t protocol, bool entities)
{
    fixture *f = new_fixture("compact");
    const char *entity = entities ? "symbol" : NULL;
    tst_table *t = protocol == 6
                       ? tst_test_create_table_v6(f->root, "ts", entity, TST_TIME_HOURS, 1)
                       : tst_test_create_table(f->root, "ts", entity, TST_TIME_HOURS, 1);
    char name[32], sql[512];
    for (int d = 1; d <= 10; d++) {
        snprintf(name, sizeof name, "nvda%02d.parquet", d);
        snprintf(sql, sizeof sql, "SELECT * FROM nvda WHERE day(ts) = %d", d);
        append_day(f, t, name, sql);
    }
    for (int d = 1; entities && d <= 4; d++) {
        snprintf(name, sizeof name, "mixed%02d.parquet", d);
        snprintf(sql, sizeof sql,
                 "SELECT * REPLACE ('AAPL' AS symbol, close + 1 AS close) FROM nvda WHERE day(ts) "
                 "= %d UNION ALL SELECT * REPLACE ('MSFT' AS symbol, close * 2 AS close) FROM "
                 "nvda WHERE day(ts) = %d AND hour(ts) < 12", d, d);
        append_day(f, t, name, sql);
    }
    if (entities)
        append_day(f, t, "amd.parquet", "SELECT * REPLACE ('AMD' AS symbol) FROM nvda");
    tst_table_free(t);
    remember_files(f);
    return f;
}

static void free_fixture(fixture *f)
{
    for (size_t i = 0; i < f->old_count; i++)
        free(f->old_files[i]);
    free(f->old_files);
    tst_test_rmtree(f->dir);
    tst_test_rmtree(f->root);
    free(f);
}

static tst_optimize_options compact_options(void)
{
    tst_optimize_options opts = TST_OPTIMIZE_OPTIONS_INIT;
    opts.mode = TST_OPTIMIZE_COMPACT;
    opts.window = WINDOW_DAYS * DAY;
    return opts;
}

/* ---- what must not change -------------------------------------------------- */

#define CHECKSUM "count(*) || ':' || sum(hash(ts, symbol, open, high, low, close, volume))"
#define CHECKSUM_GLOBAL "count(*) || ':' || sum(hash(ts, open, high, low, close, volume))"

/* The multiset of rows, by a checksum over every column. */
static char *table_rows(const char *root, bool entities)
{
    char sql[256];
    snprintf(sql, sizeof sql, "SELECT %s FROM t", entities ? CHECKSUM : CHECKSUM_GLOBAL);
    return tst_test_table_value(root, sql);
}

/* The same checksum by plain DuckDB over the files that were live before. */
static char *old_files_rows(const fixture *f, bool entities)
{
    size_t cap = 64;
    for (size_t i = 0; i < f->old_count; i++)
        cap += strlen(f->old_files[i]) + 4;
    char *list = calloc(1, cap);
    for (size_t i = 0; i < f->old_count; i++) {
        strcat(list, i ? ", '" : "'");
        strcat(list, f->old_files[i]);
        strcat(list, "'");
    }
    char *v = tst_test_sql_text("SELECT %s FROM read_parquet([%s], union_by_name = true)",
                                entities ? CHECKSUM : CHECKSUM_GLOBAL, list);
    free(list);
    return v;
}

typedef struct gaps_text {
    char buf[4096];
    size_t len;
} gaps_text;

static int collect_gap(void *ctx, const tst_index_value *start, const tst_index_value *end,
                       bool inclusive, uint64_t buckets)
{
    gaps_text *g = ctx;
    char a[TST_TIMESTAMP_TEXT_MAX], b[TST_TIMESTAMP_TEXT_MAX];
    tst_index_value_format(start, a, sizeof a);
    tst_index_value_format(end, b, sizeof b);
    g->len += (size_t)snprintf(g->buf + g->len, sizeof g->buf - g->len, "%s..%s%s %llu;", a, b,
                               inclusive ? "]" : ")", (unsigned long long)buckets);
    return 0;
}

/* Every entity's gaps over the sample's ten days, as text. */
static char *gaps_of(tst_table *t, bool entities)
{
    static const char *const SYMBOLS[] = {"NVDA", "AAPL", "MSFT", "AMD"};
    tst_index_value from = tst_test_ts("2024-05-31T00:00:00Z");
    tst_index_value to = tst_test_ts("2024-06-12T00:00:00Z");
    gaps_text g = {{0}, 0};
    for (size_t i = 0; i < (entities ? 4u : 1u); i++) {
        tst_entity_binding b = tst_test_symbol(SYMBOLS[i]);
        assert_tst_ok(tst_table_gaps(t, entities ? &b : NULL, entities ? 1 : 0, &from, &to, 0,
                                     collect_gap, &g));
        g.len += (size_t)snprintf(g.buf + g.len, sizeof g.buf - g.len, "|");
    }
    return strdup(g.buf);
}

typedef struct facts {
    char *rows, *gaps;
    tst_table_cov cov;
} facts;

static facts facts_of(const char *root, bool entities)
{
    facts f;
    memset(&f, 0, sizeof f);
    f.rows = table_rows(root, entities);
    tst_table *t = NULL;
    assert_tst_ok(tst_table_open(&t, root));
    const tst_table_cov *cov = NULL;
    assert_tst_ok(tst_table_load_coverage(t, &cov));
    assert_tst_ok(tst_table_cov_clone(&f.cov, cov));
    f.gaps = gaps_of(t, entities);
    tst_table_free(t);
    return f;
}

static void facts_clear(facts *f)
{
    free(f->rows);
    free(f->gaps);
    tst_table_cov_clear(&f->cov);
}

static void assert_same_facts(const facts *a, const facts *b)
{
    assert_string_equal(a->rows, b->rows);
    assert_string_equal(a->gaps, b->gaps);
    assert_true(tst_table_cov_equals(&a->cov, &b->cov));
}

/* The union of the live segments' own sidecars is the table's coverage. */
static void assert_sidecars_cover(tst_table *t, const tst_table_cov *expected)
{
    tst_table_cov all = {0};
    assert_tst_ok(tst_table_cov_new(&all, tst_table_index(t)));
    for (size_t i = 0; i < tst_table_segment_count(t); i++) {
        tst_table_cov one = {0};
        assert_tst_ok(tst_sidecar_read(tst_table_root(t), tst_table_segment_at(t, i)->coverage_path,
                                       tst_table_index(t), tst_table_get_meta(t)->schema, &one));
        assert_tst_ok(tst_table_cov_union_inplace(&all, &one));
        tst_table_cov_clear(&one);
    }
    assert_true(tst_table_cov_equals(&all, expected));
    tst_table_cov_clear(&all);
}

static bool is_output(const tst_segment *seg)
{
    return strncmp(seg->path, "data/_staged/entity-rewrite/", 28) == 0;
}

static int64_t window_of(const tst_index_value *v)
{
    int64_t day = v->v.ts.sec / DAY;
    return day / WINDOW_DAYS;
}

/* Each output: rows sorted by (symbol, ts) in file order, one window, one identity. */
static void assert_outputs_sorted_and_windowed(tst_table *t, bool entities)
{
    for (size_t i = 0; i < tst_table_segment_count(t); i++) {
        const tst_segment *seg = tst_table_segment_at(t, i);
        if (!is_output(seg))
            continue;
        assert_int_equal(window_of(&seg->index_min), window_of(&seg->index_max));
        assert_int_equal(seg->layout.kind,
                         entities ? TST_LAYOUT_SINGLE : TST_LAYOUT_NOT_APPLICABLE);
        char *abs = tst_test_path(tst_table_root(t), seg->path);
        tst_test_assert_sql("0",
            "SELECT count(*) FROM (SELECT %s AS k, lag(%s) OVER (ORDER BY file_row_number) AS p "
            "FROM read_parquet('%s', file_row_number = true)) WHERE p > k",
            entities ? "(symbol, ts)" : "ts", entities ? "(symbol, ts)" : "ts", abs);
        free(abs);
    }
}

static size_t outputs_of(tst_table *t)
{
    size_t n = 0;
    for (size_t i = 0; i < tst_table_segment_count(t); i++)
        n += is_output(tst_table_segment_at(t, i));
    return n;
}

/* ---- the compaction ------------------------------------------------------------ */

static void compacts_with_the_same_rows_coverage_and_gaps(uint32_t protocol)
{
    fixture *f = make_fixture(protocol, true);
    facts before = facts_of(f->root, true);
    char *plain = old_files_rows(f, true);
    assert_string_equal(plain, before.rows);

    tst_table *t = NULL;
    assert_tst_ok(tst_table_open(&t, f->root));
    assert_int_equal(tst_table_segment_count(t), 15);
    const char *snapshot = tst_table_coverage_path(t, NULL);
    char *snapshot_before = strdup(snapshot);
    tst_optimize_options opts = compact_options();
    tst_optimize_report rep;
    assert_tst_ok(tst_table_optimize(t, &opts, &rep));

    /* NVDA: days 1-3, 4-6, 7-9 merged, day 10 left alone; AAPL and MSFT:
     * days 1-3 merged, day 4 split out alone; AMD crosses windows: alone. */
    assert_int_equal(rep.mode, TST_OPTIMIZE_COMPACT);
    assert_false(rep.no_op);
    assert_int_equal(rep.starting_version, 16);
    assert_int_equal(rep.committed_version, 17);
    assert_int_equal(rep.segments_before, 15);
    assert_int_equal(rep.candidate_source_segments, 9 + 4);
    assert_int_equal(rep.source_segments_replaced, 13);
    assert_int_equal(rep.replacement_segments_written, 3 + 2 + 2);
    assert_int_equal(rep.segments_after, 15 - 13 + 7);
    assert_int_equal(rep.distinct_identities_materialized, 3);
    assert_int_equal(rep.rows_read, 9 * 24 + 4 * (24 + 12));
    assert_int_equal(rep.rows_written, rep.rows_read);
    assert_true(rep.bytes_read > rep.bytes_written && rep.bytes_written > 0);
    assert_int_equal(rep.window, WINDOW_DAYS * DAY);
    assert_int_equal(rep.target_rows, TST_COMPACT_DEFAULT_TARGET_ROWS);
    assert_int_equal(rep.target_bytes, TST_COMPACT_DEFAULT_TARGET_BYTES);

    assert_int_equal(tst_table_segment_count(t), 9);
    assert_int_equal(outputs_of(t), 7);
    assert_string_equal(tst_table_coverage_path(t, NULL), snapshot_before);
    for (size_t i = 0; i < tst_table_segment_count(t); i++)
        assert_int_not_equal(tst_table_segment_at(t, i)->layout.kind, TST_LAYOUT_MIXED);
    assert_outputs_sorted_and_windowed(t, true);
    assert_sidecars_cover(t, &before.cov);

    facts after = facts_of(f->root, true);
    assert_same_facts(&before, &after);
    char *plain_after = old_files_rows(f, true); /* the old files are still there, unchanged */
    assert_string_equal(plain_after, after.rows);

    /* Compacted: a second run changes nothing and commits nothing. */
    assert_tst_ok(tst_table_optimize(t, &opts, &rep));
    assert_true(rep.no_op);
    assert_int_equal(rep.attempts, 0);
    assert_int_equal(rep.committed_version, 17);
    assert_int_equal(tst_table_version(t), 17);
    assert_int_equal(rep.segments_before, 9);
    assert_int_equal(rep.segments_after, 9);

    free(plain);
    free(plain_after);
    free(snapshot_before);
    facts_clear(&before);
    facts_clear(&after);
    tst_table_free(t);
    free_fixture(f);
}

static void a_protocol_7_table_compacts_with_the_same_rows_coverage_and_gaps(void **state)
{
    (void)state;
    compacts_with_the_same_rows_coverage_and_gaps(7);
}

static void a_protocol_6_table_compacts_with_the_same_rows_coverage_and_gaps(void **state)
{
    (void)state;
    compacts_with_the_same_rows_coverage_and_gaps(6);
}

static void a_table_without_entity_columns_compacts_as_one_group(void **state)
{
    (void)state;
    fixture *f = make_fixture(7, false);
    facts before = facts_of(f->root, false);
    tst_table *t = NULL;
    assert_tst_ok(tst_table_open(&t, f->root));
    tst_optimize_options opts = compact_options();
    tst_optimize_report rep;
    assert_tst_ok(tst_table_optimize(t, &opts, &rep));
    assert_int_equal(rep.source_segments_replaced, 9);
    assert_int_equal(rep.replacement_segments_written, 3);
    assert_int_equal(rep.distinct_identities_materialized, 0);
    assert_int_equal(tst_table_segment_count(t), 4);
    assert_outputs_sorted_and_windowed(t, false);
    assert_sidecars_cover(t, &before.cov);
    facts after = facts_of(f->root, false);
    assert_same_facts(&before, &after);
    char *plain = old_files_rows(f, false);
    assert_string_equal(plain, after.rows);
    assert_tst_ok(tst_table_optimize(t, &opts, &rep));
    assert_true(rep.no_op);
    free(plain);
    facts_clear(&before);
    facts_clear(&after);
    tst_table_free(t);
    free_fixture(f);
}

static void the_row_target_bounds_every_output(void **state)
{
    (void)state;
    fixture *f = make_fixture(7, true);
    facts before = facts_of(f->root, true);
    tst_table *t = NULL;
    assert_tst_ok(tst_table_open(&t, f->root));
    tst_optimize_options opts = compact_options();
    opts.target_rows = 48; /* two NVDA days; the mixed parts are estimated at 24 and 12 rows */
    opts.window = 30 * DAY;
    tst_optimize_report rep;
    assert_tst_ok(tst_table_optimize(t, &opts, &rep));
    /* NVDA: 5 pairs of days; AAPL (24 rows a day): 2 pairs; MSFT (12): 1 of 4 days. */
    assert_int_equal(rep.replacement_segments_written, 5 + 2 + 1);
    for (size_t i = 0; i < tst_table_segment_count(t); i++) {
        const tst_segment *seg = tst_table_segment_at(t, i);
        if (is_output(seg))
            assert_true(seg->row_count <= 48);
    }
    facts after = facts_of(f->root, true);
    assert_same_facts(&before, &after);
    assert_tst_ok(tst_table_optimize(t, &opts, &rep));
    assert_true(rep.no_op);
    facts_clear(&before);
    facts_clear(&after);
    tst_table_free(t);
    free_fixture(f);
}

/* A mixed segment over all ten days (AAPL, MSFT) crosses windows: its parts
 * are split out, each written alone (as the entity layout would), never
 * merged with the same symbol's daily segments. */
static void a_mixed_segment_across_windows_is_split_but_not_merged(void **state)
{
    (void)state;
    fixture *f = new_fixture("compactx");
    tst_table *t = tst_test_create_table(f->root, "ts", "symbol", TST_TIME_HOURS, 1);
    append_day(f, t, "long.parquet",
               "SELECT * REPLACE ('AAPL' AS symbol) FROM nvda WHERE day(ts) <= 5 UNION ALL "
               "SELECT * REPLACE ('MSFT' AS symbol) FROM nvda WHERE day(ts) <= 5");
    append_day(f, t, "aapl7.parquet",
               "SELECT * REPLACE ('AAPL' AS symbol) FROM nvda WHERE day(ts) = 7");
    append_day(f, t, "aapl8.parquet",
               "SELECT * REPLACE ('AAPL' AS symbol) FROM nvda WHERE day(ts) = 8");
    remember_files(f);
    facts before = facts_of(f->root, true);
    tst_optimize_options opts = compact_options();
    tst_optimize_report rep;
    assert_tst_ok(tst_table_optimize(t, &opts, &rep));
    /* The long segment: AAPL and MSFT alone (days 1-5 cross 06-04); AAPL 7 + 8 merged. */
    assert_int_equal(rep.source_segments_replaced, 3);
    assert_int_equal(rep.replacement_segments_written, 3);
    assert_int_equal(tst_table_segment_count(t), 3);
    size_t crossing = 0;
    for (size_t i = 0; i < tst_table_segment_count(t); i++) {
        const tst_segment *seg = tst_table_segment_at(t, i);
        assert_int_equal(seg->layout.kind, TST_LAYOUT_SINGLE);
        crossing += window_of(&seg->index_min) != window_of(&seg->index_max);
    }
    assert_int_equal(crossing, 2);
    facts after = facts_of(f->root, true);
    assert_same_facts(&before, &after);
    char *plain = old_files_rows(f, true);
    assert_string_equal(plain, after.rows);
    assert_tst_ok(tst_table_optimize(t, &opts, &rep));
    assert_true(rep.no_op);
    free(plain);
    facts_clear(&before);
    facts_clear(&after);
    tst_table_free(t);
    free_fixture(f);
}

/* Mixed inputs are loaded once per window into a DuckDB table, tagged with
 * their input number. A mixed segment whose AAPL rows start in the first
 * window and MSFT rows in the second is loaded in each: AAPL's output takes
 * only its AAPL rows from the first, MSFT's only its MSFT rows from the
 * second, and no row is written twice. */
static void a_mixed_segment_whose_entities_start_in_two_windows_feeds_both(void **state)
{
    (void)state;
    fixture *f = new_fixture("compact2w");
    tst_table *t = tst_test_create_table(f->root, "ts", "symbol", TST_TIME_HOURS, 1);
    append_day(f, t, "mixed.parquet",
               "SELECT * REPLACE ('AAPL' AS symbol) FROM nvda WHERE day(ts) <= 2 UNION ALL "
               "SELECT * REPLACE ('MSFT' AS symbol) FROM nvda WHERE day(ts) IN (4, 5)");
    append_day(f, t, "aapl3.parquet",
               "SELECT * REPLACE ('AAPL' AS symbol) FROM nvda WHERE day(ts) = 3");
    append_day(f, t, "msft6.parquet",
               "SELECT * REPLACE ('MSFT' AS symbol) FROM nvda WHERE day(ts) = 6");
    remember_files(f);
    facts before = facts_of(f->root, true);
    tst_optimize_options opts = compact_options();
    tst_optimize_report rep;
    assert_tst_ok(tst_table_optimize(t, &opts, &rep));
    assert_int_equal(rep.source_segments_replaced, 3);
    assert_int_equal(rep.replacement_segments_written, 2);
    assert_int_equal(rep.rows_read, 6 * 24);
    assert_int_equal(rep.rows_written, 6 * 24);
    assert_int_equal(tst_table_segment_count(t), 2);
    for (size_t i = 0; i < 2; i++)
        assert_int_equal(tst_table_segment_at(t, i)->row_count, 3 * 24);
    assert_outputs_sorted_and_windowed(t, true);
    assert_sidecars_cover(t, &before.cov);
    facts after = facts_of(f->root, true);
    assert_same_facts(&before, &after);
    char *plain = old_files_rows(f, true);
    assert_string_equal(plain, after.rows);
    free(plain);
    facts_clear(&before);
    facts_clear(&after);
    tst_table_free(t);
    free_fixture(f);
}

/* The load's tag column is named so that no column of the table has its
 * name: a table with a column "__tstable_input" keeps that column's values. */
static void a_column_named_like_the_load_tag_keeps_its_values(void **state)
{
    (void)state;
    fixture *f = new_fixture("compacttag");
    tst_table *t = tst_test_create_table(f->root, "ts", "symbol", TST_TIME_HOURS, 1);
    for (int d = 1; d <= 3; d++) {
        char name[32], sql[256];
        snprintf(name, sizeof name, "tagged%d.parquet", d);
        snprintf(sql, sizeof sql,
                 "SELECT *, hour(ts) * 10 + %d AS __tstable_input FROM nvda WHERE day(ts) = %d "
                 "UNION ALL SELECT * REPLACE ('AAPL' AS symbol), -%d FROM nvda WHERE day(ts) = %d",
                 d, d, d, d);
        append_day(f, t, name, sql);
    }
    const char *sum = "SELECT count(*) || ':' || sum(hash(ts, symbol, close, __tstable_input)) "
                      "FROM t";
    char *before = tst_test_table_value(f->root, sum);
    tst_optimize_options opts = compact_options();
    tst_optimize_report rep;
    assert_tst_ok(tst_table_optimize(t, &opts, &rep));
    assert_int_equal(rep.source_segments_replaced, 3);
    assert_int_equal(rep.replacement_segments_written, 2);
    char *after = tst_test_table_value(f->root, sum);
    assert_string_equal(after, before);
    free(before);
    free(after);
    tst_table_free(t);
    free_fixture(f);
}

static void an_empty_table_is_a_no_op(void **state)
{
    (void)state;
    char *root = tst_test_tmpdir("compactempty");
    tst_table *t = tst_test_create_table(root, "ts", "symbol", TST_TIME_HOURS, 1);
    tst_optimize_options opts = compact_options();
    tst_optimize_report rep;
    assert_tst_ok(tst_table_optimize(t, &opts, &rep));
    assert_true(rep.no_op);
    assert_int_equal(rep.segments_before, 0);
    assert_int_equal(tst_table_version(t), 1);
    tst_table_free(t);
    tst_test_rmtree(root);
}

/* ---- other writers --------------------------------------------------------------- */

typedef struct other_writer {
    const char *root, *file; /* file: append it; NULL: the entity-layout optimize */
    int rc;
} other_writer;

static void interlope(void *ctx, unsigned attempt)
{
    other_writer *w = ctx;
    if (attempt != 1)
        return;
    tst_optimize_before_commit_hook = NULL; /* the other writer runs plainly */
    tst_table *other = NULL;
    w->rc = tst_table_open(&other, w->root);
    if (w->rc == 0)
        w->rc = w->file ? tst_table_append_parquet(other, w->file, NULL, NULL)
                        : tst_table_optimize(other, NULL, NULL);
    tst_table_free(other);
    tst_optimize_before_commit_hook = interlope;
}

static int compact_with_other_writer(tst_table *t, other_writer *w, tst_optimize_report *rep)
{
    tst_optimize_options opts = compact_options();
    w->rc = -1;
    tst_optimize_before_commit_ctx = w;
    tst_optimize_before_commit_hook = interlope;
    int rc = tst_table_optimize(t, &opts, rep);
    tst_optimize_before_commit_hook = NULL;
    return rc;
}

static int count_files(const char *root)
{
    char *data = tst_test_path(root, "data"), *cov = tst_test_path(root, "_coverage");
    int n = tst_test_count_files(data) + tst_test_count_files(cov);
    free(data);
    free(cov);
    return n;
}

static void an_append_of_other_buckets_meanwhile_is_rebased_over(void **state)
{
    (void)state;
    fixture *f = make_fixture(7, true);
    char *later = tst_test_nvda_parquet(f->dir, "tsla.parquet",
                                        "SELECT * REPLACE ('TSLA' AS symbol) FROM nvda");
    tst_table *t = NULL;
    assert_tst_ok(tst_table_open(&t, f->root));
    other_writer w = {f->root, later, -1};
    tst_optimize_report rep;
    assert_tst_ok(compact_with_other_writer(t, &w, &rep));
    assert_tst_ok(w.rc);
    assert_int_equal(rep.attempts, 2);
    assert_int_equal(rep.starting_version, 16);
    assert_int_equal(rep.committed_version, 18);
    assert_int_equal(tst_table_segment_count(t), 9 + 1); /* the append's segment stays */
    tst_test_assert_sql("240", "SELECT 240"); /* DuckDB still fine */
    char *tsla = tst_test_table_value(f->root, "SELECT count(*) FROM t WHERE symbol = 'TSLA'");
    assert_string_equal(tsla, "240");
    free(tsla);
    free(later);
    tst_table_free(t);
    free_fixture(f);
}

static void a_removal_of_an_input_meanwhile_is_a_conflict_that_leaves_nothing(void **state)
{
    (void)state;
    fixture *f = make_fixture(7, true);
    tst_table *t = NULL;
    assert_tst_ok(tst_table_open(&t, f->root));
    other_writer w = {f->root, NULL, -1}; /* the entity layout replaces the mixed inputs */
    tst_optimize_report rep;
    int files = count_files(f->root);
    int rc = compact_with_other_writer(t, &w, &rep);
    assert_tst_ok(w.rc);
    assert_tst_fails(rc, TST_ECONFLICT);
    assert_non_null(strstr(tst_error_last()->message, "another writer removed segment"));
    assert_int_equal(tst_error_last()->expected_version, 16);
    assert_int_equal(tst_error_last()->found_version, 17);
    /* Only the entity layout's files were added: AAPL and MSFT of 4 days,
     * data and sidecar; nothing of the compaction's. */
    assert_int_equal(count_files(f->root), files + 16);
    tst_table_free(t);
    assert_tst_ok(tst_table_open(&t, f->root));
    assert_int_equal(tst_table_version(t), 17);
    char *staged = tst_test_path(f->root, "data/_staged/entity-rewrite");
    assert_int_equal(tst_test_count_files(staged), 8); /* AAPL, MSFT x 4 days: theirs only */
    free(staged);
    /* And it runs again on top. */
    tst_optimize_options opts = compact_options();
    assert_tst_ok(tst_table_optimize(t, &opts, &rep));
    assert_int_equal(rep.committed_version, 18);
    tst_table_free(t);
    free_fixture(f);
}

static void a_cancelled_compaction_commits_nothing_and_removes_its_files(void **state)
{
    (void)state;
    fixture *f = make_fixture(7, true);
    int files = count_files(f->root);
    tst_table *t = NULL;
    assert_tst_ok(tst_table_open(&t, f->root));
    tst_cancel *cancel = NULL;
    assert_tst_ok(tst_cancel_new(&cancel));
    tst_cancel_request(cancel);
    tst_optimize_options opts = compact_options();
    opts.cancel = cancel;
    assert_tst_fails(tst_table_optimize(t, &opts, NULL), TST_ECANCELLED);
    assert_non_null(strstr(tst_error_last()->message, "cancelled"));
    assert_int_equal(tst_table_version(t), 16);
    assert_int_equal(count_files(f->root), files);
    tst_cancel_free(cancel);
    tst_table_free(t);
    free_fixture(f);
}

static void an_unknown_mode_is_refused(void **state)
{
    (void)state;
    char *root = tst_test_tmpdir("compactmode");
    tst_table *t = tst_test_create_table(root, "ts", "symbol", TST_TIME_HOURS, 1);
    tst_optimize_options opts = TST_OPTIMIZE_OPTIONS_INIT;
    opts.mode = (tst_optimize_mode)7;
    assert_tst_fails(tst_table_optimize(t, &opts, NULL), TST_EINVAL);
    assert_non_null(strstr(tst_error_last()->message, "unknown mode"));
    tst_table_free(t);
    tst_test_rmtree(root);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(a_protocol_7_table_compacts_with_the_same_rows_coverage_and_gaps),
        cmocka_unit_test(a_protocol_6_table_compacts_with_the_same_rows_coverage_and_gaps),
        cmocka_unit_test(a_table_without_entity_columns_compacts_as_one_group),
        cmocka_unit_test(the_row_target_bounds_every_output),
        cmocka_unit_test(a_mixed_segment_across_windows_is_split_but_not_merged),
        cmocka_unit_test(a_mixed_segment_whose_entities_start_in_two_windows_feeds_both),
        cmocka_unit_test(a_column_named_like_the_load_tag_keeps_its_values),
        cmocka_unit_test(an_empty_table_is_a_no_op),
        cmocka_unit_test(an_append_of_other_buckets_meanwhile_is_rebased_over),
        cmocka_unit_test(a_removal_of_an_input_meanwhile_is_a_conflict_that_leaves_nothing),
        cmocka_unit_test(a_cancelled_compaction_commits_nothing_and_removes_its_files),
        cmocka_unit_test(an_unknown_mode_is_refused),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
