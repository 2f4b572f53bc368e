/*
 * query.c — `tstable query`: SQL over tables and Parquet files.
 *
 * Each --table is registered in a SQL session under its folder's name,
 * sanitized the reference's way (non [A-Za-z0-9_] -> '_', a leading
 * non-letter gets "t_", lowercase: ./my-table 1 -> my_table_1), and a note
 * on stderr says which name to use. --parquet NAME=PATH registers files.
 *
 * The statement itself runs in run_query.c, shared with `tstable shell`:
 * a preview of --max-rows rows and total_rows: N by default, every row to
 * --output FILE, or every row to stdout (--output -, or --format alone) for
 * scripts (Parquet and Arrow IPC never to a terminal). This file only turns
 * the options into that plan and registers what the statement may name.
 */
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "tstable/error.h"
#include "tstable/session.h"

static const char HELP[] =
    "Run SQL (DuckDB dialect) over tables and Parquet files.\n"
    "\n"
    "Usage: tstable query [--table PATH]... [--parquet NAME=PATH]... --sql SQL\n"
    "                     [--max-rows N] [--format FORMAT] [--output FILE|-]\n"
    "                     [--explain] [--timing]\n"
    "\n"
    "Options:\n"
    "  --table PATH         A table to query; repeatable. It is registered under its folder\n"
    "                       name made SQL-safe (./my-table -> my_table, 123-data ->\n"
    "                       t_123_data); stderr says which name.\n"
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
    "  --explain            Print the plan (EXPLAIN) and the segments kept after pruning\n"
    "                       first\n"
    "  --timing             Print elapsed_ms: N, the time the query took\n"
    "  --help               Show this help\n"
    "\n"
    "Examples:\n"
    "  tstable query --table ./my_stocks \\\n"
    "      --sql 'SELECT symbol, avg(close) AS mean FROM my_stocks GROUP BY symbol'\n"
    "  tstable query --table ./bars --parquet refs=refs.parquet \\\n"
    "      --sql 'SELECT * FROM bars JOIN refs USING (symbol)' --format json\n"
    "  tstable query --table ./bars --sql 'SELECT * FROM bars' --output bars.arrow\n";

static const cli_opt OPTS[] = {
    {"table", NULL, CLI_LIST},     {"parquet", NULL, CLI_LIST}, {"sql", NULL, CLI_VALUE},
    {"max-rows", NULL, CLI_VALUE}, {"format", NULL, CLI_VALUE}, {"output", NULL, CLI_VALUE},
    {"explain", NULL, CLI_FLAG},   {"timing", NULL, CLI_FLAG},
};

/* ---- registration -------------------------------------------------------- */

static int register_tables(tst_session *s, const cli_args *args)
{
    size_t n = 0;
    const char *const *roots = cli_list(args, "table", &n);
    for (size_t i = 0; i < n; i++) {
        char *name = cli_table_name(roots[i]);
        int rc = 0;
        if (tst_session_table_root(s, name))
            rc = cli_fail("Two --table folders would both be registered as '%s' (%s); "
                          "rename one folder",
                          name, roots[i]);
        else if (tst_session_register_table(s, name, roots[i]) != 0)
            rc = cli_fail_lib("Failed to register table"); /* names root and name */
        else
            fprintf(stderr, "Registered table as '%s' (quoted: \"%s\")\n", name, name);
        free(name);
        if (rc != 0)
            return rc;
    }
    return 0;
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

static int register_parquets(tst_session *s, const cli_args *args)
{
    size_t n = 0;
    const char *const *specs = cli_list(args, "parquet", &n);
    for (size_t i = 0; i < n; i++) {
        const char *eq = strchr(specs[i], '=');
        char *name = cli_xsprintf("%.*s", (int)(eq - specs[i]), specs[i]);
        int rc = tst_session_register_parquet(s, name, eq + 1);
        if (rc != 0)
            cli_fail("Failed to register Parquet %s as '%s': %s", eq + 1, name,
                     tst_error_last()->message);
        free(name);
        if (rc != 0)
            return CLI_EXIT_FAIL;
    }
    return 0;
}

/* ---- the run ------------------------------------------------------------- */

static int run(const cli_query_plan *plan, const cli_args *args)
{
    tst_session *s = NULL;
    if (tst_session_open(&s) != 0)
        return cli_fail_lib("Failed to start the SQL engine");
    int rc = register_tables(s, args);
    if (rc == 0)
        rc = register_parquets(s, args);
    if (rc == 0)
        rc = cli_query_run(s, plan);
    tst_session_free(s);
    return rc;
}

/* ---- options ------------------------------------------------------------- */

static int make_plan(const cli_args *args, cli_query_plan *plan)
{
    if (!cli_require(args, "sql"))
        return CLI_EXIT_FAIL;
    int rc = cli_query_plan_init(plan, cli_get(args, "sql"), cli_get(args, "max-rows"),
                                 cli_get(args, "format"), cli_get(args, "output"));
    if (rc != 0 || check_parquet_specs(args) != 0)
        return CLI_EXIT_FAIL;
    plan->explain = cli_has(args, "explain");
    plan->timing = cli_has(args, "timing");
    return 0;
}

int cli_cmd_query(int argc, char **argv)
{
    cli_args args;
    cli_query_plan plan;
    int parsed = cli_parse(&args, "query", HELP, OPTS, sizeof OPTS / sizeof OPTS[0], argc, argv);
    int rc = cli_parse_exit(parsed);
    if (parsed == CLI_PARSED) {
        rc = make_plan(&args, &plan);
        if (rc == 0)
            rc = run(&plan, &args);
    }
    cli_args_free(&args);
    return rc;
}
