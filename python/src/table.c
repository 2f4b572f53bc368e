/*
 * table.c — TimeSeriesTable: create, open, append, and what a table is.
 *
 * One Python object owns one tst_table handle. The handle allows one
 * writer at a time and is changed by appends (the commit moves it to the
 * new version), so every call takes the object's lock, and reads of
 * borrowed pointers (meta, segments) happen under it too. Calls that do
 * I/O release the GIL; nothing inside those sections touches a Python
 * object, which is why arguments are copied to C memory beforehand.
 *
 * Option validation for create() follows the reference's rules and
 * messages (format-v6 §6 and §7) and happens before any I/O.
 */
#include "ttf.h"

#include <stdlib.h>
#include <string.h>

void ttf_table_lock(ttf_TableObject *self)
{
    if (PyThread_acquire_lock(self->lock, NOWAIT_LOCK))
        return;
    Py_BEGIN_ALLOW_THREADS
    PyThread_acquire_lock(self->lock, WAIT_LOCK);
    Py_END_ALLOW_THREADS
}

void ttf_table_unlock(ttf_TableObject *self)
{
    PyThread_release_lock(self->lock);
}

static PyObject *wrap_handle(PyTypeObject *type, tst_table *handle)
{
    ttf_TableObject *self = (ttf_TableObject *)type->tp_alloc(type, 0);
    if (self == NULL || (self->lock = PyThread_allocate_lock()) == NULL) {
        tst_table_free(handle);
        Py_XDECREF(self);
        return self ? PyErr_NoMemory() : NULL;
    }
    self->table = handle;
    return (PyObject *)self;
}

static void table_dealloc(ttf_TableObject *self)
{
    tst_table_free(self->table);
    if (self->lock)
        PyThread_free_lock(self->lock);
    Py_TYPE(self)->tp_free((PyObject *)self);
}

/* ---- create ------------------------------------------------------------ */

typedef struct create_args {
    char *root;
    const char *index_type;
    tst_index_spec spec;
} create_args;

static void create_args_free(create_args *a)
{
    free(a->root);
    free(a->spec.column);
    for (size_t i = 0; i < a->spec.entity_count; i++)
        free(a->spec.entity_columns[i]);
    free(a->spec.entity_columns);
}

/* TimeseriesTableError('invalid <field> for index_type "<t>" (table_root=<r>): <reason>'). */
static int invalid(const create_args *a, const char *field, const char *reason)
{
    PyObject *root = PyUnicode_FromString(a->root ? a->root : "");
    PyObject *type = PyUnicode_FromString(a->index_type ? a->index_type : "");
    char msg[1024];
    snprintf(msg, sizeof msg, "invalid %s for index_type \"%s\" (table_root=%s): %s", field,
             a->index_type ? a->index_type : "", a->root ? a->root : "", reason);
    if (root && type)
        ttf_raise_with(ttf_TimeseriesTableError, msg, "table_root", root, "index_type", type,
                       NULL);
    Py_XDECREF(root);
    Py_XDECREF(type);
    return -1;
}

static int parse_entity_columns(create_args *a, PyObject *cols)
{
    if (cols == NULL || cols == Py_None)
        return 0;
    PyObject *seq = PyUnicode_Check(cols) ? NULL : PySequence_Fast(cols, "");
    if (seq == NULL) {
        PyErr_Clear();
        return invalid(a, "entity_columns", "expected a list of column names");
    }
    Py_ssize_t n = PySequence_Fast_GET_SIZE(seq);
    a->spec.entity_columns = calloc((size_t)n + 1, sizeof(char *));
    for (Py_ssize_t i = 0; a->spec.entity_columns && i < n; i++) {
        PyObject *item = PySequence_Fast_GET_ITEM(seq, i);
        const char *s = PyUnicode_Check(item) ? PyUnicode_AsUTF8(item) : NULL;
        if (s == NULL || (a->spec.entity_columns[i] = ttf_strdup(s)) == NULL) {
            Py_DECREF(seq);
            PyErr_Clear();
            return invalid(a, "entity_columns", "every entity column must be a str");
        }
        a->spec.entity_count = (size_t)i + 1;
    }
    Py_DECREF(seq);
    return a->spec.entity_columns ? 0 : (PyErr_NoMemory(), -1);
}

static int parse_time_kind(create_args *a, PyObject *bucket, PyObject *width, PyObject *tz)
{
    if (width != Py_None)
        return invalid(a, "bucket_width", "use bucket for timestamp indexes");
    if (bucket == Py_None || !PyUnicode_Check(bucket))
        return invalid(a, "bucket", bucket == Py_None ? "bucket is required for timestamp indexes"
                                                      : "expected a str such as \"1h\"");
    if (tst_time_bucket_parse(&a->spec.kind.bucket, PyUnicode_AsUTF8(bucket)) != 0)
        return invalid(a, "bucket", tst_error_last()->message);
    if (tz == Py_None)
        return 0;
    const char *zone = PyUnicode_Check(tz) ? PyUnicode_AsUTF8(tz) : NULL;
    if (zone == NULL || strlen(zone) > TST_TIMEZONE_MAX) {
        PyErr_Clear();
        return invalid(a, "timezone", "expected a str of at most 255 bytes");
    }
    strcpy(a->spec.kind.timezone, zone);
    return 0;
}

static int parse_int_kind(create_args *a, PyObject *bucket, PyObject *width, PyObject *tz)
{
    if (bucket != Py_None)
        return invalid(a, "bucket", "is only valid for timestamp indexes");
    if (tz != Py_None)
        return invalid(a, "timezone", "is only valid for timestamp indexes");
    if (width == Py_None)
        return invalid(a, "bucket_width", "bucket_width is required for integer indexes");
    unsigned long long w = 0;
    if (PyLong_Check(width) && !PyBool_Check(width)) {
        w = PyLong_AsUnsignedLongLong(width);
        if (PyErr_Occurred()) {
            PyErr_Clear();
            w = 0;
        }
    }
    if (w == 0)
        return invalid(a, "bucket_width", "must be an int in 1..=18446744073709551615");
    a->spec.kind.bucket_width = w;
    return 0;
}

/*
 * index_type may be omitted (finding 16: the reference's quickstart call
 * has none): bucket means a timestamp index, bucket_width alone an int64
 * one (pass index_type="uint64" for unsigned indexes). Returns the name
 * to use, or NULL with TypeError when neither option says.
 */
static const char *infer_index_type(PyObject *type, PyObject *bucket, PyObject *width)
{
    if (type != Py_None) {
        const char *name = PyUnicode_Check(type) ? PyUnicode_AsUTF8(type) : NULL;
        PyErr_Clear(); /* not a str, or not encodable: parse_kind names the valid choices */
        return name ? name : "";
    }
    if (bucket != Py_None)
        return "timestamp";
    if (width != Py_None)
        return "int64";
    PyErr_SetString(PyExc_TypeError,
                    "create() needs bucket= for a timestamp index (e.g. bucket=\"1h\") or "
                    "bucket_width= for an integer index (index_type=\"int64\" by default, or "
                    "\"uint64\")");
    return NULL;
}

static int parse_kind(create_args *a, PyObject *type, PyObject *bucket, PyObject *width,
                      PyObject *tz)
{
    a->index_type = infer_index_type(type, bucket, width);
    if (a->index_type == NULL)
        return -1;
    if (strcmp(a->index_type, "timestamp") == 0) {
        a->spec.kind.type = TST_INDEX_TIMESTAMP;
        return parse_time_kind(a, bucket, width, tz);
    }
    if (strcmp(a->index_type, "int64") == 0 || strcmp(a->index_type, "uint64") == 0) {
        a->spec.kind.type = a->index_type[0] == 'i' ? TST_INDEX_INT64 : TST_INDEX_UINT64;
        return parse_int_kind(a, bucket, width, tz);
    }
    PyErr_Clear();
    return invalid(a, "index_type", "expected \"timestamp\", \"int64\" or \"uint64\"");
}

static int parse_column(create_args *a, PyObject *index_column, PyObject *time_column)
{
    if (index_column != Py_None && time_column != Py_None &&
        PyObject_RichCompareBool(index_column, time_column, Py_NE) == 1) {
        PyErr_SetString(PyExc_TypeError, "give index_column or its alias time_column, not both");
        return -1;
    }
    PyObject *col = index_column != Py_None ? index_column : time_column;
    if (col == Py_None) {
        PyErr_SetString(PyExc_TypeError, "create() missing required keyword argument: "
                        "'index_column'");
        return -1;
    }
    const char *s = PyUnicode_Check(col) ? PyUnicode_AsUTF8(col) : NULL;
    if (s == NULL) {
        PyErr_Clear();
        return invalid(a, "index_column", "expected a str");
    }
    return (a->spec.column = ttf_strdup(s)) ? 0 : -1;
}

/* protocol=None or 7: protocol 7 (the default); 6: format_version 6. */
static int parse_protocol(create_args *a, PyObject *protocol)
{
    a->spec.kind.protocol = TST_PROTOCOL_VERSION;
    if (protocol == Py_None)
        return 0;
    long v = PyLong_Check(protocol) && !PyBool_Check(protocol) ? PyLong_AsLong(protocol) : -1;
    PyErr_Clear();
    if (v == TST_FORMAT_VERSION || v == TST_PROTOCOL_VERSION) {
        a->spec.kind.protocol = (uint32_t)v;
        return 0;
    }
    PyObject *repr = PyObject_Repr(protocol);
    PyErr_Format(PyExc_ValueError, "invalid protocol %S for create(): expected 7 "
                 "(protocol 7, the default) or 6 (format_version 6, for reference 0.4 readers)",
                 repr ? repr : Py_None);
    Py_XDECREF(repr);
    return -1;
}

static PyObject *table_create(PyTypeObject *type, PyObject *args, PyObject *kwargs)
{
    static char *kw[] = {"table_root", "index_column", "index_type", "entity_columns", "bucket",
                         "bucket_width", "timezone", "time_column", "protocol", NULL};
    PyObject *root = NULL, *index_type = Py_None, *column = Py_None, *entities = Py_None,
             *bucket = Py_None, *width = Py_None, *tz = Py_None, *time_column = Py_None,
             *protocol = Py_None;
    if (!PyArg_ParseTupleAndKeywords(args, kwargs, "|$OOOOOOOOO:create", kw, &root, &column,
                                     &index_type, &entities, &bucket, &width, &tz, &time_column,
                                     &protocol))
        return NULL;
    if (root == NULL)
        return PyErr_Format(PyExc_TypeError, "create() missing required keyword argument: "
                            "'table_root'");
    create_args a;
    memset(&a, 0, sizeof a);
    if (ttf_path_arg(root, &a.root) < 0 || parse_column(&a, column, time_column) < 0 ||
        parse_kind(&a, index_type, bucket, width, tz) < 0 || parse_entity_columns(&a, entities) < 0 ||
        parse_protocol(&a, protocol) < 0) {
        create_args_free(&a);
        return NULL;
    }
    tst_table *handle = NULL;
    int rc;
    Py_BEGIN_ALLOW_THREADS
    rc = tst_table_create(&handle, a.root, &a.spec);
    Py_END_ALLOW_THREADS
    PyObject *result = rc == 0 ? wrap_handle(type, handle) : ttf_raise_last(a.root, NULL);
    create_args_free(&a);
    return result;
}

static PyObject *table_open(PyTypeObject *type, PyObject *arg)
{
    char *root = NULL;
    if (ttf_path_arg(arg, &root) < 0)
        return NULL;
    tst_table *handle = NULL;
    int rc;
    Py_BEGIN_ALLOW_THREADS
    rc = tst_table_open(&handle, root);
    Py_END_ALLOW_THREADS
    PyObject *result = rc == 0 ? wrap_handle(type, handle) : ttf_raise_last(root, NULL);
    free(root);
    return result;
}

/* Time travel: _open_at(table_root, version), _open_as_of(table_root, sec, nsec).
 * The package's open() checks the arguments and turns datetimes into seconds. */
static PyObject *table_open_pinned(PyTypeObject *type, PyObject *args, bool by_time)
{
    PyObject *root_obj;
    unsigned long long version = 0;
    long long sec = 0;
    unsigned int nsec = 0;
    if (by_time ? !PyArg_ParseTuple(args, "OLI:_open_as_of", &root_obj, &sec, &nsec)
                : !PyArg_ParseTuple(args, "OK:_open_at", &root_obj, &version))
        return NULL;
    char *root = NULL;
    if (ttf_path_arg(root_obj, &root) < 0)
        return NULL;
    tst_table *handle = NULL;
    tst_timestamp at = {(int64_t)sec, (uint32_t)nsec};
    int rc;
    Py_BEGIN_ALLOW_THREADS
    rc = by_time ? tst_table_open_as_of(&handle, root, at)
                 : tst_table_open_at(&handle, root, (uint64_t)version);
    Py_END_ALLOW_THREADS
    PyObject *result = rc == 0 ? wrap_handle(type, handle) : ttf_raise_last(root, NULL);
    free(root);
    return result;
}

static PyObject *table_open_at(PyTypeObject *type, PyObject *args)
{
    return table_open_pinned(type, args, false);
}

static PyObject *table_open_as_of(PyTypeObject *type, PyObject *args)
{
    return table_open_pinned(type, args, true);
}

static PyObject *table_is_pinned(ttf_TableObject *self, PyObject *unused)
{
    (void)unused;
    return PyBool_FromLong(tst_table_is_pinned(self->table));
}

/* ---- appends ----------------------------------------------------------- */

enum append_kind { APPEND_PARQUET, APPEND_CSV, APPEND_ARROW };

typedef struct append_call {
    enum append_kind kind;
    char *path;
    tst_csv_options csv;
    struct ArrowArrayStream stream;
    tst_append_options opts;
} append_call;

#define APPEND_CALL(k) {.kind = (k), .opts = TST_APPEND_OPTIONS_INIT}

/* What an append did, as the dict AppendReport is built from. */
static PyObject *append_report(uint64_t start, const tst_append_result *res,
                               const tst_append_options *opts)
{
    PyObject *d = Py_BuildValue("{s:K,s:K,s:s,s:K,s:K,s:O,s:I,s:s}", "starting_version",
                         (unsigned long long)start, "committed_version",
                         (unsigned long long)res->version, "segment_path", res->segment_path,
                         "row_count", (unsigned long long)res->rows, "file_size_bytes",
                         (unsigned long long)res->bytes, "copied", res->copied ? Py_True : Py_False,
                         "attempts", res->attempts, "compression",
                         tst_compression_name(opts->compression));
    /* on_overlap: what was skipped or replaced (zeros for reject) */
    PyObject *more = d ? Py_BuildValue("{s:s,s:K,s:K,s:O,s:K,s:K,s:K,s:K,s:O}", "on_overlap",
                         tst_overlap_mode_name(opts->on_overlap), "rows_skipped",
                         (unsigned long long)res->rows_skipped, "buckets_skipped",
                         (unsigned long long)res->buckets_skipped, "no_op",
                         res->no_op ? Py_True : Py_False, "rows_replaced",
                         (unsigned long long)res->rows_replaced, "buckets_replaced",
                         (unsigned long long)res->buckets_replaced, "segments_removed",
                         (unsigned long long)res->segments_removed, "segments_rewritten",
                         (unsigned long long)res->segments_rewritten, "moved",
                         res->moved ? Py_True : Py_False) : NULL;
    if (more == NULL || PyDict_Update(d, more) < 0)
        Py_CLEAR(d);
    Py_XDECREF(more);
    return d;
}

/* Runs one append under the lock with the GIL released; returns its report. */
static PyObject *run_append(ttf_TableObject *self, append_call *call)
{
    tst_append_result res;
    int rc;
    ttf_table_lock(self);
    uint64_t start = tst_table_version(self->table);
    const tst_append_options *opts = &call->opts;
    Py_BEGIN_ALLOW_THREADS
    if (call->kind == APPEND_PARQUET)
        rc = tst_table_append_parquet(self->table, call->path, opts, &res);
    else if (call->kind == APPEND_CSV)
        rc = tst_table_append_csv(self->table, call->path, &call->csv, opts, &res);
    else
        rc = tst_table_append_arrow(self->table, &call->stream, opts, &res);
    Py_END_ALLOW_THREADS
    PyObject *out = rc == 0 ? append_report(start, &res, opts)
                            : ttf_raise_last(tst_table_root(self->table), self->table);
    ttf_table_unlock(self);
    return out;
}

/* on_overlap="reject" | "skip" | "replace" (None: reject), allow_boundary_overlap. */
static int overlap_option(tst_append_options *opts, PyObject *mode, int boundary)
{
    opts->allow_boundary_overlap = boundary != 0;
    if (mode == Py_None)
        return 0;
    const char *name = PyUnicode_Check(mode) ? PyUnicode_AsUTF8(mode) : NULL;
    if (name != NULL && tst_overlap_mode_parse(name, &opts->on_overlap) == 0)
        return 0;
    PyErr_Clear();
    PyErr_Format(PyExc_ValueError, "on_overlap must be \"reject\", \"skip\" or \"replace\", "
                 "not %R", mode);
    return -1;
}

static PyObject *table_append_parquet(ttf_TableObject *self, PyObject *args, PyObject *kwargs)
{
    static char *kw[] = {"path", "on_overlap", "allow_boundary_overlap", "move", NULL};
    PyObject *path, *mode = Py_None;
    int boundary = 0, move = 0;
    if (!PyArg_ParseTupleAndKeywords(args, kwargs, "O|$Opp:append_parquet", kw, &path, &mode,
                                     &boundary, &move))
        return NULL;
    append_call call = APPEND_CALL(APPEND_PARQUET);
    call.opts.move = move != 0;
    if (overlap_option(&call.opts, mode, boundary) < 0 || ttf_path_arg(path, &call.path) < 0)
        return NULL;
    PyObject *out = run_append(self, &call);
    free(call.path);
    return out;
}

/* {'ts': 'TIMESTAMPTZ'} as DuckDB's struct literal, quotes doubled. */
static char *csv_columns_sql(PyObject *columns)
{
    if (PyUnicode_Check(columns))
        return ttf_strdup(PyUnicode_AsUTF8(columns));
    PyObject *parts = PyList_New(0), *key, *value;
    Py_ssize_t pos = 0;
    while (parts && PyDict_Next(columns, &pos, &key, &value)) {
        PyObject *k = PyObject_CallMethod(key, "replace", "ss", "'", "''");
        PyObject *v = k ? PyObject_CallMethod(value, "replace", "ss", "'", "''") : NULL;
        PyObject *item = v ? PyUnicode_FromFormat("'%U': '%U'", k, v) : NULL;
        if (item == NULL || PyList_Append(parts, item) < 0)
            Py_CLEAR(parts);
        Py_XDECREF(k);
        Py_XDECREF(v);
        Py_XDECREF(item);
    }
    PyObject *sep = parts ? PyUnicode_FromString(", ") : NULL;
    PyObject *joined = sep ? PyUnicode_Join(sep, parts) : NULL;
    char *sql = NULL;
    if (joined != NULL) {
        PyObject *full = PyUnicode_FromFormat("{%U}", joined);
        sql = full ? ttf_strdup(PyUnicode_AsUTF8(full)) : NULL;
        Py_XDECREF(full);
    }
    Py_XDECREF(parts);
    Py_XDECREF(sep);
    Py_XDECREF(joined);
    return sql;
}

static int csv_options(append_call *call, PyObject *delimiter, PyObject *header, PyObject *columns,
                       char **columns_sql)
{
    call->csv = (tst_csv_options)TST_CSV_OPTIONS_INIT;
    if (delimiter != Py_None) {
        const char *d = PyUnicode_Check(delimiter) ? PyUnicode_AsUTF8(delimiter) : NULL;
        if (d == NULL || strlen(d) != 1) {
            PyErr_SetString(PyExc_ValueError, "delimiter must be a one-character str");
            return -1;
        }
        call->csv.delimiter = d[0];
    }
    if (header != Py_None)
        call->csv.header = PyObject_IsTrue(header);
    if (columns == Py_None)
        return 0;
    if (!PyUnicode_Check(columns) && !PyDict_Check(columns)) {
        PyErr_SetString(PyExc_TypeError, "columns must be a dict of column name to DuckDB type, "
                        "or a DuckDB struct literal str");
        return -1;
    }
    *columns_sql = csv_columns_sql(columns);
    call->csv.columns = *columns_sql;
    return *columns_sql ? 0 : -1;
}

static PyObject *table_append_csv(ttf_TableObject *self, PyObject *args, PyObject *kwargs)
{
    static char *kw[] = {"path", "delimiter", "header", "columns", "on_overlap",
                         "allow_boundary_overlap", NULL};
    PyObject *path, *delimiter = Py_None, *header = Py_None, *columns = Py_None, *mode = Py_None;
    int boundary = 0;
    if (!PyArg_ParseTupleAndKeywords(args, kwargs, "O|$OOOOp:append_csv", kw, &path, &delimiter,
                                     &header, &columns, &mode, &boundary))
        return NULL;
    append_call call = APPEND_CALL(APPEND_CSV);
    char *columns_sql = NULL;
    PyObject *out = NULL;
    if (overlap_option(&call.opts, mode, boundary) == 0 &&
        csv_options(&call, delimiter, header, columns, &columns_sql) == 0 &&
        ttf_path_arg(path, &call.path) == 0)
        out = run_append(self, &call);
    free(call.path);
    free(columns_sql);
    return out;
}

/* A positive int option (None: the default, 0). */
static int positive_option(PyObject *obj, const char *name, uint64_t *out)
{
    if (obj == Py_None)
        return 0;
    unsigned long long v = PyLong_Check(obj) && !PyBool_Check(obj)
                               ? PyLong_AsUnsignedLongLong(obj) : 0;
    if (v == 0 || PyErr_Occurred()) {
        PyErr_Clear();
        PyErr_Format(PyExc_ValueError, "%s must be positive (an int, or None), not %R", name, obj);
        return -1;
    }
    *out = v;
    return 0;
}

/* The writer settings of an append that re-encodes (the package turns a
 * byte limit into rows before it calls). */
static int layout_options(tst_append_options *opts, PyObject *compression, PyObject *rows)
{
    if (compression != Py_None) {
        const char *name = PyUnicode_Check(compression) ? PyUnicode_AsUTF8(compression) : NULL;
        if (name == NULL || tst_compression_parse(name, &opts->compression) != 0) {
            PyErr_Clear();
            PyErr_Format(PyExc_ValueError, "compression must be \"uncompressed\", \"snappy\", "
                         "\"zstd\" or None, not %R", compression);
            return -1;
        }
    }
    return positive_option(rows, "max_rows_per_row_group", &opts->row_group_rows);
}

static PyObject *table_append(ttf_TableObject *self, PyObject *args, PyObject *kwargs)
{
    static char *kw[] = {"source", "compression", "max_rows_per_row_group", "on_overlap",
                         "allow_boundary_overlap", NULL};
    PyObject *source, *compression = Py_None, *rows = Py_None, *mode = Py_None;
    int boundary = 0;
    if (!PyArg_ParseTupleAndKeywords(args, kwargs, "O|$OOOp:append", kw, &source, &compression,
                                     &rows, &mode, &boundary))
        return NULL;
    append_call call = APPEND_CALL(APPEND_ARROW);
    if (overlap_option(&call.opts, mode, boundary) < 0 ||
        layout_options(&call.opts, compression, rows) < 0 ||
        ttf_stream_from_py(source, &call.stream) < 0)
        return NULL;
    return run_append(self, &call);
}

/* ---- introspection ----------------------------------------------------- */

static PyObject *table_root(ttf_TableObject *self, PyObject *unused)
{
    (void)unused;
    return PyUnicode_FromString(tst_table_root(self->table));
}

static PyObject *table_version(ttf_TableObject *self, PyObject *unused)
{
    (void)unused;
    ttf_table_lock(self);
    uint64_t v = tst_table_version(self->table);
    ttf_table_unlock(self);
    return PyLong_FromUnsignedLongLong(v);
}

static PyObject *table_refresh(ttf_TableObject *self, PyObject *unused)
{
    (void)unused;
    bool changed = false;
    int rc;
    ttf_table_lock(self);
    Py_BEGIN_ALLOW_THREADS
    rc = tst_table_refresh(self->table, &changed);
    Py_END_ALLOW_THREADS
    PyObject *out = rc == 0 ? PyBool_FromLong(changed)
                            : ttf_raise_last(tst_table_root(self->table), self->table);
    ttf_table_unlock(self);
    return out;
}

/* Refuses a write this build cannot make (a protocol-7 writer feature it does
 * not support) before the caller touches its input: a stream is not consumed. */
static PyObject *table_check_writable(ttf_TableObject *self, PyObject *operation)
{
    const char *op = PyUnicode_Check(operation) ? PyUnicode_AsUTF8(operation) : NULL;
    if (op == NULL)
        return PyErr_Format(PyExc_TypeError, "operation must be a str");
    /* No refresh: update_rows holds the caller to the handle's version. The
     * write itself refreshes (append) and checks again. */
    ttf_table_lock(self);
    int rc = 0;
    if (tst_table_check_writable(self->table, op) != 0) {
        ttf_raise_last(tst_table_root(self->table), self->table);
        rc = -1;
    }
    ttf_table_unlock(self);
    if (rc != 0)
        return NULL;
    Py_RETURN_NONE;
}

int ttf_table_refresh_locked(ttf_TableObject *self)
{
    int rc;
    Py_BEGIN_ALLOW_THREADS
    rc = tst_table_refresh(self->table, NULL);
    Py_END_ALLOW_THREADS
    if (rc != 0)
        ttf_raise_last(tst_table_root(self->table), self->table);
    return rc == 0 ? 0 : -1;
}

/* The index spec as the reference's index_spec() gives it: 0.4's keys (column,
 * kind, bucket / bucket_width) for a format_version-6 table, 0.5+'s
 * (index_column, index_type, index_granularity; timezone for timestamps only)
 * for a protocol-7 table. */
static PyObject *index_spec_dict(const tst_index_spec *spec)
{
    PyObject *entities = PyList_New((Py_ssize_t)spec->entity_count);
    for (size_t i = 0; entities && i < spec->entity_count; i++)
        PyList_SET_ITEM(entities, (Py_ssize_t)i, PyUnicode_FromString(spec->entity_columns[i]));
    if (entities == NULL)
        return NULL;
    bool v7 = spec->kind.protocol == TST_PROTOCOL_VERSION;
    const char *type = tst_index_type_name(spec->kind.type);
    if (spec->kind.type != TST_INDEX_TIMESTAMP)
        return Py_BuildValue("{s:s,s:N,s:s,s:K}", v7 ? "index_column" : "column", spec->column,
                             "entity_columns", entities, v7 ? "index_type" : "kind", type,
                             v7 ? "index_granularity" : "bucket_width",
                             (unsigned long long)spec->kind.bucket_width);
    char bucket[32] = "";
    tst_time_bucket_format(spec->kind.bucket, bucket, sizeof bucket);
    PyObject *tz = spec->kind.timezone[0] ? PyUnicode_FromString(spec->kind.timezone)
                                          : Py_NewRef(Py_None);
    return Py_BuildValue("{s:s,s:N,s:s,s:s,s:N}", v7 ? "index_column" : "column", spec->column,
                         "entity_columns", entities, v7 ? "index_type" : "kind", "timestamp",
                         v7 ? "index_granularity" : "bucket", bucket, "timezone", tz);
}

static PyObject *table_index_spec(ttf_TableObject *self, PyObject *unused)
{
    (void)unused;
    ttf_table_lock(self);
    PyObject *out = index_spec_dict(tst_table_index(self->table));
    ttf_table_unlock(self);
    return out;
}

static PyObject *schema_list(const tst_schema *schema)
{
    if (schema == NULL)
        Py_RETURN_NONE;
    PyObject *list = PyList_New((Py_ssize_t)schema->column_count);
    for (size_t i = 0; list && i < schema->column_count; i++) {
        const tst_field *f = &schema->columns[i];
        char type[256] = "";
        tst_type_format(&f->type, type, sizeof type);
        PyObject *d = Py_BuildValue("{s:s,s:s,s:O}", "name", f->name, "type", type, "nullable",
                                    f->nullable ? Py_True : Py_False);
        if (d == NULL)
            Py_CLEAR(list);
        else
            PyList_SET_ITEM(list, (Py_ssize_t)i, d);
    }
    return list;
}

static PyObject *table_schema(ttf_TableObject *self, PyObject *unused)
{
    (void)unused;
    ttf_table_lock(self);
    PyObject *out = schema_list(tst_table_get_meta(self->table)->schema);
    ttf_table_unlock(self);
    return out;
}

static PyObject *segment_entity(const tst_index_spec *spec, const tst_entity_layout *layout)
{
    if (layout->kind != TST_LAYOUT_SINGLE)
        Py_RETURN_NONE;
    tst_entity_identity id = {layout->count, layout->values};
    return ttf_identity_to_py(spec, &id);
}

static PyObject *segment_dict(const tst_index_spec *spec, const tst_segment *s)
{
    static const char *layouts[] = {"", "none", "single", "mixed"};
    PyObject *min = ttf_index_value_to_py(&s->index_min);
    PyObject *max = min ? ttf_index_value_to_py(&s->index_max) : NULL;
    PyObject *entity = max ? segment_entity(spec, &s->layout) : NULL;
    if (entity == NULL) {
        Py_XDECREF(min);
        Py_XDECREF(max);
        return NULL;
    }
    PyObject *size = s->has_file_size ? PyLong_FromUnsignedLongLong(s->file_size)
                                      : Py_NewRef(Py_None);
    PyObject *cov = s->coverage_path ? PyUnicode_FromString(s->coverage_path) : Py_NewRef(Py_None);
    return Py_BuildValue("{s:s,s:N,s:N,s:K,s:N,s:N,s:s,s:N}", "path", s->path, "index_min", min,
                         "index_max", max, "row_count", (unsigned long long)s->row_count,
                         "file_size", size, "coverage_path", cov, "entity_layout",
                         layouts[s->layout.kind <= 3 ? s->layout.kind : 0], "entity", entity);
}

static PyObject *table_segments(ttf_TableObject *self, PyObject *unused)
{
    (void)unused;
    ttf_table_lock(self);
    size_t n = tst_table_segment_count(self->table);
    const tst_index_spec *spec = tst_table_index(self->table);
    PyObject *list = PyList_New((Py_ssize_t)n);
    for (size_t i = 0; list && i < n; i++) {
        PyObject *d = segment_dict(spec, tst_table_segment_at(self->table, i));
        if (d == NULL)
            Py_CLEAR(list);
        else
            PyList_SET_ITEM(list, (Py_ssize_t)i, d);
    }
    ttf_table_unlock(self);
    return list;
}

/* ---- low-level commit ---------------------------------------------------- */

static PyObject *table_commit_json(ttf_TableObject *self, PyObject *arg)
{
    const char *actions = PyUnicode_Check(arg) ? PyUnicode_AsUTF8(arg) : NULL;
    char *copy = actions ? ttf_strdup(actions) : NULL;
    if (copy == NULL) {
        if (!PyErr_Occurred())
            PyErr_SetString(PyExc_TypeError, "actions must be a JSON str");
        return NULL;
    }
    uint64_t version = 0;
    int rc;
    ttf_table_lock(self);
    Py_BEGIN_ALLOW_THREADS
    rc = tst_table_commit_json(self->table, copy, &version);
    Py_END_ALLOW_THREADS
    PyObject *out = rc == 0 ? PyLong_FromUnsignedLongLong(version)
                            : ttf_raise_last(tst_table_root(self->table), self->table);
    ttf_table_unlock(self);
    free(copy);
    return out;
}

/* ---- scan -------------------------------------------------------------- */

typedef struct scan_args {
    tst_index_value start, end;
    ttf_entity_args entity;
    char **columns;
    size_t column_count;
} scan_args;

static void scan_args_free(scan_args *a)
{
    ttf_entity_args_free(&a->entity);
    for (size_t i = 0; i < a->column_count; i++)
        free(a->columns[i]);
    free(a->columns);
}

static int scan_columns(scan_args *a, PyObject *columns)
{
    if (columns == Py_None)
        return 0;
    PyObject *seq = PySequence_Fast(columns, "columns must be a list of column names");
    if (seq == NULL)
        return -1;
    Py_ssize_t n = PySequence_Fast_GET_SIZE(seq);
    a->columns = calloc((size_t)n + 1, sizeof(char *));
    int rc = a->columns ? 0 : (PyErr_NoMemory(), -1);
    for (Py_ssize_t i = 0; rc == 0 && i < n; i++) {
        PyObject *item = PySequence_Fast_GET_ITEM(seq, i);
        const char *s = PyUnicode_Check(item) ? PyUnicode_AsUTF8(item) : NULL;
        if (s == NULL && !PyErr_Occurred())
            PyErr_SetString(PyExc_TypeError, "columns must be a list of column names");
        rc = s && (a->columns[i] = ttf_strdup(s)) ? 0 : -1;
        a->column_count = rc == 0 ? (size_t)i + 1 : a->column_count;
    }
    Py_DECREF(seq);
    return rc;
}

/*
 * require_coverage: the range and entity the scan reads, checked against
 * the coverage of the version it reads, before it reads. 1: go on (*report
 * set for a warn-mode check with something missing), -1: raised.
 */
static int check_scan(ttf_TableObject *self, const scan_args *a, tst_coverage_mode mode,
                      const tst_calendar *cal, tst_coverage_report **report)
{
    *report = NULL;
    if (mode == TST_COVERAGE_OFF)
        return 1;
    tst_coverage_report *r = NULL;
    int rc;
    Py_BEGIN_ALLOW_THREADS
    rc = tst_table_check_coverage(self->table, NULL, a->entity.bindings, a->entity.count,
                                  &a->start, &a->end, cal, mode, &r);
    Py_END_ALLOW_THREADS
    if (rc == TST_EINCOMPLETE && r)
        ttf_raise_incomplete(r, tst_table_root(self->table));
    else if (rc != 0)
        ttf_raise_last(tst_table_root(self->table), self->table);
    if (rc != 0 || r->complete) {
        tst_coverage_report_free(r);
        return rc == 0 ? 1 : -1;
    }
    *report = r;
    return 1;
}

/* Opens the scan stream; the caller owns *out on success. */
static int open_scan(ttf_TableObject *self, PyObject *args, PyObject *kwargs,
                     struct ArrowArrayStream *out)
{
    static char *kw[] = {"start", "end", "entity", "columns", "require_coverage", "calendar",
                         NULL};
    PyObject *start, *end, *entity = Py_None, *columns = Py_None, *require = Py_False;
    PyObject *calendar = Py_None;
    tst_coverage_mode mode = TST_COVERAGE_OFF;
    tst_coverage_report *report = NULL;
    tst_calendar *cal = NULL;
    if (!PyArg_ParseTupleAndKeywords(args, kwargs, "OO|$OOOO:scan", kw, &start, &end, &entity,
                                     &columns, &require, &calendar) ||
        ttf_coverage_mode_from_py(require, &mode) < 0)
        return -1;
    if (calendar != Py_None && mode == TST_COVERAGE_OFF) {
        PyErr_SetString(PyExc_ValueError, "calendar= applies to the coverage check: give it "
                                          "with require_coverage=True or \"warn\"");
        return -1;
    }
    if (ttf_calendar_from_py(calendar, &cal) < 0)
        return -1;
    scan_args a;
    memset(&a, 0, sizeof a);
    tst_index_type type = tst_table_index(self->table)->kind.type;
    int rc = -1;
    if (ttf_index_value_from_py(start, type, "start", &a.start) == 0 &&
        ttf_index_value_from_py(end, type, "end", &a.end) == 0 && scan_columns(&a, columns) == 0) {
        ttf_table_lock(self);
        /* Like the coverage answers, a scan reads the latest commit; the
         * entity values are typed by its schema. */
        if (ttf_table_refresh_locked(self) == 0 &&
            ttf_entity_args_from_py(entity, self->table, &a.entity) == 0 &&
            check_scan(self, &a, mode, cal, &report) > 0) {
            Py_BEGIN_ALLOW_THREADS
            rc = tst_table_scan(self->table, &a.start, &a.end, a.entity.bindings, a.entity.count,
                                (const char *const *)a.columns, a.column_count, out);
            Py_END_ALLOW_THREADS
            if (rc != 0)
                ttf_raise_last(tst_table_root(self->table), self->table);
        }
        ttf_table_unlock(self);
    }
    scan_args_free(&a);
    tst_calendar_free(cal);
    if (rc == 0 && report &&
        ttf_warn_coverage(report->message, ttf_coverage_missing_to_py(report),
                          ttf_coverage_checked_to_py(report)) < 0) {
        out->release(out);
        rc = -1;
    }
    tst_coverage_report_free(report);
    return rc == 0 ? 0 : -1;
}

static PyObject *table_scan(ttf_TableObject *self, PyObject *args, PyObject *kwargs)
{
    struct ArrowArrayStream stream = {0};
    if (open_scan(self, args, kwargs, &stream) < 0)
        return NULL;
    char err[512] = "";
    ttf_batches *b;
    Py_BEGIN_ALLOW_THREADS
    b = ttf_batches_drain(&stream, err, sizeof err);
    Py_END_ALLOW_THREADS
    if (b == NULL) {
        PyObject *root = PyUnicode_FromString(tst_table_root(self->table));
        if (root != NULL)
            ttf_raise_with(ttf_StorageError, err, "table_root", root, NULL);
        Py_XDECREF(root);
        return NULL;
    }
    return ttf_result_new(b);
}

static PyObject *table_scan_reader(ttf_TableObject *self, PyObject *args, PyObject *kwargs)
{
    struct ArrowArrayStream stream = {0};
    if (open_scan(self, args, kwargs, &stream) < 0)
        return NULL;
    return ttf_reader_new(&stream);
}

static PyObject *table_repr(ttf_TableObject *self)
{
    return PyUnicode_FromFormat("<TimeSeriesTable root=%s version=%llu>",
                                tst_table_root(self->table),
                                (unsigned long long)tst_table_version(self->table));
}

static PyMethodDef table_methods[] = {
    {"create", TTF_KW(table_create), METH_CLASS | METH_VARARGS | METH_KEYWORDS,
     "create(*, table_root, index_column, index_type=None, entity_columns=None, bucket=None,\n"
     "       bucket_width=None, timezone=None, time_column=None) -> TimeSeriesTable\n\n"
     "Create a table at table_root (version 1). Timestamp indexes need bucket ('1h',\n"
     "'15m', ...) and may carry timezone; int64/uint64 indexes need bucket_width.\n"
     "index_type (\"timestamp\", \"int64\" or \"uint64\") may be omitted: bucket means\n"
     "\"timestamp\", bucket_width alone means \"int64\". time_column is an alias of\n"
     "index_column. Options are checked before any I/O."},
    {"open", (PyCFunction)table_open, METH_CLASS | METH_O,
     "open(table_root) -> TimeSeriesTable\n\nOpen an existing table at its latest version."},
    {"_open_at", (PyCFunction)table_open_at, METH_CLASS | METH_VARARGS,
     "_open_at(table_root, version) -> TimeSeriesTable\n\nOpen the table as it was at "
     "version (pinned)."},
    {"_open_as_of", (PyCFunction)table_open_as_of, METH_CLASS | METH_VARARGS,
     "_open_as_of(table_root, seconds, nanoseconds) -> TimeSeriesTable\n\nOpen the table as "
     "it was at a UTC instant (pinned)."},
    {"is_pinned", (PyCFunction)table_is_pinned, METH_NOARGS,
     "is_pinned() -> bool\n\nWhether the handle was opened at a version or an instant: it\n"
     "never moves (refresh() leaves it) and refuses every write."},
    {"append_parquet", TTF_KW(table_append_parquet), METH_VARARGS | METH_KEYWORDS,
     "append_parquet(path, *, on_overlap=None, allow_boundary_overlap=False, move=False)\n"
     "    -> dict\n\n"
     "Append a Parquet file as one new segment; returns what AppendReport is built from.\n"
     "move=True hands the file over (hard-linked into the table, old name removed)."},
    {"append_csv", TTF_KW(table_append_csv), METH_VARARGS | METH_KEYWORDS,
     "append_csv(path, *, delimiter=None, header=None, columns=None, on_overlap=None,\n"
     "           allow_boundary_overlap=False) -> dict\n\n"
     "Append a CSV file (re-encoded). columns maps every column name to a DuckDB\n"
     "type, e.g. {'ts': 'TIMESTAMPTZ', 'v': 'DOUBLE'}; inferred when omitted."},
    {"append", TTF_KW(table_append), METH_VARARGS | METH_KEYWORDS,
     "append(source, *, compression=None, max_rows_per_row_group=None, on_overlap=None,\n"
     "       allow_boundary_overlap=False) -> dict\n\n"
     "Append the rows of an object implementing __arrow_c_stream__ (called once; the\n"
     "stream is released exactly once). Returns what AppendReport is built from."},
    {"root", (PyCFunction)table_root, METH_NOARGS, "root() -> str\n\nThe table's root folder."},
    {"version", (PyCFunction)table_version, METH_NOARGS,
     "version() -> int\n\nThe version this handle holds (moves with its own appends, "
     "refresh(),\nand the coverage answers and scans, which refresh first; a handle opened\n"
     "at a version or instant stays at it)."},
    {"refresh", (PyCFunction)table_refresh, METH_NOARGS,
     "refresh() -> bool\n\nMove to the latest committed version; True if it changed (never\n"
     "for a handle opened at a version or instant: it stays where it is).\n"
     "Coverage answers and scans do this by themselves; version(), schema() and\n"
     "segments() describe the version the handle holds."},
    {"index_spec", (PyCFunction)table_index_spec, METH_NOARGS,
     "index_spec() -> dict\n\nThe index: column, entity_columns, kind and bucket (+timezone)\n"
     "for timestamps or bucket_width for integers."},
    {"schema", (PyCFunction)table_schema, METH_NOARGS,
     "schema() -> list[dict] | None\n\nColumns as {'name', 'type', 'nullable'}; None before the "
     "first append."},
    {"segments", (PyCFunction)table_segments, METH_NOARGS,
     "segments() -> list[dict]\n\nLive segments ordered by index: path, index_min, index_max,\n"
     "row_count, file_size, coverage_path, entity_layout, entity."},
    {"_check_writable", (PyCFunction)table_check_writable, METH_O,
     "_check_writable(operation) -> None\n\nRaise TimeseriesTableError if this build cannot "
     "change the\ntable at the handle's version (an unsupported protocol-7 writer feature)."},
    {"_commit_json", (PyCFunction)table_commit_json, METH_O,
     "_commit_json(actions_json) -> int\n\nLow-level: commit log actions (JSON array) as the next\n"
     "version after this handle's. A stale handle gets ConflictError. For tools and tests."},
    {"scan", TTF_KW(table_scan), METH_VARARGS | METH_KEYWORDS,
     "scan(start, end, *, entity=None, columns=None, require_coverage=False, calendar=None)"
     " -> SqlResult\n\n"
     "Rows whose index lies in [start, end) at the latest commit, read without the\n"
     "SQL engine's planner."},
    {"scan_reader", TTF_KW(table_scan_reader), METH_VARARGS | METH_KEYWORDS,
     "scan_reader(start, end, *, entity=None, columns=None, require_coverage=False, "
     "calendar=None)"
     " -> RecordBatchReader\n\n"
     "Like scan(), streaming batch by batch."},
    {NULL, NULL, 0, NULL}};

PyTypeObject ttf_TableType = {
    PyVarObject_HEAD_INIT(NULL, 0)
    .tp_name = "timeseries_table_format._native.TimeSeriesTable",
    .tp_basicsize = sizeof(ttf_TableObject),
    .tp_dealloc = (destructor)table_dealloc,
    .tp_repr = (reprfunc)table_repr,
    .tp_flags = Py_TPFLAGS_DEFAULT | Py_TPFLAGS_BASETYPE,
    .tp_doc = "A time-series table: an index column, optional entity columns, bucketed "
              "coverage.\n\nMake one with TimeSeriesTable.create(...) or "
              "TimeSeriesTable.open(root).",
    .tp_methods = table_methods,
};
