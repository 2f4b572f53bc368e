/*
 * append.c — `tstable append`: Parquet or CSV files become segments, all in
 * one commit.
 *
 * The library does the work in one blocking call (schema check, overlap
 * check, copy or re-encode, commit) and leaves the table untouched on any
 * failure, so this file expands the sources (several paths, globs, folders),
 * checks they exist, turns the CSV options into the library's, reports the
 * outcome and, on a terminal, shows that it is still working.
 *
 * Ctrl-C and SIGTERM cancel the append instead of killing the process half
 * way (signals.c asks the library to cancel through a tst_cancel token,
 * which interrupts DuckDB); the library removes what it wrote, and
 * the command exits 130 (SIGINT) or 143 (SIGTERM) with "append cancelled;
 * nothing was written". A second signal kills the process as usual. The library offers no
 * progress callback, so the indicator is a spinner with the elapsed time —
 * it does not pretend to know a percentage. It appears only after half a
 * second, so quick appends print nothing extra, and only when stderr is a
 * terminal, so pipes and logs stay clean. The shell's `.append` goes
 * through the same cli_append_source(), so it checks and reports alike.
 */
#include <dirent.h>
#include <errno.h>
#include <glob.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "cli.h"
#include "tstable/append.h"
#include "tstable/error.h"

static const char HELP[] =
    "Append Parquet or CSV files to a table, each as a new segment, in one commit.\n"
    "\n"
    "Usage: tstable append --table PATH (--parquet FILE... | --csv FILE...) [options]\n"
    "\n"
    "The first append adopts the first file's schema; later ones must match it\n"
    "(lossless widenings such as int32 -> int64 are accepted). An append that would\n"
    "cover an (entity, bucket) the table already covers, or that two of its files\n"
    "both cover, is rejected, and nothing is written (--on-overlap changes that for\n"
    "the table's pairs). Source files are never modified.\n"
    "\n"
    "Sources: --parquet / --csv take one or more paths (repeat the option, or list\n"
    "several after it), a glob such as 'days/2024-02-*.parquet' (quoted, expanded\n"
    "here, sorted), or a folder (its *.parquet or *.csv files, sorted). A path that\n"
    "exists is that file, even if its name contains * ? or [.\n"
    "\n"
    "Options:\n"
    "  --table PATH          The table\n"
    "  --parquet FILE...     Parquet files, globs or folders to append\n"
    "  --csv FILE...         CSV files, globs or folders to append\n"
    "  --delimiter C         CSV: the field separator (default ','; 'tab' or '\\t' for tabs)\n"
    "  --no-header           CSV: the first line is data (name the columns with --column)\n"
    "  --column NAME=TYPE    CSV: read NAME as TYPE (repeatable). TYPE is a DuckDB type\n"
    "                        (DATE, TIMESTAMP, BIGINT, DOUBLE, ...) or a table type\n"
    "                        (int64, float64, utf8, timestamp[us](UTC), ...). Columns the\n"
    "                        table already has are read with its types by default.\n"
    "  --on-overlap MODE     What to do with (entity, bucket) pairs the table covers:\n"
    "                        reject (default: refuse the append), skip (append only\n"
    "                        the rows of pairs not covered yet; all covered: nothing\n"
    "                        is written) or replace (the source's rows replace the\n"
    "                        stored rows of those pairs, in one commit)\n"
    "  --allow-boundary-overlap\n"
    "                        Accept a source whose first or last bucket of an entity\n"
    "                        the table already partly covers, when none of its rows\n"
    "                        there has an index value the table holds (format 6\n"
    "                        tables; protocol 7 keeps one row per bucket)\n"
    "  --move                Parquet: hand the files over instead of copying them. A\n"
    "                        file that would be copied as it is and lies on the table's\n"
    "                        file system is hard-linked into the table, and its old\n"
    "                        name is removed once the append commits (a failed append\n"
    "                        leaves it). The table then owns those bytes: do not write\n"
    "                        to the file through another name afterwards. Files on\n"
    "                        another file system, or re-encoded ones, are copied and\n"
    "                        left where they are\n"
    "  --timing              Also print the time the append took (elapsed_ms)\n"
    "  --help                Show this help\n"
    "\n"
    "Prints \"Appended table version: N\". On a terminal, a spinner shows on stderr while\n"
    "a long append runs. Ctrl-C or SIGTERM cancels it: every file it wrote is removed\n"
    "and nothing is committed.\n"
    "\n"
    "Examples:\n"
    "  tstable append --table ./my_stocks --csv examples/data/nvda_1h_sample.csv --timing\n"
    "  tstable append --table ./bars --parquet 'days/2024-02-*.parquet'\n"
    "  tstable append --table ./daily --csv daily.csv --column date=TIMESTAMP\n"
    "  tstable append --table ./bars --parquet today.parquet --on-overlap skip\n"
    "  tstable append --table ./bars --parquet staging/2024-02-01.parquet --move\n";

static const cli_opt OPTS[] = {
    {"table", NULL, CLI_VALUE},    {"parquet", NULL, CLI_LIST_MANY},
    {"csv", NULL, CLI_LIST_MANY},  {"delimiter", NULL, CLI_VALUE},
    {"no-header", NULL, CLI_FLAG}, {"column", NULL, CLI_LIST},
    {"timing", NULL, CLI_FLAG},    {"on-overlap", NULL, CLI_VALUE},
    {"allow-boundary-overlap", NULL, CLI_FLAG}, {"move", NULL, CLI_FLAG},
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

/* ---- sources: paths, globs, folders --------------------------------------- */

typedef struct source_list {
    char **paths; /* malloc'd */
    size_t count;
    bool csv;
    const char *label; /* "Parquet" or "CSV", for messages */
} source_list;

static void sources_add(source_list *l, const char *path)
{
    l->paths = cli_xrealloc(l->paths, (l->count + 1) * sizeof *l->paths);
    l->paths[l->count++] = cli_xstrdup(path);
}

static void sources_free(source_list *l)
{
    for (size_t i = 0; i < l->count; i++)
        free(l->paths[i]);
    free(l->paths);
    memset(l, 0, sizeof *l);
}

static int by_name(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static bool has_suffix(const char *name, const char *suffix)
{
    size_t n = strlen(name), k = strlen(suffix);
    return n > k && strcmp(name + n - k, suffix) == 0;
}

/* A folder's *.parquet (or *.csv) files, sorted by name. */
static int add_folder(source_list *l, const char *dir)
{
    DIR *d = opendir(dir);
    if (!d)
        return cli_fail("Failed to read %s source folder %s: %s", l->label, dir, strerror(errno));
    const char *suffix = l->csv ? ".csv" : ".parquet";
    size_t first = l->count;
    for (struct dirent *e; (e = readdir(d)) != NULL;) {
        if (e->d_name[0] == '.' || !has_suffix(e->d_name, suffix))
            continue;
        char *path = cli_xmalloc(strlen(dir) + strlen(e->d_name) + 2);
        sprintf(path, "%s%s%s", dir, has_suffix(dir, "/") ? "" : "/", e->d_name);
        l->paths = cli_xrealloc(l->paths, (l->count + 1) * sizeof *l->paths);
        l->paths[l->count++] = path;
    }
    closedir(d);
    if (l->count == first)
        return cli_fail("Failed to read %s sources: folder %s has no *%s files", l->label, dir,
                        suffix);
    qsort(l->paths + first, l->count - first, sizeof *l->paths, by_name);
    return 0;
}

static int add_glob(source_list *l, const char *pattern)
{
    glob_t g;
    int rc = glob(pattern, 0, NULL, &g);
    if (rc == GLOB_NOMATCH)
        return cli_fail("Failed to read %s sources: no file matches '%s'", l->label, pattern);
    if (rc != 0)
        return cli_fail("Failed to read %s sources: cannot expand '%s'", l->label, pattern);
    for (size_t i = 0; i < g.gl_pathc; i++)
        sources_add(l, g.gl_pathv[i]); /* glob sorts them */
    globfree(&g);
    return 0;
}

/* One argument: a path that exists as given (file or folder), else a glob. */
static int add_source(source_list *l, const char *arg)
{
    struct stat st;
    if (arg[0] == '\0')
        return cli_fail("Failed to read %s source: the path is empty", l->label);
    if (stat(arg, &st) == 0) {
        if (S_ISDIR(st.st_mode))
            return add_folder(l, arg);
        sources_add(l, arg);
        return 0;
    }
    if (strpbrk(arg, "*?["))
        return add_glob(l, arg);
    return cli_fail("Failed to read %s source %s: %s", l->label, arg, strerror(errno));
}

static int pick_sources(const cli_args *args, source_list *l)
{
    size_t np = 0, nc = 0;
    const char *const *parquet = cli_list(args, "parquet", &np);
    const char *const *csv = cli_list(args, "csv", &nc);
    if (np && nc)
        return cli_usage_error("append", "give either --parquet or --csv, not both");
    if (!np && !nc)
        return cli_usage_error("append", "missing the source: --parquet FILE or --csv FILE");
    l->csv = nc > 0;
    l->label = l->csv ? "CSV" : "Parquet";
    if (!l->csv && (cli_has(args, "delimiter") || cli_has(args, "no-header") ||
                    cli_has(args, "column")))
        return cli_usage_error("append", "--delimiter, --no-header and --column are for --csv");
    const char *const *list = l->csv ? csv : parquet;
    for (size_t i = 0; i < (l->csv ? nc : np); i++)
        if (add_source(l, list[i]) != 0)
            return CLI_EXIT_FAIL;
    return 0;
}

/* ---- CSV options ----------------------------------------------------------- */

typedef struct csv_settings {
    tst_csv_options opts;
    char *columns; /* "{'a': 'T', ...}", malloc'd */
} csv_settings;

static void append_quoted(char **buf, size_t *len, const char *text, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        *buf = cli_xrealloc(*buf, *len + 4);
        if (text[i] == '\'')
            (*buf)[(*len)++] = '\'';
        (*buf)[(*len)++] = text[i];
    }
}

/* --column NAME=TYPE ... as the library's struct literal. */
static int columns_literal(const char *const *cols, size_t n, char **out)
{
    size_t len = 0;
    char *buf = cli_xstrdup("{");
    len = 1;
    for (size_t i = 0; i < n; i++) {
        const char *eq = strchr(cols[i], '=');
        if (!eq || eq == cols[i] || !eq[1]) {
            free(buf);
            return cli_usage_error("append", "--column needs NAME=TYPE, got '%s'", cols[i]);
        }
        buf = cli_xrealloc(buf, len + 8);
        len += (size_t)sprintf(buf + len, "%s'", i ? ", " : "");
        append_quoted(&buf, &len, cols[i], (size_t)(eq - cols[i]));
        buf = cli_xrealloc(buf, len + 8);
        len += (size_t)sprintf(buf + len, "': '");
        append_quoted(&buf, &len, eq + 1, strlen(eq + 1));
        buf = cli_xrealloc(buf, len + 8);
        len += (size_t)sprintf(buf + len, "'");
    }
    buf = cli_xrealloc(buf, len + 2);
    strcpy(buf + len, "}");
    *out = buf;
    return 0;
}

static int csv_settings_from(const cli_args *args, csv_settings *s)
{
    memset(s, 0, sizeof *s);
    s->opts = (tst_csv_options)TST_CSV_OPTIONS_INIT;
    const char *d = cli_get(args, "delimiter");
    if (d) {
        if (strcmp(d, "tab") == 0 || strcmp(d, "\\t") == 0)
            d = "\t";
        if (strlen(d) != 1)
            return cli_usage_error("append", "--delimiter takes one character (or 'tab'), got "
                                   "'%s'", d);
        s->opts.delimiter = d[0];
    }
    if (cli_has(args, "no-header"))
        s->opts.header = 0;
    size_t n = 0;
    const char *const *cols = cli_list(args, "column", &n);
    if (n && columns_literal(cols, n, &s->columns) != 0)
        return CLI_EXIT_FAIL;
    s->opts.columns = s->columns;
    return 0;
}

/* ---- the append ---------------------------------------------------------- */

/* One sentence: the library's message says what failed, where and what to do. */
static int report_failure(void)
{
    const tst_error *e = tst_error_last();
    if (e->code == TST_EOVERLAP)
        return cli_fail("overlap: %s", e->message);
    if (e->code == TST_ECANCELLED)
        return cli_fail("append cancelled; nothing was written");
    return cli_fail("%s", e->message[0] ? e->message : tst_error_name(e->code));
}

static int append_all(tst_table *table, const source_list *l, const tst_csv_options *csv,
                      tst_overlap_mode mode, bool boundary, bool move, tst_cancel *cancel,
                      tst_append_result *result, double *elapsed)
{
    tst_append_options opts = TST_APPEND_OPTIONS_INIT;
    opts.move = move;
    opts.cancel = cancel;
    opts.on_overlap = mode;
    opts.allow_boundary_overlap = boundary;
    const char *const *paths = (const char *const *)l->paths;
    char label[64];
    if (l->count > 1)
        snprintf(label, sizeof label, "%zu files", l->count);
    spinner sp;
    spinner_start(&sp, l->count > 1 ? label : paths[0]);
    int rc;
    if (l->csv)
        rc = l->count == 1 ? tst_table_append_csv(table, paths[0], csv, &opts, result)
                           : tst_table_append_csv_files(table, paths, l->count, csv, &opts, result);
    else
        rc = l->count == 1 ? tst_table_append_parquet(table, paths[0], &opts, result)
                           : tst_table_append_parquet_files(table, paths, l->count, &opts, result);
    *elapsed = seconds_since(&sp.started);
    spinner_stop(&sp);
    return rc;
}

int cli_append_source(tst_table *table, const char *path, bool csv, uint64_t *out_version,
                      uint64_t *out_elapsed_ms)
{
    source_list l = {NULL, 0, csv, csv ? "CSV" : "Parquet"};
    tst_append_result result;
    double elapsed = 0;
    int rc = add_source(&l, path);
    if (rc == 0 &&
        append_all(table, &l, NULL, TST_OVERLAP_REJECT, false, false, NULL, &result, &elapsed) != 0)
        rc = report_failure();
    sources_free(&l);
    if (rc != 0)
        return CLI_EXIT_FAIL;
    *out_version = result.version;
    *out_elapsed_ms = (uint64_t)(elapsed * 1000.0);
    return CLI_EXIT_OK;
}

/* skip / replace: what was left out or replaced, after the version line. */
static void print_overlap(const tst_append_result *r, tst_overlap_mode mode)
{
    if (mode == TST_OVERLAP_SKIP)
        printf(" (kept %llu rows, skipped %llu rows in %llu covered buckets)",
               (unsigned long long)r->rows, (unsigned long long)r->rows_skipped,
               (unsigned long long)r->buckets_skipped);
    else if (mode == TST_OVERLAP_REPLACE)
        printf(" (replaced %llu stored rows in %llu buckets: %llu segments removed, %llu "
               "rewritten)", (unsigned long long)r->rows_replaced,
               (unsigned long long)r->buckets_replaced, (unsigned long long)r->segments_removed,
               (unsigned long long)r->segments_rewritten);
}

static int run_append(tst_table *table, const source_list *l, const csv_settings *csv,
                      tst_overlap_mode mode, bool boundary, bool move, cli_signal_guard *guard,
                      bool timing)
{
    tst_append_result result;
    double elapsed = 0;
    int rc = append_all(table, l, &csv->opts, mode, boundary, move, guard->cancel, &result,
                        &elapsed);
    int sig = guard->received;
    if (rc != 0) {
        report_failure();
        return rc == TST_ECANCELLED && sig ? 128 + sig : CLI_EXIT_FAIL;
    }
    if (result.no_op) {
        printf("Nothing appended: every row is in an (entity, bucket) the table already covers "
               "(skipped %llu rows in %llu buckets); table stays at version %llu\n",
               (unsigned long long)result.rows_skipped,
               (unsigned long long)result.buckets_skipped, (unsigned long long)result.version);
        return CLI_EXIT_OK;
    }
    printf("Appended table version: %llu", (unsigned long long)result.version);
    if (l->count > 1)
        printf(" (%zu files)", l->count);
    print_overlap(&result, mode);
    if (move && result.moved == l->count)
        printf(" (moved into the table)");
    else if (move)
        printf(" (moved %llu of %zu files; the others were %s and left in place: a file "
               "moves only when its bytes match the table as they are and it lies on the "
               "table's file system)",
               (unsigned long long)result.moved, l->count,
               result.copied ? "copied" : "copied or rewritten in the table's types");
    if (timing)
        printf(" (elapsed_ms: %llu)", (unsigned long long)(elapsed * 1000.0));
    putchar('\n');
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
    source_list sources = {0};
    csv_settings csv = {0};
    tst_table *table = NULL;
    cli_signal_guard guard;
    cli_guard_start(&guard); /* first: every thread started later inherits the blocked signals */
    int rc = cli_require(&args, "table") ? pick_sources(&args, &sources) : CLI_EXIT_FAIL;
    if (rc == 0)
        rc = csv_settings_from(&args, &csv);
    tst_overlap_mode mode = TST_OVERLAP_REJECT;
    const char *mode_text = cli_get(&args, "on-overlap");
    if (rc == 0 && mode_text && tst_overlap_mode_parse(mode_text, &mode) != 0)
        rc = cli_usage_error("append", "--on-overlap takes reject, skip or replace, got '%s'",
                             mode_text);
    bool move = cli_has(&args, "move");
    if (rc == 0 && move && sources.csv)
        rc = cli_usage_error("append", "--move takes Parquet files (a CSV file is always "
                             "re-encoded): drop --move or append --parquet");
    if (rc == 0)
        rc = cli_open_table(&table, cli_get(&args, "table")) == 0 ? 0 : CLI_EXIT_FAIL;
    if (rc == 0)
        rc = run_append(table, &sources, &csv, mode, cli_has(&args, "allow-boundary-overlap"),
                        move, &guard, cli_has(&args, "timing"));
    cli_guard_stop(&guard);
    tst_table_free(table);
    sources_free(&sources);
    free(csv.columns);
    cli_args_free(&args);
    return rc;
}
