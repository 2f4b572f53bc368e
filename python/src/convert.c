/*
 * convert.c — index values, timestamps and entity identities between
 * Python and the library's plain C structs.
 *
 * Timestamps travel as (seconds, nanoseconds) since the epoch in UTC. From
 * Python we accept a datetime (naive means UTC; aware ones are converted),
 * a date (midnight UTC), an RFC 3339 string (a missing zone means UTC) or
 * an int (seconds since the epoch). Back to Python they become aware UTC
 * datetimes, truncated to microseconds because datetime cannot hold
 * nanoseconds. Calendar arithmetic is done here with the proleptic
 * Gregorian day-count formulas so no float ever touches a timestamp.
 *
 * Everything handed to the library is copied into malloc'd memory first:
 * calls run with the GIL released, and another thread could otherwise
 * mutate the dict or list a borrowed pointer came from.
 */
#include "ttf.h"

#include <datetime.h>
#include <stdlib.h>
#include <string.h>

char *ttf_strdup(const char *s)
{
    size_t n = strlen(s) + 1;
    char *copy = malloc(n);
    if (copy == NULL) {
        PyErr_NoMemory();
        return NULL;
    }
    memcpy(copy, s, n);
    return copy;
}

int ttf_path_arg(PyObject *obj, char **out)
{
    PyObject *bytes = NULL;
    if (!PyUnicode_FSConverter(obj, &bytes))
        return -1;
    *out = ttf_strdup(PyBytes_AS_STRING(bytes));
    Py_DECREF(bytes);
    return *out == NULL ? -1 : 0;
}

/* ---- calendar ---------------------------------------------------------- */

/* Days since 1970-01-01 of a civil date (Howard Hinnant's algorithm). */
static int64_t days_from_civil(int64_t y, unsigned m, unsigned d)
{
    y -= m <= 2;
    int64_t era = (y >= 0 ? y : y - 399) / 400;
    unsigned yoe = (unsigned)(y - era * 400);
    unsigned doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + (int64_t)doe - 719468;
}

static void civil_from_days(int64_t z, int *y, int *m, int *d)
{
    z += 719468;
    int64_t era = (z >= 0 ? z : z - 146096) / 146097;
    unsigned doe = (unsigned)(z - era * 146097);
    unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    unsigned mp = (5 * doy + 2) / 153;
    *d = (int)(doy - (153 * mp + 2) / 5 + 1);
    *m = (int)(mp < 10 ? mp + 3 : mp - 9);
    *y = (int)(yoe + era * 400 + (*m <= 2));
}

/* ---- timestamps -------------------------------------------------------- */

static int timestamp_from_datetime(PyObject *dt, tst_timestamp *out)
{
    PyObject *utc = NULL;
    if (((PyDateTime_DateTime *)dt)->hastzinfo && PyDateTime_DATE_GET_TZINFO(dt) != Py_None) {
        utc = PyObject_CallMethod(dt, "astimezone", "O", ttf_utc);
        if (utc == NULL)
            return -1;
        dt = utc;
    }
    int64_t days = days_from_civil(PyDateTime_GET_YEAR(dt), PyDateTime_GET_MONTH(dt),
                                   PyDateTime_GET_DAY(dt));
    out->sec = days * 86400 + PyDateTime_DATE_GET_HOUR(dt) * 3600 +
               PyDateTime_DATE_GET_MINUTE(dt) * 60 + PyDateTime_DATE_GET_SECOND(dt);
    out->nsec = (uint32_t)PyDateTime_DATE_GET_MICROSECOND(dt) * 1000u;
    Py_XDECREF(utc);
    return 0;
}

/* RFC 3339 through the library's parser; a string without a zone (or a
 * bare date) is read as UTC, as naive datetimes are. */
static int timestamp_from_text(PyObject *obj, tst_timestamp *out)
{
    const char *text = PyUnicode_AsUTF8(obj);
    if (text == NULL)
        return -1;
    if (tst_timestamp_parse(out, text) == 0)
        return 0;
    char buf[96];
    const char *suffix = strlen(text) == 10 ? "T00:00:00Z" : "Z";
    if (strlen(text) < 64) {
        snprintf(buf, sizeof buf, "%s%s", text, suffix);
        if (tst_timestamp_parse(out, buf) == 0)
            return 0;
    }
    PyErr_Format(PyExc_ValueError, "invalid timestamp %R: expected RFC 3339, e.g. "
                 "'2024-06-01T00:00:00Z'", obj);
    return -1;
}

int ttf_timestamp_from_py(PyObject *obj, tst_timestamp *out)
{
    if (PyDateTime_Check(obj))
        return timestamp_from_datetime(obj, out);
    if (PyDate_Check(obj)) {
        out->sec = days_from_civil(PyDateTime_GET_YEAR(obj), PyDateTime_GET_MONTH(obj),
                                   PyDateTime_GET_DAY(obj)) * 86400;
        out->nsec = 0;
        return 0;
    }
    if (PyUnicode_Check(obj))
        return timestamp_from_text(obj, out);
    if (PyLong_Check(obj) && !PyBool_Check(obj)) {
        int overflow = 0;
        long long sec = PyLong_AsLongLongAndOverflow(obj, &overflow);
        if (overflow || (sec == -1 && PyErr_Occurred())) {
            PyErr_SetString(PyExc_ValueError, "timestamp seconds out of i64 range");
            return -1;
        }
        out->sec = sec;
        out->nsec = 0;
        return 0;
    }
    PyErr_Format(PyExc_TypeError, "expected a datetime, date, ISO-8601 string or int seconds, "
                 "got %.100s", Py_TYPE(obj)->tp_name);
    return -1;
}

PyObject *ttf_timestamp_to_py(int64_t sec, uint32_t nsec, PyObject *tz)
{
    int64_t days = sec / 86400, rem = sec % 86400;
    if (rem < 0) {
        rem += 86400;
        days -= 1;
    }
    int y, m, d;
    civil_from_days(days, &y, &m, &d);
    if (y < 1 || y > 9999) {
        PyErr_Format(PyExc_ValueError, "timestamp %lld s is outside datetime's years 1..9999",
                     (long long)sec);
        return NULL;
    }
    return PyDateTimeAPI->DateTime_FromDateAndTime(y, m, d, (int)(rem / 3600),
                                                   (int)(rem / 60 % 60), (int)(rem % 60),
                                                   (int)(nsec / 1000), tz,
                                                   PyDateTimeAPI->DateTimeType);
}

/* ---- index values ------------------------------------------------------ */

static int int_from_py(PyObject *obj, const char *what, int is_unsigned, tst_index_value *out)
{
    if (!PyLong_Check(obj) || PyBool_Check(obj)) {
        PyErr_Format(PyExc_TypeError, "%s must be an int for this index, got %.100s", what,
                     Py_TYPE(obj)->tp_name);
        return -1;
    }
    if (is_unsigned) {
        unsigned long long u = PyLong_AsUnsignedLongLong(obj);
        if (u == (unsigned long long)-1 && PyErr_Occurred())
            goto range;
        *out = tst_index_value_uint64(u);
        return 0;
    }
    int overflow = 0;
    long long v = PyLong_AsLongLongAndOverflow(obj, &overflow);
    if (overflow)
        goto range;
    if (v == -1 && PyErr_Occurred())
        return -1;
    *out = tst_index_value_int64(v);
    return 0;
range:
    PyErr_Clear();
    PyErr_Format(PyExc_ValueError, "%s out of %s range", what, is_unsigned ? "u64" : "i64");
    return -1;
}

int ttf_index_value_from_py(PyObject *obj, tst_index_type type, const char *what,
                            tst_index_value *out)
{
    if (type == TST_INDEX_TIMESTAMP) {
        out->type = TST_INDEX_TIMESTAMP;
        return ttf_timestamp_from_py(obj, &out->v.ts);
    }
    return int_from_py(obj, what, type == TST_INDEX_UINT64, out);
}

PyObject *ttf_index_value_to_py(const tst_index_value *v)
{
    switch (v->type) {
    case TST_INDEX_TIMESTAMP:
        return ttf_timestamp_to_py(v->v.ts.sec, v->v.ts.nsec, ttf_utc);
    case TST_INDEX_INT64:
        return PyLong_FromLongLong(v->v.i64);
    case TST_INDEX_UINT64:
        return PyLong_FromUnsignedLongLong(v->v.u64);
    }
    PyErr_SetString(PyExc_SystemError, "unknown index value type");
    return NULL;
}

/* ---- entities ---------------------------------------------------------- */

PyObject *ttf_entity_value_to_py(const tst_entity_value *v)
{
    switch (v->type) {
    case TST_ENTITY_UTF8:
        return PyUnicode_DecodeUTF8(v->v.utf8.ptr, (Py_ssize_t)v->v.utf8.len, "replace");
    case TST_ENTITY_INT32:
        return PyLong_FromLong(v->v.i32);
    case TST_ENTITY_INT64:
        return PyLong_FromLongLong(v->v.i64);
    case TST_ENTITY_UINT64:
        return PyLong_FromUnsignedLongLong(v->v.u64);
    }
    PyErr_SetString(PyExc_SystemError, "unknown entity value type");
    return NULL;
}

PyObject *ttf_identity_to_py(const tst_index_spec *spec, const tst_entity_identity *id)
{
    PyObject *dict = PyDict_New();
    for (size_t i = 0; dict != NULL && i < id->count; i++) {
        const char *col = i < spec->entity_count ? spec->entity_columns[i] : "?";
        PyObject *value = ttf_entity_value_to_py(&id->values[i]);
        if (value == NULL || PyDict_SetItemString(dict, col, value) < 0)
            Py_CLEAR(dict);
        Py_XDECREF(value);
    }
    return dict;
}

/* The entity type the library expects for a column: the schema's if the
 * table has one, otherwise guessed from the Python value. */
static tst_entity_type entity_type_for(const tst_table *table, const char *col, PyObject *value)
{
    const tst_table_meta *meta = table ? tst_table_get_meta(table) : NULL;
    const tst_schema *schema = meta ? meta->schema : NULL;
    for (size_t i = 0; schema != NULL && i < schema->column_count; i++) {
        if (strcmp(schema->columns[i].name, col) != 0)
            continue;
        switch (schema->columns[i].type.kind) {
        case TST_TYPE_INT32: return TST_ENTITY_INT32;
        case TST_TYPE_INT64: return TST_ENTITY_INT64;
        case TST_TYPE_UINT64: return TST_ENTITY_UINT64;
        default: return TST_ENTITY_UTF8;
        }
    }
    return PyUnicode_Check(value) ? TST_ENTITY_UTF8 : TST_ENTITY_INT64;
}

static int entity_value_from_py(PyObject *value, const char *col, tst_entity_type type,
                                tst_entity_value *out, char **owned)
{
    out->type = type;
    if (type == TST_ENTITY_UTF8) {
        Py_ssize_t len;
        const char *s = PyUnicode_Check(value) ? PyUnicode_AsUTF8AndSize(value, &len) : NULL;
        if (s == NULL) {
            if (!PyErr_Occurred())
                PyErr_Format(PyExc_TypeError, "entity column '%s' takes a str, got %.100s", col,
                             Py_TYPE(value)->tp_name);
            return -1;
        }
        if ((*owned = malloc((size_t)len + 1)) == NULL) {
            PyErr_NoMemory();
            return -1;
        }
        memcpy(*owned, s, (size_t)len + 1);
        out->v.utf8.ptr = *owned;
        out->v.utf8.len = (size_t)len;
        return 0;
    }
    tst_index_value iv;
    char what[160];
    snprintf(what, sizeof what, "entity column '%.100s'", col);
    if (int_from_py(value, what, type == TST_ENTITY_UINT64, &iv) < 0)
        return -1;
    if (type == TST_ENTITY_INT32 && (iv.v.i64 < INT32_MIN || iv.v.i64 > INT32_MAX)) {
        PyErr_Format(PyExc_ValueError, "%s out of i32 range", what);
        return -1;
    }
    if (type == TST_ENTITY_INT32)
        out->v.i32 = (int32_t)iv.v.i64;
    else if (type == TST_ENTITY_INT64)
        out->v.i64 = iv.v.i64;
    else
        out->v.u64 = iv.v.u64;
    return 0;
}

void ttf_entity_args_free(ttf_entity_args *args)
{
    for (size_t i = 0; args->owned != NULL && i < 2 * args->count; i++)
        free(args->owned[i]);
    free(args->owned);
    free(args->bindings);
    *args = (ttf_entity_args)TTF_ENTITY_ARGS_INIT;
}

int ttf_entity_args_from_py(PyObject *obj, const tst_table *table, ttf_entity_args *out)
{
    *out = (ttf_entity_args)TTF_ENTITY_ARGS_INIT;
    if (obj == NULL || obj == Py_None)
        return 0;
    if (!PyDict_Check(obj)) {
        PyErr_SetString(PyExc_TypeError, "entity must be a dict mapping entity column to value, "
                        "or None");
        return -1;
    }
    size_t n = (size_t)PyDict_Size(obj);
    out->bindings = calloc(n ? n : 1, sizeof *out->bindings);
    out->owned = calloc(2 * n + 1, sizeof *out->owned);
    if (out->bindings == NULL || out->owned == NULL) {
        ttf_entity_args_free(out);
        PyErr_NoMemory();
        return -1;
    }
    out->count = n;
    Py_ssize_t pos = 0;
    PyObject *key, *value;
    for (size_t i = 0; i < n && PyDict_Next(obj, &pos, &key, &value); i++) {
        const char *col = PyUnicode_Check(key) ? PyUnicode_AsUTF8(key) : NULL;
        if (col == NULL) {
            if (!PyErr_Occurred())
                PyErr_SetString(PyExc_TypeError, "entity keys must be column names (str)");
            goto fail;
        }
        if ((out->owned[2 * i] = ttf_strdup(col)) == NULL)
            goto fail;
        out->bindings[i].column = out->owned[2 * i];
        if (entity_value_from_py(value, col, entity_type_for(table, col, value),
                                 &out->bindings[i].value, &out->owned[2 * i + 1]) < 0)
            goto fail;
    }
    return 0;
fail:
    ttf_entity_args_free(out);
    return -1;
}

/* ---- other temporal values, for Arrow columns -------------------------- */

PyObject *ttf_date_to_py(int64_t days)
{
    int y, m, d;
    civil_from_days(days, &y, &m, &d);
    if (y < 1 || y > 9999) {
        PyErr_Format(PyExc_ValueError, "date %lld days is outside years 1..9999", (long long)days);
        return NULL;
    }
    return PyDateTimeAPI->Date_FromDate(y, m, d, PyDateTimeAPI->DateType);
}

PyObject *ttf_time_to_py(int64_t micros)
{
    if (micros < 0 || micros >= 86400LL * 1000000) {
        PyErr_SetString(PyExc_ValueError, "time of day out of range");
        return NULL;
    }
    int64_t s = micros / 1000000;
    return PyDateTimeAPI->Time_FromTime((int)(s / 3600), (int)(s / 60 % 60), (int)(s % 60),
                                        (int)(micros % 1000000), Py_None,
                                        PyDateTimeAPI->TimeType);
}

PyObject *ttf_timedelta_to_py(int64_t micros)
{
    int64_t days = micros / 86400000000LL, rem = micros % 86400000000LL;
    if (rem < 0) {
        rem += 86400000000LL;
        days -= 1;
    }
    return PyDateTimeAPI->Delta_FromDelta((int)days, (int)(rem / 1000000), (int)(rem % 1000000), 1,
                                          PyDateTimeAPI->DeltaType);
}

int ttf_is_timedelta(PyObject *obj, int64_t *out_micros)
{
    if (!PyDelta_Check(obj))
        return 0;
    *out_micros = ((int64_t)PyDateTime_DELTA_GET_DAYS(obj) * 86400 +
                   PyDateTime_DELTA_GET_SECONDS(obj)) * 1000000 +
                  PyDateTime_DELTA_GET_MICROSECONDS(obj);
    return 1;
}

/*
 * A datetime or date as the text of a SQL parameter: datetimes in UTC as
 * RFC 3339 with 'Z' (naive ones are UTC, aware ones converted), which
 * DuckDB reads as the same instant whatever the session's TimeZone; dates
 * as "YYYY-MM-DD". The library binds no typed timestamp or date, so the
 * engine casts this text to the type the statement gives the parameter.
 */
int ttf_time_param_text(PyObject *obj, char *buf, size_t cap)
{
    if (PyDateTime_Check(obj)) {
        tst_timestamp ts;
        if (timestamp_from_datetime(obj, &ts) < 0)
            return -1;
        if (tst_timestamp_format(ts, buf, cap) >= 0)
            return 1;
        PyErr_Format(PyExc_ValueError, "datetime parameter %R: %s", obj, tst_error_last()->message);
        return -1;
    }
    if (PyDate_Check(obj)) {
        snprintf(buf, cap, "%04d-%02d-%02d", PyDateTime_GET_YEAR(obj), PyDateTime_GET_MONTH(obj),
                 PyDateTime_GET_DAY(obj));
        return 1;
    }
    return 0;
}

int ttf_convert_init(void)
{
    PyDateTime_IMPORT;
    return PyDateTimeAPI == NULL ? -1 : 0;
}
