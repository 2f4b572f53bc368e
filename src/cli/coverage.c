/*
 * coverage.c — `tstable coverage`: how much of [start, end) a table covers.
 *
 * Answered from the coverage snapshot alone (no Parquet is read): covered
 * and total buckets, their ratio and the longest run of missing buckets,
 * for one entity (--entity col=value, every entity column once) or for the
 * whole table, where a bucket counts when any entity covers it. Without
 * --start/--end the range is the table's own, from its first value to just
 * past its last.
 */
#include "cli.h"

static const char HELP[] =
    "How much of a range a table covers, in buckets.\n"
    "\n"
    "Usage: tstable coverage --table PATH [--start VALUE] [--end VALUE]\n"
    "                        [--entity COL=VALUE]... [--as-of VERSION|TIME]\n"
    "                        [--calendar SPEC] [--format table|json]\n"
    "       tstable coverage --table PATH --each-entity [...]\n"
    "       tstable coverage --table PATH --last-window LENGTH [--end VALUE] [--each-entity]\n"
    "       tstable coverage --table PATH --plot FILE.svg|FILE.png [--width PX] [--height PX]\n"
    "                        [--start VALUE] [--end VALUE] [--entity COL=VALUE]...\n"
    "\n"
    "Options:\n"
    "  --table PATH        The table\n"
    "  --start VALUE       Start of the range, inclusive (default: the table's first value)\n"
    "  --end VALUE         End of the range, exclusive (default: just past its last value)\n"
    CLI_TIMES_HINT("                      ")
    "                      Integer indexes take integers.\n"
    "  --entity COL=VALUE  Ask about one entity; repeat for each column of a composite\n"
    "                      entity (a bare VALUE will do for a one-column entity).\n"
    "                      Without it: the whole table (any entity counts).\n"
    "                      An entity the table never saw gets a warning (and covers nothing).\n"
    "  --each-entity       One answer per entity, in canonical order (--entity then filters:\n"
    "                      repeat a column to keep several values). A table without entity\n"
    "                      columns answers as without the flag.\n"
    "  --last-window LENGTH\n"
    "                      Instead: the most recent window of LENGTH (1d, 12h, 2w; index\n"
    "                      units for integer indexes) whose buckets are all covered, ending\n"
    "                      at or before --end (default: the end of the last covered bucket)\n"
    CLI_AS_OF_HELP("                      ")
    CLI_CALENDAR_HELP("                      ")
    "                      Counts are then of expected buckets; --plot draws closed\n"
    "                      time in grey.\n"
    "  --format FORMAT     table (default) or json\n"
    "  --plot FILE         Draw the coverage instead: one row per entity, time across,\n"
    "                      darker = more covered, orange = gap. FILE.svg or FILE.png\n"
    "                      (the same picture and labels, in a built-in pixel font).\n"
    "                      --entity then filters: repeat a column to keep several values.\n"
    "  --width PX          Picture width (default 1000)\n"
    "  --height PX         Picture height (default: grows with the entities, up to 800)\n"
    "  --help              Show this help\n"
    "\n"
    "JSON keys: start, end, entity, covered_buckets, total_buckets, missing_buckets,\n"
    "ratio, max_gap_buckets (--each-entity: a list of them). --last-window: entity,\n"
    "buckets, before, start, end (null when no window is fully covered).\n"
    "\n"
    "Example:\n"
    "  tstable coverage --table ./my_stocks --entity symbol=NVDA \\\n"
    "      --start 2024-06-01 --end 2024-06-15\n"
    "  tstable coverage --table ./my_stocks --as-of 12     # as it was at version 12\n"
    "  tstable coverage --table ./my_stocks --each-entity --start -7d --end now\n"
    "  tstable coverage --table ./my_stocks --last-window 1d --each-entity\n"
    "  tstable coverage --table ./my_stocks --start 2024-06-03 --end 2024-06-08 \\\n"
    "      --calendar 'weekdays;tz=America/New_York;sessions=09:30-16:00'\n"
    "  tstable coverage --table ./my_stocks --plot coverage.svg\n";

static const cli_opt OPTS[] = {
    {"table", NULL, CLI_VALUE}, {"start", NULL, CLI_VALUE},  {"end", NULL, CLI_VALUE},
    {"entity", NULL, CLI_LIST}, {"format", NULL, CLI_VALUE}, {"as-of", NULL, CLI_VALUE},
    {"plot", NULL, CLI_VALUE},  {"width", NULL, CLI_VALUE},  {"height", NULL, CLI_VALUE},
    {"each-entity", NULL, CLI_FLAG}, {"last-window", NULL, CLI_VALUE},
    {"calendar", NULL, CLI_VALUE},
};

static void print_text(const cli_target *t, const tst_coverage_counts *c)
{
    char start[TST_TIMESTAMP_TEXT_MAX], end[TST_TIMESTAMP_TEXT_MAX], entity[512];
    char ratio[CLI_FLOAT_TEXT_MAX];
    cli_format_index_value(&t->start, start, sizeof start);
    cli_format_index_value(&t->end, end, sizeof end);
    cli_format_bindings(t->entity, t->entity_count, entity, sizeof entity);
    cli_format_float(c->ratio, ratio, sizeof ratio);
    printf("range:           [%s, %s)\n", start, end);
    printf("entity:          %s\n", t->entity_count ? entity : "(all)");
    printf("covered_buckets: %llu\n", (unsigned long long)c->covered_buckets);
    printf("total_buckets:   %llu\n", (unsigned long long)c->total_buckets);
    printf("missing_buckets: %llu\n", (unsigned long long)(c->total_buckets - c->covered_buckets));
    printf("ratio:           %s\n", ratio);
    printf("max_gap_buckets: %llu\n", (unsigned long long)c->max_gap_buckets);
}

static void print_json(const cli_target *t, const tst_coverage_counts *c)
{
    fputs("{\"start\":", stdout);
    cli_json_index_value(stdout, &t->start);
    fputs(",\"end\":", stdout);
    cli_json_index_value(stdout, &t->end);
    fputs(",\"entity\":", stdout);
    cli_json_bindings(stdout, t->entity, t->entity_count);
    printf(",\"covered_buckets\":%llu,\"total_buckets\":%llu,\"missing_buckets\":%llu,\"ratio\":",
           (unsigned long long)c->covered_buckets, (unsigned long long)c->total_buckets,
           (unsigned long long)(c->total_buckets - c->covered_buckets));
    cli_json_double(stdout, c->ratio);
    printf(",\"max_gap_buckets\":%llu}\n", (unsigned long long)c->max_gap_buckets);
}

static int run(const cli_args *args)
{
    bool json = false;
    cli_target t;
    tst_calendar *cal = NULL;
    if (cli_has(args, "last-window"))
        return cli_coverage_last_window(args);
    if (cli_get(args, "plot") || cli_get(args, "width") || cli_get(args, "height"))
        return cli_coverage_plot(args);
    if (cli_has(args, "each-entity")) {
        int each = cli_coverage_each_entity(args);
        if (each != CLI_EACH_NONE)
            return each;
    }
    tst_coverage_counts counts;
    if (!cli_format_is_json(args, &json))
        return CLI_EXIT_FAIL;
    if (cli_calendar(args, &cal) != 0)
        return CLI_EXIT_FAIL;
    int rc = cli_target_open(&t, args);
    if (rc == 0 && tst_table_coverage_cal(t.table, t.entity, t.entity_count, &t.start, &t.end,
                                          cal, &counts) != 0)
        rc = cli_fail_lib("Failed to compute coverage");
    if (rc == 0)
        json ? print_json(&t, &counts) : print_text(&t, &counts);
    cli_target_close(&t);
    tst_calendar_free(cal);
    return rc;
}

int cli_cmd_coverage(int argc, char **argv)
{
    cli_args args;
    int parsed = cli_parse(&args, "coverage", HELP, OPTS, sizeof OPTS / sizeof OPTS[0], argc, argv);
    int rc = parsed == CLI_PARSED ? run(&args) : cli_parse_exit(parsed);
    cli_args_free(&args);
    return rc;
}
