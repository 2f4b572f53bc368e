/*
 * delete.c — TimeSeriesTable.delete_rows(): deleting the rows of a range and
 * their coverage (tstable/delete.h) from Python.
 *
 * The package shapes the arguments (entities as a list of {column: value}
 * dicts, or None for every entity) and hands this method the range, the
 * list and the expected version (0: any). Under the handle's lock the
 * handle is refreshed first, so the entity values are typed after the
 * latest schema, then the library runs with the GIL released. The report
 * comes back as a dict (the package makes it a DeleteReport). Refusals
 * (misaligned range, unknown entity) are TST_EINVAL: TimeseriesTableError
 * with the library's message, which names the nearest aligned ranges or
 * entities.
 */
#include "ttf.h"

#include "tstable/delete.h"

#include <stdlib.h>
#include <string.h>

static PyObject *report_dict(const tst_delete_report *r)
{
    return Py_BuildValue("{s:K,s:K,s:K,s:K,s:K,s:K,s:O,s:I}", "starting_version",
                         (unsigned long long)r->starting_version, "committed_version",
                         (unsigned long long)r->committed_version, "rows_deleted",
                         (unsigned long long)r->rows_deleted, "segments_removed",
                         (unsigned long long)r->segments_removed, "segments_rewritten",
                         (unsigned long long)r->segments_rewritten, "buckets_uncovered",
                         (unsigned long long)r->buckets_uncovered, "no_op",
                         r->no_op ? Py_True : Py_False, "attempts", r->attempts);
}

typedef struct delete_args {
    tst_delete_target *targets;
    ttf_entity_args *entities;
    size_t count;
} delete_args;

static void args_free(delete_args *a)
{
    for (size_t i = 0; a->entities && i < a->count; i++)
        ttf_entity_args_free(&a->entities[i]);
    free(a->entities);
    free(a->targets);
}

/* With the lock held and the handle fresh: one target per dict (or one for None). */
static int build_targets(ttf_TableObject *self, PyObject *list, const tst_index_value *start,
                         const tst_index_value *end, delete_args *a)
{
    Py_ssize_t n = list == Py_None ? 1 : PyList_Size(list);
    if (n < 0)
        return -1;
    a->targets = calloc(n ? (size_t)n : 1, sizeof *a->targets);
    a->entities = calloc(n ? (size_t)n : 1, sizeof *a->entities);
    if (!a->targets || !a->entities) {
        PyErr_NoMemory();
        return -1;
    }
    a->count = (size_t)n;
    for (Py_ssize_t i = 0; i < n; i++) {
        a->entities[i] = (ttf_entity_args)TTF_ENTITY_ARGS_INIT;
        PyObject *item = list == Py_None ? Py_None : PyList_GET_ITEM(list, i);
        if (ttf_entity_args_from_py(item, self->table, &a->entities[i]) < 0)
            return -1;
        a->targets[i].entity = a->entities[i].bindings;
        a->targets[i].entity_count = a->entities[i].count;
        a->targets[i].start = *start;
        a->targets[i].end = *end;
    }
    return 0;
}

static PyObject *table_delete_rows(ttf_TableObject *self, PyObject *args, PyObject *kwargs)
{
    static char *kw[] = {"start", "end", "entities", "expected_version", NULL};
    PyObject *start, *end, *entities = Py_None;
    unsigned long long expected = 0;
    if (!PyArg_ParseTupleAndKeywords(args, kwargs, "OO|OK:delete_rows", kw, &start, &end,
                                     &entities, &expected))
        return NULL;
    if (entities != Py_None && !PyList_Check(entities)) {
        PyErr_SetString(PyExc_TypeError, "entities must be a list of {column: value} dicts, "
                        "or None");
        return NULL;
    }
    tst_index_value s, e;
    tst_index_type type = tst_table_index(self->table)->kind.type;
    if (ttf_index_value_from_py(start, type, "start", &s) < 0 ||
        ttf_index_value_from_py(end, type, "end", &e) < 0)
        return NULL;
    delete_args a = {NULL, NULL, 0};
    PyObject *out = NULL;
    ttf_table_lock(self);
    if (ttf_table_refresh_locked(self) == 0 && build_targets(self, entities, &s, &e, &a) == 0) {
        tst_delete_options opts = TST_DELETE_OPTIONS_INIT;
        opts.expected_version = expected;
        tst_delete_report report;
        int rc;
        Py_BEGIN_ALLOW_THREADS
        rc = tst_table_delete_rows(self->table, a.targets, a.count, &opts, &report);
        Py_END_ALLOW_THREADS
        out = rc == 0 ? report_dict(&report)
                      : ttf_raise_last(tst_table_root(self->table), self->table);
    }
    ttf_table_unlock(self);
    args_free(&a);
    return out;
}

PyMethodDef ttf_delete_methods[] = {
    {"delete_rows", TTF_KW(table_delete_rows), METH_VARARGS | METH_KEYWORDS,
     "delete_rows(start, end, entities=None, expected_version=0) -> dict\n\n"
     "Delete the rows whose index lies in [start, end) (on bucket boundaries), of the\n"
     "entities given as a list of {column: value} dicts or of every entity, and their\n"
     "coverage, in one commit. Returns what DeleteReport is built from."},
    {NULL, NULL, 0, NULL}};
