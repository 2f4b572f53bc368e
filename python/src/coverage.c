/*
 * coverage.c — TimeSeriesTable's coverage questions, answered from the
 * table's coverage snapshot without reading Parquet or starting SQL.
 *
 * The reference's Python package has no coverage API; these methods follow
 * the Rust one (format-v6 §4.1) with Python values: ranges are half-open
 * [start, end) in the index's own type (datetime or ISO string for
 * timestamps, int for integer indexes) and answers come back in that type,
 * never as bucket ids. `entity` is a dict of entity column to value, or
 * None for the whole table.
 *
 * Each answer is for the latest commit (finding 29): under the handle's
 * lock, the handle is refreshed first (tst_table_refresh reads CURRENT and
 * only the commits it has not seen), so a long-lived TimeSeriesTable sees
 * what other processes appended, as Session SQL does. The entity dict is
 * read after the refresh because its values are typed by the schema,
 * which the first append of another process may have just set.
 *
 * The range is parsed into C first (the index type never changes); the
 * library is asked with the GIL released. The gap walk collects into a C
 * array inside that section and becomes Python afterwards, because the
 * callback runs without the GIL.
 */
#include "ttf.h"

#include <stdlib.h>

typedef struct range_args {
    tst_index_value start, end;
    ttf_entity_args entity;
    tst_calendar *cal; /* calendar=, NULL without one */
} range_args;

/* Parses start and end; *entity is the borrowed entity argument, read
 * later by fresh_entity(). */
static int parse_range(ttf_TableObject *self, PyObject *args, PyObject *kwargs, const char *fmt,
                       range_args *out, PyObject **entity)
{
    static char *kw[] = {"start", "end", "entity", "calendar", NULL};
    PyObject *start, *end, *calendar = Py_None;
    *entity = Py_None;
    if (!PyArg_ParseTupleAndKeywords(args, kwargs, fmt, kw, &start, &end, entity, &calendar))
        return -1;
    tst_index_type type = tst_table_index(self->table)->kind.type;
    if (ttf_index_value_from_py(start, type, "start", &out->start) < 0 ||
        ttf_index_value_from_py(end, type, "end", &out->end) < 0)
        return -1;
    return ttf_calendar_from_py(calendar, &out->cal);
}

/* With the lock held: refreshes the handle, then reads the entity dict
 * against the schema of the latest commit. */
static int fresh_entity(ttf_TableObject *self, PyObject *entity, ttf_entity_args *out)
{
    if (ttf_table_refresh_locked(self) < 0)
        return -1;
    return ttf_entity_args_from_py(entity, self->table, out);
}

static PyObject *fail(ttf_TableObject *self)
{
    return ttf_raise_last(tst_table_root(self->table), self->table);
}

/* Counts for [start, end): shared by coverage_ratio, max_gap and coverage. */
static int counts(ttf_TableObject *self, PyObject *args, PyObject *kwargs, const char *fmt,
                  tst_coverage_counts *out)
{
    range_args a = {.entity = TTF_ENTITY_ARGS_INIT};
    PyObject *entity;
    if (parse_range(self, args, kwargs, fmt, &a, &entity) < 0) {
        tst_calendar_free(a.cal);
        return -1;
    }
    ttf_table_lock(self);
    int rc = fresh_entity(self, entity, &a.entity);
    if (rc == 0) {
        Py_BEGIN_ALLOW_THREADS
        rc = tst_table_coverage_cal(self->table, a.entity.bindings, a.entity.count, &a.start,
                                    &a.end, a.cal, out);
        Py_END_ALLOW_THREADS
        if (rc != 0)
            fail(self);
    }
    ttf_table_unlock(self);
    ttf_entity_args_free(&a.entity);
    tst_calendar_free(a.cal);
    return rc == 0 ? 0 : -1;
}

static PyObject *coverage_ratio(ttf_TableObject *self, PyObject *args, PyObject *kwargs)
{
    tst_coverage_counts c;
    if (counts(self, args, kwargs, "OO|OO:coverage_ratio", &c) < 0)
        return NULL;
    return PyFloat_FromDouble(c.ratio);
}

static PyObject *max_gap(ttf_TableObject *self, PyObject *args, PyObject *kwargs)
{
    tst_coverage_counts c;
    if (counts(self, args, kwargs, "OO|OO:max_gap", &c) < 0)
        return NULL;
    return PyLong_FromUnsignedLongLong(c.max_gap_buckets);
}

static PyObject *coverage(ttf_TableObject *self, PyObject *args, PyObject *kwargs)
{
    tst_coverage_counts c;
    if (counts(self, args, kwargs, "OO|OO:coverage", &c) < 0)
        return NULL;
    return Py_BuildValue("{s:K,s:K,s:K,s:d,s:K}", "covered_buckets",
                         (unsigned long long)c.covered_buckets, "total_buckets",
                         (unsigned long long)c.total_buckets, "missing_buckets",
                         (unsigned long long)(c.total_buckets - c.covered_buckets), "ratio",
                         c.ratio, "max_gap_buckets", (unsigned long long)c.max_gap_buckets);
}

/* ---- gaps ---------------------------------------------------------------- */

typedef struct gap_list {
    tst_index_value *bounds; /* start, end pairs */
    size_t count, cap;
} gap_list;

static int collect_gap(void *ctx, const tst_index_value *start, const tst_index_value *end,
                       bool end_inclusive, uint64_t buckets)
{
    (void)end_inclusive;
    (void)buckets;
    gap_list *g = ctx;
    if (g->count == g->cap) {
        size_t cap = g->cap ? 2 * g->cap : 16;
        tst_index_value *grown = realloc(g->bounds, 2 * cap * sizeof *grown);
        if (grown == NULL)
            return TST_ENOMEM;
        g->bounds = grown;
        g->cap = cap;
    }
    g->bounds[2 * g->count] = *start;
    g->bounds[2 * g->count + 1] = *end;
    g->count++;
    return 0;
}

static PyObject *gap_pairs(const gap_list *g)
{
    PyObject *list = PyList_New((Py_ssize_t)g->count);
    for (size_t i = 0; list && i < g->count; i++) {
        PyObject *pair = Py_BuildValue("(NN)", ttf_index_value_to_py(&g->bounds[2 * i]),
                                       ttf_index_value_to_py(&g->bounds[2 * i + 1]));
        if (pair == NULL)
            Py_CLEAR(list);
        else
            PyList_SET_ITEM(list, (Py_ssize_t)i, pair);
    }
    return list;
}

static PyObject *gaps(ttf_TableObject *self, PyObject *args, PyObject *kwargs)
{
    range_args a = {.entity = TTF_ENTITY_ARGS_INIT};
    PyObject *entity, *out = NULL;
    if (parse_range(self, args, kwargs, "OO|OO:gaps", &a, &entity) < 0) {
        tst_calendar_free(a.cal);
        return NULL;
    }
    gap_list g = {NULL, 0, 0};
    ttf_table_lock(self);
    if (fresh_entity(self, entity, &a.entity) == 0) {
        int rc;
        Py_BEGIN_ALLOW_THREADS
        rc = tst_table_gaps_cal(self->table, a.entity.bindings, a.entity.count, &a.start,
                                &a.end, a.cal, 0, collect_gap, &g);
        Py_END_ALLOW_THREADS
        out = rc == 0 ? gap_pairs(&g) : rc == TST_ENOMEM ? PyErr_NoMemory() : fail(self);
    }
    ttf_table_unlock(self);
    free(g.bounds);
    ttf_entity_args_free(&a.entity);
    tst_calendar_free(a.cal);
    return out;
}

/* ---- last fully covered window ------------------------------------------ */

/* The window length in buckets: an int, or a timedelta that is a whole
 * number of a timestamp index's buckets. */
static int window_buckets(ttf_TableObject *self, PyObject *length, uint64_t *out)
{
    const tst_index_kind *kind = &tst_table_index(self->table)->kind;
    int64_t micros;
    if (kind->type == TST_INDEX_TIMESTAMP && ttf_is_timedelta(length, &micros)) {
        int64_t width = (int64_t)tst_time_bucket_seconds(kind->bucket) * 1000000;
        if (micros < 0 || micros % width != 0) {
            PyErr_SetString(PyExc_ValueError, "length must be a whole number of buckets");
            return -1;
        }
        *out = (uint64_t)(micros / width);
        return 0;
    }
    if (!PyLong_Check(length) || PyBool_Check(length)) {
        PyErr_SetString(PyExc_TypeError, "length must be an int number of buckets (or a "
                        "timedelta for timestamp indexes)");
        return -1;
    }
    *out = PyLong_AsUnsignedLongLong(length);
    if (PyErr_Occurred()) {
        PyErr_Clear();
        PyErr_SetString(PyExc_ValueError, "length must be a bucket count in 0..=2**64-1");
        return -1;
    }
    return 0;
}

static PyObject *last_window(ttf_TableObject *self, PyObject *args, PyObject *kwargs)
{
    static char *kw[] = {"end", "length", "entity", "calendar", NULL};
    PyObject *end, *length, *entity = Py_None, *calendar = Py_None;
    if (!PyArg_ParseTupleAndKeywords(args, kwargs, "OO|OO:last_fully_covered_window", kw, &end,
                                     &length, &entity, &calendar))
        return NULL;
    tst_index_value e, ws, we;
    uint64_t buckets;
    ttf_entity_args ent = TTF_ENTITY_ARGS_INIT;
    if (ttf_index_value_from_py(end, tst_table_index(self->table)->kind.type, "end", &e) < 0 ||
        window_buckets(self, length, &buckets) < 0)
        return NULL;
    tst_calendar *cal = NULL;
    if (ttf_calendar_from_py(calendar, &cal) < 0)
        return NULL;
    bool found = false;
    PyObject *out = NULL;
    ttf_table_lock(self);
    if (fresh_entity(self, entity, &ent) == 0) {
        int rc;
        Py_BEGIN_ALLOW_THREADS
        rc = tst_table_last_covered_window_cal(self->table, ent.bindings, ent.count, &e, buckets,
                                               cal, &found, &ws, &we);
        Py_END_ALLOW_THREADS
        out = rc != 0 ? fail(self) : !found ? Py_NewRef(Py_None)
              : Py_BuildValue("(NN)", ttf_index_value_to_py(&ws), ttf_index_value_to_py(&we));
    }
    ttf_table_unlock(self);
    ttf_entity_args_free(&ent);
    tst_calendar_free(cal);
    return out;
}

/* ---- summary ------------------------------------------------------------- */

static PyObject *summary_dict(const tst_index_spec *spec, const tst_entity_summary *s)
{
    PyObject *entity = spec->entity_count ? ttf_identity_to_py(spec, &s->identity)
                                          : Py_NewRef(Py_None);
    PyObject *first = s->covered ? ttf_index_value_to_py(&s->first) : Py_NewRef(Py_None);
    PyObject *last = s->covered ? ttf_index_value_to_py(&s->last) : Py_NewRef(Py_None);
    if (!entity || !first || !last) {
        Py_XDECREF(entity);
        Py_XDECREF(first);
        Py_XDECREF(last);
        return NULL;
    }
    return Py_BuildValue("{s:N,s:O,s:N,s:N,s:K,s:K,s:K}", "entity", entity, "covered",
                         s->covered ? Py_True : Py_False, "first", first, "last", last,
                         "covered_buckets", (unsigned long long)s->covered_buckets, "gaps",
                         (unsigned long long)s->gaps, "missing_buckets",
                         (unsigned long long)s->missing_buckets);
}

static PyObject *coverage_summary(ttf_TableObject *self, PyObject *args, PyObject *kwargs)
{
    static char *kw[] = {"calendar", NULL};
    PyObject *calendar = Py_None;
    tst_calendar *cal = NULL;
    if (!PyArg_ParseTupleAndKeywords(args, kwargs, "|O:coverage_summary", kw, &calendar) ||
        ttf_calendar_from_py(calendar, &cal) < 0)
        return NULL;
    tst_coverage_summary *sum = NULL;
    int rc = -1;
    ttf_table_lock(self);
    if (ttf_table_refresh_locked(self) == 0) {
        Py_BEGIN_ALLOW_THREADS
        rc = tst_table_coverage_summary_cal(self->table, cal, &sum);
        Py_END_ALLOW_THREADS
        if (rc != 0)
            fail(self);
    }
    PyObject *list = rc == 0 ? PyList_New((Py_ssize_t)tst_coverage_summary_count(sum)) : NULL;
    for (size_t i = 0; list && i < tst_coverage_summary_count(sum); i++) {
        PyObject *d = summary_dict(tst_table_index(self->table), tst_coverage_summary_at(sum, i));
        if (d == NULL)
            Py_CLEAR(list);
        else
            PyList_SET_ITEM(list, (Py_ssize_t)i, d);
    }
    ttf_table_unlock(self);
    tst_coverage_summary_free(sum);
    tst_calendar_free(cal);
    return list;
}

/* _entity_known(entity) -> bool: whether the table has ever seen the entity
 * (the Python layer warns about one it has not; _table.py). */
static PyObject *entity_known(ttf_TableObject *self, PyObject *entity)
{
    ttf_entity_args ent = TTF_ENTITY_ARGS_INIT;
    bool known = true;
    int rc = -1;
    ttf_table_lock(self);
    if (fresh_entity(self, entity, &ent) == 0) {
        Py_BEGIN_ALLOW_THREADS
        rc = tst_table_entity_known(self->table, ent.bindings, ent.count, &known);
        Py_END_ALLOW_THREADS
        if (rc != 0)
            fail(self);
    }
    ttf_table_unlock(self);
    ttf_entity_args_free(&ent);
    return rc == 0 ? PyBool_FromLong(known) : NULL;
}

PyMethodDef ttf_coverage_methods[] = {
    {"_entity_known", (PyCFunction)entity_known, METH_O,
     "_entity_known(entity) -> bool\n\nWhether the table has ever seen the entity."},
    {"coverage_ratio", TTF_KW(coverage_ratio), METH_VARARGS | METH_KEYWORDS,
     "coverage_ratio(start, end, entity=None, calendar=None) -> float\n\n"
     "Covered buckets / buckets of [start, end) at the latest commit (every coverage\n"
     "answer refreshes the handle first). entity is {column: value} or None\n"
     "(whole table: a bucket counts when any entity covers it). calendar: a spec str\n"
     "('weekdays;tz=America/New_York;sessions=09:30-16:00') or a dict (days, sessions,\n"
     "tz, holidays): only the buckets it expects count."},
    {"max_gap", TTF_KW(max_gap), METH_VARARGS | METH_KEYWORDS,
     "max_gap(start, end, entity=None, calendar=None) -> int\n\nThe longest run of missing "
     "buckets in [start, end); with a calendar, of missing expected buckets."},
    {"coverage", TTF_KW(coverage), METH_VARARGS | METH_KEYWORDS,
     "coverage(start, end, entity=None, calendar=None) -> dict\n\ncovered_buckets, total_buckets, "
     "missing_buckets, ratio and max_gap_buckets of [start, end)."},
    {"gaps", TTF_KW(gaps), METH_VARARGS | METH_KEYWORDS,
     "gaps(start, end, entity=None, calendar=None) -> list[tuple[start, end]]\n\n"
     "The missing ranges, half-open, in the index's type (aware UTC datetimes for\n"
     "timestamp indexes). Gaps follow bucket edges, so the first may start before\n"
     "start and the last end after end. With a calendar, closed time (nights, weekends,\n"
     "holidays) neither ends a gap nor starts one."},
    {"last_fully_covered_window", TTF_KW(last_window), METH_VARARGS | METH_KEYWORDS,
     "last_fully_covered_window(end, length, entity=None, calendar=None)\n"
     "    -> tuple[start, end] | None\n\n"
     "The most recent run of `length` fully covered buckets ending before end.\n"
     "length is a bucket count (or a timedelta for timestamp indexes). With a calendar,\n"
     "the window's expected buckets must be covered, and it must hold at least one."},
    {"coverage_summary", TTF_KW(coverage_summary), METH_VARARGS | METH_KEYWORDS,
     "coverage_summary(calendar=None) -> list[dict]\n\nPer entity: entity ({column: value}, "
     "None without\nentity columns), covered, first, last (exclusive), covered_buckets, gaps,\n"
     "missing_buckets (inside [first, last)). With a calendar, covered_buckets, gaps and\n"
     "missing_buckets count expected buckets only."},
    {NULL, NULL, 0, NULL}};
