/*
 * log.c — `tstable log`: the commit history of a table, oldest first.
 *
 * The public API exposes a table's state, not its history, so this command
 * reads the commit files itself: _timeseries_log/0000000001.json up to the
 * version the library opened (which also proves the folder is a table and
 * tells which commits are published — files past CURRENT are orphans and
 * are not shown). The commit format is documented in the format reference
 * (§1.3, §1.4); only the fields shown here are read, with json-c, and the
 * library's own parser stays private.
 *
 * Each commit is summarised by what its actions did: table metadata set,
 * segments added (with their rows) or removed, coverage snapshot updated.
 */
#include <json-c/json.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

static const char HELP[] =
    "Show a table's commit history, oldest first: version, time and what each commit did.\n"
    "\n"
    "Usage: tstable log --table PATH [--format table|json] [--as-of VERSION|TIME]\n"
    "\n"
    "Options:\n"
    "  --table PATH     The table\n"
    "  --format FORMAT  table (default, for people) or json (an array of commits, each with\n"
    "                   version, base_version, timestamp and its actions)\n"
    CLI_AS_OF_HELP("                   ")
    "                   (the history up to and including that version)\n"
    "  --help           Show this help\n"
    "\n"
    "Example:\n"
    "  tstable log --table ./my_stocks\n"
    "  tstable log --table ./my_stocks --as-of 2024-06-01   # the commits made before that day\n";

static const cli_opt OPTS[] = {
    {"table", NULL, CLI_VALUE},
    {"format", NULL, CLI_VALUE},
    {"as-of", NULL, CLI_VALUE},
};

/* What one commit did, counted. */
typedef struct commit_summary {
    unsigned meta;
    unsigned added;
    unsigned removed;
    unsigned coverage;
    uint64_t rows_added;
} commit_summary;

static const char *action_name(json_object *action)
{
    json_object_object_foreach(action, key, value)
    {
        (void)value;
        return key; /* externally tagged: the one key is the action */
    }
    return "?";
}

static json_object *action_body(json_object *action)
{
    json_object_object_foreach(action, key, value)
    {
        (void)key;
        return value;
    }
    return NULL;
}

static int64_t segment_rows(json_object *body)
{
    json_object *rows = NULL;
    return json_object_object_get_ex(body, "row_count", &rows) ? json_object_get_int64(rows) : 0;
}

static const char *field_string(json_object *obj, const char *name)
{
    json_object *v = NULL;
    return json_object_object_get_ex(obj, name, &v) ? json_object_get_string(v) : "";
}

static commit_summary summarise(json_object *actions)
{
    commit_summary s = {0};
    size_t n =
        json_object_is_type(actions, json_type_array) ? json_object_array_length(actions) : 0;
    for (size_t i = 0; i < n; i++) {
        json_object *a = json_object_array_get_idx(actions, i);
        const char *name = action_name(a);
        if (strcmp(name, "UpdateTableMeta") == 0)
            s.meta++;
        else if (strcmp(name, "AddSegment") == 0) {
            s.added++;
            s.rows_added += (uint64_t)segment_rows(action_body(a));
        } else if (strcmp(name, "RemoveSegment") == 0)
            s.removed++;
        else if (strcmp(name, "UpdateTableCoverage") == 0)
            s.coverage++;
    }
    return s;
}

/* "table meta, +1 segment (240 rows), coverage" */
static void format_summary(const commit_summary *s, char *buf, size_t cap)
{
    size_t used = 0;
    buf[0] = '\0';
#define PART(...)                                                                                  \
    do {                                                                                           \
        if (used < cap)                                                                            \
            used += (size_t)snprintf(buf + used, cap - used, "%s", used ? ", " : "");              \
        if (used < cap)                                                                            \
            used += (size_t)snprintf(buf + used, cap - used, __VA_ARGS__);                         \
    } while (0)
    if (s->meta)
        PART("table meta");
    if (s->added)
        PART("+%u segment%s (%llu rows)", s->added, s->added == 1 ? "" : "s",
             (unsigned long long)s->rows_added);
    if (s->removed)
        PART("-%u segment%s", s->removed, s->removed == 1 ? "" : "s");
    if (s->coverage)
        PART("coverage");
#undef PART
    if (used == 0)
        snprintf(buf, cap, "(no actions)");
}

static json_object *load_commit(const char *root, uint64_t version)
{
    char *path = cli_xsprintf("%s/_timeseries_log/%010llu.json", root, (unsigned long long)version);
    json_object *commit = json_object_from_file(path);
    if (!commit || !json_object_is_type(commit, json_type_object)) {
        cli_fail("Failed to read commit %llu of table %s: %s is missing or not valid JSON",
                 (unsigned long long)version, root, path);
        json_object_put(commit);
        commit = NULL;
    }
    free(path);
    return commit;
}

static json_object *field(json_object *obj, const char *name)
{
    json_object *v = NULL;
    json_object_object_get_ex(obj, name, &v);
    return v;
}

/* ---- output -------------------------------------------------------------- */

static void add_row(cli_grid *grid, json_object *commit, uint64_t version)
{
    char v[24], summary[256];
    commit_summary s = summarise(field(commit, "actions"));
    snprintf(v, sizeof v, "%llu", (unsigned long long)version);
    format_summary(&s, summary, sizeof summary);
    cli_grid_add(grid, (const char *[]){v, field_string(commit, "timestamp"), summary});
}

static void print_json_action(json_object *a)
{
    json_object *body = action_body(a);
    fputs("{\"action\":", stdout);
    cli_json_string(stdout, action_name(a));
    const char *name = action_name(a);
    if (strcmp(name, "AddSegment") == 0 || strcmp(name, "RemoveSegment") == 0) {
        fputs(",\"path\":", stdout);
        cli_json_string(stdout, field_string(body, "path"));
    }
    if (strcmp(name, "AddSegment") == 0)
        printf(",\"rows\":%lld", (long long)segment_rows(body));
    if (strcmp(name, "UpdateTableCoverage") == 0) {
        fputs(",\"coverage_path\":", stdout);
        cli_json_string(stdout, field_string(body, "coverage_path"));
    }
    fputs("}", stdout);
}

static void print_json_commit(json_object *commit, uint64_t version)
{
    json_object *actions = field(commit, "actions");
    size_t n =
        json_object_is_type(actions, json_type_array) ? json_object_array_length(actions) : 0;
    printf("{\"version\":%llu,\"base_version\":%lld,\"timestamp\":", (unsigned long long)version,
           (long long)json_object_get_int64(field(commit, "base_version")));
    cli_json_string(stdout, field_string(commit, "timestamp"));
    fputs(",\"actions\":[", stdout);
    for (size_t i = 0; i < n; i++) {
        fputs(i ? "," : "", stdout);
        print_json_action(json_object_array_get_idx(actions, i));
    }
    fputs("]}", stdout);
}

static void print_commits(json_object **commits, uint64_t count, bool json)
{
    if (json) {
        fputs("[", stdout);
        for (uint64_t i = 0; i < count; i++) {
            fputs(i ? "," : "", stdout);
            print_json_commit(commits[i], i + 1);
        }
        fputs("]\n", stdout);
        return;
    }
    cli_grid grid;
    cli_grid_init(&grid, 3);
    cli_grid_add(&grid, (const char *[]){"version", "timestamp", "actions"});
    for (uint64_t i = 0; i < count; i++)
        add_row(&grid, commits[i], i + 1);
    cli_grid_print(&grid, stdout, NULL);
    cli_grid_free(&grid);
}

/* Every commit is loaded before anything is printed, so a damaged log gives
 * one error and no half-written JSON. */
static int show(const char *root, bool json, const cli_as_of *as_of)
{
    tst_table *table = NULL;
    if (cli_open_table_as_of(&table, root, as_of) != 0)
        return CLI_EXIT_FAIL;
    uint64_t last = tst_table_version(table);
    tst_table_free(table);
    json_object **commits = cli_xmalloc((size_t)last * sizeof *commits);
    uint64_t loaded = 0;
    while (loaded < last && (commits[loaded] = load_commit(root, loaded + 1)) != NULL)
        loaded++;
    if (loaded == last)
        print_commits(commits, last, json);
    for (uint64_t i = 0; i < loaded; i++)
        json_object_put(commits[i]);
    free(commits);
    return loaded == last ? CLI_EXIT_OK : CLI_EXIT_FAIL;
}

int cli_cmd_log(int argc, char **argv)
{
    cli_args args;
    int parsed = cli_parse(&args, "log", HELP, OPTS, sizeof OPTS / sizeof OPTS[0], argc, argv);
    bool json = false;
    cli_as_of as_of;
    int rc = cli_parse_exit(parsed);
    if (parsed == CLI_PARSED)
        rc = cli_require(&args, "table") && cli_format_is_json(&args, &json) &&
                     cli_parse_as_of("log", cli_get(&args, "as-of"), &as_of)
                 ? show(cli_get(&args, "table"), json, &as_of)
                 : CLI_EXIT_FAIL;
    cli_args_free(&args);
    return rc;
}
