/*
 * optimize.c — `tstable optimize`: entity-layout optimization of a table
 * (tstable/optimize.h), printing the report.
 *
 * The output is the reference CLI's, key by key ("starting_version: 2" ...
 * "no_op: false"), so scripts written against it keep working; --json prints
 * the same keys as one JSON object (plus attempts). Errors are the
 * reference's one line, "Entity-layout optimization failed for table <T>:
 * <why>", exit code 1. The library does the work in one blocking call and
 * leaves the table as it was on any failure. Ctrl-C or SIGTERM cancels it
 * (signals.c): the files it wrote are removed, nothing is committed, and
 * the command exits 128 + the signal with "optimize cancelled; nothing was
 * committed".
 */
#include <stdio.h>
#include <stdlib.h>

#include "cli.h"
#include "tstable/error.h"
#include "tstable/optimize.h"

static const char HELP[] =
    "Rewrite every segment that holds rows of several entities into single-entity\n"
    "segments, in one commit.\n"
    "\n"
    "Usage: tstable optimize --table PATH [--json]\n"
    "\n"
    "An append of a file with many entities (symbols, sensors) makes one 'mixed'\n"
    "segment, which every query for any of those entities must open. optimize\n"
    "splits each mixed segment into one segment per entity, sorted by entity then\n"
    "index, so a query for one entity skips the others' files. Rows, coverage and\n"
    "query results do not change; the replaced files stay on disk, unreferenced.\n"
    "A table without mixed segments is left as it is (no_op: true). Tables without\n"
    "entity columns are refused. If another writer commits meanwhile, optimize\n"
    "commits on top of it; if that writer replaced the same segments, it fails\n"
    "and writes nothing. It does not merge small files: compaction modes come later.\n"
    "Ctrl-C or SIGTERM cancels it: the files it wrote are removed, nothing is committed.\n"
    "\n"
    "Options:\n"
    "  --table PATH  The table\n"
    "  --json        Print the report as one JSON object\n"
    "  --help        Show this help\n"
    "\n"
    "Output (one key per line): starting_version, committed_version,\n"
    "candidate_source_segments, source_segments_replaced, replacement_segments_written,\n"
    "distinct_identities_materialized, rows_read, rows_written, no_op.\n"
    "\n"
    "Example:\n"
    "  tstable optimize --table ./my_stocks\n";

static const cli_opt OPTS[] = {
    {"table", NULL, CLI_VALUE},
    {"json", NULL, CLI_FLAG},
};

static void print_text(const tst_optimize_report *r)
{
    printf("starting_version: %llu\n", (unsigned long long)r->starting_version);
    printf("committed_version: %llu\n", (unsigned long long)r->committed_version);
    printf("candidate_source_segments: %llu\n", (unsigned long long)r->candidate_source_segments);
    printf("source_segments_replaced: %llu\n", (unsigned long long)r->source_segments_replaced);
    printf("replacement_segments_written: %llu\n",
           (unsigned long long)r->replacement_segments_written);
    printf("distinct_identities_materialized: %llu\n",
           (unsigned long long)r->distinct_identities_materialized);
    printf("rows_read: %llu\n", (unsigned long long)r->rows_read);
    printf("rows_written: %llu\n", (unsigned long long)r->rows_written);
    printf("no_op: %s\n", r->no_op ? "true" : "false");
}

static void print_json(const tst_optimize_report *r)
{
    printf("{\"starting_version\":%llu,\"committed_version\":%llu,"
           "\"candidate_source_segments\":%llu,\"source_segments_replaced\":%llu,"
           "\"replacement_segments_written\":%llu,\"distinct_identities_materialized\":%llu,"
           "\"rows_read\":%llu,\"rows_written\":%llu,\"no_op\":%s,\"attempts\":%u}\n",
           (unsigned long long)r->starting_version, (unsigned long long)r->committed_version,
           (unsigned long long)r->candidate_source_segments,
           (unsigned long long)r->source_segments_replaced,
           (unsigned long long)r->replacement_segments_written,
           (unsigned long long)r->distinct_identities_materialized,
           (unsigned long long)r->rows_read, (unsigned long long)r->rows_written,
           r->no_op ? "true" : "false", r->attempts);
}

static int optimize(const char *root, bool json, cli_signal_guard *guard)
{
    tst_table *table = NULL;
    if (cli_open_table(&table, root) != 0)
        return CLI_EXIT_FAIL;
    tst_optimize_options opts = TST_OPTIMIZE_OPTIONS_INIT;
    opts.cancel = guard->cancel;
    tst_optimize_report report;
    int rc = tst_table_optimize(table, &opts, &report);
    tst_table_free(table);
    if (rc == TST_ECANCELLED && guard->received) {
        cli_fail("optimize cancelled; nothing was committed");
        return 128 + guard->received;
    }
    if (rc != 0) {
        char *context = cli_xsprintf("Entity-layout optimization failed for table %s", root);
        cli_fail_lib(context);
        free(context);
        return CLI_EXIT_FAIL;
    }
    json ? print_json(&report) : print_text(&report);
    return CLI_EXIT_OK;
}

int cli_cmd_optimize(int argc, char **argv)
{
    cli_args args;
    int parsed = cli_parse(&args, "optimize", HELP, OPTS, sizeof OPTS / sizeof OPTS[0], argc,
                           argv);
    int rc = cli_parse_exit(parsed);
    if (parsed == CLI_PARSED && cli_require(&args, "table")) {
        cli_signal_guard guard;
        cli_guard_start(&guard); /* before DuckDB starts its threads */
        rc = optimize(cli_get(&args, "table"), cli_has(&args, "json"), &guard);
        cli_guard_stop(&guard);
    } else if (parsed == CLI_PARSED) {
        rc = CLI_EXIT_FAIL;
    }
    cli_args_free(&args);
    return rc;
}
