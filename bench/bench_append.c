/*
 * bench_append.c — how fast, and in how much memory, does append ingest
 * NYC-taxi-shaped trips, on the copy path and on the re-encode path?
 *
 *   bench_append generate --out DIR [--rows N | --tiny] [--sql FILE]
 *   bench_append run --data DIR [--work DIR] [--reject-day K]    K in 0..29, default 14
 *   bench_append bulk --src FILE --work DIR [--repeat N] [--label L] [--move] [--header]
 *                     [--no-ctas]
 *
 * generate writes DIR/fhvhv_2024-04.parquet (one month, N rows, default
 * 20,000,000; --tiny 200,000) and DIR/daily/fhvhv_YYYY-MM-DD.parquet (90
 * days from 2024-04-01, N/30 rows each, so a day is as dense as in the
 * month) from bench/gen_trips.sql, and prints how long that took. It opens
 * its own in-memory DuckDB through DuckDB's public C API: fixture
 * generation only, nothing of the library is involved.
 *
 * run measures, for the copy path (the source matches the table and is
 * copied byte for byte) and the re-encode path (opts.reencode: zstd, rows
 * sorted by pickup_datetime), the workload of the reference's benchmark
 * (format-v6.md §9.1): index pickup_datetime, 1-second buckets, no
 * entities;
 *   (a) one bulk append of the month into a fresh table;
 *   (b) 90 daily appends, in date order, into another fresh table;
 *   (c) a re-append of one already loaded day into each table, which must
 *       be rejected with TST_EOVERLAP.
 * Every measured operation runs in its own forked child, which opens the
 * table, appends, and reports back through a pipe; the parent never starts
 * DuckDB, so the child's ru_maxrss (from wait4) is the operation's own
 * peak RSS (it includes DuckDB's start-up, ~35 MB, like a CLI call would).
 * "append ms" times tst_table_append_parquet alone; "process ms" is fork to
 * exit (open, DuckDB start, append, free), the closest to the reference's
 * per-command timing. fsync stays on. Sources are read warm from the page
 * cache when memory allows (they were just written).
 *
 * bulk times one bulk append of FILE into a fresh format_version 6 table
 * (1-second buckets on pickup_datetime, no entities; the copy path) next to DuckDB's
 * `CREATE TABLE t AS SELECT * FROM read_parquet(FILE)` into an in-memory
 * database, each in its own forked child, N times (default 5) alternating,
 * and prints markdown rows: median and best append ms, median CTAS ms, their
 * ratio, and peak RSS (--no-ctas: the append alone; DuckDB's CTAS of a
 * 2 GB file holds ~12 GB). --move appends with opts.move (the file is hard-linked
 * into the table; each run moves a fresh link to FILE, so FILE stays).
 * bench/run_bulk.sh runs it from two builds (before/after) on one file;
 * compiled with -DBENCH_BEFORE it leaves out what the older library lacks.
 * `generate --no-daily` writes only the month (for a 2 GB file).
 *
 * Results go to stdout as markdown tables; progress goes to stderr.
 * Nothing is asserted: a failed or killed operation is printed as such.
 */
#include "tstable/append.h"
#include "tstable/error.h"
#include "tstable/table.h"

#include <duckdb.h>

#include <errno.h>
#include <ftw.h>
#include <inttypes.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define DAYS_IN_MONTH 30
#define DAILY_FILES 90
#define DAY0_EPOCH 1711929600LL /* 2024-04-01T00:00:00Z */
#define DEFAULT_ROWS 20000000ULL
#define TINY_ROWS 200000ULL

static double now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

static void usage(void)
{
    fprintf(stderr, "usage: bench_append generate --out DIR [--rows N | --tiny] [--sql FILE]\n"
                    "       bench_append run --data DIR [--work DIR] [--reject-day K]\n"
                    "       bench_append bulk --src FILE --work DIR [--repeat N] [--label L] "
                    "[--move] [--header]\n");
}

/* ======================================================================== */
/* generate                                                                  */

/* The SQL file next to this source, unless --sql says otherwise. */
static void default_sql_path(char *buf, size_t cap)
{
    const char *here = __FILE__;
    const char *slash = strrchr(here, '/');
    snprintf(buf, cap, "%.*sgen_trips.sql", slash ? (int)(slash - here + 1) : 0, here);
}

static char *read_text(const char *path)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    char *s = n >= 0 ? malloc((size_t)n + 1) : NULL;
    if (s && fread(s, 1, (size_t)n, f) != (size_t)n) {
        free(s);
        s = NULL;
    }
    if (s)
        s[n] = '\0';
    fclose(f);
    return s;
}

/* Replaces every ${NAME} of the template; returns a malloc'd statement. */
static char *fill_template(const char *tpl, const char *const *names, const char *const *values,
                           size_t count)
{
    size_t cap = strlen(tpl) * 2 + 4096, len = 0;
    char *out = malloc(cap);
    if (!out)
        return NULL;
    for (const char *p = tpl; *p;) {
        size_t k = count;
        if (p[0] == '$' && p[1] == '{')
            for (k = 0; k < count; k++)
                if (strncmp(p + 2, names[k], strlen(names[k])) == 0 &&
                    p[2 + strlen(names[k])] == '}')
                    break;
        const char *piece = k < count ? values[k] : p;
        size_t n = k < count ? strlen(values[k]) : 1;
        if (len + n + 1 > cap) {
            free(out);
            return NULL; /* the template's values are short; this never happens */
        }
        memcpy(out + len, piece, n);
        len += n;
        p += k < count ? strlen(names[k]) + 3 : 1;
    }
    out[len] = '\0';
    return out;
}

static int write_trips(duckdb_connection con, const char *tpl, uint64_t start, uint64_t end,
                       uint64_t per_day, const char *out_path)
{
    char s_start[32], s_end[32], s_day[32], s_epoch[32], s_out[4200];
    snprintf(s_start, sizeof s_start, "%" PRIu64, start);
    snprintf(s_end, sizeof s_end, "%" PRIu64, end);
    snprintf(s_day, sizeof s_day, "%" PRIu64, per_day);
    snprintf(s_epoch, sizeof s_epoch, "%lld", DAY0_EPOCH);
    snprintf(s_out, sizeof s_out, "'%s'", out_path); /* our own paths: no quotes in them */
    const char *names[] = {"ROW_START", "ROW_END", "ROWS_PER_DAY", "DAY0_EPOCH", "OUT"};
    const char *values[] = {s_start, s_end, s_day, s_epoch, s_out};
    char *sql = fill_template(tpl, names, values, 5);
    duckdb_result r;
    int rc = sql && duckdb_query(con, sql, &r) == DuckDBSuccess ? 0 : 1;
    if (rc != 0)
        fprintf(stderr, "bench_append: generating %s: %s\n", out_path,
                sql ? duckdb_result_error(&r) : "out of memory");
    if (sql)
        duckdb_destroy_result(&r);
    free(sql);
    return rc;
}

static void day_name(int day, char *buf, size_t cap)
{
    time_t t = (time_t)(DAY0_EPOCH + 86400LL * day);
    struct tm tm;
    gmtime_r(&t, &tm);
    snprintf(buf, cap, "fhvhv_%04d-%02d-%02d.parquet", tm.tm_year + 1900, tm.tm_mon + 1,
             tm.tm_mday);
}

static bool no_daily;

static int generate(const char *out_dir, uint64_t rows, const char *sql_path)
{
    char *tpl = read_text(sql_path);
    if (!tpl)
        return fprintf(stderr, "bench_append: cannot read %s\n", sql_path), 1;
    char path[4200];
    snprintf(path, sizeof path, "%s/daily", out_dir);
    if (mkdir(out_dir, 0755) != 0 && errno != EEXIST)
        return perror(out_dir), 1;
    if (mkdir(path, 0755) != 0 && errno != EEXIST)
        return perror(path), 1;
    duckdb_database db;
    duckdb_connection con;
    if (duckdb_open(NULL, &db) != DuckDBSuccess || duckdb_connect(db, &con) != DuckDBSuccess)
        return fprintf(stderr, "bench_append: cannot open DuckDB\n"), 1;
    uint64_t per_day = rows / DAYS_IN_MONTH;
    double t0 = now_ms();
    snprintf(path, sizeof path, "%s/fhvhv_2024-04.parquet", out_dir);
    int rc = write_trips(con, tpl, 0, per_day * DAYS_IN_MONTH, per_day, path);
    double bulk_ms = now_ms() - t0;
    fprintf(stderr, "  bulk month: %.1f s\n", bulk_ms / 1e3);
    double t1 = now_ms();
    for (int d = 0; rc == 0 && !no_daily && d < DAILY_FILES; d++) {
        char name[64];
        day_name(d, name, sizeof name);
        snprintf(path, sizeof path, "%s/daily/%s", out_dir, name);
        rc = write_trips(con, tpl, per_day * d, per_day * (d + 1), per_day, path);
    }
    double daily_ms = now_ms() - t1;
    duckdb_disconnect(&con);
    duckdb_close(&db);
    free(tpl);
    if (rc != 0)
        return rc;
    printf("generated %" PRIu64 " rows (bulk month) in %.1f s; %d daily files of %" PRIu64
           " rows (%" PRIu64 " rows) in %.1f s; total %.1f s\n",
           per_day * DAYS_IN_MONTH, bulk_ms / 1e3, DAILY_FILES, per_day, per_day * DAILY_FILES,
           daily_ms / 1e3, (bulk_ms + daily_ms) / 1e3);
    return 0;
}

/* ======================================================================== */
/* measuring one operation in a child                                        */

/* What a child sends back. */
typedef struct op_report {
    int rc;       /* 0, a TST_E* code, or 1 for "no report" */
    double op_ms; /* the measured library call alone */
    uint64_t rows, bytes, version;
    int copied;
    char message[600];
} op_report;

/* What the parent learns about a child. */
typedef struct op_result {
    op_report r;
    double process_ms; /* fork to reaped */
    double peak_mb;    /* the child's ru_maxrss */
} op_result;

typedef void (*op_fn)(const void *arg, op_report *out);

static void run_child(op_fn fn, const void *arg, op_result *res)
{
    memset(res, 0, sizeof *res);
    res->r.rc = 1;
    int fd[2];
    if (pipe(fd) != 0) {
        snprintf(res->r.message, sizeof res->r.message, "pipe: %s", strerror(errno));
        return;
    }
    fflush(NULL);
    double t0 = now_ms();
    pid_t pid = fork();
    if (pid == 0) {
        close(fd[0]);
        op_report rep;
        memset(&rep, 0, sizeof rep);
        fn(arg, &rep);
        ssize_t w = write(fd[1], &rep, sizeof rep);
        _exit(w == (ssize_t)sizeof rep ? 0 : 2);
    }
    close(fd[1]);
    if (pid < 0) {
        close(fd[0]);
        snprintf(res->r.message, sizeof res->r.message, "fork: %s", strerror(errno));
        return;
    }
    op_report rep;
    size_t got = 0;
    while (got < sizeof rep) {
        ssize_t n = read(fd[0], (char *)&rep + got, sizeof rep - got);
        if (n <= 0)
            break;
        got += (size_t)n;
    }
    close(fd[0]);
    int status = 0;
    struct rusage ru;
    memset(&ru, 0, sizeof ru);
    while (wait4(pid, &status, 0, &ru) < 0 && errno == EINTR) {
    }
    res->process_ms = now_ms() - t0;
    res->peak_mb = ru.ru_maxrss / 1024.0; /* Linux reports KiB */
    if (got == sizeof rep)
        res->r = rep;
    else if (WIFSIGNALED(status))
        snprintf(res->r.message, sizeof res->r.message, "child killed by signal %d%s",
                 WTERMSIG(status), WTERMSIG(status) == SIGKILL ? " (out of memory?)" : "");
    else
        snprintf(res->r.message, sizeof res->r.message, "child exited %d without a report",
                 WEXITSTATUS(status));
}

static void report_failure(op_report *out, int rc)
{
    out->rc = rc;
    snprintf(out->message, sizeof out->message, "%s: %s", tst_error_name(rc),
             tst_error_last()->message);
}

/* ---- the operations ----------------------------------------------------- */

typedef struct append_arg {
    const char *root;
    const char *source;
    bool reencode;
} append_arg;

static void op_create(const void *arg, op_report *out)
{
    static char column[] = "pickup_datetime";
    tst_index_spec spec = {column, NULL, 0, {TST_INDEX_TIMESTAMP, {TST_TIME_SECONDS, 1}, 0, ""}};
    tst_table *t = NULL;
    double t0 = now_ms();
    int rc = tst_table_create(&t, (const char *)arg, &spec);
    out->op_ms = now_ms() - t0;
    if (rc != 0)
        report_failure(out, rc);
    tst_table_free(t);
}

static void op_append(const void *argp, op_report *out)
{
    const append_arg *arg = argp;
    tst_table *t = NULL;
    int rc = tst_table_open(&t, arg->root);
    if (rc != 0) {
        report_failure(out, rc);
        return;
    }
    tst_append_options opts = TST_APPEND_OPTIONS_INIT;
    opts.reencode = arg->reencode;
    tst_append_result res;
    memset(&res, 0, sizeof res);
    double t0 = now_ms();
    rc = tst_table_append_parquet(t, arg->source, &opts, &res);
    out->op_ms = now_ms() - t0;
    if (rc != 0)
        report_failure(out, rc);
    out->rows = res.rows;
    out->bytes = res.bytes;
    out->version = res.version;
    out->copied = res.copied;
    tst_table_free(t);
}

/* ======================================================================== */
/* run                                                                       */

static uint64_t tree_bytes;

static int add_size(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)path, (void)ftw;
    if (flag == FTW_F)
        tree_bytes += (uint64_t)st->st_size;
    return 0;
}

/* Apparent size of every file under path (a file or a folder). */
static uint64_t bytes_under(const char *path)
{
    tree_bytes = 0;
    nftw(path, add_size, 32, FTW_PHYS);
    return tree_bytes;
}

static double mb(uint64_t bytes)
{
    return bytes / (1024.0 * 1024.0);
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

static double median(const double *v, size_t n)
{
    double *s = malloc(n * sizeof *s);
    if (!s || n == 0)
        return free(s), 0.0;
    memcpy(s, v, n * sizeof *s);
    qsort(s, n, sizeof *s, cmp_double);
    double m = n % 2 ? s[n / 2] : (s[n / 2 - 1] + s[n / 2]) / 2;
    free(s);
    return m;
}

static double vmin(const double *v, size_t n)
{
    double m = v[0];
    for (size_t i = 1; i < n; i++)
        m = v[i] < m ? v[i] : m;
    return m;
}

static double vmax(const double *v, size_t n)
{
    double m = v[0];
    for (size_t i = 1; i < n; i++)
        m = v[i] > m ? v[i] : m;
    return m;
}

static double vsum(const double *v, size_t n)
{
    double s = 0;
    for (size_t i = 0; i < n; i++)
        s += v[i];
    return s;
}

/* Everything measured for one path (copy or re-encode). */
typedef struct path_run {
    const char *name;
    bool reencode;
    op_result create;
    op_result bulk;
    uint64_t bulk_table_bytes;
    double day_ms[DAILY_FILES], day_process_ms[DAILY_FILES], day_peak_mb[DAILY_FILES];
    uint64_t daily_rows;
    int daily_failures;
    bool daily_copied;
    char daily_first_error[600];
    uint64_t daily_table_bytes;
    op_result reject_daily, reject_bulk;
} path_run;

static void progress(const char *what, const op_result *r)
{
    fprintf(stderr, "  %-40s rc=%d append %.0f ms, process %.0f ms, peak %.0f MB %s\n", what,
            r->r.rc, r->r.op_ms, r->process_ms, r->peak_mb, r->r.rc ? r->r.message : "");
}

static void run_path(path_run *p, const char *data, const char *work, int reject_day)
{
    char bulk_root[4200], daily_root[4200], bulk_src[4200], day_src[4200];
    snprintf(bulk_root, sizeof bulk_root, "%s/%s-bulk", work, p->name);
    snprintf(daily_root, sizeof daily_root, "%s/%s-daily", work, p->name);
    snprintf(bulk_src, sizeof bulk_src, "%s/fhvhv_2024-04.parquet", data);
    fprintf(stderr, "%s path\n", p->name);

    run_child(op_create, bulk_root, &p->create);
    progress("create (no DuckDB: process floor)", &p->create);
    append_arg a = {bulk_root, bulk_src, p->reencode};
    run_child(op_append, &a, &p->bulk);
    progress("bulk month", &p->bulk);
    p->bulk_table_bytes = bytes_under(bulk_root);

    op_result r;
    run_child(op_create, daily_root, &r);
    p->daily_copied = true;
    for (int d = 0; d < DAILY_FILES; d++) {
        char name[64];
        day_name(d, name, sizeof name);
        snprintf(day_src, sizeof day_src, "%s/daily/%s", data, name);
        append_arg da = {daily_root, day_src, p->reencode};
        run_child(op_append, &da, &r);
        p->day_ms[d] = r.r.op_ms;
        p->day_process_ms[d] = r.process_ms;
        p->day_peak_mb[d] = r.peak_mb;
        p->daily_rows += r.r.rows;
        p->daily_copied = p->daily_copied && r.r.copied;
        if (r.r.rc != 0 && p->daily_failures++ == 0)
            snprintf(p->daily_first_error, sizeof p->daily_first_error, "%s: %s", name,
                     r.r.message);
        if (d % 10 == 9 || r.r.rc != 0)
            progress(name, &r);
    }
    p->daily_table_bytes = bytes_under(daily_root);

    char name[64];
    day_name(reject_day, name, sizeof name);
    snprintf(day_src, sizeof day_src, "%s/daily/%s", data, name);
    append_arg ra = {daily_root, day_src, p->reencode};
    run_child(op_append, &ra, &p->reject_daily);
    progress("re-append into daily table", &p->reject_daily);
    ra.root = bulk_root;
    run_child(op_append, &ra, &p->reject_bulk);
    progress("re-append into bulk table", &p->reject_bulk);
}

/* "copied", "re-encoded", or the failure. */
static const char *outcome(const op_result *r)
{
    if (r->r.rc != 0)
        return "FAILED (see below)";
    return r->r.copied ? "copied" : "re-encoded";
}

static const char *reject_outcome(const op_result *r)
{
    if (r->r.rc == 0)
        return "ACCEPTED (should have been rejected)";
    return r->r.rc < 0 ? tst_error_name(r->r.rc) : "FAILED (see below)";
}

static void print_results(path_run *runs, size_t n, uint64_t bulk_src, uint64_t daily_src,
                          uint64_t day_src, const char *reject_name)
{
    printf("### Bulk: one append of the month into a fresh table\n\n");
    printf("| path | rows | append ms | process ms | peak RSS MB | source MB | table on disk MB "
           "| table / source | result |\n|---|---:|---:|---:|---:|---:|---:|---:|---|\n");
    for (size_t i = 0; i < n; i++) {
        const path_run *p = &runs[i];
        printf("| %s | %" PRIu64 " | %.0f | %.0f | %.0f | %.1f | %.1f | %.2f | %s |\n", p->name,
               p->bulk.r.rows, p->bulk.r.op_ms, p->bulk.process_ms, p->bulk.peak_mb, mb(bulk_src),
               mb(p->bulk_table_bytes), bulk_src ? (double)p->bulk_table_bytes / bulk_src : 0.0,
               outcome(&p->bulk));
    }
    printf("\n### Daily: 90 appends, one per day, into a fresh table\n\n");
    printf("| path | rows | total append s | append ms median / min / max | first 10 / last 10 "
           "median ms | process ms median / max | peak RSS MB median / max | source MB | table "
           "on disk MB | result |\n|---|---:|---:|---:|---:|---:|---:|---:|---:|---|\n");
    for (size_t i = 0; i < n; i++) {
        const path_run *p = &runs[i];
        printf("| %s | %" PRIu64 " | %.1f | %.0f / %.0f / %.0f | %.0f / %.0f | %.0f / %.0f | "
               "%.0f / %.0f | %.1f | %.1f | %s |\n",
               p->name, p->daily_rows, vsum(p->day_ms, DAILY_FILES) / 1e3,
               median(p->day_ms, DAILY_FILES), vmin(p->day_ms, DAILY_FILES),
               vmax(p->day_ms, DAILY_FILES), median(p->day_ms, 10),
               median(p->day_ms + DAILY_FILES - 10, 10), median(p->day_process_ms, DAILY_FILES),
               vmax(p->day_process_ms, DAILY_FILES), median(p->day_peak_mb, DAILY_FILES),
               vmax(p->day_peak_mb, DAILY_FILES), mb(daily_src), mb(p->daily_table_bytes),
               p->daily_failures ? "FAILED (see below)"
               : p->daily_copied ? "all copied"
                                 : "all re-encoded");
    }
    printf("\n### Re-append of %s (%.1f MB), already loaded: must be TST_EOVERLAP\n\n", reject_name,
           mb(day_src));
    printf("| path | into | result | rejection ms | process ms | peak RSS MB |\n"
           "|---|---|---|---:|---:|---:|\n");
    for (size_t i = 0; i < n; i++) {
        const path_run *p = &runs[i];
        printf("| %s | daily table (90 segments) | %s | %.0f | %.0f | %.0f |\n", p->name,
               reject_outcome(&p->reject_daily), p->reject_daily.r.op_ms,
               p->reject_daily.process_ms, p->reject_daily.peak_mb);
        printf("| %s | bulk table (1 segment) | %s | %.0f | %.0f | %.0f |\n", p->name,
               reject_outcome(&p->reject_bulk), p->reject_bulk.r.op_ms, p->reject_bulk.process_ms,
               p->reject_bulk.peak_mb);
    }
    printf("\nProcess floor (a child that only creates a table, no DuckDB): peak RSS %.0f MB.\n",
           runs[0].create.peak_mb);
    for (size_t i = 0; i < n; i++) {
        const path_run *p = &runs[i];
        if (p->bulk.r.rc != 0)
            printf("\n%s bulk failed: %s\n", p->name, p->bulk.r.message);
        if (p->daily_failures)
            printf("\n%s: %d daily appends failed; first: %s\n", p->name, p->daily_failures,
                   p->daily_first_error);
        if (p->reject_daily.r.rc != 0)
            printf("\n%s rejection message: %s\n", p->name, p->reject_daily.r.message);
    }
}

static int run(const char *data, const char *work, int reject_day)
{
    char bulk_src[4200], daily_dir[4200], day_src[4200], reject_name[64];
    snprintf(bulk_src, sizeof bulk_src, "%s/fhvhv_2024-04.parquet", data);
    snprintf(daily_dir, sizeof daily_dir, "%s/daily", data);
    day_name(reject_day, reject_name, sizeof reject_name);
    snprintf(day_src, sizeof day_src, "%s/%s", daily_dir, reject_name);
    if (access(bulk_src, R_OK) != 0 || access(day_src, R_OK) != 0)
        return fprintf(stderr, "bench_append: no data in %s: run `generate` first\n", data), 1;
    if (mkdir(work, 0755) != 0 && errno != EEXIST)
        return perror(work), 1;
    static path_run runs[2] = {{.name = "copy", .reencode = false},
                               {.name = "re-encode", .reencode = true}};
    for (size_t i = 0; i < 2; i++)
        run_path(&runs[i], data, work, reject_day);
    print_results(runs, 2, bytes_under(bulk_src), bytes_under(daily_dir), bytes_under(day_src),
                  reject_name);
    return 0;
}

/* ======================================================================== */
/* bulk: one bulk append against DuckDB CREATE TABLE AS                      */

typedef struct bulk_arg {
    const char *root, *source;
    bool move;
} bulk_arg;

/* A format_version 6 table (any number of rows per interval, like the
 * reference's benchmark table): trips share seconds. */
static void op_create_v6(const char *root, op_report *out)
{
    static char column[] = "pickup_datetime";
    tst_index_spec spec = {column, NULL, 0, {TST_INDEX_TIMESTAMP, {TST_TIME_SECONDS, 1}, 0, ""}};
    spec.kind.protocol = 6;
    tst_table *t = NULL;
    int rc = tst_table_create(&t, root, &spec);
    if (rc != 0)
        report_failure(out, rc);
    tst_table_free(t);
}

static void op_bulk_append(const void *argp, op_report *out)
{
    const bulk_arg *arg = argp;
    op_create_v6(arg->root, out);
    if (out->rc != 0)
        return;
    append_arg a = {arg->root, arg->source, false};
#ifndef BENCH_BEFORE
    if (arg->move) {
        tst_table *t = NULL;
        int rc = tst_table_open(&t, arg->root);
        if (rc != 0) {
            report_failure(out, rc);
            return;
        }
        tst_append_options opts = TST_APPEND_OPTIONS_INIT;
        opts.move = true;
        tst_append_result res;
        memset(&res, 0, sizeof res);
        double t0 = now_ms();
        rc = tst_table_append_parquet(t, arg->source, &opts, &res);
        out->op_ms = now_ms() - t0;
        if (rc != 0)
            report_failure(out, rc);
        out->rows = res.rows;
        out->copied = res.copied;
        tst_table_free(t);
        return;
    }
#endif
    op_append(&a, out);
}

static void op_ctas(const void *arg, op_report *out)
{
    duckdb_database db;
    duckdb_connection con;
    out->rc = 1;
    if (duckdb_open(NULL, &db) != DuckDBSuccess || duckdb_connect(db, &con) != DuckDBSuccess) {
        snprintf(out->message, sizeof out->message, "cannot open DuckDB");
        return;
    }
    char sql[4400];
    snprintf(sql, sizeof sql, "CREATE TABLE t AS SELECT * FROM read_parquet('%s')",
             (const char *)arg);
    duckdb_result res;
    double t0 = now_ms();
    duckdb_state st = duckdb_query(con, sql, &res);
    out->op_ms = now_ms() - t0;
    if (st == DuckDBSuccess)
        out->rc = 0;
    else
        snprintf(out->message, sizeof out->message, "%s", duckdb_result_error(&res));
    duckdb_destroy_result(&res);
    duckdb_disconnect(&con);
    duckdb_close(&db);
}

static int rmtree_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)st, (void)flag, (void)ftw;
    return remove(path);
}

static int bulk(const char *src, const char *work, int repeat, const char *label, bool move,
                bool header, bool no_ctas)
{
#ifdef BENCH_BEFORE
    if (move)
        return fprintf(stderr, "bench_append: --move needs the newer library\n"), 2;
#endif
    if (repeat < 1 || repeat > 50 || access(src, R_OK) != 0)
        return usage(), 2;
    if (mkdir(work, 0755) != 0 && errno != EEXIST)
        return perror(work), 1;
    double app[50], ctas[50], peak = 0, ctas_peak = 0;
    int failures = 0;
    char first_error[600] = "";
    for (int i = 0; i < repeat; i++) {
        char root[4200], link_src[4300];
        snprintf(root, sizeof root, "%s/bulk-%d-%d", work, (int)getpid(), i);
        snprintf(link_src, sizeof link_src, "%s/src-%d-%d.parquet", work, (int)getpid(), i);
        if (move && link(src, link_src) != 0)
            return perror(link_src), 1;
        bulk_arg a = {root, move ? link_src : src, move};
        op_result r, c;
        run_child(op_bulk_append, &a, &r);
        memset(&c, 0, sizeof c);
        if (!no_ctas)
            run_child(op_ctas, src, &c);
        progress(label, &r);
        if (!no_ctas)
            progress("duckdb create table as", &c);
        if (r.r.rc != 0 && failures++ == 0)
            snprintf(first_error, sizeof first_error, "%s", r.r.message);
        app[i] = r.r.op_ms;
        ctas[i] = c.r.op_ms;
        peak = r.peak_mb > peak ? r.peak_mb : peak;
        ctas_peak = c.peak_mb > ctas_peak ? c.peak_mb : ctas_peak;
        nftw(root, rmtree_entry, 16, FTW_DEPTH | FTW_PHYS);
        unlink(link_src);
    }
    if (header)
        printf("| build | append ms (median) | append ms (best) | DuckDB CTAS ms (median) | "
               "append / CTAS | append peak RSS MB | CTAS peak RSS MB | failures |\n"
               "|---|---:|---:|---:|---:|---:|---:|---:|\n");
    double am = median(app, (size_t)repeat), cm = median(ctas, (size_t)repeat);
    if (no_ctas)
        printf("| %s | %.0f | %.0f | (not run) | - | %.0f | - | %d%s%s |\n", label, am,
               vmin(app, (size_t)repeat), peak, failures, failures ? ": " : "", first_error);
    else
        printf("| %s | %.0f | %.0f | %.0f | %.2fx | %.0f | %.0f | %d%s%s |\n", label, am,
               vmin(app, (size_t)repeat), cm, am / cm, peak, ctas_peak, failures,
               failures ? ": " : "", first_error);
    return 0;
}

int main(int argc, char **argv)
{
    if (argc < 2)
        return usage(), 2;
    const char *out = NULL, *data = NULL, *work = NULL;
    char sql[4200];
    default_sql_path(sql, sizeof sql);
    uint64_t rows = DEFAULT_ROWS;
    int reject_day = 14; /* 2024-04-15: in the daily table and in the April bulk table */
    const char *src = NULL, *label = "tstable";
    int repeat = 5;
    bool move = false, header = false, no_ctas = false;
    for (int i = 2; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (strcmp(a, "--tiny") == 0) {
            rows = TINY_ROWS;
            continue;
        }
        if (strcmp(a, "--no-ctas") == 0) {
            no_ctas = true;
            continue;
        }
        if (strcmp(a, "--no-daily") == 0 || strcmp(a, "--move") == 0 ||
            strcmp(a, "--header") == 0) {
            no_daily |= strcmp(a, "--no-daily") == 0;
            move |= strcmp(a, "--move") == 0;
            header |= strcmp(a, "--header") == 0;
            continue;
        }
        if (!v)
            return usage(), 2;
        if (strcmp(a, "--out") == 0)
            out = v;
        else if (strcmp(a, "--rows") == 0)
            rows = strtoull(v, NULL, 10);
        else if (strcmp(a, "--sql") == 0)
            snprintf(sql, sizeof sql, "%s", v);
        else if (strcmp(a, "--data") == 0)
            data = v;
        else if (strcmp(a, "--work") == 0)
            work = v;
        else if (strcmp(a, "--reject-day") == 0)
            reject_day = atoi(v);
        else if (strcmp(a, "--src") == 0)
            src = v;
        else if (strcmp(a, "--label") == 0)
            label = v;
        else if (strcmp(a, "--repeat") == 0)
            repeat = atoi(v);
        else
            return usage(), 2;
        i++;
    }
    if (strcmp(argv[1], "generate") == 0 && out && rows >= DAYS_IN_MONTH)
        return generate(out, rows, sql);
    if (strcmp(argv[1], "bulk") == 0 && src && work)
        return bulk(src, work, repeat, label, move, header, no_ctas);
    if (strcmp(argv[1], "run") == 0 && data && reject_day >= 0 && reject_day < DAYS_IN_MONTH) {
        char tmp[4200];
        if (!work) {
            snprintf(tmp, sizeof tmp, "%s/tables", data);
            work = tmp;
        }
        return run(data, work, reject_day);
    }
    return usage(), 2;
}
