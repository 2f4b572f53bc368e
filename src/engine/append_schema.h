/*
 * append_schema.h — how a source's columns meet the table's schema.
 */
#ifndef TST_APPEND_SCHEMA_H
#define TST_APPEND_SCHEMA_H

#include "source.h"
#include "tstable/schema.h"

#include <stdbool.h>

typedef struct tst_append_plan {
    const tst_schema *schema; /* the schema the segment is written in (borrowed or adopted) */
    tst_schema *adopted;      /* first append: the schema the table adopts (owned) */
    bool copyable;            /* the source file can be copied byte for byte */
} tst_append_plan;

/*
 * Applies the schema rules of format §3 to a source. TST_ESCHEMA names the
 * column, the table's type and the incoming type; nothing is touched.
 */
int tst_append_plan_schema(const tst_table_meta *meta, const tst_source *src, const char *root,
                           tst_append_plan *out);
void tst_append_plan_clear(tst_append_plan *plan);

/* Whether an append may leave out this column of the table: after add_columns
 * (feature schema_add_columns), any nullable column but the index and entity
 * columns; it is then written as nulls. */
bool tst_append_may_omit(const tst_table_meta *meta, const tst_field *column);

/* True when the source's annotations conflict with the table's (nothing is read). */
bool tst_append_annotations_conflict(const tst_schema *table, const tst_source *src);

/* Checks a schema about to be adopted: index column type, entity column types. */
int tst_append_check_spec_columns(const tst_index_spec *spec, const tst_schema *schema,
                                  const char *root);

#endif
