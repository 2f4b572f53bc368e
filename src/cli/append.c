/*
 * append.c — `tstable append`: one Parquet or CSV file becomes one segment.
 *
 * The library does the work in one blocking call (schema check, overlap
 * check, copy or re-encode, commit) and leaves the table untouched on any
 * failure, so this file only checks the source exists, reports the outcome
 * and, on a terminal, shows that it is still working. The library offers no
 * progress callback, so the indicator is a spinner with the elapsed time —
 * it does not pretend to know a percentage. It appears only after half a
 * second, so quick appends print nothing extra, and only when stderr is a
 * terminal, so pipes and logs stay clean. The shell's `.append` goes
 * through the same cli_append_source(), so it checks and reports alike.
 */
#include <errno.h>
#include <pthread.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "cli.h"
#include "tstable/append.h"
#include "tstable/error.h"

static const char HELP[] =
    "Append a Parquet or CSV file to a table as one new segment (one commit).\n"
    "\n"
    "Usage: tstable append --table PATH (--parquet FILE | --csv FILE) [--timing]\n"
    "\n"
    "The first append adopts the file's schema; later ones must match it (lossless\n"
    "widenings such as int32 -> int64 are accepted). An append that would cover an\n"
    "(entity, bucket) the table already covers is rejected, and nothing is written.\n"
    "The source file is never modified.\n"
    "\n"
    "Options:\n"
    "  --table PATH    The table\n"
    "  --parquet FILE  A Parquet file to append\n"
    "  --csv FILE      A CSV file to append (header and column types are inferred)\n"
    "  --timing        Also print the time the append took (elapsed_ms)\n"
    "  --help          Show this help\n"
    "\n"
    "Prints \"Appended table version: N\". On a terminal, a spinner shows on stderr while\n"
    "a long append runs.\n"
    "\n"
    "Example:\n"
    "  tstable append --table ./my_stocks --csv examples/data/nvda_1h_sample.csv --timing\n";

static const cli_opt OPTS[] = {
    {"table", NULL, CLI_VALUE},
    {"parquet", NULL, CLI_VALUE},
    {"csv", NULL, CLI_VALUE},
    {"timing", NULL, CLI_FLAG},
};

/* ---- the terminal spinner ------------------------------------------------ */

typedef struct spinner {
    pthread_t thread;
    pthread_mutex_t lock;
    pthread_cond_t wake;
    bool stop;
    bool drawn;
    bool running;
    const char *source;
    struct timespec started;
} spinner;

static double seconds_since(const struct timespec *t0)
{
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    return (double)(now.tv_sec - t0->tv_sec) + (double)(now.tv_nsec - t0->tv_nsec) / 1e9;
}

static void *spin(void *arg)
{
    static const char *const FRAMES[] = {"⠋", "⠙", "⠹", "⠸", "⠼", "⠴", "⠦", "⠧", "⠇", "⠏"};
    spinner *s = arg;
    unsigned frame = 0;
    pthread_mutex_lock(&s->lock);
    while (!s->stop) {
        struct timespec until;
        clock_gettime(CLOCK_REALTIME, &until);
        until.tv_nsec += 100 * 1000 * 1000;
        if (until.tv_nsec >= 1000000000L) {
            until.tv_sec++;
            until.tv_nsec -= 1000000000L;
        }
        pthread_cond_timedwait(&s->wake, &s->lock, &until);
        double elapsed = seconds_since(&s->started);
        if (s->stop || elapsed < 0.5)
            continue;
        fprintf(stderr, "\r%s appending %s ... %.1fs", FRAMES[frame++ % 10], s->source, elapsed);
        fflush(stderr);
        s->drawn = true;
    }
    if (s->drawn)
        fputs("\r\033[K", stderr); /* leave the line as we found it */
    pthread_mutex_unlock(&s->lock);
    return NULL;
}

static void spinner_start(spinner *s, const char *source)
{
    memset(s, 0, sizeof *s);
    s->source = source;
    clock_gettime(CLOCK_MONOTONIC, &s->started);
    if (!isatty(STDERR_FILENO))
        return;
    pthread_mutex_init(&s->lock, NULL);
    pthread_cond_init(&s->wake, NULL);
    s->running = pthread_create(&s->thread, NULL, spin, s) == 0;
}

static void spinner_stop(spinner *s)
{
    if (!s->running)
        return;
    pthread_mutex_lock(&s->lock);
    s->stop = true;
    pthread_cond_signal(&s->wake);
    pthread_mutex_unlock(&s->lock);
    pthread_join(s->thread, NULL);
    pthread_cond_destroy(&s->wake);
    pthread_mutex_destroy(&s->lock);
}

/* ---- the append ---------------------------------------------------------- */

typedef struct append_source {
    const char *path;
    bool csv;
    const char *label; /* "Parquet" or "CSV", for messages */
} append_source;

static int pick_source(const cli_args *args, append_source *src)
{
    const char *parquet = cli_get(args, "parquet"), *csv = cli_get(args, "csv");
    if (parquet && csv)
        return cli_usage_error("append", "give either --parquet or --csv, not both");
    if (!parquet && !csv)
        return cli_usage_error("append", "missing the source: --parquet FILE or --csv FILE");
    src->path = parquet ? parquet : csv;
    src->csv = csv != NULL;
    return 0;
}

/* A missing source is reported with its path, before the library is asked. */
static int check_source(const append_source *src)
{
    struct stat st;
    if (src->path[0] == '\0')
        return cli_fail("Failed to read %s source: the path is empty", src->label);
    if (stat(src->path, &st) != 0)
        return cli_fail("Failed to read %s source %s: %s", src->label, src->path, strerror(errno));
    if (S_ISDIR(st.st_mode))
        return cli_fail("Failed to read %s source %s: it is a folder, not a file", src->label,
                        src->path);
    return 0;
}

static int report_failure(const append_source *src, const char *root)
{
    const tst_error *e = tst_error_last();
    if (e->code == TST_EOVERLAP)
        return cli_fail("overlap: %s", e->message);
    if (src->csv)
        return cli_fail("Append failed for CSV source %s into table %s. Ensure the columns "
                        "match the table: %s",
                        src->path, root, e->message);
    return cli_fail("Append failed for Parquet source %s into table %s. Ensure schema matches "
                    "the table and the parquet is valid: %s",
                    src->path, root, e->message);
}

int cli_append_source(tst_table *table, const char *path, bool csv, uint64_t *out_version,
                      uint64_t *out_elapsed_ms)
{
    append_source src = {path, csv, csv ? "CSV" : "Parquet"};
    tst_append_result result;
    spinner sp;
    if (check_source(&src) != 0)
        return CLI_EXIT_FAIL;
    spinner_start(&sp, src.path);
    int rc = csv ? tst_table_append_csv(table, path, NULL, NULL, &result)
                 : tst_table_append_parquet(table, path, NULL, &result);
    double elapsed = seconds_since(&sp.started);
    spinner_stop(&sp);
    if (rc != 0)
        return report_failure(&src, tst_table_root(table));
    *out_version = result.version;
    *out_elapsed_ms = (uint64_t)(elapsed * 1000.0);
    return CLI_EXIT_OK;
}

static int run_append(tst_table *table, const append_source *src, bool timing)
{
    uint64_t version = 0, elapsed_ms = 0;
    if (cli_append_source(table, src->path, src->csv, &version, &elapsed_ms) != 0)
        return CLI_EXIT_FAIL;
    if (timing)
        printf("Appended table version: %llu (elapsed_ms: %llu)\n", (unsigned long long)version,
               (unsigned long long)elapsed_ms);
    else
        printf("Appended table version: %llu\n", (unsigned long long)version);
    return CLI_EXIT_OK;
}

int cli_cmd_append(int argc, char **argv)
{
    cli_args args;
    int parsed = cli_parse(&args, "append", HELP, OPTS, sizeof OPTS / sizeof OPTS[0], argc, argv);
    if (parsed != CLI_PARSED) {
        cli_args_free(&args);
        return cli_parse_exit(parsed);
    }
    append_source src = {0};
    tst_table *table = NULL;
    int rc = cli_require(&args, "table") ? pick_source(&args, &src) : CLI_EXIT_FAIL;
    if (rc == 0)
        rc = cli_open_table(&table, cli_get(&args, "table")) == 0 ? 0 : CLI_EXIT_FAIL;
    if (rc == 0)
        rc = run_append(table, &src, cli_has(&args, "timing"));
    tst_table_free(table);
    cli_args_free(&args);
    return rc;
}
