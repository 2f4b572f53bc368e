/*
 * tstable/optimize.h — entity-layout optimization: rewriting every segment
 * that holds rows of several entities into single-entity segments.
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
 */
#ifndef TSTABLE_OPTIMIZE_H
#define TSTABLE_OPTIMIZE_H

#include <stdbool.h>
#include <stdint.h>

#include "tstable/append.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct tst_optimize_options {
    unsigned max_attempts; /* commit attempts while other writers get in first; 0 means 1 */
    tst_cancel *cancel;    /* borrowed; NULL: cannot be cancelled (see tstable/append.h) */
} tst_optimize_options;

#define TST_OPTIMIZE_OPTIONS_INIT {10, NULL}

/* What an optimize did; the reference's OptimizeReport, plus attempts. */
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
} tst_optimize_report;

/*
 * Rewrites every live mixed segment of the table into single-entity
 * segments, as one commit (see above). The handle is refreshed first and
 * follows the commit. opts may be NULL for the defaults; out may be NULL.
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
 */
int tst_table_optimize(tst_table *table, const tst_optimize_options *opts,
                       tst_optimize_report *out);

#ifdef __cplusplus
}
#endif
#endif
