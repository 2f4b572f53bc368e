/*
 * export.c — a statement's whole result written to a file
 * (tst_session_export), streaming, whatever its size.
 *
 * Three routes, chosen from the prepared statement:
 *
 *   COPY      SELECT-like statements in csv, json, jsonl and parquet:
 *             COPY (stmt) TO '<path>.tmp-<pid>-<n>' (FORMAT ...), fsync,
 *             rename. In the text formats, timestamp columns are rewritten
 *             to RFC 3339 text first (SELECT * REPLACE (...) FROM (stmt)),
 *             so exports read like the preview, coverage, gaps, info and
 *             log: 2024-06-01T00:00:00Z, fractional digits (3, 6 or 9)
 *             only when present, and no Z for zone-less TIMESTAMP.
 *             DESCRIBE, SHOW and SUMMARIZE, which COPY (...) cannot parse,
 *             are nested as FROM (stmt) (pick_route).
 *   Arrow     "arrow" (the IPC file format, Feather v2) and "arrows" (the
 *             IPC stream) read the statement's Arrow stream
 *             (tst_session_query) into arrow_ipc.c's writer.
 *   rows      statements nothing can nest (EXPLAIN, PRAGMA, ...) in csv,
 *             json and jsonl: written here from the text rows
 *             (tst_session_query_rows); Parquet for them is refused.
 *
 * The user's statement is prepared alone first, so an error in it shows
 * the SQL the user wrote, never the COPY wrapped around it. The folder of
 * the output is checked up front so a missing one is named as such rather
 * than through the temp file's name.
 */
#include "session_internal.h"

#include "arrow_ipc.h"

#include "fail.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

/* ---- formats -------------------------------------------------------------- */

typedef enum export_kind { EX_CSV, EX_JSON, EX_JSONL, EX_PARQUET, EX_ARROW, EX_ARROWS } export_kind;

static const struct {
    const char *name, *copy;
} FORMATS[] = {
    [EX_CSV] = {"csv", "FORMAT csv, HEADER true"},
    [EX_JSON] = {"json", "FORMAT json, ARRAY true"},
    [EX_JSONL] = {"jsonl", "FORMAT json"},
    [EX_PARQUET] = {"parquet", "FORMAT parquet"},
    [EX_ARROW] = {"arrow", NULL},
    [EX_ARROWS] = {"arrows", NULL},
};

static bool find_format(const char *name, export_kind *out)
{
    for (size_t i = 0; name && i < sizeof FORMATS / sizeof FORMATS[0]; i++)
        if (strcmp(FORMATS[i].name, name) == 0) {
            *out = (export_kind)i;
            return true;
        }
    return false;
}

/* ---- files ---------------------------------------------------------------- */

/* The output's folder must exist: say so by its name, not the temp file's. */
static int check_folder(const char *path)
{
    const char *slash = strrchr(path, '/');
    if (!slash || slash == path)
        return 0;
    char *dir = strndup(path, (size_t)(slash - path));
    if (!dir)
        return tst_fail(TST_ENOMEM, "out of memory");
    struct stat st;
    int rc = 0;
    if (stat(dir, &st) != 0 && errno == ENOENT)
        rc = tst_fail(TST_ENOTFOUND, "export: the folder %s does not exist (for %s); create it "
                      "first", dir, path);
    else if (stat(dir, &st) != 0)
        rc = tst_fail_errno(TST_EIO, errno, "export: cannot use the folder %s (for %s)", dir, path);
    else if (!S_ISDIR(st.st_mode))
        rc = tst_fail(TST_EINVAL, "export: %s is not a folder (in %s)", dir, path);
    if (rc != 0)
        tst_fail_set_path(dir);
    free(dir);
    return rc;
}

static int sync_file(const char *path)
{
    int fd = open(path, O_RDONLY);
    if (fd < 0)
        return tst_fail_errno(TST_EIO, errno, "export: cannot reopen %s", path);
    int rc = fsync(fd) == 0 ? 0 : tst_fail_errno(TST_EIO, errno, "export: fsync of %s", path);
    close(fd);
    return rc;
}

typedef struct export_file {
    FILE *fp;
    const char *path;
} export_file;

static int open_file(export_file *f, const char *tmp)
{
    f->path = tmp;
    f->fp = fopen(tmp, "wbx");
    return f->fp ? 0 : tst_fail_errno(TST_EIO, errno, "export: cannot create %s", tmp);
}

static int file_sink(void *ctx, const void *bytes, size_t len)
{
    export_file *f = ctx;
    if (fwrite(bytes, 1, len, f->fp) != len)
        return tst_fail_errno(TST_EIO, errno, "export: cannot write %s", f->path);
    return 0;
}

/* Flushes and fsyncs the file, and closes it whatever happened. */
static int close_file(export_file *f, int rc)
{
    if (rc == 0 && (fflush(f->fp) != 0 || ferror(f->fp)))
        rc = tst_fail_errno(TST_EIO, errno, "export: cannot write %s", f->path);
    if (rc == 0 && fsync(fileno(f->fp)) != 0)
        rc = tst_fail_errno(TST_EIO, errno, "export: fsync of %s", f->path);
    if (fclose(f->fp) != 0 && rc == 0)
        rc = tst_fail_errno(TST_EIO, errno, "export: cannot write %s", f->path);
    return rc;
}

/* ---- the COPY route -------------------------------------------------------- */

/* The statement without trailing blanks and semicolons, to nest in (...). */
static char *statement_body(const char *sql)
{
    size_t n = strlen(sql);
    while (n && (sql[n - 1] == ';' || isspace((unsigned char)sql[n - 1])))
        n--;
    return strndup(sql, n);
}

/* How a statement reaches the file. */
typedef enum export_route {
    ROUTE_COPY,      /* COPY (stmt) */
    ROUTE_COPY_FROM, /* COPY (FROM (stmt)): DESCRIBE, SHOW, SUMMARIZE */
    ROUTE_ROWS       /* neither parses: EXPLAIN, PRAGMA, CALL, ... */
} export_route;

static bool starts_with_word(const char *s, const char *word)
{
    size_t n = strlen(word);
    return strncasecmp(s, word, n) == 0 && !isalnum((unsigned char)s[n]) && s[n] != '_';
}

/* From the statement's type and its first word (DuckDB's PRAGMA table_info
 * is a SELECT that COPY (...) cannot parse either). */
static export_route pick_route(const char *body, duckdb_statement_type type)
{
    if (type != DUCKDB_STATEMENT_TYPE_SELECT)
        return ROUTE_ROWS;
    for (;;) { /* blanks and comments before the first word */
        while (isspace((unsigned char)*body))
            body++;
        if (body[0] == '-' && body[1] == '-')
            body += strcspn(body, "\n");
        else if (body[0] == '/' && body[1] == '*' && strstr(body + 2, "*/"))
            body = strstr(body + 2, "*/") + 2;
        else
            break;
    }
    static const char *const NESTED[] = {"describe", "desc", "show", "summarize"};
    for (size_t i = 0; i < sizeof NESTED / sizeof NESTED[0]; i++)
        if (starts_with_word(body, NESTED[i]))
            return ROUTE_COPY_FROM;
    static const char *const COPYABLE[] = {"select", "with", "from", "values", "table"};
    for (size_t i = 0; i < sizeof COPYABLE / sizeof COPYABLE[0]; i++)
        if (starts_with_word(body, COPYABLE[i]))
            return ROUTE_COPY;
    return body[0] == '(' ? ROUTE_COPY : ROUTE_ROWS;
}

/* x as RFC 3339 text: fractional digits only when present, 3, 6 or 9;
 * infinities as DuckDB names them, as tst_rows_value does. */
static int rfc3339_expr(tst_sql *t, const char *x, bool zone)
{
    return SQL_F(t,
                 "CASE WHEN isinf(%s) THEN CAST(%s AS VARCHAR) ELSE "
                 "strftime(%s, '%%Y-%%m-%%dT%%H:%%M:%%S') || CASE WHEN epoch_ns(%s) %% "
                 "1000000000 = 0 THEN '' WHEN epoch_ns(%s) %% 1000000 = 0 THEN strftime(%s, "
                 "'.%%g') WHEN epoch_ns(%s) %% 1000 = 0 THEN strftime(%s, '.%%f') ELSE "
                 "strftime(%s, '.%%n') END%s END",
                 x, x, x, x, x, x, x, x, x, zone ? " || 'Z'" : "");
}

static bool is_timestamp(duckdb_type type)
{
    return type == DUCKDB_TYPE_TIMESTAMP_TZ || type == DUCKDB_TYPE_TIMESTAMP ||
           type == DUCKDB_TYPE_TIMESTAMP_S || type == DUCKDB_TYPE_TIMESTAMP_MS ||
           type == DUCKDB_TYPE_TIMESTAMP_NS;
}

/* Column c of the renamed subquery (_c<N>), as text when it is a timestamp, named `name`. */
static int project_column(tst_sql *t, idx_t c, duckdb_type type, const char *name)
{
    char x[64];
    if (type == DUCKDB_TYPE_TIMESTAMP_TZ)
        snprintf(x, sizeof x, "timezone('UTC', _tst_q._c%llu)", (unsigned long long)c);
    else
        snprintf(x, sizeof x, "_tst_q._c%llu", (unsigned long long)c);
    int rc = SQL_F(t, "%s", c ? ", " : "");
    if (rc == 0)
        rc = is_timestamp(type) ? rfc3339_expr(t, x, type == DUCKDB_TYPE_TIMESTAMP_TZ)
                                : SQL_F(t, "%s", x);
    if (rc == 0)
        rc = SQL_F(t, " AS ");
    return rc == 0 ? SQL_IDENT(t, name) : rc;
}

/*
 * With a timestamp column: SELECT <each column, timestamps as text> FROM
 * (body) AS _tst_q(_c0, _c1, ...) — columns renamed by position, so
 * results with two columns of one name work too. Else the body as it is.
 */
static int text_select(tst_sql *t, duckdb_prepared_statement ps, const char *body, bool from)
{
    idx_t n = duckdb_prepared_statement_column_count(ps);
    bool any = false;
    for (idx_t c = 0; c < n; c++)
        any |= is_timestamp(duckdb_prepared_statement_column_type(ps, c));
    if (!any)
        return from ? SQL_F(t, "FROM (%s\n)", body) : SQL_F(t, "%s\n", body);
    int rc = SQL_F(t, "SELECT ");
    for (idx_t c = 0; rc == 0 && c < n; c++) {
        const char *name = duckdb_prepared_statement_column_name(ps, c); /* ours to free */
        rc = project_column(t, c, duckdb_prepared_statement_column_type(ps, c), name ? name : "");
        duckdb_free((void *)name);
    }
    if (rc == 0)
        rc = SQL_F(t, " FROM (%s%s\n) AS _tst_q(", from ? "FROM (" : "", body);
    for (idx_t c = 0; rc == 0 && c < n; c++)
        rc = SQL_F(t, "%s_c%llu", c ? ", " : "", (unsigned long long)c);
    return rc == 0 ? SQL_F(t, from ? "))" : ")") : rc;
}

static int copy_sql(tst_sql *t, duckdb_prepared_statement ps, const char *body, export_kind kind,
                    bool from, const char *tmp)
{
    int rc = SQL_F(t, "COPY (");
    if (rc == 0)
        rc = kind == EX_PARQUET ? (from ? SQL_F(t, "FROM (%s\n)", body) : SQL_F(t, "%s\n", body))
                                : text_select(t, ps, body, from);
    if (rc == 0)
        rc = SQL_F(t, ") TO ");
    if (rc == 0)
        rc = SQL_LIT(t, tmp);
    return rc == 0 ? SQL_F(t, " (%s)", FORMATS[kind].copy) : rc;
}

static int run_copy(tst_session *s, const char *analyse, const char *copy,
                    const tst_param *params, size_t param_count, uint64_t *rows)
{
    duckdb_prepared_statement ps = NULL;
    duckdb_result res;
    int rc = tst_session_prepare(s, analyse, copy, params, param_count, &ps);
    if (rc == 0) {
        if (duckdb_execute_prepared(ps, &res) == DuckDBError)
            rc = tst_fail(TST_ESQL, "%s", duckdb_result_error(&res));
        else
            *rows = duckdb_rows_changed(&res);
        duckdb_destroy_result(&res);
    }
    duckdb_destroy_prepare(&ps);
    return rc;
}

static int export_copy(tst_session *s, duckdb_prepared_statement ps, const char *body,
                       const tst_param *params, size_t param_count, export_kind kind, bool from,
                       const char *tmp, uint64_t *rows)
{
    tst_sql copy = {0};
    int rc = copy_sql(&copy, ps, body, kind, from, tmp);
    if (rc == 0)
        rc = run_copy(s, body, copy.s, params, param_count, rows);
    if (rc == 0)
        rc = sync_file(tmp);
    free(copy.s);
    return rc;
}

/* ---- the Arrow route -------------------------------------------------------- */

static int export_arrow(tst_session *s, const char *sql, const tst_param *params,
                        size_t param_count, bool file, const char *tmp, uint64_t *rows)
{
    struct ArrowArrayStream stream;
    int rc = tst_session_query(s, sql, params, param_count, &stream);
    if (rc != 0)
        return rc;
    export_file f;
    rc = open_file(&f, tmp);
    if (rc == 0)
        rc = close_file(&f, file ? tst_arrow_ipc_write_file(&stream, file_sink, &f, rows)
                                 : tst_arrow_ipc_write_stream(&stream, file_sink, &f, rows));
    stream.release(&stream);
    return rc;
}

/* ---- the rows route (EXPLAIN, PRAGMA, ...) ----------------------------------- */

static bool is_number_type(const char *type)
{
    static const char *const NUMBERS[] = {"TINYINT",  "SMALLINT", "INTEGER",   "BIGINT",
                                          "UTINYINT", "USMALLINT", "UINTEGER", "UBIGINT",
                                          "HUGEINT",  "UHUGEINT", "FLOAT",     "DOUBLE"};
    for (size_t i = 0; i < sizeof NUMBERS / sizeof NUMBERS[0]; i++)
        if (strcmp(type, NUMBERS[i]) == 0)
            return true;
    return strncmp(type, "DECIMAL", 7) == 0;
}

static void put_json_string(FILE *fp, const char *v)
{
    fputc('"', fp);
    for (const unsigned char *p = (const unsigned char *)v; *p; p++) {
        if (*p == '"' || *p == '\\')
            fprintf(fp, "\\%c", *p);
        else if (*p == '\n')
            fputs("\\n", fp);
        else if (*p < 0x20)
            fprintf(fp, "\\u%04x", *p);
        else
            fputc(*p, fp);
    }
    fputc('"', fp);
}

static void put_json_value(FILE *fp, const char *v, const char *type)
{
    if (!v)
        fputs("null", fp);
    else if (strcmp(type, "BOOLEAN") == 0)
        fputs(v, fp);
    else if (is_number_type(type) && strcmp(v, "nan") != 0 && strcmp(v, "inf") != 0 &&
             strcmp(v, "-inf") != 0)
        fputs(v, fp);
    else
        put_json_string(fp, v);
}

/* As DuckDB's CSV writer: quoted when it holds , " CR or LF, or is empty. */
static void put_csv_value(FILE *fp, const char *v)
{
    if (!v)
        return;
    if (v[0] != '\0' && !strpbrk(v, ",\"\r\n")) {
        fputs(v, fp);
        return;
    }
    fputc('"', fp);
    for (const char *p = v; *p; p++) {
        if (*p == '"')
            fputc('"', fp);
        fputc(*p, fp);
    }
    fputc('"', fp);
}

static void put_row(FILE *fp, tst_rows *r, export_kind kind, bool header, uint64_t n)
{
    size_t cols = tst_rows_column_count(r);
    if (kind == EX_JSON)
        fputs(n ? ",\n\t" : "[\n\t", fp);
    if (kind != EX_CSV)
        fputc('{', fp);
    for (size_t c = 0; c < cols; c++) {
        const char *name = tst_rows_column_name(r, c);
        if (c)
            fputc(',', fp);
        if (kind == EX_CSV) {
            put_csv_value(fp, header ? name : tst_rows_value(r, c));
            continue;
        }
        put_json_string(fp, name);
        fputc(':', fp);
        put_json_value(fp, tst_rows_value(r, c), tst_rows_column_type(r, c));
    }
    fputs(kind == EX_JSON ? "}" : kind == EX_CSV ? "\n" : "}\n", fp);
}

static int write_rows(tst_rows *r, export_kind kind, FILE *fp, uint64_t *rows)
{
    if (kind == EX_CSV)
        put_row(fp, r, kind, true, 0);
    int more;
    while ((more = tst_rows_next(r)) > 0)
        put_row(fp, r, kind, false, (*rows)++);
    if (kind == EX_JSON)
        fputs(*rows ? "\n]\n" : "[\n]\n", fp);
    return more < 0 ? more : 0;
}

static int export_rows(tst_session *s, const char *sql, const tst_param *params,
                       size_t param_count, export_kind kind, const char *tmp, uint64_t *rows)
{
    if (kind == EX_PARQUET)
        return tst_fail(TST_EUNSUPPORTED,
                        "export: this statement's result cannot be written as parquet (only "
                        "SELECT-like statements can); use csv, json, jsonl or arrow");
    tst_rows *r = NULL;
    int rc = tst_session_query_rows(s, sql, params, param_count, &r);
    if (rc != 0)
        return rc;
    export_file f;
    rc = open_file(&f, tmp);
    if (rc == 0)
        rc = close_file(&f, write_rows(r, kind, f.fp, rows));
    tst_rows_free(r);
    return rc;
}

/* ---- the entry point ----------------------------------------------------------- */

/* Prepares the user's statement alone and picks the COPY or rows route. */
static int export_text_or_parquet(tst_session *s, const char *sql, const tst_param *params,
                                  size_t param_count, export_kind kind, const char *tmp,
                                  uint64_t *rows)
{
    char *body = statement_body(sql);
    if (!body)
        return tst_fail(TST_ENOMEM, "out of memory");
    duckdb_prepared_statement ps = NULL;
    int rc = tst_session_prepare(s, body, body, params, param_count, &ps);
    export_route route =
        rc == 0 ? pick_route(body, duckdb_prepared_statement_type(ps)) : ROUTE_ROWS;
    if (rc == 0 && route != ROUTE_ROWS)
        rc = export_copy(s, ps, body, params, param_count, kind, route == ROUTE_COPY_FROM, tmp,
                         rows);
    else if (rc == 0)
        rc = export_rows(s, body, params, param_count, kind, tmp, rows);
    duckdb_destroy_prepare(&ps);
    free(body);
    return rc;
}

int tst_session_export(tst_session *s, const char *sql, const tst_param *params,
                       size_t param_count, const char *format, const char *path,
                       uint64_t *out_rows)
{
    export_kind kind;
    if (!s || !sql || !path)
        return tst_fail(TST_EINVAL, "export needs a session, a statement and a path");
    if (!find_format(format, &kind))
        return tst_fail(TST_EINVAL,
                        "export format '%s' is not one of csv, json, jsonl, parquet, arrow, "
                        "arrows",
                        format ? format : "(null)");
    int rc = check_folder(path);
    if (rc != 0)
        return rc;
    static unsigned counter;
    char tmp[4096];
    snprintf(tmp, sizeof tmp, "%s.tmp-%ld-%u", path, (long)getpid(),
             __atomic_add_fetch(&counter, 1, __ATOMIC_RELAXED));
    uint64_t rows = 0;
    rc = kind == EX_ARROW || kind == EX_ARROWS
             ? export_arrow(s, sql, params, param_count, kind == EX_ARROW, tmp, &rows)
             : export_text_or_parquet(s, sql, params, param_count, kind, tmp, &rows);
    if (rc == 0 && rename(tmp, path) != 0)
        rc = tst_fail_errno(TST_EIO, errno, "export: cannot rename %s to %s", tmp, path);
    if (rc != 0)
        unlink(tmp);
    else if (out_rows)
        *out_rows = rows;
    return rc;
}
