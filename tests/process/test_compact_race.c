/*
 * test_compact_race.c — compaction while other processes append and compact.
 *
 * A table holds six days of three symbols, one segment each (18). One
 * compactor and three appenders (new symbols, three days each) start
 * together: every append commits, the compaction rebases over them and
 * commits, and the rows are the initial ones plus the appended ones, each
 * (symbol, ts) once. Two compactors started together: one commits; the
 * other finds its inputs removed (TST_ECONFLICT) or, started later, a
 * compact table (a no-op); the files of the loser are gone.
 */
#include "process_support.h"

#include "tstable/append.h"
#include "tstable/optimize.h"
#include "tstable/session.h"
#include "tstable/table.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define SYMBOLS 3
#define DAYS 6
#define APPENDERS 3
#define ROUNDS 3
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

/* 0 committed, 1 no-op, 2 conflict, 100 + code otherwise. */
static int compact_once(const char *root)
{
    tst_table *t = NULL;
    int rc = tst_table_open(&t, root);
    tst_optimize_options opts = TST_OPTIMIZE_OPTIONS_INIT;
    opts.mode = TST_OPTIMIZE_COMPACT;
    opts.max_attempts = 100;
    tst_optimize_report rep;
    memset(&rep, 0, sizeof rep);
    if (rc == 0)
        rc = tst_table_optimize(t, &opts, &rep);
    if (rc != 0 && rc != TST_ECONFLICT)
        fprintf(stderr, "compact: %s\n", tst_error_last()->message);
    tst_table_free(t);
    return rc == 0 ? (rep.no_op ? 1 : 0) : rc == TST_ECONFLICT ? 2 : 100 - rc;
}

typedef struct race {
    const char *root;
    char *files[APPENDERS][ROUNDS];
    int compactors; /* jobs 0..compactors-1 compact, the rest append */
} race;

static int run_job(int w, void *arg)
{
    const race *r = arg;
    if (w < r->compactors)
        return compact_once(r->root);
    for (int k = 0; k < ROUNDS; k++)
        if (tst_proc_append_once(r->root, r->files[w - r->compactors][k]) != 0)
            return 100;
    return 0;
}

/* The table: symbols C0..C2, days 0..5, one segment each (version 1 + 18). */
static char *make_table(const char *tag, char **base, char **src_out)
{
    *base = tst_test_tmpdir(tag);
    char *src = *src_out = tst_test_path(*base, "src");
    char cmd[4200];
    snprintf(cmd, sizeof cmd, "mkdir -p '%s'", src);
    assert_int_equal(system(cmd), 0);
    char *root = tst_test_path(*base, "t");
    tst_table_free(tst_test_create_symbol_table(root, 7));
    for (int s = 0; s < SYMBOLS; s++)
        for (int d = 0; d < DAYS; d++) {
            char sym[8];
            snprintf(sym, sizeof sym, "C%d", s);
            char *f = rows_file(src, sym, d);
            assert_int_equal(tst_proc_append_once(root, f), 0);
            free(f);
        }
    return root;
}

static uint64_t version_of(const char *root, size_t *segments)
{
    tst_table *t = NULL;
    assert_int_equal(tst_table_open(&t, root), 0);
    uint64_t v = tst_table_version(t);
    *segments = tst_table_segment_count(t);
    tst_table_free(t);
    return v;
}

static void a_compaction_rebases_over_concurrent_appends(void **state)
{
    (void)state;
    char *base = NULL, *src = NULL;
    char *root = make_table("crace", &base, &src);
    race r = {.root = root, .compactors = 1};
    for (int a = 0; a < APPENDERS; a++)
        for (int k = 0; k < ROUNDS; k++) {
            char sym[8];
            snprintf(sym, sizeof sym, "A%d", a);
            r.files[a][k] = rows_file(src, sym, k);
        }
    int done[1 + APPENDERS];
    tst_proc_run_gated(1 + APPENDERS, run_job, &r, done);
    assert_int_equal(done[0], 0); /* committed */
    for (int a = 0; a < APPENDERS; a++)
        assert_int_equal(done[1 + a], 0);
    size_t segments = 0;
    assert_int_equal(version_of(root, &segments), 1 + SYMBOLS * DAYS + APPENDERS * ROUNDS + 1);
    /* C0..C2 merged into one segment each; what it saw of the appends too. */
    assert_true(segments >= SYMBOLS && segments <= SYMBOLS + APPENDERS * ROUNDS);
    char expect[64];
    snprintf(expect, sizeof expect, "%d|true", 24 * (SYMBOLS * DAYS + APPENDERS * ROUNDS));
    tst_proc_assert_query(root, expect, "SELECT count(*) || '|' || (count(*) = count(DISTINCT (symbol, ts)))"
                 " FROM t");
    for (int a = 0; a < APPENDERS; a++)
        for (int k = 0; k < ROUNDS; k++)
            free(r.files[a][k]);
    free(root);
    free(src);
    tst_test_rmtree(base);
}

static void of_two_racing_compactions_one_commits_and_the_other_leaves_nothing(void **state)
{
    (void)state;
    char *base = NULL, *src = NULL;
    char *root = make_table("crace2", &base, &src);
    race r = {.root = root, .compactors = 2};
    int done[2];
    tst_proc_run_gated(2, run_job, &r, done);
    assert_true((done[0] == 0 && (done[1] == 1 || done[1] == 2)) ||
                (done[1] == 0 && (done[0] == 1 || done[0] == 2)));
    size_t segments = 0;
    assert_int_equal(version_of(root, &segments), 1 + SYMBOLS * DAYS + 1);
    assert_int_equal(segments, SYMBOLS);
    /* The winner's three outputs; nothing of the loser's. */
    char *staged = tst_test_path(root, "data/_staged/entity-rewrite");
    assert_int_equal(tst_test_count_files(staged), SYMBOLS);
    free(staged);
    char *sidecars = tst_test_path(root, "_coverage/segments");
    assert_int_equal(tst_test_count_files(sidecars), SYMBOLS * DAYS + SYMBOLS);
    free(sidecars);
    char expect[64];
    snprintf(expect, sizeof expect, "%d", 24 * SYMBOLS * DAYS);
    tst_proc_assert_query(root, expect, "SELECT count(*) FROM t");
    free(root);
    free(src);
    tst_test_rmtree(base);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(a_compaction_rebases_over_concurrent_appends),
        cmocka_unit_test(of_two_racing_compactions_one_commits_and_the_other_leaves_nothing),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
