/*
 * result.c — SqlResult, RecordBatchReader and the Arrow PyCapsules.
 *
 * SqlResult is a query's (or scan's) full result, held as the Arrow
 * batches the library produced (arrow_export.c). It implements the Arrow
 * PyCapsule interface: __arrow_c_stream__() returns a capsule named
 * "arrow_array_stream" wrapping a fresh ArrowArrayStream over the shared
 * batches; whoever imports it moves the stream out, and the capsule's
 * destructor releases the stream only if nobody did. It can be exported
 * any number of times. For code without pyarrow it converts itself:
 * to_pylist() (rows as dicts), to_pydict() (columns as lists), iteration
 * (rows as dicts, like to_pylist()), len(), column_names, num_rows.
 *
 * RecordBatchReader streams: each read_next_batch() pulls one batch from
 * the producer with the GIL released; iteration yields rows as dicts;
 * __arrow_c_stream__() hands the live stream over once; close() releases
 * it early and is idempotent.
 *
 * The append side lives here too: ttf_stream_from_py() calls a source's
 * __arrow_c_stream__() once and moves the stream out of its capsule.
 */
#include "ttf.h"

#include <stdlib.h>
#include <string.h>

#define STREAM_CAPSULE "arrow_array_stream"

/* ---- capsules ------------------------------------------------------------ */

static void capsule_release(PyObject *capsule)
{
    struct ArrowArrayStream *s = PyCapsule_GetPointer(capsule, STREAM_CAPSULE);
    if (s == NULL) {
        PyErr_Clear();
        return;
    }
    if (s->release != NULL)
        s->release(s); /* never imported: release it here */
    free(s);
}

/* A capsule taking over *src (src->release becomes NULL). */
static PyObject *capsule_from_stream(struct ArrowArrayStream *src)
{
    struct ArrowArrayStream *s = malloc(sizeof *s);
    if (s == NULL) {
        src->release(src);
        return PyErr_NoMemory();
    }
    *s = *src;
    src->release = NULL;
    PyObject *capsule = PyCapsule_New(s, STREAM_CAPSULE, capsule_release);
    if (capsule == NULL) {
        s->release(s);
        free(s);
    }
    return capsule;
}

int ttf_stream_from_py(PyObject *obj, struct ArrowArrayStream *out)
{
    PyObject *method = PyObject_GetAttrString(obj, "__arrow_c_stream__");
    if (method == NULL) {
        PyErr_Clear();
        PyErr_SetString(PyExc_TypeError, "source must be a pyarrow.RecordBatch, pyarrow.Table, "
                        "pyarrow.RecordBatchReader, or an object implementing __arrow_c_stream__");
        return -1;
    }
    PyObject *capsule = PyObject_CallNoArgs(method);
    Py_DECREF(method);
    if (capsule == NULL) {
        _PyErr_FormatFromCause(PyExc_ValueError, "source.__arrow_c_stream__() failed");
        return -1;
    }
    int rc = -1;
    if (!PyCapsule_IsValid(capsule, STREAM_CAPSULE)) {
        PyErr_SetString(PyExc_ValueError, "source.__arrow_c_stream__() must return a PyCapsule "
                        "named 'arrow_array_stream'");
    } else {
        struct ArrowArrayStream *s = PyCapsule_GetPointer(capsule, STREAM_CAPSULE);
        if (s->release == NULL) {
            PyErr_SetString(PyExc_ValueError, "the Arrow stream capsule was already consumed");
        } else {
            *out = *s;
            s->release = NULL; /* moved: the capsule's destructor must not release it */
            rc = 0;
        }
    }
    Py_DECREF(capsule);
    return rc;
}

/* ---- SqlResult ----------------------------------------------------------- */

typedef struct ResultObject {
    PyObject_HEAD
    ttf_batches *batches;
} ResultObject;

PyObject *ttf_result_new(ttf_batches *b)
{
    ResultObject *self = PyObject_New(ResultObject, &ttf_ResultType);
    if (self == NULL) {
        ttf_batches_decref(b);
        return NULL;
    }
    self->batches = b;
    return (PyObject *)self;
}

static void result_dealloc(ResultObject *self)
{
    ttf_batches_decref(self->batches);
    PyObject_Free(self);
}

static PyObject *column_names(const struct ArrowSchema *schema)
{
    PyObject *list = PyList_New(schema->n_children);
    for (int64_t i = 0; list && i < schema->n_children; i++) {
        const char *name = schema->children[i]->name ? schema->children[i]->name : "";
        PyObject *s = PyUnicode_DecodeUTF8(name, (Py_ssize_t)strlen(name), "replace");
        if (s == NULL)
            Py_CLEAR(list);
        else
            PyList_SET_ITEM(list, i, s);
    }
    return list;
}

/* Every column as one list, over all batches. */
static PyObject *columns_of(const ttf_batches *b)
{
    int64_t n = b->schema.n_children;
    PyObject *cols = PyList_New(n);
    for (int64_t k = 0; cols && k < n; k++) {
        PyObject *col = PyList_New(0);
        for (size_t i = 0; col && i < b->count; i++)
            if (ttf_column_extend(col, b->schema.children[k], &b->arrays[i], k) < 0)
                Py_CLEAR(col);
        if (col == NULL)
            Py_CLEAR(cols);
        else
            PyList_SET_ITEM(cols, k, col);
    }
    return cols;
}

static PyObject *rows_from_columns(PyObject *names, PyObject *cols, int64_t rows)
{
    Py_ssize_t n = PyList_GET_SIZE(names);
    PyObject *list = PyList_New((Py_ssize_t)rows);
    for (Py_ssize_t r = 0; list && r < (Py_ssize_t)rows; r++) {
        PyObject *row = PyDict_New();
        for (Py_ssize_t k = 0; row && k < n; k++)
            if (PyDict_SetItem(row, PyList_GET_ITEM(names, k),
                               PyList_GET_ITEM(PyList_GET_ITEM(cols, k), r)) < 0)
                Py_CLEAR(row);
        if (row == NULL)
            Py_CLEAR(list);
        else
            PyList_SET_ITEM(list, r, row);
    }
    return list;
}

static PyObject *batches_to_pylist(const ttf_batches *b)
{
    PyObject *names = column_names(&b->schema);
    PyObject *cols = names ? columns_of(b) : NULL;
    PyObject *rows = cols ? rows_from_columns(names, cols, b->rows) : NULL;
    Py_XDECREF(names);
    Py_XDECREF(cols);
    return rows;
}

static PyObject *result_to_pylist(ResultObject *self, PyObject *unused)
{
    (void)unused;
    return batches_to_pylist(self->batches);
}

static PyObject *result_to_pydict(ResultObject *self, PyObject *unused)
{
    (void)unused;
    PyObject *names = column_names(&self->batches->schema);
    PyObject *cols = names ? columns_of(self->batches) : NULL;
    PyObject *dict = cols ? PyDict_New() : NULL;
    for (Py_ssize_t k = 0; dict && k < PyList_GET_SIZE(names); k++)
        if (PyDict_SetItem(dict, PyList_GET_ITEM(names, k), PyList_GET_ITEM(cols, k)) < 0)
            Py_CLEAR(dict);
    Py_XDECREF(names);
    Py_XDECREF(cols);
    return dict;
}

static PyObject *result_arrow_c_stream(ResultObject *self, PyObject *args, PyObject *kwargs)
{
    static char *kw[] = {"requested_schema", NULL};
    PyObject *requested = Py_None;
    if (!PyArg_ParseTupleAndKeywords(args, kwargs, "|O:__arrow_c_stream__", kw, &requested))
        return NULL;
    /* A requested schema is a hint the producer may ignore: we export the
     * result's own types, which the consumer can cast. */
    struct ArrowArrayStream stream;
    if (ttf_batches_export(self->batches, &stream) < 0)
        return PyErr_NoMemory();
    return capsule_from_stream(&stream);
}

static PyObject *result_iter(ResultObject *self)
{
    PyObject *rows = batches_to_pylist(self->batches);
    PyObject *it = rows ? PyObject_GetIter(rows) : NULL;
    Py_XDECREF(rows);
    return it;
}

static Py_ssize_t result_len(ResultObject *self)
{
    return (Py_ssize_t)self->batches->rows;
}

static PyObject *result_column_names(ResultObject *self, void *unused)
{
    (void)unused;
    return column_names(&self->batches->schema);
}

static PyObject *result_num_rows(ResultObject *self, void *unused)
{
    (void)unused;
    return PyLong_FromLongLong(self->batches->rows);
}

static PyObject *result_num_batches(ResultObject *self, void *unused)
{
    (void)unused;
    return PyLong_FromSize_t(self->batches->count);
}

static PyObject *result_repr(ResultObject *self)
{
    PyObject *names = column_names(&self->batches->schema);
    PyObject *repr = names ? PyUnicode_FromFormat("<SqlResult rows=%lld columns=%R>",
                                                  (long long)self->batches->rows, names)
                           : NULL;
    Py_XDECREF(names);
    return repr;
}

static PyMethodDef result_methods[] = {
    {"__arrow_c_stream__", TTF_KW(result_arrow_c_stream), METH_VARARGS | METH_KEYWORDS,
     "__arrow_c_stream__(requested_schema=None) -> PyCapsule\n\n"
     "Export the rows as an Arrow C stream (PyCapsule 'arrow_array_stream'). May be\n"
     "called any number of times; buffers are shared, not copied."},
    {"to_pylist", (PyCFunction)result_to_pylist, METH_NOARGS,
     "to_pylist() -> list[dict]\n\nRows as dicts of column name to Python value."},
    {"to_pydict", (PyCFunction)result_to_pydict, METH_NOARGS,
     "to_pydict() -> dict[str, list]\n\nColumns as lists, keyed by column name."},
    {NULL, NULL, 0, NULL}};

static PyGetSetDef result_getset[] = {
    {"column_names", (getter)result_column_names, NULL, "Column names, in order.", NULL},
    {"num_rows", (getter)result_num_rows, NULL, "Number of rows.", NULL},
    {"num_batches", (getter)result_num_batches, NULL, "Number of Arrow batches held.", NULL},
    {NULL, NULL, NULL, NULL, NULL}};

static PySequenceMethods result_sequence = {.sq_length = (lenfunc)result_len};

PyTypeObject ttf_ResultType = {
    PyVarObject_HEAD_INIT(NULL, 0)
    .tp_name = "timeseries_table_format._native.SqlResult",
    .tp_basicsize = sizeof(ResultObject),
    .tp_dealloc = (destructor)result_dealloc,
    .tp_repr = (reprfunc)result_repr,
    .tp_as_sequence = &result_sequence,
    .tp_flags = Py_TPFLAGS_DEFAULT,
    .tp_doc = "A query result held as Arrow batches. Implements __arrow_c_stream__ "
              "(pyarrow.table(result), polars.from_arrow(result), TimeSeriesTable.append(result)); "
              "iterating yields rows as dicts.",
    .tp_iter = (getiterfunc)result_iter,
    .tp_methods = result_methods,
    .tp_getset = result_getset,
};

/* ---- RecordBatchReader --------------------------------------------------- */

typedef struct ReaderObject {
    PyObject_HEAD
    struct ArrowArrayStream stream; /* release == NULL once closed or handed over */
    struct ArrowSchema schema;
    PyThread_type_lock lock;        /* one get_next at a time */
    PyObject *pending;              /* iterator over the current batch's rows */
} ReaderObject;

static void reader_lock(ReaderObject *self)
{
    if (PyThread_acquire_lock(self->lock, NOWAIT_LOCK))
        return;
    Py_BEGIN_ALLOW_THREADS
    PyThread_acquire_lock(self->lock, WAIT_LOCK);
    Py_END_ALLOW_THREADS
}

static PyObject *stream_failure(struct ArrowArrayStream *s, int rc)
{
    const char *detail = s->get_last_error ? s->get_last_error(s) : NULL;
    return ttf_raise_with(ttf_SqlError, detail && detail[0] ? detail : strerror(rc), NULL);
}

PyObject *ttf_reader_new(struct ArrowArrayStream *src)
{
    ReaderObject *self = PyObject_New(ReaderObject, &ttf_ReaderType);
    if (self == NULL) {
        src->release(src);
        return NULL;
    }
    self->stream = *src;
    src->release = NULL;
    memset(&self->schema, 0, sizeof self->schema);
    self->pending = NULL;
    self->lock = PyThread_allocate_lock();
    if (self->lock == NULL) {
        Py_DECREF(self);
        return PyErr_NoMemory();
    }
    int rc;
    Py_BEGIN_ALLOW_THREADS
    rc = self->stream.get_schema(&self->stream, &self->schema);
    Py_END_ALLOW_THREADS
    if (rc != 0) {
        stream_failure(&self->stream, rc);
        Py_DECREF(self);
        return NULL;
    }
    return (PyObject *)self;
}

static void reader_close_stream(ReaderObject *self)
{
    if (self->stream.release != NULL)
        self->stream.release(&self->stream);
}

static void reader_dealloc(ReaderObject *self)
{
    reader_close_stream(self);
    if (self->schema.release)
        self->schema.release(&self->schema);
    Py_XDECREF(self->pending);
    if (self->lock)
        PyThread_free_lock(self->lock);
    PyObject_Free(self);
}

/* One batch wrapped as batches of its own, with a copy of the schema. */
static PyObject *single_batch_result(ReaderObject *self, struct ArrowArray *array)
{
    ttf_batches *b = calloc(1, sizeof *b);
    if (b == NULL || ttf_schema_copy(&b->schema, &self->schema) < 0 ||
        (b->arrays = malloc(sizeof *b->arrays)) == NULL) {
        array->release(array);
        ttf_batches_decref(b);
        return PyErr_NoMemory();
    }
    atomic_init(&b->refs, 1);
    b->arrays[0] = *array;
    b->count = b->cap = 1;
    b->rows = array->length;
    return ttf_result_new(b);
}

/* The next batch with rows (producers may send empty ones); runs without
 * the GIL. At the end, array->release is NULL. */
static int next_non_empty(struct ArrowArrayStream *stream, struct ArrowArray *array)
{
    for (;;) {
        memset(array, 0, sizeof *array);
        int rc = stream->get_next(stream, array);
        if (rc != 0 || array->release == NULL || array->length > 0)
            return rc;
        array->release(array);
    }
}

static PyObject *reader_read_next_batch(ReaderObject *self, PyObject *unused)
{
    (void)unused;
    struct ArrowArray array;
    int rc = 0;
    reader_lock(self);
    if (self->stream.release == NULL) {
        PyThread_release_lock(self->lock);
        Py_RETURN_NONE;
    }
    Py_BEGIN_ALLOW_THREADS
    rc = next_non_empty(&self->stream, &array);
    Py_END_ALLOW_THREADS
    PyObject *out;
    if (rc != 0) {
        out = stream_failure(&self->stream, rc);
        reader_close_stream(self);
    } else if (array.release == NULL) {
        reader_close_stream(self); /* the end: give the producer back early */
        out = Py_NewRef(Py_None);
    } else {
        out = single_batch_result(self, &array);
    }
    PyThread_release_lock(self->lock);
    return out;
}

static PyObject *reader_read_all(ReaderObject *self, PyObject *unused)
{
    (void)unused;
    ttf_batches *b = NULL;
    char err[512] = "";
    reader_lock(self);
    if (self->stream.release != NULL) {
        struct ArrowArrayStream s = self->stream;
        self->stream.release = NULL; /* drain releases it */
        Py_BEGIN_ALLOW_THREADS
        b = ttf_batches_drain(&s, err, sizeof err);
        Py_END_ALLOW_THREADS
    } else {
        snprintf(err, sizeof err, "the reader is closed or was exported");
    }
    PyThread_release_lock(self->lock);
    return b ? ttf_result_new(b) : ttf_raise_with(ttf_SqlError, err, NULL);
}

static PyObject *reader_next(ReaderObject *self)
{
    for (;;) {
        if (self->pending != NULL) {
            PyObject *row = PyIter_Next(self->pending);
            if (row != NULL || PyErr_Occurred())
                return row;
            Py_CLEAR(self->pending);
        }
        PyObject *batch = reader_read_next_batch(self, NULL);
        if (batch == NULL || batch == Py_None) {
            Py_XDECREF(batch);
            return NULL; /* NULL without an error set: StopIteration */
        }
        self->pending = result_iter((ResultObject *)batch);
        Py_DECREF(batch);
        if (self->pending == NULL)
            return NULL;
    }
}

static PyObject *reader_arrow_c_stream(ReaderObject *self, PyObject *args, PyObject *kwargs)
{
    static char *kw[] = {"requested_schema", NULL};
    PyObject *requested = Py_None;
    if (!PyArg_ParseTupleAndKeywords(args, kwargs, "|O:__arrow_c_stream__", kw, &requested))
        return NULL;
    reader_lock(self);
    PyObject *out;
    if (self->stream.release == NULL)
        out = PyErr_Format(PyExc_ValueError, "the reader was already consumed or closed");
    else
        out = capsule_from_stream(&self->stream);
    PyThread_release_lock(self->lock);
    return out;
}

static PyObject *reader_close(ReaderObject *self, PyObject *unused)
{
    (void)unused;
    reader_lock(self);
    reader_close_stream(self);
    Py_CLEAR(self->pending);
    PyThread_release_lock(self->lock);
    Py_RETURN_NONE;
}

static PyObject *reader_enter(PyObject *self, PyObject *unused)
{
    (void)unused;
    return Py_NewRef(self);
}

static PyObject *reader_exit(ReaderObject *self, PyObject *args)
{
    (void)args;
    return reader_close(self, NULL);
}

static PyObject *reader_column_names(ReaderObject *self, void *unused)
{
    (void)unused;
    return column_names(&self->schema);
}

static PyObject *reader_closed(ReaderObject *self, void *unused)
{
    (void)unused;
    return PyBool_FromLong(self->stream.release == NULL);
}

static PyMethodDef reader_methods[] = {
    {"__arrow_c_stream__", TTF_KW(reader_arrow_c_stream), METH_VARARGS | METH_KEYWORDS,
     "__arrow_c_stream__(requested_schema=None) -> PyCapsule\n\n"
     "Hand the live stream over (once); the reader is consumed afterwards."},
    {"read_next_batch", (PyCFunction)reader_read_next_batch, METH_NOARGS,
     "read_next_batch() -> SqlResult | None\n\nThe next batch, or None at the end."},
    {"read_all", (PyCFunction)reader_read_all, METH_NOARGS,
     "read_all() -> SqlResult\n\nEvery remaining batch."},
    {"close", (PyCFunction)reader_close, METH_NOARGS,
     "close() -> None\n\nRelease the stream now (idempotent)."},
    {"__enter__", (PyCFunction)reader_enter, METH_NOARGS, "Return self."},
    {"__exit__", (PyCFunction)reader_exit, METH_VARARGS, "close()."},
    {NULL, NULL, 0, NULL}};

static PyGetSetDef reader_getset[] = {
    {"column_names", (getter)reader_column_names, NULL, "Column names, in order.", NULL},
    {"closed", (getter)reader_closed, NULL, "True once read to the end, closed or exported.",
     NULL},
    {NULL, NULL, NULL, NULL, NULL}};

PyTypeObject ttf_ReaderType = {
    PyVarObject_HEAD_INIT(NULL, 0)
    .tp_name = "timeseries_table_format._native.RecordBatchReader",
    .tp_basicsize = sizeof(ReaderObject),
    .tp_dealloc = (destructor)reader_dealloc,
    .tp_flags = Py_TPFLAGS_DEFAULT,
    .tp_doc = "A streaming result. Iterating yields rows as dicts; read_next_batch() yields "
              "SqlResult batches; __arrow_c_stream__() hands the stream to another library.",
    .tp_iter = PyObject_SelfIter,
    .tp_iternext = (iternextfunc)reader_next,
    .tp_methods = reader_methods,
    .tp_getset = reader_getset,
};
