/*
 * tstable/delete.h — corrections: deleting the rows of a range, and their
 * coverage, in one commit.
 *
 * A delete names what goes as targets: the rows whose index lies in
 * [start, end), of one entity (every entity column bound once, as the
 * coverage questions take it) or of every entity. After the commit the
 * range reads as a gap for those entities (coverage, gaps, SQL) and an
 * append into it is accepted again, by tstable and by the reference
 * package of the table's protocol (0.4.0 for format_version 6, 0.9.0 for
 * protocol 7). Rows outside the targets are kept, in their order.
 *
 * The alignment rule. Coverage is kept per (entity, bucket): a bucket is
 * covered while at least one row of the entity lies in it. A delete that
 * took part of a bucket would leave the bucket covered, so the rest of it
 * could never be appended again, and the table's coverage would no longer
 * say which rows are gone. So start and end must both fall on bucket
 * boundaries of the table (for a 1h bucket: whole hours, UTC; for an
 * integer width w: multiples of w). Otherwise the delete is refused with
 * TST_EINVAL, and the message gives the nearest aligned ranges: inward
 * (the whole buckets inside [start, end), when there are any) and outward
 * (the buckets that [start, end) touches). start >= end is TST_EINVAL.
 *
 * Entities. A target's identity must be one the table holds (it covers at
 * least one bucket somewhere, not necessarily in the range): an unknown
 * one is TST_EINVAL naming the nearest identities the table does hold, so
 * a typo is not a silent no-op. A table without entity columns takes no
 * bindings (TST_EINVAL).
 *
 * What it writes, in ONE commit (nothing else changes):
 *   - each live segment whose rows all lie in the targets: a RemoveSegment;
 *   - each live segment holding some rows of the targets and some others:
 *     a RemoveSegment and an AddSegment of its rewrite
 *         data/_staged/delete-rewrite/<attempt-uuid>/<n:010>.parquet
 *     (the rows kept, in their file order, in the table's exact schema,
 *     zstd), with a coverage sidecar measured from those rows and checked
 *     to be the old sidecar less the deleted (entity, bucket) pairs;
 *   - a new table coverage snapshot, the table's coverage less the deleted
 *     (entity, bucket) pairs (an entity left with no bucket is dropped), at
 *         _coverage/table/<version>-<tblcov-id>-<attempt-uuid>.roar
 *     (the append's naming) and an UpdateTableCoverage pointing to it.
 * Segments are chosen from their coverage sidecars, without reading
 * Parquet; only the segments rewritten are read (a segment removed whole is
 * read only when the index column is nullable: rows with a null index lie
 * in no range and are kept).
 * Nothing matching (no row of the targets): a no-op report (rows_deleted 0,
 * no_op true), nothing written or committed.
 *
 * Versions and other writers: the handle is refreshed first; a non-zero
 * opts->expected_version must equal that version (TST_ECONFLICT otherwise,
 * nothing read). When another writer commits while the delete runs, it
 * rebases: as long as every segment it removes is still live and the
 * schema is unchanged, it writes a new snapshot from the new version's
 * coverage and commits on top (appends to other buckets, updates and
 * optimizes of other segments); otherwise TST_ECONFLICT (an update or
 * optimize that replaced one of its segments, another delete of them).
 * An append cannot slip rows into the deleted pairs meanwhile: they are
 * covered until the delete commits, so it is refused as an overlap.
 *
 * Failures: nothing is committed and every file the call wrote is removed;
 * only a process killed outright leaves unreferenced files (no reader looks
 * at them). TST_EAMBIGUOUS: the commit may have been published; files kept.
 * Cancellation (opts->cancel) is checked between steps and interrupts
 * DuckDB while a rewrite runs; nothing is checked after the commit.
 *
 * Thread-safety: one writer per handle at a time (as append).
 */
#ifndef TSTABLE_DELETE_H
#define TSTABLE_DELETE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "tstable/append.h"
#include "tstable/index.h"
#include "tstable/table_coverage.h"

#ifdef __cplusplus
extern "C" {
#endif

/* The rows of one entity (entity_count bindings: every entity column once,
 * any order) or of every entity (NULL, 0) whose index lies in [start, end).
 * start and end are values of the table's index type, on bucket boundaries. */
typedef struct tst_delete_target {
    const tst_entity_binding *entity; /* borrowed */
    size_t entity_count;
    tst_index_value start, end;
} tst_delete_target;

typedef struct tst_delete_options {
    uint64_t expected_version; /* 0: any; else the version the table must be at */
    unsigned max_attempts;     /* commit attempts while other writers get in first; 0 means 1 */
    tst_cancel *cancel;        /* borrowed; NULL: cannot be cancelled */
} tst_delete_options;

#define TST_DELETE_OPTIONS_INIT {0, 10, NULL}

/* What a delete did. */
typedef struct tst_delete_report {
    uint64_t starting_version;  /* the version the segments were chosen at */
    uint64_t committed_version; /* the new version; starting_version for a no-op */
    uint64_t rows_deleted;
    uint64_t segments_removed;   /* removed whole */
    uint64_t segments_rewritten; /* replaced by a rewrite holding the rows kept */
    uint64_t buckets_uncovered;  /* (entity, bucket) pairs no longer covered */
    bool no_op;                  /* no row of the targets: nothing written */
    unsigned attempts;           /* commit attempts (0 for a no-op) */
} tst_delete_report;

/*
 * Deletes the rows of the targets (count >= 1) and their coverage in one
 * commit (see above). The handle follows the commit. opts may be NULL for
 * the defaults; out may be NULL.
 *
 * Errors: TST_EINVAL (no target, start >= end, a range off the bucket
 * boundaries, bindings for a table without entity columns, an incomplete or
 * mistyped identity, an identity the table does not hold); TST_EEMPTY for a
 * table that has never had rows (no schema yet); TST_ECONFLICT
 * (expected/found in tst_error_last()); TST_ECORRUPT when a segment's file
 * disagrees with the log or its sidecar; TST_ENOTFOUND for a missing
 * segment file or sidecar; TST_EUNSUPPORTED for a table whose protocol
 * features forbid writes; TST_ECANCELLED; TST_EIO, TST_ESQL, TST_ENOMEM;
 * TST_EAMBIGUOUS. Every message names the table root.
 */
int tst_table_delete_rows(tst_table *table, const tst_delete_target *targets, size_t count,
                          const tst_delete_options *opts, tst_delete_report *out);

#ifdef __cplusplus
}
#endif
#endif
