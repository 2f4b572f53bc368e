/*
 * create.c — `tstable create`: a new, empty table with its index spec.
 *
 * Every option combination is validated before anything touches the disk,
 * with the reference CLI's messages: a timestamp index needs --bucket and
 * refuses --bucket-width; an integer index needs --bucket-width and refuses
 * --bucket and --timezone. The schema is not given here: the first append
 * adopts it.
 *
 * --protocol picks the on-disk format: 7 (the default, the reference 0.5 to
 * 0.9's protocol 7) or 6 (the reference 0.4.0's format_version 6, for tables
 * 0.4 readers must read). Both spellings of the options are accepted for
 * either: the reference 0.4's (--time-column, --bucket, --bucket-width) and
 * 0.5's (--index-column, --index-type, --index-granularity); giving the
 * same thing twice under both names is an error.
 */
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "tstable/error.h"

static const char HELP[] =
    "Create an empty table. Its schema is adopted from the first append.\n"
    "\n"
    "Usage: tstable create --table PATH --index-column NAME [--index-type TYPE]\n"
    "                      (--bucket SPEC [--timezone TZ] | --bucket-width N |\n"
    "                       --index-granularity SPEC) [--entity COL]... [--protocol 7|6]\n"
    "\n"
    "Options:\n"
    "  --table PATH         Folder of the new table (created if missing)\n"
    "  --index-column NAME  The ordered index column (alias: --time-column)\n"
    "  --index-type TYPE    timestamp (default), int64 or uint64\n"
    "  --bucket SPEC        Coverage bucket of a timestamp index: 30s, 15m, 1h, 1d, ...\n"
    "                       (required for timestamp indexes, refused for integer ones)\n"
    "  --timezone TZ        An IANA timezone name kept as metadata, e.g. America/New_York\n"
    "                       (timestamp indexes only). It does not change anything: buckets\n"
    "                       stay aligned to UTC (a 1d bucket is a UTC day) and dates in\n"
    "                       --start/--end are UTC midnights.\n"
    "  --bucket-width N     Coverage bucket of an integer index, in index units,\n"
    "                       1..18446744073709551615 (required for int64 and uint64)\n"
    "  --index-granularity SPEC\n"
    "                       The reference 0.5+'s name for either: a time interval (1h)\n"
    "                       for timestamp indexes, an integer for int64 and uint64\n"
    "  --protocol N         On-disk format: 7 (default; protocol 7, read by the reference\n"
    "                       0.5 to 0.9) or 6 (format_version 6, for reference 0.4 readers)\n"
    "  --entity COL         An entity column (e.g. symbol): coverage is kept per entity.\n"
    "                       Repeat it, or separate names with commas: --entity symbol,venue\n"
    "  --help               Show this help\n"
    "\n"
    "Examples:\n"
    "  tstable create --table ./my_stocks --index-column timestamp --index-type timestamp \\\n"
    "      --index-granularity 1h --entity symbol\n"
    "  tstable create --table ./events --index-column seq --index-type int64 --bucket-width 1000\n"
    "  tstable create --table ./bars04 --protocol 6 --time-column ts --bucket 1h --entity symbol\n"
    "      (format_version 6: readable by the reference 0.4; `tstable migrate` turns it\n"
    "      into protocol 7 later)\n";

static const cli_opt OPTS[] = {
    {"table", NULL, CLI_VALUE},      {"index-column", "time-column", CLI_VALUE},
    {"index-type", NULL, CLI_VALUE}, {"bucket", NULL, CLI_VALUE},
    {"timezone", NULL, CLI_VALUE},   {"bucket-width", NULL, CLI_VALUE},
    {"entity", NULL, CLI_LIST},      {"index-granularity", NULL, CLI_VALUE},
    {"protocol", NULL, CLI_VALUE},
};

/* --bucket / --bucket-width, or the reference 0.5's --index-granularity in their place
 * (then *out_flag is "--index-granularity", else NULL). */
static int width_option(const cli_args *args, const char *name, const char **out_flag,
                        const char **out_value)
{
    const char *own = cli_get(args, name), *gran = cli_get(args, "index-granularity");
    if (own && gran)
        return cli_fail("Invalid --index-granularity with --%s: they name the same thing, give "
                        "one of them", name);
    *out_flag = gran ? "--index-granularity" : NULL;
    *out_value = gran ? gran : own;
    return 0;
}

static int parse_protocol(const char *text, uint32_t *out)
{
    if (!text || strcmp(text, "7") == 0)
        *out = TST_PROTOCOL_VERSION;
    else if (strcmp(text, "6") == 0)
        *out = TST_FORMAT_VERSION;
    else
        return cli_fail("Invalid --protocol '%s': expected 7 (protocol 7, the default) or 6 "
                        "(format_version 6, for reference 0.4 readers)", text);
    return 0;
}

static int parse_index_type(const char *text, tst_index_type *out)
{
    if (!text || strcmp(text, "timestamp") == 0)
        *out = TST_INDEX_TIMESTAMP;
    else if (strcmp(text, "int64") == 0)
        *out = TST_INDEX_INT64;
    else if (strcmp(text, "uint64") == 0)
        *out = TST_INDEX_UINT64;
    else
        return cli_fail("Invalid --index-type '%s': expected timestamp, int64, or uint64", text);
    return 0;
}

static int timestamp_kind(const cli_args *args, tst_index_kind *kind)
{
    const char *bucket = NULL, *flag = NULL, *tz = cli_get(args, "timezone");
    if (cli_has(args, "bucket-width"))
        return cli_fail("Invalid --bucket-width for --index-type timestamp: use --bucket for "
                        "timestamp indexes");
    if (width_option(args, "bucket", &flag, &bucket) != 0)
        return CLI_EXIT_FAIL;
    if (!bucket)
        return cli_fail("Missing --bucket for --index-type timestamp: give the coverage bucket, "
                        "e.g. --bucket 1h");
    if (cli_parse_time_bucket(flag ? flag : "--bucket", bucket, &kind->bucket) != 0)
        return CLI_EXIT_FAIL;
    if (tz && cli_check_timezone("--timezone", tz) != 0)
        return CLI_EXIT_FAIL;
    snprintf(kind->timezone, sizeof kind->timezone, "%s", tz ? tz : "");
    return 0;
}

static int integer_kind(const cli_args *args, tst_index_kind *kind)
{
    const char *type = tst_index_type_name(kind->type);
    const char *width = NULL, *flag = NULL;
    if (width_option(args, "bucket-width", &flag, &width) != 0)
        return CLI_EXIT_FAIL;
    if (cli_has(args, "bucket"))
        return cli_fail("Invalid --bucket for --index-type %s: is only valid for timestamp "
                        "indexes",
                        type);
    if (cli_has(args, "timezone"))
        return cli_fail("Invalid --timezone for --index-type %s: is only valid for timestamp "
                        "indexes",
                        type);
    if (!width)
        return cli_fail("Missing --bucket-width for --index-type %s: give the coverage bucket "
                        "in index units, e.g. --bucket-width 1000",
                        type);
    bool bad = !cli_parse_u64(width, &kind->bucket_width) || kind->bucket_width == 0;
    if (bad && flag) /* the reference 0.5's wording */
        return cli_fail("Invalid --index-granularity '%s' for --index-type %s: not an integer "
                        "in 1..=18446744073709551615", width, type);
    if (bad)
        return cli_fail("Invalid --bucket-width for --index-type %s: '%s' is not an integer in "
                        "1..=18446744073709551615",
                        type, width);
    return 0;
}

/* Splits every --entity on commas, trimming spaces; empty names are refused. */
static int entity_columns(const cli_args *args, tst_index_spec *spec)
{
    size_t n = 0;
    const char *const *list = cli_list(args, "entity", &n);
    for (size_t i = 0; i < n; i++) {
        const char *p = list[i];
        for (;;) {
            const char *comma = strchr(p, ',');
            size_t len = comma ? (size_t)(comma - p) : strlen(p);
            while (len && *p == ' ')
                p++, len--;
            while (len && p[len - 1] == ' ')
                len--;
            if (len == 0)
                return cli_fail("Invalid --entity '%s': entity column names cannot be empty",
                                list[i]);
            spec->entity_columns =
                cli_xrealloc(spec->entity_columns, (spec->entity_count + 1) * sizeof(char *));
            spec->entity_columns[spec->entity_count++] = cli_xsprintf("%.*s", (int)len, p);
            if (!comma)
                break;
            p = comma + 1;
        }
    }
    return 0;
}

/* Everything the options say, checked; nothing is written yet. */
static int build_spec(const cli_args *args, tst_index_spec *spec)
{
    if (!cli_require(args, "table") || !cli_require(args, "index-column"))
        return CLI_EXIT_FAIL;
    if (cli_get(args, "table")[0] == '\0')
        return cli_fail("Invalid --table: the path is empty");
    spec->column = cli_xstrdup(cli_get(args, "index-column"));
    if (parse_index_type(cli_get(args, "index-type"), &spec->kind.type) != 0 ||
        parse_protocol(cli_get(args, "protocol"), &spec->kind.protocol) != 0)
        return CLI_EXIT_FAIL;
    int rc = spec->kind.type == TST_INDEX_TIMESTAMP ? timestamp_kind(args, &spec->kind)
                                                    : integer_kind(args, &spec->kind);
    return rc != 0 ? rc : entity_columns(args, spec);
}

static void free_spec(tst_index_spec *spec)
{
    free(spec->column);
    for (size_t i = 0; i < spec->entity_count; i++)
        free(spec->entity_columns[i]);
    free(spec->entity_columns);
}

static int create_table(const char *root, const tst_index_spec *spec)
{
    tst_table *table = NULL;
    if (tst_table_create(&table, root, spec) != 0) {
        const tst_error *e = tst_error_last();
        if (e->code == TST_EIO)
            return cli_fail("Failed to create timeseries table at %s. Ensure the directory is "
                            "writable: %s",
                            root, e->message);
        return cli_fail("Failed to create timeseries table at %s: %s", root, e->message);
    }
    tst_table_free(table);
    printf("Created table at %s\n", root);
    return CLI_EXIT_OK;
}

int cli_cmd_create(int argc, char **argv)
{
    cli_args args;
    int parsed = cli_parse(&args, "create", HELP, OPTS, sizeof OPTS / sizeof OPTS[0], argc, argv);
    if (parsed != CLI_PARSED) {
        cli_args_free(&args);
        return cli_parse_exit(parsed);
    }
    tst_index_spec spec;
    memset(&spec, 0, sizeof spec);
    int rc = build_spec(&args, &spec);
    if (rc == 0)
        rc = create_table(cli_get(&args, "table"), &spec);
    free_spec(&spec);
    cli_args_free(&args);
    return rc;
}
