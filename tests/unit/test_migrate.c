/*
 * test_migrate.c — tst_table_migrate: a format_version-6 log rewritten as
 * protocol 7 in a new folder, files carried by link or copy, and every
 * refusal leaving no destination and no staging folder behind.
 *
 * The tables are hand-made logs (testsupport's hand-made commits) with small
 * stand-in files: migrate never reads data files, it only carries them, so
 * no DuckDB is needed and the tests run under valgrind.
 */
#include "testsupport.h"

#include "fsio.h"
#include "tstable/migrate.h"

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static const char *const UINT_META =
    "{\"UpdateTableMeta\":{\"kind\":{\"TimeSeries\":{\"column\":\"k\",\"entity_columns\":[],"
    "\"kind\":{\"type\":\"u_int64\",\"bucket_width\":10}}},\"logical_schema\":{\"columns\":["
    "{\"name\":\"k\",\"data_type\":\"UInt64\",\"nullable\":true}]},"
    "\"created_at\":\"2026-01-01T00:00:00Z\",\"format_version\":6}}";

static char *read_rel(const char *root, const char *rel)
{
    char *path = tst_test_path(root, rel), *text = NULL;
    size_t len = 0;
    assert_int_equal(tst_test_read_file(path, &text, &len), 0);
    free(path);
    return text;
}

static ino_t inode_of(const char *root, const char *rel)
{
    char *path = tst_test_path(root, rel);
    struct stat st;
    assert_int_equal(stat(path, &st), 0);
    free(path);
    return st.st_ino;
}

/* The hourly table of testsupport: meta, two segments, one removed again. */
static char *hourly_v6(const char *dir)
{
    char *root = tst_test_path(dir, "src");
    char *a = tst_test_add_segment_action("data/a.parquet", "NVDA", 0, 3600);
    char *b = tst_test_add_segment_action("data/b.parquet", "AAPL", 7200, 7200);
    char actions[4096];
    snprintf(actions, sizeof actions, "[%s]", TST_TEST_META_ACTION);
    assert_int_equal(tst_test_write_commit(root, 1, actions), 0);
    snprintf(actions, sizeof actions, "[%s,%s]", a, b);
    assert_int_equal(tst_test_write_commit(root, 2, actions), 0);
    assert_int_equal(tst_test_write_commit(root, 3, "[{\"RemoveSegment\":{\"path\":"
                                                   "\"data/a.parquet\"}}]"), 0);
    assert_int_equal(tst_test_set_current(root, 3), 0);
    tst_test_put(root, "data/a.parquet", "segment a");
    tst_test_put(root, "data/b.parquet", "segment b bytes");
    tst_test_put(root, "notes/readme.txt", "kept as it is");
    free(a);
    free(b);
    return root;
}

/* A uint64 table with a table coverage pointer and a segment with a sidecar. */
static char *uint_v6(const char *dir)
{
    char *root = tst_test_path(dir, "src");
    char actions[4096];
    snprintf(actions, sizeof actions, "[%s]", UINT_META);
    assert_int_equal(tst_test_write_commit(root, 1, actions), 0);
    assert_int_equal(tst_test_write_commit(root, 2,
        "[{\"AddSegment\":{\"path\":\"data/u.parquet\",\"format\":\"parquet\","
        "\"entity_layout\":\"NotApplicable\",\"index_min\":{\"type\":\"u_int64\",\"value\":5},"
        "\"index_max\":{\"type\":\"u_int64\",\"value\":18446744073709551615},\"row_count\":2,"
        "\"coverage_path\":\"_coverage/segments/s.roar\"}},"
        "{\"UpdateTableCoverage\":{\"index_kind\":{\"type\":\"u_int64\",\"bucket_width\":10},"
        "\"coverage_path\":\"_coverage/table/2-t.roar\"}}]"), 0);
    assert_int_equal(tst_test_set_current(root, 2), 0);
    tst_test_put(root, "data/u.parquet", "uint segment");
    tst_test_put(root, "_coverage/segments/s.roar", "sidecar");
    tst_test_put(root, "_coverage/table/2-t.roar", "snapshot");
    return root;
}

/* Entries of dir whose name starts with '.' (staging folders left behind). */
static int hidden_entries(const char *dir)
{
    DIR *d = opendir(dir);
    assert_non_null(d);
    int n = 0;
    struct dirent *e;
    while ((e = readdir(d)) != NULL)
        n += e->d_name[0] == '.' && strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0;
    closedir(d);
    return n;
}

static void test_every_commit_is_rewritten_as_protocol_7_with_the_same_history(void **state)
{
    (void)state;
    char *dir = tst_test_tmpdir("migrate");
    char *src = hourly_v6(dir), *dst = tst_test_path(dir, "dst");
    char *before = read_rel(src, "_timeseries_log/0000000002.json");
    tst_migrate_report r;
    assert_tst_ok(tst_table_migrate(src, dst, &r));
    assert_int_equal(r.version, 3);
    assert_int_equal(r.commits_rewritten, 3);
    assert_int_equal(r.metas_rewritten, 1);
    assert_int_equal(r.coverage_pointers_rewritten, 0);
    assert_int_equal(r.live_segments, 1);
    assert_int_equal(r.files_linked + r.files_copied, 3);
    assert_int_equal(r.bytes_linked + r.bytes_copied, 9 + 15 + 13);
    assert_false(r.checkpoint_written);

    char *c1 = read_rel(dst, "_timeseries_log/0000000001.json");
    assert_non_null(strstr(c1, "\"protocol_version\":7,\"required_reader_features\":[],"
                               "\"required_writer_features\":[]"));
    assert_non_null(strstr(c1, "\"kind\":{\"type\":\"timestamp\",\"index_granularity\":"
                               "{\"Hours\":1}}"));
    assert_null(strstr(c1, "format_version"));
    assert_null(strstr(c1, "\"bucket\""));
    /* The envelope keeps its version, base and timestamp. */
    assert_non_null(strstr(c1, "\"version\":1,\"base_version\":0,"));
    char *c2 = read_rel(dst, "_timeseries_log/0000000002.json");
    assert_string_equal(c2, before); /* no meta, no coverage pointer: the same bytes */
    char *current = read_rel(dst, "_timeseries_log/CURRENT");
    assert_string_equal(current, "3\n");
    /* Files: same bytes; hard links on one file system. */
    char *b = read_rel(dst, "data/b.parquet");
    assert_string_equal(b, "segment b bytes");
    assert_int_equal(r.files_linked, 3);
    assert_true(inode_of(src, "data/b.parquet") == inode_of(dst, "data/b.parquet"));

    tst_table *t = NULL;
    assert_tst_ok(tst_table_open(&t, dst));
    assert_int_equal(tst_table_version(t), 3);
    assert_int_equal(tst_table_get_meta(t)->protocol_version, 7);
    assert_int_equal(tst_table_get_meta(t)->format_version, 0);
    assert_int_equal(tst_table_segment_count(t), 1);
    tst_table_free(t);
    /* The source is untouched and still format_version 6. */
    assert_tst_ok(tst_table_open(&t, src));
    assert_int_equal(tst_table_get_meta(t)->format_version, 6);
    tst_table_free(t);
    char *after = read_rel(src, "_timeseries_log/0000000002.json");
    assert_string_equal(after, before);
    assert_int_equal(hidden_entries(dir), 0);
    free(before), free(after), free(c1), free(c2), free(current), free(b);
    free(src), free(dst);
    tst_test_rmtree(dir);
}

static void test_uint64_kinds_become_uint64_and_segment_bounds_stay_u_int64(void **state)
{
    (void)state;
    char *dir = tst_test_tmpdir("migrate");
    char *src = uint_v6(dir), *dst = tst_test_path(dir, "dst");
    tst_migrate_report r;
    assert_tst_ok(tst_table_migrate(src, dst, &r));
    assert_int_equal(r.metas_rewritten, 1);
    assert_int_equal(r.coverage_pointers_rewritten, 1);
    char *c2 = read_rel(dst, "_timeseries_log/0000000002.json");
    assert_non_null(strstr(c2, "\"index_min\":{\"type\":\"u_int64\",\"value\":5}"));
    assert_non_null(strstr(c2, "\"index_max\":{\"type\":\"u_int64\",\"value\":"
                               "18446744073709551615}"));
    assert_non_null(strstr(c2, "\"UpdateTableCoverage\":{\"index_kind\":{\"type\":\"uint64\","
                               "\"index_granularity\":10}"));
    char *c1 = read_rel(dst, "_timeseries_log/0000000001.json");
    assert_non_null(strstr(c1, "{\"type\":\"uint64\",\"index_granularity\":10}"));
    tst_table *t = NULL;
    assert_tst_ok(tst_table_open(&t, dst));
    uint64_t cov_version = 0;
    assert_string_equal(tst_table_coverage_path(t, &cov_version), "_coverage/table/2-t.roar");
    assert_int_equal(tst_table_index(t)->kind.protocol, 7);
    tst_table_free(t);
    free(c1), free(c2), free(src), free(dst);
    tst_test_rmtree(dir);
}

static void test_the_copy_option_copies_every_file(void **state)
{
    (void)state;
    char *dir = tst_test_tmpdir("migrate");
    char *src = hourly_v6(dir), *dst = tst_test_path(dir, "dst");
    tst_migrate_options opts = TST_MIGRATE_OPTIONS_INIT;
    opts.copy = true;
    tst_migrate_report r;
    assert_tst_ok(tst_table_migrate_with(src, dst, &opts, &r));
    assert_int_equal(r.files_linked, 0);
    assert_int_equal(r.files_copied, 3);
    assert_int_equal(r.bytes_copied, 9 + 15 + 13);
    assert_true(inode_of(src, "data/b.parquet") != inode_of(dst, "data/b.parquet"));
    char *b = read_rel(dst, "data/b.parquet"), *n = read_rel(dst, "notes/readme.txt");
    assert_string_equal(b, "segment b bytes");
    assert_string_equal(n, "kept as it is");
    free(b), free(n), free(src), free(dst);
    tst_test_rmtree(dir);
}

static void test_a_commit_past_a_stale_current_is_migrated(void **state)
{
    (void)state;
    char *dir = tst_test_tmpdir("migrate");
    char *src = hourly_v6(dir), *dst = tst_test_path(dir, "dst");
    assert_int_equal(tst_test_set_current(src, 2), 0); /* a writer died before publishing 3 */
    tst_migrate_report r;
    assert_tst_ok(tst_table_migrate(src, dst, &r));
    assert_int_equal(r.version, 3);
    char *current = read_rel(dst, "_timeseries_log/CURRENT");
    assert_string_equal(current, "3\n");
    free(current), free(src), free(dst);
    tst_test_rmtree(dir);
}

/* Fails with `code`, and neither the destination nor a staging folder exists. */
static void assert_refused(const char *dir, const char *src, const char *dst, int code,
                           const char *words)
{
    struct stat before;
    bool existed = lstat(dst, &before) == 0;
    assert_tst_fails(tst_table_migrate(src, dst, NULL), code);
    if (!strstr(tst_error_last()->message, words))
        print_error("message: %s\n", tst_error_last()->message);
    assert_non_null(strstr(tst_error_last()->message, words));
    struct stat st;
    assert_int_equal(lstat(dst, &st) == 0, existed);
    assert_int_equal(hidden_entries(dir), 0);
}

static void test_a_protocol_7_table_is_refused(void **state)
{
    (void)state;
    char *dir = tst_test_tmpdir("migrate");
    char *src = tst_test_path(dir, "src"), *dst = tst_test_path(dir, "dst");
    tst_index_spec spec = tst_test_hourly_spec(NULL, 0);
    spec.kind.protocol = 7;
    tst_table *t = NULL;
    assert_tst_ok(tst_table_create(&t, src, &spec));
    tst_table_free(t);
    assert_refused(dir, src, dst, TST_EINVAL, "already a protocol-7 table");
    free(src), free(dst);
    tst_test_rmtree(dir);
}

static void test_bad_locations_are_refused_before_anything_is_written(void **state)
{
    (void)state;
    char *dir = tst_test_tmpdir("migrate");
    char *src = hourly_v6(dir), *dst = tst_test_path(dir, "dst");
    assert_int_equal(mkdir(dst, 0755), 0); /* even an empty folder */
    assert_refused(dir, src, dst, TST_EEXISTS, "already exists");
    char *inside = tst_test_path(src, "v7");
    assert_refused(dir, src, inside, TST_EINVAL, "inside the source");
    char *orphan = tst_test_path(dir, "no/such/parent");
    assert_refused(dir, src, orphan, TST_ENOTFOUND, "does not exist");
    char *nothing = tst_test_path(dir, "nothing"), *dst2 = tst_test_path(dir, "dst2");
    assert_refused(dir, nothing, dst2, TST_ENOTFOUND, "does not exist");
    assert_refused(dir, dst, dst2, TST_EEMPTY, "not a table");
    assert_tst_fails(tst_table_migrate("s3://bucket/t", dst2, NULL), TST_EUNSUPPORTED);
    free(inside), free(orphan), free(nothing), free(dst2), free(src), free(dst);
    tst_test_rmtree(dir);
}

static void test_a_damaged_source_fails_and_leaves_nothing(void **state)
{
    (void)state;
    char *dir = tst_test_tmpdir("migrate");
    char *src = hourly_v6(dir), *dst = tst_test_path(dir, "dst");
    char *gone = tst_test_path(src, "data/b.parquet");
    assert_int_equal(unlink(gone), 0);
    assert_refused(dir, src, dst, TST_ECORRUPT, "segment data/b.parquet is missing");
    tst_test_put(src, "data/b.parquet", "segment b bytes");
    char *link = tst_test_path(src, "data/link.parquet");
    assert_int_equal(symlink(gone, link), 0);
    assert_refused(dir, src, dst, TST_EINVAL, "symbolic link");
    assert_int_equal(unlink(link), 0);
    /* A log that is not format_version 6 half way through. */
    assert_int_equal(tst_test_write_commit(src, 4, "[{\"AddSegment\":{\"path\":1}}]"), 0);
    assert_int_equal(tst_test_set_current(src, 4), 0);
    assert_refused(dir, src, dst, TST_ECORRUPT, "0000000004.json");
    free(link), free(gone), free(src), free(dst);
    tst_test_rmtree(dir);
}

static void test_checkpoints_are_not_carried_and_a_long_log_gets_a_new_one(void **state)
{
    (void)state;
    char *dir = tst_test_tmpdir("migrate");
    char *src = hourly_v6(dir), *dst = tst_test_path(dir, "dst");
    char actions[4096];
    snprintf(actions, sizeof actions, "[%s]", TST_TEST_META_ACTION);
    for (uint64_t v = 4; v <= TST_CHECKPOINT_INTERVAL + 3; v++)
        assert_int_equal(tst_test_write_commit(src, v, actions), 0);
    assert_int_equal(tst_test_set_current(src, TST_CHECKPOINT_INTERVAL + 3), 0);
    /* One commit through the library: it checkpoints the (format_version 6) state. */
    tst_table *t = NULL;
    assert_tst_ok(tst_table_open(&t, src));
    assert_tst_ok(tst_table_commit_json(t, actions, NULL));
    tst_table_free(t);
    const uint64_t head = TST_CHECKPOINT_INTERVAL + 4;
    char *pointer = read_rel(src, "_timeseries_log/_last_checkpoint");
    assert_int_equal(strtoull(pointer, NULL, 10), head);

    tst_migrate_report r;
    assert_tst_ok(tst_table_migrate(src, dst, &r));
    assert_int_equal(r.version, head);
    assert_int_equal(r.metas_rewritten, head - 2);
    assert_true(r.checkpoint_written);
    assert_true(r.log_entries_dropped >= 2); /* the checkpoint and its pointer */
    char *name = NULL;
    char rel[96];
    snprintf(rel, sizeof rel, "_timeseries_log/_checkpoints/%010llu.checkpoint",
             (unsigned long long)head);
    name = read_rel(dst, rel);
    /* Binary, with the TableMeta JSON after magic, version and length: protocol 7. */
    assert_null(strstr(name + 20, "format_version"));
    assert_non_null(strstr(name + 20, "\"protocol_version\":7"));
    /* The new table opens (from its checkpoint) as protocol 7 and takes a commit. */
    assert_tst_ok(tst_table_open(&t, dst));
    assert_int_equal(tst_table_version(t), head);
    assert_int_equal(tst_table_get_meta(t)->protocol_version, 7);
    tst_table_free(t);
    free(name), free(pointer), free(src), free(dst);
    tst_test_rmtree(dir);
}

/* Every durable step failing in turn (an I/O error, not a crash): the call
 * fails, and leaves neither the destination nor a staging folder. */
static void test_an_io_failure_at_any_step_leaves_no_destination(void **state)
{
    (void)state;
    char *dir = tst_test_tmpdir("migrate");
    char *src = uint_v6(dir), *dst = tst_test_path(dir, "dst");
    tst_io_set_fault(TST_IO_FAULT_NONE, 0);
    assert_tst_ok(tst_table_migrate(src, dst, NULL));
    uint64_t steps = tst_io_steps();
    assert_true(steps > 10);
    tst_test_rmtree(strdup(dst));
    for (uint64_t k = 1; k <= steps; k++) {
        tst_io_set_fault(TST_IO_FAULT_FAIL, k);
        int rc = tst_table_migrate(src, dst, NULL);
        tst_io_set_fault(TST_IO_FAULT_NONE, 0);
        struct stat st;
        /* A refused link falls back to a copy; the parent's fsync after the
         * rename is TST_EAMBIGUOUS: both leave the complete table. */
        if (rc == 0 || rc == TST_EAMBIGUOUS) {
            tst_table *t = NULL;
            assert_tst_ok(tst_table_open(&t, dst));
            assert_int_equal(tst_table_version(t), 2);
            tst_table_free(t);
            tst_test_rmtree(strdup(dst));
            continue;
        }
        assert_true(tst_error_last()->message[0] != '\0');
        assert_int_not_equal(lstat(dst, &st), 0);
        assert_int_equal(hidden_entries(dir), 0);
    }
    free(src), free(dst);
    tst_test_rmtree(dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_every_commit_is_rewritten_as_protocol_7_with_the_same_history),
        cmocka_unit_test(test_uint64_kinds_become_uint64_and_segment_bounds_stay_u_int64),
        cmocka_unit_test(test_the_copy_option_copies_every_file),
        cmocka_unit_test(test_a_commit_past_a_stale_current_is_migrated),
        cmocka_unit_test(test_a_protocol_7_table_is_refused),
        cmocka_unit_test(test_bad_locations_are_refused_before_anything_is_written),
        cmocka_unit_test(test_a_damaged_source_fails_and_leaves_nothing),
        cmocka_unit_test(test_checkpoints_are_not_carried_and_a_long_log_gets_a_new_one),
        cmocka_unit_test(test_an_io_failure_at_any_step_leaves_no_destination),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
