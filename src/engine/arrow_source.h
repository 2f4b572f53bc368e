/*
 * arrow_source.h — an Arrow C stream as an append source (see source.h).
 *
 * The append reads its source twice: once to measure it (rows, bounds,
 * coverage, overlap check) before anything is written, then again to write
 * the segment. An ArrowArrayStream can be read only once, so the stream is
 * drained, exactly once, into a staging table of the process's DuckDB, and
 * the source's relation_sql names that table.
 *
 * Why a table in the shared in-memory database rather than a view or a TEMP
 * table: measuring and writing (segment.h) each open their own DuckDB
 * connection, and both an Arrow scan view and a TEMP table exist only on
 * the connection that made them. A table in the database's main schema is
 * visible to every connection, so the measure/write path runs unchanged.
 * Its name is unique ("__tst_arrow_<uuid>") and it lives only while the
 * append runs: tst_arrow_staging_drop() removes it, success or failure.
 *
 * Memory: the staging table holds the whole stream, so an Arrow append
 * costs memory proportional to the data (DuckDB's buffer manager may spill
 * it to its temp directory past memory_limit); the Arrow batches
 * themselves are converted and released one at a time.
 */
#ifndef TST_ARROW_SOURCE_H
#define TST_ARROW_SOURCE_H

#include "source.h"
#include "tstable/arrow.h"

#include <stdbool.h>

/* The staging table of one Arrow append. Zero-initialise it. */
typedef struct tst_arrow_staging {
    char name[64];
    bool created;
} tst_arrow_staging;

/*
 * Describes the stream's columns from its ArrowSchema (format strings and
 * ARROW_FLAG_NULLABLE, mapped as format §1.7 says) and drains its batches
 * into a new staging table. Zero-row batches are skipped. The stream is
 * released before this returns, whatever happens.
 *
 * When the schema alone dooms the append (a column of a type no table can
 * hold, duplicate or blank names), no batch is read: the append's schema
 * rules report the column. Errors: TST_EINVAL for a stream that is not a
 * struct of columns or a batch that does not match it; TST_EIO when the
 * producer fails (its errno and get_last_error text are kept);
 * TST_EEMPTY when no batch has a row; TST_EUNSUPPORTED for a type DuckDB
 * cannot import; TST_ESQL; TST_ENOMEM.
 */
int tst_source_arrow(tst_source *out, struct ArrowArrayStream *stream,
                     tst_arrow_staging *staging);
/* The same, for an append to a table of that schema (NULL: none yet): when
 * the stream's annotations conflict with the table's (protocol 7,
 * schema_metadata), no batch is read either, as the reference refuses such
 * a stream unread; the append's schema rules then report the key. */
int tst_source_arrow_for(tst_source *out, struct ArrowArrayStream *stream,
                         tst_arrow_staging *staging, const tst_schema *table_schema);

/*
 * The columns of an Arrow struct schema (borrowed, not released) as table
 * fields, mapped as an append maps them; each must be a table type exactly
 * (no conversion, no Int96 or other type): TST_ESCHEMA naming the column
 * otherwise. TST_EINVAL for a schema that is not a struct. Free each field
 * with tst_source_field_clear, then the array.
 */
int tst_arrow_schema_fields(const struct ArrowSchema *schema, tst_field **out, size_t *out_count);

/* Drops the staging table if it was created; safe to call twice. */
void tst_arrow_staging_drop(tst_arrow_staging *staging);

#endif
