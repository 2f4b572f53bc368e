/*
 * arrow_values.c — Arrow arrays to Python values, for SqlResult.to_pylist()
 * and friends, so results are usable without pyarrow.
 *
 * A column is read straight from its buffers, following the C Data
 * Interface: buffers[0] is the validity bitmap (NULL: no nulls), offsets
 * are applied at both the batch (struct) level and the column level. The
 * types are the ones the library and DuckDB produce: integers, floats,
 * bool, (large) utf8 and binary, fixed-size binary, timestamps in any unit
 * (with a timezone they become aware datetimes, converted to that zone when
 * it is not UTC), date32/64, time, duration, decimal (as decimal.Decimal,
 * exact) and null. Nested and dictionary columns raise NotImplementedError
 * naming the column: export those through __arrow_c_stream__ instead.
 */
#include "ttf.h"

#include <stdlib.h>
#include <string.h>

/* One column being converted: its format parsed once. */
typedef struct column_reader {
    const struct ArrowSchema *field;
    const struct ArrowArray *array;
    int64_t base;          /* batch offset + column offset */
    char kind;             /* first format character, or a tag below */
    int64_t unit_per_sec;  /* timestamps, times, durations */
    int32_t width;         /* fixed binary bytes; decimal bits */
    int32_t scale;         /* decimal */
    PyObject *tz;          /* timestamps with a zone: tzinfo (owned) */
} column_reader;

static int is_valid(const column_reader *c, int64_t i)
{
    const uint8_t *bits = c->array->buffers[0];
    int64_t j = c->base + i;
    return c->array->null_count == 0 || bits == NULL || (bits[j >> 3] >> (j & 7)) & 1;
}

static int64_t unit_scale(char u)
{
    return u == 's' ? 1 : u == 'm' ? 1000 : u == 'u' ? 1000000 : 1000000000;
}

/* tzinfo for a zone name: UTC shares datetime.timezone.utc, others go
 * through zoneinfo (unknown names fall back to UTC rather than fail). */
static PyObject *tz_for(const char *zone)
{
    if (strcmp(zone, "UTC") == 0 || strcmp(zone, "+00:00") == 0 || strcmp(zone, "Z") == 0 ||
        strcmp(zone, "Etc/UTC") == 0)
        return Py_NewRef(ttf_utc);
    PyObject *mod = PyImport_ImportModule("zoneinfo");
    PyObject *tz = mod ? PyObject_CallMethod(mod, "ZoneInfo", "s", zone) : NULL;
    Py_XDECREF(mod);
    if (tz == NULL) {
        PyErr_Clear();
        return Py_NewRef(ttf_utc);
    }
    return tz;
}

static int unsupported(const column_reader *c)
{
    PyErr_Format(PyExc_NotImplementedError, "column '%s' has Arrow format '%s', which "
                 "to_pylist() does not convert; export the result through __arrow_c_stream__",
                 c->field->name ? c->field->name : "", c->field->format);
    return -1;
}

static int parse_temporal(column_reader *c, const char *f)
{
    if (f[1] == 's' && f[2] && f[3] == ':') { /* tsu:UTC */
        c->kind = 'T';
        c->unit_per_sec = unit_scale(f[2]);
        c->tz = f[4] ? tz_for(f + 4) : NULL;
        return 0;
    }
    if (strcmp(f, "tdD") == 0 || strcmp(f, "tdm") == 0) {
        c->kind = f[2] == 'D' ? 'D' : 'M';
        return 0;
    }
    if ((f[1] == 't' || f[1] == 'D') && f[2] && !f[3]) {
        c->kind = f[1] == 't' ? 'H' : 'R'; /* time of day, duration */
        c->unit_per_sec = unit_scale(f[2]);
        return 0;
    }
    return unsupported(c);
}

static int parse_format(column_reader *c)
{
    const char *f = c->field->format;
    c->kind = f[0];
    if (c->field->dictionary != NULL)
        return unsupported(c);
    if (strchr("nbcCsSiIlLfguUzZ", f[0]) && f[1] == '\0')
        return 0;
    if (f[0] == 'w' && f[1] == ':') {
        c->width = atoi(f + 2);
        return 0;
    }
    if (f[0] == 'd' && f[1] == ':') {
        int precision = 0, scale = 0, bits = 128;
        if (sscanf(f + 2, "%d,%d,%d", &precision, &scale, &bits) < 2 ||
            (bits != 32 && bits != 64 && bits != 128))
            return unsupported(c);
        c->scale = scale;
        c->width = bits;
        return 0;
    }
    if (f[0] == 't')
        return parse_temporal(c, f);
    return unsupported(c);
}

/* ---- scalar readers ------------------------------------------------------ */

#define BUF(c, T) ((const T *)(c)->array->buffers[1])

static PyObject *read_bytes(const column_reader *c, int64_t i, int large, int text)
{
    int64_t j = c->base + i, start, end;
    if (large) {
        start = BUF(c, int64_t)[j];
        end = BUF(c, int64_t)[j + 1];
    } else {
        start = BUF(c, int32_t)[j];
        end = BUF(c, int32_t)[j + 1];
    }
    const char *data = (const char *)c->array->buffers[2] + start;
    return text ? PyUnicode_DecodeUTF8(data, (Py_ssize_t)(end - start), "replace")
                : PyBytes_FromStringAndSize(data, (Py_ssize_t)(end - start));
}

/* A little-endian two's complement 128-bit integer as a Python int. */
static PyObject *int128_to_py(const uint8_t *bytes, int width_bytes)
{
    return _PyLong_FromByteArray(bytes, (size_t)width_bytes, 1, 1);
}

static PyObject *read_decimal(const column_reader *c, int64_t i)
{
    int w = c->width / 8;
    const uint8_t *p = (const uint8_t *)c->array->buffers[1] + (c->base + i) * w;
    PyObject *unscaled = int128_to_py(p, w);
    if (unscaled == NULL)
        return NULL;
    /* Decimal("<digits>E-<scale>") is exact whatever the context's precision. */
    PyObject *text = PyUnicode_FromFormat("%SE%d", unscaled, -c->scale);
    Py_DECREF(unscaled);
    PyObject *value = text ? PyObject_CallOneArg(ttf_decimal_type, text) : NULL;
    Py_XDECREF(text);
    return value;
}

static void split_units(int64_t v, int64_t per_sec, int64_t *sec, int64_t *sub)
{
    *sec = v / per_sec;
    *sub = v % per_sec;
    if (*sub < 0) {
        *sub += per_sec;
        *sec -= 1;
    }
}

static PyObject *read_timestamp(const column_reader *c, int64_t i)
{
    int64_t sec, sub;
    split_units(BUF(c, int64_t)[c->base + i], c->unit_per_sec, &sec, &sub);
    uint32_t nsec = (uint32_t)(sub * (1000000000 / c->unit_per_sec));
    PyObject *utc = ttf_timestamp_to_py(sec, nsec, c->tz ? ttf_utc : Py_None);
    if (utc == NULL || c->tz == NULL || c->tz == ttf_utc)
        return utc;
    PyObject *local = PyObject_CallMethod(utc, "astimezone", "O", c->tz);
    Py_DECREF(utc);
    return local;
}

static int64_t to_micros(int64_t v, int64_t per_sec)
{
    return per_sec >= 1000000 ? v / (per_sec / 1000000) : v * (1000000 / per_sec);
}

static PyObject *read_value(const column_reader *c, int64_t i)
{
    int64_t j = c->base + i;
    switch (c->kind) {
    case 'n': Py_RETURN_NONE;
    case 'b': return PyBool_FromLong((BUF(c, uint8_t)[j >> 3] >> (j & 7)) & 1);
    case 'c': return PyLong_FromLong(BUF(c, int8_t)[j]);
    case 'C': return PyLong_FromLong(BUF(c, uint8_t)[j]);
    case 's': return PyLong_FromLong(BUF(c, int16_t)[j]);
    case 'S': return PyLong_FromLong(BUF(c, uint16_t)[j]);
    case 'i': return PyLong_FromLong(BUF(c, int32_t)[j]);
    case 'I': return PyLong_FromUnsignedLong(BUF(c, uint32_t)[j]);
    case 'l': return PyLong_FromLongLong(BUF(c, int64_t)[j]);
    case 'L': return PyLong_FromUnsignedLongLong(BUF(c, uint64_t)[j]);
    case 'f': return PyFloat_FromDouble(BUF(c, float)[j]);
    case 'g': return PyFloat_FromDouble(BUF(c, double)[j]);
    case 'u': return read_bytes(c, i, 0, 1);
    case 'U': return read_bytes(c, i, 1, 1);
    case 'z': return read_bytes(c, i, 0, 0);
    case 'Z': return read_bytes(c, i, 1, 0);
    case 'w':
        return PyBytes_FromStringAndSize((const char *)c->array->buffers[1] + j * c->width,
                                         c->width);
    case 'd': return read_decimal(c, i);
    case 'T': return read_timestamp(c, i);
    case 'D': return ttf_date_to_py(BUF(c, int32_t)[j]);
    case 'M': {
        int64_t day, ms;
        split_units(BUF(c, int64_t)[j], 86400000, &day, &ms);
        return ttf_date_to_py(day);
    }
    case 'H':
        return ttf_time_to_py(to_micros(c->unit_per_sec <= 1000 ? BUF(c, int32_t)[j]
                                                                : BUF(c, int64_t)[j],
                                        c->unit_per_sec));
    case 'R': return ttf_timedelta_to_py(to_micros(BUF(c, int64_t)[j], c->unit_per_sec));
    }
    PyErr_SetString(PyExc_SystemError, "unhandled Arrow format");
    return NULL;
}

int ttf_column_extend(PyObject *list, const struct ArrowSchema *field,
                      const struct ArrowArray *batch, int64_t col)
{
    column_reader c = {.field = field, .array = batch->children[col]};
    c.base = batch->offset + c.array->offset;
    if (parse_format(&c) < 0)
        return -1;
    int rc = 0;
    for (int64_t i = 0; rc == 0 && i < batch->length; i++) {
        PyObject *v = c.kind == 'n' || !is_valid(&c, i) ? Py_NewRef(Py_None) : read_value(&c, i);
        rc = v == NULL ? -1 : PyList_Append(list, v);
        Py_XDECREF(v);
    }
    Py_XDECREF(c.tz);
    return rc;
}
