/*
 * tstable/optimize.h — optimizing a table's layout, in two modes:
 *   TST_OPTIMIZE_ENTITY_LAYOUT  (the default of the C API and of Python's
 *       optimize()) rewrites every segment that holds rows of several
 *       entities into single-entity segments: the reference's optimize();
 *   TST_OPTIMIZE_COMPACT  (the default of `tstable optimize`) merges small
 *       segments into segments of a target size, within time windows, and
 *       splits mixed segments on the way (see "Compaction" below).
 *
 * ---- Entity layout -------------------------------------------------------
 *
 * An append of a file with many symbols (or sensors) makes one "mixed"
 * segment: a query for one entity must open it and filter. tst_table_optimize
 * rewrites each live mixed segment (entity_layout "Mixed" in the log) into
 * one new segment per entity identity it holds, and commits the swap as ONE
 * version: a RemoveSegment for every mixed segment, then an AddSegment for
 * every replacement, whose entity_layout is Single(identity), so the pruner
 * can skip it for any other entity. It is the reference's optimize()
 * (format §8), not compaction: it does not merge small files (compaction
 * modes come later).
 *
 * What it writes, as the reference does:
 *   data/_staged/entity-rewrite/<attempt-uuid>/<ordinal:010>.parquet
 *       one per (mixed segment, identity); one attempt UUID per mixed
 *       segment, ordinals in canonical identity order; rows sorted by
 *       entity then index, zstd, the table's schema embedded (as append's
 *       re-encode writes them);
 *   _coverage/segments/<segcov-id>-<attempt-uuid>.roar
 *       each replacement's own coverage sidecar (TSTECOV2, one identity).
 * No new table coverage snapshot: the table's coverage is unchanged (each
 * identity's buckets move from the mixed segment to its replacement), so
 * the commit keeps the existing UpdateTableCoverage pointer. The mixed
 * segments' files stay on disk, unreferenced (a vacuum reclaims them);
 * tables stay readable and appendable by the reference 0.4.0.
 *
 * Checks before committing: every mixed segment is measured again (row
 * count equal to the log's, coverage equal to its sidecar) and every
 * replacement is measured after it is written (one identity, that
 * identity's coverage exactly, rows summing to the source's). A mismatch is
 * TST_ECORRUPT naming the segment; nothing is committed.
 *
 * Concurrency: the candidates are chosen at the handle's version after a
 * refresh (report.starting_version). When another writer commits first and
 * the mixed segments are all still live (an append, say), the optimize
 * rebases: it reloads the table and commits the same actions on top, up to
 * opts.max_attempts times. When another writer removed one of them (another
 * optimize), it fails with TST_ECONFLICT (expected and found versions in
 * tst_error_last()). Whatever fails — conflict, check, I/O, cancellation —
 * nothing is committed and every file the call wrote is removed; only a
 * process killed outright leaves unreferenced files behind, which no reader
 * looks at and a later vacuum removes. A commit whose outcome is unknown
 * (TST_EAMBIGUOUS) keeps its files.
 *
 * Memory is bounded: the rewrite is one DuckDB COPY per (segment, identity)
 * reading the segment with a WHERE on the entity columns, one writer at a
 * time, sorting under DuckDB's memory limit; measuring reads only the index
 * and entity columns. Cost: each mixed segment is scanned once per identity
 * it holds (row groups whose entity statistics exclude the identity are
 * skipped, so segments written sorted by entity, as tstable writes them,
 * read little beyond their own rows).
 *
 * Thread-safety: one writer per handle at a time (as append).
 *
 * ---- Compaction ------------------------------------------------------------
 *
 * A table appended to daily accumulates one small segment a day: a year of
 * queries opens hundreds of files, most of the time in their footers.
 * Compaction rewrites runs of small segments into fewer, larger ones and
 * commits the swap as ONE version, as the entity layout does: a
 * RemoveSegment for every input, then an AddSegment for every output.
 *
 * Planning (from the log and sidecars; no Parquet is read):
 *   - parts: a segment whose layout is Single (or a table without entity
 *     columns: NotApplicable) is one part; a Mixed segment is one part per
 *     identity its coverage sidecar names (rows and bytes estimated in
 *     proportion to the identity's buckets);
 *   - groups: parts of one identity are merged only with parts of the same
 *     identity; a table without entity columns is one group;
 *   - windows: the index domain is cut into windows of opts.window index
 *     units, rounded up to whole buckets and aligned to the epoch (or zero)
 *     as buckets are. Timestamp indexes: seconds, default 30 days; integer
 *     indexes: integer units, default 1,000 buckets. A part belongs to the
 *     window of its first bucket; a part whose buckets span two windows is
 *     never merged (it is kept as it is, or written alone when it comes
 *     from a mixed segment);
 *   - bins: within a group, parts in index order are packed greedily into
 *     bins that stay in one window and hold at most opts.target_rows rows
 *     and opts.target_bytes bytes (defaults below); a part at or over either
 *     target is a bin of its own.
 * A bin of one part that is a whole segment is left alone; every other bin
 * (two or more parts, or a part of a mixed segment) becomes one output
 * segment. No such bin: a no-op (no_op, nothing written or committed), so
 * compacting a compacted table with the same options changes nothing (when
 * the byte target closed the first run's bins, outputs that came out
 * smaller than their inputs may be merged once more: the second run is then
 * the last).
 *
 * Each output holds the rows of its parts, sorted by entity columns then
 * index, in the table's exact schema (the writer append and update use),
 * at data/_staged/entity-rewrite/<attempt-uuid>/0000000000.parquet (the
 * folder the reference's rewrites use, so its vacuum knows the files), one
 * attempt UUID per output, with its coverage sidecar
 * _coverage/segments/<segcov-id>-<attempt-uuid>.roar holding the union of
 * what its parts covered. The table's coverage snapshot does not change.
 * Checks before the commit: every input is checked against the log and its
 * sidecar (as above); every output is measured: one identity (the group's),
 * the union of its parts' coverage exactly, and the rows of its parts when
 * they are whole segments; all outputs together hold the inputs' rows.
 *
 * Concurrency, failure and cancellation are the entity layout's: a commit
 * by another writer is rebased over unless it removed an input segment
 * (TST_ECONFLICT, every file written removed), up to opts.max_attempts
 * attempts (a rebase is a refresh and a check; the CLI and Python allow
 * 1,000, so appends of other buckets never make a compaction give up).
 * Cost and memory: each input is checked once and its rows read once more:
 * outputs are written window by window, a window's mixed segments loaded
 * once into a DuckDB temporary table sorted by entity then index, each
 * output one DuckDB COPY of its parts (whole segments, or that table's rows
 * of its identity). DuckDB keeps the table and sorts under its memory limit,
 * spilling to its temp folder; never the whole table in memory.
 */
#ifndef TSTABLE_OPTIMIZE_H
#define TSTABLE_OPTIMIZE_H

#include <stdbool.h>
#include <stdint.h>

#include "tstable/append.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef enum tst_optimize_mode {
    TST_OPTIMIZE_ENTITY_LAYOUT = 0, /* split mixed segments per entity (the reference's) */
    TST_OPTIMIZE_COMPACT = 1        /* merge small segments, within windows */
} tst_optimize_mode;

/* Compaction's default targets. 128 MiB is the file size Parquet readers are
 * tuned for (row groups of ~1 MiB per column, few footers per GiB); the row
 * cap keeps very narrow tables, whose rows compress to a few bytes, from
 * files of hundreds of millions of rows (about 80 of DuckDB's row groups). */
#define TST_COMPACT_DEFAULT_TARGET_BYTES ((uint64_t)128 << 20)
#define TST_COMPACT_DEFAULT_TARGET_ROWS ((uint64_t)10000000)
/* Default window of a timestamp index, in seconds: 30 days. */
#define TST_COMPACT_DEFAULT_WINDOW_SECONDS ((uint64_t)30 * 86400)
/* Default window of an integer index, in buckets. */
#define TST_COMPACT_DEFAULT_WINDOW_BUCKETS ((uint64_t)1000)

typedef struct tst_optimize_options {
    unsigned max_attempts; /* commit attempts while other writers get in first; 0 means 1 */
    tst_cancel *cancel;    /* borrowed; NULL: cannot be cancelled (see tstable/append.h) */
    tst_optimize_mode mode;
    /* Compaction only; 0 means the default, UINT64_MAX no limit. */
    uint64_t target_rows;  /* rows per output at most */
    uint64_t target_bytes; /* bytes per output at most, counted as the inputs' file sizes */
    uint64_t window;       /* index units: seconds for timestamps, integers otherwise */
} tst_optimize_options;

#define TST_OPTIMIZE_OPTIONS_INIT {10, NULL, TST_OPTIMIZE_ENTITY_LAYOUT, 0, 0, 0}

/* What an optimize did; the reference's OptimizeReport, plus attempts and
 * what compaction reports. For compaction, candidate_source_segments and
 * source_segments_replaced count the input segments, and
 * replacement_segments_written the outputs. */
typedef struct tst_optimize_report {
    uint64_t starting_version;     /* the version the candidates were chosen at */
    uint64_t committed_version;    /* the new version; starting_version for a no-op */
    uint64_t candidate_source_segments; /* mixed segments chosen */
    uint64_t source_segments_replaced;  /* mixed segments the commit removed */
    uint64_t replacement_segments_written; /* single-entity segments added */
    uint64_t distinct_identities_materialized; /* distinct identities among them */
    uint64_t rows_read;            /* rows of the mixed segments */
    uint64_t rows_written;         /* rows of the replacements (equal to rows_read) */
    bool no_op;                    /* no live mixed segment: nothing written or committed */
    unsigned attempts;             /* commit attempts (0 for a no-op) */
    tst_optimize_mode mode;
    /* Compaction only (0 in the entity layout): */
    uint64_t segments_before;      /* live segments at starting_version */
    uint64_t segments_after;       /* that, less the inputs, plus the outputs */
    uint64_t bytes_read;           /* file bytes of the inputs */
    uint64_t bytes_written;        /* file bytes of the outputs */
    uint64_t target_rows, target_bytes; /* the targets used (UINT64_MAX: none) */
    uint64_t window;               /* the window used, in index units (whole buckets) */
} tst_optimize_report;

/*
 * Optimizes the table in opts->mode (NULL: the defaults, the entity layout),
 * as one commit (see above). The handle is refreshed first and follows the
 * commit. out may be NULL.
 *
 * Entity layout: rewrites every live mixed segment of the table into
 * single-entity segments.
 *
 * No mixed segment (an empty table, one written by single-entity appends,
 * or one already optimized): a no-op report, nothing written.
 *
 * Errors: TST_EINVAL for a table without entity columns ("not applicable",
 * nothing touched);
 * TST_ECONFLICT when another writer removed a segment being rewritten, or
 * the attempts ran out; TST_ECORRUPT when a mixed segment's file disagrees
 * with the log or its sidecar; TST_ENOTFOUND for a missing segment file;
 * TST_ECANCELLED; TST_EIO, TST_ESQL, TST_ENOMEM; TST_EAMBIGUOUS when the
 * commit may have been published (files kept). Every message names the
 * table root.
 *
 * Compaction: no bin to write (an empty table, a compact one) is a no-op.
 * Tables without entity columns are compacted as one group. Errors are the
 * entity layout's, less "not applicable"; TST_EINVAL also for an unknown
 * mode.
 */
int tst_table_optimize(tst_table *table, const tst_optimize_options *opts,
                       tst_optimize_report *out);

#ifdef __cplusplus
}
#endif
#endif
