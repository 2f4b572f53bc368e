/*
 * segment_select.c — the SELECT over a chosen list of segment files and the
 * Arrow stream over its result (see segment_select.h), shared by the native
 * scan and the SQL session so both present a table with the same column
 * types and stream the same way.
 *
 * Streaming: DuckDB 1.4's duckdb_query_arrow and friends are deprecated and
 * materialize the whole result, so the stream runs the statement as a
 * streaming pending result and converts one fetched chunk per get_next
 * (duckdb_data_chunk_to_arrow). Memory is bounded by a chunk.
 */
#include "segment_select.h"

#include "fail.h"
#include "fsio.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

/* ---- column types --------------------------------------------------------- */

static const char *timestamp_type(const tst_type *type)
{
    if (type->timezone)
        return "TIMESTAMPTZ"; /* DuckDB has one zoned type; it reads zoned Parquet so */
    return type->unit == TST_PRECISION_MILLIS   ? "TIMESTAMP_MS"
           : type->unit == TST_PRECISION_MICROS ? "TIMESTAMP"
                                                : "TIMESTAMP_NS";
}

static int struct_type(tst_sql *t, const tst_type *type)
{
    int rc = SQL_F(t, "STRUCT(");
    for (size_t i = 0; rc == 0 && i < type->field_count; i++) {
        rc = SQL_F(t, "%s", i ? ", " : "");
        if (rc == 0)
            rc = SQL_IDENT(t, type->fields[i].name);
        if (rc == 0)
            rc = SQL_F(t, " ");
        if (rc == 0)
            rc = tst_select_duck_type(t, &type->fields[i].type);
    }
    return rc == 0 ? SQL_F(t, ")") : rc;
}

static int map_type(tst_sql *t, const tst_type *type)
{
    int rc = SQL_F(t, "MAP(");
    if (rc == 0)
        rc = tst_select_duck_type(t, &type->key->type);
    if (rc == 0)
        rc = SQL_F(t, ", ");
    if (rc == 0)
        rc = type->value ? tst_select_duck_type(t, &type->value->type) : SQL_F(t, "INTEGER");
    return rc == 0 ? SQL_F(t, ")") : rc;
}

int tst_select_duck_type(tst_sql *t, const tst_type *type)
{
    static const char *const leaf[] = {
        [TST_TYPE_BOOL] = "BOOLEAN",  [TST_TYPE_INT32] = "INTEGER", [TST_TYPE_INT64] = "BIGINT",
        [TST_TYPE_UINT64] = "UBIGINT", [TST_TYPE_FLOAT32] = "FLOAT", [TST_TYPE_FLOAT64] = "DOUBLE",
        [TST_TYPE_BINARY] = "BLOB",   [TST_TYPE_UTF8] = "VARCHAR",
        [TST_TYPE_FIXED_BINARY] = "BLOB", [TST_TYPE_INT96] = "TIMESTAMP",
        [TST_TYPE_OTHER] = "VARCHAR",
    };
    switch (type->kind) {
    case TST_TYPE_TIMESTAMP: return SQL_F(t, "%s", timestamp_type(type));
    case TST_TYPE_DECIMAL:
        if (type->precision > 38) /* DuckDB reads wider decimals as DOUBLE */
            return SQL_F(t, "DOUBLE");
        return SQL_F(t, "DECIMAL(%u,%d)", type->precision, (int)type->scale);
    case TST_TYPE_STRUCT: return struct_type(t, type);
    case TST_TYPE_LIST: {
        int rc = tst_select_duck_type(t, &type->element->type);
        return rc == 0 ? SQL_F(t, "[]") : rc;
    }
    case TST_TYPE_MAP: return map_type(t, type);
    default:
        return SQL_F(t, "%s", (size_t)type->kind < sizeof leaf / sizeof leaf[0] &&
                                  leaf[type->kind] ? leaf[type->kind] : "VARCHAR");
    }
}

static bool nested(const tst_type *type)
{
    return type->kind == TST_TYPE_STRUCT || type->kind == TST_TYPE_LIST ||
           type->kind == TST_TYPE_MAP;
}

/* Nested columns pass as DuckDB reads them: their field names are the files'. */
int tst_select_column(tst_sql *t, const tst_field *f, bool no_files)
{
    int rc = no_files ? SQL_F(t, "CAST(NULL AS ")
             : nested(&f->type) ? SQL_IDENT(t, f->name)
                                : SQL_F(t, "CAST(");
    if (rc == 0 && !no_files && !nested(&f->type)) {
        rc = SQL_IDENT(t, f->name);
        if (rc == 0)
            rc = SQL_F(t, " AS ");
    }
    if (rc == 0 && (no_files || !nested(&f->type))) {
        rc = tst_select_duck_type(t, &f->type);
        if (rc == 0)
            rc = SQL_F(t, ")");
    }
    if (rc == 0)
        rc = SQL_F(t, " AS ");
    return rc == 0 ? SQL_IDENT(t, f->name) : rc;
}

int tst_select_from(tst_sql *t, char *const *files, size_t file_count, bool union_by_name)
{
    int rc = SQL_F(t, " FROM read_parquet([");
    for (size_t i = 0; rc == 0 && i < file_count; i++) {
        rc = SQL_F(t, "%s", i ? ", " : "");
        if (rc == 0)
            rc = SQL_LIT(t, files[i]);
    }
    return rc == 0 ? SQL_F(t, "], union_by_name = %s)", union_by_name ? "true" : "false") : rc;
}

int tst_select_file_columns(char *const *files, size_t file_count, tst_select_names *out)
{
    memset(out, 0, sizeof *out);
    tst_sql q = {0};
    duckdb_connection con = NULL;
    duckdb_prepared_statement stmt = NULL;
    int rc = SQL_F(&q, "SELECT *");
    if (rc == 0)
        rc = tst_select_from(&q, files, file_count, true);
    if (rc == 0)
        rc = tst_duck_connect(&con);
    if (rc == 0 && duckdb_prepare(con, q.s, &stmt) == DuckDBError)
        rc = tst_fail(TST_ESQL, "reading the columns of %zu segment file%s: %s", file_count,
                      file_count == 1 ? "" : "s",
                      duckdb_prepare_error(stmt) ? duckdb_prepare_error(stmt) : "prepare failed");
    idx_t n = rc == 0 ? duckdb_prepared_statement_column_count(stmt) : 0;
    if (rc == 0 && !(out->names = calloc(n ? n : 1, sizeof *out->names)))
        rc = tst_fail(TST_ENOMEM, "out of memory");
    for (idx_t i = 0; rc == 0 && i < n; i++) {
        const char *name = duckdb_prepared_statement_column_name(stmt, i);
        out->names[i] = name ? strdup(name) : NULL;
        duckdb_free((void *)name);
        if (!out->names[i])
            rc = tst_fail(TST_ENOMEM, "out of memory");
        else
            out->count = i + 1;
    }
    duckdb_destroy_prepare(&stmt);
    tst_duck_disconnect(&con);
    free(q.s);
    if (rc != 0)
        tst_select_names_clear(out);
    return rc;
}

bool tst_select_names_has(const tst_select_names *names, const char *name)
{
    for (size_t i = 0; i < names->count; i++)
        if (strcmp(names->names[i], name) == 0)
            return true;
    return false;
}

void tst_select_names_clear(tst_select_names *names)
{
    for (size_t i = 0; names->names && i < names->count; i++)
        free(names->names[i]);
    free(names->names);
    memset(names, 0, sizeof *names);
}

int tst_select_segment_file(const char *root, const tst_segment *seg, const char *what,
                            char **out)
{
    char *abs = tst_io_join(root, seg->path);
    if (!abs)
        return tst_fail(TST_ENOMEM, "out of memory listing the segments of %s", root);
    struct stat st;
    if (stat(abs, &st) == 0) {
        *out = abs;
        return 0;
    }
    int err = errno;
    int code = err == ENOENT || err == ENOTDIR ? TST_ENOTFOUND : TST_EIO;
    tst_fail_errno(code, err, "%s: data file %s of segment %s cannot be read", what, abs,
                   seg->path);
    tst_fail_set_path(abs);
    free(abs);
    return code;
}

/* ---- the Arrow stream ----------------------------------------------------- */

typedef struct result_stream {
    duckdb_connection con;       /* NULL when borrowed */
    duckdb_prepared_statement prepared;
    duckdb_result result;
    bool has_result;
    duckdb_arrow_options options;
    bool done;
    char what[32];
    char error[1024];
} result_stream;

static void stream_free(result_stream *s)
{
    if (!s)
        return;
    if (s->options)
        duckdb_destroy_arrow_options(&s->options);
    if (s->has_result)
        duckdb_destroy_result(&s->result);
    duckdb_destroy_prepare(&s->prepared);
    if (s->con)
        tst_duck_disconnect(&s->con);
    free(s);
}

static int stream_fail(result_stream *s, const char *doing, const char *detail)
{
    snprintf(s->error, sizeof s->error, "%s %s: %s", doing, s->what,
             detail ? detail : "DuckDB failed");
    return EIO;
}

static int error_data_fail(result_stream *s, const char *doing, duckdb_error_data e)
{
    int err = stream_fail(s, doing, e ? duckdb_error_data_message(e) : NULL);
    duckdb_destroy_error_data(&e);
    return err;
}

static int get_schema(struct ArrowArrayStream *stream, struct ArrowSchema *out)
{
    result_stream *s = stream->private_data;
    idx_t n = duckdb_column_count(&s->result);
    duckdb_logical_type *types = calloc(n ? n : 1, sizeof *types);
    const char **names = calloc(n ? n : 1, sizeof *names);
    int err = types && names ? 0 : stream_fail(s, "describing the", "out of memory");
    for (idx_t i = 0; err == 0 && i < n; i++) {
        types[i] = duckdb_column_logical_type(&s->result, i);
        names[i] = duckdb_column_name(&s->result, i);
    }
    if (err == 0) {
        duckdb_error_data e = duckdb_to_arrow_schema(s->options, types, names, n, out);
        if (e)
            err = error_data_fail(s, "exporting the schema of the", e);
    }
    for (idx_t i = 0; types && i < n; i++)
        duckdb_destroy_logical_type(&types[i]);
    free(types);
    free(names);
    return err;
}

/* The next non-empty chunk as an Arrow struct array; release NULL at the end. */
static int get_next(struct ArrowArrayStream *stream, struct ArrowArray *out)
{
    result_stream *s = stream->private_data;
    memset(out, 0, sizeof *out);
    while (!s->done) {
        duckdb_data_chunk chunk = duckdb_fetch_chunk(s->result);
        if (!chunk) {
            s->done = true;
            const char *msg = duckdb_result_error(&s->result);
            return msg && *msg ? stream_fail(s, "running the", msg) : 0;
        }
        if (duckdb_data_chunk_get_size(chunk) == 0) {
            duckdb_destroy_data_chunk(&chunk);
            continue;
        }
        duckdb_error_data e = duckdb_data_chunk_to_arrow(s->options, chunk, out);
        duckdb_destroy_data_chunk(&chunk);
        return e ? error_data_fail(s, "exporting a batch of the", e) : 0;
    }
    return 0;
}

static const char *get_last_error(struct ArrowArrayStream *stream)
{
    result_stream *s = stream->private_data;
    return s && s->error[0] ? s->error : NULL;
}

static void release(struct ArrowArrayStream *stream)
{
    stream_free(stream->private_data);
    memset(stream, 0, sizeof *stream); /* release = NULL: released */
}

static int stream_execute(result_stream *s)
{
    duckdb_pending_result pending = NULL;
    int rc = 0;
    if (duckdb_pending_prepared_streaming(s->prepared, &pending) == DuckDBError)
        rc = tst_fail(TST_ESQL, "%s: %s", s->what, duckdb_pending_error(pending));
    if (rc == 0) {
        s->has_result = true; /* execute_pending fills it even on error */
        if (duckdb_execute_pending(pending, &s->result) == DuckDBError)
            rc = tst_fail(TST_ESQL, "%s: %s", s->what, duckdb_result_error(&s->result));
    }
    duckdb_destroy_pending(&pending);
    if (rc == 0)
        s->options = duckdb_result_get_arrow_options(&s->result);
    return rc;
}

int tst_result_stream_open(duckdb_connection con, bool own_connection,
                           duckdb_prepared_statement prepared, const char *what,
                           struct ArrowArrayStream *out)
{
    result_stream *s = calloc(1, sizeof *s);
    if (!s) {
        duckdb_destroy_prepare(&prepared);
        if (own_connection)
            tst_duck_disconnect(&con);
        return tst_fail(TST_ENOMEM, "out of memory starting a %s", what);
    }
    s->con = own_connection ? con : NULL;
    s->prepared = prepared;
    snprintf(s->what, sizeof s->what, "%s", what);
    int rc = stream_execute(s);
    if (rc != 0) {
        stream_free(s);
        return rc;
    }
    out->get_schema = get_schema;
    out->get_next = get_next;
    out->get_last_error = get_last_error;
    out->release = release;
    out->private_data = s;
    return 0;
}
