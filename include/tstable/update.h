/*
 * tstable/update.h — keyed updates of stored values (the reference's
 * update_rows, 0.8+).
 *
 * An update changes the values of some columns in rows that already exist.
 * A row is named by its key: every entity column plus the exact index value
 * (timestamps to their full precision, not rounded to the granularity). The
 * source holds exactly the key columns and the columns being set, in any
 * order, one row per row to change:
 *
 *     symbol | ts                  | close        (key: symbol, ts; set: close)
 *     NVDA   | 2024-06-03 14:00:00 | 121.5
 *
 * Rules, checked before anything is written (a failure writes nothing):
 *   - every named column is a column of the table, named once, and not a key
 *     column; the source has exactly the key and named columns (missing or
 *     extra columns, wrong types: TST_ESCHEMA);
 *   - the types are the table's, or convert to them without loss (the
 *     append's rules, docs/guide/source-types.md); an explicit null clears
 *     a nullable column, and is TST_ESCHEMA for a non-nullable one;
 *   - every key is complete (no null part), appears once in the source, and
 *     names exactly one stored row: otherwise TST_EUPDATEKEY, with the rule
 *     in tst_error_last()->reason ("null_identity", "duplicate_source_key",
 *     "unmatched_source_key", "ambiguous_target_key"), an example key as a
 *     JSON object in ->example_key, the source rows read and the number of
 *     offending keys. The rules are checked in that order.
 * Columns that are not named keep their values; a nested column is replaced
 * as a whole value.
 *
 * What it writes (protocol-7.md §1.2, as the reference does): every segment
 * holding a row to change is rewritten whole, with the same rows in the
 * same order, the same bounds, row count and entity layout, to
 *     data/_staged/update-rewrite/<attempt-uuid>/<n:010>.parquet
 * (n counts the rewritten segments of the update), with a new coverage
 * sidecar equal to the old one; and ONE commit removes each old segment and
 * adds its replacement (RemoveSegment, AddSegment pairs). The table's
 * coverage does not change, so no coverage snapshot is written. Segments
 * without a row to change are untouched. The source is first normalised to
 * the table's types in a scratch Parquet file under
 * data/_staged/update-prepare/<uuid>/, removed before the call returns.
 * Format-version-6 tables are updated the same way (0.4.0 reads any path the
 * log names; its own optimize commits data/_staged/ paths too).
 *
 * Versions: opts->expected_version must be at least 1 and equal the
 * handle's version (TST_ECONFLICT with expected and found versions
 * otherwise; the source is not read). When another writer commits while the
 * update runs, the update rebases onto the new version as long as every
 * segment it rewrote is still live and the schema is unchanged; otherwise
 * TST_ECONFLICT. This is safe: another writer can only add rows by an
 * append, and an append is refused when it covers an (entity, index
 * interval) already covered, so it can never add a second row with a key
 * this update matched. opts->strict asks for the reference's rule instead:
 * the table's CURRENT must be expected_version before the source is read
 * and at the commit, and any commit in between is TST_ECONFLICT.
 *
 * An empty source (no rows) writes nothing and reports no_op after the
 * version and column checks. A non-empty one always commits, even when no
 * value changes.
 *
 * Memory is bounded by DuckDB's memory limit, not by the table or the
 * source: the matching reads only the key columns of the candidate
 * segments (those whose index range holds a source key) through a join
 * against the normalised source, and each rewrite is one DuckDB COPY.
 *
 * Failures: nothing is committed and every file the call wrote is removed;
 * only a process killed outright leaves unreferenced files (no reader looks
 * at them). TST_EAMBIGUOUS: the commit may have been published; files kept.
 *
 * Thread-safety: one writer per handle at a time (as append).
 */
#ifndef TSTABLE_UPDATE_H
#define TSTABLE_UPDATE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "tstable/append.h"
#include "tstable/arrow.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Where the new values come from: set exactly one of the three. */
typedef struct tst_update_source {
    struct ArrowArrayStream *stream; /* taken: released by the call, whatever happens */
    const char *parquet_path;
    const char *csv_path;
    const tst_csv_options *csv;      /* CSV only; NULL for the defaults */
} tst_update_source;

typedef struct tst_update_options {
    uint64_t expected_version; /* required: the handle's version (>= 1) */
    bool strict;               /* the reference's rule: no commit in between, no rebase */
    unsigned max_attempts;     /* commit attempts while other writers get in first; 0 means 1 */
    tst_cancel *cancel;        /* borrowed; NULL: cannot be cancelled */
} tst_update_options;

#define TST_UPDATE_OPTIONS_INIT {0, false, 10, NULL}

/* What an update did: the reference's UpdateRowsReport, plus attempts. */
typedef struct tst_update_report {
    uint64_t starting_version;       /* expected_version */
    uint64_t committed_version;      /* the new version; starting_version for a no-op */
    uint64_t rows_updated;           /* source rows, each one stored row */
    uint64_t segments_rewritten;
    uint64_t source_file_bytes;      /* bytes of the segments replaced */
    uint64_t replacement_file_bytes; /* bytes of their replacements */
    bool no_op;                      /* an empty source: nothing written */
    unsigned attempts;               /* commit attempts (0 for a no-op) */
} tst_update_report;

/*
 * Sets `columns` (ncols names) of the rows the source names by key, as one
 * commit (see above). The handle follows the commit. opts is required (it
 * carries expected_version); out may be NULL.
 *
 * Errors: TST_EINVAL (no source or several, expected_version 0, no columns);
 * TST_ESCHEMA (a column is unknown, repeated or a key; the source's columns
 * or types do not fit; a null for a non-nullable column); TST_EUPDATEKEY
 * (see the top); TST_ECONFLICT (expected/found in tst_error_last()); TST_EEMPTY
 * for a table without rows; TST_ENOTFOUND for a missing segment or source
 * file; TST_ECORRUPT when a segment's file disagrees with the log or its
 * sidecar; TST_EUNSUPPORTED for a table whose protocol features forbid
 * writes; TST_ECANCELLED; TST_EIO, TST_ESQL, TST_ENOMEM; TST_EAMBIGUOUS.
 * Every message names the table root.
 */
int tst_table_update_rows(tst_table *table, const tst_update_source *source,
                          const char *const *columns, size_t ncols,
                          const tst_update_options *opts, tst_update_report *out);

#ifdef __cplusplus
}
#endif
#endif
