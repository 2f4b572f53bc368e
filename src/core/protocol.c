/*
 * protocol.c — the rules of the reference's "protocol 7" (releases 0.5 to 0.9).
 *
 * A protocol-7 TableMeta carries `protocol_version: 7` and two feature lists,
 * `required_reader_features` and `required_writer_features`, instead of a
 * format_version. The lists gate access: a reader must support every reader
 * feature (else the table is refused, naming the feature), a writer must
 * also support every writer feature (else the table stays readable but every
 * write is refused). Requirements only grow over history. Feature names match
 * [a-z][a-z0-9_]*, are unique and are written sorted.
 *
 * This build reads and writes `schema_add_columns` (0.8: nullable columns
 * added after the first append by tst_table_add_columns, src/ops/add_columns.c;
 * older segments lack them and scans fill them with nulls, see
 * tst_meta_requires_feature; appends may then omit nullable payload columns
 * and optimize writes the evolved schema). The reference lists it as a reader
 * feature only; listing it as writable too also accepts a table that names it
 * among its writer features, which this build knows how to keep.
 * `schema_metadata` (0.9) is read and written: the logical schema carries
 * Arrow annotations (model_schema.c), which every segment written declares in
 * its footer; a schema with annotations must require it as both a reader and
 * a writer feature, as the reference checks (tst_protocol_check_read).
 *
 * Also here: the feature lists to and from JSON, and the raw pre-scan the
 * commit parser runs before decoding any action, as the reference's log
 * loader does (protocol_version first, then reader features).
 */
#include "model.h"

#include "fail.h"
#include "json_util.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Features this build can read a table with, and those it can also write one with. */
static const char *const SUPPORTED_READER_FEATURES[] = {"schema_add_columns",
                                                        TST_FEATURE_SCHEMA_METADATA, NULL};
static const char *const SUPPORTED_WRITER_FEATURES[] = {"schema_add_columns",
                                                        TST_FEATURE_SCHEMA_METADATA, NULL};

static bool supported(const char *const *list, const char *name)
{
    for (size_t i = 0; list[i]; i++)
        if (strcmp(list[i], name) == 0)
            return true;
    return false;
}

bool tst_feature_name_valid(const char *name)
{
    if (!name || !(name[0] >= 'a' && name[0] <= 'z'))
        return false;
    for (const char *p = name + 1; *p; p++)
        if (!((*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9') || *p == '_'))
            return false;
    return true;
}

int tst_features_validate(char *const *names, size_t count, const char *where, const char *field)
{
    for (size_t i = 0; i < count; i++) {
        if (!tst_feature_name_valid(names[i]))
            return tst_fail(TST_ECORRUPT, "%s: %s[%zu] `%.64s` is not a valid feature name "
                            "(it must match [a-z][a-z0-9_]*)", where, field, i, names[i]);
        if (i > 0 && strcmp(names[i - 1], names[i]) == 0)
            return tst_fail(TST_ECORRUPT, "%s: %s lists `%.64s` twice", where, field, names[i]);
        if (i > 0 && strcmp(names[i - 1], names[i]) > 0)
            return tst_fail(TST_ECORRUPT, "%s: %s is not sorted (`%.64s` comes after `%.64s`)",
                            where, field, names[i], names[i - 1]);
    }
    return 0;
}

int tst_features_from_json(char ***out, size_t *out_count, json_object *arr, const char *where,
                           const char *field)
{
    *out = NULL;
    *out_count = 0;
    if (!json_object_is_type(arr, json_type_array)) {
        char desc[80];
        return tst_fail(TST_ECORRUPT, "%s: field `%s` must be an array of feature names, found %s",
                        where, field, tst_json_describe(arr, desc, sizeof desc));
    }
    size_t n = json_object_array_length(arr);
    if (n == 0)
        return 0;
    char **names = calloc(n, sizeof *names);
    if (!names)
        return tst_fail(TST_ENOMEM, "%s: out of memory for %zu features", where, n);
    int rc = 0;
    char at[TST_JSON_WHERE_MAX];
    size_t got = 0;
    for (; rc == 0 && got < n; got++) {
        snprintf(at, sizeof at, "%s[%zu]", field, got);
        rc = tst_json_strdup(json_object_array_get_idx(arr, got), where, at, &names[got]);
    }
    if (rc == 0)
        rc = tst_features_validate(names, n, where, field);
    if (rc != 0) {
        tst_features_free(names, n);
        return rc;
    }
    *out = names;
    *out_count = n;
    return 0;
}

json_object *tst_features_to_json(char *const *names, size_t count)
{
    json_object *arr = json_object_new_array_ext((int)count);
    for (size_t i = 0; arr && i < count; i++) {
        json_object *s = tst_json_new_string(names[i]);
        if (!s || json_object_array_add(arr, s) != 0) {
            json_object_put(s);
            json_object_put(arr);
            return NULL;
        }
    }
    return arr;
}

int tst_features_copy(char ***dst, size_t *dst_count, char *const *src, size_t count)
{
    *dst = NULL;
    *dst_count = 0;
    if (count == 0)
        return 0;
    char **names = calloc(count, sizeof *names);
    if (!names)
        return tst_fail(TST_ENOMEM, "out of memory copying %zu features", count);
    for (size_t i = 0; i < count; i++)
        if (!(names[i] = strdup(src[i]))) {
            tst_features_free(names, count);
            return tst_fail(TST_ENOMEM, "out of memory copying %zu features", count);
        }
    *dst = names;
    *dst_count = count;
    return 0;
}

void tst_features_free(char **names, size_t count)
{
    for (size_t i = 0; names && i < count; i++)
        free(names[i]);
    free(names);
}

/* Adds `name` to a sorted feature list unless it is there. */
static int feature_insert(char ***names, size_t *count, const char *name)
{
    size_t at = 0;
    for (; at < *count; at++) {
        int cmp = strcmp((*names)[at], name);
        if (cmp == 0)
            return 0;
        if (cmp > 0)
            break;
    }
    char *copy = strdup(name);
    char **grown = copy ? realloc(*names, (*count + 1) * sizeof *grown) : NULL;
    if (!grown) {
        free(copy);
        return tst_fail(TST_ENOMEM, "out of memory adding feature `%s`", name);
    }
    memmove(grown + at + 1, grown + at, (*count - at) * sizeof *grown);
    grown[at] = copy;
    *names = grown;
    (*count)++;
    return 0;
}

/* The first feature of the list this build does not support, or NULL. */
static const char *first_unsupported(char *const *names, size_t count, const char *const *list)
{
    for (size_t i = 0; i < count; i++)
        if (!supported(list, names[i]))
            return names[i];
    return NULL;
}

int tst_protocol_check_read(const tst_table_meta *meta, const char *where)
{
    if (meta->protocol_version == 0)
        return 0; /* format_version 6: no features */
    if (meta->protocol_version != TST_PROTOCOL_VERSION)
        return tst_fail(TST_EUNSUPPORTED, "%s: unsupported protocol_version %u (this build reads "
                        "protocol %d and format_version %d)", where,
                        (unsigned)meta->protocol_version, TST_PROTOCOL_VERSION, TST_FORMAT_VERSION);
    const char *f = first_unsupported(meta->reader_features, meta->reader_feature_count,
                                      SUPPORTED_READER_FEATURES);
    if (f)
        return tst_fail(TST_EUNSUPPORTED, "%s: unsupported table reader features: the table "
                        "requires reader feature `%s`, which this build of tstable does not "
                        "support; open it with a tool that does", where, f);
    return tst_protocol_check_metadata(meta, where);
}

int tst_protocol_check_metadata(const tst_table_meta *meta, const char *where)
{
    if (meta->protocol_version != TST_PROTOCOL_VERSION || !tst_schema_has_metadata(meta->schema))
        return 0;
    bool reader = false, writer = false;
    for (size_t i = 0; i < meta->reader_feature_count; i++)
        reader = reader || strcmp(meta->reader_features[i], TST_FEATURE_SCHEMA_METADATA) == 0;
    for (size_t i = 0; i < meta->writer_feature_count; i++)
        writer = writer || strcmp(meta->writer_features[i], TST_FEATURE_SCHEMA_METADATA) == 0;
    if (reader && writer)
        return 0;
    return tst_fail(TST_ECORRUPT, "%s: the logical schema carries annotations (metadata) but the "
                    "table does not require `%s` as both a reader and a writer feature, as "
                    "protocol 7 demands", where, TST_FEATURE_SCHEMA_METADATA);
}

int tst_protocol_enable_metadata(tst_table_meta *meta)
{
    if (meta->protocol_version != TST_PROTOCOL_VERSION || !tst_schema_has_metadata(meta->schema))
        return 0;
    int rc = feature_insert(&meta->reader_features, &meta->reader_feature_count,
                            TST_FEATURE_SCHEMA_METADATA);
    return rc != 0 ? rc
                   : feature_insert(&meta->writer_features, &meta->writer_feature_count,
                                    TST_FEATURE_SCHEMA_METADATA);
}

int tst_protocol_check_write(const tst_table_meta *meta, const char *where)
{
    int rc = tst_protocol_check_read(meta, where);
    if (rc != 0)
        return rc;
    const char *f = first_unsupported(meta->writer_features, meta->writer_feature_count,
                                      SUPPORTED_WRITER_FEATURES);
    if (f)
        return tst_fail(TST_EUNSUPPORTED, "%s: unsupported table writer features: the table "
                        "requires writer feature `%s`, which this build of tstable does not "
                        "support; it can be read but not changed", where, f);
    /* A reader feature this build reads but cannot keep up when writing. */
    f = first_unsupported(meta->reader_features, meta->reader_feature_count,
                          SUPPORTED_WRITER_FEATURES);
    if (f)
        return tst_fail(TST_EUNSUPPORTED, "%s: unsupported table writer features: the table "
                        "requires feature `%s`, which this build of tstable can read but not "
                        "write; it can be read but not changed", where, f);
    return 0;
}

bool tst_meta_requires_feature(const tst_table_meta *meta, const char *name)
{
    for (size_t i = 0; i < meta->reader_feature_count; i++)
        if (strcmp(meta->reader_features[i], name) == 0)
            return true;
    for (size_t i = 0; i < meta->writer_feature_count; i++)
        if (strcmp(meta->writer_features[i], name) == 0)
            return true;
    return false;
}

/* True when every name of `old` is in `new` (both sorted). */
static bool features_kept(char *const *old, size_t old_count, char *const *new, size_t new_count)
{
    for (size_t i = 0; i < old_count; i++) {
        bool found = false;
        for (size_t j = 0; j < new_count && !found; j++)
            found = strcmp(old[i], new[j]) == 0;
        if (!found)
            return false;
    }
    return true;
}

int tst_protocol_check_transition(const tst_table_meta *from, const tst_table_meta *to,
                                  const char *where)
{
    if (from->protocol_version != to->protocol_version ||
        from->format_version != to->format_version)
        return tst_fail(TST_ECORRUPT, "%s: a TableMeta changes the table's format from %s %u to "
                        "%s %u; a table keeps its format for its whole history", where,
                        from->protocol_version ? "protocol" : "format_version",
                        (unsigned)(from->protocol_version ? from->protocol_version
                                                          : from->format_version),
                        to->protocol_version ? "protocol" : "format_version",
                        (unsigned)(to->protocol_version ? to->protocol_version
                                                        : to->format_version));
    if (!features_kept(from->reader_features, from->reader_feature_count, to->reader_features,
                       to->reader_feature_count) ||
        !features_kept(from->writer_features, from->writer_feature_count, to->writer_features,
                       to->writer_feature_count))
        return tst_fail(TST_ECORRUPT, "%s: a TableMeta removes a required feature; features "
                        "can only be added", where);
    return 0;
}

/* One UpdateTableMeta's raw protocol fields, before it is decoded. */
static int prescan_meta(json_object *meta, const char *where)
{
    json_object *version = NULL, *readers = NULL;
    if (!json_object_object_get_ex(meta, "protocol_version", &version))
        return 0; /* format_version 6, checked by its own pre-scan */
    if (!json_object_is_type(version, json_type_int) || json_object_get_int64(version) != 7) {
        char desc[80];
        return tst_fail(TST_EUNSUPPORTED, "%s: unsupported protocol_version %s (this build reads "
                        "protocol %d and format_version %d)", where,
                        tst_json_describe(version, desc, sizeof desc), TST_PROTOCOL_VERSION,
                        TST_FORMAT_VERSION);
    }
    if (!json_object_object_get_ex(meta, "required_reader_features", &readers) ||
        !json_object_is_type(readers, json_type_array))
        return 0; /* the decoder reports the shape */
    size_t n = json_object_array_length(readers);
    for (size_t i = 0; i < n; i++) {
        json_object *f = json_object_array_get_idx(readers, i);
        if (json_object_is_type(f, json_type_string) &&
            !supported(SUPPORTED_READER_FEATURES, json_object_get_string(f)))
            return tst_fail(TST_EUNSUPPORTED, "%s: unsupported table reader features: the "
                            "table requires reader feature `%.64s`, which this build of tstable "
                            "does not support; open it with a tool that does", where,
                            json_object_get_string(f));
    }
    return 0;
}

int tst_protocol_prescan(json_object *actions, const char *what, bool *out_v7)
{
    if (!json_object_is_type(actions, json_type_array))
        return 0;
    size_t n = json_object_array_length(actions);
    for (size_t i = 0; i < n; i++) {
        json_object *meta = NULL;
        if (!json_object_object_get_ex(json_object_array_get_idx(actions, i), "UpdateTableMeta",
                                       &meta) ||
            !json_object_is_type(meta, json_type_object))
            continue;
        char where[TST_JSON_WHERE_MAX];
        snprintf(where, sizeof where, "%s, actions[%zu].UpdateTableMeta", what, i);
        int rc = prescan_meta(meta, where);
        if (rc != 0)
            return rc;
        if (out_v7 && json_object_object_get_ex(meta, "protocol_version", NULL))
            *out_v7 = true;
    }
    return 0;
}
