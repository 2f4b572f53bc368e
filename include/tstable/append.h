/*
 * tstable/append.h — adding data to a table, safely.
 *
 * An append turns a source (a Parquet file, a CSV file, an Arrow stream) into one new
 * immutable segment plus its coverage, and commits them as the next version
 * (several files: one segment each, one commit, see
 * tst_table_append_parquet_files):
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
 *      in a protocol-7 table, two rows of the source in one (entity,
 *      bucket) are TST_EDUPLICATE (that entity, bucket and range, and the
 *      rows in it as overlap_count), and the file goes to
 *      data/_managed/append/<uuid>.parquet instead of data/; a protocol-7
 *      table requiring a feature this build cannot write is TST_EUNSUPPORTED
 *      naming it, before anything is read;
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
 * Whatever fails — cancellation included (see tst_cancel below) — the table
 * is unchanged and every file the append created is removed; the source
 * file is never modified. Only a process killed outright (kill -9) leaves
 * files behind, which no reader sees and a later vacuum removes. Duplicate
 * rows inside one append are allowed. Rows with a null index value are skipped for coverage
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

/*
 * Cancellation. A token lets another thread stop a running append: the
 * append stops at its next step or interrupts the DuckDB query it is
 * running (duckdb_interrupt), removes every file it created — temp files
 * included — and returns TST_ECANCELLED; the table is unchanged. Once the
 * commit is published the append completes and returns 0: a cancel that
 * comes later is ignored.
 *
 * tst_cancel_request() is thread-safe but takes a mutex, so it is not
 * async-signal-safe: from a signal, request it on a thread that waits for
 * the signal (sigwait) or reads a self-pipe, never in the handler. A token
 * can serve one operation at a time; once requested it stays requested.
 *
 * What a kill -9 (or a power cut) leaves — "data/<uuid>.parquet.<uuid>.tmp"
 * temp files, data files and coverage sidecars no commit names — is
 * harmless (no reader looks at files the log does not name) and is for a
 * later vacuum to remove.
 */
typedef struct tst_cancel tst_cancel;

/* A new, unrequested token; free it with tst_cancel_free (accepts NULL)
 * after the operations that use it have returned. */
int tst_cancel_new(tst_cancel **out);
void tst_cancel_free(tst_cancel *token);
/* Asks every operation running under the token to stop. NULL is ignored. */
void tst_cancel_request(tst_cancel *token);
bool tst_cancel_requested(const tst_cancel *token);

/* The codec of a re-encoded segment. */
typedef enum tst_compression {
    TST_COMPRESSION_DEFAULT = 0, /* zstd */
    TST_COMPRESSION_UNCOMPRESSED,
    TST_COMPRESSION_SNAPPY,
    TST_COMPRESSION_ZSTD,
} tst_compression;

/* "uncompressed", "snappy" or "zstd" (0), else TST_EINVAL naming the choices. */
int tst_compression_parse(const char *name, tst_compression *out);
const char *tst_compression_name(tst_compression c); /* DEFAULT names "zstd" */

/*
 * What an append does with (entity, bucket) pairs the table already covers.
 *
 * REJECT (the default): TST_EOVERLAP, nothing written (see 2. above).
 * SKIP: only the source rows whose (entity, bucket) the table does not
 *   cover yet are appended (re-encoded: the source is filtered); the rows
 *   and pairs left out are reported. When every row is covered already the
 *   append is a no-op: nothing is written or committed (result.no_op).
 *   Idempotent re-ingest: running the same append twice adds nothing twice.
 * REPLACE: the source's rows replace what the table holds in the pairs
 *   they share, in ONE commit: the stored rows of exactly those pairs are
 *   removed as tst_table_delete_rows would remove them (segments dropped, or
 *   rewritten keeping their other rows), the new segment is added and the
 *   coverage snapshot is the table's less the removed pairs plus the
 *   source's. Late corrections.
 * Both rebase like an append: on a commit conflict the table is reloaded,
 * what it covers recomputed against the new version, and the attempt retried.
 * Files of one batch still must not overlap each other (TST_EOVERLAP).
 */
typedef enum tst_overlap_mode {
    TST_OVERLAP_REJECT = 0,
    TST_OVERLAP_SKIP,
    TST_OVERLAP_REPLACE,
} tst_overlap_mode;

/* "reject", "skip" or "replace" (0), else TST_EINVAL naming the choices. */
int tst_overlap_mode_parse(const char *name, tst_overlap_mode *out);
const char *tst_overlap_mode_name(tst_overlap_mode mode); /* NULL for an unknown value */

typedef struct tst_append_options {
    unsigned max_attempts;   /* commit attempts while other writers get in first (>= 1) */
    bool reencode;           /* re-encode even when the source could be copied */
    uint64_t row_group_rows; /* rows per row group when re-encoding; 0 = engine default */
    tst_cancel *cancel;      /* borrowed; NULL: the append cannot be cancelled */
    tst_compression compression; /* codec when re-encoding; copied files keep theirs */
    tst_overlap_mode on_overlap; /* covered (entity, bucket) pairs: reject, skip or replace */
    /*
     * With on_overlap REJECT: accept a source whose FIRST or LAST bucket of
     * an entity is one the table already (partly) covers, when none of the
     * source's rows in those buckets has an (entity, index value) the table
     * already holds: "append what arrived since the last run" with any
     * bucket width. Checked against the stored rows of those buckets only,
     * reading just the segments whose sidecars cover them. Any other overlap
     * is still TST_EOVERLAP, and so is a colliding row (its count and the
     * first one in the message). A protocol-7 table keeps one row per
     * (entity, index interval), so there a covered bucket takes no second
     * row: TST_EOVERLAP saying so. TST_EINVAL with SKIP or REPLACE.
     */
    bool allow_boundary_overlap;
    /*
     * Zero-copy ingest for a caller that hands its Parquet file over: when
     * the file would be copied (it matches the table and reencode is off)
     * and lies on the table's file system, it is hard-linked into the table
     * instead of copied, fsynced there, and its own name is removed once the
     * append commits: the file MOVES into the table. The data file is the
     * caller's inode, so nothing may write to it afterwards (through another
     * hard link either). On another file system (EXDEV) or one without hard
     * links, the file is copied as usual and left where it was
     * (tst_append_result.moved says which). A failed append leaves the file
     * where it was. Only for tst_table_append_parquet(_files).
     */
    bool move;
} tst_append_options;

#define TST_APPEND_OPTIONS_INIT                                                                 \
    {10, false, 0, NULL, TST_COMPRESSION_DEFAULT, TST_OVERLAP_REJECT, false, false}

/* What an append did. */
typedef struct tst_append_result {
    uint64_t version;        /* the committed version */
    uint64_t rows;           /* rows in the new segment */
    uint64_t bytes;          /* size of the new segment file */
    bool copied;             /* true: source bytes copied; false: re-encoded */
    unsigned attempts;       /* commit attempts it took (1 = no other writer got in) */
    char segment_path[96];   /* "data/<uuid>.parquet", relative to the table root */
    /* on_overlap SKIP: source rows left out and the (entity, bucket) pairs
     * they were in; no_op when every row was left out (version is then the
     * table's, nothing written). REPLACE: stored rows removed, the pairs
     * replaced, and the segments removed whole or rewritten. */
    uint64_t rows_skipped, buckets_skipped;
    bool no_op;
    uint64_t rows_replaced, buckets_replaced;
    uint64_t segments_removed, segments_rewritten;
    /* opts.move: how many source files were moved into the table (the rest,
     * on another file system, were copied and left in place). */
    uint64_t moved;
} tst_append_result;

/* CSV reading. Zero values mean: infer. */
typedef struct tst_csv_options {
    char delimiter;          /* ',' by default; 0 = infer */
    int header;              /* 1 = first line is a header, 0 = none, -1 = infer */
    /* Types of some or all columns, as a DuckDB struct literal:
     * "{'ts': 'TIMESTAMPTZ', 'volume': 'int64'}". A type is DuckDB SQL or a
     * table logical name (bool, int32, int64, uint64, float32, float64, utf8,
     * binary, date32, timestamp[ms|us|ns], timestamp[us](UTC)). NULL: the
     * table's types, then DuckDB's inference. With header = 0 the struct
     * names every column, in order (DuckDB's `columns`). */
    const char *columns;
} tst_csv_options;

#define TST_CSV_OPTIONS_INIT {',', -1, NULL}

/* Appends a Parquet file. opts may be NULL for the defaults; out may be NULL. */
int tst_table_append_parquet(tst_table *table, const char *path, const tst_append_options *opts,
                             tst_append_result *out);

/*
 * Appends several Parquet files as ONE commit: each file becomes its own
 * segment (copied byte for byte when it matches the table, else
 * re-encoded), and the commit adds them all, or none. paths holds count
 * (>= 1) file paths, borrowed; each names one file (a name with '*', '?' or
 * '[' is that file, not a pattern; expand globs and folders yourself).
 *
 * A first append adopts the first file's schema; the others must match it
 * as a later append would. The overlap check covers the table and the files
 * against each other: two files covering the same (entity, bucket) are
 * TST_EOVERLAP naming both. On any failure (schema, overlap, I/O, a
 * conflict that rebasing cannot resolve, cancellation) every file the call
 * wrote is removed and nothing is committed. Another writer committing
 * first is rebased as for one file.
 *
 * out: version and attempts of the commit; rows and bytes summed over the
 * files; copied is true when every file was copied; segment_path is the
 * first file's segment.
 */
int tst_table_append_parquet_files(tst_table *table, const char *const *paths, size_t count,
                                   const tst_append_options *opts, tst_append_result *out);

/*
 * Appends a CSV file (always re-encoded). Once the table has a schema, the
 * columns it has are read with its types (the header decides names and
 * order), so a file whose prices happen to be whole numbers still goes into
 * a float64 column; a value that is not of its column's type is TST_ESCHEMA
 * "CSV source f.csv, line 3, column 'ts': 'not-a-time' is not a timestamp".
 * csv->columns may type any subset of the columns; it wins over the table's
 * types. An empty file or a header without rows is TST_EEMPTY.
 */
int tst_table_append_csv(tst_table *table, const char *path, const tst_csv_options *csv,
                         const tst_append_options *opts, tst_append_result *out);

/* Several CSV files as ONE commit, with the same options for each: as
 * tst_table_append_parquet_files (every file is re-encoded). A first
 * append adopts the first file's types; the others are read with them. */
int tst_table_append_csv_files(tst_table *table, const char *const *paths, size_t count,
                               const tst_csv_options *csv, const tst_append_options *opts,
                               tst_append_result *out);

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
