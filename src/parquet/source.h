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
 * Types a source may hold that a table schema cannot (format §1.7 rejects
 * them on a first append). The narrow integers and float16/float32 take
 * part in the widening allowlist of later appends.
 */
typedef enum tst_wire_kind {
    TST_WIRE_EXACT = 0, /* the column's type is `type`, exactly */
    TST_WIRE_INT8,
    TST_WIRE_INT16,
    TST_WIRE_UINT8,
    TST_WIRE_UINT16,
    TST_WIRE_UINT32,
    TST_WIRE_OTHER      /* anything else: date, time, interval, large_utf8, ... */
} tst_wire_kind;

typedef struct tst_source_column {
    char *name;
    bool nullable;
    tst_wire_kind wire;
    tst_type type;      /* valid when wire == TST_WIRE_EXACT */
    char *type_text;    /* how the incoming type reads: "int16", "timestamp[s]", "date32" */
} tst_source_column;

typedef struct tst_source {
    char *relation_sql;        /* e.g. read_parquet('/data/x.parquet') */
    char *path;                /* the file */
    bool is_parquet;           /* a Parquet file: may be copied byte for byte */
    tst_source_column *columns;
    size_t column_count;
    uint64_t row_count;        /* Parquet footer rows; UINT64_MAX when unknown (CSV) */
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

void tst_source_clear(tst_source *src);

#endif
