/*
 * model_meta.c — table metadata and segments, JSON in and out (format-v6
 * §1.5, §1.6, §1.8): TableMeta, TableKind, IndexSpec, IndexKind, TimeBucket,
 * IndexValue, EntityValue, EntityLayout and SegmentMeta.
 *
 * Two reading policies meet here, both taken from the reference: the
 * small tagged values (IndexSpec, IndexKind, IndexValue, EntityValue)
 * reject unknown fields, because a stray field there changes meaning
 * (a timestamp kind with a bucket_width is not a timestamp kind); the
 * records (TableMeta, SegmentMeta) ignore unknown fields, so a newer
 * writer can add information older readers do not need.
 *
 * Everything the log persists is validated as it is read: index specs,
 * bucket widths, paths. Replay (done elsewhere) can then trust a parsed
 * commit's shapes and check only how commits relate to each other.
 */
#include "model.h"

#include "fail.h"
#include "json_util.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define DESC_MAX 80

static const char *const TIME_UNIT_NAMES[] = {NULL, "Seconds", "Minutes", "Hours", "Days"};
/* The `type` tags of IndexKind and IndexValue as the reference 0.4.0 writes them: serde's
 * snake_case turns the variant UInt64 into "u_int64" (checked against tables the real package
 * wrote, tests/compat/test_reference_uint64.py). Reading also accepts "uint64", which tstable
 * wrote before that check and which protocol 7 uses for IndexKind. */
static const char *const INDEX_TYPE_NAMES[] = {NULL, "timestamp", "int64", "u_int64"};
static const char *const ENTITY_TYPE_NAMES[] = {NULL, "utf8", "int32", "int64", "uint64"};

static int expect_object(json_object *v, const char *where, const char *what)
{
    if (json_object_is_type(v, json_type_object))
        return 0;
    char desc[DESC_MAX];
    return tst_fail(TST_ECORRUPT, "%s: expected %s object, found %s", where, what,
                    tst_json_describe(v, desc, sizeof desc));
}

/* Index of name in names[1..count], or 0. */
static int name_index(const char *name, const char *const *names, int count)
{
    for (int i = 1; i <= count; i++)
        if (strcmp(name, names[i]) == 0)
            return i;
    return 0;
}

/* The index type a `type` tag names (either spelling of uint64), or 0. */
static tst_index_type index_type_from_tag(const char *tag)
{
    if (strcmp(tag, "uint64") == 0)
        return TST_INDEX_UINT64;
    return (tst_index_type)name_index(tag, INDEX_TYPE_NAMES, 3);
}

/* ---- TimeBucket and IndexKind ------------------------------------------ */

static int time_bucket_from_json(tst_time_bucket *out, json_object *v, const char *where)
{
    const char *tag = NULL;
    json_object *count = NULL;
    int rc = tst_json_single_member(v, where, &tag, &count);
    if (rc != 0)
        return rc;
    int unit = name_index(tag, TIME_UNIT_NAMES, 4);
    if (unit == 0)
        return tst_fail(TST_ECORRUPT,
                        "%s: unknown time bucket unit `%.64s`, expected `Seconds`, `Minutes`, "
                        "`Hours` or `Days`",
                        where, tag);
    out->unit = (tst_time_unit)unit;
    rc = tst_json_u32(count, where, tag, &out->count);
    if (rc == 0 && out->count == 0)
        rc = tst_fail(TST_ECORRUPT, "%s: time bucket count is 0 (it must be at least 1)", where);
    return rc;
}

static json_object *time_bucket_to_json(tst_time_bucket bucket)
{
    if (bucket.unit < TST_TIME_SECONDS || bucket.unit > TST_TIME_DAYS)
        return NULL;
    json_object *obj = json_object_new_object();
    if (!obj || tst_json_add(obj, TIME_UNIT_NAMES[bucket.unit],
                             json_object_new_uint64(bucket.count)) != 0) {
        json_object_put(obj);
        return NULL;
    }
    return obj;
}

static int timezone_from_json(tst_index_kind *out, json_object *v, const char *where)
{
    const char *tz = NULL;
    int rc = tst_json_cstr(v, where, "timezone", &tz);
    if (rc != 0)
        return rc;
    size_t len = strlen(tz);
    /* "" is how the struct spells "no timezone": an empty name cannot round-trip. */
    if (len == 0)
        return tst_fail(TST_ECORRUPT, "%s: field `timezone` is an empty string", where);
    if (len > TST_TIMEZONE_MAX)
        return tst_fail(TST_ECORRUPT, "%s: field `timezone` is %zu bytes long (at most %d)", where,
                        len, TST_TIMEZONE_MAX);
    memcpy(out->timezone, tz, len + 1);
    return 0;
}

/* The width's key: protocol 7 renamed `bucket` and `bucket_width` to `index_granularity`. */
static const char *width_key(const tst_index_kind *kind)
{
    if (kind->protocol == TST_PROTOCOL_VERSION)
        return "index_granularity";
    return kind->type == TST_INDEX_TIMESTAMP ? "bucket" : "bucket_width";
}

static int timestamp_kind_from_json(tst_index_kind *out, json_object *obj, const char *where)
{
    static const char *const allowed[] = {"type", "bucket", "timezone", NULL};
    static const char *const allowed7[] = {"type", "index_granularity", "timezone", NULL};
    char at[TST_JSON_WHERE_MAX];
    json_object *bucket = NULL;
    const char *key = width_key(out);
    int rc = tst_json_only_fields(obj, out->protocol == TST_PROTOCOL_VERSION ? allowed7 : allowed,
                                  where);
    if (rc == 0)
        rc = tst_json_require(obj, key, where, &bucket);
    if (rc == 0)
        rc = time_bucket_from_json(&out->bucket, bucket, tst_json_where(at, sizeof at, where, key));
    json_object *tz = tst_json_optional(obj, "timezone");
    if (rc == 0 && tz)
        rc = timezone_from_json(out, tz, where);
    return rc;
}

static int integer_kind_from_json(tst_index_kind *out, json_object *obj, const char *where)
{
    static const char *const allowed[] = {"type", "bucket_width", NULL};
    static const char *const allowed7[] = {"type", "index_granularity", NULL};
    json_object *width = NULL;
    const char *key = width_key(out);
    int rc = tst_json_only_fields(obj, out->protocol == TST_PROTOCOL_VERSION ? allowed7 : allowed,
                                  where);
    if (rc == 0)
        rc = tst_json_require(obj, key, where, &width);
    if (rc == 0)
        rc = tst_json_u64(width, where, key, &out->bucket_width);
    if (rc == 0 && out->bucket_width == 0)
        rc = tst_fail(TST_ECORRUPT, "%s: %s is 0 (it must be at least 1)", where, key);
    return rc;
}

int tst_index_kind_from_json(tst_index_kind *out, json_object *obj, const char *where)
{
    memset(out, 0, sizeof *out);
    int rc = expect_object(obj, where, "an index kind");
    json_object *type = NULL;
    const char *name = NULL;
    if (rc == 0)
        rc = tst_json_require(obj, "type", where, &type);
    if (rc == 0)
        rc = tst_json_cstr(type, where, "type", &name);
    if (rc != 0)
        return rc;
    out->type = index_type_from_tag(name);
    /* The shape tells the protocol: only protocol 7 has `index_granularity`. */
    out->protocol = tst_json_optional(obj, "index_granularity") ? TST_PROTOCOL_VERSION
                                                                 : TST_FORMAT_VERSION;
    if (out->type == TST_INDEX_TIMESTAMP)
        rc = timestamp_kind_from_json(out, obj, where);
    else if (out->type != 0)
        rc = integer_kind_from_json(out, obj, where);
    else
        rc = tst_fail(TST_ECORRUPT,
                      "%s: unknown index type `%.64s`, expected `timestamp`, `int64`, `uint64` "
                      "or `u_int64`",
                      where, name);
    if (rc != 0)
        memset(out, 0, sizeof *out);
    return rc;
}

json_object *tst_index_kind_to_json(const tst_index_kind *kind)
{
    if (kind->type < TST_INDEX_TIMESTAMP || kind->type > TST_INDEX_UINT64)
        return NULL;
    bool v7 = kind->protocol == TST_PROTOCOL_VERSION;
    /* Protocol 7 renamed only IndexKind's tag to "uint64" (IndexValue keeps "u_int64"). */
    const char *tag = v7 && kind->type == TST_INDEX_UINT64 ? "uint64" : INDEX_TYPE_NAMES[kind->type];
    json_object *obj = json_object_new_object();
    int rc = obj ? tst_json_add(obj, "type", tst_json_new_string(tag)) : -1;
    if (rc == 0 && kind->type == TST_INDEX_TIMESTAMP) {
        rc = tst_json_add(obj, width_key(kind), time_bucket_to_json(kind->bucket));
        if (rc == 0 && kind->timezone[0])
            rc = tst_json_add(obj, "timezone", tst_json_new_string(kind->timezone));
    } else if (rc == 0) {
        rc = tst_json_add(obj, width_key(kind), json_object_new_uint64(kind->bucket_width));
    }
    if (rc != 0) {
        json_object_put(obj);
        return NULL;
    }
    return obj;
}

bool tst_index_kind_equal(const tst_index_kind *a, const tst_index_kind *b)
{
    if (a->type != b->type)
        return false;
    if (a->type == TST_INDEX_TIMESTAMP)
        return a->bucket.unit == b->bucket.unit && a->bucket.count == b->bucket.count &&
               strncmp(a->timezone, b->timezone, sizeof a->timezone) == 0;
    return a->bucket_width == b->bucket_width;
}

/* ---- IndexSpec ---------------------------------------------------------- */

static int entity_columns_from_json(tst_index_spec *out, json_object *arr, const char *where)
{
    if (!arr)
        return 0; /* absent or null: the reference's default, no entity columns */
    if (!json_object_is_type(arr, json_type_array)) {
        char desc[DESC_MAX];
        return tst_fail(TST_ECORRUPT, "%s: field `entity_columns` must be an array, found %s",
                        where, tst_json_describe(arr, desc, sizeof desc));
    }
    size_t n = json_object_array_length(arr);
    if (n == 0)
        return 0;
    out->entity_columns = calloc(n, sizeof *out->entity_columns);
    if (!out->entity_columns)
        return tst_fail(TST_ENOMEM, "%s: out of memory for %zu entity columns", where, n);
    char at[TST_JSON_WHERE_MAX];
    for (size_t i = 0; i < n; i++) {
        snprintf(at, sizeof at, "entity_columns[%zu]", i);
        int rc = tst_json_strdup(json_object_array_get_idx(arr, i), where, at,
                                 &out->entity_columns[out->entity_count]);
        if (rc != 0)
            return rc;
        out->entity_count++;
    }
    return 0;
}

int tst_index_spec_from_json(tst_index_spec *out, json_object *obj, const char *where)
{
    static const char *const allowed[] = {"column", "entity_columns", "kind", NULL};
    char at[TST_JSON_WHERE_MAX];
    memset(out, 0, sizeof *out);
    json_object *column = NULL, *kind = NULL;
    int rc = expect_object(obj, where, "an index spec");
    if (rc == 0)
        rc = tst_json_only_fields(obj, allowed, where);
    if (rc == 0)
        rc = tst_json_require(obj, "column", where, &column);
    if (rc == 0)
        rc = tst_json_strdup(column, where, "column", &out->column);
    if (rc == 0)
        rc = entity_columns_from_json(out, tst_json_optional(obj, "entity_columns"), where);
    if (rc == 0)
        rc = tst_json_require(obj, "kind", where, &kind);
    if (rc == 0)
        rc = tst_index_kind_from_json(&out->kind, kind,
                                      tst_json_where(at, sizeof at, where, "kind"));
    if (rc == 0 && tst_index_spec_validate(out) != 0)
        rc = tst_fail_context(TST_ECORRUPT, "%s", where);
    if (rc != 0)
        tst_index_spec_clear(out);
    return rc;
}

static json_object *strings_to_json(char *const *strings, size_t count)
{
    json_object *arr = json_object_new_array_ext((int)count);
    for (size_t i = 0; arr && i < count; i++) {
        json_object *s = tst_json_new_string(strings[i]);
        if (!s || json_object_array_add(arr, s) != 0) {
            json_object_put(s);
            json_object_put(arr);
            return NULL;
        }
    }
    return arr;
}

json_object *tst_index_spec_to_json(const tst_index_spec *spec)
{
    json_object *obj = json_object_new_object();
    if (!obj || tst_json_add(obj, "column", tst_json_new_string(spec->column)) != 0 ||
        tst_json_add(obj, "entity_columns",
                     strings_to_json(spec->entity_columns, spec->entity_count)) != 0 ||
        tst_json_add(obj, "kind", tst_index_kind_to_json(&spec->kind)) != 0) {
        json_object_put(obj);
        return NULL;
    }
    return obj;
}

static int index_kind_validate(const tst_index_kind *kind)
{
    switch (kind->type) {
    case TST_INDEX_TIMESTAMP:
        if (kind->bucket.unit < TST_TIME_SECONDS || kind->bucket.unit > TST_TIME_DAYS)
            return tst_fail(TST_EINVAL, "invalid time bucket unit %d", (int)kind->bucket.unit);
        if (kind->bucket.count == 0)
            return tst_fail(TST_EINVAL, "time bucket count is 0 (it must be at least 1)");
        if (memchr(kind->timezone, '\0', sizeof kind->timezone) == NULL)
            return tst_fail(TST_EINVAL, "timezone is not NUL-terminated");
        return 0;
    case TST_INDEX_INT64:
    case TST_INDEX_UINT64:
        if (kind->bucket_width == 0)
            return tst_fail(TST_EINVAL, "bucket_width is 0 (it must be at least 1)");
        return 0;
    default: return tst_fail(TST_EINVAL, "invalid index type %d", (int)kind->type);
    }
}

static int entity_column_validate(const tst_index_spec *spec, size_t i)
{
    const char *name = spec->entity_columns[i];
    if (!name || !*name)
        return tst_fail(TST_EINVAL, "entity column %zu is empty", i);
    if (strcmp(name, spec->column) == 0)
        return tst_fail(TST_EINVAL, "entity column cannot also be the ordered index column: %s",
                        name);
    for (size_t j = 0; j < i; j++)
        if (strcmp(name, spec->entity_columns[j]) == 0)
            return tst_fail(TST_EINVAL, "duplicate entity column: %s", name);
    return 0;
}

int tst_index_spec_validate(const tst_index_spec *spec)
{
    if (!spec->column || !*spec->column)
        return tst_fail(TST_EINVAL, "ordered index column is empty");
    for (size_t i = 0; i < spec->entity_count; i++) {
        int rc = entity_column_validate(spec, i);
        if (rc != 0)
            return rc;
    }
    return index_kind_validate(&spec->kind);
}

int tst_index_spec_copy(tst_index_spec *dst, const tst_index_spec *src)
{
    memset(dst, 0, sizeof *dst);
    dst->kind = src->kind;
    dst->column = src->column ? strdup(src->column) : NULL;
    if (src->column && !dst->column)
        goto nomem;
    if (src->entity_count > 0) {
        dst->entity_columns = calloc(src->entity_count, sizeof *dst->entity_columns);
        if (!dst->entity_columns)
            goto nomem;
    }
    for (size_t i = 0; i < src->entity_count; i++) {
        dst->entity_columns[i] = strdup(src->entity_columns[i]);
        if (!dst->entity_columns[i])
            goto nomem;
        dst->entity_count++;
    }
    return 0;
nomem:
    tst_index_spec_clear(dst);
    return tst_fail(TST_ENOMEM, "out of memory copying an index spec");
}

void tst_index_spec_clear(tst_index_spec *spec)
{
    free(spec->column);
    for (size_t i = 0; i < spec->entity_count; i++)
        free(spec->entity_columns[i]);
    free(spec->entity_columns);
    memset(spec, 0, sizeof *spec);
}

/* ---- TableMeta ---------------------------------------------------------- */

static int format_version_from_json(tst_table_meta *out, json_object *obj, const char *where)
{
    json_object *v = NULL;
    int rc = tst_json_require(obj, "format_version", where, &v);
    if (rc == 0)
        rc = tst_json_u32(v, where, "format_version", &out->format_version);
    if (rc == 0 && out->format_version != TST_FORMAT_VERSION)
        rc = tst_fail(TST_EUNSUPPORTED, "%s: unsupported format_version %u (this build reads %d)",
                      where, (unsigned)out->format_version, TST_FORMAT_VERSION);
    return rc;
}

/* Protocol 7: protocol_version 7, both feature lists, no format_version. */
static int protocol_from_json(tst_table_meta *out, json_object *obj, const char *where)
{
    json_object *v = NULL, *readers = NULL, *writers = NULL;
    int rc = tst_json_require(obj, "protocol_version", where, &v);
    if (rc == 0)
        rc = tst_json_u32(v, where, "protocol_version", &out->protocol_version);
    if (rc == 0 && out->protocol_version != TST_PROTOCOL_VERSION)
        rc = tst_fail(TST_EUNSUPPORTED, "%s: unsupported protocol_version %u (this build reads "
                      "protocol %d and format_version %d)", where,
                      (unsigned)out->protocol_version, TST_PROTOCOL_VERSION, TST_FORMAT_VERSION);
    if (rc == 0 && json_object_object_get_ex(obj, "format_version", NULL))
        rc = tst_fail(TST_ECORRUPT, "%s: legacy field 'format_version' is not valid protocol-v7 "
                      "metadata", where);
    if (rc == 0)
        rc = tst_json_require(obj, "required_reader_features", where, &readers);
    if (rc == 0)
        rc = tst_features_from_json(&out->reader_features, &out->reader_feature_count, readers,
                                    where, "required_reader_features");
    if (rc == 0)
        rc = tst_json_require(obj, "required_writer_features", where, &writers);
    if (rc == 0)
        rc = tst_features_from_json(&out->writer_features, &out->writer_feature_count, writers,
                                    where, "required_writer_features");
    return rc;
}

/* The index kind's shape must match the meta's: index_granularity exactly in protocol 7. */
static int check_kind_shape(const tst_table_meta *meta, const char *where)
{
    if (meta->generic)
        return 0;
    bool v7 = meta->protocol_version == TST_PROTOCOL_VERSION;
    if (v7 != (meta->index.kind.protocol == TST_PROTOCOL_VERSION))
        return tst_fail(TST_ECORRUPT, "%s: the index kind uses %s, but the table is %s", where,
                        v7 ? "`bucket`/`bucket_width`" : "`index_granularity`",
                        v7 ? "protocol 7 (which names it `index_granularity`)"
                           : "format_version 6 (which names it `bucket`/`bucket_width`)");
    return 0;
}

static int table_kind_from_json(tst_table_meta *out, json_object *v, const char *where)
{
    char at[TST_JSON_WHERE_MAX];
    if (json_object_is_type(v, json_type_string)) {
        if (strcmp(json_object_get_string(v), "Generic") == 0) {
            out->generic = true;
            return 0;
        }
    } else {
        const char *tag = NULL;
        json_object *spec = NULL;
        int rc = tst_json_single_member(v, where, &tag, &spec);
        if (rc != 0)
            return rc;
        if (strcmp(tag, "TimeSeries") == 0)
            return tst_index_spec_from_json(&out->index, spec,
                                            tst_json_where(at, sizeof at, where, tag));
    }
    char desc[DESC_MAX];
    return tst_fail(TST_ECORRUPT, "%s: unknown table kind %s, expected {\"TimeSeries\": ...} or "
                    "\"Generic\"", where, tst_json_describe(v, desc, sizeof desc));
}

int tst_table_meta_from_json(tst_table_meta *out, json_object *obj, const char *where)
{
    char at[TST_JSON_WHERE_MAX];
    memset(out, 0, sizeof *out);
    json_object *kind = NULL, *created = NULL;
    int rc = expect_object(obj, where, "a table meta");
    /* First, so a newer format reports as unsupported rather than as corrupt. A
     * protocol_version key makes it a protocol-7 meta, anything else format_version 6. */
    bool v7 = rc == 0 && json_object_object_get_ex(obj, "protocol_version", NULL);
    if (rc == 0)
        rc = v7 ? protocol_from_json(out, obj, where) : format_version_from_json(out, obj, where);
    if (rc == 0)
        rc = tst_json_require(obj, "kind", where, &kind);
    if (rc == 0)
        rc = table_kind_from_json(out, kind, tst_json_where(at, sizeof at, where, "kind"));
    json_object *schema = rc == 0 ? tst_json_optional(obj, "logical_schema") : NULL;
    if (schema)
        rc = tst_schema_from_json(&out->schema, schema,
                                  tst_json_where(at, sizeof at, where, "logical_schema"));
    if (rc == 0)
        rc = tst_json_require(obj, "created_at", where, &created);
    if (rc == 0)
        rc = tst_json_timestamp(created, where, "created_at", &out->created_at);
    if (rc == 0)
        rc = check_kind_shape(out, where);
    if (rc != 0)
        tst_table_meta_clear(out);
    return rc;
}

json_object *tst_table_meta_to_json(const tst_table_meta *meta)
{
    json_object *obj = json_object_new_object();
    json_object *kind = NULL;
    if (meta->generic) {
        kind = tst_json_new_string("Generic");
    } else {
        kind = json_object_new_object();
        if (kind && tst_json_add(kind, "TimeSeries", tst_index_spec_to_json(&meta->index)) != 0) {
            json_object_put(kind);
            kind = NULL;
        }
    }
    int rc = obj ? tst_json_add(obj, "kind", kind) : (json_object_put(kind), -1);
    if (rc == 0)
        rc = meta->schema ? tst_json_add(obj, "logical_schema", tst_schema_to_json(meta->schema))
                          : tst_json_add_null(obj, "logical_schema");
    if (rc == 0)
        rc = tst_json_add(obj, "created_at", tst_json_new_timestamp(meta->created_at));
    if (rc == 0 && meta->protocol_version) {
        rc = tst_json_add(obj, "protocol_version", json_object_new_uint64(meta->protocol_version));
        if (rc == 0)
            rc = tst_json_add(obj, "required_reader_features",
                              tst_features_to_json(meta->reader_features,
                                                   meta->reader_feature_count));
        if (rc == 0)
            rc = tst_json_add(obj, "required_writer_features",
                              tst_features_to_json(meta->writer_features,
                                                   meta->writer_feature_count));
    } else if (rc == 0) {
        rc = tst_json_add(obj, "format_version", json_object_new_uint64(meta->format_version));
    }
    if (rc != 0) {
        json_object_put(obj);
        return NULL;
    }
    return obj;
}

int tst_table_meta_copy(tst_table_meta *dst, const tst_table_meta *src)
{
    memset(dst, 0, sizeof *dst);
    dst->generic = src->generic;
    dst->created_at = src->created_at;
    dst->format_version = src->format_version;
    dst->protocol_version = src->protocol_version;
    int rc = tst_index_spec_copy(&dst->index, &src->index);
    if (rc == 0)
        rc = tst_features_copy(&dst->reader_features, &dst->reader_feature_count,
                               src->reader_features, src->reader_feature_count);
    if (rc == 0)
        rc = tst_features_copy(&dst->writer_features, &dst->writer_feature_count,
                               src->writer_features, src->writer_feature_count);
    if (rc == 0)
        rc = tst_schema_copy(&dst->schema, src->schema);
    if (rc != 0)
        tst_table_meta_clear(dst);
    return rc;
}

void tst_table_meta_clear(tst_table_meta *meta)
{
    tst_index_spec_clear(&meta->index);
    tst_schema_free(meta->schema);
    tst_features_free(meta->reader_features, meta->reader_feature_count);
    tst_features_free(meta->writer_features, meta->writer_feature_count);
    memset(meta, 0, sizeof *meta);
}

/* ---- IndexValue and EntityValue ----------------------------------------- */

/* {"type": ..., "value": ...} with nothing else: the adjacently tagged shape. */
static int tagged_value(json_object *obj, const char *where, const char *what,
                        const char **out_type, json_object **out_value)
{
    static const char *const allowed[] = {"type", "value", NULL};
    json_object *type = NULL;
    int rc = expect_object(obj, where, what);
    if (rc == 0)
        rc = tst_json_only_fields(obj, allowed, where);
    if (rc == 0)
        rc = tst_json_require(obj, "type", where, &type);
    if (rc == 0)
        rc = tst_json_cstr(type, where, "type", out_type);
    if (rc == 0)
        rc = tst_json_require(obj, "value", where, out_value);
    return rc;
}

int tst_index_value_from_json(tst_index_value *out, json_object *obj, const char *where)
{
    memset(out, 0, sizeof *out);
    const char *type = NULL;
    json_object *value = NULL;
    int rc = tagged_value(obj, where, "an index value", &type, &value);
    if (rc != 0)
        return rc;
    out->type = index_type_from_tag(type);
    switch (out->type) {
    case TST_INDEX_TIMESTAMP: return tst_json_timestamp(value, where, "value", &out->v.ts);
    case TST_INDEX_INT64: return tst_json_i64(value, where, "value", &out->v.i64);
    case TST_INDEX_UINT64: return tst_json_u64(value, where, "value", &out->v.u64);
    default:
        return tst_fail(TST_ECORRUPT,
                        "%s: unknown index value type `%.64s`, expected `timestamp`, `int64` or "
                        "`u_int64`",
                        where, type);
    }
}

static json_object *tagged_value_to_json(const char *type, json_object *value)
{
    json_object *obj = value ? json_object_new_object() : NULL;
    if (!obj || tst_json_add(obj, "type", tst_json_new_string(type)) != 0 ||
        tst_json_add(obj, "value", value) != 0) {
        if (!obj)
            json_object_put(value);
        json_object_put(obj);
        return NULL;
    }
    return obj;
}

json_object *tst_index_value_to_json(const tst_index_value *value)
{
    switch (value->type) {
    case TST_INDEX_TIMESTAMP:
        return tagged_value_to_json("timestamp", tst_json_new_timestamp(value->v.ts));
    case TST_INDEX_INT64: return tagged_value_to_json("int64", json_object_new_int64(value->v.i64));
    case TST_INDEX_UINT64:
        return tagged_value_to_json(INDEX_TYPE_NAMES[TST_INDEX_UINT64],
                                    json_object_new_uint64(value->v.u64));
    default: return NULL;
    }
}

/* A utf8 value borrows its bytes from obj: they live as long as obj does. */
int tst_entity_value_from_json(tst_entity_value *out, json_object *obj, const char *where)
{
    memset(out, 0, sizeof *out);
    const char *type = NULL;
    json_object *value = NULL;
    int rc = tagged_value(obj, where, "an entity value", &type, &value);
    if (rc != 0)
        return rc;
    out->type = (tst_entity_type)name_index(type, ENTITY_TYPE_NAMES, 4);
    switch (out->type) {
    case TST_ENTITY_UTF8:
        return tst_json_bytes(value, where, "value", &out->v.utf8.ptr, &out->v.utf8.len);
    case TST_ENTITY_INT32: return tst_json_i32(value, where, "value", &out->v.i32);
    case TST_ENTITY_INT64: return tst_json_i64(value, where, "value", &out->v.i64);
    case TST_ENTITY_UINT64: return tst_json_u64(value, where, "value", &out->v.u64);
    default:
        return tst_fail(TST_ECORRUPT,
                        "%s: unknown entity value type `%.64s`, expected `utf8`, `int32`, "
                        "`int64` or `uint64`",
                        where, type);
    }
}

json_object *tst_entity_value_to_json(const tst_entity_value *value)
{
    switch (value->type) {
    case TST_ENTITY_UTF8:
        return tagged_value_to_json(
            "utf8", json_object_new_string_len(value->v.utf8.ptr ? value->v.utf8.ptr : "",
                                               (int)value->v.utf8.len));
    case TST_ENTITY_INT32: return tagged_value_to_json("int32", json_object_new_int(value->v.i32));
    case TST_ENTITY_INT64:
        return tagged_value_to_json("int64", json_object_new_int64(value->v.i64));
    case TST_ENTITY_UINT64:
        return tagged_value_to_json("uint64", json_object_new_uint64(value->v.u64));
    default: return NULL;
    }
}

/* ---- EntityLayout ------------------------------------------------------- */

static void layout_clear(tst_entity_layout *layout)
{
    for (size_t i = 0; i < layout->count; i++)
        if (layout->values[i].type == TST_ENTITY_UTF8)
            free((char *)layout->values[i].v.utf8.ptr);
    free(layout->values);
    memset(layout, 0, sizeof *layout);
}

/* Gives a utf8 value its own copy of the bytes (NUL-terminated for convenience). */
static int own_value(tst_entity_value *value)
{
    if (value->type != TST_ENTITY_UTF8)
        return 0;
    char *copy = malloc(value->v.utf8.len + 1);
    if (!copy)
        return tst_fail(TST_ENOMEM, "out of memory copying an entity value");
    if (value->v.utf8.len)
        memcpy(copy, value->v.utf8.ptr, value->v.utf8.len);
    copy[value->v.utf8.len] = '\0';
    value->v.utf8.ptr = copy;
    return 0;
}

/* Appends values one by one, so a failure leaves a layout layout_clear can free. */
static int single_layout_from_json(tst_entity_layout *out, json_object *arr, const char *where)
{
    char at[TST_JSON_WHERE_MAX];
    if (!json_object_is_type(arr, json_type_array)) {
        char desc[DESC_MAX];
        return tst_fail(TST_ECORRUPT, "%s: `Single` must be an array of entity values, found %s",
                        where, tst_json_describe(arr, desc, sizeof desc));
    }
    size_t n = json_object_array_length(arr);
    if (n == 0)
        return tst_fail(TST_ECORRUPT, "%s: a Single entity layout needs at least one component",
                        where);
    out->values = calloc(n, sizeof *out->values);
    if (!out->values)
        return tst_fail(TST_ENOMEM, "%s: out of memory for %zu entity values", where, n);
    for (size_t i = 0; i < n; i++) {
        snprintf(at, sizeof at, "%s.Single[%zu]", where, i);
        tst_entity_value value;
        int rc = tst_entity_value_from_json(&value, json_object_array_get_idx(arr, i), at);
        if (rc == 0)
            rc = own_value(&value);
        if (rc != 0)
            return rc;
        out->values[out->count++] = value;
    }
    return 0;
}

static int layout_from_json(tst_entity_layout *out, json_object *v, const char *where)
{
    memset(out, 0, sizeof *out);
    if (json_object_is_type(v, json_type_string)) {
        const char *name = json_object_get_string(v);
        if (strcmp(name, "NotApplicable") == 0 || strcmp(name, "Mixed") == 0) {
            out->kind = name[0] == 'N' ? TST_LAYOUT_NOT_APPLICABLE : TST_LAYOUT_MIXED;
            return 0;
        }
    } else if (json_object_is_type(v, json_type_object)) {
        const char *tag = NULL;
        json_object *arr = NULL;
        int rc = tst_json_single_member(v, where, &tag, &arr);
        if (rc != 0)
            return rc;
        if (strcmp(tag, "Single") == 0) {
            out->kind = TST_LAYOUT_SINGLE;
            rc = single_layout_from_json(out, arr, where);
            if (rc != 0)
                layout_clear(out);
            return rc;
        }
    }
    char desc[DESC_MAX];
    return tst_fail(TST_ECORRUPT,
                    "%s: unknown entity layout %s, expected \"NotApplicable\", {\"Single\": [...]} "
                    "or \"Mixed\"",
                    where, tst_json_describe(v, desc, sizeof desc));
}

static json_object *layout_to_json(const tst_entity_layout *layout)
{
    if (layout->kind == TST_LAYOUT_NOT_APPLICABLE)
        return tst_json_new_string("NotApplicable");
    if (layout->kind == TST_LAYOUT_MIXED)
        return tst_json_new_string("Mixed");
    if (layout->kind != TST_LAYOUT_SINGLE)
        return NULL;
    json_object *arr = json_object_new_array_ext((int)layout->count);
    for (size_t i = 0; arr && i < layout->count; i++) {
        json_object *v = tst_entity_value_to_json(&layout->values[i]);
        if (!v || json_object_array_add(arr, v) != 0) {
            json_object_put(v);
            json_object_put(arr);
            return NULL;
        }
    }
    json_object *obj = arr ? json_object_new_object() : NULL;
    if (!obj || tst_json_add(obj, "Single", arr) != 0) {
        if (!obj)
            json_object_put(arr);
        json_object_put(obj);
        return NULL;
    }
    return obj;
}

static int layout_copy(tst_entity_layout *dst, const tst_entity_layout *src)
{
    memset(dst, 0, sizeof *dst);
    dst->kind = src->kind;
    if (src->count == 0)
        return 0;
    dst->values = calloc(src->count, sizeof *dst->values);
    if (!dst->values)
        return tst_fail(TST_ENOMEM, "out of memory copying an entity layout");
    for (size_t i = 0; i < src->count; i++) {
        tst_entity_value value = src->values[i];
        int rc = own_value(&value);
        if (rc != 0) {
            layout_clear(dst);
            return rc;
        }
        dst->values[dst->count++] = value;
    }
    return 0;
}

/* ---- SegmentMeta -------------------------------------------------------- */

static int segment_path_from_json(char **out, json_object *v, const char *where, const char *field,
                                  const char *what)
{
    int rc = tst_json_strdup(v, where, field, out);
    if (rc == 0 && tst_path_validate(*out, what) != 0)
        rc = tst_fail_context(TST_ECORRUPT, "%s", where);
    return rc;
}

static int segment_format_from_json(json_object *obj, const char *where)
{
    json_object *format = tst_json_optional(obj, "format");
    const char *name = NULL;
    if (!format)
        return 0; /* absent: the reference's default, parquet */
    int rc = tst_json_cstr(format, where, "format", &name);
    if (rc == 0 && strcmp(name, "parquet") != 0)
        rc = tst_fail(TST_ECORRUPT, "%s: unknown segment format \"%.64s\", expected \"parquet\"",
                      where, name);
    return rc;
}

static int segment_bounds_from_json(tst_segment *out, json_object *obj, const char *where)
{
    char at[TST_JSON_WHERE_MAX];
    json_object *min = NULL, *max = NULL, *rows = NULL;
    int rc = tst_json_require(obj, "index_min", where, &min);
    if (rc == 0)
        rc = tst_index_value_from_json(&out->index_min, min,
                                       tst_json_where(at, sizeof at, where, "index_min"));
    if (rc == 0)
        rc = tst_json_require(obj, "index_max", where, &max);
    if (rc == 0)
        rc = tst_index_value_from_json(&out->index_max, max,
                                       tst_json_where(at, sizeof at, where, "index_max"));
    if (rc == 0)
        rc = tst_json_require(obj, "row_count", where, &rows);
    if (rc == 0)
        rc = tst_json_u64(rows, where, "row_count", &out->row_count);
    return rc;
}

static int segment_optionals_from_json(tst_segment *out, json_object *obj, const char *where)
{
    json_object *size = tst_json_optional(obj, "file_size");
    int rc = 0;
    if (size) {
        rc = tst_json_u64(size, where, "file_size", &out->file_size);
        out->has_file_size = rc == 0;
    }
    json_object *cov = tst_json_optional(obj, "coverage_path");
    if (rc == 0 && cov)
        rc = segment_path_from_json(&out->coverage_path, cov, where, "coverage_path",
                                    "segment coverage_path");
    return rc;
}

int tst_segment_from_json(tst_segment *out, json_object *obj, const char *where)
{
    char at[TST_JSON_WHERE_MAX];
    memset(out, 0, sizeof *out);
    json_object *path = NULL, *layout = NULL;
    int rc = expect_object(obj, where, "a segment");
    if (rc == 0)
        rc = tst_json_require(obj, "path", where, &path);
    if (rc == 0)
        rc = segment_path_from_json(&out->path, path, where, "path", "segment path");
    if (rc == 0)
        rc = segment_format_from_json(obj, where);
    if (rc == 0)
        rc = tst_json_require(obj, "entity_layout", where, &layout);
    if (rc == 0)
        rc = layout_from_json(&out->layout, layout,
                              tst_json_where(at, sizeof at, where, "entity_layout"));
    if (rc == 0)
        rc = segment_bounds_from_json(out, obj, where);
    if (rc == 0)
        rc = segment_optionals_from_json(out, obj, where);
    if (rc != 0)
        tst_segment_clear(out);
    return rc;
}

json_object *tst_segment_to_json(const tst_segment *segment)
{
    json_object *obj = json_object_new_object();
    int rc = obj ? tst_json_add(obj, "path", tst_json_new_string(segment->path)) : -1;
    if (rc == 0)
        rc = tst_json_add(obj, "format", tst_json_new_string("parquet"));
    if (rc == 0)
        rc = tst_json_add(obj, "entity_layout", layout_to_json(&segment->layout));
    if (rc == 0)
        rc = tst_json_add(obj, "index_min", tst_index_value_to_json(&segment->index_min));
    if (rc == 0)
        rc = tst_json_add(obj, "index_max", tst_index_value_to_json(&segment->index_max));
    if (rc == 0)
        rc = tst_json_add(obj, "row_count", json_object_new_uint64(segment->row_count));
    if (rc == 0 && segment->has_file_size)
        rc = tst_json_add(obj, "file_size", json_object_new_uint64(segment->file_size));
    if (rc == 0 && segment->coverage_path)
        rc = tst_json_add(obj, "coverage_path", tst_json_new_string(segment->coverage_path));
    if (rc != 0) {
        json_object_put(obj);
        return NULL;
    }
    return obj;
}

int tst_segment_copy(tst_segment *dst, const tst_segment *src)
{
    *dst = *src;
    dst->path = dst->coverage_path = NULL;
    memset(&dst->layout, 0, sizeof dst->layout);
    dst->path = src->path ? strdup(src->path) : NULL;
    dst->coverage_path = src->coverage_path ? strdup(src->coverage_path) : NULL;
    if ((src->path && !dst->path) || (src->coverage_path && !dst->coverage_path)) {
        tst_segment_clear(dst);
        return tst_fail(TST_ENOMEM, "out of memory copying a segment");
    }
    int rc = layout_copy(&dst->layout, &src->layout);
    if (rc != 0)
        tst_segment_clear(dst);
    return rc;
}

void tst_segment_clear(tst_segment *segment)
{
    free(segment->path);
    free(segment->coverage_path);
    layout_clear(&segment->layout);
    memset(segment, 0, sizeof *segment);
}

int tst_entity_layout_copy(tst_entity_layout *dst, const tst_entity_layout *src)
{
    return layout_copy(dst, src);
}

void tst_entity_layout_clear(tst_entity_layout *layout)
{
    layout_clear(layout);
}
