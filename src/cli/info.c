/*
 * info.c — `tstable info`: what a table is and holds, at its latest version.
 *
 * Everything comes from the table handle (the log's state) and the coverage
 * snapshot; no Parquet file is opened, so info is fast on any table. The
 * default output is for people (key: value lines, then the schema and the
 * per-entity coverage as tables); --format json prints one object for
 * scripts with the same facts.
 */
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "tstable/error.h"

static const char HELP[] =
    "Show a table's index, version, segments, rows, bytes, schema and coverage.\n"
    "\n"
    "Usage: tstable info --table PATH [--format table|json] [--limit N] [--as-of VERSION|TIME]\n"
    "\n"
    "Options:\n"
    "  --table PATH     The table\n"
    "  --format FORMAT  table (default, for people) or json (one object, for scripts)\n"
    "  --limit N        Entities listed in the coverage table (default 100; 0 = all);\n"
    "                   json lists them all\n"
    CLI_AS_OF_HELP("                   ")
    "  --help           Show this help\n"
    "\n"
    "Coverage is listed per entity: the first covered bucket's start, the last covered\n"
    "bucket's end (exclusive), the covered buckets and the number of gaps between them.\n"
    "\n"
    "Example:\n"
    "  tstable info --table ./my_stocks --format json\n"
    "  tstable info --table ./my_stocks --as-of 12      # the table as it was at version 12\n";

static const cli_opt OPTS[] = {
    {"table", NULL, CLI_VALUE},
    {"format", NULL, CLI_VALUE},
    {"limit", NULL, CLI_VALUE},
    {"as-of", NULL, CLI_VALUE},
};

#define DEFAULT_ENTITY_LIMIT 100

typedef struct table_totals {
    uint64_t rows;
    uint64_t bytes;
    size_t segments;
} table_totals;

static table_totals totals_of(const tst_table *table)
{
    table_totals t = {0, 0, tst_table_segment_count(table)};
    for (size_t i = 0; i < t.segments; i++) {
        const tst_segment *s = tst_table_segment_at(table, i);
        t.rows += s->row_count;
        t.bytes += s->has_file_size ? s->file_size : 0;
    }
    return t;
}

/* ---- for people ---------------------------------------------------------- */

static void print_schema_grid(const tst_schema *schema)
{
    if (!schema) {
        puts("schema:     (none yet; the first append adopts it)");
        return;
    }
    cli_grid grid;
    cli_grid_init(&grid, 3);
    cli_grid_add(&grid, (const char *[]){"column", "type", "nullable"});
    for (size_t i = 0; i < schema->column_count; i++) {
        char type[128] = "?";
        tst_type_format(&schema->columns[i].type, type, sizeof type);
        cli_grid_add(&grid, (const char *[]){schema->columns[i].name, type,
                                             schema->columns[i].nullable ? "yes" : "no"});
    }
    puts("schema:");
    cli_grid_print(&grid, stdout, NULL);
    cli_grid_free(&grid);
}

/* The first `limit` entities (0: all), then how many were left out. */
static void print_coverage_grid(const tst_index_spec *spec, const tst_coverage_summary *sum,
                                uint64_t limit)
{
    cli_grid grid;
    cli_grid_init(&grid, 5);
    cli_grid_add(
        &grid, (const char *[]){"entity", "first", "last (exclusive)", "covered_buckets", "gaps"});
    size_t count = tst_coverage_summary_count(sum);
    size_t shown = limit == 0 || limit >= count ? count : (size_t)limit;
    for (size_t i = 0; i < shown; i++) {
        const tst_entity_summary *e = tst_coverage_summary_at(sum, i);
        char entity[512], first[TST_TIMESTAMP_TEXT_MAX] = "-", last[TST_TIMESTAMP_TEXT_MAX] = "-";
        char covered[24], gaps[24];
        tst_entity_identity_format_named(spec, &e->identity, entity, sizeof entity);
        if (e->covered) {
            cli_format_index_value(&e->first, first, sizeof first);
            cli_format_index_value(&e->last, last, sizeof last);
        }
        snprintf(covered, sizeof covered, "%llu", (unsigned long long)e->covered_buckets);
        snprintf(gaps, sizeof gaps, "%llu", (unsigned long long)e->gaps);
        cli_grid_add(&grid, (const char *[]){entity, first, last, covered, gaps});
    }
    puts("coverage:");
    cli_grid_print(&grid, stdout, NULL);
    cli_grid_free(&grid);
    if (shown < count)
        printf("(%zu more entities not shown; --limit 0 lists all, --format json too)\n",
               count - shown);
}

/* "none" or "a, b" */
static void print_features(char *const *names, size_t count)
{
    if (count == 0)
        fputs("none", stdout);
    for (size_t i = 0; i < count; i++)
        printf("%s%s", i ? ", " : "", names[i]);
}

/* Protocol-7 tables only: a format_version-6 table's output is as it always was. */
static void print_protocol_text(const tst_table_meta *meta)
{
    if (!meta->protocol_version)
        return;
    printf("protocol:   %u (reader features: ", (unsigned)meta->protocol_version);
    print_features(meta->reader_features, meta->reader_feature_count);
    fputs("; writer features: ", stdout);
    print_features(meta->writer_features, meta->writer_feature_count);
    puts(")");
}

static void json_features(const char *key, char *const *names, size_t count)
{
    printf(",\"%s\":[", key);
    for (size_t i = 0; i < count; i++) {
        fputs(i ? "," : "", stdout);
        cli_json_string(stdout, names[i]);
    }
    fputs("]", stdout);
}

static void print_protocol_json(const tst_table_meta *meta)
{
    if (!meta->protocol_version)
        return;
    printf(",\"protocol\":%u", (unsigned)meta->protocol_version);
    json_features("reader_features", meta->reader_features, meta->reader_feature_count);
    json_features("writer_features", meta->writer_features, meta->writer_feature_count);
}

static void print_text(tst_table *table, const tst_coverage_summary *sum, uint64_t limit)
{
    const tst_table_meta *meta = tst_table_get_meta(table);
    const tst_index_spec *spec = &meta->index;
    table_totals t = totals_of(table);
    char kind[400], created[TST_TIMESTAMP_TEXT_MAX] = "?";
    cli_format_index_kind(&spec->kind, kind, sizeof kind);
    tst_timestamp_format(meta->created_at, created, sizeof created);
    printf("table:      %s\n", tst_table_root(table));
    printf("version:    %llu\n", (unsigned long long)tst_table_version(table));
    print_protocol_text(meta);
    printf("index:      %s (%s)\n", spec->column, kind);
    printf("entities:   ");
    for (size_t i = 0; i < spec->entity_count; i++)
        printf("%s%s", i ? ", " : "", spec->entity_columns[i]);
    printf("%s\n", spec->entity_count ? "" : "(none)");
    printf("created_at: %s\n", created);
    printf("segments:   %zu\n", t.segments);
    printf("rows:       %llu\n", (unsigned long long)t.rows);
    printf("bytes:      %llu\n", (unsigned long long)t.bytes);
    print_schema_grid(meta->schema);
    if (t.segments > 0)
        print_coverage_grid(spec, sum, limit);
    else if (meta->schema)
        puts("coverage:   (no rows: every segment was deleted or removed)");
    else
        puts("coverage:   (nothing appended yet)");
}

/* ---- for scripts --------------------------------------------------------- */

static void json_entity_value(const tst_entity_value *v)
{
    char buf[256];
    tst_entity_identity one = {1, v};
    tst_entity_identity_format(&one, buf, sizeof buf);
    if (v->type == TST_ENTITY_UTF8)
        cli_json_string(stdout, buf);
    else
        fputs(buf, stdout);
}

static void json_index(const tst_index_spec *spec)
{
    fputs("\"index\":{\"column\":", stdout);
    cli_json_string(stdout, spec->column);
    printf(",\"type\":\"%s\"", tst_index_type_name(spec->kind.type));
    if (spec->kind.type == TST_INDEX_TIMESTAMP) {
        char bucket[32] = "";
        tst_time_bucket_format(spec->kind.bucket, bucket, sizeof bucket);
        printf(",\"bucket\":\"%s\",\"timezone\":", bucket);
        cli_json_string(stdout, spec->kind.timezone[0] ? spec->kind.timezone : NULL);
    } else {
        printf(",\"bucket_width\":%llu", (unsigned long long)spec->kind.bucket_width);
    }
    fputs("},\"entity_columns\":[", stdout);
    for (size_t i = 0; i < spec->entity_count; i++) {
        fputs(i ? "," : "", stdout);
        cli_json_string(stdout, spec->entity_columns[i]);
    }
    fputs("]", stdout);
}

static void json_schema(const tst_schema *schema)
{
    fputs(",\"schema\":", stdout);
    if (!schema) {
        fputs("null", stdout);
        return;
    }
    fputs("[", stdout);
    for (size_t i = 0; i < schema->column_count; i++) {
        char type[128] = "?";
        tst_type_format(&schema->columns[i].type, type, sizeof type);
        fputs(i ? ",{\"name\":" : "{\"name\":", stdout);
        cli_json_string(stdout, schema->columns[i].name);
        fputs(",\"type\":", stdout);
        cli_json_string(stdout, type);
        printf(",\"nullable\":%s}", schema->columns[i].nullable ? "true" : "false");
    }
    fputs("]", stdout);
}

static void json_coverage_entry(const tst_index_spec *spec, const tst_entity_summary *e)
{
    fputs("{\"entity\":", stdout);
    if (e->identity.count == 0)
        fputs("null", stdout);
    for (size_t i = 0; i < e->identity.count && i < spec->entity_count; i++) {
        fputs(i ? "," : "{", stdout);
        cli_json_string(stdout, spec->entity_columns[i]);
        fputs(":", stdout);
        json_entity_value(&e->identity.values[i]);
    }
    fputs(e->identity.count ? "}" : "", stdout);
    fputs(",\"first\":", stdout);
    e->covered ? cli_json_index_value(stdout, &e->first) : (void)fputs("null", stdout);
    fputs(",\"last\":", stdout);
    e->covered ? cli_json_index_value(stdout, &e->last) : (void)fputs("null", stdout);
    printf(",\"covered_buckets\":%llu,\"gaps\":%llu}", (unsigned long long)e->covered_buckets,
           (unsigned long long)e->gaps);
}

static void print_json(tst_table *table, const tst_coverage_summary *sum)
{
    const tst_table_meta *meta = tst_table_get_meta(table);
    table_totals t = totals_of(table);
    char created[TST_TIMESTAMP_TEXT_MAX] = "";
    tst_timestamp_format(meta->created_at, created, sizeof created);
    fputs("{\"table\":", stdout);
    cli_json_string(stdout, tst_table_root(table));
    printf(",\"version\":%llu", (unsigned long long)tst_table_version(table));
    print_protocol_json(meta);
    fputs(",", stdout);
    json_index(&meta->index);
    fputs(",\"created_at\":", stdout);
    cli_json_string(stdout, created);
    printf(",\"segments\":%zu,\"rows\":%llu,\"bytes\":%llu", t.segments, (unsigned long long)t.rows,
           (unsigned long long)t.bytes);
    json_schema(meta->schema);
    fputs(",\"coverage\":[", stdout);
    for (size_t i = 0; t.segments > 0 && i < tst_coverage_summary_count(sum); i++) {
        fputs(i ? "," : "", stdout);
        json_coverage_entry(&meta->index, tst_coverage_summary_at(sum, i));
    }
    fputs("]}\n", stdout);
}

static int show(const char *root, bool json, uint64_t limit, const cli_as_of *as_of)
{
    tst_table *table = NULL;
    tst_coverage_summary *sum = NULL;
    if (cli_open_table_as_of(&table, root, as_of) != 0)
        return CLI_EXIT_FAIL;
    int rc = CLI_EXIT_OK;
    if (tst_table_segment_count(table) > 0 && tst_table_coverage_summary(table, &sum) != 0)
        rc = cli_fail_lib("Failed to read the coverage of the table");
    else if (json)
        print_json(table, sum);
    else
        print_text(table, sum, limit);
    if (sum)
        tst_coverage_summary_free(sum);
    tst_table_free(table);
    return rc;
}

int cli_cmd_info(int argc, char **argv)
{
    cli_args args;
    int parsed = cli_parse(&args, "info", HELP, OPTS, sizeof OPTS / sizeof OPTS[0], argc, argv);
    bool json = false;
    int rc = cli_parse_exit(parsed);
    if (parsed == CLI_PARSED) {
        uint64_t limit = DEFAULT_ENTITY_LIMIT;
        const char *text = cli_get(&args, "limit");
        cli_as_of as_of;
        if (!cli_parse_as_of("info", cli_get(&args, "as-of"), &as_of))
            rc = CLI_EXIT_FAIL;
        else if (text && !cli_parse_u64(text, &limit))
            rc = cli_fail("Invalid --limit '%s': expected a number of entities (0 = all)", text);
        else
            rc = cli_require(&args, "table") && cli_format_is_json(&args, &json)
                     ? show(cli_get(&args, "table"), json, limit, &as_of)
                     : CLI_EXIT_FAIL;
    }
    cli_args_free(&args);
    return rc;
}
