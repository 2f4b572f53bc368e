/*
 * append_schema.c — the schema rules of an append (format §3, step 2, as
 * extended in docs/guide/source-types.md).
 *
 * Decides, before any file is written, how a source's columns meet the
 * table's schema. A first append adopts the source's schema; columns whose
 * type the format lacks but whose values convert exactly are adopted as
 * the nearest table type (int8/int16 -> int32, uint8..uint32 -> uint64,
 * float16 -> float32, date -> timestamp[us], timestamp[s] -> [ms], INT96 ->
 * timestamp[us](UTC), dictionary/large/view strings -> utf8, JSON -> utf8),
 * and each such conversion is reported to the log callback ("append.adopt").
 * A later append matches columns by name; each source column must read as
 * the table's type exactly or through a lossless conversion:
 *   - integers widen (never negative into unsigned), float16/32 -> float64;
 *   - timestamps widen s -> ms -> us -> ns, and narrow only when every value
 *     is a whole number of the table's unit (checked over the values);
 *     any zone matches any zone (the values are instants), but a zone-less
 *     column never meets a zoned one;
 *   - a non-nullable column goes into a nullable one; a nullable one into
 *     a non-nullable one only when it holds no null (checked).
 * The value checks run after every column passed the type rules, so a
 * refused type costs no read.
 *
 * The invariant behind the copy decision: every committed segment declares
 * exactly the table's schema as a footer reader (format §1.7, the
 * reference) derives it. A Parquet source is copied byte for byte only when
 * each of its columns is `footer_exact` and equals the table's column in
 * type, nullability and position; anything else is re-encoded, and the
 * re-encode embeds the table's schema (segment_write.c).
 *
 * Annotations (protocol 7, `schema_metadata`, as the reference 0.9 rules
 * them): a first append adopts the source's schema and field annotations
 * with its types (a format_version-6 table drops them: the format has
 * none). A later append may leave any annotation key out (it is inherited)
 * but may not give a key the table lacks or another value for one it has,
 * on the schema or on any field (nested fields, map entries included): the
 * append is TST_ESCHEMA before any value is read. Where the table has no
 * annotations at that level, the source's are ignored, not adopted. A table
 * with annotations never takes a byte copy: every segment is re-encoded so
 * that its footer declares exactly the table's annotations, which the
 * reference checks on every read.
 */
#include "append_schema.h"

#include "diagnostics.h"
#include "fail.h"
#include "model.h"
#include "source_values.h"

#include <inttypes.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static bool index_type_fits(const tst_type *type, tst_index_type index)
{
    switch (index) {
    case TST_INDEX_TIMESTAMP: return type->kind == TST_TYPE_TIMESTAMP;
    case TST_INDEX_INT64: return type->kind == TST_TYPE_INT64;
    case TST_INDEX_UINT64: return type->kind == TST_TYPE_UINT64;
    }
    return false;
}

static int schema_error(const char *root, const char *fmt, const char *column, const char *a,
                        const char *b)
{
    char detail[512];
    snprintf(detail, sizeof detail, fmt, column, a, b);
    tst_fail(TST_ESCHEMA, "append to table %s rejected: %s; nothing was written", root, detail);
    tst_fail_set_path(root);
    return TST_ESCHEMA;
}

/* The index and entity columns of a schema the table is about to adopt. */
int tst_append_check_spec_columns(const tst_index_spec *spec, const tst_schema *schema,
                                  const char *root)
{
    char type[128];
    const tst_field *index = tst_schema_find(schema, spec->column);
    if (!index)
        return schema_error(root, "the index column '%s' is missing%s%s", spec->column, "", "");
    if (!index_type_fits(&index->type, spec->kind.type)) {
        tst_type_format(&index->type, type, sizeof type);
        return schema_error(root, "the index column '%s' has type %s, expected %s (the table's index "
                            "type)", spec->column, type, tst_index_type_name(spec->kind.type));
    }
    for (size_t i = 0; i < spec->entity_count; i++) {
        const tst_field *f = tst_schema_find(schema, spec->entity_columns[i]);
        if (!f)
            return schema_error(root, "the entity column '%s' is missing%s%s",
                                spec->entity_columns[i], "", "");
        tst_type_kind k = f->type.kind;
        if (k != TST_TYPE_UTF8 && k != TST_TYPE_INT32 && k != TST_TYPE_INT64 &&
            k != TST_TYPE_UINT64) {
            tst_type_format(&f->type, type, sizeof type);
            return schema_error(root, "the entity column '%s' has type %s%s; entity columns "
                                "must be utf8, int32, int64 or uint64", spec->entity_columns[i],
                                type, "");
        }
    }
    return 0;
}

/* ---- integers and floats -------------------------------------------------- */

/* Lossless integer and float conversions, by what arrived and where it goes. */
static bool widens_to(const tst_source_column *in, const tst_type *table)
{
    tst_type_kind to = table->kind, from = in->type.kind;
    switch (in->wire) {
    case TST_WIRE_INT8:
    case TST_WIRE_INT16: return to == TST_TYPE_INT32 || to == TST_TYPE_INT64;
    case TST_WIRE_UINT8:
    case TST_WIRE_UINT16:
        return to == TST_TYPE_UINT64 || to == TST_TYPE_INT32 || to == TST_TYPE_INT64;
    case TST_WIRE_UINT32: return to == TST_TYPE_UINT64 || to == TST_TYPE_INT64;
    case TST_WIRE_FLOAT16: return to == TST_TYPE_FLOAT32 || to == TST_TYPE_FLOAT64;
    case TST_WIRE_EXACT:
    case TST_WIRE_ENCODED: /* a dictionary of int32, say */
        return (from == TST_TYPE_INT32 && to == TST_TYPE_INT64) ||
               (from == TST_TYPE_FLOAT32 && to == TST_TYPE_FLOAT64);
    default: return false;
    }
}

/* ---- timestamps ------------------------------------------------------------- */

/* What a source column needs beyond its type: value checks. */
typedef struct column_check {
    const tst_field *want;
    const tst_source_column *in;
    bool nulls;                 /* nullable into non-nullable: count nulls */
    tst_time_precision narrow;  /* 0, or the source unit to narrow from */
} column_check;

static const char *unit_name(tst_time_precision u)
{
    return u == TST_PRECISION_MILLIS ? "milliseconds"
         : u == TST_PRECISION_MICROS ? "microseconds"
                                     : "nanoseconds";
}

static int zone_error(const char *root, const tst_field *want, const tst_source_column *in,
                      const char *table_type)
{
    bool table_zoned = want->type.timezone != NULL;
    const char *fix = table_zoned
        ? "say which zone the source's values are in: DuckDB `timezone('UTC', ts)`, polars "
          "`.dt.replace_time_zone('UTC')`, pyarrow `pc.assume_timezone(ts, 'UTC')`"
        : "drop the zone from the source (its values become UTC wall times): DuckDB "
          "`timezone('UTC', ts)`, polars `.dt.replace_time_zone(None)`, pyarrow "
          "`ts.cast(pa.timestamp(unit))`";
    char detail[768];
    snprintf(detail, sizeof detail, "column '%s' is %s in the table but %s (%s a time zone) in "
             "the source; a zone-less column and a zoned one hold different things; %s",
             want->name, table_type, in->type_text, table_zoned ? "without" : "with", fix);
    tst_fail(TST_ESCHEMA, "append to table %s rejected: %s; nothing was written", root, detail);
    tst_fail_set_path(root);
    return TST_ESCHEMA;
}

/* Timestamps into a timestamp column: zones, then units (see the top). */
static int match_timestamp(const char *root, column_check *check, const char *table_type,
                           bool *cast)
{
    const tst_type *want = &check->want->type, *in = &check->in->type;
    if ((want->timezone != NULL) != (in->timezone != NULL))
        return zone_error(root, check->want, check->in, table_type);
    bool seconds = check->in->wire == TST_WIRE_SECONDS, date = check->in->wire == TST_WIRE_DATE;
    if (!seconds && !date && in->unit > want->unit)
        check->narrow = in->unit;
    *cast = true;
    return 0;
}

/* ---- one column ------------------------------------------------------------- */

static const tst_source_column *find_column(const tst_source *src, const char *name)
{
    for (size_t i = 0; i < src->column_count; i++)
        if (strcmp(src->columns[i].name, name) == 0)
            return &src->columns[i];
    return NULL;
}

static int check_duplicates(const tst_source *src, const char *root)
{
    for (size_t i = 0; i < src->column_count; i++)
        for (size_t j = 0; j < i; j++)
            if (strcmp(src->columns[i].name, src->columns[j].name) == 0)
                return schema_error(root, "the source has the column '%s' twice%s%s",
                                    src->columns[i].name, "", "");
    return 0;
}

static int type_error(const char *root, const tst_field *want, const tst_source_column *in,
                      const char *table_type)
{
    char detail[1024], way_out[512];
    tst_source_way_out(in, way_out, sizeof way_out);
    if (in->wire == TST_WIRE_OTHER)
        snprintf(detail, sizeof detail, "column '%s' has type %s in the table but %s in the "
                 "source, which no table column can hold; %s", want->name, table_type,
                 in->type_text, way_out);
    else
        snprintf(detail, sizeof detail, "column '%s' has type %s in the table but %s in the "
                 "source, and %s does not convert to %s without loss; cast it to %s first",
                 want->name, table_type, in->type_text, in->type_text, table_type, table_type);
    tst_fail(TST_ESCHEMA, "append to table %s rejected: %s; nothing was written", root, detail);
    tst_fail_set_path(root);
    return TST_ESCHEMA;
}

/* Matches one table column against the source by the rules at the top. */
static int match_column(const char *root, const tst_source *src, size_t position,
                        column_check *check, bool *cast, bool *moved)
{
    const tst_field *want = check->want;
    const tst_source_column *in = find_column(src, want->name);
    char table_type[128];
    tst_type_format(&want->type, table_type, sizeof table_type);
    if (!in)
        return schema_error(root, "the source has no column '%s' (table type %s)%s", want->name,
                            table_type, "");
    check->in = in;
    *moved |= &src->columns[position] != in;
    if (in->nullable != want->nullable) {
        check->nulls = in->nullable; /* non-null into nullable needs no check */
        *cast = true;
    }
    if (in->wire != TST_WIRE_OTHER && tst_type_same(&in->type, &want->type, false)) {
        *cast |= in->wire != TST_WIRE_EXACT || !in->footer_exact;
        return 0;
    }
    if (in->wire != TST_WIRE_OTHER && tst_type_same(&in->type, &want->type, true)) {
        *cast = true; /* nested names or nullability differ: the re-encode declares ours */
        return 0;
    }
    if (in->wire != TST_WIRE_OTHER && in->type.kind == TST_TYPE_TIMESTAMP &&
        want->type.kind == TST_TYPE_TIMESTAMP)
        return match_timestamp(root, check, table_type, cast);
    if (!widens_to(in, &want->type))
        return type_error(root, want, in, table_type);
    *cast = true;
    return 0;
}

static bool is_nested(const tst_type *t)
{
    return t->kind == TST_TYPE_STRUCT || t->kind == TST_TYPE_LIST || t->kind == TST_TYPE_MAP;
}

/* The checks over values, once every column passed the type rules. */
static int check_values(const char *root, const tst_source *src, const column_check *c)
{
    uint64_t count = 0;
    char first[128] = "";
    int rc = 0;
    if (c->nulls) {
        rc = tst_source_null_count(src, c->want->name, is_nested(&c->want->type), &count);
        if (rc == 0 && count > 0) {
            tst_fail(TST_ESCHEMA, "append to table %s rejected: column '%s' is not nullable in "
                     "the table, but the source holds %" PRIu64 " null%s in it; nothing was "
                     "written; fill or drop those rows first (DuckDB `coalesce(%s, ...)` or "
                     "`WHERE %s IS NOT NULL`, polars `.fill_null(...)`/`.drop_nulls()`)",
                     root, c->want->name, count, count == 1 ? "" : "s", c->want->name,
                     c->want->name);
            tst_fail_set_path(root);
            return TST_ESCHEMA;
        }
    }
    if (rc == 0 && c->narrow) {
        tst_time_precision to = c->want->type.unit;
        rc = tst_source_inexact_count(src, c->want->name, c->narrow, to, &count, first,
                                      sizeof first);
        if (rc == 0 && count > 0) {
            tst_fail(TST_ESCHEMA, "append to table %s rejected: column '%s' holds %s in the "
                     "table, but %" PRIu64 " value%s of the source (%s) %s not whole %s, the "
                     "first %s; nothing was written; round them first (DuckDB `date_trunc("
                     "'%.*s', %s)`, polars `.dt.truncate('1%s')`)", root, c->want->name,
                     unit_name(to), count, count == 1 ? "" : "s", c->in->type_text,
                     count == 1 ? "is" : "are", unit_name(to), first,
                     (int)strlen(unit_name(to)) - 1, unit_name(to), c->want->name,
                     to == TST_PRECISION_MILLIS ? "ms" : "us");
            tst_fail_set_path(root);
            return TST_ESCHEMA;
        }
    }
    return rc;
}

/* ---- adoption --------------------------------------------------------------- */

/* An integer index column is adopted as the index's own type when it fits. */
static bool index_widens(const tst_source_column *in, tst_index_type index)
{
    tst_wire_kind w = in->wire;
    bool small_signed = w == TST_WIRE_INT8 || w == TST_WIRE_INT16 ||
                        ((w == TST_WIRE_EXACT || w == TST_WIRE_ENCODED) &&
                         in->type.kind == TST_TYPE_INT32);
    bool small_unsigned = w == TST_WIRE_UINT8 || w == TST_WIRE_UINT16 || w == TST_WIRE_UINT32;
    if (index == TST_INDEX_INT64)
        return small_signed || small_unsigned;
    return index == TST_INDEX_UINT64 && small_unsigned;
}

static void note_adoption(const char *root, const char *column, const char *from,
                          const tst_type *to)
{
    char type[128];
    tst_type_format(to, type, sizeof type);
    tst_log_event(TST_LOG_WARN, "append.adopt", "table %s: column '%s' (%s) stored as %s", root,
                  column, from, type);
}

/* A decimal over 38 digits anywhere in a type: the format holds it, but the
 * engine (DuckDB) reads it only as a DOUBLE, so SQL would show rounded
 * values and a re-encode could not write it. */
static bool wide_decimal(const tst_type *t)
{
    if (t->kind == TST_TYPE_DECIMAL && t->precision > 38)
        return true;
    for (size_t i = 0; i < t->field_count; i++)
        if (wide_decimal(&t->fields[i].type))
            return true;
    return (t->element && wide_decimal(&t->element->type)) ||
           (t->key && wide_decimal(&t->key->type)) || (t->value && wide_decimal(&t->value->type));
}

static int check_decimals(const tst_source *src, const char *root)
{
    for (size_t i = 0; i < src->column_count; i++)
        if (src->columns[i].wire != TST_WIRE_OTHER && wide_decimal(&src->columns[i].type))
            return schema_error(root, "column '%s' has type %s: decimals over 38 digits are "
                                "read by the engine only as float64, so queries would see "
                                "rounded values; cast it to decimal(38, s), to float64 or to "
                                "text first%s", src->columns[i].name, src->columns[i].type_text,
                                "");
    return 0;
}

static int adopt(const tst_table_meta *meta, const tst_source *src, const char *root,
                 tst_append_plan *out)
{
    int rc = check_decimals(src, root);
    if (rc != 0)
        return rc;
    rc = tst_source_logical_schema(src, &out->adopted);
    if (rc == TST_ESCHEMA)
        return tst_fail_context(TST_ESCHEMA, "append to table %s rejected (nothing was "
                                "written)", root);
    bool exact = rc == 0;
    for (size_t i = 0; rc == 0 && i < src->column_count; i++) {
        const tst_source_column *in = &src->columns[i];
        tst_field *f = &out->adopted->columns[i];
        if (strcmp(in->name, meta->index.column) == 0 && index_widens(in, meta->index.kind.type))
            f->type.kind = meta->index.kind.type == TST_INDEX_INT64 ? TST_TYPE_INT64
                                                                    : TST_TYPE_UINT64;
        if (in->wire != TST_WIRE_EXACT || f->type.kind != in->type.kind)
            note_adoption(root, in->name, in->type_text, &f->type);
        exact &= in->footer_exact && f->type.kind == in->type.kind;
    }
    if (rc == 0)
        rc = tst_append_check_spec_columns(&meta->index, out->adopted, root);
    if (rc != 0) {
        tst_schema_free(out->adopted);
        out->adopted = NULL;
        return rc;
    }
    if (meta->protocol_version == 0)
        tst_schema_clear_metadata(out->adopted); /* format_version 6 has no annotations */
    out->schema = out->adopted;
    out->copyable = src->is_parquet && exact && !tst_schema_has_metadata(out->adopted);
    return 0;
}

/* ---- annotations ------------------------------------------------------------ */

/* The first key of `in` that `table` lacks or holds with another value, or
 * NULL; a table without annotations here takes any (they are ignored). */
static const tst_kv *metadata_conflict(const tst_metadata *table, const tst_metadata *in)
{
    if (table->count == 0)
        return NULL;
    for (size_t i = 0; i < in->count; i++) {
        const char *want = tst_metadata_get(table, in->items[i].key);
        if (!want || strcmp(want, in->items[i].value) != 0)
            return &in->items[i];
    }
    return NULL;
}

typedef struct md_clash {
    char path[512];
    const tst_kv *kv;
    const char *table_value; /* NULL: the table has no such key */
} md_clash;

static bool clash_at(md_clash *c, const char *path, const tst_metadata *table,
                     const tst_metadata *in)
{
    const tst_kv *kv = metadata_conflict(table, in);
    if (!kv)
        return false;
    snprintf(c->path, sizeof c->path, "%s", path);
    c->kv = kv;
    c->table_value = tst_metadata_get(table, kv->key);
    return true;
}

static bool field_clash(md_clash *c, const char *path, const tst_field *table,
                        const tst_field *in);

/* Nested fields, paired by position as the reference does. */
static bool type_clash(md_clash *c, const char *path, const tst_type *t, const tst_type *in)
{
    char sub[512];
    if (t->kind == TST_TYPE_STRUCT && in->kind == TST_TYPE_STRUCT) {
        for (size_t i = 0; i < t->field_count && i < in->field_count; i++) {
            snprintf(sub, sizeof sub, "%s.%s", path, t->fields[i].name);
            if (field_clash(c, sub, &t->fields[i], &in->fields[i]))
                return true;
        }
    } else if (t->kind == TST_TYPE_LIST && in->kind == TST_TYPE_LIST && t->element &&
               in->element) {
        snprintf(sub, sizeof sub, "%s.%s", path, t->element->name);
        return field_clash(c, sub, t->element, in->element);
    } else if (t->kind == TST_TYPE_MAP && in->kind == TST_TYPE_MAP) {
        snprintf(sub, sizeof sub, "%s.entries", path);
        if (clash_at(c, sub, &t->entries_metadata, &in->entries_metadata))
            return true;
        snprintf(sub, sizeof sub, "%s.entries.key", path);
        if (t->key && in->key && field_clash(c, sub, t->key, in->key))
            return true;
        snprintf(sub, sizeof sub, "%s.entries.value", path);
        if (t->value && in->value)
            return field_clash(c, sub, t->value, in->value);
        if (!t->value && !in->value)
            return clash_at(c, sub, &t->null_value_metadata, &in->null_value_metadata);
    }
    return false;
}

static bool field_clash(md_clash *c, const char *path, const tst_field *table,
                        const tst_field *in)
{
    return clash_at(c, path, &table->metadata, &in->metadata) ||
           type_clash(c, path, &table->type, &in->type);
}

static int metadata_error(const char *root, const char *what, const md_clash *c)
{
    char have[160];
    if (c->table_value)
        snprintf(have, sizeof have, "the table has \"%.100s\"", c->table_value);
    else
        snprintf(have, sizeof have, "the table has no such key");
    tst_fail(TST_ESCHEMA, "append to table %s rejected: %s conflicts with the table%s%s%s for "
             "key \"%.100s\" (the source has \"%.100s\", %s); leave the key out to keep the "
             "table's value, or give the same value; nothing was written", root, what,
             c->path[0] ? " at \"" : "", c->path, c->path[0] ? "\"" : "", c->kv->key,
             c->kv->value, have);
    tst_fail_set_path(root);
    return TST_ESCHEMA;
}

bool tst_append_annotations_conflict(const tst_schema *table, const tst_source *src)
{
    md_clash c = {{0}, NULL, NULL};
    if (clash_at(&c, "", &table->metadata, &src->metadata))
        return true;
    for (size_t i = 0; i < src->column_count; i++) {
        const tst_source_column *in = &src->columns[i];
        const tst_field *want = tst_schema_find(table, in->name);
        tst_field view = {in->name, in->type, in->nullable, in->metadata};
        if (want && field_clash(&c, want->name, want, &view))
            return true;
    }
    return false;
}

/* The source's annotations against the table's (nothing is read). */
static int check_annotations(const tst_schema *table, const tst_source *src, const char *root)
{
    md_clash c = {{0}, NULL, NULL};
    if (clash_at(&c, "", &table->metadata, &src->metadata))
        return metadata_error(root, "the source's schema metadata", &c);
    for (size_t i = 0; i < src->column_count; i++) {
        const tst_source_column *in = &src->columns[i];
        const tst_field *want = tst_schema_find(table, in->name);
        tst_field view = {in->name, in->type, in->nullable, in->metadata};
        if (want && field_clash(&c, want->name, want, &view))
            return metadata_error(root, "the source's field metadata", &c);
    }
    return 0;
}

/* ---- the plan --------------------------------------------------------------- */

static int extra_columns(const tst_table_meta *meta, const tst_source *src, const char *root,
                         size_t omitted)
{
    if (src->column_count + omitted == meta->schema->column_count)
        return 0;
    for (size_t i = 0; i < src->column_count; i++)
        if (!tst_schema_find(meta->schema, src->columns[i].name))
            return schema_error(root, "the source has a column '%s' (%s) that the table "
                                "does not have%s", src->columns[i].name,
                                src->columns[i].type_text, "");
    return 0;
}

/*
 * After add_columns (protocol 7, feature schema_add_columns) a source may
 * leave out a nullable payload column: the segment is written with the
 * table's whole schema and nulls there, as the reference writes it. Index
 * and entity columns are always required; a table that never added a column
 * keeps the strict rule.
 */
bool tst_append_may_omit(const tst_table_meta *meta, const tst_field *want)
{
    if (!want->nullable || !tst_meta_requires_feature(meta, "schema_add_columns") ||
        strcmp(want->name, meta->index.column) == 0)
        return false;
    for (size_t k = 0; k < meta->index.entity_count; k++)
        if (strcmp(want->name, meta->index.entity_columns[k]) == 0)
            return false;
    return true;
}

static int match(const tst_table_meta *meta, const tst_source *src, const char *root,
                 tst_append_plan *out)
{
    size_t n = meta->schema->column_count, omitted = 0;
    column_check *checks = calloc(n ? n : 1, sizeof *checks);
    if (!checks)
        return tst_fail(TST_ENOMEM, "out of memory planning an append to %s", root);
    bool cast = false, moved = false;
    int rc = 0;
    for (size_t i = 0; rc == 0 && i < n; i++) {
        checks[i].want = &meta->schema->columns[i];
        if (!find_column(src, checks[i].want->name) && tst_append_may_omit(meta, checks[i].want)) {
            omitted++;
            cast = true; /* re-encoded, with nulls in that column */
            continue;
        }
        rc = match_column(root, src, i, &checks[i], &cast, &moved);
    }
    if (rc == 0)
        rc = extra_columns(meta, src, root, omitted);
    if (rc == 0)
        rc = check_annotations(meta->schema, src, root);
    for (size_t i = 0; rc == 0 && i < n; i++)
        rc = check_values(root, src, &checks[i]);
    free(checks);
    if (rc != 0)
        return rc;
    out->schema = meta->schema;
    out->copyable = src->is_parquet && !cast && !moved && !tst_schema_has_metadata(meta->schema);
    return 0;
}

int tst_append_plan_schema(const tst_table_meta *meta, const tst_source *src, const char *root,
                           tst_append_plan *out)
{
    memset(out, 0, sizeof *out);
    int rc = check_duplicates(src, root);
    if (rc != 0)
        return rc;
    return meta->schema ? match(meta, src, root, out) : adopt(meta, src, root, out);
}

void tst_append_plan_clear(tst_append_plan *plan)
{
    tst_schema_free(plan->adopted);
    memset(plan, 0, sizeof *plan);
}
