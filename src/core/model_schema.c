/*
 * model_schema.c — the logical schema of a table: JSON in and out, deep
 * copies, lookup, and display names of types (format-v6 §1.7).
 *
 * A schema is a tree: Struct, List and Map types hold fields, which hold
 * types. Each operation is therefore a pair of small mutually recursive
 * functions, one for fields and one for types. Recursion depth is bounded
 * by the JSON nesting limit of the parser (TST_JSON_MAX_DEPTH), so the
 * stack cannot be exhausted by a hostile log.
 *
 * The JSON is externally tagged like the reference's serde output: plain
 * types are strings ("Utf8"), parameterised ones single-member objects
 * ({"Decimal":{"precision":10,"scale":2}}). Rules the reference enforces
 * when it converts a schema to Arrow (decimal bounds, fixed width > 0,
 * non-blank unique struct field names, non-null map keys) are enforced
 * here at parse time, so a schema in memory is always one we can use.
 */
#include "model.h"

#include "fail.h"
#include "json_util.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define DECIMAL_MAX_PRECISION 76

static int field_from_json(tst_field *out, json_object *obj, const char *where);
static json_object *field_to_json(const tst_field *field);
static void field_clear(tst_field *field);
static int field_copy(tst_field *dst, const tst_field *src);
static void type_clear(tst_type *type);

/* ---- names ------------------------------------------------------------- */

typedef struct type_name {
    tst_type_kind kind;
    const char *json;    /* the plain-string JSON form */
    const char *display; /* tst_type_format */
} type_name;

static const type_name PLAIN_TYPES[] = {
    {TST_TYPE_BOOL, "Bool", "bool"},          {TST_TYPE_INT32, "Int32", "int32"},
    {TST_TYPE_INT64, "Int64", "int64"},       {TST_TYPE_UINT64, "UInt64", "uint64"},
    {TST_TYPE_FLOAT32, "Float32", "float32"}, {TST_TYPE_FLOAT64, "Float64", "float64"},
    {TST_TYPE_BINARY, "Binary", "binary"},    {TST_TYPE_UTF8, "Utf8", "utf8"},
    {TST_TYPE_INT96, "Int96", "int96"},
};
#define PLAIN_TYPE_COUNT (sizeof PLAIN_TYPES / sizeof PLAIN_TYPES[0])

static const type_name *plain_type(tst_type_kind kind)
{
    for (size_t i = 0; i < PLAIN_TYPE_COUNT; i++)
        if (PLAIN_TYPES[i].kind == kind)
            return &PLAIN_TYPES[i];
    return NULL;
}

static const char *const UNIT_JSON[] = {NULL, "Millis", "Micros", "Nanos"};
static const char *const UNIT_SHORT[] = {NULL, "ms", "us", "ns"};

static bool unit_valid(tst_time_precision unit)
{
    return unit >= TST_PRECISION_MILLIS && unit <= TST_PRECISION_NANOS;
}

static bool is_blank(const char *s)
{
    for (; *s; s++)
        if (*s != ' ' && *s != '\t' && *s != '\n' && *s != '\r')
            return false;
    return true;
}

/* ---- annotations ------------------------------------------------------- */

static int kv_compare(const void *a, const void *b)
{
    return strcmp(((const tst_kv *)a)->key, ((const tst_kv *)b)->key);
}

void tst_metadata_clear(tst_metadata *md)
{
    for (size_t i = 0; md && i < md->count; i++) {
        free(md->items[i].key);
        free(md->items[i].value);
    }
    if (md) {
        free(md->items);
        md->items = NULL;
        md->count = 0;
    }
}

const char *tst_metadata_get(const tst_metadata *md, const char *key)
{
    for (size_t i = 0; md && key && i < md->count; i++)
        if (strcmp(md->items[i].key, key) == 0)
            return md->items[i].value;
    return NULL;
}

bool tst_metadata_equal(const tst_metadata *a, const tst_metadata *b)
{
    if (a->count != b->count)
        return false;
    for (size_t i = 0; i < a->count; i++)
        if (strcmp(a->items[i].key, b->items[i].key) != 0 ||
            strcmp(a->items[i].value, b->items[i].value) != 0)
            return false;
    return true;
}

/* UTF-8 as RFC 3629 allows it: no overlong forms, surrogates or values past U+10FFFF. */
static bool utf8_valid(const unsigned char *s, size_t len)
{
    for (size_t i = 0; i < len;) {
        unsigned char c = s[i];
        size_t n;
        uint32_t cp, min;
        if (c < 0x80) {
            i++;
            continue;
        } else if ((c & 0xE0) == 0xC0) {
            n = 1, cp = c & 0x1F, min = 0x80;
        } else if ((c & 0xF0) == 0xE0) {
            n = 2, cp = c & 0x0F, min = 0x800;
        } else if ((c & 0xF8) == 0xF0) {
            n = 3, cp = c & 0x07, min = 0x10000;
        } else {
            return false;
        }
        if (len - i <= n)
            return false;
        for (size_t k = 1; k <= n; k++) {
            if ((s[i + k] & 0xC0) != 0x80)
                return false;
            cp = (cp << 6) | (s[i + k] & 0x3F);
        }
        if (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF))
            return false;
        i += n + 1;
    }
    return true;
}

static char *dup_bytes(const char *s, size_t len)
{
    char *out = malloc(len + 1);
    if (out) {
        memcpy(out, s, len);
        out[len] = '\0';
    }
    return out;
}

int tst_metadata_add(tst_metadata *md, const char *key, size_t key_len, const char *value,
                     size_t value_len, const char *what)
{
    const char *bad = !utf8_valid((const unsigned char *)key, key_len) ? "a key that is not valid UTF-8"
                      : memchr(key, '\0', key_len) ? "a key holding a NUL character"
                      : !utf8_valid((const unsigned char *)value, value_len)
                          ? "a value that is not valid UTF-8"
                      : memchr(value, '\0', value_len) ? "a value holding a NUL character"
                                                        : NULL;
    if (bad)
        return tst_fail(TST_EINVAL, "%s has %s; annotations must be UTF-8 text (drop or re-encode "
                        "that entry)", what, bad);
    char *k = dup_bytes(key, key_len), *v = dup_bytes(value, value_len);
    if (!k || !v) {
        free(k);
        free(v);
        return tst_fail(TST_ENOMEM, "out of memory copying %s", what);
    }
    for (size_t i = 0; i < md->count; i++) {
        if (strcmp(md->items[i].key, k) == 0) {
            free(md->items[i].value);
            md->items[i].value = v;
            free(k);
            return 0;
        }
    }
    tst_kv *items = realloc(md->items, (md->count + 1) * sizeof *items);
    if (!items) {
        free(k);
        free(v);
        return tst_fail(TST_ENOMEM, "out of memory copying %s", what);
    }
    items[md->count].key = k;
    items[md->count].value = v;
    md->items = items;
    md->count++;
    qsort(md->items, md->count, sizeof *md->items, kv_compare);
    return 0;
}

void tst_metadata_remove(tst_metadata *md, const char *key)
{
    for (size_t i = 0; i < md->count; i++) {
        if (strcmp(md->items[i].key, key) != 0)
            continue;
        free(md->items[i].key);
        free(md->items[i].value);
        memmove(&md->items[i], &md->items[i + 1], (md->count - i - 1) * sizeof *md->items);
        if (--md->count == 0) {
            free(md->items);
            md->items = NULL;
        }
        return;
    }
}

int tst_metadata_copy(tst_metadata *dst, const tst_metadata *src)
{
    dst->items = NULL;
    dst->count = 0;
    if (!src || src->count == 0)
        return 0;
    dst->items = calloc(src->count, sizeof *dst->items);
    if (!dst->items)
        return tst_fail(TST_ENOMEM, "out of memory copying annotations");
    for (size_t i = 0; i < src->count; i++) {
        dst->items[i].key = strdup(src->items[i].key);
        dst->items[i].value = strdup(src->items[i].value);
        dst->count = i + 1;
        if (!dst->items[i].key || !dst->items[i].value) {
            tst_metadata_clear(dst);
            return tst_fail(TST_ENOMEM, "out of memory copying annotations");
        }
    }
    return 0;
}

int tst_metadata_from_json(tst_metadata *out, json_object *obj, const char *where,
                           const char *field)
{
    out->items = NULL;
    out->count = 0;
    if (!json_object_is_type(obj, json_type_object)) {
        char desc[80];
        return tst_fail(TST_ECORRUPT, "%s: field `%s` must be an object of strings, found %s",
                        where, field, tst_json_describe(obj, desc, sizeof desc));
    }
    size_t n = (size_t)json_object_object_length(obj);
    if (n == 0)
        return 0;
    tst_kv *items = calloc(n, sizeof *items);
    if (!items)
        return tst_fail(TST_ENOMEM, "%s: out of memory for `%s`", where, field);
    out->items = items;
    char at[TST_JSON_WHERE_MAX];
    tst_json_where(at, sizeof at, where, field);
    int rc = 0;
    json_object_object_foreach(obj, key, val)
    {
        if (out->count == n) /* the object cannot grow under us; this only bounds writes */
            break;
        tst_kv *kv = &items[out->count++];
        if (!(kv->key = strdup(key)))
            rc = tst_fail(TST_ENOMEM, "%s: out of memory for `%s`", where, field);
        else
            rc = tst_json_strdup(val, at, key, &kv->value);
        if (rc != 0)
            break;
    }
    /* json-c hands object keys over as C strings: a key holding "\u0000" (which no
     * Arrow writer we know produces) arrives cut at the NUL. Values are checked. */
    if (rc == 0)
        qsort(out->items, out->count, sizeof *out->items, kv_compare);
    if (rc != 0)
        tst_metadata_clear(out);
    return rc;
}

json_object *tst_metadata_to_json(const tst_metadata *md)
{
    json_object *obj = json_object_new_object();
    for (size_t i = 0; obj && i < md->count; i++)
        if (tst_json_add(obj, md->items[i].key, tst_json_new_string(md->items[i].value)) != 0) {
            json_object_put(obj);
            return NULL;
        }
    return obj;
}

/* Parses obj[key] when present. */
static int optional_metadata(tst_metadata *out, json_object *obj, const char *where,
                             const char *key)
{
    json_object *v = tst_json_optional(obj, key);
    return v ? tst_metadata_from_json(out, v, where, key) : 0;
}

/* Adds obj[key] = md unless md is empty (the reference's skip_serializing_if). */
static int add_metadata(json_object *obj, const char *key, const tst_metadata *md)
{
    return md->count == 0 ? 0 : tst_json_add(obj, key, tst_metadata_to_json(md));
}

/* ---- parsing: types ---------------------------------------------------- */

static int plain_type_from_json(tst_type *out, const char *name, const char *where)
{
    for (size_t i = 0; i < PLAIN_TYPE_COUNT; i++) {
        if (strcmp(name, PLAIN_TYPES[i].json) == 0) {
            out->kind = PLAIN_TYPES[i].kind;
            return 0;
        }
    }
    return tst_fail(TST_ECORRUPT, "%s: unknown data type \"%.64s\"", where, name);
}

static int fixed_binary_from_json(tst_type *out, json_object *body, const char *where)
{
    json_object *v = NULL;
    int rc = tst_json_require(body, "byte_width", where, &v);
    if (rc == 0)
        rc = tst_json_i32(v, where, "byte_width", &out->byte_width);
    if (rc == 0 && out->byte_width <= 0)
        rc = tst_fail(TST_ECORRUPT, "%s: FixedBinary byte_width must be positive, found %d", where,
                      (int)out->byte_width);
    out->kind = TST_TYPE_FIXED_BINARY;
    return rc;
}

static int timestamp_from_json(tst_type *out, json_object *body, const char *where)
{
    out->kind = TST_TYPE_TIMESTAMP;
    json_object *v = NULL;
    const char *unit = NULL;
    int rc = tst_json_require(body, "unit", where, &v);
    if (rc == 0)
        rc = tst_json_cstr(v, where, "unit", &unit);
    if (rc != 0)
        return rc;
    for (int u = TST_PRECISION_MILLIS; u <= TST_PRECISION_NANOS; u++)
        if (strcmp(unit, UNIT_JSON[u]) == 0)
            out->unit = (tst_time_precision)u;
    if (!unit_valid(out->unit))
        return tst_fail(TST_ECORRUPT,
                        "%s: unknown timestamp unit \"%.32s\", expected Millis, Micros or Nanos",
                        where, unit);
    json_object *tz = tst_json_optional(body, "timezone");
    return tz ? tst_json_strdup(tz, where, "timezone", &out->timezone) : 0;
}

static int decimal_from_json(tst_type *out, json_object *body, const char *where)
{
    out->kind = TST_TYPE_DECIMAL;
    json_object *p = NULL, *s = NULL;
    uint32_t precision = 0;
    int32_t scale = 0;
    int rc = tst_json_require(body, "precision", where, &p);
    if (rc == 0)
        rc = tst_json_u32(p, where, "precision", &precision);
    if (rc == 0)
        rc = tst_json_require(body, "scale", where, &s);
    if (rc == 0)
        rc = tst_json_i32(s, where, "scale", &scale);
    if (rc != 0)
        return rc;
    if (precision < 1 || precision > DECIMAL_MAX_PRECISION)
        return tst_fail(TST_ECORRUPT, "%s: decimal precision must be 1..=76, found %u", where,
                        (unsigned)precision);
    if (scale < 0 || (uint32_t)scale > precision)
        return tst_fail(TST_ECORRUPT, "%s: decimal scale must be 0..=%u (the precision), found %d",
                        where, (unsigned)precision, (int)scale);
    out->precision = precision;
    out->scale = scale;
    return 0;
}

static int check_struct_names(const tst_field *fields, size_t count, const char *where)
{
    for (size_t i = 0; i < count; i++) {
        if (is_blank(fields[i].name))
            return tst_fail(TST_ECORRUPT, "%s[%zu]: struct field name is blank", where, i);
        for (size_t j = 0; j < i; j++)
            if (strcmp(fields[i].name, fields[j].name) == 0)
                return tst_fail(TST_ECORRUPT, "%s: duplicate struct field \"%.100s\"", where,
                                fields[i].name);
    }
    return 0;
}

/* Parses a JSON array of fields into a new array (freed on failure). */
static int fields_from_json(tst_field **out, size_t *out_count, json_object *arr,
                            const char *where, const char *field)
{
    char at[TST_JSON_WHERE_MAX], item[TST_JSON_WHERE_MAX];
    if (!json_object_is_type(arr, json_type_array)) {
        char desc[80];
        return tst_fail(TST_ECORRUPT, "%s: field `%s` must be an array, found %s", where, field,
                        tst_json_describe(arr, desc, sizeof desc));
    }
    size_t n = json_object_array_length(arr);
    tst_field *fields = n ? calloc(n, sizeof *fields) : NULL;
    if (n && !fields)
        return tst_fail(TST_ENOMEM, "%s: out of memory for %zu fields", where, n);
    tst_json_where(at, sizeof at, where, field);
    int rc = 0;
    for (size_t i = 0; i < n && rc == 0; i++)
        rc = field_from_json(&fields[i], json_object_array_get_idx(arr, i),
                             tst_json_where_index(item, sizeof item, at, i));
    if (rc != 0) {
        for (size_t i = 0; i < n; i++)
            field_clear(&fields[i]);
        free(fields);
        return rc;
    }
    *out = fields;
    *out_count = n;
    return 0;
}

static int struct_from_json(tst_type *out, json_object *body, const char *where)
{
    out->kind = TST_TYPE_STRUCT;
    json_object *arr = NULL;
    char at[TST_JSON_WHERE_MAX];
    int rc = tst_json_require(body, "fields", where, &arr);
    if (rc == 0)
        rc = fields_from_json(&out->fields, &out->field_count, arr, where, "fields");
    if (rc != 0)
        return rc;
    if (out->field_count == 0)
        return tst_fail(TST_ECORRUPT, "%s: a Struct needs at least one field", where);
    return check_struct_names(out->fields, out->field_count,
                              tst_json_where(at, sizeof at, where, "fields"));
}

/* Parses body[key] as one field into a new allocation. */
static int boxed_field_from_json(tst_field **out, json_object *v, const char *where,
                                 const char *key)
{
    char at[TST_JSON_WHERE_MAX];
    tst_field *field = calloc(1, sizeof *field);
    if (!field)
        return tst_fail(TST_ENOMEM, "%s: out of memory", where);
    int rc = field_from_json(field, v, tst_json_where(at, sizeof at, where, key));
    if (rc != 0) {
        field_clear(field);
        free(field);
        return rc;
    }
    *out = field;
    return 0;
}

static int list_from_json(tst_type *out, json_object *body, const char *where)
{
    out->kind = TST_TYPE_LIST;
    json_object *v = NULL;
    int rc = tst_json_require(body, "elements", where, &v);
    if (rc == 0)
        rc = boxed_field_from_json(&out->element, v, where, "elements");
    if (rc == 0 && is_blank(out->element->name))
        rc = tst_fail(TST_ECORRUPT, "%s.elements: list element name is blank", where);
    return rc;
}

static int map_from_json(tst_type *out, json_object *body, const char *where)
{
    out->kind = TST_TYPE_MAP;
    json_object *key = NULL, *sorted = NULL;
    int rc = tst_json_require(body, "key", where, &key);
    if (rc == 0)
        rc = boxed_field_from_json(&out->key, key, where, "key");
    if (rc == 0 && out->key->nullable)
        rc = tst_fail(TST_ECORRUPT, "%s.key: a Map key must not be nullable", where);
    json_object *value = tst_json_optional(body, "value");
    if (rc == 0 && value)
        rc = boxed_field_from_json(&out->value, value, where, "value");
    if (rc == 0)
        rc = tst_json_require(body, "keys_sorted", where, &sorted);
    if (rc == 0)
        rc = tst_json_bool(sorted, where, "keys_sorted", &out->keys_sorted);
    if (rc == 0)
        rc = optional_metadata(&out->entries_metadata, body, where, "entries_metadata");
    if (rc == 0)
        rc = optional_metadata(&out->null_value_metadata, body, where, "null_value_metadata");
    if (rc == 0 && out->value && out->null_value_metadata.count > 0)
        rc = tst_fail(TST_ECORRUPT, "%s: a Map with a value field cannot have "
                      "null_value_metadata", where);
    return rc;
}

static int tagged_type_from_json(tst_type *out, const char *tag, json_object *body,
                                 const char *where)
{
    char at[TST_JSON_WHERE_MAX];
    tst_json_where(at, sizeof at, where, tag);
    if (strcmp(tag, "Other") == 0) {
        out->kind = TST_TYPE_OTHER;
        return tst_json_strdup(body, where, tag, &out->other_name);
    }
    if (!json_object_is_type(body, json_type_object)) {
        char desc[80];
        return tst_fail(TST_ECORRUPT, "%s: field `%s` must be an object, found %s", where, tag,
                        tst_json_describe(body, desc, sizeof desc));
    }
    if (strcmp(tag, "FixedBinary") == 0)
        return fixed_binary_from_json(out, body, at);
    if (strcmp(tag, "Timestamp") == 0)
        return timestamp_from_json(out, body, at);
    if (strcmp(tag, "Decimal") == 0)
        return decimal_from_json(out, body, at);
    if (strcmp(tag, "Struct") == 0)
        return struct_from_json(out, body, at);
    if (strcmp(tag, "List") == 0)
        return list_from_json(out, body, at);
    if (strcmp(tag, "Map") == 0)
        return map_from_json(out, body, at);
    return tst_fail(TST_ECORRUPT, "%s: unknown data type \"%.64s\"", where, tag);
}

/* On failure the type may be partly filled: the caller clears it. */
static int type_from_json(tst_type *out, json_object *v, const char *where)
{
    if (json_object_is_type(v, json_type_string)) {
        const char *name = NULL;
        int rc = tst_json_cstr(v, where, "data_type", &name);
        return rc != 0 ? rc : plain_type_from_json(out, name, where);
    }
    const char *tag = NULL;
    json_object *body = NULL;
    int rc = tst_json_single_member(v, where, &tag, &body);
    return rc != 0 ? rc : tagged_type_from_json(out, tag, body, where);
}

/* ---- parsing: fields and schemas ---------------------------------------- */

/* On failure the field may be partly filled: the caller clears it. */
static int field_from_json(tst_field *out, json_object *obj, const char *where)
{
    char at[TST_JSON_WHERE_MAX];
    if (!json_object_is_type(obj, json_type_object)) {
        char desc[80];
        return tst_fail(TST_ECORRUPT, "%s: expected a field object, found %s", where,
                        tst_json_describe(obj, desc, sizeof desc));
    }
    json_object *name = NULL, *type = NULL, *nullable = NULL;
    int rc = tst_json_require(obj, "name", where, &name);
    if (rc == 0)
        rc = tst_json_strdup(name, where, "name", &out->name);
    if (rc == 0)
        rc = tst_json_require(obj, "data_type", where, &type);
    if (rc == 0)
        rc = type_from_json(&out->type, type, tst_json_where(at, sizeof at, where, "data_type"));
    if (rc == 0)
        rc = tst_json_require(obj, "nullable", where, &nullable);
    if (rc == 0)
        rc = tst_json_bool(nullable, where, "nullable", &out->nullable);
    if (rc == 0)
        rc = optional_metadata(&out->metadata, obj, where, "metadata");
    return rc;
}

static int check_unique_columns(const tst_schema *schema, const char *where)
{
    for (size_t i = 0; i < schema->column_count; i++)
        for (size_t j = 0; j < i; j++)
            if (strcmp(schema->columns[i].name, schema->columns[j].name) == 0)
                return tst_fail(TST_ECORRUPT, "%s: duplicate column \"%.100s\"", where,
                                schema->columns[i].name);
    return 0;
}

int tst_schema_from_json(tst_schema **out, json_object *obj, const char *where)
{
    *out = NULL;
    if (!json_object_is_type(obj, json_type_object)) {
        char desc[80];
        return tst_fail(TST_ECORRUPT, "%s: expected a schema object, found %s", where,
                        tst_json_describe(obj, desc, sizeof desc));
    }
    tst_schema *schema = calloc(1, sizeof *schema);
    if (!schema)
        return tst_fail(TST_ENOMEM, "%s: out of memory", where);
    json_object *columns = NULL;
    int rc = tst_json_require(obj, "columns", where, &columns);
    if (rc == 0)
        rc = fields_from_json(&schema->columns, &schema->column_count, columns, where, "columns");
    if (rc == 0)
        rc = check_unique_columns(schema, where);
    if (rc == 0)
        rc = optional_metadata(&schema->metadata, obj, where, "metadata");
    if (rc != 0) {
        tst_schema_free(schema);
        return rc;
    }
    *out = schema;
    return 0;
}

/* ---- printing ---------------------------------------------------------- */

/* {"<tag>": body}; takes body. */
static json_object *tagged(const char *tag, json_object *body)
{
    json_object *obj = body ? json_object_new_object() : NULL;
    if (!obj || tst_json_add(obj, tag, body) != 0) {
        if (!obj)
            json_object_put(body);
        json_object_put(obj);
        return NULL;
    }
    return obj;
}

static json_object *fields_to_json(const tst_field *fields, size_t count)
{
    json_object *arr = json_object_new_array_ext((int)count);
    for (size_t i = 0; arr && i < count; i++) {
        json_object *f = field_to_json(&fields[i]);
        if (!f || json_object_array_add(arr, f) != 0) {
            json_object_put(f);
            json_object_put(arr);
            return NULL;
        }
    }
    return arr;
}

static json_object *timestamp_to_json(const tst_type *type)
{
    json_object *body = json_object_new_object();
    if (!body)
        return NULL;
    int rc = tst_json_add(body, "unit", tst_json_new_string(UNIT_JSON[type->unit]));
    if (rc == 0)
        rc = type->timezone ? tst_json_add(body, "timezone", tst_json_new_string(type->timezone))
                            : tst_json_add_null(body, "timezone");
    if (rc != 0) {
        json_object_put(body);
        return NULL;
    }
    return tagged("Timestamp", body);
}

static json_object *decimal_to_json(const tst_type *type)
{
    json_object *body = json_object_new_object();
    if (!body || tst_json_add(body, "precision", json_object_new_uint64(type->precision)) != 0 ||
        tst_json_add(body, "scale", json_object_new_int64(type->scale)) != 0) {
        json_object_put(body);
        return NULL;
    }
    return tagged("Decimal", body);
}

static json_object *map_to_json(const tst_type *type)
{
    json_object *body = json_object_new_object();
    int rc = body ? tst_json_add(body, "key", field_to_json(type->key)) : -1;
    if (rc == 0)
        rc = type->value ? tst_json_add(body, "value", field_to_json(type->value))
                         : tst_json_add_null(body, "value");
    if (rc == 0)
        rc = tst_json_add(body, "keys_sorted", json_object_new_boolean(type->keys_sorted));
    if (rc == 0)
        rc = add_metadata(body, "entries_metadata", &type->entries_metadata);
    if (rc == 0)
        rc = add_metadata(body, "null_value_metadata", &type->null_value_metadata);
    if (rc != 0) {
        json_object_put(body);
        return NULL;
    }
    return tagged("Map", body);
}

/* {"<tag>":{"<key>": value}}; takes value. */
static json_object *tagged_one(const char *tag, const char *key, json_object *value)
{
    json_object *body = json_object_new_object();
    if (!body || tst_json_add(body, key, value) != 0) {
        if (!body)
            json_object_put(value);
        json_object_put(body);
        return NULL;
    }
    return tagged(tag, body);
}

static json_object *type_to_json(const tst_type *type)
{
    const type_name *plain = plain_type(type->kind);
    if (plain)
        return tst_json_new_string(plain->json);
    switch (type->kind) {
    case TST_TYPE_FIXED_BINARY:
        return tagged_one("FixedBinary", "byte_width", json_object_new_int64(type->byte_width));
    case TST_TYPE_TIMESTAMP: return timestamp_to_json(type);
    case TST_TYPE_DECIMAL: return decimal_to_json(type);
    case TST_TYPE_STRUCT:
        return tagged_one("Struct", "fields", fields_to_json(type->fields, type->field_count));
    case TST_TYPE_LIST: return tagged_one("List", "elements", field_to_json(type->element));
    case TST_TYPE_MAP: return map_to_json(type);
    case TST_TYPE_OTHER: return tagged("Other", tst_json_new_string(type->other_name));
    default: return NULL;
    }
}

static json_object *field_to_json(const tst_field *field)
{
    json_object *obj = json_object_new_object();
    if (!obj || tst_json_add(obj, "name", tst_json_new_string(field->name)) != 0 ||
        tst_json_add(obj, "data_type", type_to_json(&field->type)) != 0 ||
        tst_json_add(obj, "nullable", json_object_new_boolean(field->nullable)) != 0 ||
        add_metadata(obj, "metadata", &field->metadata) != 0) {
        json_object_put(obj);
        return NULL;
    }
    return obj;
}

json_object *tst_schema_to_json(const tst_schema *schema)
{
    json_object *obj = json_object_new_object();
    if (!obj ||
        tst_json_add(obj, "columns", fields_to_json(schema->columns, schema->column_count)) != 0 ||
        add_metadata(obj, "metadata", &schema->metadata) != 0) {
        json_object_put(obj);
        return NULL;
    }
    return obj;
}

/* ---- copies and release ------------------------------------------------ */

static void field_clear(tst_field *field)
{
    free(field->name);
    type_clear(&field->type);
    tst_metadata_clear(&field->metadata);
    memset(field, 0, sizeof *field);
}

static void boxed_field_free(tst_field *field)
{
    if (field)
        field_clear(field);
    free(field);
}

static void type_clear(tst_type *type)
{
    free(type->timezone);
    for (size_t i = 0; i < type->field_count; i++)
        field_clear(&type->fields[i]);
    free(type->fields);
    boxed_field_free(type->element);
    boxed_field_free(type->key);
    boxed_field_free(type->value);
    free(type->other_name);
    tst_metadata_clear(&type->entries_metadata);
    tst_metadata_clear(&type->null_value_metadata);
    memset(type, 0, sizeof *type);
}

static int dup_string(char **dst, const char *src)
{
    if (!src)
        return 0;
    *dst = strdup(src);
    return *dst ? 0 : tst_fail(TST_ENOMEM, "out of memory copying a schema");
}

static int boxed_field_copy(tst_field **dst, const tst_field *src)
{
    if (!src)
        return 0;
    *dst = calloc(1, sizeof **dst);
    if (!*dst)
        return tst_fail(TST_ENOMEM, "out of memory copying a schema");
    return field_copy(*dst, src);
}

static int fields_copy(tst_field **dst, size_t *dst_count, const tst_field *src, size_t count)
{
    if (count == 0)
        return 0;
    *dst = calloc(count, sizeof **dst);
    if (!*dst)
        return tst_fail(TST_ENOMEM, "out of memory copying a schema");
    *dst_count = count; /* set first, so a failed copy is still fully cleared */
    for (size_t i = 0; i < count; i++) {
        int rc = field_copy(&(*dst)[i], &src[i]);
        if (rc != 0)
            return rc;
    }
    return 0;
}

/* On failure dst may be partly filled: the caller clears it. */
static int type_copy(tst_type *dst, const tst_type *src)
{
    *dst = *src;
    dst->timezone = dst->other_name = NULL;
    dst->fields = NULL;
    dst->field_count = 0;
    dst->element = dst->key = dst->value = NULL;
    dst->entries_metadata = (tst_metadata){NULL, 0};
    dst->null_value_metadata = (tst_metadata){NULL, 0};
    int rc = dup_string(&dst->timezone, src->timezone);
    if (rc == 0)
        rc = dup_string(&dst->other_name, src->other_name);
    if (rc == 0)
        rc = fields_copy(&dst->fields, &dst->field_count, src->fields, src->field_count);
    if (rc == 0)
        rc = boxed_field_copy(&dst->element, src->element);
    if (rc == 0)
        rc = boxed_field_copy(&dst->key, src->key);
    if (rc == 0)
        rc = boxed_field_copy(&dst->value, src->value);
    if (rc == 0)
        rc = tst_metadata_copy(&dst->entries_metadata, &src->entries_metadata);
    if (rc == 0)
        rc = tst_metadata_copy(&dst->null_value_metadata, &src->null_value_metadata);
    return rc;
}

static int field_copy(tst_field *dst, const tst_field *src)
{
    memset(dst, 0, sizeof *dst);
    dst->nullable = src->nullable;
    int rc = dup_string(&dst->name, src->name);
    if (rc == 0)
        rc = tst_metadata_copy(&dst->metadata, &src->metadata);
    return rc != 0 ? rc : type_copy(&dst->type, &src->type);
}

int tst_schema_copy(tst_schema **dst, const tst_schema *src)
{
    *dst = NULL;
    if (!src)
        return 0;
    tst_schema *copy = calloc(1, sizeof *copy);
    if (!copy)
        return tst_fail(TST_ENOMEM, "out of memory copying a schema");
    int rc = fields_copy(&copy->columns, &copy->column_count, src->columns, src->column_count);
    if (rc == 0)
        rc = tst_metadata_copy(&copy->metadata, &src->metadata);
    if (rc != 0) {
        tst_schema_free(copy);
        return rc;
    }
    *dst = copy;
    return 0;
}

int tst_schema_extend(tst_schema **dst, const tst_schema *src, const tst_field *extra,
                      size_t extra_count)
{
    *dst = NULL;
    tst_schema *copy = calloc(1, sizeof *copy);
    size_t n = src->column_count + extra_count;
    if (copy)
        copy->columns = calloc(n ? n : 1, sizeof *copy->columns);
    if (!copy || !copy->columns) {
        tst_schema_free(copy);
        return tst_fail(TST_ENOMEM, "out of memory copying a schema");
    }
    int rc = tst_metadata_copy(&copy->metadata, &src->metadata); /* annotations stay */
    for (size_t i = 0; rc == 0 && i < n; i++) {
        const tst_field *f = i < src->column_count ? &src->columns[i]
                                                   : &extra[i - src->column_count];
        rc = field_copy(&copy->columns[i], f);
        copy->column_count = i + 1;
    }
    if (rc != 0) {
        tst_schema_free(copy);
        return rc;
    }
    *dst = copy;
    return 0;
}

void tst_schema_free(tst_schema *schema)
{
    if (!schema)
        return;
    for (size_t i = 0; i < schema->column_count; i++)
        field_clear(&schema->columns[i]);
    free(schema->columns);
    tst_metadata_clear(&schema->metadata);
    free(schema);
}

static bool field_has_metadata(const tst_field *field);

static bool type_has_metadata(const tst_type *t)
{
    if (t->entries_metadata.count > 0 || t->null_value_metadata.count > 0)
        return true;
    for (size_t i = 0; i < t->field_count; i++)
        if (field_has_metadata(&t->fields[i]))
            return true;
    return (t->element && field_has_metadata(t->element)) ||
           (t->key && field_has_metadata(t->key)) || (t->value && field_has_metadata(t->value));
}

static bool field_has_metadata(const tst_field *field)
{
    return field->metadata.count > 0 || type_has_metadata(&field->type);
}

static void field_clear_metadata(tst_field *field);

static void type_clear_metadata(tst_type *t)
{
    tst_metadata_clear(&t->entries_metadata);
    tst_metadata_clear(&t->null_value_metadata);
    for (size_t i = 0; i < t->field_count; i++)
        field_clear_metadata(&t->fields[i]);
    if (t->element)
        field_clear_metadata(t->element);
    if (t->key)
        field_clear_metadata(t->key);
    if (t->value)
        field_clear_metadata(t->value);
}

static void field_clear_metadata(tst_field *field)
{
    tst_metadata_clear(&field->metadata);
    type_clear_metadata(&field->type);
}

void tst_schema_clear_metadata(tst_schema *schema)
{
    if (!schema)
        return;
    tst_metadata_clear(&schema->metadata);
    for (size_t i = 0; i < schema->column_count; i++)
        field_clear_metadata(&schema->columns[i]);
}

bool tst_schema_has_metadata(const tst_schema *schema)
{
    if (!schema)
        return false;
    if (schema->metadata.count > 0)
        return true;
    for (size_t i = 0; i < schema->column_count; i++)
        if (field_has_metadata(&schema->columns[i]))
            return true;
    return false;
}

const tst_field *tst_schema_find(const tst_schema *schema, const char *name)
{
    if (!schema || !name)
        return NULL;
    for (size_t i = 0; i < schema->column_count; i++)
        if (strcmp(schema->columns[i].name, name) == 0)
            return &schema->columns[i];
    return NULL;
}

/* ---- display names ----------------------------------------------------- */

/* An snprintf that keeps counting past the end of the buffer. */
typedef struct text_out {
    char *buf;
    size_t cap;
    size_t len;
} text_out;

static void put(text_out *out, const char *fmt, ...) TST_PRINTF(2, 3);

static void put(text_out *out, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    size_t room = out->len < out->cap ? out->cap - out->len : 0;
    int n = vsnprintf(room ? out->buf + out->len : NULL, room, fmt, ap);
    va_end(ap);
    if (n > 0)
        out->len += (size_t)n;
}

static void format_type(text_out *out, const tst_type *type);

/* "name: type", with "?" after the name when the field is nullable. */
static void format_field(text_out *out, const tst_field *field)
{
    put(out, "%s%s: ", field->name ? field->name : "", field->nullable ? "?" : "");
    format_type(out, &field->type);
}

static void format_struct(text_out *out, const tst_type *type)
{
    put(out, "Struct{");
    for (size_t i = 0; i < type->field_count; i++) {
        put(out, i ? ", " : "");
        format_field(out, &type->fields[i]);
    }
    put(out, "}");
}

static void format_map(text_out *out, const tst_type *type)
{
    put(out, "Map<");
    if (type->key)
        format_field(out, type->key);
    if (type->value) {
        put(out, ", ");
        format_field(out, type->value);
    }
    put(out, type->keys_sorted ? ", sorted>" : ">");
}

static void format_type(text_out *out, const tst_type *type)
{
    const type_name *plain = plain_type(type->kind);
    if (plain) {
        put(out, "%s", plain->display);
        return;
    }
    switch (type->kind) {
    case TST_TYPE_FIXED_BINARY: put(out, "fixed_binary[%d]", (int)type->byte_width); break;
    case TST_TYPE_TIMESTAMP:
        put(out, "timestamp[%s]", unit_valid(type->unit) ? UNIT_SHORT[type->unit] : "?");
        if (type->timezone)
            put(out, "(%s)", type->timezone);
        break;
    case TST_TYPE_DECIMAL:
        put(out, "decimal(precision=%u, scale=%d)", (unsigned)type->precision, (int)type->scale);
        break;
    case TST_TYPE_STRUCT: format_struct(out, type); break;
    case TST_TYPE_LIST:
        put(out, "List<");
        if (type->element)
            format_field(out, type->element);
        put(out, ">");
        break;
    case TST_TYPE_MAP: format_map(out, type); break;
    case TST_TYPE_OTHER: put(out, "%s", type->other_name ? type->other_name : "other"); break;
    default: put(out, "unknown(%d)", (int)type->kind); break;
    }
}

int tst_type_format(const tst_type *type, char *buf, size_t cap)
{
    if (!type || (!buf && cap > 0))
        return tst_fail(TST_EINVAL, "tst_type_format: no type or no buffer");
    text_out out = {buf, cap, 0};
    if (cap > 0)
        buf[0] = '\0';
    format_type(&out, type);
    return out.len > INT32_MAX ? INT32_MAX : (int)out.len;
}

/* ---- entity columns -------------------------------------------------------- */

tst_entity_type tst_entity_type_of(const tst_type *type)
{
    switch (type ? type->kind : TST_TYPE_OTHER) {
    case TST_TYPE_UTF8: return TST_ENTITY_UTF8;
    case TST_TYPE_INT32: return TST_ENTITY_INT32;
    case TST_TYPE_INT64: return TST_ENTITY_INT64;
    case TST_TYPE_UINT64: return TST_ENTITY_UINT64;
    default: return (tst_entity_type)0;
    }
}

const char *tst_entity_type_name(tst_entity_type type)
{
    switch (type) {
    case TST_ENTITY_UTF8: return "utf8";
    case TST_ENTITY_INT32: return "int32";
    case TST_ENTITY_INT64: return "int64";
    case TST_ENTITY_UINT64: return "uint64";
    default: return "an unknown type";
    }
}
