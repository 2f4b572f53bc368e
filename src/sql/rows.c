/*
 * rows.c — a statement's result row by row as text (tst_session_query_rows),
 * for printing in a CLI or shell (export.c writes whole results to files).
 *
 * Rows stream: one DuckDB chunk is held at a time and the current row's
 * values are rendered into per-column buffers. Values are rendered here in
 * C rather than through DuckDB's VARCHAR cast, because the two text forms
 * users compare against are fixed by the header: timestamps as RFC 3339 in
 * UTC ("2024-06-01T00:00:00Z", tst_timestamp_format: 0, 3, 6 or 9
 * fractional digits, the fewest that are exact), and floats with the fewest
 * significant digits (up to 17) that read back as the same double. Other
 * types follow DuckDB's own text forms: DATE 2024-06-01, TIME 09:30:00,
 * DECIMAL 12.50, BLOB with \xNN escapes, lists [1, 2], structs {'a': 1},
 * maps {k=v}, INTERVAL 1 month 2 days 00:00:03.5. Zone-less
 * TIMESTAMP columns print without the Z (2024-06-01T00:00:00): they name a
 * wall-clock time, not an instant.
 */
#include "session_internal.h"

#include "fail.h"

#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- rendering ------------------------------------------------------------ */

static int render(tst_sql *t, duckdb_vector vec, duckdb_logical_type type, idx_t row);

static void civil_from_days(int64_t z, int64_t *y, unsigned *m, unsigned *d)
{
    z += 719468;
    int64_t era = (z >= 0 ? z : z - 146096) / 146097;
    unsigned doe = (unsigned)(z - era * 146097);
    unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    unsigned mp = (5 * doy + 2) / 153;
    *d = doy - (153 * mp + 2) / 5 + 1;
    *m = mp < 10 ? mp + 3 : mp - 9;
    *y = (int64_t)yoe + era * 400 + (*m <= 2);
}

static int render_double(tst_sql *t, double v)
{
    if (isnan(v))
        return SQL_F(t, "nan");
    if (isinf(v))
        return SQL_F(t, v < 0 ? "-inf" : "inf");
    char buf[40];
    for (int prec = 1; prec <= 17; prec++) {
        snprintf(buf, sizeof buf, "%.*g", prec, v);
        if (strtod(buf, NULL) == v)
            break;
    }
    return SQL_F(t, "%s", buf);
}

/* A FLOAT as the fewest digits that read back as the same float (0.1, not
 * 0.10000000149011612, the double it widens to). */
static int render_float(tst_sql *t, float v)
{
    if (isnan(v) || isinf(v))
        return render_double(t, v);
    char buf[40];
    for (int prec = 1; prec <= 9; prec++) {
        snprintf(buf, sizeof buf, "%.*g", prec, (double)v);
        if (strtof(buf, NULL) == v)
            break;
    }
    return SQL_F(t, "%s", buf);
}

/* A count of `per_sec` units since the epoch, as RFC 3339 UTC (no Z without a zone). */
static int render_timestamp(tst_sql *t, int64_t units, int64_t per_sec, bool zone)
{
    if (units == INT64_MAX || units == -INT64_MAX)
        return SQL_F(t, units > 0 ? "infinity" : "-infinity");
    int64_t sec = units / per_sec, rem = units % per_sec;
    if (rem < 0)
        sec -= 1, rem += per_sec;
    tst_timestamp ts = {sec, (uint32_t)(rem * (1000000000 / per_sec))};
    char buf[TST_TIMESTAMP_TEXT_MAX];
    if (tst_timestamp_format(ts, buf, sizeof buf) < 0)
        return SQL_F(t, "%" PRId64, units); /* outside years 0000..9999 */
    size_t n = strlen(buf);
    if (!zone && n > 0 && buf[n - 1] == 'Z')
        buf[n - 1] = '\0';
    return SQL_F(t, "%s", buf);
}

static int render_date(tst_sql *t, int32_t days)
{
    int64_t y;
    unsigned m, d;
    if (days == INT32_MAX || days == -INT32_MAX)
        return SQL_F(t, days > 0 ? "infinity" : "-infinity");
    civil_from_days(days, &y, &m, &d);
    return SQL_F(t, "%04" PRId64 "-%02u-%02u", y, m, d);
}

static int render_time(tst_sql *t, int64_t micros)
{
    int rc = SQL_F(t, "%02" PRId64 ":%02" PRId64 ":%02" PRId64, micros / 3600000000,
                   micros / 60000000 % 60, micros / 1000000 % 60);
    return rc == 0 && micros % 1000000 ? SQL_F(t, ".%06" PRId64, micros % 1000000) : rc;
}

__extension__ typedef __int128 wide;
__extension__ typedef unsigned __int128 uwide;

static int render_uwide(tst_sql *t, uwide v, bool negative)
{
    char buf[48];
    size_t i = sizeof buf;
    buf[--i] = '\0';
    do {
        buf[--i] = (char)('0' + (int)(v % 10));
        v /= 10;
    } while (v);
    if (negative)
        buf[--i] = '-';
    return SQL_F(t, "%s", &buf[i]);
}

static int render_wide(tst_sql *t, wide v)
{
    return render_uwide(t, v < 0 ? (uwide)0 - (uwide)v : (uwide)v, v < 0);
}

static wide hugeint_of(const duckdb_hugeint *h)
{
    return (wide)(((uwide)(uint64_t)h->upper << 64) | h->lower);
}

static int render_decimal(tst_sql *t, duckdb_vector vec, duckdb_logical_type type, idx_t row)
{
    void *data = duckdb_vector_get_data(vec);
    wide v;
    switch (duckdb_decimal_internal_type(type)) {
    case DUCKDB_TYPE_SMALLINT: v = ((int16_t *)data)[row]; break;
    case DUCKDB_TYPE_INTEGER: v = ((int32_t *)data)[row]; break;
    case DUCKDB_TYPE_BIGINT: v = ((int64_t *)data)[row]; break;
    default: v = hugeint_of(&((duckdb_hugeint *)data)[row]); break;
    }
    unsigned scale = duckdb_decimal_scale(type);
    uwide mag = v < 0 ? (uwide)0 - (uwide)v : (uwide)v, pow10 = 1;
    for (unsigned i = 0; i < scale; i++)
        pow10 *= 10;
    int rc = render_uwide(t, mag / pow10, v < 0);
    if (rc != 0 || scale == 0)
        return rc;
    char frac[48];
    uwide f = mag % pow10;
    for (unsigned i = scale; i > 0; i--, f /= 10)
        frac[i - 1] = (char)('0' + (int)(f % 10));
    frac[scale] = '\0';
    return SQL_F(t, ".%s", frac);
}

static int render_string(tst_sql *t, duckdb_vector vec, idx_t row, bool blob)
{
    duckdb_string_t *s = &((duckdb_string_t *)duckdb_vector_get_data(vec))[row];
    const char *p = duckdb_string_t_data(s);
    uint32_t n = duckdb_string_t_length(*s);
    if (!blob)
        return SQL_F(t, "%.*s", (int)n, p);
    int rc = 0;
    for (uint32_t i = 0; rc == 0 && i < n; i++) {
        unsigned char c = (unsigned char)p[i];
        rc = c >= 32 && c < 127 && c != '\\' ? SQL_F(t, "%c", c) : SQL_F(t, "\\x%02X", c);
    }
    return rc;
}

static int render_uuid(tst_sql *t, const duckdb_hugeint *h)
{
    uint64_t hi = (uint64_t)h->upper ^ 0x8000000000000000ULL, lo = h->lower;
    return SQL_F(t, "%08" PRIx64 "-%04" PRIx64 "-%04" PRIx64 "-%04" PRIx64 "-%012" PRIx64,
                 hi >> 32, (hi >> 16) & 0xffff, hi & 0xffff, lo >> 48, (uint64_t)(lo & 0xffffffffffffULL));
}

/* "2 years", "-1 month": a part of an interval, singular only for 1 and -1. */
static int interval_part(tst_sql *t, bool *first, int64_t n, const char *unit)
{
    if (n == 0)
        return 0;
    int rc = SQL_F(t, "%s%" PRId64 " %s%s", *first ? "" : " ", n, unit,
                   n == 1 || n == -1 ? "" : "s");
    *first = false;
    return rc;
}

/* As DuckDB casts an INTERVAL to text: "1 year 1 month 1 day 00:00:00.5",
 * "-2 days 03:00:00", "100:00:00", "00:00:00" (each part with its own sign,
 * the time part when it is not zero or nothing else is given, its fraction
 * without trailing zeros). */
static int render_interval(tst_sql *t, const duckdb_interval *iv)
{
    bool first = true;
    int rc = interval_part(t, &first, iv->months / 12, "year");
    if (rc == 0)
        rc = interval_part(t, &first, iv->months % 12, "month");
    if (rc == 0)
        rc = interval_part(t, &first, iv->days, "day");
    if (rc != 0 || (iv->micros == 0 && !first))
        return rc;
    uint64_t us = iv->micros < 0 ? (uint64_t)0 - (uint64_t)iv->micros : (uint64_t)iv->micros;
    uint64_t sec = us / 1000000, frac = us % 1000000;
    rc = SQL_F(t, "%s%s%02" PRIu64 ":%02" PRIu64 ":%02" PRIu64, first ? "" : " ",
               iv->micros < 0 ? "-" : "", sec / 3600, sec / 60 % 60, sec % 60);
    if (rc != 0 || frac == 0)
        return rc;
    char digits[8];
    snprintf(digits, sizeof digits, "%06" PRIu64, frac);
    for (int i = 5; i > 0 && digits[i] == '0'; i--)
        digits[i] = '\0';
    return SQL_F(t, ".%s", digits);
}

static bool is_valid(duckdb_vector vec, idx_t row)
{
    uint64_t *validity = duckdb_vector_get_validity(vec);
    return !validity || duckdb_validity_row_is_valid(validity, row);
}

/* A child value, "NULL" when null (inside lists and structs, as DuckDB prints). */
static int render_child(tst_sql *t, duckdb_vector vec, duckdb_logical_type type, idx_t row,
                        bool quote)
{
    if (!is_valid(vec, row))
        return SQL_F(t, "NULL");
    duckdb_type id = duckdb_get_type_id(type);
    bool text = id == DUCKDB_TYPE_VARCHAR;
    int rc = quote && text ? SQL_F(t, "'") : 0;
    if (rc == 0)
        rc = render(t, vec, type, row);
    return rc == 0 && quote && text ? SQL_F(t, "'") : rc;
}

static int render_list(tst_sql *t, duckdb_vector vec, duckdb_logical_type type, idx_t row,
                       bool map)
{
    duckdb_list_entry e = ((duckdb_list_entry *)duckdb_vector_get_data(vec))[row];
    duckdb_vector child = duckdb_list_vector_get_child(vec);
    duckdb_logical_type ct = duckdb_list_type_child_type(type);
    int rc = SQL_F(t, map ? "{" : "[");
    for (idx_t i = 0; rc == 0 && i < e.length; i++) {
        rc = SQL_F(t, "%s", i ? ", " : "");
        if (rc == 0 && map) {
            duckdb_logical_type kt = duckdb_struct_type_child_type(ct, 0);
            duckdb_logical_type vt = duckdb_struct_type_child_type(ct, 1);
            rc = render_child(t, duckdb_struct_vector_get_child(child, 0), kt, e.offset + i, false);
            if (rc == 0)
                rc = SQL_F(t, "=");
            if (rc == 0)
                rc = render_child(t, duckdb_struct_vector_get_child(child, 1), vt, e.offset + i,
                                  false);
            duckdb_destroy_logical_type(&kt);
            duckdb_destroy_logical_type(&vt);
        } else if (rc == 0) {
            rc = render_child(t, child, ct, e.offset + i, true);
        }
    }
    duckdb_destroy_logical_type(&ct);
    return rc == 0 ? SQL_F(t, map ? "}" : "]") : rc;
}

static int render_array(tst_sql *t, duckdb_vector vec, duckdb_logical_type type, idx_t row)
{
    idx_t size = duckdb_array_type_array_size(type);
    duckdb_vector child = duckdb_array_vector_get_child(vec);
    duckdb_logical_type ct = duckdb_array_type_child_type(type);
    int rc = SQL_F(t, "[");
    for (idx_t i = 0; rc == 0 && i < size; i++) {
        rc = SQL_F(t, "%s", i ? ", " : "");
        if (rc == 0)
            rc = render_child(t, child, ct, row * size + i, true);
    }
    duckdb_destroy_logical_type(&ct);
    return rc == 0 ? SQL_F(t, "]") : rc;
}

static int render_struct(tst_sql *t, duckdb_vector vec, duckdb_logical_type type, idx_t row)
{
    idx_t n = duckdb_struct_type_child_count(type);
    int rc = SQL_F(t, "{");
    for (idx_t i = 0; rc == 0 && i < n; i++) {
        char *name = duckdb_struct_type_child_name(type, i);
        duckdb_logical_type ct = duckdb_struct_type_child_type(type, i);
        rc = SQL_F(t, "%s'%s': ", i ? ", " : "", name);
        if (rc == 0)
            rc = render_child(t, duckdb_struct_vector_get_child(vec, i), ct, row, true);
        duckdb_destroy_logical_type(&ct);
        duckdb_free(name);
    }
    return rc == 0 ? SQL_F(t, "}") : rc;
}

static int render_enum(tst_sql *t, duckdb_vector vec, duckdb_logical_type type, idx_t row)
{
    void *data = duckdb_vector_get_data(vec);
    duckdb_type it = duckdb_enum_internal_type(type);
    idx_t index = it == DUCKDB_TYPE_UTINYINT    ? ((uint8_t *)data)[row]
                  : it == DUCKDB_TYPE_USMALLINT ? ((uint16_t *)data)[row]
                                                : ((uint32_t *)data)[row];
    char *text = duckdb_enum_dictionary_value(type, index);
    int rc = SQL_F(t, "%s", text ? text : "");
    duckdb_free(text);
    return rc;
}

#define AT(T) (((T *)duckdb_vector_get_data(vec))[row])

static int render(tst_sql *t, duckdb_vector vec, duckdb_logical_type type, idx_t row)
{
    switch (duckdb_get_type_id(type)) {
    case DUCKDB_TYPE_BOOLEAN: return SQL_F(t, AT(bool) ? "true" : "false");
    case DUCKDB_TYPE_TINYINT: return SQL_F(t, "%d", AT(int8_t));
    case DUCKDB_TYPE_SMALLINT: return SQL_F(t, "%d", AT(int16_t));
    case DUCKDB_TYPE_INTEGER: return SQL_F(t, "%" PRId32, AT(int32_t));
    case DUCKDB_TYPE_BIGINT: return SQL_F(t, "%" PRId64, AT(int64_t));
    case DUCKDB_TYPE_UTINYINT: return SQL_F(t, "%u", AT(uint8_t));
    case DUCKDB_TYPE_USMALLINT: return SQL_F(t, "%u", AT(uint16_t));
    case DUCKDB_TYPE_UINTEGER: return SQL_F(t, "%" PRIu32, AT(uint32_t));
    case DUCKDB_TYPE_UBIGINT: return SQL_F(t, "%" PRIu64, AT(uint64_t));
    case DUCKDB_TYPE_HUGEINT: return render_wide(t, hugeint_of(&AT(duckdb_hugeint)));
    case DUCKDB_TYPE_UHUGEINT: {
        duckdb_uhugeint u = AT(duckdb_uhugeint);
        return render_uwide(t, ((uwide)u.upper << 64) | u.lower, false);
    }
    case DUCKDB_TYPE_FLOAT: return render_float(t, AT(float));
    case DUCKDB_TYPE_DOUBLE: return render_double(t, AT(double));
    case DUCKDB_TYPE_DECIMAL: return render_decimal(t, vec, type, row);
    case DUCKDB_TYPE_TIMESTAMP_S: return render_timestamp(t, AT(int64_t), 1, false);
    case DUCKDB_TYPE_TIMESTAMP_MS: return render_timestamp(t, AT(int64_t), 1000, false);
    case DUCKDB_TYPE_TIMESTAMP: return render_timestamp(t, AT(int64_t), 1000000, false);
    case DUCKDB_TYPE_TIMESTAMP_TZ: return render_timestamp(t, AT(int64_t), 1000000, true);
    case DUCKDB_TYPE_TIMESTAMP_NS: return render_timestamp(t, AT(int64_t), 1000000000, false);
    case DUCKDB_TYPE_DATE: return render_date(t, AT(int32_t));
    case DUCKDB_TYPE_TIME: return render_time(t, AT(int64_t));
    case DUCKDB_TYPE_INTERVAL: return render_interval(t, &AT(duckdb_interval));
    case DUCKDB_TYPE_UUID: return render_uuid(t, &AT(duckdb_hugeint));
    case DUCKDB_TYPE_VARCHAR: return render_string(t, vec, row, false);
    case DUCKDB_TYPE_BLOB: return render_string(t, vec, row, true);
    case DUCKDB_TYPE_ENUM: return render_enum(t, vec, type, row);
    case DUCKDB_TYPE_LIST: return render_list(t, vec, type, row, false);
    case DUCKDB_TYPE_MAP: return render_list(t, vec, type, row, true);
    case DUCKDB_TYPE_ARRAY: return render_array(t, vec, type, row);
    case DUCKDB_TYPE_STRUCT: return render_struct(t, vec, type, row);
    default: return SQL_F(t, "(value of an unsupported type)");
    }
}

/* ---- type names ----------------------------------------------------------- */

static const char *simple_type_name(duckdb_type id)
{
    static const struct { duckdb_type id; const char *name; } names[] = {
        {DUCKDB_TYPE_BOOLEAN, "BOOLEAN"},     {DUCKDB_TYPE_TINYINT, "TINYINT"},
        {DUCKDB_TYPE_SMALLINT, "SMALLINT"},   {DUCKDB_TYPE_INTEGER, "INTEGER"},
        {DUCKDB_TYPE_BIGINT, "BIGINT"},       {DUCKDB_TYPE_UTINYINT, "UTINYINT"},
        {DUCKDB_TYPE_USMALLINT, "USMALLINT"}, {DUCKDB_TYPE_UINTEGER, "UINTEGER"},
        {DUCKDB_TYPE_UBIGINT, "UBIGINT"},     {DUCKDB_TYPE_HUGEINT, "HUGEINT"},
        {DUCKDB_TYPE_UHUGEINT, "UHUGEINT"},   {DUCKDB_TYPE_FLOAT, "FLOAT"},
        {DUCKDB_TYPE_DOUBLE, "DOUBLE"},       {DUCKDB_TYPE_TIMESTAMP, "TIMESTAMP"},
        {DUCKDB_TYPE_TIMESTAMP_S, "TIMESTAMP_S"}, {DUCKDB_TYPE_TIMESTAMP_MS, "TIMESTAMP_MS"},
        {DUCKDB_TYPE_TIMESTAMP_NS, "TIMESTAMP_NS"},
        {DUCKDB_TYPE_TIMESTAMP_TZ, "TIMESTAMP WITH TIME ZONE"}, {DUCKDB_TYPE_DATE, "DATE"},
        {DUCKDB_TYPE_TIME, "TIME"},           {DUCKDB_TYPE_TIME_TZ, "TIME WITH TIME ZONE"},
        {DUCKDB_TYPE_INTERVAL, "INTERVAL"},   {DUCKDB_TYPE_VARCHAR, "VARCHAR"},
        {DUCKDB_TYPE_BLOB, "BLOB"},           {DUCKDB_TYPE_UUID, "UUID"},
        {DUCKDB_TYPE_ENUM, "ENUM"},           {DUCKDB_TYPE_BIT, "BIT"},
        {DUCKDB_TYPE_UNION, "UNION"},         {DUCKDB_TYPE_SQLNULL, "NULL"},
    };
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
        if (names[i].id == id)
            return names[i].name;
    return "UNKNOWN";
}

static int type_name(tst_sql *t, duckdb_logical_type type)
{
    duckdb_type id = duckdb_get_type_id(type);
    int rc = 0;
    if (id == DUCKDB_TYPE_DECIMAL)
        return SQL_F(t, "DECIMAL(%u,%u)", duckdb_decimal_width(type), duckdb_decimal_scale(type));
    if (id == DUCKDB_TYPE_LIST || id == DUCKDB_TYPE_ARRAY) {
        duckdb_logical_type ct = id == DUCKDB_TYPE_LIST ? duckdb_list_type_child_type(type)
                                                        : duckdb_array_type_child_type(type);
        rc = type_name(t, ct);
        duckdb_destroy_logical_type(&ct);
        if (rc == 0)
            rc = id == DUCKDB_TYPE_LIST ? SQL_F(t, "[]")
                                        : SQL_F(t, "[%" PRIu64 "]",
                                                (uint64_t)duckdb_array_type_array_size(type));
        return rc;
    }
    if (id == DUCKDB_TYPE_STRUCT || id == DUCKDB_TYPE_MAP) {
        bool map = id == DUCKDB_TYPE_MAP;
        rc = SQL_F(t, map ? "MAP(" : "STRUCT(");
        for (idx_t i = 0; rc == 0 && i < (map ? 2 : duckdb_struct_type_child_count(type)); i++) {
            duckdb_logical_type ct = map ? (i ? duckdb_map_type_value_type(type)
                                              : duckdb_map_type_key_type(type))
                                         : duckdb_struct_type_child_type(type, i);
            char *name = map ? NULL : duckdb_struct_type_child_name(type, i);
            rc = SQL_F(t, "%s", i ? ", " : "");
            if (rc == 0 && name)
                rc = SQL_F(t, "%s ", name);
            if (rc == 0)
                rc = type_name(t, ct);
            duckdb_free(name);
            duckdb_destroy_logical_type(&ct);
        }
        return rc == 0 ? SQL_F(t, ")") : rc;
    }
    return SQL_F(t, "%s", simple_type_name(id));
}

/* ---- rows ----------------------------------------------------------------- */

struct tst_rows {
    duckdb_prepared_statement ps;
    duckdb_result result;
    bool has_result;
    idx_t ncols;
    char **types;
    duckdb_logical_type *ltypes;
    tst_sql *values;    /* the current row, per column, rendered on demand */
    bool *rendered;     /* values[c] holds the current row's text */
    duckdb_data_chunk chunk;
    idx_t chunk_rows, next_row;
    bool done;
};

void tst_rows_free(tst_rows *r)
{
    if (!r)
        return;
    for (idx_t i = 0; i < r->ncols; i++) {
        if (r->types)
            free(r->types[i]);
        if (r->values)
            free(r->values[i].s);
        if (r->ltypes)
            duckdb_destroy_logical_type(&r->ltypes[i]);
    }
    free(r->types);
    free(r->values);
    free(r->rendered);
    free(r->ltypes);
    if (r->chunk)
        duckdb_destroy_data_chunk(&r->chunk);
    if (r->has_result)
        duckdb_destroy_result(&r->result);
    duckdb_destroy_prepare(&r->ps);
    free(r);
}

static int rows_execute(tst_rows *r)
{
    duckdb_pending_result pending = NULL;
    int rc = 0;
    if (duckdb_pending_prepared_streaming(r->ps, &pending) == DuckDBError)
        rc = tst_fail(TST_ESQL, "%s", duckdb_pending_error(pending));
    if (rc == 0) {
        r->has_result = true;
        if (duckdb_execute_pending(pending, &r->result) == DuckDBError)
            rc = tst_fail(TST_ESQL, "%s", duckdb_result_error(&r->result));
    }
    duckdb_destroy_pending(&pending);
    return rc;
}

static int rows_describe(tst_rows *r)
{
    r->ncols = duckdb_column_count(&r->result);
    size_t n = r->ncols ? r->ncols : 1;
    r->types = calloc(n, sizeof *r->types);
    r->ltypes = calloc(n, sizeof *r->ltypes);
    r->values = calloc(n, sizeof *r->values);
    r->rendered = calloc(n, sizeof *r->rendered);
    if (!r->types || !r->ltypes || !r->values || !r->rendered)
        return tst_fail(TST_ENOMEM, "out of memory reading a result");
    for (idx_t i = 0; i < r->ncols; i++) {
        tst_sql name = {0};
        r->ltypes[i] = duckdb_column_logical_type(&r->result, i);
        if (type_name(&name, r->ltypes[i]) != 0)
            return tst_fail(TST_ENOMEM, "out of memory reading a result");
        r->types[i] = name.s;
    }
    return 0;
}

int tst_session_query_rows(tst_session *s, const char *sql, const tst_param *params,
                           size_t param_count, tst_rows **out)
{
    if (!s || !sql || !out)
        return tst_fail(TST_EINVAL, "tst_session_query_rows needs a session, a statement and "
                        "an output pointer");
    *out = NULL;
    tst_rows *r = calloc(1, sizeof *r);
    if (!r)
        return tst_fail(TST_ENOMEM, "out of memory running a statement");
    int rc = tst_session_prepare(s, sql, sql, params, param_count, &r->ps);
    if (rc == 0)
        rc = rows_execute(r);
    if (rc == 0)
        rc = rows_describe(r);
    if (rc != 0) {
        tst_rows_free(r);
        return rc;
    }
    *out = r;
    return 0;
}

size_t tst_rows_column_count(const tst_rows *r)
{
    return r ? r->ncols : 0;
}

const char *tst_rows_column_name(const tst_rows *r, size_t col)
{
    return r && col < r->ncols ? duckdb_column_name((duckdb_result *)&r->result, col) : NULL;
}

const char *tst_rows_column_type(const tst_rows *r, size_t col)
{
    return r && col < r->ncols ? r->types[col] : NULL;
}

static int next_chunk(tst_rows *r)
{
    if (r->chunk)
        duckdb_destroy_data_chunk(&r->chunk);
    r->chunk_rows = r->next_row = 0;
    while (!r->done && r->chunk_rows == 0) {
        r->chunk = duckdb_fetch_chunk(r->result);
        if (!r->chunk) {
            r->done = true;
            const char *msg = duckdb_result_error(&r->result);
            return msg && *msg ? tst_fail(TST_ESQL, "%s", msg) : 0;
        }
        r->chunk_rows = duckdb_data_chunk_get_size(r->chunk);
        if (r->chunk_rows == 0)
            duckdb_destroy_data_chunk(&r->chunk);
    }
    return 0;
}

/* Advancing only moves the cursor: a caller that counts rows (a query with
 * no preview) pays nothing for text it never reads. */
int tst_rows_next(tst_rows *r)
{
    if (!r)
        return tst_fail(TST_EINVAL, "tst_rows_next needs rows");
    if (r->next_row >= r->chunk_rows) {
        int rc = next_chunk(r);
        if (rc != 0 || r->done)
            return rc;
    }
    r->next_row++;
    memset(r->rendered, 0, r->ncols * sizeof *r->rendered);
    return 1;
}

const char *tst_rows_value(tst_rows *r, size_t col)
{
    if (!r || col >= r->ncols || r->next_row == 0 || r->done)
        return NULL;
    idx_t row = r->next_row - 1;
    duckdb_vector vec = duckdb_data_chunk_get_vector(r->chunk, col);
    if (!is_valid(vec, row))
        return NULL;
    tst_sql *v = &r->values[col];
    if (!r->rendered[col]) {
        v->len = 0;
        if (v->s)
            v->s[0] = '\0';
        int rc = render(v, vec, r->ltypes[col], row);
        if (rc == 0 && !v->s)
            rc = SQL_F(v, "%s", "");
        if (rc != 0) {
            tst_fail(TST_ENOMEM, "out of memory rendering a value");
            return NULL;
        }
        r->rendered[col] = true;
    }
    return v->s;
}
