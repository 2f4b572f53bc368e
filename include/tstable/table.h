/*
 * tstable/table.h — opening, creating and committing to a table.
 *
 * A table is a folder:
 *
 *   <root>/_timeseries_log/CURRENT            latest published version
 *   <root>/_timeseries_log/0000000001.json    one JSON commit per version
 *   <root>/data/<uuid>.parquet                immutable segments
 *   <root>/_coverage/...                      Roaring coverage sidecars
 *
 * A tst_table handle holds the table's state at one version: its metadata,
 * its live segments and its coverage pointer. The handle never changes by
 * itself; tst_table_refresh() brings it up to the latest commit, reading
 * only the commits it has not seen.
 *
 * Writers coordinate through the log alone (optimistic concurrency): each
 * commit names the version it was built on, and exactly one writer wins
 * each version. The loser gets TST_ECONFLICT with the expected and found
 * versions in tst_error_last(); it refreshes and decides whether to retry.
 * A writer that dies at any point leaves the table readable at the last
 * complete commit, and the next writer succeeds.
 *
 * Opening is fast for long logs: a writer stores the whole state in
 * _timeseries_log/_checkpoints/ every max(TST_CHECKPOINT_INTERVAL, live
 * segments / 100) commits, and open reads the latest checkpoint and replays
 * only the commits after it. Tables stay readable by format_version 6
 * readers, which ignore those files.
 *
 * Thread-safety: one handle may be read from several threads; refresh and
 * commit need exclusive access to it. Different handles, in one process or
 * many, are independent.
 */
#ifndef TSTABLE_TABLE_H
#define TSTABLE_TABLE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "tstable/schema.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct tst_table tst_table;

/* The least number of commits between two checkpoints. */
#define TST_CHECKPOINT_INTERVAL 100

/*
 * Creates a table at `root` (the folder is created if missing) with the
 * given index spec, as commit version 1. The schema is adopted later, from
 * the first append.
 *
 * Errors: TST_EINVAL for an invalid spec (empty column, entity column equal
 * to the index column, zero bucket, ...) or location ("s3://..." is
 * TST_EUNSUPPORTED), checked before anything is written; TST_EEXISTS if the
 * folder already holds a table; TST_EIO.
 */
int tst_table_create(tst_table **out, const char *root, const tst_index_spec *spec);

/*
 * Opens the table at `root` at its latest version.
 * Errors: TST_ENOTFOUND if the folder does not exist; TST_EEMPTY if it holds
 * no table or a table without commits; TST_ECORRUPT naming the
 * file and version if the log is malformed; TST_EUNSUPPORTED for another
 * format_version; TST_ENOTFOUND if a commit file is missing; TST_EIO.
 */
int tst_table_open(tst_table **out, const char *root);

/*
 * Time travel: opens the table as it was at `version` (1 is the commit that
 * created it; tst_table_version() of a fresh tst_table_open() is the latest).
 * The state is rebuilt the way open builds the latest one: from the newest
 * checkpoint at or below `version`, then the commits after it, so it is the
 * state every reader saw right after that commit.
 *
 * The handle is pinned: tst_table_refresh() leaves it at its version (and
 * reports no change), and every write through it (append, optimize,
 * update_rows, add_columns, commit_json, ...) fails with TST_EINVAL ("opened
 * as of version N; open the latest version to write") before it reads its
 * input or writes a file. Reads answer at the pinned version: segments,
 * metadata and schema, coverage and gaps (from that version's table
 * coverage snapshot), scans and SQL.
 *
 * Errors: TST_EINVAL for version 0; TST_ENOTFOUND for a version after the
 * latest (the message names the latest), or no table at root (as
 * tst_table_open); TST_EVACUUMED when vacuum removed the files of
 * `version` (the marker _timeseries_log/_vacuumed.json says which versions
 * are still readable; tst_error_last()->expected_version is `version`,
 * found_version the oldest readable one); TST_ECORRUPT, TST_EIO. When a
 * file of a pinned version is missing later (a read that needs it, after a
 * vacuum that left no marker), the read's TST_ENOTFOUND says the version
 * may have been vacuumed.
 */
int tst_table_open_at(tst_table **out, const char *root, uint64_t version);

/*
 * Opens the table as it was at instant `at` (UTC): at the newest version
 * whose commit, and every commit before it, has a timestamp at or before
 * `at`. Commit timestamps come from writers' clocks and may step back; a
 * commit older than one before it counts from that earlier commit's time,
 * so "as of" never goes back as `at` moves forward. An instant exactly
 * equal to a commit's timestamp gives that commit's version. The handle is
 * pinned as with tst_table_open_at().
 *
 * Reads every commit file up to the latest (no data file). Errors: as
 * tst_table_open_at(), and TST_ENOTFOUND for an instant before the first
 * commit, naming when the table was created.
 */
int tst_table_open_as_of(tst_table **out, const char *root, tst_timestamp at);

/* Whether the handle was opened at a version or an instant (it never moves). */
bool tst_table_is_pinned(const tst_table *table);

/* Releases a handle; NULL is accepted. */
void tst_table_free(tst_table *table);

/*
 * Brings the handle to the latest committed version. *out_changed (may be
 * NULL) tells whether it moved. On failure the handle keeps its old state.
 * A pinned handle (tst_table_open_at, tst_table_open_as_of) stays where it
 * is: 0, and *out_changed false.
 */
int tst_table_refresh(tst_table *table, bool *out_changed);

/* The version this handle holds. */
uint64_t tst_table_version(const tst_table *table);

/* The root folder, as given to open/create. */
const char *tst_table_root(const tst_table *table);

/* Metadata at the handle's version (borrowed). */
const tst_table_meta *tst_table_get_meta(const tst_table *table);

/* The index spec (borrowed): column, entity columns, bucket kind. */
const tst_index_spec *tst_table_index(const tst_table *table);

/* Live segments at the handle's version, ordered by (index_min, index_max, path). */
size_t tst_table_segment_count(const tst_table *table);
const tst_segment *tst_table_segment_at(const tst_table *table, size_t i);

/*
 * The table coverage snapshot's path (relative to the root) and the version
 * that wrote it; NULL when no append has written one yet.
 */
const char *tst_table_coverage_path(const tst_table *table, uint64_t *out_version);

/*
 * Whether this build may change the table at the handle's version: 0, or
 * TST_EUNSUPPORTED naming the first protocol-7 feature it can read but not
 * write (the table stays readable). Every write checks this itself, before
 * it reads its input; callers use it to refuse early, e.g. before they
 * consume a stream. `operation` ("append", "update", ...) starts the message.
 * A pinned handle is never writable: TST_EINVAL.
 */
int tst_table_check_writable(const tst_table *table, const char *operation);

/*
 * Low-level commit: appends the actions, given as a JSON array in the log's
 * own syntax (e.g. [{"RemoveSegment":{"path":"data/x.parquet"}}]), as the
 * next version after the handle's. The actions are parsed and checked
 * against the handle's state first (TST_EINVAL / TST_ECORRUPT, nothing
 * written). Another writer first: TST_ECONFLICT, nothing written; refresh
 * and retry. On success the handle moves to the new version. A pinned
 * handle: TST_EINVAL, nothing written.
 *
 * Tools use this to repair or extend tables; appends should use the append
 * API, which also writes data and coverage files.
 */
int tst_table_commit_json(tst_table *table, const char *actions_json, uint64_t *out_version);

#ifdef __cplusplus
}
#endif
#endif
