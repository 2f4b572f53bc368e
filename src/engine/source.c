/*
 * source.c — describing the rows of an append: a Parquet or CSV file, its
 * columns and types as the append schema rules need them (see source.h).
 *
 * Parquet: the footer alone is read, through DuckDB's metadata functions:
 * parquet_file_metadata (num_rows), parquet_kv_metadata (the "ARROW:schema"
 * key, decoded by arrow_schema.c) and parquet_schema (one row per schema
 * element, in the footer's pre-order, the root first; num_children is NULL
 * for leaves). The embedded Arrow schema is preferred, as format §1.7 says,
 * because it keeps timezones and narrow integers; it is trusted only when it
 * decodes cleanly and names the same top-level columns as the Parquet
 * schema, otherwise the Parquet types are mapped.
 *
 * DuckDB renders some annotations oddly: parquet_schema's logical_type is
 * Thrift's printTo text, where IntType's int8 bitWidth comes out as a raw
 * byte, so integer annotations are read from converted_type or DuckDB's own
 * derived type (duckdb_type), never by parsing that text.
 *
 * CSV sources are described in source_csv.c; their DuckDB type names are
 * mapped to table types here (tst_source_duck_type).
 */
#include "source.h"

#include "arrow_schema.h"
#include "duck.h"
#include "fail.h"
#include "model.h"

#include "parquet_footer.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define PARQUET_MAX_DEPTH 64

/* ---- common ------------------------------------------------------------ */

static int nomem(void)
{
    return tst_fail(TST_ENOMEM, "out of memory describing an append source");
}

/* A regular file at path, or TST_ENOTFOUND / TST_EINVAL naming it. */
static int check_file(const char *path, const char *kind)
{
    struct stat st;
    if (stat(path, &st) != 0) {
        int err = errno;
        int code = err == ENOENT || err == ENOTDIR ? TST_ENOTFOUND : TST_EIO;
        tst_fail_errno(code, err, "%s source %s cannot be read", kind, path);
    } else if (!S_ISREG(st.st_mode)) {
        tst_fail(TST_EINVAL, "%s source %s is not a regular file", kind, path);
    } else {
        return 0;
    }
    tst_fail_set_path(path);
    return tst_error_last()->code;
}

/* Runs sql; a DuckDB failure becomes `code` with DuckDB's message kept. */
static int query_as(duckdb_connection con, const char *sql, duckdb_result *res, int code,
                    const char *what, const char *path)
{
    int rc = tst_duck_query(con, sql, res, what);
    if (rc != TST_ESQL || code == TST_ESQL)
        return rc;
    char message[1024];
    snprintf(message, sizeof message, "%s", tst_error_last()->message);
    tst_fail(code, "%s", message);
    tst_fail_set_path(path);
    return code;
}

/* A text cell, or NULL for SQL NULL; *out malloc'd. */
static int cell_text(duckdb_result *res, idx_t col, idx_t row, char **out)
{
    *out = NULL;
    if (duckdb_value_is_null(res, col, row))
        return 0;
    char *v = duckdb_value_varchar(res, col, row);
    if (!v)
        return nomem();
    *out = strdup(v);
    duckdb_free(v);
    return *out ? 0 : nomem();
}

static int64_t cell_int(duckdb_result *res, idx_t col, idx_t row, int64_t if_null)
{
    return duckdb_value_is_null(res, col, row) ? if_null : duckdb_value_int64(res, col, row);
}

static int set_relation(tst_source *src, const char *fn, const char *path, const char *options)
{
    size_t len = 0, cap = 0;
    int rc = tst_duck_appendf(&src->relation_sql, &len, &cap, "%s(", fn);
    if (rc == 0)
        rc = tst_duck_append_literal(&src->relation_sql, &len, &cap, path);
    if (rc == 0)
        rc = tst_duck_appendf(&src->relation_sql, &len, &cap, "%s)", options ? options : "");
    return rc;
}

static bool starts_with(const char *s, const char *prefix)
{
    return s && strncmp(s, prefix, strlen(prefix)) == 0;
}

static bool equals(const char *s, const char *t)
{
    return s && strcmp(s, t) == 0;
}

/* ---- the Parquet schema ------------------------------------------------ */

/* One row of parquet_schema(). */
typedef struct pq_node {
    char *name;
    char *physical;      /* NULL for a group */
    int32_t type_length; /* FIXED_LEN_BYTE_ARRAY width */
    char *repetition;    /* REQUIRED, OPTIONAL, REPEATED */
    int64_t children;    /* -1 for a leaf */
    char *converted;
    int64_t scale, precision;
    char *logical;       /* Thrift text: "TimestampType(isAdjustedToUTC=1, unit=...)" */
    char *duck_type;     /* DuckDB's reading: "TINYINT", "TIMESTAMP WITH TIME ZONE" */
} pq_node;

typedef struct pq_walk {
    pq_node *nodes;
    size_t count;
    size_t next;
    const char *path;
} pq_walk;

static void pq_nodes_free(pq_node *nodes, size_t count)
{
    for (size_t i = 0; nodes && i < count; i++) {
        free(nodes[i].name);
        free(nodes[i].physical);
        free(nodes[i].repetition);
        free(nodes[i].converted);
        free(nodes[i].logical);
        free(nodes[i].duck_type);
    }
    free(nodes);
}

static int pq_node_read(duckdb_result *res, idx_t row, pq_node *n)
{
    char *length = NULL;
    int rc = cell_text(res, 0, row, &n->name);
    if (rc == 0)
        rc = cell_text(res, 1, row, &n->physical);
    if (rc == 0)
        rc = cell_text(res, 2, row, &length); /* DuckDB returns type_length as VARCHAR */
    if (rc == 0)
        rc = cell_text(res, 3, row, &n->repetition);
    if (rc == 0)
        rc = cell_text(res, 5, row, &n->converted);
    if (rc == 0)
        rc = cell_text(res, 8, row, &n->logical);
    if (rc == 0)
        rc = cell_text(res, 9, row, &n->duck_type);
    n->type_length = length ? (int32_t)strtol(length, NULL, 10) : 0;
    n->children = cell_int(res, 4, row, -1);
    n->scale = cell_int(res, 6, row, 0);
    n->precision = cell_int(res, 7, row, 0);
    free(length);
    if (rc == 0 && !n->name)
        rc = tst_fail(TST_ECORRUPT, "a Parquet schema element has no name");
    return rc;
}

static int pq_nodes_load(duckdb_connection con, const char *path, pq_node **out, size_t *count)
{
    char *sql = NULL;
    size_t len = 0, cap = 0;
    duckdb_result res;
    int rc = tst_duck_appendf(&sql, &len, &cap,
                              "SELECT name, type, type_length, repetition_type, num_children, "
                              "converted_type, scale, precision, logical_type, duckdb_type "
                              "FROM parquet_schema(");
    if (rc == 0)
        rc = tst_duck_append_literal(&sql, &len, &cap, path);
    if (rc == 0)
        rc = tst_duck_appendf(&sql, &len, &cap, ")");
    if (rc == 0)
        rc = query_as(con, sql, &res, TST_EINVAL, "reading the schema of a Parquet source", path);
    free(sql);
    if (rc != 0)
        return rc;
    idx_t rows = duckdb_row_count(&res);
    *count = 0;
    *out = calloc(rows ? rows : 1, sizeof **out);
    if (!*out)
        rc = nomem();
    for (idx_t r = 0; rc == 0 && r < rows; r++) {
        *count = r + 1;
        rc = pq_node_read(&res, r, &(*out)[r]);
    }
    duckdb_destroy_result(&res);
    return rc;
}

static int pq_malformed(const pq_walk *w, const char *what)
{
    tst_fail(TST_ECORRUPT, "Parquet schema of %s is malformed: %s", w->path, what);
    tst_fail_set_path(w->path);
    return TST_ECORRUPT;
}

/* The next node, or NULL past the end. */
static const pq_node *pq_take(pq_walk *w)
{
    return w->next < w->count ? &w->nodes[w->next++] : NULL;
}

/* Skips `count` sibling subtrees. */
static int pq_skip(pq_walk *w, int64_t count)
{
    uint64_t pending = count > 0 ? (uint64_t)count : 0;
    while (pending > 0) {
        const pq_node *n = pq_take(w);
        if (!n)
            return pq_malformed(w, "fewer elements than num_children announce");
        pending += (uint64_t)(n->children > 0 ? n->children : 0) - 1;
    }
    return 0;
}

static int pq_field(pq_walk *w, int depth, tst_field *out, tst_wire_kind *wire);

static int leaf(tst_type *out, tst_wire_kind *wire, tst_type_kind kind)
{
    memset(out, 0, sizeof *out);
    out->kind = kind;
    *wire = TST_WIRE_EXACT;
    return 0;
}

static int other(tst_type *out, tst_wire_kind *wire, tst_wire_kind kind, const char *name)
{
    return tst_source_type_other(out, wire, kind, name);
}

/*
 * A Parquet timestamp without an embedded Arrow schema. The reference maps
 * every one to "no timezone" (format §1.7); we give UTC-adjusted ones the
 * timezone "UTC", as arrow-rs and DuckDB read them, so that the same data
 * adopts the same type whether it arrives as CSV (DuckDB infers TIMESTAMPTZ)
 * or as a Parquet file DuckDB wrote. Files with an ARROW:schema, which
 * every arrow-rs and pyarrow writer embeds, are not affected.
 */
static int pq_timestamp(const pq_node *n, tst_type *out, tst_wire_kind *wire,
                        tst_time_precision unit)
{
    leaf(out, wire, TST_TYPE_TIMESTAMP);
    out->unit = unit;
    if (n && n->logical && strstr(n->logical, "isAdjustedToUTC=1")) {
        out->timezone = strdup("UTC");
        if (!out->timezone)
            return nomem();
    }
    return 0;
}

static int pq_decimal(const pq_node *n, tst_type *out, tst_wire_kind *wire)
{
    leaf(out, wire, TST_TYPE_DECIMAL);
    out->precision = n->precision > 0 && n->precision <= 76 ? (uint32_t)n->precision : 0;
    out->scale = (int32_t)(n->scale >= 0 && n->scale <= n->precision ? n->scale : -1);
    if (tst_source_type_exact(out))
        return 0;
    char name[96];
    snprintf(name, sizeof name, "decimal(precision=%lld, scale=%lld)", (long long)n->precision,
             (long long)n->scale);
    return other(out, wire, TST_WIRE_OTHER, name);
}

/* Integer annotations, by DuckDB's reading of them (see the file comment). */
static int pq_integer(const char *duck, tst_type *out, tst_wire_kind *wire, bool *matched)
{
    static const struct {
        const char *duck;
        tst_type_kind kind;
        tst_wire_kind wire;
        const char *name;
    } ints[] = {
        {"INTEGER", TST_TYPE_INT32, TST_WIRE_EXACT, NULL},
        {"BIGINT", TST_TYPE_INT64, TST_WIRE_EXACT, NULL},
        {"UBIGINT", TST_TYPE_UINT64, TST_WIRE_EXACT, NULL},
        {"TINYINT", TST_TYPE_OTHER, TST_WIRE_INT8, "int8"},
        {"SMALLINT", TST_TYPE_OTHER, TST_WIRE_INT16, "int16"},
        {"UTINYINT", TST_TYPE_OTHER, TST_WIRE_UINT8, "uint8"},
        {"USMALLINT", TST_TYPE_OTHER, TST_WIRE_UINT16, "uint16"},
        {"UINTEGER", TST_TYPE_OTHER, TST_WIRE_UINT32, "uint32"},
    };
    *matched = false;
    for (size_t i = 0; duck && i < sizeof ints / sizeof ints[0]; i++) {
        if (strcmp(duck, ints[i].duck) != 0)
            continue;
        *matched = true;
        if (ints[i].wire == TST_WIRE_EXACT)
            return leaf(out, wire, ints[i].kind);
        return tst_source_type_converted(out, wire, ints[i].wire, ints[i].name);
    }
    return 0;
}

/* Which annotation a primitive carries, from logical_type or converted_type. */
typedef enum pq_annotation {
    PA_NONE, PA_STRING, PA_TS_MILLIS, PA_TS_MICROS, PA_TS_NANOS, PA_DECIMAL, PA_INT,
    PA_DATE, PA_TIME_MILLIS, PA_TIME_MICROS, PA_TIME_NANOS, PA_INTERVAL, PA_ENUM, PA_NULL,
    PA_JSON, PA_UUID, PA_FLOAT16
} pq_annotation;

static pq_annotation pq_logical(const char *lt)
{
    if (starts_with(lt, "StringType"))
        return PA_STRING;
    if (starts_with(lt, "TimestampType") || starts_with(lt, "TimeType")) {
        bool ts = starts_with(lt, "TimestampType");
        if (strstr(lt, "MILLIS=MilliSeconds"))
            return ts ? PA_TS_MILLIS : PA_TIME_MILLIS;
        if (strstr(lt, "MICROS=MicroSeconds"))
            return ts ? PA_TS_MICROS : PA_TIME_MICROS;
        if (strstr(lt, "NANOS=NanoSeconds"))
            return ts ? PA_TS_NANOS : PA_TIME_NANOS;
        return PA_NONE;
    }
    if (starts_with(lt, "DecimalType"))
        return PA_DECIMAL;
    if (starts_with(lt, "IntType"))
        return PA_INT;
    if (starts_with(lt, "DateType"))
        return PA_DATE;
    if (starts_with(lt, "EnumType"))
        return PA_ENUM;
    if (starts_with(lt, "NullType"))
        return PA_NULL;
    if (starts_with(lt, "JsonType"))
        return PA_JSON;
    if (starts_with(lt, "UUIDType"))
        return PA_UUID;
    if (starts_with(lt, "Float16Type"))
        return PA_FLOAT16;
    return PA_NONE; /* BSON, ...: the physical type decides */
}

static pq_annotation pq_converted(const char *ct)
{
    static const struct {
        const char *name;
        pq_annotation a;
    } names[] = {
        {"UTF8", PA_STRING},          {"TIMESTAMP_MILLIS", PA_TS_MILLIS},
        {"TIMESTAMP_MICROS", PA_TS_MICROS}, {"DECIMAL", PA_DECIMAL},
        {"DATE", PA_DATE},            {"TIME_MILLIS", PA_TIME_MILLIS},
        {"TIME_MICROS", PA_TIME_MICROS}, {"INTERVAL", PA_INTERVAL},
        {"ENUM", PA_ENUM},            {"JSON", PA_JSON},
    };
    for (size_t i = 0; ct && i < sizeof names / sizeof names[0]; i++)
        if (strcmp(ct, names[i].name) == 0)
            return names[i].a;
    return starts_with(ct, "INT_") || starts_with(ct, "UINT_") ? PA_INT : PA_NONE;
}

/* Unannotated physical types (format §1.7 "physical fallbacks"). */
static int pq_physical(const pq_node *n, tst_type *out, tst_wire_kind *wire)
{
    const char *p = n->physical;
    if (equals(p, "BOOLEAN"))
        return leaf(out, wire, TST_TYPE_BOOL);
    if (equals(p, "INT32"))
        return leaf(out, wire, TST_TYPE_INT32);
    if (equals(p, "INT64"))
        return leaf(out, wire, TST_TYPE_INT64);
    if (equals(p, "FLOAT"))
        return leaf(out, wire, TST_TYPE_FLOAT32);
    if (equals(p, "DOUBLE"))
        return leaf(out, wire, TST_TYPE_FLOAT64);
    if (equals(p, "BYTE_ARRAY"))
        return leaf(out, wire, TST_TYPE_BINARY);
    if (equals(p, "FIXED_LEN_BYTE_ARRAY") && n->type_length > 0) {
        leaf(out, wire, TST_TYPE_FIXED_BINARY);
        out->byte_width = n->type_length;
        return 0;
    }
    if (equals(p, "INT96")) /* Spark's UTC instants; DuckDB reads them to microseconds */
        return tst_source_type_converted(out, wire, TST_WIRE_INT96, "int96");
    char name[64];
    snprintf(name, sizeof name, "parquet::%s", p ? p : "unknown");
    return other(out, wire, TST_WIRE_OTHER, name);
}

static int pq_primitive(const pq_node *n, tst_type *out, tst_wire_kind *wire)
{
    pq_annotation a = pq_logical(n->logical);
    if (a == PA_NONE)
        a = pq_converted(n->converted);
    bool matched = false;
    switch (a) {
    case PA_STRING: return leaf(out, wire, TST_TYPE_UTF8);
    case PA_TS_MILLIS: return pq_timestamp(n, out, wire, TST_PRECISION_MILLIS);
    case PA_TS_MICROS: return pq_timestamp(n, out, wire, TST_PRECISION_MICROS);
    case PA_TS_NANOS: return pq_timestamp(n, out, wire, TST_PRECISION_NANOS);
    case PA_DECIMAL: return pq_decimal(n, out, wire);
    case PA_DATE: return tst_source_type_converted(out, wire, TST_WIRE_DATE, "date32");
    case PA_FLOAT16: return tst_source_type_converted(out, wire, TST_WIRE_FLOAT16, "float16");
    case PA_UUID: return other(out, wire, TST_WIRE_OTHER, "uuid");
    case PA_JSON:
    case PA_ENUM: /* text: JSON documents, enum labels */
        if (!equals(n->physical, "BYTE_ARRAY"))
            break;
        leaf(out, wire, TST_TYPE_UTF8);
        return tst_source_type_mark(out, wire, TST_WIRE_ENCODED, a == PA_JSON ? "json" : "enum");
    case PA_TIME_MILLIS: return other(out, wire, TST_WIRE_OTHER, "time32[ms]");
    case PA_TIME_MICROS: return other(out, wire, TST_WIRE_OTHER, "time64[us]");
    case PA_TIME_NANOS: return other(out, wire, TST_WIRE_OTHER, "time64[ns]");
    case PA_INTERVAL: return other(out, wire, TST_WIRE_OTHER, "interval");
    case PA_NULL: return other(out, wire, TST_WIRE_OTHER, "null");
    case PA_INT: {
        int rc = pq_integer(n->duck_type, out, wire, &matched);
        if (rc != 0 || matched)
            return rc;
        break;
    }
    default: break;
    }
    return pq_physical(n, out, wire);
}

/* The element of a LIST group (format LogicalTypes.md, backward-compatibility
 * rules): a repeated primitive, a repeated group of several fields, or one
 * named "array" / "<list>_tuple" is the element itself (2-level, never null);
 * otherwise the repeated group wraps the element (3-level). */
static int pq_list(pq_walk *w, const pq_node *group, int depth, tst_type *out)
{
    out->kind = TST_TYPE_LIST;
    if (group->children != 1 || w->next >= w->count ||
        !equals(w->nodes[w->next].repetition, "REPEATED"))
        return pq_skip(w, group->children) == 0 ? 1 : TST_ECORRUPT; /* 1: not a list */
    const pq_node *rep = &w->nodes[w->next];
    char tuple[512];
    snprintf(tuple, sizeof tuple, "%s_tuple", group->name);
    bool two_level = rep->children != 1 || equals(rep->name, "array") || equals(rep->name, tuple);
    if (!two_level)
        w->next++; /* the repeated group: its single child is the element */
    out->element = calloc(1, sizeof *out->element);
    if (!out->element)
        return nomem();
    tst_wire_kind ignored;
    int rc = pq_field(w, depth + 1, out->element, &ignored);
    if (rc == 0 && two_level) {
        /* pq_field read the repeated node as List<it>: the element is "it". */
        tst_field inner = *out->element->type.element;
        free(out->element->type.element);
        out->element->type.element = NULL;
        tst_source_field_clear(out->element);
        *out->element = inner;
    }
    return rc;
}

/* MAP: one repeated group of a REQUIRED key and an optional value. */
static int pq_map(pq_walk *w, const pq_node *group, int depth, tst_type *out)
{
    out->kind = TST_TYPE_MAP;
    out->keys_sorted = false;
    const pq_node *kv = w->next < w->count ? &w->nodes[w->next] : NULL;
    if (group->children != 1 || !kv || !equals(kv->repetition, "REPEATED") ||
        kv->children < 1 || kv->children > 2)
        return pq_skip(w, group->children) == 0 ? 1 : TST_ECORRUPT; /* 1: not a map */
    w->next++;
    tst_wire_kind ignored;
    out->key = calloc(1, sizeof *out->key);
    if (!out->key)
        return nomem();
    int rc = pq_field(w, depth + 2, out->key, &ignored);
    if (rc != 0 || kv->children == 1)
        return rc; /* a keys-only map has no value */
    out->value = calloc(1, sizeof *out->value);
    return out->value ? pq_field(w, depth + 2, out->value, &ignored) : nomem();
}

static int pq_struct(pq_walk *w, const pq_node *group, int depth, tst_type *out)
{
    out->kind = TST_TYPE_STRUCT;
    if (group->children <= 0)
        return 0;
    out->fields = calloc((size_t)group->children, sizeof *out->fields);
    if (!out->fields)
        return nomem();
    for (int64_t i = 0; i < group->children; i++) {
        tst_wire_kind ignored;
        out->field_count = (size_t)i + 1;
        int rc = pq_field(w, depth + 1, &out->fields[i], &ignored);
        if (rc != 0)
            return rc;
    }
    return 0;
}

static bool pq_is(const pq_node *n, const char *converted, const char *logical)
{
    return equals(n->converted, converted) || starts_with(n->logical, logical);
}

static int pq_group(pq_walk *w, const pq_node *n, int depth, tst_type *out, tst_wire_kind *wire)
{
    memset(out, 0, sizeof *out);
    if (depth > PARQUET_MAX_DEPTH)
        return pq_malformed(w, "groups nest too deeply");
    if (n->children > (int64_t)(w->count - w->next))
        return pq_malformed(w, "fewer elements than num_children announce");
    int rc;
    const char *invalid = NULL;
    if (pq_is(n, "LIST", "ListType")) {
        rc = pq_list(w, n, depth, out);
        invalid = "invalid parquet list";
    } else if (pq_is(n, "MAP", "MapType") || equals(n->converted, "MAP_KEY_VALUE")) {
        rc = pq_map(w, n, depth, out);
        invalid = "invalid parquet map";
    } else {
        rc = pq_struct(w, n, depth, out);
    }
    if (rc == 1) { /* a LIST or MAP of a shape no reader accepts: keep its name only */
        tst_source_type_clear(out);
        return other(out, wire, TST_WIRE_OTHER, invalid);
    }
    *wire = rc == 0 && tst_source_type_exact(out) ? TST_WIRE_EXACT : TST_WIRE_OTHER;
    return rc;
}

/* An unannotated REPEATED field is a list of non-null elements of itself. */
static int pq_wrap_repeated(tst_field *field, tst_wire_kind *wire)
{
    tst_field *element = malloc(sizeof *element);
    if (!element)
        return nomem();
    *element = *field;
    element->nullable = false;
    element->name = strdup(field->name);
    memset(&field->type, 0, sizeof field->type);
    field->type.kind = TST_TYPE_LIST;
    field->type.element = element;
    field->nullable = false;
    if (!element->name)
        return nomem();
    *wire = tst_source_type_exact(&field->type) ? TST_WIRE_EXACT : TST_WIRE_OTHER;
    return 0;
}

/* On failure `out` may be partly filled; the caller clears it. */
static int pq_field(pq_walk *w, int depth, tst_field *out, tst_wire_kind *wire)
{
    memset(out, 0, sizeof *out);
    const pq_node *n = pq_take(w);
    if (!n)
        return pq_malformed(w, "fewer elements than num_children announce");
    if (!(out->name = strdup(n->name)))
        return nomem();
    out->nullable = equals(n->repetition, "OPTIONAL");
    int rc = n->physical ? pq_primitive(n, &out->type, wire)
                         : pq_group(w, n, depth, &out->type, wire);
    if (rc == 0 && equals(n->repetition, "REPEATED"))
        rc = pq_wrap_repeated(out, wire);
    return rc;
}

/* Top-level columns: the children of the root element. */
static int pq_columns(pq_walk *w, tst_source_column **out, size_t *out_count)
{
    const pq_node *root = pq_take(w);
    if (!root || root->children < 0 || root->children > (int64_t)(w->count - 1))
        return pq_malformed(w, "no root element");
    size_t n = (size_t)root->children;
    tst_source_column *cols = calloc(n ? n : 1, sizeof *cols);
    if (!cols)
        return nomem();
    int rc = 0;
    size_t done = 0;
    for (; rc == 0 && done < n; done++) {
        tst_field field;
        tst_wire_kind wire = TST_WIRE_OTHER;
        rc = pq_field(w, 0, &field, &wire);
        if (rc != 0)
            tst_source_field_clear(&field);
        else
            rc = tst_source_column_take(&cols[done], &field, wire);
    }
    if (rc == 0 && w->next != w->count)
        rc = pq_malformed(w, "elements left over after the last column");
    if (rc != 0) {
        tst_source_columns_free(cols, done);
        return rc;
    }
    *out = cols;
    *out_count = n;
    return 0;
}

/* ---- Parquet footer ---------------------------------------------------- */

static int footer_query(duckdb_connection con, const char *select, const char *fn,
                        const char *path, const char *tail, duckdb_result *res, const char *what)
{
    char *sql = NULL;
    size_t len = 0, cap = 0;
    int rc = tst_duck_appendf(&sql, &len, &cap, "SELECT %s FROM %s(", select, fn);
    if (rc == 0)
        rc = tst_duck_append_literal(&sql, &len, &cap, path);
    if (rc == 0)
        rc = tst_duck_appendf(&sql, &len, &cap, ")%s", tail);
    if (rc == 0)
        rc = query_as(con, sql, res, TST_EINVAL, what, path);
    free(sql);
    return rc;
}

static int read_row_count(duckdb_connection con, const char *path, uint64_t *out)
{
    duckdb_result res;
    char what[4096];
    snprintf(what, sizeof what, "Parquet source %s is not a readable Parquet file", path);
    int rc = footer_query(con, "num_rows", "parquet_file_metadata", path, "", &res, what);
    if (rc != 0)
        return rc;
    int64_t rows = duckdb_row_count(&res) == 1 ? cell_int(&res, 0, 0, -1) : -1;
    duckdb_destroy_result(&res);
    if (rows < 0) {
        tst_fail(TST_ECORRUPT, "Parquet footer of %s has no valid row count", path);
        tst_fail_set_path(path);
        return TST_ECORRUPT;
    }
    *out = (uint64_t)rows;
    return 0;
}

/* The columns of the embedded Arrow schema, or none (*count 0, *cols NULL)
 * when the footer has none or it does not decode. */
static int read_arrow_columns(duckdb_connection con, const char *path, tst_source_column **cols,
                              size_t *count, bool *present, tst_metadata *schema_md)
{
    duckdb_result res;
    *cols = NULL;
    *count = 0;
    *present = false;
    int rc = footer_query(con, "value", "parquet_kv_metadata", path,
                          " WHERE key = 'ARROW:schema'::BLOB", &res,
                          "reading the footer metadata of a Parquet source");
    if (rc != 0)
        return rc;
    if (duckdb_row_count(&res) >= 1 && !duckdb_value_is_null(&res, 0, 0)) {
        *present = true;
        duckdb_blob blob = duckdb_value_blob(&res, 0, 0);
        rc = tst_arrow_schema_decode(blob.data, blob.size, cols, count, schema_md);
        if (rc == TST_EINVAL)
            tst_fail_context(rc, "Parquet source %s, ARROW:schema", path);
        duckdb_free(blob.data);
        if (rc == TST_ECORRUPT) /* a broken hint: the Parquet types still describe the file */
            rc = 0;
    }
    duckdb_destroy_result(&res);
    return rc;
}

/* An embedded schema is used only if it names the file's own columns. */
static bool same_names(const tst_source_column *a, size_t na, const tst_source_column *b,
                       size_t nb)
{
    if (na != nb)
        return false;
    for (size_t i = 0; i < na; i++)
        if (strcmp(a[i].name, b[i].name) != 0)
            return false;
    return true;
}

static bool has_timezone(const tst_type *t)
{
    if (t->kind == TST_TYPE_TIMESTAMP && t->timezone)
        return true;
    for (size_t i = 0; i < t->field_count; i++)
        if (has_timezone(&t->fields[i].type))
            return true;
    return (t->element && has_timezone(&t->element->type)) ||
           (t->key && has_timezone(&t->key->type)) ||
           (t->value && has_timezone(&t->value->type));
}

static void swap_columns(tst_source_column *a, tst_source_column *b)
{
    tst_source_column t = *a;
    *a = *b;
    *b = t;
}

/*
 * Which description wins, column by column, and what a footer reader (the
 * reference) derives from each (footer_exact). With an ARROW:schema that
 * names the file's columns, its types win: they are what the writer meant
 * and what the reference reads; except a Parquet UUID, whose Arrow
 * extension type (fixed_size_binary[16]) would hide it. Without one, the
 * reference reads every timestamp as zone-less, so a zoned column is not
 * what it would derive. With one we cannot use, we cannot tell: re-encode.
 * An INT96 column is never copied, whatever its Arrow type says.
 */
static void choose_columns(tst_source *src, tst_source_column *arrow, size_t arrow_count,
                           bool arrow_present)
{
    bool usable = arrow && same_names(arrow, arrow_count, src->columns, src->column_count);
    for (size_t i = 0; i < src->column_count; i++) {
        tst_source_column *c = &src->columns[i];
        bool uuid = c->wire == TST_WIRE_OTHER && strcmp(c->type_text, "uuid") == 0;
        bool int96 = c->wire == TST_WIRE_INT96;
        if (usable && !uuid) {
            swap_columns(c, &arrow[i]);
            /* DuckDB reads INT96 as a zone-less TIMESTAMP: a copy would be read
             * in the session's zone, so it is re-encoded as marked instants */
            c->footer_exact &= !int96;
        } else if (!arrow_present) {
            c->footer_exact = c->wire == TST_WIRE_EXACT && !has_timezone(&c->type);
        } else {
            c->footer_exact = false;
        }
        c->zoned_nanos = !int96 && c->type.kind == TST_TYPE_TIMESTAMP && c->type.timezone &&
                         c->type.unit == TST_PRECISION_NANOS;
    }
}

static int read_parquet_columns(duckdb_connection con, const char *path, tst_source *src)
{
    pq_node *nodes = NULL;
    size_t count = 0;
    tst_source_column *arrow = NULL;
    size_t arrow_count = 0;
    bool arrow_present = false;
    tst_metadata schema_md = {NULL, 0};
    int rc = pq_nodes_load(con, path, &nodes, &count);
    if (rc == 0) {
        pq_walk w = {nodes, count, 0, path};
        rc = pq_columns(&w, &src->columns, &src->column_count);
    }
    pq_nodes_free(nodes, count);
    if (rc == 0)
        rc = read_arrow_columns(con, path, &arrow, &arrow_count, &arrow_present, &schema_md);
    if (rc == 0 && arrow && same_names(arrow, arrow_count, src->columns, src->column_count)) {
        src->metadata = schema_md; /* the annotations of an embedded schema we use */
        schema_md = (tst_metadata){NULL, 0};
        tst_metadata_remove(&src->metadata, TST_PANDAS_METADATA_KEY); /* see model.h */
    }
    tst_metadata_clear(&schema_md);
    if (rc == 0)
        choose_columns(src, arrow, arrow_count, arrow_present);
    tst_source_columns_free(arrow, arrow_count);
    return rc;
}

int tst_source_literal_path(const char *path, char **out)
{
    /* DuckDB globs '*', '?' and '[...]'; a one-character class matches it literally. */
    size_t n = 0;
    for (const char *p = path; *p; p++)
        n += strchr("*?[", *p) ? 3 : 1;
    char *s = malloc(n + 1);
    if (!(*out = s))
        return nomem();
    for (const char *p = path; *p; p++) {
        if (strchr("*?[", *p)) {
            *s++ = '[';
            *s++ = *p;
            *s++ = ']';
        } else {
            *s++ = *p;
        }
    }
    *s = '\0';
    return 0;
}

/* Copies the file at from into the open file out (closed here). */
static int copy_into(const char *from, int out, const char *to)
{
    int in = open(from, O_RDONLY | O_CLOEXEC), err = 0;
    if (in < 0)
        err = errno;
    char buf[1 << 16];
    for (ssize_t n; err == 0 && (n = read(in, buf, sizeof buf)) != 0;) {
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0 || write(out, buf, (size_t)n) != n)
            err = errno ? errno : EIO;
    }
    if (in >= 0)
        close(in);
    if (close(out) != 0 && err == 0)
        err = errno;
    return err ? tst_fail_errno(TST_EIO, err, "cannot copy %s to %s", from, to) : 0;
}

/*
 * DuckDB 1.4 reads a zoned nanosecond column (isAdjustedToUTC=true) only to
 * microseconds. A source with such columns is read from a private copy
 * whose footer calls them zone-less: DuckDB then reads every nanosecond of
 * the same UTC instants (the writer and measurer read zone-less values as
 * UTC). The copy lives in TMPDIR until tst_source_clear.
 */
static int read_nanos_exactly(tst_source *src)
{
    const char **names = calloc(src->column_count ? src->column_count : 1, sizeof *names);
    if (!names)
        return nomem();
    size_t n = 0;
    for (size_t i = 0; i < src->column_count; i++)
        if (src->columns[i].zoned_nanos)
            names[n++] = src->columns[i].name;
    int rc = 0;
    if (n > 0) {
        const char *dir = getenv("TMPDIR");
        if (asprintf(&src->scratch_path, "%s/tstable-nanos-XXXXXX.parquet",
                     dir && *dir ? dir : "/tmp") < 0) {
            src->scratch_path = NULL;
            rc = nomem();
        }
        int fd = rc == 0 ? mkostemps(src->scratch_path, 8, O_CLOEXEC) : -1;
        if (rc == 0 && fd < 0) {
            rc = tst_fail_errno(TST_EIO, errno, "cannot create a scratch copy of %s in %s "
                                "(its zoned nanoseconds are read from one; set TMPDIR to a "
                                "writable folder)", src->path, dir && *dir ? dir : "/tmp");
            free(src->scratch_path); /* nothing to remove */
            src->scratch_path = NULL;
        }
        if (rc == 0)
            rc = copy_into(src->path, fd, src->scratch_path);
        if (rc == 0)
            rc = tst_parquet_footer_unmark_utc(src->scratch_path, names, n);
        if (rc == 0) {
            free(src->relation_sql);
            src->relation_sql = NULL;
            rc = set_relation(src, "read_parquet", src->scratch_path, NULL);
        }
    }
    free(names);
    return rc;
}

int tst_source_parquet(tst_source *out, const char *path)
{
    memset(out, 0, sizeof *out);
    int rc = check_file(path, "Parquet");
    if (rc != 0)
        return rc;
    duckdb_connection con = NULL;
    char *literal = NULL; /* the file itself, even when its name looks like a glob */
    rc = tst_source_literal_path(path, &literal);
    if (rc == 0)
        rc = tst_duck_connect(&con);
    if (rc == 0)
        rc = read_row_count(con, literal, &out->row_count);
    if (rc == 0)
        rc = read_parquet_columns(con, literal, out);
    tst_duck_disconnect(&con);
    out->is_parquet = true;
    if (rc == 0 && !(out->path = strdup(path)))
        rc = nomem();
    if (rc == 0)
        rc = set_relation(out, "read_parquet", literal, NULL);
    if (rc == 0)
        rc = read_nanos_exactly(out);
    free(literal);
    if (rc != 0)
        tst_source_clear(out);
    return rc;
}

/* ---- CSV (the rest is in source_csv.c) ------------------------------------ */

/* DuckDB type names that are table logical types or narrow integers. */
int tst_source_duck_type(const char *t, tst_type *out, tst_wire_kind *wire)
{
    static const struct {
        const char *duck;
        tst_type_kind kind;
        tst_time_precision unit;
    } exact[] = {
        {"BOOLEAN", TST_TYPE_BOOL, 0},   {"INTEGER", TST_TYPE_INT32, 0},
        {"BIGINT", TST_TYPE_INT64, 0},   {"UBIGINT", TST_TYPE_UINT64, 0},
        {"FLOAT", TST_TYPE_FLOAT32, 0},  {"DOUBLE", TST_TYPE_FLOAT64, 0},
        {"VARCHAR", TST_TYPE_UTF8, 0},   {"BLOB", TST_TYPE_BINARY, 0},
        {"TIMESTAMP", TST_TYPE_TIMESTAMP, TST_PRECISION_MICROS},
        {"TIMESTAMP_MS", TST_TYPE_TIMESTAMP, TST_PRECISION_MILLIS},
        {"TIMESTAMP_NS", TST_TYPE_TIMESTAMP, TST_PRECISION_NANOS},
    };
    for (size_t i = 0; i < sizeof exact / sizeof exact[0]; i++) {
        if (strcmp(t, exact[i].duck) != 0)
            continue;
        leaf(out, wire, exact[i].kind);
        out->unit = exact[i].unit;
        return 0;
    }
    if (strcmp(t, "TIMESTAMP WITH TIME ZONE") == 0) {
        pq_timestamp(NULL, out, wire, TST_PRECISION_MICROS);
        out->timezone = strdup("UTC"); /* DuckDB stores TIMESTAMPTZ as UTC instants */
        return out->timezone ? 0 : nomem();
    }
    if (strcmp(t, "DATE") == 0) /* adopted as timestamp[us] (source.h) */
        return tst_source_type_converted(out, wire, TST_WIRE_DATE, "date32");
    unsigned p, s;
    char end;
    if (sscanf(t, "DECIMAL(%u,%u%c", &p, &s, &end) == 3 && end == ')') {
        pq_node n = {.precision = p, .scale = s};
        return pq_decimal(&n, out, wire);
    }
    bool matched;
    int rc = pq_integer(t, out, wire, &matched);
    return rc != 0 || matched ? rc : other(out, wire, TST_WIRE_OTHER, t);
}

/* ---- the logical schema ---------------------------------------------------- */

static int check_source_columns(const tst_source *src)
{
    for (size_t i = 0; i < src->column_count; i++) {
        const tst_source_column *c = &src->columns[i];
        if (c->wire == TST_WIRE_OTHER) {
            char way_out[512];
            tst_source_way_out(c, way_out, sizeof way_out);
            return tst_fail(TST_ESCHEMA,
                            "column '%s' has type %s, which no table column can hold; %s",
                            c->name, c->type_text, way_out);
        }
        for (size_t j = 0; j < i; j++)
            if (strcmp(src->columns[j].name, c->name) == 0)
                return tst_fail(TST_ESCHEMA, "source %s has two columns named '%s'",
                                src->path ? src->path : "", c->name);
    }
    return 0;
}

int tst_source_logical_schema(const tst_source *src, tst_schema **out)
{
    *out = NULL;
    int rc = check_source_columns(src);
    if (rc != 0)
        return rc;
    /* A schema borrowing the columns' names and types, deep-copied. */
    tst_schema view = {calloc(src->column_count ? src->column_count : 1, sizeof(tst_field)),
                       src->column_count, src->metadata};
    if (!view.columns)
        return nomem();
    for (size_t i = 0; i < src->column_count; i++)
        view.columns[i] = (tst_field){src->columns[i].name, src->columns[i].type,
                                      src->columns[i].nullable, src->columns[i].metadata};
    rc = tst_schema_copy(out, &view);
    free(view.columns);
    return rc;
}

void tst_source_clear(tst_source *src)
{
    if (!src)
        return;
    free(src->relation_sql);
    free(src->path);
    if (src->scratch_path)
        unlink(src->scratch_path);
    free(src->scratch_path);
    tst_source_columns_free(src->columns, src->column_count);
    tst_metadata_clear(&src->metadata);
    memset(src, 0, sizeof *src);
}
