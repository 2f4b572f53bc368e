/*
 * source_csv.c — a CSV file as an append source (see source.h).
 *
 * A CSV file has no types of its own: DuckDB's sniffer guesses them from a
 * sample, per file. That is fine for a first append, but once a table has a
 * schema a guess is the wrong question — a day whose prices happen to be
 * whole numbers is sniffed as BIGINT and would be refused against a DOUBLE
 * column. So the header decides the names and order of the columns, and
 * their types come from (first match wins): the caller's `columns` (any
 * subset; DuckDB SQL types or table logical names such as "int64"), the
 * table's schema, DuckDB's guess.
 *
 * Columns given a type are not handed to read_csv's `types=`: DuckDB 1.4.4
 * silently reads a bad TIMESTAMPTZ value as NULL and rounds "1.5" into a
 * BIGINT. Instead the file is read as text (all_varchar) WITH ORDINALITY,
 * and each typed column is cast with a check that calls error() with the
 * line, column and value when the text is not a value of the type. That
 * error surfaces when the rows are first read (measuring), and
 * tst_source_csv_explain() turns it into one sentence.
 *
 * Before that, the few things that go wrong with CSV files get their own
 * message instead of a schema mismatch or a DuckDB sniffer report: an empty
 * file, a header without rows, a column of the table present in another
 * case, a single column that is really another delimiter, a file that is
 * not text (a Parquet file given as CSV).
 */
#include "append_schema.h"
#include "source.h"

#include "arrow_schema.h"
#include "duck.h"
#include "fail.h"
#include "model.h"

#include <ctype.h>
#include <stdarg.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>

/* The text error() raises for a bad value; tst_source_csv_explain finds it. */
#define BAD_VALUE_MARK "tstable-csv-bad-value: "

/* One column of the header, and how it will be read. */
typedef struct csv_column {
    char *name;
    char *sniffed;            /* DuckDB's guess, e.g. "BIGINT" */
    char *read_type;          /* the type it is cast to; NULL = keep the text */
    const char *format;       /* strptime format the sniffer found for it, or NULL */
    const tst_field *table;   /* the table's column of this name, typed from it */
} csv_column;

typedef struct csv_reader {
    const char *path;
    char *literal;            /* path with glob characters escaped, for DuckDB */
    const tst_csv_options *opts;
    const tst_table_meta *meta;
    duckdb_connection con;
    csv_column *columns;
    size_t count;
    bool header;              /* the file has a header line */
    char *date_format;        /* the sniffer's DateFormat / TimestampFormat, or NULL */
    char *timestamp_format;
    bool typed;               /* some column has a read_type: the checked-cast relation */
} csv_reader;

static int nomem(void)
{
    return tst_fail(TST_ENOMEM, "out of memory describing a CSV source");
}

static int cell_text(duckdb_result *res, idx_t col, idx_t row, char **out)
{
    *out = NULL;
    if (duckdb_value_is_null(res, col, row))
        return 0;
    char *v = duckdb_value_varchar(res, col, row);
    *out = v ? strdup(v) : NULL;
    duckdb_free(v);
    return *out ? 0 : nomem();
}

static void reader_clear(csv_reader *r)
{
    for (size_t i = 0; r->columns && i < r->count; i++) {
        free(r->columns[i].name);
        free(r->columns[i].sniffed);
        free(r->columns[i].read_type);
    }
    free(r->columns);
    free(r->literal);
    free(r->date_format);
    free(r->timestamp_format);
    tst_duck_disconnect(&r->con);
}

/* A DuckDB message without its "Invalid Input Error: " kind, first line only. */
static void first_line(const char *message, char *out, size_t cap)
{
    const char *m = message ? message : "";
    const char *colon = strstr(m, "Error: ");
    if (colon && colon - m < 40)
        m = colon + 7;
    size_t n = strcspn(m, "\n");
    snprintf(out, cap, "%.*s", (int)(n < cap ? n : cap - 1), m);
}

/* "CSV source <path> <detail>; nothing was written", with the path recorded. */
static int fail_at(int code, const char *path, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static int fail_at(int code, const char *path, const char *fmt, ...)
{
    char detail[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(detail, sizeof detail, fmt, ap);
    va_end(ap);
    tst_fail(code, "CSV source %s %s; nothing was written", path, detail);
    tst_fail_set_path(path);
    return code;
}

/* ---- reading options ----------------------------------------------------- */

/* ", header=..., delim='.'": the caller's dialect. */
static int dialect_sql(tst_sql *t, const tst_csv_options *opts, int header)
{
    int rc = 0;
    if (header >= 0)
        rc = SQL_F(t, ", header=%s", header ? "true" : "false");
    if (rc == 0 && opts->delimiter) {
        char delim[2] = {opts->delimiter, '\0'};
        rc = SQL_F(t, ", delim=");
        if (rc == 0)
            rc = SQL_LIT(t, delim);
    }
    return rc;
}

/* "read_csv('<path>', <dialect><tail>)" */
static int read_csv_sql(tst_sql *t, const csv_reader *r, int header, const char *tail)
{
    int rc = SQL_F(t, "read_csv(");
    if (rc == 0)
        rc = SQL_LIT(t, r->literal);
    if (rc == 0)
        rc = dialect_sql(t, r->opts, header);
    if (rc == 0)
        rc = SQL_F(t, "%s)", tail);
    return rc;
}

/* ---- the file before DuckDB ------------------------------------------------ */

/* A Parquet file handed in as CSV starts with "PAR1". */
static bool looks_parquet(const char *path)
{
    char magic[4] = {0};
    FILE *f = fopen(path, "rb");
    size_t n = f ? fread(magic, 1, sizeof magic, f) : 0;
    if (f)
        fclose(f);
    return n == 4 && memcmp(magic, "PAR1", 4) == 0;
}

static int check_file(const char *path)
{
    struct stat st;
    if (stat(path, &st) != 0) {
        int err = errno;
        tst_fail_errno(err == ENOENT || err == ENOTDIR ? TST_ENOTFOUND : TST_EIO, err,
                       "CSV source %s cannot be read", path);
        tst_fail_set_path(path);
        return tst_error_last()->code;
    }
    if (!S_ISREG(st.st_mode))
        return fail_at(TST_EINVAL, path, "is not a regular file");
    if (st.st_size == 0)
        return fail_at(TST_EEMPTY, path, "is empty (0 bytes)");
    if (looks_parquet(path))
        return fail_at(TST_EINVAL, path, "is a Parquet file, not CSV: append it as Parquet "
                       "(--parquet)");
    return 0;
}

static int unreadable(const csv_reader *r, const char *duck_message)
{
    char why[512] = " (";
    first_line(duck_message, why + 2, sizeof why - 3);
    if (strncmp(why + 2, "Error when sniffing", 19) == 0)
        why[0] = '\0'; /* says no more than "cannot be read as CSV" */
    else
        strcat(why, ")");
    return fail_at(TST_EINVAL, r->path, "cannot be read as CSV%s: check that it is a text file "
                   "and give its delimiter and header (--delimiter, --no-header)", why);
}

/* ---- the header ------------------------------------------------------------ */

/* Names, DuckDB's guessed types and whether there is a header, from sniff_csv. */
static int sniff(csv_reader *r)
{
    tst_sql t = {0};
    duckdb_result res;
    int rc = SQL_F(&t, "SELECT c.name, c.type, HasHeader, DateFormat, TimestampFormat FROM "
                       "(SELECT unnest(Columns) AS c, HasHeader, DateFormat, TimestampFormat "
                       "FROM sniff_csv(");
    if (rc == 0)
        rc = SQL_LIT(&t, r->literal);
    if (rc == 0)
        rc = dialect_sql(&t, r->opts, r->opts->header);
    if (rc == 0)
        rc = SQL_F(&t, "))");
    if (rc == 0 && (rc = tst_duck_query(r->con, t.s, &res, "sniffing")) == TST_ESQL)
        rc = unreadable(r, tst_error_last()->message);
    free(t.s);
    if (rc != 0)
        return rc;
    idx_t rows = duckdb_row_count(&res);
    r->columns = calloc(rows ? rows : 1, sizeof *r->columns);
    rc = r->columns ? 0 : nomem();
    for (idx_t i = 0; rc == 0 && i < rows; i++) {
        r->count = i + 1;
        rc = cell_text(&res, 0, i, &r->columns[i].name);
        if (rc == 0)
            rc = cell_text(&res, 1, i, &r->columns[i].sniffed);
        if (rc == 0 && (!r->columns[i].name || !r->columns[i].sniffed))
            rc = unreadable(r, "a column without a name or type");
    }
    r->header = rows > 0 && duckdb_value_boolean(&res, 2, 0);
    if (rc == 0 && rows > 0)
        rc = cell_text(&res, 3, 0, &r->date_format);
    if (rc == 0 && rows > 0)
        rc = cell_text(&res, 4, 0, &r->timestamp_format);
    if (r->opts->header >= 0)
        r->header = r->opts->header != 0;
    duckdb_destroy_result(&res);
    return rc;
}

/* TST_EEMPTY when the file has a header and nothing else. */
static int check_rows(csv_reader *r)
{
    tst_sql t = {0};
    duckdb_result res;
    int rc = SQL_F(&t, "SELECT 1 FROM ");
    if (rc == 0)
        rc = read_csv_sql(&t, r, r->header, ", all_varchar=true");
    if (rc == 0)
        rc = SQL_F(&t, " LIMIT 1");
    if (rc == 0 && (rc = tst_duck_query(r->con, t.s, &res, "reading")) == TST_ESQL)
        rc = unreadable(r, tst_error_last()->message);
    free(t.s);
    if (rc != 0)
        return rc;
    bool empty = duckdb_row_count(&res) == 0;
    duckdb_destroy_result(&res);
    return empty ? fail_at(TST_EEMPTY, r->path, "has a header but no rows") : 0;
}

static const csv_column *find_column(const csv_reader *r, const char *name)
{
    for (size_t i = 0; i < r->count; i++)
        if (strcmp(r->columns[i].name, name) == 0)
            return &r->columns[i];
    return NULL;
}

/* ';', '\t' or '|' inside the only column's name: the file's real delimiter. */
static char other_delimiter(const csv_reader *r)
{
    if (r->count != 1)
        return 0;
    const char *candidates = ";\t|,";
    for (const char *c = candidates; *c; c++)
        if (*c != r->opts->delimiter && strchr(r->columns[0].name, *c))
            return *c;
    return 0;
}

/* A column the table needs, absent from the header: say why if we can,
 * else list what the header has. */
static int missing_column(const csv_reader *r, const char *want)
{
    char d = other_delimiter(r);
    if (d) {
        char shown[8], hint[96];
        snprintf(shown, sizeof shown, d == '\t' ? "\\t" : "%c", d);
        snprintf(hint, sizeof hint, "it looks '%s'-separated: use --delimiter '%s' (Python: "
                 "delimiter='%s')", shown, shown, shown);
        return fail_at(TST_ESCHEMA, r->path, "has a single column '%s': %s", r->columns[0].name,
                       hint);
    }
    for (size_t i = 0; i < r->count; i++) {
        if (strcasecmp(r->columns[i].name, want) != 0)
            continue;
        char what[512];
        snprintf(what, sizeof what, "has no column '%s' (found '%s'): column names are "
                 "case-sensitive; rename it in the header", want, r->columns[i].name);
        return fail_at(TST_ESCHEMA, r->path, "%s", what);
    }
    char found[512] = "";
    size_t len = 0;
    for (size_t i = 0; i < r->count && len + 4 < sizeof found; i++)
        len += (size_t)snprintf(found + len, sizeof found - len, "%s'%s'", i ? ", " : "",
                                r->columns[i].name);
    return fail_at(TST_ESCHEMA, r->path, "has no column '%s' (its columns: %s)", want, found);
}

/* The columns the table needs: its schema's, or before the first append
 * its index and entity columns. */
static int check_names(const csv_reader *r)
{
    const tst_table_meta *m = r->meta;
    if (!m)
        return 0;
    int rc = 0;
    if (m->schema) {
        for (size_t i = 0; rc == 0 && i < m->schema->column_count; i++)
            if (!find_column(r, m->schema->columns[i].name) &&
                !tst_append_may_omit(m, &m->schema->columns[i]))
                rc = missing_column(r, m->schema->columns[i].name);
        return rc;
    }
    if (m->index.column && !find_column(r, m->index.column))
        rc = missing_column(r, m->index.column);
    for (size_t i = 0; rc == 0 && i < m->index.entity_count; i++)
        if (!find_column(r, m->index.entity_columns[i]))
            rc = missing_column(r, m->index.entity_columns[i]);
    return rc;
}

/* ---- types ------------------------------------------------------------------- */

/* The DuckDB type a table column is read as, or NULL to leave it to DuckDB. */
static const char *table_read_type(const tst_type *t, char *buf, size_t cap)
{
    switch (t->kind) {
    case TST_TYPE_BOOL: return "BOOLEAN";
    case TST_TYPE_INT32: return "INTEGER";
    case TST_TYPE_INT64: return "BIGINT";
    case TST_TYPE_UINT64: return "UBIGINT";
    case TST_TYPE_FLOAT32: return "FLOAT";
    case TST_TYPE_FLOAT64: return "DOUBLE";
    case TST_TYPE_UTF8: return "VARCHAR";
    case TST_TYPE_TIMESTAMP:
        if (t->timezone) /* an instant: the text's offset counts, the zone is metadata */
            return "TIMESTAMPTZ";
        return t->unit == TST_PRECISION_MILLIS  ? "TIMESTAMP_MS"
               : t->unit == TST_PRECISION_NANOS ? "TIMESTAMP_NS"
                                                : "TIMESTAMP";
    case TST_TYPE_DECIMAL:
        if (t->precision < 1 || t->precision > 38)
            return NULL;
        snprintf(buf, cap, "DECIMAL(%u,%d)", t->precision, (int)t->scale);
        return buf;
    default: return NULL; /* binary, nested: DuckDB's reading, checked by the schema rules */
    }
}

/* The table's logical names, as a user may write them in `columns`. */
static const char *logical_read_type(const char *name)
{
    static const struct {
        const char *logical, *duck;
    } names[] = {
        {"bool", "BOOLEAN"},          {"int32", "INTEGER"},
        {"int64", "BIGINT"},          {"uint64", "UBIGINT"},
        {"float32", "FLOAT"},         {"float64", "DOUBLE"},
        {"utf8", "VARCHAR"},          {"string", "VARCHAR"},
        {"binary", "BLOB"},           {"date32", "DATE"},
        {"timestamp[ms]", "TIMESTAMP_MS"}, {"timestamp[us]", "TIMESTAMP"},
        {"timestamp[ns]", "TIMESTAMP_NS"}, {"timestamp[us](UTC)", "TIMESTAMPTZ"},
    };
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
        if (strcasecmp(name, names[i].logical) == 0)
            return names[i].duck;
    return NULL;
}

/* A type name is spliced into SQL: letters, digits, '_', ' ', '(', ')', ','. */
static bool plain_type_name(const char *s)
{
    if (!*s)
        return false;
    for (; *s; s++)
        if (!isalnum((unsigned char)*s) && !strchr("_ (),", *s))
            return false;
    return true;
}

static int set_read_type(csv_reader *r, const char *name, const char *type)
{
    csv_column *c = (csv_column *)find_column(r, name);
    if (!c)
        return fail_at(TST_EINVAL, r->path, "has no column '%s' (a type was given for it)",
                       name);
    const char *duck = logical_read_type(type);
    if (!duck && !plain_type_name(type))
        return fail_at(TST_EINVAL, r->path, "column '%s': '%s' is not a type name", name, type);
    free(c->read_type);
    c->read_type = strdup(duck ? duck : type);
    c->table = NULL; /* the caller's type wins */
    return c->read_type ? 0 : nomem();
}

/* The caller's `columns` struct literal, evaluated by DuckDB into pairs. */
static int apply_user_types(csv_reader *r)
{
    tst_sql t = {0};
    duckdb_result res;
    int rc = SQL_F(&t, "SELECT key, value ->> '$' FROM json_each(to_json(%s))",
                   r->opts->columns);
    if (rc == 0 &&
        (rc = tst_duck_query(r->con, t.s, &res, "reading the column types")) == TST_ESQL) {
        char why[512];
        first_line(tst_error_last()->message, why, sizeof why);
        rc = fail_at(TST_EINVAL, r->path, "column types %s are not a {'name': 'TYPE', ...} "
                     "struct (%s)", r->opts->columns, why);
    }
    free(t.s);
    if (rc != 0)
        return rc;
    for (idx_t i = 0; rc == 0 && i < duckdb_row_count(&res); i++) {
        char *name = NULL, *type = NULL;
        rc = cell_text(&res, 0, i, &name);
        if (rc == 0)
            rc = cell_text(&res, 1, i, &type);
        if (rc == 0)
            rc = set_read_type(r, name ? name : "", type ? type : "");
        free(name);
        free(type);
    }
    duckdb_destroy_result(&res);
    return rc;
}

/* Table types for the columns the table has; then the caller's. */
static int choose_types(csv_reader *r)
{
    const tst_schema *schema = r->meta ? r->meta->schema : NULL;
    int rc = 0;
    for (size_t i = 0; rc == 0 && schema && i < r->count; i++) {
        csv_column *c = &r->columns[i];
        char buf[64];
        c->table = tst_schema_find(schema, c->name);
        const char *type = c->table ? table_read_type(&c->table->type, buf, sizeof buf) : NULL;
        if (!type)
            c->table = NULL;
        else if (!(c->read_type = strdup(type)))
            rc = nomem();
    }
    if (rc == 0 && r->opts->columns)
        rc = apply_user_types(r);
    for (size_t i = 0; rc == 0 && i < r->count; i++)
        r->typed |= r->columns[i].read_type != NULL;
    return rc;
}

/* ---- the relation -------------------------------------------------------- */

/* What a value of a DuckDB type is, for the message about one that is not. */
static const char *type_noun(const char *t)
{
    if (strncmp(t, "TIMESTAMP", 9) == 0 || strcmp(t, "DATE") == 0)
        return strcmp(t, "DATE") == 0 ? "a date" : "a timestamp";
    if (strstr(t, "INT"))
        return "an integer";
    if (strcmp(t, "DOUBLE") == 0 || strcmp(t, "FLOAT") == 0 || strncmp(t, "DECIMAL", 7) == 0)
        return "a number";
    if (strcmp(t, "BOOLEAN") == 0)
        return "true or false";
    return NULL;
}

/* The text of a SQL string literal, for a message built inside SQL. */
static int message_lit(tst_sql *t, const char *fmt, const char *a, const char *b)
{
    char text[512];
    snprintf(text, sizeof text, fmt, a, b);
    return SQL_LIT(t, text);
}

/* c, or TRY_STRPTIME(c, '<format>') for dates and times in the sniffer's format. */
static int parsed_sql(tst_sql *t, const csv_column *c)
{
    int rc = c->format ? SQL_F(t, "TRY_STRPTIME(") : 0;
    if (rc == 0)
        rc = SQL_IDENT(t, c->name);
    if (rc == 0 && c->format) {
        rc = SQL_F(t, ", ");
        if (rc == 0)
            rc = SQL_LIT(t, c->format);
        if (rc == 0)
            rc = SQL_F(t, ")");
    }
    return rc;
}

/*
 * CASE WHEN c IS NULL OR <c parses as T> THEN CAST(c AS T)
 *      ELSE error('<mark>line ' || (__tst_line + h) || ', column ''c'': ''' || c || ''' is not T')
 * Integers must also be written as integers: DuckDB casts '1.5' to 2.
 */
static int checked_cast_sql(tst_sql *t, const csv_column *c, bool header)
{
    const char *type = c->read_type;
    const char *noun = type_noun(type);
    char noun_buf[96];
    if (!noun) {
        snprintf(noun_buf, sizeof noun_buf, "a %s value", type);
        noun = noun_buf;
    }
    if (strcmp(type, "VARCHAR") == 0) /* text is always text */
        return SQL_IDENT(t, c->name);
    int rc = SQL_F(t, "CASE WHEN ");
    if (rc == 0)
        rc = SQL_IDENT(t, c->name);
    if (rc == 0)
        rc = SQL_F(t, " IS NULL OR (TRY_CAST(");
    if (rc == 0)
        rc = parsed_sql(t, c);
    if (rc == 0)
        rc = SQL_F(t, " AS %s) IS NOT NULL", type);
    if (rc == 0 && strstr(type, "INT") && !strstr(type, "INTERVAL")) {
        rc = SQL_F(t, " AND regexp_full_match(");
        if (rc == 0)
            rc = SQL_IDENT(t, c->name);
        if (rc == 0)
            rc = SQL_F(t, ", '\\s*[+-]?[0-9]+\\s*')");
    }
    if (rc == 0)
        rc = SQL_F(t, ") THEN CAST(");
    if (rc == 0)
        rc = parsed_sql(t, c);
    if (rc == 0)
        rc = SQL_F(t, " AS %s) ELSE error(concat(", type);
    if (rc == 0) /* the mark in two pieces: only the raised error has it whole */
        rc = SQL_F(t, "'%.8s', '%s', 'line '", BAD_VALUE_MARK, &BAD_VALUE_MARK[8]);
    if (rc == 0)
        rc = SQL_F(t, ", __tst_line + %d, ", header ? 1 : 0);
    if (rc == 0)
        rc = message_lit(t, ", column '%s': '", c->name, "");
    if (rc == 0)
        rc = SQL_F(t, ", left(");
    if (rc == 0)
        rc = SQL_IDENT(t, c->name);
    if (rc == 0)
        rc = SQL_F(t, ", 80), ");
    if (rc == 0)
        rc = message_lit(t, "' is not %s", noun, "");
    if (rc == 0)
        rc = SQL_F(t, ")) END AS ");
    if (rc == 0)
        rc = SQL_IDENT(t, c->name);
    return rc;
}

/* Dates and times the sniffer read with a format (e.g. "%d/%m/%Y") keep it
 * when the column is cast to a date or timestamp type. */
static const char *sniffed_format(const csv_reader *r, const csv_column *c)
{
    bool to_time = c->read_type && (strncmp(c->read_type, "TIMESTAMP", 9) == 0 ||
                                    strcmp(c->read_type, "DATE") == 0);
    if (!to_time)
        return NULL;
    if (strcmp(c->sniffed, "DATE") == 0)
        return r->date_format;
    if (strncmp(c->sniffed, "TIMESTAMP", 9) == 0)
        return r->timestamp_format;
    return NULL;
}

/* "(SELECT <checked casts> FROM read_csv(..., all_varchar=true) WITH ORDINALITY
 *  AS __tst_csv(<columns>, __tst_line))" */
static int typed_relation(const csv_reader *r, tst_source *src)
{
    tst_sql t = {0};
    int rc = SQL_F(&t, "(SELECT ");
    for (size_t i = 0; rc == 0 && i < r->count; i++) {
        /* A column nobody typed keeps DuckDB's guess, as an untyped read would. */
        csv_column c = r->columns[i];
        if (!c.read_type && strcmp(c.sniffed, "VARCHAR") != 0)
            c.read_type = c.sniffed;
        c.format = sniffed_format(r, &c);
        rc = SQL_F(&t, "%s", i ? ", " : "");
        if (rc == 0)
            rc = c.read_type ? checked_cast_sql(&t, &c, r->header) : SQL_IDENT(&t, c.name);
    }
    if (rc == 0)
        rc = SQL_F(&t, " FROM ");
    if (rc == 0)
        rc = read_csv_sql(&t, r, r->header, ", all_varchar=true");
    /* Named columns, so a CSV column called "ordinality" is not ambiguous. */
    if (rc == 0)
        rc = SQL_F(&t, " WITH ORDINALITY AS __tst_csv(");
    for (size_t i = 0; rc == 0 && i < r->count; i++) {
        rc = SQL_IDENT(&t, r->columns[i].name);
        if (rc == 0)
            rc = SQL_F(&t, ", ");
    }
    if (rc == 0)
        rc = SQL_F(&t, "__tst_line))");
    if (rc == 0)
        src->relation_sql = t.s;
    else
        free(t.s);
    return rc;
}

/* "read_csv(...)" as DuckDB reads it by itself (nothing typed), or with the
 * caller's full `columns` for a file without a header. */
static int plain_relation(const csv_reader *r, tst_source *src)
{
    tst_sql t = {0};
    const char *tail = ", auto_detect=true";
    char *columns = NULL;
    if (r->opts->columns) {
        size_t n = strlen(r->opts->columns) + 16;
        columns = malloc(n);
        if (!columns)
            return nomem();
        snprintf(columns, n, ", columns=%s", r->opts->columns);
        tail = columns;
    }
    int rc = read_csv_sql(&t, r, r->opts->header, tail);
    free(columns);
    if (rc == 0)
        src->relation_sql = t.s;
    else
        free(t.s);
    return rc;
}

/* ---- the columns as the append sees them ------------------------------------ */

static int take_column(tst_source_column *out, const char *name, const char *type_name,
                       const tst_field *table)
{
    tst_field field = {.nullable = true}; /* a CSV cell can always be empty */
    tst_wire_kind wire = TST_WIRE_EXACT;
    int rc = (field.name = strdup(name)) ? 0 : nomem();
    if (rc == 0 && table) { /* read with the table's (leaf) type: it is that type exactly */
        field.type = table->type;
        field.type.timezone = NULL;
        if (table->type.timezone && !(field.type.timezone = strdup(table->type.timezone)))
            rc = nomem();
    } else if (rc == 0)
        rc = tst_source_duck_type(type_name, &field.type, &wire);
    if (rc != 0) {
        tst_source_field_clear(&field);
        return rc;
    }
    return tst_source_column_take(out, &field, wire);
}

static int describe(const csv_reader *r, tst_source *src)
{
    char *sql = NULL;
    size_t len = 0, cap = 0;
    duckdb_result res;
    int rc = tst_duck_appendf(&sql, &len, &cap, "DESCRIBE SELECT * FROM %s", src->relation_sql);
    if (rc == 0 && (rc = tst_duck_query(r->con, sql, &res, "describing")) == TST_ESQL) {
        char why[512];
        first_line(tst_error_last()->message, why, sizeof why);
        rc = fail_at(TST_EINVAL, r->path, "cannot be read with the given column types (%s)",
                     why);
    }
    free(sql);
    if (rc != 0)
        return rc;
    idx_t rows = duckdb_row_count(&res);
    src->columns = calloc(rows ? rows : 1, sizeof *src->columns);
    rc = src->columns ? 0 : nomem();
    for (idx_t i = 0; rc == 0 && i < rows; i++) {
        char *name = NULL, *type = NULL;
        rc = cell_text(&res, 0, i, &name);
        if (rc == 0)
            rc = cell_text(&res, 1, i, &type);
        const csv_column *c = rc == 0 && name && r->typed ? find_column(r, name) : NULL;
        if (rc == 0 && (!name || !type))
            rc = tst_fail(TST_ESQL, "DuckDB described a CSV column without a name or type");
        if (rc == 0)
            rc = take_column(&src->columns[i], name, type, c ? c->table : NULL);
        if (rc == 0)
            src->column_count = i + 1;
        free(name);
        free(type);
    }
    duckdb_destroy_result(&res);
    return rc;
}

int tst_source_csv(tst_source *out, const char *path, const tst_csv_options *opts,
                   const tst_table_meta *meta)
{
    static const tst_csv_options defaults = TST_CSV_OPTIONS_INIT;
    memset(out, 0, sizeof *out);
    out->row_count = UINT64_MAX;
    csv_reader r = {path, NULL, opts ? opts : &defaults, meta, NULL, NULL, 0, false, false};
    /* Without a header, the caller's `columns` name every column (DuckDB's meaning). */
    bool named_by_caller = r.opts->header == 0 && r.opts->columns;
    int rc = check_file(path);
    if (rc == 0 && !(out->path = strdup(path)))
        rc = nomem();
    if (rc == 0)
        rc = tst_source_literal_path(path, &r.literal);
    if (rc == 0)
        rc = tst_duck_connect(&r.con);
    if (rc == 0)
        rc = sniff(&r);
    if (rc == 0)
        rc = check_rows(&r);
    if (rc == 0 && !named_by_caller)
        rc = check_names(&r);
    if (rc == 0 && !named_by_caller)
        rc = choose_types(&r);
    if (rc == 0)
        rc = r.typed ? typed_relation(&r, out) : plain_relation(&r, out);
    if (rc == 0)
        rc = describe(&r, out);
    reader_clear(&r);
    if (rc != 0)
        tst_source_clear(out);
    return rc;
}

int tst_source_csv_explain(const tst_source *src, int rc)
{
    if (rc == 0 || !src || src->is_parquet || !src->path)
        return rc;
    const char *mark = strstr(tst_error_last()->message, BAD_VALUE_MARK);
    if (!mark)
        return rc;
    char detail[768];
    const char *text = mark + strlen(BAD_VALUE_MARK);
    size_t n = strcspn(text, "\n");
    snprintf(detail, sizeof detail, "%.*s", (int)(n < sizeof detail ? n : sizeof detail - 1),
             text);
    char path[4096];
    snprintf(path, sizeof path, "%s", src->path);
    tst_fail(TST_ESCHEMA, "CSV source %s, %s; correct or remove that line (or give the column "
             "another type); nothing was written", path, detail);
    tst_fail_set_path(path);
    return TST_ESCHEMA;
}
