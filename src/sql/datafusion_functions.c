/*
 * datafusion_functions.c — the DataFusion time functions the reference's
 * users write, in every session.
 *
 * The reference answers SQL with DataFusion, and its documentation
 * (DATAFUSION.md) has users write date_bin, to_unixtime, to_date and
 * to_timestamp_seconds / _millis / _micros / _nanos. DuckDB has none of
 * these names, so a statement copied from the reference's docs would fail
 * here. They are registered as C scalar functions with one overload per
 * argument type, not as SQL macros: a macro cannot tell a TIMESTAMP from a
 * TIMESTAMPTZ or a string, and any cast it chose would read a zone-less
 * value in the session's TimeZone, which DataFusion never does. The names
 * DuckDB already has (to_timestamp, date_trunc, date_part, extract, now())
 * keep DuckDB's meaning.
 *
 * Semantics, as DataFusion documents them:
 *   date_bin(stride, source[, origin])  the start of the stride-wide bin of
 *       source, bins aligned on origin (default 1970-01-01T00:00:00):
 *       origin + floor((source - origin) / stride) * stride. The result has
 *       source's type (a TIMESTAMPTZ stays one, computed on its UTC
 *       instant). Strides of months or years are refused, as DataFusion
 *       does for date_bin; a stride must be positive.
 *   to_unixtime(x)   whole seconds since the epoch (floor), BIGINT.
 *   to_date(x)       the UTC date of x; an integer counts days since the epoch.
 *   to_timestamp_seconds/millis/micros/nanos(x)   a zone-less timestamp of
 *       that precision (TIMESTAMP_S, TIMESTAMP_MS, TIMESTAMP, TIMESTAMP_NS);
 *       an integer counts that unit since the epoch; finer digits are cut.
 * Text arguments are RFC 3339 (2023-01-31T09:26:56.123456789-05:00), or a
 * date and time without an offset (UTC, as DataFusion reads it), or a date
 * (midnight UTC); anything else is an error naming the text. NULL in, NULL
 * out.
 */
#include "session_internal.h"

#include "fail.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#define US_PER_SEC 1000000LL
#define US_PER_DAY 86400000000LL

/* floor(a / b) for b > 0. */
static __int128 floor_div(__int128 a, __int128 b)
{
    __int128 q = a / b;
    return (a % b != 0 && a < 0) ? q - 1 : q;
}

/* ---- reading arguments ----------------------------------------------------- */

/* An instant as nanoseconds since the epoch, from text (see the header):
 * the coverage functions' reading of time text (time_text.c). */
static bool parse_text(const char *s, size_t len, __int128 *out_ns)
{
    char buf[64];
    if (len == 0 || len >= sizeof buf)
        return false;
    memcpy(buf, s, len);
    buf[len] = '\0';
    tst_timestamp ts;
    if (!tst_session_parse_time(buf, &ts))
        return false;
    *out_ns = (__int128)ts.sec * 1000000000 + ts.nsec;
    return true;
}

typedef struct arg {
    duckdb_vector vec;
    duckdb_type type;
    void *data;
    uint64_t *validity;
} arg;

static arg arg_of(duckdb_data_chunk input, idx_t col)
{
    arg a;
    a.vec = duckdb_data_chunk_get_vector(input, col);
    duckdb_logical_type t = duckdb_vector_get_column_type(a.vec);
    a.type = duckdb_get_type_id(t);
    duckdb_destroy_logical_type(&t);
    a.data = duckdb_vector_get_data(a.vec);
    a.validity = duckdb_vector_get_validity(a.vec);
    return a;
}

static bool arg_valid(const arg *a, idx_t row)
{
    return !a->validity || duckdb_validity_row_is_valid(a->validity, row);
}

/* Row `row` of a timestamp, date, integer (in `unit_ns` per step) or text
 * argument, as nanoseconds since the epoch. False with an error set. */
static bool instant_ns(duckdb_function_info info, const char *fn, const arg *a, idx_t row,
                       int64_t unit_ns, __int128 *out)
{
    switch (a->type) {
    case DUCKDB_TYPE_TIMESTAMP:
    case DUCKDB_TYPE_TIMESTAMP_TZ:
        *out = (__int128)((int64_t *)a->data)[row] * 1000;
        return true;
    case DUCKDB_TYPE_DATE:
        *out = (__int128)((int32_t *)a->data)[row] * US_PER_DAY * 1000;
        return true;
    case DUCKDB_TYPE_BIGINT:
        *out = (__int128)((int64_t *)a->data)[row] * unit_ns;
        return true;
    case DUCKDB_TYPE_VARCHAR: {
        duckdb_string_t *s = &((duckdb_string_t *)a->data)[row];
        const char *p = duckdb_string_t_data(s);
        uint32_t n = duckdb_string_t_length(*s);
        if (parse_text(p, n, out))
            return true;
        char msg[160];
        snprintf(msg, sizeof msg,
                 "%s: cannot read '%.*s' as a time (expected RFC 3339 such as "
                 "2024-06-01T09:30:00Z, a date and time without an offset (UTC), or a date)",
                 fn, (int)(n > 60 ? 60 : n), p);
        duckdb_scalar_function_set_error(info, msg);
        return false;
    }
    default: { /* the overloads registered below take none of these */
        char msg[96];
        snprintf(msg, sizeof msg, "%s: an argument of an unexpected type", fn);
        duckdb_scalar_function_set_error(info, msg);
        return false;
    }
    }
}

/* Whether every argument of the row is valid; if not, the output row is NULL. */
static bool row_valid(const arg *args, idx_t n, idx_t row, duckdb_vector out)
{
    for (idx_t i = 0; i < n; i++)
        if (!arg_valid(&args[i], row)) {
            duckdb_vector_ensure_validity_writable(out);
            duckdb_validity_set_row_invalid(duckdb_vector_get_validity(out), row);
            return false;
        }
    return true;
}

/* ---- date_bin ---------------------------------------------------------------- */

static void date_bin(duckdb_function_info info, duckdb_data_chunk input, duckdb_vector out)
{
    idx_t rows = duckdb_data_chunk_get_size(input), cols = duckdb_data_chunk_get_column_count(input);
    arg a[3] = {arg_of(input, 0), arg_of(input, 1), cols > 2 ? arg_of(input, 2) : arg_of(input, 1)};
    int64_t *res = duckdb_vector_get_data(out);
    for (idx_t row = 0; row < rows; row++) {
        if (!row_valid(a, cols, row, out))
            continue;
        duckdb_interval iv = ((duckdb_interval *)a[0].data)[row];
        if (iv.months != 0) {
            duckdb_scalar_function_set_error(
                info, "date_bin: strides of months or years are not supported (as in "
                      "DataFusion); use date_trunc('month', ts), or a stride in days");
            return;
        }
        __int128 stride = ((__int128)iv.days * US_PER_DAY + iv.micros) * 1000, src = 0, origin = 0;
        if (stride <= 0) {
            duckdb_scalar_function_set_error(info, "date_bin: the stride must be positive");
            return;
        }
        if (!instant_ns(info, "date_bin", &a[1], row, 1, &src) ||
            (cols > 2 && !instant_ns(info, "date_bin", &a[2], row, 1, &origin)))
            return;
        __int128 start_ns = origin + floor_div(src - origin, stride) * stride;
        res[row] = (int64_t)floor_div(start_ns, 1000); /* microseconds: DuckDB's TIMESTAMP */
    }
}

/* ---- to_unixtime, to_date, to_timestamp_* ------------------------------------------- */

/* Seconds (to_unixtime), days (to_date) or a timestamp unit: the divisor in ns. */
typedef struct unit_fn {
    const char *name;
    int64_t out_ns;   /* ns per output step */
    int64_t in_ns;    /* ns per step of an integer argument */
    bool date;        /* int32 output (DATE) */
} unit_fn;

static const unit_fn UNIT_FNS[] = {
    {"to_unixtime", 1000000000LL, 1000000000LL, false},
    {"to_date", US_PER_DAY * 1000, US_PER_DAY * 1000, true},
    {"to_timestamp_seconds", 1000000000LL, 1000000000LL, false},
    {"to_timestamp_millis", 1000000LL, 1000000LL, false},
    {"to_timestamp_micros", 1000LL, 1000LL, false},
    {"to_timestamp_nanos", 1LL, 1LL, false},
};

static void unit_function(duckdb_function_info info, duckdb_data_chunk input, duckdb_vector out)
{
    const unit_fn *fn = duckdb_scalar_function_get_extra_info(info);
    idx_t rows = duckdb_data_chunk_get_size(input);
    arg a = arg_of(input, 0);
    void *res = duckdb_vector_get_data(out);
    for (idx_t row = 0; row < rows; row++) {
        __int128 ns = 0;
        if (!row_valid(&a, 1, row, out))
            continue;
        if (!instant_ns(info, fn->name, &a, row, fn->in_ns, &ns))
            return;
        __int128 q = floor_div(ns, fn->out_ns);
        if (q > INT64_MAX || q < INT64_MIN || (fn->date && (q > INT32_MAX || q < INT32_MIN))) {
            char msg[96];
            snprintf(msg, sizeof msg, "%s: the value is out of range", fn->name);
            duckdb_scalar_function_set_error(info, msg);
            return;
        }
        if (fn->date)
            ((int32_t *)res)[row] = (int32_t)q;
        else
            ((int64_t *)res)[row] = (int64_t)q;
    }
}

/* ---- registration -------------------------------------------------------------- */

static duckdb_state add_overload(duckdb_scalar_function_set set, const char *name,
                                 const duckdb_type *params, size_t n, duckdb_type ret,
                                 duckdb_scalar_function_t body, void *extra)
{
    duckdb_scalar_function f = duckdb_create_scalar_function();
    duckdb_scalar_function_set_name(f, name);
    for (size_t i = 0; i < n; i++) {
        duckdb_logical_type t = duckdb_create_logical_type(params[i]);
        duckdb_scalar_function_add_parameter(f, t);
        duckdb_destroy_logical_type(&t);
    }
    duckdb_logical_type r = duckdb_create_logical_type(ret);
    duckdb_scalar_function_set_return_type(f, r);
    duckdb_destroy_logical_type(&r);
    duckdb_scalar_function_set_function(f, body);
    if (extra)
        duckdb_scalar_function_set_extra_info(f, extra, NULL);
    duckdb_state st = duckdb_add_scalar_function_to_set(set, f);
    duckdb_destroy_scalar_function(&f);
    return st;
}

static int register_set(duckdb_connection con, duckdb_scalar_function_set set, duckdb_state st,
                        const char *name)
{
    if (st == DuckDBSuccess)
        st = duckdb_register_scalar_function_set(con, set);
    duckdb_destroy_scalar_function_set(&set);
    return st == DuckDBSuccess ? 0 : tst_fail(TST_ESQL, "registering the SQL function %s failed",
                                              name);
}

static int register_date_bin(duckdb_connection con)
{
    const duckdb_type I = DUCKDB_TYPE_INTERVAL, T = DUCKDB_TYPE_TIMESTAMP,
                      Z = DUCKDB_TYPE_TIMESTAMP_TZ, V = DUCKDB_TYPE_VARCHAR;
    /* source types and the result each gives; origin: none, the same type, or text */
    const duckdb_type sources[3] = {T, Z, V}, results[3] = {T, Z, T};
    duckdb_scalar_function_set set = duckdb_create_scalar_function_set("date_bin");
    duckdb_state st = DuckDBSuccess;
    for (int i = 0; st == DuckDBSuccess && i < 3; i++) {
        duckdb_type two[2] = {I, sources[i]}, same[3] = {I, sources[i], sources[i]},
                    text[3] = {I, sources[i], V};
        st = add_overload(set, "date_bin", two, 2, results[i], date_bin, NULL);
        if (st == DuckDBSuccess)
            st = add_overload(set, "date_bin", same, 3, results[i], date_bin, NULL);
        if (st == DuckDBSuccess && sources[i] != V)
            st = add_overload(set, "date_bin", text, 3, results[i], date_bin, NULL);
    }
    return register_set(con, set, st, "date_bin");
}

static int register_unit(duckdb_connection con, const unit_fn *fn, duckdb_type ret)
{
    const duckdb_type inputs[] = {DUCKDB_TYPE_TIMESTAMP, DUCKDB_TYPE_TIMESTAMP_TZ,
                                  DUCKDB_TYPE_DATE, DUCKDB_TYPE_BIGINT, DUCKDB_TYPE_VARCHAR};
    duckdb_scalar_function_set set = duckdb_create_scalar_function_set(fn->name);
    duckdb_state st = DuckDBSuccess;
    for (size_t i = 0; st == DuckDBSuccess && i < sizeof inputs / sizeof inputs[0]; i++)
        st = add_overload(set, fn->name, &inputs[i], 1, ret, unit_function, (void *)fn);
    return register_set(con, set, st, fn->name);
}

int tst_sqlfn_register_datafusion(duckdb_connection con)
{
    const duckdb_type returns[] = {DUCKDB_TYPE_BIGINT,      DUCKDB_TYPE_DATE,
                                   DUCKDB_TYPE_TIMESTAMP_S, DUCKDB_TYPE_TIMESTAMP_MS,
                                   DUCKDB_TYPE_TIMESTAMP,   DUCKDB_TYPE_TIMESTAMP_NS};
    int rc = register_date_bin(con);
    for (size_t i = 0; rc == 0 && i < sizeof UNIT_FNS / sizeof UNIT_FNS[0]; i++)
        rc = register_unit(con, &UNIT_FNS[i], returns[i]);
    return rc;
}
