/*
 * bench_plan.c — what a statement over a registered table costs beyond
 * DuckDB over the same raw files, and how that grows with the number of
 * segments (issue 14: "queries <= 0.8x DuckDB over the raw files at >= 100
 * segments, flat in the number of segments").
 *
 *   bench_plan [--segments 100,1000,10000] [--runs R] [--work DIR]
 *
 * For each N: a table of N daily segments (24 hourly rows of symbols X and
 * Y each), written as one partitioned COPY by a private in-memory DuckDB
 * (fixture only; these day_id=K/data_0.parquet files are "the raw files")
 * and appended through the public API with TST_UNSAFE_NO_FSYNC=1. Then, in
 * one process (no start-up counted), median ms over R runs, interleaved so
 * that drift hits all alike, of
 *   Q7  SELECT symbol, count(*), avg(price) FROM T
 *         WHERE ts >= D AND ts < D + 7 days GROUP BY symbol   (7-day aggregate)
 *   Q1  SELECT count(*), avg(price) FROM T
 *         WHERE ts >= D 10:00 AND ts < D 11:00                 (one-day point query)
 * with D the day N/2, for T =
 *   tstable   the registered table (session.c: prune, define the view, run)
 *   list      DuckDB: read_parquet([all N raw files]) (a view, in its own database)
 *   glob      DuckDB: read_parquet('.../day_id=*' + '/data_0.parquet')
 *   needed    DuckDB: read_parquet([the raw files the range needs]) — the floor
 * and the session's registration (open + register) time. tstable and
 * needed alternate run by run; list and glob, which open every file, run
 * afterwards in a loop of their own (5 runs from 5,000 segments on): a
 * query that opens every file slows whatever runs next in the process.
 * Markdown on stdout, progress on stderr.
 */
#include "tstable/append.h"
#include "tstable/error.h"
#include "tstable/session.h"
#include "tstable/table.h"

#include <duckdb.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#define DAY0 1577836800L /* 2020-01-01 UTC */

static double now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

static void die(const char *what)
{
    fprintf(stderr, "bench_plan: %s: %s\n", what, tst_error_last()->message);
    exit(1);
}

static void duck(duckdb_connection con, const char *sql)
{
    duckdb_result res;
    if (duckdb_query(con, sql, &res) == DuckDBError) {
        fprintf(stderr, "bench_plan: %s: %s\n", sql, duckdb_result_error(&res));
        exit(1);
    }
    duckdb_destroy_result(&res);
}

/* days_N/src/day_id=K/data_0.parquet, then the table days_N/table. */
static void build(const char *dir, int n)
{
    char root[4096], sql[2048], path[4096];
    snprintf(root, sizeof root, "%s/days_%d/table", dir, n);
    struct stat st;
    if (stat(root, &st) == 0) {
        fprintf(stderr, "reusing %s\n", root);
        return;
    }
    double t0 = now_ms();
    snprintf(path, sizeof path, "%s/days_%d", dir, n);
    mkdir(path, 0755);
    duckdb_database db;
    duckdb_connection con;
    if (duckdb_open(NULL, &db) == DuckDBError || duckdb_connect(db, &con) == DuckDBError)
        exit(1);
    duck(con, "SET TimeZone = 'UTC'");
    snprintf(sql, sizeof sql,
             "COPY (SELECT TIMESTAMPTZ '2020-01-01 00:00:00+00' + INTERVAL (h) HOUR AS ts, s AS "
             "symbol, CAST(100 + (h %% 97) / 10.0 AS DOUBLE) AS price, h // 24 AS day_id "
             "FROM range(0, %d) r(h), (VALUES ('X'), ('Y')) v(s) ORDER BY ts, symbol) "
             "TO '%s/days_%d/src' (FORMAT parquet, PARTITION_BY (day_id))",
             n * 24, dir, n);
    duck(con, sql);
    duckdb_disconnect(&con);
    duckdb_close(&db);
    static char *entity[] = {"symbol"};
    tst_index_spec spec;
    memset(&spec, 0, sizeof spec);
    spec.column = "ts";
    spec.entity_columns = entity;
    spec.entity_count = 1;
    spec.kind.type = TST_INDEX_TIMESTAMP;
    spec.kind.bucket.unit = TST_TIME_HOURS;
    spec.kind.bucket.count = 1;
    tst_table *t = NULL;
    if (tst_table_create(&t, root, &spec) != 0)
        die("create");
    for (int k = 0; k < n; k++) {
        snprintf(path, sizeof path, "%s/days_%d/src/day_id=%d/data_0.parquet", dir, n, k);
        if (tst_table_append_parquet(t, path, NULL, NULL) != 0)
            die(path);
        if (k % 1000 == 999)
            fprintf(stderr, "  %d segments (%.1f s)\n", k + 1, (now_ms() - t0) / 1e3);
    }
    tst_table_free(t);
    fprintf(stderr, "built %d segments in %.1f s\n", n, (now_ms() - t0) / 1e3);
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

static void day_text(char *buf, size_t cap, long day, int hour)
{
    time_t t = DAY0 + day * 86400 + hour * 3600;
    strftime(buf, cap, "%Y-%m-%d %H:%M:%S+00", gmtime(&t));
}

/* Q7 (week) or Q1 over `from`, as SQL. */
static void query_sql(char *buf, size_t cap, bool week, const char *from, long day)
{
    char lo[40], hi[40];
    day_text(lo, sizeof lo, day, week ? 0 : 10);
    day_text(hi, sizeof hi, week ? day + 7 : day, week ? 0 : 11);
    if (week)
        snprintf(buf, cap,
                 "SELECT symbol, count(*), avg(price) FROM %s WHERE ts >= '%s' AND ts < '%s' "
                 "GROUP BY symbol ORDER BY symbol",
                 from, lo, hi);
    else
        snprintf(buf, cap,
                 "SELECT count(*), avg(price) FROM %s WHERE ts >= '%s' AND ts < '%s'", from, lo,
                 hi);
}

static double time_session(tst_session *s, const char *sql, const char *want)
{
    double t0 = now_ms();
    tst_rows *rows = NULL;
    if (tst_session_query_rows(s, sql, NULL, 0, &rows) != 0)
        die(sql);
    if (tst_rows_next(rows) != 1 || strcmp(tst_rows_value(rows, 0), want) != 0) {
        fprintf(stderr, "bench_plan: %s: expected %s first\n", sql, want);
        exit(1);
    }
    while (tst_rows_next(rows) == 1) {
    }
    tst_rows_free(rows);
    return now_ms() - t0;
}

static double time_duck(duckdb_connection con, const char *sql)
{
    double t0 = now_ms();
    duckdb_result res;
    if (duckdb_query(con, sql, &res) == DuckDBError) {
        fprintf(stderr, "bench_plan: %s: %s\n", sql, duckdb_result_error(&res));
        exit(1);
    }
    duckdb_destroy_result(&res);
    return now_ms() - t0;
}

/* CREATE VIEW name AS SELECT * FROM read_parquet([days first..last]). */
static void list_view(duckdb_connection con, const char *name, const char *dir, int n, long first,
                      long last)
{
    size_t cap = (size_t)(last - first + 1) * 4200 + 256;
    char *sql = malloc(cap);
    size_t len = (size_t)snprintf(sql, cap, "CREATE VIEW %s AS SELECT * FROM read_parquet([", name);
    for (long k = first; k <= last; k++)
        len += (size_t)snprintf(sql + len, cap - len,
                                "%s'%s/days_%d/src/day_id=%ld/data_0.parquet'",
                                k > first ? ", " : "", dir, n, k);
    snprintf(sql + len, cap - len, "])");
    duck(con, sql);
    free(sql);
}

static void bench(const char *dir, int n, int runs)
{
    char root[4096], sql[1024], glob[4096];
    build(dir, n);
    snprintf(root, sizeof root, "%s/days_%d/table", dir, n);
    long day = n / 2;
    /* registration: a fresh session each time */
    double *reg = calloc((size_t)runs, sizeof *reg);
    int reg_runs = getenv("BENCH_PLAN_ONLY_TSTABLE") ? 1 : runs;
    for (int i = 0; i < reg_runs; i++) {
        tst_session *s = NULL;
        double t0 = now_ms();
        if (tst_session_open(&s) != 0 || tst_session_register_table(s, "t", root) != 0)
            die(root);
        reg[i] = now_ms() - t0;
        tst_session_free(s);
    }
    tst_session *s = NULL;
    if (tst_session_open(&s) != 0 || tst_session_register_table(s, "t", root) != 0)
        die(root);
    duckdb_database db;
    duckdb_connection con;
    if (duckdb_open(NULL, &db) == DuckDBError || duckdb_connect(db, &con) == DuckDBError)
        exit(1);
    list_view(con, "list", dir, n, 0, n - 1);
    /* the floor in a database of its own: a query that opens every file
     * slows the next one in the same database down */
    duckdb_database db2;
    duckdb_connection con2;
    if (duckdb_open(NULL, &db2) == DuckDBError || duckdb_connect(db2, &con2) == DuckDBError)
        exit(1);
    list_view(con2, "needed7", dir, n, day, day + 6);
    list_view(con2, "needed1", dir, n, day, day);
    snprintf(glob, sizeof glob,
             "CREATE VIEW globbed AS SELECT * FROM "
             "read_parquet('%s/days_%d/src/day_id=*/data_0.parquet')",
             dir, n);
    duck(con, glob);
    const char *peers[] = {"list", "globbed", NULL};
    /* BENCH_PLAN_ONLY_TSTABLE=1: the session alone (for a profiler) */
    bool only = getenv("BENCH_PLAN_ONLY_TSTABLE") != NULL;
    enum { T_TST, T_LIST, T_GLOB, T_NEEDED, T_N };
    double x[T_N] = {1, 1, 1, 1};
    double *v[2][T_N];
    for (int q = 0; q < 2; q++)
        for (int k = 0; k < T_N; k++)
            v[q][k] = calloc((size_t)runs, sizeof(double));
    for (int i = -1; i < runs; i++) { /* -1: warm-up */
        for (int q = 0; q < 2; q++) {
            bool week = q == 0;
            query_sql(sql, sizeof sql, week, "t", day);
            x[T_TST] = time_session(s, sql, week ? "X" : "2");
            query_sql(sql, sizeof sql, week, week ? "needed7" : "needed1", day);
            x[T_NEEDED] = only ? 1 : time_duck(con2, sql);
            for (int k = T_TST; i >= 0 && k <= T_NEEDED; k += T_NEEDED)
                v[q][k][i] = x[k];
        }
    }
    /* The peers that open every file, in a loop of their own: such a query
     * slows whatever runs next in the process (freed caches, allocator). */
    int peer_runs = n >= 5000 && runs > 5 ? 5 : runs;
    for (int i = -1; i < peer_runs && !only; i++) {
        for (int q = 0; q < 2; q++) {
            for (int k = 0; peers[k]; k++) {
                query_sql(sql, sizeof sql, q == 0, peers[k], day);
                x[T_LIST + k] = time_duck(con, sql);
                if (i >= 0)
                    v[q][T_LIST + k][i] = x[T_LIST + k];
            }
        }
    }
    /* Q0: a range no segment meets (1990): the view reads no file, so this
     * is the statement's planning (parse, constants, prune, view) plus a
     * trivial query: an upper bound of planning alone. */
    double *plan = calloc((size_t)runs, sizeof *plan);
    const char *q0[] = {
        "SELECT count(*) FROM t WHERE ts >= '1990-01-01 00:00:00+00' "
        "AND ts < '1990-01-02 00:00:00+00'",
        "SELECT count(*) FROM t WHERE ts >= '1990-01-03 00:00:00+00' "
        "AND ts < '1990-01-04 00:00:00+00'"};
    for (int i = -1; i < runs; i++) { /* alternating: the view is redefined each time */
        double ms = time_session(s, q0[(i + 2) % 2], "0");
        if (i >= 0)
            plan[i] = ms;
    }
    tst_prune_stats st;
    tst_session_last_prune(s, &st);
    for (int q = 0; q < 2; q++) {
        double m[T_N];
        for (int k = 0; k < T_N; k++)
            m[k] = median(v[q][k], k == T_LIST || k == T_GLOB ? peer_runs : runs), free(v[q][k]);
        printf("| %d | %s | %.2f | %.2f | %.2f | %.2f | %.2fx | %.2fx | %+.2f |\n", n,
               q == 0 ? "Q7 (7 days)" : "Q1 (1 hour)", m[T_TST], m[T_LIST], m[T_GLOB],
               m[T_NEEDED], m[T_TST] / m[T_LIST], m[T_TST] / m[T_GLOB], m[T_TST] - m[T_NEEDED]);
    }
    printf("| %d | Q0 (no segment meets the range: planning + a trivial query) | %.2f | | | | | "
           "| |\n", n, median(plan, runs));
    printf("| %d | registration (open + register) | %.2f | | | | | | |\n", n,
           median(reg, reg_runs));
    free(plan);
    fflush(stdout);
    free(reg);
    duckdb_disconnect(&con);
    duckdb_close(&db);
    duckdb_disconnect(&con2);
    duckdb_close(&db2);
    tst_session_free(s);
}

int main(int argc, char **argv)
{
    char dir[4096], list[256] = "100,1000,10000";
    int runs = 20;
    snprintf(dir, sizeof dir, "%s/bench_plan", getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp");
    for (int i = 1; i + 1 < argc; i += 2) {
        if (strcmp(argv[i], "--segments") == 0)
            snprintf(list, sizeof list, "%s", argv[i + 1]);
        else if (strcmp(argv[i], "--runs") == 0)
            runs = atoi(argv[i + 1]);
        else if (strcmp(argv[i], "--work") == 0)
            snprintf(dir, sizeof dir, "%s", argv[i + 1]);
    }
    if (runs < 1) {
        fprintf(stderr, "usage: bench_plan [--segments N,N,...] [--runs R] [--work DIR]\n");
        return 2;
    }
    setenv("TST_UNSAFE_NO_FSYNC", "1", 1);
    mkdir(dir, 0755);
    printf("| segments | statement | tstable ms | DuckDB list ms | DuckDB glob ms | DuckDB needed "
           "files ms | vs list | vs glob | tstable - needed ms |\n"
           "|---:|---|---:|---:|---:|---:|---:|---:|---:|\n");
    for (char *p = strtok(list, ","); p; p = strtok(NULL, ","))
        bench(dir, atoi(p), runs);
    printf("\nmedians of %d runs (list and glob: 5 from 5,000 segments on); one process "
           "(no start-up counted).\n", runs);
    return 0;
}
