/*
 * source.h — rows to append, as DuckDB sees them: a Parquet file or a CSV
 * file, with the incoming schema described exactly enough for the append
 * schema rules (format §3): which columns, their types (including types the
 * table cannot store, so errors can name them), and nullability.
 *
 * A source is a FROM-clause expression (`relation_sql`) that the measuring
 * and writing code (segment.h) reads with DuckDB. For Parquet, the types
 * come from the file's own schema: the embedded "ARROW:schema" when present
 * (exact Arrow types, timezones included), else the Parquet logical and
 * physical types (format §1.7, "Parquet → logical"). For CSV they come from
 * DuckDB's inference, or from the caller.
 */
#ifndef TST_SOURCE_H
#define TST_SOURCE_H

#include "tstable/append.h"
#include "tstable/schema.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/*
 * How a source column's values reach the table (see docs/guide/source-types.md).
 *
 * EXACT: the column holds `type`, a table logical type, exactly.
 * Converted kinds: the values convert exactly to `type`, which is what a
 * first append adopts; a later append may also widen them further, by the
 * rules of append_schema.c. A converted column is always re-encoded, so the
 * segment declares the table's type. OTHER: no table type holds the values
 * (`type` is an OTHER leaf naming them); the append refuses the column.
 */
typedef enum tst_wire_kind {
    TST_WIRE_EXACT = 0,
    TST_WIRE_INT8,    /* int8, adopted as int32 */
    TST_WIRE_INT16,   /* int16, adopted as int32 */
    TST_WIRE_UINT8,   /* uint8, adopted as uint64 */
    TST_WIRE_UINT16,  /* uint16, adopted as uint64 */
    TST_WIRE_UINT32,  /* uint32, adopted as uint64 */
    TST_WIRE_OTHER,   /* refused: time, interval, duration, uuid, union, null, ... */
    TST_WIRE_FLOAT16, /* float16, adopted as float32 */
    TST_WIRE_DATE,    /* date32/date64, adopted as timestamp[us] (midnight, no zone) */
    TST_WIRE_SECONDS, /* timestamp[s], adopted as timestamp[ms] with the same zone */
    TST_WIRE_INT96,   /* a Parquet INT96 timestamp (Spark): timestamp[us](UTC) */
    TST_WIRE_ENCODED  /* the values of `type` in another encoding: dictionary,
                         large_utf8/utf8_view, large_binary/binary_view, JSON text */
} tst_wire_kind;

/* True for the kinds between EXACT and OTHER: values that convert exactly. */
bool tst_wire_converted(tst_wire_kind wire);

typedef struct tst_source_column {
    char *name;
    bool nullable;
    tst_wire_kind wire;
    tst_type type;      /* EXACT: the type; converted: the type it reads as; OTHER: a leaf naming it */
    char *type_text;    /* how the incoming type reads: "int16", "timestamp[s]", "date32" */
    /* A Parquet file only: a reader that takes the segment's schema from the
     * footer (format §1.7 "Parquet -> logical", the reference) derives
     * exactly `type` and `nullable` from this column. False when it would
     * derive something else (an UTC-adjusted timestamp without ARROW:schema
     * reads as zone-less there, JSON as binary): such a file is re-encoded. */
    bool footer_exact;
    /* A zoned INT64 nanosecond timestamp: DuckDB 1.4 reads it only to
     * microseconds, so the source reads it from an unmarked copy (scratch). */
    bool zoned_nanos;
    tst_metadata metadata; /* the Arrow field's annotations (nested ones are in `type`) */
} tst_source_column;

typedef struct tst_source {
    char *relation_sql;        /* e.g. read_parquet('/data/x.parquet') */
    char *scratch_path;        /* a private copy relation_sql reads instead, removed by clear */
    char *path;                /* the file */
    bool is_parquet;           /* a Parquet file: may be copied byte for byte */
    tst_source_column *columns;
    size_t column_count;
    uint64_t row_count;        /* Parquet footer rows; UINT64_MAX when unknown (CSV) */
    tst_metadata metadata;     /* the Arrow schema's annotations (ARROW:schema, C stream) */
} tst_source;

/* Inspects a Parquet file. Missing: TST_ENOTFOUND; not Parquet: TST_EINVAL
 * naming the file. Reads only the footer. */
int tst_source_parquet(tst_source *out, const char *path);

/*
 * Inspects a CSV file through DuckDB's reader (source_csv.c). The header
 * decides the columns' names and order; their types come from, in order:
 * opts->columns (DuckDB SQL types or table logical names, for any subset of
 * the columns), the table's schema (meta->schema, when the table has one),
 * else DuckDB's inference. Columns given a type are read as text and cast
 * with a check, so a bad value fails the append later with its line
 * (tst_source_csv_explain). Errors name the file and say what to do: an
 * empty file or a header without rows is TST_EEMPTY; a column of the table
 * that is missing but present in another case, or a single column that
 * looks separated by another delimiter, is TST_ESCHEMA; a file DuckDB
 * cannot read as CSV is TST_EINVAL. meta may be NULL.
 */
int tst_source_csv(tst_source *out, const char *path, const tst_csv_options *opts,
                   const tst_table_meta *meta);

/* After a failure reading a CSV source's rows (measuring or writing): when
 * the failure is a value that does not parse as its column's type, replaces
 * the message with "CSV source X, line N, column 'c': 'v' is not a
 * timestamp ..." and returns TST_ESCHEMA; otherwise returns rc unchanged. */
int tst_source_csv_explain(const tst_source *src, int rc);

/* A DuckDB type name ("BIGINT", "TIMESTAMP WITH TIME ZONE") as a table type,
 * or an OTHER leaf named after it. */
int tst_source_duck_type(const char *t, tst_type *out, tst_wire_kind *wire);

/* The exact logical schema of the source, or TST_ESCHEMA naming the first
 * column whose type cannot be represented exactly ("Arrow type cannot be
 * represented exactly in the table logical schema at 'c': int16"). */
int tst_source_logical_schema(const tst_source *src, tst_schema **out);

/* path as DuckDB must be given it to read that one file: glob characters
 * ('*', '?', '[') escaped as one-character classes. *out is malloc'd. */
int tst_source_literal_path(const char *path, char **out);

/* For a refused (TST_WIRE_OTHER) column: a way out, in words, naming the
 * cast to use in DuckDB, polars or pyarrow on this column, in buf[cap]. */
void tst_source_way_out(const tst_source_column *col, char *buf, size_t cap);

void tst_source_clear(tst_source *src);

#endif
