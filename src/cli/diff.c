/*
 * diff.c — `tstable diff` and `tstable plan-backfill`: the coverage diff
 * between two versions or two tables, and the requests that fill the gaps.
 *
 * Both print a list of entity ranges from tstable/coverage_diff.h, so they
 * share the parsing of --entity (each one entity: a bare value, or
 * col=value[,col=value] for a composite entity), the output (a box table
 * or JSON) and the summary line. The answer is built completely before
 * anything is printed, so an error never leaves half a list on stdout.
 *
 * plan-backfill is its own command, not a `gaps` option, because its
 * answer is a different thing: requests (merged and split for an API),
 * not the table's gaps, and it spans every entity at once.
 */
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "tstable/coverage_diff.h"

static const char DIFF_HELP[] =
    "Compare coverage: the buckets added and removed per entity, as ranges.\n"
    "\n"
    "Usage: tstable diff --table PATH --from-version N [--to-version M]\n"
    "       tstable diff --table PATH --other PATH [--version N] [--other-version M]\n"
    "                    [--start VALUE] [--end VALUE] [--entity VALUE]... [--format table|json]\n"
    "\n"
    "Options:\n"
    "  --table PATH          The table (the \"from\" side)\n"
    "  --from-version N      Compare the table at version N ...\n"
    "  --to-version M        ... with version M (default: the latest)\n"
    "  --other PATH          Compare the table with another table (the \"to\" side), which\n"
    "                        must have the same index type, bucket width and entity columns\n"
    "  --version N           With --other: read --table at version N\n"
    "  --other-version M     With --other: read --other at version M\n"
    "  --start VALUE         Only buckets from here (default: no limit)\n"
    "  --end VALUE           Only buckets before here (default: no limit)\n"
    "  --entity VALUE        Only this entity; repeat for several. A bare VALUE for a\n"
    "                        one-column entity, or col=value[,col=value] for a composite one\n"
    "  --format FORMAT       table (default) or json (a list of {entity, change, start, end,\n"
    "                        end_inclusive, buckets})\n"
    "  --help                Show this help\n"
    "\n"
    "\"added\": covered on the to side only (what a downstream job must refresh);\n"
    "\"removed\": covered on the from side only. Ranges follow bucket edges.\n"
    "\n"
    "Example:\n"
    "  tstable diff --table ./my_stocks --from-version 10 --to-version 12\n"
    "  tstable diff --table ./vendor_a --other ./vendor_b --start 2024-01-01 --end 2024-02-01\n";

static const cli_opt DIFF_OPTS[] = {
    {"table", NULL, CLI_VALUE},        {"other", NULL, CLI_VALUE},
    {"from-version", NULL, CLI_VALUE}, {"to-version", NULL, CLI_VALUE},
    {"version", NULL, CLI_VALUE},      {"other-version", NULL, CLI_VALUE},
    {"start", NULL, CLI_VALUE},        {"end", NULL, CLI_VALUE},
    {"entity", NULL, CLI_LIST},        {"format", NULL, CLI_VALUE},
};

static const char PLAN_HELP[] =
    "Plan a backfill: the fewest (entity, start, end) requests that fill the gaps.\n"
    "\n"
    "Usage: tstable plan-backfill --table PATH [--start VALUE] [--end VALUE]\n"
    "                             [--entity VALUE]... [--max-request LENGTH]\n"
    "                             [--merge-within LENGTH] [--calendar SPEC]\n"
    "                             [--format table|json]\n"
    "\n"
    "Options:\n"
    "  --table PATH          The table\n"
    "  --start VALUE         Start of the range, inclusive (default: the table's first value)\n"
    "  --end VALUE           End of the range, exclusive (default: just past its last value)\n"
    "  --entity VALUE        Plan for this entity (repeat for several; an entity the table\n"
    "                        has never seen needs the whole range). Default: every entity\n"
    "                        the table knows. A bare VALUE, or col=value[,col=value]\n"
    "  --max-request LENGTH  Longest request: a duration (7d, 12h, 30m) for a timestamp\n"
    "                        index, index units for an integer index; a whole number of\n"
    "                        buckets. Longer gaps are split. Default: no limit\n"
    "  --merge-within LENGTH Allow over-fetching: gaps separated by at most LENGTH of\n"
    "                        covered data become one request. Default: 0 (a request never\n"
    "                        covers a covered bucket)\n"
    "  --calendar SPEC       Request only buckets the calendar expects (nights, weekends,\n"
    "                        holidays are not gaps; between two gaps they count like\n"
    "                        covered buckets for --merge-within). SPEC as for `tstable\n"
    "                        coverage`, e.g. 'weekdays;tz=America/New_York;sessions=09:30-16:00'\n"
    "  --format FORMAT       table (default) or json (a list of {entity, start, end,\n"
    "                        end_inclusive, buckets, missing_buckets})\n"
    "  --help                Show this help\n"
    "\n"
    "Example:\n"
    "  tstable plan-backfill --table ./my_stocks --start 2024-01-01 --end 2025-01-01 \\\n"
    "      --max-request 7d --merge-within 1h\n";

static const cli_opt PLAN_OPTS[] = {
    {"table", NULL, CLI_VALUE},       {"start", NULL, CLI_VALUE},
    {"end", NULL, CLI_VALUE},         {"entity", NULL, CLI_LIST},
    {"max-request", NULL, CLI_VALUE}, {"merge-within", NULL, CLI_VALUE},
    {"format", NULL, CLI_VALUE},       {"calendar", NULL, CLI_VALUE},
};

/* ---- entities ------------------------------------------------------------ */

typedef struct entity_set {
    tst_entity_identity *ids;
    tst_entity_binding **bindings;
    size_t *binding_counts;
    tst_entity_value **values;
    char **texts;
    size_t count;
} entity_set;

static void entity_set_free(entity_set *s)
{
    for (size_t i = 0; i < s->count; i++) {
        cli_free_entity(s->bindings[i], s->binding_counts[i]);
        free(s->values[i]);
        free(s->texts[i]);
    }
    free(s->ids);
    free(s->bindings);
    free(s->binding_counts);
    free(s->values);
    free(s->texts);
    memset(s, 0, sizeof *s);
}

/* One --entity: "NVDA", "symbol=NVDA" or "symbol=NVDA,venue=XNAS". */
static int parse_one(tst_table *table, entity_set *s, size_t i, const char *spec)
{
    s->texts[i] = cli_xstrdup(spec);
    const char *parts[64];
    size_t n = 0;
    for (char *save = NULL, *p = strtok_r(s->texts[i], ",", &save); p && n < 64;
         p = strtok_r(NULL, ",", &save))
        parts[n++] = p;
    size_t want = tst_table_index(table)->entity_count;
    if (want == 0)
        return cli_fail("Invalid --entity '%s': the table has no entity columns", spec);
    if (n != want)
        return cli_fail("Invalid --entity '%s': give one value for each of the table's %zu "
                        "entity columns, as col=value,col=value",
                        spec, want);
    if (cli_parse_entity(table, parts, n, &s->bindings[i]) != 0)
        return CLI_EXIT_FAIL;
    s->binding_counts[i] = n;
    s->values[i] = cli_xmalloc(n * sizeof *s->values[i]);
    for (size_t k = 0; k < n; k++)
        s->values[i][k] = s->bindings[i][k].value; /* already in entity_columns order */
    s->ids[i] = (tst_entity_identity){n, s->values[i]};
    return 0;
}

static int parse_entities(tst_table *table, const cli_args *args, entity_set *s)
{
    memset(s, 0, sizeof *s);
    size_t n = 0;
    const char *const *specs = cli_list(args, "entity", &n);
    if (n == 0)
        return 0;
    s->ids = calloc(n, sizeof *s->ids);
    s->bindings = calloc(n, sizeof *s->bindings);
    s->binding_counts = calloc(n, sizeof *s->binding_counts);
    s->values = calloc(n, sizeof *s->values);
    s->texts = calloc(n, sizeof *s->texts);
    if (!s->ids || !s->bindings || !s->binding_counts || !s->values || !s->texts)
        return cli_fail("out of memory");
    s->count = n;
    for (size_t i = 0; i < n; i++)
        if (parse_one(table, s, i, specs[i]) != 0)
            return CLI_EXIT_FAIL;
    return 0;
}

/* Warns about each --entity none of the tables has seen (entity_list.c). */
static void warn_unknown(const entity_set *s, tst_table *const *tables, size_t n)
{
    for (size_t i = 0; i < s->count; i++)
        cli_warn_unknown_entity(tables, n, s->bindings[i], s->binding_counts[i]);
}

/* ---- output -------------------------------------------------------------- */

static void json_entity(FILE *out, const tst_index_spec *spec, const tst_entity_identity *id)
{
    if (id->count == 0) {
        fputs("null", out);
        return;
    }
    fputc('{', out);
    for (size_t k = 0; k < id->count; k++) {
        const tst_entity_value *v = &id->values[k];
        if (k)
            fputc(',', out);
        cli_json_string(out, spec->entity_columns[k]);
        fputc(':', out);
        if (v->type == TST_ENTITY_UTF8) {
            char *text = cli_xmalloc(v->v.utf8.len + 1);
            memcpy(text, v->v.utf8.ptr, v->v.utf8.len);
            text[v->v.utf8.len] = '\0';
            cli_json_string(out, text);
            free(text);
        } else if (v->type == TST_ENTITY_INT32) {
            fprintf(out, "%d", v->v.i32);
        } else if (v->type == TST_ENTITY_INT64) {
            fprintf(out, "%lld", (long long)v->v.i64);
        } else {
            fprintf(out, "%llu", (unsigned long long)v->v.u64);
        }
    }
    fputc('}', out);
}

static void print_json(const tst_index_spec *spec, const tst_range_list *list, bool plan)
{
    fputs("[", stdout);
    for (size_t i = 0; i < tst_range_list_count(list); i++) {
        const tst_entity_range *r = tst_range_list_at(list, i);
        fputs(i ? ",{\"entity\":" : "{\"entity\":", stdout);
        json_entity(stdout, spec, &r->identity);
        if (!plan)
            printf(",\"change\":\"%s\"", tst_range_change_name(r->change));
        fputs(",\"start\":", stdout);
        cli_json_index_value(stdout, &r->start);
        fputs(",\"end\":", stdout);
        cli_json_index_value(stdout, &r->end);
        printf(",\"end_inclusive\":%s,\"buckets\":%llu", r->end_inclusive ? "true" : "false",
               (unsigned long long)r->buckets);
        if (plan)
            printf(",\"missing_buckets\":%llu", (unsigned long long)r->missing_buckets);
        fputs("}", stdout);
    }
    fputs("]\n", stdout);
}

static void print_text(const tst_index_spec *spec, const tst_range_list *list, bool plan)
{
    size_t n = tst_range_list_count(list);
    uint64_t totals[2] = {0, 0};
    size_t runs[2] = {0, 0};
    cli_grid grid;
    cli_grid_init(&grid, 5);
    cli_grid_add(&grid, plan ? (const char *[]){"entity", "start", "end (exclusive)", "buckets",
                                                "missing"}
                             : (const char *[]){"entity", "change", "start", "end (exclusive)",
                                                "buckets"});
    for (size_t i = 0; i < n; i++) {
        const tst_entity_range *r = tst_range_list_at(list, i);
        char entity[512], start[TST_TIMESTAMP_TEXT_MAX], end[TST_TIMESTAMP_TEXT_MAX + 16];
        char count[24], missing[24];
        if (r->identity.count)
            tst_entity_identity_format_named(spec, &r->identity, entity, sizeof entity);
        else
            snprintf(entity, sizeof entity, "(table)");
        cli_format_index_value(&r->start, start, sizeof start);
        cli_format_index_value(&r->end, end, TST_TIMESTAMP_TEXT_MAX);
        if (r->end_inclusive)
            snprintf(end + strlen(end), 16, " (inclusive)");
        snprintf(count, sizeof count, "%llu", (unsigned long long)r->buckets);
        snprintf(missing, sizeof missing, "%llu", (unsigned long long)r->missing_buckets);
        size_t k = r->change == TST_RANGE_REMOVED;
        totals[k] += plan ? r->missing_buckets : r->buckets;
        runs[k]++;
        const char *change = tst_range_change_name(r->change);
        cli_grid_add(&grid, plan ? (const char *[]){entity, start, end, count, missing}
                                 : (const char *[]){entity, change, start, end, count});
    }
    if (n)
        cli_grid_print(&grid, stdout, NULL);
    cli_grid_free(&grid);
    if (plan)
        printf("%zu request%s fill%s %llu missing bucket%s\n", runs[0], runs[0] == 1 ? "" : "s",
               runs[0] == 1 ? "s" : "", (unsigned long long)totals[0], totals[0] == 1 ? "" : "s");
    else
        printf("added: %llu bucket%s in %zu range%s; removed: %llu bucket%s in %zu range%s\n",
               (unsigned long long)totals[0], totals[0] == 1 ? "" : "s", runs[0],
               runs[0] == 1 ? "" : "s", (unsigned long long)totals[1], totals[1] == 1 ? "" : "s",
               runs[1], runs[1] == 1 ? "" : "s");
}

/* ---- diff ---------------------------------------------------------------- */

static bool version_arg(const cli_args *args, const char *name, bool *set, uint64_t *out)
{
    const char *text = cli_get(args, name);
    *set = text != NULL;
    if (text && !cli_parse_u64(text, out)) {
        cli_usage_error(args->command, "Invalid --%s '%s': expected a version number", name,
                        text);
        return false;
    }
    return true;
}

static int open_version(tst_table **out, const char *root, bool set, uint64_t version)
{
    if (!set)
        return cli_open_table(out, root);
    if (tst_table_open_at(out, root, version) != 0) {
        char context[512];
        snprintf(context, sizeof context, "Failed to open table at %s version %llu", root,
                 (unsigned long long)version);
        return cli_fail_lib(context);
    }
    return 0;
}

/* Opens both sides after checking which form of the command this is. */
static int open_sides(const cli_args *args, tst_table **from, tst_table **to)
{
    bool fv = false, tv = false, v = false, ov = false;
    uint64_t nf = 0, nt = 0, n = 0, no = 0;
    if (!cli_require(args, "table") || !version_arg(args, "from-version", &fv, &nf) ||
        !version_arg(args, "to-version", &tv, &nt) || !version_arg(args, "version", &v, &n) ||
        !version_arg(args, "other-version", &ov, &no))
        return CLI_EXIT_FAIL;
    const char *table = cli_get(args, "table"), *other = cli_get(args, "other");
    if (other && (fv || tv))
        return cli_usage_error(args->command, "--from-version/--to-version compare two versions "
                                              "of one table; with --other use --version and "
                                              "--other-version");
    if (!other && !fv)
        return cli_usage_error(args->command, "give --from-version N (two versions of "
                                              "--table) or --other PATH (two tables)");
    if (!other && (v || ov))
        return cli_usage_error(args->command, "--version and --other-version go with --other");
    if (other)
        return open_version(from, table, v, n) != 0 ? CLI_EXIT_FAIL
                                                    : open_version(to, other, ov, no);
    return open_version(from, table, true, nf) != 0 ? CLI_EXIT_FAIL
                                                    : open_version(to, table, tv, nt);
}

static int parse_range(tst_table *table, const cli_args *args, tst_index_value *start,
                       tst_index_value *end, tst_coverage_scope *scope)
{
    const char *s = cli_get(args, "start"), *e = cli_get(args, "end");
    const tst_index_kind *kind = &tst_table_index(table)->kind;
    if (s && e) {
        if (cli_parse_index_value(kind, "--start", s, start) != 0 ||
            cli_parse_index_value(kind, "--end", e, end) != 0)
            return CLI_EXIT_FAIL;
    } else if (s || e) {
        if (cli_range(table, s, e, start, end) != 0)
            return CLI_EXIT_FAIL;
    } else {
        return 0;
    }
    scope->start = start;
    scope->end = end;
    return 0;
}

static int run_diff(const cli_args *args)
{
    bool json = false;
    if (!cli_format_is_json(args, &json))
        return CLI_EXIT_FAIL;
    tst_table *from = NULL, *to = NULL;
    tst_range_list *list = NULL;
    entity_set ents;
    memset(&ents, 0, sizeof ents);
    tst_index_value start, end;
    tst_coverage_scope scope = TST_COVERAGE_SCOPE_INIT;
    int rc = open_sides(args, &from, &to);
    if (rc == 0)
        rc = parse_range(from, args, &start, &end, &scope);
    if (rc == 0)
        rc = parse_entities(from, args, &ents);
    if (rc == 0)
        warn_unknown(&ents, (tst_table *const[]){from, to}, 2);
    scope.entities = ents.ids;
    scope.entity_count = ents.count;
    if (rc == 0 && tst_table_coverage_diff(&list, from, to, &scope) != 0)
        rc = cli_fail_lib("Failed to compare coverage");
    if (rc == 0)
        json ? print_json(tst_table_index(from), list, false)
             : print_text(tst_table_index(from), list, false);
    tst_range_list_free(list);
    entity_set_free(&ents);
    tst_table_free(from);
    tst_table_free(to);
    return rc;
}

int cli_cmd_diff(int argc, char **argv)
{
    cli_args args;
    int parsed = cli_parse(&args, "diff", DIFF_HELP, DIFF_OPTS,
                           sizeof DIFF_OPTS / sizeof DIFF_OPTS[0], argc, argv);
    int rc = parsed == CLI_PARSED ? run_diff(&args) : cli_parse_exit(parsed);
    cli_args_free(&args);
    return rc;
}

/* ---- plan-backfill -------------------------------------------------------- */

/* A length in whole buckets: a duration for timestamps, units for integers. */
static int parse_length(const tst_index_kind *kind, const char *option, const char *text,
                        uint64_t *out)
{
    uint64_t units = 0, width = 0;
    if (kind->type == TST_INDEX_TIMESTAMP) {
        tst_time_bucket d;
        if (strcmp(text, "0") == 0) {
            *out = 0;
            return 0;
        }
        if (cli_parse_time_bucket(option, text, &d) != 0)
            return CLI_EXIT_FAIL;
        units = tst_time_bucket_seconds(d);
        width = tst_time_bucket_seconds(kind->bucket);
    } else {
        if (!cli_parse_u64(text, &units))
            return cli_fail("Invalid %s '%s': expected a whole number of index units", option,
                            text);
        width = kind->bucket_width;
    }
    if (width == 0 || units % width != 0)
        return cli_fail("Invalid %s '%s': not a whole number of the table's buckets", option,
                        text);
    *out = units / width;
    return 0;
}

static int run_plan(const cli_args *args)
{
    bool json = false;
    if (!cli_format_is_json(args, &json) || !cli_require(args, "table"))
        return CLI_EXIT_FAIL;
    tst_table *table = NULL;
    tst_range_list *list = NULL;
    entity_set ents;
    memset(&ents, 0, sizeof ents);
    tst_index_value start, end;
    tst_backfill_options opts = TST_BACKFILL_OPTIONS_INIT;
    const char *max = cli_get(args, "max-request"), *merge = cli_get(args, "merge-within");
    int rc = cli_open_table(&table, cli_get(args, "table"));
    const tst_index_kind *kind = rc == 0 ? &tst_table_index(table)->kind : NULL;
    if (rc == 0 && max) {
        rc = parse_length(kind, "--max-request", max, &opts.max_request_buckets);
        if (rc == 0 && opts.max_request_buckets == 0)
            rc = cli_fail("Invalid --max-request '%s': must be at least one bucket", max);
    }
    if (rc == 0 && merge)
        rc = parse_length(kind, "--merge-within", merge, &opts.merge_within_buckets);
    if (rc == 0 && cli_range(table, cli_get(args, "start"), cli_get(args, "end"), &start, &end))
        rc = CLI_EXIT_FAIL;
    if (rc == 0)
        rc = parse_entities(table, args, &ents);
    if (rc == 0)
        warn_unknown(&ents, &table, 1);
    opts.scope = (tst_coverage_scope){&start, &end, ents.ids, ents.count};
    tst_calendar *cal = NULL;
    tst_coverage *expected = NULL;
    if (rc == 0 && cli_get(args, "calendar"))
        rc = cli_calendar(args, &cal);
    if (rc == 0 && cal && tst_table_expected_buckets(&expected, table, cal, &start, &end) != 0)
        rc = cli_fail_lib("Failed to plan the backfill");
    opts.expected = expected;
    if (rc == 0 && tst_table_plan_backfill(&list, table, &opts) != 0)
        rc = cli_fail_lib("Failed to plan the backfill");
    tst_coverage_free(expected);
    tst_calendar_free(cal);
    if (rc == 0)
        json ? print_json(tst_table_index(table), list, true)
             : print_text(tst_table_index(table), list, true);
    tst_range_list_free(list);
    entity_set_free(&ents);
    tst_table_free(table);
    return rc;
}

int cli_cmd_plan_backfill(int argc, char **argv)
{
    cli_args args;
    int parsed = cli_parse(&args, "plan-backfill", PLAN_HELP, PLAN_OPTS,
                           sizeof PLAN_OPTS / sizeof PLAN_OPTS[0], argc, argv);
    int rc = parsed == CLI_PARSED ? run_plan(&args) : cli_parse_exit(parsed);
    cli_args_free(&args);
    return rc;
}
