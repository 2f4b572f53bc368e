/*
 * model.h — the commit log's JSON, in and out (format_version 6).
 *
 * Parses and prints every shape the log holds: Commit, the four actions,
 * TableMeta, IndexSpec/IndexKind/TimeBucket, LogicalSchema, SegmentMeta,
 * EntityLayout, EntityValue and IndexValue. Integers travel through json-c
 * as exact int64/uint64: the format stores values over the whole range.
 *
 * Output is compact JSON with the reference's field order, no slash
 * escaping, and optional fields omitted exactly where the reference omits
 * them, so a commit parsed and printed again keeps every field and value.
 *
 * Input is untrusted: a malformed commit is TST_ECORRUPT with a message that
 * names the origin (file path) and the field; an unsupported format_version
 * is TST_EUNSUPPORTED. Unknown extra fields of Commit, TableMeta and
 * SegmentMeta are ignored; IndexSpec, IndexKind, IndexValue and EntityValue
 * reject them, as the reference does.
 *
 * Also here: the rules for persisted relative paths and coverage ids.
 */
#ifndef TST_MODEL_H
#define TST_MODEL_H

#include "tstable/schema.h"

#include <json-c/json.h>
#include <stddef.h>
#include <stdint.h>

typedef enum tst_action_type {
    TST_ACTION_UPDATE_TABLE_META = 1,
    TST_ACTION_ADD_SEGMENT = 2,
    TST_ACTION_REMOVE_SEGMENT = 3,
    TST_ACTION_UPDATE_TABLE_COVERAGE = 4
} tst_action_type;

/* The table coverage pointer: which snapshot sidecar holds the table's coverage. */
typedef struct tst_coverage_pointer {
    tst_index_kind index_kind;
    char *coverage_path;
} tst_coverage_pointer;

typedef struct tst_action {
    tst_action_type type;
    union {
        tst_table_meta meta;           /* UPDATE_TABLE_META */
        tst_segment segment;           /* ADD_SEGMENT */
        char *remove_path;             /* REMOVE_SEGMENT */
        tst_coverage_pointer coverage; /* UPDATE_TABLE_COVERAGE */
    } u;
} tst_action;

typedef struct tst_commit {
    uint64_t version;
    uint64_t base_version;
    tst_timestamp timestamp;
    tst_action *actions;
    size_t action_count;
} tst_commit;

/* ---- commits ---------------------------------------------------------- */

/*
 * Parses one commit file's bytes (not NUL-terminated). `origin` names the
 * source in messages, e.g. "/t/_timeseries_log/0000000002.json".
 * On failure *out is left cleared.
 */
int tst_commit_parse(tst_commit *out, const char *json, size_t len, const char *origin);
/*
 * The same, for a commit of a table of the given protocol (0 when unknown,
 * 6, or 7). In a protocol-7 table (or a commit holding a protocol-7 meta),
 * actions with unknown names are dropped, as the reference's loader does.
 */
int tst_commit_parse_for(tst_commit *out, const char *json, size_t len, const char *origin,
                         uint32_t protocol);
/* Prints a commit as compact JSON; *out_json is malloc'd and NUL-terminated. */
int tst_commit_serialize(const tst_commit *commit, char **out_json, size_t *out_len);
/* Releases what a commit owns and zeroes it. */
void tst_commit_clear(tst_commit *commit);

/* ---- single shapes, to and from json-c objects ------------------------ */
/* from_json: `where` names the place for messages ("commit X action 2").
 * to_json: returns a new json_object (caller puts it), or NULL on ENOMEM. */

int tst_table_meta_from_json(tst_table_meta *out, json_object *obj, const char *where);
json_object *tst_table_meta_to_json(const tst_table_meta *meta);
int tst_table_meta_copy(tst_table_meta *dst, const tst_table_meta *src);
void tst_table_meta_clear(tst_table_meta *meta);

int tst_index_spec_from_json(tst_index_spec *out, json_object *obj, const char *where);
json_object *tst_index_spec_to_json(const tst_index_spec *spec);
/* Structural checks: non-empty, unique entity columns, not the index column. */
int tst_index_spec_validate(const tst_index_spec *spec);
int tst_index_spec_copy(tst_index_spec *dst, const tst_index_spec *src);
void tst_index_spec_clear(tst_index_spec *spec);

int tst_index_kind_from_json(tst_index_kind *out, json_object *obj, const char *where);
json_object *tst_index_kind_to_json(const tst_index_kind *kind);
bool tst_index_kind_equal(const tst_index_kind *a, const tst_index_kind *b);

int tst_index_value_from_json(tst_index_value *out, json_object *obj, const char *where);
json_object *tst_index_value_to_json(const tst_index_value *value);

int tst_schema_from_json(tst_schema **out, json_object *obj, const char *where);
json_object *tst_schema_to_json(const tst_schema *schema);
int tst_schema_copy(tst_schema **dst, const tst_schema *src);
void tst_schema_free(tst_schema *schema);
/* A deep copy of src (its annotations too) with extra_count more columns (deep-copied)
 * at its end. */
int tst_schema_extend(tst_schema **dst, const tst_schema *src, const tst_field *extra,
                      size_t extra_count);
/* The column of that name, or NULL. */
const tst_field *tst_schema_find(const tst_schema *schema, const char *name);

/* ---- comparing schemas (schema_compare.c) ------------------------------ */

/* True when two logical types are identical, nested types included; or,
 * `loose`, when values of source type `a` go into table type `b` as they
 * are (list element names may differ; a nested field may be non-null where
 * the table's is nullable). */
bool tst_type_same(const tst_type *a, const tst_type *b, bool loose);
/* True when two schemas have the same columns in the same order, with the
 * same types and nullability (annotations aside). */
bool tst_schema_equal(const tst_schema *a, const tst_schema *b);
/* True when two schemas (of equal types) carry the same annotations everywhere. */
bool tst_schema_annotations_equal(const tst_schema *a, const tst_schema *b);

int tst_segment_from_json(tst_segment *out, json_object *obj, const char *where);
json_object *tst_segment_to_json(const tst_segment *segment);
int tst_segment_copy(tst_segment *dst, const tst_segment *src);
void tst_segment_clear(tst_segment *segment);

/* The entity value type a column of this type holds (utf8, int32, int64,
 * uint64), or 0 for a type that cannot identify an entity. */
tst_entity_type tst_entity_type_of(const tst_type *type);
/* "utf8", "int32", "int64", "uint64", or "an unknown type". */
const char *tst_entity_type_name(tst_entity_type type);

int tst_entity_value_from_json(tst_entity_value *out, json_object *obj, const char *where);
json_object *tst_entity_value_to_json(const tst_entity_value *value);

int tst_coverage_pointer_copy(tst_coverage_pointer *dst, const tst_coverage_pointer *src);
void tst_coverage_pointer_clear(tst_coverage_pointer *ptr);

/* ---- annotations (schema_metadata, model_schema.c) --------------------- */

/* A JSON object of strings into a sorted map (TST_ECORRUPT naming `where` and
 * `field` for another shape or a NUL character). */
int tst_metadata_from_json(tst_metadata *out, json_object *obj, const char *where,
                           const char *field);
/* The map as a JSON object, keys in order; NULL on ENOMEM. */
json_object *tst_metadata_to_json(const tst_metadata *md);
int tst_metadata_copy(tst_metadata *dst, const tst_metadata *src);
void tst_metadata_clear(tst_metadata *md);
bool tst_metadata_equal(const tst_metadata *a, const tst_metadata *b);
/*
 * Builds a map from `count` raw pairs (not NUL-terminated, e.g. from an Arrow
 * schema): each key and value must be UTF-8 without NUL, else TST_EINVAL naming
 * `what` ("schema metadata key ... is not valid UTF-8"); a repeated key keeps
 * its last value, as Arrow's readers do. Items are sorted by key.
 */
int tst_metadata_add(tst_metadata *md, const char *key, size_t key_len, const char *value,
                     size_t value_len, const char *what);

/* Drops every annotation of a schema (a format_version-6 table has none). */
void tst_schema_clear_metadata(tst_schema *schema);

/* Removes `key` from a map, if there. */
void tst_metadata_remove(tst_metadata *md, const char *key);
/* The schema-metadata key pyarrow writes for a pandas DataFrame (its index and dtypes, the
 * pandas version): it describes one frame, not a table, and no source's is adopted. */
#define TST_PANDAS_METADATA_KEY "pandas"

/* ---- protocol 7 (protocol.c) ------------------------------------------- */

/* [a-z][a-z0-9_]* */
bool tst_feature_name_valid(const char *name);
/* Valid names, sorted, unique; TST_ECORRUPT naming `where` and `field` otherwise. */
int tst_features_validate(char *const *names, size_t count, const char *where, const char *field);
int tst_features_from_json(char ***out, size_t *out_count, json_object *arr, const char *where,
                           const char *field);
json_object *tst_features_to_json(char *const *names, size_t count);
int tst_features_copy(char ***dst, size_t *dst_count, char *const *src, size_t count);
void tst_features_free(char **names, size_t count);
/* A protocol-7 meta whose reader features this build lacks: TST_EUNSUPPORTED naming the
 * feature. A format_version-6 meta always passes. */
int tst_protocol_check_read(const tst_table_meta *meta, const char *where);
/* Whether a protocol-7 meta requires that feature (as a reader or a writer feature). A
 * table requiring "schema_add_columns" has segments that lack its later columns: readers
 * match files by name and fill those columns with nulls. */
bool tst_meta_requires_feature(const tst_table_meta *meta, const char *name);
/* The feature that lets a protocol-7 schema carry annotations (reference 0.9). */
#define TST_FEATURE_SCHEMA_METADATA "schema_metadata"
/* A protocol-7 meta whose schema has annotations must require schema_metadata as a
 * reader and a writer feature (TST_ECORRUPT otherwise); part of the read check. */
int tst_protocol_check_metadata(const tst_table_meta *meta, const char *where);
/* Declares schema_metadata (reader and writer) on a protocol-7 meta whose schema has
 * annotations, as the commit that first records them must; a no-op otherwise. */
int tst_protocol_enable_metadata(tst_table_meta *meta);
/* The read check, then the writer features, then reader features this build reads but
 * cannot write: TST_EUNSUPPORTED naming the feature. */
int tst_protocol_check_write(const tst_table_meta *meta, const char *where);
/* A later TableMeta keeps the format and every feature of the earlier one (TST_ECORRUPT). */
int tst_protocol_check_transition(const tst_table_meta *from, const tst_table_meta *to,
                                  const char *where);
/* The log loader's pre-scan of a commit's raw actions: each UpdateTableMeta's
 * protocol_version and reader features. *out_v7 (may be NULL) is set when one is protocol 7. */
int tst_protocol_prescan(json_object *actions, const char *what, bool *out_v7);

/* ---- persisted names -------------------------------------------------- */

/*
 * A persisted relative path must be canonical: non-empty UTF-8, no leading
 * '/', no '\', no empty, "." or ".." component, no trailing '/', no drive
 * prefix ("C:"). `what` names the field in the message. TST_ECORRUPT otherwise.
 */
int tst_path_validate(const char *path, const char *what);

/* A coverage id: 1..128 chars of [A-Za-z0-9._-], at least one alphanumeric,
 * no leading '.', no "..". TST_EINVAL otherwise. */
int tst_coverage_id_validate(const char *id);

/* A deep copy of a layout (Single values' bytes owned), and its release. */
int tst_entity_layout_copy(tst_entity_layout *dst, const tst_entity_layout *src);
void tst_entity_layout_clear(tst_entity_layout *layout);

#endif
