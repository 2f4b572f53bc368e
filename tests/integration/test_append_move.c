/*
 * test_append_move.c — zero-copy ingest (tst_append_options.move) and the
 * copy that runs while the source is measured.
 *
 * A moved file becomes the table's data file (the same inode, no bytes
 * copied) and its old name is gone after the commit; a rejected, failed or
 * re-encoded append leaves it where it was and leaves nothing in the table;
 * a source on another file system is copied and kept. Plain copies of
 * rejected appends leave no data file behind either (the copy started
 * before the rejection was known).
 */
#include "testsupport.h"

#include "fsio.h"
#include "tstable/append.h"
#include "tstable/table.h"

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

typedef struct fixture {
    char *root, *dir;
    tst_table *t;
} fixture;

/* Day d of the NVDA sample, zone-less: a file the table copies byte for byte. */
static char *day(const char *dir, const char *name, int d)
{
    char select[256];
    snprintf(select, sizeof select,
             "SELECT * REPLACE (timezone('UTC', ts) AS ts) FROM nvda WHERE "
             "ts >= TIMESTAMPTZ '2024-06-%02d' AND "
             "ts < TIMESTAMPTZ '2024-06-%02d' + INTERVAL 1 DAY", d, d);
    return tst_test_nvda_parquet(dir, name, select);
}

static void fixture_open(fixture *f)
{
    f->root = tst_test_tmpdir("move");
    f->dir = tst_test_tmpdir("move-src");
    f->t = tst_test_create_table(f->root, "ts", "symbol", TST_TIME_HOURS, 1);
}

static void fixture_close(fixture *f)
{
    tst_table_free(f->t);
    tst_test_rmtree(f->dir);
    tst_test_rmtree(f->root);
}

/* Parquet files under the table's data folder, recursively. */
static int data_files(const char *dir)
{
    DIR *d = opendir(dir);
    if (!d)
        return 0;
    int n = 0;
    for (struct dirent *e; (e = readdir(d)) != NULL;) {
        if (e->d_name[0] == '.')
            continue;
        char *p = tst_test_path(dir, e->d_name);
        struct stat st;
        if (lstat(p, &st) == 0 && S_ISDIR(st.st_mode))
            n += data_files(p);
        else
            n++;
        free(p);
    }
    closedir(d);
    return n;
}

static int table_data_files(const fixture *f)
{
    char *p = tst_test_path(f->root, "data");
    int n = data_files(p);
    free(p);
    return n;
}

static void a_moved_file_becomes_the_data_file_and_leaves_its_folder(void **state)
{
    (void)state;
    fixture f;
    fixture_open(&f);
    char *src = day(f.dir, "d1.parquet", 1);
    struct stat before;
    assert_int_equal(stat(src, &before), 0);

    tst_append_options opts = TST_APPEND_OPTIONS_INIT;
    opts.move = true;
    tst_append_result res;
    assert_tst_ok(tst_table_append_parquet(f.t, src, &opts, &res));
    assert_int_equal(res.moved, 1);
    assert_true(res.copied);
    assert_false(tst_test_exists(src));

    char *data = tst_test_path(f.root, res.segment_path);
    struct stat after;
    assert_int_equal(stat(data, &after), 0);
    assert_int_equal(after.st_ino, before.st_ino); /* no byte was copied */
    assert_int_equal(after.st_nlink, 1);
    assert_int_equal(after.st_size, before.st_size);
    tst_index_value start = tst_test_ts("2024-06-01T00:00:00Z"),
                    end = tst_test_ts("2024-06-02T00:00:00Z");
    tst_entity_binding nvda = tst_test_symbol("NVDA");
    tst_coverage_counts c;
    assert_tst_ok(tst_table_coverage(f.t, &nvda, 1, &start, &end, &c));
    assert_int_equal(c.covered_buckets, 24);
    free(data);
    free(src);
    fixture_close(&f);
}

static void a_rejected_move_or_copy_leaves_the_file_and_writes_nothing(void **state)
{
    (void)state;
    fixture f;
    fixture_open(&f);
    char *d1 = day(f.dir, "d1.parquet", 1);
    tst_append_result first;
    assert_tst_ok(tst_table_append_parquet(f.t, d1, NULL, &first));
    assert_true(first.copied); /* so the rejected ones took the copy path too */
    int files = table_data_files(&f);
    char *again = day(f.dir, "again.parquet", 1);
    struct stat before;
    assert_int_equal(stat(again, &before), 0);

    for (int move = 0; move < 2; move++) {
        tst_append_options opts = TST_APPEND_OPTIONS_INIT;
        opts.move = move;
        tst_append_result res;
        assert_tst_fails(tst_table_append_parquet(f.t, again, &opts, &res), TST_EOVERLAP);
        struct stat after;
        assert_int_equal(stat(again, &after), 0);
        assert_int_equal(after.st_ino, before.st_ino);
        assert_int_equal(after.st_nlink, 1); /* no link left in the table */
        assert_int_equal(table_data_files(&f), files);
        assert_int_equal(tst_table_version(f.t), 2);
    }
    free(d1);
    free(again);
    fixture_close(&f);
}

static void a_reencoded_move_copies_and_keeps_the_file(void **state)
{
    (void)state;
    fixture f;
    fixture_open(&f);
    char *src = day(f.dir, "d1.parquet", 1);
    tst_append_options opts = TST_APPEND_OPTIONS_INIT;
    opts.move = true;
    opts.reencode = true;
    tst_append_result res;
    assert_tst_ok(tst_table_append_parquet(f.t, src, &opts, &res));
    assert_int_equal(res.moved, 0);
    assert_false(res.copied);
    assert_true(tst_test_exists(src));
    free(src);
    fixture_close(&f);
}

/* /dev/shm is another file system than the table's (EXDEV): copied, kept. */
static void a_move_across_file_systems_copies_and_keeps_the_file(void **state)
{
    (void)state;
    struct stat shm, tmp;
    fixture f;
    fixture_open(&f);
    if (stat("/dev/shm", &shm) != 0 || stat(f.root, &tmp) != 0 || shm.st_dev == tmp.st_dev ||
        access("/dev/shm", W_OK) != 0) {
        fixture_close(&f);
        skip();
    }
    char *dir = strdup("/dev/shm/tst-move-XXXXXX");
    assert_non_null(mkdtemp(dir));
    char *src = day(dir, "d1.parquet", 1);
    tst_append_options opts = TST_APPEND_OPTIONS_INIT;
    opts.move = true;
    tst_append_result res;
    assert_tst_ok(tst_table_append_parquet(f.t, src, &opts, &res));
    assert_int_equal(res.moved, 0);
    assert_true(res.copied);
    assert_true(tst_test_exists(src));
    char *data = tst_test_path(f.root, res.segment_path);
    struct stat a, b;
    assert_int_equal(stat(src, &a), 0);
    assert_int_equal(stat(data, &b), 0);
    assert_int_equal(a.st_size, b.st_size);
    assert_true(a.st_dev != b.st_dev);
    free(data);
    free(src);
    tst_test_rmtree(dir);
    fixture_close(&f);
}

/* A symlink is not handed over: its target is copied, both stay. */
static void a_symlinked_source_is_copied_not_moved(void **state)
{
    (void)state;
    fixture f;
    fixture_open(&f);
    char *target = day(f.dir, "d1.parquet", 1);
    char *link_path = tst_test_path(f.dir, "link.parquet");
    assert_int_equal(symlink(target, link_path), 0);
    tst_append_options opts = TST_APPEND_OPTIONS_INIT;
    opts.move = true;
    tst_append_result res;
    assert_tst_ok(tst_table_append_parquet(f.t, link_path, &opts, &res));
    assert_int_equal(res.moved, 0);
    assert_true(res.copied);
    struct stat st;
    assert_int_equal(lstat(link_path, &st), 0);
    assert_true(S_ISLNK(st.st_mode));
    assert_true(tst_test_exists(target));
    char *data = tst_test_path(f.root, res.segment_path);
    assert_int_equal(lstat(data, &st), 0);
    assert_true(S_ISREG(st.st_mode));
    free(data);
    free(link_path);
    free(target);
    fixture_close(&f);
}

/* Several files in one commit: each moved, each copy joined in turn. */
static void a_batch_moves_every_file(void **state)
{
    (void)state;
    fixture f;
    fixture_open(&f);
    char *files[3];
    for (int i = 0; i < 3; i++) {
        char name[32];
        snprintf(name, sizeof name, "d%d.parquet", i + 1);
        files[i] = day(f.dir, name, i + 1);
    }
    tst_append_options opts = TST_APPEND_OPTIONS_INIT;
    opts.move = true;
    tst_append_result res;
    assert_tst_ok(tst_table_append_parquet_files(f.t, (const char *const *)files, 3, &opts, &res));
    assert_int_equal(res.moved, 3);
    assert_int_equal(table_data_files(&f), 3);
    for (int i = 0; i < 3; i++) {
        assert_false(tst_test_exists(files[i]));
        free(files[i]);
    }
    /* and a batch whose last file overlaps the first: nothing moves */
    char *a = day(f.dir, "a.parquet", 4), *b = day(f.dir, "b.parquet", 4);
    const char *pair[2] = {a, b};
    assert_tst_fails(tst_table_append_parquet_files(f.t, pair, 2, &opts, NULL), TST_EOVERLAP);
    assert_true(tst_test_exists(a) && tst_test_exists(b));
    assert_int_equal(table_data_files(&f), 3);
    free(a);
    free(b);
    fixture_close(&f);
}

/* A failure injected at each fsio step, copy and move alike: the append
 * fails naming the step's file (the copy's error crosses from its thread),
 * writes nothing, and leaves the source; or it succeeds. */
static void a_failure_at_any_step_leaves_nothing_and_the_file(void **state)
{
    (void)state;
    for (int move = 0; move < 2; move++) {
        int failed = 0;
        for (uint64_t k = 1;; k++) {
            fixture f;
            fixture_open(&f);
            char *src = day(f.dir, "d1.parquet", 1);
            tst_append_options opts = TST_APPEND_OPTIONS_INIT;
            opts.move = move;
            tst_append_result res;
            tst_io_set_fault(TST_IO_FAULT_FAIL, k);
            int rc = tst_table_append_parquet(f.t, src, &opts, &res);
            bool fired = tst_io_steps() >= k;
            tst_io_set_fault(TST_IO_FAULT_NONE, 0);
            if (!fired) {
                assert_tst_ok(rc);
                assert_int_equal(tst_test_exists(src), !move);
                free(src);
                fixture_close(&f);
                break;
            }
            failed++;
            if (rc == 0) { /* a step after the commit: tidying, or removing the old name */
                tst_table *t = NULL;
                assert_tst_ok(tst_table_open(&t, f.root));
                assert_int_equal(tst_table_version(t), 2);
                tst_table_free(t);
                if (!move)
                    assert_true(tst_test_exists(src));
                free(src);
                fixture_close(&f);
                continue;
            }
            assert_true(tst_error_last()->message[0] != '\0');
            assert_true(tst_test_exists(src));
            if (rc == TST_EAMBIGUOUS) { /* the commit may stand: its files are kept */
                free(src);
                fixture_close(&f);
                continue;
            }
            struct stat st;
            assert_int_equal(stat(src, &st), 0);
            assert_int_equal(st.st_nlink, 1);
            tst_table *t = NULL;
            assert_tst_ok(tst_table_open(&t, f.root));
            assert_int_equal(tst_table_version(t), 1);
            tst_table_free(t);
            free(src);
            fixture_close(&f);
        }
        print_message("%s: failed at each of %d steps\n", move ? "move" : "copy", failed);
        assert_true(failed > 5);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(a_moved_file_becomes_the_data_file_and_leaves_its_folder),
        cmocka_unit_test(a_rejected_move_or_copy_leaves_the_file_and_writes_nothing),
        cmocka_unit_test(a_reencoded_move_copies_and_keeps_the_file),
        cmocka_unit_test(a_move_across_file_systems_copies_and_keeps_the_file),
        cmocka_unit_test(a_symlinked_source_is_copied_not_moved),
        cmocka_unit_test(a_batch_moves_every_file),
        cmocka_unit_test(a_failure_at_any_step_leaves_nothing_and_the_file),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
