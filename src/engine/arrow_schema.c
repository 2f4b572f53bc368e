/*
 * arrow_schema.c — decoding the "ARROW:schema" footer value (see
 * arrow_schema.h), and the type-tree helpers source.c shares.
 *
 * The value is base64 of an Arrow IPC message whose body is a flatbuffer:
 * Message{version, header_type, header: Schema{endianness, fields}}, each
 * Field{name, nullable, type_type, type, dictionary, children}. Rather than
 * pull in a flatbuffers library for six tables, a small reader below walks
 * the buffer directly. Every read goes through fb_bytes(), which checks the
 * range against the buffer, so hostile offsets, vtables and lengths end in
 * TST_ECORRUPT, never in a read out of bounds. Offsets may point backwards,
 * so a buffer can describe a cycle or a tree far larger than itself: the
 * walk is bounded by a nesting depth and a total field budget.
 *
 * Arrow types map to the table's logical types exactly as format §1.7
 * says; everything the logical schema cannot hold becomes an OTHER leaf
 * with a readable name, or a narrow-integer wire kind, so the append rules
 * can name it or widen it.
 */
#include "arrow_schema.h"

#include "fail.h"
#include "model.h"

#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define ARROW_MAX_DEPTH 64        /* nesting of Struct/List/Map fields */
#define ARROW_MAX_FIELDS 100000   /* fields decoded in one schema, all levels */
#define ARROW_MAX_DECODED (64u << 20) /* a schema message larger than this is not one */

/* Arrow's Type union (Schema.fbs) and the enums the mapping reads. */
enum arrow_type_id {
    AT_NULL = 1, AT_INT, AT_FLOAT, AT_BINARY, AT_UTF8, AT_BOOL, AT_DECIMAL, AT_DATE,
    AT_TIME, AT_TIMESTAMP, AT_INTERVAL, AT_LIST, AT_STRUCT, AT_UNION, AT_FIXED_BINARY,
    AT_FIXED_LIST, AT_MAP, AT_DURATION, AT_LARGE_BINARY, AT_LARGE_UTF8, AT_LARGE_LIST,
    AT_RUN_END, AT_BINARY_VIEW, AT_UTF8_VIEW, AT_LIST_VIEW, AT_LARGE_LIST_VIEW
};
enum { MESSAGE_HEADER_SCHEMA = 1 };
static const char *const TIME_UNIT_SHORT[] = {"s", "ms", "us", "ns"};

/* ---- type trees (shared with source.c) -------------------------------- */

void tst_source_field_clear(tst_field *field)
{
    free(field->name);
    tst_source_type_clear(&field->type);
    tst_metadata_clear(&field->metadata);
    memset(field, 0, sizeof *field);
}

static void boxed_free(tst_field *field)
{
    if (field)
        tst_source_field_clear(field);
    free(field);
}

void tst_source_type_clear(tst_type *type)
{
    free(type->timezone);
    for (size_t i = 0; i < type->field_count; i++)
        tst_source_field_clear(&type->fields[i]);
    free(type->fields);
    boxed_free(type->element);
    boxed_free(type->key);
    boxed_free(type->value);
    free(type->other_name);
    tst_metadata_clear(&type->entries_metadata);
    tst_metadata_clear(&type->null_value_metadata);
    memset(type, 0, sizeof *type);
}

void tst_source_columns_free(tst_source_column *cols, size_t count)
{
    for (size_t i = 0; cols && i < count; i++) {
        free(cols[i].name);
        free(cols[i].type_text);
        tst_source_type_clear(&cols[i].type);
        tst_metadata_clear(&cols[i].metadata);
    }
    free(cols);
}

int tst_source_type_other(tst_type *out, tst_wire_kind *wire, tst_wire_kind kind,
                          const char *name)
{
    memset(out, 0, sizeof *out);
    out->kind = TST_TYPE_OTHER;
    out->other_name = strdup(name);
    *wire = kind;
    return out->other_name ? 0 : tst_fail(TST_ENOMEM, "out of memory describing a column type");
}

bool tst_source_names_valid(const tst_field *fields, size_t count)
{
    for (size_t i = 0; i < count; i++) {
        const char *n = fields[i].name;
        if (!n || n[strspn(n, " \t\r\n")] == '\0')
            return false;
        for (size_t j = 0; j < i; j++)
            if (strcmp(fields[j].name, n) == 0)
                return false;
    }
    return true;
}

bool tst_source_type_exact(const tst_type *t)
{
    if (t->kind != TST_TYPE_OTHER && t->other_name)
        return false; /* a converted node: exact only as a top-level column */
    switch (t->kind) {
    case TST_TYPE_OTHER:
    case TST_TYPE_INT96: return false;
    case TST_TYPE_FIXED_BINARY: return t->byte_width > 0;
    case TST_TYPE_DECIMAL:
        return t->precision >= 1 && t->precision <= 76 && t->scale >= 0 &&
               (uint32_t)t->scale <= t->precision;
    case TST_TYPE_STRUCT:
        if (t->field_count == 0 || !tst_source_names_valid(t->fields, t->field_count))
            return false;
        for (size_t i = 0; i < t->field_count; i++)
            if (!tst_source_type_exact(&t->fields[i].type))
                return false;
        return true;
    case TST_TYPE_LIST:
        return t->element && tst_source_names_valid(t->element, 1) &&
               tst_source_type_exact(&t->element->type);
    case TST_TYPE_MAP:
        return t->key && !t->key->nullable && tst_source_type_exact(&t->key->type) &&
               (!t->value || tst_source_type_exact(&t->value->type));
    default: return true;
    }
}

/* tst_type_format into a new string. */
static int format_type_text(const tst_type *type, char **out)
{
    int n = tst_type_format(type, NULL, 0);
    if (n < 0)
        return n;
    *out = malloc((size_t)n + 1);
    if (!*out)
        return tst_fail(TST_ENOMEM, "out of memory describing a column type");
    tst_type_format(type, *out, (size_t)n + 1);
    return 0;
}

bool tst_wire_converted(tst_wire_kind wire)
{
    return wire != TST_WIRE_EXACT && wire != TST_WIRE_OTHER;
}

int tst_source_type_mark(tst_type *type, tst_wire_kind *wire, tst_wire_kind kind,
                         const char *incoming)
{
    free(type->other_name);
    type->other_name = strdup(incoming);
    *wire = kind;
    return type->other_name ? 0 : tst_fail(TST_ENOMEM, "out of memory describing a column type");
}

int tst_source_type_converted(tst_type *out, tst_wire_kind *wire, tst_wire_kind kind,
                              const char *incoming)
{
    memset(out, 0, sizeof *out);
    switch (kind) {
    case TST_WIRE_INT8:
    case TST_WIRE_INT16: out->kind = TST_TYPE_INT32; break;
    case TST_WIRE_UINT8:
    case TST_WIRE_UINT16:
    case TST_WIRE_UINT32: out->kind = TST_TYPE_UINT64; break;
    case TST_WIRE_FLOAT16: out->kind = TST_TYPE_FLOAT32; break;
    case TST_WIRE_DATE:
        out->kind = TST_TYPE_TIMESTAMP;
        out->unit = TST_PRECISION_MICROS;
        break;
    case TST_WIRE_INT96:
        out->kind = TST_TYPE_TIMESTAMP;
        out->unit = TST_PRECISION_MICROS;
        if (!(out->timezone = strdup("UTC")))
            return tst_fail(TST_ENOMEM, "out of memory describing a column type");
        break;
    default: return tst_source_type_other(out, wire, TST_WIRE_OTHER, incoming);
    }
    return tst_source_type_mark(out, wire, kind, incoming);
}

int tst_source_type_unconvert(tst_type *type)
{
    if (type->kind == TST_TYPE_OTHER || !type->other_name)
        return 0;
    char *name = type->other_name;
    type->other_name = NULL;
    tst_source_type_clear(type);
    type->kind = TST_TYPE_OTHER;
    type->other_name = name;
    return 0;
}

int tst_source_mark_list(tst_type *list, tst_wire_kind *wire, const char *prefix,
                         const char *suffix)
{
    char *inner = NULL;
    int rc = tst_source_incoming_text(&list->element->type, &inner);
    if (rc != 0)
        return rc;
    size_t len = strlen(prefix) + strlen(inner) + strlen(suffix) + 1;
    char *name = malloc(len);
    if (name)
        snprintf(name, len, "%s%s%s", prefix, inner, suffix);
    free(inner);
    if (!name)
        return tst_fail(TST_ENOMEM, "out of memory describing a column type");
    free(list->other_name);
    list->other_name = name;
    *wire = TST_WIRE_ENCODED;
    return 0;
}

int tst_source_mark_seconds(tst_type *type, tst_wire_kind *wire)
{
    char text[160];
    snprintf(text, sizeof text, "timestamp[s]%s%s%s", type->timezone ? "(" : "",
             type->timezone ? type->timezone : "", type->timezone ? ")" : "");
    return tst_source_type_mark(type, wire, TST_WIRE_SECONDS, text);
}

int tst_source_type_dictionary(tst_type *type, tst_wire_kind *wire)
{
    char inner[256];
    if (type->kind == TST_TYPE_OTHER || !type->other_name)
        tst_type_format(type, inner, sizeof inner);
    else
        snprintf(inner, sizeof inner, "%s", type->other_name);
    if (type->kind == TST_TYPE_OTHER) { /* a refused value type stays refused, renamed */
        char name[300];
        snprintf(name, sizeof name, "dictionary<values=%s>", inner);
        tst_source_type_clear(type);
        return tst_source_type_other(type, wire, TST_WIRE_OTHER, name);
    }
    char name[300];
    snprintf(name, sizeof name, "dictionary<values=%s>", inner);
    /* The values are what the column holds; converted values keep their kind. */
    tst_wire_kind kind = *wire == TST_WIRE_EXACT ? TST_WIRE_ENCODED : *wire;
    return tst_source_type_mark(type, wire, kind, name);
}

static bool is_nested(const tst_type *t)
{
    return t->kind == TST_TYPE_STRUCT || t->kind == TST_TYPE_LIST || t->kind == TST_TYPE_MAP;
}

/*
 * Inside a nested column, a converted node is kept only when a re-encode
 * passes its values through as they are: strings and binaries in another
 * encoding (DuckDB reads them as VARCHAR/BLOB) and lists in another layout
 * (large or fixed-size lists, read as LIST). A narrow integer or a date
 * would be written in its own Parquet type, which the table's schema does
 * not declare, so it becomes an OTHER leaf and the column is refused.
 */
static bool passes_through(const tst_type *t)
{
    return t->kind == TST_TYPE_UTF8 || t->kind == TST_TYPE_BINARY || t->kind == TST_TYPE_LIST;
}

/* Turns converted nodes into OTHER leaves: all of them, or those that do
 * not pass through a re-encode. */
static void unconvert_tree(tst_type *t, bool all)
{
    if (t->kind != TST_TYPE_OTHER && t->other_name && (all || !passes_through(t))) {
        tst_source_type_unconvert(t);
        return;
    }
    for (size_t i = 0; i < t->field_count; i++)
        unconvert_tree(&t->fields[i].type, all);
    if (t->element)
        unconvert_tree(&t->element->type, all);
    if (t->key)
        unconvert_tree(&t->key->type, all);
    if (t->value)
        unconvert_tree(&t->value->type, all);
}

/* Forgets where converted nodes came from; true if there was one. */
static bool strip_converted(tst_type *t)
{
    bool any = false;
    if (t->kind != TST_TYPE_OTHER && t->other_name) {
        free(t->other_name);
        t->other_name = NULL;
        any = true;
    }
    for (size_t i = 0; i < t->field_count; i++)
        any |= strip_converted(&t->fields[i].type);
    if (t->element)
        any |= strip_converted(&t->element->type);
    if (t->key)
        any |= strip_converted(&t->key->type);
    if (t->value)
        any |= strip_converted(&t->value->type);
    return any;
}

/* The display of a tree as it arrived: converted nodes by their incoming names. */
int tst_source_incoming_text(const tst_type *type, char **out)
{
    tst_field view = {"", *type, false};
    tst_schema one = {&view, 1};
    tst_schema *copy = NULL;
    int rc = tst_schema_copy(&copy, &one);
    if (rc == 0) {
        unconvert_tree(&copy->columns[0].type, true);
        rc = format_type_text(&copy->columns[0].type, out);
    }
    tst_schema_free(copy);
    return rc;
}

/* A nested column: exact, ENCODED (strings or lists to pass through), or OTHER. */
static int take_nested(tst_source_column *col, tst_field *field, tst_wire_kind *wire)
{
    int rc = tst_source_incoming_text(&field->type, &col->type_text);
    if (rc != 0)
        return rc;
    unconvert_tree(&field->type, false);
    bool encoded = strip_converted(&field->type);
    if (!tst_source_type_exact(&field->type))
        *wire = TST_WIRE_OTHER;
    else
        *wire = encoded ? TST_WIRE_ENCODED : TST_WIRE_EXACT;
    return 0;
}

int tst_source_column_take(tst_source_column *col, tst_field *field, tst_wire_kind wire)
{
    memset(col, 0, sizeof *col);
    bool converted = tst_wire_converted(wire) && field->type.kind != TST_TYPE_OTHER &&
                     field->type.other_name;
    int rc = 0;
    if (is_nested(&field->type)) {
        rc = take_nested(col, field, &wire);
    } else if (converted) {
        col->type_text = field->type.other_name; /* what arrived; type is what it reads as */
        field->type.other_name = NULL;
    } else {
        if (wire != TST_WIRE_OTHER && !tst_source_type_exact(&field->type))
            wire = TST_WIRE_OTHER;
        rc = format_type_text(&field->type, &col->type_text);
    }
    if (rc != 0) {
        tst_source_field_clear(field);
        return rc;
    }
    col->name = field->name;
    col->nullable = field->nullable;
    col->type = field->type;
    col->wire = wire;
    col->footer_exact = wire == TST_WIRE_EXACT;
    col->metadata = field->metadata;
    memset(field, 0, sizeof *field);
    return 0;
}

/* How to get a refused type into a table, by the start of its display;
 * '@' stands for the column's name. */
static const struct {
    const char *prefix;
    const char *hint;
} WAYS_OUT[] = {
    {"uuid", "the format has no UUID type; store it as text: DuckDB `@::VARCHAR`, polars "
             "`pl.col('@').cast(pl.Utf8)`, pyarrow `pa.array([str(u) for u in ...])`"},
    {"time", "store it as text or as an int64 count since midnight: DuckDB `@::VARCHAR` or "
             "`epoch_us(@)`, polars `pl.col('@').cast(pl.Utf8)`, pyarrow `pc.cast(@, "
             "pa.int64())`"},
    {"interval", "store it as text or as int64 microseconds: DuckDB `@::VARCHAR` or "
                 "`epoch_us(@)`"},
    {"duration", "store it as int64 in its unit: pyarrow `pc.cast(@, pa.int64())`, polars "
                 "`pl.col('@').dt.total_microseconds()`, DuckDB `epoch_us(@)`"},
    {"null", "give it a type: cast it to the type its values will have"},
    {"float16", "cast it to float32 first (pyarrow `pc.cast(@, pa.float32())`): an Arrow "
                "stream reaches the table through DuckDB, which cannot read float16"},
    {"union", "split it into one column per member type"},
    {"large_list", "cast it to a plain list: pyarrow `pc.cast(@, pa.list_(...))`"},
    {"fixed_size_list", "cast it to a plain list: pyarrow `pc.cast(@, pa.list_(...))`"},
    {"timestamp", "cast it to timestamp[ms], [us] or [ns]"},
    {"decimal", "cast it to a decimal of at most 38 digits, or to float64"},
    {"List", "a list, struct or map is stored only with members the table holds as they are "
             "(utf8, not large_utf8 or dictionary; no unnamed fields, which is how DuckDB "
             "writes a UNION); cast the members, or store the column as text (DuckDB "
             "`@::VARCHAR`)"},
};

static const char *way_out_hint(const char *type_text)
{
    for (size_t i = 0; i < sizeof WAYS_OUT / sizeof WAYS_OUT[0]; i++)
        if (strncmp(type_text, WAYS_OUT[i].prefix, strlen(WAYS_OUT[i].prefix)) == 0)
            return WAYS_OUT[i].hint;
    if (strncmp(type_text, "Map", 3) == 0 || strncmp(type_text, "Struct", 6) == 0 ||
        strncmp(type_text, "dictionary", 10) == 0)
        return WAYS_OUT[sizeof WAYS_OUT / sizeof WAYS_OUT[0] - 1].hint; /* "List" */
    return "cast it to a type the table can hold (bool, int32, int64, uint64, float32, "
           "float64, utf8, binary, timestamp, decimal)";
}

void tst_source_way_out(const tst_source_column *col, char *buf, size_t cap)
{
    const char *hint = way_out_hint(col->type_text ? col->type_text : "");
    const char *name = col->name ? col->name : "";
    size_t n = 0;
    if (cap == 0)
        return;
    for (const char *h = hint; *h && n + 1 < cap; h++) {
        if (*h != '@') {
            buf[n++] = *h;
            continue;
        }
        for (const char *c = name; *c && n + 1 < cap; c++)
            buf[n++] = *c;
    }
    buf[n] = '\0';
}

/* ---- base64 ------------------------------------------------------------ */

static int base64_value(unsigned char c)
{
    if (c >= 'A' && c <= 'Z')
        return c - 'A';
    if (c >= 'a' && c <= 'z')
        return c - 'a' + 26;
    if (c >= '0' && c <= '9')
        return c - '0' + 52;
    if (c == '+')
        return 62;
    return c == '/' ? 63 : -1;
}

/* Standard alphabet; '=' padding optional, only at the end. */
static int base64_decode(const char *text, size_t len, uint8_t **out, size_t *out_len)
{
    while (len > 0 && text[len - 1] == '=')
        len--;
    if (len % 4 == 1 || len / 4 * 3 > ARROW_MAX_DECODED)
        return tst_fail(TST_ECORRUPT, "ARROW:schema is not base64 of a plausible length");
    uint8_t *bytes = malloc(len / 4 * 3 + 3);
    if (!bytes)
        return tst_fail(TST_ENOMEM, "out of memory decoding ARROW:schema");
    uint32_t acc = 0;
    size_t n = 0;
    for (size_t i = 0; i < len; i++) {
        int v = base64_value((unsigned char)text[i]);
        if (v < 0) {
            free(bytes);
            return tst_fail(TST_ECORRUPT, "ARROW:schema has a non-base64 byte at %zu", i);
        }
        acc = (acc << 6) | (uint32_t)v;
        if (i % 4 == 3) {
            bytes[n++] = (uint8_t)(acc >> 16);
            bytes[n++] = (uint8_t)(acc >> 8);
            bytes[n++] = (uint8_t)acc;
        }
    }
    if (len % 4 == 2) {
        bytes[n++] = (uint8_t)(acc >> 4);
    } else if (len % 4 == 3) {
        bytes[n++] = (uint8_t)(acc >> 10);
        bytes[n++] = (uint8_t)(acc >> 2);
    }
    *out = bytes;
    *out_len = n;
    return 0;
}

/* ---- a bounds-checked flatbuffer reader -------------------------------- */

typedef struct fb_buf {
    const uint8_t *p;
    size_t n;
} fb_buf;

typedef struct fb_table {
    const fb_buf *buf;
    size_t pos;     /* the table's start */
    size_t vtable;  /* its vtable's start */
    size_t vt_len;  /* vtable bytes, header included */
    size_t tbl_len; /* table bytes */
} fb_table;

/* The only place bytes are read: NULL unless [pos, pos+len) is inside. */
static const uint8_t *fb_bytes(const fb_buf *b, size_t pos, size_t len)
{
    return pos <= b->n && len <= b->n - pos ? b->p + pos : NULL;
}

static bool fb_u16(const fb_buf *b, size_t pos, uint16_t *out)
{
    const uint8_t *p = fb_bytes(b, pos, 2);
    if (p)
        *out = (uint16_t)(p[0] | p[1] << 8);
    return p != NULL;
}

static bool fb_u32(const fb_buf *b, size_t pos, uint32_t *out)
{
    const uint8_t *p = fb_bytes(b, pos, 4);
    if (p)
        *out = (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
    return p != NULL;
}

static bool fb_table_at(const fb_buf *b, size_t pos, fb_table *t)
{
    uint32_t soff;
    uint16_t vt_len, tbl_len;
    if (!fb_u32(b, pos, &soff))
        return false;
    /* The vtable sits at pos - soffset (soffset is signed). */
    int64_t vt = (int64_t)pos - (int64_t)(int32_t)soff;
    if (vt < 0 || !fb_u16(b, (size_t)vt, &vt_len) || !fb_u16(b, (size_t)vt + 2, &tbl_len))
        return false;
    if (vt_len < 4 || vt_len % 2 != 0 || !fb_bytes(b, (size_t)vt, vt_len) || tbl_len < 4 ||
        !fb_bytes(b, pos, tbl_len))
        return false;
    *t = (fb_table){b, pos, (size_t)vt, vt_len, tbl_len};
    return true;
}

/* The field's offset inside the table, 0 when absent; false if it overflows. */
static bool fb_field(const fb_table *t, int index, size_t size, size_t *off)
{
    size_t entry = 4 + 2 * (size_t)index;
    uint16_t o = 0;
    if (entry + 2 <= t->vt_len && !fb_u16(t->buf, t->vtable + entry, &o))
        return false;
    *off = o;
    return o == 0 || (o >= 4 && (size_t)o + size <= t->tbl_len);
}

static bool fb_int(const fb_table *t, int index, size_t size, int64_t dflt, int64_t *out)
{
    size_t off;
    if (!fb_field(t, index, size, &off))
        return false;
    *out = dflt;
    if (off == 0)
        return true;
    const uint8_t *p = t->buf->p + t->pos + off;
    uint64_t v = 0;
    for (size_t i = 0; i < size; i++)
        v |= (uint64_t)p[i] << (8 * i);
    if (size == 1)
        *out = p[0]; /* ubyte and bool fields are unsigned */
    else if (size == 2)
        *out = (int16_t)v;
    else
        *out = (int32_t)v;
    return true;
}

/* Follows an offset field to its target position; *present false if absent. */
static bool fb_ref(const fb_table *t, int index, size_t *target, bool *present)
{
    size_t off;
    uint32_t rel;
    if (!fb_field(t, index, 4, &off))
        return false;
    *present = off != 0;
    if (off == 0)
        return true;
    if (!fb_u32(t->buf, t->pos + off, &rel))
        return false;
    *target = t->pos + off + rel;
    return *target < t->buf->n;
}

static bool fb_child(const fb_table *t, int index, fb_table *out, bool *present)
{
    size_t at;
    if (!fb_ref(t, index, &at, present))
        return false;
    return !*present || fb_table_at(t->buf, at, out);
}

/* A vector of 4-byte elements (offsets): its first element and length. */
static bool fb_vector(const fb_table *t, int index, size_t *first, uint32_t *count)
{
    size_t at;
    bool present;
    *count = 0;
    if (!fb_ref(t, index, &at, &present))
        return false;
    if (!present)
        return true;
    if (!fb_u32(t->buf, at, count) || !fb_bytes(t->buf, at + 4, (size_t)*count * 4))
        return false;
    *first = at + 4;
    return true;
}

static bool fb_vector_table(const fb_buf *b, size_t first, uint32_t i, fb_table *out)
{
    size_t at = first + 4 * (size_t)i;
    uint32_t rel;
    return fb_u32(b, at, &rel) && fb_table_at(b, at + rel, out);
}

/* A string field as a new C string ("" when absent); false if malformed. */
static bool fb_string(const fb_table *t, int index, char **out, bool *present)
{
    size_t at;
    uint32_t len;
    *out = NULL;
    if (!fb_ref(t, index, &at, present))
        return false;
    if (!*present)
        return true;
    const uint8_t *s;
    if (!fb_u32(t->buf, at, &len) || !(s = fb_bytes(t->buf, at + 4, len)) || memchr(s, 0, len))
        return false;
    *out = malloc((size_t)len + 1);
    if (*out) {
        memcpy(*out, s, len);
        (*out)[len] = '\0';
    }
    return true;
}

/* ---- Arrow fields to type trees ---------------------------------------- */

typedef struct arrow_walk {
    fb_buf buf;
    size_t budget; /* fields left to decode */
} arrow_walk;

static int malformed(const char *what)
{
    return tst_fail(TST_ECORRUPT, "ARROW:schema is malformed: %s", what);
}

/* A custom_metadata vector of KeyValue{key, value} tables (slot `index` of a
 * Field or Schema) into a map. Keys and values must be UTF-8 (TST_EINVAL
 * naming `what`); a KeyValue without a key or value reads as "". */
static int custom_metadata(arrow_walk *w, const fb_table *t, int index, tst_metadata *out,
                           const char *what)
{
    size_t first = 0;
    uint32_t n;
    if (!fb_vector(t, index, &first, &n))
        return malformed("a custom_metadata vector lies outside the buffer");
    if (n > w->budget)
        return malformed("too many metadata entries");
    w->budget -= n;
    for (uint32_t i = 0; i < n; i++) {
        fb_table kv;
        size_t at[2];
        uint32_t len[2] = {0, 0};
        const uint8_t *bytes[2] = {(const uint8_t *)"", (const uint8_t *)""};
        if (!fb_vector_table(&w->buf, first, i, &kv))
            return malformed("a metadata entry lies outside the buffer");
        for (int k = 0; k < 2; k++) {
            bool present;
            if (!fb_ref(&kv, k, &at[k], &present))
                return malformed("a metadata string lies outside the buffer");
            if (present && (!fb_u32(&w->buf, at[k], &len[k]) ||
                            !(bytes[k] = fb_bytes(&w->buf, at[k] + 4, len[k]))))
                return malformed("a metadata string lies outside the buffer");
        }
        int rc = tst_metadata_add(out, (const char *)bytes[0], len[0], (const char *)bytes[1],
                                  len[1], what);
        if (rc != 0)
            return rc;
    }
    return 0;
}

static int nomem(void)
{
    return tst_fail(TST_ENOMEM, "out of memory decoding ARROW:schema");
}

static int arrow_field(arrow_walk *w, const fb_table *ft, int depth, tst_field *out,
                       tst_wire_kind *wire);

static int exact(tst_type *out, tst_wire_kind *wire, tst_type_kind kind)
{
    memset(out, 0, sizeof *out);
    out->kind = kind;
    *wire = TST_WIRE_EXACT;
    return 0;
}

static int other(tst_type *out, tst_wire_kind *wire, const char *fmt, ...) TST_PRINTF(3, 4);

static int other(tst_type *out, tst_wire_kind *wire, const char *fmt, ...)
{
    char name[256];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(name, sizeof name, fmt, ap);
    va_end(ap);
    int rc = tst_source_type_other(out, wire, TST_WIRE_OTHER, name);
    return rc == TST_ENOMEM ? nomem() : rc;
}

/* The field's `index`-th scalar, or `malformed`. */
#define READ_INT(t, index, size, dflt, out)                      \
    do {                                                         \
        if (!fb_int((t), (index), (size), (dflt), (out)))        \
            return malformed("a scalar lies outside its table"); \
    } while (0)

static int map_int(const fb_table *t, tst_type *out, tst_wire_kind *wire)
{
    int64_t bits, is_signed;
    READ_INT(t, 0, 4, 0, &bits);
    READ_INT(t, 1, 1, 0, &is_signed);
    if (is_signed && bits == 32)
        return exact(out, wire, TST_TYPE_INT32);
    if (is_signed && bits == 64)
        return exact(out, wire, TST_TYPE_INT64);
    if (!is_signed && bits == 64)
        return exact(out, wire, TST_TYPE_UINT64);
    static const struct {
        int bits, is_signed;
        tst_wire_kind wire;
        const char *name;
    } narrow[] = {{8, 1, TST_WIRE_INT8, "int8"},    {16, 1, TST_WIRE_INT16, "int16"},
                  {8, 0, TST_WIRE_UINT8, "uint8"},  {16, 0, TST_WIRE_UINT16, "uint16"},
                  {32, 0, TST_WIRE_UINT32, "uint32"}};
    for (size_t i = 0; i < sizeof narrow / sizeof narrow[0]; i++)
        if (narrow[i].bits == bits && narrow[i].is_signed == (is_signed != 0)) {
            int rc = tst_source_type_converted(out, wire, narrow[i].wire, narrow[i].name);
            return rc == TST_ENOMEM ? nomem() : rc;
        }
    return other(out, wire, "%s(bitWidth=%lld)", is_signed ? "int" : "uint", (long long)bits);
}

static int map_float(const fb_table *t, tst_type *out, tst_wire_kind *wire)
{
    int64_t precision;
    READ_INT(t, 0, 2, 0, &precision);
    if (precision == 1)
        return exact(out, wire, TST_TYPE_FLOAT32);
    if (precision == 2)
        return exact(out, wire, TST_TYPE_FLOAT64);
    if (precision == 0) {
        int rc = tst_source_type_converted(out, wire, TST_WIRE_FLOAT16, "float16");
        return rc == TST_ENOMEM ? nomem() : rc;
    }
    return other(out, wire, "floating_point(precision=%lld)", (long long)precision);
}

/* Decimal128 holds precision 1..38, Decimal256 39..76; 0 <= scale <= precision. */
static int map_decimal(const fb_table *t, tst_type *out, tst_wire_kind *wire)
{
    int64_t p, s, bits;
    READ_INT(t, 0, 4, 0, &p);
    READ_INT(t, 1, 4, 0, &s);
    READ_INT(t, 2, 4, 128, &bits);
    bool fits = (bits == 128 && p >= 1 && p <= 38) || (bits == 256 && p >= 39 && p <= 76);
    if (!fits || s < 0 || s > p)
        return other(out, wire, "decimal%lld(%lld, %lld)", (long long)bits, (long long)p,
                     (long long)s);
    exact(out, wire, TST_TYPE_DECIMAL);
    out->precision = (uint32_t)p;
    out->scale = (int32_t)s;
    return 0;
}

static int map_timestamp(const fb_table *t, tst_type *out, tst_wire_kind *wire)
{
    int64_t unit;
    char *tz = NULL;
    bool present;
    READ_INT(t, 0, 2, 0, &unit);
    if (!fb_string(t, 1, &tz, &present))
        return malformed("a timestamp's timezone lies outside the buffer");
    if (present && !tz)
        return nomem();
    if (unit >= 0 && unit <= 3) {
        exact(out, wire, TST_TYPE_TIMESTAMP);
        /* MILLI=1, MICRO=2, NANO=3 in both enums; seconds are read as milliseconds */
        out->unit = unit == 0 ? TST_PRECISION_MILLIS : (tst_time_precision)unit;
        out->timezone = tz;
        return unit == 0 ? tst_source_mark_seconds(out, wire) : 0;
    }
    int rc = other(out, wire, "timestamp(unit=%lld)", (long long)unit);
    free(tz);
    return rc;
}

static int map_fixed_binary(const fb_table *t, tst_type *out, tst_wire_kind *wire)
{
    int64_t width;
    READ_INT(t, 0, 4, 0, &width);
    if (width <= 0)
        return other(out, wire, "fixed_size_binary[%lld]", (long long)width);
    exact(out, wire, TST_TYPE_FIXED_BINARY);
    out->byte_width = (int32_t)width;
    return 0;
}

/* Date, Time, Duration, Interval: never exact; named like pyarrow does. */
static int map_temporal(int id, const fb_table *t, tst_type *out, tst_wire_kind *wire)
{
    static const char *const INTERVALS[] = {"year_month", "day_time", "month_day_nano"};
    int64_t unit, bits;
    READ_INT(t, 0, 2, id == AT_INTERVAL ? 0 : 1, &unit);
    if (id == AT_DATE)
        return tst_source_type_converted(out, wire, TST_WIRE_DATE, unit == 0 ? "date32" : "date64");
    if (unit < 0 || unit > (id == AT_INTERVAL ? 2 : 3))
        return other(out, wire, "temporal(type=%d, unit=%lld)", id, (long long)unit);
    if (id == AT_INTERVAL)
        return other(out, wire, "interval[%s]", INTERVALS[unit]);
    if (id == AT_DURATION)
        return other(out, wire, "duration[%s]", TIME_UNIT_SHORT[unit]);
    READ_INT(t, 1, 4, 32, &bits);
    return other(out, wire, "time%lld[%s]", (long long)bits, TIME_UNIT_SHORT[unit]);
}

/* Decodes the fields of a children vector into a new array. On failure the
 * array holds the fields decoded so far (*count of them) for the caller to free. */
static int arrow_children(arrow_walk *w, const fb_table *ft, int depth, tst_field **out,
                          size_t *count)
{
    size_t first = 0;
    uint32_t n;
    *out = NULL;
    *count = 0;
    if (!fb_vector(ft, 5, &first, &n))
        return malformed("a children vector lies outside the buffer");
    if (n == 0)
        return 0;
    if (n > w->budget)
        return malformed("too many fields");
    *out = calloc(n, sizeof **out);
    if (!*out)
        return nomem();
    for (uint32_t i = 0; i < n; i++) {
        fb_table child;
        tst_wire_kind child_wire;
        if (!fb_vector_table(&w->buf, first, i, &child))
            return malformed("a child field lies outside the buffer");
        *count = i + 1; /* counted first: a partly decoded child is released too */
        int rc = arrow_field(w, &child, depth + 1, &(*out)[i], &child_wire);
        if (rc != 0)
            return rc;
    }
    return 0;
}

static void free_fields(tst_field *fields, size_t count)
{
    for (size_t i = 0; i < count; i++)
        tst_source_field_clear(&fields[i]);
    free(fields);
}

static int map_struct(arrow_walk *w, const fb_table *ft, int depth, tst_type *out)
{
    out->kind = TST_TYPE_STRUCT;
    return arrow_children(w, ft, depth, &out->fields, &out->field_count);
}

/* List, and the list-likes that reuse its shape (large, fixed-size, views). */
static int map_list(arrow_walk *w, const fb_table *ft, int depth, tst_type *out)
{
    tst_field *kids;
    size_t n;
    out->kind = TST_TYPE_LIST;
    int rc = arrow_children(w, ft, depth, &kids, &n);
    if (rc == 0 && n != 1)
        rc = malformed("a list does not have exactly one child");
    if (rc == 0 && !(out->element = malloc(sizeof *out->element)))
        rc = nomem();
    if (rc == 0) {
        *out->element = kids[0]; /* moved: only the array is left to free */
        n = 0;
    }
    free_fields(kids, n);
    return rc;
}

/* The single child field of a field (a Map's "entries"). */
static int only_child(const arrow_walk *w, const fb_table *ft, fb_table *out)
{
    size_t first = 0;
    uint32_t n;
    if (!fb_vector(ft, 5, &first, &n) || n != 1 || !fb_vector_table(&w->buf, first, 0, out))
        return malformed("a map does not have one entries child");
    return 0;
}

static int map_entry(arrow_walk *w, const fb_buf *b, size_t first, uint32_t i, int depth,
                     tst_field **slot)
{
    fb_table t;
    tst_wire_kind ignored;
    if (!fb_vector_table(b, first, i, &t))
        return malformed("a map entry field lies outside the buffer");
    *slot = calloc(1, sizeof **slot);
    if (!*slot)
        return nomem();
    return arrow_field(w, &t, depth, *slot, &ignored);
}

/* Map<entries: Struct<key, value>>; a Null value type makes a keys-only map. */
static int map_map(arrow_walk *w, const fb_table *ft, const fb_table *tt, int depth,
                   tst_type *out)
{
    int64_t sorted, entries_id, value_id;
    fb_table entries, value_table;
    size_t first = 0;
    uint32_t n;
    out->kind = TST_TYPE_MAP;
    READ_INT(tt, 0, 1, 0, &sorted);
    out->keys_sorted = sorted != 0;
    int rc = only_child(w, ft, &entries);
    if (rc != 0)
        return rc;
    READ_INT(&entries, 2, 1, 0, &entries_id);
    if (entries_id != AT_STRUCT || !fb_vector(&entries, 5, &first, &n) || n != 2 ||
        !fb_vector_table(&w->buf, first, 1, &value_table))
        return malformed("a map's entries are not a struct of key and value");
    READ_INT(&value_table, 2, 1, 0, &value_id);
    rc = custom_metadata(w, &entries, 6, &out->entries_metadata, "map entries field metadata");
    if (rc == 0)
        rc = map_entry(w, &w->buf, first, 0, depth + 2, &out->key);
    if (rc == 0 && value_id != AT_NULL)
        rc = map_entry(w, &w->buf, first, 1, depth + 2, &out->value);
    if (rc == 0 && value_id == AT_NULL)
        rc = custom_metadata(w, &value_table, 6, &out->null_value_metadata,
                             "map value field metadata");
    return rc;
}

/* prefix + the display of `inner` + suffix, as a new string. */
static int compose(char **out, const char *prefix, const tst_type *inner, const char *suffix)
{
    char *text = NULL;
    int rc = format_type_text(inner, &text);
    if (rc != 0)
        return rc;
    size_t len = strlen(prefix) + strlen(text) + strlen(suffix) + 1;
    *out = malloc(len);
    if (*out)
        snprintf(*out, len, "%s%s%s", prefix, text, suffix);
    free(text);
    return *out ? 0 : nomem();
}

/* Turns a decoded type into an OTHER leaf reading prefix<type>suffix, for
 * encodings of a type the logical schema cannot hold (dictionary, large list). */
static int relabel(tst_type *type, tst_wire_kind *wire, const char *prefix, bool of_element,
                   const char *suffix)
{
    char *name = NULL;
    const tst_type *inner = of_element && type->element ? &type->element->type : type;
    int rc = compose(&name, prefix, inner, suffix);
    tst_source_type_clear(type);
    if (rc != 0)
        return rc;
    type->kind = TST_TYPE_OTHER;
    type->other_name = name;
    *wire = TST_WIRE_OTHER;
    return 0;
}

static int map_list_like(arrow_walk *w, int id, const fb_table *ft, const fb_table *tt,
                         int depth, tst_type *out, tst_wire_kind *wire)
{
    int64_t size = 0;
    char suffix[32] = ">";
    if (id == AT_FIXED_LIST) {
        READ_INT(tt, 0, 4, 0, &size);
        snprintf(suffix, sizeof suffix, ">[%lld]", (long long)size);
    }
    int rc = map_list(w, ft, depth, out);
    if (rc != 0)
        return rc;
    const char *prefix = id == AT_LARGE_LIST     ? "large_list<"
                         : id == AT_FIXED_LIST   ? "fixed_size_list<"
                         : id == AT_LIST_VIEW    ? "list_view<"
                                                 : "large_list_view<";
    if (id == AT_LARGE_LIST || id == AT_FIXED_LIST)
        return tst_source_mark_list(out, wire, prefix, suffix);
    return relabel(out, wire, prefix, true, suffix);
}

/* Another encoding of a plain type's values (large_utf8, views). */
static int encoded(tst_type *out, tst_wire_kind *wire, tst_type_kind kind, const char *incoming)
{
    exact(out, wire, kind);
    int rc = tst_source_type_mark(out, wire, TST_WIRE_ENCODED, incoming);
    return rc == TST_ENOMEM ? nomem() : rc;
}

/* Types without parameters or children. */
static int map_simple(int id, tst_type *out, tst_wire_kind *wire)
{
    switch (id) {
    case AT_BINARY: return exact(out, wire, TST_TYPE_BINARY);
    case AT_UTF8: return exact(out, wire, TST_TYPE_UTF8);
    case AT_BOOL: return exact(out, wire, TST_TYPE_BOOL);
    case AT_NULL: return other(out, wire, "null");
    case AT_UNION: return other(out, wire, "union");
    case AT_LARGE_BINARY: return encoded(out, wire, TST_TYPE_BINARY, "large_binary");
    case AT_LARGE_UTF8: return encoded(out, wire, TST_TYPE_UTF8, "large_utf8");
    case AT_RUN_END: return other(out, wire, "run_end_encoded");
    case AT_BINARY_VIEW: return encoded(out, wire, TST_TYPE_BINARY, "binary_view");
    case AT_UTF8_VIEW: return encoded(out, wire, TST_TYPE_UTF8, "utf8_view");
    default: return other(out, wire, "arrow type %d", id);
    }
}

static int map_nested(arrow_walk *w, int id, const fb_table *ft, const fb_table *tt, int depth,
                      tst_type *out, tst_wire_kind *wire)
{
    memset(out, 0, sizeof *out);
    int rc;
    switch (id) {
    case AT_STRUCT: rc = map_struct(w, ft, depth, out); break;
    case AT_LIST: rc = map_list(w, ft, depth, out); break;
    case AT_MAP: rc = map_map(w, ft, tt, depth, out); break;
    default: return map_list_like(w, id, ft, tt, depth, out, wire);
    }
    *wire = rc == 0 && tst_source_type_exact(out) ? TST_WIRE_EXACT : TST_WIRE_OTHER;
    return rc;
}

static int arrow_type(arrow_walk *w, const fb_table *ft, int depth, tst_type *out,
                      tst_wire_kind *wire)
{
    int64_t id;
    fb_table tt;
    bool present;
    READ_INT(ft, 2, 1, 0, &id);
    if (!fb_child(ft, 3, &tt, &present))
        return malformed("a field's type lies outside the buffer");
    if (!present)
        return malformed("a field has no type");
    switch (id) {
    case AT_INT: return map_int(&tt, out, wire);
    case AT_FLOAT: return map_float(&tt, out, wire);
    case AT_DECIMAL: return map_decimal(&tt, out, wire);
    case AT_TIMESTAMP: return map_timestamp(&tt, out, wire);
    case AT_FIXED_BINARY: return map_fixed_binary(&tt, out, wire);
    case AT_DATE:
    case AT_TIME:
    case AT_DURATION:
    case AT_INTERVAL: return map_temporal((int)id, &tt, out, wire);
    case AT_STRUCT:
    case AT_LIST:
    case AT_MAP:
    case AT_LARGE_LIST:
    case AT_FIXED_LIST:
    case AT_LIST_VIEW:
    case AT_LARGE_LIST_VIEW: return map_nested(w, (int)id, ft, &tt, depth, out, wire);
    default: return map_simple((int)id, out, wire);
    }
}

/* On failure `out` may be partly filled; the caller clears it. */
static int arrow_field(arrow_walk *w, const fb_table *ft, int depth, tst_field *out,
                       tst_wire_kind *wire)
{
    int64_t nullable;
    bool present, dictionary;
    fb_table dict;
    memset(out, 0, sizeof *out);
    if (depth > ARROW_MAX_DEPTH)
        return malformed("fields nest too deeply");
    if (w->budget == 0)
        return malformed("too many fields");
    w->budget--;
    if (!fb_string(ft, 0, &out->name, &present))
        return malformed("a field name lies outside the buffer");
    if (!present)
        out->name = strdup(""); /* Arrow allows a field without a name */
    if (!out->name)
        return nomem();
    READ_INT(ft, 1, 1, 0, &nullable);
    out->nullable = nullable != 0;
    if (!fb_child(ft, 4, &dict, &dictionary))
        return malformed("a dictionary encoding lies outside the buffer");
    int rc = arrow_type(w, ft, depth, &out->type, wire);
    if (rc == 0 && dictionary)
        rc = tst_source_type_dictionary(&out->type, wire);
    if (rc == 0) {
        char what[160];
        snprintf(what, sizeof what, "field '%.100s' metadata", out->name);
        rc = custom_metadata(w, ft, 6, &out->metadata, what);
    }
    return rc;
}

/* ---- the message ------------------------------------------------------- */

/* Strips the IPC framing: continuation marker and length, or the legacy length. */
static int unframe(fb_buf *b)
{
    uint32_t word, len;
    size_t skip = 4;
    if (!fb_u32(b, 0, &word))
        return malformed("too short for an IPC message");
    len = word;
    if (word == 0xFFFFFFFFu) {
        if (!fb_u32(b, 4, &len))
            return malformed("too short for an IPC message");
        skip = 8;
    }
    if (len == 0 || len > b->n - skip)
        return malformed("the message length exceeds the bytes");
    b->p += skip;
    b->n = len;
    return 0;
}

/* The Schema table of a Message. */
static int schema_table(const fb_buf *b, fb_table *schema)
{
    uint32_t root;
    fb_table msg;
    int64_t header_type;
    bool present;
    if (!fb_u32(b, 0, &root) || !fb_table_at(b, root, &msg))
        return malformed("no message table");
    READ_INT(&msg, 1, 1, 0, &header_type);
    if (header_type != MESSAGE_HEADER_SCHEMA)
        return malformed("the message is not a schema");
    if (!fb_child(&msg, 2, schema, &present) || !present)
        return malformed("the schema table lies outside the buffer");
    return 0;
}

static int decode_fields(arrow_walk *w, const fb_table *schema, tst_source_column **out,
                         size_t *out_count)
{
    size_t first = 0;
    uint32_t n;
    if (!fb_vector(schema, 1, &first, &n))
        return malformed("the field vector lies outside the buffer");
    if (n > w->budget)
        return malformed("too many fields");
    tst_source_column *cols = calloc(n ? n : 1, sizeof *cols);
    if (!cols)
        return nomem();
    int rc = 0;
    size_t done = 0;
    for (; rc == 0 && done < n; done++) {
        fb_table ft;
        tst_field field;
        tst_wire_kind wire = TST_WIRE_OTHER;
        if (!fb_vector_table(&w->buf, first, (uint32_t)done, &ft)) {
            rc = malformed("a field lies outside the buffer");
            break;
        }
        rc = arrow_field(w, &ft, 0, &field, &wire);
        if (rc != 0)
            tst_source_field_clear(&field);
        else
            rc = tst_source_column_take(&cols[done], &field, wire);
    }
    if (rc != 0) {
        tst_source_columns_free(cols, done);
        return rc;
    }
    *out = cols;
    *out_count = n;
    return 0;
}

int tst_arrow_schema_decode(const char *base64, size_t len, tst_source_column **out,
                            size_t *out_count, tst_metadata *schema_metadata)
{
    uint8_t *bytes = NULL;
    size_t n = 0;
    fb_table schema;
    *out = NULL;
    *out_count = 0;
    int rc = base64_decode(base64, len, &bytes, &n);
    if (rc != 0)
        return rc;
    arrow_walk w = {{bytes, n}, ARROW_MAX_FIELDS};
    rc = unframe(&w.buf);
    if (rc == 0)
        rc = schema_table(&w.buf, &schema);
    if (rc == 0)
        rc = decode_fields(&w, &schema, out, out_count);
    if (rc == 0 && schema_metadata) {
        tst_metadata md = {NULL, 0};
        rc = custom_metadata(&w, &schema, 2, &md, "schema metadata");
        if (rc == 0)
            *schema_metadata = md;
        else
            tst_metadata_clear(&md);
    }
    if (rc != 0 && *out) {
        tst_source_columns_free(*out, *out_count);
        *out = NULL;
        *out_count = 0;
    }
    free(bytes);
    return rc;
}
