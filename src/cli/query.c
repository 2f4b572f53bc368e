/*
 * query.c — `tstable query`: SQL over tables and Parquet files.
 *
 * Each --table is registered in a SQL session under its folder's name,
 * sanitized the reference's way (non [A-Za-z0-9_] -> '_', a leading
 * non-letter gets "t_", lowercase: ./my-table 1 -> my_table_1), and a note
 * on stderr says which name to use. --parquet NAME=PATH registers files.
 *
 * Three ways to receive the rows:
 *   preview (default)  the first --max-rows rows as a box table, then
 *                      total_rows: N — for people;
 *   --output FILE      every row written to FILE in --format (temp file +
 *                      rename, by the library), after the preview;
 *   --output - , or --format without --output
 *                      every row to stdout in --format and nothing else on
 *                      stdout (notes and timing go to stderr) — for scripts.
 * The preview reads rows as text (tst_session_query_rows) and stops early
 * when a file is being written, since the export counts the rows anyway;
 * a preview alone reads every row to count them. Writing to stdout goes
 * through a temporary file because the library's export writes to a path
 * (and renames into place); this keeps stdout and file bytes identical.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "cli.h"
#include "tstable/error.h"
#include "tstable/session.h"

static const char HELP[] =
    "Run SQL (DuckDB dialect) over tables and Parquet files.\n"
    "\n"
    "Usage: tstable query [--table PATH]... [--parquet NAME=PATH]... --sql SQL\n"
    "                     [--max-rows N] [--format FORMAT] [--output FILE|-]\n"
    "                     [--explain] [--timing]\n"
    "\n"
    "Options:\n"
    "  --table PATH         A table to query; repeatable. It is registered under its folder\n"
    "                       name made SQL-safe (./my-table -> my_table, 123-data ->\n"
    "                       t_123_data); stderr says which name.\n"
    "  --parquet NAME=PATH  A Parquet file (or folder, or glob) to query as NAME; repeatable\n"
    "  --sql SQL            The statement\n"
    "  --max-rows N         Rows in the preview (default 10; 0 = no preview)\n"
    "  --format FORMAT      csv, jsonl, json (one array of row objects) or parquet.\n"
    "                       arrow is not supported: there is no Arrow IPC writer; use parquet.\n"
    "                       With --output FILE the default follows the file's extension\n"
    "                       (.csv .jsonl .json .parquet), else csv. Without --output,\n"
    "                       --format writes every row to stdout (like --output -).\n"
    "  --output FILE        Write every row (not just the preview) to FILE;\n"
    "                       '-' writes every row to stdout instead of the preview\n"
    "  --explain            Print the plan (EXPLAIN) and the segments kept after pruning\n"
    "                       first\n"
    "  --timing             Print elapsed_ms: N, the time the query took\n"
    "  --help               Show this help\n"
    "\n"
    "Examples:\n"
    "  tstable query --table ./my_stocks \\\n"
    "      --sql 'SELECT symbol, avg(close) AS mean FROM my_stocks GROUP BY symbol'\n"
    "  tstable query --table ./bars --parquet refs=refs.parquet \\\n"
    "      --sql 'SELECT * FROM bars JOIN refs USING (symbol)' --format json\n";

static const cli_opt OPTS[] = {
    {"table", NULL, CLI_LIST},     {"parquet", NULL, CLI_LIST}, {"sql", NULL, CLI_VALUE},
    {"max-rows", NULL, CLI_VALUE}, {"format", NULL, CLI_VALUE}, {"output", NULL, CLI_VALUE},
    {"explain", NULL, CLI_FLAG},   {"timing", NULL, CLI_FLAG},
};

typedef struct query_plan {
    const char *sql;
    uint64_t max_rows;
    const char *format; /* "csv", "jsonl", "json", "parquet" */
    const char *label;  /* "Csv", ... for the "wrote:" line */
    const char *output; /* NULL: preview only */
    bool to_stdout;     /* every row to stdout, no preview */
    bool explain;
    bool timing;
} query_plan;

/* ---- registration -------------------------------------------------------- */

/* The reference's table name: the folder's name made into a SQL identifier. */
static char *table_name(const char *root)
{
    char *copy = cli_xstrdup(root);
    size_t len = strlen(copy);
    while (len > 1 && copy[len - 1] == '/')
        copy[--len] = '\0';
    const char *slash = strrchr(copy, '/');
    const char *base = slash ? slash + 1 : copy;
    char *resolved = NULL;
    if (strcmp(base, ".") == 0 || strcmp(base, "..") == 0) {
        resolved = realpath(copy, NULL); /* "." says nothing; its real name does */
        const char *r = resolved ? strrchr(resolved, '/') : NULL;
        base = r ? r + 1 : "";
    }
    bool prefix = base[0] != '\0' &&
                  !((base[0] >= 'a' && base[0] <= 'z') || (base[0] >= 'A' && base[0] <= 'Z'));
    char *name = cli_xmalloc(strlen(base) + 3);
    size_t n = 0;
    if (prefix)
        name[n++] = 't', name[n++] = '_';
    for (const char *p = base; *p; p++) {
        char c = *p;
        bool ok =
            (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_';
        name[n++] = !ok ? '_' : (c >= 'A' && c <= 'Z') ? (char)(c - 'A' + 'a') : c;
    }
    if (n == 0)
        name[n++] = 't';
    name[n] = '\0';
    free(resolved);
    free(copy);
    return name;
}

static int register_tables(tst_session *s, const cli_args *args)
{
    size_t n = 0;
    const char *const *roots = cli_list(args, "table", &n);
    for (size_t i = 0; i < n; i++) {
        char *name = table_name(roots[i]);
        int rc = 0;
        if (tst_session_table_root(s, name))
            rc = cli_fail("Two --table folders would both be registered as '%s' (%s); "
                          "rename one folder",
                          name, roots[i]);
        else if (tst_session_register_table(s, name, roots[i]) != 0)
            rc = cli_fail_lib("Failed to register table"); /* names root and name */
        else
            fprintf(stderr, "Registered table as '%s' (quoted: \"%s\")\n", name, name);
        free(name);
        if (rc != 0)
            return rc;
    }
    return 0;
}

/* Checked with the other options, before anything is opened. */
static int check_parquet_specs(const cli_args *args)
{
    size_t n = 0;
    const char *const *specs = cli_list(args, "parquet", &n);
    for (size_t i = 0; i < n; i++) {
        const char *eq = strchr(specs[i], '=');
        if (!eq || eq == specs[i] || eq[1] == '\0')
            return cli_fail("Invalid --parquet '%s': expected NAME=PATH, e.g. "
                            "--parquet refs=refs.parquet",
                            specs[i]);
    }
    return 0;
}

static int register_parquets(tst_session *s, const cli_args *args)
{
    size_t n = 0;
    const char *const *specs = cli_list(args, "parquet", &n);
    for (size_t i = 0; i < n; i++) {
        const char *eq = strchr(specs[i], '=');
        char *name = cli_xsprintf("%.*s", (int)(eq - specs[i]), specs[i]);
        int rc = tst_session_register_parquet(s, name, eq + 1);
        if (rc != 0)
            cli_fail("Failed to register Parquet %s as '%s': %s", eq + 1, name,
                     tst_error_last()->message);
        free(name);
        if (rc != 0)
            return CLI_EXIT_FAIL;
    }
    return 0;
}

/* ---- preview ------------------------------------------------------------- */

static bool is_float_type(const char *type)
{
    return type &&
           (strcmp(type, "DOUBLE") == 0 || strcmp(type, "FLOAT") == 0 || strcmp(type, "REAL") == 0);
}

/* One row as display cells: floats shortened, NULL shown as NULL. */
static void add_display_row(cli_grid *grid, tst_rows *rows, char **cells, char (*floats)[64])
{
    for (size_t c = 0; c < grid->cols; c++) {
        const char *v = tst_rows_value(rows, c);
        cells[c] = (char *)(v ? v : "NULL");
        if (v && is_float_type(tst_rows_column_type(rows, c))) {
            cli_format_float(strtod(v, NULL), floats[c], sizeof floats[c]);
            cells[c] = floats[c];
        }
    }
    cli_grid_add(grid, (const char *const *)cells);
}

/*
 * Runs sql and collects its header and first `limit` rows into grid. With
 * count_all, reads on to count every row into *total; else stops at limit.
 */
static int read_rows(tst_session *s, const char *sql, uint64_t limit, bool count_all,
                     cli_grid *grid, uint64_t *total)
{
    tst_rows *rows = NULL;
    if (tst_session_query_rows(s, sql, NULL, 0, &rows) != 0)
        return cli_fail_lib("Query failed");
    size_t cols = tst_rows_column_count(rows);
    char **cells = cli_xmalloc(cols * sizeof *cells);
    char(*floats)[64] = cli_xmalloc(cols * sizeof *floats);
    cli_grid_init(grid, cols);
    for (size_t c = 0; c < cols; c++)
        cells[c] = (char *)tst_rows_column_name(rows, c);
    cli_grid_add(grid, (const char *const *)cells);
    int rc = 0, more;
    *total = 0;
    while ((count_all || *total < limit) && (more = tst_rows_next(rows)) != 0) {
        if (more < 0) {
            rc = cli_fail_lib("Query failed");
            break;
        }
        if (*total < limit)
            add_display_row(grid, rows, cells, floats);
        (*total)++;
    }
    free(floats);
    free(cells);
    tst_rows_free(rows);
    return rc;
}

static int print_explain(tst_session *s, const char *sql, FILE *out)
{
    char *explain = cli_xsprintf("EXPLAIN %s", sql);
    cli_grid grid;
    uint64_t total = 0;
    int rc = read_rows(s, explain, UINT64_MAX, true, &grid, &total);
    if (rc == 0) {
        tst_prune_stats prune = {0, 0};
        tst_session_last_prune(s, &prune);
        cli_grid_print(&grid, out, NULL);
        fprintf(out, "segments kept after pruning: %llu of %llu\n",
                (unsigned long long)prune.kept_segments,
                (unsigned long long)prune.candidate_segments);
    }
    cli_grid_free(&grid);
    free(explain);
    return rc;
}

/* ---- writing every row --------------------------------------------------- */

static int copy_to_stdout(const char *path)
{
    FILE *in = fopen(path, "rb");
    if (!in)
        return cli_fail("Failed to read back %s: %s", path, strerror(errno));
    char buf[1 << 16];
    size_t n;
    int rc = 0;
    while ((n = fread(buf, 1, sizeof buf, in)) > 0)
        if (fwrite(buf, 1, n, stdout) != n) {
            rc = cli_fail("Failed to write to stdout: %s", strerror(errno));
            break;
        }
    fclose(in);
    return rc;
}

/* Exports into a private temporary folder, then streams the file to stdout. */
static int export_to_stdout(tst_session *s, const query_plan *plan, uint64_t *rows)
{
    const char *tmp = getenv("TMPDIR");
    char *dir = cli_xsprintf("%s/tstable-query-XXXXXX", tmp && *tmp ? tmp : "/tmp");
    if (!mkdtemp(dir)) {
        int rc = cli_fail("Failed to create a temporary folder %s: %s", dir, strerror(errno));
        free(dir);
        return rc;
    }
    char *path = cli_xsprintf("%s/result.%s", dir, plan->format);
    int rc = tst_session_export(s, plan->sql, NULL, 0, plan->format, path, rows) != 0
                 ? cli_fail_lib("Query failed")
                 : copy_to_stdout(path);
    unlink(path);
    rmdir(dir);
    free(path);
    free(dir);
    return rc;
}

static int export_to_file(tst_session *s, const query_plan *plan, uint64_t *rows)
{
    if (tst_session_export(s, plan->sql, NULL, 0, plan->format, plan->output, rows) == 0)
        return 0;
    const tst_error *e = tst_error_last();
    if (e->code == TST_ESQL)
        return cli_fail("Query failed: %s", e->message);
    return cli_fail("Failed to write %s: %s", plan->output, e->message);
}

/* ---- the run ------------------------------------------------------------- */

static double now_ms(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec * 1000.0 + (double)t.tv_nsec / 1e6;
}

static void print_preview(const cli_grid *grid, uint64_t shown, uint64_t total, uint64_t max)
{
    if (shown > 0)
        cli_grid_print(grid, stdout, "Preview output");
    else if (total > 0 && max == 0)
        puts("(preview suppressed; use --max-rows > 0)");
    if (total == 0)
        puts("(no rows)");
    printf("total_rows: %llu\n", (unsigned long long)total);
}

static int run_preview_and_file(tst_session *s, const query_plan *plan)
{
    cli_grid grid;
    uint64_t total = 0, previewed = 0;
    cli_grid_init(&grid, 0);
    double t0 = now_ms();
    int rc = 0;
    /* Without a file the preview query is the only one, so it counts every row. */
    if (plan->max_rows > 0 || !plan->output)
        rc = read_rows(s, plan->sql, plan->max_rows, plan->output == NULL, &grid, &previewed);
    if (rc == 0 && plan->output)
        rc = export_to_file(s, plan, &total);
    else
        total = previewed;
    double elapsed = now_ms() - t0;
    if (rc == 0) {
        print_preview(&grid, previewed < plan->max_rows ? previewed : plan->max_rows, total,
                      plan->max_rows);
        if (plan->timing)
            printf("elapsed_ms: %llu\n", (unsigned long long)elapsed);
        if (plan->output)
            printf("wrote: %s (%s)\n", plan->output, plan->label);
    }
    cli_grid_free(&grid);
    return rc;
}

static int run_to_stdout(tst_session *s, const query_plan *plan)
{
    uint64_t rows = 0;
    if (plan->format[0] == 'p' && isatty(STDOUT_FILENO))
        return cli_fail("Refusing to write Parquet to a terminal: use --output FILE, or "
                        "redirect stdout");
    double t0 = now_ms();
    int rc = export_to_stdout(s, plan, &rows);
    if (rc == 0 && plan->timing)
        fprintf(stderr, "elapsed_ms: %llu\n", (unsigned long long)(now_ms() - t0));
    return rc;
}

static int run(const query_plan *plan, const cli_args *args)
{
    tst_session *s = NULL;
    if (tst_session_open(&s) != 0)
        return cli_fail_lib("Failed to start the SQL engine");
    int rc = register_tables(s, args);
    if (rc == 0)
        rc = register_parquets(s, args);
    if (rc == 0 && plan->explain)
        rc = print_explain(s, plan->sql, plan->to_stdout ? stderr : stdout);
    if (rc == 0)
        rc = plan->to_stdout ? run_to_stdout(s, plan) : run_preview_and_file(s, plan);
    tst_session_free(s);
    return rc;
}

/* ---- options ------------------------------------------------------------- */

static const struct {
    const char *name, *label, *ext;
} FORMATS[] = {
    {"csv", "Csv", ".csv"},
    {"jsonl", "Jsonl", ".jsonl"},
    {"json", "Json", ".json"},
    {"parquet", "Parquet", ".parquet"},
};
#define FORMAT_COUNT (sizeof FORMATS / sizeof FORMATS[0])

static bool ends_with(const char *s, const char *suffix)
{
    size_t a = strlen(s), b = strlen(suffix);
    return a >= b && strcmp(s + a - b, suffix) == 0;
}

static int pick_format(const char *format, const char *output, query_plan *plan)
{
    size_t pick = 0; /* csv, the reference's default */
    if (format) {
        if (strcmp(format, "arrow") == 0)
            return cli_fail("Invalid --format arrow: not supported (this build has no Arrow IPC "
                            "writer); use --format parquet");
        while (pick < FORMAT_COUNT && strcmp(FORMATS[pick].name, format) != 0)
            pick++;
        if (pick == FORMAT_COUNT)
            return cli_fail("Invalid --format '%s': expected csv, jsonl, json or parquet", format);
    } else if (output) {
        for (size_t i = 0; i < FORMAT_COUNT; i++)
            if (ends_with(output, FORMATS[i].ext))
                pick = i;
    }
    plan->format = FORMATS[pick].name;
    plan->label = FORMATS[pick].label;
    return 0;
}

static int make_plan(const cli_args *args, query_plan *plan)
{
    memset(plan, 0, sizeof *plan);
    if (!cli_require(args, "sql"))
        return CLI_EXIT_FAIL;
    plan->sql = cli_get(args, "sql");
    if (plan->sql[0] == '\0')
        return cli_fail("Invalid --sql: the statement is empty");
    const char *max = cli_get(args, "max-rows");
    plan->max_rows = 10;
    if (max && !cli_parse_u64(max, &plan->max_rows))
        return cli_fail("Invalid --max-rows '%s': expected a non-negative integer", max);
    const char *format = cli_get(args, "format"), *output = cli_get(args, "output");
    if (output && output[0] == '\0')
        return cli_fail("Invalid --output: the path is empty");
    plan->to_stdout = (output && strcmp(output, "-") == 0) || (format && !output);
    plan->output = plan->to_stdout ? NULL : output;
    if (check_parquet_specs(args) != 0)
        return CLI_EXIT_FAIL;
    plan->explain = cli_has(args, "explain");
    plan->timing = cli_has(args, "timing");
    return pick_format(format, plan->output, plan);
}

int cli_cmd_query(int argc, char **argv)
{
    cli_args args;
    query_plan plan;
    int parsed = cli_parse(&args, "query", HELP, OPTS, sizeof OPTS / sizeof OPTS[0], argc, argv);
    int rc = cli_parse_exit(parsed);
    if (parsed == CLI_PARSED) {
        rc = make_plan(&args, &plan);
        if (rc == 0)
            rc = run(&plan, &args);
    }
    cli_args_free(&args);
    return rc;
}
