/*
 * run_query.c — running one SQL statement and showing its rows, for both
 * `tstable query` and the interactive `tstable shell`.
 *
 * Both commands take the same knobs (--max-rows, --format, --output,
 * --explain, --timing) and must print the same thing for the same
 * statement, so the plan and the run live here and the two commands only
 * differ in how they collect options and register tables. Three ways to
 * receive the rows:
 *   preview (default)  the first max_rows rows as a box table, then
 *                      total_rows: N — for people;
 *   output FILE        every row written to FILE in the format (temp file +
 *                      rename, by the library), after the preview;
 *   output "-", or a format without an output
 *                      every row to stdout in the format and nothing else on
 *                      stdout (notes and timing go to stderr) — for scripts.
 * The preview reads rows as text (tst_session_query_rows) and stops early
 * when a file is being written, since the export counts the rows anyway;
 * a preview alone reads every row to count them. Writing to stdout goes
 * through a temporary file because the library's export writes to a path
 * (and renames into place); this keeps stdout and file bytes identical.
 *
 * Also here: the name a table folder is registered under, which both
 * commands announce.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "cli.h"
#include "tstable/error.h"

/* ---- the registration name ----------------------------------------------- */

char *cli_table_name(const char *root)
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

/* ---- the plan ------------------------------------------------------------ */

/* A format, and the file extensions that pick it when --format is absent. */
static const struct {
    const char *name, *label, *ext, *ext2;
    bool binary; /* never written to a terminal */
} FORMATS[] = {
    {"csv", "Csv", ".csv", NULL, false},
    {"jsonl", "Jsonl", ".jsonl", NULL, false},
    {"json", "Json", ".json", NULL, false},
    {"parquet", "Parquet", ".parquet", NULL, true},
    {"arrow", "Arrow", ".arrow", ".feather", true},
    {"arrows", "Arrow stream", ".arrows", NULL, true},
};
#define FORMAT_COUNT (sizeof FORMATS / sizeof FORMATS[0])

/* Parquet and Arrow bytes would garble a terminal. */
static bool format_is_binary(const char *name)
{
    for (size_t i = 0; i < FORMAT_COUNT; i++)
        if (strcmp(FORMATS[i].name, name) == 0)
            return FORMATS[i].binary;
    return false;
}

static bool ends_with(const char *s, const char *suffix)
{
    size_t a = strlen(s), b = strlen(suffix);
    return a >= b && strcmp(s + a - b, suffix) == 0;
}

static int pick_format(const char *format, const char *output, cli_query_plan *plan)
{
    size_t pick = 0; /* csv, the reference's default */
    if (format) {
        while (pick < FORMAT_COUNT && strcmp(FORMATS[pick].name, format) != 0)
            pick++;
        if (pick == FORMAT_COUNT)
            return cli_fail("Invalid --format '%s': expected csv, jsonl, json, parquet, arrow or "
                            "arrows",
                            format);
    } else if (output) {
        for (size_t i = 0; i < FORMAT_COUNT; i++)
            if (ends_with(output, FORMATS[i].ext) ||
                (FORMATS[i].ext2 && ends_with(output, FORMATS[i].ext2)))
                pick = i;
    }
    plan->format = FORMATS[pick].name;
    plan->label = FORMATS[pick].label;
    return 0;
}

int cli_query_plan_init(cli_query_plan *plan, const char *sql, const char *max_rows,
                        const char *format, const char *output)
{
    memset(plan, 0, sizeof *plan);
    plan->sql = sql;
    if (sql[0] == '\0')
        return cli_fail("Invalid --sql: the statement is empty");
    plan->max_rows = 10;
    if (max_rows && !cli_parse_u64(max_rows, &plan->max_rows))
        return cli_fail("Invalid --max-rows '%s': expected a non-negative integer", max_rows);
    if (output && output[0] == '\0')
        return cli_fail("Invalid --output: the path is empty");
    plan->to_stdout = (output && strcmp(output, "-") == 0) || (format && !output);
    plan->output = plan->to_stdout ? NULL : output;
    return pick_format(format, plan->output, plan);
}

/* ---- preview ------------------------------------------------------------- */

/* Values wider than this many terminal columns are cut with "…" in the preview. */
#define PREVIEW_CELL_MAX 48

/*
 * One row as display cells. SQL NULL prints as NULL, and a text value that
 * reads NULL (or is empty) is quoted ('NULL', '') so the two never look
 * alike; control characters are escaped and long values cut.
 */
static void add_display_row(cli_grid *grid, tst_rows *rows, char **cells, bool raw)
{
    for (size_t c = 0; c < grid->cols; c++) {
        const char *v = tst_rows_value(rows, c);
        const char *type = tst_rows_column_type(rows, c);
        bool text = type && strcmp(type, "VARCHAR") == 0;
        if (!v)
            cells[c] = cli_xstrdup("NULL");
        else if (raw) /* EXPLAIN's plan: one multi-line cell, drawn as is */
            cells[c] = cli_xstrdup(v);
        else if (text && (strcmp(v, "NULL") == 0 || v[0] == '\0'))
            cells[c] = cli_xsprintf("'%s'", v);
        else
            cells[c] = cli_preview_cell(v, PREVIEW_CELL_MAX);
    }
    cli_grid_add(grid, (const char *const *)cells);
    for (size_t c = 0; c < grid->cols; c++)
        free(cells[c]);
}

/*
 * Runs sql and collects its header and first `limit` rows into grid. With
 * count_all, reads on to count every row into *total; else stops at limit.
 */
static int read_rows(tst_session *s, const char *sql, uint64_t limit, bool count_all, bool raw,
                     cli_grid *grid, uint64_t *total)
{
    tst_rows *rows = NULL;
    if (tst_session_query_rows(s, sql, NULL, 0, &rows) != 0)
        return cli_fail_lib("Query failed");
    size_t cols = tst_rows_column_count(rows);
    char **cells = cli_xmalloc(cols * sizeof *cells);
    cli_grid_init(grid, cols);
    for (size_t c = 0; c < cols; c++)
        cells[c] = (char *)tst_rows_column_name(rows, c);
    /* EXPLAIN [ANALYZE] typed as a query: its plan is drawn whole too */
    raw |= cols == 2 && strcmp(cells[0], "explain_key") == 0 &&
           strcmp(cells[1], "explain_value") == 0;
    cli_grid_add(grid, (const char *const *)cells);
    int rc = 0, more;
    *total = 0;
    while ((count_all || *total < limit) && (more = tst_rows_next(rows)) != 0) {
        if (more < 0) {
            rc = cli_fail_lib("Query failed");
            break;
        }
        if (*total < limit)
            add_display_row(grid, rows, cells, raw);
        (*total)++;
    }
    free(cells);
    tst_rows_free(rows);
    return rc;
}

/* What the coverage check looked at, one line per table (--explain). */
static void print_coverage_checked(tst_session *s, FILE *out)
{
    const tst_coverage_report *r = tst_session_last_coverage(s);
    for (size_t i = 0; r && i < r->table_count; i++) {
        const tst_coverage_checked *c = &r->tables[i];
        char a[TST_BUCKET_TEXT_MAX], b[TST_BUCKET_TEXT_MAX];
        if (!c->readable) {
            fprintf(out, "coverage checked: %s, not readable by the planner\n", c->table);
            continue;
        }
        if (c->empty) {
            fprintf(out, "coverage checked: %s, nothing read\n", c->table);
            continue;
        }
        tst_index_value_format(&c->start, a, sizeof a);
        tst_index_value_format(&c->end, b, sizeof b);
        fprintf(out, "coverage checked: %s [%s, %s%c for %zu entit%s, %llu slots, %llu missing%s\n",
                c->table, a, b, c->end_inclusive ? ']' : ')', c->entities,
                c->entities == 1 ? "y" : "ies", (unsigned long long)c->asked_buckets,
                (unsigned long long)c->missing_buckets, c->widened ? " (widened)" : "");
    }
}

/* Under --warn-coverage: the check's findings, once, on stderr. */
static void warn_coverage(tst_session *s)
{
    const tst_coverage_report *r = tst_session_last_coverage(s);
    if (r && r->mode == TST_COVERAGE_WARN && !r->complete)
        fprintf(stderr, "warning: %s\n", r->message);
}

static int print_explain(tst_session *s, const char *sql, FILE *out)
{
    char *explain = cli_xsprintf("EXPLAIN %s", sql);
    cli_grid grid;
    uint64_t total = 0;
    cli_grid_init(&grid, 0); /* freed below even when the query fails */
    int rc = read_rows(s, explain, UINT64_MAX, true, true, &grid, &total);
    if (rc == 0) {
        tst_prune_stats prune = {0, 0, 0, 0};
        tst_session_last_prune(s, &prune);
        cli_grid_print(&grid, out, NULL);
        fprintf(out, "segments kept after pruning: %llu of %llu\n",
                (unsigned long long)prune.kept_segments,
                (unsigned long long)prune.candidate_segments);
        fprintf(out, "segments skipped: %llu by index range, %llu by coverage bitmap\n",
                (unsigned long long)prune.range_skipped_segments,
                (unsigned long long)prune.bitmap_skipped_segments);
        print_coverage_checked(s, out);
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
static int export_to_stdout(tst_session *s, const cli_query_plan *plan, uint64_t *rows)
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

static int export_to_file(tst_session *s, const cli_query_plan *plan, uint64_t *rows)
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

static void print_preview(const cli_grid *grid, uint64_t shown, uint64_t total, uint64_t max,
                          bool to_file)
{
    if (shown > 0)
        cli_grid_print(grid, stdout, "Preview output");
    else if (total > 0 && max == 0 && !to_file)
        puts("(preview suppressed; use --max-rows > 0)");
    if (total == 0)
        puts("(no rows)");
    printf("total_rows: %llu\n", (unsigned long long)total);
}

static int run_preview_and_file(tst_session *s, const cli_query_plan *plan)
{
    cli_grid grid;
    uint64_t total = 0, previewed = 0;
    cli_grid_init(&grid, 0);
    double t0 = now_ms();
    int rc = 0;
    /* Without a file the preview query is the only one, so it counts every row. */
    if (plan->max_rows > 0 || !plan->output)
        rc = read_rows(s, plan->sql, plan->max_rows, plan->output == NULL, false, &grid,
                      &previewed);
    if (rc == 0 && plan->output)
        rc = export_to_file(s, plan, &total);
    else
        total = previewed;
    double elapsed = now_ms() - t0;
    if (rc == 0) {
        print_preview(&grid, previewed < plan->max_rows ? previewed : plan->max_rows, total,
                      plan->max_rows, plan->output != NULL);
        if (plan->timing)
            printf("elapsed_ms: %llu\n", (unsigned long long)elapsed);
        if (plan->output)
            printf("wrote: %s (%s)\n", plan->output, plan->label);
    }
    cli_grid_free(&grid);
    return rc;
}

static int run_to_stdout(tst_session *s, const cli_query_plan *plan)
{
    uint64_t rows = 0;
    if (format_is_binary(plan->format) && isatty(STDOUT_FILENO))
        return cli_fail("Refusing to write %s to a terminal: use --output FILE, or "
                        "redirect stdout",
                        plan->label);
    double t0 = now_ms();
    int rc = export_to_stdout(s, plan, &rows);
    if (rc == 0 && plan->timing)
        fprintf(stderr, "elapsed_ms: %llu\n", (unsigned long long)(now_ms() - t0));
    return rc;
}

int cli_query_run(tst_session *s, const cli_query_plan *plan)
{
    int rc = 0;
    if (plan->explain)
        rc = print_explain(s, plan->sql, plan->to_stdout ? stderr : stdout);
    if (rc == 0)
        rc = plan->to_stdout ? run_to_stdout(s, plan) : run_preview_and_file(s, plan);
    warn_coverage(s);
    return rc;
}
