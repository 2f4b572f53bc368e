/*
 * tstable/append.h — adding data to a table, safely.
 *
 * An append turns a source (a Parquet file, a CSV file, an Arrow stream) into one new
 * immutable segment plus its coverage, and commits them as the next version:
 *
 *   1. schema (docs/guide/source-types.md): the first append adopts the
 *      source's schema. A type the format lacks whose values convert
 *      exactly is stored as the nearest table type, and the conversion is
 *      reported to the log callback (event "append.adopt", TST_LOG_WARN):
 *      int8/int16 -> int32, uint8/16/32 -> uint64, float16 -> float32,
 *      date32/date64 -> timestamp[us] without zone (midnight; a DATE column
 *      can index a 1d table), timestamp[s] -> timestamp[ms] (same zone),
 *      Parquet INT96 -> timestamp[us](UTC), dictionary / large_utf8 /
 *      utf8_view -> utf8 (large_binary / binary_view -> binary), JSON ->
 *      utf8; large_list / fixed_size_list -> list, and lists, structs
 *      and maps of those string encodings -> the same of utf8 (binary); an
 *      integer index column narrower than an int64/uint64 index is stored
 *      as the index type. Types no table holds (UUID, time,
 *      interval, duration, null, union, ...) are TST_ESCHEMA naming the
 *      column and the cast to use.
 *      Later appends match the table's columns by name. A source column fits
 *      when it converts without loss: the same or a converted type; integer
 *      widenings (int8/16 -> int32/int64, int32 -> int64, uint8/16 ->
 *      int32/int64/uint64, uint32 -> int64/uint64; never signed into
 *      unsigned), float16/32 -> float64; timestamps s -> ms -> us -> ns, and
 *      a finer unit into a coarser one only when every value is whole in it
 *      (else TST_ESCHEMA naming the count and the first such value); any
 *      zone into any zone (the values are instants), never zone-less into
 *      zoned or back; dates into zone-less timestamps. Nullability: a
 *      non-null column fits a nullable one; a nullable one fits a non-null
 *      one when it holds no null (Parquet footer null counts, else a count
 *      over the column), else TST_ESCHEMA naming the column and the count;
 *   2. coverage: the (entity, bucket) pairs the rows cover are computed; if
 *      any is already covered by the table, the append is rejected with
 *      TST_EOVERLAP (count, first entity and bucket in tst_error_last());
 *   3. data: a Parquet source from whose footer a format reader (format
 *      §1.7, the reference) derives exactly the table's schema, in the same
 *      column order, is copied byte for byte into data/<uuid>.parquet and
 *      only its index and entity columns are read; otherwise (a conversion,
 *      a widening, a nullability difference, another column order, a
 *      DuckDB file with a zoned timestamp, which carries no ARROW:schema,
 *      CSV, or opts.reencode) it is re-encoded through DuckDB: zstd, rows
 *      sorted by entity then index, row groups with statistics, and the
 *      table's exact schema embedded as the footer's ARROW:schema;
 *   4. commit: segment metadata, the segment's coverage sidecar and a new
 *      table coverage snapshot, as one commit. When another writer committed
 *      first, the append rebases by itself: it reloads the table, re-checks
 *      overlap against the new state, writes a fresh snapshot and tries
 *      again, up to opts.max_attempts times.
 *
 * Whatever fails, the table is unchanged and every file the append created
 * is removed; the source file is never modified. Duplicate rows inside one
 * append are allowed. Rows with a null index value are skipped for coverage
 * (they are still stored); a null entity value is TST_ESCHEMA; a source
 * without rows is TST_EEMPTY, raised before anything is written.
 *
 * Memory is bounded, not proportional to the source: measuring streams the
 * index and entity columns (its working set follows the number of distinct
 * buckets), and re-encoding sorts under DuckDB's memory limit
 * (TST_DUCKDB_MEMORY_LIMIT, default 1GB), spilling to a temp folder beyond
 * it. At 20M rows x 24 columns: copy path ~0.24 GB peak, re-encode ~1.4 GB
 * (docs/benchmarks/append.md). Arrow streams are the exception, see below.
 * Thread-safety: one append per handle at a time.
 */
#ifndef TSTABLE_APPEND_H
#define TSTABLE_APPEND_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "tstable/arrow.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct tst_table tst_table;

typedef struct tst_append_options {
    unsigned max_attempts;   /* commit attempts while other writers get in first (>= 1) */
    bool reencode;           /* re-encode even when the source could be copied */
    uint64_t row_group_rows; /* rows per row group when re-encoding; 0 = engine default */
} tst_append_options;

#define TST_APPEND_OPTIONS_INIT {10, false, 0}

/* What an append did. */
typedef struct tst_append_result {
    uint64_t version;        /* the committed version */
    uint64_t rows;           /* rows in the new segment */
    uint64_t bytes;          /* size of the new segment file */
    bool copied;             /* true: source bytes copied; false: re-encoded */
    unsigned attempts;       /* commit attempts it took (1 = no other writer got in) */
    char segment_path[96];   /* "data/<uuid>.parquet", relative to the table root */
} tst_append_result;

/* CSV reading. Zero values mean: infer. */
typedef struct tst_csv_options {
    char delimiter;          /* ',' by default; 0 = infer */
    int header;              /* 1 = first line is a header, 0 = none, -1 = infer */
    /* Column types as DuckDB SQL, e.g. "{'ts': 'TIMESTAMPTZ', 'symbol': 'VARCHAR'}";
     * NULL to infer them. */
    const char *columns;
} tst_csv_options;

#define TST_CSV_OPTIONS_INIT {',', -1, NULL}

/* Appends a Parquet file. opts may be NULL for the defaults; out may be NULL. */
int tst_table_append_parquet(tst_table *table, const char *path, const tst_append_options *opts,
                             tst_append_result *out);

/* Appends a CSV file (always re-encoded). */
int tst_table_append_csv(tst_table *table, const char *path, const tst_csv_options *csv,
                         const tst_append_options *opts, tst_append_result *out);

/*
 * Appends the rows of an Arrow C stream (always re-encoded; opts.reencode
 * is implied). The stream's schema must be a struct ("+s") whose children
 * are the columns; their Arrow types and ARROW_FLAG_NULLABLE take part in
 * the schema rules above exactly as a Parquet file's embedded Arrow schema
 * does: "tsm:UTC" is timestamp[ms](UTC), "s" an int16 (adopted as int32),
 * "tdD" a date32 (adopted as timestamp[us]), "ttu" (time64) is refused
 * naming the column, and so are "e" (float16, which DuckDB cannot import
 * from a stream) and the arrow.uuid extension type. Zero-row batches are
 * skipped.
 *
 * Ownership: the call takes the stream. It is read once, from the first
 * batch to the end, and released exactly once before the call returns,
 * whatever the outcome (also when table is NULL or the stream is invalid).
 * A stream whose release is already NULL is TST_EINVAL and is not touched.
 *
 * Memory: the batches are drained one at a time into a staging table of
 * the process's DuckDB, because the append reads its source twice (to
 * measure, then to write) and a stream can be read only once. The staging
 * table holds the whole stream (memory proportional to the data; DuckDB may
 * spill it to its temp directory) and is dropped when the call returns.
 *
 * Errors, besides those of every append: TST_EEMPTY when no batch has a
 * row; TST_EIO when the producer fails (get_next or get_schema returned an
 * errno; its get_last_error text is in the message) — nothing is written;
 * TST_EINVAL for a schema that is not a struct of columns or a batch that
 * does not match it; TST_EUNSUPPORTED for a type DuckDB cannot import.
 */
int tst_table_append_arrow(tst_table *table, struct ArrowArrayStream *stream,
                           const tst_append_options *opts, tst_append_result *out);

#ifdef __cplusplus
}
#endif
#endif
