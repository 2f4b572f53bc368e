/*
 * test_delete_race.c — deletes while other processes append and optimize.
 *
 * Three deleters (each its own entity's segment, three rounds of four
 * hours each) and three appenders (new entities) start together. Every
 * delete rebases over the others' commits: none fails or is lost, every
 * version is one commit, the rows are the initial ones less the deleted and
 * plus the appended ones, each deleted hour is a gap, and the snapshot is
 * the union of the live segments' sidecars. Then a deleter and an optimizer
 * race on the same mixed segment, round after round: each either commits or
 * gets TST_ECONFLICT with nothing left behind, and the table holds exactly
 * what the winners' commits say.
 */
#include "process_support.h"

#include "sidecar.h"
#include "table_internal.h"
#include "tstable/append.h"
#include "tstable/delete.h"
#include "tstable/optimize.h"
#include "tstable/session.h"
#include "tstable/table.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define N 3      /* deleters, appenders */
#define ROUNDS 3 /* operations each */
#define NVDA_CSV TST_SOURCE_DIR "/examples/data/nvda_1h_sample.csv"

/* Day d of the sample as the symbols (a comma-separated SQL list of literals), as Parquet. */
static char *rows_file(const char *dir, const char *name, const char *symbols, int d)
{
    char sql[2048];
    char *path = tst_test_path(dir, name);
    snprintf(sql, sizeof sql, "COPY (SELECT * REPLACE (s.symbol AS symbol) FROM read_csv('%s') "
             "CROSS JOIN (SELECT unnest([%s]) AS symbol) s WHERE ts >= TIMESTAMPTZ '2024-06-01' "
             "+ INTERVAL %d DAY AND ts < TIMESTAMPTZ '2024-06-01' + INTERVAL %d DAY) TO '%s' "
             "(FORMAT parquet)", NVDA_CSV, symbols, d, d + 1, path);
    tst_test_duck_in_child(sql);
    return path;
}

/* Deletes hours [h0, h0 + 4) of day 0 of `sym`. */
static int delete_once(const char *root, const char *sym, int h0, bool conflict_ok)
{
    tst_table *t = NULL;
    int rc = tst_table_open(&t, root);
    tst_entity_binding b = tst_test_symbol(sym);
    tst_delete_target tg;
    memset(&tg, 0, sizeof tg);
    tg.entity = &b;
    tg.entity_count = 1;
    tg.start = tst_index_value_timestamp(1717200000LL + 3600LL * h0, 0); /* 2024-06-01 */
    tg.end = tst_index_value_timestamp(1717200000LL + 3600LL * (h0 + 4), 0);
    tst_delete_options o = TST_DELETE_OPTIONS_INIT;
    o.max_attempts = 100;
    tst_delete_report rep;
    if (rc == 0)
        rc = tst_table_delete_rows(t, &tg, 1, &o, &rep);
    if (rc == 0 && rep.rows_deleted != 4)
        rc = -100;
    if (rc != 0 && !(conflict_ok && rc == TST_ECONFLICT))
        fprintf(stderr, "delete %s: %s\n", sym, tst_error_last()->message);
    tst_table_free(t);
    return rc;
}

/* The snapshot on disk is the union of the live segments' sidecars. */
static void assert_snapshot_is_union(const char *root)
{
    tst_table *t = NULL;
    assert_tst_ok(tst_table_open(&t, root));
    tst_table_cov snap = {0}, all = {0};
    assert_tst_ok(tst_table_load_coverage_strict(t, &snap));
    assert_tst_ok(tst_table_cov_new(&all, tst_table_index(t)));
    for (size_t i = 0; i < tst_table_segment_count(t); i++) {
        tst_table_cov one = {0};
        const tst_segment *seg = tst_table_segment_at(t, i);
        assert_tst_ok(tst_sidecar_read(root, seg->coverage_path, tst_table_index(t),
                                       tst_table_get_meta(t)->schema, &one));
        assert_tst_ok(tst_table_cov_union_inplace(&all, &one));
        tst_table_cov_clear(&one);
    }
    assert_true(tst_table_cov_equals(&snap, &all));
    tst_table_cov_clear(&snap);
    tst_table_cov_clear(&all);
    tst_table_free(t);
}

typedef struct jobs {
    const char *root;
    char *files[N][ROUNDS];
} jobs;

/* Job w < N deletes, job N + w appends: the number that succeeded, or 100 - code. */
static int run_job(int w, void *arg)
{
    const jobs *all = arg;
    for (int r = 0; r < ROUNDS; r++) {
        char sym[8];
        snprintf(sym, sizeof sym, "D%d", w);
        int rc = w < N ? delete_once(all->root, sym, 8 * r, false)
                       : tst_proc_append_once(all->root, all->files[w - N][r]);
        if (rc != 0)
            return 100 - rc;
    }
    return ROUNDS;
}

static void deletes_rebase_over_concurrent_appends(void **state)
{
    (void)state;
    char *base = tst_test_tmpdir("drace"), *src = tst_test_path(base, "src");
    char cmd[4200];
    snprintf(cmd, sizeof cmd, "mkdir -p '%s'", src);
    assert_int_equal(system(cmd), 0);
    char *root = tst_test_path(base, "t");
    tst_table_free(tst_test_create_symbol_table(root, 7));
    jobs all = {root, {{0}}};
    for (int w = 0; w < N; w++) {
        char name[32], sym[16];
        snprintf(name, sizeof name, "d%d.parquet", w);
        snprintf(sym, sizeof sym, "'D%d'", w);
        char *f = rows_file(src, name, sym, 0);
        assert_int_equal(tst_proc_append_once(root, f), 0);
        free(f);
        for (int r = 0; r < ROUNDS; r++) {
            snprintf(name, sizeof name, "a%d-%d.parquet", w, r);
            snprintf(sym, sizeof sym, "'A%d'", w);
            all.files[w][r] = rows_file(src, name, sym, r);
        }
    }
    int done[2 * N];
    tst_proc_run_gated(2 * N, run_job, &all, done);
    for (int w = 0; w < 2 * N; w++)
        assert_int_equal(done[w], ROUNDS);
    tst_table *t = NULL;
    assert_tst_ok(tst_table_open(&t, root));
    assert_int_equal(tst_table_version(t), 1 + N + 2 * N * ROUNDS);
    for (int w = 0; w < N; w++) { /* hours 0-3, 8-11, 16-19 of D<w> are gaps */
        char sym[8];
        snprintf(sym, sizeof sym, "D%d", w);
        tst_entity_binding b = tst_test_symbol(sym);
        for (int h = 0; h < 24; h++) {
            tst_index_value s = tst_index_value_timestamp(1717200000LL + 3600LL * h, 0);
            tst_index_value e = tst_index_value_timestamp(1717200000LL + 3600LL * (h + 1), 0);
            tst_coverage_counts c;
            assert_tst_ok(tst_table_coverage(t, &b, 1, &s, &e, &c));
            assert_int_equal(c.covered_buckets, (h % 8) >= 4);
        }
    }
    tst_table_free(t);
    assert_snapshot_is_union(root);
    char expect[64];
    snprintf(expect, sizeof expect, "%d|%d", N * 12 + N * ROUNDS * 24, N * 12 + N * ROUNDS * 24);
    tst_proc_assert_query(root, expect, "SELECT count(*) || '|' || count(DISTINCT (symbol, ts)) FROM t");
    for (int w = 0; w < N; w++)
        for (int r = 0; r < ROUNDS; r++)
            free(all.files[w][r]);
    free(root);
    free(src);
    tst_test_rmtree(base);
}

/* ---- a delete and an optimize of the same mixed segment -------------------------------- */

static int race_job(int w, void *arg)
{
    const char *root = arg;
    if (w == 0) {
        int rc = delete_once(root, "M0", 0, true);
        return rc == 0 ? 0 : rc == TST_ECONFLICT ? 1 : 10;
    }
    tst_table *t = NULL;
    tst_optimize_options o = TST_OPTIMIZE_OPTIONS_INIT;
    int rc = tst_table_open(&t, root);
    if (rc == 0)
        rc = tst_table_optimize(t, &o, NULL);
    if (rc != 0 && rc != TST_ECONFLICT)
        fprintf(stderr, "optimize: %s\n", tst_error_last()->message);
    tst_table_free(t);
    return rc == 0 ? 0 : rc == TST_ECONFLICT ? 1 : 10;
}

static void a_delete_and_an_optimize_of_one_segment_never_both_lose_rows(void **state)
{
    (void)state;
    char *base = tst_test_tmpdir("drace2"), *src = tst_test_path(base, "src");
    char cmd[4200];
    snprintf(cmd, sizeof cmd, "mkdir -p '%s'", src);
    assert_int_equal(system(cmd), 0);
    char *mixed = rows_file(src, "m.parquet", "'M0', 'M1'", 0);
    char *fixture = tst_test_path(base, "fixture"), *root = tst_test_path(base, "t");
    tst_table_free(tst_test_create_symbol_table(fixture, 7));
    assert_int_equal(tst_proc_append_once(fixture, mixed), 0);
    int outcomes[2][2] = {{0}};
    for (int round = 0; round < 6; round++) {
        tst_proc_copy_tree(fixture, root);
        int st[2];
        tst_proc_run_gated(2, race_job, root, st);
        assert_true(st[0] <= 1 && st[1] <= 1);
        assert_false(st[0] == 1 && st[1] == 1); /* someone wins */
        outcomes[st[0]][st[1]]++;
        /* the delete's four rows are gone exactly when it committed */
        tst_proc_assert_query(root, st[0] == 0 ? "44|44" : "48|48",
                     "SELECT count(*) || '|' || count(DISTINCT (symbol, ts)) FROM t");
        assert_snapshot_is_union(root);
        /* a conflicted delete leaves no file of its own behind */
        char *staged = tst_test_path(root, "data/_staged/delete-rewrite");
        if (st[0] == 1)
            assert_int_equal(tst_test_count_files(staged), 0);
        free(staged);
        tst_table *t = NULL;
        assert_tst_ok(tst_table_open(&t, root));
        assert_int_equal(tst_table_version(t), 2 + (st[0] == 0) + (st[1] == 0));
        tst_table_free(t);
    }
    print_message("delete/optimize outcomes: both %d, delete lost %d, optimize lost %d\n",
                  outcomes[0][0], outcomes[1][0], outcomes[0][1]);
    free(mixed);
    free(fixture);
    free(root);
    free(src);
    tst_test_rmtree(base);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(deletes_rebase_over_concurrent_appends),
        cmocka_unit_test(a_delete_and_an_optimize_of_one_segment_never_both_lose_rows),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
