/*
 * history.h — what the log says about the table's past: which version was
 * current at an instant, and how far back the table's files are kept.
 *
 * Every commit stays in the log forever (format_version-6 and protocol-7
 * readers replay from version 1), but the files an old version names
 * (segments, sidecars, coverage snapshots) may be removed by vacuum. Vacuum
 * records the oldest version whose files it keeps in a marker,
 * <root>/_timeseries_log/_vacuumed.json, a tstable extension that reference
 * readers ignore:
 *
 *   {"oldest_readable_version":41,"vacuumed_at":"2026-12-08T10:00:00Z",
 *    "retention_seconds":604800}
 *
 * The marker is written (temp + fsync + rename) before any file is deleted
 * and only ever moves forward, so a vacuum that dies mid-way leaves it
 * telling the truth. Time travel reads it to refuse a version whose files
 * are gone with a message naming the oldest readable version.
 */
#ifndef TST_HISTORY_H
#define TST_HISTORY_H

#include "tstable/index.h"

#include <stddef.h>
#include <stdint.h>

#define TST_VACUUM_MARKER "_vacuumed.json"

/* The marker's content; all zero when the table was never vacuumed. */
typedef struct tst_vacuum_marker {
    uint64_t oldest_readable_version;
    tst_timestamp vacuumed_at;
    int64_t retention_seconds;
} tst_vacuum_marker;

/* Reads the marker; a missing one gives all zeros. TST_ECORRUPT names the
 * file for another shape. */
int tst_history_read_marker(const char *root, tst_vacuum_marker *out);

/* Parses a marker's bytes (`path` names it in errors): TST_ECORRUPT for any
 * other shape than the one above (unknown or missing fields, a negative
 * version, an unreadable time). Exposed for the fuzz target. */
int tst_history_parse_marker(const char *text, size_t len, const char *path,
                             tst_vacuum_marker *out);

/* Publishes the marker durably. A marker whose oldest_readable_version is
 * below the one on disk is not written (it only moves forward); that is
 * not an error. */
int tst_history_write_marker(const char *root, const tst_vacuum_marker *marker);

/*
 * The version that was current at instant `at`: the newest version v <= head
 * such that no commit 1..v has a timestamp after `at` (commit timestamps come
 * from writers' clocks and may step back; this makes "current at" monotone,
 * as Delta Lake's adjusted timestamps do). TST_ENOTFOUND when `at` is before
 * the first commit, naming its timestamp. Reads commit files from version 1.
 */
int tst_history_version_at(const char *root, uint64_t head, tst_timestamp at,
                           uint64_t *out_version);

/* The timestamp of commit `version`. */
int tst_history_commit_time(const char *root, uint64_t version, tst_timestamp *out);

#endif
