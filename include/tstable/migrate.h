/*
 * tstable/migrate.h — turning a format_version-6 table into a protocol-7 one.
 *
 * The reference implementation changed its on-disk format in 0.5: tables of
 * 0.4.0 ("format_version 6") and of 0.5 to 0.9 ("protocol 7") cannot read each
 * other. tst_table_migrate() is the one-time, one-way step between them, the
 * same transformation as the reference's scripts/migrate_table_v6_to_protocol_v7.py:
 *
 *   - it writes a NEW folder and never touches the source, which stays the
 *     rollback copy (0.4 tools keep reading it);
 *   - every commit 1..N of the source is rewritten, with the same version,
 *     base_version and timestamp: each TableMeta loses `format_version` and
 *     gains `protocol_version: 7` with empty `required_reader_features` and
 *     `required_writer_features`; each IndexKind (in the TableMeta and in
 *     UpdateTableCoverage) has `bucket` / `bucket_width` renamed to
 *     `index_granularity`, and the tag `u_int64` becomes `uint64`. Segment
 *     bounds (IndexValue) keep `u_int64`, as the real 0.9.0 writes them.
 *     AddSegment and RemoveSegment are otherwise unchanged;
 *   - CURRENT names N, the source's head (a commit past a stale CURRENT, left
 *     by a writer that died before publishing it, is included);
 *   - every file outside _timeseries_log (data, coverage sidecars and
 *     snapshots, anything else) keeps its path and its bytes: it is
 *     hard-linked where the file system allows (the files of a table are
 *     never modified in place, so sharing them is safe), else copied.
 *     opts->copy forces copies, as the reference's script always makes;
 *   - tstable's own extensions in _timeseries_log are not carried over:
 *     checkpoints (_checkpoints/, _last_checkpoint) embed format_version-6
 *     metadata and would contradict the rewritten log, and abandoned commit
 *     files and temp files are debris. When the log is long (at least
 *     TST_CHECKPOINT_INTERVAL commits) a fresh protocol-7 checkpoint of the
 *     migrated state is written, so opening the new table stays fast.
 *
 * Durability: everything is built in a private sibling folder
 * "<parent>/.<name>.migrating-<uuid>", fsynced, checked by opening it as a
 * table (a full replay of the rewritten log, its live files present), and
 * renamed to `dst` in one step that refuses to replace anything. A process
 * killed at any point leaves either no `dst` or the complete table; the
 * staging folder it may leave behind is not a table and can be deleted.
 *
 * What is refused, before anything is written (TST_EINVAL unless noted):
 *   - a source that is already protocol 7 ("nothing to migrate");
 *   - a source that is not a table (TST_ENOTFOUND / TST_EEMPTY), or whose
 *     log does not parse as format_version 6 (TST_ECORRUPT naming the commit);
 *   - an existing `dst`, even an empty folder (TST_EEXISTS); a `dst` whose
 *     parent folder does not exist (TST_ENOTFOUND); `dst` inside the source
 *     or the source inside `dst`; "s3://" locations (TST_EUNSUPPORTED);
 *   - a symbolic link or special file inside the source folder;
 * and, after the copy, a source whose head moved meanwhile (TST_ECONFLICT:
 * stop its writers and retry) or whose live segment or coverage file is
 * missing (TST_ECORRUPT). On any failure the staging folder is removed and
 * `dst` does not exist.
 *
 * Thread-safety: independent calls may run concurrently on different
 * destinations. Writers of the source should be stopped while it runs.
 */
#ifndef TSTABLE_MIGRATE_H
#define TSTABLE_MIGRATE_H

#include <stdbool.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct tst_migrate_options {
    bool copy; /* copy every file; never hard-link (default false: link when possible) */
} tst_migrate_options;

#define TST_MIGRATE_OPTIONS_INIT {false}

/* What a migration did. Filled only on success. */
typedef struct tst_migrate_report {
    uint64_t version;              /* the table version migrated: CURRENT of both tables */
    uint64_t commits_rewritten;    /* commit files written (= version) */
    uint64_t metas_rewritten;      /* UpdateTableMeta actions turned into protocol 7 */
    uint64_t coverage_pointers_rewritten; /* UpdateTableCoverage actions (index_kind renamed) */
    uint64_t live_segments;        /* segments of the migrated version */
    uint64_t files_linked;         /* files outside the log shared by a hard link */
    uint64_t files_copied;         /* files outside the log copied */
    uint64_t bytes_linked;         /* their sizes */
    uint64_t bytes_copied;
    uint64_t log_entries_dropped;  /* checkpoints, abandoned commits, temp files not carried */
    bool checkpoint_written;       /* a protocol-7 checkpoint of `version` was written */
} tst_migrate_report;

/*
 * Migrates the format_version-6 table at `src` into a new protocol-7 table
 * at `dst` (see above), linking files where possible. `out` may be NULL.
 * Returns 0, or a TST_E* code with tst_error_last() naming what failed,
 * where and what to do; then `dst` does not exist and `src` is untouched.
 * The one exception is TST_EAMBIGUOUS: `dst` was published complete but the
 * fsync of its parent folder failed, so a power loss could still undo it.
 */
int tst_table_migrate(const char *src, const char *dst, tst_migrate_report *out);

/* The same with options (NULL means TST_MIGRATE_OPTIONS_INIT). */
int tst_table_migrate_with(const char *src, const char *dst, const tst_migrate_options *opts,
                           tst_migrate_report *out);

#ifdef __cplusplus
}
#endif
#endif
