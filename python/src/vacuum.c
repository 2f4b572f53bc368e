/*
 * vacuum.c — TimeSeriesTable.vacuum(): removing files no retained version
 * needs (tstable/vacuum.h) from Python.
 *
 * The native method takes the cutoff as (seconds, nanoseconds) since the
 * epoch, already checked and converted by _table.py, and returns the report
 * as a dict (artifacts a list of dicts, times as aware UTC datetimes); the
 * package wraps it in _vacuum.VacuumReport, the reference 0.9.0's class.
 * When a deletion fails, the exception raised from the library's error gets
 * a `partial_report` dict attribute: what was deleted before the failure
 * (the package re-raises it as VacuumApplyError). Under the handle's lock,
 * the GIL released.
 */
#include "ttf.h"

#include "tstable/vacuum.h"

static int set_obj(PyObject *dict, const char *key, PyObject *v)
{
    int rc = v ? PyDict_SetItemString(dict, key, v) : -1;
    Py_XDECREF(v);
    return rc;
}

static int set_u64(PyObject *dict, const char *key, uint64_t value)
{
    return set_obj(dict, key, PyLong_FromUnsignedLongLong(value));
}

static int set_str(PyObject *dict, const char *key, const char *value)
{
    return set_obj(dict, key, PyUnicode_FromString(value));
}

static PyObject *artifact_dict(const tst_vacuum_artifact *a)
{
    PyObject *d = PyDict_New();
    if (d == NULL)
        return NULL;
    PyObject *version = a->reason == TST_VACUUM_REFERENCED_BY_COMMIT
                            ? PyLong_FromUnsignedLongLong(a->referenced_version)
                            : Py_NewRef(Py_None);
    if (set_str(d, "path", a->path) < 0 || set_u64(d, "size_bytes", a->size_bytes) < 0 ||
        set_obj(d, "modified_at",
                ttf_timestamp_to_py(a->modified_at.sec, a->modified_at.nsec, ttf_utc)) < 0 ||
        set_str(d, "disposition", tst_vacuum_disposition_name(a->disposition)) < 0 ||
        set_str(d, "reason", tst_vacuum_reason_name(a->reason)) < 0 ||
        set_obj(d, "referenced_by_commit_version", version) < 0)
        Py_CLEAR(d);
    return d;
}

static PyObject *report_dict(const tst_vacuum_report *r)
{
    PyObject *d = PyDict_New();
    PyObject *list = d ? PyList_New((Py_ssize_t)r->artifact_count) : NULL;
    for (size_t i = 0; list && i < r->artifact_count; i++) {
        PyObject *a = artifact_dict(&r->artifacts[i]);
        if (a == NULL)
            Py_CLEAR(list);
        else
            PyList_SET_ITEM(list, (Py_ssize_t)i, a);
    }
    if (list == NULL || set_obj(d, "artifacts", list) < 0 ||
        set_u64(d, "table_version", r->table_version) < 0 ||
        set_u64(d, "oldest_retained_version", r->oldest_retained_version) < 0 ||
        set_obj(d, "older_than",
                ttf_timestamp_to_py(r->older_than.sec, r->older_than.nsec, ttf_utc)) < 0 ||
        set_str(d, "mode", r->apply ? "apply" : "dry_run") < 0 ||
        set_u64(d, "considered_files", r->considered_files) < 0 ||
        set_u64(d, "retained_files", r->retained_files) < 0 ||
        set_u64(d, "removable_files", r->removable_files) < 0 ||
        set_u64(d, "deleted_files", r->deleted_files) < 0 ||
        set_u64(d, "already_absent_files", r->already_absent_files) < 0 ||
        set_u64(d, "considered_bytes", r->considered_bytes) < 0 ||
        set_u64(d, "retained_bytes", r->retained_bytes) < 0 ||
        set_u64(d, "removable_bytes", r->removable_bytes) < 0 ||
        set_u64(d, "deleted_bytes", r->deleted_bytes) < 0 ||
        set_u64(d, "already_absent_bytes", r->already_absent_bytes) < 0 ||
        set_u64(d, "folders_removed", r->folders_removed) < 0)
        Py_CLEAR(d);
    return d;
}

/* Raises the library's error; a failure that deleted files carries the partial report. */
static PyObject *raise_failure(ttf_TableObject *self, const tst_vacuum_report *report)
{
    ttf_raise_last(tst_table_root(self->table), self->table);
    if (report->artifact_count == 0 || !report->apply)
        return NULL;
    PyObject *type, *value, *tb;
    PyErr_Fetch(&type, &value, &tb);
    PyErr_NormalizeException(&type, &value, &tb);
    PyObject *partial = report_dict(report);
    if (partial == NULL || value == NULL ||
        PyObject_SetAttrString(value, "partial_report", partial) < 0)
        PyErr_Clear();
    Py_XDECREF(partial);
    PyErr_Restore(type, value, tb);
    return NULL;
}

static PyObject *table_vacuum(ttf_TableObject *self, PyObject *args, PyObject *kwargs)
{
    static char *kwlist[] = {"older_than_sec", "older_than_nsec", "apply", "keep_all_versions",
                             "allow_short_retention", NULL};
    long long sec = 0;
    unsigned int nsec = 0;
    int apply = 0, keep_all = 1, allow_short = 0;
    if (!PyArg_ParseTupleAndKeywords(args, kwargs, "LI|ppp", kwlist, &sec, &nsec, &apply,
                                     &keep_all, &allow_short))
        return NULL;
    if (nsec > 999999999u || (sec == 0 && nsec == 0))
        return ttf_raise_with(PyExc_ValueError, "invalid vacuum cutoff");
    tst_vacuum_options opts = TST_VACUUM_OPTIONS_INIT;
    opts.older_than = (tst_timestamp){(int64_t)sec, nsec};
    opts.apply = apply;
    opts.keep_all_versions = keep_all;
    opts.allow_short_retention = allow_short;
    tst_vacuum_report report;
    int rc;
    ttf_table_lock(self);
    Py_BEGIN_ALLOW_THREADS
    rc = tst_table_vacuum(self->table, &opts, &report);
    Py_END_ALLOW_THREADS
    PyObject *out = rc == 0 ? report_dict(&report) : raise_failure(self, &report);
    ttf_table_unlock(self);
    tst_vacuum_report_clear(&report);
    return out;
}

PyMethodDef ttf_vacuum_methods[] = {
    {"vacuum", (PyCFunction)(void (*)(void))table_vacuum, METH_VARARGS | METH_KEYWORDS,
     "vacuum(older_than_sec, older_than_nsec, apply=False, keep_all_versions=True,\n"
     "       allow_short_retention=False) -> dict\n\n"
     "The native vacuum (use TimeSeriesTable.vacuum). Returns what VacuumReport is built from."},
    {NULL, NULL, 0, NULL}};
