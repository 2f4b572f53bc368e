/*
 * delete.c — `tstable delete`: deleting the rows of a range, of some
 * entities or of all, and their coverage, in one commit (tstable/delete.h).
 *
 * --entity names one entity per option: "symbol=AAPL", a bare "AAPL" for a
 * one-column entity, or "symbol=AAPL,venue=XNAS" for a composite one (the
 * coverage command's spelling, one option per column, works too: options
 * are gathered until every entity column is bound). Without --entity every
 * entity's rows in the range go. The range must fall on bucket boundaries;
 * the library's refusal names the nearest aligned ranges. It prints what it
 * did one key per line, or one JSON object with --json. Errors are one
 * line, "delete failed for table <T>: <why>", exit code 1. Ctrl-C or
 * SIGTERM cancels it (signals.c): nothing is committed.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "tstable/delete.h"
#include "tstable/error.h"
#include "tstable/table.h"

static const char HELP[] =
    "Delete the rows of a range (of some entities, or all) and their coverage.\n"
    "\n"
    "Usage: tstable delete --table PATH --start VALUE --end VALUE [--entity ENTITY]...\n"
    "                      [--expected-version N] [--json]\n"
    "\n"
    "Removes the rows whose index lies in [start, end) in one commit: segments that\n"
    "hold only such rows are dropped, segments that hold others too are rewritten\n"
    "without them (the other rows keep their order), and the table's coverage loses\n"
    "those buckets, so the range reads as a gap and can be appended again. Coverage\n"
    "is kept per bucket, so --start and --end must fall on bucket boundaries (for a\n"
    "1h bucket: whole hours, UTC); otherwise it refuses and names the nearest aligned\n"
    "ranges. Nothing matching is a no-op (rows_deleted: 0, nothing committed). If\n"
    "another writer appends meanwhile, the delete commits on top of it; if that writer\n"
    "replaced one of the same segments, it fails and writes nothing. Ctrl-C or SIGTERM\n"
    "cancels it: nothing is committed.\n"
    "\n"
    "Options:\n"
    "  --table PATH            The table\n"
    "  --start VALUE           Start of the range, inclusive, on a bucket boundary\n"
    "  --end VALUE             End of the range, exclusive, on a bucket boundary\n"
    "                          Timestamps are RFC 3339 (2024-06-01T00:00:00Z) or a date\n"
    "                          (2024-06-01, midnight UTC); integer indexes take integers.\n"
    "  --entity ENTITY         Only this entity's rows: COL=VALUE (a bare VALUE for a\n"
    "                          one-column entity; COL=VALUE,COL=VALUE for a composite\n"
    "                          one). Repeat for several entities. Default: every entity.\n"
    "                          An entity the table does not hold is an error.\n"
    "  --expected-version N    Fail unless the table is at version N\n"
    "  --json                  Print the report as one JSON object\n"
    "  --help                  Show this help\n"
    "\n"
    "Output (one key per line): starting_version, committed_version, rows_deleted,\n"
    "segments_removed, segments_rewritten, buckets_uncovered, no_op.\n"
    "\n"
    "Example:\n"
    "  tstable delete --table ./my_stocks --entity symbol=NVDA \\\n"
    "      --start 2024-06-03 --end 2024-06-04\n";

static const cli_opt OPTS[] = {
    {"table", NULL, CLI_VALUE},  {"start", NULL, CLI_VALUE},
    {"end", NULL, CLI_VALUE},    {"entity", NULL, CLI_LIST},
    {"expected-version", NULL, CLI_VALUE}, {"json", NULL, CLI_FLAG},
};

static void print_text(const tst_delete_report *r)
{
    printf("starting_version: %llu\n", (unsigned long long)r->starting_version);
    printf("committed_version: %llu\n", (unsigned long long)r->committed_version);
    printf("rows_deleted: %llu\n", (unsigned long long)r->rows_deleted);
    printf("segments_removed: %llu\n", (unsigned long long)r->segments_removed);
    printf("segments_rewritten: %llu\n", (unsigned long long)r->segments_rewritten);
    printf("buckets_uncovered: %llu\n", (unsigned long long)r->buckets_uncovered);
    printf("no_op: %s\n", r->no_op ? "true" : "false");
}

static void print_json(const tst_delete_report *r)
{
    printf("{\"starting_version\":%llu,\"committed_version\":%llu,\"rows_deleted\":%llu,"
           "\"segments_removed\":%llu,\"segments_rewritten\":%llu,\"buckets_uncovered\":%llu,"
           "\"no_op\":%s,\"attempts\":%u}\n",
           (unsigned long long)r->starting_version, (unsigned long long)r->committed_version,
           (unsigned long long)r->rows_deleted, (unsigned long long)r->segments_removed,
           (unsigned long long)r->segments_rewritten, (unsigned long long)r->buckets_uncovered,
           r->no_op ? "true" : "false", r->attempts);
}

/* The entities: bindings per identity, and the parts they borrow from. */
typedef struct entity_list {
    tst_delete_target *targets;
    tst_entity_binding **bindings;
    size_t count;
    char **parts;
    size_t part_count;
} entity_list;

/* Whether `text` starts with "<an entity column>=". */
static bool starts_binding(const tst_index_spec *spec, const char *text)
{
    for (size_t i = 0; i < spec->entity_count; i++) {
        size_t n = strlen(spec->entity_columns[i]);
        if (strncmp(text, spec->entity_columns[i], n) == 0 && text[n] == '=')
            return true;
    }
    return false;
}

/* Every --entity value split at the commas that start another "col=". */
static void split_parts(const tst_index_spec *spec, const char *const *given, size_t n,
                        entity_list *l)
{
    for (size_t i = 0; i < n; i++) {
        const char *from = given[i];
        for (const char *c = strchr(from, ','); ; c = strchr(c + 1, ',')) {
            if (c && !starts_binding(spec, c + 1))
                continue;
            size_t len = c ? (size_t)(c - from) : strlen(from);
            l->parts = cli_xrealloc(l->parts, (l->part_count + 1) * sizeof *l->parts);
            l->parts[l->part_count++] = cli_xsprintf("%.*s", (int)len, from);
            if (!c)
                break;
            from = c + 1;
        }
    }
}

static void entities_free(entity_list *l)
{
    for (size_t i = 0; i < l->count; i++)
        cli_free_entity(l->bindings[i], l->targets[i].entity_count);
    for (size_t i = 0; i < l->part_count; i++)
        free(l->parts[i]);
    free(l->bindings);
    free(l->targets);
    free(l->parts);
}

/* Groups the parts, entity_count at a time, into one target each. */
static int parse_entities(tst_table *table, const cli_args *args, entity_list *l)
{
    size_t n = 0, width = tst_table_index(table)->entity_count;
    const char *const *given = cli_list(args, "entity", &n);
    memset(l, 0, sizeof *l);
    if (n == 0)
        return 0;
    if (width == 0)
        return cli_fail("Invalid --entity '%s': the table has no entity columns (delete the "
                        "range of the whole table without --entity)", given[0]);
    split_parts(tst_table_index(table), given, n, l);
    for (size_t at = 0; at < l->part_count; at += width) {
        size_t take = l->part_count - at < width ? l->part_count - at : width;
        l->targets = cli_xrealloc(l->targets, (l->count + 1) * sizeof *l->targets);
        l->bindings = cli_xrealloc(l->bindings, (l->count + 1) * sizeof *l->bindings);
        if (cli_parse_entity(table, (const char *const *)l->parts + at, take,
                             &l->bindings[l->count]) != 0)
            return CLI_EXIT_FAIL;
        memset(&l->targets[l->count], 0, sizeof *l->targets);
        l->targets[l->count].entity = l->bindings[l->count];
        l->targets[l->count++].entity_count = take;
    }
    return 0;
}

static int check_args(const cli_args *args, uint64_t *expected)
{
    if (!cli_require(args, "table") || !cli_require(args, "start") || !cli_require(args, "end"))
        return CLI_EXIT_FAIL;
    const char *v = cli_get(args, "expected-version");
    if (v && (!cli_parse_u64(v, expected) || *expected == 0))
        return cli_usage_error("delete", "invalid --expected-version '%s': a version number "
                               "(1 or more)", v);
    return 0;
}

static int delete_rows(tst_table *table, const cli_args *args, uint64_t expected,
                       cli_signal_guard *guard, tst_delete_report *report)
{
    const tst_index_kind *kind = &tst_table_index(table)->kind;
    tst_delete_target all;
    memset(&all, 0, sizeof all);
    if (cli_parse_index_value(kind, "--start", cli_get(args, "start"), &all.start) != 0 ||
        cli_parse_index_value(kind, "--end", cli_get(args, "end"), &all.end) != 0)
        return CLI_EXIT_FAIL;
    entity_list l;
    int rc = parse_entities(table, args, &l);
    for (size_t i = 0; rc == 0 && i < l.count; i++) {
        l.targets[i].start = all.start;
        l.targets[i].end = all.end;
    }
    tst_delete_options opts = TST_DELETE_OPTIONS_INIT;
    opts.expected_version = expected;
    opts.cancel = guard->cancel;
    if (rc == 0)
        rc = tst_table_delete_rows(table, l.count ? l.targets : &all, l.count ? l.count : 1,
                                   &opts, report);
    if (rc < 0 && rc == TST_ECANCELLED && guard->received) {
        cli_fail("delete cancelled; nothing was committed");
        rc = 128 + guard->received;
    } else if (rc < 0) {
        char *context = cli_xsprintf("delete failed for table %s", tst_table_root(table));
        cli_fail_lib(context);
        free(context);
        rc = CLI_EXIT_FAIL;
    }
    entities_free(&l);
    return rc;
}

static int run(const cli_args *args, uint64_t expected, cli_signal_guard *guard)
{
    tst_table *table = NULL;
    if (cli_open_table(&table, cli_get(args, "table")) != 0)
        return CLI_EXIT_FAIL;
    tst_delete_report report;
    int rc = delete_rows(table, args, expected, guard, &report);
    tst_table_free(table);
    if (rc == 0)
        cli_has(args, "json") ? print_json(&report) : print_text(&report);
    return rc;
}

int cli_cmd_delete(int argc, char **argv)
{
    cli_args args;
    int parsed = cli_parse(&args, "delete", HELP, OPTS, sizeof OPTS / sizeof OPTS[0], argc, argv);
    int rc = cli_parse_exit(parsed);
    uint64_t expected = 0;
    if (parsed == CLI_PARSED && (rc = check_args(&args, &expected)) == 0) {
        cli_signal_guard guard;
        cli_guard_start(&guard); /* before DuckDB starts its threads */
        rc = run(&args, expected, &guard);
        cli_guard_stop(&guard);
    }
    cli_args_free(&args);
    return rc;
}
