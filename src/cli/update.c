/*
 * update.c — `tstable update`: keyed updates of stored values
 * (tstable/update.h) from a Parquet or CSV file, printing what it did.
 *
 * The reference has no CLI command for update_rows; this one prints the
 * keys of its Python UpdateRowsReport, one per line ("rows_updated: 2"), or
 * one JSON object with --json. --expected-version defaults to the version
 * the command opens; give it to be sure nobody changed the table since you
 * looked. Errors are one line, "update failed for table <T>: <why>", exit
 * code 1. Ctrl-C or SIGTERM cancels it (signals.c): nothing is committed.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "tstable/error.h"
#include "tstable/table.h"
#include "tstable/update.h"

static const char HELP[] =
    "Set columns of existing rows, named by their key, in one commit.\n"
    "\n"
    "Usage: tstable update --table PATH (--parquet FILE | --csv FILE) --set COL[,COL...]\n"
    "                      [--expected-version N] [--strict] [--json]\n"
    "\n"
    "A row's key is its entity columns plus its exact index value. The source file\n"
    "holds exactly the key columns and the columns named by --set, one row per row\n"
    "to change; each key must name exactly one stored row, and appear once. Other\n"
    "columns keep their values; an empty cell (null) clears a nullable column. Only\n"
    "the segments holding those rows are rewritten (same rows, same order); coverage\n"
    "does not change. If another writer appends meanwhile, the update commits on top\n"
    "of it; if that writer replaced one of the same segments, it fails and writes\n"
    "nothing. Ctrl-C or SIGTERM cancels it: nothing is committed.\n"
    "\n"
    "Options:\n"
    "  --table PATH            The table\n"
    "  --parquet FILE          The new values, as a Parquet file\n"
    "  --csv FILE              The new values, as a CSV file with a header\n"
    "  --set COL[,COL...]      The columns to set (repeatable)\n"
    "  --expected-version N    Fail unless the table is at version N (default: the\n"
    "                          version it is at when the command starts)\n"
    "  --strict                Fail if anyone commits while the update runs\n"
    "  --json                  Print the report as one JSON object\n"
    "  --help                  Show this help\n"
    "\n"
    "Output (one key per line): starting_version, committed_version, rows_updated,\n"
    "segments_rewritten, source_file_bytes, replacement_file_bytes, no_op.\n"
    "\n"
    "Example:\n"
    "  tstable update --table ./my_stocks --csv fixes.csv --set close,volume\n";

static const cli_opt OPTS[] = {
    {"table", NULL, CLI_VALUE},   {"parquet", NULL, CLI_VALUE},
    {"csv", NULL, CLI_VALUE},     {"set", NULL, CLI_LIST},
    {"expected-version", NULL, CLI_VALUE}, {"strict", NULL, CLI_FLAG},
    {"json", NULL, CLI_FLAG},
};

static void print_text(const tst_update_report *r)
{
    printf("starting_version: %llu\n", (unsigned long long)r->starting_version);
    printf("committed_version: %llu\n", (unsigned long long)r->committed_version);
    printf("rows_updated: %llu\n", (unsigned long long)r->rows_updated);
    printf("segments_rewritten: %llu\n", (unsigned long long)r->segments_rewritten);
    printf("source_file_bytes: %llu\n", (unsigned long long)r->source_file_bytes);
    printf("replacement_file_bytes: %llu\n", (unsigned long long)r->replacement_file_bytes);
    printf("no_op: %s\n", r->no_op ? "true" : "false");
}

static void print_json(const tst_update_report *r)
{
    printf("{\"starting_version\":%llu,\"committed_version\":%llu,\"rows_updated\":%llu,"
           "\"segments_rewritten\":%llu,\"source_file_bytes\":%llu,"
           "\"replacement_file_bytes\":%llu,\"no_op\":%s,\"attempts\":%u}\n",
           (unsigned long long)r->starting_version, (unsigned long long)r->committed_version,
           (unsigned long long)r->rows_updated, (unsigned long long)r->segments_rewritten,
           (unsigned long long)r->source_file_bytes,
           (unsigned long long)r->replacement_file_bytes, r->no_op ? "true" : "false",
           r->attempts);
}

/* The --set values split at commas, into a NULL-terminated malloc'd array. */
static char **split_columns(const cli_args *args, size_t *out_n)
{
    size_t n = 0, given = 0;
    const char *const *sets = cli_list(args, "set", &given);
    char **cols = NULL;
    for (size_t i = 0; i < given; i++) {
        char *copy = cli_xstrdup(sets[i]), *save = NULL;
        for (char *c = strtok_r(copy, ",", &save); c; c = strtok_r(NULL, ",", &save)) {
            cols = cli_xrealloc(cols, (n + 2) * sizeof *cols);
            cols[n++] = cli_xstrdup(c);
            cols[n] = NULL;
        }
        free(copy);
    }
    *out_n = n;
    return cols;
}

static void free_columns(char **cols, size_t n)
{
    for (size_t i = 0; i < n; i++)
        free(cols[i]);
    free(cols);
}

static int check_args(const cli_args *args, uint64_t *expected)
{
    if (!cli_require(args, "table"))
        return CLI_EXIT_FAIL;
    bool parquet = cli_has(args, "parquet"), csv = cli_has(args, "csv");
    if (parquet == csv)
        return cli_usage_error("update", "give exactly one of --parquet FILE and --csv FILE");
    if (!cli_has(args, "set"))
        return cli_usage_error("update", "missing --set COL[,COL...]: the columns to set");
    const char *v = cli_get(args, "expected-version");
    if (v && (!cli_parse_u64(v, expected) || *expected == 0))
        return cli_usage_error("update", "invalid --expected-version '%s': a version number "
                               "(1 or more)", v);
    return 0;
}

static int update(const cli_args *args, uint64_t expected, cli_signal_guard *guard)
{
    const char *root = cli_get(args, "table");
    tst_table *table = NULL;
    if (cli_open_table(&table, root) != 0)
        return CLI_EXIT_FAIL;
    size_t n = 0;
    char **cols = split_columns(args, &n);
    tst_update_source src = {.parquet_path = cli_get(args, "parquet"),
                             .csv_path = cli_get(args, "csv")};
    tst_update_options opts = TST_UPDATE_OPTIONS_INIT;
    opts.expected_version = expected ? expected : tst_table_version(table);
    opts.strict = cli_has(args, "strict");
    opts.cancel = guard->cancel;
    tst_update_report report;
    int rc = tst_table_update_rows(table, &src, (const char *const *)cols, n, &opts, &report);
    tst_table_free(table);
    free_columns(cols, n);
    if (rc == TST_ECANCELLED && guard->received) {
        cli_fail("update cancelled; nothing was committed");
        return 128 + guard->received;
    }
    if (rc != 0) {
        char *context = cli_xsprintf("update failed for table %s", root);
        cli_fail_lib(context);
        free(context);
        return CLI_EXIT_FAIL;
    }
    cli_has(args, "json") ? print_json(&report) : print_text(&report);
    return CLI_EXIT_OK;
}

int cli_cmd_update(int argc, char **argv)
{
    cli_args args;
    int parsed = cli_parse(&args, "update", HELP, OPTS, sizeof OPTS / sizeof OPTS[0], argc, argv);
    int rc = cli_parse_exit(parsed);
    uint64_t expected = 0;
    if (parsed == CLI_PARSED && (rc = check_args(&args, &expected)) == 0) {
        cli_signal_guard guard;
        cli_guard_start(&guard); /* before DuckDB starts its threads */
        rc = update(&args, expected, &guard);
        cli_guard_stop(&guard);
    }
    cli_args_free(&args);
    return rc;
}
