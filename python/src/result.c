/*
 * result.c — the extension's result objects and the Arrow PyCapsules.
 *
 * The package hands results out as pyarrow objects; these are what pyarrow
 * imports them from, through the Arrow PyCapsule interface.
 *
 * SqlResult is a query's (or scan's) full result, held as the Arrow batches
 * the library produced (arrow_export.c), drained in C so that a failing
 * statement raises SqlError. __arrow_c_stream__() returns a capsule named
 * "arrow_array_stream" wrapping a fresh ArrowArrayStream over the shared
 * batches; whoever imports it moves the stream out, and the capsule's
 * destructor releases the stream only if nobody did.
 *
 * RecordBatchReader holds a live stream: __arrow_c_stream__() hands it over
 * once (pyarrow.RecordBatchReader.from_stream then reads it batch by batch);
 * close() releases it early and is idempotent.
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
        /* KeyboardInterrupt, SystemExit and the like are control flow, not a
         * bad source: they go through as they are. */
        if (!PyErr_ExceptionMatches(PyExc_Exception))
            return -1;
        _PyErr_FormatFromCause(PyExc_ValueError, "source.__arrow_c_stream__() failed");
        return -1;
    }
    int rc = -1;
    if (!PyCapsule_CheckExact(capsule)) {
        PyErr_Format(PyExc_ValueError, "source.__arrow_c_stream__() must return an Arrow C Stream "
                     "capsule (a PyCapsule named 'arrow_array_stream'), not %s",
                     Py_TYPE(capsule)->tp_name);
    } else if (!PyCapsule_IsValid(capsule, STREAM_CAPSULE)) {
        const char *name = PyCapsule_GetName(capsule);
        PyErr_Clear();
        PyErr_Format(PyExc_ValueError, "capsule name '%s' is not 'arrow_array_stream'",
                     name ? name : "(no name)");
        _PyErr_FormatFromCause(PyExc_ValueError, "source.__arrow_c_stream__() returned an "
                               "invalid Arrow C Stream capsule (named '%s', not "
                               "'arrow_array_stream')", name ? name : "(no name)");
    } else {
        struct ArrowArrayStream *s = PyCapsule_GetPointer(capsule, STREAM_CAPSULE);
        if (s->release == NULL) {
            PyErr_SetString(PyExc_ValueError, "the Arrow C Stream capsule was already released "
                            "(consumed by an earlier reader); pass a fresh stream");
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

static PyObject *result_repr(ResultObject *self)
{
    return PyUnicode_FromFormat("<SqlResult rows=%lld>", (long long)self->batches->rows);
}

static PyMethodDef result_methods[] = {
    {"__arrow_c_stream__", TTF_KW(result_arrow_c_stream), METH_VARARGS | METH_KEYWORDS,
     "__arrow_c_stream__(requested_schema=None) -> PyCapsule\n\n"
     "Export the rows as an Arrow C stream (PyCapsule 'arrow_array_stream'). May be\n"
     "called any number of times; buffers are shared, not copied."},
    {NULL, NULL, 0, NULL}};

PyTypeObject ttf_ResultType = {
    PyVarObject_HEAD_INIT(NULL, 0)
    .tp_name = "timeseries_table_format._native.SqlResult",
    .tp_basicsize = sizeof(ResultObject),
    .tp_dealloc = (destructor)result_dealloc,
    .tp_repr = (reprfunc)result_repr,
    .tp_flags = Py_TPFLAGS_DEFAULT,
    .tp_doc = "A query result held as Arrow batches, for pyarrow to import through "
              "__arrow_c_stream__.",
    .tp_methods = result_methods,
};

/* ---- RecordBatchReader --------------------------------------------------- */

typedef struct ReaderObject {
    PyObject_HEAD
    struct ArrowArrayStream stream; /* release == NULL once closed or handed over */
    struct ArrowSchema schema;
    PyThread_type_lock lock;        /* serialises hand-over and close */
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
    if (self->lock)
        PyThread_free_lock(self->lock);
    PyObject_Free(self);
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

static PyObject *reader_closed(ReaderObject *self, void *unused)
{
    (void)unused;
    return PyBool_FromLong(self->stream.release == NULL);
}

static PyMethodDef reader_methods[] = {
    {"__arrow_c_stream__", TTF_KW(reader_arrow_c_stream), METH_VARARGS | METH_KEYWORDS,
     "__arrow_c_stream__(requested_schema=None) -> PyCapsule\n\n"
     "Hand the live stream over (once); the reader is consumed afterwards."},
    {"close", (PyCFunction)reader_close, METH_NOARGS,
     "close() -> None\n\nRelease the stream now (idempotent)."},
    {"__enter__", (PyCFunction)reader_enter, METH_NOARGS, "Return self."},
    {"__exit__", (PyCFunction)reader_exit, METH_VARARGS, "close()."},
    {NULL, NULL, 0, NULL}};

static PyGetSetDef reader_getset[] = {
    {"closed", (getter)reader_closed, NULL, "True once closed or handed over.",
     NULL},
    {NULL, NULL, NULL, NULL, NULL}};

PyTypeObject ttf_ReaderType = {
    PyVarObject_HEAD_INIT(NULL, 0)
    .tp_name = "timeseries_table_format._native.RecordBatchReader",
    .tp_basicsize = sizeof(ReaderObject),
    .tp_dealloc = (destructor)reader_dealloc,
    .tp_flags = Py_TPFLAGS_DEFAULT,
    .tp_doc = "A streaming result, for pyarrow to take over through __arrow_c_stream__.",
    .tp_methods = reader_methods,
    .tp_getset = reader_getset,
};
