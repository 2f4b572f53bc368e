/*
 * arrow_source.c — an ArrowArrayStream as an append source: its schema
 * described for the append rules, its rows drained into a staging table
 * (see arrow_source.h for why a table, and its memory cost).
 *
 * Describing: the ArrowSchema's format strings map onto the same type
 * trees and wire kinds the Parquet footer decoder produces (arrow_schema.c),
 * so the append rules cannot tell which way the columns came in: "l" is
 * int64, "tsm:UTC" timestamp[ms](UTC), "s" an int16 that may widen, "tdD"
 * a date32 that no table can hold, and so on.
 *
 * Draining uses DuckDB 1.4's non-deprecated Arrow C API:
 * duckdb_schema_from_arrow once, then duckdb_data_chunk_from_arrow per
 * batch, which takes the batch's buffers over (they are released with the
 * chunk); the chunk goes into the staging table through an appender. The
 * staging table is created from the first chunk's DuckDB types, so DuckDB's
 * own Arrow type mapping decides the column types. The older
 * duckdb_arrow_scan would register a view that reads the stream lazily, on
 * one connection only, and never releases the schema it takes.
 *
 * The stream is read from this one place, start to end, and released
 * exactly once on every path, as the C stream interface requires.
 */
#include "arrow_source.h"

#include "append_schema.h"
#include "arrow_schema.h"
#include "duck.h"
#include "fail.h"
#include "fsio.h"
#include "model.h"

#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define ARROW_MAX_DEPTH 64 /* nesting of struct/list/map fields */
#define SOURCE_NAME "Arrow stream"

static int nomem(void)
{
    return tst_fail(TST_ENOMEM, "out of memory reading an Arrow stream");
}

/* ---- format strings -> type trees -------------------------------------- */

static int map_field(const struct ArrowSchema *s, int depth, tst_field *out,
                     tst_wire_kind *wire);
static int metadata_from_arrow(const char *md, tst_metadata *out, const char *what);

static int exact(tst_type *out, tst_wire_kind *wire, tst_type_kind kind)
{
    memset(out, 0, sizeof *out);
    out->kind = kind;
    *wire = TST_WIRE_EXACT;
    return 0;
}

static int other(tst_type *out, tst_wire_kind *wire, tst_wire_kind kind, const char *fmt, ...)
    TST_PRINTF(4, 5);

static int other(tst_type *out, tst_wire_kind *wire, tst_wire_kind kind, const char *fmt, ...)
{
    char name[256];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(name, sizeof name, fmt, ap);
    va_end(ap);
    return tst_source_type_other(out, wire, kind, name);
}

/* Formats without parameters or children. */
static int map_primitive(const char *f, tst_type *out, tst_wire_kind *wire)
{
    static const struct {
        const char *format;
        tst_type_kind kind;
        tst_wire_kind wire;
        const char *name; /* for types a table cannot hold */
    } prims[] = {
        {"b", TST_TYPE_BOOL, TST_WIRE_EXACT, NULL},
        {"i", TST_TYPE_INT32, TST_WIRE_EXACT, NULL},
        {"l", TST_TYPE_INT64, TST_WIRE_EXACT, NULL},
        {"L", TST_TYPE_UINT64, TST_WIRE_EXACT, NULL},
        {"f", TST_TYPE_FLOAT32, TST_WIRE_EXACT, NULL},
        {"g", TST_TYPE_FLOAT64, TST_WIRE_EXACT, NULL},
        {"z", TST_TYPE_BINARY, TST_WIRE_EXACT, NULL},
        {"u", TST_TYPE_UTF8, TST_WIRE_EXACT, NULL},
        {"c", TST_TYPE_OTHER, TST_WIRE_INT8, "int8"},
        {"s", TST_TYPE_OTHER, TST_WIRE_INT16, "int16"},
        {"C", TST_TYPE_OTHER, TST_WIRE_UINT8, "uint8"},
        {"S", TST_TYPE_OTHER, TST_WIRE_UINT16, "uint16"},
        {"I", TST_TYPE_OTHER, TST_WIRE_UINT32, "uint32"},
        {"n", TST_TYPE_OTHER, TST_WIRE_OTHER, "null"},
        /* DuckDB reads float16 from Parquet but not from an Arrow stream */
        {"e", TST_TYPE_OTHER, TST_WIRE_OTHER, "float16"},
        {"Z", TST_TYPE_BINARY, TST_WIRE_ENCODED, "large_binary"},
        {"U", TST_TYPE_UTF8, TST_WIRE_ENCODED, "large_utf8"},
        {"vz", TST_TYPE_BINARY, TST_WIRE_ENCODED, "binary_view"},
        {"vu", TST_TYPE_UTF8, TST_WIRE_ENCODED, "utf8_view"},
        {"tdD", TST_TYPE_OTHER, TST_WIRE_DATE, "date32"},
        {"tdm", TST_TYPE_OTHER, TST_WIRE_DATE, "date64"},
        {"tts", TST_TYPE_OTHER, TST_WIRE_OTHER, "time32[s]"},
        {"ttm", TST_TYPE_OTHER, TST_WIRE_OTHER, "time32[ms]"},
        {"ttu", TST_TYPE_OTHER, TST_WIRE_OTHER, "time64[us]"},
        {"ttn", TST_TYPE_OTHER, TST_WIRE_OTHER, "time64[ns]"},
        {"tDs", TST_TYPE_OTHER, TST_WIRE_OTHER, "duration[s]"},
        {"tDm", TST_TYPE_OTHER, TST_WIRE_OTHER, "duration[ms]"},
        {"tDu", TST_TYPE_OTHER, TST_WIRE_OTHER, "duration[us]"},
        {"tDn", TST_TYPE_OTHER, TST_WIRE_OTHER, "duration[ns]"},
        {"tiM", TST_TYPE_OTHER, TST_WIRE_OTHER, "interval[year_month]"},
        {"tiD", TST_TYPE_OTHER, TST_WIRE_OTHER, "interval[day_time]"},
        {"tin", TST_TYPE_OTHER, TST_WIRE_OTHER, "interval[month_day_nano]"},
    };
    for (size_t i = 0; i < sizeof prims / sizeof prims[0]; i++) {
        if (strcmp(f, prims[i].format) != 0)
            continue;
        if (prims[i].wire == TST_WIRE_EXACT)
            return exact(out, wire, prims[i].kind);
        if (prims[i].wire == TST_WIRE_ENCODED) {
            exact(out, wire, prims[i].kind);
            return tst_source_type_mark(out, wire, TST_WIRE_ENCODED, prims[i].name);
        }
        if (prims[i].wire == TST_WIRE_OTHER)
            return tst_source_type_other(out, wire, prims[i].wire, prims[i].name);
        return tst_source_type_converted(out, wire, prims[i].wire, prims[i].name);
    }
    return other(out, wire, TST_WIRE_OTHER, "arrow format '%s'", f);
}

/* "tsm:" / "tsu:UTC" ...; seconds are not a table unit (format §1.7). */
static int map_timestamp(const char *f, tst_type *out, tst_wire_kind *wire)
{
    static const char units[] = "smun";
    const char *u = strchr(units, f[2]);
    if (f[2] == '\0' || !u || f[3] != ':')
        return other(out, wire, TST_WIRE_OTHER, "arrow format '%s'", f);
    const char *tz = f + 4;
    exact(out, wire, TST_TYPE_TIMESTAMP);
    out->unit = *u == 'm' || *u == 's' ? TST_PRECISION_MILLIS
              : *u == 'u'              ? TST_PRECISION_MICROS
                                       : TST_PRECISION_NANOS;
    if (*tz && !(out->timezone = strdup(tz)))
        return nomem();
    return *u == 's' ? tst_source_mark_seconds(out, wire) : 0;
}

/* "d:p,s" (128-bit) or "d:p,s,bits"; Decimal128 holds 1..38 digits, Decimal256 39..76. */
static int map_decimal(const char *f, tst_type *out, tst_wire_kind *wire)
{
    long p = 0, s = 0, bits = 128;
    char tail = 0;
    int n = sscanf(f, "d:%ld,%ld,%ld%c", &p, &s, &bits, &tail);
    if (n < 2 || n > 3)
        return other(out, wire, TST_WIRE_OTHER, "arrow format '%s'", f);
    bool fits = (bits == 128 && p >= 1 && p <= 38) || (bits == 256 && p >= 39 && p <= 76);
    if (!fits || s < 0 || s > p)
        return other(out, wire, TST_WIRE_OTHER, "decimal%ld(%ld, %ld)", bits, p, s);
    exact(out, wire, TST_TYPE_DECIMAL);
    out->precision = (uint32_t)p;
    out->scale = (int32_t)s;
    return 0;
}

static int map_fixed_binary(const char *f, tst_type *out, tst_wire_kind *wire)
{
    char *end = NULL;
    long width = strtol(f + 2, &end, 10);
    if (*end != '\0' || width <= 0 || width > INT32_MAX)
        return other(out, wire, TST_WIRE_OTHER, "arrow format '%s'", f);
    exact(out, wire, TST_TYPE_FIXED_BINARY);
    out->byte_width = (int32_t)width;
    return 0;
}

/* The children of a struct, as fields. */
static int map_children(const struct ArrowSchema *s, int depth, tst_type *out)
{
    if (s->n_children < 0 || (s->n_children > 0 && !s->children))
        return tst_fail(TST_EINVAL, "Arrow schema field '%s' has a malformed children list",
                        s->name ? s->name : "");
    size_t n = (size_t)s->n_children;
    out->kind = TST_TYPE_STRUCT;
    out->fields = calloc(n ? n : 1, sizeof *out->fields);
    if (!out->fields)
        return nomem();
    for (size_t i = 0; i < n; i++) {
        tst_wire_kind ignored;
        out->field_count = i + 1; /* counted first: a partly mapped child is released too */
        int rc = map_field(s->children[i], depth + 1, &out->fields[i], &ignored);
        if (rc != 0)
            return rc;
    }
    return 0;
}

static int map_list(const struct ArrowSchema *s, int depth, tst_type *out)
{
    if (s->n_children != 1 || !s->children)
        return tst_fail(TST_EINVAL, "Arrow list field '%s' does not have exactly one child",
                        s->name ? s->name : "");
    tst_wire_kind ignored;
    out->kind = TST_TYPE_LIST;
    if (!(out->element = calloc(1, sizeof *out->element)))
        return nomem();
    return map_field(s->children[0], depth + 1, out->element, &ignored);
}

/* Map<entries: Struct<key, value>>; a null-typed value makes a keys-only map. */
static int map_map(const struct ArrowSchema *s, int depth, tst_type *out)
{
    const struct ArrowSchema *entries = s->n_children == 1 && s->children ? s->children[0] : NULL;
    if (!entries || entries->n_children != 2 || !entries->children)
        return tst_fail(TST_EINVAL, "Arrow map field '%s' does not have key/value entries",
                        s->name ? s->name : "");
    tst_wire_kind ignored;
    out->kind = TST_TYPE_MAP;
    out->keys_sorted = (s->flags & ARROW_FLAG_MAP_KEYS_SORTED) != 0;
    if (!(out->key = calloc(1, sizeof *out->key)))
        return nomem();
    int rc = map_field(entries->children[0], depth + 2, out->key, &ignored);
    const struct ArrowSchema *value = entries->children[1];
    if (rc == 0)
        rc = metadata_from_arrow(entries->metadata, &out->entries_metadata,
                                 "map entries field metadata");
    if (rc == 0 && value->format && strcmp(value->format, "n") != 0) {
        if (!(out->value = calloc(1, sizeof *out->value)))
            return nomem();
        rc = map_field(value, depth + 2, out->value, &ignored);
    } else if (rc == 0) {
        rc = metadata_from_arrow(value->metadata, &out->null_value_metadata,
                                 "map value field metadata");
    }
    return rc;
}

static int map_nested(const struct ArrowSchema *s, int depth, tst_type *out,
                      tst_wire_kind *wire)
{
    const char *f = s->format;
    memset(out, 0, sizeof *out);
    bool large = strcmp(f, "+L") == 0, fixed = strncmp(f, "+w:", 3) == 0;
    int rc;
    if (strcmp(f, "+s") == 0)
        rc = map_children(s, depth, out);
    else if (strcmp(f, "+l") == 0 || large || fixed)
        rc = map_list(s, depth, out);
    else if (strcmp(f, "+m") == 0)
        rc = map_map(s, depth, out);
    else
        return other(out, wire, TST_WIRE_OTHER, "arrow format '%s'", f); /* unions, views, ... */
    if (rc == 0 && (large || fixed)) { /* lists in another layout: passed through */
        char suffix[32];
        snprintf(suffix, sizeof suffix, ">%s%s%s", fixed ? "[" : "", fixed ? f + 3 : "",
                 fixed ? "]" : "");
        return tst_source_mark_list(out, wire, large ? "large_list<" : "fixed_size_list<",
                                    suffix);
    }
    *wire = rc == 0 && tst_source_type_exact(out) ? TST_WIRE_EXACT : TST_WIRE_OTHER;
    return rc;
}

static int map_type(const struct ArrowSchema *s, int depth, tst_type *out, tst_wire_kind *wire)
{
    const char *f = s->format;
    if (f[0] == '+')
        return map_nested(s, depth, out, wire);
    if (strncmp(f, "ts", 2) == 0)
        return map_timestamp(f, out, wire);
    if (strncmp(f, "d:", 2) == 0)
        return map_decimal(f, out, wire);
    if (strncmp(f, "w:", 2) == 0)
        return map_fixed_binary(f, out, wire);
    return map_primitive(f, out, wire);
}

/* The value of key `key` in an ArrowSchema's metadata (int32 count, then
 * int32-length-prefixed keys and values), or false. */
static bool metadata_value(const char *md, const char *key, char *out, size_t cap)
{
    if (!md)
        return false;
    int32_t n, len;
    memcpy(&n, md, 4);
    md += 4;
    for (int32_t i = 0; i < n && i < 1024; i++) {
        memcpy(&len, md, 4);
        const char *k = md + 4;
        bool match = len >= 0 && (size_t)len == strlen(key) && memcmp(k, key, (size_t)len) == 0;
        md = k + (len > 0 ? len : 0);
        memcpy(&len, md, 4);
        if (match && len >= 0 && (size_t)len < cap) {
            memcpy(out, md + 4, (size_t)len);
            out[len] = '\0';
            return true;
        }
        md += 4 + (len > 0 ? len : 0);
    }
    return false;
}

/* Every pair of an ArrowSchema's metadata into `out`, except the
 * ARROW:extension:* keys, which describe the type (read by map_extension) and
 * are not annotations. Keys and values must be UTF-8 (TST_EINVAL naming `what`). */
static int metadata_from_arrow(const char *md, tst_metadata *out, const char *what)
{
    if (!md)
        return 0;
    int32_t n, klen, vlen;
    memcpy(&n, md, 4);
    md += 4;
    if (n < 0 || n > 100000)
        return tst_fail(TST_EINVAL, "%s has a malformed entry count %d", what, (int)n);
    for (int32_t i = 0; i < n; i++) {
        memcpy(&klen, md, 4);
        const char *k = md + 4;
        if (klen < 0)
            return tst_fail(TST_EINVAL, "%s has a malformed key length", what);
        md = k + klen;
        memcpy(&vlen, md, 4);
        const char *v = md + 4;
        if (vlen < 0)
            return tst_fail(TST_EINVAL, "%s has a malformed value length", what);
        md = v + vlen;
        static const char EXT[] = "ARROW:extension:";
        if ((size_t)klen >= sizeof EXT - 1 && memcmp(k, EXT, sizeof EXT - 1) == 0)
            continue;
        int rc = tst_metadata_add(out, k, (size_t)klen, v, (size_t)vlen, what);
        if (rc != 0)
            return rc;
    }
    return 0;
}

/* Canonical extension types whose storage type would mislead: arrow.uuid
 * (16 bytes) is refused, arrow.json (text) reads as utf8. */
static int map_extension(const struct ArrowSchema *s, tst_type *type, tst_wire_kind *wire)
{
    char name[64];
    if (!metadata_value(s->metadata, "ARROW:extension:name", name, sizeof name))
        return 0;
    if (strcmp(name, "arrow.uuid") == 0) {
        tst_source_type_clear(type);
        return tst_source_type_other(type, wire, TST_WIRE_OTHER, "uuid");
    }
    if (strcmp(name, "arrow.json") == 0 && type->kind == TST_TYPE_UTF8)
        return tst_source_type_mark(type, wire, *wire == TST_WIRE_EXACT ? TST_WIRE_ENCODED : *wire,
                                    "json");
    return 0;
}

/* On failure `out` may be partly filled; the caller clears it. */
static int map_field(const struct ArrowSchema *s, int depth, tst_field *out,
                     tst_wire_kind *wire)
{
    memset(out, 0, sizeof *out);
    if (!s || !s->format)
        return tst_fail(TST_EINVAL, "Arrow schema has a field without a format");
    if (depth > ARROW_MAX_DEPTH)
        return tst_fail(TST_EINVAL, "Arrow schema nests fields more than %d deep",
                        ARROW_MAX_DEPTH);
    if (!(out->name = strdup(s->name ? s->name : "")))
        return nomem();
    out->nullable = (s->flags & ARROW_FLAG_NULLABLE) != 0;
    /* A dictionary-encoded field: format is the index type, the values are the type. */
    const struct ArrowSchema *values = s->dictionary ? s->dictionary : s;
    if (s->dictionary && !values->format)
        return tst_fail(TST_EINVAL, "Arrow field '%s' has a dictionary without a format",
                        out->name);
    int rc = map_type(values, depth, &out->type, wire);
    if (rc == 0 && s->dictionary)
        rc = tst_source_type_dictionary(&out->type, wire);
    if (rc == 0)
        rc = map_extension(s, &out->type, wire);
    if (rc == 0) {
        char what[160];
        snprintf(what, sizeof what, "field '%.100s' metadata", out->name);
        rc = metadata_from_arrow(s->metadata, &out->metadata, what);
    }
    return rc;
}

/* The top-level columns: the children of the stream's struct schema. */
static int describe_columns(const struct ArrowSchema *schema, tst_source *src)
{
    if (!schema->format || strcmp(schema->format, "+s") != 0)
        return tst_fail(TST_EINVAL, "an Arrow stream to append must have a struct schema "
                        "(format \"+s\"), not \"%s\"", schema->format ? schema->format : "");
    if (schema->n_children < 0 || (schema->n_children > 0 && !schema->children))
        return tst_fail(TST_EINVAL, "the Arrow stream's schema has a malformed column list");
    size_t n = (size_t)schema->n_children;
    src->columns = calloc(n ? n : 1, sizeof *src->columns);
    if (!src->columns)
        return nomem();
    for (size_t i = 0; i < n; i++) {
        tst_field field;
        tst_wire_kind wire = TST_WIRE_OTHER;
        int rc = map_field(schema->children[i], 0, &field, &wire);
        if (rc != 0) {
            tst_source_field_clear(&field);
            return rc;
        }
        if ((rc = tst_source_column_take(&src->columns[i], &field, wire)) != 0)
            return rc;
        src->column_count = i + 1;
    }
    int rc = metadata_from_arrow(schema->metadata, &src->metadata, "schema metadata");
    tst_metadata_remove(&src->metadata, TST_PANDAS_METADATA_KEY); /* per frame: see model.h */
    return rc;
}

/* True when the append rules will refuse these columns whatever the rows. */
static bool schema_doomed(const tst_source *src)
{
    for (size_t i = 0; i < src->column_count; i++) {
        const char *name = src->columns[i].name;
        if (src->columns[i].wire == TST_WIRE_OTHER || name[strspn(name, " \t\r\n")] == '\0')
            return true;
        for (size_t j = 0; j < i; j++)
            if (strcmp(src->columns[j].name, name) == 0)
                return true;
    }
    return false;
}

/* ---- DuckDB types -> SQL, for the staging table ------------------------- */

static int type_sql(duckdb_logical_type t, char **buf, size_t *len, size_t *cap);

static const char *simple_type_name(duckdb_type id)
{
    switch (id) {
    case DUCKDB_TYPE_BOOLEAN: return "BOOLEAN";
    case DUCKDB_TYPE_TINYINT: return "TINYINT";
    case DUCKDB_TYPE_SMALLINT: return "SMALLINT";
    case DUCKDB_TYPE_INTEGER: return "INTEGER";
    case DUCKDB_TYPE_BIGINT: return "BIGINT";
    case DUCKDB_TYPE_UTINYINT: return "UTINYINT";
    case DUCKDB_TYPE_USMALLINT: return "USMALLINT";
    case DUCKDB_TYPE_UINTEGER: return "UINTEGER";
    case DUCKDB_TYPE_UBIGINT: return "UBIGINT";
    case DUCKDB_TYPE_HUGEINT: return "HUGEINT";
    case DUCKDB_TYPE_UHUGEINT: return "UHUGEINT";
    case DUCKDB_TYPE_FLOAT: return "FLOAT";
    case DUCKDB_TYPE_DOUBLE: return "DOUBLE";
    case DUCKDB_TYPE_VARCHAR: return "VARCHAR";
    case DUCKDB_TYPE_BLOB: return "BLOB";
    case DUCKDB_TYPE_DATE: return "DATE";
    case DUCKDB_TYPE_TIME: return "TIME";
    case DUCKDB_TYPE_TIME_TZ: return "TIMETZ";
    case DUCKDB_TYPE_TIMESTAMP: return "TIMESTAMP";
    case DUCKDB_TYPE_TIMESTAMP_S: return "TIMESTAMP_S";
    case DUCKDB_TYPE_TIMESTAMP_MS: return "TIMESTAMP_MS";
    case DUCKDB_TYPE_TIMESTAMP_NS: return "TIMESTAMP_NS";
    case DUCKDB_TYPE_TIMESTAMP_TZ: return "TIMESTAMPTZ";
    case DUCKDB_TYPE_INTERVAL: return "INTERVAL";
    case DUCKDB_TYPE_UUID: return "UUID";
    default: return NULL;
    }
}

static int struct_sql(duckdb_logical_type t, char **buf, size_t *len, size_t *cap)
{
    idx_t n = duckdb_struct_type_child_count(t);
    int rc = tst_duck_appendf(buf, len, cap, "STRUCT(");
    for (idx_t i = 0; rc == 0 && i < n; i++) {
        char *name = duckdb_struct_type_child_name(t, i);
        duckdb_logical_type child = duckdb_struct_type_child_type(t, i);
        rc = tst_duck_appendf(buf, len, cap, "%s", i ? ", " : "");
        if (rc == 0)
            rc = tst_duck_append_ident(buf, len, cap, name ? name : "");
        if (rc == 0)
            rc = tst_duck_appendf(buf, len, cap, " ");
        if (rc == 0)
            rc = type_sql(child, buf, len, cap);
        duckdb_free(name);
        duckdb_destroy_logical_type(&child);
    }
    return rc == 0 ? tst_duck_appendf(buf, len, cap, ")") : rc;
}

static int child_sql(duckdb_logical_type child, const char *before, const char *after,
                     char **buf, size_t *len, size_t *cap)
{
    int rc = tst_duck_appendf(buf, len, cap, "%s", before);
    if (rc == 0)
        rc = type_sql(child, buf, len, cap);
    if (rc == 0)
        rc = tst_duck_appendf(buf, len, cap, "%s", after);
    duckdb_destroy_logical_type(&child);
    return rc;
}

static int map_sql(duckdb_logical_type t, char **buf, size_t *len, size_t *cap)
{
    int rc = child_sql(duckdb_map_type_key_type(t), "MAP(", ", ", buf, len, cap);
    return rc == 0 ? child_sql(duckdb_map_type_value_type(t), "", ")", buf, len, cap) : rc;
}

/* The SQL spelling of a DuckDB type, appended to *buf. */
static int type_sql(duckdb_logical_type t, char **buf, size_t *len, size_t *cap)
{
    duckdb_type id = duckdb_get_type_id(t);
    const char *name = simple_type_name(id);
    char array[48];
    switch (id) {
    case DUCKDB_TYPE_DECIMAL:
        return tst_duck_appendf(buf, len, cap, "DECIMAL(%u,%u)", duckdb_decimal_width(t),
                                duckdb_decimal_scale(t));
    case DUCKDB_TYPE_LIST:
        return child_sql(duckdb_list_type_child_type(t), "", "[]", buf, len, cap);
    case DUCKDB_TYPE_ARRAY:
        snprintf(array, sizeof array, "[%llu]", (unsigned long long)duckdb_array_type_array_size(t));
        return child_sql(duckdb_array_type_child_type(t), "", array, buf, len, cap);
    case DUCKDB_TYPE_STRUCT: return struct_sql(t, buf, len, cap);
    case DUCKDB_TYPE_MAP: return map_sql(t, buf, len, cap);
    default:
        if (!name)
            return tst_fail(TST_EUNSUPPORTED, "DuckDB type id %d from an Arrow stream cannot be "
                            "staged for an append", (int)id);
        return tst_duck_appendf(buf, len, cap, "%s", name);
    }
}

/* ---- draining the stream ------------------------------------------------- */

typedef struct drain {
    struct ArrowArrayStream *stream;
    tst_source *src;
    tst_arrow_staging *staging;
    duckdb_connection con;
    duckdb_arrow_converted_schema converted;
    duckdb_appender appender;
    uint64_t rows;
    uint64_t batches;
} drain;

static int stream_error(drain *d, int err, const char *what)
{
    const char *msg = d->stream->get_last_error ? d->stream->get_last_error(d->stream) : NULL;
    return tst_fail_errno(TST_EIO, err, "the Arrow stream failed %s%s%s; nothing was appended",
                          what, msg && *msg ? ": " : "", msg && *msg ? msg : "");
}

static int duck_error(duckdb_error_data e, int code, const char *what)
{
    const char *msg = e ? duckdb_error_data_message(e) : NULL;
    int rc = tst_fail(code, "%s: %s", what, msg ? msg : "DuckDB failed");
    duckdb_destroy_error_data(&e);
    return rc;
}

/* CREATE TABLE "__tst_arrow_<uuid>" ("col" TYPE, ...) from a converted chunk. */
static int create_staging(drain *d, duckdb_data_chunk chunk)
{
    char *sql = NULL;
    size_t len = 0, cap = 0;
    idx_t n = duckdb_data_chunk_get_column_count(chunk);
    int rc = tst_duck_appendf(&sql, &len, &cap, "CREATE TABLE ");
    if (rc == 0)
        rc = tst_duck_append_ident(&sql, &len, &cap, d->staging->name);
    for (idx_t i = 0; rc == 0 && i < n; i++) {
        duckdb_logical_type t = duckdb_vector_get_column_type(duckdb_data_chunk_get_vector(chunk, i));
        rc = tst_duck_appendf(&sql, &len, &cap, "%s", i ? ", " : " (");
        if (rc == 0 && i < d->src->column_count)
            rc = tst_duck_append_ident(&sql, &len, &cap, d->src->columns[i].name);
        if (rc == 0)
            rc = tst_duck_appendf(&sql, &len, &cap, " ");
        if (rc == 0)
            rc = type_sql(t, &sql, &len, &cap);
        duckdb_destroy_logical_type(&t);
    }
    if (rc == 0)
        rc = tst_duck_appendf(&sql, &len, &cap, ")");
    if (rc == 0)
        rc = tst_duck_query(d->con, sql, NULL, "creating the staging table of an Arrow append");
    free(sql);
    d->staging->created = rc == 0;
    if (rc == 0 && duckdb_appender_create(d->con, NULL, d->staging->name, &d->appender) ==
                       DuckDBError)
        rc = tst_fail(TST_ESQL, "cannot append to the staging table: %s",
                      duckdb_appender_error(d->appender));
    return rc;
}

/* The batch must be a struct array of the schema's columns, each long enough. */
static int check_batch(const drain *d, const struct ArrowArray *a)
{
    if (a->length < 0 || a->offset < 0 || a->n_children < 0 ||
        (size_t)a->n_children != d->src->column_count || (a->n_children > 0 && !a->children))
        return tst_fail(TST_EINVAL, "Arrow batch %" PRIu64 " does not match the stream's "
                        "schema (%lld columns, %zu expected)", d->batches,
                        (long long)a->n_children, d->src->column_count);
    for (int64_t i = 0; i < a->n_children; i++) {
        const struct ArrowArray *c = a->children[i];
        if (!c || c->length < a->offset + a->length || c->offset < 0)
            return tst_fail(TST_EINVAL, "Arrow batch %" PRIu64 ": column '%s' is shorter "
                            "than the batch", d->batches, d->src->columns[i].name);
    }
    return 0;
}

/* Converts one non-empty batch (taking its buffers over) and stages its rows. */
static int stage_batch(drain *d, struct ArrowArray *batch)
{
    duckdb_data_chunk chunk = NULL;
    int64_t rows = batch->length;
    duckdb_error_data e = duckdb_data_chunk_from_arrow(d->con, batch, d->converted, &chunk);
    if (batch->release) /* not taken over (an error): still ours to release */
        batch->release(batch);
    if (e)
        return duck_error(e, TST_EUNSUPPORTED, "DuckDB cannot read an Arrow batch");
    int rc = d->appender ? 0 : create_staging(d, chunk);
    if (rc == 0 && duckdb_append_data_chunk(d->appender, chunk) == DuckDBError)
        rc = tst_fail(TST_ESQL, "staging Arrow batch %" PRIu64 ": %s", d->batches,
                      duckdb_appender_error(d->appender));
    duckdb_destroy_data_chunk(&chunk);
    if (rc == 0)
        d->rows += (uint64_t)rows;
    return rc;
}

/* Pulls batches until the end of the stream. */
static int drain_batches(drain *d)
{
    for (;;) {
        struct ArrowArray batch;
        memset(&batch, 0, sizeof batch);
        int err = d->stream->get_next(d->stream, &batch);
        if (err != 0)
            return stream_error(d, err, "while producing a batch");
        if (!batch.release)
            return 0; /* end of stream */
        d->batches++;
        int rc = check_batch(d, &batch);
        if (rc == 0 && batch.length == 0) {
            batch.release(&batch); /* zero-row batches are skipped (format §3 step 3) */
            continue;
        }
        if (rc != 0) {
            batch.release(&batch);
            return rc;
        }
        if ((rc = stage_batch(d, &batch)) != 0)
            return rc;
    }
}

static int finish_staging(drain *d)
{
    if (!d->appender)
        return 0;
    int rc = 0;
    if (duckdb_appender_close(d->appender) == DuckDBError)
        rc = tst_fail(TST_ESQL, "staging an Arrow stream: %s", duckdb_appender_error(d->appender));
    duckdb_appender_destroy(&d->appender);
    return rc;
}

/*
 * DuckDB maps a zoned timestamp (Arrow "ts?:<zone>") onto TIMESTAMPTZ, whose
 * unit is the microsecond: nanoseconds would be cut off, silently, while the
 * table declares timestamp[ns]. Arrow's zoned values are UTC instants, so the
 * same numbers read as a zone-less "tsn:" become TIMESTAMP_NS and keep every
 * digit; the column's zone is already known from describe_columns(), and the
 * segment writer declares it in the footer (as for a zoned ns Parquet
 * source, see source.c). The producer's format strings are swapped only for
 * the duration of duckdb_schema_from_arrow() and put back before release.
 */
#define ZONED_NS_MAX 256
typedef struct zone_swap {
    struct ArrowSchema *field[ZONED_NS_MAX];
    const char *format[ZONED_NS_MAX];
    size_t count;
} zone_swap;

static int strip_ns_zones(struct ArrowSchema *s, zone_swap *z, int depth)
{
    if (!s || depth > ARROW_MAX_DEPTH)
        return 0;
    if (s->format && strncmp(s->format, "tsn:", 4) == 0 && s->format[4] != '\0') {
        if (z->count == ZONED_NS_MAX)
            return tst_fail(TST_EUNSUPPORTED, "the Arrow stream has more than %d zoned "
                            "nanosecond timestamp fields", ZONED_NS_MAX);
        z->field[z->count] = s;
        z->format[z->count++] = s->format;
        s->format = "tsn:";
    }
    int rc = 0;
    for (int64_t i = 0; rc == 0 && i < s->n_children; i++)
        rc = strip_ns_zones(s->children[i], z, depth + 1);
    return rc == 0 ? strip_ns_zones(s->dictionary, z, depth + 1) : rc;
}

static void restore_zones(zone_swap *z)
{
    for (size_t i = 0; i < z->count; i++)
        z->field[i]->format = z->format[i];
    z->count = 0;
}

static int drain_stream(drain *d, struct ArrowSchema *schema)
{
    int rc = tst_duck_connect(&d->con);
    zone_swap zones = {.count = 0};
    if (rc == 0)
        rc = strip_ns_zones(schema, &zones, 0);
    if (rc == 0) {
        duckdb_error_data e = duckdb_schema_from_arrow(d->con, schema, &d->converted);
        if (e)
            rc = duck_error(e, TST_EUNSUPPORTED, "DuckDB cannot read the Arrow stream's schema");
    }
    restore_zones(&zones);
    if (rc == 0)
        rc = drain_batches(d);
    int closed = finish_staging(d);
    if (rc == 0)
        rc = closed;
    if (d->converted)
        duckdb_destroy_arrow_converted_schema(&d->converted);
    tst_duck_disconnect(&d->con);
    if (rc == 0 && d->rows == 0)
        rc = tst_fail(TST_EEMPTY, "Cannot append an empty Arrow input: the stream's %" PRIu64
                      " batches hold no rows; nothing was written", d->batches);
    return rc;
}

static int name_staging(tst_arrow_staging *staging, tst_source *src)
{
    char uuid[37];
    int rc = tst_io_uuid(uuid);
    if (rc != 0)
        return rc;
    char *dash;
    while ((dash = strchr(uuid, '-')) != NULL)
        memmove(dash, dash + 1, strlen(dash));
    snprintf(staging->name, sizeof staging->name, "__tst_arrow_%s", uuid);
    size_t len = 0, cap = 0;
    if (!(src->path = strdup(SOURCE_NAME)))
        return nomem();
    return tst_duck_append_ident(&src->relation_sql, &len, &cap, staging->name);
}

static int read_stream(tst_source *out, struct ArrowArrayStream *stream,
                       tst_arrow_staging *staging, const tst_schema *table_schema)
{
    struct ArrowSchema schema;
    memset(&schema, 0, sizeof schema);
    drain d = {.stream = stream, .src = out, .staging = staging};
    int err = stream->get_schema(stream, &schema);
    int rc = err != 0 ? stream_error(&d, err, "to give its schema") : 0;
    if (rc == 0)
        rc = describe_columns(&schema, out);
    if (rc == 0)
        rc = name_staging(staging, out);
    if (rc == 0 && !schema_doomed(out) &&
        !(table_schema && tst_append_annotations_conflict(table_schema, out)))
        rc = drain_stream(&d, &schema);
    out->row_count = d.rows;
    if (schema.release)
        schema.release(&schema);
    return rc;
}

int tst_source_arrow(tst_source *out, struct ArrowArrayStream *stream,
                     tst_arrow_staging *staging)
{
    return tst_source_arrow_for(out, stream, staging, NULL);
}

int tst_source_arrow_for(tst_source *out, struct ArrowArrayStream *stream,
                         tst_arrow_staging *staging, const tst_schema *table_schema)
{
    memset(out, 0, sizeof *out);
    if (!stream || !stream->release)
        return tst_fail(TST_EINVAL, "the Arrow stream to append is NULL or already released");
    if (!stream->get_schema || !stream->get_next) {
        stream->release(stream);
        return tst_fail(TST_EINVAL, "the Arrow stream to append lacks get_schema or get_next");
    }
    int rc = read_stream(out, stream, staging, table_schema);
    stream->release(stream);
    if (rc != 0) {
        tst_source_clear(out);
        tst_arrow_staging_drop(staging);
    }
    return rc;
}

void tst_arrow_staging_drop(tst_arrow_staging *staging)
{
    if (!staging || !staging->created)
        return;
    /* The name is [_a-z0-9] only, so no quoting is needed. DuckDB is asked
     * directly, not through tst_duck_query, so that the append's own error,
     * recorded before this runs, is never replaced. Best effort: a table
     * left behind costs memory until the process ends, never data. */
    char sql[128];
    snprintf(sql, sizeof sql, "DROP TABLE IF EXISTS \"%s\"", staging->name);
    duckdb_connection con = NULL;
    if (tst_duck_connect(&con) == 0) {
        duckdb_result res;
        duckdb_query(con, sql, &res);
        duckdb_destroy_result(&res);
    }
    tst_duck_disconnect(&con);
    staging->created = false;
}

/* ---- a schema's fields, for add_columns ---------------------------------- */

int tst_arrow_schema_fields(const struct ArrowSchema *schema, tst_field **out, size_t *out_count)
{
    *out = NULL;
    *out_count = 0;
    if (!schema || !schema->format || strcmp(schema->format, "+s") != 0)
        return tst_fail(TST_EINVAL, "the columns must be given as an Arrow schema (a struct, "
                        "format \"+s\")");
    if (schema->n_children < 0 || (schema->n_children > 0 && !schema->children))
        return tst_fail(TST_EINVAL, "the Arrow schema has a malformed column list");
    size_t n = (size_t)schema->n_children;
    tst_field *fields = calloc(n ? n : 1, sizeof *fields);
    if (!fields)
        return nomem();
    int rc = 0;
    size_t got = 0;
    for (; rc == 0 && got < n; got++) {
        tst_wire_kind wire = TST_WIRE_OTHER;
        rc = map_field(schema->children[got], 0, &fields[got], &wire);
        if (rc == 0 && (wire != TST_WIRE_EXACT || !tst_source_type_exact(&fields[got].type))) {
            char type[128];
            if (tst_type_format(&fields[got].type, type, sizeof type) < 0)
                snprintf(type, sizeof type, "this type");
            rc = tst_fail(TST_ESCHEMA, "column '%s' has the Arrow type %s, which is not a table "
                          "type exactly (the types are bool, int32, int64, uint64, float32, "
                          "float64, utf8, binary, fixed_size_binary, decimal, timestamp, "
                          "struct, list, map); cast it to one of them",
                          fields[got].name, type);
        }
    }
    if (rc != 0) {
        for (size_t i = 0; i < got; i++)
            tst_source_field_clear(&fields[i]);
        free(fields);
        return rc;
    }
    *out = fields;
    *out_count = n;
    return 0;
}
