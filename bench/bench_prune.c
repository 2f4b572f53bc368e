/*
 * bench_prune.c — does a range query over a table of many segments cost
 * about what it costs over a table holding only the segment it needs?
 *
 *   bench_prune [--segments N] [--runs R] [--work DIR]
 *
 * Builds two tables under DIR (default $TMPDIR/bench_prune): "big", N
 * hourly segments (default 1,000; 60 one-minute rows each, symbol X), and
 * "one", only the segment of hour N/2. The segments come from one
 * partitioned COPY written by a private in-memory DuckDB (fixture only) and
 * go in through the public append API with TST_UNSAFE_NO_FSYNC=1.
 *
 * Then one session registers both, plus "files": a plain view over all of
 * big's data files (what SQL without pruning reads), and times, R times
 * each (default 50), interleaved so that drift hits all alike:
 *   Q(T) = SELECT count(*), avg(price) FROM T WHERE ts >= H AND ts < H + 1h
 * for T in big and one, with H the start of hour N/2 ("same range": the
 * view of big stays defined from one run to the next), and for big
 * alternating between hours N/2 and N/2+1 ("moving range": the view is
 * redefined on every run); then, in a loop of its own (a query that opens
 * every file slows the next one down), T = files. Reports the median
 * milliseconds and the ratios as markdown on stdout; progress on stderr.
 *
 * The sparse case (the coverage-bitmap check, prune.c): "sparse", N
 * backfill segments, segment K holding hours K and K + N only, so that
 * min/max of the segments around hour N + N/2 all meet it (N/2 of them)
 * while one segment holds rows there. Q(sparse) at that hour runs with the
 * bitmap check (default), then with TST_PRUNE_BITMAPS=0 (min/max only; in
 * a loop of its own, as it opens N/2 files); the
 * first statement of a fresh session (every sidecar read from disk) is
 * timed apart; and Q(big) runs both ways, alternately run by run, to show
 * what the check costs a table it cannot help.
 */
#include "tstable/append.h"
#include "tstable/error.h"
#include "tstable/session.h"
#include "tstable/table.h"

#include <dirent.h>
#include <stdbool.h>
#include <duckdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

static double now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

static int die(const char *what)
{
    fprintf(stderr, "bench_prune: %s: %s\n", what, tst_error_last()->message);
    exit(1);
}

/* hours/hour_id=K/data_0.parquet for K in 0..n-1, from a private DuckDB. */
static void write_hours(const char *dir, int n)
{
    duckdb_database db;
    duckdb_connection con;
    duckdb_result res;
    char sql[1024];
    snprintf(sql, sizeof sql,
             "COPY (SELECT TIMESTAMPTZ '2024-01-01 00:00:00+00' + INTERVAL (m) MINUTE AS ts, "
             "'X' AS symbol, CAST(100 + (m %% 97) / 10.0 AS DOUBLE) AS price, m // 60 AS hour_id "
             "FROM range(0, %d) r(m)) TO '%s/hours' (FORMAT parquet, PARTITION_BY (hour_id))",
             n * 60, dir);
    if (duckdb_open(NULL, &db) == DuckDBError || duckdb_connect(db, &con) == DuckDBError ||
        duckdb_query(con, "SET TimeZone = 'UTC'", &res) == DuckDBError) {
        fprintf(stderr, "bench_prune: cannot start DuckDB\n");
        exit(1);
    }
    duckdb_destroy_result(&res);
    if (duckdb_query(con, sql, &res) == DuckDBError) {
        fprintf(stderr, "bench_prune: %s\n", duckdb_result_error(&res));
        exit(1);
    }
    duckdb_destroy_result(&res);
    duckdb_disconnect(&con);
    duckdb_close(&db);
}

/* sparse/seg_id=K/data_0.parquet for K in 0..n-1: hours K and K + n. */
static void write_sparse(const char *dir, int n)
{
    duckdb_database db;
    duckdb_connection con;
    duckdb_result res;
    char sql[1024];
    snprintf(sql, sizeof sql,
             "COPY (SELECT TIMESTAMPTZ '2024-01-01 00:00:00+00' + INTERVAL (m) MINUTE AS ts, "
             "'X' AS symbol, CAST(100 + (m %% 97) / 10.0 AS DOUBLE) AS price, "
             "(m // 60) %% %d AS seg_id FROM range(0, %d) r(m) ORDER BY m) "
             "TO '%s/sparse_src' (FORMAT parquet, PARTITION_BY (seg_id))",
             n, 2 * n * 60, dir);
    if (duckdb_open(NULL, &db) == DuckDBError || duckdb_connect(db, &con) == DuckDBError ||
        duckdb_query(con, sql, &res) == DuckDBError) {
        fprintf(stderr, "bench_prune: cannot write the sparse segments\n");
        exit(1);
    }
    duckdb_destroy_result(&res);
    duckdb_disconnect(&con);
    duckdb_close(&db);
}

static tst_table *create_table(const char *root)
{
    static char *entity[] = {"symbol"};
    tst_index_spec spec;
    memset(&spec, 0, sizeof spec);
    spec.column = "ts";
    spec.entity_columns = entity;
    spec.entity_count = 1;
    spec.kind.type = TST_INDEX_TIMESTAMP;
    spec.kind.bucket.unit = TST_TIME_MINUTES;
    spec.kind.bucket.count = 1;
    tst_table *t = NULL;
    if (tst_table_create(&t, root, &spec) != 0)
        die("create");
    return t;
}

static void append_hour(tst_table *t, const char *dir, int hour)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/hours/hour_id=%d/data_0.parquet", dir, hour);
    if (tst_table_append_parquet(t, path, NULL, NULL) != 0)
        die(path);
}

static void build_sparse(const char *dir, int n)
{
    char root[4096], path[4096];
    snprintf(root, sizeof root, "%s/sparse", dir);
    struct stat st;
    if (stat(root, &st) == 0)
        return;
    double t0 = now_ms();
    write_sparse(dir, n);
    tst_table *t = create_table(root);
    for (int k = 0; k < n; k++) {
        snprintf(path, sizeof path, "%s/sparse_src/seg_id=%d/data_0.parquet", dir, k);
        if (tst_table_append_parquet(t, path, NULL, NULL) != 0)
            die(path);
    }
    tst_table_free(t);
    fprintf(stderr, "built %d sparse segments in %.1f s\n", n, (now_ms() - t0) / 1e3);
}

static void build(const char *dir, int n)
{
    char big[4096], one[4096];
    snprintf(big, sizeof big, "%s/big", dir);
    snprintf(one, sizeof one, "%s/one", dir);
    struct stat st;
    if (stat(big, &st) == 0 && stat(one, &st) == 0) {
        fprintf(stderr, "reusing the tables in %s\n", dir);
        return;
    }
    double t0 = now_ms();
    write_hours(dir, n);
    tst_table *t = create_table(big);
    for (int h = 0; h < n; h++) {
        append_hour(t, dir, h);
        if (h % 100 == 99)
            fprintf(stderr, "  %d segments (%.1f s)\n", h + 1, (now_ms() - t0) / 1e3);
    }
    tst_table_free(t);
    t = create_table(one);
    append_hour(t, dir, n / 2);
    tst_table_free(t);
    fprintf(stderr, "built %d + 1 segments in %.1f s\n", n, (now_ms() - t0) / 1e3);
}

static double run_once(tst_session *s, const char *table, int hour)
{
    /* Literal bounds: the planner reads literals, not arithmetic. */
    char sql[512];
    time_t base = 1704067200 + (time_t)hour * 3600;
    char lo[32], hi[32];
    time_t next = base + 3600;
    strftime(lo, sizeof lo, "%Y-%m-%d %H:%M:%S", gmtime(&base));
    strftime(hi, sizeof hi, "%Y-%m-%d %H:%M:%S", gmtime(&next));
    snprintf(sql, sizeof sql,
             "SELECT count(*), avg(price) FROM %s WHERE ts >= '%s' AND ts < '%s'", table, lo, hi);
    double t0 = now_ms();
    tst_rows *rows = NULL;
    if (tst_session_query_rows(s, sql, NULL, 0, &rows) != 0)
        die(sql);
    if (tst_rows_next(rows) != 1 || strcmp(tst_rows_value(rows, 0), "60") != 0) {
        fprintf(stderr, "bench_prune: %s: expected 60 rows\n", sql);
        exit(1);
    }
    tst_rows_free(rows);
    return now_ms() - t0;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

static double median(double *v, int n)
{
    qsort(v, (size_t)n, sizeof *v, cmp_double);
    return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

static tst_session *session_with(const char *dir, const char *name)
{
    tst_session *s = NULL;
    char path[4096];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    if (tst_session_open(&s) != 0 || tst_session_register_table(s, name, path) != 0)
        die(path);
    return s;
}

/* Median ms of Q(name) at `hour`, bitmap check on or off, and its stats. */
static double timed(tst_session *s, const char *name, int hour, bool bitmaps, int runs,
                    tst_prune_stats *st)
{
    setenv("TST_PRUNE_BITMAPS", bitmaps ? "1" : "0", 1);
    double *v = calloc((size_t)runs, sizeof *v);
    run_once(s, name, hour); /* warm-up */
    for (int i = 0; i < runs; i++)
        v[i] = run_once(s, name, hour);
    tst_session_last_prune(s, st);
    double m = median(v, runs);
    free(v);
    return m;
}

/* Median ms of Q(name) at `hour` with the bitmap check on and off,
 * interleaved run by run so that load on the machine hits both alike. */
static void timed_pair(tst_session *s, const char *name, int hour, int runs, double *on,
                       double *off, tst_prune_stats *st_on, tst_prune_stats *st_off)
{
    double *a = calloc((size_t)runs, sizeof *a), *b = calloc((size_t)runs, sizeof *b);
    for (int i = -1; i < runs; i++) { /* i = -1: warm-up */
        setenv("TST_PRUNE_BITMAPS", "1", 1);
        double x = run_once(s, name, hour);
        tst_session_last_prune(s, st_on);
        setenv("TST_PRUNE_BITMAPS", "0", 1);
        double y = run_once(s, name, hour);
        tst_session_last_prune(s, st_off);
        if (i >= 0)
            a[i] = x, b[i] = y;
    }
    *on = median(a, runs), *off = median(b, runs);
    free(a), free(b);
}

static void print_row(const char *what, const tst_prune_stats *st, double ms)
{
    printf("| %s | %llu / %llu | %llu | %llu | %.2f |\n", what,
           (unsigned long long)st->kept_segments, (unsigned long long)st->candidate_segments,
           (unsigned long long)st->range_skipped_segments,
           (unsigned long long)st->bitmap_skipped_segments, ms);
}

static void sparse_bench(const char *dir, int n, int runs)
{
    build_sparse(dir, n);
    int h = n + n / 2;
    tst_prune_stats st;
    /* A fresh session: the first statement reads the sidecars. */
    tst_session *s = session_with(dir, "sparse");
    setenv("TST_PRUNE_BITMAPS", "1", 1);
    double cold = run_once(s, "sparse", h);
    tst_session_last_prune(s, &st);
    printf("\n| sparse case, query over | kept / candidates | skipped by range | by bitmap | "
           "median ms |\n|---|---|---:|---:|---:|\n");
    print_row("`sparse`, first statement of a session (sidecars read)", &st, cold);
    /* Apart, bitmap runs first: a query that opens 500 files slows the one
     * after it (see "files"). */
    double on = timed(s, "sparse", h, true, runs, &st);
    print_row("`sparse`, bitmap check (sidecars cached)", &st, on);
    double off = timed(s, "sparse", h, false, runs, &st);
    print_row("`sparse`, min/max only (TST_PRUNE_BITMAPS=0)", &st, off);
    tst_prune_stats st_off;
    tst_session_free(s);
    s = session_with(dir, "big");
    timed_pair(s, "big", n / 2, runs, &on, &off, &st, &st_off);
    print_row("`big` (dense), bitmap check", &st, on);
    print_row("`big` (dense), min/max only", &st_off, off);
    tst_session_free(s);
    unsetenv("TST_PRUNE_BITMAPS");
    printf("\nsparse: %d segments, segment K holds hours K and %d + K; runs: %d each "
           "(big: on and off alternately); medians.\n", n, n, runs);
}

int main(int argc, char **argv)
{
    int n = 1000, runs = 50;
    char dir[4096];
    snprintf(dir, sizeof dir, "%s/bench_prune", getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp");
    for (int i = 1; i + 1 < argc; i += 2) {
        if (strcmp(argv[i], "--segments") == 0)
            n = atoi(argv[i + 1]);
        else if (strcmp(argv[i], "--runs") == 0)
            runs = atoi(argv[i + 1]);
        else if (strcmp(argv[i], "--work") == 0)
            snprintf(dir, sizeof dir, "%s", argv[i + 1]);
    }
    if (n < 2 || runs < 1) {
        fprintf(stderr, "usage: bench_prune [--segments N>=2] [--runs R] [--work DIR]\n");
        return 2;
    }
    mkdir(dir, 0755);
    setenv("TST_UNSAFE_NO_FSYNC", "1", 1);
    build(dir, n);

    tst_session *s = NULL;
    char path[4096];
    if (tst_session_open(&s) != 0)
        die("session");
    snprintf(path, sizeof path, "%s/big", dir);
    if (tst_session_register_table(s, "big", path) != 0)
        die("register big");
    snprintf(path, sizeof path, "%s/one", dir);
    if (tst_session_register_table(s, "one", path) != 0)
        die("register one");
    snprintf(path, sizeof path, "%s/big/data/**/*.parquet", dir);
    if (tst_session_register_parquet(s, "files", path) != 0)
        die("register files");

    double *big = calloc((size_t)runs, sizeof *big), *one = calloc((size_t)runs, sizeof *one);
    double *moving = calloc((size_t)runs, sizeof *moving);
    double *files = calloc((size_t)runs, sizeof *files);
    int h = n / 2;
    run_once(s, "big", h), run_once(s, "one", h), run_once(s, "files", h); /* warm-up */
    for (int i = 0; i < runs; i++) {
        big[i] = run_once(s, "big", h);
        one[i] = run_once(s, "one", h);
        moving[i] = run_once(s, "big", h + (i % 2));
    }
    /* Apart: a query that opens 1,000 files slows the one after it. */
    for (int i = 0; i < runs; i++)
        files[i] = run_once(s, "files", h);
    tst_prune_stats st;
    run_once(s, "big", h);
    tst_session_last_prune(s, &st);
    double mb = median(big, runs), mo = median(one, runs), mm = median(moving, runs);
    double mf = median(files, runs);
    printf("| query over | segments kept / candidates | median ms | vs one-segment table |\n");
    printf("|---|---|---:|---:|\n");
    printf("| `one` (1 segment) | 1 / 1 | %.2f | 1.00x |\n", mo);
    printf("| `big` (%d segments), same range | %llu / %llu | %.2f | %.2fx |\n", n,
           (unsigned long long)st.kept_segments, (unsigned long long)st.candidate_segments, mb,
           mb / mo);
    printf("| `big`, moving range (view redefined) | 1 / %d | %.2f | %.2fx |\n", n, mm, mm / mo);
    printf("| `files` (read_parquet of all %d files, no pruning) | - | %.2f | %.2fx |\n", n, mf,
           mf / mo);
    printf("\nruns: %d each, interleaved; medians.\n", runs);
    free(big), free(one), free(moving), free(files);
    tst_session_free(s);
    sparse_bench(dir, n, runs);
    return 0;
}
