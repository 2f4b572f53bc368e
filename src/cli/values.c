/*
 * values.c — from command-line text to the library's values, and back.
 *
 * The coverage-style commands (coverage, gaps) take index values and entity
 * identities as text. The table decides how to read them: a timestamp index
 * takes RFC 3339 (a bare date means midnight UTC, because that is what
 * people type), integer indexes take decimals; an entity value is typed
 * after its column in the table's schema (utf8, int32, int64, uint64).
 * Every parse error here names the option it came from and is printed once.
 */
#include <ctype.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "cli.h"
#include "tstable/error.h"
#include "tstable/schema.h"

int cli_open_table(tst_table **out, const char *root)
{
    if (tst_table_open(out, root) == 0)
        return 0;
    const tst_error *e = tst_error_last();
    cli_fail("Failed to open table at %s. Ensure it is a valid tstable table: %s", root,
             e->message);
    return -1;
}

bool cli_parse_as_of(const char *command, const char *text, cli_as_of *out)
{
    memset(out, 0, sizeof *out);
    if (!text)
        return true;
    out->set = true;
    out->text = text;
    if (*text && strspn(text, "0123456789") == strlen(text)) {
        out->is_version = true;
        if (cli_parse_u64(text, &out->version) && out->version > 0)
            return true;
        cli_usage_error(command, "--as-of %s: versions start at 1", text);
        return false;
    }
    if (cli_parse_time(text, &out->at))
        return true;
    cli_usage_error(command, "--as-of %s: give a version (an integer such as 12) or an instant "
                    "(2024-06-01T09:30:00Z, 2024-06-01 09:30, 2024-06-01, now, -7d; UTC unless "
                    "it has an offset; see 'tstable help times')", text);
    return false;
}

int cli_open_table_as_of(tst_table **out, const char *root, const cli_as_of *as_of)
{
    if (!as_of || !as_of->set)
        return cli_open_table(out, root);
    int rc = as_of->is_version ? tst_table_open_at(out, root, as_of->version)
                               : tst_table_open_as_of(out, root, as_of->at);
    if (rc == 0)
        return 0;
    cli_fail("Failed to open table at %s as of %s%s: %s", root,
             as_of->is_version ? "version " : "", as_of->text, tst_error_last()->message);
    return -1;
}

static bool parse_i64(const char *text, int64_t *out)
{
    if (!text || !*text || *text == ' ' || *text == '+')
        return false;
    errno = 0;
    char *end = NULL;
    long long v = strtoll(text, &end, 10);
    if (errno != 0 || *end != '\0')
        return false;
    *out = (int64_t)v;
    return true;
}

int cli_parse_index_value(const tst_index_kind *kind, const char *option, const char *text,
                          tst_index_value *out)
{
    out->type = kind->type;
    if (kind->type != TST_INDEX_TIMESTAMP && cli_time_is_relative(text)) {
        cli_fail("Invalid %s '%s': the table's index is %s, which has no clock; relative "
                 "times (now, today, -7d) need a timestamp index: give an integer",
                 option, text, tst_index_type_name(kind->type));
        return -1;
    }
    switch (kind->type) {
    case TST_INDEX_TIMESTAMP:
        if (cli_parse_time(text, &out->v.ts))
            return 0;
        cli_fail("Invalid %s '%s': expected a time such as 2024-06-01T00:00:00Z, "
                 "2024-06-01 09:30 (UTC), 2024-06-01, now or -7d (see 'tstable help times')",
                 option, text);
        return -1;
    case TST_INDEX_INT64:
        if (parse_i64(text, &out->v.i64))
            return 0;
        cli_fail("Invalid %s '%s': expected an integer (the table's index is int64)", option, text);
        return -1;
    case TST_INDEX_UINT64:
        if (cli_parse_u64(text, &out->v.u64))
            return 0;
        cli_fail("Invalid %s '%s': expected a non-negative integer (the table's index is "
                 "uint64)",
                 option, text);
        return -1;
    }
    return -1;
}

void cli_format_index_value(const tst_index_value *v, char *buf, size_t cap)
{
    if (tst_index_value_format(v, buf, cap) < 0)
        snprintf(buf, cap, "?");
}

/* The schema type of an entity column, or NULL when the table has no schema yet. */
static const tst_type *column_type(tst_table *table, const char *name)
{
    const tst_schema *schema = tst_table_get_meta(table)->schema;
    for (size_t i = 0; schema && i < schema->column_count; i++)
        if (strcmp(schema->columns[i].name, name) == 0)
            return &schema->columns[i].type;
    return NULL;
}

static int typed_entity_value(const tst_type *type, const char *column, const char *text,
                              tst_entity_value *out)
{
    int64_t i = 0;
    if (!type || type->kind == TST_TYPE_UTF8) {
        out->type = TST_ENTITY_UTF8;
        out->v.utf8.ptr = text;
        out->v.utf8.len = strlen(text);
        return 0;
    }
    if (type->kind == TST_TYPE_UINT64 && cli_parse_u64(text, &out->v.u64)) {
        out->type = TST_ENTITY_UINT64;
        return 0;
    }
    if (type->kind == TST_TYPE_INT64 && parse_i64(text, &out->v.i64)) {
        out->type = TST_ENTITY_INT64;
        return 0;
    }
    if (type->kind == TST_TYPE_INT32 && parse_i64(text, &i) && i >= INT32_MIN && i <= INT32_MAX) {
        out->type = TST_ENTITY_INT32;
        out->v.i32 = (int32_t)i;
        return 0;
    }
    char tname[64] = "?";
    tst_type_format(type, tname, sizeof tname);
    cli_fail("Invalid --entity %s=%s: '%s' is not a value of the column's type %s", column, text,
             text, tname);
    return -1;
}

static bool is_entity_column(const tst_index_spec *spec, const char *name)
{
    for (size_t i = 0; i < spec->entity_count; i++)
        if (strcmp(spec->entity_columns[i], name) == 0)
            return true;
    return false;
}

static int parse_binding(tst_table *table, const char *spec, tst_entity_binding *out, char **column)
{
    const tst_index_spec *index = tst_table_index(table);
    const char *eq = strchr(spec, '=');
    /* --entity JPM: the only column; --entity symbol is a forgotten value. */
    if (!eq && spec[0] && index->entity_count == 1 &&
        strcmp(spec, index->entity_columns[0]) != 0) {
        *column = cli_xstrdup(index->entity_columns[0]);
        out->column = *column;
        return typed_entity_value(column_type(table, *column), *column, spec, &out->value);
    }
    if (!eq || eq == spec) {
        cli_fail("Invalid --entity '%s': expected COLUMN=VALUE, e.g. --entity symbol=NVDA", spec);
        return -1;
    }
    *column = cli_xsprintf("%.*s", (int)(eq - spec), spec);
    if (!is_entity_column(index, *column)) {
        if (index->entity_count == 0)
            cli_fail("Invalid --entity '%s': the table has no entity columns", spec);
        else
            cli_fail("Invalid --entity '%s': '%s' is not an entity column of the table", spec,
                     *column);
        return -1;
    }
    out->column = *column;
    return typed_entity_value(column_type(table, *column), *column, eq + 1, &out->value);
}

static size_t column_position(const tst_index_spec *spec, const char *name)
{
    for (size_t i = 0; i < spec->entity_count; i++)
        if (strcmp(spec->entity_columns[i], name) == 0)
            return i;
    return spec->entity_count;
}

/* Bindings in the table's column order, so messages read the same whatever
 * order the options came in (insertion sort: a handful of columns). */
static void sort_by_table_order(const tst_index_spec *spec, tst_entity_binding *b, char **names,
                                size_t n)
{
    for (size_t i = 1; i < n; i++) {
        for (size_t j = i;
             j > 0 && column_position(spec, b[j].column) < column_position(spec, b[j - 1].column);
             j--) {
            tst_entity_binding tb = b[j];
            char *tn = names[j];
            b[j] = b[j - 1], names[j] = names[j - 1];
            b[j - 1] = tb, names[j - 1] = tn;
        }
    }
}

int cli_parse_entity(tst_table *table, const char *const *specs, size_t count,
                     tst_entity_binding **out)
{
    /* Column names are copied (specs hold "col=value"); one block holds both. */
    tst_entity_binding *b = cli_xmalloc(count * (sizeof *b + sizeof(char *)));
    char **names = (char **)(b + count);
    memset(names, 0, count * sizeof *names);
    for (size_t i = 0; i < count; i++) {
        if (parse_binding(table, specs[i], &b[i], &names[i]) != 0) {
            for (size_t j = 0; j <= i; j++)
                free(names[j]);
            free(b);
            return -1;
        }
    }
    sort_by_table_order(tst_table_index(table), b, names, count);
    *out = b;
    return 0;
}

/* The column names live in the same block, after the bindings. */
void cli_free_entity(tst_entity_binding *b, size_t count)
{
    if (!b)
        return;
    char **names = (char **)(b + count);
    for (size_t i = 0; i < count; i++)
        free(names[i]);
    free(b);
}

/* The value just after v (1 ns or 1 unit); false at the domain's end. */
static bool next_value(tst_index_value *v)
{
    switch (v->type) {
    case TST_INDEX_TIMESTAMP:
        if (++v->v.ts.nsec == 1000000000u) {
            v->v.ts.nsec = 0;
            v->v.ts.sec++;
        }
        return true;
    case TST_INDEX_INT64: return v->v.i64 == INT64_MAX ? false : (v->v.i64++, true);
    case TST_INDEX_UINT64: return v->v.u64 == UINT64_MAX ? false : (v->v.u64++, true);
    }
    return false;
}

/* Just past the last value: the end of its bucket, which reads better than
 * "...23:00:00.000000001Z"; the value after it when that bucket is clipped. */
static int default_end(const tst_index_kind *kind, const tst_index_value *last,
                       tst_index_value *end)
{
    uint64_t bucket = 0;
    tst_index_value bucket_start;
    bool inclusive = false;
    if (tst_bucket_of(kind, last, &bucket) == 0 &&
        tst_bucket_bounds(kind, bucket, &bucket_start, end, &inclusive) == 0 && !inclusive)
        return 0;
    *end = *last;
    return next_value(end) ? 0 : -1;
}

/* The smallest index_min and largest index_max over the live segments. */
static bool observed_bounds(tst_table *table, tst_index_value *lo, tst_index_value *hi)
{
    size_t n = tst_table_segment_count(table);
    for (size_t i = 0; i < n; i++) {
        const tst_segment *s = tst_table_segment_at(table, i);
        int c1 = 0, c2 = 0;
        tst_index_value_compare(&s->index_min, lo, &c1);
        tst_index_value_compare(&s->index_max, hi, &c2);
        if (i == 0 || c1 < 0)
            *lo = s->index_min;
        if (i == 0 || c2 > 0)
            *hi = s->index_max;
    }
    return n > 0;
}

int cli_range(tst_table *table, const char *start_text, const char *end_text,
              tst_index_value *start, tst_index_value *end)
{
    const tst_index_kind *kind = &tst_table_index(table)->kind;
    tst_index_value lo = {0}, hi = {0};
    bool have = observed_bounds(table, &lo, &hi);
    if ((!start_text || !end_text) && !have)
        return cli_fail("The table at %s has no data yet: give both --start and --end",
                        tst_table_root(table));
    if (!start_text)
        *start = lo;
    else if (cli_parse_index_value(kind, "--start", start_text, start) != 0)
        return CLI_EXIT_FAIL;
    if (end_text) {
        if (cli_parse_index_value(kind, "--end", end_text, end) != 0)
            return CLI_EXIT_FAIL;
    } else if (default_end(kind, &hi, end) != 0) {
        return cli_fail("The table's last value is the largest of its domain: give --end");
    }
    int cmp = 0;
    tst_index_value_compare(start, end, &cmp);
    if (cmp >= 0) {
        char a[TST_TIMESTAMP_TEXT_MAX], b[TST_TIMESTAMP_TEXT_MAX];
        cli_format_index_value(start, a, sizeof a);
        cli_format_index_value(end, b, sizeof b);
        return cli_fail("Invalid range [%s, %s): --start must be before --end", a, b);
    }
    return 0;
}

static void format_entity_value(const tst_entity_value *v, char *buf, size_t cap)
{
    switch (v->type) {
    case TST_ENTITY_UTF8: snprintf(buf, cap, "%.*s", (int)v->v.utf8.len, v->v.utf8.ptr); break;
    case TST_ENTITY_INT32: snprintf(buf, cap, "%d", (int)v->v.i32); break;
    case TST_ENTITY_INT64: snprintf(buf, cap, "%lld", (long long)v->v.i64); break;
    case TST_ENTITY_UINT64: snprintf(buf, cap, "%llu", (unsigned long long)v->v.u64); break;
    }
}

void cli_format_bindings(const tst_entity_binding *b, size_t n, char *buf, size_t cap)
{
    size_t used = 0;
    buf[0] = '\0';
    for (size_t i = 0; i < n && used < cap; i++) {
        char value[256];
        format_entity_value(&b[i].value, value, sizeof value);
        int w = snprintf(buf + used, cap - used, "%s%s=%s", i ? "," : "", b[i].column, value);
        used += w > 0 ? (size_t)w : 0;
    }
}

void cli_json_bindings(FILE *out, const tst_entity_binding *b, size_t n)
{
    if (n == 0) {
        fputs("null", out);
        return;
    }
    for (size_t i = 0; i < n; i++) {
        char value[256];
        fputs(i ? "," : "{", out);
        cli_json_string(out, b[i].column);
        fputc(':', out);
        format_entity_value(&b[i].value, value, sizeof value);
        if (b[i].value.type == TST_ENTITY_UTF8)
            cli_json_string(out, value);
        else
            fputs(value, out);
    }
    fputc('}', out);
}

void cli_json_index_value(FILE *out, const tst_index_value *v)
{
    char buf[TST_TIMESTAMP_TEXT_MAX];
    cli_format_index_value(v, buf, sizeof buf);
    if (v->type == TST_INDEX_TIMESTAMP)
        cli_json_string(out, buf);
    else
        fputs(buf, out);
}

void cli_format_index_kind(const tst_index_kind *kind, char *buf, size_t cap)
{
    /* Protocol 7 calls the bucket the index granularity (index_granularity). */
    bool v7 = kind->protocol == 7;
    char bucket[32] = "";
    switch (kind->type) {
    case TST_INDEX_TIMESTAMP:
        tst_time_bucket_format(kind->bucket, bucket, sizeof bucket);
        if (kind->timezone[0])
            snprintf(buf, cap,
                     "timestamp, %s %s, timezone %s: metadata only, buckets and dates "
                     "stay UTC",
                     v7 ? "granularity" : "bucket", bucket, kind->timezone);
        else
            snprintf(buf, cap, "timestamp, %s %s", v7 ? "granularity" : "bucket", bucket);
        return;
    case TST_INDEX_INT64:
    case TST_INDEX_UINT64:
        snprintf(buf, cap, "%s, %s %llu", tst_index_type_name(kind->type),
                 v7 ? "granularity" : "bucket width", (unsigned long long)kind->bucket_width);
        return;
    }
    snprintf(buf, cap, "?");
}

int cli_target_open(cli_target *t, const cli_args *args)
{
    memset(t, 0, sizeof *t);
    if (!cli_require(args, "table"))
        return CLI_EXIT_FAIL;
    cli_as_of as_of;
    if (!cli_parse_as_of(args->command, cli_get(args, "as-of"), &as_of) ||
        cli_open_table_as_of(&t->table, cli_get(args, "table"), &as_of) != 0)
        return CLI_EXIT_FAIL;
    const char *const *specs = cli_list(args, "entity", &t->entity_count);
    if (t->entity_count && cli_parse_entity(t->table, specs, t->entity_count, &t->entity) != 0) {
        t->entity_count = 0;
        return CLI_EXIT_FAIL;
    }
    cli_warn_unknown_entity(&t->table, 1, t->entity, t->entity_count);
    return cli_range(t->table, cli_get(args, "start"), cli_get(args, "end"), &t->start, &t->end);
}

void cli_target_close(cli_target *t)
{
    cli_free_entity(t->entity, t->entity_count);
    tst_table_free(t->table);
    memset(t, 0, sizeof *t);
}

/* ---- time buckets and timezones ------------------------------------------- */

/*
 * The library's parser names what is wrong; a few common slips get a
 * better word first: a zero count ("0", "0h") and weeks ("1w" -> "7d").
 */
int cli_parse_time_bucket(const char *option, const char *text, tst_time_bucket *out)
{
    char *end = NULL;
    unsigned long long n = strtoull(text, &end, 10);
    bool digits = end != text && text[0] >= '0' && text[0] <= '9';
    if (digits && n == 0)
        return cli_fail("Invalid %s '%s': the bucket must be positive, e.g. 1h", option, text);
    if (digits && strcmp(end, "w") == 0 && n <= UINT64_MAX / 7)
        return cli_fail("Invalid %s '%s': weeks are not a bucket unit; use %llud", option, text,
                        n * 7);
    if (tst_time_bucket_parse(out, text) != 0)
        return cli_fail("Invalid %s '%s': %s", option, text, tst_error_last()->message);
    return 0;
}

/* An IANA name: letters, digits and - _ + / in parts, no "..", no leading '/'. */
static bool timezone_name_is_clean(const char *tz)
{
    if (tz[0] == '/' || strstr(tz, "..") || strstr(tz, "//"))
        return false;
    for (const char *p = tz; *p; p++)
        if (!isalnum((unsigned char)*p) && !strchr("-_+/", *p))
            return false;
    return true;
}

/* The tz database's file for the name starts with TZif. */
static bool zoneinfo_has(const char *dir, const char *tz)
{
    char *path = cli_xsprintf("%s/%s", dir, tz);
    FILE *f = fopen(path, "rb");
    char magic[4] = {0};
    bool ok = f && fread(magic, 1, 4, f) == 4 && memcmp(magic, "TZif", 4) == 0;
    if (f)
        fclose(f);
    free(path);
    return ok;
}

int cli_check_timezone(const char *option, const char *tz)
{
    if (tz[0] == '\0' || strcmp(tz, "UTC") == 0)
        return 0;
    if (strlen(tz) > TST_TIMEZONE_MAX)
        return cli_fail("Invalid %s: longer than %d bytes", option, TST_TIMEZONE_MAX);
    const char *env = getenv("TZDIR");
    const char *dir = env && env[0] ? env : "/usr/share/zoneinfo";
    struct stat st;
    if (!timezone_name_is_clean(tz))
        return cli_fail("Invalid %s '%s': not an IANA timezone name (e.g. America/New_York, "
                        "Europe/Berlin, UTC)",
                        option, tz);
    if (stat(dir, &st) == 0 && S_ISDIR(st.st_mode) && !zoneinfo_has(dir, tz))
        return cli_fail("Invalid %s '%s': no such IANA timezone in %s (e.g. America/New_York, "
                        "Europe/Berlin, UTC)",
                        option, tz, dir);
    return 0;
}
