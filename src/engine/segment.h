/*
 * segment.h — measuring rows and writing segment files, through DuckDB.
 *
 * Measuring reads only the index and entity columns of a relation and
 * returns what a segment's metadata and coverage need: row counts, the exact
 * index min/max, and the bucket coverage (global, or per entity identity).
 * It is one streaming pass: DuckDB reads and casts the two kinds of
 * columns, and the buckets (floor division, format §1.10) are computed in C
 * chunk by chunk and added to the bitmaps as runs, so memory does not grow
 * with the relation. The older all-SQL measure (aggregation in DuckDB) stays
 * as tst_measure_relation_sql, the model the streaming one is tested against.
 *
 * Writing produces a new segment file in the table's schema: either a byte
 * copy of a Parquet source that already matches (copy_file_range), or a
 * re-encode through DuckDB (columns in table order and types, rows sorted by
 * entity then index, zstd, row groups with statistics). Both write to a temp
 * name, fsync, and publish under the final name without overwriting.
 *
 * Staging (compaction) loads several relations once into a DuckDB temporary
 * table, sorted by entity then index, so that one segment per entity can be
 * written from it without reading the relations again for each.
 */
#ifndef TST_SEGMENT_H
#define TST_SEGMENT_H

#include "tstable/append.h"
#include "tstable/coverage.h"
#include "tstable/schema.h"

#include <duckdb.h>
#include <stdbool.h>
#include <stdint.h>

typedef struct tst_measure {
    uint64_t rows;            /* all rows */
    uint64_t indexed_rows;    /* rows whose index value is not null */
    tst_index_value min, max; /* over non-null index values; valid when indexed_rows > 0 */
    tst_coverage *global;     /* tables without entity columns, else NULL */
    tst_entity_coverage *entities; /* tables with entity columns, else NULL */
} tst_measure;

/*
 * Measures `relation_sql` (a FROM-clause expression) for a table with this
 * index spec and schema (the schema gives the index column's unit and the
 * entity columns' types). Errors, all TST_ESCHEMA unless noted:
 *   - an entity column holds a null ("entity column 'symbol' has null values");
 *   - an identity whose rows all have a null index;
 *   - every index value is null (TST_EEMPTY "no non-null index values").
 */
int tst_measure_relation(const char *relation_sql, const tst_index_spec *spec,
                         const tst_schema *schema, tst_measure *out);
/* The same; with unique_intervals (protocol 7), two rows of one (entity,
 * index interval) are TST_EDUPLICATE naming the first such pair (its entity,
 * bucket, range and row count also in tst_error_last()). */
int tst_measure_relation_ex(const char *relation_sql, const tst_index_spec *spec,
                            const tst_schema *schema, bool unique_intervals, tst_measure *out);
/* The all-SQL measure (totals, gaps-and-islands runs and the duplicate
 * check computed by DuckDB's GROUP BY and window functions): the same
 * results and errors as tst_measure_relation_ex, slower; kept as the model
 * for tests (tests/integration/test_measure_stream.c). */
int tst_measure_relation_sql(const char *relation_sql, const tst_index_spec *spec,
                             const tst_schema *schema, bool unique_intervals, tst_measure *out);
void tst_measure_clear(tst_measure *m);

/*
 * Copies a Parquet file byte for byte to dst (which must not exist):
 * copy_file_range/reflink where the filesystem allows, fsync, exclusive
 * publish. The source is never modified.
 */
int tst_segment_copy_file(const char *src, const char *dst);

/*
 * Zero-copy ingest: hard-links src as dst (which must not exist) when both
 * are on one file system, fsyncs the file and dst's folder; *out_linked
 * then is true. On another file system (or when src is not a regular
 * file) nothing is done, *out_linked stays false and the caller copies.
 * The caller hands the file over: dst shares src's inode, so a later write
 * to src changes the segment.
 */
int tst_segment_link_file(const char *src, const char *dst, bool *out_linked);

/* How a re-encoded segment is laid out; zeroes mean the defaults (zstd,
 * DuckDB's row-group size). DuckDB 1.4's ROW_GROUP_SIZE_BYTES does not
 * close groups below its row-count size, so there is no byte limit here. */
typedef struct tst_segment_layout {
    tst_compression compression;
    uint64_t row_group_rows;
    /* A column of the relation (not of the schema) to order the rows by
     * instead of entity then index: an update keeps a segment's row order
     * by naming its file row numbers here. NULL: entity then index. */
    const char *order_by;
} tst_segment_layout;

/*
 * Re-encodes `relation_sql` into a new Parquet file at dst (which must not
 * exist): the table's columns in schema order, cast to the schema's types,
 * sorted by entity columns then index (or by layout->order_by), in
 * `layout` (NULL: the defaults).
 * Types the engine cannot write exactly are TST_EUNSUPPORTED naming the
 * column.
 */
int tst_segment_write(const char *relation_sql, const tst_index_spec *spec,
                      const tst_schema *schema, const char *dst, const tst_segment_layout *layout);

/*
 * The same for several relations written as one segment (compaction): each
 * is cast to the schema's types on its own (their columns may differ as
 * tst_segment_write allows), then all rows are sorted together by entity
 * columns then index (or layout->order_by, which each relation must then
 * have). DuckDB sorts under its memory limit, spilling to its temp folder.
 * n == 1 is tst_segment_write; n == 0 is TST_EINVAL.
 */
int tst_segment_write_union(const char *const *relations, size_t n, const tst_index_spec *spec,
                            const tst_schema *schema, const char *dst,
                            const tst_segment_layout *layout);

/* tst_segment_write_union on the caller's connection, which may hold TEMP
 * tables the relations read (tst_segment_stage); NULL: a connection of its
 * own. The connection's session time zone is set to UTC. */
int tst_segment_write_union_on(duckdb_connection con, const char *const *relations, size_t n,
                               const tst_index_spec *spec, const tst_schema *schema,
                               const char *dst, const tst_segment_layout *layout);

/* Relations to load once into one temporary table (compaction). */
typedef struct tst_segment_stage_spec {
    const char *table;              /* the TEMP table to create */
    const char *tag_column;         /* its extra column: which relation a row came from */
    const char *const *relations;
    const uint64_t *tags;           /* tags[i]: the tag of relations[i]'s rows */
    size_t count;
} tst_segment_stage_spec;

/*
 * Creates the TEMP table st->table on `con` holding every row of the
 * relations, each cast to the schema's types as tst_segment_write_union
 * casts it, plus st->tag_column, sorted by entity columns then index: a
 * filter on an entity then reads only that entity's row groups. Segments
 * written from it (tst_segment_write_union_on, same connection, the tag
 * column excluded) hold what a write from the relations themselves would.
 * DuckDB sorts and keeps the table under its memory limit, spilling to its
 * temp folder; the table goes when it is dropped or `con` is closed.
 * TST_EINVAL: no relation, or a tag column that is a column of the table.
 */
int tst_segment_stage(duckdb_connection con, const tst_segment_stage_spec *st,
                      const tst_index_spec *spec, const tst_schema *schema);

/* Whether a column of this type can be written (as values or as nulls):
 * 0, or TST_EUNSUPPORTED naming the column and the reason (fixed-size
 * binary, decimals over 38 digits, Int96, other types, maps without values). */
int tst_segment_field_writable(const tst_field *field);

/* The Parquet footer's row count and the file size. */
int tst_segment_file_stats(const char *path, uint64_t *out_rows, uint64_t *out_bytes);

#endif
