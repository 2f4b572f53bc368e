/*
 * arrow_ipc.c — an Arrow C stream (struct ArrowArrayStream) written as an
 * Arrow IPC stream or file, batch by batch: memory holds one batch (the
 * producer's) plus the small metadata of its message, whatever the result's
 * size (the file format also keeps 24 bytes per batch for its footer).
 *
 * The file format (Feather v2) is the stream between a magic and a footer:
 *
 *   file     "ARROW1" 00 00, the stream (end marker included), the Footer
 *            flatbuffer, its int32 LE length, "ARROW1"
 *   Footer   { version V5, schema (the same Schema table), dictionaries [],
 *            recordBatches [Block] }, Block { offset (of the message's
 *            FF FF FF FF), metaDataLength (8 + M), bodyLength }
 *
 * The stream (Arrow columnar format, "IPC Streaming Format"):
 *
 *   stream   Schema message, RecordBatch message per batch, then the
 *            end-of-stream marker FF FF FF FF 00 00 00 00
 *   message  FF FF FF FF (continuation), int32 LE metadata length M,
 *            M bytes: a flatbuffer Message, zero-padded so 8 + M is a
 *            multiple of 8; then the body, bodyLength bytes (0 for Schema)
 *   Message  { version V5, header_type, header, bodyLength }
 *   Schema   { endianness Little, fields [Field], custom_metadata }
 *   Field    { name, nullable, type_type, type (a Type union table),
 *            children [Field], custom_metadata [KeyValue] }
 *   RecordBatch { length, nodes [FieldNode], buffers [Buffer] }
 *            FieldNode {length, null_count} per array, Buffer {offset,
 *            length} per buffer (offset into the body), both depth-first
 *            over the columns' array trees in schema order (an array's
 *            node, its buffers, then its children's)
 *   body     the buffers back to back, each starting at a multiple of 8
 *
 * Buffers per array, in IPC as in the C data interface except Null:
 * validity first (length 0 when the slice has no nulls), then bool bits or
 * fixed-width values; offsets then bytes (utf8, binary and large forms);
 * offsets (list, large list, map) or nothing (struct, fixed-size list)
 * before the children; Null has none (the C interface has none either).
 * Arrays arrive with an `offset` (a slice of larger buffers), which IPC
 * has no field for, so every array is written as the slice [offset,
 * offset + length): values are pointed into in place, and only bitmaps
 * starting off a byte boundary and offsets not starting at 0 are copied
 * (shifted or rebased). A child's slice follows from its parent's (a
 * struct's children share its positions, a list's child spans its
 * offsets, a fixed-size list's child N values per list). DuckDB's arrays
 * all have offset 0; the slicing is there for other producers.
 *
 * The flatbuffers are built by a small writer (the same design as
 * src/engine/arrow_schema_write.c's, see there for the encoding) that
 * writes every scalar explicitly rather than eliding defaults, as several
 * Arrow defaults are not zero (Date's unit, Time's bitWidth).
 */
#include "arrow_ipc.h"
#include "flatbuf.h"

#include "fail.h"

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#define IPC_MAX_DEPTH 64         /* nesting beyond this is refused */

/* Arrow's Type union ids (Schema.fbs). */
enum {
    AT_NULL = 1,
    AT_INT = 2,
    AT_FLOAT = 3,
    AT_BINARY = 4,
    AT_UTF8 = 5,
    AT_BOOL = 6,
    AT_DECIMAL = 7,
    AT_DATE = 8,
    AT_TIME = 9,
    AT_TIMESTAMP = 10,
    AT_INTERVAL = 11,
    AT_LIST = 12,
    AT_STRUCT = 13,
    AT_FIXED_BINARY = 15,
    AT_FIXED_LIST = 16,
    AT_MAP = 17,
    AT_DURATION = 18,
    AT_LARGE_BINARY = 19,
    AT_LARGE_UTF8 = 20,
    AT_LARGE_LIST = 21
};
enum { METADATA_V5 = 4, HEADER_SCHEMA = 1, HEADER_RECORD_BATCH = 3, ENDIAN_LITTLE = 0 };

/* Slot numbers of the tables written (Message.fbs, Schema.fbs). */
enum { MESSAGE_VERSION, MESSAGE_HEADER_TYPE, MESSAGE_HEADER, MESSAGE_BODY_LENGTH };
enum { SCHEMA_ENDIANNESS, SCHEMA_FIELDS, SCHEMA_METADATA };
enum {
    FIELD_NAME,
    FIELD_NULLABLE,
    FIELD_TYPE_TYPE,
    FIELD_TYPE,
    FIELD_DICTIONARY,
    FIELD_CHILDREN,
    FIELD_METADATA
};
enum { BATCH_LENGTH, BATCH_NODES, BATCH_BUFFERS };
enum { KV_KEY, KV_VALUE };
enum { TIMESTAMP_UNIT, TIMESTAMP_TIMEZONE };

/* ---- types: a format string and what IPC needs of it --------------------- */

/* How an array's buffers and children are laid out. */
typedef enum ipc_layout {
    L_NULL,       /* no buffers */
    L_BOOL,       /* validity, bits */
    L_FIXED,      /* validity, `width` bytes per value */
    L_VAR32,      /* validity, int32 offsets, bytes */
    L_VAR64,      /* validity, int64 offsets, bytes */
    L_LIST32,     /* validity, int32 offsets; one child */
    L_LIST64,     /* validity, int64 offsets; one child */
    L_FIXED_LIST, /* validity; one child, `width` values per list */
    L_STRUCT      /* validity; any number of children */
} ipc_layout;

typedef struct ipc_type {
    uint8_t id;       /* the Type union id */
    fb_slot slots[3]; /* the type table's scalars */
    int nslots;
    const char *tz; /* Timestamp: the timezone, or NULL */
    ipc_layout layout;
    int64_t width;
} ipc_type;

static void type_set(ipc_type *t, uint8_t id, ipc_layout layout, int64_t width)
{
    t->id = id;
    t->layout = layout;
    t->width = width;
}

static void type_int(ipc_type *t, int bits, bool is_signed)
{
    type_set(t, AT_INT, L_FIXED, bits / 8);
    t->slots[0] = fb_scalar(4, (uint64_t)bits);
    t->slots[1] = fb_scalar(1, is_signed);
    t->nslots = 2;
}

/* A table of one short enum (FloatingPoint precision, Date/Duration/Interval unit). */
static void type_unit(ipc_type *t, uint8_t id, int unit, int64_t width)
{
    type_set(t, id, L_FIXED, width);
    t->slots[0] = fb_scalar(2, (uint64_t)unit);
    t->nslots = 1;
}

/* A decimal number in `*p` up to `stop` (or the end); false if none or > max. */
static bool parse_number(const char **p, char stop, int64_t max, int64_t *out)
{
    int64_t v = 0;
    const char *s = *p;
    if (*s < '0' || *s > '9')
        return false;
    for (; *s >= '0' && *s <= '9'; s++) {
        v = v * 10 + (*s - '0');
        if (v > max)
            return false;
    }
    if (*s != stop && *s != '\0')
        return false;
    *p = *s ? s + 1 : s;
    *out = v;
    return true;
}

/* "w:N" and "+w:N": N bytes, or N values per list. */
static int parse_width(const char *s, ipc_type *t, uint8_t id, ipc_layout layout)
{
    int64_t n;
    if (!parse_number(&s, '\0', INT32_MAX, &n) || *s || (n == 0 && layout == L_FIXED))
        return TST_EINVAL;
    type_set(t, id, layout, n);
    t->slots[0] = fb_scalar(4, (uint64_t)n);
    t->nslots = 1;
    return 0;
}

/* "d:P,S" or "d:P,S,B" with B the bits (32, 64, 128 by default, 256). */
static int parse_decimal(const char *s, ipc_type *t)
{
    int64_t precision, scale, bits = 128;
    if (!parse_number(&s, ',', 76, &precision) || !parse_number(&s, ',', 76, &scale))
        return TST_EINVAL;
    if (*s && (!parse_number(&s, '\0', 256, &bits) || *s))
        return TST_EINVAL;
    if (bits != 32 && bits != 64 && bits != 128 && bits != 256)
        return TST_EINVAL;
    type_set(t, AT_DECIMAL, L_FIXED, bits / 8);
    t->slots[0] = fb_scalar(4, (uint64_t)precision);
    t->slots[1] = fb_scalar(4, (uint64_t)scale);
    t->slots[2] = fb_scalar(4, (uint64_t)bits);
    t->nslots = 3;
    return 0;
}

/* Time units s m u n are Arrow's TimeUnit 0..3. */
static int time_unit(char c)
{
    const char *units = "smun", *at = c ? strchr(units, c) : NULL;
    return at ? (int)(at - units) : -1;
}

/* "tdD" "tdm", "tts" .. "ttn", "tss:TZ" .., "tDs" .., "tiM" "tiD" "tin". */
static int parse_temporal(const char *f, ipc_type *t)
{
    int unit = time_unit(f[2]);
    if (f[1] == 'd' && (f[2] == 'D' || f[2] == 'm') && !f[3]) {
        type_unit(t, AT_DATE, f[2] == 'm', f[2] == 'm' ? 8 : 4); /* DAY 0, MILLISECOND 1 */
        return 0;
    }
    if (f[1] == 't' && unit >= 0 && !f[3]) {
        type_unit(t, AT_TIME, unit, unit < 2 ? 4 : 8);
        t->slots[1] = fb_scalar(4, unit < 2 ? 32 : 64);
        t->nslots = 2;
        return 0;
    }
    if (f[1] == 's' && unit >= 0 && f[3] == ':') {
        type_unit(t, AT_TIMESTAMP, unit, 8);
        t->tz = f[4] ? f + 4 : NULL;
        t->slots[TIMESTAMP_TIMEZONE] = t->tz ? FB_REF : FB_ABSENT;
        return 0;
    }
    if (f[1] == 'D' && unit >= 0 && !f[3]) {
        type_unit(t, AT_DURATION, unit, 8);
        return 0;
    }
    static const char INTERVALS[] = "MDn"; /* YEAR_MONTH, DAY_TIME, MONTH_DAY_NANO */
    const char *iv = f[1] == 'i' && f[2] ? strchr(INTERVALS, f[2]) : NULL;
    if (iv && !f[3]) {
        int kind = (int)(iv - INTERVALS);
        type_unit(t, AT_INTERVAL, kind, kind == 0 ? 4 : kind == 1 ? 8 : 16);
        return 0;
    }
    return TST_EINVAL;
}

/* "+l" "+L" "+s" "+m" "+w:N"; unions, views and run-end are unsupported. */
static int parse_nested(const char *f, int64_t flags, ipc_type *t)
{
    if (strcmp(f, "+l") == 0)
        type_set(t, AT_LIST, L_LIST32, 0);
    else if (strcmp(f, "+L") == 0)
        type_set(t, AT_LARGE_LIST, L_LIST64, 0);
    else if (strcmp(f, "+s") == 0)
        type_set(t, AT_STRUCT, L_STRUCT, 0);
    else if (strcmp(f, "+m") == 0) {
        type_set(t, AT_MAP, L_LIST32, 0);
        t->slots[0] = fb_scalar(1, (flags & ARROW_FLAG_MAP_KEYS_SORTED) != 0);
        t->nslots = 1;
    } else if (strncmp(f, "+w:", 3) == 0)
        return parse_width(f + 3, t, AT_FIXED_LIST, L_FIXED_LIST);
    else if (f[1] == 'u' || f[1] == 'v' || f[1] == 'r')
        return TST_EUNSUPPORTED;
    else
        return TST_EINVAL;
    return 0;
}

/* The one-letter formats: ints, floats, null, bool, strings and binaries. */
static int parse_letter(char c, ipc_type *t)
{
    static const char INTS[] = "cCsSiIlL"; /* signed and unsigned, 8 to 64 bits */
    const char *i = strchr(INTS, c);
    if (i) {
        type_int(t, 8 << ((i - INTS) / 2), (i - INTS) % 2 == 0);
        return 0;
    }
    switch (c) {
    case 'n': type_set(t, AT_NULL, L_NULL, 0); return 0;
    case 'b': type_set(t, AT_BOOL, L_BOOL, 0); return 0;
    case 'e': type_unit(t, AT_FLOAT, 0, 2); return 0; /* HALF, SINGLE, DOUBLE */
    case 'f': type_unit(t, AT_FLOAT, 1, 4); return 0;
    case 'g': type_unit(t, AT_FLOAT, 2, 8); return 0;
    case 'z': type_set(t, AT_BINARY, L_VAR32, 0); return 0;
    case 'Z': type_set(t, AT_LARGE_BINARY, L_VAR64, 0); return 0;
    case 'u': type_set(t, AT_UTF8, L_VAR32, 0); return 0;
    case 'U': type_set(t, AT_LARGE_UTF8, L_VAR64, 0); return 0;
    default: return TST_EINVAL;
    }
}

static int parse_format(const char *f, int64_t flags, ipc_type *t)
{
    memset(t, 0, sizeof *t);
    if (!f || !f[0])
        return TST_EINVAL;
    if (!f[1])
        return parse_letter(f[0], t);
    switch (f[0]) {
    case 'w': return f[1] == ':' ? parse_width(f + 2, t, AT_FIXED_BINARY, L_FIXED) : TST_EINVAL;
    case 'd': return f[1] == ':' ? parse_decimal(f + 2, t) : TST_EINVAL;
    case 't': return parse_temporal(f, t);
    case '+': return parse_nested(f, flags, t);
    case 'v': return TST_EUNSUPPORTED; /* string and binary views */
    default: return TST_EINVAL;
    }
}

/* Children the layout requires (a map's one child is its entries struct). */
static bool children_fit(const ipc_type *t, int64_t n)
{
    switch (t->layout) {
    case L_LIST32:
    case L_LIST64:
    case L_FIXED_LIST: return n == 1;
    case L_STRUCT: return n >= 0;
    default: return n == 0;
    }
}

/* Buffers the C data interface gives for the layout. */
static int64_t c_buffer_count(ipc_layout layout)
{
    static const int8_t COUNT[] = {
        [L_NULL] = 0,   [L_BOOL] = 2,   [L_FIXED] = 2,      [L_VAR32] = 3, [L_VAR64] = 3,
        [L_LIST32] = 2, [L_LIST64] = 2, [L_FIXED_LIST] = 1, [L_STRUCT] = 1};
    return COUNT[layout];
}

/* ---- the writer ------------------------------------------------------------ */

/* One body buffer: `len` bytes at `bytes` (borrowed from the batch, or
 * `owned`), at `offset` in the body. */
typedef struct body_piece {
    const uint8_t *bytes;
    uint8_t *owned;
    int64_t offset, len;
} body_piece;

/* Where a RecordBatch message sits in the file, for the footer (Block). */
typedef struct ipc_block {
    int64_t offset, meta_len, body_len;
} ipc_block;

typedef struct ipc_writer {
    fbw w;
    tst_arrow_ipc_sink sink;
    void *ctx;
    int64_t pos;        /* bytes sent so far */
    bool file;          /* the IPC file format: remember each batch's block */
    ipc_block *blocks;
    size_t nblocks, cap_blocks;
    const char *column; /* the top-level column at hand, for messages */
    /* the batch at hand */
    body_piece *pieces;
    size_t npieces, cap_pieces;
    int64_t (*nodes)[2]; /* FieldNode: length, null_count */
    size_t nnodes, cap_nodes;
    int64_t body_len;
} ipc_writer;

static int type_error(const ipc_writer *wr, int code, const char *format, const char *why)
{
    if (code == TST_EUNSUPPORTED)
        return tst_fail(code,
                        "arrow export: column '%s' has Arrow type '%s' (%s), which this "
                        "writer does not support; cast it in SQL (e.g. to VARCHAR)",
                        wr->column, format ? format : "", why);
    return tst_fail(TST_EINVAL, "arrow export: column '%s' (Arrow format '%s'): %s", wr->column,
                    format ? format : "(null)", why);
}

static int writer_check(ipc_writer *wr, const char *doing)
{
    if (wr->w.rc == TST_ENOMEM)
        return tst_fail(TST_ENOMEM, "arrow export: out of memory %s", doing);
    if (wr->w.rc != 0)
        return tst_fail(TST_EINVAL, "arrow export: the metadata %s would exceed %u bytes", doing,
                        FB_MAX_BYTES);
    return 0;
}

/* Every byte goes out through here, so the file format knows its offsets. */
static int emit(ipc_writer *wr, const void *bytes, size_t len)
{
    int rc = wr->sink(wr->ctx, bytes, len);
    wr->pos += rc == 0 ? (int64_t)len : 0;
    return rc;
}

/* Sends the framed message in the flatbuffer writer. */
static int send_metadata(ipc_writer *wr, const char *doing)
{
    fbw_end_message(&wr->w);
    int rc = writer_check(wr, doing);
    return rc == 0 ? emit(wr, wr->w.p, wr->w.len) : rc;
}

/* Message{V5, header_type, header, bodyLength}; returns the header slot's table. */
static size_t write_message(fbw *w, size_t root, uint8_t header_type, int64_t body_len)
{
    fb_slot slots[] = {fb_scalar(2, METADATA_V5), fb_scalar(1, header_type), FB_REF,
                       fb_scalar(8, (uint64_t)body_len)};
    size_t msg = fbw_table(w, slots, 4);
    fbw_put_ref(w, root, msg);
    return msg;
}

/* ---- the Schema message ---------------------------------------------------- */

static int32_t read_i32(const char *p)
{
    int32_t v;
    memcpy(&v, p, sizeof v); /* the C data interface's metadata is native-endian */
    return v;
}

/* [KeyValue] from the C data interface's metadata (int32 count, then
 * int32-length-prefixed keys and values); 0 when there is none. */
static size_t encode_metadata(ipc_writer *wr, const char *meta)
{
    int32_t n = meta ? read_i32(meta) : 0;
    if (n <= 0)
        return 0;
    size_t vector = fbw_vector(&wr->w, (size_t)n);
    const char *p = meta + 4;
    for (int32_t i = 0; i < n && wr->w.rc == 0; i++) {
        fb_slot slots[] = {FB_REF, FB_REF};
        size_t kv = fbw_table(&wr->w, slots, 2);
        fbw_set_element(&wr->w, vector, (size_t)i, kv);
        for (int part = KV_KEY; part <= KV_VALUE; part++) {
            int32_t len = read_i32(p);
            size_t len_ok = len > 0 ? (size_t)len : 0;
            fbw_set_ref(&wr->w, kv, part, fbw_string(&wr->w, p + 4, len_ok));
            p += 4 + len_ok;
        }
    }
    return vector;
}

static int encode_field(ipc_writer *wr, const struct ArrowSchema *f, int depth, size_t *out);

/* The Field's type table and, for a timestamp, its timezone. */
static void encode_type(ipc_writer *wr, size_t field, const ipc_type *t)
{
    size_t table = fbw_table(&wr->w, t->slots, t->tz ? 2 : t->nslots);
    fbw_set_ref(&wr->w, field, FIELD_TYPE, table);
    if (t->tz)
        fbw_set_ref(&wr->w, table, TIMESTAMP_TIMEZONE, fbw_string(&wr->w, t->tz, strlen(t->tz)));
}

static int encode_children(ipc_writer *wr, size_t field, const struct ArrowSchema *f, int depth)
{
    size_t vector = fbw_vector(&wr->w, (size_t)f->n_children);
    fbw_set_ref(&wr->w, field, FIELD_CHILDREN, vector);
    for (int64_t i = 0; i < f->n_children; i++) {
        size_t child;
        if (!f->children || !f->children[i])
            return type_error(wr, TST_EINVAL, f->format, "a child schema is missing");
        int rc = encode_field(wr, f->children[i], depth + 1, &child);
        if (rc != 0)
            return rc;
        fbw_set_element(&wr->w, vector, (size_t)i, child);
    }
    return 0;
}

static int check_field(const ipc_writer *wr, const struct ArrowSchema *f, int depth, ipc_type *t)
{
    if (depth > IPC_MAX_DEPTH)
        return type_error(wr, TST_EINVAL, f->format, "types nest too deep");
    if (f->dictionary) /* DuckDB's ENUMs */
        return tst_fail(TST_EUNSUPPORTED,
                        "arrow export: column '%s' is dictionary-encoded (an "
                        "ENUM?), which this writer does not support; cast it in SQL to VARCHAR",
                        wr->column);
    int rc = parse_format(f->format, f->flags, t);
    if (rc != 0)
        return type_error(wr, rc, f->format,
                          rc == TST_EUNSUPPORTED ? "a union, view or run-end type"
                                                 : "not a format of the C data interface");
    if (!children_fit(t, f->n_children))
        return type_error(wr, TST_EINVAL, f->format, "the wrong number of children");
    return 0;
}

static int encode_field(ipc_writer *wr, const struct ArrowSchema *f, int depth, size_t *out)
{
    ipc_type t;
    int rc = check_field(wr, f, depth, &t);
    if (rc != 0)
        return rc;
    bool has_meta = f->metadata && read_i32(f->metadata) > 0;
    fb_slot slots[] = {FB_REF,
                       fb_scalar(1, (f->flags & ARROW_FLAG_NULLABLE) != 0),
                       fb_scalar(1, t.id),
                       FB_REF,
                       FB_ABSENT /* dictionary */,
                       FB_REF,
                       has_meta ? FB_REF : FB_ABSENT};
    size_t field = fbw_table(&wr->w, slots, 7);
    const char *name = f->name ? f->name : "";
    fbw_set_ref(&wr->w, field, FIELD_NAME, fbw_string(&wr->w, name, strlen(name)));
    encode_type(wr, field, &t);
    if (has_meta)
        fbw_set_ref(&wr->w, field, FIELD_METADATA, encode_metadata(wr, f->metadata));
    *out = field;
    return encode_children(wr, field, f, depth);
}

/* Schema{Little, fields, custom_metadata}, built in the writer's buffer. */
static int encode_schema(ipc_writer *wr, const struct ArrowSchema *schema, size_t *out)
{
    if (!schema->format || strcmp(schema->format, "+s") != 0)
        return tst_fail(TST_EINVAL,
                        "arrow export: the stream's schema is '%s', not a struct "
                        "of columns",
                        schema->format ? schema->format : "(null)");
    if (schema->n_children < 0 || (schema->n_children > 0 && !schema->children))
        return tst_fail(TST_EINVAL, "arrow export: the stream's schema has no columns array");
    fbw *w = &wr->w;
    bool has_meta = schema->metadata && read_i32(schema->metadata) > 0;
    fb_slot slots[] = {fb_scalar(2, ENDIAN_LITTLE), FB_REF, has_meta ? FB_REF : FB_ABSENT};
    size_t header = fbw_table(w, slots, 3);
    size_t fields = fbw_vector(w, (size_t)(schema->n_children > 0 ? schema->n_children : 0));
    fbw_set_ref(w, header, SCHEMA_FIELDS, fields);
    for (int64_t i = 0; i < schema->n_children; i++) {
        const struct ArrowSchema *col = schema->children[i];
        wr->column = col && col->name ? col->name : "";
        size_t field;
        int rc =
            col ? encode_field(wr, col, 0, &field)
                : tst_fail(TST_EINVAL, "arrow export: column %lld has no schema", (long long)i);
        if (rc != 0)
            return rc;
        fbw_set_element(w, fields, (size_t)i, field);
    }
    if (has_meta)
        fbw_set_ref(w, header, SCHEMA_METADATA, encode_metadata(wr, schema->metadata));
    *out = header;
    return 0;
}

/* The Schema message. */
static int write_schema(ipc_writer *wr, const struct ArrowSchema *schema)
{
    size_t root = fbw_begin_message(&wr->w);
    size_t msg = write_message(&wr->w, root, HEADER_SCHEMA, 0);
    size_t header = 0;
    int rc = encode_schema(wr, schema, &header);
    if (rc != 0)
        return rc;
    fbw_set_ref(&wr->w, msg, MESSAGE_HEADER, header);
    return send_metadata(wr, "describing the schema");
}

/* ---- a batch's body: nodes and buffers, depth-first ------------------------ */

static int out_of_memory(void)
{
    return tst_fail(TST_ENOMEM, "arrow export: out of memory collecting a batch");
}

/* Adds a body buffer; `owned` (may be NULL) passes to the writer. */
static int add_piece(ipc_writer *wr, const void *bytes, int64_t len, uint8_t *owned)
{
    if (wr->npieces == wr->cap_pieces) {
        size_t cap = wr->cap_pieces ? 2 * wr->cap_pieces : 32;
        body_piece *p = realloc(wr->pieces, cap * sizeof *p);
        if (!p) {
            free(owned);
            return out_of_memory();
        }
        wr->pieces = p;
        wr->cap_pieces = cap;
    }
    wr->pieces[wr->npieces++] = (body_piece){bytes, owned, wr->body_len, len};
    wr->body_len += (len + 7) & ~(int64_t)7;
    return 0;
}

static int add_node(ipc_writer *wr, int64_t length, int64_t nulls)
{
    if (wr->nnodes == wr->cap_nodes) {
        size_t cap = wr->cap_nodes ? 2 * wr->cap_nodes : 16;
        int64_t(*n)[2] = realloc(wr->nodes, cap * sizeof *n);
        if (!n)
            return out_of_memory();
        wr->nodes = n;
        wr->cap_nodes = cap;
    }
    wr->nodes[wr->nnodes][0] = length;
    wr->nodes[wr->nnodes++][1] = nulls;
    return 0;
}

static bool bit_at(const uint8_t *bits, int64_t i)
{
    return (bits[i >> 3] >> (i & 7)) & 1;
}

/* Bits [off, off + len) as a buffer of their own: in place when `off`
 * falls on a byte, else shifted into a copy. */
static int add_bits(ipc_writer *wr, const uint8_t *bits, int64_t off, int64_t len)
{
    int64_t bytes = (len + 7) / 8;
    if (len == 0 || off % 8 == 0)
        return add_piece(wr, len ? bits + off / 8 : NULL, bytes, NULL);
    uint8_t *copy = calloc((size_t)bytes, 1);
    if (!copy)
        return out_of_memory();
    for (int64_t i = 0; i < len; i++)
        copy[i >> 3] |= (uint8_t)(bit_at(bits, off + i) << (i & 7));
    return add_piece(wr, copy, bytes, copy);
}

/* Nulls in [off, off + len): the producer's count for a whole array, else
 * counted (a slice, or a producer that left it at -1). */
static int64_t count_nulls(const struct ArrowArray *a, int64_t off, int64_t len)
{
    const uint8_t *validity = a->buffers[0];
    if (a->null_count == 0 || !validity)
        return 0;
    if (a->null_count > 0 && off == a->offset && len == a->length)
        return a->null_count;
    int64_t nulls = 0;
    for (int64_t i = 0; i < len; i++)
        nulls += !bit_at(validity, off + i);
    return nulls;
}

static int64_t offset_at(const void *offsets, int wide, int64_t i)
{
    if (wide) {
        int64_t v;
        memcpy(&v, (const uint8_t *)offsets + 8 * i, 8);
        return v;
    }
    int32_t v;
    memcpy(&v, (const uint8_t *)offsets + 4 * i, 4);
    return v;
}

/* The offsets of [off, off + len] rebased to start at 0 (in place when
 * they already do); *start and *end receive the span they cover. */
static int add_offsets(ipc_writer *wr, const void *offsets, int wide, int64_t off, int64_t len,
                       int64_t *start, int64_t *end)
{
    static const int64_t ZERO = 0;
    size_t size = wide ? 8 : 4;
    *start = *end = 0;
    if (len == 0) /* one 0 offset, whatever the producer gave */
        return add_piece(wr, &ZERO, (int64_t)size, NULL);
    *start = offset_at(offsets, wide, off);
    *end = offset_at(offsets, wide, off + len);
    if (*start < 0 || *end < *start)
        return tst_fail(TST_EINVAL, "arrow export: column '%s' has offsets going backwards",
                        wr->column);
    if (*start == 0)
        return add_piece(wr, (const uint8_t *)offsets + size * (size_t)off,
                         (int64_t)size * (len + 1), NULL);
    uint8_t *copy = malloc(size * (size_t)(len + 1));
    if (!copy)
        return out_of_memory();
    for (int64_t i = 0; i <= len; i++) {
        int64_t v = offset_at(offsets, wide, off + i) - *start;
        int32_t v32 = (int32_t)v;
        memcpy(copy + size * (size_t)i, wide ? (const void *)&v : (const void *)&v32, size);
    }
    return add_piece(wr, copy, (int64_t)size * (len + 1), copy);
}

static int collect_array(ipc_writer *wr, const struct ArrowSchema *f, const struct ArrowArray *a,
                         int64_t off, int64_t len, int depth);

/* The child at `i` over [off, off + len) of its own positions. */
static int collect_child(ipc_writer *wr, const struct ArrowSchema *f, const struct ArrowArray *a,
                         int64_t i, int64_t off, int64_t len, int depth)
{
    const struct ArrowArray *child = a->children ? a->children[i] : NULL;
    if (!child)
        return type_error(wr, TST_EINVAL, f->format, "an array's child is missing");
    return collect_array(wr, f->children[i], child, child->offset + off, len, depth + 1);
}

/* Offsets then bytes (utf8, binary): the bytes the slice's offsets span. */
static int collect_bytes(ipc_writer *wr, const struct ArrowArray *a, int wide, int64_t off,
                         int64_t len)
{
    int64_t start, end;
    int rc = add_offsets(wr, a->buffers[1], wide, off, len, &start, &end);
    if (rc == 0 && end > start && !a->buffers[2])
        rc = tst_fail(TST_EINVAL, "arrow export: column '%s' has no bytes buffer", wr->column);
    if (rc != 0)
        return rc;
    const uint8_t *bytes = end > start ? (const uint8_t *)a->buffers[2] + start : NULL;
    return add_piece(wr, bytes, end - start, NULL);
}

/* What follows the validity buffer, by layout. */
static int collect_values(ipc_writer *wr, const struct ArrowSchema *f, const struct ArrowArray *a,
                          const ipc_type *t, int64_t off, int64_t len, int depth)
{
    const void *values = a->n_buffers > 1 ? a->buffers[1] : NULL;
    int64_t start, end;
    int rc = 0;
    if (!values && len > 0 && t->layout != L_FIXED_LIST && t->layout != L_STRUCT)
        return type_error(wr, TST_EINVAL, f->format, "a values or offsets buffer is missing");
    switch (t->layout) {
    case L_NULL: return 0;
    case L_BOOL: return add_bits(wr, values, off, len);
    case L_FIXED:
        return add_piece(wr, len ? (const uint8_t *)values + off * t->width : NULL, len * t->width,
                         NULL);
    case L_VAR32:
    case L_VAR64: return collect_bytes(wr, a, t->layout == L_VAR64, off, len);
    case L_LIST32:
    case L_LIST64:
        rc = add_offsets(wr, values, t->layout == L_LIST64, off, len, &start, &end);
        return rc ? rc : collect_child(wr, f, a, 0, start, end - start, depth);
    case L_FIXED_LIST: return collect_child(wr, f, a, 0, off * t->width, len * t->width, depth);
    case L_STRUCT:
        for (int64_t i = 0; rc == 0 && i < a->n_children; i++)
            rc = collect_child(wr, f, a, i, off, len, depth);
        return rc;
    }
    return 0;
}

/* The array's shape against its schema, and [off, off + len) inside it. */
static int check_array(const ipc_writer *wr, const struct ArrowSchema *f,
                       const struct ArrowArray *a, const ipc_type *t, int64_t off, int64_t len)
{
    if (a->n_buffers != c_buffer_count(t->layout) || a->n_children != f->n_children ||
        (a->n_buffers > 0 && !a->buffers))
        return type_error(wr, TST_EINVAL, f->format,
                          "the array's buffers or children do not match its type");
    if (a->offset < 0 || off < a->offset || len < 0 || len > a->offset + a->length - off)
        return type_error(wr, TST_EINVAL, f->format, "a slice reaches past the array's end");
    if (t->layout == L_FIXED && t->width > 0 && off + len > INT64_MAX / t->width)
        return type_error(wr, TST_EINVAL, f->format, "the array is too long");
    if (t->layout == L_FIXED_LIST && t->width > 0 && off + len > INT64_MAX / t->width)
        return type_error(wr, TST_EINVAL, f->format, "the array is too long");
    return 0;
}

/* One array's FieldNode and buffers, then its children's: [off, off + len)
 * of its positions (off includes its own offset). */
static int collect_array(ipc_writer *wr, const struct ArrowSchema *f, const struct ArrowArray *a,
                         int64_t off, int64_t len, int depth)
{
    ipc_type t;
    int rc = check_field(wr, f, depth, &t);
    if (rc == 0)
        rc = check_array(wr, f, a, &t, off, len);
    if (rc != 0)
        return rc;
    if (t.layout == L_NULL)
        return add_node(wr, len, len);
    int64_t nulls = count_nulls(a, off, len);
    rc = add_node(wr, len, nulls);
    if (rc == 0)
        rc = nulls ? add_bits(wr, a->buffers[0], off, len) : add_piece(wr, NULL, 0, NULL);
    return rc == 0 ? collect_values(wr, f, a, &t, off, len, depth) : rc;
}

static void batch_reset(ipc_writer *wr)
{
    for (size_t i = 0; i < wr->npieces; i++)
        free(wr->pieces[i].owned);
    wr->npieces = wr->nnodes = 0;
    wr->body_len = 0;
}

/* ---- the RecordBatch message ----------------------------------------------- */

/* RecordBatch{length, nodes, buffers} as the header of a Message. */
static int write_batch_metadata(ipc_writer *wr, int64_t length)
{
    fbw *w = &wr->w;
    int64_t(*buffers)[2] = malloc((wr->npieces ? wr->npieces : 1) * sizeof *buffers);
    if (!buffers)
        return out_of_memory();
    for (size_t i = 0; i < wr->npieces; i++) {
        buffers[i][0] = wr->pieces[i].offset;
        buffers[i][1] = wr->pieces[i].len;
    }
    size_t root = fbw_begin_message(w);
    size_t msg = write_message(w, root, HEADER_RECORD_BATCH, wr->body_len);
    fb_slot slots[] = {fb_scalar(8, (uint64_t)length), FB_REF, FB_REF};
    size_t header = fbw_table(w, slots, 3);
    fbw_set_ref(w, msg, MESSAGE_HEADER, header);
    fbw_set_ref(w, header, BATCH_NODES, fbw_pairs(w, (const int64_t(*)[2])wr->nodes, wr->nnodes));
    fbw_set_ref(w, header, BATCH_BUFFERS, fbw_pairs(w, (const int64_t(*)[2])buffers, wr->npieces));
    free(buffers);
    return send_metadata(wr, "describing a batch");
}

/* The buffers, each padded with zeros to a multiple of 8. */
static int write_body(ipc_writer *wr)
{
    static const uint8_t PAD[8] = {0};
    int rc = 0;
    for (size_t i = 0; rc == 0 && i < wr->npieces; i++) {
        const body_piece *p = &wr->pieces[i];
        if (p->len > 0)
            rc = emit(wr, p->bytes, (size_t)p->len);
        if (rc == 0 && p->len % 8)
            rc = emit(wr, PAD, (size_t)(8 - p->len % 8));
    }
    return rc;
}

static int add_block(ipc_writer *wr, int64_t offset, int64_t meta_len, int64_t body_len)
{
    if (wr->nblocks == wr->cap_blocks) {
        size_t cap = wr->cap_blocks ? 2 * wr->cap_blocks : 16;
        ipc_block *b = realloc(wr->blocks, cap * sizeof *b);
        if (!b)
            return out_of_memory();
        wr->blocks = b;
        wr->cap_blocks = cap;
    }
    wr->blocks[wr->nblocks++] = (ipc_block){offset, meta_len, body_len};
    return 0;
}

static int write_batch(ipc_writer *wr, const struct ArrowSchema *schema,
                       const struct ArrowArray *batch)
{
    if (batch->n_children != schema->n_children || (batch->n_children > 0 && !batch->children) ||
        batch->offset < 0 || batch->length < 0)
        return tst_fail(TST_EINVAL, "arrow export: a batch has %lld columns, the schema %lld",
                        (long long)batch->n_children, (long long)schema->n_children);
    batch_reset(wr);
    int rc = 0;
    for (int64_t i = 0; rc == 0 && i < batch->n_children; i++) {
        const struct ArrowArray *col = batch->children[i];
        wr->column = schema->children[i]->name ? schema->children[i]->name : "";
        rc = col ? collect_array(wr, schema->children[i], col, col->offset + batch->offset,
                                 batch->length, 0)
                 : type_error(wr, TST_EINVAL, schema->format, "a column's array is missing");
    }
    int64_t start = wr->pos;
    if (rc == 0)
        rc = write_batch_metadata(wr, batch->length);
    if (rc == 0 && wr->file)
        rc = add_block(wr, start, wr->pos - start, wr->body_len);
    if (rc == 0)
        rc = write_body(wr);
    batch_reset(wr);
    return rc;
}

/* ---- the stream ------------------------------------------------------------ */

static int stream_error(struct ArrowArrayStream *stream, int err, const char *doing)
{
    const char *msg = stream->get_last_error ? stream->get_last_error(stream) : NULL;
    if (msg && *msg) /* the producer's words, as the other export formats give them */
        return tst_fail(TST_ESQL, "%s", msg);
    return tst_fail(TST_ESQL, "arrow export: %s failed: %s", doing, strerror(err));
}

/* Every batch of the stream, each released once written. */
static int write_batches(ipc_writer *wr, struct ArrowArrayStream *stream,
                         const struct ArrowSchema *schema, uint64_t *rows)
{
    for (;;) {
        struct ArrowArray batch;
        memset(&batch, 0, sizeof batch);
        int err = stream->get_next(stream, &batch);
        if (err != 0)
            return stream_error(stream, err, "reading a batch");
        if (!batch.release)
            return 0;
        int rc = write_batch(wr, schema, &batch);
        *rows += rc == 0 ? (uint64_t)batch.length : 0;
        batch.release(&batch);
        if (rc != 0)
            return rc;
    }
}

/* ---- the file format's footer ------------------------------------------------- */

enum { FOOTER_VERSION, FOOTER_SCHEMA, FOOTER_DICTIONARIES, FOOTER_BATCHES };

/* A vector of Block structs {offset: long, metaDataLength: int (+4 pad), bodyLength: long}. */
static size_t encode_blocks(fbw *w, const ipc_block *blocks, size_t count)
{
    if (w->rc == 0 && count > FB_MAX_BYTES / 24)
        w->rc = TST_EINVAL;
    size_t pos = fbw_reserve(w, 8, 4, 4 + 24 * count);
    fbw_put(w, pos, count, 4);
    for (size_t i = 0; i < count; i++) {
        fbw_put(w, pos + 4 + 24 * i, (uint64_t)blocks[i].offset, 8);
        fbw_put(w, pos + 12 + 24 * i, (uint64_t)blocks[i].meta_len, 4);
        fbw_put(w, pos + 20 + 24 * i, (uint64_t)blocks[i].body_len, 8);
    }
    return pos;
}

/* Footer{V5, schema, dictionaries [], recordBatches}, its int32 length, ARROW1. */
static int write_footer(ipc_writer *wr, const struct ArrowSchema *schema)
{
    fbw *w = &wr->w;
    size_t root = fbw_begin_message(w); /* the 8-byte prefix is not sent */
    fb_slot slots[] = {fb_scalar(2, METADATA_V5), FB_REF, FB_REF, FB_REF};
    size_t footer = fbw_table(w, slots, 4);
    fbw_put_ref(w, root, footer);
    size_t header = 0;
    int rc = encode_schema(wr, schema, &header);
    if (rc != 0)
        return rc;
    fbw_set_ref(w, footer, FOOTER_SCHEMA, header);
    fbw_set_ref(w, footer, FOOTER_DICTIONARIES, encode_blocks(w, NULL, 0));
    fbw_set_ref(w, footer, FOOTER_BATCHES, encode_blocks(w, wr->blocks, wr->nblocks));
    fbw_reserve(w, 8, 0, 0);
    rc = writer_check(wr, "writing the file footer");
    uint8_t tail[10] = {0, 0, 0, 0, 'A', 'R', 'R', 'O', 'W', '1'};
    uint32_t len = (uint32_t)(w->len - 8);
    for (int i = 0; i < 4; i++)
        tail[i] = (uint8_t)(len >> (8 * i));
    if (rc == 0)
        rc = emit(wr, w->p + 8, w->len - 8);
    return rc == 0 ? emit(wr, tail, sizeof tail) : rc;
}

/* ---- the writers ------------------------------------------------------------------- */

static int write_ipc(struct ArrowArrayStream *stream, tst_arrow_ipc_sink sink, void *ctx,
                     bool file, uint64_t *out_rows)
{
    static const uint8_t END[8] = {0xFF, 0xFF, 0xFF, 0xFF, 0, 0, 0, 0};
    static const uint8_t MAGIC[8] = {'A', 'R', 'R', 'O', 'W', '1', 0, 0};
    if (!stream || !stream->release || !sink)
        return tst_fail(TST_EINVAL, "arrow export needs a live stream and a sink");
    struct ArrowSchema schema;
    memset(&schema, 0, sizeof schema);
    int err = stream->get_schema(stream, &schema);
    if (err != 0)
        return stream_error(stream, err, "reading the schema");
    ipc_writer wr = {.sink = sink, .ctx = ctx, .column = "", .file = file};
    uint64_t rows = 0;
    int rc = file ? emit(&wr, MAGIC, sizeof MAGIC) : 0;
    if (rc == 0)
        rc = write_schema(&wr, &schema);
    if (rc == 0)
        rc = write_batches(&wr, stream, &schema, &rows);
    if (rc == 0)
        rc = emit(&wr, END, sizeof END);
    if (rc == 0 && file)
        rc = write_footer(&wr, &schema);
    if (rc == 0 && out_rows)
        *out_rows = rows;
    batch_reset(&wr);
    free(wr.pieces);
    free(wr.nodes);
    free(wr.blocks);
    free(wr.w.p);
    if (schema.release)
        schema.release(&schema);
    return rc;
}

int tst_arrow_ipc_write_stream(struct ArrowArrayStream *stream, tst_arrow_ipc_sink sink, void *ctx,
                               uint64_t *out_rows)
{
    return write_ipc(stream, sink, ctx, false, out_rows);
}

int tst_arrow_ipc_write_file(struct ArrowArrayStream *stream, tst_arrow_ipc_sink sink, void *ctx,
                             uint64_t *out_rows)
{
    return write_ipc(stream, sink, ctx, true, out_rows);
}
