/*
 * optimize.c — TimeSeriesTable.optimize(): entity-layout optimization
 * (the default, the reference's) or compaction (mode="compact"), see
 * tstable/optimize.h, from Python.
 *
 * Keywords: mode ("entity_layout" or "entity-layout", "compact"), and for
 * compaction target_rows, target_bytes (None or 0: the defaults) and window
 * (index units: seconds for timestamp indexes; the package turns a
 * timedelta or "30d" into seconds).
 *
 * The native method returns the report as a dict with the reference's
 * OptimizeReport field names (plus "attempts"); the package wraps it in
 * timeseries_table_format._optimize.OptimizeReport, read-only properties
 * like the reference's class. Under the handle's lock and with the GIL
 * released, as appends run; the library refreshes the handle first, so the
 * candidates are those of the latest commit. Errors carry table_root, as
 * every table operation's do (the reference raises a plain
 * TimeseriesTableError for "not applicable"; TST_EINVAL maps to it).
 */
#include "ttf.h"

#include "tstable/optimize.h"

static int set_u64(PyObject *dict, const char *key, uint64_t value)
{
    PyObject *v = PyLong_FromUnsignedLongLong(value);
    int rc = v ? PyDict_SetItemString(dict, key, v) : -1;
    Py_XDECREF(v);
    return rc;
}

static PyObject *report_dict(const tst_optimize_report *r)
{
    PyObject *d = PyDict_New();
    if (d == NULL)
        return NULL;
    if (set_u64(d, "starting_version", r->starting_version) < 0 ||
        set_u64(d, "committed_version", r->committed_version) < 0 ||
        set_u64(d, "candidate_source_segments", r->candidate_source_segments) < 0 ||
        set_u64(d, "source_segments_replaced", r->source_segments_replaced) < 0 ||
        set_u64(d, "replacement_segments_written", r->replacement_segments_written) < 0 ||
        set_u64(d, "distinct_identities_materialized", r->distinct_identities_materialized) < 0 ||
        set_u64(d, "rows_read", r->rows_read) < 0 ||
        set_u64(d, "rows_written", r->rows_written) < 0 ||
        PyDict_SetItemString(d, "no_op", r->no_op ? Py_True : Py_False) < 0 ||
        set_u64(d, "attempts", r->attempts) < 0)
        Py_CLEAR(d);
    if (d && r->mode == TST_OPTIMIZE_COMPACT) {
        PyObject *mode = PyUnicode_FromString("compact");
        if (!mode || PyDict_SetItemString(d, "mode", mode) < 0 ||
            set_u64(d, "segments_before", r->segments_before) < 0 ||
            set_u64(d, "segments_after", r->segments_after) < 0 ||
            set_u64(d, "bytes_read", r->bytes_read) < 0 ||
            set_u64(d, "bytes_written", r->bytes_written) < 0 ||
            set_u64(d, "window", r->window) < 0 ||
            set_u64(d, "target_rows", r->target_rows) < 0 ||
            set_u64(d, "target_bytes", r->target_bytes) < 0)
            Py_CLEAR(d);
        Py_XDECREF(mode);
    } else if (d) {
        PyObject *mode = PyUnicode_FromString("entity_layout");
        if (!mode || PyDict_SetItemString(d, "mode", mode) < 0)
            Py_CLEAR(d);
        Py_XDECREF(mode);
    }
    return d;
}

/* "compact" or "entity_layout" (also "entity-layout"); None: the entity layout. */
static int parse_mode(const char *mode, tst_optimize_mode *out)
{
    if (!mode || strcmp(mode, "entity_layout") == 0 || strcmp(mode, "entity-layout") == 0)
        *out = TST_OPTIMIZE_ENTITY_LAYOUT;
    else if (strcmp(mode, "compact") == 0)
        *out = TST_OPTIMIZE_COMPACT;
    else {
        PyErr_Format(PyExc_ValueError, "optimize(): mode must be 'compact' or 'entity_layout', "
                     "not '%s'", mode);
        return -1;
    }
    return 0;
}

static PyObject *table_optimize(ttf_TableObject *self, PyObject *args, PyObject *kwargs)
{
    static char *kwlist[] = {"mode", "target_rows", "target_bytes", "window", NULL};
    const char *mode = NULL;
    unsigned long long rows = 0, bytes = 0, window = 0;
    if (!PyArg_ParseTupleAndKeywords(args, kwargs, "|$zKKK:optimize", kwlist, &mode, &rows,
                                     &bytes, &window))
        return NULL;
    tst_optimize_options opts = TST_OPTIMIZE_OPTIONS_INIT;
    if (parse_mode(mode, &opts.mode) < 0)
        return NULL;
    if (opts.mode != TST_OPTIMIZE_COMPACT && (rows || bytes || window)) {
        PyErr_SetString(PyExc_ValueError, "optimize(): target_rows, target_bytes and window "
                        "apply to mode='compact' only");
        return NULL;
    }
    if (opts.mode == TST_OPTIMIZE_COMPACT) /* a rebase is cheap: appends never make it give up */
        opts.max_attempts = 1000;
    opts.target_rows = rows;
    opts.target_bytes = bytes;
    opts.window = window;
    tst_optimize_report report;
    int rc;
    ttf_table_lock(self);
    Py_BEGIN_ALLOW_THREADS
    rc = tst_table_optimize(self->table, &opts, &report);
    Py_END_ALLOW_THREADS
    PyObject *out = rc == 0 ? report_dict(&report)
                            : ttf_raise_last(tst_table_root(self->table), self->table);
    ttf_table_unlock(self);
    return out;
}

PyMethodDef ttf_optimize_methods[] = {
    {"optimize", (PyCFunction)(void (*)(void))table_optimize, METH_VARARGS | METH_KEYWORDS,
     "optimize(*, mode=None, target_rows=0, target_bytes=0, window=0) -> dict\n\n"
     "Default (mode 'entity_layout'): rewrite every mixed-entity segment into single-entity\n"
     "segments; mode='compact': merge small segments per entity and time window.\n"
     "One commit either way (rows and coverage unchanged). Returns what OptimizeReport\n"
     "is built from:\n"
     "starting_version, committed_version, candidate_source_segments,\n"
     "source_segments_replaced, replacement_segments_written,\n"
     "distinct_identities_materialized, rows_read, rows_written, no_op, attempts, mode,\n"
     "and for compaction segments_before, segments_after, bytes_read, bytes_written,\n"
     "window, target_rows, target_bytes.\n"
     "The entity layout refuses a table without entity columns (TimeseriesTableError);\n"
     "another writer that\n"
     "replaced the same segments meanwhile raises ConflictError."},
    {NULL, NULL, 0, NULL}};
