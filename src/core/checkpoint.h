/*
 * checkpoint.h — the whole table state in one file, so open is fast.
 *
 * Replaying 100,000 commit files costs 100,000 opens and parses; a
 * checkpoint of version V lets open read one file and replay only the
 * commits after V. Checkpoints live in _timeseries_log/_checkpoints/ with a
 * pointer file _timeseries_log/_last_checkpoint; a format_version 6 reader
 * never looks there, so the table stays readable by it.
 *
 * A checkpoint is an optimisation, never the truth: a missing, unreadable or
 * inconsistent one is ignored and the log is replayed from version 1.
 */
#ifndef TST_CHECKPOINT_H
#define TST_CHECKPOINT_H

#include "state.h"

#include <stddef.h>
#include <stdint.h>

#define TST_CHECKPOINT_DIR "_timeseries_log/_checkpoints"
#define TST_CHECKPOINT_POINTER "_timeseries_log/_last_checkpoint"

/* Writes a checkpoint of `state` and points _last_checkpoint at it. */
int tst_checkpoint_write(const char *root, const tst_state *state);

/* The version of the latest checkpoint (0 when there is none). */
int tst_checkpoint_latest(const char *root, uint64_t *out_version);

/*
 * Loads the latest checkpoint at or below max_version into *out (which must
 * be freshly initialised): the one _last_checkpoint names, or, when that is
 * newer (time travel), the newest older checkpoint file. TST_ENOTFOUND when there is none; any other
 * failure means the checkpoint is unusable and the caller replays the log.
 */
int tst_checkpoint_load(const char *root, uint64_t max_version, tst_state *out);

/*
 * The versions of the checkpoint files in _timeseries_log/_checkpoints whose
 * names have the canonical shape (<version:010>.checkpoint), ascending;
 * *out is malloc'd (NULL when there are none). A missing folder gives none.
 */
int tst_checkpoint_list(const char *root, uint64_t **out, size_t *out_count);

/* Loads the checkpoint of exactly `version` (_checkpoints/<version:010>.checkpoint),
 * whatever _last_checkpoint says; TST_ENOTFOUND when there is no such file. */
int tst_checkpoint_load_version(const char *root, uint64_t version, tst_state *out);

#endif
