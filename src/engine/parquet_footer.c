/*
 * parquet_footer.c — flips isAdjustedToUTC to true on named timestamp
 * columns of a Parquet footer, in place, and gives string columns that only
 * carry a legacy ConvertedType (UTF8, MAP, LIST) the matching logical type
 * (see parquet_footer.h for why).
 *
 * A Parquet file ends with its FileMetaData in Thrift's compact protocol,
 * the footer's length (4 bytes, little-endian) and "PAR1". FileMetaData
 * field 2 is the schema, a depth-first list<SchemaElement>: the root
 * first, each group followed by its num_children children. A leaf's
 * SchemaElement may carry (field 10) a LogicalType union whose field 8 is
 * TimestampType {1: bool isAdjustedToUTC, 2: TimeUnit unit}, and (field 6)
 * a legacy ConvertedType, TIMESTAMP_MILLIS (9) or TIMESTAMP_MICROS (10)
 * meaning "an instant of that unit"; nanoseconds have none.
 *
 * The compact protocol stores a bool struct field in the type nibble of
 * its field header (1 true, 2 false), so the flip rewrites one nibble and
 * no offset in the file moves. A ConvertedType of the wrong unit is a
 * one-byte varint and is rewritten as the right one (DuckDB 1.4.4 writes
 * TIMESTAMP_MILLIS/MICROS for ms/us and none for ns, which agree already).
 *
 * Adding a StringType, MapType or ListType (LogicalType members 1, 2, 3,
 * empty structs) as field 10 of a SchemaElement inserts four bytes (five
 * after a field id above 10) before the element's stop byte: the
 * footer grows, and is written again with its new length. Nothing in
 * FileMetaData points into the footer itself, so no offset changes.
 *
 * The footer is untrusted bytes: every read is bounds-checked, nesting is
 * capped, and the whole FileMetaData is walked (every compact type has a
 * skipper) so that it must end exactly where the footer ends. All edits
 * are found before any is made, so a refusal leaves the file unchanged.
 */
#include "parquet_footer.h"

#include "fail.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* Compact protocol types (the low nibble of a field header). */
enum {
    CT_STOP = 0,
    CT_TRUE = 1,
    CT_FALSE = 2,
    CT_BYTE = 3,
    CT_I16 = 4,
    CT_I32 = 5,
    CT_I64 = 6,
    CT_DOUBLE = 7,
    CT_BINARY = 8,
    CT_LIST = 9,
    CT_SET = 10,
    CT_MAP = 11,
    CT_STRUCT = 12
};

#define MAX_DEPTH 64            /* nested structs/lists; real footers use under 10 */
#define MAX_FOOTER (1u << 30)   /* a footer beyond 1 GiB is not one we wrote */
#define CONVERTED_MILLIS 9
#define CONVERTED_MICROS 10
#define CONVERTED_UTF8 0
#define CONVERTED_MAP 1
#define CONVERTED_LIST 3
#define LOGICAL_TYPE_MAX 6 /* bytes logical_type_bytes writes, at most */

typedef struct reader {
    const uint8_t *p;
    size_t len, pos;
    const char *path;
    const char *purpose; /* "marked as holding UTC instants", ... for messages */
} reader;

/* What the walk learns about one SchemaElement. */
typedef struct element {
    const uint8_t *name;
    size_t name_len;
    int64_t num_children; /* -1 when absent (a leaf) */
    size_t converted_pos; /* offset of the ConvertedType varint; 0 when absent */
    size_t converted_len;
    int64_t converted;
    size_t utc_header; /* offset of isAdjustedToUTC's field header; 0 without TimestampType */
    int unit;          /* TimeUnit field id: 1 MILLIS, 2 MICROS, 3 NANOS */
    bool has_logical;  /* field 10, a LogicalType, is there */
    size_t stop_pos;   /* offset of the element's stop byte */
    int64_t last_id;   /* id of the field before it (0 if none) */
} element;

static int bad(const reader *r, const char *what)
{
    tst_fail(TST_ECORRUPT,
             "%s: the Parquet footer is malformed at byte %zu of %zu (%s); the file cannot be "
             "%s",
             r->path, r->pos, r->len, what, r->purpose ? r->purpose : "edited");
    tst_fail_set_path(r->path);
    return TST_ECORRUPT;
}

/* ---- primitives ---------------------------------------------------------- */

static int read_byte(reader *r, uint8_t *out)
{
    if (r->pos >= r->len)
        return bad(r, "it ends inside a value");
    *out = r->p[r->pos++];
    return 0;
}

static int skip_bytes(reader *r, uint64_t n)
{
    if (n > r->len - r->pos)
        return bad(r, "a value runs past its end");
    r->pos += (size_t)n;
    return 0;
}

static int read_varint(reader *r, uint64_t *out)
{
    uint64_t v = 0;
    for (int shift = 0; shift < 64; shift += 7) {
        uint8_t b;
        int rc = read_byte(r, &b);
        if (rc != 0)
            return rc;
        v |= (uint64_t)(b & 0x7f) << shift;
        if (!(b & 0x80)) {
            *out = v;
            return 0;
        }
    }
    return bad(r, "a varint is longer than 10 bytes");
}

/* A zigzag varint that must fit an i32 (i16 and i32 fields, field ids). */
static int read_i32(reader *r, int64_t *out)
{
    uint64_t u;
    int rc = read_varint(r, &u);
    if (rc != 0)
        return rc;
    if (u > UINT32_MAX)
        return bad(r, "a 32-bit integer is out of range");
    *out = (int64_t)(u >> 1) ^ -(int64_t)(u & 1);
    return 0;
}

/* A collection's element count: every element takes at least one byte. */
static int check_count(reader *r, uint64_t n)
{
    if (n > r->len - r->pos)
        return bad(r, "a list or map claims more elements than bytes remain");
    return 0;
}

/* ---- skipping any value ------------------------------------------------- */

static int skip_value(reader *r, int type, int depth);

/* A field header: its type, and its id (delta from last, or a zigzag i16). */
static int field_header(reader *r, int64_t *last, int *type, int64_t *id)
{
    uint8_t b;
    int rc = read_byte(r, &b);
    if (rc != 0)
        return rc;
    *type = b & 0x0f;
    if (*type == CT_STOP)
        return b == 0 ? 0 : bad(r, "a stop byte carries a field delta");
    if (b >> 4)
        *id = *last + (b >> 4);
    else if ((rc = read_i32(r, id)) != 0)
        return rc;
    *last = *id;
    return 0;
}

static int skip_struct(reader *r, int depth)
{
    if (depth > MAX_DEPTH)
        return bad(r, "structures are nested too deeply");
    int64_t last = 0, id;
    for (;;) {
        int type, rc = field_header(r, &last, &type, &id);
        if (rc != 0 || type == CT_STOP)
            return rc;
        if (type != CT_TRUE && type != CT_FALSE && (rc = skip_value(r, type, depth + 1)) != 0)
            return rc;
    }
}

/* A list or set: size in the high nibble (15: a varint follows), element type low. */
static int skip_list(reader *r, int depth)
{
    uint8_t b;
    uint64_t n;
    int rc = read_byte(r, &b);
    if (rc == 0 && (n = b >> 4) == 15)
        rc = read_varint(r, &n);
    if (rc == 0)
        rc = check_count(r, n);
    int type = b & 0x0f;
    for (uint64_t i = 0; rc == 0 && i < n; i++)
        rc = type == CT_TRUE || type == CT_FALSE ? skip_bytes(r, 1) : skip_value(r, type, depth);
    return rc;
}

/* A map: a varint size, then (when not empty) one byte of key and value types. */
static int skip_map(reader *r, int depth)
{
    uint64_t n;
    uint8_t kv = 0;
    int rc = read_varint(r, &n);
    if (rc == 0 && n > 0)
        rc = read_byte(r, &kv);
    if (rc == 0)
        rc = check_count(r, n);
    for (uint64_t i = 0; rc == 0 && i < 2 * n; i++) {
        int type = i % 2 == 0 ? kv >> 4 : kv & 0x0f;
        rc = type == CT_TRUE || type == CT_FALSE ? skip_bytes(r, 1) : skip_value(r, type, depth);
    }
    return rc;
}

/* Any value whose type came from a field header or a collection header. */
static int skip_value(reader *r, int type, int depth)
{
    uint64_t u;
    int rc;
    if (depth > MAX_DEPTH)
        return bad(r, "values are nested too deeply");
    switch (type) {
    case CT_BYTE: return skip_bytes(r, 1);
    case CT_I16:
    case CT_I32:
    case CT_I64: return read_varint(r, &u);
    case CT_DOUBLE: return skip_bytes(r, 8);
    case CT_BINARY:
        rc = read_varint(r, &u);
        return rc != 0 ? rc : skip_bytes(r, u);
    case CT_LIST:
    case CT_SET: return skip_list(r, depth + 1);
    case CT_MAP: return skip_map(r, depth + 1);
    case CT_STRUCT: return skip_struct(r, depth + 1);
    default: return bad(r, "a value has an unknown compact type");
    }
}

/* ---- the schema --------------------------------------------------------- */

/* TimeUnit: a union of empty structs; the field id is the unit. */
static int read_time_unit(reader *r, element *e)
{
    int64_t last = 0, id;
    e->unit = 0;
    for (;;) {
        int type, rc = field_header(r, &last, &type, &id);
        if (rc != 0 || type == CT_STOP)
            return rc != 0 ? rc : e->unit ? 0 : bad(r, "a TimeUnit names no unit");
        if (type != CT_STRUCT || id < 1 || id > 3 || e->unit)
            return bad(r, "a TimeUnit is not MILLIS, MICROS or NANOS");
        e->unit = (int)id;
        if ((rc = skip_struct(r, 3)) != 0)
            return rc;
    }
}

static int read_timestamp_type(reader *r, element *e)
{
    int64_t last = 0, id;
    e->utc_header = 0;
    e->unit = 0;
    for (;;) {
        size_t at = r->pos;
        int type, rc = field_header(r, &last, &type, &id);
        if (rc != 0)
            return rc;
        if (type == CT_STOP)
            return e->utc_header && e->unit ? 0
                                            : bad(r, "a TimestampType lacks isAdjustedToUTC or "
                                                     "its unit");
        if (id == 1 && (type == CT_TRUE || type == CT_FALSE))
            e->utc_header = at;
        else if (id == 2 && type == CT_STRUCT)
            rc = read_time_unit(r, e);
        else if (id == 1 || id == 2)
            return bad(r, "a TimestampType field has the wrong type");
        else if (type != CT_TRUE && type != CT_FALSE)
            rc = skip_value(r, type, 3);
        if (rc != 0)
            return rc;
    }
}

/* LogicalType: a union; field 8 is TimestampType, the rest are skipped. */
static int read_logical_type(reader *r, element *e)
{
    int64_t last = 0, id;
    for (;;) {
        int type, rc = field_header(r, &last, &type, &id);
        if (rc != 0 || type == CT_STOP)
            return rc;
        if (id == 8 && type == CT_STRUCT)
            rc = read_timestamp_type(r, e);
        else if (type != CT_TRUE && type != CT_FALSE)
            rc = skip_value(r, type, 2);
        if (rc != 0)
            return rc;
    }
}

static int read_element_field(reader *r, element *e, int type, int64_t id)
{
    uint64_t n;
    int rc;
    if (id == 4 && type == CT_BINARY) {
        if ((rc = read_varint(r, &n)) != 0)
            return rc;
        e->name = r->p + r->pos;
        e->name_len = (size_t)(n <= r->len - r->pos ? n : 0);
        return skip_bytes(r, n);
    }
    if (id == 5 && type == CT_I32)
        return read_i32(r, &e->num_children);
    if (id == 6 && type == CT_I32) {
        e->converted_pos = r->pos;
        rc = read_i32(r, &e->converted);
        e->converted_len = r->pos - e->converted_pos;
        return rc;
    }
    if (id == 10 && type == CT_STRUCT) {
        e->has_logical = true;
        return read_logical_type(r, e);
    }
    if (id == 4 || id == 5 || id == 6 || id == 10)
        return bad(r, "a SchemaElement field has the wrong type");
    return type == CT_TRUE || type == CT_FALSE ? 0 : skip_value(r, type, 2);
}

static int read_element(reader *r, element *e)
{
    *e = (element){.num_children = -1};
    int64_t last = 0, id;
    for (;;) {
        size_t at = r->pos;
        int type, rc = field_header(r, &last, &type, &id);
        if (rc != 0)
            return rc;
        if (type == CT_STOP) {
            e->stop_pos = at;
            e->last_id = last;
            return e->name ? 0 : bad(r, "a SchemaElement has no name");
        }
        if ((rc = read_element_field(r, e, type, id)) != 0)
            return rc;
    }
}

/* FileMetaData: field 2 is the schema; everything else is walked and skipped. */
static int read_file_metadata(reader *r, element **out, size_t *out_count)
{
    int64_t last = 0, id;
    for (;;) {
        int type, rc = field_header(r, &last, &type, &id);
        if (rc != 0)
            return rc;
        if (type == CT_STOP)
            break;
        if (id == 2 && type == CT_LIST && *out)
            return bad(r, "the schema appears twice");
        if (id == 2 && type == CT_LIST) {
            uint8_t b;
            uint64_t n = 0;
            if ((rc = read_byte(r, &b)) == 0 && (n = b >> 4) == 15)
                rc = read_varint(r, &n);
            if (rc == 0 && ((b & 0x0f) != CT_STRUCT || n == 0))
                rc = bad(r, "the schema is not a non-empty list of SchemaElement");
            if (rc == 0)
                rc = check_count(r, n);
            if (rc == 0 && !(*out = calloc((size_t)n, sizeof **out)))
                return tst_fail(TST_ENOMEM, "out of memory reading the footer of %s", r->path);
            *out_count = (size_t)n;
            for (uint64_t i = 0; rc == 0 && i < n; i++)
                rc = read_element(r, &(*out)[i]);
        } else if (id == 2) {
            return bad(r, "the schema is not a list");
        } else if (type != CT_TRUE && type != CT_FALSE) {
            rc = skip_value(r, type, 1);
        }
        if (rc != 0)
            return rc;
    }
    if (!*out)
        return bad(r, "FileMetaData has no schema");
    return r->pos == r->len ? 0 : bad(r, "bytes follow the end of FileMetaData");
}

/* ---- finding the columns ------------------------------------------------ */

/* Index just past the subtree rooted at i (depth-first order), or 0 if it overruns. */
static size_t subtree_end(const element *el, size_t count, size_t i, int depth)
{
    if (i >= count || depth > MAX_DEPTH)
        return 0;
    size_t next = i + 1;
    for (int64_t k = 0; k < el[i].num_children && next != 0; k++)
        next = subtree_end(el, count, next, depth + 1);
    return next;
}

/* The top-level column called name: the root's direct children only. */
static int find_top_level(const reader *r, const element *el, size_t count, const char *name,
                          const element **out)
{
    size_t i = 1;
    for (int64_t k = 0; k < el[0].num_children; k++) {
        if (i == 0 || i >= count)
            return bad(r, "the schema has fewer elements than its groups count");
        const element *e = &el[i];
        if (e->name_len == strlen(name) && memcmp(e->name, name, e->name_len) == 0) {
            *out = e;
            return 0;
        }
        i = subtree_end(el, count, i, 1);
    }
    tst_fail(TST_ECORRUPT, "%s: no top-level column '%s' in the Parquet schema to mark as UTC",
             r->path, name);
    tst_fail_set_path(r->path);
    return TST_ECORRUPT;
}

static int not_timestamp(const reader *r, const char *name, const char *why)
{
    tst_fail(TST_ECORRUPT, "%s: column '%s' cannot be marked as UTC instants: %s", r->path, name,
             why);
    tst_fail_set_path(r->path);
    return TST_ECORRUPT;
}

/* Checks that e can be marked; fixes_converted says its ConvertedType is rewritten. */
static int check_column(const reader *r, const element *e, const char *name,
                        bool *fixes_converted)
{
    *fixes_converted = false;
    if (e->num_children > 0)
        return not_timestamp(r, name, "it is a group, not a leaf column");
    if (!e->utc_header)
        return not_timestamp(r, name, "its Parquet type has no TimestampType logical type");
    if (!e->converted_pos)
        return 0;
    int64_t want = e->unit == 1 ? CONVERTED_MILLIS : e->unit == 2 ? CONVERTED_MICROS : -1;
    if (e->converted == want)
        return 0;
    if (want < 0)
        return not_timestamp(r, name, "it is in nanoseconds but carries a ConvertedType");
    if (e->converted_len != 1)
        return not_timestamp(r, name, "its ConvertedType cannot be rewritten in place");
    *fixes_converted = true;
    return 0;
}

/* Applies the edits of e; returns whether a byte changed. */
static bool mark(uint8_t *footer, const element *e, bool fixes_converted, bool utc)
{
    bool changed = false;
    uint8_t *h = &footer[e->utc_header];
    int want = utc ? CT_TRUE : CT_FALSE;
    if ((*h & 0x0f) != want) {
        *h = (uint8_t)((*h & 0xf0) | want);
        changed = true;
    }
    if (fixes_converted) {
        footer[e->converted_pos] = e->unit == 1 ? 2 * CONVERTED_MILLIS : 2 * CONVERTED_MICROS;
        changed = true;
    }
    return changed;
}

static int set_utc_bytes(uint8_t *footer, size_t len, const char *const *columns, size_t count,
                         const char *path, bool utc, bool *changed)
{
    reader r = {.p = footer,
                .len = len,
                .pos = 0,
                .path = path,
                .purpose = "marked as holding UTC instants"};
    element *el = NULL;
    size_t n = 0;
    const element **found = calloc(count ? count : 1, sizeof *found);
    bool *fixes = calloc(count ? count : 1, sizeof *fixes);
    int rc = found && fixes ? read_file_metadata(&r, &el, &n)
                            : tst_fail(TST_ENOMEM, "out of memory reading the footer of %s", path);
    for (size_t k = 0; rc == 0 && k < count; k++) {
        rc = find_top_level(&r, el, n, columns[k], &found[k]);
        if (rc == 0)
            rc = check_column(&r, found[k], columns[k], &fixes[k]);
    }
    *changed = false;
    for (size_t k = 0; rc == 0 && k < count; k++)
        *changed = mark(footer, found[k], fixes[k] && utc, utc) || *changed;
    free(el);
    free(found);
    free(fixes);
    return rc;
}

int tst_parquet_footer_mark_utc_bytes(uint8_t *footer, size_t len, const char *const *columns,
                                      size_t count, const char *path, bool *changed)
{
    return set_utc_bytes(footer, len, columns, count, path, true, changed);
}

/* ---- logical types for legacy-only columns ------------------------------ */

/* The LogicalType union member (1 STRING, 2 MAP, 3 LIST) an element that has only the legacy
 * ConvertedType UTF8, MAP or LIST lacks; 0 when it lacks none. */
static int lacking_type(const element *e)
{
    if (e->has_logical || !e->converted_pos)
        return 0;
    if (e->converted == CONVERTED_UTF8 && e->num_children < 0)
        return 1;
    if (e->converted == CONVERTED_MAP && e->num_children > 0)
        return 2;
    if (e->converted == CONVERTED_LIST && e->num_children > 0)
        return 3;
    return 0;
}

/* Field 10 = LogicalType {member: {}}, to follow the field whose id is last. */
static size_t logical_type_bytes(int64_t last, int member, uint8_t *out)
{
    size_t n = 0;
    if (last >= 0 && last < 10) { /* a delta of 1..10 fits the header's high nibble */
        out[n++] = (uint8_t)((10 - last) << 4 | CT_STRUCT);
    } else {
        out[n++] = CT_STRUCT; /* long form: the id follows as a zigzag varint */
        out[n++] = 2 * 10;
    }
    out[n++] = (uint8_t)(member << 4 | CT_STRUCT); /* StringType, MapType or ListType */
    out[n++] = CT_STOP;                            /* end of that empty struct */
    out[n++] = CT_STOP;            /* end of LogicalType */
    return n;
}

int tst_parquet_footer_logical_types_bytes(const uint8_t *footer, size_t len, const char *path,
                                          uint8_t **out, size_t *out_len)
{
    *out = NULL;
    *out_len = 0;
    reader r = {.p = footer,
                .len = len,
                .pos = 0,
                .path = path,
                .purpose = "given logical types"};
    element *el = NULL;
    size_t n = 0, adds = 0;
    int rc = read_file_metadata(&r, &el, &n);
    for (size_t i = 0; rc == 0 && i < n; i++)
        adds += lacking_type(&el[i]) != 0;
    uint8_t *buf = NULL;
    if (rc == 0 && adds > 0 && !(buf = malloc(len + adds * LOGICAL_TYPE_MAX)))
        rc = tst_fail(TST_ENOMEM, "out of memory rewriting the footer of %s", path);
    if (rc == 0 && buf) {
        size_t at = 0, from = 0;
        for (size_t i = 0; i < n; i++) { /* elements come in footer order */
            if (lacking_type(&el[i]) == 0)
                continue;
            memcpy(buf + at, footer + from, el[i].stop_pos - from);
            at += el[i].stop_pos - from;
            from = el[i].stop_pos;
            at += logical_type_bytes(el[i].last_id, lacking_type(&el[i]), buf + at);
        }
        memcpy(buf + at, footer + from, len - from);
        *out = buf;
        *out_len = at + len - from;
    }
    free(el);
    return rc;
}

/* ---- the file ----------------------------------------------------------- */

/* pread or pwrite of exactly len bytes at off; 0 or an errno. */
static int io_all(int fd, uint8_t *buf, size_t len, off_t off, bool write)
{
    while (len > 0) {
        ssize_t n = write ? pwrite(fd, buf, len, off) : pread(fd, buf, len, off);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            return errno;
        if (n == 0)
            return EIO; /* the file shrank under us */
        buf += n;
        len -= (size_t)n;
        off += n;
    }
    return 0;
}

static int corrupt_file(const char *path, const char *what)
{
    tst_fail(TST_ECORRUPT, "%s is not a Parquet file: %s", path, what);
    tst_fail_set_path(path);
    return TST_ECORRUPT;
}

/* The footer's bytes and offset, after checking the length and magic. */
static int read_footer(int fd, const char *path, uint8_t **out, size_t *len, off_t *off)
{
    struct stat st;
    uint8_t tail[8];
    if (fstat(fd, &st) != 0)
        return tst_fail_errno(TST_EIO, errno, "cannot stat %s", path);
    if (st.st_size < 12)
        return corrupt_file(path, "it is shorter than 12 bytes");
    int err = io_all(fd, tail, sizeof tail, st.st_size - 8, false);
    if (err != 0)
        return tst_fail_errno(TST_EIO, err, "cannot read the end of %s", path);
    if (memcmp(tail + 4, "PAR1", 4) != 0)
        return corrupt_file(path, "it does not end with PAR1 (an encrypted footer ends PARE)");
    uint32_t n = (uint32_t)tail[0] | (uint32_t)tail[1] << 8 | (uint32_t)tail[2] << 16 |
                 (uint32_t)tail[3] << 24;
    if (n == 0 || n > MAX_FOOTER || n > (uint64_t)st.st_size - 12)
        return corrupt_file(path, "its footer length does not fit the file");
    *off = st.st_size - 8 - (off_t)n;
    *len = n;
    if (!(*out = malloc(n)))
        return tst_fail(TST_ENOMEM, "out of memory reading the footer of %s", path);
    if ((err = io_all(fd, *out, n, *off, false)) != 0) {
        free(*out);
        *out = NULL;
        return tst_fail_errno(TST_EIO, err, "cannot read the footer of %s", path);
    }
    return 0;
}

/* Same switch as fsio's and segment_write's: only for building huge fixtures. */
static bool fsync_disabled(void)
{
    const char *v = getenv("TST_UNSAFE_NO_FSYNC");
    return v && strcmp(v, "1") == 0;
}

static int write_footer(int fd, const char *path, uint8_t *footer, size_t len, off_t off)
{
    int err = io_all(fd, footer, len, off, true);
    if (err == 0 && !fsync_disabled() && fsync(fd) != 0)
        err = errno;
    if (err != 0)
        return tst_fail_errno(TST_EIO, err, "cannot rewrite the footer of %s", path);
    return 0;
}

static int set_utc_file(const char *path, const char *const *columns, size_t count, bool utc)
{
    int fd = open(path, O_RDWR | O_CLOEXEC);
    if (fd < 0) {
        int code = errno == ENOENT ? TST_ENOTFOUND : TST_EIO;
        tst_fail_errno(code, errno, "cannot open %s to mark its timestamps as UTC", path);
        tst_fail_set_path(path);
        return code;
    }
    uint8_t *footer = NULL;
    size_t len = 0;
    off_t off = 0;
    bool changed = false;
    int rc = read_footer(fd, path, &footer, &len, &off);
    if (rc == 0)
        rc = set_utc_bytes(footer, len, columns, count, path, utc, &changed);
    if (rc == 0 && changed)
        rc = write_footer(fd, path, footer, len, off);
    free(footer);
    if (close(fd) != 0 && rc == 0)
        rc = tst_fail_errno(TST_EIO, errno, "cannot close %s", path);
    return rc;
}

int tst_parquet_footer_mark_utc(const char *path, const char *const *columns, size_t count)
{
    return set_utc_file(path, columns, count, true);
}

int tst_parquet_footer_unmark_utc(const char *path, const char *const *columns, size_t count)
{
    return set_utc_file(path, columns, count, false);
}

/* The footer, its length and the magic, written at off: the file only grows. */
static int write_grown_footer(int fd, const char *path, uint8_t *footer, size_t len, off_t off)
{
    uint8_t tail[8] = {(uint8_t)len, (uint8_t)(len >> 8), (uint8_t)(len >> 16),
                       (uint8_t)(len >> 24), 'P', 'A', 'R', '1'};
    int err = io_all(fd, footer, len, off, true);
    if (err == 0)
        err = io_all(fd, tail, sizeof tail, off + (off_t)len, true);
    if (err == 0 && !fsync_disabled() && fsync(fd) != 0)
        err = errno;
    if (err != 0)
        return tst_fail_errno(TST_EIO, err, "cannot rewrite the footer of %s", path);
    return 0;
}

int tst_parquet_footer_add_logical_types(const char *path)
{
    int fd = open(path, O_RDWR | O_CLOEXEC);
    if (fd < 0) {
        int code = errno == ENOENT ? TST_ENOTFOUND : TST_EIO;
        tst_fail_errno(code, errno, "cannot open %s to give its columns logical types", path);
        tst_fail_set_path(path);
        return code;
    }
    uint8_t *footer = NULL, *grown = NULL;
    size_t len = 0, grown_len = 0;
    off_t off = 0;
    int rc = read_footer(fd, path, &footer, &len, &off);
    if (rc == 0)
        rc = tst_parquet_footer_logical_types_bytes(footer, len, path, &grown, &grown_len);
    if (rc == 0 && grown_len > MAX_FOOTER)
        rc = corrupt_file(path, "its footer would grow beyond 1 GiB");
    if (rc == 0 && grown)
        rc = write_grown_footer(fd, path, grown, grown_len, off);
    free(footer);
    free(grown);
    if (close(fd) != 0 && rc == 0)
        rc = tst_fail_errno(TST_EIO, errno, "cannot close %s", path);
    return rc;
}
