/*
 * optimize.c — `tstable optimize`: compaction (the default) or the
 * reference's entity-layout optimization (--mode entity-layout) of a table
 * (tstable/optimize.h), printing the report.
 *
 * Compaction merges small segments into segments of --target-rows rows and
 * --target-bytes bytes at most (defaults 10,000,000 and 128 MiB), per entity
 * and within windows of --window (a duration such as 30d for timestamp
 * indexes, index units for integer ones; defaults 30 days and 1,000
 * buckets). Its report is one key per line (mode, versions, segments
 * before/after, segments read and written, rows and bytes read and written,
 * the window and targets used, no_op); --json prints the same keys as one
 * object. Errors: "Compaction failed for table <T>: <why>", exit code 1.
 *
 * --mode entity-layout is the reference CLI's command, output and errors
 * exactly: the report key by key ("starting_version: 2" ... "no_op: false"),
 * --json with the same keys plus attempts, and "Entity-layout optimization
 * failed for table <T>: <why>".
 *
 * Either way the library does the work in one blocking call and leaves the
 * table as it was on any failure. Ctrl-C or SIGTERM cancels it (signals.c):
 * the files it wrote are removed, nothing is committed, and the command
 * exits 128 + the signal with "optimize cancelled; nothing was committed".
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "cli.h"
#include "tstable/error.h"
#include "tstable/index.h"
#include "tstable/optimize.h"
#include "tstable/table.h"

static const char HELP[] =
    "Merge a table's small segments into fewer, larger ones (compaction), or split\n"
    "its mixed-entity segments per entity (--mode entity-layout), in one commit.\n"
    "\n"
    "Usage: tstable optimize --table PATH [--mode compact|entity-layout]\n"
    "                        [--target-rows N] [--target-bytes SIZE] [--window W] [--json]\n"
    "\n"
    "Compaction (the default): a table appended to daily has one small segment per\n"
    "day, and a query opens all of them. optimize merges, per entity, consecutive\n"
    "small segments of one time window into one segment of at most --target-rows\n"
    "rows and --target-bytes bytes, sorted by entity then index; segments that hold\n"
    "several entities are split per entity on the way. Windows keep time pruning\n"
    "sharp: a query for one day still opens only its window's segments. Rows,\n"
    "coverage and query results do not change; the replaced files stay on disk for\n"
    "older versions until `tstable vacuum` removes them. A compact table is left as\n"
    "it is (no_op: true).\n"
    "\n"
    "Entity layout (--mode entity-layout): the reference's optimize. Every segment\n"
    "that holds rows of several entities becomes one segment per entity; nothing\n"
    "is merged. Tables without entity columns are refused.\n"
    "\n"
    "If another writer commits meanwhile, optimize commits on top of it; if that\n"
    "writer removed a segment being rewritten, it fails and writes nothing.\n"
    "Ctrl-C or SIGTERM cancels it: the files it wrote are removed, nothing is committed.\n"
    "\n"
    "Options:\n"
    "  --table PATH         The table\n"
    "  --mode MODE          compact (default) or entity-layout\n"
    "  --target-rows N      Compaction: rows per segment at most (default 10000000)\n"
    "  --target-bytes SIZE  Compaction: bytes per segment at most, e.g. 64MiB, 1GB or a\n"
    "                       number of bytes (default 128MiB)\n"
    "  --window W           Compaction: segments are merged only within windows of W:\n"
    "                       a duration (30d, 12h, 90m, 3600s) for timestamp indexes,\n"
    "                       index units for integer indexes; rounded up to whole\n"
    "                       buckets (default 30d; integer indexes: 1000 buckets)\n"
    "  --json               Print the report as one JSON object\n"
    "  --help               Show this help\n"
    "\n"
    "Output (one key per line). Compaction: mode, starting_version,\n"
    "committed_version, segments_before, segments_after, segments_read,\n"
    "segments_written, rows_read, rows_written, bytes_read, bytes_written, window,\n"
    "target_rows, target_bytes, no_op. Entity layout: starting_version,\n"
    "committed_version, candidate_source_segments, source_segments_replaced,\n"
    "replacement_segments_written, distinct_identities_materialized, rows_read,\n"
    "rows_written, no_op.\n"
    "\n"
    "Examples:\n"
    "  tstable optimize --table ./my_stocks\n"
    "  tstable optimize --table ./my_stocks --window 7d --target-bytes 64MiB\n"
    "  tstable optimize --table ./my_stocks --mode entity-layout\n";

static const cli_opt OPTS[] = {
    {"table", NULL, CLI_VALUE},
    {"json", NULL, CLI_FLAG},
    {"mode", NULL, CLI_VALUE},
    {"target-rows", NULL, CLI_VALUE},
    {"target-bytes", NULL, CLI_VALUE},
    {"window", NULL, CLI_VALUE},
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

/* "none" for UINT64_MAX (no limit), else the number. */
static const char *limit_text(uint64_t v, char *buf, size_t cap)
{
    if (v == UINT64_MAX)
        return "none";
    snprintf(buf, cap, "%llu", (unsigned long long)v);
    return buf;
}

static void print_compact_text(const tst_optimize_report *r)
{
    char a[32], b[32];
    printf("mode: compact\n");
    printf("starting_version: %llu\n", (unsigned long long)r->starting_version);
    printf("committed_version: %llu\n", (unsigned long long)r->committed_version);
    printf("segments_before: %llu\n", (unsigned long long)r->segments_before);
    printf("segments_after: %llu\n", (unsigned long long)r->segments_after);
    printf("segments_read: %llu\n", (unsigned long long)r->source_segments_replaced);
    printf("segments_written: %llu\n", (unsigned long long)r->replacement_segments_written);
    printf("rows_read: %llu\n", (unsigned long long)r->rows_read);
    printf("rows_written: %llu\n", (unsigned long long)r->rows_written);
    printf("bytes_read: %llu\n", (unsigned long long)r->bytes_read);
    printf("bytes_written: %llu\n", (unsigned long long)r->bytes_written);
    printf("window: %llu\n", (unsigned long long)r->window);
    printf("target_rows: %s\n", limit_text(r->target_rows, a, sizeof a));
    printf("target_bytes: %s\n", limit_text(r->target_bytes, b, sizeof b));
    printf("no_op: %s\n", r->no_op ? "true" : "false");
}

static void print_compact_json(const tst_optimize_report *r)
{
    char a[32], b[32];
    printf("{\"mode\":\"compact\",\"starting_version\":%llu,\"committed_version\":%llu,"
           "\"segments_before\":%llu,\"segments_after\":%llu,\"segments_read\":%llu,"
           "\"segments_written\":%llu,\"rows_read\":%llu,\"rows_written\":%llu,"
           "\"bytes_read\":%llu,\"bytes_written\":%llu,\"window\":%llu,\"target_rows\":%s,"
           "\"target_bytes\":%s,\"no_op\":%s,\"attempts\":%u}\n",
           (unsigned long long)r->starting_version, (unsigned long long)r->committed_version,
           (unsigned long long)r->segments_before, (unsigned long long)r->segments_after,
           (unsigned long long)r->source_segments_replaced,
           (unsigned long long)r->replacement_segments_written,
           (unsigned long long)r->rows_read, (unsigned long long)r->rows_written,
           (unsigned long long)r->bytes_read, (unsigned long long)r->bytes_written,
           (unsigned long long)r->window,
           r->target_rows == UINT64_MAX ? "null" : limit_text(r->target_rows, a, sizeof a),
           r->target_bytes == UINT64_MAX ? "null" : limit_text(r->target_bytes, b, sizeof b),
           r->no_op ? "true" : "false", r->attempts);
}

/* "128MiB", "64MB", "1GiB", "4096" -> bytes; false when not one of those. */
static bool parse_size(const char *text, uint64_t *out)
{
    static const struct { const char *suffix; uint64_t mult; } UNITS[] = {
        {"KiB", 1ULL << 10}, {"MiB", 1ULL << 20}, {"GiB", 1ULL << 30}, {"TiB", 1ULL << 40},
        {"KB", 1000ULL}, {"MB", 1000000ULL}, {"GB", 1000000000ULL}, {"TB", 1000000000000ULL},
        {"B", 1},
    };
    size_t digits = strspn(text, "0123456789");
    if (digits == 0 || digits > 19)
        return false;
    char number[20];
    memcpy(number, text, digits);
    number[digits] = '\0';
    uint64_t n = 0, mult = 1;
    if (!cli_parse_u64(number, &n))
        return false;
    const char *unit = text + digits;
    if (*unit == ' ')
        unit++;
    bool known = *unit == '\0';
    for (size_t i = 0; !known && i < sizeof UNITS / sizeof UNITS[0]; i++)
        if (strcasecmp(unit, UNITS[i].suffix) == 0) {
            mult = UNITS[i].mult;
            known = true;
        }
    if (!known || n == 0 || n > UINT64_MAX / mult)
        return false;
    *out = n * mult;
    return true;
}

/* The window in index units: a duration for timestamp indexes, a number otherwise. */
static int parse_window(const tst_table *table, const char *text, uint64_t *out)
{
    if (tst_table_index(table)->kind.type != TST_INDEX_TIMESTAMP) {
        if (cli_parse_u64(text, out) && *out > 0)
            return 0;
        return cli_usage_error("optimize", "--window must be a positive number of index units "
                               "for a table with an integer index, not '%s'", text);
    }
    tst_time_bucket span;
    if (tst_time_bucket_parse(&span, text) != 0)
        return cli_usage_error("optimize", "--window must be a duration such as 30d, 12h, "
                               "90m or 3600s for a table with a timestamp index, not '%s'", text);
    *out = tst_time_bucket_seconds(span);
    return 0;
}

/* The options of the compaction mode, checked. */
typedef struct compact_args {
    bool compact, json;
    const char *rows, *bytes, *window;
} compact_args;

static int compact_options(const tst_table *table, const compact_args *a,
                           tst_optimize_options *opts)
{
    if (a->rows && (!cli_parse_u64(a->rows, &opts->target_rows) || opts->target_rows == 0))
        return cli_usage_error("optimize", "--target-rows must be a positive number, not '%s'",
                               a->rows);
    if (a->bytes && !parse_size(a->bytes, &opts->target_bytes))
        return cli_usage_error("optimize", "--target-bytes must be a positive size such as "
                               "128MiB, 1GB or 4096, not '%s'", a->bytes);
    return a->window ? parse_window(table, a->window, &opts->window) : 0;
}

static int optimize(const char *root, const compact_args *a, cli_signal_guard *guard)
{
    tst_table *table = NULL;
    if (cli_open_table(&table, root) != 0)
        return CLI_EXIT_FAIL;
    tst_optimize_options opts = TST_OPTIMIZE_OPTIONS_INIT;
    opts.cancel = guard->cancel;
    opts.mode = a->compact ? TST_OPTIMIZE_COMPACT : TST_OPTIMIZE_ENTITY_LAYOUT;
    if (a->compact) /* a rebase is cheap: appends of other buckets never make it give up */
        opts.max_attempts = 1000;
    if (a->compact && compact_options(table, a, &opts) != 0) {
        tst_table_free(table);
        return CLI_EXIT_FAIL;
    }
    bool json = a->json;
    tst_optimize_report report;
    int rc = tst_table_optimize(table, &opts, &report);
    tst_table_free(table);
    if (rc == TST_ECANCELLED && guard->received) {
        cli_fail("optimize cancelled; nothing was committed");
        return 128 + guard->received;
    }
    if (rc != 0) {
        char *context = cli_xsprintf(a->compact ? "Compaction failed for table %s"
                                                : "Entity-layout optimization failed for table %s",
                                     root);
        cli_fail_lib(context);
        free(context);
        return CLI_EXIT_FAIL;
    }
    if (a->compact)
        json ? print_compact_json(&report) : print_compact_text(&report);
    else
        json ? print_json(&report) : print_text(&report);
    return CLI_EXIT_OK;
}

int cli_cmd_optimize(int argc, char **argv)
{
    cli_args args;
    int parsed = cli_parse(&args, "optimize", HELP, OPTS, sizeof OPTS / sizeof OPTS[0], argc,
                           argv);
    int rc = cli_parse_exit(parsed);
    const char *mode = parsed == CLI_PARSED ? cli_get(&args, "mode") : NULL;
    compact_args a = {!mode || strcmp(mode, "compact") == 0, cli_has(&args, "json"),
                      cli_get(&args, "target-rows"), cli_get(&args, "target-bytes"),
                      cli_get(&args, "window")};
    if (parsed == CLI_PARSED && mode && strcmp(mode, "compact") != 0 &&
        strcmp(mode, "entity-layout") != 0) {
        rc = cli_usage_error("optimize", "--mode must be compact or entity-layout, not '%s'",
                             mode);
    } else if (parsed == CLI_PARSED && !a.compact && (a.rows || a.bytes || a.window)) {
        rc = cli_usage_error("optimize", "--target-rows, --target-bytes and --window apply to "
                             "--mode compact only");
    } else if (parsed == CLI_PARSED && cli_require(&args, "table")) {
        cli_signal_guard guard;
        cli_guard_start(&guard); /* before DuckDB starts its threads */
        rc = optimize(cli_get(&args, "table"), &a, &guard);
        cli_guard_stop(&guard);
    } else if (parsed == CLI_PARSED) {
        rc = CLI_EXIT_FAIL;
    }
    cli_args_free(&args);
    return rc;
}
