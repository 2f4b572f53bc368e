/*
 * vacuum.c — `tstable vacuum`: remove the files no version within the
 * retention needs (tstable/vacuum.h), dry run unless --apply.
 *
 * The text report is a summary (keys as `tstable optimize` prints them) and
 * one line per file that is or would be removed, or that vacuum kept for a
 * reason worth knowing (unrecognised, too young, changed meanwhile); the
 * files retained because a version needs them are only counted. --json
 * prints the whole report, every file with its disposition and reason, the
 * shape of the reference 0.9.0's VacuumReport. The command opens no DuckDB.
 */
#include <ctype.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cli.h"
#include "tstable/error.h"
#include "tstable/vacuum.h"

static const char HELP[] =
    "Remove the files no version within the retention period needs: superseded\n"
    "segments, sidecars and coverage snapshots, old checkpoints, and what\n"
    "interrupted writers left behind. A dry run unless --apply is given.\n"
    "\n"
    "Usage: tstable vacuum --table PATH [--retention DURATION] [--apply] [--json]\n"
    "\n"
    "The versions current during the retention period (default 7d) stay readable\n"
    "with all their files; older versions' files are removed, and time travel to\n"
    "them is refused. Files modified within the retention are never removed (a\n"
    "writer may be about to commit them), nor are commit files, nor files vacuum\n"
    "does not recognise as the table's own. A retention under 1h is refused unless\n"
    "--allow-short-retention is given.\n"
    "\n"
    "Options:\n"
    "  --table PATH              The table\n"
    "  --retention DURATION      How far back versions stay readable: 7d, 36h, 90m,\n"
    "                            600s (default 7d)\n"
    "  --apply                   Delete (without it, only report what would go)\n"
    "  --keep-all-versions       Keep every version's files, as the reference's vacuum\n"
    "                            does: only orphans and interrupted writes go\n"
    "  --allow-short-retention   Accept a retention under 1h (unsafe with writers running)\n"
    "  --json                    Print the report as one JSON object, every file listed\n"
    "  --help                    Show this help\n"
    "\n"
    "Example:\n"
    "  tstable vacuum --table ./my_stocks --retention 7d\n"
    "  tstable vacuum --table ./my_stocks --retention 7d --apply\n";

static const cli_opt OPTS[] = {
    {"table", NULL, CLI_VALUE},
    {"retention", NULL, CLI_VALUE},
    {"apply", NULL, CLI_FLAG},
    {"keep-all-versions", NULL, CLI_FLAG},
    {"allow-short-retention", NULL, CLI_FLAG},
    {"json", NULL, CLI_FLAG},
};

/* "7d", "36h", "90m", "600s" or bare seconds. */
static bool parse_duration(const char *text, int64_t *out)
{
    char *end = NULL;
    if (!text || !isdigit((unsigned char)*text))
        return false;
    unsigned long long n = strtoull(text, &end, 10);
    int64_t unit = 1;
    if (*end == 'd')
        unit = 86400;
    else if (*end == 'h')
        unit = 3600;
    else if (*end == 'm')
        unit = 60;
    else if (*end != 's' && *end != '\0')
        return false;
    if (*end != '\0' && end[1] != '\0')
        return false;
    if (n > (unsigned long long)(INT64_MAX / unit) / 2)
        return false;
    *out = (int64_t)n * unit;
    return true;
}

static void format_bytes(uint64_t b, char *buf, size_t cap)
{
    if (b < 1024)
        snprintf(buf, cap, "%" PRIu64 " B", b);
    else if (b < 1024 * 1024)
        snprintf(buf, cap, "%.1f KiB", (double)b / 1024);
    else
        snprintf(buf, cap, "%.1f MiB", (double)b / (1024.0 * 1024));
}

static void print_count(const char *name, uint64_t files, uint64_t bytes)
{
    char size[32];
    format_bytes(bytes, size, sizeof size);
    printf("%s: %" PRIu64 " files, %s\n", name, files, size);
}

/* Files worth a line: going, gone, or kept for a reason other than being needed. */
static bool worth_a_line(const tst_vacuum_artifact *a)
{
    return a->disposition != TST_VACUUM_RETAINED ||
           (a->reason != TST_VACUUM_REFERENCED_BY_COMMIT &&
            a->reason != TST_VACUUM_NEEDED_CHECKPOINT);
}

static void print_text(const tst_vacuum_report *r)
{
    char when[64] = "";
    (void)tst_timestamp_format(r->older_than, when, sizeof when);
    printf("mode: %s\n", r->apply ? "apply" : "dry_run");
    printf("table_version: %" PRIu64 "\n", r->table_version);
    printf("oldest_retained_version: %" PRIu64 "\n", r->oldest_retained_version);
    printf("older_than: %s\n", when);
    print_count("considered", r->considered_files, r->considered_bytes);
    print_count("retained", r->retained_files, r->retained_bytes);
    print_count(r->apply ? "deleted" : "removable", r->apply ? r->deleted_files : r->removable_files,
                r->apply ? r->deleted_bytes : r->removable_bytes);
    if (r->already_absent_files)
        print_count("already_absent", r->already_absent_files, r->already_absent_bytes);
    for (size_t i = 0; i < r->artifact_count; i++) {
        const tst_vacuum_artifact *a = &r->artifacts[i];
        if (worth_a_line(a))
            printf("%-14s %-29s %s\n", tst_vacuum_disposition_name(a->disposition),
                   tst_vacuum_reason_name(a->reason), a->path);
    }
    if (!r->apply && r->removable_files)
        printf("(dry run: nothing was deleted; run again with --apply to delete)\n");
}

static void print_json(const tst_vacuum_report *r)
{
    char when[64] = "";
    (void)tst_timestamp_format(r->older_than, when, sizeof when);
    printf("{\"mode\":\"%s\",\"table_version\":%" PRIu64 ",\"oldest_retained_version\":%" PRIu64
           ",\"older_than\":\"%s\",", r->apply ? "apply" : "dry_run", r->table_version,
           r->oldest_retained_version, when);
    printf("\"considered_files\":%" PRIu64 ",\"retained_files\":%" PRIu64
           ",\"removable_files\":%" PRIu64 ",\"deleted_files\":%" PRIu64
           ",\"already_absent_files\":%" PRIu64 ",", r->considered_files, r->retained_files,
           r->removable_files, r->deleted_files, r->already_absent_files);
    printf("\"considered_bytes\":%" PRIu64 ",\"retained_bytes\":%" PRIu64
           ",\"removable_bytes\":%" PRIu64 ",\"deleted_bytes\":%" PRIu64
           ",\"already_absent_bytes\":%" PRIu64 ",\"folders_removed\":%" PRIu64 ",\"artifacts\":[",
           r->considered_bytes, r->retained_bytes, r->removable_bytes, r->deleted_bytes,
           r->already_absent_bytes, r->folders_removed);
    for (size_t i = 0; i < r->artifact_count; i++) {
        const tst_vacuum_artifact *a = &r->artifacts[i];
        (void)tst_timestamp_format(a->modified_at, when, sizeof when);
        printf("%s{\"path\":", i ? "," : "");
        cli_json_string(stdout, a->path);
        printf(",\"size_bytes\":%" PRIu64 ",\"modified_at\":\"%s\",\"disposition\":\"%s\","
               "\"reason\":\"%s\",\"referenced_by_commit_version\":", a->size_bytes, when,
               tst_vacuum_disposition_name(a->disposition), tst_vacuum_reason_name(a->reason));
        if (a->reason == TST_VACUUM_REFERENCED_BY_COMMIT)
            printf("%" PRIu64 "}", a->referenced_version);
        else
            printf("null}");
    }
    printf("]}\n");
}

static int vacuum(const cli_args *args, int64_t retention)
{
    const char *root = cli_get(args, "table");
    tst_table *table = NULL;
    if (cli_open_table(&table, root) != 0)
        return CLI_EXIT_FAIL;
    tst_vacuum_options opts = TST_VACUUM_OPTIONS_INIT;
    struct timespec now;
    clock_gettime(CLOCK_REALTIME, &now);
    opts.older_than = (tst_timestamp){(int64_t)now.tv_sec - retention, (uint32_t)now.tv_nsec};
    if (opts.older_than.sec == 0 && opts.older_than.nsec == 0)
        opts.older_than.nsec = 1; /* {0, 0} would mean the default */
    opts.apply = cli_has(args, "apply");
    opts.keep_all_versions = cli_has(args, "keep-all-versions");
    opts.allow_short_retention = cli_has(args, "allow-short-retention");
    tst_vacuum_report report;
    int rc = tst_table_vacuum(table, &opts, &report);
    tst_table_free(table);
    if (rc != 0) {
        if (report.deleted_files)
            fprintf(stderr, "vacuum deleted %" PRIu64 " files before failing\n",
                    report.deleted_files);
        char *context = cli_xsprintf("Vacuum failed for table %s", root);
        cli_fail_lib(context);
        free(context);
        tst_vacuum_report_clear(&report);
        return CLI_EXIT_FAIL;
    }
    cli_has(args, "json") ? print_json(&report) : print_text(&report);
    tst_vacuum_report_clear(&report);
    return CLI_EXIT_OK;
}

int cli_cmd_vacuum(int argc, char **argv)
{
    cli_args args;
    int parsed = cli_parse(&args, "vacuum", HELP, OPTS, sizeof OPTS / sizeof OPTS[0], argc, argv);
    int rc = cli_parse_exit(parsed);
    int64_t retention = TST_VACUUM_DEFAULT_RETENTION_SECONDS;
    if (parsed != CLI_PARSED) {
        /* help or usage error: rc is set */
    } else if (!cli_require(&args, "table")) {
        rc = CLI_EXIT_FAIL;
    } else if (cli_get(&args, "retention") &&
               !parse_duration(cli_get(&args, "retention"), &retention)) {
        rc = cli_usage_error("vacuum", "--retention takes a duration such as 7d, 36h, 90m or "
                             "600s, not '%s'", cli_get(&args, "retention"));
    } else {
        rc = vacuum(&args, retention);
    }
    cli_args_free(&args);
    return rc;
}
