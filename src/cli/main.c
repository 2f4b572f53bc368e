/*
 * main.c — the `tstable` program: picks the subcommand and runs it.
 *
 * `tstable <command> [options]`. The commands are one table below; each
 * lives in its own file and owns its options, its --help and its output.
 * Adding a command is one line in that table plus its file. Top level
 * handles only --help, --version and routing, and installs the library's
 * log callback so that warnings the library reports (a coverage snapshot
 * rebuilt in memory, say) reach stderr.
 * TSTABLE_LOG=debug|info shows the quieter events too.
 */
#include <langinfo.h>
#include <locale.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "tstable/schema.h"

static const cli_command COMMANDS[] = {
    {"create", "Create an empty table (timestamp or integer index)", cli_cmd_create},
    {"append", "Append a Parquet or CSV file as a new segment", cli_cmd_append},
    {"query", "Run SQL over tables and Parquet files", cli_cmd_query},
    {"info", "Show a table's schema, index, version, size and coverage", cli_cmd_info},
    {"segments", "List a table's segments: file, rows, index range, entity", cli_cmd_segments},
    {"optimize", "Merge small segments (compaction), or split mixed-entity ones", cli_cmd_optimize},
    {"add-columns", "Add nullable columns to a table's schema", cli_cmd_add_columns},
    {"update", "Set columns of existing rows, named by their key", cli_cmd_update},
    {"delete", "Delete the rows of a range and their coverage", cli_cmd_delete},
    {"migrate", "Turn a format_version-6 table into a new protocol-7 table", cli_cmd_migrate},
    {"vacuum", "Remove files no version within the retention needs", cli_cmd_vacuum},
    {"log", "Show the commit history", cli_cmd_log},
    {"coverage", "How much of a range is covered", cli_cmd_coverage},
    {"entities", "Every entity with its extent, gaps and freshness (lag)", cli_cmd_entities},
    {"gaps", "The missing ranges inside a range", cli_cmd_gaps},
    {"diff", "Coverage added and removed between versions or tables", cli_cmd_diff},
    {"plan-backfill", "The fewest requests that fill a range's gaps", cli_cmd_plan_backfill},
    {"shell", "Interactive SQL shell", cli_cmd_shell},
};
#define COMMAND_COUNT (sizeof COMMANDS / sizeof COMMANDS[0])

static void print_usage(FILE *out)
{
    fputs("tstable — time-series tables: append files, ask what is covered, query with SQL.\n"
          "\n"
          "Usage: tstable <command> [options]\n"
          "\n"
          "Commands:\n",
          out);
    for (size_t i = 0; i < COMMAND_COUNT; i++)
        fprintf(out, "  %-13s %s\n", COMMANDS[i].name, COMMANDS[i].summary);
    fputs("\n"
          "Options:\n"
          "  --help        Show this help (every command also takes --help)\n"
          "  --version     Show the version\n"
          "\n"
          "Example:\n"
          "  tstable create --table ./bars --index-column ts --bucket 1h --entity symbol\n"
          "  tstable append --table ./bars --csv bars.csv\n"
          "  tstable query --table ./bars --sql 'SELECT count(*) FROM bars'\n"
          "\n"
          "Times (--start, --end, --as-of, --now, ...): 2024-06-01T09:30:00Z, '2024-06-01 09:30'\n"
          "(no offset: UTC), 2024-06-01, now, today, now-7d, -7d. See 'tstable help times'.\n"
          "\n"
          "Results go to stdout, messages to stderr; the exit code is 0 on success, 1 on any\n"
          "error.\n",
          out);
}

/* `tstable help times`: the one description of the time grammar (times.c). */
static void print_times(void)
{
    fputs("Times: what every option that takes a time accepts (--start, --end, --as-of,\n"
          "--now, delete's and diff's ranges). Integer indexes take integers only.\n"
          "\n"
          "  2024-06-01T09:30:00Z        RFC 3339, with Z or an offset (+02:00, -05:00)\n"
          "  2024-06-01T09:30:00.250Z    fractions of a second, up to nanoseconds\n"
          "  2024-06-01 09:30            a space or a T; seconds optional; no offset means UTC,\n"
          "  2024-06-01T09:30:15         never the machine's zone, in every command\n"
          "  2024-06-01                  a date: midnight UTC\n"
          "  now                         the current instant\n"
          "  today, yesterday            midnight UTC of the current day, of the day before\n"
          "  now-7d, today+9h            an anchor plus or minus N units\n"
          "  -7d, +1h                    relative to now (the same as now-7d, now+1h)\n"
          "\n"
          "Units: s (seconds), m (minutes), h (hours), d (days of 24h), w (weeks of 7d).\n"
          "Durations (--stale, --last-window) are N and a unit: 90m, 6h, 2d, 1w.\n"
          "\n"
          "TSTABLE_NOW=2024-06-10T00:00:00Z pins \"now\" for every command; it is meant for\n"
          "tests, so their answers do not drift with the clock.\n"
          "\n"
          "Example:\n"
          "  tstable gaps --table ./bars --entity NVDA --start -7d --end now\n"
          "  tstable coverage --table ./bars --start '2024-06-01 09:30' --end today\n",
          stdout);
}

static int threshold_from_env(void)
{
    const char *v = getenv("TSTABLE_LOG");
    if (v && strcmp(v, "debug") == 0)
        return TST_LOG_DEBUG;
    if (v && strcmp(v, "info") == 0)
        return TST_LOG_INFO;
    return TST_LOG_WARN;
}

static int log_threshold = TST_LOG_WARN;

static void log_to_stderr(void *ctx, tst_log_level level, const char *event, const char *message)
{
    (void)ctx;
    if ((int)level < log_threshold)
        return;
    const char *name = level == TST_LOG_WARN ? "warning" : level == TST_LOG_INFO ? "info" : "debug";
    fprintf(stderr, "%s: %s: %s\n", name, event, message);
}

/* The command nearest to a mistyped name (at most 2 edits, or a prefix), or NULL. */
static const char *nearest_command(const char *name)
{
    const char *best = NULL;
    size_t best_d = 3;
    for (size_t i = 0; i < COMMAND_COUNT; i++) {
        size_t d = cli_edit_distance(name, COMMANDS[i].name);
        if (strlen(name) >= 2 && strncmp(COMMANDS[i].name, name, strlen(name)) == 0)
            d = 1;
        if (d < best_d)
            best = COMMANDS[i].name, best_d = d;
    }
    return best;
}

/* Box widths count terminal columns with wcwidth, which needs a UTF-8 LC_CTYPE. */
static void set_utf8_ctype(void)
{
    if (setlocale(LC_CTYPE, "") && strcmp(nl_langinfo(CODESET), "UTF-8") == 0)
        return;
    if (!setlocale(LC_CTYPE, "C.UTF-8"))
        setlocale(LC_CTYPE, "C");
}

int main(int argc, char **argv)
{
    set_utf8_ctype();
    if (argc < 2) {
        print_usage(stderr);
        return CLI_EXIT_FAIL;
    }
    const char *name = argv[1];
    if (strcmp(name, "help") == 0 && argc == 3 && strcmp(argv[2], "times") == 0) {
        print_times();
        return CLI_EXIT_OK;
    }
    if (strcmp(name, "--help") == 0 || strcmp(name, "-h") == 0 || strcmp(name, "help") == 0) {
        print_usage(stdout);
        return CLI_EXIT_OK;
    }
    if (strcmp(name, "--version") == 0 || strcmp(name, "-V") == 0) {
        printf("tstable %s (protocol %d by default; format_version %d on request)\n", CLI_VERSION,
               TST_PROTOCOL_VERSION, TST_FORMAT_VERSION);
        return CLI_EXIT_OK;
    }
    log_threshold = threshold_from_env();
    tst_set_log_callback(log_to_stderr, NULL);
    for (size_t i = 0; i < COMMAND_COUNT; i++)
        if (strcmp(name, COMMANDS[i].name) == 0)
            return COMMANDS[i].run(argc - 1, argv + 1);
    if (name[0] == '-')
        return cli_usage_error(NULL, "unknown option '%s'", name);
    const char *near = nearest_command(name);
    if (near)
        return cli_usage_error(NULL, "unknown command '%s'; did you mean '%s'?", name, near);
    return cli_usage_error(NULL, "unknown command '%s'", name);
}
