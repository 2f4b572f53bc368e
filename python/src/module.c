/*
 * module.c — timeseries_table_format._native: module init.
 *
 * Imports what the other files need from the standard library once
 * (datetime's C API, timezone.utc, decimal.Decimal), creates the exception
 * classes and readies the types. Coverage methods are defined in
 * coverage.c and attached to TimeSeriesTable here, which keeps table.c
 * about the table itself. It also bridges the library's log callback to a
 * Python callable (the package hands it to the logging module).
 */
#include "ttf.h"

PyObject *ttf_utc;
PyObject *ttf_decimal_type;

static PyObject *import_attr(const char *module, const char *name)
{
    PyObject *mod = PyImport_ImportModule(module);
    PyObject *attr = mod ? PyObject_GetAttrString(mod, name) : NULL;
    Py_XDECREF(mod);
    return attr;
}

static int attach_methods(PyTypeObject *type, PyMethodDef *defs)
{
    for (PyMethodDef *d = defs; d->ml_name != NULL; d++) {
        PyObject *descr = PyDescr_NewMethod(type, d);
        int rc = descr ? PyDict_SetItemString(type->tp_dict, d->ml_name, descr) : -1;
        Py_XDECREF(descr);
        if (rc < 0)
            return -1;
    }
    PyType_Modified(type);
    return 0;
}

/* ---- the library's diagnostics, forwarded to Python ---------------------- */

static PyObject *log_handler; /* a callable(level, event, message), or NULL */

/* Runs on whatever thread the library logs from, with or without the GIL;
 * an exception already pending on this thread is kept as it was. */
static void forward_log(void *ctx, tst_log_level level, const char *event, const char *message)
{
    (void)ctx;
    if (!Py_IsInitialized())
        return;
    PyGILState_STATE gil = PyGILState_Ensure();
    PyObject *type, *value, *tb;
    PyErr_Fetch(&type, &value, &tb);
    PyObject *handler = log_handler;
    if (handler != NULL) {
        Py_INCREF(handler);
        PyObject *r = PyObject_CallFunction(handler, "iss", (int)level, event, message);
        if (r == NULL)
            PyErr_WriteUnraisable(handler);
        Py_XDECREF(r);
        Py_DECREF(handler);
    }
    PyErr_Restore(type, value, tb);
    PyGILState_Release(gil);
}

static PyObject *set_log_handler(PyObject *module, PyObject *handler)
{
    (void)module;
    if (handler != Py_None && !PyCallable_Check(handler))
        return PyErr_Format(PyExc_TypeError, "the log handler must be callable or None");
    tst_set_log_callback(NULL, NULL); /* no event reaches a handler being replaced */
    Py_CLEAR(log_handler);
    if (handler != Py_None) {
        log_handler = Py_NewRef(handler);
        tst_set_log_callback(forward_log, NULL);
    }
    Py_RETURN_NONE;
}

static PyMethodDef native_functions[] = {
    {"_set_log_handler", set_log_handler, METH_O,
     "_set_log_handler(handler) -> None\n\nhandler(level, event, message) receives the library's\n"
     "diagnostics (level 0 debug, 1 info, 2 warning); None turns them off."},
    {NULL, NULL, 0, NULL}};

static int add_type(PyObject *module, PyTypeObject *type, const char *name)
{
    if (PyType_Ready(type) < 0)
        return -1;
    return PyModule_AddObjectRef(module, name, (PyObject *)type);
}

static int native_exec(PyObject *module)
{
    if (ttf_convert_init() < 0)
        return -1;
    ttf_utc = import_attr("datetime", "timezone");
    if (ttf_utc != NULL)
        Py_SETREF(ttf_utc, PyObject_GetAttrString(ttf_utc, "utc"));
    ttf_decimal_type = import_attr("decimal", "Decimal");
    if (ttf_utc == NULL || ttf_decimal_type == NULL || ttf_errors_init(module) < 0)
        return -1;
    if (add_type(module, &ttf_TableType, "TimeSeriesTable") < 0 ||
        attach_methods(&ttf_TableType, ttf_coverage_methods) < 0 ||
        attach_methods(&ttf_TableType, ttf_coverage_plot_methods) < 0 ||
        attach_methods(&ttf_TableType, ttf_coverage_diff_methods) < 0 ||
        attach_methods(&ttf_TableType, ttf_optimize_methods) < 0 ||
        attach_methods(&ttf_TableType, ttf_vacuum_methods) < 0 ||
        attach_methods(&ttf_TableType, ttf_add_columns_methods) < 0 ||
        attach_methods(&ttf_TableType, ttf_update_methods) < 0 ||
        attach_methods(&ttf_TableType, ttf_delete_methods) < 0 ||
        PyModule_AddFunctions(module, ttf_migrate_functions) < 0 ||
        add_type(module, &ttf_SessionType, "Session") < 0 ||
        add_type(module, &ttf_ResultType, "SqlResult") < 0 ||
        add_type(module, &ttf_ReaderType, "RecordBatchReader") < 0)
        return -1;
    /* Kept for code written against earlier builds, which could lack the session. */
    return PyModule_AddObjectRef(module, "HAS_SESSION", Py_True);
}

static PyModuleDef native_module = {
    PyModuleDef_HEAD_INIT,
    .m_name = "timeseries_table_format._native",
    .m_doc = "The C extension of timeseries_table_format, over the public tstable C API.",
    .m_size = -1,
    .m_methods = native_functions,
};

PyMODINIT_FUNC PyInit__native(void)
{
    PyObject *module = PyModule_Create(&native_module);
    if (module != NULL && native_exec(module) < 0)
        Py_CLEAR(module);
    return module;
}
