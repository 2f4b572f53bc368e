/*
 * calendar.c — the `calendar=` argument of the coverage methods and
 * plan_backfill: a spec string (the grammar of tstable/calendar.h, the
 * same text the CLI's --calendar and SQL's calendar := take) or a dict
 *
 *     {"days": "mon-fri" | ["mon", "tue"], "tz": "America/New_York",
 *      "sessions": "09:30-16:00" | ["09:30-12:00", (time(13), time(16))],
 *      "holidays": "nyse.txt" (a path) | [date(2024, 12, 25), "2024-12-24 09:30-13:00"]}
 *
 * built through the library's setters, so both forms mean the same. It is
 * read with the GIL held (holiday files are small) before the question is
 * asked without it.
 */
#include "ttf.h"

#include "tstable/calendar.h"

static int lib_error(void)
{
    ttf_raise_last(NULL, NULL);
    return -1;
}

/* "a,b,c" from a str or a list of str (each item str()'d through fmt). */
static PyObject *joined(PyObject *value, const char *what)
{
    if (PyUnicode_Check(value))
        return Py_NewRef(value);
    if (!PyList_Check(value) && !PyTuple_Check(value)) {
        PyErr_Format(PyExc_TypeError, "calendar %s must be a str or a list, not %.100s", what,
                     Py_TYPE(value)->tp_name);
        return NULL;
    }
    PyObject *parts = PyList_New(0), *sep = PyUnicode_FromString(","), *out = NULL;
    PyObject *seq = PySequence_Fast(value, "calendar list");
    for (Py_ssize_t i = 0; parts && sep && seq && i < PySequence_Fast_GET_SIZE(seq); i++) {
        PyObject *item = PySequence_Fast_GET_ITEM(seq, i), *text = NULL;
        if (PyTuple_Check(item) && PyTuple_GET_SIZE(item) == 2) /* (time, time) */
            text = PyUnicode_FromFormat("%S-%S", PyTuple_GET_ITEM(item, 0),
                                        PyTuple_GET_ITEM(item, 1));
        else
            text = PyObject_Str(item);
        if (!text || PyList_Append(parts, text) < 0) {
            Py_XDECREF(text);
            goto done;
        }
        Py_DECREF(text);
    }
    if (parts && sep && seq)
        out = PyUnicode_Join(sep, parts);
done:
    Py_XDECREF(parts);
    Py_XDECREF(sep);
    Py_XDECREF(seq);
    return out;
}

typedef int (*text_setter)(tst_calendar *, const char *);

static int set_text(tst_calendar *cal, PyObject *value, const char *what, text_setter set)
{
    PyObject *text = joined(value, what);
    const char *utf8 = text ? PyUnicode_AsUTF8(text) : NULL;
    int rc = utf8 ? (set(cal, utf8) == 0 ? 0 : lib_error()) : -1;
    Py_XDECREF(text);
    return rc;
}

static int set_holidays(tst_calendar *cal, PyObject *value)
{
    if (!PyList_Check(value) && !PyTuple_Check(value)) { /* a path */
        char *path = NULL;
        if (ttf_path_arg(value, &path) < 0)
            return -1;
        int rc = tst_calendar_load_holidays(cal, path) == 0 ? 0 : lib_error();
        free(path);
        return rc;
    }
    for (Py_ssize_t i = 0; i < PySequence_Size(value); i++) {
        PyObject *item = PySequence_GetItem(value, i);
        PyObject *text = item ? PyObject_Str(item) : NULL;
        const char *utf8 = text ? PyUnicode_AsUTF8(text) : NULL;
        int rc = utf8 ? (tst_calendar_add_holiday(cal, utf8) == 0 ? 0 : lib_error()) : -1;
        Py_XDECREF(item);
        Py_XDECREF(text);
        if (rc < 0)
            return -1;
    }
    return 0;
}

static int apply_key(tst_calendar *cal, const char *key, PyObject *value)
{
    if (strcmp(key, "days") == 0)
        return set_text(cal, value, "days", tst_calendar_set_days_text);
    if (strcmp(key, "sessions") == 0)
        return set_text(cal, value, "sessions", tst_calendar_set_sessions);
    if (strcmp(key, "tz") == 0 || strcmp(key, "timezone") == 0) {
        if (!PyUnicode_Check(value)) {
            PyErr_SetString(PyExc_TypeError, "calendar tz must be a str like America/New_York");
            return -1;
        }
        return tst_calendar_set_timezone(cal, PyUnicode_AsUTF8(value)) == 0 ? 0 : lib_error();
    }
    if (strcmp(key, "holidays") == 0)
        return set_holidays(cal, value);
    PyErr_Format(PyExc_ValueError,
                 "unknown calendar key '%s': accepted days, sessions, tz, holidays", key);
    return -1;
}

static int from_dict(PyObject *dict, tst_calendar *cal)
{
    PyObject *key, *value;
    Py_ssize_t pos = 0;
    while (PyDict_Next(dict, &pos, &key, &value)) {
        const char *k = PyUnicode_Check(key) ? PyUnicode_AsUTF8(key) : NULL;
        if (!k) {
            PyErr_SetString(PyExc_TypeError, "calendar dict keys must be str");
            return -1;
        }
        if (value != Py_None && apply_key(cal, k, value) < 0)
            return -1;
    }
    return 0;
}

int ttf_calendar_from_py(PyObject *obj, tst_calendar **out)
{
    *out = NULL;
    if (obj == NULL || obj == Py_None)
        return 0;
    if (PyUnicode_Check(obj)) {
        const char *spec = PyUnicode_AsUTF8(obj);
        if (!spec)
            return -1;
        return tst_calendar_parse(out, spec) == 0 ? 0 : lib_error();
    }
    if (!PyDict_Check(obj)) {
        PyErr_Format(PyExc_TypeError,
                     "calendar must be a spec str like 'weekdays;tz=America/New_York;"
                     "sessions=09:30-16:00' or a dict with days, sessions, tz, holidays; "
                     "not %.100s",
                     Py_TYPE(obj)->tp_name);
        return -1;
    }
    tst_calendar *cal = NULL;
    if (tst_calendar_new(&cal) != 0)
        return lib_error();
    if (from_dict(obj, cal) < 0) {
        tst_calendar_free(cal);
        return -1;
    }
    *out = cal;
    return 0;
}
