/*
 * test_update_race.c — updates while other processes append and update.
 *
 * Three updaters (each its own segment) and three appenders (new entities)
 * start together. Every update rebases over the others' commits: none is
 * lost, every version is one commit, the rows are the initial ones plus the
 * appended ones, each updated key holds its new value once. A strict
 * updater racing an appender either commits or gets TST_ECONFLICT with
 * nothing written; its successful updates are exactly the values found.
 */
#include "process_support.h"

#include "tstable/append.h"
#include "tstable/session.h"
#include "tstable/table.h"
#include "tstable/update.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define N 3      /* updaters, appenders */
#define ROUNDS 3 /* operations each */
#define NVDA_CSV TST_SOURCE_DIR "/examples/data/nvda_1h_sample.csv"

/* Day d of the sample as symbol `sym`, as Parquet. */
static char *rows_file(const char *dir, const char *sym, int d)
{
    char name[64], sql[2048];
    snprintf(name, sizeof name, "%s-%d.parquet", sym, d);
    char *path = tst_test_path(dir, name);
    snprintf(sql, sizeof sql, "COPY (SELECT * REPLACE ('%s' AS symbol) FROM read_csv('%s') WHERE "
             "ts >= TIMESTAMPTZ '2024-06-01' + INTERVAL %d DAY AND ts < TIMESTAMPTZ "
             "'2024-06-01' + INTERVAL %d DAY) TO '%s' (FORMAT parquet)", sym, NVDA_CSV, d, d + 1,
             path);
    tst_test_duck_in_child(sql);
    return path;
}

/* close = -(round + 1) for `sym` at hour `round` of day 0. */
static char *update_file(const char *dir, const char *sym, int round)
{
    char name[64], sql[1024];
    snprintf(name, sizeof name, "u-%s-%d.parquet", sym, round);
    char *path = tst_test_path(dir, name);
    snprintf(sql, sizeof sql, "COPY (SELECT '%s' AS symbol, TIMESTAMPTZ '2024-06-01 00:00:00+00' "
             "+ INTERVAL %d HOUR AS ts, CAST(%d AS DOUBLE) AS close) TO '%s' (FORMAT parquet)",
             sym, round, -(round + 1), path);
    tst_test_duck_in_child(sql);
    return path;
}

static int update_once(const char *root, const char *file, bool strict)
{
    tst_table *t = NULL;
    int rc = tst_table_open(&t, root);
    tst_update_source src = {.parquet_path = file};
    tst_update_options o = TST_UPDATE_OPTIONS_INIT;
    o.max_attempts = 100;
    o.strict = strict;
    const char *const cols[] = {"close"};
    if (rc == 0) {
        o.expected_version = tst_table_version(t);
        rc = tst_table_update_rows(t, &src, cols, 1, &o, NULL);
    }
    if (rc != 0 && !(strict && rc == TST_ECONFLICT))
        fprintf(stderr, "update %s: %s\n", file, tst_error_last()->message);
    tst_table_free(t);
    return rc;
}

typedef struct job {
    char *files[ROUNDS];
    bool update, strict;
} job;

typedef struct jobs_of {
    const char *root;
    job *jobs;
} jobs_of;

/* Job w's operations, in its own child: the number that succeeded, or 100 +
 * the failing code. */
static int run_job(int w, void *arg)
{
    const jobs_of *all = arg;
    const job *j = &all->jobs[w];
    int ok = 0;
    for (int r = 0; r < ROUNDS; r++) {
        int rc = j->update ? update_once(all->root, j->files[r], j->strict)
                           : tst_proc_append_once(all->root, j->files[r]);
        if (rc == 0)
            ok++;
        else if (!(j->strict && rc == TST_ECONFLICT))
            return 100 - rc;
    }
    return ok;
}

/* Runs every job in its own process, all released at once; each exits with
 * the number of its operations that succeeded, or 100 + the failing code. */
static void run_jobs(const char *root, job *jobs, int n, int *done)
{
    jobs_of all = {root, jobs};
    tst_proc_run_gated(n, run_job, &all, done);
}

/* Under a fresh scratch folder *base: src/ for the source files, and the
 * table t (protocol 7) with day 0 of U0..U<N-1> appended. Returns its root. */
static char *make_table(const char *tag, char **base, char **src_out)
{
    *base = tst_test_tmpdir(tag);
    char *src = *src_out = tst_test_path(*base, "src");
    char cmd[4200];
    snprintf(cmd, sizeof cmd, "mkdir -p '%s'", src);
    assert_int_equal(system(cmd), 0);
    char *root = tst_test_path(*base, "t");
    tst_table_free(tst_test_create_symbol_table(root, 7));
    for (int w = 0; w < N; w++) {
        char sym[8];
        snprintf(sym, sizeof sym, "U%d", w);
        char *f = rows_file(src, sym, 0);
        assert_int_equal(tst_proc_append_once(root, f), 0);
        free(f);
    }
    return root;
}

static void free_jobs(job *jobs, int n)
{
    for (int w = 0; w < n; w++)
        for (int r = 0; r < ROUNDS; r++)
            free(jobs[w].files[r]);
}

static void updates_rebase_over_concurrent_appends_and_updates(void **state)
{
    (void)state;
    char *base = NULL, *src = NULL;
    char *root = make_table("urace", &base, &src);
    job jobs[2 * N];
    memset(jobs, 0, sizeof jobs);
    for (int w = 0; w < N; w++) {
        char upd[8], app[8];
        snprintf(upd, sizeof upd, "U%d", w);
        snprintf(app, sizeof app, "A%d", w);
        jobs[w].update = true;
        for (int r = 0; r < ROUNDS; r++) {
            jobs[w].files[r] = update_file(src, upd, r);
            jobs[N + w].files[r] = rows_file(src, app, r);
        }
    }
    int done[2 * N];
    run_jobs(root, jobs, 2 * N, done);
    for (int w = 0; w < 2 * N; w++)
        assert_int_equal(done[w], ROUNDS);
    tst_table *t = NULL;
    assert_tst_ok(tst_table_open(&t, root));
    assert_int_equal(tst_table_version(t), 1 + N + 2 * N * ROUNDS);
    tst_table_free(t);
    char expect[64];
    snprintf(expect, sizeof expect, "%d|%d|%d", 24 * N * (1 + ROUNDS), N * ROUNDS, -N * 6);
    tst_proc_assert_query(root, expect, "SELECT count(*) || '|' || count(*) FILTER (WHERE close < 0) || '|'"
                 " || CAST(sum(close) FILTER (WHERE close < 0) AS BIGINT) FROM t WHERE "
                 "(SELECT count(*) = count(DISTINCT (symbol, ts)) FROM t)");
    free_jobs(jobs, 2 * N);
    free(root);
    free(src);
    tst_test_rmtree(base);
}

static void a_strict_update_racing_appends_commits_or_conflicts(void **state)
{
    (void)state;
    char *base = NULL, *src = NULL;
    char *root = make_table("urstrict", &base, &src);
    job jobs[2];
    memset(jobs, 0, sizeof jobs);
    jobs[0].update = jobs[0].strict = true;
    for (int r = 0; r < ROUNDS; r++) {
        jobs[0].files[r] = update_file(src, "U0", r);
        jobs[1].files[r] = rows_file(src, "A0", r);
    }
    int done[2];
    run_jobs(root, jobs, 2, done);
    assert_int_equal(done[1], ROUNDS);
    assert_true(done[0] <= ROUNDS);
    tst_table *t = NULL;
    assert_tst_ok(tst_table_open(&t, root));
    assert_int_equal(tst_table_version(t), 1 + N + ROUNDS + (uint64_t)done[0]);
    tst_table_free(t);
    char expect[64];
    snprintf(expect, sizeof expect, "%d|%d", 24 * (N + ROUNDS), done[0]);
    tst_proc_assert_query(root, expect, "SELECT count(*) || '|' || count(*) FILTER (WHERE close < 0) "
                 "FROM t");
    /* No staged file of a conflicting attempt stays behind: one replacement per
     * committed update (a replaced replacement stays, for older versions). */
    char *rewrite = tst_test_path(root, "data/_staged/update-rewrite");
    assert_int_equal(tst_test_count_files(rewrite), done[0]);
    free(rewrite);
    free_jobs(jobs, 2);
    free(root);
    free(src);
    tst_test_rmtree(base);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(updates_rebase_over_concurrent_appends_and_updates),
        cmocka_unit_test(a_strict_update_racing_appends_commits_or_conflicts),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
