/*
 * optimize.c — TimeSeriesTable.optimize(): entity-layout optimization
 * (tstable/optimize.h) from Python.
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
    return d;
}

static PyObject *table_optimize(ttf_TableObject *self, PyObject *unused)
{
    (void)unused;
    tst_optimize_report report;
    int rc;
    ttf_table_lock(self);
    Py_BEGIN_ALLOW_THREADS
    rc = tst_table_optimize(self->table, NULL, &report);
    Py_END_ALLOW_THREADS
    PyObject *out = rc == 0 ? report_dict(&report)
                            : ttf_raise_last(tst_table_root(self->table), self->table);
    ttf_table_unlock(self);
    return out;
}

PyMethodDef ttf_optimize_methods[] = {
    {"optimize", (PyCFunction)table_optimize, METH_NOARGS,
     "optimize() -> dict\n\nRewrite every mixed-entity segment into single-entity segments,\n"
     "in one commit (rows and coverage unchanged). Returns what OptimizeReport is built from:\n"
     "starting_version, committed_version, candidate_source_segments,\n"
     "source_segments_replaced, replacement_segments_written,\n"
     "distinct_identities_materialized, rows_read, rows_written, no_op, attempts.\n"
     "A table without entity columns raises TimeseriesTableError; another writer that\n"
     "replaced the same segments meanwhile raises ConflictError."},
    {NULL, NULL, 0, NULL}};
