/*
 * gaps.c — `tstable gaps`: the missing ranges of [start, end), in order.
 *
 * Gaps follow bucket edges, so the first may start before --start and the
 * last may end after --end (the library documents why: a bucket is either
 * covered or not). The ranges are collected before printing, so the table
 * can be sized and an error never leaves half an answer on stdout; with
 * --max-buckets a long gap is reported in pieces, which also bounds memory
 * for a range with millions of gaps.
 */
#include <stdlib.h>
#include <string.h>

#include "cli.h"

static const char HELP[] =
    "List the missing ranges (gaps) of a range, in order.\n"
    "\n"
    "Usage: tstable gaps --table PATH [--start VALUE] [--end VALUE]\n"
    "                    [--entity COL=VALUE]... [--max-buckets N] [--format table|json]\n"
    "                    [--as-of VERSION|TIME] [--each-entity] [--calendar SPEC]\n"
    "\n"
    "Options:\n"
    "  --table PATH        The table\n"
    "  --start VALUE       Start of the range, inclusive (default: the table's first value)\n"
    "  --end VALUE         End of the range, exclusive (default: just past its last value)\n"
    CLI_TIMES_HINT("                      ")
    "                      Integer indexes take integers.\n"
    "  --entity COL=VALUE  Gaps of one entity; repeat for each column of a composite\n"
    "                      entity (a bare VALUE will do for a one-column entity).\n"
    "                      Without it: buckets no entity covers.\n"
    "                      An entity the table never saw gets a warning (and is all gap).\n"
    "  --each-entity       The gaps of every entity, with an entity column (JSON: each gap\n"
    "                      has an \"entity\" object); --entity then filters. A table without\n"
    "                      entity columns answers as without the flag.\n"
    "  --max-buckets N     Split gaps longer than N buckets into pieces\n"
    "  --format FORMAT     table (default) or json (a list of {start, end, end_inclusive,\n"
    "                      buckets}; end is exclusive unless end_inclusive is true)\n"
    CLI_AS_OF_HELP("                      ")
    CLI_CALENDAR_HELP("                      ")
    "                      A gap then runs over closed time: buckets counts the\n"
    "                      missing expected buckets, and --max-buckets cuts by them.\n"
    "  --help              Show this help\n"
    "\n"
    "Gaps follow bucket edges: the first may start before --start, the last end after --end.\n"
    "\n"
    "Example:\n"
    "  tstable gaps --table ./my_stocks --entity symbol=NVDA --start 2024-06-01 --end 2024-07-01\n"
    "  tstable gaps --table ./my_stocks --as-of 2024-06-30T16:00:00Z  # as of that instant\n"
    "  tstable gaps --table ./my_stocks --each-entity --start -30d --end today\n"
    "  tstable gaps --table ./my_stocks --start 2024-06-01 --end 2024-07-01 \\\n"
    "      --calendar 'weekdays;tz=America/New_York;sessions=09:30-16:00;holidays=nyse.txt'\n";

static const cli_opt OPTS[] = {
    {"table", NULL, CLI_VALUE}, {"start", NULL, CLI_VALUE},  {"end", NULL, CLI_VALUE},
    {"entity", NULL, CLI_LIST}, {"format", NULL, CLI_VALUE}, {"max-buckets", NULL, CLI_VALUE},
    {"as-of", NULL, CLI_VALUE}, {"each-entity", NULL, CLI_FLAG},
    {"calendar", NULL, CLI_VALUE},
};

typedef struct gap {
    tst_index_value start;
    tst_index_value end;
    bool end_inclusive;
    uint64_t buckets;
} gap;

typedef struct gap_list {
    gap *items;
    size_t count;
    size_t cap;
} gap_list;

static int collect(void *ctx, const tst_index_value *start, const tst_index_value *end,
                   bool end_inclusive, uint64_t buckets)
{
    gap_list *list = ctx;
    if (list->count == list->cap) {
        list->cap = list->cap ? list->cap * 2 : 16;
        list->items = cli_xrealloc(list->items, list->cap * sizeof *list->items);
    }
    list->items[list->count++] = (gap){*start, *end, end_inclusive, buckets};
    return 0;
}

static void print_text(const gap_list *list)
{
    if (list->count == 0) {
        puts("(no gaps)");
        return;
    }
    cli_grid grid;
    cli_grid_init(&grid, 3);
    cli_grid_add(&grid, (const char *[]){"start", "end (exclusive)", "buckets"});
    for (size_t i = 0; i < list->count; i++) {
        const gap *g = &list->items[i];
        char start[TST_TIMESTAMP_TEXT_MAX], end[TST_TIMESTAMP_TEXT_MAX + 16], n[24];
        cli_format_index_value(&g->start, start, sizeof start);
        cli_format_index_value(&g->end, end, TST_TIMESTAMP_TEXT_MAX);
        if (g->end_inclusive)
            snprintf(end + strlen(end), 16, " (inclusive)");
        snprintf(n, sizeof n, "%llu", (unsigned long long)g->buckets);
        cli_grid_add(&grid, (const char *[]){start, end, n});
    }
    cli_grid_print(&grid, stdout, NULL);
    cli_grid_free(&grid);
}

static void print_json(const gap_list *list)
{
    fputs("[", stdout);
    for (size_t i = 0; i < list->count; i++) {
        const gap *g = &list->items[i];
        fputs(i ? ",{\"start\":" : "{\"start\":", stdout);
        cli_json_index_value(stdout, &g->start);
        fputs(",\"end\":", stdout);
        cli_json_index_value(stdout, &g->end);
        printf(",\"end_inclusive\":%s,\"buckets\":%llu}", g->end_inclusive ? "true" : "false",
               (unsigned long long)g->buckets);
    }
    fputs("]\n", stdout);
}

static int run(const cli_args *args)
{
    bool json = false;
    uint64_t max_buckets = 0;
    const char *max = cli_get(args, "max-buckets");
    if (cli_has(args, "each-entity")) {
        int each = cli_gaps_each_entity(args);
        if (each != CLI_EACH_NONE)
            return each;
    }
    if (!cli_format_is_json(args, &json))
        return CLI_EXIT_FAIL;
    if (max && (!cli_parse_u64(max, &max_buckets) || max_buckets == 0))
        return cli_fail("Invalid --max-buckets '%s': expected a positive integer", max);
    cli_target t;
    gap_list list = {0};
    tst_calendar *cal = NULL;
    if (cli_calendar(args, &cal) != 0)
        return CLI_EXIT_FAIL;
    int rc = cli_target_open(&t, args);
    if (rc == 0 && tst_table_gaps_cal(t.table, t.entity, t.entity_count, &t.start, &t.end, cal,
                                      max_buckets, collect, &list) != 0)
        rc = cli_fail_lib("Failed to list gaps");
    tst_calendar_free(cal);
    if (rc == 0)
        json ? print_json(&list) : print_text(&list);
    free(list.items);
    cli_target_close(&t);
    return rc;
}

int cli_cmd_gaps(int argc, char **argv)
{
    cli_args args;
    int parsed = cli_parse(&args, "gaps", HELP, OPTS, sizeof OPTS / sizeof OPTS[0], argc, argv);
    int rc = parsed == CLI_PARSED ? run(&args) : cli_parse_exit(parsed);
    cli_args_free(&args);
    return rc;
}
