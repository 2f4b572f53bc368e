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

/* Releases a handle; NULL is accepted. */
void tst_table_free(tst_table *table);

/*
 * Brings the handle to the latest committed version. *out_changed (may be
 * NULL) tells whether it moved. On failure the handle keeps its old state.
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
 */
int tst_table_check_writable(const tst_table *table, const char *operation);

/*
 * Low-level commit: appends the actions, given as a JSON array in the log's
 * own syntax (e.g. [{"RemoveSegment":{"path":"data/x.parquet"}}]), as the
 * next version after the handle's. The actions are parsed and checked
 * against the handle's state first (TST_EINVAL / TST_ECORRUPT, nothing
 * written). Another writer first: TST_ECONFLICT, nothing written; refresh
 * and retry. On success the handle moves to the new version.
 *
 * Tools use this to repair or extend tables; appends should use the append
 * API, which also writes data and coverage files.
 */
int tst_table_commit_json(tst_table *table, const char *actions_json, uint64_t *out_version);

#ifdef __cplusplus
}
#endif
#endif
