/*
 * coverage_diff.c — TimeSeriesTable._coverage_ranges: the coverage diff
 * and the backfill plan of tstable/coverage_diff.h, as Python tuples.
 *
 * The public methods (coverage_diff, plan_backfill) live in _table.py:
 * they open the pinned versions, normalise entities to dicts, and turn
 * the tuples into a pyarrow.Table. This file only crosses into C: the
 * handles are refreshed and locked (both, when two differ), entities are
 * typed by the "from" table's schema, and the library runs with the GIL
 * released.
 */
#include "ttf.h"

#include "tstable/coverage_diff.h"

#include <stdlib.h>
#include <string.h>

typedef struct entity_scope {
    ttf_entity_args *args;
    tst_entity_value **values;
    tst_entity_identity *ids;
    size_t count;
} entity_scope;

static void scope_free(entity_scope *s)
{
    for (size_t i = 0; i < s->count; i++) {
        ttf_entity_args_free(&s->args[i]);
        free(s->values[i]);
    }
    free(s->args);
    free(s->values);
    free(s->ids);
}

/* entities: None or a list of {column: value}; identities in entity_columns order. */
static int scope_from_py(PyObject *entities, const tst_table *table, entity_scope *s)
{
    memset(s, 0, sizeof *s);
    if (entities == Py_None)
        return 0;
    PyObject *seq = PySequence_Fast(entities, "entities must be a list of {column: value}");
    if (!seq)
        return -1;
    Py_ssize_t n = PySequence_Fast_GET_SIZE(seq);
    const tst_index_spec *spec = tst_table_index(table);
    s->args = calloc((size_t)n + 1, sizeof *s->args);
    s->values = calloc((size_t)n + 1, sizeof *s->values);
    s->ids = calloc((size_t)n + 1, sizeof *s->ids);
    int rc = s->args && s->values && s->ids ? 0 : (PyErr_NoMemory(), -1);
    for (Py_ssize_t i = 0; rc == 0 && i < n; i++) {
        s->count++;
        rc = ttf_entity_args_from_py(PySequence_Fast_GET_ITEM(seq, i), table, &s->args[i]);
        if (rc == 0 && s->args[i].count != spec->entity_count) {
            PyErr_Format(PyExc_ValueError, "entity %zd: give every entity column exactly once",
                         i);
            rc = -1;
        }
        s->values[i] = rc == 0 ? calloc(spec->entity_count + 1, sizeof **s->values) : NULL;
        for (size_t j = 0; s->values[i] && j < spec->entity_count; j++)
            for (size_t k = 0; k < s->args[i].count; k++)
                if (strcmp(s->args[i].bindings[k].column, spec->entity_columns[j]) == 0)
                    s->values[i][j] = s->args[i].bindings[k].value;
        s->ids[i] = (tst_entity_identity){spec->entity_count, s->values[i]};
    }
    Py_DECREF(seq);
    return rc;
}

static PyObject *rows_to_py(const tst_index_spec *spec, const tst_range_list *list)
{
    size_t n = tst_range_list_count(list);
    PyObject *out = PyList_New((Py_ssize_t)n);
    for (size_t i = 0; out && i < n; i++) {
        const tst_entity_range *r = tst_range_list_at(list, i);
        PyObject *id = r->identity.count ? ttf_identity_to_py(spec, &r->identity)
                                         : Py_NewRef(Py_None);
        PyObject *row = id ? Py_BuildValue("(NsNNKK)", id, tst_range_change_name(r->change),
                                           ttf_index_value_to_py(&r->start),
                                           ttf_index_value_to_py(&r->end),
                                           (unsigned long long)r->buckets,
                                           (unsigned long long)r->missing_buckets)
                           : NULL;
        if (!row) {
            Py_CLEAR(out);
            break;
        }
        PyList_SET_ITEM(out, (Py_ssize_t)i, row);
    }
    return out;
}

static int parse_bound(PyObject *obj, const tst_table *t, const char *what, tst_index_value *out,
                       const tst_index_value **slot)
{
    if (obj == Py_None)
        return 0;
    *slot = out;
    return ttf_index_value_from_py(obj, tst_table_index(t)->kind.type, what, out);
}

static PyObject *coverage_ranges(ttf_TableObject *self, PyObject *args, PyObject *kwargs)
{
    static char *kw[] = {"other", "start", "end", "entities", "max_request_buckets",
                         "merge_within_buckets", "calendar", NULL};
    PyObject *other = Py_None, *start = Py_None, *end = Py_None, *entities = Py_None;
    PyObject *calendar = Py_None;
    unsigned long long max = 0, merge = 0;
    if (!PyArg_ParseTupleAndKeywords(args, kwargs, "OOOO|KKO:_coverage_ranges", kw, &other,
                                     &start, &end, &entities, &max, &merge, &calendar))
        return NULL;
    if (other != Py_None && !PyObject_TypeCheck(other, &ttf_TableType))
        return PyErr_Format(PyExc_TypeError, "other must be a TimeSeriesTable");
    ttf_TableObject *o = other == Py_None ? NULL : (ttf_TableObject *)other;
    tst_index_value sv, ev;
    tst_backfill_options opts = TST_BACKFILL_OPTIONS_INIT;
    opts.max_request_buckets = max;
    opts.merge_within_buckets = merge;
    if (parse_bound(start, self->table, "start", &sv, &opts.scope.start) < 0 ||
        parse_bound(end, self->table, "end", &ev, &opts.scope.end) < 0)
        return NULL;
    tst_calendar *cal = NULL;
    tst_coverage *expected = NULL;
    if (ttf_calendar_from_py(calendar, &cal) < 0)
        return NULL;
    entity_scope s;
    memset(&s, 0, sizeof s);
    tst_range_list *list = NULL;
    ttf_table_lock(self);
    if (o && o != self)
        ttf_table_lock(o);
    int rc = ttf_table_refresh_locked(self);
    if (rc == 0 && o && o != self)
        rc = ttf_table_refresh_locked(o);
    if (rc == 0)
        rc = scope_from_py(entities, self->table, &s);
    opts.scope.entities = s.ids;
    opts.scope.entity_count = s.count;
    if (rc == 0) {
        int lib = 0;
        Py_BEGIN_ALLOW_THREADS
        if (cal && !o) /* the calendar's expected buckets of the range (calendar.h) */
            lib = opts.scope.start && opts.scope.end
                      ? tst_table_expected_buckets(&expected, self->table, cal,
                                                   opts.scope.start, opts.scope.end)
                      : 0;
        opts.expected = expected;
        if (lib == 0)
            lib = o ? tst_table_coverage_diff(&list, self->table, o->table, &opts.scope)
                    : tst_table_plan_backfill(&list, self->table, &opts);
        Py_END_ALLOW_THREADS
        if (lib != 0) {
            ttf_raise_last(tst_table_root(self->table), self->table);
            rc = -1;
        }
    }
    if (o && o != self)
        ttf_table_unlock(o);
    ttf_table_unlock(self);
    PyObject *result = rc == 0 ? rows_to_py(tst_table_index(self->table), list) : NULL;
    tst_range_list_free(list);
    scope_free(&s);
    tst_coverage_free(expected);
    tst_calendar_free(cal);
    return result;
}

PyMethodDef ttf_coverage_diff_methods[] = {
    {"_coverage_ranges", TTF_KW(coverage_ranges), METH_VARARGS | METH_KEYWORDS,
     "_coverage_ranges(other, start, end, entities, max_request_buckets=0,\n"
     "                 merge_within_buckets=0) -> list[tuple]\n\n"
     "With other: the coverage diff from this table to other; without: the backfill\n"
     "plan. Rows: (entity, change, start, end, buckets, missing_buckets). Use\n"
     "coverage_diff() and plan_backfill()."},
    {NULL, NULL, 0, NULL}};
