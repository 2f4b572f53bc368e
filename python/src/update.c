/*
 * update.c — TimeSeriesTable.update_rows(): keyed updates (tstable/update.h)
 * from Python.
 *
 * The package checks the arguments' types (as the reference does, before
 * the source is exported) and hands this method an Arrow C stream, the
 * column names and the version. The native method returns the report as a
 * dict with the reference's UpdateRowsReport field names (plus "attempts").
 * Key failures (TST_EUPDATEKEY) raise TimeseriesTableError with reason,
 * example_key (JSON text here; the package turns it into a dict),
 * input_rows_seen and observed_violations (errors.c).
 */
#include "ttf.h"

#include "tstable/update.h"

#include <stdlib.h>
#include <string.h>

static PyObject *report_dict(const tst_update_report *r)
{
    return Py_BuildValue("{s:K,s:K,s:K,s:K,s:K,s:K,s:O,s:I}", "starting_version",
                         (unsigned long long)r->starting_version, "committed_version",
                         (unsigned long long)r->committed_version, "rows_updated",
                         (unsigned long long)r->rows_updated, "segments_rewritten",
                         (unsigned long long)r->segments_rewritten, "source_file_bytes",
                         (unsigned long long)r->source_file_bytes, "replacement_file_bytes",
                         (unsigned long long)r->replacement_file_bytes, "no_op",
                         r->no_op ? Py_True : Py_False, "attempts", r->attempts);
}

/* A tuple of str as a C array of UTF-8 copies. */
static char **column_names(PyObject *columns, size_t *out_n)
{
    Py_ssize_t n = PyTuple_Size(columns);
    char **names = n >= 0 ? calloc((size_t)n + 1, sizeof *names) : NULL;
    if (names == NULL) {
        PyErr_NoMemory();
        return NULL;
    }
    for (Py_ssize_t i = 0; i < n; i++) {
        const char *s = PyUnicode_AsUTF8(PyTuple_GET_ITEM(columns, i));
        names[i] = s ? ttf_strdup(s) : NULL;
        if (names[i] == NULL) {
            for (Py_ssize_t j = 0; j < i; j++)
                free(names[j]);
            free(names);
            return NULL;
        }
    }
    *out_n = (size_t)n;
    return names;
}

static PyObject *table_update_rows(ttf_TableObject *self, PyObject *args, PyObject *kwargs)
{
    static char *kw[] = {"source", "columns", "expected_version", "strict", NULL};
    PyObject *source, *columns;
    unsigned long long expected;
    int strict = 0;
    if (!PyArg_ParseTupleAndKeywords(args, kwargs, "OO!K|p:update_rows", kw, &source,
                                     &PyTuple_Type, &columns, &expected, &strict))
        return NULL;
    size_t n = 0;
    char **names = column_names(columns, &n);
    if (names == NULL)
        return NULL;
    struct ArrowArrayStream stream;
    if (ttf_stream_from_py(source, &stream) < 0) {
        for (size_t i = 0; i < n; i++)
            free(names[i]);
        free(names);
        return NULL;
    }
    tst_update_source src = {.stream = &stream};
    tst_update_options opts = TST_UPDATE_OPTIONS_INIT;
    opts.expected_version = expected;
    opts.strict = strict;
    tst_update_report report;
    int rc;
    ttf_table_lock(self);
    Py_BEGIN_ALLOW_THREADS
    rc = tst_table_update_rows(self->table, &src, (const char *const *)names, n, &opts, &report);
    Py_END_ALLOW_THREADS
    PyObject *out = rc == 0 ? report_dict(&report)
                            : ttf_raise_last(tst_table_root(self->table), self->table);
    ttf_table_unlock(self);
    for (size_t i = 0; i < n; i++)
        free(names[i]);
    free(names);
    return out;
}

PyMethodDef ttf_update_methods[] = {
    {"update_rows", (PyCFunction)(void (*)(void))table_update_rows, METH_VARARGS | METH_KEYWORDS,
     "update_rows(source, columns: tuple[str, ...], expected_version: int, strict=False) -> dict\n\n"
     "Set the named columns of the rows the source names by key (entity columns and the\n"
     "exact index value), in one commit. Returns what UpdateRowsReport is built from."},
    {NULL, NULL, 0, NULL}};
