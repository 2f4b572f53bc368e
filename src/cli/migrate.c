/*
 * migrate.c — `tstable migrate`: a format_version-6 table (the reference
 * 0.4.0's) into a new protocol-7 table (0.5 to 0.9), tstable/migrate.h.
 *
 * It prints what it did, one key per line (or one JSON object with --json),
 * so a script can check the version and the file counts. The library does
 * the work in one call and leaves no destination on failure; the error is
 * one line, "Migration of <SRC> to <DST> failed: <why>", exit code 1.
 */
#include <stdio.h>
#include <stdlib.h>

#include "cli.h"
#include "tstable/error.h"
#include "tstable/migrate.h"

static const char HELP[] =
    "Turn a format_version-6 table (written by tstable --protocol 6 or the reference\n"
    "0.4.0) into a protocol-7 table (read by the reference 0.5 to 0.9), in a new folder.\n"
    "\n"
    "Usage: tstable migrate --table SRC --to DST [--copy] [--json]\n"
    "\n"
    "Every commit is rewritten with the same versions and timestamps: format_version\n"
    "becomes protocol_version 7 with empty feature lists, bucket and bucket_width\n"
    "become index_granularity. Data files and coverage files keep their paths and\n"
    "bytes: they are hard-linked when SRC and DST are on one file system (a table's\n"
    "files are never changed in place, so sharing them is safe), else copied.\n"
    "SRC is not changed and stays readable by 0.4 tools. DST must not exist; it\n"
    "appears complete or not at all. Stop writers of SRC while it runs. Checkpoints\n"
    "of SRC are not carried over; a long log gets a new one.\n"
    "\n"
    "Options:\n"
    "  --table SRC  The format_version-6 table\n"
    "  --to DST     The new protocol-7 table's folder (must not exist)\n"
    "  --copy       Copy every file instead of hard-linking\n"
    "  --json       Print the report as one JSON object\n"
    "  --help       Show this help\n"
    "\n"
    "Output (one key per line): source, destination, protocol, version, commits_rewritten,\n"
    "metas_rewritten, coverage_pointers_rewritten, live_segments, files_linked,\n"
    "bytes_linked, files_copied, bytes_copied, log_entries_dropped, checkpoint_written.\n"
    "\n"
    "Example:\n"
    "  tstable migrate --table ./bars_v6 --to ./bars\n";

static const cli_opt OPTS[] = {
    {"table", NULL, CLI_VALUE},
    {"to", NULL, CLI_VALUE},
    {"copy", NULL, CLI_FLAG},
    {"json", NULL, CLI_FLAG},
};

#define U(x) ((unsigned long long)(x))

static void print_text(const char *src, const char *dst, const tst_migrate_report *r)
{
    printf("source: %s\n", src);
    printf("destination: %s\n", dst);
    printf("protocol: format_version 6 -> protocol 7\n");
    printf("version: %llu\n", U(r->version));
    printf("commits_rewritten: %llu\n", U(r->commits_rewritten));
    printf("metas_rewritten: %llu\n", U(r->metas_rewritten));
    printf("coverage_pointers_rewritten: %llu\n", U(r->coverage_pointers_rewritten));
    printf("live_segments: %llu\n", U(r->live_segments));
    printf("files_linked: %llu\n", U(r->files_linked));
    printf("bytes_linked: %llu\n", U(r->bytes_linked));
    printf("files_copied: %llu\n", U(r->files_copied));
    printf("bytes_copied: %llu\n", U(r->bytes_copied));
    printf("log_entries_dropped: %llu\n", U(r->log_entries_dropped));
    printf("checkpoint_written: %s\n", r->checkpoint_written ? "true" : "false");
}

static void print_json(const char *src, const char *dst, const tst_migrate_report *r)
{
    fputs("{\"source\":", stdout);
    cli_json_string(stdout, src);
    fputs(",\"destination\":", stdout);
    cli_json_string(stdout, dst);
    printf(",\"from\":\"format_version 6\",\"to\":\"protocol 7\",\"version\":%llu,"
           "\"commits_rewritten\":%llu,\"metas_rewritten\":%llu,"
           "\"coverage_pointers_rewritten\":%llu,\"live_segments\":%llu,"
           "\"files_linked\":%llu,\"bytes_linked\":%llu,\"files_copied\":%llu,"
           "\"bytes_copied\":%llu,\"log_entries_dropped\":%llu,\"checkpoint_written\":%s}\n",
           U(r->version), U(r->commits_rewritten), U(r->metas_rewritten),
           U(r->coverage_pointers_rewritten), U(r->live_segments), U(r->files_linked),
           U(r->bytes_linked), U(r->files_copied), U(r->bytes_copied),
           U(r->log_entries_dropped), r->checkpoint_written ? "true" : "false");
}

int cli_cmd_migrate(int argc, char **argv)
{
    cli_args args;
    int parsed = cli_parse(&args, "migrate", HELP, OPTS, sizeof OPTS / sizeof OPTS[0], argc,
                           argv);
    int rc = cli_parse_exit(parsed);
    if (parsed == CLI_PARSED && cli_require(&args, "table") && cli_require(&args, "to")) {
        const char *src = cli_get(&args, "table"), *dst = cli_get(&args, "to");
        tst_migrate_options opts = TST_MIGRATE_OPTIONS_INIT;
        opts.copy = cli_has(&args, "copy");
        tst_migrate_report report;
        if (tst_table_migrate_with(src, dst, &opts, &report) != 0) {
            char *context = cli_xsprintf("Migration of %s to %s failed", src, dst);
            rc = cli_fail_lib(context);
            free(context);
        } else {
            cli_has(&args, "json") ? print_json(src, dst, &report)
                                   : print_text(src, dst, &report);
            rc = CLI_EXIT_OK;
        }
    } else if (parsed == CLI_PARSED) {
        rc = CLI_EXIT_FAIL;
    }
    cli_args_free(&args);
    return rc;
}
