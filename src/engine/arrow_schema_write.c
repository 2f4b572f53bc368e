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
 * vector, empty for a leaf, and no dictionary. Annotations (schema_metadata)
 * become custom_metadata, a vector of KeyValue{key, value} tables, on the
 * Schema and on each annotated Field (the map's entries and a keys-only
 * map's Null value included), in key order; without annotations the slot is
 * absent, as arrow-rs leaves it.
 */
#include "arrow_schema_write.h"
#include "flatbuf.h"

#include "fail.h"

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

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
enum { SCHEMA_ENDIANNESS, SCHEMA_FIELDS, SCHEMA_CUSTOM_METADATA };
enum { FIELD_NAME, FIELD_NULLABLE, FIELD_TYPE_TYPE, FIELD_TYPE, FIELD_DICTIONARY, FIELD_CHILDREN,
       FIELD_CUSTOM_METADATA };
enum { KEYVALUE_KEY, KEYVALUE_VALUE };
enum { TIMESTAMP_UNIT, TIMESTAMP_TIMEZONE };

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
    p->slots[0] = fb_scalar_unless(4, bits, 0);
    p->slots[1] = fb_scalar_unless(1, is_signed, 0);
    p->nslots = 2;
}

static void plan_one(type_plan *p, uint8_t id, uint8_t size, int64_t value)
{
    p->id = id;
    p->slots[0] = fb_scalar_unless(size, value, 0);
    p->nslots = 1;
}

/* Decimal128 holds precision 1..38, Decimal256 39..76 (format §1.7). */
static int plan_decimal(const arrow_enc *e, const tst_type *t, type_plan *p)
{
    if (t->precision < 1 || t->precision > 76 || t->scale < 0 || (uint32_t)t->scale > t->precision)
        return invalid(e, "decimal precision must be 1..76 and scale 0..precision");
    p->id = AT_DECIMAL;
    p->slots[0] = fb_scalar_unless(4, t->precision, 0);
    p->slots[1] = fb_scalar_unless(4, t->scale, 0);
    p->slots[2] = fb_scalar_unless(4, t->precision <= 38 ? 128 : 256, 128);
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

/* The KeyValue vector of `md`, pointed to from slot `slot` of `table`. */
static void custom_metadata(arrow_enc *e, size_t table, int slot, const tst_metadata *md)
{
    if (!md || md->count == 0)
        return;
    size_t vector = fbw_vector(&e->w, md->count);
    fbw_set_ref(&e->w, table, slot, vector);
    for (size_t i = 0; i < md->count; i++) {
        fb_slot slots[] = {FB_REF, FB_REF};
        size_t kv = fbw_table(&e->w, slots, 2);
        fbw_set_element(&e->w, vector, i, kv);
        const tst_kv *item = &md->items[i];
        fbw_set_ref(&e->w, kv, KEYVALUE_KEY, fbw_string(&e->w, item->key, strlen(item->key)));
        fbw_set_ref(&e->w, kv, KEYVALUE_VALUE,
                    fbw_string(&e->w, item->value, strlen(item->value)));
    }
}

/* Writes a Field table with its name and annotations; the caller adds type
 * and children. */
static size_t field_begin(arrow_enc *e, const char *name, bool nullable, uint8_t type_id,
                          const tst_metadata *md)
{
    fb_slot slots[] = {FB_REF, fb_scalar_unless(1, nullable, 0), fb_scalar_unless(1, type_id, 0),
                       FB_REF, {0, false, 0} /* dictionary */, FB_REF, FB_REF};
    bool annotated = md && md->count > 0;
    size_t field = fbw_table(&e->w, slots, (int)(sizeof slots / sizeof slots[0]) - !annotated);
    const char *text = name ? name : "";
    fbw_set_ref(&e->w, field, FIELD_NAME, fbw_string(&e->w, text, strlen(text)));
    custom_metadata(e, field, FIELD_CUSTOM_METADATA, md);
    return field;
}

/* The field's type table (and timezone string). */
static void field_type(arrow_enc *e, size_t field, const type_plan *p)
{
    size_t table = fbw_table(&e->w, p->slots, p->nslots);
    fbw_set_ref(&e->w, field, FIELD_TYPE, table);
    if (p->timezone)
        fbw_set_ref(&e->w, table, TIMESTAMP_TIMEZONE,
                    fbw_string(&e->w, p->timezone, strlen(p->timezone)));
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
static size_t encode_null_value(arrow_enc *e, const tst_metadata *md)
{
    type_plan null_type = {.id = AT_NULL};
    size_t field = field_begin(e, "value", true, AT_NULL, md);
    field_type(e, field, &null_type);
    field_children(e, field, 0);
    return field;
}

/* A map's single child: entries, a non-null Struct<key, value>. */
static int encode_entries(arrow_enc *e, const tst_type *map, int depth, size_t *out)
{
    type_plan struct_type = {.id = AT_STRUCT};
    size_t key, value,
        entries = field_begin(e, "entries", false, AT_STRUCT, &map->entries_metadata);
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
        value = encode_null_value(e, &map->null_value_metadata);
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
    size_t field = field_begin(e, f->name, f->nullable, plan.id, &f->metadata);
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
    size_t root = fbw_reserve(w, 4, 0, 4);
    fb_slot msg_slots[] = {fb_scalar_unless(2, METADATA_V5, 0),
                           fb_scalar_unless(1, HEADER_SCHEMA, 0), FB_REF};
    size_t msg = fbw_table(w, msg_slots, 3);
    fbw_put_ref(w, root, msg);
    fb_slot schema_slots[] = {fb_scalar_unless(2, ENDIAN_LITTLE, ENDIAN_LITTLE), FB_REF, FB_REF};
    size_t header = fbw_table(w, schema_slots, schema->metadata.count > 0 ? 3 : 2);
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
    custom_metadata(e, header, SCHEMA_CUSTOM_METADATA, &schema->metadata);
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
