/*
 * log.h — the commit log: CURRENT, numbered commit files, and the commit
 * protocol with optimistic concurrency.
 *
 * Layout (format_version 6): <root>/_timeseries_log/CURRENT holds the latest
 * published version; <root>/_timeseries_log/<version:010>.json holds each
 * commit. A version exists once its commit file exists, complete:
 *
 *   1. write the commit to a private temp file and fsync it;
 *   2. link() it to <version>.json — fails if the name exists, so exactly
 *      one writer wins each version, and the file appears complete or not
 *      at all;
 *   3. fsync the log folder: the commit is now durable;
 *   4. publish CURRENT (temp + fsync + rename), never moving it backwards.
 *
 * The reference writer has a defect: dying between creating <N+1>.json and
 * publishing CURRENT wedges the table, since every later writer finds the
 * file taken. Here a reader takes CURRENT as a floor and rolls forward over
 * complete commits past it, and the next writer republishes CURRENT, so a
 * crash at any step leaves the table at N or N+1 and writable. A version-6
 * reader, which trusts CURRENT alone, meanwhile sees N: an older but
 * consistent state. A commit file that is incomplete (a reference writer that
 * died mid-write) and older than TST_STALE_COMMIT_SECONDS is renamed aside
 * ("<version>.json.abandoned-<uuid>") by the next writer.
 */
#ifndef TST_LOG_H
#define TST_LOG_H

#include "model.h"

#include <stdint.h>

#define TST_LOG_DIR "_timeseries_log"
#define TST_CURRENT_FILE "CURRENT"
/* An incomplete commit file this old belongs to a writer that died. */
#define TST_STALE_COMMIT_SECONDS 30
/* Commit files and CURRENT larger than this are rejected as corrupt. */
#define TST_COMMIT_MAX_BYTES (256u * 1024 * 1024)

/* Parses CURRENT's content (NUL-terminated): a decimal u64, surrounding
 * whitespace allowed. `path` names the file in messages. */
int tst_log_parse_current(const char *text, const char *path, uint64_t *out_version);

/* The version named by CURRENT; 0 when the file is missing. */
int tst_log_read_current(const char *root, uint64_t *out_version);

/* The latest committed version: CURRENT, rolled forward over complete
 * commit files that follow it. 0 for a folder without commits. */
int tst_log_head(const char *root, uint64_t *out_version);

/* Reads and parses commit `version`; checks its version fields. */
int tst_log_load_commit(const char *root, uint64_t version, tst_commit *out);
/* The same for a table of a known protocol (0 unknown, 6, 7): see tst_commit_parse_for. */
int tst_log_load_commit_for(const char *root, uint64_t version, uint32_t protocol,
                            tst_commit *out);

/*
 * Commits `actions` as version expected + 1. Another writer first:
 * TST_ECONFLICT with the expected and found versions set in the last error.
 * The commit file written but its folder not synced: TST_EAMBIGUOUS.
 */
int tst_log_commit(const char *root, uint64_t expected, const tst_action *actions, size_t count,
                   uint64_t *out_version);

/* Publishes CURRENT = version unless it already names a later version. */
int tst_log_publish_current(const char *root, uint64_t version);

/* "<root>/_timeseries_log/<version:010>.json", malloc'd. */
char *tst_log_commit_path(const char *root, uint64_t version);

#endif
