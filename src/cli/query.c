/*
 * query.c — `tstable query`: SQL over tables and Parquet files.
 *
 * Each --table is registered in a SQL session under its folder's name,
 * sanitized the reference's way (non [A-Za-z0-9_] -> '_', a leading
 * non-letter gets "t_", lowercase: ./my-table 1 -> my_table_1; a note on
 * stderr says so when the name differs from the folder's), or under the
 * NAME of --table NAME=PATH. --parquet NAME=PATH registers files. Two
 * sources wanting one name is an error naming both, never a silent
 * replacement.
 *
 * The statement itself runs in run_query.c, shared with `tstable shell`:
 * a preview of --max-rows rows and total_rows: N by default, every row to
 * --output FILE, or every row to stdout (--output -, or --format alone) for
 * scripts (Parquet and Arrow IPC never to a terminal). This file only turns
 * the options into that plan and registers what the statement may name.
 */
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "cli.h"
#include "tstable/error.h"
#include "tstable/session.h"

static const char HELP[] =
    "Run SQL (DuckDB dialect) over tables and Parquet files.\n"
    "\n"
    "Usage: tstable query [--table [NAME=]PATH]... [--parquet NAME=PATH]... --sql SQL\n"
    "                     [--max-rows N] [--format FORMAT] [--output FILE|-]\n"
    "                     [--as-of VERSION|TIME] [--explain] [--timing]\n"
    "                     [--require-coverage | --warn-coverage] [--calendar SPEC]\n"
    "\n"
    "Options:\n"
    "  --table [NAME=]PATH  A table to query; repeatable. Registered as NAME, or else under\n"
    "                       its folder name made SQL-safe (./my-table -> my_table,\n"
    "                       123-data -> t_123_data; stderr says so when it differs).\n"
    "                       Two sources (tables or Parquet) with one name are an error.\n"
    "  --parquet NAME=PATH  A Parquet file (or folder, or glob) to query as NAME; repeatable\n"
    "  --sql SQL            The statement\n"
    "  --max-rows N         Rows in the preview (default 10; 0 = no preview)\n"
    "  --format FORMAT      csv, jsonl, json (one array of row objects), parquet, arrow\n"
    "                       (the Arrow IPC file, Feather v2: pyarrow.ipc.open_file,\n"
    "                       pyarrow.feather, polars.read_ipc) or arrows (the Arrow IPC\n"
    "                       stream: pyarrow.ipc.open_stream). Timestamps in csv and\n"
    "                       json(l) are RFC 3339 text, as in the preview.\n"
    "                       With --output FILE the default follows the file's extension\n"
    "                       (.csv .jsonl .json .parquet .arrow .feather .arrows), else csv.\n"
    "                       Without --output, --format writes every row to stdout (like\n"
    "                       --output -).\n"
    "  --output FILE        Write every row (not just the preview) to FILE;\n"
    "                       '-' writes every row to stdout instead of the preview\n"
    "  --as-of VERSION|TIME Read every --table as it was at VERSION (an integer, as\n"
    "                       `tstable log` numbers commits) or at an instant (RFC 3339 or a\n"
    "                       date; no offset means UTC). In SQL, \"NAME@v12\" or\n"
    "                       \"NAME@2024-06-01T09:30:00Z\" (quoted) names a registered table\n"
    "                       at another version, e.g. to compare two versions\n"
    "  --explain            Print the plan (EXPLAIN) and the segments kept after pruning\n"
    "                       first\n"
    "  --timing             Print elapsed_ms: N, the time the query took\n"
    "  --require-coverage   Before running, check that every (entity, bucket) slot the\n"
    "                       statement reads of each --table is covered; if not, run\n"
    "                       nothing, list the missing ranges per entity on stderr and\n"
    "                       exit 1. A side of the range with no bound reaches the\n"
    "                       table's covered extent; no entity equality means every\n"
    "                       entity (docs/guide/guaranteed-reads.md)\n"
    "  --warn-coverage      The same check, reported as a warning on stderr; the query\n"
    "                       runs\n"
    "  --calendar SPEC      With either: check only the buckets a calendar expects, so\n"
    "                       nights, weekends and holidays are never missing. SPEC as for\n"
    "                       coverage (weekdays;tz=America/New_York;sessions=09:30-16:00;\n"
    "                       holidays=FILE; docs/guide/calendars.md)\n"
    "  --help               Show this help\n"
    "\n"
    "Examples:\n"
    "  tstable query --table ./my_stocks \\\n"
    "      --sql 'SELECT symbol, avg(close) AS mean FROM my_stocks GROUP BY symbol'\n"
    "  tstable query --table prod=./prod/bars --table staging=./staging/bars \\\n"
    "      --sql 'SELECT count(*) FROM prod JOIN staging USING (symbol, ts)'\n"
    "  tstable query --table ./bars --parquet refs=refs.parquet \\\n"
    "      --sql 'SELECT * FROM bars JOIN refs USING (symbol)' --format json\n"
    "  tstable query --table ./bars --sql 'SELECT * FROM bars' --output bars.arrow\n"
    "  tstable query --table ./bars --as-of 12 --sql 'SELECT count(*) FROM bars'\n"
    "  tstable query --table ./bars --require-coverage \\\n"
    "      --sql \"SELECT * FROM bars WHERE symbol = 'AAPL' AND ts >= '2024-01-01' AND ts < '2024-02-01'\"\n"
    "  tstable query --table ./bars \\\n"
    "      --sql 'SELECT (SELECT count(*) FROM bars) - (SELECT count(*) FROM \"bars@v12\")'\n";

static const cli_opt OPTS[] = {
    {"table", NULL, CLI_LIST},     {"parquet", NULL, CLI_LIST}, {"sql", NULL, CLI_VALUE},
    {"max-rows", NULL, CLI_VALUE}, {"format", NULL, CLI_VALUE}, {"output", NULL, CLI_VALUE},
    {"explain", NULL, CLI_FLAG},   {"timing", NULL, CLI_FLAG},  {"as-of", NULL, CLI_VALUE},
    {"require-coverage", NULL, CLI_FLAG}, {"warn-coverage", NULL, CLI_FLAG},
    {"calendar", NULL, CLI_VALUE},
};

/* ---- registration -------------------------------------------------------- */

/* One name the statement may use: a --table or a --parquet. */
typedef struct query_source {
    char *name;       /* owned */
    const char *path; /* borrowed from argv */
    bool table;
    bool named;       /* NAME= given: no note about the name */
} query_source;

static bool is_identifier(const char *s, size_t n)
{
    if (n == 0 || !((s[0] >= 'a' && s[0] <= 'z') || (s[0] >= 'A' && s[0] <= 'Z') || s[0] == '_'))
        return false;
    for (size_t i = 1; i < n; i++)
        if (!((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= 'A' && s[i] <= 'Z') ||
              (s[i] >= '0' && s[i] <= '9') || s[i] == '_'))
            return false;
    return true;
}

/* --table NAME=PATH when NAME is an identifier; else the whole text is the path. */
static void parse_table_spec(const char *spec, query_source *out)
{
    const char *eq = strchr(spec, '=');
    out->table = true;
    if (eq && eq[1] != '\0' && is_identifier(spec, (size_t)(eq - spec))) {
        out->name = cli_xsprintf("%.*s", (int)(eq - spec), spec);
        out->path = eq + 1;
        out->named = true;
        return;
    }
    out->name = cli_table_name(spec);
    out->path = spec;
    out->named = false;
}

static void describe_source(const query_source *q, char *buf, size_t cap)
{
    if (q->table && !q->named)
        snprintf(buf, cap, "--table %s", q->path);
    else
        snprintf(buf, cap, "--%s %s=%s", q->table ? "table" : "parquet", q->name, q->path);
}

/* Two sources wanting one name (DuckDB's names ignore case) is an error naming both. */
static int check_clashes(const query_source *q, size_t n)
{
    for (size_t i = 0; i < n; i++)
        for (size_t j = 0; j < i; j++) {
            if (strcasecmp(q[i].name, q[j].name) != 0)
                continue;
            char a[1024], b[1024];
            describe_source(&q[j], a, sizeof a);
            describe_source(&q[i], b, sizeof b);
            return cli_fail("%s and %s would both be registered as '%s'; give one another "
                            "name with --table NAME=PATH or --parquet NAME=PATH",
                            a, b, q[i].name);
        }
    return 0;
}

/* The last path component of a folder, as typed. */
static bool name_is_folder_name(const char *name, const char *root)
{
    size_t len = strlen(root);
    while (len > 1 && root[len - 1] == '/')
        len--;
    size_t start = len;
    while (start > 0 && root[start - 1] != '/')
        start--;
    return strlen(name) == len - start && strncmp(name, root + start, len - start) == 0;
}

static int register_table(tst_session *s, const query_source *q, const cli_as_of *as_of)
{
    if (!as_of->set)
        return tst_session_register_table(s, q->name, q->path);
    return as_of->is_version ? tst_session_register_table_at(s, q->name, q->path, as_of->version)
                             : tst_session_register_table_as_of(s, q->name, q->path, as_of->at);
}

static int register_source(tst_session *s, const query_source *q, const cli_as_of *as_of)
{
    if (!q->table) {
        if (tst_session_register_parquet(s, q->name, q->path) == 0)
            return 0;
        return cli_fail("Failed to register Parquet %s as '%s': %s", q->path, q->name,
                        tst_error_last()->message);
    }
    if (register_table(s, q, as_of) != 0)
        return cli_fail_lib("Failed to register table"); /* names root and name */
    if (!q->named && !name_is_folder_name(q->name, q->path))
        fprintf(stderr, "Registered table %s as '%s' (quoted: \"%s\")\n", q->path, q->name,
                q->name);
    return 0;
}

/* Every --table then every --parquet, after checking that the names are distinct. */
static int register_sources(tst_session *s, const cli_args *args, const cli_as_of *as_of)
{
    size_t nt = 0, np = 0;
    const char *const *tables = cli_list(args, "table", &nt);
    const char *const *parquets = cli_list(args, "parquet", &np);
    query_source *q = cli_xmalloc((nt + np) * sizeof *q);
    for (size_t i = 0; i < nt; i++)
        parse_table_spec(tables[i], &q[i]);
    for (size_t i = 0; i < np; i++) {
        const char *eq = strchr(parquets[i], '=');
        q[nt + i] = (query_source){cli_xsprintf("%.*s", (int)(eq - parquets[i]), parquets[i]),
                                   eq + 1, false, true};
    }
    int rc = check_clashes(q, nt + np);
    for (size_t i = 0; rc == 0 && i < nt + np; i++)
        rc = register_source(s, &q[i], as_of);
    for (size_t i = 0; i < nt + np; i++)
        free(q[i].name);
    free(q);
    return rc;
}

/* Checked with the other options, before anything is opened. */
static int check_parquet_specs(const cli_args *args)
{
    size_t n = 0;
    const char *const *specs = cli_list(args, "parquet", &n);
    for (size_t i = 0; i < n; i++) {
        const char *eq = strchr(specs[i], '=');
        if (!eq || eq == specs[i] || eq[1] == '\0')
            return cli_fail("Invalid --parquet '%s': expected NAME=PATH, e.g. "
                            "--parquet refs=refs.parquet",
                            specs[i]);
    }
    return 0;
}

/* ---- the run ------------------------------------------------------------- */

static int run(const cli_query_plan *plan, const cli_args *args, const cli_as_of *as_of)
{
    tst_session *s = NULL;
    if (tst_session_open(&s) != 0)
        return cli_fail_lib("Failed to start the SQL engine");
    int rc = register_sources(s, args, as_of);
    tst_coverage_mode mode = cli_has(args, "require-coverage") ? TST_COVERAGE_REQUIRE
                             : cli_has(args, "warn-coverage")  ? TST_COVERAGE_WARN
                                                               : TST_COVERAGE_OFF;
    if (rc == 0 && tst_session_set_coverage_mode(s, mode) != 0)
        rc = cli_fail_lib("Failed to set the coverage check");
    tst_calendar *cal = NULL;
    if (rc == 0 && (rc = cli_calendar(args, &cal)) == 0)
        tst_session_set_coverage_calendar(s, cal); /* the session owns it */
    if (rc == 0)
        rc = cli_query_run(s, plan);
    tst_session_free(s);
    return rc;
}

/* ---- options ------------------------------------------------------------- */

static int make_plan(const cli_args *args, cli_query_plan *plan, cli_as_of *as_of)
{
    if (!cli_parse_as_of("query", cli_get(args, "as-of"), as_of))
        return CLI_EXIT_FAIL;
    if (!cli_require(args, "sql"))
        return CLI_EXIT_FAIL;
    int rc = cli_query_plan_init(plan, cli_get(args, "sql"), cli_get(args, "max-rows"),
                                 cli_get(args, "format"), cli_get(args, "output"));
    if (rc != 0 || check_parquet_specs(args) != 0)
        return CLI_EXIT_FAIL;
    if (cli_has(args, "require-coverage") && cli_has(args, "warn-coverage"))
        return cli_fail("--require-coverage and --warn-coverage exclude each other: pick one");
    if (cli_get(args, "calendar") && !cli_has(args, "require-coverage") &&
        !cli_has(args, "warn-coverage"))
        return cli_fail("--calendar applies to the coverage check: add --require-coverage or "
                        "--warn-coverage");
    plan->explain = cli_has(args, "explain");
    plan->timing = cli_has(args, "timing");
    return 0;
}

int cli_cmd_query(int argc, char **argv)
{
    cli_args args;
    cli_query_plan plan;
    cli_as_of as_of;
    int parsed = cli_parse(&args, "query", HELP, OPTS, sizeof OPTS / sizeof OPTS[0], argc, argv);
    int rc = cli_parse_exit(parsed);
    if (parsed == CLI_PARSED) {
        rc = make_plan(&args, &plan, &as_of);
        if (rc == 0)
            rc = run(&plan, &args, &as_of);
    }
    cli_args_free(&args);
    return rc;
}
