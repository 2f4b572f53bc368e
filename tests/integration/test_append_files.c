/*
 * test_append_files.c — several files in one append (report finding 24)
 * and cancellation (finding 12), through the library API:
 * tst_table_append_parquet_files / _csv_files commit every file as its own
 * segment in one version, or nothing; files are checked against the table
 * and against each other; a conflict rebases; a tst_cancel token stops an
 * append at any point and leaves no file behind.
 */
#include "testsupport.h"

#include "append_internal.h"
#include "tstable/append.h"
#include "tstable/table.h"
#include "tstable/table_coverage.h"

#include <dirent.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static int files_in(const char *root, const char *rel)
{
    char *p = tst_test_path(root, rel);
    int n = tst_test_count_files(p);
    free(p);
    return n;
}

static int written_files(const char *root)
{
    return files_in(root, "data") + files_in(root, "_coverage");
}

/* Day d (1-based) of the NVDA sample as Parquet. */
static char *day(const char *dir, int d)
{
    char name[32], select[256];
    snprintf(name, sizeof name, "day%02d.parquet", d);
    snprintf(select, sizeof select,
             "SELECT * FROM nvda WHERE ts >= TIMESTAMPTZ '2024-06-%02d' AND "
             "ts < TIMESTAMPTZ '2024-06-%02d' + INTERVAL 1 DAY", d, d);
    return tst_test_nvda_parquet(dir, name, select);
}

typedef struct fixture {
    char *root, *dir;
    tst_table *t;
    char *days[4];
} fixture;

static void fixture_open(fixture *f)
{
    f->root = tst_test_tmpdir("files");
    f->dir = tst_test_tmpdir("src");
    f->t = tst_test_create_table(f->root, "ts", "symbol", TST_TIME_HOURS, 1);
    for (int d = 0; d < 4; d++)
        f->days[d] = day(f->dir, d + 1);
}

static void fixture_close(fixture *f)
{
    for (int d = 0; d < 4; d++)
        free(f->days[d]);
    tst_table_free(f->t);
    tst_test_rmtree(f->dir);
    tst_test_rmtree(f->root);
}

static uint64_t covered(tst_table *t, const char *from, const char *to)
{
    tst_entity_binding nvda = tst_test_symbol("NVDA");
    tst_index_value start = tst_test_ts(from), end = tst_test_ts(to);
    tst_coverage_counts c;
    assert_tst_ok(tst_table_coverage(t, &nvda, 1, &start, &end, &c));
    return c.covered_buckets;
}

/* ---- several files, one commit ------------------------------------------- */

static void three_parquet_files_are_one_version_with_three_segments(void **state)
{
    (void)state;
    fixture f;
    fixture_open(&f);
    const char *paths[] = {f.days[0], f.days[1], f.days[2]};
    tst_append_result res;
    assert_tst_ok(tst_table_append_parquet_files(f.t, paths, 3, NULL, &res));
    assert_int_equal(res.version, 2);
    assert_int_equal(res.rows, 72);
    assert_int_equal(res.attempts, 1);
    /* DuckDB TIMESTAMPTZ files carry no ARROW:schema, so a footer reader would see
     * zone-less times: each is re-encoded (docs/guide/source-types.md) */
    assert_false(res.copied);
    assert_int_equal(tst_table_segment_count(f.t), 3);
    assert_int_equal(covered(f.t, "2024-06-01T00:00:00Z", "2024-06-05T00:00:00Z"), 72);
    /* three data files, three segment sidecars, one snapshot */
    assert_int_equal(files_in(f.root, "data"), 3);
    assert_int_equal(files_in(f.root, "_coverage/segments"), 3);
    assert_int_equal(files_in(f.root, "_coverage/table"), 1);
    fixture_close(&f);
}

static void files_covering_the_same_hours_are_refused_naming_both(void **state)
{
    (void)state;
    fixture f;
    fixture_open(&f);
    const char *paths[] = {f.days[0], f.days[1], f.days[0]};
    assert_tst_fails(tst_table_append_parquet_files(f.t, paths, 3, NULL, NULL), TST_EOVERLAP);
    const char *m = tst_error_last()->message;
    assert_non_null(strstr(m, "day01.parquet and "));
    assert_non_null(strstr(m, "both cover 24 buckets of entity symbol=NVDA"));
    assert_int_equal(tst_error_last()->overlap_count, 24);
    assert_int_equal(tst_table_version(f.t), 1);
    assert_int_equal(written_files(f.root), 0);
    fixture_close(&f);
}

static void a_file_the_table_already_covers_refuses_the_whole_batch(void **state)
{
    (void)state;
    fixture f;
    fixture_open(&f);
    assert_tst_ok(tst_table_append_parquet(f.t, f.days[1], NULL, NULL));
    int before = written_files(f.root);
    const char *paths[] = {f.days[0], f.days[1]};
    assert_tst_fails(tst_table_append_parquet_files(f.t, paths, 2, NULL, NULL), TST_EOVERLAP);
    assert_non_null(strstr(tst_error_last()->message, "day02.parquet"));
    assert_int_equal(tst_table_version(f.t), 2);
    assert_int_equal(written_files(f.root), before);
    fixture_close(&f);
}

static void a_file_with_another_schema_refuses_the_whole_batch(void **state)
{
    (void)state;
    fixture f;
    fixture_open(&f);
    char *odd = tst_test_nvda_parquet(f.dir, "odd.parquet",
                                      "SELECT ts, symbol, close AS price FROM nvda "
                                      "WHERE ts >= TIMESTAMPTZ '2024-06-08'");
    const char *paths[] = {f.days[0], odd};
    assert_tst_fails(tst_table_append_parquet_files(f.t, paths, 2, NULL, NULL), TST_ESCHEMA);
    assert_int_equal(tst_table_version(f.t), 1);
    assert_int_equal(written_files(f.root), 0);
    free(odd);
    fixture_close(&f);
}

static void invalid_arguments_are_einval(void **state)
{
    (void)state;
    fixture f;
    fixture_open(&f);
    const char *paths[] = {f.days[0], NULL};
    assert_tst_fails(tst_table_append_parquet_files(f.t, paths, 0, NULL, NULL), TST_EINVAL);
    assert_tst_fails(tst_table_append_parquet_files(f.t, NULL, 1, NULL, NULL), TST_EINVAL);
    assert_tst_fails(tst_table_append_parquet_files(f.t, paths, 2, NULL, NULL), TST_EINVAL);
    assert_tst_fails(tst_table_append_parquet_files(NULL, paths, 1, NULL, NULL), TST_EINVAL);
    assert_tst_fails(tst_table_append_csv_files(f.t, paths, 2, NULL, NULL, NULL), TST_EINVAL);
    assert_tst_fails(tst_table_append_parquet_files(f.t, (const char *[]){"/nonexistent.parquet"},
                                                    1, NULL, NULL), TST_ENOTFOUND);
    assert_int_equal(written_files(f.root), 0);
    fixture_close(&f);
}


static void a_batch_that_loses_the_commit_race_rebases(void **state)
{
    (void)state;
    fixture f;
    fixture_open(&f);
    tst_test_interloper in = {f.root, f.days[3], -1};
    tst_test_interloper_arm(&in);
    const char *paths[] = {f.days[0], f.days[1]};
    tst_append_result res;
    int rc = tst_table_append_parquet_files(f.t, paths, 2, NULL, &res);
    tst_test_interloper_disarm();
    assert_tst_ok(in.rc);
    assert_tst_ok(rc);
    assert_int_equal(res.attempts, 2);
    assert_int_equal(res.version, 3);
    assert_int_equal(tst_table_segment_count(f.t), 3);
    assert_int_equal(covered(f.t, "2024-06-01T00:00:00Z", "2024-06-05T00:00:00Z"), 72);
    fixture_close(&f);
}

static void a_lost_race_without_retries_removes_every_file(void **state)
{
    (void)state;
    fixture f;
    fixture_open(&f);
    tst_test_interloper in = {f.root, f.days[3], -1};
    tst_test_interloper_arm(&in);
    const char *paths[] = {f.days[0], f.days[1], f.days[2]};
    tst_append_options opts = TST_APPEND_OPTIONS_INIT;
    opts.max_attempts = 1;
    int rc = tst_table_append_parquet_files(f.t, paths, 3, &opts, NULL);
    tst_test_interloper_disarm();
    assert_tst_ok(in.rc);
    assert_tst_fails(rc, TST_ECONFLICT);
    /* Only the other writer's segment and its two sidecars remain. */
    assert_int_equal(files_in(f.root, "data"), 1);
    assert_int_equal(files_in(f.root, "_coverage/segments"), 1);
    assert_int_equal(files_in(f.root, "_coverage/table"), 1);
    fixture_close(&f);
}

static void csv_files_are_one_commit_read_with_the_first_files_types(void **state)
{
    (void)state;
    fixture f;
    fixture_open(&f);
    char *a = tst_test_path(f.dir, "a.csv"), *b = tst_test_path(f.dir, "b.csv");
    const char *ta = "ts,symbol,price\n2024-06-01T00:00:00Z,NVDA,1.5\n";
    const char *tb = "ts,symbol,price\n2024-06-02T00:00:00Z,NVDA,2\n"; /* sniffed BIGINT alone */
    assert_int_equal(tst_test_write_file(a, ta, strlen(ta)), 0);
    assert_int_equal(tst_test_write_file(b, tb, strlen(tb)), 0);
    const char *paths[] = {a, b};
    tst_append_result res;
    assert_tst_ok(tst_table_append_csv_files(f.t, paths, 2, NULL, NULL, &res));
    assert_int_equal(res.version, 2);
    assert_int_equal(res.rows, 2);
    assert_false(res.copied);
    assert_int_equal(tst_table_segment_count(f.t), 2);
    free(a);
    free(b);
    fixture_close(&f);
}

/* ---- cancellation ---------------------------------------------------------- */

static void a_token_requested_before_the_append_cancels_it(void **state)
{
    (void)state;
    fixture f;
    fixture_open(&f);
    tst_cancel *c = NULL;
    assert_tst_ok(tst_cancel_new(&c));
    assert_false(tst_cancel_requested(c));
    tst_cancel_request(c);
    assert_true(tst_cancel_requested(c));
    tst_append_options opts = TST_APPEND_OPTIONS_INIT;
    opts.cancel = c;
    assert_tst_fails(tst_table_append_parquet(f.t, f.days[0], &opts, NULL), TST_ECANCELLED);
    assert_non_null(strstr(tst_error_last()->message, "cancelled; nothing was written"));
    assert_int_equal(tst_table_version(f.t), 1);
    assert_int_equal(written_files(f.root), 0);
    tst_cancel_free(c);
    tst_cancel_request(NULL); /* ignored */
    tst_cancel_free(NULL);
    assert_false(tst_cancel_requested(NULL));
    assert_tst_fails(tst_cancel_new(NULL), TST_EINVAL);
    fixture_close(&f);
}

static void cancel_on_hook(void *ctx, unsigned attempt)
{
    (void)attempt;
    tst_cancel_request(ctx);
}

static void a_cancel_just_before_the_commit_removes_every_file(void **state)
{
    (void)state;
    fixture f;
    fixture_open(&f);
    tst_cancel *c = NULL;
    assert_tst_ok(tst_cancel_new(&c));
    tst_append_options opts = TST_APPEND_OPTIONS_INIT;
    opts.cancel = c;
    opts.reencode = true;
    tst_append_before_commit_hook = cancel_on_hook;
    tst_append_before_commit_ctx = c;
    const char *paths[] = {f.days[0], f.days[1]};
    int rc = tst_table_append_parquet_files(f.t, paths, 2, &opts, NULL);
    tst_append_before_commit_hook = NULL;
    assert_tst_fails(rc, TST_ECANCELLED);
    assert_int_equal(tst_table_version(f.t), 1);
    assert_int_equal(written_files(f.root), 0);
    tst_cancel_free(c);
    /* The table takes the same files afterwards. */
    assert_tst_ok(tst_table_append_parquet_files(f.t, paths, 2, NULL, NULL));
    fixture_close(&f);
}

typedef struct canceller {
    const char *data_dir;
    tst_cancel *token;
    bool saw_tmp;
} canceller;

static bool has_tmp(const char *dir)
{
    DIR *d = opendir(dir);
    bool found = false;
    for (struct dirent *e; d && (e = readdir(d)) != NULL;)
        found |= strstr(e->d_name, ".tmp") != NULL;
    if (d)
        closedir(d);
    return found;
}

/* Waits for the re-encode's temp file, then cancels from this thread. */
static void *cancel_when_writing(void *arg)
{
    canceller *c = arg;
    struct timespec ms = {0, 1000000L};
    for (int i = 0; i < 60000 && !c->saw_tmp; i++) {
        c->saw_tmp = has_tmp(c->data_dir);
        if (!c->saw_tmp)
            nanosleep(&ms, NULL);
    }
    tst_cancel_request(c->token);
    return NULL;
}

static void a_cancel_from_another_thread_interrupts_the_reencode(void **state)
{
    (void)state;
    fixture f;
    fixture_open(&f);
    /* 300k rows: long enough a re-encode that the other thread catches it. */
    char *csv = tst_test_path(f.dir, "big.csv");
    char sql[1024];
    snprintf(sql, sizeof sql,
             "COPY (SELECT TIMESTAMPTZ '2024-01-01 00:00:00+00' + INTERVAL (i // 30) HOUR AS ts, "
             "'S' || (i %% 30) AS symbol, i * 0.5 AS price FROM range(300000) t(i)) TO '%s' "
             "(HEADER true)", csv);
    tst_test_duck(sql);
    canceller c = {NULL, NULL, false};
    char *data = tst_test_path(f.root, "data/_managed/append"); /* protocol 7 appends */
    c.data_dir = data;
    assert_tst_ok(tst_cancel_new(&c.token));
    tst_append_options opts = TST_APPEND_OPTIONS_INIT;
    opts.cancel = c.token;
    pthread_t th;
    assert_int_equal(pthread_create(&th, NULL, cancel_when_writing, &c), 0);
    int rc = tst_table_append_csv(f.t, csv, NULL, &opts, NULL);
    pthread_join(th, NULL);
    assert_true(c.saw_tmp);
    assert_tst_fails(rc, TST_ECANCELLED);
    assert_int_equal(tst_table_version(f.t), 1);
    assert_int_equal(written_files(f.root), 0);
    tst_cancel_free(c.token);
    free(data);
    free(csv);
    fixture_close(&f);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(three_parquet_files_are_one_version_with_three_segments),
        cmocka_unit_test(files_covering_the_same_hours_are_refused_naming_both),
        cmocka_unit_test(a_file_the_table_already_covers_refuses_the_whole_batch),
        cmocka_unit_test(a_file_with_another_schema_refuses_the_whole_batch),
        cmocka_unit_test(invalid_arguments_are_einval),
        cmocka_unit_test(a_batch_that_loses_the_commit_race_rebases),
        cmocka_unit_test(a_lost_race_without_retries_removes_every_file),
        cmocka_unit_test(csv_files_are_one_commit_read_with_the_first_files_types),
        cmocka_unit_test(a_token_requested_before_the_append_cancels_it),
        cmocka_unit_test(a_cancel_just_before_the_commit_removes_every_file),
        cmocka_unit_test(a_cancel_from_another_thread_interrupts_the_reencode),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
