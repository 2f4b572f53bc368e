/*
 * add_columns.c — `tstable add-columns`: add nullable columns at the end of a
 * protocol-7 table's schema (tstable/evolve.h), in one metadata-only commit.
 *
 * Each --column is NAME=TYPE, TYPE in the names the rest of the tool prints
 * (`tstable info`): bool, int32, int64, uint64, float32, float64, utf8 (or
 * string), binary, decimal(P,S), timestamp[ms|us|ns] with an optional zone
 * as timestamp[us, UTC] or timestamp[us](UTC). Nested types are for the
 * library and Python (pyarrow schemas). The columns are always nullable.
 * Output: one line with the committed version. Errors: one line on stderr,
 * exit 1; a bad --column is a usage error naming it.
 */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "cli.h"
#include "tstable/error.h"
#include "tstable/evolve.h"

static const char HELP[] =
    "Add nullable columns at the end of a table's schema, in one commit.\n"
    "\n"
    "Usage: tstable add-columns --table PATH --column NAME=TYPE [--column NAME=TYPE]...\n"
    "\n"
    "Rows already in the table read as NULL in the new columns; no data file is\n"
    "rewritten. Later appends may leave out any nullable column except the index and\n"
    "entity columns (it is written as NULL). The table must be protocol 7 and have\n"
    "data (its first append fixes the schema); a format_version-6 table must be\n"
    "migrated first (tstable migrate). Readers without the feature\n"
    "`schema_add_columns` (the reference before 0.8) can no longer open the table.\n"
    "Names are exact and case-sensitive and must be new. If another writer commits\n"
    "first, nothing is written: run the command again.\n"
    "\n"
    "Options:\n"
    "  --table PATH          The table\n"
    "  --column NAME=TYPE    A column to add (repeatable, in order). TYPE is one of\n"
    "                        bool, int32, int64, uint64, float32, float64, utf8 (or\n"
    "                        string), binary, decimal(P,S), timestamp[ms|us|ns],\n"
    "                        timestamp[us, UTC] (a zone: timestamp[UNIT, ZONE])\n"
    "  --help                Show this help\n"
    "\n"
    "Example:\n"
    "  tstable add-columns --table ./bars --column vwap=float64 --column venue=utf8\n";

static const cli_opt OPTS[] = {
    {"table", NULL, CLI_VALUE},
    {"column", NULL, CLI_LIST},
};

static const struct {
    const char *name;
    tst_type_kind kind;
} PLAIN[] = {
    {"bool", TST_TYPE_BOOL},       {"boolean", TST_TYPE_BOOL},   {"int32", TST_TYPE_INT32},
    {"int64", TST_TYPE_INT64},     {"uint64", TST_TYPE_UINT64},  {"float32", TST_TYPE_FLOAT32},
    {"float64", TST_TYPE_FLOAT64}, {"double", TST_TYPE_FLOAT64}, {"utf8", TST_TYPE_UTF8},
    {"string", TST_TYPE_UTF8},     {"binary", TST_TYPE_BINARY},
};

/* "ms" / "us" / "ns" at s (length n). */
static bool parse_unit(const char *s, size_t n, tst_time_precision *out)
{
    static const char *const units[] = {"ms", "us", "ns"};
    for (int i = 0; i < 3; i++)
        if (n == 2 && strncasecmp(s, units[i], 2) == 0) {
            *out = (tst_time_precision)(TST_PRECISION_MILLIS + i);
            return true;
        }
    return false;
}

static void trim(const char **s, size_t *n)
{
    while (*n && isspace((unsigned char)**s))
        (*s)++, (*n)--;
    while (*n && isspace((unsigned char)(*s)[*n - 1]))
        (*n)--;
}

/* timestamp[UNIT], timestamp[UNIT, ZONE], timestamp[UNIT](ZONE). */
static bool parse_timestamp(const char *s, tst_type *out)
{
    if (strncasecmp(s, "timestamp[", 10) != 0)
        return false;
    const char *body = s + 10, *close = strchr(body, ']');
    if (!close)
        return false;
    const char *comma = memchr(body, ',', (size_t)(close - body));
    const char *unit = body, *zone = NULL;
    size_t unit_len = (size_t)((comma ? comma : close) - body), zone_len = 0;
    trim(&unit, &unit_len);
    if (!parse_unit(unit, unit_len, &out->unit))
        return false;
    if (comma) {
        zone = comma + 1;
        zone_len = (size_t)(close - zone);
        if (close[1] != '\0')
            return false;
    } else if (close[1] == '(') {
        zone = close + 2;
        zone_len = strlen(zone);
        if (zone_len == 0 || zone[zone_len - 1] != ')')
            return false;
        zone_len--;
    } else if (close[1] != '\0') {
        return false;
    }
    if (zone) {
        trim(&zone, &zone_len);
        if (zone_len == 0)
            return false;
        out->timezone = cli_xmalloc(zone_len + 1);
        memcpy(out->timezone, zone, zone_len);
        out->timezone[zone_len] = '\0';
    }
    out->kind = TST_TYPE_TIMESTAMP;
    return true;
}

static bool parse_decimal(const char *s, tst_type *out)
{
    unsigned p = 0;
    int sc = 0, used = 0;
    if (sscanf(s, "decimal(%u ,%d )%n", &p, &sc, &used) != 2 || s[used] != '\0')
        return false;
    out->kind = TST_TYPE_DECIMAL;
    out->precision = p;
    out->scale = sc;
    return true;
}

static bool parse_type(const char *s, tst_type *out)
{
    memset(out, 0, sizeof *out);
    for (size_t i = 0; i < sizeof PLAIN / sizeof PLAIN[0]; i++)
        if (strcasecmp(s, PLAIN[i].name) == 0) {
            out->kind = PLAIN[i].kind;
            return true;
        }
    return parse_timestamp(s, out) || parse_decimal(s, out);
}

static void free_fields(tst_field *fields, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        free(fields[i].name);
        free(fields[i].type.timezone);
    }
    free(fields);
}

/* --column NAME=TYPE ... as nullable fields; a usage error names a bad one. */
static int parse_columns(const char *const *cols, size_t n, tst_field **out)
{
    tst_field *fields = cli_xmalloc(n * sizeof *fields);
    memset(fields, 0, n * sizeof *fields);
    for (size_t i = 0; i < n; i++) {
        const char *eq = strrchr(cols[i], '=');
        if (!eq || eq == cols[i] || eq[1] == '\0') {
            free_fields(fields, i);
            return cli_usage_error("add-columns", "--column needs NAME=TYPE, got '%s'", cols[i]);
        }
        /* the name is everything before the last '=' (a type has none) */
        fields[i].name = cli_xmalloc((size_t)(eq - cols[i]) + 1);
        memcpy(fields[i].name, cols[i], (size_t)(eq - cols[i]));
        fields[i].name[eq - cols[i]] = '\0';
        fields[i].nullable = true;
        if (!parse_type(eq + 1, &fields[i].type)) {
            int rc = cli_usage_error("add-columns", "--column %s: unknown type '%s' (use bool, "
                                     "int32, int64, uint64, float32, float64, utf8, binary, "
                                     "decimal(P,S) or timestamp[us, UTC])", fields[i].name,
                                     eq + 1);
            free_fields(fields, i + 1);
            return rc;
        }
    }
    *out = fields;
    return 0;
}

static int add_columns(const char *root, const char *const *cols, size_t n)
{
    tst_field *fields = NULL;
    if (parse_columns(cols, n, &fields) != 0)
        return CLI_EXIT_FAIL;
    tst_table *table = NULL;
    int rc = cli_open_table(&table, root) != 0 ? CLI_EXIT_FAIL : CLI_EXIT_OK;
    uint64_t version = 0;
    if (rc == CLI_EXIT_OK && tst_table_add_columns(table, fields, n, &version) != 0) {
        char *context = cli_xstrdup("Adding columns failed");
        cli_fail_lib(context);
        free(context);
        rc = CLI_EXIT_FAIL;
    }
    if (rc == CLI_EXIT_OK)
        printf("Added %zu column%s; table version: %llu\n", n, n == 1 ? "" : "s",
               (unsigned long long)version);
    tst_table_free(table);
    free_fields(fields, n);
    return rc;
}

int cli_cmd_add_columns(int argc, char **argv)
{
    cli_args args;
    int parsed = cli_parse(&args, "add-columns", HELP, OPTS, sizeof OPTS / sizeof OPTS[0], argc,
                           argv);
    int rc = cli_parse_exit(parsed);
    if (parsed == CLI_PARSED && cli_require(&args, "table")) {
        size_t n = 0;
        const char *const *cols = cli_list(&args, "column", &n);
        rc = n == 0 ? cli_usage_error("add-columns", "give at least one --column NAME=TYPE")
                    : add_columns(cli_get(&args, "table"), cols, n);
    } else if (parsed == CLI_PARSED) {
        rc = CLI_EXIT_FAIL;
    }
    cli_args_free(&args);
    return rc;
}
