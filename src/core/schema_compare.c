/*
 * schema_compare.c — when two schemas are the same schema.
 *
 * Used wherever a segment's or a commit's schema is held against the
 * table's: replaying the log (a schema change must be an evolution),
 * append (the schema a first append adopted under a race), and rewrites
 * (a segment's footer against the log). Knows types, not sources: how a
 * source's columns meet a table is engine/append_schema.c.
 */
#include "model.h"

#include <json-c/json.h>
#include <stdbool.h>
#include <string.h>

/*
 * True when two logical types are identical, nested types included; or,
 * `loose`, when a source type `a` holds values the table type `b` takes as
 * they are: list element names may differ (pyarrow and arrow-rs say
 * "item", DuckDB "element"; a re-encode writes the table's), and a nested
 * field may be non-null where the table's is nullable.
 */
static bool same_field(const tst_field *a, const tst_field *b, bool loose, bool named)
{
    bool nullable_ok = a->nullable == b->nullable || (loose && !a->nullable);
    return (!named || strcmp(a->name, b->name) == 0) && nullable_ok &&
           tst_type_same(&a->type, &b->type, loose);
}

static bool same_optional_field(const tst_field *a, const tst_field *b, bool loose, bool named)
{
    return (!a && !b) || (a && b && same_field(a, b, loose, named));
}

bool tst_type_same(const tst_type *a, const tst_type *b, bool loose)
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
            if (!same_field(&a->fields[i], &b->fields[i], loose, true))
                return false;
        return true;
    case TST_TYPE_LIST: return same_optional_field(a->element, b->element, loose, !loose);
    case TST_TYPE_MAP:
        return a->keys_sorted == b->keys_sorted &&
               same_optional_field(a->key, b->key, loose, true) &&
               same_optional_field(a->value, b->value, loose, true);
    case TST_TYPE_OTHER: return strcmp(a->other_name, b->other_name) == 0;
    default: return true;
    }
}

bool tst_schema_equal(const tst_schema *a, const tst_schema *b)
{
    if (a->column_count != b->column_count)
        return false;
    for (size_t i = 0; i < a->column_count; i++)
        if (!same_field(&a->columns[i], &b->columns[i], false, true))
            return false;
    return true;
}

bool tst_schema_annotations_equal(const tst_schema *a, const tst_schema *b)
{
    if (!tst_schema_has_metadata(a) && !tst_schema_has_metadata(b))
        return true;
    json_object *ja = tst_schema_to_json(a), *jb = tst_schema_to_json(b);
    bool same = ja && jb &&
                strcmp(json_object_to_json_string_ext(ja, JSON_C_TO_STRING_PLAIN),
                       json_object_to_json_string_ext(jb, JSON_C_TO_STRING_PLAIN)) == 0;
    json_object_put(ja);
    json_object_put(jb);
    return same;
}
