/*
 * tstable/vacuum.h — removing the files no retained version of a table
 * needs: superseded segments and sidecars, superseded table coverage
 * snapshots, old checkpoints, and what crashed or interrupted writers left.
 *
 * Why there is garbage: files are immutable. Every append writes a new
 * segment, its coverage sidecar, and a new snapshot of the whole table's
 * coverage (the commit points the table at it); the previous snapshot stays
 * on disk, because a reader of the previous version may still use it. An
 * optimize or update replaces segments the same way. A checkpoint is written
 * every 100 commits and the older ones are never read again. Nothing ever
 * removes any of it: a daily-appended table's _coverage/ grows with its
 * history, not with its data.
 *
 * Retention. With a retention R (default 7 days), the retained versions are
 * V0..head, where V0 is the version that was current at now - R (the newest
 * version no later commit predates; tst_history_version_at). A file is
 * needed when a retained version names it: a live segment, its sidecar, or
 * the table coverage snapshot of V0 (from the state at V0: a checkpoint plus
 * a replay) or of any commit V0+1..head. Of the checkpoints, the newest at
 * or below V0, every newer one and the one _last_checkpoint names are kept.
 *
 * What vacuum considers: every regular file below data/ and _coverage/, and
 * the checkpoints, temp files and abandoned commits in _timeseries_log/. A
 * file is removable only when all of these hold:
 *   - it has a shape a tstable or reference writer creates (below); any
 *     other file is kept and reported "unrecognized_artifact";
 *   - no retained version needs it ("referenced_by_commit" otherwise);
 *   - it was last modified before the cutoff now - R ("within_retention"
 *     otherwise): a writer in flight (an append that has written its
 *     segment but not committed yet) is younger than the retention, so
 *     its files are safe. This is why a retention below one hour
 *     (TST_VACUUM_MIN_RETENTION_SECONDS) is refused unless
 *     allow_short_retention is set: it must exceed the longest write.
 * Never removed: commit files (_timeseries_log/<version:010>.json; reference
 * readers replay from version 1), CURRENT, _last_checkpoint, the vacuum
 * marker, folders other than emptied staging folders, files outside those
 * folders, and anything not recognised.
 *
 * Recognised shapes (table-relative):
 *   data/<uuid>.parquet                                (format_version 6 appends)
 *   data/_managed/append/<uuid>.parquet                (protocol 7 appends)
 *   data/_staged/{entity-rewrite,update-rewrite,delete-rewrite}/<uuid>/<n:010>.parquet
 *   data/_staged/update-prepare/<uuid>/source.parquet  (ours) or /<n:020>.run (reference)
 *   _coverage/segments/<any>.roar, _coverage/table/<any>.roar
 *   _timeseries_log/_checkpoints/<version:010>.checkpoint
 *   <any of the above, or a log file>.<uuid>.tmp       (a temp never published)
 *   _timeseries_log/<version:010>.json.abandoned-<uuid> (an incomplete commit set aside)
 *   any path the log once named as a segment or sidecar and later removed
 * (the staging folder of `tstable migrate` lies beside the destination, not
 * in a table, so it is not a table's file.)
 *
 * Apply. Before deleting anything, vacuum publishes the marker
 * _timeseries_log/_vacuumed.json (oldest_readable_version = V0), so a time
 * travel reader refuses versions older than V0 rather than meeting missing
 * files. Then it reads the log again (a commit that landed meanwhile may
 * name a candidate: kept) and, for each candidate, checks that its size and
 * modification time are as planned ("changed_since_planning" otherwise),
 * unlinks it, and finally removes staging folders it emptied. A crash at
 * any step leaves every retained version whole; the next vacuum finishes.
 *
 * The reference's vacuum (0.9.0) retains the files of every commit: with
 * keep_all_versions it behaves the same (history is not expired; only
 * orphans and interrupted writes go).
 *
 * Thread-safety: vacuum takes no lock; it may run beside appends, optimizes
 * and other vacuums of the table in other processes (the retention is what
 * protects writers in flight). One call per handle at a time.
 */
#ifndef TSTABLE_VACUUM_H
#define TSTABLE_VACUUM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "tstable/table.h"

#ifdef __cplusplus
extern "C" {
#endif

#define TST_VACUUM_DEFAULT_RETENTION_SECONDS (7 * 24 * 3600)
#define TST_VACUUM_MIN_RETENTION_SECONDS 3600

typedef struct tst_vacuum_options {
    /* Files modified at or after this instant are kept, and versions current
     * at or after it are retained. {0, 0}: now - TST_VACUUM_DEFAULT_RETENTION_SECONDS.
     * Must not be in the future. */
    tst_timestamp older_than;
    bool apply;                 /* false: a dry run, nothing is touched */
    bool keep_all_versions;     /* the reference's vacuum: retain every commit's files */
    bool allow_short_retention; /* allow older_than later than now - 1 hour */
} tst_vacuum_options;

#define TST_VACUUM_OPTIONS_INIT {{0, 0}, false, false, false}

typedef enum tst_vacuum_disposition {
    TST_VACUUM_RETAINED = 0,
    TST_VACUUM_REMOVABLE = 1,     /* dry run: would be deleted */
    TST_VACUUM_DELETED = 2,
    TST_VACUUM_ALREADY_ABSENT = 3 /* apply: gone before vacuum removed it */
} tst_vacuum_disposition;

typedef enum tst_vacuum_reason {
    TST_VACUUM_REFERENCED_BY_COMMIT = 0, /* a retained version needs it */
    TST_VACUUM_WITHIN_RETENTION = 1,     /* modified at or after older_than */
    TST_VACUUM_CHANGED_SINCE_PLANNING = 2,
    TST_VACUUM_UNRECOGNIZED_ARTIFACT = 3,
    TST_VACUUM_UNREFERENCED = 4,         /* no retained version needs it */
    TST_VACUUM_INVALID_PARQUET = 5,      /* unreferenced, and not a complete Parquet file */
    TST_VACUUM_NEEDED_CHECKPOINT = 6,    /* a retained version's checkpoint (extension) */
    TST_VACUUM_SUPERSEDED_CHECKPOINT = 7,/* older than the one V0 loads from (extension) */
    TST_VACUUM_INTERRUPTED_WRITE = 8     /* a temp file or an abandoned commit (extension) */
} tst_vacuum_reason;

/* Stable snake-case names: "retained", ...; "referenced_by_commit", ... */
const char *tst_vacuum_disposition_name(tst_vacuum_disposition d);
const char *tst_vacuum_reason_name(tst_vacuum_reason r);

typedef struct tst_vacuum_artifact {
    char *path;                 /* relative to the table root, '/'-separated */
    uint64_t size_bytes;
    tst_timestamp modified_at;
    tst_vacuum_disposition disposition;
    tst_vacuum_reason reason;
    uint64_t referenced_version; /* REFERENCED_BY_COMMIT: the oldest retained version naming it; else 0 */
} tst_vacuum_artifact;

typedef struct tst_vacuum_report {
    uint64_t table_version;           /* the head the plan was checked against */
    uint64_t oldest_retained_version; /* V0 */
    tst_timestamp older_than;
    bool apply;
    tst_vacuum_artifact *artifacts;   /* sorted by path; owned by the report */
    size_t artifact_count;
    uint64_t considered_files, retained_files, removable_files, deleted_files,
        already_absent_files;
    uint64_t considered_bytes, retained_bytes, removable_bytes, deleted_bytes,
        already_absent_bytes;
    uint64_t folders_removed; /* emptied staging folders removed */
} tst_vacuum_report;

/*
 * Plans (and with opts->apply, carries out) a vacuum of the table; see
 * above. The handle is refreshed first. opts NULL: a dry run with the
 * default retention. *out must be released with tst_vacuum_report_clear.
 *
 * Errors: TST_EINVAL for a cutoff in the future, or a retention below one
 * hour without allow_short_retention (nothing touched); TST_EUNSUPPORTED
 * for a table whose protocol this build may not write; TST_ECORRUPT or
 * TST_ENOTFOUND when the log cannot be read; TST_EIO when listing, the
 * marker, or a deletion fails. After a failed deletion *out holds the
 * partial report (what was deleted before it); after other failures it is
 * empty. Messages name the table root and the file.
 */
int tst_table_vacuum(tst_table *table, const tst_vacuum_options *opts, tst_vacuum_report *out);

/* Releases what the report owns and zeroes it; NULL is fine. */
void tst_vacuum_report_clear(tst_vacuum_report *report);

#ifdef __cplusplus
}
#endif
#endif
