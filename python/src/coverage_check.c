/*
 * coverage_check.c — coverage-guaranteed reads in Python: the
 * require_coverage argument of Session.sql / sql_reader and
 * TimeSeriesTable.scan / scan_reader, and the report the library leaves
 * (tstable/session.h) as IncompleteCoverageError or CoverageWarning with
 * `missing` and `checked` lists of dicts.
 */
#include "ttf.h"

#include <string.h>

int ttf_coverage_mode_from_py(PyObject *obj, tst_coverage_mode *out)
{
    *out = TST_COVERAGE_OFF;
    if (obj == NULL || obj == Py_None || obj == Py_False)
        return 0;
    if (obj == Py_True) {
        *out = TST_COVERAGE_REQUIRE;
        return 0;
    }
    const char *text = PyUnicode_Check(obj) ? PyUnicode_AsUTF8(obj) : NULL;
    if (text && strcmp(text, "warn") == 0) {
        *out = TST_COVERAGE_WARN;
        return 0;
    }
    if (text && (strcmp(text, "error") == 0 || strcmp(text, "require") == 0)) {
        *out = TST_COVERAGE_REQUIRE;
        return 0;
    }
    PyErr_Clear();
    PyErr_Format(PyExc_ValueError, "require_coverage must be False, True or \"warn\", not %R",
                 obj);
    return -1;
}

static PyObject *entity_dict(const tst_coverage_missing *m)
{
    if (m->binding_count == 0)
        return Py_NewRef(Py_None);
    PyObject *dict = PyDict_New();
    for (size_t i = 0; dict != NULL && i < m->binding_count; i++) {
        PyObject *value = ttf_entity_value_to_py(&m->bindings[i].value);
        if (value == NULL || PyDict_SetItemString(dict, m->bindings[i].column, value) < 0)
            Py_CLEAR(dict);
        Py_XDECREF(value);
    }
    return dict;
}

PyObject *ttf_coverage_missing_to_py(const tst_coverage_report *r)
{
    PyObject *list = PyList_New(0);
    for (size_t i = 0; list != NULL && r && i < r->missing_count; i++) {
        const tst_coverage_missing *m = &r->missing[i];
        PyObject *item = Py_BuildValue("{s:s,s:N,s:N,s:N,s:K,s:O}", "table", m->table, "entity",
                                       entity_dict(m), "start", ttf_index_value_to_py(&m->start),
                                       "end", ttf_index_value_to_py(&m->end), "buckets",
                                       (unsigned long long)m->buckets, "known",
                                       m->known ? Py_True : Py_False);
        if (item == NULL || PyList_Append(list, item) < 0)
            Py_CLEAR(list);
        Py_XDECREF(item);
    }
    return list;
}

static const char *const widened_names[] = {"zone", "now", "hull", "whole", "view"};

static PyObject *widened_list(unsigned w)
{
    PyObject *list = PyList_New(0);
    for (size_t i = 0; list != NULL && i < 5; i++) {
        if (!(w & (1u << i)))
            continue;
        PyObject *name = PyUnicode_FromString(widened_names[i]);
        if (name == NULL || PyList_Append(list, name) < 0)
            Py_CLEAR(list);
        Py_XDECREF(name);
    }
    return list;
}

PyObject *ttf_coverage_checked_to_py(const tst_coverage_report *r)
{
    PyObject *list = PyList_New(0);
    for (size_t i = 0; list != NULL && r && i < r->table_count; i++) {
        const tst_coverage_checked *c = &r->tables[i];
        bool range = c->readable && !c->empty;
        PyObject *item = Py_BuildValue(
            "{s:s,s:O,s:N,s:N,s:n,s:K,s:K,s:N,s:O}", "table", c->table, "readable",
            c->readable ? Py_True : Py_False, "start",
            range ? ttf_index_value_to_py(&c->start) : Py_NewRef(Py_None), "end",
            range ? ttf_index_value_to_py(&c->end) : Py_NewRef(Py_None), "entities",
            (Py_ssize_t)c->entities, "asked_buckets", (unsigned long long)c->asked_buckets,
            "missing_buckets", (unsigned long long)c->missing_buckets, "widened",
            widened_list(c->widened), "calendar", c->calendar ? Py_True : Py_False);
        if (item == NULL || PyList_Append(list, item) < 0)
            Py_CLEAR(list);
        Py_XDECREF(item);
    }
    return list;
}

PyObject *ttf_raise_incomplete(const tst_coverage_report *r, const char *table_root)
{
    PyObject *missing = ttf_coverage_missing_to_py(r);
    PyObject *checked = missing ? ttf_coverage_checked_to_py(r) : NULL;
    PyObject *root = table_root ? PyUnicode_FromString(table_root) : Py_NewRef(Py_None);
    if (missing && checked && root) {
        PyObject *code = PyUnicode_FromString(tst_error_name(TST_EINCOMPLETE));
        ttf_raise_with(ttf_IncompleteCoverageError, r->message, "missing", missing, "checked",
                       checked, "table_root", root, "code", code, NULL);
        Py_XDECREF(code);
    }
    Py_XDECREF(missing);
    Py_XDECREF(checked);
    Py_XDECREF(root);
    return NULL;
}

int ttf_warn_coverage(const char *message, PyObject *missing, PyObject *checked)
{
    PyObject *warnings = missing && checked ? PyImport_ImportModule("warnings") : NULL;
    PyObject *inst = warnings ? PyObject_CallFunction(ttf_CoverageWarning, "s", message) : NULL;
    int rc = -1;
    if (inst && PyObject_SetAttrString(inst, "missing", missing) == 0 &&
        PyObject_SetAttrString(inst, "checked", checked) == 0) {
        /* stacklevel 2: the frame calling the native method is the package's
         * wrapper; the line to show is its caller's */
        PyObject *res = PyObject_CallMethod(warnings, "warn", "(Oi)", inst, 2);
        rc = res ? 0 : -1;
        Py_XDECREF(res);
    }
    Py_XDECREF(inst);
    Py_XDECREF(warnings);
    Py_XDECREF(missing);
    Py_XDECREF(checked);
    return rc;
}
