/*
 * entities.c — `tstable entities`: every entity with its extent and freshness.
 *
 * "Which symbols do I have, from when to when, with how many holes, and
 * which of them stopped arriving?" — one row per entity (canonical order;
 * one row for a table without entity columns) from the coverage summary
 * alone (no Parquet): the extent [first, last) from the start of the first
 * covered bucket to the end of the last, covered buckets, the gaps inside
 * the extent and the ratio over it, and the lag: how far the end of the
 * last covered bucket is behind now (or --now), shown as a duration.
 *
 * --stale DURATION keeps the entities lagging more than that, which is the
 * alerting question; an entity with no covered bucket at all counts as
 * stale. An integer index has no clock: its lag is --now minus last, in
 * index units, and without --now there is none.
 */
#include <stdlib.h>
#include <string.h>

#include "cli.h"

static const char HELP[] =
    "List a table's entities with their extent, gaps and freshness.\n"
    "\n"
    "Usage: tstable entities --table PATH [--entity COL=VALUE]... [--now TIME]\n"
    "                        [--stale DURATION] [--as-of VERSION|TIME] [--format table|json]\n"
    "\n"
    "Options:\n"
    "  --table PATH        The table\n"
    "  --entity COL=VALUE  Only entities with this value (repeat a column to keep several)\n"
    "  --now TIME          Measure the lag from here (default: the clock). Any time form:\n"
    CLI_TIMES_HINT("                      ")
    "                      Integer indexes: an integer (their lag needs it)\n"
    "  --stale DURATION    Only entities whose lag is more than DURATION (90m, 6h, 2d, 1w;\n"
    "                      index units for integer indexes); an entity with no covered\n"
    "                      bucket counts as stale\n"
    CLI_AS_OF_HELP("                      ")
    "  --format FORMAT     table (default) or json\n"
    "  --help              Show this help\n"
    "\n"
    "Columns: first is the start of the first covered bucket, last the end of the last\n"
    "(exclusive); gaps are the missing runs between them and ratio is covered / all buckets\n"
    "of [first, last); lag is now - last. A table without entity columns has one row.\n"
    "JSON keys: entity ({column: value}, null without entity columns), first, last,\n"
    "covered_buckets, gaps, missing_buckets, ratio, lag (text), lag_seconds (lag_units for\n"
    "integer indexes).\n"
    "\n"
    "Example:\n"
    "  tstable entities --table ./my_stocks\n"
    "  tstable entities --table ./my_stocks --stale 2d --format json   # what stopped arriving\n";

static const cli_opt OPTS[] = {
    {"table", NULL, CLI_VALUE}, {"entity", NULL, CLI_LIST},  {"now", NULL, CLI_VALUE},
    {"stale", NULL, CLI_VALUE}, {"as-of", NULL, CLI_VALUE},  {"format", NULL, CLI_VALUE},
};

typedef struct freshness {
    bool timestamp;    /* index type */
    bool have_now;     /* integer indexes: --now given */
    tst_index_value now;
    bool have_stale;
    int64_t stale_seconds;
    uint64_t stale_units;
} freshness;

/* The lag of a covered entity: seconds (+ nanoseconds) or index units. */
typedef struct lag {
    bool known;
    int64_t sec;
    uint32_t nsec;
    long double units; /* integer indexes: now - last, exact for 64-bit values */
} lag;

static lag lag_of(const freshness *f, const tst_entity_summary *e)
{
    lag l = {0};
    if (!e->covered || (!f->timestamp && !f->have_now))
        return l;
    l.known = true;
    if (f->timestamp) {
        int64_t sec = f->now.v.ts.sec - e->last.v.ts.sec;
        int64_t nsec = (int64_t)f->now.v.ts.nsec - (int64_t)e->last.v.ts.nsec;
        if (nsec < 0)
            sec -= 1, nsec += 1000000000;
        l.sec = sec, l.nsec = (uint32_t)nsec;
    } else if (f->now.type == TST_INDEX_INT64) {
        l.units = (long double)f->now.v.i64 - (long double)e->last.v.i64;
    } else {
        l.units = (long double)f->now.v.u64 - (long double)e->last.v.u64;
    }
    return l;
}

static bool is_stale(const freshness *f, const lag *l, const tst_entity_summary *e)
{
    if (!e->covered)
        return true;
    if (!l->known)
        return false;
    if (f->timestamp)
        return l->sec > f->stale_seconds || (l->sec == f->stale_seconds && l->nsec > 0);
    return l->units > (long double)f->stale_units;
}

static double ratio_of(const tst_entity_summary *e)
{
    uint64_t extent = e->covered_buckets + e->missing_buckets;
    return extent ? (double)e->covered_buckets / (double)extent : 0.0;
}

static void lag_text(const freshness *f, const lag *l, char *buf, size_t cap)
{
    if (!l->known)
        snprintf(buf, cap, "-");
    else if (f->timestamp)
        cli_format_duration(l->sec, l->nsec, buf, cap);
    else
        snprintf(buf, cap, "%.0Lf", l->units);
}

static void print_grid(const tst_table *table, const cli_entity_list *list, const bool *keep,
                       const freshness *f)
{
    const tst_index_spec *spec = tst_table_index(table);
    char now[TST_TIMESTAMP_TEXT_MAX] = "-";
    if (f->timestamp || f->have_now)
        cli_format_index_value(&f->now, now, sizeof now);
    printf("now: %s\n", now);
    cli_grid grid;
    cli_grid_init(&grid, 7);
    cli_grid_add(&grid, (const char *[]){"entity", "first", "last (exclusive)", "covered_buckets",
                                         "gaps", "ratio", "lag"});
    for (size_t i = 0; i < list->count; i++) {
        if (!keep[i])
            continue;
        const tst_entity_summary *e = cli_entity_list_at(list, i);
        char entity[512] = "(all)", first[TST_TIMESTAMP_TEXT_MAX] = "-";
        char last[TST_TIMESTAMP_TEXT_MAX] = "-", covered[24], gaps[24], ratio[CLI_FLOAT_TEXT_MAX];
        char lagbuf[64];
        if (spec->entity_count)
            tst_entity_identity_format_named(spec, &e->identity, entity, sizeof entity);
        if (e->covered) {
            cli_format_index_value(&e->first, first, sizeof first);
            cli_format_index_value(&e->last, last, sizeof last);
        }
        snprintf(covered, sizeof covered, "%llu", (unsigned long long)e->covered_buckets);
        snprintf(gaps, sizeof gaps, "%llu", (unsigned long long)e->gaps);
        cli_format_float(ratio_of(e), ratio, sizeof ratio);
        lag l = lag_of(f, e);
        lag_text(f, &l, lagbuf, sizeof lagbuf);
        cli_grid_add(&grid, (const char *[]){entity, first, last, covered, gaps, ratio, lagbuf});
    }
    cli_grid_print(&grid, stdout, NULL);
    cli_grid_free(&grid);
}

static void json_entity(const tst_table *table, const tst_entity_summary *e)
{
    const tst_index_spec *spec = tst_table_index(table);
    tst_entity_binding b[64];
    size_t n = spec->entity_count <= 64 ? spec->entity_count : 0;
    if (n)
        cli_identity_bindings(spec, &e->identity, b);
    cli_json_bindings(stdout, b, n);
}

static void json_row(const tst_table *table, const tst_entity_summary *e, const freshness *f)
{
    fputs("{\"entity\":", stdout);
    json_entity(table, e);
    fputs(",\"first\":", stdout);
    e->covered ? cli_json_index_value(stdout, &e->first) : (void)fputs("null", stdout);
    fputs(",\"last\":", stdout);
    e->covered ? cli_json_index_value(stdout, &e->last) : (void)fputs("null", stdout);
    printf(",\"covered_buckets\":%llu,\"gaps\":%llu,\"missing_buckets\":%llu,\"ratio\":",
           (unsigned long long)e->covered_buckets, (unsigned long long)e->gaps,
           (unsigned long long)e->missing_buckets);
    cli_json_double(stdout, ratio_of(e));
    lag l = lag_of(f, e);
    char text[64];
    lag_text(f, &l, text, sizeof text);
    fputs(",\"lag\":", stdout);
    cli_json_string(stdout, l.known ? text : NULL);
    fputs(f->timestamp ? ",\"lag_seconds\":" : ",\"lag_units\":", stdout);
    if (!l.known)
        fputs("null", stdout);
    else if (f->timestamp)
        cli_json_double(stdout, (double)l.sec + (double)l.nsec / 1e9);
    else
        fputs(text, stdout);
    fputs("}", stdout);
}

static void print_json(const tst_table *table, const cli_entity_list *list, const bool *keep,
                       const freshness *f)
{
    bool first = true;
    fputs("[", stdout);
    for (size_t i = 0; i < list->count; i++) {
        if (!keep[i])
            continue;
        fputs(first ? "" : ",", stdout);
        first = false;
        json_row(table, cli_entity_list_at(list, i), f);
    }
    fputs("]\n", stdout);
}

static int parse_freshness(const cli_args *args, tst_table *table, freshness *f)
{
    const tst_index_kind *kind = &tst_table_index(table)->kind;
    const char *now = cli_get(args, "now"), *stale = cli_get(args, "stale");
    memset(f, 0, sizeof *f);
    f->timestamp = kind->type == TST_INDEX_TIMESTAMP;
    if (now && cli_parse_index_value(kind, "--now", now, &f->now) != 0)
        return CLI_EXIT_FAIL;
    f->have_now = now != NULL;
    if (!now && f->timestamp)
        f->now = (tst_index_value){.type = TST_INDEX_TIMESTAMP, .v.ts = cli_now()};
    if (!stale)
        return 0;
    f->have_stale = true;
    if (f->timestamp && !cli_parse_duration(stale, &f->stale_seconds))
        return cli_fail("Invalid --stale '%s': expected a duration such as 90m, 6h, 2d or 1w",
                        stale);
    if (!f->timestamp && !cli_parse_u64(stale, &f->stale_units))
        return cli_fail("Invalid --stale '%s': expected a whole number of index units", stale);
    if (!f->timestamp && !now)
        return cli_fail("--stale on an integer index needs --now (an integer): the index has "
                        "no clock");
    return 0;
}

static int run(const cli_args *args)
{
    bool json = false;
    cli_as_of as_of;
    if (!cli_format_is_json(args, &json) || !cli_require(args, "table") ||
        !cli_parse_as_of("entities", cli_get(args, "as-of"), &as_of))
        return CLI_EXIT_FAIL;
    tst_table *table = NULL;
    if (cli_open_table_as_of(&table, cli_get(args, "table"), &as_of) != 0)
        return CLI_EXIT_FAIL;
    freshness f;
    cli_entity_list list;
    memset(&list, 0, sizeof list);
    int rc = parse_freshness(args, table, &f);
    if (rc == 0)
        rc = cli_entity_list_open(&list, table, args);
    bool *keep = rc == 0 ? cli_xmalloc(list.count + 1) : NULL;
    for (size_t i = 0; rc == 0 && i < list.count; i++) {
        const tst_entity_summary *e = cli_entity_list_at(&list, i);
        lag l = lag_of(&f, e);
        keep[i] = !f.have_stale || is_stale(&f, &l, e);
    }
    if (rc == 0)
        json ? print_json(table, &list, keep, &f) : print_grid(table, &list, keep, &f);
    free(keep);
    cli_entity_list_close(&list);
    tst_table_free(table);
    return rc;
}

int cli_cmd_entities(int argc, char **argv)
{
    cli_args args;
    int parsed = cli_parse(&args, "entities", HELP, OPTS, sizeof OPTS / sizeof OPTS[0], argc, argv);
    int rc = parsed == CLI_PARSED ? run(&args) : cli_parse_exit(parsed);
    cli_args_free(&args);
    return rc;
}
