/*
 * test_vacuum_race.c — vacuum with a tiny retention while other processes
 * append and optimize.
 *
 * Three appenders (each their own two symbols, one mixed file per round,
 * pausing a random 0.15-0.3 s between rounds),
 * one optimizer (splitting the mixed segments again and again) and one
 * vacuumer (apply, retention 3 seconds, explicitly allowed) run together
 * until the appenders are done; then the vacuumer runs once more. The
 * retention is still longer than any write takes here, which is the
 * contract vacuum relies on. Afterwards, for every version from the
 * marker's oldest readable one to the head: it loads, every file it names
 * exists, and reading its segment files with DuckDB gives as many rows as
 * its log says; every commit replays; every append committed. The vacuumer
 * must have deleted files while the others ran (superseded snapshots and
 * the optimized-away mixed segments), or the test proves nothing.
 */
#include "process_support.h"

#include "history.h"
#include "state_at.h"
#include "tstable/append.h"
#include "tstable/error.h"
#include "tstable/optimize.h"
#include "tstable/vacuum.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define APPENDERS 3
#define ROUNDS 16
#define RETENTION_SECONDS 3
#define NVDA_CSV TST_SOURCE_DIR "/examples/data/nvda_1h_sample.csv"

static char *files[APPENDERS][ROUNDS];

/* Day 0 of the sample shifted by `day` days, as symbols W<w>A and W<w>B (mixed). */
static char *mixed_file(const char *dir, int w, int day)
{
    char name[64], rows[1024], sql[4096];
    snprintf(name, sizeof name, "w%d-%d.parquet", w, day);
    char *path = tst_test_path(dir, name);
    snprintf(rows, sizeof rows, "SELECT * REPLACE (ts + INTERVAL %d DAY AS ts) FROM read_csv('%s')"
             " WHERE ts < TIMESTAMPTZ '2024-06-02'", day, NVDA_CSV);
    snprintf(sql, sizeof sql, "COPY (SELECT * REPLACE ('W%dA' AS symbol) FROM (%s) UNION ALL "
             "SELECT * REPLACE ('W%dB' AS symbol) FROM (%s)) TO '%s' (FORMAT parquet)", w, rows,
             w, rows, path);
    tst_test_duck_in_child(sql);
    return path;
}

static int appender(const char *root, int w)
{
    tst_table *t = NULL;
    if (tst_table_open(&t, root) != 0)
        return 100;
    int ok = 0;
    srand((unsigned)getpid()); /* each run interleaves differently */
    for (int r = 0; r < ROUNDS; r++) {
        tst_append_options o = TST_APPEND_OPTIONS_INIT;
        o.max_attempts = 200;
        int rc = tst_table_append_parquet(t, files[w][r], &o, NULL);
        if (rc == 0)
            ok++;
        else
            fprintf(stderr, "appender %d round %d: %s\n", w, r, tst_error_last()->message);
        usleep(150000 + (useconds_t)(rand() % 150000));
    }
    tst_table_free(t);
    return ok;
}

static int optimizer(const char *root)
{
    int done = 0;
    for (int i = 0; i < 6; i++) {
        tst_table *t = NULL;
        if (tst_table_open(&t, root) != 0)
            return 100;
        tst_optimize_report r;
        int rc = tst_table_optimize(t, NULL, &r);
        if (rc == 0 && !r.no_op)
            done++;
        else if (rc != 0 && rc != TST_ECONFLICT) {
            fprintf(stderr, "optimizer: %s\n", tst_error_last()->message);
            tst_table_free(t);
            return 101;
        }
        tst_table_free(t);
        usleep(300000);
    }
    return done;
}

static int vacuum_once(const char *root, uint64_t *deleted)
{
    tst_table *t = NULL;
    int rc = tst_table_open(&t, root);
    struct timespec now;
    clock_gettime(CLOCK_REALTIME, &now);
    tst_vacuum_options o = TST_VACUUM_OPTIONS_INIT;
    o.older_than = (tst_timestamp){(int64_t)now.tv_sec - RETENTION_SECONDS, (uint32_t)now.tv_nsec};
    o.apply = true;
    o.allow_short_retention = true;
    tst_vacuum_report r;
    if (rc == 0)
        rc = tst_table_vacuum(t, &o, &r);
    if (rc == 0)
        *deleted += r.deleted_files;
    else
        fprintf(stderr, "vacuum: %s\n", tst_error_last()->message);
    tst_vacuum_report_clear(&r);
    tst_table_free(t);
    return rc;
}

/* Vacuums until `done` exists, then once more; writes what it deleted, in
 * total and while the others ran, to `out`. */
static int vacuumer(const char *root, const char *done, const char *out)
{
    uint64_t during = 0, total = 0;
    int runs = 0;
    while (!tst_test_exists(done)) {
        if (vacuum_once(root, &during) != 0)
            return 102;
        runs++;
        usleep(200000);
    }
    total = during;
    if (vacuum_once(root, &total) != 0)
        return 102;
    char text[128];
    int n = snprintf(text, sizeof text, "%llu %llu %d", (unsigned long long)during,
                     (unsigned long long)total, runs);
    return tst_test_write_file(out, text, (size_t)n) == 0 ? 0 : 103;
}

static pid_t spawn(int (*body)(void *), void *arg)
{
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0)
        _exit(body(arg));
    return pid;
}

typedef struct job {
    const char *root, *done, *out;
    int w;
} job;

static int run_appender(void *a) { return appender(((job *)a)->root, ((job *)a)->w); }
static int run_optimizer(void *a) { return optimizer(((job *)a)->root); }
static int run_vacuumer(void *a)
{
    job *j = a;
    return vacuumer(j->root, j->done, j->out);
}

static int seed_append(tst_table *t, void *arg)
{
    return tst_table_append_parquet(t, arg, NULL, NULL);
}

/* Reading version v's segment files gives the rows its log says. */
static void assert_version_scans(const char *root, uint64_t v)
{
    tst_state st;
    assert_int_equal(tst_state_load_at(&st, root, v), 0);
    if (st.segment_count == 0) {
        tst_state_clear(&st);
        return;
    }
    size_t cap = 64 + st.segment_count * (strlen(root) + 128);
    char *list = malloc(cap);
    size_t len = 0;
    uint64_t rows = 0;
    for (size_t i = 0; i < st.segment_count; i++) {
        len += (size_t)snprintf(list + len, cap - len, "%s'%s/%s'", i ? "," : "", root,
                                st.segments[i].path);
        rows += st.segments[i].row_count;
    }
    char expected[32];
    snprintf(expected, sizeof expected, "%llu", (unsigned long long)rows);
    tst_test_assert_sql(expected, "SELECT count(*) FROM read_parquet([%s])", list);
    free(list);
    tst_state_clear(&st);
}

static void vacuum_racing_appends_and_optimizes_keeps_every_retained_version_readable(void **s)
{
    (void)s;
    char *base = tst_test_tmpdir("vrace");
    char *root = tst_test_path(base, "table");
    char *done = tst_test_path(base, "done");
    char *out = tst_test_path(base, "vacuumed");
    for (int w = 0; w < APPENDERS; w++)
        for (int r = 0; r < ROUNDS; r++)
            files[w][r] = mixed_file(base, w, r);
    char *seed = mixed_file(base, 9, 40);
    tst_table_free(tst_test_create_symbol_table(root, 0));
    assert_int_equal(tst_proc_run_crashing(root, 0, seed_append, seed), 0);

    job jobs[APPENDERS + 2];
    pid_t pids[APPENDERS + 2];
    for (int i = 0; i < APPENDERS + 2; i++)
        jobs[i] = (job){root, done, out, i};
    pids[APPENDERS + 1] = spawn(run_vacuumer, &jobs[APPENDERS + 1]);
    for (int w = 0; w < APPENDERS; w++)
        pids[w] = spawn(run_appender, &jobs[w]);
    pids[APPENDERS] = spawn(run_optimizer, &jobs[APPENDERS]);
    for (int w = 0; w < APPENDERS; w++)
        assert_int_equal(tst_proc_wait(pids[w]), ROUNDS); /* every append committed */
    int optimized = tst_proc_wait(pids[APPENDERS]);
    assert_true(optimized >= 1 && optimized < 100);
    tst_test_put(base, "done", "");
    assert_int_equal(tst_proc_wait(pids[APPENDERS + 1]), 0);

    char *text = NULL;
    assert_int_equal(tst_test_read_file(out, &text, NULL), 0);
    unsigned long long during = 0, total = 0;
    int runs = 0;
    assert_int_equal(sscanf(text, "%llu %llu %d", &during, &total, &runs), 3);
    free(text);
    tst_vacuum_marker m;
    assert_int_equal(tst_history_read_marker(root, &m), 0);
    uint64_t head = tst_proc_assert_versions_whole(root, m.oldest_readable_version);
    assert_int_equal(tst_proc_assert_replay_reads(root), head);
    print_message("%d optimizes, %d vacuums deleted %llu files while the others ran (%llu in "
                  "all); versions %llu..%llu retained\n", optimized, runs, during, total,
                  (unsigned long long)m.oldest_readable_version, (unsigned long long)head);
    assert_true(during > 0);
    assert_true(m.oldest_readable_version > 1);
    /* The parent starts DuckDB only now: no fork follows. */
    for (uint64_t v = m.oldest_readable_version; v <= head; v++)
        assert_version_scans(root, v);
    char *count = tst_test_table_value(root, "SELECT count(*) FROM t");
    char want[32];
    snprintf(want, sizeof want, "%d", (APPENDERS * ROUNDS + 1) * 48);
    assert_string_equal(count, want);
    free(count);

    for (int w = 0; w < APPENDERS; w++)
        for (int r = 0; r < ROUNDS; r++)
            free(files[w][r]);
    free(seed);
    free(root);
    free(done);
    free(out);
    tst_test_rmtree(base);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(vacuum_racing_appends_and_optimizes_keeps_every_retained_version_readable),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
