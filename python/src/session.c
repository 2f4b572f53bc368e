/*
 * session.c — Session: SQL over registered tstables and Parquet files.
 *
 * A Session wraps one tst_session (session.h), which runs one statement at
 * a time and whose result stream must be released (or read to the end)
 * before the next call. Two things follow:
 *
 *  - sql() drains the whole result into a SqlResult before returning, so
 *    the session is free again at once; sql_reader() streams, and until its
 *    stream ends or is released, every other call on the session raises
 *    instead of corrupting the running statement;
 *  - the stream handed to a RecordBatchReader is wrapped ("guarded") so
 *    that its end or release clears the busy mark and drops a reference on
 *    the session core. The wrapper may be released by any library, on any
 *    thread, without the GIL, so the core is plain C with atomic counts,
 *    and the tst_session is freed when both the Session and its last
 *    stream are gone.
 *
 * Python threads sharing a Session are serialised by a lock taken with the
 * GIL released. Statement execution and draining run without the GIL.
 */
#include "ttf.h"

#include <stdlib.h>
#include <string.h>

#include "tstable/session.h"

typedef struct session_core {
    tst_session *session;
    atomic_int refs;
    atomic_int busy; /* a streaming result is open */
} session_core;

static void core_decref(session_core *core)
{
    if (atomic_fetch_sub(&core->refs, 1) == 1) {
        tst_session_free(core->session);
        free(core);
    }
}

/* ---- guarded streams ------------------------------------------------------ */

typedef struct guarded {
    struct ArrowArrayStream inner;
    session_core *core;
    int ended;
} guarded;

static void guarded_end(guarded *g)
{
    if (!g->ended) {
        g->ended = 1;
        atomic_store(&g->core->busy, 0);
    }
}

static int guarded_get_schema(struct ArrowArrayStream *s, struct ArrowSchema *out)
{
    guarded *g = s->private_data;
    return g->inner.get_schema(&g->inner, out);
}

static int guarded_get_next(struct ArrowArrayStream *s, struct ArrowArray *out)
{
    guarded *g = s->private_data;
    int rc = g->inner.get_next(&g->inner, out);
    if (rc == 0 && out->release == NULL)
        guarded_end(g); /* read to the end: session.h allows the next statement */
    return rc;
}

static const char *guarded_last_error(struct ArrowArrayStream *s)
{
    guarded *g = s->private_data;
    return g->inner.get_last_error ? g->inner.get_last_error(&g->inner) : NULL;
}

static void guarded_release(struct ArrowArrayStream *s)
{
    guarded *g = s->private_data;
    g->inner.release(&g->inner);
    guarded_end(g);
    core_decref(g->core);
    free(g);
    s->release = NULL;
}

static int guard_stream(session_core *core, struct ArrowArrayStream *stream)
{
    guarded *g = malloc(sizeof *g);
    if (g == NULL) {
        stream->release(stream);
        return -1;
    }
    g->inner = *stream;
    g->core = core;
    g->ended = 0;
    atomic_fetch_add(&core->refs, 1);
    atomic_store(&core->busy, 1);
    stream->get_schema = guarded_get_schema;
    stream->get_next = guarded_get_next;
    stream->get_last_error = guarded_last_error;
    stream->release = guarded_release;
    stream->private_data = g;
    return 0;
}

/* ---- the object ------------------------------------------------------------ */

typedef struct SessionObject {
    PyObject_HEAD
    session_core *core;
    PyThread_type_lock lock;
} SessionObject;

static PyObject *session_new(PyTypeObject *type, PyObject *args, PyObject *kwargs)
{
    if (!PyArg_ParseTuple(args, ":Session") || (kwargs && PyDict_Size(kwargs) > 0)) {
        if (!PyErr_Occurred())
            PyErr_SetString(PyExc_TypeError, "Session() takes no arguments");
        return NULL;
    }
    tst_session *s = NULL;
    int rc;
    Py_BEGIN_ALLOW_THREADS
    rc = tst_session_open(&s);
    Py_END_ALLOW_THREADS
    if (rc != 0)
        return ttf_raise_last(NULL, NULL);
    SessionObject *self = (SessionObject *)type->tp_alloc(type, 0);
    session_core *core = self ? calloc(1, sizeof *core) : NULL;
    if (core == NULL || (self->lock = PyThread_allocate_lock()) == NULL) {
        free(core);
        tst_session_free(s);
        Py_XDECREF(self);
        return self ? PyErr_NoMemory() : NULL;
    }
    core->session = s;
    atomic_init(&core->refs, 1);
    atomic_init(&core->busy, 0);
    self->core = core;
    return (PyObject *)self;
}

static void session_dealloc(SessionObject *self)
{
    if (self->core)
        core_decref(self->core);
    if (self->lock)
        PyThread_free_lock(self->lock);
    Py_TYPE(self)->tp_free((PyObject *)self);
}

/* Takes the lock (GIL released while waiting) and refuses while a
 * streaming result is open; returns 0 holding the lock, -1 otherwise. */
static int enter(SessionObject *self)
{
    if (!PyThread_acquire_lock(self->lock, NOWAIT_LOCK)) {
        Py_BEGIN_ALLOW_THREADS
        PyThread_acquire_lock(self->lock, WAIT_LOCK);
        Py_END_ALLOW_THREADS
    }
    if (!atomic_load(&self->core->busy))
        return 0;
    PyThread_release_lock(self->lock);
    ttf_raise_with(ttf_TimeseriesTableError, "the session is busy: a sql_reader() result is "
                   "still streaming; read it to the end or close() it first", NULL);
    return -1;
}

static void leave(SessionObject *self)
{
    PyThread_release_lock(self->lock);
}

static int name_arg(PyObject *obj, const char *what, char **out)
{
    const char *s = PyUnicode_Check(obj) ? PyUnicode_AsUTF8(obj) : NULL;
    if (s == NULL) {
        if (!PyErr_Occurred())
            PyErr_Format(PyExc_TypeError, "%s must be a str", what);
        return -1;
    }
    if (s[0] == '\0') {
        PyErr_Format(PyExc_ValueError, "%s must be non-empty", what);
        return -1;
    }
    return (*out = ttf_strdup(s)) ? 0 : -1;
}

/* SqlError for a failed registration, with attributes name and
 * `what` (table_root or path) as str. */
static PyObject *raise_registration(const char *message, const char *name, const char *what,
                                    const char *location)
{
    PyObject *n = PyUnicode_FromString(name);
    PyObject *l = n ? PyUnicode_DecodeFSDefault(location) : NULL;
    PyObject *c = l ? PyUnicode_FromString(tst_error_name(tst_error_last()->code)) : NULL;
    if (c != NULL)
        ttf_raise_with(ttf_SqlError, message, "name", n, what, l, "code", c, NULL);
    Py_XDECREF(n);
    Py_XDECREF(l);
    Py_XDECREF(c);
    return NULL;
}

/* ---- registrations ----------------------------------------------------------- */

/* _version (an int, or None) and _as_of ((seconds, nanoseconds) in UTC or None)
 * come checked from the package's register_tstable(version=, as_of=). */
static int register_pinned(tst_session *s, const char *name, const char *root, bool by_version,
                           unsigned long long version, bool by_time, tst_timestamp at)
{
    if (by_time)
        return tst_session_register_table_as_of(s, name, root, at);
    if (by_version)
        return tst_session_register_table_at(s, name, root, (uint64_t)version);
    return tst_session_register_table(s, name, root);
}

static PyObject *register_tstable(SessionObject *self, PyObject *args, PyObject *kwargs)
{
    static char *kw[] = {"name", "table_root", "_version", "_as_of", NULL};
    PyObject *name_obj, *root_obj, *version_obj = Py_None, *as_of = Py_None;
    unsigned long long version = 0;
    long long sec = 0;
    unsigned int nsec = 0;
    if (!PyArg_ParseTupleAndKeywords(args, kwargs, "OO|$OO:register_tstable", kw, &name_obj,
                                     &root_obj, &version_obj, &as_of))
        return NULL;
    if (version_obj != Py_None) {
        version = PyLong_AsUnsignedLongLong(version_obj);
        if (version == (unsigned long long)-1 && PyErr_Occurred())
            return NULL;
    }
    if (as_of != Py_None && !PyArg_ParseTuple(as_of, "LI:register_tstable", &sec, &nsec))
        return NULL;
    tst_timestamp at = {(int64_t)sec, (uint32_t)nsec};
    char *name = NULL, *root = NULL;
    PyObject *out = NULL;
    if (name_arg(name_obj, "name", &name) == 0 && ttf_path_arg(root_obj, &root) == 0 &&
        enter(self) == 0) {
        int rc;
        Py_BEGIN_ALLOW_THREADS
        rc = register_pinned(self->core->session, name, root, version_obj != Py_None, version,
                             as_of != Py_None, at);
        Py_END_ALLOW_THREADS
        if (rc == TST_EEMPTY) /* the reference reports a table without schema from SQL */
            raise_registration(tst_error_last()->message, name, "table_root", root);
        else
            out = rc == 0 ? Py_NewRef(Py_None) : ttf_raise_last(root, NULL);
        leave(self);
    }
    free(name);
    free(root);
    return out;
}

static PyObject *register_parquet(SessionObject *self, PyObject *args, PyObject *kwargs)
{
    static char *kw[] = {"name", "path", NULL};
    PyObject *name_obj, *path_obj;
    if (!PyArg_ParseTupleAndKeywords(args, kwargs, "OO:register_parquet", kw, &name_obj, &path_obj))
        return NULL;
    char *name = NULL, *path = NULL;
    PyObject *out = NULL;
    if (name_arg(name_obj, "name", &name) == 0 && ttf_path_arg(path_obj, &path) == 0) {
        if (path[0] == '\0')
            PyErr_SetString(PyExc_ValueError, "path must be non-empty");
        else if (enter(self) == 0) {
            int rc;
            Py_BEGIN_ALLOW_THREADS
            rc = tst_session_register_parquet(self->core->session, name, path);
            Py_END_ALLOW_THREADS
            out = rc == 0 ? Py_NewRef(Py_None)
                          : raise_registration(tst_error_last()->message, name, "path", path);
            leave(self);
        }
    }
    free(name);
    free(path);
    return out;
}

static PyObject *deregister(SessionObject *self, PyObject *name_obj)
{
    char *name = NULL;
    if (name_arg(name_obj, "name", &name) < 0 || enter(self) < 0) {
        free(name);
        return NULL;
    }
    int rc = tst_session_deregister(self->core->session, name);
    PyObject *out = rc == 0 ? Py_NewRef(Py_None) : NULL;
    if (rc == TST_ENOTFOUND)
        PyErr_SetObject(PyExc_KeyError, name_obj);
    else if (rc != 0)
        ttf_raise_last(NULL, NULL);
    leave(self);
    free(name);
    return out;
}

static PyObject *tables(SessionObject *self, PyObject *unused)
{
    (void)unused;
    if (enter(self) < 0)
        return NULL;
    size_t n = tst_session_name_count(self->core->session);
    PyObject *list = PyList_New((Py_ssize_t)n);
    for (size_t i = 0; list && i < n; i++) {
        PyObject *s = PyUnicode_FromString(tst_session_name_at(self->core->session, i));
        if (s == NULL)
            Py_CLEAR(list);
        else
            PyList_SET_ITEM(list, (Py_ssize_t)i, s);
    }
    leave(self);
    if (list && PyList_Sort(list) < 0) /* sorted by the library; cheap to be sure */
        Py_CLEAR(list);
    return list;
}

static PyObject *last_prune(SessionObject *self, PyObject *unused)
{
    (void)unused;
    if (enter(self) < 0)
        return NULL;
    tst_prune_stats st = {0, 0, 0, 0};
    tst_session_last_prune(self->core->session, &st);
    leave(self);
    return Py_BuildValue("{s:K,s:K,s:K,s:K}", "candidate_segments",
                         (unsigned long long)st.candidate_segments, "kept_segments",
                         (unsigned long long)st.kept_segments, "range_skipped_segments",
                         (unsigned long long)st.range_skipped_segments, "bitmap_skipped_segments",
                         (unsigned long long)st.bitmap_skipped_segments);
}

/* ---- params ------------------------------------------------------------------ */

typedef struct param_args {
    tst_param *params;
    size_t count;
    PyObject *keep; /* bytes/str objects whose buffers params point into */
} param_args;

static const char params_type_msg[] =
    "params values must be one of: None, bool, int, float, decimal.Decimal, str, bytes, "
    "datetime.datetime, datetime.date";

/* Points p at the buffer of `bytes` (a new reference, stolen), kept alive
 * and immutable in a->keep, which outlives the call. */
static int param_bytes(param_args *a, PyObject *bytes, tst_param_type type, tst_param *p)
{
    if (bytes == NULL || PyList_Append(a->keep, bytes) < 0) {
        Py_XDECREF(bytes);
        return -1;
    }
    p->type = type;
    p->v.bytes.ptr = PyBytes_AS_STRING(bytes);
    p->v.bytes.len = (size_t)PyBytes_GET_SIZE(bytes);
    Py_DECREF(bytes);
    return 0;
}

/* -2^63..2^63-1 binds as BIGINT; 2^63..2^64-1 as UBIGINT, so uint64 index
 * values near 2^64 can be compared (and pruned on). */
static int param_int(PyObject *v, const char *label, tst_param *p)
{
    int overflow = 0;
    long long x = PyLong_AsLongLongAndOverflow(v, &overflow);
    if (!overflow) {
        p->type = TST_PARAM_INT64;
        p->v.i64 = x;
        return x == -1 && PyErr_Occurred() ? -1 : 0;
    }
    if (overflow > 0) {
        unsigned long long u = PyLong_AsUnsignedLongLong(v);
        if (!PyErr_Occurred()) {
            p->type = TST_PARAM_UINT64;
            p->v.u64 = u;
            return 0;
        }
        PyErr_Clear();
    }
    PyErr_Format(PyExc_ValueError, "int parameter %s = %S is out of range: SQL integer "
                 "parameters take -2**63 .. 2**64-1 (BIGINT, UBIGINT from 2**63); pass a "
                 "decimal.Decimal or str for wider values", label, v);
    return -1;
}

/* A Decimal binds as its exact plain text ("12.340", never "1.234E+1"),
 * which the engine casts to the DECIMAL (or other numeric) it compares with. */
static int param_decimal(param_args *a, PyObject *v, const char *label, tst_param *p)
{
    PyObject *finite = PyObject_CallMethod(v, "is_finite", NULL);
    if (finite == NULL)
        return -1;
    int ok = PyObject_IsTrue(finite);
    Py_DECREF(finite);
    if (ok == 0)
        PyErr_Format(PyExc_ValueError, "decimal parameter %s = %R has no SQL DECIMAL value; "
                     "pass a float for NaN or infinity", label, v);
    if (ok != 1)
        return -1;
    PyObject *spec = PyUnicode_FromString("f");
    PyObject *text = spec ? PyObject_Format(v, spec) : NULL;
    Py_XDECREF(spec);
    PyObject *bytes = text ? PyUnicode_AsUTF8String(text) : NULL;
    Py_XDECREF(text);
    return param_bytes(a, bytes, TST_PARAM_TEXT, p);
}

/* Fills one parameter; `label` ("$1", "$name") names it in errors. */
static int param_value(param_args *a, PyObject *v, const char *label, tst_param *p)
{
    char when[TST_TIMESTAMP_TEXT_MAX];
    int is_time, is_decimal;
    if (v == Py_None) {
        p->type = TST_PARAM_NULL;
    } else if (PyBool_Check(v)) {
        p->type = TST_PARAM_BOOL;
        p->v.b = v == Py_True;
    } else if (PyLong_Check(v)) {
        return param_int(v, label, p);
    } else if (PyFloat_Check(v)) {
        p->type = TST_PARAM_DOUBLE;
        p->v.f64 = PyFloat_AS_DOUBLE(v);
    } else if (PyUnicode_Check(v)) {
        return param_bytes(a, PyUnicode_AsUTF8String(v), TST_PARAM_TEXT, p);
    } else if (PyBytes_Check(v)) {
        return param_bytes(a, Py_NewRef(v), TST_PARAM_BLOB, p);
    } else if ((is_time = ttf_time_param_text(v, when, sizeof when)) != 0) {
        return is_time < 0 ? -1 : param_bytes(a, PyBytes_FromString(when), TST_PARAM_TEXT, p);
    } else if ((is_decimal = PyObject_IsInstance(v, ttf_decimal_type)) != 0) {
        return is_decimal < 0 ? -1 : param_decimal(a, v, label, p);
    } else if (PyIndex_Check(v)) { /* numpy integers and other int-likes */
        PyObject *i = PyNumber_Index(v);
        int rc = i ? param_int(i, label, p) : -1;
        Py_XDECREF(i);
        return rc;
    } else {
        if (!PyErr_Occurred())
            PyErr_Format(PyExc_TypeError, "%s (parameter %s is %.100s)", params_type_msg, label,
                         Py_TYPE(v)->tp_name);
        return -1;
    }
    return 0;
}

static int param_name(param_args *a, PyObject *key, tst_param *p)
{
    if (!PyUnicode_Check(key)) {
        PyErr_SetString(PyExc_TypeError, "params dict keys must be str");
        return -1;
    }
    PyObject *bytes = PyUnicode_AsUTF8String(key);
    if (bytes == NULL || PyList_Append(a->keep, bytes) < 0) {
        Py_XDECREF(bytes);
        return -1;
    }
    const char *name = PyBytes_AS_STRING(bytes);
    p->name = name[0] == '$' ? name + 1 : name;
    Py_DECREF(bytes);
    return 0;
}

static void params_free(param_args *a)
{
    free(a->params);
    Py_XDECREF(a->keep);
}

static int params_from_py(PyObject *obj, param_args *a)
{
    memset(a, 0, sizeof *a);
    if (obj == Py_None)
        return 0;
    int is_dict = PyDict_Check(obj);
    if (!is_dict && !PyList_Check(obj) && !PyTuple_Check(obj)) {
        PyErr_SetString(PyExc_TypeError, "params must be a dict (named $param) or list/tuple "
                        "(positional $1, $2, ...)");
        return -1;
    }
    PyObject *items = is_dict ? PyDict_Items(obj) : PySequence_List(obj);
    Py_ssize_t n = items ? PyList_GET_SIZE(items) : 0;
    a->keep = PyList_New(0);
    a->params = calloc((size_t)n + 1, sizeof *a->params);
    int rc = items && a->keep && a->params ? 0 : -1;
    for (Py_ssize_t i = 0; rc == 0 && i < n; i++) {
        PyObject *item = PyList_GET_ITEM(items, i);
        tst_param *p = &a->params[i];
        rc = is_dict ? param_name(a, PyTuple_GET_ITEM(item, 0), p) : 0;
        char label[96];
        if (p->name)
            snprintf(label, sizeof label, "$%.80s", p->name);
        else
            snprintf(label, sizeof label, "$%zd", i + 1);
        if (rc == 0)
            rc = param_value(a, is_dict ? PyTuple_GET_ITEM(item, 1) : item, label, p);
        a->count = (size_t)i + 1;
    }
    Py_XDECREF(items);
    if (rc < 0 && !PyErr_Occurred())
        PyErr_NoMemory();
    if (rc < 0)
        params_free(a);
    return rc;
}

/* ---- statements ---------------------------------------------------------------- */

/* A warn-mode check's findings, taken while the session is held, issued
 * after it is left (a warning filter may run any Python). */
typedef struct coverage_warning {
    char *message; /* NULL: nothing to warn about */
    PyObject *missing, *checked;
} coverage_warning;

static int take_warning(tst_session *s, coverage_warning *w)
{
    const tst_coverage_report *r = tst_session_last_coverage(s);
    if (!r || r->mode != TST_COVERAGE_WARN || r->complete)
        return 0;
    w->message = ttf_strdup(r->message);
    w->missing = ttf_coverage_missing_to_py(r);
    w->checked = ttf_coverage_checked_to_py(r);
    return w->message && w->missing && w->checked ? 0 : -1;
}

/* Issues the warning (or drops it); -1 when it became an exception. */
static int give_warning(coverage_warning *w, int ok)
{
    int rc = ok && w->message ? ttf_warn_coverage(w->message, w->missing, w->checked) : 0;
    if (!ok || !w->message) {
        Py_XDECREF(w->missing);
        Py_XDECREF(w->checked);
    }
    free(w->message);
    memset(w, 0, sizeof *w);
    return rc;
}

/* The statement under the coverage mode asked for, the session's own
 * mode restored after. */
static int run_checked(session_core *core, const char *sql, const param_args *pa,
                       tst_coverage_mode mode, tst_calendar *cal, struct ArrowArrayStream *out)
{
    tst_session *s = core->session;
    tst_coverage_mode before = tst_session_coverage_mode(s);
    int rc = tst_session_set_coverage_mode(s, mode);
    tst_session_set_coverage_calendar(s, cal); /* the session owns it now */
    if (rc == 0) {
        Py_BEGIN_ALLOW_THREADS
        rc = tst_session_query(s, sql, pa->params, pa->count, out);
        Py_END_ALLOW_THREADS
    }
    tst_session_set_coverage_mode(s, before);
    tst_session_set_coverage_calendar(s, NULL);
    return rc;
}

/* Parses (query, params, require_coverage) and runs the statement; the
 * caller holds the lock (taken here) on success and owns *out and *w. */
static int start_query(SessionObject *self, PyObject *args, PyObject *kwargs, const char *fn,
                       struct ArrowArrayStream *out, coverage_warning *w)
{
    static char *kw[] = {"query", "params", "require_coverage", "calendar", NULL};
    PyObject *params = Py_None, *require = Py_False, *calendar = Py_None;
    const char *query;
    char fmt[64];
    tst_coverage_mode mode = TST_COVERAGE_OFF;
    tst_calendar *cal = NULL;
    snprintf(fmt, sizeof fmt, "s|OOO:%s", fn);
    if (!PyArg_ParseTupleAndKeywords(args, kwargs, fmt, kw, &query, &params, &require,
                                     &calendar) ||
        ttf_coverage_mode_from_py(require, &mode) < 0)
        return -1;
    if (calendar != Py_None && mode == TST_COVERAGE_OFF) {
        PyErr_SetString(PyExc_ValueError, "calendar= applies to the coverage check: give it "
                                          "with require_coverage=True or \"warn\"");
        return -1;
    }
    if (ttf_calendar_from_py(calendar, &cal) < 0)
        return -1;
    param_args pa;
    char *sql = ttf_strdup(query);
    if (sql == NULL || params_from_py(params, &pa) < 0) {
        free(sql);
        tst_calendar_free(cal);
        return -1;
    }
    int rc = enter(self);
    if (rc != 0)
        tst_calendar_free(cal);
    if (rc == 0) {
        rc = run_checked(self->core, sql, &pa, mode, cal, out);
        const tst_coverage_report *r = tst_session_last_coverage(self->core->session);
        if (rc == TST_EINCOMPLETE && r)
            ttf_raise_incomplete(r, NULL);
        else if (rc != 0)
            ttf_raise_last_statement();
        else if (take_warning(self->core->session, w) < 0)
            rc = -1;
        if (rc != 0) {
            if (out->release)
                out->release(out);
            give_warning(w, 0);
            leave(self);
        }
    }
    params_free(&pa);
    free(sql);
    return rc == 0 ? 0 : -1;
}

static PyObject *sql(SessionObject *self, PyObject *args, PyObject *kwargs)
{
    struct ArrowArrayStream stream = {0};
    coverage_warning w = {NULL, NULL, NULL};
    if (start_query(self, args, kwargs, "sql", &stream, &w) < 0)
        return NULL;
    char err[1024] = "";
    ttf_batches *b;
    Py_BEGIN_ALLOW_THREADS
    b = ttf_batches_drain(&stream, err, sizeof err);
    Py_END_ALLOW_THREADS
    leave(self);
    PyObject *result = b ? ttf_result_new(b) : ttf_raise_with(ttf_SqlError, err, NULL);
    if (give_warning(&w, result != NULL) < 0)
        Py_CLEAR(result);
    return result;
}

static PyObject *sql_reader(SessionObject *self, PyObject *args, PyObject *kwargs)
{
    struct ArrowArrayStream stream = {0};
    coverage_warning w = {NULL, NULL, NULL};
    if (start_query(self, args, kwargs, "sql_reader", &stream, &w) < 0)
        return NULL;
    int rc = guard_stream(self->core, &stream);
    leave(self);
    PyObject *reader = rc == 0 ? ttf_reader_new(&stream) : PyErr_NoMemory();
    if (give_warning(&w, reader != NULL) < 0)
        Py_CLEAR(reader);
    return reader;
}

static PyMethodDef session_methods[] = {
    {"register_tstable", TTF_KW(register_tstable), METH_VARARGS | METH_KEYWORDS,
     "register_tstable(name, table_root) -> None\n\n"
     "Register the table at table_root as `name`; it answers at its latest version\n"
     "in every statement. Replaces an existing registration only on success."},
    {"register_parquet", TTF_KW(register_parquet), METH_VARARGS | METH_KEYWORDS,
     "register_parquet(name, path) -> None\n\nRegister a Parquet file, folder or glob as "
     "`name`.\nFailures raise SqlError with attributes name and path."},
    {"deregister", (PyCFunction)deregister, METH_O,
     "deregister(name) -> None\n\nForget a registration; KeyError(name) if there is none."},
    {"tables", (PyCFunction)tables, METH_NOARGS,
     "tables() -> list[str]\n\nRegistered names, sorted."},
    {"sql", TTF_KW(sql), METH_VARARGS | METH_KEYWORDS,
     "sql(query, params=None, require_coverage=False) -> SqlResult\n\n"
     "Run one statement and return all its rows. params: a list/tuple for $1, $2, ...\n"
     "or a dict for $name (keys may start with '$'). Values: None, bool, int\n"
     "(-2**63 .. 2**64-1; UBIGINT from 2**63), float, str, bytes, decimal.Decimal\n"
     "(exact text), datetime.datetime (UTC text; naive = UTC) and datetime.date\n"
     "('YYYY-MM-DD'); text values take the type the statement gives the parameter\n"
     "(write $1::TIMESTAMPTZ where nothing does, e.g. SELECT $1).\n"
     "require_coverage=True checks first that every (entity, bucket) slot the statement\n"
     "reads of a registered tstable is covered, and raises IncompleteCoverageError\n"
     "(nothing run) if not; \"warn\" issues CoverageWarning and runs."},
    {"sql_reader", TTF_KW(sql_reader), METH_VARARGS | METH_KEYWORDS,
     "sql_reader(query, params=None, require_coverage=False) -> RecordBatchReader\n\n"
     "Run one statement and stream its rows. Until the reader is read to the end or\n"
     "closed, other calls on this session raise TimeseriesTableError."},
    {"last_prune", (PyCFunction)last_prune, METH_NOARGS,
     "last_prune() -> dict\n\nSegments considered and kept by the last statement's pruning, and the "
     "skipped ones by cause: index range (min/max, identity) or coverage bitmap."},
    {NULL, NULL, 0, NULL}};

PyTypeObject ttf_SessionType = {
    PyVarObject_HEAD_INIT(NULL, 0)
    .tp_name = "timeseries_table_format._native.Session",
    .tp_basicsize = sizeof(SessionObject),
    .tp_dealloc = (destructor)session_dealloc,
    .tp_flags = Py_TPFLAGS_DEFAULT | Py_TPFLAGS_BASETYPE,
    .tp_doc = "A SQL workspace (DuckDB): register tstables and Parquet files, then query them.",
    .tp_new = session_new,
    .tp_methods = session_methods,
};
