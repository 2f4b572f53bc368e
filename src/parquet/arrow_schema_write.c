/*
 * arrow_schema_write.c — the table's logical schema as an Arrow IPC Schema
 * message, the "ARROW:schema" value segment files carry (see
 * arrow_schema_write.h). Schemas are small (a few dozen fields), written
 * once per segment; clarity wins over speed here.
 *
 * The message is a flatbuffer, built by the small writer below rather
 * than a flatbuffers library, as arrow_schema.c reads it without one.
 * The flatbuffer layout, all little-endian:
 *
 *   buffer  u32 uoffset of the root table (the Message), then objects
 *   vtable  u16 vtable bytes, u16 table bytes, one u16 per slot: the
 *           slot's offset inside the table, 0 when absent (the reader
 *           then uses the schema's default)
 *   table   i32 soffset (the vtable lies at table - soffset), then the
 *           slots: scalars and u32 uoffsets
 *   string  u32 byte count, the bytes, a NUL
 *   vector  u32 count, then count u32 uoffsets (here: to Field tables)
 *   union   two slots: a u8 type id (`type_type`) and a uoffset to the
 *           table of that type (`type`)
 *
 * A uoffset is relative to the slot holding it and must point forward,
 * so the writer works front to back: a table is written with its
 * reference slots zeroed, what it refers to is written after it, and the
 * slots are patched then. Alignment: each scalar sits at a multiple of
 * its size (the table starts at a multiple of its largest scalar, at
 * least 4, and lays scalars out largest first); tables, strings and
 * vectors start at multiples of 4; vtables at multiples of 2. The buffer
 * is padded to a multiple of 8 and follows the 8-byte IPC prefix, so the
 * alignment holds in the framed message as well.
 *
 * Like the flatbuffers builders arrow-rs uses, the writer leaves out a
 * scalar equal to its default (nullable=false, is_signed=false, a
 * Decimal's bitWidth 128, Little endianness, bodyLength 0) and trims a
 * vtable after its last present slot; every Field gets a children
 * vector, empty for a leaf, and no dictionary or custom metadata.
 */
#include "arrow_schema_write.h"

#include "fail.h"

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#define FB_MAX_BYTES (64u << 20) /* the largest message arrow_schema.c decodes */
#define FB_MAX_SLOTS 8           /* the widest table written (Field) has 6 */
#define ARROW_WRITE_MAX_DEPTH 64 /* arrow_schema.c refuses deeper nesting */

/* Arrow's Type union ids (Schema.fbs) for the types a table can hold. */
enum {
    AT_NULL = 1,
    AT_INT = 2,
    AT_FLOAT = 3,
    AT_BINARY = 4,
    AT_UTF8 = 5,
    AT_BOOL = 6,
    AT_DECIMAL = 7,
    AT_TIMESTAMP = 10,
    AT_LIST = 12,
    AT_STRUCT = 13,
    AT_FIXED_BINARY = 15,
    AT_MAP = 17
};
enum { METADATA_V5 = 4, HEADER_SCHEMA = 1, ENDIAN_LITTLE = 0 };
enum { PRECISION_SINGLE = 1, PRECISION_DOUBLE = 2 };

/* Slot numbers of the tables written (Message.fbs, Schema.fbs). */
enum { MESSAGE_VERSION, MESSAGE_HEADER_TYPE, MESSAGE_HEADER };
enum { SCHEMA_ENDIANNESS, SCHEMA_FIELDS };
enum { FIELD_NAME, FIELD_NULLABLE, FIELD_TYPE_TYPE, FIELD_TYPE, FIELD_DICTIONARY, FIELD_CHILDREN };
enum { TIMESTAMP_UNIT, TIMESTAMP_TIMEZONE };

/* ---- the flatbuffer writer -------------------------------------------- */

typedef struct fbw {
    uint8_t *p;
    size_t len, cap;
    int rc; /* 0, or why the buffer stopped growing; later writes are dropped */
} fbw;

typedef struct fb_slot {
    uint8_t size;   /* 1, 2, 4 or 8 bytes; 0 when the slot is absent */
    bool ref;       /* a uoffset, patched with fbw_set_ref() once its target exists */
    uint64_t value; /* a scalar's value */
} fb_slot;

static const fb_slot FB_REF = {4, true, 0};

/* A scalar slot, absent when it equals the schema's default. */
static fb_slot fb_scalar(uint8_t size, int64_t value, int64_t dflt)
{
    fb_slot s = {0, false, 0};
    if (value != dflt)
        s = (fb_slot){size, false, (uint64_t)value};
    return s;
}

/* Appends `size` zero bytes at the next multiple of `align` (a power of
 * two) and returns their position; SIZE_MAX once the writer has failed. */
static size_t fbw_reserve(fbw *w, size_t align, size_t size)
{
    size_t pos = (w->len + align - 1) & ~(align - 1);
    if (w->rc == 0 && pos + size > FB_MAX_BYTES)
        w->rc = TST_EINVAL;
    if (w->rc == 0 && pos + size > w->cap) {
        size_t cap = w->cap ? w->cap : 512;
        while (cap < pos + size)
            cap *= 2;
        uint8_t *p = realloc(w->p, cap);
        if (p) {
            w->p = p;
            w->cap = cap;
        } else {
            w->rc = TST_ENOMEM;
        }
    }
    if (w->rc != 0)
        return SIZE_MAX;
    memset(w->p + w->len, 0, pos + size - w->len);
    w->len = pos + size;
    return pos;
}

/* Writes v's low `size` bytes at pos. Every position handed out before a
 * failure is inside the buffer; after one, nothing is written. */
static void fbw_put(fbw *w, size_t pos, uint64_t v, size_t size)
{
    if (w->rc != 0)
        return;
    for (size_t i = 0; i < size; i++)
        w->p[pos + i] = (uint8_t)(v >> (8 * i));
}

static uint64_t fbw_get(const fbw *w, size_t pos, size_t size)
{
    uint64_t v = 0;
    for (size_t i = 0; w->rc == 0 && i < size; i++)
        v |= (uint64_t)w->p[pos + i] << (8 * i);
    return v;
}

/* Points the uoffset at `at` to `target`, written after it. */
static void fbw_put_ref(fbw *w, size_t at, size_t target)
{
    fbw_put(w, at, target - at, 4);
}

/* Slot offsets inside a table: 4-byte soffset first, then the present
 * slots largest first, each at a multiple of its size. Returns the table
 * size; *align is the largest scalar (at least 4). */
static size_t fb_layout(const fb_slot *slots, int n, uint16_t *offs, size_t *align)
{
    static const uint8_t SIZES[] = {8, 4, 2, 1};
    size_t end = 4;
    *align = 4;
    for (size_t k = 0; k < sizeof SIZES; k++) {
        for (int i = 0; i < n; i++) {
            if (slots[i].size != SIZES[k])
                continue;
            end = (end + SIZES[k] - 1) & ~(size_t)(SIZES[k] - 1);
            offs[i] = (uint16_t)end;
            end += SIZES[k];
            if (SIZES[k] > *align)
                *align = SIZES[k];
        }
    }
    return end;
}

/* Writes a vtable and its table; reference slots stay zero until
 * fbw_set_ref(). Returns the table's position. */
static size_t fbw_table(fbw *w, const fb_slot *slots, int n)
{
    uint16_t offs[FB_MAX_SLOTS] = {0};
    size_t align;
    while (n > 0 && slots[n - 1].size == 0)
        n--; /* the vtable ends at the last present slot */
    if (n > FB_MAX_SLOTS && w->rc == 0)
        w->rc = TST_EINVAL; /* a caller's mistake, never the schema's */
    if (w->rc != 0)
        return SIZE_MAX;
    size_t size = fb_layout(slots, n, offs, &align);
    size_t vt = fbw_reserve(w, 2, 4 + 2 * (size_t)n);
    size_t t = fbw_reserve(w, align, size);
    fbw_put(w, vt, 4 + 2 * (uint64_t)n, 2);
    fbw_put(w, vt + 2, size, 2);
    for (int i = 0; i < n; i++)
        fbw_put(w, vt + 4 + 2 * (size_t)i, offs[i], 2);
    fbw_put(w, t, t - vt, 4); /* positive: the vtable precedes its table */
    for (int i = 0; i < n; i++)
        if (slots[i].size != 0 && !slots[i].ref)
            fbw_put(w, t + offs[i], slots[i].value, slots[i].size);
    return t;
}

/* Patches reference slot `slot` of `table` (found through its vtable). */
static void fbw_set_ref(fbw *w, size_t table, int slot, size_t target)
{
    size_t vt = table - fbw_get(w, table, 4);
    size_t entry = 4 + 2 * (size_t)slot;
    if (w->rc == 0 && entry < fbw_get(w, vt, 2))
        fbw_put_ref(w, table + fbw_get(w, vt + entry, 2), target);
}

static size_t fbw_string(fbw *w, const char *s)
{
    size_t len = strlen(s);
    size_t pos = fbw_reserve(w, 4, 4 + len + 1); /* the NUL is already zero */
    fbw_put(w, pos, len, 4);
    if (w->rc == 0)
        memcpy(w->p + pos + 4, s, len);
    return pos;
}

/* A vector of `count` uoffsets, filled with fbw_set_element(). */
static size_t fbw_vector(fbw *w, size_t count)
{
    if (w->rc == 0 && count > FB_MAX_BYTES / 4)
        w->rc = TST_EINVAL; /* before 4 * count could wrap */
    size_t pos = fbw_reserve(w, 4, 4 + 4 * count);
    fbw_put(w, pos, count, 4);
    return pos;
}

static void fbw_set_element(fbw *w, size_t vector, size_t i, size_t target)
{
    fbw_put_ref(w, vector + 4 + 4 * i, target);
}

/* ---- Arrow fields -------------------------------------------------------- */

typedef struct arrow_enc {
    fbw w;
    const char *column; /* the top-level column being encoded, for messages */
} arrow_enc;

/* What a type becomes: the union id and the scalars of its type table. */
typedef struct type_plan {
    uint8_t id;
    fb_slot slots[3];
    int nslots;
    const char *timezone; /* Timestamp: a string slot, or NULL */
} type_plan;

static int unsupported(const arrow_enc *e, const tst_type *t)
{
    char text[128];
    if (tst_type_format(t, text, sizeof text) < 0)
        strcpy(text, "this type");
    return tst_fail(TST_EUNSUPPORTED,
                    "column '%s' holds %s, which has no exact Arrow type; it cannot be "
                    "described in an ARROW:schema",
                    e->column, text);
}

static int invalid(const arrow_enc *e, const char *why)
{
    return tst_fail(TST_EINVAL, "column '%s' is not a valid logical type for ARROW:schema: %s",
                    e->column, why);
}

static void plan_int(type_plan *p, int bits, bool is_signed)
{
    p->id = AT_INT;
    p->slots[0] = fb_scalar(4, bits, 0);
    p->slots[1] = fb_scalar(1, is_signed, 0);
    p->nslots = 2;
}

static void plan_one(type_plan *p, uint8_t id, uint8_t size, int64_t value)
{
    p->id = id;
    p->slots[0] = fb_scalar(size, value, 0);
    p->nslots = 1;
}

/* Decimal128 holds precision 1..38, Decimal256 39..76 (format §1.7). */
static int plan_decimal(const arrow_enc *e, const tst_type *t, type_plan *p)
{
    if (t->precision < 1 || t->precision > 76 || t->scale < 0 || (uint32_t)t->scale > t->precision)
        return invalid(e, "decimal precision must be 1..76 and scale 0..precision");
    p->id = AT_DECIMAL;
    p->slots[0] = fb_scalar(4, t->precision, 0);
    p->slots[1] = fb_scalar(4, t->scale, 0);
    p->slots[2] = fb_scalar(4, t->precision <= 38 ? 128 : 256, 128);
    p->nslots = 3;
    return 0;
}

static int plan_timestamp(const arrow_enc *e, const tst_type *t, type_plan *p)
{
    if (t->unit < TST_PRECISION_MILLIS || t->unit > TST_PRECISION_NANOS)
        return invalid(e, "a timestamp's unit must be millis, micros or nanos");
    /* tst's MILLIS=1, MICROS=2, NANOS=3 are Arrow's TimeUnit values too. */
    plan_one(p, AT_TIMESTAMP, 2, t->unit);
    if (t->timezone) {
        p->slots[TIMESTAMP_TIMEZONE] = FB_REF;
        p->nslots = 2;
        p->timezone = t->timezone;
    }
    return 0;
}

static int plan_nested(const arrow_enc *e, const tst_type *t, type_plan *p)
{
    switch (t->kind) {
    case TST_TYPE_STRUCT:
        if (t->field_count == 0 || !t->fields)
            return invalid(e, "a struct needs at least one field");
        p->id = AT_STRUCT;
        return 0;
    case TST_TYPE_LIST:
        if (!t->element)
            return invalid(e, "a list needs an element field");
        p->id = AT_LIST;
        return 0;
    default: /* TST_TYPE_MAP */
        if (!t->key || t->key->nullable)
            return invalid(e, "a map needs a non-nullable key field");
        plan_one(p, AT_MAP, 1, t->keys_sorted);
        return 0;
    }
}

static int plan_type(const arrow_enc *e, const tst_type *t, type_plan *p)
{
    memset(p, 0, sizeof *p);
    switch (t->kind) {
    case TST_TYPE_BOOL: p->id = AT_BOOL; return 0;
    case TST_TYPE_INT32: plan_int(p, 32, true); return 0;
    case TST_TYPE_INT64: plan_int(p, 64, true); return 0;
    case TST_TYPE_UINT64: plan_int(p, 64, false); return 0;
    case TST_TYPE_FLOAT32: plan_one(p, AT_FLOAT, 2, PRECISION_SINGLE); return 0;
    case TST_TYPE_FLOAT64: plan_one(p, AT_FLOAT, 2, PRECISION_DOUBLE); return 0;
    case TST_TYPE_BINARY: p->id = AT_BINARY; return 0;
    case TST_TYPE_UTF8: p->id = AT_UTF8; return 0;
    case TST_TYPE_FIXED_BINARY:
        if (t->byte_width <= 0)
            return invalid(e, "a fixed binary's byte width must be positive");
        plan_one(p, AT_FIXED_BINARY, 4, t->byte_width);
        return 0;
    case TST_TYPE_TIMESTAMP: return plan_timestamp(e, t, p);
    case TST_TYPE_DECIMAL: return plan_decimal(e, t, p);
    case TST_TYPE_STRUCT:
    case TST_TYPE_LIST:
    case TST_TYPE_MAP: return plan_nested(e, t, p);
    case TST_TYPE_INT96:
    case TST_TYPE_OTHER: return unsupported(e, t);
    default: return invalid(e, "unknown type kind");
    }
}

/* Writes a Field table with its name; the caller adds type and children. */
static size_t field_begin(arrow_enc *e, const char *name, bool nullable, uint8_t type_id)
{
    fb_slot slots[] = {FB_REF, fb_scalar(1, nullable, 0),      fb_scalar(1, type_id, 0),
                       FB_REF, {0, false, 0} /* dictionary */, FB_REF};
    size_t field = fbw_table(&e->w, slots, (int)(sizeof slots / sizeof slots[0]));
    fbw_set_ref(&e->w, field, FIELD_NAME, fbw_string(&e->w, name ? name : ""));
    return field;
}

/* The field's type table (and timezone string). */
static void field_type(arrow_enc *e, size_t field, const type_plan *p)
{
    size_t table = fbw_table(&e->w, p->slots, p->nslots);
    fbw_set_ref(&e->w, field, FIELD_TYPE, table);
    if (p->timezone)
        fbw_set_ref(&e->w, table, TIMESTAMP_TIMEZONE, fbw_string(&e->w, p->timezone));
}

/* The field's children vector, `count` entries to fill. */
static size_t field_children(arrow_enc *e, size_t field, size_t count)
{
    size_t vector = fbw_vector(&e->w, count);
    fbw_set_ref(&e->w, field, FIELD_CHILDREN, vector);
    return vector;
}

static int encode_field(arrow_enc *e, const tst_field *f, int depth, size_t *out);

/* A keys-only map's value: a nullable field of Arrow's Null type. */
static size_t encode_null_value(arrow_enc *e)
{
    type_plan null_type = {.id = AT_NULL};
    size_t field = field_begin(e, "value", true, AT_NULL);
    field_type(e, field, &null_type);
    field_children(e, field, 0);
    return field;
}

/* A map's single child: entries, a non-null Struct<key, value>. */
static int encode_entries(arrow_enc *e, const tst_type *map, int depth, size_t *out)
{
    type_plan struct_type = {.id = AT_STRUCT};
    size_t key, value, entries = field_begin(e, "entries", false, AT_STRUCT);
    field_type(e, entries, &struct_type);
    size_t vector = field_children(e, entries, 2);
    int rc = encode_field(e, map->key, depth + 1, &key);
    if (rc != 0)
        return rc;
    fbw_set_element(&e->w, vector, 0, key);
    if (map->value) {
        rc = encode_field(e, map->value, depth + 1, &value);
        if (rc != 0)
            return rc;
    } else {
        value = encode_null_value(e);
    }
    fbw_set_element(&e->w, vector, 1, value);
    *out = entries;
    return 0;
}

/* Struct fields, a list's element, or a map's entries; none for a leaf. */
static int encode_children(arrow_enc *e, size_t field, const tst_type *t, int depth)
{
    bool is_struct = t->kind == TST_TYPE_STRUCT;
    bool has_one = t->kind == TST_TYPE_LIST || t->kind == TST_TYPE_MAP;
    size_t count = is_struct ? t->field_count : has_one ? 1 : 0;
    size_t vector = field_children(e, field, count);
    for (size_t i = 0; i < count; i++) {
        size_t child;
        int rc = t->kind == TST_TYPE_MAP
                     ? encode_entries(e, t, depth + 1, &child)
                     : encode_field(e, is_struct ? &t->fields[i] : t->element, depth + 1, &child);
        if (rc != 0)
            return rc;
        fbw_set_element(&e->w, vector, i, child);
    }
    return 0;
}

/* Depth counts like arrow_schema.c: a column is 0, each nesting adds 1. */
static int encode_field(arrow_enc *e, const tst_field *f, int depth, size_t *out)
{
    type_plan plan;
    if (depth > ARROW_WRITE_MAX_DEPTH)
        return invalid(e, "types nest deeper than an ARROW:schema reader accepts");
    int rc = plan_type(e, &f->type, &plan);
    if (rc != 0)
        return rc;
    size_t field = field_begin(e, f->name, f->nullable, plan.id);
    field_type(e, field, &plan);
    rc = encode_children(e, field, &f->type, depth);
    *out = field;
    return rc;
}

/* ---- the message ------------------------------------------------------- */

/* Message{version V5, header: Schema{fields}}: the flatbuffer in e->w. */
static int encode_flatbuffer(arrow_enc *e, const tst_schema *schema)
{
    fbw *w = &e->w;
    size_t root = fbw_reserve(w, 4, 4);
    fb_slot msg_slots[] = {fb_scalar(2, METADATA_V5, 0), fb_scalar(1, HEADER_SCHEMA, 0), FB_REF};
    size_t msg = fbw_table(w, msg_slots, 3);
    fbw_put_ref(w, root, msg);
    fb_slot schema_slots[] = {fb_scalar(2, ENDIAN_LITTLE, ENDIAN_LITTLE), FB_REF};
    size_t header = fbw_table(w, schema_slots, 2);
    fbw_set_ref(w, msg, MESSAGE_HEADER, header);
    size_t fields = fbw_vector(w, schema->column_count);
    fbw_set_ref(w, header, SCHEMA_FIELDS, fields);
    for (size_t i = 0; i < schema->column_count; i++) {
        size_t field;
        e->column = schema->columns[i].name ? schema->columns[i].name : "";
        int rc = encode_field(e, &schema->columns[i], 0, &field);
        if (rc != 0)
            return rc;
        fbw_set_element(w, fields, i, field);
    }
    if (w->rc == TST_ENOMEM)
        return tst_fail(TST_ENOMEM, "out of memory encoding an ARROW:schema");
    if (w->rc != 0)
        return tst_fail(w->rc, "the schema's ARROW:schema would exceed %u bytes", FB_MAX_BYTES);
    return 0;
}

/* 0xFFFFFFFF, the padded length, the flatbuffer, zero padding to 8. */
static int frame(const fbw *w, uint8_t **out, size_t *out_len)
{
    size_t body = (w->len + 7) & ~(size_t)7;
    uint8_t *msg = calloc(1, 8 + body);
    if (!msg)
        return tst_fail(TST_ENOMEM, "out of memory encoding an ARROW:schema");
    memset(msg, 0xFF, 4);
    for (int i = 0; i < 4; i++)
        msg[4 + i] = (uint8_t)(body >> (8 * i));
    memcpy(msg + 8, w->p, w->len);
    *out = msg;
    *out_len = 8 + body;
    return 0;
}

int tst_arrow_schema_encode_message(const tst_schema *schema, uint8_t **out, size_t *out_len)
{
    *out = NULL;
    *out_len = 0;
    if (!schema || (schema->column_count > 0 && !schema->columns))
        return tst_fail(TST_EINVAL, "no schema to encode as ARROW:schema");
    arrow_enc e = {{NULL, 0, 0, 0}, ""};
    int rc = encode_flatbuffer(&e, schema);
    if (rc == 0)
        rc = frame(&e.w, out, out_len);
    free(e.w.p);
    return rc;
}

/* ---- base64 ------------------------------------------------------------ */

static char *base64_encode(const uint8_t *bytes, size_t n)
{
    static const char ABC[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    char *text = malloc((n + 2) / 3 * 4 + 1);
    if (!text)
        return NULL;
    size_t o = 0;
    for (size_t i = 0; i < n; i += 3) {
        size_t left = n - i;
        uint32_t v = (uint32_t)bytes[i] << 16;
        if (left > 1)
            v |= (uint32_t)bytes[i + 1] << 8;
        if (left > 2)
            v |= bytes[i + 2];
        text[o++] = ABC[v >> 18 & 63];
        text[o++] = ABC[v >> 12 & 63];
        text[o++] = left > 1 ? ABC[v >> 6 & 63] : '=';
        text[o++] = left > 2 ? ABC[v & 63] : '=';
    }
    text[o] = '\0';
    return text;
}

int tst_arrow_schema_encode(const tst_schema *schema, char **out_base64)
{
    uint8_t *msg = NULL;
    size_t len = 0;
    *out_base64 = NULL;
    int rc = tst_arrow_schema_encode_message(schema, &msg, &len);
    if (rc != 0)
        return rc;
    *out_base64 = base64_encode(msg, len);
    free(msg);
    if (!*out_base64)
        return tst_fail(TST_ENOMEM, "out of memory encoding an ARROW:schema");
    return 0;
}
