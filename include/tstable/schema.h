/*
 * tstable/schema.h — what a table is: its index spec, logical schema,
 * segments and metadata, as plain read-only structs.
 *
 * These structs mirror the JSON of the commit log (format_version 6). The
 * library fills them; callers read them through borrowed pointers (for
 * example from tst_table_get_meta()), valid while the owning handle lives and
 * is not refreshed. Strings are NUL-terminated UTF-8.
 */
#ifndef TSTABLE_SCHEMA_H
#define TSTABLE_SCHEMA_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "tstable/coverage.h"
#include "tstable/index.h"

#ifdef __cplusplus
extern "C" {
#endif

/* The only on-disk format version this library reads and writes. */
#define TST_FORMAT_VERSION 6
/* The reference's "protocol 7" (releases 0.5 to 0.9): a TableMeta with
 * protocol_version 7, feature lists and index_granularity instead of
 * format_version and bucket/bucket_width (docs/internals/format.md). */
#define TST_PROTOCOL_VERSION 7

/* Logical column types (format_version 6, "LogicalDataType"). */
typedef enum tst_type_kind {
    TST_TYPE_BOOL = 1,
    TST_TYPE_INT32,
    TST_TYPE_INT64,
    TST_TYPE_UINT64,
    TST_TYPE_FLOAT32,
    TST_TYPE_FLOAT64,
    TST_TYPE_BINARY,
    TST_TYPE_UTF8,
    TST_TYPE_FIXED_BINARY, /* byte_width > 0 */
    TST_TYPE_INT96,        /* readable in the log, not appendable */
    TST_TYPE_TIMESTAMP,    /* unit + optional timezone */
    TST_TYPE_DECIMAL,      /* precision 1..76, 0 <= scale <= precision */
    TST_TYPE_STRUCT,       /* fields */
    TST_TYPE_LIST,         /* element */
    TST_TYPE_MAP,          /* key, optional value, keys_sorted */
    TST_TYPE_OTHER         /* other_name; readable in the log, not appendable */
} tst_type_kind;

typedef enum tst_time_precision {
    TST_PRECISION_MILLIS = 1,
    TST_PRECISION_MICROS = 2,
    TST_PRECISION_NANOS = 3
} tst_time_precision;

typedef struct tst_field tst_field;

/*
 * Annotations (protocol 7, feature `schema_metadata`, reference 0.9): opaque
 * string pairs from the Arrow schema or field a table adopted, kept in the log
 * as a JSON object {"key":"value"} and written back into every segment's
 * footer ARROW:schema. Items are sorted by key (byte order, as the reference's
 * BTreeMap writes them) and keys are unique; keys and values are UTF-8 without
 * NUL. count == 0 (items NULL) means "no annotations": the JSON key is then
 * omitted, as the reference omits an empty map.
 */
typedef struct tst_kv {
    char *key;
    char *value;
} tst_kv;

typedef struct tst_metadata {
    tst_kv *items;
    size_t count;
} tst_metadata;

typedef struct tst_type {
    tst_type_kind kind;
    int32_t byte_width;          /* FIXED_BINARY */
    tst_time_precision unit;     /* TIMESTAMP */
    char *timezone;              /* TIMESTAMP; NULL when absent */
    uint32_t precision;          /* DECIMAL */
    int32_t scale;               /* DECIMAL */
    tst_field *fields;           /* STRUCT: field_count fields */
    size_t field_count;
    tst_field *element;          /* LIST */
    tst_field *key;              /* MAP (never nullable) */
    tst_field *value;            /* MAP; NULL for a keys-only map */
    bool keys_sorted;            /* MAP */
    char *other_name;            /* OTHER */
    /* MAP, schema_metadata: annotations of Arrow's "entries" struct field, and
     * (keys-only map only) of its implicit Null "value" field. */
    tst_metadata entries_metadata;
    tst_metadata null_value_metadata;
} tst_type;

struct tst_field {
    char *name;
    tst_type type;
    bool nullable;
    tst_metadata metadata; /* schema_metadata: the Arrow field's annotations */
};

typedef struct tst_schema {
    tst_field *columns;
    size_t column_count;
    tst_metadata metadata; /* schema_metadata: the Arrow schema's annotations */
} tst_schema;

/* The ordered index: its column, the entity columns, and the bucket kind. */
typedef struct tst_index_spec {
    char *column;
    char **entity_columns;
    size_t entity_count;
    tst_index_kind kind;
} tst_index_spec;

/* Table metadata (the log's TableMeta). schema is NULL until the first append. */
typedef struct tst_table_meta {
    bool generic;             /* "Generic" table kind: parsed, but never opened */
    tst_index_spec index;
    tst_schema *schema;
    tst_timestamp created_at;
    uint32_t format_version;  /* 6 for a format_version-6 table, 0 for protocol 7 */
    uint32_t protocol_version;/* 7 for a protocol-7 table, 0 for format_version 6 */
    /* Protocol 7 only: the features a reader / a writer must support, sorted,
     * unique, each [a-z][a-z0-9_]*. */
    char **reader_features;
    size_t reader_feature_count;
    char **writer_features;
    size_t writer_feature_count;
} tst_table_meta;

typedef enum tst_layout_kind {
    TST_LAYOUT_NOT_APPLICABLE = 1, /* table has no entity columns */
    TST_LAYOUT_SINGLE = 2,         /* every row has one identity: values */
    TST_LAYOUT_MIXED = 3           /* two or more identities */
} tst_layout_kind;

typedef struct tst_entity_layout {
    tst_layout_kind kind;
    tst_entity_value *values; /* SINGLE: count values (utf8 bytes owned by the layout) */
    size_t count;
} tst_entity_layout;

/* One immutable data file of the table (the log's SegmentMeta). */
typedef struct tst_segment {
    char *path;               /* canonical, relative to the table root: the identity */
    tst_entity_layout layout;
    tst_index_value index_min; /* inclusive observed bounds */
    tst_index_value index_max;
    uint64_t row_count;
    bool has_file_size;
    uint64_t file_size;
    char *coverage_path;      /* NULL when absent */
} tst_segment;

/* The value of `key` in a metadata map, or NULL (borrowed). */
const char *tst_metadata_get(const tst_metadata *md, const char *key);

/* True when the schema carries an annotation anywhere: on the schema, on a
 * column, or on a nested field, map entries or keys-only map value. A
 * protocol-7 table whose schema does must require the reader and writer
 * feature `schema_metadata`. */
bool tst_schema_has_metadata(const tst_schema *schema);

/* Display name of a type, as the reference prints it: "int64", "timestamp[ms](UTC)". */
int tst_type_format(const tst_type *type, char *buf, size_t cap);

#ifdef __cplusplus
}
#endif
#endif
