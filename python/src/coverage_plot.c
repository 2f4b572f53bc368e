/*
 * coverage_plot.c — TimeSeriesTable._coverage_plot / _coverage_raster: the
 * coverage picture of tstable/coverage_plot.h for the Python layer
 * (_plot.py shapes the arguments and builds the matplotlib figure).
 *
 * `entities` arrives as a list of {column: value} dicts, one binding each
 * (a column may repeat: several values are kept); each is typed against
 * the schema of the latest commit, after the refresh, as in coverage.c.
 * start/end may be None (the selection's own covered extent). The library
 * runs with the GIL released.
 */
#include "ttf.h"

#include <stdlib.h>

typedef struct plot_args {
    tst_index_value start, end;
    bool has_start, has_end;
    ttf_entity_args *parts; /* one per dict */
    size_t nparts;
    tst_entity_binding *bindings;
    tst_calendar *calendar;
    tst_coverage_plot_options opts;
} plot_args;

static void plot_args_free(plot_args *a)
{
    for (size_t i = 0; i < a->nparts; i++)
        ttf_entity_args_free(&a->parts[i]);
    free(a->parts);
    free(a->bindings);
    tst_calendar_free(a->calendar);
}

static int parse_value(PyObject *obj, tst_index_type type, const char *what, tst_index_value *out,
                       bool *has)
{
    *has = obj != Py_None;
    return *has ? ttf_index_value_from_py(obj, type, what, out) : 0;
}

/* With the lock held: every dict to bindings, concatenated. */
static int entity_filter(ttf_TableObject *self, PyObject *list, plot_args *a)
{
    if (list == Py_None)
        return 0;
    if (!PyList_Check(list)) {
        PyErr_SetString(PyExc_TypeError, "entities must be a list of {column: value} dicts");
        return -1;
    }
    size_t n = (size_t)PyList_GET_SIZE(list), total = 0;
    a->parts = calloc(n ? n : 1, sizeof *a->parts);
    if (!a->parts)
        return PyErr_NoMemory(), -1;
    for (size_t i = 0; i < n; i++, a->nparts++) {
        if (ttf_entity_args_from_py(PyList_GET_ITEM(list, (Py_ssize_t)i), self->table,
                                    &a->parts[i]) < 0)
            return -1;
        total += a->parts[i].count;
    }
    a->bindings = calloc(total ? total : 1, sizeof *a->bindings);
    if (!a->bindings)
        return PyErr_NoMemory(), -1;
    for (size_t i = 0; i < n; i++)
        for (size_t j = 0; j < a->parts[i].count; j++)
            a->bindings[a->opts.entity_count++] = a->parts[i].bindings[j];
    a->opts.entity = a->bindings;
    return 0;
}

static int parse(ttf_TableObject *self, PyObject *args, PyObject *kwargs, plot_args *a,
                 PyObject **entities)
{
    static char *kw[] = {"start", "end", "entities", "width", "height", "title", "calendar",
                         NULL};
    PyObject *start = Py_None, *end = Py_None, *calendar = Py_None;
    unsigned width = 0, height = 0;
    const char *title = NULL;
    memset(a, 0, sizeof *a);
    a->opts = (tst_coverage_plot_options)TST_COVERAGE_PLOT_OPTIONS_INIT;
    *entities = Py_None;
    if (!PyArg_ParseTupleAndKeywords(args, kwargs, "|OOOIIzO", kw, &start, &end, entities,
                                     &width, &height, &title, &calendar) ||
        ttf_calendar_from_py(calendar, &a->calendar) < 0)
        return -1;
    a->opts.calendar = a->calendar;
    tst_index_type type = tst_table_index(self->table)->kind.type;
    if (parse_value(start, type, "start", &a->start, &a->has_start) < 0 ||
        parse_value(end, type, "end", &a->end, &a->has_end) < 0)
        return -1;
    a->opts.start = a->has_start ? &a->start : NULL;
    a->opts.end = a->has_end ? &a->end : NULL;
    a->opts.width = width;
    a->opts.height = height;
    a->opts.title = title;
    return 0;
}

/* Computes the raster under the lock; NULL with an exception on failure. */
static tst_coverage_raster *raster(ttf_TableObject *self, PyObject *args, PyObject *kwargs)
{
    plot_args a;
    PyObject *entities;
    tst_coverage_raster *r = NULL;
    if (parse(self, args, kwargs, &a, &entities) < 0) {
        plot_args_free(&a);
        return NULL;
    }
    ttf_table_lock(self);
    int rc = ttf_table_refresh_locked(self) < 0 || entity_filter(self, entities, &a) < 0 ? -1 : 0;
    if (rc == 0) {
        Py_BEGIN_ALLOW_THREADS
        rc = tst_table_coverage_raster(self->table, &a.opts, &r);
        Py_END_ALLOW_THREADS
        if (rc != 0)
            ttf_raise_last(tst_table_root(self->table), self->table);
    }
    ttf_table_unlock(self);
    plot_args_free(&a);
    return rc == 0 ? r : NULL;
}

static PyObject *coverage_plot(ttf_TableObject *self, PyObject *args, PyObject *kwargs)
{
    tst_coverage_raster *r = raster(self, args, kwargs);
    if (!r)
        return NULL;
    uint8_t *bytes = NULL;
    size_t len = 0;
    int rc = tst_coverage_raster_render(r, TST_PLOT_SVG, &bytes, &len);
    tst_coverage_raster_free(r);
    if (rc != 0)
        return ttf_raise_last(tst_table_root(self->table), self->table);
    PyObject *out = PyUnicode_DecodeUTF8((const char *)bytes, (Py_ssize_t)len, "strict");
    free(bytes);
    return out;
}

/* {rows, cols, fractions (bytes of float64), row_first, names, start, end, title, buckets} */
static PyObject *raster_dict(const tst_coverage_raster *r)
{
    size_t rows = tst_coverage_raster_rows(r), cols = tst_coverage_raster_cols(r);
    size_t n = tst_coverage_raster_entity_count(r);
    PyObject *first = PyList_New((Py_ssize_t)rows + 1), *names = PyList_New((Py_ssize_t)n);
    for (size_t i = 0; first && i <= rows; i++) {
        size_t f = n, c = 0;
        if (i < rows)
            tst_coverage_raster_row_entities(r, i, &f, &c);
        PyList_SET_ITEM(first, (Py_ssize_t)i, PyLong_FromSize_t(f));
    }
    for (size_t i = 0; names && i < n; i++)
        PyList_SET_ITEM(names, (Py_ssize_t)i,
                        PyUnicode_DecodeUTF8(tst_coverage_raster_entity_name(r, i),
                                             (Py_ssize_t)strlen(tst_coverage_raster_entity_name(r, i)),
                                             "replace"));
    tst_index_value s, e;
    tst_coverage_raster_range(r, &s, &e);
    PyObject *out = Py_BuildValue(
        "{s:n,s:n,s:y#,s:N,s:N,s:N,s:N,s:s,s:K}", "rows", (Py_ssize_t)rows, "cols",
        (Py_ssize_t)cols, "fractions", (const char *)tst_coverage_raster_fractions(r),
        (Py_ssize_t)(rows * cols * sizeof(double)), "row_first", first, "names", names, "start",
        ttf_index_value_to_py(&s), "end", ttf_index_value_to_py(&e), "title",
        tst_coverage_raster_title(r), "buckets",
        (unsigned long long)tst_coverage_raster_buckets(r));
    return out;
}

static PyObject *coverage_raster(ttf_TableObject *self, PyObject *args, PyObject *kwargs)
{
    tst_coverage_raster *r = raster(self, args, kwargs);
    if (!r)
        return NULL;
    PyObject *out = raster_dict(r);
    tst_coverage_raster_free(r);
    return out;
}

PyMethodDef ttf_coverage_plot_methods[] = {
    {"_coverage_plot", TTF_KW(coverage_plot), METH_VARARGS | METH_KEYWORDS,
     "_coverage_plot(start=None, end=None, entities=None, width=0, height=0, title=None,\n"
     "               calendar=None) -> str"},
    {"_coverage_raster", TTF_KW(coverage_raster), METH_VARARGS | METH_KEYWORDS,
     "_coverage_raster(...) -> dict: the per-pixel covered fractions behind the picture"},
    {NULL, NULL, 0, NULL},
};
