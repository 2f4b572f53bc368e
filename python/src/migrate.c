/*
 * migrate.c — timeseries_table_format.migrate(): a format_version-6 table
 * into a new protocol-7 table (tstable/migrate.h) from Python.
 *
 * The native function _migrate(source, destination, copy) returns the
 * report as a dict; the package wraps it in _migrate.MigrateReport. It runs
 * with the GIL released: a migration of a large table links or copies
 * every file. Errors carry table_root (the source) and map to exception
 * classes as every call's do (errors.c).
 */
#include "ttf.h"

#include "tstable/migrate.h"

static int set_u64(PyObject *dict, const char *key, uint64_t value)
{
    PyObject *v = PyLong_FromUnsignedLongLong(value);
    int rc = v ? PyDict_SetItemString(dict, key, v) : -1;
    Py_XDECREF(v);
    return rc;
}

static PyObject *report_dict(const tst_migrate_report *r)
{
    PyObject *d = PyDict_New();
    if (d == NULL)
        return NULL;
    if (set_u64(d, "version", r->version) < 0 ||
        set_u64(d, "commits_rewritten", r->commits_rewritten) < 0 ||
        set_u64(d, "metas_rewritten", r->metas_rewritten) < 0 ||
        set_u64(d, "coverage_pointers_rewritten", r->coverage_pointers_rewritten) < 0 ||
        set_u64(d, "live_segments", r->live_segments) < 0 ||
        set_u64(d, "files_linked", r->files_linked) < 0 ||
        set_u64(d, "bytes_linked", r->bytes_linked) < 0 ||
        set_u64(d, "files_copied", r->files_copied) < 0 ||
        set_u64(d, "bytes_copied", r->bytes_copied) < 0 ||
        set_u64(d, "log_entries_dropped", r->log_entries_dropped) < 0 ||
        PyDict_SetItemString(d, "checkpoint_written",
                             r->checkpoint_written ? Py_True : Py_False) < 0)
        Py_CLEAR(d);
    return d;
}

static PyObject *migrate(PyObject *module, PyObject *args)
{
    (void)module;
    PyObject *src_obj = NULL, *dst_obj = NULL;
    int copy = 0;
    if (!PyArg_ParseTuple(args, "O&O&p:_migrate", PyUnicode_FSConverter, &src_obj,
                          PyUnicode_FSConverter, &dst_obj, &copy)) {
        Py_XDECREF(src_obj);
        return NULL;
    }
    const char *src = PyBytes_AS_STRING(src_obj), *dst = PyBytes_AS_STRING(dst_obj);
    tst_migrate_options opts = TST_MIGRATE_OPTIONS_INIT;
    opts.copy = copy != 0;
    tst_migrate_report report;
    int rc;
    Py_BEGIN_ALLOW_THREADS
    rc = tst_table_migrate_with(src, dst, &opts, &report);
    Py_END_ALLOW_THREADS
    PyObject *out = rc == 0 ? report_dict(&report) : ttf_raise_last(src, NULL);
    Py_DECREF(src_obj);
    Py_DECREF(dst_obj);
    return out;
}

PyMethodDef ttf_migrate_functions[] = {
    {"_migrate", migrate, METH_VARARGS,
     "_migrate(source, destination, copy) -> dict\n\nMigrate a format_version-6 table into a "
     "new protocol-7 table (see timeseries_table_format.migrate)."},
    {NULL, NULL, 0, NULL}};
