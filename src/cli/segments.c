/*
 * segments.c — `tstable segments`: the live segments of a table, one line
 * each (report finding 31: `info` gives only their number).
 *
 * A segment is what a query may open: its data file, rows, bytes, the
 * index range it holds and the entity it belongs to (the entity layout of
 * the log: one identity, "mixed", or none for a table without entity
 * columns). These are exactly the facts the pruner decides from, so the
 * list also explains why a query kept the segments it kept. Everything
 * comes from the opened table's state through the public API; no data
 * file is read. Ordered as the library orders them: by index range.
 */
#include <stdio.h>
#include <stdlib.h>

#include "cli.h"

static const char HELP[] =
    "List a table's live segments: data file, rows, bytes, index range and entity.\n"
    "\n"
    "Usage: tstable segments --table PATH [--format table|json] [--as-of VERSION|TIME]\n"
    "\n"
    "Options:\n"
    "  --table PATH     The table\n"
    "  --format FORMAT  table (default, for people) or json (an array, for scripts)\n"
    CLI_AS_OF_HELP("                   ")
    "  --help           Show this help\n"
    "\n"
    "The index range is the smallest and largest index value in the segment\n"
    "(inclusive); entity is the one identity every row of the segment has, 'mixed'\n"
    "when rows of several entities share it, '-' for a table without entity columns.\n"
    "\n"
    "Example:\n"
    "  tstable segments --table ./my_stocks\n"
    "  tstable segments --table ./my_stocks --as-of 12   # the segments of version 12\n";

static const cli_opt OPTS[] = {
    {"table", NULL, CLI_VALUE},
    {"format", NULL, CLI_VALUE},
    {"as-of", NULL, CLI_VALUE},
};

/* "symbol=NVDA", "mixed" or "-". */
static void entity_text(const tst_index_spec *spec, const tst_segment *seg, char *buf, size_t cap)
{
    if (seg->layout.kind == TST_LAYOUT_SINGLE) {
        tst_entity_identity id = {seg->layout.count, seg->layout.values};
        tst_entity_identity_format_named(spec, &id, buf, cap);
    } else {
        snprintf(buf, cap, "%s", seg->layout.kind == TST_LAYOUT_MIXED ? "mixed" : "-");
    }
}

static void print_text(const tst_table *table)
{
    const tst_index_spec *spec = &tst_table_get_meta(table)->index;
    cli_grid grid;
    cli_grid_init(&grid, 6);
    cli_grid_add(&grid, (const char *[]){"path", "rows", "bytes", "index_min", "index_max",
                                         "entity"});
    for (size_t i = 0; i < tst_table_segment_count(table); i++) {
        const tst_segment *seg = tst_table_segment_at(table, i);
        char rows[32], bytes[32] = "-", min[TST_TIMESTAMP_TEXT_MAX + 32],
                       max[TST_TIMESTAMP_TEXT_MAX + 32], entity[512];
        snprintf(rows, sizeof rows, "%llu", (unsigned long long)seg->row_count);
        if (seg->has_file_size)
            snprintf(bytes, sizeof bytes, "%llu", (unsigned long long)seg->file_size);
        cli_format_index_value(&seg->index_min, min, sizeof min);
        cli_format_index_value(&seg->index_max, max, sizeof max);
        entity_text(spec, seg, entity, sizeof entity);
        cli_grid_add(&grid, (const char *[]){seg->path, rows, bytes, min, max, entity});
    }
    cli_grid_print(&grid, stdout, NULL);
    cli_grid_free(&grid);
    printf("segments: %zu\n", tst_table_segment_count(table));
}

static void print_json(const tst_table *table)
{
    const tst_index_spec *spec = &tst_table_get_meta(table)->index;
    fputs("[", stdout);
    for (size_t i = 0; i < tst_table_segment_count(table); i++) {
        const tst_segment *seg = tst_table_segment_at(table, i);
        char entity[512];
        entity_text(spec, seg, entity, sizeof entity);
        fputs(i ? ",{\"path\":" : "{\"path\":", stdout);
        cli_json_string(stdout, seg->path);
        printf(",\"rows\":%llu,\"bytes\":", (unsigned long long)seg->row_count);
        if (seg->has_file_size)
            printf("%llu", (unsigned long long)seg->file_size);
        else
            fputs("null", stdout);
        fputs(",\"index_min\":", stdout);
        cli_json_index_value(stdout, &seg->index_min);
        fputs(",\"index_max\":", stdout);
        cli_json_index_value(stdout, &seg->index_max);
        fputs(",\"entity\":", stdout);
        cli_json_string(stdout, seg->layout.kind == TST_LAYOUT_NOT_APPLICABLE ? NULL : entity);
        fputs("}", stdout);
    }
    fputs("]\n", stdout);
}

int cli_cmd_segments(int argc, char **argv)
{
    cli_args args;
    int parsed = cli_parse(&args, "segments", HELP, OPTS, sizeof OPTS / sizeof OPTS[0], argc,
                           argv);
    bool json = false;
    int rc = cli_parse_exit(parsed);
    if (parsed == CLI_PARSED) {
        tst_table *table = NULL;
        cli_as_of as_of;
        if (!cli_require(&args, "table") || !cli_format_is_json(&args, &json) ||
            !cli_parse_as_of("segments", cli_get(&args, "as-of"), &as_of) ||
            cli_open_table_as_of(&table, cli_get(&args, "table"), &as_of) != 0) {
            rc = CLI_EXIT_FAIL;
        } else {
            json ? print_json(table) : print_text(table);
            rc = CLI_EXIT_OK;
        }
        tst_table_free(table);
    }
    cli_args_free(&args);
    return rc;
}
