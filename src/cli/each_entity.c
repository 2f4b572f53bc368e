/*
 * each_entity.c — `coverage --each-entity`, `gaps --each-entity` and
 * `coverage --last-window`: the coverage questions asked once per entity.
 *
 * "Which symbols have gaps this month?" is one command instead of a shell
 * loop: the table's entities (entity_list.c, canonical order, narrowed by
 * --entity filters) are each asked the same question over the same range,
 * and the answers come back as one box table with an entity column, or as
 * one JSON list whose entries carry the entity as {column: value}. A table
 * without entity columns has one answer, printed exactly as without the
 * flag (the callers in coverage.c and gaps.c fall through on CLI_EACH_NONE).
 *
 * --last-window LENGTH lives on `coverage` rather than in a command of its
 * own: it is a coverage question about the same target (--table, --entity,
 * --as-of, --each-entity), so it shares their options and their help. The
 * window is the most recent run of fully covered buckets of that length
 * ending at or before --end, whose default is the end of the table's last
 * covered bucket (so "the last full day" needs no date).
 *
 * Every answer is computed before anything is printed, so an error never
 * leaves half a table on stdout.
 */
#include <stdlib.h>
#include <string.h>

#include "cli.h"

/* ---- the shared target --------------------------------------------------- */

typedef struct each_target {
    tst_table *table;
    cli_entity_list list;
    tst_index_value start, end;
    tst_calendar *cal; /* --calendar, or NULL: every bucket counts */
} each_target;

static void each_close(each_target *t)
{
    cli_entity_list_close(&t->list);
    tst_table_free(t->table);
    tst_calendar_free(t->cal);
}

/* --table at --as-of; CLI_EACH_NONE when the table has no entity columns. */
static int each_open_table(each_target *t, const cli_args *args, bool each)
{
    memset(t, 0, sizeof *t);
    cli_as_of as_of;
    if (!cli_require(args, "table") ||
        !cli_parse_as_of(args->command, cli_get(args, "as-of"), &as_of) ||
        cli_open_table_as_of(&t->table, cli_get(args, "table"), &as_of) != 0 ||
        cli_calendar(args, &t->cal) != 0)
        return CLI_EXIT_FAIL;
    if (each && tst_table_index(t->table)->entity_count == 0)
        return CLI_EACH_NONE;
    return 0;
}

static int each_open(each_target *t, const cli_args *args)
{
    int rc = each_open_table(t, args, true);
    if (rc == 0)
        rc = cli_entity_list_open(&t->list, t->table, args);
    if (rc == 0)
        rc = cli_range(t->table, cli_get(args, "start"), cli_get(args, "end"), &t->start, &t->end);
    return rc;
}

static void entity_text(const tst_table *table, const tst_entity_summary *e, char *buf,
                        size_t cap)
{
    if (tst_table_index(table)->entity_count == 0)
        snprintf(buf, cap, "(all)");
    else
        tst_entity_identity_format_named(tst_table_index(table), &e->identity, buf, cap);
}

static void entity_json(const tst_table *table, const tst_entity_summary *e)
{
    const tst_index_spec *spec = tst_table_index(table);
    tst_entity_binding b[64];
    size_t n = spec->entity_count < 64 ? spec->entity_count : 64;
    if (n)
        cli_identity_bindings(spec, &e->identity, b);
    cli_json_bindings(stdout, b, n);
}

static size_t bindings_of(const tst_table *table, const tst_entity_summary *e,
                          tst_entity_binding *b)
{
    const tst_index_spec *spec = tst_table_index(table);
    if (spec->entity_count == 0 || spec->entity_count > 64)
        return 0;
    cli_identity_bindings(spec, &e->identity, b);
    return spec->entity_count;
}

/* ---- coverage --each-entity ---------------------------------------------- */

static void coverage_grid(const each_target *t, const tst_coverage_counts *c)
{
    char start[TST_TIMESTAMP_TEXT_MAX], end[TST_TIMESTAMP_TEXT_MAX];
    cli_format_index_value(&t->start, start, sizeof start);
    cli_format_index_value(&t->end, end, sizeof end);
    printf("range: [%s, %s)\n", start, end);
    cli_grid grid;
    cli_grid_init(&grid, 6);
    cli_grid_add(&grid, (const char *[]){"entity", "covered_buckets", "total_buckets",
                                         "missing_buckets", "ratio", "max_gap_buckets"});
    for (size_t i = 0; i < t->list.count; i++) {
        char entity[512], n[4][24], ratio[CLI_FLOAT_TEXT_MAX];
        entity_text(t->table, cli_entity_list_at(&t->list, i), entity, sizeof entity);
        snprintf(n[0], 24, "%llu", (unsigned long long)c[i].covered_buckets);
        snprintf(n[1], 24, "%llu", (unsigned long long)c[i].total_buckets);
        snprintf(n[2], 24, "%llu", (unsigned long long)(c[i].total_buckets - c[i].covered_buckets));
        snprintf(n[3], 24, "%llu", (unsigned long long)c[i].max_gap_buckets);
        cli_format_float(c[i].ratio, ratio, sizeof ratio);
        cli_grid_add(&grid, (const char *[]){entity, n[0], n[1], n[2], ratio, n[3]});
    }
    cli_grid_print(&grid, stdout, NULL);
    cli_grid_free(&grid);
}

static void coverage_json(const each_target *t, const tst_coverage_counts *c)
{
    fputs("[", stdout);
    for (size_t i = 0; i < t->list.count; i++) {
        fputs(i ? ",{\"start\":" : "{\"start\":", stdout);
        cli_json_index_value(stdout, &t->start);
        fputs(",\"end\":", stdout);
        cli_json_index_value(stdout, &t->end);
        fputs(",\"entity\":", stdout);
        entity_json(t->table, cli_entity_list_at(&t->list, i));
        printf(",\"covered_buckets\":%llu,\"total_buckets\":%llu,\"missing_buckets\":%llu,"
               "\"ratio\":",
               (unsigned long long)c[i].covered_buckets, (unsigned long long)c[i].total_buckets,
               (unsigned long long)(c[i].total_buckets - c[i].covered_buckets));
        cli_json_double(stdout, c[i].ratio);
        printf(",\"max_gap_buckets\":%llu}", (unsigned long long)c[i].max_gap_buckets);
    }
    fputs("]\n", stdout);
}

int cli_coverage_each_entity(const cli_args *args)
{
    bool json = false;
    if (!cli_format_is_json(args, &json))
        return CLI_EXIT_FAIL;
    each_target t;
    int rc = each_open(&t, args);
    tst_coverage_counts *c = NULL;
    if (rc == 0)
        c = cli_xmalloc((t.list.count ? t.list.count : 1) * sizeof *c);
    for (size_t i = 0; rc == 0 && i < t.list.count; i++) {
        tst_entity_binding b[64];
        size_t n = bindings_of(t.table, cli_entity_list_at(&t.list, i), b);
        if (tst_table_coverage_cal(t.table, b, n, &t.start, &t.end, t.cal, &c[i]) != 0)
            rc = cli_fail_lib("Failed to compute coverage");
    }
    if (rc == 0)
        json ? coverage_json(&t, c) : coverage_grid(&t, c);
    free(c);
    each_close(&t);
    return rc;
}

/* ---- gaps --each-entity -------------------------------------------------- */

typedef struct entity_gap {
    size_t entity; /* position in the list */
    tst_index_value start, end;
    bool end_inclusive;
    uint64_t buckets;
} entity_gap;

typedef struct gap_collect {
    entity_gap *items;
    size_t count, cap, entity;
} gap_collect;

static int collect(void *ctx, const tst_index_value *start, const tst_index_value *end,
                   bool end_inclusive, uint64_t buckets)
{
    gap_collect *g = ctx;
    if (g->count == g->cap) {
        g->cap = g->cap ? 2 * g->cap : 16;
        g->items = cli_xrealloc(g->items, g->cap * sizeof *g->items);
    }
    g->items[g->count++] = (entity_gap){g->entity, *start, *end, end_inclusive, buckets};
    return 0;
}

static void gaps_grid(const each_target *t, const gap_collect *g)
{
    if (g->count == 0) {
        puts("(no gaps)");
        return;
    }
    cli_grid grid;
    cli_grid_init(&grid, 4);
    cli_grid_add(&grid, (const char *[]){"entity", "start", "end (exclusive)", "buckets"});
    for (size_t i = 0; i < g->count; i++) {
        const entity_gap *x = &g->items[i];
        char entity[512], start[TST_TIMESTAMP_TEXT_MAX], end[TST_TIMESTAMP_TEXT_MAX + 16], n[24];
        entity_text(t->table, cli_entity_list_at(&t->list, x->entity), entity, sizeof entity);
        cli_format_index_value(&x->start, start, sizeof start);
        cli_format_index_value(&x->end, end, TST_TIMESTAMP_TEXT_MAX);
        if (x->end_inclusive)
            snprintf(end + strlen(end), 16, " (inclusive)");
        snprintf(n, sizeof n, "%llu", (unsigned long long)x->buckets);
        cli_grid_add(&grid, (const char *[]){entity, start, end, n});
    }
    cli_grid_print(&grid, stdout, NULL);
    cli_grid_free(&grid);
}

static void gaps_json(const each_target *t, const gap_collect *g)
{
    fputs("[", stdout);
    for (size_t i = 0; i < g->count; i++) {
        const entity_gap *x = &g->items[i];
        fputs(i ? ",{\"entity\":" : "{\"entity\":", stdout);
        entity_json(t->table, cli_entity_list_at(&t->list, x->entity));
        fputs(",\"start\":", stdout);
        cli_json_index_value(stdout, &x->start);
        fputs(",\"end\":", stdout);
        cli_json_index_value(stdout, &x->end);
        printf(",\"end_inclusive\":%s,\"buckets\":%llu}", x->end_inclusive ? "true" : "false",
               (unsigned long long)x->buckets);
    }
    fputs("]\n", stdout);
}

int cli_gaps_each_entity(const cli_args *args)
{
    bool json = false;
    uint64_t max_buckets = 0;
    const char *max = cli_get(args, "max-buckets");
    if (!cli_format_is_json(args, &json))
        return CLI_EXIT_FAIL;
    if (max && (!cli_parse_u64(max, &max_buckets) || max_buckets == 0))
        return cli_fail("Invalid --max-buckets '%s': expected a positive integer", max);
    each_target t;
    gap_collect g = {0};
    int rc = each_open(&t, args);
    for (size_t i = 0; rc == 0 && i < t.list.count; i++) {
        tst_entity_binding b[64];
        size_t n = bindings_of(t.table, cli_entity_list_at(&t.list, i), b);
        g.entity = i;
        if (tst_table_gaps_cal(t.table, b, n, &t.start, &t.end, t.cal, max_buckets, collect,
                               &g) != 0)
            rc = cli_fail_lib("Failed to list gaps");
    }
    if (rc == 0)
        json ? gaps_json(&t, &g) : gaps_grid(&t, &g);
    free(g.items);
    each_close(&t);
    return rc;
}

/* ---- coverage --last-window ---------------------------------------------- */

/* LENGTH: a duration (1d, 12h, 2w) for timestamps, index units for integers;
 * a positive whole number of the table's buckets. */
static int window_buckets(const tst_index_kind *kind, const char *text, uint64_t *out)
{
    uint64_t units = 0, width = 0;
    if (kind->type == TST_INDEX_TIMESTAMP) {
        int64_t secs = 0;
        if (!cli_parse_duration(text, &secs))
            return cli_fail("Invalid --last-window '%s': expected a duration such as 1d, 12h, "
                            "30m or 2w", text);
        units = (uint64_t)secs;
        width = tst_time_bucket_seconds(kind->bucket);
    } else {
        if (!cli_parse_u64(text, &units))
            return cli_fail("Invalid --last-window '%s': expected a whole number of index units",
                            text);
        width = kind->bucket_width;
    }
    if (width == 0 || units == 0 || units % width != 0)
        return cli_fail("Invalid --last-window '%s': not a positive whole number of the table's "
                        "buckets", text);
    *out = units / width;
    return 0;
}

typedef struct window {
    size_t entity; /* position in the list; SIZE_MAX: the --entity given */
    bool found;
    tst_index_value start, end;
} window;

/* The end of the table's last covered bucket (over every entity). */
static bool last_covered_end(const tst_coverage_summary *sum, tst_index_value *out)
{
    bool any = false;
    for (size_t i = 0; i < tst_coverage_summary_count(sum); i++) {
        const tst_entity_summary *e = tst_coverage_summary_at(sum, i);
        int cmp = 0;
        if (e->covered && (!any || (tst_index_value_compare(&e->last, out, &cmp) == 0 && cmp > 0)))
            *out = e->last, any = true;
    }
    return any;
}

static void window_text(const tst_table *table, const each_target *t, const window *w,
                        const char *entity, uint64_t buckets, const char *length)
{
    char start[TST_TIMESTAMP_TEXT_MAX], end[TST_TIMESTAMP_TEXT_MAX];
    char before[TST_TIMESTAMP_TEXT_MAX];
    (void)table;
    cli_format_index_value(&t->end, before, sizeof before);
    if (w->found) {
        cli_format_index_value(&w->start, start, sizeof start);
        cli_format_index_value(&w->end, end, sizeof end);
        printf("window:  [%s, %s)\n", start, end);
    } else {
        printf("window:  (none: no %s fully covered before %s)\n", length, before);
    }
    printf("entity:  %s\n", entity);
    printf("length:  %s (%llu buckets)\n", length, (unsigned long long)buckets);
    printf("before:  %s\n", before);
}

static void window_json_one(const each_target *t, const window *w, const tst_entity_binding *b,
                            size_t n, uint64_t buckets)
{
    fputs("{\"entity\":", stdout);
    if (w->entity == SIZE_MAX)
        cli_json_bindings(stdout, b, n);
    else
        entity_json(t->table, cli_entity_list_at(&t->list, w->entity));
    printf(",\"buckets\":%llu,\"before\":", (unsigned long long)buckets);
    cli_json_index_value(stdout, &t->end);
    fputs(",\"start\":", stdout);
    w->found ? cli_json_index_value(stdout, &w->start) : (void)fputs("null", stdout);
    fputs(",\"end\":", stdout);
    w->found ? cli_json_index_value(stdout, &w->end) : (void)fputs("null", stdout);
    fputs("}", stdout);
}

static void windows_grid(const each_target *t, const window *w, uint64_t buckets,
                         const char *length)
{
    char before[TST_TIMESTAMP_TEXT_MAX];
    cli_format_index_value(&t->end, before, sizeof before);
    printf("last fully covered %s (%llu buckets) before %s:\n", length,
           (unsigned long long)buckets, before);
    cli_grid grid;
    cli_grid_init(&grid, 3);
    cli_grid_add(&grid, (const char *[]){"entity", "start", "end (exclusive)"});
    for (size_t i = 0; i < t->list.count; i++) {
        char entity[512], start[TST_TIMESTAMP_TEXT_MAX] = "-", end[TST_TIMESTAMP_TEXT_MAX] = "-";
        entity_text(t->table, cli_entity_list_at(&t->list, w[i].entity), entity, sizeof entity);
        if (w[i].found) {
            cli_format_index_value(&w[i].start, start, sizeof start);
            cli_format_index_value(&w[i].end, end, sizeof end);
        }
        cli_grid_add(&grid, (const char *[]){entity, start, end});
    }
    cli_grid_print(&grid, stdout, NULL);
    cli_grid_free(&grid);
}

static int ask_window(each_target *t, const tst_entity_binding *b, size_t n, uint64_t buckets,
                      window *w)
{
    if (tst_table_last_covered_window_cal(t->table, b, n, &t->end, buckets, t->cal, &w->found,
                                          &w->start, &w->end) != 0)
        return cli_fail_lib("Failed to find the last covered window");
    return 0;
}

/* The window end: --end, or the end of the last covered bucket. */
static int window_end(each_target *t, const cli_args *args, bool *empty)
{
    const char *end = cli_get(args, "end");
    *empty = false;
    if (end)
        return cli_parse_index_value(&tst_table_index(t->table)->kind, "--end", end, &t->end) != 0
                   ? CLI_EXIT_FAIL
                   : 0;
    tst_coverage_summary *sum = NULL;
    if (tst_table_coverage_summary(t->table, &sum) != 0)
        return cli_fail_lib("Failed to read the table's coverage");
    *empty = !last_covered_end(sum, &t->end);
    tst_coverage_summary_free(sum);
    return *empty ? cli_fail("The table at %s covers nothing yet: give --end",
                             tst_table_root(t->table))
                  : 0;
}

static int last_window_each(each_target *t, const cli_args *args, uint64_t buckets, bool json)
{
    const char *length = cli_get(args, "last-window");
    int rc = cli_entity_list_open(&t->list, t->table, args);
    window *w = rc == 0 ? cli_xmalloc((t->list.count + 1) * sizeof *w) : NULL;
    for (size_t i = 0; rc == 0 && i < t->list.count; i++) {
        tst_entity_binding b[64];
        size_t n = bindings_of(t->table, cli_entity_list_at(&t->list, i), b);
        w[i].entity = i;
        rc = ask_window(t, b, n, buckets, &w[i]);
    }
    if (rc == 0 && json) {
        fputs("[", stdout);
        for (size_t i = 0; i < t->list.count; i++) {
            fputs(i ? "," : "", stdout);
            window_json_one(t, &w[i], NULL, 0, buckets);
        }
        fputs("]\n", stdout);
    } else if (rc == 0) {
        windows_grid(t, w, buckets, length);
    }
    free(w);
    return rc;
}

static int last_window_one(each_target *t, const cli_args *args, uint64_t buckets, bool json)
{
    size_t n = 0;
    const char *const *specs = cli_list(args, "entity", &n);
    tst_entity_binding *b = NULL;
    if (n && cli_parse_entity(t->table, specs, n, &b) != 0)
        return CLI_EXIT_FAIL;
    cli_warn_unknown_entity(&t->table, 1, b, n);
    window w = {.entity = SIZE_MAX};
    int rc = ask_window(t, b, n, buckets, &w);
    char entity[512] = "(all)";
    if (n)
        cli_format_bindings(b, n, entity, sizeof entity);
    if (rc == 0 && json) {
        window_json_one(t, &w, b, n, buckets);
        fputs("\n", stdout);
    } else if (rc == 0) {
        window_text(t->table, t, &w, entity, buckets, cli_get(args, "last-window"));
    }
    cli_free_entity(b, n);
    return rc;
}

int cli_coverage_last_window(const cli_args *args)
{
    bool json = false, empty = false;
    uint64_t buckets = 0;
    if (!cli_format_is_json(args, &json))
        return CLI_EXIT_FAIL;
    if (cli_get(args, "start") || cli_get(args, "plot"))
        return cli_usage_error("coverage", "--last-window looks back from --end; --start and "
                                           "--plot do not apply");
    each_target t;
    int rc = each_open_table(&t, args, false);
    if (rc == 0)
        rc = window_buckets(&tst_table_index(t.table)->kind, cli_get(args, "last-window"),
                            &buckets);
    if (rc == 0)
        rc = window_end(&t, args, &empty);
    bool each = rc == 0 && cli_has(args, "each-entity") &&
                tst_table_index(t.table)->entity_count > 0;
    if (rc == 0)
        rc = each ? last_window_each(&t, args, buckets, json)
                  : last_window_one(&t, args, buckets, json);
    each_close(&t);
    return rc;
}
