/*
 * test_append.c — appends end to end: schema adoption and rules, copy and
 * re-encode paths, coverage, overlap rejection, and that every rejected
 * append leaves the table exactly as it was (no data file, no sidecar, no
 * commit).
 */
#include "testsupport.h"

#include "duck.h"
#include "model.h"
#include "table_internal.h"
#include "tstable/append.h"
#include "tstable/table.h"
#include "tstable/table_coverage.h"

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#define NVDA_CSV TST_SOURCE_DIR "/examples/data/nvda_1h_sample.csv"

typedef struct table_print {
    uint64_t version;
    int data_files;
    int coverage_files;
} table_print;

static table_print print_of(const char *root)
{
    table_print p;
    tst_table *t = NULL;
    assert_tst_ok(tst_table_open(&t, root));
    p.version = tst_table_version(t);
    tst_table_free(t);
    char *data = tst_test_path(root, "data"), *cov = tst_test_path(root, "_coverage");
    p.data_files = tst_test_count_files(data);
    p.coverage_files = tst_test_count_files(cov);
    free(data);
    free(cov);
    return p;
}

static void assert_unchanged(const char *root, table_print before)
{
    table_print after = print_of(root);
    assert_int_equal(after.version, before.version);
    assert_int_equal(after.data_files, before.data_files);
    assert_int_equal(after.coverage_files, before.coverage_files);
}

/* ---- CSV --------------------------------------------------------------- */

static void the_nvda_csv_becomes_the_first_segment(void **state)
{
    (void)state;
    char *root = tst_test_tmpdir("append");
    tst_table *t = tst_test_create_table(root, "ts", "symbol", TST_TIME_HOURS, 1);
    tst_append_result res;
    assert_tst_ok(tst_table_append_csv(t, NVDA_CSV, NULL, NULL, &res));
    assert_int_equal(res.version, 2);
    assert_int_equal(res.rows, 240);
    assert_false(res.copied);
    assert_int_equal(res.attempts, 1);
    assert_int_equal(tst_table_version(t), 2);

    const tst_table_meta *meta = tst_table_get_meta(t);
    assert_non_null(meta->schema);
    assert_int_equal(meta->schema->column_count, 7);
    assert_int_equal(tst_table_segment_count(t), 1);
    const tst_segment *seg = tst_table_segment_at(t, 0);
    assert_string_equal(seg->path, res.segment_path);
    assert_int_equal(seg->row_count, 240);
    assert_int_equal(seg->layout.kind, TST_LAYOUT_SINGLE);
    assert_memory_equal(seg->layout.values[0].v.utf8.ptr, "NVDA", 4);
    char text[64];
    tst_index_value_format(&seg->index_min, text, sizeof text);
    assert_string_equal(text, "2024-06-01T00:00:00Z");
    tst_index_value_format(&seg->index_max, text, sizeof text);
    assert_string_equal(text, "2024-06-10T23:00:00Z");
    assert_non_null(seg->coverage_path);
    assert_non_null(tst_table_coverage_path(t, NULL));

    tst_entity_binding nvda = tst_test_symbol("NVDA");
    tst_index_value start = tst_test_ts("2024-06-01T00:00:00Z"), end = tst_test_ts("2024-06-11T00:00:00Z");
    tst_coverage_counts c;
    assert_tst_ok(tst_table_coverage(t, &nvda, 1, &start, &end, &c));
    assert_int_equal(c.covered_buckets, 240);
    assert_int_equal(c.total_buckets, 240);
    assert_true(c.ratio == 1.0);
    tst_table_free(t);

    /* Everything survives a reopen. */
    assert_tst_ok(tst_table_open(&t, root));
    assert_tst_ok(tst_table_coverage(t, &nvda, 1, &start, &end, &c));
    assert_int_equal(c.covered_buckets, 240);
    tst_table_free(t);
    tst_test_rmtree(root);
}

static void appending_the_sample_again_is_rejected_as_overlap_and_writes_nothing(void **state)
{
    (void)state;
    char *root = tst_test_tmpdir("append");
    tst_table *t = tst_test_create_table(root, "ts", "symbol", TST_TIME_HOURS, 1);
    assert_tst_ok(tst_table_append_csv(t, NVDA_CSV, NULL, NULL, NULL));
    table_print before = print_of(root);
    assert_tst_fails(tst_table_append_csv(t, NVDA_CSV, NULL, NULL, NULL), TST_EOVERLAP);
    const tst_error *e = tst_error_last();
    assert_int_equal(e->overlap_count, 240);
    assert_string_equal(e->entity, "symbol=NVDA");
    assert_string_equal(e->bucket_range, "[2024-06-01T00:00:00Z, 2024-06-01T01:00:00Z)");
    assert_non_null(strstr(e->message, "nothing was written"));
    assert_unchanged(root, before);
    tst_table_free(t);
    tst_test_rmtree(root);
}

/* ---- Parquet ----------------------------------------------------------- */

static void a_parquet_file_matching_the_schema_is_copied_byte_for_byte(void **state)
{
    (void)state;
    char *root = tst_test_tmpdir("append");
    char *dir = tst_test_tmpdir("src");
    /* Zone-less timestamps: the reference reads these files' footers as
     * exactly the schema we adopt (a zoned DuckDB file it reads as
     * zone-less, so that one is re-encoded: see the test after this). */
    char *first = tst_test_nvda_parquet(dir, "first.parquet", "SELECT * REPLACE (timezone('UTC', "
                                        "ts) AS ts) FROM nvda WHERE ts < '2024-06-05'");
    char *second = tst_test_nvda_parquet(dir, "second.parquet", "SELECT * REPLACE (timezone("
                                         "'UTC', ts) AS ts) FROM nvda WHERE ts >= '2024-06-05'");
    tst_table *t = tst_test_create_table(root, "ts", "symbol", TST_TIME_HOURS, 1);
    tst_append_result res;
    assert_tst_ok(tst_table_append_parquet(t, first, NULL, &res));
    assert_true(res.copied);
    assert_tst_ok(tst_table_append_parquet(t, second, NULL, &res));
    assert_true(res.copied);
    assert_int_equal(res.version, 3);

    char *copy = tst_test_path(root, res.segment_path);
    char *a = NULL, *b = NULL;
    size_t la = 0, lb = 0;
    assert_int_equal(tst_test_read_file(second, &a, &la), 0);
    assert_int_equal(tst_test_read_file(copy, &b, &lb), 0);
    assert_int_equal(la, lb);
    assert_memory_equal(a, b, la);
    assert_int_equal(res.bytes, la);

    tst_entity_binding nvda = tst_test_symbol("NVDA");
    tst_index_value start = tst_test_ts("2024-06-01T00:00:00Z"), end = tst_test_ts("2024-06-11T00:00:00Z");
    tst_coverage_counts c;
    assert_tst_ok(tst_table_coverage(t, &nvda, 1, &start, &end, &c));
    assert_int_equal(c.covered_buckets, 240);
    free(a);
    free(b);
    free(copy);
    free(first);
    free(second);
    tst_table_free(t);
    tst_test_rmtree(dir);
    tst_test_rmtree(root);
}

static void reencoding_can_be_forced_and_keeps_every_row(void **state)
{
    (void)state;
    char *root = tst_test_tmpdir("append");
    char *dir = tst_test_tmpdir("src");
    char *file = tst_test_nvda_parquet(dir, "all.parquet", "SELECT * FROM nvda");
    tst_table *t = tst_test_create_table(root, "ts", "symbol", TST_TIME_HOURS, 1);
    tst_append_options opts = TST_APPEND_OPTIONS_INIT;
    opts.reencode = true;
    tst_append_result res;
    assert_tst_ok(tst_table_append_parquet(t, file, &opts, &res));
    assert_false(res.copied);
    assert_int_equal(res.rows, 240);
    char *seg = tst_test_path(root, res.segment_path);
    tst_test_assert_sql("0", "SELECT count(*) FROM ((SELECT * FROM read_parquet('%s') EXCEPT ALL "
                        "SELECT * FROM read_parquet('%s')) UNION ALL (SELECT * FROM "
                        "read_parquet('%s') EXCEPT ALL SELECT * FROM read_parquet('%s')))",
                        file, seg, seg, file);
    free(seg);
    free(file);
    tst_table_free(t);
    tst_test_rmtree(dir);
    tst_test_rmtree(root);
}

static void a_reencoded_segment_takes_the_codec_and_row_group_limits_asked_for(void **state)
{
    (void)state;
    char *root = tst_test_tmpdir("append");
    char *dir = tst_test_tmpdir("src");
    char *file = tst_test_nvda_parquet(dir, "all.parquet", "SELECT * FROM nvda");
    tst_table *t = tst_test_create_table(root, "ts", "symbol", TST_TIME_HOURS, 1);
    tst_append_options opts = TST_APPEND_OPTIONS_INIT;
    opts.reencode = true;
    opts.compression = TST_COMPRESSION_SNAPPY;
    opts.row_group_rows = 100; /* DuckDB rounds groups up to its vector size (2048) */
    tst_append_result res;
    assert_tst_ok(tst_table_append_parquet(t, file, &opts, &res));
    char *seg = tst_test_path(root, res.segment_path);
    tst_test_assert_sql("SNAPPY", "SELECT string_agg(DISTINCT compression, ',') "
                        "FROM parquet_metadata('%s')", seg);
    free(seg);

    /* Unknown codecs are refused before anything is read or written. */
    opts.compression = (tst_compression)42;
    assert_tst_fails(tst_table_append_parquet(t, file, &opts, &res), TST_EINVAL);
    assert_non_null(strstr(tst_error_last()->message, "compression 42"));
    assert_int_equal(tst_table_version(t), 2);
    tst_compression c;
    assert_tst_ok(tst_compression_parse("uncompressed", &c));
    assert_int_equal(c, TST_COMPRESSION_UNCOMPRESSED);
    assert_tst_fails(tst_compression_parse("lz4", &c), TST_EINVAL);
    assert_non_null(strstr(tst_error_last()->message, "\"snappy\""));
    assert_string_equal(tst_compression_name(TST_COMPRESSION_DEFAULT), "zstd");
    free(file);
    tst_table_free(t);
    tst_test_rmtree(dir);
    tst_test_rmtree(root);
}

static void reordered_columns_are_matched_by_name_and_reencoded(void **state)
{
    (void)state;
    char *root = tst_test_tmpdir("append");
    char *dir = tst_test_tmpdir("src");
    char *first = tst_test_nvda_parquet(dir, "a.parquet", "SELECT * FROM nvda WHERE ts < '2024-06-05'");
    char *moved = tst_test_nvda_parquet(dir, "b.parquet",
                               "SELECT volume, close, low, high, open, symbol, ts FROM nvda "
                               "WHERE ts >= '2024-06-05'");
    tst_table *t = tst_test_create_table(root, "ts", "symbol", TST_TIME_HOURS, 1);
    assert_tst_ok(tst_table_append_parquet(t, first, NULL, NULL));
    tst_append_result res;
    assert_tst_ok(tst_table_append_parquet(t, moved, NULL, &res));
    assert_false(res.copied);
    assert_int_equal(tst_table_segment_count(t), 2);
    free(first);
    free(moved);
    tst_table_free(t);
    tst_test_rmtree(dir);
    tst_test_rmtree(root);
}

static void a_narrower_integer_widens_and_a_wider_one_is_refused(void **state)
{
    (void)state;
    char *root = tst_test_tmpdir("append");
    char *dir = tst_test_tmpdir("src");
    char *first = tst_test_nvda_parquet(dir, "a.parquet", "SELECT * FROM nvda WHERE ts < '2024-06-04'");
    char *narrow = tst_test_nvda_parquet(dir, "b.parquet",
                                "SELECT * REPLACE (volume::INTEGER AS volume) FROM nvda WHERE "
                                "ts >= '2024-06-04' AND ts < '2024-06-07'");
    char *wide = tst_test_nvda_parquet(dir, "c.parquet",
                              "SELECT * REPLACE (volume::HUGEINT AS volume) FROM nvda WHERE "
                              "ts >= '2024-06-07'");
    char *unsig = tst_test_nvda_parquet(dir, "d.parquet",
                               "SELECT * REPLACE (volume::UBIGINT AS volume) FROM nvda WHERE "
                               "ts >= '2024-06-07'");
    tst_table *t = tst_test_create_table(root, "ts", "symbol", TST_TIME_HOURS, 1);
    assert_tst_ok(tst_table_append_parquet(t, first, NULL, NULL));
    tst_append_result res;
    assert_tst_ok(tst_table_append_parquet(t, narrow, NULL, &res));
    assert_false(res.copied);
    table_print before = print_of(root);
    assert_tst_fails(tst_table_append_parquet(t, wide, NULL, NULL), TST_ESCHEMA);
    assert_non_null(strstr(tst_error_last()->message, "'volume'"));
    assert_tst_fails(tst_table_append_parquet(t, unsig, NULL, NULL), TST_ESCHEMA);
    assert_non_null(strstr(tst_error_last()->message, "'volume'"));
    assert_unchanged(root, before);
    free(first);
    free(narrow);
    free(wide);
    free(unsig);
    tst_table_free(t);
    tst_test_rmtree(dir);
    tst_test_rmtree(root);
}

static void missing_and_extra_columns_are_refused_without_writing(void **state)
{
    (void)state;
    char *root = tst_test_tmpdir("append");
    char *dir = tst_test_tmpdir("src");
    char *first = tst_test_nvda_parquet(dir, "a.parquet", "SELECT * FROM nvda WHERE ts < '2024-06-04'");
    char *missing = tst_test_nvda_parquet(dir, "b.parquet",
                                 "SELECT * EXCLUDE (volume) FROM nvda WHERE ts >= '2024-06-04'");
    char *extra = tst_test_nvda_parquet(dir, "c.parquet",
                               "SELECT *, 1.5 AS vwap FROM nvda WHERE ts >= '2024-06-04'");
    tst_table *t = tst_test_create_table(root, "ts", "symbol", TST_TIME_HOURS, 1);
    assert_tst_ok(tst_table_append_parquet(t, first, NULL, NULL));
    table_print before = print_of(root);
    assert_tst_fails(tst_table_append_parquet(t, missing, NULL, NULL), TST_ESCHEMA);
    assert_non_null(strstr(tst_error_last()->message, "'volume'"));
    assert_tst_fails(tst_table_append_parquet(t, extra, NULL, NULL), TST_ESCHEMA);
    assert_non_null(strstr(tst_error_last()->message, "'vwap'"));
    assert_unchanged(root, before);
    free(first);
    free(missing);
    free(extra);
    tst_table_free(t);
    tst_test_rmtree(dir);
    tst_test_rmtree(root);
}

static void a_first_append_refuses_types_the_format_cannot_store(void **state)
{
    (void)state;
    char *root = tst_test_tmpdir("append");
    char *dir = tst_test_tmpdir("src");
    char *small = tst_test_nvda_parquet(dir, "a.parquet",
                               "SELECT *, TIME '01:02:03' AS volume2 FROM nvda");
    char *no_ts = tst_test_nvda_parquet(dir, "b.parquet", "SELECT * EXCLUDE (ts) FROM nvda");
    char *int_ts = tst_test_nvda_parquet(dir, "c.parquet",
                                "SELECT * REPLACE (epoch(ts)::BIGINT AS ts) FROM nvda");
    tst_table *t = tst_test_create_table(root, "ts", "symbol", TST_TIME_HOURS, 1);
    table_print before = print_of(root);
    assert_tst_fails(tst_table_append_parquet(t, small, NULL, NULL), TST_ESCHEMA);
    assert_non_null(strstr(tst_error_last()->message, "'volume2'"));
    assert_non_null(strstr(tst_error_last()->message, "volume2::VARCHAR")); /* the way out */
    assert_tst_fails(tst_table_append_parquet(t, no_ts, NULL, NULL), TST_ESCHEMA);
    assert_non_null(strstr(tst_error_last()->message, "'ts'"));
    assert_tst_fails(tst_table_append_parquet(t, int_ts, NULL, NULL), TST_ESCHEMA);
    assert_non_null(strstr(tst_error_last()->message, "'ts'"));
    assert_unchanged(root, before);
    assert_null(tst_table_get_meta(t)->schema);
    free(small);
    free(no_ts);
    free(int_ts);
    tst_table_free(t);
    tst_test_rmtree(dir);
    tst_test_rmtree(root);
}

static void null_entities_and_empty_sources_are_refused_without_writing(void **state)
{
    (void)state;
    char *root = tst_test_tmpdir("append");
    char *dir = tst_test_tmpdir("src");
    char *nulls = tst_test_nvda_parquet(dir, "a.parquet",
                               "SELECT * REPLACE (CASE WHEN ts = '2024-06-02' THEN NULL ELSE "
                               "symbol END AS symbol) FROM nvda");
    char *empty = tst_test_nvda_parquet(dir, "b.parquet", "SELECT * FROM nvda WHERE false");
    char *missing = tst_test_path(dir, "nope.parquet");
    tst_table *t = tst_test_create_table(root, "ts", "symbol", TST_TIME_HOURS, 1);
    table_print before = print_of(root);
    assert_tst_fails(tst_table_append_parquet(t, nulls, NULL, NULL), TST_ESCHEMA);
    assert_non_null(strstr(tst_error_last()->message, "symbol"));
    assert_tst_fails(tst_table_append_parquet(t, empty, NULL, NULL), TST_EEMPTY);
    assert_tst_fails(tst_table_append_parquet(t, missing, NULL, NULL), TST_ENOTFOUND);
    assert_unchanged(root, before);
    free(nulls);
    free(empty);
    free(missing);
    tst_table_free(t);
    tst_test_rmtree(dir);
    tst_test_rmtree(root);
}

static void two_symbols_in_one_file_make_a_mixed_segment_with_separate_coverage(void **state)
{
    (void)state;
    char *root = tst_test_tmpdir("append");
    char *dir = tst_test_tmpdir("src");
    char *both = tst_test_nvda_parquet(dir, "a.parquet",
                              "SELECT * FROM nvda WHERE ts < '2024-06-03' UNION ALL "
                              "SELECT * REPLACE ('AAPL' AS symbol) FROM nvda WHERE ts >= "
                              "'2024-06-02' AND ts < '2024-06-04'");
    char *aapl_again = tst_test_nvda_parquet(dir, "b.parquet",
                                    "SELECT * REPLACE ('AAPL' AS symbol) FROM nvda WHERE ts >= "
                                    "'2024-06-03T12:00:00Z' AND ts < '2024-06-05'");
    char *nvda_later = tst_test_nvda_parquet(dir, "c.parquet", "SELECT * FROM nvda WHERE ts >= '2024-06-03'");
    tst_table *t = tst_test_create_table(root, "ts", "symbol", TST_TIME_HOURS, 1);
    assert_tst_ok(tst_table_append_parquet(t, both, NULL, NULL));
    assert_int_equal(tst_table_segment_at(t, 0)->layout.kind, TST_LAYOUT_MIXED);
    /* NVDA's coverage does not block AAPL, and the other way round. */
    assert_tst_fails(tst_table_append_parquet(t, aapl_again, NULL, NULL), TST_EOVERLAP);
    assert_string_equal(tst_error_last()->entity, "symbol=AAPL");
    assert_int_equal(tst_error_last()->overlap_count, 12);
    /* A fresh handle checks against the snapshot's AAPL alone (the table's
     * other identities are not decoded): the same rejection. */
    tst_table *fresh = NULL;
    assert_tst_ok(tst_table_open(&fresh, root));
    assert_tst_fails(tst_table_append_parquet(fresh, aapl_again, NULL, NULL), TST_EOVERLAP);
    assert_string_equal(tst_error_last()->entity, "symbol=AAPL");
    assert_int_equal(tst_error_last()->overlap_count, 12);
    tst_table_free(fresh);
    assert_tst_ok(tst_table_append_parquet(t, nvda_later, NULL, NULL));
    assert_tst_ok(tst_table_open(&fresh, root));
    assert_tst_fails(tst_table_append_parquet(fresh, nvda_later, NULL, NULL), TST_EOVERLAP);
    assert_string_equal(tst_error_last()->entity, "symbol=NVDA");
    tst_table_free(fresh);
    tst_entity_binding aapl = tst_test_symbol("AAPL");
    tst_index_value start = tst_test_ts("2024-06-01T00:00:00Z"), end = tst_test_ts("2024-06-11T00:00:00Z");
    tst_coverage_counts c;
    assert_tst_ok(tst_table_coverage(t, &aapl, 1, &start, &end, &c));
    assert_int_equal(c.covered_buckets, 48);
    assert_tst_ok(tst_table_coverage(t, NULL, 0, &start, &end, &c));
    assert_int_equal(c.covered_buckets, 240);
    free(both);
    free(aapl_again);
    free(nvda_later);
    tst_table_free(t);
    tst_test_rmtree(dir);
    tst_test_rmtree(root);
}

static void a_table_without_entities_rejects_any_covered_bucket(void **state)
{
    (void)state;
    char *root = tst_test_tmpdir("append");
    char *dir = tst_test_tmpdir("src");
    char *a = tst_test_nvda_parquet(dir, "a.parquet", "SELECT * FROM nvda WHERE ts < '2024-06-05'");
    char *b = tst_test_nvda_parquet(dir, "b.parquet",
                           "SELECT * REPLACE ('AMD' AS symbol) FROM nvda WHERE ts >= "
                           "'2024-06-04T23:00:00Z'");
    tst_table *t = tst_test_create_table(root, "ts", NULL, TST_TIME_HOURS, 1);
    assert_tst_ok(tst_table_append_parquet(t, a, NULL, NULL));
    assert_int_equal(tst_table_segment_at(t, 0)->layout.kind, TST_LAYOUT_NOT_APPLICABLE);
    assert_tst_fails(tst_table_append_parquet(t, b, NULL, NULL), TST_EOVERLAP);
    assert_int_equal(tst_error_last()->overlap_count, 1);
    assert_string_equal(tst_error_last()->entity, "");
    free(a);
    free(b);
    tst_table_free(t);
    tst_test_rmtree(dir);
    tst_test_rmtree(root);
}

static void a_stale_handle_rebases_onto_the_other_writers_commit(void **state)
{
    (void)state;
    char *root = tst_test_tmpdir("append");
    char *dir = tst_test_tmpdir("src");
    char *a = tst_test_nvda_parquet(dir, "a.parquet", "SELECT * FROM nvda WHERE ts < '2024-06-05'");
    char *b = tst_test_nvda_parquet(dir, "b.parquet", "SELECT * FROM nvda WHERE ts >= '2024-06-05'");
    tst_table *one = tst_test_create_table(root, "ts", "symbol", TST_TIME_HOURS, 1);
    tst_table *two = NULL;
    assert_tst_ok(tst_table_open(&two, root));
    assert_tst_ok(tst_table_append_parquet(one, a, NULL, NULL));
    tst_append_result res;
    assert_tst_ok(tst_table_append_parquet(two, b, NULL, &res));
    assert_int_equal(res.version, 3);
    assert_int_equal(tst_table_segment_count(two), 2);
    tst_entity_binding nvda = tst_test_symbol("NVDA");
    tst_index_value start = tst_test_ts("2024-06-01T00:00:00Z"), end = tst_test_ts("2024-06-11T00:00:00Z");
    tst_coverage_counts c;
    assert_tst_ok(tst_table_coverage(two, &nvda, 1, &start, &end, &c));
    assert_int_equal(c.covered_buckets, 240);
    free(a);
    free(b);
    tst_table_free(one);
    tst_table_free(two);
    tst_test_rmtree(dir);
    tst_test_rmtree(root);
}

static void a_table_started_from_csv_takes_parquet_that_duckdb_wrote_of_the_same_data(void **state)
{
    (void)state;
    char *root = tst_test_tmpdir("append");
    char *dir = tst_test_tmpdir("src");
    char *later = tst_test_nvda_parquet(dir, "later.parquet",
                               "SELECT * REPLACE (ts + INTERVAL 10 DAY AS ts) FROM nvda");
    tst_table *t = tst_test_create_table(root, "ts", "symbol", TST_TIME_HOURS, 1);
    assert_tst_ok(tst_table_append_csv(t, NVDA_CSV, NULL, NULL, NULL));
    tst_append_result res;
    assert_tst_ok(tst_table_append_parquet(t, later, NULL, &res));
    /* DuckDB writes no ARROW:schema: a footer reader takes its UTC-adjusted
     * timestamps as zone-less, so the file is re-encoded to declare UTC. */
    assert_false(res.copied);
    assert_int_equal(tst_table_segment_count(t), 2);
    free(later);
    tst_table_free(t);
    tst_test_rmtree(dir);
    tst_test_rmtree(root);
}


static void an_append_that_loses_the_commit_race_rebases_and_commits_next(void **state)
{
    (void)state;
    char *root = tst_test_tmpdir("append");
    char *dir = tst_test_tmpdir("src");
    char *a = tst_test_nvda_parquet(dir, "a.parquet", "SELECT * FROM nvda WHERE ts < '2024-06-05'");
    char *b = tst_test_nvda_parquet(dir, "b.parquet", "SELECT * FROM nvda WHERE ts >= '2024-06-05'");
    tst_table *t = tst_test_create_table(root, "ts", "symbol", TST_TIME_HOURS, 1);
    tst_test_interloper in = {root, a, -1};
    tst_test_interloper_arm(&in);
    tst_append_result res;
    int rc = tst_table_append_parquet(t, b, NULL, &res);
    tst_test_interloper_disarm();
    assert_tst_ok(in.rc);
    assert_tst_ok(rc);
    assert_int_equal(res.attempts, 2);
    assert_int_equal(res.version, 3);
    /* Both first appends raced on adopting the schema; one UpdateTableMeta won. */
    assert_int_equal(tst_table_segment_count(t), 2);
    tst_entity_binding nvda = tst_test_symbol("NVDA");
    tst_index_value start = tst_test_ts("2024-06-01T00:00:00Z"), end = tst_test_ts("2024-06-11T00:00:00Z");
    tst_coverage_counts c;
    assert_tst_ok(tst_table_coverage(t, &nvda, 1, &start, &end, &c));
    assert_int_equal(c.covered_buckets, 240);
    /* The losing attempt's snapshot was removed: one snapshot per commit. */
    char *snaps = tst_test_path(root, "_coverage/table");
    assert_int_equal(tst_test_count_files(snaps), 2);
    free(snaps);
    free(a);
    free(b);
    tst_table_free(t);
    tst_test_rmtree(dir);
    tst_test_rmtree(root);
}

static void a_rebase_that_finds_the_window_taken_fails_with_overlap_and_cleans_up(void **state)
{
    (void)state;
    char *root = tst_test_tmpdir("append");
    char *dir = tst_test_tmpdir("src");
    char *a = tst_test_nvda_parquet(dir, "a.parquet", "SELECT * FROM nvda WHERE ts < '2024-06-05'");
    tst_table *t = tst_test_create_table(root, "ts", "symbol", TST_TIME_HOURS, 1);
    table_print before = print_of(root);
    tst_test_interloper in = {root, a, -1};
    tst_test_interloper_arm(&in);
    int rc = tst_table_append_parquet(t, a, NULL, NULL);
    tst_test_interloper_disarm();
    assert_tst_ok(in.rc);
    assert_tst_fails(rc, TST_EOVERLAP);
    /* Only the other writer's files remain. */
    table_print after = print_of(root);
    assert_int_equal(after.version, before.version + 1);
    assert_int_equal(after.data_files, before.data_files + 1);
    assert_int_equal(after.coverage_files, before.coverage_files + 2);
    free(a);
    tst_table_free(t);
    tst_test_rmtree(dir);
    tst_test_rmtree(root);
}

static void a_bounded_number_of_attempts_gives_up_with_a_conflict(void **state)
{
    (void)state;
    char *root = tst_test_tmpdir("append");
    char *dir = tst_test_tmpdir("src");
    char *a = tst_test_nvda_parquet(dir, "a.parquet", "SELECT * FROM nvda WHERE ts < '2024-06-05'");
    char *b = tst_test_nvda_parquet(dir, "b.parquet", "SELECT * FROM nvda WHERE ts >= '2024-06-05'");
    tst_table *t = tst_test_create_table(root, "ts", "symbol", TST_TIME_HOURS, 1);
    tst_test_interloper in = {root, a, -1};
    tst_test_interloper_arm(&in);
    tst_append_options opts = TST_APPEND_OPTIONS_INIT;
    opts.max_attempts = 1;
    int rc = tst_table_append_parquet(t, b, &opts, NULL);
    tst_test_interloper_disarm();
    assert_tst_fails(rc, TST_ECONFLICT);
    assert_int_equal(tst_error_last()->expected_version, 1);
    assert_int_equal(tst_error_last()->found_version, 2);
    char *data = tst_test_path(root, "data");
    assert_int_equal(tst_test_count_files(data), 1); /* only the other writer's */
    free(data);
    free(a);
    free(b);
    tst_table_free(t);
    tst_test_rmtree(dir);
    tst_test_rmtree(root);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(the_nvda_csv_becomes_the_first_segment),
        cmocka_unit_test(appending_the_sample_again_is_rejected_as_overlap_and_writes_nothing),
        cmocka_unit_test(a_parquet_file_matching_the_schema_is_copied_byte_for_byte),
        cmocka_unit_test(reencoding_can_be_forced_and_keeps_every_row),
        cmocka_unit_test(a_reencoded_segment_takes_the_codec_and_row_group_limits_asked_for),
        cmocka_unit_test(reordered_columns_are_matched_by_name_and_reencoded),
        cmocka_unit_test(a_narrower_integer_widens_and_a_wider_one_is_refused),
        cmocka_unit_test(missing_and_extra_columns_are_refused_without_writing),
        cmocka_unit_test(a_first_append_refuses_types_the_format_cannot_store),
        cmocka_unit_test(null_entities_and_empty_sources_are_refused_without_writing),
        cmocka_unit_test(two_symbols_in_one_file_make_a_mixed_segment_with_separate_coverage),
        cmocka_unit_test(a_table_without_entities_rejects_any_covered_bucket),
        cmocka_unit_test(a_stale_handle_rebases_onto_the_other_writers_commit),
        cmocka_unit_test(a_table_started_from_csv_takes_parquet_that_duckdb_wrote_of_the_same_data),
        cmocka_unit_test(an_append_that_loses_the_commit_race_rebases_and_commits_next),
        cmocka_unit_test(a_rebase_that_finds_the_window_taken_fails_with_overlap_and_cleans_up),
        cmocka_unit_test(a_bounded_number_of_attempts_gives_up_with_a_conflict),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
