/*
 * errors.c — the exception classes and the mapping from tst_error_last().
 *
 * The library reports a failure as a negative code plus a thread-local
 * tst_error with structured fields. Each call into it releases the GIL but
 * stays on the same OS thread, so reading tst_error_last() right after the
 * GIL is taken back still sees that call's failure.
 *
 * The hierarchy mirrors the reference implementation's (format-v6 §7):
 *
 *   TimeseriesTableError
 *   |-- StorageError          path                      TST_EIO, TST_ENOTFOUND
 *   |-- ConflictError         expected, found           TST_ECONFLICT
 *   |-- CoverageOverlapError  overlap_count, example_*,  TST_EOVERLAP
 *   |                         entity_count, entity_overlap_count
 *   |-- DuplicateIndexIntervalError  example_identity,   TST_EDUPLICATE
 *   |                         example_index_interval, segment_path (protocol 7)
 *   |-- SchemaMismatchError                             TST_ESCHEMA
 *   (TimeseriesTableError itself: reason, example_key,  TST_EUPDATEKEY
 *    input_rows_seen, observed_violations)
 *   |-- SqlError (= DataFusionError)                    TST_ESQL
 *   |-- VersionVacuumedError  version,                  TST_EVACUUMED
 *   |                         oldest_readable_version (time travel)
 *   `-- IncompleteCoverageError  missing, checked       TST_EINCOMPLETE
 *                             (coverage-guaranteed reads, coverage_check.c)
 *
 * CoverageWarning (a UserWarning, with missing and checked) is what the
 * warn mode of those reads issues.
 *
 * Every instance also has `code` (the TST_E* name) and `table_root` (None
 * for calls that are not about one table). Class-level defaults of None
 * make every attribute readable on every instance, including ones raised
 * from Python code.
 */
#include "ttf.h"

#include <stdarg.h>
#include <string.h>

PyObject *ttf_TimeseriesTableError;
PyObject *ttf_StorageError;
PyObject *ttf_ConflictError;
PyObject *ttf_CoverageOverlapError;
PyObject *ttf_SchemaMismatchError;
PyObject *ttf_SqlError;
PyObject *ttf_DuplicateIndexIntervalError;
PyObject *ttf_VersionVacuumedError;
PyObject *ttf_IncompleteCoverageError;
PyObject *ttf_CoverageWarning;

static const char *const attr_defaults[] = {
    "table_root", "code", "path", "expected", "found", "expected_version", "found_version",
    "segment_path", "overlap_count", "example_entity_identity", "example_bucket",
    "example_bucket_range", "entity", "bucket", "bucket_range", "index_type", "name",
    "entity_count", "entity_overlap_count", "conflict_count", "example_identity",
    "example_index_interval", "reason", "example_key", "input_rows_seen",
    "observed_violations", "version", "oldest_readable_version", "missing", "checked", NULL};

static PyObject *new_class(PyObject *module, const char *name, PyObject *base, const char *doc)
{
    char qualified[128];
    snprintf(qualified, sizeof qualified, "timeseries_table_format._native.%s", name);
    PyObject *cls = PyErr_NewExceptionWithDoc(qualified, doc, base, NULL);
    if (cls == NULL)
        return NULL;
    for (size_t i = 0; base == PyExc_Exception && attr_defaults[i] != NULL; i++)
        if (PyObject_SetAttrString(cls, attr_defaults[i], Py_None) < 0)
            return NULL;
    if (PyModule_AddObjectRef(module, name, cls) < 0)
        return NULL;
    return cls;
}

int ttf_errors_init(PyObject *module)
{
    ttf_TimeseriesTableError = new_class(module, "TimeseriesTableError", PyExc_Exception,
        "Base class of every error the table format raises.");
    if (ttf_TimeseriesTableError == NULL)
        return -1;
    ttf_StorageError = new_class(module, "StorageError", ttf_TimeseriesTableError,
        "A file or folder could not be read or written (attribute: path).");
    ttf_ConflictError = new_class(module, "ConflictError", ttf_TimeseriesTableError,
        "Another writer committed first (attributes: expected, found).");
    ttf_CoverageOverlapError = new_class(module, "CoverageOverlapError", ttf_TimeseriesTableError,
        "An append re-covers (entity, bucket) pairs the table already has.");
    ttf_SchemaMismatchError = new_class(module, "SchemaMismatchError", ttf_TimeseriesTableError,
        "Incoming data does not match the table's schema.");
    ttf_SqlError = new_class(module, "SqlError", ttf_TimeseriesTableError,
        "The SQL engine rejected or failed a statement or a registration.");
    ttf_DuplicateIndexIntervalError = new_class(module, "DuplicateIndexIntervalError",
        ttf_TimeseriesTableError,
        "Two rows of one append fall in the same (entity, index interval). Protocol-7 tables "
        "forbid it (the reference 0.5+ raises it); format-v6 tables allow it, so no append to "
        "a v6 table raises it (attributes: example_identity, example_index_interval, "
        "segment_path).");
    ttf_VersionVacuumedError = new_class(module, "VersionVacuumedError", ttf_TimeseriesTableError,
        "Time travel to a version whose files vacuum removed (attributes: version, "
        "oldest_readable_version).");
    ttf_IncompleteCoverageError = new_class(module, "IncompleteCoverageError",
        ttf_TimeseriesTableError,
        "A read with require_coverage=True reads (entity, bucket) slots the table does not "
        "cover, or could not be checked; nothing was read. Attributes: missing (a list of "
        "dicts: table, entity (dict column -> value, or None), start, end, buckets, known) and "
        "checked (what was checked, per table).");
    ttf_CoverageWarning = new_class(module, "CoverageWarning", PyExc_UserWarning,
        "Issued by a read with require_coverage=\"warn\" that reads slots the table does not "
        "cover (attributes missing and checked, as IncompleteCoverageError's).");
    if (ttf_CoverageWarning && (PyObject_SetAttrString(ttf_CoverageWarning, "missing",
                                                       Py_None) < 0 ||
                                PyObject_SetAttrString(ttf_CoverageWarning, "checked",
                                                       Py_None) < 0))
        return -1;
    if (!ttf_StorageError || !ttf_ConflictError || !ttf_CoverageOverlapError ||
        !ttf_SchemaMismatchError || !ttf_SqlError || !ttf_DuplicateIndexIntervalError ||
        !ttf_VersionVacuumedError || !ttf_IncompleteCoverageError || !ttf_CoverageWarning)
        return -1;
    /* The reference calls its SQL error DataFusionError; keep that name working. */
    return PyModule_AddObjectRef(module, "DataFusionError", ttf_SqlError);
}

/* Creates the instance, sets the attributes and raises it. Steals nothing. */
static PyObject *raise_instance(PyObject *type, const char *message, PyObject *attrs)
{
    PyObject *inst = PyObject_CallFunction(type, "s", message);
    if (inst == NULL)
        return NULL;
    Py_ssize_t pos = 0;
    PyObject *key, *value;
    while (attrs != NULL && PyDict_Next(attrs, &pos, &key, &value)) {
        if (PyObject_SetAttr(inst, key, value) < 0) {
            Py_DECREF(inst);
            return NULL;
        }
    }
    PyErr_SetObject(type, inst);
    Py_DECREF(inst);
    return NULL;
}

PyObject *ttf_raise_with(PyObject *type, const char *message, ...)
{
    PyObject *attrs = PyDict_New();
    if (attrs == NULL)
        return NULL;
    va_list ap;
    va_start(ap, message);
    const char *name;
    while ((name = va_arg(ap, const char *)) != NULL) {
        PyObject *value = va_arg(ap, PyObject *);
        if (PyDict_SetItemString(attrs, name, value ? value : Py_None) < 0) {
            va_end(ap);
            Py_DECREF(attrs);
            return NULL;
        }
    }
    va_end(ap);
    raise_instance(type, message, attrs);
    Py_DECREF(attrs);
    return NULL;
}

static PyObject *class_for(int code)
{
    switch (code) {
    case TST_ECONFLICT: return ttf_ConflictError;
    case TST_EOVERLAP: return ttf_CoverageOverlapError;
    case TST_EDUPLICATE: return ttf_DuplicateIndexIntervalError;
    case TST_ESCHEMA: return ttf_SchemaMismatchError;
    case TST_ESQL: return ttf_SqlError;
    case TST_EVACUUMED: return ttf_VersionVacuumedError;
    case TST_EINCOMPLETE: return ttf_IncompleteCoverageError;
    case TST_EIO:
    case TST_ENOTFOUND: return ttf_StorageError;
    default: return ttf_TimeseriesTableError;
    }
}

static int set_str(PyObject *attrs, const char *name, const char *value)
{
    PyObject *v = value && value[0] ? PyUnicode_DecodeUTF8(value, (Py_ssize_t)strlen(value),
                                                           "replace")
                                    : Py_NewRef(Py_None);
    int rc = v ? PyDict_SetItemString(attrs, name, v) : -1;
    Py_XDECREF(v);
    return rc;
}

static int set_u64(PyObject *attrs, const char *name, uint64_t value)
{
    PyObject *v = PyLong_FromUnsignedLongLong(value);
    int rc = v ? PyDict_SetItemString(attrs, name, v) : -1;
    Py_XDECREF(v);
    return rc;
}

/* A value of the overlap's rendered entity, typed like its column. */
static PyObject *entity_component(const tst_table *table, const char *col, const char *text,
                                  size_t len)
{
    const tst_table_meta *meta = table ? tst_table_get_meta(table) : NULL;
    const tst_schema *schema = meta ? meta->schema : NULL;
    for (size_t i = 0; schema != NULL && i < schema->column_count; i++) {
        tst_type_kind k = schema->columns[i].type.kind;
        if (strcmp(schema->columns[i].name, col) == 0 &&
            (k == TST_TYPE_INT32 || k == TST_TYPE_INT64 || k == TST_TYPE_UINT64)) {
            PyObject *s = PyUnicode_DecodeUTF8(text, (Py_ssize_t)len, "replace");
            PyObject *n = s ? PyLong_FromUnicodeObject(s, 10) : NULL;
            Py_XDECREF(s);
            if (n != NULL)
                return n;
            PyErr_Clear();
        }
    }
    return PyUnicode_DecodeUTF8(text, (Py_ssize_t)len, "replace");
}

/*
 * Parses "col=value[,col=value]" back into a dict. The library renders the
 * identity as text; we know the column names and their order, so we split
 * on ",<next column>=" rather than on every comma a value might contain.
 */
static PyObject *entity_identity(const tst_table *table, const char *text)
{
    const tst_index_spec *spec = table ? tst_table_index(table) : NULL;
    if (text == NULL || text[0] == '\0' || spec == NULL || spec->entity_count == 0)
        return Py_NewRef(Py_None);
    PyObject *dict = PyDict_New();
    const char *p = text;
    for (size_t i = 0; dict != NULL && i < spec->entity_count; i++) {
        const char *col = spec->entity_columns[i];
        size_t clen = strlen(col);
        if (strncmp(p, col, clen) != 0 || p[clen] != '=')
            break;
        const char *value = p + clen + 1, *stop = value + strlen(value);
        if (i + 1 < spec->entity_count) {
            char sep[300];
            snprintf(sep, sizeof sep, ",%s=", spec->entity_columns[i + 1]);
            const char *next = strstr(value, sep);
            stop = next ? next : stop;
        }
        PyObject *v = entity_component(table, col, value, (size_t)(stop - value));
        if (v == NULL || PyDict_SetItemString(dict, col, v) < 0)
            Py_CLEAR(dict);
        Py_XDECREF(v);
        p = *stop ? stop + 1 : stop;
    }
    return dict;
}

static int overlap_attrs(PyObject *attrs, const tst_error *e, const tst_table *table)
{
    PyObject *identity = entity_identity(table, e->entity);
    /* Each fact under its 0.4 name and its 0.5+ name (IndexIntervalOverlapError). */
    int rc = identity ? PyDict_SetItemString(attrs, "example_entity_identity", identity) : -1;
    if (rc == 0)
        rc = PyDict_SetItemString(attrs, "example_identity", identity);
    Py_XDECREF(identity);
    /* The library removes the new segment before reporting; segment_path
     * is set by the package's append_parquet (the file as the caller named
     * it) and stays None for other appends. */
    if (rc < 0 || set_u64(attrs, "overlap_count", e->overlap_count) < 0 ||
        set_u64(attrs, "conflict_count", e->overlap_count) < 0 ||
        set_str(attrs, "example_index_interval", e->bucket_range) < 0 ||
        set_u64(attrs, "example_bucket", e->bucket) < 0 ||
        set_u64(attrs, "bucket", e->bucket) < 0 ||
        set_u64(attrs, "entity_count", e->overlap_entity_count) < 0 ||
        set_u64(attrs, "entity_overlap_count", e->entity_overlap_count) < 0 ||
        set_str(attrs, "example_bucket_range", e->bucket_range) < 0 ||
        set_str(attrs, "bucket_range", e->bucket_range) < 0 ||
        set_str(attrs, "entity", e->entity) < 0)
        return -1;
    return 0;
}

/* The reference's DuplicateIndexIntervalError: the first duplicated identity and interval;
 * segment_path stays None (nothing was written). */
static int duplicate_attrs(PyObject *attrs, const tst_error *e, const tst_table *table)
{
    PyObject *identity = entity_identity(table, e->entity);
    int rc = identity ? PyDict_SetItemString(attrs, "example_identity", identity) : -1;
    Py_XDECREF(identity);
    if (rc < 0 || set_str(attrs, "example_index_interval", e->bucket_range) < 0 ||
        set_u64(attrs, "example_bucket", e->bucket) < 0 ||
        set_u64(attrs, "row_count", e->overlap_count) < 0)
        return -1;
    return 0;
}

static int code_attrs(PyObject *attrs, const tst_error *e, const tst_table *table)
{
    if (set_str(attrs, "code", tst_error_name(e->code)) < 0 || set_str(attrs, "path", e->path) < 0)
        return -1;
    if (e->code == TST_ECONFLICT)
        return set_u64(attrs, "expected", e->expected_version) < 0 ||
                       set_u64(attrs, "found", e->found_version) < 0 ||
                       set_u64(attrs, "expected_version", e->expected_version) < 0 ||
                       set_u64(attrs, "found_version", e->found_version) < 0
                   ? -1 : 0;
    if (e->code == TST_EOVERLAP)
        return overlap_attrs(attrs, e, table);
    if (e->code == TST_EVACUUMED)
        return set_u64(attrs, "version", e->expected_version) < 0 ||
                       set_u64(attrs, "oldest_readable_version", e->found_version) < 0
                   ? -1 : 0;
    if (e->code == TST_EDUPLICATE)
        return duplicate_attrs(attrs, e, table);
    if (e->code == TST_EUPDATEKEY) /* example_key: JSON text, made a dict by the package */
        return set_str(attrs, "reason", e->reason) < 0 ||
                       set_str(attrs, "example_key", e->example_key) < 0 ||
                       set_u64(attrs, "input_rows_seen", e->input_rows_seen) < 0 ||
                       set_u64(attrs, "observed_violations", e->observed_violations) < 0
                   ? -1 : 0;
    return 0;
}

static PyObject *raise_last(PyObject *cls, const char *table_root, const tst_table *table);

PyObject *ttf_raise_last(const char *table_root, const tst_table *table)
{
    return raise_last(NULL, table_root, table);
}

/* A statement the engine refuses before running (a parameter count that
 * does not match, say) is TST_EINVAL from the library but a SQL error to
 * the caller, as in the reference (DataFusionError). */
PyObject *ttf_raise_last_statement(void)
{
    int code = tst_error_last()->code;
    return raise_last(code == TST_EINVAL ? ttf_SqlError : NULL, NULL, NULL);
}

/* A location with a scheme (s3://...) is a storage this build cannot reach:
 * StorageError, as in the reference, though the library calls it
 * TST_EUNSUPPORTED (it is refused before any I/O). */
static int is_unsupported_location(const tst_error *e)
{
    return e->code == TST_EUNSUPPORTED &&
           strstr(e->message, "unsupported table location scheme:") != NULL;
}

static PyObject *raise_last(PyObject *cls, const char *table_root, const tst_table *table)
{
    const tst_error *e = tst_error_last();
    if (e->code == TST_ENOMEM)
        return PyErr_NoMemory();
    if (cls == NULL && is_unsupported_location(e))
        cls = ttf_StorageError;
    const char *message = e->message[0] ? e->message : "tstable call failed without a message";
    PyObject *attrs = PyDict_New();
    if (attrs == NULL || code_attrs(attrs, e, table) < 0 ||
        (table_root && set_str(attrs, "table_root", table_root) < 0)) {
        Py_XDECREF(attrs);
        return NULL;
    }
    PyObject *text = table_root ? PyUnicode_FromFormat("%s (table_root=%s)", message, table_root)
                                : PyUnicode_FromString(message);
    if (text != NULL)
        raise_instance(cls ? cls : class_for(e->code), PyUnicode_AsUTF8(text), attrs);
    Py_XDECREF(text);
    Py_DECREF(attrs);
    return NULL;
}
