/*
 * append_schema.c — the schema rules of an append (format §3, step 2).
 *
 * Decides, before any file is touched, how a source's columns meet the
 * table's schema: a first append adopts the source's exact schema (after
 * checking the index and entity columns); a later append matches columns by
 * name with identical nullability and the same type or a lossless widening.
 * The plan says whether the source can be copied byte for byte (same
 * columns, same order, same types) or must be re-encoded.
 */
#include "append_schema.h"

#include "fail.h"
#include "model.h"

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
        return schema_error(root, "the index column '%s' has type %s, but the table's index is %s",
                            spec->column, type, tst_index_type_name(spec->kind.type));
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

/* True when two logical types are identical, nested types included. */
static bool same_type(const tst_type *a, const tst_type *b);

static bool same_field(const tst_field *a, const tst_field *b)
{
    return strcmp(a->name, b->name) == 0 && a->nullable == b->nullable &&
           same_type(&a->type, &b->type);
}

static bool same_optional_field(const tst_field *a, const tst_field *b)
{
    return (!a && !b) || (a && b && same_field(a, b));
}

static bool same_type(const tst_type *a, const tst_type *b)
{
    if (a->kind != b->kind)
        return false;
    switch (a->kind) {
    case TST_TYPE_FIXED_BINARY: return a->byte_width == b->byte_width;
    case TST_TYPE_TIMESTAMP:
        return a->unit == b->unit && ((!a->timezone && !b->timezone) ||
                                      (a->timezone && b->timezone &&
                                       strcmp(a->timezone, b->timezone) == 0));
    case TST_TYPE_DECIMAL: return a->precision == b->precision && a->scale == b->scale;
    case TST_TYPE_STRUCT:
        if (a->field_count != b->field_count)
            return false;
        for (size_t i = 0; i < a->field_count; i++)
            if (!same_field(&a->fields[i], &b->fields[i]))
                return false;
        return true;
    case TST_TYPE_LIST: return same_optional_field(a->element, b->element);
    case TST_TYPE_MAP:
        return a->keys_sorted == b->keys_sorted && same_optional_field(a->key, b->key) &&
               same_optional_field(a->value, b->value);
    case TST_TYPE_OTHER: return strcmp(a->other_name, b->other_name) == 0;
    default: return true;
    }
}

bool tst_append_schema_equal(const tst_schema *a, const tst_schema *b)
{
    if (a->column_count != b->column_count)
        return false;
    for (size_t i = 0; i < a->column_count; i++)
        if (!same_field(&a->columns[i], &b->columns[i]))
            return false;
    return true;
}

/* The widening allowlist: lossless, top-level, never across signedness. */
static bool widens_to(const tst_source_column *in, const tst_type *table)
{
    tst_type_kind to = table->kind;
    switch (in->wire) {
    case TST_WIRE_INT8:
    case TST_WIRE_INT16: return to == TST_TYPE_INT32 || to == TST_TYPE_INT64;
    case TST_WIRE_UINT8:
    case TST_WIRE_UINT16:
    case TST_WIRE_UINT32: return to == TST_TYPE_UINT64;
    case TST_WIRE_EXACT:
        return (in->type.kind == TST_TYPE_INT32 && to == TST_TYPE_INT64) ||
               (in->type.kind == TST_TYPE_FLOAT32 && to == TST_TYPE_FLOAT64);
    default: return false;
    }
}

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

/* Matches one table column against the source; sets *cast when it widens. */
static int match_column(const tst_field *want, const tst_source *src, const char *root,
                        size_t position, bool *cast, bool *moved)
{
    const tst_source_column *in = find_column(src, want->name);
    char table_type[128];
    tst_type_format(&want->type, table_type, sizeof table_type);
    if (!in)
        return schema_error(root, "the source has no column '%s' (table type %s)%s", want->name,
                            table_type, "");
    if (in->nullable != want->nullable)
        return schema_error(root, "column '%s' is %s in the table but %s in the source",
                            want->name, want->nullable ? "nullable" : "not nullable",
                            in->nullable ? "nullable" : "not nullable");
    if (in->wire == TST_WIRE_EXACT && same_type(&in->type, &want->type)) {
        *moved |= &src->columns[position] != in;
        return 0;
    }
    if (!widens_to(in, &want->type))
        return schema_error(root, "column '%s' has type %s in the table but %s in the source",
                            want->name, table_type, in->type_text);
    *cast = true;
    return 0;
}

int tst_append_plan_schema(const tst_table_meta *meta, const tst_source *src, const char *root,
                           tst_append_plan *out)
{
    memset(out, 0, sizeof *out);
    int rc = check_duplicates(src, root);
    if (rc != 0)
        return rc;
    if (!meta->schema) {
        /* First append: adopt the source's schema exactly. */
        rc = tst_source_logical_schema(src, &out->adopted);
        if (rc == TST_ESCHEMA)
            return tst_fail_context(TST_ESCHEMA, "append to table %s rejected (nothing was "
                                    "written)", root);
        if (rc == 0)
            rc = tst_append_check_spec_columns(&meta->index, out->adopted, root);
        if (rc != 0) {
            tst_schema_free(out->adopted);
            out->adopted = NULL;
            return rc;
        }
        out->schema = out->adopted;
        out->copyable = src->is_parquet;
        return 0;
    }
    bool cast = false, moved = false;
    for (size_t i = 0; i < meta->schema->column_count; i++) {
        rc = match_column(&meta->schema->columns[i], src, root, i, &cast, &moved);
        if (rc != 0)
            return rc;
    }
    if (src->column_count != meta->schema->column_count) {
        for (size_t i = 0; i < src->column_count; i++)
            if (!tst_schema_find(meta->schema, src->columns[i].name))
                return schema_error(root, "the source has a column '%s' (%s) that the table "
                                    "does not have%s", src->columns[i].name,
                                    src->columns[i].type_text, "");
    }
    out->schema = meta->schema;
    out->copyable = src->is_parquet && !cast && !moved;
    return 0;
}

void tst_append_plan_clear(tst_append_plan *plan)
{
    tst_schema_free(plan->adopted);
    memset(plan, 0, sizeof *plan);
}
